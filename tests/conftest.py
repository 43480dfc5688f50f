"""Shared fixtures: estimator test data (session-scoped: never modify in place)
and one torch thread per test."""

import pytest
import torch
from sklearn.datasets import make_classification


@pytest.fixture(scope="session")
def binary_data():
    """200 rows, 5 features, two classes {0, 1}. Do not modify in place."""
    return make_classification(
        n_samples=200, n_features=5, n_informative=3, n_redundant=0, random_state=0
    )


@pytest.fixture(scope="session")
def imbalanced_data():
    """200 rows, 5 features, 80 % class 0. Do not modify in place."""
    return make_classification(
        n_samples=200,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        weights=[0.8],
        random_state=0,
    )


@pytest.fixture(scope="session")
def multiclass_data():
    """240 rows, 6 features, three classes {0, 1, 2}. Do not modify in place."""
    return make_classification(
        n_samples=240,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        random_state=1,
    )


@pytest.fixture(scope="session")
def separable_data():
    """An easy, well separated binary problem (200 rows)."""
    return make_classification(
        n_samples=200,
        n_features=4,
        n_informative=2,
        n_redundant=0,
        class_sep=3.0,
        flip_y=0.0,
        random_state=3,
    )


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The networks in the tests are tiny: extra intra-op threads only contend
    with the other xdist worker (10x slower fits on 2 cores). Restored after
    each test."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
