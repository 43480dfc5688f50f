"""Tests of the multi-label losses: BCE, multi-label focal and the hybrid loss.

The hybrid loss is our reconstruction (spec §7); its reference values come from
the spec, and every term is checked against a naive loop in numpy.
"""

import math

import numpy as np
import pytest
import torch

from sklearn_losses.losses import (
    BCELoss,
    FocalLoss,
    HybridLoss,
    balanced_pos_weight,
    get_loss,
    jaccard_contrastive,
    label_cosine_matrix,
    list_losses,
)

F64 = torch.float64

# Spec §7 reference data.
Y_TRAIN = np.array(
    [[1, 0, 0], [1, 1, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float
)
Z = torch.tensor([[2.0, -1, -2], [0.5, 1, -1.5], [-1, -0.5, 1]], dtype=F64)
Y = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=F64)
E = torch.tensor([[1.0, 0], [0.8, 0.6], [-0.6, 0.8]], dtype=F64)


def _hybrid(**params):
    loss = HybridLoss(**params)
    loss.setup(n_samples=len(Y_TRAIN), n_classes=3, target=Y_TRAIN)
    return loss


# -- naive numpy re-implementation ---------------------------------------------
def _softplus(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _ref_pos_weight(Y, clip=100.0):
    out = []
    for c in range(Y.shape[1]):
        pos = sum(Y[i, c] for i in range(Y.shape[0]))
        neg = Y.shape[0] - pos
        out.append(clip if pos == 0 else min(neg / pos, clip))
    return out


def _ref_R(Y):
    L = Y.shape[1]
    R = np.zeros((L, L))
    for j in range(L):
        for k in range(L):
            if j == k:
                continue
            co = sum(Y[i, j] * Y[i, k] for i in range(Y.shape[0]))
            nj, nk = Y[:, j].sum(), Y[:, k].sum()
            R[j, k] = co / math.sqrt(nj * nk) if nj and nk else 0.0
    return R


def _ref_wbce_rows(z, y, pw):
    rows = []
    for zi, yi in zip(z, y):
        terms = [
            pw[c] * yi[c] * _softplus(-zi[c]) + (1 - yi[c]) * _softplus(zi[c])
            for c in range(len(zi))
        ]
        rows.append(sum(terms) / len(terms))
    return rows


def _ref_corr_rows(z, R):
    L = len(z[0])
    pairs = [(j, k) for j in range(L) for k in range(j + 1, L)]
    total = sum(R[j, k] for j, k in pairs)
    rows = []
    for zi in z:
        p = [_sigmoid(v) for v in zi]
        s = sum(R[j, k] * (p[j] - p[k]) ** 2 for j, k in pairs)
        rows.append(s / total if total else 0.0)
    return rows


def _ref_con(e, y, tau, w=None):
    n = len(e)
    e = [np.asarray(v) / np.linalg.norm(v) for v in e]
    w = [1.0] * n if w is None else list(w)
    num = den = 0.0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        sims = {j: float(e[i] @ e[j]) / tau for j in others}
        m = max(sims.values()) if others else 0.0
        lse = m + math.log(sum(math.exp(s - m) for s in sims.values())) if others else 0
        J = {}
        for j in others:
            inter = sum(a * b for a, b in zip(y[i], y[j]))
            union = sum(y[i]) + sum(y[j]) - inter
            J[j] = inter / union if union else 0.0
        mass = sum(J.values())
        if mass <= 0:
            continue
        c = -sum(J[j] * (sims[j] - lse) for j in others) / mass
        num += w[i] * c
        den += w[i]
    return num / den if den else 0.0


def _ref_hybrid(z, y, e, Y_train, lc, lk, tau, w=None):
    pw = _ref_pos_weight(Y_train)
    R = _ref_R(Y_train)
    rows = np.add(_ref_wbce_rows(z, y, pw), lc * np.asarray(_ref_corr_rows(z, R)))
    ww = np.ones(len(rows)) if w is None else np.asarray(w)
    value = float(np.sum(ww * rows) / np.sum(ww))
    if e is not None and lk:
        value += lk * _ref_con(e, y, tau, w)
    return value


def _random_batch(seed, n=7, L=4, d=3):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=(n, L))
    y = (rng.random((n, L)) < 0.4).astype(float)
    e = rng.normal(size=(n, d))
    w = rng.uniform(0.2, 2.0, size=n)
    Y_train = (rng.random((30, L)) < 0.35).astype(float)
    Y_train[0] = 1  # every label has a positive
    return z, y, e, w, Y_train


# -- spec reference values -------------------------------------------------------
def test_spec_pos_weight_and_R():
    np.testing.assert_allclose(balanced_pos_weight(Y_TRAIN), [0.5, 1.0, 5.0])
    R = label_cosine_matrix(Y_TRAIN)
    np.testing.assert_allclose(R[0, 1], 0.57735, atol=5e-6)
    np.testing.assert_allclose(R, R.T)
    R01 = R.copy()
    R01[0, 1] = R01[1, 0] = 0
    np.testing.assert_array_equal(R01, 0)


def test_spec_terms_and_total():
    wbce = _hybrid(lambda_corr=0, lambda_con=0)(Z, Y).item()
    assert wbce == pytest.approx(0.401002, abs=5e-7)
    corr = _hybrid(lambda_corr=1, lambda_con=0)(Z, Y).item() - wbce
    assert corr == pytest.approx(0.132652, abs=5e-7)
    con = jaccard_contrastive(E, Y, 0.1).item()
    assert con == pytest.approx(1.68119e-4, rel=5e-6)
    total = _hybrid()(torch.cat([Z, E], dim=1), Y).item()
    assert total == pytest.approx(0.414284, abs=5e-7)
    # The contrastive term through the loss equals the function.
    only_con = _hybrid(lambda_corr=0, lambda_con=1)(torch.cat([Z, E], dim=1), Y)
    assert only_con.item() - wbce == pytest.approx(con, rel=1e-9)


def test_bce_with_the_spec_weights_is_the_hybrid_without_extra_terms():
    bce = BCELoss(pos_weight=[0.5, 1.0, 5.0])(Z, Y)
    balanced = BCELoss(pos_weight="balanced")
    balanced.setup(target=Y_TRAIN)
    assert bce.item() == pytest.approx(0.401002, abs=5e-7)
    assert balanced(Z, Y).item() == pytest.approx(bce.item(), rel=1e-12)


# -- naive re-implementation on random data -------------------------------------
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weighted", [False, True])
def test_hybrid_matches_naive(seed, weighted):
    z, y, e, w, Y_train = _random_batch(seed)
    loss = HybridLoss(lambda_corr=0.7, lambda_con=0.3, temperature=0.5)
    loss.setup(target=Y_train)
    sw = torch.tensor(w) if weighted else None
    value = loss(torch.tensor(np.hstack([z, e])), torch.tensor(y), sample_weight=sw)
    expected = _ref_hybrid(z, y, e, Y_train, 0.7, 0.3, 0.5, w if weighted else None)
    assert value.item() == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_bce_and_focal_match_naive(seed):
    z, y, _, w, _ = _random_batch(seed)
    zt, yt = torch.tensor(z), torch.tensor(y)
    bce = BCELoss(reduction="none")(zt, yt).numpy()
    np.testing.assert_allclose(bce, _ref_wbce_rows(z, y, [1.0] * 4), rtol=1e-12)
    for gamma, alpha in [(2.0, None), (0.5, 0.25), (1.0, 0.8)]:
        out = FocalLoss(gamma=gamma, alpha=alpha, reduction="none")(zt, yt).numpy()
        expected = []
        for zi, yi in zip(z, y):
            terms = []
            for zc, yc in zip(zi, yi):
                p = _sigmoid(zc) if yc else 1 - _sigmoid(zc)
                a = 1.0 if alpha is None else (alpha if yc else 1 - alpha)
                terms.append(-a * (1 - p) ** gamma * math.log(p))
            expected.append(sum(terms) / len(terms))
        np.testing.assert_allclose(out, expected, rtol=1e-10)


def test_focal_gamma_zero_is_bce():
    z, y, _, w, _ = _random_batch(7)
    zt, yt, wt = torch.tensor(z), torch.tensor(y), torch.tensor(w)
    a = FocalLoss(gamma=0.0)(zt, yt, sample_weight=wt)
    assert a.item() == pytest.approx(BCELoss()(zt, yt, sample_weight=wt).item())


def test_hybrid_without_terms_equals_bce_any_pos_weight():
    z, y, _, w, Y_train = _random_batch(3)
    zt, yt, wt = torch.tensor(z), torch.tensor(y), torch.tensor(w)
    for pos_weight in [None, "balanced", [1.0, 2.0, 0.5, 3.0]]:
        h = HybridLoss(lambda_corr=0, lambda_con=0, pos_weight=pos_weight)
        b = BCELoss(pos_weight=pos_weight)
        h.setup(target=Y_train)
        b.setup(target=Y_train)
        assert h(zt, yt, sample_weight=wt).item() == pytest.approx(
            b(zt, yt, sample_weight=wt).item(), rel=1e-12
        )


# -- gradients --------------------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
def test_gradcheck(weighted):
    z, y, e, w, Y_train = _random_batch(11, n=5, L=3, d=2)
    yt = torch.tensor(y)
    sw = torch.tensor(w) if weighted else None
    hybrid = HybridLoss(lambda_corr=0.5, lambda_con=0.5)
    hybrid.setup(target=Y_train)
    x = torch.tensor(np.hstack([z, e]), requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: hybrid(t, yt, sample_weight=sw), (x,))
    zt = torch.tensor(z, requires_grad=True)
    for loss in (BCELoss(pos_weight=[2.0, 0.5, 1.0]), FocalLoss(gamma=1.5)):
        assert torch.autograd.gradcheck(
            lambda t, loss=loss: loss(t, yt, sample_weight=sw), (zt,)
        )


def test_extreme_logits_finite_float32():
    z = torch.tensor([[80.0, -80.0, 0.0], [-1e4, 1e4, 3.0]], requires_grad=True)
    y = torch.tensor([[0, 1, 1], [1, 0, 0]])
    for loss in (BCELoss(), FocalLoss(), _hybrid()):
        value = loss(z, y)
        value.backward()
        assert torch.isfinite(value) and torch.isfinite(z.grad).all()
        z.grad = None


# -- weights ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bce", "focal", "hybrid"])
def test_unit_weights_and_repeated_rows(name):
    z, y, _, _, Y_train = _random_batch(5)
    zt, yt = torch.tensor(z), torch.tensor(y)
    params = {"lambda_con": 0.0} if name == "hybrid" else {}
    loss = get_loss(name, **params)
    if name != "focal":
        loss.setup(target=Y_train)
    plain = loss(zt, yt)
    assert loss(zt, yt, sample_weight=torch.ones(7, dtype=F64)).item() == (
        pytest.approx(plain.item(), rel=1e-12)
    )
    counts = torch.tensor([1, 2, 0, 3, 1, 1, 2])
    repeated = loss(zt.repeat_interleave(counts, 0), yt.repeat_interleave(counts, 0))
    weighted = loss(zt, yt, sample_weight=counts.double())
    assert weighted.item() == pytest.approx(repeated.item(), rel=1e-12)


def test_contrastive_anchor_weights():
    z, y, e, w, Y_train = _random_batch(2)
    et, yt = torch.tensor(e), torch.tensor(y)
    w[0] = 0.0
    value = jaccard_contrastive(et, yt, 0.2, torch.tensor(w)).item()
    assert value == pytest.approx(_ref_con(e, y, 0.2, w), rel=1e-10)


# -- edge cases ------------------------------------------------------------------
def test_label_without_positives():
    Y_train = Y_TRAIN.copy()
    Y_train[:, 2] = 0
    pw = balanced_pos_weight(Y_train)
    assert pw[2] == 100.0
    R = label_cosine_matrix(Y_train)
    assert np.all(R[2] == 0) and np.all(R[:, 2] == 0)
    loss = HybridLoss()
    loss.setup(target=Y_train)
    x = torch.cat([Z, E], dim=1).requires_grad_(True)
    value = loss(x, Y)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(x.grad).all()
    # A label without negatives gets weight 0: no term at all for it.
    assert balanced_pos_weight(np.ones((3, 2)))[0] == 0.0


def test_batch_of_one_row():
    x = torch.cat([Z, E], dim=1)[:1].requires_grad_(True)
    assert jaccard_contrastive(E[:1], Y[:1]).item() == 0.0
    loss = _hybrid()
    value = loss(x, Y[:1])
    assert value.item() == pytest.approx(
        _hybrid(lambda_con=0)(Z[:1], Y[:1]).item(), rel=1e-12
    )
    value.backward()
    assert torch.isfinite(x.grad).all()


def test_no_anchor_with_positives_gives_zero():
    y = torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=F64)
    e = E.clone().requires_grad_(True)
    value = jaccard_contrastive(e, y)
    assert value.item() == 0.0
    value.backward()
    assert torch.all(e.grad == 0)


def test_no_co_occurring_labels_gives_no_correlation_term():
    Y_train = np.eye(3)
    loss = HybridLoss(lambda_con=0)
    loss.setup(target=Y_train)
    plain = HybridLoss(lambda_corr=0, lambda_con=0)
    plain.setup(target=Y_train)
    assert loss(Z, Y).item() == plain(Z, Y).item()


def test_logits_only_input_drops_the_contrastive_term():
    assert _hybrid()(Z, Y).item() == pytest.approx(
        _hybrid(lambda_con=0)(Z, Y).item(), rel=1e-12
    )


# -- registry and bad input -----------------------------------------------------------
def test_registry():
    assert list_losses("multilabel") == ["bce", "focal", "hybrid"]
    assert isinstance(get_loss("binary_cross_entropy"), BCELoss)
    assert HybridLoss().uses_embeddings and not HybridLoss(lambda_con=0).uses_embeddings


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: BCELoss()(Z, Y * 2), "target"),
        (lambda: BCELoss()(Z, Y[:, :2]), "input"),
        (lambda: BCELoss()(Z, Y[:2]), "target"),
        (lambda: BCELoss()(Z, Y[:, 0]), "target"),
        (lambda: BCELoss()(Z[:, 0], Y), "input"),
        (lambda: BCELoss()(Z.long(), Y), "input"),
        (lambda: BCELoss()(Z, Y.numpy()), "target"),
        (lambda: BCELoss()(Z.clone().fill_(math.nan), Y), "input"),
        (lambda: BCELoss()(Z, Y, sample_weight=-torch.ones(3)), "sample_weight"),
        (lambda: BCELoss(pos_weight="balanced")(Z, Y), "setup"),
        (lambda: BCELoss(pos_weight=[1.0, 2.0])(Z, Y), "pos_weight"),
        (lambda: BCELoss(pos_weight=[1.0, -2.0, 1.0]), "pos_weight"),
        (lambda: BCELoss(pos_weight="nope"), "pos_weight"),
        (lambda: BCELoss(max_pos_weight=0), "max_pos_weight"),
        (lambda: HybridLoss(lambda_corr=-1), "lambda_corr"),
        (lambda: HybridLoss(lambda_con=-0.1), "lambda_con"),
        (lambda: HybridLoss(temperature=0), "temperature"),
        (lambda: HybridLoss(pos_weight=None)(Z, Y), "setup"),
        (lambda: HybridLoss(pos_weight=None, lambda_corr=0)(Z[:, :2], Y), "input"),
        (lambda: FocalLoss(alpha=[0.2, 0.8])(Z, Y), "alpha"),
        (lambda: FocalLoss()(Z, Y - 1), "target"),
        (lambda: balanced_pos_weight([[0, 2]]), "target"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_setup_of_another_width():
    loss = HybridLoss(pos_weight=None, lambda_con=0)
    loss.setup(target=np.ones((4, 2)) - np.eye(4, 2))
    with pytest.raises(ValueError, match="labels"):
        loss(Z, Y)
