"""The tabular network (periodic embeddings, BatchEnsemble members), the
engine's per-member loss and the estimators' ``input_scaling``."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from torch import nn

from sklearn_losses import LossClassifier, RobustScaleSmoothClip
from sklearn_losses.losses import get_loss
from sklearn_losses.modules import (
    MLP,
    LinearBatchEnsemble,
    PeriodicEmbeddings,
    TabularMLP,
)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=240, n_features=6, weights=[0.8], random_state=0
    )
    return X, y


# -- the module ----------------------------------------------------------------
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("embedding", [None, "periodic"])
def test_shapes_in_training_and_evaluation(n_outputs, k, embedding):
    torch.manual_seed(0)
    net = TabularMLP(5, n_outputs, (8, 8), n_ensemble=k, embedding=embedding)
    X = torch.randn(7, 5)
    train_shape = (7, k) if k > 1 else (7,)
    eval_shape = (7,)
    if n_outputs > 1:
        train_shape, eval_shape = (*train_shape, n_outputs), (7, n_outputs)
    assert net.train()(X).shape == train_shape
    assert net.eval()(X).shape == eval_shape
    assert net.n_members == k


def test_prediction_is_the_mean_of_the_members():
    torch.manual_seed(0)
    net = TabularMLP(4, 3, (16,), n_ensemble=5)
    X = torch.randn(9, 4)
    members = net.train()(X)
    assert members.shape == (9, 5, 3)
    torch.testing.assert_close(net.eval()(X), members.mean(dim=1))


def test_members_are_initialised_independently():
    torch.manual_seed(0)
    net = TabularMLP(6, 2, (32, 32), n_ensemble=4)
    first, second = net.backbone[0], net.backbone[2]
    assert isinstance(first, LinearBatchEnsemble)
    # Random-sign input adapters in the first layer, all different.
    assert set(first.r.detach().unique().tolist()) == {-1.0, 1.0}
    signs = first.r.detach()
    assert all(not torch.equal(signs[i], signs[j]) for i in range(4) for j in range(i))
    assert torch.equal(second.r.detach(), torch.ones_like(second.r))
    heads, biases = net.head_weight.detach(), first.bias.detach()
    for i in range(4):
        for j in range(i):
            assert not torch.allclose(heads[i], heads[j])
            assert not torch.allclose(biases[i], biases[j])
    # So the members' outputs differ on the same input.
    out = net.train()(torch.randn(10, 6))
    assert not torch.allclose(out[:, 0], out[:, 1])


def test_same_seed_same_network():
    torch.manual_seed(3)
    a = TabularMLP(4, 1, (8,), n_ensemble=3)
    torch.manual_seed(3)
    b = TabularMLP(4, 1, (8,), n_ensemble=3)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_linear_batch_ensemble_formula():
    torch.manual_seed(0)
    layer = LinearBatchEnsemble(3, 2, k=2, random_signs=True)
    with torch.no_grad():
        layer.s.uniform_(0.5, 1.5)
    X = torch.randn(4, 2, 3)
    for m in range(2):
        want = (X[:, m] * layer.r[m]) @ layer.weight * layer.s[m] + layer.bias[m]
        torch.testing.assert_close(layer(X)[:, m], want)


def test_periodic_embeddings_formula():
    torch.manual_seed(0)
    emb = PeriodicEmbeddings(2, n_frequencies=3, d_embedding=4, frequency_scale=0.5)
    X = torch.randn(5, 2)
    out = emb(X).reshape(5, 2, 4)
    for j in range(2):
        angle = 2 * np.pi * X[:, j : j + 1] * emb.frequencies[j]
        v = torch.cat([torch.cos(angle), torch.sin(angle)], dim=1)
        torch.testing.assert_close(
            out[:, j], torch.relu(v @ emb.weight[j] + emb.bias[j])
        )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_ensemble": 0}, "n_ensemble"),
        ({"n_ensemble": 2.0}, "n_ensemble"),
        ({"embedding": "linear"}, "embedding"),
        ({"n_frequencies": 0}, "n_frequencies"),
        ({"d_embedding": -1}, "d_embedding"),
        ({"frequency_scale": 0.0}, "frequency_scale"),
        ({"dropout": 1.0}, "dropout"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_bad_module_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabularMLP(3, 1, **kwargs)


def test_gradients_float64():
    torch.manual_seed(0)
    net = TabularMLP(3, 2, (4,), activation="tanh", n_ensemble=2).double().train()
    X = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: net(x), (X,))


# -- the engine: one loss per member, averaged ------------------------------------
class _TwoLinearMembers(nn.Module):
    """Two linear scorers: (n, 2) in training, their mean in evaluation."""

    n_members = 2
    n_outputs = 1

    def __init__(self, n_features):
        super().__init__()
        self.w = nn.Parameter(torch.randn(2, n_features))

    def forward(self, X):
        out = X @ self.w.T
        return out if self.training else out.mean(dim=1)


@pytest.mark.parametrize("loss", ["cross_entropy", "anyloss"])
def test_engine_averages_the_members_losses(data, loss):
    X, y = data
    torch.manual_seed(0)
    module = _TwoLinearMembers(X.shape[1])
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    clf = LossClassifier(
        loss=loss,
        module=module,
        input_scaling=None,
        early_stopping=False,
        batch_size=len(y),
        max_epochs=1,
        optimizer="sgd",
        lr=1e-12,
        random_state=0,
    ).fit(X, y, sample_weight=w)
    X_t = torch.as_tensor(X, dtype=torch.float32)
    y_t = torch.as_tensor(y)
    w_t = torch.as_tensor(w / w.mean(), dtype=torch.float32)
    criterion = get_loss(loss)
    criterion.setup(n_samples=len(y), n_classes=2)
    with torch.no_grad():
        member = [criterion(X_t @ module.w[m], y_t, sample_weight=w_t) for m in (0, 1)]
    want = float(sum(member) / 2)
    assert clf.history_[0, "train_loss"] == pytest.approx(want, rel=1e-5)
    # Prediction: the mean of the members' logits.
    dec = X_t @ clf.net_.module_.w.detach().T
    np.testing.assert_allclose(
        clf.decision_function(X), dec.mean(dim=1).double().numpy(), rtol=1e-5
    )


def test_engine_checks_the_members_output_shape(data):
    X, y = data

    class Wrong(_TwoLinearMembers):
        n_members = 3

    with pytest.raises(ValueError, match="n_members=3"):
        LossClassifier(module=Wrong(X.shape[1]), max_epochs=1).fit(X, y)


# -- the estimator --------------------------------------------------------------
def _tabular(**kwargs):
    params = {
        "module": "tabular",
        "input_scaling": None,
        "early_stopping": False,
        "hidden_layer_sizes": (16,),
        "module__n_ensemble": 3,
        "module__d_embedding": 4,
        "module__n_frequencies": 4,
        "max_epochs": 3,
        "random_state": 0,
    }
    return LossClassifier(**{**params, **kwargs})


def test_estimator_builds_the_named_networks(data):
    X, y = data
    assert isinstance(_tabular().fit(X, y).net_.module_, TabularMLP)
    mlp = LossClassifier(module="mlp", max_epochs=1).fit(X, y).net_.module_
    assert type(mlp) is MLP
    with pytest.raises(ValueError, match="module must be one of"):
        LossClassifier(module="resnet", max_epochs=1).fit(X, y)


def test_estimator_seeds_and_pickling(data):
    X, y = data
    a, b = _tabular().fit(X, y), _tabular().fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = _tabular(random_state=1).fit(X, y)
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))
    loaded = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(loaded.predict_proba(X), a.predict_proba(X))
    assert copy.deepcopy(a).score(X, y) == a.score(X, y)


def test_estimator_sample_weights(data):
    X, y = data
    # Integer weights equal repeated rows in the full-batch loss: the first
    # epoch's training loss is the same.
    w = np.where(np.arange(len(y)) % 3 == 0, 2, 1)
    params = {"batch_size": 1000, "max_epochs": 1}
    weighted = _tabular(**params).fit(X, y, sample_weight=w)
    repeated = _tabular(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    assert weighted.history_[0, "train_loss"] == pytest.approx(
        repeated.history_[0, "train_loss"], rel=1e-5
    )
    assert not np.allclose(
        _tabular().fit(X, y, sample_weight=w).predict_proba(X),
        _tabular().fit(X, y).predict_proba(X),
    )


@pytest.mark.parametrize("scaling", ["standard", "robust"])
def test_input_scaling_is_affine_invariant(data, scaling):
    X, y = data
    a = _tabular(input_scaling=scaling).fit(X, y)
    shifted = X * 7.0 - 3.0
    b = _tabular(input_scaling=scaling).fit(shifted, y)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(shifted), atol=1e-4)
    assert a.input_scaler_.n_features_in_ == X.shape[1]


def test_input_scaling_robust_is_realmlps(data):
    X, y = data
    clf = _tabular(input_scaling="robust").fit(X, y)
    reference = RobustScaleSmoothClip().fit(X)
    np.testing.assert_allclose(clf.input_scaler_.center_, reference.center_)
    np.testing.assert_allclose(clf.input_scaler_.scale_, reference.scale_)
    assert _tabular(input_scaling=None).fit(X, y).input_scaler_ is None


def test_input_scaling_kept_under_warm_start(data):
    X, y = data
    clf = _tabular(input_scaling="standard", warm_start=True).fit(X, y)
    scaler = clf.input_scaler_
    clf.fit(X[:100] * 5, y[:100])
    assert clf.input_scaler_ is scaler


def test_input_scaling_bad_value(data):
    X, y = data
    with pytest.raises(ValueError, match="input_scaling"):
        LossClassifier(input_scaling="minmax").fit(X, y)


def test_grid_over_members_and_embeddings(data):
    X, y = data
    grid = GridSearchCV(
        _tabular(),
        {"module__n_ensemble": [1, 2], "module__embedding": [None, "periodic"]},
        cv=StratifiedKFold(2),
        scoring="average_precision",
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))


def test_members_train_on_their_own(data):
    """The members' losses are summed, not their outputs: each member fits the
    data (every member's own training accuracy is high)."""
    X, y = data
    clf = _tabular(max_epochs=100, module__n_ensemble=4).fit(X, y)
    majority = max(np.mean(y), 1 - np.mean(y))
    module = clf.net_.module_.train()
    X_t = torch.as_tensor(clf.input_scaler_.transform(X) if clf.input_scaler_ else X)
    with torch.no_grad():
        members = module(X_t.float()).numpy()
    for m in range(4):
        assert np.mean((members[:, m] > 0) == y) > majority + 0.03


@pytest.mark.parametrize("features", [[0, 2], [True, False, True, False]])
def test_embedded_features_only(features):
    torch.manual_seed(0)
    net = TabularMLP(
        4, 1, (8,), n_ensemble=2, embedded_features=features, d_embedding=3
    )
    assert net.embedded.tolist() == [0, 2] and net.plain.tolist() == [1, 3]
    assert net.backbone[0].weight.shape[0] == 2 * 3 + 2
    X = torch.randn(5, 4)
    # The plain features enter as they are: changing one changes the output.
    X2 = X.clone()
    X2[:, 1] += 1.0
    assert not torch.allclose(net.eval()(X), net.eval()(X2))


@pytest.mark.parametrize("features", [[4], [0.5], [True, False]])
def test_embedded_features_bad(features):
    with pytest.raises(ValueError, match="embedded_features"):
        TabularMLP(4, 1, embedded_features=features)


def test_estimator_embeds_many_valued_features_only(data):
    X, y = data
    onehot = (np.arange(len(y)) % 2)[:, None] * [1.0, 0.0] + [0.0, 1.0] * (
        (np.arange(len(y)) % 2 == 0)[:, None]
    )
    X = np.hstack([X, onehot])
    module = _tabular().fit(X, y).net_.module_
    assert module.embedded.tolist() == list(range(6))
    assert module.plain.tolist() == [6, 7]
    own = _tabular(module__embedded_features=[0]).fit(X, y).net_.module_
    assert own.embedded.tolist() == [0]


def test_loss_that_calls_the_network_sees_one_member(data):
    """comp_sum calls the network on perturbed inputs: each member's loss gets
    that member's outputs."""
    X, y = data
    clf = _tabular(loss="comp_sum", max_epochs=2).fit(X, y)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    assert clf.predict_proba(X).shape == (len(y), 2)


@pytest.mark.parametrize("strategy", ["linupper", "extremes"])
def test_dynamic_reweighting_per_member(data, strategy):
    X, y = data
    clf = _tabular(reweighting=strategy, reweighting__warmup=0.0).fit(X, y)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()


@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor_with_the_tabular_network(n_targets):
    from sklearn.datasets import make_regression

    from sklearn_losses import LossRegressor

    X, y = make_regression(200, 5, n_targets=n_targets, random_state=0)
    reg = LossRegressor(module="tabular", max_epochs=30, random_state=0).fit(X, y)
    assert isinstance(reg.net_.module_, TabularMLP)
    assert reg.predict(X).shape == y.shape
    assert reg.score(X, y) > 0.5
    with pytest.raises(ValueError, match="module='tabular' takes a table"):
        LossRegressor(module="tabular", max_epochs=1).fit(
            np.zeros((10, 4, 4)), np.zeros(10)
        )


def test_embedder_with_the_tabular_network(data):
    from sklearn_losses import LossEmbedder

    X, y = data
    emb = LossEmbedder(module="tabular", n_components=4, max_epochs=2, random_state=0)
    Z = emb.fit(X, y).transform(X)
    assert Z.shape == (len(y), 4)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)
