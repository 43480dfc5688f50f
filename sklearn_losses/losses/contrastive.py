"""Contrastive losses: the pair margin loss and InfoNCE / NT-Xent.

:class:`ContrastiveLoss` pulls positive pairs within a distance margin and
pushes negative pairs beyond another (Hadsell, Chopra and LeCun, 2006, in
pytorch-metric-learning's form). :class:`InfoNCELoss` is the softmax
contrastive loss of SimCLR / SupCon, in-batch on labels or on two augmented
views, with the hard-negative variant of Wang and Liu (CVPR 2021);
:func:`info_nce` is its two-view form as a function.
"""

from __future__ import annotations

import functools
import numbers

import torch
from torch.nn import functional as F

from .._validation import check_real
from ._embedding import EmbeddingLoss, check_embedding_batch, pair_masks
from ._registry import register_loss
from .multi_similarity import _ParamsObject

__all__ = [
    "ContrastiveLoss",
    "InfoNCELoss",
    "GaussianNoise",
    "FeatureMask",
    "info_nce",
]

_VARIANTS = ("ntxent", "cross")


def _tiny(tensor):
    return torch.finfo(tensor.dtype).tiny


# ---------------------------------------------------------------------------
# The pair margin loss
# ---------------------------------------------------------------------------


@register_loss
class ContrastiveLoss(EmbeddingLoss):
    r"""Pair margin (contrastive) loss on Euclidean distances of unit embeddings.

    With :math:`d_{ik} = \lVert \hat z_i - \hat z_k \rVert_2` (rows
    L2-normalised, so :math:`d \in [0, 2]`),
    :math:`\rho^+(d) = [d - m^+]_+` on positive pairs and
    :math:`\rho^-(d) = [m^- - d]_+` on negative pairs, the loss is

    .. math::

        L = \operatorname{mean}_{(i,k)\in P,\ \rho^+>0} \rho^+(d_{ik})
          + \operatorname{mean}_{(i,k)\in N,\ \rho^->0} \rho^-(d_{ik}),

    each part a mean over its *non-zero* pair terms (pytorch-metric-learning's
    default ``ContrastiveLoss`` with its ``AvgNonZeroReducer``; a part with no
    non-zero term is 0). Pairs are ordered (both ``(i, k)`` and ``(k, i)``).
    Equal to pytorch-metric-learning's value and gradients.

    Sample weight: the weight :math:`w_i` of each pair's anchor; each part is
    :math:`\sum w_i \rho / \sum w_i` over its non-zero pairs.

    Input contract: embeddings ``(B, d)`` of any scale (normalised inside),
    integer labels ``(B,)``. A batch without positive pairs has only the
    negative part; one without non-zero terms gives 0 with zero gradients.

    Parameters
    ----------
    pos_margin : float, default=0.0
        :math:`m^+`: positive pairs closer than this cost nothing.
    neg_margin : float, default=0.5
        :math:`m^-`: negative pairs farther than this cost nothing (Metrix's
        setting; pytorch-metric-learning's default is 1).

    References
    ----------
    Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an
    Invariant Mapping", CVPR 2006. Venkataramanan, Psomas et al., "It Takes Two
    to Tango: Mixup for Deep Metric Learning", ICLR 2022 (the margins).

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> round(ContrastiveLoss()(z, y).item(), 4)
    0.8496
    """

    name = "contrastive"
    key_parameter = "neg_margin"
    default_grid = {"neg_margin": [0.5, 1.0]}
    soft_labels = True

    def __init__(self, pos_margin=0.0, neg_margin=0.5):
        super().__init__()
        check_real("pos_margin", pos_margin, low=0)
        check_real("neg_margin", neg_margin, low=0)
        self.pos_margin = pos_margin
        self.neg_margin = neg_margin

    def _rho(self, distances):
        return (
            F.relu(distances - self.pos_margin),
            F.relu(self.neg_margin - distances),
        )

    def forward(self, input, target, *, sample_weight=None, **context):
        """The batch loss; see the class docstring (weights: anchors')."""
        check_embedding_batch(input, target)
        z = F.normalize(input, dim=1)
        rho_pos, rho_neg = self._rho(torch.cdist(z, z))
        positive, negative = pair_masks(target)
        anchor = torch.ones_like(rho_pos[:, 0])
        if sample_weight is not None:
            from ._base import check_weights

            check_weights(sample_weight)
            if sample_weight.shape != anchor.shape:
                raise ValueError(
                    f"sample_weight must have shape {tuple(anchor.shape)} (one weight "
                    f"per anchor), got {tuple(sample_weight.shape)}."
                )
            anchor = sample_weight.to(anchor.dtype)
        total = rho_pos.new_zeros(())
        for rho, mask in ((rho_pos, positive), (rho_neg, negative)):
            weight = (mask & (rho > 0)).to(rho.dtype) * anchor.unsqueeze(1)
            total = total + (weight * rho).sum() / weight.sum().clamp_min(_tiny(rho))
        return total

    def soft_terms(self, anchors, candidates, positive, negative):
        r"""Pair terms with soft pair labels.

        :math:`t_i = \frac{1}{m_i}\sum_k \bigl(p_{ik}\rho^+(d_{ik}) +
        n_{ik}\rho^-(d_{ik})\bigr)`, count :math:`m_i` = the number of
        candidates with :math:`p_{ik} + n_{ik} > 0`: the batch term is the
        mean of the weighted pair terms over all scored pairs (zero terms
        included, unlike the hard-label loss's non-zero means).
        """
        d = torch.cdist(F.normalize(anchors, dim=1), F.normalize(candidates, dim=1))
        rho_pos, rho_neg = self._rho(d)
        positive = positive.to(d.dtype)
        negative = negative.to(d.dtype)
        sums = (positive * rho_pos + negative * rho_neg).sum(1)
        counts = ((positive + negative) > 0).sum(1).to(d.dtype)
        return sums / counts.clamp_min(1.0), counts


# ---------------------------------------------------------------------------
# Augmentations of the input features (second views)
# ---------------------------------------------------------------------------


class GaussianNoise(_ParamsObject):
    """Second view by additive Gaussian noise: ``X + std * N(0, 1)``.

    Draws from torch's global random generator (``torch.manual_seed`` makes
    it reproducible). Meant for standardised features.

    Parameters
    ----------
    std : float, default=0.1
        Standard deviation of the noise (>= 0).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> GaussianNoise(std=0.1)(torch.zeros(2, 3)).shape
    torch.Size([2, 3])
    """

    _params = ("std",)

    def __init__(self, std=0.1):
        self.std = self._check("std", std)

    def _check(self, name, value):
        return check_real(name, value, low=0)

    def __call__(self, X):
        return X + self.std * torch.randn_like(X)


class FeatureMask(_ParamsObject):
    """Second view by masking features: each entry is set to 0 with
    probability ``p`` (the mean of a standardised feature; no rescaling).

    Draws from torch's global random generator (``torch.manual_seed`` makes
    it reproducible).

    Parameters
    ----------
    p : float, default=0.2
        Probability of masking an entry, in ``[0, 1)``.

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> FeatureMask(p=0.5)(torch.ones(2, 4)).shape
    torch.Size([2, 4])
    """

    _params = ("p",)

    def __init__(self, p=0.2):
        self.p = self._check("p", p)

    def _check(self, name, value):
        return check_real(name, value, low=0, high=1, closed="left")

    def __call__(self, X):
        keep = torch.rand_like(X) >= self.p
        return X * keep.to(X.dtype)


_AUGMENTS = {"noise": GaussianNoise, "mask": FeatureMask}


# ---------------------------------------------------------------------------
# InfoNCE
# ---------------------------------------------------------------------------


class _PairInfoNCE(torch.autograd.Function):
    """Per-positive-pair InfoNCE losses from two sets of unit embeddings.

    ``logits = anchors @ candidates.T / tau`` ``(B, M)``; for each positive
    pair ``(pa[j], pp[j])`` the loss is ``softplus(lse_a - logits[a, p])``
    with ``lse_a`` the log-sum-exp of anchor ``a``'s negatives: every
    candidate except the positive pairs and, with ``diagonal``, the anchor
    itself (hard labels: the pairs are all same-label pairs), or every
    candidate weighted by ``exp(neg_log_weight)`` (soft labels, ``-inf``: not
    a negative); only the ``k`` largest when ``k`` is given. An anchor without
    negatives has ``lse = -inf`` and losses 0.

    Hard labels and ``|logits| <= 1/tau`` small enough for ``exp`` not to
    overflow or underflow (``1/tau <= 50`` in float32, ``300`` in float64:
    the rows are unit vectors) take the fast path: ``exp`` of the raw logits,
    the excluded entries set to 0 after. Otherwise the log-sum-exp is shifted
    by each row's largest negative logit. Forward and backward are written
    out: a few passes over the ``(B, M)`` matrix, the positive pairs handled
    as index lists.
    """

    @staticmethod
    def forward(ctx, anchors, candidates, inv_tau, pa, pp, diagonal, neg_log_weight, k):
        n_candidates = candidates.shape[0]
        work = torch.mm(anchors * inv_tau, candidates.t())
        pos_flat = pa * n_candidates + pp
        s_pos = work.view(-1).index_select(0, pos_flat)
        limit = 50.0 if work.dtype in (torch.float32, torch.float16) else 300.0
        fast = neg_log_weight is None and inv_tau <= limit
        if neg_log_weight is None:
            if fast:
                work.exp_()
            fill = 0.0 if fast else float("-inf")
            work.view(-1).index_fill_(0, pos_flat, fill)
            if diagonal:
                work.diagonal().fill_(fill)
        else:
            work = work + neg_log_weight
        index = None
        if k is not None and k < n_candidates:
            work, index = work.topk(k, dim=1, sorted=False)
        shift = None
        if not fast:
            shift = work.amax(1) if work.shape[1] else work.new_zeros(len(work))
            shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
            work.sub_(shift.unsqueeze(1)).exp_()
        sums = work.sum(1)
        lse = sums.log() if shift is None else shift + sums.log()
        x = lse.index_select(0, pa).sub_(s_pos)
        ctx.save_for_backward(anchors, candidates, index, pa, pp, sums, x)
        # attributes, not saved tensors: the symmetric backward writes into
        # ``work``'s positive entries, and a later backward through the same
        # graph zeroes them again (``dirty``), which a saved tensor's version
        # check would refuse
        ctx.work, ctx.pos_flat, ctx.dirty = work, pos_flat, False
        ctx.inv_tau = inv_tau
        # One embedding set against itself: exp(logits) is symmetric
        ctx.symmetric = fast and diagonal and index is None and anchors is candidates
        return F.softplus(x)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        anchors, candidates, index, pa, pp, sums, x = ctx.saved_tensors
        work, pos_flat = ctx.work, ctx.pos_flat
        if ctx.dirty:
            work.view(-1).index_fill_(0, pos_flat, 0.0)
            ctx.dirty = False
        q = torch.sigmoid(x).mul_(grad).mul_(ctx.inv_tau)  # d loss / d logit_ap
        dlse = torch.zeros_like(sums).index_add_(0, pa, q)
        scale = dlse.div_(sums.clamp_min(_tiny(sums)))  # d loss / d work, per row
        if ctx.symmetric:
            grads = _symmetric_backward(anchors, work, scale, q, pa, pp, pos_flat)
            if grads is not None:
                ctx.dirty = True
                return grads, None, None, None, None, None, None, None
        dlogits = work * scale.unsqueeze(1)
        if index is not None:
            shape = (anchors.shape[0], candidates.shape[0])
            dlogits = dlogits.new_zeros(shape).scatter_(1, index, dlogits)
        dlogits.view(-1).index_add_(0, pos_flat, q.neg_())
        d_anchors = d_candidates = None
        if ctx.needs_input_grad[0]:
            d_anchors = dlogits @ candidates
        if ctx.needs_input_grad[1]:
            d_candidates = dlogits.t() @ anchors
        return d_anchors, d_candidates, None, None, None, None, None, None


def _symmetric_backward(z, work, scale, q, pa, pp, pos_flat):
    """Gradient of :class:`_PairInfoNCE` wrt ``z`` when the candidates are the
    anchors ``z`` (hard labels, fast path), with one matrix product.

    ``work`` ``W`` is symmetric (0 on the diagonal and on same-label pairs),
    so ``dz = s * (W z) + W (s * z) + R z`` with ``s = scale`` and ``R`` the
    positive pairs' part, ``R_ap = -(q_ap + q_pa)``: ``R`` is written into
    ``W``'s (zero) positive entries as ``R_ap / (s_a + s_p)`` and
    ``W @ [z, s * z]`` gives all three terms (the positive entries are left
    non-zero: the caller marks ``W`` for zeroing before any further use).
    Returns None, ``W`` restored, where some ``s_a + s_p`` is 0 with ``R_ap``
    not (then the general form is used).
    """
    flat = work.view(-1)
    flat.index_put_((pos_flat,), q)
    q_sum = flat.index_select(0, pp * work.shape[0] + pa).add_(q)
    denom = scale.index_select(0, pa) + scale.index_select(0, pp)
    zero = denom == 0
    if bool(zero.any()):
        if bool((q_sum[zero] != 0).any()):
            flat.index_fill_(0, pos_flat, 0.0)
            return None
        denom = torch.where(zero, torch.ones_like(denom), denom)
    flat.index_put_((pos_flat,), q_sum.neg_().div_(denom))
    scaled = z * scale.unsqueeze(1)
    product = work @ torch.cat([z, scaled], dim=1)
    n = z.shape[1]
    return product[:, :n].mul_(scale.unsqueeze(1)).add_(product[:, n:])


@functools.lru_cache(maxsize=16)
def _block_pattern(size, include_self):
    """Row and column offsets of the pairs within one class block of
    ``size`` rows (the diagonal only with ``include_self``), row-major."""
    index = torch.arange(size)
    rows = index.repeat_interleave(size)
    cols = index.repeat(size)
    if not include_self:
        keep = rows != cols
        rows, cols = rows[keep], cols[keep]
    return rows, cols


def _same_label_pairs(labels, include_self=True):
    """All ordered pairs ``(i, k)`` with ``labels[i] == labels[k]`` (``i == k``
    only with ``include_self``) as two index tensors, and the number of pairs
    of each ``i``; built from one sort, without a ``B x B`` mask."""
    n = labels.shape[0]
    order = torch.argsort(labels, stable=True)
    _, sizes = torch.unique_consecutive(labels[order], return_counts=True)
    size = sizes.repeat_interleave(sizes, output_size=n)  # per sorted row
    start = (sizes.cumsum(0) - sizes).repeat_interleave(sizes, output_size=n)
    per_row = size if include_self else size - 1
    counts = torch.empty_like(per_row).index_copy_(0, order, per_row)
    if n and bool(sizes.min() == sizes.max()) and int(sizes[0]) <= 256:
        # equal classes (a class-balanced batch): one pattern for all blocks
        local_rows, local_cols = _block_pattern(int(sizes[0]), include_self)
        starts = (sizes.cumsum(0) - sizes).unsqueeze(1)
        rows = (starts + local_rows.to(labels.device)).view(-1)
        cols = (starts + local_cols.to(labels.device)).view(-1)
        return order.index_select(0, rows), order.index_select(0, cols), counts
    total = int(per_row.sum())
    rows = torch.arange(n, device=labels.device).repeat_interleave(
        per_row, output_size=total
    )
    first = (per_row.cumsum(0) - per_row).repeat_interleave(per_row, output_size=total)
    offset = torch.arange(total, device=labels.device) - first
    if not include_self:  # skip the row itself within its class block
        rank = torch.arange(n, device=labels.device) - start
        offset += offset >= rank.index_select(0, rows)
    cols = start.index_select(0, rows) + offset
    return order.index_select(0, rows), order.index_select(0, cols), counts


def _check_top_k(top_k):
    if top_k is not None and not (
        isinstance(top_k, numbers.Integral) and not isinstance(top_k, bool)
    ):
        raise ValueError(f"top_k must be None or an int >= 1; got {top_k!r}.")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be None or an int >= 1; got {top_k!r}.")


def _label_pair_losses(anchors, candidates, labels, same_set, temperature, top_k):
    """InfoNCE loss of every positive pair, candidates labelled like anchors.

    Positives of anchor ``i`` are the candidates ``k`` with the same label
    (``k != i`` when ``same_set``: the candidates are the anchors), negatives
    those with another label. Returns ``(losses, anchor_index)``.
    """
    a, k, counts = _same_label_pairs(labels, include_self=not same_set)
    za = F.normalize(anchors, dim=1)
    zc = za if same_set else F.normalize(candidates, dim=1)
    losses = _PairInfoNCE.apply(za, zc, 1.0 / temperature, a, k, same_set, None, top_k)
    return losses, a, counts


def _per_anchor(losses, index, counts):
    """Per-anchor ``(sum of pair losses, number of pairs)``."""
    sums = losses.new_zeros(counts.shape[0]).index_add(0, index, losses)
    return sums, counts.to(losses.dtype)


def info_nce(z1, z2, temperature=0.2, variant="cross"):
    r"""InfoNCE of two views ``z1``, ``z2`` ``(N, d)`` of the same ``N`` instances.

    ``variant="cross"`` (the paper's form, as CLIP/MoCo): anchor
    :math:`f(x_i)` against every :math:`g(x_k)`,

    .. math::

        L = \frac1N \sum_i -\log \frac{e^{s_{ii}/\tau}}{\sum_k e^{s_{ik}/\tau}},
        \qquad s_{ik} = \hat z_{1,i}^\top \hat z_{2,k}.

    ``variant="ntxent"`` (SimCLR's NT-Xent): each of the :math:`2N` embeddings
    is an anchor, its partner view the positive and the other :math:`2N-2`
    the negatives; the mean over the :math:`2N` anchors. Rows are
    L2-normalised; differentiable; a single instance gives 0.

    Examples
    --------
    >>> import torch
    >>> z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> round(info_nce(z1, z1, temperature=1.0).item(), 4)
    0.3133
    """
    check_real("temperature", temperature, low=0, closed="neither")
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be one of {_VARIANTS}; got {variant!r}.")
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(
            "z1 and z2 must be two views of the same instances, both (N, d); got "
            f"{tuple(z1.shape)} and {tuple(z2.shape)}."
        )
    ids = torch.arange(z1.shape[0], device=z1.device)
    if variant == "cross":
        losses, _, _ = _label_pair_losses(z1, z2, ids, False, temperature, None)
    else:
        both = torch.cat([z1, z2])
        losses, _, _ = _label_pair_losses(
            both, both, torch.cat([ids, ids]), True, temperature, None
        )
    return losses.mean() if losses.numel() else z1.sum() * 0.0


@register_loss
class InfoNCELoss(EmbeddingLoss):
    r"""InfoNCE / NT-Xent: softmax contrastive loss over positive pairs.

    For every positive pair :math:`(a, p)` with cosine similarities
    :math:`s` and negatives :math:`N(a)` of the anchor,

    .. math::

        \ell_{ap} = -\log \frac{e^{s_{ap}/\tau}}{e^{s_{ap}/\tau}
        + \sum_{n\in N(a)} e^{s_{an}/\tau}}
        = \operatorname{softplus}\Bigl(\operatorname{LSE}_{n\in N(a)}
        \frac{s_{an}}{\tau} - \frac{s_{ap}}{\tau}\Bigr),

    and the loss is the mean of :math:`\ell_{ap}` over all positive pairs
    (anchor term: the mean over its positives, count :math:`|P_a|`).

    - ``augment=None`` (in-batch, supervised by the labels): positives are
      the other rows of the anchor's label, negatives the rows of other
      labels — pytorch-metric-learning's ``NTXentLoss`` (the same value and
      gradients). An anchor without a positive contributes nothing; a batch
      without positive pairs gives 0 with zero gradients. ``O(B^2)`` time
      and memory: one log-sum-exp of each anchor's negatives, the positive
      pairs as index lists.
    - ``augment`` given (a callable ``(B, f) -> (B, f)`` on the input
      features, or ``"noise"`` / ``"mask"`` for :class:`GaussianNoise` /
      :class:`FeatureMask` with default settings): a second view
      :math:`z' = \text{module}(\text{augment}(X))` of the batch (``X`` and
      ``module`` from the training engine). ``variant="ntxent"``: the same
      pair formula on the :math:`2B` rows :math:`[z; z']`, all :math:`2B`
      rows anchors, with labels :math:`[y; y]` (``supervised=True``,
      SupCon-style: the class's rows of both views and the partner are
      positives) or instance ids (``supervised=False``: SimCLR's NT-Xent, the
      partner is the only positive). ``variant="cross"``: anchors :math:`z`
      against candidates :math:`z'` (the paper's cross-view form), positives
      the candidates of the anchor's label (its own second view included) or
      only its own second view (``supervised=False``). Such a loss trains
      without labels (:meth:`learns_without_labels`): the estimator then
      passes instance ids.
    - ``top_k`` (the hard contrastive loss of Wang and Liu, Eq. 9): only the
      ``top_k`` most similar negatives of each anchor enter its denominator
      (the positive stays).

    Sample weight: anchor weights; with ``augment`` and ``variant="ntxent"``
    row :math:`i`'s weight weighs both of its views as anchors.

    Parameters
    ----------
    temperature : float, default=0.2
        τ > 0 (0.2-0.3 is best in-batch in the paper; 0.07 with large
        negative sets).
    augment : None, callable, "noise" or "mask", default=None
        The second view's augmentation (see above).
    supervised : bool, default=True
        With ``augment``: positives by class labels (True) or by instance
        only (False). No effect without ``augment``.
    top_k : int or None, default=None
        Hard negatives: keep the ``top_k`` most similar negatives per anchor.
    variant : {"ntxent", "cross"}, default="ntxent"
        With ``augment``: all rows of both views as anchors, or the first
        view's rows against the second view. ``"cross"`` needs ``augment``.

    References
    ----------
    Wang and Liu, "Understanding the Behaviour of Contrastive Loss", CVPR 2021
    (arXiv:2012.09740). Chen et al., "A Simple Framework for Contrastive
    Learning of Visual Representations" (SimCLR), ICML 2020. Khosla et al.,
    "Supervised Contrastive Learning", NeurIPS 2020.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> round(InfoNCELoss(temperature=0.5)(z, y).item(), 4)
    0.8707
    """

    name = "infonce"
    aliases = ("ntxent",)
    requires = ("X", "module")
    key_parameter = "temperature"
    default_grid = {"temperature": [0.1, 0.2, 0.5]}
    soft_labels = True

    def __init__(
        self,
        temperature=0.2,
        augment=None,
        supervised=True,
        top_k=None,
        variant="ntxent",
    ):
        super().__init__()
        check_real("temperature", temperature, low=0, closed="neither")
        if not (augment is None or callable(augment) or augment in _AUGMENTS):
            raise ValueError(
                "augment must be None, a callable (B, f) tensor -> (B, f) tensor, "
                f"'noise' or 'mask'; got {augment!r}."
            )
        if not isinstance(supervised, bool):
            raise ValueError(f"supervised must be True or False; got {supervised!r}.")
        _check_top_k(top_k)
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}; got {variant!r}.")
        if variant == "cross" and augment is None:
            raise ValueError(
                "variant='cross' scores a first view against a second one and needs "
                "augment (a callable, 'noise' or 'mask'); use variant='ntxent' for "
                "the in-batch loss."
            )
        self.temperature = temperature
        self.augment = augment
        self.supervised = supervised
        self.top_k = top_k
        self.variant = variant

    def learns_without_labels(self):
        """True when ``augment`` is set: the loss makes its own positives."""
        return self.augment is not None

    def _second_view(self, embeddings, X, module):
        if X is None or module is None:
            raise ValueError(
                "InfoNCELoss with augment needs the batch's features X and the "
                "network module (loss(z, y, X=X, module=module)); the training "
                "engine passes both."
            )
        augment = self.augment
        if isinstance(augment, str):
            augment = _AUGMENTS[augment]()
        view = augment(X)
        if not isinstance(view, torch.Tensor) or view.shape != X.shape:
            got = tuple(view.shape) if isinstance(view, torch.Tensor) else type(view)
            raise ValueError(
                f"augment must return a tensor of the input's shape {tuple(X.shape)}; "
                f"got {got}."
            )
        second = module(view)
        if second.shape != embeddings.shape:
            raise ValueError(
                f"module(augment(X)) has shape {tuple(second.shape)}, the embeddings "
                f"{tuple(embeddings.shape)}: the network must map X to the embeddings."
            )
        return second.to(embeddings.dtype)

    def anchor_terms(self, embeddings, labels, X=None, module=None, **context):
        """Per-anchor means of the pair losses, counts = numbers of positives."""
        n, k = embeddings.shape[0], self.top_k
        if self.augment is None:
            sums, counts = _per_anchor(
                *_label_pair_losses(
                    embeddings, embeddings, labels, True, self.temperature, self.top_k
                )
            )
        else:
            second = self._second_view(embeddings, X, module)
            ids = labels if self.supervised else torch.arange(n, device=labels.device)
            if self.variant == "cross":
                sums, counts = _per_anchor(
                    *_label_pair_losses(
                        embeddings, second, ids, False, self.temperature, self.top_k
                    )
                )
            else:
                both = torch.cat([embeddings, second])
                sums, counts = _per_anchor(
                    *_label_pair_losses(
                        both, both, torch.cat([ids, ids]), True, self.temperature, k
                    )
                )
                sums, counts = sums[:n] + sums[n:], counts[:n] + counts[n:]
        return sums / counts.clamp_min(1.0), counts

    def soft_terms(self, anchors, candidates, positive, negative):
        r"""InfoNCE terms with soft pair labels.

        :math:`t_i = \sum_k p_{ik}\,\operatorname{softplus}(\operatorname{LSE}_n
        (\log n_{in} + s_{in}/\tau) - s_{ik}/\tau) / \sum_k p_{ik}`, count
        :math:`\sum_k p_{ik}` (with ``top_k``, the ``top_k`` largest weighted
        negative logits). With 0/1 weights it is the in-batch loss.
        """
        positive = positive.to(anchors.dtype)
        negative = negative.to(anchors.dtype)
        a, k = positive.nonzero(as_tuple=True)
        log_weight = torch.where(
            negative > 0, negative.clamp_min(_tiny(negative)).log(), float("-inf")
        )
        za = F.normalize(anchors, dim=1)
        zc = F.normalize(candidates, dim=1)
        losses = _PairInfoNCE.apply(
            za, zc, 1.0 / self.temperature, a, k, False, log_weight, self.top_k
        )
        weighted = losses * positive[a, k]
        sums = weighted.new_zeros(anchors.shape[0]).index_add(0, a, weighted)
        counts = positive.sum(1)
        return sums / counts.clamp_min(_tiny(counts)), counts
