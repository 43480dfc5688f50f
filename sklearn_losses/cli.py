"""Command line: ``sklearn-losses compare`` and ``sklearn-losses list-losses``."""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from pathlib import Path

from .compare._tasks import TASK_CHOICES
from .losses import TASKS, list_losses

__all__ = ["main"]

#: Queries of the generated ranking data (``compare --task ranking``).
_RANKING_QUERIES = 150
#: Rows and labels of the generated multi-label data (``compare --task
#: multilabel``).
_MULTILABEL_ROWS, _MULTILABEL_LABELS = 500, 5

_EXAMPLES = """\
examples:
  sklearn-losses compare
  sklearn-losses compare data.csv --target churned
  sklearn-losses compare data.csv --target churned --losses cross_entropy \\
      focal anyloss:f1 ldr_kl --scoring f1 average_precision --cv 5 --n-jobs 2 \\
      --out results/
  sklearn-losses compare species.csv --target species      # multiclass
  sklearn-losses compare houses.csv --target price         # regression
  sklearn-losses compare houses.csv --target price --losses mse l1 \\
      quantile:alpha=0.9 --scoring pinball_0.9 rmse
  sklearn-losses compare queries.csv --target relevance --qid query_id  # ranking
  sklearn-losses compare --task ranking     # built-in generated ranking data
  sklearn-losses compare digits.csv --target label --task embedding  # metric learning
  sklearn-losses compare --task embedding   # built-in digits
  sklearn-losses compare data.csv --target tag_a tag_b tag_c  # multi-label
  sklearn-losses compare --task multilabel  # built-in generated multi-label data
  sklearn-losses compare data.csv --target churned --distill  # + a fast student
  sklearn-losses compare data.csv --target churned --tune-threshold  # binary
  sklearn-losses compare data.parquet --target churned --backend dask
  sklearn-losses compare data.csv --target churned --backend dask \\
      --scheduler tcp://host:8786

task: --task auto (the default) compares a continuous target (float values,
not all whole numbers, more than 20 distinct) as regression, two classes as
binary, more as multiclass; with --qid (the query id column, not a feature)
the target is the relevance of each row (numbers >= 0) and the task ranking:
folds keep queries whole (GroupKFold), the networks see the numeric features
through a QuantileTransformer to a normal, and the metrics are means over
queries (ndcg@5, ndcg@10, map by default). --task embedding compares the
metric-learning losses of LossEmbedder by the kNN accuracy, Recall@1 and
MAP@R of their embeddings, against the features, PCA and NCA. Several
--target columns (each 0/1 or True/False, one per label) make the task
multilabel: MultiLabelLossClassifier with bce, balanced bce, focal and hybrid
against one-vs-rest LogisticRegression and per-label HistGradientBoosting, by
micro F1, macro F1 and Jaccard, on shuffled (not stratified) folds.

loss specs: NAME, NAME:key=value[,key=value...]. Several values make a grid
(focal:gamma=0.5,1,2); a bare value sets the loss's key parameter
(anyloss:f1 = anyloss:metric=f1, huber:0.5 = huber:delta=0.5); estimator
parameters too (cross_entropy:class_weight=balanced).

metrics: errors (rmse, mae, mse, log_loss, neg_* scorers) are shown as
positive numbers, lower is better. pinball (regression): the mean pinball
loss at each candidate's quantile level (a quantile loss's alpha, else 0.5);
pinball_0.9: at 0.9 for every candidate. Ranking: ndcg, ndcg@k, map (relevant:
relevance >= 1), map@t, mrr, kendall_tau, pairwise_accuracy. Multi-label:
f1, precision, recall, jaccard with _micro, _macro, _weighted or _samples,
roc_auc, average_precision, hamming_loss, subset_accuracy.
"""


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="sklearn-losses",
        description="Compare loss functions on a table: binary, multiclass, "
        "regression, ranking, embedding or multi-label.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cmp = sub.add_parser(
        "compare",
        help="cross-validated comparison of losses (default: built-in imbalanced data)",
        description="Cross-validate neural networks trained with different "
        "losses, each over a small grid of its parameters, and two reference "
        "models on the same folds (class labels: balanced logistic regression "
        "and gradient boosting; regression: ridge and gradient boosting; "
        "ranking: pointwise gradient boosting and LightGBM's LambdaRank; "
        "multi-label: one-vs-rest logistic regression and gradient boosting per "
        "label); print a leaderboard.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmp.add_argument(
        "data",
        nargs="?",
        default=None,
        help="a .csv, .tsv or .parquet table (default: the built-in imbalanced "
        "breast-cancer data, 393 rows, 9.2%% positive; with --task ranking, "
        f"generated ranking data, {_RANKING_QUERIES} queries; with --task "
        "multilabel, generated multi-label data)",
    )
    cmp.add_argument(
        "--target",
        nargs="+",
        default=None,
        metavar="COLUMN",
        help="the column to predict (needed with data); several 0/1 columns, one "
        "per label, for a multi-label target",
    )
    cmp.add_argument(
        "--qid",
        default=None,
        metavar="COLUMN",
        help="the column of query ids: the target is then the relevance of each "
        "row within its query (ranking); the column is not a feature",
    )
    cmp.add_argument(
        "--task",
        choices=TASK_CHOICES,
        default="auto",
        help="auto (default): ranking with --qid, multilabel with several "
        "--target columns, regression for a continuous target, binary for two "
        "classes, multiclass for more; embedding only when asked for",
    )
    cmp.add_argument(
        "--pos-label",
        default=None,
        help="the positive class of a binary target (default: the minority class)",
    )
    cmp.add_argument(
        "--losses",
        nargs="+",
        default=None,
        metavar="SPEC",
        help="losses to compare, e.g. cross_entropy focal:gamma=1,2 anyloss:f1 "
        "cross_entropy:class_weight=balanced, or mse huber:delta=0.5,1 for "
        "regression, or lambda listnet tsprank for ranking (default: every loss "
        "for the task, and for class labels class-weighted cross-entropy; for "
        "ranking all but tsprank and grouprank, which are slower)",
    )
    cmp.add_argument(
        "--grid",
        choices=("default", "none"),
        default="default",
        help="'default': each loss over a small grid of its key parameter "
        "(focal gamma 1,2; anyloss metric f1,gmean; huber delta 0.5,1.35; ...); "
        "'none': its defaults only. Values in a spec replace the grid of that "
        "parameter.",
    )
    cmp.add_argument(
        "--scoring",
        nargs="+",
        default=None,
        metavar="METRIC",
        help="scikit-learn scorer names or rmse, mae, mse, log_loss, pinball, "
        "pinball_<level>; for ranking ndcg@k, map, mrr, ...; the first ranks "
        "(default: binary f1 balanced_accuracy average_precision, of the "
        "positive class; multiclass f1_macro balanced_accuracy log_loss; "
        "regression rmse mae r2; ranking ndcg@5 ndcg@10 map; multi-label "
        "f1_micro f1_macro jaccard_samples)",
    )
    cmp.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    cmp.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="fits run side by side, one thread each (default -1: one per core); "
        "with --backend dask and no --scheduler, the local workers",
    )
    cmp.add_argument(
        "--backend",
        choices=("loky", "dask"),
        default="loky",
        help="loky: processes on this machine; dask: a dask.distributed cluster "
        "(a LocalCluster unless --scheduler is given)",
    )
    cmp.add_argument(
        "--scheduler", default=None, help="Dask scheduler address, tcp://host:8786"
    )
    cmp.add_argument(
        "--max-epochs", type=int, default=100, help="epochs per fit (default 100)"
    )
    cmp.add_argument("--random-state", type=int, default=0, help="seed (default 0)")
    cmp.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help="leave out the reference models",
    )
    cmp.add_argument(
        "--distill",
        action="store_true",
        help="binary and multiclass targets: add the student of the "
        "HistGradientBoosting reference (DistilledClassifier, loss kd for two "
        "classes, pld for more; its teacher fitted inside each training fold) "
        "and show predict times",
    )
    cmp.add_argument(
        "--tune-threshold",
        action="store_true",
        help="binary targets: tune every candidate's decision threshold "
        "(references included) for the first metric (F1 when it scores "
        "probabilities, e.g. average_precision) with TunedThresholdClassifierCV "
        "on 3 stratified inner folds of each training fold, refitted on the "
        "whole training fold",
    )
    cmp.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="write results.csv, results.json and results.png to DIR",
    )
    cmp.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bar",
    )
    lst = sub.add_parser("list-losses", help="list the registered losses")
    lst.add_argument("--task", choices=TASKS, default=None)
    return parser


def main(argv=None):
    """Entry point of the ``sklearn-losses`` command; returns the exit code.

    Bad inputs (a missing file or column, a single-class target, a target the
    task cannot use, a ``--qid`` column that is missing or given with a task
    other than ranking, an unknown loss, metric or parameter) print
    ``error: <message>`` on stderr and return 2.

    Examples
    --------
    >>> from sklearn_losses.cli import main
    >>> main(["list-losses", "--task", "binary"])  # doctest: +ELLIPSIS
    adv_comp_sum
    ...
    0
    """
    args = _build_parser().parse_args(argv)
    if args.command == "list-losses":
        print("\n".join(list_losses(args.task)))
        return 0
    try:
        return _compare(args)
    except (ValueError, TypeError, ImportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _load(args):
    """``(X, y, description, rows dropped, separator, qid)`` of the data the
    command compares on; the separator when it was detected (see
    ``read_table``), else ``None``; the query ids of a ranking, else
    ``None``."""
    targets = list(args.target or [])
    if args.data is None and len(targets) > 1 and Path(targets[-1]).is_file():
        # "--target COLUMN data.csv": --target takes several columns, so the
        # file given after it is read as one; it is the data.
        args.data = targets.pop()
    if args.task == "multilabel" and args.data is not None and len(targets) == 1:
        raise ValueError(
            f"--task multilabel needs two or more label columns (one 0/1 column per "
            f"label): --target {targets[0]} OTHER ...; for one 0/1 column use "
            "--task binary."
        )
    if args.qid is not None and len(targets) > 1:
        raise ValueError(
            "--qid (query ids) goes with one --target column, the relevance; "
            f"got {len(targets)}: {' '.join(targets)}."
        )
    if args.qid is not None and args.task not in ("auto", "ranking"):
        raise ValueError(
            f"--qid (query ids) makes the target a ranking one; it cannot go with "
            f"--task {args.task}. Leave out --qid, or use --task ranking (or auto)."
        )
    if args.data is None:
        if args.target is not None:
            raise ValueError("--target needs a data file (compare DATA --target COL).")
        if args.qid is not None:
            raise ValueError(
                "--qid needs a data file (compare DATA --target COL --qid COL); "
                "--task ranking without data uses generated ranking data."
            )
        if args.task == "ranking":
            return _generated_ranking()
        if args.task == "embedding":
            return _digits()
        if args.task == "multilabel":
            return _generated_multilabel()
        from .datasets import load_imbalanced_breast_cancer

        X, y = load_imbalanced_breast_cancer(return_X_y=True, as_frame=True)
        y = ["malignant" if v else "benign" for v in y]
        return X, y, "built-in imbalanced breast cancer (AnyLoss paper)", 0, None, None
    if args.target is None:
        raise ValueError(
            f"--target is needed with a data file: the column of {args.data!r} "
            "to predict."
        )
    if args.task == "ranking" and args.qid is None:
        raise ValueError(
            "--task ranking needs --qid, the column of query ids of the table."
        )
    from ._tables import read_table, split_target

    frame = read_table(args.data)
    qid = None
    target = targets[0] if len(targets) == 1 else targets
    if args.qid is not None:
        if args.qid == target:
            raise ValueError(f"--qid and --target name the same column {args.qid!r}.")
        columns = [str(c) for c in frame.columns]
        if args.qid not in columns:
            close = difflib.get_close_matches(args.qid, columns, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            shown = ", ".join(columns[:40]) + (", ..." if len(columns) > 40 else "")
            raise ValueError(
                f"Query id column {args.qid!r} (--qid) is not in the table.{hint} "
                f"Columns ({len(columns)}): {shown}."
            )
        column = frame.columns[columns.index(args.qid)]
        if target in frame.columns:
            qid = frame.loc[frame[target].notna(), column].to_numpy()
        frame = frame.drop(columns=column)
    X, y, dropped = split_target(frame, target)
    return X, y, args.data, dropped, frame.attrs.get("separator"), qid


def _generated_ranking():
    """The data of ``compare --task ranking`` without a file."""
    from ._tables import require
    from .datasets import make_ranking

    X, y, qid = make_ranking(_RANKING_QUERIES, random_state=0)
    X = require("pandas").DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    name = f"generated ranking data (make_ranking, {_RANKING_QUERIES} queries)"
    return X, y, name, 0, None, qid


def _generated_multilabel():
    """The data of ``compare --task multilabel`` without a file."""
    from sklearn.datasets import make_multilabel_classification

    from ._tables import require

    pd = require("pandas")
    X, Y = make_multilabel_classification(
        _MULTILABEL_ROWS, n_features=20, n_classes=_MULTILABEL_LABELS, random_state=0
    )
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    Y = pd.DataFrame(Y, columns=[f"label_{j}" for j in range(Y.shape[1])])
    name = (
        f"generated multi-label data (make_multilabel_classification, "
        f"{_MULTILABEL_ROWS} rows, {_MULTILABEL_LABELS} labels)"
    )
    return X, Y, name, 0, None, None


def _digits():
    """The data of ``compare --task embedding`` without a file."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True, as_frame=True)
    name = "scikit-learn's digits (8x8 images, 10 classes)"
    return X, y.to_numpy(), name, 0, None, None


def _compare(args):
    from ._tables import prepare_features
    from .compare import _report, format_table
    from .compare._core import run_comparison
    from .compare._tasks import check_qid, resolve_task

    start = time.perf_counter()
    X, y, name, dropped, separator, qid = _load(args)
    task, y_prepared, positive = resolve_task(y, args.task, args.pos_label, qid=qid)
    _, numeric, categorical = prepare_features(X)
    detected = " (detected)" if args.task == "auto" else ""
    if qid is not None:
        qid = check_qid(qid, len(y_prepared))
        described = task.describe(y_prepared, positive, qid=qid)
    elif hasattr(y, "columns"):  # several target columns: the labels' names
        described = task.describe(y_prepared, positive, labels=list(y.columns))
    else:
        described = task.describe(y_prepared, positive)
    target = f"{task.name} target{detected}: {described}"
    skipped = f", {dropped} rows without a target left out" if dropped else ""
    if separator is not None:
        name_shown = f"{name} (separator {separator!r}, detected)"
    else:
        name_shown = name
    stratified = "stratified " if task.stratified else ""
    if qid is not None:
        stratified = "query-grouped "
    print(
        f"Data: {name_shown}, {len(y_prepared)} rows x {X.shape[1]} columns "
        f"({len(numeric)} numeric, {len(categorical)} categorical){skipped}; "
        f"{target}; {args.cv}-fold {stratified}CV, {args.max_epochs} epochs per "
        f"network; backend {args.backend}.",
        flush=True,
    )
    table, oof, y_prepared = run_comparison(
        X,
        y,
        args.losses,
        task=task.name,
        grid=args.grid,
        scoring=args.scoring,
        pos_label=args.pos_label,
        cv=args.cv,
        reference=args.reference,
        estimator=task.estimator_class(max_epochs=args.max_epochs),
        random_state=args.random_state,
        n_jobs=args.n_jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        progress=args.progress,
        out=args.out,
        out_name="--out",
        data_name=name,
        qid=qid,
        distill=args.distill,
        tune_threshold=args.tune_threshold,
    )
    threshold = table.attrs["metadata"]["threshold"]
    if threshold is not None:
        print(_threshold_line(threshold))
    print(format_table(table))
    lower = table.attrs["metadata"]["lower_is_better"]
    if lower:
        shown = ", ".join(_report.display(metric) for metric in lower)
        print(f"\nLower is better: {shown}.")
    print(
        "\nFit time: mean seconds per fit, after an untimed warm-up fit in each "
        "worker process."
    )
    if args.distill:
        print(
            "Predict time: mean seconds to predict one test fold (preprocessing "
            "included); the student predicts without its teacher."
        )
    if (table["grid_size"] > 1).any():
        print(
            "Best params: the best grid point on these same folds (a slightly "
            "optimistic score for losses with a grid)."
        )
    # The leaderboard is on screen before the files are written: a failure to
    # write them does not lose it.
    sys.stdout.flush()
    if args.out is not None:
        _report.write_outputs(table, oof, y_prepared, Path(args.out))
        print(f"Wrote results.csv, results.json and results.png to {args.out}")
    print(f"\nTotal time: {time.perf_counter() - start:.1f} s")
    return 0


def _threshold_line(threshold):
    """The header line of a threshold-tuned leaderboard: for which metric,
    how, and why when it is not the first metric."""
    from .compare import _report

    metric = _report.display(threshold["scoring"])
    line = (
        f"Thresholds tuned for {metric} (TunedThresholdClassifierCV, "
        f"{threshold['inner_folds']} stratified inner folds of each training "
        "fold, refitted on the whole training fold; the test fold is not seen)"
    )
    if threshold["scoring"] != threshold["first_metric"]:
        first = _report.display(threshold["first_metric"])
        line += f"; the first metric, {first}, does not depend on the threshold"
    return line + "."


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
