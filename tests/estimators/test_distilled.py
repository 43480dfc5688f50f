"""DistilledClassifier: teacher semantics (fitted: never refit; unfitted: fitted on
the training rows only), teacher__* parameters, the losses on every kind of
target, the main head, persistence, bad input and scikit-learn's checks."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import DistilledClassifier, LossClassifier
from sklearn_losses.estimators._distilled import teacher_logits
from sklearn_losses.losses import list_losses
from sklearn_losses.modules import DualHeadMLP

LOSSES = ["kd", "dual_head", "pld"]
FAST = {"hidden_layer_sizes": (16,), "max_epochs": 8, "random_state": 0}


def student(**params):
    return DistilledClassifier(**{"teacher": LogisticRegression(), **FAST, **params})


@pytest.fixture(scope="module")
def easy():
    X, y = make_classification(
        n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=3
    )
    return X.astype(np.float64), y


# -- recording teachers ----------------------------------------------------------------
CALLS = {"fit": 0, "predict_proba": 0, "rows": [], "weights": []}


@pytest.fixture
def calls():
    CALLS.update(fit=0, predict_proba=0, rows=[], weights=[])
    return CALLS


class RecordingTeacher(LogisticRegression):
    """LogisticRegression that records its fits (the first column of the rows it
    was fitted on, its sample weights) and its predict_proba calls."""

    def fit(self, X, y, sample_weight=None):
        CALLS["fit"] += 1
        CALLS["rows"].append(np.asarray(X)[:, 0].copy())
        CALLS["weights"].append(sample_weight)
        return super().fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X):
        CALLS["predict_proba"] += 1
        return super().predict_proba(X)


class NoWeightTeacher(ClassifierMixin, BaseEstimator):
    """A classifier whose fit takes no sample_weight (uniform probabilities)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X):
        n = np.asarray(X).shape[0]
        return np.full((n, len(self.classes_)), 1.0 / len(self.classes_))


class PredictOnlyTeacher(NoWeightTeacher):
    """A classifier with predict only (no probabilities, no decision values)."""

    predict_proba = property(lambda self: None)

    def __getattribute__(self, name):
        if name == "predict_proba":
            raise AttributeError(name)
        return super().__getattribute__(name)

    def predict(self, X):
        return np.full(np.asarray(X).shape[0], self.classes_[0])


# -- teacher semantics -----------------------------------------------------------------
def test_fitted_teacher_is_used_as_is_and_never_refit(easy, calls):
    X, y = easy
    teacher = RecordingTeacher(max_iter=500).fit(X, y)
    coef = teacher.coef_.copy()
    calls.update(fit=0, predict_proba=0)
    clf = student(teacher=teacher).fit(X, y)
    assert calls["fit"] == 0
    assert calls["predict_proba"] == 1  # the logits, once per fit
    assert clf.teacher_ is teacher
    np.testing.assert_array_equal(teacher.coef_, coef)
    clf.predict(X), clf.predict_proba(X), clf.decision_function(X), clf.score(X, y)
    assert calls["predict_proba"] == 1  # never in predict
    clf.fit(X, y)  # a second fit still does not refit it
    assert calls["fit"] == 0


def test_unfitted_teacher_is_cloned_and_fitted_on_this_fit(easy, calls):
    X, y = easy
    teacher = RecordingTeacher()
    clf = student(teacher=teacher).fit(X, y)
    assert calls["fit"] == 1
    assert clf.teacher_ is not teacher
    assert not hasattr(teacher, "coef_")  # the parameter is left unfitted
    np.testing.assert_array_equal(clf.teacher_.classes_, [0, 1, 2])


def test_unfitted_teacher_sees_only_the_training_rows_in_cross_validation(easy, calls):
    X, y = easy
    X = X.copy()
    X[:, 0] = np.arange(len(X))  # the first column names the row
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    cross_val_score(student(teacher=RecordingTeacher(max_iter=500)), X, y, cv=folds)
    assert calls["fit"] == 3
    for (train, test), rows in zip(folds, calls["rows"]):
        np.testing.assert_array_equal(np.sort(rows), train)
        assert not np.isin(rows, test).any()


class _LogitsSpy(DistilledClassifier):
    """Keeps the teacher logits handed to the loss."""

    def _apply_reweighter(self, X, y, sample_weight, fit_params, loss):
        out = super()._apply_reweighter(X, y, sample_weight, fit_params, loss)
        self.seen_logits_ = out[1]["teacher_logits"]
        return out


def test_teacher_cv_gives_out_of_fold_logits(easy, calls):
    X, y = easy
    clf = _LogitsSpy(teacher=RecordingTeacher(max_iter=500), teacher_cv=3, **FAST)
    clf.fit(X, y)
    assert calls["fit"] == 4  # teacher_ on all rows, then one per fold
    assert len(calls["rows"][0]) == len(y)
    expected = np.empty((len(y), 3))
    for train, test in StratifiedKFold(3).split(X, y):
        fold = LogisticRegression(max_iter=500).fit(X[train], y[train])
        expected[test] = np.log(fold.predict_proba(X[test]) + 1e-12)
    np.testing.assert_allclose(clf.seen_logits_, expected, rtol=1e-6)
    in_sample = np.log(clf.teacher_.predict_proba(X) + 1e-12)
    assert not np.allclose(clf.seen_logits_, in_sample)


def test_teacher_cv_needs_an_unfitted_teacher(easy):
    X, y = easy
    fitted = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="teacher_cv applies to an unfitted teacher"):
        student(teacher=fitted, teacher_cv=3).fit(X, y)
    with pytest.raises(ValueError, match="teacher_cv"):
        student(teacher_cv=1).fit(X, y)


def test_teacher_gets_the_sample_weights(easy, calls):
    X, y = easy
    w = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    student(teacher=RecordingTeacher()).fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(calls["weights"][0], w)


def test_teacher_without_sample_weight_warns(easy):
    X, y = easy
    with pytest.warns(UserWarning, match="takes no sample_weight"):
        student(teacher=NoWeightTeacher()).fit(X, y, sample_weight=np.ones(len(y)))


def test_default_teacher_is_gradient_boosting(easy):
    X, y = easy
    clf = DistilledClassifier(teacher__max_iter=5, **FAST).fit(X, y)
    assert isinstance(clf.teacher_, HistGradientBoostingClassifier)
    assert clf.teacher_.max_iter == 5
    assert clf.teacher is None


def test_teacher_params_in_constructor_set_params_and_grid(easy):
    X, y = easy
    teacher = LogisticRegression()
    clf = student(teacher=teacher, teacher__C=0.01).fit(X, y)
    assert clf.teacher_.C == 0.01 and teacher.C == 1.0
    assert clf.get_params()["teacher__C"] == 0.01
    clf.set_params(teacher__C=5.0).fit(X, y)
    assert clf.teacher_.C == 5.0
    assert clone(clf).get_params()["teacher__C"] == 5.0
    search = GridSearchCV(
        student(teacher=teacher, max_epochs=3),
        {"teacher__C": [0.01, 10.0], "loss": ["kd", "pld"]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.teacher_.C == search.best_params_["teacher__C"]


def test_teacher_logits_follow_the_students_class_order():
    class Reversed(NoWeightTeacher):
        def fit(self, X, y):
            super().fit(X, y)
            self.classes_ = self.classes_[::-1]
            return self

        def predict_proba(self, X):
            n = np.asarray(X).shape[0]
            return np.tile([0.7, 0.2, 0.1], (n, 1))  # classes_ = [c, b, a]

    X = np.zeros((4, 2))
    t = Reversed().fit(X, ["a", "b", "c", "a"])
    logits = teacher_logits(t, X, np.array(["a", "b", "c"]))
    np.testing.assert_allclose(np.exp(logits[0]), [0.1, 0.2, 0.7], rtol=1e-9)


def test_teacher_output_decision_function(easy):
    X, y = easy
    teacher = LogisticRegression(max_iter=500).fit(X, y)
    logits = teacher_logits(teacher, X, teacher.classes_, "decision_function")
    np.testing.assert_allclose(logits, teacher.decision_function(X))
    yb = (y == 0).astype(int)
    svm = LinearSVC().fit(X, yb)
    logits = teacher_logits(svm, X, svm.classes_)  # auto: no predict_proba
    d = svm.decision_function(X)
    np.testing.assert_allclose(logits, np.column_stack([-d / 2, d / 2]))
    proba = teacher_logits(teacher, X, teacher.classes_, "predict_proba")
    np.testing.assert_allclose(proba, np.log(teacher.predict_proba(X) + 1e-12))
    clf = student(teacher=svm).fit(X, yb)
    assert clf.predict(X).shape == yb.shape


# -- the losses on every kind of target ------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_on_binary_multiclass_and_string_labels(loss, easy):
    X, y = easy
    labels = np.array(["cat", "dog", "eel"])[y]
    for target in (y == 0, labels, labels[np.isin(labels, ["cat", "eel"])]):
        rows = slice(None) if len(target) == len(X) else np.isin(labels, ["cat", "eel"])
        clf = student(loss=loss).fit(X[rows], target)
        k = len(np.unique(target))
        proba = clf.predict_proba(X[:5])
        assert proba.shape == (5, k)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert set(clf.predict(X[rows])) <= set(clf.classes_)
        dec = clf.decision_function(X[:5])
        assert dec.shape == ((5,) if k == 2 else (5, k))


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_with_pandas_weights_and_early_stopping(loss, easy):
    pd = pytest.importorskip("pandas")
    X, y = easy
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    teacher = HistGradientBoostingClassifier(max_iter=10).fit(frame, y)
    clf = student(
        teacher=teacher,
        loss=loss,
        class_weight="balanced",
        early_stopping=True,
        n_iter_no_change=2,
    ).fit(frame, y, sample_weight=np.linspace(0.5, 1.5, len(y)))
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert np.isfinite(clf.history_[:, "valid_loss"]).all()
    assert clf.predict(frame).shape == y.shape


def test_student_mimics_the_teacher():
    X, y = make_classification(
        n_samples=600,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        class_sep=2.0,
        random_state=0,
    )
    train, test = slice(0, 400), slice(400, None)
    teacher = HistGradientBoostingClassifier(max_iter=30, random_state=0)
    teacher.fit(X[train], y[train])
    for loss in LOSSES:
        clf = student(teacher=teacher, loss=loss, hidden_layer_sizes=(32,))
        clf.set_params(max_epochs=40, lr=3e-3).fit(X[train], y[train])
        agreement = np.mean(clf.predict(X[test]) == teacher.predict(X[test]))
        assert agreement > 0.9, (loss, agreement)


def test_dual_head_predicts_from_the_main_head(easy):
    X, y = easy
    clf = student(loss="dual_head").fit(X, y)
    net = clf.net_.module_
    assert isinstance(net, DualHeadMLP) and net.n_outputs == 6
    x = torch.as_tensor(X[:7], dtype=torch.float32)
    with torch.no_grad():
        main = net.main_head(net.backbone(x)).double().numpy()
        before = clf.predict_proba(X)
        net.aux_head.weight.mul_(-100.0)  # the auxiliary head changes nothing
    np.testing.assert_allclose(clf.decision_function(X[:7]), main, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), before)
    yb = y == 1
    clf = student(loss="dual_head").fit(X, yb)
    with torch.no_grad():
        out = clf.net_.module_(x).double().numpy()
    assert out.shape == (7, 4)
    np.testing.assert_allclose(
        clf.decision_function(X[:7]), out[:, 1] - out[:, 0], rtol=1e-5, atol=1e-6
    )


def test_dual_head_nonlinear_auxiliary_head(easy):
    X, y = easy
    clf = student(loss="dual_head", aux_head="mlp", max_epochs=30, lr=3e-3).fit(X, y)
    assert isinstance(clf.net_.module_.aux_head, torch.nn.Sequential)
    assert clf.score(X, y) > 0.5


def test_pickle_and_clone_round_trip(easy):
    X, y = easy
    clf = student(loss="dual_head", teacher__C=0.5).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    assert again.teacher_.C == 0.5
    fresh = clone(clf)
    assert not hasattr(fresh, "net_") and fresh.get_params()["teacher__C"] == 0.5
    np.testing.assert_array_equal(
        fresh.fit(X, y).predict_proba(X), clf.predict_proba(X)
    )


# -- bad input -------------------------------------------------------------------------
def test_teacher_without_probabilities_or_decisions(easy):
    X, y = easy
    with pytest.raises(ValueError, match="neither predict_proba nor decision_function"):
        student(teacher=PredictOnlyTeacher()).fit(X, y)
    with pytest.raises(ValueError, match="teacher_output='decision_function'.*no"):
        student(teacher=GaussianNB(), teacher_output="decision_function").fit(X, y)


def test_teacher_with_other_classes(easy):
    X, y = easy
    teacher = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match=r"teacher's classes_ \[0, 1, 2\] differ"):
        student(teacher=teacher).fit(X[y < 2], y[y < 2])


def test_fitted_teacher_with_other_features(easy):
    X, y = easy
    teacher = LogisticRegression().fit(X[:, :4], y)
    with pytest.raises(ValueError, match="teacher LogisticRegression takes 4 features"):
        student(teacher=teacher).fit(X, y)


def test_teacher_params_with_a_fitted_teacher(easy):
    X, y = easy
    teacher = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="apply to an unfitted teacher"):
        student(teacher=teacher, teacher__C=2.0).fit(X, y)
    with pytest.raises(ValueError, match="Invalid teacher__"):
        student(teacher=LogisticRegression(), teacher__nope=2.0).fit(X, y)


def test_bad_parameters(easy):
    X, y = easy
    with pytest.raises(ValueError, match="teacher must be"):
        student(teacher="hgb").fit(X, y)
    with pytest.raises(ValueError, match="teacher_output"):
        student(teacher_output="logits").fit(X, y)
    with pytest.raises(ValueError, match="aux_head"):
        student(aux_head="deep").fit(X, y)
    with pytest.raises(TypeError, match="computes them from its teacher"):
        student().fit(X, y, teacher_logits=np.zeros((len(y), 3)))


def test_non_distillation_loss_is_refused(easy):
    X, y = easy
    with pytest.raises(ValueError, match="'focal' is not a distillation loss.*kd"):
        student(loss="focal").fit(X, y)
    with pytest.raises(ValueError, match="Unknown loss.*distillation losses"):
        student(loss="kdd").fit(X, y)


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_classifier_refuses_distillation_losses(loss, easy):
    X, y = easy
    assert loss in list_losses("distillation")
    with pytest.raises(ValueError, match="distillation"):
        LossClassifier(loss=loss, max_epochs=1).fit(X, y)


# -- scikit-learn's checks -------------------------------------------------------------
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "float32 training: weighted and repeated-row fits agree to about 1e-7, the "
        "check asks rtol=1e-7 (as LossClassifier)"
    ),
}

EXPECTED_FAILED_BY_LOSS = {
    "kd": {
        "check_class_weight_classifiers": (
            "class weights reweight rows, but KD's soft targets on the heavy class's "
            "rows still teach the teacher's other classes (its dark knowledge)"
        ),
    },
}


@parametrize_with_checks(
    [
        DistilledClassifier(
            teacher=LogisticRegression(), loss=loss, max_epochs=50, random_state=0
        )
        for loss in ("kd", "dual_head")  # pld: one head, as kd
    ],
    expected_failed_checks=lambda est: {
        **EXPECTED_FAILED_CHECKS,
        **EXPECTED_FAILED_BY_LOSS.get(est.loss, {}),
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
