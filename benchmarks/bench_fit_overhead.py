"""Benchmark the per-fit overhead of ``LossClassifier`` against plain PyTorch.

What it measures
----------------
In a single process with ``torch.set_num_threads(1)``, the same two-hidden-layer
(64, 64) ReLU MLP is trained on the same synthetic classification data
(``make_classification`` with 20,000 rows x 30 features, 10 informative,
standardized, float32; 2 classes with weights 0.8 / 0.2, and 10 balanced
classes) for 10 epochs with Adam (lr=1e-3), once per number of classes (2 and
10 by default) and batch size (128 and 1024 by default), as:

(a) a hand-written PyTorch loop (one ``randperm`` per epoch, one permutation of
    the data, contiguous slices; one logit and
    ``binary_cross_entropy_with_logits`` for 2 classes, ``K`` logits and
    ``cross_entropy`` for ``K`` classes);
(b) ``sklearn_losses.LossClassifier(loss="cross_entropy", ...)``, one row per
    loss given with ``--losses`` (one logit for a binary cross-entropy, as (a));
(c) ``skorch.NeuralNetClassifier`` out of the box (``K`` logits, 2 for a binary
    task, ``CrossEntropyLoss``, ``train_split=None``);
(d) ``sklearn.neural_network.MLPClassifier`` with the ``adam`` solver.

numpy's BLAS and OpenMP pools are also limited to one thread (threadpoolctl)
so that every variant runs on a single core. Only the ``fit`` call is timed
(``time.perf_counter``, or the process's CPU time with ``--clock cpu`` on a
shared machine, where other processes' time slices inflate wall time); for (a)
that covers building the model and optimizer plus the training loop. Each
measurement is repeated ``--repeats`` times, interleaving the variants and
settings round-robin so that slow drift of the machine affects all of them
alike, and the median is reported. The output is a markdown table (one column
per number of classes and batch size) whose cells read ``median seconds (ratio
to (a))``.

Target
------
(b) with the cross-entropy should cost at most 1.15x the time of (a) at batch
size 128 and at most 1.05x at batch size 1024, with 2 and with 10 classes.

How to run
----------
::

    python benchmarks/bench_fit_overhead.py
    python benchmarks/bench_fit_overhead.py --quick          # smoke test
    python benchmarks/bench_fit_overhead.py --repeats 5 --json results.json
    python benchmarks/bench_fit_overhead.py --classes 10 --losses cross_entropy focal
    python benchmarks/bench_fit_overhead.py --variants a b   # without (c) and (d)
    python benchmarks/bench_fit_overhead.py --clock cpu      # on a shared machine
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

#: The timer of every measurement: wall time, or with ``--clock cpu`` the CPU
#: time of this process (``time.process_time``), which time slices given to
#: other processes on a shared machine do not inflate.
clock = time.perf_counter

#: Variant keys and row labels; (b) gets one row per loss (``b:<loss>``).
VARIANTS = {
    "a": "(a) hand-written PyTorch loop",
    "b": "(b) sklearn_losses.LossClassifier",
    "c": "(c) skorch.NeuralNetClassifier",
    "d": "(d) sklearn MLPClassifier",
}


class MLP(nn.Module):
    """30 -> 64 -> 64 -> ``n_out`` ReLU MLP (for skorch, ``n_out`` logits)."""

    def __init__(self, n_out=2):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(N_FEATURES, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, n_out),
        )

    def forward(self, X):
        return self.net(X)


def make_data(n_samples, n_classes=2):
    """Return standardized float32 features and integer labels.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    n_classes : int, default=2
        Number of classes: 2 with weights 0.8 / 0.2, more balanced.

    Returns
    -------
    X : ndarray of shape (n_samples, 30), dtype float32
    y : ndarray of shape (n_samples,), dtype int64
    """
    X, y = make_classification(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_informative=10,
        n_classes=n_classes,
        weights=[0.8, 0.2] if n_classes == 2 else None,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X, y.astype(np.int64)


def fit_torch_loop(X, y, batch_size, epochs):
    """Variant (a): train with a minimal hand-written PyTorch loop.

    One logit and ``binary_cross_entropy_with_logits`` for two classes, ``K``
    logits and ``cross_entropy`` for ``K > 2``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float32
    y : ndarray of shape (n_samples,), labels ``0, ..., K-1``
    batch_size : int
    epochs : int

    Returns
    -------
    seconds : float
        Time (see :data:`clock`) of model construction plus training, which is
        what a ``fit`` call of the other variants covers too.
    """
    start = clock()
    n_classes = int(y.max()) + 1
    binary = n_classes == 2
    torch.manual_seed(0)
    model = MLP(1 if binary else n_classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.float32) if binary else y)
    n = Xt.shape[0]
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        Xp = Xt.index_select(0, perm)
        yp = yt.index_select(0, perm)
        for i in range(0, n, batch_size):
            xb = Xp[i : i + batch_size]
            yb = yp[i : i + batch_size]
            if binary:
                out = model(xb).squeeze(-1)
                loss = F.binary_cross_entropy_with_logits(out, yb)
            else:
                loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return clock() - start


def fit_loss_classifier(X, y, batch_size, epochs, loss="cross_entropy"):
    """Variant (b): ``sklearn_losses.LossClassifier`` with ``loss``.

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
        loss=loss,
        hidden_layer_sizes=(HIDDEN, HIDDEN),
        activation="relu",
        optimizer="adam",
        lr=LR,
        batch_size=batch_size,
        max_epochs=epochs,
        random_state=0,
        verbose=0,
    )
    start = clock()
    clf.fit(X, y)
    return clock() - start


def fit_skorch(X, y, batch_size, epochs):
    """Variant (c): ``skorch.NeuralNetClassifier`` with default callbacks.

    Returns
    -------
    seconds : float
    """
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        MLP,
        module__n_out=int(y.max()) + 1,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )
    start = clock()
    net.fit(X, y)
    return clock() - start


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
        start = clock()
        clf.fit(X, y)
        return clock() - start


FIT_FUNCS = {
    "a": fit_torch_loop,
    "b": fit_loss_classifier,
    "c": fit_skorch,
    "d": fit_sklearn_mlp,
}


def variant_rows(variants, losses):
    """Row keys and labels: (b) once per loss, ``"b:<loss>"``."""
    rows = {}
    for key in variants:
        if key == "b":
            for loss in losses:
                rows[f"b:{loss}"] = f"{VARIANTS['b']}, loss={loss!r}"
        else:
            rows[key] = VARIANTS[key]
    return rows


def _call(row, X, y, batch_size, epochs):
    key, _, loss = row.partition(":")
    if key == "b":
        return fit_loss_classifier(X, y, batch_size, epochs, loss)
    return FIT_FUNCS[key](X, y, batch_size, epochs)


def run_benchmark(data, batch_sizes, epochs, repeats, rows):
    """Time every row at every setting, round-robin over settings and rows.

    Parameters
    ----------
    data : dict
        ``data[n_classes]`` is the ``(X, y)`` training data.
    batch_sizes : list of int
    epochs : int
    repeats : int
    rows : iterable of str
        Row keys (see :func:`variant_rows`); ``"a"`` must be one of them.

    Returns
    -------
    times : dict
        ``times[row][(n_classes, batch_size)]`` is the list of measured
        seconds (empty if the variant is not available).
    """
    settings = [(k, bs) for k in data for bs in batch_sizes]
    times = {row: {s: [] for s in settings} for row in rows}
    unavailable = set()
    for _ in range(repeats):
        for setting in settings:
            X, y = data[setting[0]]
            for row in rows:
                if row in unavailable:
                    continue
                seconds = _call(row, X, y, setting[1], epochs)
                if seconds is None:
                    unavailable.add(row)
                else:
                    times[row][setting].append(seconds)
    return times


def summarize(times):
    """Reduce the raw timings to medians and ratios to variant (a).

    Returns
    -------
    summary : dict
        ``summary[row][setting]`` is a dict with ``median`` and ``ratio`` (both
        None if the variant is not available).
    """
    summary = {}
    for row, per_setting in times.items():
        summary[row] = {}
        for setting, samples in per_setting.items():
            if not samples:
                summary[row][setting] = {"median": None, "ratio": None}
                continue
            median = statistics.median(samples)
            ref = statistics.median(times["a"][setting])
            summary[row][setting] = {"median": median, "ratio": median / ref}
    return summary


def format_table(summary, rows):
    """Render the summary as a markdown table (rows: variants; columns:
    number of classes and batch size)."""
    settings = list(next(iter(summary.values())))
    header = "| variant | " + " | ".join(
        f"{k} classes, batch {bs}" for k, bs in settings
    )
    lines = [header + " |", "|---|" + "---:|" * len(settings)]
    for row, label in rows.items():
        cells = []
        for setting in settings:
            cell = summary[row][setting]
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
    parser.add_argument("--classes", type=int, nargs="+", default=[2, 10])
    parser.add_argument(
        "--losses",
        nargs="+",
        default=["cross_entropy"],
        help="losses of LossClassifier, one row (b) each",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=list(VARIANTS),
        default=list(VARIANTS),
        help="variants to run ((a), the reference, always runs)",
    )
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="wall time, or this process's CPU time (for a shared machine)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: n_samples=4000, epochs=2, repeats=1",
    )
    parser.add_argument("--json", default=None, help="write results to this path")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 4000, 2, 1
    if min(args.classes) < 2:
        parser.error("--classes must be >= 2")
    if "a" not in args.variants:
        args.variants = ["a", *args.variants]
    return args


def main(argv=None):
    """Run the benchmark and print (and optionally save) the results."""
    global clock
    args = parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    # numpy's BLAS (used by MLPClassifier) is not governed by torch; pin it too
    # so that every variant runs on one core.
    with threadpool_limits(limits=1):
        _run(args)


def _run(args):
    """Body of :func:`main`, executed under a one-thread BLAS limit."""
    data = {k: make_data(args.n_samples, k) for k in args.classes}
    rows = variant_rows(args.variants, args.losses)
    # Warm up torch kernels, the allocator and the imports of every row.
    for X, y in data.values():
        for row in rows:
            _call(row, X[:512], y[:512], 128, 1)

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "skorch": skorch.__version__,
        "sklearn": sklearn.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "blas_threads": {
            f"{p['internal_api']}@{p['prefix']}": p["num_threads"]
            for p in threadpool_info()
        },
        "n_samples": args.n_samples,
        "n_features": N_FEATURES,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "clock": args.clock,
        "batch_sizes": args.batch_sizes,
        "classes": args.classes,
        "losses": args.losses,
    }
    print(
        f"torch {info['torch']} ({info['cpu_capability']}), skorch "
        f"{info['skorch']}, sklearn {info['sklearn']}, python {info['python']}, "
        f"torch threads {info['torch_num_threads']}, "
        f"BLAS/OpenMP threads {sorted(set(info['blas_threads'].values()))}"
    )
    print(
        f"{args.n_samples} rows x {N_FEATURES} features, {args.epochs} epochs, "
        f"median of {args.repeats} repeat(s), {args.clock} time\n"
    )

    times = run_benchmark(data, args.batch_sizes, args.epochs, args.repeats, rows)
    summary = summarize(times)
    print(format_table(summary, rows))

    if args.json:

        def keyed(per_setting):
            return {f"{k}x{bs}": v for (k, bs), v in per_setting.items()}

        result = {
            "info": info,
            "variants": rows,
            "times": {row: keyed(v) for row, v in times.items()},
            "summary": {row: keyed(v) for row, v in summary.items()},
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
