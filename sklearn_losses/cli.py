"""Command line: ``sklearn-losses compare`` and ``sklearn-losses list-losses``."""

from __future__ import annotations

import argparse
import sys
import time

from .losses import TASKS, list_losses

__all__ = ["main"]


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-losses",
        description="Compare loss functions on an imbalanced table.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser(
        "compare",
        help="cross-validated comparison of losses (default: built-in imbalanced data)",
    )
    cmp.add_argument(
        "--losses",
        nargs="+",
        default=None,
        help="losses to compare, e.g. cross_entropy focal:gamma=1 "
        "cross_entropy:class_weight=balanced (default: all for the task)",
    )
    cmp.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    cmp.add_argument("--n-jobs", type=int, default=None, help="parallel folds")
    cmp.add_argument("--max-epochs", type=int, default=100, help="epochs per fit")
    cmp.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    lst = sub.add_parser("list-losses", help="list the registered losses")
    lst.add_argument("--task", choices=TASKS, default=None)
    return parser


def main(argv=None):
    """Entry point of the ``sklearn-losses`` command; returns the exit code."""
    args = _build_parser().parse_args(argv)
    if args.command == "list-losses":
        print("\n".join(list_losses(args.task)))
        return 0

    from .compare import compare_losses, format_table
    from .datasets import load_imbalanced_breast_cancer
    from .estimators import LossClassifier

    X, y = load_imbalanced_breast_cancer(return_X_y=True)
    print(
        f"Data: imbalanced breast cancer, {X.shape[0]} rows x {X.shape[1]} features, "
        f"{y.mean():.1%} positive; {args.cv}-fold stratified CV, "
        f"{args.max_epochs} epochs per fit.",
        flush=True,
    )
    start = time.perf_counter()
    try:
        rows = compare_losses(
            X,
            y,
            args.losses,
            cv=args.cv,
            random_state=args.random_state,
            n_jobs=args.n_jobs,
            estimator=LossClassifier(max_epochs=args.max_epochs),
        )
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(rows))
    print(f"\nTotal time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
