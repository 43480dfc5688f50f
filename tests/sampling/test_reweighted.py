"""Reweighted: weights multiplied in, the likelihood losses, pipelines and grids."""

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import make_regression
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier
from sklearn_losses.sampling import DatasetEquityReweighter, Reweighted


def _rw(**params):
    return DatasetEquityReweighter(reducer="pca", **params)


class SpyClassifier(LossClassifier):
    """LossClassifier recording the keyword arguments of its fit."""

    def fit(self, X, y, sample_weight=None, **fit_params):
        self.fit_kwargs_ = {"sample_weight": sample_weight, **fit_params}
        return super().fit(X, y, sample_weight=sample_weight, **fit_params)


def test_weights_multiplied_into_user_weights(imbalanced_data):
    X, y = imbalanced_data
    user = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    clf = Reweighted(LogisticRegression(), _rw()).fit(X, y, sample_weight=user)
    w = clf.reweighter_.weights_
    assert_allclose(clf.sample_weight_, w * user)
    direct = LogisticRegression().fit(X, y, sample_weight=w * user)
    assert_allclose(clf.estimator_.coef_, direct.coef_)
    assert_allclose(clf.predict_proba(X), direct.predict_proba(X))
    # Without user weights: the reweighter's weights alone.
    clf = Reweighted(LogisticRegression(), _rw()).fit(X, y)
    assert_allclose(clf.sample_weight_, clf.reweighter_.weights_)


def test_default_reweighter_and_no_mutation(imbalanced_data):
    X, y = imbalanced_data
    rw = _rw()
    est = LogisticRegression()
    clf = Reweighted(est, rw).fit(X, y)
    assert not hasattr(rw, "weights_") and not hasattr(est, "coef_")
    assert clf.reweighter_ is not rw and clf.estimator_ is not est
    clf = Reweighted(LogisticRegression())
    assert clf.get_params()["reweighter"] is None
    with pytest.warns(UserWarning, match="noise"):  # t-SNE + DBSCAN(eps=1)
        clf.fit(X[:60], y[:60])
    assert isinstance(clf.reweighter_, DatasetEquityReweighter)


def test_delegation_and_tags(imbalanced_data):
    X, y = imbalanced_data
    clf = Reweighted(LogisticRegression(), _rw()).fit(X, y)
    assert is_classifier(clf)
    assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_features_in_ == 5
    assert clf.predict(X).shape == (len(y),)
    assert clf.predict_log_proba(X).shape == (len(y), 2)
    assert clf.decision_function(X).shape == (len(y),)
    assert 0.5 < clf.score(X, y) <= 1.0
    assert clf.score(X, y, sample_weight=np.ones(len(y))) == clf.score(X, y)
    assert not hasattr(Reweighted(DummyClassifier(), _rw()), "decision_function")
    Xr, yr = make_regression(n_samples=80, n_features=4, random_state=0)
    reg = Reweighted(Ridge(), _rw()).fit(Xr, yr)
    assert is_regressor(reg) and not is_classifier(reg)
    assert reg.predict(Xr).shape == (80,)


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        HistGradientBoostingClassifier(max_iter=10),
        LossClassifier(max_epochs=3, hidden_layer_sizes=(8,), random_state=0),
    ],
    ids=["logreg", "hgb", "loss_classifier"],
)
def test_pipeline_and_grid_search(imbalanced_data, estimator):
    X, y = imbalanced_data
    pipe = make_pipeline(StandardScaler(), Reweighted(estimator, _rw()))
    assert pipe.fit(X, y).predict(X).shape == (len(y),)
    assert pipe.predict_proba(X).shape == (len(y), 2)
    grid = GridSearchCV(pipe, {"reweighted__reweighter__gamma": [0.0, 5.0]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["reweighted__reweighter__gamma"] in (0.0, 5.0)
    assert len(grid.cv_results_["params"]) == 2
    # Fitted clones carry the searched value.
    step = grid.best_estimator_[-1]
    assert step.reweighter_.gamma == grid.best_params_["reweighted__reweighter__gamma"]


def test_pipeline_routes_user_weights(imbalanced_data):
    X, y = imbalanced_data
    user = np.linspace(0.5, 1.5, len(y))
    pipe = make_pipeline(Reweighted(LogisticRegression(), _rw()))
    pipe.fit(X, y, reweighted__sample_weight=user)
    step = pipe[-1]
    assert_allclose(step.sample_weight_, step.reweighter_.weights_ * user)


def test_metadata_routing(imbalanced_data):
    X, y = imbalanced_data
    user = np.linspace(0.5, 1.5, len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        step = Reweighted(LogisticRegression(), _rw()).set_fit_request(
            sample_weight=True
        )
        scaler = StandardScaler().set_fit_request(sample_weight=False)
        pipe = make_pipeline(scaler, step).fit(X, y, sample_weight=user)
    fitted = pipe[-1]
    assert_allclose(fitted.sample_weight_, fitted.reweighter_.weights_ * user)


def test_generalized_focal_gets_likelihood(imbalanced_data):
    X, y = imbalanced_data
    est = SpyClassifier(
        loss="generalized_focal", max_epochs=2, hidden_layer_sizes=(8,), random_state=0
    )
    clf = Reweighted(est, _rw()).fit(X, y)
    kwargs = clf.estimator_.fit_kwargs_
    assert kwargs["sample_weight"] is None and clf.sample_weight_ is None
    assert_allclose(kwargs["likelihood"], clf.reweighter_.likelihood_)
    # User weights go through unchanged (the loss applies w(p) itself).
    user = np.full(len(y), 2.0)
    clf = Reweighted(est, _rw()).fit(X, y, sample_weight=user)
    assert_allclose(clf.estimator_.fit_kwargs_["sample_weight"], user)
    assert clf.predict_proba(X).shape == (len(y), 2)
    # The alias and a plain LossClassifier in a grid over the loss's eta.
    plain = LossClassifier(
        loss="dequity_focal", max_epochs=2, hidden_layer_sizes=(8,), random_state=0
    )
    grid = GridSearchCV(
        Reweighted(plain, _rw()), {"estimator__loss__eta": [0.5, 1.0]}, cv=2
    ).fit(X, y)
    assert grid.best_estimator_.sample_weight_ is None


def test_generalized_focal_rejects_user_likelihood(imbalanced_data):
    X, y = imbalanced_data
    est = LossClassifier(loss="generalized_focal", max_epochs=1)
    with pytest.raises(ValueError, match="likelihood"):
        Reweighted(est, _rw()).fit(X, y, likelihood=np.ones(len(y)))


def test_estimator_without_sample_weight(imbalanced_data):
    X, y = imbalanced_data
    with pytest.raises(ValueError, match="sample_weight"):
        Reweighted(KNeighborsClassifier(), _rw()).fit(X, y)


def test_bad_inputs(imbalanced_data):
    X, y = imbalanced_data
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        Reweighted(LogisticRegression(), _rw()).fit(X_nan, y)
    with pytest.raises(ValueError, match="sample_weight"):
        Reweighted(LogisticRegression(), _rw()).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="eta"):
        Reweighted(LogisticRegression(), _rw(eta=-1.0)).fit(X, y)
    with pytest.raises(ValueError, match="reweighter"):
        Reweighted(LogisticRegression(), "equity").fit(X, y)
    with pytest.raises(ValueError, match="estimator"):
        Reweighted("logreg", _rw()).fit(X, y)
    with pytest.raises(sklearn.exceptions.NotFittedError):
        Reweighted(LogisticRegression(), _rw()).predict(X)


def test_clone_and_params():
    clf = Reweighted(LogisticRegression(C=2.0), _rw(gamma=3.0))
    params = clf.get_params()
    assert params["estimator__C"] == 2.0 and params["reweighter__gamma"] == 3.0
    clf2 = clone(clf).set_params(reweighter__gamma=1.0, estimator__C=0.5)
    assert clf.reweighter.gamma == 3.0 and clf2.reweighter.gamma == 1.0
    assert clf2.estimator.C == 0.5
