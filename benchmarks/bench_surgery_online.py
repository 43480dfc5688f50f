"""Model surgery and online learning: the three benchmarks, run in turn.

What it measures
----------------
One entry point for the three parts, each its own script with its own
results file (see their docstrings):

- ``bench_pruning.py``: ModHiFi pruning against magnitude pruning at keep
  ratios 0.75, 0.5 and 0.25 (accuracy kept, predict speed-up) and class
  unlearning against retraining without the class
  (``results/pruning.md``);
- ``bench_bandit.py``: cumulative regret of the neural contextual bandit
  (squared loss with SquareCB, KL loss with FastCB, KL loss with the
  log-barrier FTRL rule) against mabwiser's LinUCB and epsilon-greedy on
  classification tables turned into bandits (``results/bandit.md``);
- ``bench_recommender.py``: Recall@20 and NDCG@20 of BPR matrix
  factorisation with and without PLD resampling at 0, 10 and 20 % injected
  noise, against ``implicit``'s BPR (``results/recommender.md``).

How to run
----------
::

    pip install -e ".[bench]"
    python benchmarks/bench_surgery_online.py            # all three parts
    python benchmarks/bench_surgery_online.py --parts bandit --quick

``--quick`` and ``--n-jobs`` are passed to every part.

Findings
--------
In the README's sections on model surgery, online learning and the
recommender, and in each part's docstring.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PARTS = {
    "pruning": "bench_pruning",
    "bandit": "bench_bandit",
    "recommender": "bench_recommender",
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", choices=list(PARTS), default=list(PARTS))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="smoke test of each part")
    args = parser.parse_args(argv)
    passed = ["--n-jobs", str(args.n_jobs)] + (["--quick"] if args.quick else [])
    for part in args.parts:
        print(f"== {part} ({PARTS[part]}.py)", flush=True)
        importlib.import_module(PARTS[part]).main(passed)


if __name__ == "__main__":
    main()
