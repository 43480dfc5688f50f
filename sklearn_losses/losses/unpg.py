r"""UNPG: a margin-softmax head with filtered in-batch negative pairs.

Jung, Son, Lee, Kim, "Unified Negative Pair Generation toward Well-discriminative
Feature Space for Face Recognition", BMVC 2022 (arXiv 2203.11593).

A margin-softmax classifier (CosFace or ArcFace) sees, for each anchor, the
negative similarities to the other classes' weights. UNPG appends to every
anchor's denominator the similarities of the batch's negative feature pairs,
after a box-and-whisker filter drops the outlying ones.
"""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn
from torch.nn import functional as F

from ._base import _TRUSTED_TARGETS
from ._embedding import EmbeddingLoss, check_embedding_batch, reduce_anchors
from ._registry import register_loss

__all__ = ["UNPGLoss", "unpg_loss", "whisker_filter"]

_HEADS = ("cosface", "arcface")
#: The papers' margins when ``margin=None``.
_DEFAULT_MARGIN = {"cosface": 0.35, "arcface": 0.5}
#: The papers' scale when ``scale=None``.
_DEFAULT_SCALE = 64.0


def _check_real(name, value, *, low=0.0, strict=False, none=False):
    if value is None and none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < low
        or (strict and value == low)
    ):
        bound = f"> {low:g}" if strict else f">= {low:g}"
        extra = " or None" if none else ""
        raise ValueError(
            f"{name} must be a finite number {bound}{extra}; got {value!r}."
        )


def _check_head(head):
    if head not in _HEADS:
        raise ValueError(f"head must be one of {_HEADS}; got {head!r}.")


def _resolve(head, scale, margin):
    _check_head(head)
    _check_real("scale", scale, strict=True, none=True)
    _check_real("margin", margin, none=True)
    scale = _DEFAULT_SCALE if scale is None else float(scale)
    margin = _DEFAULT_MARGIN[head] if margin is None else float(margin)
    if head == "arcface" and margin >= math.pi:
        raise ValueError(f"margin must be < pi for head='arcface'; got {margin!r}.")
    return scale, margin


def _check_max_pairs(max_pairs):
    if max_pairs is not None and (
        isinstance(max_pairs, bool)
        or not isinstance(max_pairs, numbers.Integral)
        or max_pairs < 1
    ):
        raise ValueError(
            f"max_pairs must be an integer >= 1 or None; got {max_pairs!r}."
        )


def _margin_cosine(cosine, head, margin):
    """``psi(c)``: ``c - m`` (CosFace) or ``cos(arccos(c) + m)`` (ArcFace).

    ArcFace is computed as ``c cos m - sqrt(1 - c^2) sin m``, with ``1 - c^2``
    floored at the dtype's machine epsilon so the gradient stays finite at
    ``|c| = 1``.
    """
    if head == "cosface":
        return cosine - margin
    eps = torch.finfo(cosine.dtype).eps
    sine = (1.0 - cosine.pow(2)).clamp_min(eps).sqrt()
    return cosine * math.cos(margin) - sine * math.sin(margin)


def _whisker_mask(values, valid, k):
    """Which ``values`` (among ``valid``) lie within the whiskers of ``valid``.

    Quartiles by 0-based index into the sorted valid values (no
    interpolation): ``Q1 = s[floor(l / 4)]``, ``Q3 = s[floor(3 l / 4)]``.
    Constant (no gradient); shapes are static (no device sync).
    """
    with torch.no_grad():
        ordered = values.masked_fill(~valid, float("inf")).sort().values
        length = valid.sum()
        last = max(values.numel() - 1, 0)
        q1 = ordered[(length // 4).clamp(max=last)]
        q3 = ordered[((3 * length) // 4).clamp(max=last)]
        iqr = q3 - q1
        return valid & (values >= q1 - k * iqr) & (values <= q3 + k * iqr)


def whisker_filter(similarities, k=1.5):
    r"""Drop the outliers of a set of similarities (box-and-whisker rule).

    Sorted ascending with length :math:`l`, the quartiles are
    :math:`Q_1 = s_{\lfloor l/4 \rfloor}` and :math:`Q_3 = s_{\lfloor 3l/4
    \rfloor}` (0-based indices, no interpolation) and the kept values are those
    in :math:`[Q_1 - k\,\mathrm{IQR},\ Q_3 + k\,\mathrm{IQR}]`,
    :math:`\mathrm{IQR} = Q_3 - Q_1`. The kept values keep their order and
    their gradients.

    Parameters
    ----------
    similarities : torch.Tensor
        Values (flattened).
    k : float, default=1.5
        Whisker length in IQRs.

    Returns
    -------
    torch.Tensor
        The kept values, 1-D.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.unpg import whisker_filter
    >>> whisker_filter(torch.tensor([-0.2, -0.1, 0.0, 0.05, 0.1, 0.12, 0.15, 0.9]))
    tensor([-0.2000, -0.1000,  0.0000,  0.0500,  0.1000,  0.1200,  0.1500])
    """
    _check_real("k", k)
    if (
        not isinstance(similarities, torch.Tensor)
        or not similarities.is_floating_point()
    ):
        raise TypeError("similarities must be a floating torch.Tensor.")
    values = similarities.reshape(-1)
    if not values.numel():
        return values
    keep = _whisker_mask(values, torch.ones_like(values, dtype=torch.bool), k)
    return values[keep]


def _negative_pair_logsumexp(unit, labels, scale, whisker, max_pairs):
    """``(log sum_{v in S'_n} exp(s v), any kept)`` over the batch's negative pairs.

    ``S_n`` holds each unordered pair ``a < b`` of different labels once; the
    whisker filter keeps ``S'_n``; at most ``max_pairs`` of them are kept, drawn
    uniformly with torch's global generator when there are more.
    """
    n = unit.shape[0]
    first, second = torch.triu_indices(n, n, offset=1, device=unit.device)
    sims = (unit[first] * unit[second]).sum(1)
    valid = labels[first] != labels[second]
    kept = _whisker_mask(sims.detach(), valid, whisker)
    if max_pairs is not None and sims.numel() > max_pairs:
        with torch.no_grad():
            keys = torch.rand(sims.shape, device=unit.device, dtype=torch.float32)
            keys = keys.masked_fill(~kept, -1.0)
            threshold = keys.topk(max_pairs).values[-1]
            kept = kept & (keys >= threshold)
    has = kept.any()
    # With nothing kept, a finite stand-in keeps the backward pass free of NaN;
    # the caller discards it.
    logits = torch.where(kept | ~has, scale * sims, float("-inf"))
    return torch.logsumexp(logits, 0), has


def _unpg_terms(features, labels, weight, head, scale, margin, whisker, max_pairs):
    unit = F.normalize(features, dim=1)
    cosine = unit @ F.normalize(weight.to(features.dtype), dim=1).transpose(0, 1)
    target = cosine.gather(1, labels.unsqueeze(1)).squeeze(1)
    psi = _margin_cosine(target, head, margin)
    logits = scale * cosine.scatter(1, labels.unsqueeze(1), psi.unsqueeze(1))
    lse = torch.logsumexp(logits, 1)
    if whisker is not None and features.shape[0] > 1:
        extra, has = _negative_pair_logsumexp(unit, labels, scale, whisker, max_pairs)
        lse = torch.where(has, torch.logaddexp(lse, extra), lse)
    return lse - scale * psi


def _check_labels(labels, n_classes):
    if labels.numel() and not _TRUSTED_TARGETS.get():
        low, high = (int(v) for v in torch.aminmax(labels))
        if low < 0 or high >= n_classes:
            raise ValueError(
                f"target must hold class indices in [0, {n_classes - 1}] (the rows of "
                f"the class weights); got values in [{low}, {high}]."
            )


def unpg_loss(
    features,
    labels,
    weight,
    head="cosface",
    scale=None,
    margin=None,
    whisker=1.5,
    *,
    max_pairs=None,
    sample_weight=None,
):
    r"""Margin-softmax loss with UNPG's filtered negative pairs (functional form).

    .. math::

        L = \frac{1}{n} \sum_i -\log \frac{e^{s\,\psi(\cos\theta_{i,y_i})}}
        {e^{s\,\psi(\cos\theta_{i,y_i})} + \sum_{j \ne y_i} e^{s\cos\theta_{ij}}
        + \sum_{v \in S'_n} e^{s v}}

    with :math:`\cos\theta_{ij} = \hat x_i^\top \hat W_j`, CosFace
    :math:`\psi(c) = c - m` or ArcFace :math:`\psi(c) = \cos(\arccos c + m)`,
    :math:`S_n = \{\hat x_a^\top \hat x_b : a < b,\ y_a \ne y_b\}` the batch's
    negative pairs and :math:`S'_n` those kept by :func:`whisker_filter`. The
    same :math:`S'_n` enters every anchor's denominator; gradients flow
    through both features of each pair. Without a negative pair (a single
    class) the loss is the plain margin softmax, as it is with
    ``whisker=None``.

    Parameters
    ----------
    features : torch.Tensor of shape (n, d)
        Features of any scale (normalised inside).
    labels : torch.Tensor of shape (n,)
        Class indices in ``[0, C)``.
    weight : torch.Tensor of shape (C, d)
        Class weights (normalised inside).
    head : {"cosface", "arcface"}, default="cosface"
        The margin function :math:`\psi`.
    scale : float, default=None
        The scale :math:`s` (``None``: 64, the papers').
    margin : float, default=None
        The margin :math:`m` (``None``: 0.35 for CosFace, 0.5 for ArcFace).
    whisker : float or None, default=1.5
        Whisker length :math:`k` of the filter; ``None`` leaves the negative
        pairs out (plain CosFace/ArcFace).
    max_pairs : int, default=None
        Keep at most this many filtered pairs, drawn at random with torch's
        global generator (``None``: all).
    sample_weight : torch.Tensor of shape (n,), default=None
        Non-negative anchor weights (weighted mean over anchors).

    Returns
    -------
    torch.Tensor
        The loss, a scalar.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.unpg import unpg_loss
    >>> x = torch.tensor([[1.0, 0.1], [0.9, 0.3], [0.1, 1.0]])
    >>> w = torch.eye(2)
    >>> y = torch.tensor([0, 0, 1])
    >>> unpg_loss(x, y, w, scale=16.0, whisker=None)
    tensor(0.0037)
    >>> unpg_loss(x, y, w, scale=16.0)
    tensor(0.0354)
    """
    scale, margin = _resolve(head, scale, margin)
    if whisker is not None:
        _check_real("whisker", whisker)
    _check_max_pairs(max_pairs)
    check_embedding_batch(features, labels)
    if not isinstance(weight, torch.Tensor) or weight.ndim != 2:
        raise ValueError("weight must be a 2-D torch.Tensor of class weights (C, d).")
    if weight.shape[1] != features.shape[1]:
        raise ValueError(
            f"weight must have the features' width {features.shape[1]}; got shape "
            f"{tuple(weight.shape)}."
        )
    _check_labels(labels, weight.shape[0])
    terms = _unpg_terms(
        features, labels.long(), weight, head, scale, margin, whisker, max_pairs
    )
    return reduce_anchors(terms, torch.ones_like(terms), sample_weight)


@register_loss
class UNPGLoss(EmbeddingLoss):
    r"""UNPG: CosFace/ArcFace with filtered in-batch negative pairs appended.

    .. math::

        \ell_i = -\log \frac{e^{s\,\psi(\cos\theta_{i,y_i})}}
        {e^{s\,\psi(\cos\theta_{i,y_i})} + \sum_{j \ne y_i} e^{s\cos\theta_{ij}}
        + \sum_{v \in S'_n} e^{s v}}

    The loss owns the class weights :math:`W` (``C x d``, an
    :class:`~torch.nn.Parameter` built by :meth:`setup`, rows drawn from a
    standard normal with torch's global generator and normalised);
    :math:`\cos\theta_{ij} = \hat x_i^\top \hat W_j`. :math:`S'_n` is the set
    of cosine similarities of the batch's negative pairs (each unordered pair
    of different labels once) kept by the box-and-whisker filter
    (:func:`whisker_filter`); it is the same for every anchor. See
    :func:`unpg_loss` for the formula's details. The loss is the mean of
    :math:`\ell_i` over the anchors, weighted by the sample weights; a batch
    of one class has no negative pair and falls back to the plain margin
    softmax.

    Input: features ``(B, d)`` of any scale (normalised inside) and labels
    that are class indices in ``[0, C)`` (estimators encode them so).

    Parameters
    ----------
    head : {"cosface", "arcface"}, default="cosface"
        CosFace :math:`\psi(c) = c - m` or ArcFace
        :math:`\psi(c) = \cos(\arccos c + m)` (plain, no "easy margin").
    scale : float, default=None
        The scale :math:`s`; ``None``: 64, the papers' (face recognition,
        512-d features, thousands of classes). Tabular data with few classes
        and small embeddings may want a smaller scale (e.g. 16).
    margin : float, default=None
        The margin :math:`m`; ``None``: 0.35 for CosFace (its paper's), 0.5
        for ArcFace.
    whisker : float, default=1.5
        Whisker length :math:`k` of the filter (paper: 1.5; 1.0 on K-FACE).
    max_pairs : int or None, default=131072
        At most this many filtered pairs per batch, drawn uniformly at random
        with torch's global generator when there are more (the denominator
        then holds a random subset of :math:`S'_n`); ``None``: no cap.

    References
    ----------
    J.-U. Jung, S. Son, J. Lee, J. Kim. Unified Negative Pair Generation
    toward Well-discriminative Feature Space for Face Recognition. BMVC 2022,
    arXiv 2203.11593.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.unpg import UNPGLoss
    >>> _ = torch.manual_seed(0)
    >>> loss = UNPGLoss(scale=16.0)
    >>> loss.setup(n_samples=100, n_classes=3, n_components=4)
    >>> z = torch.randn(6, 4)
    >>> loss(z, torch.tensor([0, 0, 1, 1, 2, 2])).item() > 0
    True
    """

    name = "unpg"
    key_parameter = "head"
    default_grid = {"head": ["cosface", "arcface"]}

    def __init__(
        self, head="cosface", scale=None, margin=None, whisker=1.5, max_pairs=131072
    ):
        super().__init__()
        _resolve(head, scale, margin)
        _check_real("whisker", whisker)
        _check_max_pairs(max_pairs)
        self.head = head
        self.scale = scale
        self.margin = margin
        self.whisker = whisker
        self.max_pairs = max_pairs
        self.register_parameter("weight", None)

    def setup(self, *, n_samples, n_classes, n_components=None, inputs=None):
        """Build the class weights ``(n_classes, n_components)``."""
        for name, value in (("n_classes", n_classes), ("n_components", n_components)):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Integral)
                or value < 1
            ):
                raise ValueError(
                    f"UNPGLoss.setup needs {name} as an integer >= 1; got {value!r}."
                )
        weight = F.normalize(torch.randn(n_classes, n_components), dim=1)
        self.weight = nn.Parameter(weight)

    def anchor_terms(self, embeddings, labels, **context):
        if self.weight is None:
            raise RuntimeError(
                "UNPGLoss has no class weights yet: call "
                "setup(n_samples=..., n_classes=..., n_components=...) first (the "
                "estimators do)."
            )
        n_classes, width = self.weight.shape
        if embeddings.shape[1] != width:
            raise ValueError(
                f"input must have {width} columns (the n_components given to setup); "
                f"got {embeddings.shape[1]}."
            )
        _check_labels(labels, n_classes)
        scale, margin = _resolve(self.head, self.scale, self.margin)
        terms = _unpg_terms(
            embeddings,
            labels.long(),
            self.weight,
            self.head,
            scale,
            margin,
            self.whisker,
            self.max_pairs,
        )
        return terms, torch.ones_like(terms)
