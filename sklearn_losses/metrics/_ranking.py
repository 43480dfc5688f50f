"""Ranking metrics over rows grouped by query id, and scorers that receive it.

Every metric takes flat, per-row arrays: ``y_true`` (graded relevance),
``y_score`` (higher ranks first) and ``qid`` (the query of each row). Rows of
one query need not be contiguous or sorted, and query ids may be any sortable
values (ints, strings). The rows are grouped once with
``np.unique(qid, return_inverse=True)`` and every query is computed at the same
time with array operations (no Python loop over queries), so 10 000 queries
take milliseconds.

Per query the metrics equal their library definitions:

- :func:`ndcg_by_query`: ``sklearn.metrics.ndcg_score([y], [s], k=k,
  ignore_ties=ignore_ties)`` (linear gain, tied scores averaged), or the
  exponential gain ``2**y - 1`` of LightGBM, XGBoost and allRank;
- :func:`map_by_query`: ``sklearn.metrics.average_precision_score(y >= t, s)``;
- :func:`mrr_by_query`: the reciprocal rank of the first relevant row;
- :func:`kendall_tau_by_query`: ``scipy.stats.kendalltau(y, s)``;
- :func:`pairwise_accuracy`: the fraction of pairs with different labels that
  the scores order correctly.

A per-row ``sample_weight`` must be constant within a query (it is the query's
weight); the mean over queries is then weighted. A query on which a metric is
undefined (no relevant row, a single row, all labels tied) is either scored by
a documented convention or skipped; ``return_skipped=True`` also returns how
many were skipped, and a metric with no query left is ``nan`` with an
``UndefinedMetricWarning``.

:class:`GroupedRankingScorer` is the scorer for ``GridSearchCV`` and
``cross_validate``: it requests ``qid`` through scikit-learn's metadata routing
and passes it to ``estimator.predict`` (models whose scores depend on the other
rows of the query need it there, which ``make_scorer`` cannot do).
"""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.utils import metadata_routing

__all__ = [
    "GroupedRankingScorer",
    "kendall_tau_by_query",
    "kendall_tau_scorer",
    "map_by_query",
    "map_scorer",
    "mrr_by_query",
    "mrr_scorer",
    "ndcg_by_query",
    "ndcg_scorer",
    "pairwise_accuracy",
    "pairwise_accuracy_scorer",
]

_NO_RELEVANT = ("zero", "skip", "one")


# -- input checks and grouping -------------------------------------------------
def _as_float_1d(name, values):
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of numbers; {exc}.") from None
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one value per row); got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf).")
    return array


def _check_choice(name, value, options):
    if not (isinstance(value, str) and value in options):
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}.")


def _check_real(name, value, low=None):
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and (low is None or value >= low)
    )
    if not ok:
        bound = "" if low is None else f" >= {low}"
        raise ValueError(f"{name} must be a finite number{bound}; got {value!r}.")
    return float(value)


class _Groups:
    """Rows grouped by query: ``index`` (the query of each row, 0..n_queries-1),
    ``sizes`` and per-query ``weight`` (ones without ``sample_weight``)."""

    def __init__(self, qid, n, sample_weight, required):
        if qid is None:
            if required:
                raise ValueError(
                    "qid is required: pass the query id of each row "
                    "(a 1-D array of length n_samples)."
                )
            self.index = np.zeros(n, dtype=np.intp)
        else:
            qid = np.asarray(qid)
            if qid.ndim != 1:
                raise ValueError(
                    f"qid must be 1-D (one query id per row); got shape {qid.shape}."
                )
            if len(qid) != n:
                raise ValueError(
                    f"qid has {len(qid)} rows but y_true has {n}; "
                    "give one query id per row."
                )
            try:
                _, self.index = np.unique(qid, return_inverse=True)
            except TypeError as exc:
                raise TypeError(
                    "qid must hold values that can be sorted together (all "
                    f"numbers or all strings); {exc}."
                ) from None
            self.index = self.index.reshape(-1)
        self.n_queries = int(self.index.max()) + 1
        self.sizes = np.bincount(self.index, minlength=self.n_queries)
        self.weight = self._query_weights(sample_weight, n)

    def _query_weights(self, sample_weight, n):
        if sample_weight is None:
            return np.ones(self.n_queries)
        w = _as_float_1d("sample_weight", sample_weight)
        if len(w) != n:
            raise ValueError(
                f"sample_weight has {len(w)} rows but y_true has {n}; give one "
                "weight per row (the same for every row of a query)."
            )
        if np.any(w < 0):
            raise ValueError("sample_weight must be >= 0.")
        low = np.full(self.n_queries, np.inf)
        high = np.full(self.n_queries, -np.inf)
        np.minimum.at(low, self.index, w)
        np.maximum.at(high, self.index, w)
        if np.any(low != high):
            raise ValueError(
                "sample_weight must be constant within a query (it is the "
                f"query's weight); {int(np.sum(low != high))} queries have "
                "rows with different weights."
            )
        return low

    def mean(self, values, keep, metric, return_skipped, weight=None):
        """The weighted mean of per-query ``values`` over the ``keep`` queries
        (``weight``: per-query weights instead of :attr:`weight`)."""
        n_skipped = int(self.n_queries - np.count_nonzero(keep))
        weight = (self.weight if weight is None else weight)[keep]
        total = weight.sum()
        if total > 0:
            value = float(np.dot(weight, values[keep]) / total)
        else:
            reason = "no query" if not keep.any() else "only queries of weight 0"
            warnings.warn(
                f"{metric} is undefined: {reason} can be scored ({n_skipped} of "
                f"{self.n_queries} queries skipped); returning nan.",
                UndefinedMetricWarning,
                stacklevel=3,
            )
            value = float("nan")
        return (value, n_skipped) if return_skipped else value


def _prepare(y_true, y_score, qid, sample_weight, *, required=True):
    y_true = _as_float_1d("y_true", y_true)
    y_score = _as_float_1d("y_score", y_score)
    if len(y_true) != len(y_score):
        raise ValueError(
            f"y_true and y_score must have the same length; got {len(y_true)} "
            f"and {len(y_score)}."
        )
    if len(y_true) == 0:
        raise ValueError("y_true and y_score are empty; give at least one row.")
    groups = _Groups(qid, len(y_true), sample_weight, required)
    return y_true, y_score, groups


def _ranked(groups, y_score):
    """Rows sorted by query, then score descending, then row descending
    (the order ``np.argsort(s)[::-1]`` gives a short list in scikit-learn);
    also each sorted row's 0-based position in its query and the start of a
    new block of tied scores."""
    n = len(y_score)
    order = np.lexsort((-np.arange(n), -y_score, groups.index))
    query = groups.index[order]
    starts = np.concatenate(([0], np.cumsum(groups.sizes)[:-1]))
    position = np.arange(n) - starts[query]
    score = y_score[order]
    new_block = np.ones(n, dtype=bool)
    new_block[1:] = (query[1:] != query[:-1]) | (score[1:] != score[:-1])
    return order, query, position, new_block


def _block_sums(new_block, *values):
    """The sums of each of ``values`` over each block of tied rows."""
    block = np.cumsum(new_block) - 1
    return [np.bincount(block, weights=v) for v in values]


# -- NDCG ----------------------------------------------------------------------
def ndcg_by_query(
    y_true,
    y_score,
    qid,
    *,
    k=None,
    gain="linear",
    ignore_ties=False,
    sample_weight=None,
    no_relevant="zero",
    return_skipped=False,
):
    r"""Mean normalised discounted cumulative gain over queries.

    Per query, with the rows in decreasing score and 1-based position
    :math:`p`,

    .. math::

        \mathrm{DCG@k} = \sum_{p \le k} \frac{g(y_{(p)})}{\log_2(p + 1)},
        \qquad \mathrm{NDCG@k} = \mathrm{DCG@k} / \mathrm{IDCG@k},

    where IDCG is the DCG of the rows sorted by ``y_true`` and the gain is
    :math:`g(y) = y` (``gain="linear"``, as ``sklearn.metrics.ndcg_score``) or
    :math:`g(y) = 2^y - 1` (``gain="exp2"``, as LightGBM, XGBoost and allRank).
    Tied scores are averaged over all orders of the tied rows (McSherry &
    Najork, 2008): each tied row gets the block's mean gain. Per query the
    value equals ``ndcg_score([y], [s], k=k, ignore_ties=ignore_ties)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Graded relevance of each row, >= 0.
    y_score : array-like of shape (n_samples,)
        Predicted score of each row (higher ranks first).
    qid : array-like of shape (n_samples,)
        Query id of each row (any sortable values; rows of a query need not be
        contiguous).
    k : int >= 1, default=None
        Only the top ``k`` positions count (``None``: all).
    gain : {"linear", "exp2"}, default="linear"
        ``y`` or ``2**y - 1``.
    ignore_ties : bool, default=False
        ``True`` sorts the scores without averaging ties (tied rows are taken
        last row first, as scikit-learn's ``argsort`` gives for short lists):
        use it only when the scores have no ties.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-row weight, constant within a query: the query's weight in the
        mean.
    no_relevant : {"zero", "skip", "one"}, default="zero"
        A query whose labels are all 0 (IDCG = 0) scores 0 (``"zero"``, as
        scikit-learn), is left out of the mean (``"skip"``), or scores 1
        (``"one"``, as LightGBM and allRank).
    return_skipped : bool, default=False
        Also return the number of queries left out of the mean.

    Returns
    -------
    float, or (float, int) with ``return_skipped=True``
        The (weighted) mean NDCG over queries; ``nan`` with an
        ``UndefinedMetricWarning`` when every query is skipped.

    Notes
    -----
    scikit-learn refuses a list of one item. Here a one-row query is scored by
    the same formula: its only order is the ideal one, so it scores 1.0 when
    its label is positive, and counts as a query without a relevant row when
    its label is 0.

    Examples
    --------
    >>> y = [2, 0, 1, 3, 1, 0, 0]
    >>> s = [0.5, 1.2, -0.3, 0.8, 0.2, 0.9, -1.0]
    >>> round(ndcg_by_query(y, s, qid=[7, 7, 7, 7, 9, 9, 9]), 10)
    0.6644321042
    >>> round(ndcg_by_query(y[:4], s[:4], qid=[7] * 4, k=2, gain="exp2"), 10)
    0.4966392597
    """
    y_true, y_score, groups = _prepare(y_true, y_score, qid, sample_weight)
    if k is not None and not (
        isinstance(k, numbers.Integral) and not isinstance(k, bool) and k >= 1
    ):
        raise ValueError(f"k must be None or an int >= 1; got {k!r}.")
    _check_choice("gain", gain, ("linear", "exp2"))
    _check_choice("no_relevant", no_relevant, _NO_RELEVANT)
    if not isinstance(ignore_ties, bool):
        raise ValueError(f"ignore_ties must be True or False; got {ignore_ties!r}.")
    if np.any(y_true < 0):
        raise ValueError(
            "y_true must be >= 0 for NDCG (graded relevance); got a minimum of "
            f"{y_true.min()!r}."
        )
    if gain == "exp2":
        if y_true.max() >= 1024:
            raise ValueError(
                "gain='exp2' overflows for y_true >= 1024; use gain='linear' or "
                "smaller labels."
            )
        gains = np.exp2(y_true) - 1.0
    else:
        gains = y_true

    order, query, position, new_block = _ranked(groups, y_score)
    discount = 1.0 / (np.log(position + 2.0) / np.log(2.0))
    if k is not None:
        discount[position >= k] = 0.0
    if ignore_ties:
        dcg = np.bincount(query, gains[order] * discount, minlength=groups.n_queries)
    else:
        block_gain, block_size, block_discount = _block_sums(
            new_block, gains[order], np.ones(len(order)), discount
        )
        dcg = np.bincount(
            query[new_block],
            block_gain / block_size * block_discount,
            minlength=groups.n_queries,
        )
    ideal_order = np.lexsort((-y_true, groups.index))
    idcg = np.bincount(
        groups.index[ideal_order],
        gains[ideal_order] * discount,
        minlength=groups.n_queries,
    )
    relevant = idcg > 0
    ndcg = np.full(groups.n_queries, 1.0 if no_relevant == "one" else 0.0)
    ndcg[relevant] = dcg[relevant] / idcg[relevant]
    keep = relevant if no_relevant == "skip" else np.ones_like(relevant)
    return groups.mean(ndcg, keep, "NDCG", return_skipped)


# -- MAP and MRR ---------------------------------------------------------------
def _relevant(y_true, relevance_threshold):
    threshold = _check_real("relevance_threshold", relevance_threshold)
    return y_true >= threshold


def map_by_query(
    y_true,
    y_score,
    qid,
    *,
    relevance_threshold=1,
    sample_weight=None,
    no_relevant="skip",
    return_skipped=False,
):
    r"""Mean average precision over queries.

    Per query, with the rows relevant when ``y_true >= relevance_threshold``,
    ``n_rel`` relevant rows and the distinct scores taken as thresholds from
    the highest down (tied scores form one block),

    .. math::

        \mathrm{AP} = \sum_b \frac{\mathrm{rel}_b}{n_\mathrm{rel}}\,
        \frac{\mathrm{TP}_{\le b}}{n_{\le b}},

    the non-interpolated average precision: ``rel_b`` relevant rows in block
    ``b``, ``TP_{<=b}`` relevant rows among the ``n_{<=b}`` rows scored at
    least as high as block ``b``. It equals
    ``sklearn.metrics.average_precision_score(y >= relevance_threshold, s)``
    per query, and trec_eval's AP when there are no tied scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Graded (or binary) relevance of each row.
    y_score : array-like of shape (n_samples,)
        Predicted score of each row (higher ranks first).
    qid : array-like of shape (n_samples,)
        Query id of each row (any sortable values).
    relevance_threshold : float, default=1
        A row is relevant when ``y_true >= relevance_threshold``.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-row weight, constant within a query: the query's weight.
    no_relevant : {"skip", "zero"}, default="skip"
        A query without a relevant row has no AP: it is left out of the mean
        (``"skip"``) or scores 0 (``"zero"``).
    return_skipped : bool, default=False
        Also return the number of queries left out of the mean.

    Returns
    -------
    float, or (float, int) with ``return_skipped=True``
        The (weighted) mean AP; ``nan`` with an ``UndefinedMetricWarning``
        when every query is skipped.

    Examples
    --------
    >>> y = [2, 0, 1, 3, 0, 0]
    >>> s = [0.5, 1.2, -0.3, 0.8, 0.1, 0.2]
    >>> q = [1, 1, 1, 1, 2, 2]
    >>> value, n_skipped = map_by_query(
    ...     y, s, q, relevance_threshold=2, return_skipped=True)
    >>> round(value, 10), n_skipped
    (0.5833333333, 1)
    """
    y_true, y_score, groups = _prepare(y_true, y_score, qid, sample_weight)
    _check_choice("no_relevant", no_relevant, ("skip", "zero"))
    relevant = _relevant(y_true, relevance_threshold).astype(np.float64)
    n_relevant = np.bincount(groups.index, relevant, minlength=groups.n_queries)
    order, query, _, new_block = _ranked(groups, y_score)
    block_tp, block_size = _block_sums(new_block, relevant[order], np.ones(len(order)))
    block_query = query[new_block]
    # Rows and relevant rows up to the end of each block, within its query
    # (whole counts: exact in float64).
    cum_tp = np.cumsum(block_tp)
    cum_n = np.cumsum(block_size)
    before_tp = (cum_tp[-1] - np.cumsum(n_relevant[::-1])[::-1])[block_query]
    before_n = (cum_n[-1] - np.cumsum(groups.sizes[::-1])[::-1])[block_query]
    precision = (cum_tp - before_tp) / (cum_n - before_n)
    has_relevant = n_relevant > 0
    recall_step = block_tp / np.where(has_relevant, n_relevant, 1.0)[block_query]
    ap = np.bincount(block_query, recall_step * precision, minlength=groups.n_queries)
    keep = has_relevant if no_relevant == "skip" else np.ones_like(has_relevant)
    return groups.mean(ap, keep, "MAP", return_skipped)


def mrr_by_query(
    y_true,
    y_score,
    qid,
    *,
    relevance_threshold=1,
    ties="pessimistic",
    sample_weight=None,
    no_relevant="zero",
    return_skipped=False,
):
    r"""Mean reciprocal rank of the first relevant row over queries.

    Per query, :math:`\mathrm{RR} = 1 / p`, where :math:`p` is the 1-based
    position of the first relevant row (``y_true >= relevance_threshold``) in
    decreasing score.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Graded (or binary) relevance of each row.
    y_score : array-like of shape (n_samples,)
        Predicted score of each row (higher ranks first).
    qid : array-like of shape (n_samples,)
        Query id of each row (any sortable values).
    relevance_threshold : float, default=1
        A row is relevant when ``y_true >= relevance_threshold``.
    ties : {"pessimistic", "stable", "optimistic"}, default="pessimistic"
        How rows tied with the best-scored relevant row are ordered:
        ``"pessimistic"`` puts every non-relevant tied row first (the worst
        order), ``"optimistic"`` puts a relevant row first, ``"stable"`` keeps
        the order of the rows in the input (earlier row first).
    sample_weight : array-like of shape (n_samples,), default=None
        Per-row weight, constant within a query: the query's weight.
    no_relevant : {"zero", "skip"}, default="zero"
        A query without a relevant row scores 0 (``"zero"``, as trec_eval) or
        is left out of the mean (``"skip"``).
    return_skipped : bool, default=False
        Also return the number of queries left out of the mean.

    Returns
    -------
    float, or (float, int) with ``return_skipped=True``
        The (weighted) mean reciprocal rank; ``nan`` with an
        ``UndefinedMetricWarning`` when every query is skipped.

    Examples
    --------
    >>> y = [2, 0, 1, 3]
    >>> s = [0.5, 1.2, -0.3, 0.8]
    >>> float(mrr_by_query(y, s, [0, 0, 0, 0], relevance_threshold=2))
    0.5
    >>> float(mrr_by_query([1, 0], [0.3, 0.3], [0, 0], ties="stable"))
    1.0
    """
    y_true, y_score, groups = _prepare(y_true, y_score, qid, sample_weight)
    _check_choice("ties", ties, ("pessimistic", "stable", "optimistic"))
    _check_choice("no_relevant", no_relevant, ("zero", "skip"))
    relevant = _relevant(y_true, relevance_threshold)
    n = len(y_true)
    q = groups.index
    best = np.full(groups.n_queries, -np.inf)
    np.maximum.at(best, q[relevant], y_score[relevant])
    has_relevant = np.isfinite(best)
    above = np.bincount(q, y_score > best[q], minlength=groups.n_queries)
    tied = y_score == best[q]
    if ties == "pessimistic":
        extra = np.bincount(q, tied & ~relevant, minlength=groups.n_queries)
    elif ties == "optimistic":
        extra = np.zeros(groups.n_queries)
    else:
        rows = np.arange(n)
        first = np.full(groups.n_queries, n)
        np.minimum.at(first, q[tied & relevant], rows[tied & relevant])
        extra = np.bincount(q, tied & (rows < first[q]), minlength=groups.n_queries)
    rr = np.where(has_relevant, 1.0 / (1.0 + above + extra), 0.0)
    keep = has_relevant if no_relevant == "skip" else np.ones_like(has_relevant)
    return groups.mean(rr, keep, "MRR", return_skipped)


# -- pair counts: Kendall's tau and pairwise accuracy -------------------------
def _dense_rank(values):
    unique, rank = np.unique(values, return_inverse=True)
    return unique, rank.reshape(-1)


def _count_prefix_less(values, segment, start, position, bound):
    """``#{j in [start, start + position) : values[j] < bound}`` per query.

    ``values`` holds the rows of consecutive segments (queries);
    ``segment[j]`` is the first row of row ``j``'s segment, ``start`` that of
    the query's. ``values`` and ``bound`` are non-negative ints. A prefix of
    length ``position`` splits into at most one aligned block of ``2**l`` rows
    per set bit ``l`` of ``position``; each level sorts ``(block, value)``
    keys once and counts with two binary searches, so the whole is
    O(n log^2 L) array work for queries of at most ``L`` rows.
    """
    local = np.arange(len(values), dtype=np.int64) - segment
    span = int(max(values.max(initial=0), bound.max(initial=0))) + 1
    counts = np.zeros(len(position), dtype=np.int64)
    level = 0
    while (1 << level) <= position.max(initial=0):
        has_block = ((position >> level) & 1).astype(bool)
        if has_block.any():
            keys = np.sort((segment + ((local >> level) << level)) * span + values)
            # The block starts at row ``first``: ``first`` keys sort before it.
            first = start[has_block] + (
                (position[has_block] >> (level + 1)) << (level + 1)
            )
            needles = first * span + bound[has_block]
            ascending = np.argsort(needles)  # sorted needles search faster
            found = np.empty(len(needles), dtype=np.int64)
            found[ascending] = np.searchsorted(keys, needles[ascending])
            counts[has_block] += found - first
        level += 1
    return counts


def _pair_counts(y_true, y_score, groups, min_label_gap=0.0):
    """Per row ``i``, over the rows ``j`` of its query with
    ``y_true[i] - y_true[j] > min_label_gap``: their number, how many score
    strictly lower than ``i`` and how many score strictly higher."""
    labels, label_rank = _dense_rank(y_true)
    _, score_rank = _dense_rank(y_score)
    # Labels below ``y_i - gap`` are the first ``cut_i`` distinct labels; fix
    # the binary search's rounding with the exact test ``y_i - u > gap``.
    cut = np.searchsorted(labels, y_true - min_label_gap, side="left")
    last = len(labels) - 1
    while True:
        down = (cut > 0) & ~(y_true - labels[np.maximum(cut - 1, 0)] > min_label_gap)
        cut = cut - down
        up = (cut <= last) & (y_true - labels[np.minimum(cut, last)] > min_label_gap)
        cut = cut + up
        if not (down.any() or up.any()):
            break
    span = len(labels) + 1
    key = groups.index.astype(np.int64) * span
    order = np.argsort(key + label_rank, kind="stable")
    sorted_keys = (key + label_rank)[order]
    low = np.searchsorted(sorted_keys, key, side="left")
    high = np.searchsorted(sorted_keys, key + cut, side="left")
    # Count within each query: rows j in [low, high) of the sorted rows.
    segment = low[order]
    rank = score_rank.astype(np.int64)
    counts = _count_prefix_less(
        score_rank[order].astype(np.int64),
        segment,
        np.tile(low, 2),
        np.tile(high - low, 2),
        np.concatenate([rank, rank + 1]),
    )
    pairs = high - low
    lower = counts[: len(rank)]
    higher = pairs - counts[len(rank) :]
    return pairs, lower, higher


def kendall_tau_by_query(
    y_true,
    y_score,
    qid=None,
    *,
    variant="b",
    sample_weight=None,
    return_skipped=False,
):
    r"""Mean Kendall rank correlation over queries (or over all rows).

    Per query, :math:`\tau` is ``scipy.stats.kendalltau(y_true, y_score,
    variant=variant)``: with :math:`n_c - n_d` the concordant minus the
    discordant pairs, :math:`n_0 = n(n-1)/2` and :math:`n_1, n_2` the pairs
    tied in ``y_true`` and in ``y_score``,

    .. math::

        \tau_b = \frac{n_c - n_d}{\sqrt{(n_0 - n_1)(n_0 - n_2)}}, \qquad
        \tau_c = \frac{2 (n_c - n_d)}{n^2 (m - 1) / m},

    where :math:`m` is the smaller number of distinct values. Pairs are counted
    for all queries at once in O(n log^2 n).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True relevance or target of each row.
    y_score : array-like of shape (n_samples,)
        Predicted score of each row.
    qid : array-like of shape (n_samples,), default=None
        Query id of each row; ``None``: one :math:`\tau` over all rows.
    variant : {"b", "c"}, default="b"
        Tie-corrected :math:`\tau_b` or Stuart's :math:`\tau_c`, as in scipy.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-row weight, constant within a query: the query's weight.
    return_skipped : bool, default=False
        Also return the number of queries left out of the mean.

    Returns
    -------
    float, or (float, int) with ``return_skipped=True``
        The (weighted) mean :math:`\tau` over the queries where it is defined.
        It is undefined (scipy gives ``nan``), and the query skipped, when the
        query has one row or all its labels or all its scores are tied. ``nan``
        with an ``UndefinedMetricWarning`` when every query is skipped.

    Examples
    --------
    >>> float(kendall_tau_by_query([2, 0, 1, 3], [0.5, 1.2, -0.3, 0.8]))
    0.0
    >>> float(kendall_tau_by_query([1, 2, 3, 1, 2], [0, 1, 2, 2, 1], [0, 0, 0, 1, 1]))
    0.0
    """
    y_true, y_score, groups = _prepare(
        y_true, y_score, qid, sample_weight, required=False
    )
    _check_choice("variant", variant, ("b", "c"))
    _, lower, higher = _pair_counts(y_true, y_score, groups)
    nq = groups.n_queries
    q = groups.index
    net = np.bincount(q, lower - higher, minlength=nq)
    size = groups.sizes.astype(np.int64)
    total = size * (size - 1) // 2

    def ties(values):
        """Per query: pairs tied in ``values`` and distinct values."""
        labels, rank = _dense_rank(values)
        _, first, counts = np.unique(
            q.astype(np.int64) * len(labels) + rank,
            return_index=True,
            return_counts=True,
        )
        owner = q[first]
        tied = np.bincount(owner, counts * (counts - 1) // 2, minlength=nq)
        return tied.astype(np.int64), np.bincount(owner, minlength=nq)

    label_ties, label_distinct = ties(y_true)
    score_ties, score_distinct = ties(y_score)
    defined = (label_ties != total) & (score_ties != total)
    tau = np.zeros(nq)
    d = defined
    if variant == "b":
        tau[d] = (
            net[d]
            / np.sqrt(total[d] - label_ties[d])
            / np.sqrt(total[d] - score_ties[d])
        )
    else:
        m = np.minimum(label_distinct, score_distinct)[d]
        tau[d] = 2 * net[d] / (size[d] ** 2 * (m - 1) / m)
    tau = np.clip(tau, -1.0, 1.0)
    return groups.mean(tau, defined, "Kendall's tau", return_skipped)


def pairwise_accuracy(
    y_true,
    y_score,
    qid=None,
    *,
    min_label_gap=0.0,
    average="pairs",
    sample_weight=None,
    return_skipped=False,
):
    r"""Fraction of pairs with different labels that the scores order correctly.

    A pair :math:`(i, j)` of rows of the same query counts when
    :math:`|y_i - y_j| > \mathrm{min\_label\_gap}` (so :math:`y_i \ne y_j`);
    it is correct when :math:`\mathrm{sign}(s_i - s_j) = \mathrm{sign}(y_i -
    y_j)`. Tied scores count as wrong. Pairs are counted in O(n log^2 n), so
    ``qid=None`` (all pairs of all rows) works for many thousand rows.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True relevance or target of each row.
    y_score : array-like of shape (n_samples,)
        Predicted score of each row.
    qid : array-like of shape (n_samples,), default=None
        Query id of each row (pairs within a query only); ``None``: all pairs.
    min_label_gap : float >= 0, default=0.0
        Pairs whose labels differ by this much or less are not counted.
    average : {"pairs", "queries"}, default="pairs"
        ``"pairs"``: correct pairs over counted pairs, pooled over queries (a
        query weighs by its number of pairs); ``"queries"``: the mean over
        queries of each query's fraction.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-row weight, constant within a query: each pair of the query
        counts with the query's weight. Needs ``qid``.
    return_skipped : bool, default=False
        Also return the number of queries without a counted pair.

    Returns
    -------
    float, or (float, int) with ``return_skipped=True``
        ``nan`` with an ``UndefinedMetricWarning`` when no pair counts.

    Examples
    --------
    >>> float(pairwise_accuracy([2, 0, 1, 3], [0.5, 1.2, -0.3, 0.8]))
    0.5
    >>> float(pairwise_accuracy([2, 0, 1, 3], [0.5, 1.2, -0.3, 0.8], min_label_gap=1))
    0.3333333333333333
    """
    if qid is None and sample_weight is not None:
        raise ValueError(
            "sample_weight is a per-query weight in pairwise_accuracy; it needs "
            "qid (pass qid, or sample_weight=None)."
        )
    y_true, y_score, groups = _prepare(
        y_true, y_score, qid, sample_weight, required=False
    )
    gap = _check_real("min_label_gap", min_label_gap, low=0)
    _check_choice("average", average, ("pairs", "queries"))
    pairs, lower, _ = _pair_counts(y_true, y_score, groups, gap)
    nq = groups.n_queries
    query_pairs = np.bincount(groups.index, pairs, minlength=nq)
    query_correct = np.bincount(groups.index, lower, minlength=nq)
    keep = query_pairs > 0
    accuracy = np.zeros(nq)
    accuracy[keep] = query_correct[keep] / query_pairs[keep]
    weight = groups.weight * query_pairs if average == "pairs" else None
    return groups.mean(accuracy, keep, "pairwise accuracy", return_skipped, weight)


# -- scorers --------------------------------------------------------------------
_METRICS = {
    "ndcg": ndcg_by_query,
    "map": map_by_query,
    "mrr": mrr_by_query,
    "kendall_tau": kendall_tau_by_query,
    "pairwise_accuracy": pairwise_accuracy,
}


def _predict_takes_qid(estimator):
    """Whether ``estimator.predict`` accepts ``qid`` (a Pipeline's
    ``**params`` is followed to its final step)."""
    try:
        parameters = inspect.signature(estimator.predict).parameters
    except (TypeError, ValueError):
        return False
    if "qid" in parameters:
        return True
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return False
    final = getattr(estimator, "_final_estimator", None)
    if final is None:
        return True
    return not isinstance(final, str) and _predict_takes_qid(final)


class GroupedRankingScorer(BaseEstimator):
    """A scorer for ranking metrics that needs, and routes, the query ids.

    ``scorer(estimator, X, y_true, qid=qid)`` predicts with
    ``estimator.predict(X, qid=qid)`` when ``predict`` accepts ``qid`` (else
    ``estimator.predict(X)``) and returns the metric of ``y_true`` and those
    scores by query (greater is better). Models whose scores depend on the
    other rows of a query (set encoders, list decoders) need ``qid`` at
    predict time, which ``make_scorer`` does not give them.

    The scorer requests ``qid`` through scikit-learn's metadata routing by
    default. Turn routing on with ``sklearn.set_config(
    enable_metadata_routing=True)``, then pass ``qid`` to the search's
    ``fit`` (``GridSearchCV(...).fit(X, y, groups=qid, qid=qid)``) or in
    ``cross_validate(..., params={"groups": qid, "qid": qid})``; it is sliced
    per fold with the rows. Weighted scoring with a per-query weight (constant
    within a query) is requested explicitly, as for scikit-learn's scorers:
    ``scorer.set_score_request(sample_weight=True)``.

    Parameters
    ----------
    metric : {"ndcg", "map", "mrr", "kendall_tau", "pairwise_accuracy"} or \
callable, default="ndcg"
        The metric by query (:func:`ndcg_by_query`, :func:`map_by_query`,
        :func:`mrr_by_query`, :func:`kendall_tau_by_query`,
        :func:`pairwise_accuracy`), or a callable ``f(y_true, y_score, qid,
        **metric_params)`` (with a ``sample_weight`` keyword for weighted
        scoring) that returns a float, greater is better; it gets
        ``qid=None`` when no query ids are given.
    **metric_params
        Keyword arguments of the metric, e.g. ``k=10`` for NDCG.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> X = np.array([[0.0], [1.0], [2.0], [0.0], [1.0]])
    >>> y = np.array([0, 1, 2, 1, 0])
    >>> qid = np.array([1, 1, 1, 2, 2])
    >>> model = Ridge(alpha=1.0).fit(X[:3], y[:3])
    >>> scorer = GroupedRankingScorer("ndcg", k=2)
    >>> round(scorer(model, X, y, qid=qid), 4)
    0.8155
    """

    # qid is requested by default; sample_weight, as in scikit-learn's own
    # scorers, only when asked for (set_score_request(sample_weight=True)).
    __metadata_request__score = {
        "qid": True,
        "sample_weight": None,
        "estimator": metadata_routing.UNUSED,
        "y_true": metadata_routing.UNUSED,
    }

    def __init__(self, metric="ndcg", **metric_params):
        self.metric = metric
        self.metric_params = metric_params

    def get_params(self, deep=True):
        """The metric and its parameters (each under its own name)."""
        return {"metric": self.metric, **self.metric_params}

    def set_params(self, **params):
        """Set the metric or any of its parameters; returns ``self``."""
        params = dict(params)
        if "metric" in params:
            self.metric = params.pop("metric")
        self.metric_params = {**self.metric_params, **params}
        return self

    def _metric_function(self):
        if callable(self.metric):
            return self.metric
        if isinstance(self.metric, str) and self.metric in _METRICS:
            function = _METRICS[self.metric]
        else:
            allowed = ", ".join(repr(m) for m in _METRICS)
            raise ValueError(
                f"metric must be one of {allowed} or a callable; got {self.metric!r}."
            )
        accepted = set(inspect.signature(function).parameters) - {
            "y_true",
            "y_score",
            "qid",
            "sample_weight",
            "return_skipped",
        }
        unknown = sorted(set(self.metric_params) - accepted)
        if unknown:
            raise ValueError(
                f"{unknown} are not parameters of metric {self.metric!r}; it takes "
                f"{sorted(accepted)}."
            )
        return function

    def score(self, estimator, X, y_true, qid=None, sample_weight=None):
        """The metric by query of ``y_true`` and the estimator's scores on ``X``.

        Parameters
        ----------
        estimator : fitted estimator
            Its ``predict`` gives one score per row (higher ranks first).
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y_true : array-like of shape (n_samples,)
            True relevance of each row.
        qid : array-like of shape (n_samples,)
            Query id of each row (routed by metadata routing). Required for
            every metric but ``kendall_tau`` and ``pairwise_accuracy``, which
            without it score all rows as one list.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weight, constant within a query.

        Returns
        -------
        float
        """
        function = self._metric_function()
        needs_qid = isinstance(self.metric, str) and self.metric not in (
            "kendall_tau",
            "pairwise_accuracy",
        )
        if qid is None and needs_qid:
            raise ValueError(
                f"GroupedRankingScorer(metric={self.metric!r}) needs the query id "
                "of each row, and got qid=None. Turn on metadata routing with "
                "sklearn.set_config(enable_metadata_routing=True) and pass qid "
                "where the data goes in: GridSearchCV(...).fit(X, y, groups=qid, "
                'qid=qid) or cross_validate(..., params={"groups": qid, '
                '"qid": qid}); or call scorer(estimator, X, y, qid=qid).'
            )
        if qid is not None and _predict_takes_qid(estimator):
            y_score = estimator.predict(X, qid=qid)
        else:
            y_score = estimator.predict(X)
        y_score = np.asarray(y_score, dtype=np.float64)
        if y_score.ndim == 2 and y_score.shape[1] == 1:
            y_score = y_score[:, 0]
        params = dict(self.metric_params)
        if sample_weight is not None:
            params["sample_weight"] = sample_weight
        return float(function(y_true, y_score, qid, **params))

    __call__ = score


def ndcg_scorer(k=10, **kwargs):
    """:class:`GroupedRankingScorer` for :func:`ndcg_by_query` at ``k``.

    Examples
    --------
    >>> ndcg_scorer(5, gain="exp2")
    GroupedRankingScorer(gain='exp2', k=5)
    """
    return GroupedRankingScorer("ndcg", k=k, **kwargs)


def map_scorer(**kwargs):
    """:class:`GroupedRankingScorer` for :func:`map_by_query`.

    Examples
    --------
    >>> map_scorer(relevance_threshold=2)
    GroupedRankingScorer(metric='map', relevance_threshold=2)
    """
    return GroupedRankingScorer("map", **kwargs)


def mrr_scorer(**kwargs):
    """:class:`GroupedRankingScorer` for :func:`mrr_by_query`.

    Examples
    --------
    >>> mrr_scorer().metric
    'mrr'
    """
    return GroupedRankingScorer("mrr", **kwargs)


def kendall_tau_scorer(**kwargs):
    """:class:`GroupedRankingScorer` for :func:`kendall_tau_by_query`.

    Examples
    --------
    >>> kendall_tau_scorer(variant="c").get_params()
    {'metric': 'kendall_tau', 'variant': 'c'}
    """
    return GroupedRankingScorer("kendall_tau", **kwargs)


def pairwise_accuracy_scorer(**kwargs):
    """:class:`GroupedRankingScorer` for :func:`pairwise_accuracy`.

    Examples
    --------
    >>> pairwise_accuracy_scorer(min_label_gap=1.0).metric
    'pairwise_accuracy'
    """
    return GroupedRankingScorer("pairwise_accuracy", **kwargs)
