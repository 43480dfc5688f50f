"""LossRegressor: sklearn's checks, targets, weights, losses, bad input."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_regression
from sklearn.metrics import mean_pinball_loss, r2_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossClassifier, LossRegressor, loss_param_grid
from sklearn_losses.losses import get_loss_class, list_losses

EXPECTED_FAILED = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 training: weighted and repeated-row fits agree to about 1e-7, the "
        "check asks rtol=1e-7 (test_integer_weights_equal_repeated_rows checks it "
        "at rtol=1e-4 with full batches)"
    ),
}


# Losses with a prediction link (bce: targets in [0, 1]) and image losses
# (ssim, ms_ssim) are left out: the checks draw tables of real-valued targets;
# tests/estimators/test_regressor_images.py fits them.
TABLE_LOSSES = [
    name
    for name in list_losses("regression")
    if get_loss_class(name).prediction_link is None
    and not get_loss_class(name).image
]


@parametrize_with_checks(
    [LossRegressor(loss=name, random_state=0) for name in TABLE_LOSSES],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(
        n_samples=300, n_features=6, n_targets=1, noise=5.0, random_state=0
    )
    return X, 1000.0 + 50.0 * y  # far from zero mean and unit scale


def test_fits_a_regression_in_the_target_units(data):
    X, y = data
    reg = LossRegressor(max_epochs=150, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape and pred.dtype == np.float64
    assert r2_score(y, pred) > 0.95
    assert reg.score(X, y) == pytest.approx(r2_score(y, pred))
    assert reg.n_outputs_ == 1
    np.testing.assert_allclose(reg.target_mean_, [y.mean()])
    np.testing.assert_allclose(reg.target_scale_, [y.std()])


def test_standardization_can_be_turned_off(data):
    X, y = data
    reg = LossRegressor(standardize_target=False, max_epochs=3, random_state=0)
    reg.fit(X, y)
    np.testing.assert_array_equal(reg.target_mean_, [0.0])
    np.testing.assert_array_equal(reg.target_scale_, [1.0])
    on = LossRegressor(max_epochs=3, random_state=0).fit(X, y)
    # unscaled targets of ~1000 are far from what 3 epochs reach from zero init
    assert on.score(X, y) > reg.score(X, y)


def test_multi_output_predictions_have_the_targets_shape():
    X, Y = make_regression(n_samples=200, n_features=5, n_targets=3, random_state=1)
    Y[:, 2] = Y[:, 2] * 100 + 7
    reg = LossRegressor(max_epochs=150, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 3) and reg.n_outputs_ == 3
    assert reg.net_.module_(torch.zeros(1, 5)).shape == (1, 3)
    assert reg.score(X, Y) > 0.9
    # a column target stays a column
    col = LossRegressor(max_epochs=2, random_state=0).fit(X, Y[:, :1])
    assert col.predict(X).shape == (200, 1)


def test_constant_output_is_not_divided_by_zero():
    X = np.random.default_rng(0).normal(size=(50, 3))
    Y = np.column_stack([X[:, 0], np.full(50, 4.0)])
    reg = LossRegressor(max_epochs=50, random_state=0).fit(X, Y)
    assert reg.target_scale_[1] == 1.0
    np.testing.assert_allclose(reg.predict(X)[:, 1], 4.0, atol=0.5)


def test_quantile_loss_gives_quantiles(data):
    X, y = data
    rng = np.random.default_rng(0)
    y = y + rng.normal(scale=40.0, size=len(y))
    low = LossRegressor(
        loss="quantile", loss__alpha=0.1, max_epochs=150, random_state=0
    )
    high = clone(low).set_params(loss__alpha=0.9)
    p_low, p_high = low.fit(X, y).predict(X), high.fit(X, y).predict(X)
    below_low, below_high = np.mean(y < p_low), np.mean(y < p_high)
    assert below_low < 0.3 < 0.7 < below_high
    # and each beats the other's level on its own pinball loss
    assert mean_pinball_loss(y, p_low, alpha=0.1) < mean_pinball_loss(
        y, p_high, alpha=0.1
    )


def test_integer_weights_equal_repeated_rows(data):
    X, y = data
    X, y = X[:60], y[:60]
    counts = np.random.default_rng(0).integers(0, 3, 60)
    keep = np.repeat(np.arange(60), counts)
    # full-batch training (the README says why mini-batches differ), no
    # standardisation (the repeated rows' mean and std differ from the weighted)
    params = {"batch_size": 1000, "max_epochs": 20, "standardize_target": False}
    weighted = LossRegressor(random_state=0, **params).fit(X, y, sample_weight=counts)
    repeated = LossRegressor(random_state=0, **params).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-4)


def test_unit_weights_equal_no_weights(data):
    X, y = data
    a = LossRegressor(max_epochs=3, random_state=0).fit(X, y)
    b = LossRegressor(max_epochs=3, random_state=0).fit(
        X, y, sample_weight=np.ones(300)
    )
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_early_stopping_records_r2_and_a_scorer(data):
    X, y = data
    reg = LossRegressor(early_stopping=True, max_epochs=30, random_state=0).fit(X, y)
    assert "valid_score" in reg.history_[-1] and "valid_loss" in reg.history_[-1]
    assert reg.history_[-1, "valid_score"] <= 1.0
    mae = LossRegressor(
        early_stopping=True,
        validation_scoring="neg_mean_absolute_error",
        max_epochs=5,
        random_state=0,
    ).fit(X, y)
    assert all(score < 0 for score in mae.history_[:, "valid_score"])


def test_grid_over_losses_in_a_pipeline(data):
    X, y = data
    pipe = make_pipeline(StandardScaler(), LossRegressor(max_epochs=5, random_state=0))
    grid = loss_param_grid(
        {"mse": {}, "l1": {}, "huber": {"delta": [0.5, 2.0]}}, prefix="lossregressor__"
    )
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert cross_val_score(LossRegressor(max_epochs=2), X, y, cv=2).shape == (2,)


def test_pandas_input(data):
    X, y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    reg = LossRegressor(max_epochs=2, random_state=0).fit(frame, pd.Series(y))
    assert list(reg.feature_names_in_) == list(frame.columns)
    assert reg.predict(frame).shape == (300,)


def test_same_seed_same_predictions(data):
    X, y = data
    a = LossRegressor(max_epochs=3, random_state=3).fit(X, y).predict(X)
    b = LossRegressor(max_epochs=3, random_state=3).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_target(data, value):
    X, y = data
    y = y.copy()
    y[3] = value
    with pytest.raises(ValueError, match="y"):
        LossRegressor(max_epochs=1).fit(X, y)


def test_five_dimensional_target(data):
    # 3-D and 4-D targets are images (tests/estimators/test_regressor_images.py).
    X, y = data
    with pytest.raises(ValueError, match=r"y must be 1-D .*, 2-D .* or image-shaped"):
        LossRegressor(max_epochs=1).fit(X, y.reshape(-1, 1, 1, 1, 1))


def test_loss_of_the_other_task_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="'focal' supports .* 'regression'"):
        LossRegressor(loss="focal", max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="'mse' supports .*'regression'.*'binary'"):
        LossClassifier(loss="mse", max_epochs=1).fit(X, y > y.mean())


@pytest.mark.parametrize(
    "params, match",
    [
        ({"loss": "huber", "loss__delta": 0.0}, "delta must be a float > 0"),
        ({"loss": "huber", "loss__delta": "a"}, "delta"),
        (
            {"loss": "quantile", "loss__alpha": 1.5},
            r"alpha must be a float in \(0, 1\)",
        ),
        (
            {"standardize_target": "yes"},
            "standardize_target must be True or False or 'auto'",
        ),
    ],
)
def test_bad_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        LossRegressor(max_epochs=1, **params).fit(X, y)


def test_warm_start_keeps_the_outputs(data):
    X, y = data
    reg = LossRegressor(max_epochs=2, warm_start=True, random_state=0).fit(X, y)
    first = reg.n_iter_
    reg.fit(X, y)
    assert len(reg.history_) == first + 2
    with pytest.raises(ValueError, match="same number of outputs"):
        reg.fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="previous fit's shape"):
        reg.fit(X, y.reshape(-1, 1))
