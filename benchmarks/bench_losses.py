"""Benchmark the forward+backward time of every registered loss against references.

What it measures
----------------
In a single process with ``torch.set_num_threads(1)``, for every loss of the
registry (``sklearn_losses.losses.list_losses()``) with its default parameters,
every layout it supports — binary with the loss's own number of logits
(``binary_logits``: 1 or 2) and multiclass with K = 10 — and every batch size
(256, 1024 and 4096 by default), on float32 logits ``2 * randn(n, K)`` (a leaf
tensor) and uniform random labels:

- **ours**: one call of the loss followed by ``backward()``, as the training
  engine makes it, inside ``with trusted_targets():`` (the estimator validated
  the labels once, so the per-batch checks of the targets, logits and weights
  are skipped) and without sample weights;
- **checked**: the same call outside that context (a direct user call, with the
  input checks), so that their cost is visible;
- **reference**, where the table ``REFERENCES`` (keyed by loss name) has one
  for the layout: the same function written the way a reference library or the
  paper's official code computes it, on identical inputs. Before any timing,
  the reference's value and input gradient are checked against ours (relative
  tolerance 1e-4); a case whose check fails is reported as such, without a
  ratio, since a ratio against a different function means nothing.

Losses with extra per-sample inputs (``requires``) get them from ``CONTEXT``:
``index`` (the rows' positions, after ``loss.setup``), ``likelihood``
(uniform in [0.01, 1]), ``X`` and ``module`` (30 standardised features and a
30-64-K ReLU network, whose output is then the logits). A loss needing
anything else, or whose tasks have no entry in ``LAYOUTS`` (ranking,
embedding, ...), is listed as skipped. The cross-entropy reference is torch's
criterion module (``nn.BCEWithLogitsLoss`` / ``nn.CrossEntropyLoss``), called
as skorch calls its criterion: ours is a module too, so both pay the module
call. The binary focal reference is torchvision's ``sigmoid_focal_loss`` when
torchvision imports, else the same lines as torchvision and fvcore write them
(the table names which one ran).

Timing: after a warm-up, the number of calls per block is set so that a block
of ``ours`` lasts about ``--block-ms`` milliseconds; then ``--repeats`` rounds
each time one block of every variant, interleaved round-robin (so slow drift of
a shared machine affects all variants alike), with the garbage collector off.
A variant's time is the median over rounds of the per-call time of its block.
The ratio is reference time / our time: >= 1.0 means ours is as fast or faster.

Target
------
Every ratio >= 1.0.

How to run
----------
::

    python benchmarks/bench_losses.py                      # ~2 minutes
    python benchmarks/bench_losses.py --quick              # smoke test
    python benchmarks/bench_losses.py --losses focal gce --batches 1024

Results go to ``benchmarks/results/losses.md`` (table) and
``benchmarks/results/losses.json`` (every measurement), or to ``--out``;
``--quick`` writes ``losses_quick.*``.

Adding a loss
-------------
New registered losses are picked up automatically. To compare one with a
reference, add ``REFERENCES["name"] = Reference(label, build)``: ``build(loss,
case)`` returns a callable ``ref(input, target, **context)`` giving the mean
loss on the same inputs, or None where it has no reference (another layout or
parameters it does not cover). Third-party references (pytorch-metric-learning,
torchvision, pytorch-msssim, ...) are imported inside ``build``, which returns
None when the library is missing.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner  # noqa: E402

from sklearn_losses.losses import (  # noqa: E402
    get_loss,
    get_loss_class,
    list_losses,
    trusted_targets,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
BATCHES = (256, 1024, 4096)
N_CLASSES = 10
N_FEATURES = 30
HIDDEN = 64
#: Relative tolerance of the value and gradient check of a reference.
RTOL = 1e-4


@dataclass(frozen=True)
class Case:
    """One loss in one layout: ``n_out`` logits per sample, ``n_classes`` classes."""

    loss: str
    layout: str
    n_out: int
    n_classes: int


def _binary(cls):
    k = cls.binary_logits
    return Case(cls.name, f"binary, {k} logit{'s' * (k > 1)}", k, 2)


def _multiclass(cls):
    return Case(cls.name, f"multiclass, K={N_CLASSES}", N_CLASSES, N_CLASSES)


#: The layout of each task's inputs, from the loss class. A loss of other tasks
#: (ranking, embedding, ...) is listed as skipped until its task has an entry
#: here and ``make_inputs`` builds its inputs.
LAYOUTS = {"binary": _binary, "multiclass": _multiclass}


def cases(names):
    """The ``Case`` of every layout each loss supports, and the losses with none."""
    out, unsupported = [], []
    for name in names:
        cls = get_loss_class(name)
        found = [layout(cls) for task, layout in LAYOUTS.items() if task in cls.tasks]
        out += found
        if not found:
            unsupported.append(cls)
    return out, unsupported


# -- inputs ---------------------------------------------------------------------
def make_module(n_out):
    """The 30-64-``n_out`` ReLU network given to losses that re-run it."""
    return nn.Sequential(
        nn.Linear(N_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, n_out)
    )


def _index(loss, case, n, X, module):
    loss.setup(n_samples=n, n_classes=case.n_classes)
    return torch.arange(n)


#: How to build each extra input a loss may require, from
#: ``(loss, case, n, X, module)``.
CONTEXT = {
    "index": _index,
    "likelihood": lambda loss, case, n, X, module: 0.01 + 0.99 * torch.rand(n),
    "X": lambda loss, case, n, X, module: X,
    "module": lambda loss, case, n, X, module: module,
    "epoch": lambda loss, case, n, X, module: 1,
}


def make_inputs(loss, case, n, seed=0):
    """Logits (a float32 leaf), targets and the loss's context for ``n`` rows.

    Returns None (and the missing names) when a required input has no builder
    in ``CONTEXT``.
    """
    torch.manual_seed(seed)
    missing = [name for name in loss.requires if name not in CONTEXT]
    if missing:
        return None, missing
    X = torch.randn(n, N_FEATURES)
    module = make_module(case.n_out)
    if "module" in loss.requires:
        with torch.no_grad():
            z = module(X)
    else:
        z = 2.0 * torch.randn(n, case.n_out)
    if case.n_out == 1:
        z = z.reshape(-1)
    z.requires_grad_(True)
    y = torch.randint(0, case.n_classes, (n,))
    context = {name: CONTEXT[name](loss, case, n, X, module) for name in loss.requires}
    return (z, y, context), []


# -- reference implementations ----------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """``label`` names the implementation; ``build(loss, case)`` returns the
    callable or None (no reference for this layout or these parameters)."""

    label: str
    build: object


def _sign(y, dtype):
    """``2y - 1``: the sign of a binary label."""
    return 2.0 * y.to(dtype) - 1.0


def _true_prob(z, y):
    """``p_y`` as reference code computes it: softmax + gather, or a sigmoid."""
    if z.ndim == 1:
        return torch.sigmoid(_sign(y, z.dtype) * z)
    return torch.softmax(z, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)


def _torch_ce(loss, case):
    """torch's criterion modules ``nn.BCEWithLogitsLoss`` / ``nn.CrossEntropyLoss``,
    called as a skorch net calls its criterion (a module, like ours)."""
    eps = float(getattr(loss, "label_smoothing", 0.0))
    tau = getattr(loss, "tau", 1.0)
    if tau != 1.0:
        return None
    if case.n_out == 1:
        criterion = nn.BCEWithLogitsLoss()

        def ref(z, y):
            q = y.to(z.dtype)
            if eps:
                q = q * (1.0 - eps) + 0.5 * eps
            return criterion(z, q)

        return ref
    return nn.CrossEntropyLoss(label_smoothing=eps)


def _focal(loss, case):
    """Binary: torchvision's ``sigmoid_focal_loss`` (or, without torchvision,
    the same lines as in fvcore); multiclass: the common ``FocalLoss`` module
    (``log_softmax``, ``gather``, ``(1 - pt) ** gamma``)."""
    gamma = float(loss.gamma)
    if loss.alpha is not None and not isinstance(loss.alpha, float):
        return None
    if case.n_out == 1:
        alpha = -1.0 if loss.alpha is None else float(loss.alpha)
        sigmoid_focal_loss = _torchvision_focal() or _sigmoid_focal_loss
        return lambda z, y: sigmoid_focal_loss(
            z, y.to(z.dtype), alpha=alpha, gamma=gamma, reduction="mean"
        )
    if loss.alpha is not None:
        return None

    def ref(z, y):
        logpt = F.log_softmax(z, dim=1).gather(1, y.unsqueeze(1)).view(-1)
        pt = logpt.exp()
        return (-((1 - pt) ** gamma) * logpt).mean()

    return ref


def _sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="mean"):
    """The RetinaNet focal loss as fvcore and torchvision write it."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    out = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        out = (alpha * targets + (1 - alpha) * (1 - targets)) * out
    return out.mean() if reduction == "mean" else out


def _torchvision_focal():
    """torchvision's ``sigmoid_focal_loss``, or None where torchvision does not
    import (not installed, or a wheel built for another torch: PyPI's wheels
    fail to register their compiled operators on the CPU build of torch)."""
    try:
        from torchvision.ops import sigmoid_focal_loss
    except (ImportError, RuntimeError):
        return None
    return sigmoid_focal_loss


def _focal_label(loss, case):
    if case.n_out > 1:
        return "common FocalLoss module (log_softmax, gather)"
    if _torchvision_focal() is None:
        return "torchvision's sigmoid_focal_loss lines (torchvision not importable)"
    return "torchvision.ops.sigmoid_focal_loss"


def _sum_exp(loss, case):
    """The paper's formula: ``sum_{k != y} exp(z_k - z_y)``."""
    if case.n_out == 1:
        return lambda z, y: torch.exp(-_sign(y, z.dtype) * z).mean()

    def ref(z, y):
        diff = z - z.gather(1, y.unsqueeze(1))
        return (torch.exp(diff).sum(dim=1) - 1.0).mean()

    return ref


def _gce(loss, case):
    """The GCE authors' code: ``(1 - p_y ** q) / q`` with softmax + gather."""
    q = float(loss.q)
    return lambda z, y: ((1.0 - _true_prob(z, y) ** q) / q).mean()


def _mae(loss, case):
    """``1 - p_y`` with softmax + gather (half the L1 distance of Ghosh et al.)."""
    return lambda z, y: (1.0 - _true_prob(z, y)).mean()


def _zloss(loss, case):
    """The paper's formula: standardise, gather, ``softplus(a (b - z_c)) / a``."""
    a = float(loss.a)
    b = math.sqrt(case.n_classes - 1) if loss.b is None else float(loss.b)

    def ref(o, y):
        mu = o.mean(dim=1, keepdim=True)
        sigma = o.std(dim=1, unbiased=False, keepdim=True)
        z_c = ((o - mu) / sigma).gather(1, y.unsqueeze(1)).squeeze(1)
        return (F.softplus(a * (b - z_c)) / a).mean()

    return ref


def _ldr_gaps(f, onehot, margin):
    """The LDR authors' ``margin * (1 - y) + f - <f, y>`` on one-hot labels."""
    return margin * (1 - onehot) + f - (f * onehot).sum(dim=1, keepdim=True)


def _ldr_lse(diff, lam):
    """The LDR authors' shifted ``lam * log mean exp(diff / lam)``."""
    d = diff / lam
    top = d.max(dim=1, keepdim=True).values.detach()
    return lam * (torch.log(torch.exp(d - top).mean(dim=1, keepdim=True)) + top)


def _ldr_kl(loss, case):
    """The LDR authors' ``LDRLoss`` (one-hot labels, shifted log-mean-exp)."""
    if loss.logit_normalization is not None:
        return None
    lam, margin = float(loss.lam), float(loss.margin)

    def ref(f, y):
        onehot = F.one_hot(y, f.shape[1]).to(f.dtype)
        return _ldr_lse(_ldr_gaps(f, onehot, margin), lam).mean()

    return ref


def _aldr_kl(loss, case):
    """The LDR authors' ``ALDRLoss``: a per-row lambda buffer indexed by the
    rows' ids, updated in closed form (probabilities floored at 1e-12 inside the
    log, as ours, instead of the code's +1e-5 renormalisation)."""
    if loss.logit_normalization is not None:
        return None
    lam0, alpha, margin = float(loss.lam0), float(loss.alpha), float(loss.margin)
    state = {}

    def ref(f, y, index):
        k = f.shape[1]
        if "lam" not in state:  # the code allocates one lambda per training row
            state["lam"] = torch.full((int(index.max()) + 1, 1), lam0)
        log_k = math.log(k)
        onehot = F.one_hot(y, k).to(f.dtype)
        with torch.no_grad():
            p = torch.softmax(f / state["lam"][index], dim=1)
            kl = torch.sum(p * torch.log(k * p.clamp_min(1e-12)), dim=1, keepdim=True)
            lam = (lam0 - lam0 * kl / (alpha * log_k)).clamp(lam0 - lam0 / alpha, lam0)
            state["lam"][index] = lam
        extra = -0.5 * alpha * log_k / lam0 * (lam - lam0) ** 2
        return (_ldr_lse(_ldr_gaps(f, onehot, margin), lam) + extra).mean()

    return ref


def _anyloss(loss, case):
    """The AnyLoss paper's formula in float32: ``a = sigmoid(L (sigmoid(z) - 1/2))``,
    soft counts, ``1 - F1``; multiclass: the docstring's one-vs-rest macro F1."""
    if loss.metric != "f1":
        return None
    L = float(loss.L)

    def ref(z, y):
        if z.ndim == 1:
            a = torch.sigmoid(L * (torch.sigmoid(z) - 0.5))
            t = y.to(z.dtype)
        else:
            a = torch.softmax(0.5 * L * torch.softmax(z, dim=1), dim=1)
            t = F.one_hot(y, z.shape[1]).to(z.dtype)
        tp = (t * a).sum(0)
        fn = t.sum(0) - tp
        fp = a.sum(0) - tp
        f1 = 2 * tp / (2 * tp + fn + fp)
        return 1.0 - f1.mean()

    if case.n_out > 1 and loss.average != "macro":
        return None
    return ref


def _ensloss(loss, case):
    """The EnsLoss reference code's ``ensLoss.forward`` (normal draws, inverse
    Box-Cox, sorted and clipped, assigned by the rank of the margins, tail
    ``g / s`` for ``s > 1``, minus 1e-6), without its move to CUDA."""
    if loss.tail_threshold != 1.0 or loss.lambda_resample_period is not None:
        return None
    lam, clip, eps = float(loss.boxcox_lambda), float(loss.clip), float(loss.eps)

    def ref(z, y):
        s = z.flatten() * (2.0 * y.to(z.dtype) - 1.0)
        draws = torch.randn(s.shape[0])
        if lam == 0:
            magnitudes = torch.exp(draws)
        else:
            magnitudes = torch.clamp(1.0 + lam * draws, min=0.0) ** (1.0 / lam)
        rd_grad = torch.sort(-magnitudes).values.clamp_min(-clip)
        g = torch.zeros_like(s)
        g[torch.sort(s.detach()).indices] = rd_grad
        s_nograd = s.detach()
        pos = s_nograd > 1.0
        g[pos] *= 1 / s_nograd[pos]
        return ((g - eps) * s).mean()

    return ref


def _dequity(loss, case):
    """The DatasetEquity weighting: ``(eta + (1 - p) ** gamma) / (eta + 1)``
    times the per-sample cross-entropy."""
    eta, gamma = float(loss.eta), float(loss.gamma)

    def ref(z, y, likelihood):
        w = (eta + (1.0 - likelihood) ** gamma) / (eta + 1.0)
        if z.ndim == 1:
            ce = F.binary_cross_entropy_with_logits(z, y.to(z.dtype), reduction="none")
        else:
            ce = F.cross_entropy(z, y, reduction="none")
        return (w * ce).mean()

    return ref


def _adv_comp_sum(loss, case):
    """TRADES-style PGD written for the paper's penalty: random start in the
    l-inf ball, ``steps`` signed-gradient steps of ``eps / 4`` on
    ``||h(x') - h(x)||`` with the network in eval mode, then the clean
    cross-entropy plus ``nu`` times the penalty at ``x*``."""
    if float(loss.tau) != 1.0 or loss._p != math.inf or loss.perturbable is not None:
        return None
    nu, eps, steps = float(loss.nu), float(loss.epsilon), int(loss.steps)

    def gaps(out, y):
        if out.ndim == 1:  # one logit: the scores are (0, z)
            out = torch.stack([torch.zeros_like(out), out], dim=1)
        return out - out.gather(1, y.unsqueeze(1))

    def ref(z, y, X, module):
        clean = gaps(z.detach(), y)
        delta = (2.0 * torch.rand_like(X) - 1.0) * eps
        modes = [(m, m.training) for m in module.modules()]
        module.eval()
        for _ in range(steps):
            delta.requires_grad_(True)
            out = module(X + delta).reshape(z.shape)
            objective = torch.norm(gaps(out, y) - clean, dim=1).sum()
            (grad,) = torch.autograd.grad(objective, delta)
            delta = (delta.detach() + eps / 4.0 * grad.sign()).clamp(-eps, eps)
        for m, training in modes:
            m.training = training
        z_adv = module(X + delta).reshape(z.shape)
        penalty = torch.norm(gaps(z_adv, y) - gaps(z, y), dim=1)
        if z.ndim == 1:
            ce = F.binary_cross_entropy_with_logits(z, y.to(z.dtype), reduction="none")
        else:
            ce = F.cross_entropy(z, y, reduction="none")
        return (ce + nu * penalty).mean()

    return ref


#: Reference implementations keyed by registry name. Losses still to come get
#: their library's implementation here, imported inside ``build`` (None when
#: the library is missing): pytorch-metric-learning's ``MultiSimilarityLoss``
#: and ``NTXentLoss``, pytorch-msssim's ``ms_ssim``, an allRank-style
#: LambdaLoss; their task then needs an entry in ``LAYOUTS``.
REFERENCES = {
    "cross_entropy": Reference(
        "torch nn.BCEWithLogitsLoss / nn.CrossEntropyLoss", _torch_ce
    ),
    "comp_sum": Reference("torch criterion (tau=1 identity)", _torch_ce),
    "focal": Reference(_focal_label, _focal),
    "sum_exp": Reference("formula: sum exp(z_k - z_y)", _sum_exp),
    "gce": Reference("GCE authors' code (softmax, gather)", _gce),
    "mae": Reference("1 - p_y (softmax, gather)", _mae),
    "zloss": Reference("formula: standardise, gather, softplus", _zloss),
    "ldr_kl": Reference("LDR authors' LDRLoss (one-hot)", _ldr_kl),
    "aldr_kl": Reference("LDR authors' ALDRLoss (lambda buffer)", _aldr_kl),
    "anyloss": Reference("AnyLoss formula in float32 (F1)", _anyloss),
    "ensloss": Reference("EnsLoss reference code", _ensloss),
    "generalized_focal": Reference("DatasetEquity weight x CE", _dequity),
    "adv_comp_sum": Reference("TRADES-style PGD loop", _adv_comp_sum),
}


def reference_for(loss, case):
    """``(label, callable)`` of the reference of ``loss`` in ``case``, or Nones."""
    entry = REFERENCES.get(case.loss)
    if entry is None:
        return None, None
    fn = entry.build(loss, case)
    if fn is None:
        return None, None
    label = entry.label(loss, case) if callable(entry.label) else entry.label
    return label, fn


# -- checking and timing -----------------------------------------------------------
def _value_and_grad(fn, z, y, context, seed):
    """``fn``'s value and gradient w.r.t. ``z`` (the global RNG seeded first)."""
    z = z.detach().clone().requires_grad_(True)
    torch.manual_seed(seed)
    value = fn(z, y, **context)
    value.backward()
    return value.detach(), z.grad


def _relative_error(a, b):
    """``max |a - b| / max |b|`` (0 when both are zero)."""
    scale = b.abs().max().item()
    err = (a - b).abs().max().item()
    return err / scale if scale else err


def check_reference(case, n, ours_fn, ref_fn):
    """Relative errors of the reference's value and gradient against ours.

    Stateful losses and references (a per-row lambda) are built afresh for the
    check by ``ours_fn()`` / ``ref_fn()``; both see the same inputs and the same
    random draws.
    """
    loss = ours_fn()
    (z, y, context), _ = make_inputs(loss, case, n, seed=1)
    v_ours, g_ours = _value_and_grad(loss, z, y, context, seed=2)
    loss = ours_fn()
    (z, y, context), _ = make_inputs(loss, case, n, seed=1)
    v_ref, g_ref = _value_and_grad(ref_fn(loss), z, y, context, seed=2)
    return _relative_error(v_ours, v_ref), _relative_error(g_ours, g_ref)


def _call(fn, z, y, context):
    z.grad = None
    fn(z, y, **context).backward()


def _block(fn, z, y, context, calls, trusted):
    """Seconds per call over ``calls`` calls of ``fn`` (+ backward)."""
    if trusted:
        with trusted_targets():
            start = time.perf_counter()
            for _ in range(calls):
                _call(fn, z, y, context)
            return (time.perf_counter() - start) / calls
    start = time.perf_counter()
    for _ in range(calls):
        _call(fn, z, y, context)
    return (time.perf_counter() - start) / calls


def time_variants(variants, z, y, context, repeats, block_s):
    """Median seconds per call of each variant, interleaved round-robin.

    ``variants`` maps names to ``(fn, trusted)``; the first one sets the number
    of calls per block.
    """
    for fn, trusted in variants.values():
        _block(fn, z, y, context, 3, trusted)  # warm-up
    first_fn, first_trusted = next(iter(variants.values()))
    once = _block(first_fn, z, y, context, 3, first_trusted)
    calls = max(1, round(block_s / max(once, 1e-7)))
    samples = {name: [] for name in variants}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            for name, (fn, trusted) in variants.items():
                samples[name].append(_block(fn, z, y, context, calls, trusted))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}, calls, samples


def run_case(case, n, args):
    """Check and time ``case`` at batch size ``n``; returns the result row."""
    row = {"loss": case.loss, "layout": case.layout, "batch": n}
    loss = get_loss(case.loss)
    built, missing = make_inputs(loss, case, n)
    if built is None:
        row["skipped"] = f"needs {missing}, which CONTEXT cannot build"
        return row
    z, y, context = built
    label, ref = reference_for(loss, case)
    variants = {"ours": (loss, True), "checked": (loss, False)}
    row["reference"] = label
    if ref is not None:
        value_err, grad_err = check_reference(
            case,
            n,
            lambda: get_loss(case.loss),
            lambda fresh: reference_for(fresh, case)[1],
        )
        row["value_rel_err"], row["grad_rel_err"] = value_err, grad_err
        row["check_ok"] = value_err <= RTOL and grad_err <= RTOL
        if row["check_ok"]:
            variants["reference"] = (ref, False)
    medians, calls, samples = time_variants(
        variants, z, y, context, args.repeats, args.block_ms / 1000.0
    )
    row["calls_per_block"] = calls
    row["seconds"] = medians
    row["samples"] = samples
    if "reference" in medians:
        row["ratio"] = medians["reference"] / medians["ours"]
    return row


# -- reporting ---------------------------------------------------------------------
def _us(seconds):
    return f"{seconds * 1e6:.0f}" if seconds >= 1e-4 else f"{seconds * 1e6:.1f}"


def format_table(rows):
    """The markdown table of the rows."""
    lines = [
        "| loss | layout | batch | ours µs | checked µs (× ours) | reference "
        "| ref µs | ratio |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        head = f"| {row['loss']} | {row['layout']} | {row['batch']} |"
        if "skipped" in row:
            lines.append(f"{head} — | — | skipped: {row['skipped']} | — | — |")
            continue
        sec = row["seconds"]
        checked = f"{_us(sec['checked'])} ({sec['checked'] / sec['ours']:.2f}×)"
        ref, ref_us, ratio = row.get("reference") or "none", "—", "—"
        if "ratio" in row:
            ref_us, ratio = _us(sec["reference"]), f"{row['ratio']:.2f}"
            if row["ratio"] < 1.0:
                ratio = f"**{ratio}**"
        elif row.get("check_ok") is False:
            ratio = (
                f"check failed (value {row['value_rel_err']:.1e}, "
                f"grad {row['grad_rel_err']:.1e})"
            )
        lines.append(
            f"{head} {_us(sec['ours'])} | {checked} | {ref} | {ref_us} | {ratio} |"
        )
    return "\n".join(lines)


def format_report(rows, info):
    """The whole markdown report."""
    ratios = [row["ratio"] for row in rows if "ratio" in row]
    below = [
        f"{row['loss']} ({row['layout']}, {row['batch']}): {row['ratio']:.2f}"
        for row in rows
        if row.get("ratio", 1.0) < 1.0
    ]
    failed = [
        f"{row['loss']} ({row['layout']}, {row['batch']})"
        for row in rows
        if row.get("check_ok") is False
    ]
    status = "complete" if info["finished"] else "running"
    out = [
        "# Loss forward+backward benchmark",
        "",
        f"Status: {status}. Generated by `benchmarks/bench_losses.py` "
        f"({info['finished'] or 'running'}).",
        "",
        f"- {len(rows)} cases (loss x layout x batch), float32, torch "
        f"{info['torch']} with {info['torch_num_threads']} thread, python "
        f"{info['python']}, {info['cpu_count']} CPUs (load average at start "
        f"{info['load_average']}); wall time {info['wall_time_s'] / 60:.1f} min",
        f"- median of {info['repeats']} interleaved blocks of about "
        f"{info['block_ms']} ms per variant; ours = inside `trusted_targets()` "
        "(as the estimators call it), checked = a direct call with the input "
        "checks",
        "- ratio = reference µs / ours µs (>= 1.0: ours as fast or faster); "
        f"references match ours to a relative {RTOL:g} in value and input "
        "gradient before timing",
        "",
    ]
    if ratios:
        out.append(
            f"Ratios >= 1.0: {sum(r >= 1.0 for r in ratios)} of {len(ratios)} "
            f"(min {min(ratios):.2f}, median {statistics.median(ratios):.2f})."
        )
        out.append("")
    if below:
        out += ["Below 1.0: " + "; ".join(below) + ".", ""]
    if failed:
        out += ["Reference check failed: " + "; ".join(failed) + ".", ""]
    out.append(format_table(rows))
    return "\n".join(out)


def write(rows, info, stem):
    """Save ``<stem>.md`` and ``<stem>.json``."""
    _runner.write_outputs(stem, format_report(rows, info), {"info": info, "rows": rows})


def parse_args(argv=None):
    """Parse command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument(
        "--block-ms", type=float, default=20.0, help="length of one timed block"
    )
    parser.add_argument(
        "--losses",
        nargs="+",
        default=None,
        help="registry names (default: every registered loss)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output stem: writes <stem>.json and <stem>.md "
        "(default benchmarks/results/losses)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: batch 256, 3 repeats of 2 ms blocks; writes losses_quick.*",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.batches, args.repeats, args.block_ms = [256], 3, 2.0
    name = "losses_quick" if args.quick else "losses"
    args.out = _runner.normalise_out(args.out, RESULTS_DIR / name)
    return args


def main(argv=None):
    """Run the benchmark, print the table and save the results."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    names = args.losses or list_losses()
    for name in names:
        get_loss_class(name)  # unknown names fail here, with suggestions
    found, unsupported = cases(names)
    all_cases = [(c, n) for c in found for n in args.batches]
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": ", ".join(f"{v:.1f}" for v in os.getloadavg()),
        "batches": args.batches,
        "repeats": args.repeats,
        "block_ms": args.block_ms,
        "losses": names,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "finished": None,
        "wall_time_s": 0.0,
    }
    print(
        f"{len(all_cases)} cases: {len(names)} losses x layouts x "
        f"{len(args.batches)} batch sizes -> {args.out}.md/.json",
        flush=True,
    )
    rows = [
        {
            "loss": cls.name,
            "layout": "—",
            "batch": "—",
            "skipped": f"no input layout for its tasks {sorted(cls.tasks)}",
        }
        for cls in unsupported
    ]
    start = time.perf_counter()
    for i, (case, n) in enumerate(all_cases, 1):
        row = run_case(case, n, args)
        rows.append(row)
        info["wall_time_s"] = time.perf_counter() - start
        ratio = f"ratio {row['ratio']:.2f}" if "ratio" in row else "no ratio"
        ours = row.get("seconds", {}).get("ours")
        print(
            f"[{i:3d}/{len(all_cases)}] {info['wall_time_s'] / 60:4.1f} min | "
            f"{case.loss} ({case.layout}) n={n}: "
            f"{'skipped' if ours is None else _us(ours) + ' µs'}, {ratio}",
            flush=True,
        )
    info["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    info["wall_time_s"] = time.perf_counter() - start
    write(rows, info, args.out)
    _runner.show_report(args.out)


if __name__ == "__main__":
    main()
