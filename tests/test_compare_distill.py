"""compare --distill: the student of the gradient-boosting reference on the
leaderboard, fitted inside each training fold, with predict times; the API and
the command line."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier

from sklearn_losses import LossClassifier
from sklearn_losses.cli import main
from sklearn_losses.compare import compare_losses, format_table
from sklearn_losses.compare._tasks import get_task

FAST = LossClassifier(max_epochs=3, hidden_layer_sizes=(8,))
STUDENT_KD = "student(kd) of HistGradientBoosting"
STUDENT_PLD = "student(pld) of HistGradientBoosting"


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(
        n_samples=160, n_features=5, weights=[0.75], random_state=0
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(
        n_samples=180, n_features=6, n_informative=4, n_classes=3, random_state=1
    )
    return X, np.array(["a", "b", "c"])[y]


def test_binary_student_row_with_predict_times(binary):
    X, y = binary
    table = compare_losses(
        X, y, ["cross_entropy"], cv=2, grid=None, estimator=FAST, distill=True
    )
    rows = table.set_index("loss")
    assert rows.loc[STUDENT_KD, "kind"] == "student"
    assert table["error"].isna().all()
    scores = rows.loc[STUDENT_KD, ["f1_mean", "average_precision_mean"]]
    assert np.isfinite(scores.to_numpy(dtype=float)).all()
    assert (table["predict_time"] > 0).all()
    assert table.attrs["metadata"]["distill"] is True
    text = format_table(table)
    assert "predict time (s)" in text.splitlines()[0]
    assert STUDENT_KD in text


def test_multiclass_student_uses_pld(multiclass):
    X, y = multiclass
    table = compare_losses(
        X,
        y,
        ["cross_entropy"],
        cv=2,
        grid=None,
        reference=False,
        estimator=FAST,
        distill=True,
    )
    assert list(table["kind"]).count("student") == 1
    assert STUDENT_PLD in set(table["loss"])
    assert np.isfinite(table["f1_macro_mean"]).all()


def test_student_shares_the_template_network():
    template = LossClassifier(max_epochs=4, hidden_layer_sizes=(5,), lr=0.01)
    (label, student), *_ = get_task("binary").students(3, template).items()
    assert label == STUDENT_KD
    assert student.hidden_layer_sizes == (5,) and student.lr == 0.01
    assert student.loss == "kd" and student.max_epochs == 4
    assert isinstance(student.teacher, HistGradientBoostingClassifier)
    assert student.teacher.random_state == 3
    assert not hasattr(student.teacher, "n_iter_")  # unfitted: fold-safe


def test_teacher_is_fitted_inside_each_training_fold(binary, monkeypatch):
    X, y = binary
    fitted_rows = []
    original = HistGradientBoostingClassifier.fit

    def recording_fit(self, X, y, sample_weight=None):
        fitted_rows.append(len(y))
        return original(self, X, y, sample_weight=sample_weight)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", recording_fit)
    compare_losses(
        X, y, [], cv=2, reference=False, estimator=FAST, distill=True, n_jobs=None
    )
    # one teacher per fold (no reference rows here), each on its training rows
    assert fitted_rows == [80, 80]


def test_without_distill_there_is_no_student_nor_predict_column(binary):
    X, y = binary
    table = compare_losses(X, y, ["cross_entropy"], cv=2, grid=None, estimator=FAST)
    assert "student" not in set(table["kind"])
    assert "predict time" not in format_table(table)
    assert table.attrs["metadata"]["distill"] is False


@pytest.mark.parametrize("task", ["regression", "embedding"])
def test_distill_is_refused_for_other_tasks(task):
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    if task == "regression":
        y = X[:, 0] * 2.5 + 0.1
    with pytest.raises(ValueError, match="distill applies to binary and multiclass"):
        compare_losses(X, y, [], task=task, cv=2, distill=True)


def test_cli_distill(binary, tmp_path, capsys):
    X, y = binary
    path = tmp_path / "data.csv"
    X.assign(label=np.where(y == 1, "yes", "no")).to_csv(path, index=False)
    argv = ["compare", str(path), "--target", "label", "--losses", "cross_entropy"]
    fast = ["--cv", "2", "--max-epochs", "2", "--grid", "none", "--n-jobs", "1"]
    assert main([*argv, *fast, "--no-progress", "--distill"]) == 0
    out = capsys.readouterr().out
    assert STUDENT_KD in out
    assert "predict time (s)" in out and "Predict time:" in out
    regression = ["--task", "regression", "--target", "x0"]
    assert main(["compare", str(path), *regression, *fast, "--distill"]) == 2
    assert "distill applies" in capsys.readouterr().err
