"""``loss__*`` parameters across losses, and searches built by ``loss_param_grid``:
a loss's parameters do not break another loss, ``None`` unsets one, typos are
errors, and scipy distributions reach ``RandomizedSearchCV`` as distributions."""

import numbers
import warnings

import numpy as np
import pytest
from scipy.stats import loguniform, uniform
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier, loss_param_grid
from sklearn_losses.losses import CrossEntropyLoss, FocalLoss

SMALL = {"hidden_layer_sizes": (8,), "max_epochs": 3, "random_state": 0}


def small(**params):
    return LossClassifier(**{**SMALL, **params})


class ScaledCE(CrossEntropyLoss):
    """An unregistered loss with a parameter no registered loss has."""

    name = "_test_scaled_ce"

    def __init__(self, *, term_scale=1.0, label_smoothing=0.0, reduction="mean"):
        super().__init__(label_smoothing=label_smoothing, reduction=reduction)
        self.term_scale = term_scale

    def loss_terms(self, input, target, **context):
        return self.term_scale * super().loss_terms(input, target, **context)


def _no_user_warning():
    """A context in which a UserWarning fails the test."""
    return warnings.catch_warnings(action="error", category=UserWarning)


# -- a loss's parameters do not break another loss -------------------------------
@pytest.mark.parametrize(
    ("base", "losses"),
    [
        ({"loss": "focal", "loss__gamma": 3.0}, ["focal", "cross_entropy"]),
        ({"loss": "anyloss", "loss__metric": "accuracy"}, ["anyloss", "focal"]),
        ({"loss": FocalLoss, "loss__gamma": 0.5}, [FocalLoss, CrossEntropyLoss]),
    ],
    ids=["focal_gamma", "anyloss_metric", "classes"],
)
def test_grid_over_losses_keeps_base_loss_params_to_their_loss(
    binary_data, base, losses
):
    X, y = binary_data
    search = GridSearchCV(small(**base), {"loss": losses}, cv=2)
    with pytest.warns(UserWarning, match=r"loss__\w+.*ignored"):
        search.fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    # The parameter still reaches its own loss.
    name, value = next((k, v) for k, v in base.items() if k.startswith("loss__"))
    refit = clone(search.estimator).set_params(loss=losses[0]).fit(X, y)
    assert getattr(refit.loss_, name[len("loss__") :]) == value


def test_param_of_another_loss_is_dropped_with_a_warning(binary_data):
    X, y = binary_data
    clf = small(loss="cross_entropy", loss__gamma=3.0)
    with pytest.warns(UserWarning, match=r"loss__gamma.*'cross_entropy'.*'focal'"):
        clf.fit(X, y)
    assert isinstance(clf.loss_, CrossEntropyLoss)
    assert clf.get_params()["loss__gamma"] == 3.0  # kept for the next loss


def test_param_of_another_loss_on_an_instance(binary_data):
    X, y = binary_data
    clf = small(loss=FocalLoss(gamma=1.0), loss__metric="f1", loss__alpha=0.25)
    with pytest.warns(UserWarning, match=r"loss__metric.*'focal'.*'anyloss'"):
        clf.fit(X, y)
    assert (clf.loss_.gamma, clf.loss_.alpha) == (1.0, 0.25)


def test_set_params_none_unsets_a_loss_param(binary_data):
    X, y = binary_data
    clf = small(loss="focal", loss__gamma=3.0)
    clf.set_params(loss="cross_entropy", loss__gamma=None)
    with _no_user_warning():
        clf.fit(X, y)
    assert isinstance(clf.loss_, CrossEntropyLoss)
    # Back on focal, the loss's default applies.
    with _no_user_warning():
        clf.set_params(loss="focal").fit(X, y)
    assert clf.loss_.gamma == FocalLoss().gamma


def test_none_unsets_an_override_of_an_instance(binary_data):
    X, y = binary_data
    clf = small(loss=FocalLoss(gamma=1.0), loss__gamma=3.0)
    assert clf.set_params(loss__gamma=None).fit(X, y).loss_.gamma == 1.0


def test_unset_param_round_trips_through_clone():
    clf = small(loss="focal", loss__gamma=3.0).set_params(loss__gamma=None)
    params = clf.get_params()
    assert params["loss__gamma"] is None
    assert clone(clf).get_params() == params
    assert clone(clf).set_params(**params).get_params() == params


@pytest.mark.parametrize(
    ("loss", "pattern"),
    [
        ("cross_entropy", r"'gama'.*'gamma'.*'focal'.*label_smoothing, reduction"),
        ("focal", r"'gama'.*Did you mean 'gamma'.*alpha, gamma, reduction"),
    ],
)
def test_a_name_no_loss_has_is_an_error(binary_data, loss, pattern):
    X, y = binary_data
    with pytest.raises(ValueError, match=pattern):
        small(loss=loss, loss__gama=1.0).fit(X, y)


def test_a_name_no_loss_has_is_an_error_even_when_none(binary_data):
    X, y = binary_data
    with pytest.raises(ValueError, match="'gama'"):
        small(loss="focal", loss__gama=None).fit(X, y)


def test_unregistered_loss_class_keeps_its_own_params(binary_data):
    X, y = binary_data
    with _no_user_warning():
        clf = small(loss=ScaledCE, loss__term_scale=0.5).fit(X, y)
    assert clf.loss_.term_scale == 0.5
    # A name that no registered loss has is a typo for a registered loss.
    with pytest.raises(ValueError, match="'term_scale'"):
        small(loss="focal", loss__term_scale=0.5).fit(X, y)


# -- searches built by loss_param_grid --------------------------------------------
def test_randomized_search_samples_loss_param_distributions(binary_data):
    X, y = binary_data
    grid = loss_param_grid({"cross_entropy": {}, "focal": {"gamma": uniform(0, 3)}})
    search = RandomizedSearchCV(small(), grid, n_iter=4, cv=2, random_state=0)
    search.fit(X, y)
    gammas = [
        p["loss__gamma"] for p in search.cv_results_["params"] if "loss__gamma" in p
    ]
    assert gammas
    assert all(isinstance(g, numbers.Real) and 0 <= g <= 3 for g in gammas)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_randomized_search_samples_estimator_params_per_loss(binary_data):
    X, y = binary_data
    grid = loss_param_grid(
        {
            "cross_entropy": {"lr": loguniform(1e-3, 1e-1)},
            "focal": {"gamma": uniform(0, 3), "lr": loguniform(1e-3, 1e-1)},
        },
        prefix="lossclassifier__",
    )
    pipe = make_pipeline(StandardScaler(), small())
    search = RandomizedSearchCV(pipe, grid, n_iter=4, cv=2, random_state=0)
    search.fit(X, y)
    params = search.cv_results_["params"]
    lrs = [p["lossclassifier__lr"] for p in params]
    assert all(isinstance(lr, numbers.Real) and 1e-3 <= lr <= 1e-1 for lr in lrs)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_[-1]
    assert best.net_.lr == search.best_params_["lossclassifier__lr"]


def test_grid_search_with_estimator_params_per_loss(binary_data):
    X, y = binary_data
    grid = loss_param_grid(
        {
            "cross_entropy": {"lr": [0.01], "max_epochs": 2},
            "focal": {"gamma": [1.0], "lr": [0.02]},
        }
    )
    search = GridSearchCV(small(), grid, cv=2, error_score="raise").fit(X, y)
    got = {(p["loss"], p["lr"]) for p in search.cv_results_["params"]}
    assert got == {("cross_entropy", 0.01), ("focal", 0.02)}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
