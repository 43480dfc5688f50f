"""scikit-learn's and imbalanced-learn's estimator checks on the reweighter,
the sampler and the meta-estimator."""

import pytest
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses.sampling import DatasetEquityReweighter, LossReweighting, Reweighted

# The checks' tiny random data is often all DBSCAN noise (equal weights).
pytestmark = pytest.mark.filterwarnings(
    "ignore:The clusterer labelled every sample:UserWarning"
)


@parametrize_with_checks(
    [
        DatasetEquityReweighter(reducer="pca"),
        DatasetEquityReweighter(reducer="pca", sampling_strategy="per_class"),
        Reweighted(LogisticRegression(), DatasetEquityReweighter(reducer="pca")),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# The checks call fit_resample twice and compare: a fixed seed draws the same rows.
@imblearn_parametrize_with_checks(
    [
        DatasetEquityReweighter(reducer="pca", random_state=0),
        DatasetEquityReweighter(
            reducer="pca", sampling_strategy="per_class", random_state=0
        ),
    ],
    expected_failed_checks=lambda est: {
        "check_samplers_pandas_sparse": "sparse input is refused (the embedding, "
        "PCA and t-SNE of the likelihood need dense rows)",
    },
)
def test_imblearn_sampler_checks(estimator, check):
    check(estimator)


def test_loss_reweighting_is_clonable():
    from sklearn.base import clone

    rw = LossReweighting("quadratic", temperature=1.0, warmup=5)
    assert clone(rw).get_params() == rw.get_params()
