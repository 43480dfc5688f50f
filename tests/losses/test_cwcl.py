"""CWCL: spec reference values, CLIP at W = I, gradients, weights, projection."""

import warnings

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_losses.losses import get_loss
from sklearn_losses.losses.cwcl import CWCLLoss, cosine_weights, cwcl_loss

F64 = torch.float64
P = torch.tensor([[1, 0, 0], [0.8, 0.6, 0], [0, 0, 1]], dtype=F64)
Q = torch.tensor([[0.9, 0.1, 0.1], [0.5, 0.8, 0.1], [0.1, 0.2, 1]], dtype=F64)
W = torch.tensor([[1, 0.9, 0.5], [0.9, 1, 0.5], [0.5, 0.5, 1]], dtype=F64)
LABELS = torch.zeros(3, dtype=torch.long)


@pytest.mark.parametrize(
    "tau, uv, vu, clip",
    [(0.1, 3.375833, 3.314084, 0.110936), (1.0, 1.058392, 1.057445, 0.734516)],
)
def test_spec_reference_values(tau, uv, vu, clip):
    got_uv, got_vu = cwcl_loss(P, Q, W, tau, return_directions=True)
    assert got_uv.item() == pytest.approx(uv, rel=1e-5)
    assert got_vu.item() == pytest.approx(vu, rel=1e-5)
    assert cwcl_loss(P, Q, W, tau).item() == pytest.approx((uv + vu) / 2, rel=1e-5)
    eye = torch.eye(3, dtype=F64)
    assert cwcl_loss(P, Q, eye, tau).item() == pytest.approx(clip, rel=1e-5)
    # The module with a callable giving the spec's W.
    loss = CWCLLoss(temperature=tau, weights=lambda view: W)
    assert loss(Q, LABELS, view=P).item() == pytest.approx((uv + vu) / 2, rel=1e-5)


def clip_by_hand(p, q, tau):
    p, q = F.normalize(p, dim=1), F.normalize(q, dim=1)
    logits = p @ q.T / tau
    target = torch.arange(len(p))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def test_identity_weights_equal_clip():
    rng = np.random.default_rng(0)
    p = torch.tensor(rng.normal(size=(7, 4)))
    q = torch.tensor(rng.normal(size=(7, 4)))
    for tau in (0.07, 0.5):
        got = cwcl_loss(p, q, torch.eye(7, dtype=F64), tau)
        assert got.item() == pytest.approx(clip_by_hand(p, q, tau).item(), rel=1e-12)


def test_cosine_weights_and_naive_loop():
    rng = np.random.default_rng(1)
    p = rng.normal(size=(5, 3))
    q = rng.normal(size=(5, 3))
    ph = p / np.linalg.norm(p, axis=1, keepdims=True)
    qh = q / np.linalg.norm(q, axis=1, keepdims=True)
    w = (1 + ph @ ph.T) / 2
    np.testing.assert_allclose(cosine_weights(torch.tensor(p)).numpy(), w)
    tau, total = 0.2, 0.0
    for i in range(5):
        for a, b in ((ph, qh), (qh, ph)):
            s = a[i] @ b.T / tau
            log_p = s - np.log(np.exp(s).sum())
            total += -(w[i] * log_p).sum() / w[i].sum() / 2
    expected = total / 5
    loss = CWCLLoss(temperature=tau)
    got = loss(torch.tensor(q), torch.zeros(5, dtype=torch.long), view=torch.tensor(p))
    assert got.item() == pytest.approx(expected, rel=1e-12)
    assert cwcl_loss(torch.tensor(p), torch.tensor(q), None, tau).item() == (
        pytest.approx(expected, rel=1e-12)
    )


def test_gradcheck():
    rng = np.random.default_rng(2)
    q = torch.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    p = torch.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    y = torch.zeros(5, dtype=torch.long)
    w = torch.tensor(rng.uniform(0.2, 2.0, size=5))
    assert torch.autograd.gradcheck(
        lambda a: CWCLLoss(0.3)(a, y, view=p.detach(), sample_weight=w), (q,)
    )
    # Weights are detached: the gradient w.r.t. P comes through the logits only.
    fixed = cosine_weights(p.detach())
    assert torch.autograd.gradcheck(lambda a, b: cwcl_loss(b, a, fixed, 0.3), (q, p))


def test_sample_weights_and_single_row():
    rng = np.random.default_rng(3)
    q = torch.tensor(rng.normal(size=(6, 3)))
    p = torch.tensor(rng.normal(size=(6, 3)))
    y = torch.zeros(6, dtype=torch.long)
    loss = CWCLLoss()
    terms, counts = loss.anchor_terms(q, y, view=p)
    w = torch.tensor(rng.uniform(0.1, 2.0, size=6))
    assert loss(q, y, view=p, sample_weight=w).item() == pytest.approx(
        ((w * terms).sum() / w.sum()).item()
    )
    assert loss(q, y, view=p, sample_weight=torch.ones(6, dtype=F64)).item() == (
        pytest.approx(loss(q, y, view=p).item(), rel=1e-12)
    )
    one = q[:1].clone().requires_grad_(True)
    value = loss(one, y[:1], view=p[:1])
    assert value.item() == 0.0
    value.backward()
    assert torch.isfinite(one.grad).all()
    # A weight row of zeros counts 0 (no NaN).
    zero_row = torch.eye(6, dtype=F64)
    zero_row[2] = 0.0
    assert torch.isfinite(cwcl_loss(p, q, zero_row))


def test_projection_path_trains():
    torch.manual_seed(0)
    view = torch.randn(20, 5)
    loss = CWCLLoss(temperature=0.2)
    loss.setup(n_samples=20, n_classes=1, n_components=3, inputs={"view": view})
    assert isinstance(loss.projection, torch.nn.Linear)
    assert loss.projection.weight.shape == (3, 5)
    assert list(loss.parameters()) == [loss.projection.weight]
    z = torch.randn(8, 3, requires_grad=True)
    value = loss(z, torch.zeros(8, dtype=torch.long), view=view[:8])
    value.backward()
    assert z.grad.abs().sum() > 0
    assert loss.projection.weight.grad.abs().sum() > 0
    # The weights come from the unprojected view.
    torch.testing.assert_close(loss._weights(view[:8]), cosine_weights(view[:8]))
    # A few optimisation steps lower the loss.
    net = torch.nn.Linear(4, 3)
    x = torch.randn(20, 4)
    params = [*net.parameters(), *loss.parameters()]
    first = None
    for _ in range(30):
        value = loss(net(x), torch.zeros(20, dtype=torch.long), view=view)
        grads = torch.autograd.grad(value, params)
        with torch.no_grad():
            for param, grad in zip(params, grads):
                param -= 0.5 * grad
        first = value.item() if first is None else first
    assert value.item() < first


def test_projection_choices():
    view = torch.randn(10, 3)
    same = CWCLLoss()
    same.setup(n_samples=10, n_classes=1, n_components=3, inputs={"view": view})
    assert same.projection is None and list(same.parameters()) == []
    forced = CWCLLoss(project=True)
    forced.setup(n_samples=10, n_classes=1, n_components=3, inputs={"view": view})
    assert forced.projection.weight.shape == (3, 3)
    with pytest.raises(ValueError, match="project=False"):
        CWCLLoss(project=False).setup(
            n_samples=10, n_classes=1, n_components=4, inputs={"view": view}
        )
    with pytest.raises(RuntimeError, match="setup"):
        CWCLLoss()(torch.randn(4, 2), torch.zeros(4, dtype=torch.long), view=view[:4])
    with pytest.raises(RuntimeError, match="setup"):
        CWCLLoss(project=True)(
            torch.randn(4, 3), torch.zeros(4, dtype=torch.long), view=view[:4]
        )


def test_bad_views():
    loss = CWCLLoss()
    z = torch.randn(4, 3)
    y = torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="view"):
        loss(z, y)
    with pytest.raises(ValueError, match="view"):
        loss(z, y, view=torch.randn(5, 3))
    with pytest.raises(ValueError, match="view"):
        loss.setup(n_samples=10, n_classes=1, n_components=3, inputs={})
    with pytest.raises(ValueError, match="view"):
        loss.setup(
            n_samples=10, n_classes=1, n_components=3, inputs={"view": torch.ones(9, 3)}
        )
    loss.setup(
        n_samples=10, n_classes=1, n_components=3, inputs={"view": torch.randn(10, 2)}
    )
    with pytest.raises(ValueError, match="view must have 2 columns"):
        loss(z, y, view=torch.randn(4, 3))
    with pytest.raises(ValueError, match="weights"):
        CWCLLoss(weights=lambda v: torch.full((4, 4), 2.0))(z, y, view=z)
    with pytest.raises(ValueError, match="weights"):
        CWCLLoss(weights=lambda v: torch.ones(3, 3))(z, y, view=z)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"temperature": 0}, "temperature"),
        ({"weights": "euclid"}, "weights"),
        ({"project": "yes"}, "project"),
        ({"project": 1}, "project"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        CWCLLoss(**params)


def test_uniform_weights_warn_once_per_fit():
    view = torch.ones(12, 3) + 1e-3 * torch.randn(12, 3)
    loss = CWCLLoss()
    with pytest.warns(UserWarning, match="mean pair weight"):
        loss.setup(n_samples=12, n_classes=1, n_components=3, inputs={"view": view})
    z = torch.randn(6, 3)
    y = torch.zeros(6, dtype=torch.long)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss(z, y, view=view[:6])
        loss(z, y, view=view[6:])
    with pytest.warns(UserWarning, match="mean pair weight"):
        loss.setup(n_samples=12, n_classes=1, n_components=3, inputs={"view": view})
    # Direct use without setup: the first batch warns, the next do not.
    fresh = CWCLLoss(weights=lambda v: torch.ones(len(v), len(v)))
    with pytest.warns(UserWarning, match="mean pair weight"):
        fresh(z, y, view=z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh(z, y, view=z)
        CWCLLoss()(z, y, view=torch.randn(6, 3))


def test_registry():
    loss = get_loss("cwcl", temperature=0.5)
    assert isinstance(loss, CWCLLoss) and loss.requires == ("view",)
    assert loss.get_params() == {
        "project": "auto",
        "temperature": 0.5,
        "weights": "cosine",
    }
    assert loss.learns_without_labels()
