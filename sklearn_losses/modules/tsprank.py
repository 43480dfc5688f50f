"""The TSPRank network and its decoders.

:class:`TSPRankModule` embeds the items of a list in context and scores every
ordered pair with a bilinear form, :math:`A_{ij}` = the reward for putting item
``j`` immediately after item ``i``. A list is ranked by the open Hamiltonian
path of maximum total weight (free start and end, first = best):

- :func:`exact_open_path`: Held-Karp dynamic programming, exact, vectorised
  over subsets and ends, up to ``n = 20`` items;
- :func:`heuristic_open_path`: greedy successors and local search
  (relocate and swap moves, no segment reversal), deterministic, any ``n``;
- :func:`best_open_path`: exact up to ``dp_max_n`` items, heuristic beyond;
- :func:`best_paths`: the best path of every list of a padded ``[B, L, L]``
  batch, lists of equal length solved together.

The training losses are in :mod:`sklearn_losses.losses.tsprank`.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import torch
from torch import nn

from ._packing import pack_lists, unpack_lists
from .mlp import MLP

__all__ = [
    "DP_MAX_N",
    "TSPRankModule",
    "best_open_path",
    "best_paths",
    "exact_open_path",
    "heuristic_open_path",
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


def _check_int(name, value, low):
    if not (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= low
    ):
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")
    return int(value)


class TSPRankModule(nn.Module):
    r"""TSPRank network: embeds the rows of each query, scores every ordered pair.

    ``forward(x, groups)`` gives one embedding :math:`h_i` per row: an MLP
    projection of the features to ``embedding_dim``, then (``n_layers > 0``) a
    Transformer encoder over the rows of each query (padding masked, no
    positional encoding, so a query's rows are a set). ``pair_scores(h,
    groups)`` turns them into directed pair scores

    .. math::

        A_{ij} = h_i^\top W h_j + b,

    the reward for putting item ``j`` immediately after item ``i`` (one
    ``nn.Bilinear(d, d, 1)``, permutation-equivariant). ``rank_scores(x,
    groups)`` ranks each query by its best open path through ``A``
    (:func:`~sklearn_losses.losses.tsprank.best_open_path`: exact up to
    ``dp_max_n`` items) and returns ``n - position`` per row (the first item
    gets ``n - 1``, the last 0), so that higher is better. Train it with
    :class:`~sklearn_losses.losses.TSPRankLoss`.

    Parameters
    ----------
    n_features : int
        Input width (set by the estimator from ``X``).
    embedding_dim : int, default=64
        Width ``d`` of the embeddings (``n_outputs``); a multiple of
        ``n_heads`` when ``n_layers > 0``.
    hidden_layer_sizes : sequence of int, default=(64,)
        Hidden widths of the ReLU projection MLP; empty for a linear one.
    n_layers : int, default=1
        Transformer encoder layers over each query (0: no context).
    n_heads : int, default=4
        Attention heads.
    dim_feedforward : int, default=128
        Width of the encoder's feed-forward layers.
    dropout : float in [0, 1), default=0.1
        Dropout of the projection and the encoder.
    separate_triangles : bool, default=False
        Use the official code's two bilinear comparators: one for the pairs
        ``i < j`` (upper triangle by row order within the query) and one for
        ``i > j``. The scores then depend on the order of the rows; the
        default single comparator does not.
    dp_max_n : int in [1, 20], default=16
        The longest query ``rank_scores`` decodes exactly; longer queries use
        the greedy and local-search heuristic.

    Attributes
    ----------
    n_outputs : int
        ``embedding_dim``.
    takes_groups : bool
        True: the module is called as ``module(x, groups=g)`` with whole
        queries.

    Notes
    -----
    In ``A`` the diagonal (an item after itself) and the rows and columns of
    padded slots are 0; every consumer reads the real items only, through the
    returned mask. All weights with more than one dimension start
    Xavier-uniform, as in the official code.

    References
    ----------
    .. [1] J. Li et al., "TSPRank: Bridging Pairwise and Listwise Methods with
       a Bilinear Travelling Salesman Model", KDD 2025.
       https://arxiv.org/abs/2411.12064

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> module = TSPRankModule(3, embedding_dim=8, n_heads=2).eval()
    >>> x, groups = torch.randn(5, 3), torch.tensor([0, 0, 0, 1, 1])
    >>> module(x, groups=groups).shape
    torch.Size([5, 8])
    >>> A, mask, rows = module.pair_scores(module(x, groups=groups), groups)
    >>> A.shape, mask.tolist()
    (torch.Size([2, 3, 3]), [[True, True, True], [True, True, False]])
    >>> sorted(module.rank_scores(x, groups).tolist())
    [0.0, 0.0, 1.0, 1.0, 2.0]
    """

    takes_groups = True

    def __init__(
        self,
        n_features,
        *,
        embedding_dim=64,
        hidden_layer_sizes=(64,),
        n_layers=1,
        n_heads=4,
        dim_feedforward=128,
        dropout=0.1,
        separate_triangles=False,
        dp_max_n=16,
    ):
        super().__init__()
        _check_int("n_features", n_features, 1)
        _check_int("embedding_dim", embedding_dim, 1)
        _check_int("n_layers", n_layers, 0)
        _check_int("n_heads", n_heads, 1)
        _check_int("dim_feedforward", dim_feedforward, 1)
        try:
            sizes = tuple(hidden_layer_sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s >= 1
            for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of ints >= 1; got "
                f"{hidden_layer_sizes!r}."
            )
        if not (
            isinstance(dropout, numbers.Real)
            and not isinstance(dropout, bool)
            and 0.0 <= dropout < 1.0
        ):
            raise ValueError(f"dropout must be a float in [0, 1); got {dropout!r}.")
        if n_layers and embedding_dim % n_heads:
            raise ValueError(
                f"embedding_dim must be a multiple of n_heads when n_layers > 0; "
                f"got embedding_dim={embedding_dim}, n_heads={n_heads}."
            )
        if not isinstance(separate_triangles, bool):
            raise ValueError(
                f"separate_triangles must be True or False; got {separate_triangles!r}."
            )
        _check_dp_max_n(dp_max_n)
        self.n_features = n_features
        self.embedding_dim = embedding_dim
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.separate_triangles = separate_triangles
        self.dp_max_n = dp_max_n
        self.n_outputs = embedding_dim
        self.projection = MLP(n_features, embedding_dim, sizes, dropout=dropout)
        self.encoder = None
        if n_layers:
            layer = nn.TransformerEncoderLayer(
                embedding_dim,
                n_heads,
                dim_feedforward=dim_feedforward,
                dropout=dropout,
                batch_first=True,
            )
            self.encoder = nn.TransformerEncoder(
                layer, n_layers, enable_nested_tensor=False
            )
        self.comparator = nn.Bilinear(embedding_dim, embedding_dim, 1)
        self.lower_comparator = (
            nn.Bilinear(embedding_dim, embedding_dim, 1) if separate_triangles else None
        )
        for param in self.parameters():
            if param.dim() > 1:
                nn.init.xavier_uniform_(param)

    def forward(self, x, groups=None):
        """Per-row embeddings ``(n, embedding_dim)``, each in its query's context.

        ``groups`` holds a query id per row (rows of a query anywhere);
        ``None`` makes the whole input one query.
        """
        h = self.projection(x)
        if h.ndim == 1:  # embedding_dim = 1: the MLP drops the last axis
            h = h.unsqueeze(-1)
        if self.encoder is None:
            return h
        (packed,), mask, rows = pack_lists(groups, h)
        packed = self.encoder(packed, src_key_padding_mask=~mask)
        return unpack_lists(packed, mask, rows, h.shape[0])

    def _bilinear(self, comparator, packed):
        weight, bias = comparator.weight[0], comparator.bias[0]
        return torch.einsum("bid,de,bje->bij", packed, weight, packed) + bias

    def pair_scores(self, h, groups=None):
        """Directed pair scores of every query.

        Parameters
        ----------
        h : torch.Tensor of shape (n, embedding_dim)
            The output of :meth:`forward`.
        groups : torch.Tensor of shape (n,), default=None
            Query id per row (None: one query).

        Returns
        -------
        A : torch.Tensor of shape (B, L, L)
            ``A[b, i, j]``: reward for slot ``j`` right after slot ``i`` in
            query ``b`` (queries in id order, rows in batch order); 0 on the
            diagonal and in padded rows and columns.
        mask : torch.Tensor of shape (B, L)
            True for real items.
        rows : torch.Tensor of shape (B, L)
            The batch row of each slot (see
            :func:`~sklearn_losses.losses._lists.unpack_lists`).
        """
        (packed,), mask, rows = pack_lists(groups, h)
        A = self._bilinear(self.comparator, packed)
        if self.lower_comparator is not None:
            lower = self._bilinear(self.lower_comparator, packed)
            A = torch.triu(A) + torch.tril(lower, -1)
        L = A.shape[-1]
        keep = mask[:, :, None] & mask[:, None, :]
        keep = keep & ~torch.eye(L, dtype=torch.bool, device=A.device)
        return A.masked_fill(~keep, 0.0), mask, rows

    def rank_scores(self, x, groups=None):
        """Ranking scores ``(n,)``: ``n - position`` in the query's best path.

        Runs in eval mode without gradient (the module's mode is restored).
        """
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                h = self(x, groups)
                A, mask, rows = self.pair_scores(h, groups)
            paths = best_paths(A, mask, dp_max_n=self.dp_max_n)
        finally:
            self.train(was_training)
        scores = torch.zeros(mask.shape, dtype=h.dtype, device=h.device)
        for b, path in enumerate(paths):
            n = len(path)
            position = torch.as_tensor(path, device=h.device)
            scores[b, position] = torch.arange(
                n - 1, -1, -1, dtype=h.dtype, device=h.device
            )
        return unpack_lists(scores, mask, rows, x.shape[0])
