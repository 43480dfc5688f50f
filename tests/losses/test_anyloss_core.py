"""AnyLoss: the spec's reference values, an independent re-implementation, edges."""

import math

import numpy as np
import pytest
import torch

from sklearn_losses.losses import AnyLoss
from sklearn_losses.metrics import list_metrics, soft_confusion

F64 = torch.float64
P = [0.8, 0.4, 0.6, 0.3]
Y = [1, 0, 1, 0]


def _z(values=P, dtype=F64):
    return torch.logit(torch.tensor(values, dtype=dtype))


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("accuracy", 0.176128),
        ("f1", 0.173023),
        ("f0.5", 0.181678),
        ("f2", 0.164183),
        ("gmean", 0.176323),
        ("balanced_accuracy", 0.176128),
    ],
)
def test_spec_reference_values_L10(metric, expected):
    value = AnyLoss(metric=metric, L=10)(_z(), torch.tensor(Y))
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_spec_reference_gradient_and_L73():
    z = _z().requires_grad_()
    AnyLoss(metric="f1", L=10)(z, torch.tensor(Y)).backward()
    expected = [-0.020824, 0.095836, -0.135939, 0.044781]
    np.testing.assert_allclose(z.grad.numpy(), expected, atol=1e-6)
    value = AnyLoss(metric="f1")(_z(), torch.tensor(Y)).item()
    assert value == pytest.approx(3.37655e-4, rel=1e-5)


def _numpy_anyloss(z, y, metric, L):
    p = 1 / (1 + np.exp(-z))
    a = 1 / (1 + np.exp(-L * (p - 0.5)))
    tp = float(np.sum(y * a))
    fn = float(np.sum(y)) - tp
    fp = float(np.sum(a)) - tp
    tn = len(y) - tp - fn - fp
    tp, fp, fn, tn = (v if v != 0 else 1e-9 for v in (tp, fp, fn, tn))
    tpr, tnr = tp / (tp + fn), tn / (tn + fp)
    value = {
        "accuracy": (tp + tn) / (tp + fp + fn + tn),
        "precision": tp / (tp + fp),
        "recall": tpr,
        "specificity": tnr,
        "f1": 2 * tp / (2 * tp + fn + fp),
        "f0.5": 1.25 * tp / (1.25 * tp + 0.25 * fn + fp),
        "f2": 5 * tp / (5 * tp + 4 * fn + fp),
        "gmean": math.sqrt(tpr * tnr),
        "balanced_accuracy": 0.5 * (tpr + tnr),
        "mcc": (tp * tn - fp * fn)
        / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)),
        "jaccard": tp / (tp + fp + fn),
        "informedness": tpr + tnr - 1,
    }[metric]
    return 1 - value


@pytest.mark.parametrize("metric", list_metrics())
@pytest.mark.parametrize("L", [3.0, 10.0, 73.0])
def test_matches_numpy_reimplementation(metric, L):
    rng = np.random.RandomState(0)
    for _ in range(5):
        z = rng.normal(scale=2, size=20)
        y = rng.randint(0, 2, 20)
        y[:2] = [0, 1]
        got = AnyLoss(metric=metric, L=L)(torch.tensor(z), torch.tensor(y)).item()
        assert got == pytest.approx(_numpy_anyloss(z, y, metric, L), rel=1e-10)


@pytest.mark.parametrize("metric", ["f1", "gmean", "balanced_accuracy", "mcc"])
@pytest.mark.parametrize("average", ["macro", "micro"])
def test_gradcheck(metric, average):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(8, dtype=F64, generator=gen, requires_grad=True)
    y = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    loss = AnyLoss(metric=metric, L=10, average=average)
    assert torch.autograd.gradcheck(lambda x: loss(x, y), (z,))
    zk = torch.randn(8, 3, dtype=F64, generator=gen, requires_grad=True)
    yk = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    assert torch.autograd.gradcheck(lambda x: loss(x, yk), (zk,))


def test_float32_is_computed_in_float64_and_keeps_gradient():
    z32 = _z([0.9, 0.2, 0.95], dtype=torch.float32).requires_grad_()
    y = torch.tensor([0, 0, 1])
    loss32 = AnyLoss(metric="f1")(z32, y)
    loss64 = AnyLoss(metric="f1")(z32.detach().double(), y)
    assert loss32.dtype == torch.float32
    assert loss32.item() == pytest.approx(loss64.item(), rel=1e-6)
    loss32.backward()
    assert z32.grad[0].item() > 0  # the confident false positive is pushed down


@pytest.mark.parametrize("metric", list_metrics())
@pytest.mark.parametrize("only", [0, 1])
def test_batch_with_one_class_is_finite(metric, only):
    z = torch.tensor([0.3, -1.2, 2.0, 0.1], dtype=F64, requires_grad=True)
    y = torch.full((4,), only)
    value = AnyLoss(metric=metric)(z, y)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(z.grad).all()


def test_weights_unit_and_repeated_rows():
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(10, dtype=F64, generator=gen)
    y = torch.tensor([0, 1] * 5)
    w = torch.tensor([0, 1, 2, 3, 1, 0, 2, 1, 1, 3], dtype=F64)
    loss = AnyLoss(metric="gmean", L=10)
    assert loss(z, y, sample_weight=torch.ones(10, dtype=F64)).item() == (
        pytest.approx(loss(z, y).item(), rel=1e-14)
    )
    idx = torch.repeat_interleave(torch.arange(10), w.long())
    assert loss(z, y, sample_weight=w).item() == pytest.approx(
        loss(z[idx], y[idx]).item(), rel=1e-12
    )


def test_two_class_softmax_counts_equal_binary_counts():
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(12, dtype=F64, generator=gen)
    y = torch.randint(0, 2, (12,), generator=gen)
    binary = soft_confusion(torch.sigmoid(z), y, L=10)
    two = torch.softmax(torch.stack([torch.zeros_like(z), z], 1), dim=1)
    per_class = soft_confusion(two, y, L=10)
    for b, k in zip(binary, per_class):
        assert b.item() == pytest.approx(k[1].item(), rel=1e-12)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"metric": "nope"}, "Unknown metric"),
        ({"metric": "f11"}, "f1"),
        ({"metric": 3}, "metric"),
        ({"L": 0}, "L must"),
        ({"L": -1.0}, "L must"),
        ({"L": float("inf")}, "L must"),
        ({"average": "weighted"}, "average"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        AnyLoss(**params)


def test_metadata():
    assert AnyLoss.name == "anyloss"
    assert not AnyLoss.decomposable and AnyLoss.monitor == "score"
    assert AnyLoss().validation_scorer("binary") is not None
