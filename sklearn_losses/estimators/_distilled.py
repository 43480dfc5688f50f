"""``DistilledClassifier``: a small network that learns from a teacher classifier."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from .._validation import Constraint, one_of
from ..losses import get_loss_class, list_losses
from ..modules.dual_head import AUX_HEADS, DualHeadMLP
from ._classifier import LossClassifier
from ._docs import fill_doc

__all__ = ["DistilledClassifier", "TEACHER_OUTPUTS", "teacher_logits"]

#: ``teacher_output`` values.
TEACHER_OUTPUTS = ("auto", "predict_proba", "decision_function")

#: Added to the teacher's probabilities before the log (spec §8).
PROBA_EPS = 1e-12


def _default_teacher(random_state):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=random_state)


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _teacher_method(teacher, teacher_output):
    """The teacher's method that gives its logits, or a ValueError."""
    name = type(teacher).__name__
    has = {m: hasattr(teacher, m) for m in TEACHER_OUTPUTS[1:]}
    if not any(has.values()):
        raise ValueError(
            f"teacher {name} has neither predict_proba nor decision_function; the "
            "teacher must be a classifier with one of them (its logits are what "
            "the student learns from)."
        )
    if teacher_output == "auto":
        return "predict_proba" if has["predict_proba"] else "decision_function"
    if not has[teacher_output]:
        raise ValueError(
            f"teacher_output={teacher_output!r}, but teacher {name} has no "
            f"{teacher_output}; use teacher_output='auto'."
        )
    return teacher_output


def teacher_logits(teacher, X, classes, teacher_output="auto"):
    """A fitted classifier's logits of ``X``, one column per class of ``classes``.

    ``"predict_proba"`` gives ``log(predict_proba(X) + 1e-12)`` (the
    log-probability convention of the spec, binary included: two columns);
    ``"decision_function"`` gives the decision values as they are for more than
    two classes and ``[-d / 2, d / 2]`` for a binary teacher's single column
    ``d`` (the log-odds of the second class, centred); ``"auto"`` takes
    ``predict_proba`` when the teacher has it, else ``decision_function``.
    The columns follow ``classes`` (the teacher's ``classes_`` may hold them in
    another order).

    Parameters
    ----------
    teacher : fitted classifier
    X : array-like of shape (n_samples, n_features)
    classes : ndarray of shape (n_classes,)
        The classes of the student, in its order.
    teacher_output : {"auto", "predict_proba", "decision_function"}, \
default="auto"

    Returns
    -------
    ndarray of shape (n_samples, n_classes)

    Raises
    ------
    ValueError
        When the teacher has neither method (or not the one asked for), its
        ``classes_`` differ from ``classes``, or its output has another shape.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> teacher = LogisticRegression().fit(X, ["a", "a", "b", "b"])
    >>> logits = teacher_logits(teacher, X, np.array(["a", "b"]))
    >>> np.allclose(np.exp(logits).sum(axis=1), 1.0)
    True
    """
    method = _teacher_method(teacher, teacher_output)
    name = type(teacher).__name__
    own = getattr(teacher, "classes_", None)
    if own is None:
        raise ValueError(f"teacher {name} has no classes_; it must be a classifier.")
    own = np.asarray(own)
    position = {c: i for i, c in enumerate(own.tolist())}
    if len(own) != len(classes) or any(c not in position for c in classes.tolist()):
        raise ValueError(
            f"The teacher's classes_ {own.tolist()} differ from the classes of y "
            f"{classes.tolist()}; the teacher must be fitted on the same classes "
            "(or left unfitted: it is then fitted on the training rows)."
        )
    order = np.array([position[c] for c in classes.tolist()])
    out = np.asarray(getattr(teacher, method)(X), dtype=np.float64)
    k = len(classes)
    if method == "decision_function" and out.ndim == 1 and k == 2:
        # The binary decision d orders classes_ as the teacher does: d is the
        # log-odds of own[1]; ``order`` then maps it to the student's order.
        out = np.column_stack([-out / 2, out / 2])
    if out.ndim != 2 or out.shape != (out.shape[0], k):
        raise ValueError(
            f"teacher {name}.{method} gave an output of shape {out.shape}; "
            f"{k} columns (one per class) are needed."
        )
    if method == "predict_proba":
        out = np.log(np.clip(out, 0.0, None) + PROBA_EPS)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"teacher {name}.{method} gave values that are not finite.")
    return out[:, order]


@fill_doc
class DistilledClassifier(LossClassifier):
    """Neural network classifier distilled from a teacher classifier.

    A small, fast network (the student) learns from the labels and from the
    logits of any scikit-learn classifier (the teacher), e.g. a gradient-boosted
    model that is accurate but slow to predict. The teacher's logits are
    computed once per ``fit`` from the training rows and handed to the loss as a
    per-sample input; ``predict``, ``predict_proba`` and ``decision_function``
    use the student alone (its main head), so the teacher is never called after
    ``fit``.

    The teacher:

    - fitted (``check_is_fitted`` passes): used as it is and never refit. It
      must have been fitted on the same classes and number of features.
    - unfitted: cloned, given the ``teacher__*`` parameters, and fitted on the
      rows of this ``fit`` only (with ``sample_weight`` when its ``fit`` takes
      one), so it is fold-safe inside ``cross_val_score`` or ``GridSearchCV``.

    Either way ``teacher_`` is the teacher used.

    ========== ===== ========================================================
    loss       heads what the student learns
    ========== ===== ========================================================
    kd         1     Hinton's KD: cross-entropy with the labels plus the KL to
                     the teacher's softened probabilities (temperature)
    dual_head  2     main head: cross-entropy with the labels; auxiliary head:
                     a logit-level loss to the teacher's logits (Dual-Head KD)
    pld        1     Plackett-Luce distillation: the true class first, the
                     others in the teacher's order, weighted by the teacher's
                     confidence (no separate cross-entropy term)
    ========== ===== ========================================================

    Parameters
    ----------
    teacher : None or classifier, default=None
        Any scikit-learn classifier with ``predict_proba`` or
        ``decision_function``, fitted or not (see above); its parameters as
        ``teacher__<name>`` (an unfitted teacher only). ``None``:
        ``HistGradientBoostingClassifier(random_state=random_state)``.
    loss : str, BaseLoss subclass or instance, default="kd"
        A distillation loss, one of ``list_losses("distillation")``
        (``"kd"``, ``"dual_head"``, ``"pld"``); its parameters as
        ``loss__<name>`` (e.g. ``loss__temperature``).
    teacher_output : {"auto", "predict_proba", "decision_function"}, \
default="auto"
        Where the teacher's logits come from: ``log(predict_proba + 1e-12)``
        (binary: two columns) or ``decision_function`` (more than two classes:
        as it is; binary: ``[-d/2, d/2]``). ``"auto"``: ``predict_proba`` when
        the teacher has it, else ``decision_function``.
    teacher_cv : None, int or cross-validation splitter, default=None
        Where the teacher's logits of the training rows come from, for an
        unfitted teacher. ``None``: the teacher fitted on all rows predicts
        them (in-sample: a flexible teacher is then nearly certain of every
        training label, and its soft targets carry little beyond the labels).
        An int ``k`` or a splitter (``check_cv``, stratified for classes):
        out-of-fold logits, each row's from a clone fitted on the other
        folds (``k`` extra teacher fits), as a held-out teacher would see
        it; ``teacher_`` is still fitted on all rows. A fitted teacher takes
        ``None`` only.
    aux_head : {"linear", "mlp"}, default="linear"
        The auxiliary head of a two-head loss (``"dual_head"``) on the default
        network (:class:`~sklearn_losses.modules.DualHeadMLP`): linear, or
        ``Linear(d, 200) -> Dropout(0.1) -> BatchNorm -> ReLU -> Linear``.
        Unused by one-head losses.
    %(network)s
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"``: 128.
    batch_sampler : {"auto", "random", "stratified", "balanced"}, float or \
BatchPlan, default="auto"
        The batch plan, as in :class:`~sklearn_losses.LossClassifier`.
    %(epochs)s
    validation_scoring : None, str or callable, default=None
        Score recorded each epoch as ``valid_score``, from the main head; the
        validation loss is the distillation loss (the teacher's logits of the
        validation rows included). ``None`` records the (weighted) accuracy.
    class_weight : None, "balanced" or dict, default=None
        Per-class weights of the student's loss (not given to the teacher).
    reweighter : None or estimator, default=None
        A reweighter, as in :class:`~sklearn_losses.LossClassifier`.
    %(reweighting)s
    %(runtime)s
        ``teacher__*`` sets the parameters of an unfitted teacher.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of ``predict_proba``'s columns.
    teacher_ : classifier
        The teacher used: ``teacher`` itself when it was fitted, else the clone
        fitted in ``fit``.
    %(fitted)s

    See Also
    --------
    sklearn_losses.LossClassifier : The same network without a teacher.
    sklearn_losses.modules.DualHeadMLP : The network of ``loss="dual_head"``.

    Notes
    -----
    The network has ``n_heads * K`` outputs (``K`` classes, 2 for a binary
    target; ``n_heads`` is the loss's): the main head's ``K`` logits first.
    For a binary target ``decision_function`` is the difference of the main
    head's two logits (the log-odds of ``classes_[1]``). ``sample_weight``
    weights the student's loss and is passed to an unfitted teacher's ``fit``
    when it takes one (a warning says when it does not).

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean. Distilling the knowledge in a neural
    network. 2015, arXiv 1503.02531.
    P. Yang et al. Dual-Head Knowledge Distillation: enhancing logits
    utilization with an auxiliary head. 2024, arXiv 2411.08937.
    K. Bassam, Y. Zhu, J. Bian. PLD: a choice-theoretic list-wise knowledge
    distillation. 2025, arXiv 2506.12542.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn_losses import DistilledClassifier
    >>> X, y = make_classification(n_samples=300, random_state=0)
    >>> student = DistilledClassifier(
    ...     teacher=HistGradientBoostingClassifier(max_iter=20),
    ...     loss="dual_head", max_epochs=20, random_state=0).fit(X, y)
    >>> student.predict_proba(X[:2]).shape
    (2, 2)
    >>> type(student.teacher_).__name__
    'HistGradientBoostingClassifier'
    """

    prefixes = (*LossClassifier.prefixes, "teacher")

    _constraints = {
        "teacher": Constraint(
            lambda v: v is None or (hasattr(v, "fit") and hasattr(v, "get_params")),
            "None or a scikit-learn classifier (fitted or not)",
        ),
        "teacher_output": one_of(*TEACHER_OUTPUTS),
        "teacher_cv": Constraint(
            lambda v: (
                v is None
                or (
                    isinstance(v, int | np.integer)
                    and not isinstance(v, bool)
                    and v >= 2
                )
                or hasattr(v, "split")
            ),
            "None, an int >= 2 or a cross-validation splitter",
        ),
        "aux_head": one_of(*AUX_HEADS),
    }

    #: The student is the plain MLP unless ``module`` says otherwise.
    default_module = "mlp"

    def __init__(
        self,
        teacher=None,
        *,
        loss="kd",
        teacher_output="auto",
        teacher_cv=None,
        aux_head="linear",
        module=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        input_scaling=None,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size="auto",
        batch_sampler="auto",
        max_epochs=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        validation_scoring=None,
        class_weight=None,
        reweighter=None,
        reweighting=None,
        callbacks=None,
        warm_start=False,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.teacher = teacher
        self.teacher_output = teacher_output
        self.teacher_cv = teacher_cv
        self.aux_head = aux_head
        super().__init__(
            loss=loss,
            module=module,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            dropout=dropout,
            input_scaling=input_scaling,
            optimizer=optimizer,
            lr=lr,
            weight_decay=weight_decay,
            batch_size=batch_size,
            batch_sampler=batch_sampler,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            validation_scoring=validation_scoring,
            class_weight=class_weight,
            reweighter=reweighter,
            reweighting=reweighting,
            callbacks=callbacks,
            warm_start=warm_start,
            device=device,
            random_state=random_state,
            verbose=verbose,
            **kwargs,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags

    # -- fit ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Fit the teacher if it is unfitted, then train the student.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features; a DataFrame is passed to the teacher as it is.
        y : array-like of shape (n_samples,)
            Class labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the student's loss, and of an unfitted teacher's fit.
        groups : array-like of shape (n_samples,), default=None
            Group ids, as in :meth:`LossClassifier.fit`.
        **fit_params : array-like of shape (n_samples,)
            Other per-sample inputs the loss declares.

        Returns
        -------
        self
        """
        if "teacher_logits" in fit_params:
            raise TypeError(
                "fit() got teacher_logits; DistilledClassifier computes them from "
                "its teacher (pass the teacher, fitted or not)."
            )
        self._fit_X = X
        try:
            return super().fit(
                X, y, sample_weight=sample_weight, groups=groups, **fit_params
            )
        finally:
            self.__dict__.pop("_fit_X", None)

    def _build_loss(self, task):
        try:
            cls = get_loss_class(self.loss)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"{exc} DistilledClassifier takes the distillation losses: "
                f"{', '.join(list_losses('distillation')) or 'none registered'}."
            ) from None
        if "distillation" not in cls.tasks:
            raise ValueError(
                f"loss {cls.name or cls.__name__!r} is not a distillation loss; "
                "DistilledClassifier takes the losses of list_losses('distillation'): "
                f"{', '.join(list_losses('distillation')) or 'none registered'}. "
                "For a network without a teacher use LossClassifier."
            )
        return super()._build_loss("distillation")

    def _fit_inputs(self, X, y, sample_weight, fit_params):
        """The teacher's logits of the training rows (fitting an unfitted
        teacher first)."""
        raw = self.__dict__.get("_fit_X", X)
        self.teacher_ = self._fitted_teacher(raw, y, sample_weight)
        if self.teacher_cv is None:
            logits = teacher_logits(
                self.teacher_, raw, self.classes_, self.teacher_output
            )
        else:
            logits = self._out_of_fold_logits(raw, y, sample_weight)
        return {**fit_params, "teacher_logits": logits}

    def _out_of_fold_logits(self, X, y, sample_weight):
        """Each training row's logits from a teacher fitted without its fold."""
        if self.teacher_ is self.teacher:
            raise ValueError(
                "teacher_cv applies to an unfitted teacher (it is fitted once per "
                "fold); this teacher is fitted and used as it is. Use "
                "teacher_cv=None, or pass an unfitted teacher."
            )
        cv = check_cv(self.teacher_cv, y, classifier=True)
        logits = np.empty((len(y), len(self.classes_)))
        for train, test in cv.split(np.zeros((len(y), 1)), y):
            weight = None if sample_weight is None else np.asarray(sample_weight)[train]
            fold = self._fitted_teacher(
                _safe_indexing(X, train), y[train], weight, quiet=True
            )
            try:
                logits[test] = teacher_logits(
                    fold, _safe_indexing(X, test), self.classes_, self.teacher_output
                )
            except ValueError as exc:
                raise ValueError(
                    f"teacher_cv={self.teacher_cv!r}: a fold's teacher failed ({exc}) "
                    "Each class needs rows in every training fold; use fewer folds."
                ) from None
        return logits

    def _fitted_teacher(self, X, y, sample_weight, quiet=False):
        params = self._prefixed_params("teacher")
        teacher = self.teacher
        if teacher is None:
            seed = self.random_state
            if seed is not None and not isinstance(seed, int | np.integer):
                seed = self._seed()
            teacher = _default_teacher(seed)
        name = type(teacher).__name__
        if _is_fitted(teacher):
            if params:
                raise ValueError(
                    f"teacher__* parameters ({sorted(params)}) apply to an unfitted "
                    f"teacher; this {name} is fitted and used as it is. Pass an "
                    "unfitted teacher to have it fitted with them."
                )
            _teacher_method(teacher, self.teacher_output)
            expected = getattr(teacher, "n_features_in_", None)
            if expected is not None and expected != self.n_features_in_:
                raise ValueError(
                    f"The fitted teacher {name} takes {expected} features, but X has "
                    f"{self.n_features_in_}; fit the student on the features the "
                    "teacher was fitted on (or pass an unfitted teacher)."
                )
            return teacher
        teacher = clone(teacher)
        try:
            teacher.set_params(**params)
        except ValueError as exc:
            raise ValueError(f"Invalid teacher__* parameter: {exc}") from None
        _teacher_method(teacher, self.teacher_output)
        kwargs = {}
        if sample_weight is not None:
            if has_fit_parameter(teacher, "sample_weight"):
                kwargs["sample_weight"] = sample_weight
            elif not quiet:
                warnings.warn(
                    f"teacher {name}.fit takes no sample_weight: the teacher is "
                    "fitted unweighted (the student's loss is weighted).",
                    UserWarning,
                    stacklevel=4,
                )
        return teacher.fit(X, y, **kwargs)

    def _n_outputs(self, loss, task):
        self._n_main = len(self.classes_)
        self._n_heads = int(getattr(loss, "n_heads", 1))
        self._binary_outputs = 2 if task == "binary" else None
        return self._n_main * self._n_heads

    def _build_module(self, n_features, n_outputs):
        if self.module is None and self._n_heads == 2:
            return DualHeadMLP(
                n_features,
                self._n_main,
                hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                activation=self.activation,
                dropout=self.dropout,
                aux_head=self.aux_head,
                **self._prefixed_params("module"),
            )
        return super()._build_module(n_features, n_outputs)

    # -- outputs: the main head ------------------------------------------------
    def _decision_from_outputs(self, out):
        return super()._decision_from_outputs(out[:, : self._n_main])
