"""Data shared by the sampler and reweighter tests."""

import pytest
from sklearn.datasets import make_classification


@pytest.fixture(scope="session")
def data():
    """200 rows, 5 features, 80 % class 0. Do not modify in place."""
    return make_classification(
        n_samples=200,
        n_features=5,
        n_informative=3,
        n_redundant=0,
        weights=[0.8],
        random_state=0,
    )
