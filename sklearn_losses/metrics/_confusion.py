"""Confusion-matrix metrics defined once, as functions of (TP, FP, FN, TN).

From one definition, a :class:`ConfusionMetric` gives

- the exact metric on labels (:meth:`ConfusionMetric.score`), equal to
  ``sklearn.metrics`` with the same ``sample_weight``, ``pos_label``, ``average``
  and ``zero_division``;
- the soft metric on differentiable counts (:meth:`ConfusionMetric.soft`), the
  counts of AnyLoss's amplified probabilities (:func:`soft_confusion`);
- the loss ``1 - soft metric`` (:meth:`ConfusionMetric.loss`);
- a scorer for ``GridSearchCV`` (:meth:`ConfusionMetric.scorer`).

The defining function uses only ``+ - * /`` and ``**`` (or ``sqrt`` through
``** 0.5``), so the same code runs on numpy floats and on torch tensors.
"""

from __future__ import annotations

import difflib
import numbers
import warnings

import numpy as np
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
    "SOFT_EPS",
]

#: Added to each soft count so that no denominator of a metric is exactly zero
#: (a batch without positives, say). Negligible against counts of whole samples.
SOFT_EPS = 1e-9

_AVERAGES = ("binary", "micro", "macro", "weighted", None)


class ConfusionMetric:
    """A metric of the binary confusion counts, with its exact and soft forms.

    Parameters
    ----------
    fn : callable
        ``fn(tp, fp, fn, tn) -> value``, written with arithmetic operators only,
        so that it works on numpy floats (exact form) and torch tensors (soft).
    name : str
        Short name, e.g. ``"f1"``.
    higher_is_better : bool, default=True
        Whether larger values are better (the loss is then ``1 - metric``;
        otherwise the loss is the metric itself).
    undefined : {"zero_division"} or float, default="zero_division"
        What the exact metric is when ``fn`` divides by zero: the
        ``zero_division`` argument of :meth:`score` (as precision, recall,
        F-beta and Jaccard in scikit-learn), or a fixed value (0.0 for MCC, as
        ``sklearn.metrics.matthews_corrcoef``).
    exact : callable, default=None
        Optional ``exact(tp, fp, fn, tn, zero_division) -> float`` overriding
        the exact form where scikit-learn's edge cases differ from ``fn``
        (balanced accuracy averages only the classes present in ``y_true``).

    Examples
    --------
    >>> from sklearn_losses.metrics import make_confusion_metric
    >>> informedness = make_confusion_metric(
    ...     lambda tp, fp, fn, tn: tp / (tp + fn) + tn / (tn + fp) - 1,
    ...     name="informedness",
    ... )
    >>> informedness.score([0, 1, 1, 0], [0, 1, 0, 0])
    0.5
    """

    # ``(u, v)`` for the built-in metrics that are a ratio of two linear forms
    # of the counts, ``u . C / v . C`` with ``C = (tp, fp, fn, tn)``: AnyLoss
    # then evaluates the same function with fewer operations. None otherwise.
    _ratio = None

    def __init__(
        self, fn, name, *, higher_is_better=True, undefined="zero_division", exact=None
    ):
        if not callable(fn):
            raise TypeError(f"fn must be callable fn(tp, fp, fn, tn); got {fn!r}.")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; got {name!r}.")
        if undefined != "zero_division" and not isinstance(undefined, numbers.Real):
            raise ValueError(
                f"undefined must be 'zero_division' or a number; got {undefined!r}."
            )
        self.fn = fn
        self.name = name
        self.higher_is_better = bool(higher_is_better)
        self.undefined = undefined
        self.exact = exact

    def __repr__(self):
        return f"ConfusionMetric({self.name!r})"

    # -- exact ------------------------------------------------------------------
    def from_counts(self, tp, fp, fn, tn, *, zero_division="warn"):
        """The exact metric from (weighted) confusion counts."""
        _check_zero_division(zero_division)
        tp, fp, fn, tn = (np.float64(v) for v in (tp, fp, fn, tn))
        if self.exact is not None:
            return float(self.exact(tp, fp, fn, tn, zero_division))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = np.float64(self.fn(tp, fp, fn, tn))
        if np.isfinite(value):
            return float(value)
        if self.undefined != "zero_division":
            return float(self.undefined)
        if zero_division == "warn":
            warnings.warn(
                f"{self.name} is ill-defined (a division by zero) and is set to 0.0. "
                "Use zero_division to control this behavior.",
                UndefinedMetricWarning,
                stacklevel=3,
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
            True and predicted labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Each sample counts with its weight in the confusion counts.
        pos_label : int, float, bool or str, default=1
            The positive class for ``average="binary"``.
        average : {"binary", "micro", "macro", "weighted"} or None, default="binary"
            ``"binary"``: the counts of ``pos_label``. Otherwise one-vs-rest
            counts per class, summed (micro), averaged (macro), averaged with
            support weights (weighted), or returned per class (None).
        labels : array-like, default=None
            Classes to include when ``average != "binary"``.
        zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
            The value when the metric divides by zero ("warn": 0.0 and a warning).

        Returns
        -------
        float or ndarray
        """
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

    # -- soft -----------------------------------------------------------------
    def soft(self, tp, fp, fn, tn):
        """The metric on soft (differentiable) counts, each shifted by
        :data:`SOFT_EPS` so that no denominator is zero."""
        eps = SOFT_EPS
        return self.fn(tp + eps, fp + eps, fn + eps, tn + eps)

    # -- derived objects --------------------------------------------------------
    def loss(self, **params):
        """The AnyLoss module that trains on this metric (``1 - soft metric``)."""
        from ..losses.anyloss import AnyLoss

        return AnyLoss(metric=self, **params)

    def scorer(self, **kwargs):
        """A scikit-learn scorer (``make_scorer`` on :meth:`score`, from ``predict``).

        ``kwargs`` (``pos_label``, ``average``, ``zero_division``) go to
        :meth:`score`. Weighted scoring under metadata routing:
        ``scorer.set_score_request(sample_weight=True)``.
        """
        return make_scorer(
            self.score,
            response_method="predict",
            greater_is_better=self.higher_is_better,
            **kwargs,
        )


def _ovr_counts(y_true, y_pred, labels, sample_weight):
    """One-vs-rest weighted counts per label, each a direct sum of weights.

    (Computing TN as ``total - tp - fp - fn`` leaves float residues of ~1e-16
    with fractional weights, which would hide a zero denominator.)
    """
    try:
        w = (
            np.ones(len(y_true))
            if sample_weight is None
            else np.asarray(sample_weight, dtype=np.float64)
        )
    except (TypeError, ValueError) as exc:
        raise TypeError(f"sample_weight must be numeric; {exc}.") from None
    if w.shape != (len(y_true),):
        raise ValueError(
            f"sample_weight must have shape ({len(y_true)},); got {w.shape}."
        )
    if not np.all(np.isfinite(w) & (w >= 0)):
        raise ValueError("sample_weight must be finite and >= 0 (no NaN).")
    labels = np.asarray(labels)
    t = y_true[:, None] == labels[None, :]
    p = y_pred[:, None] == labels[None, :]
    return w @ (t & p), w @ (~t & p), w @ (t & ~p), w @ (~t & ~p)


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


def make_confusion_metric(fn, name, *, higher_is_better=True):
    """Turn ``fn(tp, fp, fn, tn)`` into a :class:`ConfusionMetric`.

    The exact form, the soft form, the AnyLoss loss and a scorer all follow.
    Write ``fn`` with arithmetic operators only (``x ** 0.5`` for a square
    root). For a model that must be pickled (``n_jobs`` with the loky backend
    uses cloudpickle, so lambdas work there), define ``fn`` at module level.

    Examples
    --------
    >>> from sklearn_losses.metrics import make_confusion_metric
    >>> fowlkes_mallows = make_confusion_metric(
    ...     lambda tp, fp, fn, tn: tp / ((tp + fp) * (tp + fn)) ** 0.5, name="fm")
    >>> round(fowlkes_mallows.score([1, 1, 0, 0], [1, 0, 1, 0]), 3)
    0.5
    """
    return ConfusionMetric(fn, name, higher_is_better=higher_is_better)


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
    w = None if sample_weight is None else sample_weight.to(probability.dtype)
    if probability.ndim == 1:
        a = torch.sigmoid(L * (probability - 0.5))
        return tuple(_linear_soft_counts(a, target, w, _IDENTITY, 0.0).unbind(0))
    # Class-major (K, n) layout: a softmax over the first dimension of a
    # contiguous tensor is much faster than one over a short last dimension.
    pt = probability.t().contiguous()
    a = torch.softmax(0.5 * L * pt, dim=0)
    return tuple(_linear_soft_counts(a, target, w, _IDENTITY, 0.0).unbind(1))


# Sample i, with weight w_i and t_i = 1 if it is of the class (0 otherwise),
# adds w_i (Q0 + D t_i) a_i + w_i (0, 0, t_i, 1 - t_i) to (TP, FP, FN, TN), so
# the counts are Q0 PRED + D TP + (0, 0, POS, TOTAL - POS) with PRED = sum w a,
# TP = sum w t a, POS = sum w t and TOTAL = sum w.
_Q0 = (0.0, 1.0, 0.0, -1.0)
_D = (1.0, -1.0, -1.0, 1.0)
_IDENTITY = ((1.0, 0.0, 0.0, 0.0), (0.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0))
_IDENTITY += ((0.0, 0.0, 0.0, 1.0),)
_COEFFICIENTS = {}


def _coefficients(rows, eps, dtype, device):
    """Tensors of ``_linear_soft_counts`` for ``V = rows``, made once per dtype
    and device: ``V Q0`` and ``V D`` (as columns and flat), ``eps V 1``,
    ``V[:, 3]`` and ``V[:, 2] - V[:, 3]``."""
    key = (rows, eps, dtype, device)
    found = _COEFFICIENTS.get(key)
    if found is None:
        with torch.inference_mode(False):  # cached: usable outside it too
            v = torch.tensor(rows, dtype=torch.float64)
            p0 = v @ torch.tensor(_Q0, dtype=torch.float64)
            pd = v @ torch.tensor(_D, dtype=torch.float64)
            found = tuple(
                t.to(dtype=dtype, device=device)
                for t in (
                    p0.unsqueeze(-1),
                    pd.unsqueeze(-1),
                    p0,
                    pd,
                    eps * v.sum(1),
                    v[:, 3],
                    v[:, 2] - v[:, 3],
                )
            )
        _COEFFICIENTS[key] = found
    return found


def _linear_soft_counts(a, target, weight, rows, eps):
    """Linear forms ``V (C + eps)`` of the soft counts ``C = (TP, FP, FN, TN)``.

    ``a`` holds the amplified probabilities: shape ``(n,)`` (of class 1, with
    ``target`` in ``{0, 1}``), or ``(K, n)`` class-major (the one-vs-rest
    counts of each class, ``target`` in ``[0, K)``). ``weight`` is None or of
    shape ``(n,)`` and ``a``'s dtype; ``rows`` is ``V``, a tuple of ``r``
    4-tuples. Returns shape ``(r,)``, or ``(K, r)`` for class-major ``a``.

    Binary counts take one matrix-vector product on the autograd path, whose
    rows for TP and FP sum non-negative terms; multiclass ones take one sum per
    class of ``a`` and of ``t a``.
    """
    p0c, pdc, p0, pd, base, vn, dv = _coefficients(rows, eps, a.dtype, a.device)
    if a.ndim == 1:
        m = torch.addcmul(p0c, pdc, target)  # (r, n): row j is V[j] . (Q0 + D t_i)
        if weight is None:
            pos = target.sum()
            base = torch.add(base, vn, alpha=a.shape[0])
        else:
            m = m * weight
            pos = target.to(a.dtype) @ weight
            base = torch.addcmul(base, vn, weight.sum())
        return torch.addmv(torch.addcmul(base, dv, pos), m, a)
    t = torch.zeros_like(a).scatter_(0, target.unsqueeze(0), 1.0)
    if weight is None:
        pred = a.sum(1)
        base = torch.add(base, vn, alpha=a.shape[1])
    else:
        t = t * weight
        pred = torch.mv(a, weight)
        base = torch.addcmul(base, vn, weight.sum())
    tp = (t * a).sum(1)
    shift = torch.addr(base, t.sum(1), dv)  # (K, r)
    return torch.addr(torch.addr(shift, pred, p0), tp, pd)


# -- the built-in metrics -------------------------------------------------------
def _accuracy(tp, fp, fn, tn):
    return (tp + tn) / (tp + fp + fn + tn)


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


def _balanced_accuracy(tp, fp, fn, tn):
    return 0.5 * (tp / (tp + fn) + tn / (tn + fp))


def _balanced_accuracy_exact(tp, fp, fn, tn, zero_division):
    # scikit-learn averages the recalls of the classes present in y_true.
    with np.errstate(divide="ignore", invalid="ignore"):
        pairs = ((tp / (tp + fn), tp + fn), (tn / (tn + fp), tn + fp))
    recalls = [recall for recall, support in pairs if support]
    return float(np.mean(recalls)) if recalls else 0.0


def _mcc(tp, fp, fn, tn):
    return (tp * tn - fp * fn) / ((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)) ** 0.5


def _jaccard(tp, fp, fn, tn):
    return tp / (tp + fp + fn)


def _informedness(tp, fp, fn, tn):
    return tp / (tp + fn) + tn / (tn + fp) - 1


ACCURACY = ConfusionMetric(_accuracy, "accuracy")
PRECISION = ConfusionMetric(_precision, "precision")
RECALL = ConfusionMetric(_recall, "recall")
SPECIFICITY = ConfusionMetric(_specificity, "specificity")
F1 = ConfusionMetric(_FBeta(1.0), "f1")
F05 = ConfusionMetric(_FBeta(0.5), "f0.5")
F2 = ConfusionMetric(_FBeta(2.0), "f2")
GMEAN = ConfusionMetric(_gmean, "gmean")
BALANCED_ACCURACY = ConfusionMetric(
    _balanced_accuracy, "balanced_accuracy", exact=_balanced_accuracy_exact
)
MCC = ConfusionMetric(_mcc, "mcc", undefined=0.0)
JACCARD = ConfusionMetric(_jaccard, "jaccard")
INFORMEDNESS = ConfusionMetric(_informedness, "informedness")

# (u, v) with fn(tp, fp, fn, tn) == u . (tp, fp, fn, tn) / v . (tp, fp, fn, tn)
ACCURACY._ratio = ((1.0, 0.0, 0.0, 1.0), (1.0, 1.0, 1.0, 1.0))
PRECISION._ratio = ((1.0, 0.0, 0.0, 0.0), (1.0, 1.0, 0.0, 0.0))
RECALL._ratio = ((1.0, 0.0, 0.0, 0.0), (1.0, 0.0, 1.0, 0.0))
SPECIFICITY._ratio = ((0.0, 0.0, 0.0, 1.0), (0.0, 1.0, 0.0, 1.0))
for _metric in (F1, F05, F2):
    _b2 = _metric.fn.beta**2
    _metric._ratio = ((1.0 + _b2, 0.0, 0.0, 0.0), (1.0 + _b2, 1.0, _b2, 0.0))
JACCARD._ratio = ((1.0, 0.0, 0.0, 0.0), (1.0, 1.0, 1.0, 0.0))
del _metric, _b2

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
