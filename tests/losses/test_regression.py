"""Regression losses against torch.nn, sklearn.metrics and a numpy loop."""

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from sklearn_losses.losses import (
    HuberLoss,
    L1Loss,
    MSELoss,
    QuantileLoss,
    get_loss,
    get_loss_class,
    list_losses,
)

F64 = torch.float64
RNG = np.random.default_rng(0)
PRED, TARGET = RNG.normal(size=(50, 3)), RNG.normal(scale=2.0, size=(50, 3))
WEIGHT = RNG.uniform(0.1, 3.0, 50)


def _t(a, grad=False):
    return torch.tensor(a, dtype=F64, requires_grad=grad)


def _np_terms(name, f, y, **p):
    """Per-sample terms by a plain loop (independent of the package)."""
    out = []
    for fi, yi in zip(np.atleast_2d(f.T).T, np.atleast_2d(y.T).T):
        values = []
        for a, b in zip(np.ravel(fi), np.ravel(yi)):
            r = b - a
            if name == "mse":
                values.append(r * r)
            elif name == "l1":
                values.append(abs(r))
            elif name == "huber":
                d = p["delta"]
                values.append(0.5 * r * r if abs(r) <= d else d * (abs(r) - 0.5 * d))
            else:
                q = p["alpha"]
                values.append(q * r if r >= 0 else (q - 1) * r)
        out.append(np.mean(values))
    return np.array(out)


CASES = [
    ("mse", {}),
    ("l1", {}),
    ("huber", {"delta": 0.7}),
    ("huber", {"delta": 3.0}),
    ("quantile", {"alpha": 0.1}),
    ("quantile", {"alpha": 0.5}),
    ("quantile", {"alpha": 0.9}),
]


@pytest.mark.parametrize("name, params", CASES)
@pytest.mark.parametrize("shape", [(50,), (50, 3)], ids=["single", "multi"])
def test_terms_match_a_numpy_loop(name, params, shape):
    f, y = (
        PRED[:, 0] if shape == (50,) else PRED,
        TARGET[:, 0] if shape == (50,) else TARGET,
    )
    loss = get_loss(name, reduction="none", **params)
    terms = loss(_t(f), _t(y))
    assert terms.shape == (50,)
    np.testing.assert_allclose(
        terms.numpy(), _np_terms(name, f, y, **params), rtol=1e-12
    )


@pytest.mark.parametrize("shape", [(50,), (50, 3)], ids=["single", "multi"])
def test_weighted_means_equal_sklearn_metrics(shape):
    f, y = (PRED[:, 0], TARGET[:, 0]) if shape == (50,) else (PRED, TARGET)
    w = _t(WEIGHT)
    cases = [
        (MSELoss(), skm.mean_squared_error(y, f, sample_weight=WEIGHT)),
        (L1Loss(), skm.mean_absolute_error(y, f, sample_weight=WEIGHT)),
        (
            QuantileLoss(alpha=0.8),
            skm.mean_pinball_loss(y, f, alpha=0.8, sample_weight=WEIGHT),
        ),
    ]
    for loss, expected in cases:
        assert loss(_t(f), _t(y), sample_weight=w).item() == pytest.approx(
            expected, rel=1e-12
        ), loss


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (MSELoss(), torch.nn.MSELoss()),
        (L1Loss(), torch.nn.L1Loss()),
        (HuberLoss(delta=0.7), torch.nn.HuberLoss(delta=0.7)),
    ],
)
def test_unweighted_means_equal_torch(ours, theirs):
    f, y = _t(PRED), _t(TARGET)
    assert ours(f, y).item() == pytest.approx(theirs(f, y).item(), rel=1e-12)


@pytest.mark.parametrize("name, params", CASES)
def test_gradcheck_float64(name, params):
    # residuals away from the kinks (0 and +-delta), where the loss is smooth
    f = _t(np.array([0.3, -1.2, 2.5, 0.9, -0.4]), grad=True)
    y = _t(np.array([1.0, 0.1, -0.7, 2.6, 1.1]))
    w = _t(np.array([1.0, 2.0, 0.5, 1.5, 3.0]))
    loss = get_loss(name, **params)
    assert torch.autograd.gradcheck(lambda x: loss(x, y, sample_weight=w), (f,))


@pytest.mark.parametrize("name, params", CASES)
def test_weights_unit_and_repeated_rows(name, params):
    loss = get_loss(name, **params)
    f, y = _t(PRED[:12]), _t(TARGET[:12])
    torch.testing.assert_close(
        loss(f, y, sample_weight=torch.ones(12, dtype=F64)), loss(f, y)
    )
    counts = np.array([1, 2, 0, 3, 1, 1, 2, 1, 0, 1, 4, 1])
    repeated = np.repeat(np.arange(12), counts)
    torch.testing.assert_close(
        loss(f, y, sample_weight=_t(counts.astype(float))),
        loss(f[repeated], y[repeated]),
    )


def test_column_prediction_for_one_output():
    f, y = _t(PRED[:, :1]), _t(TARGET[:, 0])
    torch.testing.assert_close(MSELoss()(f, y), MSELoss()(f.reshape(-1), y))


def test_registry_and_parameters():
    assert {"huber", "l1", "mse", "quantile", "bce"} <= set(list_losses("regression"))
    for name in ("huber", "l1", "mse", "quantile"):
        assert get_loss_class(name).prediction_link is None
    assert get_loss_class("bce").prediction_link == "sigmoid"
    assert "mse" not in list_losses("binary")
    assert get_loss("pinball", alpha=0.3).alpha == 0.3
    assert QuantileLoss.key_parameter == "alpha" and HuberLoss.key_parameter == "delta"


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: HuberLoss(delta=0), "delta must be a float > 0"),
        (lambda: HuberLoss(delta=float("inf")), "delta"),
        (lambda: HuberLoss(delta="1"), "delta"),
        (lambda: QuantileLoss(alpha=1.0), r"alpha must be a float in \(0, 1\)"),
        (lambda: QuantileLoss(alpha=-0.1), "alpha"),
        (lambda: QuantileLoss(alpha=True), "alpha"),
    ],
)
def test_bad_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="same shape"):
        MSELoss()(_t(PRED), _t(TARGET[:, 0]))
    with pytest.raises(TypeError, match="target must be a floating-point"):
        MSELoss()(_t(PRED[:, 0]), torch.zeros(50, dtype=torch.long))
    with pytest.raises(TypeError, match="input must be a floating-point"):
        L1Loss()(PRED[:, 0], _t(TARGET[:, 0]))
