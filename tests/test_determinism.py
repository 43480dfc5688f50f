"""Determinism: with a fixed ``random_state`` every estimator gives identical
predictions across repeated fits, across ``n_jobs`` and after a pickle round
trip loaded in a fresh process."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from sklearn_losses import (
    DatasetEquityReweighter,
    LossClassifier,
    LossReweighting,
    MPerClassBatches,
    Reweighted,
)
from sklearn_losses.losses import AdvCompSumLoss, get_loss_class, list_losses


def _equity():
    return DatasetEquityReweighter(reducer="pca", random_state=0)


def _estimators():
    out = {}
    for name in list_losses("binary"):
        if "likelihood" in get_loss_class(name).requires:
            out[name] = LossClassifier(loss=name, reweighter=_equity())
        elif name == "adv_comp_sum":
            out[name] = LossClassifier(loss=AdvCompSumLoss(steps=2))
        else:
            out[name] = LossClassifier(loss=name)
    out["reweighting"] = LossClassifier(reweighting=LossReweighting(warmup=0))
    out["positive_share"] = LossClassifier(batch_sampler=0.4)
    out["m_per_class"] = LossClassifier(batch_sampler=MPerClassBatches(m=4))
    out["early_stopping"] = LossClassifier(early_stopping=True, dropout=0.2)
    out["reweighted_logreg"] = Reweighted(LogisticRegression(), _equity())
    return out


ESTIMATORS = _estimators()


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=120, n_features=5, weights=[0.75], random_state=0
    )


def _configure(estimator):
    if isinstance(estimator, LossClassifier):
        return estimator.set_params(
            max_epochs=3, hidden_layer_sizes=(8,), random_state=0
        )
    return estimator


def _outputs(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_repeated_fits_are_identical(data, name):
    X, y = data
    first = _configure(ESTIMATORS[name]).fit(X, y)
    a = _outputs(first, X)
    b = _outputs(_configure(ESTIMATORS[name]).fit(X, y), X)
    assert_array_equal(a, b)


def test_n_jobs_does_not_change_results(data):
    # One test, so the loky workers start once.
    X, y = data
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    for name in ("cross_entropy", "anyloss", "ensloss", "reweighting"):
        est = _configure(ESTIMATORS[name])
        serial = cross_val_predict(est, X, y, cv=folds, method="predict_proba")
        parallel = cross_val_predict(
            est, X, y, cv=folds, n_jobs=2, method="predict_proba"
        )
        assert_array_equal(serial, parallel, err_msg=name)


LOAD_AND_PREDICT = """
import pickle, sys
import numpy as np
with open(sys.argv[1], "rb") as f:
    models, X = pickle.load(f)
outs = [m.predict_proba(X) if hasattr(m, "predict_proba") else m.predict(X)
        for m in models]
np.save(sys.argv[2], np.stack(outs))
"""


def test_pickle_round_trip_in_a_fresh_process(data, tmp_path):
    X, y = data
    names = ["cross_entropy", "aldr_kl", "generalized_focal", "reweighted_logreg"]
    models = [_configure(ESTIMATORS[name]).fit(X, y) for name in names]
    path, out = tmp_path / "models.pkl", tmp_path / "out.npy"
    with open(path, "wb") as f:
        pickle.dump((models, X), f)
    subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT, str(path), str(out)], check=True
    )
    expected = np.stack([_outputs(m, X) for m in models])
    assert_array_equal(np.load(out), expected)
    # Refitting an unpickled estimator gives the same model again.
    with open(path, "rb") as f:
        loaded, _ = pickle.load(f)
    for model, original in zip(loaded, models):
        assert_array_equal(_outputs(model.fit(X, y), X), _outputs(original, X))
