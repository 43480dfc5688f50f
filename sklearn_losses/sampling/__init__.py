"""Reweighting and resampling.

- :class:`DatasetEquityReweighter`: DatasetEquity likelihoods and weights, and an
  imbalanced-learn sampler drawing rows by weight;
- :class:`Reweighted`: fit any estimator with a reweighter's weights;
- :class:`LossReweighting` and :func:`dynamic_weights`: dynamic loss-based
  reweighting of each training batch (``LossClassifier(reweighting=...)``);
- batch plans, the estimators' ``batch_sampler``: the index batches of each
  training epoch (:class:`RandomBatches`, :class:`StratifiedBatches`,
  :class:`ClassShareBatches`, :class:`GroupBatches`, :class:`MPerClassBatches`,
  or your own :class:`BatchPlan`);
- :class:`InteractionSampler` and :func:`personal_loss_probabilities`: BPR
  training examples of implicit feedback and PLD's personal-loss resampling
  (``ImplicitFeedbackRecommender(sampler="pld")``).
"""

from ._batches import (
    BatchPlan,
    ClassShareBatches,
    GroupBatches,
    MPerClassBatches,
    RandomBatches,
    StratifiedBatches,
)
from ._dataset_equity import DatasetEquityReweighter, cluster_likelihood
from ._dynamic import STRATEGIES, LossReweighting, dynamic_weights
from ._pld import InteractionSampler, personal_loss_probabilities
from ._reweighted import Reweighted

__all__ = [
    "BatchPlan",
    "ClassShareBatches",
    "DatasetEquityReweighter",
    "GroupBatches",
    "InteractionSampler",
    "LossReweighting",
    "MPerClassBatches",
    "RandomBatches",
    "Reweighted",
    "STRATEGIES",
    "StratifiedBatches",
    "cluster_likelihood",
    "dynamic_weights",
    "personal_loss_probabilities",
]
