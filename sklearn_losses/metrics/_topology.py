r"""Betti matching of 2-D images and the topological errors of segmentations.

Stucki, Paetzold, Shit, Menze, Bauer, "Topologically faithful image
segmentation via induced matching of persistence barcodes", ICML 2023
(https://arxiv.org/abs/2211.15272).

Conventions (the paper's defaults):

- **Superlevel filtration** :math:`F_t(I) = \{p : I(p) \ge t\}`, ``t`` from
  high to low; a bar is ``(birth b, death d)`` with ``b >= d``.
- **V-construction**: pixels are the vertices of a cubical complex, edges join
  4-neighbours, squares fill 2x2 blocks. The foreground is 4-connected and the
  holes (dimension 1) are the 8-connected background components that do not
  reach the border.
- **Relative** (``relative=True``, the default): the image is framed by one
  pixel at its maximum before anything is computed, so structures touching the
  border are closed off by the frame.
- The essential class of dimension 0 dies at 0; bars of length 0 are dropped.

The barcodes of the prediction and of the target come from ``gudhi``'s cubical
complexes (an optional dependency: ``pip install "sklearn-losses[topology]"``).
The induced matching is computed here with union-find: the comparison image
:math:`C = \max(I, G)` contains both filtrations; each inclusion induces a
partial matching of barcodes (Bauer and Lesnick) through the barcode of its
image, and a bar of ``I`` and a bar of ``G`` are matched when both reach the
same bar of ``C``.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BettiMatching",
    "betti_matching",
    "betti_matching_error",
    "betti_number_error",
    "betti_numbers",
]

TOPOLOGY_EXTRA = 'pip install "sklearn-losses[topology]"'


def import_gudhi():
    """Import ``gudhi`` or raise an ``ImportError`` naming the extra to install."""
    try:
        import gudhi
    except ImportError as exc:
        raise ImportError(
            "Betti matching needs the optional dependency gudhi (persistence of "
            f"cubical complexes); install it with {TOPOLOGY_EXTRA}."
        ) from exc
    return gudhi


# -- validation -----------------------------------------------------------------
def _as_image(name, value):
    """A finite float64 2-D array, or a ``ValueError`` naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"{name} must be a numeric 2-D array; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ValueError(
            f"{name} must be one 2-D image (H, W) with H, W >= 1; got shape "
            f"{arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf pixels).")
    return arr


def check_binary_mask(name, arr):
    """Raise ``ValueError`` unless every pixel of ``arr`` is 0 or 1."""
    arr = np.asarray(arr)
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        bad = arr[(arr != 0) & (arr != 1)].ravel()[0]
        raise ValueError(
            f"{name} must be a binary mask (pixels 0 or 1); found the value {bad!r}."
        )


def _frame(img):
    """``img`` framed by one pixel at its maximum (relative homology)."""
    out = np.full((img.shape[0] + 2, img.shape[1] + 2), img.max())
    out[1:-1, 1:-1] = img
    return out


# -- filtration orders ----------------------------------------------------------
class _Grid:
    """Cells of the V-construction on an ``h x w`` grid, with adjacency."""

    def __init__(self, h, w):
        self.h, self.w = h, w
        idx = np.arange(h * w).reshape(h, w)
        horiz = np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], axis=1)
        vert = np.stack([idx[:-1, :].ravel(), idx[1:, :].ravel()], axis=1)
        self.edges = np.concatenate([horiz, vert]).astype(np.int64)
        n_sq = max(h - 1, 0) * max(w - 1, 0)
        self.n_squares = n_sq
        sq = np.arange(n_sq).reshape(max(h - 1, 0), max(w - 1, 0))
        outer = n_sq
        # the two squares on either side of each edge (the outer cell at the border)
        above = np.full((h, max(w - 1, 0)), outer)
        below = np.full((h, max(w - 1, 0)), outer)
        above[1:, :] = sq
        below[:-1, :] = sq
        left = np.full((max(h - 1, 0), w), outer)
        right = np.full((max(h - 1, 0), w), outer)
        left[:, 1:] = sq
        right[:, :-1] = sq
        self.sides = np.concatenate(
            [
                np.stack([above.ravel(), below.ravel()], axis=1),
                np.stack([left.ravel(), right.ravel()], axis=1),
            ]
        ).astype(np.int64)
        self.corners = np.stack(
            [
                idx[:-1, :-1].ravel(),
                idx[:-1, 1:].ravel(),
                idx[1:, :-1].ravel(),
                idx[1:, 1:].ravel(),
            ],
            axis=1,
        ).astype(np.int64)


class _Order:
    """A total order of the pixels of one image: decreasing value, ties by index.

    ``rank[p]`` is the position of pixel ``p``; a cell enters the filtration
    with its last vertex, ``max(rank)`` over its vertices, and cells entering
    with the same pixel are ordered by their index.
    """

    def __init__(self, values, grid):
        flat = values.ravel()
        n = flat.size
        self.values = flat
        self.pixels = np.lexsort((np.arange(n), -flat))
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[self.pixels] = np.arange(n)
        e_time = self.rank[grid.edges].max(axis=1)
        self.edge_pixel = np.where(
            self.rank[grid.edges[:, 0]] > self.rank[grid.edges[:, 1]],
            grid.edges[:, 0],
            grid.edges[:, 1],
        )
        self.edge_order = np.lexsort((np.arange(len(e_time)), e_time))
        if grid.n_squares:
            sq_rank = self.rank[grid.corners]
            self.square_pixel = grid.corners[
                np.arange(grid.n_squares), sq_rank.argmax(axis=1)
            ]
            sq_time = sq_rank.max(axis=1)
        else:
            self.square_pixel = np.empty(0, dtype=np.int64)
            sq_time = np.empty(0, dtype=np.int64)
        # a total order key of the squares, the outer cell last of all
        n_sq = grid.n_squares
        self.square_key = np.append(
            sq_time * (n_sq + 1) + np.arange(n_sq), n * (n_sq + 1)
        )


# -- union-find sweeps ------------------------------------------------------------
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def _sweep_dim0(grid, comp, subs):
    """Dimension 0 of ``comp`` and of the images of ``subs`` in it.

    Edges enter in ``comp``'s order; each component keeps its oldest vertex in
    ``comp``'s order and in each sub-image's order. Returns the bars of
    ``comp`` as ``{death edge: birth pixel}`` (the essential class under
    ``-1``) and, per sub-image, the image bars as ``(birth pixel, death edge)``.
    """
    n = comp.values.size
    parent = list(range(n))
    labels = [comp.rank.tolist()] + [s.rank.tolist() for s in subs]
    bars = {}
    image_bars = [[] for _ in subs]
    edges = grid.edges.tolist()
    for e in comp.edge_order.tolist():
        p, q = edges[e]
        a, b = _find(parent, p), _find(parent, q)
        if a == b:
            continue
        la, lb = labels[0][a], labels[0][b]
        bars[e] = comp.pixels[max(la, lb)]
        for k, sub in enumerate(subs):
            lab = labels[k + 1]
            image_bars[k].append((sub.pixels[max(lab[a], lab[b])], e))
        # b's root becomes a; a keeps the oldest label of each order
        parent[b] = a
        for lab in labels:
            if lab[b] < lab[a]:
                lab[a] = lab[b]
    bars[-1] = comp.pixels[0]
    for k, sub in enumerate(subs):
        image_bars[k].append((sub.pixels[0], -1))
    return bars, image_bars


def _sweep_dim1(grid, order, labels_of):
    """Holes by duality: edges leave in reverse ``order``, joining the squares
    on their two sides; each dual component keeps its oldest square in the
    order ``labels_of`` (the outer cell oldest). Returns ``(birth pixel in
    order, death square)`` pairs; the death square is ``labels_of``'s."""
    n_sq = grid.n_squares
    parent = list(range(n_sq + 1))
    key = labels_of.square_key.tolist()
    label = list(range(n_sq + 1))  # the square holding the oldest key
    sides = grid.sides.tolist()
    out = []
    edge_pixel = order.edge_pixel
    for e in order.edge_order[::-1].tolist():
        s, t = sides[e]
        a, b = _find(parent, s), _find(parent, t)
        if a == b:
            continue
        sa, sb = label[a], label[b]
        if key[sa] < key[sb]:
            young, old = sa, sb
        else:
            young, old = sb, sa
        out.append((int(edge_pixel[e]), young))
        parent[b] = a
        label[a] = old
    return out


# -- the matching ----------------------------------------------------------------
@dataclass
class BettiMatching:
    """Barcodes of a prediction and a target and their Betti matching.

    Pixel indices are flat (row-major) indices of the image the barcodes were
    computed on: the framed image, of shape ``(H + 2, W + 2)``, when
    ``relative=True``. A death pixel of ``-1`` marks the essential class
    (death value 0).

    Attributes
    ----------
    shape : tuple of int
        Shape of the image the barcodes were computed on.
    pred_bars, target_bars : list of ndarray of shape (k, 2)
        Per dimension (0 and 1), the bars ``(birth, death)`` as values.
    pred_pixels, target_pixels : list of ndarray of shape (k, 2)
        Per dimension, the birth and death pixels of those bars.
    matched : list of ndarray of shape (m, 2)
        Per dimension, pairs ``(prediction bar, target bar)`` of indices into
        the bars of that dimension.
    unmatched_pred, unmatched_target : list of ndarray
        Per dimension, indices of the bars left unmatched.
    """

    shape: tuple
    pred_bars: list
    target_bars: list
    pred_pixels: list
    target_pixels: list
    matched: list
    unmatched_pred: list
    unmatched_target: list

    def loss(self, dimensions=(0, 1)):
        r"""The Betti matching loss of these barcodes (numpy, no gradient).

        .. math::

            \sum_{(a, g)\ \text{matched}} 2\,[(b_a - b_g)^2 + (d_a - d_g)^2]
            + \sum_{a\ \text{unmatched}} (b_a - d_a)^2
            + \sum_{g\ \text{unmatched}} (b_g - d_g)^2
        """
        total = 0.0
        for dim in dimensions:
            p, g = self.pred_bars[dim], self.target_bars[dim]
            m = self.matched[dim]
            total += 2.0 * float(np.sum((p[m[:, 0]] - g[m[:, 1]]) ** 2))
            for bars, idx in (
                (p, self.unmatched_pred[dim]),
                (g, self.unmatched_target[dim]),
            ):
                total += float(np.sum((bars[idx, 0] - bars[idx, 1]) ** 2))
        return total

    def n_unmatched(self, dimensions=(0, 1)):
        """The number of unmatched bars of both images in ``dimensions``."""
        return sum(
            len(self.unmatched_pred[d]) + len(self.unmatched_target[d])
            for d in dimensions
        )


def _barcode(gudhi, order, shape):
    """Bars ``(birth pixel, death pixel)`` per dimension, from gudhi on ranks.

    Ranks make the vertex values distinct, so the birth and death pixels of
    every bar are determined by the image alone (not by gudhi's tie-breaking).
    """
    cc = gudhi.CubicalComplex(vertices=order.rank.reshape(shape).astype(np.float64))
    cc.compute_persistence(homology_coeff_field=2)
    regular, essential = cc.vertices_of_persistence_pairs()
    out = []
    for dim in (0, 1):
        pairs = [np.asarray(regular[dim]).reshape(-1, 2)] if dim < len(regular) else []
        if dim < len(essential) and len(essential[dim]):
            ess = np.asarray(essential[dim]).reshape(-1)
            pairs.append(np.stack([ess, np.full_like(ess, -1)], axis=1))
        px = np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)
        px = px.astype(np.int64)
        # gudhi numbers the vertices in column-major order
        alive = px >= 0
        px[alive] = (px[alive] % shape[0]) * shape[1] + px[alive] // shape[0]
        vals = _values(order.values, px)
        keep = vals[:, 0] > vals[:, 1]  # drop bars of length 0
        out.append((px[keep], vals[keep]))
    return out


def _values(flat, px):
    vals = np.zeros(px.shape, dtype=np.float64)
    vals[:, 0] = flat[px[:, 0]]
    alive = px[:, 1] >= 0
    vals[alive, 1] = flat[px[alive, 1]]
    return vals


def _induced(sub_px, sub_vals, image_bars, comp_death_value, comp_index):
    """Compose ``sub -> image -> comp``: ``{sub bar: comp bar}``.

    Sub bars and image bars meet at equal birth pixels, image bars and bars of
    the comparison image at equal death cells. Within a group of equal birth,
    both sides are sorted by decreasing length and paired in order (Bauer and
    Lesnick's induced matching).
    """
    by_birth = {}
    for i, (birth, _) in enumerate(sub_px.tolist()):
        by_birth.setdefault(birth, []).append(i)
    images = {}
    for birth, death in image_bars:
        images.setdefault(int(birth), []).append(death)
    out = {}
    for birth, sub_bars in by_birth.items():
        cands = images.get(birth)
        if not cands:
            continue
        sub_bars = sorted(sub_bars, key=lambda i: sub_vals[i, 1])
        cands = sorted(cands, key=comp_death_value)
        for i, death in zip(sub_bars, cands):
            j = comp_index.get(death)
            if j is not None:
                out[i] = j
    return out


def betti_matching(pred, target, *, relative=True):
    """Barcodes of ``pred`` and ``target`` and their Betti matching.

    Parameters
    ----------
    pred : array-like of shape (H, W)
        The likelihood map :math:`I` (values in ``[0, 1]``, after the sigmoid),
        or a binary mask.
    target : array-like of shape (H, W)
        The ground truth :math:`G` (any values; a binary mask in the paper).
    relative : bool, default=True
        Frame each image by one pixel at its maximum first (relative
        homology, the paper's training setting).

    Returns
    -------
    BettiMatching

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.metrics import betti_matching
    >>> ring = np.zeros((6, 6)); ring[1:5, 1:5] = 1; ring[2:4, 2:4] = 0
    >>> disk = np.zeros((6, 6)); disk[1:5, 1:5] = 1
    >>> m = betti_matching(disk, ring, relative=False)
    >>> m.target_bars[1].tolist(), m.matched[0].tolist(), m.loss()
    ([[1.0, 0.0]], [[0, 0]], 1.0)
    """
    gudhi = import_gudhi()
    pred = _as_image("pred", pred)
    target = _as_image("target", target)
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target must have the same shape; got {pred.shape} and "
            f"{target.shape}."
        )
    if relative:
        pred, target = _frame(pred), _frame(target)
    shape = pred.shape
    grid = _Grid(*shape)
    comp_img = np.maximum(pred, target)
    o_pred, o_target, o_comp = (_Order(a, grid) for a in (pred, target, comp_img))

    # the comparison image's bars, by their death cell (edge / square)
    comp_bars0, image0 = _sweep_dim0(grid, o_comp, (o_pred, o_target))
    comp_bars1 = _sweep_dim1(grid, o_comp, o_comp)
    flat_c = o_comp.values
    comp_index0 = {
        e: k
        for k, (e, birth) in enumerate(comp_bars0.items())
        if e == -1 or flat_c[birth] > flat_c[o_comp.edge_pixel[e]]
    }
    sq_pixel = o_comp.square_pixel
    comp_index1 = {
        sq: k
        for k, (birth, sq) in enumerate(comp_bars1)
        if sq < grid.n_squares and flat_c[birth] > flat_c[sq_pixel[sq]]
    }

    def death0(e):
        return -np.inf if e == -1 else flat_c[o_comp.edge_pixel[e]]

    def death1(sq):
        return flat_c[sq_pixel[sq]] if sq < grid.n_squares else -np.inf

    result = {"pred": [], "target": []}
    links = {"pred": [], "target": []}
    for name, order in (("pred", o_pred), ("target", o_target)):
        bars = _barcode(gudhi, order, shape)
        k = 0 if name == "pred" else 1
        image1 = _sweep_dim1(grid, order, o_comp)
        for dim, (image, death, index) in enumerate(
            ((image0[k], death0, comp_index0), (image1, death1, comp_index1))
        ):
            px, vals = bars[dim]
            result[name].append((px, vals))
            links[name].append(_induced(px, vals, image, death, index))

    matched, un_pred, un_target = [], [], []
    for dim in (0, 1):
        via = {c: g for g, c in links["target"][dim].items()}
        pairs = sorted((a, via[c]) for a, c in links["pred"][dim].items() if c in via)
        m = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        matched.append(m)
        n_p, n_g = len(result["pred"][dim][0]), len(result["target"][dim][0])
        un_pred.append(np.setdiff1d(np.arange(n_p), m[:, 0]))
        un_target.append(np.setdiff1d(np.arange(n_g), m[:, 1]))
    return BettiMatching(
        shape=shape,
        pred_bars=[v for _, v in result["pred"]],
        target_bars=[v for _, v in result["target"]],
        pred_pixels=[p for p, _ in result["pred"]],
        target_pixels=[p for p, _ in result["target"]],
        matched=matched,
        unmatched_pred=un_pred,
        unmatched_target=un_target,
    )


# -- metrics -----------------------------------------------------------------------
def _as_masks(name, value):
    """Float images ``(n, H, W)`` from ``(H, W)``, ``(n, H, W)`` or ``(n, 1, H, W)``."""
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(f"{name} must be a numeric array; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if arr.ndim == 4 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or min(arr.shape[1:], default=0) < 1:
        raise ValueError(
            f"{name} must hold images of shape (H, W), (n, H, W) or (n, 1, H, W); "
            f"got shape {np.shape(value)}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf pixels).")
    return arr


def _check_pair(y_true, y_pred, threshold):
    true = _as_masks("y_true", y_true)
    pred = _as_masks("y_pred", y_pred)
    if true.shape != pred.shape:
        raise ValueError(
            "y_true and y_pred must hold images of the same shape; got "
            f"{np.shape(y_true)} and {np.shape(y_pred)}."
        )
    if not true.shape[0]:
        raise ValueError("y_true and y_pred hold no image.")
    check_binary_mask("y_true", true)
    if not (
        isinstance(threshold, numbers.Real)
        and not isinstance(threshold, bool)
        and np.isfinite(threshold)
    ):
        raise ValueError(f"threshold must be a finite real number; got {threshold!r}.")
    return true, (pred > threshold).astype(np.float64)


def _check_dimension(dimension):
    if dimension is None:
        return (0, 1)
    if isinstance(dimension, (int, np.integer)) and not isinstance(dimension, bool):
        if dimension in (0, 1):
            return (int(dimension),)
    raise ValueError(f"dimension must be None, 0 or 1; got {dimension!r}.")


def betti_numbers(mask, *, relative=True):
    """Betti numbers ``(b0, b1)`` of a binary mask.

    ``b0`` counts the 4-connected components of the foreground and ``b1`` its
    holes, the 8-connected components of the background that do not reach the
    border. With ``relative=True`` the mask is first framed by one pixel at its
    maximum (the foreground when the mask is not empty), so the components that
    touch the border join the frame and the background between them and the
    frame counts as holes.

    Parameters
    ----------
    mask : array-like of shape (H, W)
        A binary mask.
    relative : bool, default=True
        Frame the mask first, as the Betti matching does.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.metrics import betti_numbers
    >>> ring = np.zeros((5, 5), int); ring[1:4, 1:4] = 1; ring[2, 2] = 0
    >>> betti_numbers(ring, relative=False)
    (1, 1)
    """
    gudhi = import_gudhi()
    mask = _as_image("mask", mask)
    check_binary_mask("mask", mask)
    if relative:
        mask = _frame(mask)
    bars = _barcode(gudhi, _Order(mask, _Grid(*mask.shape)), mask.shape)
    return len(bars[0][0]), len(bars[1][0])


def betti_number_error(y_true, y_pred, *, threshold=0.5, relative=True, dimension=None):
    r"""Betti-number error of segmentations, averaged over images.

    .. math::

        \frac{1}{n} \sum_{i=1}^{n} \sum_{k} |\beta_k(\hat Y_i) - \beta_k(Y_i)|

    with :math:`\hat Y_i = [\hat P_i > \text{threshold}]` and :math:`k` over
    dimension 0 (components) and 1 (holes), or the one ``dimension`` asked for;
    see :func:`betti_numbers`.

    Parameters
    ----------
    y_true : array-like of shape (H, W), (n, H, W) or (n, 1, H, W)
        Binary ground-truth masks.
    y_pred : array-like of the same shape
        Predicted probabilities or binary masks, binarised at ``threshold``.
    threshold : float, default=0.5
        A pixel of ``y_pred`` is foreground when it is ``> threshold``.
    relative : bool, default=True
        Frame every image first (as the paper's evaluation does).
    dimension : {None, 0, 1}, default=None
        ``None`` sums dimensions 0 and 1.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.metrics import betti_number_error
    >>> ring = np.zeros((6, 6)); ring[1:5, 1:5] = 1; ring[2:4, 2:4] = 0
    >>> disk = np.zeros((6, 6)); disk[1:5, 1:5] = 1
    >>> betti_number_error(ring, disk, relative=False)
    1.0
    """
    dims = _check_dimension(dimension)
    true, pred = _check_pair(y_true, y_pred, threshold)
    errors = []
    for t, p in zip(true, pred):
        bt, bp = (
            betti_numbers(t, relative=relative),
            betti_numbers(p, relative=relative),
        )
        errors.append(sum(abs(bt[d] - bp[d]) for d in dims))
    return float(np.mean(errors))


def betti_matching_error(
    y_true, y_pred, *, threshold=0.5, relative=True, dimension=None
):
    r"""Betti matching error of segmentations, averaged over images.

    The number of bars of :math:`\hat Y_i = [\hat P_i > \text{threshold}]` and
    of :math:`Y_i` left unmatched by their Betti matching
    (:func:`betti_matching`), in dimensions 0 and 1 or the one ``dimension``
    asked for. On binary masks it equals the Betti matching loss (matched bars
    are all ``(1, 0)``) and it is at least the Betti-number error: it also
    counts features of the right number at the wrong place.

    Parameters
    ----------
    y_true : array-like of shape (H, W), (n, H, W) or (n, 1, H, W)
        Binary ground-truth masks.
    y_pred : array-like of the same shape
        Predicted probabilities or binary masks, binarised at ``threshold``.
    threshold : float, default=0.5
        A pixel of ``y_pred`` is foreground when it is ``> threshold``.
    relative : bool, default=True
        Frame every image first (as the paper's evaluation does).
    dimension : {None, 0, 1}, default=None
        ``None`` sums dimensions 0 and 1.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.metrics import betti_matching_error, betti_number_error
    >>> a = np.zeros((7, 7)); a[1:3, 1:3] = 1; a[1:3, 4:6] = 1
    >>> b = np.zeros((7, 7)); b[1:3, 1:3] = 1; b[4:6, 4:6] = 1
    >>> betti_number_error(a, b, relative=False)  # two components each
    0.0
    >>> betti_matching_error(a, b, relative=False)  # the second one misplaced
    2.0
    """
    dims = _check_dimension(dimension)
    true, pred = _check_pair(y_true, y_pred, threshold)
    errors = [
        betti_matching(p, t, relative=relative).n_unmatched(dims)
        for t, p in zip(true, pred)
    ]
    return float(np.mean(errors))
