"""The ``sklearn-losses`` command end to end: a user's table in, the leaderboard,
results.csv / results.json / results.png out; bad inputs give ``error:`` and 2."""

import json

import numpy as np
import pandas as pd
import pytest

from sklearn_losses._tables import read_table
from sklearn_losses.cli import main
from sklearn_losses.compare import _report, _run

FAST = ["--cv", "2", "--max-epochs", "3", "--n-jobs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def churn():
    """160 rows: numbers with gaps, a category with gaps, a flag; 'yes' ~ 25 %."""
    rng = np.random.RandomState(0)
    n = 160
    frame = pd.DataFrame(
        {
            "tenure": rng.exponential(20, n).round(1),
            "spend": rng.normal(50, 15, n).round(2),
            "plan": rng.choice(["basic", "pro", "team"], n),
            "paperless": rng.choice([True, False], n),
        }
    )
    risk = -0.08 * frame["tenure"] + 1.2 * frame["plan"].eq("basic") - 0.3
    frame["churned"] = np.where(risk + rng.normal(0, 0.5, n) > 0, "yes", "no")
    frame.loc[::9, "spend"] = np.nan
    frame.loc[::11, "plan"] = np.nan
    return frame


@pytest.fixture(scope="module")
def churn_csv(churn, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "churn.csv"
    churn.to_csv(path, index=False)
    return path


def test_compare_a_csv_end_to_end(churn, churn_csv, tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["compare", str(churn_csv), "--target", "churned"]
    argv += ["--losses", "cross_entropy", "focal:gamma=1,2", "--out", str(out)]
    assert main(argv + FAST) == 0
    stdout = capsys.readouterr().out
    positive = (churn["churned"] == "yes").mean()
    assert f"positive class 'yes' ({positive:.1%})" in stdout
    assert "2 numeric, 2 categorical" in stdout
    labels = ["cross_entropy", "focal:gamma=1,2"]
    labels += ["LogisticRegression(balanced)", "HistGradientBoosting"]
    for label in labels:
        assert f"| {label} |" in stdout
    header = "| loss | F1 | balanced accuracy | PR-AUC | fit time (s) | best params |"
    assert header in stdout
    assert "gamma=" in stdout and "optimistic" in stdout

    table = pd.read_csv(out / "results.csv")
    assert sorted(table["loss"]) == sorted(labels)
    assert table["f1_mean"].is_monotonic_decreasing
    assert table["average_precision_mean"].between(0, 1).all()
    focal = table.set_index("loss").loc["focal:gamma=1,2"]
    assert json.loads(focal["best_params"])["gamma"] in (1, 2)

    results = json.loads((out / "results.json").read_text())
    metadata = results["metadata"]
    assert metadata["pos_label"] == "yes"
    assert metadata["n_rows"] == len(churn) and metadata["n_features"] == 4
    assert (metadata["n_numeric"], metadata["n_categorical"]) == (2, 2)
    assert metadata["cv"] == 2 and metadata["backend"] == "loky"
    assert metadata["data"] == str(churn_csv)
    assert [row["loss"] for row in results["leaderboard"]] == list(table["loss"])
    assert len(results["grid"]) == 1 + 2 + 2

    png = out / "results.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.image import imread

    height, width = imread(png).shape[:2]
    assert width > 1000 and height > 300  # two panels


def test_parquet_pos_label_scoring_and_no_grid(churn, tmp_path, capsys):
    path = tmp_path / "churn.parquet"
    churn.to_parquet(path)
    argv = ["compare", str(path), "--target", "churned", "--pos-label", "no"]
    argv += ["--losses", "focal", "--grid", "none", "--no-reference"]
    argv += ["--scoring", "roc_auc", "recall"]
    assert main(argv + FAST) == 0
    stdout = capsys.readouterr().out
    assert "positive class 'no'" in stdout
    assert "| loss | ROC-AUC | recall | fit time (s) | best params |" in stdout
    assert "| focal |" in stdout and "optimistic" not in stdout


def test_compare_on_the_built_in_data(capsys):
    argv = ["compare", "--losses", "cross_entropy", "--no-reference"]
    assert main(argv + FAST) == 0
    stdout = capsys.readouterr().out
    assert (
        "imbalanced breast cancer" in stdout and "positive class 'malignant'" in stdout
    )
    assert "| cross_entropy |" in stdout and "PR-AUC" in stdout


@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        ("missing target", ["--target", "churn"], "Did you mean 'churned'?"),
        ("missing target", ["--target", "nope"], "Columns (8): tenure, spend"),
        ("no target", [], "--target is needed"),
        ("single class", ["--target", "one_class"], "single class"),
        ("all missing", ["--target", "empty"], "'empty' is empty: all its 160"),
        (
            "continuous as classes",
            ["--target", "level", "--task", "binary"],
            "looks continuous: float values",
        ),
        ("positive class", ["--target", "churned", "--pos-label", "maybe"], "'maybe'"),
        ("unknown loss", ["--target", "churned", "--losses", "focl"], "'focal'"),
        ("unknown metric", ["--target", "churned", "--scoring", "f2"], "'f2'"),
        (
            "labels as regression",
            ["--target", "churned", "--task", "regression"],
            "Task 'regression' needs a numeric target; this one holds values "
            "that are not numbers, e.g. 'no'",
        ),
        (
            "positive class of a regression target",
            ["--target", "level", "--pos-label", "1"],
            "A positive class ('1') applies to a binary target only; this one is "
            "compared as regression.",
        ),
        (
            "three classes as binary",
            ["--target", "plan", "--task", "binary"],
            "Task 'binary' needs two classes; this target has 3: 'basic', 'pro'",
        ),
        (
            "regression metric for classes",
            ["--target", "churned", "--scoring", "rmse"],
            "Metric 'rmse' scores numbers; this target is compared as binary",
        ),
        (
            "classification loss for regression",
            ["--target", "level", "--losses", "focal"],
            "but this target is 'regression'",
        ),
    ],
)
def test_bad_inputs(churn, tmp_path, capsys, case, args, message):
    path = tmp_path / "churn.csv"
    level = np.random.RandomState(1).normal(size=len(churn))
    churn.assign(one_class="x", empty=np.nan, level=level).to_csv(path, index=False)
    assert main(["compare", str(path), *args, *FAST]) == 2, case
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("data.xlsx", b"a,b\n1,2\n", "unknown file type"),
        ("missing.csv", None, "no such file"),
        ("broken.parquet", b"this is not parquet", "as Parquet"),
        ("empty.csv", b"", "as CSV"),
    ],
)
def test_unreadable_files(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert main(["compare", str(path), "--target", "y", *FAST]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_list_losses(capsys):
    assert main(["list-losses", "--task", "binary"]) == 0
    assert "focal" in capsys.readouterr().out.split()


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_csv_with_another_separator_is_read_with_it(churn, tmp_path, sep):
    path = tmp_path / "churn.csv"
    churn.to_csv(path, sep=sep, index=False)
    frame = read_table(path)
    assert list(frame.columns) == list(churn.columns)
    assert frame.attrs["separator"] == sep
    pd.testing.assert_series_equal(frame["spend"], churn["spend"])
    comma = tmp_path / "churn.tsv"
    churn.to_csv(comma, sep=",", index=False)
    assert read_table(comma).attrs["separator"] == ","
    churn.to_csv(path, index=False)
    assert "separator" not in read_table(path).attrs


def test_compare_says_which_separator_it_detected(churn, tmp_path, capsys):
    path = tmp_path / "churn.csv"
    churn.to_csv(path, sep=";", index=False)
    argv = ["compare", str(path), "--target", "churned", "--losses", "focal"]
    assert main(argv + ["--grid", "none", "--no-reference", *FAST]) == 0
    stdout = capsys.readouterr().out
    assert f"Data: {path} (separator ';', detected), 160 rows x 4 columns" in stdout
    assert "| focal |" in stdout


def _no_fit(*args, **kwargs):
    raise AssertionError("a fit ran")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("taken", "error: --out {out!r} is a file; it must be a folder"),
        ("taken/sub", "error: Cannot write the results to --out {out!r}:"),
    ],
)
def test_an_unwritable_out_is_refused_before_any_fit(
    churn_csv, tmp_path, capsys, monkeypatch, name, message
):
    (tmp_path / "taken").write_text("a file")
    monkeypatch.setattr(_run, "fit_and_score", _no_fit)
    out = str(tmp_path / name)
    argv = ["compare", str(churn_csv), "--target", "churned", "--out", out]
    assert main(argv + ["--losses", "cross_entropy", *FAST]) == 2
    assert capsys.readouterr().err.startswith(message.format(out=out))


def test_the_leaderboard_is_printed_before_the_files_are_written(
    churn_csv, tmp_path, capsys, monkeypatch
):
    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(_report, "write_outputs", disk_full)
    argv = ["compare", str(churn_csv), "--target", "churned", "--losses", "focal"]
    argv += ["--grid", "none", "--no-reference", "--out", str(tmp_path / "out")]
    assert main(argv + FAST) == 2
    captured = capsys.readouterr()
    assert "| focal |" in captured.out and "Fit time: mean seconds" in captured.out
    assert captured.err == "error: No space left on device\n"


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    """150 houses: size, age, town; the price is linear in them plus noise."""
    rng = np.random.RandomState(3)
    n = 150
    frame = pd.DataFrame(
        {
            "size": rng.normal(100, 30, n).round(1),
            "age": rng.randint(0, 60, n),
            "rooms": rng.randint(1, 8, n),
            "town": rng.choice(["north", "south"], n),
        }
    )
    frame["price"] = (
        2.0 * frame["size"]
        - frame["age"]
        + 30 * frame["town"].eq("north")
        + rng.normal(0, 10, n)
    ).round(2)
    path = tmp_path_factory.mktemp("houses") / "houses.csv"
    frame.to_csv(path, index=False)
    return path


def test_compare_a_regression_csv(houses, tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["compare", str(houses), "--target", "price", "--losses", "mse", "huber"]
    assert main(argv + ["--out", str(out), *FAST]) == 0
    stdout = capsys.readouterr().out
    assert "150 rows x 4 columns (3 numeric, 1 categorical)" in stdout
    assert "regression target (detected): from " in stdout
    assert "2-fold CV" in stdout and "stratified" not in stdout
    assert "| loss | RMSE | MAE | R² | fit time (s) | best params |" in stdout
    for label in ("mse", "huber", "Ridge", "HistGradientBoosting"):
        assert f"| {label} |" in stdout
    assert "Lower is better: RMSE, MAE." in stdout
    assert "delta=" in stdout  # huber's default grid

    table = pd.read_csv(out / "results.csv")
    assert table["rmse_mean"].is_monotonic_increasing
    assert (table["rmse_mean"] > 0).all()
    metadata = json.loads((out / "results.json").read_text())["metadata"]
    assert metadata["task"] == "regression" and metadata["pos_label"] is None
    assert metadata["lower_is_better"] == ["rmse", "mae"]
    from matplotlib.image import imread

    height, width = imread(out / "results.png").shape[:2]
    assert width < 1000 and height > 300  # one panel: no PR curves


def test_compare_a_multiclass_csv(churn, tmp_path, capsys):
    path = tmp_path / "plans.csv"
    churn.dropna(subset=["plan"]).to_csv(path, index=False)
    argv = ["compare", str(path), "--target", "plan", "--losses", "cross_entropy"]
    assert main(argv + ["focal", "--grid", "none", *FAST]) == 0
    stdout = capsys.readouterr().out
    assert "multiclass target (detected): 3 classes, the smallest " in stdout
    assert "2-fold stratified CV" in stdout
    header = "| loss | macro F1 | balanced accuracy | log-loss | fit time (s) |"
    assert header in stdout
    for label in ("cross_entropy", "focal", "LogisticRegression(balanced)"):
        assert f"| {label} |" in stdout
    assert "Lower is better: log-loss." in stdout


def test_task_overrides_the_detection(houses, capsys):
    argv = ["compare", str(houses), "--target", "rooms", "--no-reference"]
    argv += ["--grid", "none", *FAST]
    # whole numbers: classes unless told otherwise
    assert main([*argv, "--losses", "cross_entropy"]) == 0
    assert "multiclass target (detected): 7 classes" in capsys.readouterr().out
    assert main([*argv, "--losses", "l1", "--task", "regression"]) == 0
    stdout = capsys.readouterr().out
    assert "regression target: from 1 to 7" in stdout
    assert "| l1 |" in stdout and "| loss | RMSE | MAE | R² |" in stdout
