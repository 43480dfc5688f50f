"""scikit-learn estimators whose loss is a constructor parameter."""

from ._classifier import LossClassifier
from ._distilled import DistilledClassifier
from ._embedder import LossEmbedder
from ._grids import loss_param_grid
from ._learning_curve import LearningCurveResult, dis_vs_gen_learning_curve
from ._multilabel import MultiLabelLossClassifier
from ._naive_bayes import SharedVarianceGaussianNB
from ._ranker import LossRanker
from ._recommender import ImplicitFeedbackRecommender
from ._regressor import LossRegressor

__all__ = [
    "DistilledClassifier",
    "ImplicitFeedbackRecommender",
    "LearningCurveResult",
    "LossClassifier",
    "LossEmbedder",
    "LossRanker",
    "LossRegressor",
    "MultiLabelLossClassifier",
    "SharedVarianceGaussianNB",
    "dis_vs_gen_learning_curve",
    "loss_param_grid",
]
