"""GroCo: reference values, a naive per-anchor loop, gradients, weights, edges."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_losses.losses import get_loss, get_loss_class
from sklearn_losses.losses._embedding import pair_masks, reduce_anchors
from sklearn_losses.losses.groco import GroCoLoss, groco_loss
from sklearn_losses.modules.diffsort import DISTRIBUTIONS


# -- numpy reference (odd-even network, cauchy swaps) ----------------------------
def relaxed_odd_even(x, beta):
    n = len(x)
    x = np.asarray(x, dtype=float).copy()
    P = np.eye(n)
    for layer in range(n):
        for a in range(layer % 2, n - 1, 2):
            al = np.arctan(beta * (x[a + 1] - x[a])) / np.pi + 0.5
            lo = al * x[a] + (1 - al) * x[a + 1]
            hi = (1 - al) * x[a] + al * x[a + 1]
            x[a], x[a + 1] = lo, hi
            ca, cb = P[:, a].copy(), P[:, a + 1].copy()
            P[:, a], P[:, a + 1] = al * ca + (1 - al) * cb, (1 - al) * ca + al * cb
    return x, P


def numpy_groco(neg, pos, beta):
    v = np.r_[np.sort(neg), np.sort(pos)]
    _, P = relaxed_odd_even(v, beta)
    k = len(neg)
    pp, pn = np.clip(P[:, k:].sum(1), 0, 1), np.clip(P[:, :k].sum(1), 0, 1)
    t = np.r_[np.zeros(k), np.ones(len(pos))]

    def bce(p, t):
        p = np.clip(p, 1e-12, 1)
        q = np.clip(1 - p, 1e-12, 1)
        return -(t * np.log(p) + (1 - t) * np.log(q)).mean()

    return 0.5 * (bce(pp, t) + bce(pn, 1 - t))


def naive_terms(z, y, topk_neg, max_pos, beta):
    """Per-anchor loop: (terms, has_pairs) with numpy."""
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    sims = z @ z.T
    terms, valid = [], []
    for i in range(len(y)):
        others = np.arange(len(y)) != i
        pos = np.sort(sims[i, others & (y == y[i])])[:max_pos]
        neg = np.sort(sims[i, y != y[i]])[::-1][:topk_neg]
        if len(pos) and len(neg):
            terms.append(numpy_groco(neg, pos, beta))
            valid.append(True)
        else:
            terms.append(0.0)
            valid.append(False)
    return np.array(terms), np.array(valid)


def batch(sizes, d=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    y = torch.cat([torch.full((s,), c) for c, s in enumerate(sizes)])
    z = torch.randn(len(y), d, generator=gen, dtype=dtype)
    return z, y


# -- reference values ------------------------------------------------------------
@pytest.mark.parametrize(
    "steepness, expected", [(1.0, 0.4272172), (5.0, 0.3758876), (10.0, 0.3958429)]
)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_reference_values(steepness, expected, dtype):
    pos = torch.tensor([0.4, 0.9], dtype=dtype)
    neg = torch.tensor([0.1, 0.3, 0.5], dtype=dtype)
    value = groco_loss(pos, neg, steepness=steepness)
    assert value.dtype == dtype
    assert value.item() == pytest.approx(expected, rel=1e-5)
    # Any order inside the groups: the loss sorts them first.
    shuffled = groco_loss(pos.flip(0), neg[[2, 0, 1]], steepness=steepness)
    assert shuffled.item() == pytest.approx(expected, rel=1e-5)


def test_groco_loss_batched_rows_and_reduction():
    gen = torch.Generator().manual_seed(0)
    pos = torch.rand(4, 3, generator=gen, dtype=torch.float64)
    neg = torch.rand(4, 5, generator=gen, dtype=torch.float64)
    terms = groco_loss(pos, neg, steepness=2.0, reduction="none")
    assert terms.shape == (4,)
    for a in range(4):
        expected = numpy_groco(neg[a].numpy(), pos[a].numpy(), 2.0)
        assert terms[a].item() == pytest.approx(expected, rel=1e-10)
    torch.testing.assert_close(groco_loss(pos, neg, steepness=2.0), terms.mean())
    empty = groco_loss(pos[:, :0], neg, reduction="none")
    assert empty.shape == (4,) and bool((empty == 0).all())


# -- the embedding loss ----------------------------------------------------------
@pytest.mark.parametrize(
    "sizes, topk_neg, max_pos",
    [([3, 3, 3, 3], 10, 10), ([2, 3, 5, 1], 4, 2), ([4, 2, 6], None, None)],
)
def test_equals_naive_loop(sizes, topk_neg, max_pos):
    z, y = batch(sizes, seed=len(sizes))
    loss = GroCoLoss(topk_neg=topk_neg, max_pos=max_pos, steepness=2.0)
    terms, counts = loss.anchor_terms(z, y)
    ref, valid = naive_terms(z.numpy(), y.numpy(), topk_neg, max_pos, 2.0)
    np.testing.assert_allclose(terms.numpy(), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(counts.numpy(), valid.astype(float))
    assert loss(z, y).item() == pytest.approx(ref[valid].mean(), rel=1e-10)


def test_buckets_of_different_lengths():
    # Classes of 2, 4 and 7 rows and no caps: lengths 12, 12, 11 per class
    # differ by class size; caps of 3 negatives make 4, 6 and 9.
    z, y = batch([2, 4, 7], seed=3)
    loss = GroCoLoss(topk_neg=3, max_pos=None, steepness=1.0)
    terms, counts = loss.anchor_terms(z, y)
    zn = F.normalize(z, dim=1)
    sims = zn @ zn.T
    for i in range(len(y)):
        others = torch.arange(len(y)) != i
        pos = sims[i, others & (y == y[i])]
        neg = sims[i, y != y[i]].topk(3).values
        assert terms[i].item() == pytest.approx(groco_loss(pos, neg).item(), rel=1e-10)
    assert bool((counts == 1).all())


def test_gradcheck():
    z, y = batch([2, 2, 3], d=3, seed=5)
    z.requires_grad_()
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 0.0, 3.0, 1.0], dtype=torch.float64)
    loss = GroCoLoss(topk_neg=3, max_pos=2, steepness=2.0, stop_grad=False)
    assert torch.autograd.gradcheck(lambda z: loss(z, y, sample_weight=w), (z,))


def test_gradcheck_stop_grad():
    # With stop_grad the gradient is the derivative along the anchors only,
    # the candidates held fixed.
    z, y = batch([2, 2, 3], d=3, seed=5)
    w = torch.tensor([1.0, 2.0, 0.5, 1.0, 0.0, 3.0, 1.0], dtype=torch.float64)
    loss = GroCoLoss(topk_neg=3, max_pos=2, steepness=2.0, stop_grad=True)
    positive, negative = pair_masks(y)

    def along_anchors(a):
        terms, counts = loss._terms(a, z, positive, negative)
        return reduce_anchors(terms, counts, w)

    anchors = z.clone().requires_grad_()
    assert torch.autograd.gradcheck(along_anchors, (anchors,))
    (expected,) = torch.autograd.grad(along_anchors(anchors), anchors)
    rows = z.clone().requires_grad_()
    loss(rows, y, sample_weight=w).backward()
    torch.testing.assert_close(rows.grad, expected)


def test_stop_grad_keeps_value_and_routes_gradients_through_the_anchor():
    z, y = batch([3, 3, 3], seed=6)
    a = z.clone().requires_grad_()
    b = z.clone().requires_grad_()
    only_first = torch.zeros(9, dtype=torch.float64)
    only_first[0] = 1.0
    va = GroCoLoss(stop_grad=True)(a, y, sample_weight=only_first)
    vb = GroCoLoss(stop_grad=False)(b, y, sample_weight=only_first)
    torch.testing.assert_close(va, vb)
    va.backward()
    vb.backward()
    # Anchor 0 alone: with stop_grad only row 0 receives a gradient.
    assert a.grad[0].abs().sum() > 0 and bool((a.grad[1:] == 0).all())
    assert b.grad[1:].abs().sum() > 0


def test_weights():
    z, y = batch([3, 2, 4], seed=7)
    loss = GroCoLoss(topk_neg=4, max_pos=2)
    terms, _ = loss.anchor_terms(z, y)
    ones = torch.ones(9, dtype=torch.float64)
    torch.testing.assert_close(loss(z, y, sample_weight=ones), loss(z, y))
    w = torch.tensor([0.0, 1.0, 2.0, 3.0, 1.0, 0.5, 0.0, 1.0, 2.0], dtype=torch.float64)
    expected = (w * terms).sum() / w.sum()
    torch.testing.assert_close(loss(z, y, sample_weight=w), expected)
    # An integer weight is the anchor repeated.
    assert loss(z, y, sample_weight=2 * ones).item() == pytest.approx(loss(z, y).item())


@pytest.mark.parametrize("labels", [[0, 1, 2, 3], [5, 5, 5, 5], [0]])
def test_batch_without_pairs_gives_zero(labels):
    y = torch.tensor(labels)
    z = torch.randn(len(labels), 3, requires_grad=True)
    value = GroCoLoss()(z, y)
    value.backward()
    assert value.item() == 0.0
    assert bool(torch.isfinite(z.grad).all()) and bool((z.grad == 0).all())


def test_anchors_without_positive_count_zero():
    z, y = batch([3, 1, 3], seed=8)
    terms, counts = GroCoLoss().anchor_terms(z, y)
    assert counts.tolist() == [1, 1, 1, 0, 1, 1, 1]
    assert terms[3].item() == 0.0


def test_separated_inputs_give_a_smaller_loss():
    gen = torch.Generator().manual_seed(9)
    y = torch.arange(4).repeat_interleave(4)
    centres = F.normalize(torch.randn(4, 8, generator=gen, dtype=torch.float64), dim=1)
    noise = torch.randn(16, 8, generator=gen, dtype=torch.float64)
    separated = centres[y] + 0.05 * noise
    mixed = noise
    for steepness in (1.0, 5.0):
        loss = GroCoLoss(steepness=steepness)
        assert loss(separated, y).item() < loss(mixed, y).item()


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
@pytest.mark.parametrize("network", ["odd_even", "bitonic"])
def test_networks_and_distributions_finite(network, distribution):
    z, y = batch([3, 4, 2], seed=10, dtype=torch.float32)
    z.requires_grad_()
    value = GroCoLoss(network=network, distribution=distribution, steepness=5.0)(z, y)
    value.backward()
    assert torch.isfinite(value) and bool(torch.isfinite(z.grad).all())
    ref = GroCoLoss(network=network, distribution=distribution, steepness=5.0)(
        z.detach().double(), y
    )
    assert value.item() == pytest.approx(ref.item(), rel=1e-4)


def test_scale_invariant_and_float32_extremes():
    z, y = batch([3, 3], seed=11, dtype=torch.float32)
    loss = GroCoLoss(steepness=1e4)
    big = (z * 1e4).requires_grad_()
    value = loss(big, y)
    value.backward()
    assert torch.isfinite(value) and bool(torch.isfinite(big.grad).all())
    assert value.item() == pytest.approx(loss(z, y).item(), rel=1e-4)


# -- registry and parameters -----------------------------------------------------
def test_registry_and_params():
    assert get_loss_class("groco") is GroCoLoss
    loss = get_loss("groco", topk_neg=5, steepness=2.0)
    assert isinstance(loss, GroCoLoss)
    params = loss.get_params()
    assert params == {
        "art_lambda": 0.25,
        "distribution": "cauchy",
        "max_pos": 10,
        "network": "odd_even",
        "steepness": 2.0,
        "stop_grad": True,
        "topk_neg": 5,
    }
    assert GroCoLoss(**params).get_params() == params
    assert GroCoLoss.tasks == frozenset({"embedding"})


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"topk_neg": 0}, ValueError, "topk_neg must be an int >= 1 or None"),
        ({"max_pos": 2.5}, ValueError, "max_pos must be an int >= 1 or None"),
        ({"steepness": -1.0}, ValueError, "steepness must be a finite number > 0"),
        ({"distribution": "softmax"}, ValueError, "distribution must be one of"),
        ({"network": "bubble"}, ValueError, "network must be one of"),
        ({"art_lambda": float("nan")}, ValueError, "art_lambda must be"),
        ({"stop_grad": "yes"}, TypeError, "stop_grad must be a bool"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        GroCoLoss(**kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="one row per anchor"):
        groco_loss(torch.zeros(2, 3), torch.zeros(3, 3))
    with pytest.raises(TypeError, match="pos must be a floating torch.Tensor"):
        groco_loss([0.1], torch.zeros(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        groco_loss(torch.zeros(2), torch.zeros(2), reduction="sum")
    with pytest.raises(ValueError, match="one label per embedding"):
        GroCoLoss()(torch.zeros(3, 2), torch.tensor([0, 1]))
