"""Log-barrier FTRL: the spec's reference distributions, independent solves of
the FTRL problem, properties of the distribution, regret on adversarial and
stochastic sequences, bandit feedback, sklearn conventions and bad input."""

import copy
import math
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import brentq, minimize
from sklearn.base import clone

from sklearn_losses.online import LogBarrierFTRL, log_barrier_distribution

# spec-metric-misc.md section 12: (L, eta) -> pi, and lambda* for the first one.
REFERENCE = [
    ([1.0, 2.0, 4.0], 0.5, [0.408013, 0.338880, 0.253107]),
    ([1.0, 2.0, 4.0], 5.0, [0.779426, 0.159160, 0.061414]),
    ([-3.0, 2.0, 4.0], 0.5, [0.573617, 0.235664, 0.190719]),
    ([0.0, 0.0, 0.0], 0.5, [1 / 3, 1 / 3, 1 / 3]),
]


def ftrl_objective_solve(losses, eta):
    """argmin <p, L> - (1/eta) sum log p over the simplex, by SLSQP."""
    losses = np.asarray(losses, dtype=np.float64)
    k = losses.size

    def objective(p):
        return p @ losses - np.log(p).sum() / eta

    def gradient(p):
        return losses - 1.0 / (eta * p)

    result = minimize(
        objective,
        np.full(k, 1.0 / k),
        jac=gradient,
        method="SLSQP",
        bounds=[(1e-12, 1.0)] * k,
        constraints=[{"type": "eq", "fun": lambda p: p.sum() - 1.0}],
        options={"ftol": 1e-15, "maxiter": 500},
    )
    assert result.success, result.message
    return result.x


def normalizer_by_brent(losses, eta):
    """Root of sum_a 1 / (eta (L(a) + lam)) - 1 on the spec's bracket."""
    losses = np.asarray(losses, dtype=np.float64)
    low = -losses.min()
    return brentq(
        lambda lam: np.sum(1.0 / (eta * (losses + lam))) - 1.0,
        low + 1e-14 * max(1.0, abs(low)),
        low + losses.size / eta,
        xtol=1e-14,
        rtol=1e-15,
    )


def hedge(losses, eta):
    w = np.exp(-eta * (np.asarray(losses) - np.min(losses)))
    return w / w.sum()


# -- reference values and independent solves ------------------------------------------
@pytest.mark.parametrize("losses, eta, expected", REFERENCE)
def test_spec_reference_distributions(losses, eta, expected):
    p = log_barrier_distribution(losses, eta)
    assert p.dtype == np.float64
    assert_allclose(p, expected, rtol=1e-5)
    learner = LogBarrierFTRL(3, learning_rate=eta).partial_fit(losses)
    assert_allclose(learner.probabilities(), expected, rtol=1e-5)


def test_spec_reference_normalizer_and_closed_form():
    p, lam = log_barrier_distribution([1.0, 2.0, 4.0], 0.5, return_normalizer=True)
    assert lam == pytest.approx(3.901800, rel=1e-6)
    # The distribution is exactly of the form 1 / (eta (L + lambda*)).
    assert_allclose(p, 1.0 / (0.5 * (np.array([1.0, 2.0, 4.0]) + lam)), rtol=1e-10)


def test_more_conservative_than_hedge_as_the_spec_says():
    p = log_barrier_distribution([1.0, 2.0, 4.0], 0.5)
    assert_allclose(hedge([1.0, 2.0, 4.0], 0.5), [0.5465, 0.3315, 0.1220], atol=1e-4)
    assert p[0] < hedge([1.0, 2.0, 4.0], 0.5)[0]
    assert p[2] > hedge([1.0, 2.0, 4.0], 0.5)[2]


@pytest.mark.parametrize(
    "losses, eta",
    [
        ([1.0, 2.0, 4.0], 0.5),
        ([0.3, -2.0, 7.5, 1.0], 0.2),
        ([10.0, 10.5, 9.0, 30.0, 9.1], 3.0),
        ([-50.0, -49.0, 0.0], 0.05),
    ],
)
def test_bisection_equals_independent_solves(losses, eta):
    p, lam = log_barrier_distribution(losses, eta, return_normalizer=True)
    assert lam == pytest.approx(normalizer_by_brent(losses, eta), rel=1e-10, abs=1e-10)
    assert_allclose(p, ftrl_objective_solve(losses, eta), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("losses, eta", [([0.0, 1.0], 1.0), ([2.0, -1.5], 0.7)])
def test_two_actions_equal_a_dense_grid(losses, eta):
    grid = np.linspace(1e-7, 1 - 1e-7, 2_000_001)
    objective = grid * losses[0] + (1 - grid) * losses[1]
    objective -= (np.log(grid) + np.log1p(-grid)) / eta
    best = grid[np.argmin(objective)]
    p = log_barrier_distribution(losses, eta)
    assert p[0] == pytest.approx(best, abs=2e-6)
    # Stationarity on the simplex: L(0) - 1/(eta p0) = L(1) - 1/(eta p1).
    assert losses[0] - 1 / (eta * p[0]) == pytest.approx(
        losses[1] - 1 / (eta * p[1]), rel=1e-9
    )


def test_rows_are_solved_independently():
    rows = np.array([[1.0, 2.0, 4.0], [-3.0, 2.0, 4.0], [0.0, 0.0, 0.0]])
    p, lam = log_barrier_distribution(rows, 0.5, return_normalizer=True)
    assert p.shape == (3, 3) and lam.shape == (3,)
    for i, row in enumerate(rows):
        p_i, lam_i = log_barrier_distribution(row, 0.5, return_normalizer=True)
        assert_allclose(p[i], p_i, rtol=1e-12)
        assert lam[i] == pytest.approx(lam_i, rel=1e-12)


def test_one_action_and_tolerance():
    assert_array_equal(log_barrier_distribution([5.0], 1.0), [1.0])
    coarse = log_barrier_distribution([1.0, 2.0, 4.0], 0.5, tol=1e-3)
    fine = log_barrier_distribution([1.0, 2.0, 4.0], 0.5, tol=1e-15)
    assert coarse.sum() == pytest.approx(1.0, abs=1e-15)
    assert_allclose(coarse, fine, rtol=1e-3)
    assert not np.allclose(coarse, fine, rtol=1e-12, atol=0)


# -- properties ------------------------------------------------------------------------
def test_probabilities_are_positive_and_sum_to_one():
    rng = np.random.default_rng(0)
    for _ in range(50):
        k = int(rng.integers(2, 12))
        losses = rng.normal(scale=10.0 ** rng.uniform(-2, 4), size=k)
        eta = 10.0 ** rng.uniform(-3, 3)
        p = log_barrier_distribution(losses, eta)
        assert np.all(p > 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        # The lower bound of every action's mass.
        assert np.all(p >= 1.0 / (eta * (losses - losses.min()) + k) * (1 - 1e-9))


def test_monotone_in_the_losses():
    losses = np.array([0.5, 1.0, 1.5, 3.0])
    p = log_barrier_distribution(losses, 0.8)
    for a in range(4):
        raised = losses.copy()
        raised[a] += 0.25
        q = log_barrier_distribution(raised, 0.8)
        assert q[a] < p[a]
        assert np.all(np.delete(q, a) > np.delete(p, a))
    # The order of the probabilities is the reverse order of the losses.
    assert np.all(np.diff(p) < 0)


@pytest.mark.parametrize("shift", [-1e3, -1.0, 0.5, 1e6])
def test_invariant_to_a_constant_shift(shift):
    losses = np.array([0.3, -2.0, 7.5, 1.0])
    p, lam = log_barrier_distribution(losses, 0.2, return_normalizer=True)
    q, lam_q = log_barrier_distribution(losses + shift, 0.2, return_normalizer=True)
    assert_allclose(q, p, rtol=1e-9)
    assert lam_q == pytest.approx(lam - shift, rel=1e-9, abs=1e-6)


def test_equal_losses_give_uniform():
    for value in (-1e9, 0.0, 3.7):
        assert_allclose(log_barrier_distribution([value] * 5, 2.0), np.full(5, 0.2))


@pytest.mark.parametrize(
    "losses, eta",
    [
        ([1e300, 0.0, -1e300], 1.0),
        ([1e308, -1e308, 0.0], 10.0),
        ([1e308, -1e308, 0.0], 1e300),
        ([-1e12, -1e12 + 1.0, 5.0], 1e-9),
        ([0.0, 1.0, 2.0], 1e-300),
        ([0.0, 1e-300, 2e-300], 1e300),
    ],
)
def test_extreme_inputs_stay_valid(losses, eta):
    p = log_barrier_distribution(losses, eta)
    assert np.all(np.isfinite(p)) and np.all(p > 0)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.argmax(p) == np.argmin(losses)


def test_huge_learning_rate_approaches_the_leader_and_tiny_one_uniform():
    losses = [0.0, 1.0, 2.0]
    assert log_barrier_distribution(losses, 1e6)[0] > 0.99999
    assert_allclose(
        log_barrier_distribution(losses, 1e-9), np.full(3, 1 / 3), rtol=1e-8
    )


# -- regret ----------------------------------------------------------------------------
def adversarial_losses(n_rounds, seed=0):
    """Follow-the-leader's trap (actions 0 and 1 alternate between 0 and 0.9),
    a common seeded noise on both, and an action that is poor in the first half
    and good in the second (the trap still holds the best fixed action)."""
    rng = np.random.default_rng(seed)
    losses = np.empty((n_rounds, 3))
    losses[:, 0] = 0.9 * ((np.arange(n_rounds) + 1) % 2)
    losses[:, 1] = 0.9 - losses[:, 0]
    losses[0, :2] = [0.45, 0.0]
    losses[:, :2] += rng.uniform(0.0, 0.1, (n_rounds, 1))
    losses[:, 2] = np.where(np.arange(n_rounds) < n_rounds // 2, 0.95, 0.1)
    return losses


def expected_regret(learner, losses):
    """sum_t <p_t, l_t> - min_a sum_t l_t(a), learning from full information."""
    played = 0.0
    for row in losses:
        played += learner.probabilities() @ row
        learner.partial_fit(row)
    return played - losses.sum(axis=0).min()


def theory_bound(n_rounds, k):
    # K ln T / eta + 2 eta T + 1 with eta = sqrt(K ln T / T).
    return 3.0 * math.sqrt(k * n_rounds * math.log(n_rounds)) + 1.0


def test_full_information_regret_is_below_the_bound():
    n_rounds, k = 2000, 3
    losses = adversarial_losses(n_rounds)
    eta = math.sqrt(k * math.log(n_rounds) / n_rounds)
    regret = expected_regret(LogBarrierFTRL(k, learning_rate=eta), losses)
    assert regret <= theory_bound(n_rounds, k)
    # Follow-the-leader (a huge learning rate) pays about T / 2 on the same
    # sequence, above the bound: the sequence does separate the two.
    ftl_regret = expected_regret(LogBarrierFTRL(k, learning_rate=1e6), losses)
    assert ftl_regret > theory_bound(n_rounds, k)
    # Sub-linear: the average regret over the second half is smaller.
    first = expected_regret(LogBarrierFTRL(k, learning_rate=eta), losses[:1000])
    assert regret / n_rounds < first / 1000


def test_bandit_feedback_pseudo_regret_on_a_stochastic_problem():
    n_rounds, k = 3000, 3
    means = np.array([0.2, 0.5, 0.6])
    rng = np.random.default_rng(1)
    draws = (rng.random((n_rounds, k)) < means).astype(float)
    eta = math.sqrt(k * math.log(n_rounds) / n_rounds)
    learner = LogBarrierFTRL(k, learning_rate=eta, feedback="bandit", random_state=0)
    pseudo_regret = 0.0
    for row in draws:
        pseudo_regret += learner.probabilities() @ means - means.min()
        action = learner.select()
        learner.partial_fit(row[action], action=action)
    assert pseudo_regret <= theory_bound(n_rounds, k)
    assert np.argmax(learner.probabilities()) == 0
    # Uniform play would pay (mean - min) per round.
    assert pseudo_regret < 0.5 * n_rounds * (means.mean() - means.min())


# -- bandit feedback ------------------------------------------------------------------
def test_bandit_estimate_is_importance_weighted_and_unbiased():
    learner = LogBarrierFTRL(3, learning_rate=0.5, feedback="bandit")
    learner.partial_fit(2.0, action=2).partial_fit(-1.0, action=0)
    p = learner.probabilities()
    losses = np.array([0.3, 0.8, -0.4])
    expected_increment = np.zeros(3)
    for a in range(3):
        step = copy.deepcopy(learner)
        before = step.cumulative_losses_.copy()
        step.partial_fit(losses[a], action=a)
        increment = step.cumulative_losses_ - before
        assert_allclose(np.delete(increment, a), 0.0)
        assert increment[a] == pytest.approx(losses[a] / p[a], rel=1e-12)
        expected_increment += p[a] * increment
    assert_allclose(expected_increment, losses, rtol=1e-12)


def test_bandit_accepts_a_loss_vector_and_reads_only_the_played_entry():
    a = LogBarrierFTRL(3, feedback="bandit").partial_fit([9.0, 0.7, 9.0], action=1)
    b = LogBarrierFTRL(3, feedback="bandit").partial_fit(0.7, action=1)
    assert_array_equal(a.cumulative_losses_, b.cumulative_losses_)
    assert a.cumulative_losses_[1] == pytest.approx(0.7 * 3)
    # Positional form: partial_fit(loss, action).
    c = LogBarrierFTRL(3, feedback="bandit").partial_fit(0.7, np.int64(1))
    assert_array_equal(c.cumulative_losses_, b.cumulative_losses_)


def test_negative_bandit_estimates_keep_the_distribution_valid():
    # Losses learned with full information, then bandit feedback.
    learner = LogBarrierFTRL(4, learning_rate=1.0, random_state=0)
    learner.partial_fit([0.0, 1e6, 1e6, 1e6]).set_params(feedback="bandit")
    p_before = learner.probabilities()[3]
    learner.partial_fit(-1.0, action=3)  # estimate -1 / p(3), about -1e6
    assert learner.cumulative_losses_[3] == pytest.approx(1e6 - 1.0 / p_before)
    assert learner.cumulative_losses_[3] < 0
    p = learner.probabilities()
    assert np.all(p > 0) and p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.argmax(p) == 3
    # Many negative rounds on rarely played actions: still valid.
    rng = np.random.default_rng(3)
    for _ in range(200):
        action = learner.select()
        learner.partial_fit(float(rng.uniform(-5, 1)), action=action)
        p = learner.probabilities()
        assert np.all(np.isfinite(learner.cumulative_losses_))
        assert np.all(p > 0) and p.sum() == pytest.approx(1.0, abs=1e-12)


# -- estimator conventions -------------------------------------------------------------
def test_select_is_seeded_and_follows_the_distribution():
    learner = LogBarrierFTRL(3, learning_rate=5.0, random_state=0)
    learner.partial_fit([1.0, 2.0, 4.0])
    draws = [learner.select() for _ in range(4000)]
    again = clone(learner).partial_fit([1.0, 2.0, 4.0])
    assert draws == [again.select() for _ in range(4000)]
    frequencies = np.bincount(draws, minlength=3) / 4000
    assert_allclose(frequencies, [0.779426, 0.159160, 0.061414], atol=0.03)
    other = LogBarrierFTRL(3, learning_rate=5.0, random_state=1).partial_fit(
        [1.0, 2.0, 4.0]
    )
    assert draws[:50] != [other.select() for _ in range(50)]


def test_uniform_before_any_feedback():
    learner = LogBarrierFTRL(4)
    assert_array_equal(learner.probabilities(), np.full(4, 0.25))
    assert learner.n_rounds_ == 0


def test_fit_equals_a_partial_fit_loop_and_restarts():
    losses = adversarial_losses(50)
    loop = LogBarrierFTRL(3, learning_rate=0.3)
    for row in losses:
        loop.partial_fit(row)
    fitted = LogBarrierFTRL(3, learning_rate=0.3).fit(losses).fit(losses)
    assert_allclose(fitted.cumulative_losses_, losses.sum(axis=0), rtol=1e-12)
    assert_array_equal(fitted.cumulative_losses_, loop.cumulative_losses_)
    assert fitted.n_rounds_ == 50 and not hasattr(fitted, "actions_")


def test_bandit_fit_draws_its_actions():
    losses = adversarial_losses(100)
    fitted = LogBarrierFTRL(3, feedback="bandit", random_state=4).fit(losses)
    loop = LogBarrierFTRL(3, feedback="bandit", random_state=4)
    actions = []
    for row in losses:
        actions.append(loop.select())
        loop.partial_fit(row[actions[-1]], action=actions[-1])
    assert_array_equal(fitted.actions_, actions)
    assert_array_equal(fitted.cumulative_losses_, loop.cumulative_losses_)
    assert fitted.n_rounds_ == 100
    refit = clone(fitted).fit(losses)
    assert_array_equal(refit.actions_, fitted.actions_)


def test_clone_get_params_and_pickle():
    learner = LogBarrierFTRL(
        3, learning_rate=0.7, feedback="bandit", tol=1e-10, random_state=2
    )
    assert learner.get_params() == {
        "n_actions": 3,
        "learning_rate": 0.7,
        "feedback": "bandit",
        "tol": 1e-10,
        "random_state": 2,
    }
    learner.partial_fit(0.5, action=learner.select())
    fresh = clone(learner)
    assert not hasattr(fresh, "cumulative_losses_")
    restored = pickle.loads(pickle.dumps(learner))
    assert_array_equal(restored.cumulative_losses_, learner.cumulative_losses_)
    # The generator's state travels too: both continue with the same draws.
    assert [restored.select() for _ in range(20)] == [
        learner.select() for _ in range(20)
    ]


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_actions": 1}, "n_actions must be an int >= 2"),
        ({"n_actions": 2.5}, "n_actions must be an int >= 2"),
        ({"n_actions": True}, "n_actions must be an int >= 2"),
        ({"n_actions": 3, "learning_rate": 0}, "learning_rate must be a float > 0"),
        ({"n_actions": 3, "learning_rate": -1.0}, "learning_rate must be a float > 0"),
        ({"n_actions": 3, "learning_rate": float("nan")}, "learning_rate must be"),
        ({"n_actions": 3, "learning_rate": "0.1"}, "learning_rate must be"),
        (
            {"n_actions": 3, "feedback": "partial"},
            "feedback must be 'full' or 'bandit'",
        ),
        ({"n_actions": 3, "tol": 0.0}, r"tol must be a float in \(0, 1\)"),
        ({"n_actions": 3, "tol": 1.0}, r"tol must be a float in \(0, 1\)"),
        ({"n_actions": 3, "random_state": "seed"}, "random_state must be"),
    ],
)
def test_bad_parameters(params, match):
    learner = LogBarrierFTRL(**params)
    for call in (learner.probabilities, learner.select):
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(ValueError, match=match):
        learner.fit(np.zeros((2, 3)))


@pytest.mark.parametrize("action", [-1, 3, 1.0, True, "0", None])
def test_unknown_action(action):
    learner = LogBarrierFTRL(3, feedback="bandit")
    match = r"action must be an int in \[0, 2\]" if action is not None else "needs"
    with pytest.raises(ValueError, match=match):
        learner.partial_fit(0.5, action=action)
    assert learner.n_rounds_ == 0 and not learner.cumulative_losses_.any()


@pytest.mark.parametrize(
    "losses, match",
    [
        ([1.0, 2.0], r"losses must have shape \(3,\)"),
        ([[1.0, 2.0, 3.0]], r"losses must have shape \(3,\)"),
        (1.0, r"losses must have shape \(3,\)"),
        ([1.0, float("nan"), 0.0], "losses must be finite"),
        ([1.0, float("inf"), 0.0], "losses must be finite"),
        (["a", "b", "c"], "losses must be an array of real numbers"),
    ],
)
def test_bad_full_information_losses(losses, match):
    learner = LogBarrierFTRL(3)
    with pytest.raises(ValueError, match=match):
        learner.partial_fit(losses)
    assert learner.n_rounds_ == 0 and not learner.cumulative_losses_.any()


def test_bad_bandit_losses_and_feedback_mismatch():
    bandit = LogBarrierFTRL(3, feedback="bandit")
    with pytest.raises(ValueError, match="loss must be finite"):
        bandit.partial_fit(float("nan"), action=0)
    with pytest.raises(ValueError, match=r"losses must have shape \(3,\)"):
        bandit.partial_fit([0.1, 0.2], action=0)
    with pytest.raises(ValueError, match="action is only used with feedback='bandit'"):
        LogBarrierFTRL(3).partial_fit([0.1, 0.2, 0.3], action=0)


def test_bad_fit_input_and_changed_n_actions():
    with pytest.raises(ValueError, match=r"losses must have shape \(T, 3\)"):
        LogBarrierFTRL(3).fit(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"losses must have shape \(T, 3\)"):
        LogBarrierFTRL(3).fit(np.zeros(3))
    with pytest.raises(ValueError, match="losses must be finite"):
        LogBarrierFTRL(3).fit([[0.0, np.nan, 1.0]])
    learner = LogBarrierFTRL(3).partial_fit([0.0, 1.0, 2.0]).set_params(n_actions=4)
    with pytest.raises(ValueError, match="n_actions is 4 but the learner holds"):
        learner.partial_fit([0.0, 1.0, 2.0, 3.0])
    assert learner.fit(np.zeros((2, 4))).cumulative_losses_.shape == (4,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"cumulative_losses": [1.0, np.nan]}, "cumulative_losses must be finite"),
        ({"cumulative_losses": np.zeros((2, 2, 2))}, r"shape \(K,\) or \(n, K\)"),
        ({"cumulative_losses": []}, r"shape \(K,\) or \(n, K\)"),
        ({"cumulative_losses": 1.0}, r"shape \(K,\) or \(n, K\)"),
        ({"learning_rate": 0.0}, "learning_rate must be a float > 0"),
        ({"learning_rate": np.inf}, "learning_rate must be a float > 0"),
        ({"tol": 2.0}, r"tol must be a float in \(0, 1\)"),
        ({"return_normalizer": 1}, "return_normalizer must be True or False"),
    ],
)
def test_bad_distribution_input(kwargs, match):
    arguments = {"cumulative_losses": [1.0, 2.0], "learning_rate": 0.5, **kwargs}
    with pytest.raises(ValueError, match=match):
        log_barrier_distribution(**arguments)
