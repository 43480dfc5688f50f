"""MultiLabelLossClassifier: shapes, losses in a search, thresholds, the hybrid
loss's training-row statistics, pickling, sklearn's checks and bad input."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.datasets import make_multilabel_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, KFold, train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import MultiLabelLossClassifier
from sklearn_losses.losses import HybridLoss, balanced_pos_weight, label_cosine_matrix
from sklearn_losses.metrics import multilabel_scorer


@pytest.fixture(scope="module")
def data():
    X, Y = make_multilabel_classification(
        n_samples=240, n_features=8, n_classes=4, n_labels=2, random_state=0
    )
    return X, Y


def _clf(**params):
    return MultiLabelLossClassifier(**{"max_epochs": 8, "random_state": 0, **params})


@pytest.mark.parametrize("loss", ["bce", "focal", "hybrid"])
def test_shapes_and_outputs(data, loss):
    X, Y = data
    clf = _clf(loss=loss).fit(X, Y)
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 4) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_allclose(clf.predict_log_proba(X[:5]), np.log(proba), rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X[:5]), (proba > 0.5).astype(int))
    assert clf.decision_function(X[:5]).shape == (5, 4)
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    assert clf.n_outputs_ == 4 and clf.loss_.name == loss
    np.testing.assert_array_equal(clf.threshold_, [0.5] * 4)


def test_hybrid_network_appends_embeddings(data):
    X, Y = data
    clf = _clf(loss="hybrid", hidden_layer_sizes=(16, 8)).fit(X, Y)
    out = clf.net_.forward_tensor(torch.as_tensor(X[:3], dtype=torch.float32))
    assert out.shape == (3, 4 + 8)  # logits, then the last hidden layer
    plain = _clf(loss="hybrid", loss__lambda_con=0.0).fit(X, Y)
    assert plain.net_.module_.n_outputs == 4
    linear = _clf(loss="hybrid", hidden_layer_sizes=()).fit(X, Y)
    assert linear.predict_proba(X[:3]).shape == (3, 4)


def test_losses_in_grid_search(data):
    X, Y = data
    grid = {
        "loss": ["bce", "focal", "hybrid"],
        "loss__lambda_corr": [None],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search = GridSearchCV(
            _clf(max_epochs=4),
            grid,
            cv=KFold(2, shuffle=True, random_state=0),
            scoring=multilabel_scorer("f1", average="macro"),
        ).fit(X, Y)
    assert search.best_estimator_.predict(X).shape == Y.shape
    assert len(search.cv_results_["mean_test_score"]) == 3
    for scoring in ("f1_micro", "jaccard_samples"):
        GridSearchCV(_clf(max_epochs=2), {"loss": ["bce"]}, cv=2, scoring=scoring).fit(
            X, Y
        )


def test_pandas_and_sparse_targets(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=["a", "b", "c", "d"])
    a = _clf().fit(pd.DataFrame(X), frame)
    np.testing.assert_array_equal(a.label_names_, ["a", "b", "c", "d"])
    b = _clf().fit(X, sp.csr_matrix(Y))
    c = _clf().fit(X, Y.astype(bool))
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-6)
    np.testing.assert_allclose(b.predict_proba(X), c.predict_proba(X), rtol=1e-6)
    assert not hasattr(c, "label_names_")


def test_fixed_thresholds(data):
    X, Y = data
    clf = _clf(threshold=[0.2, 0.5, 0.7, 0.9]).fit(X, Y)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(
        clf.predict(X), (proba > [0.2, 0.5, 0.7, 0.9]).astype(int)
    )


def test_tuned_thresholds_are_per_label_and_improve_validation_f1(data):
    X, Y = data
    kw = {"early_stopping": True, "validation_fraction": 0.3, "max_epochs": 6}
    tuned = _clf(threshold="tune", **kw).fit(X, Y)
    fixed = _clf(**kw).fit(X, Y)
    assert tuned.threshold_.shape == (4,) and len(set(tuned.threshold_)) > 1
    # The same split and training: only the thresholds differ.
    np.testing.assert_allclose(tuned.predict_proba(X), fixed.predict_proba(X))
    valid = _validation_rows(tuned, len(X), 0.3)
    proba = tuned.predict_proba(X[valid])
    for c in range(4):
        ours = f1_score(Y[valid, c], proba[:, c] > tuned.threshold_[c])
        half = f1_score(Y[valid, c], proba[:, c] > 0.5, zero_division=0.0)
        assert ours >= half
        # No other cut of the validation probabilities does better.
        best = max(
            f1_score(Y[valid, c], proba[:, c] >= t, zero_division=0.0)
            for t in proba[:, c]
        )
        assert ours == pytest.approx(best)


def _validation_rows(clf, n, fraction):
    """The fit's validation rows (the estimator's seed and split)."""
    seed = int(np.random.RandomState(clf.random_state).randint(0, 2**31 - 1))
    return train_test_split(np.arange(n), test_size=fraction, random_state=seed)[1]


def test_hybrid_statistics_come_from_the_training_rows(data, monkeypatch):
    X, Y = data
    seen = []
    original = HybridLoss.setup

    def spy(self, **kwargs):
        seen.append(np.asarray(kwargs["target"]).copy())
        return original(self, **kwargs)

    monkeypatch.setattr(HybridLoss, "setup", spy)
    train = np.arange(160)
    clf = _clf(loss="hybrid", max_epochs=2).fit(X[train], Y[train])
    np.testing.assert_array_equal(seen[-1], Y[train])
    np.testing.assert_allclose(clf.loss_._R.numpy(), label_cosine_matrix(Y[train]))
    np.testing.assert_allclose(
        clf.loss_._pos_weight.numpy(), balanced_pos_weight(Y[train])
    )
    # With early stopping: the rows left after the validation split.
    seen.clear()
    clf = _clf(loss="hybrid", max_epochs=2, early_stopping=True).fit(X, Y)
    assert len(seen[-1]) == len(X) - int(np.ceil(0.1 * len(X)))
    np.testing.assert_allclose(clf.loss_._R.numpy(), label_cosine_matrix(seen[-1]))


def test_sample_weight(data):
    X, Y = data
    w = np.ones(len(X))
    a = _clf().fit(X, Y, sample_weight=w)
    b = _clf().fit(X, Y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))
    w = np.r_[np.ones(120), np.zeros(120)]
    c = _clf().fit(X, Y, sample_weight=w)
    d = _clf().fit(X[:120], Y[:120])
    assert not np.allclose(c.predict_proba(X), b.predict_proba(X))
    assert d.predict(X).shape == c.predict(X).shape


def test_validation_scoring(data):
    X, Y = data
    clf = _clf(early_stopping=True, validation_scoring="roc_auc").fit(X, Y)
    scores = clf.history_[:, "valid_score"]
    assert all(0 <= s <= 1 for s in scores)
    default = _clf(early_stopping=True, max_epochs=3).fit(X, Y)
    assert all(0 <= s <= 1 for s in default.history_[:, "valid_score"])


def test_pickle_clone_and_determinism(data):
    X, Y = data
    clf = _clf(loss="hybrid", loss__lambda_corr=0.5)
    assert clone(clf).get_params()["loss__lambda_corr"] == 0.5
    fitted = clf.fit(X, Y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    other = clone(clf).fit(X, Y)
    np.testing.assert_array_equal(other.predict_proba(X), fitted.predict_proba(X))


@pytest.mark.parametrize(
    ("Y", "params", "match"),
    [
        (lambda Y: Y[:, 0], {}, "LossClassifier"),
        (lambda Y: Y * 2, {}, "0 and 1"),
        (lambda Y: Y + 0.5, {}, "continuous"),
        (lambda Y: np.c_[Y, np.zeros(len(Y))], {}, r"column\(s\) \[4\]"),
        (
            lambda Y: np.where(np.arange(Y.size).reshape(Y.shape) == 3, np.nan, Y),
            {},
            "y",
        ),
        (lambda Y: Y, {"threshold": "tune"}, "early_stopping"),
        (lambda Y: Y, {"threshold": [0.5, 0.5]}, "threshold"),
        (lambda Y: Y, {"threshold": 1.5}, "threshold"),
        (lambda Y: Y, {"loss": "cross_entropy"}, "multilabel"),
        (lambda Y: Y, {"batch_sampler": "balanced"}, "batch_sampler"),
    ],
)
def test_bad_input(data, Y, params, match):
    X, Y0 = data
    with pytest.raises(ValueError, match=match):
        _clf(**params).fit(X, Y(Y0.astype(float)))


def test_predict_before_fit_and_wrong_width(data):
    X, Y = data
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        _clf().predict(X)
    clf = _clf(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])


# -- scikit-learn's checks ------------------------------------------------------
_CLASS_TARGET = (
    "fits class labels 0..K-1 (as a column); a multi-label classifier takes a 0/1 "
    "indicator matrix only"
)
_ONE_D = "fits a 1-D class target, which a multi-label classifier refuses"
EXPECTED_FAILURES = {
    "check_fit_score_takes_y": _CLASS_TARGET,
    "check_estimators_overwrite_params": _CLASS_TARGET,
    "check_dont_overwrite_parameters": _CLASS_TARGET,
    "check_estimators_fit_returns_self": _CLASS_TARGET,
    "check_readonly_memmap_input": _CLASS_TARGET,
    "check_n_features_in_after_fitting": _CLASS_TARGET,
    "check_positive_only_tag_during_fit": _CLASS_TARGET,
    "check_estimators_dtypes": _CLASS_TARGET,
    "check_sample_weights_pandas_series": _CLASS_TARGET,
    "check_sample_weights_not_an_array": _CLASS_TARGET,
    "check_sample_weights_list": _CLASS_TARGET,
    "check_sample_weights_shape": _CLASS_TARGET,
    "check_sample_weights_not_overwritten": _CLASS_TARGET,
    "check_sample_weight_equivalence_on_dense_data": _CLASS_TARGET,
    "check_dtype_object": _CLASS_TARGET,
    "check_f_contiguous_array_estimator": _CLASS_TARGET,
    "check_classifier_data_not_an_array": _CLASS_TARGET,
    "check_classifiers_train": _CLASS_TARGET,
    "check_methods_sample_order_invariance": _CLASS_TARGET,
    "check_methods_subset_invariance": _CLASS_TARGET,
    "check_fit2d_1feature": _CLASS_TARGET,
    "check_dict_unchanged": _CLASS_TARGET,
    "check_fit2d_predict1d": _CLASS_TARGET,
    "check_classifiers_one_label": _ONE_D,
    "check_classifiers_one_label_sample_weights": _ONE_D,
    "check_classifiers_classes": _ONE_D,
    "check_decision_proba_consistency": _ONE_D,
}


@parametrize_with_checks(
    [MultiLabelLossClassifier(max_epochs=5, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


class _IndicatorOfClasses(MultiLabelLossClassifier):
    """The same estimator, fitted on the one-hot indicator matrix of a class
    target: lets scikit-learn's checks (which feed class labels) exercise the
    multi-label fit, weights and outputs. Test-only adapter."""

    def fit(self, X, y=None, sample_weight=None, **fit_params):
        if y is None:  # refused by the estimator itself
            return super().fit(X, y, sample_weight=sample_weight, **fit_params)
        y = np.asarray(y)
        y = y.reshape(len(y), -1)[:, 0]
        classes = np.unique(y)
        if len(classes) == 1:  # one class: the refusal of a constant column
            classes = np.append(classes, object() if y.dtype == object else -1)
        Y = (y[:, None] == classes[None, :]).astype(int)
        return super().fit(X, Y, sample_weight=sample_weight, **fit_params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        return tags


_TWO_D_OUTPUT = (
    "compares predict (an (n, L) indicator matrix) or predict_proba (independent "
    "per-label probabilities) with a class target's labels or a distribution"
)
_ADAPTED = "the adapter one-hot encodes any target, so the estimator never sees it"
ADAPTER_EXPECTED_FAILURES = {
    "check_fit_score_takes_y": _TWO_D_OUTPUT,
    "check_pipeline_consistency": _TWO_D_OUTPUT,
    "check_classifiers_classes": _TWO_D_OUTPUT,
    "check_classifiers_train": _TWO_D_OUTPUT,
    "check_decision_proba_consistency": _TWO_D_OUTPUT,
    "check_classifiers_regression_target": _ADAPTED,
    "check_supervised_y_2d": _ADAPTED,
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 training: weighted and repeated-row fits agree to about 1e-7, the "
        "check asks rtol=1e-7"
    ),
}


@parametrize_with_checks(
    [_IndicatorOfClasses(max_epochs=5, random_state=0)],
    expected_failed_checks=lambda est: ADAPTER_EXPECTED_FAILURES,
)
def test_sklearn_checks_on_one_hot_class_targets(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
