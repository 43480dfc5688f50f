"""Metrics of the package, the lowest layer.

Confusion-matrix metrics: exact (equal to sklearn.metrics), soft, loss and
scorer, each defined once as a function of (TP, FP, FN, TN); see
:class:`ConfusionMetric`. Ranking metrics over query ids (NDCG, MAP, MRR,
Kendall's tau, pairwise accuracy) and scorers that pass ``qid`` to ``predict``
(:class:`GroupedRankingScorer`). Embedding metrics (Recall@k, MAP@R,
R-precision, k-NN accuracy, uniformity, tolerance, utilization, the ICNN score)
and scorers on a transformer's output (:class:`EmbeddingScorer`).
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
from ._embedding import (
    EmbeddingScorer,
    UtilizationScorer,
    icnn_scorer,
    knn_accuracy,
    knn_accuracy_scorer,
    make_embedding_scorer,
    map_at_r,
    map_at_r_scorer,
    r_precision,
    recall_at_1_scorer,
    recall_at_k,
    tolerance,
    tolerance_scorer,
    uniformity,
    uniformity_scorer,
    utilization,
)
from ._icnn import icnn_score
from ._multilabel import (
    MULTILABEL_AVERAGES,
    hamming_loss,
    multilabel_confusion_counts,
    multilabel_f1,
    multilabel_jaccard,
    multilabel_score,
    multilabel_scorer,
)
from ._ranking import (
    GroupedRankingScorer,
    kendall_tau_by_query,
    kendall_tau_scorer,
    map_by_query,
    map_scorer,
    mrr_by_query,
    mrr_scorer,
    ndcg_by_query,
    ndcg_scorer,
    pairwise_accuracy,
    pairwise_accuracy_scorer,
)
from ._recommend import (
    recommendation_ndcg,
    recommendation_recall,
    top_k_hit_metrics,
)
from ._topology import (
    BettiMatching,
    betti_matching,
    betti_matching_error,
    betti_number_error,
    betti_numbers,
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
    "GroupedRankingScorer",
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
    "kendall_tau_by_query",
    "kendall_tau_scorer",
    "list_metrics",
    "make_confusion_metric",
    "map_by_query",
    "map_scorer",
    "mrr_by_query",
    "mrr_scorer",
    "ndcg_by_query",
    "ndcg_scorer",
    "pairwise_accuracy",
    "pairwise_accuracy_scorer",
    "soft_confusion",
    "soft_confusion_matrix",
    "EmbeddingScorer",
    "knn_accuracy",
    "knn_accuracy_scorer",
    "make_embedding_scorer",
    "map_at_r",
    "map_at_r_scorer",
    "r_precision",
    "recall_at_1_scorer",
    "recall_at_k",
    "tolerance",
    "tolerance_scorer",
    "uniformity",
    "uniformity_scorer",
    "utilization",
    "icnn_score",
    "UtilizationScorer",
    "icnn_scorer",
    "MULTILABEL_AVERAGES",
    "hamming_loss",
    "multilabel_confusion_counts",
    "multilabel_f1",
    "multilabel_jaccard",
    "multilabel_score",
    "multilabel_scorer",
    "BettiMatching",
    "betti_matching",
    "betti_matching_error",
    "betti_number_error",
    "betti_numbers",
    "recommendation_ndcg",
    "recommendation_recall",
    "top_k_hit_metrics",
]
