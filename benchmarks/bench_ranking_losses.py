"""Forward+backward time of the listwise ranking losses against allRank's.

What it measures
----------------
In one process with ``torch.set_num_threads(1)``, for ``lambda`` with the
NDCG-Loss2++ scheme (``scheme="ndcg_loss2pp"``, allRank's
``lambdaLoss(weighing_scheme="ndcgLoss2PP_scheme")``) and with the LambdaRank
scheme (``"lambdarank"`` / ``"lambdaRank_scheme"``), ``listmle``
(``listMLE``) and ``approx_ndcg`` (``approxNDCGLoss``), on ``B = 256`` lists
of ``L = 32`` and ``L = 128`` items (``--lists``, ``--lengths``): float32
scores ``randn(B, L)`` (a leaf tensor), relevance grades drawn from 0-4 with
LETOR-like shares (55 % 0, 28 % 1, 12 % 2, 3 % 3, 2 % 4), and a quarter of the
lists shortened to a random length by padding (allRank: label -1; ours: the
``mask``). One call is the loss and ``backward()``:

- **ours, packed**: ``loss(scores, labels, mask=mask)`` on the ``[B, L]``
  layout, inside ``trusted_targets()`` (the estimator validated the labels
  once) — the same layout allRank computes on;
- **ours, flat**: the same lists as flat rows with one query id per row,
  ``loss(scores_flat, labels_flat, groups=qid)``, as the training engine
  calls it (the packing into ``[B, L]`` is included);
- **allRank**: its function on the padded ``[B, L]`` tensors, with the same
  reduction as ours (``lambdaLoss`` sums, ``listMLE`` and ``approxNDCGLoss``
  average over lists).

Before timing, the values and input gradients are compared (max abs
difference printed and stored). ``listmle`` is compared on lists without tied
labels (allRank breaks ties by a random shuffle, ours too, with another draw),
the others on lists drawn as the timed ones. ``approx_ndcg`` is compared as
the sum over lists divided by ``B``: allRank's mean counts every list, ours
the lists that carry a signal (labels not all tied; a short list can have
tied labels only), a documented difference of convention; the timed calls
use each side's default.

Timing: a warm-up, then ``--repeats`` rounds, each timing one block of every
variant in turn (about ``--block-ms`` milliseconds of ``ours, packed``), with
the garbage collector off; a variant's time is the median per-call time over
rounds. **Ratio = ours / allRank time: below 1.0 means ours is faster**;
target <= 1.0 (ours at least as fast).

allRank is installed with ``pip install --no-deps allrank`` (its pinned torch
is not wanted); its loss modules import ``torchvision`` (through its data
module, for ``PADDED_Y_VALUE``), ``gcsfs`` and ``attrs`` (through its file
utilities), which the losses never call: a missing one is replaced by a stub
module in ``sys.modules``.

Findings (results/ranking_losses.md)
------------------------------------
Both ``lambda`` schemes are faster than allRank's (ratio 0.40-0.71; the
values agree to 1e-3 on sums of ~10^3-10^5, the gradients to 3e-6).
``listmle`` (ratio 2.9-3.7) and ``approx_ndcg`` (1.9-2.5) are slower. A
profile (torch.profiler, 256 x 128) puts ``listmle``'s time in
``logcumsumexp`` (33 %, forward and backward) and two sorts per call (26 %:
random keys for the tie order, then the labels); ``approx_ndcg``'s in
gathering the pair scores ``scores[b, i] - scores[b, j]`` (26 %) and its
backward ``index_put`` (24 %) and ``nonzero`` (18 %) — a sparse pair list
for a dense problem. Dense ``[B, L, L]`` sigmoids masked by the pair mask and
summed with the same ordered (``cumsum``) sum give the same values and time
2.9 / 87 ms against allRank's 3.7 / 99 ms (L = 32 / 128); ``listmle`` with
allRank's max-shifted ``exp``-``cumsum``-``log`` and one shared column shuffle
before a single stable sort by label: 0.65 / 1.9 ms against 0.53 / 1.5 ms
(values identical), from 1.6 / 5.7 ms.

How to run
----------
::

    python benchmarks/bench_ranking_losses.py            # ~1 minute
    python benchmarks/bench_ranking_losses.py --quick    # smoke test

Results go to ``benchmarks/results/ranking_losses.md`` and ``.json``
(``--quick``: ``ranking_losses_quick.*``).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _runner  # noqa: E402

from sklearn_losses.losses import get_loss, trusted_targets  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SHARES = (0.55, 0.28, 0.12, 0.03, 0.02)

#: label -> (our registry name, our parameters, allRank function name, kwargs)
CASES = {
    "lambda (NDCG-Loss2++)": (
        "lambda",
        {"scheme": "ndcg_loss2pp"},
        "lambdaLoss",
        {"weighing_scheme": "ndcgLoss2PP_scheme", "reduction": "sum"},
    ),
    "lambda (LambdaRank)": (
        "lambda",
        {"scheme": "lambdarank"},
        "lambdaLoss",
        {"weighing_scheme": "lambdaRank_scheme", "reduction": "sum"},
    ),
    "listmle": ("listmle", {}, "listMLE", {}),
    "approx_ndcg": ("approx_ndcg", {}, "approxNDCGLoss", {}),
}


class _Stub(types.ModuleType):
    """A module that is not needed for the losses (any attribute is a stub)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Stub(f"{self.__name__}.{name}")

    def __call__(self, *args, **kwargs):  # a decorator or a factory
        return args[0] if len(args) == 1 and not kwargs else None


def import_allrank():
    """allRank's loss module. Its data and utility modules import torchvision,
    gcsfs and attrs, which the losses never use: each missing one is
    stubbed."""
    stubbed = []
    for _ in range(10):
        try:
            import allrank.models.losses as losses
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.startswith("allrank"):
                raise SystemExit(
                    f"allRank is not importable ({exc}); pip install --no-deps allrank"
                ) from exc
            sys.modules[exc.name] = _Stub(exc.name)
            stubbed.append(exc.name)
            for name in [m for m in sys.modules if m.startswith("allrank")]:
                del sys.modules[name]
            continue
        return losses, stubbed
    raise SystemExit("allRank is not importable: too many missing modules.")


def make_lists(n_lists, length, seed, tied=True):
    """Scores (leaf), labels and mask ``[B, L]``; a quarter of the lists
    padded to a random length >= 2."""
    rng = np.random.RandomState(seed)
    scores = torch.tensor(rng.normal(size=(n_lists, length)), dtype=torch.float32)
    if tied:
        labels = rng.choice(5, size=(n_lists, length), p=SHARES).astype(np.float32)
    else:  # distinct labels in every list
        labels = rng.uniform(0, 4, size=(n_lists, length)).astype(np.float32)
    lengths = np.full(n_lists, length)
    short = rng.rand(n_lists) < 0.25
    lengths[short] = rng.randint(2, length + 1, size=short.sum())
    mask = torch.as_tensor(np.arange(length)[None, :] < lengths[:, None])
    return scores.requires_grad_(), torch.as_tensor(labels), mask


def variants(name, params, reference, ref_kwargs, scores, labels, mask, allrank):
    """``{variant: callable()}``, each one loss call and its backward."""
    loss = get_loss(name, **params)
    padded = labels.masked_fill(~mask, -1.0)
    flat_labels = labels[mask]
    qid = torch.arange(mask.shape[0]).unsqueeze(1).expand_as(mask)[mask]
    flat_scores = scores.detach()[mask].clone().requires_grad_()
    function = getattr(allrank, reference)

    def packed():
        scores.grad = None
        with trusted_targets():
            loss(scores, labels, mask=mask).backward()

    def flat():
        flat_scores.grad = None
        with trusted_targets():
            loss(flat_scores, flat_labels, groups=qid).backward()

    def theirs():
        scores.grad = None
        function(scores, padded, **ref_kwargs).backward()

    return {"ours, packed": packed, "ours, flat": flat, "allRank": theirs}


def max_abs_diff(name, params, reference, ref_kwargs, allrank, n_lists, length):
    """``(value difference, gradient difference)`` of ours and allRank's."""
    scores, labels, mask = make_lists(n_lists, length, seed=1, tied=name != "listmle")
    if name == "approx_ndcg":
        # allRank averages over every list, ours over the lists that carry a
        # signal (not all labels tied): compare the sums over the B lists
        loss = get_loss(name, **params, reduction="sum")
        ours = loss(scores, labels, mask=mask) / n_lists
    else:
        ours = get_loss(name, **params)(scores, labels, mask=mask)
    (g_ours,) = torch.autograd.grad(ours, scores)
    padded = labels.masked_fill(~mask, -1.0)
    theirs = getattr(allrank, reference)(scores, padded, **ref_kwargs)
    (g_theirs,) = torch.autograd.grad(theirs, scores)
    value = abs(ours.item() - theirs.item())
    grad = (g_ours - g_theirs)[mask].abs().max().item()
    return value, grad, ours.item()


def time_block(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def time_variants(fns, repeats, block_s):
    for fn in fns.values():
        time_block(fn, 3)
    once = time_block(next(iter(fns.values())), 3)
    calls = max(1, round(block_s / max(once, 1e-7)))
    samples = {name: [] for name in fns}
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                samples[name].append(time_block(fn, calls))
    finally:
        gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}, calls


def report(rows, info):
    lines = [
        "# Ranking losses: forward + backward time against allRank",
        "",
        f"{info['n_lists']} lists per batch, one torch thread, float32, "
        f"{info['repeats']} interleaved rounds (median); torch {info['torch']}, "
        f"allRank {info['allrank']}, {info['started']}.",
        "",
        "**ratio = ours / allRank time: below 1.0 means ours is faster** "
        "(target <= 1.0). *Packed*: our loss on the same padded `[B, L]` "
        "tensors with a mask; *flat*: one row per item with query ids, as the "
        "training engine calls it (packing included). Max abs diff: of the "
        "loss value and of the input gradient against allRank.",
        "",
        "| loss | L | ours packed (ms) | ours flat (ms) | allRank (ms) "
        "| ratio packed | ratio flat | value (ours) | max abs diff value "
        "| max abs diff grad |",
        "|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['loss']} | {r['length']} | {1e3 * r['ours, packed']:.2f} "
            f"| {1e3 * r['ours, flat']:.2f} | {1e3 * r['allRank']:.2f} "
            f"| {r['ratio_packed']:.2f} | {r['ratio_flat']:.2f} "
            f"| {r['value']:.5g} | {r['value_diff']:.1e} | {r['grad_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lists", type=int, default=256)
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--losses", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--block-ms", type=float, default=200.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.block_ms, args.lengths = 3, 30.0, [16]
    torch.set_num_threads(1)
    torch.manual_seed(0)
    allrank, stubbed = import_allrank()
    from importlib.metadata import version

    info = {
        "n_lists": args.lists,
        "repeats": args.repeats,
        "block_ms": args.block_ms,
        "torch": torch.__version__,
        "allrank": version("allRank"),
        "stubbed_modules": stubbed,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    rows = []
    for length in args.lengths:
        for label in args.losses:
            name, params, reference, ref_kwargs = CASES[label]
            value_diff, grad_diff, value = max_abs_diff(
                name, params, reference, ref_kwargs, allrank, args.lists, length
            )
            scores, labels, mask = make_lists(args.lists, length, seed=0)
            fns = variants(
                name, params, reference, ref_kwargs, scores, labels, mask, allrank
            )
            times, calls = time_variants(fns, args.repeats, args.block_ms / 1e3)
            row = {"loss": label, "length": length, "calls": calls, **times}
            row["ratio_packed"] = times["ours, packed"] / times["allRank"]
            row["ratio_flat"] = times["ours, flat"] / times["allRank"]
            row.update(value=value, value_diff=value_diff, grad_diff=grad_diff)
            rows.append(row)
            print(
                f"{label:24s} L={length:<4d} packed {1e3 * times['ours, packed']:7.2f}"
                f" ms  flat {1e3 * times['ours, flat']:7.2f} ms  allRank "
                f"{1e3 * times['allRank']:7.2f} ms  ratio {row['ratio_packed']:.2f}"
                f" / {row['ratio_flat']:.2f}  |dvalue| {value_diff:.1e} "
                f"|dgrad| {grad_diff:.1e}",
                flush=True,
            )
    out = args.out or RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    stem = "ranking_losses_quick" if args.quick else "ranking_losses"
    (out / f"{stem}.md").write_text(report(rows, info))
    (out / f"{stem}.json").write_text(
        json.dumps({"info": info, "rows": rows}, indent=1)
    )
    print(f"wrote {out / stem}.md")
    _ = _runner  # the house module, for a shared import path
    return 0


if __name__ == "__main__":
    sys.exit(main())
