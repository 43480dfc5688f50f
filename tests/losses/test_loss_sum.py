"""Weighted sums of losses: "l1+ms_ssim" and [(loss, weight), ...] in the
registry and the estimators (nested parameters, clone, pickling, errors)."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_losses import LossClassifier, LossRegressor
from sklearn_losses.datasets import load_noisy_digits
from sklearn_losses.losses import (
    L1Loss,
    LossSum,
    LossTerm,
    MSSSIMLoss,
    check_loss_task,
    get_loss,
    get_loss_class,
    list_losses,
    loss_sum_class,
)

F64 = torch.float64
GEN = torch.Generator().manual_seed(0)
X_IMG = torch.rand(4, 1, 16, 16, generator=GEN, dtype=F64)
Y_IMG = (X_IMG + 0.2 * torch.randn(4, 1, 16, 16, generator=GEN, dtype=F64)).clamp(0, 1)
W = torch.tensor([0.5, 0.0, 2.0, 1.0], dtype=F64)


def _table(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=n)


# -- values ----------------------------------------------------------------------------
def test_plus_spec_equals_the_sum_of_the_parts():
    loss = get_loss("l1+ms_ssim")
    for w in (None, W):
        want = L1Loss()(X_IMG, Y_IMG, sample_weight=w) + MSSSIMLoss()(
            X_IMG, Y_IMG, sample_weight=w
        )
        assert loss(X_IMG, Y_IMG, sample_weight=w).item() == pytest.approx(
            want.item(), rel=1e-14
        )


def test_weighted_pairs_and_gradient():
    loss = get_loss([("l1", 0.16), ("ms_ssim", 0.84)])
    x = X_IMG.clone().requires_grad_(True)
    value = loss(x, Y_IMG, sample_weight=W)
    (grad,) = torch.autograd.grad(value, x)
    x2 = X_IMG.clone().requires_grad_(True)
    want = 0.16 * L1Loss()(x2, Y_IMG, sample_weight=W) + 0.84 * MSSSIMLoss()(
        x2, Y_IMG, sample_weight=W
    )
    (want_grad,) = torch.autograd.grad(want, x2)
    assert value.item() == pytest.approx(want.item(), rel=1e-14)
    torch.testing.assert_close(grad, want_grad, rtol=1e-12, atol=1e-15)
    # per-sample terms of a decomposable sum
    terms = loss.loss_terms(X_IMG, Y_IMG)
    want = 0.16 * L1Loss().loss_terms(X_IMG, Y_IMG) + 0.84 * MSSSIMLoss().loss_terms(
        X_IMG, Y_IMG
    )
    torch.testing.assert_close(terms, want, rtol=1e-14, atol=0)


def test_instances_classes_and_terms_as_parts():
    loss = LossSum([(MSSSIMLoss(win_size=3), 0.5), (L1Loss, 2.0)])
    assert list(loss.get_params()) == ["l1", "ms_ssim"]
    assert loss.parts["ms_ssim"].win_size == 3
    want = 0.5 * MSSSIMLoss(win_size=3)(X_IMG, Y_IMG) + 2.0 * L1Loss()(X_IMG, Y_IMG)
    assert loss(X_IMG, Y_IMG).item() == pytest.approx(want.item(), rel=1e-14)
    same = LossSum([LossTerm("mse", 0.3), LossTerm("l1")])
    assert same.name == "mse+l1" and same.mse.weight == 0.3


def test_zero_weight_part_is_skipped():
    loss = get_loss([("l1", 1.0), ("ms_ssim", 0.0)])
    assert loss(X_IMG, Y_IMG).item() == L1Loss()(X_IMG, Y_IMG).item()


def test_context_goes_to_the_parts_that_require_it():
    loss = get_loss("cross_entropy+aldr_kl")
    assert loss.requires == ("index",) and loss.tasks == {"multiclass"}
    loss.setup(n_samples=6, n_classes=3)
    z = torch.randn(6, 3, generator=GEN, dtype=F64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    value = loss(z, y, index=torch.arange(6))
    part = get_loss("aldr_kl")
    part.setup(n_samples=6, n_classes=3)
    want = get_loss("cross_entropy")(z, y) + part(z, y, index=torch.arange(6))
    assert value.item() == pytest.approx(want.item(), rel=1e-12)


# -- the class per spec ----------------------------------------------------------------
def test_class_of_a_spec():
    cls = get_loss_class("l1+ms_ssim")
    assert issubclass(cls, LossSum) and cls is get_loss_class(" L1 + ms_ssim ")
    assert cls is loss_sum_class("l1+ms_ssim")
    assert cls._param_names() == ["l1", "ms_ssim"]
    assert cls.name == "l1+ms_ssim" and cls.tasks == {"regression"}
    assert cls.image and cls.decomposable and cls.monitor == "loss"
    assert get_loss_class([("l1", 0.16), ("ms_ssim", 0.84)]) is not cls
    check_loss_task("l1+ms_ssim", "regression")
    with pytest.raises(ValueError, match="'l1\\+ms_ssim' supports"):
        check_loss_task("l1+ms_ssim", "binary")
    assert "l1+ms_ssim" not in list_losses()
    # aliases keep the name they are written with
    assert get_loss_class("l2+mae_regression")._param_names() == [
        "l2",
        "mae_regression",
    ]


def test_binary_logits_that_differ_leave_out_binary():
    assert get_loss_class("cross_entropy+focal").tasks == {"binary", "multiclass"}
    # one logit for cross_entropy, two for aldr_kl: multiclass only
    assert get_loss_class("cross_entropy+aldr_kl").tasks == {"multiclass"}


def test_get_params_clone_pickle_round_trip():
    loss = get_loss([("l1", 0.16), ("ms_ssim", 0.84)], ms_ssim=LossTerm("ms_ssim", 0.5))
    params = loss.get_params()
    assert params["ms_ssim"].weight == 0.5 and params["l1"].weight == 0.16
    rebuilt = type(loss)(**params)
    assert rebuilt._weights == loss._weights
    for other in (clone(loss), copy.deepcopy(loss), pickle.loads(pickle.dumps(loss))):
        assert type(other) is type(loss)
        assert other._weights == {"l1": 0.16, "ms_ssim": 0.5}
        assert other(X_IMG, Y_IMG).item() == loss(X_IMG, Y_IMG).item()
    assert get_loss(loss, l1=LossTerm("l1", 1.0))._weights["l1"] == 1.0


def test_loss_term_parameters():
    term = LossTerm("huber", 0.5)
    assert term.get_params() == {"loss": "huber", "weight": 0.5}
    term.set_params(delta=0.2, weight=2.0)
    assert term.loss.delta == 0.2 and term.weight == 2.0
    assert clone(term).loss.delta == 0.2
    with pytest.raises(ValueError, match="'huber' has no parameter 'deltaa'"):
        term.set_params(deltaa=1.0)
    with pytest.raises(ValueError, match="weight must be"):
        LossTerm("l1", -1.0)
    with pytest.raises(ValueError, match="Unknown loss 'l11'"):
        LossTerm("l11")


# -- estimators ------------------------------------------------------------------------
def test_regressor_nested_parameters():
    X, y = _table()
    reg = LossRegressor(
        loss="l1+huber", max_epochs=2, random_state=0, loss__huber__delta=0.3
    )
    reg.set_params(loss__l1__weight=0.25)
    assert reg.get_params()["loss__l1__weight"] == 0.25
    reg.fit(X, y)
    assert reg.loss_.parts["huber"].delta == 0.3
    assert reg.loss_._weights == {"l1": 0.25, "huber": 1.0}
    other = clone(reg)
    assert other.get_params() == reg.get_params()
    pickle.loads(pickle.dumps(reg)).predict(X[:3])


def test_regressor_pairs_spec_weights_survive_nested_parameters():
    X, y = _table()
    reg = LossRegressor(
        loss=[("l1", 0.16), ("huber", 0.84)],
        loss__huber__delta=0.5,
        max_epochs=2,
        random_state=0,
    ).fit(X, y)
    assert reg.loss_._weights == {"l1": 0.16, "huber": 0.84}
    assert reg.loss_.parts["huber"].delta == 0.5
    assert clone(reg).get_params()["loss"] == [("l1", 0.16), ("huber", 0.84)]


def test_grid_search_over_part_weights():
    X, y = _table()
    search = GridSearchCV(
        LossRegressor(loss="l1+mse", max_epochs=2, random_state=0),
        {"loss__mse__weight": [0.0, 1.0], "loss__l1__weight": [0.5]},
        cv=2,
    ).fit(X, y)
    assert set(search.cv_results_["param_loss__mse__weight"]) == {0.0, 1.0}
    assert search.best_estimator_.loss_._weights["l1"] == 0.5


def test_regressor_on_images_with_l1_plus_ms_ssim():
    X, Y, _ = load_noisy_digits(n_samples=40, random_state=0)
    reg = LossRegressor(
        loss="l1+ms_ssim",
        loss__ms_ssim__weight=0.84,
        loss__l1__weight=0.16,
        max_epochs=2,
        batch_size=16,
        random_state=0,
    ).fit(X, Y)
    assert reg.predict(X[:3]).shape == (3, 8, 8)
    assert reg.loss_._weights == {"l1": 0.16, "ms_ssim": 0.84}
    assert np.isfinite(reg.net_.history[-1]["train_loss"])


def test_classifier_with_a_sum():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = LossClassifier(
        loss="cross_entropy+focal", loss__focal__gamma=1.0, max_epochs=2, random_state=0
    ).fit(X, y)
    assert clf.loss_.parts["focal"].gamma == 1.0
    assert clf.predict_proba(X[:2]).shape == (2, 2)


# -- errors ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spec, error, match",
    [
        ("l1+ms_sim", ValueError, "Unknown loss 'ms_sim'. Did you mean 'ms_ssim'"),
        ("l1+", ValueError, "has an empty part"),
        ("l1+l1", ValueError, "'l1' appears twice"),
        ("l1+focal", ValueError, "share no task .*'l1': regression"),
        ("lambda+listnet", ValueError, "'lambda' cannot name a part"),
        ([("l1", 0.0), ("mse", 0.0)], ValueError, "At least one weight"),
        ([("l1", -0.5), ("mse", 1.0)], ValueError, "weight must be"),
        ([("l1", 0.5, 1)], TypeError, "pairs"),
        (["l1"], TypeError, "BaseLoss"),
        ([], TypeError, "non-empty"),
        ([(LossSum("l1+mse"), 1.0)], ValueError, "cannot itself be a sum"),
    ],
)
def test_bad_specs(spec, error, match):
    with pytest.raises(error, match=match):
        get_loss(spec)


def test_bad_parts():
    cls = get_loss_class("l1+mse")
    with pytest.raises(ValueError, match="no part 'huber'.* 'l1', 'mse'"):
        cls(huber=LossTerm("huber"))
    with pytest.raises(TypeError, match="must be a LossTerm"):
        cls(l1=0.5)
    with pytest.raises(ValueError, match="must be a 'l1' loss"):
        cls(l1=LossTerm("mse"))
    with pytest.raises(TypeError, match="one spec"):
        LossSum()


def test_estimator_errors_name_the_parameter():
    X, y = _table()
    cases = [
        (
            {"loss__ms_ssim__win_size": 3},
            "'ms_ssim' is not a parameter of loss 'l1\\+mse'",
        ),
        ({"loss__mse__gamma": 1.0}, "Invalid loss__mse__\\* parameter: Loss 'mse' has"),
        ({"loss__mse__weight": -1.0}, "weight must be"),
        ({"loss": "l1+focal"}, "share no task"),
    ]
    for params, match in cases:
        reg = LossRegressor(loss="l1+mse", max_epochs=1).set_params(**params)
        with pytest.raises(ValueError, match=match):
            reg.fit(X, y)
