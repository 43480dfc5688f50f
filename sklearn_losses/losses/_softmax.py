"""Softmax, log-softmax and cross-entropy over the classes of ``(n, K)`` logits.

torch's CPU kernels for ``softmax`` / ``log_softmax`` (which ``F.cross_entropy``
calls) vectorise along a row, so a row shorter than one vector register (16
float32 values with AVX-512, 8 with AVX2) takes a much slower path, ~25 ns per
value: with 10 classes, 4096 rows cost ~1.4 ms forward against ~0.1 ms with 16
classes on an AVX-512 machine. Tabular tasks have few classes, so for such rows
these functions take one of two forms vectorised along the batch instead:

- ``"column"``: torch's kernel over ``dim=0`` of the ``(K, n)`` transpose (a
  view, no copy), which vectorises along the ``n`` rows; one operation and one
  autograd node, as the kernel on rows. Best from :data:`_MIN_COLUMN` logits on
  (measured with 10 classes: 256 rows 1.3 times, 1024 rows 1.6 times faster than
  the kernel on rows, forward and backward);
- ``"composed"``: elementwise operations and reductions over the classes:
  subtract the row maximum (held constant, the gradient does not depend on
  it), exponentiate, sum, take the log. More operations, each with a fixed
  overhead, but the fastest from :data:`_MIN_COMPOSED` logits on (3 to 4
  times faster than the kernel on rows at 4096 x 10, 2 times the column form).

Elsewhere (other devices, wider rows, smaller batches) these functions call
torch's kernels on rows. The forms agree to rounding; the column form returns
a transposed (non-contiguous) view.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["log_softmax", "softmax", "cross_entropy", "log_loss", "minus_margin"]


def _vector_bytes():
    """Width of the CPU vector registers torch's kernels use, 0 if unknown."""
    capability = torch.backends.cpu.get_cpu_capability()
    if "AVX512" in capability:
        return 64
    if "AVX2" in capability:
        return 32
    return 0


_VECTOR_BYTES = _vector_bytes()
#: Smallest number of logits from which the column form is used on short rows.
_MIN_COLUMN = 1024
#: Smallest number of logits from which the composed form is used on short rows.
_MIN_COMPOSED = 4096


def layout(z):
    """How to compute over the classes of ``(n, K)`` logits ``z``: ``"row"``
    (torch's kernel), ``"column"`` or ``"composed"`` (see the module's notes)."""
    if z.device.type != "cpu" or z.shape[1] * z.element_size() >= _VECTOR_BYTES:
        return "row"
    n = z.numel()
    if n >= _MIN_COMPOSED:
        return "composed"
    return "column" if n >= _MIN_COLUMN else "row"


def _shifted(z):
    """``z`` minus its row maxima (held constant)."""
    return z - z.detach().amax(dim=1, keepdim=True)


def log_softmax(z):
    """``log_softmax(z, dim=1)`` of ``(n, K)`` logits."""
    form = layout(z)
    if form == "row":
        return F.log_softmax(z, dim=1)
    if form == "column":
        return F.log_softmax(z.t(), dim=0).t()
    s = _shifted(z)
    return s - s.exp().sum(dim=1, keepdim=True).log()


def softmax(z):
    """``softmax(z, dim=1)`` of ``(n, K)`` logits."""
    form = layout(z)
    if form == "row":
        return torch.softmax(z, dim=1)
    if form == "column":
        return torch.softmax(z.t(), dim=0).t()
    e = _shifted(z).exp()
    return e / e.sum(dim=1, keepdim=True)


def cross_entropy(z, y, label_smoothing=0.0, reduction="none"):
    """``F.cross_entropy(z, y, reduction=..., label_smoothing=...)``.

    ``-log softmax(z)_y`` of ``(n, K)`` logits and class indices; with label
    smoothing :math:`\varepsilon`, :math:`(1 - \varepsilon)` times it plus
    :math:`\varepsilon` times the mean over classes of ``-log softmax(z)_k``.
    ``reduction`` is ``"none"`` (per-sample terms) or ``"mean"`` (over a
    non-empty batch; torch's fused kernel where it is used).
    """
    form = layout(z)
    if form == "row":
        return F.cross_entropy(
            z, y, reduction=reduction, label_smoothing=label_smoothing
        )
    if form == "column":
        logp = F.log_softmax(z.t(), dim=0).t()
        if not label_smoothing:
            return F.nll_loss(logp, y, reduction=reduction)
        nll = F.nll_loss(logp, y, reduction="none")
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(dim=1)
    else:
        s = _shifted(z)
        log_norm = s.exp().sum(dim=1, keepdim=True).log()
        nll = (log_norm - s.gather(1, y.unsqueeze(1))).squeeze(1)
        if label_smoothing:
            smooth = (log_norm - s).mean(dim=1)
            nll = (1.0 - label_smoothing) * nll + label_smoothing * smooth
    return nll.mean() if reduction == "mean" else nll


def log_loss(z, y, binary, *, label_smoothing=0.0, weight=None, reduction="none"):
    """Cross-entropy ``-log p_y`` of checked logits, per sample or averaged.

    The one place the losses compute it: one logit per sample (``binary``,
    ``z`` of shape ``(n,)``, scores ``(0, z)``) with
    ``binary_cross_entropy_with_logits``, ``(n, K)`` logits with
    :func:`cross_entropy`. ``weight`` (shape ``(n,)``, no gradient needed)
    multiplies each sample's term. With ``reduction="mean"`` the result is
    ``mean_i(weight_i * term_i)`` computed by torch's fused kernels where they
    exist (one autograd node instead of two or three) and 0 for an empty batch,
    as :func:`~sklearn_losses.losses.weighted_reduce`.
    """
    if reduction == "mean" and not y.shape[0]:
        return z.sum()  # an empty batch carries no training signal
    if binary:
        q = y.type(z.dtype)  # faster than .to(z.dtype) at small batches
        if label_smoothing:
            q = q * (1.0 - label_smoothing) + 0.5 * label_smoothing
        return F.binary_cross_entropy_with_logits(
            z, q, weight=weight, reduction=reduction
        )
    if weight is None:
        return cross_entropy(z, y, label_smoothing, reduction)
    terms = weight * cross_entropy(z, y, label_smoothing)
    return terms.mean() if reduction == "mean" else terms


def minus_margin(z, y):
    """``u = (1 - 2y) z``, minus the margin of one binary logit ``z``.

    ``-log p_y = softplus(u)``; computed as ``z - 2 y z`` in one fused operation
    (after the cast of the labels), fewer than the sign ``2y - 1`` and a product.
    """
    return torch.addcmul(z, z, y.type(z.dtype), value=-2.0)
