"""The ICNN score: spec reference values, a per-anchor loop, weights, gradients."""

import numpy as np
import pytest
import torch

from sklearn_losses.metrics._icnn import icnn_score

# Spec §2 inputs.
SUPPORT = np.array(
    [
        [0.79, 0.32],
        [0.07, 0.75],
        [1.46, -0.20],
        [0.17, 0.46],
        [-1.23, 1.32],
        [-1.07, 1.93],
    ]
)
QUERIES = np.array(
    [
        [-0.23, -1.16],
        [0.51, 0.32],
        [1.49, -0.61],
        [0.11, -0.15],
        [4.30, -0.20],
        [1.92, 0.47],
    ]
)
LABELS = np.array([0, 0, 1, 1, 2, 2])
PROTOTYPES = SUPPORT.reshape(3, 2, 2).mean(1)


def naive_icnn(origin, y_origin, target=None, y_target=None, k=4, r=None, w=None):
    """The score anchor by anchor, from the formulas (float64)."""
    same_set = target is None
    target = origin if same_set else target
    y_target = y_origin if same_set else y_target
    n_b = len(target)
    if n_b <= 2:
        return 1.0
    force = k + 2 >= n_b
    k = n_b - 2 if force else k
    r = k + 1 if r is None else min(r, n_b - 1)
    w = np.ones(len(origin)) if w is None else np.asarray(w, float)
    intra, inter, gam, w_s, w_d, d_rows, diff_rows = [], [], [], [], [], [], []
    for i, a in enumerate(origin):
        d = np.sqrt(((target - a) ** 2).sum(1) + 1e-6)
        order = list(np.argsort(d, kind="stable"))
        if same_set:
            order.remove(i)
            order = [i] + order
        nbr = order[1 : r + 1]
        dist = d[nbr]
        same = np.array([y_target[j] == y_origin[i] for j in nbr])
        others = dist[~same]
        delta = others.min() if len(others) else np.inf
        rho = dist[:k] / (delta + 1e-7)
        rho = rho / max(1.0, rho.max())
        s_k = same[:k]
        n_s, n_d = s_k.sum(), (~s_k).sum()
        intra.append((rho * s_k).sum() / (n_s + 1e-7))
        w_s.append(w[i] if n_s else 0.0)
        w_d.append(w[i] if n_d else 0.0)
        d_rows.append(dist[:k] * ~s_k)
        diff_rows.append(n_d)
        gam.append(n_s / k)
    d_all = np.array(d_rows)
    d_hat = d_all / (d_all.max() + 1e-7)
    for i in range(len(origin)):
        inter.append(d_hat[i].sum() / (diff_rows[i] + 1e-7))
    w_s, w_d = np.array(w_s), np.array(w_d)
    lam_intra = 1 - (w_s * intra).sum() / (w_s.sum() + 1e-7)
    lam_inter = (w_d * inter).sum() / (w_d.sum() + 1e-7) if w_d.sum() > 0 else 1.0
    gamma = 1.0 if force else (w * gam).sum() / w.sum()
    return ((lam_intra + lam_inter) / 2 + gamma) / 2


def test_spec_reference_values():
    assert icnn_score(SUPPORT, LABELS) == pytest.approx(0.754378, rel=1e-5)
    assert -np.log(icnn_score(SUPPORT, LABELS)) == pytest.approx(0.281862, rel=1e-5)
    both = icnn_score(np.vstack([SUPPORT, QUERIES]), np.r_[LABELS, LABELS], r=4)
    assert both == pytest.approx(0.336594, rel=1e-5)
    assert -np.log(both) == pytest.approx(1.088878, rel=1e-5)
    to_protos = icnn_score(QUERIES, LABELS, PROTOTYPES, [0, 1, 2])
    assert to_protos == pytest.approx(0.745539, rel=1e-5)


def test_naive_reference_values():
    assert naive_icnn(SUPPORT, LABELS) == pytest.approx(0.754378, rel=1e-5)
    assert naive_icnn(QUERIES, LABELS, PROTOTYPES, [0, 1, 2]) == pytest.approx(
        0.745539, rel=1e-5
    )


@pytest.mark.parametrize(
    "n, n_classes, k, r, dim", [(12, 3, 4, None, 3), (20, 4, 3, 6, 2), (9, 2, 2, 2, 4)]
)
def test_matches_per_anchor_loop(n, n_classes, k, r, dim):
    rng = np.random.default_rng(n)
    z = rng.normal(size=(n, dim))
    y = rng.permutation(np.arange(n) % n_classes)
    w = rng.uniform(0.1, 2.0, size=n)
    assert icnn_score(z, y, k=k, r=r) == pytest.approx(naive_icnn(z, y, k=k, r=r))
    assert icnn_score(z, y, k=k, r=r, sample_weight=w) == pytest.approx(
        naive_icnn(z, y, k=k, r=r, w=w)
    )
    t = rng.normal(size=(n - 3, dim))
    yt = np.arange(n - 3) % n_classes
    assert icnn_score(z, y, t, yt, k=k, r=r) == pytest.approx(
        naive_icnn(z, y, t, yt, k=k, r=r)
    )


def test_torch_matches_numpy_and_is_differentiable():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(10, 3))
    y = np.arange(10) % 3
    zt = torch.tensor(z, requires_grad=True)
    value = icnn_score(zt, torch.tensor(y))
    assert isinstance(value, torch.Tensor) and value.ndim == 0
    assert value.dtype == torch.float64
    assert float(value.detach()) == pytest.approx(icnn_score(z, y), rel=1e-12)
    value.backward()
    assert torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0
    assert icnn_score(zt.float(), torch.tensor(y)).dtype == torch.float32


def test_gradcheck_float64():
    rng = np.random.default_rng(2)
    z = torch.tensor(rng.normal(size=(7, 2)), requires_grad=True)
    y = torch.tensor([0, 0, 0, 1, 1, 2, 2])
    w = torch.tensor(rng.uniform(0.5, 2.0, size=7))
    assert torch.autograd.gradcheck(lambda x: icnn_score(x, y, k=2), (z,))
    assert torch.autograd.gradcheck(lambda x: icnn_score(x, y, sample_weight=w), (z,))
    t = torch.tensor(rng.normal(size=(4, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, b: icnn_score(a, y, b, torch.tensor([0, 1, 2, 0]), k=1), (z, t)
    )


def test_single_class_scores_one():
    z = np.random.default_rng(3).normal(size=(8, 3))
    assert icnn_score(z, np.zeros(8)) == 1.0
    assert icnn_score(z, ["a"] * 8) == 1.0


def test_weights():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(10, 2))
    y = np.arange(10) % 2
    assert icnn_score(z, y, sample_weight=np.ones(10)) == pytest.approx(
        icnn_score(z, y), rel=1e-12
    )
    # Integer weights repeat the anchor in every mean over anchors.
    w = np.array([2, 1, 1, 1, 1, 3, 1, 1, 1, 1])
    assert icnn_score(z, y, sample_weight=w) == pytest.approx(
        naive_icnn(z, y, w=w), rel=1e-12
    )
    assert icnn_score(z, y, sample_weight=w) != pytest.approx(icnn_score(z, y))


def test_small_targets_and_clipping():
    z = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]])
    assert icnn_score(z[:2], [0, 1]) == 1.0
    assert icnn_score(z[:1], [0]) == 1.0
    # |B| = 3: k is clipped to 1 and gamma forced to 1.
    assert icnn_score(z, [0, 1, 1]) == pytest.approx(naive_icnn(z, [0, 1, 1]))
    # r larger than the targets allow is clipped to |B| - 1.
    assert icnn_score(z, [0, 1, 1], k=1, r=10) == pytest.approx(
        naive_icnn(z, [0, 1, 1], k=1, r=10)
    )


def test_string_labels_and_separate_targets():
    z = SUPPORT
    names = np.array(["x", "x", "y", "y", "z", "z"])
    assert icnn_score(z, names) == pytest.approx(icnn_score(z, LABELS))
    assert icnn_score(QUERIES, names, PROTOTYPES, ["x", "y", "z"]) == pytest.approx(
        0.745539, rel=1e-5
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k must"),
        ({"k": 2.5}, "k must"),
        ({"k": 4, "r": 2}, "r must"),
        ({"targets": SUPPORT}, "together"),
        ({"sample_weight": np.ones(5)}, "sample_weight"),
        ({"sample_weight": -np.ones(6)}, "sample_weight"),
        ({"sample_weight": np.zeros(6)}, "sample_weight"),
        ({"targets": np.ones((3, 4)), "target_labels": [0, 1, 2]}, "width"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        icnn_score(SUPPORT, LABELS, **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match="labels"):
        icnn_score(SUPPORT, LABELS[:5])
    with pytest.raises(ValueError, match="embeddings"):
        icnn_score(SUPPORT[0], LABELS)
    with pytest.raises(ValueError, match="finite"):
        icnn_score(np.full((3, 2), np.nan), [0, 1, 2])
    with pytest.raises(TypeError, match="integer"):
        icnn_score(torch.zeros(3, 2), torch.zeros(3))
