"""Top-k metrics of recommendations: Recall@k and NDCG@k with binary relevance."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["recommendation_ndcg", "recommendation_recall", "top_k_hit_metrics"]


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be an int >= 1; got {k!r}.")
    return int(k)


def top_k_hit_metrics(hits, n_relevant, k):
    """Per-user Recall@k and NDCG@k from a hit matrix.

    Parameters
    ----------
    hits : ndarray of bool of shape (n_users, >= k)
        ``hits[u, r]``: the item at rank ``r`` (0-based) of user ``u``'s list
        is relevant. Only the first ``k`` columns count.
    n_relevant : ndarray of int of shape (n_users,)
        Relevant items per user (``>= 1``).
    k : int
        Cut-off.

    Returns
    -------
    recall, ndcg : ndarray of shape (n_users,)

    Examples
    --------
    >>> import numpy as np
    >>> recall, ndcg = top_k_hit_metrics(np.array([[False, True]]), np.array([2]), 2)
    >>> float(recall[0]), round(float(ndcg[0]), 6)  # 1/2, (1/log2 3) / (1 + 1/log2 3)
    (0.5, 0.386853)
    """
    k = _check_k(k)
    hits = np.asarray(hits, dtype=bool)[:, :k]
    n_relevant = np.asarray(n_relevant, dtype=np.int64)
    if hits.ndim != 2 or len(hits) != len(n_relevant):
        raise ValueError(
            "hits must be (n_users, k) with one row per entry of n_relevant; got "
            f"{hits.shape} and {n_relevant.shape}."
        )
    if np.any(n_relevant < 1):
        raise ValueError(
            "every user needs at least one relevant item (n_relevant >= 1)."
        )
    discount = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    recall = hits.sum(axis=1) / n_relevant
    dcg = hits @ discount
    ideal = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])
    ndcg = dcg / ideal[np.minimum(n_relevant, k)]
    return recall, ndcg


def _items(values):
    """A user's item ids as a list (from a list, set, array or other iterable)."""
    if isinstance(values, np.ndarray):
        return values.ravel().tolist()
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise TypeError(
            "each user's items must be a sequence or set of item ids; got "
            f"{type(values).__name__}."
        )
    return list(values)


def _hits(recommended, relevant, k):
    k = _check_k(k)
    rows = [_items(r)[:k] for r in recommended]
    sets = [set(_items(r)) for r in relevant]
    if len(rows) != len(sets):
        raise ValueError(
            "recommended and relevant must hold one entry per user; got "
            f"{len(rows)} and {len(sets)}."
        )
    if not rows:
        raise ValueError("recommended is empty: no users to score.")
    if any(len(r) < k for r in rows):
        raise ValueError(
            f"every user's recommendation list must hold at least k={k} items."
        )
    n_relevant = np.array([len(s) for s in sets], dtype=np.int64)
    keep = n_relevant > 0
    if not keep.any():
        raise ValueError(
            "no user has a relevant item: Recall@k and NDCG@k are undefined."
        )
    hits = np.array(
        [[item in s for item in r] for r, s in zip(rows, sets, strict=True)],
        dtype=bool,
    ).reshape(len(rows), k)
    return hits[keep], n_relevant[keep], k


def recommendation_recall(recommended, relevant, k=20):
    r"""Recall@k of top-k recommendations, averaged over users.

    .. math::

        \text{Recall@}k = \frac{1}{|U|} \sum_{u \in U}
            \frac{|\text{top}_k(u) \cap R_u|}{|R_u|}

    over the users :math:`U` with at least one relevant (held-out) item
    :math:`R_u`; users without one are left out. The denominator is
    :math:`|R_u|`, as in the BPR/LightGCN/PLD evaluations (not
    :math:`\min(k, |R_u|)`).

    Parameters
    ----------
    recommended : sequence of sequences of item ids, or ndarray (n_users, >= k)
        Each user's ranked list (best first); the first ``k`` count.
    relevant : sequence of collections of item ids
        Each user's relevant items, in the order of ``recommended``.
    k : int, default=20
        Cut-off.

    Returns
    -------
    float

    Examples
    --------
    >>> recommendation_recall([["a", "b"], ["c", "a"]], [{"b", "x"}, {"c"}], k=2)
    0.75
    """
    hits, n_relevant, k = _hits(recommended, relevant, k)
    return float(top_k_hit_metrics(hits, n_relevant, k)[0].mean())


def recommendation_ndcg(recommended, relevant, k=20):
    r"""NDCG@k of top-k recommendations with binary relevance, averaged over users.

    .. math::

        \text{NDCG@}k(u) = \frac{\sum_{r=1}^{k} [\text{top}_k(u)_r \in R_u] /
            \log_2(r + 1)}{\sum_{r=1}^{\min(k, |R_u|)} 1 / \log_2(r + 1)}

    averaged over the users with at least one relevant item.

    Parameters
    ----------
    recommended : sequence of sequences of item ids, or ndarray (n_users, >= k)
        Each user's ranked list (best first); the first ``k`` count.
    relevant : sequence of collections of item ids
        Each user's relevant items, in the order of ``recommended``.
    k : int, default=20
        Cut-off.

    Returns
    -------
    float

    Examples
    --------
    >>> round(recommendation_ndcg([[1, 2, 3]], [{1, 3}], k=3), 6)
    0.919721
    """
    hits, n_relevant, k = _hits(recommended, relevant, k)
    return float(top_k_hit_metrics(hits, n_relevant, k)[1].mean())
