"""Tests of CrossEntropyLoss against an independent reference and its limits.

The generic contract (weights, shapes, dtypes, extremes, registry) is checked in
test_contract.py at the default parameters; here it is checked again with label
smoothing.
"""

import math

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import BIN_Y, BIN_Z, F64, MC_Y, as_target, as_tensor, mc_logits

from sklearn_losses.losses import CrossEntropyLoss


# -- independent reference (pure Python, no torch) ----------------------------
def _ref_terms(z, y, eps=0.0):
    """ell(z, y) = -sum_k q_k log softmax(z)_k, q = (1 - eps) e_y + eps / K."""
    z = np.asarray(z, dtype=float)
    out = []
    if z.ndim == 1:  # one logit: logistic loss, q_1 = (1 - eps) y + eps / 2
        for zi, yi in zip(z.tolist(), y):
            p1 = 1.0 / (1.0 + math.exp(-zi))
            q1 = (1.0 - eps) * yi + eps / 2.0
            out.append(-(q1 * math.log(p1) + (1.0 - q1) * math.log(1.0 - p1)))
        return out
    n_classes = z.shape[1]
    for row, yi in zip(z.tolist(), y):
        m = max(row)
        log_norm = m + math.log(sum(math.exp(v - m) for v in row))
        loss = 0.0
        for k, v in enumerate(row):
            q = (1.0 - eps) * (k == yi) + eps / n_classes
            loss -= q * (v - log_norm)
        out.append(loss)
    return out


# -- reference values ---------------------------------------------------------
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.9])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_matches_reference(eps, reduction):
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    out = loss(as_tensor(BIN_Z), as_target(BIN_Y))
    expected = shared.reduce_ref(_ref_terms(BIN_Z, BIN_Y, eps), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.9])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_matches_reference(k, eps, reduction):
    z = mc_logits(k)
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    out = loss(as_tensor(z), as_target(MC_Y[k]))
    expected = shared.reduce_ref(_ref_terms(z, MC_Y[k], eps), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    ("z", "y", "eps", "expected"),
    [
        # binary z=0, y=1: -log sigmoid(0) = log 2
        ([0.0], [1], 0.0, 0.6931471805599453),
        # binary z=0: p = 1/2 whatever the target or smoothing -> log 2
        ([0.0], [0], 0.3, 0.6931471805599453),
        # binary z=2, y=1: log(1 + e^-2)
        ([2.0], [1], 0.0, 0.1269280110429726),
        # K=3 equal logits: log 3
        ([[0.5, 0.5, 0.5]], [2], 0.0, 1.0986122886681098),
        # K=2 logits (0, log 3) -> p = (1/4, 3/4); eps=0.2, y=1 -> q = (0.1, 0.9):
        # 0.1 log 4 + 0.9 log(4/3)
        ([[0.0, math.log(3.0)]], [1], 0.2, 0.39754330131859184),
        # one logit log 3 -> same p and q as the line above
        ([math.log(3.0)], [1], 0.2, 0.39754330131859184),
    ],
)
def test_golden_values(z, y, eps, expected):
    out = CrossEntropyLoss(label_smoothing=eps)(as_tensor(z), as_target(y))
    assert out.item() == pytest.approx(expected, rel=1e-13)


def test_docstring_value():
    out = CrossEntropyLoss()(torch.tensor([0.0, 2.0]), torch.tensor([1, 1]))
    # (log 2 + log(1 + e^-2)) / 2
    assert out.item() == pytest.approx((0.6931471805599453 + 0.1269280110429726) / 2)


# -- gradients ----------------------------------------------------------------
# label_smoothing=0 (the default) is gradchecked in test_contract.py.
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gradcheck(weighted, shape, reduction):
    z, y = shared.fixed_input(shape)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64) if weighted else None
    loss = CrossEntropyLoss(label_smoothing=0.2, reduction=reduction)
    shared.assert_gradcheck(loss, z, y, w)


def test_binary_gradient_closed_form():
    # d/dz of the logistic loss is sigmoid(z) - q.
    z = as_tensor(BIN_Z, requires_grad=True)
    CrossEntropyLoss(label_smoothing=0.2, reduction="sum")(
        z, as_target(BIN_Y)
    ).backward()
    q = np.asarray(BIN_Y) * 0.8 + 0.1
    expected = 1.0 / (1.0 + np.exp(-np.asarray(BIN_Z))) - q
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


# -- sample weights with label smoothing ---------------------------------------
@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unit_weights_equal_no_weights(n_out, reduction):
    x, weight, y = shared.linear_problem(n_out)
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    shared.assert_unit_weights(loss, x @ weight, y, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    ("n_out", "squeeze"), [(1, True), (1, False), (3, True), (4, True)]
)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repeated_rows(n_out, squeeze, reduction):
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    shared.assert_repeated_rows(loss, n_out, squeeze)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_weights_drop_rows(n_out, reduction):
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    shared.assert_zero_weights_drop_rows(loss, n_out, kept_nonzero=True)


@pytest.mark.parametrize("n_out", [1, 4])
def test_weighted_sum_and_none(n_out):
    x, weight, y = shared.linear_problem(n_out, seed=3)
    logits = x @ weight
    if n_out == 1:
        logits = logits[:, 0]
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    terms = CrossEntropyLoss(label_smoothing=0.1, reduction="none")(logits, y)
    ref = np.asarray(_ref_terms(logits.numpy(), y.tolist(), 0.1))
    np.testing.assert_allclose(terms.numpy(), ref, rtol=1e-12)
    shared.assert_weighted_reductions(
        lambda r: CrossEntropyLoss(label_smoothing=0.1, reduction=r), logits, y, w, ref
    )


# -- limits and equivalent forms ----------------------------------------------
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3, 0.9])
def test_one_logit_equals_two_logits(eps):
    z = as_tensor(BIN_Z)
    y = as_target(BIN_Y)
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    one_loss = CrossEntropyLoss(label_smoothing=eps, reduction="none")
    torch.testing.assert_close(one_loss(z, y), one_loss(two, y), rtol=1e-12, atol=1e-14)
    # and the gradients w.r.t. z agree
    z1 = z.clone().requires_grad_(True)
    z2 = z.clone().requires_grad_(True)
    CrossEntropyLoss(label_smoothing=eps)(z1, y).backward()
    CrossEntropyLoss(label_smoothing=eps)(
        torch.stack([torch.zeros_like(z2), z2], dim=1), y
    ).backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_column_input_equals_flat_input(reduction):
    loss = CrossEntropyLoss(label_smoothing=0.2, reduction=reduction)
    w = torch.arange(len(BIN_Y), dtype=F64)
    shared.assert_column_equals_flat(loss, as_tensor(BIN_Z), as_target(BIN_Y), w)


def test_label_smoothing_zero_is_plain_ce():
    z = as_tensor(mc_logits(4))
    y = as_target(MC_Y[4])
    torch.testing.assert_close(
        CrossEntropyLoss(label_smoothing=0.0)(z, y),
        torch.nn.functional.cross_entropy(z, y),
    )


def test_shift_invariance_multiclass():
    z = as_tensor(mc_logits(3))
    y = as_target(MC_Y[3])
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction="none")
    torch.testing.assert_close(loss(z + 17.0, y), loss(z, y), rtol=1e-12, atol=1e-12)


# -- extreme logits -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_extreme_binary_logits_finite(dtype, eps):
    z, y = shared.extreme_binary(dtype)
    loss = CrossEntropyLoss(label_smoothing=eps, reduction="none")
    terms = shared.finite_value_and_grad(loss, z, y)
    assert torch.all(terms >= 0)
    if eps == 0.0:
        # confidently wrong costs |z|, confidently right costs ~0
        expected = torch.tensor([1e4, 0.0, 80.0, 0.0, 0.0, 1e4, 0.0, 80.0], dtype=dtype)
        torch.testing.assert_close(terms, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("big", [1e4, 80.0])
def test_extreme_multiclass_logits_finite(dtype, eps, big):
    z, y = shared.extreme_logits(3, big, dtype)
    loss = CrossEntropyLoss(label_smoothing=eps, reduction="none")
    terms = shared.finite_value_and_grad(loss, z, y)
    if eps == 0.0:
        expected = torch.tensor([0.0, 2 * big, 2 * big + math.log(2.0), math.log(3.0)])
        torch.testing.assert_close(terms, expected.to(dtype), rtol=1e-5, atol=1e-5)


# -- parameters ---------------------------------------------------------------
@pytest.mark.parametrize(
    "value", [-0.1, 1.0, 1.5, "a", None, float("nan"), float("inf"), [0.1]]
)
def test_invalid_label_smoothing(value):
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropyLoss(label_smoothing=value)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.999])
def test_valid_label_smoothing(value):
    loss = CrossEntropyLoss(label_smoothing=value)
    assert loss.label_smoothing == value
    assert loss.get_params() == {"label_smoothing": value, "reduction": "mean"}


def test_declared_metadata():
    assert CrossEntropyLoss.name == "cross_entropy"
    assert CrossEntropyLoss.tasks == frozenset({"binary", "multiclass"})
    assert CrossEntropyLoss.decomposable
    assert CrossEntropyLoss.requires == ()


# -- dtypes -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", ["n", "k3"])
@pytest.mark.parametrize("weight_dtype", [None, torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_dtypes(dtype, shape, weight_dtype, reduction):
    z, y = shared.fixed_input(shape)
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    shared.assert_dtype_follows_input(loss, z, y, dtype, weight_dtype)
