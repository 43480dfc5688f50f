"""Benchmark TSPRank's path decoders: exact Held-Karp against the heuristic.

What it measures
----------------
On random pair-score matrices ``A`` with N(0, 1) entries (``--instances`` per
list size, seeded), in one process with one numpy thread:

- **exact**: :func:`~sklearn_losses.losses.tsprank.exact_open_path`, the
  vectorised Held-Karp dynamic programme (list sizes up to 20);
- **heuristic**: :func:`~sklearn_losses.losses.tsprank.heuristic_open_path`
  with its defaults (greedy paths from every start, local search with
  relocate and swap moves from the 4 best).

For every size: the mean wall time per list of each decoder (one call per
instance, after one untimed warm-up call per size), the heuristic's gap to the
reference path score, absolute (``ref - heuristic``) and relative
(``(ref - heuristic) / |ref|``), mean and max, and the fraction of instances
where the heuristic reaches the reference (within 1e-9).

The reference is the exact optimum where the exact decoder runs (sizes up to
``--exact-max``, default 16). Beyond it the optimum is unknown, and the
reference is the best path found by any of: the heuristic itself, the
heuristic with local search from every greedy start (``n_starts=n``), and
``--restarts`` local searches from random orders (the same moves). A gap of
0 there means that no restart found a better path, not that the heuristic is
optimal.

How to run
----------
::

    python benchmarks/bench_tsp_decoding.py                 # ~1 minute
    python benchmarks/bench_tsp_decoding.py --quick         # smoke test
    python benchmarks/bench_tsp_decoding.py --sizes 8 12 16 20 32 --instances 10

The table is printed and written to ``benchmarks/results/tsp_decoding.md``
(``--out`` to change it).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from sklearn_losses.modules.tsprank import (
    _local_search,
    _path_score,
    exact_open_path,
    heuristic_open_path,
)

RESULTS = Path(__file__).parent / "results"


def restart_best(A, restarts, rng):
    """Best score of local searches from ``restarts`` random orders."""
    n = A.shape[0]
    best = -np.inf
    for _ in range(restarts):
        path = _local_search(A, rng.permutation(n), max_moves=10 * n * n)
        best = max(best, _path_score(A, path))
    return best


def measure(n, args):
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    rng = np.random.default_rng([args.seed, n])
    exact = n <= args.exact_max
    warm = rng.normal(size=(n, n))
    heuristic_open_path(warm)
    if exact:
        exact_open_path(warm)
    t_exact, t_heur, gaps, rel, hits = [], [], [], [], []
    for _ in range(args.instances):
        A = rng.normal(size=(n, n))
        start = clock()
        _, score = heuristic_open_path(A)
        t_heur.append(clock() - start)
        if exact:
            start = clock()
            _, ref = exact_open_path(A)
            t_exact.append(clock() - start)
        else:
            every = heuristic_open_path(A, n_starts=n)[1]
            ref = max(score, every, restart_best(A, args.restarts, rng))
        gaps.append(ref - score)
        rel.append((ref - score) / abs(ref))
        hits.append(ref - score <= 1e-9)
    return {
        "n": n,
        "reference": "exact optimum"
        if exact
        else f"best of heuristic, all {n} starts, {args.restarts} random restarts",
        "exact_ms": 1e3 * np.mean(t_exact) if exact else float("nan"),
        "heuristic_ms": 1e3 * np.mean(t_heur),
        "gap_mean": float(np.mean(gaps)),
        "gap_max": float(np.max(gaps)),
        "rel_mean": float(np.mean(rel)),
        "rel_max": float(np.max(rel)),
        "optimal": float(np.mean(hits)),
    }


def table(rows):
    lines = [
        "| n | reference | exact ms/list | heuristic ms/list | gap mean | gap max "
        "| rel. gap mean | rel. gap max | heuristic = reference |",
        "|---:|:---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        exact = "—" if np.isnan(r["exact_ms"]) else f"{r['exact_ms']:.2f}"
        lines.append(
            f"| {r['n']} | {r['reference']} | {exact} | {r['heuristic_ms']:.2f} | "
            f"{r['gap_mean']:.3f} | {r['gap_max']:.3f} | {100 * r['rel_mean']:.2f} % "
            f"| {100 * r['rel_max']:.2f} % | {100 * r['optimal']:.0f} % |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 16, 32])
    parser.add_argument("--instances", type=int, default=30)
    parser.add_argument(
        "--exact-max", type=int, default=16, help="largest n decoded exactly"
    )
    parser.add_argument(
        "--restarts", type=int, default=100, help="random restarts beyond exact-max"
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="time.perf_counter or the process's CPU time (on a shared machine)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="3 instances per size")
    parser.add_argument("--out", default=None, help="markdown output path")
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark, print the table and write it to the results folder."""
    args = parse_args(argv)
    if args.quick:
        args.instances, args.restarts = 3, 10
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        rows = []
        for n in args.sizes:
            rows.append(measure(n, args))
            print(f"n={n} done", flush=True)
    text = table(rows)
    print(text)
    out = (
        Path(args.out)
        if args.out
        else RESULTS / ("tsp_decoding_quick.md" if args.quick else "tsp_decoding.md")
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    command = sys.argv[1:] if argv is None else argv
    header = (
        "# TSPRank path decoding: exact Held-Karp against the heuristic\n\n"
        f"Generated by `benchmarks/bench_tsp_decoding.py` on "
        f"{time.strftime('%Y-%m-%d %H:%M')} (`{' '.join(command)}`, "
        f"{args.clock} clock).\n\n"
        f"- {args.instances} random instances per size, entries N(0, 1), seed "
        f"{args.seed}; one numpy thread; Python {platform.python_version()}, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs.\n"
        "- gap = reference score - heuristic score (higher scores are better); "
        "relative gap = gap / |reference|.\n"
        "- Beyond the exact range the reference is the best path any method "
        "found, not a proven optimum.\n\n"
    )
    out.write_text(header + text + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
