"""The main job in Python: compare_losses, its specs and grids, the table, the
built-in data, and identical results on loky and Dask."""

import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_losses import LossClassifier
from sklearn_losses._tables import binary_target
from sklearn_losses.compare import (
    _run,
    _spec,
    compare_losses,
    default_candidates,
    format_table,
)
from sklearn_losses.compare._spec import combinations, parse_candidate
from sklearn_losses.datasets import load_imbalanced_breast_cancer, make_anyloss_random

FAST = LossClassifier(max_epochs=3, hidden_layer_sizes=(8,))
METRICS = ("f1", "balanced_accuracy", "average_precision")
TIMES = ["fit_time", "predict_time"]  # wall-clock: differ between runs


@pytest.fixture(scope="module")
def cancer():
    return load_imbalanced_breast_cancer(return_X_y=True)


def test_breast_cancer_task_matches_the_papers_construction():
    from sklearn.datasets import load_breast_cancer

    X, t = load_breast_cancer(return_X_y=True, as_frame=True)
    df = X.assign(y=(t == 0).astype(int))
    df = pd.concat([df[df.y == 0], df[df.y == 1].sample(n=36, random_state=100)])
    X_ref, y_ref = df.drop(columns="y").to_numpy(), df.y.to_numpy()
    X_ours, y_ours = load_imbalanced_breast_cancer(return_X_y=True)
    np.testing.assert_array_equal(X_ours, X_ref)
    np.testing.assert_array_equal(y_ours, y_ref)
    bunch = load_imbalanced_breast_cancer(as_frame=True)
    assert list(bunch.data.columns) == list(bunch.feature_names)


def test_anyloss_random_task_shape_and_imbalance():
    X, y = make_anyloss_random()
    assert X.shape == (10000, 2)
    assert 0.08 < y.mean() < 0.12


def test_leaderboard_rows_grid_and_references(cancer):
    X, y = cancer
    table = compare_losses(
        X, y, ["cross_entropy", "focal:gamma=1,2"], cv=2, estimator=FAST
    )
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns[:2]) == ["loss", "kind"]
    assert set(table["loss"]) == {
        "cross_entropy",
        "focal:gamma=1,2",
        "LogisticRegression(balanced)",
        "HistGradientBoosting",
    }
    by_label = table.set_index("loss")
    assert by_label.loc["HistGradientBoosting", "kind"] == "reference"
    assert by_label.loc["focal:gamma=1,2", "grid_size"] == 2
    assert by_label.loc["focal:gamma=1,2", "best_params"]["gamma"] in (1, 2)
    assert by_label.loc["cross_entropy", "best_params"] == {}
    for metric in METRICS:
        assert table[f"{metric}_mean"].between(0, 1).all()
        assert (table[f"{metric}_std"] >= 0).all()
    assert (table["fit_time"] > 0).all()
    assert table["error"].isna().all()
    assert table["f1_mean"].is_monotonic_decreasing
    # every grid point is kept, and the leaderboard shows the best of each grid
    grid = pd.DataFrame(table.attrs["grid"])
    assert len(grid) == 1 + 2 + 2
    focal = grid[grid["loss"] == "focal:gamma=1,2"]
    assert by_label.loc["focal:gamma=1,2", "f1_mean"] == focal["f1_mean"].max()
    metadata = table.attrs["metadata"]
    assert metadata["pos_label"] == 1 and metadata["n_fits"] == 5 * 2
    text = format_table(table)
    assert "| focal:gamma=1,2 |" in text and "gamma=" in text and "PR-AUC" in text


def test_compare_losses_is_reproducible_and_multiclass():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    kwargs = {"cv": 2, "estimator": FAST, "reference": False}
    first = compare_losses(X, y, ["cross_entropy"], **kwargs)
    second = compare_losses(X, y, ["cross_entropy"], **kwargs)
    assert first.attrs["metadata"]["task"] == "multiclass"
    pd.testing.assert_frame_equal(
        first.drop(columns=TIMES), second.drop(columns=TIMES)
    )
    assert 0 <= first.loc[0, "f1_macro_mean"] <= 1
    assert first.loc[0, "log_loss_mean"] > 0  # shown as the loss, not negated


def test_table_with_categories_and_missing_values():
    rng = np.random.RandomState(0)
    n = 120
    X = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "plan": rng.choice(["basic", "pro", None], n),
            "vip": rng.choice([True, False], n),
        }
    )
    X.loc[::7, "age"] = np.nan
    y = np.where(X["plan"].eq("pro") & (rng.rand(n) < 0.8), "churn", "stay")
    table = compare_losses(X, y, [], cv=2, scoring=["roc_auc", "f1"])
    assert list(table["kind"]) == ["reference", "reference"]
    assert table["roc_auc_mean"].min() > 0.6  # the one-hot plan column is used
    metadata = table.attrs["metadata"]
    assert (metadata["n_numeric"], metadata["n_categorical"]) == (1, 2)
    assert metadata["pos_label"] == "churn"


def test_loss_specs():
    assert parse_candidate("anyloss:f1")[1] == {
        "loss": "anyloss",
        "loss__metric": "f1",
    }
    label, fixed, grid = parse_candidate("focal:gamma=0.5,1,alpha=0.25")
    assert label == "focal:gamma=0.5,1,alpha=0.25"
    assert fixed == {"loss": "focal", "loss__alpha": 0.25}
    assert grid == {"loss__gamma": [0.5, 1]}
    assert parse_candidate("focal:1,2")[2] == {"loss__gamma": [1, 2]}
    assert parse_candidate("cross_entropy:class_weight=balanced")[1] == {
        "loss": "cross_entropy",
        "class_weight": "balanced",
    }
    assert parse_candidate({"loss": "focal", "label": "f"})[:2] == (
        "f",
        {"loss": "focal"},
    )


def test_default_grids_and_their_overrides():
    # {}: no override, each loss's default_grid
    combos, keys = combinations({"loss": "focal"}, {}, {})
    assert keys == ["loss__gamma"] and len(combos) == 2
    # a value in the spec replaces the default grid of that parameter only
    combos, keys = combinations({"loss": "focal", "loss__gamma": 3.0}, {}, {})
    assert keys == [] and combos == [{"loss": "focal", "loss__gamma": 3.0}]
    combos, _ = combinations({"loss": "focal"}, {}, None)
    assert combos == [{"loss": "focal"}]
    combos, _ = combinations({"loss": "focal"}, {}, {"focal": {}})
    assert combos == [{"loss": "focal"}]
    spec_grid = {"loss__alpha": [0.25, 0.5]}
    assert len(combinations({"loss": "focal"}, spec_grid, {})[0]) == 4


def test_positive_class():
    y = np.array(["a"] * 5 + ["b"] * 2)
    assert binary_target(y)[1] == "b"
    assert binary_target(y, pos_label="a")[0].sum() == 5
    assert binary_target(np.array([0, 0, 1]), pos_label="1")[1] == 1
    with pytest.raises(ValueError, match="'c' is not in the target"):
        binary_target(y, pos_label="c")
    with pytest.raises(ValueError, match="single class"):
        binary_target(np.ones(5))


def test_default_candidates_cover_registry():
    candidates = default_candidates("binary")
    expected = {
        "cross_entropy",
        "focal",
        "anyloss",
        "cross_entropy:class_weight=balanced",
    }
    assert expected <= set(candidates)
    # left out: needs likelihood= in fit; re-runs the network (expensive)
    assert not {"generalized_focal", "adv_comp_sum"} & set(candidates)
    # each label is a spec that gives the same parameters
    for label, params in candidates.items():
        assert parse_candidate(label)[1] == params


@pytest.mark.parametrize(
    ("losses", "kwargs", "match"),
    [
        (["focl"], {}, "Did you mean 'focal'"),
        (["focal:gamma"], {}, "key=value"),
        (["mae:1"], {}, "key=value"),
        (["focal:gama=1"], {}, "gamma"),
        (["zloss"], {}, "supports"),
        (["focal", "focal"], {}, "same label"),
        (["focal"], {"scoring": ["f1", "pr_acu"]}, "Unknown metric 'pr_acu'"),
        (["focal"], {"cv": 40}, "fewer than the 40 folds"),
        (["focal"], {"backend": "ray"}, "backend"),
    ],
)
def test_bad_inputs_are_refused_before_any_fit(cancer, losses, kwargs, match):
    X, y = cancer
    with pytest.raises(ValueError, match=match):
        compare_losses(X, y, losses, estimator=FAST, **{"cv": 2, **kwargs})


def test_a_failing_candidate_is_reported_and_the_others_go_on(cancer):
    X, y = cancer
    bad = {"loss": "cross_entropy", "lr": -1.0, "label": "bad"}
    with pytest.warns(UserWarning, match="bad"):
        table = compare_losses(
            X, y, ["cross_entropy", bad], cv=2, estimator=FAST, reference=False
        )
    assert list(table["loss"]) == ["cross_entropy", "bad"]
    assert np.isnan(table.loc[1, "f1_mean"])
    assert "lr must be" in table.loc[1, "error"]
    assert "failed" in format_table(table)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_scores_of_loky(binary_data):
    X, y = binary_data
    kwargs = {"losses": ["cross_entropy", "focal:gamma=1,2"], "cv": 2}
    kwargs["estimator"] = FAST
    loky = compare_losses(X, y, n_jobs=2, **kwargs)
    dask = compare_losses(X, y, n_jobs=2, backend="dask", **kwargs)
    assert dask.attrs["metadata"]["backend"] == "dask"
    assert len(dask) == 4
    pd.testing.assert_frame_equal(
        loky.drop(columns=TIMES), dask.drop(columns=TIMES)
    )


def test_a_missing_optional_dependency_says_how_to_install(monkeypatch):
    from sklearn_losses._tables import require

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-losses\[compare\]"'):
        require("matplotlib")


def test_grid_argument_replaces_a_losses_default_grid(cancer):
    X, y = cancer
    kwargs = {"cv": 2, "estimator": FAST, "reference": False}
    grid = {"focal": {"gamma": [0.5, 1.0, 2.0]}, "anyloss": {}}
    table = compare_losses(X, y, ["focal", "anyloss"], grid=grid, **kwargs)
    assert dict(zip(table["loss"], table["grid_size"])) == {"focal": 3, "anyloss": 1}
    assert (
        compare_losses(X, y, ["focal"], grid=None, **kwargs)["grid_size"] == 1
    ).all()
    with pytest.raises(ValueError, match="Did you mean 'gamma'"):
        compare_losses(X, y, ["focal"], grid={"focal": {"gama": [1]}}, **kwargs)


def _no_fit(*args, **kwargs):
    raise AssertionError("a fit ran")


@pytest.mark.parametrize(
    ("make_out", "match"),
    [
        (lambda tmp: tmp / "taken", "is a file; it must be a folder"),
        (lambda tmp: tmp / "taken" / "sub", "Cannot write the results to out"),
        (lambda tmp: tmp / "folder", "Cannot write results.csv in out .*a folder"),
    ],
)
def test_an_out_that_cannot_be_written_is_refused_before_any_fit(
    binary_data, tmp_path, monkeypatch, make_out, match
):
    X, y = binary_data
    (tmp_path / "taken").write_text("a file")
    (tmp_path / "folder" / "results.csv").mkdir(parents=True)
    monkeypatch.setattr(_run, "fit_and_score", _no_fit)
    with pytest.raises(ValueError, match=match):
        compare_losses(X, y, ["cross_entropy"], cv=2, out=make_out(tmp_path))


def test_the_out_folder_is_created_before_the_first_fit(
    binary_data, tmp_path, monkeypatch
):
    X, y = binary_data
    out = tmp_path / "new" / "results"

    def first_fit(*args, **kwargs):
        assert out.is_dir()
        raise KeyboardInterrupt  # stop the run at its first fit

    monkeypatch.setattr(_run, "fit_and_score", first_fit)
    with pytest.raises(KeyboardInterrupt):
        compare_losses(X, y, ["cross_entropy"], cv=2, out=out)


def test_fit_time_leaves_out_the_one_time_start_up(binary_data, monkeypatch):
    """The first network fit of a process pays for torch's start-up (faked here
    with a sleep); the untimed warm-up fit takes it, once per process."""
    X, y = binary_data
    fits = []
    fit = LossClassifier.fit

    def first_fit_is_slow(self, *args, **kwargs):
        fits.append(self)
        if len(fits) == 1:
            time.sleep(1.5)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LossClassifier, "fit", first_fit_is_slow)
    monkeypatch.setattr(_run, "WARMED_UP", set())
    kwargs = {"cv": 2, "grid": None, "reference": False, "estimator": FAST}
    table = compare_losses(X, y, ["cross_entropy", "focal"], **kwargs)
    assert table["fit_time"].max() < 0.6, table[["loss", "fit_time"]]
    n_fits = table.attrs["metadata"]["n_fits"]
    assert len(fits) == n_fits + 1  # the fits and one warm-up
    fits.clear()
    compare_losses(X, y, ["cross_entropy"], **kwargs)
    assert len(fits) == 2  # this process is warm: no second warm-up


def test_the_template_shares_only_its_non_loss_parameters(binary_data):
    X, y = binary_data
    template = LossClassifier(
        max_epochs=3, hidden_layer_sizes=(8,), loss="focal", loss__gamma=3.0
    )
    with pytest.warns(UserWarning, match="loss='focal', loss__gamma=3.0 is not sh"):
        table = compare_losses(
            X,
            y,
            ["cross_entropy", "anyloss"],
            grid=None,
            reference=False,
            cv=2,
            estimator=template,
        )
    assert table["error"].isna().all() and table["f1_mean"].notna().all()
    shared = table.attrs["metadata"]["estimator"]
    assert shared["max_epochs"] == 3 and shared["hidden_layer_sizes"] == [8]
    assert shared["loss"] == "cross_entropy" and "loss__gamma" not in shared
    assert template.get_params()["loss__gamma"] == 3.0  # left as it was
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _spec.template(FAST, LossClassifier).get_params() == FAST.get_params()
    with pytest.raises(TypeError, match="estimator must be a LossClassifier"):
        _spec.template(pd.DataFrame(), LossClassifier)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.full(6, np.nan), "The target is empty: all its 6 values are missing"),
        (np.array([], dtype=float), r"The target is empty \(0 rows\)"),
        (np.array([0.0, 1.0, np.nan, 1.0]), "1 missing values in 4 rows"),
        (
            np.random.RandomState(0).normal(size=300),
            "looks continuous: float values, 300 distinct in 300 rows.*class labels",
        ),
    ],
)
def test_target_messages_say_what_is_wrong(y, match):
    with pytest.raises(ValueError, match=match):
        binary_target(y)


def test_float_class_labels_are_not_taken_for_a_continuous_target():
    assert binary_target(np.array([0.5, 1.5, 0.5]))[1] == 1.5
    whole = np.repeat(np.arange(30), 2)  # 30 classes in an integer column
    assert binary_target(whole)[1] is None
    with pytest.raises(ValueError, match="continuous"):  # the same as floats
        binary_target(whole.astype(float))
