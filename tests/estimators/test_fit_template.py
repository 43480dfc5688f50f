"""The fit template: estimator inputs, the grouped validation split, prefixes
per class, nested parameters of losses and batch plans, declared constraints."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV

from sklearn_losses import (
    GroupBatches,
    LossClassifier,
    LossRegressor,
    MPerClassBatches,
)
from sklearn_losses.estimators._base import BaseLossEstimator
from sklearn_losses.losses import BaseLoss, CrossEntropyLoss, register_loss
from sklearn_losses.losses._registry import _REGISTRY


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    return X, (X[:, 0] + 0.3 * rng.normal(size=120) > 0).astype(int)


def test_grouped_validation_split_keeps_every_group_on_one_side(xy, monkeypatch):
    X, y = xy
    groups = np.repeat([f"q{i}" for i in range(24)], 5)  # string ids
    seen = {}
    original = BaseLossEstimator._split_indices

    def spy(n, stratify, fraction, seed, groups=None):
        train, valid = original(n, stratify, fraction, seed, groups=groups)
        seen.update(train=train, valid=valid, groups=groups)
        return train, valid

    monkeypatch.setattr(BaseLossEstimator, "_split_indices", staticmethod(spy))
    LossClassifier(early_stopping=True, max_epochs=2, random_state=0).fit(
        X, y, groups=groups
    )
    train_groups = set(groups[seen["train"]])
    valid_groups = set(groups[seen["valid"]])
    assert train_groups and valid_groups and not train_groups & valid_groups
    # without groups the split is stratified by class, over rows
    LossClassifier(early_stopping=True, max_epochs=2, random_state=0).fit(X, y)
    assert seen["groups"] is None


def test_early_stopping_needs_two_groups(xy):
    X, y = xy
    with pytest.raises(ValueError, match="at least 2 groups"):
        LossRegressor(early_stopping=True, max_epochs=1).fit(
            X, X[:, 0], groups=np.zeros(120)
        )


class _SeesContext(CrossEntropyLoss):
    """Cross-entropy that records the keyword inputs it is called with."""

    seen = []

    def loss_terms(self, input, target, **context):
        _SeesContext.seen.append(sorted(context))
        return super().loss_terms(input, target)


def test_estimator_inputs_reach_the_estimator_not_the_loss(xy):
    X, y = xy
    _SeesContext.seen.clear()
    clf = LossClassifier(loss=_SeesContext(), max_epochs=1, batch_size=40)
    clf.fit(X, y, groups=np.arange(120) // 4)
    assert _SeesContext.seen and all(keys == [] for keys in _SeesContext.seen)
    # the loss's own inputs are still refused when it does not declare them
    with pytest.raises(TypeError, match=r"\['qid'\] .* does not take .*\['groups'\]"):
        clf.fit(X, y, qid=np.arange(120))


def test_groups_reach_a_group_plan_and_stay_whole(xy):
    X, y = xy
    groups = np.repeat(np.arange(30), 4)
    clf = LossClassifier(batch_sampler=GroupBatches(), batch_size=16, max_epochs=1)
    clf.fit(X, y, groups=groups)
    with pytest.raises(ValueError, match=r"needs \['groups'\]"):
        clf.fit(X, y)


def test_batch_sampler_parameters_are_settable_and_searchable(xy):
    X, y = xy
    clf = LossClassifier(batch_sampler=MPerClassBatches(m=2), max_epochs=1)
    assert clf.get_params()["batch_sampler__m"] == 2
    clf.set_params(**clf.get_params())  # round trip
    clone(clf).fit(X, y)
    search = GridSearchCV(clf, {"batch_sampler__m": [2, 4]}, cv=2).fit(X, y)
    assert [p["batch_sampler__m"] for p in search.cv_results_["params"]] == [2, 4]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    with pytest.raises(ValueError, match="batch_sampler__\\* parameters .* BatchPlan"):
        LossClassifier(batch_sampler="random", batch_sampler__m=2).fit(X, y)


class _Miner(BaseEstimator):
    def __init__(self, epsilon=0.1, margin=1.0):
        self.epsilon = epsilon
        self.margin = margin


_DEFAULT_MINER = _Miner()


@pytest.fixture
def loss_with_a_miner():
    @register_loss
    class _MinedLoss(CrossEntropyLoss):
        name = "_test_mined"
        aliases = ()

        def __init__(self, *, miner=_DEFAULT_MINER, reduction="mean"):
            super().__init__(reduction=reduction)
            self.miner = miner

    yield _MinedLoss
    del _REGISTRY["_test_mined"]


def test_nested_loss_parameters(xy, loss_with_a_miner):
    X, y = xy
    clf = LossClassifier(loss="_test_mined", loss__miner__epsilon=0.5, max_epochs=1)
    clf.fit(X, y)
    miner = clf.loss_.miner
    assert (miner.epsilon, miner.margin) == (0.5, 1.0)
    assert loss_with_a_miner.__init__.__kwdefaults__["miner"].epsilon == 0.1
    # on a miner given as a parameter, and in a grid
    clf.set_params(loss__miner=_Miner(margin=3.0))
    assert (clf.fit(X, y).loss_.miner.epsilon, clf.loss_.miner.margin) == (0.5, 3.0)
    search = GridSearchCV(clf, {"loss__miner__epsilon": [0.2, 0.3]}, cv=2).fit(X, y)
    assert search.best_estimator_.loss_.miner.epsilon in (0.2, 0.3)
    with pytest.raises(ValueError, match="miner__\\* parameter"):
        LossClassifier(loss="_test_mined", loss__miner__nope=1).fit(X, y)
    with pytest.raises(ValueError, match="'reduction'.* an object with set_params"):
        LossClassifier(loss="_test_mined", loss__reduction__x=1).fit(X, y)
    with pytest.raises(ValueError, match="'nope' is not a parameter"):
        LossClassifier(loss="_test_mined", loss__nope__x=1).fit(X, y)


def test_prefixes_are_declared_per_class(xy):
    X, y = xy
    assert "reweighter" in LossClassifier.prefixes
    assert "reweighter" not in LossRegressor.prefixes
    with pytest.raises(TypeError, match="unexpected parameter 'reweighter__x'"):
        LossRegressor(reweighter__x=1, max_epochs=1).fit(X, X[:, 0])


def test_constraints_merge_along_the_class_hierarchy():
    base = BaseLossEstimator._all_constraints()
    clf = LossClassifier._all_constraints()
    reg = LossRegressor._all_constraints()
    assert set(base) < set(clf) and set(base) < set(reg)
    assert "class_weight" in clf and "standardize_target" in reg
    # the classifier's batch_sampler replaces the base one (class plans)
    assert clf["batch_sampler"]("balanced") and not base["batch_sampler"]("balanced")
    assert not reg["batch_sampler"](0.3)


@pytest.mark.parametrize(
    "estimator, match",
    [
        (
            LossRegressor(batch_sampler="balanced"),
            "batch_sampler must be 'auto', 'random'",
        ),
        (LossRegressor(lr=0), "lr must be a float > 0"),
        (LossClassifier(class_weight="weird"), "class_weight must be None, 'balanced'"),
        (LossClassifier(batch_sampler=1.5), "batch_sampler must be 'auto'"),
    ],
)
def test_declared_constraints_name_the_parameter(xy, estimator, match):
    X, y = xy
    with pytest.raises(ValueError, match=match):
        estimator.set_params(max_epochs=1).fit(X, y)


def test_a_new_loss_of_another_base_class_is_checked_against_the_task(xy):
    X, y = xy

    class Unregistered(BaseLoss):
        tasks = frozenset({"regression"})

        def loss_terms(self, input, target):
            return (input.reshape(-1) - target) ** 2

    LossRegressor(loss=Unregistered(), max_epochs=1).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="supports \\['regression'\\]"):
        LossClassifier(loss=Unregistered(), max_epochs=1).fit(X, y)


def test_groups_are_routed_through_a_search_with_metadata_routing(xy):
    """groups is a fit parameter of its own: a GroupKFold search can route it to
    the splitter and to a GroupBatches plan."""
    import sklearn
    from sklearn.model_selection import GroupKFold

    X, y = xy
    groups = np.repeat(np.arange(24), 5)
    with sklearn.config_context(enable_metadata_routing=True):
        clf = LossClassifier(
            batch_sampler=GroupBatches(), batch_size=20, max_epochs=1, random_state=0
        ).set_fit_request(groups=True)
        search = GridSearchCV(clf, {"lr": [1e-3, 1e-2]}, cv=GroupKFold(3))
        search.fit(X, y, groups=groups)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_a_class_plan_is_refused_for_a_target_without_classes(xy):
    from sklearn_losses import ClassShareBatches, StratifiedBatches

    X, _ = xy
    for plan in (StratifiedBatches(), ClassShareBatches(), MPerClassBatches(m=2)):
        with pytest.raises(ValueError, match="needs class labels; this target has"):
            LossRegressor(batch_sampler=plan, max_epochs=1).fit(X, X[:, 0])


def test_a_plan_parameter_set_to_none_leaves_the_plans_own(xy):
    X, y = xy
    clf = LossClassifier(batch_sampler=MPerClassBatches(m=2), max_epochs=1)
    clf.set_params(batch_sampler__m=3, batch_sampler=MPerClassBatches(m=5))
    assert clf._batch_plan(CrossEntropyLoss(), 120, 2)[1].m == 3
    clf.set_params(batch_sampler__m=None)
    assert clf._batch_plan(CrossEntropyLoss(), 120, 2)[1].m == 5


def test_a_warm_fit_takes_this_fits_epochs_batch_size_lr_and_early_stopping(xy):
    X, y = xy
    clf = LossClassifier(warm_start=True, max_epochs=2, random_state=0).fit(X, y)
    state = clf.net_.optimizer_.state_dict()["state"]
    clf.set_params(max_epochs=3, lr=0.05, batch_size=16, early_stopping=True)
    clf.fit(X, y)
    assert len(clf.history_) == 5
    assert clf.net_.batch_size == 16
    assert [g["lr"] for g in clf.net_.optimizer_.param_groups] == [0.05]
    assert "early_stopping" in dict(clf.net_.callbacks_)
    assert "valid_loss" in clf.history_[-1]
    assert clf.net_.optimizer_.state_dict()["state"].keys() == state.keys()
