"""The metrics' scorers in scikit-learn's model selection, with LossClassifier
trained on AnyLoss: grid search over the metric, multi-metric scoring,
cross_validate, weighted scoring under metadata routing, threshold tuning, a
user metric end to end and string labels.

Small networks and few epochs: the scores only need to be finite and equal to
the metric computed by hand on the same predictions.
"""

import numpy as np
import pytest
import sklearn
from sklearn import metrics as skm
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_score,
    cross_validate,
)

from sklearn_losses import LossClassifier
from sklearn_losses.losses import AnyLoss
from sklearn_losses.metrics import F1, GMEAN, GMean, make_confusion_metric

SMALL = {"max_epochs": 5, "hidden_layer_sizes": (8,), "random_state": 0}


def informedness_fn(tp, fp, fn, tn):
    return tp / (tp + fn) + tn / (tn + fp) - 1


def _anyloss(**params):
    return LossClassifier(loss="anyloss", **{**SMALL, **params})


def test_scorer_is_f1_of_predict(binary_data):
    X, y = binary_data
    est = _anyloss().fit(X, y)
    scorer = F1.scorer()
    pred = est.predict(X)
    assert scorer(est, X, y) == F1.score(y, pred)
    assert scorer(est, X, y) == pytest.approx(skm.f1_score(y, pred), abs=1e-15)
    assert GMean.scorer()(est, X, y) == GMEAN.score(y, pred)
    # the scorer's kwargs reach score
    assert F1.scorer(pos_label=0)(est, X, y) == pytest.approx(
        skm.f1_score(y, pred, pos_label=0), abs=1e-15
    )


def test_grid_search_over_anyloss_metrics(binary_data):
    X, y = binary_data
    grid = {"loss__metric": ["f1", "gmean", "balanced_accuracy"], "loss": ["anyloss"]}
    search = GridSearchCV(LossClassifier(**SMALL), grid, scoring=F1.scorer(), cv=3).fit(
        X, y
    )
    scores = search.cv_results_["mean_test_score"]
    assert scores.shape == (3,)
    assert np.all(np.isfinite(scores))
    assert np.all((scores >= 0) & (scores <= 1))
    best = search.best_estimator_
    assert isinstance(best.loss_, AnyLoss)
    assert best.loss_.metric == search.best_params_["loss__metric"]
    assert search.score(X, y) == F1.score(y, best.predict(X))


def test_grid_search_multi_metric_refit(binary_data):
    X, y = binary_data
    scoring = {"f1": F1.scorer(), "gmean": GMean.scorer(), "ap": "average_precision"}
    search = GridSearchCV(
        _anyloss(),
        {"loss__metric": ["f1", "gmean"]},
        scoring=scoring,
        refit="f1",
        cv=3,
    ).fit(X, y)
    results = search.cv_results_
    for key in ("f1", "gmean", "ap"):
        assert np.all(np.isfinite(results[f"mean_test_{key}"])), key
    assert search.best_index_ == int(np.argmin(results["rank_test_f1"]))
    assert search.best_score_ == results["mean_test_f1"][search.best_index_]
    assert search.score(X, y) == F1.score(y, search.best_estimator_.predict(X))


def test_cross_validate_scores_are_the_metrics(binary_data):
    X, y = binary_data
    res = cross_validate(
        _anyloss(loss__metric="gmean"),
        X,
        y,
        scoring={"f1": F1.scorer(), "gmean": GMean.scorer()},
        cv=StratifiedKFold(3),
        return_estimator=True,
        return_indices=True,
    )
    for fold, (est, test) in enumerate(zip(res["estimator"], res["indices"]["test"])):
        pred = est.predict(X[test])
        assert res["test_f1"][fold] == F1.score(y[test], pred)
        assert res["test_gmean"][fold] == GMEAN.score(y[test], pred)
    assert np.all(np.isfinite(res["test_f1"]))


def test_weighted_scoring_with_metadata_routing(binary_data):
    """The scorer requests sample_weight; the estimator is told not to (False):
    the fitted models are then those of an unweighted fit, so the test isolates
    the scorer's weighting, and every fold can be checked by hand with its
    returned estimator. (Without a request, routing refuses the weights.)"""
    X, y = binary_data
    w = np.random.default_rng(0).integers(1, 5, len(y)).astype(float)
    with sklearn.config_context(enable_metadata_routing=True):
        est = _anyloss().set_fit_request(sample_weight=False)
        scorer = F1.scorer().set_score_request(sample_weight=True)
        res = cross_validate(
            est,
            X,
            y,
            scoring={"f1": scorer},
            params={"sample_weight": w},
            cv=StratifiedKFold(3),
            return_estimator=True,
            return_indices=True,
        )
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError):
            cross_validate(
                _anyloss(),
                X,
                y,
                scoring={"f1": scorer},
                params={"sample_weight": w},
                cv=3,
            )
    differs = False
    for fold, (fitted, test) in enumerate(
        zip(res["estimator"], res["indices"]["test"])
    ):
        pred = fitted.predict(X[test])
        weighted = F1.score(y[test], pred, sample_weight=w[test])
        assert res["test_f1"][fold] == pytest.approx(weighted, abs=1e-15)
        assert weighted == pytest.approx(
            skm.f1_score(y[test], pred, sample_weight=w[test]), abs=1e-15
        )
        differs |= weighted != F1.score(y[test], pred)
        # the fit did not see the weights
        unweighted = _anyloss().fit(
            X[res["indices"]["train"][fold]], y[res["indices"]["train"][fold]]
        )
        np.testing.assert_array_equal(unweighted.predict(X[test]), pred)
    assert differs  # the weights changed some fold's score


def test_tuned_threshold_with_f1_scorer(binary_data):
    X, y = binary_data
    tuned = TunedThresholdClassifierCV(
        _anyloss(), scoring=F1.scorer(), cv=3, thresholds=20
    ).fit(X, y)
    assert np.isfinite(tuned.best_threshold_)
    assert 0.0 <= tuned.best_score_ <= 1.0
    pred = tuned.predict(X)
    assert set(pred) <= set(np.unique(y))
    proba = tuned.estimator_.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(
        pred, (proba >= tuned.best_threshold_).astype(y.dtype)
    )


def test_user_metric_trains_and_scores_end_to_end(binary_data):
    X, y = binary_data
    informedness = make_confusion_metric(
        lambda tp, fp, fn, tn: tp / (tp + fn) + tn / (tn + fp) - 1,
        name="informedness_user",
    )
    est = _anyloss(loss__metric=informedness, max_epochs=10, lr=1e-2).fit(X, y)
    assert est.loss_.metric is informedness
    pred = est.predict(X)
    expected = skm.balanced_accuracy_score(y, pred, adjusted=True)
    scorer = informedness.scorer()
    assert scorer(est, X, y) == pytest.approx(expected, abs=1e-12)
    assert np.all(np.isfinite(est.history_[:, "train_loss"]))
    # through clone and cross-validation (the lambda travels with the metric)
    scores = cross_val_score(
        _anyloss(loss__metric=informedness), X, y, scoring=scorer, cv=3
    )
    assert np.all(np.isfinite(scores))
    # and as the early-stopping score (the loss's own validation scorer)
    est = _anyloss(
        loss__metric=informedness, early_stopping=True, n_iter_no_change=2
    ).fit(X, y)
    assert np.all(np.isfinite(est.history_[:, "valid_score"]))


def test_module_level_user_metric_in_grid(binary_data):
    X, y = binary_data
    informedness = make_confusion_metric(informedness_fn, "informedness_fn")
    search = GridSearchCV(
        _anyloss(),
        {"loss__metric": [informedness, "f1"]},
        scoring={"inf": informedness.scorer(), "f1": F1.scorer()},
        refit="inf",
        cv=3,
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_inf"]))


def test_string_labels_with_pos_label(binary_data):
    X, y = binary_data
    labels = np.where(y == 1, "yes", "no")
    est = _anyloss().fit(X, labels)
    pred = est.predict(X)
    assert set(pred) <= {"yes", "no"}
    for pos in ("yes", "no"):
        scorer = F1.scorer(pos_label=pos)
        expected = skm.f1_score(labels, pred, pos_label=pos)
        assert scorer(est, X, labels) == pytest.approx(expected, abs=1e-15)
    scores = cross_val_score(
        _anyloss(), X, labels, scoring=F1.scorer(pos_label="yes"), cv=3
    )
    assert np.all(np.isfinite(scores))
    # the default pos_label=1 is not a label here
    with pytest.raises(ValueError, match="pos_label"):
        F1.scorer()(est, X, labels)
