"""Running ``compare``: one fit per grid point and fold, side by side on loky
processes or a Dask cluster, each on one thread, timed after a warm-up."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import sys
import time
import warnings

import numpy as np
from joblib import Parallel, delayed, parallel_config
from sklearn import config_context

from .._tables import require

__all__ = [
    "WARMED_UP",
    "check_backend",
    "fit_all",
    "fit_and_score",
    "fit_params",
    "warm_up",
]

#: Devices on which this process has run its warm-up fit (see :func:`warm_up`).
WARMED_UP = set()

BACKENDS = ("loky", "dask")


def check_backend(backend, scheduler):
    """Refuse an unknown backend or a scheduler without Dask, before any fit."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be 'loky' or 'dask'; got {backend!r}.")
    if scheduler is not None and backend != "dask":
        raise ValueError("A scheduler address needs backend='dask' (--backend dask).")
    if backend == "dask":
        require("distributed")


def warm_up(device):
    """Fit a tiny network once per process and device before the first timed fit.

    The first fit of a process pays for torch's one-time start-up (about a
    second on a CPU, more for a GPU's first call); without this warm-up the
    first candidate each worker runs would be charged for it. ``device=None``
    (a reference model) warms nothing. A warm-up that fails is ignored: the
    timed fit then reports the error.
    """
    if device is None or device in WARMED_UP:
        return
    from ..estimators import LossClassifier

    WARMED_UP.add(device)
    X = np.random.RandomState(0).normal(size=(64, 3))
    y = np.r_[np.zeros(48, dtype=np.int64), np.ones(16, dtype=np.int64)]
    tiny = LossClassifier(
        hidden_layer_sizes=(4,), max_epochs=2, device=device, random_state=0
    )
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        tiny.fit(X, y)


def fit_params(estimator, metadata):
    """The keyword arguments of ``estimator.fit`` that pass ``metadata``
    (per-row arrays such as ``qid``): to the last step of a pipeline as
    ``<step>__<name>``, and only the names its ``fit`` takes.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_losses import LossRanker
    >>> from sklearn_losses.compare._run import fit_params
    >>> fit_params(make_pipeline(StandardScaler(), LossRanker()), {"qid": [1, 2]})
    {'lossranker__qid': [1, 2]}
    >>> fit_params(StandardScaler(), {"qid": [1, 2]})
    {}
    """
    if not metadata:
        return {}
    prefix, final = "", estimator
    steps = getattr(estimator, "steps", None)
    if steps:
        prefix, final = f"{steps[-1][0]}__", steps[-1][1]
    try:
        accepted = inspect.signature(final.fit).parameters
    except (TypeError, ValueError):
        return {}
    return {f"{prefix}{k}": v for k, v in metadata.items() if k in accepted}


def fit_and_score(
    key, estimator, X, y, train, test, scorers, predict, device, metadata=None
):
    """Fit on one training fold and score on its test fold, on one thread.

    One torch thread, one BLAS/OpenMP thread and no nested joblib parallelism per
    fit, restored afterwards: the fits run side by side (``n_jobs``) without
    oversubscribing the cores, and a fit gives the same numbers whichever
    backend or worker runs it. The fit time leaves out the process's one-time
    warm-up (:func:`warm_up` on ``device``).

    Parameters
    ----------
    key : hashable
        Returned with the result.
    estimator : estimator
        Unfitted; fitted here.
    X : pandas.DataFrame
    y : ndarray
    train, test : ndarray of int
        Row positions.
    scorers : dict
        ``{metric: (scorer, sign)}``; the score kept is ``sign * scorer(...)``.
    predict : callable
        ``predict(estimator, X_test, **test metadata)``: the out-of-fold
        predictions kept.
    device : None or str
        The network's device, for the warm-up; ``None`` for none.
    metadata : None or dict, default=None
        Per-row arrays of every row (a ranking's ``qid``), sliced per fold:
        the training rows' go to ``fit`` when it takes them (see
        :func:`fit_params`), the test rows' to every scorer and to
        ``predict`` as keyword arguments. Passed directly, with scikit-learn's
        metadata routing off for the fit.

    Returns
    -------
    dict
        ``key``, ``fit_time`` and either ``scores``, ``predictions`` and
        ``predict_time`` (seconds of the ``predict`` call on the test rows,
        preprocessing included), or ``error`` (the fit or a score failed; the
        other fits go on).
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        # Nested joblib calls (e.g. a ColumnTransformer's) run in this task, not
        # as tasks of their own on the outer backend.
        with (
            threadpool_limits(limits=1),
            parallel_config(backend="sequential"),
            config_context(enable_metadata_routing=False),
        ):
            warm_up(device)
            metadata = metadata or {}
            train_meta = {k: np.asarray(v)[train] for k, v in metadata.items()}
            test_meta = {k: np.asarray(v)[test] for k, v in metadata.items()}
            start = time.perf_counter()
            X_train, X_test = X.iloc[train], X.iloc[test]
            estimator.fit(X_train, y[train], **fit_params(estimator, train_meta))
            fit_time = time.perf_counter() - start
            scores = {
                name: sign * float(scorer(estimator, X_test, y[test], **test_meta))
                for name, (scorer, sign) in scorers.items()
            }
            start = time.perf_counter()
            predictions = predict(estimator, X_test, **test_meta)
            predict_time = time.perf_counter() - start
    except Exception as exc:  # one failed fit is reported; the others go on
        return {
            "key": key,
            "error": f"{type(exc).__name__}: {exc}",
            "fit_time": time.perf_counter() - start,
        }
    finally:
        torch.set_num_threads(threads)
    return {
        "key": key,
        "scores": scores,
        "fit_time": fit_time,
        "predict_time": predict_time,
        "predictions": predictions,
    }


def fit_all(
    jobs, X, y, *, backend, n_jobs, scheduler, description, progress, metadata=None
):
    """Run every job and return ``{key: result}`` (see :func:`fit_and_score`).

    Parameters
    ----------
    jobs : list of tuple
        ``(key, estimator, train, test, scorers, predict, device)``.
    X, y
        The data, sent once to each Dask worker rather than with every fit.
    backend, n_jobs, scheduler
        As in ``compare_losses``.
    description : str
        The progress bar's label.
    progress : bool
        Show a progress bar on stderr.
    metadata : None or dict, default=None
        Per-row arrays of every row (see :func:`fit_and_score`).
    """
    tasks = [
        delayed(fit_and_score)(
            key, est, X, y, train, test, scorers, predict, device, metadata
        )
        for key, est, train, test, scorers, predict, device in jobs
    ]
    results = {}
    with (
        _backend(backend, n_jobs, scheduler, [X, y]) as parallel_jobs,
        _progress(len(tasks), description, progress) as bar,
    ):
        parallel = Parallel(
            n_jobs=parallel_jobs, return_as="generator_unordered", batch_size=1
        )
        for result in parallel(tasks):
            results[result["key"]] = result
            bar.update()
    return results


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
