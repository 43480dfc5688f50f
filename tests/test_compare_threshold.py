"""compare --tune-threshold: every candidate of a binary comparison, the
references included, wrapped in TunedThresholdClassifierCV inside each
training fold; the API, the command line, and a tuned LossClassifier inside a
GridSearchCV."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_losses import LossClassifier
from sklearn_losses._tables import make_preprocessor, prepare_features
from sklearn_losses.cli import main
from sklearn_losses.compare import compare_losses
from sklearn_losses.compare._core import THRESHOLD_CV
from sklearn_losses.compare._tasks import BinaryTask, get_task

FAST = LossClassifier(max_epochs=3, hidden_layer_sizes=(8,))
LOGREG = "LogisticRegression(balanced)"
HGB = "HistGradientBoosting"


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=160, n_features=5, weights=[0.75], flip_y=0.05, random_state=0
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


@pytest.fixture(scope="module")
def runs(binary):
    X, y = binary
    kwargs = {"cv": 2, "grid": None, "estimator": FAST, "random_state": 0}
    plain = compare_losses(X, y, ["cross_entropy"], **kwargs)
    tuned = compare_losses(X, y, ["cross_entropy"], tune_threshold=True, **kwargs)
    return plain.set_index("loss"), tuned.set_index("loss"), tuned.attrs


def test_tuned_run_scores_every_candidate_and_says_how(runs):
    plain, tuned, attrs = runs
    assert tuned["error"].isna().all()
    assert set(tuned.index) == {"cross_entropy", LOGREG, HGB}
    assert attrs["metadata"]["threshold"] == {
        "scoring": "f1",
        "first_metric": "f1",
        "inner_folds": THRESHOLD_CV,
        "refit": True,
    }
    assert plain.attrs["metadata"]["threshold"] is None
    # the label metric changes for some candidate; the refitted models are
    # the untuned ones, so the score metric does not change at all
    assert not np.allclose(plain["f1_mean"], tuned.loc[plain.index, "f1_mean"])
    np.testing.assert_allclose(
        tuned.loc[plain.index, "average_precision_mean"],
        plain["average_precision_mean"],
        rtol=1e-12,
    )


@pytest.mark.parametrize("label", [LOGREG, HGB])
def test_references_equal_a_hand_computation(binary, runs, label):
    X, y = binary
    _, tuned, _ = runs
    task = get_task("binary")
    splits = task.splits(task.folds(2, y, 0), y)
    X, numeric, categorical = prepare_features(X)
    model = task.references(0)[label]
    scores = []
    for train, test in splits:
        by_hand = TunedThresholdClassifierCV(
            make_pipeline(make_preprocessor(numeric, categorical), model),
            scoring="f1",
            cv=StratifiedKFold(THRESHOLD_CV, shuffle=True, random_state=0),
            refit=True,
            random_state=0,
        ).fit(X.iloc[train], y[train])
        scores.append(f1_score(y[test], by_hand.predict(X.iloc[test])))
    assert tuned.loc[label, "f1_mean"] == pytest.approx(np.mean(scores), abs=1e-12)
    assert tuned.loc[label, "f1_std"] == pytest.approx(np.std(scores), abs=1e-12)


CALLS = []


class _Recorder(ClassifierMixin, BaseEstimator):
    """Logistic regression that records the rows (column ``row``) it sees."""

    def fit(self, X, y):
        CALLS.append(("fit", frozenset(X["row"].astype(int))))
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        CALLS.append(("predict", frozenset(X["row"].astype(int))))
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def test_the_threshold_is_tuned_on_the_training_fold_only(binary, monkeypatch):
    X, y = binary
    X = X.assign(row=np.arange(len(X)))
    monkeypatch.setattr(
        BinaryTask, "references", lambda self, rs, **_: {"r": _Recorder()}
    )
    monkeypatch.setattr(
        BinaryTask, "preprocessor", lambda self, *_: FunctionTransformer()
    )
    CALLS.clear()
    table = compare_losses(
        X, y, [], cv=3, tune_threshold=True, scoring=["f1"], random_state=1
    )
    assert table["error"].isna().all()
    task = get_task("binary")
    splits = task.splits(task.folds(3, y, 1), y)
    fits = [rows for kind, rows in CALLS if kind == "fit"]
    # per outer fold: one fit per inner fold and the refit on the whole fold
    assert len(fits) == len(splits) * (THRESHOLD_CV + 1)
    trains = [frozenset(train) for train, _ in splits]
    assert all(any(rows <= train for train in trains) for rows in fits)
    assert sum(rows in trains for rows in fits) == len(splits)  # the refits
    tests = [frozenset(test) for _, test in splits]
    for kind, rows in CALLS:
        if any(rows & test for test in tests) and not any(
            rows <= train for train in trains
        ):
            # the test rows are only predicted, by the refitted model
            assert kind == "predict" and rows in tests


def test_a_score_metric_first_tunes_for_f1_and_a_label_metric_for_itself(binary):
    X, y = binary
    kwargs = {"cv": 2, "grid": None, "tune_threshold": True, "random_state": 0}
    table = compare_losses(X, y, [], scoring=["average_precision", "f1"], **kwargs)
    assert table.attrs["metadata"]["threshold"]["scoring"] == "f1"
    assert table.attrs["metadata"]["threshold"]["first_metric"] == "average_precision"
    table = compare_losses(X, y, [], scoring=["balanced_accuracy"], **kwargs)
    assert table.attrs["metadata"]["threshold"]["scoring"] == "balanced_accuracy"


def test_a_tuned_student_runs(binary):
    X, y = binary
    table = compare_losses(
        X,
        y,
        [],
        cv=2,
        reference=False,
        estimator=FAST,
        distill=True,
        tune_threshold=True,
    )
    assert list(table["kind"]) == ["student"]
    assert table["error"].isna().all() and np.isfinite(table["f1_mean"]).all()


@pytest.mark.parametrize(
    ("y", "task"),
    [
        (np.arange(90) % 3, "multiclass"),
        (np.linspace(0.0, 1.0, 90) ** 2, "regression"),
    ],
)
def test_other_tasks_are_refused(y, task):
    X = np.random.RandomState(0).normal(size=(90, 3))
    with pytest.raises(ValueError, match=f"binary target.*compared as {task}"):
        compare_losses(X, y, [], cv=2, tune_threshold=True)


def test_cli_tunes_and_says_so(binary, tmp_path, capsys):
    X, y = binary
    path = tmp_path / "data.csv"
    X.assign(label=y).to_csv(path, index=False)
    argv = ["compare", str(path), "--target", "label", "--losses", "cross_entropy"]
    argv += ["--grid", "none", "--cv", "2", "--max-epochs", "2", "--no-progress"]
    argv += ["--scoring", "average_precision", "f1", "--tune-threshold"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "Thresholds tuned for F1 (TunedThresholdClassifierCV, 3 stratified" in out
    assert "the first metric, PR-AUC, does not depend on the threshold" in out
    assert main([*argv[:-4], "--tune-threshold"]) == 0
    out = capsys.readouterr().out
    assert "Thresholds tuned for F1 (" in out and "first metric" not in out


def test_cli_refuses_a_multiclass_target(tmp_path, capsys):
    path = tmp_path / "data.csv"
    pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60) % 3}).to_csv(path)
    argv = ["compare", str(path), "--target", "y", "--tune-threshold", "--cv", "2"]
    assert main(argv) == 2
    assert "applies to a binary target" in capsys.readouterr().err


def test_grid_search_over_a_tuned_loss_classifier(binary):
    X, y = binary
    tuned = TunedThresholdClassifierCV(
        LossClassifier(max_epochs=3, hidden_layer_sizes=(8,), random_state=0),
        scoring="f1",
        cv=2,
    )
    grid = {"estimator__loss": ["cross_entropy", "focal"]}
    search = GridSearchCV(tuned, grid, scoring="f1", cv=2).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    loss = search.best_params_["estimator__loss"]
    assert best.estimator_.loss == loss
    expected = {"cross_entropy": "CrossEntropyLoss", "focal": "FocalLoss"}[loss]
    assert type(best.estimator_.loss_).__name__ == expected
    assert 0.0 < best.best_threshold_ < 1.0
    assert set(best.predict(X)) <= {0, 1}


def test_grid_search_reaches_the_loss_parameters_through_the_tuner(binary):
    X, y = binary
    tuned = TunedThresholdClassifierCV(
        LossClassifier(loss="focal", max_epochs=2, hidden_layer_sizes=(4,)), cv=2
    )
    search = GridSearchCV(tuned, {"estimator__loss__gamma": [1.0, 3.0]}, cv=2)
    search.fit(X, y)
    assert search.best_estimator_.estimator_.loss_.gamma in (1.0, 3.0)
    assert (
        search.best_estimator_.estimator_.loss_.gamma
        == (search.best_params_["estimator__loss__gamma"])
    )
