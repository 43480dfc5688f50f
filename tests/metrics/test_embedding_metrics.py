"""Embedding metrics and their scorers.

The retrieval metrics are checked against pytorch-metric-learning's
``AccuracyCalculator`` (leave-one-out and reference-set modes, Euclidean and
cosine), against a naive per-query loop with a stable sort on data full of
distance ties and duplicates, and k-NN accuracy against scikit-learn's
``KNeighborsClassifier``. Uniformity, tolerance and utilization are checked
against the spec's reference values and naive formulas; every chunked
computation against a single chunk. The scorers are run in ``GridSearchCV``
and ``cross_validate`` on a PCA pipeline.
"""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses.metrics import _embedding
from sklearn_losses.metrics._embedding import (
    EmbeddingScorer,
    knn_accuracy,
    knn_accuracy_scorer,
    make_embedding_scorer,
    map_at_r,
    map_at_r_scorer,
    r_precision,
    recall_at_1_scorer,
    recall_at_k,
    tolerance,
    tolerance_scorer,
    uniformity,
    uniformity_scorer,
    utilization,
)

RTOL = 1e-5
# The spec's points on the unit circle and their labels.
ANGLES = np.array([0, 0.3, 0.6, 2.0, 2.2, 4.0])
CIRCLE = np.c_[np.cos(ANGLES), np.sin(ANGLES)]
CIRCLE_LABELS = [0, 0, 0, 1, 1, 2]


def _labelled(seed, n=150, d=6, n_classes=6):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, n_classes, n)


def _tied(seed, n=40, n_classes=4):
    """Points on a small integer grid (many equal distances, duplicates)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3, (n, 2)).astype(float), rng.integers(0, n_classes, n)


# -- a naive reference: one query at a time, full stable sort --------------------
def _naive_order(query, candidates, metric):
    if metric == "cosine":
        q = query / np.linalg.norm(query)
        c = candidates / np.linalg.norm(candidates, axis=1, keepdims=True)
        keys = -(c @ q)
    else:
        keys = np.sum(candidates * candidates, axis=1) - 2 * candidates @ query
    return np.argsort(keys, kind="stable")


def _naive(embeddings, labels, reference=None, metric="euclidean"):
    """Per-query neighbour labels (nearest first) and the query labels."""
    embeddings, labels = np.asarray(embeddings, float), np.asarray(labels)
    if reference is None:
        out = []
        for i in range(len(embeddings)):
            others = np.delete(np.arange(len(embeddings)), i)
            order = _naive_order(embeddings[i], embeddings[others], metric)
            out.append(labels[others][order])
        return out, labels
    ref, ref_labels = np.asarray(reference[0], float), np.asarray(reference[1])
    out = [ref_labels[_naive_order(q, ref, metric)] for q in embeddings]
    return out, labels


def _naive_metrics(embeddings, labels, k, n_neighbors, **kwargs):
    ranked, labels = _naive(embeddings, labels, **kwargs)
    recall, rp, ap, knn_near, knn_label = [], [], [], [], []
    for neighbours, label in zip(ranked, labels):
        r = int(np.sum(neighbours == label))
        hit = neighbours == label
        if r:
            recall.append(hit[:k].any())
            rp.append(hit[:r].mean())
            precision = np.cumsum(hit[:r]) / np.arange(1, r + 1)
            ap.append(np.sum(precision * hit[:r]) / r)
        voters = list(neighbours[:n_neighbors])
        counts = {v: voters.count(v) for v in voters}
        best = max(counts.values())
        tied = [v for v in voters if counts[v] == best]
        knn_near.append(tied[0] == label)
        knn_label.append(min(tied) == label)
    return {
        "recall": np.mean(recall),
        "r_precision": np.mean(rp),
        "map_at_r": np.mean(ap),
        "knn_nearest": np.mean(knn_near),
        "knn_label": np.mean(knn_label),
    }


# -- the spec's reference values -----------------------------------------------------
def test_spec_uniformity_of_circle_points():
    # The paper's sign: -L_uniformity, with L_uniformity(t=2) = -1.551103.
    assert uniformity(CIRCLE, t=2.0) == pytest.approx(1.551103, rel=RTOL)
    assert uniformity(CIRCLE) == pytest.approx(1.551103, rel=RTOL)


def test_spec_tolerance_conditional_and_literal():
    assert tolerance(CIRCLE, CIRCLE_LABELS) == pytest.approx(0.929019, rel=RTOL)
    assert tolerance(CIRCLE, CIRCLE_LABELS, conditional=False) == pytest.approx(
        0.247738, rel=RTOL
    )


def test_spec_utilization():
    test = np.array([[1.0, 1.0, 0.0], [0.2, 0.1, 1.0]])
    test /= np.linalg.norm(test, axis=1, keepdims=True)
    assert utilization(test, np.eye(3)) == pytest.approx(0.316993, rel=RTOL)


# -- agreement with pytorch-metric-learning --------------------------------------------
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("with_reference", [False, True])
def test_retrieval_equals_pml_accuracy_calculator(metric, with_reference):
    pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning.distances import CosineSimilarity, LpDistance
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator
    from pytorch_metric_learning.utils.inference import CustomKNN

    distance = (
        CosineSimilarity()
        if metric == "cosine"
        else LpDistance(normalize_embeddings=False)
    )
    calculator = AccuracyCalculator(
        include=("precision_at_1", "r_precision", "mean_average_precision_at_r"),
        k="max_bin_count",
        device=torch.device("cpu"),
        knn_func=CustomKNN(distance),
    )
    embeddings, labels = _labelled(0)
    labels[0] = 99  # a label with one item: left out of the mean by both
    if with_reference:
        ref, ref_labels = _labelled(1, n=90, n_classes=5)  # labels 5, 99 absent
        expected = calculator.get_accuracy(embeddings, labels, ref, ref_labels)
        kwargs = {"reference": (ref, ref_labels), "metric": metric}
    else:
        expected = calculator.get_accuracy(embeddings, labels)
        kwargs = {"metric": metric}
    for chunk_size in (1024, 32):  # one chunk, several chunks
        kwargs["chunk_size"] = chunk_size
        assert recall_at_k(embeddings, labels, k=1, **kwargs) == pytest.approx(
            expected["precision_at_1"], rel=1e-12
        )
        assert r_precision(embeddings, labels, **kwargs) == pytest.approx(
            expected["r_precision"], rel=1e-9
        )
        assert map_at_r(embeddings, labels, **kwargs) == pytest.approx(
            expected["mean_average_precision_at_r"], rel=1e-9
        )


# -- a naive loop, with ties and duplicates --------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
@pytest.mark.parametrize("with_reference", [False, True])
def test_retrieval_equals_naive_loop_with_ties(seed, metric, with_reference):
    embeddings, labels = _tied(seed)
    embeddings += 1.0  # no zero rows for the cosine
    reference = None
    if with_reference:
        ref, ref_labels = _tied(seed + 10, n=25)
        reference = (ref + 1.0, ref_labels)
    expected = _naive_metrics(
        embeddings, labels, k=3, n_neighbors=4, reference=reference, metric=metric
    )
    for chunk_size in (1, 7, 1024):
        kwargs = {"reference": reference, "metric": metric, "chunk_size": chunk_size}
        got = {
            "recall": recall_at_k(embeddings, labels, k=3, **kwargs),
            "r_precision": r_precision(embeddings, labels, **kwargs),
            "map_at_r": map_at_r(embeddings, labels, **kwargs),
            "knn_nearest": knn_accuracy(embeddings, labels, 4, **kwargs),
            "knn_label": knn_accuracy(
                embeddings, labels, 4, vote_ties="label", **kwargs
            ),
        }
        assert got == pytest.approx(expected, rel=1e-12), chunk_size


@pytest.mark.parametrize("topk_max", [0, 256])
def test_nearest_is_a_stable_partial_sort(monkeypatch, topk_max):
    # Both selection paths (torch.topk for small k, argpartition above) with
    # many equal keys, including ties across the k-th position.
    monkeypatch.setattr(_embedding, "_TOPK_MAX", topk_max)
    keys = np.random.default_rng(9).integers(0, 4, (30, 12)).astype(float)
    keys[3, 5] = np.inf
    for k in (1, 2, 3, 7, 11, 12):
        expected = np.argsort(keys, axis=1, kind="stable")[:, :k]
        np.testing.assert_array_equal(_embedding._nearest(keys.copy(), k), expected)


def test_distance_ties_break_by_index():
    # Query 1 (at 1.0) is equidistant from rows 0 and 2: row 0 is the nearer.
    embeddings = [[0.0], [1.0], [2.0], [10.0]]
    assert recall_at_k(embeddings, ["a", "a", "b", "b"]) == 0.75
    assert recall_at_k(embeddings, ["b", "a", "a", "b"]) == 0.25
    ref = ([[2.0], [0.0]], ["x", "y"])
    assert recall_at_k([[1.0]], ["x"], reference=ref) == 1.0
    assert recall_at_k([[1.0]], ["y"], reference=ref) == 0.0


def test_duplicates_are_neighbours_and_self_is_not():
    embeddings = [[0.0, 0.0], [0.0, 0.0], [5.0, 5.0], [5.0, 5.0]]
    labels = [0, 0, 1, 1]
    assert recall_at_k(embeddings, labels) == 1.0
    assert map_at_r(embeddings, labels) == 1.0
    assert knn_accuracy(embeddings, labels, n_neighbors=1) == 1.0
    # Self is excluded by index even for duplicates of another label.
    assert recall_at_k(embeddings, [0, 1, 1, 0]) == 0.0


def test_lone_queries_are_left_out_and_all_lone_is_nan():
    embeddings = [[0.0], [0.1], [5.0]]
    assert recall_at_k(embeddings, [0, 0, 1]) == 1.0
    assert map_at_r(embeddings, [0, 0, 1]) == 1.0
    assert knn_accuracy(embeddings, [0, 0, 1], n_neighbors=1) == pytest.approx(2 / 3)
    for function in (recall_at_k, map_at_r, r_precision):
        with pytest.warns(UndefinedMetricWarning, match="no query"):
            assert np.isnan(function(embeddings, [0, 1, 2]))


def test_string_labels_and_torch_inputs():
    embeddings, labels = _labelled(2, n=60)
    names = np.array(["ant", "bee", "cat", "dog", "eel", "fox"])[labels]
    for function in (recall_at_k, map_at_r, r_precision, knn_accuracy):
        assert function(embeddings, names) == function(embeddings, labels)
        assert function(torch.tensor(embeddings), torch.tensor(labels)) == (
            function(embeddings, labels)
        )
    assert tolerance(embeddings, names) == tolerance(embeddings, labels)


# -- k-NN accuracy against scikit-learn -----------------------------------------
@pytest.mark.parametrize("n_neighbors", [1, 4, 5])
def test_knn_accuracy_equals_sklearn(n_neighbors):
    embeddings, labels = _labelled(3, n=80, n_classes=4)
    model = KNeighborsClassifier(n_neighbors=n_neighbors).fit(embeddings, labels)
    # Leave-one-out: predict(None) excludes each row from its own neighbours.
    expected = np.mean(model.predict(None) == labels)
    got = knn_accuracy(embeddings, labels, n_neighbors, vote_ties="label")
    assert got == expected
    # The same, one query at a time on the other n - 1 rows.
    for i in (0, 17, 79):
        rest = np.delete(np.arange(80), i)
        single = KNeighborsClassifier(n_neighbors=n_neighbors)
        single.fit(embeddings[rest], labels[rest])
        mine = knn_accuracy(
            embeddings[i : i + 1],
            labels[i : i + 1],
            n_neighbors,
            reference=(embeddings[rest], labels[rest]),
            vote_ties="label",
        )
        assert mine == float(single.predict(embeddings[i : i + 1])[0] == labels[i])
    # With a reference set: KNeighborsClassifier.fit(ref).score(queries).
    ref, ref_labels = _labelled(4, n=50, n_classes=4)
    score = (
        KNeighborsClassifier(n_neighbors=n_neighbors)
        .fit(ref, ref_labels)
        .score(embeddings, labels)
    )
    assert (
        knn_accuracy(
            embeddings,
            labels,
            n_neighbors,
            reference=(ref, ref_labels),
            vote_ties="label",
        )
        == score
    )


def test_knn_vote_ties_rules_differ_only_on_ties():
    embeddings, labels = _labelled(5, n=80, n_classes=2)
    # Odd k, two classes: no vote ties, both rules equal scikit-learn.
    expected = np.mean(
        KNeighborsClassifier(5).fit(embeddings, labels).predict(None) == labels
    )
    assert knn_accuracy(embeddings, labels, 5) == expected
    assert knn_accuracy(embeddings, labels, 5, vote_ties="label") == expected
    # k = 2: a 1-1 tie goes to the nearer neighbour's label, or to label 0.
    emb = [[0.0], [1.0], [3.0], [4.0], [6.0], [7.0]]
    y = [0, 1, 1, 0, 1, 1]
    assert knn_accuracy(emb, y, 2) == pytest.approx(1 / 3)
    assert knn_accuracy(emb, y, 2, vote_ties="label") == 0.0


# -- uniformity, tolerance, utilization ----------------------------------------------
def test_uniformity_equals_pdist_formula_and_chunks():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(37, 4))
    for t in (0.5, 2.0):
        loss = torch.pdist(torch.tensor(z)).pow(2).mul(-t).exp().mean().log()
        for chunk_size in (1, 5, 36, 1024):
            assert uniformity(z, t, chunk_size=chunk_size) == pytest.approx(
                -loss.item(), rel=1e-10
            )
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    assert uniformity(z, normalize=True) == pytest.approx(uniformity(unit), rel=1e-12)
    # Far-apart points: stable where a naive exp underflows to log(0).
    far = np.array([[0.0], [100.0], [250.0]])
    assert uniformity(far, t=2.0) == pytest.approx(
        2.0 * 100.0**2 + np.log(3.0), rel=1e-12
    )


def test_tolerance_equals_naive_pairs():
    z, labels = _labelled(7, n=30, d=3, n_classes=4)
    same = [
        (i, j)
        for i in range(30)
        for j in range(30)
        if i != j and labels[i] == labels[j]
    ]
    conditional = np.mean([z[i] @ z[j] for i, j in same])
    literal = sum(z[i] @ z[j] for i, j in same) / 2 / (30 * 29 / 2)
    assert tolerance(z, labels) == pytest.approx(conditional, rel=1e-10)
    assert tolerance(z, labels, conditional=False) == pytest.approx(literal, rel=1e-10)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    assert tolerance(z, labels, normalize=True) == pytest.approx(
        tolerance(unit, labels), rel=1e-12
    )
    with pytest.warns(UndefinedMetricWarning, match="no two rows"):
        assert np.isnan(tolerance(z[:3], [0, 1, 2]))
    assert tolerance(z[:3], [0, 1, 2], conditional=False) == 0.0


def test_utilization_equals_naive_min_and_chunks():
    rng = np.random.default_rng(8)
    test, train = rng.normal(size=(23, 3)), rng.normal(size=(11, 3))
    naive = np.mean(np.min(((test[:, None] - train[None]) ** 2).sum(-1), axis=1))
    for chunk_size in (1, 4, 1024):
        assert utilization(test, train, chunk_size=chunk_size) == pytest.approx(
            naive, rel=1e-12
        )
    assert utilization(train, train) == 0.0


# -- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: recall_at_k([0.0, 1.0], [0, 0]), ValueError, "2-D"),
        (lambda: recall_at_k([[0.0], [np.nan]], [0, 0]), ValueError, "finite"),
        (lambda: recall_at_k([["a"], ["b"]], [0, 0]), TypeError, "numbers"),
        (lambda: recall_at_k([[0.0]], [0]), ValueError, "at least 2"),
        (lambda: recall_at_k([[0.0], [1.0]], [0, 0, 1]), ValueError, "one label"),
        (lambda: recall_at_k([[0.0], [1.0]], [[0], [0]]), ValueError, "1-D"),
        (lambda: recall_at_k([[0.0], [1.0]], [0, 0], k=0), ValueError, "k must"),
        (lambda: recall_at_k([[0.0], [1.0]], [0, 0], k=2), ValueError, "k must"),
        (lambda: recall_at_k([[0.0], [1.0]], [0, 0], k=True), ValueError, "k must"),
        (lambda: recall_at_k([[0.0], [1.0]], [0, 0], k=1.0), ValueError, "k must"),
        (
            lambda: knn_accuracy([[0.0], [1.0]], [0, 0], n_neighbors=3),
            ValueError,
            "n_neighbors",
        ),
        (
            lambda: knn_accuracy([[0.0], [1.0]], [0, 0], 1, vote_ties="x"),
            ValueError,
            "vote_ties",
        ),
        (
            lambda: map_at_r([[0.0], [1.0]], [0, 0], metric="manhattan"),
            ValueError,
            "metric",
        ),
        (
            lambda: map_at_r([[0.0], [1.0]], [0, 0], chunk_size=0),
            ValueError,
            "chunk_size",
        ),
        (
            lambda: r_precision([[0.0], [1.0]], [0, 0], reference=[[0.0]]),
            ValueError,
            "reference",
        ),
        (
            lambda: r_precision([[0.0], [1.0]], [0, 0], reference=([[0.0, 1.0]], [0])),
            ValueError,
            "same number of columns",
        ),
        (
            lambda: r_precision([[0.0], [1.0]], [0, 0], reference=([[0.0]], [0, 1])),
            ValueError,
            "reference\\[1\\]",
        ),
        (
            lambda: recall_at_k([[0.0, 0.0], [1.0, 0.0]], [0, 0], metric="cosine"),
            ValueError,
            "all-zero",
        ),
        (
            lambda: recall_at_k([[0.0], [1.0]], np.array([1, "a"], dtype=object)),
            TypeError,
            "sorted",
        ),
        (lambda: uniformity(CIRCLE, t=0.0), ValueError, "t must"),
        (lambda: uniformity(CIRCLE[:1]), ValueError, "at least 2"),
        (lambda: uniformity(CIRCLE, normalize="yes"), ValueError, "normalize"),
        (lambda: tolerance(CIRCLE, CIRCLE_LABELS, conditional=1), ValueError, "cond"),
        (lambda: utilization(CIRCLE, np.eye(3)), ValueError, "same number"),
        (lambda: utilization(CIRCLE, CIRCLE, chunk_size=-1), ValueError, "chunk"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


# -- scorers ---------------------------------------------------------------------------
def _pipeline_data(seed=0, n=120):
    """Four classes in a 2-D latent space, each latent axis copied into three
    noisy columns, plus ten columns of pure noise: the first two principal
    components hold the classes, the others only add noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), n // 4)
    centres = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float) * 3
    latent = centres[y] + rng.normal(scale=0.6, size=(n, 2))
    signal = np.repeat(latent, 3, axis=1) + rng.normal(scale=0.3, size=(n, 6))
    X = np.c_[signal, rng.normal(size=(n, 10))]
    perm = rng.permutation(n)
    return X[perm], y[perm]


def test_grid_search_picks_n_components_by_recall_at_1():
    X, y = _pipeline_data()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = [1, 2, 16]
    search = GridSearchCV(
        make_pipeline(StandardScaler(), PCA()),
        {"pca__n_components": grid},
        scoring=recall_at_1_scorer,
        cv=cv,
    ).fit(X, y)
    manual = []
    for n_components in grid:
        scores = []
        for train, test in cv.split(X, y):
            model = clone(search.estimator).set_params(pca__n_components=n_components)
            model.fit(X[train], y[train])
            scores.append(recall_at_k(model.transform(X[test]), y[test], k=1))
        manual.append(np.mean(scores))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], manual)
    assert search.best_params_ == {"pca__n_components": grid[int(np.argmax(manual))]}
    # The class signal lives in two components; all sixteen add noise.
    assert search.best_params_ == {"pca__n_components": 2}
    assert manual[1] > manual[2] + 0.1


def test_scorers_in_cross_validate_and_sign():
    X, y = _pipeline_data(1, n=60)
    model = make_pipeline(StandardScaler(), PCA(n_components=2))
    lower = make_embedding_scorer(uniformity, greater_is_better=False, t=2.0)
    scoring = {
        "recall": recall_at_1_scorer,
        "map": map_at_r_scorer,
        "knn": knn_accuracy_scorer,
        "uniformity": uniformity_scorer,
        "tolerance": tolerance_scorer,
        "neg_uniformity": lower,
    }
    results = cross_validate(model, X, y, cv=3, scoring=scoring)
    assert np.all((results["test_recall"] >= 0) & (results["test_recall"] <= 1))
    assert np.all(results["test_neg_uniformity"] < 0)
    fitted = model.fit(X, y)
    Z = fitted.transform(X)
    assert lower(fitted, X, y) == -uniformity(Z, t=2.0)
    assert uniformity_scorer(fitted, X) == uniformity(Z, normalize=True)
    assert tolerance_scorer(fitted, X, y) == tolerance(Z, y, normalize=True)
    assert knn_accuracy_scorer(fitted, X, y) == knn_accuracy(Z, y, 5)
    assert map_at_r_scorer(fitted, X, y) == map_at_r(Z, y)


def test_scorer_with_metadata_routing():
    X, y = _pipeline_data(2, n=60)
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            make_pipeline(StandardScaler(), PCA()),
            {"pca__n_components": [1, 2]},
            scoring=map_at_r_scorer,
            cv=3,
        ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_scorer_repr_pickle_params_and_errors():
    assert repr(recall_at_1_scorer) == "EmbeddingScorer(recall_at_k, k=1)"
    assert repr(make_embedding_scorer(utilization, False)) == (
        "EmbeddingScorer(utilization, greater_is_better=False)"
    )
    X, y = _pipeline_data(3, n=40)
    model = make_pipeline(StandardScaler(), PCA(n_components=2)).fit(X, y)
    for scorer in (recall_at_1_scorer, uniformity_scorer, knn_accuracy_scorer):
        copy = pickle.loads(pickle.dumps(scorer))
        assert repr(copy) == repr(scorer)
        assert copy(model, X, y) == scorer(model, X, y)
    scorer = EmbeddingScorer(recall_at_k, k=1).set_params(k=3, metric="cosine")
    assert scorer.get_params()["k"] == 3
    assert scorer(model, X, y) == recall_at_k(model.transform(X), y, 3, metric="cosine")
    with pytest.raises(ValueError, match="not parameters of recall_at_k"):
        EmbeddingScorer(recall_at_k, n_neighbors=3)
    with pytest.raises(TypeError, match="callable"):
        EmbeddingScorer("recall")
    with pytest.raises(TypeError, match="transform"):
        recall_at_1_scorer(KNeighborsClassifier().fit(X, y), X, y)
    with pytest.raises(ValueError, match="labels"):
        recall_at_1_scorer(model, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 0.0 <= recall_at_1_scorer(model, X, y) <= 1.0


# -- the ICNN and utilization scorers ------------------------------------------------
def test_icnn_scorer_equals_the_score_of_the_transformed_rows():
    from sklearn.decomposition import PCA

    from sklearn_losses.metrics import icnn_score, icnn_scorer

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 5))
    y = np.repeat([0, 1, 2, 3], 10)
    pca = PCA(n_components=3).fit(X)
    assert icnn_scorer(pca, X, y) == pytest.approx(icnn_score(pca.transform(X), y, k=4))


def test_utilization_scorer_is_minus_the_utilization_against_the_reference():
    from sklearn.decomposition import PCA

    from sklearn_losses.metrics import UtilizationScorer, utilization

    rng = np.random.RandomState(1)
    X, reference = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    pca = PCA(n_components=2).fit(reference)
    expected = utilization(pca.transform(X), pca.transform(reference))
    assert UtilizationScorer(reference)(pca, X) == pytest.approx(-expected)
    with pytest.raises(TypeError, match="transform"):
        UtilizationScorer(reference)(object(), X)
