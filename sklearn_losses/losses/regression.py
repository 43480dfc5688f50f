"""Regression losses: squared error, absolute error, Huber and quantile (pinball).

Each takes predictions and targets of the same shape ``(n,)`` or ``(n, ...)``
(several outputs per sample) and gives one term per sample, the mean over that
sample's outputs, reduced by the shared
:func:`~sklearn_losses.losses.weighted_reduce`.
"""

from __future__ import annotations

import torch

from .._validation import check_real
from ._base import _TRUSTED_TARGETS, BaseLoss
from ._registry import register_loss

__all__ = ["HuberLoss", "L1Loss", "MSELoss", "QuantileLoss"]


def _residuals(input, target):
    """``target - input`` after checking the input contract of the family."""
    if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
        kind = getattr(input, "dtype", type(input).__name__)
        raise TypeError(f"input must be a floating-point torch.Tensor; got {kind}.")
    if not (isinstance(target, torch.Tensor) and target.is_floating_point()):
        kind = getattr(target, "dtype", type(target).__name__)
        raise TypeError(f"target must be a floating-point torch.Tensor; got {kind}.")
    if input.ndim == 0 or input.shape != target.shape:
        n = input.shape[0] if input.ndim else -1
        if {tuple(input.shape), tuple(target.shape)} == {(n,), (n, 1)}:
            # one output per sample, as a column on one side
            input, target = input.reshape(-1), target.reshape(-1)
        else:
            raise ValueError(
                "input and target must have the same shape (n,) or (n, ...); got "
                f"{tuple(input.shape)} and {tuple(target.shape)}."
            )
    if not _TRUSTED_TARGETS.get():
        for name, value in (("input", input), ("target", target)):
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} must be finite (no NaN or inf).")
    return target.to(input.dtype) - input


def _per_sample(terms):
    """One term per sample: the mean over its outputs."""
    return terms.reshape(terms.shape[0], -1).mean(1) if terms.ndim > 1 else terms


def _check_positive(name, value, upper=None):
    check_real(name, value, low=0, high=upper, closed="neither")


@register_loss
class MSELoss(BaseLoss):
    r"""Squared error.

    .. math:: \ell(f, y) = (y - f)^2

    averaged over a sample's outputs. Input contract: predictions and float
    targets of the same shape ``(n,)`` or ``(n, ...)``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import MSELoss
    >>> MSELoss()(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0])).item()
    2.5
    """

    name = "mse"
    aliases = ("squared_error", "l2")
    tasks = frozenset({"regression"})

    def loss_terms(self, input, target):
        return _per_sample(_residuals(input, target).square())


@register_loss
class L1Loss(BaseLoss):
    r"""Absolute error.

    .. math:: \ell(f, y) = |y - f|

    averaged over a sample's outputs; its minimiser is the conditional median.
    Input contract as :class:`MSELoss`.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import L1Loss
    >>> L1Loss()(torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0])).item()
    1.5
    """

    name = "l1"
    aliases = ("absolute_error", "mae_regression")
    tasks = frozenset({"regression"})

    def loss_terms(self, input, target):
        return _per_sample(_residuals(input, target).abs())


@register_loss
class HuberLoss(BaseLoss):
    r"""Huber loss: squared near zero, linear in the tails.

    .. math::

        \ell(f, y) = \begin{cases} \tfrac12 r^2 & |r| \le \delta \\
        \delta\,(|r| - \tfrac12 \delta) & |r| > \delta \end{cases},\qquad r = y - f

    averaged over a sample's outputs (``torch.nn.HuberLoss``'s definition).
    The estimators standardise the target, so ``delta`` is in units of its
    standard deviation there. Input contract as :class:`MSELoss`.

    Parameters
    ----------
    delta : float, default=1.0
        Where the loss turns from quadratic to linear, ``> 0``.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] P. J. Huber, "Robust Estimation of a Location Parameter", Annals of
       Mathematical Statistics 35(1), 1964.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import HuberLoss
    >>> HuberLoss(delta=1.0)(torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0])).item()
    1.3125
    """

    name = "huber"
    tasks = frozenset({"regression"})
    key_parameter = "delta"
    default_grid = {"delta": [0.5, 1.35]}

    def __init__(self, *, delta=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        _check_positive("delta", delta)
        self.delta = delta

    def loss_terms(self, input, target):
        r = _residuals(input, target).abs()
        d = float(self.delta)
        return _per_sample(torch.where(r <= d, 0.5 * r**2, d * (r - 0.5 * d)))


@register_loss
class QuantileLoss(BaseLoss):
    r"""Quantile (pinball) loss of level :math:`\alpha`.

    .. math::

        \ell(f, y) = \max\bigl(\alpha\, r,\ (\alpha - 1)\, r\bigr),\qquad r = y - f

    averaged over a sample's outputs; its minimiser is the conditional
    :math:`\alpha`-quantile (``alpha=0.5`` is half the absolute error). Equal
    to ``sklearn.metrics.mean_pinball_loss``. Input contract as
    :class:`MSELoss`.

    Parameters
    ----------
    alpha : float, default=0.5
        The quantile level, in ``(0, 1)``.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] R. Koenker, G. Bassett, "Regression Quantiles", Econometrica 46(1),
       1978.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import QuantileLoss
    >>> loss = QuantileLoss(alpha=0.9)
    >>> round(loss(torch.tensor([0.0, 0.0]), torch.tensor([1.0, -1.0])).item(), 4)
    0.5
    """

    name = "quantile"
    aliases = ("pinball",)
    tasks = frozenset({"regression"})
    key_parameter = "alpha"
    default_grid = {"alpha": [0.5]}

    def __init__(self, *, alpha=0.5, reduction="mean"):
        super().__init__(reduction=reduction)
        _check_positive("alpha", alpha, upper=1)
        self.alpha = alpha

    def loss_terms(self, input, target):
        r = _residuals(input, target)
        a = float(self.alpha)
        return _per_sample(torch.maximum(a * r, (a - 1.0) * r))
