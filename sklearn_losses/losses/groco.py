"""GroCo: group ordering constraints through a relaxed sorting network.

Shvetsova, Petersen, Kukleva, Schiele, Kuehne, "Learning by Sorting:
Self-supervised Learning with Group Ordering Constraints", ICCV 2023.

- :func:`groco_loss`: the loss of explicit positive and negative similarity
  vectors, one row per anchor;
- :class:`GroCoLoss` (``"groco"``): the metric-learning loss of one labelled
  embedding batch (cosine similarities, hardest negatives).

The relaxed sort is :func:`sklearn_losses.modules.diffsort.diff_sort`.
"""

from __future__ import annotations

import numbers

import torch
from torch.nn import functional as F

from ..modules.diffsort import (
    _check_art_lambda,
    _check_distribution,
    _check_network,
    _check_positive,
    diff_sort,
)
from ._embedding import EmbeddingLoss, pair_masks
from ._registry import register_loss

__all__ = ["GroCoLoss", "groco_loss"]

_REDUCTIONS = ("mean", "none")

# The smallest region mass whose log is taken (as the numpy reference: the
# loss of one item is at most -log 1e-12 = 27.6).
_FLOOR = 1e-12


def _group_terms(values, n_neg, steepness, distribution, network, art_lambda):
    """GroCo terms ``(A,)`` of pre-ordered rows ``values (A, n)``.

    Row ``a`` holds its ``n_neg[a]`` negatives ascending, then its positives
    ascending; the ascending sort should put the negatives in the first
    ``n_neg[a]`` positions. Items and positions share this layout.
    """
    n = values.shape[-1]
    _, P = diff_sort(values, network, steepness, distribution, art_lambda)
    positive = torch.arange(n, device=values.device) >= n_neg.unsqueeze(-1)
    target = positive.to(values.dtype)
    p_pos = (P @ target.unsqueeze(-1)).squeeze(-1)
    p_neg = (P @ (1.0 - target).unsqueeze(-1)).squeeze(-1)
    # BCE(p_pos, t_pos) and BCE(p_neg, t_neg) both reduce to -log of the mass
    # an item has in its own region: 1 - p_pos is taken as p_neg (and 1 - p_neg
    # as p_pos), equal since the rows of P sum to 1, and accurate where
    # 1 - p would round to 0. As torch's BCE, the log is capped (at
    # log 1e-12) with its gradient kept.
    own = torch.where(positive, p_pos, p_neg).clamp(0.0, 1.0)
    floor = own.clamp_min(_FLOOR)
    own = own + (floor - own).detach()
    return -torch.log(own).mean(-1)


def _as_rows(value, name):
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        kind = getattr(value, "dtype", type(value).__name__)
        raise TypeError(
            f"{name} must be a floating torch.Tensor of shape (A, k) or (k,); "
            f"got {kind}."
        )
    if value.ndim == 1:
        return value.unsqueeze(0)
    if value.ndim != 2:
        raise ValueError(
            f"{name} must have shape (A, k) (one row per anchor) or (k,); got "
            f"shape {tuple(value.shape)}."
        )
    return value


def groco_loss(
    pos,
    neg,
    steepness=1.0,
    distribution="cauchy",
    network="odd_even",
    art_lambda=0.25,
    reduction="mean",
):
    r"""GroCo loss of explicit positive and negative similarities.

    Per anchor, with positives' similarities :math:`s^+` (``k_pos`` of them)
    and negatives' :math:`s^-` (``k_neg``): the two groups are each sorted
    ascending and concatenated, :math:`v = [\mathrm{sort}(s^-);
    \mathrm{sort}(s^+)]` (so a separated input is already sorted), and
    relaxed-sorted ascending into :math:`P` (``P[i, j]``: weight of item
    ``i`` at position ``j``, :func:`~sklearn_losses.modules.diffsort.
    diff_sort`). The correct result puts the negatives in the first
    ``k_neg`` positions. Per item :math:`i`,

    .. math::

        p^+_i = \mathrm{clip}\Big(\sum_{j \ge k_{neg}} P_{ij}, 0, 1\Big), \quad
        p^-_i = \mathrm{clip}\Big(\sum_{j < k_{neg}} P_{ij}, 0, 1\Big),

        L = \tfrac12 \big[\mathrm{BCE}(p^+, t^+) + \mathrm{BCE}(p^-, 1 - t^+)\big]

    with :math:`t^+_i = 1` for the positives and each BCE a mean over the
    ``k_neg + k_pos`` items. Since the rows of :math:`P` sum to 1,
    :math:`1 - p^+ = p^-`: both BCEs equal the mean of :math:`-\log` of each
    item's mass in its own region, computed so (no rounding of
    :math:`1 - p` to 0 in float32); the log is capped at
    :math:`\log 10^{-12}` (a region mass below :math:`10^{-12}` keeps the
    gradient at :math:`10^{-12}`, as torch's BCE does).

    Parameters
    ----------
    pos : torch.Tensor of shape (A, k_pos) or (k_pos,)
        Similarities of each anchor to its positives (any order).
    neg : torch.Tensor of shape (A, k_neg) or (k_neg,)
        Similarities of each anchor to its negatives (any order).
    steepness : float, default=1.0
        Inverse temperature of the soft swaps (GroCo: 1).
    distribution : str, default="cauchy"
        The soft-swap interpolation, one of
        :data:`~sklearn_losses.modules.diffsort.DISTRIBUTIONS`.
    network : {"odd_even", "bitonic"}, default="odd_even"
        The sorting network.
    art_lambda : float, default=0.25
        The exponent of ``"logistic_phi"``.
    reduction : {"mean", "none"}, default="mean"
        The mean over anchors, or the ``(A,)`` terms. With no positive or no
        negative (``k = 0``) every term is 0.

    Returns
    -------
    torch.Tensor
        A scalar, or ``(A,)`` terms.

    Examples
    --------
    >>> import torch
    >>> pos = torch.tensor([0.4, 0.9], dtype=torch.float64)
    >>> neg = torch.tensor([0.1, 0.3, 0.5], dtype=torch.float64)
    >>> round(float(groco_loss(pos, neg)), 7)
    0.4272172
    """
    pos, neg = _as_rows(pos, "pos"), _as_rows(neg, "neg")
    if pos.shape[0] != neg.shape[0]:
        raise ValueError(
            "pos and neg must have one row per anchor each; got "
            f"{pos.shape[0]} and {neg.shape[0]} rows."
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}; got {reduction!r}.")
    _check_network(network)
    _check_distribution(distribution)
    steepness = _check_positive(steepness, "steepness")
    art_lambda = _check_art_lambda(art_lambda)
    dtype = torch.promote_types(pos.dtype, neg.dtype)
    n_anchors, k_pos, k_neg = pos.shape[0], pos.shape[1], neg.shape[1]
    if k_pos == 0 or k_neg == 0:
        # Nothing to separate: 0, with zero gradients.
        terms = (pos.sum(-1) + neg.sum(-1)).to(dtype) * 0.0
    else:
        values = torch.cat(
            [neg.to(dtype).sort(-1).values, pos.to(dtype).sort(-1).values], dim=-1
        )
        n_neg = torch.full((n_anchors,), k_neg, device=values.device)
        terms = _group_terms(
            values, n_neg, steepness, distribution, network, art_lambda
        )
    if reduction == "none":
        return terms
    return terms.mean() if n_anchors else terms.sum()


def _check_cap(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1 or None; got {value!r}.")
    return int(value)


@register_loss
class GroCoLoss(EmbeddingLoss):
    r"""GroCo (group ordering constraints) on a labelled embedding batch.

    For each anchor :math:`i` the candidates are the other rows of the batch,
    scored by cosine similarity (no temperature): its positives are the rows
    of its class, at most ``max_pos`` of them, the *least* similar ones (the
    hardest positives, as the negatives are the hardest negatives; ours: the
    paper's positives are an image's other views, too few to choose from);
    its negatives are its ``topk_neg`` *most* similar rows of other classes.
    The anchor's term is :func:`groco_loss` of these two groups: both sorted
    ascending and concatenated (negatives first), relaxed-sorted by an
    odd-even network, and scored by whether each item lands in its group's
    region:

    .. math::

        \ell_i = \tfrac12 \big[\mathrm{BCE}(p^+, t^+) + \mathrm{BCE}(p^-, t^-)\big],
        \quad p^+_k = \mathrm{clip}\Big(\sum_{j \ge k_{neg}} P_{kj}, 0, 1\Big),

    :math:`p^-` the same over the first :math:`k_{neg}` positions,
    :math:`t^+` the positives' indicator and :math:`t^- = 1 - t^+`; each BCE
    is a mean over the anchor's :math:`k_{neg} + k_{pos}` items. The loss is
    the mean over anchors with at least one positive and one negative
    (counts 1); the others contribute nothing, and a batch without any gives
    0 with zero gradients. A sample weight is the weight of the row as an
    anchor (see :func:`~sklearn_losses.losses._embedding.reduce_anchors`).

    Anchors whose numbers of positives and negatives add up to different
    lengths need networks of different sizes: they are bucketed by length
    and each bucket is sorted in one batched call (with ``m`` rows per class
    in every batch, all anchors share one length). A list of length
    :math:`n` costs :math:`O(n^3)` with the odd-even network, so keep
    ``topk_neg`` and ``max_pos`` small.

    Parameters
    ----------
    topk_neg : int or None, default=10
        Negatives kept per anchor, the most similar (GroCo: 10); None: all.
    max_pos : int or None, default=10
        Positives kept per anchor, the least similar; None: all.
    steepness : float, default=1.0
        Inverse temperature :math:`\beta` of the soft swaps (GroCo: 1;
        larger sorts harder, with vanishing gradients far from the boundary).
    distribution : str, default="cauchy"
        The soft-swap interpolation, one of
        :data:`~sklearn_losses.modules.diffsort.DISTRIBUTIONS`.
    network : {"odd_even", "bitonic"}, default="odd_even"
        The sorting network.
    art_lambda : float, default=0.25
        The exponent of ``"logistic_phi"``.
    stop_grad : bool, default=True
        Detach the candidates' side of the similarities, so that gradients
        flow through the anchor only (as GroCo's configuration does); every
        row still receives gradients as an anchor.

    References
    ----------
    N. Shvetsova, F. Petersen, A. Kukleva, B. Schiele, H. Kuehne. Learning by
    Sorting: Self-supervised Learning with Group Ordering Constraints. ICCV
    2023. F. Petersen, C. Borgelt, H. Kuehne, O. Deussen. Monotonic
    Differentiable Sorting Networks. ICLR 2022.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> z = torch.randn(8, 4, requires_grad=True)
    >>> y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    >>> loss = GroCoLoss(topk_neg=4)(z, y)
    >>> loss.backward()
    >>> bool(loss > 0), z.grad.shape
    (True, torch.Size([8, 4]))
    """

    name = "groco"
    key_parameter = "steepness"
    default_grid = {"steepness": [1.0, 5.0]}

    def __init__(
        self,
        topk_neg=10,
        max_pos=10,
        steepness=1.0,
        distribution="cauchy",
        network="odd_even",
        art_lambda=0.25,
        stop_grad=True,
    ):
        super().__init__()
        _check_cap(topk_neg, "topk_neg")
        _check_cap(max_pos, "max_pos")
        _check_positive(steepness, "steepness")
        _check_distribution(distribution)
        _check_network(network)
        _check_art_lambda(art_lambda)
        if not isinstance(stop_grad, bool):
            raise TypeError(f"stop_grad must be a bool; got {stop_grad!r}.")
        self.topk_neg = topk_neg
        self.max_pos = max_pos
        self.steepness = steepness
        self.distribution = distribution
        self.network = network
        self.art_lambda = art_lambda
        self.stop_grad = stop_grad

    def anchor_terms(self, embeddings, labels, **context):
        """``(terms, counts)``: each anchor's GroCo term, count 1 when it has a
        positive and a negative, else 0."""
        candidates = embeddings.detach() if self.stop_grad else embeddings
        positive, negative = pair_masks(labels)
        return self._terms(embeddings, candidates, positive, negative)

    def _terms(self, anchors, candidates, positive, negative):
        """``(terms, counts)`` of ``anchors (B, d)`` against ``candidates
        (M, d)`` with boolean ``positive`` and ``negative`` masks ``(B, M)``."""
        sims = F.normalize(anchors, dim=-1) @ F.normalize(candidates, dim=-1).T
        k_pos = positive.sum(1)
        k_neg = negative.sum(1)
        if self.max_pos is not None:
            k_pos = k_pos.clamp(max=self.max_pos)
        if self.topk_neg is not None:
            k_neg = k_neg.clamp(max=self.topk_neg)
        valid = (k_pos > 0) & (k_neg > 0)
        counts = valid.to(sims.dtype)
        terms = sims.new_zeros(sims.shape[0])
        if not bool(valid.any()):
            # No anchor to learn from: zero terms that still reach the input.
            return terms + 0.0 * sims.sum(), counts
        rows = torch.nonzero(valid).flatten()
        sims, positive, negative = sims[rows], positive[rows], negative[rows]
        k_pos, k_neg = k_pos[rows], k_neg[rows]
        # Positives ascending (the least similar first), negatives descending
        # (the most similar first); row r uses its first k_pos[r] / k_neg[r].
        pos = sims.masked_fill(~positive, float("inf"))
        pos = pos.topk(int(k_pos.max()), dim=1, largest=False, sorted=True).values
        neg = sims.masked_fill(~negative, float("-inf"))
        neg = neg.topk(int(k_neg.max()), dim=1, largest=True, sorted=True).values
        lengths = k_pos + k_neg
        for length in torch.unique(lengths).tolist():
            bucket = torch.nonzero(lengths == length).flatten()
            b_neg = k_neg[bucket].unsqueeze(1)
            j = torch.arange(length, device=sims.device).unsqueeze(0)
            # [negatives ascending ; positives ascending]
            from_neg = neg[bucket].gather(1, (b_neg - 1 - j).clamp(0, neg.shape[1] - 1))
            from_pos = pos[bucket].gather(1, (j - b_neg).clamp(0, pos.shape[1] - 1))
            values = torch.where(j < b_neg, from_neg, from_pos)
            bucket_terms = _group_terms(
                values,
                b_neg.squeeze(1),
                self.steepness,
                self.distribution,
                self.network,
                self.art_lambda,
            )
            terms = terms.index_put((rows[bucket],), bucket_terms)
        return terms, counts
