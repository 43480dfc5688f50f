"""Tests of CrossEntropyLoss against an independent reference and its limits."""

import math

import numpy as np
import pytest
import torch

from sklearn_losses.losses import CrossEntropyLoss

F64 = torch.float64

# Fixed inputs: binary log-odds and targets, and (n, K) logits.
BIN_Z = [-2.5, -0.7, 0.0, 0.4, 1.3, 3.0, -1.1]
BIN_Y = [0, 1, 1, 0, 1, 0, 0]
MC_Y = {3: [0, 2, 1, 1, 0, 2], 4: [3, 0, 1, 2, 3, 0]}


def _mc_logits(k):
    return np.random.default_rng(k).normal(scale=2.0, size=(len(MC_Y[k]), k))


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
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.9])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_matches_reference(eps, reduction):
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    out = loss(_tensor(BIN_Z), _target(BIN_Y))
    expected = _reduce_ref(_ref_terms(BIN_Z, BIN_Y, eps), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.9])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_matches_reference(k, eps, reduction):
    z = _mc_logits(k)
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    out = loss(_tensor(z), _target(MC_Y[k]))
    expected = _reduce_ref(_ref_terms(z, MC_Y[k], eps), reduction)
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
    out = CrossEntropyLoss(label_smoothing=eps)(_tensor(z), _target(y))
    assert out.item() == pytest.approx(expected, rel=1e-13)


def test_docstring_value():
    out = CrossEntropyLoss()(torch.tensor([0.0, 2.0]), torch.tensor([1, 1]))
    # (log 2 + log(1 + e^-2)) / 2
    assert out.item() == pytest.approx((0.6931471805599453 + 0.1269280110429726) / 2)


# -- gradients ----------------------------------------------------------------
@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_gradcheck(eps, weighted, shape):
    if shape in ("n", "n1"):
        z = _tensor(BIN_Z)
        if shape == "n1":
            z = z.reshape(-1, 1)
        y = _target(BIN_Y)
    else:
        k = int(shape[1])
        z, y = _tensor(_mc_logits(k)), _target(MC_Y[k])
    z.requires_grad_(True)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64) if weighted else None
    loss = CrossEntropyLoss(label_smoothing=eps)
    assert torch.autograd.gradcheck(lambda x: loss(x, y, sample_weight=w), (z,))
    none = CrossEntropyLoss(label_smoothing=eps, reduction="none")
    assert torch.autograd.gradcheck(lambda x: none(x, y, sample_weight=w), (z,))


def test_binary_gradient_closed_form():
    # d/dz of the logistic loss is sigmoid(z) - q.
    z = _tensor(BIN_Z, requires_grad=True)
    CrossEntropyLoss(label_smoothing=0.2, reduction="sum")(z, _target(BIN_Y)).backward()
    q = np.asarray(BIN_Y) * 0.8 + 0.1
    expected = 1.0 / (1.0 + np.exp(-np.asarray(BIN_Z))) - q
    np.testing.assert_allclose(z.grad.numpy(), expected, rtol=1e-12, atol=1e-15)


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


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_unit_weights_equal_no_weights(n_out, eps, reduction):
    x, weight, y = _problem(n_out)
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    logits = x @ weight
    plain = loss(logits, y)
    ones = loss(logits, y, sample_weight=torch.ones(len(y), dtype=F64))
    torch.testing.assert_close(ones, plain, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(
    ("n_out", "squeeze"), [(1, True), (1, False), (3, True), (4, True)]
)
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_integer_weights_equal_repeated_rows(n_out, squeeze, eps, reduction):
    x, weight, y = _problem(n_out)
    counts = torch.tensor([1, 0, 2, 3, 1, 0, 4])
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    value_w, grad_w = _value_and_grad(
        loss, x, weight, y, counts.to(F64), squeeze=squeeze
    )
    idx = torch.repeat_interleave(torch.arange(len(y)), counts)
    value_r, grad_r = _value_and_grad(loss, x[idx], weight, y[idx], squeeze=squeeze)
    torch.testing.assert_close(value_w, value_r, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad_w, grad_r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_weights_drop_rows(n_out, reduction):
    x, weight, y = _problem(n_out)
    w = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=F64)
    keep = w > 0
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    value_w, grad_w = _value_and_grad(loss, x, weight, y, w)
    value_k, grad_k = _value_and_grad(loss, x[keep], weight, y[keep])
    torch.testing.assert_close(value_w, value_k, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad_w, grad_k, rtol=1e-12, atol=1e-14)
    # the dropped rows get exactly zero gradient
    logits = (x @ weight).requires_grad_(True)
    loss(logits, y, sample_weight=w).backward()
    assert torch.all(logits.grad[~keep] == 0)
    assert torch.all(logits.grad[keep].abs().sum(dim=-1) > 0)


@pytest.mark.parametrize("n_out", [1, 4])
def test_weighted_sum_and_none(n_out):
    x, weight, y = _problem(n_out, seed=3)
    logits = x @ weight
    if n_out == 1:
        logits = logits[:, 0]
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    terms = CrossEntropyLoss(label_smoothing=0.1, reduction="none")(logits, y)
    z = logits.numpy()
    ref = np.asarray(_ref_terms(z, y.tolist(), 0.1))
    np.testing.assert_allclose(terms.numpy(), ref, rtol=1e-12)
    none = CrossEntropyLoss(label_smoothing=0.1, reduction="none")
    out = none(logits, y, sample_weight=w)
    assert out.shape == (7,)
    np.testing.assert_allclose(out.numpy(), w.numpy() * ref, rtol=1e-12)
    out = CrossEntropyLoss(label_smoothing=0.1, reduction="sum")(
        logits, y, sample_weight=w
    )
    assert out.item() == pytest.approx(float(np.sum(w.numpy() * ref)), rel=1e-12)
    out = CrossEntropyLoss(label_smoothing=0.1)(logits, y, sample_weight=w)
    expected = np.sum(w.numpy() * ref) / w.sum().item()
    assert out.item() == pytest.approx(float(expected), rel=1e-12)


def test_zero_total_weight_gives_zero():
    loss = CrossEntropyLoss()
    z = _tensor(BIN_Z, requires_grad=True)
    out = loss(z, _target(BIN_Y), sample_weight=torch.zeros(len(BIN_Y), dtype=F64))
    assert out.item() == 0.0
    out.backward()
    assert torch.all(z.grad == 0)


@pytest.mark.parametrize("shape", [(6,), (8,), (7, 1)])
def test_bad_sample_weight_shape(shape):
    with pytest.raises(ValueError, match="sample_weight"):
        CrossEntropyLoss()(
            _tensor(BIN_Z), _target(BIN_Y), sample_weight=torch.ones(shape)
        )


# -- limits and equivalent forms ----------------------------------------------
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3, 0.9])
def test_one_logit_equals_two_logits(eps):
    z = _tensor(BIN_Z)
    y = _target(BIN_Y)
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


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_column_input_equals_flat_input(eps, reduction):
    loss = CrossEntropyLoss(label_smoothing=eps, reduction=reduction)
    z, y = _tensor(BIN_Z), _target(BIN_Y)
    w = torch.arange(len(BIN_Y), dtype=F64)
    torch.testing.assert_close(loss(z.reshape(-1, 1), y), loss(z, y), rtol=0, atol=0)
    torch.testing.assert_close(
        loss(z.reshape(-1, 1), y, sample_weight=w),
        loss(z, y, sample_weight=w),
        rtol=0,
        atol=0,
    )


def test_label_smoothing_zero_is_plain_ce():
    z = _tensor(_mc_logits(4))
    y = _target(MC_Y[4])
    torch.testing.assert_close(
        CrossEntropyLoss(label_smoothing=0.0)(z, y),
        torch.nn.functional.cross_entropy(z, y),
    )


def test_shift_invariance_multiclass():
    z = _tensor(_mc_logits(3))
    y = _target(MC_Y[3])
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction="none")
    torch.testing.assert_close(loss(z + 17.0, y), loss(z, y), rtol=1e-12, atol=1e-12)


# -- extreme logits -----------------------------------------------------------
EXTREMES = [1e4, -1e4, 80.0, -80.0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_extreme_binary_logits_finite(dtype, eps):
    z = torch.tensor(EXTREMES * 2, dtype=dtype, requires_grad=True)
    y = _target([0] * 4 + [1] * 4)
    loss = CrossEntropyLoss(label_smoothing=eps, reduction="none")
    terms = loss(z, y)
    assert terms.dtype == dtype
    assert torch.all(torch.isfinite(terms))
    assert torch.all(terms >= 0)
    terms.sum().backward()
    assert torch.all(torch.isfinite(z.grad))
    if eps == 0.0:
        # confidently wrong costs |z|, confidently right costs ~0
        expected = torch.tensor([1e4, 0.0, 80.0, 0.0, 0.0, 1e4, 0.0, 80.0], dtype=dtype)
        torch.testing.assert_close(terms.detach(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("big", [1e4, 80.0])
def test_extreme_multiclass_logits_finite(dtype, eps, big):
    z = torch.tensor(
        [[big, -big, 0.0], [big, -big, 0.0], [-big, big, big], [big, big, big]],
        dtype=dtype,
        requires_grad=True,
    )
    y = _target([0, 1, 0, 2])
    terms = CrossEntropyLoss(label_smoothing=eps, reduction="none")(z, y)
    assert terms.dtype == dtype
    assert torch.all(torch.isfinite(terms))
    terms.mean().backward()
    assert torch.all(torch.isfinite(z.grad))
    if eps == 0.0:
        expected = torch.tensor([0.0, 2 * big, 2 * big + math.log(2.0), math.log(3.0)])
        torch.testing.assert_close(
            terms.detach(), expected.to(dtype), rtol=1e-5, atol=1e-5
        )


# -- parameters ---------------------------------------------------------------
@pytest.mark.parametrize(
    "value", [-0.1, 1.0, 1.5, "a", None, float("nan"), float("inf"), [0.1]]
)
def test_invalid_label_smoothing(value):
    with pytest.raises(ValueError, match="label_smoothing"):
        CrossEntropyLoss(label_smoothing=value)


@pytest.mark.parametrize("value", ["bad", "avg", None])
def test_invalid_reduction(value):
    with pytest.raises(ValueError, match="reduction"):
        CrossEntropyLoss(reduction=value)


@pytest.mark.parametrize("value", [0, 0.0, 0.5, 0.999])
def test_valid_label_smoothing(value):
    loss = CrossEntropyLoss(label_smoothing=value)
    assert loss.label_smoothing == value
    assert loss.get_params() == {"label_smoothing": value, "reduction": "mean"}


def test_registry_metadata():
    assert CrossEntropyLoss.name == "cross_entropy"
    assert CrossEntropyLoss.tasks == frozenset({"binary", "multiclass"})
    assert CrossEntropyLoss.decomposable
    assert CrossEntropyLoss.requires == ()


# -- dtypes -------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("weight_dtype", [None, torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_dtypes(dtype, k, weight_dtype, reduction):
    z = _tensor(BIN_Z) if k == 1 else _tensor(_mc_logits(3))
    y = _target(BIN_Y) if k == 1 else _target(MC_Y[3])
    w = (
        None
        if weight_dtype is None
        else torch.linspace(0.5, 1.5, len(y), dtype=weight_dtype)
    )
    loss = CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    reference = loss(z, y, sample_weight=None if w is None else w.to(F64))
    x = z.to(dtype).requires_grad_(True)
    out = loss(x, y, sample_weight=w)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == dtype
    tol = 1e-12 if dtype == F64 and weight_dtype != torch.float32 else 1e-5
    torch.testing.assert_close(out.detach().to(F64), reference, rtol=tol, atol=tol)
