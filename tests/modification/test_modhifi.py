"""ModHiFi pruning and unlearning: spec §13 reference values, a naive
re-implementation, the surgery on every estimator's MLP, and bad input."""

from __future__ import annotations

import itertools
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn.utils import prune as torch_prune

from sklearn_losses import (
    DistilledClassifier,
    LossClassifier,
    LossEmbedder,
    LossRanker,
    LossRegressor,
    MultiLabelLossClassifier,
)
from sklearn_losses.modification import (
    compensation,
    prune,
    singleton_scores,
    subset_fidelity,
    unlearn,
)
from sklearn_losses.modification._modhifi import _unit_order
from sklearn_losses.modification._network import fitted_mlp, hidden_layers

FAST = {"max_epochs": 5, "random_state": 0}


# -- spec §13: the 3 -> 5 -> 2 reference -------------------------------------------
@pytest.fixture(scope="module")
def spec_layer():
    """H (2000 x 5 ReLU activations) and W2 (2 x 5) of the spec's example."""
    rng = np.random.default_rng(0)
    W1 = rng.normal(size=(5, 3))
    b1 = rng.normal(size=5) * 0.1
    W2 = rng.normal(size=(2, 5))
    rng.normal(size=2)  # b2, drawn for the order; not part of Y_c
    X = rng.normal(size=(2000, 3))
    return np.maximum(X @ W1.T + b1, 0.0), W2


def test_spec_singleton_fidelity_and_saliency(spec_layer):
    H, W = spec_layer
    s = singleton_scores(H, W)
    np.testing.assert_allclose(
        s,
        [
            [0.053069, 0.170798, 0.066423, 0.803964, 0.786418],
            [0.154212, 0.201060, 0.835383, 0.048281, 0.014228],
        ],
        atol=1e-6,
    )
    R = singleton_scores(H, W, score="saliency")
    np.testing.assert_allclose(
        R,
        [
            [-0.029596, 0.574628, 0.477017, 0.738282, 3.456280],
            [-0.019585, 0.180043, 1.244106, 0.125039, -0.060136],
        ],
        atol=1e-6,
    )
    # the two scores rank the units differently
    assert not np.array_equal(np.argsort(-s, axis=1), np.argsort(-R, axis=1))


def test_spec_k2_hifi_sets_compensation_and_fidelity(spec_layer):
    H, W = spec_layer
    s = singleton_scores(H, W)
    top2 = [set(np.argsort(-row)[:2].tolist()) for row in s]
    assert top2 == [{3, 4}, {1, 2}]
    # the union {1, 2, 3, 4} is kept first: keeping 4 of 5 prunes unit 0
    assert sorted(_unit_order(s, "per_output")[:4].tolist()) == [1, 2, 3, 4]
    kept = [1, 2, 3, 4]
    delta = compensation(H, W, kept, ridge=0.0)
    np.testing.assert_allclose(
        delta,
        [
            [0, 0.928636, 1.005249, 1.001555, 1.001874],
            [0, 0.904069, 0.997229, 1.000874, 0.994377],
        ],
        atol=1e-6,
    )
    fs = subset_fidelity(H, W, kept)
    np.testing.assert_allclose(fs, [0.999754, 0.999533], atol=1e-6)
    # relative squared output error with delta* is 1 - FS; plain deletion is worse
    Y = H @ W.T
    for d, want in ((delta, [0.000246, 0.000467]), (np.ones_like(W), None)):
        err = ((Y - H @ (W * d * (np.arange(5) != 0)).T) ** 2).mean(0) / (Y**2).mean(0)
        if want is not None:
            np.testing.assert_allclose(err, want, atol=1e-6)
            np.testing.assert_allclose(err, 1 - fs, atol=1e-12)
        else:
            np.testing.assert_allclose(err, [0.000607, 0.001152], atol=1e-6)
            plain = subset_fidelity(H, W, kept, delta=np.ones_like(W))
            np.testing.assert_allclose(plain, 1 - err, atol=1e-12)


def test_spec_k3_union_keeps_everything_and_naive_is_not_optimal(spec_layer):
    H, W = spec_layer
    s = singleton_scores(H, W)
    top3 = [sorted(np.argsort(-row)[:3].tolist()) for row in s]
    assert top3 == [[1, 3, 4], [0, 1, 2]]
    assert set(top3[0]) | set(top3[1]) == set(range(5))
    fs_naive = [subset_fidelity(H, W, top)[c] for c, top in enumerate(top3)]
    np.testing.assert_allclose(fs_naive, [0.881275, 0.971285], atol=1e-6)
    best = []
    for c in range(2):
        scores = {
            subset: subset_fidelity(H, W, list(subset))[c]
            for subset in itertools.combinations(range(5), 3)
        }
        subset = max(scores, key=scores.get)
        best.append((subset, scores[subset]))
    assert [b[0] for b in best] == [(1, 2, 4), (1, 2, 3)]
    np.testing.assert_allclose([b[1] for b in best], [0.995169, 0.973547], atol=1e-6)


# -- an independent naive re-implementation ------------------------------------------
def _naive(H, W, kept, ridge):
    """Contributions A_ci formed explicitly; δ* from the paper's formula."""
    n_out, m = W.shape
    A = np.einsum("ci,ni->cni", W, H)  # A[c, n, i]
    Y = A.sum(axis=2)
    scores = np.zeros((n_out, m))
    delta = np.zeros((n_out, m))
    removed = [i for i in range(m) if i not in kept]
    for c in range(n_out):
        for i in range(m):
            alpha = (Y[c] * A[c, :, i]).mean() / (A[c, :, i] ** 2).mean()
            scores[c, i] = (
                1 - ((Y[c] - alpha * A[c, :, i]) ** 2).mean() / (Y[c] ** 2).mean()
            )
        Q = A[c].T @ A[c] / len(H)
        Qcc = Q[np.ix_(kept, kept)] + ridge * np.eye(len(kept))
        delta[c, kept] = 1 + np.linalg.solve(Qcc, Q[np.ix_(kept, removed)].sum(1))
    return scores, delta


@pytest.mark.parametrize("center", [False, True])
def test_matches_naive_implementation(center):
    rng = np.random.default_rng(1)
    H = np.maximum(rng.normal(size=(300, 6)) + 0.3, 0)
    W = rng.normal(size=(4, 6))
    kept = [0, 2, 3, 5]
    Hc = H - H.mean(0) if center else H
    scores, delta = _naive(Hc, W, kept, 1e-4)
    got = singleton_scores(H, W, center=center)
    np.testing.assert_allclose(got, scores, atol=1e-10)
    np.testing.assert_allclose(
        compensation(H, W, kept, ridge=1e-4, center=center), delta, atol=1e-8
    )


def test_compensation_is_the_least_squares_refit():
    rng = np.random.default_rng(2)
    H = np.maximum(rng.normal(size=(500, 7)), 0)
    W = rng.normal(size=(3, 7))
    kept = [1, 2, 4, 6]
    delta = compensation(H, W, kept, ridge=0.0)
    Y = H @ W.T
    lstsq = np.linalg.lstsq(H[:, kept], Y, rcond=None)[0].T  # (3, |C|)
    np.testing.assert_allclose((W * delta)[:, kept], lstsq, atol=1e-8)
    assert np.all(delta[:, [0, 3, 5]] == 0)
    # nothing removed: delta is 1; a dead unit scores 0
    np.testing.assert_array_equal(compensation(H, W, range(7)), np.ones_like(W))
    H[:, 3] = 0
    assert np.all(singleton_scores(H, W)[:, 3] == 0)
    assert _unit_order(singleton_scores(H, W), "per_output")[-1] == 3


# -- pruning fitted estimators ---------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.RandomState(0)
    rows = rng.permutation(len(y))
    train, test = rows[:1100], rows[1100:]
    return X[train], y[train], X[test], y[test]


@pytest.fixture(scope="module")
def digits_clf(digits):
    X, y, _, _ = digits
    return LossClassifier(
        module="mlp",
        early_stopping=False,
        hidden_layer_sizes=(64, 64),
        max_epochs=40,
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="module")
def small_clf(multiclass_data):
    X, y = multiclass_data
    # Raw features in: the tests below feed X to the network's layers.
    return LossClassifier(
        module="mlp", input_scaling=None, hidden_layer_sizes=(12, 8), **FAST
    ).fit(X, y)


def test_keep_one_is_the_identity(small_clf, multiclass_data):
    X, _ = multiclass_data
    same = prune(small_clf, keep=1.0, random_state=0)
    np.testing.assert_array_equal(same.predict_proba(X), small_clf.predict_proba(X))
    assert same.hidden_layer_sizes_ == (12, 8)


def test_pruned_is_a_smaller_fitted_estimator(small_clf, multiclass_data):
    X, y = multiclass_data
    before = small_clf.predict_proba(X)
    weights = [p.detach().clone() for p in small_clf.net_.module_.parameters()]
    small = prune(small_clf, keep=0.5, random_state=0)
    assert type(small) is LossClassifier
    assert small.hidden_layer_sizes_ == (6, 4)
    mlp = fitted_mlp(small)
    shapes = [tuple(mlp[i].weight.shape) for i in hidden_layers(mlp)]
    assert shapes == [(6, 6), (4, 6), (3, 4)]
    assert [len(k) for k in small.pruning_["kept_units"]] == [6, 4]
    assert all(np.all((f >= 0) & (f <= 1 + 1e-9)) for f in small.pruning_["fidelity"])
    assert small.predict(X).shape == (len(X),)
    assert 0 <= small.score(X, y) <= 1
    # the original is untouched
    assert small.get_params() == small_clf.get_params()
    np.testing.assert_array_equal(small_clf.predict_proba(X), before)
    for p, w in zip(small_clf.net_.module_.parameters(), weights):
        assert torch.equal(p, w)
    # pickle round-trip, clone (the original architecture, unfitted)
    again = pickle.loads(pickle.dumps(small))
    np.testing.assert_allclose(again.predict_proba(X), small.predict_proba(X))
    assert again.hidden_layer_sizes_ == (6, 4)
    fresh = clone(small)
    assert not hasattr(fresh, "net_") and fresh.hidden_layer_sizes == (12, 8)
    # warm_start fine-tunes the pruned network
    tuned = small.set_params(warm_start=True, max_epochs=2).fit(X, y)
    assert fitted_mlp(tuned)[0].weight.shape == (6, 6)


def test_pruned_layer_is_the_least_squares_refit(small_clf, multiclass_data):
    X, _ = multiclass_data
    small = prune(small_clf, keep=0.5, reference=X, layers=[0], ridge=0.0)
    mlp, pruned = fitted_mlp(small_clf), fitted_mlp(small)
    kept = small.pruning_["kept_units"][0]
    with torch.no_grad():
        H = mlp[1](mlp[0](torch.as_tensor(X, dtype=torch.float32))).double().numpy()
    W = mlp[2].weight.detach().double().numpy()
    lstsq = np.linalg.lstsq(H[:, kept], H @ W.T, rcond=None)[0].T
    np.testing.assert_allclose(
        pruned[2].weight.detach().double().numpy(), lstsq, rtol=1e-4, atol=1e-5
    )
    np.testing.assert_array_equal(
        pruned[0].weight.detach().numpy(), mlp[0].weight.detach().numpy()[kept]
    )
    # only the requested layer shrinks; the bias is kept (no bias correction)
    assert small.hidden_layer_sizes_ == (6, 8)
    assert torch.equal(pruned[2].bias, mlp[2].bias)
    fixed = prune(small_clf, 0.5, reference=X, layers=[0], bias_correction=True)
    assert not torch.equal(fitted_mlp(fixed)[2].bias, mlp[2].bias)


def test_magnitude_equals_torch_ln_structured(small_clf, multiclass_data):
    X, _ = multiclass_data
    small = prune(small_clf, keep=0.5, method="magnitude")
    masked = pickle.loads(pickle.dumps(fitted_mlp(small_clf)))
    linears = hidden_layers(masked)
    for j, nxt in enumerate(linears[1:]):
        width = masked[nxt].in_features
        torch_prune.ln_structured(masked[nxt], "weight", amount=width // 2, n=2, dim=1)
        kept = np.flatnonzero(masked[nxt].weight_mask[0].numpy())
        np.testing.assert_array_equal(kept, small.pruning_["kept_units"][j])
    with torch.no_grad():
        want = masked(torch.as_tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(small.decision_function(X), want, rtol=1e-5, atol=1e-6)
    assert small.pruning_["fidelity"] == [None, None]


def test_modhifi_keeps_more_accuracy_than_magnitude(digits, digits_clf):
    _, _, X_test, y_test = digits
    base = digits_clf.score(X_test, y_test)
    modhifi = prune(digits_clf, keep=0.5, random_state=0).score(X_test, y_test)
    magnitude = prune(digits_clf, keep=0.5, method="magnitude").score(X_test, y_test)
    assert base > 0.9
    assert modhifi > magnitude + 0.05
    assert modhifi > base - 0.08


def test_unlearning_forgets_one_class_and_keeps_the_others(digits, digits_clf):
    _, _, X_test, y_test = digits
    forgot = unlearn(digits_clf, 3, random_state=0)
    pred = forgot.predict(X_test)
    before = digits_clf.predict(X_test)
    recall = np.mean(pred[y_test == 3] == 3)
    assert np.mean(before[y_test == 3] == 3) > 0.85
    assert recall < 0.2
    others = y_test != 3
    kept = np.mean(pred[others] == y_test[others])
    assert kept > np.mean(before[others] == y_test[others]) - 0.12
    info = forgot.unlearning_
    assert info["class"] == 3 and info["reached_chance"]
    assert info["forget_share"] <= 0.1 and info["retain_agreement"] > 0.8
    assert len(info["k"]) == 1
    both = unlearn(digits_clf, 3, layers="all", outputs="all", random_state=0)
    assert len(both.unlearning_["k"]) == 2
    assert np.mean(both.predict(X_test)[y_test == 3] == 3) < 0.2
    assert np.array_equal(forgot.classes_, digits_clf.classes_)
    assert forgot.hidden_layer_sizes_ == (64, 64)
    # the original is untouched; a fixed k edits at least as much as asked
    np.testing.assert_array_equal(digits_clf.predict(X_test), before)
    fixed = unlearn(digits_clf, 3, k=2, layers=[1], outputs="all", random_state=0)
    W = fitted_mlp(fixed)[-1].weight.detach().numpy()
    assert fixed.unlearning_["k"] == [2]
    assert np.sum(W == 0) == 2 * W.shape[0]
    own = unlearn(digits_clf, 3, k=2, random_state=0)
    W = fitted_mlp(own)[-1].weight.detach().numpy()
    assert np.sum(W[3] == 0) == 2 and np.sum(W == 0) == 2


def test_unlearn_string_labels_and_reference_rows(multiclass_data):
    X, y = multiclass_data
    labels = np.array(["ant", "bee", "cat"])[y]
    clf = LossClassifier(module="mlp", hidden_layer_sizes=(16,), **FAST).fit(X, labels)
    forgot = unlearn(clf, "bee", reference=X, k=0.5)
    assert forgot.unlearning_["class"] == "bee"
    assert forgot.predict(X).dtype == labels.dtype
    with pytest.raises(ValueError, match="class_label must be one of"):
        unlearn(clf, "dog")
    with pytest.raises(ValueError, match="class_label must be one of"):
        unlearn(clf, 1)
    with pytest.raises(ValueError, match="assigns 0 of"):
        unlearn(clf, "bee", reference=X[clf.predict(X) != "bee"])


def test_input_moments_are_kept_at_fit(small_clf, multiclass_data):
    X, y = multiclass_data
    moments = small_clf._input_moments
    np.testing.assert_allclose(moments["mean"], X.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(moments["cov"], np.cov(X.T, bias=True), atol=1e-5)
    for k, summary in enumerate(moments["classes"]):
        np.testing.assert_allclose(summary["mean"], X[y == k].mean(0), atol=1e-5)
        assert summary["count"] == np.sum(y == k)
    reg = LossRegressor(**FAST).fit(X, y.astype(float))
    assert reg._input_moments["classes"] is None


# -- every estimator whose network is the MLP -------------------------------------
def _fitted_estimators():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    Xr, yr = make_regression(n_samples=120, n_features=5, random_state=0)
    Y = np.column_stack([y, (X[:, 0] > 0).astype(int), 1 - y])
    qid = np.repeat(np.arange(12), 10)
    hidden = {"hidden_layer_sizes": (10, 6), **FAST}
    return [
        (LossClassifier(module="mlp", **hidden).fit(X, y), X, ()),
        (LossRegressor(**hidden).fit(Xr, yr), Xr, ()),
        (DistilledClassifier(**hidden).fit(X, y), X, ()),
        (MultiLabelLossClassifier(**hidden).fit(X, Y), X, ()),
        (
            MultiLabelLossClassifier(loss="hybrid", **hidden).fit(X, Y),
            X,
            ("embeddings",),
        ),
        (LossEmbedder(n_components=3, **hidden).fit(X, y), X, ()),
        (LossRanker(loss="ranknet", **hidden).fit(X, yr > 0, qid=qid), X, ()),
    ]


@pytest.mark.parametrize("reference", ["auto", "gaussian"])
def test_prune_every_estimator_with_the_mlp(reference):
    for est, X, flags in _fitted_estimators():
        small = prune(est, keep=0.5, reference=reference, random_state=0)
        assert type(small) is type(est)
        assert small.hidden_layer_sizes_ == (5, 3)
        out = small.transform(X) if hasattr(small, "transform") else small.predict(X)
        assert (
            out.shape
            == (est.transform(X) if hasattr(est, "transform") else est.predict(X)).shape
        )
        if "embeddings" in flags:
            assert fitted_mlp(small).n_outputs == 3 + 3
        pickle.loads(pickle.dumps(small))


# -- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("keep", [0, -0.5, 1.5, True, float("nan"), "half", None])
def test_bad_keep(small_clf, keep):
    with pytest.raises(ValueError, match="keep must be a float in \\(0, 1\\]"):
        prune(small_clf, keep=keep)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "l1"}, "method must be one of"),
        ({"score": "taylor"}, "score must be one of"),
        ({"selection": "union"}, "selection must be one of"),
        ({"reference": "uniform"}, "reference must be one of"),
        ({"reference": None}, "reference must be one of"),
        ({"n_reference": 1}, "n_reference must be an int >= 2"),
        ({"ridge": -1.0}, "ridge must be a float >= 0"),
        ({"layers": [5]}, "layers must be 'all' or distinct"),
        ({"layers": [0, 0]}, "layers must be 'all' or distinct"),
        ({"layers": "first"}, "layers must be 'all' or distinct"),
        ({"center": "yes"}, "center must be True or False"),
        ({"random_state": "seed"}, "random_state must be"),
    ],
)
def test_bad_prune_parameters(small_clf, kwargs, match):
    with pytest.raises(ValueError, match=match):
        prune(small_clf, **kwargs)


def test_reference_rows_of_the_wrong_width(small_clf, multiclass_data):
    X, _ = multiclass_data
    with pytest.raises(ValueError, match="reference rows do not fit.*6 features"):
        prune(small_clf, reference=X[:, :4])
    with pytest.raises(ValueError, match="at least 2 rows"):
        prune(small_clf, reference=X[:1])


def test_unfitted_and_foreign_estimators(multiclass_data):
    X, y = multiclass_data
    with pytest.raises(NotFittedError, match="before prune"):
        prune(LossClassifier())
    with pytest.raises(NotFittedError, match="before unlearn"):
        unlearn(LossClassifier(), 0)
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="neural estimators of sklearn_losses"):
        prune(LogisticRegression().fit(X, y))


def test_networks_that_are_not_the_mlp(multiclass_data):
    X, y = multiclass_data
    custom = LossClassifier(
        module=nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)), **FAST
    ).fit(X, y)
    with pytest.raises(TypeError, match="default MLP network.*Sequential"):
        prune(custom)
    dual = DistilledClassifier(loss="dual_head", hidden_layer_sizes=(8,), **FAST)
    with pytest.raises(TypeError, match="DualHeadMLP"):
        prune(dual.fit(X, y))
    tabular = LossClassifier(hidden_layer_sizes=(8,), **FAST).fit(X, y)
    with pytest.raises(TypeError, match="TabularMLP.*module='mlp'"):
        prune(tabular)
    linear = LossClassifier(module="mlp", hidden_layer_sizes=(), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        prune(linear)
    with pytest.raises(ValueError, match="at least one hidden layer"):
        unlearn(linear, 0)


def test_bad_unlearn_parameters(small_clf, multiclass_data):
    X, y = multiclass_data
    for k in (0, -1, 1.5, "all", True):
        with pytest.raises(ValueError, match="k must be 'auto'"):
            unlearn(small_clf, 0, k=k)
    with pytest.raises(ValueError, match="outputs must be one of"):
        unlearn(small_clf, 0, outputs="others")
    with pytest.raises(TypeError, match="single-label classifier"):
        unlearn(LossRegressor(**FAST).fit(X, y.astype(float)), 0)
    with pytest.raises(ValueError, match="reference rows do not fit"):
        unlearn(small_clf, 0, reference=X[:, :2])
    reg = LossRegressor(hidden_layer_sizes=(4,), **FAST).fit(X, y.astype(float))
    with pytest.raises(ValueError, match="needs class moments"):
        prune(reg, reference="class_gaussian")


def test_reference_rows_and_moments_are_the_networks_inputs(multiclass_data):
    """With input_scaling, the network sees scaled features: user reference rows
    are scaled, and the kept moments are those of the scaled features."""
    from sklearn_losses.modification._reference import reference_rows

    X, y = multiclass_data
    clf = LossClassifier(module="mlp", input_scaling="robust", **FAST).fit(X, y)
    scaled = clf.input_scaler_.transform(X)
    rows = reference_rows(clf, X, None, None, "prune")
    np.testing.assert_allclose(rows, scaled, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        clf._input_moments["mean"], scaled.mean(0), rtol=1e-4, atol=1e-5
    )
    pruned = prune(clf, keep=0.5, reference=X)
    assert pruned.predict(X).shape == y.shape
