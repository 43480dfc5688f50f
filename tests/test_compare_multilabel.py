"""compare on a multi-label target (several 0/1 label columns):
MultiLabelLossClassifier's losses against one-vs-rest LogisticRegression and
per-label HistGradientBoosting, by micro F1, macro F1 and Jaccard; detection,
metrics, bad input and the command line."""

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_multilabel_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, hamming_loss, jaccard_score, roc_auc_score
from sklearn.model_selection import KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_losses import MultiLabelLossClassifier
from sklearn_losses.cli import main
from sklearn_losses.compare import (
    MULTILABEL_SCORING,
    TASK_CHOICES,
    compare_losses,
    default_candidates,
    get_task,
    resolve_task,
)
from sklearn_losses.compare._spec import combinations
from sklearn_losses.compare._tasks import indicator_target, label_proba
from sklearn_losses.losses import list_losses

FAST = ["--cv", "2", "--max-epochs", "2", "--n-jobs", "1", "--no-progress"]
TAGS = ["tag_a", "tag_b", "tag_c"]


def _fast():
    return MultiLabelLossClassifier(max_epochs=2, hidden_layer_sizes=(8,))


@pytest.fixture(scope="module")
def table():
    """150 rows, 6 numeric features, 3 labels (each present in 50-65% of rows)."""
    X, Y = make_multilabel_classification(
        n_samples=150, n_features=6, n_classes=3, random_state=0
    )
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]), Y


# -- the task and its detection ---------------------------------------------------
def test_the_task(table):
    _, Y = table
    assert "multilabel" in TASK_CHOICES
    task = get_task("multilabel")
    assert task.default_scoring == MULTILABEL_SCORING
    assert task.default_scoring == ("f1_micro", "f1_macro", "jaccard_samples")
    assert not task.stratified
    for y in (Y, Y.tolist(), Y.astype(bool), sp.csr_matrix(Y), pd.DataFrame(Y)):
        task, prepared, positive = resolve_task(y)
        assert task.name == "multilabel" and positive is None
        assert prepared.dtype == np.int64
        np.testing.assert_array_equal(prepared, Y)
    # explicit, and 0.0/1.0 floats and an object column of booleans
    frame = pd.DataFrame({"a": Y[:, 0] * 1.0, "b": Y[:, 1].astype(bool).astype(object)})
    task, prepared, _ = resolve_task(frame, task="multilabel")
    np.testing.assert_array_equal(prepared, Y[:, :2])
    # one column keeps the single-target detection
    assert resolve_task(Y[:, 0])[0].name == "binary"


def test_default_candidates():
    candidates = default_candidates("multilabel")
    assert set(list_losses("multilabel")) == {"bce", "focal", "hybrid"}
    assert set(candidates) == {"bce", "bce:pos_weight=balanced", "focal", "hybrid"}
    assert candidates["bce:pos_weight=balanced"] == {
        "loss": "bce",
        "loss__pos_weight": "balanced",
    }
    # two bce rows, each one point (bce's grid is over pos_weight)
    for label in ("bce", "bce:pos_weight=balanced"):
        combos, keys = combinations(candidates[label], {}, {})
        assert len(combos) == 1 and keys == []
    assert combinations({"loss": "bce"}, {}, {})[1] == ["loss__pos_weight"]


def test_references_and_estimator():
    task = get_task("multilabel")
    assert task.estimator_class is MultiLabelLossClassifier
    ovr, per_label = task.references(0).values()
    assert isinstance(ovr, OneVsRestClassifier)
    assert ovr.estimator.get_params()["class_weight"] == "balanced"
    assert ovr.estimator.get_params()["max_iter"] == 1000
    assert isinstance(per_label, MultiOutputClassifier)
    assert isinstance(per_label.estimator, HistGradientBoostingClassifier)


# -- compare_losses ---------------------------------------------------------------
def test_compare_against_hand_computed_references(table):
    X, Y = table
    result = compare_losses(
        X,
        Y,
        ["bce", "hybrid:lambda_con=0.1"],
        cv=3,
        estimator=_fast(),
        n_jobs=1,
        random_state=0,
    )
    labels = set(result["loss"])
    assert labels == {
        "bce",
        "hybrid:lambda_con=0.1",
        "OneVsRest(LogisticRegression(balanced))",
        "MultiOutput(HistGradientBoosting)",
    }
    assert result["error"].isna().all()
    for metric in MULTILABEL_SCORING:
        assert result[f"{metric}_mean"].between(0, 1).all()
    metadata = result.attrs["metadata"]
    assert metadata["task"] == "multilabel" and metadata["n_labels"] == 3
    # the one-vs-rest row: the same shuffled KFold, standardised features and
    # sklearn.metrics, fold by fold
    row = result.set_index("loss").loc["OneVsRest(LogisticRegression(balanced))"]
    scores = {"micro": [], "macro": [], "jaccard": []}
    for train, test in KFold(3, shuffle=True, random_state=0).split(X):
        scaler = StandardScaler().fit(X.iloc[train])
        model = OneVsRestClassifier(
            LogisticRegression(class_weight="balanced", max_iter=1000)
        ).fit(scaler.transform(X.iloc[train]), Y[train])
        pred = model.predict(scaler.transform(X.iloc[test]))
        for key, score, average in (
            ("micro", f1_score, "micro"),
            ("macro", f1_score, "macro"),
            ("jaccard", jaccard_score, "samples"),
        ):
            scores[key].append(score(Y[test], pred, average=average, zero_division=0.0))
    assert row["f1_micro_mean"] == pytest.approx(np.mean(scores["micro"]))
    assert row["f1_micro_std"] == pytest.approx(np.std(scores["micro"]))
    assert row["f1_macro_mean"] == pytest.approx(np.mean(scores["macro"]))
    assert row["jaccard_samples_mean"] == pytest.approx(np.mean(scores["jaccard"]))
    # a hybrid grid point: lambda_corr's default grid of one value
    assert result.set_index("loss").loc["hybrid:lambda_con=0.1", "grid_size"] == 1


def test_metric_names(table):
    task = get_task("multilabel")
    assert task.metric("f1").name == "f1_micro"
    assert task.metric("jaccard").name == "jaccard_samples"
    assert task.metric("precision_macro").name == "precision_macro"
    assert task.metric("roc_auc").name == "roc_auc"
    assert task.metric("pr_auc_micro").name == "average_precision_micro"
    assert task.metric("hamming_loss").lower_is_better
    assert task.metric("accuracy").name == "subset_accuracy"
    # scores equal sklearn.metrics, for a list-valued predict_proba too
    X, Y = table
    model = MultiOutputClassifier(LogisticRegression()).fit(X, Y)
    proba = label_proba(model, X)
    assert proba.shape == (150, 3)
    pred = model.predict(X)
    assert task.metric("roc_auc").scorer(model, X, Y) == pytest.approx(
        roc_auc_score(Y, proba, average="macro")
    )
    assert task.metric("f1_weighted").scorer(model, X, Y) == pytest.approx(
        f1_score(Y, pred, average="weighted")
    )
    metric = task.metric("hamming_loss")
    assert metric.sign * metric.scorer(model, X, Y) == pytest.approx(
        hamming_loss(Y, pred)
    )
    with pytest.raises(ValueError, match="not a multi-label metric.*'f1_micro'"):
        task.metric("f1_mikro")
    with pytest.raises(ValueError, match="not a multi-label metric"):
        task.metric("rmse")
    with pytest.raises(ValueError, match="given twice"):
        task.metrics(["f1", "f1_micro"])


# -- bad input --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("y", "task", "match"),
    [
        (
            pd.DataFrame({"a": [0, 1, 0, 1], "b": [0, 2, 1, 1]}),
            "auto",
            r"Label column 'b' holds values other than 0 and 1 \(2\)",
        ),
        (
            pd.DataFrame({"a": [0, 1, 0, 1], "b": ["x", "y", "x", "y"]}),
            "auto",
            r"Label column 'b' holds values other than 0 and 1 \('x', 'y'\)",
        ),
        ([[0, 1], [1, 0.5], [1, 1]], "auto", r"Label column 1 holds .* \(0.5\)"),
        ([0, 1, 0, 1], "multilabel", "two or more label columns.*is one column"),
        ([[0], [1], [1]], "multilabel", "two or more label columns.*has one"),
        (
            pd.DataFrame({"a": [0, 1, 0], "b": [1, 1, 1]}),
            "auto",
            "Label column 'b' is 1 in every row",
        ),
        (
            pd.DataFrame({"a": [0, 1, 0], "b": [1, None, 0]}),
            "auto",
            "Label column 'b' has 1 missing values",
        ),
        ([[0, 1], [1, 0]], "binary", "2 columns is a multi-label one.*'binary'"),
        ([[0, 1], [1, 0]], "regression", "use task 'multilabel'"),
    ],
)
def test_bad_targets_are_refused(y, task, match):
    with pytest.raises(ValueError, match=match):
        resolve_task(y, task)


def test_bad_combinations_are_refused(table):
    X, Y = table
    with pytest.raises(ValueError, match="positive class .* compared as multilabel"):
        resolve_task(Y, pos_label=1)
    with pytest.raises(ValueError, match="distill applies to binary and multiclass"):
        compare_losses(X, Y, ["bce"], distill=True, estimator=_fast())
    rare = Y.copy()
    rare[:, 2] = 0
    rare[:3, 2] = 1  # three positive rows, five folds
    with pytest.raises(ValueError, match="Label column 2 has 3 positive rows"):
        compare_losses(X, rare, ["bce"], cv=5, estimator=_fast())
    with pytest.raises(ValueError, match="Losses for 'multilabel': bce, focal"):
        compare_losses(X, Y, ["cross_entropy"], estimator=_fast())
    with pytest.raises(TypeError, match="must be a MultiLabelLossClassifier"):
        compare_losses(X, Y, ["bce"], estimator=MultiOutputClassifier(None))


def test_indicator_target_doc_example():
    assert indicator_target(np.eye(3, dtype=bool)[:, :2]).tolist() == [
        [1, 0],
        [0, 1],
        [0, 0],
    ]


# -- the command line ---------------------------------------------------------------
@pytest.fixture(scope="module")
def csv_path(table, tmp_path_factory):
    X, Y = table
    frame = X.assign(**{tag: Y[:, j] for j, tag in enumerate(TAGS)})
    frame["tag_b"] = frame["tag_b"].astype(bool)  # True/False in the file
    frame.loc[0, "tag_c"] = np.nan  # a row without a target is left out
    frame["note"] = np.where(Y[:, 0] == 1, "yes", "maybe")
    path = tmp_path_factory.mktemp("multilabel") / "tags.csv"
    frame.to_csv(path, index=False)
    return path


def test_command_line(csv_path, tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = ["compare", str(csv_path), "--target", *TAGS, "--losses", "bce"]
    code = main([*argv, *FAST, "--out", str(out_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "149 rows x 7 columns" in out and "1 rows without a target left out" in out
    assert "multilabel target (detected): 3 labels (tag_a " in out
    assert "2-fold CV" in out
    assert "| loss | micro F1 | macro F1 | Jaccard |" in out
    assert "| OneVsRest(LogisticRegression(balanced)) |" in out
    assert "| MultiOutput(HistGradientBoosting) |" in out
    metadata = json.loads((out_dir / "results.json").read_text())["metadata"]
    assert metadata["task"] == "multilabel" and metadata["n_labels"] == 3
    assert (out_dir / "results.png").exists()


def test_a_file_after_one_target_is_the_data(csv_path, capsys):
    # --target takes several columns: "--target tag_a tags.csv" still reads
    # tags.csv as the data, as before
    argv = ["compare", "--target", "tag_a", str(csv_path), "--losses", "focal"]
    assert main([*argv, "--no-reference", *FAST]) == 0
    assert "binary target (detected)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "tag_a", "note"], "Label column 'note' holds values other"),
        (["--target", "tag_a", "--task", "multilabel"], "two or more label columns"),
        (["--target", "tag_a", "tag_b", "--task", "binary"], "use task 'multilabel'"),
        (["--target", "tag_a", "tag_a"], "Target column 'tag_a' is given twice"),
        (["--target", "tag_a", "tag_x"], "'tag_x' is not in the table"),
        (["--target", "tag_a", "tag_b", "--qid", "x0"], "one --target column"),
        (["--target", "tag_a", "tag_b", "--distill"], "distill applies to binary"),
    ],
)
def test_command_line_bad_input(csv_path, capsys, args, message):
    assert main(["compare", str(csv_path), *args, *FAST]) == 2
    assert message in capsys.readouterr().err


def test_command_line_generated_data(capsys):
    code = main(
        ["compare", "--task", "multilabel", "--losses", "bce", "--no-reference"] + FAST
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "generated multi-label data" in out and "5 labels (label_0 " in out
    assert "| bce |" in out
