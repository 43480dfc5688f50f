"""SharedVarianceGaussianNB and dis_vs_gen_learning_curve."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import SharedVarianceGaussianNB, dis_vs_gen_learning_curve
from sklearn_losses.estimators import LearningCurveResult


@pytest.fixture
def table():
    """9 rows, 2 features, 3 classes of sizes 2, 3 and 4."""
    X = np.array(
        [
            [0.0, 1.0],
            [1.0, 3.0],
            [2.0, 0.5],
            [4.0, 1.5],
            [3.0, 2.5],
            [6.0, 7.0],
            [5.0, 6.0],
            [7.5, 8.0],
            [6.5, 5.5],
        ]
    )
    y = np.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    return X, y


def naive_fit(X, y, var_smoothing=1e-9, priors=None):
    """The model written out with plain numpy, one class at a time."""
    classes = np.unique(y)
    counts = np.array([np.sum(y == c) for c in classes], dtype=float)
    freq = counts / counts.sum()
    means = np.array([X[y == c].mean(axis=0) for c in classes])
    class_vars = np.array([X[y == c].var(axis=0) for c in classes])
    epsilon = var_smoothing * X.var(axis=0).max()
    pooled = (freq[:, None] * class_vars).sum(axis=0) + epsilon
    prior = freq if priors is None else np.asarray(priors)
    return means, pooled, prior, epsilon


def naive_jll(X, means, pooled, prior):
    out = np.empty((len(X), len(means)))
    for i, x in enumerate(X):
        for c, mu in enumerate(means):
            out[i, c] = (
                np.log(prior[c])
                - 0.5 * np.sum(np.log(2 * np.pi * pooled))
                - 0.5 * np.sum((x - mu) ** 2 / pooled)
            )
    return out


def well_specified(n, d=50, informative=10, shift=0.35, rho=0.0, seed=0):
    """The spec's synthetic task: 2 classes, means +-shift on the first
    ``informative`` features; equicorrelated (``rho``) unit-variance noise."""
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    noise = rng.normal(size=(n, d))
    if rho:
        noise = np.sqrt(1 - rho) * noise + np.sqrt(rho) * rng.normal(size=(n, 1))
    X = noise
    X[:, :informative] += np.where(y == 1, shift, -shift)[:, None]
    return X, y


# -- the closed form ---------------------------------------------------------------
def test_two_point_classes_by_hand():
    X = np.array([[0.0], [2.0], [4.0], [6.0]])
    nb = SharedVarianceGaussianNB().fit(X, ["a", "a", "b", "b"])
    np.testing.assert_allclose(nb.theta_, [[1.0], [5.0]])
    np.testing.assert_allclose(nb.class_var_, [[1.0], [1.0]])
    # total variance 5 -> epsilon 5e-9
    assert nb.epsilon_ == pytest.approx(5e-9, rel=1e-12)
    np.testing.assert_allclose(nb.var_, [1.0 + 5e-9], rtol=1e-15)
    np.testing.assert_allclose(nb.coef_, [[4.0]], rtol=1e-8)
    np.testing.assert_allclose(nb.intercept_, [-12.0], rtol=1e-8)
    # at x = 3 both classes are equally likely
    np.testing.assert_allclose(nb.predict_proba([[3.0]]), [[0.5, 0.5]])
    assert nb.predict([[2.9], [3.1]]).tolist() == ["a", "b"]


@pytest.mark.parametrize("priors", [None, [0.5, 0.2, 0.3]])
def test_equals_closed_form(table, priors):
    X, y = table
    nb = SharedVarianceGaussianNB(priors=priors).fit(X, y)
    means, pooled, prior, epsilon = naive_fit(X, y, priors=priors)
    np.testing.assert_allclose(nb.theta_, means, rtol=1e-12)
    np.testing.assert_allclose(nb.var_, pooled, rtol=1e-12)
    np.testing.assert_allclose(nb.class_prior_, prior, rtol=1e-12)
    np.testing.assert_allclose(nb.class_count_, [2, 3, 4])
    assert nb.epsilon_ == pytest.approx(epsilon, rel=1e-12)
    X_new = np.random.RandomState(0).uniform(-1, 8, size=(20, 2))
    jll = naive_jll(X_new, means, pooled, prior)
    np.testing.assert_allclose(nb.predict_joint_log_proba(X_new), jll, rtol=1e-12)
    proba = np.exp(jll - logsumexp(jll, axis=1, keepdims=True))
    np.testing.assert_allclose(nb.predict_proba(X_new), proba, rtol=1e-10)
    np.testing.assert_allclose(nb.predict_log_proba(X_new), np.log(proba), atol=1e-10)
    np.testing.assert_array_equal(nb.predict(X_new), np.argmax(jll, axis=1))


def test_priors_move_only_the_log_prior(table):
    X, y = table
    free = SharedVarianceGaussianNB().fit(X, y)
    given = SharedVarianceGaussianNB(priors=[0.6, 0.3, 0.1]).fit(X, y)
    np.testing.assert_array_equal(free.var_, given.var_)
    diff = given.predict_joint_log_proba(X) - free.predict_joint_log_proba(X)
    np.testing.assert_allclose(
        diff, np.tile(np.log([0.6 / 2 * 9, 0.3 / 3 * 9, 0.1 / 4 * 9]), (9, 1))
    )


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_linear_form_equals_log_likelihood_differences(n_classes):
    rng = np.random.RandomState(n_classes)
    X = rng.normal(size=(60, 4)) * [1.0, 3.0, 0.2, 1.0] + 2.0
    y = np.arange(60) % n_classes
    nb = SharedVarianceGaussianNB().fit(X, y)
    jll = nb.predict_joint_log_proba(X)
    decision = nb.decision_function(X)
    np.testing.assert_allclose(decision, np.squeeze(X @ nb.coef_.T + nb.intercept_))
    if n_classes == 2:
        assert nb.coef_.shape == (1, 4) and nb.intercept_.shape == (1,)
        assert decision.shape == (60,)
        np.testing.assert_allclose(
            decision, jll[:, 1] - jll[:, 0], rtol=1e-9, atol=1e-9
        )
        log_proba = nb.predict_log_proba(X)
        np.testing.assert_allclose(
            decision, log_proba[:, 1] - log_proba[:, 0], atol=1e-9
        )
    else:
        assert nb.coef_.shape == (n_classes, 4) and decision.shape == (60, n_classes)
        # equal up to a term common to all classes of a row
        gap = decision - jll
        np.testing.assert_allclose(gap, gap[:, :1].repeat(n_classes, axis=1), atol=1e-9)
        common = -0.5 * np.sum(X**2 / nb.var_, axis=1) - 0.5 * np.sum(
            np.log(2 * np.pi * nb.var_)
        )
        np.testing.assert_allclose(jll, decision + common[:, None], atol=1e-9)
    np.testing.assert_array_equal(
        nb.predict(X), nb.classes_[np.argmax(nb.predict_proba(X), axis=1)]
    )


# -- partial_fit and sample_weight -------------------------------------------------
def assert_same_model(a, b, X, rtol=1e-10):
    np.testing.assert_array_equal(a.classes_, b.classes_)
    for name in ("class_count_", "class_prior_", "theta_", "class_var_", "var_"):
        np.testing.assert_allclose(
            getattr(a, name), getattr(b, name), rtol=rtol, atol=1e-12
        )
    assert a.epsilon_ == pytest.approx(b.epsilon_, rel=rtol)
    np.testing.assert_allclose(
        a.predict_joint_log_proba(X), b.predict_joint_log_proba(X), rtol=rtol
    )
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=rtol, atol=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_over_chunks_equals_fit(weighted):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)) * 10 + 100  # far from 0: a naive update loses digits
    y = rng.choice(["x", "y", "z"], size=200)
    w = rng.uniform(0.1, 3.0, size=200) if weighted else None
    whole = SharedVarianceGaussianNB().fit(X, y, sample_weight=w)
    chunked = SharedVarianceGaussianNB()
    # a first chunk of one class, then uneven chunks
    order = np.r_[
        np.flatnonzero(y == "x")[:7],
        np.setdiff1d(np.arange(200), np.flatnonzero(y == "x")[:7]),
    ]
    for rows in np.array_split(order, [7, 10, 60, 61, 150]):
        chunked.partial_fit(
            X[rows],
            y[rows],
            classes=["x", "y", "z"],
            sample_weight=None if w is None else w[rows],
        )
    assert_same_model(whole, chunked, X)


def test_partial_fit_after_fit_continues(table):
    X, y = table
    first, rest = [0, 2, 5, 6], [1, 3, 4, 7, 8]
    nb = SharedVarianceGaussianNB().fit(X[first], y[first])
    nb.partial_fit(X[rest], y[rest])
    assert_same_model(nb, SharedVarianceGaussianNB().fit(X, y), X)


def test_class_not_seen_yet_has_probability_zero(table):
    X, y = table
    nb = SharedVarianceGaussianNB()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nb.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
        proba = nb.predict_proba(X)
        nb.decision_function(X)
    np.testing.assert_array_equal(proba[:, 2], 0.0)
    assert nb.class_count_[2] == 0 and np.isneginf(nb.intercept_[2])
    assert set(nb.predict(X)) <= {0, 1}


def test_integer_weights_equal_repeated_rows(table):
    X, y = table
    w = np.array([1, 3, 2, 0, 1, 4, 1, 2, 0])
    weighted = SharedVarianceGaussianNB().fit(X, y, sample_weight=w)
    repeated = SharedVarianceGaussianNB().fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert_same_model(weighted, repeated, X)
    scaled = SharedVarianceGaussianNB().fit(X, y, sample_weight=2.5 * w)
    np.testing.assert_allclose(scaled.class_count_, 2.5 * weighted.class_count_)
    np.testing.assert_allclose(scaled.var_, weighted.var_)


# -- scikit-learn's GaussianNB -----------------------------------------------------
def test_differs_from_gaussian_nb_when_class_variances_differ():
    rng = np.random.RandomState(0)
    X = np.r_[rng.normal(0, 0.5, size=(100, 2)), rng.normal(1, 3.0, size=(100, 2))]
    y = np.repeat([0, 1], 100)
    ours, theirs = SharedVarianceGaussianNB().fit(X, y), GaussianNB().fit(X, y)
    grid = rng.uniform(-6, 6, size=(500, 2))
    # GaussianNB's boundary is quadratic: points far away on both sides go to
    # the wide class, which a linear boundary cannot do
    assert np.mean(ours.predict(grid) != theirs.predict(grid)) > 0.1
    np.testing.assert_allclose(ours.theta_, theirs.theta_)
    np.testing.assert_allclose(ours.var_, 0.5 * theirs.var_.sum(axis=0), rtol=1e-8)


def test_equals_gaussian_nb_when_class_variances_are_equal():
    rng = np.random.RandomState(1)
    base = rng.normal(size=(30, 3)) * [1.0, 2.0, 0.5]
    shifts = np.array([[0.0, 0.0, 0.0], [1.5, -1.0, 0.3], [-2.0, 0.5, 0.8]])
    # each class is the same cloud of points moved: equal per-class variances
    X = np.concatenate([base + s for s in shifts])
    y = np.repeat(["a", "b", "c"], 30)
    ours, theirs = SharedVarianceGaussianNB().fit(X, y), GaussianNB().fit(X, y)
    np.testing.assert_allclose(theirs.var_, np.tile(ours.var_, (3, 1)), rtol=1e-12)
    assert ours.epsilon_ == pytest.approx(theirs.epsilon_, rel=1e-12)
    X_new = rng.normal(size=(50, 3)) * 2
    np.testing.assert_allclose(
        ours.predict_joint_log_proba(X_new),
        theirs.predict_joint_log_proba(X_new),
        rtol=1e-12,
    )
    np.testing.assert_allclose(ours.predict_proba(X_new), theirs.predict_proba(X_new))
    np.testing.assert_array_equal(ours.predict(X_new), theirs.predict(X_new))


# -- inputs ------------------------------------------------------------------------
def test_string_labels_and_pandas(table):
    pd = pytest.importorskip("pandas")
    X, y = table
    names = np.array(["cat", "dog", "emu"])[y]
    frame = pd.DataFrame(X, columns=["height", "width"])
    nb = SharedVarianceGaussianNB().fit(frame, pd.Series(names))
    assert nb.classes_.tolist() == ["cat", "dog", "emu"]
    assert nb.feature_names_in_.tolist() == ["height", "width"]
    coded = SharedVarianceGaussianNB().fit(X, y)
    animals = np.array(["cat", "dog", "emu"])
    np.testing.assert_array_equal(nb.predict(frame), animals[coded.predict(X)])
    np.testing.assert_allclose(nb.predict_proba(frame), coded.predict_proba(X))
    with pytest.raises(ValueError, match=r"needs numeric features; column\(s\) 'kind'"):
        nb.fit(frame.assign(kind="x"), names)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"var_smoothing": 0.0}, ValueError, r"var_smoothing must be a float > 0"),
        ({"var_smoothing": "1e-9"}, ValueError, r"var_smoothing must be"),
        (
            {"priors": [0.5, 0.5]},
            ValueError,
            r"priors must hold one probability per class \(3",
        ),
        ({"priors": [0.5, 0.7, -0.2]}, ValueError, r"priors must be non-negative"),
        ({"priors": [0.2, 0.2, 0.2]}, ValueError, r"priors must sum to 1"),
        ({"priors": ["a", "b", "c"]}, TypeError, r"priors must be None or a sequence"),
    ],
)
def test_bad_parameters(table, params, error, match):
    X, y = table
    with pytest.raises(error, match=match):
        SharedVarianceGaussianNB(**params).fit(X, y)


def test_bad_fit_input(table):
    X, y = table
    nb = SharedVarianceGaussianNB()
    with pytest.raises(ValueError, match=r"at least 2 classes; y holds 1 class"):
        nb.fit(X, np.zeros(9))
    with pytest.raises(ValueError, match=r"Unknown label type"):
        nb.fit(X, np.linspace(0, 1, 9))
    with pytest.raises(ValueError, match=r"Negative values in data passed to"):
        nb.fit(X, y, sample_weight=-np.ones(9))
    with pytest.raises(
        ValueError, match=r"Sample weights must contain at least one non-zero"
    ):
        nb.fit(X, y, sample_weight=np.zeros(9))
    with pytest.raises(ValueError, match=r"NaN"):
        nb.fit(np.where(X > 6, np.nan, X), y)
    nb.fit(X, y)
    with pytest.raises(
        ValueError, match=r"3 features, but SharedVarianceGaussianNB is expecting 2"
    ):
        nb.predict(np.ones((2, 3)))


def test_bad_partial_fit_input(table):
    X, y = table
    with pytest.raises(ValueError, match=r"classes must be passed on the first call"):
        SharedVarianceGaussianNB().partial_fit(X, y)
    with pytest.raises(
        ValueError, match=r"y holds labels \[2\] that are not in classes=\[0, 1\]"
    ):
        SharedVarianceGaussianNB().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"at least 2 classes; classes holds 1"):
        SharedVarianceGaussianNB().partial_fit(X[:2], y[:2], classes=[0])
    nb = SharedVarianceGaussianNB().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"classes=\[0, 1\] differs from classes_"):
        nb.partial_fit(X[:2], y[:2], classes=[0, 1])
    with pytest.raises(ValueError, match=r"y holds labels \[7\]"):
        nb.partial_fit(X[:1], [7])
    before = nb.theta_.copy()
    with pytest.raises(ValueError, match=r"expecting 2 features"):
        nb.partial_fit(np.ones((2, 3)), [0, 1])
    np.testing.assert_array_equal(nb.theta_, before)


EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [
        SharedVarianceGaussianNB(),
        SharedVarianceGaussianNB(priors=None, var_smoothing=1e-3),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- the paper's claim on synthetic data ---------------------------------------------
def test_naive_bayes_wins_with_few_rows_when_well_specified():
    # the paper's protocol: uniform draws (redrawn when a class is missing);
    # NB's mean error is ~0.04 below LR's at 20 rows (0.30 against 0.34 over
    # six seeds); the mean of 50 repeats varies by ~0.01
    X, y = well_specified(6000, seed=0)
    result = dis_vs_gen_learning_curve(
        X,
        y,
        sizes=[20],
        n_repeats=50,
        test_size=2000,
        sampling="random",
        random_state=0,
    )
    mean = result.frame.groupby("estimator")["error"].mean()
    assert mean["NB"] <= mean["LR"]
    assert mean["NB"] < 0.4  # it learns something (chance is 0.5)


def test_logistic_regression_overtakes_when_features_correlate():
    # equicorrelated noise: naive Bayes is misspecified and plateaus
    X, y = well_specified(3000, rho=0.3, seed=1)
    result = dis_vs_gen_learning_curve(
        X, y, sizes=[1000, 2000], n_repeats=2, test_size=1000, random_state=0
    )
    mean = result.frame.groupby(["size", "estimator"])["error"].mean().unstack()
    assert (mean["LR"] + 0.05 < mean["NB"]).all()
    assert result.crossover == 1000


# -- the learning-curve function ---------------------------------------------------
class Recorder(ClassifierMixin, BaseEstimator):
    """Predicts the majority class and records what it was fitted on."""

    seen = []

    def fit(self, X, y):
        Recorder.seen.append((X.copy(), np.asarray(y).copy()))
        self.majority_ = np.unique(y)[np.argmax(np.unique(y, return_counts=True)[1])]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)


@pytest.fixture
def blobs():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], [100, 60, 20])
    X = rng.normal(size=(180, 4)) * 5 + y[:, None] * 3
    return X, y


def test_learning_curve_frame_and_summary(blobs):
    X, y = blobs
    result = dis_vs_gen_learning_curve(
        X, y, sizes=[40, 10, 10], n_repeats=3, test_size=0.25, random_state=0
    )
    assert isinstance(result, LearningCurveResult)
    frame, crossover = result
    assert list(frame.columns) == ["size", "repeat", "estimator", "error"]
    assert len(frame) == 2 * 3 * 2  # sizes deduplicated
    assert frame["size"].unique().tolist() == [10, 40]
    assert frame["estimator"].unique().tolist() == ["NB", "LR"]
    assert frame["error"].between(0, 1).all()
    summary = result.summary()
    assert summary.index.tolist() == [10, 40]
    assert summary.columns.tolist() == [
        ("mean", "NB"),
        ("mean", "LR"),
        ("sd", "NB"),
        ("sd", "LR"),
    ]
    np.testing.assert_allclose(
        summary[("mean", "LR")],
        frame[frame.estimator == "LR"].groupby("size")["error"].mean(),
    )
    again = dis_vs_gen_learning_curve(
        X, y, sizes=[10, 40], n_repeats=3, test_size=0.25, random_state=0
    )
    np.testing.assert_array_equal(again.frame["error"], frame["error"])


def test_crossover_is_the_first_size_where_the_second_wins(blobs):
    X, y = blobs
    models = {"dummy": DummyClassifier(), "NB": SharedVarianceGaussianNB()}
    result = dis_vs_gen_learning_curve(
        X, y, sizes=[10, 30], n_repeats=2, estimators=models, random_state=0
    )
    assert result.crossover == 10
    swapped = {"NB": SharedVarianceGaussianNB(), "dummy": DummyClassifier()}
    result = dis_vs_gen_learning_curve(
        X, y, sizes=[10, 30], n_repeats=2, estimators=swapped, random_state=0
    )
    assert result.crossover is None
    alone = dis_vs_gen_learning_curve(
        X,
        y,
        sizes=[10],
        n_repeats=1,
        estimators={"NB": SharedVarianceGaussianNB()},
        random_state=0,
    )
    assert alone.crossover is None and len(alone.frame) == 1


class SizeOracle(ClassifierMixin, BaseEstimator):
    """Reads the label off feature 0 when fitted on one of ``good`` sizes,
    else predicts the first class."""

    def __init__(self, good=()):
        self.good = good

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.reads_ = len(y) in self.good
        return self

    def predict(self, X):
        if not self.reads_:
            return np.full(len(X), self.classes_[0])
        codes = np.rint(X[:, 0] * (len(self.classes_) - 1)).astype(int)
        return self.classes_[np.clip(codes, 0, len(self.classes_) - 1)]


def test_crossover_counts_only_a_lead_kept_to_the_largest_size(blobs):
    X, y = blobs
    X = np.c_[y, X]  # min-max scaled on each draw: 0, 0.5, 1
    models = {"dummy": DummyClassifier(), "oracle": SizeOracle((10, 40, 50))}
    result = dis_vs_gen_learning_curve(
        X,
        y,
        sizes=[10, 20, 30, 40, 50],
        n_repeats=2,
        estimators=models,
        random_state=0,
    )
    means = result.frame.groupby(["size", "estimator"])["error"].mean().unstack()
    np.testing.assert_allclose(means["dummy"], 20 / 45)  # 25 of 45 in class 0
    np.testing.assert_allclose(means["oracle"], [0, 20 / 45, 20 / 45, 0, 0])
    assert result.crossover == 40  # not 10: that lead is lost at 20
    models["oracle"] = SizeOracle((10, 20, 30, 40))
    result = dis_vs_gen_learning_curve(
        X,
        y,
        sizes=[10, 20, 30, 40, 50],
        n_repeats=1,
        estimators=models,
        random_state=0,
    )
    assert result.crossover is None  # behind at the largest size


@pytest.mark.parametrize("sampling", ["stratified", "random"])
def test_draws_hold_every_class_and_are_scaled(blobs, sampling):
    X, y = blobs
    Recorder.seen = []
    result = dis_vs_gen_learning_curve(
        X,
        y,
        sizes=[5, 12],
        n_repeats=4,
        estimators={"rec": Recorder()},
        sampling=sampling,
        test_size=60,
        random_state=0,
    )
    assert len(Recorder.seen) == 8
    for X_fit, y_fit in Recorder.seen:
        assert set(y_fit) == {0, 1, 2}  # the rare class (11 %) is never missing
        np.testing.assert_allclose(X_fit.min(axis=0), 0.0)
        np.testing.assert_allclose(X_fit.max(axis=0), 1.0)
    # every draw is a fresh subsample of the pool
    assert (
        len({tuple(y_fit) + tuple(X_fit[:, 0]) for X_fit, y_fit in Recorder.seen}) == 8
    )
    if sampling == "stratified":
        assert [np.bincount(y_fit).tolist() for _, y_fit in Recorder.seen[4:]] == [
            [7, 4, 1]
        ] * 4
    assert len(result.frame) == 8


def test_whole_pool_and_other_scalers(blobs):
    X, y = blobs
    Recorder.seen = []
    dis_vs_gen_learning_curve(
        X,
        y,
        sizes=[135],
        n_repeats=2,
        estimators={"rec": Recorder()},
        scaler=None,
        test_size=45,
        random_state=0,
    )
    (a, _), (b, _) = Recorder.seen
    np.testing.assert_array_equal(a, b)  # the whole pool, unscaled
    assert a.shape == (135, 4) and a.max() > 1
    Recorder.seen = []
    for scaler in ("standard", FunctionTransformer(lambda Z: Z * 0)):
        dis_vs_gen_learning_curve(
            X,
            y,
            sizes=[30],
            n_repeats=1,
            estimators={"rec": Recorder()},
            scaler=scaler,
            random_state=0,
        )
    np.testing.assert_allclose(Recorder.seen[0][0].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_array_equal(Recorder.seen[1][0], 0.0)


def test_learning_curve_bad_input(blobs):
    X, y = blobs
    run = lambda **kw: dis_vs_gen_learning_curve(  # noqa: E731
        X, y, **{"sizes": [10], "random_state": 0, **kw}
    )
    with pytest.raises(
        ValueError,
        match=r"sizes must lie between the number of classes \(3\) and the size "
        r"of the training pool \(135 rows\); got \[2, 500\]",
    ):
        run(sizes=[2, 10, 500])
    with pytest.raises(ValueError, match=r"sizes must be a non-empty sequence of ints"):
        run(sizes=[10.5])
    with pytest.raises(ValueError, match=r"n_repeats must be an int >= 1"):
        run(n_repeats=0)
    with pytest.raises(ValueError, match=r"scaler must be 'minmax', 'standard', None"):
        run(scaler="robust")
    with pytest.raises(TypeError, match=r"scaler must be .* a transformer"):
        run(scaler=object())
    with pytest.raises(TypeError, match=r"estimators must be a non-empty dict"):
        run(estimators=[LogisticRegression()])
    with pytest.raises(TypeError, match=r"estimators\['x'\] must be a classifier"):
        run(estimators={"x": object()})
    with pytest.raises(ValueError, match=r"sampling must be 'stratified' or 'random'"):
        run(sampling="balanced")
    with pytest.raises(ValueError, match=r"test_size=2 gives no stratified test split"):
        run(test_size=2)
    with pytest.raises(ValueError, match=r"3 draws of 3 rows all missed a class"):
        run(sizes=[3], sampling="random", max_draws=3)
    with pytest.raises(ValueError, match=r"random_state must be"):
        run(random_state="seed")
    assert clone(SharedVarianceGaussianNB(priors=[0.2, 0.8])).priors == [0.2, 0.8]
