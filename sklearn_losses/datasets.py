"""Datasets that load offline: imbalanced tables built from scikit-learn's
bundled data, and generated ranking data."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.decomposition import PCA
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "load_imbalanced_breast_cancer",
    "make_anyloss_random",
    "make_ranking",
    "DEFAULT_DATASET",
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
