"""LossClassifier inputs: label types, pandas, dtypes and invalid inputs/params."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_losses import LossClassifier
from sklearn_losses.losses import BaseLoss

SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 3, "random_state": 0}


def small(**params):
    return LossClassifier(**{**SMALL, **params})


# -- labels ------------------------------------------------------------------------
LABELS = {
    "str": np.array(["neg", "pos"]),
    "bool": np.array([False, True]),
    "5_7": np.array([5, 7]),
    "1_2": np.array([1, 2]),
    "negative": np.array([-3, -1]),
    "object": np.array(["a", "b"], dtype=object),
    "float": np.array([0.0, 1.0]),
}


@pytest.fixture(scope="module")
def reference_proba(binary_data):
    # With one torch thread, as every test (float32 reductions depend on the
    # thread count in their last bits).
    X, y = binary_data
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return small().fit(X, y).predict_proba(X)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("kind", list(LABELS))
def test_binary_labels_of_any_type(binary_data, reference_proba, kind):
    X, y = binary_data
    labels = LABELS[kind][y]  # an order-preserving relabelling of {0, 1}
    clf = small().fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, LABELS[kind])
    assert clf.classes_.dtype == labels.dtype
    pred = clf.predict(X)
    assert pred.dtype == labels.dtype
    assert set(pred) <= set(LABELS[kind])
    # Same encoded targets and seed: the same model as with {0, 1} labels.
    np.testing.assert_array_equal(clf.predict_proba(X), reference_proba)
    assert clf.score(X, labels) == pytest.approx(np.mean(pred == labels))


def test_multiclass_string_labels(multiclass_data):
    X, y = multiclass_data
    names = np.array(["cat", "dog", "ant"])
    clf = small().fit(X, names[y])
    np.testing.assert_array_equal(clf.classes_, ["ant", "cat", "dog"])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_pandas_inputs(binary_data, reference_proba):
    X, y = binary_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = small().fit(df, pd.Series(y, name="target"))
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    assert clf.n_features_in_ == X.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        proba = clf.predict_proba(df)
        clf.predict(df)
    np.testing.assert_array_equal(proba, reference_proba)
    renamed = df.rename(columns={"f0": "other"})
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(renamed)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_pandas_series_of_strings(binary_data):
    X, y = binary_data
    clf = small().fit(X, pd.Series(np.array(["no", "yes"])[y]))
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    assert not hasattr(clf, "feature_names_in_")


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_numeric_dtypes(binary_data, dtype):
    X, y = binary_data
    Xd = (X * 10).astype(dtype)
    clf = small().fit(Xd, y)
    proba = clf.predict_proba(Xd)
    assert proba.dtype == np.float64 and np.all(np.isfinite(proba))
    as_float = small().fit(Xd.astype(np.float64), y)
    np.testing.assert_array_equal(proba, as_float.predict_proba(Xd))


# -- invalid data --------------------------------------------------------------------
def _with(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


@pytest.mark.parametrize(
    "make_X, make_y, match",
    [
        (lambda X: _with(X, np.nan), lambda y: y, "NaN"),
        (lambda X: _with(X, np.inf), lambda y: y, "infinity"),
        (lambda X: X[:0], lambda y: y[:0], "0 sample"),
        (lambda X: X[:, 0], lambda y: y, "Expected 2D array"),
        (lambda X: X, lambda y: np.zeros_like(y), "one class"),
        (lambda X: X, lambda y: np.where(y == 1, 1.7, 0.5), "Unknown label type"),
    ],
    ids=["nan", "inf", "empty", "1d", "one_class", "continuous_y"],
)
def test_invalid_data(binary_data, make_X, make_y, match):
    X, y = binary_data
    with pytest.raises(ValueError, match=match):
        small().fit(make_X(X), make_y(y))


def test_values_too_large_for_float32(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="float32"):
        small().fit(_with(X, 1e300), y)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones(5), "sample_weight"),
        (-np.ones(200), "Negative values.*sample_weight"),
        (np.zeros(200), "(?i)sample.weight"),
    ],
    ids=["wrong_length", "negative", "all_zero"],
)
def test_invalid_sample_weight(binary_data, sample_weight, match):
    X, y = binary_data
    with pytest.raises(ValueError, match=match):
        small().fit(X, y, sample_weight=sample_weight)


def test_all_zero_weight_after_class_weight(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="sample_weight"):
        small(class_weight={0: 0.0, 1: 0.0}).fit(X, y)


def test_wrong_number_of_features_at_predict(binary_data):
    X, y = binary_data
    clf = small().fit(X, y)
    with pytest.raises(ValueError, match="3 features.*expecting 5"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(np.hstack([X, X]))


# -- invalid losses ----------------------------------------------------------------
class RankOnlyLoss(BaseLoss):
    """A loss for another task. Not registered: passed as a class."""

    name = "_test_rank_only"
    tasks = frozenset({"ranking"})

    def loss_terms(self, input, target):  # pragma: no cover - never reached
        return input.sum()


def test_unknown_loss_name_suggests(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="Unknown loss 'focl'.*'focal'"):
        small(loss="focl").fit(X, y)


def test_unknown_loss_param_suggests(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="'gama'.*'gamma'"):
        small(loss="focal", loss__gama=1.0).fit(X, y)


def test_loss_for_another_task(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match=r"_test_rank_only.*ranking.*'binary'"):
        small(loss=RankOnlyLoss).fit(X, y)


def test_loss_of_wrong_type(binary_data):
    X, y = binary_data
    with pytest.raises(TypeError, match="loss must be"):
        small(loss=3.0).fit(X, y)


def test_unexpected_keyword(binary_data):
    X, y = binary_data
    clf = LossClassifier(foo=1)  # accepted at construction, as sklearn requires
    with pytest.raises(TypeError, match="'foo'"):
        clf.fit(X, y)


# -- invalid parameter values ---------------------------------------------------------
@pytest.mark.parametrize(
    "param, value, match",
    [
        ("lr", 0, r"lr must be a float > 0"),
        ("lr", -1, r"lr must be a float > 0"),
        ("batch_size", 0, r"batch_size must be .auto. or an int >= 1"),
        ("max_epochs", 0, r"max_epochs must be an int >= 1"),
        ("validation_fraction", 1.5, r"validation_fraction must be a float in \(0,"),
        ("dropout", 1.0, r"dropout must be a float in \[0, 1\)"),
        ("hidden_layer_sizes", (0,), r"hidden_layer_sizes must be a tuple of ints"),
        ("activation", "nope", r"activation must be one of .*'relu'"),
        ("optimizer", "nope", r"optimizer must be one of .*'adam'"),
        ("class_weight", "nope", r"class_weight must be None, 'balanced' or a dict"),
        ("device", "nope", r"device must be a torch device"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_invalid_param_values(binary_data, param, value, match):
    X, y = binary_data
    clf = small(**{param: value})  # construction never validates
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
