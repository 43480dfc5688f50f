"""MetrixLoss: Metrix mixup around an embedding loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from sklearn_losses.losses import (
    ContrastiveLoss,
    ICNNLoss,
    MetrixLoss,
    MultiSimilarityLoss,
    get_loss,
)
from sklearn_losses.losses.metrix import mix_embeddings


def _batch(seed=0, n=12, d=5, classes=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(n, d, generator=g, dtype=dtype), dim=1)
    y = torch.arange(n) % classes
    return z, y


def test_spec_reference_multi_similarity_mixed_term():
    # §6: a = n̂[1,0.2,0], p = n̂[0.9,0.3,0.1], n = n̂[0.2,1,0.1], λ = 0.7,
    # v = n̂(λp + (1-λ)n); MS (α=2, β=50, λ_MS=0.5), one anchor, one mixed: 0.517280
    a = F.normalize(torch.tensor([[1.0, 0.2, 0.0]], dtype=torch.float64), dim=1)
    p = F.normalize(torch.tensor([[0.9, 0.3, 0.1]], dtype=torch.float64), dim=1)
    n = F.normalize(torch.tensor([[0.2, 1.0, 0.1]], dtype=torch.float64), dim=1)
    v = F.normalize(0.7 * p + 0.3 * n, dim=1)
    loss = MultiSimilarityLoss(miner=None)
    terms, _ = loss.soft_terms(a, v, torch.tensor([[0.7]]), torch.tensor([[0.3]]))
    assert float(terms[0]) == pytest.approx(0.517280, rel=1e-5)


def test_mix_embeddings_pairs_rows_of_other_labels():
    z, y = _batch()
    torch.manual_seed(0)
    mixed, first, second = mix_embeddings(z, y, 0.3)
    assert first.tolist() == list(range(len(y)))
    assert bool((y[first] != y[second]).all())
    expected = F.normalize(0.3 * z[first] + 0.7 * z[second], dim=1)
    torch.testing.assert_close(mixed, expected)
    # not re-normalised when the embeddings are not unit vectors
    raw, first, second = mix_embeddings(3.0 * z, y, 0.3)
    torch.testing.assert_close(raw, 0.3 * 3 * z[first] + 0.7 * 3 * z[second])


def test_exact_soft_label_term_equals_a_naive_loop():
    z, y = _batch()
    base = MultiSimilarityLoss(miner=None)
    metrix = MetrixLoss(base)
    torch.manual_seed(1)
    value = metrix.mixed_term(z, y, 0.6)
    torch.manual_seed(1)
    mixed, first, second = mix_embeddings(z, y, 0.6)
    terms = []
    for i in range(len(y)):
        s = mixed @ z[i]
        pos = 0.6 * (y[first] == y[i]).double() + 0.4 * (y[second] == y[i]).double()
        neg = 1.0 - pos
        t = torch.log1p((pos * torch.exp(-2.0 * (s - 0.5))).sum()) / 2.0
        t = t + torch.log1p((neg * torch.exp(50.0 * (s - 0.5))).sum()) / 50.0
        terms.append(t)
    assert float(value) == pytest.approx(float(torch.stack(terms).mean()), rel=1e-10)


def test_interpolation_for_losses_without_soft_labels():
    z, y = _batch()
    base = ICNNLoss()
    assert not base.soft_labels
    metrix = MetrixLoss(base)
    torch.manual_seed(2)
    value = metrix.mixed_term(z, y, 0.7)
    torch.manual_seed(2)
    mixed, first, second = mix_embeddings(z, y, 0.7)
    both = torch.cat([z, mixed])
    w = torch.cat([torch.ones(len(y)), torch.zeros(len(first))]).double()
    expected = 0.7 * base(both, torch.cat([y, y[first]]), sample_weight=w) + 0.3 * base(
        both, torch.cat([y, y[second]]), sample_weight=w
    )
    assert float(value) == pytest.approx(float(expected), rel=1e-10)


def test_weight_zero_is_the_clean_loss_and_single_class_has_no_mixed_term():
    z, y = _batch()
    base = ContrastiveLoss()
    assert float(MetrixLoss(base, weight=0.0)(z, y)) == pytest.approx(float(base(z, y)))
    one = torch.zeros(len(y), dtype=torch.long)
    assert float(MetrixLoss(base).mixed_term(z, one, 0.5)) == 0.0


def test_total_is_clean_plus_weighted_mixed_term():
    z, y = _batch()
    metrix = MetrixLoss("multi_similarity", alpha=2.0, weight=0.4)
    torch.manual_seed(3)
    total = metrix(z, y)
    torch.manual_seed(3)
    lam = float(torch.distributions.Beta(2.0, 2.0).sample())
    expected = metrix.inner(z, y) + 0.4 * metrix.mixed_term(z, y, lam)
    assert float(total) == pytest.approx(float(expected), rel=1e-10)


def test_gradients_are_finite_and_flow_to_every_row():
    z, y = _batch()
    z = z.clone().requires_grad_()
    torch.manual_seed(4)
    MetrixLoss("multi_similarity", weight=1.0)(z, y).backward()
    assert torch.isfinite(z.grad).all()
    assert bool((z.grad.abs().sum(1) > 0).all())


def test_gradcheck_of_the_mixed_term():
    z, y = _batch(n=6, d=3)
    metrix = MetrixLoss(MultiSimilarityLoss(miner=None, beta=5.0))

    def mixed(x):
        torch.manual_seed(5)
        return metrix.mixed_term(x, y, 0.35)

    assert torch.autograd.gradcheck(mixed, (z.clone().requires_grad_(),))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": 0}, "alpha"),
        ({"weight": -1.0}, "weight"),
        ({"base": "focal"}, "embedding loss"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MetrixLoss(**kwargs)


def test_name_requires_and_setup_follow_the_base():
    metrix = MetrixLoss(get_loss("cwcl"))
    assert metrix.name == "cwcl+metrix"
    assert metrix.requires == ("view",)
    assert metrix.get_params()["alpha"] == 2.0
