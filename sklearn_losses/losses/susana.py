r"""Proto-Triplet and ICNN losses ("SuSana Distancia is all you need").

Mendez-Ruiz et al., "SuSana Distancia is all you need: Enforcing class
separability in metric learning via two novel distance-based loss functions
for few-shot image classification", 2023 (arXiv 2305.09062).

Both losses measure Euclidean distances
:math:`d(a, b) = \sqrt{\lVert a - b \rVert^2 + 10^{-6}}` between embeddings
of any scale. The paper trains episodic prototypical networks; on a plain
labelled batch the Proto-Triplet loss uses leave-one-out class prototypes and
the ICNN loss scores the batch against itself.
"""

from __future__ import annotations

import math
import numbers

import torch

from ..metrics._icnn import _check_k_r, _icnn_tensors
from ._base import check_weights
from ._embedding import (
    EmbeddingLoss,
    check_embedding_batch,
    pairwise_distances,
    reduce_anchors,
)
from ._registry import register_loss

__all__ = ["ICNNLoss", "ProtoTripletLoss", "proto_triplet"]

#: Added to the squared distances under the square root (the authors' code).
_DIST_EPS = 1e-6


def _check_margin(margin):
    if (
        isinstance(margin, bool)
        or not isinstance(margin, numbers.Real)
        or not math.isfinite(margin)
        or margin < 0
    ):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}.")


def _triplet_terms(pos_dist, neg_dist, valid, margin):
    """``max(0, d+ - d- + m)`` where ``valid``, else 0 (finite gradients)."""
    gap = torch.where(valid, pos_dist - neg_dist, torch.zeros_like(pos_dist))
    return torch.where(valid, (gap + margin).clamp_min(0.0), torch.zeros_like(gap))


def proto_triplet(
    queries,
    query_labels,
    prototypes,
    prototype_labels,
    margin=0.5,
    *,
    sample_weight=None,
):
    r"""Episodic Proto-Triplet loss: queries against class prototypes.

    .. math::

        L = \frac{1}{|Q|} \sum_i \max\big(0,\ d(q_i, \mu_{y_i}) -
        \min_{c \ne y_i} d(q_i, \mu_c) + m\big)

    The query is the anchor, its class prototype the positive (the farthest
    one if several prototypes share its label) and the nearest prototype of
    another class the negative. A query with no prototype of another label
    contributes 0 (it still counts in the mean). With ``sample_weight`` the
    mean over queries is weighted.

    Parameters
    ----------
    queries : torch.Tensor of shape (n_queries, d)
        Query embeddings.
    query_labels : torch.Tensor of shape (n_queries,)
        Integer labels; each must have a prototype.
    prototypes : torch.Tensor of shape (n_prototypes, d)
        Class prototypes (e.g. the mean support embedding of each class).
    prototype_labels : torch.Tensor of shape (n_prototypes,)
        Integer labels of the prototypes.
    margin : float, default=0.5
        The margin :math:`m` (paper: 0.5).
    sample_weight : torch.Tensor of shape (n_queries,), default=None
        Non-negative query weights.

    Returns
    -------
    torch.Tensor
        The loss, a scalar.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.susana import proto_triplet
    >>> q = torch.tensor([[0.0, 0.2], [1.0, 0.9]])
    >>> mu = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    >>> proto_triplet(q, torch.tensor([0, 1]), mu, torch.tensor([0, 1]))
    tensor(0.)
    """
    _check_margin(margin)
    check_embedding_batch(queries, query_labels)
    check_embedding_batch(prototypes, prototype_labels)
    if prototypes.shape[1] != queries.shape[1]:
        raise ValueError(
            f"prototypes must have the queries' width {queries.shape[1]}; got "
            f"{prototypes.shape[1]}."
        )
    same = query_labels.unsqueeze(1) == prototype_labels.unsqueeze(0)
    has_own = same.any(1)
    if not bool(has_own.all()):
        missing = torch.unique(query_labels[~has_own]).tolist()
        raise ValueError(
            f"every query label needs a prototype; no prototype for {missing}."
        )
    dist = pairwise_distances(queries, prototypes.to(queries.dtype), eps=_DIST_EPS)
    pos = dist.masked_fill(~same, float("-inf")).amax(1)
    neg = dist.masked_fill(same, float("inf")).amin(1)
    valid = (~same).any(1)
    terms = _triplet_terms(pos, neg, valid, margin)
    return reduce_anchors(terms, torch.ones_like(terms), sample_weight)


@register_loss
class ProtoTripletLoss(EmbeddingLoss):
    r"""Proto-Triplet loss with leave-one-out prototypes, on one batch.

    .. math::

        \ell_i = \max\big(0,\ d(z_i, \mu_i^+) - \min_{c \ne y_i}
        d(z_i, \mu_c) + m\big), \qquad
        \mu_i^+ = \frac{1}{n_{y_i} - 1} \sum_{k \ne i,\, y_k = y_i} z_k

    with :math:`d(a, b) = \sqrt{\lVert a - b \rVert^2 + 10^{-6}}`,
    :math:`\mu_c` the mean embedding of class :math:`c` in the batch and
    :math:`n_c` its row count. The paper's anchor is a query and its
    positive the prototype of the support set; on a plain batch every row is
    an anchor and its positive is the mean of the *other* rows of its class
    (a leave-one-out prototype, so an anchor does not pull towards itself).
    The loss is the mean of :math:`\ell_i` over the anchors, weighted by the
    sample weights. An anchor whose class has no other row in the batch, and
    every anchor of a batch with a single class, has no positive or no
    negative and counts 0 (a batch with no such pair gives 0). See
    :func:`proto_triplet` for the episodic form.

    Input: embeddings ``(B, d)`` of any scale (distances are Euclidean, not
    cosine) and integer labels ``(B,)``.

    Parameters
    ----------
    margin : float, default=0.5
        The margin :math:`m` (paper: 0.5).

    References
    ----------
    M. Mendez-Ruiz et al. SuSana Distancia is all you need: Enforcing class
    separability in metric learning via two novel distance-based loss
    functions for few-shot image classification. 2023, arXiv 2305.09062.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.susana import ProtoTripletLoss
    >>> z = torch.tensor([[0.0, 0.0], [0.0, 0.1], [1.0, 0.0], [1.0, 0.1]])
    >>> ProtoTripletLoss(margin=0.5)(z, torch.tensor([0, 0, 1, 1]))
    tensor(0.)
    >>> ProtoTripletLoss(margin=0.5)(z, torch.tensor([0, 1, 0, 1]))
    tensor(0.9901)
    """

    name = "proto_triplet"
    key_parameter = "margin"
    default_grid = {"margin": [0.2, 0.5, 1.0]}

    def __init__(self, margin=0.5):
        super().__init__()
        _check_margin(margin)
        self.margin = margin

    def anchor_terms(self, embeddings, labels, **context):
        classes, inverse, class_counts = torch.unique(
            labels, return_inverse=True, return_counts=True
        )
        one_hot = (
            inverse.unsqueeze(1) == torch.arange(len(classes), device=labels.device)
        ).to(embeddings.dtype)
        sums = one_hot.transpose(0, 1) @ embeddings  # (C, d)
        sizes = class_counts.to(embeddings.dtype)
        means = sums / sizes.unsqueeze(1)
        own = class_counts[inverse]
        others = (sums[inverse] - embeddings) / (own - 1).clamp_min(1).to(
            embeddings.dtype
        ).unsqueeze(1)
        pos = ((embeddings - others).pow(2).sum(1) + _DIST_EPS).sqrt()
        dist = pairwise_distances(embeddings, means, eps=_DIST_EPS)
        neg = dist.masked_fill(one_hot.bool(), float("inf")).amin(1)
        valid = (own > 1) & (len(classes) > 1)
        terms = _triplet_terms(pos, neg, valid, self.margin)
        return terms, valid.to(embeddings.dtype)


@register_loss
class ICNNLoss(EmbeddingLoss):
    r"""ICNN loss: minus the log of the batch's ICNN score.

    .. math::

        L = -\log \mathrm{ICNN}(Z, y; Z, y)

    with the inter/intra-class nearest-neighbour score of
    :func:`~sklearn_losses.metrics._icnn.icnn_score` computed on the batch
    against itself (each row's nearest neighbour, itself, is dropped). The
    score rewards rows whose ``k`` nearest neighbours share their class
    (:math:`\gamma`), are close compared with the nearest row of another class
    (:math:`\Lambda_\text{intra}`) and whose other-class neighbours are far
    (:math:`\Lambda_\text{inter}`). Gradients flow through the distances; the
    neighbour selection is constant. The loss is not a mean of per-anchor
    terms: a sample weight weighs the row in every mean over anchors of the
    score (see ``icnn_score``); a batch whose weights are all 0 gives 0. A
    batch with a single class scores 1 (loss 0), and batches of at most 3 rows
    clip ``k`` to :math:`B - 2`.

    Input: embeddings ``(B, d)`` of any scale and integer labels ``(B,)``.

    Parameters
    ----------
    k : int, default=4
        Number of neighbours scored (paper: 4), clipped to ``B - 2``.
    r : int, default=None
        Number of candidate neighbours, ``>= k`` (``None``: ``k + 1``; the
        paper's "full" variant uses the rows per class of an episode).

    References
    ----------
    M. Mendez-Ruiz et al. SuSana Distancia is all you need: Enforcing class
    separability in metric learning via two novel distance-based loss
    functions for few-shot image classification. 2023, arXiv 2305.09062.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.susana import ICNNLoss
    >>> z = torch.tensor([[0.0, 0.0], [0.0, 0.1], [1.0, 0.0], [1.0, 0.1]])
    >>> ICNNLoss()(z, torch.tensor([0, 0, 1, 1]))
    tensor(0.0253)
    """

    name = "icnn"
    key_parameter = "k"
    default_grid = {"k": [2, 4, 8]}

    def __init__(self, k=4, r=None):
        super().__init__()
        _check_k_r(k, r)
        self.k = k
        self.r = r

    def forward(self, input, target, *, sample_weight=None, **context):
        """The batch loss :math:`-\\log \\mathrm{ICNN}` (a scalar tensor).

        Parameters
        ----------
        input : torch.Tensor of shape (B, d)
            Embeddings.
        target : torch.Tensor of shape (B,)
            Integer labels.
        sample_weight : torch.Tensor of shape (B,), default=None
            Non-negative row weights (see the class docstring).
        **context
            Unused.
        """
        check_embedding_batch(input, target)
        if sample_weight is not None:
            check_weights(sample_weight)
            if sample_weight.shape != target.shape:
                raise ValueError(
                    f"sample_weight must have shape {tuple(target.shape)} (one "
                    f"weight per row), got {tuple(sample_weight.shape)}."
                )
        score = _icnn_tensors(
            input, target, input, target, self.k, self.r, sample_weight, True
        )
        loss = -score.clamp_min(torch.finfo(score.dtype).tiny).log()
        if sample_weight is None:
            return loss
        return torch.where(sample_weight.sum() > 0, loss, torch.zeros_like(loss))
