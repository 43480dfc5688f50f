r"""TSPRank (Li et al., KDD 2025): a ranking as the best open path through items.

A TSPRank network scores every ordered pair of items of a list,
:math:`A_{ij}` = the reward for putting item ``j`` *immediately after* item
``i``, and ranks the list by the open Hamiltonian path of maximum total
weight (free start and end; first = best):

.. math::

    \hat\pi = \arg\max_\pi S_A(\pi), \qquad
    S_A(\pi) = \sum_{k=1}^{n-1} A_{\pi_k \pi_{k+1}}.

This module holds the training losses; the network and the path decoders
(:func:`~sklearn_losses.modules.tsprank.exact_open_path`, Held-Karp dynamic
programming; :func:`~sklearn_losses.modules.tsprank.heuristic_open_path`,
greedy successors and local search; :func:`~sklearn_losses.modules.tsprank.best_paths`
for a padded batch) are in :mod:`sklearn_losses.modules.tsprank`:

- :func:`tsprank_global_loss`, :func:`successor_ce`, :func:`pairwise_bce`:
  the global (structured max-margin) and local losses on pair scores;
- :class:`TSPRankLoss`: the registered loss (``"tsprank"``), which gets the
  pair scores from its network (:class:`~sklearn_losses.modules.TSPRankModule`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._validation import check_real
from ..modules.tsprank import DP_MAX_N, TSPRankModule, _check_dp_max_n, best_paths
from ._base import _TRUSTED_TARGETS, BaseLoss, check_weights
from ._lists import pack_lists, reduce_lists
from ._registry import register_loss

__all__ = [
    "TSPRankLoss",
    "pairwise_bce",
    "successor_ce",
    "tsprank_global_loss",
]


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

    with :math:`\hat\pi` found exactly
    (:func:`~sklearn_losses.modules.tsprank.exact_open_path`, batched).
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


def successor_ce(A, labels, mask=None, *, ties="stable"):
    r"""Successor cross-entropy: each gold item should pick its gold successor.

    For every item ``i`` but the last of the gold order, a softmax over the
    row :math:`A_{i\cdot}` (the diagonal and padded columns masked) should put
    its mass on the gold successor :math:`\text{succ}(i)`:

    .. math::

        L = \frac{1}{n - 1} \sum_{i \ne \pi^*_n}
        -\log \frac{e^{A_{i,\text{succ}(i)}}}{\sum_{j \ne i} e^{A_{ij}}}.

    With tied labels the gold order within a tie is arbitrary. ``ties="any"``
    lets item ``i`` put its mass on any item that follows it in *some* order
    of the labels: the other items of its label and those of the next lower
    label, :math:`-\log \sum_{j \in S(i)} p_{ij}`, averaged over the items
    with such a successor (without ties, the same loss).

    Parameters
    ----------
    A : torch.Tensor of shape (n, n) or (B, L, L)
    labels : torch.Tensor of shape (n,) or (B, L)
    mask : torch.Tensor of shape (n,) or (B, L), default=None
    ties : {"stable", "any"}, default="stable"
        ``"stable"``: tied items in item order (the official code);
        ``"any"``: every order of tied items is right.

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
    _check_ties(ties)
    A, labels, mask, single = _as_batch(A, labels, mask)
    terms = _successor_ce_terms(A, labels, mask, ties)
    return terms[0] if single else terms


_TIES = ("stable", "any")


def _check_ties(ties):
    if ties not in _TIES:
        raise ValueError(f"ties must be one of {_TIES}; got {ties!r}.")


def _tie_successors(labels, mask):
    """``[B, L, L]`` bool: ``j`` may directly follow ``i`` in an order of the
    labels (descending): ``j``'s label is ``i``'s (``j != i``) or the next lower
    label of the list."""
    with torch.no_grad():
        both = mask[:, :, None] & mask[:, None, :]
        lower = both & (labels[:, None, :] < labels[:, :, None])
        below = torch.where(lower, labels[:, None, :], -torch.inf).amax(-1)
        eye = torch.eye(labels.shape[-1], dtype=torch.bool, device=labels.device)
        same = both & (labels[:, None, :] == labels[:, :, None]) & ~eye
        return same | (both & (labels[:, None, :] == below[:, :, None]))


def _successor_ce_terms(A, labels, mask, ties="stable"):
    L = A.shape[-1]
    eye = torch.eye(L, dtype=torch.bool, device=A.device)
    allowed = mask[:, None, :] & ~eye
    floor = torch.finfo(A.dtype).min / 4
    logits = A.masked_fill(~allowed, floor)
    if ties == "any":
        targets = _tie_successors(labels, mask)
        rows = targets.any(-1)
        picked = torch.logsumexp(logits.masked_fill(~targets, floor), dim=-1)
        nll = torch.logsumexp(logits, dim=-1) - picked
        total = torch.where(rows, nll, 0.0).sum(-1)
        count = rows.sum(-1).to(A.dtype)
        return torch.where(count > 0, total / count.clamp_min(1.0), 0.0)
    _, _, gold = _gold(labels, mask)
    log_p = torch.log_softmax(logits, dim=-1)
    rows = gold.sum(-1) > 0  # items with a gold successor
    nll = -(log_p * gold).sum(-1)
    n = mask.sum(-1).to(A.dtype)
    total = torch.where(rows, nll, 0.0).sum(-1)
    return torch.where(n >= 2, total / (n - 1).clamp_min(1.0), 0.0)


def pairwise_bce(A, labels, mask=None, *, ties="stable"):
    r"""Weighted pairwise BCE: :math:`\sigma(A_{ij})` should say ``i`` ranks
    above ``j``.

    With gold ranks :math:`r` (1 = best, ties in item order),

    .. math::

        L = \frac{1}{n^2} \sum_{i, j} \frac{|r_i - r_j|}{n / 2}\,
        \mathrm{BCE}\big(\sigma(A_{ij}), [r_i < r_j]\big),

    averaged over all :math:`n^2` entries (the diagonal has weight 0), as the
    official stock pipeline computes it. ``ties="any"`` leaves out the pairs
    of tied items (whose order is arbitrary).

    Parameters
    ----------
    A : torch.Tensor of shape (n, n) or (B, L, L)
    labels : torch.Tensor of shape (n,) or (B, L)
    mask : torch.Tensor of shape (n,) or (B, L), default=None
    ties : {"stable", "any"}, default="stable"
        ``"stable"``: tied items in item order (the official code);
        ``"any"``: no target between tied items.

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
    _check_ties(ties)
    A, labels, mask, single = _as_batch(A, labels, mask)
    terms = _pairwise_bce_terms(A, labels, mask, ties)
    return terms[0] if single else terms


def _pairwise_bce_terms(A, labels, mask, ties="stable"):
    _, rank, _ = _gold(labels, mask)
    n = mask.sum(-1).to(A.dtype)
    r = rank.to(A.dtype)
    both = mask[:, :, None] & mask[:, None, :]
    if ties == "any":
        both = both & (labels[:, :, None] != labels[:, None, :])
    target = (r[:, :, None] < r[:, None, :]).to(A.dtype)
    weight = (r[:, :, None] - r[:, None, :]).abs() / (0.5 * n.clamp_min(1.0))[
        :, None, None
    ]
    bce = F.binary_cross_entropy_with_logits(A, target, reduction="none")
    total = torch.where(both, weight * bce, 0.0).sum((1, 2))
    return torch.where(n >= 2, total / (n * n).clamp_min(1.0), 0.0)


_LOCAL = {"successor_ce": _successor_ce_terms, "pairwise_bce": _pairwise_bce_terms}
_MODES = ("hybrid", "global", "local")


@register_loss
class TSPRankLoss(BaseLoss):
    r"""TSPRank training loss: local pair losses and a global max-margin path loss.

    The network (:class:`~sklearn_losses.modules.TSPRankModule`) embeds each
    row; this loss asks it for the pair scores of every list,
    ``A, mask, _ = module.pair_scores(input, groups)``, where ``A[i, j]``
    rewards putting item ``j`` right after item ``i``; prediction ranks by the
    best open path through ``A``
    (:func:`~sklearn_losses.modules.tsprank.best_open_path`). The gold order
    is labels descending, ties in row order. Per list of ``n`` items:

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
    ties : {"any", "stable"}, default="any"
        Tied labels in the local loss: ``"any"`` takes every order of tied
        items as right (a successor may be any item of the same or the next
        lower label; no pair target between tied items); ``"stable"`` orders
        them by row, as the official code does. Graded labels tie often, and a
        row order is noise to the network. The global loss uses the stable
        gold path either way.
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
    module_class = TSPRankModule

    def __init__(
        self,
        *,
        mode="hybrid",
        local="successor_ce",
        ties="any",
        dp_max_n=16,
        margin=1.0,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        _check_ties(ties)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}; got {mode!r}.")
        if local not in _LOCAL:
            raise ValueError(f"local must be one of {tuple(_LOCAL)}; got {local!r}.")
        _check_dp_max_n(dp_max_n)
        check_real("margin", margin, low=0)
        self.mode = mode
        self.local = local
        self.ties = ties
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
        local = _LOCAL[self.local](A, labels, mask, self.ties)
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
        if input.ndim != 2:
            raise ValueError(
                "input must be the network's row embeddings, shape (n_rows, "
                f"embedding_dim); got {tuple(input.shape)}."
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
        if not trusted and n and not bool(torch.isfinite(input.detach()).all()):
            raise ValueError("input (the row embeddings) must be finite.")
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
