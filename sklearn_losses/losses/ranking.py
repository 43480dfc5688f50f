r"""Learning-to-rank losses on padded, masked lists.

Pairwise (RankNet, pairwise logistic and hinge, the LambdaLoss family, LiPO-λ,
FIRST's weighted RankNet), listwise (ListNet, ListMLE, ApproxNDCG) and the
RankList family. Every loss is a :class:`~sklearn_losses.losses._lists.RankingLoss`:
it takes flat rows with a query id per row (``groups=``) or packed ``[B, L]``
lists with a ``mask`` of the real items, and reduces per-list terms in one
place (:func:`~sklearn_losses.losses._lists.reduce_lists`).

Shared conventions
------------------
- Labels are relevance grades, higher is better; tied labels form no pair.
- A list with fewer than two real items, or whose labels are all tied, carries
  no signal: it contributes exactly 0 and does not count in a mean. A batch
  with no such signal gives 0 with a zero gradient.
- Padded slots never reach a term: their scores and labels are replaced by 0
  before anything is computed, pair terms are gathered pair by pair and every
  per-list sum runs in item order, so padding changes neither the value nor
  the gradient, bit for bit (on CPU; CUDA's atomic additions have no fixed
  order).
- Ranks "by the current scores" are 1-based, computed without gradient, ties
  in the scores broken by item order; the weights built from them are
  constants of the loss.
- A sample weight is the weight of a query (constant within it): a weight of
  2 counts the query twice, in the numerator and in the denominator of a mean.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from .._validation import integer, one_of, real, validate_params
from ._lists import (
    RankingLoss,
    as_lists,
    dcg_gains,
    masked_scores,
    ordered_sum,
    pair_mask,
    plackett_luce_nll,
    reduce_lists,
    scaled_exp2_gains,
    score_ranks,
)
from ._registry import register_loss

__all__ = [
    "ApproxNDCGLoss",
    "FIRSTLoss",
    "LambdaLoss",
    "LambdaRankLoss",
    "LiPOLambdaLoss",
    "ListMLELoss",
    "ListNetLoss",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "RankListLoss",
    "RankNetLoss",
]

_LN2 = math.log(2.0)
_POSITIVE = real(0, closed="neither")


# -- shared private functions ------------------------------------------------
def _clean(scores, labels, mask):
    """Scores and labels with padded slots at 0 (nothing padded reaches a term,
    and no gradient reaches a padded score)."""
    return scores.masked_fill(~mask, 0.0), labels.masked_fill(~mask, 0.0)


def _informative(labels, mask):
    """``[B]`` bool: the list holds two real items with different labels."""
    if labels.shape[-1] == 0:
        return torch.zeros(labels.shape[:-1], dtype=torch.bool, device=labels.device)
    inf = torch.inf
    high = labels.masked_fill(~mask, -inf).amax(-1)
    low = labels.masked_fill(~mask, inf).amin(-1)
    return high > low


def _differences(values):
    """``[B, L, L]``: ``values[i] - values[j]``."""
    return values.unsqueeze(-1) - values.unsqueeze(-2)


# Every per-list sum below accumulates in item (or pair) order, one value
# after the other (``cumsum``, ``index_add``, ``logcumsumexp``), and every pair
# term is gathered from the scores: padded slots then add exact zeros and
# change neither the value nor the gradient, bit for bit, whatever the padded
# length (a vectorised ``sum`` rounds differently when the length changes).
def _row_sums(values, mask):
    """``[B]``: the sum of the real items' values of each list, in item order."""
    return ordered_sum(torch.where(mask, values, 0.0))


def _row_logsumexp(values, mask):
    """``[B, ..., 1]``: log-sum-exp over the real items (last dimension)."""
    filled = masked_scores(values, mask)
    if filled.shape[-1] == 0:
        return filled.sum(-1, keepdim=True)
    return torch.logcumsumexp(filled, dim=-1)[..., -1:]


def _pairs(valid):
    """``(b, i, j)`` of the valid pairs, list by list in row-major order."""
    return valid.nonzero(as_tuple=True)


def _per_list(pair_values, pairs, n_lists):
    """Per-list sums of the gathered pair values, in pair order."""
    return pair_values.new_zeros(n_lists).index_add(0, pairs[0], pair_values)


def _pair_sums(losses_of, scores, valid, weight=None):
    """Per list, the summed ``weight * losses_of(s_i - s_j)`` over the valid
    pairs and the number of valid pairs."""
    b, i, j = pairs = _pairs(valid)
    losses = losses_of(scores[b, i] - scores[b, j])
    if weight is not None:
        losses = losses * weight.expand(valid.shape)[pairs]
    counts = torch.bincount(b, minlength=valid.shape[0]).to(scores.dtype)
    return _per_list(losses, pairs, valid.shape[0]), counts


def _logistic_pairs(scores, valid, scale=1.0, weight=None):
    r"""Per list, :math:`\sum_{(i,j)} w_{ij}\,\mathrm{softplus}(-a(s_i - s_j))`
    over the valid pairs, and the number of valid pairs."""
    return _pair_sums(lambda d: -F.logsigmoid(scale * d), scores, valid, weight)


def _label_order(labels, mask, scores=None, ties="stable"):
    """Item indices by descending label, padded items last.

    Tied labels keep their item order (``"stable"``), go by descending score
    (``"best"``, the most favourable order, computed on the detached scores)
    or are shuffled with torch's global generator (``"random"``).
    """
    with torch.no_grad():
        key = labels.masked_fill(~mask, -torch.inf)
        if ties == "stable":
            return torch.argsort(key, dim=-1, descending=True, stable=True)
        if ties == "best":
            first = torch.argsort(
                masked_scores(scores.detach(), mask),
                dim=-1,
                descending=True,
                stable=True,
            )
        else:
            # One shuffle of the columns for the batch (as allRank): tied
            # items of every list come out in a uniformly random order.
            first = torch.randperm(labels.shape[-1], device=labels.device)
            first = first.expand_as(labels)
        then = torch.argsort(
            key.gather(-1, first), dim=-1, descending=True, stable=True
        )
        return first.gather(-1, then)


def _label_ranks(labels, mask, ties="stable"):
    """1-based ranks of the items by descending label (a float ``[B, L]``).

    ``"stable"``: positions of a stable sort (tied items in item order);
    ``"average"``: tied items share the mean of their positions.
    """
    with torch.no_grad():
        if ties == "stable":
            order = _label_order(labels, mask)
            ranks = torch.empty_like(order)
            positions = torch.arange(1, labels.shape[-1] + 1, device=labels.device)
            ranks.scatter_(-1, order, positions.expand_as(order))
            return ranks.to(labels.dtype)
        both = mask.unsqueeze(-2)  # over the other item j
        diff = _differences(labels)
        above = ((diff < 0) & both).sum(-1)
        tied = ((diff == 0) & both).sum(-1)
        return above.to(labels.dtype) + (tied.to(labels.dtype) + 1.0) / 2.0


def _valid_pairs(labels, mask, min_gap=0.0):
    """``[B, L, L]``: ``y_i > y_j``, both real, and ``y_i - y_j >= min_gap``."""
    valid = pair_mask(labels, mask)
    if min_gap > 0:
        valid = valid & (_differences(labels) >= min_gap)
    return valid


def _listmle_terms(scores, labels, mask, ties):
    """ListMLE per list (0 for lists without signal) and the list counts."""
    order = _label_order(labels, mask, scores, ties)
    useful = _informative(labels, mask)
    terms = torch.where(useful, plackett_luce_nll(scores, order, mask), 0.0)
    return terms, useful.to(scores.dtype)


def _ideal_dcg(gains, mask, k=None):
    """``[B, 1]``: DCG of the gains sorted in descending order (at ``k``)."""
    best = torch.sort(gains.masked_fill(~mask, -torch.inf), dim=-1, descending=True)
    ranks = torch.arange(1, gains.shape[-1] + 1, device=gains.device)
    real = ranks <= mask.sum(-1, keepdim=True)  # padded gains sort last
    if k is not None:
        real = real & (ranks <= k)
    discounted = best.values.masked_fill(~real, 0.0) / torch.log2(
        ranks.to(gains.dtype) + 1.0
    )
    return _row_sums(discounted, real).unsqueeze(-1)


def _nonneg_gains(labels, mask, k=None):
    """``(2**y - 1) / maxDCG@k`` with labels clamped at 0 (allRank), 0 when the
    ideal DCG is 0, and 0 in padded slots."""
    gains = scaled_exp2_gains(labels.clamp_min(0.0), mask)  # 2**y - 1, scaled
    idcg = _ideal_dcg(gains, mask, k)
    tiny = torch.finfo(idcg.dtype).tiny
    return torch.where(idcg > 0, gains / idcg.clamp_min(tiny), 0.0)


def _inverse_discounts(ranks, dtype):
    """``1 / log2(1 + rank)``."""
    return 1.0 / torch.log2(ranks.to(dtype) + 1.0)


# -- pairwise -----------------------------------------------------------------
@register_loss
class RankNetLoss(RankingLoss):
    r"""RankNet: logistic loss on every pair of items with different labels.

    .. math::

        \ell = \sum_{(i,j):\, y_i > y_j} w_{ij}\,
        \log\bigl(1 + e^{-\sigma (s_i - s_j)}\bigr)

    over the pairs of real items of each list, with :math:`w_{ij} = 1`,
    :math:`|y_i - y_j|` (``weighting="diff"``) or :math:`|y_i^2 - y_j^2|`
    (``"diff_pow"``). ``reduction="mean"`` divides by the number of valid pairs
    of the whole batch, as allRank's ``rankNet`` does (also with weights: the
    weights are not normalised), so lists with more pairs weigh more.

    Input contract: see :class:`~sklearn_losses.losses._lists.RankingLoss`
    (flat scores with ``groups``, or packed ``[B, L]`` lists with a ``mask``).

    Parameters
    ----------
    sigma : float, default=1.0
        Scale :math:`\sigma > 0` of the score differences.
    weighting : {None, "diff", "diff_pow"}, default=None
        Pair weights (allRank's ``weight_by_diff`` and ``weight_by_diff_powed``).
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over valid pairs, sum, or one summed term per list.

    References
    ----------
    .. [1] C. Burges et al., "Learning to Rank using Gradient Descent",
       ICML 2005.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(RankNetLoss()(s, y).item(), 10)
    0.8217343025
    >>> round(RankNetLoss(reduction="sum")(s, y).item(), 10)
    4.9304058148
    """

    name = "ranknet"
    key_parameter = "sigma"
    default_grid = {"sigma": [1.0, 2.0]}

    def __init__(self, *, sigma=1.0, weighting=None, reduction="mean"):
        super().__init__(reduction=reduction)
        self.sigma = sigma
        self.weighting = weighting
        validate_params(
            self,
            {"sigma": _POSITIVE, "weighting": one_of(None, "diff", "diff_pow")},
        )

    def _scale(self):
        return self.sigma

    def _pair_weights(self, labels):
        if self.weighting == "diff":
            return _differences(labels).abs()
        if self.weighting == "diff_pow":
            return _differences(labels.square()).abs()
        return None

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        valid = _valid_pairs(labels, mask)
        return _logistic_pairs(scores, valid, self._scale(), self._pair_weights(labels))


@register_loss
class PairwiseLogisticLoss(RankNetLoss):
    r"""Pairwise logistic loss, DPO's Bradley-Terry form (LiPO's DPO_BT).

    .. math::

        \ell = \sum_{(i,j):\, y_i > y_j}
        \log\bigl(1 + e^{-\beta (s_i - s_j)}\bigr)

    This is :class:`RankNetLoss` with ``sigma=beta`` and no pair weights
    (LiPO, Prop. 2.1: DPO with a Bradley-Terry model is the pairwise logistic
    ranking loss on the implicit rewards); the mean runs over the valid pairs.

    Parameters
    ----------
    beta : float, default=1.0
        Score temperature :math:`\beta > 0`.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over valid pairs, sum, or one summed term per list.

    References
    ----------
    .. [1] T. Liu et al., "LiPO: Listwise Preference Optimization through
       Learning-to-Rank", NAACL 2025. https://arxiv.org/abs/2402.01878

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> psi = torch.tensor([0.9, 0.2, 0.5, 0.7], dtype=torch.float64)
    >>> round(PairwiseLogisticLoss()(s, psi).item(), 10)
    0.8717343025
    """

    name = "pairwise_logistic"
    aliases = ("pair_logistic",)
    key_parameter = "beta"
    default_grid = {}
    equivalences = (({"beta": 2.0}, "ranknet", {"sigma": 2.0}),)

    def __init__(self, *, beta=1.0, reduction="mean"):
        RankingLoss.__init__(self, reduction=reduction)
        self.beta = beta
        validate_params(self, {"beta": _POSITIVE})

    def _scale(self):
        return self.beta

    def _pair_weights(self, labels):
        return None


@register_loss
class PairwiseHingeLoss(RankingLoss):
    r"""Pairwise hinge loss (RankSVM; LiPO's SLiC_norm).

    .. math::

        \ell = \sum_{(i,j):\, y_i > y_j} \max\bigl(0, m - (s_i - s_j)\bigr)

    over the pairs of real items of each list; ``reduction="mean"`` divides by
    the number of valid pairs of the batch.

    Parameters
    ----------
    margin : float, default=1.0
        The margin :math:`m \ge 0`.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over valid pairs, sum, or one summed term per list.

    References
    ----------
    .. [1] T. Liu et al., "LiPO: Listwise Preference Optimization through
       Learning-to-Rank", NAACL 2025 (Prop. 2.2).
       https://arxiv.org/abs/2402.01878

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> psi = torch.tensor([0.9, 0.2, 0.5, 0.7], dtype=torch.float64)
    >>> round(PairwiseHingeLoss()(s, psi).item(), 10)
    1.1833333333
    """

    name = "pairwise_hinge"
    aliases = ("pair_hinge",)
    key_parameter = "margin"
    default_grid = {"margin": [0.5, 1.0]}

    def __init__(self, *, margin=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.margin = margin
        validate_params(self, {"margin": real(0)})

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        return _pair_sums(
            lambda d: F.relu(self.margin - d), scores, _valid_pairs(labels, mask)
        )


# -- listwise -----------------------------------------------------------------
@register_loss
class ListNetLoss(RankingLoss):
    r"""ListNet (top-one): cross-entropy between a target distribution and the
    softmax of the scores over each list.

    .. math::

        \ell = -\sum_i P_y(i) \log \operatorname{softmax}(s)_i, \qquad
        P_y = \operatorname{softmax}(y) \;\text{(``"softmax"``)} \quad\text{or}
        \quad P_y(i) = y_i / \textstyle\sum_j y_j \;\text{(``"normalize"``)}

    ``"softmax"`` is allRank's ``listNet`` (labels as logits); ``"normalize"``
    is RAX's softmax loss and LiPO's Eq. 11 (it needs labels ``>= 0``). The
    log-softmax runs on scores whose padded slots hold a finite fill, so it is
    exact (allRank adds 1e-10 inside the log). ``reduction="mean"`` averages
    over the lists that carry a signal: lists of one item, all-tied lists and
    (``"normalize"``) lists whose labels sum to 0 contribute 0 and do not count
    (allRank counts such lists in its mean, with their own terms).

    Parameters
    ----------
    target : {"softmax", "normalize"}, default="softmax"
        The target distribution.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over lists, sum, or one term per list.

    References
    ----------
    .. [1] Z. Cao, T. Qin, T.-Y. Liu, M.-F. Tsai, H. Li, "Learning to Rank:
       From Pairwise Approach to Listwise Approach", ICML 2007.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(ListNetLoss()(s, y).item(), 10)
    1.4254083783
    >>> round(ListNetLoss(target="normalize")(s, y).item(), 10)
    1.5546415569
    """

    name = "listnet"
    key_parameter = "target"
    default_grid = {"target": ["softmax", "normalize"]}

    def __init__(self, *, target="softmax", reduction="mean"):
        super().__init__(reduction=reduction)
        self.target = target
        validate_params(self, {"target": one_of("softmax", "normalize")})

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        useful = _informative(labels, mask)
        log_p = scores - _row_logsumexp(scores, mask)
        if self.target == "softmax":
            p_y = torch.exp(labels - _row_logsumexp(labels, mask))
        else:
            if labels.numel() and bool((labels < 0).any()):
                raise ValueError(
                    "ListNetLoss(target='normalize') needs relevance labels >= 0 "
                    "(the target is y / sum(y)); use target='softmax'."
                )
            total = labels.sum(-1, keepdim=True)
            useful = useful & (total.squeeze(-1) > 0)
            p_y = labels / total.clamp_min(torch.finfo(labels.dtype).tiny)
        terms = -_row_sums(p_y * log_p, mask)
        return torch.where(useful, terms, 0.0), useful.to(scores.dtype)


@register_loss
class ListMLELoss(RankingLoss):
    r"""ListMLE: Plackett-Luce negative log-likelihood of the label order.

    .. math::

        \ell = \sum_{k=1}^{n} \Bigl[\log \sum_{m \ge k} e^{s_{\pi(m)}}
        - s_{\pi(k)}\Bigr]

    where :math:`\pi` sorts the items by descending label. Tied labels are
    ordered at random (``ties="random"``, allRank's behaviour, drawn from
    torch's global generator, which the estimators seed) or by descending
    score (``ties="best"``: the most favourable order, i.e. the minimum over
    the orders consistent with the labels; deterministic). ``reduction="mean"``
    averages over the lists that carry a signal.

    Parameters
    ----------
    ties : {"random", "best"}, default="random"
        How items with tied labels are ordered.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over lists, sum, or one term per list.

    References
    ----------
    .. [1] F. Xia, T.-Y. Liu, J. Wang, W. Zhang, H. Li, "Listwise Approach to
       Learning to Rank: Theory and Algorithm", ICML 2008.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(ListMLELoss()(s, y).item(), 10)
    4.2148803507
    >>> s = torch.tensor([0.2, 0.9, -0.1], dtype=torch.float64)
    >>> round(ListMLELoss(ties="best")(s, torch.tensor([1.0, 1.0, 0.0])).item(), 7)
    1.1773293
    """

    name = "listmle"
    key_parameter = "ties"
    default_grid = {"ties": ["random", "best"]}

    def __init__(self, *, ties="random", reduction="mean"):
        super().__init__(reduction=reduction)
        self.ties = ties
        validate_params(self, {"ties": one_of("random", "best")})

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        return _listmle_terms(scores, labels, mask, self.ties)


# -- the LambdaLoss family ----------------------------------------------------
_SCHEMES = ("ranknet", "lambdarank", "ndcg_loss1", "ndcg_loss2", "ndcg_loss2pp")


@register_loss
class LambdaLoss(RankingLoss):
    r"""LambdaLoss: a pairwise logistic loss weighted by NDCG-derived weights.

    .. math::

        \ell = -\sum_{(i,j)} w_{ij}\, \log_2 \sigma\bigl(\sigma_s (s_i - s_j)\bigr)

    over the pairs :math:`y_i > y_j` of real items (every pair of real items,
    the diagonal included, for ``"ndcg_loss1"``), computed as
    :math:`w \cdot \operatorname{logsigmoid}/\ln 2`. With :math:`p_i` the
    1-based rank of item :math:`i` by the current scores (a constant),
    :math:`D(p) = \log_2(1 + p)` and :math:`G_i = (2^{y_i} - 1)/\mathrm{maxDCG}`
    (labels clamped at 0, ideal DCG at ``k``), the schemes are (allRank's
    names in brackets):

    - ``"ranknet"`` [``None``]: :math:`w = 1`;
    - ``"lambdarank"`` [``lambdaRank_scheme``]:
      :math:`w = |1/D(p_i) - 1/D(p_j)|\,|G_i - G_j|` (|ΔNDCG| of a swap);
    - ``"ndcg_loss2"`` [``ndcgLoss2_scheme``]:
      :math:`w = \delta_{|p_i - p_j|}\,|G_i - G_j|` with
      :math:`\delta_d = |1/\log_2(1+d) - 1/\log_2(2+d)|`;
    - ``"ndcg_loss2pp"`` [``ndcgLoss2PP_scheme``]:
      :math:`w = \mu\,w_{\text{ndcg\_loss2}} + w_{\text{lambdarank}}`;
    - ``"ndcg_loss1"`` [``ndcgLoss1_scheme``]: :math:`w = G_i / D(p_i)`.

    With ``k``, only pairs whose two ranks are both ``<= k`` count. The values
    equal allRank's ``lambdaLoss`` (which clamps the probabilities at 1e-10
    and breaks score ties arbitrarily) on lists that carry a signal; a list of
    one item or of tied labels contributes 0 here (allRank's ``ndcg_loss1``
    would give it the constant diagonal terms).

    The default ``reduction="sum"`` is allRank's: the loss grows with the
    batch and the list lengths (harmless with Adam; prefer ``"mean"``, over the
    counted pairs, with SGD).

    Parameters
    ----------
    scheme : {"ndcg_loss2pp", "lambdarank", "ndcg_loss2", "ndcg_loss1", \
"ranknet"}, default="ndcg_loss2pp"
        The weighting scheme. ``None`` is accepted for ``"ranknet"``.
    mu : float, default=10.0
        Weight :math:`\mu \ge 0` of NDCG-Loss2 in NDCG-Loss2++.
    sigma : float, default=1.0
        Scale :math:`\sigma_s > 0` of the score differences.
    k : int or None, default=None
        Truncation of the metric (NDCG@k); ``None`` for the whole list.
    reduction : {"sum", "mean", "none"}, default="sum"
        Sum, mean over counted pairs, or one summed term per list.

    See Also
    --------
    LambdaRankLoss : the same loss registered as ``"lambdarank"``, with
        ``scheme="lambdarank"`` by default.

    References
    ----------
    .. [1] X. Wang, C. Li, N. Golbandi, M. Bendersky, M. Najork, "The
       LambdaLoss Framework for Ranking Metric Optimization", CIKM 2018.
    .. [2] C. Burges, R. Ragno, Q. Le, "Learning to Rank with Nonsmooth Cost
       Functions", NeurIPS 2006.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(LambdaLoss()(s, y).item(), 10)
    7.3649131742
    >>> round(LambdaLoss(scheme="lambdarank")(s, y).item(), 10)
    0.8707693362
    """

    name = "lambda"
    aliases = ("lambdaloss",)
    key_parameter = "scheme"
    default_grid = {"scheme": ["ndcg_loss2pp", "lambdarank", "ranknet"]}

    def __init__(
        self, *, scheme="ndcg_loss2pp", mu=10.0, sigma=1.0, k=None, reduction="sum"
    ):
        super().__init__(reduction=reduction)
        self.scheme = scheme
        self.mu = mu
        self.sigma = sigma
        self.k = k
        validate_params(
            self,
            {
                "scheme": one_of(None, *_SCHEMES),
                "mu": real(0),
                "sigma": _POSITIVE,
                "k": integer(1) | one_of(None),
            },
        )

    def _weights(self, labels, mask, ranks):
        scheme = self.scheme or "ranknet"
        if scheme == "ranknet":
            return None
        dtype = labels.dtype
        gains = _nonneg_gains(labels, mask, self.k)
        inv_d = _inverse_discounts(ranks, dtype)
        if scheme == "ndcg_loss1":
            return (gains * inv_d).unsqueeze(-1)
        gain_gaps = _differences(gains).abs()
        weight = 0.0
        if scheme in ("lambdarank", "ndcg_loss2pp"):
            weight = _differences(inv_d).abs() * gain_gaps
        if scheme in ("ndcg_loss2", "ndcg_loss2pp"):
            gap = _differences(ranks).abs().to(dtype)
            d = gap.clamp_min(1.0)
            delta = (1.0 / torch.log2(1.0 + d) - 1.0 / torch.log2(2.0 + d)).abs()
            loss2 = torch.where(gap > 0, delta, 0.0) * gain_gaps
            weight = weight + (self.mu * loss2 if scheme == "ndcg_loss2pp" else loss2)
        return weight

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        ranks = score_ranks(scores, mask)
        with torch.no_grad():
            weight = self._weights(labels, mask, ranks)
            if self.scheme == "ndcg_loss1":
                valid = mask.unsqueeze(-1) & mask.unsqueeze(-2)
            else:
                valid = pair_mask(labels, mask)
            valid = valid & _informative(labels, mask)[..., None, None]
            if self.k is not None:
                top = ranks <= self.k
                valid = valid & top.unsqueeze(-1) & top.unsqueeze(-2)
        terms, counts = _logistic_pairs(scores, valid, self.sigma, weight)
        return terms / _LN2, counts


@register_loss
class LambdaRankLoss(LambdaLoss):
    r"""LambdaRank as a loss: :class:`LambdaLoss` with ``scheme="lambdarank"``.

    .. math::

        \ell = -\sum_{(i,j):\, y_i > y_j} |\Delta\mathrm{NDCG}_{ij}|\,
        \log_2 \sigma\bigl(\sigma_s (s_i - s_j)\bigr)

    Registered as ``"lambdarank"`` so that a grid over ``loss`` can name it;
    every parameter is that of :class:`LambdaLoss` (only the default scheme
    differs).

    Parameters
    ----------
    scheme : str, default="lambdarank"
        See :class:`LambdaLoss`.
    mu : float, default=10.0
    sigma : float, default=1.0
    k : int or None, default=None
    reduction : {"sum", "mean", "none"}, default="sum"

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(LambdaRankLoss()(s, y).item(), 10)
    0.8707693362
    """

    name = "lambdarank"
    aliases = ()
    key_parameter = "k"
    default_grid = {}
    equivalences = (({}, "lambda", {"scheme": "lambdarank"}),)

    def __init__(
        self, *, scheme="lambdarank", mu=10.0, sigma=1.0, k=None, reduction="sum"
    ):
        super().__init__(scheme=scheme, mu=mu, sigma=sigma, k=k, reduction=reduction)


@register_loss
class ApproxNDCGLoss(RankingLoss):
    r"""ApproxNDCG: minus a smooth NDCG built from sigmoid-approximated ranks.

    .. math::

        \hat p_i = 1 + \sum_{j \ne i} \sigma\bigl(-\alpha (s_i - s_j)\bigr),
        \qquad
        \ell = -\sum_i \frac{G_i}{\log_2(1 + \hat p_i)}

    with :math:`G_i = (2^{y_i} - 1)/\mathrm{maxDCG}` (labels clamped at 0), no
    truncation, as allRank's ``approxNDCGLoss``. The loss lies in
    :math:`[-1, 0]` per list; ``reduction="mean"`` averages over the lists
    that carry a signal (a list of one item or of tied labels contributes 0).

    Parameters
    ----------
    alpha : float, default=1.0
        Sharpness :math:`\alpha > 0` of the rank approximation.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over lists, sum, or one term per list.

    References
    ----------
    .. [1] T. Qin, T.-Y. Liu, H. Li, "A general approximation framework for
       direct optimization of information retrieval measures", Information
       Retrieval 13, 2010.

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(ApproxNDCGLoss()(s, y).item(), 10)
    -0.6611280213
    """

    name = "approx_ndcg"
    aliases = ("approxndcg",)
    key_parameter = "alpha"
    default_grid = {"alpha": [1.0, 2.0]}

    def __init__(self, *, alpha=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.alpha = alpha
        validate_params(self, {"alpha": _POSITIVE})

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        useful = _informative(labels, mask)
        with torch.no_grad():
            gains = _nonneg_gains(labels, mask)
            others = mask.unsqueeze(-1) & mask.unsqueeze(-2)
            others = others & ~torch.eye(
                mask.shape[-1], dtype=torch.bool, device=mask.device
            )
        above = torch.sigmoid(-self.alpha * _differences(scores))
        positions = 1.0 + ordered_sum(torch.where(others, above, 0.0))
        ndcg = _row_sums(gains / torch.log2(1.0 + positions), mask)
        return torch.where(useful, -ndcg, 0.0), useful.to(scores.dtype)


@register_loss
class LiPOLambdaLoss(RankingLoss):
    r"""LiPO-λ: a pairwise logistic loss with DCG Lambda weights (RAX semantics).

    .. math::

        \ell = \sum_{(i,j):\, \psi_i > \psi_j} \Delta_{ij}\,
        \log\bigl(1 + e^{-\beta (s_i - s_j)}\bigr), \qquad
        \Delta_{ij} = n\,|G_i - G_j|\,\Bigl|\frac{1}{\log_2(1 + \tau_i)}
        - \frac{1}{\log_2(1 + \tau_j)}\Bigr|

    where :math:`\tau_i` is the rank of item :math:`i` by the current scores
    (a constant), :math:`G_i = 2^{\psi_i} - 1` (or :math:`\psi_i`), and
    :math:`n` the number of real items of the list. These are the semantics of
    RAX's ``pairwise_logistic_loss`` with ``dcg_lambdaweight``, which LiPO's
    authors used: mean over the valid pairs, weights scaled by the list size
    (RAX scales by the padded length; the real length keeps padding
    irrelevant), log2 discount (the paper writes ``log``). The paper's formula
    as written is ``scale_by_list_size=False, reduction="sum"``.

    Parameters
    ----------
    gain : {"exp2", "linear"}, default="exp2"
        :math:`G = 2^\psi - 1` or :math:`G = \psi`.
    scale_by_list_size : bool, default=True
        Multiply the weights by the list size :math:`n`.
    normalize_gain : bool, default=False
        Divide the gains by the ideal DCG (at ``topn``) of the list (RAX's
        ``normalize``; a list with ideal DCG 0 keeps its gains).
    topn : int or None, default=None
        Discounts of items ranked below ``topn`` are 0.
    beta : float, default=1.0
        Score temperature :math:`\beta > 0` (DPO's β; the ranks do not depend
        on it).
    label_transform : {None, "winrate"}, default=None
        ``"winrate"`` maps graded labels to LiPO's average win rates
        :math:`\psi_k = \frac1n \sum_i (1[y_k > y_i] + \frac12 1[y_k = y_i])`
        (in [0, 1], same order and ties) before the gains.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over valid pairs, sum, or one summed term per list.

    References
    ----------
    .. [1] T. Liu et al., "LiPO: Listwise Preference Optimization through
       Learning-to-Rank", NAACL 2025. https://arxiv.org/abs/2402.01878

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> psi = torch.tensor([0.9, 0.2, 0.5, 0.7], dtype=torch.float64)
    >>> round(LiPOLambdaLoss()(s, psi).item(), 10)
    0.5759760334
    >>> paper = LiPOLambdaLoss(scale_by_list_size=False, reduction="sum")
    >>> round(paper(s, psi).item(), 10)
    0.86396405
    """

    name = "lipo_lambda"
    key_parameter = "gain"
    default_grid = {"gain": ["exp2", "linear"]}

    def __init__(
        self,
        *,
        gain="exp2",
        scale_by_list_size=True,
        normalize_gain=False,
        topn=None,
        beta=1.0,
        label_transform=None,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        self.gain = gain
        self.scale_by_list_size = scale_by_list_size
        self.normalize_gain = normalize_gain
        self.topn = topn
        self.beta = beta
        self.label_transform = label_transform
        validate_params(
            self,
            {
                "gain": one_of("exp2", "linear"),
                "scale_by_list_size": one_of(True, False),
                "normalize_gain": one_of(True, False),
                "topn": integer(1) | one_of(None),
                "beta": _POSITIVE,
                "label_transform": one_of(None, "winrate"),
            },
        )

    def list_terms(self, scores, labels, mask):
        scores, labels = _clean(scores, labels, mask)
        ranks = score_ranks(scores, mask)
        with torch.no_grad():
            size = mask.sum(-1, keepdim=True).to(labels.dtype)
            psi = labels
            if self.label_transform == "winrate":
                diff = _differences(labels)
                wins = (diff > 0).to(labels.dtype) + 0.5 * (diff == 0).to(labels.dtype)
                psi = torch.where(mask.unsqueeze(-2), wins, 0.0).sum(-1)
                psi = (psi / size.clamp_min(1.0)).masked_fill(~mask, 0.0)
            if self.normalize_gain:
                gains = (
                    scaled_exp2_gains(psi, mask)
                    if self.gain == "exp2"
                    else psi.masked_fill(~mask, 0.0)
                )
                idcg = _ideal_dcg(gains, mask, self.topn)
                gains = gains / torch.where(idcg == 0, 1.0, idcg)
            else:
                gains = dcg_gains(psi, self.gain).masked_fill(~mask, 0.0)
                if not bool(torch.isfinite(gains).all()):
                    raise ValueError(
                        "lipo_lambda: 2**label overflows for labels this large "
                        f"(up to {float(psi.max()):g}); use gain='linear', "
                        "normalize_gain=True or label_transform='winrate' (LiPO's "
                        "labels are in [0, 1])."
                    )
            disc = _inverse_discounts(ranks, labels.dtype)
            if self.topn is not None:
                disc = torch.where(ranks <= self.topn, disc, 0.0)
            weight = _differences(gains).abs() * _differences(disc).abs()
            if self.scale_by_list_size:
                weight = weight * size.unsqueeze(-1)
        return _logistic_pairs(scores, _valid_pairs(labels, mask), self.beta, weight)


# -- FIRST --------------------------------------------------------------------
@register_loss
class FIRSTLoss(RankingLoss):
    r"""FIRST's objective for tabular ranking: ListMLE plus a rank-weighted
    RankNet.

    .. math::

        \ell = \alpha_{lm}\,\mathrm{ListMLE}(s, y)
        + \lambda\, \operatorname*{mean}_{(i,j):\, y_i > y_j}
        \frac{\log\bigl(1 + e^{-(s_i - s_j)}\bigr)}{r_i + r_j}

    with :math:`r` the 1-based gold ranks (by descending label). The weighted
    RankNet is averaged over all valid pairs of the batch, not normalised by
    the sum of the weights (as FIRST's code, ``BCEWithLogitsLoss(weight=w)``);
    ListMLE, which stands in for FIRST's language-modelling loss on the gold
    permutation, is averaged over the lists that carry a signal and orders
    tied labels by descending score (its most favourable order, see
    :class:`ListMLELoss`). ``alpha_lm=0`` gives the weighted RankNet alone.

    Parameters
    ----------
    lambda_rank : float, default=10.0
        Weight :math:`\lambda \ge 0` of the weighted RankNet (FIRST's code
        uses 10).
    alpha_lm : float, default=1.0
        Weight :math:`\alpha_{lm} \ge 0` of ListMLE.
    rank_ties : {"stable", "average"}, default="stable"
        Gold ranks of tied labels: positions of a stable sort (tied items in
        their order in the list) or the average of the tied positions.

    References
    ----------
    .. [1] R. G. Reddy et al., "FIRST: Faster Improved Listwise Reranking with
       Single Token Decoding", EMNLP 2024. https://arxiv.org/abs/2406.15657

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(FIRSTLoss(alpha_lm=0.0, lambda_rank=1.0)(s, y).item(), 10)
    0.1567275796
    """

    name = "first"
    key_parameter = "lambda_rank"
    default_grid = {"lambda_rank": [1.0, 10.0]}

    def __init__(self, *, lambda_rank=10.0, alpha_lm=1.0, rank_ties="stable"):
        super().__init__()
        self.lambda_rank = lambda_rank
        self.alpha_lm = alpha_lm
        self.rank_ties = rank_ties
        validate_params(
            self,
            {
                "lambda_rank": real(0),
                "alpha_lm": real(0),
                "rank_ties": one_of("stable", "average"),
            },
        )

    def weighted_ranknet_terms(self, scores, labels, mask):
        """Per list: the summed ``softplus(-(s_i - s_j)) / (r_i + r_j)`` over
        the valid pairs, and the number of valid pairs."""
        ranks = _label_ranks(labels, mask, self.rank_ties)
        weight = 1.0 / (ranks.unsqueeze(-1) + ranks.unsqueeze(-2))
        return _logistic_pairs(scores, _valid_pairs(labels, mask), 1.0, weight)

    def forward(self, input, target, *, sample_weight=None, groups=None, mask=None):
        scores, labels, mask, weight = as_lists(
            input, target, groups=groups, mask=mask, sample_weight=sample_weight
        )
        scores, labels = _clean(scores, labels, mask)
        terms, counts = self.weighted_ranknet_terms(scores, labels, mask)
        loss = self.lambda_rank * reduce_lists(terms, counts, weight)
        if self.alpha_lm:
            terms, counts = _listmle_terms(scores, labels, mask, "best")
            loss = loss + self.alpha_lm * reduce_lists(terms, counts, weight)
        return loss


# -- RankList (reconstruction) ------------------------------------------------
_RANKLIST_VARIANTS = (
    "lse",
    "local",
    "all_pairs",
    "skip",
    "skip_curriculum",
    "local+lse",
)


@register_loss
class RankListLoss(RankingLoss):
    r"""RankList: a listwise generalisation of RankNet (a reconstruction).

    **This loss is our reconstruction.** Only the abstract and two figure
    captions of the paper could be read (arXiv 2508.09826): RankList
    generalises RankNet to list-level supervision with local and non-local
    constraints, a log-sum-exp approximation, skip-wise comparisons with
    progressive exposure, and a minimum label margin :math:`W`. The equations
    below satisfy those statements and reduce to RankNet on a list of two
    items; every formula, the curriculum and all defaults are ours.

    With the items of a list in gold order (descending label), a pair
    :math:`(a, b)` is valid when :math:`y_a > y_b` and
    :math:`y_a - y_b \ge W`; tied items form no pair. Its *skip* :math:`k_{ab}`
    is the number of distinct labels of the list in :math:`(y_b, y_a]` (the
    distance in gold positions when no label is tied). With
    :math:`\ell_{ab} = \log(1 + e^{-(s_a - s_b)})`:

    - ``"all_pairs"`` (non-local): :math:`\sum_{\text{valid}} \ell_{ab}`
      (RankNet summed over the list);
    - ``"local"``: the valid pairs with :math:`k_{ab} = 1` (adjacent levels);
    - ``"skip"``: the valid pairs with :math:`k_{ab} =` ``skip``;
    - ``"skip_curriculum"``: the valid pairs with :math:`k_{ab} \le K(e)`,
      each weighted by :math:`1/k_{ab}` when ``skip_weighting="inverse"``,
      where at epoch :math:`e` (1-based)
      :math:`K(e) = \min(N - 1, 1 + \lfloor (N - 2)\, e / E \rfloor)`,
      :math:`N` the number of distinct labels of the list and :math:`E` =
      ``skip_ramp_epochs``: epoch 0 sees adjacent pairs only, the skips then
      grow linearly and every pair is in from epoch :math:`E` on. Without an
      ``epoch`` every skip is used (the final stage, ``"all_pairs"``);
    - ``"lse"``: each item must beat a log-sum-exp (temperature :math:`\tau`)
      of its competitors :math:`C_a = \{b : (a, b) \text{ valid}\}`,

      .. math::

          \ell = \sum_a \tau \log\Bigl(1 + \sum_{b \in C_a}
          e^{(s_b - s_a)/\tau}\Bigr),

      a masked log-sum-exp. At :math:`\tau = 1` without ties or margin this is
      ListMLE; as :math:`\tau \to 0` it tends to a sum of max-violation terms;
    - ``"local+lse"``: the sum of ``"local"`` and ``"lse"``.

    ``reduction="mean"`` averages over the lists that have a pair the variant
    uses. The list sampling of the paper's no-query-id setting is the
    estimator's job; pass the whole pool as one list with ``groups=None``.

    Parameters
    ----------
    variant : {"lse", "local", "all_pairs", "skip", "skip_curriculum", \
"local+lse"}, default="lse"
        Which constraints (see above).
    tau : float, default=1.0
        Temperature :math:`\tau > 0` of ``"lse"``.
    skip : int, default=1
        The skip :math:`k \ge 1` of ``"skip"``.
    min_margin : float, default=0.0
        Minimum label gap :math:`W \ge 0` of a pair.
    skip_ramp_epochs : int, default=10
        Epochs :math:`E \ge 1` for the curriculum to reach every skip.
    skip_weighting : {None, "inverse"}, default=None
        Weight :math:`1/k` of the skip-:math:`k` pairs in the curriculum.
    reduction : {"mean", "sum", "none"}, default="mean"
        Mean over lists, sum, or one term per list.

    References
    ----------
    .. [1] A. R. Naini, F. Diaz, C. Busso, "RankList: A Listwise Preference
       Learning Framework for Predicting Subjective Preferences", 2025.
       https://arxiv.org/abs/2508.09826 (abstract only).

    Examples
    --------
    >>> import torch
    >>> s = torch.tensor([0.5, 1.2, -0.3, 0.8], dtype=torch.float64)
    >>> y = torch.tensor([2.0, 0.0, 1.0, 3.0])
    >>> round(RankListLoss()(s, y).item(), 10)  # lse, tau=1: ListMLE
    4.2148803507
    >>> round(RankListLoss(variant="local")(s, y).item(), 10)
    2.6268691884
    """

    name = "ranklist"
    requires = ("groups", "epoch")
    key_parameter = "variant"
    default_grid = {"variant": ["lse", "local", "all_pairs"]}
    equivalences = (
        ({"variant": "all_pairs", "reduction": "sum"}, "ranknet", {"reduction": "sum"}),
    )

    def __init__(
        self,
        *,
        variant="lse",
        tau=1.0,
        skip=1,
        min_margin=0.0,
        skip_ramp_epochs=10,
        skip_weighting=None,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        self.variant = variant
        self.tau = tau
        self.skip = skip
        self.min_margin = min_margin
        self.skip_ramp_epochs = skip_ramp_epochs
        self.skip_weighting = skip_weighting
        validate_params(
            self,
            {
                "variant": one_of(*_RANKLIST_VARIANTS),
                "tau": _POSITIVE,
                "skip": integer(1),
                "min_margin": real(0),
                "skip_ramp_epochs": integer(1),
                "skip_weighting": one_of(None, "inverse"),
            },
        )

    def max_skip(self, n_levels, epoch=None):
        """The largest skip :math:`K(e)` the curriculum uses for lists with
        ``n_levels`` distinct labels (a tensor), at ``epoch``."""
        if epoch is None:
            return n_levels - 1
        grown = 1 + torch.div(
            (n_levels - 2).clamp_min(0) * epoch,
            self.skip_ramp_epochs,
            rounding_mode="floor",
        )
        return torch.minimum(n_levels - 1, grown)

    @staticmethod
    def _levels(labels, mask):
        """Dense rank of each item among the distinct labels of its list (0 for
        the best label) and the number of distinct labels, ``[B]``."""
        diff = _differences(labels)  # y_i - y_j
        both = mask.unsqueeze(-1) & mask.unsqueeze(-2)
        earlier = torch.ones_like(diff, dtype=torch.bool).tril(-1)  # j < i
        repeated = ((diff == 0) & both & earlier).any(-1)
        first = mask & ~repeated
        above = ((diff < 0) & first.unsqueeze(-2)).sum(-1)
        return above, first.sum(-1)

    def forward(
        self,
        input,
        target,
        *,
        sample_weight=None,
        groups=None,
        mask=None,
        epoch=None,
    ):
        if epoch is not None:
            if isinstance(epoch, torch.Tensor) and epoch.numel() == 1:
                epoch = epoch.item()
            if not isinstance(epoch, numbers.Integral) or isinstance(epoch, bool):
                raise TypeError(f"epoch must be an int or None; got {epoch!r}.")
            if epoch < 0:
                raise ValueError(f"epoch must be >= 0 (1-based epochs); got {epoch}.")
            epoch = int(epoch)
        scores, labels, mask, weight = as_lists(
            input, target, groups=groups, mask=mask, sample_weight=sample_weight
        )
        terms, counts = self._terms(scores, labels, mask, epoch)
        return reduce_lists(terms, counts, weight, self.reduction)

    def list_terms(self, scores, labels, mask):
        return self._terms(scores, labels, mask, None)

    def _terms(self, scores, labels, mask, epoch):
        scores, labels = _clean(scores, labels, mask)
        variant = self.variant
        with torch.no_grad():
            valid = _valid_pairs(labels, mask, self.min_margin)
            pairs, weight = None, None
            if variant != "lse":
                levels, n_levels = self._levels(labels, mask)
                skips = _differences(levels).neg()  # levels[j] - levels[i]
                if variant == "all_pairs":
                    pairs = valid
                elif variant in ("local", "local+lse"):
                    pairs = valid & (skips == 1)
                elif variant == "skip":
                    pairs = valid & (skips == self.skip)
                else:
                    top = self.max_skip(n_levels, epoch)[..., None, None]
                    pairs = valid & (skips <= top)
                    if self.skip_weighting == "inverse":
                        weight = 1.0 / skips.clamp_min(1).to(scores.dtype)
        terms = _row_sums(scores, mask) * 0.0  # connected to the scores
        used = torch.zeros(scores.shape[:-1], dtype=torch.bool, device=scores.device)
        if pairs is not None:
            terms, n_pairs = _logistic_pairs(scores, pairs, 1.0, weight)
            used = n_pairs > 0
        if variant in ("lse", "local+lse"):
            # z[a, b] = (s_b - s_a) / tau over the competitors b of a, 0 at b = a
            # (the 1 in log(1 + sum)), the finite fill elsewhere
            b, i, j = competitors = _pairs(valid)
            z = scores.new_full(valid.shape, torch.finfo(scores.dtype).min / 4)
            z = z.index_put(competitors, (scores[b, j] - scores[b, i]) / self.tau)
            z = torch.diagonal_scatter(z, torch.zeros_like(scores), dim1=-2, dim2=-1)
            has = valid.any(-1)
            per_item = self.tau * _row_logsumexp(z, torch.ones_like(valid))
            terms = terms + _row_sums(per_item.squeeze(-1), has)
            used = used | has.any(-1)
        return torch.where(used, terms, 0.0), used.to(scores.dtype)
