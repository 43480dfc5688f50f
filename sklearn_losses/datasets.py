"""Datasets that load offline: imbalanced tables built from scikit-learn's
bundled data, generated ranking data, noisy digits for denoising, generated
images with segmentation masks and generated implicit feedback."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.decomposition import PCA
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "load_imbalanced_breast_cancer",
    "load_noisy_digits",
    "make_anyloss_random",
    "make_implicit_feedback",
    "make_ranking",
    "make_segmentation_shapes",
    "DEFAULT_DATASET",
    "SHAPE_KINDS",
]

#: Name of the dataset the main job uses when the user gives none.
DEFAULT_DATASET = "breast_cancer_imbalanced"


def load_imbalanced_breast_cancer(*, return_X_y=False, as_frame=False):
    """The imbalanced breast-cancer task of the AnyLoss paper (393 rows, 9.2 %).

    scikit-learn's copy of the Wisconsin diagnostic breast-cancer data with the
    malignant class as the positive (minority) class, subsampled to 36 of its
    212 rows exactly as the paper's code does (``DataFrame.sample(n=36,
    random_state=100)``): all 357 benign rows first, then the 36 malignant rows
    in sampled order.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a :class:`~sklearn.utils.Bunch`.
    as_frame : bool, default=False
        Return ``X`` as a pandas DataFrame (needs pandas).

    Returns
    -------
    Bunch with ``data`` (393, 30), ``target`` (393,) in {0, 1} with 1 =
    malignant, ``feature_names`` and ``DESCR``; or ``(X, y)``.

    Examples
    --------
    >>> from sklearn_losses.datasets import load_imbalanced_breast_cancer
    >>> X, y = load_imbalanced_breast_cancer(return_X_y=True)
    >>> X.shape, int(y.sum())
    ((393, 30), 36)
    """
    raw = load_breast_cancer()
    malignant = raw.target == 0
    neg = np.flatnonzero(~malignant)
    pos_all = np.flatnonzero(malignant)
    pos = pos_all[np.random.RandomState(100).choice(len(pos_all), 36, replace=False)]
    rows = np.concatenate([neg, pos])
    X = raw.data[rows]
    y = malignant[rows].astype(np.int64)
    names = np.asarray(raw.feature_names)
    if as_frame:
        import pandas as pd

        X = pd.DataFrame(X, columns=names)
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        feature_names=names,
        target_names=np.array(["benign", "malignant"]),
        DESCR="Wisconsin breast cancer, malignant subsampled to 36 of 393 rows "
        "(the AnyLoss paper's imbalanced task).",
    )


def make_anyloss_random(*, return_X_y=True):
    """The AnyLoss paper's synthetic "Random" task (10,000 rows, 2 features).

    ``make_classification(n_samples=10000, weights=[.9, .1], class_sep=1.2,
    n_features=5, n_informative=3, n_redundant=1, n_clusters_per_class=1,
    random_state=0)`` projected on its first two principal components.

    Examples
    --------
    >>> X, y = make_anyloss_random()
    >>> X.shape
    (10000, 2)
    """
    X, y = make_classification(
        n_samples=10000,
        weights=[0.9, 0.1],
        class_sep=1.2,
        n_features=5,
        n_informative=3,
        n_redundant=1,
        n_clusters_per_class=1,
        random_state=0,
    )
    X = PCA(2).fit_transform(X)
    if return_X_y:
        return X, y
    return Bunch(data=X, target=y)


def make_ranking(
    n_queries=100,
    *,
    n_features=10,
    n_query_features=2,
    items_per_query=(5, 40),
    n_levels=5,
    noise=0.5,
    heavy_tailed=True,
    random_state=None,
):
    """Generated learning-to-rank data: graded relevance within queries.

    Each query ``q`` draws its number of items uniformly from
    ``items_per_query``, a query vector :math:`c_q \\sim N(0, I)` of
    ``n_query_features`` values (repeated on each of its rows, as the
    query-level features of LETOR tables) and each item a feature vector
    :math:`x \\sim N(0, I)`. An item's latent utility is

    .. math::

        u = x^\\top w + \\tfrac12 \\sin(3\\, x^\\top v)
            + (x^\\top U)\\, c_q + \\sigma_\\text{noise}\\, \\varepsilon,

    a linear part, a non-linear part and a part whose direction depends on the
    query (``U`` is ``n_features x n_query_features``), so the best ranking
    differs between queries and a pointwise linear model cannot find it. The
    grade of an item is its utility's position among the query's items, cut at
    fixed quantiles of a standard normal applied to the within-query z-score:
    grades ``0 .. n_levels - 1`` with about half the items at 0, few at the top, ties
    within a grade, and every query of two items or more holding at least two
    grades. With ``heavy_tailed=True`` the first half of the item features are
    returned as ``exp(2 x)`` (positive, skewed counts like the click and
    term-frequency features of web-search tables), so a transform such as
    ``QuantileTransformer`` or ``log`` helps a network; the utilities use the
    untransformed ``x``.

    Parameters
    ----------
    n_queries : int, default=100
        Number of queries.
    n_features : int, default=10
        Item features per row.
    n_query_features : int, default=2
        Query-level features per row (the same for every row of a query),
        appended after the item features; 0 for none.
    items_per_query : (int, int), default=(5, 40)
        Inclusive range of the number of items of a query (``>= 1``).
    n_levels : int, default=5
        Number of relevance grades (``>= 2``): 5 gives LETOR's 0..4.
    noise : float, default=0.5
        Standard deviation of the utility noise.
    heavy_tailed : bool, default=True
        Return the first half of the item features as ``exp(2 x)``.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features + n_query_features)
    y : ndarray of shape (n_samples,)
        Relevance grades (float, ``0 .. n_levels - 1``).
    qid : ndarray of shape (n_samples,)
        Query id of each row (``0 .. n_queries - 1``); rows of a query are
        contiguous, in query order.

    Examples
    --------
    >>> from sklearn_losses.datasets import make_ranking
    >>> X, y, qid = make_ranking(n_queries=20, random_state=0)
    >>> X.shape[1], len(set(qid)), float(y.min()), float(y.max())
    (12, 20, 0.0, 4.0)
    """
    from scipy.stats import norm

    rng = check_random_state(random_state)
    low, high = (int(v) for v in items_per_query)
    if not 1 <= low <= high:
        raise ValueError(
            f"items_per_query must be (low, high) with 1 <= low <= high; got "
            f"{items_per_query!r}."
        )
    if int(n_levels) < 2:
        raise ValueError(f"n_levels must be >= 2; got {n_levels!r}.")
    if int(n_queries) < 1 or int(n_features) < 1 or int(n_query_features) < 0:
        raise ValueError(
            "n_queries and n_features must be >= 1 and n_query_features >= 0; got "
            f"{n_queries!r}, {n_features!r}, {n_query_features!r}."
        )
    d, dq = int(n_features), int(n_query_features)
    w = rng.normal(size=d) / np.sqrt(d)
    v = rng.normal(size=d) / np.sqrt(d)
    U = rng.normal(size=(d, dq)) / np.sqrt(d)
    # Grade cuts: z-scores above these quantiles of N(0, 1) climb one grade.
    cuts = norm.ppf(np.linspace(0.5, 0.97, int(n_levels) - 1))
    sizes = rng.randint(low, high + 1, size=int(n_queries))
    X_parts, y_parts = [], []
    for size in sizes:
        c = rng.normal(size=dq)
        x = rng.normal(size=(size, d))
        u = x @ w + 0.5 * np.sin(3 * x @ v) + (x @ U) @ c
        u = u + noise * rng.normal(size=size)
        z = (u - u.mean()) / (u.std() + 1e-12)
        grade = np.searchsorted(cuts, z, side="right").astype(np.float64)
        if size >= 2 and np.all(grade == grade[0]):
            grade[np.argmax(u)] += 1.0 if grade[0] < n_levels - 1 else 0.0
            grade[np.argmin(u)] -= 1.0 if grade[0] > 0 else 0.0
        if heavy_tailed:
            x = x.copy()
            x[:, : d // 2] = np.exp(2 * x[:, : d // 2])
        X_parts.append(np.hstack([x, np.tile(c, (size, 1))]))
        y_parts.append(grade)
    qid = np.repeat(np.arange(int(n_queries)), sizes)
    return np.vstack(X_parts), np.concatenate(y_parts), qid


#: Shape kinds :func:`make_segmentation_shapes` draws.
SHAPE_KINDS = ("ring", "curve", "blob")


def _check_count(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int; got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}; got {value!r}.")
    return int(value)


def _check_nonneg(name, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number >= 0; got {value!r}.") from None
    if not value >= 0 or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
    return value


def _ring(yy, xx, size, rng):
    """An annulus: a shape with one hole (Betti numbers 1 and 1)."""
    r_out = max(rng.uniform(0.18, 0.32) * size, 2.9)
    width = rng.uniform(max(1.5, 0.06 * size), max(1.6, 0.12 * size))
    r_in = max(r_out - width, 1.2)
    cy, cx = (rng.uniform(r_out, size - 1 - r_out) for _ in range(2))
    dist = np.hypot(yy - cy, xx - cx)
    return (dist <= r_out) & (dist > r_in)


def _curve(yy, xx, size, rng):
    """A thin quadratic Bezier curve, about two pixels wide (4-connected)."""
    p0, p1, p2 = rng.uniform(0.1 * size, 0.9 * (size - 1), size=(3, 2))
    t = np.linspace(0.0, 1.0, 8 * size)[:, None]
    points = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    mask = np.zeros(yy.shape, dtype=bool)
    half = rng.uniform(0.75, 1.0)
    for py, px in points:
        mask |= (np.abs(yy - py) <= half) & (np.abs(xx - px) <= half)
    return mask


def _blob(yy, xx, size, rng):
    """A filled ellipse."""
    a, b = rng.uniform(0.08, 0.2, size=2) * size + 1.0
    theta = rng.uniform(0, np.pi)
    cy, cx = (rng.uniform(max(a, b), size - 1 - max(a, b)) for _ in range(2))
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(theta) + dy * np.sin(theta)
    v = -dx * np.sin(theta) + dy * np.cos(theta)
    return (u / a) ** 2 + (v / b) ** 2 <= 1.0


_DRAW = {"ring": _ring, "curve": _curve, "blob": _blob}


def make_segmentation_shapes(
    n_samples=100,
    size=32,
    *,
    n_shapes=3,
    kinds=SHAPE_KINDS,
    noise=0.3,
    blur=1.0,
    random_state=None,
):
    """Generated grey images of shapes and their binary segmentation masks.

    Each image holds ``n_shapes`` shapes whose kinds are drawn uniformly from
    ``kinds`` (the first shape cycles through ``kinds`` so that every kind
    occurs): rings (annuli: a shape with a hole, Betti numbers
    :math:`\\beta_0 = \\beta_1 = 1`), thin curves (quadratic Bezier curves
    about two pixels wide, which noise easily breaks) and blobs (filled
    ellipses). Shapes may overlap (a blob may fill a ring's hole, a curve may
    cut it in two). The mask is their union; the image is the mask, each
    shape at a brightness drawn from ``[0.6, 1]``, smoothed by a Gaussian
    filter of width ``blur`` pixels, plus Gaussian noise of standard
    deviation ``noise``:

    .. math:: X = G_{blur} * \\sum_k a_k M_k + \\sigma\\,\\varepsilon.

    A test bed for segmentation losses that care about topology (holes and
    thin connections), as the synthetic data of the Betti-matching paper.

    Parameters
    ----------
    n_samples : int, default=100
        Number of images.
    size : int, default=32
        Height and width of an image (``>= 8``).
    n_shapes : int, default=3
        Shapes per image (``>= 1``).
    kinds : sequence of {"ring", "curve", "blob"}, default=SHAPE_KINDS
        The kinds of shape drawn.
    noise : float, default=0.3
        Standard deviation of the additive Gaussian noise (``>= 0``).
    blur : float, default=1.0
        Standard deviation, in pixels, of the Gaussian filter applied to the
        clean image before the noise (``0``: none).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 1, size, size)
        The noisy images (float64, one channel).
    masks : ndarray of shape (n_samples, size, size)
        The segmentation masks (int64, 0 or 1).

    See Also
    --------
    load_noisy_digits : Noisy and clean 8x8 digits, for denoising.

    Examples
    --------
    >>> from sklearn_losses.datasets import make_segmentation_shapes
    >>> X, masks = make_segmentation_shapes(4, size=16, random_state=0)
    >>> X.shape, masks.shape, sorted(set(masks.ravel().tolist()))
    ((4, 1, 16, 16), (4, 16, 16), [0, 1])
    """
    from scipy.ndimage import gaussian_filter

    n_samples = _check_count("n_samples", n_samples, 1)
    size = _check_count("size", size, 8)
    n_shapes = _check_count("n_shapes", n_shapes, 1)
    noise = _check_nonneg("noise", noise)
    blur = _check_nonneg("blur", blur)
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in _DRAW]
    if not kinds or bad:
        raise ValueError(
            f"kinds must be a non-empty sequence of {SHAPE_KINDS}; got {kinds!r}."
        )
    rng = check_random_state(random_state)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    X = np.empty((n_samples, 1, size, size))
    masks = np.zeros((n_samples, size, size), dtype=np.int64)
    for i in range(n_samples):
        clean = np.zeros((size, size))
        for j in range(n_shapes):
            kind = kinds[i % len(kinds)] if j == 0 else kinds[rng.randint(len(kinds))]
            shape = _DRAW[kind](yy, xx, size, rng)
            clean = np.maximum(clean, shape * rng.uniform(0.6, 1.0))
            masks[i] |= shape
        if blur > 0:
            clean = gaussian_filter(clean, blur, mode="constant")
        X[i, 0] = clean + noise * rng.normal(size=(size, size))
    return X, masks


def load_noisy_digits(*, noise=0.2, n_samples=None, random_state=None):
    """scikit-learn's 8x8 digits in ``[0, 1]``, clean and with noise.

    The clean images are ``load_digits().images / 16``; the noisy ones add
    Gaussian noise of standard deviation ``noise`` and clip to ``[0, 1]``.
    A small denoising task for image-to-image regression.

    Parameters
    ----------
    noise : float, default=0.2
        Standard deviation of the noise (``>= 0``).
    n_samples : int or None, default=None
        The first ``n_samples`` digits (all 1797 for None).
    random_state : int, RandomState instance or None, default=None
        Seed of the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, 8, 8)
        Noisy images.
    Y : ndarray of shape (n_samples, 8, 8)
        Clean images.
    digits : ndarray of shape (n_samples,)
        The digit of each image.

    Examples
    --------
    >>> from sklearn_losses.datasets import load_noisy_digits
    >>> X, Y, digits = load_noisy_digits(n_samples=10, random_state=0)
    >>> X.shape, float(Y.max()), bool((X >= 0).all() and (X <= 1).all())
    ((10, 8, 8), 1.0, True)
    """
    from sklearn.datasets import load_digits

    noise = _check_nonneg("noise", noise)
    digits = load_digits()
    Y, target = digits.images / 16.0, digits.target
    if n_samples is not None:
        n_samples = _check_count("n_samples", n_samples, 1)
        Y, target = Y[:n_samples], target[:n_samples]
    rng = check_random_state(random_state)
    X = np.clip(Y + noise * rng.normal(size=Y.shape), 0.0, 1.0)
    return X, Y, target


def make_implicit_feedback(
    n_users=300,
    n_items=200,
    *,
    n_factors=8,
    interactions_per_user=(10, 40),
    test_fraction=0.2,
    noise=0.1,
    popularity=0.5,
    concentration=2.0,
    random_state=None,
):
    """Generated implicit feedback with known preferences and injected noise.

    Users and items get latent factors :math:`p_u, q_i \\sim N(0, I_d)` and
    items a popularity :math:`b_i \\sim N(0, \\text{popularity}^2)`; the true
    preference of user ``u`` for item ``i`` is

    .. math::

        s_{ui} = p_u^\\top q_i / \\sqrt{d} + b_i .

    Each user draws a number of liked items uniformly from
    ``interactions_per_user`` and the items themselves without replacement
    with probabilities proportional to :math:`\\exp(c\\, s_{ui})`
    (``c = concentration``, by Gumbel top-k). A fraction ``test_fraction`` of
    each user's liked items (at least one for users with two or more) is held
    out as the test split of true preferences; the rest are the clean observed
    interactions. Noisy interactions are then added to the observed ones:
    random (user, item) pairs, the user drawn in proportion to its observed
    interactions and the item uniformly among the items the user does not
    like, so that a fraction ``noise`` of the returned training rows are noise
    (flagged in ``noise_mask``), as in the injected-noise experiments of PLD.

    Parameters
    ----------
    n_users : int, default=300
        Number of users (``>= 1``).
    n_items : int, default=200
        Number of items (``>= 2``).
    n_factors : int, default=8
        Dimension ``d`` of the true latent factors.
    interactions_per_user : (int, int), default=(10, 40)
        Inclusive range of liked items per user (``1 <= low <= high <
        n_items``).
    test_fraction : float, default=0.2
        Share of each user's liked items held out, in ``[0, 1)``.
    noise : float, default=0.1
        Share of noisy rows among the returned training rows, in ``[0, 1)``.
    popularity : float, default=0.5
        Standard deviation of the item popularities (``>= 0``): how much a
        popularity ranking already explains.
    concentration : float, default=2.0
        How sharply users pick their most preferred items (``>= 0``; 0 picks
        uniformly at random).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` with
        ``X`` (int64 ``(n_train, 2)`` user, item pairs, clean and noisy rows
        shuffled), ``noise_mask`` (bool ``(n_train,)``, True for the injected
        rows), ``X_test`` (int64 ``(n_test, 2)`` held-out liked pairs, none of
        them in ``X``), ``preferences`` (``(n_users, n_items)`` true
        :math:`s_{ui}`), ``user_factors``, ``item_factors``, ``item_popularity``.

    References
    ----------
    .. [1] K. Zhang, Q. Cao, Y. Wu, F. Sun, H. Shen, X. Cheng, "Personalized
       Denoising Implicit Feedback for Robust Recommender System", WWW 2025.
       https://arxiv.org/abs/2502.00348

    Examples
    --------
    >>> from sklearn_losses.datasets import make_implicit_feedback
    >>> data = make_implicit_feedback(n_users=50, n_items=60, noise=0.2, random_state=0)
    >>> data.X.shape[1], round(float(data.noise_mask.mean()), 2)
    (2, 0.2)
    """
    n_users = _check_count("n_users", n_users, 1)
    n_items = _check_count("n_items", n_items, 2)
    d = _check_count("n_factors", n_factors, 1)
    try:
        low, high = (int(v) for v in interactions_per_user)
    except (TypeError, ValueError):
        raise TypeError(
            "interactions_per_user must be a pair of ints (low, high); got "
            f"{interactions_per_user!r}."
        ) from None
    if not 1 <= low <= high < n_items:
        raise ValueError(
            "interactions_per_user must be (low, high) with 1 <= low <= high < "
            f"n_items={n_items}; got {interactions_per_user!r}."
        )
    for name, value in (("test_fraction", test_fraction), ("noise", noise)):
        if not _check_nonneg(name, value) < 1:
            raise ValueError(f"{name} must lie in [0, 1); got {value!r}.")
    popularity = _check_nonneg("popularity", popularity)
    concentration = _check_nonneg("concentration", concentration)
    rng = check_random_state(random_state)

    user_factors = rng.normal(size=(n_users, d))
    item_factors = rng.normal(size=(n_items, d))
    item_popularity = popularity * rng.normal(size=n_items)
    preferences = user_factors @ item_factors.T / np.sqrt(d) + item_popularity
    counts = rng.randint(low, high + 1, size=n_users)
    # Gumbel top-k: without replacement, proportional to exp(c * s).
    keys = concentration * preferences + rng.gumbel(size=preferences.shape)
    ranked = np.argsort(-keys, axis=1)
    liked = np.arange(n_items)[None, :] < counts[:, None]  # in rank order
    n_test = np.zeros(n_users, dtype=np.int64)
    if test_fraction > 0:
        held = np.maximum(1, np.round(test_fraction * counts)).astype(np.int64)
        n_test = np.where(counts >= 2, np.minimum(held, counts - 1), 0)
    # Which of a user's liked items are held out: a random n_test of them.
    rank_keys = np.where(liked, rng.random_sample(liked.shape), np.inf)
    order = np.argsort(np.argsort(rank_keys, axis=1), axis=1)
    test = liked & (order < n_test[:, None])
    train = liked & ~test
    user_of = np.broadcast_to(np.arange(n_users)[:, None], ranked.shape)
    X_clean = np.column_stack([user_of[train], ranked[train]]).astype(np.int64)
    X_test = np.column_stack([user_of[test], ranked[test]]).astype(np.int64)

    noise = float(noise)
    n_noisy = int(round(noise / (1.0 - noise) * len(X_clean)))
    liked_keys = np.sort(user_of[liked] * n_items + ranked[liked])
    noisy_keys = np.empty(0, dtype=np.int64)
    weights = np.bincount(X_clean[:, 0], minlength=n_users).astype(float)
    # Users who like every item but one can hold at most that one noisy pair.
    room = n_items - counts
    n_noisy = min(n_noisy, int(room[weights > 0].sum()))
    while len(noisy_keys) < n_noisy:
        need = n_noisy - len(noisy_keys)
        u = rng.choice(n_users, size=2 * need, p=weights / weights.sum())
        cand = u * n_items + rng.randint(0, n_items, size=2 * need)
        pos = np.minimum(np.searchsorted(liked_keys, cand), len(liked_keys) - 1)
        cand = cand[liked_keys[pos] != cand]
        cand = cand[~np.isin(cand, noisy_keys)]
        _, first = np.unique(cand, return_index=True)
        noisy_keys = np.concatenate([noisy_keys, cand[np.sort(first)][:need]])
    X_noisy = np.column_stack([noisy_keys // n_items, noisy_keys % n_items])
    X = np.vstack([X_clean, X_noisy.astype(np.int64)])
    noise_mask = np.arange(len(X)) >= len(X_clean)
    perm = rng.permutation(len(X))
    return Bunch(
        X=X[perm],
        noise_mask=noise_mask[perm],
        X_test=X_test,
        preferences=preferences,
        user_factors=user_factors,
        item_factors=item_factors,
        item_popularity=item_popularity,
    )
