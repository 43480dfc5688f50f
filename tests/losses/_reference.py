"""Shared helpers of the loss tests: fixed inputs, tensor builders, pure-Python
reductions and the checks of the weighting contract.

``test_contract.py`` runs these checks on every registered classification loss
with its default parameters; the per-loss files run them again at
loss-specific parameters. Imported as ``from _reference import ...`` (the test
folder has no ``__init__.py`` and is put on ``sys.path`` by pytest).

A ``loss`` argument below is anything called as
``loss(input, target, sample_weight=..., **context)``; ``context`` maps the
names of extra per-sample inputs (such as ``"index"``) to tensors with one row
per sample, which follow the rows when a check repeats, drops or reorders them.
"""

import numpy as np
import pytest
import torch

F64 = torch.float64

# Fixed inputs: binary log-odds and targets, and (n, K) logits.
BIN_Z = [-2.5, -0.7, 0.0, 0.4, 1.3, 3.0, -1.1]
BIN_Y = [0, 1, 1, 0, 1, 0, 0]
MC_Y = {3: [0, 2, 1, 1, 0, 2], 4: [3, 0, 1, 2, 3, 0]}
EXTREMES = [1e4, -1e4, 80.0, -80.0]
# Per-row counts of the repeated-rows check (rows of ``linear_problem``).
COUNTS = [1, 0, 2, 3, 1, 0, 4]


def mc_logits(k):
    """Fixed ``(len(MC_Y[k]), k)`` logits as a numpy array."""
    return np.random.default_rng(k).normal(scale=2.0, size=(len(MC_Y[k]), k))


def reduce_ref(terms, reduction):
    """Reduce a list of per-sample terms in pure Python."""
    if reduction == "mean":
        return sum(terms) / len(terms)
    if reduction == "sum":
        return sum(terms)
    return terms


def as_tensor(values, dtype=F64, requires_grad=False):
    return torch.tensor(values, dtype=dtype, requires_grad=requires_grad)


def as_target(values):
    return torch.tensor(values, dtype=torch.long)


def fixed_input(shape):
    """The fixed ``(input, target)`` pair for ``shape`` in n, n1, k3, k4.

    ``"n"`` is ``BIN_Z`` as ``(n,)``, ``"n1"`` the same as a column ``(n, 1)``;
    ``"kK"`` the ``(n, K)`` logits of :func:`mc_logits`.
    """
    if shape in ("n", "n1"):
        z = as_tensor(BIN_Z)
        return (z.reshape(-1, 1) if shape == "n1" else z), as_target(BIN_Y)
    k = int(shape[1:])
    return as_tensor(mc_logits(k)), as_target(MC_Y[k])


def linear_problem(n_out, n=7, d=3, seed=0, n_classes=None):
    """Features ``x (n, d)``, a linear layer ``weight (d, n_out)`` and targets.

    The targets are class indices below ``n_classes`` (default: 2 for one
    output, else ``n_out``; a loss with several heads of ``K`` logits has
    ``n_out = heads * K``).
    """
    rng = np.random.default_rng(seed)
    x = torch.tensor(rng.normal(size=(n, d)), dtype=F64)
    weight = torch.tensor(rng.normal(size=(d, n_out)), dtype=F64)
    high = n_classes or (2 if n_out == 1 else n_out)
    y = torch.tensor(rng.integers(0, high, size=n), dtype=torch.long)
    return x, weight, y


def take_rows(context, rows):
    """The per-sample ``context`` restricted to (or repeated along) ``rows``."""
    return {key: value[rows] for key, value in (context or {}).items()}


def value_and_grad(loss, x, weight, y, sample_weight=None, squeeze=True, context=None):
    """The loss of the logits ``x @ weight`` and its gradient w.r.t. ``weight``.

    One output column is squeezed to ``(n,)`` unless ``squeeze=False``.
    """
    weight = weight.clone().requires_grad_(True)
    logits = x @ weight
    if squeeze and logits.shape[1] == 1:
        logits = logits[:, 0]
    value = loss(logits, y, sample_weight=sample_weight, **(context or {}))
    value.sum().backward()
    return value.detach(), weight.grad


# -- checks ---------------------------------------------------------------------
def assert_gradcheck(loss, z, y, sample_weight=None, context=None):
    """``torch.autograd.gradcheck`` of ``loss`` w.r.t. the input ``z`` (float64)."""
    z = z.detach().clone().requires_grad_(True)
    context = context or {}
    assert torch.autograd.gradcheck(
        lambda x: loss(x, y, sample_weight=sample_weight, **context), (z,)
    )


def assert_unit_weights(loss, z, y, rtol, atol, context=None):
    """Unit sample weights give the value and gradient of no weights."""
    context = context or {}
    z_plain = z.detach().clone().requires_grad_(True)
    z_ones = z.detach().clone().requires_grad_(True)
    plain = loss(z_plain, y, **context)
    ones = loss(z_ones, y, sample_weight=torch.ones(len(y), dtype=z.dtype), **context)
    torch.testing.assert_close(ones, plain, rtol=rtol, atol=atol)
    plain.sum().backward()
    ones.sum().backward()
    torch.testing.assert_close(z_ones.grad, z_plain.grad, rtol=rtol, atol=atol)


def assert_repeated_rows(
    loss, n_out, squeeze=True, rtol=1e-12, atol=1e-14, context=None, n_classes=None
):
    """Integer weights equal repeating the rows (value and gradient w.r.t. the
    weight of a linear layer shared by all rows)."""
    x, weight, y = linear_problem(n_out, n_classes=n_classes)
    counts = torch.tensor(COUNTS)
    value_w, grad_w = value_and_grad(
        loss, x, weight, y, counts.to(F64), squeeze=squeeze, context=context
    )
    idx = torch.repeat_interleave(torch.arange(len(y)), counts)
    value_r, grad_r = value_and_grad(
        loss, x[idx], weight, y[idx], squeeze=squeeze, context=take_rows(context, idx)
    )
    torch.testing.assert_close(value_w, value_r, rtol=rtol, atol=atol)
    torch.testing.assert_close(grad_w, grad_r, rtol=rtol, atol=atol)


def assert_zero_weights_drop_rows(
    loss, n_out, kept_nonzero=False, context=None, n_classes=None
):
    """Zero weights give the value and gradient of the kept rows alone, and
    exactly zero gradient on the dropped rows' logits."""
    x, weight, y = linear_problem(n_out, n_classes=n_classes)
    w = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=F64)
    keep = w > 0
    value_w, grad_w = value_and_grad(loss, x, weight, y, w, context=context)
    value_k, grad_k = value_and_grad(
        loss, x[keep], weight, y[keep], context=take_rows(context, keep)
    )
    torch.testing.assert_close(value_w, value_k, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad_w, grad_k, rtol=1e-12, atol=1e-14)
    logits = (x @ weight).requires_grad_(True)
    loss(logits, y, sample_weight=w, **(context or {})).sum().backward()
    assert torch.all(logits.grad[~keep] == 0)
    if kept_nonzero:
        assert torch.all(logits.grad[keep].abs().sum(dim=-1) > 0)


def assert_weighted_reductions(make_loss, z, y, w, ref, context=None):
    """``reduction="none"``/``"sum"``/``"mean"`` with weights ``w`` equal the
    hand-weighted unweighted terms ``ref`` (the mean divides by ``sum(w)``).

    ``make_loss(reduction)`` builds the loss.
    """
    context = context or {}
    ref, w_np = np.asarray(ref, dtype=float), w.numpy()
    out = make_loss("none")(z, y, sample_weight=w, **context)
    assert out.shape == (len(y),)
    np.testing.assert_allclose(out.numpy(), w_np * ref, rtol=1e-12)
    out = make_loss("sum")(z, y, sample_weight=w, **context)
    assert out.item() == pytest.approx(float(np.sum(w_np * ref)), rel=1e-12)
    out = make_loss("mean")(z, y, sample_weight=w, **context)
    expected = np.sum(w_np * ref) / w_np.sum()
    assert out.item() == pytest.approx(float(expected), rel=1e-12)


def assert_column_equals_flat(loss, z, y, sample_weight, context=None):
    """One logit as a column ``(n, 1)`` gives exactly the ``(n,)`` result."""
    context = context or {}
    column = z.reshape(-1, 1)
    torch.testing.assert_close(
        loss(column, y, **context), loss(z, y, **context), rtol=0, atol=0
    )
    torch.testing.assert_close(
        loss(column, y, sample_weight=sample_weight, **context),
        loss(z, y, sample_weight=sample_weight, **context),
        rtol=0,
        atol=0,
    )


def extreme_binary(dtype):
    """``EXTREMES`` twice as one logit each, targets 0 then 1."""
    z = torch.tensor(EXTREMES * 2, dtype=dtype)
    return z, as_target([0] * 4 + [1] * 4)


def extreme_logits(n_out, big, dtype, n_classes=None):
    """Logits of magnitude ``big``: confidently right, confidently wrong, wrong
    with a tie at the top, and all tied.

    One logit: ``[big, -big, big, -big]`` with targets ``[0, 0, 1, 1]``. ``K``
    logits: rows ``[big, -big, 0...]`` (targets 0 and 1), ``[-big, big...]``
    (target 0) and ``[big...]`` (target ``K - 1``; ``n_classes - 1`` for
    ``n_out`` outputs of several heads).
    """
    if n_out == 1:
        return torch.tensor([big, -big, big, -big], dtype=dtype), as_target(
            [0, 0, 1, 1]
        )
    pad = [0.0] * (n_out - 2)
    rows = [
        [big, -big, *pad],
        [big, -big, *pad],
        [-big] + [big] * (n_out - 1),
        [big] * n_out,
    ]
    last = (n_classes or n_out) - 1
    return torch.tensor(rows, dtype=dtype), as_target([0, 1, 0, last])


def finite_value_and_grad(loss, z, y, sample_weight=None, context=None):
    """The loss at ``z``; asserts its dtype and that it and its gradient are finite."""
    z = z.detach().clone().requires_grad_(True)
    out = loss(z, y, sample_weight=sample_weight, **(context or {}))
    assert out.dtype == z.dtype
    assert torch.all(torch.isfinite(out))
    out.sum().backward()
    assert z.grad.dtype == z.dtype
    assert torch.all(torch.isfinite(z.grad))
    return out.detach()


def assert_dtype_follows_input(loss, z, y, dtype, weight_dtype, context=None):
    """In ``dtype`` (weights in ``weight_dtype`` or none), the value and gradient
    are ``dtype``, finite, and match the float64 value."""
    context = context or {}
    w = None
    if weight_dtype is not None:
        w = torch.linspace(0.5, 1.5, len(y), dtype=weight_dtype)
    w64 = None if w is None else w.to(F64)
    reference = loss(z.to(F64), y, sample_weight=w64, **context)
    out = finite_value_and_grad(loss, z.to(dtype), y, w, context)
    tol = 1e-12 if dtype == F64 and weight_dtype != torch.float32 else 1e-5
    torch.testing.assert_close(out.to(F64), reference.detach(), rtol=tol, atol=tol)
