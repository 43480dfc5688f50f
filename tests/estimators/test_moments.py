"""The input moments every fitted estimator keeps (for data-free model surgery)."""

import numpy as np

from sklearn_losses.estimators import _moments
from sklearn_losses.estimators._moments import input_moments


def test_moments_overall_and_per_class():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(500, 4)), rng.randint(0, 3, 500)
    m = input_moments(X, y, 3)
    np.testing.assert_allclose(m["mean"], X.mean(0))
    np.testing.assert_allclose(m["std"], X.std(0))
    np.testing.assert_allclose(m["cov"], np.cov(X, rowvar=False, bias=True))
    for k, c in enumerate(m["classes"]):
        assert c["count"] == np.sum(y == k)
        np.testing.assert_allclose(c["mean"], X[y == k].mean(0))
    assert input_moments(X, None)["classes"] is None


def test_large_inputs_are_read_at_an_even_stride(monkeypatch):
    monkeypatch.setattr(_moments, "MAX_ROWS", 100)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1000, 3)).astype(np.float32)
    y = np.repeat([0, 1], [900, 100])
    m = input_moments(X, y, 2)
    assert m["count"] == 1000 and m["classes"][0]["count"] == 900
    np.testing.assert_allclose(m["mean"], X[::10].astype(np.float64).mean(0))
    rows = np.flatnonzero(y == 0)[::9]
    np.testing.assert_allclose(
        m["classes"][0]["mean"], X[rows].astype(np.float64).mean(0)
    )
    np.testing.assert_allclose(
        m["classes"][1]["mean"], X[y == 1].astype(np.float64).mean(0)
    )
