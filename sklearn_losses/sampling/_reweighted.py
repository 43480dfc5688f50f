"""``Reweighted``: fit any estimator with the weights of a reweighter."""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _num_samples,
    check_is_fitted,
    has_fit_parameter,
)

from ._dataset_equity import DatasetEquityReweighter, check_user_weights

__all__ = ["Reweighted", "apply_reweighter"]


def _estimator_has(attr):
    """``available_if`` check: the fitted (else the unfitted) estimator has attr."""

    def check(self):
        if hasattr(self, "estimator_"):
            getattr(self.estimator_, attr)
        else:
            getattr(self.estimator, attr)
        return True

    return check


def _needs_likelihood(estimator):
    """Whether ``estimator`` has a ``loss`` parameter whose loss requires
    ``likelihood`` (e.g. ``LossClassifier(loss="generalized_focal")``)."""
    try:
        loss = estimator.get_params(deep=False).get("loss")
    except (AttributeError, TypeError):
        return False
    if loss is None:
        return False
    from ..losses import get_loss_class

    try:
        cls = get_loss_class(loss)
    except (TypeError, ValueError):
        return False
    return "likelihood" in tuple(getattr(cls, "requires", ()))


def apply_reweighter(reweighter, X, y, sample_weight, fit_params, use_likelihood):
    """Fit a clone of ``reweighter`` on ``X, y`` and fold its output into the
    inputs of an estimator's ``fit``.

    Returns ``(fitted reweighter, sample weights, fit params)``. With
    ``use_likelihood`` (the estimator's loss takes the likelihood) the fit
    params get ``likelihood=reweighter_.likelihood_`` and the weights are the
    user's alone; otherwise the weights are ``weights_`` times the user's
    ``sample_weight`` (never replacing them). The weights are float64, or
    ``None`` when there are none.
    """
    if not hasattr(reweighter, "fit"):
        raise ValueError(
            f"reweighter must be an estimator with fit; got {reweighter!r}."
        )
    if use_likelihood and "likelihood" in fit_params:
        raise ValueError(
            "The reweighter computes `likelihood`; do not also pass likelihood= "
            "to fit (drop the reweighter to use your own)."
        )
    reweighter_ = clone(reweighter).fit(X, y)
    if not hasattr(reweighter_, "weights_"):
        raise ValueError(
            f"reweighter {type(reweighter).__name__} has no weights_ after fit."
        )
    n = _num_samples(X)
    raw = np.asarray(reweighter_.weights_, dtype=np.float64)
    if raw.shape != (n,) or not np.all(np.isfinite(raw)) or np.any(raw < 0):
        raise ValueError(
            f"reweighter {type(reweighter).__name__} must give one finite, "
            f"non-negative weight per sample ({n}); got shape {raw.shape}."
        )
    if sample_weight is not None:
        sample_weight = check_user_weights(sample_weight, np.empty((n, 0)))
    fit_params = dict(fit_params)
    if use_likelihood:
        if not hasattr(reweighter_, "likelihood_"):
            raise ValueError(
                "The estimator's loss needs the likelihood, but reweighter "
                f"{type(reweighter).__name__} has no likelihood_."
            )
        fit_params["likelihood"] = reweighter_.likelihood_
        return reweighter_, sample_weight, fit_params
    weight = raw if sample_weight is None else raw * sample_weight
    if not weight.sum() > 0:
        raise ValueError(
            "The reweighter's weights (times sample_weight) sum to zero: nothing "
            "to train on."
        )
    return reweighter_, weight, fit_params


class Reweighted(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator with sample weights computed from the training data.

    ``fit(X, y)`` fits a clone of ``reweighter`` on ``X`` (and ``y``), multiplies
    its ``weights_`` into the user's ``sample_weight`` (never replacing them)
    and fits a clone of ``estimator`` with ``sample_weight=`` the product. The
    weights are recomputed on every training set, so cross-validation and grid
    searches stay fold-safe, and both parts are searchable as
    ``estimator__<param>`` and ``reweighter__<param>``. Prediction methods are
    those of the fitted ``estimator_``.

    A scikit-learn ``Pipeline`` cannot hand weights from one step to the next
    (its steps return only ``X``); this meta-estimator is the way to do that. To
    reweight by resampling instead, put a
    :class:`~sklearn_losses.sampling.DatasetEquityReweighter` in an
    :class:`imblearn.pipeline.Pipeline`.

    **Losses that take the likelihood.** When ``estimator`` has a ``loss``
    parameter whose loss requires ``likelihood`` (``LossClassifier`` with
    ``loss="generalized_focal"``, :class:`~sklearn_losses.losses.\
dataset_equity.DEquityWeightedLoss`), the loss applies :math:`w(p)` itself:
    ``likelihood=reweighter_.likelihood_`` is passed to ``fit`` instead of the
    weights, and ``sample_weight`` is the user's alone. The weighting then uses
    the loss's ``eta``/``gamma`` (``estimator__loss__eta``), not the
    reweighter's; the reweighter only provides the likelihood.

    Parameters
    ----------
    estimator : estimator
        Its ``fit`` must accept ``sample_weight`` (unless it takes
        ``likelihood``, see above).
    reweighter : estimator with ``weights_`` after ``fit``, default=None
        ``None``: ``DatasetEquityReweighter()``. Pass an instance to search its
        parameters (``reweighter__gamma``): with ``None`` there is none to set.
        Any estimator whose ``fit(X, y)`` sets ``weights_`` (one non-negative
        weight per row) works; ``likelihood_`` is needed for the likelihood
        losses only.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    reweighter_ : estimator
        The fitted clone of ``reweighter``.
    sample_weight_ : ndarray of shape (n_samples,) or None
        The weights ``estimator_`` was fitted with (``None`` when it received
        the likelihood and no user weights).
    classes_ : ndarray of shape (n_classes,)
        ``estimator_.classes_`` (classifiers).
    n_features_in_ : int
        ``estimator_.n_features_in_``, where it has one.

    See Also
    --------
    DatasetEquityReweighter : the default reweighter.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_losses.sampling import DatasetEquityReweighter, Reweighted
    >>> X, y = make_classification(n_samples=100, random_state=0)
    >>> clf = Reweighted(LogisticRegression(), DatasetEquityReweighter(reducer="pca"))
    >>> clf.fit(X, y).predict(X[:4]).shape
    (4,)
    >>> clf.sample_weight_.shape
    (100,)
    """

    def __init__(self, estimator, reweighter=None):
        self.estimator = estimator
        self.reweighter = reweighter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit the reweighter on ``X``, then the estimator with its weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training features.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            User weights, multiplied by the reweighter's.
        **fit_params : dict
            Passed to ``estimator.fit``.

        Returns
        -------
        self : Reweighted

        Examples
        --------
        >>> from sklearn.datasets import make_classification
        >>> from sklearn.linear_model import LogisticRegression
        >>> from sklearn_losses.sampling import DatasetEquityReweighter, Reweighted
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> rw = DatasetEquityReweighter(reducer="pca", gamma=0.0)  # weights of 1
        >>> clf = Reweighted(LogisticRegression(), rw).fit(X, y, sample_weight=2 * y)
        >>> sorted(set(clf.sample_weight_.tolist()))
        [0.0, 2.0]
        """
        if not hasattr(self.estimator, "fit"):
            raise ValueError(
                f"estimator must be an estimator with fit; got {self.estimator!r}."
            )
        use_likelihood = _needs_likelihood(self.estimator)
        if not use_likelihood and not has_fit_parameter(
            self.estimator, "sample_weight"
        ):
            raise ValueError(
                f"{type(self.estimator).__name__}.fit does not accept "
                "sample_weight, so Reweighted cannot pass it the weights."
            )
        reweighter = self.reweighter
        if reweighter is None:
            reweighter = DatasetEquityReweighter()
        reweighter_, weight, fit_params = apply_reweighter(
            reweighter, X, y, sample_weight, fit_params, use_likelihood
        )
        if weight is not None:
            fit_params["sample_weight"] = weight

        self.reweighter_ = reweighter_
        self.sample_weight_ = weight
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self.estimator_, attr):
                setattr(self, attr, getattr(self.estimator_, attr))
        return self

    @property
    def classes_(self):
        """Class labels of the fitted estimator."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.classes_

    @available_if(_estimator_has("predict"))
    def predict(self, X, **params):
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        **params : dict
            Passed to ``estimator_.predict``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X, **params)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        check_is_fitted(self, "estimator_")
        return self.estimator_.decision_function(X)

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None):
        """Score of the fitted estimator (its own ``score``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the score (the reweighter's weights are not used).

        Returns
        -------
        float
        """
        check_is_fitted(self, "estimator_")
        if sample_weight is None:
            return self.estimator_.score(X, y)
        return self.estimator_.score(X, y, sample_weight=sample_weight)
