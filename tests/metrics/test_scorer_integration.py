"""AnyLoss and metric scorers inside LossClassifier, grids and sklearn tools."""

import math

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    GridSearchCV,
    TunedThresholdClassifierCV,
    cross_validate,
)
from skorch.callbacks import Callback

from sklearn_losses import LossClassifier
from sklearn_losses.metrics import F1, GMean, make_confusion_metric

FAST = {"max_epochs": 5, "hidden_layer_sizes": (8,), "random_state": 0}


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=240, n_features=5, weights=[0.8], random_state=0
    )


def test_grid_over_metrics_with_metric_scorer(data):
    X, y = data
    search = GridSearchCV(
        LossClassifier(loss="anyloss", **FAST),
        {"loss__metric": ["f1", "gmean", "balanced_accuracy"]},
        scoring=F1.scorer(),
        cv=3,
    )
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_multi_metric_refit_and_cross_validate(data):
    X, y = data
    scoring = {"f1": F1.scorer(), "gmean": GMean.scorer(), "ap": "average_precision"}
    search = GridSearchCV(
        LossClassifier(**FAST),
        {"loss": ["cross_entropy", "anyloss"]},
        scoring=scoring,
        refit="f1",
        cv=3,
    ).fit(X, y)
    assert search.best_params_["loss"] in ("cross_entropy", "anyloss")
    result = cross_validate(LossClassifier(loss="anyloss", **FAST), X, y, cv=3,
                            scoring=scoring)  # fmt: skip
    assert np.isfinite(result["test_gmean"]).all()


def test_scorer_equals_metric_and_weighted_routing(data):
    X, y = data
    clf = LossClassifier(loss="anyloss", **FAST).fit(X, y)
    assert F1.scorer()(clf, X, y) == pytest.approx(f1_score(y, clf.predict(X)))
    w = np.random.RandomState(0).rand(len(y))
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = F1.scorer().set_score_request(sample_weight=True)
        # The estimator is asked not to take the weights: only scoring is weighted.
        est = LossClassifier(loss="anyloss", **FAST).set_fit_request(
            sample_weight=False
        )
        result = cross_validate(
            est, X, y, cv=3, scoring=scorer, params={"sample_weight": w},
            return_estimator=True, return_indices=True,
        )  # fmt: skip
    for model, test, score in zip(
        result["estimator"], result["indices"]["test"], result["test_score"]
    ):
        expected = f1_score(y[test], model.predict(X[test]), sample_weight=w[test])
        assert score == pytest.approx(expected)


def test_tuned_threshold_and_string_labels(data):
    X, y = data
    labels = np.array(["no", "yes"])[y]
    tuned = TunedThresholdClassifierCV(
        LossClassifier(loss="anyloss", **FAST), scoring=F1.scorer(pos_label="yes"), cv=3
    ).fit(X, labels)
    assert set(tuned.predict(X)) <= {"no", "yes"}


def test_user_metric_trains_and_scores_end_to_end(data):
    X, y = data
    informedness = make_confusion_metric(
        lambda tp, fp, fn, tn: tp / (tp + fn) + tn / (tn + fp) - 1, name="informedness"
    )
    clf = LossClassifier(loss="anyloss", loss__metric=informedness, **FAST)
    clf.fit(X, y)
    assert -1 <= informedness.scorer()(clf, X, y) <= 1


class _BatchLabels(Callback):
    def initialize(self):
        self.labels_ = []
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        self.labels_.append(batch[1].tolist())


def test_batch_level_defaults_batch_size_and_stratified_batches():
    X, y = make_classification(
        n_samples=3000, n_features=5, weights=[0.9], random_state=1
    )
    recorder = _BatchLabels()
    clf = LossClassifier(
        loss="anyloss", early_stopping=False, callbacks=[("rec", recorder)], **FAST
    )
    clf.fit(X, y)
    assert clf.net_.batch_size == max(128, math.ceil(0.05 * 3000))
    batches = dict(clf.net_.callbacks_)["rec"].labels_
    assert batches and all(set(b) == {0, 1} for b in batches)


def test_early_stopping_monitors_the_losss_metric(data):
    X, y = data
    seen = {}

    class _Valid(Callback):
        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            seen["y"] = dataset_valid["y"].numpy()
            seen["decision"] = net.forward_tensor(dataset_valid["X"]).numpy()

    clf = LossClassifier(
        loss="anyloss", early_stopping=True, callbacks=[_Valid()], **FAST
    ).fit(X, y)
    expected = f1_score(seen["y"], (seen["decision"] > 0).astype(int), zero_division=0)
    assert clf.history_[-1, "valid_score"] == pytest.approx(expected)
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_score" and not stopper.lower_is_better


def test_multiclass_anyloss(data):
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    clf = LossClassifier(loss="anyloss", loss__average="micro", **FAST).fit(X, y)
    assert clf.predict_proba(X).shape == (300, 3)
