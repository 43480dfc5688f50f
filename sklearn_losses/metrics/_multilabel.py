"""Multi-label metrics from per-label (or per-row) confusion counts.

A multi-label target is an indicator matrix ``(n, L)`` of 0/1 values. Each
label column is a binary problem with its own counts (TP, FP, FN, TN); any
:class:`~sklearn_losses.metrics.ConfusionMetric` (F1, Jaccard, precision, ...)
then averages as ``sklearn.metrics`` does: ``"micro"`` (the counts summed over
labels), ``"macro"`` (the mean over labels), ``"weighted"`` (weighted by each
label's support), ``"samples"`` (the counts of each row, then the mean over
rows, weighted by ``sample_weight``) or ``None`` (one value per label).
``ConfusionMetric.score`` takes indicator matrices through this module, so
``F1.score(Y, P, average="micro")`` equals ``sklearn.metrics.f1_score``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import make_scorer

from ._confusion import (
    F1,
    JACCARD,
    _check_weights,
    _check_zero_division,
    _nanaverage,
    get_metric,
)

__all__ = [
    "MULTILABEL_AVERAGES",
    "check_indicator",
    "hamming_loss",
    "multilabel_confusion_counts",
    "multilabel_f1",
    "multilabel_jaccard",
    "multilabel_score",
    "multilabel_scorer",
]

#: The ``average`` values of a multi-label metric.
MULTILABEL_AVERAGES = ("micro", "macro", "weighted", "samples", None)


def check_indicator(Y, name="y_true"):
    """``Y`` as an ``(n, L)`` int8 0/1 numpy matrix (dense, sparse or a
    DataFrame), else ``ValueError`` naming ``name``."""
    if sp.issparse(Y):
        Y = Y.toarray()
    Y = np.asarray(Y)
    if Y.ndim != 2:
        raise ValueError(
            f"{name} must be a label indicator matrix of shape (n_samples, "
            f"n_labels); got shape {Y.shape}."
        )
    if Y.dtype.kind not in "biuf" or not np.all((Y == 0) | (Y == 1)):
        raise ValueError(f"{name} must hold only 0 and 1 (a label indicator matrix).")
    return Y.astype(np.int8)


def _pair(y_true, y_pred):
    Y = check_indicator(y_true, "y_true")
    P = check_indicator(y_pred, "y_pred")
    if Y.shape != P.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape; got {Y.shape} and {P.shape}."
        )
    if Y.shape[0] == 0:
        raise ValueError("y_true and y_pred are empty; a metric needs at least 1 row.")
    return Y.astype(bool), P.astype(bool)


def multilabel_confusion_counts(
    y_true, y_pred, *, sample_weight=None, samplewise=False
):
    """Weighted (TP, FP, FN, TN) of each label (or each row).

    Parameters
    ----------
    y_true, y_pred : array-like or sparse matrix of shape (n_samples, n_labels)
        Indicator matrices.
    sample_weight : array-like of shape (n_samples,), default=None
        A row counts with its weight (per-label counts only).
    samplewise : bool, default=False
        Counts of each row over its labels (unweighted) instead of each label
        over the rows.

    Returns
    -------
    tp, fp, fn, tn : ndarray of shape (n_labels,) or (n_samples,)

    Examples
    --------
    >>> tp, fp, fn, tn = multilabel_confusion_counts([[1, 0], [1, 1]], [[1, 1], [0, 1]])
    >>> tp.tolist(), fp.tolist(), fn.tolist(), tn.tolist()
    ([1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0])
    """
    Y, P = _pair(y_true, y_pred)
    if samplewise:
        return tuple(
            m.sum(axis=1).astype(np.float64) for m in (Y & P, ~Y & P, Y & ~P, ~Y & ~P)
        )
    w = _check_weights(sample_weight, Y.shape[0])
    return w @ (Y & P), w @ (~Y & P), w @ (Y & ~P), w @ (~Y & ~P)


def multilabel_score(
    metric,
    y_true,
    y_pred,
    *,
    average="micro",
    sample_weight=None,
    labels=None,
    zero_division="warn",
):
    """A confusion-matrix metric on indicator matrices, as ``sklearn.metrics``.

    Parameters
    ----------
    metric : str or ConfusionMetric
        ``"f1"``, ``"jaccard"``, ``"precision"``, ... (a metric of the binary
        counts; accuracy, balanced accuracy and MCC are defined on the whole
        confusion matrix and have no multi-label form here).
    y_true, y_pred : array-like or sparse matrix of shape (n_samples, n_labels)
        Indicator matrices of 0/1.
    average : {"micro", "macro", "weighted", "samples"} or None, default="micro"
        See the module docstring.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    labels : array-like of int, default=None
        The label columns to include (all by default).
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The value of an ill-defined metric (a label, or a row for
        ``"samples"``, with a zero denominator).

    Returns
    -------
    float or ndarray of shape (n_labels,)

    Examples
    --------
    >>> Y = [[1, 0, 1], [0, 1, 0], [1, 1, 0]]
    >>> P = [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    >>> round(multilabel_score("f1", Y, P, average="micro"), 4)
    0.6667
    """
    metric = get_metric(metric)
    if average not in MULTILABEL_AVERAGES:
        raise ValueError(
            f"average must be one of {MULTILABEL_AVERAGES} for a multi-label target; "
            f"got {average!r}."
        )
    if metric.matrix_fn is not None:
        raise ValueError(
            f"{metric.name} is defined on the whole confusion matrix and has no "
            "multi-label form; use hamming_loss, or a metric of the binary counts "
            "(f1, jaccard, precision, recall, ...)."
        )
    _check_zero_division(zero_division)
    Y, P = _pair(y_true, y_pred)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be label column indices; got {labels!r}.")
        if labels.size and (labels.min() < 0 or labels.max() >= Y.shape[1]):
            raise ValueError(
                f"labels must be column indices in [0, {Y.shape[1] - 1}]; got "
                f"{labels.tolist()}."
            )
        Y, P = Y[:, labels], P[:, labels]
    w = _check_weights(sample_weight, Y.shape[0])
    if average == "samples":
        counts = multilabel_confusion_counts(Y, P, samplewise=True)
        values = _each(metric, counts, zero_division)
        keep = ~np.isnan(values)
        if not keep.any():
            return float("nan")
        if np.sum(w[keep]) == 0:
            return float(np.mean(values[keep]))
        return float(np.average(values[keep], weights=w[keep]))
    tp, fp, fn, tn = multilabel_confusion_counts(Y, P, sample_weight=w)
    if average == "micro":
        return metric.from_counts(
            tp.sum(), fp.sum(), fn.sum(), tn.sum(), zero_division=zero_division
        )
    values = _each(metric, (tp, fp, fn, tn), zero_division)
    if average is None:
        return values
    return _nanaverage(values, tp + fn if average == "weighted" else None)


def _each(metric, counts, zero_division):
    return np.array(
        [metric.from_counts(*c, zero_division=zero_division) for c in zip(*counts)],
        dtype=np.float64,
    )


def hamming_loss(y_true, y_pred, *, sample_weight=None):
    """The weighted fraction of wrong labels: ``(FP + FN) / (n_labels * sum w)``.

    Equal to :func:`sklearn.metrics.hamming_loss` on indicator matrices.

    Examples
    --------
    >>> hamming_loss([[1, 0, 1], [0, 1, 0]], [[1, 1, 1], [0, 1, 0]])
    0.16666666666666666
    """
    tp, fp, fn, tn = multilabel_confusion_counts(
        y_true, y_pred, sample_weight=sample_weight
    )
    total = (tp + fp + fn + tn).sum()
    return float((fp.sum() + fn.sum()) / total) if total > 0 else 0.0


def multilabel_f1(y_true, y_pred, *, average="micro", sample_weight=None, **kwargs):
    """F1 of indicator matrices (``average="micro"`` by default); equals
    :func:`sklearn.metrics.f1_score`. ``kwargs``: ``labels``,
    ``zero_division`` (see :func:`multilabel_score`).

    Examples
    --------
    >>> multilabel_f1([[1, 0], [0, 1]], [[1, 0], [1, 1]], average="macro")
    0.8333333333333333
    """
    return multilabel_score(
        F1, y_true, y_pred, average=average, sample_weight=sample_weight, **kwargs
    )


def multilabel_jaccard(
    y_true, y_pred, *, average="samples", sample_weight=None, **kwargs
):
    """Jaccard index of indicator matrices; ``average="samples"`` (the default)
    is the mean over rows of ``|y ∩ ŷ| / |y ∪ ŷ|``, the multi-label "Jaccard
    accuracy". Equals :func:`sklearn.metrics.jaccard_score`.

    Examples
    --------
    >>> multilabel_jaccard([[1, 0, 1], [0, 1, 0]], [[1, 1, 1], [0, 1, 0]])
    0.8333333333333333
    """
    return multilabel_score(
        JACCARD, y_true, y_pred, average=average, sample_weight=sample_weight, **kwargs
    )


def multilabel_scorer(metric="f1", average="micro", **kwargs):
    """A ``GridSearchCV`` scorer of a multi-label metric, from ``predict``.

    Parameters
    ----------
    metric : str or ConfusionMetric, default="f1"
        A metric of the binary counts, or ``"hamming_loss"`` (lower is
        better: the scorer returns its negative).
    average : {"micro", "macro", "weighted", "samples"}, default="micro"
    **kwargs
        ``labels``, ``zero_division``.

    Examples
    --------
    >>> scorer = multilabel_scorer("jaccard", average="samples")
    """
    if isinstance(metric, str) and metric == "hamming_loss":
        return make_scorer(hamming_loss, greater_is_better=False)
    metric = get_metric(metric)
    return make_scorer(
        functools.partial(multilabel_score, metric),
        greater_is_better=metric.higher_is_better,
        average=average,
        **kwargs,
    )
