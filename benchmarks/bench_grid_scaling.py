"""Benchmark how ``compare_losses`` scales: 1 and 2 loky workers, 2 Dask workers.

What it measures
----------------
One grid of 8 losses x 5 folds (40 fits, no per-loss grid, no reference
models) on a 10,000-row table (``make_classification``: 20 features, 8
informative, 10 % positives, seed 0), run by
``sklearn_losses.compare.compare_losses`` three times:

- ``loky, n_jobs=1``: one fit after the other (in this process);
- ``loky, n_jobs=2``: two worker processes;
- ``dask, 2 workers``: joblib's Dask backend on a ``distributed.LocalCluster``
  of two worker processes with one thread each, started and closed by
  ``compare_losses``.

Every fit runs on one torch / BLAS thread whatever the backend. The wall time
of each run covers everything ``compare_losses`` does: starting the workers
(loky's pool is shut down before each run, so each pays its start-up), the
fits, and for Dask closing the cluster. The three configurations run in turn,
``--repeats`` times (default 2), and the best wall time of each is reported
(all of them are listed), so that a burst of other work on the machine weighs
less. Also reported: the summed fit time (the CPU work, which grows when the
fits compete for the cores), the overhead (wall time minus summed fit time per
worker: start-up, scheduling, scoring), the speed-up against one job, and
whether all runs give identical scores (they should: same seeds, one thread
per fit).

Networks: ``LossClassifier(max_epochs=--epochs)`` (default 50), otherwise the
defaults: MLP (64, 64), Adam lr 1e-3, batch 128 (AnyLoss: 5 % of the rows).

Targets
-------
A speed-up of at least 1.7x from 1 to 2 loky jobs; Dask within 15 % of loky at
2 workers. Both need two otherwise idle cores.

How to run
----------
::

    python benchmarks/bench_grid_scaling.py             # ~8 min on 2 idle cores
    python benchmarks/bench_grid_scaling.py --quick     # smoke test, ~30 s

Writes ``benchmarks/results/grid_scaling.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner  # noqa: E402

LOSSES = [
    "cross_entropy",
    "cross_entropy:class_weight=balanced",
    "focal",
    "anyloss",
    "ldr_kl",
    "gce",
    "sum_exp",
    "ensloss",
]
RUNS = [
    ("loky, n_jobs=1", {"backend": "loky", "n_jobs": 1}),
    ("loky, n_jobs=2", {"backend": "loky", "n_jobs": 2}),
    ("dask, 2 workers", {"backend": "dask", "n_jobs": 2}),
]
ROOT = Path(__file__).resolve().parent


def make_table(n_samples):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=20,
        n_informative=8,
        weights=[0.9],
        random_state=0,
    )
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y


def run_once(X, y, losses, cv, epochs, options):
    from joblib.externals.loky import get_reusable_executor

    from sklearn_losses import LossClassifier
    from sklearn_losses.compare import compare_losses

    get_reusable_executor().shutdown(wait=True)  # every run starts its workers
    start = time.perf_counter()
    table = compare_losses(
        X,
        y,
        losses,
        grid=None,
        reference=False,
        cv=cv,
        estimator=LossClassifier(max_epochs=epochs),
        random_state=0,
        **options,
    )
    wall = time.perf_counter() - start
    grid = pd.DataFrame(table.attrs["grid"])
    fit_sum = float(grid["fit_time"].sum() * cv)
    scores = table.drop(columns="fit_time").sort_values("loss").reset_index(drop=True)
    return wall, fit_sum, scores


def compare_scores(tables, names):
    """ "yes" when every run gave the scores of the first, else where they differ."""
    first = tables[0]
    metrics = [c for c in first.columns if c.endswith(("_mean", "_std"))]
    notes = []
    for name, table in zip(names[1:], tables[1:]):
        if table.equals(first):
            continue
        diff = (table[metrics] - first[metrics]).abs().max(axis=1)
        losses = ", ".join(first.loc[diff > 0, "loss"]) or "non-numeric columns"
        notes.append(
            f"{name} differs from {names[0]} ({losses}; max |diff| {diff.max():.2g})"
        )
    return "yes" if not notes else "NO: " + "; ".join(notes)


def summarise(runs):
    """Per configuration: the best wall time over the repeats, its summed fit
    time, and the overhead (wall time minus summed fit time over workers)."""
    summary = []
    for name, options in RUNS:
        mine = [r for r in runs if r["run"] == name]
        best = min(mine, key=lambda r: r["wall_s"])
        workers = options["n_jobs"]
        summary.append(
            {
                "run": name,
                "walls_s": [r["wall_s"] for r in mine],
                "wall_s": best["wall_s"],
                "fit_sum_s": best["fit_sum_s"],
                "overhead_s": best["wall_s"] - best["fit_sum_s"] / workers,
            }
        )
    return summary


def markdown(summary, runs, info):
    base = summary[0]["wall_s"]
    lines = _runner.report_header(
        "compare_losses scaling: loky and Dask", "bench_grid_scaling.py", runs, info
    )
    lines += [
        f"- {info['n_losses']} losses x {info['cv']} folds = {info['n_fits']} fits "
        f"on {info['n_rows']:,} rows x 20 features ({info['prevalence']:.0%} "
        f"positive); {info['epochs']} epochs per fit; one thread per fit",
        f"- {info['repeats']} repeat(s), the configurations in turn; best wall "
        "time shown, all in the last column",
        f"- torch {info['torch']}, sklearn {info['sklearn']}, python "
        f"{info['python']}, {info['cpu_count']} CPUs",
        f"- scores identical across all runs: {info['identical']}",
        f"- load average before / after: {info['load_before']} / {info['load_after']}",
        "",
        "| run | wall time (s) | speed-up vs 1 job | summed fit time (s) "
        "| overhead (s) | all wall times (s) |",
        "|:---|---:|---:|---:|---:|:---|",
    ]
    for row in summary:
        walls = ", ".join(f"{w:.1f}" for w in row["walls_s"])
        lines.append(
            f"| {row['run']} | {row['wall_s']:.1f} | {base / row['wall_s']:.2f}x "
            f"| {row['fit_sum_s']:.1f} | {row['overhead_s']:.1f} | {walls} |"
        )
    loky, dask = summary[1]["wall_s"], summary[2]["wall_s"]
    lines += [
        "",
        f"Speed-up 1 -> 2 loky jobs: {base / loky:.2f}x (target >= 1.7x). "
        f"Dask / loky at 2 workers: {dask / loky:.2f} (target <= 1.15).",
        "",
        f"Summed fit time: the seconds spent inside `fit` over the {info['n_fits']} "
        "fits; it "
        "grows when the fits compete for the cores (with each other or with "
        "other work on the machine). Overhead: wall time minus summed fit time "
        "per worker, i.e. starting (and, for Dask, closing) the workers, "
        "scoring and scheduling.",
    ]
    return "\n".join(lines)


def _load():
    import os

    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--n-samples", type=int, default=10_000)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs of each configuration"
    )
    parser.add_argument("--out", default=None, help="output stem (.md and .json)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2,000 rows, 3 epochs, 1 repeat; writes grid_scaling_quick.*",
    )
    args = parser.parse_args(argv)
    stem = "grid_scaling_quick" if args.quick else "grid_scaling"
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 2000, 3, 1
    args.out = _runner.normalise_out(args.out, ROOT / "results" / stem)
    args.n_jobs = 2

    X, y = make_table(args.n_samples)
    info = _runner.environment(args, len(RUNS) * args.repeats)
    info.update(
        n_rows=len(y),
        prevalence=float(np.mean(y)),
        n_losses=len(LOSSES),
        losses=LOSSES,
        cv=args.cv,
        n_fits=len(LOSSES) * args.cv,
        epochs=args.epochs,
        repeats=args.repeats,
        load_before=_load(),
    )
    runs, scores = [], []
    start = time.perf_counter()
    for repeat in range(args.repeats):
        for name, options in RUNS:
            print(f"[{repeat + 1}/{args.repeats}] {name} ...", flush=True)
            wall, fit_sum, table = run_once(X, y, LOSSES, args.cv, args.epochs, options)
            print(f"  {wall:.1f} s (summed fit time {fit_sum:.1f} s)", flush=True)
            runs.append(
                {"run": name, "repeat": repeat, **options}
                | {"wall_s": wall, "fit_sum_s": fit_sum, "load": _load()}
            )
            scores.append(table)
    info["identical"] = compare_scores(scores, [r["run"] for r in runs])
    info["load_after"] = _load()
    info["wall_time_s"] = time.perf_counter() - start
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    summary = summarise(runs)
    payload = {
        "info": info,
        "summary": summary,
        "runs": runs,
        "scores": scores[0].to_dict("records"),
    }
    text = markdown(summary, runs, info)
    _runner.write_outputs(args.out, text, payload)
    _runner.show_report(args.out)


if __name__ == "__main__":
    main()
