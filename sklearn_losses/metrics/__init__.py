"""Confusion-matrix metrics: exact (equal to sklearn.metrics), soft, loss, scorer.

Each metric is defined once as a function of (TP, FP, FN, TN); see
:class:`ConfusionMetric`.
"""

from ._confusion import (
    ACCURACY,
    BALANCED_ACCURACY,
    F05,
    F1,
    F2,
    GMEAN,
    INFORMEDNESS,
    JACCARD,
    MCC,
    PRECISION,
    RECALL,
    SOFT_EPS,
    SPECIFICITY,
    ConfusionMetric,
    get_metric,
    list_metrics,
    make_confusion_metric,
    soft_confusion,
    soft_confusion_matrix,
)

# Class-style aliases, as in ``from sklearn_losses.metrics import F1, GMean``.
Accuracy = ACCURACY
BalancedAccuracy = BALANCED_ACCURACY
GMean = GMEAN
Informedness = INFORMEDNESS
Jaccard = JACCARD
Precision = PRECISION
Recall = RECALL
Specificity = SPECIFICITY

__all__ = [
    "ACCURACY",
    "Accuracy",
    "BALANCED_ACCURACY",
    "BalancedAccuracy",
    "ConfusionMetric",
    "F05",
    "F1",
    "F2",
    "GMEAN",
    "GMean",
    "INFORMEDNESS",
    "Informedness",
    "JACCARD",
    "Jaccard",
    "MCC",
    "PRECISION",
    "Precision",
    "RECALL",
    "Recall",
    "SOFT_EPS",
    "SPECIFICITY",
    "Specificity",
    "get_metric",
    "list_metrics",
    "make_confusion_metric",
    "soft_confusion",
    "soft_confusion_matrix",
]
