"""LossClassifier: outputs, loss parameters, model selection, reproducibility,
persistence, warm start, verbosity, custom modules and optimizers."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import (
    GridSearchCV,
    TunedThresholdClassifierCV,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn

from sklearn_losses import LossClassifier, loss_param_grid
from sklearn_losses.losses import FocalLoss

SMALL = {"hidden_layer_sizes": (16,), "max_epochs": 10, "random_state": 0}


def small(**params):
    return LossClassifier(**{**SMALL, **params})


@pytest.fixture(scope="module")
def fitted_binary(binary_data):
    X, y = binary_data
    return small().fit(X, y), X, y


@pytest.fixture(scope="module")
def fitted_multiclass(multiclass_data):
    X, y = multiclass_data
    return small().fit(X, y), X, y


# -- outputs --------------------------------------------------------------------
def test_predict_before_fit_raises_not_fitted(binary_data):
    with pytest.raises(NotFittedError):
        small().predict(binary_data[0])


def test_binary_outputs(fitted_binary):
    clf, X, y = fitted_binary
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all((proba >= 0) & (proba <= 1))
    dec = clf.decision_function(X)
    assert dec.shape == (len(X),)
    # Column 1 is the probability of classes_[1], the positive log-odds.
    np.testing.assert_allclose(proba[:, 1], expit(dec), rtol=1e-12)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, clf.classes_[(dec > 0).astype(int)])
    assert set(pred) <= set(clf.classes_)


def test_multiclass_outputs(fitted_multiclass):
    clf, X, y = fitted_multiclass
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    dec = clf.decision_function(X)
    assert dec.shape == (len(X), 3)
    np.testing.assert_array_equal(proba.argmax(axis=1), dec.argmax(axis=1))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[dec.argmax(axis=1)])


@pytest.mark.parametrize("fixture", ["fitted_binary", "fitted_multiclass"])
def test_predict_log_proba_and_score(fixture, request):
    clf, X, y = request.getfixturevalue(fixture)
    np.testing.assert_allclose(
        clf.predict_log_proba(X), np.log(clf.predict_proba(X)), rtol=1e-10, atol=1e-12
    )
    assert clf.score(X, y) == pytest.approx(accuracy_score(y, clf.predict(X)))
    w = np.linspace(0.5, 2.0, len(y))
    assert clf.score(X, y, sample_weight=w) == pytest.approx(
        accuracy_score(y, clf.predict(X), sample_weight=w)
    )


def test_prediction_of_a_row_does_not_depend_on_the_batch(fitted_binary):
    clf, X, _ = fitted_binary
    full = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X[:7]), full[:7])
    np.testing.assert_array_equal(clf.predict_proba(X[5:6]), full[5:6])


# -- the loss as a parameter ------------------------------------------------------
@pytest.mark.parametrize(
    "loss, params, gamma",
    [
        ("focal", {}, 2.0),
        ("focal", {"loss__gamma": 0.5}, 0.5),
        (FocalLoss, {"loss__gamma": 1.5}, 1.5),
        (FocalLoss(gamma=1.0), {}, 1.0),
        (FocalLoss(gamma=1.0), {"loss__gamma": 3.0}, 3.0),
    ],
    ids=["name", "name+gamma", "class+gamma", "instance", "instance+override"],
)
def test_loss_spec_forms(binary_data, loss, params, gamma):
    X, y = binary_data
    clf = small(loss=loss, max_epochs=3, **params).fit(X, y)
    assert isinstance(clf.loss_, FocalLoss)
    assert clf.loss_.gamma == gamma
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_loss_instance_not_mutated_nor_shared(binary_data):
    X, y = binary_data
    loss = FocalLoss(gamma=1.0)
    clf = small(loss=loss, loss__gamma=3.0, max_epochs=3).fit(X, y)
    assert loss.gamma == 1.0
    assert clf.loss_ is not loss
    assert clf.loss is loss
    clf2 = small(loss=loss, max_epochs=3).fit(X, y)
    assert clf2.loss_ is not loss and clf2.loss_.gamma == 1.0


def test_loss_param_in_constructor_get_params_and_clone(binary_data):
    clf = small(loss="focal", loss__gamma=1.5)
    assert clf.get_params()["loss__gamma"] == 1.5
    assert clf.get_params(deep=False)["loss__gamma"] == 1.5
    cloned = clone(clf)
    assert cloned.get_params()["loss__gamma"] == 1.5
    X, y = binary_data
    assert cloned.set_params(max_epochs=2).fit(X, y).loss_.gamma == 1.5


def test_loss_param_via_set_params(binary_data):
    X, y = binary_data
    clf = small(loss="focal", max_epochs=2).set_params(loss__gamma=0.5)
    assert clf.get_params()["loss__gamma"] == 0.5
    assert clone(clf).get_params()["loss__gamma"] == 0.5
    assert clf.fit(X, y).loss_.gamma == 0.5


def test_optimizer_param_via_set_params(binary_data):
    X, y = binary_data
    clf = small(optimizer="sgd", max_epochs=2).set_params(optimizer__momentum=0.5)
    assert clf.fit(X, y).net_.optimizer_.param_groups[0]["momentum"] == 0.5


def test_clone_with_loss_instance():
    loss = FocalLoss(gamma=1.0)
    cloned = clone(small(loss=loss))
    assert isinstance(cloned.loss, FocalLoss) and cloned.loss.gamma == 1.0
    assert cloned.loss is not loss


# -- model selection ----------------------------------------------------------------
def test_grid_product_over_losses_ignores_gamma_for_cross_entropy(binary_data):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), small(max_epochs=2))
    grid = {
        "lossclassifier__loss": ["cross_entropy", "focal"],
        "lossclassifier__loss__gamma": [1.0, 2.0],
    }
    search = GridSearchCV(pipe, grid, cv=3, error_score="raise")
    with pytest.warns(UserWarning, match=r"loss__gamma ignored.*'cross_entropy'"):
        search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_grid_search_with_loss_param_grid(binary_data):
    X, y = binary_data
    pipe = make_pipeline(StandardScaler(), small(max_epochs=3))
    grid = loss_param_grid(
        {"cross_entropy": {}, "focal": {"gamma": [1.0, 2.0]}},
        prefix="lossclassifier__",
    )
    search = GridSearchCV(
        pipe, grid, scoring="average_precision", n_jobs=2, cv=3, error_score="raise"
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 3
    assert np.all(np.isfinite(scores))
    assert search.best_estimator_.predict(X).shape == (len(X),)


def test_cross_validate_parallel_matches_sequential(binary_data):
    X, y = binary_data
    seq = cross_validate(small(), X, y, cv=3, n_jobs=1)["test_score"]
    par = cross_validate(small(), X, y, cv=3, n_jobs=2)["test_score"]
    np.testing.assert_array_equal(seq, par)


def test_tuned_threshold_classifier(binary_data):
    X, y = binary_data
    tuned = TunedThresholdClassifierCV(small(), scoring="f1", cv=3).fit(X, y)
    assert np.isfinite(tuned.best_threshold_)
    pred = tuned.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= {0, 1}


# -- reproducibility ------------------------------------------------------------------
@pytest.mark.parametrize(
    "params", [{}, {"early_stopping": True, "dropout": 0.2, "max_epochs": 15}]
)
def test_same_seed_same_predictions(binary_data, params):
    X, y = binary_data
    a = small(**params).fit(X, y).predict_proba(X)
    b = small(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_different_seeds_differ(binary_data):
    X, y = binary_data
    a = small(random_state=0).fit(X, y).predict_proba(X)
    b = small(random_state=1).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)


def test_fit_leaves_global_rngs_alone(binary_data):
    X, y = binary_data
    torch_state = torch.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002
    small(early_stopping=True, dropout=0.2).fit(X, y)
    assert torch.equal(torch_state, torch.get_rng_state())
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(np_state[1], after[1])
    assert np_state[2:] == after[2:]


# -- persistence ----------------------------------------------------------------------
def test_pickle_round_trip(fitted_binary):
    clf, X, _ = fitted_binary
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.n_iter_ == clf.n_iter_


def test_pickle_round_trip_with_early_stopping(binary_data):
    X, y = binary_data
    clf = small(early_stopping=True).fit(X, y)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.slow
def test_pickle_loads_in_fresh_process(fitted_binary, tmp_path):
    clf, X, _ = fitted_binary
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", clf.predict_proba(X))
    code = textwrap.dedent(
        """
        import pickle, sys
        from pathlib import Path
        import numpy as np
        import torch
        torch.set_num_threads(int(sys.argv[2]))  # as in the parent process
        d = Path(sys.argv[1])
        clf = pickle.loads((d / "clf.pkl").read_bytes())
        got = clf.predict_proba(np.load(d / "X.npy"))
        np.testing.assert_array_equal(got, np.load(d / "expected.npy"))
        print("OK")
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), str(torch.get_num_threads())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "OK"


# -- warm start -----------------------------------------------------------------------
def test_warm_start_continues(binary_data):
    X, y = binary_data
    clf = small(max_epochs=4, warm_start=True).fit(X, y)
    assert len(clf.history_) == 4
    clf.fit(X, y)
    assert len(clf.history_) == 8 and clf.n_iter_ == 8
    assert [row["epoch"] for row in clf.history_] == list(range(1, 9))


def test_warm_start_trains_with_this_fits_loss(binary_data):
    X, y = binary_data
    clf = small(loss="focal", max_epochs=2, warm_start=True).fit(X, y)
    first = clf.loss_
    clf.set_params(loss__gamma=0.5).fit(X, y)
    assert clf.loss_ is not first and clf.loss_.gamma == 0.5
    assert clf.net_.criterion_ is clf.loss_ and clf.n_iter_ == 4


def test_warm_start_with_other_classes_raises(binary_data):
    X, y = binary_data
    clf = small(max_epochs=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 1, 2, 0))


def test_cold_start_restarts(binary_data):
    X, y = binary_data
    clf = small(max_epochs=4).fit(X, y)
    first = clf.predict_proba(X)
    clf.fit(X, y)
    assert len(clf.history_) == 4
    np.testing.assert_array_equal(clf.predict_proba(X), first)


# -- verbosity ------------------------------------------------------------------------
def test_verbose_0_prints_nothing(binary_data, capfd):
    X, y = binary_data
    small(max_epochs=3, early_stopping=True, n_iter_no_change=1).fit(X, y)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_verbose_1_progress_bar(binary_data, capfd):
    X, y = binary_data
    small(max_epochs=3, verbose=1).fit(X, y)
    _, err = capfd.readouterr()
    assert "epoch" in err


def test_verbose_2_table(binary_data, capfd):
    X, y = binary_data
    small(max_epochs=3, verbose=2).fit(X, y)
    out, err = capfd.readouterr()
    assert "train_loss" in out + err
    assert "epoch" in out + err


# -- modules -------------------------------------------------------------------------
class TwoLayer(nn.Module):
    def __init__(self, n_features_in, n_outputs, hidden=4):
        super().__init__()
        self.hidden = nn.Linear(n_features_in, hidden)
        self.out = nn.Linear(hidden, n_outputs)

    def forward(self, X):
        out = self.out(torch.relu(self.hidden(X)))
        return out.squeeze(-1) if out.shape[-1] == 1 else out


def two_layer_factory(n_features_in, n_outputs):
    return TwoLayer(n_features_in, n_outputs, hidden=3)


def test_module_class_with_params(binary_data, multiclass_data):
    X, y = binary_data
    clf = small(module=TwoLayer, module__hidden=8, max_epochs=3).fit(X, y)
    assert isinstance(clf.net_.module_, TwoLayer)
    assert clf.net_.module_.hidden.out_features == 8
    assert clf.net_.module_.hidden.in_features == X.shape[1]
    assert clf.net_.module_.out.out_features == 1
    Xm, ym = multiclass_data
    clf = small(module=TwoLayer, module__hidden=8, max_epochs=3).fit(Xm, ym)
    assert clf.net_.module_.out.out_features == 3
    assert clf.predict_proba(Xm).shape == (len(Xm), 3)


def test_module_factory(binary_data):
    X, y = binary_data
    clf = small(module=two_layer_factory, max_epochs=3).fit(X, y)
    assert clf.net_.module_.hidden.out_features == 3
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_module_instance_is_copied(binary_data):
    X, y = binary_data
    torch.manual_seed(0)
    module = TwoLayer(X.shape[1], 1)
    before = {k: v.clone() for k, v in module.state_dict().items()}
    clf = small(module=module, max_epochs=3).fit(X, y)
    assert clf.net_.module_ is not module
    for key, value in module.state_dict().items():
        assert torch.equal(value, before[key]), key
    trained = clf.net_.module_.state_dict()
    assert any(not torch.equal(trained[k], before[k]) for k in before)


def test_module_params_with_instance_raise(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="module__"):
        small(module=TwoLayer(X.shape[1], 1), module__hidden=3).fit(X, y)


# -- optimizer and device ------------------------------------------------------------
def test_optimizer_name_and_params_reach_torch(binary_data):
    X, y = binary_data
    clf = small(
        optimizer="sgd",
        optimizer__momentum=0.9,
        lr=0.05,
        weight_decay=0.01,
        max_epochs=2,
    ).fit(X, y)
    opt = clf.net_.optimizer_
    assert isinstance(opt, torch.optim.SGD)
    group = opt.param_groups[0]
    assert group["momentum"] == 0.9
    assert group["weight_decay"] == 0.01
    assert group["lr"] == 0.05


def test_optimizer_class(binary_data):
    X, y = binary_data
    clf = small(optimizer=torch.optim.RMSprop, max_epochs=2).fit(X, y)
    assert isinstance(clf.net_.optimizer_, torch.optim.RMSprop)
    assert clf.net_.optimizer_.param_groups[0]["weight_decay"] == 0.0


def test_device_cpu_explicit(binary_data):
    X, y = binary_data
    clf = small(device="cpu", max_epochs=2).fit(X, y)
    assert next(clf.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(
        clf.predict_proba(X), small(max_epochs=2).fit(X, y).predict_proba(X)
    )
