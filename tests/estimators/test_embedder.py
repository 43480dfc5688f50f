"""LossEmbedder: the transformer contract, labels, batches, mixup, searches."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossEmbedder, MPerClassBatches
from sklearn_losses.losses import MultiSimilarityLoss, list_losses
from sklearn_losses.metrics import recall_at_k

FAST = {"max_epochs": 3, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.RandomState(0)
    rows = rng.permutation(len(y))[:400]
    return X[rows], y[rows]


# -- the transformer contract -----------------------------------------------------
def test_fit_transform_shapes_and_unit_norms(digits):
    X, y = digits
    emb = LossEmbedder(n_components=5, **FAST).fit(X, y)
    Z = emb.transform(X)
    assert Z.shape == (len(X), 5)
    assert Z.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)
    assert emb.n_components_ == 5
    assert emb.get_feature_names_out().tolist() == [
        f"lossembedder{i}" for i in range(5)
    ]
    raw = LossEmbedder(n_components=5, normalize=False, **FAST).fit(X, y)
    assert not np.allclose(np.linalg.norm(raw.transform(X), axis=1), 1.0)


def test_fit_transform_equals_fit_then_transform(digits):
    X, y = digits
    Z = LossEmbedder(n_components=4, **FAST).fit_transform(X, y)
    Z2 = LossEmbedder(n_components=4, **FAST).fit(X, y).transform(X)
    np.testing.assert_allclose(Z, Z2)


def test_set_output_pandas(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(X.shape[1])])
    emb = LossEmbedder(n_components=3, **FAST).set_output(transform="pandas")
    out = emb.fit(frame, y).transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["lossembedder0", "lossembedder1", "lossembedder2"]
    assert emb.feature_names_in_.tolist() == list(frame.columns)


def test_string_labels_same_embedding_as_integers(digits):
    X, y = digits
    names = np.array([f"digit {v}" for v in y])  # sorted like the integers
    a = LossEmbedder(n_components=4, **FAST).fit(X, y)
    b = LossEmbedder(n_components=4, **FAST).fit(X, names)
    assert b.classes_.tolist() == [f"digit {v}" for v in range(10)]
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_same_seed_same_embedding_and_pickle_clone(digits):
    X, y = digits
    a = LossEmbedder(n_components=4, **FAST).fit(X, y)
    b = LossEmbedder(n_components=4, **FAST).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.transform(X), a.transform(X))
    c = clone(a).fit(X, y)
    np.testing.assert_array_equal(c.transform(X), a.transform(X))


def test_learns_an_embedding_better_than_chance(digits):
    X, y = digits
    emb = LossEmbedder(n_components=8, max_epochs=30, random_state=0).fit(X, y)
    assert recall_at_k(emb.transform(X), y) > 0.95


# -- labels, weights and batches ------------------------------------------------
def test_unit_weights_equal_no_weights(digits):
    X, y = digits
    a = LossEmbedder(n_components=4, **FAST).fit(X, y)
    b = LossEmbedder(n_components=4, **FAST).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_weights_change_the_embedding(digits):
    X, y = digits
    w = np.where(y == 3, 5.0, 1.0)
    a = LossEmbedder(n_components=4, **FAST).fit(X, y)
    b = LossEmbedder(n_components=4, **FAST).fit(X, y, sample_weight=w)
    assert not np.allclose(a.transform(X), b.transform(X))


def test_auto_plan_adapts_m_to_the_smallest_class(digits):
    X, y = digits
    keep = (y != 7) | (np.cumsum(y == 7) <= 3)  # class 7 keeps 3 rows
    emb = LossEmbedder(n_components=4, **FAST).fit(X[keep], y[keep])
    assert emb.transform(X[:2]).shape == (2, 4)


def test_explicit_m_per_class_plan_names_the_small_class(digits):
    X, y = digits
    labels = np.array([f"c{v}" for v in y])
    keep = (y != 7) | (np.cumsum(y == 7) <= 3)
    emb = LossEmbedder(batch_sampler=MPerClassBatches(m=8), **FAST)
    with pytest.raises(ValueError, match=r"\['c7'\] have fewer \(fewest: 3\)"):
        emb.fit(X[keep], labels[keep])


def test_batch_sampler_m_parameter(digits):
    X, y = digits
    emb = LossEmbedder(batch_sampler=MPerClassBatches(), batch_sampler__m=2, **FAST)
    assert emb.fit(X, y).transform(X).shape[1] == 16


def test_without_labels_a_supervised_loss_is_refused(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="requires y to be passed"):
        LossEmbedder(**FAST).fit(X)


def test_self_supervised_infonce_without_labels(digits):
    X, y = digits
    emb = LossEmbedder(
        loss="infonce",
        loss__augment="noise",
        n_components=8,
        max_epochs=5,
        random_state=0,
    ).fit(X)
    assert not hasattr(emb, "classes_")
    assert emb.transform(X).shape == (len(X), 8)
    assert recall_at_k(emb.transform(X), y) > 0.5


def test_augmentation_that_changes_the_batch_shape_is_refused(digits):
    X, _ = digits
    emb = LossEmbedder(
        loss="infonce", loss__augment=lambda x: x[:-1], max_epochs=1, random_state=0
    )
    with pytest.raises(ValueError, match="augment must return a tensor of the input"):
        emb.fit(X)


# -- loss parameters and mixup ---------------------------------------------------
def test_nested_miner_parameters(digits):
    X, y = digits
    emb = LossEmbedder(loss__miner__epsilon=0.3, **FAST).fit(X, y)
    assert emb.loss_.miner.epsilon == 0.3
    # loss__miner=None unsets the parameter (the loss's default miner applies);
    # a loss instance switches mining off.
    emb = LossEmbedder(loss__miner=None, **FAST).fit(X, y)
    assert emb.loss_.miner.epsilon == 0.1
    emb = LossEmbedder(loss=MultiSimilarityLoss(miner=None), **FAST).fit(X, y)
    assert emb.loss_.miner is None


def test_metrix_mixup_wraps_the_loss(digits):
    X, y = digits
    emb = LossEmbedder(mixup="metrix", mixup__weight=0.3, **FAST).fit(X, y)
    assert type(emb.loss_).__name__ == "MetrixLoss"
    assert emb.loss_.weight == 0.3
    assert emb.loss_.inner.name == "multi_similarity"


def test_mixup_parameters_need_mixup(digits):
    X, y = digits
    with pytest.raises(ValueError, match="need mixup='metrix'"):
        LossEmbedder(mixup__alpha=1.0, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="mixup must be None or 'metrix'"):
        LossEmbedder(mixup="cutmix", **FAST).fit(X, y)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_n_components_must_be_a_positive_int(digits, bad):
    X, y = digits
    with pytest.raises(ValueError, match="n_components must be"):
        LossEmbedder(n_components=bad, **FAST).fit(X, y)


def test_a_classification_loss_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="embedding"):
        LossEmbedder(loss="focal", **FAST).fit(X, y)


def test_an_input_the_loss_does_not_use_is_refused(digits):
    X, y = digits
    with pytest.raises(TypeError, match="view"):
        LossEmbedder(**FAST).fit(X, y, view=X[:, :4])


# -- training machinery ------------------------------------------------------------
def test_early_stopping_monitors_recall_at_1(digits):
    X, y = digits
    emb = LossEmbedder(early_stopping=True, max_epochs=5, random_state=0).fit(X, y)
    scores = emb.history_[:, "valid_score"]
    assert all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize("scoring", ["recall@3", "map@r", "knn_accuracy"])
def test_validation_scoring_names(digits, scoring):
    X, y = digits
    emb = LossEmbedder(early_stopping=True, validation_scoring=scoring, **FAST)
    assert np.isfinite(emb.fit(X, y).history_[-1, "valid_score"])


def test_validation_scoring_callable(digits):
    X, y = digits
    seen = []

    def metric(embeddings, labels):
        seen.append(embeddings.shape)
        return 0.5

    emb = LossEmbedder(
        early_stopping=True, validation_scoring=metric, n_components=3, **FAST
    ).fit(X, y)
    assert emb.history_[-1, "valid_score"] == 0.5
    assert seen and seen[0][1] == 3


def test_warm_start_continues_and_keeps_the_width(digits):
    X, y = digits
    emb = LossEmbedder(n_components=4, warm_start=True, **FAST).fit(X, y)
    first = emb.transform(X)
    emb.fit(X, y)
    assert not np.allclose(first, emb.transform(X))
    emb.set_params(n_components=5)
    with pytest.raises(ValueError, match="n_components=4"):
        emb.fit(X, y)


# -- in searches -----------------------------------------------------------------
def test_pipeline_grid_over_losses_and_mixup(digits):
    X, y = digits
    losses = list_losses("embedding")  # cwcl: the input is its frozen view
    pipe = make_pipeline(
        StandardScaler(),
        LossEmbedder(n_components=8, max_epochs=6, random_state=0),
        KNeighborsClassifier(),
    )
    search = GridSearchCV(
        pipe,
        {"lossembedder__loss": losses, "lossembedder__mixup": [None, "metrix"]},
        cv=2,
        error_score="raise",
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 2 * len(losses)
    assert search.best_score_ > 0.6  # chance: 0.1; 6 epochs on 200 rows


EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight is a row's weight as an anchor; a repeated row is also one more "
        "positive or negative of the other anchors, so the two fits differ by design"
    ),
}


@parametrize_with_checks(
    [LossEmbedder(max_epochs=3, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- losses with parameters or inputs of their own ----------------------------------
def test_warm_start_keeps_training_the_loss_parameters(digits):
    X, y = digits
    emb = LossEmbedder(loss="unpg", warm_start=True, **FAST).fit(X, y)
    before = {n: p.detach().clone() for n, p in emb.loss_.named_parameters()}
    assert before  # the class-weight head
    emb.fit(X, y)
    in_optimizer = {
        id(p) for g in emb.net_.optimizer_.param_groups for p in g["params"]
    }
    for name, param in emb.loss_.named_parameters():
        assert id(param) in in_optimizer
        assert not torch.equal(param.detach(), before[name])
    restored = pickle.loads(pickle.dumps(emb))
    np.testing.assert_array_equal(restored.transform(X[:5]), emb.transform(X[:5]))


def test_cwcl_takes_a_paired_view(digits):
    X, y = digits
    view = X[:, :10]
    emb = LossEmbedder(loss="cwcl", **FAST).fit(X, y, view=view)
    assert emb.transform(X[:3]).shape == (3, 16)
    with pytest.raises(ValueError, match=r"view must have one entry per sample"):
        LossEmbedder(loss="cwcl", **FAST).fit(X, y, view=view[:10])
    # without a view, the frozen view is the input itself
    own = LossEmbedder(loss="cwcl", **FAST).fit(X, y)
    assert own.loss_._view_width == X.shape[1]
    assert own.loss_.projection is not None
    # Metrix mixes the paired view of mixed rows with the same weight
    mixed = LossEmbedder(loss="cwcl", mixup="metrix", **FAST).fit(X, y, view=view)
    assert np.isfinite(mixed.transform(X[:3])).all()


def test_view_through_a_pipeline(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), LossEmbedder(loss="cwcl", **FAST))
    pipe.fit(X, y, lossembedder__view=X[:, :6])
    assert pipe.transform(X[:2]).shape == (2, 16)
