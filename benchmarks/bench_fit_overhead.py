"""Benchmark the per-fit overhead of the estimators against plain PyTorch.

What it measures
----------------
In a single process with ``torch.set_num_threads(1)``, the same two-hidden-layer
(64, 64) ReLU MLP (in the ensemble task, the same BatchEnsemble of such MLPs)
is trained for 10 epochs with Adam (lr=1e-3) on 20,000 rows x 30 standardized
float32 features, by an estimator and by a hand-written PyTorch loop doing the
same work, for these tasks:

classification
    ``make_classification`` (10 informative features; 2 classes with weights
    0.8 / 0.2, and 10 balanced classes), batch sizes 128 and 1024:

    (a) a hand-written PyTorch loop (one ``randperm`` per epoch, one
        permutation of the data, contiguous slices; one logit and
        ``binary_cross_entropy_with_logits`` for 2 classes, ``K`` logits and
        ``cross_entropy`` for ``K`` classes);
    (b) ``sklearn_losses.LossClassifier(loss="cross_entropy", ...)``, one row
        per loss given with ``--losses`` (one logit for a binary cross-entropy,
        as (a));
    (c) ``skorch.NeuralNetClassifier`` out of the box (``K`` logits, 2 for a
        binary task, ``CrossEntropyLoss``, ``train_split=None``);
    (d) ``sklearn.neural_network.MLPClassifier`` with the ``adam`` solver.

regression
    ``make_regression`` (10 informative features, noise 10) with the target
    standardized once before timing, batch sizes 128 and 1024:

    (a) the same hand-written loop with one output and ``F.mse_loss``;
    (b) ``sklearn_losses.LossRegressor(loss="mse", standardize_target=False)``
        (the target is already standardized, so both sides do the same work);
    (c) ``skorch.NeuralNetRegressor`` (one output, ``MSELoss``,
        ``train_split=None``);
    (d) ``sklearn.neural_network.MLPRegressor`` with the ``adam`` solver.

whole groups
    The binary data of the classification task, cut into queries of 10 to 100
    rows (sizes drawn uniformly; the rows of a query are adjacent, the last
    query ends at the first total of at least 20,000 rows), a budget of 512
    rows per batch:

    (a) a hand-written loop over whole queries: the row indices of each query
        computed once, and each epoch the queries shuffled (``randperm``),
        packed in that order into batches of whole queries up to the budget
        (a query that does not fit starts the next batch), and each batch
        gathered with ``torch.cat`` of its queries' index tensors and
        ``index_select``; one logit and ``binary_cross_entropy_with_logits``;
    (b) ``LossClassifier(batch_sampler=GroupBatches(), batch_size=512)`` fitted
        with ``groups=qid``, one row per loss given with ``--losses``.

ranking
    The queries of the whole-group task with their 0 / 1 labels as relevance,
    a budget of 512 rows per batch:

    (a) the hand-written loop over whole queries of the whole-group task, each
        batch's scores padded into a ``[queries, longest]`` matrix
        (``pad_sequence`` of the scores split by query) with a mask from the
        query sizes, and RankNet: ``softplus(-(s_i - s_j))`` averaged over the
        pairs with ``y_i > y_j`` of every query of the batch;
    (b) ``LossRanker(batch_size=512)`` fitted with ``qid=``, one row per loss
        given with ``--ranking-losses`` (default ``ranknet``, the same loss as
        (a), and ``listnet``, ``lambda``).

ensemble (only with ``--tasks ensemble``; not run by default)
    The binary data of the classification task and the BatchEnsemble network
    of ``sklearn_losses.modules.TabularMLP`` (no embeddings, hidden layers
    (64, 64), one logit per member) with ``k`` members, ``k`` in ``--members``
    (default 1, 4, 8, 16), at the batch sizes of classification:

    (a) the hand-written loop of classification training
        ``TabularMLP(30, 1, hidden_layer_sizes=(64, 64), n_ensemble=k,
        embedding=None)``, whose output in training mode is ``(B, k)``, with
        one ``binary_cross_entropy_with_logits`` of the whole output against
        the labels repeated for every member (the mean of the members'
        losses);
    (b) ``LossClassifier(module="tabular", module__n_ensemble=k,
        module__embedding=None, input_scaling=None, early_stopping=False)``,
        one row per loss given with ``--losses``; its engine takes a
        per-sample loss's ``k`` members in one call (other losses once per
        member) and averages.

    A second table gives the cost per member: the median divided by ``k``, and
    in parentheses the median over the median with ``k = 1`` at the same batch
    size.

numpy's BLAS and OpenMP pools are also limited to one thread (threadpoolctl)
so that every variant runs on a single core. Only the ``fit`` call is timed
(``time.perf_counter``, or the process's CPU time with ``--clock cpu`` on a
shared machine, where other processes' time slices inflate wall time); for (a)
that covers building the model and optimizer (and the queries' row indices)
plus the training loop. Each measurement is repeated ``--repeats`` times,
interleaving the variants and settings of all tasks round-robin so that slow
drift of the machine affects all of them alike, and the median is reported.
The output is one markdown table per task (one column per setting) whose cells
read ``median seconds (ratio to (a))``; ``--out`` also writes it, with the
command and the versions, to a markdown file.

Target
------
(b) should cost at most 1.15x the time of (a) at batch size 128 and at most
1.05x at batch size 1024, with 2 and with 10 classes and in regression, and at
most 1.15x with whole-group batches and in ranking (RankNet). The ensemble task
has no target of its own: it shows how the cost of (a) and (b) grows with the
number of members.

How to run
----------
::

    python benchmarks/bench_fit_overhead.py                  # about a minute
    python benchmarks/bench_fit_overhead.py --quick          # smoke test
    python benchmarks/bench_fit_overhead.py --repeats 5 --json results.json
    python benchmarks/bench_fit_overhead.py --classes 10 --losses cross_entropy focal
    python benchmarks/bench_fit_overhead.py --variants a b   # without (c) and (d)
    python benchmarks/bench_fit_overhead.py --tasks regression groups
    python benchmarks/bench_fit_overhead.py --clock cpu      # on a shared machine
    python benchmarks/bench_fit_overhead.py --tasks ensemble --members 1 8 \
        --out results.md                                     # also write the tables
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import sys
import time
import warnings

import numpy as np
import sklearn
import skorch
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from sklearn_losses import GroupBatches, LossClassifier, LossRanker, LossRegressor
from sklearn_losses.modules import TabularMLP

N_FEATURES = 30
HIDDEN = 64
LR = 1e-3
#: Rows of a query in the whole-group task: drawn uniformly from this range.
QUERY_ROWS = (10, 100)

#: The timer of every measurement: wall time, or with ``--clock cpu`` the CPU
#: time of this process (``time.process_time``), which time slices given to
#: other processes on a shared machine do not inflate.
clock = time.perf_counter

#: Tasks (``--tasks``) and their table titles. A setting is ``(kind,
#: batch_size)``: the kind of a classification setting is its number of
#: classes, of an ensemble setting ``("ensemble", k)``, else the task's name.
TASKS = {
    "classification": "Classification",
    "regression": "Regression",
    "groups": "Whole-group batches",
    "ranking": "Ranking (whole queries, RankNet)",
    "ensemble": "Ensemble (BatchEnsemble TabularMLP, k members, 2 classes)",
}
#: Tasks run when ``--tasks`` is not given (the ensemble task only on request).
DEFAULT_TASKS = ["classification", "regression", "groups", "ranking"]

#: Row labels per task; (b) gets one row per loss (``b:<loss>``) except in
#: regression, where it is ``b:mse``.
VARIANTS = {
    "classification": {
        "a": "(a) hand-written PyTorch loop",
        "b": "(b) sklearn_losses.LossClassifier",
        "c": "(c) skorch.NeuralNetClassifier",
        "d": "(d) sklearn MLPClassifier",
    },
    "regression": {
        "a": "(a) hand-written PyTorch loop",
        "b": "(b) sklearn_losses.LossRegressor",
        "c": "(c) skorch.NeuralNetRegressor",
        "d": "(d) sklearn MLPRegressor",
    },
    "groups": {
        "a": "(a) hand-written PyTorch loop over whole queries",
        "b": "(b) sklearn_losses.LossClassifier, batch_sampler=GroupBatches()",
    },
    "ranking": {
        "a": "(a) hand-written PyTorch RankNet loop over whole queries",
        "b": "(b) sklearn_losses.LossRanker",
    },
    "ensemble": {
        "a": "(a) hand-written PyTorch loop, one BCE over the (B, k) output",
        "b": "(b) sklearn_losses.LossClassifier, module='tabular'",
    },
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


# -- data ---------------------------------------------------------------------
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


def make_regression_data(n_samples):
    """Return standardized float32 features and a standardized float32 target.

    Returns
    -------
    X : ndarray of shape (n_samples, 30), dtype float32
    y : ndarray of shape (n_samples,), dtype float32
    """
    X, y = make_regression(
        n_samples=n_samples,
        n_features=N_FEATURES,
        n_informative=10,
        noise=10.0,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X).astype(np.float32)
    y = ((y - y.mean()) / y.std()).astype(np.float32)
    return X, y


def make_group_data(n_samples):
    """Return binary data cut into queries of 10 to 100 adjacent rows.

    Query sizes are drawn uniformly from :data:`QUERY_ROWS` until they total at
    least ``n_samples`` rows; the data has that total.

    Returns
    -------
    X : ndarray of shape (n_rows, 30), dtype float32
    y : ndarray of shape (n_rows,), dtype int64, labels 0 / 1 (0.8 / 0.2)
    qid : ndarray of shape (n_rows,), dtype int64, the query of each row
    """
    rng = np.random.default_rng(0)
    low, high = QUERY_ROWS
    sizes = rng.integers(low, high + 1, size=n_samples // low + 1)
    n_queries = int(np.searchsorted(np.cumsum(sizes), n_samples)) + 1
    sizes = sizes[:n_queries]
    X, y = make_data(int(sizes.sum()), 2)
    qid = np.repeat(np.arange(n_queries), sizes)
    return X, y, qid


# -- (a) hand-written loops ------------------------------------------------------
def _train_step(model, optimizer, loss):
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def fit_torch_loop(X, y, batch_size, epochs):
    """Variant (a) of classification: a minimal hand-written PyTorch loop.

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
            _train_step(model, optimizer, loss)
    return clock() - start


def fit_torch_regression_loop(X, y, batch_size, epochs):
    """Variant (a) of regression: the loop of :func:`fit_torch_loop` with one
    output and ``F.mse_loss`` on the (already standardized) float target.

    Returns
    -------
    seconds : float
    """
    start = clock()
    torch.manual_seed(0)
    model = MLP(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y)
    n = Xt.shape[0]
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n)
        Xp = Xt.index_select(0, perm)
        yp = yt.index_select(0, perm)
        for i in range(0, n, batch_size):
            xb = Xp[i : i + batch_size]
            yb = yp[i : i + batch_size]
            loss = F.mse_loss(model(xb).squeeze(-1), yb)
            _train_step(model, optimizer, loss)
    return clock() - start


def fit_torch_group_loop(X, y, qid, batch_size, epochs):
    """Variant (a) of whole groups: a hand-written loop over whole queries.

    The row indices of each query are computed once; each epoch the queries
    are shuffled and packed in that order into batches of whole queries of at
    most ``batch_size`` rows (a query that does not fit starts the next batch);
    a batch is gathered with ``torch.cat`` of its queries' index tensors and
    ``index_select``. One logit and ``binary_cross_entropy_with_logits``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float32
    y : ndarray of shape (n_samples,), labels 0 / 1
    qid : ndarray of shape (n_samples,), the query of each row
    batch_size : int
        Row budget of a batch (at least the largest query).
    epochs : int

    Returns
    -------
    seconds : float
        Time of the queries' row indices, model construction and training.
    """
    start = clock()
    torch.manual_seed(0)
    model = MLP(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.float32))
    rows = np.argsort(qid, kind="stable")
    bounds = np.flatnonzero(np.diff(qid[rows])) + 1
    queries = [torch.from_numpy(r) for r in np.split(rows, bounds)]
    sizes = [len(q) for q in queries]
    model.train()
    for _ in range(epochs):
        batches, batch, n_rows = [], [], 0
        for q in torch.randperm(len(queries)).tolist():
            if n_rows and n_rows + sizes[q] > batch_size:
                batches.append(batch)
                batch, n_rows = [], 0
            batch.append(queries[q])
            n_rows += sizes[q]
        batches.append(batch)
        for batch in batches:
            idx = torch.cat(batch)
            xb = Xt.index_select(0, idx)
            yb = yt.index_select(0, idx)
            out = model(xb).squeeze(-1)
            loss = F.binary_cross_entropy_with_logits(out, yb)
            _train_step(model, optimizer, loss)
    return clock() - start


def _query_batches(queries, sizes, batch_size):
    """Whole queries shuffled and packed into batches of at most ``batch_size``
    rows (a query that does not fit starts the next batch)."""
    batches, batch, n_rows = [], [], 0
    for q in torch.randperm(len(queries)).tolist():
        if n_rows and n_rows + sizes[q] > batch_size:
            batches.append(batch)
            batch, n_rows = [], 0
        batch.append(q)
        n_rows += sizes[q]
    batches.append(batch)
    return batches


def fit_torch_ranknet_loop(X, y, qid, batch_size, epochs):
    """Variant (a) of ranking: whole queries, padded scores, RankNet.

    Each batch of whole queries (packed as in :func:`fit_torch_group_loop`)
    is scored in one call; its scores and labels are split by query and padded
    into ``[queries, longest]`` matrices (``pad_sequence``) with a mask from
    the sizes, and the loss is ``softplus(-(s_i - s_j))`` averaged over the
    pairs of a query with ``y_i > y_j``.

    Returns
    -------
    seconds : float
    """
    start = clock()
    torch.manual_seed(0)
    model = MLP(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.float32))
    rows = np.argsort(qid, kind="stable")
    bounds = np.flatnonzero(np.diff(qid[rows])) + 1
    queries = [torch.from_numpy(r) for r in np.split(rows, bounds)]
    sizes = [len(q) for q in queries]
    model.train()
    for _ in range(epochs):
        for batch in _query_batches(queries, sizes, batch_size):
            idx = torch.cat([queries[q] for q in batch])
            lengths = [sizes[q] for q in batch]
            out = model(Xt.index_select(0, idx)).squeeze(-1)
            s = pad_sequence(out.split(lengths), batch_first=True)
            yb = pad_sequence(yt.index_select(0, idx).split(lengths), batch_first=True)
            real = torch.arange(s.shape[1]) < torch.tensor(lengths)[:, None]
            valid = (
                (yb[:, :, None] > yb[:, None, :]) & real[:, :, None] & real[:, None, :]
            )
            diff = s[:, :, None] - s[:, None, :]
            loss = F.softplus(-diff[valid]).mean()
            _train_step(model, optimizer, loss)
    return clock() - start


def fit_torch_ensemble_loop(X, y, k, batch_size, epochs):
    """Variant (a) of the ensemble: the loop of :func:`fit_torch_loop` training
    ``TabularMLP(30, 1, hidden_layer_sizes=(64, 64), n_ensemble=k,
    embedding=None)``.

    The training output is viewed as ``(B, k)`` (with ``k = 1`` the module
    returns ``(B,)``) and the loss is one ``binary_cross_entropy_with_logits``
    of it against the labels expanded to every member, which equals the mean
    of the members' losses.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), dtype float32
    y : ndarray of shape (n_samples,), labels 0 / 1
    k : int
        Members of the ensemble.
    batch_size : int
    epochs : int

    Returns
    -------
    seconds : float
    """
    start = clock()
    torch.manual_seed(0)
    model = TabularMLP(
        N_FEATURES, 1, hidden_layer_sizes=(HIDDEN, HIDDEN), n_ensemble=k, embedding=None
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
            out = model(xb).view(xb.shape[0], -1)
            target = yb[:, None].expand_as(out).float()
            loss = F.binary_cross_entropy_with_logits(out, target)
            _train_step(model, optimizer, loss)
    return clock() - start


# -- (b) sklearn_losses ------------------------------------------------------------
def _fit_timed(estimator, *args, **kwargs):
    start = clock()
    estimator.fit(*args, **kwargs)
    return clock() - start


def _network_params(batch_size, epochs):
    return {
        "hidden_layer_sizes": (HIDDEN, HIDDEN),
        "activation": "relu",
        "optimizer": "adam",
        "lr": LR,
        "batch_size": batch_size,
        "max_epochs": epochs,
        "random_state": 0,
        "verbose": 0,
    }


#: LossClassifier on the same plain MLP as the hand-written loop, trained on
#: every row (its default is the tabular ensemble with early stopping).
PLAIN_CLASSIFIER = {"module": "mlp", "input_scaling": None, "early_stopping": False}


def fit_loss_classifier(X, y, batch_size, epochs, loss="cross_entropy"):
    """Variant (b) of classification: ``LossClassifier`` with ``loss``.

    Returns
    -------
    seconds : float
    """
    clf = LossClassifier(
        loss=loss, **PLAIN_CLASSIFIER, **_network_params(batch_size, epochs)
    )
    return _fit_timed(clf, X, y)


def fit_loss_regressor(X, y, batch_size, epochs, loss="mse"):
    """Variant (b) of regression: ``LossRegressor(standardize_target=False)``.

    Returns
    -------
    seconds : float
    """
    reg = LossRegressor(
        loss=loss, standardize_target=False, **_network_params(batch_size, epochs)
    )
    return _fit_timed(reg, X, y)


def fit_group_classifier(X, y, qid, batch_size, epochs, loss="cross_entropy"):
    """Variant (b) of whole groups: ``LossClassifier`` with
    ``batch_sampler=GroupBatches()``, fitted with ``groups=qid``.

    Returns
    -------
    seconds : float
    """
    clf = LossClassifier(
        loss=loss,
        batch_sampler=GroupBatches(),
        **PLAIN_CLASSIFIER,
        **_network_params(batch_size, epochs),
    )
    return _fit_timed(clf, X, y, groups=qid)


def fit_loss_ranker(X, y, qid, batch_size, epochs, loss="ranknet"):
    """Variant (b) of ranking: ``LossRanker`` fitted with ``qid=``.

    Returns
    -------
    seconds : float
    """
    ranker = LossRanker(loss=loss, **_network_params(batch_size, epochs))
    return _fit_timed(ranker, X, y.astype(np.float32), qid=qid)


def fit_ensemble_classifier(X, y, k, batch_size, epochs, loss="cross_entropy"):
    """Variant (b) of the ensemble: ``LossClassifier(module="tabular")`` with
    ``k`` members, no embeddings and no input scaling.

    Returns
    -------
    seconds : float
    """
    clf = LossClassifier(
        loss=loss,
        module="tabular",
        module__n_ensemble=k,
        module__embedding=None,
        input_scaling=None,
        early_stopping=False,
        **_network_params(batch_size, epochs),
    )
    return _fit_timed(clf, X, y)


# -- (c) skorch and (d) scikit-learn ------------------------------------------------
def _skorch_params(batch_size, epochs):
    return {
        "optimizer": torch.optim.Adam,
        "lr": LR,
        "batch_size": batch_size,
        "max_epochs": epochs,
        "train_split": None,
        "iterator_train__shuffle": True,
        "verbose": 0,
    }


def fit_skorch(X, y, batch_size, epochs):
    """Variant (c) of classification: ``skorch.NeuralNetClassifier`` with
    default callbacks.

    Returns
    -------
    seconds : float
    """
    torch.manual_seed(0)
    net = skorch.NeuralNetClassifier(
        MLP,
        module__n_out=int(y.max()) + 1,
        criterion=nn.CrossEntropyLoss,
        **_skorch_params(batch_size, epochs),
    )
    return _fit_timed(net, X, y)


def fit_skorch_regressor(X, y, batch_size, epochs):
    """Variant (c) of regression: ``skorch.NeuralNetRegressor`` (one output,
    ``MSELoss``) with default callbacks.

    Returns
    -------
    seconds : float
    """
    torch.manual_seed(0)
    net = skorch.NeuralNetRegressor(
        MLP, module__n_out=1, criterion=nn.MSELoss, **_skorch_params(batch_size, epochs)
    )
    return _fit_timed(net, X, y.reshape(-1, 1))


def _sklearn_params(batch_size, epochs):
    return {
        "hidden_layer_sizes": (HIDDEN, HIDDEN),
        "solver": "adam",
        "learning_rate_init": LR,
        "batch_size": batch_size,
        "max_iter": epochs,
        "n_iter_no_change": 10**9,
        "tol": 0,
        "shuffle": True,
        "random_state": 0,
    }


def _fit_sklearn(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _fit_timed(estimator, X, y)


def fit_sklearn_mlp(X, y, batch_size, epochs):
    """Variant (d) of classification: ``MLPClassifier`` (adam solver).

    Returns
    -------
    seconds : float
    """
    return _fit_sklearn(MLPClassifier(**_sklearn_params(batch_size, epochs)), X, y)


def fit_sklearn_mlp_regressor(X, y, batch_size, epochs):
    """Variant (d) of regression: ``MLPRegressor`` (adam solver).

    Returns
    -------
    seconds : float
    """
    return _fit_sklearn(MLPRegressor(**_sklearn_params(batch_size, epochs)), X, y)


#: ``FIT_FUNCS[task][variant](*data, batch_size, epochs[, loss])``; (b) takes the
#: loss as its last argument.
FIT_FUNCS = {
    "classification": {
        "a": fit_torch_loop,
        "b": fit_loss_classifier,
        "c": fit_skorch,
        "d": fit_sklearn_mlp,
    },
    "regression": {
        "a": fit_torch_regression_loop,
        "b": fit_loss_regressor,
        "c": fit_skorch_regressor,
        "d": fit_sklearn_mlp_regressor,
    },
    "groups": {"a": fit_torch_group_loop, "b": fit_group_classifier},
    "ranking": {"a": fit_torch_ranknet_loop, "b": fit_loss_ranker},
    "ensemble": {"a": fit_torch_ensemble_loop, "b": fit_ensemble_classifier},
}


# -- the harness --------------------------------------------------------------------
def task_of(setting):
    """``"classification"`` for a number of classes, ``"ensemble"`` for
    ``("ensemble", k)``, else the task's name."""
    kind = setting[0]
    if isinstance(kind, int):
        return "classification"
    return kind[0] if isinstance(kind, tuple) else kind


def variant_rows(variants, losses, task="classification", ranking_losses=("ranknet",)):
    """Row keys and labels of ``task``: (b) once per loss, ``"b:<loss>"`` (in
    regression once, ``"b:mse"``); variants the task lacks are left out."""
    labels = VARIANTS[task]
    rows = {}
    for key in variants:
        if key not in labels:
            continue
        if key == "b":
            if task == "regression":
                task_losses = ["mse"]
            elif task == "ranking":
                task_losses = ranking_losses
            else:
                task_losses = losses
            for loss in task_losses:
                rows[f"b:{loss}"] = f"{labels['b']}, loss={loss!r}"
        else:
            rows[key] = labels[key]
    return rows


def _call(row, data, batch_size, epochs, task="classification"):
    key, _, loss = row.partition(":")
    fit = FIT_FUNCS[task][key]
    if key == "b":
        return fit(*data, batch_size, epochs, loss)
    return fit(*data, batch_size, epochs)


def run_benchmark(data, settings, rows, epochs, repeats):
    """Time every row at every setting, round-robin over settings and rows.

    Parameters
    ----------
    data : dict
        ``data[kind]`` is the training data (a tuple of arrays; for the
        ensemble, ``(X, y, k)``) of the settings ``(kind, batch_size)``:
        ``kind`` is a number of classes, ``"regression"``, ``"groups"``,
        ``"ranking"`` or ``("ensemble", k)``.
    settings : list of tuple
        ``(kind, batch_size)``.
    rows : dict
        ``rows[task]`` maps the row keys of ``task`` (see :func:`variant_rows`)
        to labels; ``"a"`` must be one of them.
    epochs : int
    repeats : int

    Returns
    -------
    times : dict
        ``times[row][setting]`` is the list of measured seconds (empty if the
        variant is not available), for the rows of the setting's task; the
        row keys of different tasks share one dict per key.
    """
    times = {}
    for setting in settings:
        for row in rows[task_of(setting)]:
            times.setdefault(row, {})[setting] = []
    unavailable = set()
    for _ in range(repeats):
        for setting in settings:
            task = task_of(setting)
            for row in rows[task]:
                if (task, row) in unavailable:
                    continue
                seconds = _call(row, data[setting[0]], setting[1], epochs, task)
                if seconds is None:
                    unavailable.add((task, row))
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


def setting_key(setting):
    """The key of a setting in the JSON output: ``"<kind>x<batch_size>"``, the
    kind of an ensemble setting written ``ensemble_k<k>``."""
    kind, batch_size = setting
    if isinstance(kind, tuple):
        kind = f"{kind[0]}_k{kind[1]}"
    return f"{kind}x{batch_size}"


def column_label(setting):
    """The table header of a setting."""
    kind, batch_size = setting
    if kind == "regression":
        return f"regression, batch {batch_size}"
    if kind in ("groups", "ranking"):
        return f"whole queries, batch {batch_size} rows"
    if task_of(setting) == "ensemble":
        return f"k={kind[1]}, batch {batch_size}"
    return f"{kind} classes, batch {batch_size}"


def format_table(summary, rows, settings=None):
    """Render the summary as a markdown table (rows: variants; columns: the
    settings, by default every setting of the first row)."""
    if settings is None:
        settings = list(next(iter(summary.values())))
    header = "| variant | " + " | ".join(column_label(s) for s in settings)
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


def format_member_table(summary, rows, settings):
    """Render the cost per member of ensemble settings as a markdown table:
    cells ``median / k`` in seconds and, in parentheses, the median over the
    median with ``k = 1`` at the same batch size (``-`` without a ``k = 1``
    setting)."""
    header = "| variant | " + " | ".join(column_label(s) for s in settings)
    lines = [header + " |", "|---|" + "---:|" * len(settings)]
    for row, label in rows.items():
        cells = []
        for setting in settings:
            (_, k), batch_size = setting
            median = summary[row][setting]["median"]
            one = summary[row].get((("ensemble", 1), batch_size), {}).get("median")
            if median is None:
                cells.append("not available")
            elif one is None:
                cells.append(f"{median / k:.3f} s (-)")
            else:
                cells.append(f"{median / k:.3f} s ({median / one:.2f}x)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv=None):
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--n-samples",
        type=int,
        default=20000,
        help="rows of every task (whole groups: the first total of whole "
        "queries at least this large)",
    )
    parser.add_argument(
        "--tasks",
        nargs="+",
        choices=list(TASKS),
        default=DEFAULT_TASKS,
        help="tasks to run, each with its own table (default: all but ensemble)",
    )
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="+",
        default=[128, 1024],
        help="batch sizes of classification, regression and ensemble",
    )
    parser.add_argument(
        "--members",
        type=int,
        nargs="+",
        default=[1, 4, 8, 16],
        help="ensemble members k of the ensemble task (include 1 for the ratios "
        "per member)",
    )
    parser.add_argument(
        "--group-batch-sizes",
        type=int,
        nargs="+",
        default=[512],
        help=f"rows per batch of whole queries (at least {QUERY_ROWS[1]})",
    )
    parser.add_argument("--classes", type=int, nargs="+", default=[2, 10])
    parser.add_argument(
        "--losses",
        nargs="+",
        default=["cross_entropy"],
        help="losses of LossClassifier, one row (b) each (classification and "
        "whole groups; regression uses 'mse')",
    )
    parser.add_argument(
        "--ranking-losses",
        nargs="+",
        default=["ranknet", "listnet", "lambda"],
        help="losses of LossRanker, one row (b) each (ranking)",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=list(VARIANTS["classification"]),
        default=list(VARIANTS["classification"]),
        help="variants to run ((a), the reference, always runs; whole groups "
        "has (a) and (b) only)",
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
    parser.add_argument(
        "--out", default=None, help="also write the tables to this markdown file"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.epochs, args.repeats = 4000, 2, 1
    if min(args.classes) < 2:
        parser.error("--classes must be >= 2")
    if min(args.members) < 1:
        parser.error("--members must be >= 1")
    if min(args.group_batch_sizes) < QUERY_ROWS[1]:
        parser.error(f"--group-batch-sizes must be >= {QUERY_ROWS[1]} (a query)")
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


def _plan(args):
    """The data (by kind), settings and rows (by task) of the run."""
    data, settings = {}, []
    if "classification" in args.tasks:
        for k in args.classes:
            data[k] = make_data(args.n_samples, k)
            settings += [(k, bs) for bs in args.batch_sizes]
    if "regression" in args.tasks:
        data["regression"] = make_regression_data(args.n_samples)
        settings += [("regression", bs) for bs in args.batch_sizes]
    if "groups" in args.tasks or "ranking" in args.tasks:
        groups = make_group_data(args.n_samples)
    if "groups" in args.tasks:
        data["groups"] = groups
        settings += [("groups", bs) for bs in args.group_batch_sizes]
    if "ranking" in args.tasks:
        data["ranking"] = groups
        settings += [("ranking", bs) for bs in args.group_batch_sizes]
    if "ensemble" in args.tasks:
        X, y = data[2] if 2 in data else make_data(args.n_samples, 2)
        for k in args.members:
            data[("ensemble", k)] = (X, y, k)
        settings += [
            (("ensemble", k), bs) for bs in args.batch_sizes for k in args.members
        ]
    rows = {
        task: variant_rows(args.variants, args.losses, task, args.ranking_losses)
        for task in TASKS
    }
    return data, settings, rows


def _run(args):
    """Body of :func:`main`, executed under a one-thread BLAS limit."""
    data, settings, rows = _plan(args)
    # Warm up torch kernels, the allocator and the imports of every row.
    for kind, arrays in data.items():
        task = task_of((kind, None))
        head = [a[:512] if isinstance(a, np.ndarray) else a for a in arrays]
        for row in rows[task]:
            _call(row, head, 128, 1, task)

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
        "tasks": args.tasks,
        "batch_sizes": args.batch_sizes,
        "group_batch_sizes": args.group_batch_sizes,
        "classes": args.classes,
        "losses": args.losses,
        "members": args.members,
    }
    notes = [
        f"torch {info['torch']} ({info['cpu_capability']}), skorch "
        f"{info['skorch']}, sklearn {info['sklearn']}, python {info['python']}, "
        f"torch threads {info['torch_num_threads']}, "
        f"BLAS/OpenMP threads {sorted(set(info['blas_threads'].values()))}",
        f"{args.n_samples} rows x {N_FEATURES} features, {args.epochs} epochs, "
        f"median of {args.repeats} repeat(s), {args.clock} time",
    ]
    if "groups" in data or "ranking" in data:
        qid = data.get("groups", data.get("ranking"))[2]
        info["group_rows"] = int(qid.shape[0])
        info["group_queries"] = int(qid[-1]) + 1
        notes.append(
            f"whole groups: {info['group_rows']} rows in {info['group_queries']} "
            f"queries of {QUERY_ROWS[0]} to {QUERY_ROWS[1]} rows"
        )
    print("\n".join(notes) + "\n")

    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    times = run_benchmark(data, settings, rows, args.epochs, args.repeats)
    finished = datetime.datetime.now(datetime.timezone.utc)
    notes.append(
        f"{started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC, load average (1 min) "
        f"{load_before[0]:.2f} before and {os.getloadavg()[0]:.2f} after, "
        f"{os.cpu_count()} CPUs"
    )
    summary = summarize(times)
    sections = []
    for task in TASKS:
        task_settings = [s for s in settings if task_of(s) == task]
        if not task_settings:
            continue
        text = f"{TASKS[task]}:\n\n" + format_table(summary, rows[task], task_settings)
        if task == "ensemble":
            text += (
                "\n\nSeconds per member (median / k; in parentheses the median "
                "over the median with k=1 at the same batch size):\n\n"
                + format_member_table(summary, rows[task], task_settings)
            )
        sections.append(text)
        print(text + "\n")

    if args.out:
        command = shlex.join(
            ["python", "benchmarks/bench_fit_overhead.py", *sys.argv[1:]]
        )
        lines = [
            "# Fit overhead against a hand-written PyTorch loop",
            "",
            f"Generated by `{command}`.",
            "",
            *[f"- {note}" for note in notes],
            "- Cells: median seconds (ratio to (a)).",
            "",
        ]
        for text in sections:
            title, _, body = text.partition(":\n\n")
            lines += [f"## {title}", "", body, ""]
        with open(args.out, "w") as f:
            f.write("\n".join(lines))
        print(f"tables written to {args.out}")

    if args.json:

        def keyed(per_setting):
            return {setting_key(setting): v for setting, v in per_setting.items()}

        result = {
            "info": info,
            "variants": rows,
            "times": {row: keyed(v) for row, v in times.items()},
            "summary": {row: keyed(v) for row, v in summary.items()},
        }
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
