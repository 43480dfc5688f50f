"""Softmax, log-softmax and cross-entropy over the classes of ``(n, K)`` logits.

torch's CPU kernels for ``softmax`` / ``log_softmax`` (which ``F.cross_entropy``
calls) vectorise along the reduced dimension when it is the last one, so a row
shorter than one vector register (16 float32 values with AVX-512, 8 with AVX2)
takes a much slower path, ~25 ns per value: with 10 classes, 4096 rows cost
~1.4 ms forward against ~0.1 ms with 16 classes on an AVX-512 machine. Tabular
tasks have few classes. Over dim 0 of the ``(K, n)`` transpose (a view, no
copy) the same kernels vectorise along the ``n`` samples instead, in the same
single operation and autograd node; ``F.cross_entropy`` takes that layout as
``(1, K, n)`` scores. These functions use it (the ``"column"`` layout) on CPU
for short rows from :data:`_MIN_COLUMN` logits per batch on; below, and on
other devices or for wider rows, torch's kernels on rows (``"row"``) are as
fast or faster. Measured forward and backward, one thread, against the kernel
on rows: 10 classes, 256 rows 1.5 times, 1024 rows 3 times, 4096 rows 3.4 times
faster; 3 classes, 4096 rows 2.5 times. The two layouts agree to rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._ops import mean

__all__ = [
    "layout",
    "log_softmax",
    "softmax",
    "cross_entropy",
    "column_cross_entropy",
    "log_loss",
    "minus_margin",
]


def _vector_bytes():
    """Width of the CPU vector registers torch's kernels use, 0 if unknown."""
    capability = torch.backends.cpu.get_cpu_capability()
    if "AVX512" in capability:
        return 64
    if "AVX2" in capability:
        return 32
    return 0


_VECTOR_BYTES = _vector_bytes()
#: Smallest number of logits per batch from which short rows take the column
#: layout (measured: slower below, with 2 or 3 classes at 256 rows).
_MIN_COLUMN = 1024


def layout(z):
    """``"column"`` where computing over dim 0 of ``z.t()`` is faster for the
    ``(n, K)`` logits ``z`` (CPU, short rows, a large enough batch), else
    ``"row"``."""
    return (
        "column"
        if z.device.type == "cpu"
        and z.shape[1] * z.element_size() < _VECTOR_BYTES
        and z.numel() >= _MIN_COLUMN
        else "row"
    )


def log_softmax(z):
    """``log_softmax(z, dim=1)`` of ``(n, K)`` logits (a transposed view in the
    column layout)."""
    if layout(z) == "row":
        return F.log_softmax(z, dim=1)
    return F.log_softmax(z.t(), dim=0).t()


def softmax(z):
    """``softmax(z, dim=1)`` of ``(n, K)`` logits (a transposed view in the
    column layout)."""
    if layout(z) == "row":
        return torch.softmax(z, dim=1)
    return torch.softmax(z.t(), dim=0).t()


def column_cross_entropy(scores, y, label_smoothing=0.0, reduction="none"):
    """``F.cross_entropy`` of ``(K, n)`` class-major scores (one column per
    sample): the softmax runs along the samples.

    The mean is one fused operation on ``(1, K, n)`` scores; per-sample terms
    come from the log-softmax over dim 0 and ``nll_loss`` on its transposed
    view (faster than the ``(1, n)`` output of the fused form, whose backward
    is slow).
    """
    if reduction == "mean":
        return F.cross_entropy(
            scores.unsqueeze(0),
            y.unsqueeze(0),
            reduction="mean",
            label_smoothing=label_smoothing,
        )
    logp = F.log_softmax(scores, dim=0).t()
    nll = F.nll_loss(logp, y, reduction="none")
    if label_smoothing:
        nll = (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(dim=1)
    return nll


def cross_entropy(z, y, label_smoothing=0.0, reduction="none"):
    """``F.cross_entropy(z, y, reduction=..., label_smoothing=...)`` of ``(n, K)``
    logits and class indices, in the faster layout.

    ``-log softmax(z)_y``; with label smoothing :math:`\varepsilon`,
    :math:`(1 - \varepsilon)` times it plus :math:`\varepsilon` times the mean
    over classes of ``-log softmax(z)_k``. ``reduction`` is ``"none"``
    (per-sample terms) or ``"mean"`` (over a non-empty batch, fused).
    """
    if layout(z) == "row":
        return F.cross_entropy(
            z, y, reduction=reduction, label_smoothing=label_smoothing
        )
    return column_cross_entropy(z.t(), y, label_smoothing, reduction)


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
    return mean(terms) if reduction == "mean" else terms


def minus_margin(z, y):
    """``u = (1 - 2y) z``, minus the margin of one binary logit ``z``.

    ``-log p_y = softplus(u)``; computed as ``z - 2 y z`` in one fused operation
    (after the cast of the labels), fewer than the sign ``2y - 1`` and a product.
    """
    return torch.addcmul(z, z, y.type(z.dtype), value=-2.0)
