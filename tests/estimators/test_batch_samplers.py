"""Batch samplers: stratified batches and fixed class shares per batch."""

import math

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_losses import LossClassifier
from sklearn_losses.estimators._engine import (
    proportion_permutation,
    stratified_permutation,
)


class BatchLabels(Callback):
    """Records the encoded labels of every training batch."""

    def initialize(self):
        self.batches_ = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.batches_.append(batch[1].numpy().copy())


def _labels(n_per_class, seed=0):
    y = np.concatenate([np.full(k, c) for c, k in enumerate(n_per_class)])
    return torch.as_tensor(np.random.RandomState(seed).permutation(y))


def _blocks(perm, y, size):
    labels = y[perm].numpy()
    return [labels[i : i + size] for i in range(0, len(labels), size)]


@pytest.mark.parametrize(
    "counts, shares",
    [
        ((900, 100), (0.5, 0.5)),
        ((900, 100), (0.7, 0.3)),
        ((100, 900), (0.5, 0.5)),  # the positives are the majority
        ((500, 300, 20), (1 / 3, 1 / 3, 1 / 3)),
        ((50, 50), (0.9, 0.1)),  # fewer positives than their natural share
    ],
)
def test_proportion_permutation_shares_and_coverage(counts, shares):
    y = _labels(counts)
    perm = proportion_permutation(y, shares, torch.Generator().manual_seed(0))
    m = max(math.ceil(n / s - 1e-9) for n, s in zip(counts, shares))
    assert perm.shape == (m,)
    # Every row at least once; the class that sets m exactly once.
    seen = np.bincount(perm.numpy(), minlength=len(y))
    assert seen.min() >= 1
    limiting = int(np.argmax([n / s for n, s in zip(counts, shares)]))
    assert np.all(seen[y.numpy() == limiting] == 1)
    # Repeats of a class differ by at most one between its rows (cycled shuffles).
    for c in range(len(counts)):
        per_row = seen[y.numpy() == c]
        assert per_row.max() - per_row.min() <= 1
    # Every block of b rows holds its share of each class, +-1.
    for b in (16, 64, 100):
        for block in _blocks(perm, y, b)[:-1]:
            for c, s in enumerate(shares):
                assert abs((block == c).sum() - s * b) <= 1.0 + 1e-9


def test_proportion_permutation_is_reproducible():
    y = _labels((90, 10))
    a = proportion_permutation(y, (0.5, 0.5), torch.Generator().manual_seed(3))
    b = proportion_permutation(y, (0.5, 0.5), torch.Generator().manual_seed(3))
    c = proportion_permutation(y, (0.5, 0.5), torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_stratified_permutation_blocks():
    y = _labels((950, 50))
    perm = stratified_permutation(y, torch.Generator().manual_seed(0))
    assert sorted(perm.tolist()) == list(range(1000))
    for block in _blocks(perm, y, 100):
        assert abs((block == 1).sum() - 5) <= 1


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
