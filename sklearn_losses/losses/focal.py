"""Focal loss (Lin et al., 2017) for binary, multiclass and multi-label targets."""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_real
from ._base import BaseLoss, split_logits
from ._registry import register_loss
from ._softmax import cross_entropy
from .multilabel import split_multilabel

__all__ = ["FocalLoss"]


@register_loss
class FocalLoss(BaseLoss):
    r"""Focal loss: cross-entropy down-weighted on well-classified samples.

    .. math::

        \ell(z, y) = -\alpha_y\,(1 - p_y)^{\gamma} \log p_y

    where :math:`p_y` is the predicted probability of the true class
    (:math:`\sigma(z)` or :math:`1 - \sigma(z)` for one binary logit, the softmax
    for ``K`` logits). :math:`\gamma = 0` and no :math:`\alpha` give
    cross-entropy. For one logit, with :math:`u = (1 - 2y) z` (minus the margin),
    :math:`-\log p_y = \operatorname{softplus}(u)` and the modulating factor is
    computed in log space, :math:`(1-p_y)^\gamma = \exp(\gamma \log\sigma(u))`
    with :math:`\log\sigma(u) = u - \operatorname{softplus}(u)`; for ``K``
    logits it is :math:`(-\operatorname{expm1}(\log p_y))^\gamma`. Both stay
    finite with finite gradients at extreme logits.

    Input contract: as :class:`CrossEntropyLoss` — ``(n,)``/``(n, 1)`` binary
    log-odds or ``(n, K)`` logits; ``target`` class indices of shape ``(n,)``.
    Multi-label: ``(n, L)`` logits and a 0/1 ``target`` of the same shape; the
    binary form applies to each label and a row's term is the mean over its
    labels.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter :math:`\gamma \ge 0` (the paper's default).
    alpha : None, float or sequence of float, default=None
        Class balance factor. ``None``: :math:`\alpha_y = 1`. A float
        :math:`a \in [0, 1]` (binary only, as in the paper): :math:`\alpha = a`
        for class 1 and :math:`1 - a` for class 0. A sequence of ``K``
        non-negative floats: one factor per class. The paper's detection setting
        used 0.25; for tabular data prefer ``class_weight`` on the estimator,
        which acts through sample weights. Multi-label: a float only (the
        factor of the positives of every label).
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Notes
    -----
    The weighted mean divides by the sum of sample weights, not of
    :math:`\alpha_y`, as in the paper (which normalises by the number of
    positive anchors in detection).

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He, P. Dollár, "Focal Loss for
       Dense Object Detection", ICCV 2017. https://arxiv.org/abs/1708.02002

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import FocalLoss
    >>> loss = FocalLoss(gamma=2.0)
    >>> round(loss(torch.tensor([0.0]), torch.tensor([1])).item(), 4)  # 0.25 * log 2
    0.1733
    """

    name = "focal"
    key_parameter = "gamma"
    default_grid = {"gamma": [1.0, 2.0]}
    equivalences = (({"gamma": 0.0}, "cross_entropy", {}),)
    aliases = ("focal_loss",)
    tasks = frozenset({"binary", "multiclass", "multilabel"})

    def __init__(self, *, gamma=2.0, alpha=None, reduction="mean"):
        super().__init__(reduction=reduction)
        check_real("gamma", gamma, low=0)
        self.gamma = gamma
        self.alpha = alpha
        self.register_buffer("_alpha", self._check_alpha(alpha), persistent=False)

    @staticmethod
    def _check_alpha(alpha):
        if alpha is None:
            return None
        if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
            if not 0.0 <= alpha <= 1.0:
                raise ValueError(f"alpha as a float must lie in [0, 1], got {alpha!r}.")
            return torch.tensor([1.0 - alpha, float(alpha)], dtype=torch.float64)
        try:
            values = np.asarray(alpha, dtype=float)
        except (TypeError, ValueError):
            values = None
        if values is None or values.ndim != 1 or values.size < 2:
            raise ValueError(
                "alpha must be None, a float in [0, 1] or a sequence of one "
                f"non-negative factor per class; got {alpha!r}."
            )
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"alpha factors must be finite and >= 0, got {alpha!r}.")
        return torch.as_tensor(values, dtype=torch.float64)

    def loss_terms(self, input, target):
        if isinstance(target, torch.Tensor) and target.ndim == 2:
            return self._multilabel_terms(input, target)
        z, y, binary = split_logits(input, target)
        gamma = float(self.gamma)
        if binary:
            ce, factor = _sigmoid_focal(z, y.to(z.dtype), gamma)
            n_classes = 2
        else:
            ce = cross_entropy(z, y)  # -log p_y
            one_minus_p = -torch.expm1(-ce)
            if gamma < 1:  # the power's gradient is infinite at 0
                one_minus_p = one_minus_p.clamp_min(torch.finfo(z.dtype).tiny)
            factor = one_minus_p**gamma
            n_classes = z.shape[1]
        terms = factor * ce
        alpha = self._alpha
        if alpha is not None:
            if alpha.numel() != n_classes:
                raise ValueError(
                    f"alpha holds {alpha.numel()} factors but the input has "
                    f"{n_classes} classes."
                )
            terms = alpha.to(z.dtype)[y] * terms
        return terms

    def _multilabel_terms(self, input, target):
        z, y, _ = split_multilabel(input, target)
        ce, factor = _sigmoid_focal(z, y, float(self.gamma))
        terms = factor * ce
        alpha = self._alpha
        if alpha is not None:
            if not isinstance(self.alpha, numbers.Real):
                raise ValueError(
                    "alpha for a multi-label target must be None or a float in "
                    f"[0, 1] (the factor of the positives); got {self.alpha!r}."
                )
            alpha = alpha.to(z.dtype)
            terms = (alpha[0] + (alpha[1] - alpha[0]) * y) * terms
        return terms.mean(dim=1)


def _sigmoid_focal(z, y, gamma):
    """``(-log p_y, (1 - p_y)^gamma)`` of logits ``z`` and 0/1 targets ``y``
    (same shape, ``z``'s dtype), computed in log space."""
    u = (1 - 2 * y) * z  # minus the margin
    # -log p_y; softplus is linear past its threshold, exact to the
    # dtype's rounding from 20 in float32 and from 40 in float64
    threshold = 40.0 if z.dtype == torch.float64 else 20.0
    ce = F.softplus(u, threshold=threshold)
    # (1 - p_y)^gamma = exp(gamma log sigmoid(u))
    return ce, torch.exp(gamma * (u - ce))
