"""Synthetic reference inputs for data-free model modification.

A fitted estimator of the package keeps the per-feature mean and standard
deviation of its training inputs (and their covariance for tables of at most
:data:`~sklearn_losses.estimators._moments.COVARIANCE_MAX_FEATURES` columns),
overall and per class. The samplers here draw Gaussian rows from them; rows a
user passes are validated like ``predict``'s input instead.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["REFERENCES", "check_reference", "reference_rows", "generator"]

#: Names ``reference=`` accepts (besides an array of rows).
REFERENCES = ("auto", "gaussian", "class_gaussian")


def generator(random_state):
    """A numpy ``Generator`` seeded from an sklearn-style ``random_state``."""
    return np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))


def check_reference(reference, n_reference, name):
    """Check ``reference`` and ``n_reference``; return True for an array."""
    if isinstance(reference, str):
        if reference not in REFERENCES:
            raise ValueError(
                f"reference must be one of {list(REFERENCES)} or an array of rows "
                f"of shape (n_rows, n_features); got {reference!r}."
            )
        if (
            not isinstance(n_reference, numbers.Integral)
            or isinstance(n_reference, bool)
            or n_reference < 2
        ):
            raise ValueError(
                f"n_reference must be an int >= 2 (the number of synthetic rows "
                f"{name} draws); got {n_reference!r}."
            )
        return False
    if reference is None:
        raise ValueError(
            f"reference must be one of {list(REFERENCES)} or an array of rows; "
            "got None."
        )
    return True


def _moments(estimator):
    moments = getattr(estimator, "_input_moments", None)
    if moments is None:
        raise ValueError(
            f"This {type(estimator).__name__} keeps no moments of its training "
            "inputs (it was fitted by an older version); refit it, or pass "
            "reference rows as reference=X_ref."
        )
    return moments


def _draw(rng, summary, n):
    """``n`` rows from the Gaussian of ``summary`` (full covariance if kept)."""
    mean = summary["mean"]
    if "cov" in summary:
        return rng.multivariate_normal(mean, summary["cov"], size=n, method="eigh")
    return mean + summary["std"] * rng.standard_normal((n, mean.shape[0]))


def _class_summaries(estimator, name):
    classes = _moments(estimator)["classes"]
    if classes is None:
        raise ValueError(
            f"reference='class_gaussian' needs class moments, which "
            f"{type(estimator).__name__} keeps only for a class target; use "
            "reference='gaussian' or pass rows."
        )
    return classes


def reference_rows(estimator, reference, n_reference, rng, name, classes=None):
    """Reference rows, flattened to ``(n_rows, n_features)`` float32.

    ``reference``: ``"auto"`` (``"class_gaussian"`` when the estimator kept
    class moments, else ``"gaussian"``), ``"gaussian"`` (the training mean and
    covariance, or per-feature variances for wide inputs), ``"class_gaussian"``
    (a mixture of per-class Gaussians weighted by the training class counts;
    with ``classes`` (encoded indices) only those classes, equally weighted),
    or an array of rows validated as ``predict``'s input and scaled by the
    estimator's ``input_scaling``. Rows are the network's inputs: the moments
    kept at fit are those of the scaled features too.
    """
    if not isinstance(reference, str):
        try:
            X = estimator._validate_X(reference)
        except ValueError as exc:
            raise ValueError(
                f"reference rows do not fit the estimator: {exc}"
            ) from None
        # As the network sees them (after the estimator's input_scaling).
        X = estimator._scale_inputs(np.asarray(X, dtype=np.float32), refit=False)
        X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
        if len(X) < 2:
            raise ValueError(f"reference must hold at least 2 rows; got {len(X)}.")
        return X
    if reference == "auto":
        has_classes = _moments(estimator)["classes"] is not None
        reference = "class_gaussian" if has_classes else "gaussian"
    if reference == "gaussian":
        return _draw(rng, _moments(estimator), n_reference).astype(np.float32)
    summaries = _class_summaries(estimator, name)
    if classes is None:
        weights = np.array([0 if s is None else s["count"] for s in summaries], float)
    else:
        weights = np.zeros(len(summaries))
        weights[list(classes)] = 1.0
        weights[[k for k, s in enumerate(summaries) if s is None]] = 0.0
        if weights.sum() == 0:
            raise ValueError(
                f"{name}: no training rows of the requested class(es) were seen "
                "at fit; pass reference rows instead."
            )
    counts = rng.multinomial(n_reference, weights / weights.sum())
    rows = [_draw(rng, summaries[k], int(c)) for k, c in enumerate(counts) if c > 0]
    return np.concatenate(rows).astype(np.float32)
