r"""The ICNN score: how well each point's nearest neighbours share its class.

Mendez-Ruiz et al., "SuSana Distancia is all you need: Enforcing class
separability in metric learning via two novel distance-based loss functions
for few-shot image classification", 2023 (arXiv 2305.09062). The score is the
inter/intra-class nearest-neighbour score of the authors' code (their
``modified_score``), written here as array operations over all anchors at once.

The score lies in ``[0, 1]`` (1: every point's nearest neighbours are of its
class and close to it compared with the nearest point of another class); its
negative logarithm is the ICNN loss
(:class:`sklearn_losses.losses.ICNNLoss`).
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = ["icnn_score"]

#: The epsilon of every denominator (the authors' code).
_EPS = 1e-7
#: Added to the squared distance under the square root (the authors' code).
_DIST_EPS = 1e-6


def _distances(a, b):
    """``sqrt(||a_i - b_j||^2 + 1e-6)``, from one matrix product, clamped at 0."""
    sq = (
        a.pow(2).sum(1, keepdim=True)
        + b.pow(2).sum(1).unsqueeze(0)
        - 2.0 * a @ b.transpose(0, 1)
    )
    return (sq.clamp_min(0.0) + _DIST_EPS).sqrt()


def _check_k_r(k, r):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an integer >= 1; got {k!r}.")
    if r is not None and (
        isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < k
    ):
        raise ValueError(
            f"r must be None (k + 1) or an integer >= k (here {k}); got {r!r}."
        )


def _icnn_tensors(origin, origin_labels, target, target_labels, k, r, weight, same):
    """The score on tensors (no input checks); a 0-d tensor of ``origin``'s dtype.

    ``same``: the targets are the origin points themselves (each point's own
    index is then the dropped nearest neighbour, whatever the ties).
    ``weight``: ``None`` or non-negative anchor weights ``(A,)``.
    """
    n_target = target.shape[0]
    if n_target <= 2:
        # No neighbour is left to score once the nearest is dropped.
        return origin.sum() * 0.0 + 1.0
    force_gamma = k + 2 >= n_target
    k = n_target - 2 if force_gamma else k
    r = k + 1 if r is None else min(r, n_target - 1)

    dist = _distances(origin, target)
    with torch.no_grad():
        order = dist
        if same:
            order = dist.clone()
            order.fill_diagonal_(float("-inf"))
        index = order.topk(r + 1, dim=1, largest=False).indices[:, 1:]
    dist = dist.gather(1, index)  # (A, r), ascending
    same_class = target_labels[index] == origin_labels.unsqueeze(1)
    other = ~same_class

    # delta_i: distance to the nearest other-class candidate among the r.
    has_other = other.any(1)
    delta = dist.masked_fill(~other, float("inf")).amin(1)
    delta = torch.where(has_other, delta, torch.ones_like(delta))
    ratio = dist[:, :k] / (delta + _EPS).unsqueeze(1)
    ratio = torch.where(has_other.unsqueeze(1), ratio, torch.zeros_like(ratio))
    ratio = ratio / ratio.amax(1, keepdim=True).clamp_min(1.0)

    same_k = same_class[:, :k].to(dist.dtype)
    other_k = 1.0 - same_k
    n_same = same_k.sum(1)
    n_other = other_k.sum(1)
    intra = (ratio * same_k).sum(1) / (n_same + _EPS)
    spread = dist[:, :k] * other_k
    spread = spread / (spread.amax() + _EPS)  # the global maximum
    inter = spread.sum(1) / (n_other + _EPS)

    w = torch.ones_like(n_same) if weight is None else weight.to(dist.dtype)
    w_same = w * (n_same > 0)
    w_other = w * (n_other > 0)
    lam_intra = 1.0 - (w_same * intra).sum() / (w_same.sum() + _EPS)
    total_other = w_other.sum()
    lam_inter = torch.where(
        total_other > 0,
        (w_other * inter).sum() / (total_other + _EPS),
        torch.ones_like(total_other),
    )
    if force_gamma:
        gamma = torch.ones_like(lam_intra)
    else:
        total = w.sum()
        gamma = (w * n_same).sum() / k / total.clamp_min(torch.finfo(w.dtype).tiny)
    return ((lam_intra + lam_inter) / 2.0 + gamma) / 2.0


def _labels_1d(name, labels, n):
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(
            f"{name} must hold one label per row, shape ({n},); got shape "
            f"{array.shape}."
        )
    return array


def _tensor_labels(name, labels, n, device):
    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.is_complex():
            raise TypeError(
                f"{name} must hold integer class labels; got dtype {labels.dtype}."
            )
        if labels.ndim != 1 or labels.shape[0] != n:
            raise ValueError(
                f"{name} must hold one label per row, shape ({n},); got shape "
                f"{tuple(labels.shape)}."
            )
        return labels.to(device)
    return None


def _as_points(name, values, torch_path, dtype=None, device=None):
    if torch_path:
        if not isinstance(values, torch.Tensor) or not values.is_floating_point():
            raise TypeError(
                f"{name} must be a floating torch.Tensor like embeddings; got "
                f"{type(values).__name__}."
            )
        points = values
    else:
        try:
            points = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a 2-D array of numbers; {exc}.") from None
        if not np.all(np.isfinite(points)):
            raise ValueError(f"{name} must be finite (no NaN or inf).")
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array, one point per row; got shape "
            f"{tuple(points.shape)}."
        )
    if not torch_path:
        points = torch.from_numpy(points)
    return points


def icnn_score(
    embeddings,
    labels,
    targets=None,
    target_labels=None,
    *,
    k=4,
    r=None,
    sample_weight=None,
):
    r"""Inter/intra-class nearest-neighbour (ICNN) score, in ``[0, 1]``.

    Each origin point :math:`a_i` (a row of ``embeddings``) is scored by its
    nearest targets (the rows of ``targets``; default: the origin points
    themselves). With :math:`d(a, b) = \sqrt{\lVert a - b \rVert^2 + 10^{-6}}`:

    1. take the :math:`r + 1` nearest targets and drop the nearest one (the
       point itself when the targets are the origin points; it is dropped too
       when they are not, as in the authors' code), leaving distances
       :math:`d_{i1} \le \dots \le d_{ir}`; :math:`s_{ij} = 1` when neighbour
       :math:`j` has :math:`a_i`'s label, else 0;
    2. :math:`\delta_i = \min_{j \le r, s_{ij} = 0} d_{ij}` (:math:`+\infty`
       without an other-class candidate) and, for :math:`j \le k`,
       :math:`\rho_{ij} = d_{ij} / (\delta_i + \epsilon)`, rescaled by
       :math:`\max(1, \max_{j \le k} \rho_{ij})`;
    3. :math:`\Lambda_\text{intra} = 1 - \operatorname{mean}_{i \in I_s}
       \sum_{j \le k} s_{ij}\rho_{ij} / (\sum_{j \le k} s_{ij} + \epsilon)`
       over the anchors with a same-class neighbour among the first :math:`k`;
    4. :math:`D_{ij} = d_{ij}(1 - s_{ij})` for :math:`j \le k`, divided by its
       global maximum (:math:`+ \epsilon`), and
       :math:`\Lambda_\text{inter} = \operatorname{mean}_{i \in I_d}
       \sum_j \hat D_{ij} / (\sum_{j \le k} (1 - s_{ij}) + \epsilon)` over the
       anchors with an other-class neighbour among the first :math:`k`
       (:math:`\Lambda_\text{inter} = 1` when there is none);
    5. :math:`\gamma = \operatorname{mean}_i \sum_{j \le k} s_{ij} / k`, or 1
       when :math:`k + 2 \ge |B|`;

    .. math::

        \mathrm{ICNN} = \frac{1}{2}\Big(\frac{\Lambda_\text{intra} +
        \Lambda_\text{inter}}{2} + \gamma\Big)

    Every mean over :math:`I_s` and :math:`I_d` divides by the anchor count
    plus :math:`\epsilon = 10^{-7}`, and so does every per-anchor mean. ``k``
    is clipped to :math:`|B| - 2` and ``r`` to :math:`|B| - 1`; with at most two
    targets no neighbour is left and the score is 1. A single class scores 1.

    On torch tensors the score is a 0-d tensor, differentiable through the
    distances (the neighbour selection and the class masks are constants), in
    the embeddings' dtype; on arrays it is a Python float computed in float64.
    The computation is vectorised: ``O(|A| |B|)`` memory.

    Parameters
    ----------
    embeddings : array-like or torch.Tensor of shape (n_origin, d)
        Origin points :math:`A`.
    labels : array-like of shape (n_origin,)
        Their labels (any values for arrays; integer for tensors).
    targets : array-like or torch.Tensor of shape (n_target, d), default=None
        Target points :math:`B` (``None``: the origin points).
    target_labels : array-like of shape (n_target,), default=None
        Their labels; required with ``targets``.
    k : int, default=4
        Number of neighbours scored (clipped to :math:`|B| - 2`).
    r : int, default=None
        Number of candidate neighbours among which :math:`\delta_i` is sought,
        ``>= k`` (``None``: ``k + 1`` with the clipped ``k``; the authors'
        "full" variant uses shots + queries per class).
    sample_weight : array-like of shape (n_origin,), default=None
        Non-negative weights of the origin points: every mean over anchors
        (in :math:`\Lambda_\text{intra}`, :math:`\Lambda_\text{inter}` and
        :math:`\gamma`) becomes a weighted mean, an anchor of weight 0 being
        absent from it (:math:`\Lambda_\text{inter} = 1` when no weighted
        anchor has an other-class neighbour). The weights leave the neighbour
        sets and the global maximum of :math:`D` unchanged. Unit weights give
        the unweighted score.

    Returns
    -------
    float or torch.Tensor
        The score; a 0-d tensor when ``embeddings`` is a tensor.

    References
    ----------
    M. Mendez-Ruiz, J. Gonzalez-Zapata, I. Reyes-Amezcua, D. Flores-Araiza,
    F. Lopez-Tiro, A. Mendez-Vazquez, G. Ochoa-Ruiz. SuSana Distancia is all
    you need: Enforcing class separability in metric learning via two novel
    distance-based loss functions for few-shot image classification. 2023.

    Examples
    --------
    >>> from sklearn_losses.metrics._icnn import icnn_score
    >>> x = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
    >>> round(icnn_score(x, [0, 0, 1, 1]), 4)
    0.9952
    >>> round(icnn_score(x, [0, 1, 0, 1]), 4)
    0.5652
    >>> icnn_score(x, [0, 0, 0, 0])
    1.0
    """
    _check_k_r(k, r)
    torch_path = isinstance(embeddings, torch.Tensor)
    if (targets is None) != (target_labels is None):
        raise ValueError(
            "targets and target_labels must be given together (or both None)."
        )
    origin = _as_points("embeddings", embeddings, torch_path)
    same = targets is None
    if same:
        target = origin
    else:
        target = _as_points("targets", targets, torch_path)
        if target.shape[1] != origin.shape[1]:
            raise ValueError(
                f"targets must have the embeddings' width {origin.shape[1]}; got "
                f"{target.shape[1]}."
            )
        if torch_path:
            target = target.to(dtype=origin.dtype, device=origin.device)
    n_origin, n_target = origin.shape[0], target.shape[0]

    y_origin = _tensor_labels("labels", labels, n_origin, origin.device)
    y_target = (
        y_origin
        if same
        else _tensor_labels("target_labels", target_labels, n_target, origin.device)
    )
    if y_origin is None or y_target is None:
        first = _labels_1d(
            "labels",
            labels.cpu().numpy() if isinstance(labels, torch.Tensor) else labels,
            n_origin,
        )
        second = first
        if not same:
            second = _labels_1d(
                "target_labels",
                target_labels.cpu().numpy()
                if isinstance(target_labels, torch.Tensor)
                else target_labels,
                n_target,
            )
        try:
            _, codes = np.unique(np.concatenate([first, second]), return_inverse=True)
        except TypeError as exc:
            raise TypeError(
                f"labels and target_labels must be comparable values; {exc}."
            ) from None
        codes = torch.as_tensor(codes.reshape(-1), device=origin.device)
        y_origin = codes[:n_origin]
        y_target = y_origin if same else codes[n_origin:]

    weight = None
    if sample_weight is not None:
        if torch_path and isinstance(sample_weight, torch.Tensor):
            weight = sample_weight.to(device=origin.device)
            values = weight.detach().cpu().numpy()
        else:
            try:
                values = np.asarray(sample_weight, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"sample_weight must be a 1-D array of numbers; {exc}."
                ) from None
            weight = torch.as_tensor(values, device=origin.device)
        if values.shape != (n_origin,):
            raise ValueError(
                f"sample_weight must have shape ({n_origin},) (one weight per "
                f"origin point); got {values.shape}."
            )
        if not (np.all(np.isfinite(values)) and np.all(values >= 0)):
            raise ValueError("sample_weight must be finite and >= 0 (no NaN).")
        if not values.sum() > 0:
            raise ValueError("sample_weight must not be all zero.")

    score = _icnn_tensors(origin, y_origin, target, y_target, k, r, weight, same)
    return score if torch_path else float(score)
