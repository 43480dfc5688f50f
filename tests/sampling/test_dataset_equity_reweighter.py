"""DatasetEquityReweighter: likelihoods, weights, resampling, imblearn pipeline."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from sklearn_losses.losses.dataset_equity import dequity_weights
from sklearn_losses.sampling import DatasetEquityReweighter, cluster_likelihood

LABELS = [0, 0, 0, 0, 1, 1, 2, -1, -1]


class FixedLabels:
    """A clusterer returning fixed labels (not an sklearn estimator)."""

    def __init__(self, labels):
        self.labels = labels

    def fit_predict(self, X):
        return np.asarray(self.labels)


class FitOnlyLabels:
    """A clusterer with fit and labels_ only."""

    def __init__(self, labels):
        self.labels = labels

    def fit(self, X):
        self.labels_ = np.asarray(self.labels)
        return self


@pytest.fixture(scope="module")
def blobs():
    """A big, a medium and a small blob (200 rows)."""
    X, y = make_blobs(
        [120, 60, 20],
        centers=[[0, 0, 0], [10, 10, 10], [-10, 10, -10]],
        cluster_std=0.5,
        random_state=0,
    )
    return X, y


def test_reference_weights():
    p = [0.01, 0.2, 0.5, 1.0]
    assert_allclose(
        dequity_weights(p, 1.0, 5.0), [0.975495, 0.663840, 0.515625, 0.5], atol=1e-6
    )
    assert_allclose(
        dequity_weights(p, 0.5, 5.0),
        [0.967327, 0.551787, 0.354167, 0.333333],
        atol=1e-6,
    )
    assert_allclose(dequity_weights(p, 0.0, 2.0), [0.9801, 0.64, 0.25, 0.0], atol=1e-9)


@pytest.mark.parametrize(
    "noise_as_cluster, expected",
    [
        (False, [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25]),
        (True, [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.5, 0.5]),
    ],
)
def test_cluster_likelihood_reference(noise_as_cluster, expected):
    assert_allclose(cluster_likelihood(LABELS, noise_as_cluster), expected)


def test_cluster_likelihood_noise_largest():
    labels = [0, 0, 1, -1, -1, -1, -1]
    # Singletons: noise excluded from the max (largest real cluster = 2).
    assert_allclose(cluster_likelihood(labels), [1, 1, 0.5, 0.5, 0.5, 0.5, 0.5])
    # Noise as one cluster larger than any real one: excluded from the max, p <= 1.
    assert_allclose(cluster_likelihood(labels, True), [1, 1, 0.5, 1, 1, 1, 1])
    # All noise.
    assert_allclose(cluster_likelihood([-1, -1, -1]), [1, 1, 1])
    assert_allclose(cluster_likelihood([-1, -1, -1], True), [1, 1, 1])


def test_cluster_likelihood_bad_labels():
    with pytest.raises(ValueError, match="integers"):
        cluster_likelihood([0.5, 1.0])
    with pytest.raises(ValueError, match="1-d"):
        cluster_likelihood([])


@pytest.mark.parametrize("cls", [FixedLabels, FitOnlyLabels])
@pytest.mark.parametrize("noise_as_cluster", [False, True])
def test_fit_with_fixed_clustering(cls, noise_as_cluster):
    X = np.random.RandomState(0).normal(size=(9, 4))
    rw = DatasetEquityReweighter(
        reducer="pca", clusterer=cls(LABELS), noise_as_cluster=noise_as_cluster
    ).fit(X)
    expected = cluster_likelihood(LABELS, noise_as_cluster)
    assert_allclose(rw.likelihood_, expected)
    assert_allclose(rw.weights_, dequity_weights(expected, 1.0, 5.0))
    assert_array_equal(rw.labels_, LABELS)
    assert rw.n_features_in_ == 4
    assert_allclose(rw.compute_likelihood(X), expected)
    assert_allclose(rw.compute_weights(X), rw.weights_)


def test_default_dbscan_finds_blobs(blobs):
    X, y = blobs
    rw = DatasetEquityReweighter(reducer="pca").fit(X)
    assert_allclose(rw.likelihood_[y == 0], 1.0)
    assert_allclose(rw.likelihood_[y == 1], 0.5)
    assert_allclose(rw.likelihood_[y == 2], 20 / 120)
    assert rw.weights_[y == 2].min() > rw.weights_[y == 1].max()
    assert rw.weights_[y == 1].min() > rw.weights_[y == 0].max()


def test_reducer_none_and_custom_parts(blobs):
    X, y = blobs
    rw = DatasetEquityReweighter(
        embedding=PCA(2), reducer=None, clusterer=KMeans(3, n_init=3, random_state=0)
    ).fit(X)
    assert_allclose(np.unique(rw.likelihood_), [20 / 120, 0.5, 1.0])
    # The parameter objects are cloned, never fitted in place.
    assert not hasattr(rw.clusterer, "labels_")
    assert not hasattr(rw.embedding, "components_")


def test_tsne_reducer():
    X, y = make_blobs(
        [100, 30], centers=[[0] * 4, [20] * 4], cluster_std=0.5, random_state=1
    )
    # t-SNE spreads 130 points far beyond DBSCAN's eps=1: all noise, a warning.
    with pytest.warns(UserWarning, match="noise"):
        rw = DatasetEquityReweighter(reducer="tsne", random_state=0).fit(X)
    assert_allclose(rw.likelihood_, 1.0)
    # Another clusterer on the t-SNE coordinates.
    km = KMeans(2, n_init=3, random_state=0)
    rw = DatasetEquityReweighter(reducer="tsne", clusterer=km, random_state=0)
    rw.fit(X)
    assert set(rw.labels_.tolist()) == {0, 1}
    assert rw.likelihood_.max() == 1.0 and rw.likelihood_.min() < 1.0


def test_tsne_low_dimensional_embedding():
    X, _ = make_blobs([40, 20], n_features=2, random_state=0)
    km = KMeans(2, n_init=3, random_state=0)
    rw = DatasetEquityReweighter(reducer="tsne", clusterer=km, random_state=0)
    assert rw.fit(X).likelihood_.shape == (60,)


def test_fit_resample(blobs):
    X, y = blobs
    rw = DatasetEquityReweighter(reducer="pca", random_state=0)
    X_res, y_res = rw.fit_resample(X, y)
    assert X_res.shape == X.shape and y_res.shape == y.shape
    idx = rw.sample_indices_
    assert idx.shape == (200,) and idx.min() >= 0 and idx.max() < 200
    assert_array_equal(X_res, X[idx])
    assert_array_equal(y_res, y[idx])
    # Same seed, same draw.
    X_res2, _ = clone(rw).fit_resample(X, y)
    assert_array_equal(X_res, X_res2)
    # The rare blob is over-represented relative to its share.
    assert np.mean(y_res == 2) > np.mean(y == 2)
    assert not hasattr(DatasetEquityReweighter(reducer="pca").fit(X), "sample_indices_")


def test_fit_resample_keeps_dataframe(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    Xdf = pd.DataFrame(X, columns=["a", "b", "c"])
    ys = pd.Series(y, name="t")
    rw = DatasetEquityReweighter(reducer="pca", random_state=0)
    X_res, y_res = rw.fit_resample(Xdf, ys)
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == ["a", "b", "c"]
    assert isinstance(y_res, pd.Series)
    assert_array_equal(rw.feature_names_in_, ["a", "b", "c"])


def test_imblearn_pipeline(blobs):
    from imblearn.pipeline import make_pipeline

    X, y = blobs
    pipe = make_pipeline(
        StandardScaler(),
        DatasetEquityReweighter(reducer="pca", random_state=0),
        LogisticRegression(),
    )
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (200,)
    assert pipe.score(X, y) > 0.9
    assert pipe.steps[1][1].sample_indices_.shape == (200,)


def test_nan_in_X():
    X = np.ones((20, 3))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        DatasetEquityReweighter(reducer="pca").fit(X)
    with pytest.raises(ValueError, match="X"):
        DatasetEquityReweighter(reducer="pca").fit_resample(X, np.zeros(20))


def test_all_weights_zero():
    X = np.random.RandomState(0).normal(size=(9, 2))
    rw = DatasetEquityReweighter(clusterer=FixedLabels([0] * 9), eta=0.0)
    with pytest.raises(ValueError, match="zero"):
        rw.fit(X)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"reducer": "umap"}, "reducer"),
        ({"reducer": 3}, "reducer"),
        ({"eta": -1.0}, "eta"),
        ({"gamma": float("nan")}, "gamma"),
        ({"gamma": "5"}, "gamma"),
        ({"noise_as_cluster": "yes"}, "noise_as_cluster"),
        ({"embedding": "pca"}, "embedding"),
        ({"clusterer": 3}, "clusterer"),
    ],
)
def test_invalid_params(params, name):
    X = np.random.RandomState(0).normal(size=(20, 3))
    rw = DatasetEquityReweighter(**params)  # no validation at construction
    with pytest.raises(ValueError, match=name):
        rw.fit(X)


def test_bad_clusterer_output_and_shapes():
    X = np.random.RandomState(0).normal(size=(9, 2))
    with pytest.raises(ValueError, match="one label per sample"):
        DatasetEquityReweighter(clusterer=FixedLabels([0, 1])).fit(X)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DatasetEquityReweighter(
            reducer="pca", clusterer=FixedLabels(LABELS)
        ).fit_resample(X, np.zeros(5))
    with pytest.raises(ValueError, match="needs y"):
        DatasetEquityReweighter(reducer="pca").fit_resample(X, None)


def test_imblearn_pipeline_grid_search(blobs):
    from imblearn.pipeline import make_pipeline
    from sklearn.model_selection import GridSearchCV

    X, y = blobs
    pipe = make_pipeline(
        DatasetEquityReweighter(reducer="pca", random_state=0), LogisticRegression()
    )
    grid = GridSearchCV(pipe, {"datasetequityreweighter__gamma": [0.0, 5.0]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["datasetequityreweighter__gamma"] in (0.0, 5.0)
