"""Bandit problems simulated from classification tables, and a loop that
plays a policy on one."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state, check_X_y

from .._validation import check_random_state_param, is_int

__all__ = ["ClassificationBandit", "run_bandit"]


class ClassificationBandit:
    """A contextual bandit made from a classification table: the context is a
    row, the actions are the classes, and the reward is 1 for the row's class,
    0 for any other.

    The rows are played in a random order; with ``n_rounds`` larger than the
    table, further passes follow, each in a new random order. This is the
    "bandit-ized classification" of the contextual-bandit literature (e.g.
    Deb et al., ICLR 2024): the best policy earns 1 every round, so the regret
    of a policy after ``T`` rounds is its number of wrong actions.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Contexts.
    y : array-like of shape (n_samples,)
        Class labels (any type); action ``k`` is the class ``classes_[k]``.
    n_rounds : int >= 1 or None, default=None
        Length of the stream; None: one pass over the rows.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the rows.

    Attributes
    ----------
    classes_ : ndarray of shape (n_actions,)
        The classes, sorted; the actions are their indices.
    n_actions : int
    n_rounds : int
    n_features : int
    order_ : ndarray of int of shape (n_rounds,)
        The table row played at each round.

    Examples
    --------
    >>> from sklearn_losses.online import ClassificationBandit
    >>> env = ClassificationBandit([[0.0], [1.0], [2.0]], ["a", "b", "a"],
    ...                            random_state=0)
    >>> env.n_actions, env.n_rounds
    (2, 3)
    >>> [env.reward(t, 0) for t, _ in env.rounds()]
    [1.0, 0.0, 1.0]
    """

    def __init__(self, X, y, *, n_rounds=None, random_state=None):
        X, y = check_X_y(X, y, dtype=np.float64, y_numeric=False)
        if n_rounds is not None and not is_int(n_rounds, 1):
            raise ValueError(f"n_rounds must be None or an int >= 1; got {n_rounds!r}.")
        check_random_state_param(random_state)
        self.classes_, self._labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                "y must hold at least 2 classes (the actions); got "
                f"{len(self.classes_)}."
            )
        self._X = X
        self.n_actions = len(self.classes_)
        self.n_features = X.shape[1]
        self.n_rounds = len(X) if n_rounds is None else int(n_rounds)
        rng = check_random_state(random_state)
        passes = -(-self.n_rounds // len(X))
        self.order_ = np.concatenate([rng.permutation(len(X)) for _ in range(passes)])[
            : self.n_rounds
        ]

    def _round(self, t):
        if not is_int(t, 0) or t >= self.n_rounds:
            raise ValueError(
                f"t must be an int in [0, {self.n_rounds - 1}] (the rounds); got {t!r}."
            )
        return self.order_[t]

    def context(self, t):
        """The context of round ``t``, of shape (n_features,)."""
        return self._X[self._round(t)]

    def rounds(self):
        """Iterate over ``(t, context)`` for every round in order."""
        for t in range(self.n_rounds):
            yield t, self._X[self.order_[t]]

    def best_action(self, t):
        """The rewarded action of round ``t`` (the index of the row's class)."""
        return int(self._labels[self._round(t)])

    def reward(self, t, action):
        """The reward of ``action`` at round ``t``: 1.0 if it is the row's
        class, else 0.0."""
        if not is_int(action, 0) or action >= self.n_actions:
            raise ValueError(
                f"action must be an int in [0, {self.n_actions - 1}] (the classes' "
                f"indices); got {action!r}."
            )
        return float(action == self.best_action(t))

    @property
    def best_reward(self):
        """The best reward of each round, shape (n_rounds,): all ones here."""
        return np.ones(self.n_rounds)


def run_bandit(policy, env, n_rounds=None):
    """Play ``policy`` on ``env`` round by round; return the cumulative regret.

    At each round ``t`` the policy sees the context, plays
    ``a = policy.select(context)``, receives ``r = env.reward(t, a)`` and
    learns it with ``policy.partial_fit(context, a, r)``. The regret of the
    round is ``env.best_reward[t] - r``.

    Parameters
    ----------
    policy : object
        Anything with ``select(context) -> int`` and
        ``partial_fit(context, action, reward)``, such as
        :class:`~sklearn_losses.online.NeuralContextualBandit` or a small
        wrapper around another library's bandit.
    env : ClassificationBandit
        Or any object with ``rounds()``, ``reward(t, action)``, ``best_reward``
        and ``n_rounds``.
    n_rounds : int >= 1 or None, default=None
        Stop after this many rounds; None: all of ``env``'s.

    Returns
    -------
    ndarray of shape (n_rounds,)
        Cumulative regret after each round.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.online import ClassificationBandit, run_bandit
    >>> class Always0:
    ...     def select(self, context):
    ...         return 0
    ...     def partial_fit(self, context, action, reward):
    ...         return self
    >>> env = ClassificationBandit(np.eye(4), [0, 1, 0, 1], random_state=0)
    >>> run_bandit(Always0(), env)[-1]
    np.float64(2.0)
    """
    total = env.n_rounds if n_rounds is None else n_rounds
    if not is_int(total, 1) or total > env.n_rounds:
        raise ValueError(
            f"n_rounds must be None or an int in [1, {env.n_rounds}] (the "
            f"environment's rounds); got {n_rounds!r}."
        )
    best = np.asarray(env.best_reward, dtype=np.float64)
    regret = np.empty(total)
    for t, context in env.rounds():
        if t >= total:
            break
        action = policy.select(context)
        reward = env.reward(t, action)
        policy.partial_fit(context, action, reward)
        regret[t] = best[t] - reward
    return np.cumsum(regret)
