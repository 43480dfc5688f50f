"""scikit-learn's estimator checks on the reweighter and the meta-estimator."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses.sampling import DatasetEquityReweighter, Reweighted


# The checks' tiny random data is often all DBSCAN noise (equal weights).
@pytest.mark.filterwarnings("ignore:The clusterer labelled every sample:UserWarning")
@parametrize_with_checks(
    [
        DatasetEquityReweighter(reducer="pca"),
        Reweighted(LogisticRegression(), DatasetEquityReweighter(reducer="pca")),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
