"""Softmax, log-softmax and cross-entropy over the classes of ``(n, K)`` logits.

The losses compute every softmax here, so the one layout choice below lives in
one place. torch's CPU kernels for ``softmax`` / ``log_softmax`` vectorise along
the reduced dimension when it is the last one, so a row shorter than one vector
register (16 float32 values with AVX-512, 8 with AVX2) takes a much slower
path: with 10 classes, 4096 rows cost ~1.4 ms forward against ~0.1 ms with 16
classes on an AVX-512 machine. Tabular tasks have few classes. Over dim 0 of
the ``(K, n)`` transpose (a view, no copy) the same kernels vectorise along the
``n`` samples instead, in the same single operation; :func:`log_softmax` and
:func:`softmax` use it (the ``"column"`` layout) on CPU for short rows from
:data:`_MIN_COLUMN` logits per batch on, and torch's kernels on rows
(``"row"``) elsewhere. The two layouts agree to rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["layout", "log_softmax", "softmax", "cross_entropy", "log_loss"]


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
    column layout).

    Examples
    --------
    >>> import torch
    >>> log_softmax(torch.zeros(2, 4)).exp().tolist()
    [[0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]]
    """
    if layout(z) == "row":
        return F.log_softmax(z, dim=1)
    return F.log_softmax(z.t(), dim=0).t()


def softmax(z):
    """``softmax(z, dim=1)`` of ``(n, K)`` logits (a transposed view in the
    column layout)."""
    if layout(z) == "row":
        return torch.softmax(z, dim=1)
    return torch.softmax(z.t(), dim=0).t()


def cross_entropy(z, y, label_smoothing=0.0):
    r"""Per-sample cross-entropy of ``(n, K)`` logits and class indices.

    .. math::

        \ell_i = -(1 - \varepsilon) \log \operatorname{softmax}(z_i)_{y_i}
            - \frac{\varepsilon}{K} \sum_k \log \operatorname{softmax}(z_i)_k

    equal to ``F.cross_entropy(z, y, reduction="none",
    label_smoothing=epsilon)`` (the negative log-likelihood of
    :func:`log_softmax`).

    Examples
    --------
    >>> import math, torch
    >>> value = cross_entropy(torch.zeros(1, 4), torch.tensor([2]))
    >>> math.isclose(value.item(), math.log(4), rel_tol=1e-6)
    True
    """
    logp = log_softmax(z)
    nll = F.nll_loss(logp, y, reduction="none")
    if not label_smoothing:
        return nll
    return (1.0 - label_smoothing) * nll - label_smoothing * logp.mean(dim=1)


def log_loss(z, y, binary, label_smoothing=0.0):
    r"""Per-sample cross-entropy :math:`-\log p_y` of checked logits.

    One logit per sample (``binary``, ``z`` of shape ``(n,)``, the log-odds of
    class 1, i.e. scores :math:`(0, z)`) gives the logistic loss
    :math:`\operatorname{softplus}((1 - 2y) z)` with the target smoothed to
    :math:`(1 - \varepsilon) y + \varepsilon / 2`; ``(n, K)`` logits give
    :func:`cross_entropy`.

    Examples
    --------
    >>> import torch
    >>> [round(v, 4) for v in log_loss(torch.tensor([0.0, 2.0]),
    ...                                torch.tensor([1, 0]), True).tolist()]
    [0.6931, 2.1269]
    """
    if not binary:
        return cross_entropy(z, y, label_smoothing)
    q = y.to(z.dtype)
    if label_smoothing:
        q = (1.0 - label_smoothing) * q + 0.5 * label_smoothing
    return F.binary_cross_entropy_with_logits(z, q, reduction="none")
