"""Proto-Triplet and ICNN losses: spec values, per-anchor loops, gradients, edges."""

import numpy as np
import pytest
import torch

from sklearn_losses.losses import get_loss
from sklearn_losses.losses.susana import ICNNLoss, ProtoTripletLoss, proto_triplet
from sklearn_losses.metrics._icnn import icnn_score

F64 = torch.float64
SUPPORT = torch.tensor(
    [
        [0.79, 0.32],
        [0.07, 0.75],
        [1.46, -0.20],
        [0.17, 0.46],
        [-1.23, 1.32],
        [-1.07, 1.93],
    ],
    dtype=F64,
)
QUERIES = torch.tensor(
    [
        [-0.23, -1.16],
        [0.51, 0.32],
        [1.49, -0.61],
        [0.11, -0.15],
        [4.30, -0.20],
        [1.92, 0.47],
    ],
    dtype=F64,
)
LABELS = torch.tensor([0, 0, 1, 1, 2, 2])
PROTOTYPES = SUPPORT.reshape(3, 2, 2).mean(1)


def _dist(a, b):
    return float(np.sqrt(((a - b) ** 2).sum() + 1e-6))


def naive_loo_terms(z, y, margin):
    """Leave-one-out Proto-Triplet terms and counts, anchor by anchor."""
    z, y = np.asarray(z), np.asarray(y)
    terms, counts = [], []
    for i in range(len(z)):
        own = [k for k in range(len(z)) if y[k] == y[i] and k != i]
        other = sorted(set(y[y != y[i]].tolist()))
        if not own or not other:
            terms.append(0.0)
            counts.append(0.0)
            continue
        pos = _dist(z[i], z[own].mean(0))
        neg = min(_dist(z[i], z[y == c].mean(0)) for c in other)
        terms.append(max(0.0, pos - neg + margin))
        counts.append(1.0)
    return np.array(terms), np.array(counts)


def test_episodic_reference_value():
    value = proto_triplet(QUERIES, LABELS, PROTOTYPES, torch.arange(3), margin=0.5)
    assert float(value) == pytest.approx(1.150364, rel=1e-5)


def test_episodic_edges():
    # Only the query's own class among the prototypes: no negative, term 0.
    value = proto_triplet(QUERIES[:2], LABELS[:2], PROTOTYPES[:1], torch.tensor([0]))
    assert value.item() == 0.0
    with pytest.raises(ValueError, match="prototype"):
        proto_triplet(QUERIES, LABELS, PROTOTYPES[:2], torch.arange(2))
    with pytest.raises(ValueError, match="margin"):
        proto_triplet(QUERIES, LABELS, PROTOTYPES, torch.arange(3), margin=-1.0)
    weighted = proto_triplet(
        QUERIES, LABELS, PROTOTYPES, torch.arange(3), sample_weight=torch.ones(6)
    )
    assert float(weighted) == pytest.approx(1.150364, rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_loo_matches_per_anchor_loop(seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(11, 3))
    y = rng.integers(0, 4, size=11)  # some classes may have a single row
    w = rng.uniform(0.2, 2.0, size=11)
    terms, counts = naive_loo_terms(z, y, 0.7)
    loss = ProtoTripletLoss(margin=0.7)
    zt, yt = torch.tensor(z), torch.tensor(y)
    got_terms, got_counts = loss.anchor_terms(zt, yt)
    np.testing.assert_allclose(got_terms.numpy(), terms, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_counts.numpy(), counts)
    expected = (w * counts * terms).sum() / max((w * counts).sum(), 1e-300)
    assert float(loss(zt, yt, sample_weight=torch.tensor(w))) == pytest.approx(expected)


def test_proto_triplet_edges():
    z = torch.randn(6, 3, dtype=F64, requires_grad=True)
    loss = ProtoTripletLoss()
    # Single class: no negative prototype.
    value = loss(z, torch.zeros(6, dtype=torch.long))
    assert value.item() == 0.0
    value.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))
    # All-distinct labels: no leave-one-out positive.
    assert loss(z, torch.arange(6)).item() == 0.0
    # Tiny batches.
    assert loss(z[:1], torch.tensor([0])).item() == 0.0
    assert loss(z[:3], torch.tensor([0, 0, 1])).item() >= 0.0
    with pytest.raises(ValueError, match="margin"):
        ProtoTripletLoss(margin=float("nan"))


def test_proto_triplet_gradcheck_and_registry():
    rng = np.random.default_rng(5)
    z = torch.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2])
    assert torch.autograd.gradcheck(lambda x: ProtoTripletLoss(margin=2.0)(x, y), (z,))
    assert torch.autograd.gradcheck(
        lambda x: proto_triplet(x[:4], y[:4], x[4:7], torch.tensor([0, 1, 2])), (z,)
    )
    assert isinstance(get_loss("proto_triplet"), ProtoTripletLoss)
    assert get_loss("proto_triplet", margin=0.2).get_params() == {"margin": 0.2}


def test_icnn_loss_reference_values():
    assert float(ICNNLoss()(SUPPORT, LABELS)) == pytest.approx(0.281862, rel=1e-5)
    both = torch.cat([SUPPORT, QUERIES])
    value = ICNNLoss(r=4)(both, torch.cat([LABELS, LABELS]))
    assert float(value) == pytest.approx(1.088878, rel=1e-5)


def test_icnn_loss_is_minus_log_score_with_weights():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(12, 3))
    y = np.arange(12) % 3
    w = rng.uniform(0.1, 2.0, size=12)
    loss = ICNNLoss(k=3)
    zt, yt, wt = torch.tensor(z), torch.tensor(y), torch.tensor(w)
    assert float(loss(zt, yt)) == pytest.approx(-np.log(icnn_score(z, y, k=3)))
    assert float(loss(zt, yt, sample_weight=wt)) == pytest.approx(
        -np.log(icnn_score(z, y, k=3, sample_weight=w))
    )
    assert float(loss(zt, yt, sample_weight=torch.ones(12, dtype=F64))) == (
        pytest.approx(float(loss(zt, yt)), rel=1e-12)
    )
    zeros = loss(zt, yt, sample_weight=torch.zeros(12, dtype=F64))
    assert float(zeros) == 0.0
    with pytest.raises(ValueError, match="sample_weight"):
        loss(zt, yt, sample_weight=torch.ones(3))
    with pytest.raises(ValueError, match="sample_weight"):
        loss(zt, yt, sample_weight=-torch.ones(12))


def test_icnn_loss_gradcheck():
    rng = np.random.default_rng(7)
    z = torch.tensor(rng.normal(size=(8, 2)), requires_grad=True)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    w = torch.tensor(rng.uniform(0.5, 1.5, size=8))
    assert torch.autograd.gradcheck(lambda x: ICNNLoss(k=2)(x, y), (z,))
    assert torch.autograd.gradcheck(lambda x: ICNNLoss()(x, y, sample_weight=w), (z,))


def test_icnn_loss_edges():
    z = torch.randn(5, 3, requires_grad=True)
    value = ICNNLoss()(z, torch.zeros(5, dtype=torch.long))
    assert value.item() == 0.0  # a single class scores 1
    value.backward()
    assert torch.isfinite(z.grad).all()
    for n in (1, 2, 3):
        value = ICNNLoss()(z[:n], torch.arange(n))
        assert torch.isfinite(value) and value.item() >= 0.0
    assert ICNNLoss()(z[:2], torch.tensor([0, 1])).item() == 0.0
    with pytest.raises(ValueError, match="k must"):
        ICNNLoss(k=0)
    with pytest.raises(ValueError, match="r must"):
        ICNNLoss(k=4, r=3)
    with pytest.raises(TypeError, match="integer"):
        ICNNLoss()(z, torch.zeros(5))
    assert get_loss("icnn", k=2).get_params() == {"k": 2, "r": None}
