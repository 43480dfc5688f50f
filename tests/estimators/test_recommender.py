"""ImplicitFeedbackRecommender, BPR, PLD resampling, top-k metrics and the generator."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_losses import ImplicitFeedbackRecommender
from sklearn_losses.datasets import make_implicit_feedback
from sklearn_losses.losses import BPRLoss, bpr_terms
from sklearn_losses.metrics import (
    recommendation_ndcg,
    recommendation_recall,
    top_k_hit_metrics,
)
from sklearn_losses.sampling import InteractionSampler, personal_loss_probabilities

F64 = torch.float64
SPEC_POOL = np.array([2.0, 1.5, 0.3, -0.5, 1.0])
SPEC_NEG = 0.2
SPEC_LOSSES = [0.152978, 0.241008, 0.644397, 1.103186, 0.371101]
SPEC_P = {
    0.1: [0.651477, 0.270138, 0.004783, 0.000049, 0.073553],
    1.0: [0.268949, 0.246285, 0.164532, 0.103992, 0.216242],
}
FAST = {"n_factors": 16, "lr": 1e-2, "batch_size": 256, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    return make_implicit_feedback(n_users=200, n_items=120, noise=0.0, random_state=0)


@pytest.fixture(scope="module")
def noisy():
    return make_implicit_feedback(n_users=200, n_items=120, noise=0.2, random_state=1)


def _spec_scores():
    pool = torch.tensor(SPEC_POOL, dtype=F64)[:, None]
    return torch.cat([pool, torch.full_like(pool, SPEC_NEG)], dim=1)


# -- the BPR loss ------------------------------------------------------------------
def test_bpr_spec_reference_values():
    terms = bpr_terms(_spec_scores())
    np.testing.assert_allclose(terms.numpy(), SPEC_LOSSES, rtol=1e-5)
    assert BPRLoss()(_spec_scores()).item() == pytest.approx(0.502534, rel=1e-5)


def test_bpr_equals_naive_loop_with_several_negatives():
    scores = torch.randn(7, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    naive = [
        np.mean([-np.log(1 / (1 + np.exp(-(s[0] - s[j])))) for j in range(1, 4)])
        for s in scores.numpy()
    ]
    np.testing.assert_allclose(bpr_terms(scores).numpy(), naive, rtol=1e-10)
    w = torch.rand(7, dtype=F64, generator=torch.Generator().manual_seed(1))
    expected = float((bpr_terms(scores) * w).sum() / w.sum())
    assert BPRLoss()(scores, sample_weight=w).item() == pytest.approx(expected)
    assert BPRLoss()(scores, sample_weight=torch.ones(7, dtype=F64)).item() == (
        pytest.approx(BPRLoss()(scores).item())
    )
    assert BPRLoss(reduction="sum")(scores).item() == pytest.approx(sum(naive))


def test_bpr_gradcheck():
    scores = torch.randn(5, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: BPRLoss()(s), (scores,))


def test_bpr_gradient_on_embeddings_matches_closed_form():
    gen = torch.Generator().manual_seed(3)
    e_u = torch.randn(6, 4, dtype=F64, generator=gen, requires_grad=True)
    e_i = torch.randn(6, 4, dtype=F64, generator=gen, requires_grad=True)
    e_j = torch.randn(6, 4, dtype=F64, generator=gen, requires_grad=True)
    scores = torch.stack([(e_u * e_i).sum(1), (e_u * e_j).sum(1)], dim=1)
    BPRLoss()(scores).backward()
    # d/dx softplus(x) = sigmoid(x), x = <u, j> - <u, i>; mean over 6 rows
    with torch.no_grad():
        g = torch.sigmoid((e_u * e_j).sum(1) - (e_u * e_i).sum(1))[:, None] / 6
        np.testing.assert_allclose(e_u.grad, g * (e_j - e_i), rtol=1e-10)
        np.testing.assert_allclose(e_i.grad, -g * e_u, rtol=1e-10)
        np.testing.assert_allclose(e_j.grad, g * e_u, rtol=1e-10)


@pytest.mark.parametrize(
    ("scores", "error"),
    [
        (torch.zeros(4), ValueError),
        (torch.zeros(4, 1), ValueError),
        (torch.zeros(4, 2, dtype=torch.int64), TypeError),
        (np.zeros((4, 2)), TypeError),
    ],
)
def test_bpr_bad_input(scores, error):
    with pytest.raises(error, match="scores"):
        bpr_terms(scores)


# -- PLD's resampling probabilities -------------------------------------------------
@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_pld_spec_reference_probabilities(tau):
    losses = bpr_terms(_spec_scores())
    p = personal_loss_probabilities(losses, tau)
    np.testing.assert_allclose(p.numpy(), SPEC_P[tau], rtol=1e-4, atol=1e-6)
    naive = np.exp(-np.array(SPEC_LOSSES) / tau)
    np.testing.assert_allclose(
        personal_loss_probabilities(np.array(SPEC_LOSSES), tau),
        naive / naive.sum(),
        rtol=1e-12,
    )


def test_pld_temperature_limits():
    losses = np.array(SPEC_LOSSES)
    np.testing.assert_allclose(personal_loss_probabilities(losses, 1e6), 0.2, rtol=1e-5)
    assert personal_loss_probabilities(losses, 1e-4)[0] == pytest.approx(1.0)
    # one interaction: the pool holds k copies, PLD is a no-op
    np.testing.assert_allclose(personal_loss_probabilities(np.full(5, 0.7)), 0.2)


@pytest.mark.parametrize("tau", [0, -1.0, float("inf"), "0.1"])
def test_pld_bad_temperature(tau):
    with pytest.raises(ValueError, match="temperature"):
        personal_loss_probabilities(np.ones(3), tau)


@pytest.mark.parametrize("tau", [0.1, 1.0])
def test_pld_choice_draws_by_the_spec_probabilities(tau):
    """The recommender's resampling step on the spec's hand-built pool."""
    rec = ImplicitFeedbackRecommender(temperature=tau)
    user_emb = torch.ones(1, 1)
    item_emb = torch.tensor([[*SPEC_POOL, SPEC_NEG]], dtype=torch.float32).T
    n = 40_000
    users = torch.zeros(n, dtype=torch.int64)
    pools = np.tile(np.arange(5), (n, 1))
    negatives = torch.full((n, 1), 5)
    pick = rec._pld_choice(
        user_emb, item_emb, users, pools, negatives, np.random.default_rng(0)
    )
    freq = np.bincount(pick, minlength=5) / n
    np.testing.assert_allclose(freq, SPEC_P[tau], atol=0.01)


# -- the sampler ---------------------------------------------------------------------
def _toy_sampler(max_rounds=100):
    # user 0: items 0..9, user 1: item 3 only, user 2: all 12 items, user 3: 11 of 12
    users = np.r_[np.zeros(10), 1, np.full(12, 2), np.full(11, 3)].astype(int)
    items = np.r_[np.arange(10), 3, np.arange(12), np.arange(11)]
    return InteractionSampler(users, items, 4, 12, max_rounds=max_rounds)


def test_sampler_pools_negatives_and_trainable_users():
    sampler, rng = _toy_sampler(), np.random.default_rng(0)
    np.testing.assert_array_equal(sampler.trainable_users, [0, 1, 3])
    users = np.r_[np.zeros(2000, dtype=int), np.ones(5, dtype=int)]
    pools = sampler.sample_pools(users, 5, rng)
    items = sampler.indices[pools]
    assert all(len(set(row)) == 5 for row in items[:2000])  # without replacement
    assert (items[2000:] == 3).all()  # k copies of the only interaction
    # Floyd's draw is uniform: each of user 0's 10 items is in a pool w.p. 1/2
    np.testing.assert_allclose(np.bincount(items[:2000].ravel()) / 2000, 0.5, atol=0.05)
    negatives, valid = sampler.sample_negatives(np.r_[0, 0, 1, 3], 50, rng)
    assert valid.all()
    assert not np.isin(negatives[:2], np.arange(10)).any()
    assert not (negatives[2] == 3).any()
    assert (negatives[3] == 11).all()
    drawn = sampler.sample_users(3000, rng)
    np.testing.assert_array_equal(np.unique(drawn), [0, 1, 3])


def test_sampler_caps_negative_rounds():
    sampler = _toy_sampler(max_rounds=0)
    negatives, valid = sampler.sample_negatives(
        np.full(200, 3), 1, np.random.default_rng(0)
    )
    assert 0 < valid.sum() < 200
    assert (negatives[valid] == 11).all()


# -- the estimator ---------------------------------------------------------------------
def _popularity_recall(X, X_test, k=20):
    """Recall@k of recommending the most popular unseen items (a naive loop)."""
    counts = {}
    for item in X[:, 1]:
        counts[item] = counts.get(item, 0) + 1
    ranked = sorted(counts, key=lambda i: (-counts[i], i))
    seen = {}
    for u, i in X:
        seen.setdefault(u, set()).add(i)
    users = np.unique(X_test[:, 0])
    recs = [[i for i in ranked if i not in seen.get(u, ())][:k] for u in users]
    relevant = [set(X_test[X_test[:, 0] == u, 1]) for u in users]
    return recommendation_recall(recs, relevant, k)


def test_learning_beats_popularity(data):
    rec = ImplicitFeedbackRecommender(max_epochs=20, **FAST).fit(data.X)
    learned = rec.score(data.X_test)
    popular = _popularity_recall(data.X, data.X_test)
    assert learned > popular + 0.05, (learned, popular)
    assert rec.loss_curve_[-1] < rec.loss_curve_[0]
    assert rec.n_iter_ == 20 and len(rec.loss_curve_) == 20


def test_pld_draws_noisy_positives_less_often(noisy):
    rec = ImplicitFeedbackRecommender(
        sampler="pld", max_epochs=12, warmup_epochs=4, **FAST
    ).fit(noisy.X)
    # the generator's pairs are distinct, so interactions_ is X sorted by key
    keys = noisy.X[:, 0] * 10**6 + noisy.X[:, 1]
    order = np.argsort(keys)
    rate = np.empty(len(keys))
    rate[order] = rec.pld_selection_rate_
    clean, bad = np.nanmean(rate[~noisy.noise_mask]), np.nanmean(rate[noisy.noise_mask])
    assert bad < 0.8 * clean, (bad, clean)
    # the average over pools is 1 / pool_size
    assert np.nanmean(rate) == pytest.approx(0.2, abs=0.05)
    plain = ImplicitFeedbackRecommender(max_epochs=12, **FAST).fit(noisy.X)
    assert plain.pld_selection_rate_ is None


def test_pld_during_warmup_is_plain_bpr(data):
    pld = ImplicitFeedbackRecommender(
        sampler="pld", warmup_epochs=3, max_epochs=3, **FAST
    ).fit(data.X)
    bpr = ImplicitFeedbackRecommender(max_epochs=3, **FAST).fit(data.X)
    np.testing.assert_array_equal(pld.user_factors_, bpr.user_factors_)
    assert np.isnan(pld.pld_selection_rate_).all()


def test_determinism_with_random_state(data):
    a = ImplicitFeedbackRecommender(
        sampler="pld", warmup_epochs=1, max_epochs=3, **FAST
    )
    b = clone(a)
    a.fit(data.X), b.fit(data.X)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    c = clone(a).set_params(random_state=1).fit(data.X)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_predict_and_recommend_exclude_seen(data):
    rec = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(data.X)
    users = np.unique(data.X[:, 0])[:30]
    top = rec.recommend(users, k=15)
    assert top.shape == (30, 15) and top.dtype == rec.items_.dtype
    for u, row in zip(users, top, strict=True):
        seen = set(data.X[data.X[:, 0] == u, 1])
        assert not seen & set(row)
        assert len(set(row)) == 15
        scores = rec.predict(np.full(len(rec.items_), u), rec.items_)
        candidates = [i for i in rec.items_ if i not in seen]
        best = sorted(candidates, key=lambda i: -scores[np.searchsorted(rec.items_, i)])
        np.testing.assert_array_equal(row, best[:15])
    with_seen = rec.recommend(users[:1], k=len(rec.items_), exclude_seen=False)
    assert sorted(with_seen[0]) == sorted(rec.items_)
    u, i = data.X[5]
    expected = rec.user_factors_[np.searchsorted(rec.users_, u)].astype(float) @ (
        rec.item_factors_[np.searchsorted(rec.items_, i)].astype(float)
    )
    assert rec.predict([u], [i])[0] == pytest.approx(expected)
    np.testing.assert_allclose(rec.predict(data.X[:10]), rec.predict(*data.X[:10].T))


def test_score_is_recall_of_recommend(data):
    rec = ImplicitFeedbackRecommender(max_epochs=3, **FAST).fit(data.X)
    users = np.unique(data.X_test[:, 0])
    recs = rec.recommend(users, k=20)
    relevant = [set(data.X_test[data.X_test[:, 0] == u, 1]) for u in users]
    recall, ndcg = rec.score_at_k(data.X_test, k=20)
    assert rec.score(data.X_test) == recall
    assert recall == pytest.approx(recommendation_recall(recs, relevant, 20))
    assert ndcg == pytest.approx(recommendation_ndcg(recs, relevant, 20))


@pytest.mark.parametrize(
    "make_id",
    [
        lambda k: f"id-{k:06d}",  # zero-padded: sorted like the ints
        lambda k: 2**62 + k,
        lambda k: 2**64 + k,  # past int64: Python ints in an object array
        lambda k: np.uint64(2**63 + k),
    ],
    ids=["str", "int62", "int64plus", "uint64"],
)
def test_ids_of_any_type_round_trip(data, make_id):
    X = np.empty(data.X.shape, dtype=object)
    X[:, 0] = [make_id(int(u)) for u in data.X[:, 0]]
    X[:, 1] = [make_id(10_000 + int(i)) for i in data.X[:, 1]]
    rec = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(X)
    base = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(data.X)
    assert rec.users_.dtype.kind != "f" and rec.items_.dtype.kind != "f"
    assert set(rec.items_.tolist()) == {make_id(10_000 + int(i)) for i in base.items_}
    np.testing.assert_array_equal(rec.item_factors_, base.item_factors_)
    top = rec.recommend([make_id(int(data.X[0, 0]))], k=5)
    expected = base.recommend([data.X[0, 0]], k=5)
    assert top[0].tolist() == [make_id(10_000 + int(i)) for i in expected[0]]


def test_list_of_tuples_keeps_int_ids_exact():
    big = 2**62 + 1
    X = [(big, "tea"), (big, "jam"), (big + 2, "tea"), (big + 2, "egg")]
    rec = ImplicitFeedbackRecommender(n_factors=2, max_epochs=2, random_state=0).fit(X)
    assert rec.users_.dtype == np.int64
    assert rec.users_.tolist() == [big, big + 2]
    assert rec.recommend([big], k=1)[0, 0] == "egg"


def test_dataframe_input_and_columns(data):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"when": 0, "uid": data.X[:, 0], "iid": data.X[:, 1]})
    rec = ImplicitFeedbackRecommender(
        max_epochs=2, user_col="uid", item_col="iid", **FAST
    ).fit(df)
    base = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(data.X)
    np.testing.assert_array_equal(rec.user_factors_, base.user_factors_)
    df_test = pd.DataFrame({"uid": data.X_test[:, 0], "iid": data.X_test[:, 1]})
    assert rec.score(df_test) == base.score(data.X_test)
    with pytest.raises(ValueError, match="user_col"):
        ImplicitFeedbackRecommender(max_epochs=1).fit(df.rename(columns={"uid": "u"}))


def test_clone_get_params_pickle(data):
    rec = ImplicitFeedbackRecommender(sampler="pld", temperature=0.5, max_epochs=2)
    assert clone(rec).get_params() == rec.get_params()
    assert rec.get_params()["temperature"] == 0.5
    fitted = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(data.X)
    again = pickle.loads(pickle.dumps(fitted))
    users = data.X[:5, 0]
    np.testing.assert_array_equal(again.recommend(users), fitted.recommend(users))
    name = "ImplicitFeedbackRecommender"
    check_no_attributes_set_in_init(name, ImplicitFeedbackRecommender())
    check_parameters_default_constructible(name, ImplicitFeedbackRecommender())
    check_get_params_invariance(name, ImplicitFeedbackRecommender())
    check_set_params(name, ImplicitFeedbackRecommender())


# -- bad input -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(data):
    return ImplicitFeedbackRecommender(max_epochs=1, **FAST).fit(data.X)


def test_unknown_user(fitted, data):
    rec = clone(fitted).set_params(unknown="error").fit(data.X)
    with pytest.raises(ValueError, match="unseen at fit.*unknown='popular'"):
        rec.recommend([10**9])
    with pytest.raises(ValueError, match="unseen at fit"):
        rec.predict([10**9], [data.X[0, 1]])
    with pytest.raises(ValueError, match="unseen at fit"):
        rec.score(np.array([[10**9, data.X[0, 1]]]))
    with pytest.warns(UserWarning, match="popularity"):
        top = fitted.recommend(["stranger"], k=5)
    np.testing.assert_array_equal(
        top[0], fitted.items_[np.argsort(-fitted.item_popularity_, kind="stable")[:5]]
    )
    with pytest.warns(UserWarning, match="popularity"):
        scores = fitted.predict([10**9, 10**9], fitted.items_[:2])
    np.testing.assert_array_equal(scores, fitted.item_popularity_[:2])


def test_unknown_item_in_predict(fitted, data):
    with pytest.raises(ValueError, match="items holds 1 item"):
        fitted.predict([data.X[0, 0]], [10**9])


def test_duplicate_interactions_are_removed_with_a_warning(data):
    X = np.vstack([data.X, data.X[:7]])
    with pytest.warns(UserWarning, match="7 duplicate"):
        rec = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(X)
    base = ImplicitFeedbackRecommender(max_epochs=2, **FAST).fit(data.X)
    assert rec.n_interactions_ == len(data.X)
    np.testing.assert_array_equal(rec.item_factors_, base.item_factors_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImplicitFeedbackRecommender(max_epochs=1, **FAST).fit(data.X)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.zeros((5, 3)), ValueError, "shape"),
        (np.zeros(5), ValueError, "shape"),
        (np.zeros((0, 2)), ValueError, "no interactions"),
        (np.array([[0, 1], [1, 1]]), ValueError, "two distinct items"),
        (np.array([[0, 0], [0, 1]]), ValueError, "every item"),
        (np.array([[0.0, 1.0], [np.nan, 2.0]]), ValueError, "missing"),
        ([(1, "a"), ("b", "c")], TypeError, "mix"),
        ([(None, "a"), (1, "c")], ValueError, "missing"),
        ("pairs", TypeError, "DataFrame"),
    ],
)
def test_bad_fit_input(X, error, match):
    with pytest.raises(error, match=match):
        ImplicitFeedbackRecommender(max_epochs=1).fit(X)


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("n_factors", 0),
        ("sampler", "nope"),
        ("n_negatives", 0),
        ("pool_size", 0),
        ("temperature", 0.0),
        ("warmup_epochs", -1),
        ("lr", -1.0),
        ("weight_decay", -1.0),
        ("max_epochs", 0),
        ("batch_size", 1.5),
        ("unknown", "ignore"),
        ("loss", "focal"),
        ("random_state", "seed"),
    ],
)
def test_bad_parameters_name_themselves(data, param, value):
    with pytest.raises(ValueError, match=param):
        ImplicitFeedbackRecommender(**{param: value}).fit(data.X)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bad_k(fitted, data, k):
    with pytest.raises(ValueError, match="k must be an int >= 1"):
        fitted.recommend(data.X[:2, 0], k=k)
    with pytest.raises(ValueError, match="k must be"):
        fitted.score(data.X_test, k=k)


def test_k_beyond_the_items_left(fitted, data):
    with pytest.raises(ValueError, match="smaller k or exclude_seen=False"):
        fitted.recommend(data.X[:1, 0], k=len(fitted.items_))


def test_predict_bad_input(fitted, data):
    with pytest.raises(ValueError, match="same length"):
        fitted.predict(data.X[:3, 0], data.X[:2, 1])
    with pytest.raises(ValueError, match="shape"):
        fitted.predict(np.zeros((3, 3)))
    with pytest.raises(Exception, match="not fitted"):
        ImplicitFeedbackRecommender().recommend([1])


# -- metrics ---------------------------------------------------------------------------
def test_metrics_against_a_naive_computation():
    rng = np.random.default_rng(0)
    recs = [rng.permutation(30)[:10] for _ in range(25)]
    relevant = [
        set(rng.choice(30, size=rng.integers(1, 8), replace=False)) for _ in range(25)
    ]
    recalls, ndcgs = [], []
    for r, rel in zip(recs, relevant, strict=True):
        r = r[:5]
        recalls.append(len(set(r) & rel) / len(rel))
        dcg = sum(1 / np.log2(p + 2) for p, i in enumerate(r) if i in rel)
        ndcgs.append(dcg / sum(1 / np.log2(p + 2) for p in range(min(5, len(rel)))))
    assert recommendation_recall(recs, relevant, k=5) == pytest.approx(np.mean(recalls))
    assert recommendation_ndcg(recs, relevant, k=5) == pytest.approx(np.mean(ndcgs))
    # users without a relevant item are left out
    assert recommendation_recall([*recs, [1] * 10], [*relevant, set()], k=5) == (
        pytest.approx(np.mean(recalls))
    )


def test_metrics_agree_with_ir_measures():
    ir_measures = pytest.importorskip("ir_measures")
    rng = np.random.default_rng(1)
    recs = [rng.permutation(40)[:20] for _ in range(15)]
    relevant = [
        set(rng.choice(40, size=rng.integers(1, 12), replace=False)) for _ in range(15)
    ]
    qrels = [
        ir_measures.Qrel(str(u), str(i), 1)
        for u, rel in enumerate(relevant)
        for i in rel
    ]
    run = [
        ir_measures.ScoredDoc(str(u), str(i), float(20 - r))
        for u, rec in enumerate(recs)
        for r, i in enumerate(rec)
    ]
    ndcg, recall = ir_measures.nDCG @ 10, ir_measures.R @ 10
    ref = ir_measures.calc_aggregate([ndcg, recall], qrels, run)
    assert recommendation_recall(recs, relevant, k=10) == pytest.approx(ref[recall])
    assert recommendation_ndcg(recs, relevant, k=10) == pytest.approx(ref[ndcg])


def test_metrics_bad_input():
    with pytest.raises(ValueError, match="k must"):
        recommendation_recall([[1]], [{1}], k=0)
    with pytest.raises(ValueError, match="at least k=3"):
        recommendation_ndcg([[1, 2]], [{1}], k=3)
    with pytest.raises(ValueError, match="one entry per user"):
        recommendation_recall([[1], [2]], [{1}], k=1)
    with pytest.raises(ValueError, match="no user has a relevant item"):
        recommendation_recall([[1]], [set()], k=1)
    with pytest.raises(TypeError, match="sequence or set"):
        recommendation_recall([[1]], ["ab"], k=1)
    with pytest.raises(ValueError, match="n_relevant >= 1"):
        top_k_hit_metrics(np.ones((1, 2), bool), np.array([0]), 2)


# -- the generator ---------------------------------------------------------------------
def test_generator_splits_and_noise():
    d = make_implicit_feedback(n_users=80, n_items=60, noise=0.25, random_state=3)
    keys = d.X[:, 0] * 60 + d.X[:, 1]
    test_keys = d.X_test[:, 0] * 60 + d.X_test[:, 1]
    assert len(np.unique(keys)) == len(keys)
    assert not np.isin(test_keys, keys).any()
    assert d.noise_mask.mean() == pytest.approx(0.25, abs=0.005)
    # noisy pairs are neither held out nor liked: their true preference is lower
    s = d.preferences
    assert s[d.X[d.noise_mask, 0], d.X[d.noise_mask, 1]].mean() < (
        s[d.X[~d.noise_mask, 0], d.X[~d.noise_mask, 1]].mean() - 0.5
    )
    per_user = np.bincount(d.X[~d.noise_mask, 0]) + np.bincount(
        d.X_test[:, 0], minlength=80
    )
    assert per_user.min() >= 10 and per_user.max() <= 40
    again = make_implicit_feedback(n_users=80, n_items=60, noise=0.25, random_state=3)
    np.testing.assert_array_equal(again.X, d.X)
    clean = make_implicit_feedback(n_users=80, n_items=60, noise=0.0, random_state=3)
    assert not clean.noise_mask.any()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_items": 1}, ValueError, "n_items"),
        ({"n_users": 0}, ValueError, "n_users"),
        ({"noise": 1.0}, ValueError, "noise"),
        ({"test_fraction": -0.1}, ValueError, "test_fraction"),
        ({"interactions_per_user": (5, 400)}, ValueError, "interactions_per_user"),
        ({"interactions_per_user": 5}, TypeError, "interactions_per_user"),
        ({"popularity": -1}, ValueError, "popularity"),
    ],
)
def test_generator_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_implicit_feedback(**kwargs)
