"""Feature preprocessing for the neural estimators.

:class:`RobustScaleSmoothClip` is the numerical preprocessing of RealMLP
(Holzmüller, Grinsztajn and Steinwart, 2024): a robust centring and scaling
per feature followed by a smooth clip that bounds outliers without flattening
their order.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

__all__ = ["RobustScaleSmoothClip"]


class RobustScaleSmoothClip(TransformerMixin, OneToOneFeatureMixin, BaseEstimator):
    r"""Robust scaling with a smooth clip, the numerical preprocessing of RealMLP.

    Per feature :math:`j`, with :math:`m_j` the median of the training column
    and :math:`s_j` its inter-quantile range (the 75 % minus the 25 % quantile
    by default)::

        z = (x - m_j) / s_j
        out = z / sqrt(1 + (z / c)^2)

    The smooth clip maps :math:`\mathbb{R}` onto :math:`(-c, c)`; it is odd,
    strictly increasing and close to the identity near 0 (:math:`c = 3` by
    default), so outliers are bounded while their order is kept.

    When the inter-quantile range of a feature is 0, :math:`s_j` falls back to
    half its range, :math:`(\max_j - \min_j) / 2`; when that is 0 too (a
    constant feature) the feature is mapped to 0.

    Parameters
    ----------
    quantile_range : tuple of float, default=(25.0, 75.0)
        Lower and upper quantiles, in percent (``0 <= q_min < q_max <= 100``),
        whose difference is the scale :math:`s_j`.
    clip : float, default=3.0
        Bound :math:`c > 0` of the smooth clip; ``float("inf")`` disables the
        clip (plain robust scaling).
    copy : bool, default=True
        Whether :meth:`transform` works on a copy; ``False`` transforms a float
        ndarray in place where possible.

    Attributes
    ----------
    center_ : ndarray of shape (n_features_in_,)
        Median of each feature in the training data.
    scale_ : ndarray of shape (n_features_in_,)
        Scale :math:`s_j` of each feature; 0 for a constant feature (which is
        mapped to 0).
    n_features_in_ : int
        Number of features seen during :meth:`fit`.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during :meth:`fit`, when ``X`` has string
        column names.

    Notes
    -----
    Missing values (NaN) are ignored in :meth:`fit` and kept as NaN in
    :meth:`transform`, as in scikit-learn's scalers; a feature that is NaN on
    every training row gets ``center_ = 0`` and ``scale_ = 0``.

    References
    ----------
    D. Holzmüller, L. Grinsztajn and I. Steinwart, "Better by default: Strong
    pre-tuned MLPs and boosted trees on tabular data", NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.preprocessing import RobustScaleSmoothClip
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [1000.0]])
    >>> scaler = RobustScaleSmoothClip().fit(X)
    >>> scaler.center_, scaler.scale_
    (array([3.]), array([2.]))
    >>> np.round(scaler.transform(X).ravel(), 3)
    array([-0.949, -0.493,  0.   ,  0.493,  3.   ])
    """

    def __init__(self, quantile_range=(25.0, 75.0), clip=3.0, copy=True):
        self.quantile_range = quantile_range
        self.clip = clip
        self.copy = copy

    def _check_params(self):
        q = self.quantile_range
        if (
            not isinstance(q, (tuple, list))
            or len(q) != 2
            or not all(isinstance(v, numbers.Real) for v in q)
            or not 0 <= q[0] < q[1] <= 100
        ):
            raise ValueError(
                "quantile_range must be a pair (q_min, q_max) of percents with "
                f"0 <= q_min < q_max <= 100; got {q!r}."
            )
        if (
            not isinstance(self.clip, numbers.Real)
            or isinstance(self.clip, bool)
            or not self.clip > 0
        ):
            raise ValueError(
                "clip must be a number > 0 (float('inf') for no clip); "
                f"got {self.clip!r}."
            )

    def fit(self, X, y=None, sample_weight=None):
        """Compute the median and scale of each feature.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN values are ignored.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights: the quantiles are those of the data with
            each row repeated by its weight (an integer weight equals repeating
            the row, a zero weight equals dropping it).

        Returns
        -------
        self : RobustScaleSmoothClip
            The fitted transformer.
        """
        self._check_params()
        X = validate_data(
            self, X, dtype=FLOAT_DTYPES, ensure_all_finite="allow-nan", reset=True
        )
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if np.any(weight < 0) or not np.all(np.isfinite(weight)):
            raise ValueError("sample_weight must be finite and >= 0.")
        q_min, q_max = (float(v) / 100.0 for v in self.quantile_range)
        n_features = X.shape[1]
        center, scale = np.zeros(n_features), np.zeros(n_features)
        for j in range(n_features):
            keep = ~np.isnan(X[:, j]) & (weight > 0)
            if not keep.any():  # NaN (or weightless) on every row
                continue
            order = np.argsort(X[keep, j], kind="stable")
            values, w = X[keep, j][order].astype(np.float64), weight[keep][order]
            low, median, high = _weighted_quantiles(values, w, (q_min, 0.5, q_max))
            center[j] = median
            scale[j] = high - low if high > low else 0.5 * (values[-1] - values[0])
        self.center_ = center
        self.scale_ = scale
        return self

    def transform(self, X):
        """Centre, scale and smoothly clip ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to transform; NaN values stay NaN.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_features)
            Transformed data, in ``(-clip, clip)``.
        """
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            dtype=FLOAT_DTYPES,
            ensure_all_finite="allow-nan",
            copy=self.copy,
            reset=False,
        )
        positive = self.scale_ > 0
        factor = np.zeros_like(self.scale_)
        factor[positive] = 1.0 / self.scale_[positive]
        X -= self.center_.astype(X.dtype, copy=False)
        X *= factor.astype(X.dtype, copy=False)
        if np.isfinite(self.clip):
            # hypot(1, u) = sqrt(1 + u^2) without overflow for huge u
            X /= np.hypot(1.0, X / self.clip)
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _weighted_quantiles(values, weight, quantiles):
    """Quantiles of sorted ``values`` with each value repeated ``weight`` times
    (numpy's default "linear" method on the repeated data; real weights
    extend it: the data have ``N = sum(weight)`` positions, value ``i``
    covering positions ``[C_{i-1}, C_i)`` of the cumulative weights ``C``)."""
    cumulative = np.cumsum(weight)
    last = len(values) - 1
    out = []
    for q in quantiles:
        h = q * max(cumulative[-1] - 1.0, 0.0)
        below = np.floor(h)
        i = min(np.searchsorted(cumulative, below, side="right"), last)
        j = min(np.searchsorted(cumulative, below + 1.0, side="right"), last)
        out.append(values[i] + (h - below) * (values[j] - values[i]))
    return out
