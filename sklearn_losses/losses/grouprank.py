"""Groupwise ranking (GroupRank) and order search over tied labels (Order Matters).

:class:`GroupRankLoss` trains a scorer that reads rows in groups (GroupRank,
Sun et al., arXiv 2511.11653, adapted to tables): per group, a listwise
likelihood plus a distribution-alignment term, or a policy-gradient step on
GroupRank's reward ``NDCG@k + gamma * Recall@k + epsilon * (1 - JS)`` with
Gaussian or Plackett-Luce rollouts. :class:`OrderSearchLoss` is the
Plackett-Luce likelihood of the gold order where the order within each block
of tied labels is searched, sampled or drawn uniformly (Vinyals, Bengio and
Kudlur, ICLR 2016, Order Matters: the loss over set outputs).

The pure functions (:func:`group_reward`, :func:`pl_surrogate`,
:func:`gaussian_surrogate`, :func:`js_divergence`, :func:`recall_at_k`,
:func:`tied_order`, :func:`order_search_values`) compute the pieces on packed
``[B, L]`` lists with a boolean mask of real items.
"""

from __future__ import annotations

import itertools
import math

import torch

from .._validation import integer, one_of, real, validate_params
from ..modules.set_encoder import GroupwiseScorer
from ._base import _TRUSTED_TARGETS
from ._lists import (
    RankingLoss,
    as_lists,
    list_ndcg,
    masked_scores,
    pack_lists,
    plackett_luce_nll,
    reduce_lists,
    score_ranks,
)
from ._registry import register_loss

__all__ = [
    "GroupRankLoss",
    "OrderSearchLoss",
    "gaussian_surrogate",
    "group_reward",
    "js_divergence",
    "order_search_values",
    "pl_surrogate",
    "recall_at_k",
    "standardized_advantages",
    "tied_order",
]

_LN2 = math.log(2.0)


# -- shared pieces -------------------------------------------------------------
def _full_mask(values, mask):
    if mask is None:
        return torch.ones_like(values, dtype=torch.bool)
    return mask.expand_as(values)


def _effective_k(k, mask):
    """``min(k, ceil(c / 2))`` per list (at least 1), ``c`` its real items."""
    count = mask.sum(-1, keepdim=True)
    return torch.div(count + 1, 2, rounding_mode="floor").clamp(1, k)


def tied_order(labels, mask, keys):
    """Order of each list by descending label, tied labels by descending key.

    Parameters
    ----------
    labels : torch.Tensor of shape (..., L)
    mask : torch.Tensor of shape (..., L)
        True for real items; padded items come last.
    keys : torch.Tensor of shape (..., L)
        Tie-breaking keys, higher first (the model's scores for the most
        favourable order, random draws for a random one); equal keys keep the
        item order.

    Returns
    -------
    torch.Tensor of shape (..., L)
        Item indices, best first (the ``order`` of
        :func:`~sklearn_losses.losses._lists.plackett_luce_nll`).

    Examples
    --------
    >>> import torch
    >>> labels, mask = torch.tensor([[1.0, 1.0, 0.0]]), torch.ones(1, 3, dtype=bool)
    >>> tied_order(labels, mask, torch.tensor([[0.2, 0.9, -0.1]])).tolist()
    [[1, 0, 2]]
    """
    with torch.no_grad():
        first = torch.argsort(keys.detach(), dim=-1, descending=True, stable=True)
        graded = labels.detach().masked_fill(~mask, -math.inf).gather(-1, first)
        second = torch.argsort(graded, dim=-1, descending=True, stable=True)
        return first.gather(-1, second)


def _informative(labels, mask):
    """Lists with two real items or more whose labels are not all tied."""
    top = labels.masked_fill(~mask, -math.inf).amax(-1)
    bottom = labels.masked_fill(~mask, math.inf).amin(-1)
    return (mask.sum(-1) >= 2) & (top > bottom)


def _log_gold(labels, mask):
    """``log Q`` with ``Q = max(y, 0) / sum(max(y, 0))`` over the real items
    (uniform when that sum is 0)."""
    gains = labels.clamp_min(0.0).masked_fill(~mask, 0.0)
    total = gains.sum(-1, keepdim=True)
    count = mask.sum(-1, keepdim=True).clamp_min(1).to(labels.dtype)
    return torch.where(total > 0, gains.log() - total.log(), -count.log())


def _log_predicted(scores, mask, distribution, temperature):
    """``log P`` of the scores: ``softmax(s / T)`` or ``max(s, 1e-6) / sum``."""
    if distribution == "softmax":
        return torch.log_softmax(masked_scores(scores / temperature, mask), dim=-1)
    if distribution == "sum":
        positive = scores.clamp_min(1e-6).masked_fill(~mask, 0.0)
        total = positive.sum(-1, keepdim=True)
        return positive.masked_fill(~mask, 1.0).log() - total.log()
    raise ValueError(f"distribution must be 'softmax' or 'sum'; got {distribution!r}.")


def js_divergence(log_p, log_q, mask=None):
    """Jensen-Shannon divergence in bits (log base 2) of each list, ``[...]``.

    .. math::

        JS(P \\| Q) = \\tfrac12 KL(P \\| M) + \\tfrac12 KL(Q \\| M), \\quad
        M = \\tfrac12 (P + Q)

    It lies in ``[0, 1]``. Computed from log-probabilities so that it stays
    finite, with a finite gradient, when probabilities underflow to 0;
    ``log 0 = -inf`` is accepted (a zero-probability item).

    Parameters
    ----------
    log_p, log_q : torch.Tensor of shape (..., L)
        Log-probabilities of two distributions over the real items.
    mask : torch.Tensor of shape (..., L), default=None
        True for real items (``None``: all).

    Examples
    --------
    >>> import torch
    >>> p, q = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    >>> js_divergence(p.log(), q.log())
    tensor([1.])
    """
    mask = _full_mask(log_p, mask)
    floor = torch.finfo(log_p.dtype).min / 4
    log_p = log_p.clamp_min(floor).masked_fill(~mask, floor)
    log_q = log_q.to(log_p.dtype).clamp_min(floor).masked_fill(~mask, floor)
    log_m = torch.logaddexp(log_p, log_q) - _LN2
    kl_p = (log_p.exp() * (log_p - log_m)).masked_fill(~mask, 0.0).sum(-1)
    kl_q = (log_q.exp() * (log_q - log_m)).masked_fill(~mask, 0.0).sum(-1)
    return 0.5 * (kl_p + kl_q) / _LN2


def recall_at_k(pred, gold, mask=None, *, k=10, rel_threshold=1.0):
    """Recall@k of each list: the share of the relevant items ranked in the top k.

    ``R = {i : y_i >= rel_threshold}`` (``rel_threshold=None``: the ``k``
    items of highest label, ties by item order); the recall is 1 when ``R`` is
    empty. ``k`` is ``min(k, ceil(c / 2))`` for a list of ``c`` items, since
    with ``c <= k`` every item is in the top ``k``. Predicted ties are broken
    by item order. No gradient.

    Examples
    --------
    >>> import torch
    >>> gold = torch.tensor([[10.0, 9.3, 8.7, 3.0, 0.3, 0.0]])
    >>> pred = torch.tensor([[8.0, 9.0, 2.0, 7.0, 1.0, 0.5]])
    >>> recall_at_k(pred, gold, k=3, rel_threshold=5.0)
    tensor([0.6667])
    """
    with torch.no_grad():
        gold = gold.to(pred.dtype).expand_as(pred)
        mask = _full_mask(pred, mask)
        k_eff = _effective_k(k, mask)
        top = (score_ranks(pred, mask) <= k_eff) & mask
        if rel_threshold is None:
            relevant = (score_ranks(gold, mask) <= k_eff) & mask
        else:
            relevant = (gold >= rel_threshold) & mask
        n_relevant = relevant.sum(-1).to(pred.dtype)
        hits = (top & relevant).sum(-1).to(pred.dtype)
        return torch.where(n_relevant > 0, hits / n_relevant.clamp_min(1), 1.0)


def group_reward(
    pred,
    gold,
    mask=None,
    *,
    k=10,
    gamma=0.2,
    epsilon=0.1,
    rel_threshold=1.0,
    gain="linear",
    distribution="softmax",
    temperature=1.0,
):
    """GroupRank's reward of each group (no gradient).

    .. math::

        R_G = \\mathrm{NDCG@}k + \\gamma \\, \\mathrm{Recall@}k
              + \\epsilon \\, (1 - JS(P \\| Q))

    NDCG@k orders the group by ``pred`` (ties by item order) with gain ``y``
    (``gain="linear"``, GroupRank's gold scores) or ``2**y - 1``, 0 for a group
    without gain; Recall@k is :func:`recall_at_k`; ``k`` is
    ``min(k, ceil(c / 2))`` for a group of ``c`` items. ``Q`` is the gold
    distribution ``max(y, 0) / sum(max(y, 0))`` (uniform when the sum is 0) and
    ``P`` the predicted one: ``softmax(pred / temperature)``
    (``distribution="softmax"``, for real-valued scores) or
    ``max(pred, 1e-6) / sum`` (``"sum"``, for non-negative scores as the
    paper's 0-10 scale). JS is in bits (:func:`js_divergence`).

    Parameters
    ----------
    pred : torch.Tensor of shape (..., L)
        Predicted scores (any leading shape, e.g. ``(B, G, L)`` rollouts).
    gold : torch.Tensor, broadcastable to ``pred``
        Gold relevance labels.
    mask : torch.Tensor, broadcastable to ``pred``, default=None
        True for real items.
    k : int, default=10
    gamma, epsilon : float, default=0.2, 0.1
        Weights of the recall and alignment terms (the paper's values).
    rel_threshold : float or None, default=1.0
        Relevant items for the recall (see :func:`recall_at_k`).
    gain : {"linear", "exp2"}, default="linear"
    distribution : {"softmax", "sum"}, default="softmax"
    temperature : float, default=1.0
        Softmax temperature of ``P``.

    Returns
    -------
    torch.Tensor of shape ``pred.shape[:-1]``

    References
    ----------
    Sun et al. GroupRank: a groupwise reranking paradigm driven by
    reinforcement learning. arXiv 2511.11653.

    Examples
    --------
    >>> import torch
    >>> gold = torch.tensor([[10.0, 9.3, 8.7, 3.0, 0.3, 0.0]], dtype=torch.float64)
    >>> pred = torch.tensor([[8.0, 9.0, 2.0, 7.0, 1.0, 0.5]], dtype=torch.float64)
    >>> group_reward(pred, gold, k=3, rel_threshold=5.0, distribution="sum")
    tensor([1.0707], dtype=torch.float64)
    """
    with torch.no_grad():
        pred = pred.detach()
        gold = gold.to(pred.dtype).expand_as(pred)
        mask = _full_mask(pred, mask)
        length = pred.shape[-1]
        flat = [t.reshape(-1, length) for t in (pred, gold, mask)]
        k_eff = _effective_k(k, flat[2])
        ndcg = list_ndcg(*flat, k=k_eff, gain=gain)
        reward = ndcg
        if gamma:
            recall = recall_at_k(*flat, k=k, rel_threshold=rel_threshold)
            reward = reward + gamma * recall
        if epsilon:
            log_p = _log_predicted(flat[0], flat[2], distribution, temperature)
            js = js_divergence(log_p, _log_gold(flat[1], flat[2]), flat[2])
            reward = reward + epsilon * (1.0 - js)
        return reward.reshape(pred.shape[:-1])


def standardized_advantages(rewards):
    """``A_g = (R_g - mean_g R) / (std_g R + 1e-8)`` over the last axis
    (population std; all-equal rewards give 0)."""
    mean = rewards.mean(-1, keepdim=True)
    std = rewards.std(-1, correction=0, keepdim=True)
    return (rewards - mean) / (std + 1e-8)


def pl_surrogate(logits, rollouts, rewards, mask=None):
    """Policy-gradient surrogate of Plackett-Luce rollouts, per list ``[B]``.

    .. math::

        L = -\\frac{1}{G} \\sum_{g=1}^{G} A_g \\log PL(\\pi_g \\mid s)

    with ``A`` the :func:`standardized_advantages` of the rollouts' rewards.
    Its gradient is the REINFORCE (GRPO with one on-policy step) estimate;
    its value is not the expected reward.

    Parameters
    ----------
    logits : torch.Tensor of shape (B, L)
        The policy's scores ``s``.
    rollouts : torch.Tensor of shape (B, G, L)
        Sampled orders (item indices best first, padded items last).
    rewards : torch.Tensor of shape (B, G)
    mask : torch.Tensor of shape (B, L), default=None

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([[0.3, 1.0, -0.2]])
    >>> rollouts = torch.tensor([[[1, 0, 2], [2, 0, 1]]])
    >>> pl_surrogate(s, rollouts, torch.tensor([[1.0, 0.0]]))
    tensor([-0.9146])
    """
    mask = _full_mask(logits, mask)
    shape = rollouts.shape
    log_pl = -plackett_luce_nll(
        logits.unsqueeze(1).expand(shape), rollouts, mask.unsqueeze(1).expand(shape)
    )
    advantages = standardized_advantages(rewards.to(logits.dtype))
    return -(advantages * log_pl).mean(-1)


def gaussian_surrogate(
    mu, samples, rewards, sigma=1.0, mask=None, mu_ref=None, phi=0.0
):
    """Policy-gradient surrogate of Gaussian score rollouts, per list ``[B]``.

    .. math::

        L = -\\frac{1}{G} \\sum_g A_g \\log \\mathcal N(s_g; \\mu, \\sigma^2 I)
            + \\phi \\, \\frac{\\lVert \\mu - \\mu_{ref} \\rVert^2}{2 \\sigma^2}

    with ``A`` the :func:`standardized_advantages` of the rewards and the
    density over the real items. The last term is the closed-form KL to a
    reference policy ``N(mu_ref, sigma^2 I)`` (left out when ``mu_ref`` is
    None).

    Parameters
    ----------
    mu : torch.Tensor of shape (B, L)
        The policy's mean scores.
    samples : torch.Tensor of shape (B, G, L)
        Sampled score vectors (constants).
    rewards : torch.Tensor of shape (B, G)
    sigma : float, default=1.0
    mask : torch.Tensor of shape (B, L), default=None
    mu_ref : torch.Tensor of shape (B, L), default=None
    phi : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> mu = torch.zeros(1, 2)
    >>> samples = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    >>> gaussian_surrogate(mu, samples, torch.tensor([[1.0, 0.0]]))
    tensor([0.2500])
    """
    mask = _full_mask(mu, mask)
    z = (samples.detach() - mu.unsqueeze(1)) / sigma
    log_density = -0.5 * z.square() - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    log_density = log_density.masked_fill(~mask.unsqueeze(1), 0.0).sum(-1)
    advantages = standardized_advantages(rewards.to(mu.dtype))
    out = -(advantages * log_density).mean(-1)
    if mu_ref is not None and phi:
        gap = (mu - mu_ref.detach()).masked_fill(~mask, 0.0)
        out = out + phi * gap.square().sum(-1) / (2 * sigma**2)
    return out


# -- GroupRank -------------------------------------------------------------------
_OBJECTIVES = ("supervised", "rl_gaussian", "rl_pl")


@register_loss
class GroupRankLoss(RankingLoss):
    """GroupRank's groupwise objectives, per group of rows of a query.

    The scorer (by default :class:`~sklearn_losses.modules.GroupwiseScorer`)
    cuts each query into random groups in training and scores each row in the
    context of its group; this loss reads the groups of the last forward from
    ``module.last_groups_`` and computes one term per group. Without such a
    module, or with the module in eval mode (validation, whose scores average
    several partitions), the groups are the queries themselves.

    Objectives (``s`` the group's scores, ``y`` its labels):

    - ``"supervised"`` (default): the Plackett-Luce likelihood of the gold
      order, tied labels ordered by the model's scores (ListMLE with the most
      favourable order of ties), plus the alignment term
      ``epsilon * JS(softmax(s / js_temperature) || Q)``,
      ``Q = max(y, 0) / sum(max(y, 0))`` (uniform when the sum is 0);
    - ``"rl_gaussian"``: ``n_rollouts`` score vectors ``s_g ~ N(s, sigma^2 I)``
      are rewarded with :func:`group_reward` (``P = softmax(s_g /
      js_temperature)``) and the loss is :func:`gaussian_surrogate`;
    - ``"rl_pl"``: ``n_rollouts`` orders are drawn from the Plackett-Luce
      policy with logits ``s`` (Gumbel-top-k), rewarded with
      ``NDCG@k + gamma * Recall@k`` (an order has no magnitudes), and the loss
      is :func:`pl_surrogate` plus the supervised objective's alignment term.

    In the reward, ``k`` is ``min(k, ceil(c / 2))`` for a group of ``c`` rows
    (with ``c <= k`` Recall@k would be 1 for every order). The rollouts use
    torch's global generator. The RL objectives return a surrogate whose
    gradient is the sampled policy gradient (standardised rewards, one
    on-policy step, so no clipping nor ratio), hence ``exact_gradient =
    False``; the supervised objective's gradient is exact. The KL anchor of
    the paper's GRPO step to a frozen reference model is left out (no
    reference model is kept; :func:`gaussian_surrogate` takes one).

    Input contract: as :class:`~sklearn_losses.losses._lists.RankingLoss`
    (flat rows with ``groups``, or packed ``(B, L)`` lists with ``mask``, each
    list then one group). Labels are relevance grades, higher is better,
    ``>= 0`` for the alignment term (negative labels count as 0 in ``Q``). A
    group of one row, or whose labels are all tied, contributes nothing.
    ``sample_weight`` is the query's weight: each group counts with the weight
    of its query in the weighted mean over groups.

    Parameters
    ----------
    objective : {"supervised", "rl_gaussian", "rl_pl"}, default="supervised"
    k : int, default=10
        Cut-off of the reward's NDCG and recall.
    gamma : float, default=0.2
        Weight of Recall@k in the reward.
    epsilon : float, default=0.1
        Weight of the alignment (Jensen-Shannon) term.
    rel_threshold : float or None, default=1.0
        Relevant items of the recall: labels ``>= rel_threshold`` (for graded
        labels, any positive grade); None: the group's ``k`` best labels (for
        continuous labels).
    gain : {"linear", "exp2"}, default="linear"
        Gain of the reward's NDCG: the label (GroupRank's gold scores) or
        ``2**y - 1``.
    n_rollouts : int, default=8
        Rollouts per group of the RL objectives (``G``, >= 2).
    sigma : float, default=1.0
        Standard deviation of the Gaussian policy.
    js_temperature : float, default=1.0
        Temperature of ``P = softmax(s / js_temperature)``.
    reduction : {"mean", "sum", "none"}, default="mean"
        Over groups (see :func:`~sklearn_losses.losses._lists.reduce_lists`).

    References
    ----------
    Sun et al. GroupRank: a groupwise reranking paradigm driven by
    reinforcement learning. arXiv 2511.11653.

    Examples
    --------
    >>> import torch
    >>> scores = torch.tensor([0.5, 1.2, -0.3, 0.8])
    >>> labels = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> GroupRankLoss()(scores, labels, groups=torch.zeros(4, dtype=torch.long))
    tensor(4.2399)
    """

    name = "grouprank"
    requires = ("groups", "module")
    exact_gradient = False
    key_parameter = "objective"
    default_grid = {"objective": list(_OBJECTIVES)}
    module_class = GroupwiseScorer

    def __init__(
        self,
        objective="supervised",
        *,
        k=10,
        gamma=0.2,
        epsilon=0.1,
        rel_threshold=1.0,
        gain="linear",
        n_rollouts=8,
        sigma=1.0,
        js_temperature=1.0,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        self.objective = objective
        self.k = k
        self.gamma = gamma
        self.epsilon = epsilon
        self.rel_threshold = rel_threshold
        self.gain = gain
        self.n_rollouts = n_rollouts
        self.sigma = sigma
        self.js_temperature = js_temperature
        validate_params(
            self,
            {
                "objective": one_of(*_OBJECTIVES),
                "k": integer(1),
                "gamma": real(0),
                "epsilon": real(0),
                "rel_threshold": real() | one_of(None),
                "gain": one_of("linear", "exp2"),
                "n_rollouts": integer(2),
                "sigma": real(0, closed="neither"),
                "js_temperature": real(0, closed="neither"),
            },
        )

    def forward(
        self, input, target, *, sample_weight=None, groups=None, module=None, mask=None
    ):
        if not isinstance(input, torch.Tensor) or not isinstance(target, torch.Tensor):
            bad = "input" if not isinstance(input, torch.Tensor) else "target"
            raise TypeError(
                f"{bad} must be a torch.Tensor; got "
                f"{type(input if bad == 'input' else target).__name__}."
            )
        sets = groups
        sub = getattr(module, "last_groups_", None)
        flat = input.ndim == 1 or (
            input.ndim == 2 and input.shape[1] == 1 and target.ndim == 1
        )
        if sub is not None and flat and module.training:
            if sub.shape != (input.shape[0],):
                raise ValueError(
                    "module.last_groups_ must hold one group id per row "
                    f"({input.shape[0]}); got shape {tuple(sub.shape)}. Compute the "
                    "loss right after the module's forward on the batch."
                )
            if groups is not None and not _TRUSTED_TARGETS.get():
                _check_nested(sub, groups)
            sets = sub
        scores, labels, mask, weight = as_lists(
            input, target, groups=sets, mask=mask, sample_weight=sample_weight
        )
        terms, counts = self.list_terms(scores, labels, mask)
        return reduce_lists(terms, counts, weight, self.reduction)

    def _alignment(self, scores, labels, mask):
        log_p = _log_predicted(scores, mask, "softmax", self.js_temperature)
        return self.epsilon * js_divergence(log_p, _log_gold(labels, mask), mask)

    def _reward(self, pred, labels, mask, epsilon):
        return group_reward(
            pred,
            labels.unsqueeze(1),
            mask.unsqueeze(1),
            k=self.k,
            gamma=self.gamma,
            epsilon=epsilon,
            rel_threshold=self.rel_threshold,
            gain=self.gain,
            distribution="softmax",
            temperature=self.js_temperature,
        )

    def list_terms(self, scores, labels, mask):
        """Per-group terms and counts (1 for an informative group, else 0)."""
        informative = _informative(labels, mask)
        shape = (scores.shape[0], self.n_rollouts, scores.shape[1])
        if self.objective == "supervised":
            order = tied_order(labels, mask, scores)
            terms = plackett_luce_nll(scores, order, mask)
            if self.epsilon:
                terms = terms + self._alignment(scores, labels, mask)
        elif self.objective == "rl_gaussian":
            with torch.no_grad():
                noise = torch.randn(shape, dtype=scores.dtype, device=scores.device)
                samples = scores.detach().unsqueeze(1) + self.sigma * noise
                rewards = self._reward(samples, labels, mask, self.epsilon)
            terms = gaussian_surrogate(scores, samples, rewards, self.sigma, mask)
        else:
            with torch.no_grad():
                uniform = torch.rand(shape, dtype=scores.dtype, device=scores.device)
                tiny = torch.finfo(scores.dtype).tiny
                gumbel = -torch.log(-torch.log(uniform.clamp_min(tiny)))
                perturbed = masked_scores(
                    scores.detach().unsqueeze(1) + gumbel, mask.unsqueeze(1)
                )
                rollouts = torch.argsort(
                    perturbed, dim=-1, descending=True, stable=True
                )
                rewards = self._reward(perturbed, labels, mask, 0.0)
            terms = pl_surrogate(scores, rollouts, rewards, mask)
            if self.epsilon:
                terms = terms + self._alignment(scores, labels, mask)
        terms = torch.where(informative, terms, 0.0)
        return terms, informative.to(scores.dtype)


def _check_nested(sub, groups):
    """Raise unless every group of ``sub`` lies within one query of ``groups``."""
    (queries,), mask, _ = pack_lists(sub, groups)
    if bool(((queries != queries[:, :1]) & mask).any()):
        raise ValueError(
            "module.last_groups_ must cut queries into groups: a group holds rows "
            "of several query ids in groups."
        )


# -- Order Matters: order search over tied labels ------------------------------
_MODES = ("tie_sample", "tie_max", "uniform", "fixed")


def order_search_values(logits):
    """The three order-search losses of one all-tied set, by enumeration.

    For a Plackett-Luce model (a pointer network without state) with logits
    ``u`` over a set of ``n`` items, every order ``pi`` of the set is correct:

    - max over orders: ``min_pi -log p(pi)`` (``mode="tie_max"``);
    - uniform prior: ``mean_pi -log p(pi)`` (``mode="uniform"``, the expected
      loss under a uniformly drawn order);
    - model sampling: ``E_{pi ~ p} [-log p(pi)]``, the entropy of the order
      distribution (the expected loss of ``mode="tie_sample"``).

    Parameters
    ----------
    logits : torch.Tensor of shape (n,)
        At most 8 items (``n!`` orders are enumerated).

    Returns
    -------
    tuple of three 0-d tensors
        ``(max_order, uniform, sampled)``.

    Examples
    --------
    >>> import torch
    >>> u = torch.tensor([2.0, 0.5, 1.0], dtype=torch.float64)
    >>> [round(float(v), 7) for v in order_search_values(u)]
    [0.9384458, 2.1272861, 1.5140738]
    """
    n = logits.shape[-1]
    if logits.ndim != 1 or not 1 <= n <= 8:
        raise ValueError(
            f"logits must have shape (n,) with 1 <= n <= 8; got {tuple(logits.shape)}."
        )
    orders = torch.tensor(list(itertools.permutations(range(n))), device=logits.device)
    mask = torch.ones_like(orders, dtype=torch.bool)
    nll = plackett_luce_nll(logits.expand(orders.shape), orders, mask)
    prob = torch.exp(-nll)
    return nll.min(), nll.mean(), (prob * nll).sum()


@register_loss
class OrderSearchLoss(RankingLoss):
    """Plackett-Luce likelihood of the gold order, searching the order of ties.

    .. math::

        L = -\\log P(\\pi \\mid s) = \\sum_{k=1}^{n}
            \\Big[\\log \\sum_{m \\ge k} e^{s_{\\pi(m)}} - s_{\\pi(k)}\\Big]

    where ``pi`` orders the list by descending label. A Plackett-Luce model is
    a pointer network without state, so this is the Order Matters loss over set
    outputs with the gold sets being the blocks of tied labels: within a block
    every order is correct, and the order is

    - ``"fixed"``: the item order (stable);
    - ``"uniform"``: a random permutation of each block (torch's global
      generator), the paper's pretraining with a uniform prior over orders;
    - ``"tie_max"``: the block's items by descending score, the most likely
      order, i.e. the max over orders (ListMLE with ``ties="best"``);
    - ``"tie_sample"`` (default): an order drawn from the model's own
      Plackett-Luce distribution restricted to the block (ancestral sampling,
      as Gumbel-top-k on the block's scores; no gradient through the draw).

    With ``"tie_sample"`` or ``"tie_max"`` the first ``pretrain_epochs`` epochs
    use ``"uniform"`` (the paper pretrains for 1000 steps; here the engine's
    epoch counts, 1-based). Called without ``epoch``, the mode applies from the
    start.

    Input contract: as :class:`~sklearn_losses.losses._lists.RankingLoss`
    (flat rows with ``groups``, or packed ``(B, L)`` lists with ``mask``).
    Labels are relevance grades, higher is better. A list of one item, or whose
    labels are all tied, contributes nothing (:func:`order_search_values`
    gives the values for an all-tied set). ``sample_weight`` is the query's
    weight in the weighted mean over lists.

    Parameters
    ----------
    mode : {"tie_sample", "tie_max", "uniform", "fixed"}, default="tie_sample"
    pretrain_epochs : int, default=1
        Epochs of uniform orders before ``"tie_sample"`` or ``"tie_max"``.
    reduction : {"mean", "sum", "none"}, default="mean"
        Over lists (see :func:`~sklearn_losses.losses._lists.reduce_lists`).

    References
    ----------
    O. Vinyals, S. Bengio, M. Kudlur. Order Matters: Sequence to sequence for
    sets. ICLR 2016.

    Examples
    --------
    >>> import torch
    >>> scores = torch.tensor([[0.2, 0.9, -0.1]], dtype=torch.float64)
    >>> labels = torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)
    >>> OrderSearchLoss("tie_max")(scores, labels)
    tensor(1.1773, dtype=torch.float64)
    """

    name = "order_search"
    requires = ("groups", "epoch")
    key_parameter = "mode"
    default_grid = {"mode": ["tie_sample", "tie_max"]}

    def __init__(self, mode="tie_sample", *, pretrain_epochs=1, reduction="mean"):
        super().__init__(reduction=reduction)
        self.mode = mode
        self.pretrain_epochs = pretrain_epochs
        validate_params(self, {"mode": one_of(*_MODES), "pretrain_epochs": integer(0)})

    def current_mode(self, epoch=None):
        """The order used at ``epoch`` (1-based; None: after pretraining)."""
        searched = self.mode in ("tie_sample", "tie_max")
        if searched and epoch is not None and epoch <= self.pretrain_epochs:
            return "uniform"
        return self.mode

    def forward(
        self, input, target, *, sample_weight=None, groups=None, mask=None, epoch=None
    ):
        scores, labels, mask, weight = as_lists(
            input, target, groups=groups, mask=mask, sample_weight=sample_weight
        )
        terms, counts = self.list_terms(scores, labels, mask, self.current_mode(epoch))
        return reduce_lists(terms, counts, weight, self.reduction)

    def list_terms(self, scores, labels, mask, mode=None):
        """Per-list negative log-likelihoods and counts (1 if informative)."""
        mode = self.mode if mode is None else mode
        with torch.no_grad():
            if mode == "fixed":
                keys = torch.zeros_like(scores)
            elif mode == "uniform":
                keys = torch.rand_like(scores)
            elif mode == "tie_max":
                keys = scores.detach()
            else:
                uniform = torch.rand_like(scores).clamp_min(
                    torch.finfo(scores.dtype).tiny
                )
                keys = scores.detach() - torch.log(-torch.log(uniform))
            order = tied_order(labels, mask, keys)
        informative = _informative(labels, mask)
        terms = torch.where(informative, plackett_luce_nll(scores, order, mask), 0.0)
        return terms, informative.to(scores.dtype)
