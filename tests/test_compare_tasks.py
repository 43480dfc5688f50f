"""compare's tasks: detecting binary, multiclass and regression targets, what
each task decides (metrics and their direction, references, estimator,
candidates), and compare_losses on a multiclass and a regression table."""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.metrics import mean_pinball_loss

from sklearn_losses import LossClassifier
from sklearn_losses.compare import (
    compare_losses,
    default_candidates,
    default_grids,
    get_task,
    resolve_task,
)
from sklearn_losses.compare._spec import combinations, parse_candidate
from sklearn_losses.compare._tasks import PinballMetric
from sklearn_losses.losses import BaseLoss, get_loss_class, list_losses
from sklearn_losses.losses import _registry as registry

RNG = np.random.RandomState(0)
CONTINUOUS = RNG.normal(size=60)


@pytest.fixture(scope="module")
def regression_table():
    """150 rows: two numbers and a category; y linear in them plus noise."""
    rng = np.random.RandomState(1)
    n = 150
    X = pd.DataFrame(
        {
            "size": rng.normal(100, 30, n),
            "age": rng.uniform(0, 50, n),
            "town": rng.choice(["a", "b", "c"], n),
        }
    )
    y = 2.0 * X["size"] - X["age"] + 40 * X["town"].eq("a") + rng.normal(0, 10, n)
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def multiclass_table():
    """150 rows, 3 classes (60 / 50 / 40) separated along two features."""
    rng = np.random.RandomState(2)
    y = np.repeat(["ant", "bee", "cat"], [60, 50, 40])
    centres = {"ant": (0, 0), "bee": (2, 0), "cat": (0, 2)}
    X = np.array([centres[c] for c in y]) + rng.normal(0, 0.7, (150, 2))
    return pd.DataFrame(X, columns=["u", "v"]), y


def _fast_regressor():
    from sklearn_losses import LossRegressor

    return LossRegressor(max_epochs=5, hidden_layer_sizes=(8,))


FAST_CLASSIFIER = LossClassifier(max_epochs=3, hidden_layer_sizes=(8,))


# -- detection and overrides -----------------------------------------------------
@pytest.mark.parametrize(
    ("y", "task"),
    [
        (np.array(["no", "yes", "no"]), "binary"),
        (np.array([0, 1, 2, 2]), "multiclass"),
        (CONTINUOUS, "regression"),
        (np.array([0.5, 1.5, 0.5]), "binary"),  # a few float labels
        (np.repeat(np.arange(30), 2), "multiclass"),  # an integer column
        (np.repeat(np.arange(30.0), 2), "regression"),  # many whole-number floats
    ],
)
def test_auto_detects_the_task(y, task):
    assert resolve_task(y)[0].name == task


def test_task_overrides_detection():
    task, y, positive = resolve_task(np.array([1, 2, 3, 3]), task="regression")
    assert task.name == "regression" and positive is None
    assert y.dtype == np.float64 and y.tolist() == [1.0, 2.0, 3.0, 3.0]
    task, y, _ = resolve_task(np.array(["a", "b", "b"]), task="multiclass")
    assert task.name == "multiclass" and y.tolist() == ["a", "b", "b"]
    task, y, positive = resolve_task(np.array(["a", "b", "b"]), pos_label="b")
    assert (task.name, positive, y.tolist()) == ("binary", "b", [0, 1, 1])


@pytest.mark.parametrize(
    ("y", "task", "pos_label", "match"),
    [
        (np.array(["no", "yes"] * 3), "regression", None, "needs a numeric target"),
        (CONTINUOUS, "auto", "1", "binary target only; this one is compared as re"),
        (np.array([0, 1, 2] * 3), "multiclass", 1, "compared as multiclass"),
        (np.array([0, 1, 2] * 3), "binary", None, "Task 'binary' needs two classes"),
        (CONTINUOUS, "multiclass", None, "looks continuous.*task 'regression'"),
        (CONTINUOUS, "classification", None, "task must be one of auto, binary"),
        (np.ones(5), "regression", None, "constant"),
        (np.array([1.0, np.inf, 2.0]), "regression", None, "1 infinite values"),
        (np.array([1.0, np.nan, 2.0]), "regression", None, "1 missing values"),
    ],
)
def test_bad_combinations_are_refused(y, task, pos_label, match):
    with pytest.raises(ValueError, match=match):
        resolve_task(y, task, pos_label)


# -- metrics -----------------------------------------------------------------------
def test_default_metrics_and_their_direction():
    shown = {
        name: [(m.name, m.lower_is_better) for m in get_task(name).metrics()]
        for name in ("binary", "multiclass", "regression")
    }
    assert shown == {
        "binary": [
            ("f1", False),
            ("balanced_accuracy", False),
            ("average_precision", False),
        ],
        "multiclass": [
            ("f1_macro", False),
            ("balanced_accuracy", False),
            ("log_loss", True),
        ],
        "regression": [("rmse", True), ("mae", True), ("r2", False)],
    }
    # a neg_* scorer is shown as the error itself, under its name without neg_
    (metric,) = get_task("regression").metrics(["neg_mean_absolute_error"])
    assert (metric.name, metric.lower_is_better) == ("mean_absolute_error", True)


@pytest.mark.parametrize(
    ("task", "scoring", "match"),
    [
        ("regression", ["f1"], "'f1' scores class labels or class scores; this ta"),
        ("regression", ["roc_auc"], "scores class labels"),
        ("binary", ["rmse"], "'rmse' scores numbers; this target is compared as b"),
        ("multiclass", ["pinball"], "scores numbers"),
        ("regression", ["pinball_2"], r"level after 'pinball_' must be .* \(0, 1\)"),
        ("regression", ["rmse", "neg_root_mean_squared_error"], "twice"),
        ("regression", ["rsme"], "Did you mean 'rmse'"),
    ],
)
def test_metrics_of_the_wrong_kind_or_unknown_are_refused(task, scoring, match):
    with pytest.raises(ValueError, match=match):
        get_task(task).metrics(scoring)


def test_pinball_scores_each_candidate_at_its_own_level():
    X, y = np.zeros((40, 1)), np.arange(40.0)
    model = DummyRegressor(strategy="constant", constant=10.0).fit(X, y)
    own, fixed = get_task("regression").metrics(["pinball", "pinball_0.2"])
    assert isinstance(own, PinballMetric) and own.lower_is_better
    for params, alpha in [
        ({"loss": "quantile", "loss__alpha": 0.9}, 0.9),
        ({"loss": "quantile"}, 0.5),  # the loss's default level
        ({"loss": "mse"}, 0.5),
        ({}, 0.5),  # a reference model
    ]:
        score = own.sign * own.scorer_for(params)(model, X, y)
        assert score == pytest.approx(
            mean_pinball_loss(y, model.predict(X), alpha=alpha)
        )
        score = fixed.sign * fixed.scorer_for(params)(model, X, y)
        assert score == pytest.approx(mean_pinball_loss(y, model.predict(X), alpha=0.2))


# -- candidates, grids and key parameters from the loss classes ------------------
def test_candidates_per_task():
    table = [
        name
        for name in list_losses("regression")
        if not get_loss_class(name).image
        and get_loss_class(name).prediction_link is None
    ]
    assert list(default_candidates("regression")) == table
    assert {"mse", "huber"} <= set(table)
    assert not {"ssim", "ms_ssim", "betti_matching", "bce"} & set(table)
    assert "cross_entropy:class_weight=balanced" in default_candidates("multiclass")
    assert "ensloss" not in default_candidates("multiclass")  # binary only
    assert default_grids("regression") == {
        "bce": {"pos_weight": [None, "balanced"]},
        "huber": {"delta": [0.5, 1.35]},
        "quantile": {"alpha": [0.5]},
    }


def test_every_key_parameter_and_default_grid_names_a_parameter_of_its_loss():
    for name in list_losses():
        cls = get_loss_class(name)
        params = cls._param_names()
        assert cls.key_parameter in (None, *params), name
        for key, values in cls.default_grid.items():
            assert key in params and len(values) >= 1, name
            for value in values:
                cls(**{key: value})  # a value the loss accepts


class _ScaledMSELoss(BaseLoss):
    """A loss the compare package has never heard of."""

    name = "scaled_mse"
    tasks = frozenset({"regression"})
    key_parameter = "scale"
    default_grid = {"scale": [1.0, 2.0]}

    def __init__(self, *, scale=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.scale = scale

    def loss_terms(self, input, target):
        return self.scale * (input - target) ** 2


def test_a_new_loss_brings_its_key_parameter_and_grid(monkeypatch):
    from sklearn_losses import LossRegressor

    monkeypatch.setitem(registry._REGISTRY, "scaled_mse", _ScaledMSELoss)
    assert "scaled_mse" in default_candidates("regression")
    assert default_grids("regression")["scaled_mse"] == {"scale": [1.0, 2.0]}
    _, params, _ = parse_candidate("scaled_mse:3", LossRegressor)
    assert params == {"loss": "scaled_mse", "loss__scale": 3}
    combos, keys = combinations({"loss": "scaled_mse"}, {}, {})
    assert keys == ["loss__scale"] and len(combos) == 2


# -- compare_losses on each task ----------------------------------------------------
def test_compare_a_multiclass_table(multiclass_table):
    X, y = multiclass_table
    table = compare_losses(
        X, y, ["cross_entropy", "focal"], grid=None, cv=2, estimator=FAST_CLASSIFIER
    )
    metadata = table.attrs["metadata"]
    assert metadata["task"] == "multiclass" and metadata["pos_label"] is None
    assert metadata["scoring"] == ["f1_macro", "balanced_accuracy", "log_loss"]
    assert metadata["lower_is_better"] == ["log_loss"]
    assert set(table["loss"]) == {
        "cross_entropy",
        "focal",
        "LogisticRegression(balanced)",
        "HistGradientBoosting",
    }
    assert table["f1_macro_mean"].is_monotonic_decreasing
    assert table["f1_macro_mean"].between(0, 1).all()
    assert (table["log_loss_mean"] > 0).all()
    # the classes are well separated: the references find them
    reference = table.set_index("loss").loc["LogisticRegression(balanced)"]
    assert reference["balanced_accuracy_mean"] > 0.8


def test_compare_a_regression_table(regression_table):
    X, y = regression_table
    table = compare_losses(
        X,
        y,
        ["mse", "huber", "quantile:alpha=0.9"],
        scoring=["rmse", "mae", "r2", "pinball", "pinball_0.9"],
        cv=2,
        estimator=_fast_regressor(),
    )
    metadata = table.attrs["metadata"]
    assert metadata["task"] == "regression" and metadata["task_requested"] == "auto"
    assert metadata["lower_is_better"] == ["rmse", "mae", "pinball", "pinball_0.9"]
    assert set(table["loss"]) == {
        "mse",
        "huber",
        "quantile:alpha=0.9",
        "Ridge",
        "HistGradientBoosting",
    }
    assert table["error"].isna().all()
    # errors are shown positive and rank lowest first
    assert (table["rmse_mean"] > 0).all() and (table["mae_mean"] > 0).all()
    assert table["rmse_mean"].is_monotonic_increasing
    by_label = table.set_index("loss")
    assert by_label.loc["Ridge", "r2_mean"] > 0.8
    # each grid keeps its lowest RMSE point
    grid = pd.DataFrame(table.attrs["grid"])
    huber = grid[grid["loss"] == "huber"]
    assert len(huber) == 2 and by_label.loc["huber", "grid_size"] == 2
    assert by_label.loc["huber", "rmse_mean"] == huber["rmse_mean"].min()
    # pinball: at 0.5 (half the MAE) for Ridge, at 0.9 for the quantile loss
    ridge = by_label.loc["Ridge"]
    assert ridge["pinball_mean"] == pytest.approx(ridge["mae_mean"] / 2)
    assert ridge["pinball_0.9_mean"] != pytest.approx(ridge["pinball_mean"])
    quantile = by_label.loc["quantile:alpha=0.9"]
    assert quantile["pinball_mean"] == pytest.approx(quantile["pinball_0.9_mean"])


def test_regression_refuses_what_does_not_fit(regression_table):
    X, y = regression_table
    kwargs = {"cv": 2, "estimator": _fast_regressor()}
    with pytest.raises(ValueError, match="but this target is 'regression'"):
        compare_losses(X, y, ["focal"], **kwargs)
    with pytest.raises(ValueError, match="nor of LossRegressor"):
        compare_losses(X, y, ["mse:class_weight=balanced"], **kwargs)
    with pytest.raises(ValueError, match="grid over the quantile level"):
        compare_losses(X, y, ["quantile:alpha=0.1,0.9"], scoring="pinball", **kwargs)
    with pytest.raises(TypeError, match="estimator must be a LossRegressor"):
        compare_losses(X, y, ["mse"], cv=2, estimator=FAST_CLASSIFIER)
    with pytest.raises(ValueError, match="fewer than the 200 folds"):
        compare_losses(X, y, ["mse"], cv=200, estimator=_fast_regressor())
