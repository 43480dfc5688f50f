"""Lists for ranking losses: rows grouped by query id into padded, masked tensors.

A ranking batch arrives flat: one score, one relevance label and one query id
per row, the rows of a query anywhere in the batch. :func:`pack_lists` turns
it into the ``[B, L]`` layout the ranking losses compute on (``B`` queries,
``L`` the longest of them) with a boolean ``mask`` of the real items, never a
sentinel label. :class:`RankingLoss` is the base class of the losses on that
layout: it packs, asks the loss for per-list terms and reduces them in one
place, :func:`reduce_lists`.
"""

from __future__ import annotations

import torch

from ..modules._packing import pack_lists, unpack_lists
from ._base import _TRUSTED_TARGETS, BaseLoss, check_weights

__all__ = [
    "RankingLoss",
    "pack_lists",
    "unpack_lists",
    "reduce_lists",
    "score_ranks",
    "pair_mask",
    "masked_scores",
    "dcg_gains",
    "scaled_exp2_gains",
    "ideal_dcg",
    "list_ndcg",
    "plackett_luce_nll",
    "prefix_logsumexp",
    "ordered_sum",
]

_LIST_REDUCTIONS = ("mean", "sum", "none")


def masked_scores(scores, mask):
    """Scores with padded slots at a huge *finite* negative value.

    ``finfo.min / 4`` drops out of every log-sum-exp (its ``exp`` underflows to
    exactly 0) without the ``-inf - (-inf) = NaN`` of an infinite fill, which
    would poison the backward pass even under ``torch.where``.
    """
    return scores.masked_fill(~mask, torch.finfo(scores.dtype).min / 4)


def score_ranks(scores, mask):
    """1-based ranks by descending score, ties in item order, padding last.

    Computed without gradient (ranks are constants of the losses that use
    them).
    """
    with torch.no_grad():
        order = torch.argsort(
            masked_scores(scores, mask), dim=-1, descending=True, stable=True
        )
        ranks = torch.empty_like(order)
        positions = torch.arange(1, scores.shape[-1] + 1, device=scores.device)
        ranks.scatter_(-1, order, positions.expand_as(order))
    return ranks


def pair_mask(labels, mask):
    """``[B, L, L]``: True where item ``i`` is strictly more relevant than ``j``
    and both are real items (tied labels form no pair)."""
    both = mask.unsqueeze(-1) & mask.unsqueeze(-2)
    return both & (labels.unsqueeze(-1) > labels.unsqueeze(-2))


def dcg_gains(labels, gain):
    """``2**y - 1`` (``gain="exp2"``) or ``y`` (``gain="linear"``)."""
    if gain == "exp2":
        return torch.exp2(labels) - 1.0
    if gain == "linear":
        return labels
    raise ValueError(f"gain must be 'exp2' or 'linear'; got {gain!r}.")


def scaled_exp2_gains(labels, mask):
    """``2**y - 1`` divided by ``2**max(y)`` of each list, 0 in padded slots.

    ``2**(y - m) - 2**(-m)`` with ``m`` the list's largest label: the gains of
    a list up to one positive factor, which every normalised use (gains over
    the ideal DCG) cancels; finite for any label, where ``2**y`` overflows
    float32 from ``y = 128``.
    """
    if labels.shape[-1] == 0:
        return labels.clone()
    top = labels.masked_fill(~mask, -torch.inf).amax(-1, keepdim=True)
    top = torch.where(torch.isfinite(top), top, 0.0)
    gains = torch.exp2(labels - top) - torch.exp2(-top)
    return gains.masked_fill(~mask, 0.0)


def _discounts(length, like):
    return 1.0 / torch.log2(
        torch.arange(2, length + 2, device=like.device, dtype=like.dtype)
    )


def ideal_dcg(labels, mask, gain="exp2", k=None):
    """DCG of the ideal order of each list, ``[B]`` (0 for lists without gain)."""
    gains = dcg_gains(labels, gain).masked_fill(~mask, 0.0)
    best = torch.sort(gains, dim=-1, descending=True).values
    disc = _discounts(labels.shape[-1], labels)
    if k is not None:
        disc = disc.masked_fill(
            torch.arange(disc.shape[0], device=disc.device) >= k, 0.0
        )
    return (best * disc).sum(-1)


def list_ndcg(scores, labels, mask, *, k=None, gain="exp2"):
    """NDCG@k of each list, ``[B]``, ties in the scores broken by item order.

    A list whose ideal DCG is 0 (no relevant item) gets 0, as
    :func:`sklearn.metrics.ndcg_score` gives. No gradient flows (the order is
    discrete); the differentiable surrogates are the ranking losses.
    """
    with torch.no_grad():
        ranks = score_ranks(scores, mask)
        gains = dcg_gains(labels, gain).masked_fill(~mask, 0.0)
        disc = 1.0 / torch.log2(ranks.to(scores.dtype) + 1.0)
        if k is not None:
            disc = disc.masked_fill(ranks > k, 0.0)
        dcg = (gains * disc).sum(-1)
        idcg = ideal_dcg(labels, mask, gain, k)
        return torch.where(
            idcg > 0, dcg / idcg.clamp_min(torch.finfo(idcg.dtype).tiny), 0.0
        )


def plackett_luce_nll(scores, order, mask):
    """Plackett-Luce negative log-likelihood of an order of each list, ``[B]``.

    .. math::

        -\\log P(\\pi \\mid s) = \\sum_{k=1}^{n}
        \\Big[\\log \\sum_{m \\ge k} e^{s_{\\pi(m)}} - s_{\\pi(k)}\\Big]

    Parameters
    ----------
    scores : torch.Tensor of shape (B, L)
    order : torch.Tensor of shape (B, L)
        Item indices, best first, the padded items of a list after its real
        ones (a permutation of ``0..L-1`` per list).
    mask : torch.Tensor of shape (B, L)
        True for real items.

    The log-sum-exp runs over suffixes (:func:`prefix_logsumexp` on the
    reversed order) on scores whose padded slots hold a finite fill
    (:func:`masked_scores`), so padding adds exactly 0 and no NaN reaches the
    gradient. A list of one item gives 0.
    """
    last_first = order.flip(-1)  # suffix sums as prefix sums: no flip of values
    ordered = torch.gather(masked_scores(scores, mask), -1, last_first)
    real = torch.gather(mask, -1, last_first)
    tails = prefix_logsumexp(ordered, real)
    return ordered_sum(torch.where(real, tails - ordered, 0.0))


#: Largest spread of a list's scores for which :func:`prefix_logsumexp` sums
#: ``exp(s - max)`` directly: ``exp(-60)`` is far above float32's smallest
#: normal number, so no term underflows.
_EXP_SPREAD = 60.0


def prefix_logsumexp(values, real):
    """``log sum_{j <= k} exp(values_j)`` over the real items, ``[B, L]``.

    The padded items must come first in each list (as :func:`plackett_luce_nll`
    lays them out); their entries are 0 and carry no gradient. When every list's
    real values span at most 60 this is ``m + log(cumsum(exp(v - m)))`` with
    ``m`` the list's maximum (a constant shift; no term underflows), else
    ``torch.logcumsumexp``, exact at any spread and several times slower on
    the CPU.
    """
    if values.shape[-1] == 0:
        return values.clone()
    low = values.masked_fill(~real, torch.inf).amin(-1, keepdim=True)
    high = values.masked_fill(~real, -torch.inf).amax(-1, keepdim=True)
    if not bool(((high - low) <= _EXP_SPREAD).all()):
        return torch.logcumsumexp(values, dim=-1)
    shift = torch.where(real.any(-1, keepdim=True), high, 0.0).detach()
    terms = torch.where(real, torch.exp(values - shift), 0.0)
    # log(1) = 0 in the padded (leading) slots: no log(0) in the graph.
    return shift + torch.log(terms.cumsum(-1) + (~real).to(values.dtype))


def ordered_sum(values):
    """Sum over the last dimension, accumulated in item order (``cumsum``).

    Padded slots hold exact zeros at the end of a list, so a list's sum is the
    same, bit for bit, whatever its padded length (a vectorised ``sum`` blocks
    its additions by length and rounds differently).
    """
    if values.shape[-1] == 0:
        return values.sum(-1)
    return values.cumsum(-1)[..., -1]


def reduce_lists(terms, counts, weight=None, reduction="mean"):
    """The one reducer of the ranking losses.

    Each list ``b`` contributes a summed term ``t_b`` over ``c_b`` units (its
    valid pairs for a pairwise mean, 1 for a list mean, 0 for a list that
    carries no signal) with the weight ``w_b`` of its query:

    .. math::

        \\text{mean: } \\frac{\\sum_b w_b t_b}{\\sum_b w_b c_b}, \\qquad
        \\text{sum: } \\sum_b w_b t_b, \\qquad \\text{none: } (w_b t_b)_b

    A batch with no unit (every list of one item, or all labels tied) gives 0
    with a gradient of zeros, never NaN.
    """
    if reduction not in _LIST_REDUCTIONS:
        raise ValueError(
            f"reduction must be one of {_LIST_REDUCTIONS}; got {reduction!r}."
        )
    if weight is not None:
        terms = terms * weight.to(terms.dtype)
        counts = counts * weight.to(counts.dtype)
    if reduction == "none":
        return terms
    if reduction == "sum":
        return terms.sum()
    total = counts.sum()
    if not bool(total > 0):
        return terms.sum() * 0.0
    return terms.sum() / total


class RankingLoss(BaseLoss):
    """Base class of the ranking losses: per-list terms on padded, masked lists.

    A subclass implements :meth:`list_terms` on ``[B, L]`` scores, labels and
    mask and returns each list's summed term and the units it counts for the
    mean (see :func:`reduce_lists`). :meth:`forward` accepts both layouts:

    - flat: ``input`` and ``target`` of shape ``(n,)`` (or ``(n, 1)``) with
      ``groups`` a query id per row (rows of a query anywhere in the batch);
      ``groups=None`` makes the whole batch one list (the no-query-id regime
      of preference learning). ``sample_weight`` is per row and must be
      constant within a query (the query's weight; the first row's is used);
    - packed: ``input`` and ``target`` of shape ``(B, L)`` with an optional
      boolean ``mask`` ``(B, L)`` of real items and ``sample_weight`` ``(B,)``
      per list.

    Labels are relevance grades, higher is better (any real numbers: the mask
    marks padding, never a sentinel label). A list of one item, or whose labels
    are all tied, contributes nothing.
    """

    tasks = frozenset({"ranking"})
    requires = ("groups",)
    decomposable = False
    # Early stopping watches a ranking metric (LossRanker: NDCG@10): the
    # values of losses with rank-dependent weights are not comparable across
    # epochs.
    monitor = "score"
    task_hint = "it scores lists of items by query (use LossRanker)."

    def list_terms(self, scores, labels, mask):  # pragma: no cover - abstract
        """Return ``(terms, counts)``, each of shape ``(B,)``."""
        raise NotImplementedError

    def forward(self, input, target, *, sample_weight=None, groups=None, mask=None):
        scores, labels, mask, weight = as_lists(
            input, target, groups=groups, mask=mask, sample_weight=sample_weight
        )
        terms, counts = self.list_terms(scores, labels, mask)
        return reduce_lists(terms, counts, weight, self.reduction)


def as_lists(input, target, *, groups=None, mask=None, sample_weight=None):
    """``(scores, labels, mask, weight)`` in the ``[B, L]`` layout.

    See :class:`RankingLoss` for the two accepted layouts. Labels take the
    scores' dtype. Outside :func:`~sklearn_losses.losses.trusted_targets` the
    inputs are checked (shapes, finite labels and weights).
    """
    if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
        kind = getattr(input, "dtype", type(input).__name__)
        raise TypeError(f"input must be a floating-point torch.Tensor; got {kind}.")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor; got {type(target).__name__}.")
    trusted = _TRUSTED_TARGETS.get()
    if input.ndim == 2 and input.shape[1] == 1 and target.ndim == 1:
        input = input.reshape(-1)  # one output column of a network
    if input.ndim == 1:
        if mask is not None:
            raise ValueError(
                "mask is for packed (B, L) input; flat input takes groups."
            )
        if target.shape != input.shape:
            raise ValueError(
                f"target must have shape {tuple(input.shape)} (one label per row); "
                f"got {tuple(target.shape)}."
            )
        if groups is not None and groups.shape != input.shape:
            raise ValueError(
                f"groups must have shape {tuple(input.shape)} (one query id per row); "
                f"got {tuple(groups.shape)}."
            )
        values = [input, target.to(input.dtype)]
        if sample_weight is not None:
            check_weights(sample_weight)
            if sample_weight.shape != input.shape:
                raise ValueError(
                    f"sample_weight must have shape {tuple(input.shape)} (one weight "
                    f"per row); got {tuple(sample_weight.shape)}."
                )
            values.append(sample_weight.to(input.dtype))
        packed, mask, _ = pack_lists(groups, *values)
        scores, labels = packed[0], packed[1]
        weight = None
        if sample_weight is not None:
            w = packed[2]
            weight = w[:, 0]
            if not trusted and bool(((w != weight[:, None]) & mask).any()):
                raise ValueError(
                    "sample_weight must be constant within a query (it is the "
                    "query's weight)."
                )
    elif input.ndim == 2:
        if groups is not None:
            raise ValueError(
                "with groups, input and target are flat: one score and one label "
                f"per row, shape (n,); got input {tuple(input.shape)} and target "
                f"{tuple(target.shape)}."
            )
        if target.shape != input.shape:
            raise ValueError(
                f"target must have shape {tuple(input.shape)}; got "
                f"{tuple(target.shape)}."
            )
        scores, labels = input, target.to(input.dtype)
        if mask is None:
            mask = torch.ones_like(scores, dtype=torch.bool)
        elif mask.shape != input.shape or mask.dtype != torch.bool:
            raise ValueError(
                f"mask must be a bool tensor of shape {tuple(input.shape)}; got "
                f"{mask.dtype} {tuple(mask.shape)}."
            )
        weight = None
        if sample_weight is not None:
            check_weights(sample_weight)
            if sample_weight.shape != (input.shape[0],):
                raise ValueError(
                    f"sample_weight must have shape ({input.shape[0]},) (one weight "
                    f"per list); got {tuple(sample_weight.shape)}."
                )
            weight = sample_weight.to(input.dtype)
    else:
        raise ValueError(
            "input must have shape (n,) with groups, or (n_lists, list_length) with "
            f"mask; got {tuple(input.shape)}."
        )
    if not trusted and labels.numel():
        if not bool(torch.isfinite(labels[mask]).all()):
            raise ValueError("target (the relevance labels) must be finite.")
        if bool(torch.isnan(scores.detach()[mask]).any()):
            raise ValueError("input (the scores) contains NaN.")
    return scores, labels, mask, weight
