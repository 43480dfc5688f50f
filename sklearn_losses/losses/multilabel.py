"""Multi-label losses: binary cross-entropy per label and the hybrid loss.

A multi-label target is an indicator matrix ``(n, L)`` of 0/1 values (scikit-
learn's convention); the network gives one logit per label. Every loss here
reduces the labels of a row to one per-row term, so that a sample weight
weighs a row.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import check_real
from ._base import _TRUSTED_TARGETS, BaseLoss, BatchLoss, weighted_reduce
from ._registry import register_loss

__all__ = [
    "BCELoss",
    "HybridLoss",
    "balanced_pos_weight",
    "jaccard_contrastive",
    "label_cosine_matrix",
    "split_multilabel",
]

#: The largest positive-class weight ``pos_weight="balanced"`` gives.
MAX_POS_WEIGHT = 100.0


def split_multilabel(input, target, *, extra_columns=False):
    """Check multi-label ``input`` and ``target``; return ``(logits, y, rest)``.

    ``input`` is a floating-point tensor of shape ``(n, L)`` (one logit per
    label) or, with ``extra_columns=True``, ``(n, L + d)``: the logits, then
    ``d`` more columns (``rest``, None when ``d = 0``). ``target`` is a tensor
    of shape ``(n, L)`` of 0/1 values (float, integer or bool), returned in the
    logits' dtype. Anything else raises ``TypeError`` or ``ValueError``
    naming ``input`` or ``target``; inside
    :func:`~sklearn_losses.losses.trusted_targets` the values are not read.

    Examples
    --------
    >>> import torch
    >>> z, y, rest = split_multilabel(torch.zeros(2, 3), torch.tensor([[1, 0, 1],
    ...                                                               [0, 0, 1]]))
    >>> y.dtype, rest
    (torch.float32, None)
    """
    if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
        kind = getattr(input, "dtype", type(input).__name__)
        raise TypeError(f"input must be a floating-point torch.Tensor; got {kind}.")
    if not isinstance(target, torch.Tensor):
        raise TypeError(
            "target must be a torch.Tensor of 0/1 labels of shape (n_samples, "
            f"n_labels); got {type(target).__name__}."
        )
    if input.ndim != 2:
        raise ValueError(
            "input must have shape (n_samples, n_labels) (one logit per label); "
            f"got {tuple(input.shape)}."
        )
    if target.is_complex():
        raise TypeError(f"target must hold 0/1 labels; got dtype {target.dtype}.")
    n, width = input.shape
    if target.ndim != 2 or target.shape[0] != n:
        raise ValueError(
            f"target must have shape ({n}, n_labels) (a 0/1 indicator matrix, one "
            f"row per sample); got {tuple(target.shape)}."
        )
    n_labels = target.shape[1]
    too_few = width < n_labels if extra_columns else width != n_labels
    if too_few:
        more = " or more (the logits, then embedding columns)" if extra_columns else ""
        raise ValueError(
            f"input must have {n_labels} columns{more}, one per label of target; "
            f"got {width}."
        )
    if not _TRUSTED_TARGETS.get() and target.numel():
        if not bool(((target == 0) | (target == 1)).all()):
            raise ValueError(
                "target must hold only 0 and 1 (a label indicator matrix)."
            )
        if input.numel() and bool(torch.isnan(input.detach().amax())):
            raise ValueError("input (the logits) contains NaN.")
    z = input[:, :n_labels] if width != n_labels else input
    rest = input[:, n_labels:] if width > n_labels else None
    return z, target.to(input.dtype), rest


def _flat_masks(input, target):
    """Logits and masks of one shape ``(n,)`` or ``(n, ...)`` (image-shaped)
    as ``(n, L)``; anything else as given."""
    if (
        isinstance(input, torch.Tensor)
        and isinstance(target, torch.Tensor)
        and input.ndim not in (0, 2)
        and input.shape == target.shape
    ):
        return input.reshape(input.shape[0], -1), target.reshape(target.shape[0], -1)
    return input, target


def _as_label_matrix(target):
    """The training labels as a float64 numpy ``(n, L)`` 0/1 matrix."""
    if isinstance(target, torch.Tensor):
        target = target.detach().cpu().numpy()
    Y = np.asarray(target, dtype=np.float64)
    if Y.ndim != 2 or not np.all((Y == 0) | (Y == 1)):
        raise ValueError(
            "target must be a 0/1 indicator matrix of shape (n_samples, n_labels); "
            f"got shape {Y.shape}."
        )
    return Y


def balanced_pos_weight(target, max_weight=MAX_POS_WEIGHT, sample_weight=None):
    """Per-label weight of the positive term: ``n_neg / n_pos``, clipped.

    The weight of ``torch.nn.BCEWithLogitsLoss(pos_weight=...)`` that gives
    positives and negatives of each label equal total weight. A label without
    positives gets ``max_weight`` (it has no positive term to weigh); one
    without negatives gets 0 (it has no negative term either).

    Parameters
    ----------
    target : array-like of shape (n_samples, n_labels)
        The training labels (0/1).
    max_weight : float, default=100.0
        The clip.
    sample_weight : array-like of shape (n_samples,), default=None
        Counts are sums of these weights.

    Returns
    -------
    ndarray of shape (n_labels,)

    Examples
    --------
    >>> balanced_pos_weight([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 0],
    ...                      [0, 0, 1], [1, 0, 0]]).tolist()
    [0.5, 1.0, 5.0]
    """
    Y = _as_label_matrix(target)
    w = np.ones(Y.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    pos = w @ Y
    neg = w.sum() - pos
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(pos > 0, neg / np.where(pos > 0, pos, 1.0), np.inf)
    return np.minimum(ratio, float(max_weight))


def label_cosine_matrix(target):
    r"""Cosine co-occurrence of the label columns, zero diagonal.

    .. math::

        R = D^{-1/2}\, Y^\top Y\, D^{-1/2}, \qquad D = \operatorname{diag}(Y^\top Y)

    with the diagonal set to 0 (and negative entries, impossible for 0/1
    labels, clipped to 0); a label without positives has a zero row and
    column.

    Parameters
    ----------
    target : array-like of shape (n_samples, n_labels)

    Returns
    -------
    ndarray of shape (n_labels, n_labels)

    Examples
    --------
    >>> R = label_cosine_matrix([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 0],
    ...                          [0, 0, 1], [1, 0, 0]])
    >>> round(float(R[0, 1]), 5), float(R[0, 2])
    (0.57735, 0.0)
    """
    Y = _as_label_matrix(target)
    C = Y.T @ Y
    d = np.sqrt(np.diag(C))
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    R = C * inv[:, None] * inv[None, :]
    np.fill_diagonal(R, 0.0)
    return np.clip(R, 0.0, None)


class _PosWeightMixin:
    """``pos_weight``: None, ``"balanced"`` (from the labels given to
    :meth:`setup`) or one positive weight per label."""

    def _init_pos_weight(self, pos_weight, max_pos_weight):
        check_real("max_pos_weight", max_pos_weight, low=0, closed="neither")
        if pos_weight is None or (
            isinstance(pos_weight, str) and pos_weight == "balanced"
        ):
            fixed = None
        else:
            try:
                fixed = np.asarray(pos_weight, dtype=np.float64)
            except (TypeError, ValueError):
                fixed = None
            if (
                isinstance(pos_weight, str | bool)
                or fixed is None
                or fixed.ndim != 1
                or not np.all(np.isfinite(fixed) & (fixed >= 0))
            ):
                raise ValueError(
                    "pos_weight must be None, 'balanced' or a sequence of one finite "
                    f"weight >= 0 per label; got {pos_weight!r}."
                )
        self.pos_weight = pos_weight
        self.max_pos_weight = max_pos_weight
        self.register_buffer(
            "_pos_weight",
            None if fixed is None else torch.as_tensor(fixed),
            persistent=False,
        )

    def _setup_pos_weight(self, target):
        if isinstance(self.pos_weight, str):
            if target is None:
                raise ValueError(
                    f"pos_weight='balanced' needs the training labels: call "
                    f"{type(self).__name__}.setup(target=Y_train)."
                )
            weight = balanced_pos_weight(target, self.max_pos_weight)
            self._pos_weight = torch.as_tensor(weight)

    def _weighted_bce(self, z, y):
        """Per-row mean over labels of ``pw y softplus(-z) + (1-y) softplus(z)``."""
        pw = self._pos_weight
        if pw is None and isinstance(self.pos_weight, str):
            raise ValueError(
                f"pos_weight='balanced' needs the training labels: call "
                f"{type(self).__name__}.setup(target=Y_train) before the loss."
            )
        pos = F.softplus(-z)
        if pw is not None:
            if pw.numel() != z.shape[1]:
                raise ValueError(
                    f"pos_weight holds {pw.numel()} weights but the input has "
                    f"{z.shape[1]} labels."
                )
            pos = pw.to(z) * pos
        return (y * pos + (1 - y) * F.softplus(z)).mean(dim=1)


@register_loss
class BCELoss(_PosWeightMixin, BaseLoss):
    r"""Binary cross-entropy per label, averaged over the labels of a row.

    .. math::

        \ell_i = \frac{1}{L} \sum_{c=1}^{L} \Big[\, w_c\, y_{ic}
        \operatorname{softplus}(-z_{ic}) + (1 - y_{ic})
        \operatorname{softplus}(z_{ic}) \Big]

    with :math:`w_c` the positive weight of label :math:`c` (1 without
    ``pos_weight``): ``torch.nn.BCEWithLogitsLoss(pos_weight=w)`` per row,
    finite at any finite logit.

    Input contract: ``input`` of shape ``(n, L)``, one logit per label;
    ``target`` of shape ``(n, L)`` with 0/1 values (float, integer or bool).
    A regression target of one 0/1 value per sample ``(n,)`` or image-shaped
    masks ``(n, ...)`` (one logit per pixel, say ``(n, H, W)``), with
    logits of the same shape, are taken as ``(n, L)`` with ``L`` the values
    of a sample: the term of a sample is the mean over its pixels. A
    regressor predicts :math:`\sigma(z)`, the probability of each label
    (``prediction_link = "sigmoid"``).

    Parameters
    ----------
    pos_weight : None, "balanced" or sequence of float, default=None
        Weight :math:`w_c` of the positive term of each label. ``"balanced"``:
        ``n_neg / n_pos`` of each label in the labels given to :meth:`setup`
        (the estimator passes its training rows), clipped at
        ``max_pos_weight`` (see :func:`balanced_pos_weight`).
    max_pos_weight : float, default=100.0
        The clip of ``pos_weight="balanced"``.
    reduction : {"mean", "sum", "none"}, default="mean"
        Over rows, see :func:`~sklearn_losses.losses.weighted_reduce`; a sample
        weight scales the row's term.

    References
    ----------
    .. [1] G. Tsoumakas, I. Katakis, "Multi-Label Classification: An
       Overview", International Journal of Data Warehousing and Mining, 2007
       (binary relevance: one independent binary problem per label).

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import BCELoss
    >>> loss = BCELoss()
    >>> round(loss(torch.zeros(2, 3), torch.tensor([[1, 0, 1], [0, 0, 1]])).item(), 4)
    0.6931
    """

    name = "bce"
    aliases = ("binary_cross_entropy",)
    tasks = frozenset({"multilabel", "regression"})
    key_parameter = "pos_weight"
    default_grid = {"pos_weight": [None, "balanced"]}
    prediction_link = "sigmoid"

    def __init__(self, *, pos_weight=None, max_pos_weight=100.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self._init_pos_weight(pos_weight, max_pos_weight)

    def setup(self, *, n_samples=None, n_classes=None, target=None):
        """Compute ``pos_weight="balanced"`` from the training labels ``target``
        (shape ``(n_samples, n_labels)``, or ``(n_samples, ...)`` masks);
        nothing otherwise."""
        if target is not None and np.ndim(target) > 2:
            target = np.asarray(target).reshape(len(target), -1)
        self._setup_pos_weight(target)

    def loss_terms(self, input, target):
        z, y, _ = split_multilabel(*_flat_masks(input, target))
        return self._weighted_bce(z, y)


@register_loss
class HybridLoss(_PosWeightMixin, BatchLoss):
    r"""Hybrid multi-label loss: weighted BCE, label correlation, contrastive.

    Aslam et al. (2024) train a multi-label emotion classifier with a loss
    that combines class weighting, a label-correlation term and a contrastive
    term; the paper does not give the formulas. This is **our
    reconstruction** of the three terms from that description, each
    switchable (a weight of 0 drops a term):

    .. math::

        L = L_{wBCE} + \lambda_{corr} L_{corr} + \lambda_{con} L_{con}

    - :math:`L_{wBCE}`: :class:`BCELoss` with ``pos_weight="balanced"``
      (:math:`w_c = n_{neg,c} / n_{pos,c}` of the training labels, clipped
      at 100).
    - :math:`L_{corr}` (label-graph smoothness): with :math:`p = \sigma(z)`
      and the cosine co-occurrence :math:`R` of the training label columns
      (:func:`label_cosine_matrix`, zero diagonal), per row
      :math:`\sum_{j<k} R_{jk} (p_{ij} - p_{ik})^2 / \sum_{j<k} R_{jk}`:
      labels that co-occur are pushed to similar scores (0 when no two labels
      co-occur).
    - :math:`L_{con}` (soft supervised contrastive): on L2-normalised
      embeddings :math:`e_i`, with the Jaccard similarity
      :math:`J_{ij}` of the label sets of rows :math:`i` and :math:`j` as
      positive weight (0 for two empty label sets),

      .. math::

          c_i = -\frac{\sum_{j \ne i} J_{ij} \log \operatorname{softmax}_{j \ne i}
          (e_i \cdot e_j / \tau)}{\sum_{j \ne i} J_{ij}},

      averaged over the anchors with :math:`\sum_{j \ne i} J_{ij} > 0`
      (0 when there is none, and for a batch of one row).

    :math:`R` and the positive weights are computed once, from the training
    labels given to :meth:`setup`, and kept as buffers.

    Input contract: ``input`` of shape ``(n, L + d)``: the ``L`` logits, then
    a ``d``-dimensional embedding of each row (the network's last hidden
    layer, say); with exactly ``L`` columns there is no embedding and
    :math:`L_{con}` is 0. ``target`` of shape ``(n, L)`` with 0/1 values.
    :class:`~sklearn_losses.MultiLabelLossClassifier` appends its last hidden
    layer to the logits when ``lambda_con > 0``.

    Sample weights weigh rows: the weighted mean of the per-row
    :math:`L_{wBCE} + \lambda_{corr} L_{corr}` terms, and of the anchors'
    :math:`c_i` (the rows an anchor is compared with are unweighted).

    Parameters
    ----------
    lambda_corr : float, default=0.1
        Weight of the label-correlation term (>= 0).
    lambda_con : float, default=0.1
        Weight of the contrastive term (>= 0).
    temperature : float, default=0.1
        :math:`\tau` of the contrastive term (> 0).
    pos_weight : None, "balanced" or sequence of float, default="balanced"
        Positive weight of each label in :math:`L_{wBCE}` (see
        :class:`BCELoss`).
    max_pos_weight : float, default=100.0
        The clip of ``pos_weight="balanced"``.

    Notes
    -----
    With ``lambda_corr = lambda_con = 0`` the loss equals :class:`BCELoss`
    with the same ``pos_weight``. Without the labels in :meth:`setup` the
    correlation matrix is unknown: ``lambda_corr > 0`` then raises.

    References
    ----------
    .. [1] M. Aslam et al., "Improving Multi-Label Emotion Classification
       with a Hybrid Loss" (ArabicBERT + MarBERT + AraBERT stack, SemEval-2018
       Task 1 E-c), 2024. https://arxiv.org/abs/2410.03979
    .. [2] P. Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.
       https://arxiv.org/abs/2004.11362

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import HybridLoss
    >>> Y_train = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 0],
    ...                         [0, 0, 1], [1, 0, 0]])
    >>> loss = HybridLoss()
    >>> loss.setup(target=Y_train)
    >>> z = torch.tensor([[2.0, -1, -2], [0.5, 1, -1.5], [-1, -0.5, 1]],
    ...                  dtype=torch.float64)
    >>> e = torch.tensor([[1.0, 0], [0.8, 0.6], [-0.6, 0.8]], dtype=torch.float64)
    >>> y = torch.tensor([[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    >>> round(loss(torch.cat([z, e], dim=1), y).item(), 6)
    0.414284
    """

    name = "hybrid"
    aliases = ("hybrid_multilabel",)
    tasks = frozenset({"multilabel"})
    monitor = "loss"  # a real objective: the validation loss is comparable
    key_parameter = "lambda_corr"
    default_grid = {"lambda_corr": [0.1], "lambda_con": [0.0, 0.1]}

    def __init__(
        self,
        *,
        lambda_corr=0.1,
        lambda_con=0.1,
        temperature=0.1,
        pos_weight="balanced",
        max_pos_weight=100.0,
    ):
        super().__init__()
        check_real("lambda_corr", lambda_corr, low=0)
        check_real("lambda_con", lambda_con, low=0)
        check_real("temperature", temperature, low=0, closed="neither")
        self.lambda_corr = lambda_corr
        self.lambda_con = lambda_con
        self.temperature = temperature
        self._init_pos_weight(pos_weight, max_pos_weight)
        self.register_buffer("_R", None, persistent=False)

    @property
    def uses_embeddings(self):
        """Whether the contrastive term is on (the input should carry
        embedding columns after the logits)."""
        return float(self.lambda_con) > 0

    def setup(self, *, n_samples=None, n_classes=None, target=None):
        """Compute the positive weights and the label correlation matrix from
        the training labels ``target`` (shape ``(n_samples, n_labels)``)."""
        self._setup_pos_weight(target)
        if target is not None:
            self._R = torch.as_tensor(label_cosine_matrix(target))

    def forward(self, input, target, *, sample_weight=None):
        """The hybrid loss of the batch (see the class docstring)."""
        z, y, emb = split_multilabel(input, target, extra_columns=True)
        rows = self._weighted_bce(z, y)
        if float(self.lambda_corr) > 0:
            rows = rows + float(self.lambda_corr) * self._correlation_terms(z)
        value = weighted_reduce(rows, sample_weight, "mean")
        if float(self.lambda_con) > 0 and emb is not None:
            con = jaccard_contrastive(emb, y, self.temperature, sample_weight)
            value = value + float(self.lambda_con) * con
        return value

    def _correlation_terms(self, z):
        R = self._R
        if R is None:
            raise ValueError(
                "lambda_corr > 0 needs the label correlation matrix of the training "
                "labels: call HybridLoss.setup(target=Y_train) before the loss."
            )
        if R.shape[0] != z.shape[1]:
            raise ValueError(
                f"The label correlation matrix is {R.shape[0]} x {R.shape[0]} but "
                f"the input has {z.shape[1]} labels."
            )
        R = R.to(z)
        total = R.sum()
        if float(total) == 0:
            return z.new_zeros(z.shape[0])
        p = torch.sigmoid(z)
        # sum_{j,k} R_jk (p_j - p_k)^2 = 2 (p^2 . d - p^T R p), d = R 1
        quad = 2 * ((p * p) @ R.sum(1) - ((p @ R) * p).sum(1))
        return quad / total


def jaccard_contrastive(embeddings, target, temperature=0.1, sample_weight=None):
    r"""Soft supervised contrastive loss with Jaccard positive weights.

    The :math:`L_{con}` term of :class:`HybridLoss`: embeddings are scaled to
    unit norm, :math:`J_{ij}` is the Jaccard similarity of the label rows
    :math:`i \ne j` (0 when both are empty), and

    .. math::

        L_{con} = \frac{\sum_{i \in A} w_i c_i}{\sum_{i \in A} w_i}, \quad
        c_i = -\frac{\sum_{j \ne i} J_{ij} \log \operatorname{softmax}_{j \ne i}
        (e_i \cdot e_j / \tau)}{\sum_{j \ne i} J_{ij}}

    over the anchors :math:`A` with :math:`\sum_{j \ne i} J_{ij} > 0`; 0 when
    there is none (a batch of one row included).

    Parameters
    ----------
    embeddings : torch.Tensor of shape (n, d)
    target : torch.Tensor of shape (n, L)
        0/1 labels, in the embeddings' dtype.
    temperature : float, default=0.1
    sample_weight : torch.Tensor of shape (n,), default=None
        Anchor weights.

    Returns
    -------
    torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> e = torch.tensor([[1.0, 0], [0.8, 0.6], [-0.6, 0.8]], dtype=torch.float64)
    >>> y = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float64)
    >>> f"{jaccard_contrastive(e, y).item():.5e}"
    '1.68119e-04'
    """
    n = embeddings.shape[0]
    if n < 2:
        return embeddings.sum() * 0
    e = F.normalize(embeddings, dim=1)
    y = target.to(e.dtype)
    inter = y @ y.t()
    size = y.sum(1)
    union = size[:, None] + size[None, :] - inter
    J = torch.where(union > 0, inter / union.clamp_min(1), torch.zeros_like(inter))
    eye = torch.eye(n, dtype=torch.bool, device=e.device)
    J = J.masked_fill(eye, 0)
    logits = (e @ e.t() / float(temperature)).masked_fill(eye, float("-inf"))
    log_prob = torch.log_softmax(logits, dim=1).masked_fill(eye, 0)
    mass = J.sum(1)
    anchors = mass > 0
    if not bool(anchors.any()):
        return embeddings.sum() * 0
    c = -(J * log_prob).sum(1)[anchors] / mass[anchors]
    w = None if sample_weight is None else sample_weight[anchors]
    return weighted_reduce(c, w, "mean")
