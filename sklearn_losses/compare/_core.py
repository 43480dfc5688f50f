""":func:`compare_losses`: the comparison from a table to a leaderboard."""

from __future__ import annotations

import difflib
import time

import numpy as np
from sklearn.base import clone

from .._tables import prepare_features, require
from . import _report, _run
from ._spec import (
    check_combination,
    combinations,
    parse_candidate,
    resolve_grids,
    template,
)
from ._tasks import (
    TASK_CHOICES,
    PinballMetric,
    candidate_quantile,
    check_qid,
    resolve_task,
)

__all__ = ["THRESHOLD_CV", "compare_losses", "run_comparison"]

#: Stratified inner folds of each training fold on which ``tune_threshold``
#: tunes a candidate's decision threshold.
THRESHOLD_CV = 3


def compare_losses(
    X,
    y,
    losses=None,
    *,
    task="auto",
    grid="default",
    scoring=None,
    pos_label=None,
    cv=5,
    reference=True,
    estimator=None,
    random_state=0,
    n_jobs=None,
    backend="loky",
    scheduler=None,
    progress=False,
    out=None,
    data_name=None,
    qid=None,
    distill=False,
    tune_threshold=False,
):
    """Cross-validate losses and two reference models on the same folds.

    Every candidate runs in a pipeline whose preprocessing is fitted inside each
    training fold: numeric columns are median-imputed and standardised,
    categorical ones (strings, categories, booleans) most-frequent-imputed and
    one-hot encoded. The task (``"auto"`` detects it) decides the rest:

    - binary: the target is encoded 1 for ``pos_label`` (default: the minority
      class), the class the metrics score; stratified folds; F1, balanced
      accuracy and PR-AUC of the positive class; ``LossClassifier`` against
      ``LogisticRegression(class_weight="balanced")`` and
      ``HistGradientBoostingClassifier``.
    - multiclass: the labels; stratified folds; macro F1, balanced accuracy and
      log-loss; the same estimator and references as binary.
    - regression: the target as floats; shuffled ``KFold``; RMSE, MAE and R²;
      ``LossRegressor`` against ``Ridge`` and ``HistGradientBoostingRegressor``.
    - ranking (given ``qid``, the query of each row): the relevance of each
      row (numbers >= 0); shuffled ``GroupKFold`` over the queries (a query is
      never split); mean NDCG@5, NDCG@10 and MAP over the test queries;
      ``LossRanker`` with the ranking losses against a pointwise
      ``HistGradientBoostingRegressor`` and, when LightGBM is installed, its
      LambdaRank ranker (:class:`QidLGBMRanker`). The numeric features are
      mapped to a standard normal by a ``QuantileTransformer`` (fitted per
      training fold) instead of standardised: ranking features are
      heavy-tailed, and networks train much better on Gaussian inputs.
    - embedding (only when asked for): class labels; stratified folds;
      ``LossEmbedder`` with the metric-learning losses against the features
      themselves, PCA and ``NeighborhoodComponentsAnalysis`` at the
      embedding's width; each pipeline ends in a 5-nearest-neighbour
      classifier: its accuracy on the test rows (``knn_accuracy``), and the
      test rows' Recall@1 and MAP@R among themselves.
    - multilabel (``y`` of two or more columns, each 0/1 or boolean: an
      indicator matrix): shuffled ``KFold`` (scikit-learn has no multi-label
      stratification; every label needs ``cv`` positive and negative rows);
      micro F1, macro F1 and the Jaccard index of each row's labels (mean over
      rows); ``MultiLabelLossClassifier`` with ``bce`` (plain and with
      balanced positive weights), ``focal`` and ``hybrid`` against a
      one-vs-rest ``LogisticRegression(class_weight="balanced")`` and
      ``MultiOutputClassifier(HistGradientBoostingClassifier())``.

    Each loss runs over a small grid of its own parameters (its class's
    ``default_grid``, e.g. focal ``gamma`` in {1, 2}; see
    :func:`default_grids`); every grid point is cross-validated and the
    leaderboard keeps, per loss, the point with the best mean of the first
    metric. That choice is made on the same folds it is scored on, so the score
    of a loss with a grid is slightly optimistic (a nested CV would cost the
    grid size again per fold); ``grid_size`` tells how many points were tried,
    and ``grid=None`` turns the grids off. Every fit uses ``random_state``, and
    runs on one thread, so results are identical for any ``n_jobs`` and backend.

    Parameters
    ----------
    X : array-like or pandas.DataFrame of shape (n_samples, n_features)
        Features; DataFrame columns that are not numeric are one-hot encoded.
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Class labels (binary or multiclass), numbers (regression), the
        relevance of each row (ranking: numbers >= 0, higher is better) or,
        for a multi-label target, one 0/1 (or boolean) column per label (an
        array, a DataFrame or a sparse matrix).
    losses : None or list, default=None
        Loss specs: ``"focal"``; with parameters ``"focal:gamma=1,alpha=0.25"``;
        a grid ``"focal:gamma=0.5,1,2"`` (values after a ``key=`` continue its
        list); a bare value for the loss's key parameter ``"anyloss:f1"``
        (``metric=f1``) or ``"huber:0.5,1"``; an estimator parameter
        ``"cross_entropy:class_weight=balanced"``; or a dict of estimator
        parameters with an optional ``"label"``. A spec's own values replace
        the default grid of that parameter. ``None``:
        :func:`default_candidates` for the task.
    task : {"auto", "binary", "multiclass", "regression", "ranking", \
"embedding", "multilabel"}, default="auto"
        ``"auto"``: ranking when ``qid`` is given, multilabel for a target of
        two or more columns, regression for a continuous
        target (float values, not all whole numbers, more than 20 distinct),
        binary for two classes, multiclass for more.
    grid : "default", None or dict, default="default"
        Per-loss grids: each loss's ``default_grid``; ``None`` for none; or a
        dict ``{loss: {param: values}}`` that replaces the default of those
        losses (``{}`` for a loss runs it without a grid).
    scoring : None, str, list of str or dict, default=None
        Metric names, the first ranks the leaderboard and picks each grid's
        best point: scikit-learn scorer names (``"f1"``,
        ``"average_precision"``, ``"roc_auc"``, ``"r2"``, ...) and the short
        names ``"rmse"``, ``"mae"``, ``"mse"``, ``"log_loss"``, ``"pr_auc"``.
        Errors (``neg_*`` scorers and the short names of errors) are shown as
        positive numbers, lower is better, and rank lowest first; a
        ``neg_<error>`` column is called ``<error>``. For regression,
        ``"pinball"`` is the mean pinball loss at each candidate's own quantile
        level (a quantile loss's ``alpha``, 0.5 for the others) and
        ``"pinball_0.9"`` is the pinball loss at 0.9 for every candidate. On a
        multiclass target ``f1``, ``precision``, ``recall``, ``jaccard`` and
        ``average_precision`` are macro averages and ``roc_auc`` is
        one-vs-rest. A metric of the other kind of target is refused. A
        ranking target takes ranking metrics only, means over the test queries:
        ``"ndcg"``, ``"ndcg@k"`` (linear gain, as
        ``sklearn.metrics.ndcg_score``), ``"map"`` (relevant: relevance >= 1),
        ``"map@t"`` (relevance >= ``t``), ``"mrr"``, ``"kendall_tau"``,
        ``"pairwise_accuracy"``. A dict ``{name: scorer}`` takes scorers as
        they are (greater is better; for a ranking target they are called
        with ``qid=`` the test rows' query ids). A multi-label target takes
        ``f1``, ``precision``, ``recall`` and ``jaccard`` with ``_micro``,
        ``_macro``, ``_weighted`` or ``_samples``, ``roc_auc`` and
        ``average_precision`` (macro over labels, from the probabilities),
        ``hamming_loss`` and ``subset_accuracy``. ``None``: the task's
        defaults (:data:`DEFAULT_SCORING`, :data:`MULTICLASS_SCORING`,
        :data:`REGRESSION_SCORING`, :data:`RANKING_SCORING`,
        :data:`MULTILABEL_SCORING`).
    pos_label : None or label, default=None
        Positive class of a binary target; ``None``: the minority class.
    cv : int or cross-validation splitter, default=5
        Number of shuffled folds (seeded by ``random_state``; stratified for
        class labels, grouped by query for ranking), or a splitter (for
        ranking it gets ``groups=qid`` and must keep every query whole).
    reference : bool, default=True
        Add the task's two reference models to the leaderboard, to show
        whether a neural loss earns its keep on this table.
    estimator : LossClassifier, LossRegressor, LossRanker, LossEmbedder or \
MultiLabelLossClassifier, default=None
        Template whose other parameters (epochs, network, ...) every loss
        shares; its ``loss`` and ``loss__*`` parameters are left out, as each
        candidate sets its own (a warning says so when they are set).
        ``None``: the task's estimator with its defaults.
    random_state : int, default=0
        Seeds the folds, every network and the gradient boosting.
    n_jobs : int, default=None
        Fits run side by side (``None``: one at a time; ``-1``: one per core).
        With ``backend="dask"`` and no scheduler, the number of workers of the
        local cluster (``None``: 2; ``-1``: one per core).
    backend : {"loky", "dask"}, default="loky"
        ``"loky"``: worker processes on this machine. ``"dask"``: joblib's Dask
        backend on a ``dask.distributed`` cluster: the current client, else the
        one at ``scheduler``, else a ``LocalCluster`` started (and closed) here
        with one thread per worker. Remote workers need this package installed.
    scheduler : None or str, default=None
        Address of a Dask scheduler, e.g. ``"tcp://host:8786"``.
    progress : bool, default=False
        A progress bar over candidates x folds on stderr.
    out : None, str or Path, default=None
        Folder to write ``results.csv``, ``results.json`` (rows, every grid
        point and the run's metadata) and ``results.png`` (the first metric per
        candidate with error bars; for a binary target also the
        precision-recall curves of the best three from out-of-fold
        predictions). The folder is created, and checked to be writable,
        before the first fit.
    data_name : None or str, default=None
        A name for the data, kept in the metadata.
    qid : None, array-like of shape (n_samples,) or str, default=None
        The query id of each row, which makes the comparison a ranking one:
        an array, or the name of a column of the DataFrame ``X`` (taken out of
        the features). Every ranker gets it in ``fit`` and ``predict``, the
        folds keep queries whole, and the metrics average over queries.
    distill : bool, default=False
        Binary and multiclass targets (refused for the others): add the
        student of the gradient-boosting reference, a
        :class:`~sklearn_losses.DistilledClassifier` (loss ``kd`` on a binary
        target, ``pld`` on more classes; the shared estimator's network)
        whose unfitted teacher is fitted inside each training fold (fold-safe),
        as a row of ``kind`` ``"student"``. Compare its ``predict_time`` with
        the ``HistGradientBoosting`` row's: the student exists to predict
        faster.
    tune_threshold : bool, default=False
        Binary targets (refused for the others): wrap every candidate, the
        losses, the references and a student alike, in scikit-learn's
        ``TunedThresholdClassifierCV`` fitted inside each training fold: the
        whole pipeline (preprocessing included) is cross-validated on
        :data:`THRESHOLD_CV` stratified inner folds of the training fold
        (shuffled, seeded by ``random_state``), the decision threshold that
        maximises the first metric over those inner folds is kept, and the
        pipeline is refitted on the whole training fold (``refit=True``). The
        test fold is never seen. Only metrics of labels (F1, balanced
        accuracy, precision, ...) change; those of scores (PR-AUC, ROC-AUC,
        log-loss) are computed from the same refitted model's scores as
        without tuning. When the first metric scores probabilities (a
        threshold does not change it), the threshold is tuned for F1 of the
        positive class; the metadata's ``threshold`` entry says for which
        metric it was tuned. ``fit_time`` then counts the inner fits too
        (about ``THRESHOLD_CV + 1`` fits).

    Returns
    -------
    pandas.DataFrame
        One row per candidate, best first by the first metric: ``loss`` (the
        spec or the reference model's name), ``kind`` (``"loss"`` or
        ``"reference"``, or ``"student"`` with ``distill``), ``<metric>_mean``
        and ``<metric>_std`` (over folds) for each metric, ``fit_time`` (mean
        seconds per fit; each worker process first runs an untimed warm-up fit,
        so that torch's one-time start-up is charged to no candidate),
        ``predict_time`` (mean seconds to predict a test fold, preprocessing
        included), ``best_params``
        (the grid point kept, a dict), ``grid_size`` and ``error`` (``None``, or
        why a candidate failed: its scores are then NaN). ``attrs["metadata"]``
        describes the run (``task``, ``scoring``, ``lower_is_better``, ...) and
        ``attrs["grid"]`` holds every grid point's row.

    Raises
    ------
    ValueError
        For an unknown task, loss or parameter (with suggestions), a target
        the task cannot use (empty, missing values, a single class, string
        labels for regression, more than two classes for binary, a continuous
        target for classification, a negative relevance), a ``pos_label`` not
        in the target or for a task that is not binary, ``qid`` with a task
        that is not ranking (or ranking without it), a ``qid`` column that is
        not in ``X``, a class (or queries) fewer than folds, an unknown metric
        or one of the other kind of target, several target columns with a
        task that is not multi-label, a multi-label target with one column or
        a column that is not 0/1 (or boolean) or holds one value, ``distill``
        for a task that is not binary or multiclass, or an ``out`` folder
        that cannot be written.
    TypeError
        For an ``estimator`` that is not the task's estimator class.

    Examples
    --------
    >>> from sklearn_losses import LossClassifier
    >>> from sklearn_losses.compare import compare_losses
    >>> from sklearn_losses.datasets import load_imbalanced_breast_cancer
    >>> X, y = load_imbalanced_breast_cancer(return_X_y=True)
    >>> table = compare_losses(X, y, ["cross_entropy", "focal:gamma=1,2"], cv=2,
    ...                        estimator=LossClassifier(max_epochs=5))
    >>> table.columns[:4].tolist()
    ['loss', 'kind', 'f1_mean', 'f1_std']
    >>> sorted(table["loss"])[2:]
    ['cross_entropy', 'focal:gamma=1,2']
    >>> int(table.set_index("loss").loc["focal:gamma=1,2", "grid_size"])
    2
    """
    table, oof, y_prepared = run_comparison(
        X,
        y,
        losses,
        task=task,
        grid=grid,
        scoring=scoring,
        pos_label=pos_label,
        cv=cv,
        reference=reference,
        estimator=estimator,
        random_state=random_state,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        progress=progress,
        out=out,
        data_name=data_name,
        qid=qid,
        distill=distill,
        tune_threshold=tune_threshold,
    )
    if out is not None:
        _report.write_outputs(table, oof, y_prepared, out)
    return table


def run_comparison(
    X,
    y,
    losses,
    *,
    task="auto",
    grid,
    scoring,
    pos_label,
    cv,
    reference,
    estimator,
    random_state,
    n_jobs,
    backend,
    scheduler,
    progress,
    out,
    data_name,
    out_name="out",
    qid=None,
    distill=False,
    tune_threshold=False,
):
    """:func:`compare_losses` without writing ``out`` (it is checked, before any
    fit; errors call it ``out_name``): ``(table, out-of-fold predictions per
    label, prepared target)``, for the command line to print the leaderboard
    before it writes the files."""
    start = time.perf_counter()
    if task not in TASK_CHOICES:
        raise ValueError(
            f"task must be one of {', '.join(TASK_CHOICES)}; got {task!r}."
        )
    _run.check_backend(backend, scheduler)
    pd = require("pandas")
    if out is not None:
        require("matplotlib")  # before any fit, not after
    X, qid = _split_qid(X, qid)
    X, numeric, categorical = prepare_features(X)
    requested = task
    task, y, positive = resolve_task(y, task, pos_label, qid=qid)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
    if qid is not None:
        qid = check_qid(qid, len(y))
    metrics = task.metrics(scoring)
    folds = task.folds(cv, y, random_state, qid=qid)
    splits = task.splits(folds, y, qid)

    estimator_class = task.estimator_class
    shared = template(estimator, estimator_class)
    grids = resolve_grids(grid, estimator_class)
    if losses is None:
        specs = [(label, params, {}) for label, params in task.candidates().items()]
    else:
        specs = [parse_candidate(spec, estimator_class) for spec in losses]
    n_train = min(len(train) for train, _ in splits)
    preprocessor = task.preprocessor(numeric, categorical, n_train)
    references = (
        task.references(random_state, estimator=shared, n_features=X.shape[1])
        if reference
        else {}
    )
    students = task.students(random_state, shared) if distill else {}
    if distill and not students:
        raise ValueError(
            f"distill applies to binary and multiclass targets (a student of the "
            f"gradient-boosting reference); this one is compared as {task.name}."
        )
    if tune_threshold and not task.tunes_threshold:
        raise ValueError(
            "tune_threshold (--tune-threshold) applies to a binary target: "
            "scikit-learn's TunedThresholdClassifierCV tunes the one decision "
            f"threshold of a positive class; this target is compared as {task.name}."
        )
    tuning, threshold = (
        _threshold_tuning(metrics, random_state) if tune_threshold else (None, None)
    )
    labels = [label for label, _, _ in specs] + list(references) + list(students)
    duplicated = sorted({lab for lab in labels if labels.count(lab) > 1})
    if duplicated:
        raise ValueError(f"Candidates with the same label: {', '.join(duplicated)}.")
    candidates = []  # (label, kind, [(params, estimator)], grid keys)
    for label, params, spec_grid in specs:
        combos, keys = combinations(params, spec_grid, grids)
        for combo in combos:
            check_combination(shared, combo, task.name)
        _check_ranking(metrics[0], label, combos)
        points = [
            (
                combo,
                _pipeline(
                    preprocessor, shared, combo, random_state, task.tail(), tuning
                ),
            )
            for combo in combos
        ]
        candidates.append((label, "loss", points, keys))
    for label, model in references.items():
        pipe = _pipeline(preprocessor, model, None, random_state, task.tail(), tuning)
        candidates.append((label, "reference", [({}, pipe)], []))
    for label, model in students.items():
        pipe = _pipeline(preprocessor, model, {}, random_state, task.tail(), tuning)
        candidates.append((label, "student", [({}, pipe)], []))

    if out is not None:
        # The last check before the fits: it creates the folder, so a bad
        # argument found earlier leaves nothing behind.
        _report.check_out(out, out_name)
    jobs = []
    for c, (_, kind, points, _) in enumerate(candidates):
        for p, (params, est) in enumerate(points):
            scorers = {m.name: (m.scorer_for(params), m.sign) for m in metrics}
            device = _network(est).device if kind != "reference" else None
            jobs += [
                ((c, p, f), clone(est), train, test, scorers, task.predictions, device)
                for f, (train, test) in enumerate(splits)
            ]
    n_points = sum(len(points) for _, _, points, _ in candidates)
    results = _run.fit_all(
        jobs,
        X,
        y,
        backend=backend,
        n_jobs=n_jobs,
        scheduler=scheduler,
        description=f"{n_points} settings x {len(splits)} folds",
        progress=progress,
        metadata=None if qid is None else {"qid": qid},
    )

    rows, grid_rows, oof = _report.summarise(
        candidates, splits, results, metrics, len(y)
    )
    table = pd.DataFrame(rows)
    metadata = {
        "data": data_name,
        "n_rows": int(len(y)),
        "n_features": int(X.shape[1]),
        "n_numeric": len(numeric),
        "n_categorical": len(categorical),
        "task": task.name,
        "task_requested": requested,
        "pos_label": positive,
        "prevalence": float(np.mean(y)) if task.name == "binary" else None,
        "n_labels": int(y.shape[1]) if np.ndim(y) == 2 else None,
        "n_queries": None if qid is None else int(len(np.unique(qid))),
        "cv": cv if isinstance(cv, int) else repr(cv),
        "n_folds": len(splits),
        "scoring": [m.name for m in metrics],
        "lower_is_better": [m.name for m in metrics if m.lower_is_better],
        "grid": grid if grid is None or isinstance(grid, str) else _report.plain(grid),
        "distill": bool(distill),
        "threshold": threshold,
        "n_candidates": len(candidates),
        "n_grid_points": n_points,
        "n_fits": len(jobs),
        "estimator": {**_report.plain_params(shared), "random_state": random_state},
        "random_state": random_state,
        "backend": backend,
        "n_jobs": n_jobs,
        "scheduler": scheduler,
        "wall_time_s": time.perf_counter() - start,
        "versions": _report.versions(),
    }
    table.attrs["metadata"] = metadata
    table.attrs["grid"] = grid_rows
    return table, oof, y


def _split_qid(X, qid):
    """``(X, qid)``: a ``qid`` naming a column of the DataFrame ``X`` is that
    column, taken out of the features."""
    if not isinstance(qid, str):
        return X, qid
    columns = [str(c) for c in getattr(X, "columns", [])]
    if qid not in columns:
        close = difflib.get_close_matches(qid, columns, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        where = "X's columns" if columns else "X (not a DataFrame)"
        raise ValueError(
            f"qid {qid!r} is not a column of {where}.{hint} Pass the query ids "
            "as an array, or the name of the DataFrame column that holds them."
        )
    column = X.columns[columns.index(qid)]
    if X.shape[1] == 1:
        raise ValueError(f"X has no feature column besides the query ids {qid!r}.")
    return X.drop(columns=column), X[column].to_numpy()


def _check_ranking(metric, label, combos):
    """Refuse to pick a grid's best point with a metric whose definition
    changes across the grid (``pinball`` at each candidate's own level)."""
    if not isinstance(metric, PinballMetric) or metric.alpha is not None:
        return
    levels = sorted({candidate_quantile(combo) for combo in combos})
    if len(levels) > 1:
        raise ValueError(
            f"{label!r} has a grid over the quantile level ({levels}) and "
            f"{metric.name!r} ranks: it would pick the level with the smallest "
            "loss, not the best model. Give each level as a candidate of its own "
            "(quantile:alpha=0.1 quantile:alpha=0.9), or rank by a fixed level "
            "(pinball_0.9)."
        )


def _pipeline(preprocessor, model, params, random_state, tail=(), tuning=None):
    """The preprocessing, ``model`` and the task's ``tail`` steps; a loss
    candidate (``params`` not ``None``) gets its parameters and
    ``random_state``. With ``tuning`` (the parameters of
    ``TunedThresholdClassifierCV``, see :func:`_threshold_tuning`) the whole
    pipeline is wrapped in it, so that the threshold is tuned on the training
    rows the pipeline is fitted on."""
    from sklearn.pipeline import make_pipeline

    if model != "passthrough":
        model = clone(model)
    if params is not None:
        model.set_params(random_state=random_state, **params)
    pipe = make_pipeline(clone(preprocessor), model, *(clone(t) for t in tail))
    if tuning is None:
        return pipe
    from sklearn.model_selection import TunedThresholdClassifierCV

    return TunedThresholdClassifierCV(pipe, **tuning)


def _network(estimator):
    """The candidate's model step (the network) of a pipeline from
    :func:`_pipeline`, threshold-tuned or not."""
    return getattr(estimator, "estimator", estimator)[1]


def _threshold_tuning(metrics, random_state):
    """``(parameters of TunedThresholdClassifierCV, metadata)`` for
    ``tune_threshold``: the threshold maximises the first metric when it
    scores labels (a scikit-learn scorer of ``predict``), else F1 of the
    positive class (a metric of scores or probabilities does not depend on
    the threshold); :data:`THRESHOLD_CV` shuffled stratified inner folds
    seeded by ``random_state``; refitted on the whole training fold.

    Examples
    --------
    >>> from sklearn_losses.compare._core import _threshold_tuning
    >>> from sklearn_losses.compare._tasks import get_task
    >>> metrics = get_task("binary").metrics(["average_precision", "f1"])
    >>> _threshold_tuning(metrics, 0)[1]["scoring"]
    'f1'
    """
    from sklearn.model_selection import StratifiedKFold

    first = metrics[0]
    labels = getattr(first.scorer, "_response_method", None) == "predict"
    scorer, name = (first.scorer, first.name) if labels else ("f1", "f1")
    inner = StratifiedKFold(THRESHOLD_CV, shuffle=True, random_state=random_state)
    tuning = {
        "scoring": scorer,
        "cv": inner,
        "refit": True,
        "random_state": random_state,
    }
    metadata = {
        "scoring": name,
        "first_metric": first.name,
        "inner_folds": THRESHOLD_CV,
        "refit": True,
    }
    return tuning, metadata
