"""A user's table for ``compare``: reading it, its target (class labels with a
positive class, or a number to predict) and the preprocessing fitted inside
each fold.

pandas (and pyarrow for Parquet) are optional dependencies of the ``compare``
extra; they are imported when needed, with an error that says how to install
them.
"""

from __future__ import annotations

import difflib
import importlib
from pathlib import Path

import numpy as np

__all__ = [
    "COMPARE_EXTRA",
    "MAX_CATEGORIES",
    "MAX_FLOAT_CLASSES",
    "binary_target",
    "check_target",
    "class_target",
    "looks_continuous",
    "make_preprocessor",
    "prepare_features",
    "read_table",
    "regression_target",
    "require",
    "split_target",
]

#: How to install the optional dependencies of ``compare``.
COMPARE_EXTRA = 'pip install "sklearn-losses[compare]"'

#: One-hot columns kept per categorical feature; rarer categories share one column.
MAX_CATEGORIES = 20

_COMPRESSION = {".gz", ".bz2", ".zip", ".xz", ".zst", ".tar"}
_KINDS = {".csv": "CSV", ".tsv": "TSV", ".tab": "TSV", ".parquet": "Parquet"}
_KINDS[".pq"] = "Parquet"
_SEPARATORS = (";", "\t", "|", ",")

#: A float target with more distinct values than this, not all whole numbers,
#: looks continuous (a regression target), not like class labels
#: (see :func:`looks_continuous`).
MAX_FLOAT_CLASSES = 20


def require(module):
    """Import an optional dependency of ``compare``, or say how to install it.

    Examples
    --------
    >>> from sklearn_losses._tables import require
    >>> require("numpy").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        package = module.split(".")[0]
        raise ImportError(
            f"sklearn-losses compare needs {package!r}, which is not installed: "
            f"{COMPARE_EXTRA}"
        ) from exc


def read_table(path):
    """Read a CSV, TSV or Parquet file into a DataFrame, by its extension.

    CSV and TSV may be compressed (``.csv.gz``, ``.tsv.zip``, ...). A ``.csv``
    is read with commas and a ``.tsv`` with tabs; when that gives a single
    column whose name holds another separator (``;``, tab, ``|`` or ``,``), the
    file is read again with the separator its header line holds most of, and
    ``attrs["separator"]`` of the result names it.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    pandas.DataFrame
        ``attrs["separator"]`` is set when the separator was detected.

    Raises
    ------
    ValueError
        For a missing file, an unknown extension, a file the reader cannot
        parse, or a table without rows.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn_losses._tables import read_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("a,b\\n1,x\\n2,y\\n")
    >>> read_table(path).shape
    (2, 2)
    """
    pd = require("pandas")
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in _COMPRESSION:
        suffixes.pop()
    kind = _KINDS.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise ValueError(
            f"Cannot read {str(path)!r}: unknown file type; expected .csv, .tsv or "
            ".parquet (CSV and TSV may be compressed, e.g. .csv.gz)."
        )
    if not path.is_file():
        raise ValueError(f"Cannot read {str(path)!r}: no such file.")
    if kind == "Parquet":
        require("pyarrow")

    def read(sep=None):
        try:
            if kind == "Parquet":
                return pd.read_parquet(path)
            return pd.read_csv(path, sep=sep)
        except ImportError:
            raise
        except Exception as exc:  # the readers raise many types; one message
            what = kind if sep is None else f"{kind} separated by {sep!r}"
            raise ValueError(
                f"Cannot read {str(path)!r} as {what}: {type(exc).__name__}: {exc}"
            ) from exc

    if kind == "Parquet":
        frame = read()
    else:
        sep = "," if kind == "CSV" else "\t"
        frame = read(sep)
        other = _other_separator(frame.columns, sep)
        if other is not None:
            frame = read(other)
            frame.attrs["separator"] = other
    if frame.shape[0] == 0:
        raise ValueError(f"{str(path)!r} holds no rows.")
    return frame


def _other_separator(columns, sep):
    """The separator a single column's name holds most of, other than ``sep``;
    ``None`` when there are several columns or no such character."""
    if len(columns) != 1:
        return None
    name = str(columns[0])
    counts = {c: name.count(c) for c in _SEPARATORS if c != sep}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def split_target(frame, target):
    """Split a table into features and the target column (or columns).

    Rows whose target is missing (in any target column) are dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
    target : str or list of str
        Name of the target column, or the names of several (a multi-label
        target: one column per label).

    Returns
    -------
    X : pandas.DataFrame
        The other columns.
    y : ndarray of shape (n_rows,) or pandas.DataFrame of shape \
(n_rows, n_targets)
        The target column; the target columns for a list.
    n_dropped : int
        Number of rows dropped for a missing target.

    Raises
    ------
    ValueError
        When a ``target`` is not a column (the message lists the columns) or
        is given twice, all its values are missing (or, for several, no row
        has them all), or no feature column is left.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_losses._tables import split_target
    >>> X, y, n_dropped = split_target(pd.DataFrame({"a": [1, 2], "t": [0, 1]}), "t")
    >>> list(X.columns), y.tolist(), n_dropped
    (['a'], [0, 1], 0)
    """
    columns = [str(c) for c in frame.columns]
    names = [target] if isinstance(target, str) else list(target)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"Target column {twice[0]!r} is given twice.")
    for name in names:
        if name not in frame.columns:
            close = difflib.get_close_matches(str(name), columns, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            shown = ", ".join(columns[:40]) + (", ..." if len(columns) > 40 else "")
            raise ValueError(
                f"Target column {name!r} is not in the table.{hint} "
                f"Columns ({len(columns)}): {shown}."
            )
        if frame[name].isna().all():
            raise ValueError(
                f"Target column {name!r} is empty: all its {len(frame)} values "
                "are missing."
            )
    missing = frame[names].isna().any(axis=1).to_numpy()
    if missing.all():
        raise ValueError(
            f"No row has a value in every target column ({', '.join(names)})."
        )
    kept = frame.loc[~missing]
    X = kept.drop(columns=names).reset_index(drop=True)
    if X.shape[1] == 0:
        shown = ", ".join(repr(name) for name in names)
        raise ValueError(f"The table has no feature column besides {shown}.")
    if isinstance(target, str):
        return X, kept[target].to_numpy(), int(missing.sum())
    return X, kept[names].reset_index(drop=True), int(missing.sum())


def check_target(y):
    """The target as a 1-D array, refused when it is empty or has missing values.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,)

    Raises
    ------
    ValueError
        For a target that is not one column, is empty, or has missing values.

    Examples
    --------
    >>> from sklearn_losses._tables import check_target
    >>> check_target([1.5, 2.0]).tolist()
    [1.5, 2.0]
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"The target must be one column; got shape {y.shape}.")
    missing = require("pandas").isna(y)
    if missing.all():
        raise ValueError(
            f"The target is empty: all its {len(y)} values are missing."
            if len(y)
            else "The target is empty (0 rows)."
        )
    if missing.any():
        raise ValueError(
            f"The target has {int(missing.sum())} missing values in {len(y)} rows; "
            "leave those rows out (the command line does)."
        )
    return y


def looks_continuous(y):
    """Whether a target looks like a quantity to predict rather than class labels.

    It does when it holds floats (a float column, or what scikit-learn's
    ``type_of_target`` calls ``"continuous"``) with more than
    :data:`MAX_FLOAT_CLASSES` distinct values: a few float values such as
    ``0.5`` and ``1.5`` are taken for class labels, and an integer column is
    class labels however many values it has (``--task regression`` says
    otherwise).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses._tables import looks_continuous
    >>> looks_continuous(np.linspace(0, 1, 50))
    True
    >>> looks_continuous(np.array([0.5, 1.5, 0.5])), looks_continuous(np.arange(50))
    (False, False)
    >>> looks_continuous(np.arange(50.0))  # e.g. prices in whole units
    True
    """
    from sklearn.utils.multiclass import type_of_target

    y = np.asarray(y)
    try:
        kind = type_of_target(y)
    except ValueError:  # labels of mixed types: not continuous
        return False
    floats = kind == "continuous" or y.dtype.kind == "f"
    return floats and len(np.unique(y)) > MAX_FLOAT_CLASSES


def class_target(y):
    """Check a target of class labels: at least two classes, not continuous.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    y : ndarray of shape (n_samples,)
        The labels, unchanged.
    classes : ndarray
        The sorted classes.
    counts : ndarray
        Rows per class.

    Raises
    ------
    ValueError
        For an empty target or one with missing values (see
        :func:`check_target`), a target that looks continuous (see
        :func:`looks_continuous`) or a target with one class.

    Examples
    --------
    >>> from sklearn_losses._tables import class_target
    >>> class_target(["b", "a", "b"])[1:]
    (array(['a', 'b'], dtype='<U1'), array([1, 2]))
    """
    y = check_target(y)
    classes, counts = np.unique(y, return_counts=True)
    if looks_continuous(y):
        low, high = float(classes[0]), float(classes[-1])
        raise ValueError(
            f"The target looks continuous: float values, {len(classes)} distinct "
            f"in {len(y)} rows, from {low:.4g} to {high:.4g}. Binary and "
            "multiclass comparisons need class labels: compare it as a "
            "regression target (task 'regression' or 'auto'), or bin it into "
            "classes."
        )
    if len(classes) < 2:
        raise ValueError(
            f"The target has a single class ({_plain(classes[0])!r}, {len(y)} "
            "rows): there is nothing to compare; it needs rows of at least two "
            "classes."
        )
    return y, classes, counts


def binary_target(y, pos_label=None):
    """Check the target and encode a binary one as 0/1 with 1 the positive class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    pos_label : None or label, default=None
        The positive class of a binary target; ``None`` takes the minority class
        (the second class in sorted order on a tie). A string matches a label of
        another type by its text (``"1"`` matches ``1``, ``"yes"`` matches
        ``"yes"``).

    Returns
    -------
    y_out : ndarray
        0/1 for a binary target; the labels unchanged for more classes.
    pos_label : label or None
        The positive class (``None`` for more than two classes).

    Raises
    ------
    ValueError
        For a target :func:`class_target` refuses, ``pos_label`` not a class,
        or ``pos_label`` with more than two classes.

    Examples
    --------
    >>> from sklearn_losses._tables import binary_target
    >>> binary_target(["no", "no", "yes"])
    (array([0, 0, 1]), 'yes')
    >>> binary_target(["no", "no", "yes"], pos_label="no")[0]
    array([1, 1, 0])
    """
    y, classes, counts = class_target(y)
    if len(classes) > 2:
        if pos_label is not None:
            raise ValueError(
                "A positive class applies to a binary target; this one has "
                f"{len(classes)} classes: {_list(classes)}."
            )
        return y, None
    if pos_label is None:
        positive = classes[1] if counts[0] == counts[1] else classes[np.argmin(counts)]
    else:
        matches = [c for c in classes if _same_label(c, pos_label)]
        if not matches:
            raise ValueError(
                f"Positive class {pos_label!r} is not in the target; its classes "
                f"are {_list(classes)}."
            )
        positive = matches[0]
    return (y == positive).astype(np.int64), _plain(positive)


def regression_target(y):
    """Check a target to predict as a number and return it as floats.

    Parameters
    ----------
    y : array-like of shape (n_samples,)

    Returns
    -------
    ndarray of shape (n_samples,), dtype float64

    Raises
    ------
    ValueError
        For an empty target or one with missing values (see
        :func:`check_target`), values that are not numbers, infinite values, or
        a constant target.

    Examples
    --------
    >>> from sklearn_losses._tables import regression_target
    >>> regression_target([3, 1.5, "2"]).tolist()
    [3.0, 1.5, 2.0]
    """
    y = check_target(y)
    try:
        values = y.astype(np.float64)
    except (TypeError, ValueError):
        example = next(v for v in y if not _is_number(v))
        raise ValueError(
            "Task 'regression' needs a numeric target; this one holds values "
            f"that are not numbers, e.g. {_plain(example)!r}. For class labels "
            "use task 'auto', 'binary' or 'multiclass'."
        ) from None
    if not np.isfinite(values).all():
        raise ValueError(
            f"The target has {int((~np.isfinite(values)).sum())} infinite values; "
            "a regression target must be finite."
        )
    if values.min() == values.max():
        raise ValueError(
            f"The target is constant ({values[0]:.4g} in all {len(values)} rows): "
            "there is nothing to compare."
        )
    return values


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _same_label(label, text):
    if label == text or str(label) == str(text):
        return True
    try:
        return float(label) == float(text)
    except (TypeError, ValueError):
        return False


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _list(classes):
    return ", ".join(repr(_plain(c)) for c in classes)


def prepare_features(X):
    """A DataFrame with string column names, numeric and categorical columns split.

    Columns that are not numeric (strings, categories, booleans, dates) are
    categorical: their values become strings, missing values ``NaN``. This is a
    per-row conversion, fitted on nothing, so it is safe before splitting folds.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)

    Returns
    -------
    X : pandas.DataFrame
    numeric : list of str
    categorical : list of str

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_losses._tables import prepare_features
    >>> _, numeric, categorical = prepare_features(
    ...     pd.DataFrame({"age": [30, 41], "plan": ["a", "b"], "vip": [True, False]}))
    >>> numeric, categorical
    (['age'], ['plan', 'vip'])
    """
    pd = require("pandas")
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    if isinstance(X, pd.DataFrame):
        X = X.copy()
        X.columns = [str(c) for c in X.columns]
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional; got shape {X.shape}.")
        X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    if X.columns.duplicated().any():
        duplicated = sorted(set(X.columns[X.columns.duplicated()]))
        raise ValueError(f"Duplicated column names: {', '.join(duplicated)}.")
    numeric, categorical = [], []
    for name in X.columns:
        column = X[name]
        if is_numeric_dtype(column) and not is_bool_dtype(column):
            X[name] = column.astype(np.float64)
            numeric.append(name)
        else:
            text = [np.nan if pd.isna(v) else str(v) for v in column.to_numpy()]
            X[name] = pd.Series(text, index=X.index, dtype=object)
            categorical.append(name)
    return X, numeric, categorical


def make_preprocessor(numeric, categorical):
    """The per-fold preprocessing: impute and scale numbers, impute and one-hot
    encode categories.

    Numeric columns: median imputation and standard scaling. Categorical
    columns: most-frequent imputation and one-hot encoding (categories unseen
    in training are ignored; beyond :data:`MAX_CATEGORIES` per column the rarest
    share one column).

    Examples
    --------
    >>> from sklearn_losses._tables import make_preprocessor
    >>> [name for name, _, _ in make_preprocessor(["age"], ["plan"]).transformers]
    ['numeric', 'categorical']
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    transformers = []
    if numeric:
        steps = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        transformers.append(("numeric", steps, list(numeric)))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="ignore",
            sparse_output=False,
            max_categories=MAX_CATEGORIES,
        )
        steps = make_pipeline(SimpleImputer(strategy="most_frequent"), encoder)
        transformers.append(("categorical", steps, list(categorical)))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
