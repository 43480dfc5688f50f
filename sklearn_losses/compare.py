"""Cross-validated comparison of losses on one table (the package's main job).

:func:`compare_losses` scores every loss of a list, each over a small grid of
its own parameters, and two reference models on the same stratified folds, and
returns a leaderboard as a pandas DataFrame (pandas, matplotlib and, for a Dask
cluster, ``dask[distributed]`` come with ``pip install "sklearn-losses[compare]"``).
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.metrics import average_precision_score, get_scorer, make_scorer

from ._tables import binary_target, make_preprocessor, prepare_features, require
from .estimators import LossClassifier
from .losses import check_loss_task, get_loss, get_loss_class, list_losses

__all__ = [
    "DEFAULT_GRIDS",
    "DEFAULT_SCORING",
    "compare_losses",
    "default_candidates",
    "format_table",
]

#: The small grid each loss is searched over unless told otherwise:
#: ``{loss: {parameter: values}}``. Losses not listed run with their defaults.
DEFAULT_GRIDS = {
    "focal": {"gamma": [1.0, 2.0]},
    "anyloss": {"metric": ["f1", "gmean"]},
    "ldr_kl": {"lam": [1.0, 10.0]},
    "aldr_kl": {"lam0": [1.0, 10.0]},
    "comp_sum": {"tau": [0.5, 1.5]},
    "gce": {"q": [0.3, 0.7]},
}

#: The parameter a bare value sets in a loss spec: ``"anyloss:f1"`` is
#: ``"anyloss:metric=f1"``, ``"focal:1,2"`` is ``"focal:gamma=1,2"``.
KEY_PARAMETERS = {
    "adv_comp_sum": "tau",
    "aldr_kl": "lam0",
    "anyloss": "metric",
    "comp_sum": "tau",
    "cross_entropy": "label_smoothing",
    "ensloss": "boxcox_lambda",
    "focal": "gamma",
    "gce": "q",
    "generalized_focal": "gamma",
    "ldr_kl": "lam",
    "zloss": "a",
}

#: Default metrics: F1 of the positive class, balanced accuracy, PR-AUC
#: (average precision of the positive class).
DEFAULT_SCORING = ("f1", "balanced_accuracy", "average_precision")

_SCORING_ALIASES = {"minority_f1": "f1", "pr_auc": "average_precision"}
_MACRO = {"f1", "precision", "recall", "jaccard"}
_DISPLAY = {
    "f1": "F1",
    "minority_f1": "minority F1",
    "balanced_accuracy": "balanced accuracy",
    "average_precision": "PR-AUC",
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
}
_REFERENCES = ("LogisticRegression(balanced)", "HistGradientBoosting")
_OUTPUT_FILES = ("results.csv", "results.json", "results.png")


def default_candidates(task="binary"):
    """One candidate per registered loss for ``task``, plus class-weighted CE.

    Left out (ask for them by name): losses that need a per-sample input of their
    own in ``fit`` (the generalized focal loss's ``likelihood``) and losses that
    re-run the network on perturbed inputs (``adv_comp_sum``, ~10x the cost).

    Returns
    -------
    dict
        ``{label: LossClassifier parameters}``; each label is a loss spec that
        :func:`compare_losses` accepts.

    Examples
    --------
    >>> from sklearn_losses.compare import default_candidates
    >>> default_candidates()["cross_entropy:class_weight=balanced"]
    {'loss': 'cross_entropy', 'class_weight': 'balanced'}
    """
    usable = [
        name
        for name in list_losses(task)
        if set(get_loss_class(name).requires) <= {"index", "epoch"}
    ]
    candidates = {name: {"loss": name} for name in usable}
    candidates["cross_entropy:class_weight=balanced"] = {
        "loss": "cross_entropy",
        "class_weight": "balanced",
    }
    return candidates


# -- candidates ---------------------------------------------------------------
def _estimator_params():
    return set(LossClassifier().get_params()) - {"loss"}


def _param_key(cls, key, spec):
    """The ``LossClassifier`` parameter a spec's ``key`` names."""
    loss_params = cls._param_names()
    if key in loss_params:
        return f"loss__{key}"
    if key in _estimator_params():
        return key
    close = difflib.get_close_matches(key, [*loss_params, *_estimator_params()], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"{key!r} in {spec!r} is neither a parameter of the {cls.name!r} loss "
        f"({', '.join(loss_params)}) nor of LossClassifier.{hint}"
    )


def _parse_candidate(spec):
    """A loss spec -> ``(label, fixed parameters, grid)``.

    ``"focal"``, ``"focal:gamma=1"``, ``"focal:gamma=1,2"`` (a grid),
    ``"anyloss:f1"`` (a bare value sets the loss's key parameter),
    ``"cross_entropy:class_weight=balanced"`` (an estimator parameter), or a
    dict of ``LossClassifier`` parameters with an optional ``"label"``.
    """
    if isinstance(spec, dict):
        params = {k: v for k, v in spec.items() if k != "label"}
        params.setdefault("loss", "cross_entropy")
        label = spec.get("label") or str(params["loss"])
        return label, params, {}
    if not isinstance(spec, str):
        raise TypeError(
            f"A loss spec is a string such as 'focal:gamma=1' or a dict of "
            f"LossClassifier parameters; got {type(spec).__name__}."
        )
    name, _, args = spec.partition(":")
    cls = get_loss_class(name.strip())  # refuses an unknown name, with suggestions
    values, key = {}, None
    for item in (part.strip() for part in args.split(",")):
        if not item:
            continue
        head, eq, value = item.partition("=")
        if eq:
            key = _param_key(cls, head.strip(), spec)
            if key in values:
                raise ValueError(f"{head.strip()!r} is given twice in {spec!r}.")
            values[key] = [_literal(value.strip())]
        elif key is not None:
            values[key].append(_literal(item))
        else:
            bare = KEY_PARAMETERS.get(cls.name)
            if bare is None or item in cls._param_names():
                raise ValueError(
                    f"Loss option {item!r} in {spec!r} must look like key=value."
                )
            key = f"loss__{bare}"
            values[key] = [_literal(item)]
    fixed = {k: v[0] for k, v in values.items() if len(v) == 1}
    grid = {k: v for k, v in values.items() if len(v) > 1}
    return spec, {"loss": cls.name, **fixed}, grid


def _literal(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def _grids(grid):
    if grid is None or (isinstance(grid, str) and grid.lower() == "none"):
        return {}
    if isinstance(grid, str) and grid.lower() == "default":
        return DEFAULT_GRIDS
    if isinstance(grid, dict):
        grids = dict(DEFAULT_GRIDS)
        for name, params in grid.items():
            cls = get_loss_class(name)
            for key in params or {}:
                _param_key(cls, key, f"grid[{name!r}]")
            grids[cls.name] = dict(params or {})
        return grids
    raise ValueError(
        "grid must be 'default', None (or 'none') or a dict {loss: {param: values}}; "
        f"got {grid!r}."
    )


def _combinations(params, spec_grid, grids):
    """Every parameter set of one candidate: its fixed parameters times its grid."""
    loss = params["loss"]
    grid = {}
    if isinstance(loss, str):
        for key, values in grids.get(get_loss_class(loss).name, {}).items():
            if isinstance(values, str) or not hasattr(values, "__iter__"):
                values = [values]
            grid[f"loss__{key}"] = list(values)
    grid = {k: v for k, v in grid.items() if k not in params}
    grid.update(spec_grid)
    keys = list(grid)
    combos = [
        {**params, **dict(zip(keys, values))}
        for values in itertools.product(*grid.values())
    ]
    return combos, keys


def _check_combination(template, params, task):
    """Refuse a bad parameter before any fit (names, values the loss checks)."""
    loss = params["loss"]
    loss_params = {k[6:]: v for k, v in params.items() if k.startswith("loss__")}
    get_loss(loss, **loss_params)
    check_loss_task(loss, task)
    clone(template).set_params(**params)


def _references(random_state):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    return {
        _REFERENCES[0]: LogisticRegression(class_weight="balanced", max_iter=1000),
        _REFERENCES[1]: HistGradientBoostingClassifier(random_state=random_state),
    }


# -- scoring --------------------------------------------------------------------
def _scorers(scoring, multiclass):
    if scoring is None:
        scoring = DEFAULT_SCORING
    if isinstance(scoring, str):
        scoring = [scoring]
    if isinstance(scoring, dict):
        return dict(scoring)
    scoring = list(scoring)
    if not scoring:
        raise ValueError("scoring needs at least one metric.")
    if len(set(scoring)) != len(scoring):
        raise ValueError(f"A metric is given twice in scoring: {scoring}.")
    scorers = {}
    for name in scoring:
        base = _SCORING_ALIASES.get(name, name)
        if multiclass and base == "average_precision":
            scorers[name] = make_scorer(
                average_precision_score,
                response_method="predict_proba",
                average="macro",
            )
            continue
        if multiclass and base in _MACRO:
            base = f"{base}_macro"
        elif multiclass and base == "roc_auc":
            base = "roc_auc_ovr"
        try:
            scorers[name] = get_scorer(base)
        except ValueError:
            from sklearn.metrics import get_scorer_names

            close = difflib.get_close_matches(name, get_scorer_names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"Unknown metric {name!r}.{hint} Use a scikit-learn scorer name, "
                "e.g. f1, average_precision, balanced_accuracy, roc_auc "
                "(sklearn.metrics.get_scorer_names() lists them)."
            ) from None
    return scorers


# -- one fit ----------------------------------------------------------------------
#: Devices on which this process has run its warm-up fit (see ``_warm_up``).
_WARMED_UP = set()


def _warm_up(estimator):
    """Fit a tiny network once per process and device before the first timed fit.

    The first fit of a process pays for torch's one-time start-up (about a
    second on a CPU, more for a GPU's first call); without this warm-up the
    first candidate each worker runs would be charged for it. A warm-up that
    fails is ignored: the timed fit then reports the error.
    """
    model = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if not isinstance(model, LossClassifier) or model.device in _WARMED_UP:
        return
    _WARMED_UP.add(model.device)
    X = np.random.RandomState(0).normal(size=(64, 3))
    y = np.r_[np.zeros(48, dtype=np.int64), np.ones(16, dtype=np.int64)]
    tiny = LossClassifier(
        hidden_layer_sizes=(4,), max_epochs=2, device=model.device, random_state=0
    )
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        tiny.fit(X, y)


def _fit_and_score(key, estimator, X, y, train, test, scorers):
    """Fit on one training fold and score on its test fold, on one thread.

    One torch thread, one BLAS/OpenMP thread and no nested joblib parallelism per
    fit, restored afterwards: the fits run side by side (``n_jobs``) without
    oversubscribing the cores, and a fit gives the same numbers whichever
    backend or worker runs it. The fit time leaves out the process's one-time
    warm-up (:func:`_warm_up`).
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        # Nested joblib calls (e.g. a ColumnTransformer's) run in this task, not
        # as tasks of their own on the outer backend.
        with threadpool_limits(limits=1), parallel_config(backend="sequential"):
            _warm_up(estimator)
            start = time.perf_counter()
            X_train, X_test = X.iloc[train], X.iloc[test]
            estimator.fit(X_train, y[train])
            fit_time = time.perf_counter() - start
            scores = {
                name: float(scorer(estimator, X_test, y[test]))
                for name, scorer in scorers.items()
            }
            proba = estimator.predict_proba(X_test)
    except Exception as exc:  # one failed fit is reported; the others go on
        return {
            "key": key,
            "error": f"{type(exc).__name__}: {exc}",
            "fit_time": time.perf_counter() - start,
        }
    finally:
        torch.set_num_threads(threads)
    if proba.shape[1] == 2:
        proba = proba[:, 1]
    return {"key": key, "scores": scores, "fit_time": fit_time, "proba": proba}


@contextlib.contextmanager
def _backend(backend, n_jobs, scheduler, scatter):
    """Yield the ``n_jobs`` to give ``Parallel`` under the chosen backend; with
    Dask, the ``scatter`` objects are sent to the workers once, not per fit."""
    if backend == "loky":
        with parallel_config(backend="loky"):
            yield n_jobs
        return
    distributed = require("distributed")
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = distributed.Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ValueError(
                    f"Cannot reach the Dask scheduler at {scheduler!r}: {exc}"
                ) from exc
            stack.enter_context(client)
        else:
            try:
                distributed.get_client()  # the caller's client, if there is one
            except ValueError:
                workers = _local_workers(n_jobs)
                cluster = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                stack.enter_context(cluster)
                stack.enter_context(distributed.Client(cluster))
        stack.enter_context(parallel_config(backend="dask", scatter=scatter))
        yield -1


def _local_workers(n_jobs):
    """Workers of a local Dask cluster: ``n_jobs``, counted as joblib does
    (``-1``: one per core), 2 for ``None``."""
    if n_jobs is None:
        return 2
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a count.")
    return n_jobs


def _progress(total, description, enabled):
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=description,
        unit="fit",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
    )


# -- the comparison ---------------------------------------------------------------
def compare_losses(
    X,
    y,
    losses=None,
    *,
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
):
    """Cross-validate losses and two reference models on the same folds.

    Every candidate runs in a pipeline whose preprocessing is fitted inside each
    training fold: numeric columns are median-imputed and standardised,
    categorical ones (strings, categories, booleans) most-frequent-imputed and
    one-hot encoded. A binary target is encoded with 1 for the positive class
    (``pos_label``, by default the minority class), which is the class the
    metrics score and the class-1 output of the networks.

    Each loss runs over a small grid of its own parameters (:data:`DEFAULT_GRIDS`,
    e.g. focal ``gamma`` in {1, 2}); every grid point is cross-validated and the
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
    y : array-like of shape (n_samples,)
        Class labels (binary or multiclass).
    losses : None or list, default=None
        Loss specs: ``"focal"``; with parameters ``"focal:gamma=1,alpha=0.25"``;
        a grid ``"focal:gamma=0.5,1,2"`` (values after a ``key=`` continue its
        list); a bare value for the loss's key parameter ``"anyloss:f1"``
        (``metric=f1``) or ``"focal:1,2"``; an estimator parameter
        ``"cross_entropy:class_weight=balanced"``; or a dict of
        :class:`~sklearn_losses.LossClassifier` parameters with an optional
        ``"label"``. A spec's own values replace the default grid of that
        parameter. ``None``: :func:`default_candidates` for the task.
    grid : "default", None or dict, default="default"
        Per-loss grids: :data:`DEFAULT_GRIDS`; ``None`` for none; or a dict
        ``{loss: {param: values}}`` that replaces the default of those losses
        (``{}`` for a loss runs it without a grid).
    scoring : None, str, list of str or dict, default=None
        scikit-learn scorer names (``"f1"``, ``"average_precision"``,
        ``"balanced_accuracy"``, ``"roc_auc"``, ...) or ``{name: scorer}``. The
        first one ranks the leaderboard and picks each grid's best point.
        ``None``: :data:`DEFAULT_SCORING`. On a multiclass target ``f1``,
        ``precision``, ``recall``, ``jaccard`` and ``average_precision`` are
        macro averages and ``roc_auc`` is one-vs-rest.
    pos_label : None or label, default=None
        Positive class of a binary target; ``None``: the minority class.
    cv : int or cross-validation splitter, default=5
        Number of stratified, shuffled folds (seeded by ``random_state``), or a
        splitter.
    reference : bool, default=True
        Add ``LogisticRegression(class_weight="balanced")`` and
        ``HistGradientBoostingClassifier`` to the leaderboard, to show whether a
        neural loss earns its keep on this table.
    estimator : LossClassifier, default=None
        Template whose other parameters (epochs, network, ...) every loss
        shares; its ``loss`` and ``loss__*`` parameters are left out, as each
        candidate sets its own (a warning says so when they are set).
        ``None``: ``LossClassifier()``.
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
        candidate with error bars; the precision-recall curves of the best three
        from out-of-fold predictions, for a binary target). The folder is
        created, and checked to be writable, before the first fit.
    data_name : None or str, default=None
        A name for the data, kept in the metadata.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, best first by the first metric: ``loss`` (the
        spec or the reference model's name), ``kind`` (``"loss"`` or
        ``"reference"``), ``<metric>_mean`` and ``<metric>_std`` (over folds)
        for each metric, ``fit_time`` (mean seconds per fit; each worker process
        first runs an untimed warm-up fit, so that torch's one-time start-up is
        charged to no candidate), ``best_params``
        (the grid point kept, a dict), ``grid_size`` and ``error`` (``None``, or
        why a candidate failed: its scores are then NaN). ``attrs["metadata"]``
        describes the run and ``attrs["grid"]`` holds every grid point's row.

    Raises
    ------
    ValueError
        For an unknown loss or parameter (with suggestions), an empty target
        or one with missing values, a target that looks continuous, a
        single-class target, a positive class not in the target, a class with
        fewer rows than folds, an unknown metric, or an ``out`` folder that
        cannot be written.
    TypeError
        For an ``estimator`` that is not a :class:`~sklearn_losses.LossClassifier`.

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
    table, oof, y_encoded = _run(
        X,
        y,
        losses,
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
    )
    if out is not None:
        _write_outputs(table, oof, y_encoded, Path(out))
    return table


def _run(
    X,
    y,
    losses,
    *,
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
):
    """:func:`compare_losses` without writing ``out`` (it is checked, before any
    fit; errors call it ``out_name``): ``(table, out-of-fold probabilities per
    label, encoded target)``, for the command line to print the leaderboard
    before it writes the files."""
    start = time.perf_counter()
    if backend not in ("loky", "dask"):
        raise ValueError(f"backend must be 'loky' or 'dask'; got {backend!r}.")
    if scheduler is not None and backend != "dask":
        raise ValueError("A scheduler address needs backend='dask' (--backend dask).")
    pd = require("pandas")
    if out is not None:
        require("matplotlib")  # before any fit, not after
    if backend == "dask":
        require("distributed")
    X, numeric, categorical = prepare_features(X)
    y, positive = binary_target(y, pos_label)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
    multiclass = positive is None
    task = "multiclass" if multiclass else "binary"
    scorers = _scorers(scoring, multiclass)
    metrics = list(scorers)
    folds = _folds(cv, y, random_state)

    template = _template(estimator)
    grids = _grids(grid)
    if losses is None:
        specs = [
            (label, params, {}) for label, params in default_candidates(task).items()
        ]
    else:
        specs = [_parse_candidate(spec) for spec in losses]
    labels = [label for label, _, _ in specs]
    if reference:
        labels += list(_REFERENCES)
    duplicated = sorted({lab for lab in labels if labels.count(lab) > 1})
    if duplicated:
        raise ValueError(f"Candidates with the same label: {', '.join(duplicated)}.")

    preprocessor = make_preprocessor(numeric, categorical)
    candidates = []  # (label, kind, [(params, estimator)], grid keys)
    for label, params, spec_grid in specs:
        combos, keys = _combinations(params, spec_grid, grids)
        for combo in combos:
            _check_combination(template, combo, task)
        points = [
            (combo, _pipeline(preprocessor, template, combo, random_state))
            for combo in combos
        ]
        candidates.append((label, "loss", points, keys))
    if reference:
        for label, model in _references(random_state).items():
            pipe = _pipeline(preprocessor, model, {}, random_state)
            candidates.append((label, "reference", [({}, pipe)], []))

    if out is not None:
        # The last check before the fits: it creates the folder, so a bad
        # argument found earlier leaves nothing behind.
        _check_out(out, out_name)
    splits = list(folds.split(np.zeros((len(y), 1)), y))
    jobs = [
        delayed(_fit_and_score)((c, p, f), clone(est), X, y, train, test, scorers)
        for c, (_, _, points, _) in enumerate(candidates)
        for p, (_, est) in enumerate(points)
        for f, (train, test) in enumerate(splits)
    ]
    n_points = sum(len(points) for _, _, points, _ in candidates)
    results = {}
    description = f"{n_points} settings x {len(splits)} folds"
    with (
        _backend(backend, n_jobs, scheduler, [X, y]) as parallel_jobs,
        _progress(len(jobs), description, progress) as bar,
    ):
        parallel = Parallel(
            n_jobs=parallel_jobs, return_as="generator_unordered", batch_size=1
        )
        for result in parallel(jobs):
            results[result["key"]] = result
            bar.update()

    rows, grid_rows, oof = _summarise(candidates, splits, results, metrics, len(y))
    table = pd.DataFrame(rows)
    metadata = {
        "data": data_name,
        "n_rows": int(len(y)),
        "n_features": int(X.shape[1]),
        "n_numeric": len(numeric),
        "n_categorical": len(categorical),
        "task": task,
        "pos_label": positive,
        "prevalence": None if multiclass else float(np.mean(y)),
        "cv": cv if isinstance(cv, int) else repr(cv),
        "n_folds": len(splits),
        "scoring": metrics,
        "grid": grid if grid is None or isinstance(grid, str) else _plain(grid),
        "n_candidates": len(candidates),
        "n_grid_points": n_points,
        "n_fits": len(jobs),
        "estimator": {**_plain_params(template), "random_state": random_state},
        "random_state": random_state,
        "backend": backend,
        "n_jobs": n_jobs,
        "scheduler": scheduler,
        "wall_time_s": time.perf_counter() - start,
        "versions": _versions(),
    }
    table.attrs["metadata"] = metadata
    table.attrs["grid"] = grid_rows
    return table, oof, y


def _check_out(out, name="out"):
    """Create the folder ``out`` and check that the result files can be written
    there, before any fit; a ``ValueError`` naming ``name`` if not."""
    path = Path(out)
    where = f"{name} {str(path)!r}"
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"{where} is a file; it must be a folder (results.csv, results.json "
            "and results.png are written into it)."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ValueError(
            f"Cannot write the results to {where}: {exc.strerror or exc}."
        ) from exc
    for file in _OUTPUT_FILES:
        target = path / file
        if target.is_dir() or (target.exists() and not os.access(target, os.W_OK)):
            kind = "a folder" if target.is_dir() else "not writable"
            raise ValueError(f"Cannot write {file} in {where}: it is {kind}.")
    return path


def _template(estimator):
    """The estimator the candidates share: ``estimator`` without its loss.

    Each candidate sets its own loss, so ``loss`` and ``loss__*`` of the
    template are left out (with a warning when they would have changed
    anything); its other parameters are shared.
    """
    if estimator is None:
        return LossClassifier()
    if not isinstance(estimator, LossClassifier):
        raise TypeError(
            "estimator must be a LossClassifier (the template of the networks); "
            f"got {type(estimator).__name__}."
        )
    params = estimator.get_params(deep=False)
    dropped = {k: v for k, v in params.items() if k == "loss" or k.startswith("loss__")}
    default = LossClassifier().get_params(deep=False)["loss"]
    if set(dropped) - {"loss"} or dropped.get("loss", default) != default:
        shown = ", ".join(f"{k}={v!r}" for k, v in dropped.items())
        warnings.warn(
            f"The estimator's {shown} is not shared: each candidate sets its own "
            "loss (ask for it in losses, e.g. 'focal:gamma=3').",
            UserWarning,
            stacklevel=4,
        )
    kept = {k: clone(v, safe=False) for k, v in params.items() if k not in dropped}
    return type(estimator)(**kept)


def _folds(cv, y, random_state):
    from sklearn.model_selection import StratifiedKFold

    if not isinstance(cv, (int, np.integer)):
        if not hasattr(cv, "split"):
            raise ValueError(f"cv must be an int or a splitter; got {cv!r}.")
        return cv
    if cv < 2:
        raise ValueError(f"cv must be at least 2; got {cv}.")
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < cv:
        rare = classes[np.argmin(counts)]
        raise ValueError(
            f"Class {rare.item() if hasattr(rare, 'item') else rare!r} has "
            f"{counts.min()} rows, fewer than the {cv} folds: lower cv."
        )
    return StratifiedKFold(int(cv), shuffle=True, random_state=random_state)


def _pipeline(preprocessor, model, params, random_state):
    from sklearn.pipeline import make_pipeline

    model = clone(model)
    if isinstance(model, LossClassifier):
        model.set_params(random_state=random_state, **params)
    return make_pipeline(clone(preprocessor), model)


def _shown_params(params, keys):
    return {(k[6:] if k.startswith("loss__") else k): params[k] for k in keys}


def _summarise(candidates, splits, results, metrics, n_rows):
    rows, grid_rows, oof = [], [], {}
    first = metrics[0]
    for c, (label, kind, points, keys) in enumerate(candidates):
        summaries = []
        for p, (params, _) in enumerate(points):
            folds = [results[(c, p, f)] for f in range(len(splits))]
            errors = [r["error"] for r in folds if "error" in r]
            row = {"loss": label, "kind": kind}
            for metric in metrics:
                values = [r["scores"][metric] for r in folds if "scores" in r]
                failed = errors or not values
                row[f"{metric}_mean"] = np.nan if failed else float(np.mean(values))
                row[f"{metric}_std"] = np.nan if failed else float(np.std(values))
            row["fit_time"] = float(np.mean([r["fit_time"] for r in folds]))
            row["best_params"] = _shown_params(params, keys)
            row["grid_size"] = len(points)
            row["error"] = errors[0] if errors else None
            if errors:
                warnings.warn(
                    f"{label} {_shown_params(params, keys) or ''}: {len(errors)} of "
                    f"{len(folds)} fits failed, its scores are NaN; first error: "
                    f"{errors[0]}",
                    UserWarning,
                    stacklevel=3,
                )
            grid_rows.append({k: v for k, v in row.items() if k != "grid_size"})
            summaries.append(row)
        scores = [r[f"{first}_mean"] for r in summaries]
        best = 0 if np.all(np.isnan(scores)) else int(np.nanargmax(scores))
        rows.append(summaries[best])
        if summaries[best]["error"] is None:
            folds = [results[(c, best, f)] for f in range(len(splits))]
            shape = (n_rows,) + folds[0]["proba"].shape[1:]
            proba = np.full(shape, np.nan)
            for (_, test), r in zip(splits, folds):
                proba[test] = r["proba"]
            oof[label] = proba
    # Best first by the first metric, ties broken by the next ones; failed
    # candidates (NaN) last. The sort is stable: full ties keep their order.
    rows.sort(
        key=lambda r: [np.nan_to_num(-r[f"{m}_mean"], nan=np.inf) for m in metrics]
    )
    return rows, grid_rows, oof


def _plain(value):
    """``value`` as JSON-able data, or its ``repr``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


def _plain_params(estimator):
    return {k: _plain(v) for k, v in estimator.get_params(deep=False).items()}


def _versions():
    import sklearn
    import torch

    from . import __version__

    return {
        "sklearn_losses": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": sys.version.split()[0],
    }


# -- outputs ----------------------------------------------------------------------
def _write_outputs(table, oof, y, out):
    """``results.csv``, ``results.json`` and ``results.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv = table.copy()
    csv["best_params"] = [json.dumps(_plain(p)) for p in csv["best_params"]]
    csv.to_csv(out / "results.csv", index=False)
    payload = {
        "metadata": table.attrs["metadata"],
        "leaderboard": table.to_dict(orient="records"),
        "grid": table.attrs["grid"],
    }
    with open(out / "results.json", "w") as f:
        json.dump(_nan_to_none(_plain(payload)), f, indent=1)
    _plot(table, oof, y, out / "results.png")


def _nan_to_none(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def _display(metric):
    return _DISPLAY.get(metric, metric)


def _plot(table, oof, y, path):
    """Left: the first metric per candidate (mean and std over folds). Right: the
    precision-recall curves of the best three, from out-of-fold predictions."""
    require("matplotlib")
    from matplotlib.figure import Figure
    from sklearn.metrics import precision_recall_curve

    metadata = table.attrs["metadata"]
    metric = metadata["scoring"][0]
    binary = metadata["task"] == "binary"
    height = max(4.0, 0.32 * len(table) + 1.5)
    fig = Figure(figsize=(13 if binary else 7, height), layout="constrained")
    axes = fig.subplots(1, 2 if binary else 1, squeeze=False)[0]
    ax = axes[0]
    positions = np.arange(len(table))
    colors = ["tab:gray" if k == "reference" else "tab:blue" for k in table["kind"]]
    ax.barh(
        positions,
        table[f"{metric}_mean"].fillna(0.0),
        xerr=table[f"{metric}_std"].fillna(0.0),
        color=colors,
        capsize=3,
    )
    ax.set_yticks(positions, table["loss"])
    ax.invert_yaxis()
    ax.set_xlabel(
        f"{_display(metric)} (mean ± std over {metadata['n_folds']} folds; "
        "grey: reference models)"
    )
    name = Path(str(metadata["data"] or "data")).name
    ax.set_title(f"{name}: {len(table)} candidates")
    if binary:
        ax = axes[1]
        best = [label for label in table["loss"] if label in oof][:3]
        for label in best:
            proba = oof[label]
            precision, recall, _ = precision_recall_curve(y, proba)
            ap = average_precision_score(y, proba)
            ax.plot(
                recall,
                precision,
                drawstyle="steps-post",
                label=f"{label} (pooled AP {ap:.3f})",
            )
        prevalence = float(np.mean(y))
        ax.axhline(prevalence, color="tab:gray", linestyle="--", label="no skill")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(f"recall (positive class: {metadata['pos_label']!r})")
        ax.set_ylabel("precision")
        ax.set_title("Precision-recall, best three (out-of-fold)")
        ax.legend(loc="lower left", fontsize="small")
    fig.savefig(path, dpi=110)


def format_table(rows):
    """Render a :func:`compare_losses` leaderboard as a markdown table.

    Parameters
    ----------
    rows : pandas.DataFrame or list of dict
        The leaderboard (any ``<metric>_mean`` / ``<metric>_std`` columns).

    Returns
    -------
    str
        One line per candidate: metrics as mean ± std, fit time (mean seconds
        per fit, after an untimed warm-up fit per worker process), best
        parameters.

    Examples
    --------
    >>> from sklearn_losses.compare import format_table
    >>> print(format_table([{"loss": "focal", "f1_mean": 0.5, "f1_std": 0.1,
    ...                      "fit_time": 1.0, "best_params": {"gamma": 1.0}}]))
    | loss | F1 | fit time (s) | best params |
    |:---|---:|---:|:---|
    | focal | 0.500 ± 0.100 | 1.00 | gamma=1.0 |
    """
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict(orient="records")
    rows = list(rows)
    if not rows:
        return "(no candidates)"
    metrics = [k[: -len("_mean")] for k in rows[0] if k.endswith("_mean")]
    failed = any(row.get("error") for row in rows)
    header = ["loss", *map(_display, metrics), "fit time (s)", "best params"]
    align = [":---", *["---:"] * (len(metrics) + 1), ":---"]
    if failed:
        header.append("error")
        align.append(":---")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in rows:
        cells = [str(row["loss"])]
        for metric in metrics:
            mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
            cells.append("failed" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        cells.append(f"{row['fit_time']:.2f}")
        params = row.get("best_params") or {}
        cells.append(", ".join(f"{k}={v}" for k, v in params.items()) or "—")
        if failed:
            cells.append(str(row.get("error") or ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
