"""The column layout of softmax / log-softmax / cross-entropy (used on CPU for
short rows in larger batches) against torch's kernels on rows, directly and
through every registered multiclass loss."""

import pytest
import torch
import torch.nn.functional as F

from sklearn_losses.losses import _softmax, get_loss, get_loss_class, list_losses

SUPPLIED = {
    "index": lambda n: torch.arange(n),
    "likelihood": lambda n: torch.linspace(0.05, 1.0, n, dtype=torch.float64),
}


def _force(monkeypatch, form):
    """Make ``_softmax.layout`` choose ``form`` whatever the batch size and CPU."""
    if form == "row":
        monkeypatch.setattr(_softmax, "_VECTOR_BYTES", 0)
    else:
        monkeypatch.setattr(_softmax, "_VECTOR_BYTES", 1 << 20)
        monkeypatch.setattr(_softmax, "_MIN_COLUMN", 0)


@pytest.fixture
def column(monkeypatch):
    """Force the column layout."""
    _force(monkeypatch, "column")
    return "column"


def _logits(n, k, dtype, scale=3.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=gen, dtype=dtype) * scale


def _tol(dtype):
    if dtype == torch.float32:
        return {"rtol": 1e-5, "atol": 1e-6}
    return {"rtol": 1e-12, "atol": 1e-13}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("scale", [1e-3, 3.0, 1e4])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_functions_match_torch(column, dtype, scale, smoothing):
    z = _logits(64, 5, dtype, scale)
    y = torch.randint(0, 5, (64,), generator=torch.Generator().manual_seed(1))
    assert _softmax.layout(z) == "column"
    pairs = [
        (_softmax.log_softmax, lambda t: F.log_softmax(t, dim=1)),
        (_softmax.softmax, lambda t: torch.softmax(t, dim=1)),
        (
            lambda t: _softmax.cross_entropy(t, y, smoothing),
            lambda t: F.cross_entropy(
                t, y, reduction="none", label_smoothing=smoothing
            ),
        ),
    ]
    for ours, ref in pairs:
        a = z.clone().requires_grad_(True)
        b = z.clone().requires_grad_(True)
        out_a, out_b = ours(a), ref(b)
        torch.testing.assert_close(out_a, out_b, **_tol(dtype))
        weights = torch.linspace(0.1, 1.0, out_a.numel(), dtype=dtype)
        (out_a.reshape(-1) * weights).sum().backward()
        (out_b.reshape(-1) * weights).sum().backward()
        torch.testing.assert_close(a.grad, b.grad, **_tol(dtype))


def test_masked_and_nan_rows_behave_as_torch(column):
    z = _logits(4, 3, torch.float32)
    z[0, 1] = -torch.inf
    z[1, 2] = torch.nan
    torch.testing.assert_close(
        _softmax.log_softmax(z), F.log_softmax(z, dim=1), equal_nan=True
    )


def test_layout_rule(monkeypatch):
    monkeypatch.setattr(_softmax, "_VECTOR_BYTES", 64)
    monkeypatch.setattr(_softmax, "_MIN_COLUMN", 1024)
    assert _softmax.layout(torch.zeros(1024, 10)) == "column"
    assert _softmax.layout(torch.zeros(103, 10)) == "column"
    assert _softmax.layout(torch.zeros(100, 10)) == "row"  # small batch
    assert _softmax.layout(torch.zeros(1024, 16)) == "row"  # a full register
    wide = torch.zeros(1024, 10, dtype=torch.float64)[:, :8]
    assert _softmax.layout(wide) == "row"


MULTICLASS = [
    name
    for name in list_losses("multiclass")
    if set(get_loss_class(name).requires) <= set(SUPPLIED)
]


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", MULTICLASS)
def test_every_loss_agrees_on_both_layouts(monkeypatch, name, dtype, weighted):
    z = _logits(48, 4, dtype, seed=2)
    y = torch.arange(48) % 4
    w = torch.linspace(0.0, 2.0, 48, dtype=dtype) if weighted else None
    context = {k: SUPPLIED[k](48) for k in get_loss_class(name).requires}

    def run(form):
        _force(monkeypatch, form)
        x = z.clone().requires_grad_(True)
        torch.manual_seed(0)
        value = get_loss(name)(x, y, sample_weight=w, **context)
        value.backward()
        return value.detach(), x.grad

    ref_value, ref_grad = run("row")  # torch's kernels
    value, grad = run("column")
    torch.testing.assert_close(value, ref_value, **_tol(dtype))
    torch.testing.assert_close(grad, ref_grad, **_tol(dtype))
