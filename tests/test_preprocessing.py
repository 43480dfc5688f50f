"""RobustScaleSmoothClip: the formula against a naive re-implementation, constant
and all-NaN features, boundedness, monotonicity, NaN handling, DataFrame output,
sklearn's estimator checks and use in a pipeline."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklearn_losses
from sklearn_losses import LossClassifier
from sklearn_losses.preprocessing import RobustScaleSmoothClip


def naive(X_train, X, q=(25, 75), c=3.0):
    """Column by column, with plain Python on sorted values."""
    out = np.empty_like(X, dtype=float)
    for j in range(X_train.shape[1]):
        col = np.sort(X_train[:, j])
        n = len(col)

        def quantile(p, col=col, n=n):
            pos = p * (n - 1)
            lo = int(np.floor(pos))
            hi = min(lo + 1, n - 1)
            return col[lo] + (pos - lo) * (col[hi] - col[lo])

        median = quantile(0.5)
        s = quantile(q[1] / 100) - quantile(q[0] / 100)
        if s == 0:
            s = (col[-1] - col[0]) / 2
        for i in range(X.shape[0]):
            z = 0.0 if s == 0 else (X[i, j] - median) / s
            out[i, j] = z / (1 + (z / c) ** 2) ** 0.5
    return out


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_t(df=2, size=(101, 4)) * [1.0, 10.0, 0.1, 3.0] + [0, 5, -2, 1]
    return X[:80], X[80:]


@pytest.mark.parametrize("q, c", [((25, 75), 3.0), ((10, 90), 1.5), ((0, 50), 10.0)])
def test_equals_naive_reimplementation(data, q, c):
    X_train, X_test = data
    scaler = RobustScaleSmoothClip(quantile_range=q, clip=c).fit(X_train)
    np.testing.assert_allclose(scaler.transform(X_test), naive(X_train, X_test, q, c))
    np.testing.assert_allclose(
        scaler.fit_transform(X_train), naive(X_train, X_train, q, c)
    )


def test_reference_values():
    # median 3, IQR 4 - 2 = 2; z = (x - 3) / 2; z / sqrt(1 + z^2 / 9)
    X = np.array([[1.0], [2.0], [3.0], [4.0], [9.0]])
    out = RobustScaleSmoothClip().fit_transform(X).ravel()
    z = np.array([-1.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(out, z / np.sqrt(1 + z**2 / 9))
    np.testing.assert_allclose(out[-1], 3 / np.sqrt(2))


def test_no_clip_is_robust_scaling(data):
    X_train, X_test = data
    scaler = RobustScaleSmoothClip(clip=float("inf")).fit(X_train)
    median = np.median(X_train, axis=0)
    iqr = np.subtract(*np.percentile(X_train, [75, 25], axis=0))
    np.testing.assert_allclose(scaler.transform(X_test), (X_test - median) / iqr)


def test_constant_and_zero_iqr_features():
    X = np.array(
        [[5.0, 0.0], [5.0, 0.0], [5.0, 0.0], [5.0, 0.0], [5.0, 8.0]]
    )  # column 1: IQR 0, range 8
    scaler = RobustScaleSmoothClip().fit(X)
    np.testing.assert_array_equal(scaler.scale_, [0.0, 4.0])
    out = scaler.transform(np.array([[5.0, 4.0], [-100.0, 0.0], [1e6, -4.0]]))
    np.testing.assert_array_equal(out[:, 0], 0.0)  # constant: always 0
    z = np.array([1.0, 0.0, -1.0])
    np.testing.assert_allclose(out[:, 1], z / np.sqrt(1 + z**2 / 9))


def test_outliers_are_bounded_by_the_clip(data):
    X_train, _ = data
    X_far = np.array([[1e12, -1e12, 1e300, -1e300]])
    for c in (0.5, 3.0):
        scaler = RobustScaleSmoothClip(clip=c).fit(X_train)
        out = scaler.transform(np.vstack([X_train, X_far]))
        assert np.all(np.abs(out) <= c)
        np.testing.assert_allclose(np.abs(scaler.transform(X_far)), c)


def test_monotone_per_feature(data):
    X_train, _ = data
    scaler = RobustScaleSmoothClip().fit(X_train)
    grid = np.linspace(-50, 50, 2001)
    out = scaler.transform(np.tile(grid[:, None], (1, X_train.shape[1])))
    assert np.all(np.diff(out, axis=0) > 0)


def test_nan_ignored_in_fit_and_kept_in_transform(data):
    X_train, X_test = data
    X_nan = X_train.copy()
    X_nan[::3, 1] = np.nan
    X_nan[:, 3] = np.nan
    scaler = RobustScaleSmoothClip().fit(X_nan)
    kept = ~np.isnan(X_nan[:, 1])
    reference = RobustScaleSmoothClip().fit(X_train[kept][:, [1]])
    assert scaler.center_[1] == reference.center_[0]
    assert scaler.scale_[1] == reference.scale_[0]
    assert scaler.center_[3] == 0.0 and scaler.scale_[3] == 0.0  # all NaN
    X_in = X_test.copy()
    X_in[0, 0] = np.nan
    out = scaler.transform(X_in)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(X_in))
    np.testing.assert_array_equal(out[:, 3], 0.0)


def test_float32_is_kept_and_copy_false_transforms_in_place(data):
    X_train, X_test = data
    X32 = X_test.astype(np.float32)
    out = RobustScaleSmoothClip().fit(X_train).transform(X32)
    assert out.dtype == np.float32
    X = X_test.copy()
    out = RobustScaleSmoothClip(copy=False).fit(X_train).transform(X)
    assert out is X or np.shares_memory(out, X)
    X = X_test.copy()
    RobustScaleSmoothClip().fit(X_train).transform(X)
    np.testing.assert_array_equal(X, X_test)


def test_pandas_output_and_feature_names(data):
    pd = pytest.importorskip("pandas")
    X_train, X_test = data
    cols = ["a", "b", "c", "d"]
    scaler = RobustScaleSmoothClip().set_output(transform="pandas")
    out = scaler.fit(pd.DataFrame(X_train, columns=cols)).transform(
        pd.DataFrame(X_test, columns=cols)
    )
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == cols
    np.testing.assert_allclose(out.to_numpy(), naive(X_train, X_test))
    np.testing.assert_array_equal(scaler.get_feature_names_out(), cols)
    unnamed = RobustScaleSmoothClip().fit(X_train)
    np.testing.assert_array_equal(
        unnamed.get_feature_names_out(), ["x0", "x1", "x2", "x3"]
    )


@pytest.mark.parametrize(
    "params, match",
    [
        ({"quantile_range": (75, 25)}, "quantile_range"),
        ({"quantile_range": (-1, 50)}, "quantile_range"),
        ({"quantile_range": (25, 101)}, "quantile_range"),
        ({"quantile_range": 25}, "quantile_range"),
        ({"quantile_range": ("a", 75)}, "quantile_range"),
        ({"clip": 0.0}, "clip"),
        ({"clip": -3.0}, "clip"),
        ({"clip": float("nan")}, "clip"),
        ({"clip": "3"}, "clip"),
    ],
)
def test_bad_parameters(data, params, match):
    with pytest.raises(ValueError, match=match):
        RobustScaleSmoothClip(**params).fit(data[0])


def test_infinite_input_is_refused(data):
    X_train, _ = data
    X = X_train.copy()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="[Ii]nfinity"):
        RobustScaleSmoothClip().fit(X)


def test_exported():
    assert sklearn_losses.RobustScaleSmoothClip is RobustScaleSmoothClip
    assert "RobustScaleSmoothClip" in sklearn_losses.__all__


@parametrize_with_checks([RobustScaleSmoothClip()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_pipeline_before_loss_classifier(binary_data):
    X, y = binary_data
    X = X.copy()
    X[:5, 0] = 1e6  # an outlier the clip bounds
    pipe = make_pipeline(
        RobustScaleSmoothClip(),
        LossClassifier(hidden_layer_sizes=(8,), max_epochs=5, random_state=0),
    )
    proba = pipe.fit(X, y).predict_proba(X)
    assert proba.shape == (len(y), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(clone(pipe).fit(X, y).predict_proba(X), proba)


def test_sample_weight_equals_repeated_and_dropped_rows():
    rng = np.random.default_rng(0)
    X = rng.lognormal(size=(60, 3))
    X[rng.random((60, 3)) < 0.1] = np.nan
    X[:, 2] = np.round(X[:, 2])  # ties
    w = rng.integers(0, 4, 60)
    weighted = RobustScaleSmoothClip().fit(X, sample_weight=w)
    repeated = RobustScaleSmoothClip().fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.center_, repeated.center_)
    np.testing.assert_allclose(weighted.scale_, repeated.scale_)
    keep = w > 0
    dropped = RobustScaleSmoothClip().fit(X[keep])
    zeroed = RobustScaleSmoothClip().fit(X, sample_weight=keep.astype(float))
    np.testing.assert_allclose(zeroed.center_, dropped.center_)
    np.testing.assert_allclose(zeroed.scale_, dropped.scale_)
    # Unit weights are numpy's nanmedian / nanquantile.
    unit = RobustScaleSmoothClip().fit(X, sample_weight=np.ones(60))
    np.testing.assert_allclose(unit.center_, np.nanmedian(X, axis=0))


def test_negative_sample_weight_refused():
    with pytest.raises(ValueError, match="sample_weight"):
        RobustScaleSmoothClip().fit(np.ones((3, 1)), sample_weight=[1, -1, 1])
