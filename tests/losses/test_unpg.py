"""UNPG: spec reference table, the whisker filter, a per-anchor loop, gradients."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_losses.losses import get_loss, trusted_targets
from sklearn_losses.losses.unpg import UNPGLoss, unpg_loss, whisker_filter

F64 = torch.float64
X = F.normalize(
    torch.tensor(
        [
            [1.0, 0.1, 0.0],
            [0.8, 0.3, 0.1],
            [0.1, 1.0, 0.2],
            [0.2, 0.1, 1.0],
            [0.6, 0.6, 0.1],
        ],
        dtype=F64,
    ),
    dim=1,
)
Y = torch.tensor([0, 0, 1, 2, 1])
W = F.normalize(
    torch.tensor([[1.0, 0.2, 0.0], [0.1, 1.0, 0.1], [0.0, 0.1, 1.0]], dtype=F64), dim=1
)


@pytest.mark.parametrize(
    "head, scale, margin, plain, unpg",
    [
        ("cosface", 16, 0.35, 1.292723, 5.204219),
        ("cosface", 64, 0.35, 5.118492, 20.223599),
        ("arcface", 16, 0.5, 1.432149, 3.432983),
        ("arcface", 64, 0.5, 5.722331, 12.705180),
    ],
)
def test_spec_reference_table(head, scale, margin, plain, unpg):
    got_plain = unpg_loss(X, Y, W, head, scale, margin, whisker=None)
    got = unpg_loss(X, Y, W, head, scale, margin, whisker=1.5)
    assert got_plain.item() == pytest.approx(plain, rel=1e-5)
    assert got.item() == pytest.approx(unpg, rel=1e-5)


def test_default_margins_and_scale():
    assert unpg_loss(X, Y, W, "cosface").item() == pytest.approx(20.223599, rel=1e-5)
    assert unpg_loss(X, Y, W, "arcface").item() == pytest.approx(12.705180, rel=1e-5)


def test_negative_pairs_and_filter_demo():
    sims = X @ X.T
    pairs = sorted(
        float(sims[a, b]) for a in range(5) for b in range(a + 1, 5) if Y[a] != Y[b]
    )
    np.testing.assert_allclose(
        pairs,
        [0.1942, 0.2039, 0.3048, 0.3198, 0.3290, 0.4538, 0.7686, 0.9116],
        atol=5e-5,
    )
    assert whisker_filter(torch.tensor(pairs)).numel() == 8
    demo = torch.tensor([-0.2, -0.1, 0.0, 0.05, 0.1, 0.12, 0.15, 0.9])
    kept = whisker_filter(demo, 1.5)
    torch.testing.assert_close(kept, demo[:-1])
    # Few values: the quartiles collapse and IQR 0 keeps [Q1, Q3] only.
    torch.testing.assert_close(
        whisker_filter(torch.tensor([0.0, 1.0, 1.0, 1.0])), torch.ones(3)
    )
    assert whisker_filter(torch.tensor([])).numel() == 0
    x = torch.tensor([0.0, 0.5, 3.0], requires_grad=True)
    whisker_filter(x, 100.0).sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(3))


def naive_unpg(x, y, w, head, s, m, k):
    """The loss anchor by anchor, with the explicit list of kept pairs."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    pairs = sorted(
        x[a] @ x[b] for a in range(len(x)) for b in range(a + 1, len(x)) if y[a] != y[b]
    )
    kept = []
    if pairs:
        q1, q3 = pairs[len(pairs) // 4], pairs[(3 * len(pairs)) // 4]
        iqr = q3 - q1
        kept = [v for v in pairs if q1 - k * iqr <= v <= q3 + k * iqr]
    total = 0.0
    for i in range(len(x)):
        cos = w @ x[i]
        c = cos[y[i]]
        psi = c - m if head == "cosface" else math.cos(math.acos(c) + m)
        logits = [s * psi] + [s * cos[j] for j in range(len(w)) if j != y[i]]
        logits += [s * v for v in kept]
        top = max(logits)
        total += top + math.log(sum(math.exp(v - top) for v in logits)) - s * psi
    return total / len(x)


@pytest.mark.parametrize("head", ["cosface", "arcface"])
def test_matches_per_anchor_loop(head):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4))
    y = rng.integers(0, 3, size=12)
    w = rng.normal(size=(3, 4))
    expected = naive_unpg(x, y, w, head, 8.0, 0.3, 1.0)
    got = unpg_loss(
        torch.tensor(x), torch.tensor(y), torch.tensor(w), head, 8.0, 0.3, 1.0
    )
    assert got.item() == pytest.approx(expected, rel=1e-10)


def test_gradcheck_features_and_weights():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.normal(size=(6, 3)), requires_grad=True)
    w = torch.tensor(rng.normal(size=(3, 3)), requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    for head in ("cosface", "arcface"):
        assert torch.autograd.gradcheck(
            lambda a, b, h=head: unpg_loss(a, y, b, h, 4.0, 0.3), (x, w)
        )


def test_module_setup_and_training_signal():
    torch.manual_seed(0)
    loss = UNPGLoss(scale=16.0)
    with pytest.raises(RuntimeError, match="setup"):
        loss(torch.randn(4, 3), torch.tensor([0, 0, 1, 1]))
    loss.setup(n_samples=10, n_classes=3, n_components=3)
    assert isinstance(loss.weight, torch.nn.Parameter)
    assert loss.weight.shape == (3, 3)
    torch.testing.assert_close(loss.weight.norm(dim=1), torch.ones(3))
    assert [p is loss.weight for p in loss.parameters()] == [True]
    z = torch.randn(6, 3, requires_grad=True)
    value = loss(z, torch.tensor([0, 0, 1, 1, 2, 2]))
    value.backward()
    assert loss.weight.grad is not None and loss.weight.grad.abs().sum() > 0
    expected = unpg_loss(z, torch.tensor([0, 0, 1, 1, 2, 2]), loss.weight, scale=16.0)
    assert value.item() == pytest.approx(expected.item())
    # Reproducible under torch's global generator.
    torch.manual_seed(3)
    loss.setup(n_samples=10, n_classes=3, n_components=3)
    first = loss.weight.detach().clone()
    torch.manual_seed(3)
    loss.setup(n_samples=10, n_classes=3, n_components=3)
    torch.testing.assert_close(loss.weight.detach(), first)
    with pytest.raises(ValueError, match="n_components"):
        loss.setup(n_samples=10, n_classes=3)
    with pytest.raises(ValueError, match="columns"):
        loss(torch.randn(4, 5), torch.tensor([0, 0, 1, 1]))


def test_single_class_falls_back_to_margin_softmax():
    z = torch.randn(5, 3, dtype=F64, requires_grad=True)
    y = torch.zeros(5, dtype=torch.long)
    value = unpg_loss(z, y, W, "arcface", 16.0)
    plain = unpg_loss(z, y, W, "arcface", 16.0, whisker=None)
    assert value.item() == pytest.approx(plain.item(), rel=1e-12)
    value.backward()
    assert torch.isfinite(z.grad).all()
    one = unpg_loss(z[:1], y[:1], W, "cosface", 16.0)
    assert torch.isfinite(one)


def test_weights_and_labels():
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(8, 3)))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    w = torch.tensor(rng.uniform(0.1, 2.0, size=8))
    loss = UNPGLoss(scale=8.0)
    torch.manual_seed(0)
    loss.setup(n_samples=8, n_classes=3, n_components=3)
    terms, counts = loss.anchor_terms(x, y)
    assert torch.equal(counts, torch.ones(8, dtype=counts.dtype))
    weighted = loss(x, y, sample_weight=w)
    assert weighted.item() == pytest.approx(((w * terms).sum() / w.sum()).item())
    assert loss(x, y, sample_weight=torch.ones(8, dtype=F64)).item() == pytest.approx(
        loss(x, y).item(), rel=1e-12
    )
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\]"):
        loss(x, torch.tensor([0, 1, 2, 3, 0, 1, 2, 0]))
    with pytest.raises(ValueError, match="class indices"):
        loss(x, -torch.ones(8, dtype=torch.long))
    with trusted_targets():  # the estimators vouch for the labels
        assert torch.isfinite(loss(x, y))


def test_max_pairs_subsampling():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.normal(size=(10, 3)))
    y = torch.tensor(np.arange(10) % 3)
    full = unpg_loss(x, y, W, scale=8.0)
    assert unpg_loss(x, y, W, scale=8.0, max_pairs=45).item() == full.item()
    plain = unpg_loss(x, y, W, scale=8.0, whisker=None)
    torch.manual_seed(0)
    capped = unpg_loss(x, y, W, scale=8.0, max_pairs=3)
    torch.manual_seed(0)
    again = unpg_loss(x, y, W, scale=8.0, max_pairs=3)
    assert capped.item() == again.item()
    assert plain.item() < capped.item() < full.item()


def test_large_scale_is_stable():
    z = F.normalize(torch.randn(64, 8), dim=1) * 100.0
    y = torch.arange(64) % 4
    loss = UNPGLoss(head="arcface")
    loss.setup(n_samples=64, n_classes=4, n_components=8)
    z.requires_grad_(True)
    value = loss(z, y)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(z.grad).all()
    # ArcFace at |cos| = 1 keeps finite gradients.
    w = torch.eye(2, dtype=F64)
    x = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=F64, requires_grad=True)
    unpg_loss(x, torch.tensor([0, 0]), w, "arcface", 64.0).backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"head": "sphereface"}, "head"),
        ({"scale": 0}, "scale"),
        ({"margin": -0.1}, "margin"),
        ({"head": "arcface", "margin": 4.0}, "margin"),
        ({"whisker": -1}, "whisker"),
        ({"max_pairs": 0}, "max_pairs"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        UNPGLoss(**params)


def test_registry():
    loss = get_loss("unpg", head="arcface")
    assert isinstance(loss, UNPGLoss)
    assert loss.get_params() == {
        "head": "arcface",
        "margin": None,
        "max_pairs": 131072,
        "scale": None,
        "whisker": 1.5,
    }
