"""Rows grouped by id into padded ``[B, L]`` tensors, and back.

The one packing of the package: ranking losses (lists by query id) and the
modules that score a row in the context of its group (set encoders, pair
scorers) share it.
"""

from __future__ import annotations

import torch

__all__ = ["pack_lists", "unpack_lists"]


def pack_lists(groups, *values, fill=0.0):
    """Group rows by id into padded ``[B, L]`` tensors.

    Parameters
    ----------
    groups : torch.Tensor of shape (n,)
        A query id per row (any integer ids; rows of a query need not be
        contiguous). ``None`` makes the whole batch one list.
    *values : torch.Tensor of shape (n,) or (n, ...)
        Per-row values to pack (scores, labels, weights, ...).
    fill : float, default=0.0
        The value of padded slots.

    Returns
    -------
    packed : tuple of torch.Tensor
        One ``[B, L, ...]`` tensor per value, lists in the order of their ids
        and rows of a list in their batch order.
    mask : torch.Tensor of shape (B, L)
        True for real items.
    rows : torch.Tensor of shape (B, L)
        The batch row of each slot (0 in padded slots), for
        :func:`unpack_lists`.

    Examples
    --------
    >>> import torch
    >>> groups, scores = torch.tensor([7, 9, 7]), torch.tensor([1.0, 2.0, 3.0])
    >>> (s,), mask, rows = pack_lists(groups, scores)
    >>> s
    tensor([[1., 3.],
            [2., 0.]])
    >>> mask
    tensor([[ True,  True],
            [ True, False]])
    """
    n = values[0].shape[0] if values else groups.shape[0]
    device = values[0].device if values else groups.device
    if groups is None:
        mask = torch.ones(1, n, dtype=torch.bool, device=device)
        rows = torch.arange(n, device=device).unsqueeze(0)
        return tuple(v.unsqueeze(0) for v in values), mask, rows
    _, inverse, counts = torch.unique(groups, return_inverse=True, return_counts=True)
    order = torch.argsort(inverse, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    lists = inverse[order]
    slots = torch.arange(n, device=groups.device) - starts[lists]
    n_lists = counts.shape[0]
    length = int(counts.max()) if n else 0
    mask = torch.zeros(n_lists, length, dtype=torch.bool, device=device)
    mask[lists, slots] = True
    rows = torch.zeros(n_lists, length, dtype=torch.long, device=device)
    rows[lists, slots] = order.to(device)
    packed = []
    for value in values:
        out = value.new_full((n_lists, length, *value.shape[1:]), fill)
        out[lists, slots] = value[order]
        packed.append(out)
    return tuple(packed), mask, rows


def unpack_lists(packed, mask, rows, n):
    """Per-row values back from ``[B, L]`` (the inverse of :func:`pack_lists`).

    Returns a tensor of shape ``(n, ...)`` in the batch's row order.
    """
    out = packed.new_zeros((n, *packed.shape[2:]))
    out[rows[mask]] = packed[mask]
    return out
