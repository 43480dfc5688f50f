r"""Dynamic loss-based sample reweighting (Sow et al., ICLR 2025).

Each training batch reweights its samples by their current loss: the losses
are mapped to :math:`h \in [-1, 1]`, a strategy turns :math:`h` into a score
:math:`f(h)`, and a softmax with temperature :math:`r` turns the scores into
weights. The weights are computed from the loss values of the batch already
computed for the gradient (no extra forward pass) and are constants for the
gradient.
"""

from __future__ import annotations

import math
import numbers

import torch
from sklearn.base import BaseEstimator

from .._validation import Constraint, check_real, integer, real, validate_params
from ..losses._base import check_weights

__all__ = ["LossReweighting", "dynamic_weights", "STRATEGIES"]

#: Strategy names (``"upper"`` is in the authors' code, not the paper).
STRATEGIES = ("linupper", "quadratic", "extremes", "upper")

#: Floor of ``max(loss) - min(loss)`` (the reference's clamp).
SPREAD_FLOOR = 1e-6


def _check_strategy(strategy):
    if not (isinstance(strategy, str) and strategy.lower() in STRATEGIES):
        raise ValueError(
            f"reweighting strategy must be one of {list(STRATEGIES)}; got {strategy!r}."
        )
    return strategy.lower()


def _check_temperature(temperature):
    return float(check_real("temperature", temperature, low=0, closed="neither"))


def _scores(h, strategy):
    if strategy == "linupper":
        return torch.clamp(h + 1.0, max=1.0)
    if strategy == "quadratic":
        return 1.0 - h * h
    if strategy == "extremes":
        return h.abs()
    return (h + 1.0) / 2.0  # upper


@torch.no_grad()
def dynamic_weights(losses, strategy="linupper", temperature=0.4, sample_weight=None):
    r"""Per-sample multipliers of dynamic loss-based reweighting for one batch.

    With the batch's losses :math:`\ell_i` (rows with a finite loss and a
    positive ``sample_weight``),

    .. math::

        h_i = \frac{2\ell_i - \ell_{\max} - \ell_{\min}}
                   {\max(\ell_{\max} - \ell_{\min}, 10^{-6})} \in [-1, 1],
        \qquad
        m_i \propto \exp\big((f(h_i) - \max_j f(h_j)) / r\big),

    with :math:`f(h) = \min(h + 1, 1)` (``"linupper"``: easy samples
    down-weighted), :math:`1 - h^2` (``"quadratic"``: both extremes
    down-weighted), :math:`|h|` (``"extremes"``: both extremes up-weighted) or
    :math:`(h + 1)/2` (``"upper"``). The multipliers are scaled so that their
    mean under ``sample_weight`` is 1: the weighted mean
    :math:`\sum_i u_i m_i \ell_i / \sum_i u_i m_i` then equals the paper's
    :math:`\sum_i w_i \ell_i` with :math:`w = \operatorname{softmax}(f / r)`
    (uniform :math:`u`), and integer ``sample_weight`` matches repeated rows.

    Parameters
    ----------
    losses : torch.Tensor of shape (n_samples,)
        Per-sample losses of the batch (read, never differentiated).
    strategy : {"linupper", "quadratic", "extremes", "upper"}, default="linupper"
        The score :math:`f(h)`.
    temperature : float, default=0.4
        :math:`r > 0`; large values give uniform multipliers.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Weights :math:`u_i \ge 0` the multipliers will be combined with. Rows of
        weight 0 take no part in the minimum and maximum.

    Returns
    -------
    torch.Tensor of shape (n_samples,)
        Multipliers :math:`m_i \ge 0` (detached). Rows with a non-finite loss get
        0 (their loss still reaches the reduction, so a NaN is not hidden). When
        every loss is equal, or the batch has one row, all multipliers are 1;
        without any valid row they are all 0 (nothing to weight).

    References
    ----------
    .. [1] D. Sow, H. Woisetschläger, S. Bulusu, S. Wang, H.-A. Jacobsen,
       Y. Liang, "Dynamic Loss-Based Sample Reweighting for Improved Large
       Language Model Pretraining", ICLR 2025.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.sampling import dynamic_weights
    >>> losses = torch.tensor([2.0, 2.5, 3.0, 3.5, 5.0], dtype=torch.float64)
    >>> m = dynamic_weights(losses, "linupper", temperature=1.0)
    >>> m.round(decimals=4).tolist()
    [0.5113, 0.7135, 0.9958, 1.3897, 1.3897]
    >>> round(float((m * losses).sum() / m.sum()), 6)
    3.521262
    """
    strategy = _check_strategy(strategy)
    temperature = _check_temperature(temperature)
    if not isinstance(losses, torch.Tensor):
        raise TypeError(
            f"losses must be a torch.Tensor of shape (n,); got {type(losses).__name__}."
        )
    losses = losses.detach()
    if losses.ndim != 1:
        raise ValueError(
            f"losses must be one loss per sample, shape (n,); got "
            f"{tuple(losses.shape)}."
        )
    dtype = losses.dtype if losses.is_floating_point() else torch.float32
    losses = losses.to(dtype)
    valid = torch.isfinite(losses)
    if sample_weight is not None:
        if not isinstance(sample_weight, torch.Tensor):
            raise TypeError(
                "sample_weight must be None or a torch.Tensor; got "
                f"{type(sample_weight).__name__}."
            )
        if sample_weight.shape != losses.shape:
            raise ValueError(
                f"sample_weight must have shape {tuple(losses.shape)} (one weight "
                f"per loss); got {tuple(sample_weight.shape)}."
            )
        check_weights(sample_weight)  # values checked outside trusted_targets()
        sample_weight = sample_weight.detach().to(dtype)
        valid &= sample_weight > 0
    if losses.numel() == 0:
        return losses.clone()
    # Masked reductions instead of boolean indexing: no device sync per batch.
    big = torch.finfo(dtype).max
    lo = torch.where(valid, losses, big).min()
    hi = torch.where(valid, losses, -big).max()
    h = (2.0 * losses - hi - lo) / torch.clamp(hi - lo, min=SPREAD_FLOOR)
    f = torch.where(valid, _scores(torch.where(valid, h, 0.0), strategy), -torch.inf)
    top = torch.where(valid.any(), f.max(), 0.0)
    m = torch.exp((f - top) / temperature)  # 0 where not valid
    u = valid.to(dtype) if sample_weight is None else sample_weight * valid
    total = (u * m).sum()
    mean = total / u.sum().clamp_min(torch.finfo(dtype).tiny)
    # Nothing valid: the multipliers do not matter (no weight, or NaN losses).
    return torch.where(valid, m / mean.clamp_min(torch.finfo(dtype).tiny), 0.0)


class LossReweighting(BaseEstimator):
    """Dynamic loss-based reweighting of each training batch, as a parameter.

    Pass it (or only its strategy name) as ``reweighting=`` of
    :class:`~sklearn_losses.LossClassifier`. From the end of the warm-up on,
    each batch's per-sample losses give multipliers
    (:func:`dynamic_weights`) that are multiplied into the sample weights of
    that batch before the loss is reduced; the gradient treats them as
    constants. The validation loss is not reweighted.

    Parameters
    ----------
    strategy : {"linupper", "quadratic", "extremes", "upper"}, default="linupper"
        ``"linupper"`` (the paper's recommendation) down-weights the easy half
        of the batch; ``"quadratic"`` favours medium losses; ``"extremes"``
        favours both the easiest and the hardest samples; ``"upper"`` rises
        linearly with the loss.
    temperature : float, default=0.4
        :math:`r > 0` of the softmax (the paper's ``kl_reg``): small values
        concentrate the weight, large values approach uniform weights.
    warmup : float or int, default=0.1
        Uniform weights for the first training steps (batches): a float in
        ``[0, 1)`` is a fraction of the fit's steps (``max_epochs`` times the
        batches per epoch), an int ``>= 0`` a number of steps.

    Notes
    -----
    Only losses that are a weighted mean of per-sample terms can be reweighted
    (every loss with ``decomposable = True`` and no ``forward`` of its own);
    batch-level losses such as AnyLoss are refused with an error.

    References
    ----------
    .. [1] D. Sow, H. Woisetschläger, S. Bulusu, S. Wang, H.-A. Jacobsen,
       Y. Liang, "Dynamic Loss-Based Sample Reweighting for Improved Large
       Language Model Pretraining", ICLR 2025.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn_losses import LossClassifier
    >>> from sklearn_losses.sampling import LossReweighting
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> clf = LossClassifier(reweighting=LossReweighting("quadratic", temperature=1.0),
    ...                      max_epochs=5, random_state=0).fit(X, y)
    >>> clf = LossClassifier(reweighting="linupper", reweighting__warmup=0,
    ...                      max_epochs=5, random_state=0).fit(X, y)
    """

    def __init__(self, strategy="linupper", temperature=0.4, warmup=0.1):
        self.strategy = strategy
        self.temperature = temperature
        self.warmup = warmup

    _constraints = {
        "strategy": Constraint(
            lambda v: isinstance(v, str) and v.lower() in STRATEGIES,
            f"one of {list(STRATEGIES)}",
        ),
        "temperature": real(0, closed="neither"),
        "warmup": real(0, 1, closed="left") | integer(0),
    }

    def validate(self):
        """Check the parameters; return ``self``."""
        validate_params(self, self._constraints)
        return self

    def warmup_steps(self, total_steps):
        """Number of warm-up steps out of ``total_steps``."""
        if isinstance(self.warmup, numbers.Integral):
            return int(self.warmup)
        return int(math.floor(self.warmup * total_steps))

    def multipliers(self, losses, sample_weight=None):
        """:func:`dynamic_weights` with this object's strategy and temperature."""
        return dynamic_weights(
            losses, self.strategy, self.temperature, sample_weight=sample_weight
        )


def check_reweightable(loss):
    """Raise ``ValueError`` unless ``loss`` reduces per-sample terms with the
    shared weighted mean (what dynamic reweighting needs)."""
    from ..losses._base import BaseLoss

    ok = (
        isinstance(loss, BaseLoss)
        and loss.decomposable
        and type(loss).forward is BaseLoss.forward
        and type(loss).loss_terms is not BaseLoss.loss_terms
    )
    if not ok:
        name = getattr(loss, "name", None) or type(loss).__name__
        raise ValueError(
            f"reweighting needs a loss that is a mean of per-sample terms; loss "
            f"{name!r} is not (batch-level or sampled losses cannot be reweighted "
            "per sample). Use reweighting=None with this loss."
        )
    if getattr(loss, "reduction", "mean") != "mean":
        raise ValueError(
            f"reweighting needs the loss's reduction to be 'mean'; got "
            f"{loss.reduction!r}."
        )
