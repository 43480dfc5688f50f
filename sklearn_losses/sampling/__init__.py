"""Dataset reweighting and resampling: DatasetEquity likelihoods and weights
(:class:`DatasetEquityReweighter`, also an imbalanced-learn sampler) and a
meta-estimator that fits any estimator with them (:class:`Reweighted`).

imbalanced-learn is optional: the sampler is duck-typed (``fit_resample``) and
nothing here imports it.
"""

from ._dataset_equity import DatasetEquityReweighter, cluster_likelihood
from ._reweighted import Reweighted

__all__ = ["DatasetEquityReweighter", "Reweighted", "cluster_likelihood"]
