"""``MultiLabelLossClassifier``: a neural multi-label classifier with any
multi-label loss."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import check_scoring

from .._validation import Constraint, one_of
from ..losses._base import setup_with
from ..metrics._multilabel import multilabel_score
from ..modules import MLP
from ..sampling._batches import BatchPlan
from ._base import BaseLossEstimator
from ._docs import fill_doc

__all__ = ["MultiLabelLossClassifier"]


def _constraint_of_threshold(value):
    if isinstance(value, str):
        return value == "tune"
    try:
        t = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return (
        not isinstance(value, bool)
        and t.ndim <= 1
        and t.size >= 1
        and bool(np.all((t > 0) & (t < 1)))
    )


@fill_doc
class MultiLabelLossClassifier(ClassifierMixin, BaseLossEstimator):
    """Neural multi-label classifier trained with any multi-label loss.

    ``fit(X, Y)`` takes ``Y`` as a label indicator matrix of shape
    ``(n_samples, n_labels)`` of 0/1 (scikit-learn's multi-label convention; a
    DataFrame or a sparse matrix too). The network has one logit per label;
    ``predict_proba`` gives the probability of each label, ``predict`` the
    indicator matrix at per-label thresholds. The loss is a parameter, so
    ``GridSearchCV`` can search over ``"bce"``, ``"focal"`` and ``"hybrid"``
    and their ``loss__*`` parameters.

    Parameters
    ----------
    loss : str, BaseLoss subclass or instance, default="bce"
        One of ``list_losses("multilabel")``: ``"bce"`` (binary cross-entropy
        per label, ``loss__pos_weight="balanced"`` for rare labels),
        ``"focal"`` or ``"hybrid"`` (weighted BCE, label-correlation and
        contrastive terms: our reconstruction of Aslam et al., 2024, see
        :class:`~sklearn_losses.losses.HybridLoss`). Its positive weights and
        label correlation matrix come from the training rows of each ``fit``
        (not the validation rows). With the default network and
        ``loss__lambda_con > 0`` the network appends its last hidden layer to
        the logits as the embedding of the contrastive term; with a custom
        ``module`` or no hidden layer, there is no embedding and that term is 0.
    threshold : float, array-like of shape (n_labels,) or "tune", default=0.5
        ``predict`` marks label ``c`` when its probability exceeds
        ``threshold[c]`` (a float: every label). ``"tune"``: per label, the
        threshold that maximises that label's (weighted) F1 on the validation
        rows of early stopping (the ``validation_fraction`` held out of
        training; needs ``early_stopping=True``). Fitted values in
        ``threshold_``.
    %(network)s
    batch_size : int or "auto", default="auto"
        Mini-batch size; ``"auto"``: 128 (for the hybrid loss, a batch-level
        loss, ``max(128, ceil(0.05 n_train))``).
    batch_sampler : "auto", "random" or BatchPlan, default="auto"
        The batch plan; ``"auto"`` and ``"random"``: a fresh permutation each
        epoch (the class-based plans need one class per row).
    %(epochs)s
    validation_scoring : None, str or callable, default=None
        Score recorded each epoch as ``valid_score``: a scikit-learn scorer
        name for multi-label targets (``"f1_micro"``, ``"f1_macro"``,
        ``"jaccard_samples"``, ``"roc_auc"``, ...) or a callable
        ``scorer(estimator, X, Y)``; set, it is what early stopping monitors.
        ``None`` records the (weighted) micro F1 at ``threshold`` (0.5 for
        ``"tune"``) and early stopping monitors the validation loss.
    %(runtime)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
        ``np.arange(n_labels)``: the label columns, as scikit-learn's
        multi-label classifiers (``MLPClassifier``, ``OneVsRestClassifier``).
    n_outputs_ : int
        Number of labels.
    label_names_ : ndarray of shape (n_labels,)
        The column names of ``Y`` when it was a DataFrame.
    threshold_ : ndarray of shape (n_labels,)
        The per-label thresholds ``predict`` uses.
    %(fitted)s

    See Also
    --------
    sklearn_losses.LossClassifier : One label per sample.
    sklearn.multioutput.MultiOutputClassifier : One model per label.

    Notes
    -----
    ``sample_weight`` weighs rows: in the loss (a row's term is the mean over
    its labels), in the validation score and in the tuned thresholds. A label
    column of ``Y`` with one value only (never or always present) is refused:
    nothing can be learnt about it; drop it or use more data.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn_losses import MultiLabelLossClassifier
    >>> X, Y = make_multilabel_classification(n_samples=200, n_classes=4,
    ...                                       random_state=0)
    >>> clf = MultiLabelLossClassifier(loss="hybrid", max_epochs=20,
    ...                                random_state=0).fit(X, Y)
    >>> clf.predict_proba(X[:2]).shape, clf.predict(X[:2]).shape
    ((2, 4), (2, 4))
    """

    prefixes = ("loss", "module", "optimizer", "callbacks", "batch_sampler")

    _constraints = {
        "threshold": Constraint(
            _constraint_of_threshold,
            "a float in (0, 1), an array of one float in (0, 1) per label, or 'tune'",
        ),
        "batch_sampler": one_of("auto", "random")
        | Constraint(lambda v: isinstance(v, BatchPlan), "a BatchPlan instance"),
    }

    def __init__(
        self,
        loss="bce",
        *,
        threshold=0.5,
        module=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
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
        callbacks=None,
        warm_start=False,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.loss = loss
        self.threshold = threshold
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
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
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_prefixed(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.input_tags.sparse = False
        return tags

    # -- fit ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the network on ``X`` and the indicator matrix ``Y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features.
        y : array-like or sparse matrix of shape (n_samples, n_labels)
            ``Y``, the label indicator matrix of 0/1 (a DataFrame keeps its
            column names in ``label_names_``).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.
        **fit_params : array-like of shape (n_samples,)
            Per-sample inputs the loss declares in ``requires``.

        Returns
        -------
        self
        """
        if sp.issparse(y):
            y = y.toarray()
        try:
            super().fit(X, y, sample_weight=sample_weight, **fit_params)
            self.threshold_ = self._fitted_threshold()
        finally:
            for name in ("_fit_arrays", "_valid_rows"):
                self.__dict__.pop(name, None)
        return self

    def _check_target(self, y):
        names = getattr(y, "columns", None)
        if isinstance(self.threshold, str) and self.threshold == "tune":
            if not self.early_stopping:
                raise ValueError(
                    "threshold='tune' fits the thresholds on the validation rows of "
                    "early stopping; set early_stopping=True (validation_fraction "
                    "sets their share)."
                )
        self._label_names = None if names is None else np.asarray(names, dtype=object)

    def _target_validation(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_target(self, y, warm):
        Y = np.asarray(y)
        if not np.all((Y == 0) | (Y == 1)):
            bad = np.unique(Y[(Y != 0) & (Y != 1)])[:5]
            kind = "continuous" if np.any(bad != np.round(bad)) else "class"
            raise ValueError(
                f"Unknown label type: Y must be a label indicator matrix of 0 and 1 "
                f"(multi-label); got {kind} values such as {bad.tolist()}. For class "
                "labels use LossClassifier."
            )
        if Y.ndim != 2:
            raise ValueError(
                f"Y must be a label indicator matrix of shape (n_samples, n_labels); "
                f"got shape {Y.shape}. For one label per sample use LossClassifier."
            )
        n_labels = Y.shape[1]
        constant = np.flatnonzero(Y.min(axis=0) == Y.max(axis=0))
        if constant.size:
            raise ValueError(
                f"Y's label column(s) {constant[:10].tolist()} hold only one class "
                "(the label is never or always present): nothing can be learnt "
                "about it. Drop the column(s) or use more data."
            )
        if warm and n_labels != self.n_outputs_:
            raise ValueError(
                f"warm_start=True needs the same {self.n_outputs_} labels as the "
                f"previous fit; Y has {n_labels}."
            )
        self.classes_ = np.arange(n_labels)
        self.n_outputs_ = n_labels
        if self._label_names is not None:
            self.label_names_ = self._label_names
        elif hasattr(self, "label_names_") and not warm:
            del self.label_names_
        self._check_threshold(n_labels)
        return Y.astype(np.float32), "multilabel"

    def _check_threshold(self, n_labels):
        if isinstance(self.threshold, str):
            return
        t = np.asarray(self.threshold, dtype=np.float64)
        if t.ndim == 1 and t.shape[0] != n_labels:
            raise ValueError(
                f"threshold holds {t.shape[0]} values but Y has {n_labels} labels."
            )

    def _n_outputs(self, loss, task):
        return self.n_outputs_

    def _build_loss(self, task):
        loss = super()._build_loss(task)
        self._embeddings = bool(getattr(loss, "uses_embeddings", False))
        return loss

    def _build_module(self, n_features, n_outputs):
        if self.module is not None:
            return super()._build_module(n_features, n_outputs)
        return MultiLabelMLP(
            n_features,
            n_outputs,
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            activation=self.activation,
            dropout=self.dropout,
            embeddings=self._embeddings,
            **self._prefixed_params("module"),
        )

    def _build_reweighting(self, loss):
        return None  # no dynamic reweighting for multi-label targets

    def _setup_loss(self, loss, arrays, n_classes):
        self._fit_arrays = arrays
        _setup(loss, arrays["y"])

    def _split_indices(self, n, stratify, fraction, seed, groups=None):
        train, valid = BaseLossEstimator._split_indices(
            n, stratify, fraction, seed, groups
        )
        # The loss's label statistics come from the training rows only.
        _setup(self._pending_loss, self._fit_arrays["y"][train])
        self._valid_rows = valid
        return train, valid

    def _train(self, arrays, n_features, n_outputs, loss, score_fn, n_classes=None):
        self._pending_loss = loss
        try:
            return super()._train(
                arrays, n_features, n_outputs, loss, score_fn, n_classes
            )
        finally:
            self.__dict__.pop("_pending_loss", None)

    def _valid_score_fn(self, valid, loss):
        """Return ``outputs -> score`` for the validation rows ``valid``."""
        Y = valid["y"].astype(np.int64)
        w = valid.get("sample_weight")
        L = self.n_outputs_
        if self.validation_scoring is None:
            threshold = 0.5 if isinstance(self.threshold, str) else self.threshold

            def micro_f1(outputs):
                proba = expit(_logits(outputs, L))
                pred = proba > np.asarray(threshold, dtype=np.float64)
                return multilabel_score(
                    "f1", Y, pred, average="micro", sample_weight=w, zero_division=0.0
                )

            return micro_f1
        scorer = check_scoring(self, scoring=self.validation_scoring)
        rows = np.arange(len(Y)).reshape(-1, 1)
        kwargs = {} if w is None else {"sample_weight": w}
        threshold = 0.5 if isinstance(self.threshold, str) else self.threshold

        def score(outputs):
            view = _FrozenMultiLabel(self.classes_, _logits(outputs, L), threshold)
            return float(scorer(view, rows, Y, **kwargs))

        return score

    def _fitted_threshold(self):
        L = self.n_outputs_
        if not isinstance(self.threshold, str):
            return np.broadcast_to(
                np.asarray(self.threshold, dtype=np.float64), (L,)
            ).copy()
        arrays, valid = self._fit_arrays, self._valid_rows
        proba = expit(self._forward_logits(arrays["X"][valid]))
        w = arrays.get("sample_weight")
        w = np.ones(len(valid)) if w is None else np.asarray(w)[valid]
        Y = arrays["y"][valid]
        return np.array([_best_f1_threshold(proba[:, c], Y[:, c], w) for c in range(L)])

    # -- outputs --------------------------------------------------------------
    def _forward_logits(self, X32):
        return _logits(self._forward_numpy(X32), self.n_outputs_)

    def decision_function(self, X):
        """The logits, shape ``(n_samples, n_labels)``."""
        return _logits(self._outputs(X), self.n_outputs_)

    def predict_proba(self, X):
        """Probability of each label, shape ``(n_samples, n_labels)`` (rows need
        not sum to 1), as ``MLPClassifier`` for multi-label targets."""
        return expit(self.decision_function(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably."""
        return -np.logaddexp(0, -self.decision_function(X))

    def predict(self, X):
        """The label indicator matrix ``(n_samples, n_labels)``: probability
        above ``threshold_``."""
        return (self.predict_proba(X) > self.threshold_).astype(np.int64)


def _setup(loss, Y):
    """``loss.setup`` with the training labels when it takes them."""
    setup_with(loss, n_samples=Y.shape[0], n_classes=Y.shape[1], target=Y)


def _logits(outputs, n_labels):
    """The first ``n_labels`` columns of the network's outputs (numpy or torch)."""
    if isinstance(outputs, torch.Tensor):
        outputs = outputs.detach().cpu().double().numpy()
    if outputs.ndim == 1:
        outputs = outputs.reshape(-1, 1)
    return outputs[:, :n_labels]


def _best_f1_threshold(proba, y, w):
    """The threshold in (0, 1) that maximises the weighted F1 of ``proba > t``
    against ``y`` (0.5 when ``y`` has no positive): the midpoint between the
    last probability predicted positive and the next one."""
    positives = float(np.sum(w * y))
    if positives <= 0:
        return 0.5
    order = np.argsort(-proba, kind="stable")
    p, yy, ww = proba[order], y[order], w[order]
    tp = np.cumsum(ww * yy)
    fp = np.cumsum(ww * (1 - yy))
    f1 = 2 * tp / (2 * tp + fp + (positives - tp))
    cut = np.append(p[1:] < p[:-1], True)  # distinct cuts only
    f1 = np.where(cut, f1, -1.0)
    k = int(np.argmax(f1))
    low = p[k + 1] if k + 1 < len(p) else 0.0
    t = 0.5 * (p[k] + low)
    return float(np.clip(t, 1e-6, 1 - 1e-6))


class MultiLabelMLP(MLP):
    """:class:`~sklearn_losses.modules.MLP` with one logit per label, always
    ``(n, n_labels)``; with ``embeddings=True`` and a hidden layer, its last
    hidden activations follow the logits (``(n, n_labels + width)``), the
    embedding a contrastive loss term reads."""

    def __init__(
        self,
        n_features_in,
        n_outputs,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        embeddings=False,
    ):
        super().__init__(
            n_features_in, n_outputs, hidden_layer_sizes, activation, dropout
        )
        self.n_labels = n_outputs
        self.embeddings = bool(embeddings and len(hidden_layer_sizes))
        width = hidden_layer_sizes[-1] if self.embeddings else 0
        self.n_outputs = n_outputs + width

    def forward(self, X):
        hidden = X
        for layer in list(self)[:-1]:
            hidden = layer(hidden)
        logits = self[-1](hidden)
        if self.embeddings:
            return torch.cat([logits, hidden], dim=1)
        return logits


class _FrozenMultiLabel(ClassifierMixin, BaseEstimator):
    """A fitted-looking multi-label classifier over precomputed logits, for
    scorers; ``X`` is a column of row indices."""

    def __init__(self, classes, logits, threshold):
        self.classes_ = classes
        self.logits = logits
        self.threshold = threshold

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    def __sklearn_is_fitted__(self):
        return True

    def decision_function(self, X):
        return self.logits[np.asarray(X).ravel()]

    def predict_proba(self, X):
        return expit(self.decision_function(X))

    def predict(self, X):
        return (self.predict_proba(X) > np.asarray(self.threshold)).astype(np.int64)
