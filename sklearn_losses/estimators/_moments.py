"""A cheap summary of the training inputs, kept by every fitted estimator.

:func:`input_moments` records the per-feature mean and standard deviation of
``X`` (and, for narrow tables, the covariance), overall and per class when the
target holds classes. Post-hoc tools that edit a fitted network without its
training data (:mod:`sklearn_losses.modification`) draw synthetic reference
inputs from it. The estimators store it as the private attribute
``_input_moments`` at the end of ``fit``'s data preparation; it reads at most
:data:`MAX_ROWS` rows (at an even stride) overall and per class.
"""

from __future__ import annotations

import numpy as np

__all__ = ["input_moments", "COVARIANCE_MAX_FEATURES"]

#: Widest input (flattened features) whose covariance matrices are stored;
#: wider inputs keep per-feature variances only.
COVARIANCE_MAX_FEATURES = 64

#: At most this many covariance entries are stored over all classes.
_COVARIANCE_BUDGET = 2**16

#: Moments of a larger set of rows (or of a class's rows) come from this many
#: rows taken at an even stride: a bounded cost per fit, whatever the data.
MAX_ROWS = 100_000


def _rows(X, index=None):
    """At most :data:`MAX_ROWS` of the rows ``index`` (all: None) of ``X`` at an
    even stride, in float64."""
    n = X.shape[0] if index is None else len(index)
    step = -(-n // MAX_ROWS) if n > MAX_ROWS else 1
    rows = X[::step] if index is None else X[index[::step]]
    return np.array(rows, dtype=np.float64)  # a copy, centred in place


def _summary(X, covariance, index=None):
    count = int(X.shape[0] if index is None else len(index))
    X = _rows(X, index)
    n = max(X.shape[0], 1)
    mean = X.mean(axis=0)
    X -= mean  # X is our own float64 copy
    if covariance:
        cov = (X.T @ X) / n  # one product gives the variances too
        var = np.diag(cov).copy()
    else:
        var = np.einsum("ij,ij->j", X, X) / n
    out = {"mean": mean, "std": np.sqrt(np.maximum(var, 0.0)), "count": count}
    if covariance:
        out["cov"] = cov
    return out


def input_moments(X, y=None, n_classes=None):
    """Moments of the training inputs, overall and per class.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
        The inputs the network sees (flattened to one row per sample).
    y : ndarray of shape (n_samples,), default=None
        Encoded class indices in ``[0, n_classes)``; anything else (a
        continuous or multi-column target, None) gives no per-class moments.
    n_classes : int, default=None
        The number of classes of a class target.

    Returns
    -------
    dict
        ``{"mean", "std", "count"}`` (float64 arrays of shape
        ``(n_features,)``, the number of rows), ``"cov"`` of shape
        ``(n_features, n_features)`` when ``n_features <=``
        :data:`COVARIANCE_MAX_FEATURES`, and ``"classes"``: a list with one
        such dict per class (None for a class without rows), or None.

    Examples
    --------
    >>> import numpy as np
    >>> m = input_moments(np.array([[0.0], [2.0], [4.0]]), np.array([0, 0, 1]), 2)
    >>> m["mean"].tolist(), [c["mean"].tolist() for c in m["classes"]]
    ([2.0], [[1.0], [4.0]])
    """
    X = np.asarray(X).reshape(len(X), -1)
    d = X.shape[1]
    out = _summary(X, d <= COVARIANCE_MAX_FEATURES)
    out["classes"] = None
    y = None if y is None else np.asarray(y)
    if (
        n_classes is not None
        and y is not None
        and y.shape == (X.shape[0],)
        and y.dtype.kind in "iu"
        and (y.size == 0 or (y.min() >= 0 and y.max() < n_classes))
    ):
        per_class_cov = (
            d <= COVARIANCE_MAX_FEATURES and n_classes * d * d <= _COVARIANCE_BUDGET
        )
        out["classes"] = [
            _summary(X, per_class_cov, np.flatnonzero(y == k))
            if np.any(y == k)
            else None
            for k in range(n_classes)
        ]
    return out
