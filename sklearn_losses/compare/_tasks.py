"""The tasks of ``compare``: what a binary, a multiclass, a regression, a
ranking, an embedding and a multi-label comparison each decide.

A :class:`Task` holds every choice that depends on the kind of target: how the
target is prepared, how the folds are cut, the default metrics and how metric
names resolve, the reference models, the estimator the losses train and which
registered losses are candidates by default. The rest of ``compare`` (specs,
running, report) asks the task and never tests its name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    get_scorer,
    get_scorer_names,
    make_scorer,
    mean_pinball_loss,
)

from .._tables import (
    binary_target,
    check_target,
    class_target,
    looks_continuous,
    make_preprocessor,
    regression_target,
    require,
)
from ..losses import QuantileLoss, get_loss, get_loss_class, list_losses

__all__ = [
    "DEFAULT_SCORING",
    "EMBEDDING_SCORING",
    "EmbeddingTask",
    "MULTICLASS_SCORING",
    "MULTILABEL_SCORING",
    "MultiLabelTask",
    "RANKING_SCORING",
    "REGRESSION_SCORING",
    "TASK_CHOICES",
    "Metric",
    "PinballMetric",
    "RankingTask",
    "Task",
    "check_qid",
    "get_task",
    "indicator_target",
    "relevance_target",
    "resolve_task",
]

#: What ``task=`` accepts (``--task`` on the command line).
TASK_CHOICES = (
    "auto",
    "binary",
    "multiclass",
    "regression",
    "ranking",
    "embedding",
    "multilabel",
)

#: Default metrics of a binary target: F1 of the positive class, balanced
#: accuracy, PR-AUC (average precision of the positive class).
DEFAULT_SCORING = ("f1", "balanced_accuracy", "average_precision")

#: Default metrics of a multiclass target: macro-averaged F1, balanced
#: accuracy, log-loss (lower is better).
MULTICLASS_SCORING = ("f1_macro", "balanced_accuracy", "log_loss")

#: Default metrics of a regression target: RMSE and MAE (lower is better), R².
REGRESSION_SCORING = ("rmse", "mae", "r2")

#: Default metrics of a ranking target (relevance grades within queries): mean
#: NDCG@5 and NDCG@10 over queries (linear gain, as
#: ``sklearn.metrics.ndcg_score``) and MAP (rows with relevance >= 1 relevant).
RANKING_SCORING = ("ndcg@5", "ndcg@10", "map")

#: Default metrics of an embedding (class labels; the losses learn an
#: embedding): accuracy of a 5-nearest-neighbour classifier on the embeddings
#: of the training rows, Recall@1 and MAP@R of the test rows among themselves.
EMBEDDING_SCORING = ("knn_accuracy", "recall@1", "map@r")

#: Default metrics of a multi-label target (an indicator matrix): micro F1
#: (the counts of every label pooled), macro F1 (the mean over labels) and the
#: Jaccard index of each row's label set, averaged over rows.
MULTILABEL_SCORING = ("f1_micro", "f1_macro", "jaccard_samples")

#: Short metric names and the scikit-learn scorers they stand for.
_ALIASES = {
    "minority_f1": "f1",
    "pr_auc": "average_precision",
    "log_loss": "neg_log_loss",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
}
_PINBALL = re.compile(r"pinball(?:_(?P<alpha>.+))?")
#: On a multiclass target these average over the classes (``<name>_macro``).
_MACRO = {"f1", "precision", "recall", "jaccard"}
#: Modules of the scikit-learn metrics that score class labels or scores.
_CLASS_METRICS = ("sklearn.metrics._classification", "sklearn.metrics._ranking")
_REGRESSION_METRICS = ("sklearn.metrics._regression",)
#: ``requires`` a default candidate may have: inputs the estimators provide.
_PROVIDED = {"index", "epoch"}


@dataclass(frozen=True)
class Metric:
    """One metric of the leaderboard.

    Parameters
    ----------
    name : str
        Its columns are ``<name>_mean`` and ``<name>_std``.
    scorer : callable
        ``scorer(estimator, X, y)``, greater is better (scikit-learn's
        convention).
    lower_is_better : bool, default=False
        The scorer returns minus an error (``neg_*``): the leaderboard shows
        the error itself, and ranks lowest first.
    """

    name: str
    scorer: object = None
    lower_is_better: bool = False

    @property
    def sign(self):
        """What the scorer's value is multiplied by to give the shown value."""
        return -1.0 if self.lower_is_better else 1.0

    def scorer_for(self, params):
        """The scorer of the candidate whose estimator parameters are
        ``params`` (the same for every candidate here)."""
        return self.scorer


@dataclass(frozen=True)
class PinballMetric(Metric):
    """The mean pinball loss (``sklearn.metrics.mean_pinball_loss``).

    ``alpha=None`` scores each candidate at its own quantile level: a
    ``quantile`` loss's ``alpha``, 0.5 for every other candidate (the median;
    half the MAE). A number scores every candidate at that level.
    """

    alpha: float | None = None

    def scorer_for(self, params):
        alpha = self.alpha if self.alpha is not None else candidate_quantile(params)
        return make_scorer(mean_pinball_loss, alpha=alpha, greater_is_better=False)


def candidate_quantile(params):
    """The quantile level a candidate predicts: a quantile loss's ``alpha``,
    else 0.5 (the median).

    Examples
    --------
    >>> from sklearn_losses.compare._tasks import candidate_quantile
    >>> candidate_quantile({"loss": "quantile", "loss__alpha": 0.9})
    0.9
    >>> candidate_quantile({"loss": "mse"}), candidate_quantile({})
    (0.5, 0.5)
    """
    loss = params.get("loss")
    if loss is None or not issubclass(get_loss_class(loss), QuantileLoss):
        return 0.5
    loss_params = {k[6:]: v for k, v in params.items() if k.startswith("loss__")}
    return float(get_loss(loss, **loss_params).alpha)


def _pinball(name):
    """The :class:`PinballMetric` ``name`` asks for, or ``None``: ``"pinball"``
    (each candidate's level) or ``"pinball_<level>"``, e.g. ``"pinball_0.9"``."""
    match = _PINBALL.fullmatch(name)
    if match is None:
        return None
    if match["alpha"] is None:
        return PinballMetric(name, lower_is_better=True)
    try:
        alpha = float(match["alpha"])
    except ValueError:
        alpha = None
    if alpha is None or not 0 < alpha < 1:
        raise ValueError(
            f"Metric {name!r}: the level after 'pinball_' must be a number in "
            f"(0, 1), e.g. pinball_0.9; got {match['alpha']!r}."
        )
    return PinballMetric(name, lower_is_better=True, alpha=alpha)


class Task:
    """What one kind of target decides in a comparison.

    Subclasses set :attr:`name`, :attr:`default_scoring`, :attr:`stratified`
    and implement the hooks; :func:`get_task` returns the instances.
    """

    #: The task's name, as in :data:`~sklearn_losses.losses.TASKS`.
    name = None
    #: Metric names used when ``scoring=None``; the first ranks.
    default_scoring = ()
    #: Whether the folds keep the class shares (``StratifiedKFold``).
    stratified = False
    #: Whether ``tune_threshold`` applies (one decision threshold: binary).
    tunes_threshold = False

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    # -- the estimator and its candidates ---------------------------------------
    @property
    def estimator_class(self):
        """The estimator every loss candidate trains."""
        raise NotImplementedError

    def candidates(self):
        """One candidate per registered loss of the task: ``{spec: params}``.

        Left out (ask for them by name): losses that need an input of their
        own in ``fit`` or that re-run the network (``requires`` beyond the row
        index and the epoch).
        """
        return {
            name: {"loss": name}
            for name in list_losses(self.name)
            if set(get_loss_class(name).requires) <= _PROVIDED
        }

    def references(self, random_state, **context):
        """``{label: unfitted estimator}``: the models the losses are measured
        against. ``context`` holds ``estimator`` (the candidates' shared
        estimator) and ``n_features`` (after preprocessing, at most)."""
        raise NotImplementedError

    def tail(self):
        """Steps after the candidate in every pipeline (unfitted), e.g. the
        nearest-neighbour classifier that scores an embedding."""
        return ()

    def students(self, random_state, estimator):
        """``{label: unfitted estimator}``: networks distilled from a reference
        model (``compare --distill``); empty where the task has none.
        ``estimator`` is the candidates' shared estimator (its network and
        training parameters are the students')."""
        return {}

    # -- the target and the folds ---------------------------------------------------
    def prepare_target(self, y, pos_label=None):
        """``(y, positive class or None)``: the target the estimators fit."""
        raise NotImplementedError

    def describe(self, y, positive):
        """A few words on the prepared target, for the command line."""
        raise NotImplementedError

    def folds(self, cv, y, random_state, qid=None):
        """The splitter: ``cv`` shuffled folds seeded by ``random_state``, or
        ``cv`` itself when it is a splitter (``qid``: the query ids of a
        ranking target)."""
        if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool):
            if not hasattr(cv, "split"):
                raise ValueError(f"cv must be an int or a splitter; got {cv!r}.")
            return cv
        if cv < 2:
            raise ValueError(f"cv must be at least 2; got {cv}.")
        self._check_folds(int(cv), y)
        return self._splitter(int(cv), random_state)

    def _check_folds(self, cv, y):
        if len(y) < cv:
            raise ValueError(
                f"The target has {len(y)} rows, fewer than the {cv} folds."
            )

    def _splitter(self, cv, random_state):
        from sklearn.model_selection import KFold

        return KFold(cv, shuffle=True, random_state=random_state)

    def splits(self, folds, y, qid=None):
        """The ``(train, test)`` row positions of each fold."""
        return list(folds.split(np.zeros((len(y), 1)), y))

    def preprocessor(self, numeric, categorical, n_train):
        """The per-fold preprocessing of the features (fitted inside each
        training fold of at least ``n_train`` rows)."""
        return make_preprocessor(numeric, categorical)

    # -- metrics and predictions ---------------------------------------------------
    def metrics(self, scoring=None):
        """The :class:`Metric` list ``scoring`` names (see ``compare_losses``)."""
        if scoring is None:
            scoring = self.default_scoring
        if isinstance(scoring, str):
            scoring = [scoring]
        if isinstance(scoring, dict):
            if not scoring:
                raise ValueError("scoring needs at least one metric.")
            return [Metric(str(name), scorer) for name, scorer in scoring.items()]
        scoring = list(scoring)
        if not scoring:
            raise ValueError("scoring needs at least one metric.")
        metrics = [self.metric(name) for name in scoring]
        # twice: one column, or one scorer under two names (rmse and
        # neg_root_mean_squared_error)
        columns = [m.name for m in metrics]
        scorers = [_ALIASES.get(name, name) for name in scoring]
        for names in (columns, scorers):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(
                    f"A metric is given twice in scoring: {scoring} "
                    f"({', '.join(twice)})."
                )
        return metrics

    def metric(self, name):
        """The :class:`Metric` of one name: a scikit-learn scorer name, or one
        of the short names ``rmse``, ``mae``, ``mse``, ``log_loss``,
        ``pr_auc``, ``minority_f1``, ``pinball``, ``pinball_<level>``."""
        if not isinstance(name, str):
            raise TypeError(
                f"A metric is a scorer name (str); got {type(name).__name__}. "
                "Pass scoring={name: scorer} for scorer objects."
            )
        pinball = _pinball(name)
        if pinball is not None:
            self._check_metric_kind(name, _REGRESSION_METRICS[0])
            return pinball
        base = _ALIASES.get(name, name)
        scorer = self._scorer(base)
        if scorer is None:
            choices = [*get_scorer_names(), *_ALIASES, "pinball"]
            close = difflib.get_close_matches(name, choices, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown metric {name!r}.{hint} Use a scikit-learn scorer name, "
                f"e.g. {', '.join(self.default_scoring)} "
                "(sklearn.metrics.get_scorer_names() lists them)."
            )
        func = getattr(scorer, "_score_func", None)
        self._check_metric_kind(name, getattr(func, "__module__", ""))
        lower = getattr(scorer, "_sign", 1) < 0
        shown = name[len("neg_") :] if name.startswith("neg_") else name
        return Metric(shown, scorer, lower)

    def _scorer(self, name):
        try:
            return get_scorer(name)
        except ValueError:
            return None

    def _check_metric_kind(self, name, module):
        """Refuse a metric of the other kind of target (by its module)."""
        regression = self.name == "regression"
        wrong = _CLASS_METRICS if regression else _REGRESSION_METRICS
        if module in wrong:
            what = "class labels or class scores" if regression else "numbers"
            raise ValueError(
                f"Metric {name!r} scores {what}; this target is compared as "
                f"{self.name}. Metrics for {self.name}: e.g. "
                f"{', '.join(self.default_scoring)}."
            )

    def predictions(self, estimator, X, **metadata):
        """The out-of-fold predictions kept for the report."""
        return estimator.predict(X)


class _ClassificationTask(Task):
    stratified = True

    @property
    def estimator_class(self):
        from ..estimators import LossClassifier

        return LossClassifier

    def candidates(self):
        candidates = super().candidates()
        candidates["cross_entropy:class_weight=balanced"] = {
            "loss": "cross_entropy",
            "class_weight": "balanced",
        }
        return candidates

    def references(self, random_state, **context):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        return {
            "LogisticRegression(balanced)": LogisticRegression(
                class_weight="balanced", max_iter=1000
            ),
            "HistGradientBoosting": HistGradientBoostingClassifier(
                random_state=random_state
            ),
        }

    def students(self, random_state, estimator):
        """The student of the gradient-boosting reference: a
        :class:`~sklearn_losses.DistilledClassifier` whose unfitted teacher is
        that reference (fitted inside each training fold), with ``kd`` on a
        binary target and ``pld`` on more classes, and the shared estimator's
        network and training parameters."""
        from ..estimators import DistilledClassifier

        loss = "kd" if self.name == "binary" else "pld"
        teacher = self.references(random_state)["HistGradientBoosting"]
        params = {
            k: v
            for k, v in estimator.get_params(deep=False).items()
            if k != "loss" and not k.startswith("loss__")
        }
        student = DistilledClassifier(teacher=teacher, loss=loss, **params)
        return {f"student({loss}) of HistGradientBoosting": student}

    def _check_folds(self, cv, y):
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() >= cv:
            return
        rare = classes[np.argmin(counts)]
        hint = ""
        if len(classes) > 20 and np.issubdtype(np.asarray(y).dtype, np.number):
            hint = (
                f" The target has {len(classes)} classes: if it is a number to "
                "predict rather than a class, use task 'regression'."
            )
        raise ValueError(
            f"Class {rare.item() if hasattr(rare, 'item') else rare!r} has "
            f"{counts.min()} rows, fewer than the {cv} folds: lower cv.{hint}"
        )

    def _splitter(self, cv, random_state):
        from sklearn.model_selection import StratifiedKFold

        return StratifiedKFold(cv, shuffle=True, random_state=random_state)

    def predictions(self, estimator, X, **metadata):
        return estimator.predict_proba(X)


class BinaryTask(_ClassificationTask):
    """Two classes, one of them positive: the metrics score it, and it is the
    networks' class 1."""

    name = "binary"
    default_scoring = DEFAULT_SCORING
    tunes_threshold = True

    def prepare_target(self, y, pos_label=None):
        _, classes, _ = class_target(y)
        if len(classes) > 2:
            shown = ", ".join(repr(_plain(c)) for c in classes[:10])
            more = ", ..." if len(classes) > 10 else ""
            raise ValueError(
                f"Task 'binary' needs two classes; this target has "
                f"{len(classes)}: {shown}{more}. Use task 'multiclass' (or "
                "'auto')."
            )
        return binary_target(y, pos_label)

    def describe(self, y, positive):
        return f"positive class {positive!r} ({np.mean(y):.1%})"

    def predictions(self, estimator, X, **metadata):
        return estimator.predict_proba(X)[:, 1]


class MulticlassTask(_ClassificationTask):
    """Class labels scored with macro averages (every class counts the same)."""

    name = "multiclass"
    default_scoring = MULTICLASS_SCORING

    def prepare_target(self, y, pos_label=None):
        _refuse_pos_label(pos_label, self.name)
        return class_target(y)[0], None

    def describe(self, y, positive):
        classes, counts = np.unique(y, return_counts=True)
        rare = classes[np.argmin(counts)]
        return (
            f"{len(classes)} classes, the smallest {_plain(rare)!r} "
            f"({counts.min() / len(y):.1%})"
        )

    def _scorer(self, name):
        if name == "average_precision":
            return make_scorer(
                average_precision_score,
                response_method="predict_proba",
                average="macro",
            )
        if name in _MACRO:
            name = f"{name}_macro"
        elif name == "roc_auc":
            name = "roc_auc_ovr"
        return super()._scorer(name)


class RegressionTask(Task):
    """A number to predict: the regression losses train
    :class:`~sklearn_losses.LossRegressor`."""

    name = "regression"
    default_scoring = REGRESSION_SCORING

    @property
    def estimator_class(self):
        from ..estimators import LossRegressor

        return LossRegressor

    def candidates(self):
        """One candidate per regression loss for any real target. Left out
        (ask for them by name): losses with a prediction link (``bce``:
        targets in ``[0, 1]``) and image losses (``ssim``, ``ms_ssim``: image
        targets, not tables)."""
        return {
            name: params
            for name, params in super().candidates().items()
            if get_loss_class(name).prediction_link is None
            and not get_loss_class(name).image
        }

    def references(self, random_state, **context):
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.linear_model import Ridge

        return {
            "Ridge": Ridge(),
            "HistGradientBoosting": HistGradientBoostingRegressor(
                random_state=random_state
            ),
        }

    def prepare_target(self, y, pos_label=None):
        _refuse_pos_label(pos_label, self.name)
        return regression_target(y), None

    def describe(self, y, positive):
        return (
            f"from {np.min(y):.4g} to {np.max(y):.4g}, mean {np.mean(y):.4g}, "
            f"std {np.std(y):.4g}"
        )


#: ``requires`` a ranking candidate may have: the ranker passes the query ids
#: (``groups``), the row index and the epoch.
_RANKING_PROVIDED = {"groups", "index", "epoch"}
#: Ranking metric names: ``ndcg``, ``ndcg@k``, ``map``, ``map@t`` (relevant
#: from grade ``t``), ``mrr``, ``kendall_tau``, ``pairwise_accuracy``.
_RANKING_METRIC = re.compile(
    r"(?:(?P<ndcg>ndcg)(?:@(?P<k>\d+))?|(?P<map>map)(?:@(?P<t>\d+(?:\.\d+)?))?"
    r"|(?P<other>mrr|kendall_tau|pairwise_accuracy))"
)
_RANKING_NAMES = "ndcg, ndcg@k, map, mrr, kendall_tau, pairwise_accuracy"


class RankingTask(Task):
    """Graded relevance of rows within queries: the ranking losses train
    :class:`~sklearn_losses.LossRanker`.

    The query ids (``qid``) cut the folds (``GroupKFold``: a query is never
    split between training and test rows), go to every ranker's ``fit`` and
    ``predict`` and to the metrics, which are means over the test queries.
    The numeric features are mapped to a standard normal by a
    ``QuantileTransformer`` fitted inside each training fold: web-search
    features (counts, BM25 scores, PageRank) are heavy-tailed, and a network
    trains on them far better once they are Gaussian; the gradient-boosting
    references, which split on thresholds, are unaffected by it.
    """

    name = "ranking"
    default_scoring = RANKING_SCORING

    @property
    def estimator_class(self):
        from ..estimators import LossRanker

        return LossRanker

    def candidates(self):
        """One candidate per registered ranking loss the ranker can feed.

        Left out (ask for them by name): losses that carry their own model
        (``tsprank``, ``grouprank``: slower, a set model per query) and losses
        that need another input of their own.
        """
        candidates = {}
        for name in list_losses(self.name):
            cls = get_loss_class(name)
            own_model = getattr(cls, "module_class", None) is not None
            if not own_model and set(cls.requires) <= _RANKING_PROVIDED:
                candidates[name] = {"loss": name}
        return candidates

    def references(self, random_state, **context):
        """A pointwise ``HistGradientBoostingRegressor`` on the relevance and,
        when LightGBM is installed, its LambdaRank ranker
        (:class:`~sklearn_losses.compare.QidLGBMRanker`)."""
        from sklearn.ensemble import HistGradientBoostingRegressor

        references = {
            "HistGradientBoosting(pointwise)": HistGradientBoostingRegressor(
                random_state=random_state
            )
        }
        from ._lgbm import HAS_LIGHTGBM, QidLGBMRanker

        if not HAS_LIGHTGBM:
            return references
        references["LGBMRanker(lambdarank)"] = QidLGBMRanker(
            random_state=random_state, n_jobs=1, verbose=-1
        )
        return references

    def prepare_target(self, y, pos_label=None):
        _refuse_pos_label(pos_label, self.name)
        return relevance_target(y), None

    def describe(self, y, positive, qid=None):
        grades = np.unique(y)
        if len(grades) <= 10:
            shown = "grades " + ", ".join(f"{_plain(g):g}" for g in grades)
        else:
            shown = f"relevance from {np.min(y):.4g} to {np.max(y):.4g}"
        relevant = f"{np.mean(y >= 1):.1%} of rows relevant (>= 1)"
        if qid is None:
            return f"{shown}; {relevant}"
        _, sizes = np.unique(qid, return_counts=True)
        return (
            f"{shown}; {len(sizes)} queries of {sizes.min()} to {sizes.max()} "
            f"rows (mean {sizes.mean():.1f}); {relevant}"
        )

    def folds(self, cv, y, random_state, qid=None):
        """``GroupKFold`` over the queries (shuffled, seeded), or ``cv``
        itself when it is a splitter (it gets ``groups=qid``)."""
        if not isinstance(cv, (int, np.integer)) or isinstance(cv, bool):
            return super().folds(cv, y, random_state)
        if cv < 2:
            raise ValueError(f"cv must be at least 2; got {cv}.")
        if qid is not None:
            n_queries = len(np.unique(qid))
            if n_queries < cv:
                raise ValueError(
                    f"The data has {n_queries} queries, fewer than the {cv} folds "
                    "(a query is never split between folds): lower cv."
                )
        from sklearn.model_selection import GroupKFold

        return GroupKFold(int(cv), shuffle=True, random_state=random_state)

    def splits(self, folds, y, qid=None):
        """The folds of ``folds.split(X, y, groups=qid)``; a splitter that
        cuts a query between training and test rows is refused."""
        splits = list(folds.split(np.zeros((len(y), 1)), y, groups=qid))
        for train, test in splits:
            cut = np.intersect1d(qid[train], qid[test])
            if len(cut):
                raise ValueError(
                    f"The splitter {folds!r} puts rows of query {_plain(cut[0])!r} "
                    "in both the training and the test rows of a fold; a query "
                    "must stay whole: use GroupKFold (an int cv does)."
                )
        return splits

    def preprocessor(self, numeric, categorical, n_train):
        from sklearn.preprocessing import QuantileTransformer

        preprocessor = make_preprocessor(numeric, categorical)
        if numeric:
            quantiles = QuantileTransformer(
                n_quantiles=max(1, min(1000, int(n_train))),
                output_distribution="normal",
                random_state=0,  # the rows it subsamples beyond 10,000
            )
            preprocessor.set_params(numeric__standardscaler=quantiles)
        return preprocessor

    def metric(self, name):
        """The :class:`Metric` of a ranking metric name: ``ndcg`` (all rows),
        ``ndcg@k``, ``map`` (relevant: relevance >= 1), ``map@t`` (relevance
        >= ``t``), ``mrr``, ``kendall_tau``, ``pairwise_accuracy``; each a
        mean over the test queries (:mod:`sklearn_losses.metrics`)."""
        from ..metrics import GroupedRankingScorer

        if not isinstance(name, str):
            raise TypeError(
                f"A metric is a metric name (str); got {type(name).__name__}. "
                "Pass scoring={name: scorer} for scorer objects."
            )
        match = _RANKING_METRIC.fullmatch(name)
        if match is None or match["k"] == "0":
            close = difflib.get_close_matches(
                name, ["ndcg@5", "ndcg@10", "ndcg", "map", "mrr", "kendall_tau"], n=1
            )
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Metric {name!r} is not a ranking metric.{hint} A ranking target "
                f"is scored by query: {_RANKING_NAMES} (e.g. "
                f"{', '.join(self.default_scoring)})."
            )
        if match["ndcg"]:
            params = {} if match["k"] is None else {"k": int(match["k"])}
            return Metric(name, GroupedRankingScorer("ndcg", **params))
        if match["map"]:
            params = (
                {} if match["t"] is None else {"relevance_threshold": float(match["t"])}
            )
            return Metric(name, GroupedRankingScorer("map", **params))
        return Metric(name, GroupedRankingScorer(match["other"]))

    def predictions(self, estimator, X, **metadata):
        from ..metrics._ranking import _predict_takes_qid

        qid = metadata.get("qid")
        if qid is not None and _predict_takes_qid(estimator):
            return estimator.predict(X, qid=qid)
        return estimator.predict(X)


def relevance_target(y):
    """Check a ranking target (the relevance of each row) and return it as
    floats.

    Raises
    ------
    ValueError
        For an empty target, missing values, values that are not numbers, or
        a negative relevance.

    Examples
    --------
    >>> from sklearn_losses.compare._tasks import relevance_target
    >>> relevance_target([0, 2, 1])
    array([0., 2., 1.])
    """
    y = check_target(y)
    try:
        values = y.astype(np.float64)
    except (TypeError, ValueError):
        shown = ", ".join(repr(_plain(v)) for v in np.unique(y.astype(str))[:5])
        raise ValueError(
            f"A ranking target is the relevance of each row, a number >= 0 "
            f"(higher is better); this one holds values such as {shown}."
        ) from None
    if not np.all(np.isfinite(values)):
        raise ValueError("The relevance target has infinite values.")
    if np.any(values < 0):
        raise ValueError(
            f"The relevance target has negative values (minimum {values.min():g}, "
            f"{int(np.sum(values < 0))} rows); relevance is a grade >= 0, higher is "
            "better: shift or rank-transform it."
        )
    return values


def check_qid(qid, n_rows):
    """The query ids as a 1-D array of ``n_rows`` values without missing ones.

    Examples
    --------
    >>> from sklearn_losses.compare._tasks import check_qid
    >>> check_qid([3, 3, 1], 3)
    array([3, 3, 1])
    """
    qid = np.asarray(qid)
    if qid.ndim != 1:
        raise ValueError(f"qid must be 1-D (one query id per row); got {qid.shape}.")
    if len(qid) != n_rows:
        raise ValueError(
            f"qid has {len(qid)} values but the data has {n_rows} rows; give one "
            "query id per row."
        )
    missing = require("pandas").isna(qid)
    if missing.any():
        raise ValueError(
            f"qid has {int(missing.sum())} missing query ids; every row needs one."
        )
    return qid


def _refuse_pos_label(pos_label, task):
    if pos_label is not None:
        raise ValueError(
            f"A positive class ({pos_label!r}) applies to a binary target only; "
            f"this one is compared as {task}."
        )


#: Embedding metric names and the functions of :mod:`sklearn_losses.metrics`.
_EMBEDDING_METRIC = re.compile(r"recall@(?P<k>[1-9]\d*)|map@r|r_precision")


class EmbeddingTask(MulticlassTask):
    """Class labels, compared by the quality of an embedding: the
    metric-learning losses train :class:`~sklearn_losses.LossEmbedder`.

    Every pipeline ends in a 5-nearest-neighbour classifier on the embedding
    (:meth:`tail`): ``knn_accuracy`` is its accuracy on the test rows, whose
    neighbours are the training rows; ``recall@k``, ``map@r`` and
    ``r_precision`` retrieve the test rows among themselves (leave-one-out).
    The references are the preprocessed features themselves, PCA and
    ``NeighborhoodComponentsAnalysis`` at the embedding's width.
    """

    name = "embedding"
    default_scoring = EMBEDDING_SCORING

    @property
    def estimator_class(self):
        from ..estimators import LossEmbedder

        return LossEmbedder

    def candidates(self):
        """One candidate per registered embedding loss that trains on the
        table alone: ``cwcl`` with the input features as its frozen view (what
        ``LossEmbedder`` does without ``view=``)."""
        return {
            name: {"loss": name}
            for name in list_losses(self.name)
            if set(get_loss_class(name).requires)
            <= _PROVIDED | {"X", "module", "view"}
        }

    def references(self, random_state, **context):
        """The features as they are, PCA and NCA with the embedding's width
        (``n_components`` of the shared estimator, at most the number of
        features)."""
        from sklearn.decomposition import PCA
        from sklearn.neighbors import NeighborhoodComponentsAnalysis

        estimator = context.get("estimator")
        width = getattr(estimator, "n_components", 16)
        n_features = context.get("n_features")
        if n_features is not None:
            width = min(width, n_features)
        return {
            "raw features": "passthrough",
            f"PCA({width})": PCA(width, random_state=random_state),
            f"NCA({width})": NeighborhoodComponentsAnalysis(
                width, random_state=random_state
            ),
        }

    def students(self, random_state, estimator):
        """None: an embedding has no distilled student."""
        return {}

    def tail(self):
        from sklearn.neighbors import KNeighborsClassifier

        return (KNeighborsClassifier(n_neighbors=5),)

    def metric(self, name):
        """The :class:`Metric` of ``knn_accuracy``, ``recall@k``, ``map@r``,
        ``r_precision`` or a scikit-learn classification scorer name (scoring
        the nearest-neighbour classifier)."""
        if isinstance(name, str) and name == "knn_accuracy":
            return Metric(name, get_scorer("accuracy"))
        if isinstance(name, str) and _EMBEDDING_METRIC.fullmatch(name):
            return Metric(name, _EmbeddingRetrieval(name))
        return super().metric(name)

    def predictions(self, estimator, X, **metadata):
        return estimator.predict_proba(X)


class _EmbeddingRetrieval:
    """Scorer: a retrieval metric of the test rows' embeddings among
    themselves; the embedding is the pipeline without its last step."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"_EmbeddingRetrieval({self.name!r})"

    def __call__(self, estimator, X, y):
        from ..metrics import map_at_r, r_precision, recall_at_k

        embeddings = estimator[:-1].transform(X)
        if self.name == "map@r":
            return map_at_r(embeddings, y)
        if self.name == "r_precision":
            return r_precision(embeddings, y)
        return recall_at_k(embeddings, y, k=int(self.name.partition("@")[2]))


#: Multi-label metric names: a metric of the per-label counts with an optional
#: average (bare: micro; ``jaccard``: samples), scores of the label
#: probabilities (bare: macro), the Hamming loss and the subset accuracy.
_MULTILABEL_COUNTS = re.compile(
    r"(?P<metric>f1|precision|recall|jaccard)"
    r"(?:_(?P<average>micro|macro|weighted|samples))?"
)
_MULTILABEL_SCORES = re.compile(
    r"(?P<metric>roc_auc|average_precision|pr_auc)"
    r"(?:_(?P<average>micro|macro|weighted|samples))?"
)
_MULTILABEL_NAMES = (
    "f1_micro, f1_macro, f1_weighted, f1_samples (the same averages of precision, "
    "recall and jaccard), roc_auc, average_precision (macro over labels; _micro "
    "too), hamming_loss, subset_accuracy"
)


class MultiLabelTask(Task):
    """Several 0/1 label columns (an indicator matrix): the multi-label losses
    train :class:`~sklearn_losses.MultiLabelLossClassifier`.

    The folds are shuffled ``KFold``: scikit-learn has no stratified splitter
    for multi-label targets (iterative stratification is not part of it), so
    every label must have at least ``cv`` positive and ``cv`` negative rows,
    and a very rare label can still miss from a training fold (that
    candidate's fit then fails and its scores are NaN). The metrics come from
    :mod:`sklearn_losses.metrics` (equal to ``sklearn.metrics``, an
    ill-defined value counted as 0). The references are a one-vs-rest
    class-weighted logistic regression and one gradient-boosting model per
    label.
    """

    name = "multilabel"
    default_scoring = MULTILABEL_SCORING

    @property
    def estimator_class(self):
        from ..estimators import MultiLabelLossClassifier

        return MultiLabelLossClassifier

    def candidates(self):
        """One candidate per registered multi-label loss, and ``bce`` both
        plain and with balanced per-label positive weights (two rows, rather
        than one grid point hidden in ``bce``'s grid)."""
        candidates = super().candidates()
        if "bce" in candidates:
            candidates["bce"] = {"loss": "bce", "loss__pos_weight": None}
            candidates["bce:pos_weight=balanced"] = {
                "loss": "bce",
                "loss__pos_weight": "balanced",
            }
        return candidates

    def references(self, random_state, **context):
        """One-vs-rest ``LogisticRegression(class_weight="balanced")`` and
        ``MultiOutputClassifier(HistGradientBoostingClassifier())``."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.multioutput import MultiOutputClassifier

        return {
            "OneVsRest(LogisticRegression(balanced))": OneVsRestClassifier(
                LogisticRegression(class_weight="balanced", max_iter=1000)
            ),
            "MultiOutput(HistGradientBoosting)": MultiOutputClassifier(
                HistGradientBoostingClassifier(random_state=random_state)
            ),
        }

    def prepare_target(self, y, pos_label=None):
        _refuse_pos_label(pos_label, self.name)
        return indicator_target(y), None

    def describe(self, y, positive, labels=None):
        """The number of labels, each label's share of rows (up to ten;
        ``labels``: the column names) and the mean number of labels per row."""
        n_labels = y.shape[1]
        names = list(labels) if labels is not None else list(range(n_labels))
        shares = np.mean(y, axis=0)
        if n_labels <= 10:
            shown = ", ".join(f"{n} {s:.1%}" for n, s in zip(names, shares))
        else:
            rare = int(np.argmin(shares))
            shown = f"the rarest {names[rare]!r} {shares[rare]:.1%}"
        return (
            f"{n_labels} labels ({shown}); {np.mean(np.sum(y, axis=1)):.2f} labels "
            "per row on average"
        )

    def _check_folds(self, cv, y):
        super()._check_folds(cv, y)
        positives = np.sum(y, axis=0)
        fewest = np.minimum(positives, len(y) - positives)
        label = int(np.argmin(fewest))
        if fewest[label] < cv:
            kind = "positive" if positives[label] <= len(y) / 2 else "negative"
            raise ValueError(
                f"Label column {label} has {int(fewest[label])} {kind} rows, fewer "
                f"than the {cv} folds (the folds are not stratified: a training "
                "fold needs both values of every label): lower cv, or drop the "
                "label."
            )

    def metric(self, name):
        """The :class:`Metric` of a multi-label metric name: ``f1``,
        ``precision``, ``recall`` or ``jaccard`` with ``_micro``, ``_macro``,
        ``_weighted`` or ``_samples`` (bare: micro; ``jaccard``: samples), from
        ``predict``; ``roc_auc`` and ``average_precision`` (``pr_auc``) of the
        label probabilities (bare: macro); ``hamming_loss`` (lower is better);
        ``subset_accuracy`` (``accuracy``: every label of a row right)."""
        from sklearn.metrics import accuracy_score, roc_auc_score

        from ..metrics import multilabel_scorer

        if not isinstance(name, str):
            raise TypeError(
                f"A metric is a metric name (str); got {type(name).__name__}. "
                "Pass scoring={name: scorer} for scorer objects."
            )
        match = _MULTILABEL_COUNTS.fullmatch(name)
        if match is not None:
            metric = match["metric"]
            default = "samples" if metric == "jaccard" else "micro"
            average = match["average"] or default
            scorer = multilabel_scorer(metric, average=average, zero_division=0.0)
            return Metric(f"{metric}_{average}", scorer)
        match = _MULTILABEL_SCORES.fullmatch(name)
        if match is not None:
            metric = match["metric"].replace("pr_auc", "average_precision")
            average = match["average"] or "macro"
            func = roc_auc_score if metric == "roc_auc" else average_precision_score
            shown = metric if average == "macro" else f"{metric}_{average}"
            return Metric(shown, _LabelProbaScorer(func, average))
        if name in ("hamming_loss", "hamming"):
            return Metric("hamming_loss", multilabel_scorer("hamming_loss"), True)
        if name in ("subset_accuracy", "accuracy"):
            return Metric("subset_accuracy", make_scorer(accuracy_score))
        close = difflib.get_close_matches(
            name, ["f1_micro", "f1_macro", "jaccard_samples", "hamming_loss"], n=1
        )
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Metric {name!r} is not a multi-label metric.{hint} A multi-label "
            f"target is scored by: {_MULTILABEL_NAMES} (default: "
            f"{', '.join(self.default_scoring)})."
        )

    def predictions(self, estimator, X, **metadata):
        return label_proba(estimator, X)


def label_proba(estimator, X):
    """The probability of each label, shape ``(n_samples, n_labels)``, of a
    multi-label classifier (``MultiOutputClassifier``'s list of ``(n, 2)``
    arrays included)."""
    proba = estimator.predict_proba(X)
    if isinstance(proba, list):
        proba = np.column_stack([p[:, -1] for p in proba])
    return np.asarray(proba, dtype=np.float64)


class _LabelProbaScorer:
    """Scorer: ``func(Y, label probabilities, average=average)``."""

    def __init__(self, func, average):
        self.func = func
        self.average = average

    def __repr__(self):
        return f"_LabelProbaScorer({self.func.__name__}, average={self.average!r})"

    def __call__(self, estimator, X, y):
        return self.func(y, label_proba(estimator, X), average=self.average)


def indicator_target(y):
    """Check a multi-label target and return it as an ``int64`` 0/1 matrix.

    Each column is one label: 0/1 (integers or floats) or booleans, 1 where
    the label applies; both values must occur in every column.

    Parameters
    ----------
    y : array-like, pandas.DataFrame or sparse matrix of shape \
(n_samples, n_labels)

    Returns
    -------
    ndarray of shape (n_samples, n_labels)

    Raises
    ------
    ValueError
        For a target that is not a matrix of two or more columns, is empty,
        has missing values, or a column that holds another value than 0/1
        (or False/True) or one value only (each error names the column).

    Examples
    --------
    >>> from sklearn_losses.compare._tasks import indicator_target
    >>> indicator_target([[1, 0], [0, 1], [True, False]]).tolist()
    [[1, 0], [0, 1], [1, 0]]
    """
    import scipy.sparse as sp

    pd = require("pandas")
    if sp.issparse(y):
        y = y.toarray()
    if isinstance(y, pd.DataFrame):
        names = list(y.columns)
        columns = [y[c].to_numpy() for c in y.columns]
    else:
        y = np.asarray(y)
        if y.ndim == 2:
            names = list(range(y.shape[1]))
            columns = list(y.T)
        else:
            names = columns = [None]
    if len(columns) < 2:
        raise ValueError(
            "Task 'multilabel' needs two or more label columns (an indicator "
            "matrix of shape (n_samples, n_labels), one 0/1 column per label); "
            f"this target {'has one' if names[0] is not None else 'is one column'}"
            ". For one 0/1 column use task 'binary'."
        )
    if len(columns[0]) == 0:
        raise ValueError("The target is empty (0 rows).")
    matrix = np.empty((len(columns[0]), len(columns)), dtype=np.int64)
    for j, (name, column) in enumerate(zip(names, columns)):
        missing = pd.isna(column)
        if missing.any():
            raise ValueError(
                f"Label column {name!r} has {int(missing.sum())} missing values in "
                f"{len(column)} rows; leave those rows out (the command line does)."
            )
        values = pd.unique(column)
        bad = [_plain(v) for v in values if not _is_indicator(v)]
        if bad:
            shown = ", ".join(repr(v) for v in bad[:5])
            raise ValueError(
                f"Label column {name!r} holds values other than 0 and 1 ({shown}); "
                "each label column of a multi-label target is 0/1 (or False/True),"
                " 1 where the label applies."
            )
        matrix[:, j] = column.astype(np.float64)
        if len(values) < 2:
            raise ValueError(
                f"Label column {name!r} is {int(matrix[0, j])} in every row: nothing "
                "can be learnt about that label. Drop the column."
            )
    return matrix


def _is_indicator(value):
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1)


def _n_columns(y):
    """The number of columns of a 2-D target (a matrix, a DataFrame, a sparse
    matrix or nested lists), else ``None``."""
    shape = getattr(y, "shape", None)
    if shape is None:
        try:
            shape = np.shape(y)
        except ValueError:  # ragged lists
            return None
    return shape[1] if len(shape) == 2 else None


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


_TASKS = {
    task.name: task
    for task in (
        BinaryTask(),
        MulticlassTask(),
        RegressionTask(),
        RankingTask(),
        EmbeddingTask(),
        MultiLabelTask(),
    )
}


def get_task(name):
    """The :class:`Task` called ``name`` (``"binary"``, ``"multiclass"``,
    ``"regression"``, ``"ranking"``, ``"embedding"`` or ``"multilabel"``).

    Examples
    --------
    >>> from sklearn_losses.compare import get_task
    >>> get_task("regression").default_scoring
    ('rmse', 'mae', 'r2')
    >>> get_task("ranking").default_scoring
    ('ndcg@5', 'ndcg@10', 'map')
    """
    if isinstance(name, Task):
        return name
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"task must be one of {', '.join(TASK_CHOICES)}; got {name!r}."
        ) from None


def resolve_task(y, task="auto", pos_label=None, qid=None):
    """The task of a target, and the target prepared for it.

    ``"auto"`` compares a target with query ids (``qid``) as ranking, a
    target of two or more columns (0/1 label columns) as multi-label, a
    continuous target (floats with more than
    :data:`~sklearn_losses._tables.MAX_FLOAT_CLASSES` distinct values; see
    :func:`~sklearn_losses._tables.looks_continuous`) as regression, a target
    of two classes as binary and one of more classes as multiclass.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        One column, or one 0/1 column per label (multi-label; a DataFrame or a
        sparse matrix too).
    task : {"auto", "binary", "multiclass", "regression", "ranking", \
"embedding", "multilabel"}, default="auto"
    pos_label : None or label, default=None
        The positive class of a binary target (refused for the other tasks).
    qid : None or array-like of shape (n_samples,), default=None
        Query ids: they make the target a ranking target (``"auto"``), are
        required by ``"ranking"`` and refused by the other tasks.

    Returns
    -------
    task : Task
    y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        0/1 for binary, the labels for multiclass, floats for regression and
        ranking, the 0/1 indicator matrix for multi-label.
    positive : label or None
        The positive class of a binary target.

    Raises
    ------
    ValueError
        For an unknown task, a target the task cannot use (string labels for
        regression, more than two classes for binary, a continuous target for
        classification, a negative relevance for ranking, one class, missing
        values), query ids with a task that is not ranking or ranking without
        them, a ``pos_label`` that does not apply, several target columns
        with a task that is not multi-label, or a multi-label target with one
        column or a column that is not 0/1 (see :func:`indicator_target`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses.compare import resolve_task
    >>> resolve_task(["a", "b", "b"])[0].name
    'binary'
    >>> resolve_task(np.linspace(0.0, 1.0, 30))[0].name
    'regression'
    >>> resolve_task([1, 2, 3, 3], task="regression")[1]
    array([1., 2., 3., 3.])
    >>> resolve_task([0, 2, 1, 0], qid=[1, 1, 2, 2])[0].name
    'ranking'
    >>> resolve_task([[1, 0], [0, 1], [1, 1]])[0].name
    'multilabel'
    """
    if qid is not None and task not in ("auto", "ranking"):
        raise ValueError(
            f"Query ids (qid) apply to a ranking target; this one is compared as "
            f"{task!r}. Leave qid out, or use task 'ranking' (or 'auto')."
        )
    if task == "ranking" and qid is None:
        raise ValueError(
            "Task 'ranking' needs the query id of each row: pass qid= (on the "
            "command line --qid COLUMN)."
        )
    n_columns = _n_columns(y)
    if qid is None and n_columns is not None and n_columns >= 2:
        if task == "auto":
            task = "multilabel"
        elif task != "multilabel":
            raise ValueError(
                f"A target of {n_columns} columns is a multi-label one (one 0/1 "
                f"column per label): use task 'multilabel' (or 'auto'); task "
                f"{task!r} takes one target column."
            )
    if task == "auto":
        y = check_target(y)
        if qid is not None:
            task = "ranking"
        elif looks_continuous(y):
            task = "regression"
        else:
            task = "binary" if len(np.unique(y)) <= 2 else "multiclass"
    task = get_task(task)
    y, positive = task.prepare_target(y, pos_label)
    return task, y, positive
