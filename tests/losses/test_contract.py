"""The loss contract, checked on every registered classification loss.

Every loss that ``list_losses("binary")`` or ``list_losses("multiclass")``
returns is built with its default parameters (``get_loss(name)``) and run on
each input it supports: one logit ``(n,)`` or two logits ``(n, 2)`` per sample
for binary (``binary_logits``), ``(n, K)`` logits with ``K`` in 3, 4 for
multiclass. Every loss of ``list_losses("distillation")`` gets ``n_heads``
heads of ``K`` logits per sample (``K`` in 2, 3, 4) and the teacher's
``(n, K)`` logits. Only the class attributes are read (``requires``,
``decomposable``, ``binary_logits``, ``n_heads``), so a newly registered loss
is checked without touching this file. Loss-specific values and parameters are tested in
the loss's own file.

Per-sample weight equivalences (repeated rows, dropped rows, hand-weighted
reductions, zero total weight, weight shape) hold for ``decomposable`` losses
only: batch-level losses define their own weight semantics, and are only held to
finite values and gradients and to unit weights equalling no weights.

Every evaluation builds a fresh loss under a fixed torch seed, so losses that
draw random numbers or keep per-sample state give the same value for the same
input.
"""

import inspect
import re
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from _reference import (
    F64,
    assert_column_equals_flat,
    assert_dtype_follows_input,
    assert_gradcheck,
    assert_repeated_rows,
    assert_unit_weights,
    assert_weighted_reductions,
    assert_zero_weights_drop_rows,
    extreme_logits,
    finite_value_and_grad,
)

from sklearn_losses.losses import TASKS, get_loss, get_loss_class, list_losses


def _teacher_logits(n, k):
    """Fixed ``(n, k)`` teacher logits, distinct within each row."""
    rng = np.random.default_rng(100 * n + k)
    values = rng.permutation(np.linspace(-3.0, 3.0, n * k)).reshape(n, k)
    return torch.tensor(values, dtype=torch.float64)


#: Extra per-sample inputs (``BaseLoss.requires``) these tests can supply for
#: ``n`` rows of ``k`` classes: the row index, as the estimators pass it, a
#: likelihood, a teacher's logits.
SUPPLIED = {
    "index": lambda n, k: torch.arange(n),
    "likelihood": lambda n, k: torch.linspace(0.05, 1.0, n, dtype=torch.float64),
    "teacher_logits": _teacher_logits,
}
REDUCTIONS = ("mean", "sum", "none")
# Unit weights against no weights: decomposable losses reduce through
# weighted_reduce, where both are exact; batch-level losses get some slack.
UNIT_TOL = {True: {"rtol": 1e-14, "atol": 1e-15}, False: {"rtol": 1e-12, "atol": 1e-14}}


def _has_reduction(cls):
    return "reduction" in cls._param_names()


class _FreshLoss:
    """Calls a fresh ``get_loss(name, **params)`` under a fixed seed of torch's
    default (CPU) generator, restored afterwards."""

    def __init__(self, name, **params):
        self.name, self.params = name, params

    def __call__(self, input, target, *, sample_weight=None, **context):
        rng = torch.default_generator  # (torch.manual_seed is 100x slower)
        state = rng.get_state()
        rng.manual_seed(0)
        try:
            loss = get_loss(self.name, **self.params)
            return loss(input, target, sample_weight=sample_weight, **context)
        finally:
            rng.set_state(state)


@dataclass(frozen=True)
class Case:
    """One registered loss on one input layout."""

    name: str
    task: str
    n_out: int  # logits per sample

    def __str__(self):
        return f"{self.name}-{self.task}{self.n_out}"

    @property
    def cls(self):
        return get_loss_class(self.name)

    @property
    def n_classes(self):
        if self.task == "binary":
            return 2
        return self.n_out // getattr(self.cls, "n_heads", 1)

    @property
    def reductions(self):
        """The ``reduction`` values to try; ``(None,)`` (the default) without one."""
        return REDUCTIONS if _has_reduction(self.cls) else (None,)

    def loss(self, reduction=None):
        params = {} if reduction is None else {"reduction": reduction}
        return _FreshLoss(self.name, **params)

    def mean_loss(self):
        return self.loss("mean" if "mean" in self.reductions else None)

    def context(self, n):
        """The extra inputs the loss requires, for ``n`` rows."""
        return {key: SUPPLIED[key](n, self.n_classes) for key in self.cls.requires}

    def weights(self, n):
        """Distinct weights, with a zero for decomposable losses."""
        low = 0.0 if self.cls.decomposable else 0.5
        return torch.linspace(low, 2.0, n, dtype=F64)

    def data(self, n, seed=0, dtype=F64):
        """Logits ``(n,)`` or ``(n, K)`` and targets holding every class.

        The logits' absolute values are distinct (evenly spaced, shuffled, with
        random signs), so no two logits nor margins ``+-z`` tie, even after a
        gradcheck step.
        """
        rng = np.random.default_rng(seed)
        shape = (n,) if self.n_out == 1 else (n, self.n_out)
        size = int(np.prod(shape))
        magnitudes = rng.permutation(np.linspace(0.21, 2.47, size))
        signs = rng.choice([-1.0, 1.0], size=size)
        z = torch.tensor((signs * magnitudes).reshape(shape), dtype=dtype)
        y = torch.tensor(rng.permutation(np.arange(n) % self.n_classes))
        return z, y

    def forms(self, z):
        """``z``, and its ``(n, 1)`` column form for one logit."""
        return [z, z.reshape(-1, 1)] if self.n_out == 1 else [z]


def _cases():
    cases = []
    for task in ("binary", "multiclass", "distillation"):
        for name in list_losses(task):
            cls = get_loss_class(name)
            widths = (cls.binary_logits,) if task == "binary" else (3, 4)
            if task == "distillation":
                widths = tuple(k * getattr(cls, "n_heads", 1) for k in (2, 3, 4))
            cases += [Case(name, task, n_out) for n_out in widths]
    return cases


CASES = _cases()
NAMES = sorted({case.name for case in CASES})
DECOMPOSABLE = [case for case in CASES if case.cls.decomposable]
ONE_LOGIT = [case for case in CASES if case.n_out == 1]


def _with_reductions(cases, only=REDUCTIONS):
    return [
        pytest.param(case, r, id=f"{case}-{r or 'default'}")
        for case in cases
        for r in case.reductions
        if r is None or r in only
    ]


@pytest.fixture
def case(request):
    case = request.param
    missing = sorted(set(case.cls.requires) - set(SUPPLIED))
    if missing:
        pytest.skip(f"{case.name} requires {missing}, which these tests cannot supply")
    return case


def _cases_param(cases):
    """``parametrize`` over ``cases`` through the ``case`` fixture."""
    return pytest.mark.parametrize("case", cases, ids=str, indirect=True)


# -- values and gradients -------------------------------------------------------
@pytest.mark.parametrize("weighted", [False, True])
@_cases_param(CASES)
def test_value_is_finite_scalar(case, weighted):
    z, y = case.data(8)
    w = case.weights(8) if weighted else None
    for x in case.forms(z):
        value = finite_value_and_grad(case.loss(), x, y, w, case.context(8))
        assert value.shape == ()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("case", "reduction"), _with_reductions(CASES), indirect=["case"]
)
def test_gradcheck(case, reduction, weighted):
    if not case.cls.exact_gradient:
        pytest.skip(f"{case.cls.name} delivers a sampled gradient, not d(value)")
    z, y = case.data(5, seed=1)
    w = case.weights(5) if weighted else None
    for x in case.forms(z):
        assert_gradcheck(case.loss(reduction), x, y, w, case.context(5))


@pytest.mark.parametrize("big", [1e4, 80.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@_cases_param(CASES)
def test_extreme_logits_finite(case, dtype, big):
    z, y = extreme_logits(case.n_out, big, dtype, n_classes=case.n_classes)
    context = case.context(len(y))
    for reduction in case.reductions:
        finite_value_and_grad(case.loss(reduction), z, y, context=context)
    if case.cls.decomposable:
        w = torch.tensor([0.5, 2.0, 0.0, 1.0], dtype=dtype)
        finite_value_and_grad(case.mean_loss(), z, y, w, context)


@pytest.mark.parametrize("weight_dtype", [None, torch.float32, torch.float64])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("case", "reduction"), _with_reductions(CASES, ("mean", "none")), indirect=["case"]
)
def test_output_dtype_follows_input(case, reduction, dtype, weight_dtype):
    z, y = case.data(6, seed=2)
    loss, context = case.loss(reduction), case.context(6)
    if case.cls.decomposable:
        assert_dtype_follows_input(loss, z, y, dtype, weight_dtype, context)
    else:  # no claim on float32 accuracy for batch-level losses
        w = None if weight_dtype is None else torch.ones(6, dtype=weight_dtype)
        finite_value_and_grad(loss, z.to(dtype), y, w, context)


@pytest.mark.parametrize("weighted", [False, True])
@_cases_param(CASES)
def test_permutation_invariance(case, weighted):
    n = 9
    z, y = case.data(n, seed=3)
    w = case.weights(n) if weighted else None
    context = case.context(n)
    perm = torch.tensor(np.random.default_rng(4).permutation(n))
    z1 = z.clone().requires_grad_(True)
    z2 = z[perm].clone().requires_grad_(True)
    loss = case.mean_loss()
    value = loss(z1, y, sample_weight=w, **context)
    shuffled = loss(
        z2,
        y[perm],
        sample_weight=None if w is None else w[perm],
        **{key: v[perm] for key, v in context.items()},
    )
    torch.testing.assert_close(shuffled, value, rtol=1e-12, atol=1e-14)
    value.backward()
    shuffled.backward()
    torch.testing.assert_close(z2.grad, z1.grad[perm], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("case", "reduction"), _with_reductions(ONE_LOGIT), indirect=["case"]
)
def test_column_input_equals_flat_input(case, reduction, weighted):
    z, y = case.data(7, seed=5)
    w = torch.arange(7, dtype=F64) if weighted else None
    assert_column_equals_flat(case.loss(reduction), z, y, w, case.context(7))


# -- sample weights -------------------------------------------------------------
@pytest.mark.parametrize(
    ("case", "reduction"), _with_reductions(CASES), indirect=["case"]
)
def test_unit_weights_equal_no_weights(case, reduction):
    z, y = case.data(7, seed=6)
    tol = UNIT_TOL[bool(case.cls.decomposable)]
    for x in case.forms(z):
        assert_unit_weights(case.loss(reduction), x, y, context=case.context(7), **tol)


@pytest.mark.parametrize(
    ("case", "reduction"),
    _with_reductions(DECOMPOSABLE, ("mean", "sum")),
    indirect=["case"],
)
def test_integer_weights_equal_repeated_rows(case, reduction):
    for squeeze in (True, False) if case.n_out == 1 else (True,):
        assert_repeated_rows(
            case.loss(reduction),
            case.n_out,
            squeeze,
            context=case.context(7),
            n_classes=case.n_classes,
        )


@pytest.mark.parametrize(
    ("case", "reduction"),
    _with_reductions(DECOMPOSABLE, ("mean", "sum")),
    indirect=["case"],
)
def test_zero_weights_drop_rows(case, reduction):
    assert_zero_weights_drop_rows(
        case.loss(reduction),
        case.n_out,
        context=case.context(7),
        n_classes=case.n_classes,
    )


@_cases_param([case for case in DECOMPOSABLE if _has_reduction(case.cls)])
def test_weighted_sum_and_none_equal_hand_weighted_terms(case):
    z, y = case.data(7, seed=7)
    context = case.context(7)
    w = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5], dtype=F64)
    terms = case.loss("none")(z, y, **context)
    assert terms.shape == (7,)
    assert_weighted_reductions(case.loss, z, y, w, terms.numpy(), context)


@_cases_param(DECOMPOSABLE)
def test_zero_total_weight_gives_zero(case):
    z, y = case.data(7, seed=8)
    z.requires_grad_(True)
    out = case.mean_loss()(
        z, y, sample_weight=torch.zeros(7, dtype=F64), **case.context(7)
    )
    assert out.item() == 0.0
    assert not torch.isnan(out)
    out.backward()
    assert torch.all(z.grad == 0)


@pytest.mark.parametrize("shape", [(6,), (8,), (7, 1)])
@_cases_param(DECOMPOSABLE)
def test_bad_sample_weight_shape(case, shape):
    z, y = case.data(7, seed=9)
    for reduction in case.reductions:
        with pytest.raises(ValueError, match="sample_weight"):
            case.loss(reduction)(
                z, y, sample_weight=torch.ones(shape, dtype=F64), **case.context(7)
            )


# -- parameters and registry ----------------------------------------------------
@pytest.mark.parametrize("value", ["bad", "avg", None])
@pytest.mark.parametrize(
    "name", [name for name in NAMES if _has_reduction(get_loss_class(name))]
)
def test_invalid_reduction(name, value):
    with pytest.raises(ValueError, match="reduction"):
        get_loss(name, reduction=value)


def _has_section(doc, title):
    return re.search(rf"^{title}\n-{{{len(title)}}}$", doc, re.M) is not None


@pytest.mark.parametrize("name", NAMES)
def test_registry_metadata(name):
    cls = get_loss_class(name)
    assert cls.name == name
    assert name in list_losses()
    for task in cls.tasks:
        assert name in list_losses(task)
    for alias in cls.aliases:
        assert get_loss_class(alias) is cls
        assert type(get_loss(alias)) is cls
    assert cls.tasks and set(cls.tasks) <= set(TASKS)
    assert isinstance(cls.requires, tuple)
    assert all(isinstance(key, str) for key in cls.requires)
    assert cls.binary_logits in (1, 2)
    assert cls.monitor in ("loss", "score")
    assert isinstance(cls.decomposable, bool)
    assert cls.__doc__, f"{cls.__name__} has no docstring"
    doc = inspect.cleandoc(cls.__doc__)
    for title in ("References", "Examples"):
        assert _has_section(doc, title), f"{cls.__name__}: no {title!r} section"
    assert ".. math::" in doc
