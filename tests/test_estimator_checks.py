"""scikit-learn's estimator checks on LossClassifier with every registered loss."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossClassifier
from sklearn_losses.losses import list_losses

CLASSIFICATION_LOSSES = sorted(
    set(list_losses("binary")) | set(list_losses("multiclass"))
)

EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 training: weighted and repeated-row fits agree to about 1e-7, the "
        "check asks rtol=1e-7 (tests/estimators checks it at rtol=1e-4)"
    ),
}


# Per loss: checks whose premise does not hold for that loss, with the reason.
EXPECTED_FAILED_BY_LOSS = {
    "anyloss": {
        "check_class_weight_classifiers": (
            "class weights cancel in AnyLoss's per-class ratios (balanced accuracy, "
            "G-mean) and F1's pull on false positives scales with TP, which weights "
            "{1: 1e-4} make ~0; test_anyloss_core.py checks weighted counts"
        ),
    },
}


def _expected_failed(estimator):
    return {**EXPECTED_FAILED_CHECKS, **EXPECTED_FAILED_BY_LOSS.get(estimator.loss, {})}


# Cheaper settings where a loss's own cost is not what the checks are about.
CHECK_PARAMS = {"adv_comp_sum": {"loss__steps": 2}}


@parametrize_with_checks(
    [
        LossClassifier(loss=name, random_state=0, **CHECK_PARAMS.get(name, {}))
        for name in CLASSIFICATION_LOSSES
    ],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
