"""Multi-similarity loss and miner: spec values, pytorch-metric-learning, weights."""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone

from sklearn_losses.losses import get_loss
from sklearn_losses.losses._embedding import pair_masks
from sklearn_losses.losses.multi_similarity import (
    MultiSimilarityLoss,
    MultiSimilarityMiner,
)

X = torch.tensor(
    [
        [0.19, -0.20, 0.95, 0.16],
        [-0.31, 0.21, 0.75, 0.55],
        [-0.45, -0.80, -0.40, 0.03],
        [-0.85, -0.08, -0.45, -0.27],
        [-0.42, -0.25, 0.32, 0.81],
        [-0.08, 0.87, -0.42, 0.22],
        [0.61, 0.06, -0.50, -0.62],
        [-0.40, 0.19, -0.88, -0.18],
    ],
    dtype=torch.float64,
)
Y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])


def approx(value, expected, rel=1e-5):
    return value == pytest.approx(expected, rel=rel, abs=1e-12)


@pytest.mark.parametrize(
    ("base", "mined", "all_pairs"),
    [(1.0, 0.533969, 0.770510), (0.5, 0.451864, 0.576431)],
)
def test_reference_values(base, mined, all_pairs):
    assert approx(MultiSimilarityLoss(base=base)(X, Y).item(), mined)
    assert approx(MultiSimilarityLoss(base=base, miner=None)(X, Y).item(), all_pairs)


def test_reference_mined_pairs():
    a1, p, a2, n = MultiSimilarityMiner().mine(X, Y)
    assert (len(a1), len(p), len(a2), len(n)) == (5, 5, 13, 13)
    assert torch.all(Y[a1] == Y[p]) and torch.all(Y[a2] != Y[n])


def test_reference_single_class_and_distinct_labels():
    one = torch.zeros(8, dtype=torch.long)
    assert approx(MultiSimilarityLoss(miner=None)(X, one).item(), 1.779399)
    assert MultiSimilarityLoss()(X, one).item() == 0.0
    assert MultiSimilarityLoss()(X, torch.arange(8)).item() == 0.0


def test_reference_random_data():
    z = torch.tensor(np.random.default_rng(0).normal(size=(8, 4)))
    assert approx(MultiSimilarityLoss(base=1.0)(z, Y).item(), 0.531824)


def test_miner_masks_conditions():
    s = F.normalize(X, dim=1) @ F.normalize(X, dim=1).T
    pos, neg = pair_masks(Y)
    keep_pos, keep_neg = MultiSimilarityMiner(0.1)(s, pos, neg)
    for i in range(8):
        hard_pos = s[i][pos[i]].min()
        hard_neg = s[i][neg[i]].max()
        for k in range(8):
            assert keep_pos[i, k] == (bool(pos[i, k]) and s[i, k] < hard_neg + 0.1)
            assert keep_neg[i, k] == (bool(neg[i, k]) and s[i, k] > hard_pos - 0.1)
    # an anchor without positives (or negatives) keeps nothing
    y = torch.tensor([0, 0, 1, 1, 2, 2, 3, 4])
    keep_pos, keep_neg = MultiSimilarityMiner(5.0)(s, *pair_masks(y))
    assert not keep_pos[6:].any() and not keep_neg[6:].any()
    assert keep_neg[:6].any()


def _batches():
    gen = torch.Generator().manual_seed(0)
    for labels in (
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        [0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 5],  # anchors without positives
        [0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2],
    ):
        z = torch.randn(len(labels), 5, generator=gen, dtype=torch.float64)
        yield z, torch.tensor(labels)


@pytest.mark.parametrize("mined", [True, False])
@pytest.mark.parametrize("case", range(3))
def test_matches_pytorch_metric_learning(mined, case):
    pml_losses = pytest.importorskip("pytorch_metric_learning.losses")
    pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
    z, y = list(_batches())[case]
    ours_z = z.clone().requires_grad_(True)
    theirs_z = z.clone().requires_grad_(True)
    miner = MultiSimilarityMiner(0.1) if mined else None
    ours = MultiSimilarityLoss(alpha=2.0, beta=50.0, base=0.5, miner=miner)(ours_z, y)
    reference = pml_losses.MultiSimilarityLoss(alpha=2, beta=50, base=0.5)
    if mined:
        pairs = pml_miners.MultiSimilarityMiner(epsilon=0.1)(theirs_z, y)
        assert all(len(t) > 1 for t in pairs)  # away from PML's zero-loss quirk
        theirs = reference(theirs_z, y, pairs)
    else:
        theirs = reference(theirs_z, y)
    ours.backward()
    theirs.backward()
    assert approx(ours.item(), theirs.item(), rel=1e-10)
    torch.testing.assert_close(ours_z.grad, theirs_z.grad, rtol=1e-8, atol=1e-12)


def test_mine_matches_pytorch_metric_learning():
    pml_miners = pytest.importorskip("pytorch_metric_learning.miners")
    for z, y in _batches():
        ours = MultiSimilarityMiner(0.2).mine(z, y)
        theirs = pml_miners.MultiSimilarityMiner(epsilon=0.2)(z, y)
        for (a, b), (c, d) in ((ours[:2], theirs[:2]), (ours[2:], theirs[2:])):
            assert sorted(zip(a.tolist(), b.tolist())) == sorted(
                zip(c.tolist(), d.tolist())
            )


@pytest.mark.parametrize("miner", [MultiSimilarityMiner(), None])
def test_gradcheck(miner):
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(6, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    loss = MultiSimilarityLoss(alpha=2.0, beta=5.0, miner=miner)
    assert torch.autograd.gradcheck(lambda e: loss(e, y), (z,))


def test_sample_weight_is_anchor_weight():
    loss = MultiSimilarityLoss()
    terms, _ = loss.anchor_terms(X, Y)
    assert approx(loss(X, Y, sample_weight=torch.ones(8)).item(), loss(X, Y).item())
    w = torch.tensor([2, 0, 1, 3, 1, 1, 0, 1], dtype=torch.float64)
    expected = (terms.repeat_interleave(w.long())).mean()
    assert approx(loss(X, Y, sample_weight=w).item(), expected.item(), rel=1e-10)


def test_no_positive_pair_gives_zero_with_finite_grads():
    z = X.clone().requires_grad_(True)
    value = MultiSimilarityLoss()(z, torch.arange(8))
    value.backward()
    assert value.item() == 0.0
    assert torch.isfinite(z.grad).all() and z.grad.abs().max() == 0


def test_soft_terms_reference():
    a = F.normalize(torch.tensor([[1.0, 0.2, 0.0]], dtype=torch.float64), dim=1)
    p = F.normalize(torch.tensor([[0.9, 0.3, 0.1]], dtype=torch.float64), dim=1)
    n = F.normalize(torch.tensor([[0.2, 1.0, 0.1]], dtype=torch.float64), dim=1)
    v = F.normalize(0.7 * p + 0.3 * n, dim=1)
    loss = MultiSimilarityLoss(alpha=2.0, beta=50.0, base=0.5)
    terms, counts = loss.soft_terms(
        a, v, torch.tensor([[0.7]], dtype=torch.float64), torch.tensor([[0.3]])
    )
    assert approx(terms.item(), 0.517280)
    assert counts.item() == 1.0


def test_soft_terms_with_hard_weights_is_the_unmined_loss():
    loss = MultiSimilarityLoss(miner=None)
    pos, neg = pair_masks(Y)
    terms, counts = loss.soft_terms(X, X, pos.double(), neg.double())
    assert approx(
        (terms * counts).sum().item() / counts.sum().item(), loss(X, Y).item()
    )
    assert MultiSimilarityLoss.soft_labels


def test_params_registry_and_validation():
    assert get_loss("ms").__class__ is MultiSimilarityLoss
    assert get_loss("multi_similarity", beta=10.0).beta == 10.0
    loss = MultiSimilarityLoss()
    assert set(loss.get_params()) == {"alpha", "beta", "base", "miner"}
    assert loss.miner is not MultiSimilarityLoss().miner  # own copy of the default
    assert isinstance(clone(loss).miner, MultiSimilarityMiner)
    with pytest.raises(ValueError, match="beta"):
        MultiSimilarityLoss(beta=0.0)
    with pytest.raises(ValueError, match="alpha"):
        MultiSimilarityLoss(alpha=-1.0)
    with pytest.raises(TypeError, match="miner"):
        MultiSimilarityLoss(miner="ms")
    restored = pickle.loads(pickle.dumps(MultiSimilarityLoss(miner=None)))
    assert restored.miner is None


def test_miner_params():
    miner = MultiSimilarityMiner(0.2)
    assert miner.get_params() == {"epsilon": 0.2}
    assert repr(miner) == "MultiSimilarityMiner(epsilon=0.2)"
    assert miner.set_params(epsilon=0.3) is miner and miner.epsilon == 0.3
    with pytest.raises(ValueError, match="epsilon"):
        miner.set_params(eps=0.1)
    with pytest.raises(ValueError, match="epsilon"):
        MultiSimilarityMiner(epsilon=float("nan"))
    assert pickle.loads(pickle.dumps(miner)).epsilon == 0.3
    # a deep copy with new parameters, as an estimator sets loss__miner__epsilon
    loss = MultiSimilarityLoss(miner=miner)
    other = copy.deepcopy(loss)
    other.miner.set_params(epsilon=0.0)
    assert loss.miner.epsilon == 0.3
    assert other(X, Y).item() != loss(X, Y).item()


def test_precomputed_pairs_callable():
    s = F.normalize(X, dim=1) @ F.normalize(X, dim=1).T
    kept = MultiSimilarityMiner()(s, *pair_masks(Y))
    loss = MultiSimilarityLoss(miner=lambda sim, pos, neg: kept)
    assert approx(loss(X, Y).item(), 0.451864)


def test_bad_input():
    with pytest.raises(ValueError, match="target"):
        MultiSimilarityLoss()(X, Y[:3])
    with pytest.raises(TypeError, match="target"):
        MultiSimilarityLoss()(X, Y.double())
