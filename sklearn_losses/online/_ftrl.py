r"""Follow-the-regularised-leader with a log-barrier regulariser over K actions.

The online learner of Dai, Luo, Wei and Zimmert (ICML 2023) runs at every
state of an adversarial MDP; here it is the stand-alone learner over a finite
set of actions, with full-information or bandit feedback, and the map from
cumulative (estimated) losses to its distribution, usable as an allocation
rule by other policies.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .._validation import (
    check_random_state_param,
    check_real,
    integer,
    one_of,
    real,
    validate_params,
)

__all__ = ["LogBarrierFTRL", "log_barrier_distribution"]

#: Most bisection steps; the bracket of the scaled normaliser has width
#: ``K - 1``, so ``tol=1e-15`` with ``K = 10**6`` needs about 70.
_MAX_STEPS = 200


def _check_learning_rate(learning_rate):
    return float(check_real("learning_rate", learning_rate, low=0, closed="neither"))


def _check_tol(tol):
    return float(check_real("tol", tol, low=0, high=1, closed="neither"))


def _check_finite_losses(losses, name):
    try:
        array = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be an array of real numbers; got {losses!r}."
        ) from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf); got {losses!r}.")
    return array


def _solve(losses, eta, tol):
    """Bisection on the scaled normaliser; ``(p, lambda)`` row by row."""
    n_actions = losses.shape[-1]
    low_loss = losses.min(axis=-1, keepdims=True)
    # Gaps to the leader, scaled: eta * (L(a) - min L) >= 0. Capped so that every
    # probability stays at least the smallest normal float64 (a gap that large
    # can only come from estimates near the float64 range).
    with np.errstate(over="ignore"):  # inf gaps are capped just below
        scaled_gap = eta * (losses - low_loss)
    scaled_gap = np.minimum(scaled_gap, 1.0 / np.finfo(np.float64).tiny)
    # nu = eta * (lambda + min L): p(a) = 1 / (scaled_gap(a) + nu), and
    # sum_a p(a) = 1 has its root in [1, K] (the leader's term alone is 1/nu).
    low = np.ones(low_loss.shape)
    high = np.full(low_loss.shape, float(n_actions))
    for _ in range(_MAX_STEPS):
        if np.all(high - low <= tol * low):
            break
        mid = 0.5 * (low + high)
        above = np.sum(1.0 / (scaled_gap + mid), axis=-1, keepdims=True) > 1.0
        low = np.where(above, mid, low)
        high = np.where(above, high, mid)
    nu = 0.5 * (low + high)
    p = 1.0 / (scaled_gap + nu)
    p /= p.sum(axis=-1, keepdims=True)
    with np.errstate(over="ignore"):  # inf for a learning rate near 1e-308
        normalizer = nu[..., 0] / eta - low_loss[..., 0]
    return p, normalizer


def log_barrier_distribution(
    cumulative_losses, learning_rate, *, tol=1e-12, return_normalizer=False
):
    r"""The log-barrier FTRL distribution over actions for cumulative losses.

    .. math::

        p = \operatorname*{arg\,min}_{p \in \Delta_K}
            \langle p, L \rangle + \frac{1}{\eta} \sum_a -\log p(a)
        \quad\Longrightarrow\quad
        p(a) = \frac{1}{\eta\,(L(a) + \lambda^*)}

    where :math:`\lambda^* > -\min_a L(a)` is the unique root of the strictly
    decreasing :math:`g(\lambda) = \sum_a 1 / (\eta (L(a) + \lambda)) - 1`,
    which lies in :math:`[1/\eta - \min L, K/\eta - \min L]`. The root is found
    by bisection in float64 on :math:`\nu = \eta(\lambda + \min L) \in [1, K]`
    until the bracket is narrower than ``tol`` (relative); the probabilities
    :math:`1 / (\eta (L(a) - \min L) + \nu)` are then divided by their sum,
    a relative change of order ``tol``.

    Properties: equal losses give the uniform distribution; adding a constant
    to every :math:`L(a)` changes nothing (it moves :math:`\lambda^*`); a
    larger :math:`L(a)` lowers :math:`p(a)`; every action keeps
    :math:`p(a) \ge 1 / (\eta (L(a) - \min L) + K) > 0`, however large its
    loss. Losses may be negative, arbitrarily so: the bracket is set by
    :math:`\min L`. Gaps :math:`\eta (L(a) - \min L)` above about ``4.5e307``
    are capped there, so a probability never rounds to zero.

    Parameters
    ----------
    cumulative_losses : array-like of shape (K,) or (n, K)
        Cumulative (estimated) losses :math:`L(a)`, finite reals, any sign.
        A 2-D array gives one distribution per row (e.g. per context, from a
        model's predicted losses).
    learning_rate : float
        :math:`\eta > 0`. Larger values concentrate the mass on the leader;
        :math:`\eta \to 0` gives the uniform distribution.
    tol : float, default=1e-12
        Relative width of the bisection bracket at which it stops, in (0, 1).
    return_normalizer : bool, default=False
        Also return :math:`\lambda^*` (a float, or one per row).

    Returns
    -------
    p : ndarray of shape (K,) or (n, K)
        Probabilities, float64, positive, summing to 1 along the last axis.
    normalizer : float or ndarray of shape (n,)
        :math:`\lambda^*`, only when ``return_normalizer``.

    References
    ----------
    .. [1] Y. Dai, H. Luo, C.-Y. Wei, J. Zimmert, "Refined Regret for
       Adversarial MDPs with Linear Function Approximation", ICML 2023.
       https://arxiv.org/abs/2301.12942

    Examples
    --------
    >>> from sklearn_losses.online import log_barrier_distribution
    >>> p, lam = log_barrier_distribution([1.0, 2.0, 4.0], 0.5, return_normalizer=True)
    >>> p.round(6).tolist(), round(lam, 6)
    ([0.408013, 0.33888, 0.253107], 3.9018)
    """
    eta = _check_learning_rate(learning_rate)
    tol = _check_tol(tol)
    if not isinstance(return_normalizer, bool):
        raise ValueError(
            f"return_normalizer must be True or False; got {return_normalizer!r}."
        )
    losses = _check_finite_losses(cumulative_losses, "cumulative_losses")
    if losses.ndim not in (1, 2) or losses.shape[-1] < 1:
        raise ValueError(
            "cumulative_losses must have shape (K,) or (n, K) with K >= 1 actions; "
            f"got shape {losses.shape}."
        )
    p, lam = _solve(losses, eta, tol)
    if not return_normalizer:
        return p
    return p, (float(lam) if losses.ndim == 1 else lam)


class LogBarrierFTRL(BaseEstimator):
    r"""Online learner over ``n_actions`` actions: FTRL with a log barrier.

    At round :math:`t` the learner plays

    .. math::

        p_t = \operatorname*{arg\,min}_{p \in \Delta_K}
            \langle p, \hat L_{t-1} \rangle + \frac{1}{\eta} \sum_a -\log p(a),
        \qquad p_t(a) = \frac{1}{\eta\,(\hat L_{t-1}(a) + \lambda^*)}

    (computed by :func:`log_barrier_distribution`), where :math:`\hat L_{t-1}`
    holds the cumulative estimated losses, kept in float64. After the round:

    * full information (``feedback="full"``): the loss vector :math:`\ell_t`
      is observed and :math:`\hat L_t = \hat L_{t-1} + \ell_t`;
    * bandit feedback (``feedback="bandit"``): only the loss of the played
      action :math:`a_t` is observed and the importance-weighted estimate
      :math:`\hat\ell_t(a) = \ell_t(a_t) 1[a = a_t] / p_t(a_t)` is added
      (unbiased for :math:`\ell_t`).

    Losses may have any sign. A negative loss in bandit feedback gives an
    estimate of :math:`-|\ell| / p_t(a_t)`, arbitrarily negative when
    :math:`p_t(a_t)` is small; the log barrier tolerates it (the point of the
    paper's refined analysis): the action becomes the leader and takes most of
    the mass, and every other action keeps a positive probability of at least
    :math:`1 / (\eta (\hat L(a) - \min \hat L) + K)`.

    With losses in :math:`[0, 1]` and a known horizon :math:`T`, the standard
    analysis bounds the (expected) regret against the best fixed action by
    :math:`K \ln T / \eta + O(\eta T)` in both feedback modes, so
    :math:`\eta \approx \sqrt{K \ln T / T}` gives
    :math:`O(\sqrt{K T \ln T})`.

    Parameters
    ----------
    n_actions : int
        Number of actions :math:`K \ge 2`, numbered ``0 .. K - 1``.
    learning_rate : float, default=0.1
        :math:`\eta > 0`. Tune it, or use :math:`\sqrt{K \ln T / T}` for
        ``T`` rounds of losses in ``[0, 1]``.
    feedback : {"full", "bandit"}, default="full"
        What :meth:`partial_fit` learns from: the whole loss vector, or the
        loss of the played action only.
    tol : float, default=1e-12
        Relative tolerance of the bisection for the normaliser.
    random_state : int, RandomState instance or None, default=None
        Seeds :meth:`select` (and the actions :meth:`fit` draws with bandit
        feedback).

    Attributes
    ----------
    cumulative_losses_ : ndarray of shape (n_actions,)
        Cumulative (estimated) losses :math:`\hat L_t`, float64.
    n_rounds_ : int
        Rounds learned from since the last :meth:`fit` (or since creation).

    See Also
    --------
    log_barrier_distribution : The distribution as a function of the losses.

    Notes
    -----
    The paper [1]_ runs this learner at each state of an adversarial linear-Q
    MDP with loss estimates from a simulator; its contribution is a refined
    analysis that tolerates arbitrarily negative estimates. Only the learner
    over a finite action set is implemented here. Its advantage over
    exponential weights (Hedge) is in theory (first-order bounds, robustness
    to negative or heavy-tailed estimates); it is more conservative than Hedge
    at the same :math:`\eta`, and practical gains on tabular problems are not
    established.

    References
    ----------
    .. [1] Y. Dai, H. Luo, C.-Y. Wei, J. Zimmert, "Refined Regret for
       Adversarial MDPs with Linear Function Approximation", ICML 2023.
       https://arxiv.org/abs/2301.12942

    Examples
    --------
    >>> from sklearn_losses.online import LogBarrierFTRL
    >>> learner = LogBarrierFTRL(n_actions=3, learning_rate=0.5)
    >>> learner.probabilities().tolist()
    [0.3333333333333333, 0.3333333333333333, 0.3333333333333333]
    >>> _ = learner.partial_fit([1.0, 2.0, 4.0])
    >>> learner.probabilities().round(6).tolist()
    [0.408013, 0.33888, 0.253107]

    Bandit feedback: play an action, then report its loss.

    >>> bandit = LogBarrierFTRL(3, learning_rate=0.5, feedback="bandit", random_state=0)
    >>> a = bandit.select()
    >>> _ = bandit.partial_fit(1.0, action=a)  # adds 1.0 / (1/3) to action a
    >>> float(bandit.cumulative_losses_[a])
    3.0
    """

    _parameter_constraints = {
        "n_actions": integer(low=2),
        "learning_rate": real(low=0, closed="neither"),
        "feedback": one_of("full", "bandit"),
        "tol": real(low=0, high=1, closed="neither"),
    }

    def __init__(
        self,
        n_actions,
        *,
        learning_rate=0.1,
        feedback="full",
        tol=1e-12,
        random_state=None,
    ):
        self.n_actions = n_actions
        self.learning_rate = learning_rate
        self.feedback = feedback
        self.tol = tol
        self.random_state = random_state

    # -- state ---------------------------------------------------------------------
    def _validate(self):
        validate_params(self, self._parameter_constraints)
        check_random_state_param(self.random_state)

    def _state(self):
        """Validated parameters; the state created on first use."""
        self._validate()
        if not hasattr(self, "cumulative_losses_"):
            self._reset()
        elif self.cumulative_losses_.shape != (self.n_actions,):
            raise ValueError(
                f"n_actions is {self.n_actions} but the learner holds losses of "
                f"{self.cumulative_losses_.shape[0]} actions; call fit to restart."
            )

    def _reset(self):
        self.cumulative_losses_ = np.zeros(self.n_actions, dtype=np.float64)
        self.n_rounds_ = 0
        self._rng = check_random_state(self.random_state)

    def _check_action(self, action):
        if not (
            isinstance(action, numbers.Integral)
            and not isinstance(action, bool)
            and 0 <= action < self.n_actions
        ):
            raise ValueError(
                f"action must be an int in [0, {self.n_actions - 1}] "
                f"(n_actions={self.n_actions}); got {action!r}."
            )
        return int(action)

    # -- the learner -----------------------------------------------------------------
    def probabilities(self):
        """The distribution :math:`p_t` over actions for the next round.

        Returns
        -------
        p : ndarray of shape (n_actions,)
            Positive float64 probabilities summing to 1; uniform before any
            feedback.
        """
        self._state()
        return log_barrier_distribution(
            self.cumulative_losses_, self.learning_rate, tol=self.tol
        )

    def select(self):
        """Draw an action from :meth:`probabilities` with the seeded generator.

        Returns
        -------
        action : int
        """
        p = self.probabilities()
        return int(self._rng.choice(self.n_actions, p=p))

    def partial_fit(self, losses, action=None):
        """Learn from one round.

        Parameters
        ----------
        losses : float or array-like of shape (n_actions,)
            ``feedback="full"``: the loss of every action (finite reals).
            ``feedback="bandit"``: the observed loss of ``action`` (a float),
            or a loss vector of which only ``losses[action]`` is read.
        action : int, optional
            The action played (bandit feedback, required); refused with full
            information, where it would be ignored.

        Returns
        -------
        self : LogBarrierFTRL
        """
        self._state()
        if self.feedback == "full":
            if action is not None:
                raise ValueError(
                    "action is only used with feedback='bandit'; with "
                    "feedback='full' pass the loss vector alone."
                )
            vector = self._check_vector(losses)
            self.cumulative_losses_ += vector
        else:
            if action is None:
                raise ValueError(
                    "feedback='bandit' needs the action played: "
                    "partial_fit(loss, action=a)."
                )
            action = self._check_action(action)
            if np.ndim(losses) == 0:
                loss = float(_check_finite_losses(losses, "loss"))
            else:
                loss = float(self._check_vector(losses)[action])
            p = self.probabilities()
            self.cumulative_losses_[action] += loss / p[action]
        self.n_rounds_ += 1
        return self

    def _check_vector(self, losses):
        vector = _check_finite_losses(losses, "losses")
        if vector.shape != (self.n_actions,):
            raise ValueError(
                f"losses must have shape ({self.n_actions},) (one loss per action); "
                f"got shape {vector.shape}."
            )
        return vector

    def fit(self, losses):
        """Restart and learn from a sequence of loss vectors, round by round.

        With full information each row is learned from; with bandit feedback
        the learner draws ``a_t`` with :meth:`select` and learns from
        ``losses[t, a_t]`` only (the drawn actions are kept in ``actions_``).

        Parameters
        ----------
        losses : array-like of shape (T, n_actions)
            Loss of every action at every round.

        Returns
        -------
        self : LogBarrierFTRL
        """
        self._validate()
        matrix = _check_finite_losses(losses, "losses")
        if matrix.ndim != 2 or matrix.shape[1] != self.n_actions:
            raise ValueError(
                f"losses must have shape (T, {self.n_actions}) (one row per round); "
                f"got shape {matrix.shape}."
            )
        self._reset()
        if hasattr(self, "actions_"):
            del self.actions_
        if self.feedback == "full":
            for row in matrix:
                self.partial_fit(row)
            return self
        actions = np.empty(matrix.shape[0], dtype=np.int64)
        for t, row in enumerate(matrix):
            actions[t] = self.select()
            self.partial_fit(row[actions[t]], action=int(actions[t]))
        self.actions_ = actions
        return self
