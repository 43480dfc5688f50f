"""DatasetEquity: cross-entropy weighted by the dataset likelihood of each sample
(Shrivastava et al., ICCV Workshops 2023)."""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_real
from ._base import _TRUSTED_TARGETS, BaseLoss, split_logits
from ._registry import register_loss
from ._softmax import log_loss

__all__ = ["DEquityWeightedLoss", "dequity_weights"]


def _check_param(name, value):
    check_real(name, value, low=0)


def dequity_weights(p, eta=1.0, gamma=5.0):
    r"""DatasetEquity weights :math:`w(p) = (\eta + (1 - p)^\gamma) / (\eta + 1)`.

    Parameters
    ----------
    p : array-like of shape (n_samples,)
        Per-sample dataset likelihoods in :math:`(0, 1]` (1 for the most common
        samples).
    eta : float, default=1.0
        :math:`\eta \ge 0`; the weights lie in :math:`[\eta / (\eta + 1), 1]`.
    gamma : float, default=5.0
        :math:`\gamma \ge 0`; 0 gives weights of 1.

    Returns
    -------
    ndarray of shape (n_samples,)

    Examples
    --------
    >>> from sklearn_losses.losses.dataset_equity import dequity_weights
    >>> dequity_weights([0.5, 1.0]).tolist()
    [0.515625, 0.5]
    """
    _check_param("eta", eta)
    _check_param("gamma", gamma)
    p = np.asarray(p, dtype=np.float64)
    if not np.all((p > 0) & (p <= 1)):  # NaN fails too
        raise ValueError("likelihood p must lie in (0, 1] (and not be NaN).")
    return (eta + (1.0 - p) ** gamma) / (eta + 1.0)


@register_loss
class DEquityWeightedLoss(BaseLoss):
    r"""DatasetEquity loss: cross-entropy weighted by each sample's rarity.

    .. math::

        w(p_i) = \frac{\eta + (1 - p_i)^{\gamma}}{\eta + 1},\qquad
        \ell_i = w(p_i)\, \mathrm{CE}(z_i, y_i)

    where :math:`p_i \in (0, 1]` is the likelihood of sample :math:`i` in the
    dataset, computed once before training and label-free (in the paper: the
    size of the sample's cluster in an embedding, divided by the size of the
    largest cluster). Rare samples (small :math:`p`) get weights close to 1,
    the most common (:math:`p = 1`) get :math:`\eta / (\eta + 1)`.

    - :math:`\gamma = 0` gives :math:`w \equiv 1`, plain cross-entropy (exactly);
      so does :math:`\eta \to \infty`.
    - :math:`\eta = 0` gives :math:`w = (1 - p)^\gamma`, the focal-loss factor
      with the model's probability replaced by the static dataset likelihood
      (hence the paper's name "generalized focal loss").

    Input contract: ``input`` of shape ``(n,)``/``(n, 1)`` (binary log-odds of
    class 1) or ``(n, K)`` logits; ``target`` class indices of shape ``(n,)``;
    the keyword ``likelihood``, a tensor of shape ``(n,)`` with values in
    :math:`(0, 1]`. The loss declares ``requires = ("likelihood",)``, so an
    estimator takes it as a ``fit`` argument: ``clf.fit(X, y, likelihood=p)``;
    it follows the validation split and the batches like ``sample_weight``.

    Parameters
    ----------
    eta : float, default=1.0
        :math:`\eta \ge 0`, the floor of the weights (README default; the
        paper's scripts also use 0.5).
    gamma : float, default=5.0
        :math:`\gamma \ge 0`, the focusing exponent (README default).
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`. The mean is
        :math:`\sum_i s_i w(p_i) \mathrm{CE}_i / \sum_i s_i` with sample weights
        :math:`s_i` (1 without): it divides by the number (or total sample
        weight) of samples, not by :math:`\sum_i w(p_i)`, so the likelihood
        weights scale the loss down, as in the reference's
        :math:`\operatorname{mean}_i(w_i \ell_i)`.

    Notes
    -----
    This is not the Generalized Focal Loss of Li et al. (2020, quality and
    distribution focal loss for detection), despite the registry name
    ``"generalized_focal"`` (alias ``"dequity_focal"``).

    The reference implementation computes one weight per batch (from its first
    sample) and, in the snapshot examined, never multiplies it into the loss;
    here each sample is weighted by its own :math:`w(p_i)`.
    :func:`dequity_weights` computes the weights with numpy.

    References
    ----------
    .. [1] S. Shrivastava, X. Zhang, S. Nagesh, A. Parchami, "DatasetEquity: Are
       All Samples Created Equal? In The Quest For Equity Within Datasets",
       ICCV Workshops 2023. https://openaccess.thecvf.com/content/ICCV2023W/OODCV/papers/Shrivastava_DatasetEquity_Are_All_Samples_Created_Equal_In_The_Quest_For_ICCVW_2023_paper.pdf
       (code: https://github.com/towardsautonomy/DatasetEquity)

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.dataset_equity import DEquityWeightedLoss
    >>> loss = DEquityWeightedLoss(eta=1.0, gamma=5.0)
    >>> z, y = torch.tensor([0.0, 0.0]), torch.tensor([1, 0])
    >>> p = torch.tensor([1.0, 0.5])  # log 2 times (0.5 + 0.515625) / 2
    >>> round(loss(z, y, likelihood=p).item(), 6)
    0.351989
    """

    name = "generalized_focal"
    key_parameter = "gamma"
    equivalences = (({"gamma": 0.0}, "cross_entropy", {}),)
    aliases = ("dequity_focal",)
    tasks = frozenset({"binary", "multiclass"})
    requires = ("likelihood",)

    def __init__(self, *, eta=1.0, gamma=5.0, reduction="mean"):
        super().__init__(reduction=reduction)
        _check_param("eta", eta)
        _check_param("gamma", gamma)
        self.eta = eta
        self.gamma = gamma

    def loss_terms(self, input, target, likelihood=None):
        z, y, binary = split_logits(input, target)
        return self._weight(likelihood, y, z) * log_loss(z, y, binary)

    def check_context(self, context):
        if context.get("likelihood") is not None:
            _check_likelihood(context["likelihood"])

    def _weight(self, likelihood, y, z):
        """:math:`w(p_i)` of the batch, in the logits' dtype and device."""
        if likelihood is None:
            raise ValueError(
                "DEquityWeightedLoss needs `likelihood`, the per-sample dataset "
                "likelihood p in (0, 1]: loss(input, target, likelihood=p), or "
                "estimator.fit(X, y, likelihood=p)."
            )
        p = torch.as_tensor(likelihood, device=z.device)
        if p.shape != y.shape:
            raise ValueError(
                f"likelihood must have shape {tuple(y.shape)} (one value per "
                f"sample), got {tuple(p.shape)}."
            )
        p = p.to(z.dtype)
        if not _TRUSTED_TARGETS.get():  # estimators check it once, at fit
            _check_likelihood(p)
        eta, gamma = float(self.eta), float(self.gamma)
        return (eta + (1.0 - p) ** gamma) / (eta + 1.0)


def _check_likelihood(p):
    """Raise unless every likelihood lies in (0, 1] (one reduction, one sync)."""
    if p.numel():
        # NaN propagates to both ends, and fails.
        low, high = torch.stack(torch.aminmax(p)).tolist()
        if not (low > 0 and high <= 1):
            raise ValueError("likelihood p must lie in (0, 1] (and not be NaN).")
