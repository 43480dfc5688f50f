"""Property-based tests (hypothesis) over every registered classification loss.

The losses and their input layouts come from the registry, so a new loss is
covered without new code: random valid batches of 1 to 24 rows (and empty
ones), logits from 1e-3 up to +-1e4 in scale, random targets and weights. The
properties: finite values and gradients; unit weights equal no weights; the
weighted mean does not depend on the weights' scale; permutation invariance;
the empty batch gives 0; and every identity a loss registers in its
``equivalences`` (e.g. focal with ``gamma=0`` is cross-entropy), checked on the
per-sample terms and their gradients.

Examples are derandomized, so CI runs the same cases every time.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_losses.losses import get_loss, get_loss_class, list_losses

F64 = torch.float64
SETTINGS = settings(max_examples=15, deadline=None, derandomize=True)

#: Per-sample inputs the tests can supply for ``requires``.
SUPPLIED = {
    "index": lambda n: torch.arange(n),
    "likelihood": lambda n: torch.linspace(0.05, 1.0, n, dtype=F64),
}


def _layouts():
    """(name, logits per sample, number of classes) for every usable loss."""
    out = []
    for task in ("binary", "multiclass"):
        for name in list_losses(task):
            cls = get_loss_class(name)
            if set(cls.requires) - set(SUPPLIED):
                continue  # needs the network or the batch features
            if task == "binary":
                out.append((name, cls.binary_logits, 2))
            else:
                out.append((name, 3, 3))
    return out


LAYOUTS = _layouts()
IDS = [f"{name}-{width}" for name, width, _ in LAYOUTS]
EQUIVALENCES = [
    pytest.param(name, params, other, other_params, width, k, id=f"{name}{params}")
    for name, width, k in LAYOUTS
    for params, other, other_params in get_loss_class(name).equivalences
    if width == 3 or get_loss_class(other).binary_logits == width
]


@st.composite
def batches(draw, width, n_classes, min_rows=1):
    """Logits, targets and weights of a random batch."""
    n = draw(st.integers(min_rows, 24))
    scale = draw(st.sampled_from([1e-3, 1.0, 5.0, 30.0, 1e4]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    shape = (n,) if width == 1 else (n, width)
    z = torch.tensor(rng.normal(size=shape) * scale, dtype=F64)
    y = torch.tensor(rng.integers(0, n_classes, size=n))
    w = torch.tensor(rng.uniform(0.0, 3.0, size=n), dtype=F64)
    if n:
        w[rng.integers(n)] += 0.5  # a positive total
    return z, y, w


def _context(name, n):
    return {key: SUPPLIED[key](n) for key in get_loss_class(name).requires}


def _evaluate(name, z, y, w=None, reduction=None, **params):
    """Value and gradient of a fresh loss under a fixed torch seed."""
    if reduction is not None:
        params["reduction"] = reduction
    z = z.detach().clone().requires_grad_(True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        loss = get_loss(name, **params)
        value = loss(z, y, sample_weight=w, **_context(name, len(y)))
    value.sum().backward()
    return value.detach(), z.grad


def _layout_param():
    return pytest.mark.parametrize(("name", "width", "k"), LAYOUTS, ids=IDS)


@_layout_param()
@SETTINGS
@given(data=st.data())
def test_finite_value_and_gradient(name, width, k, data):
    z, y, w = data.draw(batches(width, k))
    weighted = data.draw(st.booleans())
    value, grad = _evaluate(name, z, y, w if weighted else None)
    assert value.shape == () and torch.isfinite(value)
    assert torch.all(torch.isfinite(grad))


@_layout_param()
@SETTINGS
@given(data=st.data())
def test_unit_weights_equal_no_weights(name, width, k, data):
    z, y, _ = data.draw(batches(width, k))
    plain, g_plain = _evaluate(name, z, y)
    unit, g_unit = _evaluate(name, z, y, torch.ones(len(y), dtype=F64))
    torch.testing.assert_close(unit, plain, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(g_unit, g_plain, rtol=1e-12, atol=1e-14)


@_layout_param()
@SETTINGS
@given(data=st.data(), factor=st.sampled_from([1e-3, 0.5, 7.0, 1e3]))
def test_weight_scale_does_not_matter(name, width, k, data, factor):
    z, y, w = data.draw(batches(width, k))
    tol = {"rtol": 1e-9, "atol": 1e-12}
    if not get_loss_class(name).decomposable:
        # Batch-level losses on weighted counts shift each count by a constant
        # (AnyLoss: 1e-9, so that integer weights equal repeated rows exactly):
        # scale-invariant while the weighted counts are large against it, not
        # on tiny batches or tiny weights (where the shift dominates the counts).
        if factor < 0.5 or len(y) < 8:
            return
        tol = {"rtol": 1e-5, "atol": 1e-7}
    a, g_a = _evaluate(name, z, y, w)
    b, g_b = _evaluate(name, z, y, w * factor)
    torch.testing.assert_close(b, a, **tol)
    torch.testing.assert_close(g_b, g_a, **tol)


@_layout_param()
@SETTINGS
@given(data=st.data())
def test_permutation_invariance(name, width, k, data):
    z, y, w = data.draw(batches(width, k))
    if get_loss_class(name).requires:
        pytest.skip("per-sample state indexed by row: covered by test_contract")
    perm = torch.tensor(np.random.default_rng(len(y)).permutation(len(y)))
    a, g_a = _evaluate(name, z, y, w)
    b, g_b = _evaluate(name, z[perm], y[perm], w[perm])
    if not get_loss_class(name).exact_gradient:
        # One random draw per row: the same draws go to other rows.
        assert torch.isfinite(b)
        return
    torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(g_b, g_a[perm], rtol=1e-10, atol=1e-12)


@_layout_param()
def test_empty_batch_is_zero(name, width, k):
    z = torch.zeros((0,) if width == 1 else (0, width), dtype=F64)
    y = torch.zeros(0, dtype=torch.long)
    for w in (None, torch.zeros(0, dtype=F64)):
        value, grad = _evaluate(name, z, y, w)
        assert value.shape == () and float(value) == 0.0
        assert grad.shape == z.shape


@pytest.mark.parametrize(
    ("name", "params", "other", "other_params", "width", "k"), EQUIVALENCES
)
@SETTINGS
@given(data=st.data())
def test_registered_equivalences(name, params, other, other_params, width, k, data):
    z, y, w = data.draw(batches(width, k))
    a, g_a = _evaluate(name, z, y, reduction="none", **params)
    b, g_b = _evaluate(other, z, y, reduction="none", **other_params)
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(g_a, g_b, rtol=1e-9, atol=1e-12)
    wa, _ = _evaluate(name, z, y, w, **params)
    wb, _ = _evaluate(other, z, y, w, **other_params)
    torch.testing.assert_close(wa, wb, rtol=1e-9, atol=1e-12)


def test_every_registered_equivalence_is_checked():
    # Classification losses here; ranking losses' equivalences (on lists) are
    # checked in test_ranking.py.
    names = sorted(set(list_losses("binary")) | set(list_losses("multiclass")))
    registered = sum(len(get_loss_class(n).equivalences) for n in names)
    assert registered >= 7
    checked = {(p.values[0], str(p.values[1])) for p in EQUIVALENCES}
    for name in names:
        for params, _, _ in get_loss_class(name).equivalences:
            assert (name, str(params)) in checked
