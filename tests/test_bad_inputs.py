"""Bad inputs to the public API: a clear ``ValueError``/``TypeError`` naming the input.

A sweep generated from the public API (issue 7): every public estimator, sampler,
metric and loss gets NaN, inf, empty, wrong dimensions, wrong dtypes, strings where
numbers belong, mismatched lengths, unseen labels, a single class and invalid
parameters (for ``LossClassifier`` and ``DatasetEquityReweighter`` one set of
invalid values per parameter, generated from ``get_params()``). Each case must
raise ``ValueError`` or ``TypeError`` whose message names the parameter: never
another exception (a torch ``RuntimeError``, ``IndexError``, ``AttributeError``,
...) and never a silent result. Parameters are checked at ``fit`` (scikit-learn's
convention: ``__init__`` and ``set_params`` never validate).
"""

import inspect
import math
import numbers
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from sklearn_losses import DatasetEquityReweighter, LossClassifier, Reweighted
from sklearn_losses.losses import get_loss, get_loss_class, list_losses
from sklearn_losses.metrics import get_metric, list_metrics
from sklearn_losses.sampling import LossReweighting, dynamic_weights

N = 40
X = np.random.RandomState(0).normal(size=(N, 3))
Y = np.tile([0, 1], N // 2)
Y3 = np.tile([0, 1, 2], 14)[:N]

#: scikit-learn's (and imbalanced-learn's) own messages, kept as they are. They
#: do not spell the parameter's name but say which input is wrong: ``X`` is the
#: only feature matrix of the call and its validation names the array's fault
#: (its shape, dtype or column names); the ``y`` messages speak of labels,
#: targets and the sample counts of ``X`` and ``y``, the words of every
#: scikit-learn classifier.
SKLEARN_WORDING = {
    "X": (
        "expected 2d array",
        "found array with",
        "could not convert string to float",
        "complex data not supported",
        "not compatible with arrays of bytes/strings",
        "feature names",
    ),
    "y": (
        "unknown label type",
        "inconsistent numbers of samples",
        "label input types",
        "targets are not supported",
        "contains only one class",
    ),
    "y_pred": ("label input types",),
    "sample_weight": ("sample weights",),
}


def _mentions(message, name):
    bounded = rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])"
    if re.search(bounded, message, flags=re.IGNORECASE):
        return True
    return any(p in message.lower() for p in SKLEARN_WORDING.get(name, ()))


def assert_clear_error(call, *names):
    """``call()`` raises ValueError/TypeError naming one of ``names``.

    Any other exception, or a return, fails the test.
    """
    try:
        with warnings.catch_warnings():
            # DBSCAN on tiny data may label everything noise (a UserWarning).
            warnings.simplefilter("ignore", UserWarning)
            result = call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert any(_mentions(message, n) for n in names), (
            f"{type(exc).__name__} does not name {names}: {message}"
        )
        return exc
    except Exception as exc:  # anything else is the failure
        pytest.fail(
            f"raised {type(exc).__name__} instead of ValueError/TypeError: {exc}"
        )
    pytest.fail(f"silently returned {type(result).__name__}: {result!r:.200}")


# == estimators and the sampler: fit ==================================================
def _net(loss="cross_entropy", **params):
    return LossClassifier(
        loss, hidden_layer_sizes=(4,), max_epochs=1, random_state=0, **params
    )


def _reweighted():
    return Reweighted(LogisticRegression(), DatasetEquityReweighter(reducer="pca"))


def _fitter(factory, method="fit", likelihood=False):
    def fit(X, y, **kwargs):
        if likelihood and "likelihood" not in kwargs:
            kwargs["likelihood"] = np.full(_rows(X), 0.5)
        return getattr(factory(), method)(X, y, **kwargs)

    return fit


#: Estimators and samplers fitted on ``X, y`` (with ``sample_weight``).
SUPERVISED = {
    "clf[cross_entropy]": _fitter(_net),
    "clf[focal]": _fitter(lambda: _net("focal")),
    "clf[anyloss]": _fitter(lambda: _net("anyloss")),
    "clf[ldr_kl]": _fitter(lambda: _net("ldr_kl")),
    "clf[generalized_focal]": _fitter(
        lambda: _net("generalized_focal"), likelihood=True
    ),
    "Reweighted": _fitter(_reweighted),
    "DER.fit_resample": _fitter(
        lambda: DatasetEquityReweighter(reducer="pca", random_state=0),
        "fit_resample",
    ),
}

#: Label-free methods: ``X`` only (``DatasetEquityReweighter.fit`` ignores ``y``,
#: as scikit-learn's unsupervised estimators do, so no ``y`` case applies).
UNSUPERVISED = {
    "DER.fit": lambda X: DatasetEquityReweighter(reducer="pca").fit(X),
    "DER.compute_weights": lambda X: DatasetEquityReweighter(
        reducer="pca"
    ).compute_weights(X),
}


def _with(row, col, value):
    out = X.astype(object if isinstance(value, str) else X.dtype)
    out[row, col] = value
    return out


#: ``X`` cases: id -> the bad ``X`` (``y`` stays ``Y``, sized to ``X``'s rows).
X_CASES = {
    "nan": _with(0, 0, np.nan),
    "inf": _with(1, 2, np.inf),
    "empty": X[:0],
    "1d": X[:, 0],
    "3d": X[:, :, None],
    "strings": np.where(X > 0, "a", "b"),
    "mixed_list": [[1.0, "a", None]] * N,
    "complex": X + 1j,
    "sparse": sp.csr_matrix(X),
    "none": None,
}


def _rows(Xb):
    return 0 if Xb is None else Xb.shape[0] if hasattr(Xb, "shape") else len(Xb)


@pytest.mark.parametrize("case", list(X_CASES))
@pytest.mark.parametrize("target", list(SUPERVISED))
def test_fit_bad_X(target, case):
    Xb = X_CASES[case]
    y = Y[: max(_rows(Xb), 1)] if case != "empty" else Y[:0]
    assert_clear_error(lambda: SUPERVISED[target](Xb, y), "X")


@pytest.mark.parametrize("case", list(X_CASES))
@pytest.mark.parametrize("target", list(UNSUPERVISED))
def test_label_free_bad_X(target, case):
    assert_clear_error(lambda: UNSUPERVISED[target](X_CASES[case]), "X")


def test_label_free_one_row():
    assert_clear_error(lambda: UNSUPERVISED["DER.fit"](X[:1]), "X")


#: ``y`` cases: id -> the bad ``y`` for ``X``.
Y_CASES = {
    "short": Y[:-1],
    "2d": np.column_stack([Y, Y]),
    "continuous": np.arange(N) * 0.5,
    "nan": np.where(np.arange(N) == 3, np.nan, Y.astype(float)),
    "mixed_types": np.array(["a", "b"] * (N // 2 - 1) + [None, 2], dtype=object),
    "single_class": np.zeros(N, dtype=int),
    "none": None,
}


def _y_cases(target):
    cases = list(Y_CASES)
    if target == "DER.fit_resample":
        # One class is valid for a label-free sampler: it draws from all rows.
        cases.remove("single_class")
    return [(target, c) for c in cases]


@pytest.mark.parametrize(
    ("target", "case"), [tc for t in SUPERVISED for tc in _y_cases(t)]
)
def test_fit_bad_y(target, case):
    names = ["y"]
    if (target, case) == ("Reweighted", "mixed_types"):
        # LogisticRegression's own error (numpy sorting the labels), passed on
        # unchanged by the meta-estimator, which cannot know y's kind.
        names.append("'<' not supported between instances")
    assert_clear_error(lambda: SUPERVISED[target](X, Y_CASES[case]), *names)


#: ``sample_weight`` cases: id -> the bad weights for ``X, Y``.
WEIGHT_CASES = {
    "short": np.ones(N - 1),
    "negative": np.where(np.arange(N) == 0, -1.0, 1.0),
    "nan": np.where(np.arange(N) == 0, np.nan, 1.0),
    "inf": np.where(np.arange(N) == 0, np.inf, 1.0),
    "all_zero": np.zeros(N),
    "strings": np.array(["a"] * N),
    "2d": np.ones((N, 2)),
}


@pytest.mark.parametrize("case", list(WEIGHT_CASES))
@pytest.mark.parametrize("target", list(SUPERVISED))
def test_fit_bad_sample_weight(target, case):
    weight = WEIGHT_CASES[case]
    assert_clear_error(
        lambda: SUPERVISED[target](X, Y, sample_weight=weight), "sample_weight"
    )


#: The likelihood of ``loss="generalized_focal"``, a per-sample ``fit`` input.
LIKELIHOOD_CASES = {
    "above_1": np.full(N, 1.5),
    "zero": np.zeros(N),
    "negative": np.full(N, -0.5),
    "nan": np.where(np.arange(N) == 0, np.nan, 0.5),
    "short": np.full(N - 1, 0.5),
    "strings": np.array(["a"] * N),
    "2d": np.full((N, 2), 0.5),
    "scalar": 0.5,
}


@pytest.mark.parametrize("case", list(LIKELIHOOD_CASES))
def test_fit_bad_likelihood(case):
    fit = SUPERVISED["clf[generalized_focal]"]
    assert_clear_error(
        lambda: fit(X, Y, likelihood=LIKELIHOOD_CASES[case]), "likelihood"
    )


@pytest.mark.parametrize("target", list(SUPERVISED))
def test_fit_unknown_keyword(target):
    assert_clear_error(lambda: SUPERVISED[target](X, Y, foo=np.ones(N)), "foo")


@pytest.mark.parametrize("target", [t for t in SUPERVISED if t.startswith("clf")])
def test_fit_unknown_scalar_keyword(target):
    assert_clear_error(lambda: SUPERVISED[target](X, Y, foo=1), "foo")


def test_likelihood_to_a_loss_without_it():
    fit = SUPERVISED["clf[cross_entropy]"]
    assert_clear_error(lambda: fit(X, Y, likelihood=np.full(N, 0.5)), "likelihood")


def test_warm_start_with_unseen_labels():
    clf = _net(warm_start=True).fit(X, Y)
    assert_clear_error(lambda: clf.fit(X, np.where(Y == 1, 2, 0)), "warm_start")


@pytest.mark.parametrize("target", [*SUPERVISED, *UNSUPERVISED])
def test_valid_inputs_fit(target):
    """The baseline: without the fault, each call above succeeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if target in UNSUPERVISED:
            UNSUPERVISED[target](X)
        else:
            SUPERVISED[target](X, Y, sample_weight=np.linspace(0.5, 1.5, N))


# == fitted estimators: predict ======================================================
COLUMNS = ["f0", "f1", "f2"]


@pytest.fixture(scope="module")
def fitted():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return {
            "clf": _net().fit(X, Y),
            "clf[anyloss]": _net("anyloss").fit(X, Y3),
            "clf[pandas]": _net().fit(pd.DataFrame(X, columns=COLUMNS), Y),
            "Reweighted": _reweighted().fit(X, Y),
        }


PREDICT_CASES = {
    "n_features": (X[:, :2], "X"),
    "nan": (_with(0, 0, np.nan), "X"),
    "1d": (X[0], "X"),
    "3d": (X[:, :, None], "X"),
    "empty": (X[:0], "X"),
    "strings": (np.where(X > 0, "a", "b"), "X"),
    "too_large_for_float32": (_with(0, 0, 1e300), "X"),
}
PREDICT_METHODS = ("predict", "predict_proba", "decision_function")


@pytest.mark.parametrize("method", PREDICT_METHODS)
@pytest.mark.parametrize("case", list(PREDICT_CASES))
@pytest.mark.parametrize("model", ["clf", "clf[anyloss]", "Reweighted"])
def test_predict_bad_X(fitted, model, case, method):
    Xb, name = PREDICT_CASES[case]
    if model == "Reweighted" and case == "too_large_for_float32":
        pytest.skip("LogisticRegression computes in float64: 1e300 is valid")
    assert_clear_error(lambda: getattr(fitted[model], method)(Xb), name)


@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_predict_unseen_columns(fitted, method):
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    assert_clear_error(lambda: getattr(fitted["clf[pandas]"], method)(df), "X")


@pytest.mark.parametrize("method", PREDICT_METHODS)
def test_predict_before_fit(method):
    exc = assert_clear_error(lambda: getattr(_net(), method)(X), "fit")
    assert "not fitted" in str(exc)


def test_score_with_short_y(fitted):
    assert_clear_error(lambda: fitted["clf"].score(X, Y[:-1]), "y")


def test_compute_weights_other_n_features():
    der = DatasetEquityReweighter(reducer="pca")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        der.fit(X)
    assert_clear_error(lambda: der.compute_weights(X[:, :2]), "X")


# == parameters, generated from get_params() ==========================================
#: Invalid values for parameters whose default (None) says nothing of the type.
NONE_DEFAULTS = {
    "module": ["nope", torch.nn.Linear(7, 1), torch.nn.Linear(3, 5)],
    "validation_scoring": ["nope", 1.5],
    "class_weight": ["nope", {5: 1.0}, {0: "a", 1: 1.0}, {0: -1.0, 1: 2.0}],
    "reweighter": ["nope", DatasetEquityReweighter(eta=-1.0)],
    "reweighting": ["nope", 1.5, LossReweighting(temperature=0.0)],
    "callbacks": ["nope", [1.5]],
    "random_state": ["nope", -1, 1.5],
    "embedding": ["nope"],
    "clusterer": ["nope"],
}


def invalid_values(name, default):
    """A few invalid values for a parameter, from the type of its default."""
    if isinstance(default, bool):
        return ["yes", 1]
    if isinstance(default, numbers.Real):
        return ["nope", -1, math.nan]
    if isinstance(default, str):
        return [1.5, "nope"]
    if isinstance(default, tuple):
        return ["nope", (0,), (1.5,)]
    return NONE_DEFAULTS[name]


def _param_cases(estimator):
    cases = []
    for name, default in estimator.get_params(deep=False).items():
        for value in invalid_values(name, default):
            cases.append(pytest.param(name, value, id=f"{name}={value!r:.30}"))
    return cases


#: Parameters valid in isolation that only some values of others use: set those
#: others so that the parameter is read.
ENABLE = {
    "validation_fraction": {"early_stopping": True},
    "n_iter_no_change": {"early_stopping": True},
    "tol": {"early_stopping": True},
}


@pytest.mark.parametrize(("name", "value"), _param_cases(LossClassifier()))
def test_classifier_invalid_parameter(name, value):
    clf = _net().set_params(**ENABLE.get(name, {}), **{name: value})
    names = (name, "eta", "temperature") if name.startswith("reweight") else (name,)
    assert_clear_error(lambda: clf.fit(X, Y), *names)


@pytest.mark.parametrize(
    ("name", "value"), _param_cases(DatasetEquityReweighter(reducer="pca"))
)
@pytest.mark.parametrize("method", ["fit", "fit_resample", "compute_weights"])
def test_reweighter_invalid_parameter(method, name, value):
    der = DatasetEquityReweighter(reducer="pca").set_params(**{name: value})
    args = (X, Y) if method == "fit_resample" else (X,)
    assert_clear_error(lambda: getattr(der, method)(*args), name)


#: Hand-written parameter cases: (id, parameters, names the message may use).
EXTRA_PARAMS = [
    ("unknown_loss", {"loss": "nope"}, ("loss",)),
    ("loss_param_unknown", {"loss__unknown": 1}, ("unknown",)),
    ("loss_param_invalid", {"loss": "focal", "loss__gamma": -1.0}, ("gamma",)),
    ("loss_param_string", {"loss": "focal", "loss__gamma": "a"}, ("gamma",)),
    ("loss_for_other_task", {"loss": "zloss"}, ("loss",)),
    (
        "module_param_instance",
        {"module": torch.nn.Linear(3, 1), "module__x": 1},
        ("module",),
    ),
    ("module_param_unknown", {"module__nope": 1}, ("nope",)),
    ("module_factory_not_module", {"module": lambda: 1.5}, ("module",)),
    ("optimizer_param_unknown", {"optimizer__nope": 1}, ("nope",)),
    ("optimizer_not_optimizer", {"optimizer": dict}, ("optimizer",)),
    ("callbacks_param_unknown", {"callbacks__nope": 1}, ("callbacks__nope",)),
    ("unknown_parameter", {"foo": 1}, ("foo",)),
    ("batch_sampler_share", {"batch_sampler": 1.5}, ("batch_sampler",)),
    (
        "validation_fraction_1",
        {"early_stopping": True, "validation_fraction": 1.0},
        ("validation_fraction",),
    ),
    (
        "reweighting_unknown_param",
        {"reweighting": "linupper", "reweighting__nope": 1},
        ("nope",),
    ),
    (
        "reweighting_bad_temperature",
        {"reweighting": "linupper", "reweighting__temperature": -1},
        ("temperature",),
    ),
    (
        "reweighting_bad_warmup",
        {"reweighting": "linupper", "reweighting__warmup": -1},
        ("warmup",),
    ),
    ("reweighting_params_alone", {"reweighting__temperature": 1.0}, ("reweighting",)),
    (
        "reweighting_batch_loss",
        {"loss": "anyloss", "reweighting": "linupper"},
        ("reweighting",),
    ),
    (
        "reweighter_unknown_param",
        {"reweighter": DatasetEquityReweighter(reducer="pca"), "reweighter__nope": 1},
        ("nope",),
    ),
    (
        "reweighter_bad_param",
        {"reweighter": DatasetEquityReweighter(reducer="pca"), "reweighter__eta": -1},
        ("eta",),
    ),
    ("reweighter_params_alone", {"reweighter__eta": 1.0}, ("reweighter",)),
    ("device_unavailable", {"device": "cuda:99"}, ("device",)),
]


@pytest.mark.parametrize(
    ("params", "names"), [pytest.param(p, n, id=i) for i, p, n in EXTRA_PARAMS]
)
def test_classifier_invalid_parameter_combination(params, names):
    clf = _net().set_params(**params)
    assert_clear_error(lambda: clf.fit(X, Y), *names)


def test_binary_share_on_multiclass():
    clf = _net(batch_sampler=0.3)
    assert_clear_error(lambda: clf.fit(X, Y3), "batch_sampler")


def test_binary_loss_on_multiclass():
    assert_clear_error(lambda: _net("ensloss").fit(X, Y3), "loss")


@pytest.mark.parametrize(
    "strategy",
    [{5: 3}, {0: -1}, {0: 1.5}, {0: 0, 1: 0}, lambda y: [1, 2]],
    ids=["unseen_label", "negative", "float", "zero_rows", "callable_not_dict"],
)
def test_sampling_strategy_dict(strategy):
    der = DatasetEquityReweighter(reducer="pca", sampling_strategy=strategy)
    assert_clear_error(lambda: der.fit_resample(X, Y), "sampling_strategy")


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"estimator": "nope"}, ("estimator",)),
        ({"reweighter": "nope"}, ("reweighter",)),
        ({"estimator": KNeighborsClassifier()}, ("sample_weight",)),
        ({"reweighter": DatasetEquityReweighter(reducer="nope")}, ("reducer",)),
        ({"estimator": LogisticRegression(C=-1.0)}, ("C",)),
    ],
    ids=["estimator", "reweighter", "no_sample_weight", "reweighter_param", "inner"],
)
def test_reweighted_invalid_parameter(params, names):
    est = _reweighted().set_params(**params)
    assert_clear_error(lambda: est.fit(X, Y), *names)


# == metrics and scorers ==============================================================
YT = np.array([0, 1, 1, 0, 1, 0])
YP = np.array([0, 1, 0, 0, 1, 1])

#: (y_true, y_pred, keyword arguments, names the message may use).
METRIC_CASES = {
    "short_y_pred": (YT, YP[:-1], {}, ("y_pred",)),
    "2d_y_true": (np.column_stack([YT, YT]), YP, {}, ("y_true",)),
    "continuous_y_true": (YT * 0.5 + 0.25, YP, {}, ("y_true",)),
    "nan_y_true": (np.where(YT == 1, np.nan, 0.0), YP, {}, ("y_true",)),
    "empty": (YT[:0], YP[:0], {}, ("y_true",)),
    "mixed_label_types": (np.array(["a", "b"] * 3), YP, {}, ("y_pred",)),
    "unseen_pos_label": (YT, YP, {"pos_label": 5}, ("pos_label",)),
    "multiclass_binary_average": (np.r_[YT, 2], np.r_[YP, 2], {}, ("average",)),
    "bad_average": (YT, YP, {"average": "nope"}, ("average",)),
    "bad_zero_division": (YT, YP, {"zero_division": "nope"}, ("zero_division",)),
    "weight_short": (YT, YP, {"sample_weight": np.ones(5)}, ("sample_weight",)),
    "weight_negative": (YT, YP, {"sample_weight": -np.ones(6)}, ("sample_weight",)),
    "weight_nan": (YT, YP, {"sample_weight": np.full(6, np.nan)}, ("sample_weight",)),
    "weight_strings": (YT, YP, {"sample_weight": ["a"] * 6}, ("sample_weight",)),
    "unknown_keyword": (YT, YP, {"nope": 1}, ("nope",)),
}


@pytest.mark.parametrize("case", list(METRIC_CASES))
@pytest.mark.parametrize("metric", list_metrics())
def test_metric_score_bad_input(metric, case):
    y_true, y_pred, kwargs, names = METRIC_CASES[case]
    m = get_metric(metric)
    if m.matrix_fn is not None and case in (
        "unseen_pos_label",
        "multiclass_binary_average",
    ):
        # accuracy, balanced accuracy, MCC: no positive class, any number of
        # classes (as in sklearn.metrics)
        assert np.isfinite(m.score(y_true, y_pred, **kwargs))
        return
    assert_clear_error(lambda: m.score(y_true, y_pred, **kwargs), *names)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"average": "nope"}, "average"), ({"nope": 1}, "nope")],
    ids=["bad_average", "unknown_keyword"],
)
@pytest.mark.parametrize("metric", list_metrics())
def test_metric_scorer_bad_keyword(fitted, metric, kwargs, name):
    scorer = get_metric(metric).scorer(**kwargs)
    assert_clear_error(lambda: scorer(fitted["clf"], X, Y), name)


@pytest.mark.parametrize("spec", ["nope", 1.5, None])
def test_get_metric_invalid(spec):
    assert_clear_error(lambda: get_metric(spec), "metric")


def test_list_losses_invalid_task():
    assert_clear_error(lambda: list_losses("nope"), "task")


# == losses, called directly as torch modules =========================================
F64 = torch.float64
_XF = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
with torch.random.fork_rng(devices=[]):  # leave the global RNG as it was
    torch.manual_seed(0)
    _MODULE = torch.nn.Linear(3, 3).double()


def _loss_inputs(name):
    """A valid (input, target, context) for loss ``name`` (6 rows)."""
    cls = get_loss_class(name)
    if "ranking" in cls.tasks:
        return _ranking_inputs(cls)
    if "embedding" in cls.tasks:
        z = _MODULE(_XF).detach()
        y = torch.tensor([0, 1, 2, 0, 1, 2])
    elif name == "betti_matching":  # logits and binary masks of 6 images
        z = torch.linspace(-2, 2, 54, dtype=F64).reshape(6, 3, 3)
        y = (z.flip(0) > 0).to(F64)
    elif cls.image:  # 6 images of 8x8 pixels in [0, 1] (ssim, ms_ssim)
        z = torch.linspace(0, 1, 384, dtype=F64).reshape(6, 8, 8)
        y = z.flip(-1)
    elif "regression" in cls.tasks and "multilabel" not in cls.tasks:
        z = torch.linspace(-2, 2, 6, dtype=F64)
        y = torch.linspace(1, -1, 6, dtype=F64)
    elif "multiclass" in cls.tasks:
        z = _MODULE(_XF).detach()
        y = torch.tensor([0, 1, 2, 0, 1, 2])
    elif "multilabel" in cls.tasks:  # a (6, 3) indicator matrix (bce's masks too)
        z = _MODULE(_XF).detach()
        y = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0]] * 2)
    elif "distillation" in cls.tasks:  # n_heads heads of 3 logits
        z = _MODULE(_XF).detach().repeat(1, cls.n_heads)
        y = torch.tensor([0, 1, 2, 0, 1, 2])
    else:
        z = torch.linspace(-2, 2, 6, dtype=F64)
        y = torch.tensor([0, 1, 0, 1, 0, 1])
    supplied = {
        "X": _XF,
        "module": _MODULE,
        "index": torch.arange(6),
        "likelihood": torch.full((6,), 0.5, dtype=F64),
        "view": _XF.flip(1),
        "teacher_logits": _XF.flip(0),
    }
    return z, y, {k: supplied[k] for k in cls.requires}


def _built_loss(name):
    """``get_loss(name)``, set up for the inputs of :func:`_loss_inputs` (an
    embedding loss with parameters of its own builds them in ``setup``)."""
    loss = get_loss(name)
    takes_labels = "target" in inspect.signature(loss.setup).parameters
    if "multilabel" in get_loss_class(name).tasks and takes_labels:  # bce, hybrid
        loss.setup(n_samples=6, n_classes=3, target=_loss_inputs(name)[1])
    if "embedding" in get_loss_class(name).tasks:
        _, _, kw = _loss_inputs(name)
        inputs = {k: v for k, v in kw.items() if k == "view"}
        loss.setup(n_samples=6, n_classes=3, n_components=3, inputs=inputs)
        loss.double()
    return loss


def _ranking_inputs(cls):
    """Scores, relevance and query ids of two queries of three rows; a loss
    that trains its own network (``module_class``) gets that network's outputs
    and the network."""
    groups = torch.tensor([0, 0, 0, 1, 1, 1])
    y = torch.tensor([2.0, 0.0, 1.0, 3.0, 1.0, 0.0], dtype=F64)
    supplied = {"groups": groups, "epoch": 1}
    z = torch.linspace(-2, 2, 6, dtype=F64)
    if getattr(cls, "module_class", None) is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            module = cls.module_class(3).double().eval()
        with torch.no_grad():
            z = module(_XF, groups=groups)
        supplied["module"] = module
    return z, y, {k: supplied[k] for k in cls.requires}


def _nan_first(t):
    t = t.clone()
    t.view(-1)[0] = math.nan
    return t


#: id -> (transform of (input, target, kwargs), names the message may use).
LOSS_CASES = {
    "input_3d": (lambda z, y, kw: (z[..., None, None], y, kw), ("input",)),
    "input_nan": (lambda z, y, kw: (_nan_first(z), y, kw), ("input",)),
    "input_list": (lambda z, y, kw: (z.tolist(), y, kw), ("input",)),
    "input_int": (lambda z, y, kw: (z.long(), y, kw), ("input",)),
    "target_float": (lambda z, y, kw: (z, y.double(), kw), ("target",)),
    "target_bool": (lambda z, y, kw: (z, y > 0, kw), ("target",)),
    "target_out_of_range": (lambda z, y, kw: (z, y + 5, kw), ("target",)),
    "target_negative": (lambda z, y, kw: (z, y - 1, kw), ("target",)),
    "target_short": (lambda z, y, kw: (z, y[:-1], kw), ("target",)),
    "target_2d": (lambda z, y, kw: (z, y[:, None], kw), ("target",)),
    "target_numpy": (lambda z, y, kw: (z, y.numpy(), kw), ("target",)),
    "weight_short": (
        lambda z, y, kw: (z, y, {**kw, "sample_weight": torch.ones(5, dtype=F64)}),
        ("sample_weight",),
    ),
    "weight_negative": (
        lambda z, y, kw: (z, y, {**kw, "sample_weight": -torch.ones(6, dtype=F64)}),
        ("sample_weight",),
    ),
    "weight_nan": (
        lambda z, y, kw: (
            z,
            y,
            {**kw, "sample_weight": torch.full((6,), math.nan, dtype=F64)},
        ),
        ("sample_weight",),
    ),
    "weight_numpy": (
        lambda z, y, kw: (z, y, {**kw, "sample_weight": np.ones(6)}),
        ("sample_weight",),
    ),
}


def _loss_cases():
    # Real-valued targets of any value are valid for a regression loss.
    # So is a column target for one output per sample.
    valid_for_regression = {
        "target_float",
        "target_out_of_range",
        "target_negative",
        "target_2d",
    }
    # Relevance labels are any real numbers (or booleans) for a ranking loss.
    valid_for_ranking = {
        "target_float",
        "target_out_of_range",
        "target_negative",
        "target_bool",
    }
    # Embedding labels are any integers (only equality matters), except for a
    # loss with a class-weight head (UNPG: class indices).
    valid_for_embedding = {"target_bool", "target_out_of_range", "target_negative"}
    # 0/1 labels of any dtype are valid for a multi-label loss.
    valid_for_multilabel = {"target_float", "target_bool"}
    cases = [
        (name, case)
        for name in list_losses()
        for case in LOSS_CASES
        if not (
            "multilabel" in get_loss_class(name).tasks and case in valid_for_multilabel
        )
        and not (
            "regression" in get_loss_class(name).tasks
            and "multilabel" not in get_loss_class(name).tasks
            and case in valid_for_regression
        )
        and not ("ranking" in get_loss_class(name).tasks and case in valid_for_ranking)
        and not (
            "embedding" in get_loss_class(name).tasks
            and case in valid_for_embedding
            and (name != "unpg" or case == "target_bool")
        )
    ]
    # A loss needing extra inputs, called without them (a ranking loss without
    # query ids or epoch takes the batch as one list at its final stage).
    cases += [(name, "missing_context") for name in list_losses()]
    return [c for c in cases if c[1] != "missing_context" or _needed_context(c[0])]


def _needed_context(name):
    cls = get_loss_class(name)
    optional = {"groups", "epoch"} if "ranking" in cls.tasks else set()
    if name == "grouprank":
        optional.add("module")  # without its network: one group per query
    if name == "infonce":
        optional |= {"X", "module"}  # without an augmentation: in-batch views
    return [k for k in cls.requires if k not in optional]


@pytest.mark.parametrize(("name", "case"), _loss_cases())
def test_loss_bad_input(name, case):
    loss = _built_loss(name)
    z, y, kw = _loss_inputs(name)
    if case == "missing_context":
        needed = _needed_context(name)
        rest = {k: v for k, v in kw.items() if k not in needed}
        assert_clear_error(lambda: loss(z, y, **rest), *needed)
        return
    transform, names = LOSS_CASES[case]
    z, y, kw = transform(z, y, kw)
    assert_clear_error(lambda: loss(z, y, **kw), *names)


@pytest.mark.parametrize("name", list_losses())
def test_loss_valid_input(name):
    """The baseline: without the fault, each loss gives a finite value."""
    z, y, kw = _loss_inputs(name)
    loss = _built_loss(name)
    assert torch.isfinite(loss(z, y, sample_weight=torch.ones(6), **kw))


@pytest.mark.parametrize("name", list_losses())
def test_loss_invalid_parameter(name):
    params = get_loss_class(name)._param_names()
    assert_clear_error(lambda: get_loss(name, nope=1), "nope")
    for param in params:
        # A string is invalid for every loss parameter except a name of a metric
        # or mode; those get an unknown name.
        assert_clear_error(lambda p=param: get_loss(name, **{p: "nope"}), param)


@pytest.mark.parametrize("spec", ["nope", 1.5, None])
def test_get_loss_invalid(spec):
    assert_clear_error(lambda: get_loss(spec), "loss")


# == dynamic reweighting ==============================================================
LOSSES = torch.tensor([1.0, 2.0, 3.0])

#: id -> (the bad argument and its value, as keyword arguments of dynamic_weights).
DYNAMIC_CASES = {
    "losses_list": {"losses": [1.0, 2.0]},
    "losses_2d": {"losses": torch.ones(2, 2)},
    "strategy": {"strategy": "nope"},
    "strategy_number": {"strategy": 1},
    "temperature_zero": {"temperature": 0},
    "temperature_nan": {"temperature": math.nan},
    "temperature_string": {"temperature": "a"},
    "weight_short": {"sample_weight": torch.ones(2)},
    "weight_negative": {"sample_weight": -torch.ones(3)},
    "weight_nan": {"sample_weight": torch.full((3,), math.nan)},
    "weight_numpy": {"sample_weight": np.ones(3)},
}


@pytest.mark.parametrize("case", list(DYNAMIC_CASES))
def test_dynamic_weights_bad_input(case):
    kwargs = {"losses": LOSSES, **DYNAMIC_CASES[case]}
    (name,) = set(DYNAMIC_CASES[case])
    assert_clear_error(lambda: dynamic_weights(**kwargs), name)
