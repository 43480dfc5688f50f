r"""TSPRank (Li et al., KDD 2025): a ranking as the best open path through items.

A TSPRank network scores every ordered pair of items of a list,
:math:`A_{ij}` = the reward for putting item ``j`` *immediately after* item
``i``, and ranks the list by the open Hamiltonian path of maximum total
weight (free start and end; first = best):

.. math::

    \hat\pi = \arg\max_\pi S_A(\pi), \qquad
    S_A(\pi) = \sum_{k=1}^{n-1} A_{\pi_k \pi_{k+1}}.

This module holds the decoders of that path (pure numpy, so that the loss, the
network and the estimators share them) and the training loss:

- :func:`exact_open_path`: Held-Karp dynamic programming, exact, vectorised
  over subsets and ends, up to ``n = 20`` items;
- :func:`heuristic_open_path`: greedy successors and local search
  (relocate and swap moves, no segment reversal), deterministic, any ``n``;
- :func:`best_open_path`: exact up to ``dp_max_n`` items, heuristic beyond;
- :func:`best_paths`: the best path of every list of a padded ``[B, L, L]``
  batch, lists of equal length solved together;
- :func:`tsprank_global_loss`, :func:`successor_ce`, :func:`pairwise_bce`:
  the global (structured max-margin) and local losses on pair scores;
- :class:`TSPRankLoss`: the registered loss (``"tsprank"``), which gets the
  pair scores from its network (:class:`~sklearn_losses.modules.TSPRankModule`).
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_real
from ._base import _TRUSTED_TARGETS, BaseLoss, check_weights
from ._lists import pack_lists, reduce_lists
from ._registry import register_loss

__all__ = [
    "TSPRankLoss",
    "best_open_path",
    "best_paths",
    "exact_open_path",
    "heuristic_open_path",
    "pairwise_bce",
    "successor_ce",
    "tsprank_global_loss",
    "DP_MAX_N",
]

#: The largest list the exact decoder accepts (``2**n * n`` table entries).
DP_MAX_N = 20

# Cap on the float64 entries of the dynamic-programming tables of the lists
# solved together (64 MiB; one list of 17 or more items takes more on its own).
_DP_TABLE_ENTRIES = 1 << 23


# -- inputs --------------------------------------------------------------------
def _as_matrix(A, name="A"):
    """``A`` as a square float64 numpy array (torch tensors are detached)."""
    if isinstance(A, torch.Tensor):
        A = A.detach().cpu().to(torch.float64).numpy()
    try:
        A = np.asarray(A, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a square matrix of pair scores (numpy array or torch "
            f"tensor); got {type(A).__name__}."
        ) from None
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(
            f"{name} must be a square (n, n) matrix of pair scores; got shape "
            f"{A.shape}."
        )
    if not np.isfinite(A).all():
        raise ValueError(f"{name} must hold finite pair scores.")
    return A


def _check_dp_max_n(dp_max_n):
    if not (
        isinstance(dp_max_n, numbers.Integral)
        and not isinstance(dp_max_n, bool)
        and 1 <= dp_max_n <= DP_MAX_N
    ):
        raise ValueError(
            f"dp_max_n must be an int in [1, {DP_MAX_N}] (the longest list decoded "
            f"exactly; longer lists use the heuristic); got {dp_max_n!r}."
        )
    return int(dp_max_n)


def _path_score(A, path):
    path = np.asarray(path, dtype=np.intp)
    return float(A[path[:-1], path[1:]].sum()) if len(path) > 1 else 0.0


# -- exact decoding: Held-Karp ---------------------------------------------------
@functools.lru_cache(maxsize=DP_MAX_N + 1)
def _subset_layers(n):
    """Subsets of ``n`` items grouped by size 1..n-1, and their membership."""
    masks = np.arange(1 << n, dtype=np.int64)
    members = ((masks[:, None] >> np.arange(n)) & 1).astype(bool)
    size = members.sum(1)
    order = np.argsort(size, kind="stable")
    bounds = np.searchsorted(size[order], np.arange(n + 1))
    layers = []
    for k in range(1, n):
        layer = order[bounds[k] : bounds[k + 1]]
        src, end = np.nonzero(~members[layer])  # items that can follow
        layers.append((layer, src, end, layer[src] | (np.int64(1) << end)))
    return layers


def _held_karp(A):
    """Best open paths of a stack ``A`` of shape ``(G, n, n)``, ``n >= 2``.

    ``dp[g, S, j]`` is the best score of a path visiting exactly the subset
    ``S`` and ending at ``j``; subsets grow one size at a time, every subset
    of a size and every end at once. No parent table is kept: the trace back
    recomputes each predecessor as the first maximiser, as the forward pass
    chose it. Returns the paths ``(G, n)``.
    """
    G, n, _ = A.shape
    full = (1 << n) - 1
    paths = np.empty((G, n), dtype=np.intp)
    per_chunk = max(1, _DP_TABLE_ENTRIES // ((1 << n) * n))
    items = np.arange(n)
    for lo in range(0, G, per_chunk):
        a = A[lo : lo + per_chunk]
        g = a.shape[0]
        dp = np.full((g, 1 << n, n), -np.inf)
        dp[:, 1 << items, items] = 0.0
        for layer, src, end, target in _subset_layers(n):
            # best[g, S, k] = max_j dp[g, S, j] + A[g, j, k]
            cur = dp[:, layer]
            best = cur[:, :, 0, None] + a[:, None, 0, :]
            for j in range(1, n):
                np.maximum(best, cur[:, :, j, None] + a[:, None, j, :], out=best)
            dp[:, target, end] = best[:, src, end]
        rows = np.arange(g)
        last = dp[:, full].argmax(1)
        mask = np.full(g, full, dtype=np.int64)
        for t in range(n - 1, 0, -1):
            paths[lo + rows, t] = last
            mask = mask ^ (np.int64(1) << last)
            last = (dp[rows, mask] + a[rows, :, last]).argmax(1)
        paths[lo + rows, 0] = last
    return paths


def exact_open_path(A):
    r"""Maximum-weight open Hamiltonian path, exactly (Held-Karp).

    Finds :math:`\arg\max_\pi \sum_{k=1}^{n-1} A_{\pi_k \pi_{k+1}}` over all
    orders :math:`\pi` of the ``n`` items, with free start and end, by dynamic
    programming over subsets: :math:`d(\{j\}, j) = 0` and
    :math:`d(S \cup \{k\}, k) = \max_{j \in S} d(S, j) + A_{jk}`; the answer is
    :math:`\max_j d(\text{all}, j)`, traced back by recomputing each
    predecessor. Time :math:`O(2^n n^2)` and memory :math:`O(2^n n)`,
    vectorised in numpy over all subsets of a size and all ends (about 0.04 s
    at ``n = 16`` and 2 s at ``n = 20`` on one core).
    Ties go to the lowest item index (deterministic).

    Parameters
    ----------
    A : array-like or torch.Tensor of shape (n, n)
        Finite pair scores, ``A[i, j]`` the reward for ``j`` right after
        ``i``. The diagonal is never used. At most ``DP_MAX_N = 20`` items.

    Returns
    -------
    path : list of int
        The items in path order (first = best).
    score : float
        :math:`S_A` of the path. ``n = 1`` gives ``([0], 0.0)``; ``n = 0``
        gives ``([], 0.0)``.

    Raises
    ------
    ValueError
        For more than 20 items (use :func:`best_open_path`, whose
        ``dp_max_n`` switches to :func:`heuristic_open_path`).

    Examples
    --------
    >>> A = [[0.0, 0.35, -0.4, -0.65], [1.0, 0.0, -0.05, -0.425],
    ...      [0.9, 0.6, 0.0, -0.2], [0.0, 0.225, 0.45, 0.0]]
    >>> path, score = exact_open_path(A)
    >>> path, round(score, 6)
    ([3, 2, 1, 0], 2.05)
    """
    A = _as_matrix(A)
    n = A.shape[0]
    if n > DP_MAX_N:
        raise ValueError(
            f"exact decoding is limited to n <= {DP_MAX_N} items (dp_max_n); got "
            f"n={n}. Use best_open_path, which decodes lists longer than dp_max_n "
            "with the heuristic."
        )
    if n <= 1:
        return list(range(n)), 0.0
    path = _held_karp(A[None])[0]
    return path.tolist(), _path_score(A, path)


# -- heuristic decoding -----------------------------------------------------------
def _greedy_paths(A):
    """One greedy path per start item (next = best unvisited successor),
    ``(n, n)``, and their scores."""
    n = A.shape[0]
    starts = np.arange(n)
    paths = np.empty((n, n), dtype=np.intp)
    paths[:, 0] = starts
    visited = np.zeros((n, n), dtype=bool)
    visited[starts, starts] = True
    scores = np.zeros(n)
    current = starts
    for t in range(1, n):
        row = np.where(visited, -np.inf, A[current])
        nxt = row.argmax(1)
        scores += row[starts, nxt]
        visited[starts, nxt] = True
        paths[:, t] = nxt
        current = nxt
    return paths, scores


def _local_search(A, path, max_moves, max_segment=3):
    """Best-improvement local search with relocate and swap moves.

    A dummy item ``n`` with zero arcs pads both ends of the path, so that the
    end points move like any other. Relocate takes a run of 1 to
    ``max_segment`` consecutive items out and puts it back, in the same
    order, between two other neighbours (or-opt); swap exchanges two items.
    No move reverses a segment (which would flip arc directions of an
    asymmetric ``A``). Each round evaluates every move in :math:`O(n^2)` and
    applies the best one.
    """
    n = len(path)
    W = np.zeros((n + 1, n + 1))
    W[:n, :n] = A
    q = np.r_[n, path, n]
    pos = np.arange(1, n + 1)  # positions of the items in q
    i_grid, j_grid = np.meshgrid(pos, pos, indexing="ij")
    upper = j_grid > i_grid
    adjacent = j_grid == i_grid + 1
    edges = np.arange(n + 1)  # edge e joins q[e] and q[e + 1]
    segments = []
    for length in range(1, min(max_segment, n - 1) + 1):
        start = np.arange(1, n - length + 2)  # first position of the run
        blocked = (edges[None, :] >= start[:, None] - 1) & (
            edges[None, :] <= start[:, None] + length - 1
        )
        segments.append((length, start, blocked))
    tol = 1e-12 * max(1.0, float(np.abs(A).max()))
    for _ in range(max_moves):
        best_gain, best_move = tol, None
        left, right = q[edges], q[edges + 1]
        for length, start, blocked in segments:
            # relocate the run q[p : p + length] onto edge e
            first, last = q[start], q[start + length - 1]
            before, after = q[start - 1], q[start + length]
            removed = W[before, after] - W[before, first] - W[last, after]
            inserted = (
                W[left[None, :], first[:, None]]
                + W[last[:, None], right[None, :]]
                - W[left, right][None, :]
            )
            gain = np.where(blocked, -np.inf, removed[:, None] + inserted)
            k = int(gain.argmax())
            if gain.flat[k] > best_gain:
                best_gain = gain.flat[k]
                best_move = ("relocate", length, *divmod(k, n + 1))
        # swap the items at positions i < j
        xi, xj = q[i_grid], q[j_grid]
        pi, ni, pj, nj = q[i_grid - 1], q[i_grid + 1], q[j_grid - 1], q[j_grid + 1]
        far = (W[pi, xj] + W[xj, ni] + W[pj, xi] + W[xi, nj]) - (
            W[pi, xi] + W[xi, ni] + W[pj, xj] + W[xj, nj]
        )
        near = (W[pi, xj] + W[xj, xi] + W[xi, nj]) - (W[pi, xi] + W[xi, xj] + W[xj, nj])
        swap = np.where(upper, np.where(adjacent, near, far), -np.inf)
        k = int(swap.argmax())
        if swap.flat[k] > best_gain:
            best_gain, best_move = swap.flat[k], ("swap", 1, *divmod(k, n))
        if best_move is None:
            break
        kind, length, a, b = best_move
        if kind == "relocate":
            p, e = a + 1, b
            run = q[p : p + length]
            rest = np.r_[q[:p], q[p + length :]]
            # left of the run q[e] keeps its index in ``rest``; right of it,
            # it moves ``length`` places left
            at = e + 1 if e < p else e + 1 - length
            q = np.r_[rest[:at], run, rest[at:]]
        else:
            q[a + 1], q[b + 1] = q[b + 1], q[a + 1]
    return q[1:-1]


def heuristic_open_path(A, *, n_starts=4):
    """Good open path without the exponential search: greedy plus local search.

    From every start item a greedy path follows the best unvisited successor;
    the ``n_starts`` best greedy paths are then improved by best-improvement
    local search until no move improves the score, and the best result is
    returned. The moves: *relocate* (move one item, or a run of up to three
    consecutive items kept in order, between two other neighbours) and
    *swap* (exchange two items). Segment reversal (2-opt) is not used: it
    flips arc directions, which changes the score of an asymmetric ``A``
    arbitrarily. Deterministic (ties to the lowest index); :math:`O(n^3)` for
    the greedy paths and :math:`O(n^2)` per move. Never better than
    :func:`exact_open_path`, and equal to it for ``n <= 3`` (the moves reach
    every order of three items). On random N(0, 1) scores it finds the
    optimum of nearly all 8-item lists and is about 1.5 % below it on average
    at 12 and 16 items
    (``benchmarks/bench_tsp_decoding.py``).

    Parameters
    ----------
    A : array-like or torch.Tensor of shape (n, n)
        Finite pair scores (diagonal unused).
    n_starts : int, default=4
        How many of the best greedy paths to improve (at most ``n``).

    Returns
    -------
    path : list of int
    score : float

    Examples
    --------
    >>> A = [[0.0, 0.35, -0.4, -0.65], [1.0, 0.0, -0.05, -0.425],
    ...      [0.9, 0.6, 0.0, -0.2], [0.0, 0.225, 0.45, 0.0]]
    >>> path, score = heuristic_open_path(A)
    >>> path, round(score, 6)
    ([3, 2, 1, 0], 2.05)
    """
    A = _as_matrix(A)
    if not (
        isinstance(n_starts, numbers.Integral)
        and not isinstance(n_starts, bool)
        and n_starts >= 1
    ):
        raise ValueError(f"n_starts must be an int >= 1; got {n_starts!r}.")
    n = A.shape[0]
    if n <= 1:
        return list(range(n)), 0.0
    paths, scores = _greedy_paths(A)
    best_path, best_score = None, -np.inf
    for start in np.argsort(-scores, kind="stable")[:n_starts]:
        path = _local_search(A, paths[start], max_moves=10 * n * n)
        score = _path_score(A, path)
        if score > best_score:
            best_path, best_score = path, score
    return best_path.tolist(), best_score


def best_open_path(A, dp_max_n=16):
    """Best open path: exact up to ``dp_max_n`` items, heuristic beyond.

    Parameters
    ----------
    A : array-like or torch.Tensor of shape (n, n)
        Finite pair scores (diagonal unused).
    dp_max_n : int in [1, 20], default=16
        The longest list decoded by :func:`exact_open_path`; longer lists go
        to :func:`heuristic_open_path`.

    Returns
    -------
    path : list of int
    score : float

    Examples
    --------
    >>> best_open_path([[0.0, 1.0], [2.0, 0.0]])
    ([1, 0], 2.0)
    """
    dp_max_n = _check_dp_max_n(dp_max_n)
    A = _as_matrix(A)
    if A.shape[0] <= dp_max_n:
        return exact_open_path(A)
    return heuristic_open_path(A)


def _real_slots(mask):
    """Per list, the slots of its real items first (in slot order), and their
    number."""
    slots = torch.argsort((~mask).to(torch.int8), dim=-1, stable=True)
    return slots, mask.sum(-1)


def best_paths(A, mask=None, *, dp_max_n=16):
    """Best open path of every list of a padded batch.

    Lists of equal length up to ``dp_max_n`` are decoded together by one
    vectorised Held-Karp run; longer lists by :func:`heuristic_open_path`.

    Parameters
    ----------
    A : torch.Tensor of shape (B, L, L)
        Pair scores (entries of padded items are ignored).
    mask : torch.Tensor of shape (B, L), default=None
        True for real items (all real when None).
    dp_max_n : int in [1, 20], default=16

    Returns
    -------
    paths : list of numpy.ndarray
        For each list, its real items' slot indices in path order.

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[[0.0, 1.0, 0.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    >>> best_paths(A, torch.tensor([[True, True, False]]))
    [array([1, 0])]
    """
    dp_max_n = _check_dp_max_n(dp_max_n)
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise ValueError(f"A must have shape (B, L, L); got {tuple(A.shape)}.")
    if mask is None:
        mask = torch.ones(A.shape[:2], dtype=torch.bool, device=A.device)
    slots, counts = _real_slots(mask)
    values = A.detach().to("cpu", torch.float64).numpy()
    slots, counts = slots.cpu().numpy(), counts.cpu().numpy()
    paths = [None] * len(counts)
    for n in np.unique(counts):
        lists = np.flatnonzero(counts == n)
        s = slots[lists, :n]
        if n <= 1:
            for b, sb in zip(lists, s, strict=True):
                paths[b] = sb.copy()
            continue
        sub = values[lists[:, None, None], s[:, :, None], s[:, None, :]]
        if not np.isfinite(sub).all():
            raise ValueError("A must hold finite pair scores on real items.")
        if n <= dp_max_n:
            found = _held_karp(sub)
        else:
            found = np.array([heuristic_open_path(a)[0] for a in sub])
        for k, b in enumerate(lists):
            paths[b] = s[k][found[k]]
    return paths


# -- losses on pair scores ---------------------------------------------------------
def _as_batch(A, labels, mask):
    """``(A [B, L, L], labels [B, L], mask [B, L], single)``; one ``(n, n)``
    list becomes a batch of one."""
    if not (isinstance(A, torch.Tensor) and A.is_floating_point()):
        raise TypeError(
            f"A must be a floating-point torch.Tensor; got "
            f"{getattr(A, 'dtype', type(A).__name__)}."
        )
    single = A.ndim == 2
    labels = torch.as_tensor(labels, device=A.device).to(A.dtype)
    if single:
        A, labels = A.unsqueeze(0), labels.unsqueeze(0)
        if mask is not None:
            mask = mask.unsqueeze(0)
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise ValueError(
            f"A must have shape (n, n) or (B, L, L); got {tuple(A.shape)}."
        )
    if labels.shape != A.shape[:2]:
        raise ValueError(
            f"labels must have shape {tuple(A.shape[:2])} (one per item); got "
            f"{tuple(labels.shape)}."
        )
    if mask is None:
        mask = torch.ones(labels.shape, dtype=torch.bool, device=A.device)
    elif mask.shape != labels.shape or mask.dtype != torch.bool:
        raise ValueError(
            f"mask must be a bool tensor of shape {tuple(labels.shape)}; got "
            f"{mask.dtype} {tuple(mask.shape)}."
        )
    return A, labels, mask, single


def _gold(labels, mask):
    """Gold order (labels descending, ties in item order, padding last):
    ``(order [B, L], rank [B, L] 1-based, successor matrix M* [B, L, L])``."""
    with torch.no_grad():
        key = labels.masked_fill(~mask, -torch.inf)
        order = torch.argsort(key, dim=-1, descending=True, stable=True)
        B, L = labels.shape
        positions = torch.arange(L, device=labels.device).expand(B, L)
        rank = torch.empty_like(order).scatter_(-1, order, positions + 1)
        n = mask.sum(-1, keepdim=True)
        follows = positions[:, :-1] < n - 1  # arc order[k] -> order[k + 1]
        succ = torch.zeros(B, L, L, dtype=labels.dtype, device=labels.device)
        b = torch.arange(B, device=labels.device)[:, None].expand(B, L - 1)
        succ[b[follows], order[:, :-1][follows], order[:, 1:][follows]] = 1.0
    return order, rank, succ


def _path_matrix(paths, shape, like):
    """Successor matrix ``[B, L, L]`` of one path (slot indices) per list."""
    M = torch.zeros(shape, dtype=like.dtype, device=like.device)
    for b, path in enumerate(paths):
        if path is not None and len(path) > 1:
            p = torch.as_tensor(path, device=like.device)
            M[b, p[:-1], p[1:]] = 1.0
    return M


def tsprank_global_loss(A, labels, mask=None, *, margin=1.0, dp_max_n=DP_MAX_N):
    r"""Structured max-margin loss with loss-augmented exact inference.

    With the gold order :math:`\pi^*` (labels descending, ties in item order)
    and its successor matrix :math:`M^*` (:math:`M^*_{ij} = 1` iff ``j``
    directly follows ``i``), the loss-augmented scores
    :math:`A' = A + \mu (1 - M^*)` reward every non-gold arc by the margin
    :math:`\mu`, and

    .. math::

        \hat\pi = \arg\max_\pi S_{A'}(\pi), \qquad
        L = \frac{S_{A'}(\hat\pi) - S_A(\pi^*)}{n} \ge 0,

    with :math:`\hat\pi` found exactly (:func:`exact_open_path`, batched).
    The path is a constant; the gradient reaches the entries of ``A`` on both
    paths (+1/n on :math:`\hat\pi`'s arcs, -1/n on the gold arcs).

    Parameters
    ----------
    A : torch.Tensor of shape (n, n) or (B, L, L)
        Pair scores.
    labels : torch.Tensor of shape (n,) or (B, L)
        Relevance labels, higher is better.
    mask : torch.Tensor of shape (n,) or (B, L), default=None
        True for real items; padded rows and columns of ``A`` are dropped.
    margin : float, default=1.0
        :math:`\mu \ge 0`.
    dp_max_n : int in [1, 20], default=20
        Longest list allowed (exact inference only); longer lists raise.

    Returns
    -------
    torch.Tensor
        The loss of each list, shape ``(B,)``, or a scalar for ``(n, n)``
        input; lists of fewer than two items give 0.

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[0.0, 0.35, -0.4, -0.65], [1.0, 0.0, -0.05, -0.425],
    ...                   [0.9, 0.6, 0.0, -0.2], [0.0, 0.225, 0.45, 0.0]])
    >>> round(tsprank_global_loss(A, torch.tensor([3.0, 4.0, 1.0, 2.0])).item(), 5)
    0.81875
    """
    A, labels, mask, single = _as_batch(A, labels, mask)
    margin = check_real("margin", margin, low=0)
    dp_max_n = _check_dp_max_n(dp_max_n)
    counts = mask.sum(-1)
    if bool((counts > dp_max_n).any()):
        raise ValueError(
            f"the global loss decodes exactly, up to dp_max_n={dp_max_n} items; got "
            f"a list of {int(counts.max())}."
        )
    terms = _global_terms(A, labels, mask, margin, dp_max_n)
    return terms[0] if single else terms


def _global_terms(A, labels, mask, margin, dp_max_n):
    _, _, gold = _gold(labels, mask)
    augmented = A + margin * (1.0 - gold)
    paths = best_paths(augmented.detach(), mask, dp_max_n=dp_max_n)
    found = _path_matrix(paths, A.shape, A)
    n = mask.sum(-1).to(A.dtype)
    total = (augmented * found).sum((1, 2)) - (A * gold).sum((1, 2))
    return torch.where(n >= 2, total / n.clamp_min(1.0), 0.0)


def successor_ce(A, labels, mask=None):
    r"""Successor cross-entropy: each gold item should pick its gold successor.

    For every item ``i`` but the last of the gold order, a softmax over the
    row :math:`A_{i\cdot}` (the diagonal and padded columns masked) should put
    its mass on the gold successor :math:`\text{succ}(i)`:

    .. math::

        L = \frac{1}{n - 1} \sum_{i \ne \pi^*_n}
        -\log \frac{e^{A_{i,\text{succ}(i)}}}{\sum_{j \ne i} e^{A_{ij}}}.

    Parameters
    ----------
    A : torch.Tensor of shape (n, n) or (B, L, L)
    labels : torch.Tensor of shape (n,) or (B, L)
    mask : torch.Tensor of shape (n,) or (B, L), default=None

    Returns
    -------
    torch.Tensor
        Per-list loss ``(B,)`` (0 for lists of fewer than two items), or a
        scalar for ``(n, n)`` input.

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[0.0, 0.35, -0.4, -0.65], [1.0, 0.0, -0.05, -0.425],
    ...                   [0.9, 0.6, 0.0, -0.2], [0.0, 0.225, 0.45, 0.0]])
    >>> round(successor_ce(A, torch.tensor([3.0, 4.0, 1.0, 2.0])).item(), 5)
    0.98811
    """
    A, labels, mask, single = _as_batch(A, labels, mask)
    terms = _successor_ce_terms(A, labels, mask)
    return terms[0] if single else terms


def _successor_ce_terms(A, labels, mask):
    _, _, gold = _gold(labels, mask)
    L = A.shape[-1]
    eye = torch.eye(L, dtype=torch.bool, device=A.device)
    allowed = mask[:, None, :] & ~eye
    logits = A.masked_fill(~allowed, torch.finfo(A.dtype).min / 4)
    log_p = torch.log_softmax(logits, dim=-1)
    rows = gold.sum(-1) > 0  # items with a gold successor
    nll = -(log_p * gold).sum(-1)
    n = mask.sum(-1).to(A.dtype)
    total = torch.where(rows, nll, 0.0).sum(-1)
    return torch.where(n >= 2, total / (n - 1).clamp_min(1.0), 0.0)


def pairwise_bce(A, labels, mask=None):
    r"""Weighted pairwise BCE: :math:`\sigma(A_{ij})` should say ``i`` ranks
    above ``j``.

    With gold ranks :math:`r` (1 = best, ties in item order),

    .. math::

        L = \frac{1}{n^2} \sum_{i, j} \frac{|r_i - r_j|}{n / 2}\,
        \mathrm{BCE}\big(\sigma(A_{ij}), [r_i < r_j]\big),

    averaged over all :math:`n^2` entries (the diagonal has weight 0), as the
    official stock pipeline computes it.

    Parameters
    ----------
    A : torch.Tensor of shape (n, n) or (B, L, L)
    labels : torch.Tensor of shape (n,) or (B, L)
    mask : torch.Tensor of shape (n,) or (B, L), default=None

    Returns
    -------
    torch.Tensor
        Per-list loss ``(B,)`` (0 for lists of fewer than two items), or a
        scalar for ``(n, n)`` input.

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[0.0, 0.35, -0.4, -0.65], [1.0, 0.0, -0.05, -0.425],
    ...                   [0.9, 0.6, 0.0, -0.2], [0.0, 0.225, 0.45, 0.0]])
    >>> round(pairwise_bce(A, torch.tensor([3.0, 4.0, 1.0, 2.0])).item(), 5)
    0.53461
    """
    A, labels, mask, single = _as_batch(A, labels, mask)
    terms = _pairwise_bce_terms(A, labels, mask)
    return terms[0] if single else terms


def _pairwise_bce_terms(A, labels, mask):
    _, rank, _ = _gold(labels, mask)
    n = mask.sum(-1).to(A.dtype)
    r = rank.to(A.dtype)
    both = mask[:, :, None] & mask[:, None, :]
    target = (r[:, :, None] < r[:, None, :]).to(A.dtype)
    weight = (r[:, :, None] - r[:, None, :]).abs() / (0.5 * n.clamp_min(1.0))[
        :, None, None
    ]
    bce = F.binary_cross_entropy_with_logits(A, target, reduction="none")
    total = torch.where(both, weight * bce, 0.0).sum((1, 2))
    return torch.where(n >= 2, total / (n * n).clamp_min(1.0), 0.0)


_LOCAL = {"successor_ce": _successor_ce_terms, "pairwise_bce": _pairwise_bce_terms}
_MODES = ("hybrid", "global", "local")


class _OwnModuleClass:
    """``TSPRankLoss.module_class``: the network the loss is trained with,
    imported when first read (the losses layer imports no network at import
    time)."""

    def __get__(self, obj, owner=None):
        from ..modules.tsprank import TSPRankModule

        return TSPRankModule


@register_loss
class TSPRankLoss(BaseLoss):
    r"""TSPRank training loss: local pair losses and a global max-margin path loss.

    The network (:class:`~sklearn_losses.modules.TSPRankModule`) embeds each
    row; this loss asks it for the pair scores of every list,
    ``A, mask, _ = module.pair_scores(input, groups)``, where ``A[i, j]``
    rewards putting item ``j`` right after item ``i``; prediction ranks by the
    best open path through ``A`` (:func:`best_open_path`). The gold order is
    labels descending, ties in row order. Per list of ``n`` items:

    - **global** (structured max-margin with loss-augmented inference,
      :func:`tsprank_global_loss`): :math:`A' = A + \mu (1 - M^*)`,
      :math:`\hat\pi = \arg\max_\pi S_{A'}(\pi)` found exactly, and
      :math:`L = (S_{A'}(\hat\pi) - S_A(\pi^*)) / n`; lists longer than
      ``dp_max_n`` take the local loss instead;
    - **local**: the successor cross-entropy (:func:`successor_ce`, mean over
      the ``n - 1`` items with a successor) or the weighted pairwise BCE
      (:func:`pairwise_bce`, mean over the ``n^2`` entries);
    - **hybrid**: local and global on alternate training batches, the first
      batch of epoch ``e`` (1-based, from the training engine) local for odd
      ``e`` and global for even ``e``. The loss counts the batches of the
      current epoch itself. Outside training (eval mode or no gradient:
      validation) it reports the global loss and counts nothing, so that the
      validation loss is comparable across epochs.

    The batch loss is the weighted mean of the per-list losses; lists of one
    item contribute nothing. A list's weight is its query's ``sample_weight``
    (constant within a query).

    Input contract: ``input`` the network's per-row embeddings ``(n, d)``,
    ``target`` the relevance labels ``(n,)`` (higher is better), ``groups``
    the query id per row (``None``: one list), ``module`` the network, with a
    ``pair_scores(input, groups)`` method returning ``(A [B, L, L], mask
    [B, L], rows [B, L])`` in :func:`~sklearn_losses.losses._lists.pack_lists`
    order. The estimator ``LossRanker`` builds ``module_class`` (the network)
    when no module is given.

    Parameters
    ----------
    mode : {"hybrid", "global", "local"}, default="hybrid"
        Which loss trains the network (the official code's ``train_mode``).
    local : {"successor_ce", "pairwise_bce"}, default="successor_ce"
        The local loss (the retrieval pipeline's successor cross-entropy or
        the stock pipeline's weighted pairwise BCE).
    dp_max_n : int in [1, 20], default=16
        The longest list the global loss decodes exactly; longer lists take
        the local loss.
    margin : float, default=1.0
        Margin :math:`\mu \ge 0` added to every non-gold arc in
        loss-augmented inference (1 in the official code).
    reduction : {"mean", "sum", "none"}, default="mean"
        Over lists, see :func:`~sklearn_losses.losses._lists.reduce_lists`.

    Notes
    -----
    Only the abstract of the paper was available: its method section, and so
    its own statement of the losses and their weighting, could not be read.
    The losses follow the authors' official code (waylonli/TSPRank-KDD2025):
    the Gurobi solver there is replaced by exact Held-Karp dynamic programming
    (equal optimum) for the global loss; the successor cross-entropy masks
    the diagonal and padded columns and averages over the ``n - 1`` rows
    (the code passes all-zero targets for the last item and, for MQ2008,
    class weights). The official stock pipeline sets the hybrid phase once per
    epoch; this loss alternates per batch, the starting phase flipping every
    epoch, as the authors describe the hybrid mode.

    References
    ----------
    .. [1] J. Li, Y. Li, Y. Zhao et al., "TSPRank: Bridging Pairwise and
       Listwise Methods with a Bilinear Travelling Salesman Model", KDD 2025.
       https://arxiv.org/abs/2411.12064

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.modules.tsprank import TSPRankModule
    >>> _ = torch.manual_seed(0)
    >>> module = TSPRankModule(3, embedding_dim=8, n_layers=0)
    >>> x, y = torch.randn(5, 3), torch.tensor([2.0, 0.0, 1.0, 1.0, 0.0])
    >>> groups = torch.tensor([0, 0, 0, 1, 1])
    >>> loss = TSPRankLoss(mode="global")
    >>> value = loss(module(x, groups=groups), y, groups=groups, module=module)
    >>> bool(value >= 0)
    True
    """

    name = "tsprank"
    tasks = frozenset({"ranking"})
    requires = ("groups", "module", "epoch")
    decomposable = False
    key_parameter = "mode"
    default_grid = {}
    task_hint = "it trains a TSPRank network on lists of items by query (LossRanker)."
    module_class = _OwnModuleClass()

    def __init__(
        self,
        *,
        mode="hybrid",
        local="successor_ce",
        dp_max_n=16,
        margin=1.0,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}; got {mode!r}.")
        if local not in _LOCAL:
            raise ValueError(f"local must be one of {tuple(_LOCAL)}; got {local!r}.")
        _check_dp_max_n(dp_max_n)
        check_real("margin", margin, low=0)
        self.mode = mode
        self.local = local
        self.dp_max_n = dp_max_n
        self.margin = margin
        self._epoch = None
        self._batch = 0

    def _use_global(self, epoch):
        """Whether this call computes the global loss (advances the hybrid
        alternation on training batches)."""
        if self.mode != "hybrid":
            return self.mode == "global"
        if not (self.training and torch.is_grad_enabled()):
            return True
        epoch = (self._epoch or 1) if epoch is None else int(epoch)
        if epoch != self._epoch:
            self._epoch, self._batch = epoch, 0
        use_global = (self._batch + epoch - 1) % 2 == 1
        self._batch += 1
        return use_global

    def pair_loss(self, A, labels, mask=None, *, use_global=None):
        """Per-list losses ``(B,)`` from pair scores ``A [B, L, L]`` (no network).

        ``use_global`` picks the global (True) or local (False) loss; None
        follows ``mode`` (hybrid: the global loss).
        """
        A, labels, mask, _ = _as_batch(A, labels, mask)
        if use_global is None:
            use_global = self.mode != "local"
        local = _LOCAL[self.local](A, labels, mask)
        if not use_global:
            return local
        n = mask.sum(-1)
        short = n <= self.dp_max_n
        if bool(short.all()):
            return _global_terms(A, labels, mask, self.margin, self.dp_max_n)
        terms = local.clone()
        if bool(short.any()):
            idx = torch.nonzero(short).squeeze(1)
            glob = _global_terms(
                A[idx], labels[idx], mask[idx], self.margin, self.dp_max_n
            )
            terms = terms.index_put((idx,), glob)
        return terms

    def forward(
        self, input, target, *, sample_weight=None, groups=None, module=None, epoch=None
    ):
        """The loss of a batch of rows (see the class docstring)."""
        if module is None or not callable(getattr(module, "pair_scores", None)):
            raise TypeError(
                "TSPRankLoss needs module=, the network whose pair_scores(input, "
                "groups) gives the pair scores (a TSPRankModule); got "
                f"{type(module).__name__}."
            )
        if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
            kind = getattr(input, "dtype", type(input).__name__)
            raise TypeError(f"input must be a floating-point torch.Tensor; got {kind}.")
        if not isinstance(target, torch.Tensor):
            raise TypeError(
                f"target must be a torch.Tensor; got {type(target).__name__}."
            )
        n = input.shape[0]
        if target.shape != (n,):
            raise ValueError(
                f"target must have shape ({n},) (one label per row); got "
                f"{tuple(target.shape)}."
            )
        if groups is not None and groups.shape != (n,):
            raise ValueError(
                f"groups must have shape ({n},) (one query id per row); got "
                f"{tuple(groups.shape)}."
            )
        trusted = _TRUSTED_TARGETS.get()
        if not trusted and n and not bool(torch.isfinite(target).all()):
            raise ValueError("target (the relevance labels) must be finite.")
        A, mask, _ = module.pair_scores(input, groups)
        values = [target.to(A.dtype)]
        if sample_weight is not None:
            check_weights(sample_weight)
            if sample_weight.shape != (n,):
                raise ValueError(
                    f"sample_weight must have shape ({n},) (one weight per row); "
                    f"got {tuple(sample_weight.shape)}."
                )
            values.append(sample_weight.to(A.dtype))
        packed, _, _ = pack_lists(groups, *values)
        labels, weight = packed[0], None
        if sample_weight is not None:
            weight = packed[1][:, 0]
            if not trusted and bool(((packed[1] != weight[:, None]) & mask).any()):
                raise ValueError(
                    "sample_weight must be constant within a query (it is the "
                    "query's weight)."
                )
        terms = self.pair_loss(A, labels, mask, use_global=self._use_global(epoch))
        counts = (mask.sum(-1) >= 2).to(terms.dtype)
        return reduce_lists(terms, counts, weight, self.reduction)
