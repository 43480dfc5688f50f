"""Pair contrastive loss, InfoNCE / NT-Xent and the augmentations."""

import pickle

import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from torch import nn

from sklearn_losses.losses import get_loss
from sklearn_losses.losses._embedding import pair_masks
from sklearn_losses.losses.contrastive import (
    ContrastiveLoss,
    FeatureMask,
    GaussianNoise,
    InfoNCELoss,
    _same_label_pairs,
    info_nce,
)


def approx(value, expected, rel=1e-5):
    return value == pytest.approx(expected, rel=rel, abs=1e-12)


def _batches():
    gen = torch.Generator().manual_seed(0)
    for labels in (
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        [0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5, 5],  # anchors without positives
        [0, 1, 0, 1, 0, 1, 0, 1, 2, 2, 2, 2],
    ):
        z = torch.randn(len(labels), 5, generator=gen, dtype=torch.float64)
        yield z, torch.tensor(labels)


def _compare_grads(ours_fn, theirs_fn, z):
    a = z.clone().requires_grad_(True)
    b = z.clone().requires_grad_(True)
    ours, theirs = ours_fn(a), theirs_fn(b)
    ours.backward()
    theirs.backward()
    assert approx(ours.item(), theirs.item(), rel=1e-10)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-8, atol=1e-12)


# -- pair contrastive loss ---------------------------------------------------


def _metrix_example():
    a = F.normalize(torch.tensor([[1.0, 0.2, 0.0]], dtype=torch.float64), dim=1)
    p = F.normalize(torch.tensor([[0.9, 0.3, 0.1]], dtype=torch.float64), dim=1)
    n = F.normalize(torch.tensor([[0.2, 1.0, 0.1]], dtype=torch.float64), dim=1)
    return a, F.normalize(0.7 * p + 0.3 * n, dim=1)


def test_contrastive_soft_terms_reference():
    a, v = _metrix_example()
    loss = ContrastiveLoss(pos_margin=0.0, neg_margin=0.5)
    one, zero = torch.tensor([[0.7]]), torch.tensor([[0.0]])
    terms, counts = loss.soft_terms(a, v, one, zero)
    assert approx(terms.item(), 0.303409) and counts.item() == 1
    terms, _ = loss.soft_terms(a, v, zero, torch.tensor([[0.3]]))
    assert approx(terms.item(), 0.019967, rel=1e-4)  # 6 decimals: rounded
    terms, _ = loss.soft_terms(a, v, one, torch.tensor([[0.3]]))
    assert approx(terms.item(), 0.303409 + 0.019967, rel=1e-4)


@pytest.mark.parametrize("margins", [(0.0, 0.5), (0.1, 0.9), (0.0, 1.0)])
@pytest.mark.parametrize("case", range(3))
def test_contrastive_matches_pytorch_metric_learning(margins, case):
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    z, y = list(_batches())[case]
    pos, neg = margins
    _compare_grads(
        lambda e: ContrastiveLoss(pos, neg)(e, y),
        lambda e: pml.ContrastiveLoss(pos_margin=pos, neg_margin=neg)(e, y),
        z,
    )


def test_contrastive_weights_are_anchor_weights():
    z, y = next(_batches())
    loss = ContrastiveLoss(0.1, 0.9)
    assert approx(loss(z, y, sample_weight=torch.ones(12)).item(), loss(z, y).item())
    w = torch.tensor([2, 1, 0, 1, 3, 1, 1, 1, 1, 2, 1, 1])
    # integer weights = the anchor's rows repeated, as anchors only
    d = torch.cdist(F.normalize(z, dim=1), F.normalize(z, dim=1))
    pos, neg = pair_masks(y)
    expected = 0.0
    for rho, mask in ((F.relu(d - 0.1), pos), (F.relu(0.9 - d), neg)):
        values = [
            rho[i, k].item()
            for i in range(12)
            for k in range(12)
            if mask[i, k] and rho[i, k] > 0
            for _ in range(int(w[i]))
        ]
        expected += sum(values) / len(values)
    assert approx(loss(z, y, sample_weight=w.double()).item(), expected, rel=1e-10)


def test_contrastive_gradcheck_and_edge_cases():
    z, y = next(_batches())
    z = z[:6].clone().requires_grad_(True)
    loss = ContrastiveLoss(0.1, 1.2)
    assert torch.autograd.gradcheck(lambda e: loss(e, y[:6]), (z,))
    e = z.detach().clone().requires_grad_(True)
    value = ContrastiveLoss(0.0, 0.0)(e, torch.arange(6))  # no non-zero term
    value.backward()
    assert value.item() == 0.0 and torch.isfinite(e.grad).all()
    assert get_loss("contrastive").__class__ is ContrastiveLoss
    with pytest.raises(ValueError, match="neg_margin"):
        ContrastiveLoss(neg_margin=-1.0)


# -- InfoNCE reference values --------------------------------------------------

Z1 = torch.tensor([[1, 0, 0.2], [0, 1, 0.1], [0.3, 0.3, 1]], dtype=torch.float64)
Z2 = torch.tensor(
    [[0.9, 0.2, 0.1], [0.2, 0.9, 0], [0.2, 0.5, 0.8]], dtype=torch.float64
)


@pytest.mark.parametrize(
    ("tau", "cross", "ntxent"),
    [
        (0.07, 0.001880, 0.003323),
        (0.2, 0.112373, 0.219228),
        (0.5, 0.476709, 0.805845),
        (1.0, 0.739932, 1.164588),
    ],
)
def test_info_nce_reference_table(tau, cross, ntxent):
    # rounded to 6 decimals in the table: relative 1e-4 for the smallest
    assert approx(info_nce(Z1, Z2, tau, "cross").item(), cross, rel=1e-3)
    assert approx(info_nce(Z1, Z2, tau, "ntxent").item(), ntxent, rel=1e-4)
    # float32 gives the same
    value = info_nce(Z1.float(), Z2.float(), tau, "ntxent").item()
    assert approx(value, ntxent, rel=1e-3)


def test_info_nce_is_cross_entropy():
    gen = torch.Generator().manual_seed(1)
    z1 = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    z2 = torch.randn(7, 4, generator=gen, dtype=torch.float64)
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / 0.3
    expected = F.cross_entropy(logits, torch.arange(7))
    assert approx(info_nce(z1, z2, 0.3).item(), expected.item(), rel=1e-12)
    both = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (both @ both.T / 0.3).fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(7, 14), torch.arange(7)])
    expected = F.cross_entropy(logits, target)
    assert approx(info_nce(z1, z2, 0.3, "ntxent").item(), expected.item(), rel=1e-12)
    assert info_nce(z1[:1], z2[:1], 0.3).item() == 0.0


# -- InfoNCE in-batch ----------------------------------------------------------


@pytest.mark.parametrize("tau", [0.1, 0.5])
@pytest.mark.parametrize("case", range(3))
def test_infonce_matches_pytorch_metric_learning(tau, case):
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    z, y = list(_batches())[case]
    _compare_grads(
        lambda e: InfoNCELoss(temperature=tau)(e, y),
        lambda e: pml.NTXentLoss(temperature=tau)(e, y),
        z,
    )


def test_infonce_small_temperature_is_exact():
    # 1/tau beyond the fast path's range: the shifted log-sum-exp
    z, y = next(_batches())
    for dtype in (torch.float32, torch.float64):
        e = z.to(dtype)
        ours = InfoNCELoss(temperature=0.002)(e, y).item()
        s = F.normalize(z, dim=1) @ F.normalize(z, dim=1).T / 0.002
        pos, neg = pair_masks(y)
        lse = torch.logsumexp(s.masked_fill(~neg, float("-inf")), dim=1)
        expected = F.softplus(lse.unsqueeze(1) - s)[pos].mean().item()
        assert approx(ours, expected, rel=1e-4 if dtype == torch.float32 else 1e-10)


def _naive_infonce(z, y, tau, top_k=None):
    z = F.normalize(z, dim=1)
    total, count = 0.0, 0
    for a in range(len(y)):
        negatives = [(z[a] @ z[n]).item() / tau for n in range(len(y)) if y[n] != y[a]]
        negatives.sort(reverse=True)
        if top_k is not None:
            negatives = negatives[:top_k]
        for p in range(len(y)):
            if p == a or y[p] != y[a]:
                continue
            s = (z[a] @ z[p]).item() / tau
            values = torch.tensor([s, *negatives], dtype=torch.float64)
            total += (torch.logsumexp(values, 0) - s).item()
            count += 1
    return total / count


@pytest.mark.parametrize("top_k", [None, 1, 3, 20])
def test_infonce_hard_negatives_naive_loop(top_k):
    for z, y in _batches():
        ours = InfoNCELoss(temperature=0.3, top_k=top_k)(z, y).item()
        assert approx(ours, _naive_infonce(z, y, 0.3, top_k), rel=1e-10)


def test_infonce_backward_twice():
    z, y = next(_batches())
    for dtype in (torch.float32, torch.float64):
        e = z.to(dtype).clone().requires_grad_(True)
        value = InfoNCELoss(temperature=0.2)(e, y)
        (first,) = torch.autograd.grad(value, e, retain_graph=True)
        (second,) = torch.autograd.grad(value, e)
        torch.testing.assert_close(first, second)
        a, b = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
        # the one-product gradient equals the general two-product one
        InfoNCELoss(temperature=0.2)(a, y).backward()
        s = F.normalize(b, dim=1) @ F.normalize(b, dim=1).T / 0.2
        pos, neg = pair_masks(y)
        lse = torch.logsumexp(s.masked_fill(~neg, float("-inf")), 1, keepdim=True)
        F.softplus(lse - s)[pos].mean().backward()
        assert a.grad is not None
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-12)


def test_infonce_top_k_all_is_plain():
    z, y = next(_batches())
    plain = InfoNCELoss(temperature=0.2)(z, y)
    hard = InfoNCELoss(temperature=0.2, top_k=len(y) - 1)(z, y)
    assert approx(hard.item(), plain.item(), rel=1e-12)


@pytest.mark.parametrize("params", [{}, {"top_k": 2}, {"temperature": 0.005}])
def test_infonce_gradcheck(params):
    z, y = list(_batches())[1]
    z = z[:8].clone().requires_grad_(True)
    loss = InfoNCELoss(**{"temperature": 0.5, **params})
    assert torch.autograd.gradcheck(lambda e: loss(e, y[:8]), (z,))


def test_infonce_weights():
    z, y = list(_batches())[1]
    loss = InfoNCELoss(temperature=0.3)
    assert approx(loss(z, y, sample_weight=torch.ones(12)).item(), loss(z, y).item())
    terms, counts = loss.anchor_terms(z, y)
    w = torch.tensor([2, 1, 0, 1, 3, 1, 1, 1, 1, 2, 1, 1], dtype=torch.float64)
    # integer weights = repeating the anchor's pair losses
    pairs = torch.cat(
        [terms[i].repeat(int(w[i] * counts[i])) for i in range(12) if counts[i] > 0]
    )
    assert approx(loss(z, y, sample_weight=w).item(), pairs.mean().item(), rel=1e-10)


def test_infonce_no_positive_pair_gives_zero():
    z, _ = next(_batches())
    e = z.clone().requires_grad_(True)
    value = InfoNCELoss()(e, torch.arange(12))
    value.backward()
    assert value.item() == 0.0
    assert torch.isfinite(e.grad).all() and e.grad.abs().max() == 0
    one_class = InfoNCELoss()(z, torch.zeros(12, dtype=torch.long))
    assert one_class.item() == 0.0  # no negatives: each pair costs log(1) = 0


@pytest.mark.parametrize("labels", [[3, 1, 3, 2, 1, 3], [2, 0, 1, 1, 0, 2]])
def test_same_label_pairs(labels):
    y = torch.tensor(labels)  # unequal classes, then equal ones (block pattern)
    for include_self in (True, False):
        a, k, counts = _same_label_pairs(y, include_self)
        expected = {
            (i, j)
            for i in range(6)
            for j in range(6)
            if y[i] == y[j] and (include_self or i != j)
        }
        assert set(zip(a.tolist(), k.tolist())) == expected
        assert len(a) == len(expected)
        assert counts.tolist() == [sum(i == e[0] for e in expected) for i in range(6)]


# -- InfoNCE with a second view --------------------------------------------------


class _FixedView:
    """An 'augmentation' returning a fixed second view (for exact checks)."""

    def __init__(self, view):
        self.view = view

    def __call__(self, X):
        return self.view


@pytest.mark.parametrize("supervised", [False, True])
def test_infonce_two_views_matches_pytorch_metric_learning(supervised):
    pml = pytest.importorskip("pytorch_metric_learning.losses")
    z, y = next(_batches())
    gen = torch.Generator().manual_seed(5)
    view = z + 0.3 * torch.randn(z.shape, generator=gen, dtype=torch.float64)
    loss = InfoNCELoss(temperature=0.2, augment=_FixedView(view), supervised=supervised)
    ids = y if supervised else torch.arange(12)
    module = nn.Identity()
    _compare_grads(
        lambda e: loss(e, y, X=e, module=module),
        lambda e: pml.NTXentLoss(temperature=0.2)(
            torch.cat([e, view]), torch.cat([ids, ids])
        ),
        z,
    )
    # the unsupervised form is info_nce's NT-Xent of the two views
    if not supervised:
        value = loss(z, y, X=z, module=module).item()
        assert approx(value, info_nce(z, view, 0.2, "ntxent").item(), rel=1e-10)


def test_infonce_cross_variant():
    z, y = next(_batches())
    gen = torch.Generator().manual_seed(6)
    view = z + 0.3 * torch.randn(z.shape, generator=gen, dtype=torch.float64)
    loss = InfoNCELoss(0.5, augment=_FixedView(view), supervised=False, variant="cross")
    value = loss(z, y, X=z, module=nn.Identity())
    assert approx(value.item(), info_nce(z, view, 0.5, "cross").item(), rel=1e-10)
    # supervised: the second view's rows of the anchor's class are positives
    sup = InfoNCELoss(0.5, augment=_FixedView(view), variant="cross")
    s = F.normalize(z, dim=1) @ F.normalize(view, dim=1).T / 0.5
    same = y.unsqueeze(1) == y.unsqueeze(0)
    lse = torch.logsumexp(s.masked_fill(same, float("-inf")), dim=1)
    expected = F.softplus(lse.unsqueeze(1) - s)[same].mean()
    assert approx(sup(z, y, X=z, module=nn.Identity()).item(), expected.item(), 1e-10)


def test_infonce_two_views_weights_and_gradcheck():
    z, y = next(_batches())
    z = z[:6]
    gen = torch.Generator().manual_seed(7)
    lin = nn.Linear(5, 3).double()
    loss = InfoNCELoss(0.5, augment=GaussianNoise(0.1))
    X = torch.randn(6, 5, generator=gen, dtype=torch.float64)

    def value(x, weight=None):
        torch.manual_seed(0)
        return loss(lin(x), y[:6], sample_weight=weight, X=x, module=lin)

    assert approx(value(X, torch.ones(6, dtype=torch.float64)).item(), value(X).item())
    x = X.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda e: value(e), (x,))


def test_infonce_augment_errors_and_labels():
    z, y = next(_batches())
    bad = InfoNCELoss(augment=lambda X: X[:, :2])
    with pytest.raises(ValueError, match=r"augment.*\(12, 5\).*\(12, 2\)"):
        bad(z, y, X=z, module=nn.Identity())
    with pytest.raises(ValueError, match="module"):
        InfoNCELoss(augment="noise")(z, y)
    with pytest.raises(ValueError, match="augment"):
        InfoNCELoss(augment="blur")
    with pytest.raises(ValueError, match="augment"):
        InfoNCELoss(variant="cross")
    with pytest.raises(ValueError, match="top_k"):
        InfoNCELoss(top_k=0)
    with pytest.raises(ValueError, match="temperature"):
        InfoNCELoss(temperature=0.0)
    assert not InfoNCELoss().learns_without_labels()
    assert InfoNCELoss(augment="mask").learns_without_labels()
    torch.manual_seed(0)
    value = InfoNCELoss(augment="mask")(z, y, X=z, module=nn.Identity())
    assert torch.isfinite(value)


def test_infonce_soft_terms():
    z, y = list(_batches())[1]
    loss = InfoNCELoss(temperature=0.3)
    pos, neg = pair_masks(y)
    terms, counts = loss.soft_terms(z, z, pos.double(), neg.double())
    assert approx(
        (terms * counts).sum().item() / counts.sum().item(), loss(z, y).item()
    )
    # soft weights: the formula written out
    gen = torch.Generator().manual_seed(8)
    p = torch.rand(12, 12, generator=gen, dtype=torch.float64) * pos
    n = torch.rand(12, 12, generator=gen, dtype=torch.float64)
    terms, counts = loss.soft_terms(z, z, p, n)
    s = F.normalize(z, dim=1) @ F.normalize(z, dim=1).T / 0.3
    lse = torch.logsumexp(s + n.log(), dim=1, keepdim=True)
    expected = (p * F.softplus(lse - s)).sum(1) / p.sum(1).clamp_min(1e-300)
    torch.testing.assert_close(terms, expected)
    torch.testing.assert_close(counts, p.sum(1))
    assert InfoNCELoss.soft_labels and ContrastiveLoss.soft_labels


def test_augmentations():
    X = torch.randn(5, 4)
    for aug in (GaussianNoise(0.5), FeatureMask(0.5)):
        torch.manual_seed(3)
        first = aug(X)
        torch.manual_seed(3)
        assert torch.equal(first, aug(X)) and first.shape == X.shape
        assert not torch.equal(first, aug(X))
        assert pickle.loads(pickle.dumps(aug)).get_params() == aug.get_params()
    assert repr(GaussianNoise()) == "GaussianNoise(std=0.1)"
    assert FeatureMask().set_params(p=0.0)(X).equal(X)
    with pytest.raises(ValueError, match="p"):
        FeatureMask(p=1.0)
    with pytest.raises(ValueError, match="std"):
        GaussianNoise().set_params(std=-1.0)
    with pytest.raises(ValueError, match="std"):
        GaussianNoise().set_params(sigma=1.0)


def test_infonce_params():
    assert get_loss("ntxent").__class__ is InfoNCELoss
    loss = get_loss("infonce", temperature=0.1, augment="noise")
    assert loss.get_params() == {
        "temperature": 0.1,
        "augment": "noise",
        "supervised": True,
        "top_k": None,
        "variant": "ntxent",
    }
    assert clone(InfoNCELoss(augment=GaussianNoise(0.3))).augment.std == 0.3
    assert InfoNCELoss.requires == ("X", "module")
    assert pickle.loads(pickle.dumps(InfoNCELoss(augment="mask"))).augment == "mask"
