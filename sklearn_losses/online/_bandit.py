"""A contextual bandit whose reward model is a neural network trained online
(NeuSquareCB and NeuFastCB of Deb et al., ICLR 2024)."""

from __future__ import annotations

import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_array, check_random_state
from torch.nn import functional as F

from .._validation import (
    Constraint,
    check_random_state_param,
    check_real,
    integer,
    is_int,
    one_of,
    real,
    validate_params,
)
from ..modules.mlp import ACTIVATIONS, MLP
from ._ftrl import log_barrier_distribution

__all__ = [
    "NeuralContextualBandit",
    "fastcb_probabilities",
    "squarecb_probabilities",
    "EXPLORATIONS",
    "FASTCB_MIN_LOSS",
]

#: Action-selection rules accepted by :class:`NeuralContextualBandit`
#: (``"auto"``: SquareCB with the squared loss, FastCB with the KL loss).
EXPLORATIONS = ("auto", "squarecb", "fastcb", "ftrl")

#: FastCB clamps predicted losses to ``[FASTCB_MIN_LOSS, 1]``.
FASTCB_MIN_LOSS = 1e-3


def _as_scores(values, name):
    scores = np.asarray(values, dtype=np.float64)
    if scores.ndim not in (1, 2) or scores.shape[-1] < 1:
        raise ValueError(
            f"{name} must be of shape (n_actions,) or (n, n_actions); got shape "
            f"{scores.shape}."
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError(f"{name} must be finite.")
    return np.atleast_2d(scores), scores.ndim == 1


def _complete_best(p, best):
    """Put ``1 - sum`` of the other actions' probabilities on the best action."""
    rows = np.arange(len(p))
    p[rows, best] = 0.0
    p[rows, best] = 1.0 - p.sum(axis=1)
    return p


def squarecb_probabilities(rewards, gamma):
    r"""SquareCB's action distribution (Foster & Rakhlin, 2020): inverse gap
    weighting of predicted rewards.

    With ``K`` actions, predicted rewards :math:`\hat y` and the best predicted
    action :math:`b = \arg\max_a \hat y_a` (the first one on ties),

    .. math::

        p(a) = \frac{1}{K + \gamma(\hat y_b - \hat y_a)}\ (a \ne b), \qquad
        p(b) = 1 - \sum_{a \ne b} p(a).

    ``gamma = 0`` plays uniformly; a larger ``gamma`` exploits more. Every
    action keeps a probability of at most ``1/K`` and the best one at least
    ``1/K``.

    Parameters
    ----------
    rewards : array-like of shape (n_actions,) or (n, n_actions)
        Predicted rewards, one row per context.
    gamma : float >= 0
        Exploration parameter.

    Returns
    -------
    ndarray of the shape of ``rewards``, rows summing to 1.

    Examples
    --------
    >>> squarecb_probabilities([0.2, 0.5, 0.9, 0.4], gamma=10).round(6)
    array([0.090909, 0.125   , 0.67298 , 0.111111])
    """
    check_real("gamma", gamma, low=0)
    r, single = _as_scores(rewards, "rewards")
    n_actions = r.shape[1]
    best = np.argmax(r, axis=1)
    gap = r[np.arange(len(r)), best][:, None] - r
    p = _complete_best(1.0 / (n_actions + gamma * gap), best)
    return p[0] if single else p


def fastcb_probabilities(losses, gamma):
    r"""FastCB's action distribution (Foster & Krishnamurthy, 2021): inverse
    gap weighting relative to the best predicted loss.

    With ``K`` actions, predicted losses :math:`\hat\ell` clamped to
    ``[1e-3, 1]`` and the best predicted action
    :math:`b = \arg\min_a \hat\ell_a` (the first one on ties),

    .. math::

        p(a) = \frac{\hat\ell_b}{K\hat\ell_b + \gamma(\hat\ell_a - \hat\ell_b)}
        \ (a \ne b), \qquad p(b) = 1 - \sum_{a \ne b} p(a).

    When the best action is predicted to lose little, the others are explored
    less: the rule adapts to small losses (first-order regret).

    Parameters
    ----------
    losses : array-like of shape (n_actions,) or (n, n_actions)
        Predicted losses (one minus the predicted rewards), one row per context.
    gamma : float >= 0
        Exploration parameter; 0 plays uniformly.

    Returns
    -------
    ndarray of the shape of ``losses``, rows summing to 1.

    Examples
    --------
    >>> fastcb_probabilities([0.8, 0.5, 0.1, 0.6], gamma=10).round(6)
    array([0.013514, 0.022727, 0.945241, 0.018519])
    """
    check_real("gamma", gamma, low=0)
    loss, single = _as_scores(losses, "losses")
    loss = np.clip(loss, FASTCB_MIN_LOSS, 1.0)
    n_actions = loss.shape[1]
    best = np.argmin(loss, axis=1)
    low = loss[np.arange(len(loss)), best][:, None]
    p = _complete_best(low / (n_actions * low + gamma * (loss - low)), best)
    return p[0] if single else p


def _hidden_sizes(value):
    return isinstance(value, tuple | list) and all(is_int(v, 1) for v in value)


class NeuralContextualBandit(BaseEstimator):
    r"""A contextual bandit with a neural reward model trained online:
    NeuSquareCB and NeuFastCB (Deb, Ban, Zuo, He & Banerjee, ICLR 2024).

    Each round the bandit sees a context :math:`x_t`, plays an action
    :math:`a_t \in \{0, \dots, K-1\}` drawn from :meth:`action_probabilities`
    (:meth:`select`), and learns only the reward :math:`r_t \in [0, 1]` of the
    action it played (:meth:`partial_fit`).

    The reward model is an MLP with one output per action, :math:`f(x)_a`,
    trained by online regression on the played action's output only:

    - ``loss="squared"`` (NeuSquareCB): :math:`(f(x)_a - r)^2`, linear output;
      the predicted reward is :math:`f(x)_a`.
    - ``loss="kl"`` (NeuFastCB): the Bernoulli cross-entropy (the KL loss) of
      a sigmoid output, :math:`-[r\log\sigma(f) + (1-r)\log(1-\sigma(f))]`;
      the predicted reward is :math:`\sigma(f(x)_a)`. This equals the paper's
      cross-entropy of the predicted *loss* :math:`1 - \sigma(f)` against
      :math:`\ell = 1 - r`.

    Actions are drawn by SquareCB's rule on the predicted rewards
    (:func:`squarecb_probabilities`), FastCB's on the predicted losses
    :math:`1 - \hat y` (:func:`fastcb_probabilities`), or the log-barrier FTRL
    distribution of the predicted losses with learning rate ``gamma``
    (:func:`~sklearn_losses.online.log_barrier_distribution`, the allocation
    of Dai et al., ICML 2023: :math:`p(a) = 1/(\gamma(1 - \hat y_a + \lambda))`,
    close to SquareCB's inverse gap weighting). ``gamma`` trades exploration
    (0: uniform) for exploitation.

    Every new round takes ``n_steps`` Adam steps on a minibatch made of that
    round and ``batch_size - 1`` rounds drawn (with replacement) from the last
    ``replay_size`` rounds; ``replay_size=0`` is plain online gradient descent
    on the current round, as in the paper's analysis. The paper's perturbed
    predictions: with ``perturbation = σ > 0`` the output entering the training
    loss is :math:`f(x)_a + \varepsilon`, :math:`\varepsilon \sim N(0, σ^2)`
    drawn afresh at each step (its form and scale are not given by the paper's
    public text; it is a proof device of vanishing size, off by default).

    The network is built on the first context seen (by any method), which
    fixes the context width (``n_actions``, ``hidden_layer_sizes``,
    ``activation`` and ``replay_size`` are read then too; the other parameters
    may be changed with ``set_params`` between rounds). A batch given to
    :meth:`partial_fit` is learned exactly as the same rounds given one by one.

    Parameters
    ----------
    n_actions : int >= 2
        Number of actions ``K``.
    loss : {"squared", "kl"}, default="squared"
        Regression loss of the reward model (see above). ``"kl"`` needs
        rewards in ``[0, 1]``; ``"squared"`` takes any finite reward.
    exploration : {"auto", "squarecb", "fastcb", "ftrl"}, default="auto"
        Action-selection rule; ``"auto"`` pairs them as the paper does:
        SquareCB with the squared loss, FastCB with the KL loss. ``"ftrl"``
        is the log-barrier FTRL allocation.
    gamma : float >= 0, default=100.0
        Exploration parameter of the selection rule (the paper tunes it on
        ``{10, 100, 1000, 10000}``).
    hidden_layer_sizes : tuple of int, default=(64,)
        Hidden layers of the MLP (:class:`~sklearn_losses.modules.MLP`).
    activation : str, default="relu"
        Activation of the hidden layers, one of
        :data:`~sklearn_losses.modules.ACTIVATIONS`.
    lr : float > 0, default=1e-3
        Adam's learning rate.
    n_steps : int >= 1, default=1
        Gradient steps per new round.
    batch_size : int >= 1, default=32
        Rounds per gradient step (the new one and replayed ones).
    replay_size : int >= 0, default=1000
        How many past rounds are kept for replay.
    perturbation : float >= 0, default=0.0
        Standard deviation of the Gaussian perturbation of the predictions in
        the training loss.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation, the action draws, the replay
        draws and the perturbations: with an int, the same stream of contexts
        and rewards gives the same actions.

    Attributes
    ----------
    n_features_in_ : int
        Width of the contexts (set by the first context).
    module_ : torch.nn.Module
        The reward network.
    optimizer_ : torch.optim.Adam
        Its optimiser.
    n_rounds_ : int
        Rounds learned by :meth:`partial_fit`.

    References
    ----------
    R. Deb, Y. Ban, S. Zuo, J. He, A. Banerjee. Contextual Bandits with Online
    Neural Regression. ICLR 2024 (arXiv 2312.07145). D. Foster, A. Rakhlin.
    Beyond UCB: Optimal and Efficient Contextual Bandits with Regression
    Oracles. ICML 2020. D. Foster, A. Krishnamurthy. Efficient First-Order
    Contextual Bandits: Prediction, Allocation, and Triangular Discrimination.
    NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.online import NeuralContextualBandit
    >>> bandit = NeuralContextualBandit(3, loss="kl", random_state=0)
    >>> context = np.array([0.5, -1.0])
    >>> action = bandit.select(context)
    >>> action in (0, 1, 2)
    True
    >>> bandit = bandit.partial_fit(context, action, 1.0)
    >>> bandit.action_probabilities(context).sum().round(6)
    np.float64(1.0)
    """

    def __init__(
        self,
        n_actions,
        *,
        loss="squared",
        exploration="auto",
        gamma=100.0,
        hidden_layer_sizes=(64,),
        activation="relu",
        lr=1e-3,
        n_steps=1,
        batch_size=32,
        replay_size=1000,
        perturbation=0.0,
        random_state=None,
    ):
        self.n_actions = n_actions
        self.loss = loss
        self.exploration = exploration
        self.gamma = gamma
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.lr = lr
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.replay_size = replay_size
        self.perturbation = perturbation
        self.random_state = random_state

    # -- parameters and state ------------------------------------------------
    def _check_params(self):
        validate_params(
            self,
            {
                "n_actions": integer(2),
                "loss": one_of("squared", "kl"),
                "exploration": one_of(*EXPLORATIONS),
                "gamma": real(low=0),
                "hidden_layer_sizes": Constraint(_hidden_sizes, "a tuple of ints >= 1"),
                "activation": one_of(*ACTIVATIONS),
                "lr": real(low=0, closed="neither"),
                "n_steps": integer(1),
                "batch_size": integer(1),
                "replay_size": integer(0),
                "perturbation": real(low=0),
            },
        )

    def _start(self, n_features):
        """Build the network, optimiser, replay memory and random stream."""
        check_random_state_param(self.random_state)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.module_ = MLP(
                n_features,
                self.n_actions,
                hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                activation=self.activation,
            )
        self.optimizer_ = torch.optim.Adam(self.module_.parameters(), lr=self.lr)
        self.n_features_in_ = n_features
        self.n_rounds_ = 0
        self._rng = rng
        self._memory = (
            np.empty((self.replay_size, n_features), dtype=np.float32),
            np.empty(self.replay_size, dtype=np.int64),
            np.empty(self.replay_size, dtype=np.float32),
        )
        self._memory_size = 0

    def _started(self):
        return hasattr(self, "module_")

    def _contexts(self, context):
        """Validated ``(n, d)`` float32 contexts and whether one was given."""
        self._check_params()
        single = np.ndim(context) == 1
        if single:
            context = np.asarray(context).reshape(1, -1)
        X = None
        if isinstance(context, np.ndarray) and context.dtype.kind in "fiu":
            # Fast path for the common case, one round at a time; anything
            # unusual goes through check_array for its messages.
            X = np.asarray(context, dtype=np.float32)
            if X.ndim != 2 or not X.size or not np.isfinite(X).all():
                X = None
        if X is None:
            X = check_array(
                context, dtype=np.float32, input_name="context", estimator=self
            )
        if not self._started():
            self._start(X.shape[1])
        elif self.module_.n_outputs != self.n_actions:
            raise ValueError(
                f"n_actions was changed to {self.n_actions} after the bandit "
                f"started with {self.module_.n_outputs} actions; start a new "
                "bandit instead (sklearn.base.clone)."
            )
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"context has {X.shape[1]} features, but {type(self).__name__} "
                f"was started with {self.n_features_in_} (the width of the first "
                "context it saw)."
            )
        return X, single

    # -- predictions ---------------------------------------------------------
    def _rewards(self, X):
        with torch.no_grad():
            self.module_.eval()
            out = self.module_(torch.from_numpy(X))
            if self.loss == "kl":
                out = torch.sigmoid(out)
        return out.numpy().astype(np.float64)

    def predict(self, context):
        """Predicted rewards of every action.

        Parameters
        ----------
        context : array-like of shape (n_features,) or (n, n_features)

        Returns
        -------
        ndarray of shape (n_actions,) or (n, n_actions)
            The network's output (``loss="squared"``) or its sigmoid
            (``loss="kl"``).
        """
        X, single = self._contexts(context)
        rewards = self._rewards(X)
        return rewards[0] if single else rewards

    def _probabilities(self, X):
        rewards = self._rewards(X)
        rule = self.exploration
        if rule == "auto":
            rule = "squarecb" if self.loss == "squared" else "fastcb"
        if rule == "squarecb":
            return squarecb_probabilities(rewards, self.gamma)
        if rule == "fastcb":
            return fastcb_probabilities(1.0 - rewards, self.gamma)
        if self.gamma == 0:
            return np.full(rewards.shape, 1.0 / self.n_actions)
        return log_barrier_distribution(1.0 - rewards, self.gamma)

    def action_probabilities(self, context):
        """The distribution the next action is drawn from, given the context.

        Parameters
        ----------
        context : array-like of shape (n_features,) or (n, n_features)

        Returns
        -------
        ndarray of shape (n_actions,) or (n, n_actions), rows summing to 1.
        """
        X, single = self._contexts(context)
        p = self._probabilities(X)
        return p[0] if single else p

    def select(self, context):
        """Draw the action to play for each context.

        Parameters
        ----------
        context : array-like of shape (n_features,) or (n, n_features)

        Returns
        -------
        int for one context, else ndarray of int of shape (n,).
        """
        X, single = self._contexts(context)
        p = self._probabilities(X)
        cumulative = np.cumsum(p, axis=1)
        draws = self._rng.random_sample(len(p))[:, None] * cumulative[:, -1:]
        actions = np.minimum((draws >= cumulative).sum(axis=1), self.n_actions - 1)
        return int(actions[0]) if single else actions

    # -- learning ------------------------------------------------------------
    def _rounds(self, action, reward, n, single):
        what = "an int" if single else f"{n} ints"
        allowed = f"in [0, {self.n_actions - 1}] (n_actions={self.n_actions})"
        actions = np.asarray(action)
        if single and actions.ndim != 0 or not single and actions.shape != (n,):
            raise ValueError(
                f"action must be {what} {allowed}, one per context; got shape "
                f"{actions.shape}."
            )
        actions = actions.reshape(-1)
        integral = np.issubdtype(actions.dtype, np.integer) or (
            actions.dtype == object
            and all(
                isinstance(a, numbers.Integral) and not isinstance(a, bool)
                for a in actions
            )
        )
        if not integral:
            raise TypeError(f"action must be {what} {allowed}; got {action!r}.")
        actions = actions.astype(np.int64)
        bad = (actions < 0) | (actions >= self.n_actions)
        if bad.any():
            raise ValueError(
                f"action must be {what} {allowed}; got {int(actions[bad][0])}."
            )
        try:
            rewards = np.asarray(reward, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"reward must be a float; got {reward!r}.") from None
        if single and rewards.ndim != 0 or not single and rewards.shape != (n,):
            raise ValueError(
                f"reward must be {'a float' if single else f'{n} floats'}, one "
                f"per context; got shape {rewards.shape}."
            )
        rewards = rewards.reshape(-1)
        if not np.all(np.isfinite(rewards)):
            raise ValueError("reward must be finite.")
        if self.loss == "kl" and ((rewards < 0) | (rewards > 1)).any():
            raise ValueError(
                "reward must lie in [0, 1] with loss='kl' (the Bernoulli "
                f"cross-entropy); got {rewards[(rewards < 0) | (rewards > 1)][0]}."
            )
        return actions, rewards.astype(np.float32)

    def partial_fit(self, context, action, reward):
        """Learn from played rounds: one round, or a batch learned as the same
        rounds one by one.

        Parameters
        ----------
        context : array-like of shape (n_features,) or (n, n_features)
        action : int, or array-like of int of shape (n,)
            The actions played, in ``[0, n_actions - 1]``.
        reward : float, or array-like of float of shape (n,)
            Their rewards; in ``[0, 1]`` with ``loss="kl"``.

        Returns
        -------
        self
        """
        X, single = self._contexts(context)
        actions, rewards = self._rounds(action, reward, len(X), single)
        for group in self.optimizer_.param_groups:
            group["lr"] = self.lr
        self.module_.train()
        for x, a, r in zip(X, actions, rewards, strict=True):
            for _ in range(self.n_steps):
                self._step(x, a, r)
            self._remember(x, a, r)
            self.n_rounds_ += 1
        return self

    def _step(self, x, a, r):
        n_old = min(self._memory_size, len(self._memory[1]))
        n_replay = min(self.batch_size - 1, n_old) if n_old else 0
        if n_replay:
            pick = self._rng.randint(n_old, size=n_replay)
            contexts, actions, rewards = (m[pick] for m in self._memory)
            X = np.vstack([x[None], contexts])
            A = np.r_[a, actions]
            R = np.r_[r, rewards].astype(np.float32)
        else:
            X, A, R = x[None], np.array([a]), np.array([r], dtype=np.float32)
        out = self.module_(torch.from_numpy(X))
        out = out.gather(1, torch.from_numpy(A)[:, None]).squeeze(1)
        if self.perturbation:
            noise = self._rng.normal(scale=self.perturbation, size=len(out))
            out = out + torch.from_numpy(noise.astype(np.float32))
        target = torch.from_numpy(R)
        if self.loss == "squared":
            value = F.mse_loss(out, target)
        else:
            value = F.binary_cross_entropy_with_logits(out, target)
        self.optimizer_.zero_grad()
        value.backward()
        self.optimizer_.step()

    def _remember(self, x, a, r):
        capacity = len(self._memory[1])
        if not capacity:
            return
        slot = self._memory_size % capacity
        self._memory[0][slot] = x
        self._memory[1][slot] = a
        self._memory[2][slot] = r
        self._memory_size += 1
