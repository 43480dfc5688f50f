"""LossClassifier training: sample and class weights, early stopping, history,
divergence."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score
from sklearn.utils.class_weight import compute_sample_weight
from skorch.callbacks import Callback

from sklearn_losses import DivergenceWarning, LossClassifier, TrainingDivergedError
from sklearn_losses.losses import BaseLoss, CrossEntropyLoss

SMALL = {
    "hidden_layer_sizes": (16,),
    "max_epochs": 10,
    "early_stopping": False,
    "random_state": 0,
}
# Full-batch training: the order of rows only changes float summation order.
FULL_BATCH = {**SMALL, "max_epochs": 20, "batch_size": 512}
TOL = {"rtol": 1e-4, "atol": 1e-6}


def small(**params):
    return LossClassifier(**{**SMALL, **params})


class Recorder(Callback):
    """Keeps numpy copies of the train/validation data seen at the first epoch and
    the module's validation outputs at every epoch."""

    def initialize(self):
        self.train_, self.valid_, self.valid_outputs_ = None, None, []
        return self

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.train_ is None:
            self.train_ = {k: v.cpu().numpy() for k, v in dataset_train.items()}
            if dataset_valid is not None:
                self.valid_ = {k: v.cpu().numpy() for k, v in dataset_valid.items()}
        if dataset_valid is not None:
            out = net.forward_tensor(dataset_valid["X"])
            self.valid_outputs_.append(out.double().cpu().numpy())


def recorder(clf):
    return dict(clf.net_.callbacks_)["recorder"]


def _rows(X_sub, X):
    """Index in X of each row of X_sub (rows of X are distinct)."""
    X32 = X.astype(np.float32)
    return np.array([np.flatnonzero((X32 == row).all(axis=1))[0] for row in X_sub])


# -- sample weights ---------------------------------------------------------------
def test_unit_weights_equal_no_weights(binary_data):
    X, y = binary_data
    a = small().fit(X, y).predict_proba(X)
    b = small().fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_integer_weights_equal_repeated_rows(binary_data):
    X, y = binary_data
    w = np.random.RandomState(0).randint(1, 4, size=len(y))
    weighted = LossClassifier(**FULL_BATCH).fit(X, y, sample_weight=w)
    repeated = LossClassifier(**FULL_BATCH).fit(np.repeat(X, w, 0), np.repeat(y, w))
    np.testing.assert_allclose(
        weighted.predict_proba(X), repeated.predict_proba(X), **TOL
    )


def test_zero_weights_equal_dropped_rows(binary_data):
    X, y = binary_data
    w = np.ones(len(y))
    w[::4] = 0.0
    keep = w > 0
    weighted = LossClassifier(**FULL_BATCH).fit(X, y, sample_weight=w)
    dropped = LossClassifier(**FULL_BATCH).fit(X[keep], y[keep])
    np.testing.assert_allclose(
        weighted.predict_proba(X), dropped.predict_proba(X), **TOL
    )


@pytest.fixture(scope="module")
def imbalanced(binary_data):
    X, y = binary_data
    y = y.copy()
    y[:60] = 0
    return X, y


def test_class_weight_balanced_equals_sample_weight(imbalanced):
    X, y = imbalanced
    a = small(class_weight="balanced").fit(X, y).predict_proba(X)
    sw = compute_sample_weight("balanced", y)
    b = small().fit(X, y, sample_weight=sw).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_class_weight_dict(imbalanced):
    X, y = imbalanced
    a = small(class_weight={0: 1.0, 1: 3.0}).fit(X, y).predict_proba(X)
    b = small().fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0)).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, small().fit(X, y).predict_proba(X))


def test_class_weight_times_sample_weight(imbalanced):
    X, y = imbalanced
    sw = np.random.RandomState(1).uniform(0.5, 2.0, size=len(y))
    a = small(class_weight="balanced").fit(X, y, sample_weight=sw).predict_proba(X)
    product = sw * compute_sample_weight("balanced", y)
    b = small().fit(X, y, sample_weight=product).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_weights_follow_the_validation_split(binary_data):
    X, y = binary_data
    w = np.random.RandomState(2).randint(1, 5, size=len(y)).astype(float)
    clf = small(
        early_stopping=True,
        input_scaling=None,  # the recorded X are the rows as given
        callbacks=[("recorder", Recorder())],
    ).fit(X, y, sample_weight=w)
    assert all(np.isfinite(row["valid_loss"]) for row in clf.history_)
    rec = recorder(clf)
    scale = w.mean()  # weights are passed on scaled to mean 1
    for part in (rec.train_, rec.valid_):
        idx = _rows(part["X"], X)
        np.testing.assert_array_equal(part["y"], y[idx])
        np.testing.assert_allclose(part["sample_weight"] * scale, w[idx], rtol=1e-6)
    n_valid = len(rec.valid_["y"])
    assert n_valid == pytest.approx(0.1 * len(y), abs=1)
    assert len(rec.train_["y"]) + n_valid == len(y)


# -- early stopping ------------------------------------------------------------------
def test_early_stopping_stops_and_restores_best(binary_data):
    X, y = binary_data
    clf = small(
        early_stopping=True, n_iter_no_change=3, max_epochs=200, lr=1e-2, tol=0.0
    ).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.history_) == clf.n_iter_
    for row in clf.history_:
        assert {"valid_loss", "valid_score"} <= set(row)
    valid_loss = np.asarray(clf.history_[:, "valid_loss"])
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_loss"
    assert stopper.best_epoch_ == int(np.argmin(valid_loss)) + 1
    assert clf.n_iter_ == stopper.best_epoch_ + 3
    weights = clf.net_.module_.state_dict()
    for key, best in stopper.best_model_weights_.items():
        assert torch.equal(weights[key], best), key


def test_validation_scoring_is_recorded_and_monitored(binary_data):
    X, y = binary_data
    clf = small(
        early_stopping=True,
        validation_scoring="average_precision",
        n_iter_no_change=100,  # no stop: the recorder sees every epoch
        max_epochs=15,
        tol=0.0,
        callbacks=[("recorder", Recorder())],
    ).fit(X, y)
    scores = np.asarray(clf.history_[:, "valid_score"])
    assert np.all((scores >= 0) & (scores <= 1))
    stopper = dict(clf.net_.callbacks_)["early_stopping"]
    assert stopper.monitor == "valid_score"
    assert stopper.lower_is_better is False
    assert stopper.best_epoch_ == int(np.argmax(scores)) + 1
    # valid_score is average precision of classes_[1] on the held-out rows.
    rec = recorder(clf)
    expected = [
        average_precision_score(rec.valid_["y"], out) for out in rec.valid_outputs_
    ]
    np.testing.assert_allclose(scores, expected, rtol=1e-9)


def test_default_valid_score_is_accuracy(binary_data):
    X, y = binary_data
    clf = small(early_stopping=True, callbacks=[("recorder", Recorder())]).fit(X, y)
    rec = recorder(clf)
    expected = [np.mean((out > 0) == rec.valid_["y"]) for out in rec.valid_outputs_]
    np.testing.assert_allclose(clf.history_[:, "valid_score"], expected)


# -- history ------------------------------------------------------------------------
def test_history_rows_and_decreasing_train_loss(separable_data):
    X, y = separable_data
    clf = small(max_epochs=20, lr=1e-2).fit(X, y)
    assert len(clf.history_) == 20 == clf.n_iter_
    assert [row["epoch"] for row in clf.history_] == list(range(1, 21))
    for row in clf.history_:
        assert {"epoch", "train_loss", "dur"} <= set(row)
        assert "valid_loss" not in row
    loss = np.asarray(clf.history_[:, "train_loss"])
    assert np.all(np.isfinite(loss))
    assert loss[-1] < 0.5 * loss[0]
    assert clf.score(X, y) > 0.9


# -- divergence ------------------------------------------------------------------------
class NanLoss(BaseLoss):
    """Always NaN. Not registered: passed as a class."""

    name = "_test_nan_loss"
    tasks = frozenset({"binary", "multiclass"})

    def loss_terms(self, input, target):
        return input.reshape(len(target), -1).sum(dim=1) * float("nan")


class LateNanLoss(CrossEntropyLoss):
    """Cross-entropy that becomes NaN after ``NAN_AFTER`` calls. Not registered."""

    name = "_test_late_nan_loss"
    NAN_AFTER = 12  # 3 calls per epoch below (2 batches + validation)

    def loss_terms(self, input, target):
        self.n_calls = getattr(self, "n_calls", 0) + 1
        terms = super().loss_terms(input, target)
        return terms * float("nan") if self.n_calls > self.NAN_AFTER else terms


def test_nan_loss_raises_training_diverged(binary_data):
    X, y = binary_data
    with pytest.raises(TrainingDivergedError, match=r"'_test_nan_loss'.*epoch 1"):
        small(loss=NanLoss).fit(X, y)


def test_divergence_with_early_stopping_restores_best(binary_data):
    X, y = binary_data
    clf = small(loss=LateNanLoss, early_stopping=True, max_epochs=30)
    with pytest.warns(DivergenceWarning, match=r"_test_late_nan_loss.*epoch"):
        clf.fit(X, y)
    assert clf.n_iter_ == 5 and not np.isfinite(clf.history_[-1, "train_loss"])
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_divergence_in_first_epoch_with_early_stopping_still_raises(binary_data):
    X, y = binary_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        with pytest.raises(TrainingDivergedError, match="epoch"):
            small(loss=NanLoss, early_stopping=True).fit(X, y)


@pytest.mark.parametrize("loss", ["cross_entropy", "ldr_kl", "ensloss"])
def test_learning_rate_1e3_stops_with_a_clear_error(binary_data, loss):
    X, y = binary_data
    # The plain MLP on raw features (the default network's robustly scaled,
    # clipped inputs keep SGD at lr=1e3 finite for longer).
    params = {
        "loss": loss,
        "optimizer": "sgd",
        "lr": 1e3,
        "max_epochs": 30,
        "module": "mlp",
        "input_scaling": None,
    }
    with pytest.raises(
        TrainingDivergedError, match=rf"'{loss}' became (nan|inf) in epoch"
    ):
        small(**params).fit(X, y)
    # With early stopping the best epoch's weights come back, and the warning
    # says which epoch diverged and which was restored.
    with pytest.warns(DivergenceWarning, match=r"epoch \d+.*Restored the weights"):
        clf = small(early_stopping=True, **params).fit(X, y)
    assert np.all(np.isfinite(clf.predict_proba(X)))
