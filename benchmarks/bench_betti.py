"""Benchmark the cost per image of the Betti matching loss at 16, 32 and 64 pixels.

What it measures
----------------
In one process with ``torch.set_num_threads(1)``, for square images of side
16, 32 and 64 (``--sizes``), on the masks of
``sklearn_losses.datasets.make_segmentation_shapes`` (rings, thin curves and
blobs) and two kinds of prediction:

- **near**: the logits of a fair segmentation, ``4 * (2 * mask - 1)`` plus
  Gaussian noise of standard deviation 2 (what a network gives after some
  training: few spurious features);
- **noise**: ``2 * randn`` logits (an untrained network: the worst case, with
  a bar for almost every local maximum).

For each case, per image (a batch of ``--batch`` images, the median of
``--repeats`` rounds divided by the batch size):

- **barcodes**: gudhi's persistence of the two cubical complexes (prediction
  and mask), the part gudhi computes;
- **matching**: ``betti_matching`` (the barcodes, the comparison image's
  barcode and the two image barcodes by union-find, and the induced matching);
- **loss fwd+bwd**: ``BettiMatchingLoss()(logits, masks)`` followed by
  ``backward()``, the cost a training step pays;
- the number of bars of the prediction and of the mask.

Results go to ``benchmarks/results/betti.json`` and ``betti.md`` (or ``--out``).

Run: ``python benchmarks/bench_betti.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_losses.datasets import make_segmentation_shapes
from sklearn_losses.losses import BettiMatchingLoss
from sklearn_losses.metrics import betti_matching
from sklearn_losses.metrics._topology import (
    _barcode,
    _frame,
    _Grid,
    _Order,
    import_gudhi,
)

RESULTS = Path(__file__).parent / "results"


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(size, kind, batch, repeats, seed=0):
    gudhi = import_gudhi()
    _, masks = make_segmentation_shapes(batch, size, random_state=seed)
    masks = torch.as_tensor(masks, dtype=torch.float32).reshape(batch, size, size)
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(masks.shape, generator=gen)
    logits = 4 * (2 * masks - 1) + 2 * noise if kind == "near" else 2 * noise
    prob = torch.sigmoid(logits).double().numpy()
    truth = masks.double().numpy()

    def barcodes():
        for p, g in zip(prob, truth):
            for img in (_frame(p), _frame(g)):
                _barcode(gudhi, _Order(img, _Grid(*img.shape)), img.shape)

    def matching():
        for p, g in zip(prob, truth):
            betti_matching(p, g)

    loss = BettiMatchingLoss()

    def loss_step():
        z = logits.clone().requires_grad_()
        loss(z, masks).backward()

    bars = [betti_matching(p, g) for p, g in zip(prob, truth)]
    return {
        "size": size,
        "prediction": kind,
        "batch": batch,
        "barcodes_ms": 1e3 * _median_time(barcodes, repeats) / batch,
        "matching_ms": 1e3 * _median_time(matching, repeats) / batch,
        "loss_ms": 1e3 * _median_time(loss_step, repeats) / batch,
        "pred_bars": float(np.mean([sum(map(len, m.pred_bars)) for m in bars])),
        "target_bars": float(np.mean([sum(map(len, m.target_bars)) for m in bars])),
        "loss": float(np.mean([m.loss() for m in bars])),
    }


def to_markdown(rows, meta):
    lines = [
        "# Betti matching: cost per image",
        "",
        f"{meta['machine']}, torch {meta['torch']}, gudhi {meta['gudhi']}, "
        "one thread; median of "
        f"{meta['repeats']} rounds of a batch of {meta['batch']} images.",
        "",
        "| size | prediction | bars (pred / mask) | barcodes (gudhi) ms | "
        "matching ms | loss fwd+bwd ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']}x{r['size']} | {r['prediction']} | "
            f"{r['pred_bars']:.1f} / {r['target_bars']:.1f} | "
            f"{r['barcodes_ms']:.2f} | {r['matching_ms']:.2f} | {r['loss_ms']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = [
        measure(size, kind, args.batch, args.repeats)
        for size in args.sizes
        for kind in ("near", "noise")
    ]
    meta = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "gudhi": import_gudhi().__version__,
        "batch": args.batch,
        "repeats": args.repeats,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "betti.json").write_text(
        json.dumps({"meta": meta, "rows": rows}, indent=1)
    )
    text = to_markdown(rows, meta)
    (args.out / "betti.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
