"""Tests of LDRKLLoss and ALDRKLLoss: the spec's reference values, an independent
pure-Python reference, the limits in lambda, gradients, ALDR-KL's per-sample state,
sample weights, the computation paths (the two softmax layouts, the trusted
index) and the estimator.

The generic contract is checked in test_contract.py at the default parameters
(ALDR-KL there is a fresh loss per call, in training mode); here it is checked
again at other parameters, and ALDR-KL in evaluation mode, where its lambda_i are
fixed.
"""

import copy
import math
import pickle

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import F64, MC_Y, as_target, as_tensor, mc_logits

from sklearn_losses.losses import (
    CrossEntropyLoss,
    _softmax,
    get_loss,
    get_loss_class,
    trusted_targets,
)
from sklearn_losses.losses.ldr import ALDRKLLoss, LDRKLLoss

F_SPEC = [[2.0, 1.0, 0.1]]
NORMALIZATIONS = [None, "softplus_mean", "abs_mean"]


@pytest.fixture(params=[False, True], ids=["by_row", "by_column"])
def layout(request, monkeypatch):
    """Force the ``(n, K)`` or the ``(K, n)`` layout, whatever the batch size,
    dtype and CPU (the losses pick ``(K, n)`` for large batches of short rows
    on CPU)."""
    form = "column" if request.param else "row"
    monkeypatch.setattr(_softmax, "layout", lambda z: form)
    return request.param


# -- independent reference (pure Python / numpy, no torch) ---------------------
def _softplus(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


def _normalize_ref(row, mode):
    if mode is None:
        return list(row)
    if mode == "softplus_mean":
        s = [_softplus(v) for v in row]
        return [v / (sum(s) / len(s)) for v in s]
    scale = sum(abs(v) for v in row) / len(row)
    return [v / scale for v in row]


def _ldr_row(f, y, lam, c):
    """lam * log((1/K) sum_k exp(d_k / lam)), d_k = f_k - f_y + c [k != y]."""
    d = [fk - f[y] + (c if k != y else 0.0) for k, fk in enumerate(f)]
    m = max(d)
    return m + lam * math.log(sum(math.exp((dk - m) / lam) for dk in d) / len(d))


def _as_rows(z):
    """Rows of K logits; one binary logit z is the two logits (0, z)."""
    z = np.asarray(z, dtype=float)
    if z.ndim == 1:
        z = np.stack([np.zeros_like(z), z], axis=1)
    return z.tolist()


def ldr_ref(z, y, lam, c, norm=None):
    return [
        _ldr_row(_normalize_ref(r, norm), yi, lam, c) for r, yi in zip(_as_rows(z), y)
    ]


def aldr_lambda_ref(row, lam_old, lam0, alpha):
    """lam0 (1 - KL(softmax(f / lam_old) || uniform) / (alpha log K)), clipped."""
    k = len(row)
    m = max(row)
    e = [math.exp((v - m) / lam_old) for v in row]
    p = [v / sum(e) for v in e]
    kl = sum(pk * math.log(k * max(pk, 1e-12)) for pk in p)
    lam = lam0 * (1.0 - kl / (alpha * math.log(k)))
    return min(max(lam, lam0 * (1.0 - 1.0 / alpha)), lam0), kl


def aldr_ref(z, y, lam_old, lam0, alpha, c, norm=None, update=True):
    """Per-sample terms and lambda_i: from lam_old at training (update=True),
    lam_old itself at evaluation."""
    terms, lams = [], []
    for row, yi, lo in zip(_as_rows(z), y, lam_old):
        f = _normalize_ref(row, norm)
        lam = aldr_lambda_ref(f, lo, lam0, alpha)[0] if update else lo
        reg = alpha * math.log(len(f)) / (2.0 * lam0) * (lam - lam0) ** 2
        terms.append(_ldr_row(f, yi, lam, c) - reg)
        lams.append(lam)
    return terms, lams


def _idx(n):
    return torch.arange(n)


def _aldr_eval(n, seed=0, **params):
    """An ALDR-KL loss in eval mode whose lambda_i were set by a training call
    on random logits (so they differ from lam0 and from each other)."""
    loss = ALDRKLLoss(**params)
    loss.setup(n_samples=n, n_classes=3)
    rng = np.random.default_rng(seed)
    loss(
        as_tensor(rng.normal(scale=3.0, size=(n, 3))), as_target([0] * n), index=_idx(n)
    )
    return loss.eval()


# -- the spec's reference values -----------------------------------------------
@pytest.mark.parametrize(
    ("lam", "margin", "expected"),
    [
        (0.1, 0.0, -0.109857),
        (0.1, 0.1, -0.109849),
        (1.0, 0.0, -0.681582),
        (1.0, 0.1, -0.646347),
        (10.0, 0.0, -0.936528),
        (10.0, 0.1, -0.873018),
    ],
)
def test_ldr_spec_values(lam, margin, expected):
    out = LDRKLLoss(lam=lam, margin=margin)(as_tensor(F_SPEC), as_target([0]))
    assert out.item() == pytest.approx(expected, abs=1e-6)


def test_ldr_spec_value_other_target():
    out = LDRKLLoss(lam=1.0, margin=0.1)(as_tensor(F_SPEC), as_target([2]))
    assert out.item() == pytest.approx(1.308994, abs=1e-6)


def test_ldr_spec_softplus_mean():
    loss = LDRKLLoss(lam=10.0, logit_normalization="softplus_mean")
    assert loss(as_tensor(F_SPEC), as_target([0])).item() == pytest.approx(
        -0.451523, abs=1e-6
    )


@pytest.mark.parametrize(
    ("lam0", "norm", "kl", "lam_i", "reg", "expected"),
    [
        (1.0, None, 0.251874, 0.885367, -0.0144365, -0.632396),
        (10.0, None, None, 9.986281, None, -0.873002),
        (10.0, "abs_mean", None, None, None, -0.843628),
    ],
)
def test_aldr_spec_first_visit(lam0, norm, kl, lam_i, reg, expected):
    loss = ALDRKLLoss(lam0=lam0, alpha=2.0, margin=0.1, logit_normalization=norm)
    loss.setup(n_samples=3, n_classes=3)
    out = loss(as_tensor(F_SPEC), as_target([0]), index=torch.tensor([1]))
    assert out.item() == pytest.approx(expected, abs=1e-6)
    row = _normalize_ref(F_SPEC[0], norm)
    ref_lam, ref_kl = aldr_lambda_ref(row, lam0, lam0, 2.0)
    if kl is not None:
        assert ref_kl == pytest.approx(kl, abs=1e-6)
    if lam_i is not None:
        assert ref_lam == pytest.approx(lam_i, abs=1e-6)
        assert loss.lambdas[1].item() == pytest.approx(lam_i, abs=1e-5)  # float32
    if reg is not None:
        assert -2.0 * math.log(3) / (2 * lam0) * (ref_lam - lam0) ** 2 == (
            pytest.approx(reg, abs=1e-7)
        )
    if norm == "abs_mean":
        assert row == pytest.approx([1.935484, 0.967742, 0.096774], abs=1e-6)


def test_spec_softplus_mean_logits():
    row = _normalize_ref(F_SPEC[0], "softplus_mean")
    assert row == pytest.approx([1.52483, 0.941499, 0.53367], abs=1e-5)


# -- against the independent reference ----------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
@pytest.mark.parametrize(
    ("lam", "margin"), [(0.05, 0.0), (0.5, 0.3), (1.0, 0.1), (10.0, 0.1), (300, 2.0)]
)
@pytest.mark.parametrize("norm", NORMALIZATIONS)
def test_ldr_matches_reference(k, lam, margin, norm, layout):
    rng = np.random.default_rng(k)
    n = 9
    z = rng.normal(scale=3.0, size=(n,) if k == 1 else (n, k))
    y = rng.integers(0, max(k, 2), size=n).tolist()
    expected = ldr_ref(z, y, lam, margin, norm)
    out = LDRKLLoss(lam=lam, margin=margin, logit_normalization=norm, reduction="none")
    np.testing.assert_allclose(
        out(as_tensor(z), as_target(y)).numpy(), expected, rtol=1e-12, atol=1e-13
    )
    out.reduction = "mean"
    assert out(as_tensor(z), as_target(y)).item() == pytest.approx(
        np.mean(expected), rel=1e-12, abs=1e-13
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ldr_reductions_match_reference(reduction):
    z, y = mc_logits(4), MC_Y[4]
    out = LDRKLLoss(lam=0.7, margin=0.2, reduction=reduction)(
        as_tensor(z), as_target(y)
    )
    expected = shared.reduce_ref(ldr_ref(z, y, 0.7, 0.2), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize(("lam0", "alpha"), [(0.3, 1.5), (1.0, 2.0), (10.0, 4.0)])
@pytest.mark.parametrize("norm", NORMALIZATIONS)
def test_aldr_matches_reference_over_visits(k, lam0, alpha, norm, layout):
    """Three training calls on overlapping random index sets, then evaluation;
    the reference reads lambda_old rounded to the buffer's float32."""
    rng = np.random.default_rng(10 * k + int(lam0))
    n_rows, n = 12, 8
    loss = ALDRKLLoss(lam0=lam0, alpha=alpha, margin=0.1, logit_normalization=norm)
    loss.setup(n_samples=n_rows, n_classes=max(k, 2))
    stored = np.full(n_rows, lam0, dtype=np.float32)
    for _ in range(3):
        index = rng.choice(n_rows, size=n, replace=False)
        z = rng.normal(scale=3.0, size=(n,) if k == 1 else (n, k))
        y = rng.integers(0, max(k, 2), size=n).tolist()
        out = loss(as_tensor(z), as_target(y), index=torch.tensor(index))
        terms, lams = aldr_ref(z, y, stored[index].tolist(), lam0, alpha, 0.1, norm)
        assert out.item() == pytest.approx(np.mean(terms), rel=1e-12, abs=1e-13)
        stored[index] = np.asarray(lams, dtype=np.float32)
        np.testing.assert_array_equal(loss.lambdas.numpy(), stored)
    loss.eval()
    index = np.arange(n_rows)
    z = rng.normal(scale=3.0, size=(n_rows,) if k == 1 else (n_rows, k))
    y = rng.integers(0, max(k, 2), size=n_rows).tolist()
    loss.reduction = "none"
    out = loss(as_tensor(z), as_target(y), index=torch.tensor(index))
    terms, _ = aldr_ref(
        z, y, stored.astype(float).tolist(), lam0, alpha, 0.1, norm, update=False
    )
    np.testing.assert_allclose(out.numpy(), terms, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(loss.lambdas.numpy(), stored)


def test_one_logit_is_two_logits_zero_z():
    z, y = as_tensor(shared.BIN_Z), as_target(shared.BIN_Y)
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    for loss in (LDRKLLoss(lam=0.5), LDRKLLoss(logit_normalization="abs_mean")):
        torch.testing.assert_close(loss(z, y), loss(two, y), rtol=0, atol=0)
        torch.testing.assert_close(loss(z.reshape(-1, 1), y), loss(two, y))
    idx = _idx(len(y))
    torch.testing.assert_close(
        ALDRKLLoss(lam0=1.0)(z, y, index=idx), ALDRKLLoss(lam0=1.0)(two, y, index=idx)
    )


# -- limits -------------------------------------------------------------------
@pytest.mark.parametrize("k", [3, 4])
def test_lam_one_no_margin_is_cross_entropy_minus_log_k(k):
    z, y = as_tensor(mc_logits(k)), as_target(MC_Y[k])
    ldr = LDRKLLoss(lam=1.0, margin=0.0, reduction="none")(z, y)
    ce = CrossEntropyLoss(reduction="none")(z, y)
    torch.testing.assert_close(ldr, ce - math.log(k), rtol=1e-12, atol=1e-13)


def _gaps(z, y, margin):
    d = z - z.gather(1, y.unsqueeze(1))
    return d + margin * (1.0 - torch.nn.functional.one_hot(y, z.shape[1]).to(z.dtype))


@pytest.mark.parametrize("margin", [0.0, 0.1, 1.0])
def test_small_lam_tends_to_crammer_singer_hinge(margin):
    z, y = as_tensor(mc_logits(4)), as_target(MC_Y[4])
    hinge = _gaps(z, y, margin).amax(dim=1)
    out = LDRKLLoss(lam=1e-3, margin=margin, reduction="none")(z, y)
    torch.testing.assert_close(out, hinge, rtol=0, atol=1e-2)
    # lam (lse - log K) lies within lam log K of the max
    assert torch.all((out - hinge).abs() <= 1e-3 * math.log(4) + 1e-12)
    tiny = LDRKLLoss(lam=1e-30, margin=margin, reduction="none")(z, y)
    torch.testing.assert_close(tiny, hinge, rtol=0, atol=1e-12)


@pytest.mark.parametrize("margin", [0.0, 0.1, 1.0])
def test_large_lam_tends_to_mean_gap(margin):
    z, y = as_tensor(mc_logits(4)), as_target(MC_Y[4])
    mean_gap = _gaps(z, y, margin).mean(dim=1)
    out = LDRKLLoss(lam=1e4, margin=margin, reduction="none")(z, y)
    torch.testing.assert_close(out, mean_gap, rtol=0, atol=1e-3)


# -- gradients ----------------------------------------------------------------
LDR_PARAMS = [
    {"lam": 0.1, "margin": 0.0},
    {"lam": 1.0, "margin": 0.5},
    {"lam": 3.0, "margin": 0.1, "logit_normalization": "softplus_mean"},
    {"lam": 10.0, "margin": 0.1, "logit_normalization": "abs_mean"},
]


def _grad_input(shape):
    if shape == "k2":
        z = as_tensor(np.random.default_rng(2).normal(scale=2.0, size=(7, 2)))
        return z, as_target(shared.BIN_Y)
    return shared.fixed_input(shape)


@pytest.mark.parametrize("params", LDR_PARAMS, ids=str)
@pytest.mark.parametrize("shape", ["n", "k2", "k3", "k4"])
def test_ldr_gradcheck(params, shape):
    if shape == "n" and params.get("logit_normalization") == "abs_mean":
        pytest.skip("(0, z) / mean|(0, z)| = (0, 2 sign z): flat, kinked at z = 0")
    z, y = _grad_input(shape)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    shared.assert_gradcheck(LDRKLLoss(**params), z, y, w)
    shared.assert_gradcheck(LDRKLLoss(reduction="none", **params), z, y)


@pytest.mark.parametrize("norm", NORMALIZATIONS)
@pytest.mark.parametrize("trained", [False, True], ids=["fresh", "trained"])
@pytest.mark.parametrize("shape", ["k2", "k3"])
def test_aldr_gradcheck_eval_mode(norm, trained, shape):
    z, y = _grad_input(shape)
    n = len(y)
    params = {"lam0": 1.0, "alpha": 2.0, "logit_normalization": norm}
    if trained:
        loss = _aldr_eval(n, **params)
    else:
        loss = ALDRKLLoss(**params)
        loss.setup(n_samples=n, n_classes=z.shape[1])
        loss.eval()
    before = loss.lambdas.clone()
    w = torch.linspace(0.0, 2.0, n, dtype=F64)
    shared.assert_gradcheck(loss, z, y, w, context={"index": _idx(n)})
    torch.testing.assert_close(loss.lambdas, before, rtol=0, atol=0)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("lam0", [0.5, 1.0, 10.0])
def test_aldr_training_gradient_holds_lambda_fixed(lam0, reduction, layout):
    """d loss_i / d f_i = softmax(d_i / lambda_i) - e_y with lambda_i constant."""
    z, y = as_tensor(mc_logits(4), requires_grad=True), as_target(MC_Y[4])
    loss = ALDRKLLoss(lam0=lam0, alpha=2.0, margin=0.1, reduction=reduction)
    loss(z, y, index=_idx(len(y))).backward()
    _, lams = aldr_ref(mc_logits(4), MC_Y[4], [lam0] * len(y), lam0, 2.0, 0.1)
    lam = torch.tensor(lams, dtype=F64).unsqueeze(1)
    gaps = _gaps(z.detach(), y, 0.1)
    expected = torch.softmax(gaps / lam, dim=1) - torch.nn.functional.one_hot(y, 4)
    if reduction == "mean":
        expected = expected / len(y)
    torch.testing.assert_close(z.grad, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("n_out", [1, 2, 3])
def test_empty_batch_mean_is_zero(n_out, training, layout):
    """The mean of an empty batch is 0 and differentiable, as weighted_reduce."""
    z = torch.zeros((0,) if n_out == 1 else (0, n_out), dtype=F64)
    z.requires_grad_(True)
    y = torch.zeros(0, dtype=torch.long)
    for loss, context in (
        (LDRKLLoss(lam=0.8, margin=0.3), {}),
        (_aldr_eval(15, lam0=2.0).train(training), {"index": _idx(0)}),
    ):
        out = loss(z, y, **context)
        assert out.shape == ()
        assert out.item() == 0.0
        out.backward()


@pytest.mark.parametrize("shape", ["k2", "k3", "k4"])
def test_mean_gradcheck(shape, layout):
    """The mean without weights in both layouts."""
    z, y = _grad_input(shape)
    shared.assert_gradcheck(LDRKLLoss(lam=0.7, margin=0.2), z, y)
    shared.assert_gradcheck(LDRKLLoss(lam=2.0, margin=0.0), z, y)
    loss = _aldr_eval(len(y), lam0=1.0)
    shared.assert_gradcheck(loss, z, y, context={"index": _idx(len(y))})


@pytest.mark.parametrize("big", [1e4, 80.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n_out", [1, 2, 3, 4])
@pytest.mark.parametrize("norm", NORMALIZATIONS)
def test_extreme_logits_finite(n_out, dtype, big, norm):
    z, y = shared.extreme_logits(n_out, big, dtype)
    n = len(y)
    w = torch.tensor([0.5, 2.0, 0.0, 1.0], dtype=dtype)
    for lam in (1e-3, 1.0, 10.0, 1e4):
        loss = LDRKLLoss(lam=lam, logit_normalization=norm, reduction="none")
        shared.finite_value_and_grad(loss, z, y)
        shared.finite_value_and_grad(
            LDRKLLoss(lam=lam, logit_normalization=norm), z, y, w
        )
    for lam0 in (0.1, 10.0):
        loss = ALDRKLLoss(lam0=lam0, logit_normalization=norm)
        context = {"index": _idx(n)}
        shared.finite_value_and_grad(loss, z, y, w, context)  # training: writes
        assert torch.all(torch.isfinite(loss.lambdas))
        shared.finite_value_and_grad(loss.eval(), z, y, w, context)


@pytest.mark.parametrize("norm", ["softplus_mean", "abs_mean"])
def test_degenerate_rows_for_normalization(norm):
    # all-zero rows (abs_mean) and rows whose softplus underflows (softplus_mean)
    z = torch.tensor([[0.0, 0.0, 0.0], [-1e4, -1e4, -2e4]], dtype=F64)
    y = as_target([1, 2])
    out = shared.finite_value_and_grad(LDRKLLoss(logit_normalization=norm), z, y)
    assert torch.isfinite(out)


# -- ALDR-KL state ------------------------------------------------------------
def test_setup_sizes_buffer():
    loss = ALDRKLLoss(lam0=3.0)
    assert loss.lambdas is None
    loss.setup(n_samples=11, n_classes=4)
    assert loss.lambdas.shape == (11,)
    assert loss.lambdas.dtype == torch.get_default_dtype()
    assert torch.all(loss.lambdas == 3.0)
    assert "lambdas" in dict(loss.named_buffers())
    loss(as_tensor(mc_logits(3)), as_target(MC_Y[3]), index=_idx(6))
    loss.setup(n_samples=5, n_classes=4)  # a new fit resets the state
    assert loss.lambdas.shape == (5,)
    assert torch.all(loss.lambdas == 3.0)


def test_training_updates_given_indices_only():
    loss = ALDRKLLoss(lam0=1.0)
    loss.setup(n_samples=10, n_classes=3)
    index = torch.tensor([7, 2, 5, 0, 9, 4])
    loss(as_tensor(mc_logits(3)), as_target(MC_Y[3]), index=index)
    touched = torch.zeros(10, dtype=torch.bool)
    touched[index] = True
    assert torch.all(loss.lambdas[~touched] == 1.0)
    assert torch.all(loss.lambdas[touched] < 1.0)
    _, lams = aldr_ref(mc_logits(3), MC_Y[3], [1.0] * 6, 1.0, 2.0, 0.1)
    np.testing.assert_allclose(loss.lambdas[index].numpy(), lams, rtol=1e-6)


def test_eval_mode_does_not_write():
    loss = _aldr_eval(6, lam0=2.0)
    before = loss.lambdas.clone()
    z, y = as_tensor(mc_logits(3)), as_target(MC_Y[3])
    first = loss(z, y, index=_idx(6))
    second = loss(z * 5.0, y, index=_idx(6))
    torch.testing.assert_close(loss.lambdas, before, rtol=0, atol=0)
    assert torch.isfinite(first) and torch.isfinite(second)
    with torch.no_grad():
        again = loss(z, y, index=_idx(6))
    torch.testing.assert_close(again, first, rtol=0, atol=0)
    # eval uses the stored lambda_i, not lambda recomputed from the logits
    terms, _ = aldr_ref(
        mc_logits(3), MC_Y[3], before.double().tolist(), 2.0, 2.0, 0.1, update=False
    )
    assert first.item() == pytest.approx(np.mean(terms), rel=1e-12)
    loss.train()
    loss(z, y, index=_idx(6))
    assert not torch.equal(loss.lambdas, before)


@pytest.mark.parametrize("alpha", [1.01, 1.5, 2.0, 5.0])
@pytest.mark.parametrize("lam0", [0.1, 1.0, 10.0])
def test_lambda_stays_in_range(lam0, alpha):
    rng = np.random.default_rng(0)
    n = 40
    loss = ALDRKLLoss(lam0=lam0, alpha=alpha)
    loss.setup(n_samples=n, n_classes=5)
    low = lam0 * (1.0 - 1.0 / alpha)
    for scale in (0.01, 1.0, 30.0, 1e4):
        z = as_tensor(rng.normal(scale=scale, size=(n, 5)))
        loss(z, as_target(rng.integers(0, 5, size=n)), index=_idx(n))
        lam = loss.lambdas.double()
        assert torch.all(lam >= np.float32(low)) and torch.all(lam <= lam0)
    # one-hot predictions (KL = log K) reach the lower end
    z = torch.tensor([[1e4, 0.0, 0.0, 0.0, 0.0]], dtype=F64)
    loss(z, as_target([0]), index=torch.tensor([0]))
    assert loss.lambdas[0].item() == pytest.approx(low, rel=1e-6)


def test_confident_predictions_get_smaller_lambda():
    loss = ALDRKLLoss(lam0=1.0)
    loss.setup(n_samples=3, n_classes=3)
    z = torch.tensor([[5.0, 0.0, 0.0], [0.3, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=F64)
    loss(z, as_target([0, 0, 0]), index=_idx(3))
    confident, mild, flat = loss.lambdas.tolist()
    assert confident < mild < flat
    assert flat == 1.0  # uniform p: KL = 0


def test_lazy_allocation_without_setup():
    z, y = as_tensor(mc_logits(3)[:2]), as_target([0, 2])
    loss = ALDRKLLoss(lam0=2.0).eval()
    out = loss(z, y, index=torch.tensor([3, 7]))  # eval: nothing allocated
    assert loss.lambdas is None
    expected = LDRKLLoss(lam=2.0)(z, y)  # lambda_i = lam0, no regulariser
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-14)
    loss.train()
    loss(z, y, index=torch.tensor([3, 7]))
    assert loss.lambdas.shape == (8,)
    kept = loss.lambdas.clone()
    assert torch.all(kept[[0, 1, 2, 4, 5, 6]] == 2.0)
    loss(z[:1], y[:1], index=torch.tensor([10]))
    assert loss.lambdas.shape == (11,)
    torch.testing.assert_close(loss.lambdas[:8], kept, rtol=0, atol=0)
    # eval beyond the buffer reads lam0
    loss.eval()
    torch.testing.assert_close(
        loss(z, y, index=torch.tensor([20, 30])), expected, rtol=1e-12, atol=1e-14
    )


def test_state_dict_round_trip():
    trained = _aldr_eval(9, lam0=1.0)
    state = trained.state_dict()
    assert set(state) == {"lambdas"}
    z, y = as_tensor(np.random.default_rng(5).normal(size=(9, 3))), as_target([1] * 9)
    expected = trained(z, y, index=_idx(9))
    fresh = ALDRKLLoss(lam0=1.0)  # no setup: the buffer is sized on load
    fresh.load_state_dict(state)
    torch.testing.assert_close(fresh.lambdas, trained.lambdas, rtol=0, atol=0)
    torch.testing.assert_close(fresh.eval()(z, y, index=_idx(9)), expected)
    other = ALDRKLLoss(lam0=1.0)
    other.setup(n_samples=4, n_classes=3)  # another size: resized on load
    other.load_state_dict(state)
    assert other.lambdas.shape == (9,)
    # deepcopy and pickle keep the state
    for copied in (copy.deepcopy(trained), pickle.loads(pickle.dumps(trained))):
        torch.testing.assert_close(copied.lambdas, trained.lambdas, rtol=0, atol=0)
        assert not copied.training


def test_module_to_keeps_buffer():
    loss = ALDRKLLoss()
    loss.setup(n_samples=4, n_classes=2)
    loss.to(torch.float64)
    assert loss.lambdas.dtype == torch.float64
    out = loss(torch.zeros(4, 2, dtype=F64), as_target([0, 1, 0, 1]), index=_idx(4))
    assert out.dtype == torch.float64


@pytest.mark.parametrize(
    ("index", "match"),
    [
        (None, "index="),
        (torch.tensor([0, 1]), "shape"),
        (torch.tensor([[0, 1, 2]]), "shape"),
        (torch.tensor([0.0, 1.0, 2.0]), "integers"),
        (torch.tensor([0, -1, 2]), "non-negative"),
    ],
)
def test_bad_index(index, match):
    z, y = as_tensor(mc_logits(3)[:3]), as_target([0, 1, 2])
    with pytest.raises(ValueError, match=match):
        ALDRKLLoss()(z, y, index=index)


def test_index_as_numpy_and_int32():
    z, y = as_tensor(mc_logits(3)[:3]), as_target([0, 1, 2])
    ref = ALDRKLLoss()(z, y, index=torch.tensor([0, 1, 2]))
    for index in (np.array([0, 1, 2]), torch.tensor([0, 1, 2], dtype=torch.int32)):
        torch.testing.assert_close(ALDRKLLoss()(z, y, index=index), ref)


# -- the trusted path: no per-batch check of the index ---------------------------
#: Tensor methods that copy a value to the host (a device sync on GPU).
_HOST_READS = ("item", "tolist", "__bool__", "__int__", "__float__", "__index__")


def _refuse(*args, **kwargs):
    raise AssertionError("read a tensor value on the host")


def _leaf(z):
    return z.detach().clone().requires_grad_(True)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("k", [2, 10])
def test_trusted_path_reads_no_tensor_value(monkeypatch, layout, training, k):
    """Inside trusted_targets() a call reads no tensor value on the host (no
    index range check), and gives the values, gradients and lambda_i of the
    checked call."""
    rng = np.random.default_rng(k)
    n, n_rows = 64, 100
    z = torch.tensor(rng.normal(scale=2.0, size=(n, k)), dtype=torch.float32)
    y = torch.from_numpy(rng.integers(0, k, size=n))
    index = torch.from_numpy(rng.permutation(n_rows)[:n])
    warm = torch.tensor(rng.normal(size=(n_rows, k)), dtype=torch.float32)
    losses = []
    for _ in range(2):
        loss = ALDRKLLoss(lam0=1.0)
        loss.setup(n_samples=n_rows, n_classes=k)
        zeros = torch.zeros(n_rows, dtype=torch.long)
        loss(warm, zeros, index=torch.arange(n_rows))  # lambda_i != lam0
        losses.append(loss.train(training))
    checked, trusted = losses
    z_checked, z_trusted = _leaf(z), _leaf(z)
    ldr_checked, ldr_trusted = _leaf(z), _leaf(z)
    out_checked = checked(z_checked, y, index=index)
    out_checked.backward()
    LDRKLLoss()(ldr_checked, y).backward()
    with monkeypatch.context() as m:
        for name in _HOST_READS:
            m.setattr(torch.Tensor, name, _refuse)
        with trusted_targets():
            out_trusted = trusted(z_trusted, y, index=index)
            out_trusted.backward()
            LDRKLLoss()(ldr_trusted, y).backward()
        with pytest.raises(AssertionError, match="on the host"):
            checked(z, y, index=index)  # the checks do read values
    torch.testing.assert_close(out_trusted, out_checked, rtol=0, atol=0)
    torch.testing.assert_close(z_trusted.grad, z_checked.grad, rtol=0, atol=0)
    torch.testing.assert_close(trusted.lambdas, checked.lambdas, rtol=0, atol=0)
    torch.testing.assert_close(ldr_trusted.grad, ldr_checked.grad, rtol=0, atol=0)


def test_check_context_checks_the_index_once():
    loss = ALDRKLLoss()
    loss.check_context({"index": torch.arange(5)})
    loss.check_context({})
    for index, match in [
        (torch.tensor([0, -1, 2]), "non-negative"),
        (torch.tensor([0.0, 1.0]), "integers"),
        (torch.zeros(2, 2, dtype=torch.long), "shape"),
    ]:
        with pytest.raises(ValueError, match=match):
            loss.check_context({"index": index})
    assert loss.lambdas is None  # nothing allocated


def test_trusted_bad_index_on_cpu():
    """Inside trusted_targets(), on CPU, a negative index is still reported and
    an index beyond the buffer still grows it."""
    z, y = as_tensor(mc_logits(3)[:3]), as_target([0, 1, 2])
    loss = ALDRKLLoss(lam0=1.0)
    loss.setup(n_samples=3, n_classes=3)
    with trusted_targets(), pytest.raises(ValueError, match="non-negative"):
        loss(z, y, index=torch.tensor([0, -1, 2]))
    torch.testing.assert_close(loss.lambdas, torch.ones(3), rtol=0, atol=0)
    index = torch.tensor([0, 6, 2])
    expected = ALDRKLLoss(lam0=1.0)
    expected.setup(n_samples=3, n_classes=3)
    value = expected(z, y, index=index)
    with trusted_targets():
        torch.testing.assert_close(loss(z, y, index=index), value, rtol=0, atol=0)
    assert loss.lambdas.shape == (7,)
    torch.testing.assert_close(loss.lambdas, expected.lambdas, rtol=0, atol=0)
    with trusted_targets():  # evaluation beyond the buffer reads lam0
        out = loss.eval()(z, y, index=torch.tensor([20, 1, 30]), sample_weight=None)
    loss.reduction = "none"
    with trusted_targets():
        terms = loss(z, y, index=torch.tensor([20, 1, 30]))
    assert out.item() == pytest.approx(terms.mean().item(), rel=1e-12)
    torch.testing.assert_close(
        terms[[0, 2]], LDRKLLoss(lam=1.0, reduction="none")(z, y)[[0, 2]]
    )


def test_large_batch_float32_matches_float64(layout):
    """A batch of the size the estimators train on, in float32, against the
    float64 computation."""
    rng = np.random.default_rng(3)
    n, k = 1024, 10
    z = rng.normal(scale=2.0, size=(n, k))
    y = as_target(rng.integers(0, k, size=n).tolist())
    index = torch.from_numpy(rng.permutation(n))
    out = {}
    for dtype in (torch.float32, F64):
        loss = ALDRKLLoss()
        loss.setup(n_samples=n, n_classes=k)
        zt = as_tensor(z, dtype=dtype, requires_grad=True)
        with trusted_targets():
            aldr = loss(zt, y, index=index)
            aldr.backward()
            ldr = LDRKLLoss()(zt.detach(), y)
        out[dtype] = (aldr.item(), zt.grad.double(), loss.lambdas.double(), ldr.item())
    (a32, g32, l32, ldr32), (a64, g64, l64, ldr64) = out[torch.float32], out[F64]
    assert a32 == pytest.approx(a64, rel=1e-5, abs=1e-6)
    assert ldr32 == pytest.approx(ldr64, rel=1e-5, abs=1e-6)
    torch.testing.assert_close(g32, g64, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(l32, l64, rtol=1e-6, atol=0)


# -- sample weights -----------------------------------------------------------
@pytest.mark.parametrize("params", LDR_PARAMS, ids=str)
@pytest.mark.parametrize("n_out", [1, 2, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_ldr_weights(params, n_out, reduction):
    loss = LDRKLLoss(reduction=reduction, **params)
    z, y = _grad_input("n" if n_out == 1 else f"k{max(n_out, 2)}")
    shared.assert_unit_weights(loss, z, y, rtol=1e-14, atol=1e-15)
    shared.assert_repeated_rows(loss, n_out)
    # abs_mean maps two logits of opposite signs (one logit z: (0, z)) to a gap
    # of 2 whatever their values: flat rows, with a zero gradient.
    flat = n_out <= 2 and params.get("logit_normalization") == "abs_mean"
    shared.assert_zero_weights_drop_rows(loss, n_out, kept_nonzero=not flat)


def test_ldr_weighted_reductions():
    z, y = as_tensor(mc_logits(4)), as_target(MC_Y[4])
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25], dtype=F64)
    ref = ldr_ref(mc_logits(4), MC_Y[4], 0.3, 0.2)
    shared.assert_weighted_reductions(
        lambda r: LDRKLLoss(lam=0.3, margin=0.2, reduction=r), z, y, w, ref
    )


@pytest.mark.parametrize("n_out", [2, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_aldr_eval_weights(n_out, reduction):
    loss = _aldr_eval(7, lam0=1.0, alpha=3.0)
    loss.reduction = reduction
    context = {"index": _idx(7)}
    z = as_tensor(np.random.default_rng(1).normal(size=(7, n_out)))
    y = as_target([0, 1, 1, 0, 1, 0, 0])
    shared.assert_unit_weights(loss, z, y, rtol=1e-14, atol=1e-15, context=context)
    shared.assert_repeated_rows(loss, n_out, context=context)
    shared.assert_zero_weights_drop_rows(loss, n_out, context=context)


def test_aldr_training_repeated_indices_equal_weights():
    """In training mode too, a row repeated in one batch gets one lambda_i."""
    calls = []

    def fresh(*args, **kwargs):
        loss = ALDRKLLoss(lam0=1.0)
        calls.append(loss)
        return loss(*args, **kwargs)

    shared.assert_repeated_rows(fresh, 3, context={"index": _idx(7)})
    seen = torch.tensor(shared.COUNTS) > 0  # rows of count 0 are not repeated
    torch.testing.assert_close(calls[0].lambdas[seen], calls[1].lambdas[seen])


# -- parameters and registry --------------------------------------------------
def test_registry_and_metadata():
    assert get_loss_class("ldr_kl") is LDRKLLoss
    assert get_loss_class("ldr") is LDRKLLoss
    assert get_loss_class("aldr_kl") is ALDRKLLoss
    assert get_loss_class("aldr") is ALDRKLLoss
    for cls in (LDRKLLoss, ALDRKLLoss):
        assert cls.tasks == frozenset({"binary", "multiclass"})
        assert cls.binary_logits == 2
        assert cls.decomposable
        assert cls.monitor == "loss"
    assert LDRKLLoss.requires == ()
    assert ALDRKLLoss.requires == ("index",)
    assert get_loss("ldr_kl").get_params() == {
        "lam": 10.0,
        "margin": 0.1,
        "logit_normalization": None,
        "reduction": "mean",
    }
    assert get_loss("aldr_kl", alpha=3).get_params() == {
        "lam0": 10.0,
        "alpha": 3,
        "margin": 0.1,
        "logit_normalization": None,
        "reduction": "mean",
    }


@pytest.mark.parametrize("value", [0, 0.0, -1.0, float("nan"), float("inf"), "1", True])
def test_invalid_lam(value):
    with pytest.raises(ValueError, match="lam"):
        LDRKLLoss(lam=value)
    with pytest.raises(ValueError, match="lam0"):
        ALDRKLLoss(lam0=value)


@pytest.mark.parametrize("value", [1, 1.0, 0.5, 0.0, -2.0, float("nan"), float("inf")])
def test_invalid_alpha(value):
    with pytest.raises(ValueError, match="alpha"):
        ALDRKLLoss(alpha=value)


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), None, "0.1"])
def test_invalid_margin(value):
    for cls in (LDRKLLoss, ALDRKLLoss):
        with pytest.raises(ValueError, match="margin"):
            cls(margin=value)


@pytest.mark.parametrize("value", ["softplus", "SOFTPLUS_MEAN", "", 1, True])
def test_invalid_logit_normalization(value):
    for cls in (LDRKLLoss, ALDRKLLoss):
        with pytest.raises(ValueError, match="logit_normalization"):
            cls(logit_normalization=value)


def test_valid_parameters():
    loss = LDRKLLoss(lam=np.float64(0.5), margin=0, logit_normalization="abs_mean")
    assert loss.get_params()["lam"] == 0.5
    loss = ALDRKLLoss(lam0=1, alpha=np.float32(1.5), margin=0.0)
    assert loss.get_params()["alpha"] == np.float32(1.5)


# -- estimator ----------------------------------------------------------------
SMALL = {"max_epochs": 5, "hidden_layer_sizes": (8,), "random_state": 0}


def _n_outputs(clf):
    with torch.no_grad():
        return clf.net_.module_(torch.zeros(1, clf.n_features_in_)).shape[1]


def test_estimator_ldr_binary_and_multiclass(binary_data, multiclass_data):
    from sklearn_losses import LossClassifier

    X, y = binary_data
    clf = LossClassifier(loss=LDRKLLoss, **SMALL).fit(X, y)
    assert _n_outputs(clf) == 2
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(clf.history_[:, "train_loss"]))

    X, y = multiclass_data
    clf = LossClassifier(loss="ldr_kl", loss__lam=1.0, **SMALL).fit(X, y)
    assert _n_outputs(clf) == 3
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert clf.loss_.lam == 1.0


def test_estimator_aldr(multiclass_data, binary_data):
    from sklearn_losses import LossClassifier

    X, y = multiclass_data
    # Every row is trained on: no rows held out for early stopping.
    clf = LossClassifier(
        loss=ALDRKLLoss, loss__lam0=1.0, early_stopping=False, **SMALL
    ).fit(X, y)
    lam = clf.loss_.lambdas
    assert lam.shape == (len(X),)
    assert torch.all(lam < 1.0) and torch.all(lam >= 0.5)  # every row trained on
    assert clf.predict(X).shape == (len(X),)

    Xb, yb = binary_data
    clf = LossClassifier(loss="aldr_kl", **SMALL).fit(Xb, yb)
    assert _n_outputs(clf) == 2
    assert clf.predict_proba(Xb).shape == (len(Xb), 2)


def test_estimator_aldr_early_stopping(multiclass_data):
    from sklearn_losses import LossClassifier

    X, y = multiclass_data
    clf = LossClassifier(
        loss=ALDRKLLoss, loss__lam0=1.0, early_stopping=True, **SMALL
    ).fit(X, y)
    valid_loss = clf.history_[:, "valid_loss"]
    assert len(valid_loss) == clf.n_iter_ and np.all(np.isfinite(valid_loss))
    lam = clf.loss_.lambdas
    assert lam.shape == (len(X),)
    # the held-out rows (10%) are never trained on: their lambda_i stay lam0
    untouched = int((lam == 1.0).sum())
    assert untouched == pytest.approx(0.1 * len(X), abs=2)


def test_estimator_aldr_warm_start_and_pickle(multiclass_data):
    from sklearn_losses import LossClassifier

    X, y = multiclass_data
    clf = LossClassifier(loss=ALDRKLLoss, warm_start=True, **SMALL)
    clf.fit(X[:150], y[:150])
    assert clf.loss_.lambdas.shape == (150,)
    clf.fit(X, y)  # the network continues with this fit's loss, sized for X
    assert clf.n_iter_ == 10
    assert clf.loss_.lambdas.shape == (len(X),)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    torch.testing.assert_close(restored.loss_.lambdas, clf.loss_.lambdas)
