"""Metrics of embeddings: retrieval, k-NN accuracy, uniformity, tolerance,
utilization, and scorers that evaluate a transformer's output.

Every function takes the embeddings as an array-like of shape
``(n_samples, n_components)`` (numpy arrays, lists or CPU torch tensors) and,
where labels matter, ``labels`` of shape ``(n_samples,)`` of any type that
``numpy.unique`` can sort (ints, strings). Everything is computed in float64
and returned as a Python float.

**Retrieval** (:func:`recall_at_k`, :func:`map_at_r`, :func:`r_precision`,
:func:`knn_accuracy`) is leave-one-out within the set: each row is a query and
the other rows are its candidates (a query is never its own neighbour; it is
excluded by index, so an exact duplicate of the query still counts as a
neighbour). With ``reference=(ref_embeddings, ref_labels)`` every row is a
query against the separate reference set and nothing is excluded. Distances
are Euclidean (``metric="euclidean"``) or cosine (``metric="cosine"``,
:math:`1 - \\cos`). Ties in distance are broken by index: of two candidates at
the same distance, the one with the lower row index (in the reference set) is
the nearer. The queries are processed ``chunk_size`` rows at a time, so the
memory is :math:`O(\\mathrm{chunk\\_size} \\times n)` and never an
:math:`n \\times n` matrix; the result does not depend on ``chunk_size``.

The retrieval metrics follow pytorch-metric-learning's ``AccuracyCalculator``
(Musgrave, Belongie & Lim, "A Metric Learning Reality Check", ECCV 2020): a
query whose label has no other item among its candidates cannot retrieve
anything and is left out of the mean (its ``precision_at_1``, ``r_precision``
and ``mean_average_precision_at_r`` are computed the same way).

**Geometry of the embedding space**: :func:`uniformity` and
:func:`tolerance` (Wang & Liu, "Understanding the Behaviour of Contrastive
Loss", CVPR 2021) and :func:`utilization` (Venkataramanan et al., "It Takes Two
to Tango: Mixup for Deep Metric Learning", ICLR 2022).

**Scorers**: :class:`EmbeddingScorer` is a scorer ``scorer(estimator, X, y)``
for ``GridSearchCV`` and ``cross_validate`` on a fitted transformer (or a
pipeline ending in one): it embeds ``X`` with ``estimator.transform`` and
evaluates a metric leave-one-out on those rows with labels ``y``.
"""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np
import torch
from sklearn.exceptions import UndefinedMetricWarning

from ._icnn import icnn_score

__all__ = [
    "EmbeddingScorer",
    "UtilizationScorer",
    "icnn_scorer",
    "knn_accuracy",
    "knn_accuracy_scorer",
    "make_embedding_scorer",
    "map_at_r",
    "map_at_r_scorer",
    "r_precision",
    "recall_at_1_scorer",
    "recall_at_k",
    "tolerance",
    "tolerance_scorer",
    "uniformity",
    "uniformity_scorer",
    "utilization",
]

_METRICS = ("euclidean", "cosine")
_VOTE_TIES = ("nearest", "label")
# Up to this k the k nearest are found with torch.topk, above with argpartition.
_TOPK_MAX = 256


# -- input checks ----------------------------------------------------------------
def _as_embeddings(name, values, min_rows=1):
    """``values`` as a finite float64 array of shape (n, d), n >= min_rows."""
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a 2-D array of numbers (n_samples, n_components); {exc}."
        ) from None
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_components); got shape {array.shape}."
        )
    if array.shape[1] == 0:
        raise ValueError(f"{name} must have at least one column; got shape 0.")
    if array.shape[0] < min_rows:
        why = " (pairs of rows are compared)" if min_rows == 2 else ""
        raise ValueError(
            f"{name} must have at least {min_rows} row(s){why}; got {array.shape[0]}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf).")
    if not np.all(np.isfinite(np.einsum("ij,ij->i", array, array))):
        raise ValueError(
            f"{name} is too large: squared norms overflow float64; rescale it."
        )
    return array


def _as_labels(name, values, n, embeddings_name):
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    labels = np.asarray(values)
    if labels.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per row); got shape {labels.shape}."
        )
    if len(labels) != n:
        raise ValueError(
            f"{name} has {len(labels)} rows but {embeddings_name} has {n}; give "
            "one label per row."
        )
    return labels


def _encode(*label_arrays):
    """Integer codes of the label arrays over their common sorted classes."""
    joined = np.concatenate(label_arrays)
    try:
        _, codes = np.unique(joined, return_inverse=True)
    except TypeError as exc:
        raise TypeError(
            "labels must hold values that can be sorted together (all numbers "
            f"or all strings); {exc}."
        ) from None
    codes = codes.reshape(-1)
    bounds = np.cumsum([0] + [len(a) for a in label_arrays])
    return [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _check_int(name, value, low, high=None, why=""):
    ok = (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )
    if not ok:
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bound}{why}; got {value!r}.")
    return int(value)


def _check_real(name, value, positive=False):
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
        and (not positive or value > 0)
    )
    if not ok:
        kind = "a finite number > 0" if positive else "a finite number"
        raise ValueError(f"{name} must be {kind}; got {value!r}.")
    return float(value)


def _check_choice(name, value, options):
    if not (isinstance(value, str) and value in options):
        allowed = ", ".join(repr(o) for o in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}.")


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _normalize_rows(name, array):
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError(
            f"{name} has {int(np.sum(norms == 0))} all-zero row(s), which have no "
            "direction; cosine distance and normalize=True need non-zero rows."
        )
    return array / norms


class _Retrieval:
    """Queries, candidates and label codes of a retrieval metric, checked.

    ``leave_one_out`` is True without a reference set: the candidates are the
    queries themselves and query ``i`` is excluded from its own candidates.
    ``n_relevant[i]`` is the number of candidates with the query's label.
    """

    def __init__(self, embeddings, labels, reference, metric, chunk_size):
        _check_choice("metric", metric, _METRICS)
        self.chunk_size = _check_int("chunk_size", chunk_size, 1)
        self.metric = metric
        self.leave_one_out = reference is None
        queries = _as_embeddings(
            "embeddings", embeddings, min_rows=2 if self.leave_one_out else 1
        )
        labels = _as_labels("labels", labels, len(queries), "embeddings")
        if self.leave_one_out:
            candidates, (query_codes,) = queries, _encode(labels)
            candidate_codes = query_codes
        else:
            if not (isinstance(reference, (tuple, list)) and len(reference) == 2):
                raise ValueError(
                    "reference must be None or a pair (ref_embeddings, ref_labels); "
                    f"got {type(reference).__name__}."
                )
            candidates = _as_embeddings("reference[0]", reference[0])
            ref_labels = _as_labels(
                "reference[1]", reference[1], len(candidates), "reference[0]"
            )
            if candidates.shape[1] != queries.shape[1]:
                raise ValueError(
                    "embeddings and reference[0] must have the same number of "
                    f"columns; got {queries.shape[1]} and {candidates.shape[1]}."
                )
            query_codes, candidate_codes = _encode(labels, ref_labels)
        if metric == "cosine":
            queries = _normalize_rows("embeddings", queries)
            candidates = (
                queries
                if self.leave_one_out
                else _normalize_rows("reference[0]", candidates)
            )
        self.queries, self.candidates = queries, candidates
        self.query_codes, self.candidate_codes = query_codes, candidate_codes
        n_classes = int(max(query_codes.max(), candidate_codes.max())) + 1
        per_class = np.bincount(candidate_codes, minlength=n_classes)
        self.n_relevant = per_class[query_codes] - int(self.leave_one_out)
        self.candidate_sq = np.einsum("ij,ij->i", candidates, candidates)

    @property
    def n_candidates(self):
        """The most candidates a query has."""
        return len(self.candidates) - int(self.leave_one_out)

    def check_k(self, name, k):
        return _check_int(
            name,
            k,
            1,
            self.n_candidates,
            " (at most the number of candidates: n_samples - 1 leave-one-out, "
            "else the reference rows)",
        )

    def neighbours(self, k):
        """Yield ``(rows, index)`` per chunk of queries: ``index`` of shape
        ``(len(rows), k_chunk)`` holds each query's nearest candidates in
        order (ties by index). ``k`` is an int or a per-query array (the
        chunk then gets its largest value; rows with k = 0 are not needed)."""
        n = len(self.queries)
        per_query = np.broadcast_to(np.asarray(k), (n,))
        for start in range(0, n, self.chunk_size):
            rows = np.arange(start, min(start + self.chunk_size, n))
            k_chunk = int(per_query[rows].max())
            if k_chunk == 0:
                continue
            yield rows, _nearest(self._keys(rows), k_chunk)

    def _keys(self, rows):
        """A key per (query, candidate) that orders the candidates as the
        distance does (self excluded with +inf)."""
        keys = self.queries[rows] @ self.candidates.T
        if self.metric == "cosine":
            np.negative(keys, out=keys)
        else:  # squared distance less the query's own squared norm
            keys *= -2.0
            keys += self.candidate_sq[None, :]
        if self.leave_one_out:
            keys[np.arange(len(rows)), rows] = np.inf
        return keys


def _nearest(keys, k):
    """Column indices of the ``k`` smallest keys of each row, in increasing
    key, equal keys in increasing column (a stable order)."""
    n_rows, n_cols = keys.shape
    if k == 1:
        return np.argmin(keys, axis=1)[:, None]  # the first of equal minima
    if k >= n_cols:
        return np.argsort(keys, axis=1, kind="stable")[:, :k]
    if k <= _TOPK_MAX:  # torch's top-k is much faster than numpy for small k
        values, columns = torch.topk(
            torch.from_numpy(keys), k, dim=1, largest=False, sorted=False
        )
        values, columns = values.numpy(), columns.numpy()
    else:
        columns = np.argpartition(keys, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(keys, columns, axis=1)
    kth = values.max(axis=1, keepdims=True)
    # Rows where keys equal to the k-th straddle the cut: the selection took
    # an arbitrary subset of them; take the lowest columns instead.
    straddle = np.flatnonzero(np.count_nonzero(keys <= kth, axis=1) > k)
    if len(straddle):
        sub, sub_kth = keys[straddle], kth[straddle]
        at = sub == sub_kth
        room = k - np.count_nonzero(sub < sub_kth, axis=1)[:, None]
        take = (sub < sub_kth) | (at & (np.cumsum(at, axis=1) <= room))
        columns[straddle] = np.nonzero(take)[1].reshape(len(straddle), k)
        values[straddle] = np.take_along_axis(sub, columns[straddle], axis=1)
    order = np.lexsort((columns, values), axis=1)
    return np.take_along_axis(columns, order, axis=1)


def _mean_over(values, keep, metric_name):
    if not np.any(keep):
        warnings.warn(
            f"{metric_name} is undefined: no query has another item of its label "
            "among its candidates; returning nan.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return float("nan")
    return float(np.mean(values[keep]))


_DATA_PARAMETERS = """embeddings : array-like of shape (n_samples, n_components)
        The query embeddings (finite).
    labels : array-like of shape (n_samples,)
        Label of each row (any sortable type, e.g. ints or strings)."""

_OPTION_PARAMETERS = """reference : tuple (ref_embeddings, ref_labels), default=None
        A separate reference set to retrieve from (nothing excluded); ``None``:
        leave-one-out retrieval within ``embeddings``.
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance used to rank the candidates.
    chunk_size : int >= 1, default=1024
        Queries processed at a time (memory ``chunk_size`` x candidates)."""


# -- retrieval metrics ---------------------------------------------------------------
def recall_at_k(
    embeddings,
    labels,
    k=1,
    *,
    reference=None,
    metric="euclidean",
    chunk_size=1024,
):
    """Recall@k of metric learning: the fraction of queries with at least one
    item of their label among their ``k`` nearest neighbours.

    .. math::

        \\mathrm{R@k} = \\frac{1}{|Q|} \\sum_{q \\in Q}
        \\mathbb{1}\\left[\\exists\\, j \\in \\mathrm{NN}_k(q) :
        y_j = y_q\\right]

    This is the Recall@k of deep metric learning papers (e.g. Wang et al.,
    "Multi-Similarity Loss with General Pair Weighting", CVPR 2019), not the
    information-retrieval recall. ``k=1`` equals pytorch-metric-learning's
    ``precision_at_1``.

    Parameters
    ----------
    {data}
    k : int, default=1
        Neighbours looked at, 1 <= k <= the number of candidates.
    {options}

    Returns
    -------
    float
        The mean over the queries ``Q`` whose label has at least one other
        item among the candidates; the other queries are left out of the
        mean, as pytorch-metric-learning's ``AccuracyCalculator`` does. ``nan``
        with an ``UndefinedMetricWarning`` when no query is left.

    Examples
    --------
    >>> emb = [[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.0, 0.9], [0.5, 0.6]]
    >>> recall_at_k(emb, ["a", "a", "b", "b", "a"], k=1)
    0.8
    >>> recall_at_k(emb, ["a", "a", "b", "b", "a"], k=3)
    1.0
    """
    task = _Retrieval(embeddings, labels, reference, metric, chunk_size)
    k = task.check_k("k", k)
    hit = np.zeros(len(task.queries), dtype=bool)
    for rows, index in task.neighbours(k):
        same = task.candidate_codes[index] == task.query_codes[rows, None]
        hit[rows] = same.any(axis=1)
    return _mean_over(hit, task.n_relevant > 0, "Recall@k")


def _at_r(task):
    """Per query: the R-precision and the average precision at R, where R is
    the number of candidates of the query's label (queries with R = 0 get 0)."""
    r = task.n_relevant
    precision_at_r = np.zeros(len(r))
    ap_at_r = np.zeros(len(r))
    for rows, index in task.neighbours(r):
        r_rows = r[rows, None]
        positions = np.arange(1, index.shape[1] + 1)
        within = positions[None, :] <= r_rows
        hit = (task.candidate_codes[index] == task.query_codes[rows, None]) & within
        keep = r_rows[:, 0] > 0
        denominator = np.where(r_rows > 0, r_rows, 1)
        precision_at_r[rows] = np.where(keep, hit.sum(axis=1) / denominator[:, 0], 0)
        precision_at_k = np.cumsum(hit, axis=1) / positions
        ap_at_r[rows] = np.where(
            keep, (precision_at_k * hit).sum(axis=1) / denominator[:, 0], 0
        )
    return precision_at_r, ap_at_r


def map_at_r(
    embeddings,
    labels,
    *,
    reference=None,
    metric="euclidean",
    chunk_size=1024,
):
    """MAP@R: the mean over queries of the average precision at R.

    For a query with label :math:`y_q`, :math:`R` is the number of candidates
    with that label (leave-one-out: the other items of the label), and

    .. math::

        \\mathrm{AP@R}(q) = \\frac{1}{R} \\sum_{i=1}^{R} P(i)\\, \\mathrm{rel}(i),

    where :math:`\\mathrm{rel}(i)` is 1 when the :math:`i`-th nearest candidate
    has label :math:`y_q` and :math:`P(i)` is the precision of the :math:`i`
    nearest (Musgrave, Belongie & Lim, "A Metric Learning Reality Check",
    ECCV 2020). It equals pytorch-metric-learning's
    ``AccuracyCalculator(include=("mean_average_precision_at_r",),
    k="max_bin_count")``.

    Parameters
    ----------
    {data}
    {options}

    Returns
    -------
    float
        The mean over the queries with R >= 1 (the others are left out);
        ``nan`` with an ``UndefinedMetricWarning`` when no query has R >= 1.

    Examples
    --------
    >>> emb = [[0.0], [1.0], [2.0], [3.0]]
    >>> map_at_r(emb, [0, 1, 0, 1])
    0.0
    >>> round(map_at_r(emb, [0, 0, 1, 0]), 6)
    0.416667
    """
    task = _Retrieval(embeddings, labels, reference, metric, chunk_size)
    _, ap_at_r = _at_r(task)
    return _mean_over(ap_at_r, task.n_relevant > 0, "MAP@R")


def r_precision(
    embeddings,
    labels,
    *,
    reference=None,
    metric="euclidean",
    chunk_size=1024,
):
    """R-precision: the mean over queries of the fraction of their label
    among their R nearest candidates.

    .. math::

        \\mathrm{RP}(q) = \\frac{1}{R} \\sum_{i=1}^{R} \\mathrm{rel}(i),

    with R and rel as in :func:`map_at_r`. It equals pytorch-metric-learning's
    ``AccuracyCalculator(include=("r_precision",), k="max_bin_count")``.

    Parameters
    ----------
    {data}
    {options}

    Returns
    -------
    float
        The mean over the queries with R >= 1 (the others are left out);
        ``nan`` with an ``UndefinedMetricWarning`` when no query has R >= 1.

    Examples
    --------
    >>> emb = [[0.0], [1.0], [2.0], [3.0]]
    >>> r_precision(emb, [0, 0, 1, 0])
    0.5
    """
    task = _Retrieval(embeddings, labels, reference, metric, chunk_size)
    precision, _ = _at_r(task)
    return _mean_over(precision, task.n_relevant > 0, "R-precision")


def knn_accuracy(
    embeddings,
    labels,
    n_neighbors=5,
    *,
    reference=None,
    metric="euclidean",
    chunk_size=1024,
    vote_ties="nearest",
):
    """Accuracy of the majority vote of the ``n_neighbors`` nearest neighbours.

    Each query is predicted as the most frequent label among its
    ``n_neighbors`` nearest candidates (uniform weights) and the fraction of
    correct predictions is returned. Leave-one-out, the query itself is not a
    candidate; with a reference set this is
    ``KNeighborsClassifier(n_neighbors, weights="uniform").fit(ref_embeddings,
    ref_labels).score(embeddings, labels)``.

    Parameters
    ----------
    {data}
    n_neighbors : int, default=5
        Neighbours that vote, 1 <= n_neighbors <= the number of candidates.
    {options}
    vote_ties : {"nearest", "label"}, default="nearest"
        A tie between labels with the same number of votes goes to the label
        whose nearest voter is the nearer (``"nearest"``), or to the smallest
        label in sorted order (``"label"``, what scikit-learn's
        ``KNeighborsClassifier`` does; use it to reproduce its score exactly).
        Without vote ties both give the same result as scikit-learn.

    Returns
    -------
    float
        The accuracy over all queries (a query whose label has no candidate
        is always wrong, as for a classifier).

    Examples
    --------
    >>> emb = [[0.0], [1.0], [3.0], [4.0], [6.0], [7.0]]
    >>> knn_accuracy(emb, [0, 1, 1, 0, 1, 1], n_neighbors=3)
    0.3333333333333333
    >>> knn_accuracy(emb, [0, 1, 1, 0, 1, 1], n_neighbors=2)
    0.3333333333333333
    >>> knn_accuracy(emb, [0, 1, 1, 0, 1, 1], n_neighbors=2, vote_ties="label")
    0.0
    """
    task = _Retrieval(embeddings, labels, reference, metric, chunk_size)
    k = task.check_k("n_neighbors", n_neighbors)
    _check_choice("vote_ties", vote_ties, _VOTE_TIES)
    n_classes = int(max(task.query_codes.max(), task.candidate_codes.max())) + 1
    correct = np.zeros(len(task.queries), dtype=bool)
    for rows, index in task.neighbours(k):
        voters = task.candidate_codes[index]  # (chunk, k), nearest first
        offset = np.arange(len(rows))[:, None] * n_classes
        counts = np.bincount(
            (offset + voters).ravel(), minlength=len(rows) * n_classes
        ).reshape(len(rows), n_classes)
        votes = np.take_along_axis(counts, voters, axis=1)
        tied = votes == votes.max(axis=1, keepdims=True)
        if vote_ties == "nearest":
            winner = np.argmax(tied, axis=1)  # the first (nearest) tied voter
            predicted = voters[np.arange(len(rows)), winner]
        else:
            predicted = np.where(tied, voters, n_classes).min(axis=1)
        correct[rows] = predicted == task.query_codes[rows]
    return float(np.mean(correct))


for _function in (recall_at_k, map_at_r, r_precision, knn_accuracy):
    if _function.__doc__:  # None under python -OO
        _function.__doc__ = _function.__doc__.replace(
            "{data}", _DATA_PARAMETERS
        ).replace("{options}", _OPTION_PARAMETERS)


# -- geometry of the embedding space -------------------------------------------------
def uniformity(embeddings, t=2.0, *, normalize=False, chunk_size=1024):
    """Uniformity of the embeddings, **as the paper plots it: larger is more
    uniform**.

    Returns :math:`-\\mathcal{L}_\\mathrm{uniformity}`, the negative of Wang &
    Isola's uniformity loss over all unordered pairs :math:`i < j`:

    .. math::

        -\\mathcal{L}_\\mathrm{uniformity}
        = -\\log \\frac{2}{n(n-1)} \\sum_{i<j} e^{-t \\lVert z_i - z_j \\rVert^2}.

    **Sign**: this is the value Wang & Liu ("Understanding the Behaviour of
    Contrastive Loss", CVPR 2021, Eq. 10, Fig. 3 and Table 1) report, so
    *larger* means more uniform (their values span 1.50-3.93 on unit
    vectors, at most ``4 = 2 t`` for ``t = 2``). The loss itself
    (``log E exp(-t d^2)``) is the negative of this value. The mean is a
    stable log-mean-exp, accumulated over chunks of rows.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_components)
        At least 2 rows. Used as given: the paper's embeddings are L2-normalised
        (on the unit sphere), and on unnormalised embeddings the value grows
        with their scale.
    t : float > 0, default=2.0
        The kernel's scale. The paper does not print it; ``t = 2`` (Wang &
        Isola's default) is the value its numbers imply.
    normalize : bool, default=False
        L2-normalise each row first (as the paper does).
    chunk_size : int >= 1, default=1024
        Rows processed at a time (memory ``chunk_size`` x n).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> angles = np.array([0, 0.3, 0.6, 2.0, 2.2, 4.0])
    >>> circle = np.c_[np.cos(angles), np.sin(angles)]
    >>> round(uniformity(circle, t=2.0), 6)
    1.551103
    """
    z = _as_embeddings("embeddings", embeddings, min_rows=2)
    t = _check_real("t", t, positive=True)
    if _check_bool("normalize", normalize):
        z = _normalize_rows("embeddings", z)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    n = len(z)
    sq = np.einsum("ij,ij->i", z, z)
    total = -np.inf
    for start in range(0, n - 1, chunk_size):
        stop = min(start + chunk_size, n - 1)
        block = z[start:stop]
        d2 = (
            sq[start:stop, None]
            + sq[None, start + 1 :]
            - 2.0 * (block @ z[start + 1 :].T)
        )
        d2 = np.maximum(d2, 0.0)
        # Row i of the block pairs with columns j > i only.
        upper = np.arange(start + 1, n)[None, :] > np.arange(start, stop)[:, None]
        logits = -t * d2[upper]
        peak = logits.max()
        total = np.logaddexp(total, peak + np.log(np.sum(np.exp(logits - peak))))
    n_pairs = n * (n - 1) / 2.0
    return float(-(total - np.log(n_pairs)))


def tolerance(embeddings, labels, conditional=True, *, normalize=False):
    """Tolerance: the mean similarity :math:`z_i^\\top z_j` of same-class pairs
    (larger means semantically similar samples stay closer).

    Wang & Liu, "Understanding the Behaviour of Contrastive Loss" (CVPR 2021,
    Eq. 11) print :math:`T = \\mathbb{E}_{x,y}[f(x)^\\top f(y)\\,
    \\mathbb{1}(l(x) = l(y))]`.

    - ``conditional=True`` (default): the mean of :math:`z_i^\\top z_j` over the
      same-class pairs :math:`i \\ne j`. The paper's reported values (up to
      0.61 on CIFAR-10) can only be this conditional mean.
    - ``conditional=False``: the literal Eq. 11, the mean over all unordered
      pairs :math:`i < j` of :math:`z_i^\\top z_j \\mathbb{1}(y_i = y_j)`
      (smaller by the fraction of same-class pairs).

    Computed in O(n d) from per-class sums. Tolerance alone is not a quality
    measure: collapsing every point to one maximises it.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_components)
        At least 2 rows. Used as given: the paper's embeddings are
        L2-normalised, where :math:`z_i^\\top z_j` is the cosine similarity.
    labels : array-like of shape (n_samples,)
        Label of each row (any sortable type).
    conditional : bool, default=True
        Mean over same-class pairs (True) or over all pairs (False).
    normalize : bool, default=False
        L2-normalise each row first (as the paper does).

    Returns
    -------
    float
        ``nan`` with an ``UndefinedMetricWarning`` when ``conditional=True``
        and no two rows share a label.

    Examples
    --------
    >>> import numpy as np
    >>> angles = np.array([0, 0.3, 0.6, 2.0, 2.2, 4.0])
    >>> circle = np.c_[np.cos(angles), np.sin(angles)]
    >>> round(tolerance(circle, [0, 0, 0, 1, 1, 2]), 6)
    0.929019
    >>> round(tolerance(circle, [0, 0, 0, 1, 1, 2], conditional=False), 6)
    0.247738
    """
    z = _as_embeddings("embeddings", embeddings, min_rows=2)
    labels = _as_labels("labels", labels, len(z), "embeddings")
    conditional = _check_bool("conditional", conditional)
    if _check_bool("normalize", normalize):
        z = _normalize_rows("embeddings", z)
    (codes,) = _encode(labels)
    n_classes = int(codes.max()) + 1
    class_sums = np.zeros((n_classes, z.shape[1]))
    np.add.at(class_sums, codes, z)
    sizes = np.bincount(codes, minlength=n_classes).astype(np.float64)
    # Sum over ordered same-class pairs i != j of z_i . z_j.
    ordered = np.sum(class_sums * class_sums) - np.sum(z * z)
    if conditional:
        n_pairs = np.sum(sizes * (sizes - 1))
        if n_pairs == 0:
            warnings.warn(
                "tolerance is undefined: no two rows share a label; returning nan.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
            return float("nan")
        return float(ordered / n_pairs)
    n = len(z)
    return float(ordered / (n * (n - 1)))


def utilization(test_embeddings, train_embeddings, *, chunk_size=1024):
    """Utilization: the mean squared Euclidean distance from each test
    embedding to its nearest training embedding (lower is better).

    .. math::

        u(Q) = \\frac{1}{|Q|} \\sum_{q \\in Q} \\min_{x \\in X_\\mathrm{train}}
        \\lVert f(q) - f(x) \\rVert^2

    A lower value means the test embeddings fall in regions of the space that
    training explored; Venkataramanan et al. ("It Takes Two to Tango: Mixup
    for Deep Metric Learning", ICLR 2022) report that Metrix lowers it. The
    exact formula of the paper is **not pinned down** (neither the paper's
    text nor its official code could be checked); this is the definition
    described above, reproduced from the description of the paper.

    Parameters
    ----------
    test_embeddings : array-like of shape (n_test, n_components)
        The query embeddings.
    train_embeddings : array-like of shape (n_train, n_components)
        The training embeddings (same number of columns). Used as given (the
        paper's are L2-normalised).
    chunk_size : int >= 1, default=1024
        Test rows processed at a time (memory ``chunk_size`` x n_train).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> test = np.array([[1.0, 1.0, 0.0], [0.2, 0.1, 1.0]])
    >>> test /= np.linalg.norm(test, axis=1, keepdims=True)
    >>> round(utilization(test, np.eye(3)), 6)
    0.316993
    """
    queries = _as_embeddings("test_embeddings", test_embeddings)
    train = _as_embeddings("train_embeddings", train_embeddings)
    if queries.shape[1] != train.shape[1]:
        raise ValueError(
            "test_embeddings and train_embeddings must have the same number of "
            f"columns; got {queries.shape[1]} and {train.shape[1]}."
        )
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    train_sq = np.einsum("ij,ij->i", train, train)
    total = 0.0
    for start in range(0, len(queries), chunk_size):
        block = queries[start : start + chunk_size]
        nearest = np.argmin(train_sq[None, :] - 2.0 * (block @ train.T), axis=1)
        # The distance to the nearest is recomputed from the difference (exact).
        difference = block - train[nearest]
        total += np.sum(difference * difference)
    return float(total / len(queries))


# -- scorers -----------------------------------------------------------------------
class EmbeddingScorer:
    """A scorer ``scorer(estimator, X, y)`` for an embedding metric.

    It embeds ``X`` with ``estimator.transform(X)`` (a fitted transformer, or a
    pipeline that ends in one) and returns ``metric_function(embeddings, y,
    **kwargs)`` evaluated leave-one-out on those rows, or its negative when
    ``greater_is_better=False`` (as scikit-learn's scorers, so that larger is
    always better for ``GridSearchCV``). A metric function without a
    ``labels`` parameter (e.g. :func:`uniformity`) is called without ``y``.
    Scorers are picklable (they hold module-level functions).

    Parameters
    ----------
    metric_function : callable
        ``f(embeddings, labels, **kwargs) -> float`` (or ``f(embeddings,
        **kwargs)``), e.g. :func:`recall_at_k`, :func:`map_at_r`,
        :func:`knn_accuracy`, :func:`uniformity`, :func:`tolerance`.
    greater_is_better : bool, default=True
        Whether a larger metric is better; ``False`` negates the score.
    **kwargs
        Keyword arguments of the metric (checked against its signature).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> X = np.array([[0.0, 0.0], [0.2, 0.1], [3.0, 3.1], [3.2, 2.9]])
    >>> pca = PCA(n_components=1).fit(X)
    >>> scorer = EmbeddingScorer(recall_at_k, k=1)
    >>> scorer
    EmbeddingScorer(recall_at_k, k=1)
    >>> scorer(pca, X, ["a", "a", "b", "b"])
    1.0
    """

    def __init__(self, metric_function, greater_is_better=True, **kwargs):
        if not callable(metric_function):
            raise TypeError(
                "metric_function must be a callable f(embeddings, labels, "
                f"**kwargs) -> float; got {type(metric_function).__name__}."
            )
        self.metric_function = metric_function
        self.greater_is_better = _check_bool("greater_is_better", greater_is_better)
        self.kwargs = kwargs
        self._check_kwargs()

    def _parameters(self):
        try:
            return inspect.signature(self.metric_function).parameters
        except (TypeError, ValueError):  # no signature: pass labels and kwargs
            return None

    def _takes_labels(self):
        parameters = self._parameters()
        return parameters is None or "labels" in parameters

    def _check_kwargs(self):
        parameters = self._parameters()
        if parameters is None or any(
            p.kind is p.VAR_KEYWORD for p in parameters.values()
        ):
            return
        accepted = set(parameters) - {"embeddings", "labels"}
        unknown = sorted(set(self.kwargs) - accepted)
        if unknown:
            raise ValueError(
                f"{unknown} are not parameters of {self._name()}; it takes "
                f"{sorted(accepted)}."
            )

    def _name(self):
        return getattr(self.metric_function, "__name__", repr(self.metric_function))

    def get_params(self, deep=True):
        """The metric function, the sign and the metric's keyword arguments."""
        return {
            "metric_function": self.metric_function,
            "greater_is_better": self.greater_is_better,
            **self.kwargs,
        }

    def set_params(self, **params):
        """Set the function, the sign or any keyword argument; returns ``self``."""
        params = dict(params)
        if "metric_function" in params:
            self.metric_function = params.pop("metric_function")
        if "greater_is_better" in params:
            self.greater_is_better = _check_bool(
                "greater_is_better", params.pop("greater_is_better")
            )
        self.kwargs = {**self.kwargs, **params}
        self._check_kwargs()
        return self

    def __repr__(self):
        parts = [self._name()]
        if not self.greater_is_better:
            parts.append("greater_is_better=False")
        parts += [f"{key}={value!r}" for key, value in sorted(self.kwargs.items())]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __call__(self, estimator, X, y=None, **unused):
        """The (signed) metric of ``estimator.transform(X)`` with labels ``y``.

        Parameters
        ----------
        estimator : fitted transformer or pipeline ending in one
            Its ``transform`` gives the embeddings (n_samples, n_components).
        X : array-like of shape (n_samples, n_features)
            Rows to embed.
        y : array-like of shape (n_samples,)
            Their labels (required when the metric takes labels).
        **unused
            Other metadata (e.g. ``sample_weight``) is not used.

        Returns
        -------
        float
        """
        if not hasattr(estimator, "transform"):
            raise TypeError(
                f"{self!r} needs an estimator with a transform method (a fitted "
                f"transformer or a pipeline ending in one); got "
                f"{type(estimator).__name__}."
            )
        embeddings = estimator.transform(X)
        if self._takes_labels():
            if y is None:
                raise ValueError(
                    f"{self!r} needs the labels y of the rows; got y=None."
                )
            value = self.metric_function(embeddings, y, **self.kwargs)
        else:
            value = self.metric_function(embeddings, **self.kwargs)
        value = float(value)
        return value if self.greater_is_better else -value


def make_embedding_scorer(metric_function, greater_is_better=True, **kwargs):
    """An :class:`EmbeddingScorer` of ``metric_function`` (for ``GridSearchCV``).

    Parameters
    ----------
    metric_function : callable
        ``f(embeddings, labels, **kwargs) -> float``.
    greater_is_better : bool, default=True
        ``False`` negates the score (for a metric where lower is better).
    **kwargs
        Keyword arguments of the metric.

    Returns
    -------
    EmbeddingScorer

    Examples
    --------
    >>> make_embedding_scorer(recall_at_k, k=5, metric="cosine")
    EmbeddingScorer(recall_at_k, k=5, metric='cosine')
    """
    return EmbeddingScorer(metric_function, greater_is_better, **kwargs)


#: Recall@1 (:func:`recall_at_k` with ``k=1``), Euclidean distance.
recall_at_1_scorer = EmbeddingScorer(recall_at_k, k=1)
#: MAP@R (:func:`map_at_r`), Euclidean distance.
map_at_r_scorer = EmbeddingScorer(map_at_r)
#: Leave-one-out 5-NN accuracy (:func:`knn_accuracy`).
knn_accuracy_scorer = EmbeddingScorer(knn_accuracy, n_neighbors=5)
#: :func:`uniformity` (t = 2) of the L2-normalised embeddings, larger is more
#: uniform (unnormalised, it would reward a mere change of scale).
uniformity_scorer = EmbeddingScorer(uniformity, t=2.0, normalize=True)
#: Conditional :func:`tolerance` of the L2-normalised embeddings.
tolerance_scorer = EmbeddingScorer(tolerance, normalize=True)


#: The :func:`~sklearn_losses.metrics.icnn_score` (k = 4) of the rows among
#: themselves, larger is better.
icnn_scorer = EmbeddingScorer(icnn_score, k=4)


class UtilizationScorer:
    """Scorer of Metrix's :func:`utilization` against fixed reference rows.

    Utilization needs the training embeddings, which a scorer does not see:
    this scorer holds reference *inputs* (e.g. the training rows, or any
    unlabelled sample of the data), embeds them with the same fitted
    estimator as the scored rows, and returns minus the utilization (lower
    utilization is better, so the negative follows scikit-learn's "greater
    is better"). No labels are used.

    Parameters
    ----------
    reference : array-like of shape (n_reference, n_features)
        Inputs whose embeddings the scored rows' embeddings are measured
        against.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> X = np.array([[0.0, 0.0], [0.2, 0.1], [3.0, 3.1], [3.2, 2.9]])
    >>> scorer = UtilizationScorer(reference=X[:2])
    >>> score = scorer(PCA(n_components=1).fit(X), X[2:])
    >>> score < 0
    True
    """

    def __init__(self, reference):
        self.reference = reference

    def __repr__(self):
        return f"{type(self).__name__}(reference=<{len(self.reference)} rows>)"

    def __call__(self, estimator, X, y=None, **unused):
        if not hasattr(estimator, "transform"):
            raise TypeError(
                f"{type(self).__name__} needs an estimator with a transform method; "
                f"got {type(estimator).__name__}."
            )
        return -utilization(estimator.transform(X), estimator.transform(self.reference))
