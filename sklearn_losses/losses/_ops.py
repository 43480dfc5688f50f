"""Small building blocks shared by the losses' per-batch arithmetic."""

from __future__ import annotations

import functools

import torch

__all__ = ["constants", "mean"]


@functools.lru_cache(maxsize=256)
def constants(dtype, device, *values):
    """0-dim tensors holding ``values`` in ``dtype`` on ``device``, cached.

    torch turns a Python number operand of a tensor operation (``2.0 * z``,
    ``1.0 - p``) into a tensor on every call, which costs a few microseconds on
    CPU, more than the operation itself on a batch of a few hundred values; a
    cached 0-dim tensor operand costs nothing extra. Number arguments that are
    not operands (``alpha=``, ``value=``, clamp bounds, exponents) are cheap.

    Examples
    --------
    >>> import torch
    >>> one, half = constants(torch.float32, torch.device("cpu"), 1.0, 0.5)
    >>> (one - half * torch.ones(2)).tolist()
    [0.5, 0.5]
    """
    with torch.inference_mode(False):  # usable outside inference mode too
        return tuple(torch.tensor(v, dtype=dtype, device=device) for v in values)


@functools.lru_cache(maxsize=32)
def _uniform(n, dtype, device):
    with torch.inference_mode(False):
        return torch.full((n,), 1.0 / n, dtype=dtype, device=device)


def mean(terms):
    """The mean of non-empty per-sample ``terms`` of shape ``(n,)``.

    Computed as the dot product with a cached vector of ``1/n``: one operation
    forward and one backward, several microseconds faster per call on CPU than
    ``terms.mean()`` (whose backward expands and divides). Equal to it up to
    rounding. Half-precision terms use ``terms.mean()`` (``1/n`` may be
    subnormal there).

    Examples
    --------
    >>> import torch
    >>> mean(torch.tensor([1.0, 2.0, 6.0])).item()
    3.0
    """
    if terms.dtype not in (torch.float32, torch.float64):
        return terms.mean()
    return torch.dot(terms, _uniform(terms.shape[0], terms.dtype, terms.device))
