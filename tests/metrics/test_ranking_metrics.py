"""Ranking metrics by query id and their scorers.

Each metric is checked against the spec's reference values, against its
library definition called once per query (sklearn's ``ndcg_score`` and
``average_precision_score``, scipy's ``kendalltau``) or a naive loop, on
random data with ties, queries of many lengths, shuffled non-contiguous and
string query ids; MAP and MRR also against trec_eval (``ir_measures``) when it
is installed. The scorers are run inside ``GridSearchCV`` and
``cross_validate`` with metadata routing, with a test estimator that checks the
query ids it is given.
"""

import warnings

import numpy as np
import pytest
import sklearn
from scipy.stats import kendalltau
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.linear_model import Ridge
from sklearn.metrics import average_precision_score, ndcg_score
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses.metrics._ranking import (
    GroupedRankingScorer,
    kendall_tau_by_query,
    kendall_tau_scorer,
    map_by_query,
    map_scorer,
    mrr_by_query,
    mrr_scorer,
    ndcg_by_query,
    ndcg_scorer,
    pairwise_accuracy,
    pairwise_accuracy_scorer,
)

# The spec's running example (one query) and its two-query example.
S = [0.5, 1.2, -0.3, 0.8]
Y = [2, 0, 1, 3]
Q1 = [0, 0, 0, 0]
TOL = 1e-8


def _random_queries(seed, n_queries=30, max_len=12, n_labels=4, n_scores=5):
    """Rows of queries of lengths 2..max_len, labels and scores with ties,
    shuffled so that no query is contiguous; qids are sparse ints."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, max_len + 1, n_queries)
    ids = rng.choice(10 * n_queries, n_queries, replace=False)
    qid = np.repeat(ids, sizes)
    y = rng.integers(0, n_labels, len(qid)).astype(float)
    s = rng.integers(0, n_scores, len(qid)) / 2.0
    perm = rng.permutation(len(qid))
    return y[perm], s[perm], qid[perm]


def _per_query(fn, y, s, qid):
    return np.array([fn(y[qid == q], s[qid == q]) for q in np.unique(qid)])


# -- spec reference values (§11 rows 26 to 29) ---------------------------------
def test_reference_values_ndcg_linear():
    assert ndcg_by_query(Y, S, Q1) == pytest.approx(0.6979344548, abs=TOL)
    assert ndcg_by_query(Y, S, Q1, k=2) == pytest.approx(0.4441228664, abs=TOL)
    tied = [1, 1, 0, 1]
    assert ndcg_by_query(Y, tied, Q1) == pytest.approx(0.8362754385, abs=TOL)
    assert ndcg_by_query(Y, tied, Q1, ignore_ties=True) == pytest.approx(
        0.9304509197, abs=TOL
    )


def test_reference_values_ndcg_exp2():
    assert ndcg_by_query(Y, S, Q1, gain="exp2") == pytest.approx(0.6757507974, abs=TOL)
    assert ndcg_by_query(Y, S, Q1, k=2, gain="exp2") == pytest.approx(
        0.4966392597, abs=TOL
    )


def test_reference_values_ap_mrr_tau_pairwise():
    assert map_by_query(Y, S, Q1, relevance_threshold=2) == pytest.approx(
        0.5833333333, abs=TOL
    )
    assert mrr_by_query(Y, S, Q1, relevance_threshold=2) == pytest.approx(0.5)
    assert kendall_tau_by_query(Y, S, Q1) == pytest.approx(0.0, abs=TOL)
    assert kendall_tau_by_query(Y, S) == pytest.approx(0.0, abs=TOL)
    assert pairwise_accuracy(Y, S, Q1) == pytest.approx(0.5)
    assert pairwise_accuracy(Y, S) == pytest.approx(0.5)


def test_reference_value_grouped_ndcg():
    y = [2, 0, 1, 3, 1, 0, 0]
    s = [0.5, 1.2, -0.3, 0.8, 0.2, 0.9, -1.0]
    qid = [7, 7, 7, 7, 9, 9, 9]
    assert ndcg_by_query(y, s, qid) == pytest.approx(0.6644321042, abs=TOL)
    # Rows of a query need not be contiguous, and ids may be strings.
    perm = [4, 0, 6, 2, 1, 5, 3]
    take = np.asarray
    assert ndcg_by_query(
        take(y)[perm], take(s)[perm], np.array(["b", "a"])[take(qid)[perm] // 8]
    ) == pytest.approx(0.6644321042, abs=TOL)


# -- NDCG equals sklearn per query -----------------------------------------------
@pytest.mark.parametrize("k", [None, 1, 3, 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_ndcg_equals_sklearn_per_query(k, seed):
    y, s, qid = _random_queries(seed)
    expected = _per_query(lambda a, b: ndcg_score([a], [b], k=k), y, s, qid)
    assert ndcg_by_query(y, s, qid, k=k) == pytest.approx(expected.mean(), abs=1e-12)
    # Exponential gain: linear NDCG of the labels 2**y - 1.
    exp_expected = _per_query(
        lambda a, b: ndcg_score([2.0**a - 1], [b], k=k), y, s, qid
    )
    assert ndcg_by_query(y, s, qid, k=k, gain="exp2") == pytest.approx(
        exp_expected.mean(), abs=1e-12
    )


@pytest.mark.parametrize("k", [None, 2])
def test_ndcg_ignore_ties_equals_sklearn_without_ties(k):
    y, _, qid = _random_queries(3)
    s = np.random.default_rng(3).normal(size=len(y))
    expected = _per_query(
        lambda a, b: ndcg_score([a], [b], k=k, ignore_ties=True), y, s, qid
    )
    assert ndcg_by_query(y, s, qid, k=k, ignore_ties=True) == pytest.approx(
        expected.mean(), abs=1e-12
    )
    assert ndcg_by_query(y, s, qid, k=k) == pytest.approx(expected.mean(), abs=1e-12)


def test_ndcg_string_qids_and_row_order_do_not_matter():
    y, s, qid = _random_queries(4)
    names = np.array([f"query-{q}" for q in qid], dtype=object)
    perm = np.random.default_rng(0).permutation(len(y))
    base = ndcg_by_query(y, s, qid, k=5)
    assert ndcg_by_query(y[perm], s[perm], names[perm], k=5) == pytest.approx(
        base, abs=1e-13
    )
    assert ndcg_by_query(list(y), list(s), list(names), k=5) == pytest.approx(
        base, abs=1e-13
    )


def test_pandas_inputs():
    pd = pytest.importorskip("pandas")
    y, s, qid = _random_queries(15)
    frame = pd.DataFrame({"y": y, "s": s, "q": [f"q{q}" for q in qid]})
    for metric in (ndcg_by_query, map_by_query, mrr_by_query, kendall_tau_by_query):
        assert metric(frame.y, frame.s, frame.q) == pytest.approx(
            metric(y, s, qid), abs=1e-13
        )


def test_ndcg_queries_without_relevant_rows():
    y = [0, 0, 0, 2, 0, 1]
    s = [0.3, 0.2, 0.1, 0.5, 0.4, 0.0]
    qid = [1, 1, 1, 2, 2, 2]
    second = ndcg_score([[2, 0, 1]], [[0.5, 0.4, 0.0]])
    assert ndcg_score([[0, 0, 0]], [[0.3, 0.2, 0.1]]) == 0.0
    assert ndcg_by_query(y, s, qid) == pytest.approx(second / 2)
    assert ndcg_by_query(y, s, qid, no_relevant="one") == pytest.approx(
        (1 + second) / 2
    )
    value, skipped = ndcg_by_query(y, s, qid, no_relevant="skip", return_skipped=True)
    assert value == pytest.approx(second)
    assert skipped == 1
    assert ndcg_by_query(y, s, qid, return_skipped=True)[1] == 0


def test_ndcg_one_row_query_scores_one_or_as_no_relevant():
    # sklearn refuses a list of one item; here its only order is ideal.
    with pytest.raises(ValueError):
        ndcg_score([[1]], [[0.2]])
    assert ndcg_by_query([3], [0.2], ["q"]) == 1.0
    assert ndcg_by_query([0], [0.2], ["q"]) == 0.0
    y = [3, 0, 2, 1]
    s = [0.2, 0.1, 0.7, 0.9]
    qid = [5, 6, 7, 7]
    two = ndcg_score([[2, 1]], [[0.7, 0.9]])
    assert ndcg_by_query(y, s, qid) == pytest.approx((1 + 0 + two) / 3)
    assert ndcg_by_query(y, s, qid, no_relevant="skip") == pytest.approx((1 + two) / 2)


def test_ndcg_query_weights():
    y, s, qid = _random_queries(5)
    queries = np.unique(qid)
    query_weight = np.random.default_rng(5).uniform(0.5, 3.0, len(queries))
    w = query_weight[np.searchsorted(queries, qid)]
    expected = _per_query(lambda a, b: ndcg_score([a], [b], k=3), y, s, qid)
    assert ndcg_by_query(y, s, qid, k=3, sample_weight=w) == pytest.approx(
        np.average(expected, weights=query_weight), abs=1e-12
    )
    assert ndcg_by_query(y, s, qid, sample_weight=np.ones(len(y))) == pytest.approx(
        ndcg_by_query(y, s, qid), abs=1e-14
    )
    w_bad = w.copy()
    w_bad[np.flatnonzero(qid == qid[0])[0]] += 1.0
    with pytest.raises(ValueError, match="constant within a query"):
        ndcg_by_query(y, s, qid, sample_weight=w_bad)


def test_every_query_skipped_is_nan_with_warning():
    with pytest.warns(UndefinedMetricWarning, match="NDCG is undefined"):
        value = ndcg_by_query([0, 0], [1, 2], [1, 1], no_relevant="skip")
    assert np.isnan(value)
    with pytest.warns(UndefinedMetricWarning, match="MAP"):
        value, skipped = map_by_query(
            [0, 0, 0], [1, 2, 3], [1, 1, 2], return_skipped=True
        )
    assert np.isnan(value) and skipped == 2
    with pytest.warns(UndefinedMetricWarning, match="Kendall"):
        assert np.isnan(kendall_tau_by_query([1, 1], [0, 1]))
    with pytest.warns(UndefinedMetricWarning, match="pairwise accuracy"):
        assert np.isnan(pairwise_accuracy([1, 1], [0, 1]))


# -- MAP -------------------------------------------------------------------------
@pytest.mark.parametrize("threshold", [1, 2, 2.5])
def test_map_equals_sklearn_per_query(threshold):
    y, s, qid = _random_queries(6, n_labels=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ap = [
            average_precision_score(y[qid == q] >= threshold, s[qid == q])
            for q in np.unique(qid)
            if np.any(y[qid == q] >= threshold)
        ]
    value, skipped = map_by_query(
        y, s, qid, relevance_threshold=threshold, return_skipped=True
    )
    assert value == pytest.approx(np.mean(ap), abs=1e-12)
    assert skipped == len(np.unique(qid)) - len(ap)
    zero = map_by_query(y, s, qid, relevance_threshold=threshold, no_relevant="zero")
    assert zero == pytest.approx(np.sum(ap) / len(np.unique(qid)), abs=1e-12)


# -- MRR -------------------------------------------------------------------------
def _naive_rr(y, s, threshold, ties):
    rel = y >= threshold
    if not rel.any():
        return 0.0
    if ties == "stable":
        order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    else:  # pessimistic: non-relevant first among tied rows; optimistic: last
        flip = 1 if ties == "pessimistic" else -1
        order = sorted(range(len(s)), key=lambda i: (-s[i], flip * rel[i]))
    return 1.0 / (1 + next(p for p, i in enumerate(order) if rel[i]))


@pytest.mark.parametrize("ties", ["pessimistic", "stable", "optimistic"])
def test_mrr_equals_naive_loop(ties):
    y, s, qid = _random_queries(7, n_labels=3, n_scores=3)
    expected = _per_query(lambda a, b: _naive_rr(a, b, 2, ties), y, s, qid)
    assert mrr_by_query(y, s, qid, relevance_threshold=2, ties=ties) == pytest.approx(
        expected.mean(), abs=1e-12
    )
    has = _per_query(lambda a, b: np.any(a >= 2), y, s, qid)
    assert mrr_by_query(
        y, s, qid, relevance_threshold=2, ties=ties, no_relevant="skip"
    ) == pytest.approx(expected[has].mean(), abs=1e-12)


def test_mrr_ties():
    y, s, q = [0, 1, 0, 0], [0.9, 0.5, 0.5, 0.5], [1, 1, 1, 1]
    assert mrr_by_query(y, s, q) == pytest.approx(1 / 4)
    assert mrr_by_query(y, s, q, ties="optimistic") == pytest.approx(1 / 2)
    assert mrr_by_query(y, s, q, ties="stable") == pytest.approx(1 / 2)
    assert mrr_by_query(y[::-1], s[::-1], q, ties="stable") == pytest.approx(1 / 4)


# -- trec_eval (ir_measures) as an outside reference for MAP and MRR -------------
def test_map_and_mrr_equal_trec_eval():
    ir_measures = pytest.importorskip("ir_measures")
    y, _, qid = _random_queries(8, n_labels=3)
    s = np.random.default_rng(8).normal(size=len(y))  # trec_eval breaks ties by id
    qrels = [
        ir_measures.Qrel(str(q), f"d{i}", int(r))
        for i, (q, r) in enumerate(zip(qid, y))
    ]
    run = [
        ir_measures.ScoredDoc(str(q), f"d{i}", float(v))
        for i, (q, v) in enumerate(zip(qid, s))
    ]
    ap, rr = ir_measures.AP(rel=2), ir_measures.RR(rel=2)
    per_query = {
        (m.query_id, str(m.measure)): m.value
        for m in ir_measures.iter_calc([ap, rr], qrels, run)
    }
    has = [str(q) for q in np.unique(qid) if np.any(y[qid == q] >= 2)]
    assert map_by_query(y, s, qid, relevance_threshold=2) == pytest.approx(
        np.mean([per_query[q, str(ap)] for q in has]), abs=1e-4
    )
    everyone = [str(q) for q in np.unique(qid)]
    assert mrr_by_query(y, s, qid, relevance_threshold=2) == pytest.approx(
        np.mean([per_query.get((q, str(rr)), 0.0) for q in everyone]), abs=1e-4
    )


# -- Kendall's tau -------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["b", "c"])
def test_kendall_equals_scipy_per_query(variant):
    y, s, qid = _random_queries(9, n_labels=3, n_scores=3)
    # Add queries where tau is undefined: all labels tied, all scores tied, one row.
    y = np.concatenate([y, [1, 1, 1, 0, 2, 1]])
    s = np.concatenate([s, [0, 1, 2, 3, 3, 5]])
    qid = np.concatenate([qid, [-1, -1, -1, -2, -2, -3]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on the one-row query
        taus = _per_query(
            lambda a, b: kendalltau(a, b, variant=variant).statistic, y, s, qid
        )
    value, skipped = kendall_tau_by_query(
        y, s, qid, variant=variant, return_skipped=True
    )
    assert value == pytest.approx(np.nanmean(taus), abs=1e-12)
    assert skipped == int(np.isnan(taus).sum()) >= 3
    assert kendall_tau_by_query(y, s, variant=variant) == pytest.approx(
        kendalltau(y, s, variant=variant).statistic, abs=1e-12
    )


def test_kendall_long_queries_equal_scipy():
    y, s, qid = _random_queries(16, n_queries=8, max_len=300, n_labels=5, n_scores=40)
    taus = _per_query(lambda a, b: kendalltau(a, b).statistic, y, s, qid)
    assert kendall_tau_by_query(y, s, qid) == pytest.approx(taus.mean(), abs=1e-12)


# -- pairwise accuracy -------------------------------------------------------------
def _naive_pairwise(y, s, qid, gap):
    correct = total = 0
    for i in range(len(y)):
        for j in range(len(y)):
            if qid[i] == qid[j] and abs(y[i] - y[j]) > gap and y[i] > y[j]:
                total += 1
                correct += s[i] > s[j]
    return correct / total


@pytest.mark.parametrize("gap", [0.0, 0.5, 1.0, 2.0])
def test_pairwise_accuracy_equals_naive_loop(gap):
    y, s, qid = _random_queries(10, n_queries=15, n_labels=5, n_scores=4)
    assert pairwise_accuracy(y, s, qid, min_label_gap=gap) == pytest.approx(
        _naive_pairwise(y, s, qid, gap), abs=1e-12
    )
    assert pairwise_accuracy(y, s, min_label_gap=gap) == pytest.approx(
        _naive_pairwise(y, s, np.zeros(len(y)), gap), abs=1e-12
    )


def test_pairwise_accuracy_float_labels_gap_matches_subtraction():
    rng = np.random.default_rng(11)
    y = rng.choice([0.1, 0.2, 0.3, 0.7, 1.0], 60)
    s = rng.normal(size=60)
    for gap in (0.1, 0.2, 0.6):
        assert pairwise_accuracy(y, s, min_label_gap=gap) == pytest.approx(
            _naive_pairwise(y, s, np.zeros(60), gap), abs=1e-12
        )


def test_pairwise_accuracy_averages_and_weights():
    y, s, qid = _random_queries(12, n_queries=10, n_labels=3, n_scores=3)
    per_query = _per_query(
        lambda a, b: (
            _naive_pairwise(a, b, np.zeros(len(a)), 0.0) if len(set(a)) > 1 else np.nan
        ),
        y,
        s,
        qid,
    )
    assert pairwise_accuracy(y, s, qid, average="queries") == pytest.approx(
        np.nanmean(per_query), abs=1e-12
    )
    queries = np.unique(qid)
    w = np.arange(1.0, len(queries) + 1)[np.searchsorted(queries, qid)]
    # A query weight multiplies each of its pairs: the same as repeating it.
    repeated = np.concatenate(
        [
            np.flatnonzero(qid == q)
            for q, k in zip(queries, range(1, 11))
            for _ in range(k)
        ]
    )
    copy_id = np.concatenate(
        [
            np.full((qid == q).sum(), 100 * i + c)
            for i, q in enumerate(queries)
            for c in range(i + 1)
        ]
    )
    assert pairwise_accuracy(y, s, qid, sample_weight=w) == pytest.approx(
        pairwise_accuracy(y[repeated], s[repeated], copy_id), abs=1e-12
    )
    with pytest.raises(ValueError, match="needs qid"):
        pairwise_accuracy(y, s, sample_weight=w)


def test_pairwise_accuracy_score_ties_count_wrong():
    assert pairwise_accuracy([0, 1, 2], [1.0, 1.0, 1.0]) == 0.0
    assert pairwise_accuracy([0, 1, 2], [0.0, 1.0, 1.0]) == pytest.approx(2 / 3)


def test_many_rows_in_one_list():
    rng = np.random.default_rng(13)
    y = rng.integers(0, 5, 20_000)
    s = y + rng.normal(size=20_000)
    tau = kendall_tau_by_query(y, s)
    assert tau == pytest.approx(kendalltau(y, s).statistic, abs=1e-12)
    sub = rng.choice(20_000, 400, replace=False)
    assert 0.5 < pairwise_accuracy(y, s) < 1.0
    assert pairwise_accuracy(y[sub], s[sub]) == pytest.approx(
        _naive_pairwise(y[sub], s[sub], np.zeros(400), 0.0), abs=1e-12
    )


# -- bad inputs --------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: ndcg_by_query([1, 2], [1.0], [1, 1]), ValueError, "same length"),
        (lambda: ndcg_by_query([1, 2], [1.0, 2.0], [1]), ValueError, "qid has 1 rows"),
        (
            lambda: ndcg_by_query([[1, 2]], [[1, 2]], [1]),
            ValueError,
            "y_true must be 1-D",
        ),
        (lambda: ndcg_by_query([1, 2], [1.0, np.nan], [1, 1]), ValueError, "y_score"),
        (lambda: ndcg_by_query([1, -1], [1.0, 2.0], [1, 1]), ValueError, ">= 0"),
        (
            lambda: ndcg_by_query([1, 2], [1.0, 2.0], None),
            ValueError,
            "qid is required",
        ),
        (lambda: ndcg_by_query([], [], []), ValueError, "empty"),
        (lambda: ndcg_by_query([1, 2], [1, 2], [1, 1], k=0), ValueError, "k must be"),
        (lambda: ndcg_by_query([1, 2], [1, 2], [1, 1], k=2.0), ValueError, "k must be"),
        (lambda: ndcg_by_query([1, 2], [1, 2], [1, 1], gain="exp"), ValueError, "gain"),
        (
            lambda: ndcg_by_query([1, 2], [1, 2], [1, 1], no_relevant="nan"),
            ValueError,
            "no_relevant",
        ),
        (
            lambda: ndcg_by_query([2000, 2], [1, 2], [1, 1], gain="exp2"),
            ValueError,
            "overflows",
        ),
        (lambda: ndcg_by_query(["a", "b"], [1, 2], [1, 1]), TypeError, "y_true"),
        (
            lambda: ndcg_by_query([1, 2], [1, 2], np.array([1, "a"], dtype=object)),
            TypeError,
            "qid",
        ),
        (
            lambda: ndcg_by_query([1, 2], [1, 2], [1, 1], sample_weight=[1, -1]),
            ValueError,
            "sample_weight must be >= 0",
        ),
        (
            lambda: ndcg_by_query([1, 2], [1, 2], [1, 1], sample_weight=[1]),
            ValueError,
            "sample_weight has 1 rows",
        ),
        (
            lambda: map_by_query([1, 2], [1, 2], [1, 1], relevance_threshold=None),
            ValueError,
            "relevance_threshold",
        ),
        (lambda: mrr_by_query([1, 2], [1, 2], [1, 1], ties="x"), ValueError, "ties"),
        (
            lambda: kendall_tau_by_query([1, 2], [1, 2], variant="a"),
            ValueError,
            "variant",
        ),
        (
            lambda: pairwise_accuracy([1, 2], [1, 2], min_label_gap=-1),
            ValueError,
            "min_label_gap",
        ),
        (
            lambda: pairwise_accuracy([1, 2], [1, 2], average="macro"),
            ValueError,
            "average",
        ),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- scorers -----------------------------------------------------------------------
PREDICT_LOG = []


class QidRidge(RegressorMixin, BaseEstimator):
    """Ridge whose fit and predict take (and check) the query ids: column 0 of
    X holds each row's query id, so a wrongly sliced qid is caught."""

    __metadata_request__fit = {"qid": True}
    __metadata_request__predict = {"qid": True}

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y, qid=None):
        assert qid is not None and np.array_equal(np.asarray(X)[:, 0], qid)
        self.ridge_ = Ridge(alpha=self.alpha).fit(np.asarray(X)[:, 1:], y)
        return self

    def predict(self, X, qid=None):
        assert qid is not None and np.array_equal(np.asarray(X)[:, 0], qid)
        PREDICT_LOG.append(np.unique(qid))
        return self.ridge_.predict(np.asarray(X)[:, 1:])


class PlainRidge(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.ridge_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        return self.ridge_.predict(X)


@pytest.fixture
def ranking_data():
    rng = np.random.default_rng(14)
    qid = np.repeat(np.arange(12), 6)[rng.permutation(72)]
    features = rng.normal(size=(72, 3))
    y = np.clip(np.round(features @ [1.0, -0.5, 0.3] + 1.5), 0, 3)
    return np.column_stack([qid, features]), y, qid


def test_scorer_equals_metric_and_passes_qid_to_predict(ranking_data):
    X, y, qid = ranking_data
    model = QidRidge().fit(X, y, qid=qid)
    PREDICT_LOG.clear()
    scores = model.predict(X, qid=qid)
    assert ndcg_scorer(k=3)(model, X, y, qid=qid) == pytest.approx(
        ndcg_by_query(y, scores, qid, k=3)
    )
    assert len(PREDICT_LOG) == 2
    for scorer, metric in [
        (map_scorer(), map_by_query),
        (mrr_scorer(), mrr_by_query),
        (kendall_tau_scorer(), kendall_tau_by_query),
        (pairwise_accuracy_scorer(), pairwise_accuracy),
    ]:
        assert scorer(model, X, y, qid=qid) == pytest.approx(metric(y, scores, qid))
    # An estimator (or a Pipeline ending in one) whose predict takes no qid
    # is called without it.
    for plain in (PlainRidge(), make_pipeline(StandardScaler(), PlainRidge())):
        plain.fit(X, y)
        assert ndcg_scorer(k=3)(plain, X, y, qid=qid) == pytest.approx(
            ndcg_by_query(y, plain.predict(X), qid, k=3)
        )


def test_scorer_without_qid_says_how_to_route_it(ranking_data):
    X, y, qid = ranking_data
    model = PlainRidge().fit(X, y)
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        ndcg_scorer()(model, X, y)
    # Without routing, a search never gives the scorer qid: the same message.
    search = GridSearchCV(
        PlainRidge(), {}, scoring=ndcg_scorer(), cv=GroupKFold(3), error_score="raise"
    )
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        search.fit(X, y, groups=qid)
    # Metrics defined over all rows work without qid.
    assert np.isfinite(kendall_tau_scorer()(model, X, y))


def test_scorer_params_clone_and_validation():
    scorer = ndcg_scorer(5, gain="exp2")
    assert scorer.get_params() == {"metric": "ndcg", "k": 5, "gain": "exp2"}
    copy = clone(scorer)
    assert copy.get_params() == scorer.get_params() and copy is not scorer
    scorer.set_params(k=3, metric="ndcg")
    assert scorer.metric_params == {"k": 3, "gain": "exp2"}
    model = PlainRidge().fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ValueError, match="not parameters of metric 'map'"):
        map_scorer(k=3)(model, np.eye(3), [0, 1, 2], qid=[1, 1, 1])
    with pytest.raises(ValueError, match="metric must be one of"):
        GroupedRankingScorer("auc")(model, np.eye(3), [0, 1, 2], qid=[1, 1, 1])
    custom = GroupedRankingScorer(lambda y, s, q: float(np.corrcoef(y, s)[0, 1]))
    assert custom(model, np.eye(3), [0, 1, 2], qid=[1, 1, 1]) == pytest.approx(1.0)


def test_grid_search_routes_qid_to_fit_scorer_and_predict(ranking_data):
    X, y, qid = ranking_data
    PREDICT_LOG.clear()
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            QidRidge(),
            {"alpha": [0.1, 10.0]},
            scoring=ndcg_scorer(k=10),
            cv=GroupKFold(3),
        ).fit(X, y, groups=qid, qid=qid)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # One predict per fold and candidate, each on whole queries of its test fold.
    assert len(PREDICT_LOG) == 6
    for seen in PREDICT_LOG:
        assert len(seen) == 4
    folds = list(GroupKFold(3).split(X, y, qid))
    test, train = folds[0][1], folds[0][0]
    model = QidRidge(alpha=0.1).fit(X[train], y[train], qid=qid[train])
    scores = model.predict(X[test], qid=qid[test])
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(
        ndcg_by_query(y[test], scores, qid[test], k=10)
    )


def test_cross_validate_multi_metric_and_pipeline(ranking_data):
    X, y, qid = ranking_data
    scoring = {"ndcg@10": ndcg_scorer(10), "map": map_scorer()}
    with sklearn.config_context(enable_metadata_routing=True):
        result = cross_validate(
            QidRidge(),
            X,
            y,
            cv=GroupKFold(3),
            scoring=scoring,
            params={"groups": qid, "qid": qid},
        )
        # Column 0 (the query id the test estimator checks) passes through.
        scale = ColumnTransformer(
            [("qid", "passthrough", [0])], remainder=StandardScaler()
        )
        pipe = make_pipeline(scale, QidRidge())
        piped = cross_validate(
            pipe,
            X,
            y,
            cv=GroupKFold(3),
            scoring=ndcg_scorer(10),
            params={"groups": qid, "qid": qid},
        )
    assert np.all(np.isfinite(result["test_ndcg@10"]))
    assert np.all(np.isfinite(result["test_map"]))
    assert np.all(np.isfinite(piped["test_score"]))


def test_scorer_weighted_when_requested(ranking_data):
    X, y, qid = ranking_data
    w = (qid % 3 + 1).astype(float)  # constant within a query
    model = PlainRidge().fit(X, y)
    expected = ndcg_by_query(y, model.predict(X), qid, sample_weight=w)
    assert ndcg_scorer()(model, X, y, qid=qid, sample_weight=w) == pytest.approx(
        expected
    )
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = ndcg_scorer().set_score_request(sample_weight=True)
        routing = scorer.get_metadata_routing()
        assert routing.consumes("score", ["qid", "sample_weight"]) == {
            "qid",
            "sample_weight",
        }
        assert ndcg_scorer().get_metadata_routing().consumes(
            "score", ["qid", "sample_weight", "estimator"]
        ) == {"qid"}
