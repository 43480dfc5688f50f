"""LightGBM's LambdaRank ranker with per-row query ids, the way every ranker of
``compare`` takes them.

``lightgbm.LGBMRanker`` needs the rows of a query to be contiguous and the
query sizes as ``group=``; :class:`QidLGBMRanker` takes one query id per row
(rows of a query anywhere), orders the rows by query and passes the sizes. It
needs LightGBM (``pip install lightgbm``); without it the class raises
``ImportError`` when built and :data:`HAS_LIGHTGBM` is false.
"""

from __future__ import annotations

import numpy as np

try:
    from lightgbm import LGBMRanker
except ImportError:  # the module imports; building the ranker says what is missing
    HAS_LIGHTGBM = False

    class LGBMRanker:
        """Stands in for ``lightgbm.LGBMRanker`` when LightGBM is missing."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                "QidLGBMRanker needs LightGBM, which is not installed: "
                "pip install lightgbm"
            )

else:
    HAS_LIGHTGBM = True

__all__ = ["HAS_LIGHTGBM", "QidLGBMRanker", "query_order"]


def query_order(qid):
    """Row order that makes the rows of each query contiguous, and the sizes.

    Queries come in the order of their first row, and a query's rows keep
    their order, so rows that are already contiguous are left in place (the
    order is then ``arange(n)``).

    Parameters
    ----------
    qid : array-like of shape (n_samples,)
        The query id of each row (any sortable labels).

    Returns
    -------
    order : ndarray of shape (n_samples,)
        ``X[order]`` holds each query's rows together.
    sizes : ndarray of shape (n_queries,)
        The rows of each query, in that order.

    Examples
    --------
    >>> from sklearn_losses.compare._lgbm import query_order
    >>> order, sizes = query_order([7, 3, 7, 3, 5])
    >>> order.tolist(), sizes.tolist()
    ([0, 2, 1, 3, 4], [2, 2, 1])
    """
    qid = np.asarray(qid)
    if qid.ndim != 1:
        raise ValueError(f"qid must be 1-D (one query id per row); got {qid.shape}.")
    _, first, inverse, counts = np.unique(
        qid, return_index=True, return_inverse=True, return_counts=True
    )
    rank = np.empty(len(first), dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    order = np.argsort(rank[inverse], kind="stable")
    return order, counts[np.argsort(first, kind="stable")]


class QidLGBMRanker(LGBMRanker):
    """``lightgbm.LGBMRanker`` (LambdaRank by default) fitted from per-row
    query ids.

    The parameters are ``LGBMRanker``'s. ``fit(X, y, qid=qid)`` orders the
    rows by query (see :func:`query_order`) and calls ``LGBMRanker.fit`` with
    the query sizes as ``group=``; on rows already grouped by query the model
    is ``LGBMRanker``'s own on the same data. ``predict(X, qid=None)`` scores
    each row alone (higher ranks first); ``qid`` is accepted, as by every
    ranker of the package, and unused. ``qid`` is requested by metadata
    routing in ``fit``, ``predict`` and ``score``.

    Examples
    --------
    >>> import pytest
    >>> _ = pytest.importorskip("lightgbm")  # skipped where LightGBM is missing
    >>> from sklearn_losses.compare import QidLGBMRanker
    >>> from sklearn_losses.datasets import make_ranking
    >>> from sklearn_losses.metrics import ndcg_by_query
    >>> X, y, qid = make_ranking(n_queries=40, random_state=0)
    >>> ranker = QidLGBMRanker(n_estimators=20, verbose=-1).fit(X, y, qid=qid)
    >>> ndcg_by_query(y, ranker.predict(X), qid, k=10) > 0.8
    True
    """

    __metadata_request__fit = {"qid": True}
    __metadata_request__predict = {"qid": True}
    __metadata_request__score = {"qid": True}

    def fit(self, X, y, qid=None, sample_weight=None, **fit_params):
        """Fit LambdaRank with one query id per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Relevance grades (non-negative integers, as LightGBM requires).
        qid : array-like of shape (n_samples,)
            The query id of each row.
        sample_weight : array-like of shape (n_samples,), default=None
        **fit_params
            Other keyword arguments of ``LGBMRanker.fit`` (not ``group``).

        Returns
        -------
        self
        """
        if qid is None:
            raise ValueError("QidLGBMRanker.fit needs qid, the query id of each row.")
        if "group" in fit_params:
            raise ValueError("Pass qid (one id per row), not group.")
        n = X.shape[0] if hasattr(X, "shape") else len(X)
        qid = np.asarray(qid)
        if qid.shape != (n,):
            raise ValueError(
                f"qid must be 1-D with one query id per row of X ({n}); got shape "
                f"{qid.shape}."
            )
        order, sizes = query_order(qid)
        X = X.iloc[order] if hasattr(X, "iloc") else np.asarray(X)[order]
        y = np.asarray(y)[order]
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[order]
        return super().fit(X, y, sample_weight=sample_weight, group=sizes, **fit_params)

    def predict(self, X, qid=None, **predict_params):
        """One score per row (higher ranks first); ``qid`` is unused."""
        return super().predict(X, **predict_params)
