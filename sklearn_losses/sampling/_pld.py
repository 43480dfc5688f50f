"""Training examples of implicit feedback: users, positives, negatives, and PLD.

:class:`InteractionSampler` draws the ``(user, positive, negatives)`` triples
of BPR training from a set of interactions, vectorised over a batch; for
personalised loss-distribution resampling (PLD) it also draws each example's
candidate pool of positives, and :func:`personal_loss_probabilities` turns the
pool's losses into the resampling probabilities.
"""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_real

__all__ = ["InteractionSampler", "personal_loss_probabilities"]


def personal_loss_probabilities(pool_losses, temperature=0.1):
    r"""PLD's resampling probabilities of a user's candidate pool.

    .. math::

        P(c) = \frac{\exp(-\ell_c / \tau)}{\sum_{c' \in C_u} \exp(-\ell_{c'} / \tau)}

    over the losses :math:`\ell_c = \ell(u, c, j)` of the pool's items under
    the current model (the user's *personal loss distribution*): items of
    low loss, which for a user are the normal interactions, are preferred over
    the user's items of high loss, the likely noisy ones. :math:`\tau \to
    \infty` samples uniformly (plain BPR); :math:`\tau \to 0` takes the item of
    least loss.

    Parameters
    ----------
    pool_losses : torch.Tensor or ndarray of shape (..., k)
        The losses of a pool (the last axis), for one or many examples.
    temperature : float, default=0.1
        :math:`\tau > 0` (the paper's default 0.1).

    Returns
    -------
    torch.Tensor or ndarray of shape (..., k)
        Probabilities along the last axis, of the input's kind (float64 for
        an array).

    References
    ----------
    .. [1] K. Zhang, Q. Cao, Y. Wu, F. Sun, H. Shen, X. Cheng, "Personalized
       Denoising Implicit Feedback for Robust Recommender System", WWW 2025.
       https://arxiv.org/abs/2502.00348

    Examples
    --------
    >>> import numpy as np
    >>> losses = np.logaddexp(0, 0.2 - np.array([2.0, 1.5, 0.3, -0.5, 1.0]))
    >>> personal_loss_probabilities(losses, 0.1).round(6)
    array([6.51477e-01, 2.70138e-01, 4.78300e-03, 4.90000e-05, 7.35530e-02])
    """
    check_real("temperature", temperature, low=0, closed="neither")
    if isinstance(pool_losses, torch.Tensor):
        if pool_losses.ndim < 1 or pool_losses.shape[-1] < 1:
            raise ValueError("pool_losses must have a last axis of length >= 1.")
        return torch.softmax(-pool_losses / temperature, dim=-1)
    losses = np.asarray(pool_losses, dtype=np.float64)
    if losses.ndim < 1 or losses.shape[-1] < 1:
        raise ValueError("pool_losses must have a last axis of length >= 1.")
    z = -losses / temperature
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def _floyd_offsets(counts, k, uniforms):
    """``k`` distinct offsets in ``[0, n)`` per row (``n = counts >= k``).

    Floyd's algorithm, vectorised over the rows: for ``t = n - k .. n - 1``
    draw ``j`` uniform in ``[0, t]`` and keep ``t`` if ``j`` is taken; the
    result is a uniform ``k``-subset. ``uniforms`` has shape ``(rows, k)``.
    """
    chosen = np.empty((len(counts), k), dtype=np.int64)
    for step in range(k):
        t = counts - k + step
        j = np.minimum((uniforms[:, step] * (t + 1)).astype(np.int64), t)
        taken = (chosen[:, :step] == j[:, None]).any(axis=1)
        chosen[:, step] = np.where(taken, t, j)
    return chosen


class InteractionSampler:
    """Draw BPR training examples from a user-item interaction set.

    Users are drawn uniformly at random for each slot of a batch, a positive
    uniformly among the user's items (or a candidate pool of them), and
    negatives uniformly among the items the user did not interact with, by
    rejection with a capped number of rounds. Everything is vectorised over
    the batch.

    Parameters
    ----------
    users, items : ndarray of int of shape (n_interactions,)
        Encoded interactions, ``0 <= users < n_users`` and ``0 <= items <
        n_items``, without duplicates.
    n_users, n_items : int
        Sizes of the encodings.
    max_rounds : int, default=100
        Rejection rounds for negatives; a slot still colliding after them is
        flagged invalid (only users who interacted with nearly every item
        get there).

    Attributes
    ----------
    indptr : ndarray of shape (n_users + 1,)
        The user's interactions are positions ``indptr[u]:indptr[u + 1]`` of
        :attr:`indices`, the items in increasing order.
    indices : ndarray of shape (n_interactions,)
        Items, grouped by user.
    counts : ndarray of shape (n_users,)
        Interactions per user.
    trainable_users : ndarray
        Users with at least one interaction and one item left as negative:
        the users training draws from.
    """

    def __init__(self, users, items, n_users, n_items, *, max_rounds=100):
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        self.n_users, self.n_items = int(n_users), int(n_items)
        self.max_rounds = int(max_rounds)
        keys = users * self.n_items + items
        order = np.argsort(keys, kind="stable")
        self.keys = keys[order]
        self.indices = items[order]
        self.counts = np.bincount(users, minlength=self.n_users).astype(np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int64)
        self.trainable_users = np.flatnonzero(
            (self.counts > 0) & (self.counts < self.n_items)
        )

    def sample_users(self, size, rng):
        """``size`` users drawn uniformly from :attr:`trainable_users`."""
        pick = rng.integers(0, len(self.trainable_users), size=size)
        return self.trainable_users[pick]

    def sample_positions(self, users, rng):
        """One interaction per user, uniform among the user's: its position
        in :attr:`indices` (the item is ``indices[position]``)."""
        counts = self.counts[users]
        offsets = np.minimum(
            (rng.random(len(users)) * counts).astype(np.int64), counts - 1
        )
        return self.indptr[users] + offsets

    def sample_pools(self, users, pool_size, rng):
        """A candidate pool of ``pool_size`` interactions per user: positions
        in :attr:`indices`, shape ``(len(users), pool_size)``.

        Drawn without replacement from the user's items when the user has at
        least ``pool_size`` of them, with replacement otherwise (a user of one
        interaction gets ``pool_size`` copies of it).
        """
        counts = self.counts[users]
        uniforms = rng.random((len(users), pool_size))
        offsets = np.minimum(
            (uniforms * counts[:, None]).astype(np.int64), counts[:, None] - 1
        )
        full = counts >= pool_size
        if full.any():
            offsets[full] = _floyd_offsets(counts[full], pool_size, uniforms[full])
        return self.indptr[users][:, None] + offsets

    def sample_negatives(self, users, n_negatives, rng):
        """``n_negatives`` items per user that the user did not interact with.

        Returns ``(items, valid)``: items of shape ``(len(users),
        n_negatives)`` and a boolean ``valid`` per user, False where a
        negative still collided with an interaction after ``max_rounds``
        rounds of rejection.
        """
        size = (len(users), n_negatives)
        items = rng.integers(0, self.n_items, size=size)
        base = (users * self.n_items)[:, None]
        bad = self._seen(base + items)
        for _ in range(self.max_rounds):
            n_bad = int(bad.sum())
            if not n_bad:
                break
            items[bad] = rng.integers(0, self.n_items, size=n_bad)
            bad = self._seen(base + items)
        return items, ~bad.any(axis=1)

    def _seen(self, keys):
        if not len(self.keys):
            return np.zeros(keys.shape, dtype=bool)
        pos = np.searchsorted(self.keys, keys)
        return self.keys[np.minimum(pos, len(self.keys) - 1)] == keys
