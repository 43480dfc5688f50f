"""GroupRank (groupwise scorer, reward, objectives), the Read-Process-Write set
encoder and Order Matters' order search over tied labels.

Reference values are those of the ranking spec (§8.3, §9.3, §11 rows 3, 5, 11,
23-25); numpy re-implementations follow its Appendix A.
"""

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from sklearn_losses.losses import get_loss
from sklearn_losses.losses._lists import pack_lists
from sklearn_losses.losses.grouprank import (
    GroupRankLoss,
    OrderSearchLoss,
    gaussian_surrogate,
    group_reward,
    js_divergence,
    order_search_values,
    pl_surrogate,
    recall_at_k,
    standardized_advantages,
    tied_order,
)
from sklearn_losses.modules.set_encoder import (
    GroupwiseScorer,
    ReadProcessWrite,
    Set2Set,
    random_partition,
)

F64 = torch.float64
GOLD = torch.tensor([[10.0, 9.3, 8.7, 3.0, 0.3, 0.0]], dtype=F64)
PRED = torch.tensor([[8.0, 9.0, 2.0, 7.0, 1.0, 0.5]], dtype=F64)
S = [0.5, 1.2, -0.3, 0.8]
Y = [2.0, 0.0, 1.0, 3.0]


# -- numpy references (spec Appendix A) -----------------------------------------
def np_log_softmax(x):
    m = x.max()
    return x - (m + np.log(np.exp(x - m).sum()))


def np_pl_nll(z):
    """Plackett-Luce NLL of scores already in the gold order."""
    return sum(
        np.log(np.exp(z[k:] - z[k:].max()).sum()) + z[k:].max() - z[k]
        for k in range(len(z))
    )


def np_listmle(s, y):
    return np_pl_nll(s[np.argsort(-y, kind="stable")])


def np_js_bits(p, q):
    m = (p + q) / 2

    def kl(a, b):
        return sum(x * np.log2(x / z) for x, z in zip(a, b) if x > 0)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def flat(values, dtype=F64, requires_grad=False):
    return torch.tensor(values, dtype=dtype, requires_grad=requires_grad)


# -- §8.3 / §11 rows 23-24: GroupRank's reward and surrogates --------------------
def test_reward_components_and_value():
    mask = torch.ones_like(GOLD, dtype=torch.bool)
    ndcg = group_reward(PRED, GOLD, k=3, gamma=0.0, epsilon=0.0)
    recall = recall_at_k(PRED, GOLD, k=3, rel_threshold=5.0)
    log_q = (GOLD / GOLD.sum()).log()
    js_sum = js_divergence((PRED / PRED.sum()).log(), log_q, mask)
    js_softmax = js_divergence(torch.log_softmax(PRED, -1), log_q, mask)
    assert ndcg.item() == pytest.approx(0.8462556, abs=1e-7)
    assert recall.item() == pytest.approx(2 / 3, abs=1e-12)
    assert js_sum.item() == pytest.approx(0.0892020, abs=1e-7)
    assert js_softmax.item() == pytest.approx(0.1959966, abs=1e-7)
    reward = group_reward(PRED, GOLD, k=3, rel_threshold=5.0, distribution="sum")
    assert reward.item() == pytest.approx(1.0706687706, abs=1e-8)  # §11 row 23
    # the numpy JS agrees, and the softmax form is the default of the reward
    p, q = PRED[0].numpy() / PRED.sum().item(), GOLD[0].numpy() / GOLD.sum().item()
    assert js_sum.item() == pytest.approx(np_js_bits(p, q), abs=1e-12)
    soft = group_reward(PRED, GOLD, k=3, rel_threshold=5.0)
    assert soft.item() == pytest.approx(
        ndcg.item() + 0.2 * 2 / 3 + 0.1 * (1 - js_softmax.item()), abs=1e-12
    )


def test_reward_edge_cases():
    one = torch.ones(1, 6, dtype=torch.bool)
    # no relevant item: recall 1, NDCG 0; identical distributions: JS 0
    zeros = torch.zeros(1, 6, dtype=F64)
    assert recall_at_k(PRED, zeros, one).item() == 1.0
    assert group_reward(PRED, zeros, gamma=0.0, epsilon=0.0).item() == 0.0
    p = torch.log_softmax(PRED, -1)
    assert js_divergence(p, p).item() == pytest.approx(0.0, abs=1e-15)
    # k is min(k, ceil(c / 2)): 3 here, whatever k >= 3 asks
    assert torch.equal(group_reward(PRED, GOLD, k=10), group_reward(PRED, GOLD, k=3))
    # rel_threshold=None: the gold top-k is the relevant set
    assert recall_at_k(PRED, GOLD, k=3, rel_threshold=None).item() == pytest.approx(
        2 / 3
    )
    # padded items change nothing; leading rollout dimensions broadcast
    padded = torch.cat([PRED, flat([[100.0]])], -1)
    mask = torch.cat([one, torch.zeros(1, 1, dtype=torch.bool)], -1)
    gold = torch.cat([GOLD, flat([[10.0]])], -1)
    assert group_reward(padded, gold, mask).item() == pytest.approx(
        group_reward(PRED, GOLD).item(), abs=1e-12
    )
    rollouts = torch.stack([PRED, PRED.flip(-1)], 1)
    both = group_reward(rollouts, GOLD.unsqueeze(1))
    assert both.shape == (1, 2)
    assert both[0, 0] == group_reward(PRED, GOLD)[0]


def test_pl_surrogate_reference():
    logits = flat([[0.3, 1.0, -0.2, 0.6, -1.0, -0.5]])
    orders = [
        (1, 3, 0, 2, 5, 4),
        (3, 1, 0, 2, 4, 5),
        (0, 1, 2, 3, 4, 5),
        (1, 0, 3, 2, 5, 4),
    ]
    rollouts = torch.tensor([orders])
    # an order as scores: the first item highest
    as_scores = torch.empty(1, 4, 6, dtype=F64)
    as_scores.scatter_(-1, rollouts, torch.arange(6, 0, -1, dtype=F64).expand(1, 4, 6))
    rewards = group_reward(as_scores, GOLD.unsqueeze(1), k=3, gamma=0.0, epsilon=0.0)
    torch.testing.assert_close(
        rewards, flat([[0.800924, 0.685918, 1.0, 0.846256]]), atol=1e-6, rtol=0
    )
    torch.testing.assert_close(
        standardized_advantages(rewards),
        flat([[-0.287274, -1.308524, 1.480524, 0.115274]]),
        atol=1e-6,
        rtol=0,
    )
    value = pl_surrogate(logits, rollouts, rewards)
    assert value.item() == pytest.approx(0.2776543, abs=1e-7)  # §11 row 24
    # numpy: -mean A log PL
    adv = standardized_advantages(rewards)[0].numpy()
    u = logits[0].numpy()
    ref = -np.mean([a * -np_pl_nll(u[list(o)]) for a, o in zip(adv, orders)])
    assert value.item() == pytest.approx(ref, abs=1e-12)


def test_gaussian_surrogate_reference():
    noise = flat(
        [[0.5, -1, 0.2, 0, 0.3, -0.4], [-0.8, 0.6, 1.5, -0.2, 0, 0.1], [0] * 6]
    )
    samples = PRED.unsqueeze(1) + noise
    rewards = group_reward(
        samples, GOLD.unsqueeze(1), k=3, rel_threshold=5.0, distribution="sum"
    )
    torch.testing.assert_close(
        rewards, flat([[1.084270, 1.073134, 1.070669]]), atol=1e-6, rtol=0
    )
    value = gaussian_surrogate(PRED, samples, rewards, sigma=1.0)
    assert value.item() == pytest.approx(0.0890077, abs=1e-7)  # §11 row 24
    # the KL anchor adds phi * ||mu - mu_ref||^2 / (2 sigma^2)
    anchored = gaussian_surrogate(
        PRED, samples, rewards, sigma=2.0, mu_ref=PRED + 1, phi=0.5
    )
    plain = gaussian_surrogate(PRED, samples, rewards, sigma=2.0)
    assert (anchored - plain).item() == pytest.approx(0.5 * 6 / 8, abs=1e-12)


# -- §9.3 / §11 row 25: order search -----------------------------------------------
U = [2.0, 0.5, 1.0]


def test_order_search_values_reference():
    u = flat(U)
    max_order, uniform, sampled = order_search_values(u)
    assert max_order.item() == pytest.approx(0.9384458, abs=1e-7)
    assert uniform.item() == pytest.approx(2.1272861, abs=1e-7)
    assert sampled.item() == pytest.approx(1.5140738, abs=1e-7)
    nll = [np_pl_nll(np.array(U)[list(o)]) for o in itertools.permutations(range(3))]
    assert sum(np.exp(-np.array(nll))) == pytest.approx(1.0, abs=1e-12)
    assert max_order.item() == pytest.approx(min(nll), abs=1e-12)
    with pytest.raises(ValueError, match="logits"):
        order_search_values(torch.zeros(9))


def _tied_block_lists(n_lists):
    """[1, 1, 1, 0] with scores [2.0, 0.5, 1.0, -1e4]: the block's terms are
    those of the tied set of §9.3 (the last item's exp underflows to 0)."""
    scores = flat([[*U, -1e4]]).expand(n_lists, 4).contiguous()
    labels = flat([[1.0, 1.0, 1.0, 0.0]]).expand(n_lists, 4).contiguous()
    return scores, labels


def test_order_search_modes_on_a_tied_block():
    scores, labels = _tied_block_lists(1)
    tie_max = OrderSearchLoss("tie_max")(scores, labels)
    assert tie_max.item() == pytest.approx(0.9384458, abs=1e-7)
    fixed = OrderSearchLoss("fixed")(scores, labels)
    assert fixed.item() == pytest.approx(np_pl_nll(np.array(U)), abs=1e-12)
    torch.manual_seed(0)
    scores, labels = _tied_block_lists(20000)
    for mode, expected in (("uniform", 2.1272861), ("tie_sample", 1.5140738)):
        terms = OrderSearchLoss(mode, reduction="none")(scores, labels)
        assert terms.mean().item() == pytest.approx(expected, abs=0.03)
    # the sampled orders follow the model: the likeliest order is the most frequent
    order = tied_order(labels, torch.ones_like(labels, dtype=torch.bool), scores)
    assert order[0].tolist() == [0, 2, 1, 3]


def test_order_search_listmle_references():
    s, y = flat([[0.2, 0.9, -0.1]]), flat([[1.0, 1.0, 0.0]])
    assert OrderSearchLoss("tie_max")(s, y).item() == pytest.approx(1.1773293, abs=1e-7)
    assert OrderSearchLoss("fixed")(s, y).item() == pytest.approx(1.6362357, abs=1e-7)
    torch.manual_seed(0)
    many = OrderSearchLoss("uniform", reduction="none")(
        s.expand(4000, 3), y.expand(4000, 3)
    )
    assert many.mean().item() == pytest.approx(1.4067825, abs=0.02)
    # without ties every mode is ListMLE (§11 row 5)
    for mode in ("tie_sample", "tie_max", "uniform", "fixed"):
        value = OrderSearchLoss(mode)(flat(S), flat(Y), groups=torch.zeros(4).long())
        assert value.item() == pytest.approx(4.2148803507, abs=1e-8)


def test_order_search_pretraining_epochs():
    loss = OrderSearchLoss("tie_max", pretrain_epochs=2)
    assert [loss.current_mode(e) for e in (None, 1, 2, 3)] == [
        "tie_max",
        "uniform",
        "uniform",
        "tie_max",
    ]
    assert OrderSearchLoss("fixed").current_mode(1) == "fixed"
    assert OrderSearchLoss("tie_sample", pretrain_epochs=0).current_mode(1) == (
        "tie_sample"
    )
    scores, labels = _tied_block_lists(50)
    torch.manual_seed(3)
    pre = loss(scores, labels, epoch=1)
    torch.manual_seed(3)
    uniform = OrderSearchLoss("uniform")(scores, labels)
    assert pre.item() == uniform.item()
    assert loss(scores, labels, epoch=3).item() == pytest.approx(0.9384458, abs=1e-7)


# -- GroupRankLoss -----------------------------------------------------------------
def test_supervised_objective_matches_numpy():
    s, y = np.array(S), np.array(Y)
    groups = torch.zeros(4, dtype=torch.long)
    plain = GroupRankLoss(epsilon=0.0)(flat(S), flat(Y), groups=groups)
    assert plain.item() == pytest.approx(4.2148803507, abs=1e-8)  # ListMLE
    value = GroupRankLoss(epsilon=0.1, js_temperature=0.5)(
        flat(S), flat(Y), groups=groups
    )
    p, q = np.exp(np_log_softmax(s / 0.5)), y / y.sum()
    assert value.item() == pytest.approx(
        np_listmle(s, y) + 0.1 * np_js_bits(p, q), abs=1e-10
    )
    # tied labels take the most favourable order (ListMLE ties="best")
    tied = GroupRankLoss(epsilon=0.0)(flat([[0.2, 0.9, -0.1]]), flat([[1.0, 1.0, 0.0]]))
    assert tied.item() == pytest.approx(1.1773293, abs=1e-7)


class _Grouped(nn.Module):
    """A stand-in scorer exposing the groups of its last forward."""

    def __init__(self, sub):
        super().__init__()
        self.last_groups_ = sub


def test_loss_reads_the_module_groups_in_training_only():
    torch.manual_seed(0)
    s, y = torch.randn(9, dtype=F64), torch.tensor([3, 0, 1, 2, 0, 1, 2, 3, 1.0])
    qid = torch.tensor([0, 0, 0, 0, 0, 1, 1, 1, 1])
    sub = torch.tensor([0, 1, 0, 1, 1, 2, 2, 3, 3])
    loss = GroupRankLoss()
    module = _Grouped(sub)
    by_module = loss(s, y, groups=qid, module=module)
    assert by_module.item() == pytest.approx(loss(s, y, groups=sub).item(), abs=1e-14)
    module.eval()
    by_query = loss(s, y, groups=qid, module=module)
    assert by_query.item() == pytest.approx(loss(s, y, groups=qid).item(), abs=1e-14)
    module.train()
    with pytest.raises(ValueError, match="one group id per row"):
        loss(s, y, groups=qid, module=_Grouped(sub[:5]))
    with pytest.raises(ValueError, match="several query ids"):
        loss(s, y, groups=qid, module=_Grouped(torch.zeros(9, dtype=torch.long)))
    # a module without groups of its own (a pointwise scorer): the queries
    assert loss(s, y, groups=qid, module=nn.Linear(1, 1)).item() == by_query.item()


def test_weights_and_uninformative_groups():
    torch.manual_seed(0)
    s = torch.randn(10, dtype=F64, requires_grad=True)
    y = torch.tensor([2, 0, 1, 1, 1, 1, 3, 0, 1, 2.0])
    qid = torch.tensor([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])  # query 1 all tied, 2 single
    w = torch.tensor([2.0, 2, 2, 5, 5, 7, 0.5, 0.5, 0.5, 0.5], dtype=F64)
    for objective in ("supervised", "rl_gaussian", "rl_pl"):
        loss = GroupRankLoss(objective)
        torch.manual_seed(1)
        terms = GroupRankLoss(objective, reduction="none")(s, y, groups=qid)
        assert terms[1] == 0 and terms[2] == 0
        torch.manual_seed(1)
        weighted = loss(s, y, groups=qid, sample_weight=w)
        ref = (2 * terms[0] + 0.5 * terms[3]) / 2.5
        assert weighted.item() == pytest.approx(ref.item(), rel=1e-12)
        torch.manual_seed(1)
        ones = loss(s, y, groups=qid, sample_weight=torch.ones(10, dtype=F64))
        torch.manual_seed(1)
        assert ones.item() == pytest.approx(loss(s, y, groups=qid).item(), rel=1e-12)
    # nothing informative: 0 with zero gradients
    nothing = GroupRankLoss()(s[3:6], y[3:6], groups=qid[3:6])
    nothing.backward()
    assert nothing.item() == 0.0 and torch.equal(s.grad, torch.zeros_like(s))
    order = OrderSearchLoss()(s[3:6], y[3:6], groups=qid[3:6])
    assert order.item() == 0.0


def _contexts():
    return [
        ("grouprank", {"objective": "supervised"}),
        ("grouprank", {"objective": "rl_gaussian"}),
        ("grouprank", {"objective": "rl_pl"}),
        ("order_search", {"mode": "tie_sample"}),
        ("order_search", {"mode": "tie_max"}),
        ("order_search", {"mode": "uniform"}),
        ("order_search", {"mode": "fixed"}),
    ]


@pytest.mark.parametrize(("name", "params"), _contexts())
def test_finite_value_and_gradient_at_extreme_scores(name, params):
    loss = get_loss(name, **params)
    qid = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    y = torch.tensor([2, 0, 1, 0, 3, 3, 1.0])
    for dtype in (torch.float32, F64):
        s = torch.tensor([1e4, -1e4, 0.0, 1e4, 1e4, -1e4, 3.0], dtype=dtype)
        s.requires_grad_(True)
        torch.manual_seed(0)
        value = loss(s, y, groups=qid)
        value.backward()
        assert value.shape == () and torch.isfinite(value)
        assert torch.isfinite(s.grad).all()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        (n, p)
        for n, p in _contexts()
        if p.get("objective", "supervised") == "supervised"
    ],
)
def test_gradcheck(name, params):
    """float64 gradcheck on tiny lists with padding (the sampled orders are
    fixed by reseeding each evaluation)."""
    s = torch.tensor([0.31, -0.72, 1.13, 0.05, -0.46, 0.88, 0.27], dtype=F64)
    y = torch.tensor([1, 1, 0, 2, 2, 0, 1.0])
    qid = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    w = torch.tensor([1.5, 1.5, 1.5, 0.5, 0.5, 0.5, 0.5], dtype=F64)

    def value(x):
        torch.manual_seed(0)
        return get_loss(name, **params)(x, y, groups=qid, sample_weight=w)

    assert torch.autograd.gradcheck(value, (s.clone().requires_grad_(True),))


@pytest.mark.parametrize("objective", ["rl_gaussian", "rl_pl"])
def test_policy_gradient_raises_the_best_item(objective):
    s = torch.zeros(5, dtype=F64, requires_grad=True)
    y = torch.tensor([0, 0, 4, 0, 0.0])
    torch.manual_seed(0)
    GroupRankLoss(objective, n_rollouts=512, epsilon=0.0)(s, y).backward()
    assert s.grad[2] < 0 and (s.grad[[0, 1, 3, 4]] > 0).all()


def test_rl_gaussian_is_the_surrogate_of_its_draws():
    s, y = flat([S]), flat([Y])
    loss = GroupRankLoss("rl_gaussian", n_rollouts=4, sigma=0.5, k=2)
    torch.manual_seed(7)
    value = loss(s, y)
    torch.manual_seed(7)
    samples = s.unsqueeze(1) + 0.5 * torch.randn(1, 4, 4, dtype=F64)
    rewards = group_reward(samples, y.unsqueeze(1), k=2)
    expected = gaussian_surrogate(s, samples, rewards, sigma=0.5)
    assert value.item() == pytest.approx(expected.item(), abs=1e-14)


@pytest.mark.parametrize(("name", "params"), _contexts()[:1] + _contexts()[4:])
def test_padding_and_permutation_invariance(name, params):
    loss = get_loss(name, **params)
    s, y = flat([S]), flat([Y])
    padded = loss(
        torch.cat([s, flat([[9.0]])], -1),
        torch.cat([y, flat([[-1.0]])], -1),
        mask=torch.tensor([[True] * 4 + [False]]),
    )
    assert padded.item() == loss(s, y).item()
    perm = torch.tensor([2, 0, 3, 1])
    assert loss(s[:, perm], y[:, perm]).item() == pytest.approx(loss(s, y).item())


def test_registry_and_bad_parameters():
    assert isinstance(get_loss("grouprank", objective="rl_pl"), GroupRankLoss)
    assert isinstance(get_loss("order_search"), OrderSearchLoss)
    assert GroupRankLoss.module_class is GroupwiseScorer
    assert GroupRankLoss.requires == ("groups", "module")
    assert OrderSearchLoss.requires == ("groups", "epoch")
    assert GroupRankLoss().get_params()["objective"] == "supervised"
    bad = [
        ({"objective": "ppo"}, "objective"),
        ({"k": 0}, "k must"),
        ({"gamma": -1.0}, "gamma"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"rel_threshold": "high"}, "rel_threshold"),
        ({"gain": "log"}, "gain"),
        ({"n_rollouts": 1}, "n_rollouts"),
        ({"sigma": 0.0}, "sigma"),
        ({"js_temperature": -1.0}, "js_temperature"),
    ]
    for params, match in bad:
        with pytest.raises(ValueError, match=match):
            GroupRankLoss(**params)
    with pytest.raises(ValueError, match="mode"):
        OrderSearchLoss("greedy")
    with pytest.raises(ValueError, match="pretrain_epochs"):
        OrderSearchLoss(pretrain_epochs=-1)
    with pytest.raises(ValueError, match="distribution"):
        group_reward(PRED, GOLD, distribution="max")


# -- modules -----------------------------------------------------------------------
def _rpw(**params):
    torch.manual_seed(0)
    return ReadProcessWrite(3, hidden_dim=8, process_steps=3, **params).double()


def test_set2set_is_permutation_invariant_and_ignores_padding():
    torch.manual_seed(0)
    block = Set2Set(6, 4)
    memory = torch.randn(2, 7, 6)
    mask = torch.tensor([[True] * 7, [True] * 5 + [False] * 2])
    q = block(memory, mask)
    perm = torch.randperm(7)
    shuffled = block(memory[:1, perm], mask[:1, perm])
    torch.testing.assert_close(shuffled, q[:1], atol=1e-6, rtol=0)
    garbage = memory.clone()
    garbage[1, 5:] = 1e3
    torch.testing.assert_close(block(garbage, mask), q, atol=1e-6, rtol=0)
    alone = block(memory[1:, :5], mask[1:, :5])
    torch.testing.assert_close(alone, q[1:], atol=1e-6, rtol=0)
    assert torch.equal(Set2Set(6, 0)(memory, mask), torch.zeros(2, 12))


def test_rpw_is_permutation_equivariant_and_sets_are_separate():
    net = _rpw()
    torch.manual_seed(1)
    x = torch.randn(9, 3, dtype=F64)
    groups = torch.tensor([4, 1, 4, 4, 1, 7, 1, 4, 4])
    scores = net(x, groups=groups)
    assert scores.shape == (9, 1)
    perm = torch.randperm(9)
    torch.testing.assert_close(net(x[perm], groups=groups[perm]), scores[perm])
    for g in (1, 4, 7):
        rows = groups == g
        torch.testing.assert_close(net(x[rows]), scores[rows])  # groups=None: one set
    # one row is a set of its own; rank_scores is the forward, flat
    assert torch.isfinite(net(x[:1])).all() and net(x[:1]).shape == (1, 1)
    torch.testing.assert_close(net.rank_scores(x, groups), scores.reshape(-1))
    assert net(x[:0]).shape == (0, 1)


def test_rpw_padded_sets_equal_unpadded():
    net = _rpw(n_write_layers=2)
    torch.manual_seed(2)
    x = torch.randn(1, 5, 3, dtype=F64)
    padded = torch.cat([x, torch.full((1, 3, 3), 50.0, dtype=F64)], 1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    full = net.score_sets(x, torch.ones(1, 5, dtype=torch.bool))
    torch.testing.assert_close(net.score_sets(padded, mask)[:, :5], full)
    q = net.set_embedding(x, torch.ones(1, 5, dtype=torch.bool))
    torch.testing.assert_close(net.set_embedding(padded, mask), q)


def test_random_partition_sizes():
    torch.manual_seed(0)
    counts = torch.tensor([1, 3, 5, 9, 10, 20, 21, 37, 60])
    groups = torch.repeat_interleave(torch.arange(9) * 10, counts)
    n = groups.shape[0]
    for _ in range(20):
        sizes = torch.randint(5, 21, (9,))
        sub = random_partition(
            groups, n, sizes=sizes, max_size=20, min_size=5, keys=torch.rand(n)
        )
        (owner,), mask, _ = pack_lists(sub, groups)
        assert bool(((owner == owner[:, :1]) | ~mask).all())  # groups nest in queries
        size = mask.sum(-1)
        query_size = counts[torch.unique(owner[:, 0], return_inverse=True)[1]]
        assert bool(((size >= 5) | (size == query_size)).all())
        assert bool((size <= 20).all())
    # no number of groups fits [4, 5] for 7 rows: one group of 7, never one of 3
    sub = random_partition(None, 7, max_size=5, min_size=4, keys=torch.rand(7))
    assert sub.tolist() == [0] * 7


def _scorer(**params):
    torch.manual_seed(0)
    return GroupwiseScorer(
        3,
        hidden_dim=8,
        process_steps=2,
        **{"group_size": 6, "min_group_size": 3, **params},
    ).double()


def test_groupwise_training_groups():
    net = _scorer()
    torch.manual_seed(5)
    x = torch.randn(40, 3, dtype=F64)
    qid = torch.repeat_interleave(torch.tensor([3, 1, 2]), torch.tensor([17, 2, 21]))
    seen = set()
    for _ in range(15):
        scores = net(x, groups=qid)
        sub = net.last_groups_
        assert scores.shape == (40, 1) and sub.dtype == torch.long
        (owner,), mask, _ = pack_lists(sub, qid)
        assert bool(((owner == owner[:, :1]) | ~mask).all())
        size = mask.sum(-1)
        small = owner[:, 0] == 1  # the query of 2 rows is one group
        assert bool((size[small] == 2).all())
        assert bool(((size[~small] >= 3) & (size[~small] <= 6)).all())
        seen.add(tuple(sorted(size.tolist())))
        torch.testing.assert_close(scores, net.encoder(x, groups=sub))
    assert len(seen) > 1  # the partition is redrawn every forward
    torch.manual_seed(9)
    first = net(x, groups=qid)
    torch.manual_seed(9)
    assert torch.equal(net(x, groups=qid), first)  # global RNG: reproducible


def test_groupwise_prediction_is_deterministic_tts():
    net = _scorer(tts_repeats=3).eval()
    torch.manual_seed(5)
    x = torch.randn(30, 3, dtype=F64)
    qid = torch.repeat_interleave(torch.tensor([0, 1]), torch.tensor([13, 17]))
    state = torch.get_rng_state()
    scores = net.rank_scores(x, qid)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is untouched
    assert torch.equal(net.rank_scores(x, qid), scores)
    assert torch.equal(net(x, groups=qid).reshape(-1), scores)
    assert torch.equal(net.last_groups_, torch.unique(qid, return_inverse=True)[1])
    parts = net.prediction_groups(x, qid)
    assert parts.shape == (3, 30)
    mean = sum(net.encoder(x, groups=p).reshape(-1) for p in parts) / 3
    torch.testing.assert_close(scores, mean)
    # a query's scores do not depend on the other queries predicted with it
    torch.testing.assert_close(net.rank_scores(x[:13], qid[:13]), scores[:13])
    # another seed, another partition
    other = _scorer(tts_repeats=3, random_state=1).eval()
    assert not torch.equal(other.prediction_groups(x, qid), parts)


def test_groupwise_one_repeat_on_small_queries_is_the_encoder():
    net = _scorer(group_size=20, min_group_size=5, tts_repeats=1).eval()
    torch.manual_seed(6)
    x = torch.randn(25, 3, dtype=F64)
    qid = torch.repeat_interleave(torch.tensor([0, 1, 2]), torch.tensor([20, 4, 1]))
    torch.testing.assert_close(
        net.rank_scores(x, qid), net.encoder(x, groups=qid).reshape(-1)
    )
    torch.testing.assert_close(net(x[:1]), net.encoder(x[:1]))  # a set of one


def test_groupwise_with_the_loss_trains():
    net = _scorer()
    torch.manual_seed(3)
    x = torch.randn(36, 3, dtype=F64)
    qid = torch.arange(36) // 12
    y = (x[:, 0] > 0).to(F64) + (x[:, 1] > 0.5).to(F64)
    for objective in ("supervised", "rl_gaussian", "rl_pl"):
        loss = GroupRankLoss(objective, k=3)
        net.zero_grad()
        value = loss(net(x, groups=qid), y, groups=qid, module=net)
        value.backward()
        assert torch.isfinite(value)
        with torch.no_grad():
            for param in net.parameters():
                assert torch.isfinite(param.grad).all()
                param -= 0.05 * param.grad
    net.eval()
    with torch.inference_mode():  # as the engine predicts for validation
        scores = net(x, groups=qid)
    with torch.no_grad():
        for objective in ("supervised", "rl_gaussian", "rl_pl"):
            loss = GroupRankLoss(objective)
            assert torch.isfinite(loss(scores, y, groups=qid, module=net))


def test_module_bad_parameters():
    for params, match in [
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"process_steps": -1}, "process_steps"),
        ({"n_write_layers": 1.5}, "n_write_layers"),
        ({"dropout": 1.0}, "dropout"),
    ]:
        with pytest.raises(ValueError, match=match):
            ReadProcessWrite(3, **params)
    with pytest.raises(ValueError, match="n_features"):
        ReadProcessWrite(0)
    for params, match in [
        ({"group_size": 1}, "group_size"),
        ({"min_group_size": 1}, "min_group_size"),
        ({"group_size": 4, "min_group_size": 5}, "min_group_size must be <="),
        ({"tts_repeats": 0}, "tts_repeats"),
        ({"random_state": -1}, "random_state"),
        ({"random_state": None}, "random_state"),
        ({"hidden_dim": 0}, "hidden_dim"),
    ]:
        with pytest.raises(ValueError, match=match):
            GroupwiseScorer(3, **params)
    assert math.isclose(GroupwiseScorer(3).tts_repeats, 4)
