"""Tests of DEquityWeightedLoss ("generalized_focal") and dequity_weights.

test_contract.py cannot supply the per-sample ``likelihood`` this loss requires
and skips it, so the contract's checks (weights, shapes, dtypes, extremes) are
run here with a likelihood in the context.
"""

import math

import _reference as shared
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _reference import BIN_Y, BIN_Z, F64, MC_Y, as_target, as_tensor, mc_logits
from skorch.callbacks import Callback

from sklearn_losses import LossClassifier
from sklearn_losses.losses import CrossEntropyLoss, get_loss, get_loss_class
from sklearn_losses.losses.dataset_equity import DEquityWeightedLoss, dequity_weights

P_GRID = [0.01, 0.2, 0.5, 1.0]
W_REF = {
    (1.0, 5.0): [0.975495, 0.663840, 0.515625, 0.5],
    (0.5, 5.0): [0.967327, 0.551787, 0.354167, 0.333333],
    (0.0, 2.0): [0.9801, 0.64, 0.25, 0.0],
}
PARAMS = [(1.0, 5.0), (0.5, 5.0), (0.3, 2.0), (0.0, 2.0), (2.0, 0.5)]


def _likelihood(n, seed=0):
    """Likelihoods in (0, 1], with a 1 (the largest cluster) among them."""
    p = np.random.default_rng(seed).uniform(0.05, 1.0, size=n)
    p[0] = 1.0
    return torch.tensor(p, dtype=F64)


def _context(n, seed=0):
    return {"likelihood": _likelihood(n, seed)}


def _ref_terms(z, y, p, eta, gamma):
    """w(p) * CE, in pure Python."""
    z = np.asarray(z, dtype=float)
    out = []
    for row, yi, pi in zip(z.tolist(), y, p):
        if z.ndim == 1:
            ce = math.log1p(math.exp(-row)) if yi == 1 else math.log1p(math.exp(row))
        else:
            m = max(row)
            ce = m + math.log(sum(math.exp(v - m) for v in row)) - row[yi]
        out.append((eta + (1.0 - pi) ** gamma) / (eta + 1.0) * ce)
    return out


# -- weights ----------------------------------------------------------------------
@pytest.mark.parametrize(("eta", "gamma"), list(W_REF))
def test_spec_reference_weights(eta, gamma):
    np.testing.assert_allclose(
        dequity_weights(P_GRID, eta=eta, gamma=gamma), W_REF[(eta, gamma)], atol=1e-6
    )


def test_weight_range_and_limits():
    p = np.linspace(0.001, 1.0, 50)
    for eta, gamma in PARAMS:
        w = dequity_weights(p, eta, gamma)
        assert np.all((w >= eta / (eta + 1) - 1e-15) & (w <= 1.0))
        assert np.all(np.diff(w) <= 1e-15)  # rarer samples weigh more
    np.testing.assert_array_equal(dequity_weights(p, 1.0, 0.0), 1.0)
    np.testing.assert_allclose(dequity_weights(p, 1e9, 5.0), 1.0, atol=1e-9)


@pytest.mark.parametrize(("eta", "gamma"), PARAMS)
@pytest.mark.parametrize("shape", ["n", "k3"])
def test_loss_weights_equal_dequity_weights(eta, gamma, shape):
    z, y = shared.fixed_input(shape)
    p = _likelihood(len(y))
    terms = DEquityWeightedLoss(eta=eta, gamma=gamma, reduction="none")(
        z, y, likelihood=p
    )
    ce = CrossEntropyLoss(reduction="none")(z, y)
    expected = dequity_weights(p.numpy(), eta, gamma) * ce.numpy()
    np.testing.assert_allclose(terms.numpy(), expected, rtol=1e-13)


# -- the loss ---------------------------------------------------------------------
def test_spec_reference_loss():
    # Binary logits with per-sample CE [0.2, 1.5] (target 1: CE = softplus(-z)).
    ce = np.array([0.2, 1.5])
    z = as_tensor(-np.log(np.expm1(ce)))
    y, p = as_target([1, 1]), as_tensor([1.0, 0.25])
    loss = DEquityWeightedLoss(eta=1.0, gamma=5.0, reduction="none")
    terms = loss(z, y, likelihood=p)
    np.testing.assert_allclose(terms.numpy() / ce, [0.5, 0.618652], atol=1e-6)
    # The reference value is the plain mean of w * CE ...
    value = DEquityWeightedLoss()(z, y, likelihood=p).item()
    assert value == pytest.approx(0.513989, abs=1e-6)
    # ... not normalised by sum(w): that would be 0.918944.
    w = dequity_weights([1.0, 0.25])
    assert (w * ce).sum() / w.sum() == pytest.approx(0.918944, abs=1e-6)


@pytest.mark.parametrize(("eta", "gamma"), PARAMS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_matches_reference(eta, gamma, reduction):
    p = _likelihood(len(BIN_Y))
    loss = DEquityWeightedLoss(eta=eta, gamma=gamma, reduction=reduction)
    out = loss(as_tensor(BIN_Z), as_target(BIN_Y), likelihood=p)
    terms = _ref_terms(BIN_Z, BIN_Y, p.tolist(), eta, gamma)
    expected = shared.reduce_ref(terms, reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize(("eta", "gamma"), PARAMS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_multiclass_matches_reference(k, eta, gamma, reduction):
    z, y, p = mc_logits(k), MC_Y[k], _likelihood(len(MC_Y[k]), seed=k)
    loss = DEquityWeightedLoss(eta=eta, gamma=gamma, reduction=reduction)
    out = loss(as_tensor(z), as_target(y), likelihood=p)
    expected = shared.reduce_ref(_ref_terms(z, y, p.tolist(), eta, gamma), reduction)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
@pytest.mark.parametrize("eta", [0.0, 1.0, 7.5])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gamma_zero_is_cross_entropy_exactly(shape, eta, reduction):
    """Equal terms; the unweighted mean to the last bit (torch's fused mean of
    the cross-entropy and the mean of the weighted terms round differently)."""
    z, y = shared.fixed_input(shape)
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    loss = DEquityWeightedLoss(eta=eta, gamma=0.0, reduction=reduction)
    ce = CrossEntropyLoss(reduction=reduction)
    for sw in (None, w):
        out = loss(z, y, sample_weight=sw, likelihood=_likelihood(len(y)))
        rtol = 1e-15 if reduction == "mean" and sw is None else 0.0
        torch.testing.assert_close(out, ce(z, y, sample_weight=sw), rtol=rtol, atol=0)


@pytest.mark.parametrize("gamma", [0.5, 2.0, 5.0])
@pytest.mark.parametrize("shape", ["n", "k4"])
def test_eta_zero_is_static_focal_weight(gamma, shape):
    z, y = shared.fixed_input(shape)
    p = _likelihood(len(y))
    out = DEquityWeightedLoss(eta=0.0, gamma=gamma, reduction="none")(
        z, y, likelihood=p
    )
    ce = CrossEntropyLoss(reduction="none")(z, y)
    torch.testing.assert_close(out, (1.0 - p) ** gamma * ce, rtol=1e-14, atol=0)
    assert out[0].item() == 0.0  # p = 1: the most common samples are ignored


def test_large_eta_approaches_cross_entropy():
    z, y = shared.fixed_input("k3")
    out = DEquityWeightedLoss(eta=1e9)(z, y, likelihood=_likelihood(len(y)))
    torch.testing.assert_close(out, CrossEntropyLoss()(z, y), rtol=1e-8, atol=0)


# -- the contract, with a likelihood ---------------------------------------------
@pytest.mark.parametrize(("eta", "gamma"), [(1.0, 5.0), (0.3, 2.0), (0.0, 0.5)])
@pytest.mark.parametrize("shape", ["n", "n1", "k3", "k4"])
def test_gradcheck(eta, gamma, shape):
    z, y = shared.fixed_input(shape)
    context = _context(len(y))
    w = torch.linspace(0.0, 2.0, len(y), dtype=F64)
    loss = DEquityWeightedLoss(eta=eta, gamma=gamma)
    shared.assert_gradcheck(loss, z, y, w, context=context)
    loss = DEquityWeightedLoss(eta=eta, gamma=gamma, reduction="none")
    shared.assert_gradcheck(loss, z, y, context=context)


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_weights_repeat_and_drop_rows(n_out, reduction):
    loss = DEquityWeightedLoss(reduction=reduction)
    context = _context(7)
    for squeeze in (True, False) if n_out == 1 else (True,):
        shared.assert_repeated_rows(loss, n_out, squeeze, context=context)
    shared.assert_zero_weights_drop_rows(
        loss, n_out, kept_nonzero=True, context=context
    )


@pytest.mark.parametrize("shape", ["n", "k3"])
def test_weighted_reductions_and_unit_weights(shape):
    z, y = shared.fixed_input(shape)
    context = _context(len(y))
    w = torch.linspace(0.0, 3.0, len(y), dtype=F64)
    terms = DEquityWeightedLoss(reduction="none")(z, y, **context)
    shared.assert_weighted_reductions(
        lambda r: DEquityWeightedLoss(reduction=r), z, y, w, terms.numpy(), context
    )
    for reduction in ("mean", "sum", "none"):
        loss = DEquityWeightedLoss(reduction=reduction)
        shared.assert_unit_weights(loss, z, y, 1e-14, 1e-15, context)
    if shape == "n":
        loss = DEquityWeightedLoss()
        shared.assert_column_equals_flat(loss, z, y, w, context)


def test_zero_total_weight_gives_zero():
    z, y = shared.fixed_input("k3")
    z.requires_grad_(True)
    out = DEquityWeightedLoss()(
        z, y, sample_weight=torch.zeros(len(y), dtype=F64), **_context(len(y))
    )
    assert out.item() == 0.0
    out.backward()
    assert torch.all(z.grad == 0)


@pytest.mark.parametrize("big", [80.0, 1e4])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n_out", [1, 3])
def test_extreme_logits_finite(big, dtype, n_out):
    z, y = shared.extreme_logits(n_out, big, dtype)
    context = {"likelihood": torch.tensor([1.0, 0.5, 1e-6, 0.9], dtype=dtype)}
    for reduction in ("mean", "none"):
        loss = DEquityWeightedLoss(reduction=reduction)
        shared.finite_value_and_grad(loss, z, y, context=context)
    w = torch.tensor([0.5, 2.0, 0.0, 1.0], dtype=dtype)
    shared.finite_value_and_grad(DEquityWeightedLoss(), z, y, w, context)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weight_dtype", [None, torch.float32, torch.float64])
@pytest.mark.parametrize("p_dtype", [torch.float32, torch.float64])
def test_dtypes(dtype, weight_dtype, p_dtype):
    z, y = shared.fixed_input("k3")
    # float32-exact likelihoods: the float64 reference sees the same values
    p = torch.tensor([1.0, 0.5, 0.25, 0.125, 0.75, 0.0625], dtype=p_dtype)
    loss = DEquityWeightedLoss(eta=0.5, gamma=2.0)
    shared.assert_dtype_follows_input(
        loss, z, y, dtype, weight_dtype, {"likelihood": p}
    )


# -- validation -------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, 1.5, -0.2, float("nan"), float("inf")])
def test_invalid_likelihood(bad):
    z, y = shared.fixed_input("n")
    p = _likelihood(len(y))
    p[3] = bad
    with pytest.raises(ValueError, match=r"likelihood p must lie in \(0, 1\]"):
        DEquityWeightedLoss()(z, y, likelihood=p)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        dequity_weights(p.numpy())


def test_missing_or_misshapen_likelihood():
    z, y = shared.fixed_input("k3")
    with pytest.raises(ValueError, match="needs `likelihood`"):
        DEquityWeightedLoss()(z, y)
    with pytest.raises(ValueError, match="likelihood must have shape"):
        DEquityWeightedLoss()(z, y, likelihood=_likelihood(len(y) - 1))


@pytest.mark.parametrize("name", ["eta", "gamma"])
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), True, "1", None])
def test_invalid_parameters(name, value):
    with pytest.raises(ValueError, match=name):
        DEquityWeightedLoss(**{name: value})
    with pytest.raises(ValueError, match=name):
        dequity_weights([0.5], **{name: value})


def test_invalid_reduction():
    with pytest.raises(ValueError, match="reduction"):
        DEquityWeightedLoss(reduction="avg")


def test_metadata_and_registry():
    assert get_loss_class("generalized_focal") is DEquityWeightedLoss
    assert get_loss_class("dequity_focal") is DEquityWeightedLoss
    assert DEquityWeightedLoss.tasks == frozenset({"binary", "multiclass"})
    assert DEquityWeightedLoss.requires == ("likelihood",)
    assert DEquityWeightedLoss.decomposable
    loss = get_loss("generalized_focal", eta=0.5)
    assert loss.get_params() == {"eta": 0.5, "gamma": 5.0, "reduction": "mean"}


# -- estimator --------------------------------------------------------------------
SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 10, "random_state": 0}


class Recorder(Callback):
    """Numpy copies of the train and validation data of the first epoch."""

    def initialize(self):
        self.train_ = self.valid_ = None
        return self

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.train_ is None:
            self.train_ = {k: v.cpu().numpy() for k, v in dataset_train.items()}
            self.valid_ = {k: v.cpu().numpy() for k, v in dataset_valid.items()}


def _rows(X_sub, X):
    """Index in X of each row of X_sub (rows of X are distinct)."""
    X32 = X.astype(np.float32)
    return np.array([np.flatnonzero((X32 == row).all(axis=1))[0] for row in X_sub])


@pytest.mark.parametrize("data", ["binary_data", "multiclass_data"])
def test_classifier_trains_with_likelihood(data, request):
    X, y = request.getfixturevalue(data)
    p = np.random.default_rng(0).uniform(0.05, 1.0, size=len(y))
    clf = LossClassifier(loss="generalized_focal", lr=1e-2, **SMALL)
    clf.fit(X, y, likelihood=p)
    assert isinstance(clf.loss_, DEquityWeightedLoss)
    loss = np.asarray(clf.history_[:, "train_loss"])
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
    assert clf.score(X, y) > 0.6


def test_likelihood_follows_the_validation_split(binary_data):
    X, y = binary_data
    p = np.random.default_rng(1).uniform(0.05, 1.0, size=len(y))
    clf = LossClassifier(
        loss="dequity_focal",
        early_stopping=True,
        input_scaling=None,  # the recorded X are the rows as given
        callbacks=[("recorder", Recorder())],
        **SMALL,
    ).fit(X, y, likelihood=p)
    assert all(np.isfinite(row["valid_loss"]) for row in clf.history_)
    rec = dict(clf.net_.callbacks_)["recorder"]
    for part in (rec.train_, rec.valid_):
        idx = _rows(part["X"], X)
        np.testing.assert_array_equal(part["y"], y[idx])
        np.testing.assert_allclose(part["likelihood"], p[idx], rtol=1e-7)
    assert len(rec.valid_["y"]) == pytest.approx(0.1 * len(y), abs=1)
    assert len(rec.train_["y"]) + len(rec.valid_["y"]) == len(y)


def test_classifier_without_likelihood_names_it(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="likelihood"):
        LossClassifier(loss="generalized_focal", **SMALL).fit(X, y)


def test_classifier_with_invalid_likelihood(binary_data):
    X, y = binary_data
    p = np.full(len(y), 0.5)
    p[10] = 0.0
    with pytest.raises(ValueError, match=r"likelihood p must lie in \(0, 1\]"):
        LossClassifier(loss="generalized_focal", **SMALL).fit(X, y, likelihood=p)


def test_gamma_zero_classifier_equals_cross_entropy(binary_data):
    X, y = binary_data
    p = np.random.default_rng(2).uniform(0.05, 1.0, size=len(y))
    a = LossClassifier(loss="generalized_focal", loss__gamma=0.0, **SMALL)
    b = LossClassifier(loss="cross_entropy", **SMALL)
    # Equal up to float32 summation order (the default network's members are
    # summed in one call for cross-entropy, one call per member for a loss
    # that takes per-sample inputs).
    np.testing.assert_allclose(
        a.fit(X, y, likelihood=p).predict_proba(X),
        b.fit(X, y).predict_proba(X),
        rtol=1e-5,
        atol=1e-6,
    )


def test_binary_uses_one_logit():
    z = torch.tensor([[0.3], [-0.2]], dtype=F64)
    out = DEquityWeightedLoss(gamma=0.0, reduction="none")(
        z, as_target([1, 0]), likelihood=as_tensor([1.0, 1.0])
    )
    expected = F.binary_cross_entropy_with_logits(
        z[:, 0], torch.tensor([1.0, 0.0], dtype=F64), reduction="none"
    )
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
