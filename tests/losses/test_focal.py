"""Tests of FocalLoss against an independent reference and its limits.

The generic contract (weights, shapes, dtypes, extremes, registry) is checked in
test_contract.py at the default parameters (gamma=2, no alpha); here it is
checked again at other gammas and with alpha.
"""

import math

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import BIN_Y, BIN_Z, F64, MC_Y, as_target, as_tensor, mc_logits

from sklearn_losses.losses import CrossEntropyLoss, FocalLoss

GAMMAS = [0.0, 0.5, 2.0, 5.0]
# Factors exactly representable in float32 (see test_float64_alpha_precision).
MC_ALPHA = {3: [0.25, 1.0, 2.0], 4: [0.5, 0.125, 1.5, 3.0]}


# -- independent reference (pure Python, no torch) ----------------------------
def _ref_terms(z, y, gamma, alpha=None):
    """ell(z, y) = -alpha_y (1 - p_y)^gamma log p_y."""
    z = np.asarray(z, dtype=float)
    out = []
    for row, yi in zip(z.tolist(), y):
        if z.ndim == 1:  # one logit: p_1 = sigmoid(z)
            p1 = 1.0 / (1.0 + math.exp(-row))
            p_y = p1 if yi == 1 else 1.0 - p1
        else:
            m = max(row)
            p_y = math.exp(row[yi] - m) / sum(math.exp(v - m) for v in row)
        if alpha is None:
            a_y = 1.0
        elif isinstance(alpha, float):
            a_y = alpha if yi == 1 else 1.0 - alpha
        else:
            a_y = alpha[yi]
        out.append(-a_y * (1.0 - p_y) ** gamma * math.log(p_y))
    return out


# -- reference values ---------------------------------------------------------
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.75, [0.25, 2.0]])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_binary_matches_reference(gamma, alpha, reduction):
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    out = loss(as_tensor(BIN_Z), as_target(BIN_Y))
    expected = shared.reduce_ref(_ref_terms(BIN_Z, BIN_Y, gamma, alpha), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_matches_reference(k, gamma, with_alpha, reduction):
    z = mc_logits(k)
    alpha = MC_ALPHA[k] if with_alpha else None
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    out = loss(as_tensor(z), as_target(MC_Y[k]))
    expected = shared.reduce_ref(_ref_terms(z, MC_Y[k], gamma, alpha), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_alpha_as_numpy_and_tuple():
    z, y = as_tensor(mc_logits(3)), as_target(MC_Y[3])
    expected = FocalLoss(alpha=[0.25, 1.0, 2.0])(z, y)
    for alpha in (np.array([0.25, 1.0, 2.0]), (0.25, 1.0, 2.0), np.float64(0.25)):
        if isinstance(alpha, np.floating):
            zb, yb = as_tensor(BIN_Z), as_target(BIN_Y)
            torch.testing.assert_close(
                FocalLoss(alpha=alpha)(zb, yb), FocalLoss(alpha=0.25)(zb, yb)
            )
        else:
            torch.testing.assert_close(FocalLoss(alpha=alpha)(z, y), expected)


@pytest.mark.parametrize(
    ("z", "y", "gamma", "alpha", "expected"),
    [
        # binary z=0, y=1, gamma=2: p = 1/2 -> (1/2)^2 log 2 = 0.25 log 2
        ([0.0], [1], 2.0, None, 0.17328679513998632),
        # gamma=0: plain cross-entropy, log 2
        ([0.0], [0], 0.0, None, 0.6931471805599453),
        # alpha=0.25 on class 0 -> 0.75 * 0.25 log 2
        ([0.0], [0], 2.0, 0.25, 0.12996509635498973),
        # K=4 equal logits, gamma=1: p = 1/4 -> (3/4) log 4
        ([[1.0, 1.0, 1.0, 1.0]], [2], 1.0, None, 1.0397207708399179),
    ],
)
def test_golden_values(z, y, gamma, alpha, expected):
    out = FocalLoss(gamma=gamma, alpha=alpha)(as_tensor(z), as_target(y))
    assert out.item() == pytest.approx(expected, rel=1e-13)


def test_docstring_value():
    out = FocalLoss(gamma=2.0)(torch.tensor([0.0]), torch.tensor([1]))
    assert out.item() == pytest.approx(0.25 * math.log(2.0), rel=1e-6)


@pytest.mark.parametrize("alpha", [0.1, [0.1, 0.3, 0.7]], ids=["float", "list"])
def test_float64_alpha_precision(alpha):
    if isinstance(alpha, float):
        z, y = BIN_Z, BIN_Y
    else:
        z, y = mc_logits(3), MC_Y[3]
    out = FocalLoss(gamma=2.0, alpha=alpha, reduction="none")(
        as_tensor(z), as_target(y)
    )
    expected = _ref_terms(z, y, 2.0, alpha)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


# -- gradients ----------------------------------------------------------------
def _alpha_for(n_out):
    return 0.25 if n_out == 1 else [0.5, 1.0, 2.0, 0.25][:n_out]


# gamma=2 without alpha (the defaults) is gradchecked in test_contract.py.
@pytest.mark.parametrize(
    ("gamma", "alpha"),
    [(g, a) for g in GAMMAS for a in (None, "alpha") if (g, a) != (2.0, None)],
)
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_gradcheck(gamma, alpha, shape):
    z, y = shared.fixed_input(shape)
    if alpha:
        alpha = 0.25 if shape.startswith("n") else MC_ALPHA[int(shape[1])]
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    shared.assert_gradcheck(FocalLoss(gamma=gamma, alpha=alpha), z, y, w)
    shared.assert_gradcheck(FocalLoss(gamma=gamma, alpha=alpha, reduction="none"), z, y)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_gradcheck_near_certain_predictions(gamma):
    # p_y close to 1 exercises the (1 - p_y)^gamma factor where it is small.
    z = as_tensor([[12.0, -3.0, 0.0], [-2.0, 15.0, 1.0]])
    loss = FocalLoss(gamma=gamma, reduction="sum")
    shared.assert_gradcheck(loss, z, as_target([0, 1]))
    shared.assert_gradcheck(loss, as_tensor([14.0, -13.0]), as_target([1, 0]))


# -- sample weights with alpha and other gammas --------------------------------
@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unit_weights_equal_no_weights(n_out, gamma, reduction):
    x, weight, y = shared.linear_problem(n_out)
    loss = FocalLoss(gamma=gamma, alpha=_alpha_for(n_out), reduction=reduction)
    shared.assert_unit_weights(loss, x @ weight, y, rtol=1e-14, atol=1e-15)


# gamma=2 without alpha is checked in test_contract.py.
@pytest.mark.parametrize("n_out", [1, 3, 4])
@pytest.mark.parametrize(
    ("gamma", "with_alpha"), [(0.5, False), (0.5, True), (2.0, True)]
)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repeated_rows(n_out, gamma, with_alpha, reduction):
    alpha = _alpha_for(n_out) if with_alpha else None
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    shared.assert_repeated_rows(loss, n_out)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_weights_drop_rows(n_out, reduction):
    loss = FocalLoss(gamma=2.0, alpha=_alpha_for(n_out), reduction=reduction)
    shared.assert_zero_weights_drop_rows(loss, n_out)


@pytest.mark.parametrize("n_out", [1, 4])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_weighted_sum_and_none(n_out, gamma):
    x, weight, y = shared.linear_problem(n_out, seed=3)
    logits = x @ weight
    if n_out == 1:
        logits = logits[:, 0]
    alpha = _alpha_for(n_out)
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    ref = _ref_terms(logits.numpy(), y.tolist(), gamma, alpha)
    # the mean divides by the sum of sample weights, not of alpha_y
    shared.assert_weighted_reductions(
        lambda r: FocalLoss(gamma=gamma, alpha=alpha, reduction=r), logits, y, w, ref
    )


# -- limits and equivalent forms ----------------------------------------------
@pytest.mark.parametrize("shape", ["n", "n1", "k2", "k3", "k4"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gamma_zero_equals_cross_entropy(shape, reduction):
    if shape == "k2":
        z = as_tensor(np.random.default_rng(2).normal(size=(7, 2)))
        y = as_target(BIN_Y)
    else:
        z, y = shared.fixed_input(shape)
    w = torch.linspace(0.5, 2.0, len(y), dtype=F64)
    z1 = z.clone().requires_grad_(True)
    z2 = z.clone().requires_grad_(True)
    focal = FocalLoss(gamma=0.0, alpha=None, reduction=reduction)(
        z1, y, sample_weight=w
    )
    ce = CrossEntropyLoss(reduction=reduction)(z2, y, sample_weight=w)
    torch.testing.assert_close(focal, ce, rtol=1e-13, atol=1e-15)
    focal.sum().backward()
    ce.sum().backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [3, 4])
def test_gamma_zero_with_alpha_is_class_weighted_cross_entropy(k):
    z, y = shared.fixed_input(f"k{k}")
    focal = FocalLoss(gamma=0, alpha=MC_ALPHA[k], reduction="none")(z, y)
    ce = CrossEntropyLoss(reduction="none")(z, y)
    torch.testing.assert_close(
        focal, ce * as_tensor(MC_ALPHA[k])[y], rtol=1e-13, atol=0
    )


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.75])
def test_one_logit_equals_two_logits(gamma, alpha):
    z, y = as_tensor(BIN_Z), as_target(BIN_Y)
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    alpha2 = None if alpha is None else [1.0 - alpha, alpha]
    one = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")(z, y)
    ref = FocalLoss(gamma=gamma, alpha=alpha2, reduction="none")(two, y)
    torch.testing.assert_close(one, ref, rtol=1e-12, atol=1e-15)


# gamma=2 without alpha is checked in test_contract.py.
@pytest.mark.parametrize(("gamma", "alpha"), [(0.0, None), (0.0, 0.25), (2.0, 0.25)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_column_input_equals_flat_input(gamma, alpha, reduction):
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    w = torch.arange(7, dtype=F64)
    shared.assert_column_equals_flat(loss, as_tensor(BIN_Z), as_target(BIN_Y), w)


@pytest.mark.parametrize("k", [3, 4])
def test_focal_down_weights_and_is_monotone_in_gamma(k):
    z, y = shared.fixed_input(f"k{k}")
    terms = [FocalLoss(gamma=g, reduction="none")(z, y) for g in GAMMAS]
    for smaller, larger in zip(terms[1:], terms[:-1]):
        assert torch.all(smaller <= larger)
    assert torch.all(terms[-1] >= 0)


# -- extreme logits -----------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_extreme_binary_logits_finite(dtype, gamma, alpha):
    z, y = shared.extreme_binary(dtype)
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")
    terms = shared.finite_value_and_grad(loss, z, y)
    # confidently wrong costs alpha_y |z| (modulator ~1), confidently right ~0
    a0, a1 = (1.0, 1.0) if alpha is None else (1.0 - alpha, alpha)
    expected = torch.tensor(
        [a0 * 1e4, 0.0, a0 * 80.0, 0.0, 0.0, a1 * 1e4, 0.0, a1 * 80.0], dtype=dtype
    )
    torch.testing.assert_close(terms, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("big", [1e4, 80.0])
def test_extreme_multiclass_logits_finite(dtype, gamma, big):
    z, y = shared.extreme_logits(3, big, dtype)
    loss = FocalLoss(gamma=gamma, alpha=[1.0, 0.5, 2.0], reduction="none")
    terms = shared.finite_value_and_grad(loss, z, y)
    expected = torch.tensor(
        [
            0.0,
            0.5 * 2 * big,
            2 * big + math.log(2.0),
            2.0 * (2 / 3) ** gamma * math.log(3.0),
        ]
    )
    torch.testing.assert_close(terms, expected.to(dtype), rtol=1e-5, atol=1e-5)


# -- parameters ---------------------------------------------------------------
@pytest.mark.parametrize(
    "value", [-1, -0.5, float("nan"), float("inf"), True, False, "2", None, [2.0]]
)
def test_invalid_gamma(value):
    with pytest.raises(ValueError, match="gamma"):
        FocalLoss(gamma=value)


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        -0.1,
        float("nan"),
        [-1, 1],
        [1.0, float("nan")],
        [1.0, float("inf")],
        "x",
        ["a", "b"],
        [[1, 2]],
        [1.0],
        [],
        True,
    ],
)
def test_invalid_alpha(value):
    with pytest.raises(ValueError, match="alpha"):
        FocalLoss(alpha=value)


@pytest.mark.parametrize(
    ("alpha", "shape"),
    [
        ([0.25, 0.5, 0.25], (7,)),  # 3 factors, binary input
        ([0.25, 0.5, 0.25], (7, 1)),
        (0.25, (6, 3)),  # float alpha is binary only
        ([1.0, 1.0, 1.0], (6, 4)),
        ([1.0, 1.0, 1.0, 1.0], (6, 3)),
    ],
)
def test_alpha_class_count_mismatch(alpha, shape):
    z = torch.zeros(shape, dtype=F64)
    y = as_target([0, 1, 1, 0, 1, 0, 0][: shape[0]])
    with pytest.raises(ValueError, match="alpha"):
        FocalLoss(alpha=alpha)(z, y)


@pytest.mark.parametrize(
    ("gamma", "alpha"),
    [
        (0, None),
        (0.0, 0),
        (1, 1),
        (2.0, 0.0),
        (5.0, 0.25),
        (np.float64(1.5), 1.0),
        (0.5, np.float64(0.5)),
        (2.0, [0.0, 1.0]),
        (2.0, [2.0, 3.0, 0.0]),
        (2.0, (1.0, 2.0)),
    ],
)
def test_valid_parameters(gamma, alpha):
    loss = FocalLoss(gamma=gamma, alpha=alpha)
    assert loss.get_params() == {"alpha": alpha, "gamma": gamma, "reduction": "mean"}


def test_declared_metadata():
    assert FocalLoss.name == "focal"
    assert FocalLoss.tasks == frozenset({"binary", "multiclass", "multilabel"})
    assert FocalLoss.decomposable
    assert "_alpha" not in FocalLoss(alpha=[1.0, 2.0]).state_dict()


# -- dtypes -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("weight_dtype", [None, torch.float32, torch.float64])
def test_dtypes(dtype, k, gamma, weight_dtype):
    z, y = shared.fixed_input("n" if k == 1 else "k3")
    alpha = 0.25 if k == 1 else MC_ALPHA[3]
    loss = FocalLoss(gamma=gamma, alpha=alpha)
    shared.assert_dtype_follows_input(loss, z, y, dtype, weight_dtype)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
@pytest.mark.parametrize("u", [19.5, 20.5, 30.0, 39.0, 45.0])
def test_binary_float64_exact_past_softplus_threshold(gamma, u):
    """-log p_y = softplus(u) stays exact to float64 rounding for large u
    (softplus's default threshold of 20 would drop log1p(e^-u) ~ 1e-9)."""
    z = torch.tensor([u], dtype=torch.float64, requires_grad=True)  # y = 0
    value = FocalLoss(gamma=gamma)(z, torch.tensor([0]))
    value.backward()
    ce = u + math.log1p(math.exp(-u))  # softplus(u)
    p_wrong = 1.0 / (1.0 + math.exp(-u))  # 1 - p_y
    assert value.item() == pytest.approx(p_wrong**gamma * ce, rel=1e-14)
    # d/du [s(u)^g softplus(u)] = s^g (g (1 - s) softplus(u) + s), s = sigmoid(u)
    s_ = p_wrong
    grad = s_**gamma * (gamma * (1.0 - s_) * ce + s_)
    assert z.grad.item() == pytest.approx(grad, rel=1e-12)
