"""ImplicitFeedbackRecommender: matrix factorisation with BPR and PLD resampling."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    check_random_state_param,
    integer,
    one_of,
    real,
    validate_params,
)
from ..losses.bpr import BPRLoss, bpr_terms
from ..metrics._recommend import top_k_hit_metrics
from ..sampling._pld import InteractionSampler, personal_loss_probabilities

__all__ = ["ImplicitFeedbackRecommender"]

_CONSTRAINTS = {
    "n_factors": integer(1),
    "sampler": one_of("uniform", "pld"),
    "n_negatives": integer(1),
    "pool_size": integer(1),
    "temperature": real(0, closed="neither"),
    "warmup_epochs": integer(0),
    "lr": real(0, closed="neither"),
    "weight_decay": real(0),
    "max_epochs": integer(1),
    "batch_size": integer(1),
    "init_std": real(0, closed="neither"),
    "unknown": one_of("popular", "error"),
    "user_col": lambda v: True,
    "item_col": lambda v: True,
}


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _missing(values):
    """Boolean mask of missing ids (None, NaN, pandas' NA) in a 1-D array."""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    try:
        import pandas as pd

        return np.asarray(pd.isna(values), dtype=bool)
    except ImportError:  # pragma: no cover - pandas is installed with the package
        return np.array([v is None or v != v for v in values], dtype=bool)


def _id_column(values, name):
    """One column of ids as a 1-D array that keeps integers exact.

    Integer ids stay int64 (or uint64, or Python ints in an object array past
    that range); strings become a string array; nothing is cast to float.
    Missing ids and ids of mixed kinds (numbers with strings) are refused.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(
            f"{name} ids must be one-dimensional; got shape {values.shape}."
        )
    if values.dtype.kind == "O" and len(values):
        if _missing(values).any():
            raise ValueError(f"{name} ids must not be missing (None or NaN).")
        kinds = {isinstance(v, str | bytes) for v in values.tolist()}
        if len(kinds) > 1:
            raise TypeError(
                f"{name} ids must all be strings or all numbers, not a mix; "
                "encode them as one kind first."
            )
        typed = np.asarray(values.tolist())
        if typed.ndim == 1 and typed.dtype.kind in "iuUSb":
            values = typed
    if values.dtype.kind not in "iubfUSO":
        raise TypeError(
            f"{name} ids must be integers, strings or other labels; got {values.dtype}."
        )
    if values.dtype.kind == "f" and _missing(values).any():
        raise ValueError(f"{name} ids must not be missing (NaN).")
    return values


def _pairs(X, user_col, item_col, what="X"):
    """``(users, items)`` id columns of interaction pairs (array or frame)."""
    if _is_frame(X):
        columns = list(X.columns)
        missing = [c for c in (user_col, item_col) if c not in columns]
        if missing:
            raise ValueError(
                f"{what} has no column {missing[0]!r}; its columns are {columns}. "
                "Set user_col and item_col to the names of the user and item columns."
            )
        return (
            _id_column(X[user_col].to_numpy(), "user"),
            _id_column(X[item_col].to_numpy(), "item"),
        )
    if isinstance(X, list | tuple):
        X = np.asarray(X, dtype=object) if len(X) else np.empty((0, 2), dtype=object)
    elif not isinstance(X, np.ndarray):
        raise TypeError(
            f"{what} must be an array of shape (n_interactions, 2) of (user, item) "
            f"pairs or a DataFrame with user and item columns; got {type(X).__name__}."
        )
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"{what} must have shape (n_interactions, 2): one (user, item) pair per "
            f"row; got shape {X.shape}."
        )
    return _id_column(X[:, 0], "user"), _id_column(X[:, 1], "item")


def _encode(classes, values):
    """Indices of ``values`` in the sorted ``classes`` and a mask of known ones."""
    index = np.zeros(len(values), dtype=np.int64)
    if not len(values) or not len(classes):
        return index, np.zeros(len(values), dtype=bool)
    try:
        pos = np.searchsorted(classes, values)
    except TypeError:  # ids of another kind (strings against numbers)
        return index, np.zeros(len(values), dtype=bool)
    pos = np.minimum(pos, len(classes) - 1)
    known = np.asarray(classes[pos] == values, dtype=bool)
    index[known] = pos[known]
    return index, known


def _sorted_unique(values, name):
    try:
        return np.unique(values)
    except TypeError:
        raise TypeError(
            f"{name} ids must be mutually comparable (all numbers or all strings)."
        ) from None


class ImplicitFeedbackRecommender(BaseEstimator):
    r"""Matrix factorisation of implicit feedback, trained with BPR (and PLD).

    Users and items get embeddings :math:`e_u, e_i \in \mathbb{R}^d`, the score
    of a pair is :math:`\hat y_{ui} = \langle e_u, e_i \rangle`, and training
    minimises, over batches of sampled triples :math:`(u, i, j)` with
    :math:`i \in I_u^+` (an item ``u`` interacted with) and :math:`j \notin
    I_u^+`,

    .. math::

        \frac{1}{B} \sum_{b=1}^{B} \operatorname{softplus}(\hat y_{u_b j_b}
            - \hat y_{u_b i_b})
        + \lambda\, \frac{1}{B} \sum_{b=1}^{B} \big(\|e_{u_b}\|^2
            + \|e_{i_b}\|^2 + \|e_{j_b}\|^2\big)

    (:class:`~sklearn_losses.losses.BPRLoss` plus ``weight_decay``
    :math:`\lambda` on the batch's embeddings, per example), with Adam. Each
    slot of a batch draws a user uniformly at random, then ``n_negatives``
    items the user did not interact with (the data term averages over them).

    The positive :math:`i` is drawn uniformly from :math:`I_u^+`
    (``sampler="uniform"``, plain BPR) or, with ``sampler="pld"``, by
    personalised loss-distribution resampling (PLD) after ``warmup_epochs``
    epochs of plain BPR: a candidate pool :math:`C_u` of ``pool_size`` items of
    :math:`I_u^+` (without replacement when the user has that many, with
    replacement otherwise), the losses :math:`\ell_c = \ell(u, c, j)` of the
    pool against the example's negatives under the current model (one batched
    forward pass without gradient), and one :math:`c^*` drawn with probability
    :math:`\operatorname{softmax}(-\ell_c / \tau)`
    (:func:`~sklearn_losses.sampling.personal_loss_probabilities`), on which
    the gradient step is taken. Noisy interactions have a high loss relative
    to the same user's other items, so they are drawn less often.

    Input contract: ``X`` holds one interaction per row, an array of shape
    ``(n, 2)`` of (user, item) pairs or a DataFrame with the columns
    ``user_col`` and ``item_col``. Ids of any kind (integers, strings, any
    sortable labels) are encoded like class labels (``users_``, ``items_``);
    integer ids stay integers (never floats), so ids such as ``2**62 + 1``
    round-trip exactly.

    Parameters
    ----------
    n_factors : int, default=64
        Embedding dimension :math:`d`.
    loss : {"bpr"} or BPRLoss, default="bpr"
        The ranking loss.
    sampler : {"uniform", "pld"}, default="uniform"
        How positives are drawn: uniformly (plain BPR) or by PLD resampling.
    n_negatives : int, default=1
        Negatives per training example (PLD shares them across the pool).
    pool_size : int, default=5
        PLD's candidate pool size :math:`k` (the paper's 5).
    temperature : float, default=0.1
        PLD's temperature :math:`\tau > 0` (the paper's 0.1).
    warmup_epochs : int, default=5
        Epochs of plain BPR before PLD resampling starts (the paper's 5).
    lr : float, default=1e-3
        Adam's learning rate (the paper's 1e-3; small data trains faster
        with 1e-2).
    weight_decay : float, default=1e-4
        :math:`\lambda`, the paper's L2 on the batch's embeddings.
    max_epochs : int, default=100
        Training epochs; an epoch draws as many examples as there are
        (distinct) interactions.
    batch_size : int, default=2048
        Examples per gradient step.
    init_std : float, default=0.1
        Standard deviation of the normal initial embeddings.
    unknown : {"popular", "error"}, default="popular"
        A user unseen at ``fit`` in ``predict``, ``recommend`` or ``score``:
        ``"popular"`` scores items by their number of training interactions
        (popularity) and warns; ``"error"`` raises ``ValueError``. An unknown
        item in ``predict`` always raises.
    user_col, item_col : str, default="user", "item"
        Column names when ``X`` is a DataFrame.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial embeddings and every draw of users, positives,
        pools, negatives and PLD choices.

    Attributes
    ----------
    users_, items_ : ndarray
        The distinct user and item ids seen at ``fit``, sorted; row ``r`` of
        ``user_factors_`` belongs to ``users_[r]``.
    user_factors_ : ndarray of shape (n_users, n_factors)
        User embeddings (float32).
    item_factors_ : ndarray of shape (n_items, n_factors)
        Item embeddings (float32).
    item_popularity_ : ndarray of shape (n_items,)
        Training interactions per item (the fallback scores).
    n_interactions_ : int
        Distinct training interactions.
    loss_curve_ : list of float
        Mean training loss (data term) per epoch.
    n_iter_ : int
        Epochs run.
    pld_selection_rate_ : ndarray of shape (n_interactions_,) or None
        With ``sampler="pld"``: for each distinct training interaction (in the
        order of ``interactions_``), how often PLD chose it divided by how
        often it was in a pool, over the epochs after warm-up (NaN if never in
        a pool); uniform choice would give ``1 / pool_size``. None otherwise.
    interactions_ : ndarray of int64 of shape (n_interactions_, 2)
        The distinct training interactions as encoded (user row, item row),
        sorted.

    Notes
    -----
    Duplicate interactions (the same user and item twice) are implicit
    feedback's "interacted", not counts: they are removed with a warning.
    Users who interacted with every item have no negative and are not drawn
    in training. The recommendations of ``recommend`` exclude the user's
    training items by default.

    References
    ----------
    .. [1] S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme, "BPR:
       Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
    .. [2] K. Zhang, Q. Cao, Y. Wu, F. Sun, H. Shen, X. Cheng, "Personalized
       Denoising Implicit Feedback for Robust Recommender System", WWW 2025.
       https://arxiv.org/abs/2502.00348

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses import ImplicitFeedbackRecommender
    >>> X = np.array([["ann", "tea"], ["ann", "jam"], ["bob", "tea"], ["bob", "egg"]])
    >>> rec = ImplicitFeedbackRecommender(n_factors=4, max_epochs=5, random_state=0)
    >>> rec = rec.fit(X)
    >>> rec.recommend(["ann"], k=1).shape
    (1, 1)
    >>> rec.predict(["ann", "bob"], ["egg", "jam"]).shape
    (2,)
    """

    def __init__(
        self,
        n_factors=64,
        *,
        loss="bpr",
        sampler="uniform",
        n_negatives=1,
        pool_size=5,
        temperature=0.1,
        warmup_epochs=5,
        lr=1e-3,
        weight_decay=1e-4,
        max_epochs=100,
        batch_size=2048,
        init_std=0.1,
        unknown="popular",
        user_col="user",
        item_col="item",
        random_state=None,
    ):
        self.n_factors = n_factors
        self.loss = loss
        self.sampler = sampler
        self.n_negatives = n_negatives
        self.pool_size = pool_size
        self.temperature = temperature
        self.warmup_epochs = warmup_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.init_std = init_std
        self.unknown = unknown
        self.user_col = user_col
        self.item_col = item_col
        self.random_state = random_state

    # -- fit -------------------------------------------------------------------
    def _check_params(self):
        validate_params(self, _CONSTRAINTS)
        if not (
            (isinstance(self.loss, str) and self.loss == "bpr")
            or isinstance(self.loss, BPRLoss)
        ):
            raise ValueError(f"loss must be 'bpr' or a BPRLoss; got {self.loss!r}.")
        check_random_state_param(self.random_state)

    def fit(self, X, y=None):
        """Learn user and item embeddings from interaction pairs.

        Parameters
        ----------
        X : array of shape (n_interactions, 2) or DataFrame
            (user, item) pairs; see the input contract.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._check_params()
        users, items = _pairs(X, self.user_col, self.item_col)
        if not len(users):
            raise ValueError(
                "X holds no interactions: fit needs at least one (user, item) pair."
            )
        self.users_ = _sorted_unique(users, "user")
        self.items_ = _sorted_unique(items, "item")
        if len(self.items_) < 2:
            raise ValueError(
                "X must hold at least two distinct items: BPR ranks an item a user "
                "interacted with above one the user did not."
            )
        u = np.searchsorted(self.users_, users).astype(np.int64)
        i = np.searchsorted(self.items_, items).astype(np.int64)
        n_users, n_items = len(self.users_), len(self.items_)
        keys, first = np.unique(u * n_items + i, return_index=True)
        if len(keys) < len(u):
            warnings.warn(
                f"X holds {len(u) - len(keys)} duplicate (user, item) interactions; "
                "implicit feedback counts each pair once, so they were removed.",
                UserWarning,
                stacklevel=2,
            )
        u, i = keys // n_items, keys % n_items
        sampler = InteractionSampler(u, i, n_users, n_items)
        if not len(sampler.trainable_users):
            raise ValueError(
                "every user in X interacted with every item: no item is left to "
                "sample as a negative."
            )
        self.interactions_ = np.column_stack([u, i])
        self.n_interactions_ = len(keys)
        self.item_popularity_ = np.bincount(i, minlength=n_items).astype(np.float64)
        self._train(sampler, n_users, n_items)
        return self

    def _train(self, sampler, n_users, n_items):
        rng = np.random.default_rng(
            check_random_state(self.random_state).randint(2**32)
        )
        torch_gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        d = self.n_factors
        user_emb = torch.nn.Parameter(
            torch.randn(n_users, d, generator=torch_gen) * self.init_std
        )
        item_emb = torch.nn.Parameter(
            torch.randn(n_items, d, generator=torch_gen) * self.init_std
        )
        optimizer = torch.optim.Adam([user_emb, item_emb], lr=self.lr)
        loss_fn = self.loss if isinstance(self.loss, BPRLoss) else BPRLoss()
        pld = self.sampler == "pld"
        k, m = self.pool_size, self.n_negatives
        in_pool = np.zeros(self.n_interactions_, dtype=np.int64) if pld else None
        chosen = np.zeros(self.n_interactions_, dtype=np.int64) if pld else None
        n_examples = self.n_interactions_
        n_batches = math.ceil(n_examples / self.batch_size)
        self.loss_curve_ = []
        for epoch in range(self.max_epochs):
            resample = pld and epoch >= self.warmup_epochs
            total, count = 0.0, 0
            for b in range(n_batches):
                size = min(self.batch_size, n_examples - b * self.batch_size)
                batch_users = sampler.sample_users(size, rng)
                negatives, valid = sampler.sample_negatives(batch_users, m, rng)
                u_t = torch.from_numpy(batch_users)
                neg_t = torch.from_numpy(negatives)
                if resample:
                    pools = sampler.sample_pools(batch_users, k, rng)
                    pick = self._pld_choice(
                        user_emb, item_emb, u_t, sampler.indices[pools], neg_t, rng
                    )
                    positions = pools[np.arange(size), pick]
                    # O(batch) counts (a bincount of length n per batch would
                    # cost O(n) per batch, O(n^2 / batch_size) per epoch)
                    np.add.at(in_pool, pools.ravel(), 1)
                    np.add.at(chosen, positions, 1)
                else:
                    positions = sampler.sample_positions(batch_users, rng)
                pos_t = torch.from_numpy(sampler.indices[positions])
                e_u = user_emb[u_t]
                e_items = item_emb[torch.cat([pos_t[:, None], neg_t], dim=1)]
                scores = torch.einsum("bd,bcd->bc", e_u, e_items)
                weight = (
                    None if valid.all() else torch.from_numpy(valid.astype(np.float32))
                )
                data = loss_fn(scores, sample_weight=weight)
                reg = (e_u.pow(2).sum() + e_items.pow(2).sum()) / size
                objective = data + self.weight_decay * reg
                optimizer.zero_grad(set_to_none=True)
                objective.backward()
                optimizer.step()
                total += float(data.detach()) * size
                count += size
            self.loss_curve_.append(total / max(count, 1))
        self.n_iter_ = self.max_epochs
        self.user_factors_ = user_emb.detach().numpy().copy()
        self.item_factors_ = item_emb.detach().numpy().copy()
        if pld:
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(in_pool > 0, chosen / np.maximum(in_pool, 1), np.nan)
            self.pld_selection_rate_ = rate
        else:
            self.pld_selection_rate_ = None

    def _pld_choice(self, user_emb, item_emb, users, pool_items, negatives, rng):
        """PLD: the index in each pool of the resampled positive."""
        with torch.no_grad():
            e_u = user_emb[users]  # (B, d)
            pool_scores = torch.einsum(
                "bd,bkd->bk", e_u, item_emb[torch.from_numpy(pool_items)]
            )
            neg_scores = torch.einsum("bd,bmd->bm", e_u, item_emb[negatives])
            # l(u, c, j) for every c of the pool, averaged over the negatives.
            n_pool, n_neg = pool_scores.shape[1], neg_scores.shape[1]
            scores = torch.cat(
                [
                    pool_scores.reshape(-1, 1),
                    neg_scores.repeat_interleave(n_pool, dim=0).reshape(-1, n_neg),
                ],
                dim=1,
            )
            losses = bpr_terms(scores).reshape(-1, n_pool)
            probs = personal_loss_probabilities(losses.double(), self.temperature)
        cum = probs.cumsum(dim=1).numpy()
        draw = rng.random(len(cum))[:, None] * cum[:, -1:]
        return np.minimum((cum < draw).sum(axis=1), cum.shape[1] - 1)

    # -- prediction ------------------------------------------------------------
    def _user_rows(self, users, *, what="users"):
        users = _id_column(
            np.asarray(users, dtype=object)
            if isinstance(users, list | tuple)
            else users,
            "user",
        )
        rows, known = _encode(self.users_, users)
        if not known.all():
            unknown = users[~known]
            if self.unknown == "error":
                raise ValueError(
                    f"{what} holds {len(unknown)} user(s) unseen at fit, e.g. "
                    f"{unknown[0]!r}; set unknown='popular' to score them by "
                    "item popularity."
                )
            warnings.warn(
                f"{what} holds {len(unknown)} user(s) unseen at fit (e.g. "
                f"{unknown[0]!r}); their items are scored by popularity.",
                UserWarning,
                stacklevel=3,
            )
        return rows, known

    def predict(self, users, items=None):
        """Scores :math:`\\hat y_{ui}` of (user, item) pairs.

        Parameters
        ----------
        users : array-like of shape (n,), or pairs as in :meth:`fit`
            User ids; with ``items=None``, (user, item) pairs (an ``(n, 2)``
            array or a DataFrame).
        items : array-like of shape (n,), default=None
            Item ids, one per user.

        Returns
        -------
        ndarray of float64 of shape (n,)
            The pair's score; for an unknown user (``unknown="popular"``) the
            item's number of training interactions.
        """
        check_is_fitted(self, "user_factors_")
        if items is None:
            users, items = _pairs(users, self.user_col, self.item_col)
        else:
            users = _id_column(
                np.asarray(users, dtype=object)
                if isinstance(users, list | tuple)
                else users,
                "user",
            )
            items = _id_column(
                np.asarray(items, dtype=object)
                if isinstance(items, list | tuple)
                else items,
                "item",
            )
        if len(users) != len(items):
            raise ValueError(
                f"users and items must have the same length; got {len(users)} and "
                f"{len(items)}."
            )
        cols, known_items = _encode(self.items_, items)
        if not known_items.all():
            raise ValueError(
                f"items holds {int((~known_items).sum())} item(s) unseen at fit, e.g. "
                f"{items[~known_items][0]!r}; only items of the training data can be "
                "scored."
            )
        rows, known = self._user_rows(users)
        out = np.einsum(
            "nd,nd->n",
            self.user_factors_[rows].astype(np.float64),
            self.item_factors_[cols].astype(np.float64),
        )
        out[~known] = self.item_popularity_[cols[~known]]
        return out

    def _top_k(self, rows, known, k, exclude_seen, chunk=1024):
        """Item rows of the top ``k`` per user and a mask of valid entries."""
        n_items = len(self.items_)
        top = np.zeros((len(rows), k), dtype=np.int64)
        valid = np.ones((len(rows), k), dtype=bool)
        seen_u, seen_i = self.interactions_[:, 0], self.interactions_[:, 1]
        indptr = np.concatenate(
            [[0], np.cumsum(np.bincount(seen_u, minlength=len(self.users_)))]
        )
        for start in range(0, len(rows), chunk):
            r, kn = rows[start : start + chunk], known[start : start + chunk]
            scores = self.user_factors_[r].astype(
                np.float64
            ) @ self.item_factors_.T.astype(np.float64)
            scores[~kn] = self.item_popularity_
            if exclude_seen:
                kr = np.flatnonzero(kn)
                lengths = indptr[r[kr] + 1] - indptr[r[kr]]
                line = np.repeat(kr, lengths)
                starts = np.repeat(indptr[r[kr]], lengths)
                offs = np.arange(lengths.sum()) - np.repeat(
                    np.cumsum(lengths) - lengths, lengths
                )
                scores[line, seen_i[starts + offs]] = -np.inf
            kk = min(k, n_items)
            part = np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
            part_scores = np.take_along_axis(scores, part, axis=1)
            order = np.argsort(-part_scores, axis=1, kind="stable")
            best = np.take_along_axis(part, order, axis=1)
            top[start : start + len(r), :kk] = best
            valid[start : start + len(r), :kk] = np.isfinite(
                np.take_along_axis(part_scores, order, axis=1)
            )
            valid[start : start + len(r), kk:] = False
        return top, valid

    def recommend(self, users, k=10, exclude_seen=True):
        """The top-``k`` items of each user, best first.

        Parameters
        ----------
        users : array-like of shape (n,)
            User ids.
        k : int, default=10
            Items per user (``1 <= k``).
        exclude_seen : bool, default=True
            Leave out the items the user interacted with at ``fit``.

        Returns
        -------
        ndarray of shape (n, k)
            Item ids (of ``items_``'s dtype). Unknown users
            (``unknown="popular"``) get the most popular items.

        Raises
        ------
        ValueError
            If a user has fewer than ``k`` items left to recommend.
        """
        check_is_fitted(self, "user_factors_")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k must be an int >= 1; got {k!r}.")
        if not isinstance(exclude_seen, bool | np.bool_):
            raise TypeError(
                f"exclude_seen must be True or False; got {exclude_seen!r}."
            )
        rows, known = self._user_rows(users)
        top, valid = self._top_k(rows, known, int(k), bool(exclude_seen))
        if not valid.all():
            raise ValueError(
                f"k={k} is more than the items some users have left to recommend "
                f"({int(valid.sum(axis=1).min())} for the first such user); use a "
                "smaller k or exclude_seen=False."
            )
        return self.items_[top]

    def score(self, X, y=None, *, k=20):
        """Recall@k of the top-``k`` recommendations against held-out pairs.

        For each user of ``X``, the items of ``X`` are the relevant ones and the
        recommendations exclude the user's training items
        (:func:`~sklearn_losses.metrics.recommendation_recall`); items of ``X``
        unseen at fit count as missed.

        Parameters
        ----------
        X : array of shape (n, 2) or DataFrame
            Held-out (user, item) pairs.
        y : None
            Ignored.
        k : int, default=20
            Cut-off.

        Returns
        -------
        float
        """
        return self.score_at_k(X, k=k)[0]

    def score_at_k(self, X, k=20):
        """``(Recall@k, NDCG@k)`` of the top-``k`` recommendations on held-out pairs.

        See :meth:`score`.
        """
        check_is_fitted(self, "user_factors_")
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k must be an int >= 1; got {k!r}.")
        users, items = _pairs(X, self.user_col, self.item_col)
        if not len(users):
            raise ValueError("X holds no interactions to score.")
        user_ids, inverse = np.unique(users, return_inverse=True)
        rows, known = self._user_rows(user_ids, what="X")
        top, valid = self._top_k(rows, known, int(k), True)
        cols, known_items = _encode(self.items_, items)
        # Relevant pairs by (user position, item row); unknown items never hit
        # but count among the user's relevant items.
        n_items = len(self.items_)
        relevant = np.unique(inverse[known_items] * n_items + cols[known_items])
        item_ids, item_inverse = np.unique(items, return_inverse=True)
        pairs = np.unique(inverse * len(item_ids) + item_inverse)
        n_relevant = np.bincount(pairs // len(item_ids), minlength=len(user_ids))
        keys = np.arange(len(user_ids))[:, None] * n_items + top
        hits = np.isin(keys, relevant) & valid
        recall, ndcg = top_k_hit_metrics(hits, n_relevant, int(k))
        return float(recall.mean()), float(ndcg.mean())
