"""``LossRanker``: a neural learning-to-rank estimator with query ids."""

from __future__ import annotations

import functools

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Constraint, check_numeric_columns
from ..metrics._ranking import (
    kendall_tau_by_query,
    map_by_query,
    mrr_by_query,
    ndcg_by_query,
    pairwise_accuracy,
)
from ..sampling._batches import BatchPlan, GroupBatches, RandomBatches
from ..sampling._dataset_equity import check_user_weights
from ._base import BaseLossEstimator, _as_float32
from ._docs import fill_doc
from ._engine import takes_groups

__all__ = ["LossRanker"]

#: Metric names ``validation_scoring`` takes (``"ndcg@k"`` too).
RANKING_METRICS = {
    "ndcg": ndcg_by_query,
    "map": map_by_query,
    "mrr": mrr_by_query,
    "kendall_tau": kendall_tau_by_query,
    "pairwise_accuracy": pairwise_accuracy,
}


def parse_ranking_metric(name):
    """``metric(y_true, y_score, qid)`` for a name such as ``"ndcg@10"``."""
    head, at, k = name.partition("@")
    if head not in RANKING_METRICS or (at and head != "ndcg"):
        raise ValueError(f"unknown ranking metric {name!r}.")
    if not at:
        return RANKING_METRICS[head]
    try:
        k = int(k)
    except ValueError:
        raise ValueError(f"ndcg@k needs an integer k >= 1; got {name!r}.") from None
    if k < 1:
        raise ValueError(f"ndcg@k needs an integer k >= 1; got {name!r}.")

    def ndcg_at_k(y_true, y_score, qid):
        return ndcg_by_query(y_true, y_score, qid, k=k)

    return ndcg_at_k


def _constraint_of_ranking_scoring(value):
    if value is None or callable(value):
        return True
    if not isinstance(value, str):
        return False
    try:
        parse_ranking_metric(value)
    except ValueError:
        return False
    return True


@fill_doc
class LossRanker(BaseLossEstimator):
    """Neural network ranker trained with any registered ranking loss.

    A scikit-learn estimator for learning to rank: each row is an item (a
    document, a product, a response) of a query, ``y`` its graded relevance
    (non-negative numbers, higher is better) and ``qid`` the query it belongs
    to, one id per row as XGBoost's ``XGBRanker`` takes it (rows of a query
    need not be contiguous or sorted). ``predict`` returns one score per row;
    sort a query's rows by it. The loss is a parameter like any other, so
    ``GridSearchCV`` can search over ranking losses:

    - pairwise: ``"ranknet"``, ``"pairwise_logistic"``, ``"pairwise_hinge"``,
      ``"lambda"`` and ``"lambdarank"`` (LambdaLoss and its NDCG weighting
      schemes), ``"lipo_lambda"`` (LiPO-λ), ``"first"`` (FIRST's weighted
      RankNet);
    - listwise: ``"listnet"``, ``"listmle"``, ``"approx_ndcg"``, ``"ranklist"``,
      ``"order_search"``;
    - losses that carry their own model, which scores a row in the context of
      the other rows of its query: ``"tsprank"`` (a bilinear successor score
      decoded as a travelling-salesman path) and ``"grouprank"`` (a set
      encoder over random groups of the query, averaged over groupings at
      prediction). Their ``predict`` needs ``qid``.

    Query ids are routed like ``sample_weight``: pass ``qid=`` to ``fit`` and
    ``predict``; inside a ``Pipeline`` or a search, enable scikit-learn's
    metadata routing (``sklearn.set_config(enable_metadata_routing=True)``).
    ``qid`` is requested by ``fit``, ``predict`` and ``score`` by default.
    Score searches with a scorer that receives it too, such as
    :func:`~sklearn_losses.metrics.ndcg_scorer`, and split with
    ``GroupKFold`` over ``groups=qid``, so that a query is never cut between
    folds.

    Training batches hold whole queries (up to ``batch_size`` rows, a larger
    query alone), and the validation split of early stopping holds out whole
    queries. A query of one item trains nothing (no pair, no order) but is
    scored at ``predict``. Without ``qid`` the training set is one pool (the
    preference-learning regime): each batch of ``batch_size`` random rows is
    one list, and ``predict`` scores rows independently; the losses that carry
    their own model need ``qid``. ``score`` needs ``qid`` when ``fit`` had
    more than one query.

    Parameters
    ----------
    loss : str, BaseLoss subclass or instance, default="lambda"
        The training loss, one of ``list_losses("ranking")``; its parameters
        as ``loss__<name>`` (a ``loss__*`` only other losses take is ignored
        with a warning, so a grid can switch losses).
    %(network)s
    batch_size : int or "auto", default="auto"
        Rows per batch, filled with whole queries (a query is never split; one
        larger than ``batch_size`` is a batch of its own); ``"auto"``: 1024, or
        the largest training query when it is larger. Without ``qid``: the
        length of each sampled list.
    batch_sampler : "auto" or BatchPlan, default="auto"
        ``"auto"``: :class:`~sklearn_losses.sampling.GroupBatches` (whole
        queries, shuffled every epoch) with ``qid``, random rows without. A
        :class:`~sklearn_losses.sampling.BatchPlan` that keeps groups whole
        for anything else.
    %(epochs)s
    validation_scoring : None, str or callable, default=None
        The score recorded each epoch as ``valid_score`` (and monitored by
        early stopping): ``None`` is mean NDCG@10 over the validation
        queries (weighted by their ``sample_weight``); a name ``"ndcg"``,
        ``"ndcg@k"``, ``"map"``, ``"mrr"``, ``"kendall_tau"`` or
        ``"pairwise_accuracy"``; or a callable
        ``metric(y_true, y_score, qid) -> float`` (greater is better).
    %(runtime)s

    Attributes
    ----------
    n_queries_ : int
        Number of distinct query ids seen in ``fit`` (1 without ``qid``).
    %(fitted)s

    See Also
    --------
    sklearn_losses.metrics.ndcg_by_query : Mean NDCG over queries.
    sklearn_losses.metrics.GroupedRankingScorer : A scorer that passes ``qid``.

    Notes
    -----
    ``sample_weight`` is a query's weight, given per row (LightGBM's group
    weights, in XGBoost's per-row layout): it must be the same on every row of
    a query, else ``fit`` raises ``ValueError``. A query's pairs or list terms
    count with its weight.

    Examples
    --------
    >>> from sklearn_losses import LossRanker
    >>> from sklearn_losses.datasets import make_ranking
    >>> from sklearn_losses.metrics import ndcg_by_query
    >>> X, y, qid = make_ranking(n_queries=60, heavy_tailed=False, random_state=0)
    >>> ranker = LossRanker(loss="listnet", max_epochs=30, random_state=0)
    >>> ranker = ranker.fit(X, y, qid=qid)
    >>> ndcg_by_query(y, ranker.predict(X), qid, k=10) > 0.8
    True
    """

    prefixes = ("loss", "module", "optimizer", "callbacks", "batch_sampler")
    optional_inputs = ("groups",)  # without qid: one pool, a list per batch

    __metadata_request__fit = {"qid": True}
    __metadata_request__predict = {"qid": True}
    __metadata_request__score = {"qid": True}

    _constraints = {
        "batch_sampler": Constraint(
            lambda v: (isinstance(v, str) and v == "auto") or isinstance(v, BatchPlan),
            "'auto' or a BatchPlan instance that keeps groups whole (see "
            "sklearn_losses.sampling)",
        ),
        "validation_scoring": Constraint(
            _constraint_of_ranking_scoring,
            "None, one of "
            f"{', '.join(repr(m) for m in RANKING_METRICS)} (ndcg as 'ndcg@k' too) "
            "or a callable metric(y_true, y_score, qid)",
        ),
    }

    def __init__(
        self,
        loss="lambda",
        *,
        module=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size="auto",
        batch_sampler="auto",
        max_epochs=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        validation_scoring=None,
        callbacks=None,
        warm_start=False,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.loss = loss
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.batch_sampler = batch_sampler
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.validation_scoring = validation_scoring
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_prefixed(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.positive_only = True
        return tags

    # -- fit ------------------------------------------------------------------
    def fit(self, X, y, qid=None, sample_weight=None, **fit_params):
        """Train the ranker.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features of each item.
        y : array-like of shape (n_samples,)
            Relevance of each item: non-negative numbers, higher is better
            (graded labels 0..4, clicks, ratings).
        qid : array-like of shape (n_samples,), default=None
            The query id of each row (any labels; a query's rows anywhere).
            ``None``: all rows are one pool (see the class docstring).
        sample_weight : array-like of shape (n_samples,), default=None
            The weight of each row's query, the same on every row of a query.
        **fit_params : array-like of shape (n_samples,)
            Per-sample inputs the loss declares in ``requires``.

        Returns
        -------
        self
        """
        if qid is not None:
            qid = np.asarray(qid)
            n = np.shape(X)[0] if hasattr(X, "shape") else len(X)
            if qid.ndim != 1 or qid.shape[0] != n:
                raise ValueError(
                    f"qid must be 1-D with one query id per row of X ({n}); got "
                    f"shape {qid.shape}."
                )
            self._qid_fit = qid
        else:
            self._qid_fit = None
        if "groups" in fit_params:
            raise TypeError(
                "LossRanker takes the query of each row as qid=, not groups= (qid "
                "also keeps queries whole in batches and in the validation split)."
            )
        try:
            return super().fit(
                X, y, sample_weight=sample_weight, groups=qid, **fit_params
            )
        finally:
            del self._qid_fit

    def _check_target(self, y):
        if y is None:
            return
        shape = np.shape(y)
        if len(shape) != 1 and not (len(shape) == 2 and shape[1] == 1):
            raise ValueError(
                f"y must be 1-D (one relevance value per row); got shape {shape}."
            )

    def _target_validation(self):
        return {"y_numeric": True}

    def _encode_target(self, y, warm):
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if np.any(y < 0):
            raise ValueError(
                "y (the relevance of each row) must be >= 0; got a minimum of "
                f"{y.min()!r}. Shift or rank-transform the labels."
            )
        qid = self._qid_fit
        self.n_queries_ = 1 if qid is None else len(np.unique(qid))
        return y.astype(np.float32), "ranking"

    def _build_loss(self, task):
        loss = super()._build_loss(task)
        model = getattr(loss, "module_class", None)
        if model is not None and self.module is not None:
            raise ValueError(
                f"loss={loss.name!r} trains its own model "
                f"({model.__name__}); leave module=None and set its "
                "parameters as module__<name>."
            )
        if model is not None and self._qid_fit is None:
            raise ValueError(
                f"loss={loss.name!r} scores each row in the context of its query: "
                "pass qid= to fit (one query id per row)."
            )
        if self.warm_start and hasattr(self, "net_"):
            previous = getattr(self, "_model_class", None)
            if model is not previous:
                names = [
                    getattr(m, "__name__", "the default MLP") for m in (previous, model)
                ]
                raise ValueError(
                    f"warm_start=True keeps the network of the previous fit "
                    f"({names[0]}), but loss={loss.name!r} trains "
                    f"{'its own model, ' + names[1] if model else 'the default MLP'}. "
                    "Refit with warm_start=False to change loss."
                )
        self._model_class = model
        return loss

    def _n_outputs(self, loss, task):
        self._model_loss = loss  # the module is built from it when it carries one
        return 1

    def _build_module(self, n_features, n_outputs):
        model = getattr(getattr(self, "_model_loss", None), "module_class", None)
        if model is None:
            return super()._build_module(n_features, n_outputs)
        params = self._prefixed_params("module")
        try:
            return model(n_features, **params)
        except TypeError as exc:
            raise ValueError(
                f"Invalid module__* parameter for {model.__name__}: {exc}"
            ) from None

    def _row_weights(self, X, y, sample_weight):
        if sample_weight is None:
            return None
        weight = check_user_weights(sample_weight, X)
        qid = self._qid_fit
        if qid is None and np.ptp(weight) > 0:
            raise ValueError(
                "sample_weight is a query's weight; without qid all rows are one "
                "pool, so the weights must be equal. Pass qid= to weight queries."
            )
        if qid is not None:
            _, inverse = np.unique(qid, return_inverse=True)
            first = np.full(inverse.max() + 1, np.nan)
            first[inverse[::-1]] = weight[::-1]
            varies = weight != first[inverse]
            if np.any(varies):
                bad = qid[np.flatnonzero(varies)[0]]
                bad = bad.item() if isinstance(bad, np.generic) else bad
                raise ValueError(
                    "sample_weight is a query's weight and must be the same on every "
                    f"row of a query; query {bad!r} has different weights."
                )
        return weight

    def _batch_plan(self, loss, n_train, n_classes):
        grouped = self._groups_in_fit
        batch_size = self.batch_size
        if batch_size == "auto":
            batch_size = max(1024, self._largest_query) if grouped else 1024
        if isinstance(self.batch_sampler, BatchPlan):
            return batch_size, super()._batch_plan(loss, n_train, n_classes)[1]
        if grouped:
            return batch_size, GroupBatches(oversized="alone")
        return batch_size, RandomBatches()

    def _build_reweighting(self, loss):
        return None  # ranking losses are not per-sample: no loss reweighting

    def _train(self, arrays, n_features, n_outputs, loss, score_fn, n_classes=None):
        groups = arrays.get("groups")
        self._groups_in_fit = groups is not None
        self._largest_query = 0 if groups is None else int(np.bincount(groups).max())
        try:
            return super()._train(
                arrays, n_features, n_outputs, loss, score_fn, n_classes
            )
        finally:
            self.__dict__.pop("_model_loss", None)

    def _valid_score_fn(self, valid, loss):
        """Return ``scores -> metric`` for the validation rows ``valid``."""
        y = valid["y"].astype(np.float64)
        qid = valid.get("groups")
        if qid is None:
            qid = np.zeros(len(y), dtype=np.int64)
        metric = _ranking_metric(self.validation_scoring)
        w = valid.get("sample_weight")
        if w is not None and self.validation_scoring is None:
            metric = functools.partial(ndcg_by_query, k=10, sample_weight=w)

        def score(outputs):
            s = outputs.detach().cpu().double().numpy().reshape(len(y), -1)[:, 0]
            return float(metric(y, s, qid))

        return score

    # -- predict ----------------------------------------------------------------
    def predict(self, X, qid=None):
        """One ranking score per row (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        qid : array-like of shape (n_samples,), default=None
            Query ids; needed by losses that carry a model scoring rows in the
            context of their query (``"tsprank"``, ``"grouprank"``), unused
            otherwise.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        check_numeric_columns(X, type(self).__name__)
        X = _as_float32(
            validate_data(self, X, dtype=(np.float64, np.float32), reset=False)
        )
        module = self.net_.module_
        groups = None
        if qid is not None:
            qid = np.asarray(qid)
            if qid.ndim != 1 or qid.shape[0] != X.shape[0]:
                raise ValueError(
                    f"qid must be 1-D with one query id per row of X ({X.shape[0]}); "
                    f"got shape {qid.shape}."
                )
            groups = np.unique(qid, return_inverse=True)[1].astype(np.int64)
        if takes_groups(module) and groups is None:
            raise ValueError(
                f"LossRanker(loss={self.loss_.name!r}) scores each row in the context "
                "of its query: pass qid= to predict (with metadata routing in a "
                "Pipeline or a search)."
            )
        device = torch.device(self.device)
        X_t = torch.as_tensor(X).to(device)
        g_t = (
            None
            if groups is None or not takes_groups(module)
            else torch.as_tensor(groups)
        )
        method = "rank_scores" if hasattr(module, "rank_scores") else None
        out = self.net_.forward_tensor(X_t, groups=g_t, method=method)
        out = out.detach().cpu().double().numpy()
        return out.reshape(X.shape[0], -1)[:, 0]

    def score(self, X, y, qid=None, sample_weight=None):
        """Mean NDCG@10 over the queries of ``X`` (linear gain, as
        :func:`sklearn.metrics.ndcg_score`; one query without ``qid``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Relevance.
        qid : array-like of shape (n_samples,), default=None
        sample_weight : array-like of shape (n_samples,), default=None
            Query weights (the same on every row of a query).

        Returns
        -------
        float
        """
        if qid is None and getattr(self, "n_queries_", 1) > 1:
            raise ValueError(
                f"score needs qid= (this ranker was fitted on {self.n_queries_} "
                "queries): NDCG is computed per query. In a Pipeline or a search, "
                "enable metadata routing (sklearn.set_config("
                "enable_metadata_routing=True)) and pass qid to fit, or score with "
                "sklearn_losses.metrics.ndcg_scorer."
            )
        scores = self.predict(X, qid=qid)
        if qid is None:
            qid = np.zeros(len(scores), dtype=np.int64)
        return float(
            ndcg_by_query(
                np.asarray(y, dtype=np.float64).reshape(-1),
                scores,
                qid,
                k=10,
                sample_weight=sample_weight,
            )
        )


def _ranking_metric(scoring):
    """``metric(y_true, y_score, qid) -> float`` for ``validation_scoring``."""
    if scoring is None:
        scoring = "ndcg@10"
    if callable(scoring):
        return scoring
    return parse_ranking_metric(scoring)
