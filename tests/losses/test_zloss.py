"""Tests of ZLoss against the spec's values, a naive numpy reference and its
invariances.

The generic contract (weights, shapes, dtypes, extremes, registry) is checked in
test_contract.py at the default parameters (a=1, b=sqrt(K-1)); here it is
checked again at other (a, b).
"""

import math

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import F64, as_target, as_tensor, mc_logits

from sklearn_losses import LossClassifier
from sklearn_losses.losses import get_loss, get_loss_class
from sklearn_losses.losses.zloss import ZLoss

O_REF = [[2.0, 1.0, 0.1, -1.0]]
Z_REF = [1.331655, 0.428838, -0.383697, -1.376796]
AB = [(1.0, None), (1.0, 1.0), (0.1, 10.0), (2.0, 1.5), (3.0, -0.5), (50.0, 0.3)]


# -- naive reference (numpy, float64) -----------------------------------------
def _ref_terms(o, y, a=1.0, b=None):
    o = np.asarray(o, dtype=float)
    k = o.shape[1]
    b = math.sqrt(k - 1) if b is None else b
    mu = o.mean(axis=1)
    sigma = np.sqrt(((o - mu[:, None]) ** 2).mean(axis=1) + 1e-12)
    z_c = (o[np.arange(len(y)), y] - mu) / sigma
    return np.logaddexp(0.0, a * (b - z_c)) / a


# -- reference values ---------------------------------------------------------
@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(1.0, 1.0, 0.541006), (0.1, 10.0, 12.176884), (2.0, 1.5, 0.437798)],
)
def test_spec_reference_values(a, b, expected):
    out = ZLoss(a=a, b=b)(as_tensor(O_REF), as_target([0]))
    assert out.item() == pytest.approx(expected, abs=1e-6)


def test_spec_standardized_scores():
    # With a=1 and b=0 the loss is softplus(-z_c), so z_c = -log(expm1(loss)).
    o = as_tensor(O_REF * 4)
    terms = ZLoss(a=1.0, b=0.0, reduction="none")(o, as_target([0, 1, 2, 3]))
    z = -torch.log(torch.expm1(terms))
    np.testing.assert_allclose(z.numpy(), Z_REF, atol=1e-6)
    assert z.sum().item() == pytest.approx(0.0, abs=1e-12)
    assert (z**2).mean().item() == pytest.approx(1.0, rel=1e-10)


def test_default_b_is_sqrt_k_minus_one():
    o, y = as_tensor(O_REF), as_target([2])
    torch.testing.assert_close(ZLoss()(o, y), ZLoss(b=math.sqrt(3.0))(o, y))


@pytest.mark.parametrize(("a", "b"), AB)
@pytest.mark.parametrize("k", [3, 5, 10])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_naive_reference(a, b, k, reduction):
    rng = np.random.default_rng(k)
    o = rng.normal(scale=3.0, size=(20, k))
    y = rng.integers(0, k, size=20)
    out = ZLoss(a=a, b=b, reduction=reduction)(as_tensor(o), as_target(y))
    expected = shared.reduce_ref(list(_ref_terms(o, y, a, b)), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("a", "b"), AB[:4])
def test_weighted_reductions(a, b):
    z, y = as_tensor(mc_logits(4)), as_target(shared.MC_Y[4])
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25], dtype=F64)
    ref = _ref_terms(z.numpy(), y.numpy(), a, b)
    shared.assert_weighted_reductions(
        lambda r: ZLoss(a=a, b=b, reduction=r), z, y, w, ref
    )


@pytest.mark.parametrize(("a", "b"), AB[1:4])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_weights_repeat_and_drop_rows(a, b, reduction):
    loss = ZLoss(a=a, b=b, reduction=reduction)
    shared.assert_repeated_rows(loss, 3)
    shared.assert_zero_weights_drop_rows(loss, 4)


# -- invariance ---------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.01, 0.5, 3.0, 100.0])
@pytest.mark.parametrize("beta", [-7.0, 0.0, 2.5])
def test_shift_and_scale_invariance(alpha, beta):
    z, y = as_tensor(mc_logits(4)), as_target(shared.MC_Y[4])
    loss = ZLoss(a=2.0, b=0.5, reduction="none")
    # Exact but for the 1e-12 guard: var(alpha z) >= 1e-4 here.
    torch.testing.assert_close(
        loss(alpha * z + beta, y), loss(z, y), rtol=1e-8, atol=1e-12
    )


def test_negative_scale_is_not_invariant():
    z, y = as_tensor(mc_logits(3)), as_target(shared.MC_Y[3])
    loss = ZLoss(reduction="none")
    assert not torch.allclose(loss(-z, y), loss(z, y))


# -- gradients and edge cases -------------------------------------------------
@pytest.mark.parametrize(("a", "b"), AB)
@pytest.mark.parametrize("shape", ["k3", "k4"])
def test_gradcheck(a, b, shape):
    z, y = shared.fixed_input(shape)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    shared.assert_gradcheck(ZLoss(a=a, b=b), z, y, w)
    shared.assert_gradcheck(ZLoss(a=a, b=b, reduction="none"), z, y)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equal_logits_are_finite(dtype):
    # sigma = 0 (a network at zero init): the 1e-12 guard gives z = 0.
    z = torch.full((3, 4), 0.7, dtype=dtype)
    y = as_target([0, 1, 3])
    out = shared.finite_value_and_grad(ZLoss(a=2.0, b=1.0), z, y)
    expected = math.log1p(math.exp(2.0)) / 2.0  # softplus(b - 0, beta=a)
    assert out.item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("big", [80.0, 1e4, 1e30])
@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize(("a", "b"), [(1.0, None), (50.0, 0.0), (0.1, 10.0)])
def test_extreme_logits_finite(big, k, a, b):
    z, y = shared.extreme_logits(k, big, F64)
    out = shared.finite_value_and_grad(ZLoss(a=a, b=b, reduction="none"), z, y)
    if big <= 1e4:
        expected = _ref_terms(z.numpy(), y.numpy(), a, b)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    # z_c in [-sqrt(K-1), sqrt(K-1)] bounds the loss; tied logits give z_c = 0.
    b = math.sqrt(k - 1) if b is None else b
    root = math.sqrt(k - 1)
    low, high = (np.logaddexp(0.0, a * (b + s * root)) / a for s in (-1, 1))
    assert np.all(
        (out.numpy() >= low * (1 - 1e-12)) & (out.numpy() <= high * (1 + 1e-12))
    )
    assert out[3].item() == pytest.approx(np.logaddexp(0.0, a * b) / a, rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weight_dtype", [None, torch.float32])
def test_dtypes(dtype, weight_dtype):
    z, y = shared.fixed_input("k4")
    loss = ZLoss(a=0.5, b=0.8)
    shared.assert_dtype_follows_input(loss, z, y, dtype, weight_dtype)


@pytest.mark.parametrize("shape", ["n", "n1", "k2"])
def test_fewer_than_three_logits_raise(shape):
    if shape == "k2":
        z, y = as_tensor([[0.5, -0.5], [1.0, 2.0]]), as_target([0, 1])
    else:
        z, y = shared.fixed_input(shape)
    with pytest.raises(ValueError, match="K >= 3.*gradient vanishes"):
        ZLoss()(z, y)


def test_two_logits_give_constant_scores():
    # Why K=2 is refused: z = (+1, -1) or (-1, +1) whatever the logits.
    o = torch.tensor(np.random.default_rng(0).normal(size=(50, 2)))
    z = (o - o.mean(1, keepdim=True)) / o.std(1, unbiased=False, keepdim=True)
    np.testing.assert_allclose(z.abs().numpy(), 1.0, rtol=1e-9)


# -- parameters and registry --------------------------------------------------
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"a": 0.0}, "a must"),
        ({"a": -1.0}, "a must"),
        ({"a": float("nan")}, "a must"),
        ({"a": float("inf")}, "a must"),
        ({"a": True}, "a must"),
        ({"a": "1"}, "a must"),
        ({"b": float("nan")}, "b must"),
        ({"b": float("inf")}, "b must"),
        ({"b": "1"}, "b must"),
        ({"reduction": "avg"}, "reduction"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        ZLoss(**params)


def test_metadata_and_registry():
    assert get_loss_class("zloss") is ZLoss
    assert get_loss_class("z_loss") is ZLoss
    assert ZLoss.tasks == frozenset({"multiclass"})
    assert ZLoss.decomposable and ZLoss.requires == ()
    assert "gradient vanishes" in ZLoss.task_hint
    loss = get_loss("zloss", a=0.3, b=2)
    assert loss.get_params() == {"a": 0.3, "b": 2, "reduction": "mean"}
    assert "CalibratedClassifierCV" in ZLoss.__doc__


# -- estimator ----------------------------------------------------------------
SMALL = {"hidden_layer_sizes": (16,), "random_state": 0}


def test_classifier_refuses_binary_targets(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="gradient vanishes"):
        LossClassifier(loss=ZLoss, max_epochs=2, **SMALL).fit(X, y)


def test_classifier_fits_multiclass(multiclass_data):
    X, y = multiclass_data
    clf = LossClassifier(
        loss=ZLoss, loss__a=2.0, max_epochs=40, lr=1e-2, early_stopping=False, **SMALL
    )
    clf.fit(X, y)
    assert isinstance(clf.loss_, ZLoss) and clf.loss_.a == 2.0
    assert clf.predict(X).shape == (len(y),)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert clf.score(X, y) > 0.6
    loss = np.asarray(clf.history_[:, "train_loss"])
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
