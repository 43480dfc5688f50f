"""Metrix: mixup for deep metric learning, around any embedding loss.

Venkataramanan, Psomas et al., "It Takes Two to Tango: Mixup for Deep Metric
Learning", ICLR 2022 (arXiv 2106.04990).
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from ._embedding import EmbeddingLoss, check_embedding_batch, reduce_anchors
from ._registry import get_loss

__all__ = ["MetrixLoss", "mix_embeddings"]

#: Inputs the training engine provides (not per-sample arrays of the user).
_ENGINE_INPUTS = ("module", "epoch")


def mix_embeddings(embeddings, labels, lam, generator=None):
    """Mix every row with a random row of another label.

    Returns ``(mixed, first, second)``: ``mixed[k] = lam * z[first[k]] +
    (1 - lam) * z[second[k]]`` for each row ``first[k]`` that has a row of
    another label in the batch, ``second[k]`` drawn uniformly among those;
    mixed rows are re-normalised when every embedding is a unit vector.

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(3)
    >>> mixed, first, second = mix_embeddings(z, torch.tensor([0, 0, 1]), 0.5)
    >>> first.tolist(), second[:2].tolist()  # row 2 pairs with row 0 or 1
    ([0, 1, 2], [2, 2])
    >>> mixed[0]
    tensor([0.7071, 0.0000, 0.7071])
    """
    other = labels.unsqueeze(1) != labels.unsqueeze(0)
    has = other.any(1)
    first = torch.nonzero(has).flatten()
    # A uniform choice among each row's other-label rows: the largest of
    # random keys restricted to them.
    keys = torch.rand(
        first.shape[0],
        labels.shape[0],
        generator=generator,
        device=labels.device if generator is None else "cpu",
    ).to(labels.device)
    second = keys.masked_fill(~other[first], -1.0).argmax(1)
    mixed = lam * embeddings[first] + (1.0 - lam) * embeddings[second]
    with torch.no_grad():
        unit = bool(
            torch.allclose(
                embeddings.norm(dim=1),
                torch.ones((), dtype=embeddings.dtype, device=embeddings.device),
                atol=1e-4,
            )
        )
    if unit and embeddings.shape[0]:
        mixed = F.normalize(mixed, dim=1)
    return mixed, first, second


class MetrixLoss(EmbeddingLoss):
    r"""Metrix mixup around a metric-learning loss.

    .. math::

        L = L_{\text{clean}}(Z, y) + w \, \tilde L_{\text{mix}}(Z, V)

    Each batch draws one :math:`\lambda \sim \mathrm{Beta}(\alpha, \alpha)` and
    mixes every embedding :math:`z_a` with a random embedding :math:`z_b` of
    another class: :math:`v = \lambda z_a + (1 - \lambda) z_b` (embedding
    mixup, the cheapest of the paper's three places to mix, and the one
    for tables; re-normalised when the embeddings are unit vectors). A mixed
    embedding is a positive of the anchors of :math:`a`'s class with weight
    :math:`\lambda` and of :math:`b`'s class with weight :math:`1 - \lambda`,
    a negative with the complementary weights (label mixing), and the mixed
    term scores the clean anchors against the mixed embeddings:

    - losses that are sums over pairs and declare ``soft_labels``
      (``"multi_similarity"``, ``"contrastive"``, ``"infonce"``) score the soft
      labels exactly as the paper's generic form,
      :math:`\tilde\sigma^+(a) = \sum_v \lambda_v \rho^+(s(a, v))`,
      :math:`\tilde\sigma^-(a) = \sum_v (1 - \lambda_v) \rho^-(s(a, v))`;
    - for the others the mixed term is the :math:`\lambda`-interpolation of
      the loss on the batch with the mixed embeddings labelled as either
      source, :math:`\lambda L(Z \cup V, y_a) + (1-\lambda) L(Z \cup V, y_b)`
      with the mixed rows weighted 0 as anchors [ours: the mixup loss
      interpolation, equal to label mixing for losses linear in the labels].
      Per-sample float inputs of the loss (a paired view) are mixed with the
      same :math:`\lambda`.

    A sample weight weighs the clean anchors in both terms. A batch with a
    single class has no mixed embeddings and a mixed term of 0.

    Parameters
    ----------
    base : str, EmbeddingLoss class or instance, default="multi_similarity"
        The loss to wrap (a registry name of an embedding loss).
    alpha : float, default=2.0
        Parameter of the Beta distribution of :math:`\lambda` (paper: 2).
    weight : float, default=0.4
        Weight :math:`w` of the mixed term (the official code: 0.4).

    References
    ----------
    S. Venkataramanan, B. Psomas, E. Kijak, L. Amsaleg, K. Karantzalos,
    Y. Avrithis. It Takes Two to Tango: Mixup for Deep Metric Learning.
    ICLR 2022.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import MetrixLoss
    >>> _ = torch.manual_seed(0)
    >>> z = torch.nn.functional.normalize(torch.randn(8, 4), dim=1)
    >>> y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    >>> float(MetrixLoss("multi_similarity")(z, y)) > 0
    True
    """

    def __init__(self, base="multi_similarity", alpha=2.0, weight=0.4):
        super().__init__()
        for name, value in (("alpha", alpha), ("weight", weight)):
            if (
                not isinstance(value, numbers.Real)
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value < 0
                or (name == "alpha" and value == 0)
            ):
                allowed = "> 0" if name == "alpha" else ">= 0"
                raise ValueError(
                    f"{name} must be a finite number {allowed}; got {value!r}."
                )
        inner = base if isinstance(base, nn.Module) else get_loss(base)
        if not isinstance(inner, EmbeddingLoss):
            raise ValueError(
                "base must be an embedding loss (see list_losses('embedding')); got "
                f"{base!r}."
            )
        if isinstance(inner, MetrixLoss):
            raise ValueError("base must not itself be a MetrixLoss.")
        self.base = base
        self.alpha = alpha
        self.weight = weight
        self.inner = inner

    @property
    def name(self):
        return f"{self.inner.name}+metrix"

    @property
    def requires(self):
        return self.inner.requires

    def learns_without_labels(self):
        return self.inner.learns_without_labels()

    def setup(self, *, n_samples, n_classes, n_components=None, inputs=None):
        self.inner.setup(
            n_samples=n_samples,
            n_classes=n_classes,
            n_components=n_components,
            inputs=inputs,
        )

    def check_context(self, context):
        self.inner.check_context(context)

    def forward(self, input, target, *, sample_weight=None, **context):
        check_embedding_batch(input, target)
        clean = self.inner(input, target, sample_weight=sample_weight, **context)
        if self.weight == 0:
            return clean
        lam = float(torch.distributions.Beta(self.alpha, self.alpha).sample())
        return clean + self.weight * self.mixed_term(
            input, target, lam, sample_weight, context
        )

    def mixed_term(self, embeddings, labels, lam, sample_weight=None, context=None):
        """The mixed term :math:`\\tilde L_{mix}` for one mixing weight ``lam``."""
        context = dict(context or {})
        mixed, first, second = mix_embeddings(embeddings, labels, lam)
        if first.numel() == 0:
            return embeddings.sum() * 0.0
        if self.inner.soft_labels:
            a, b = labels[first], labels[second]
            same_a = (labels.unsqueeze(1) == a.unsqueeze(0)).to(embeddings.dtype)
            same_b = (labels.unsqueeze(1) == b.unsqueeze(0)).to(embeddings.dtype)
            positive = lam * same_a + (1.0 - lam) * same_b
            terms, counts = self.inner.soft_terms(
                embeddings, mixed, positive, 1.0 - positive
            )
            return reduce_anchors(terms, counts, sample_weight)
        both = torch.cat([embeddings, mixed])
        n, m = embeddings.shape[0], mixed.shape[0]
        weight = torch.ones(n, dtype=embeddings.dtype, device=embeddings.device)
        if sample_weight is not None:
            weight = sample_weight.to(embeddings.dtype)
        weight = torch.cat([weight, weight.new_zeros(m)])
        extra = {}
        for key, value in context.items():
            if key in _ENGINE_INPUTS or value is None:
                extra[key] = value
            elif isinstance(value, torch.Tensor) and value.is_floating_point():
                mix = lam * value[first] + (1.0 - lam) * value[second]
                extra[key] = torch.cat([value, mix])
            else:
                raise ValueError(
                    f"mixup='metrix' cannot mix the per-sample input {key!r} of loss "
                    f"{self.inner.name!r} (not a float array)."
                )
        as_a = torch.cat([labels, labels[first]])
        as_b = torch.cat([labels, labels[second]])
        return lam * self.inner(both, as_a, sample_weight=weight, **extra) + (
            1.0 - lam
        ) * self.inner(both, as_b, sample_weight=weight, **extra)
