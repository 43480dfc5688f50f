"""Label-distributionally robust losses LDR-KL and ALDR-KL (Zhu, Ying, Yang, 2023)."""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from ._base import BaseLoss, split_logits
from ._registry import register_loss
from ._softmax import softmax

__all__ = ["LDRKLLoss", "ALDRKLLoss"]

_NORMALIZATIONS = (None, "softplus_mean", "abs_mean")
#: Floor of the probabilities inside ``log`` in ALDR-KL's KL divergence.
_P_FLOOR = 1e-12


def _check_real(name, value, *, low, strict, hint=""):
    """Return ``value`` if it is a finite real ``> low`` (``>= low`` unless strict)."""
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and (value > low if strict else value >= low)
    )
    if not ok:
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"{name} must be a finite float {bound}{hint}, got {value!r}.")
    return value


def _check_normalization(value):
    if not (value is None or (isinstance(value, str) and value in _NORMALIZATIONS)):
        raise ValueError(
            f"logit_normalization must be one of {_NORMALIZATIONS}, got {value!r}."
        )
    return value


def _class_logits(input, target):
    """``(n, K)`` logits and targets; one binary logit ``z`` becomes ``(0, z)``."""
    f, y, binary = split_logits(input, target)
    if binary:
        f = torch.stack([torch.zeros_like(f), f], dim=1)
    return f, y


def _normalize(f, mode):
    """The official code's optional row-wise rescaling of the logits."""
    if mode is None:
        return f
    if mode == "softplus_mean":
        s = F.softplus(f)
        # softplus > 0; the floor only matters once every entry underflows to 0.
        return s / s.mean(dim=1, keepdim=True).clamp_min(torch.finfo(f.dtype).tiny)
    # abs_mean: an all-zero row stays zero instead of becoming 0 / 0.
    scale = f.abs().mean(dim=1, keepdim=True).clamp_min(torch.finfo(f.dtype).eps)
    return f / scale


def _ldr_kl(f, y, lam, margin):
    r"""Per-sample :math:`\lambda (\operatorname{lse}_k(d_k/\lambda) - \log K)`.

    ``lam`` is a float or a ``(n, 1)`` tensor. Computed as
    :math:`m + \lambda \operatorname{lse}_k((d_k - m)/\lambda) - \lambda \log K`
    with :math:`m = \max_k d_k` held constant (the identity holds for any
    :math:`m`), so that :math:`d/\lambda` cannot overflow for small
    :math:`\lambda`.
    """
    n_classes = f.shape[1]
    d = f - f.gather(1, y.unsqueeze(1))
    if margin:
        # The margin on every gap, then the true class's gap reset to 0: the
        # same values as adding margin * (1 - one_hot(y)), without the one-hot.
        d = (d + margin).scatter(1, y.unsqueeze(1), 0.0)
    m = d.detach().amax(dim=1, keepdim=True)
    # (d - m) / lam <= 0 with a 0 in every row: the sum of exponentials lies in
    # [1, K], so it needs no second shift (which logsumexp would make).
    lse = ((d - m) / lam).exp().sum(dim=1, keepdim=True).log()
    return (m + lam * (lse - math.log(n_classes))).squeeze(1)


@register_loss
class LDRKLLoss(BaseLoss):
    r"""Label-distributionally robust loss with a KL regulariser (LDR-KL).

    The worst case, over distributions :math:`p` on the ``K`` labels, of the
    margin-augmented score gaps, regularised by :math:`\lambda
    \operatorname{KL}(p \,\|\, \text{uniform})`; its closed form is

    .. math::

        \ell_\lambda(f, y) = \max_{p \in \Delta_K} \sum_k p_k d_k
            - \lambda \operatorname{KL}(p \,\|\, \tfrac{1}{K}\mathbf{1})
        = \lambda \log \frac{1}{K} \sum_{k=1}^{K} \exp\frac{d_k}{\lambda},
        \qquad d_k = f_k - f_y + c\, \mathbb{1}[k \neq y].

    :math:`\lambda = 1, c = 0` gives cross-entropy minus :math:`\log K`;
    :math:`\lambda \to 0` the Crammer–Singer hinge :math:`\max_k d_k`;
    :math:`\lambda \to \infty` the mean gap :math:`\frac{1}{K}\sum_k d_k`. It is
    computed as a shifted ``log-sum-exp``, finite for any finite logits and any
    :math:`\lambda > 0`.

    Input contract: ``input`` of shape ``(n, K)`` (logits, ``K >= 2``; a binary
    task uses two logits, ``binary_logits = 2``); one logit per sample
    (``(n,)`` or ``(n, 1)``, the log-odds of class 1) is accepted too and read as
    the two logits :math:`(0, z)`. ``target`` of shape ``(n,)`` holds class
    indices in ``{0, ..., K-1}``.

    Parameters
    ----------
    lam : float, default=10.0
        :math:`\lambda > 0`, the KL regularisation strength: small is hinge-like
        (fits every label, noisy ones too), large is robust to label noise. The
        official code's default is 10 (its tuning grid was {0.1, 1, 10}).
    margin : float, default=0.1
        :math:`c \ge 0`, the margin added to the gaps of the wrong classes.
    logit_normalization : {None, "softplus_mean", "abs_mean"}, default=None
        Row-wise rescaling of the logits before the loss, as in the official
        code's variants: ``"softplus_mean"`` maps :math:`f \mapsto
        \operatorname{softplus}(f) / \operatorname{mean}_k
        \operatorname{softplus}(f_k)` (its ``LDRLoss_V1``), ``"abs_mean"``
        :math:`f \mapsto f / \operatorname{mean}_k |f_k|`. ``None`` is the
        paper's formula.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`; a sample weight scales
        the sample's term.

    Notes
    -----
    The value can be negative (down to :math:`-\lambda \log K`); adding
    :math:`\lambda \log K` makes it non-negative without changing the gradient.
    The ``"abs_mean"`` scale is floored at the dtype's machine epsilon so that an
    all-zero row stays zero. With one binary logit, ``"abs_mean"`` maps
    :math:`(0, z)` to :math:`(0, 2 \operatorname{sign} z)`, which carries no
    gradient: use two logits (as the estimators do) with it.

    References
    ----------
    .. [1] D. Zhu, Y. Ying, T. Yang, "Label Distributionally Robust Losses for
       Multi-class Classification: Consistency, Robustness and Adaptivity",
       ICML 2023. https://arxiv.org/abs/2112.14869 ; code:
       https://github.com/Optimization-AI/ICML2023_LDR

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.ldr import LDRKLLoss
    >>> f, y = torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])
    >>> round(LDRKLLoss(lam=1.0, margin=0.0)(f, y).item(), 4)  # CE - log 3
    -0.6816
    >>> round(LDRKLLoss()(f, y).item(), 4)
    -0.873
    """

    name = "ldr_kl"
    aliases = ("ldr",)
    tasks = frozenset({"binary", "multiclass"})
    binary_logits = 2

    def __init__(
        self, *, lam=10.0, margin=0.1, logit_normalization=None, reduction="mean"
    ):
        super().__init__(reduction=reduction)
        self.lam = _check_real("lam", lam, low=0, strict=True)
        self.margin = _check_real("margin", margin, low=0, strict=False)
        self.logit_normalization = _check_normalization(logit_normalization)

    def loss_terms(self, input, target):
        f, y = _class_logits(input, target)
        f = _normalize(f, self.logit_normalization)
        return _ldr_kl(f, y, float(self.lam), float(self.margin))


@register_loss
class ALDRKLLoss(BaseLoss):
    r"""Adaptive LDR-KL: LDR-KL with a per-sample :math:`\lambda_i` (ALDR-KL).

    Each sample also maximises over its own :math:`\lambda_i`, pulled towards
    :math:`\lambda_0` by a quadratic; as in the official code the maximiser is
    taken in closed form from the sample's previous :math:`\lambda_i^{old}`
    (:math:`\lambda_0` at its first visit) and stored for the next visit:

    .. math::

        p_i = \operatorname{softmax}(f(x_i) / \lambda_i^{old}), \qquad
        \lambda_i = \lambda_0 \Big(1 - \frac{\operatorname{KL}(p_i \,\|\,
            \tfrac{1}{K}\mathbf{1})}{\alpha \log K}\Big)
            \in \big[\lambda_0 (1 - \tfrac{1}{\alpha}), \lambda_0\big],

        \ell_i = \lambda_i \log \frac{1}{K} \sum_k \exp\frac{d_{ik}}{\lambda_i}
            - \frac{\alpha \log K}{2 \lambda_0} (\lambda_i - \lambda_0)^2,
        \qquad d_{ik} = f_{ik} - f_{iy_i} + c\, \mathbb{1}[k \neq y_i].

    Confident (peaked) predictions get a smaller :math:`\lambda_i` (more
    hinge-like), flat ones, likely noisy, keep :math:`\lambda_i` near
    :math:`\lambda_0` (robust). :math:`\lambda_i` is updated without gradient, so
    gradients flow only through the logits.

    Input contract: as :class:`LDRKLLoss` (``(n, K)`` logits, two for a binary
    task; one logit ``z`` is read as :math:`(0, z)`), plus ``index``, a
    ``(n,)`` integer tensor with each row's position in the training data (the
    key of its :math:`\lambda_i`). Estimators pass it; ``requires = ("index",)``.

    Parameters
    ----------
    lam0 : float, default=10.0
        :math:`\lambda_0 > 0`, the initial and largest :math:`\lambda_i` (the
        official code's default, 10).
    alpha : float, default=2.0
        :math:`\alpha > 1`, the strength of the pull towards :math:`\lambda_0`;
        :math:`\lambda_i \ge \lambda_0 (1 - 1/\alpha)`.
    margin : float, default=0.1
        :math:`c \ge 0`, the margin added to the gaps of the wrong classes.
    logit_normalization : {None, "softplus_mean", "abs_mean"}, default=None
        Row-wise rescaling of the logits, as in :class:`LDRKLLoss` (the official
        ``ALDRLoss_V1`` uses ``"abs_mean"``). Applies to :math:`p_i` too.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`; a sample weight scales
        the sample's term.

    Attributes
    ----------
    lambdas : torch.Tensor of shape (n_samples,) or None
        The current :math:`\lambda_i`, a buffer (it follows the loss's device and
        is in its ``state_dict``), stored in the default float dtype.

    Notes
    -----
    State. :meth:`setup` (called by the estimators at ``fit``) allocates
    ``lambdas`` for ``n_samples`` rows, all :math:`\lambda_0`. Used directly,
    without :meth:`setup`, the buffer is allocated lazily and grows to cover the
    largest ``index`` seen, new entries at :math:`\lambda_0`.

    Training and evaluation. In training mode (``loss.train()``, the default)
    each call computes :math:`\lambda_i` as above and writes it at ``index``
    (with repeated indices in a batch, one of the rows' values is kept). In
    evaluation mode (``loss.eval()``, as the estimators set it for validation)
    nothing is written: the loss uses the stored :math:`\lambda_i`
    (:math:`\lambda_0` for rows never trained on, such as held-out validation
    rows), so the validation loss of those rows is LDR-KL at :math:`\lambda_0`
    and comparable across epochs. Predictions never need :math:`\lambda`.

    Parity with the official code: :math:`p_i` is computed from the (normalised)
    logits without the margin, and floored at ``1e-12`` inside the logarithm
    (the code adds ``1e-5`` and renormalises). :math:`\lambda_i` is clipped to
    its theoretical range against rounding. Because this :math:`\lambda_i` is
    one closed-form step from :math:`\lambda_i^{old}` rather than the exact
    maximiser, the training-mode value, as a function of the logits, has a total
    derivative slightly different from the gradient returned (which holds
    :math:`\lambda_i` fixed, as in the official code); in evaluation mode the two
    agree exactly.

    References
    ----------
    .. [1] D. Zhu, Y. Ying, T. Yang, "Label Distributionally Robust Losses for
       Multi-class Classification: Consistency, Robustness and Adaptivity",
       ICML 2023. https://arxiv.org/abs/2112.14869 ; code:
       https://github.com/Optimization-AI/ICML2023_LDR

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.ldr import ALDRKLLoss
    >>> loss = ALDRKLLoss(lam0=1.0)
    >>> loss.setup(n_samples=4, n_classes=3)
    >>> f, y = torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])
    >>> round(loss(f, y, index=torch.tensor([2])).item(), 4)
    -0.6324
    >>> [round(v, 4) for v in loss.lambdas.tolist()]
    [1.0, 1.0, 0.8854, 1.0]
    """

    name = "aldr_kl"
    aliases = ("aldr",)
    tasks = frozenset({"binary", "multiclass"})
    requires = ("index",)
    binary_logits = 2

    def __init__(
        self,
        *,
        lam0=10.0,
        alpha=2.0,
        margin=0.1,
        logit_normalization=None,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        self.lam0 = _check_real("lam0", lam0, low=0, strict=True)
        self.alpha = _check_real(
            "alpha", alpha, low=1, strict=True, hint=" (lambda_i must stay > 0)"
        )
        self.margin = _check_real("margin", margin, low=0, strict=False)
        self.logit_normalization = _check_normalization(logit_normalization)
        self.register_buffer("lambdas", None)

    # -- state ----------------------------------------------------------------
    def setup(self, *, n_samples, n_classes):
        """Allocate ``lambdas`` for ``n_samples`` rows, every entry ``lam0``.

        Called by the estimators at ``fit``; it resets any previous state. The
        buffer is created on the device of the previous one (CPU at first) and
        moves with the loss (``loss.to(device)``).
        """
        if not isinstance(n_samples, numbers.Integral) or n_samples < 0:
            raise ValueError(f"n_samples must be an int >= 0, got {n_samples!r}.")
        device = None if self.lambdas is None else self.lambdas.device
        self.lambdas = self._fresh(int(n_samples), device)

    def _fresh(self, n, device):
        return torch.full(
            (n,), float(self.lam0), dtype=torch.get_default_dtype(), device=device
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Size the buffer from the saved one, so that a loss without setup (or
        # set up for another size) can load a state_dict.
        saved = state_dict.get(prefix + "lambdas")
        if saved is not None and (
            self.lambdas is None or self.lambdas.shape != saved.shape
        ):
            device = None if self.lambdas is None else self.lambdas.device
            self.lambdas = torch.empty(saved.shape, dtype=saved.dtype, device=device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _check_index(self, index, n):
        """``index`` as int64 and its largest value (-1 when empty)."""
        if index is None:
            raise ValueError(
                "ALDRKLLoss needs index=, each row's position in the training data "
                "(the key of its lambda_i); estimators pass it."
            )
        index = torch.as_tensor(index)
        if index.dtype.is_floating_point or index.dtype.is_complex:
            raise ValueError(f"index must hold integers, got dtype {index.dtype}.")
        if index.shape != (n,):
            raise ValueError(
                f"index must have shape ({n},) (one per sample), got "
                f"{tuple(index.shape)}."
            )
        index = index.long()
        if not n:
            return index, -1
        # One reduction and one sync for the check and the buffer's size.
        low, high = torch.stack(torch.aminmax(index)).tolist()
        if low < 0:
            raise ValueError("index must hold non-negative row positions.")
        return index, high

    def _stored(self, index, high, dtype, device):
        """``lambdas[index]`` (``lam0`` beyond the buffer), without writing;
        ``high`` is the largest index."""
        buf = self.lambdas
        if buf is not None and high < buf.shape[0] and buf.device == device:
            return buf[index.to(device)].to(dtype)  # every row known: a gather
        lam = torch.full(index.shape, float(self.lam0), dtype=dtype, device=device)
        if buf is not None and buf.numel() and index.numel():
            idx = index.to(buf.device)
            known = (idx < buf.shape[0]).to(device)
            values = buf[idx.clamp_max(buf.shape[0] - 1)].to(device, dtype)
            lam = torch.where(known, values, lam)
        return lam

    def _store(self, index, high, values):
        """Write ``values`` at ``index``, growing the buffer (and moving it to the
        values' device) as needed; ``high`` is the largest index."""
        if not index.numel():
            return
        device = values.device
        needed = high + 1
        buf = self.lambdas
        if buf is None or buf.shape[0] < needed:
            grown = self._fresh(needed, device)
            if buf is not None:
                grown[: buf.shape[0]] = buf.to(device)
            buf = grown
        elif buf.device != device:
            buf = buf.to(device)
        buf[index.to(device)] = values.to(buf.dtype)
        self.lambdas = buf

    # -- computation ----------------------------------------------------------
    def loss_terms(self, input, target, index=None):
        f, y = _class_logits(input, target)
        index, high = self._check_index(index, f.shape[0])
        f = _normalize(f, self.logit_normalization)
        lam0, alpha = float(self.lam0), float(self.alpha)
        log_k = math.log(f.shape[1])
        with torch.no_grad():
            lam_old = self._stored(index, high, f.dtype, f.device)
            if self.training:
                p = softmax(f.detach() / lam_old.unsqueeze(1))
                kl = (p * torch.log(f.shape[1] * p.clamp_min(_P_FLOOR))).sum(dim=1)
                lam = lam0 * (1.0 - kl / (alpha * log_k))
                lam = lam.clamp(lam0 * (1.0 - 1.0 / alpha), lam0)
                self._store(index, high, lam)
            else:
                lam = lam_old
        reg = (alpha * log_k / (2.0 * lam0)) * (lam - lam0) ** 2
        return _ldr_kl(f, y, lam.unsqueeze(1), float(self.margin)) - reg
