"""LossRanker: query ids through fit, predict, Pipeline and GridSearchCV."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossClassifier, LossRanker
from sklearn_losses.datasets import make_ranking
from sklearn_losses.losses import list_losses
from sklearn_losses.metrics import ndcg_by_query, ndcg_scorer

FAST = {"max_epochs": 15, "random_state": 0}


@pytest.fixture(scope="module")
def data():
    X, y, qid = make_ranking(n_queries=60, items_per_query=(5, 25), random_state=0)
    return X, y, qid


def _split(X, y, qid, n_train_queries=40):
    train = qid < n_train_queries
    return (X[train], y[train], qid[train]), (X[~train], y[~train], qid[~train])


POINTWISE_SCORERS = sorted(
    name
    for name in list_losses("ranking")
    if getattr(
        __import__("sklearn_losses").losses.get_loss_class(name), "module_class", None
    )
    is None
)


@pytest.mark.parametrize("loss", POINTWISE_SCORERS)
def test_every_ranking_loss_learns_to_rank(data, loss):
    (Xtr, ytr, qtr), (Xte, yte, qte) = _split(*data)
    ranker = LossRanker(loss=loss, **FAST).fit(Xtr, ytr, qid=qtr)
    learned = ndcg_by_query(yte, ranker.predict(Xte), qte, k=10)
    rng = np.random.default_rng(0)
    chance = np.mean(
        [ndcg_by_query(yte, rng.normal(size=len(yte)), qte, k=10) for _ in range(5)]
    )
    assert learned > chance + 0.1, (loss, learned, chance)
    assert ranker.n_queries_ == 40
    assert ranker.predict(Xte).shape == (len(yte),)


def test_rows_of_a_query_need_not_be_contiguous(data):
    X, y, qid = data
    ranker = LossRanker(loss="ranknet", **FAST).fit(X, y, qid=qid)
    perm = np.random.default_rng(1).permutation(len(y))
    shuffled = LossRanker(loss="ranknet", **FAST).fit(X[perm], y[perm], qid=qid[perm])
    # Same queries in the same batches; only the order of rows inside a query
    # differs, which a pairwise mean does not see (up to float32 summation
    # order). Pairwise losses leave a common shift of the scores free.
    a, b = shuffled.predict(X), ranker.predict(X)
    np.testing.assert_allclose(a - a.mean(), b - b.mean(), atol=2e-4)


def test_query_ids_of_any_type(data):
    X, y, qid = data
    names = np.array([f"q{q:03d}" for q in qid])
    a = LossRanker(loss="listnet", **FAST).fit(X, y, qid=qid)
    b = LossRanker(loss="listnet", **FAST).fit(X, y, qid=names)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6, atol=1e-6)


def test_zero_query_weight_equals_dropping_the_query(data):
    X, y, qid = data
    weight = np.where(qid == 3, 0.0, 1.0)
    params = dict(loss="ranknet", batch_size=100_000, **FAST)
    weighted = LossRanker(**params).fit(X, y, qid=qid, sample_weight=weight)
    keep = qid != 3
    dropped = LossRanker(**params).fit(X[keep], y[keep], qid=qid[keep])
    a, b = weighted.predict(X), dropped.predict(X)
    np.testing.assert_allclose(a - a.mean(), b - b.mean(), atol=2e-4)


def test_weights_must_be_constant_within_a_query(data):
    X, y, qid = data
    weight = np.ones(len(y))
    weight[np.flatnonzero(qid == 2)[0]] = 2.0
    with pytest.raises(ValueError, match="same on every row of a query; query 2"):
        LossRanker(**FAST).fit(X, y, qid=qid, sample_weight=weight)


def test_without_qid_the_training_set_is_one_pool(data):
    X, y, qid = data
    ranker = LossRanker(loss="ranknet", batch_size=64, **FAST).fit(X, y)
    assert ranker.n_queries_ == 1
    assert ndcg_by_query(y, ranker.predict(X), qid, k=10) > 0.7


def test_early_stopping_holds_out_whole_queries_and_monitors_ndcg(data):
    X, y, qid = data
    ranker = LossRanker(
        loss="listnet", early_stopping=True, validation_fraction=0.25, **FAST
    ).fit(X, y, qid=qid)
    scores = ranker.history_[:, "valid_score"]
    assert all(0.0 <= s <= 1.0 for s in scores)
    mapped = LossRanker(
        loss="listnet",
        early_stopping=True,
        validation_scoring="map",
        max_epochs=3,
        random_state=0,
    ).fit(X, y, qid=qid)
    assert len(mapped.history_) == 3


def test_score_is_mean_ndcg_at_10(data):
    X, y, qid = data
    ranker = LossRanker(loss="listnet", **FAST).fit(X, y, qid=qid)
    expected = ndcg_by_query(y, ranker.predict(X), qid, k=10)
    assert ranker.score(X, y, qid=qid) == pytest.approx(expected)


def test_a_query_of_one_item_trains_nothing_but_is_scored():
    X, y, qid = make_ranking(n_queries=20, items_per_query=(1, 1), random_state=0)
    ranker = LossRanker(loss="ranknet", max_epochs=2, random_state=0)
    before = clone(ranker).set_params(max_epochs=1, lr=1e-12).fit(X, y, qid=qid)
    ranker.fit(X, y, qid=qid)
    assert np.isfinite(ranker.predict(X)).all()
    assert ranker.history_[-1, "train_loss"] == 0.0
    assert np.isfinite(before.predict(X)).all()


@pytest.mark.slow
def test_grid_search_over_losses_with_routing(data):
    X, y, qid = data
    losses = [
        "ranknet",
        "listnet",
        "listmle",
        "lambda",
        "lipo_lambda",
        "ranklist",
        "first",
    ]
    with sklearn.config_context(enable_metadata_routing=True):
        ranker = LossRanker(loss="lambda", max_epochs=3, random_state=0)
        ranker.set_fit_request(qid=True)
        search = GridSearchCV(
            make_pipeline(
                QuantileTransformer(output_distribution="normal", n_quantiles=100),
                ranker,
            ),
            {"lossranker__loss": losses},
            scoring=ndcg_scorer(k=10),
            cv=GroupKFold(5),
        )
        search.fit(X, y, qid=qid, groups=qid)
        assert search.best_params_["lossranker__loss"] in losses
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        assert 0.0 < search.score(X, y, qid=qid) <= 1.0
        cv = cross_validate(
            ranker,
            X,
            y,
            params={"groups": qid, "qid": qid},
            cv=GroupKFold(3),
            scoring=ndcg_scorer(k=5),
        )
        assert np.isfinite(cv["test_score"]).all()


# -- context models ----------------------------------------------------------
@pytest.mark.parametrize(
    "loss, params",
    [
        ("tsprank", {}),
        ("grouprank", {"module__group_size": 8, "module__min_group_size": 4}),
    ],
)
def test_models_that_score_in_context_need_qid_at_predict(data, loss, params):
    (Xtr, ytr, qtr), (Xte, yte, qte) = _split(*data)
    ranker = LossRanker(loss=loss, max_epochs=3, random_state=0, **params)
    ranker.fit(Xtr, ytr, qid=qtr)
    scores = ranker.predict(Xte, qid=qte)
    assert scores.shape == (len(yte),) and np.isfinite(scores).all()
    np.testing.assert_array_equal(ranker.predict(Xte, qid=qte), scores)
    with pytest.raises(ValueError, match="pass qid= to predict"):
        ranker.predict(Xte)


def test_a_model_loss_refuses_a_user_module(data):
    X, y, qid = data
    with pytest.raises(ValueError, match="trains its own model"):
        LossRanker(loss="tsprank", module=lambda **kw: None).fit(X, y, qid=qid)


# -- bad input ----------------------------------------------------------------
def test_bad_inputs(data):
    X, y, qid = data
    with pytest.raises(ValueError, match="qid must be 1-D with one query id per row"):
        LossRanker(**FAST).fit(X, y, qid=qid[:-1])
    with pytest.raises(ValueError, match=r"must be >= 0"):
        LossRanker(**FAST).fit(X, y - 1.0, qid=qid)
    y_nan = y.copy()
    y_nan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LossRanker(**FAST).fit(X, y_nan, qid=qid)
    with pytest.raises(ValueError, match="ranking"):
        LossClassifier(loss="listnet").fit(X, (y > 0).astype(int))
    with pytest.raises(ValueError, match="focal"):
        LossRanker(loss="focal").fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="validation_scoring"):
        LossRanker(validation_scoring="ndcg@0").fit(X, y, qid=qid)
    fitted = LossRanker(loss="listnet", max_epochs=1, random_state=0).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="qid must be 1-D"):
        fitted.predict(X, qid=qid[:3])


# sklearn's checks fit without qid (one pool of rows) and give its rows
# different weights; a ranker's weight is a query's weight, so it refuses
# weights that vary within its one query with a ValueError (tested above).
_VARYING_WEIGHTS = (
    "weights that vary within one query (sklearn's checks pass no qid): refused "
    "by design, a weight is a query's weight"
)
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": _VARYING_WEIGHTS,
    "check_sample_weights_not_an_array": _VARYING_WEIGHTS,
    "check_sample_weights_not_overwritten": _VARYING_WEIGHTS,
}


@parametrize_with_checks(
    [LossRanker(loss="ranknet", max_epochs=5, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- review cases ----------------------------------------------------------------
def test_score_without_qid_after_a_fit_on_queries_is_refused(data):
    X, y, qid = data
    ranker = LossRanker(loss="listnet", max_epochs=1, random_state=0).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="score needs qid="):
        ranker.score(X, y)
    pooled = LossRanker(loss="listnet", max_epochs=1, random_state=0).fit(X, y)
    assert 0.0 <= pooled.score(X, y) <= 1.0


@pytest.mark.parametrize(
    "first, second", [("ranknet", "grouprank"), ("tsprank", "ranknet")]
)
def test_warm_start_refuses_a_loss_that_trains_another_network(data, first, second):
    X, y, qid = data
    ranker = LossRanker(loss=first, max_epochs=1, warm_start=True, random_state=0)
    ranker.fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="warm_start=True keeps the network"):
        ranker.set_params(loss=second).fit(X, y, qid=qid)
    # the same network, another loss: training goes on
    if first == "ranknet":
        ranker.set_params(loss="listnet").fit(X, y, qid=qid)


@pytest.mark.parametrize("loss", ["tsprank", "grouprank"])
def test_context_models_need_qid_in_fit(data, loss):
    X, y, _ = data
    with pytest.raises(ValueError, match="pass qid= to fit"):
        LossRanker(loss=loss, max_epochs=1).fit(X, y)


def test_a_query_larger_than_batch_size_is_a_batch_of_its_own(data):
    X, y, qid = data
    ranker = LossRanker(loss="ranknet", batch_size=8, max_epochs=2, random_state=0)
    ranker.fit(X, y, qid=qid)
    assert np.isfinite(ranker.predict(X)).all()


def test_groups_is_not_the_ranker_s_query_id(data):
    X, y, qid = data
    with pytest.raises(TypeError, match="qid="):
        LossRanker(max_epochs=1).fit(X, y, groups=qid)
