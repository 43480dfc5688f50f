"""Betti matching loss (Stucki et al., ICML 2023) for binary segmentation masks."""

from __future__ import annotations

import numpy as np
import torch

from ..metrics import betti_matching
from ..metrics._topology import check_binary_mask, import_gudhi
from ._base import _TRUSTED_TARGETS, BaseLoss
from ._registry import register_loss

__all__ = ["BettiMatchingLoss"]

_FILTRATIONS = ("superlevel", "sublevel", "bothlevel")


def _split_images(input, target):
    """``(B, H, W)`` logits and target after checking the input contract."""
    if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
        kind = getattr(input, "dtype", type(input).__name__)
        raise TypeError(f"input must be a floating-point torch.Tensor; got {kind}.")
    if not (isinstance(target, torch.Tensor) and target.is_floating_point()):
        kind = getattr(target, "dtype", type(target).__name__)
        raise TypeError(
            f"target must be a floating-point torch.Tensor of 0/1 masks; got {kind}."
        )
    if input.shape != target.shape:
        raise ValueError(
            "input and target must have the same shape (B, H, W) or (B, 1, H, W); "
            f"got {tuple(input.shape)} and {tuple(target.shape)}."
        )
    if input.ndim == 4 and input.shape[1] == 1:
        input, target = input[:, 0], target[:, 0]
    if input.ndim != 3 or min(input.shape[1:], default=0) < 1:
        raise ValueError(
            "input and target must be images of shape (B, H, W) or (B, 1, H, W); "
            f"got {tuple(input.shape)}."
        )
    if not _TRUSTED_TARGETS.get() and input.numel():
        if not bool(torch.isfinite(input.detach()).all()):
            raise ValueError("input (the logits) must be finite (no NaN or inf).")
        check_binary_mask("target", target.detach().cpu().numpy())
    return input, target


@register_loss
class BettiMatchingLoss(BaseLoss):
    r"""Betti matching loss: topological errors of a segmentation, located.

    The logits go through a sigmoid, :math:`I = \sigma(z)`, and the
    persistence barcodes of the superlevel filtrations of :math:`I` and of the
    binary mask :math:`G` (cubical complexes, pixels as vertices: 4-connected
    foreground) are matched through the comparison image
    :math:`C = \max(I, G)` (see :func:`~sklearn_losses.metrics.betti_matching`).
    Per image, over dimensions 0 (components) and 1 (holes),

    .. math::

        L_{BM}(I, G) = \sum_{(a, g)\ \text{matched}}
            2\,[(b_a - b_g)^2 + (d_a - d_g)^2]
          + \sum_{a\ \text{unmatched in } I} (b_a - d_a)^2
          + \sum_{g\ \text{unmatched in } G} (b_g - d_g)^2

    where ``(b, d)`` are a bar's birth and death values (the essential class
    dies at 0). Matched features are pulled to their ground-truth bar,
    unmatched ones to the diagonal. Every ``b`` and ``d`` of :math:`I` is the
    value of one critical pixel, so the gradient reaches those pixels only
    (it is piecewise linear in the probabilities). The per-image terms are
    reduced by :func:`~sklearn_losses.losses.weighted_reduce`; the batch loss
    is their (weighted) mean. The paper trains with Dice plus
    :math:`\alpha = 0.5` times this loss.

    Input contract: ``input`` logits of shape ``(B, H, W)`` or
    ``(B, 1, H, W)`` (the loss applies the sigmoid, like ``bce``); ``target``
    binary masks of the same shape (floating point, 0 or 1). Cost: the barcodes
    (gudhi) and the matching (union-find in Python) run on the CPU, about
    10 ms per 16x16 image and 0.1 s per 64x64 image; meant for small masks.
    Needs the optional dependency gudhi:
    ``pip install "sklearn-losses[topology]"``.

    Parameters
    ----------
    relative : bool, default=True
        Frame each image by one pixel at its maximum first (relative homology),
        so that foreground touching the border is closed off by the frame (the
        paper's training setting). The gradient of the frame reaches the
        image's brightest pixel.
    filtration : {"superlevel", "sublevel", "bothlevel"}, default="superlevel"
        ``"sublevel"`` matches the barcodes of :math:`1 - I` and :math:`1 - G`
        (the background's topology); ``"bothlevel"`` sums both terms.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] N. Stucki, J. C. Paetzold, S. Shit, B. Menze, U. Bauer,
       "Topologically faithful image segmentation via induced matching of
       persistence barcodes", ICML 2023. https://arxiv.org/abs/2211.15272

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import BettiMatchingLoss
    >>> ring = torch.zeros(1, 6, 6); ring[:, 1:5, 1:5] = 1; ring[:, 2:4, 2:4] = 0
    >>> logits = 8 * (2 * ring - 1)  # a confident, correct prediction
    >>> loss = BettiMatchingLoss(relative=False)
    >>> loss(logits, ring).item() < 1e-5  # (1 - sigmoid(8))**2 per bar
    True
    >>> logits[:, 2:4, 2:4] = 8.0  # the hole filled in: one bar unmatched
    >>> round(loss(logits, ring).item(), 4)
    1.0
    """

    name = "betti_matching"
    aliases = ("betti",)
    tasks = frozenset({"regression"})
    prediction_link = "sigmoid"
    image = True
    task_hint = "It compares binary masks of shape (n, H, W) with the logits."

    def __init__(self, *, relative=True, filtration="superlevel", reduction="mean"):
        super().__init__(reduction=reduction)
        if not isinstance(relative, (bool, np.bool_)):
            raise ValueError(f"relative must be True or False; got {relative!r}.")
        if filtration not in _FILTRATIONS:
            raise ValueError(
                f"filtration must be one of {_FILTRATIONS}; got {filtration!r}."
            )
        self.relative = relative
        self.filtration = filtration

    def loss_terms(self, input, target):
        import_gudhi()
        logits, masks = _split_images(input, target)
        prob = torch.sigmoid(logits)
        masks = masks.to(prob.dtype)
        sides = {
            "superlevel": ((False,)),
            "sublevel": ((True,)),
            "bothlevel": (False, True),
        }[self.filtration]
        terms = []
        for p, g in zip(prob, masks):
            total = prob.new_zeros(())
            for flip in sides:
                a, b = (1 - p, 1 - g) if flip else (p, g)
                total = total + _image_term(a, b, bool(self.relative))
            terms.append(total)
        if not terms:
            return prob.new_zeros((0,))
        return torch.stack(terms)


def _image_term(pred, target, relative):
    """The Betti matching loss of one probability map against one mask."""
    if relative:
        pred = _framed(pred)
        target = _framed(target)
    m = betti_matching(
        pred.detach().cpu().double().numpy(),
        target.detach().cpu().double().numpy(),
        relative=False,
    )
    flat = pred.reshape(-1)
    total = flat.new_zeros(())
    for dim in (0, 1):
        px = torch.as_tensor(m.pred_pixels[dim], device=flat.device)
        births = flat[px[:, 0]]
        deaths = torch.where(px[:, 1] >= 0, flat[px[:, 1].clamp_min(0)], 0.0)
        tgt = torch.as_tensor(m.target_bars[dim], dtype=flat.dtype, device=flat.device)
        pairs = torch.as_tensor(m.matched[dim], device=flat.device)
        un_p = torch.as_tensor(m.unmatched_pred[dim], device=flat.device)
        un_g = torch.as_tensor(m.unmatched_target[dim], device=flat.device)
        i, j = pairs[:, 0], pairs[:, 1]
        moved = (births[i] - tgt[j, 0]).square() + (deaths[i] - tgt[j, 1]).square()
        total = total + 2 * moved.sum()
        total = total + (births[un_p] - deaths[un_p]).square().sum()
        total = total + (tgt[un_g, 0] - tgt[un_g, 1]).square().sum()
    return total


def _framed(img):
    """``img`` framed by one pixel at its maximum, differentiably."""
    h, w = img.shape
    out = img.max().expand(h + 2, w + 2).clone()
    out[1:-1, 1:-1] = img
    return out
