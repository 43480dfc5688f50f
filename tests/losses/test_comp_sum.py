"""Tests of the comp-sum family (CompSumLoss, SumExpLoss, GCELoss, MAELoss) and
of AdvCompSumLoss against independent references, limits and closed forms.

The generic contract is checked in test_contract.py at each class's default
parameters; here it is checked again at other values of tau. That suite cannot
supply the ``X``/``module`` inputs of AdvCompSumLoss, so the checks that hold
for it (with a fixed seed for its random start) are run here.
"""

import math

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import BIN_Y, BIN_Z, F64, MC_Y, as_target, as_tensor, mc_logits
from torch import nn

from sklearn_losses import LossClassifier
from sklearn_losses.losses import CrossEntropyLoss, get_loss, get_loss_class
from sklearn_losses.losses.comp_sum import (
    EXPONENT_CAP,
    AdvCompSumLoss,
    CompSumLoss,
    GCELoss,
    MAELoss,
    SumExpLoss,
)

TAUS = [0.0, 0.5, 1.0, 1.5, 1.7, 2.0, 3.0]


# -- independent reference (pure Python, no torch) ----------------------------
def _phi(u, tau):
    if tau == 1.0:
        return math.log(1.0 + u)
    return ((1.0 + u) ** (1.0 - tau) - 1.0) / (1.0 - tau)


def _ref_terms(z, y, tau):
    """Phi_tau(sum_{k != y} exp(z_k - z_y)); one logit z means scores (0, z)."""
    z = np.asarray(z, dtype=float)
    out = []
    for row, yi in zip(z.tolist(), y):
        scores = [0.0, row] if z.ndim == 1 else row
        u = sum(math.exp(s - scores[yi]) for k, s in enumerate(scores) if k != yi)
        out.append(_phi(u, tau))
    return out


def _p_y(z, y):
    """Softmax probability of the target (sigmoid margin for one logit)."""
    if z.ndim == 1:
        return torch.sigmoid((2 * y - 1).to(z.dtype) * z)
    return torch.softmax(z, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)


# -- reference values ---------------------------------------------------------
SPEC_VALUES = [
    ([[2.0, 1.0, 0.1]], [0], 0.0, 0.517448),
    ([[2.0, 1.0, 0.1]], [0], 0.5, 0.463695),
    ([[2.0, 1.0, 0.1]], [0], 1.0, 0.417030),
    ([[2.0, 1.0, 0.1]], [0], 1.5, 0.376422),
    ([[2.0, 1.0, 0.1]], [0], 1.7, 0.361675),
    ([[2.0, 1.0, 0.1]], [0], 2.0, 0.340999),
    ([[0.5, 1.5, -1.0]], [1], 0.0, 0.449964),
    ([[0.5, 1.5, -1.0]], [1], 1.0, 0.371539),
    ([[0.5, 1.5, -1.0]], [1], 1.5, 0.339070),
    ([[0.5, 1.5, -1.0]], [1], 2.0, 0.310328),
    ([0.7], [1], 0.0, 0.496585),
    ([0.7], [1], 1.0, 0.403186),
    ([0.7], [1], 1.5, 0.365145),
    ([0.7], [1], 2.0, 0.331812),
]


@pytest.mark.parametrize(("z", "y", "tau", "expected"), SPEC_VALUES)
def test_spec_reference_values(z, y, tau, expected):
    out = CompSumLoss(tau=tau)(as_tensor(z), as_target(y))
    assert out.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_matches_reference(tau, reduction):
    z = np.random.default_rng(11).normal(scale=2.0, size=20)
    y = np.random.default_rng(12).integers(0, 2, size=20).tolist()
    out = CompSumLoss(tau=tau, reduction=reduction)(as_tensor(z), as_target(y))
    expected = shared.reduce_ref(_ref_terms(z, y, tau), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("tau", TAUS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_matches_reference(k, tau, reduction):
    z = mc_logits(k)
    out = CompSumLoss(tau=tau, reduction=reduction)(as_tensor(z), as_target(MC_Y[k]))
    expected = shared.reduce_ref(_ref_terms(z, MC_Y[k], tau), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-13)


def test_random_multiclass_matches_reference():
    rng = np.random.default_rng(5)
    for k in (2, 3, 5, 8):
        z = rng.normal(scale=3.0, size=(30, k))
        y = rng.integers(0, k, size=30).tolist()
        for tau in (0.0, 0.25, 0.9, 1.0, 1.3, 2.0, 4.0):
            out = CompSumLoss(tau=tau, reduction="none")(as_tensor(z), as_target(y))
            np.testing.assert_allclose(
                out.numpy(), _ref_terms(z, y, tau), rtol=1e-10, atol=1e-13
            )


# -- limits and named members ---------------------------------------------------
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_tau_one_equals_cross_entropy(shape, reduction):
    z, y = shared.fixed_input(shape)
    w = torch.linspace(0.5, 2.0, len(y), dtype=F64)
    z1 = z.clone().requires_grad_(True)
    z2 = z.clone().requires_grad_(True)
    comp = CompSumLoss(tau=1.0, reduction=reduction)(z1, y, sample_weight=w)
    ce = CrossEntropyLoss(reduction=reduction)(z2, y, sample_weight=w)
    torch.testing.assert_close(comp, ce, rtol=0, atol=0)
    comp.sum().backward()
    ce.sum().backward()
    torch.testing.assert_close(z1.grad, z2.grad, rtol=0, atol=0)


@pytest.mark.parametrize("shape", ["n", "k3"])
@pytest.mark.parametrize("delta", [1e-7, -1e-7, 1e-5, -1e-5, 1e-3])
def test_continuous_at_tau_one(shape, delta):
    z, y = shared.fixed_input(shape)
    at_one = CompSumLoss(tau=1.0, reduction="none")(z, y)
    near = CompSumLoss(tau=1.0 + delta, reduction="none")(z, y)
    # d ell / d tau = -ce^2 / 2 at tau = 1
    atol = abs(delta) * at_one.max().item() ** 2
    torch.testing.assert_close(near, at_one, rtol=0, atol=atol)


@pytest.mark.parametrize("delta", [0.0, 1e-7, -1e-7, 1e-5, -1e-5])
def test_no_jump_across_tau_near_one(delta):
    """Only tau = 1 exactly is the cross-entropy: next to it, at a
    cross-entropy of about 100, the value is expm1(a ce) / a with a = 1 - tau
    to float64 rounding (a threshold on |1 - tau| would leave a relative error
    of about |a| ce / 2 there: 5e-6 at |a| = 1e-7)."""
    z = as_tensor([[100.0, 0.0, -1.0], [0.0, 2.0, 1.0], [-100.0, 0.0, 0.0]])
    y = as_target([1, 1, 0])
    tau = 1.0 + delta
    a = 1.0 - tau
    ce = CrossEntropyLoss(reduction="none")(z, y).tolist()
    assert max(ce) > 99.0
    expected = [c if a == 0.0 else math.expm1(a * c) / a for c in ce]
    out = CompSumLoss(tau=tau, reduction="none")(z, y)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=0)
    # the series ce + a ce^2 / 2 + a^2 ce^3 / 6: the value moves smoothly
    series = [c + a * c**2 / 2 + a**2 * c**3 / 6 for c in ce]
    np.testing.assert_allclose(out.numpy(), series, rtol=1e-9, atol=0)


@pytest.mark.parametrize("q", [0.1, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_gce_equals_comp_sum_and_closed_form(q, shape):
    z, y = shared.fixed_input(shape)
    gce = GCELoss(q=q, reduction="none")(z, y)
    comp = CompSumLoss(tau=1.0 + q, reduction="none")(z, y)
    torch.testing.assert_close(gce, comp, rtol=0, atol=0)
    p = _p_y(z.reshape(len(y), -1).squeeze(1), y)
    torch.testing.assert_close(gce, (1.0 - p**q) / q, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_mae_and_sum_exp_closed_forms(shape):
    z, y = shared.fixed_input(shape)
    p = _p_y(z.reshape(len(y), -1).squeeze(1), y)
    mae = MAELoss(reduction="none")(z, y)
    torch.testing.assert_close(mae, 1.0 - p, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(
        mae, CompSumLoss(tau=2.0, reduction="none")(z, y), rtol=0, atol=0
    )
    torch.testing.assert_close(mae, GCELoss(q=1.0, reduction="none")(z, y))
    sum_exp = SumExpLoss(reduction="none")(z, y)
    torch.testing.assert_close(sum_exp, 1.0 / p - 1.0, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(
        sum_exp, CompSumLoss(tau=0.0, reduction="none")(z, y), rtol=0, atol=0
    )


def test_binary_sum_exp_is_exponential_loss():
    z, y = as_tensor(BIN_Z), as_target(BIN_Y)
    margin = (2 * y - 1).to(F64) * z
    out = SumExpLoss(reduction="none")(z, y)
    torch.testing.assert_close(out, torch.exp(-margin), rtol=1e-13, atol=0)


@pytest.mark.parametrize("tau", TAUS)
def test_one_logit_equals_two_logits(tau):
    z, y = as_tensor(BIN_Z), as_target(BIN_Y)
    two = torch.stack([torch.zeros_like(z), z], dim=1)
    one = CompSumLoss(tau=tau, reduction="none")(z, y)
    ref = CompSumLoss(tau=tau, reduction="none")(two, y)
    torch.testing.assert_close(one, ref, rtol=1e-12, atol=1e-15)


def test_monotone_in_tau():
    """ell_tau = (p^(tau-1) - 1)/(1 - tau) decreases in tau for fixed p."""
    z, y = shared.fixed_input("k4")
    terms = [CompSumLoss(tau=t, reduction="none")(z, y) for t in TAUS]
    for larger, smaller in zip(terms[:-1], terms[1:]):
        assert torch.all(smaller < larger)


# -- gradients ----------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0 + 1e-7, 1.5, 2.0, 3.0])
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_gradcheck(tau, shape):
    z, y = shared.fixed_input(shape)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    shared.assert_gradcheck(CompSumLoss(tau=tau), z, y, w)
    shared.assert_gradcheck(CompSumLoss(tau=tau, reduction="none"), z, y)


@pytest.mark.parametrize("loss", [SumExpLoss(), GCELoss(q=0.3), MAELoss()], ids=str)
@pytest.mark.parametrize("shape", ["n", "k3"])
def test_gradcheck_named_members(loss, shape):
    z, y = shared.fixed_input(shape)
    shared.assert_gradcheck(loss, z, y, torch.linspace(0.5, 2.0, len(y), dtype=F64))


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_gradcheck_across_the_cap(tau):
    """Past the cap the loss is the tangent: value and slope are continuous."""
    ce_cap = EXPONENT_CAP / (1.0 - tau)
    z = as_tensor([-ce_cap - 0.5, -ce_cap + 0.5, -ce_cap - 3.0])
    y = as_target([1, 1, 1])
    shared.assert_gradcheck(CompSumLoss(tau=tau, reduction="none"), z, y)
    # continuity of value and slope at the cap (one logit: ce ~ -z there)
    eps = 1e-6
    zz = as_tensor([-ce_cap - eps, -ce_cap + eps], requires_grad=True)
    out = CompSumLoss(tau=tau, reduction="none")(zz, as_target([1, 1]))
    out.sum().backward()
    assert out[0].item() == pytest.approx(out[1].item(), rel=1e-5)
    assert zz.grad[0].item() == pytest.approx(zz.grad[1].item(), rel=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("tau", [0.0, 0.5, 0.99, 1.5, 2.0])
def test_extreme_logits_finite(dtype, tau):
    loss = CompSumLoss(tau=tau, reduction="none")
    z, y = shared.extreme_binary(dtype)
    terms = shared.finite_value_and_grad(loss, z, y)
    assert torch.all(terms >= 0)
    for n_out in (3, 4):
        for big in (1e4, 80.0):
            z, y = shared.extreme_logits(n_out, big, dtype)
            terms = shared.finite_value_and_grad(loss, z, y)
            assert torch.all(terms >= 0)
            shared.finite_value_and_grad(CompSumLoss(tau=tau), z, y)


def test_sum_exp_tangent_value_past_the_cap():
    """ce = 1e4 > 50: ell = expm1(50) + e^50 (ce - 50)."""
    out = SumExpLoss(reduction="none")(as_tensor([1e4, 10.0]), as_target([0, 0]))
    expected = math.expm1(50.0) + math.exp(50.0) * (1e4 - 50.0)
    assert out[0].item() == pytest.approx(expected, rel=1e-12)
    assert out[1].item() == pytest.approx(math.exp(10.0), rel=1e-12)  # e^{-m}, m=-10


def test_sum_exp_one_term_past_the_cap_keeps_the_others_exact():
    """A term past the cap takes the tangent; the other terms of the batch keep
    their exact values."""
    z = as_tensor([[0.0, 60.0, 1.0], [0.5, 0.0, -1.0]])
    out = SumExpLoss(reduction="none")(z, as_target([0, 1]))
    ce0 = math.log(1 + math.exp(60.0) + math.exp(1.0))
    assert out[0].item() == pytest.approx(
        math.expm1(50.0) + math.exp(50.0) * (ce0 - 50.0), rel=1e-12
    )
    assert out[1].item() == pytest.approx(math.exp(0.5) + math.exp(-1.0), rel=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("big", [10.0, 49.0, 51.0, 100.0, 1e4])
@pytest.mark.parametrize("n_out", [1, 3])
def test_sum_exp_mean_equals_mean_of_terms_on_both_sides_of_the_cap(dtype, big, n_out):
    """The mean is the mean of the (capped) terms, value and gradient."""
    z = torch.tensor([big, -2.0, 0.3, 1.0], dtype=dtype)
    y = torch.tensor([0, 1, 0, 1])
    if n_out == 3:
        z = torch.stack([z, torch.zeros_like(z), -z], dim=1)
    a, b = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    mean = SumExpLoss()(a, y)
    terms = SumExpLoss(reduction="none")(b, y)
    assert torch.isfinite(mean)
    torch.testing.assert_close(mean, terms.mean(), rtol=1e-6, atol=0)
    mean.backward()
    terms.mean().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=0)


@pytest.mark.parametrize("norm", ["inf", 2])
def test_adversarial_empty_batch_is_zero(norm):
    module = nn.Linear(4, 3)
    X = torch.zeros(0, 4)
    loss = AdvCompSumLoss(tau=0.5, norm=norm, steps=2)
    value = loss(module(X), torch.zeros(0, dtype=torch.long), X=X, module=module)
    assert value.item() == 0.0


@pytest.mark.parametrize(("n", "shift"), [(4096, 12.0), (50_000, 18.0)])
def test_sum_exp_mean_keeps_precision_when_the_fit_is_good(n, shift):
    """Terms ~3e-5 and ~1e-7 over a large batch: the float32 mean is within the
    rounding of each row's 1 + term (no cancellation across the batch), and
    never negative."""
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(n, 3, generator=gen)
    y = torch.randint(0, 3, (n,), generator=gen)
    z[torch.arange(n), y] += shift
    zd = z.double()
    exact = (torch.exp(zd - zd.gather(1, y.unsqueeze(1))).sum(1) - 1.0).mean()
    value = SumExpLoss()(z, y).item()
    assert value >= 0.0
    assert value == pytest.approx(exact.item(), rel=1e-3, abs=torch.finfo().eps / 2)


# -- the contract at other parameters -----------------------------------------
CONTRACT_LOSSES = [(CompSumLoss, {"tau": 0.5}), (CompSumLoss, {"tau": 1.5})]
CONTRACT_LOSSES += [(GCELoss, {"q": 0.3})]


def _loss_id(entry):
    cls, params = entry
    return f"{cls.__name__}-{params}"


@pytest.mark.parametrize("entry", CONTRACT_LOSSES, ids=_loss_id)
@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_weight_contract(entry, n_out, reduction):
    cls, params = entry
    loss = cls(**params, reduction=reduction)
    x, weight, y = shared.linear_problem(n_out)
    shared.assert_unit_weights(loss, x @ weight, y, rtol=1e-14, atol=1e-15)
    shared.assert_repeated_rows(loss, n_out)
    shared.assert_zero_weights_drop_rows(loss, n_out, kept_nonzero=True)


@pytest.mark.parametrize("entry", CONTRACT_LOSSES, ids=_loss_id)
@pytest.mark.parametrize("n_out", [1, 4])
def test_weighted_sum_and_none(entry, n_out):
    cls, params = entry
    x, weight, y = shared.linear_problem(n_out, seed=3)
    logits = x @ weight
    if n_out == 1:
        logits = logits[:, 0]
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    ref = _ref_terms(logits.numpy(), y.tolist(), cls(**params).effective_tau)
    shared.assert_weighted_reductions(
        lambda r: cls(**params, reduction=r), logits, y, w, ref
    )


@pytest.mark.parametrize("entry", CONTRACT_LOSSES, ids=_loss_id)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", ["n", "k3"])
def test_dtypes_and_column_form(entry, dtype, shape):
    cls, params = entry
    z, y = shared.fixed_input(shape)
    shared.assert_dtype_follows_input(cls(**params), z, y, dtype, torch.float32)
    if shape == "n":
        shared.assert_column_equals_flat(cls(**params), z, y, torch.arange(7.0))


# -- parameters and registry ----------------------------------------------------
@pytest.mark.parametrize(
    "value", [-0.1, float("nan"), float("inf"), True, "1", None, [1.0]]
)
def test_invalid_tau(value):
    with pytest.raises(ValueError, match="tau"):
        CompSumLoss(tau=value)
    with pytest.raises(ValueError, match="tau"):
        AdvCompSumLoss(tau=value)


@pytest.mark.parametrize("value", [0, 0.0, -0.5, 1.5, float("nan"), True, "0.7"])
def test_invalid_q(value):
    with pytest.raises(ValueError, match="q"):
        GCELoss(q=value)


@pytest.mark.parametrize(
    ("cls", "params", "tau"),
    [
        (CompSumLoss, {"tau": 0.5, "reduction": "mean"}, 0.5),
        (CompSumLoss, {"tau": 0, "reduction": "sum"}, 0.0),
        (SumExpLoss, {"reduction": "mean"}, 0.0),
        (GCELoss, {"q": 0.7, "reduction": "mean"}, 1.7),
        (GCELoss, {"q": np.float64(0.25), "reduction": "none"}, 1.25),
        (MAELoss, {"reduction": "mean"}, 2.0),
        (
            AdvCompSumLoss,
            {
                "epsilon": 0.1,
                "norm": "inf",
                "nu": 1.0,
                "perturbable": None,
                "reduction": "mean",
                "steps": 10,
                "tau": 1.0,
            },
            1.0,
        ),
    ],
)
def test_get_params_are_the_constructor_params(cls, params, tau):
    loss = cls(**params)
    assert loss.get_params() == params
    assert cls().get_params().keys() == params.keys()
    assert loss.effective_tau == pytest.approx(tau, abs=1e-15)
    clone = get_loss(loss)
    assert clone.get_params() == params and clone is not loss


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("comp_sum", CompSumLoss),
        ("sum_exp", SumExpLoss),
        ("gce", GCELoss),
        ("mae", MAELoss),
        ("adv_comp_sum", AdvCompSumLoss),
    ],
)
def test_registry(name, cls):
    assert get_loss_class(name) is cls
    assert cls.name == name
    assert cls.tasks == frozenset({"binary", "multiclass"})
    assert cls.decomposable and cls.binary_logits == 1
    assert cls.requires == (("X", "module") if cls is AdvCompSumLoss else ())


# -- AdvCompSumLoss -------------------------------------------------------------
def _seeded(loss, seed=0):
    """``loss`` called under a fixed seed of torch's default generator."""

    def call(input, target, sample_weight=None, **context):
        rng = torch.default_generator
        state = rng.get_state()
        rng.manual_seed(seed)
        try:
            return loss(input, target, sample_weight=sample_weight, **context)
        finally:
            rng.set_state(state)

    return call


def _linear(weight, bias=False):
    """A float64 ``nn.Linear`` computing ``x @ weight`` (weight ``(d, n_out)``)."""
    d, n_out = weight.shape
    module = nn.Linear(d, n_out, bias=bias, dtype=F64)
    with torch.no_grad():
        module.weight.copy_(weight.T)
    return module


class _Recorder(nn.Module):
    """Wraps a module and records every input it sees."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.inner(x)


def _mlp(d, n_out, dropout=0.0, seed=0, width=8):
    torch.manual_seed(seed)
    layers = [nn.Linear(d, width), nn.Tanh(), nn.Dropout(dropout)]
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers).double()


def _problem(n_out, n=9, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.normal(size=(n, d)), dtype=F64)
    y = torch.tensor(rng.integers(0, max(n_out, 2), size=n))
    return X, y


W_SPEC = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=F64)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("params", [{"nu": 0.0}, {"epsilon": 0.0}])
def test_adv_without_penalty_equals_comp_sum(n_out, params):
    X, y = _problem(n_out)
    module = _mlp(4, n_out)
    z = module(X).squeeze(-1)
    w = torch.linspace(0.5, 2.0, len(y), dtype=F64)
    adv = AdvCompSumLoss(tau=0.5, **params)(z, y, sample_weight=w, X=X, module=module)
    comp = CompSumLoss(tau=0.5)(z, y, sample_weight=w)
    torch.testing.assert_close(adv, comp, rtol=0, atol=0)


def test_adv_closed_form_l2_linear_model():
    """sup over the l2 ball of ||(W - 1 w_y^T) d|| = gamma sigma_max = 0.161803."""
    X = torch.tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]], dtype=F64)
    y = torch.zeros(3, dtype=torch.long)
    module = _linear(W_SPEC.T)
    A = W_SPEC - W_SPEC[0]
    expected = 0.1 * torch.linalg.matrix_norm(A, ord=2).item()
    assert expected == pytest.approx(0.161803, abs=1e-6)
    loss = AdvCompSumLoss(epsilon=0.1, norm=2, steps=50)
    dist = loss.smoothness_terms(module(X), y, X=X, module=module)
    np.testing.assert_allclose(dist.detach().numpy(), expected, atol=1e-3)
    # the value is the clean loss plus nu times that distance
    value = _seeded(AdvCompSumLoss(epsilon=0.1, norm=2, steps=50, nu=2.0))(
        module(X), y, X=X, module=module
    )
    clean = CompSumLoss()(module(X), y)
    assert value.item() == pytest.approx(clean.item() + 2 * expected, abs=2e-3)


def test_adv_closed_form_linf_linear_model():
    """y = 2: W - 1 w_y^T = [[0, -1], [-1, 0], [0, 0]] maps d to (-d_2, -d_1, 0),
    so the sup over the box is at any vertex: sqrt(2) gamma."""
    X = torch.tensor([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.1]], dtype=F64)
    y = torch.full((3,), 2)
    module = _linear(W_SPEC.T)
    loss = AdvCompSumLoss(epsilon=0.1, norm="inf", steps=10)
    dist = loss.smoothness_terms(module(X), y, X=X, module=module)
    np.testing.assert_allclose(dist.detach().numpy(), 0.1 * math.sqrt(2), rtol=1e-12)


def test_adv_linf_search_never_exceeds_the_box_maximum():
    """The objective is convex in d, so its max over the box is at a vertex; PGD
    finds a local maximum (here (g, g) -> g or (-g, g) -> sqrt(5) g for y = 0)."""
    X = torch.tensor(np.random.default_rng(0).normal(size=(20, 2)), dtype=F64)
    y = torch.zeros(20, dtype=torch.long)
    module = _linear(W_SPEC.T)
    A = W_SPEC - W_SPEC[0]
    vertices = 0.1 * torch.tensor([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=F64)
    box_max = (vertices @ A.T).norm(dim=1).max().item()
    assert box_max == pytest.approx(0.1 * math.sqrt(5), rel=1e-12)
    dist = AdvCompSumLoss(epsilon=0.1, steps=10).smoothness_terms(
        module(X), y, X=X, module=module
    )
    assert torch.all(dist <= box_max * (1 + 1e-12))
    assert torch.all(dist >= 0.1 * (1 - 1e-12))
    assert torch.any(dist >= box_max * (1 - 1e-12))


@pytest.mark.parametrize(("norm", "dual"), [(2, 2), ("inf", 1)])
def test_adv_binary_closed_form(norm, dual):
    """One logit z = w.x: the penalty is |z(x') - z(x)|, sup = gamma ||w||_dual."""
    w = torch.tensor([[0.5], [-2.0], [1.0]], dtype=F64)
    X, y = _problem(1, n=6, d=3)
    module = _linear(w)
    loss = AdvCompSumLoss(epsilon=0.2, norm=norm, steps=30)
    dist = loss.smoothness_terms(module(X).squeeze(1), y, X=X, module=module)
    expected = 0.2 * torch.linalg.vector_norm(w, ord=dual).item()
    # l2: the off-direction part of the start shrinks ~0.8x per step
    np.testing.assert_allclose(dist.detach().numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("norm", [2, "inf"])
@pytest.mark.parametrize("n_out", [1, 3])
def test_adv_perturbation_stays_in_the_ball_and_mask(norm, n_out):
    X, y = _problem(n_out, n=8, d=5)
    module = _Recorder(_mlp(5, n_out))
    for perturbable, moving in [
        (None, [0, 1, 2, 3, 4]),
        ([True, False, True, False, False], [0, 2]),
        ([3], [3]),
        ([], []),
    ]:
        module.seen.clear()
        loss = AdvCompSumLoss(epsilon=0.3, norm=norm, steps=4, perturbable=perturbable)
        loss(module.inner(X).squeeze(-1), y, X=X, module=module)
        assert len(module.seen) == 4 + 1  # one per step, one at x*
        fixed = [j for j in range(5) if j not in moving]
        for x_seen in module.seen:
            delta = x_seen - X
            assert torch.all(delta[:, fixed] == 0)
            if norm == 2:
                assert torch.all(delta.norm(dim=1) <= 0.3 + 1e-12)
            else:
                assert torch.all(delta.abs() <= 0.3 + 1e-12)
        if moving:
            assert torch.all(module.seen[-1][:, moving] != X[:, moving])


@pytest.mark.parametrize("dropout", [0.0, 0.5])
@pytest.mark.parametrize("training", [True, False])
def test_adv_leaves_parameter_grads_and_modes_alone(dropout, training):
    X, y = _problem(3)
    module = _mlp(4, 3, dropout=dropout)
    module.train(training)
    module[2].eval()  # a mixed state must come back as it was
    modes = [m.training for m in module.modules()]
    sentinel = [torch.full_like(p, 7.0) for p in module.parameters()]
    for p, g in zip(module.parameters(), sentinel):
        p.grad = g.clone()
    loss = AdvCompSumLoss()
    value = loss(module(X).detach(), y, X=X, module=module)
    assert [m.training for m in module.modules()] == modes
    for p, g in zip(module.parameters(), sentinel):
        assert torch.equal(p.grad, g)  # nothing accumulated by the search
    value.backward()  # only now do the parameters get the penalty's gradient
    assert any(
        not torch.equal(p.grad, g) for p, g in zip(module.parameters(), sentinel)
    )


@pytest.mark.parametrize("n_out", [1, 3])
def test_adv_under_no_grad_as_at_validation(n_out):
    X, y = _problem(n_out)
    module = _mlp(4, n_out).eval()
    loss = _seeded(AdvCompSumLoss())
    with torch.inference_mode():
        z = module(X).squeeze(-1)
    with torch.no_grad():
        value = loss(z, y, X=X, module=module)
    assert torch.isfinite(value) and not value.requires_grad
    expected = loss(module(X).squeeze(-1), y, X=X, module=module)
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)
    assert value.item() > CompSumLoss()(z, y).item()
    assert all(p.grad is None for p in module.parameters())


@pytest.mark.parametrize("norm", ["inf", 2])
@pytest.mark.parametrize("n_out", [1, 3])
def test_adv_gradcheck_wrt_module_parameters(norm, n_out):
    """The penalty backpropagates into the parameters through both ends."""
    X, y = _problem(n_out, n=5)
    module = _mlp(4, n_out, width=4)
    names = [name for name, _ in module.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for p in module.parameters())
    loss = _seeded(AdvCompSumLoss(tau=0.5, epsilon=0.2, norm=norm, steps=3))

    class _Functional(nn.Module):
        """``module`` with the parameters ``flat`` (differentiable)."""

        def __init__(self, flat):
            super().__init__()
            self.state = dict(zip(names, flat))

        def forward(self, x):
            return torch.func.functional_call(module, self.state, (x,)).squeeze(-1)

    def value(*flat):
        f = _Functional(flat)
        return loss(f(X), y, X=X, module=f)

    if norm == "inf":  # sign steps: the maximiser is locally constant
        assert torch.autograd.gradcheck(value, params)
    grads = torch.autograd.grad(value(*params), params)
    assert all(torch.isfinite(g).all() for g in grads)
    clean_value = CompSumLoss(tau=0.5)(_Functional(params)(X), y)
    clean = torch.autograd.grad(clean_value, params)
    assert any(not torch.allclose(g, c) for g, c in zip(grads, clean))


@pytest.mark.parametrize("n_out", [1, 3])
def test_adv_gradcheck_wrt_input(n_out):
    X, y = _problem(n_out, n=5)
    module = _mlp(4, n_out)
    z = module(X).detach().squeeze(-1)
    w = torch.linspace(0.5, 2.0, 5, dtype=F64)
    loss = _seeded(AdvCompSumLoss(steps=3, epsilon=0.2))
    shared.assert_gradcheck(loss, z, y, w, {"X": X, "module": module})


@pytest.mark.parametrize("n_out", [1, 3])
def test_adv_weights_and_reductions(n_out):
    X, y = _problem(n_out, n=7)
    module = _mlp(4, n_out).requires_grad_(False)  # outputs without a graph
    z = module(X).detach().squeeze(-1)
    context = {"X": X, "module": module}

    def make(reduction):
        return _seeded(AdvCompSumLoss(tau=1.5, reduction=reduction))

    shared.assert_unit_weights(make("mean"), z, y, 1e-14, 1e-15, context)
    terms = make("none")(z, y, **context)
    assert torch.all(terms > CompSumLoss(tau=1.5, reduction="none")(z, y))
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    shared.assert_weighted_reductions(make, z, y, w, terms.numpy(), context)
    if n_out == 1:
        shared.assert_column_equals_flat(make("mean"), z, y, w, context)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_adv_extreme_logits_finite(dtype):
    X = torch.tensor([[1.0, -1.0], [0.5, 2.0], [-3.0, 0.0], [0.0, 0.1]], dtype=dtype)
    module = _linear(1e4 * W_SPEC.T).to(dtype)
    y = as_target([0, 1, 2, 1])
    for tau in (0.0, 1.0, 2.0):
        loss = AdvCompSumLoss(tau=tau)
        shared.finite_value_and_grad(
            loss, module(X), y, context={"X": X, "module": module}
        )


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("nu", -1.0),
        ("nu", float("nan")),
        ("epsilon", -0.1),
        ("epsilon", float("inf")),
        ("epsilon", "0.1"),
        ("steps", -1),
        ("steps", 2.5),
        ("steps", True),
        ("norm", 1),
        ("norm", "l1"),
        ("norm", None),
        ("perturbable", [[True, False]]),
        ("perturbable", [-1, 2]),
        ("perturbable", [0.5, 1.0]),
        ("perturbable", "abc"),
        ("reduction", "avg"),
    ],
)
def test_adv_invalid_parameters(param, value):
    with pytest.raises(ValueError, match=param):
        AdvCompSumLoss(**{param: value})


@pytest.mark.parametrize("norm", ["inf", "linf", "2", "l2", 2, 2.0, math.inf])
def test_adv_norm_spellings(norm):
    assert AdvCompSumLoss(norm=norm).get_params()["norm"] == norm


def test_adv_invalid_context():
    X, y = _problem(3)
    module = _mlp(4, 3)
    z = module(X)
    with pytest.raises(ValueError, match="X=X, module=module"):
        AdvCompSumLoss()(z, y)
    with pytest.raises(ValueError, match="rows"):
        AdvCompSumLoss()(z, y, X=X[:3], module=module)
    with pytest.raises(ValueError, match="perturbable"):
        AdvCompSumLoss(perturbable=[True, False])(z, y, X=X, module=module)
    with pytest.raises(ValueError, match="perturbable"):
        AdvCompSumLoss(perturbable=[0, 4])(z, y, X=X, module=module)
    with pytest.raises(ValueError, match="module"):
        AdvCompSumLoss()(z[:, :2], y.clamp(max=1), X=X, module=module)


# -- estimators -----------------------------------------------------------------
SMALL = {"max_epochs": 3, "hidden_layer_sizes": (8,), "random_state": 0}


def test_classifier_with_comp_sum(multiclass_data):
    X, y = multiclass_data
    clf = LossClassifier(
        loss=CompSumLoss,
        loss__tau=1.5,
        max_epochs=5,
        hidden_layer_sizes=(8,),
        random_state=0,
    ).fit(X, y)
    assert set(clf.predict(X)) <= set(np.unique(y))
    assert clf.predict_proba(X).shape == (len(y), 3)


@pytest.mark.parametrize("loss", [GCELoss, SumExpLoss, MAELoss, "comp_sum"])
def test_classifier_with_named_members(binary_data, loss):
    X, y = binary_data
    params = {"loss__q": 0.5} if loss is GCELoss else {}
    clf = LossClassifier(loss=loss, **params, **SMALL).fit(X, y)
    assert clf.predict(X).shape == y.shape
    assert np.all(np.isfinite(clf.history_[:, "train_loss"]))


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("data", ["binary_data", "multiclass_data"])
def test_classifier_with_adv_comp_sum(request, data, early_stopping):
    X, y = request.getfixturevalue(data)
    clf = LossClassifier(loss=AdvCompSumLoss, early_stopping=early_stopping, **SMALL)
    clf.fit(X, y)
    assert clf.predict(X).shape == y.shape
    assert np.all(np.isfinite(clf.history_[:, "train_loss"]))
    if early_stopping:
        assert np.all(np.isfinite(clf.history_[:, "valid_loss"]))
    again = LossClassifier(loss=AdvCompSumLoss, early_stopping=early_stopping, **SMALL)
    np.testing.assert_array_equal(
        again.fit(X, y).predict_proba(X), clf.predict_proba(X)
    )


def test_classifier_with_adv_comp_sum_mask_and_l2(binary_data):
    X, y = binary_data
    clf = LossClassifier(
        loss="adv_comp_sum",
        loss__norm=2,
        loss__perturbable=[0, 2],
        loss__tau=0.5,
        **SMALL,
    ).fit(X, y)
    assert clf.predict(X).shape == y.shape
