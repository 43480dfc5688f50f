"""Plumbing shared by the benchmark scripts: run metadata, job loop, output files.

The scripts (``bench_anyloss.py``, ``bench_label_noise.py``,
``bench_overfitting.py``, ``bench_reweighting.py``, ...) import it from their
own folder, as they do ``_data``. Each builds its own jobs, progress text and
markdown report; this module only holds what is identical between them.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel

_WARMED_UP = set()


@contextlib.contextmanager
def worker(warm_up=None, *args):
    """The setting of one timed job in a joblib worker.

    One torch, BLAS and OpenMP thread, ``UserWarning`` silenced, and, the first
    time in this process, ``warm_up(*args)`` (untimed fits on tiny data, so
    that the first timed fit does not pay for imports and torch's first-call
    setup).
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if warm_up is not None and warm_up not in _WARMED_UP:
            warm_up(*args)
            _WARMED_UP.add(warm_up)
        yield


def tiny_binary():
    """64 rows x 3 features, 48 of class 0 and 16 of class 1, for warm-up fits."""
    X = np.random.RandomState(0).normal(size=(64, 3))
    y = np.r_[np.zeros(48, dtype=int), np.ones(16, dtype=int)]
    return X, y


def binary_scores(y_test, pred, proba):
    """Test-fold scores of a binary classifier (class 1 positive): F1, balanced
    accuracy, PR-AUC, ROC-AUC and the predicted and actual positive rates."""
    from sklearn.metrics import (
        average_precision_score,
        balanced_accuracy_score,
        f1_score,
        roc_auc_score,
    )

    return {
        "f1": float(f1_score(y_test, pred, pos_label=1, zero_division=0.0)),
        "bacc": float(balanced_accuracy_score(y_test, pred)),
        "pr_auc": float(average_precision_score(y_test, proba)),
        "roc_auc": float(roc_auc_score(y_test, proba)),
        "predicted_positive_rate": float(np.mean(pred == 1)),
        "test_positive_rate": float(np.mean(y_test == 1)),
    }


def describe_fold(width):
    """The progress line of a :func:`binary_scores` row (model column
    ``width`` wide)."""
    return lambda row: (
        f"{row['dataset']:<14} s{row['seed']} "
        f"f{row['fold']} {row['model']:<{width}} F1 {row['f1']:.3f} "
        f"BAcc {row['bacc']:.3f} PR {row['pr_auc']:.3f} "
        f"{row['fit_time']:6.1f} s"
    )


def mean_cell(mean, spread, digits=3, bold=False):
    """``mean ± spread`` for a markdown table (no spread when it is NaN)."""
    text = f"{mean:.{digits}f}"
    if bold:
        text = f"**{text}**"
    if not math.isnan(spread):
        text += f" ± {spread:.{digits}f}"
    return text


def environment(args, n_jobs_total):
    """The run metadata shared by every report, to merge into a script's info.

    ``args.n_jobs`` is the number of joblib workers and ``n_jobs_total`` the
    number of fits. ``finished`` and ``wall_time_s`` are filled in by
    :func:`run_jobs`.
    """
    import sklearn
    import torch

    return {
        "n_jobs": args.n_jobs,
        "n_jobs_total": n_jobs_total,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "cpu_count": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "finished": None,
        "wall_time_s": 0.0,
    }


def add_datasets_argument(parser, tasks, default):
    """Add ``--datasets``: names from ``tasks``, None (the script's default,
    described by ``default`` in the help) when not given."""
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=None,
        help=f"subset of {list(tasks)} (default: {default})",
    )


def add_run_arguments(parser, stem, quick):
    """Add ``--n-jobs``, ``--out`` (default ``benchmarks/results/<stem>``) and
    ``--quick`` (help: ``smoke test: <quick>; writes <stem>_quick.*``)."""
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--out",
        default=None,
        help="output stem: writes <stem>.json and <stem>.md "
        f"(default benchmarks/results/{stem})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {quick}; writes {stem}_quick.*",
    )


def normalise_out(path, default):
    """The output stem: ``default`` when ``path`` is None, else ``path``
    without a ``.json`` / ``.md`` suffix."""
    if path is None:
        return default
    path = Path(path)
    if path.suffix in (".json", ".md"):
        path = path.with_suffix("")
    return path


def write_outputs(stem, markdown, payload):
    """Write ``payload`` to ``<stem>.json`` and ``markdown`` to ``<stem>.md``."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    with open(stem.with_suffix(".json"), "w") as f:
        json.dump(payload, f, indent=1)
    with open(stem.with_suffix(".md"), "w") as f:
        f.write(markdown + "\n")


def run_jobs(
    jobs,
    n_jobs,
    info,
    describe,
    write,
    write_every_s=30.0,
    count_width=4,
    minutes_width=5,
):
    """Run ``jobs`` in a joblib pool and return the result rows.

    Rows are taken in completion order. For each one a progress line is
    printed: count, elapsed minutes, ETA, then ``describe(row)``. Every
    ``write_every_s`` seconds, and once at the end, ``info["wall_time_s"]`` is
    updated and ``write(rows)`` is called; at the end ``info["finished"]`` is
    set first. ``count_width`` and ``minutes_width`` set the field widths of
    the count and of the elapsed time (the ETA is one narrower).
    """
    rows = []
    start = last_write = time.perf_counter()
    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1)(
        jobs
    )
    eta_width = minutes_width - 1
    for row in results:
        rows.append(row)
        now = time.perf_counter()
        elapsed = now - start
        eta = elapsed / len(rows) * (len(jobs) - len(rows))
        print(
            f"[{len(rows):{count_width}d}/{len(jobs)}] "
            f"{elapsed / 60:{minutes_width}.1f} min, "
            f"ETA {eta / 60:{eta_width}.1f} min | {describe(row)}",
            flush=True,
        )
        if now - last_write > write_every_s:
            info["wall_time_s"] = elapsed
            write(rows)
            last_write = now
    info["wall_time_s"] = time.perf_counter() - start
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write(rows)
    return rows


def run_benchmark(jobs, args, info, plan, describe, write, **widths):
    """Announce, run and report a benchmark.

    ``info`` is the script's own metadata; :func:`environment` is added to it.
    ``plan`` maps what the jobs range over to the values, e.g.
    ``{"datasets": [...], "folds": [...], "losses": [...]}`` (announced as
    ``"2 datasets x 5 folds x 2 losses"``);
    ``args`` holds ``epochs``, ``n_jobs`` and ``out``. The jobs run through
    :func:`run_jobs`, with ``write(rows, info, args.out)`` saving the results,
    and ``widths`` passed on; the markdown report is printed at the end.
    """
    info.update(environment(args, len(jobs)))
    plan = " x ".join(f"{len(values)} {name}" for name, values in plan.items())
    print(
        f"{len(jobs)} fits: {plan}, {args.epochs} epochs, {args.n_jobs} workers "
        f"-> {args.out}.md/.json",
        flush=True,
    )
    run_jobs(
        jobs,
        args.n_jobs,
        info,
        describe,
        lambda rows: write(rows, info, args.out),
        **widths,
    )
    show_report(args.out)


def show_report(stem):
    """Print ``<stem>.md`` after a blank line."""
    print()
    print(stem.with_suffix(".md").read_text())


def report_header(title, script, rows, info):
    """The opening lines of a markdown report: the title, then whether the run
    is complete (``PARTIAL: n of N fits`` while it goes on), the script that
    wrote it and when."""
    n_expected = info["n_jobs_total"]
    if len(rows) == n_expected:
        status = "complete"
    else:
        status = f"PARTIAL: {len(rows)} of {n_expected} fits"
    return [
        f"# {title}",
        "",
        f"Status: {status}. Generated by `benchmarks/{script}` "
        f"({info['finished'] or 'running'}).",
        "",
    ]


def environment_line(info, wall_time=True):
    """The markdown bullet on workers, versions and CPUs (from
    :func:`environment`), ending with the wall time unless ``wall_time`` is
    false."""
    line = (
        f"- {info['n_jobs']} joblib workers, 1 thread each; torch {info['torch']}, "
        f"sklearn {info['sklearn']}, python {info['python']}, "
        f"{info['cpu_count']} CPUs"
    )
    if wall_time:
        line += f"; wall time {info['wall_time_s'] / 60:.1f} min"
    return line
