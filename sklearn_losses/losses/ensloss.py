"""EnsLoss: stochastic calibrated loss ensembles (Ben Dai, ICML 2025)."""

from __future__ import annotations

import numbers

import torch

from .._validation import is_real
from ._base import BatchLoss, split_logits, weighted_reduce
from ._registry import register_loss

__all__ = ["EnsLoss", "sampled_derivatives"]


def _inverse_boxcox(noise, lam):
    """``exp(eps)`` for ``lam == 0``, else ``max(1 + lam eps, 0) ** (1 / lam)``."""
    if lam == 0:
        return torch.exp(noise)
    return torch.clamp(1.0 + lam * noise, min=0.0) ** (1.0 / lam)


def sampled_derivatives(
    margins, noise, *, boxcox_lambda=0.0, clip=1.0, tail_threshold=1.0, eps=1e-6
):
    r"""The loss derivatives EnsLoss assigns to a batch, from given normal draws.

    Steps 2 to 6 of the algorithm in :class:`EnsLoss`, with the draws
    :math:`\varepsilon` supplied (so that they can be fixed):
    magnitudes :math:`m_j = \mathrm{BC}^{-1}_\lambda(\varepsilon_j)`, the values
    :math:`\max(-m_j, -\text{clip})` sorted ascending and assigned by rank of the
    margins (the smallest margin gets the most negative value), the tail
    :math:`g_i \leftarrow g_i\, t / s_i` for :math:`s_i > t`, then
    :math:`g_i \leftarrow g_i - \text{eps}`.

    Parameters
    ----------
    margins : torch.Tensor of shape (B,)
        Margins :math:`s_i = \tilde y_i f(x_i)` (not differentiated through).
    noise : torch.Tensor of shape (B,)
        Standard normal draws :math:`\varepsilon`.
    boxcox_lambda, clip, tail_threshold, eps
        As in :class:`EnsLoss`.

    Returns
    -------
    torch.Tensor of shape (B,)
        The derivatives :math:`g`, detached, in the margins' dtype and device;
        non-decreasing in the margin and in :math:`[-\text{clip} - \text{eps},
        -\text{eps}]`.
    """
    s = margins.detach()
    if noise.shape != s.shape:
        raise ValueError(
            f"noise must have shape {tuple(s.shape)} (one draw per sample), got "
            f"{tuple(noise.shape)}."
        )
    magnitudes = _inverse_boxcox(
        noise.to(device=s.device, dtype=s.dtype), lam=float(boxcox_lambda)
    )
    ranked = torch.sort(-magnitudes).values.clamp_min(-float(clip))
    g = torch.empty_like(s)
    g[torch.argsort(s, stable=True)] = ranked
    if tail_threshold is not None:
        t = float(tail_threshold)
        g = g * (t / s.clamp_min(t))  # a factor of exactly 1 where s <= t
    return g - float(eps)


@register_loss
class EnsLoss(BatchLoss):
    r"""EnsLoss: random calibrated loss derivatives, resampled at every batch.

    Gradient descent only uses the derivative :math:`\varphi'(s)` of a margin loss
    :math:`\varphi(s)`, :math:`s = \tilde y f(x)` with :math:`\tilde y \in
    \{-1, +1\}`. A convex :math:`\varphi` is classification-calibrated iff
    :math:`\varphi'(0) < 0` (Bartlett et al., 2006), and convexity means a
    non-decreasing :math:`\varphi'`. EnsLoss does not choose :math:`\varphi`: at
    each batch it samples derivative values that satisfy both conditions on the
    batch, an ensemble over losses as dropout is over networks. For a batch of
    :math:`B` samples (the reference code's ``ensLoss``):

    1. margins :math:`s_i = \tilde y_i f(x_i)`;
    2. draws :math:`\varepsilon_j \sim \mathcal N(0, 1)` and magnitudes
       :math:`m_j = \mathrm{BC}^{-1}_\lambda(\varepsilon_j)`, the inverse Box-Cox
       transform (:math:`e^{\varepsilon}` for :math:`\lambda = 0`, log-normal);
    3. :math:`g = \max(\operatorname{sort}(-m), -\text{clip})`, ascending;
    4. :math:`g` assigned by rank: the smallest margin gets the most negative
       value, so :math:`g` is non-decreasing in :math:`s` (convexity);
    5. tail: :math:`g_i \leftarrow g_i\, t / s_i` where :math:`s_i > t`;
    6. :math:`g_i \leftarrow g_i - \text{eps}` (strictly negative);
    7. the surrogate

    .. math::

        \ell = \frac{\sum_i w_i \operatorname{sg}(g_i)\, s_i}{\sum_i w_i},
        \qquad \frac{\partial \ell}{\partial s_i} = \frac{w_i g_i}{\sum_j w_j}

    with :math:`\operatorname{sg}` the stop-gradient and :math:`w_i = 1` without
    sample weights, so that back-propagation delivers exactly the sampled
    derivatives (:math:`g_i / B` unweighted).

    Input contract: ``input`` of shape ``(n,)`` or ``(n, 1)``, the log-odds
    :math:`f(x)` of class 1; ``target`` of shape ``(n,)`` in ``{0, 1}``. The
    draws and :math:`g` live on the input's device.

    Parameters
    ----------
    boxcox_lambda : float, default=0.0
        :math:`\lambda` of the inverse Box-Cox transform; 0 gives log-normal(0, 1)
        magnitudes (the paper's default).
    lambda_resample_period : int or None, default=None
        If set, :math:`\lambda` is redrawn from :math:`U(-1, 1)` at every epoch
        that is a multiple of this period (epochs before the first multiple use
        ``boxcox_lambda``), as the reference code's ``ensLoss_per_epochs``. The
        loss then declares ``requires = ("epoch",)`` and an estimator passes the
        epoch; in direct use pass ``epoch=`` to ``forward`` (without it,
        :math:`\lambda` keeps its current value). The current value is
        :attr:`boxcox_lambda_`.
    clip : float, default=1.0
        Derivatives are clipped to :math:`[-\text{clip}, 0)` before the tail.
    tail_threshold : float or None, default=1.0
        :math:`t > 0`: derivatives of margins :math:`s_i > t` are scaled by
        :math:`t / s_i`, so they decay towards 0 for well-classified samples
        (continuous at :math:`t`, and monotonicity is kept). :math:`t = 1` is the
        reference code's :math:`g_i / s_i`. ``None``: no tail.
    eps : float, default=1e-6
        Subtracted from every derivative, so :math:`\varphi'(0) < 0`.
    random_state : None or int, default=None
        ``None``: draw from torch's global RNG (estimators seed it for each fit
        from their own ``random_state``, so fits are reproducible). An int: the
        loss's own :class:`torch.Generator`, seeded with it and created at the
        first call on the input's device; two losses with the same seed draw the
        same sequence.

    Attributes
    ----------
    boxcox_lambda_ : float
        The :math:`\lambda` in use (``boxcox_lambda`` until resampled).

    Notes
    -----
    On imbalanced tables, pair it with ``class_weight="balanced"``: the sampled
    derivatives shrink only like ``1 / margin``, so when the network gives every
    row the same negative score the many negatives outweigh the few positives and
    training can settle on the majority class (seen on satimage and page-blocks0
    in ``benchmarks/bench_overfitting.py``).

    The value of the surrogate is not a loss value: it changes with every draw,
    can be negative, and is not comparable across batches or epochs. The loss
    therefore has ``monitor = "score"``: early stopping in an estimator watches
    the validation accuracy (or ``validation_scoring``, e.g. ``"roc_auc"``),
    never the loss. Nor is the gradient the derivative of the value: the tail
    makes :math:`g_i` depend on :math:`s_i` while back-propagation delivers
    :math:`g_i` by design (the reference code's surrogate), so a finite-difference
    check of the value fails for margins above :math:`t` (it holds with
    ``tail_threshold=None`` for fixed draws). Predictions are :math:`f(x) > 0`;
    :math:`\sigma(f(x))`, which ``predict_proba`` returns, is a monotone score
    without calibration.

    Sample weights scale each sample's share of the surrogate as above; they do
    not change the draws or the ranks (a weight is not a repeated row: repeating
    rows would draw more values).

    References
    ----------
    .. [1] B. Dai, "EnsLoss: Stochastic Calibrated Loss Ensembles for Preventing
       Overfitting in Classification", ICML 2025. https://arxiv.org/abs/2409.00908
    .. [2] P. L. Bartlett, M. I. Jordan, J. D. McAuliffe, "Convexity,
       Classification, and Risk Bounds", JASA 101(473), 2006.
       https://doi.org/10.1198/016214505000000907

    Examples
    --------
    With the normal draws fixed (:meth:`loss_from_noise`):

    >>> import torch
    >>> from sklearn_losses.losses.ensloss import EnsLoss
    >>> f = torch.tensor([-1.0, 0.5, 2.0, 0.2], dtype=torch.float64)
    >>> noise = torch.tensor([0.3, -1.2, 0.8, -0.1], dtype=torch.float64)
    >>> value = EnsLoss().loss_from_noise(f, torch.ones(4, dtype=torch.long), noise)
    >>> round(value.item(), 6)
    0.011596

    In training, each call draws new derivatives:

    >>> loss = EnsLoss(random_state=0)
    >>> f = f.requires_grad_()
    >>> loss(f, torch.tensor([0, 1, 1, 0])).backward()
    >>> bool(torch.all(f.grad != 0))
    True
    """

    name = "ensloss"
    key_parameter = "boxcox_lambda"
    aliases = ("ens_loss",)
    tasks = frozenset({"binary"})
    exact_gradient = False  # the backward pass delivers the sampled derivatives
    binary_logits = 1
    task_hint = (
        "Only binary classification is supported. EnsLoss samples derivatives of "
        "a margin loss of one logit; for more classes use another loss."
    )

    def __init__(
        self,
        *,
        boxcox_lambda=0.0,
        lambda_resample_period=None,
        clip=1.0,
        tail_threshold=1.0,
        eps=1e-6,
        random_state=None,
    ):
        super().__init__()
        if not is_real(boxcox_lambda):
            raise ValueError(
                f"boxcox_lambda must be a finite float, got {boxcox_lambda!r}."
            )
        period = lambda_resample_period
        if period is not None and (
            not isinstance(period, numbers.Integral)
            or isinstance(period, bool)
            or period < 1
        ):
            raise ValueError(
                f"lambda_resample_period must be None or an int >= 1, got {period!r}."
            )
        if not is_real(clip) or clip <= 0:
            raise ValueError(f"clip must be a finite float > 0, got {clip!r}.")
        if tail_threshold is not None and (
            not is_real(tail_threshold) or tail_threshold <= 0
        ):
            raise ValueError(
                "tail_threshold must be None or a finite float > 0, got "
                f"{tail_threshold!r}."
            )
        if not is_real(eps) or eps < 0:
            raise ValueError(f"eps must be a finite float >= 0, got {eps!r}.")
        if random_state is not None and (
            not isinstance(random_state, numbers.Integral)
            or isinstance(random_state, bool)
            or random_state < 0
        ):
            raise ValueError(
                f"random_state must be None or an int >= 0, got {random_state!r}."
            )
        self.boxcox_lambda = boxcox_lambda
        self.lambda_resample_period = lambda_resample_period
        self.clip = clip
        self.tail_threshold = tail_threshold
        self.eps = eps
        self.random_state = random_state
        if period is not None:
            # Declared per instance: only a resampling loss needs the epoch.
            self.requires = ("epoch",)
        self.boxcox_lambda_ = float(boxcox_lambda)
        self._lambda_block = 0
        self._generator = None

    # -- randomness -------------------------------------------------------------
    def _rng(self, device):
        """The loss's generator on ``device`` (None: torch's global RNG)."""
        if self.random_state is None:
            return None
        gen = self._generator
        if gen is None:
            gen = torch.Generator(device=device).manual_seed(int(self.random_state))
        elif gen.device != device:
            # Moved to another device: continue with a seed drawn from the old one.
            seed = torch.randint(2**62, (1,), generator=gen, device=gen.device)
            gen = torch.Generator(device=device).manual_seed(int(seed.item()))
        self._generator = gen
        return gen

    def _update_lambda(self, epoch, device):
        period = self.lambda_resample_period
        if period is None or epoch is None:
            return self.boxcox_lambda_
        block = int(epoch) // period
        if block != self._lambda_block:
            self._lambda_block = block
            if block == 0:
                self.boxcox_lambda_ = float(self.boxcox_lambda)
            else:
                u = torch.rand(1, generator=self._rng(device), device=device)
                self.boxcox_lambda_ = 2.0 * float(u.item()) - 1.0
        return self.boxcox_lambda_

    # -- computation ------------------------------------------------------------
    @staticmethod
    def _margins(input, target):
        z, y, binary = split_logits(input, target)
        if not binary:
            raise ValueError(
                "EnsLoss takes one logit per sample (shape (n,) or (n, 1), the "
                f"log-odds of class 1); got shape {tuple(input.shape)}."
            )
        return z * (2.0 * y.to(z.dtype) - 1.0)

    def loss_from_noise(self, input, target, noise, *, sample_weight=None):
        """The surrogate for given normal draws ``noise`` of shape ``(n,)``.

        Steps 1 and 3 to 7 of the algorithm with :attr:`boxcox_lambda_`;
        :meth:`forward` draws ``noise`` and does the same.
        """
        return self._surrogate(self._margins(input, target), noise, sample_weight)

    def _surrogate(self, s, noise, sample_weight):
        g = sampled_derivatives(
            s,
            noise,
            boxcox_lambda=self.boxcox_lambda_,
            clip=self.clip,
            tail_threshold=self.tail_threshold,
            eps=self.eps,
        )
        return weighted_reduce(g * s, sample_weight, "mean")

    def forward(self, input, target, *, sample_weight=None, epoch=None):
        """Draw derivatives for the batch and return the surrogate.

        Parameters
        ----------
        input : torch.Tensor of shape (n,) or (n, 1)
            Log-odds of class 1.
        target : torch.Tensor of shape (n,)
            Labels in ``{0, 1}``.
        sample_weight : torch.Tensor of shape (n,), default=None
            Non-negative weights (see the class documentation).
        epoch : int or None, default=None
            The training epoch (from 1), used with ``lambda_resample_period``.

        Returns
        -------
        torch.Tensor
            The scalar surrogate.
        """
        s = self._margins(input, target)
        self._update_lambda(epoch, s.device)
        noise = torch.randn(
            s.shape[0], generator=self._rng(s.device), dtype=s.dtype, device=s.device
        )
        return self._surrogate(s, noise, sample_weight)
