"""Imbalanced datasets that load offline (built from scikit-learn's bundled data)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.decomposition import PCA
from sklearn.utils import Bunch

__all__ = ["load_imbalanced_breast_cancer", "make_anyloss_random", "DEFAULT_DATASET"]

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
