"""scikit-learn estimators whose loss is a constructor parameter."""

from ._classifier import LossClassifier
from ._distilled import DistilledClassifier
from ._embedder import LossEmbedder
from ._grids import loss_param_grid
from ._ranker import LossRanker
from ._regressor import LossRegressor

__all__ = [
    "DistilledClassifier",
    "LossClassifier",
    "LossEmbedder",
    "LossRanker",
    "LossRegressor",
    "loss_param_grid",
]
