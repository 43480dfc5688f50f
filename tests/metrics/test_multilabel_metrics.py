"""Multi-label metrics equal sklearn.metrics (weights, averages, zero division)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn import metrics as skm
from sklearn.base import BaseEstimator

from sklearn_losses.metrics import (
    ACCURACY,
    F1,
    JACCARD,
    PRECISION,
    RECALL,
    hamming_loss,
    multilabel_confusion_counts,
    multilabel_f1,
    multilabel_jaccard,
    multilabel_score,
    multilabel_scorer,
)

SKLEARN = {
    "f1": skm.f1_score,
    "jaccard": skm.jaccard_score,
    "precision": skm.precision_score,
    "recall": skm.recall_score,
}
OURS = {"f1": F1, "jaccard": JACCARD, "precision": PRECISION, "recall": RECALL}
AVERAGES = ["micro", "macro", "weighted", "samples", None]


def _matrices(seed, n=12, L=5, density=0.35):
    rng = np.random.default_rng(seed)
    Y = (rng.random((n, L)) < density).astype(int)
    P = (rng.random((n, L)) < density).astype(int)
    Y[0] = P[0] = 0  # a row with no true and no predicted label
    Y[:, 1] = 0  # a label without positives
    P[:, 2] = 0  # a label never predicted
    w = rng.uniform(0.0, 3.0, size=n)
    return Y, P, w


def _both(name, Y, P, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = OURS[name].score(Y, P, **kw)
        theirs = SKLEARN[name](Y, P, **kw)
    return ours, theirs


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", sorted(OURS))
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan, "warn"])
@pytest.mark.parametrize("weighted", [False, True])
def test_equal_to_sklearn(seed, name, average, zero_division, weighted):
    if name == "jaccard" and zero_division is np.nan:
        pytest.skip("sklearn's jaccard_score takes no zero_division=nan")
    Y, P, w = _matrices(seed)
    kw = {"average": average, "zero_division": zero_division}
    if weighted:
        kw["sample_weight"] = w
    ours, theirs = _both(name, Y, P, **kw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("weighted", [False, True])
def test_hamming_and_shortcuts_equal_sklearn(seed, weighted):
    Y, P, w = _matrices(seed, n=9, L=4, density=0.5)
    sw = w if weighted else None
    assert hamming_loss(Y, P, sample_weight=sw) == pytest.approx(
        skm.hamming_loss(Y, P, sample_weight=sw), rel=1e-12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for average in ("micro", "macro"):
            assert multilabel_f1(Y, P, average=average, sample_weight=sw) == (
                pytest.approx(
                    skm.f1_score(Y, P, average=average, sample_weight=sw), rel=1e-12
                )
            )
        assert multilabel_jaccard(Y, P, sample_weight=sw) == pytest.approx(
            skm.jaccard_score(Y, P, average="samples", sample_weight=sw), rel=1e-12
        )


def test_labels_subset_sparse_and_dataframe():
    Y, P, w = _matrices(3)
    ours, theirs = _both("f1", Y, P, average="macro", labels=[0, 3, 4])
    assert ours == pytest.approx(theirs, rel=1e-12)
    frame = pd.DataFrame(Y, columns=list("abcde"))
    assert F1.score(sp.csr_matrix(Y), frame, average="micro") == 1.0
    assert multilabel_score("jaccard", sp.csr_matrix(Y), P, average="micro") == (
        pytest.approx(skm.jaccard_score(Y, P, average="micro"), rel=1e-12)
    )


def test_counts_by_label_and_by_row():
    Y = np.array([[1, 0, 1], [0, 1, 1]])
    P = np.array([[1, 1, 0], [0, 1, 1]])
    counts = multilabel_confusion_counts(Y, P, sample_weight=[2.0, 1.0])
    mcm = skm.multilabel_confusion_matrix(Y, P, sample_weight=[2.0, 1.0])
    np.testing.assert_array_equal(
        np.stack(counts, axis=1), mcm.reshape(-1, 4)[:, [3, 1, 2, 0]]
    )
    rows = multilabel_confusion_counts(Y, P, samplewise=True)
    np.testing.assert_array_equal(np.stack(rows, axis=1), [[1, 1, 1, 0], [2, 0, 0, 1]])


def test_all_empty_rows_and_zero_division_nan():
    Y = np.zeros((3, 2), dtype=int)
    for zd in (0.0, 1.0, np.nan):
        if zd in (0.0, 1.0):
            ours, theirs = _both("jaccard", Y, Y, average="samples", zero_division=zd)
            np.testing.assert_equal(ours, theirs)
        ours, theirs = _both("f1", Y, Y, average="macro", zero_division=zd)
        np.testing.assert_equal(ours, theirs)
    assert hamming_loss(Y, Y) == 0.0


def test_scorers():
    Y, P, _ = _matrices(1)

    class Fixed(BaseEstimator):
        def predict(self, X):
            return P

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scorer = multilabel_scorer("f1", average="macro")
        assert scorer(Fixed(), None, Y) == skm.f1_score(Y, P, average="macro")
        via_metric = F1.scorer(average="micro")(Fixed(), None, Y)
        assert via_metric == skm.f1_score(Y, P, average="micro")
        hamming = multilabel_scorer("hamming_loss")(Fixed(), None, Y)
        assert hamming == -skm.hamming_loss(Y, P)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: F1.score([[1, 0]], [[1, 0]]), "average"),
        (lambda: F1.score([[1, 0]], [[1, 0, 1]], average="micro"), "shape"),
        (lambda: F1.score([[1, 2]], [[1, 0]], average="micro"), "y_true"),
        (
            lambda: multilabel_score("f1", [[1, 0]], [[1, 0]], average="binary"),
            "average",
        ),
        (lambda: multilabel_score("f1", [[1, 0]], [[0.5, 0]]), "y_pred"),
        (lambda: multilabel_score("f1", [[1, 0]], [[1, 0]], labels=[2]), "labels"),
        (lambda: ACCURACY.score([[1, 0]], [[1, 0]], average="micro"), "hamming_loss"),
        (lambda: hamming_loss([1, 0], [1, 0]), "y_true"),
        (lambda: multilabel_f1(np.zeros((0, 2)), np.zeros((0, 2))), "empty"),
        (lambda: hamming_loss([[1, 0]], [[1, 0]], sample_weight=[-1]), "sample_weight"),
    ],
)
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
