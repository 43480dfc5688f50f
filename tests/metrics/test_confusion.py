"""Tests of the confusion-matrix metrics: the exact forms against scikit-learn
(and imbalanced-learn), the soft forms against the exact ones, soft_confusion,
make_confusion_metric and the name registry.

The exact metrics are compared on random labels: lengths 1 to 60, all-negative
and all-positive ``y_true``/``y_pred`` included, several label types and
``pos_label`` values, no/integer/float sample weights and every
``zero_division``. scikit-learn's metric functions cost milliseconds per call,
so the random cases are few but chosen to cover every regime.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from imblearn.metrics import geometric_mean_score
from scipy.special import expit, softmax
from sklearn import metrics as skm
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import UndefinedMetricWarning

from sklearn_losses.losses import AnyLoss
from sklearn_losses.metrics import (
    ACCURACY,
    BALANCED_ACCURACY,
    F05,
    F1,
    F2,
    GMEAN,
    INFORMEDNESS,
    JACCARD,
    MCC,
    PRECISION,
    RECALL,
    SOFT_EPS,
    SPECIFICITY,
    BalancedAccuracy,
    ConfusionMetric,
    GMean,
    Informedness,
    Jaccard,
    Precision,
    Recall,
    Specificity,
    get_metric,
    list_metrics,
    make_confusion_metric,
    soft_confusion,
)

F64 = torch.float64
ZERO_DIVISIONS = ["warn", 0.0, 1.0, np.nan]
BUILTINS = {
    "accuracy": ACCURACY,
    "balanced_accuracy": BALANCED_ACCURACY,
    "f0.5": F05,
    "f1": F1,
    "f2": F2,
    "gmean": GMEAN,
    "informedness": INFORMEDNESS,
    "jaccard": JACCARD,
    "mcc": MCC,
    "precision": PRECISION,
    "recall": RECALL,
    "specificity": SPECIFICITY,
}
# (labels as (negative, positive), pos_label is the second).
LABEL_SETS = [
    (0, 1),
    (1, 0),  # pos_label=0
    ("neg", "pos"),
    ("pos", "neg"),  # a string pos_label that sorts last
    (1, -1),
    (1, 2),
]
# Positive rates of y_true and y_pred: 0 and 1 give the all-negative and
# all-positive cases (zero divisions), None a random rate.
REGIMES = [(None, None), (0, None), (None, 0), (0, 0), (1, None), (None, 1), (1, 1)]
FBETA = {"f1": 1.0, "f0.5": 0.5, "f2": 2.0}


# -- helpers ----------------------------------------------------------------------
def _rate(rng, rate):
    return rng.uniform(0.1, 0.9) if rate is None else rate


def binary_case(case, weights):
    """Random binary labels for case number ``case``.

    ``weights``: None, "int" (0 to 3, zero weights included) or "float". The float
    weights are multiples of 1/8, whose sums are exact: scikit-learn derives TN by
    subtraction, so arbitrary floats would compare rounding residues.
    """
    rng = np.random.default_rng(1000 + case)
    neg, pos = LABEL_SETS[case % len(LABEL_SETS)]
    true_rate, pred_rate = REGIMES[case % len(REGIMES)]
    n = 1 if case % 11 == 5 else int(rng.integers(2, 61))
    y_true = np.where(rng.random(n) < _rate(rng, true_rate), pos, neg)
    y_pred = np.where(rng.random(n) < _rate(rng, pred_rate), pos, neg)
    if weights is None:
        w = None
    elif weights == "int":
        w = rng.integers(0, 4, n)
        w[0] = max(w[0], 1)
    else:
        w = rng.integers(1, 17, n) / 8.0
    return y_true, y_pred, w, pos, neg


def _class_weights_positive(y_true, w, classes):
    w = np.ones(len(y_true)) if w is None else np.asarray(w, dtype=float)
    return all(w[y_true == c].sum() > 0 for c in classes)


def sklearn_binary(name, y_true, y_pred, w, pos, neg, zero_division):
    """scikit-learn's (or imbalanced-learn's) value of the metric ``name``."""
    prf = {"sample_weight": w, "zero_division": zero_division}
    if name == "accuracy":
        return skm.accuracy_score(y_true, y_pred, sample_weight=w)
    if name == "precision":
        return skm.precision_score(y_true, y_pred, pos_label=pos, **prf)
    if name == "recall":
        return skm.recall_score(y_true, y_pred, pos_label=pos, **prf)
    if name == "specificity":
        return skm.recall_score(y_true, y_pred, pos_label=neg, **prf)
    if name in FBETA:
        return skm.fbeta_score(y_true, y_pred, beta=FBETA[name], pos_label=pos, **prf)
    if name == "jaccard":
        if isinstance(zero_division, float) and np.isnan(zero_division):
            # jaccard_score refuses nan: the value is defined iff it does not
            # depend on zero_division.
            at = [
                skm.jaccard_score(
                    y_true, y_pred, pos_label=pos, sample_weight=w, zero_division=z
                )
                for z in (0.0, 1.0)
            ]
            return at[0] if at[0] == at[1] else np.nan
        return skm.jaccard_score(y_true, y_pred, pos_label=pos, **prf)
    if name == "mcc":
        return skm.matthews_corrcoef(y_true, y_pred, sample_weight=w)
    if name == "balanced_accuracy":
        return skm.balanced_accuracy_score(y_true, y_pred, sample_weight=w)
    if name == "informedness":
        return skm.balanced_accuracy_score(
            y_true, y_pred, sample_weight=w, adjusted=True
        )
    if name == "gmean":
        if w is None:
            return geometric_mean_score(y_true, y_pred, average="binary", pos_label=pos)
        # imbalanced-learn 0.14 mishandles sample_weight in its binary G-mean
        # (values above 1); G-mean is sqrt(sensitivity * specificity).
        return np.sqrt(
            skm.recall_score(y_true, y_pred, pos_label=pos, sample_weight=w)
            * skm.recall_score(y_true, y_pred, pos_label=neg, sample_weight=w)
        )
    raise AssertionError(name)


def record(fn, *args, **kwargs):
    """``(fn(*args, **kwargs), whether an UndefinedMetricWarning was raised)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = fn(*args, **kwargs)
    return value, any(issubclass(c.category, UndefinedMetricWarning) for c in caught)


def assert_same(got, expected, context):
    if np.isnan(expected):
        assert np.isnan(got), context
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), context


# -- exact binary metrics == sklearn --------------------------------------------------
@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS, ids=str)
@pytest.mark.parametrize("weights", [None, "int", "float"], ids=str)
def test_binary_metrics_equal_sklearn(weights, zero_division):
    offset = 5 * ["warn", "0.0", "1.0", "nan"].index(str(zero_division))
    for case in range(offset, offset + 5):
        case += 100 * [None, "int", "float"].index(weights)
        y_true, y_pred, w, pos, neg = binary_case(case, weights)
        both = _class_weights_positive(y_true, w, (pos, neg))
        for name, metric in BUILTINS.items():
            if name in ("specificity", "informedness", "gmean") and not both:
                # compared below only where both classes are in y_true
                continue
            expected, sk_warned = record(
                sklearn_binary, name, y_true, y_pred, w, pos, neg, zero_division
            )
            got, warned = record(
                metric.score,
                y_true,
                y_pred,
                sample_weight=w,
                pos_label=pos,
                zero_division=zero_division,
            )
            context = (name, case, y_true.tolist(), y_pred.tolist(), w, pos)
            assert isinstance(got, float), context
            assert_same(got, expected, context)
            assert warned == sk_warned, context


@pytest.mark.parametrize("zero_division", ZERO_DIVISIONS, ids=str)
@pytest.mark.parametrize(
    "y_true, y_pred",
    [([0, 0, 0], [0, 0, 0]), ([0, 0, 0], [0, 1, 1]), ([0, 1, 0], [0, 0, 0])],
)
def test_zero_division_cases(y_true, y_pred, zero_division):
    """All-negative y_true and/or y_pred: the value and the warning of sklearn."""
    cases = {
        "precision": (PRECISION, skm.precision_score),
        "recall": (RECALL, skm.recall_score),
        "f1": (F1, skm.f1_score),
        "f2": (F2, lambda *a, **k: skm.fbeta_score(*a, beta=2.0, **k)),
    }
    if not (isinstance(zero_division, float) and np.isnan(zero_division)):
        cases["jaccard"] = (JACCARD, skm.jaccard_score)
    for name, (metric, sk) in cases.items():
        expected, sk_warned = record(sk, y_true, y_pred, zero_division=zero_division)
        got, warned = record(metric.score, y_true, y_pred, zero_division=zero_division)
        assert_same(got, expected, name)
        assert warned == sk_warned, name
    if zero_division == "warn" and not any(y_pred):
        with pytest.warns(UndefinedMetricWarning, match="precision is ill-defined"):
            assert PRECISION.score(y_true, y_pred) == 0.0


@pytest.mark.parametrize(
    "y_true, y_pred, w",
    [
        ([1, 1, 1, 1], [1, 0, 1, 1], None),
        ([0, 0, 0], [0, 1, 1], None),
        ([0, 0, 0], [0, 0, 0], None),
        ([1, 1, 1], [1, 1, 1], [0.5, 2.0, 1.0]),
        ([0, 1, 1, 0], [0, 1, 0, 1], [1.0, 0.0, 2.0, 0.0]),  # class 0 weighs 1
    ],
)
def test_balanced_accuracy_single_class_in_y_true(y_true, y_pred, w):
    """sklearn averages the recalls of the classes present in y_true only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # y_pred has more classes
        expected = skm.balanced_accuracy_score(y_true, y_pred, sample_weight=w)
    assert BALANCED_ACCURACY.score(y_true, y_pred, sample_weight=w) == pytest.approx(
        expected, abs=1e-15
    )


def test_mcc_undefined_is_zero_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert MCC.score([1, 1, 1], [1, 1, 1]) == 0.0
        assert MCC.score([0, 1, 1], [1, 1, 1]) == skm.matthews_corrcoef(
            [0, 1, 1], [1, 1, 1]
        )


def test_single_class_and_absent_pos_label_like_sklearn():
    """With one label present, a pos_label absent from the data is not an error
    in sklearn either: the metric is that of an absent class."""
    for metric, sk in ((PRECISION, skm.precision_score), (RECALL, skm.recall_score)):
        for zd in (0.0, 1.0):
            expected = sk([0, 0], [0, 0], pos_label=2, zero_division=zd)
            assert metric.score([0, 0], [0, 0], pos_label=2, zero_division=zd) == (
                expected
            )


def test_bool_and_float_labels():
    y_true = np.array([True, False, True, True, False])
    y_pred = np.array([True, True, False, True, False])
    assert F1.score(y_true, y_pred, pos_label=True) == skm.f1_score(y_true, y_pred)
    assert F1.score(y_true.astype(float), y_pred.astype(float)) == pytest.approx(
        skm.f1_score(y_true, y_pred)
    )


def test_float_weights_scaled_equal_unscaled():
    y_true, y_pred, w, pos, _ = binary_case(3, "float")
    for metric in BUILTINS.values():
        kwargs = {"pos_label": pos, "zero_division": 0.0}
        a = metric.score(y_true, y_pred, sample_weight=w, **kwargs)
        b = metric.score(y_true, y_pred, sample_weight=4 * w, **kwargs)
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), metric


# A package bug (see the report): with non-integer sample weights and no
# negative row in y_true, the TN count from sklearn's multilabel_confusion_matrix
# is a rounding residue (sum(w) - tp - fp - fn, here 2.2e-16), not 0, so every
# metric dividing by TN + FP (or TN + FN) misses its zero-division case.
_NO_NEG_TRUE = (np.ones(10, int), np.array([0] + [1] * 9), np.full(10, 0.1))


@pytest.mark.parametrize(
    "metric", [SPECIFICITY, BALANCED_ACCURACY, MCC, GMEAN], ids=lambda m: m.name
)
def test_float_weights_without_negatives(metric):
    y_true, y_pred, w = _NO_NEG_TRUE
    expected = {
        "specificity": skm.recall_score(
            y_true, y_pred, pos_label=0, sample_weight=w, zero_division=0.0
        ),
        "balanced_accuracy": 0.9,  # the recall of the only class in y_true
        "mcc": skm.matthews_corrcoef(y_true, y_pred, sample_weight=w),
        "gmean": 0.0,  # sqrt(recall * specificity), specificity -> zero_division
    }[metric.name]
    got = metric.score(y_true, y_pred, sample_weight=w, zero_division=0.0)
    assert got == pytest.approx(expected, abs=1e-12)


def test_float_weights_without_negatives_unit_weights_pass():
    """The same data with unit weights (exact counts) is right."""
    y_true, y_pred, _ = _NO_NEG_TRUE
    w = np.ones(10)
    assert SPECIFICITY.score(y_true, y_pred, sample_weight=w, zero_division=0.0) == 0
    assert BALANCED_ACCURACY.score(y_true, y_pred, sample_weight=w) == 0.9
    assert MCC.score(y_true, y_pred, sample_weight=w) == 0.0


# -- multiclass -------------------------------------------------------------------
MULTI = {
    "precision": (PRECISION, skm.precision_score),
    "recall": (RECALL, skm.recall_score),
    "f1": (F1, skm.f1_score),
    "f0.5": (F05, lambda *a, **k: skm.fbeta_score(*a, beta=0.5, **k)),
    "f2": (F2, lambda *a, **k: skm.fbeta_score(*a, beta=2.0, **k)),
    "jaccard": (JACCARD, skm.jaccard_score),
}


def multiclass_case(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(3, 6))
    classes = np.array(["u", "v", "x", "y", "z"][:k]) if seed % 2 else np.arange(k)
    n = int(rng.integers(1, 61))
    y_true = classes[rng.choice(k, n, p=rng.dirichlet(np.full(k, 0.7)))]
    y_pred = classes[rng.choice(k, n, p=rng.dirichlet(np.full(k, 0.7)))]
    w = [None, rng.integers(0, 4, n), rng.uniform(0.1, 2.0, n)][seed % 3]
    if w is not None and w.sum() == 0:
        w[0] = 1
    labels = list(rng.choice(classes, int(rng.integers(1, k + 1)), replace=False))
    if seed % 4 == 0:
        labels.append(classes[0] if seed % 2 == 0 else "absent")
        labels = list(dict.fromkeys(labels))
    return y_true, y_pred, w, labels


@pytest.mark.parametrize("name", list(MULTI))
def test_multiclass_averages_equal_sklearn(name):
    metric, sk = MULTI[name]
    for seed in range(4):
        y_true, y_pred, w, explicit = multiclass_case(10 * seed + len(name))
        zero_division = ["warn", 0.0, 1.0][seed % 3]
        for average in ("micro", "macro", "weighted", None):
            for labels in (None, explicit):
                kwargs = {
                    "sample_weight": w,
                    "average": average,
                    "labels": labels,
                    "zero_division": zero_division,
                }
                expected, sk_warned = record(sk, y_true, y_pred, **kwargs)
                got, warned = record(metric.score, y_true, y_pred, **kwargs)
                context = (name, seed, average, labels)
                if average is None:
                    assert isinstance(got, np.ndarray), context
                    np.testing.assert_allclose(
                        got, expected, rtol=1e-12, atol=1e-15, err_msg=str(context)
                    )
                else:
                    assert isinstance(got, float), context
                    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15), context
                assert warned == sk_warned, context


def test_multiclass_micro_precision_is_accuracy():
    y_true, y_pred, w, _ = multiclass_case(5)
    acc = skm.accuracy_score(y_true, y_pred, sample_weight=w)
    for metric in (PRECISION, RECALL, F1):
        assert metric.score(
            y_true, y_pred, sample_weight=w, average="micro"
        ) == pytest.approx(acc, rel=1e-12)


def test_multiclass_nan_zero_division_per_class_like_sklearn():
    y_true, y_pred = [0, 1, 2, 2], [0, 1, 1, 1]
    got = PRECISION.score(y_true, y_pred, average=None, zero_division=np.nan)
    expected = skm.precision_score(y_true, y_pred, average=None, zero_division=np.nan)
    np.testing.assert_array_equal(got, expected)  # [1, 1/3, nan]


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_multiclass_nan_zero_division_average(average):
    y_true, y_pred = [0, 1, 2], [0, 1, 1]
    expected = skm.precision_score(
        y_true, y_pred, average=average, zero_division=np.nan
    )
    assert expected == 0.75
    got = PRECISION.score(y_true, y_pred, average=average, zero_division=np.nan)
    assert got == expected


def test_weighted_average_zero_support():
    y_true, y_pred = [0, 0, 1], [2, 2, 1]
    kwargs = {"labels": [2], "average": "weighted", "zero_division": 1.0}
    expected = skm.precision_score(y_true, y_pred, **kwargs)  # 0.0: 0 of 2 right
    assert PRECISION.score(y_true, y_pred, **kwargs) == expected


# -- errors -----------------------------------------------------------------------
def test_binary_average_on_multiclass_raises():
    with pytest.raises(ValueError, match="multiclass"):
        F1.score([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError):
        skm.f1_score([0, 1, 2], [0, 1, 1])


@pytest.mark.parametrize("average", ["samples", "binary ", "MACRO", 1, ""])
def test_invalid_average_raises(average):
    with pytest.raises(ValueError, match="average"):
        F1.score([0, 1, 1], [0, 1, 0], average=average)


@pytest.mark.parametrize("zero_division", [2.0, -1, 0.5, "nan", "error", True, None])
def test_invalid_zero_division_raises(zero_division):
    with pytest.raises(ValueError, match="zero_division"):
        F1.score([0, 1, 1], [0, 1, 0], zero_division=zero_division)
    with pytest.raises(ValueError, match="zero_division"):
        F1.from_counts(1, 0, 0, 1, zero_division=zero_division)


@pytest.mark.parametrize(
    "y_true, y_pred, pos_label",
    [([0, 1, 1], [0, 1, 0], 2), (["a", "b"], ["a", "a"], "c"), ([0, 1], [1, 1], "1")],
)
def test_absent_pos_label_raises(y_true, y_pred, pos_label):
    with pytest.raises(ValueError, match="pos_label"):
        PRECISION.score(y_true, y_pred, pos_label=pos_label)


def test_bad_targets_raise():
    with pytest.raises(ValueError, match="same length"):
        F1.score([0, 1, 1], [0, 1])
    with pytest.raises(ValueError):
        F1.score([[0, 1], [1, 0]], [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="class labels"):
        F1.score([0.1, 0.7, 1.3], [0, 1, 1])
    with pytest.raises(ValueError, match="class labels"):
        F1.score([0, 1, 1], [0.2, 0.9, 0.4])
    with pytest.raises(ValueError):
        F1.score([0, 1, 1], ["a", "b", "a"])  # mixed label types


# -- soft metric -> exact metric as L grows ---------------------------------------
LS = [5.0, 20.0, 73.0, 500.0]


def _binary_soft_data(seed, n=50):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=4 * n)
    p = expit(z)
    p = p[np.abs(p - 0.5) >= 1e-2][:n]
    y = (rng.random(n) < p).astype(np.int64)
    return p, y


@pytest.mark.parametrize("name", list(BUILTINS))
def test_soft_binary_approaches_exact(name):
    metric = BUILTINS[name]
    errors = []
    for seed in range(12):
        p, y = _binary_soft_data(seed)
        pred = (p > 0.5).astype(np.int64)
        assert len(set(y)) == 2 and len(set(pred)) == 2  # every metric defined
        exact = metric.score(y, pred, zero_division=np.nan)
        assert np.isfinite(exact)
        pt, yt = torch.tensor(p, dtype=F64), torch.tensor(y)
        err = []
        for L in LS:
            value = metric.soft(*soft_confusion(pt, yt, L=L))
            assert value.dtype == F64
            err.append(abs(float(value) - exact))
        assert err[-1] < 1e-3, (seed, err)
        assert err[-1] < err[0], (seed, err)
        errors.append(err)
    mean = np.mean(errors, axis=0)
    assert np.all(np.diff(mean) < 0), mean


def _multiclass_soft_data(seed, n=60, k=3):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=(4 * n, k))
    p = softmax(z, axis=1)
    top2 = np.sort(p, axis=1)[:, -2:]
    p = p[(top2[:, 1] - top2[:, 0]) >= 0.05][:n]
    y = np.array([rng.choice(k, p=row) for row in p])
    return p, y


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_soft_multiclass_macro_approaches_exact(name):
    metric = BUILTINS[name]
    errors = []
    for seed in range(8):
        p, y = _multiclass_soft_data(seed)
        pred = p.argmax(axis=1)
        assert set(y) == set(pred) == {0, 1, 2}
        exact = metric.score(y, pred, average="macro", labels=[0, 1, 2])
        pt, yt = torch.tensor(p, dtype=F64), torch.tensor(y)
        err = []
        for L in LS:
            counts = soft_confusion(pt, yt, L=L)
            assert all(c.shape == (3,) for c in counts)
            err.append(abs(float(metric.soft(*counts).mean()) - exact))
        assert err[-1] < 1e-3, (seed, err)
        assert err[-1] < err[0], (seed, err)
        errors.append(err)
    mean = np.mean(errors, axis=0)
    assert np.all(np.diff(mean) < 0), mean


def test_soft_replaces_only_zero_counts():
    seen = []
    metric = make_confusion_metric(
        lambda tp, fp, fn, tn: seen.append((tp, fp, fn, tn)) or tp * 1.0, "probe"
    )
    seen.clear()  # the construction check called it once
    metric.soft(torch.tensor(1e-12, dtype=F64), 2.0, torch.zeros((), dtype=F64), 0.0)
    assert [float(v) for v in seen[0]] == [1e-12, 2.0, SOFT_EPS, SOFT_EPS]
    # No positives, no positive predictions: finite
    zero = torch.zeros((), dtype=F64)
    for metric in BUILTINS.values():
        assert torch.isfinite(metric.soft(zero, zero, zero, zero + 5))


def test_gmean_gradient_of_a_confident_false_negative_is_not_damped():
    """A shift of every count by SOFT_EPS would scale G-mean's gradient where TP
    is ~0; only exact zeros are replaced, so the gradient is the formula's."""
    tp = torch.tensor(1e-14, dtype=F64, requires_grad=True)
    fp, fn, tn = (torch.tensor(v, dtype=F64) for v in (1.0, 1.0, 3.0))
    GMEAN.soft(tp, fp, fn, tn).backward()
    expected = 0.5 * (0.75 / (1e-14 * 1.0)) ** 0.5  # d sqrt(tp * tnr / pos)
    assert float(tp.grad) == pytest.approx(expected, rel=1e-6)


def test_soft_on_exact_counts_is_the_exact_metric():
    y_true, y_pred, w, pos, _ = binary_case(0, "int")
    tp = float(np.sum(w * ((y_true == pos) & (y_pred == pos))))
    fp = float(np.sum(w * ((y_true != pos) & (y_pred == pos))))
    fn = float(np.sum(w * ((y_true == pos) & (y_pred != pos))))
    tn = float(np.sum(w * ((y_true != pos) & (y_pred != pos))))
    for metric in BUILTINS.values():
        exact = metric.score(y_true, y_pred, sample_weight=w, pos_label=pos)
        assert metric.from_counts(tp, fp, fn, tn) == pytest.approx(exact, abs=1e-12)
        soft = metric.soft(*(torch.tensor(v, dtype=F64) for v in (tp, fp, fn, tn)))
        assert float(soft) == pytest.approx(exact, abs=1e-8)


# -- soft_confusion --------------------------------------------------------------
def _probabilities(shape, seed=0):
    rng = np.random.default_rng(seed)
    if len(shape) == 1:
        p = torch.tensor(rng.uniform(0.01, 0.99, size=shape), dtype=F64)
        y = torch.tensor(rng.integers(0, 2, size=shape))
    else:
        p = torch.softmax(torch.tensor(rng.normal(size=shape), dtype=F64), dim=1)
        y = torch.tensor(rng.integers(0, shape[1], size=shape[0]))
    return p, y


@pytest.mark.parametrize("shape", [(9,), (9, 3)], ids=["binary", "multiclass"])
@pytest.mark.parametrize("L", [1.0, 10.0, 73.0])
def test_soft_confusion_weights(shape, L):
    p, y = _probabilities(shape)
    counts = torch.tensor([2, 0, 1, 3, 1, 0, 4, 1, 2])
    idx = torch.repeat_interleave(torch.arange(len(y)), counts)
    weighted = soft_confusion(p, y, L=L, sample_weight=counts.to(F64))
    repeated = soft_confusion(p[idx], y[idx], L=L)
    for a, b in zip(weighted, repeated):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # integer weight tensors are accepted as such
    for a, b in zip(soft_confusion(p, y, L=L, sample_weight=counts), weighted):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    plain = soft_confusion(p, y, L=L)
    total = sum(plain)
    torch.testing.assert_close(total, torch.full_like(total, float(len(y))))
    ones = soft_confusion(p, y, L=L, sample_weight=torch.ones(len(y), dtype=F64))
    for a, b in zip(plain, ones):
        torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-14)
    # float weights: totals and positives
    w = torch.linspace(0.25, 2.0, len(y), dtype=F64)
    tp, fp, fn, tn = soft_confusion(p, y, L=L, sample_weight=w)
    total = tp + fp + fn + tn
    torch.testing.assert_close(total, torch.full_like(total, float(w.sum())))
    if len(shape) == 1:
        positives = (w * y).sum()
    else:
        positives = torch.stack([(w * (y == k)).sum() for k in range(shape[1])])
    torch.testing.assert_close(tp + fn, positives.to(F64))
    assert torch.all(tp >= 0) and torch.all(fp >= 0) and torch.all(fn >= 0)


def test_soft_confusion_binary_formulas():
    p = torch.tensor([0.8, 0.4, 0.6, 0.3], dtype=F64)
    y = torch.tensor([1, 0, 1, 0])
    tp, fp, fn, tn = soft_confusion(p, y, L=10.0)
    # the spec's reference counts
    assert [float(v) for v in (tp, fp, fn, tn)] == pytest.approx(
        [1.683633, 0.388144, 0.316367, 1.611856], abs=1e-6
    )
    a = 1 / (1 + np.exp(-10.0 * (p.numpy() - 0.5)))
    assert float(tp) == pytest.approx(float(np.sum(y.numpy() * a)), rel=1e-14)
    assert float(tn) == pytest.approx(
        float(np.sum((1 - y.numpy()) * (1 - a))), rel=1e-12
    )


def test_soft_confusion_multiclass_k2_matches_binary():
    """For K=2 the softmax amplifier of (1-p, p) is the binary amplifier of p."""
    p, y = _probabilities((11,), seed=3)
    p2 = torch.stack([1 - p, p], dim=1)
    binary = soft_confusion(p, y, L=10.0)
    multi = soft_confusion(p2, y, L=10.0)
    for b, m in zip(binary, multi):
        torch.testing.assert_close(m[1], b, rtol=1e-12, atol=1e-12)
    # class 0's one-vs-rest counts are the binary counts mirrored
    tp, fp, fn, tn = binary
    for b, m in zip((tn, fn, fp, tp), multi):
        torch.testing.assert_close(m[0], b, rtol=1e-12, atol=1e-12)


def test_soft_confusion_is_differentiable():
    p, y = _probabilities((7,), seed=4)
    p.requires_grad_(True)
    tp, fp, fn, tn = soft_confusion(p, y, L=10.0)
    (tp - fp).backward()
    assert torch.all(torch.isfinite(p.grad)) and torch.any(p.grad != 0)


# -- make_confusion_metric, get_metric, list_metrics ------------------------------
class Echo(ClassifierMixin, BaseEstimator):
    """A classifier predicting the first column of X."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.asarray(X)[:, 0]


def _informedness_by_hand(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tpr = np.mean(y_pred[y_true == 1] == 1)
    tnr = np.mean(y_pred[y_true == 0] == 0)
    return tpr + tnr - 1


def test_make_confusion_metric_user_lambda():
    metric = make_confusion_metric(
        lambda tp, fp, fn, tn: tp / (tp + fn) + tn / (tn + fp) - 1,
        name="my_informedness",
    )
    assert isinstance(metric, ConfusionMetric)
    assert metric.name == "my_informedness" and metric.higher_is_better
    assert repr(metric) == "ConfusionMetric('my_informedness')"
    rng = np.random.default_rng(0)
    for _ in range(5):
        y_true = rng.integers(0, 2, 40)
        y_pred = rng.integers(0, 2, 40)
        assert metric.score(y_true, y_pred) == pytest.approx(
            _informedness_by_hand(y_true, y_pred), abs=1e-12
        )
        assert metric(y_true, y_pred) == metric.score(y_true, y_pred)
    assert metric.from_counts(3, 1, 1, 5) == pytest.approx(0.75 + 5 / 6 - 1)
    # soft form on tensors, with gradient
    counts = [torch.tensor(v, dtype=F64, requires_grad=True) for v in (3, 1, 1, 5)]
    soft = metric.soft(*counts)
    assert soft.item() == pytest.approx(0.75 + 5 / 6 - 1, abs=1e-8)
    soft.backward()
    assert counts[0].grad is not None and float(counts[0].grad) > 0
    # loss: an AnyLoss on this metric
    loss = AnyLoss(metric=metric, L=10.0)
    assert isinstance(loss, AnyLoss)
    assert loss.metric is metric and loss.L == 10.0
    z = torch.tensor([2.0, -1.0, 0.5, -3.0], dtype=F64)
    y = torch.tensor([1, 0, 0, 0])
    p = torch.sigmoid(z)
    expected = 1 - metric.soft(*soft_confusion(p, y, L=10.0))
    torch.testing.assert_close(loss(z, y), expected)
    # the scorer, on a fitted-looking estimator
    scorer = metric.scorer()

    y_true, y_pred = rng.integers(0, 2, 30), rng.integers(0, 2, 30)
    echo = Echo().fit(y_pred.reshape(-1, 1), y_true)
    assert scorer(echo, y_pred.reshape(-1, 1), y_true) == pytest.approx(
        _informedness_by_hand(y_true, y_pred)
    )


def test_make_confusion_metric_lower_is_better():
    error_rate = make_confusion_metric(
        lambda tp, fp, fn, tn: (fp + fn) / (tp + fp + fn + tn),
        "error_rate",
        higher_is_better=False,
    )
    assert error_rate.score([0, 1, 1, 0], [0, 1, 0, 0]) == 0.25
    z, y = torch.tensor([3.0, -3.0], dtype=F64), torch.tensor([1, 0])
    loss = AnyLoss(metric=error_rate, L=10.0)(z, y)
    # the loss is the soft metric itself, not 1 - metric
    expected = error_rate.soft(*soft_confusion(torch.sigmoid(z), y, L=10.0))
    torch.testing.assert_close(loss, expected)
    assert 0 < float(loss) < 0.05
    scorer = error_rate.scorer()
    X, y = np.array([[0], [1], [0], [0]]), [0, 1, 1, 0]
    assert scorer(Echo().fit(X, y), X, y) == -0.25


def test_make_confusion_metric_undefined_follows_zero_division():
    metric = make_confusion_metric(lambda tp, fp, fn, tn: tp / (tp + fp), "ppv")
    for zd in (0.0, 1.0):
        assert metric.score([1, 0], [0, 0], zero_division=zd) == zd
    assert np.isnan(metric.score([1, 0], [0, 0], zero_division=np.nan))
    with pytest.warns(UndefinedMetricWarning, match="ppv is ill-defined"):
        assert metric.score([1, 0], [0, 0]) == 0.0


@pytest.mark.parametrize("fn", [None, 3, "f1", [1, 2]])
def test_make_confusion_metric_invalid_fn(fn):
    with pytest.raises(TypeError, match="fn must be callable"):
        make_confusion_metric(fn, "x")


@pytest.mark.parametrize("name", ["", None, 3, ["f1"]])
def test_make_confusion_metric_invalid_name(name):
    with pytest.raises(ValueError, match="name"):
        make_confusion_metric(lambda tp, fp, fn, tn: tp, name)


def test_confusion_metric_invalid_undefined():
    with pytest.raises(ValueError, match="undefined"):
        ConfusionMetric(lambda tp, fp, fn, tn: tp, "x", undefined="nan")


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("f1", F1),
        ("F1", F1),
        (" Balanced_Accuracy ", BALANCED_ACCURACY),
        ("bacc", BALANCED_ACCURACY),
        ("BACC", BALANCED_ACCURACY),
        ("g_mean", GMEAN),
        ("geometric_mean", GMEAN),
        ("tpr", RECALL),
        ("sensitivity", RECALL),
        ("TNR", SPECIFICITY),
        ("f05", F05),
        ("f0.5", F05),
        ("matthews", MCC),
        ("csi", JACCARD),
        ("youden", INFORMEDNESS),
        ("tss", INFORMEDNESS),
    ],
)
def test_get_metric_names_and_aliases(spec, expected):
    assert get_metric(spec) is expected


def test_get_metric_passes_metrics_through():
    custom = make_confusion_metric(lambda tp, fp, fn, tn: tp, "tp")
    assert get_metric(custom) is custom
    assert get_metric(F1) is F1


@pytest.mark.parametrize("spec, close", [("f11", "f1"), ("gmaen", "gmean")])
def test_get_metric_unknown_name_suggests(spec, close):
    with pytest.raises(ValueError, match=f"Did you mean '{close}'") as info:
        get_metric(spec)
    assert "Unknown metric" in str(info.value)
    assert "balanced_accuracy" in str(info.value)  # lists the valid names


def test_get_metric_unknown_name_without_close_match():
    with pytest.raises(ValueError, match="Unknown metric 'zzzzzz'"):
        get_metric("zzzzzz")


@pytest.mark.parametrize("spec", [3, None, 1.0, F1.fn, ["f1"]])
def test_get_metric_type_error(spec):
    with pytest.raises(TypeError, match="metric must be a name or a ConfusionMetric"):
        get_metric(spec)


def test_list_metrics_and_aliases():
    names = list_metrics()
    assert names == sorted(BUILTINS)
    assert len(names) == 12
    for name in names:
        assert get_metric(name).name == name
    assert GMean is GMEAN and BalancedAccuracy is BALANCED_ACCURACY
    assert Precision is PRECISION and Recall is RECALL
    assert Specificity is SPECIFICITY and Jaccard is JACCARD
    assert Informedness is INFORMEDNESS
    assert all(isinstance(m, ConfusionMetric) for m in BUILTINS.values())
    assert MCC.undefined == 0.0 and F1.undefined == "zero_division"


def test_make_confusion_metric_name_defaults_to_the_function_name():
    def fowlkes_mallows(tp, fp, fn, tn):
        return tp / ((tp + fp) * (tp + fn)) ** 0.5

    assert make_confusion_metric(fowlkes_mallows).name == "fowlkes_mallows"
    with pytest.raises(ValueError, match="name is required"):
        make_confusion_metric(lambda tp, fp, fn, tn: tp / (tp + fp))


@pytest.mark.parametrize(
    "fn",
    [
        lambda tp, fp, fn, tn: np.sqrt(tp / (tp + fn)),
        lambda tp, fp, fn, tn: math.sqrt(tp / (tp + fn)),
        lambda tp, fp, fn, tn: float(tp / (tp + fp)),
    ],
    ids=["numpy", "math", "float"],
)
def test_make_confusion_metric_refuses_a_function_that_cannot_train(fn):
    """Such a function scores but would fail (or not learn) in training: it is
    refused when the metric is made, with what to use instead."""
    with pytest.raises(ValueError, match="arithmetic operators .* or torch"):
        make_confusion_metric(fn, "bad")


def test_make_confusion_metric_accepts_torch_functions():
    metric = make_confusion_metric(
        lambda tp, fp, fn, tn: torch.sqrt(tp / (tp + fn)), "sqrt_recall"
    )
    assert metric.score([1, 1, 0], [1, 0, 0]) == pytest.approx(0.5**0.5)
    z = torch.tensor([2.0, -1.0, 0.5], dtype=F64, requires_grad=True)
    AnyLoss(metric=metric, L=10.0)(z, torch.tensor([1, 1, 0])).backward()
    assert torch.isfinite(z.grad).all() and z.grad[1] < 0


def test_whole_matrix_metrics_from_counts_follow_zero_division():
    for metric in (ACCURACY, BALANCED_ACCURACY):
        assert metric.from_counts(0, 0, 0, 0, zero_division=1.0) == 1.0
        assert metric.from_counts(0, 0, 0, 0, zero_division=0.0) == 0.0
