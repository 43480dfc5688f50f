"""Betti matching loss and topological metrics: spec §7's reference example,
naive persistence and Betti numbers, gradients, weights and bad input."""

import sys

import numpy as np
import pytest
import torch
from scipy import ndimage

from sklearn_losses.losses import BettiMatchingLoss, get_loss
from sklearn_losses.metrics import (
    betti_matching,
    betti_matching_error,
    betti_number_error,
    betti_numbers,
)

pytest.importorskip("gudhi")

F64 = torch.float64


def _spec_example():
    pred = np.full((8, 8), 0.1)
    pred[1:7, 1:7] = 0.8
    pred[3:5, 3:5] = 0.2
    pred[1:3, 4] = 0.45
    pred[0, 0] = 0.7
    gt = np.zeros((8, 8))
    gt[1:7, 1:7] = 1
    gt[3:5, 3:5] = 0
    return pred, gt


def _logits(p):
    p = torch.as_tensor(p, dtype=F64)
    return torch.log(p) - torch.log1p(-p)


def _ring(n=8):
    ring = np.zeros((n, n))
    ring[1 : n - 1, 1 : n - 1] = 1
    ring[3 : n - 3, 3 : n - 3] = 0
    return ring


def _sorted(bars):
    return sorted(map(tuple, np.round(bars, 12).tolist()))


# -- spec §7 reference example --------------------------------------------------
def test_spec_example_barcodes_and_matching():
    pred, gt = _spec_example()
    m = betti_matching(pred, gt, relative=False)
    assert _sorted(m.pred_bars[0]) == [(0.7, 0.1), (0.8, 0.0)]  # (0.8, -inf)
    assert _sorted(m.pred_bars[1]) == [(0.45, 0.2)]
    assert _sorted(m.target_bars[0]) == [(1.0, 0.0)]
    assert _sorted(m.target_bars[1]) == [(1.0, 0.0)]
    matched0 = [tuple(m.pred_bars[0][i]) for i, _ in m.matched[0]]
    assert matched0 == [(0.8, 0.0)]  # the essential classes
    assert [tuple(m.pred_bars[1][i]) for i, _ in m.matched[1]] == [(0.45, 0.2)]
    assert [tuple(m.pred_bars[0][i]) for i in m.unmatched_pred[0]] == [(0.7, 0.1)]
    assert len(m.unmatched_target[0]) == len(m.unmatched_target[1]) == 0
    assert m.loss() == pytest.approx(1.125, rel=1e-12)  # 0.08 + 0.685 + 0.36
    assert m.loss((0,)) == pytest.approx(0.08 + 0.36, rel=1e-12)


@pytest.mark.parametrize(
    "relative, value, error", [(False, 1.125, 2), (True, 0.965, 1)]
)
def test_spec_example_loss_and_errors(relative, value, error):
    pred, gt = _spec_example()
    assert betti_matching(pred, gt, relative=relative).loss() == pytest.approx(value)
    loss = BettiMatchingLoss(relative=relative)
    got = loss(_logits(pred)[None], torch.tensor(gt)[None])
    assert got.item() == pytest.approx(value, rel=1e-10)
    assert betti_matching_error(gt, pred, relative=relative) == error
    if not relative:
        assert betti_number_error(gt, pred, relative=False) == 2


def test_default_is_relative_superlevel():
    loss = get_loss("betti_matching")
    assert (loss.relative, loss.filtration) == (True, "superlevel")
    pred, gt = _spec_example()
    value = loss(_logits(pred)[None, None], torch.tensor(gt)[None, None])
    assert value.item() == pytest.approx(0.965)


# -- identical masks, a missing hole ------------------------------------------------
@pytest.mark.parametrize("relative", [False, True])
def test_identical_masks_give_zero(relative):
    rng = np.random.default_rng(0)
    for mask in [_ring(), (rng.random((10, 12)) > 0.5).astype(float)]:
        m = betti_matching(mask, mask, relative=relative)
        assert m.loss() == 0.0 and m.n_unmatched() == 0
        assert betti_matching_error(mask, mask, relative=relative) == 0.0
        assert betti_number_error(mask, mask, relative=relative) == 0.0
        logits = torch.tensor(60.0 * (2 * mask - 1))[None]
        value = BettiMatchingLoss(relative=relative)(logits, torch.tensor(mask)[None])
        assert value.item() < 1e-20


def test_missing_hole_is_counted():
    ring = _ring()
    disk = ring.copy()
    disk[3:5, 3:5] = 1
    assert betti_numbers(ring, relative=False) == (1, 1)
    assert betti_numbers(disk, relative=False) == (1, 0)
    assert betti_number_error(ring, disk, relative=False, dimension=1) == 1.0
    assert betti_number_error(ring, disk, relative=False, dimension=0) == 0.0
    assert betti_matching_error(ring, disk, relative=False) == 1.0
    logits = torch.tensor(4.0 * (2 * disk - 1))[None]
    value = BettiMatchingLoss(relative=False)(logits, torch.tensor(ring)[None])
    assert value.item() > 0.9  # the unmatched hole of the mask counts 1


def test_matching_is_location_aware():
    a = np.zeros((7, 7))
    a[1:3, 1:3] = a[1:3, 4:6] = 1
    b = np.zeros((7, 7))
    b[1:3, 1:3] = b[4:6, 4:6] = 1
    assert betti_number_error(a, b, relative=False) == 0.0
    assert betti_matching_error(a, b, relative=False) == 2.0  # one bar each
    assert betti_matching_error(a, a, relative=False) == 0.0


def test_empty_prediction_leaves_every_target_bar_unmatched():
    ring = _ring()
    m = betti_matching(np.zeros_like(ring), ring, relative=False)
    assert [len(b) for b in m.pred_bars] == [0, 0]
    assert m.n_unmatched() == 2 and m.loss() == 2.0


def test_constant_image_has_one_essential_class():
    m = betti_matching(np.full((5, 5), 0.3), np.ones((5, 5)), relative=False)
    assert m.pred_bars[0].tolist() == [[0.3, 0.0]] and len(m.pred_bars[1]) == 0
    assert m.loss() == pytest.approx(2 * 0.7**2)


# -- naive persistence and Betti numbers -----------------------------------------------
def _naive_dim0(img):
    """Bars of dimension 0 of the superlevel filtration (4-neighbours), by a
    plain union-find with the elder rule, zero-length bars dropped."""
    h, w = img.shape
    order = sorted(range(h * w), key=lambda p: -img.flat[p])
    parent, birth, present, bars = {}, {}, set(), []

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for p in order:
        parent[p], birth[p] = p, img.flat[p]
        present.add(p)
        i, j = divmod(p, w)
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            q = (i + di) * w + (j + dj)
            if 0 <= i + di < h and 0 <= j + dj < w and q in present:
                a, b = find(p), find(q)
                if a == b:
                    continue
                young, old = (a, b) if birth[a] < birth[b] else (b, a)
                if birth[young] > img.flat[p]:
                    bars.append((birth[young], img.flat[p]))
                parent[young] = old
    bars.append((img.max(), 0.0))
    return sorted(bars)


def _naive_betti(mask):
    """Betti numbers: 4-connected foreground components and 8-connected
    background components that do not reach the border."""
    b0 = ndimage.label(mask, structure=ndimage.generate_binary_structure(2, 1))[1]
    labels, n = ndimage.label(1 - mask, structure=np.ones((3, 3)))
    border = set(
        np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    )
    b1 = len(set(range(1, n + 1)) - border)
    return b0, b1


def test_dimension0_barcode_equals_naive_union_find():
    rng = np.random.default_rng(1)
    for shape in [(1, 5), (4, 4), (6, 9), (9, 7)]:
        img = np.round(rng.random(shape), 2)  # ties included
        m = betti_matching(img, img, relative=False)
        assert _sorted(m.pred_bars[0]) == _sorted(_naive_dim0(img))


@pytest.mark.parametrize("seed", range(4))
def test_betti_numbers_equal_scipy_labels(seed):
    rng = np.random.default_rng(seed)
    mask = (rng.random((9, 11)) > 0.45).astype(float)
    assert betti_numbers(mask, relative=False) == _naive_betti(mask)
    framed = np.pad(mask, 1, constant_values=mask.max())
    assert betti_numbers(mask, relative=True) == _naive_betti(framed)


def test_dimension1_barcode_counts_holes_at_every_threshold():
    rng = np.random.default_rng(2)
    img = np.round(rng.random((8, 8)), 2)
    m = betti_matching(img, img, relative=False)
    for t in np.unique(img):
        alive = [(b >= t > d) for b, d in m.pred_bars[1]]
        assert sum(alive) == _naive_betti((img >= t).astype(float))[1]


@pytest.mark.parametrize("seed", range(3))
def test_matching_error_bounds_betti_number_error(seed):
    rng = np.random.default_rng(seed)
    a = (rng.random((5, 12, 12)) > 0.5).astype(float)
    b = (rng.random((5, 12, 12)) > 0.5).astype(float)
    for rel in (False, True):
        for dim in (None, 0, 1):
            bm = betti_matching_error(a, b, relative=rel, dimension=dim)
            assert bm >= betti_number_error(a, b, relative=rel, dimension=dim)
        per_image = [betti_matching_error(x, y, relative=rel) for x, y in zip(a, b)]
        assert betti_matching_error(a, b, relative=rel) == pytest.approx(
            np.mean(per_image)
        )
        # symmetric on masks, and equal to the loss's formula on binarised maps
        assert betti_matching_error(b, a, relative=rel) == betti_matching_error(
            a, b, relative=rel
        )
        assert betti_matching(a[0], b[0], relative=rel).loss() == betti_matching_error(
            b[0], a[0], relative=rel
        )


# -- the loss: gradient, weights, filtrations ----------------------------------------
def test_gradient_equals_finite_differences():
    rng = np.random.default_rng(3)
    z = torch.tensor(rng.normal(size=(2, 7, 7)) * 2, dtype=F64, requires_grad=True)
    y = torch.tensor(rng.random((2, 7, 7)) > 0.5, dtype=F64)
    loss = BettiMatchingLoss(relative=False)
    loss(z, y).backward()
    grad = z.grad.numpy()
    critical = np.argwhere(grad != 0)
    assert len(critical) > 4
    others = np.argwhere(grad == 0)[:5]
    eps = 1e-6
    for idx in [*map(tuple, critical), *map(tuple, others)]:
        zp, zm = z.detach().clone(), z.detach().clone()
        zp[idx] += eps
        zm[idx] -= eps
        fd = (loss(zp, y) - loss(zm, y)).item() / (2 * eps)
        assert fd == pytest.approx(grad[idx], rel=1e-5, abs=1e-8)


def test_gradient_reaches_the_frame_through_the_maximum():
    pred, gt = _spec_example()
    z = _logits(pred)[None].requires_grad_()
    BettiMatchingLoss(relative=True)(z, torch.tensor(gt)[None]).backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_sample_weights_and_reductions():
    rng = np.random.default_rng(4)
    z = torch.tensor(rng.normal(size=(3, 6, 6)), dtype=F64)
    y = torch.tensor(rng.random((3, 6, 6)) > 0.5, dtype=F64)
    terms = BettiMatchingLoss(reduction="none")(z, y)
    each = [BettiMatchingLoss()(z[i : i + 1], y[i : i + 1]).item() for i in range(3)]
    assert terms.tolist() == pytest.approx(each)
    w = torch.tensor([1.0, 0.0, 3.0], dtype=F64)
    value = BettiMatchingLoss()(z, y, sample_weight=w)
    assert value.item() == pytest.approx((each[0] + 3 * each[2]) / 4)
    assert BettiMatchingLoss()(z, y, sample_weight=torch.ones(3, dtype=F64)).item() == (
        pytest.approx(np.mean(each))
    )
    assert BettiMatchingLoss(reduction="sum")(z, y).item() == pytest.approx(sum(each))
    empty = BettiMatchingLoss()(z[:0], y[:0])
    assert empty.item() == 0.0


def test_sublevel_is_superlevel_of_complements_and_bothlevel_sums():
    rng = np.random.default_rng(5)
    z = torch.tensor(rng.normal(size=(2, 6, 6)), dtype=F64)
    y = torch.tensor(rng.random((2, 6, 6)) > 0.5, dtype=F64)
    for rel in (False, True):
        sup = BettiMatchingLoss(relative=rel)(z, y)
        sub = BettiMatchingLoss(relative=rel, filtration="sublevel")(z, y)
        assert sub.item() == pytest.approx(
            BettiMatchingLoss(relative=rel)(-z, 1 - y).item()
        )
        both = BettiMatchingLoss(relative=rel, filtration="bothlevel")(z, y)
        assert both.item() == pytest.approx(sup.item() + sub.item())


def test_channel_axis_and_float32():
    pred, gt = _spec_example()
    z = _logits(pred).float()[None, None]
    value = BettiMatchingLoss()(z, torch.tensor(gt, dtype=torch.float32)[None, None])
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(0.965, rel=1e-5)


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda z, y: (z, y * 0.5), "target must be a binary mask"),
        (lambda z, y: (z, y[:, :, :-1]), "same shape"),
        (lambda z, y: (z.flatten(1), y.flatten(1)), r"\(B, H, W\)"),
        (lambda z, y: (z.index_fill(1, torch.tensor([0]), float("nan")), y), "NaN"),
        (lambda z, y: (z, y.long()), "target must be a floating-point"),
        (lambda z, y: (z.long(), y), "input must be a floating-point"),
    ],
)
def test_loss_bad_input(make, match):
    z, y = torch.zeros(2, 4, 4, dtype=F64), torch.ones(2, 4, 4, dtype=F64)
    with pytest.raises((ValueError, TypeError), match=match):
        BettiMatchingLoss()(*make(z, y))


@pytest.mark.parametrize(
    "params, match",
    [({"relative": "yes"}, "relative"), ({"filtration": "up"}, "filtration")],
)
def test_loss_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        BettiMatchingLoss(**params)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"y_true": np.full((4, 4), 0.5)}, "y_true must be a binary mask"),
        ({"y_pred": np.ones((4, 5))}, "same shape"),
        ({"y_pred": np.full((4, 4), np.nan)}, "y_pred must be finite"),
        ({"y_true": np.ones((2, 2, 4, 4))}, "y_true must hold images"),
        ({"y_true": np.array([["a"]])}, "y_true must be a numeric"),
        ({"dimension": 2}, "dimension"),
        ({"threshold": "half"}, "threshold"),
    ],
)
@pytest.mark.parametrize("metric", [betti_matching_error, betti_number_error])
def test_metric_bad_input(metric, kwargs, match):
    args = {"y_true": np.ones((4, 4)), "y_pred": np.ones((4, 4)), **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        metric(**args)


def test_betti_matching_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        betti_matching(np.ones((3, 3)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="pred must be finite"):
        betti_matching(np.full((3, 3), np.inf), np.ones((3, 3)))
    with pytest.raises(ValueError, match="one 2-D image"):
        betti_matching(np.ones((2, 3, 3)), np.ones((2, 3, 3)))


def test_missing_gudhi_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gudhi", None)  # import gudhi fails
    z, y = torch.zeros(1, 4, 4), torch.ones(1, 4, 4)
    for call in (
        lambda: BettiMatchingLoss()(z, y),
        lambda: betti_matching(np.ones((3, 3)), np.ones((3, 3))),
        lambda: betti_matching_error(np.ones((3, 3)), np.ones((3, 3))),
        lambda: betti_numbers(np.ones((3, 3))),
    ):
        with pytest.raises(ImportError, match=r"sklearn-losses\[topology\]"):
            call()
