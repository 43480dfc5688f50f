"""batch_sampler of LossClassifier: names, shares and plans; stratified batches
and fixed class shares per batch. The plans themselves: tests/sampling."""

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from skorch.callbacks import Callback

from sklearn_losses import (
    ClassShareBatches,
    GroupBatches,
    LossClassifier,
    RandomBatches,
    StratifiedBatches,
    get_loss,
)


class BatchLabels(Callback):
    """Records the encoded labels of every training batch."""

    def initialize(self):
        self.batches_ = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.batches_.append(batch[1].numpy().copy())


@pytest.fixture(scope="module")
def imbalanced():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 4))
    y = np.where(rng.rand(500) < 0.1, "yes", "no")
    X[y == "yes"] += 1.0
    return X, y


def _fit_batches(X, y, **params):
    est = LossClassifier(
        max_epochs=2,
        hidden_layer_sizes=(4,),
        early_stopping=False,  # every row in the plan's batches
        random_state=0,
        callbacks=[("labels", BatchLabels())],
        **params,
    ).fit(X, y)
    return est, dict(est.net_.callbacks_)["labels"].batches_


@pytest.mark.parametrize("share", [0.5, 0.25])
def test_positive_share_per_batch(imbalanced, share):
    X, y = imbalanced
    est, batches = _fit_batches(X, y, batch_sampler=share, batch_size=64)
    n_neg = int((y == "no").sum())
    epoch = math.ceil(n_neg / (1 - share))
    assert sum(len(b) for b in batches) == 2 * epoch
    for b in batches[:-1]:
        if len(b) == 64:
            # classes_ = ["no", "yes"]: "yes" is encoded 1 (the positive class).
            assert abs(b.sum() - share * 64) <= 1
    assert est.predict(X).shape == (500,)


def test_balanced_multiclass(multiclass_data):
    X, y = multiclass_data
    y = np.where(y == 2, 2, np.where(np.arange(len(y)) % 4 == 0, 1, 0))
    counts = np.bincount(y)
    _, batches = _fit_batches(X, y, batch_sampler="balanced", batch_size=30)
    assert sum(len(b) for b in batches) == 2 * 3 * counts.max()
    for b in batches:
        if len(b) == 30:
            assert np.all(np.abs(np.bincount(b, minlength=3) - 10) <= 1)


def test_balanced_with_early_stopping_and_reweighting(imbalanced):
    X, y = imbalanced
    est = LossClassifier(
        batch_sampler="balanced",
        reweighting="linupper",
        early_stopping=True,
        max_epochs=3,
        random_state=0,
    ).fit(X, y)
    assert est.n_iter_ == 3


@pytest.mark.parametrize(
    "value, match",
    [
        (0.0, "batch_sampler must be"),
        (1.0, "batch_sampler must be"),
        (1.5, "batch_sampler must be"),
        (float("nan"), "batch_sampler must be"),
        (True, "batch_sampler must be"),
        ("dual", "batch_sampler must be"),
        (None, "batch_sampler must be"),
        (RandomBatches, "batch_sampler must be.*or a BatchPlan instance"),
    ],
)
def test_bad_batch_sampler(imbalanced, value, match):
    X, y = imbalanced
    with pytest.raises(ValueError, match=match):
        LossClassifier(batch_sampler=value, max_epochs=1).fit(X, y)


def test_share_needs_binary_target(multiclass_data):
    X, y = multiclass_data
    with pytest.raises(ValueError, match="needs a binary target.*'balanced'"):
        LossClassifier(batch_sampler=0.5, max_epochs=1).fit(X, y)


def test_fixed_shares_need_every_class_in_training_rows():
    X = np.random.RandomState(0).normal(size=(30, 2))
    y = np.r_[np.zeros(29), 1]
    # The single positive goes to the validation split.
    with pytest.raises(ValueError, match="needs every class"):
        LossClassifier(
            batch_sampler="balanced",
            early_stopping=True,
            validation_fraction=0.5,
            max_epochs=1,
            random_state=0,
        ).fit(X, y)


@pytest.mark.parametrize(
    "name, plan",
    [
        ("random", RandomBatches()),
        ("stratified", StratifiedBatches()),
        ("balanced", ClassShareBatches()),
        (0.3, ClassShareBatches((0.7, 0.3))),
    ],
)
def test_a_name_trains_as_its_plan(imbalanced, name, plan):
    X, y = imbalanced
    common = {"max_epochs": 2, "hidden_layer_sizes": (4,), "random_state": 0}
    by_name = LossClassifier(batch_sampler=name, **common).fit(X, y)
    by_plan = LossClassifier(batch_sampler=plan, **common).fit(X, y)
    assert_array_equal(by_name.predict_proba(X), by_plan.predict_proba(X))


def test_auto_is_random_or_stratified_by_loss(imbalanced):
    X, y = imbalanced
    common = {"max_epochs": 1, "hidden_layer_sizes": (4,), "random_state": 0}
    for loss, plan in (("cross_entropy", "random"), ("anyloss", "stratified")):
        auto = LossClassifier(loss=loss, **common).fit(X, y)
        named = LossClassifier(loss=loss, batch_sampler=plan, **common).fit(X, y)
        assert_array_equal(auto.predict_proba(X), named.predict_proba(X))


def test_the_plan_parameter_is_not_modified(imbalanced):
    X, y = imbalanced
    plan = ClassShareBatches()
    est = LossClassifier(batch_sampler=plan, max_epochs=1).fit(X, y)
    assert est.batch_sampler is plan and plan.get_params() == {"shares": "balanced"}


@pytest.mark.parametrize("name", ["stratified", "balanced", 0.5])
def test_plans_by_class_need_class_labels(name):
    # A target without classes (n_classes=None, as a regressor's) refuses them.
    est = LossClassifier(batch_sampler=name)
    loss = est._build_loss("binary")
    with pytest.raises(ValueError, match="needs class labels; this target has none"):
        est._batch_plan(loss, 100, None)
    # "auto" is random then, for batch-level losses too.
    est.set_params(batch_sampler="auto")
    _, plan = est._batch_plan(get_loss("anyloss"), 100, None)
    assert isinstance(plan, RandomBatches)


def test_group_batches_put_an_oversized_group_alone():
    groups = torch.tensor([0, 0, 0, 0, 0, 1, 1, 2])
    plan = GroupBatches(oversized="alone")
    batches = plan.batches(torch.zeros(8), groups, 3, torch.Generator().manual_seed(0))
    assert sorted(torch.cat(batches).tolist()) == list(range(8))
    for batch in batches:
        ids = groups[batch].unique()
        assert all(
            int((groups[batch] == g).sum()) == int((groups == g).sum()) for g in ids
        )
        assert len(batch) <= 3 or len(ids) == 1  # only the 5-row group exceeds 3
    assert any(len(b) == 5 for b in batches)
    with pytest.raises(ValueError, match="more than batch_size=3"):
        GroupBatches().batches(torch.zeros(8), groups, 3, torch.Generator())
    with pytest.raises(ValueError, match="oversized must be"):
        GroupBatches(oversized="x").batches(
            torch.zeros(8), groups, 3, torch.Generator()
        )
