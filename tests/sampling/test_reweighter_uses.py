"""The three places of a reweighter: an imbalanced-learn sampler, the Reweighted
meta-estimator, and ``reweighter=`` of LossClassifier; user weights kept."""

import numpy as np
import pytest
import sklearn
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier
from sklearn_losses.sampling import DatasetEquityReweighter, Reweighted


def _rw(**params):
    return DatasetEquityReweighter(reducer="pca", random_state=0, **params)


class ConstantReweighter(BaseEstimator):
    """A reweighter giving fixed weights (for error paths)."""

    def __init__(self, value=0.0):
        self.value = value

    def fit(self, X, y=None):
        self.weights_ = np.full(len(X), self.value)
        return self


# -- (c) reweighter= on LossClassifier ----------------------------------------------


def test_reweighter_param_equals_passing_its_weights(imbalanced_data):
    X, y = imbalanced_data
    common = {"max_epochs": 5, "random_state": 0}
    clf = LossClassifier(reweighter=_rw(), **common).fit(X, y)
    w = clf.reweighter_.weights_
    assert w.shape == (200,) and len(np.unique(w)) > 1
    direct = LossClassifier(**common).fit(X, y, sample_weight=w)
    assert_array_equal(clf.predict_proba(X), direct.predict_proba(X))


def test_reweighter_param_multiplies_user_and_class_weights(imbalanced_data):
    X, y = imbalanced_data
    user = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    common = {"max_epochs": 5, "random_state": 0, "class_weight": "balanced"}
    clf = LossClassifier(reweighter=_rw(), **common).fit(X, y, sample_weight=user)
    product = clf.reweighter_.weights_ * user
    direct = LossClassifier(**common).fit(X, y, sample_weight=product)
    assert_allclose(clf.predict_proba(X), direct.predict_proba(X), rtol=1e-6)


def test_reweighter_param_feeds_generalized_focal(imbalanced_data):
    X, y = imbalanced_data
    common = {"loss": "generalized_focal", "max_epochs": 5, "random_state": 0}
    clf = LossClassifier(reweighter=_rw(), **common).fit(X, y)
    direct = LossClassifier(**common).fit(X, y, likelihood=clf.reweighter_.likelihood_)
    assert_array_equal(clf.predict_proba(X), direct.predict_proba(X))
    with pytest.raises(ValueError, match="likelihood"):
        LossClassifier(reweighter=_rw(), **common).fit(X, y, likelihood=np.ones(len(y)))


def test_reweighter_params_searchable_and_cloned(imbalanced_data):
    X, y = imbalanced_data
    clf = LossClassifier(reweighter=_rw(), reweighter__gamma=2.0, max_epochs=2)
    params = clf.get_params()
    assert params["reweighter__gamma"] == 2.0
    assert clone(clf).get_params()["reweighter__gamma"] == 2.0
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), clf),
        {"lossclassifier__reweighter__gamma": [0.0, 5.0]},
        cv=2,
        error_score="raise",
    ).fit(X, y)
    assert grid.best_estimator_[-1].reweighter_.gamma in (0.0, 5.0)
    assert clf.reweighter.gamma == 5.0  # the given instance is never modified
    fitted = LossClassifier(reweighter=_rw(), reweighter__gamma=0.0, max_epochs=1)
    assert_allclose(fitted.fit(X, y).reweighter_.weights_, 1.0)


def test_reweighter_param_bad_inputs(imbalanced_data):
    X, y = imbalanced_data
    with pytest.raises(ValueError, match="sum to zero"):
        LossClassifier(reweighter=ConstantReweighter(0.0), max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="reweighter must be None or an estimator"):
        LossClassifier(reweighter="equity", max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="need a reweighter"):
        LossClassifier(reweighter__gamma=1.0, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="reweighter__"):
        LossClassifier(reweighter=_rw(), reweighter__gama=1.0, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="non-negative weight"):
        LossClassifier(reweighter=ConstantReweighter(np.nan), max_epochs=1).fit(X, y)
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LossClassifier(reweighter=_rw(), max_epochs=1).fit(X_nan, y)
    with pytest.raises(ValueError, match="NaN"):
        Reweighted(LogisticRegression(), _rw()).fit(X_nan, y)
    with pytest.raises(ValueError, match="sum to zero"):
        Reweighted(LogisticRegression(), ConstantReweighter(0.0)).fit(X, y)


def test_refit_without_reweighter_drops_the_fitted_one(imbalanced_data):
    X, y = imbalanced_data
    clf = LossClassifier(reweighter=_rw(), max_epochs=1).fit(X, y)
    assert hasattr(clf, "reweighter_")
    clf.set_params(reweighter=None).fit(X, y)
    assert not hasattr(clf, "reweighter_")


# -- (b) Reweighted with any estimator ----------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        HistGradientBoostingClassifier(max_iter=10),
        LossClassifier(max_epochs=2, random_state=0),
    ],
)
def test_reweighted_in_pipeline_and_cross_validation(imbalanced_data, estimator):
    X, y = imbalanced_data
    pipe = make_pipeline(StandardScaler(), Reweighted(estimator, _rw()))
    scores = cross_val_score(pipe, X, y, cv=2, error_score="raise")
    assert np.all(np.isfinite(scores))


# -- (a) the sampler -----------------------------------------------------------------


def test_sampler_strategies(imbalanced_data):
    X, y = imbalanced_data
    counts = np.bincount(y)
    _, y_all = _rw().fit_resample(X, y)
    assert len(y_all) == len(y)
    _, y_per = _rw(sampling_strategy="per_class").fit_resample(X, y)
    assert_array_equal(np.bincount(y_per), counts)
    rw = _rw(sampling_strategy={1: 100})
    _, y_dict = rw.fit_resample(X, y)
    assert_array_equal(np.bincount(y_dict), [counts[0], 100])
    assert rw.sampling_strategy_ == {0: counts[0], 1: 100}
    _, y_call = _rw(sampling_strategy=lambda t: {0: 10}).fit_resample(X, y)
    assert_array_equal(np.bincount(y_call), [10, counts[1]])
    # Rows of each class are drawn from that class only.
    assert_array_equal(y[rw.sample_indices_], y_dict)


def test_sampler_draws_in_proportion_to_weight_times_user_weight():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 0.1, (400, 2)), rng.normal(5, 0.1, (100, 2))]
    y = np.r_[np.zeros(400, int), np.ones(100, int)]
    user = np.where(np.arange(500) % 2 == 0, 3.0, 0.0)
    draws = np.zeros(500)
    rw = DatasetEquityReweighter(reducer=None, gamma=5.0)
    for seed in range(30):
        rw.set_params(random_state=seed).fit_resample(X, y, sample_weight=user)
        draws += np.bincount(rw.sample_indices_, minlength=500)
    assert draws[user == 0].sum() == 0  # zero user weight: never drawn
    expected = rw.weights_ * user / (rw.weights_ * user).sum() * 30 * 500
    big = user > 0
    # Per blob, the drawn total matches the expected total within 3%.
    for blob in (np.arange(500) < 400, np.arange(500) >= 400):
        assert draws[blob & big].sum() == pytest.approx(
            expected[blob & big].sum(), rel=0.03
        )


def test_sampler_user_weights_routed_in_imblearn_pipeline(imbalanced_data):
    X, y = imbalanced_data
    user = np.r_[np.zeros(100), np.ones(100)]
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_imb_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            _rw().set_fit_resample_request(sample_weight=True),
            LogisticRegression().set_fit_request(sample_weight=False),
        )
        pipe.fit(X, y, sample_weight=user)
    assert pipe[1].sample_indices_.min() >= 100


def test_sampler_in_imblearn_pipeline_with_loss_classifier_grid(imbalanced_data):
    X, y = imbalanced_data
    pipe = make_imb_pipeline(
        StandardScaler(), _rw(), LossClassifier(max_epochs=2, random_state=0)
    )
    grid = GridSearchCV(
        pipe,
        {
            "datasetequityreweighter__sampling_strategy": ["all", "per_class"],
            "lossclassifier__loss": ["cross_entropy", "focal"],
        },
        cv=2,
        error_score="raise",
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    # The sampler is skipped at predict time: all rows get a prediction.
    assert grid.predict(X).shape == (200,)


@pytest.mark.parametrize(
    "strategy, match",
    [
        ("minority", "sampling_strategy must be"),
        (0.5, "sampling_strategy must be"),
        ({7: 10}, "class 7"),
        ({1: -1}, "int >= 0"),
        ({1: 2.5}, "int >= 0"),
        ({0: 0, 1: 0}, "zero rows"),
        (lambda y: [1, 2], "must return a dict"),
    ],
)
def test_sampler_bad_strategy(imbalanced_data, strategy, match):
    X, y = imbalanced_data
    with pytest.raises(ValueError, match=match):
        _rw(sampling_strategy=strategy).fit_resample(X, y)


def test_sampler_bad_inputs(imbalanced_data):
    X, y = imbalanced_data
    with pytest.raises(ValueError, match="[Ss]ample weights must contain"):
        _rw().fit_resample(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match="Class 1"):
        _rw(sampling_strategy="per_class").fit_resample(
            X, y, sample_weight=(y == 0).astype(float)
        )
    with pytest.raises(ValueError, match="[Nn]egative"):
        _rw().fit_resample(X, y, sample_weight=-np.ones(len(y)))
    X_nan = X.copy()
    X_nan[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        _rw().fit_resample(X_nan, y)
    with pytest.raises(ValueError, match="class"):
        _rw().fit_resample(X, np.zeros(len(y)))
    with pytest.raises(TypeError, match="Sparse"):
        import scipy.sparse

        _rw().fit_resample(scipy.sparse.csr_matrix(X), y)
