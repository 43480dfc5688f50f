"""Tests of NeuralContextualBandit (NeuSquareCB / NeuFastCB), its action
selection rules and the classification-to-bandit simulator."""

import copy
import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.utils import check_random_state

from sklearn_losses.online import (
    ClassificationBandit,
    NeuralContextualBandit,
    fastcb_probabilities,
    log_barrier_distribution,
    run_bandit,
    squarecb_probabilities,
)

Y_HAT = [0.2, 0.5, 0.9, 0.4]

#: Spec §11 reference values: gamma -> (SquareCB, FastCB) for the rewards Y_HAT.
REFERENCE = {
    0: ([0.25, 0.25, 0.25, 0.25], [0.25, 0.25, 0.25, 0.25]),
    10: (
        [0.090909, 0.125, 0.672980, 0.111111],
        [0.013514, 0.022727, 0.945241, 0.018519],
    ),
    100: (
        [0.013514, 0.022727, 0.945241, 0.018519],
        [0.001420, 0.002475, 0.994120, 0.001984],
    ),
}


# -- independent reference (pure Python loops) --------------------------------
def _naive_squarecb(rewards, gamma):
    k = len(rewards)
    b = max(range(k), key=lambda a: (rewards[a], -a))
    p = [1.0 / (k + gamma * (rewards[b] - rewards[a])) for a in range(k)]
    p[b] = 1.0 - sum(p[a] for a in range(k) if a != b)
    return p


def _naive_fastcb(losses, gamma):
    k = len(losses)
    losses = [min(max(v, 1e-3), 1.0) for v in losses]
    b = min(range(k), key=lambda a: (losses[a], a))
    lb = losses[b]
    p = [lb / (k * lb + gamma * (losses[a] - lb)) for a in range(k)]
    p[b] = 1.0 - sum(p[a] for a in range(k) if a != b)
    return p


def _easy_problem(n=600, seed=0):
    return make_classification(
        n_samples=n,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=2.5,
        random_state=seed,
    )


class _EpsilonGreedy:
    """Context-free epsilon-greedy on each action's mean reward."""

    def __init__(self, n_actions, epsilon=0.1, seed=0):
        self.rng = np.random.RandomState(seed)
        self.epsilon = epsilon
        self.count = np.zeros(n_actions)
        self.total = np.zeros(n_actions)

    def select(self, context):
        if self.rng.rand() < self.epsilon:
            return int(self.rng.randint(len(self.count)))
        mean = np.where(self.count > 0, self.total / np.maximum(self.count, 1), np.inf)
        return int(np.argmax(mean))

    def partial_fit(self, context, action, reward):
        self.count[action] += 1
        self.total[action] += reward
        return self


def _with_fixed_rewards(bandit, rewards, width=3):
    """Start ``bandit`` and make its network output the given rewards for
    every context (zero last-layer weights, bias = rewards or their logits)."""
    bandit.predict(np.zeros(width))
    last = bandit.module_[-1]
    rewards = torch.tensor(rewards, dtype=torch.float32)
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(rewards if bandit.loss == "squared" else torch.logit(rewards))
    return bandit


# -- reference values and the rules -------------------------------------------
@pytest.mark.parametrize("gamma", sorted(REFERENCE))
def test_spec_reference_values(gamma):
    square, fast = REFERENCE[gamma]
    np.testing.assert_allclose(
        squarecb_probabilities(Y_HAT, gamma), square, rtol=1e-5, atol=1e-6
    )
    losses = 1.0 - np.array(Y_HAT)
    np.testing.assert_allclose(
        fastcb_probabilities(losses, gamma), fast, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("gamma", [10, 100])
@pytest.mark.parametrize("loss", ["squared", "kl"])
def test_bandit_draws_from_the_reference_distribution(loss, gamma):
    square, fast = REFERENCE[gamma]
    for exploration, expected in [("squarecb", square), ("fastcb", fast)]:
        bandit = _with_fixed_rewards(
            NeuralContextualBandit(
                4, loss=loss, exploration=exploration, gamma=gamma, random_state=0
            ),
            Y_HAT,
        )
        np.testing.assert_allclose(
            bandit.action_probabilities(np.ones(3)), expected, rtol=1e-4, atol=1e-6
        )
        np.testing.assert_allclose(bandit.predict(np.ones(3)), Y_HAT, rtol=1e-6)
    auto = NeuralContextualBandit(4, loss=loss, gamma=gamma, random_state=0)
    paired = square if loss == "squared" else fast
    np.testing.assert_allclose(
        _with_fixed_rewards(auto, Y_HAT).action_probabilities(np.ones(3)),
        paired,
        rtol=1e-4,
        atol=1e-6,
    )


def test_ftrl_exploration_is_the_log_barrier_distribution_of_predicted_losses():
    bandit = _with_fixed_rewards(
        NeuralContextualBandit(4, exploration="ftrl", gamma=10, random_state=0), Y_HAT
    )
    expected = log_barrier_distribution(1.0 - np.array(Y_HAT, dtype=np.float32), 10)
    np.testing.assert_allclose(bandit.action_probabilities(np.ones(3)), expected)
    assert np.argmax(expected) == 2
    bandit.set_params(gamma=0.0)
    np.testing.assert_allclose(bandit.action_probabilities(np.ones(3)), 0.25)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 10.0, 1e4])
def test_rules_match_naive_loops_row_by_row(gamma):
    rng = np.random.RandomState(0)
    rewards = rng.uniform(size=(20, 5))
    rewards[3, [1, 4]] = rewards[3].max() + 0.1  # a tie at the maximum
    rewards[4, 2] = 1.0  # predicted loss 0: clamped by FastCB
    square = squarecb_probabilities(rewards, gamma)
    fast = fastcb_probabilities(1.0 - rewards, gamma)
    for i, row in enumerate(rewards.tolist()):
        np.testing.assert_allclose(square[i], _naive_squarecb(row, gamma), rtol=1e-12)
        np.testing.assert_allclose(
            fast[i], _naive_fastcb([1.0 - v for v in row], gamma), rtol=1e-12
        )


@pytest.mark.parametrize("rule", [squarecb_probabilities, fastcb_probabilities])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 100.0])
def test_probabilities_sum_to_one_and_favour_the_best_action(rule, gamma):
    rewards = np.random.RandomState(1).uniform(size=(50, 6))
    scores = rewards if rule is squarecb_probabilities else 1.0 - rewards
    p = rule(scores, gamma)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p >= 0).all()
    best = np.argmax(rewards, axis=1)
    rows = np.arange(len(p))
    assert (p[rows, best][:, None] >= p - 1e-15).all()
    assert (p[rows, best] >= 1 / 6 - 1e-12).all()
    if gamma:
        # Higher predicted reward, higher probability.
        for i in range(len(p)):
            order = np.argsort(rewards[i])
            assert (np.diff(p[i][order]) >= -1e-15).all()
    else:
        np.testing.assert_allclose(p, 1 / 6)


def test_rule_edge_cases():
    # Ties at the maximum: the first best action takes the remainder.
    p = squarecb_probabilities([0.5, 0.9, 0.9], 10.0)
    np.testing.assert_allclose(p, [1 / 7, 1 - 1 / 7 - 1 / 3, 1 / 3])
    # One action: probability 1.
    assert squarecb_probabilities([0.3], 10.0).tolist() == [1.0]
    assert fastcb_probabilities([0.3], 10.0).tolist() == [1.0]
    # FastCB with a predicted loss of 0 is clamped to 1e-3, not greedy.
    p = fastcb_probabilities([0.0, 0.5], 10.0)
    np.testing.assert_allclose(p[1], 1e-3 / (2e-3 + 10 * 0.499))
    # More exploitation with a larger gamma.
    assert squarecb_probabilities(Y_HAT, 1000)[2] > squarecb_probabilities(Y_HAT, 10)[2]


@pytest.mark.parametrize("rule", [squarecb_probabilities, fastcb_probabilities])
def test_rules_refuse_bad_input(rule):
    with pytest.raises(ValueError, match="gamma must be a float >= 0"):
        rule(Y_HAT, -1.0)
    with pytest.raises(ValueError, match="must be finite"):
        rule([0.1, np.nan], 1.0)
    with pytest.raises(ValueError, match=r"shape \(n_actions,\) or \(n, n_actions\)"):
        rule(np.zeros((2, 2, 2)), 1.0)


# -- the estimator ------------------------------------------------------------
def test_shapes_of_one_context_and_of_a_batch():
    bandit = NeuralContextualBandit(3, random_state=0)
    X = np.random.RandomState(0).normal(size=(7, 4))
    action = bandit.select(X[0])
    assert isinstance(action, int) and 0 <= action < 3
    actions = bandit.select(X)
    assert actions.shape == (7,) and actions.dtype.kind == "i"
    assert bandit.predict(X[0]).shape == (3,)
    assert bandit.predict(X).shape == (7, 3)
    p = bandit.action_probabilities(X)
    assert p.shape == (7, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert bandit.n_features_in_ == 4 and bandit.n_rounds_ == 0
    bandit.partial_fit(X, actions, np.zeros(7))
    assert bandit.n_rounds_ == 7


def test_select_draws_from_action_probabilities():
    bandit = _with_fixed_rewards(
        NeuralContextualBandit(4, gamma=10, random_state=0), Y_HAT
    )
    actions = bandit.select(np.zeros((20000, 3)))
    freq = np.bincount(actions, minlength=4) / len(actions)
    np.testing.assert_allclose(freq, REFERENCE[10][0], atol=0.015)


@pytest.mark.parametrize("loss", ["squared", "kl"])
@pytest.mark.parametrize("perturbation", [0.0, 0.3])
def test_one_update_matches_a_naive_step(loss, perturbation):
    """The first update (no replay yet) is one Adam step on the played
    action's output only, perturbed by N(0, perturbation^2) noise drawn after
    the network's seed from the same stream."""
    bandit = NeuralContextualBandit(
        3, loss=loss, perturbation=perturbation, lr=0.01, random_state=5
    )
    x = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    bandit.predict(x)
    net = copy.deepcopy(bandit.module_)
    start = bandit.module_[-1].weight.detach().clone()
    rng = check_random_state(5)
    rng.randint(np.iinfo(np.int32).max)
    noise = rng.normal(scale=perturbation, size=1)[0] if perturbation else 0.0
    out = net(torch.from_numpy(x[None]))[0, 2] + float(noise)
    if loss == "squared":
        value = (out - 0.7) ** 2
    else:
        p = torch.sigmoid(out)
        value = -(0.7 * torch.log(p) + 0.3 * torch.log(1 - p))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    value.backward()
    optimizer.step()
    bandit.partial_fit(x, 2, 0.7)
    for mine, naive in zip(bandit.module_.parameters(), net.parameters(), strict=True):
        torch.testing.assert_close(mine, naive, rtol=1e-5, atol=1e-6)
    # Only the played action's head moved in the last layer.
    weight = bandit.module_[-1].weight.detach()
    torch.testing.assert_close(weight[:2], start[:2], rtol=0, atol=0)
    assert not torch.equal(weight[2], start[2])


@pytest.mark.parametrize("loss", ["squared", "kl"])
def test_partial_fit_learns_the_rewarded_action(loss):
    bandit = NeuralContextualBandit(3, loss=loss, lr=0.01, random_state=0)
    x = np.array([1.0, -0.5])
    before = bandit.predict(x)
    for _ in range(30):
        bandit.partial_fit(x, 1, 1.0)
        bandit.partial_fit(x, 2, 0.0)
    after = bandit.predict(x)
    assert after[1] > before[1] + 0.3
    assert after[2] < before[2] or after[2] < 0.1
    assert after[1] > after[2] + 0.5
    assert np.argmax(bandit.action_probabilities(x)) == 1


@pytest.mark.parametrize("loss", ["squared", "kl"])
def test_a_batch_is_learned_as_its_rounds_one_by_one(loss):
    X, y = _easy_problem(40)
    rewards = (np.arange(40) % 3 == y).astype(float)
    actions = np.arange(40) % 3
    batch = NeuralContextualBandit(
        3, loss=loss, batch_size=8, perturbation=0.1, random_state=0
    )
    batch.partial_fit(X, actions, rewards)
    single = NeuralContextualBandit(
        3, loss=loss, batch_size=8, perturbation=0.1, random_state=0
    )
    for x, a, r in zip(X, actions, rewards, strict=True):
        single.partial_fit(x, int(a), float(r))
    np.testing.assert_array_equal(batch.predict(X), single.predict(X))


@pytest.mark.parametrize("loss", ["squared", "kl"])
def test_random_state_makes_a_run_reproducible(loss):
    X, y = _easy_problem(150)

    def run(seed):
        env = ClassificationBandit(X, y, random_state=0)
        bandit = NeuralContextualBandit(
            3, loss=loss, perturbation=0.05, random_state=seed
        )
        actions = []
        for t, x in env.rounds():
            actions.append(bandit.select(x))
            bandit.partial_fit(x, actions[-1], env.reward(t, actions[-1]))
        return actions, bandit.predict(X)

    first, second, other = run(3), run(3), run(4)
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    assert first[0] != other[0]


def test_the_global_torch_stream_is_untouched():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    bandit = NeuralContextualBandit(3, random_state=0)
    bandit.partial_fit(np.ones((4, 2)), [0, 1, 2, 0], [1.0, 0.0, 1.0, 0.0])
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.mark.parametrize("loss", ["squared", "kl"])
def test_regret_on_an_easy_problem_is_below_epsilon_greedy(loss):
    X, y = _easy_problem()
    env = ClassificationBandit(X, y, random_state=0)
    greedy = run_bandit(_EpsilonGreedy(3, seed=0), env)[-1]
    gamma = 10.0 if loss == "squared" else 100.0
    neural = run_bandit(
        NeuralContextualBandit(3, loss=loss, gamma=gamma, random_state=0), env
    )
    # Context-free epsilon-greedy at best plays the largest class (about 2/3
    # wrong); the neural bandit learns the classes: regret at most half.
    assert greedy > 300
    assert neural[-1] < 0.5 * greedy


def test_clone_and_get_set_params():
    bandit = NeuralContextualBandit(4, loss="kl", gamma=10.0, random_state=0)
    bandit.partial_fit(np.ones((3, 2)), [0, 1, 2], [1.0, 0.0, 1.0])
    fresh = clone(bandit)
    assert fresh.get_params() == bandit.get_params()
    assert not hasattr(fresh, "module_")
    assert all(not key.endswith("_") for key in bandit.get_params())
    fresh.set_params(gamma=1000.0, exploration="squarecb")
    assert fresh.gamma == 1000.0 and fresh.exploration == "squarecb"
    # A parameter read each round may change mid-run.
    bandit.set_params(gamma=0.0)
    np.testing.assert_allclose(bandit.action_probabilities(np.ones(2)), 0.25)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_copy_mid_run_continues_exactly_as_the_original(how):
    X, y = _easy_problem(120)
    env = ClassificationBandit(X, y, random_state=1)
    bandit = NeuralContextualBandit(3, loss="kl", perturbation=0.05, random_state=0)
    run_bandit(bandit, env, n_rounds=60)
    twin = (
        pickle.loads(pickle.dumps(bandit)) if how == "pickle" else copy.deepcopy(bandit)
    )
    assert twin.n_rounds_ == 60

    def rest(policy):
        actions = []
        for t in range(60, 120):
            x = env.context(t)
            actions.append(policy.select(x))
            policy.partial_fit(x, actions[-1], env.reward(t, actions[-1]))
        return actions, policy.predict(X)

    mine, theirs = rest(bandit), rest(twin)
    assert mine[0] == theirs[0]
    np.testing.assert_array_equal(mine[1], theirs[1])


# -- bad input -----------------------------------------------------------------
@pytest.mark.parametrize("n_actions", [1, 0, -2, 2.0, "3", True, None])
def test_n_actions_below_two_is_refused(n_actions):
    with pytest.raises(ValueError, match=r"n_actions must be an int >= 2"):
        NeuralContextualBandit(n_actions).select(np.ones(2))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"loss": "hinge"}, "loss must be 'squared' or 'kl'"),
        ({"exploration": "ucb"}, "exploration must be 'auto', 'squarecb', 'fastcb'"),
        ({"gamma": -1.0}, "gamma must be a float >= 0"),
        ({"lr": 0.0}, "lr must be a float > 0"),
        ({"n_steps": 0}, "n_steps must be an int >= 1"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"replay_size": -1}, "replay_size must be an int >= 0"),
        ({"perturbation": -0.1}, "perturbation must be a float >= 0"),
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes must be a tuple"),
        ({"activation": "swish"}, "activation must be"),
        ({"random_state": "seed"}, "random_state must be"),
    ],
)
def test_bad_parameters_are_refused(params, message):
    with pytest.raises(ValueError, match=message):
        NeuralContextualBandit(3, **params).partial_fit(np.ones(2), 0, 0.5)


@pytest.mark.parametrize("action", [3, -1, 10])
def test_unknown_action_is_refused(action):
    bandit = NeuralContextualBandit(3, random_state=0)
    with pytest.raises(ValueError, match=r"action must be an int in \[0, 2\]"):
        bandit.partial_fit(np.ones(2), action, 1.0)
    with pytest.raises(ValueError, match=r"action must be 2 ints in \[0, 2\]"):
        bandit.partial_fit(np.ones((2, 2)), [0, action], [1.0, 1.0])
    assert bandit.n_rounds_ == 0


@pytest.mark.parametrize("action", [1.5, 1.0, "1", True, None])
def test_non_integer_action_is_refused(action):
    with pytest.raises(TypeError, match=r"action must be an int in \[0, 2\]"):
        NeuralContextualBandit(3).partial_fit(np.ones(2), action, 1.0)


def test_mismatched_lengths_are_refused():
    bandit = NeuralContextualBandit(3, random_state=0)
    with pytest.raises(ValueError, match="action must be 3 ints"):
        bandit.partial_fit(np.ones((3, 2)), [0, 1], [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="reward must be 3 floats"):
        bandit.partial_fit(np.ones((3, 2)), [0, 1, 2], [1.0, 0.0])
    with pytest.raises(ValueError, match="reward must be a float"):
        bandit.partial_fit(np.ones(2), 0, [1.0, 0.0])


def test_context_of_another_width_is_refused():
    bandit = NeuralContextualBandit(3, random_state=0)
    bandit.select(np.ones(4))
    for method in (bandit.select, bandit.predict, bandit.action_probabilities):
        with pytest.raises(ValueError, match="context has 5 features, but .* with 4"):
            method(np.ones((2, 5)))
    with pytest.raises(ValueError, match="context has 3 features"):
        bandit.partial_fit(np.ones(3), 0, 1.0)


@pytest.mark.parametrize("context", [[np.nan, 1.0], [[np.inf, 1.0]], np.ones((0, 2))])
def test_non_finite_or_empty_context_is_refused(context):
    with pytest.raises(ValueError, match="context|sample"):
        NeuralContextualBandit(3).select(context)


@pytest.mark.parametrize("reward", [-0.1, 1.5])
def test_reward_outside_unit_interval_is_refused_for_kl(reward):
    with pytest.raises(ValueError, match=r"reward must lie in \[0, 1\] with loss='kl'"):
        NeuralContextualBandit(3, loss="kl").partial_fit(np.ones(2), 0, reward)
    # The squared loss regresses any finite reward.
    squared = NeuralContextualBandit(3, loss="squared", random_state=0)
    assert squared.partial_fit(np.ones(2), 0, reward).n_rounds_ == 1
    with pytest.raises(ValueError, match="reward must be finite"):
        squared.partial_fit(np.ones(2), 0, np.nan)


def test_changing_n_actions_after_start_is_refused():
    bandit = NeuralContextualBandit(3, random_state=0)
    bandit.select(np.ones(2))
    bandit.set_params(n_actions=4)
    with pytest.raises(ValueError, match="n_actions was changed to 4"):
        bandit.select(np.ones(2))


# -- the simulator ---------------------------------------------------------------
def test_classification_bandit_rewards_the_true_class():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array(["b", "a", "c", "a", "b"])
    env = ClassificationBandit(X, y, n_rounds=12, random_state=0)
    assert env.n_actions == 3 and env.n_rounds == 12 and env.n_features == 2
    assert env.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(env.best_reward, np.ones(12))
    # Each pass plays every row once.
    assert sorted(env.order_[:5]) == list(range(5))
    assert sorted(env.order_[5:10]) == list(range(5))
    for t, context in env.rounds():
        row = env.order_[t]
        np.testing.assert_array_equal(context, X[row])
        np.testing.assert_array_equal(env.context(t), X[row])
        rewards = [env.reward(t, a) for a in range(3)]
        assert rewards == [float(env.classes_[a] == y[row]) for a in range(3)]
        assert env.best_action(t) == rewards.index(1.0)
    same = ClassificationBandit(X, y, n_rounds=12, random_state=0)
    np.testing.assert_array_equal(same.order_, env.order_)


def test_run_bandit_counts_wrong_actions():
    X, y = _easy_problem(90)
    env = ClassificationBandit(X, y, random_state=0)

    class Oracle:
        def __init__(self):
            self.t = 0

        def select(self, context):
            return env.best_action(self.t)

        def partial_fit(self, context, action, reward):
            self.t += 1
            return self

    assert run_bandit(Oracle(), env).tolist() == [0.0] * 90

    class Constant:
        def select(self, context):
            return 1

        def partial_fit(self, context, action, reward):
            return self

    regret = run_bandit(Constant(), env, n_rounds=50)
    assert regret.shape == (50,)
    assert regret[-1] == np.sum(y[env.order_[:50]] != 1)
    assert (np.diff(regret) >= 0).all()


def test_simulator_refuses_bad_input():
    X, y = _easy_problem(30)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ClassificationBandit(X, np.zeros(30))
    with pytest.raises(ValueError, match="n_rounds must be None or an int >= 1"):
        ClassificationBandit(X, y, n_rounds=0)
    with pytest.raises(ValueError, match="random_state must be"):
        ClassificationBandit(X, y, random_state="seed")
    env = ClassificationBandit(X, y, random_state=0)
    with pytest.raises(ValueError, match=r"action must be an int in \[0, 2\]"):
        env.reward(0, 3)
    with pytest.raises(ValueError, match=r"t must be an int in \[0, 29\]"):
        env.reward(30, 0)
    with pytest.raises(
        ValueError, match=r"n_rounds must be None or an int in \[1, 30\]"
    ):
        run_bandit(NeuralContextualBandit(3), env, n_rounds=31)
