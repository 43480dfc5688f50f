"""Plumbing shared by the benchmark scripts: run metadata, job loop, output files.

The scripts (``bench_anyloss.py``, ``bench_label_noise.py``,
``bench_overfitting.py``) import it from their own folder, as they do
``_data``. Each builds its own jobs, progress text and markdown report; this
module only holds what is identical between them.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from joblib import Parallel


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
