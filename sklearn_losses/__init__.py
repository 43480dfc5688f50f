"""sklearn_losses: loss functions of recent papers as scikit-learn estimators.

Each loss is a constructor parameter of a skorch-powered estimator, so a grid
search can compare losses the way it compares ``C``::

    from sklearn_losses import LossClassifier
    LossClassifier(loss="focal", loss__gamma=2.0).fit(X, y, sample_weight=w)

over ranking losses with query ids (``LossRanker(loss="lambda").fit(X, y,
qid=qid)``) and over metric-learning losses of an embedding
(``LossEmbedder(loss="multi_similarity").fit(X, y).transform(X)``).
"""

from .compare import compare_losses
from .estimators import (
    DistilledClassifier,
    ImplicitFeedbackRecommender,
    LossClassifier,
    LossEmbedder,
    LossRanker,
    LossRegressor,
    MultiLabelLossClassifier,
    SharedVarianceGaussianNB,
    dis_vs_gen_learning_curve,
    loss_param_grid,
)
from .exceptions import DivergenceWarning, TrainingDivergedError
from .losses import get_loss, list_losses
from .preprocessing import RobustScaleSmoothClip
from .sampling import (
    BatchPlan,
    ClassShareBatches,
    DatasetEquityReweighter,
    GroupBatches,
    LossReweighting,
    MPerClassBatches,
    RandomBatches,
    Reweighted,
    StratifiedBatches,
)

__version__ = "0.1.0"

__all__ = [
    "BatchPlan",
    "ClassShareBatches",
    "DatasetEquityReweighter",
    "DistilledClassifier",
    "DivergenceWarning",
    "ImplicitFeedbackRecommender",
    "GroupBatches",
    "LossClassifier",
    "LossEmbedder",
    "LossRanker",
    "LossRegressor",
    "LossReweighting",
    "MPerClassBatches",
    "MultiLabelLossClassifier",
    "RandomBatches",
    "Reweighted",
    "RobustScaleSmoothClip",
    "SharedVarianceGaussianNB",
    "StratifiedBatches",
    "TrainingDivergedError",
    "__version__",
    "compare_losses",
    "dis_vs_gen_learning_curve",
    "get_loss",
    "list_losses",
    "loss_param_grid",
]
