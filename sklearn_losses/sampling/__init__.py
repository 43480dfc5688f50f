"""Reweighting and resampling.

- :class:`DatasetEquityReweighter`: DatasetEquity likelihoods and weights, and an
  imbalanced-learn sampler drawing rows by weight;
- :class:`Reweighted`: fit any estimator with a reweighter's weights;
- :class:`LossReweighting` and :func:`dynamic_weights`: dynamic loss-based
  reweighting of each training batch (``LossClassifier(reweighting=...)``).

Batch samplers with fixed class shares are the ``batch_sampler`` parameter of
the estimators.
"""

from ._dataset_equity import DatasetEquityReweighter, cluster_likelihood
from ._dynamic import STRATEGIES, LossReweighting, dynamic_weights
from ._reweighted import Reweighted

__all__ = [
    "DatasetEquityReweighter",
    "LossReweighting",
    "Reweighted",
    "STRATEGIES",
    "cluster_likelihood",
    "dynamic_weights",
]
