r"""CWCL: continuously weighted contrastive loss between a frozen and a trained view.

Srinivasa, Cho, Yang, Shen, Jin, "CWCL: Cross-Modal Transfer with
Continuously Weighted Contrastive Loss", NeurIPS 2023 (arXiv 2309.14580).

Each sample comes as a pair: a frozen view :math:`p_i` (a pretrained
embedding, a PCA of another feature group, ...) and the trainable embedding
:math:`q_i`. CLIP-style contrastive learning treats :math:`(p_i, q_i)` as the
only positive pair of row :math:`i`; CWCL makes every :math:`(p_i, q_j)` a
positive with a weight :math:`w_{ij} \in [0, 1]`, the similarity of
:math:`p_i` and :math:`p_j` in the frozen space, so that the frozen space's
structure transfers to the trained one.
"""

from __future__ import annotations

import math
import numbers
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from ._base import _TRUSTED_TARGETS
from ._embedding import EmbeddingLoss, check_embedding_batch, reduce_anchors
from ._registry import register_loss

__all__ = ["CWCLLoss", "cosine_weights", "cwcl_loss"]

#: Mean pair weight above which the weights hardly tell samples apart.
_UNIFORM_WEIGHTS = 0.95
#: Rows of the training view a callable's weights are checked on at setup.
_SETUP_CHECK_ROWS = 1024


def cosine_weights(view):
    r"""``w_ij = (1 + p̂_iᵀ p̂_j) / 2`` in ``[0, 1]`` (``w_ii = 1``), no gradient.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.cwcl import cosine_weights
    >>> cosine_weights(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    tensor([[1.0000, 0.5000],
            [0.5000, 1.0000]])
    """
    with torch.no_grad():
        unit = F.normalize(view, dim=1)
        return ((1.0 + unit @ unit.transpose(0, 1)) / 2.0).clamp(0.0, 1.0)


def _check_temperature(temperature):
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, numbers.Real)
        or not math.isfinite(temperature)
        or temperature <= 0
    ):
        raise ValueError(
            f"temperature must be a finite number > 0; got {temperature!r}."
        )


def _direction_terms(logits, weight):
    """``-(sum_j w_ij log softmax(logits)_ij) / sum_j w_ij`` per row, and whether
    the row has any weight (rows without are 0)."""
    total = weight.sum(1)
    has = total > 0
    log_prob = logits.log_softmax(1)
    terms = -(weight * log_prob).sum(1) / total.clamp_min(torch.finfo(total.dtype).tiny)
    return torch.where(has, terms, torch.zeros_like(terms)), has


def _cwcl_terms(frozen, trained, weight, temperature):
    """Per-anchor ``(L_{U->V} + L_{V->U}) / 2`` terms, their counts, and the two
    directions' terms. ``frozen`` and ``trained`` are unit rows."""
    logits = frozen @ trained.transpose(0, 1) / temperature
    weight = weight.detach().to(logits.dtype)
    forward, has = _direction_terms(logits, weight)
    backward, _ = _direction_terms(logits.transpose(0, 1), weight)
    return (forward + backward) / 2.0, has.to(logits.dtype), forward, backward


def _check_weight_matrix(weight, n):
    if not isinstance(weight, torch.Tensor) or weight.shape != (n, n):
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else None
        raise ValueError(
            f"weights must give a ({n}, {n}) torch.Tensor for a batch of {n} rows; "
            f"got {type(weight).__name__} of shape {shape}."
        )
    if not _TRUSTED_TARGETS.get():
        values = weight.detach()
        if not bool(((values >= 0) & (values <= 1)).all()):
            raise ValueError("weights must lie in [0, 1] (no NaN).")


def cwcl_loss(
    frozen,
    trained,
    weight=None,
    temperature=0.1,
    *,
    return_directions=False,
    sample_weight=None,
):
    r"""CWCL between a frozen view ``P`` and trained embeddings ``Q`` (functional).

    .. math::

        L_{U \to V} = -\frac{1}{N} \sum_i \frac{1}{\sum_j w_{ij}} \sum_j
        w_{ij} \log \frac{e^{\hat p_i^\top \hat q_j / \tau}}
        {\sum_k e^{\hat p_i^\top \hat q_k / \tau}}

    and :math:`L_{V \to U}` the same with :math:`\hat q_i^\top \hat p_j`; the
    loss is their mean (CLIP's convention; the paper adds them, which doubles
    the loss and its gradient). Both directions use the frozen view's
    weights, detached. With :math:`W = I` it is CLIP's (symmetric InfoNCE)
    loss. A single row gives 0.

    Parameters
    ----------
    frozen : torch.Tensor of shape (N, d)
        The frozen view :math:`P` (normalised inside).
    trained : torch.Tensor of shape (N, d)
        The trained embeddings :math:`Q` (normalised inside).
    weight : torch.Tensor of shape (N, N), default=None
        Pair weights in ``[0, 1]``; ``None``: :func:`cosine_weights` of
        ``frozen``.
    temperature : float, default=0.1
        The temperature :math:`\tau`.
    return_directions : bool, default=False
        Return ``(L_{U->V}, L_{V->U})`` instead of their mean.
    sample_weight : torch.Tensor of shape (N,), default=None
        Non-negative anchor weights: row :math:`i`'s terms (in both
        directions) are weighted :math:`w_i` in the mean over rows.

    Returns
    -------
    torch.Tensor or tuple of torch.Tensor
        The loss (a scalar), or the two directions.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.cwcl import cwcl_loss
    >>> p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> q = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    >>> cwcl_loss(p, q, torch.eye(2), temperature=1.0)
    tensor(0.3699)
    """
    _check_temperature(temperature)
    for name, value in (("frozen", frozen), ("trained", trained)):
        if not (isinstance(value, torch.Tensor) and value.is_floating_point()):
            raise TypeError(f"{name} must be a floating torch.Tensor of shape (N, d).")
        if value.ndim != 2:
            raise ValueError(
                f"{name} must have shape (N, d); got {tuple(value.shape)}."
            )
    if frozen.shape != trained.shape:
        raise ValueError(
            f"frozen and trained must have the same shape; got {tuple(frozen.shape)} "
            f"and {tuple(trained.shape)}."
        )
    n = trained.shape[0]
    weight = cosine_weights(frozen) if weight is None else weight
    _check_weight_matrix(weight, n)
    _, counts, forward, backward = _cwcl_terms(
        F.normalize(frozen.to(trained.dtype), dim=1),
        F.normalize(trained, dim=1),
        weight,
        temperature,
    )
    if return_directions:
        return (
            reduce_anchors(forward, counts, sample_weight),
            reduce_anchors(backward, counts, sample_weight),
        )
    return reduce_anchors((forward + backward) / 2.0, counts, sample_weight)


@register_loss
class CWCLLoss(EmbeddingLoss):
    r"""Continuously weighted contrastive loss against a paired frozen view.

    .. math::

        \ell_i = \frac{1}{2}\Big(-\sum_j \frac{w_{ij}}{\sum_k w_{ik}}
        \log \operatorname{softmax}_j\big(\hat p_i^\top \hat q_j / \tau\big)
        - \sum_j \frac{w_{ij}}{\sum_k w_{ik}}
        \log \operatorname{softmax}_j\big(\hat q_i^\top \hat p_j / \tau\big)\Big)

    :math:`q_i` is the input (the trained embedding) and :math:`p_i` the row's
    frozen view, passed to ``fit`` as ``view=`` (an array ``(n, d_view)``: a
    pretrained embedding, a PCA of another feature group, ...). The weights
    come from the frozen view only and carry no gradient: by default
    :math:`w_{ij} = (1 + \hat p_i^\top \hat p_j) / 2 \in [0, 1]`. The loss is
    the mean of :math:`\ell_i` over the anchors, weighted by the sample
    weights; each :math:`\ell_i` is the mean of the two directions (CLIP's
    convention; the paper sums them, twice the value and gradient). With
    :math:`W = I` this is CLIP's loss. Class labels are not used: the pairing
    makes the positives. A batch of one row gives 0.

    When the view's width differs from the embedding width, the loss owns a
    learnable linear map without bias from the view to the embedding space
    [ours; the paper's frozen encoder already ends in the shared space]:
    :math:`\hat p_i = \mathrm{normalize}(A v_i)`, built by :meth:`setup` (an
    :class:`~torch.nn.Linear` initialised with torch's global generator). The
    weights always come from the unprojected view.

    Weights that hardly differ (their mean over the pairs :math:`i \ne j`
    above 0.95, e.g. a nearly constant view) carry no contrast; a
    ``UserWarning`` says so, at most once per fit.

    Parameters
    ----------
    temperature : float, default=0.1
        The temperature :math:`\tau` (fixed; CLIP learns it from 0.07).
    weights : "cosine" or callable, default="cosine"
        ``"cosine"``: :func:`cosine_weights` of the view; a callable receives
        the batch's view tensor ``(B, d_view)`` and returns ``W (B, B)`` in
        ``[0, 1]`` (detached), e.g. a label-similarity kernel.
    project : {"auto", True, False}, default="auto"
        Whether to map the view linearly to the embedding space: ``"auto"``
        when the widths differ, ``True`` always (a learnable map even for equal
        widths), ``False`` never (the widths must then be equal).

    References
    ----------
    R. S. Srinivasa, J. Cho, C. Yang, Y. M. Saidutta, C.-H. Lee, Y. Shen,
    H. Jin. CWCL: Cross-Modal Transfer with Continuously Weighted Contrastive
    Loss. NeurIPS 2023, arXiv 2309.14580.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.cwcl import CWCLLoss
    >>> _ = torch.manual_seed(0)
    >>> q = torch.randn(6, 3)
    >>> view = torch.randn(6, 3)
    >>> loss = CWCLLoss(temperature=0.5)
    >>> loss(q, torch.zeros(6, dtype=torch.long), view=view).item() > 0
    True
    """

    name = "cwcl"
    requires = ("view",)
    key_parameter = "temperature"
    default_grid = {"temperature": [0.05, 0.1, 0.5]}

    def __init__(self, temperature=0.1, weights="cosine", project="auto"):
        super().__init__()
        _check_temperature(temperature)
        if not (weights == "cosine" or callable(weights)):
            raise ValueError(
                f"weights must be 'cosine' or a callable; got {weights!r}."
            )
        if not (project is True or project is False or project == "auto"):
            raise ValueError(f"project must be 'auto', True or False; got {project!r}.")
        self.temperature = temperature
        self.weights = weights
        self.project = project
        self.projection = None
        self._view_width = None
        self._checked = False
        self._warned = False

    def learns_without_labels(self):
        """True: each row's positive is its own frozen view."""
        return True

    def _needs_map(self, view_width, width):
        if self.project is True:
            return True
        if self.project is False:
            if view_width != width:
                raise ValueError(
                    f"view has {view_width} columns but the embeddings {width}; "
                    "with project=False they must be equal (use project='auto')."
                )
            return False
        return view_width != width

    def setup(self, *, n_samples, n_classes, n_components=None, inputs=None):
        """Check the training ``view`` and build the projection if one is needed."""
        view = (inputs or {}).get("view")
        if view is None:
            raise ValueError(
                "CWCLLoss needs the paired frozen view: pass view= (an array of "
                "shape (n_samples, d_view)) to fit."
            )
        view = self._check_view(view, n_samples, "n_samples")
        if n_components is None and self.project is not False:
            raise ValueError(
                "CWCLLoss.setup needs n_components (the embedding width) to decide "
                "whether to project the view."
            )
        width = view.shape[1] if n_components is None else n_components
        self._view_width = view.shape[1]
        self.projection = (
            nn.Linear(view.shape[1], width, bias=False)
            if self._needs_map(view.shape[1], width)
            else None
        )
        self._warned = False
        self._checked = False
        self._warn_if_uniform(view[:_SETUP_CHECK_ROWS], whole=view)
        self._checked = True

    @staticmethod
    def _check_view(view, n_rows, what):
        if not isinstance(view, torch.Tensor) or not view.is_floating_point():
            raise TypeError(
                "view must be a floating tensor (an array of numbers) of shape "
                f"(n, d_view); got {type(view).__name__}."
            )
        if view.ndim != 2 or view.shape[0] != n_rows:
            raise ValueError(
                f"view must have shape ({n_rows}, d_view), one row per sample (the "
                f"{what}); got {tuple(view.shape)}."
            )
        return view

    def _weights(self, view):
        if self.weights == "cosine":
            return cosine_weights(view)
        with torch.no_grad():
            weight = self.weights(view)
        _check_weight_matrix(weight, view.shape[0])
        return weight.detach()

    def _warn_if_uniform(self, view, whole=None, weight=None):
        if self._warned or self._checked or view.shape[0] < 2:
            return
        with torch.no_grad():
            if self.weights == "cosine":
                # The mean of (1 + p_i.p_j) / 2 over the pairs i != j, in O(n d):
                # sum_{i != j} p_i.p_j = |sum_i p_i|^2 - n for unit rows.
                rows = F.normalize((view if whole is None else whole).double(), dim=1)
                n = rows.shape[0]
                cosine = (rows.sum(0).pow(2).sum() - n) / (n * (n - 1))
                mean = float((1.0 + cosine) / 2.0)
            else:
                weight = self._weights(view) if weight is None else weight
                weight = weight.double()
                n = weight.shape[0]
                mean = float((weight.sum() - weight.diagonal().sum()) / (n * (n - 1)))
        if mean > _UNIFORM_WEIGHTS:
            self._warned = True
            warnings.warn(
                f"CWCLLoss: the mean pair weight of the view is {mean:.3f} > "
                f"{_UNIFORM_WEIGHTS}: the frozen view hardly tells samples apart, so "
                "the loss has little to transfer (is view nearly constant?).",
                UserWarning,
                stacklevel=3,
            )

    def anchor_terms(self, embeddings, labels, *, view=None, **context):
        if view is None:
            raise ValueError(
                "CWCLLoss requires view= (the paired frozen view of the batch, shape "
                "(B, d_view))."
            )
        view = self._check_view(view, embeddings.shape[0], "batch's rows")
        if self._view_width is not None and view.shape[1] != self._view_width:
            raise ValueError(
                f"view must have {self._view_width} columns (as at setup); got "
                f"{view.shape[1]}."
            )
        view = view.to(embeddings.dtype)
        if self.projection is not None:
            frozen = F.linear(view, self.projection.weight.to(embeddings.dtype))
        elif self._needs_map(view.shape[1], embeddings.shape[1]):
            raise RuntimeError(
                "CWCLLoss has no view projection yet: call setup(n_samples=..., "
                "n_classes=..., n_components=..., inputs={'view': view}) first (the "
                "estimators do)."
            )
        else:
            frozen = view
        weight = self._weights(view)
        self._warn_if_uniform(view, weight=weight)
        terms, counts, _, _ = _cwcl_terms(
            F.normalize(frozen, dim=1),
            F.normalize(embeddings, dim=1),
            weight,
            self.temperature,
        )
        return terms, counts

    def forward(self, input, target, *, sample_weight=None, view=None, **context):
        """The batch loss (a scalar tensor).

        Parameters
        ----------
        input : torch.Tensor of shape (B, d)
            The trained embeddings.
        target : torch.Tensor of shape (B,)
            Integer labels (not used: the pairing makes the positives).
        sample_weight : torch.Tensor of shape (B,), default=None
            Non-negative anchor weights.
        view : torch.Tensor of shape (B, d_view)
            The batch's frozen view.
        **context
            Unused.
        """
        check_embedding_batch(input, target)
        terms, counts = self.anchor_terms(input, target, view=view)
        return reduce_anchors(terms, counts, sample_weight)
