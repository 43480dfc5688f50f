"""Prediction through the engine: fixed-shape row chunks without padding, outputs
of any shape ``(n, ...)``, and chunks of whole groups."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from sklearn_losses import LossClassifier
from sklearn_losses.estimators._engine import PREDICT_CHUNK

C = PREDICT_CHUNK
SIZES = [1, 2, 7, C - 1, C, C + 1, 2 * C + 37]


class Calls(torch.nn.Module):
    """Wraps a module and records the number of rows of every call."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.rows = inner, []

    def forward(self, x):
        self.rows.append(x.shape[0])
        return self.inner(x)


class Grid(torch.nn.Module):
    """A row-wise module with outputs of shape (n, 2, 3): x[:, :1] * (1..6)."""

    def forward(self, x):
        return x[:, :1, None] * torch.arange(1.0, 7.0).reshape(1, 2, 3)


class GroupSize(torch.nn.Module):
    """Per row, how many rows of the call share its column-0 value (a module
    that reads a whole group at once)."""

    def forward(self, x):
        return (x[:, :1] == x[:, 0]).sum(0).float()[:, None]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2 * C + 37, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    clf = LossClassifier(max_epochs=2, hidden_layer_sizes=(16,), random_state=0)
    return clf.fit(X, y), X


@pytest.mark.parametrize("n", SIZES)
def test_every_call_has_the_chunk_shape(fitted, n):
    clf, X = fitted
    net = clf.net_
    mlp = net.module_
    net.module_ = Calls(mlp)
    try:
        out = net.forward_tensor(torch.as_tensor(X[:n]))
        calls = net.module_.rows
    finally:
        net.module_ = mlp
    assert out.shape[0] == n
    assert set(calls) == {C}
    assert len(calls) == max(1, -(-n // C))  # no call beyond what the rows need


@pytest.mark.parametrize("n", SIZES)
def test_a_row_predicts_the_same_alone_or_with_any_others(fitted, n):
    clf, X = fitted
    full = clf.predict_proba(X)
    part = clf.predict_proba(X[-n:])
    assert_array_equal(part, full[-n:])
    for i in (0, n // 2, n - 1):
        assert_array_equal(clf.predict_proba(X[-n:][i : i + 1]), part[i : i + 1])


@pytest.mark.parametrize("n", SIZES)
def test_outputs_of_any_shape(fitted, n):
    clf, X = fitted
    net = clf.net_
    mlp = net.module_
    net.module_ = Grid()
    try:
        out = clf._forward_numpy(X[:n])
    finally:
        net.module_ = mlp
    assert out.shape == (n, 2, 3)
    expected = X[:n, :1, None].astype(np.float64) * np.arange(1, 7).reshape(1, 2, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_groups_go_through_the_module_whole(fitted):
    clf, X = fitted
    n = len(X)
    groups = np.random.RandomState(1).randint(0, 40, size=n)
    X_groups = X.copy()
    X_groups[:, 0] = groups
    net = clf.net_
    mlp = net.module_
    net.module_ = GroupSize()
    try:
        out = clf._forward_numpy(X_groups, groups=groups)
    finally:
        net.module_ = mlp
    assert out.shape == (n, 1)
    assert_array_equal(out[:, 0], np.bincount(groups)[groups])


def test_groups_keep_rows_in_their_order(fitted):
    clf, X = fitted
    groups = np.repeat(np.arange(len(X) // 7 + 1), 7)[: len(X)]
    groups = groups[np.random.RandomState(2).permutation(len(X))]
    np.testing.assert_allclose(
        clf._forward_numpy(X, groups=groups), clf._forward_numpy(X), rtol=1e-5
    )
