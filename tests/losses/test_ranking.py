"""Tests of the ranking losses (``sklearn_losses.losses.ranking``).

Values: the spec's reference fixtures (§11) and naive numpy loops
(``_ranking_reference``) on random batches of lists of several lengths, with
tied labels, uninformative lists and query weights. Contract: padding
invariance, flat layout equals packed layout, zero for lists without signal,
gradcheck, extreme scores, float32 against float64, gradient sign,
permutation invariance, query-weight semantics, parameter checks and the
registry. allRank's own functions are compared when allRank is installed.
"""

import math
import sys
import types

import _ranking_reference as ref
import numpy as np
import pytest
import torch

from sklearn_losses.losses import check_loss_task, get_loss, get_loss_class
from sklearn_losses.losses.ranking import (
    ApproxNDCGLoss,
    FIRSTLoss,
    LambdaLoss,
    LambdaRankLoss,
    LiPOLambdaLoss,
    ListMLELoss,
    ListNetLoss,
    PairwiseHingeLoss,
    PairwiseLogisticLoss,
    RankListLoss,
    RankNetLoss,
)

F64 = torch.float64
S = [0.5, 1.2, -0.3, 0.8]
Y = [2.0, 0.0, 1.0, 3.0]
PSI = [0.9, 0.2, 0.5, 0.7]

NAMES = [
    "ranknet",
    "pairwise_logistic",
    "pairwise_hinge",
    "listnet",
    "listmle",
    "lambda",
    "lambdarank",
    "approx_ndcg",
    "lipo_lambda",
    "first",
    "ranklist",
]


# -- cases: a loss, its parameters and its naive reference --------------------
class Case:
    """``name(**params)`` against ``ref_fn(s, y, **ref_params)`` per list.

    ``random``: the loss draws random numbers on tied labels (test it on
    labels without ties); ``order``: tied labels are resolved by item order
    (permutation tests use labels without ties).
    """

    def __init__(self, name, params=None, ref_fn=None, ref_params=None, **flags):
        self.name, self.params = name, params or {}
        self.ref_fn, self.ref_params = ref_fn, ref_params or {}
        self.random = flags.get("random", False)
        self.order = flags.get("order", False) or self.random
        self.id = name + "".join(f"-{k}={v}" for k, v in self.params.items())

    def loss(self, **extra):
        return get_loss(self.name, **{**self.params, **extra})

    def reference(self, lists, weights=None, reduction=None):
        reduction = reduction or self.loss().reduction
        if self.name == "first":
            return ref.first_ref(lists, weights, **self.ref_params)
        results = [self.ref_fn(s, y, **self.ref_params) for s, y in lists]
        return ref.reduce_ref(results, weights, reduction)


def _same(params):
    return {k: v for k, v in params.items() if k != "reduction"}


def _case(name, ref_fn, random=False, order=False, **params):
    return Case(name, params, ref_fn, _same(params), random=random, order=order)


CASES = [
    _case("ranknet", ref.ranknet_list),
    _case("ranknet", ref.ranknet_list, sigma=0.7, weighting="diff", reduction="sum"),
    _case("ranknet", ref.ranknet_list, weighting="diff_pow", reduction="none"),
    Case("pairwise_logistic", {"beta": 2.0}, ref.ranknet_list, {"sigma": 2.0}),
    _case("pairwise_hinge", ref.hinge_list),
    _case("pairwise_hinge", ref.hinge_list, margin=0.3, reduction="sum"),
    _case("listnet", ref.listnet_list),
    _case("listnet", ref.listnet_list, target="normalize", reduction="none"),
    Case("listmle", {"ties": "best"}, ref.listmle_list),
    Case("listmle", {}, ref.listmle_list, random=True),
    Case("listmle", {"ties": "best", "reduction": "sum"}, ref.listmle_list),
    *[
        _case("lambda", ref.lambda_list, scheme=scheme)
        for scheme in ("ndcg_loss2pp", "lambdarank", "ndcg_loss2", "ndcg_loss1")
    ],
    _case("lambda", ref.lambda_list, scheme="ranknet", sigma=1.5, reduction="mean"),
    _case("lambda", ref.lambda_list, scheme="ndcg_loss2pp", mu=3.0, k=3),
    _case("lambda", ref.lambda_list, scheme="ndcg_loss1", k=2, reduction="mean"),
    Case("lambdarank", {}, ref.lambda_list, {"scheme": "lambdarank"}),
    Case("lambdarank", {"k": 2}, ref.lambda_list, {"scheme": "lambdarank", "k": 2}),
    _case("approx_ndcg", ref.approx_ndcg_list),
    _case("approx_ndcg", ref.approx_ndcg_list, alpha=2.5, reduction="sum"),
    _case("lipo_lambda", ref.lipo_list),
    _case("lipo_lambda", ref.lipo_list, gain="linear", scale_by_list_size=False),
    _case("lipo_lambda", ref.lipo_list, normalize_gain=True, topn=3, beta=0.5),
    _case("lipo_lambda", ref.lipo_list, label_transform="winrate", reduction="sum"),
    Case("first", {}, None, {}, order=True),
    Case(
        "first",
        {"lambda_rank": 2.0, "alpha_lm": 0.5, "rank_ties": "average"},
        None,
        {"lambda_rank": 2.0, "alpha_lm": 0.5, "rank_ties": "average"},
    ),
    Case("first", {"alpha_lm": 0.0}, None, {"alpha_lm": 0.0}, order=True),
    *[
        _case("ranklist", ref.ranklist_list, variant=variant)
        for variant in ("lse", "local", "all_pairs", "skip_curriculum", "local+lse")
    ],
    _case("ranklist", ref.ranklist_list, variant="skip", skip=2),
    _case("ranklist", ref.ranklist_list, tau=0.3, min_margin=1.5, reduction="sum"),
    _case("ranklist", ref.ranklist_list, variant="all_pairs", min_margin=2.0),
    _case(
        "ranklist",
        ref.ranklist_list,
        variant="skip_curriculum",
        skip_weighting="inverse",
        reduction="none",
    ),
]
IDS = [case.id for case in CASES]


# -- data ---------------------------------------------------------------------
LENGTHS = [4, 1, 6, 3, 5, 2]


def make_lists(seed, lengths=LENGTHS, ties=True, tied_list=True, scale=1.0):
    """Random lists ``(s, y)``; graded labels with ties, or distinct labels."""
    rng = np.random.default_rng(seed)
    lists = []
    for n in lengths:
        s = rng.normal(size=n) * scale
        if ties:
            y = rng.integers(0, 4, size=n).astype(float)
        else:
            y = rng.permutation(n) * 0.75 + rng.uniform(0, 0.1)
        lists.append((s, y))
    if tied_list:
        lists.append((rng.normal(size=3) * scale, np.full(3, 2.0)))
    return lists


def flat(lists, dtype=F64, weights=None, shuffle_seed=None):
    """Flat rows with non-contiguous, increasing query ids; with a seed the
    queries' rows are interleaved (each query keeps its own row order)."""
    ids = [3 + 7 * b + b * b for b in range(len(lists))]
    s = np.concatenate([l_[0] for l_ in lists])
    y = np.concatenate([l_[1] for l_ in lists])
    g = np.concatenate([[ids[b]] * len(l_[0]) for b, l_ in enumerate(lists)])
    w = None
    if weights is not None:
        w = np.concatenate([[weights[b]] * len(l_[0]) for b, l_ in enumerate(lists)])
    if shuffle_seed is not None:
        order_g = g[np.random.default_rng(shuffle_seed).permutation(len(s))]
        rows = np.empty(len(s), dtype=int)
        for q in ids:
            rows[order_g == q] = np.flatnonzero(g == q)
        s, y, g = s[rows], y[rows], g[rows]
        w = None if w is None else w[rows]
    out = (
        torch.tensor(s, dtype=dtype),
        torch.tensor(y, dtype=dtype),
        torch.tensor(g),
    )
    return (*out, None if w is None else torch.tensor(w, dtype=dtype))


def packed(lists, extra=0, dtype=F64, seed=0):
    """``[B, L]`` scores, labels and mask, with ``extra`` more padded slots
    holding random scores and labels."""
    rng = np.random.default_rng(seed)
    width = max(len(s) for s, _ in lists) + extra
    s = rng.normal(size=(len(lists), width)) * 1e3
    y = rng.integers(-5, 100, size=(len(lists), width)).astype(float)
    mask = np.zeros((len(lists), width), dtype=bool)
    for b, (sb, yb) in enumerate(lists):
        s[b, : len(sb)], y[b, : len(yb)], mask[b, : len(sb)] = sb, yb, True
    return (
        torch.tensor(s, dtype=dtype),
        torch.tensor(y, dtype=dtype),
        torch.tensor(mask),
    )


def lists_for(case, seed=0, **kwargs):
    return make_lists(seed, ties=not case.random, **kwargs)


def value_and_grad(loss, scores, labels, **kwargs):
    scores = scores.detach().clone().requires_grad_(True)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        value = loss(scores, labels, **kwargs)
    total = value.sum()
    (grad,) = torch.autograd.grad(total, scores, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(scores)
    return value.detach(), grad


# -- the spec's reference values (§11) ----------------------------------------
FIXTURES = [
    ("1", RankNetLoss(), Y, 0.8217343025),
    ("2", RankNetLoss(reduction="sum"), Y, 4.9304058148),
    ("3", ListNetLoss(), Y, 1.4254083783),
    ("4", ListNetLoss(target="normalize"), Y, 1.5546415569),
    ("5", ListMLELoss(), Y, 4.2148803507),
    ("5-best", ListMLELoss(ties="best"), Y, 4.2148803507),
    ("6", LambdaLoss(scheme="ranknet"), Y, 7.1130720186),
    ("6-none", LambdaLoss(scheme=None), Y, 7.1130720186),
    ("7", LambdaLoss(scheme="lambdarank"), Y, 0.8707693362),
    ("7-lambdarank", LambdaRankLoss(), Y, 0.8707693362),
    ("8", LambdaLoss(scheme="ndcg_loss2"), Y, 0.6494143838),
    ("9", LambdaLoss(), Y, 7.3649131742),
    ("12", LiPOLambdaLoss(), PSI, 0.5759760334),
    ("13", LiPOLambdaLoss(scale_by_list_size=False, reduction="sum"), PSI, 0.86396405),
    ("14-logistic", PairwiseLogisticLoss(), PSI, 0.8717343025),
    ("14-hinge", PairwiseHingeLoss(), PSI, 1.1833333333),
    ("14-listmle", ListMLELoss(), PSI, 4.3111221723),
    ("14-softmax-ce", ListNetLoss(target="normalize"), PSI, 1.5930473540),
    ("16", FIRSTLoss(alpha_lm=0.0, lambda_rank=1.0), Y, 0.1567275796),
    ("17-local", RankListLoss(variant="local"), Y, 2.6268691884),
    ("17-all", RankListLoss(variant="all_pairs"), Y, 4.9304058148),
    ("17-lse", RankListLoss(), Y, 4.2148803507),
    ("17-skip2", RankListLoss(variant="skip", skip=2), Y, 1.3905213740),
    ("17-skip3", RankListLoss(variant="skip", skip=3), Y, 0.9130152524),
    ("18-tau0.5", RankListLoss(tau=0.5), Y, 3.0326646465),
    ("18-tau0.1", RankListLoss(tau=0.1), Y, 2.6019957386),
]


@pytest.mark.parametrize(
    "loss, labels, expected", [f[1:] for f in FIXTURES], ids=[f[0] for f in FIXTURES]
)
def test_spec_reference_values(loss, labels, expected):
    value = loss(torch.tensor(S, dtype=F64), torch.tensor(labels, dtype=F64))
    assert abs(value.item() - expected) < 1e-8


def test_spec_first_sum_of_weights_normalised():
    # Row 16, second value: the same pair losses divided by the sum of weights.
    s, y = np.array(S), np.array(Y)
    r = ref.gold_ranks(y)
    w = [1.0 / (r[i] + r[j]) for i, j in ref.pairs(y)]
    term, count = ref.first_ranknet_list(s, y)
    assert abs(term / sum(w) - 0.7273545131) < 1e-8
    loss = FIRSTLoss(alpha_lm=0.0, lambda_rank=1.0)
    value = loss(torch.tensor(S, dtype=F64), torch.tensor(Y, dtype=F64)).item()
    assert abs(value * count / sum(w) - 0.7273545131) < 1e-8


def test_spec_listmle_ties():
    # Row 11: "best" and the expectation under random tie-breaking.
    s, y = torch.tensor([0.2, 0.9, -0.1], dtype=F64), torch.tensor([1.0, 1.0, 0.0])
    assert abs(ListMLELoss(ties="best")(s, y).item() - 1.1773293) < 1e-7
    expected = ref.listmle_expected(s.numpy(), y.numpy())
    assert abs(expected - 1.4067825) < 1e-7
    with torch.random.fork_rng():
        torch.manual_seed(0)
        values = {round(ListMLELoss()(s, y).item(), 7) for _ in range(40)}
    assert values == {1.1773293, 1.6362357}
    assert abs(sum(values) / 2 - expected) < 1e-7


def test_spec_dpo_example():
    # Row 15: DPO with K = 2 is the pairwise logistic loss on implicit rewards.
    beta = 0.1
    rewards = torch.tensor([beta * (-12 + 13), beta * (-15 + 14)], dtype=F64)
    value = PairwiseLogisticLoss()(rewards, torch.tensor([1.0, 0.0], dtype=F64))
    assert abs(value.item() - 0.5981388694) < 1e-8
    raw = torch.tensor([-12 + 13, -15 + 14], dtype=F64)
    value = PairwiseLogisticLoss(beta=beta)(raw, torch.tensor([1.0, 0.0], dtype=F64))
    assert abs(value.item() - 0.5981388694) < 1e-8


# -- against the naive loops --------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_matches_naive_reference(case, weighted):
    lists = lists_for(case, seed=1)
    weights = None
    if weighted:
        weights = list(np.random.default_rng(2).uniform(0.2, 3.0, size=len(lists)))
    s, y, g, w = flat(lists, weights=weights)
    with torch.random.fork_rng():
        value = case.loss()(s, y, groups=g, sample_weight=w)
    expected = case.reference(lists, weights)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.name in ("lambda", "lipo_lambda", "ranklist")],
    ids=[c.id for c in CASES if c.name in ("lambda", "lipo_lambda", "ranklist")],
)
def test_matches_naive_reference_longer_lists(case, seed):
    lists = make_lists(seed, lengths=[9, 7, 2, 8], ties=True)
    s, y, g, _ = flat(lists)
    value = case.loss()(s, y, groups=g)
    np.testing.assert_allclose(value.numpy(), case.reference(lists), rtol=1e-10)


@pytest.mark.parametrize("epoch", [0, 1, 2, 4, 7, 10, 30, None])
@pytest.mark.parametrize("weighting", [None, "inverse"])
def test_ranklist_curriculum_epochs(epoch, weighting):
    lists = make_lists(5, lengths=[9, 6, 3, 2])
    s, y, g, _ = flat(lists)
    loss = RankListLoss(
        variant="skip_curriculum", skip_ramp_epochs=7, skip_weighting=weighting
    )
    value = loss(s, y, groups=g, epoch=epoch)
    expected = ref.reduce_ref(
        [
            ref.ranklist_list(
                sb,
                yb,
                variant="skip_curriculum",
                skip_ramp_epochs=7,
                skip_weighting=weighting,
                epoch=epoch,
            )
            for sb, yb in lists
        ]
    )
    np.testing.assert_allclose(value.item(), expected, rtol=1e-12)


def test_ranklist_curriculum_growth():
    loss = RankListLoss(variant="skip_curriculum", skip_ramp_epochs=4)
    n_levels = torch.tensor([1, 2, 3, 6])
    assert loss.max_skip(n_levels, 0).tolist() == [0, 1, 1, 1]
    assert loss.max_skip(n_levels, 2).tolist() == [0, 1, 1, 3]
    assert loss.max_skip(n_levels, 4).tolist() == [0, 1, 2, 5]
    assert loss.max_skip(n_levels, 9).tolist() == [0, 1, 2, 5]
    assert loss.max_skip(n_levels, None).tolist() == [0, 1, 2, 5]
    lists = make_lists(6, lengths=[6, 4])
    s, y, g, _ = flat(lists)
    # the final stage is all pairs; epoch 0 is adjacent levels only
    all_pairs = RankListLoss(variant="all_pairs")(s, y, groups=g)
    local = RankListLoss(variant="local")(s, y, groups=g)
    torch.testing.assert_close(loss(s, y, groups=g), all_pairs, rtol=1e-14, atol=0)
    torch.testing.assert_close(loss(s, y, groups=g, epoch=4), all_pairs)
    torch.testing.assert_close(loss(s, y, groups=g, epoch=0), local)


def test_ranklist_epoch_checked():
    s, y, g, _ = flat(make_lists(0, lengths=[3]))
    with pytest.raises(TypeError, match="epoch"):
        RankListLoss()(s, y, groups=g, epoch=1.5)
    with pytest.raises(ValueError, match="epoch"):
        RankListLoss()(s, y, groups=g, epoch=-1)
    value = RankListLoss(variant="skip_curriculum")(
        s, y, groups=g, epoch=torch.tensor(2)
    )
    assert torch.isfinite(value)


def test_ranklist_lse_is_listmle_without_ties():
    lists = make_lists(7, ties=False)
    s, y, g, _ = flat(lists)
    torch.testing.assert_close(
        RankListLoss()(s, y, groups=g), ListMLELoss(ties="best")(s, y, groups=g)
    )


def test_ranklist_lse_excludes_tied_competitors():
    # y = [1, 1, 0]: each of the two tied items competes with item 2 only.
    s, y = torch.tensor([0.2, 0.9, -0.1], dtype=F64), torch.tensor([1.0, 1.0, 0.0])
    expected = ref.softplus(-0.3) + ref.softplus(-1.0)
    assert abs(RankListLoss(reduction="sum")(s, y).item() - expected) < 1e-12


# -- equivalences declared on the classes --------------------------------------
EQUIVALENCES = [
    (cls, params, other, other_params)
    for cls in (PairwiseLogisticLoss, LambdaRankLoss, RankListLoss)
    for params, other, other_params in cls.equivalences
]


@pytest.mark.parametrize("cls, params, other, other_params", EQUIVALENCES)
def test_declared_equivalences(cls, params, other, other_params):
    s, y, g, _ = flat(make_lists(8))
    a = value_and_grad(cls(**params), s, y, groups=g)
    b = value_and_grad(get_loss(other, **other_params), s, y, groups=g)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


# -- layout and padding -------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_padding_changes_nothing(case):
    lists = lists_for(case, seed=9)
    s, y, m = packed(lists)
    s2, y2, m2 = packed(lists, extra=3, seed=1)
    v1, g1 = value_and_grad(case.loss(), s, y, mask=m)
    v2, g2 = value_and_grad(case.loss(), s2, y2, mask=m2)
    assert torch.equal(v1, v2)
    # The gradient's sums over the other items of a list (the backward of a
    # broadcast difference) block their additions by the padded length.
    torch.testing.assert_close(g1, g2[:, : g1.shape[1]], rtol=1e-14, atol=1e-16)
    assert not g2[~m2].any()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_flat_shuffled_equals_packed(case):
    lists = lists_for(case, seed=10)
    weights = list(np.random.default_rng(0).uniform(0.5, 2.0, size=len(lists)))
    s, y, g, w = flat(lists, weights=weights, shuffle_seed=1)
    sp, yp, m = packed(lists)
    flat_value, _ = value_and_grad(case.loss(), s, y, groups=g, sample_weight=w)
    packed_value, _ = value_and_grad(
        case.loss(), sp, yp, mask=m, sample_weight=torch.tensor(weights, dtype=F64)
    )
    assert torch.equal(flat_value, packed_value)
    # a column of scores (n, 1), as a network outputs, is the same as (n,)
    column, _ = value_and_grad(case.loss(), s[:, None], y, groups=g, sample_weight=w)
    assert torch.equal(column, flat_value)


# -- lists without signal -----------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", NAMES)
def test_nothing_informative_gives_zero(name, reduction):
    params = {} if name == "first" else {"reduction": reduction}
    loss = get_loss(name, **params)
    lists = [
        (np.array([0.3]), np.array([2.0])),
        (np.array([1e4, -1e4, 0.5]), np.array([1.0, 1.0, 1.0])),
        (np.array([0.1, 0.2]), np.array([0.0, 0.0])),
    ]
    s, y, g, _ = flat(lists)
    value, grad = value_and_grad(loss, s, y, groups=g)
    assert not value.isnan().any() and not value.any()
    assert not grad.isnan().any() and not grad.any()
    # one list of one item, and an empty batch
    value, grad = value_and_grad(loss, s[:1], y[:1], groups=g[:1])
    assert not value.any() and not grad.any()
    empty = torch.zeros(0, dtype=F64)
    value, grad = value_and_grad(loss, empty, empty, groups=torch.zeros(0).long())
    assert not value.any() and grad.shape == (0,)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_uninformative_lists_do_not_count(case):
    lists = lists_for(case, seed=11, tied_list=False)
    extra = [(np.array([0.4]), np.array([1.0])), (np.array([2.0, -1.0]), np.ones(2))]
    if case.loss().reduction == "none":
        pytest.skip("per-list output")
    s, y, g, _ = flat(lists)
    s2, y2, g2, _ = flat(lists + extra)
    with torch.random.fork_rng():
        a = case.loss()(s, y, groups=g)
    with torch.random.fork_rng():
        b = case.loss()(s2, y2, groups=g2)
    torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-15)


# -- gradients ----------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case):
    # Scores without ties (rank-dependent weights are constants between ties).
    rng = np.random.default_rng(12)
    lists = []
    for n in (4, 3, 1):
        s = rng.permutation(n) * 0.4 + rng.uniform(-0.05, 0.05, size=n)
        if case.random:
            y = rng.permutation(n).astype(float)
        else:
            y = rng.integers(0, 3, size=n).astype(float)
        lists.append((s, y))
    s, y, g, _ = flat(lists)
    w = torch.tensor([1.0] * 4 + [2.5] * 3 + [0.5], dtype=F64)
    loss = case.loss()

    def fn(scores):
        with torch.random.fork_rng():
            torch.manual_seed(0)
            return loss(scores, y, groups=g, sample_weight=w)

    assert torch.autograd.gradcheck(fn, (s.clone().requires_grad_(True),))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extreme_scores_finite(case):
    lists = lists_for(case, seed=13, scale=1e4)
    s, y, g, _ = flat(lists)
    s = torch.where(s.abs() > 0, s.sign() * 1e4, s) + torch.linspace(0, 1, len(s))
    value, grad = value_and_grad(case.loss(), s, y, groups=g)
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
    value, grad = value_and_grad(case.loss(), s.float(), y.float(), groups=g)
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_close_to_float64(case):
    lists = lists_for(case, seed=14)
    s, y, g, w = flat(lists, weights=[1.0, 2.0, 0.5, 1.0, 3.0, 1.0, 1.5])
    v64, g64 = value_and_grad(case.loss(), s, y, groups=g, sample_weight=w)
    v32, g32 = value_and_grad(
        case.loss(), s.float(), y.float(), groups=g, sample_weight=w.float()
    )
    assert v32.dtype == torch.float32 and g32.dtype == torch.float32
    torch.testing.assert_close(v32.double(), v64, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g32.double(), g64, rtol=1e-4, atol=1e-5)


GRAD_LISTS = [
    (S, Y),
    ([0.1, -0.4, 0.3, 0.0, 0.2], [1.0, 0.0, 2.0, 0.0, 3.0]),
    ([0.3, 0.2, 0.0], [2.0, 1.0, 0.0]),
]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("scores, labels", GRAD_LISTS)
def test_raising_the_best_item_lowers_the_loss(case, scores, labels):
    s, y = torch.tensor(scores, dtype=F64), torch.tensor(labels, dtype=F64)
    best = int(y.argmax())
    _, grad = value_and_grad(case.loss(), s, y)
    assert grad[best] < 0
    step = torch.zeros_like(s)
    step[best] = 1e-3
    with torch.random.fork_rng():
        torch.manual_seed(0)
        before = case.loss()(s, y).sum()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        after = case.loss()(s + step, y).sum()
    assert after < before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_permutation_invariance(case):
    lists = make_lists(15, ties=not case.order)
    rng = np.random.default_rng(1)
    shuffled = [(sb[p], yb[p]) for sb, yb in lists for p in [rng.permutation(len(sb))]]
    s, y, g, _ = flat(lists)
    s2, y2, g2, _ = flat(shuffled)
    with torch.random.fork_rng():
        a = case.loss()(s, y, groups=g)
    with torch.random.fork_rng():
        b = case.loss()(s2, y2, groups=g2)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


# -- query weights ------------------------------------------------------------
@pytest.mark.parametrize("case", [c for c in CASES if c.loss().reduction != "none"])
def test_weight_two_equals_duplicated_query(case):
    lists = lists_for(case, seed=16)
    weights = [1.0] * len(lists)
    weights[2] = 2.0
    s, y, g, w = flat(lists, weights=weights)
    s2, y2, g2, _ = flat(lists + [lists[2]])
    with torch.random.fork_rng():
        a = case.loss()(s, y, groups=g, sample_weight=w)
    with torch.random.fork_rng():
        b = case.loss()(s2, y2, groups=g2)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
    # unit weights are no weights
    with torch.random.fork_rng():
        c = case.loss()(s, y, groups=g, sample_weight=torch.ones_like(s))
    with torch.random.fork_rng():
        d = case.loss()(s, y, groups=g)
    torch.testing.assert_close(c, d, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", NAMES)
def test_weights_varying_within_a_query_raise(name):
    s, y, g, _ = flat(make_lists(17, lengths=[3, 2], tied_list=False))
    w = torch.tensor([1.0, 1.0, 2.0, 1.0, 1.0], dtype=F64)
    with pytest.raises(ValueError, match="constant within a query"):
        get_loss(name)(s, y, groups=g, sample_weight=w)


def test_listnet_normalize_refuses_negative_labels():
    s, y = torch.zeros(3, dtype=F64), torch.tensor([1.0, -1.0, 0.0], dtype=F64)
    with pytest.raises(ValueError, match="labels >= 0"):
        ListNetLoss(target="normalize")(s, y)


# -- parameters and registry --------------------------------------------------
BAD_PARAMS = [
    (RankNetLoss, "sigma", 0.0),
    (RankNetLoss, "weighting", "square"),
    (RankNetLoss, "reduction", "list_mean"),
    (PairwiseLogisticLoss, "beta", -1.0),
    (PairwiseHingeLoss, "margin", -0.5),
    (ListNetLoss, "target", "linear"),
    (ListMLELoss, "ties", "stable"),
    (LambdaLoss, "scheme", "ndcgLoss2PP"),
    (LambdaLoss, "mu", -1.0),
    (LambdaLoss, "sigma", float("nan")),
    (LambdaLoss, "k", 0),
    (LambdaLoss, "k", 2.5),
    (LambdaRankLoss, "scheme", "lambda"),
    (ApproxNDCGLoss, "alpha", 0.0),
    (LiPOLambdaLoss, "gain", "exp"),
    (LiPOLambdaLoss, "scale_by_list_size", 1),
    (LiPOLambdaLoss, "normalize_gain", "yes"),
    (LiPOLambdaLoss, "topn", 0),
    (LiPOLambdaLoss, "beta", 0.0),
    (LiPOLambdaLoss, "label_transform", "rank"),
    (FIRSTLoss, "lambda_rank", -1.0),
    (FIRSTLoss, "alpha_lm", float("inf")),
    (FIRSTLoss, "rank_ties", "min"),
    (RankListLoss, "variant", "skip_wise"),
    (RankListLoss, "tau", 0.0),
    (RankListLoss, "skip", 0),
    (RankListLoss, "min_margin", -0.1),
    (RankListLoss, "skip_ramp_epochs", 0),
    (RankListLoss, "skip_weighting", "harmonic"),
]


@pytest.mark.parametrize("cls, param, value", BAD_PARAMS)
def test_bad_parameters_raise(cls, param, value):
    with pytest.raises(ValueError, match=param):
        cls(**{param: value})


@pytest.mark.parametrize("name", NAMES)
def test_registry(name):
    cls = get_loss_class(name)
    loss = get_loss(name)
    assert type(loss) is cls and cls.name == name
    assert cls.tasks == {"ranking"} and cls.requires[0] == "groups"
    assert not cls.decomposable
    check_loss_task(name, "ranking")
    with pytest.raises(ValueError, match="ranking"):
        check_loss_task(name, "binary")
    params = loss.get_params()
    assert type(loss)(**params).get_params() == params
    assert cls.key_parameter in params
    for key, values in cls.default_grid.items():
        for value in values:
            assert get_loss(name, **{key: value}).get_params()[key] == value


@pytest.mark.parametrize(
    "alias, name",
    [
        ("pair_logistic", "pairwise_logistic"),
        ("pair_hinge", "pairwise_hinge"),
        ("lambdaloss", "lambda"),
        ("approxndcg", "approx_ndcg"),
    ],
)
def test_aliases(alias, name):
    assert get_loss_class(alias) is get_loss_class(name)


def test_lambdarank_is_lambda_with_its_scheme():
    assert issubclass(LambdaRankLoss, LambdaLoss)
    assert LambdaRankLoss().get_params() == LambdaLoss(scheme="lambdarank").get_params()
    assert PairwiseLogisticLoss(beta=2.0).get_params() == {
        "beta": 2.0,
        "reduction": "mean",
    }


def test_ranklist_requires_epoch():
    assert RankListLoss.requires == ("groups", "epoch")


# -- allRank (optional) -------------------------------------------------------
def _allrank_losses():
    """allRank's loss functions. They need two constants of modules that
    import allRank's data and cloud-storage stack (torchvision, gcsfs, ...),
    so small stand-ins provide those two while the losses are imported."""
    pytest.importorskip("allrank")
    import allrank.data  # noqa: F401
    import allrank.models  # noqa: F401

    stand_ins = {
        "allrank.data.dataset_loading": {"PADDED_Y_VALUE": -1},
        "allrank.models.model_utils": {"get_torch_device": lambda: torch.device("cpu")},
    }
    saved = {key: sys.modules.get(key) for key in stand_ins}
    for key, names in stand_ins.items():
        if saved[key] is None:
            module = types.ModuleType(key)
            module.__dict__.update(names)
            sys.modules[key] = module
    try:
        import allrank.models.losses as losses
    finally:
        for key, module in saved.items():
            if module is None:
                del sys.modules[key]
    return losses


def _allrank_batch(seed, distinct=False):
    """Informative lists padded with allRank's label -1 (and our mask)."""
    rng = np.random.default_rng(seed)
    lengths, width = [5, 2, 7, 4, 3], 7
    s = rng.normal(size=(len(lengths), width))
    y = np.full((len(lengths), width), -1.0)
    for b, n in enumerate(lengths):
        labels = rng.permutation(8)[:n] if distinct else rng.integers(0, 5, size=n)
        labels[:2] = (10, 9) if b % 2 else (9, 10)  # never all tied
        y[b, :n] = labels
    return torch.tensor(s, dtype=F64), torch.tensor(y, dtype=F64)


ALLRANK = [
    ("rankNet", {}, RankNetLoss, {}, False),
    ("rankNet", {"weight_by_diff": True}, RankNetLoss, {"weighting": "diff"}, False),
    (
        "rankNet",
        {"weight_by_diff_powed": True},
        RankNetLoss,
        {"weighting": "diff_pow"},
        False,
    ),
    ("listNet", {}, ListNetLoss, {}, False),
    ("listMLE", {}, ListMLELoss, {}, True),
    ("approxNDCGLoss", {"alpha": 1.5}, ApproxNDCGLoss, {"alpha": 1.5}, False),
    *[
        (
            "lambdaLoss",
            {"weighing_scheme": theirs, "k": k, "mu": 5.0, "sigma": 1.3},
            LambdaLoss,
            {"scheme": ours, "k": k, "mu": 5.0, "sigma": 1.3},
            False,
        )
        for theirs, ours in [
            (None, "ranknet"),
            ("lambdaRank_scheme", "lambdarank"),
            ("ndcgLoss2_scheme", "ndcg_loss2"),
            ("ndcgLoss2PP_scheme", "ndcg_loss2pp"),
            ("ndcgLoss1_scheme", "ndcg_loss1"),
        ]
        for k in (None, 3)
    ],
    (
        "lambdaLoss",
        {"weighing_scheme": "lambdaRank_scheme", "reduction": "mean"},
        LambdaLoss,
        {"scheme": "lambdarank", "reduction": "mean"},
        False,
    ),
]


@pytest.mark.parametrize(
    "fn, their_params, cls, our_params, distinct",
    ALLRANK,
    ids=[f"{a[0]}-{a[3]}" for a in ALLRANK],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_allrank(fn, their_params, cls, our_params, distinct, seed):
    losses = _allrank_losses()
    s, y = _allrank_batch(seed, distinct)
    theirs = getattr(losses, fn)(s.clone(), y.clone(), **their_params)
    ours = cls(**our_params)(s, y.clamp_min(0), mask=y >= 0)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=2e-6)
    assert math.isfinite(ours.item())


# -- large labels ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["lambda", "lambdarank", "approx_ndcg"])
def test_exp2_gains_stay_finite_for_large_labels(name):
    # 2**y overflows float32 from y = 128; normalised gains are computed scaled.
    s = torch.tensor([[0.5, 1.2, -0.3, 0.8]], requires_grad=True)
    y = torch.tensor([[200.0, 0.0, 100.0, 300.0]])
    value = get_loss(name)(s, y)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(s.grad).all()
    # Gains over the ideal DCG: the item labelled 300 holds all but 2**-100 of
    # it, so the loss is that of labels (0, 0, 0, 1) up to that much.
    top_only = get_loss(name)(s.detach(), torch.tensor([[0.0, 0.0, 0.0, 1.0]]))
    assert float(value) == pytest.approx(float(top_only), rel=1e-6)


def test_lipo_refuses_labels_whose_exp2_gain_overflows():
    s = torch.tensor([[0.5, 1.2, -0.3, 0.8]])
    y = torch.tensor([[200.0, 0.0, 100.0, 300.0]])
    with pytest.raises(ValueError, match="gain='linear'"):
        get_loss("lipo_lambda")(s, y)
    assert torch.isfinite(get_loss("lipo_lambda", gain="linear")(s, y))
    assert torch.isfinite(get_loss("lipo_lambda", normalize_gain=True)(s, y))
