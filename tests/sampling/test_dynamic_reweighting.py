"""Dynamic loss-based reweighting: the spec's reference values, an independent
numpy re-implementation, edge cases, and its use inside LossClassifier."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from sklearn_losses import LossClassifier
from sklearn_losses.sampling import STRATEGIES, LossReweighting, dynamic_weights

LOSSES = [2.0, 2.5, 3.0, 3.5, 5.0]

# The spec's table (spec-metric-misc.md section 10): weighted loss sum_i w_i l_i.
REFERENCE_LOSS = [
    ("linupper", 1.0, 3.521262),
    ("linupper", 0.4, 3.858779),
    ("quadratic", 1.0, 3.167276),
    ("quadratic", 0.4, 3.185482),
    ("extremes", 1.0, 3.229492),
    ("extremes", 0.4, 3.304463),
]
# N * w, the multiplier relative to the uniform mean.
REFERENCE_MULTIPLIERS = {
    ("linupper", 1.0): [0.5113, 0.7135, 0.9958, 1.3897, 1.3897],
    ("linupper", 0.4): [0.1517, 0.3491, 0.8032, 1.8480, 1.8480],
    ("quadratic", 1.0): [0.5622, 0.9799, 1.3675, 1.5282, 0.5622],
    ("extremes", 1.0): [1.3897, 0.9958, 0.7135, 0.5113, 1.3897],
}


def naive_weights(losses, strategy, r):
    """The paper's softmax weights (summing to 1), written from the formulas."""
    losses = np.asarray(losses, dtype=np.float64)
    lo, hi = losses.min(), losses.max()
    h = (2 * losses - hi - lo) / max(hi - lo, 1e-6)
    f = {
        "linupper": np.minimum(h + 1, 1),
        "quadratic": 1 - h**2,
        "extremes": np.abs(h),
        "upper": (h + 1) / 2,
    }[strategy]
    e = np.exp((f - f.max()) / r)
    return e / e.sum()


@pytest.mark.parametrize("strategy, r, expected", REFERENCE_LOSS)
def test_reference_weighted_loss(strategy, r, expected):
    losses = torch.tensor(LOSSES, dtype=torch.float64)
    m = dynamic_weights(losses, strategy, r)
    assert float((m * losses).sum() / m.sum()) == pytest.approx(expected, abs=1e-6)
    # Multipliers have mean 1, so the weighted mean is also mean(m * l).
    assert float(m.mean()) == pytest.approx(1.0, abs=1e-12)
    assert float((m * losses).mean()) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("key", sorted(REFERENCE_MULTIPLIERS))
def test_reference_multipliers(key):
    m = dynamic_weights(torch.tensor(LOSSES, dtype=torch.float64), *key)
    assert_allclose(m.numpy(), REFERENCE_MULTIPLIERS[key], atol=1e-4)


def test_uniform_loss_is_the_plain_mean():
    losses = torch.tensor(LOSSES, dtype=torch.float64)
    m = dynamic_weights(losses, "linupper", 1e9)
    assert_allclose(m.numpy(), 1.0, rtol=1e-8)
    assert float((m * losses).mean()) == pytest.approx(3.2)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("r", [0.1, 0.4, 1.0, 5.0])
def test_matches_naive_on_random_batches(strategy, r):
    rng = np.random.RandomState(0)
    for n in (2, 7, 64):
        losses = rng.gamma(2.0, size=n)
        m = dynamic_weights(torch.tensor(losses), strategy, r).numpy()
        assert_allclose(m / n, naive_weights(losses, strategy, r), rtol=1e-10)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_integer_weights_equal_repeated_rows(strategy):
    rng = np.random.RandomState(1)
    losses = rng.gamma(2.0, size=9)
    u = rng.randint(0, 4, size=9).astype(float)
    u[0] = 2.0
    m = dynamic_weights(torch.tensor(losses), strategy, 0.4, torch.tensor(u)).numpy()
    weighted = (u * m * losses).sum() / (u * m).sum()
    repeated = np.repeat(losses, u.astype(int))
    expected = (naive_weights(repeated, strategy, 0.4) * repeated).sum()
    assert weighted == pytest.approx(expected, rel=1e-12)
    # Weighted mean of the multipliers is 1.
    assert (u * m).sum() / u.sum() == pytest.approx(1.0)


def test_zero_weight_rows_do_not_set_the_range():
    losses = torch.tensor([1.0, 2.0, 3.0, 100.0], dtype=torch.float64)
    u = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    m = dynamic_weights(losses, "linupper", 0.4, u)
    m3 = dynamic_weights(losses[:3], "linupper", 0.4)
    assert_allclose(m[:3].numpy(), m3.numpy())
    assert m[3] == 0


def test_equal_losses_and_single_row_give_ones():
    for losses in ([1.5, 1.5, 1.5], [4.0]):
        for strategy in STRATEGIES:
            m = dynamic_weights(torch.tensor(losses), strategy, 0.4)
            assert_allclose(m.numpy(), 1.0)
    assert dynamic_weights(torch.zeros(0), "linupper").shape == (0,)


def test_non_finite_losses_are_left_out_and_not_hidden():
    losses = torch.tensor([1.0, float("nan"), 3.0, float("inf")])
    m = dynamic_weights(losses, "linupper", 1.0)
    assert m[1] == 0 and m[3] == 0
    assert_allclose(m[[0, 2]].numpy(), dynamic_weights(losses[[0, 2]], "linupper", 1.0))
    # The reduced loss stays NaN, so training stops with a clear error.
    assert torch.isnan((m * losses).sum())


def test_detached_and_dtype():
    losses = torch.tensor(LOSSES, requires_grad=True)
    m = dynamic_weights(losses * 2, "quadratic", 0.4)
    assert not m.requires_grad and m.dtype == torch.float32
    assert dynamic_weights(torch.tensor([1, 2, 3]), "linupper").dtype == torch.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"strategy": "lin_upper"}, "strategy must be one of"),
        ({"strategy": 3}, "strategy must be one of"),
        ({"temperature": 0.0}, "temperature must be"),
        ({"temperature": float("nan")}, "temperature must be"),
        ({"temperature": True}, "temperature must be"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dynamic_weights(torch.tensor(LOSSES), **kwargs)


def test_bad_losses_shape():
    with pytest.raises(ValueError, match="one loss per sample"):
        dynamic_weights(torch.ones(3, 2))


@pytest.mark.parametrize(
    "warmup, total, expected", [(0.1, 100, 10), (0.0, 50, 0), (7, 3, 7), (0.25, 9, 2)]
)
def test_warmup_steps(warmup, total, expected):
    assert LossReweighting(warmup=warmup).validate().warmup_steps(total) == expected


@pytest.mark.parametrize("warmup", [1.0, -1, 1.5, "10%", None, True])
def test_bad_warmup(warmup):
    with pytest.raises(ValueError, match="warmup must be"):
        LossReweighting(warmup=warmup).validate()


# -- inside LossClassifier --------------------------------------------------------


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=300, n_features=6, weights=[0.8], flip_y=0.05, random_state=0
    )


class BatchRecorder(Callback):
    """Records each training batch's loss and logits with the labels."""

    def initialize(self):
        self.records = []
        return self

    def on_batch_end(self, net, batch=None, training=None, loss=None, y_pred=None):
        self.records.append(
            (float(loss.detach()), y_pred.detach().double(), batch[1].clone())
        )


def _fit_recording(X, y, **params):
    # The plain MLP: the recorder recomputes the loss of one output per row.
    clf = LossClassifier(
        module="mlp",
        early_stopping=False,
        callbacks=[("rec", BatchRecorder())],
        batch_size=64,
        max_epochs=2,
        random_state=0,
        **params,
    ).fit(X, y)
    return clf, dict(clf.net_.callbacks_)["rec"].records


@pytest.mark.parametrize("strategy", ["linupper", "quadratic", "extremes"])
def test_engine_uses_the_batch_losses(data, strategy):
    X, y = data
    _, records = _fit_recording(
        X, y, reweighting=LossReweighting(strategy, temperature=0.7, warmup=3)
    )
    assert len(records) == 2 * 5
    for step, (loss, logits, target) in enumerate(records, start=1):
        terms = F.binary_cross_entropy_with_logits(
            logits, target.double(), reduction="none"
        ).numpy()
        if step <= 3:  # warm-up: the plain mean
            expected = terms.mean()
        else:
            expected = (naive_weights(terms, strategy, 0.7) * terms).sum()
        assert loss == pytest.approx(expected, rel=1e-5)


def test_no_extra_forward_pass(data):
    X, y = data
    calls = {"n": 0}

    def factory(n_features_in, n_outputs):
        module = torch.nn.Linear(n_features_in, n_outputs)
        module.register_forward_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
        return module

    counts = []
    for reweighting in (None, "linupper"):
        calls["n"] = 0
        LossClassifier(
            module=factory,
            reweighting=reweighting,
            early_stopping=False,
            max_epochs=3,
            random_state=0,
        ).fit(X, y)
        counts.append(calls["n"])
    assert counts[0] == counts[1] == 3 * 3


def test_full_warmup_equals_no_reweighting(data):
    X, y = data
    plain = LossClassifier(max_epochs=4, random_state=0).fit(X, y)
    warm = LossClassifier(
        reweighting="linupper",
        reweighting__warmup=10_000,
        max_epochs=4,
        random_state=0,
    ).fit(X, y)
    assert_allclose(warm.predict_proba(X), plain.predict_proba(X), rtol=1e-6)
    active = LossClassifier(
        reweighting="linupper", reweighting__warmup=0, max_epochs=4, random_state=0
    ).fit(X, y)
    assert not np.allclose(active.predict_proba(X), plain.predict_proba(X))


def test_user_weights_multiplied_in(data):
    """Integer weights equal repeated rows when each batch is the whole data."""
    X, y = data
    counts = np.random.RandomState(0).randint(1, 4, size=len(y))
    common = {
        "reweighting": "quadratic",
        "reweighting__warmup": 0,
        "batch_size": 10_000,
        "max_epochs": 5,
        "early_stopping": False,
        "random_state": 0,
        "lr": 1e-2,
    }
    weighted = LossClassifier(**common).fit(X, y, sample_weight=counts)
    repeated = LossClassifier(**common).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-4)


def test_validation_loss_is_not_reweighted(data):
    X, y = data
    clf = LossClassifier(
        reweighting="linupper",
        reweighting__warmup=0,
        early_stopping=True,
        max_epochs=3,
        random_state=0,
    ).fit(X, y)
    # The validation loss is the plain (unweighted) cross-entropy.
    valid_loss = clf.history_[-1, "valid_loss"]
    assert np.isfinite(valid_loss) and valid_loss > 0


@pytest.mark.parametrize("loss", ["focal", "gce", "ldr_kl", "aldr_kl", "comp_sum"])
def test_works_with_per_sample_losses(data, loss):
    X, y = data
    clf = LossClassifier(
        loss=loss, reweighting="extremes", max_epochs=2, random_state=0
    ).fit(X, y)
    assert np.isfinite(clf.history_[-1, "train_loss"])


def test_grid_search_over_strategies(data):
    X, y = data
    grid = GridSearchCV(
        LossClassifier(max_epochs=3, random_state=0),
        {
            "reweighting": [None, "linupper", "quadratic", "extremes"],
            "reweighting__temperature": [0.4, 1.0],
        },
        cv=2,
        error_score="raise",
    )
    # reweighting__temperature with reweighting=None is refused: use two grids.
    with pytest.raises(ValueError, match="need reweighting"):
        grid.fit(X, y)
    grid.set_params(
        param_grid=[
            {"reweighting": [None]},
            {
                "reweighting": ["linupper", "quadratic", "extremes"],
                "reweighting__temperature": [0.4, 1.0],
            },
        ]
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 7


def test_params_clone_and_instance(data):
    clf = LossClassifier(reweighting="linupper", reweighting__temperature=2.0)
    assert clf.get_params()["reweighting__temperature"] == 2.0
    assert clone(clf).get_params()["reweighting__temperature"] == 2.0
    rw = LossReweighting("quadratic", temperature=0.5)
    X, y = data
    LossClassifier(reweighting=rw, reweighting__warmup=0, max_epochs=1).fit(X, y)
    assert rw.warmup == 0.1  # the instance is not modified


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"loss": "anyloss", "reweighting": "linupper"}, ValueError, "'anyloss'"),
        ({"loss": "ensloss", "reweighting": "linupper"}, ValueError, "'ensloss'"),
        (
            {"reweighting": "hard"},
            ValueError,
            "reweighting must be None, a strategy name",
        ),
        ({"reweighting": 0.4}, ValueError, "reweighting must be None"),
        ({"reweighting__temperature": 1.0}, ValueError, "need reweighting"),
        (
            {"reweighting": "linupper", "reweighting__temp": 1.0},
            ValueError,
            "reweighting__",
        ),
        (
            {"reweighting": "linupper", "reweighting__temperature": -1.0},
            ValueError,
            "temperature",
        ),
        ({"reweighting": "linupper", "reweighting__warmup": 2.0}, ValueError, "warmup"),
    ],
)
def test_bad_estimator_parameters(data, params, error, match):
    X, y = data
    with pytest.raises(error, match=match):
        LossClassifier(max_epochs=1, **params).fit(X, y)


def test_divergence_is_reported_with_reweighting(data):
    X, y = data
    X = X.copy()
    from sklearn_losses import TrainingDivergedError

    with pytest.raises(TrainingDivergedError, match="cross_entropy"):
        LossClassifier(
            reweighting="linupper",
            lr=1e6,
            optimizer="sgd",
            max_epochs=20,
            random_state=0,
        ).fit(X * 1e6, y)
