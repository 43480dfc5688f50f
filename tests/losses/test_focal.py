"""Tests of FocalLoss against an independent reference and its limits."""

import math

import numpy as np
import pytest
import torch

from sklearn_losses.losses import CrossEntropyLoss, FocalLoss

F64 = torch.float64
GAMMAS = [0.0, 0.5, 2.0, 5.0]

BIN_Z = [-2.5, -0.7, 0.0, 0.4, 1.3, 3.0, -1.1]
BIN_Y = [0, 1, 1, 0, 1, 0, 0]
MC_Y = {3: [0, 2, 1, 1, 0, 2], 4: [3, 0, 1, 2, 3, 0]}
# Factors exactly representable in float32 (see test_float64_alpha_precision).
MC_ALPHA = {3: [0.25, 1.0, 2.0], 4: [0.5, 0.125, 1.5, 3.0]}


def _mc_logits(k):
    return np.random.default_rng(k).normal(scale=2.0, size=(len(MC_Y[k]), k))


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


def _reduce_ref(terms, reduction):
    if reduction == "mean":
        return sum(terms) / len(terms)
    if reduction == "sum":
        return sum(terms)
    return terms


def _tensor(values, dtype=F64, requires_grad=False):
    return torch.tensor(values, dtype=dtype, requires_grad=requires_grad)


def _target(values):
    return torch.tensor(values, dtype=torch.long)


# -- reference values ---------------------------------------------------------
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.75, [0.25, 2.0]])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_binary_matches_reference(gamma, alpha, reduction):
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    out = loss(_tensor(BIN_Z), _target(BIN_Y))
    expected = _reduce_ref(_ref_terms(BIN_Z, BIN_Y, gamma, alpha), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_matches_reference(k, gamma, with_alpha, reduction):
    z = _mc_logits(k)
    alpha = MC_ALPHA[k] if with_alpha else None
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    out = loss(_tensor(z), _target(MC_Y[k]))
    expected = _reduce_ref(_ref_terms(z, MC_Y[k], gamma, alpha), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_alpha_as_numpy_and_tuple():
    z, y = _tensor(_mc_logits(3)), _target(MC_Y[3])
    expected = FocalLoss(alpha=[0.25, 1.0, 2.0])(z, y)
    for alpha in (np.array([0.25, 1.0, 2.0]), (0.25, 1.0, 2.0), np.float64(0.25)):
        if isinstance(alpha, np.floating):
            zb, yb = _tensor(BIN_Z), _target(BIN_Y)
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
    out = FocalLoss(gamma=gamma, alpha=alpha)(_tensor(z), _target(y))
    assert out.item() == pytest.approx(expected, rel=1e-13)


def test_docstring_value():
    out = FocalLoss(gamma=2.0)(torch.tensor([0.0]), torch.tensor([1]))
    assert out.item() == pytest.approx(0.25 * math.log(2.0), rel=1e-6)


@pytest.mark.parametrize("alpha", [0.1, [0.1, 0.3, 0.7]], ids=["float", "list"])
def test_float64_alpha_precision(alpha):
    if isinstance(alpha, float):
        z, y = BIN_Z, BIN_Y
    else:
        z, y = _mc_logits(3), MC_Y[3]
    out = FocalLoss(gamma=2.0, alpha=alpha, reduction="none")(_tensor(z), _target(y))
    expected = _ref_terms(z, y, 2.0, alpha)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


# -- gradients ----------------------------------------------------------------
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, "alpha"])
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_gradcheck(gamma, alpha, shape):
    if shape in ("n", "n1"):
        z = _tensor(BIN_Z)
        if shape == "n1":
            z = z.reshape(-1, 1)
        y = _target(BIN_Y)
        alpha = alpha and 0.25
    else:
        k = int(shape[1])
        z, y = _tensor(_mc_logits(k)), _target(MC_Y[k])
        alpha = alpha and MC_ALPHA[k]
    z.requires_grad_(True)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    mean = FocalLoss(gamma=gamma, alpha=alpha)
    assert torch.autograd.gradcheck(lambda x: mean(x, y, sample_weight=w), (z,))
    none = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")
    assert torch.autograd.gradcheck(lambda x: none(x, y), (z,))


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_gradcheck_near_certain_predictions(gamma):
    # p_y close to 1 exercises the (1 - p_y)^gamma factor where it is small.
    z = _tensor([[12.0, -3.0, 0.0], [-2.0, 15.0, 1.0]], requires_grad=True)
    y = _target([0, 1])
    loss = FocalLoss(gamma=gamma, reduction="sum")
    assert torch.autograd.gradcheck(lambda x: loss(x, y), (z,))
    zb = _tensor([14.0, -13.0], requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: loss(x, _target([1, 0])), (zb,))


# -- sample weights -----------------------------------------------------------
def _problem(n_out, n=7, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.normal(size=(n, d)), dtype=F64)
    weight = torch.tensor(rng.normal(size=(d, n_out)), dtype=F64)
    high = 2 if n_out == 1 else n_out
    y = torch.tensor(rng.integers(0, high, size=n), dtype=torch.long)
    return x, weight, y


def _value_and_grad(loss, x, weight, y, sample_weight=None, squeeze=True):
    weight = weight.clone().requires_grad_(True)
    logits = x @ weight
    if squeeze and logits.shape[1] == 1:
        logits = logits[:, 0]
    value = loss(logits, y, sample_weight=sample_weight)
    value.backward()
    return value.detach(), weight.grad


def _alpha_for(n_out):
    return 0.25 if n_out == 1 else [0.5, 1.0, 2.0, 0.25][:n_out]


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unit_weights_equal_no_weights(n_out, gamma, reduction):
    x, weight, y = _problem(n_out)
    loss = FocalLoss(gamma=gamma, alpha=_alpha_for(n_out), reduction=reduction)
    logits = x @ weight
    plain = loss(logits, y)
    ones = loss(logits, y, sample_weight=torch.ones(len(y), dtype=F64))
    torch.testing.assert_close(ones, plain, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("n_out", [1, 3, 4])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize("with_alpha", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repeated_rows(n_out, gamma, with_alpha, reduction):
    x, weight, y = _problem(n_out)
    counts = torch.tensor([1, 0, 2, 3, 1, 0, 4])
    alpha = _alpha_for(n_out) if with_alpha else None
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    value_w, grad_w = _value_and_grad(loss, x, weight, y, counts.to(F64))
    idx = torch.repeat_interleave(torch.arange(len(y)), counts)
    value_r, grad_r = _value_and_grad(loss, x[idx], weight, y[idx])
    torch.testing.assert_close(value_w, value_r, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad_w, grad_r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_weights_drop_rows(n_out, reduction):
    x, weight, y = _problem(n_out)
    w = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=F64)
    keep = w > 0
    loss = FocalLoss(gamma=2.0, alpha=_alpha_for(n_out), reduction=reduction)
    value_w, grad_w = _value_and_grad(loss, x, weight, y, w)
    value_k, grad_k = _value_and_grad(loss, x[keep], weight, y[keep])
    torch.testing.assert_close(value_w, value_k, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad_w, grad_k, rtol=1e-12, atol=1e-14)
    logits = (x @ weight).requires_grad_(True)
    loss(logits, y, sample_weight=w).backward()
    assert torch.all(logits.grad[~keep] == 0)


@pytest.mark.parametrize("n_out", [1, 4])
@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_weighted_sum_and_none(n_out, gamma):
    x, weight, y = _problem(n_out, seed=3)
    logits = x @ weight
    if n_out == 1:
        logits = logits[:, 0]
    alpha = _alpha_for(n_out)
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    ref = np.asarray(_ref_terms(logits.numpy(), y.tolist(), gamma, alpha))
    out = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")(
        logits, y, sample_weight=w
    )
    assert out.shape == (7,)
    np.testing.assert_allclose(out.numpy(), w.numpy() * ref, rtol=1e-12)
    out = FocalLoss(gamma=gamma, alpha=alpha, reduction="sum")(
        logits, y, sample_weight=w
    )
    assert out.item() == pytest.approx(float(np.sum(w.numpy() * ref)), rel=1e-12)
    # the mean divides by the sum of sample weights, not of alpha_y
    out = FocalLoss(gamma=gamma, alpha=alpha)(logits, y, sample_weight=w)
    expected = np.sum(w.numpy() * ref) / w.sum().item()
    assert out.item() == pytest.approx(float(expected), rel=1e-12)


def test_zero_total_weight_gives_zero():
    z = _tensor(BIN_Z, requires_grad=True)
    out = FocalLoss()(z, _target(BIN_Y), sample_weight=torch.zeros(7, dtype=F64))
    assert out.item() == 0.0
    out.backward()
    assert torch.all(z.grad == 0)


@pytest.mark.parametrize("shape", [(6,), (8,), (7, 1)])
def test_bad_sample_weight_shape(shape):
    with pytest.raises(ValueError, match="sample_weight"):
        FocalLoss()(_tensor(BIN_Z), _target(BIN_Y), sample_weight=torch.ones(shape))


# -- limits and equivalent forms ----------------------------------------------
@pytest.mark.parametrize("shape", ["n", "n1", "k2", "k3", "k4"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gamma_zero_equals_cross_entropy(shape, reduction):
    if shape.startswith("n"):
        z, y = _tensor(BIN_Z), _target(BIN_Y)
        if shape == "n1":
            z = z.reshape(-1, 1)
    else:
        k = int(shape[1])
        if k == 2:
            z = _tensor(np.random.default_rng(2).normal(size=(7, 2)))
            y = _target(BIN_Y)
        else:
            z, y = _tensor(_mc_logits(k)), _target(MC_Y[k])
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
    z, y = _tensor(_mc_logits(k)), _target(MC_Y[k])
    focal = FocalLoss(gamma=0, alpha=MC_ALPHA[k], reduction="none")(z, y)
    ce = CrossEntropyLoss(reduction="none")(z, y)
    torch.testing.assert_close(focal, ce * _tensor(MC_ALPHA[k])[y], rtol=1e-13, atol=0)


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25, 0.75])
def test_one_logit_equals_two_logits(gamma, alpha):
    z, y = _tensor(BIN_Z), _target(BIN_Y)
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    alpha2 = None if alpha is None else [1.0 - alpha, alpha]
    one = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")(z, y)
    ref = FocalLoss(gamma=gamma, alpha=alpha2, reduction="none")(two, y)
    torch.testing.assert_close(one, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("gamma", [0.0, 2.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_column_input_equals_flat_input(gamma, alpha, reduction):
    loss = FocalLoss(gamma=gamma, alpha=alpha, reduction=reduction)
    z, y = _tensor(BIN_Z), _target(BIN_Y)
    w = torch.arange(7, dtype=F64)
    torch.testing.assert_close(loss(z.reshape(-1, 1), y), loss(z, y), rtol=0, atol=0)
    torch.testing.assert_close(
        loss(z.reshape(-1, 1), y, sample_weight=w),
        loss(z, y, sample_weight=w),
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize("k", [3, 4])
def test_focal_down_weights_and_is_monotone_in_gamma(k):
    z, y = _tensor(_mc_logits(k)), _target(MC_Y[k])
    terms = [FocalLoss(gamma=g, reduction="none")(z, y) for g in GAMMAS]
    for smaller, larger in zip(terms[1:], terms[:-1]):
        assert torch.all(smaller <= larger)
    assert torch.all(terms[-1] >= 0)


# -- extreme logits -----------------------------------------------------------
EXTREMES = [1e4, -1e4, 80.0, -80.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("alpha", [None, 0.25])
def test_extreme_binary_logits_finite(dtype, gamma, alpha):
    z = torch.tensor(EXTREMES * 2, dtype=dtype, requires_grad=True)
    y = _target([0] * 4 + [1] * 4)
    terms = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")(z, y)
    assert terms.dtype == dtype
    assert torch.all(torch.isfinite(terms))
    terms.sum().backward()
    assert torch.all(torch.isfinite(z.grad))
    # confidently wrong costs alpha_y |z| (modulator ~1), confidently right ~0
    a0, a1 = (1.0, 1.0) if alpha is None else (1.0 - alpha, alpha)
    expected = torch.tensor(
        [a0 * 1e4, 0.0, a0 * 80.0, 0.0, 0.0, a1 * 1e4, 0.0, a1 * 80.0], dtype=dtype
    )
    torch.testing.assert_close(terms.detach(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("big", [1e4, 80.0])
def test_extreme_multiclass_logits_finite(dtype, gamma, big):
    z = torch.tensor(
        [[big, -big, 0.0], [big, -big, 0.0], [-big, big, big], [big, big, big]],
        dtype=dtype,
        requires_grad=True,
    )
    y = _target([0, 1, 0, 2])
    terms = FocalLoss(gamma=gamma, alpha=[1.0, 0.5, 2.0], reduction="none")(z, y)
    assert terms.dtype == dtype
    assert torch.all(torch.isfinite(terms))
    terms.mean().backward()
    assert torch.all(torch.isfinite(z.grad))
    expected = torch.tensor(
        [
            0.0,
            0.5 * 2 * big,
            2 * big + math.log(2.0),
            2.0 * (2 / 3) ** gamma * math.log(3.0),
        ]
    )
    torch.testing.assert_close(terms.detach(), expected.to(dtype), rtol=1e-5, atol=1e-5)


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
    y = _target([0, 1, 1, 0, 1, 0, 0][: shape[0]])
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


@pytest.mark.parametrize("value", ["bad", None])
def test_invalid_reduction(value):
    with pytest.raises(ValueError, match="reduction"):
        FocalLoss(reduction=value)


def test_registry_metadata():
    assert FocalLoss.name == "focal"
    assert FocalLoss.tasks == frozenset({"binary", "multiclass"})
    assert FocalLoss.decomposable
    assert "_alpha" not in FocalLoss(alpha=[1.0, 2.0]).state_dict()


# -- dtypes -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("weight_dtype", [None, torch.float32, torch.float64])
def test_dtypes(dtype, k, gamma, weight_dtype):
    z = _tensor(BIN_Z) if k == 1 else _tensor(_mc_logits(3))
    y = _target(BIN_Y) if k == 1 else _target(MC_Y[3])
    alpha = 0.25 if k == 1 else MC_ALPHA[3]
    w = (
        None
        if weight_dtype is None
        else torch.linspace(0.5, 1.5, len(y), dtype=weight_dtype)
    )
    loss = FocalLoss(gamma=gamma, alpha=alpha)
    reference = loss(z, y, sample_weight=None if w is None else w.to(F64))
    x = z.to(dtype).requires_grad_(True)
    out = loss(x, y, sample_weight=w)
    assert out.dtype == dtype
    out.backward()
    assert x.grad.dtype == dtype
    assert torch.all(torch.isfinite(x.grad))
    tol = 1e-12 if dtype == F64 and weight_dtype != torch.float32 else 1e-5
    torch.testing.assert_close(out.detach().to(F64), reference, rtol=tol, atol=tol)
