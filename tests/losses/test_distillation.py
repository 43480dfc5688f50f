"""Tests of the distillation losses (KD, Dual-Head KD, PLD).

Reference values of the classification spec (sections 8 and 9), independent
pure-Python re-implementations on random inputs, gradcheck in float64, the
weighting contract at non-default parameters, the invariances and special
cases the papers state, and bad input. The generic contract at the default
parameters runs in test_contract.py.
"""

import math

import _reference as shared
import numpy as np
import pytest
import torch
from _reference import F64, as_target, as_tensor

from sklearn_losses.losses import (
    CrossEntropyLoss,
    DistillationLoss,
    DualHeadKDLoss,
    KDLoss,
    PLDLoss,
    check_loss_task,
    get_loss,
    get_loss_class,
    list_losses,
    teacher_order,
    trusted_targets,
)


# -- independent reference (pure Python on lists, no torch) ---------------------
def _lse(values):
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def _log_softmax(row, temperature=1.0):
    scaled = [v / temperature for v in row]
    norm = _lse(scaled)
    return [v - norm for v in scaled]


def _ce(row, y):
    return -_log_softmax(row)[y]


def _kl_softened(s, t, temperature):
    log_q, log_p = _log_softmax(s, temperature), _log_softmax(t, temperature)
    kl = sum(math.exp(lp) * (lp - lq) for lp, lq in zip(log_p, log_q))
    return temperature**2 * kl


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _binary_kl_norm(s, t, temperature):
    """Per class KL(Bern(1/2) || Bern(sigmoid((s - t) / T))), times T^2."""
    total = 0.0
    for sk, tk in zip(s, t):
        q = _sigmoid((sk - tk) / temperature)
        total += 0.5 * math.log(0.5 / q) + 0.5 * math.log(0.5 / (1.0 - q))
    return temperature**2 * total


def _binary_kl(s, t, temperature):
    total = 0.0
    for sk, tk in zip(s, t):
        p, q = _sigmoid(tk / temperature), _sigmoid(sk / temperature)
        total += p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
    return temperature**2 * total


def _kd_ref(s, t, y, temperature=4.0, alpha=0.9):
    return (1 - alpha) * _ce(s, y) + alpha * _kl_softened(s, t, temperature)


def _dual_ref(
    s,
    t,
    y,
    temperature=2.0,
    gamma=1.0,
    alpha=1.0,
    main_head_kd_weight=0.0,
    kd_temperature=4.0,
    logit_loss="binary_kl_norm",
):
    k = len(t)
    main, aux = s[:k], s[k:]
    logit = _binary_kl_norm if logit_loss == "binary_kl_norm" else _binary_kl
    out = gamma * _ce(main, y) + alpha * logit(aux, t, temperature)
    return out + main_head_kd_weight * _kl_softened(main, t, kd_temperature)


def _pld_order(t, y):
    """y first, then the others by decreasing t, ties by increasing index."""
    others = sorted((k for k in range(len(t)) if k != y), key=lambda k: (-t[k], k))
    return [y, *others]


def _pld_ref(s, t, y, teacher_temperature=1.0, min_label_weight=0.0):
    order = _pld_order(t, y)
    p = [math.exp(v) for v in _log_softmax(t, teacher_temperature)]
    alpha = [p[c] for c in order]
    alpha[0] = max(alpha[0], min_label_weight)
    total = 0.0
    for i, c in enumerate(order):
        total += alpha[i] * (_lse([s[j] for j in order[i:]]) - s[c])
    return total


REFS = {"kd": _kd_ref, "dual_head": _dual_ref, "pld": _pld_ref}
PARAMS = {
    "kd": [{}, {"temperature": 1.0, "alpha": 0.0}, {"temperature": 2.5, "alpha": 0.3}],
    "dual_head": [
        {},
        {"temperature": 1.0, "gamma": 0.5, "alpha": 0.1},
        {"main_head_kd_weight": 0.7, "kd_temperature": 3.0},
        {"logit_loss": "binary_kl", "temperature": 3.0, "main_head_kd_weight": 0.2},
    ],
    "pld": [
        {},
        {"teacher_temperature": 4.0},
        {"teacher_temperature": 0.5, "min_label_weight": 0.6},
    ],
}
CASES = [
    pytest.param(name, params, id=f"{name}-{i}")
    for name, grid in PARAMS.items()
    for i, params in enumerate(grid)
]


def _n_heads(name):
    return get_loss_class(name).n_heads


def _random_batch(name, n, k, seed=0, scale=2.0):
    """Student logits ``(n, n_heads k)``, targets and teacher logits ``(n, k)``."""
    rng = np.random.default_rng(seed)
    s = rng.normal(scale=scale, size=(n, k * _n_heads(name)))
    t = rng.normal(scale=scale, size=(n, k))
    y = rng.integers(0, k, size=n)
    return as_tensor(s), as_target(y), as_tensor(t)


def _terms_ref(name, s, y, t, **params):
    return [
        REFS[name](si, ti, yi, **params)
        for si, ti, yi in zip(s.tolist(), t.tolist(), y.tolist())
    ]


# -- spec section 8: Dual-Head KD ---------------------------------------------------
S8, T8 = [[1.0, 0.0, -1.0]], [[2.0, 0.0, -2.0]]
MAIN8 = [[1.5, 0.2, -0.3]]


def _dual(main, aux, t, y, **params):
    s = torch.cat([as_tensor(main), as_tensor(aux)], dim=1)
    return DualHeadKDLoss(**params)(s, as_target(y), teacher_logits=as_tensor(t))


def test_spec8_binary_kl_norm_reference():
    value = _dual(MAIN8, S8, T8, [0], temperature=2.0, gamma=0.0, alpha=1.0)
    assert value.item() == pytest.approx(0.247438, abs=5e-7)
    # = 4 * sum_k log cosh(d_k / 4)
    d = np.array(S8[0]) - np.array(T8[0])
    assert value.item() == pytest.approx(4 * np.log(np.cosh(d / 4)).sum(), rel=1e-12)


def test_spec8_binary_kl_reference():
    value = _dual(
        MAIN8, S8, T8, [0], temperature=2.0, gamma=0.0, logit_loss="binary_kl"
    )
    assert value.item() == pytest.approx(0.210757, abs=5e-7)


def test_spec8_softmax_kd_reference():
    kd = KDLoss(temperature=4.0, alpha=1.0)
    value = kd(as_tensor(S8), as_target([0]), teacher_logits=as_tensor(T8))
    assert value.item() == pytest.approx(0.305721, abs=5e-7)
    # the same term as the main-head KD option of the dual head
    value = _dual(S8, S8, T8, [0], gamma=0.0, alpha=0.0, main_head_kd_weight=1.0)
    assert value.item() == pytest.approx(0.305721, abs=5e-7)


def test_spec8_main_head_ce_and_total():
    ce = _dual(MAIN8, S8, T8, [0], gamma=1.0, alpha=0.0)
    assert ce.item() == pytest.approx(0.363136, abs=5e-7)
    total = _dual(MAIN8, S8, T8, [0], temperature=2.0, gamma=1.0, alpha=1.0)
    assert total.item() == pytest.approx(0.610574, abs=5e-7)
    assert DualHeadKDLoss().get_params() == {
        "alpha": 1.0,
        "gamma": 1.0,
        "kd_temperature": 4.0,
        "logit_loss": "binary_kl_norm",
        "main_head_kd_weight": 0.0,
        "reduction": "mean",
        "temperature": 2.0,
    }


def test_binary_kl_norm_zero_iff_equal_and_not_shift_invariant():
    rng = np.random.default_rng(0)
    t = as_tensor(rng.normal(size=(5, 4)))
    main = torch.zeros(5, 4, dtype=F64)
    y = as_target([0, 1, 2, 3, 0])
    for logit_loss in ("binary_kl_norm", "binary_kl"):
        loss = DualHeadKDLoss(gamma=0.0, logit_loss=logit_loss, reduction="none")
        at_t = loss(torch.cat([main, t], 1), y, teacher_logits=t)
        assert torch.all(at_t.abs() < 1e-15)
        for delta in (1e-3, 0.5, 5.0):
            aux = t.clone()
            aux[:, 2] += delta  # one class off
            assert torch.all(loss(torch.cat([main, aux], 1), y, teacher_logits=t) > 0)
            shifted = loss(torch.cat([main, t + delta], 1), y, teacher_logits=t)
            assert torch.all(shifted > 0)  # a shift is a mismatch here


# -- spec section 9: PLD --------------------------------------------------------------
S9 = [[1.0, 2.0, 0.5]]
PLD_REFS = {  # teacher_temperature -> (wrong teacher t=[3,1,2], right t=[1,3,2])
    1.0: (0.357183, 0.547302),
    4.0: (0.316824, 0.512709),
    2.0: (0.326634, 0.534426),
}


@pytest.mark.parametrize("tau", sorted(PLD_REFS))
def test_spec9_references(tau):
    loss = PLDLoss(teacher_temperature=tau)
    for t, expected in zip(([[3.0, 1.0, 2.0]], [[1.0, 3.0, 2.0]]), PLD_REFS[tau]):
        value = loss(as_tensor(S9), as_target([1]), teacher_logits=as_tensor(t))
        assert value.item() == pytest.approx(expected, abs=5e-7)
        assert value.item() == pytest.approx(_pld_ref(S9[0], t[0], 1, tau), rel=1e-12)


def test_spec9_permutation_weights_and_terms():
    t = as_tensor([[3.0, 1.0, 2.0]])
    perm = teacher_order(t, as_target([1]))
    assert perm.tolist() == [[1, 0, 2]]
    alpha = torch.softmax(t, dim=1).gather(1, perm)
    np.testing.assert_allclose(alpha[0], [0.090031, 0.665241, 0.244728], atol=5e-7)
    s = [S9[0][c] for c in perm[0].tolist()]
    terms = [_lse(s[i:]) - s[i] for i in range(3)]
    np.testing.assert_allclose(terms, [0.464369, 0.474077, 0.0], atol=5e-7)
    weighted = PLDLoss()(as_tensor(S9), as_target([1]), teacher_logits=t)
    assert weighted.item() == pytest.approx(
        float(np.dot(alpha[0].numpy(), terms)), rel=1e-12
    )


def test_spec9_binary_is_teacher_weighted_ce():
    s, t, y = as_tensor([[0.3, -0.2]]), as_tensor([[1.0, 2.0]]), as_target([0])
    value = PLDLoss()(s, y, teacher_logits=t)
    assert value.item() == pytest.approx(0.127499, abs=5e-7)
    p_y = torch.softmax(t, dim=1)[0, 0]
    assert p_y.item() == pytest.approx(0.268941, abs=5e-7)
    ce = CrossEntropyLoss()(s, y)
    assert value.item() == pytest.approx((p_y * ce).item(), rel=1e-12)
    # on random binary rows too
    s, y, t = _random_batch("pld", 20, 2, seed=3)
    ce = CrossEntropyLoss(reduction="none")(s, y)
    p_y = torch.softmax(t, dim=1).gather(1, y[:, None])[:, 0]
    out = PLDLoss(reduction="none")(s, y, teacher_logits=t)
    torch.testing.assert_close(out, p_y * ce, rtol=1e-12, atol=1e-14)


def test_teacher_order_ties_are_stable_and_label_first():
    t = as_tensor([[1.0, 2.0, 1.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    y = as_target([2, 4])
    assert teacher_order(t, y).tolist() == [[2, 1, 3, 0, 4], [4, 0, 1, 2, 3]]
    inf = as_tensor([[math.inf, 0.0, math.inf, -math.inf]])
    assert teacher_order(inf, as_target([1])).tolist() == [[1, 0, 2, 3]]
    rng = np.random.default_rng(1)
    for _ in range(20):
        row = rng.integers(0, 3, size=6).astype(float)  # many ties
        yi = int(rng.integers(6))
        got = teacher_order(as_tensor(row[None]), as_target([yi]))[0].tolist()
        assert got == _pld_order(row.tolist(), yi)


def test_pld_shift_invariance():
    s, y, t = _random_batch("pld", 9, 5, seed=4)
    loss = PLDLoss(reduction="none", teacher_temperature=1.5)
    base = loss(s, y, teacher_logits=t)
    shift = as_tensor(np.random.default_rng(5).normal(scale=10, size=(9, 1)))
    torch.testing.assert_close(loss(s + shift, y, teacher_logits=t), base)
    torch.testing.assert_close(loss(s, y, teacher_logits=t - shift), base)


def test_pld_one_hot_weights_give_cross_entropy():
    s, _, t = _random_batch("pld", 10, 4, seed=6)
    y = t.argmax(dim=1)  # the teacher's top class is the label
    out = PLDLoss(teacher_temperature=1e-3, reduction="none")(s, y, teacher_logits=t)
    ce = CrossEntropyLoss(reduction="none")(s, y)
    torch.testing.assert_close(out, ce, rtol=1e-12, atol=1e-14)


def _listmle(s, order):
    """-log of the Plackett-Luce probability of ``order`` (naive product)."""
    prob = 1.0
    for i in range(len(order)):
        rest = order[i:]
        prob *= math.exp(s[rest[0]]) / sum(math.exp(s[j]) for j in rest)
    return -math.log(prob)


def test_pld_uniform_weights_give_listmle():
    k = 5
    s, y, _ = _random_batch("pld", 8, k, seed=7, scale=1.0)
    t = torch.zeros(8, k, dtype=F64)  # uniform alpha; ties: index order
    out = PLDLoss(reduction="none")(s, y, teacher_logits=t)
    for row, yi, value in zip(s.tolist(), y.tolist(), out.tolist()):
        order = [yi, *(c for c in range(k) if c != yi)]
        assert value == pytest.approx(_listmle(row, order) / k, rel=1e-12)


def test_pld_min_label_weight_floor():
    s, t, y = as_tensor(S9), as_tensor([[3.0, 1.0, 2.0]]), as_target([1])
    # alpha_1 = 0.090031: a floor below it changes nothing, above it replaces it
    plain = PLDLoss()(s, y, teacher_logits=t).item()
    assert PLDLoss(min_label_weight=0.05)(s, y, teacher_logits=t).item() == plain
    floored = PLDLoss(min_label_weight=0.5)(s, y, teacher_logits=t).item()
    expected = plain + (0.5 - 0.090031) * 0.464369
    assert floored == pytest.approx(expected, abs=1e-6)
    assert floored == pytest.approx(_pld_ref(S9[0], [3.0, 1.0, 2.0], 1, 1.0, 0.5))


# -- KD --------------------------------------------------------------------------------
def test_kd_alpha_zero_is_cross_entropy_and_default():
    s, y, t = _random_batch("kd", 12, 3, seed=8)
    out = KDLoss(alpha=0.0, reduction="none")(s, y, teacher_logits=t)
    ce = CrossEntropyLoss(reduction="none")(s, y)
    torch.testing.assert_close(out, ce, rtol=1e-12, atol=1e-14)
    assert KDLoss().get_params() == {
        "alpha": 0.9,
        "reduction": "mean",
        "temperature": 4.0,
    }


def test_kd_term_is_shift_invariant_and_zero_at_teacher():
    s, y, t = _random_batch("kd", 6, 4, seed=9)
    loss = KDLoss(alpha=1.0, reduction="none")
    torch.testing.assert_close(
        loss(s + 3.0, y, teacher_logits=t - 1.0), loss(s, y, teacher_logits=t)
    )
    assert torch.all(loss(t + 2.0, y, teacher_logits=t).abs() < 1e-14)


# -- against the reference, gradients, weights -----------------------------------
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize(("name", "params"), CASES)
def test_matches_reference_on_random_inputs(name, params, k):
    s, y, t = _random_batch(name, 11, k, seed=k)
    w = as_tensor(np.random.default_rng(k).uniform(0, 2, size=11))
    ref = _terms_ref(name, s, y, t, **params)
    terms = get_loss(name, reduction="none", **params)(s, y, teacher_logits=t)
    np.testing.assert_allclose(terms.numpy(), ref, rtol=1e-12, atol=1e-14)
    shared.assert_weighted_reductions(
        lambda r: get_loss(name, reduction=r, **params),
        s,
        y,
        w,
        ref,
        {"teacher_logits": t},
    )


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("name", "params"), CASES)
def test_gradcheck(name, params, weighted):
    s, y, t = _random_batch(name, 5, 4, seed=10)
    w = as_tensor([0.5, 1.0, 0.0, 2.0, 1.5]) if weighted else None
    shared.assert_gradcheck(get_loss(name, **params), s, y, w, {"teacher_logits": t})


@pytest.mark.parametrize(("name", "params"), CASES)
def test_weights(name, params):
    k = 3
    n_out = k * _n_heads(name)
    context = {"teacher_logits": _random_batch(name, 7, k, seed=11)[2]}
    loss = get_loss(name, **params)
    s, y, _ = _random_batch(name, 7, k, seed=12)
    shared.assert_unit_weights(loss, s, y, rtol=1e-14, atol=1e-15, context=context)
    for reduction in ("mean", "sum"):
        shared.assert_repeated_rows(
            get_loss(name, reduction=reduction, **params),
            n_out,
            context=context,
            n_classes=k,
        )
    shared.assert_zero_weights_drop_rows(
        loss, n_out, kept_nonzero=True, context=context, n_classes=k
    )


@pytest.mark.parametrize("name", list(REFS))
def test_no_gradient_to_teacher_and_dtype(name):
    s, y, t = _random_batch(name, 6, 3, seed=13)
    t = t.requires_grad_(True)
    s32 = s.float().requires_grad_(True)
    out = get_loss(name)(s32, y, teacher_logits=t)
    assert out.dtype == torch.float32
    out.backward()
    assert t.grad is None and torch.isfinite(s32.grad).all()
    ref = get_loss(name)(s, y, teacher_logits=t.detach())
    assert out.item() == pytest.approx(ref.item(), rel=1e-5)


@pytest.mark.parametrize("name", list(REFS))
def test_empty_batch_and_trusted_path(name):
    k = 3
    s = torch.zeros(0, k * _n_heads(name), dtype=F64)
    t = torch.zeros(0, k, dtype=F64)
    out = get_loss(name)(s, torch.zeros(0, dtype=torch.long), teacher_logits=t)
    assert out.item() == 0.0
    s, y, t = _random_batch(name, 6, k, seed=14)
    with trusted_targets():
        trusted = get_loss(name)(s, y, teacher_logits=t)
    assert trusted.item() == get_loss(name)(s, y, teacher_logits=t).item()


# -- registry -------------------------------------------------------------------
def test_registry():
    assert list_losses("distillation") == ["dual_head", "kd", "pld"]
    expected = {"kd": KDLoss, "dual_head": DualHeadKDLoss, "pld": PLDLoss}
    for name, cls in expected.items():
        assert get_loss_class(name) is cls
        assert issubclass(cls, DistillationLoss)
        assert cls.tasks == frozenset({"distillation"})
        assert cls.requires == ("teacher_logits",)
        assert cls.n_heads == (2 if name == "dual_head" else 1)
        assert name not in list_losses("binary") + list_losses("multiclass")
    with pytest.raises(ValueError, match="teacher.*DistilledClassifier"):
        check_loss_task("pld", "multiclass")


# -- bad input ------------------------------------------------------------------
BAD_PARAMS = [
    ("kd", "temperature", 0.0),
    ("kd", "temperature", -1.0),
    ("kd", "temperature", math.nan),
    ("kd", "temperature", "4"),
    ("kd", "alpha", 1.5),
    ("kd", "alpha", -0.1),
    ("kd", "alpha", True),
    ("dual_head", "temperature", 0),
    ("dual_head", "temperature", -2.0),
    ("dual_head", "gamma", -1.0),
    ("dual_head", "alpha", -0.5),
    ("dual_head", "alpha", math.inf),
    ("dual_head", "main_head_kd_weight", -1.0),
    ("dual_head", "kd_temperature", 0.0),
    ("dual_head", "logit_loss", "kl"),
    ("dual_head", "logit_loss", None),
    ("pld", "teacher_temperature", 0.0),
    ("pld", "teacher_temperature", -1.0),
    ("pld", "min_label_weight", 1.5),
    ("pld", "min_label_weight", -0.1),
]


@pytest.mark.parametrize(("name", "param", "value"), BAD_PARAMS)
def test_bad_parameter(name, param, value):
    with pytest.raises(ValueError, match=rf"^{param} must be"):
        get_loss(name, **{param: value})


def _bad_calls(name):
    """(id, student, target, kwargs, error, message) of bad calls, 4 rows of 3."""
    heads = _n_heads(name)
    s, y, t = _random_batch(name, 4, 3, seed=15)
    nan_aux = s.clone()
    nan_aux[0, -1] = math.nan
    nan_t, inf_t = t.clone(), t.clone()
    nan_t[1, 1], inf_t[2, 0] = math.nan, math.inf
    return [
        ("missing", s, y, {}, ValueError, "teacher_logits"),
        ("none", s, y, {"teacher_logits": None}, ValueError, "teacher_logits"),
        ("numpy", s, y, {"teacher_logits": t.numpy()}, TypeError, "teacher_logits"),
        ("int", s, y, {"teacher_logits": t.long()}, TypeError, "teacher_logits"),
        ("1d", s, y, {"teacher_logits": t[:, 0]}, ValueError, "teacher_logits"),
        ("one_class", s, y, {"teacher_logits": t[:, :1]}, ValueError, "n_classes"),
        ("rows", s, y, {"teacher_logits": t[:3]}, ValueError, r"input must.*\(3, "),
        ("k", s, y, {"teacher_logits": t[:, :2]}, ValueError, r"input must.*\(4, "),
        ("wide", s, y, {"teacher_logits": torch.cat([t, t], 1)}, ValueError, "input"),
        ("nan_t", s, y, {"teacher_logits": nan_t}, ValueError, "finite"),
        ("inf_t", s, y, {"teacher_logits": inf_t}, ValueError, "finite"),
        ("nan_s", nan_aux, y, {"teacher_logits": t}, ValueError, "NaN"),
        ("flat", s[:, 0], y, {"teacher_logits": t}, ValueError, "input"),
        ("list", s.tolist(), y, {"teacher_logits": t}, TypeError, "input"),
        ("target", s, y + 3, {"teacher_logits": t}, ValueError, "target"),
        ("target_f", s, y.double(), {"teacher_logits": t}, TypeError, "target"),
        ("target_n", s, y[:3], {"teacher_logits": t}, ValueError, "target"),
        (
            "heads",
            s[:, : 3 * heads - 1],
            y,
            {"teacher_logits": t},
            ValueError,
            "student logits",
        ),
    ]


BAD_CALLS = [
    pytest.param(name, case[0], id=f"{name}-{case[0]}")
    for name in REFS
    for case in _bad_calls(name)
]


@pytest.mark.parametrize(("name", "case_id"), BAD_CALLS)
def test_bad_input(name, case_id):
    (case,) = [c for c in _bad_calls(name) if c[0] == case_id]
    _, s, y, kwargs, error, message = case
    with pytest.raises(error, match=message):
        get_loss(name)(s, y, **kwargs)


@pytest.mark.parametrize("name", list(REFS))
def test_trusted_path_keeps_shape_checks_and_check_context(name):
    s, y, t = _random_batch(name, 4, 3, seed=16)
    with trusted_targets(), pytest.raises(ValueError, match="input must"):
        get_loss(name)(s, y, teacher_logits=t[:, :2])
    bad = t.clone()
    bad[0, 0] = math.nan
    with pytest.raises(ValueError, match="teacher_logits must be finite"):
        get_loss(name).check_context({"teacher_logits": bad})
    get_loss(name).check_context({"teacher_logits": t})  # fine
