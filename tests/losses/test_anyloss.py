"""Tests of AnyLoss: the spec's reference values, an independent numpy
re-implementation, gradients, dtypes, degenerate batches, sample weights, the
two-class multiclass form, parameters, registry, and the estimator's batch
plan, stratified batches and early stopping for it.
"""

import math

import numpy as np
import pytest
import torch
from _reference import (
    F64,
    as_target,
    as_tensor,
    assert_column_equals_flat,
    assert_gradcheck,
    assert_repeated_rows,
    assert_unit_weights,
    assert_zero_weights_drop_rows,
    mc_logits,
)
from skorch.callbacks import Callback

from sklearn_losses import LossClassifier
from sklearn_losses.losses import (
    AnyLoss,
    get_loss,
    get_loss_class,
    list_losses,
    trusted_targets,
)
from sklearn_losses.metrics import (
    F1,
    SOFT_EPS,
    ConfusionMetric,
    get_metric,
    list_metrics,
    make_confusion_metric,
)

METRICS = list_metrics()
SYMMETRIC = ["accuracy", "balanced_accuracy", "gmean", "informedness", "mcc"]

# The spec's reference: p = [0.8, 0.4, 0.6, 0.3], y = [1, 0, 1, 0].
REF_P = [0.8, 0.4, 0.6, 0.3]
REF_Y = [1, 0, 1, 0]
REF_L10 = {
    "accuracy": 0.176128,
    "f1": 0.173023,
    "f0.5": 0.181678,
    "f2": 0.164183,
    "gmean": 0.176323,
    "balanced_accuracy": 0.176128,
}
REF_GRAD_F1_L10 = [-0.020824, 0.095836, -0.135939, 0.044781]


def ref_logits(requires_grad=False):
    z = torch.logit(as_tensor(REF_P))
    return z.detach().requires_grad_(requires_grad)


# -- independent numpy reference --------------------------------------------------
def _np_metric(name, tp, fp, fn, tn):
    tpr, tnr = tp / (tp + fn), tn / (tn + fp)
    if name == "accuracy":
        return (tp + tn) / (tp + fp + fn + tn)
    if name == "precision":
        return tp / (tp + fp)
    if name == "recall":
        return tpr
    if name == "specificity":
        return tnr
    if name in ("f1", "f0.5", "f2"):
        b2 = {"f1": 1.0, "f0.5": 0.25, "f2": 4.0}[name]
        precision, recall = tp / (tp + fp), tpr
        return (1 + b2) * precision * recall / (b2 * precision + recall)
    if name == "gmean":
        return np.sqrt(tpr * tnr)
    if name == "balanced_accuracy":
        return (tpr + tnr) / 2
    if name == "informedness":
        return tpr + tnr - 1
    if name == "mcc":
        num = tp * tn - fp * fn
        return num / np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    if name == "jaccard":
        return tp / (tp + fp + fn)
    raise AssertionError(name)


def np_anyloss_binary(name, z, y, L, w=None):
    """1 - metric on the amplified probabilities, per the paper, in numpy."""
    z, y = np.asarray(z, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(z) if w is None else np.asarray(w, dtype=float)
    p = 1.0 / (1.0 + np.exp(-z))
    a = 1.0 / (1.0 + np.exp(-L * (p - 0.5)))
    tp = np.sum(w * y * a)
    fn = np.sum(w * y * (1 - a))
    fp = np.sum(w * (1 - y) * a)
    tn = np.sum(w * (1 - y) * (1 - a))
    return 1.0 - _np_metric(name, *_nonzero(tp, fp, fn, tn))


def _nonzero(*counts):
    """Counts with SOFT_EPS in place of an exact zero."""
    return [np.where(c == 0, SOFT_EPS, c) for c in counts]


def _np_matrix_metric(name, C):
    """Accuracy, balanced accuracy and MCC of a (K, K) confusion matrix."""
    t, p, n = C.sum(1), C.sum(0), C.sum()
    if name == "accuracy":
        return np.trace(C) / n
    if name == "balanced_accuracy":
        return np.mean((np.diag(C) / t)[t > 0])
    cov = np.trace(C) * n - t @ p
    den = (n * n - t @ t) * (n * n - p @ p)
    return 0.0 if den == 0 else cov / np.sqrt(den)


MATRIX_METRICS = ("accuracy", "balanced_accuracy", "mcc")


def np_anyloss_multiclass(name, z, y, L, average, w=None):
    z = np.asarray(z, dtype=float)
    n, k = z.shape
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    s = np.exp(L * p / 2)
    a = s / s.sum(axis=1, keepdims=True)
    onehot = np.eye(k)[np.asarray(y)]
    wc = w[:, None]
    if name in MATRIX_METRICS:
        return 1.0 - _np_matrix_metric(name, (wc * onehot).T @ a)
    tp = np.sum(wc * onehot * a, axis=0)
    fn = np.sum(wc * onehot * (1 - a), axis=0)
    fp = np.sum(wc * (1 - onehot) * a, axis=0)
    tn = np.sum(wc * (1 - onehot) * (1 - a), axis=0)
    if average == "micro":
        tp, fp, fn, tn = tp.sum(), fp.sum(), fn.sum(), tn.sum()
    return 1.0 - np.mean(_np_metric(name, *_nonzero(tp, fp, fn, tn)))


# -- reference values ----------------------------------------------------------------
@pytest.mark.parametrize("metric", list(REF_L10))
def test_spec_reference_values_L10(metric):
    loss = AnyLoss(metric=metric, L=10)(ref_logits(), as_target(REF_Y))
    assert loss.dtype == F64
    assert loss.item() == pytest.approx(REF_L10[metric], abs=5e-7)


def test_spec_reference_gradient_f1_L10():
    z = ref_logits(requires_grad=True)
    AnyLoss(metric="f1", L=10)(z, as_target(REF_Y)).backward()
    np.testing.assert_allclose(z.grad.numpy(), REF_GRAD_F1_L10, atol=5e-7, rtol=0)


def test_spec_reference_value_L73():
    loss = AnyLoss(metric="f1", L=73)(ref_logits(), as_target(REF_Y))
    # printed as 3.37655e-4 (truncated: the value is 3.3765599e-4)
    assert loss.item() == pytest.approx(3.37655e-4, abs=1e-9)
    # the default L is the paper's 73
    assert AnyLoss()(ref_logits(), as_target(REF_Y)).item() == loss.item()
    # "every loss ~ 3.3766e-4": to 4 digits for accuracy, F1, G-mean and BAcc;
    # F0.5 and F2 differ in the 4th digit (3.3772e-4 and 3.3759e-4)
    for metric in REF_L10:
        value = AnyLoss(metric=metric, L=73)(ref_logits(), as_target(REF_Y)).item()
        tol = 1e-7 if metric in ("f0.5", "f2") else 5e-9
        assert value == pytest.approx(3.3766e-4, abs=tol), metric


def test_docstring_example_value():
    z = torch.logit(torch.tensor(REF_P))  # float32
    loss = AnyLoss(metric="f1", L=10)(z, as_target(REF_Y))
    assert loss.dtype == torch.float32
    assert round(loss.item(), 6) == 0.173023


# -- against the numpy re-implementation -------------------------------------------
@pytest.mark.parametrize("metric", METRICS)
def test_binary_matches_numpy_reference(metric):
    rng = np.random.default_rng(METRICS.index(metric))
    for L, n, weighted in [(5.0, 9, False), (10.0, 16, True), (73.0, 30, True)]:
        z = rng.normal(scale=2.0, size=n)
        y = rng.permutation(np.arange(n) % 2)  # both classes
        w = rng.uniform(0.2, 2.0, n) if weighted else None
        out = AnyLoss(metric=metric, L=L)(
            as_tensor(z),
            as_target(y),
            sample_weight=None if w is None else as_tensor(w),
        )
        expected = np_anyloss_binary(metric, z, y, L, w)
        assert out.item() == pytest.approx(expected, rel=1e-10, abs=1e-12), L


@pytest.mark.parametrize("average", ["macro", "micro"])
@pytest.mark.parametrize(
    "metric",
    ["f1", "gmean", "mcc", "precision", "jaccard", "accuracy", "balanced_accuracy"],
)
def test_multiclass_matches_numpy_reference(metric, average):
    rng = np.random.default_rng(7)
    z = rng.normal(scale=2.0, size=(15, 4))
    y = rng.permutation(np.arange(15) % 4)
    w = rng.uniform(0.2, 2.0, 15)
    for weights in (None, w):
        out = AnyLoss(metric=metric, L=10, average=average)(
            as_tensor(z),
            as_target(y),
            sample_weight=None if weights is None else as_tensor(weights),
        )
        expected = np_anyloss_multiclass(metric, z, y, 10.0, average, weights)
        assert out.item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_metric_object_equals_name():
    z, y = ref_logits(), as_target(REF_Y)
    for name in METRICS:
        by_name = AnyLoss(metric=name, L=10)(z, y)
        by_object = AnyLoss(metric=get_metric(name), L=10)(z, y)
        assert by_name.item() == by_object.item()


def test_lower_is_better_metric_is_the_loss():
    error_rate = make_confusion_metric(
        lambda tp, fp, fn, tn: (fp + fn) / (tp + fp + fn + tn),
        "error_rate",
        higher_is_better=False,
    )
    z, y = ref_logits(), as_target(REF_Y)
    torch.testing.assert_close(
        AnyLoss(metric=error_rate, L=10)(z, y), AnyLoss(metric="accuracy", L=10)(z, y)
    )


# -- gradients -----------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["f1", "gmean", "mcc", "balanced_accuracy", "f2"])
def test_gradcheck_binary(metric):
    rng = np.random.default_rng(1)
    z = as_tensor(rng.normal(size=8))
    y = as_target([0, 1, 1, 0, 1, 0, 0, 1])
    loss = AnyLoss(metric=metric, L=10)
    assert_gradcheck(loss, z, y)
    assert_gradcheck(loss, z, y, sample_weight=as_tensor(rng.uniform(0.5, 2, 8)))


@pytest.mark.parametrize("average", ["macro", "micro"])
@pytest.mark.parametrize("metric", ["f1", "gmean", "mcc"])
def test_gradcheck_multiclass(metric, average):
    z = as_tensor(mc_logits(3))
    y = as_target([0, 2, 1, 1, 0, 2])
    loss = AnyLoss(metric=metric, L=10, average=average)
    assert_gradcheck(loss, z, y)
    assert_gradcheck(loss, z, y, sample_weight=as_tensor([1.0, 2, 0.5, 1, 3, 1]))


def test_gradient_signs_f1():
    """Raising a positive's logit lowers the loss; raising a negative's raises it."""
    z = ref_logits(requires_grad=True)
    AnyLoss(metric="f1", L=30)(z, as_target(REF_Y)).backward()
    y = np.array(REF_Y)
    assert np.all(z.grad.numpy()[y == 1] < 0)
    assert np.all(z.grad.numpy()[y == 0] > 0)


# -- dtypes ---------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["f1", "gmean", "mcc", "accuracy"])
@pytest.mark.parametrize("L", [10.0, 73.0])
def test_float32_is_computed_in_float64(metric, L):
    rng = np.random.default_rng(3)
    z32 = torch.tensor(rng.normal(scale=2, size=20), dtype=torch.float32)
    y = as_target(rng.permutation(np.arange(20) % 2))
    w32 = torch.linspace(0.5, 1.5, 20, dtype=torch.float32)
    loss = AnyLoss(metric=metric, L=L)
    for w in (None, w32):
        z = z32.clone().requires_grad_(True)
        out = loss(z, y, sample_weight=w)
        assert out.dtype == torch.float32
        out.backward()
        assert z.grad.dtype == torch.float32
        z64 = z32.double().requires_grad_(True)
        ref = loss(z64, y, sample_weight=None if w is None else w.double())
        ref.backward()
        assert abs(out.item() - ref.item()) <= 1e-6 * max(1.0, abs(ref.item()))
        torch.testing.assert_close(z.grad.double(), z64.grad, rtol=1e-5, atol=1e-12)


def test_float32_confident_false_positive_has_gradient():
    """p = 0.9 on a negative at L=73: a float32 amplifier is exactly 1 there
    (no gradient); AnyLoss computes in float64 and keeps a gradient."""
    p = torch.tensor([0.9, 0.2, 0.7, 0.1, 0.95], dtype=torch.float32)
    y = as_target([0, 0, 1, 0, 1])
    z = torch.logit(p).requires_grad_(True)
    # what a float32 implementation would see
    p32 = torch.sigmoid(z)
    a32 = torch.sigmoid(73.0 * (p32 - 0.5))
    assert a32[0].item() == 1.0
    (grad32,) = torch.autograd.grad(a32[0], z)
    assert grad32[0].item() == 0.0
    for metric in ("f1", "precision", "mcc", "gmean", "accuracy"):
        z.grad = None
        AnyLoss(metric=metric, L=73.0)(z, y).backward()
        assert z.grad.dtype == torch.float32
        assert z.grad[0].item() > 0, metric  # pushes the false positive down
        assert torch.all(torch.isfinite(z.grad))


@pytest.mark.parametrize("average", ["macro", "micro"])
@pytest.mark.parametrize("L", [10.0, 73.0])
def test_float32_multiclass_is_computed_in_float64(L, average):
    rng = np.random.default_rng(4)
    z32 = torch.tensor(rng.normal(scale=2, size=(40, 4)), dtype=torch.float32)
    y = as_target(rng.permutation(np.arange(40) % 4))
    loss = AnyLoss(metric="f1", L=L, average=average)
    z = z32.clone().requires_grad_(True)
    out = loss(z, y)
    assert out.dtype == torch.float32
    out.backward()
    assert z.grad.dtype == torch.float32
    z64 = z32.double().requires_grad_(True)
    ref = loss(z64, y)
    ref.backward()
    assert abs(out.item() - ref.item()) <= 1e-6 * max(1.0, abs(ref.item()))
    torch.testing.assert_close(z.grad.double(), z64.grad, rtol=1e-5, atol=1e-12)


# -- metrics of the whole matrix ---------------------------------------------------
@pytest.mark.parametrize("metric", MATRIX_METRICS)
@pytest.mark.parametrize("average", ["macro", "micro"])
def test_matrix_metrics_tend_to_sklearn_multiclass(metric, average):
    """With a steep amplifier and confident logits, multiclass AnyLoss on
    accuracy, balanced accuracy and MCC is 1 - the sklearn metric of the argmax
    (not a one-vs-rest average, which is another metric)."""
    from sklearn import metrics as skm

    reference = {
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
        "mcc": skm.matthews_corrcoef,
    }[metric]
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 60)
    pred = rng.integers(0, 4, 60)
    z = rng.normal(size=(60, 4)) + 40.0 * np.eye(4)[pred]
    w = rng.uniform(0.5, 2.0, 60)
    out = AnyLoss(metric=metric, L=500.0, average=average)(
        as_tensor(z), as_target(y), sample_weight=as_tensor(w)
    )
    expected = 1.0 - reference(y, pred, sample_weight=w)
    assert out.item() == pytest.approx(expected, abs=1e-6)


def test_metric_overriding_soft_is_used():
    """A ConfusionMetric subclass with its own ``soft`` gets the raw counts."""

    class Halved(ConfusionMetric):
        def soft(self, tp, fp, fn, tn):
            return 0.5 * super().soft(tp, fp, fn, tn)

    halved = Halved(F1.fn, "half_f1")
    z, y = ref_logits(), as_target(REF_Y)
    value = AnyLoss(metric=halved, L=10)(z, y).item()
    assert value == pytest.approx(1 - 0.5 * (1 - REF_L10["f1"]), abs=5e-7)


# -- degenerate batches ---------------------------------------------------------------
@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("label", [0, 1], ids=["no_positive", "no_negative"])
def test_single_class_batch_is_finite(metric, label):
    rng = np.random.default_rng(label)
    y = as_target([label] * 6)
    cases = [(as_tensor(rng.normal(scale=3, size=6)), {})]
    cases.append((as_tensor([40.0, -40.0, 8.0, -8.0, 0.0, 1e3]), {}))
    cases.append(
        (as_tensor(rng.normal(size=6)), {"sample_weight": as_tensor([2.0] * 6)})
    )
    cases.append((as_tensor(rng.normal(size=(6, 3))), {}))
    for average in ("macro", "micro"):
        loss = AnyLoss(metric=metric, average=average)
        for z, kwargs in cases:
            z = z.detach().clone().requires_grad_(True)
            out = loss(z, y, **kwargs)
            assert torch.isfinite(out), (average, z)
            out.backward()
            assert torch.all(torch.isfinite(z.grad)), (average, z)


def test_zero_weight_batch_is_finite():
    z = as_tensor([0.3, -1.0, 2.0], requires_grad=True)
    out = AnyLoss(metric="gmean")(
        z, as_target([0, 1, 1]), sample_weight=as_tensor([0.0] * 3)
    )
    out.backward()
    assert torch.isfinite(out) and torch.all(torch.isfinite(z.grad))


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("metric", ["f1", "gmean"])
def test_zero_weight_batch_trusted(metric, n_out):
    """Inside trusted_targets (no device sync), weights summing to zero give 0
    with a zero gradient, as outside; other weights give the same loss."""
    rng = np.random.default_rng(n_out)
    shape = (6,) if n_out == 1 else (6, n_out)
    z0 = rng.normal(size=shape)
    y = as_target([0, 1, 1, 0, 1, 0] if n_out == 1 else [0, 1, 2, 0, 1, 2])
    loss = AnyLoss(metric=metric)
    for w in (as_tensor([0.0] * 6), as_tensor(rng.uniform(0.5, 2, 6))):
        results = []
        for trusted in (False, True):
            z = as_tensor(z0, requires_grad=True)
            if trusted:
                with trusted_targets():
                    out = loss(z, y, sample_weight=w)
            else:
                out = loss(z, y, sample_weight=w)
            out.backward()
            results.append((out, z.grad))
        (v0, g0), (v1, g1) = results
        torch.testing.assert_close(v1, v0, rtol=0, atol=0)
        torch.testing.assert_close(g1, g0, rtol=0, atol=0)
        if not w.any():
            assert v1.item() == 0.0 and torch.all(g1 == 0)


# -- sample weights ------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["f1", "gmean", "mcc", "balanced_accuracy"])
@pytest.mark.parametrize("n_out", [1, 3])
def test_sample_weights(metric, n_out):
    loss = AnyLoss(metric=metric, L=10)
    rng = np.random.default_rng(n_out)
    if n_out == 1:
        z, y = (
            as_tensor(rng.normal(size=9)),
            as_target(rng.permutation(np.arange(9) % 2)),
        )
    else:
        z, y = as_tensor(mc_logits(3)), as_target([0, 2, 1, 1, 0, 2])
    assert_unit_weights(loss, z, y, rtol=1e-14, atol=1e-15)
    assert_repeated_rows(loss, n_out)
    assert_zero_weights_drop_rows(loss, n_out)


def test_weights_are_relative_only_through_counts():
    """Scaling all weights scales every count: ratio metrics are unchanged."""
    z, y = ref_logits(), as_target(REF_Y)
    loss = AnyLoss(metric="f1", L=10)
    plain = loss(z, y)
    scaled = loss(z, y, sample_weight=as_tensor([3.0] * 4))
    assert scaled.item() == pytest.approx(plain.item(), rel=1e-12)


# -- input shapes, two-class multiclass form ---------------------------------------
def test_column_input_equals_flat():
    z, y = ref_logits(), as_target(REF_Y)
    assert_column_equals_flat(
        AnyLoss(metric="f1", L=10), z, y, as_tensor([1.0, 2, 3, 1])
    )


@pytest.mark.parametrize("metric", METRICS)
def test_two_logits_zero_z_equals_binary(metric):
    """Logits (0, z): softmax gives (1 - p, p) with p = sigmoid(z), and the
    amplifier softmax(L (1 - p, p) / 2) is (1 - a, a) with a = sigmoid(L (p - 1/2)).
    Class 1's one-vs-rest counts are the binary counts; class 0's are the
    binary counts mirrored (TN, FN, FP, TP) = the binary loss on (-z, 1 - y).
    So macro = the mean of the two binary losses, which is the binary loss for
    the metrics symmetric in the classes (accuracy, balanced accuracy, G-mean,
    informedness, MCC). micro sums to (TP + TN, FP + FN, FN + FP, TN + TP):
    the binary loss only for accuracy."""
    rng = np.random.default_rng(5)
    zb = as_tensor(rng.normal(scale=2, size=12))
    y = as_target(rng.permutation(np.arange(12) % 2))
    z2 = torch.stack([torch.zeros_like(zb), zb], dim=1)
    binary = AnyLoss(metric=metric, L=10)(zb, y)
    mirrored = AnyLoss(metric=metric, L=10)(-zb, 1 - y)
    macro = AnyLoss(metric=metric, L=10, average="macro")(z2, y)
    torch.testing.assert_close(macro, (binary + mirrored) / 2, rtol=1e-12, atol=1e-13)
    if metric in SYMMETRIC:
        torch.testing.assert_close(macro, binary, rtol=1e-12, atol=1e-13)
    micro = AnyLoss(metric=metric, L=10, average="micro")(z2, y)
    if metric == "accuracy":
        torch.testing.assert_close(micro, binary, rtol=1e-10, atol=1e-12)


def test_targets_out_of_range_raise():
    with pytest.raises(ValueError, match="target"):
        AnyLoss()(ref_logits(), as_target([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="target"):
        AnyLoss()(as_tensor(mc_logits(3)), as_target([0, 1, 3, 0, 1, 2]))


# -- parameters and registry ----------------------------------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        ({"metric": "nope"}, "metric"),
        ({"metric": "f11"}, "Did you mean 'f1'"),
        ({"metric": "gmaen"}, "Did you mean 'gmean'"),
        ({"metric": 3}, "metric"),
        ({"metric": None}, "metric"),
        ({"metric": F1.fn}, "metric"),
        ({"L": 0}, "L must be"),
        ({"L": -1}, "L must be"),
        ({"L": float("inf")}, "L must be"),
        ({"L": float("nan")}, "L must be"),
        ({"L": "73"}, "L must be"),
        ({"L": True}, "L must be"),
        ({"average": "weighted"}, "average"),
        ({"average": None}, "average"),
        ({"average": "binary"}, "average"),
    ],
)
def test_invalid_params_raise(params, match):
    with pytest.raises(ValueError, match=match):
        AnyLoss(**params)


def test_params_and_registry():
    loss = AnyLoss(metric="gmean", L=30, average="micro")
    assert loss.get_params() == {"metric": "gmean", "L": 30, "average": "micro"}
    assert AnyLoss().get_params() == {"metric": "f1", "L": 73.0, "average": "macro"}
    assert get_loss_class("anyloss") is AnyLoss
    assert get_loss_class("any_loss") is AnyLoss
    assert "anyloss" in list_losses("binary") and "anyloss" in list_losses("multiclass")
    built = get_loss("anyloss", metric="mcc", L=10)
    assert isinstance(built, AnyLoss) and built.metric == "mcc" and built.L == 10
    assert AnyLoss.name == "anyloss"
    assert AnyLoss.decomposable is False
    assert AnyLoss.monitor == "score"
    assert AnyLoss.binary_logits == 1
    assert AnyLoss.requires == ()
    assert AnyLoss.tasks == frozenset({"binary", "multiclass"})
    assert "metric='gmean'" in repr(loss)


def test_validation_scorer():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)
    est = LossClassifier(max_epochs=3, hidden_layer_sizes=(4,), random_state=0)
    est.fit(X, y)
    pred = est.predict(X)
    for metric in ("f1", "gmean", "mcc"):
        scorer = AnyLoss(metric=metric).validation_scorer("binary")
        assert callable(scorer)
        expected = get_metric(metric).score(y, pred, zero_division=0.0)
        assert scorer(est, X, y) == pytest.approx(expected, abs=1e-15)
    scorer = AnyLoss(metric="recall", average="micro").validation_scorer("multiclass")
    assert scorer(est, X, y) == pytest.approx(
        get_metric("recall").score(y, pred, average="micro"), abs=1e-15
    )


# -- estimator level -------------------------------------------------------------------
class BatchLabels(Callback):
    """Records the labels of every training batch."""

    def initialize(self):
        self.batches_ = []
        return self

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.batches_.append(batch[1].detach().cpu().numpy().copy())


class ValidRows(Callback):
    """Records the validation rows the engine scores."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.valid_ = {k: v.detach().cpu().numpy() for k, v in dataset_valid.items()}


def _imbalanced(n, n_pos, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, n_pos, replace=False)] = 1
    X[y == 1] += 1.0
    return X, y


def test_auto_batch_size_and_stratified_batches():
    X, y = _imbalanced(3000, 25)
    n_batches = math.ceil(3000 / 150)
    assert 25 >= n_batches  # the minority can cover every batch
    est = LossClassifier(
        loss="anyloss",
        max_epochs=2,
        hidden_layer_sizes=(4,),
        early_stopping=False,
        random_state=0,
        callbacks=[("labels", BatchLabels())],
    ).fit(X, y)
    assert est.net_.batch_size == max(128, math.ceil(0.05 * 3000)) == 150
    batches = dict(est.net_.callbacks_)["labels"].batches_
    assert len(batches) == 2 * n_batches
    assert sum(len(b) for b in batches) == 2 * 3000
    for b in batches:
        assert set(b) == {0, 1}


@pytest.mark.parametrize(
    "n, params, expected",
    [
        (200, {"loss": "anyloss"}, 128),
        (2000, {"loss": "anyloss", "early_stopping": True}, 128),  # 0.05 * 1800 < 128
        (3000, {"loss": "anyloss", "early_stopping": True}, 135),  # 2700 train rows
        (3000, {"loss": "cross_entropy"}, 128),  # per-sample loss: 128
        (3000, {"loss": "anyloss", "batch_size": 64}, 64),
    ],
)
def test_batch_size_plan(n, params, expected):
    X, y = _imbalanced(n, n // 4)
    est = LossClassifier(
        max_epochs=1, hidden_layer_sizes=(4,), random_state=0, **params
    ).fit(X, y)
    assert est.net_.batch_size == expected


def test_early_stopping_monitors_validation_f1(binary_data):
    X, y = binary_data
    est = LossClassifier(
        loss="anyloss",
        max_epochs=20,
        hidden_layer_sizes=(8,),
        lr=1e-2,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
        callbacks=[("valid", ValidRows())],
    ).fit(X, y)
    callbacks = dict(est.net_.callbacks_)
    stopper = callbacks["early_stopping"]
    assert stopper.monitor == "valid_score"
    assert stopper.lower_is_better is False
    valid = callbacks["valid"].valid_
    assert len(valid["y"]) == 20  # validation_fraction=0.1 of 200
    history = est.history_[:, "valid_score"]
    assert np.all(np.isfinite(history))
    # the restored best weights predict the best recorded valid_score, which is
    # the F1 of the validation rows
    f1 = F1.score(valid["y"], est.predict(valid["X"]), zero_division=0.0)
    assert f1 == est.history_[stopper.best_epoch_ - 1, "valid_score"]
    assert f1 == pytest.approx(max(history), abs=est.tol)


@pytest.mark.parametrize("average", ["macro", "micro"])
def test_multiclass_anyloss_trains_and_predicts(multiclass_data, average):
    X, y = multiclass_data
    est = LossClassifier(
        loss="anyloss",
        loss__average=average,
        loss__metric="f1",
        max_epochs=20,
        hidden_layer_sizes=(16,),
        lr=1e-2,
        random_state=0,
    ).fit(X, y)
    assert est.loss_.average == average
    assert est.decision_function(X).shape == (len(y), 3)
    pred = est.predict(X)
    assert set(pred) <= {0, 1, 2}
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    history = est.history_[:, "train_loss"]
    assert np.all(np.isfinite(history))
    assert history[-1] < history[0]
    assert np.mean(pred == y) > 0.5
