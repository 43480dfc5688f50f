"""Multi-similarity loss and its pair miner (Wang et al., CVPR 2019).

The loss weighs every pair of a batch by three similarities at once: the
pair's own cosine similarity against a margin ``base`` (λ), and its similarity
relative to the anchor's other positives and negatives. An optional miner
first keeps only the informative pairs of each anchor.
"""

from __future__ import annotations

import copy

import torch

from .._validation import check_real
from ._embedding import (
    EmbeddingLoss,
    cosine_similarities,
    log1p_sum_exp,
    pair_masks,
)
from ._registry import register_loss

__all__ = ["MultiSimilarityMiner", "MultiSimilarityLoss"]


class _ParamsObject:
    """``get_params``, ``set_params`` and ``repr`` of a small plain object.

    Subclasses list their constructor parameters in ``_params`` and validate
    one value in ``_check(name, value)`` (raising ``ValueError``), which the
    constructor and :meth:`set_params` both call; values are stored as given.
    """

    _params: tuple[str, ...] = ()

    def _check(self, name, value):
        return value

    def get_params(self, deep=True):
        """The constructor parameters as a dict (``deep`` has no effect)."""
        return {name: getattr(self, name) for name in self._params}

    def set_params(self, **params):
        """Set parameters by name; returns ``self``."""
        for name, value in params.items():
            if name not in self._params:
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; valid "
                    f"parameters: {', '.join(self._params)}."
                )
            self._check(name, value)
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class MultiSimilarityMiner(_ParamsObject):
    """Multi-similarity pair miner: keep the informative pairs of each anchor.

    With cosine similarities ``S``, positives ``P_i`` and negatives ``N_i`` of
    anchor ``i`` (both checked against the *unmined* sets), the miner keeps

    - a negative ``k`` iff ``S_ik > min_{p in P_i} S_ip - epsilon`` (more
      similar than the hardest positive, less ``epsilon``);
    - a positive ``k`` iff ``S_ik < max_{q in N_i} S_iq + epsilon`` (less
      similar than the hardest negative, plus ``epsilon``).

    An anchor with no positive or no negative keeps nothing.

    Parameters
    ----------
    epsilon : float, default=0.1
        The mining margin ε.

    References
    ----------
    Wang, Han, Huang, Dong and Scott, "Multi-Similarity Loss with General Pair
    Weighting for Deep Metric Learning", CVPR 2019 (arXiv:1904.06627), §3.2.

    Examples
    --------
    >>> import torch
    >>> miner = MultiSimilarityMiner(epsilon=0.1)
    >>> z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    >>> a1, p, a2, n = miner.mine(z, torch.tensor([0, 0, 1, 1]))
    >>> a1.tolist(), p.tolist()  # the positive pairs kept
    ([1, 2], [0, 3])
    >>> a2.tolist(), n.tolist()  # the negative pairs kept
    ([1, 2], [2, 1])
    """

    _params = ("epsilon",)

    def __init__(self, epsilon=0.1):
        self.epsilon = self._check("epsilon", epsilon)

    def _check(self, name, value):
        return check_real(name, value)

    def __call__(self, similarities, positive, negative):
        """The kept pairs: boolean masks ``(positive, negative)``, ``[B, M]``.

        Parameters
        ----------
        similarities : torch.Tensor of shape (B, M)
            Pair similarities (larger is more similar); not differentiated.
        positive, negative : torch.Tensor of shape (B, M), bool
            The unmined positive and negative pairs of each anchor (row).
        """
        if similarities.shape != positive.shape or positive.shape != negative.shape:
            raise ValueError(
                "similarities, positive and negative must have the same shape; got "
                f"{tuple(similarities.shape)}, {tuple(positive.shape)} and "
                f"{tuple(negative.shape)}."
            )
        s = similarities.detach()
        inf = torch.tensor(float("inf"), dtype=s.dtype, device=s.device)
        hardest_pos = torch.where(positive, s, inf).amin(dim=1, keepdim=True)
        hardest_neg = torch.where(negative, s, -inf).amax(dim=1, keepdim=True)
        keep_pos = positive & (s < hardest_neg + self.epsilon)
        keep_neg = negative & (s > hardest_pos - self.epsilon)
        return keep_pos, keep_neg

    def mine(self, embeddings, labels):
        """Mined index pairs ``(a1, p, a2, n)`` of a batch, as
        pytorch-metric-learning's miners return them: positive pairs
        ``(a1[j], p[j])`` and negative pairs ``(a2[j], n[j])``, on the cosine
        similarities of ``embeddings (B, d)`` with integer ``labels (B,)``."""
        with torch.no_grad():
            s = cosine_similarities(embeddings)
            keep_pos, keep_neg = self(s, *pair_masks(labels))
        a1, p = keep_pos.nonzero(as_tuple=True)
        a2, n = keep_neg.nonzero(as_tuple=True)
        return a1, p, a2, n


#: The default miner; every loss built with it holds its own copy.
_DEFAULT_MINER = MultiSimilarityMiner()


@register_loss
class MultiSimilarityLoss(EmbeddingLoss):
    r"""Multi-similarity (MS) loss on the cosine similarities of a batch.

    For anchor :math:`i` with (mined) positives :math:`\tilde P_i` and
    negatives :math:`\tilde N_i` and cosine similarities :math:`S`,

    .. math::

        \ell_i = \frac{1}{\alpha}\log\Bigl(1 + \sum_{k\in\tilde P_i}
        e^{-\alpha(S_{ik}-\lambda)}\Bigr) + \frac{1}{\beta}\log\Bigl(1 +
        \sum_{k\in\tilde N_i} e^{\beta(S_{ik}-\lambda)}\Bigr),

    and the loss is the mean of :math:`\ell_i` over **all** anchors (an anchor
    with nothing mined contributes 0), as in the paper and
    pytorch-metric-learning. The induced pair weights are the paper's general
    pair weighting: a positive weighs
    :math:`1/(e^{\alpha(S_{ik}-\lambda)} + \sum_{k'}e^{-\alpha(S_{ik'}-S_{ik})})`,
    a negative :math:`1/(e^{\beta(\lambda-S_{ij})} + \sum_k
    e^{\beta(S_{ik}-S_{ij})})`. Every ``log(1 + sum exp)`` is a stable
    log-sum-exp; an empty set gives exactly 0.

    Edge cases: a batch without positive pairs (all labels distinct) mines
    nothing and gives 0 (without a miner only the small negative term is
    left); a single class has no negatives and gives 0 with the miner (the
    positive term only without it). Unlike pytorch-metric-learning, a batch
    that mines a single pair is not set to 0.

    Input contract: embeddings ``(B, d)`` of any scale (normalised inside),
    integer labels ``(B,)``. ``sample_weight`` weighs anchors: the loss is
    :math:`\sum_i w_i \ell_i / \sum_i w_i`.

    Parameters
    ----------
    alpha : float, default=2.0
        Positive scale α (> 0).
    beta : float, default=50.0
        Negative scale β (> 0).
    base : float, default=0.5
        Similarity margin λ (``thresh`` in the official code). The paper
        states λ = 1; the official code and pytorch-metric-learning use 0.5.
    miner : callable or None, default=MultiSimilarityMiner()
        ``miner(similarities, positive, negative) -> (positive, negative)``
        boolean ``[B, B]`` masks of the pairs to keep (pre-mined pairs);
        ``None`` keeps all pairs. The default is the paper's miner with
        ε = 0.1 (each loss holds its own copy).

    References
    ----------
    Wang, Han, Huang, Dong and Scott, "Multi-Similarity Loss with General Pair
    Weighting for Deep Metric Learning", CVPR 2019 (arXiv:1904.06627).

    Examples
    --------
    >>> import torch
    >>> loss = MultiSimilarityLoss()
    >>> z = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]])
    >>> y = torch.tensor([0, 0, 1, 1])
    >>> round(loss(z, y).item(), 4)
    0.3394
    >>> round(MultiSimilarityLoss(miner=None)(z, y).item(), 4)  # all pairs
    0.4988
    """

    name = "multi_similarity"
    aliases = ("ms",)
    key_parameter = "beta"
    default_grid = {"beta": [10.0, 50.0], "base": [0.5, 1.0]}
    soft_labels = True

    def __init__(self, alpha=2.0, beta=50.0, base=0.5, miner=_DEFAULT_MINER):
        super().__init__()
        check_real("alpha", alpha, low=0, closed="neither")
        check_real("beta", beta, low=0, closed="neither")
        check_real("base", base)
        if miner is _DEFAULT_MINER:
            miner = copy.deepcopy(miner)
        if miner is not None and not callable(miner):
            raise TypeError(
                "miner must be None or a callable (similarities, positive, negative) "
                f"-> (positive, negative), such as MultiSimilarityMiner(); got "
                f"{type(miner).__name__}."
            )
        self.alpha = alpha
        self.beta = beta
        self.base = base
        self.miner = miner

    def _terms(self, similarities, positive, negative):
        shifted = similarities - self.base
        pos = log1p_sum_exp(shifted * -self.alpha, positive) / self.alpha
        neg = log1p_sum_exp(shifted * self.beta, negative) / self.beta
        return pos + neg

    def anchor_terms(self, embeddings, labels, **context):
        """Per-anchor MS terms (counts 1: the loss is a mean over anchors)."""
        similarities = cosine_similarities(embeddings)
        positive, negative = pair_masks(labels)
        if self.miner is not None:
            positive, negative = self.miner(similarities.detach(), positive, negative)
        terms = self._terms(similarities, positive, negative)
        return terms, torch.ones_like(terms)

    def soft_terms(self, anchors, candidates, positive, negative):
        r"""MS terms with soft pair labels (no mining).

        :math:`\sigma^+_i = \sum_k p_{ik} e^{-\alpha(S_{ik}-\lambda)}`,
        :math:`\sigma^-_i = \sum_k n_{ik} e^{\beta(S_{ik}-\lambda)}`, term
        :math:`\frac1\alpha\log(1+\sigma^+_i) + \frac1\beta\log(1+\sigma^-_i)`,
        count 1; with 0/1 weights it is the unmined loss.
        """
        similarities = cosine_similarities(anchors, candidates)
        terms = self._terms(similarities, positive, negative)
        return terms, torch.ones_like(terms)
