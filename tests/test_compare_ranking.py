"""compare on a ranking target: query ids (``qid``) make the task, GroupKFold
keeps queries whole, ranking metrics by query, LossRanker against gradient
boosting and LightGBM's LambdaRank; the command line with ``--qid``; bad
inputs give clear errors."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, KFold

from sklearn_losses import LossRanker
from sklearn_losses import cli as cli_module
from sklearn_losses.cli import main
from sklearn_losses.compare import (
    RANKING_SCORING,
    compare_losses,
    default_candidates,
    get_task,
    resolve_task,
)
from sklearn_losses.compare._report import display
from sklearn_losses.compare._run import fit_params
from sklearn_losses.datasets import make_ranking
from sklearn_losses.losses import get_loss_class
from sklearn_losses.metrics import GroupedRankingScorer

FAST = ["--cv", "2", "--max-epochs", "2", "--n-jobs", "1", "--no-progress"]
FAST_RANKER = LossRanker(max_epochs=2, hidden_layer_sizes=(8,))


@pytest.fixture(scope="module")
def ranking():
    """16 queries of 4 to 12 rows, grades 0..4, 12 features."""
    return make_ranking(16, items_per_query=(4, 12), random_state=0)


@pytest.fixture(scope="module")
def ranking_csv(ranking, tmp_path_factory):
    X, y, qid = ranking
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    frame["relevance"] = y
    frame["query_id"] = [f"q{q}" for q in qid]  # string ids
    path = tmp_path_factory.mktemp("data") / "queries.csv"
    frame.to_csv(path, index=False)
    return path


# -- the task --------------------------------------------------------------------
def test_qid_makes_the_task_ranking():
    task, y, positive = resolve_task([0, 2, 1, 0], qid=[1, 1, 2, 2])
    assert task.name == "ranking" and positive is None
    assert y.dtype == np.float64 and y.tolist() == [0.0, 2.0, 1.0, 0.0]
    assert get_task("ranking").default_scoring == RANKING_SCORING
    assert RANKING_SCORING == ("ndcg@5", "ndcg@10", "map")


def test_default_candidates_leave_out_losses_with_their_own_model():
    candidates = default_candidates("ranking")
    assert {"lambda", "listnet", "listmle", "approx_ndcg"} <= set(candidates)
    assert "tsprank" not in candidates and "grouprank" not in candidates
    for name in candidates:
        assert getattr(get_loss_class(name), "module_class", None) is None


def test_ranking_metrics_are_query_scorers():
    task = get_task("ranking")
    ndcg, mean_ap, mrr = task.metrics(["ndcg@5", "map@2", "mrr"])
    assert isinstance(ndcg.scorer, GroupedRankingScorer)
    assert ndcg.scorer.get_params() == {"metric": "ndcg", "k": 5}
    assert mean_ap.scorer.get_params() == {"metric": "map", "relevance_threshold": 2}
    assert mrr.scorer.metric == "mrr" and not ndcg.lower_is_better
    assert display("ndcg@10") == "NDCG@10" and display("map") == "MAP"


def test_group_folds_never_split_a_query(ranking):
    _, y, qid = ranking
    task = get_task("ranking")
    folds = task.folds(3, y, 0, qid=qid)
    assert isinstance(folds, GroupKFold)
    splits = task.splits(folds, y, qid)
    tested = np.concatenate([test for _, test in splits])
    assert np.array_equal(np.sort(tested), np.arange(len(y)))
    for train, test in splits:
        assert not set(qid[train]) & set(qid[test])
    rows = KFold(3, shuffle=True, random_state=0)
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        with pytest.raises(ValueError, match="query must stay whole"):
            task.splits(rows, y, qid)


def test_networks_see_normal_quantiles(ranking):
    X, _, _ = ranking
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    pre = get_task("ranking").preprocessor(list(frame.columns), [], n_train=50)
    Z = pre.fit_transform(frame)
    assert Z.shape == X.shape
    assert abs(np.median(Z)) < 0.1 and np.abs(Z).max() < 6  # no heavy tails left


def test_fit_params_reach_the_last_step_that_takes_them():
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    qid = np.array([1, 1, 2])
    ranker = make_pipeline(StandardScaler(), LossRanker())
    assert fit_params(ranker, {"qid": qid}) == {"lossranker__qid": qid}
    pointwise = make_pipeline(StandardScaler(), HistGradientBoostingRegressor())
    assert fit_params(pointwise, {"qid": qid}) == {}
    assert fit_params(ranker, None) == {}


# -- compare_losses ------------------------------------------------------------------
def test_compare_losses_on_a_ranking_table(ranking):
    X, y, qid = ranking
    table = compare_losses(
        X,
        y,
        ["lambda", "listnet:target=softmax"],
        qid=qid,
        cv=2,
        grid=None,
        estimator=FAST_RANKER,
    )
    columns = table.columns.tolist()
    for metric in RANKING_SCORING:
        assert f"{metric}_mean" in columns
    labels = set(table["loss"])
    assert {"lambda", "listnet:target=softmax"} <= labels
    assert "HistGradientBoosting(pointwise)" in labels
    pytest.importorskip("lightgbm")
    assert "LGBMRanker(lambdarank)" in labels
    assert table["error"].isna().all()
    scores = table[[f"{m}_mean" for m in RANKING_SCORING]].to_numpy()
    assert np.all((scores > 0) & (scores <= 1))
    metadata = table.attrs["metadata"]
    assert metadata["task"] == "ranking" and metadata["n_queries"] == 16
    assert metadata["scoring"] == list(RANKING_SCORING)


def test_qid_column_of_a_frame_is_not_a_feature(ranking):
    X, y, qid = ranking
    frame = pd.DataFrame(X).assign(query=qid)
    table = compare_losses(
        frame,
        y,
        ["ranknet"],
        qid="query",
        cv=2,
        grid=None,
        reference=False,
        estimator=FAST_RANKER,
        scoring="ndcg@3",
    )
    assert table.attrs["metadata"]["n_features"] == X.shape[1]
    assert table["loss"].tolist() == ["ranknet"]
    assert 0 < table.loc[0, "ndcg@3_mean"] <= 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "binary"}, "Query ids .* apply to a ranking target"),
        ({"qid": None, "task": "ranking"}, "needs the query id of each row"),
        ({"qid": "nope"}, "'nope' is not a column"),
        ({"qid": np.arange(3)}, "qid has 3 values but the data has"),
        ({"scoring": "f1"}, "'f1' is not a ranking metric"),
        ({"cv": 40}, "16 queries, fewer than the 40 folds"),
        ({"losses": ["focal"]}, "focal"),
    ],
)
def test_bad_ranking_inputs_are_refused(ranking, kwargs, message):
    X, y, qid = ranking
    args = {"losses": ["lambda"], "qid": qid, "cv": 2, "estimator": FAST_RANKER}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        compare_losses(X, y, **args)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (lambda y: y - 1.0, "negative values"),
        (lambda y: np.where(y > 0, "good", "bad"), "relevance of each row"),
    ],
)
def test_bad_relevance_is_refused(ranking, y, message):
    X, relevance, qid = ranking
    with pytest.raises(ValueError, match=message):
        compare_losses(X, y(relevance), ["lambda"], qid=qid, cv=2)


# -- LightGBM with per-row query ids -------------------------------------------------
def test_qid_lgbm_ranker_equals_lgbm_ranker_on_grouped_rows(ranking):
    lightgbm = pytest.importorskip("lightgbm")
    from sklearn_losses.compare import QidLGBMRanker
    from sklearn_losses.compare._lgbm import query_order

    X, y, qid = ranking
    order = np.argsort(qid, kind="stable")  # contiguous, sorted queries
    Xs, ys, qs = X[order], y[order], qid[order]
    _, sizes = np.unique(qs, return_counts=True)
    params = {"n_estimators": 15, "random_state": 0, "n_jobs": 1, "verbose": -1}
    theirs = lightgbm.LGBMRanker(**params).fit(Xs, ys, group=sizes)
    ours = QidLGBMRanker(**params).fit(Xs, ys, qid=qs)
    np.testing.assert_array_equal(ours.predict(Xs, qid=qs), theirs.predict(Xs))
    # rows anywhere: LGBMRanker on the rows grouped by query_order
    shuffled = np.random.RandomState(0).permutation(len(y))
    Xm, ym, qm = X[shuffled], y[shuffled], qid[shuffled]
    mixed = QidLGBMRanker(**params).fit(Xm, ym, qid=qm)
    grouped, sizes = query_order(qm)
    assert all(len(set(qm[grouped][a:b])) == 1 for a, b in _bounds(sizes))
    theirs = lightgbm.LGBMRanker(**params).fit(Xm[grouped], ym[grouped], group=sizes)
    np.testing.assert_array_equal(mixed.predict(Xm), theirs.predict(Xm))
    assert query_order([2, 2, 1])[0].tolist() == [0, 1, 2]  # grouped: unchanged
    with pytest.raises(ValueError, match="needs qid"):
        QidLGBMRanker().fit(Xs, ys)


def _bounds(sizes):
    ends = np.cumsum(sizes)
    return zip(ends - sizes, ends)


# -- the command line ----------------------------------------------------------------
def test_cli_compares_a_ranking_csv(ranking_csv, tmp_path, capsys):
    out = tmp_path / "results"
    argv = ["compare", str(ranking_csv), "--target", "relevance"]
    argv += ["--qid", "query_id", "--losses", "lambda", "listnet", "--grid", "none"]
    argv += ["--no-reference", "--out", str(out), *FAST]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "ranking target (detected)" in stdout and "16 queries" in stdout
    assert "12 columns" in stdout  # the query id column is not a feature
    assert "2-fold query-grouped CV" in stdout
    assert "| loss | NDCG@5 | NDCG@10 | MAP | fit time (s) | best params |" in stdout
    assert "| lambda |" in stdout and "| listnet |" in stdout
    payload = json.loads((out / "results.json").read_text())
    assert payload["metadata"]["task"] == "ranking"
    assert (out / "results.png").stat().st_size > 0


def test_cli_ranking_without_data_uses_generated_queries(monkeypatch, capsys):
    monkeypatch.setattr(cli_module, "_RANKING_QUERIES", 12)
    argv = ["compare", "--task", "ranking", "--losses", "ranknet", "--grid", "none"]
    assert main([*argv, "--no-reference", "--scoring", "ndcg@10", *FAST]) == 0
    stdout = capsys.readouterr().out
    assert "generated ranking data (make_ranking, 12 queries)" in stdout
    assert "| ranknet |" in stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qid", "query"], "'query' (--qid) is not in the table. Did you mean"),
        (["--qid", "query_id", "--task", "regression"], "cannot go with --task"),
        (["--task", "ranking"], "--task ranking needs --qid"),
        (["--qid", "relevance"], "name the same column"),
    ],
)
def test_cli_bad_ranking_arguments(ranking_csv, capsys, extra, message):
    argv = ["compare", str(ranking_csv), "--target", "relevance", *extra, *FAST]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_cli_negative_relevance(ranking_csv, tmp_path, capsys):
    frame = pd.read_csv(ranking_csv)
    frame["relevance"] -= 2
    path = tmp_path / "negative.csv"
    frame.to_csv(path, index=False)
    argv = ["compare", str(path), "--target", "relevance", "--qid", "query_id"]
    assert main([*argv, *FAST]) == 2
    assert "negative values" in capsys.readouterr().err


def test_cli_qid_without_data(capsys):
    assert main(["compare", "--qid", "query_id", *FAST]) == 2
    assert "--qid needs a data file" in capsys.readouterr().err
