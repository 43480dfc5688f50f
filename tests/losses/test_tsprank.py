"""TSPRank: path decoders, the global and local losses, the loss class and the
network (spec-ranking §7, reference values §7.4 and §11 rows 19-20)."""

import itertools

import numpy as np
import pytest
import torch

from sklearn_losses.losses import get_loss_class, trusted_targets
from sklearn_losses.losses._lists import pack_lists
from sklearn_losses.losses.tsprank import (
    TSPRankLoss,
    pairwise_bce,
    successor_ce,
    tsprank_global_loss,
)
from sklearn_losses.modules.tsprank import (
    DP_MAX_N,
    TSPRankModule,
    best_open_path,
    best_paths,
    exact_open_path,
    heuristic_open_path,
)

F64 = torch.float64

# §7.4: embeddings, bilinear weight and bias; A has its diagonal zeroed.
H = [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [-0.5, 0.5]]
W = [[1.0, -0.5], [0.8, 0.2]]
B = 0.1
A_REF = np.array(
    [
        [0.000, 0.350, -0.400, -0.650],
        [1.000, 0.000, -0.050, -0.425],
        [0.900, 0.600, 0.000, -0.200],
        [0.000, 0.225, 0.450, 0.000],
    ]
)
# gold ranks [2, 1, 4, 3] (item 1 best): any labels in that order
Y_REF = [3.0, 4.0, 1.0, 2.0]


# -- independent references (spec Appendix A, brute force) ----------------------
def appendix_best_open_path(A):
    """Held-Karp as spec-ranking Appendix A writes it (dict DP)."""
    n = len(A)
    dp = {(1 << j, j): (0.0, -1) for j in range(n)}
    for m in range(1, 1 << n):
        for j in range(n):
            if (m, j) not in dp:
                continue
            for k in range(n):
                if m >> k & 1:
                    continue
                v = dp[(m, j)][0] + A[j, k]
                if v > dp.get((m | 1 << k, k), (-np.inf,))[0]:
                    dp[(m | 1 << k, k)] = (v, j)
    full = (1 << n) - 1
    j = max(range(n), key=lambda j: dp[(full, j)][0])
    best = dp[(full, j)][0]
    path, m = [], full
    while j != -1:
        path.append(j)
        pj = dp[(m, j)][1]
        m ^= 1 << j
        j = pj
    return path[::-1], best


def path_score(A, path):
    return sum(A[path[k], path[k + 1]] for k in range(len(path) - 1))


def brute_force(A):
    return max(path_score(A, p) for p in itertools.permutations(range(len(A))))


def reference_module(**params):
    """A network whose pair scores are the §7.4 matrix: identity projection,
    no encoder, the bilinear weight ``W`` and bias ``B``."""
    module = TSPRankModule(
        2, embedding_dim=2, hidden_layer_sizes=(), n_layers=0, **params
    ).double()
    with torch.no_grad():
        module.projection[0].weight.copy_(torch.eye(2))
        module.projection[0].bias.zero_()
        module.comparator.weight.copy_(torch.tensor([W], dtype=F64))
        module.comparator.bias.fill_(B)
    return module


def random_lists(sizes, seed=0, d=3):
    """Rows of several queries, interleaved: ``x``, labels, query ids."""
    g = torch.Generator().manual_seed(seed)
    groups = torch.cat([torch.full((n,), q) for q, n in enumerate(sizes)])
    order = torch.randperm(len(groups), generator=g)
    groups = groups[order]
    x = torch.randn(len(groups), d, generator=g, dtype=F64)
    y = torch.randint(0, 4, (len(groups),), generator=g).to(F64)
    return x, y, groups


def small_module(seed=0, **params):
    torch.manual_seed(seed)
    defaults = {"embedding_dim": 4, "hidden_layer_sizes": (6,), "n_heads": 2}
    defaults.update(params)
    return TSPRankModule(3, dropout=0.0, **defaults).double().eval()


# -- reference values -------------------------------------------------------------
def test_module_pair_scores_equal_the_reference_matrix():
    module = reference_module()
    h = module(torch.tensor(H, dtype=F64))
    A, mask, _ = module.pair_scores(h)
    np.testing.assert_allclose(A[0].detach().numpy(), A_REF, atol=1e-12)
    assert mask.all()


def test_reference_paths_and_scores():
    assert exact_open_path(A_REF)[0] == [3, 2, 1, 0]
    assert exact_open_path(A_REF)[1] == pytest.approx(2.05, abs=1e-12)
    assert heuristic_open_path(A_REF)[0] == [3, 2, 1, 0]
    assert best_open_path(torch.tensor(A_REF))[0] == [3, 2, 1, 0]
    # gold path and the loss-augmented argmax of §7.4
    assert path_score(A_REF, [1, 0, 3, 2]) == pytest.approx(0.80, abs=1e-12)
    gold = np.zeros((4, 4))
    gold[[1, 0, 3], [0, 3, 2]] = 1.0
    path, score = exact_open_path(A_REF + 1.0 - gold)
    assert path == [3, 1, 2, 0]
    assert score == pytest.approx(4.075, abs=1e-12)


def test_reference_losses():
    A, y = torch.tensor(A_REF), torch.tensor(Y_REF, dtype=F64)
    assert tsprank_global_loss(A, y).item() == pytest.approx(0.81875, abs=1e-8)
    assert successor_ce(A, y).item() == pytest.approx(0.9881102, abs=1e-7)
    assert pairwise_bce(A, y).item() == pytest.approx(0.5346079, abs=1e-7)


@pytest.mark.parametrize(
    "params, value",
    [
        ({"mode": "global"}, 0.81875),
        ({"mode": "local"}, 0.9881102),
        ({"mode": "local", "local": "pairwise_bce"}, 0.5346079),
    ],
)
def test_reference_losses_through_the_network(params, value):
    module = reference_module()
    x, y = torch.tensor(H, dtype=F64), torch.tensor(Y_REF, dtype=F64)
    loss = TSPRankLoss(**params)
    out = loss(module(x), y, module=module, epoch=1)
    assert out.item() == pytest.approx(value, abs=1e-7)


def test_reference_rank_scores():
    module = reference_module()
    scores = module.rank_scores(torch.tensor(H, dtype=F64))
    # path [3, 2, 1, 0]: item 3 first (n - 1 = 3), item 0 last (0)
    assert scores.tolist() == [0.0, 1.0, 2.0, 3.0]


# -- decoders ------------------------------------------------------------------------
def test_exact_equals_brute_force_and_appendix_dp():
    rng = np.random.default_rng(0)
    for n in [1, 2, 3, 4, 5, 6, 7, 7]:
        A = rng.normal(size=(n, n))
        path, score = exact_open_path(A)
        assert sorted(path) == list(range(n))
        assert score == pytest.approx(path_score(A, path), abs=1e-12)
        assert score == pytest.approx(brute_force(A), abs=1e-12)
        assert score == pytest.approx(appendix_best_open_path(A)[1], abs=1e-12)


def test_exact_matches_appendix_dp_beyond_brute_force():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(10, 10))
    path, score = exact_open_path(A)
    ref_path, ref_score = appendix_best_open_path(A)
    assert path == ref_path
    assert score == pytest.approx(ref_score, abs=1e-12)


def test_heuristic_never_beats_exact_and_is_exact_up_to_three():
    rng = np.random.default_rng(2)
    for n in [1, 2, 2, 3, 3, 3, 3, 5, 6, 8, 9]:
        A = rng.normal(size=(n, n))
        path, score = heuristic_open_path(A)
        assert sorted(path) == list(range(n))
        assert score == pytest.approx(path_score(A, path), abs=1e-12)
        best = exact_open_path(A)[1]
        assert score <= best + 1e-12
        if n <= 3:
            assert score == pytest.approx(best, abs=1e-12)
    A = rng.normal(size=(12, 12))
    assert heuristic_open_path(A) == heuristic_open_path(A.copy())  # deterministic
    one = heuristic_open_path(A, n_starts=1)[1]
    assert one <= heuristic_open_path(A)[1] <= exact_open_path(A)[1] + 1e-12


def greedy(A, start):
    path = [start]
    while len(path) < len(A):
        row = [(A[path[-1], k], -k) for k in range(len(A)) if k not in path]
        path.append(-max(row)[1])
    return path


def test_heuristic_handles_long_lists_and_improves_on_greedy():
    A = np.random.default_rng(3).normal(size=(40, 40))
    path, score = heuristic_open_path(A)
    assert sorted(path) == list(range(40))
    best_greedy = max(path_score(A, greedy(A, s)) for s in range(40))
    assert score >= best_greedy - 1e-12


def test_small_lists():
    assert exact_open_path(np.zeros((0, 0))) == ([], 0.0)
    assert exact_open_path([[5.0]]) == ([0], 0.0)
    assert heuristic_open_path([[5.0]]) == ([0], 0.0)
    assert best_open_path([[0.0, 1.0], [2.0, 0.0]]) == ([1, 0], 2.0)
    assert best_open_path([[0.0, 3.0], [2.0, 0.0]]) == ([0, 1], 3.0)
    assert heuristic_open_path([[0.0, 1.0], [2.0, 0.0]]) == ([1, 0], 2.0)


def test_best_open_path_switches_at_dp_max_n():
    A = np.random.default_rng(4).normal(size=(7, 7))
    assert best_open_path(A, dp_max_n=7) == exact_open_path(A)
    assert best_open_path(A, dp_max_n=6) == heuristic_open_path(A)


def test_best_paths_batches_lists_of_any_length_and_mask():
    g = torch.Generator().manual_seed(5)
    A = torch.randn(5, 8, 8, generator=g, dtype=F64)
    mask = torch.ones(5, 8, dtype=torch.bool)
    mask[1, 5:] = False
    mask[2, 1:] = False
    mask[3, [0, 2, 6]] = False  # real items need not come first
    paths = best_paths(A, mask, dp_max_n=7)
    for b, path in enumerate(paths):
        real = torch.nonzero(mask[b]).squeeze(1)
        sub = A[b][real][:, real]
        expected = best_open_path(sub, dp_max_n=7)[0]
        assert list(path) == real[expected].tolist()


def test_exact_refuses_long_lists_naming_dp_max_n():
    with pytest.raises(ValueError, match="dp_max_n"):
        exact_open_path(np.zeros((DP_MAX_N + 1, DP_MAX_N + 1)))


@pytest.mark.parametrize(
    "A, error",
    [
        (np.zeros((2, 3)), ValueError),
        (np.zeros(3), ValueError),
        ([[0.0, np.nan], [1.0, 0.0]], ValueError),
        ("matrix", TypeError),
        (object(), TypeError),
    ],
)
def test_decoders_refuse_bad_matrices(A, error):
    for decode in (exact_open_path, heuristic_open_path, best_open_path):
        with pytest.raises(error, match="A must"):
            decode(A)


@pytest.mark.parametrize("dp_max_n", [0, DP_MAX_N + 1, True, 2.5, "16"])
def test_bad_dp_max_n(dp_max_n):
    with pytest.raises(ValueError, match="dp_max_n"):
        best_open_path(np.zeros((3, 3)), dp_max_n=dp_max_n)
    with pytest.raises(ValueError, match="dp_max_n"):
        TSPRankLoss(dp_max_n=dp_max_n)
    with pytest.raises(ValueError, match="dp_max_n"):
        TSPRankModule(3, dp_max_n=dp_max_n)


def test_heuristic_bad_n_starts():
    with pytest.raises(ValueError, match="n_starts"):
        heuristic_open_path(np.zeros((3, 3)), n_starts=0)


# -- losses on pair scores ---------------------------------------------------------
def test_global_loss_is_nonnegative_and_zero_when_gold_wins_by_the_margin():
    g = torch.Generator().manual_seed(6)
    A = torch.randn(6, 6, generator=g, dtype=F64)
    y = torch.randn(6, generator=g, dtype=F64)
    assert tsprank_global_loss(A, y).item() >= 0
    order = torch.argsort(y, descending=True)
    gold = torch.zeros(6, 6, dtype=F64)
    gold[order[:-1], order[1:]] = 1.0
    assert tsprank_global_loss(2.0 * gold, y).item() == pytest.approx(0.0, abs=1e-12)
    assert tsprank_global_loss(2.0 * gold, y, margin=3.0).item() > 0


def test_losses_on_short_lists_and_padding():
    A = torch.randn(3, 4, 4, dtype=F64)
    y = torch.randn(3, 4, dtype=F64)
    mask = torch.tensor(
        [[True] * 4, [True, False, False, False], [True, True] + [0] * 2]
    )
    mask = mask.bool()
    for fn in (tsprank_global_loss, successor_ce, pairwise_bce):
        terms = fn(A, y, mask)
        assert terms.shape == (3,)
        assert terms[1].item() == 0.0  # one item: nothing to learn
        for b in (0, 2):
            n = int(mask[b].sum())
            single = fn(A[b, :n, :n], y[b, :n])
            torch.testing.assert_close(terms[b], single, rtol=1e-12, atol=1e-14)
        # padded entries may hold anything
        noisy = A.clone()
        noisy[~(mask[:, :, None] & mask[:, None, :])] = 1e3
        torch.testing.assert_close(fn(noisy, y, mask), terms, rtol=0, atol=0)


def test_two_items():
    A = torch.tensor([[0.0, 0.3], [0.7, 0.0]], dtype=F64)
    y = torch.tensor([1.0, 0.0], dtype=F64)  # gold: 0 then 1
    # A' = [[., 0.3], [1.7, .]]: the argmax is 1 -> 0 (1.7) against gold 0.3
    assert tsprank_global_loss(A, y).item() == pytest.approx((1.7 - 0.3) / 2)
    # one row with a successor; the softmax has the successor only
    assert successor_ce(A, y).item() == pytest.approx(0.0, abs=1e-12)


def test_gradcheck_on_pair_scores():
    g = torch.Generator().manual_seed(7)
    A = torch.randn(2, 5, 5, generator=g, dtype=F64, requires_grad=True)
    y = torch.randn(2, 5, generator=g, dtype=F64)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False
    for fn in (tsprank_global_loss, successor_ce, pairwise_bce):
        assert torch.autograd.gradcheck(lambda a, fn=fn: fn(a, y, mask), (A,))


def test_global_gradient_is_the_difference_of_path_indicators():
    A = torch.tensor(A_REF, requires_grad=True)
    tsprank_global_loss(A, torch.tensor(Y_REF, dtype=F64)).backward()
    expected = np.zeros((4, 4))
    expected[[3, 1, 2], [1, 2, 0]] += 0.25  # loss-augmented path [3, 1, 2, 0]
    expected[[1, 0, 3], [0, 3, 2]] -= 0.25  # gold path [1, 0, 3, 2]
    np.testing.assert_allclose(A.grad.numpy(), expected, atol=1e-15)


def test_gradcheck_through_the_network():
    module = small_module(n_layers=1)
    x, y, groups = random_lists([4, 3], seed=8)
    x.requires_grad_(True)
    for params in ({"mode": "global"}, {"mode": "local"}, {"local": "pairwise_bce"}):
        loss = TSPRankLoss(**{"mode": "local", **params})

        def fn(x, loss=loss):
            return loss(module(x, groups=groups), y, groups=groups, module=module)

        assert torch.autograd.gradcheck(fn, (x,))


# -- the loss class ----------------------------------------------------------
def test_registry_and_contract():
    assert get_loss_class("tsprank") is TSPRankLoss
    assert TSPRankLoss.module_class is TSPRankModule
    assert TSPRankLoss().module_class is TSPRankModule
    assert TSPRankLoss.tasks == {"ranking"}
    assert TSPRankLoss.requires == ("groups", "module", "epoch")
    assert not TSPRankLoss.decomposable
    loss = TSPRankLoss(mode="local", local="pairwise_bce", dp_max_n=8, margin=0.5)
    assert loss.get_params() == {
        "dp_max_n": 8,
        "local": "pairwise_bce",
        "margin": 0.5,
        "ties": "any",
        "mode": "local",
        "reduction": "mean",
    }


def test_several_queries_equal_one_by_one():
    module = small_module(n_layers=1)
    sizes = [5, 1, 3, 4]
    x, y, groups = random_lists(sizes, seed=9)
    h = module(x, groups=groups)
    for mode in ("global", "local"):
        loss = TSPRankLoss(mode=mode)
        batch = loss(h, y, groups=groups, module=module)
        singles = []
        for q in range(len(sizes)):
            rows = groups == q
            hq = module(x[rows])
            torch.testing.assert_close(hq, h[rows], rtol=1e-10, atol=1e-12)
            if rows.sum() >= 2:
                singles.append(loss(hq, y[rows], module=module))
        torch.testing.assert_close(batch, torch.stack(singles).mean())
    scores = module.rank_scores(x, groups)
    for q in range(len(sizes)):
        rows = groups == q
        torch.testing.assert_close(scores[rows], module.rank_scores(x[rows]))


def test_query_weights():
    module = small_module(n_layers=0)
    x, y, groups = random_lists([4, 3, 5], seed=10)
    h = module(x, groups=groups)
    loss = TSPRankLoss(mode="global")
    plain = loss(h, y, groups=groups, module=module)
    ones = loss(h, y, groups=groups, module=module, sample_weight=torch.ones(12))
    torch.testing.assert_close(ones, plain, rtol=1e-14, atol=1e-15)
    per_query = torch.tensor([1.0, 3.0, 0.0], dtype=F64)
    weighted = loss(h, y, groups=groups, module=module, sample_weight=per_query[groups])
    terms = [loss(h[groups == q], y[groups == q], module=module) for q in range(3)]
    expected = (terms[0] + 3.0 * terms[1]) / 4.0
    torch.testing.assert_close(weighted, expected)
    varying = torch.ones(12, dtype=F64)
    varying[torch.nonzero(groups == 0)[0]] = 2.0
    with pytest.raises(ValueError, match="constant within a query"):
        loss(h, y, groups=groups, module=module, sample_weight=varying)


def test_single_item_lists_contribute_nothing():
    module = small_module(n_layers=0)
    x, y, groups = random_lists([1, 1], seed=11)
    h = module(x, groups=groups)
    for mode in ("hybrid", "global", "local"):
        out = TSPRankLoss(mode=mode)(h, y, groups=groups, module=module, epoch=1)
        assert out.item() == 0.0
        out.backward(retain_graph=True)


def test_hybrid_alternates_per_batch_and_flips_every_epoch():
    module = small_module(n_layers=0)
    x, y, groups = random_lists([4, 5], seed=12)
    h = module(x, groups=groups)
    A, mask, _ = module.pair_scores(h, groups)
    (labels,), _, _ = pack_lists(groups, y)
    probe = TSPRankLoss()
    glob = probe.pair_loss(A, labels, mask, use_global=True).mean()
    local = probe.pair_loss(A, labels, mask, use_global=False).mean()
    assert not torch.isclose(glob, local)
    loss = TSPRankLoss(mode="hybrid").train()

    def phases(epoch, n):
        out = []
        for _ in range(n):
            value = loss(h, y, groups=groups, module=module, epoch=epoch)
            out.append("g" if torch.isclose(value, glob) else "l")
        return "".join(out)

    assert phases(1, 3) == "lgl"
    assert phases(2, 3) == "glg"
    assert phases(3, 2) == "lg"
    # validation (eval mode or no gradient): the global loss, counting nothing
    with torch.no_grad():
        assert torch.isclose(loss(h, y, groups=groups, module=module, epoch=3), glob)
    loss.eval()
    assert torch.isclose(loss(h, y, groups=groups, module=module, epoch=3), glob)
    loss.train()
    assert phases(3, 1) == "l"


def test_global_mode_uses_the_local_loss_beyond_dp_max_n():
    module = small_module(n_layers=0)
    x, y, groups = random_lists([6, 3], seed=13)
    h = module(x, groups=groups)
    loss = TSPRankLoss(mode="global", dp_max_n=5)
    out = loss(h, y, groups=groups, module=module)
    long_rows, short_rows = groups == 0, groups == 1
    A_long = module.pair_scores(h[long_rows])[0][0]
    A_short = module.pair_scores(h[short_rows])[0][0]
    expected = (
        successor_ce(A_long, y[long_rows], ties="any")
        + tsprank_global_loss(A_short, y[short_rows])
    ) / 2
    torch.testing.assert_close(out, expected)


def test_loss_under_trusted_targets_matches_checked():
    module = small_module(n_layers=0)
    x, y, groups = random_lists([4, 4], seed=14)
    h = module(x, groups=groups)
    loss = TSPRankLoss(mode="global")
    checked = loss(h, y, groups=groups, module=module)
    with trusted_targets():
        trusted = loss(h, y.float(), groups=groups, module=module)
    torch.testing.assert_close(trusted, checked)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mode": "both"}, "mode must be one of"),
        ({"local": "listnet"}, "local must be one of"),
        ({"margin": -1.0}, "margin must be"),
        ({"margin": float("nan")}, "margin must be"),
        ({"reduction": "avg"}, "reduction must be"),
    ],
)
def test_bad_loss_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        TSPRankLoss(**params)


def test_bad_loss_inputs():
    module = small_module(n_layers=0)
    x, y, groups = random_lists([3, 3], seed=15)
    h = module(x, groups=groups)
    loss = TSPRankLoss()
    with pytest.raises(TypeError, match="module="):
        loss(h, y, groups=groups)
    with pytest.raises(TypeError, match="input must be"):
        loss(h.long(), y, groups=groups, module=module)
    with pytest.raises(ValueError, match="target must have shape"):
        loss(h, y[:-1], groups=groups, module=module)
    with pytest.raises(ValueError, match="groups must have shape"):
        loss(h, y, groups=groups[:-1], module=module)
    bad = y.clone()
    bad[0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        loss(h, bad, groups=groups, module=module)
    with pytest.raises(ValueError, match="labels must have shape"):
        successor_ce(torch.zeros(3, 3), torch.zeros(4))


# -- the network -------------------------------------------------------------
def test_module_is_permutation_equivariant():
    module = small_module(n_layers=1)
    x, y, groups = random_lists([6], seed=16)
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(0))
    h, hp = module(x), module(x[perm])
    torch.testing.assert_close(hp, h[perm], rtol=1e-10, atol=1e-12)
    A = module.pair_scores(h)[0][0]
    Ap = module.pair_scores(hp)[0][0]
    torch.testing.assert_close(Ap, A[perm][:, perm], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(module.rank_scores(x[perm]), module.rank_scores(x)[perm])
    scores = module.rank_scores(x)
    assert sorted(scores.tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_separate_triangles():
    module = small_module(n_layers=0, separate_triangles=True)
    x = torch.randn(5, 3, dtype=F64)
    h = module(x)
    A = module.pair_scores(h)[0][0]
    upper = module._bilinear(module.comparator, h[None])[0]
    lower = module._bilinear(module.lower_comparator, h[None])[0]
    iu, il = torch.triu_indices(5, 5, 1), torch.tril_indices(5, 5, -1)
    torch.testing.assert_close(A[iu[0], iu[1]], upper[iu[0], iu[1]])
    torch.testing.assert_close(A[il[0], il[1]], lower[il[0], il[1]])
    assert torch.all(A.diagonal() == 0)


def test_module_shapes_padding_and_modes():
    module = small_module(n_layers=2)
    assert module.takes_groups and module.n_outputs == 4
    x, y, groups = random_lists([3, 5], seed=17)
    A, mask, rows = module.pair_scores(module(x, groups=groups), groups)
    assert A.shape == (2, 5, 5) and mask.sum().item() == 8
    assert torch.all(A[0, 3:] == 0) and torch.all(A[0, :, 3:] == 0)
    assert torch.all(A.diagonal(dim1=1, dim2=2) == 0)
    module.train()
    module.rank_scores(x, groups)
    assert module.training  # mode restored
    with torch.inference_mode():
        assert module.rank_scores(x, groups).shape == (8,)
    one = TSPRankModule(3, embedding_dim=1, n_layers=0).double()
    assert one(x).shape == (8, 1)
    assert TSPRankModule(3, n_layers=0, hidden_layer_sizes=())(x.float()).shape == (
        8,
        64,
    )


def test_module_rank_scores_beyond_dp_max_n_use_the_heuristic():
    module = small_module(n_layers=0, dp_max_n=4)
    x = torch.randn(7, 3, dtype=F64)
    A = module.pair_scores(module(x))[0][0]
    path = heuristic_open_path(A)[0]
    scores = module.rank_scores(x)
    assert torch.argsort(scores, descending=True).tolist() == path


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_features": 0}, "n_features"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"embedding_dim": 6, "n_heads": 4}, "multiple of n_heads"),
        ({"n_layers": -1}, "n_layers"),
        ({"n_heads": 0}, "n_heads"),
        ({"dim_feedforward": 0}, "dim_feedforward"),
        ({"dropout": 1.0}, "dropout"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"hidden_layer_sizes": 8}, "hidden_layer_sizes"),
        ({"separate_triangles": "yes"}, "separate_triangles"),
    ],
)
def test_bad_module_parameters(params, match):
    params = {"n_features": 3, **params}
    with pytest.raises(ValueError, match=match):
        TSPRankModule(**params)


def test_training_steps_lower_the_loss():
    module = small_module(seed=1, n_layers=0).train()
    g = torch.Generator().manual_seed(18)
    groups = torch.arange(6).repeat_interleave(5)
    x = torch.randn(30, 3, generator=g, dtype=F64)
    y = x[:, 0] + 0.1 * torch.randn(30, generator=g, dtype=F64)
    loss = TSPRankLoss(mode="local")
    opt = torch.optim.Adam(module.parameters(), lr=0.05)
    first = None
    for _ in range(20):
        opt.zero_grad()
        value = loss(module(x, groups=groups), y, groups=groups, module=module)
        value.backward()
        opt.step()
        first = value.item() if first is None else first
    assert value.item() < 0.7 * first


# -- ties ------------------------------------------------------------------------
def test_tie_aware_local_losses():
    g = torch.Generator().manual_seed(3)
    A = torch.randn(5, 5, dtype=F64, generator=g)
    distinct = torch.tensor([4.0, 1.0, 3.0, 0.0, 2.0], dtype=F64)
    # without ties both readings are the official losses
    for fn in (successor_ce, pairwise_bce):
        torch.testing.assert_close(fn(A, distinct, ties="any"), fn(A, distinct))
    # with ties: successors are the other items of the label or of the next
    # lower label; a naive loop over the rows
    y = torch.tensor([2.0, 1.0, 2.0, 0.0, 1.0], dtype=F64)
    terms = []
    for i in range(5):
        lower = [v for v in y.tolist() if v < y[i]]
        succ = [
            j
            for j in range(5)
            if j != i and (y[j] == y[i] or (lower and y[j] == max(lower)))
        ]
        if succ:
            others = [j for j in range(5) if j != i]
            terms.append(
                torch.logsumexp(A[i, others], 0) - torch.logsumexp(A[i, succ], 0)
            )
    torch.testing.assert_close(
        successor_ce(A, y, ties="any"), torch.stack(terms).mean()
    )
    # pairwise BCE leaves tied pairs out: changing A on a tied pair changes nothing
    B = A.clone()
    B[0, 2] += 5.0
    torch.testing.assert_close(
        pairwise_bce(B, y, ties="any"), pairwise_bce(A, y, ties="any")
    )
    assert not torch.isclose(pairwise_bce(B, y), pairwise_bce(A, y))
    with pytest.raises(ValueError, match="ties must be one of"):
        successor_ce(A, y, ties="random")
