"""Confusion-matrix metrics defined once, as functions of (TP, FP, FN, TN).

From one definition, a :class:`ConfusionMetric` gives

- the exact metric on labels (:meth:`ConfusionMetric.score`), equal to
  ``sklearn.metrics`` with the same ``sample_weight``, ``pos_label``, ``average``
  and ``zero_division``;
- the soft metric on differentiable counts (:meth:`ConfusionMetric.soft`), the
  counts of AnyLoss's amplified probabilities (:func:`soft_confusion`), which
  :class:`~sklearn_losses.losses.AnyLoss` trains on (``1 - soft metric``);
- a scorer for ``GridSearchCV`` (:meth:`ConfusionMetric.scorer`).

Accuracy, balanced accuracy and MCC are multiclass metrics in scikit-learn
(trace over total, mean recall per class, Gorodkin's :math:`R_K`): they are
also defined on the whole confusion matrix (``matrix_fn``), which their exact
form uses for any number of classes and their soft form for more than two.

The defining function uses only ``+ - * /`` and ``**`` (or ``sqrt`` through
``** 0.5``) or torch functions: the exact form evaluates it on float64 torch
scalars, the soft form on the autograd graph.
"""

from __future__ import annotations

import difflib
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import make_scorer
from sklearn.utils.multiclass import type_of_target, unique_labels

__all__ = [
    "ConfusionMetric",
    "make_confusion_metric",
    "get_metric",
    "list_metrics",
    "soft_confusion",
    "soft_confusion_matrix",
    "SOFT_EPS",
]

#: Replaces a soft count that is exactly zero (a class absent from the batch),
#: so that no denominator of a metric is zero. Other counts are used as they are.
SOFT_EPS = 1e-9

_AVERAGES = ("binary", "micro", "macro", "weighted", None)


class ConfusionMetric:
    """A metric of the binary confusion counts, with its exact and soft forms.

    Parameters
    ----------
    fn : callable
        ``fn(tp, fp, fn, tn) -> value``, written with arithmetic operators or
        torch functions, so that it runs on torch tensors (checked here: a
        function that calls numpy or ``math`` is refused, since it would not
        train).
    name : str, default=None
        Short name, e.g. ``"f1"``; by default ``fn.__name__`` (required for a
        lambda).
    higher_is_better : bool, default=True
        Whether larger values are better (the loss is then ``1 - metric``;
        otherwise the loss is the metric itself).
    undefined : {"zero_division"} or float, default="zero_division"
        What the exact metric is when ``fn`` divides by zero: the
        ``zero_division`` argument of :meth:`score` (as precision, recall,
        F-beta and Jaccard in scikit-learn), or a fixed value.
    matrix_fn : callable, default=None
        ``matrix_fn(C) -> value`` on the ``(K, K)`` confusion matrix (rows: true
        class, columns: predicted) for a metric that scikit-learn defines on
        the whole matrix (accuracy, balanced accuracy, MCC). It must agree with
        ``fn`` for two classes. The exact metric then uses it for any labels
        (``pos_label`` and ``average`` do not apply), and AnyLoss uses it on
        the soft matrix (:func:`soft_confusion_matrix`) for more than two
        classes.

    Examples
    --------
    >>> from sklearn_losses.metrics import make_confusion_metric
    >>> def informedness(tp, fp, fn, tn):
    ...     return tp / (tp + fn) + tn / (tn + fp) - 1
    >>> metric = make_confusion_metric(informedness)
    >>> metric
    ConfusionMetric('informedness')
    >>> metric.score([0, 1, 1, 0], [0, 1, 0, 0])
    0.5
    """

    def __init__(
        self,
        fn,
        name=None,
        *,
        higher_is_better=True,
        undefined="zero_division",
        matrix_fn=None,
    ):
        if not callable(fn):
            raise TypeError(f"fn must be callable fn(tp, fp, fn, tn); got {fn!r}.")
        if name is None:
            name = getattr(fn, "__name__", None)
            if name is None or name == "<lambda>":
                raise ValueError(
                    "name is required when fn has no name of its own (a lambda or "
                    "a callable object); pass name='...'."
                )
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; got {name!r}.")
        if undefined != "zero_division" and not isinstance(undefined, numbers.Real):
            raise ValueError(
                f"undefined must be 'zero_division' or a number; got {undefined!r}."
            )
        if matrix_fn is not None and not callable(matrix_fn):
            raise TypeError(f"matrix_fn must be None or callable; got {matrix_fn!r}.")
        _check_runs_on_tensors(fn, name)
        self.fn = fn
        self.name = name
        self.higher_is_better = bool(higher_is_better)
        self.undefined = undefined
        self.matrix_fn = matrix_fn

    def __repr__(self):
        return f"ConfusionMetric({self.name!r})"

    # -- exact ------------------------------------------------------------------
    def from_counts(self, tp, fp, fn, tn, *, zero_division="warn"):
        """The exact metric from (weighted) binary confusion counts."""
        _check_zero_division(zero_division)
        if self.matrix_fn is not None:
            return self.from_matrix([[tn, fp], [fn, tp]], zero_division=zero_division)
        counts = (torch.tensor(float(v), dtype=torch.float64) for v in (tp, fp, fn, tn))
        return self._finite_or_undefined(self.fn(*counts), zero_division)

    def from_matrix(self, matrix, *, zero_division="warn"):
        """The exact metric from a (weighted) ``(K, K)`` confusion matrix (rows:
        true class, columns: predicted); for a metric without ``matrix_fn``,
        defined for two classes only (class 1 positive)."""
        C = torch.as_tensor(np.asarray(matrix, dtype=np.float64))
        if self.matrix_fn is None:
            if C.shape != (2, 2):
                raise ValueError(
                    f"{self.name} is a binary metric: from_matrix needs a 2 x 2 "
                    f"matrix; got shape {tuple(C.shape)}. Use score(..., average=...)."
                )
            return self.from_counts(C[1, 1], C[0, 1], C[1, 0], C[0, 0])
        return self._finite_or_undefined(self.matrix_fn(C), zero_division)

    def _finite_or_undefined(self, value, zero_division):
        value = float(value)
        if np.isfinite(value):
            return value
        if self.undefined != "zero_division":
            return float(self.undefined)
        if zero_division == "warn":
            warnings.warn(
                f"{self.name} is ill-defined (a division by zero) and is set to 0.0. "
                "Use zero_division to control this behavior.",
                UndefinedMetricWarning,
                stacklevel=4,
            )
            return 0.0
        return float(zero_division)

    def score(
        self,
        y_true,
        y_pred,
        *,
        sample_weight=None,
        pos_label=1,
        average="binary",
        labels=None,
        zero_division="warn",
    ):
        """The exact metric on labels, as ``sklearn.metrics`` computes it.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples,)
            True and predicted labels; or indicator matrices of shape
            ``(n_samples, n_labels)`` (multi-label, sparse too), scored by
            :func:`~sklearn_losses.metrics.multilabel_score` with ``average``
            among "micro", "macro", "weighted", "samples" and None, and
            ``labels`` as column indices.
        sample_weight : array-like of shape (n_samples,), default=None
            Each sample counts with its weight in the confusion counts.
        pos_label : int, float, bool or str, default=1
            The positive class for ``average="binary"``. Not used by a metric of
            the whole matrix (accuracy, balanced accuracy, MCC).
        average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
            ``"binary"``: the counts of ``pos_label``. Otherwise one-vs-rest
            counts per class, summed (micro), averaged (macro), averaged with
            support weights (weighted), or returned per class (None). Not used
            by a metric of the whole matrix.
        labels : array-like, default=None
            Classes to include when ``average != "binary"`` (for a metric of
            the whole matrix: the rows and columns of the matrix, by default
            every label of ``y_true`` and ``y_pred``).
        zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
            The value when the metric divides by zero ("warn": 0.0 and a warning).

        Returns
        -------
        float or ndarray
        """
        if _is_indicator(y_true) or _is_indicator(y_pred):
            if not (_is_indicator(y_true) and _is_indicator(y_pred)):
                raise ValueError(
                    "y_true and y_pred must both be 1-D labels or both label "
                    "indicator matrices (n_samples, n_labels); got shapes "
                    f"{np.shape(y_true)} and {np.shape(y_pred)}."
                )
            if average == "binary":
                raise ValueError(
                    "y_true is a multilabel indicator matrix but average='binary'. "
                    "Choose average in ('micro', 'macro', 'weighted', 'samples', "
                    "None)."
                )
            from ._multilabel import multilabel_score

            return multilabel_score(
                self,
                y_true,
                y_pred,
                average=average,
                sample_weight=sample_weight,
                labels=labels,
                zero_division=zero_division,
            )
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}; got {average!r}.")
        _check_zero_division(zero_division)
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred)
        if y_true.shape != y_pred.shape or y_true.ndim != 1:
            raise ValueError(
                "y_true and y_pred must be 1-D with the same length; got shapes "
                f"{y_true.shape} and {y_pred.shape}."
            )
        if y_true.shape[0] == 0:
            raise ValueError(
                f"y_true and y_pred are empty; {self.name} needs at least 1 sample."
            )
        kinds = {
            type_of_target(y_true, input_name="y_true"),
            type_of_target(y_pred, input_name="y_pred"),
        }
        if not kinds <= {"binary", "multiclass"}:
            raise ValueError(
                f"{self.name} needs class labels in y_true and y_pred; got targets "
                f"of type {sorted(kinds)}."
            )
        present = unique_labels(y_true, y_pred)
        if self.matrix_fn is not None:
            labels = present if labels is None else np.asarray(labels)
            matrix = _confusion_matrix(y_true, y_pred, labels, sample_weight)
            return self.from_matrix(matrix, zero_division=zero_division)
        if average == "binary":
            if len(present) > 2:
                raise ValueError(
                    f"Target is multiclass but average='binary'. Choose average in "
                    f"{_AVERAGES[1:]}."
                )
            if pos_label not in present and len(present) >= 2:
                raise ValueError(
                    f"pos_label={pos_label!r} is not a valid label. It should be one "
                    f"of {present.tolist()}."
                )
            labels = [pos_label]
        elif labels is None:
            labels = present
        tp, fp, fn, tn = _ovr_counts(y_true, y_pred, labels, sample_weight)
        if average == "micro":
            return self.from_counts(
                tp.sum(), fp.sum(), fn.sum(), tn.sum(), zero_division=zero_division
            )
        per_class = np.array(
            [
                self.from_counts(*c, zero_division=zero_division)
                for c in zip(tp, fp, fn, tn)
            ]
        )
        if average == "binary":
            return float(per_class[0])
        if average is None:
            return per_class
        return _nanaverage(per_class, tp + fn if average == "weighted" else None)

    __call__ = score

    def _score_matrix(
        self,
        y_true,
        y_pred,
        *,
        sample_weight=None,
        average="binary",
        labels=None,
        zero_division="warn",
    ):
        """:meth:`score` without a ``pos_label`` (for the scorer)."""
        return self.score(
            y_true,
            y_pred,
            sample_weight=sample_weight,
            average=average,
            labels=labels,
            zero_division=zero_division,
        )

    # -- soft -----------------------------------------------------------------
    def soft(self, tp, fp, fn, tn):
        """The metric on soft (differentiable) counts; a count that is exactly
        zero is replaced by :data:`SOFT_EPS`, so that no denominator is zero
        (the others, and so their gradients, are used as they are)."""
        return self.fn(*(_nonzero(c) for c in (tp, fp, fn, tn)))

    def soft_matrix(self, matrix):
        """The metric on a soft ``(K, K)`` confusion matrix: ``matrix_fn`` for a
        metric of the whole matrix, else the macro average over classes of the
        one-vs-rest :meth:`soft` metric."""
        if self.matrix_fn is not None:
            return self.matrix_fn(matrix)
        tp = matrix.diagonal()
        pos, pred = matrix.sum(1), matrix.sum(0)
        fn, fp = pos - tp, pred - tp
        return self.soft(tp, fp, fn, pos.sum() - pos - fp).mean()

    # -- derived objects --------------------------------------------------------
    def scorer(self, **kwargs):
        """A scikit-learn scorer (``make_scorer`` on :meth:`score`, from ``predict``).

        ``kwargs`` (``pos_label``, ``average``, ``zero_division``) go to
        :meth:`score` (a metric of the whole matrix ignores ``pos_label`` and
        ``average``, so its scorer works with any labels). Weighted scoring
        under metadata routing: ``scorer.set_score_request(sample_weight=True)``.
        """
        score = self.score
        if self.matrix_fn is not None:
            # No positive class: the score function must not offer
            # scikit-learn a pos_label to check against the labels.
            kwargs = {k: v for k, v in kwargs.items() if k != "pos_label"}
            score = self._score_matrix
        return make_scorer(
            score,
            response_method="predict",
            greater_is_better=self.higher_is_better,
            **kwargs,
        )


def _is_indicator(y):
    """Whether ``y`` is 2-D (a multi-label indicator matrix, sparse included)."""
    return sp.issparse(y) or np.ndim(y) == 2


def _nonzero(count):
    """``count``, or :data:`SOFT_EPS` where it is exactly zero."""
    if isinstance(count, torch.Tensor):
        return count.masked_fill(count == 0, SOFT_EPS)
    return count if count != 0 else SOFT_EPS


def _check_runs_on_tensors(fn, name):
    """Refuse at construction a metric function that would fail in training."""
    counts = [
        torch.tensor(v, dtype=torch.float64, requires_grad=True)
        for v in (3.0, 1.0, 2.0, 4.0)
    ]
    hint = (
        f"metric {name!r}: fn must run on torch tensors (AnyLoss trains on it), "
        "so write it with arithmetic operators (+ - * / and ** 0.5 for a square "
        "root) or torch functions, not numpy or math"
    )
    try:
        value = fn(*counts)
    except Exception as exc:
        raise ValueError(
            f"{hint}; on tensors it raised {type(exc).__name__}: {exc}"
        ) from exc
    if not (isinstance(value, torch.Tensor) and value.requires_grad):
        raise ValueError(
            f"{hint}; on tensors it returned {type(value).__name__} without a gradient."
        )


def _check_weights(sample_weight, n):
    try:
        w = (
            np.ones(n)
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(f"sample_weight must be numeric; {exc}.") from None
    if w.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},); got {w.shape}.")
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("sample_weight must be finite and >= 0 (no NaN).")
    return w


def _ovr_counts(y_true, y_pred, labels, sample_weight):
    """One-vs-rest weighted counts per label, each a direct sum of weights.

    (Computing TN as ``total - tp - fp - fn`` leaves float residues of ~1e-16
    with fractional weights, which would hide a zero denominator.)
    """
    w = _check_weights(sample_weight, len(y_true))
    labels = np.asarray(labels)
    t = y_true[:, None] == labels[None, :]
    p = y_pred[:, None] == labels[None, :]
    return w @ (t & p), w @ (~t & p), w @ (t & ~p), w @ (~t & ~p)


def _confusion_matrix(y_true, y_pred, labels, sample_weight):
    """The weighted ``(K, K)`` confusion matrix over ``labels`` (rows: true)."""
    w = _check_weights(sample_weight, len(y_true))
    labels = np.asarray(labels)
    t = y_true[:, None] == labels[None, :]
    p = y_pred[:, None] == labels[None, :]
    return (t * w[:, None]).T @ p


def _nanaverage(values, weights=None):
    """Average ignoring NaN entries (all NaN: NaN), as scikit-learn does."""
    keep = ~np.isnan(values)
    if not keep.any():
        return float("nan")
    if weights is not None and np.sum(weights[keep]) > 0:
        return float(np.average(values[keep], weights=weights[keep]))
    return float(np.mean(values[keep]))


def _check_zero_division(value):
    ok = value == "warn" or (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and (np.isnan(value) or value in (0.0, 1.0))
    )
    if not ok:
        raise ValueError(
            f"zero_division must be 'warn', 0.0, 1.0 or np.nan; got {value!r}."
        )


def make_confusion_metric(fn, name=None, *, higher_is_better=True):
    """Turn ``fn(tp, fp, fn, tn)`` into a :class:`ConfusionMetric`.

    The exact form, the soft form (which
    :class:`~sklearn_losses.losses.AnyLoss` trains on) and a scorer all
    follow. Write ``fn`` with arithmetic operators (``x ** 0.5`` for a square
    root) or torch functions; one that calls numpy or ``math`` is refused here,
    as it could not train. ``name`` defaults to ``fn.__name__``. For a model
    that must be pickled (``n_jobs`` with the loky backend uses cloudpickle, so
    lambdas work there), define ``fn`` at module level.

    Examples
    --------
    >>> from sklearn_losses.metrics import make_confusion_metric
    >>> fowlkes_mallows = make_confusion_metric(
    ...     lambda tp, fp, fn, tn: tp / ((tp + fp) * (tp + fn)) ** 0.5, name="fm")
    >>> round(fowlkes_mallows.score([1, 1, 0, 0], [1, 0, 1, 0]), 3)
    0.5
    """
    return ConfusionMetric(fn, name, higher_is_better=higher_is_better)


def _amplified(probability, L):
    """AnyLoss's amplifier: ``sigmoid(L (p - 1/2))`` of the probability of class
    1 (shape ``(n,)``), or ``softmax(L p / 2)`` over ``K`` classes (``(n, K)``)."""
    if probability.ndim == 1:
        return torch.sigmoid(L * (probability - 0.5))
    return torch.softmax(0.5 * L * probability, dim=1)


def soft_confusion(probability, target, *, L=73.0, sample_weight=None):
    """AnyLoss's differentiable confusion counts.

    Binary (``probability`` of shape ``(n,)``, the probability of class 1):

    .. math::

        a_i = \\sigma(L (p_i - \\tfrac12)),\\quad TP = \\sum_i w_i y_i a_i,\\quad
        FN = \\sum_i w_i y_i - TP,\\quad FP = \\sum_i w_i a_i - TP,\\quad
        TN = \\sum_i w_i - TP - FN - FP

    Multiclass (``probability`` of shape ``(n, K)``, rows summing to 1):
    one-vs-rest counts per class with :math:`a = \\operatorname{softmax}(L p / 2)`,
    which is the binary amplifier for ``K = 2`` and tends to the one-hot
    ``argmax`` prediction as ``L`` grows. Returns four tensors of shape ``(K,)``.

    The counts are computed in ``probability``'s dtype.

    Parameters
    ----------
    probability : torch.Tensor
        Probabilities (not logits).
    target : torch.Tensor of shape (n,)
        Class indices.
    L : float, default=73.0
        Amplifier steepness.
    sample_weight : torch.Tensor of shape (n,), default=None
        Weights of the samples in the counts.

    Returns
    -------
    tp, fp, fn, tn : torch.Tensor
    """
    a = _amplified(probability, L)
    w = _weights(sample_weight, probability)
    if a.ndim == 1:
        y = target.to(a.dtype)
        tp, pos, pred = (w * y * a).sum(), (w * y).sum(), (w * a).sum()
    else:
        matrix = _soft_matrix(a, target, w)
        tp, pos, pred = matrix.diagonal(), matrix.sum(1), matrix.sum(0)
    fn, fp = pos - tp, pred - tp
    return tp, fp, fn, w.sum() - pos - fp


def soft_confusion_matrix(probability, target, *, L=73.0, sample_weight=None):
    """AnyLoss's differentiable ``(K, K)`` confusion matrix.

    :math:`C_{jk} = \\sum_i w_i [y_i = j]\\, a_{ik}` (rows: true class, columns:
    predicted) with the amplified probabilities :math:`a` of
    :func:`soft_confusion`; binary ``probability`` of shape ``(n,)`` gives the
    ``2 x 2`` matrix with :math:`a_{i1} = a_i`, :math:`a_{i0} = 1 - a_i`.

    Parameters
    ----------
    probability : torch.Tensor of shape (n,) or (n, K)
    target : torch.Tensor of shape (n,)
    L : float, default=73.0
    sample_weight : torch.Tensor of shape (n,), default=None

    Returns
    -------
    torch.Tensor of shape (K, K)

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.metrics import soft_confusion_matrix
    >>> p = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], dtype=torch.float64)
    >>> soft_confusion_matrix(p, torch.tensor([0, 1, 1]), L=200).round().tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    a = _amplified(probability, L)
    if a.ndim == 1:
        a = torch.stack([1.0 - a, a], dim=1)
    return _soft_matrix(a, target, _weights(sample_weight, probability))


def _weights(sample_weight, probability):
    if sample_weight is None:
        return torch.ones(
            probability.shape[0], dtype=probability.dtype, device=probability.device
        )
    return sample_weight.to(probability.dtype)


def _soft_matrix(a, target, weight):
    onehot = torch.nn.functional.one_hot(target, a.shape[1]).to(a.dtype)
    return (onehot * weight[:, None]).t() @ a


# -- the built-in metrics -------------------------------------------------------
def _precision(tp, fp, fn, tn):
    return tp / (tp + fp)


def _recall(tp, fp, fn, tn):
    return tp / (tp + fn)


def _specificity(tp, fp, fn, tn):
    return tn / (tn + fp)


class _FBeta:
    """F-beta as a picklable callable."""

    def __init__(self, beta):
        self.beta = beta

    def __call__(self, tp, fp, fn, tn):
        b2 = self.beta**2
        return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp)


def _gmean(tp, fp, fn, tn):
    return (tp / (tp + fn) * (tn / (tn + fp))) ** 0.5


def _jaccard(tp, fp, fn, tn):
    return tp / (tp + fp + fn)


def _informedness(tp, fp, fn, tn):
    return tp / (tp + fn) + tn / (tn + fp) - 1


# Accuracy, balanced accuracy and MCC: the binary form and the form on the
# (K, K) matrix C (rows: true class), equal for K = 2.
def _accuracy(tp, fp, fn, tn):
    return (tp + tn) / (tp + fp + fn + tn)


def _accuracy_matrix(C):
    return C.diagonal().sum() / C.sum()


def _balanced_accuracy(tp, fp, fn, tn):
    return 0.5 * (tp / (tp + fn) + tn / (tn + fp))


def _balanced_accuracy_matrix(C):
    # The mean recall of the classes present in y_true (as scikit-learn).
    support = C.sum(1)
    present = support > 0
    return (C.diagonal()[present] / support[present]).mean()


def _mcc(tp, fp, fn, tn):
    return (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5


def _mcc_matrix(C):
    # Gorodkin's R_K, as sklearn.metrics.matthews_corrcoef; 0 where a variance
    # is zero (then the covariance is zero too), with a finite gradient.
    t, p = C.sum(1), C.sum(0)
    n = t.sum()
    cov_tp = C.diagonal().sum() * n - (t * p).sum()
    denominator = (n * n - (t * t).sum()) * (n * n - (p * p).sum())
    return cov_tp / (denominator + (denominator == 0)) ** 0.5


ACCURACY = ConfusionMetric(_accuracy, "accuracy", matrix_fn=_accuracy_matrix)
PRECISION = ConfusionMetric(_precision, "precision")
RECALL = ConfusionMetric(_recall, "recall")
SPECIFICITY = ConfusionMetric(_specificity, "specificity")
F1 = ConfusionMetric(_FBeta(1.0), "f1")
F05 = ConfusionMetric(_FBeta(0.5), "f0.5")
F2 = ConfusionMetric(_FBeta(2.0), "f2")
GMEAN = ConfusionMetric(_gmean, "gmean")
BALANCED_ACCURACY = ConfusionMetric(
    _balanced_accuracy, "balanced_accuracy", matrix_fn=_balanced_accuracy_matrix
)
MCC = ConfusionMetric(_mcc, "mcc", undefined=0.0, matrix_fn=_mcc_matrix)
JACCARD = ConfusionMetric(_jaccard, "jaccard")
INFORMEDNESS = ConfusionMetric(_informedness, "informedness")

_METRICS = {
    m.name: m
    for m in (
        ACCURACY,
        PRECISION,
        RECALL,
        SPECIFICITY,
        F1,
        F05,
        F2,
        GMEAN,
        BALANCED_ACCURACY,
        MCC,
        JACCARD,
        INFORMEDNESS,
    )
}
_METRIC_ALIASES = {
    "tpr": "recall",
    "sensitivity": "recall",
    "tnr": "specificity",
    "f05": "f0.5",
    "f_beta_0.5": "f0.5",
    "g_mean": "gmean",
    "geometric_mean": "gmean",
    "bacc": "balanced_accuracy",
    "matthews": "mcc",
    "csi": "jaccard",
    "critical_success_index": "jaccard",
    "youden": "informedness",
    "tss": "informedness",
}


def list_metrics():
    """Names of the built-in confusion-matrix metrics."""
    return sorted(_METRICS)


def get_metric(spec):
    """Resolve a metric name or :class:`ConfusionMetric` (returned as is).

    Examples
    --------
    >>> from sklearn_losses.metrics import get_metric
    >>> get_metric("f1")
    ConfusionMetric('f1')
    """
    if isinstance(spec, ConfusionMetric):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        key = _METRIC_ALIASES.get(key, key)
        if key in _METRICS:
            return _METRICS[key]
        names = sorted([*_METRICS, *_METRIC_ALIASES])
        close = difflib.get_close_matches(key, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown metric {spec!r}.{hint} Valid names: {', '.join(list_metrics())}; "
            "or pass make_confusion_metric(fn, name)."
        )
    raise TypeError(
        "metric must be a name or a ConfusionMetric (see make_confusion_metric); "
        f"got {type(spec).__name__}."
    )
