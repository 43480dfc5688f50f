"""Benchmark the per-fit overhead of ``LossClassifier`` against plain PyTorch.

What it measures
----------------
In a single process with ``torch.set_num_threads(1)``, the same two-hidden-layer
(64, 64) ReLU MLP is trained on the same synthetic binary classification data
(``make_classification`` with 20,000 rows x 30 features, 10 informative,
class weights 0.8 / 0.2, standardized, float32) for 10 epochs with Adam
(lr=1e-3), once per batch size (128 and 1024 by default), as:

(a) a hand-written PyTorch loop (one ``randperm`` per epoch, one permutation of
    the data, contiguous slices, ``binary_cross_entropy_with_logits``);
(b) ``sklearn_losses.LossClassifier(loss="cross_entropy", ...)``;
(c) ``skorch.NeuralNetClassifier`` out of the box (2 logits,
    ``CrossEntropyLoss``, ``train_split=None``);
(d) ``sklearn.neural_network.MLPClassifier`` with the ``adam`` solver.

numpy's BLAS and OpenMP pools are also limited to one thread (threadpoolctl)
so that every variant runs on a single core. Only the ``fit`` call is timed
(``time.perf_counter``); for (a) that covers building the model and optimizer
plus the training loop. Each measurement is repeated ``--repeats`` times,
interleaving the variants round-robin so that slow drift of the machine affects
all of them alike, and the median is reported. The output is a markdown table
whose cells read ``median seconds (ratio to (a))``.

Target
------
(b) should cost at most 1.15x the time of (a) at batch size 128 and at most
1.05x at batch size 1024.

How to run
----------
::

    python benchmarks/bench_fit_overhead.py
    python benchmarks/bench_fit_overhead.py --quick          # smoke test
    python benchmarks/bench_fit_overhead.py --repeats 5 --json results.json
"""

import argparse
import json
import platform
import statistics
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits
from torch import nn

N_FEATURES = 30
HIDDEN = 64
LR = 1e-3

VARIANTS = {
    "a": "(a) hand-written PyTorch loop",
    "b": "(b) sklearn_losses.LossClassifier",
    "c": "(c) skorch.NeuralNetClassifier",
    "d": "(d) sklearn MLPClassifier",
}


class TwoLogitMLP(nn.Module):
    """30 -> 64 -> 64 -> 2 ReLU MLP producing two logits, for skorch."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, 2),
        )

    def forward(self, X):
        return self.net(X)


def make_data(n_samples):
    """Return standardized float32 features and integer binary labels.

    Parameters
    ----------
    n_samples : int
        Number of rows.

    Returns
    -------
    X : ndarray of shape (n_samples, 30), dtype float32
    y : ndarray of shape (n_samples,), dtype int64
    """
    X, y = make_classification(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_informative=10,
        weights=[0.8, 0.2],
        random_state=0,
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y.astype(np.int64)


def fit_torch_loop(X, y, batch_size, epochs):
    """Variant (a): train with a minimal hand-written PyTorch loop.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float32
    y : ndarray of shape (n_samples,)
    batch_size : int
    epochs : int

    Returns
    -------
    seconds : float
        Wall-clock time of model construction plus training, which is what a
        ``fit`` call of the other variants covers too.
    """
    start = time.perf_counter()
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(N_FEATURES, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, 1),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.float32))
    n = Xt.shape[0]
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        Xp = Xt.index_select(0, perm)
        yp = yt.index_select(0, perm)
        for i in range(0, n, batch_size):
            xb = Xp[i : i + batch_size]
            yb = yp[i : i + batch_size]
            loss = F.binary_cross_entropy_with_logits(model(xb).squeeze(-1), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - start


def fit_loss_classifier(X, y, batch_size, epochs):
    """Variant (b): ``sklearn_losses.LossClassifier``.

    Returns
    -------
    seconds : float or None
        Fit time, or None if ``sklearn_losses`` cannot be imported.
    """
    try:
        from sklearn_losses import LossClassifier
    except ImportError as exc:
        print(f"LossClassifier: not available ({exc})")
        return None
    clf = LossClassifier(
        loss="cross_entropy",
        hidden_layer_sizes=(HIDDEN, HIDDEN),
        activation="relu",
        optimizer="adam",
        lr=LR,
        batch_size=batch_size,
        max_epochs=epochs,
        random_state=0,
        verbose=0,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - start


def fit_skorch(X, y, batch_size, epochs):
    """Variant (c): ``skorch.NeuralNetClassifier`` with default callbacks.

    Returns
    -------
    seconds : float
    """
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        TwoLogitMLP,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    start = time.perf_counter()
    net.fit(X, y)
    return time.perf_counter() - start


def fit_sklearn_mlp(X, y, batch_size, epochs):
    """Variant (d): ``sklearn.neural_network.MLPClassifier`` (adam solver).

    Returns
    -------
    seconds : float
    """
    clf = MLPClassifier(
        hidden_layer_sizes=(HIDDEN, HIDDEN),
        solver="adam",
        learning_rate_init=LR,
        batch_size=batch_size,
        max_iter=epochs,
        n_iter_no_change=10**9,
        tol=0,
        shuffle=True,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        clf.fit(X, y)
        return time.perf_counter() - start


FIT_FUNCS = {
    "a": fit_torch_loop,
    "b": fit_loss_classifier,
    "c": fit_skorch,
    "d": fit_sklearn_mlp,
}


def run_benchmark(X, y, batch_sizes, epochs, repeats):
    """Time every variant at every batch size, round-robin over variants.

    Parameters
    ----------
    X, y : ndarray
        Training data.
    batch_sizes : list of int
    epochs : int
    repeats : int

    Returns
    -------
    times : dict
        ``times[variant][batch_size]`` is the list of measured seconds, or
        None if the variant is not available.
    """
    times = {key: {bs: [] for bs in batch_sizes} for key in FIT_FUNCS}
    unavailable = set()
    for bs in batch_sizes:
        for _ in range(repeats):
            for key, func in FIT_FUNCS.items():
                if key in unavailable:
                    continue
                seconds = func(X, y, bs, epochs)
                if seconds is None:
                    unavailable.add(key)
                else:
                    times[key][bs].append(seconds)
    for key in unavailable:
        times[key] = dict.fromkeys(batch_sizes)
    return times


def summarize(times, batch_sizes):
    """Reduce the raw timings to medians and ratios to variant (a).

    Returns
    -------
    summary : dict
        ``summary[variant][batch_size]`` is a dict with ``median`` and
        ``ratio`` (both None if the variant is not available).
    """
    summary = {}
    for key in FIT_FUNCS:
        summary[key] = {}
        for bs in batch_sizes:
            samples = times[key][bs]
            if not samples:
                summary[key][bs] = {"median": None, "ratio": None}
                continue
            median = statistics.median(samples)
            ref = statistics.median(times["a"][bs])
            summary[key][bs] = {"median": median, "ratio": median / ref}
    return summary


def format_table(summary, batch_sizes):
    """Render the summary as a markdown table (rows: variants)."""
    header = "| variant | " + " | ".join(f"batch {bs}" for bs in batch_sizes) + " |"
    sep = "|---|" + "---:|" * len(batch_sizes)
    lines = [header, sep]
    for key, label in VARIANTS.items():
        cells = []
        for bs in batch_sizes:
            cell = summary[key][bs]
            if cell["median"] is None:
                cells.append("not available")
            else:
                cells.append(f"{cell['median']:.3f} s ({cell['ratio']:.2f}x)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 1024])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: n_samples=4000, epochs=2, repeats=1",
    )
    parser.add_argument("--json", default=None, help="write results to this path")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 4000, 2, 1
    return args


def main(argv=None):
    """Run the benchmark and print (and optionally save) the results."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    # numpy's BLAS (used by MLPClassifier) is not governed by torch; pin it too
    # so that every variant runs on one core.
    with threadpool_limits(limits=1):
        _run(args)


def _run(args):
    """Body of :func:`main`, executed under a one-thread BLAS limit."""
    X, y = make_data(args.n_samples)
    FIT_FUNCS["a"](X[:512], y[:512], 128, 1)  # warm up torch kernels / allocator

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "blas_threads": {
            f"{p['internal_api']}@{p['prefix']}": p["num_threads"]
            for p in threadpool_info()
        },
        "n_samples": args.n_samples,
        "n_features": N_FEATURES,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "batch_sizes": args.batch_sizes,
    }
    print(
        f"torch {info['torch']}, skorch {info['skorch']}, "
        f"sklearn {info['sklearn']}, python {info['python']}, "
        f"torch threads {info['torch_num_threads']}, "
        f"BLAS/OpenMP threads {sorted(set(info['blas_threads'].values()))}"
    )
    print(
        f"{args.n_samples} rows x {N_FEATURES} features, {args.epochs} epochs, "
        f"median of {args.repeats} repeat(s)\n"
    )

    times = run_benchmark(X, y, args.batch_sizes, args.epochs, args.repeats)
    summary = summarize(times, args.batch_sizes)
    print(format_table(summary, args.batch_sizes))

    if args.json:
        result = {
            "info": info,
            "variants": VARIANTS,
            "times": {
                key: {str(bs): v for bs, v in per_bs.items()}
                for key, per_bs in times.items()
            },
            "summary": {
                key: {str(bs): v for bs, v in per_bs.items()}
                for key, per_bs in summary.items()
            },
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
