"""``LossClassifier``: a neural classifier whose loss is a constructor parameter."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import check_scoring
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets

from .._validation import Constraint, real
from ..losses import get_loss_class
from ..sampling._batches import BatchPlan
from ..sampling._dataset_equity import check_user_weights
from ._base import BaseLossEstimator
from ._docs import fill_doc

#: Named batch plans of a classifier (it also takes a positive share or a plan).
CLASS_BATCH_SAMPLERS = ("auto", "random", "stratified", "balanced")

__all__ = ["LossClassifier"]


@fill_doc
class LossClassifier(ClassifierMixin, BaseLossEstimator):
    """Neural network classifier trained with any registered loss.

    A scikit-learn classifier (binary and multiclass) with skorch underneath. The
    loss is a parameter like any other: a registry name (``"focal"``), a loss
    class or a loss instance, with its own parameters as ``loss__<name>``, so
    ``GridSearchCV`` can search over losses and their parameters.

    By default the network is :class:`~sklearn_losses.modules.TabularMLP`
    (``module="tabular"``), sized from the data at ``fit``: the features are
    scaled robustly with a smooth clip (``input_scaling="robust"``), the
    features with more than two values get periodic embeddings, and 8 MLP
    members of widths ``hidden_layer_sizes`` are trained in one pass (the loss
    is applied to each member and averaged; the prediction is the mean of the
    members' logits); training stops early on a held-out tenth of the rows
    (``early_stopping=True``). ``module="mlp", input_scaling=None,
    early_stopping=False`` is the plain MLP of earlier versions. For binary
    targets the network has one output, the log-odds of ``classes_[1]`` (two
    for losses that need two logits); for ``K`` classes it has ``K`` outputs.

    Parameters
    ----------
    loss : str, BaseLoss subclass or instance, default="cross_entropy"
        The training loss; see :func:`~sklearn_losses.losses.list_losses`. Its
        parameters are set as ``loss__<param>=value`` (constructor,
        ``set_params`` or a grid). An instance is never modified: its parameters
        are read and a fresh loss is built at each ``fit``. A ``loss__*`` that
        only other registered losses take is ignored with a ``UserWarning`` (so
        a search can switch losses); ``None`` unsets one.
    %(network)s
    input_scaling : {"robust", "standard"} or None, default="robust"
        Scaling of the features fitted at ``fit`` and applied before the
        network (``input_scaler_``): ``"robust"`` is
        :class:`~sklearn_losses.preprocessing.RobustScaleSmoothClip` (RealMLP's
        median / inter-quantile scaling and smooth clip), ``"standard"`` is
        :class:`~sklearn.preprocessing.StandardScaler`, None leaves the features
        as they are. Under ``warm_start`` the first fit's scaler is kept.
    batch_size : int or "auto", default="auto"
        Mini-batch size (a batch larger than the data is the full batch).
        ``"auto"``: 128 for per-sample losses; ``max(128, ceil(0.05 n_train))``
        for batch-level losses such as AnyLoss (the AnyLoss paper's rule).
    batch_sampler : {"auto", "random", "stratified", "balanced"}, float or \
BatchPlan, default="auto"
        The batch plan: which rows go together in each batch of an epoch.
        ``"random"``: a fresh permutation each epoch. ``"stratified"``: every
        batch holds every class in proportion (binary: at least one row of each
        class where the data allows; more classes: within one row of the
        proportion). ``"balanced"``: every batch holds every class in
        equal shares. A float ``p`` in ``(0, 1)`` (binary targets): a share ``p``
        of every batch is the positive class ``classes_[1]`` (LibAUC's
        ``DualSampler``). With fixed shares an epoch has
        ``max_c ceil(n_c / share_c)`` rows: the class that sets it is drawn once,
        the others are cycled through reshuffled copies (rare classes repeat).
        ``"auto"``: stratified for batch-level losses, random otherwise. A
        :class:`~sklearn_losses.sampling.BatchPlan` instance (cloned at each
        fit) for anything else: whole groups per batch
        (:class:`~sklearn_losses.sampling.GroupBatches`, with ``groups=`` in
        ``fit``), ``m`` rows per class
        (:class:`~sklearn_losses.sampling.MPerClassBatches`), or your own.
    %(epochs)s
    validation_scoring : None, str or callable, default=None
        Score recorded each epoch as ``valid_score`` in the history: a scikit-learn
        scorer name (``"average_precision"``, ``"f1"``, ...) or a callable
        ``scorer(estimator, X, y)``. ``None`` records the (weighted) accuracy.
    class_weight : None, "balanced" or dict, default=None
        Per-class weights, computed on the training data of each ``fit`` and
        multiplied into ``sample_weight``.
    reweighter : None or estimator, default=None
        A reweighter such as
        :class:`~sklearn_losses.sampling.DatasetEquityReweighter`, cloned and
        fitted on the training data of each ``fit``; its ``weights_`` are
        multiplied into ``sample_weight`` (when the loss takes the dataset
        likelihood, as ``"generalized_focal"``, its ``likelihood_`` is passed to
        the loss instead). Its parameters are ``reweighter__<name>``. Fitted
        clone: ``reweighter_``.
    %(reweighting)s
    %(runtime)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the order of ``predict_proba``'s columns.
    %(fitted)s
    reweighter_ : estimator
        The fitted clone of ``reweighter`` (only when ``reweighter`` is set).
    input_scaler_ : transformer or None
        The fitted scaler of ``input_scaling``.

    See Also
    --------
    sklearn_losses.losses.list_losses : The names ``loss`` accepts.
    sklearn_losses.loss_param_grid : A grid with different parameters per loss.

    Notes
    -----
    ``sample_weight`` in ``fit`` is honoured by every loss: it follows the
    validation split and every mini-batch, and per-sample losses reduce as
    :math:`\\sum_i w_i \\ell_i / \\sum_i w_i`.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_losses import LossClassifier
    >>> X, y = make_classification(n_samples=200, weights=[0.8], random_state=0)
    >>> clf = LossClassifier(loss="focal", loss__gamma=2.0, max_epochs=20,
    ...                      random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    prefixes = (*BaseLossEstimator.prefixes, "reweighter")

    default_module = "tabular"

    _constraints = {
        "batch_sampler": Constraint(
            lambda v: (
                (isinstance(v, str) and v in CLASS_BATCH_SAMPLERS)
                or isinstance(v, BatchPlan)
                or real(0, 1, closed="neither")(v)
            ),
            "'auto', 'random', 'stratified', 'balanced', a float in (0, 1) (the "
            "share of the positive class in every batch) or a BatchPlan instance "
            "(see sklearn_losses.sampling)",
        ),
        "class_weight": Constraint(
            lambda v: v is None or v == "balanced" or isinstance(v, dict),
            "None, 'balanced' or a dict {label: weight}",
        ),
    }

    def __init__(
        self,
        loss="cross_entropy",
        *,
        module=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        input_scaling="robust",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size="auto",
        batch_sampler="auto",
        max_epochs=100,
        early_stopping=True,
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
        self.loss = loss
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.input_scaling = input_scaling
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.batch_sampler = batch_sampler
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.validation_scoring = validation_scoring
        self.class_weight = class_weight
        self.reweighter = reweighter
        self.reweighting = reweighting
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_prefixed(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            tasks = get_loss_class(self.loss).tasks
        except (TypeError, ValueError):  # an invalid loss is reported by fit
            tasks = ("binary", "multiclass")
        tags.classifier_tags.multi_class = "multiclass" in tasks
        return tags

    # -- fit hooks (the template is BaseLossEstimator.fit) ---------------------
    def _encode_target(self, y, warm):
        try:
            check_classification_targets(y)
            classes, y_enc = np.unique(y, return_inverse=True)
        except TypeError as exc:  # labels that do not compare, e.g. str and None
            raise TypeError(
                f"y must hold labels of one type (e.g. all strings); {exc}."
            ) from None
        if len(classes) < 2:
            raise ValueError(
                f"y contains only one class ({classes[0]!r}); a classifier needs "
                "samples of at least 2 classes."
            )
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True needs the same classes as the previous fit "
                f"({self.classes_.tolist()}); got {classes.tolist()}."
            )
        self.classes_ = classes
        task = "binary" if len(classes) == 2 else "multiclass"
        return y_enc.astype(np.int64), task

    def _n_classes(self):
        return len(self.classes_)

    def _n_outputs(self, loss, task):
        n_outputs = loss.binary_logits if task == "binary" else len(self.classes_)
        self._binary_outputs = n_outputs if task == "binary" else None
        return n_outputs

    def _row_weights(self, X, y, sample_weight):
        if self.class_weight is None:
            weight = super()._row_weights(X, y, sample_weight)
        else:
            try:
                per_class = compute_sample_weight(self.class_weight, y)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"Invalid class_weight: {exc}") from exc
            if np.any(per_class < 0):
                raise ValueError(
                    f"class_weight must be >= 0; got {self.class_weight!r}."
                )
            weight = check_user_weights(sample_weight, X) * per_class
        if weight is not None:
            weighted = np.unique(np.asarray(y)[weight > 0])
            if len(weighted) < 2:
                raise ValueError(
                    "sample_weight (times class_weight) is positive for rows of "
                    f"{len(weighted)} class(es) only; a classifier needs rows of at "
                    "least 2 classes with positive weight."
                )
        return weight

    def _valid_score_fn(self, valid, loss):
        """Return ``logits -> score`` for the validation rows ``valid``."""
        y = valid["y"]
        w = valid.get("sample_weight")
        scoring, classes = self.validation_scoring, self.classes_
        if scoring is None:
            # The loss's own metric sees encoded labels: class 1 is the positive.
            scoring = loss.validation_scorer(self._task)
            classes = np.arange(len(self.classes_))
        if scoring is None:

            def accuracy(logits):
                pred = self._labels_from_logits(logits.detach().cpu().double().numpy())
                return float(np.average(pred == y, weights=w))

            return accuracy
        scorer = check_scoring(self, scoring=scoring)
        y_labels = classes[y]
        rows = np.arange(len(y)).reshape(-1, 1)
        kwargs = {} if w is None else {"sample_weight": w}

        def score(logits):
            out = logits.detach().cpu().double().numpy()
            view = _FrozenOutputs(classes, self._decision_from_outputs(out))
            return float(scorer(view, rows, y_labels, **kwargs))

        return score

    # -- outputs --------------------------------------------------------------
    def _decision_from_outputs(self, out):
        if self._binary_outputs == 1:
            return out.reshape(-1)
        if self._binary_outputs == 2:
            return out[:, 1] - out[:, 0]
        return out

    def _labels_from_logits(self, out):
        """Class indices from raw module outputs."""
        return _indices(self._decision_from_outputs(out))

    def decision_function(self, X):
        """Raw scores: the log-odds of ``classes_[1]`` (binary, shape ``(n,)``) or
        the ``K`` logits (multiclass, shape ``(n, K)``)."""
        return self._decision_from_outputs(self._outputs(X))

    def predict_proba(self, X):
        """Class probabilities of shape ``(n_samples, n_classes)``, columns in
        ``classes_`` order (binary included)."""
        return _proba(self.decision_function(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably."""
        dec = self.decision_function(X)
        if dec.ndim == 1:
            return np.column_stack([-np.logaddexp(0, dec), -np.logaddexp(0, -dec)])
        return dec - np.logaddexp.reduce(dec, axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels (from ``classes_``)."""
        labels = self._labels_from_logits(self._outputs(X))
        return self.classes_[labels]


def _proba(decision):
    if decision.ndim == 1:
        # expit(-d) rather than 1 - expit(d): exact for large decision values.
        return np.column_stack([expit(-decision), expit(decision)])
    return softmax(decision, axis=1)


def _indices(decision):
    if decision.ndim == 1:
        return (decision > 0).astype(np.int64)
    return decision.argmax(axis=1)


class _FrozenOutputs(ClassifierMixin, BaseEstimator):
    """A fitted-looking classifier over precomputed decision values, for scorers.

    ``X`` is a column of row indices into ``decision``.
    """

    def __init__(self, classes, decision):
        self.classes_ = classes
        self.decision = decision

    def __sklearn_is_fitted__(self):
        return True

    def decision_function(self, X):
        return self.decision[np.asarray(X).ravel()]

    def predict_proba(self, X):
        return _proba(self.decision_function(X))

    def predict(self, X):
        return self.classes_[_indices(self.decision_function(X))]
