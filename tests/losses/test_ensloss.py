"""Tests of EnsLoss: the spec's deterministic reference, the properties of the
sampled derivatives (range, monotonicity), randomness, weights, the epoch
context and training through LossClassifier.

The surrogate's value is not a function whose derivative is the sampled ``g``
(the tail ``g t / s`` depends on the margin), so a finite-difference gradcheck
does not apply; the gradient is checked against ``g`` directly.
"""

import copy
import math
import pickle

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import F64, as_target, as_tensor
from skorch.callbacks import Callback
from torch.autograd.gradcheck import GradcheckError

from sklearn_losses import LossClassifier
from sklearn_losses.losses import get_loss, get_loss_class
from sklearn_losses.losses.ensloss import EnsLoss, sampled_derivatives

S_REF = [-1.0, 0.5, 2.0, 0.2]
NOISE_REF = [0.3, -1.2, 0.8, -0.1]
G_REF = [-1.000001, -0.904838, -0.150598, -1.000001]


def _grad(loss, z, y, sample_weight=None, **kwargs):
    """The value and the gradient w.r.t. the logits."""
    z = z.detach().clone().requires_grad_(True)
    out = loss(z, y, sample_weight=sample_weight, **kwargs)
    out.backward()
    return out.detach(), z.grad


def _batch(n, seed=0):
    rng = np.random.default_rng(seed)
    return as_tensor(rng.normal(scale=2.0, size=n)), as_target(rng.integers(0, 2, n))


def _margins(z, y):
    return z * (2.0 * y.to(z.dtype) - 1.0)


# -- the spec's deterministic reference ---------------------------------------
def test_spec_reference_derivatives():
    g = sampled_derivatives(as_tensor(S_REF), as_tensor(NOISE_REF))
    np.testing.assert_allclose(g.numpy(), G_REF, atol=1e-6)
    # before the tail and the shift: -exp(noise) sorted, clipped, by rank of s
    assert g[2].item() == pytest.approx(-math.exp(-1.2) / 2.0 - 1e-6, rel=1e-12)
    assert g[1].item() == pytest.approx(-math.exp(-0.1) - 1e-6, rel=1e-12)


@pytest.mark.parametrize("flip", [False, True])
def test_spec_reference_surrogate_and_gradient(flip):
    # Margins s = +-f: target 1 keeps the sign, target 0 flips it.
    y = as_target([0 if flip else 1] * 4)
    z = -as_tensor(S_REF) if flip else as_tensor(S_REF)
    loss = EnsLoss()
    z = z.requires_grad_(True)
    value = loss.loss_from_noise(z, y, as_tensor(NOISE_REF))
    assert value.item() == pytest.approx(0.011596, abs=1e-6)
    value.backward()
    expected = np.array(G_REF) / 4 * (-1 if flip else 1)
    np.testing.assert_allclose(z.grad.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(
        z.grad.abs().numpy(), [0.25, 0.22621, 0.03765, 0.25], atol=1e-5
    )


def test_gradcheck_without_tail_and_why_not_with_it():
    # Fixed draws (a fresh seeded loss per call) and distinct margins: without
    # the tail, g is locally constant and the surrogate is linear in s.
    z, y = as_tensor([0.3, -1.7, 2.2, 0.9, -0.4]), as_target([1, 0, 1, 1, 0])
    w = torch.linspace(0.5, 2.0, 5, dtype=F64)

    def fresh(**params):
        return lambda *a, **k: EnsLoss(random_state=0, **params)(*a, **k)

    shared.assert_gradcheck(fresh(tail_threshold=None), z, y)
    shared.assert_gradcheck(fresh(tail_threshold=None), z, y, w)
    # With the tail, g_i = g0_i t / s_i, so g_i s_i no longer varies with s_i
    # (the surrogate's value is flat there) while its gradient is g_i by design.
    with pytest.raises(GradcheckError):
        shared.assert_gradcheck(fresh(), z, y)


def test_loss_from_noise_is_mean_of_g_times_s():
    z, y = _batch(9)
    noise = torch.randn(9, dtype=F64, generator=torch.Generator().manual_seed(1))
    s = _margins(z, y)
    g = sampled_derivatives(s, noise)
    value, grad = _grad(lambda *a, **k: EnsLoss().loss_from_noise(*a, noise, **k), z, y)
    assert value.item() == pytest.approx((g * s).mean().item(), rel=1e-14)
    torch.testing.assert_close(grad, g * (2.0 * y - 1.0) / 9, rtol=1e-14, atol=0)


# -- properties of the sampled derivatives ------------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 64, 500])
@pytest.mark.parametrize("lam", [0.0, -0.7, 0.5, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_derivatives_are_calibrated_and_monotone(n, lam, seed):
    z, y = _batch(n, seed)
    eps = 1e-6
    loss = EnsLoss(boxcox_lambda=lam, random_state=seed)
    _, grad = _grad(loss, z, y)
    s = _margins(z, y)
    g = grad * (2.0 * y - 1.0) * n  # d surrogate / d s_i = g_i / n
    assert torch.all(torch.isfinite(g))
    assert torch.all(g >= -1.0 - eps - 1e-12) and torch.all(g < 0)
    assert torch.all(g <= -eps + 1e-15)
    ordered = g[torch.argsort(s)]
    assert torch.all(ordered[1:] >= ordered[:-1])  # convex: phi' non-decreasing


def test_tail_threshold_and_clip():
    s = as_tensor([-3.0, -0.5, 0.4, 1.5, 3.0, 6.0])
    noise = as_tensor([2.0, 1.0, -0.5, 0.0, -1.0, -2.0])
    base = torch.sort(-torch.exp(noise)).values  # ranks of s are 0..5 already
    g = sampled_derivatives(s, noise, clip=2.5, tail_threshold=None, eps=0.0)
    torch.testing.assert_close(g, base.clamp_min(-2.5))
    g = sampled_derivatives(s, noise, clip=2.5, tail_threshold=2.0, eps=0.0)
    factor = torch.where(s > 2.0, 2.0 / s, torch.ones_like(s))
    torch.testing.assert_close(g, base.clamp_min(-2.5) * factor)
    g = sampled_derivatives(s, noise, eps=0.25)
    expected = base.clamp_min(-1.0) * torch.where(s > 1.0, 1.0 / s, 1.0) - 0.25
    torch.testing.assert_close(g, expected)


def test_inverse_boxcox_magnitudes():
    s = as_tensor([0.0, 0.1, 0.2, 0.3])
    noise = as_tensor([-3.0, -1.0, 0.5, 2.5])  # increasing: ranks match s
    for lam in (0.5, -0.5):
        g = sampled_derivatives(s, noise, boxcox_lambda=lam, clip=1e9, eps=0.0)
        base = torch.clamp(1.0 + lam * noise, min=0.0) ** (1.0 / lam)
        expected = torch.sort(-base).values.clamp_min(-1e9)
        torch.testing.assert_close(g, expected)
    # lambda > 0 can give magnitude 0; eps keeps the derivative negative
    g = sampled_derivatives(s, noise, boxcox_lambda=0.5)
    assert g.max().item() == pytest.approx(-1e-6, rel=1e-9)


def test_ties_and_batch_of_one():
    z, y = as_tensor([1.0, 1.0, -1.0, -1.0]), as_target([1, 1, 0, 0])
    value, grad = _grad(EnsLoss(random_state=0), z, y)
    assert torch.isfinite(value) and torch.all(torch.isfinite(grad))
    value, grad = _grad(EnsLoss(random_state=0), as_tensor([0.3]), as_target([1]))
    assert torch.isfinite(value) and -1.0 - 1e-6 <= grad.item() < 0


def test_empty_batch_is_zero():
    z = torch.zeros(0, dtype=F64, requires_grad=True)
    out = EnsLoss(random_state=0)(z, torch.zeros(0, dtype=torch.long))
    assert out.item() == 0.0


@pytest.mark.parametrize("big", [80.0, 1e4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lam", [0.0, -1.0])
def test_extreme_logits_finite(big, dtype, lam):
    z, y = shared.extreme_logits(1, big, dtype)
    w = torch.tensor([0.5, 2.0, 0.0, 1.0], dtype=dtype)
    loss = EnsLoss(boxcox_lambda=lam, random_state=0)
    shared.finite_value_and_grad(loss, z, y)
    shared.finite_value_and_grad(loss, z, y, w)


# -- randomness ----------------------------------------------------------------
def test_reproducible_with_int_random_state():
    z, y = _batch(32)
    a, b = EnsLoss(random_state=7), EnsLoss(random_state=7)
    for _ in range(3):
        va, ga = _grad(a, z, y)
        vb, gb = _grad(b, z, y)
        assert torch.equal(va, vb) and torch.equal(ga, gb)
    # an int random_state leaves the global RNG alone
    state = torch.get_rng_state()
    EnsLoss(random_state=1)(z, y)
    assert torch.equal(torch.get_rng_state(), state)


def test_different_per_call_and_per_seed():
    z, y = _batch(32)
    loss = EnsLoss(random_state=0)
    first, second = _grad(loss, z, y)[1], _grad(loss, z, y)[1]
    assert not torch.equal(first, second)
    assert not torch.equal(first, _grad(EnsLoss(random_state=1), z, y)[1])


def test_none_draws_from_global_rng():
    z, y = _batch(16)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        a = _grad(EnsLoss(), z, y)[1]
        torch.manual_seed(3)
        b = _grad(EnsLoss(), z, y)[1]
        c = _grad(EnsLoss(), z, y)[1]
    assert torch.equal(a, b) and not torch.equal(a, c)
    # the draws are torch.randn(n) from the global generator
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        noise = torch.randn(16, dtype=F64)
    g = sampled_derivatives(_margins(z, y), noise)
    torch.testing.assert_close(a, g * (2.0 * y - 1.0) / 16, rtol=1e-14, atol=0)


def test_copies_and_pickles_continue_the_stream():
    z, y = _batch(8)
    loss = EnsLoss(random_state=4)
    loss(z, y)
    twin = copy.deepcopy(loss)
    restored = pickle.loads(pickle.dumps(loss))
    expected = loss(z, y)
    assert torch.equal(twin(z, y), expected)
    assert torch.equal(restored(z, y), expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_draws_follow_the_device():
    z, y = _batch(8)
    loss = EnsLoss(random_state=0)
    value, grad = _grad(loss, z.cuda(), y.cuda())
    assert value.device.type == "cuda" and grad.device.type == "cuda"
    assert _grad(loss, z, y)[1].device.type == "cpu"  # a new CPU generator
    _, grad = _grad(EnsLoss(), z.cuda(), y.cuda())
    assert grad.device.type == "cuda"


# -- sample weights -------------------------------------------------------------
def test_weighted_surrogate_matches_definition():
    z, y = _batch(10, seed=5)
    w = torch.linspace(0.0, 3.0, 10, dtype=F64)
    noise = torch.randn(10, dtype=F64, generator=torch.Generator().manual_seed(2))
    s = _margins(z, y)
    g = sampled_derivatives(s, noise)  # weights change neither draws nor ranks
    loss = EnsLoss()

    def surrogate(*args, **kwargs):
        return loss.loss_from_noise(*args, noise, **kwargs)

    value, grad = _grad(surrogate, z, y, w)
    assert value.item() == pytest.approx(((w * g * s).sum() / w.sum()).item())
    expected = w * g * (2.0 * y - 1.0) / w.sum()
    torch.testing.assert_close(grad, expected, rtol=1e-14, atol=0)
    assert torch.all(grad[w == 0] == 0)
    # unit weights equal no weights, zero total weight gives zero
    ones = torch.ones(10, dtype=F64)
    torch.testing.assert_close(
        _grad(surrogate, z, y, ones)[1], _grad(surrogate, z, y)[1]
    )
    value, grad = _grad(surrogate, z, y, torch.zeros(10, dtype=F64))
    assert value.item() == 0.0 and torch.all(grad == 0)


def test_bad_sample_weight_shape():
    z, y = _batch(5)
    with pytest.raises(ValueError, match="sample_weight"):
        EnsLoss(random_state=0)(z, y, sample_weight=torch.ones(4, dtype=F64))


# -- lambda resampling and the epoch context ----------------------------------
def test_requires_epoch_only_when_resampling():
    assert EnsLoss.requires == ()
    assert EnsLoss().requires == ()
    assert EnsLoss(lambda_resample_period=3).requires == ("epoch",)


def test_lambda_resampling_follows_the_epoch():
    n, period = 6, 2
    z, y = _batch(n)
    loss = EnsLoss(boxcox_lambda=0.25, lambda_resample_period=period, random_state=0)
    gen = torch.Generator().manual_seed(0)  # replays the loss's own stream
    lam, block = 0.25, 0
    for epoch in [1, 1, 2, 2, 3, 4, 7, None, 1]:
        if epoch is not None and epoch // period != block:
            block = epoch // period
            if block == 0:
                lam = 0.25
            else:
                lam = 2.0 * torch.rand(1, generator=gen).item() - 1.0
        noise = torch.randn(n, generator=gen, dtype=F64)
        _, grad = _grad(loss, z, y, epoch=epoch)
        assert loss.boxcox_lambda_ == pytest.approx(lam, rel=1e-15)
        g = sampled_derivatives(_margins(z, y), noise, boxcox_lambda=lam)
        torch.testing.assert_close(grad, g * (2.0 * y - 1.0) / n, rtol=1e-14, atol=0)
        if epoch in (2, 3, 4, 7):
            assert -1.0 <= lam < 1.0 and lam != 0.25
    # epoch 1 again (a new fit with warm_start): back to boxcox_lambda
    assert loss.boxcox_lambda_ == 0.25


def test_epoch_is_ignored_without_period():
    z, y = _batch(5)
    a, b = EnsLoss(random_state=2), EnsLoss(random_state=2)
    assert torch.equal(_grad(a, z, y, epoch=9)[1], _grad(b, z, y)[1])
    assert a.boxcox_lambda_ == 0.0


# -- input and parameter validation ---------------------------------------------
@pytest.mark.parametrize("shape", [(6, 2), (6, 3)])
def test_refuses_several_logits(shape):
    z = torch.zeros(shape, dtype=F64)
    with pytest.raises(ValueError, match="one logit"):
        EnsLoss(random_state=0)(z, as_target([0, 1, 0, 1, 0, 1]))


def test_column_input_equals_flat():
    z, y = _batch(7)
    torch.testing.assert_close(
        EnsLoss(random_state=0)(z.reshape(-1, 1), y), EnsLoss(random_state=0)(z, y)
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"boxcox_lambda": float("nan")}, "boxcox_lambda"),
        ({"boxcox_lambda": "0"}, "boxcox_lambda"),
        ({"lambda_resample_period": 0}, "lambda_resample_period"),
        ({"lambda_resample_period": 2.0}, "lambda_resample_period"),
        ({"lambda_resample_period": True}, "lambda_resample_period"),
        ({"clip": 0.0}, "clip"),
        ({"clip": None}, "clip"),
        ({"clip": float("inf")}, "clip"),
        ({"tail_threshold": 0.0}, "tail_threshold"),
        ({"tail_threshold": -1.0}, "tail_threshold"),
        ({"eps": -1e-6}, "eps"),
        ({"eps": float("nan")}, "eps"),
        ({"random_state": -1}, "random_state"),
        ({"random_state": 1.5}, "random_state"),
        ({"random_state": np.random.RandomState(0)}, "random_state"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        EnsLoss(**params)


def test_noise_shape_is_checked():
    with pytest.raises(ValueError, match="noise"):
        sampled_derivatives(as_tensor([0.1, 0.2]), as_tensor([0.3]))


def test_metadata_and_registry():
    assert get_loss_class("ensloss") is EnsLoss
    assert EnsLoss.tasks == frozenset({"binary"})
    assert not EnsLoss.decomposable and EnsLoss.monitor == "score"
    assert EnsLoss.binary_logits == 1
    assert EnsLoss().validation_scorer("binary") is None  # -> accuracy
    params = {
        "boxcox_lambda": 0.5,
        "clip": 2.0,
        "eps": 0.0,
        "lambda_resample_period": 3,
        "random_state": 1,
        "tail_threshold": None,
    }
    assert get_loss("ensloss", **params).get_params() == params


# -- estimator -------------------------------------------------------------------
SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 5, "random_state": 0}


class Recorder(Callback):
    """Numpy copies of the validation rows and the outputs on them per epoch."""

    def initialize(self):
        self.valid_, self.outputs_ = None, []
        return self

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.valid_ = {k: v.cpu().numpy() for k, v in dataset_valid.items()}
        self.outputs_.append(net.forward_tensor(dataset_valid["X"]).cpu().numpy())


def test_classifier_is_reproducible(binary_data):
    X, y = binary_data
    for loss_params in ({}, {"loss__random_state": 3}):
        a = LossClassifier(loss="ensloss", **SMALL, **loss_params).fit(X, y)
        b = LossClassifier(loss="ensloss", **SMALL, **loss_params).fit(X, y)
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
        assert a.history_[:, "train_loss"] == b.history_[:, "train_loss"]
    other = LossClassifier(loss="ensloss", **{**SMALL, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), other.predict_proba(X))


def test_classifier_early_stopping_monitors_accuracy(binary_data):
    X, y = binary_data
    clf = LossClassifier(
        loss=EnsLoss,
        module="mlp",
        input_scaling=None,
        early_stopping=True,
        n_iter_no_change=100,
        lr=1e-2,
        callbacks=[("recorder", Recorder())],
        **SMALL,
    ).fit(X, y)
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_score" and stopper.lower_is_better is False
    rec = dict(clf.net_.callbacks_)["recorder"]
    expected = [np.mean((out > 0) == rec.valid_["y"]) for out in rec.outputs_]
    np.testing.assert_allclose(clf.history_[:, "valid_score"], expected)
    assert clf.score(X, y) > 0.7


class _EpochRecorder(EnsLoss):
    """Records the epoch it is given and whether gradients are on (training)."""

    def forward(self, input, target, *, sample_weight=None, epoch=None):
        self.seen = [*getattr(self, "seen", []), (epoch, torch.is_grad_enabled())]
        return super().forward(input, target, sample_weight=sample_weight, epoch=epoch)


def test_classifier_passes_the_epoch_when_resampling(binary_data):
    X, y = binary_data
    clf = LossClassifier(
        loss=_EpochRecorder,
        loss__lambda_resample_period=2,
        module="mlp",  # one loss call per batch (not one per ensemble member)
        batch_size=64,
        early_stopping=True,
        **SMALL,
    ).fit(X, y)
    seen = clf.loss_.seen
    train = [e for e, grad in seen if grad]
    valid = [e for e, grad in seen if not grad]
    assert train == [e for e in range(1, 6) for _ in range(3)]  # 180 rows, 64 a batch
    assert valid == [1, 2, 3, 4, 5]
    assert clf.loss_._lambda_block == 2 and -1.0 <= clf.loss_.boxcox_lambda_ < 1.0
    # without a period, the engine passes nothing
    plain = LossClassifier(loss=_EpochRecorder, **SMALL).fit(X, y)
    assert {e for e, _ in plain.loss_.seen} == {None}


def test_classifier_refuses_multiclass(multiclass_data):
    X, y = multiclass_data
    # the wording scikit-learn's check_classifier_not_supporting_multiclass wants
    with pytest.raises(ValueError, match="Only binary classification is supported."):
        LossClassifier(loss="ensloss", **SMALL).fit(X, y)
