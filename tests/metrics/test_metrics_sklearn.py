"""Exact confusion metrics equal sklearn.metrics; soft metrics tend to them."""

import warnings

import numpy as np
import pytest
import torch
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
    SPECIFICITY,
    get_metric,
    list_metrics,
    make_confusion_metric,
    soft_confusion,
)


def _other(labels, pos):
    return [v for v in labels if v != pos][0]


def _sk(func, *, labelled=True, negative=False, **fixed):
    """A reference ``(t, p, w, pos, zero_division, labels) -> sklearn value``."""

    def ref(t, p, w, pos, zero_division, labels):
        kwargs = dict(fixed, sample_weight=w)
        if labelled:
            kwargs["pos_label"] = _other(labels, pos) if negative else pos
            kwargs["zero_division"] = zero_division
        return func(t, p, **kwargs)

    return ref


REFERENCES = {
    "accuracy": (ACCURACY, _sk(skm.accuracy_score, labelled=False)),
    "precision": (PRECISION, _sk(skm.precision_score)),
    "recall": (RECALL, _sk(skm.recall_score)),
    "specificity": (SPECIFICITY, _sk(skm.recall_score, negative=True)),
    "f1": (F1, _sk(skm.f1_score)),
    "f0.5": (F05, _sk(skm.fbeta_score, beta=0.5)),
    "f2": (F2, _sk(skm.fbeta_score, beta=2)),
    "jaccard": (JACCARD, _sk(skm.jaccard_score)),
    "mcc": (MCC, _sk(skm.matthews_corrcoef, labelled=False)),
    "balanced_accuracy": (
        BALANCED_ACCURACY,
        _sk(skm.balanced_accuracy_score, labelled=False),
    ),
}


def _cases():
    for seed in range(30):
        rng = np.random.RandomState(seed)
        n = rng.randint(1, 40)
        labels = (0, 1) if seed % 3 else ("neg", "pos")
        pos = labels[1] if seed % 4 else labels[0]
        t = np.array(labels, dtype=object)[rng.randint(0, 2, n)]
        p = np.array(labels, dtype=object)[rng.randint(0, 2, n)]
        if seed % 5 == 0:
            p[:] = labels[0] if pos == labels[1] else labels[1]  # no predicted positive
        if seed % 7 == 0:
            t[:] = labels[0] if pos == labels[1] else labels[1]  # no true positive
        if seed % 2:
            w = None
        elif seed % 4:
            w = rng.randint(0, 4, n).astype(float)
        else:
            w = rng.rand(n)
        if isinstance(labels[0], int):
            t, p = t.astype(int), p.astype(int)
        yield seed, t, p, w, pos, labels


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan])
def test_exact_metric_equals_sklearn(name, zero_division):
    if name == "jaccard" and np.isnan(zero_division):
        pytest.skip("sklearn's jaccard_score does not accept zero_division=nan")
    metric, ref = REFERENCES[name]
    for seed, t, p, w, pos, labels in _cases():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = ref(t, p, w, pos, zero_division, labels)
            got = metric.score(
                t, p, sample_weight=w, pos_label=pos, zero_division=zero_division
            )
        np.testing.assert_allclose(got, expected, rtol=1e-12, err_msg=f"seed {seed}")


@pytest.mark.parametrize("name", ["precision", "recall", "f1", "jaccard"])
def test_warn_mode_warns_like_sklearn(name):
    metric, ref = REFERENCES[name]
    t, p = np.zeros(4, int), np.zeros(4, int)
    with pytest.warns(UndefinedMetricWarning):
        expected = ref(t, p, None, 1, "warn", (0, 1))
    with pytest.warns(UndefinedMetricWarning):
        assert metric.score(t, p) == expected == 0.0


def test_gmean_and_informedness_match_recall_products():
    for _, t, p, w, pos, labels in _cases():
        if len(set(t.tolist())) < 2:
            continue
        neg = _other(labels, pos)
        tpr = skm.recall_score(t, p, pos_label=pos, sample_weight=w, zero_division=0)
        tnr = skm.recall_score(t, p, pos_label=neg, sample_weight=w, zero_division=0)
        assert GMEAN.score(t, p, sample_weight=w, pos_label=pos) == pytest.approx(
            np.sqrt(tpr * tnr), rel=1e-12
        )
        adjusted = skm.balanced_accuracy_score(t, p, sample_weight=w, adjusted=True)
        got = INFORMEDNESS.score(t, p, sample_weight=w, pos_label=pos)
        assert got == pytest.approx(adjusted, rel=1e-12, abs=1e-12)


def test_gmean_equals_imblearn():
    imblearn_metrics = pytest.importorskip("imblearn.metrics")
    for _, t, p, w, _pos, labels in _cases():
        if len(set(t.tolist())) < 2 or not isinstance(labels[0], int):
            continue
        expected = imblearn_metrics.geometric_mean_score(t, p, sample_weight=w)
        # sqrt turns sklearn's ~1e-16 count residuals (float weights) into ~1e-8.
        got = GMEAN.score(t, p, sample_weight=w)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-7)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", None])
@pytest.mark.parametrize("name", ["precision", "recall", "f1", "jaccard"])
def test_multiclass_averages_equal_sklearn(name, average):
    metric = get_metric(name)
    ref = {
        "precision": skm.precision_score,
        "recall": skm.recall_score,
        "f1": skm.f1_score,
        "jaccard": skm.jaccard_score,
    }[name]
    for seed in range(10):
        rng = np.random.RandomState(seed)
        t, p = rng.randint(0, 4, 30), rng.randint(0, 4, 30)
        w = rng.rand(30) if seed % 2 else None
        kw = {"average": average, "sample_weight": w, "zero_division": 0.0}
        np.testing.assert_allclose(metric.score(t, p, **kw), ref(t, p, **kw))
        kw["labels"] = [2, 0]
        np.testing.assert_allclose(metric.score(t, p, **kw), ref(t, p, **kw))


# -- every built-in metric, binary, multiclass, string labels -------------------------
def _label_cases():
    rng = np.random.default_rng(0)
    ints3 = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    names = np.array(["cat", "dog", "eel"])
    yield "binary", rng.integers(0, 2, 80), rng.integers(0, 2, 80), 1
    yield "binary_str", *(names[:2][v] for v in (ints3[0] % 2, ints3[1] % 2)), "dog"
    yield "multiclass", *ints3, None
    yield "multiclass_str", names[ints3[0]], names[ints3[1]], None
    w = rng.uniform(0.1, 3.0, 200)
    yield "multiclass_weighted", *ints3, w


WHOLE_MATRIX = {
    "accuracy": skm.accuracy_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
    "mcc": skm.matthews_corrcoef,
}


def _ovr_reference(name, t, p, w, average):
    """Per-class one-vs-rest values from sklearn, averaged (specificity: the
    recall of "not this class"; imbalanced-learn's weighted specificity is not
    the weighted count ratio, so it is not used here)."""
    labels = np.unique(np.concatenate([t, p]))
    kw = {"labels": labels, "sample_weight": w, "average": None}
    sens = skm.recall_score(t, p, zero_division=0.0, **kw)
    spec = np.array([skm.recall_score(t != c, p != c, sample_weight=w) for c in labels])
    prec = skm.precision_score(t, p, zero_division=0.0, **kw)
    per_class = {
        "precision": prec,
        "recall": sens,
        "specificity": spec,
        "f1": skm.f1_score(t, p, zero_division=0.0, **kw),
        "f0.5": skm.fbeta_score(t, p, beta=0.5, zero_division=0.0, **kw),
        "f2": skm.fbeta_score(t, p, beta=2.0, zero_division=0.0, **kw),
        "jaccard": skm.jaccard_score(t, p, zero_division=0.0, **kw),
        "gmean": np.sqrt(sens * spec),
        "informedness": sens + spec - 1,
    }[name]
    if average is None:
        return per_class
    weights = None
    if average == "weighted":
        weights = np.array(
            [np.sum((t == c) * (1.0 if w is None else w)) for c in labels]
        )
    return np.average(per_class, weights=weights)


@pytest.mark.parametrize("name", list_metrics())
def test_every_builtin_equals_sklearn_on_binary_multiclass_and_strings(name):
    metric = get_metric(name)
    for case, t, p, extra in _label_cases():
        w = extra if case == "multiclass_weighted" else None
        context = (name, case)
        if name in WHOLE_MATRIX:
            # no pos_label or average needed, whatever the labels
            expected = WHOLE_MATRIX[name](t, p, sample_weight=w)
            assert metric.score(t, p, sample_weight=w) == pytest.approx(
                expected, abs=1e-12
            ), context
            for kw in ({"average": "micro"}, {"average": "macro"}, {"pos_label": 7}):
                assert metric.score(t, p, sample_weight=w, **kw) == pytest.approx(
                    expected, abs=1e-12
                ), (context, kw)
            # the scorer works with any labels (string labels gave NaN)
            echo = _Echo().fit(p.reshape(-1, 1), t)
            assert metric.scorer()(echo, p.reshape(-1, 1), t) == pytest.approx(
                WHOLE_MATRIX[name](t, p), abs=1e-12
            ), context
        elif case.startswith("binary"):
            pos = extra
            got = metric.score(t, p, pos_label=pos, zero_division=0.0)
            expected = _ovr_reference(name, t, p, None, None)
            labels = np.unique(np.concatenate([t, p]))
            index = int(np.flatnonzero(labels == pos)[0])
            assert got == pytest.approx(expected[index], abs=1e-12), context
        else:
            for average in ("macro", "weighted", None):
                got = metric.score(
                    t, p, sample_weight=w, average=average, zero_division=0.0
                )
                expected = _ovr_reference(name, t, p, w, average)
                np.testing.assert_allclose(
                    got, expected, atol=1e-12, err_msg=str(context)
                )


class _Echo(ClassifierMixin, BaseEstimator):
    """A fitted-looking classifier that predicts its input column."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.asarray(X).ravel()


def test_bad_inputs():
    with pytest.raises(ValueError, match="average='binary'"):
        F1.score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="average"):
        F1.score([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="zero_division"):
        F1.score([0, 1], [0, 1], zero_division=0.5)
    with pytest.raises(ValueError, match="pos_label"):
        F1.score([0, 1], [0, 1], pos_label=2)
    with pytest.raises(ValueError, match="same length"):
        F1.score([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="class labels"):
        F1.score([0.1, 0.7], [0, 1])


def test_registry_of_metrics():
    assert len(list_metrics()) == 12
    assert get_metric("BACC") is BALANCED_ACCURACY
    assert get_metric("g_mean") is GMEAN
    assert get_metric("tpr") is RECALL
    with pytest.raises(ValueError, match="f1"):
        get_metric("f11")
    with pytest.raises(TypeError):
        get_metric(3)


def test_user_metric_gives_all_four_forms():
    informedness = make_confusion_metric(
        lambda tp, fp, fn, tn: tp / (tp + fn) + tn / (tn + fp) - 1, name="inf"
    )
    t, p = np.array([1, 1, 0, 0, 1]), np.array([1, 0, 0, 1, 1])
    assert informedness.score(t, p) == pytest.approx(2 / 3 + 1 / 2 - 1)
    counts = [torch.tensor(v, dtype=torch.float64) for v in (2.0, 1.0, 1.0, 1.0)]
    assert informedness.soft(*counts).item() == pytest.approx(2 / 3 + 1 / 2 - 1)
    assert AnyLoss(metric=informedness).metric is informedness
    with pytest.raises(TypeError):
        make_confusion_metric(3, name="x")
    with pytest.raises(ValueError):
        make_confusion_metric(lambda *c: 0.0, name="")


@pytest.mark.parametrize("metric", [F1, GMEAN, BALANCED_ACCURACY, MCC, ACCURACY])
def test_soft_metric_tends_to_exact_as_L_grows(metric):
    rng = np.random.RandomState(0)
    z = rng.normal(scale=3, size=200)
    z = z[np.abs(z) > 0.05]  # keep probabilities away from the 0.5 threshold
    y = (rng.rand(z.size) < 1 / (1 + np.exp(-z))).astype(int)
    p = torch.sigmoid(torch.tensor(z))
    exact = metric.score(y, (z > 0).astype(int))
    gaps = []
    for L in (5.0, 20.0, 73.0, 2000.0):
        soft = metric.soft(*soft_confusion(p, torch.tensor(y), L=L)).item()
        gaps.append(abs(soft - exact))
    assert gaps[-1] < gaps[0]
    assert gaps[-1] < 1e-3


def test_soft_confusion_weights():
    rng = np.random.RandomState(1)
    p = torch.tensor(rng.rand(12))
    y = torch.tensor(rng.randint(0, 2, 12))
    w = torch.tensor(rng.randint(0, 4, 12)).double()
    weighted = soft_confusion(p, y, L=10, sample_weight=w)
    idx = torch.repeat_interleave(torch.arange(12), w.long())
    repeated = soft_confusion(p[idx], y[idx], L=10)
    for a, b in zip(weighted, repeated):
        assert a.item() == pytest.approx(b.item(), rel=1e-12, abs=1e-12)
    unit = soft_confusion(p, y, L=10, sample_weight=torch.ones(12, dtype=torch.float64))
    for a, b in zip(unit, soft_confusion(p, y, L=10)):
        assert a.item() == pytest.approx(b.item(), rel=1e-14)
    tp, fp, fn, tn = weighted
    assert (tp + fp + fn + tn).item() == pytest.approx(w.sum().item())
    assert (tp + fn).item() == pytest.approx((w * y).sum().item())
