"""Building blocks of the metric-learning losses: one ``(B, d)`` embedding batch.

A metric-learning loss sees a batch of embeddings ``Z`` (one row per sample,
any scale) and an integer label per row. Rows with the same label are
*positives* of each other, rows with another label *negatives*; a row is never
its own positive (self is excluded by index, so exact duplicates still pair).
:class:`EmbeddingLoss` is the base class: a loss computes one term per anchor
(and how many pairs or items the term averages) in :meth:`~EmbeddingLoss.
anchor_terms`, and :func:`reduce_anchors` turns them into the batch loss with
the anchors' sample weights. Everything is at most ``O(B^2)`` memory.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from ._base import _TRUSTED_TARGETS, BaseLoss, check_weights

__all__ = [
    "EmbeddingLoss",
    "check_embedding_batch",
    "reduce_anchors",
    "cosine_similarities",
    "pair_masks",
    "log1p_sum_exp",
    "pairwise_distances",
]


def check_embedding_batch(embeddings, labels):
    """Raise unless ``embeddings`` is ``(B, d)`` floating and finite and
    ``labels`` ``(B,)`` integer (any values: equal labels make positives);
    finiteness is not checked inside :func:`trusted_targets`."""
    if not isinstance(embeddings, torch.Tensor) or not embeddings.is_floating_point():
        raise TypeError(
            "input must be a floating torch.Tensor of embeddings, shape (B, d); got "
            f"{type(embeddings).__name__}"
            + (f" of dtype {embeddings.dtype}" if hasattr(embeddings, "dtype") else "")
            + "."
        )
    if embeddings.ndim != 2:
        raise ValueError(
            "input must hold one embedding per row, shape (B, d); got shape "
            f"{tuple(embeddings.shape)}."
        )
    if not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"target must be a torch.Tensor of labels; got {type(labels).__name__}."
        )
    if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"target must hold one label per embedding, shape ({embeddings.shape[0]},)"
            f"; got shape {tuple(labels.shape)}."
        )
    if labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"target must hold integer labels; got dtype {labels.dtype}.")
    if not _TRUSTED_TARGETS.get() and embeddings.numel():
        # A NaN or inf carries through the sum: no (B, d) boolean mask.
        if not bool(torch.isfinite(embeddings.detach().sum())):
            if not bool(torch.isfinite(embeddings.detach()).all()):
                raise ValueError("input (the embeddings) contains NaN or inf.")


def reduce_anchors(terms, counts, sample_weight=None):
    """Batch loss from per-anchor terms: ``sum_i w_i c_i t_i / sum_i w_i c_i``.

    ``t_i`` is anchor ``i``'s term and ``c_i`` its natural weight: 1 when the
    loss averages over anchors (every anchor counts, one with nothing to learn
    contributes 0), the number of its pairs when the loss averages over pairs.
    ``w_i`` is the anchor's sample weight (a weighted anchor). A batch whose
    total weight is zero (no anchor with a pair, say) gives exactly 0 with
    finite (zero) gradients, never NaN.

    Examples
    --------
    >>> import torch
    >>> reduce_anchors(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 3.0]))
    tensor(2.5000)
    """
    weight = counts.to(terms.dtype)
    if sample_weight is not None:
        check_weights(sample_weight)
        if sample_weight.shape != terms.shape:
            raise ValueError(
                f"sample_weight must have shape {tuple(terms.shape)} (one weight per "
                f"anchor), got {tuple(sample_weight.shape)}."
            )
        weight = weight * sample_weight.to(terms.dtype)
    total = weight.sum()
    safe = torch.where(weight > 0, terms, torch.zeros_like(terms))
    return (weight * safe).sum() / total.clamp_min(torch.finfo(terms.dtype).tiny)


def cosine_similarities(a, b=None):
    """Cosine similarity matrix ``â b̂ᵀ`` of the rows (``b`` defaults to ``a``)."""
    a = F.normalize(a, dim=-1)
    b = a if b is None else F.normalize(b, dim=-1)
    return a @ b.transpose(-1, -2)


def pair_masks(labels, other=None):
    """``(positive, negative)`` boolean ``[B, M]`` masks of label agreement.

    With ``other=None`` the candidates are the batch itself and an anchor is
    never its own positive (excluded by index).
    """
    other = labels if other is None else other
    same = labels.unsqueeze(1) == other.unsqueeze(0)
    if other is labels:
        eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
        return same & ~eye, ~same
    return same, ~same


def log1p_sum_exp(logits, weight):
    """``log(1 + sum_k weight_k * exp(logits_k))`` per row, stable.

    ``weight`` is a boolean mask or non-negative weights of the row's entries
    (0: left out); an empty row gives exactly ``log 1 = 0``. Computed as a
    log-sum-exp with an extra zero logit, the weights folded in as ``log w``.
    """
    if weight.dtype == torch.bool:
        masked = logits.masked_fill(~weight, float("-inf"))
    else:
        weight = weight.to(logits.dtype)
        masked = torch.where(
            weight > 0, logits + weight.clamp_min(1e-38).log(), float("-inf")
        )
    zero = masked.new_zeros(masked.shape[:-1] + (1,))
    return torch.logsumexp(torch.cat([masked, zero], dim=-1), dim=-1)


def pairwise_distances(a, b=None, eps=1e-6):
    """Euclidean distances ``sqrt(||a_i - b_j||^2 + eps)`` (differentiable at 0).

    The squared distances come from the expansion ``|a|^2 + |b|^2 - 2 a.b``
    (one matrix product), clamped at 0 against rounding.
    """
    b = a if b is None else b
    sq = (
        a.pow(2).sum(-1, keepdim=True)
        + b.pow(2).sum(-1).unsqueeze(-2)
        - 2.0 * a @ b.transpose(-1, -2)
    )
    return (sq.clamp_min(0.0) + eps).sqrt()


class EmbeddingLoss(BaseLoss):
    """Base class of metric-learning losses on one ``(B, d)`` embedding batch.

    ``forward(embeddings, labels, sample_weight=None, **context)``: the
    embeddings ``(B, d)`` of any scale (a loss on cosines normalises them
    itself), integer labels ``(B,)``. A subclass implements
    :meth:`anchor_terms`; the batch loss is :func:`reduce_anchors` of them, so
    a sample weight is the weight of the row *as an anchor* (the pairs it
    anchors count ``w_i`` times); the rows it is a positive or negative of are
    unweighted. A batch with no positive pair gives 0 with finite gradients.

    Subclasses that can score soft pair labels (a candidate that is a
    positive of the anchor with weight ``p`` and a negative with weight
    ``1 - p``, as Metrix's mixed embeddings are) implement :meth:`soft_terms`
    and set ``soft_labels = True``.
    """

    tasks = frozenset({"embedding"})
    decomposable = False
    monitor = "score"
    #: Whether :meth:`soft_terms` is implemented (exact Metrix label mixing).
    soft_labels: ClassVar[bool] = False

    def __init__(self):
        nn.Module.__init__(self)

    def learns_without_labels(self):
        """Whether the loss can train on rows without class labels (each row
        its own class): a self-supervised loss that makes its own positives."""
        return False

    def setup(self, *, n_samples, n_classes, n_components=None, inputs=None):
        """Size state from the data before training.

        ``n_components`` is the embedding width and ``inputs`` maps the names
        of :attr:`requires` the user passed to ``fit`` to the whole training
        arrays (tensors, one row per sample). A loss with its own parameters
        (a class-weight head, a projection of a paired view) builds them here,
        so that the optimizer sees them, and checks the arrays' shapes.
        """

    def anchor_terms(self, embeddings, labels, **context):
        """``(terms, counts)``, each ``(B,)``: anchor ``i``'s loss and its
        natural weight in the batch mean (see :func:`reduce_anchors`)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement anchor_terms or override forward."
        )

    def soft_terms(self, anchors, candidates, positive, negative):
        """``(terms, counts)`` of ``anchors (B, d)`` against ``candidates (M, d)``
        whose pair labels are soft: ``positive[i, k]`` and ``negative[i, k]``
        in ``[0, 1]`` weigh the pair as a positive and as a negative."""
        raise NotImplementedError(
            f"{type(self).__name__} does not score soft pair labels."
        )

    def forward(self, input, target, *, sample_weight=None, **context):
        """The batch loss (a scalar tensor).

        Parameters
        ----------
        input : torch.Tensor of shape (B, d)
            Embeddings.
        target : torch.Tensor of shape (B,)
            Integer labels (any values; equal labels make positives).
        sample_weight : torch.Tensor of shape (B,), default=None
            Non-negative anchor weights.
        **context
            The extra inputs named in :attr:`requires`.
        """
        check_embedding_batch(input, target)
        terms, counts = self.anchor_terms(input, target, **context)
        return reduce_anchors(terms, counts, sample_weight)
