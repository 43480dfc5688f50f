"""Z-loss (de Brébisson & Vincent, 2016) for multiclass classification, K >= 3."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validation import is_real
from ._base import BaseLoss, split_logits
from ._registry import register_loss

__all__ = ["ZLoss"]

#: Added to the variance of the logits before the square root, so that equal
#: logits (a network at zero initialisation) give sigma = 1e-6, not 0.
_VAR_EPS = 1e-12
#: softplus(x, beta) switches to x for beta * x above this; e^-40 is below the
#: float64 resolution of the result.
_SOFTPLUS_THRESHOLD = 40.0


@register_loss
class ZLoss(BaseLoss):
    r"""Z-loss: a softplus on the standardized logit of the true class.

    .. math::

        \mu = \frac1K \sum_k o_k,\qquad
        \sigma = \sqrt{\frac1K \sum_k (o_k - \mu)^2 + 10^{-12}},\qquad
        z_k = \frac{o_k - \mu}{\sigma}

    .. math::

        \ell(o, c) = \frac1a \log\bigl(1 + e^{a (b - z_c)}\bigr)
        = \operatorname{softplus}_a(b - z_c)

    The standardized score :math:`z_c` lies in :math:`[-\sqrt{K-1}, \sqrt{K-1}]`;
    :math:`a` sets the sharpness of the softplus and :math:`b` its location in
    standardized units. Samples with :math:`z_c \gg b` stop contributing, which
    lets the loss trade top-1 accuracy for top-k. The loss is invariant to
    :math:`o \to \alpha o + \beta` for :math:`\alpha > 0` (up to the
    :math:`10^{-12}` guard, which keeps :math:`\sigma > 0` when all logits are
    equal, as at zero initialisation). It is computed as
    ``F.softplus(b - z_c, beta=a)``, finite for any finite logits.

    Input contract: ``input`` of shape ``(n, K)`` with ``K >= 3`` logits;
    ``target`` of shape ``(n,)`` with class indices in ``{0, ..., K-1}``. One
    logit per sample or ``K = 2`` raise ``ValueError``: with two logits the
    standardized scores are always :math:`(\pm 1, \mp 1)`, so the loss takes two
    values and its gradient is zero almost everywhere.

    Parameters
    ----------
    a : float, default=1.0
        Sharpness :math:`a > 0`.
    b : float or None, default=None
        Location :math:`b` (finite). ``None`` uses :math:`\sqrt{K-1}`, the largest
        value :math:`z_c` can take, computed from the input's ``K``. The paper
        tunes :math:`(a, b)` per task by hyperparameter search and its chosen
        values could not be found, so ``a=1``, ``b=None`` is this library's
        choice. A reasonable grid is :math:`a \in \{0.1, 0.3, 1, 3\}` and
        :math:`b \in \{0.25, 0.5, 1\} \cdot \sqrt{K-1}`.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`; a sample weight scales
        the sample's term.

    Notes
    -----
    The Z-loss has no probabilistic interpretation: the predicted class is
    :math:`\arg\max_k o_k`, but ``predict_proba`` of an estimator trained with it
    is the softmax of the raw logits, a monotone score that is **not
    calibrated**. Wrap the estimator in
    :class:`~sklearn.calibration.CalibratedClassifierCV` when probabilities are
    needed.

    The loss depends on the logits only through :math:`\sum_k o_k`,
    :math:`\sum_k o_k^2` and :math:`o_c` (the paper's "spherical family"), which
    allows an exact update independent of :math:`K` for huge output layers; for
    tabular data it is computed directly.

    References
    ----------
    .. [1] A. de Brébisson, P. Vincent, "The Z-loss: a shift and scale invariant
       classification loss belonging to the Spherical Family", 2016.
       https://arxiv.org/abs/1604.08859

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.zloss import ZLoss
    >>> o = torch.tensor([[2.0, 1.0, 0.1, -1.0]])
    >>> round(ZLoss(a=1.0, b=1.0)(o, torch.tensor([0])).item(), 6)
    0.541006
    """

    name = "zloss"
    aliases = ("z_loss",)
    tasks = frozenset({"multiclass"})
    key_parameter = "a"
    task_hint = (
        "The Z-loss needs at least 3 classes: with 2 logits the standardized "
        "scores are always +1 and -1, so its gradient vanishes."
    )

    def __init__(self, *, a=1.0, b=None, reduction="mean"):
        super().__init__(reduction=reduction)
        if not is_real(a) or a <= 0:
            raise ValueError(f"a must be a finite float > 0, got {a!r}.")
        if b is not None and not is_real(b):
            raise ValueError(f"b must be None or a finite float, got {b!r}.")
        self.a = a
        self.b = b

    def loss_terms(self, input, target):
        o, y, binary = split_logits(input, target)
        n_classes = 2 if binary else o.shape[1]
        if n_classes < 3:
            shape = tuple(input.shape)
            raise ValueError(
                f"ZLoss needs (n_samples, K) logits with K >= 3; got shape {shape}. "
                "With 2 logits the standardized scores are always +1 and -1, so "
                "the gradient vanishes; use another loss for binary targets."
            )
        b = math.sqrt(n_classes - 1) if self.b is None else float(self.b)
        centered = o - o.mean(dim=1, keepdim=True)
        # Centred twice: this removes the rounding error of the first mean, so
        # equal logits give z = 0 at any magnitude.
        centered = centered - centered.mean(dim=1, keepdim=True)
        sigma = torch.sqrt(centered.square().mean(dim=1) + _VAR_EPS)
        z_c = centered.gather(1, y.unsqueeze(1)).squeeze(1) / sigma
        return F.softplus(b - z_c, beta=float(self.a), threshold=_SOFTPLUS_THRESHOLD)
