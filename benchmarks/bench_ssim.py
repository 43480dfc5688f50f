"""Forward+backward time of ``ssim`` and ``ms_ssim`` against pytorch-msssim.

What it measures
----------------
In one process with ``torch.set_num_threads(1)``, float32 images
``32 x 1 x 64 x 64`` (``--shape``) in ``[0, 1]``: ``x`` a leaf tensor,
``y = clip(x + 0.1 noise)``. One call is the per-image values, their sum and
``backward()``. Variants:

- ``ssim``, window 7 (sigma 1.5): ours (:func:`sklearn_losses.losses.ssim`)
  against ``pytorch_msssim.ssim(..., win_size=7, size_average=False)``;
- ``ms_ssim``, window 3, five scales: ours against
  ``pytorch_msssim.ms_ssim(..., win_size=3)`` (pytorch-msssim asserts
  ``min(H, W) > 16 (win - 1)``, so at 64x64 it runs MS-SSIM with a window of 3
  only);
- ``ms_ssim``, window 7: ours alone (the window fits four scales at 64x64;
  ``scales="auto"``), no pytorch-msssim counterpart.

Ours runs inside ``trusted_targets()`` (an estimator has checked the images
once, so the per-call NaN scan is skipped). Before timing, the values and
the input gradients are compared with pytorch-msssim's on the same inputs
(max abs difference; float32, pytorch-msssim builds its window in float32).
Timing: a warm-up, then ``--repeats`` interleaved rounds, each timing a block
of about ``--block-ms`` milliseconds of every variant in turn, with the
garbage collector off; a variant's time is the median per-call time over the
rounds. **Ratio = pytorch-msssim time / ours: above 1.0 means ours is
faster**; target >= 1.0.

Why ours is faster: the five Gaussian-filtered maps (x, y, x², y², xy) of all
channels are filtered in one pass, and the separable filter is applied as two
products with banded matrices (the valid 1-D convolution along each axis),
which run as matrix products; pytorch-msssim makes five passes of two
grouped 1-D convolutions each.

How to run
----------
::

    python benchmarks/bench_ssim.py            # ~1 minute
    python benchmarks/bench_ssim.py --quick    # smoke test

Results go to ``benchmarks/results/ssim.md`` (``--quick``: ``ssim_quick.md``).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from sklearn_losses.losses import ms_ssim, ssim, trusted_targets

RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: (variant, ours, theirs or None): callables (x, y) -> per-image values.
VARIANTS = [
    (
        "ssim, window 7",
        lambda x, y: ssim(x, y, win_size=7),
        lambda pm, x, y: pm.ssim(x, y, data_range=1.0, win_size=7, size_average=False),
    ),
    (
        "ms_ssim, window 3, 5 scales",
        lambda x, y: ms_ssim(x, y, win_size=3),
        lambda pm, x, y: pm.ms_ssim(
            x, y, data_range=1.0, win_size=3, size_average=False
        ),
    ),
    ("ms_ssim, window 7, auto scales", lambda x, y: ms_ssim(x, y, win_size=7), None),
]


def make_images(shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=gen)
    y = (x + 0.1 * torch.randn(shape, generator=gen)).clamp(0, 1)
    return x, y


def forward_backward(fn, x, y, trusted):
    def call():
        leaf = x.detach().requires_grad_()
        if trusted:
            with trusted_targets():
                value = fn(leaf, y).sum()
        else:
            value = fn(leaf, y).sum()
        value.backward()
        return leaf.grad

    return call


def differences(ours, theirs, x, y):
    """``(max |value diff|, max |grad diff|)`` of ours against theirs."""
    a = x.detach().clone().requires_grad_()
    b = x.detach().clone().requires_grad_()
    va, vb = ours(a, y), theirs(b, y)
    (ga,) = torch.autograd.grad(va.sum(), a)
    (gb,) = torch.autograd.grad(vb.sum(), b)
    return (va - vb).abs().max().item(), (ga - gb).abs().max().item()


def time_block(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def time_variants(fns, repeats, block_s):
    """Median per-call time of each callable over interleaved rounds."""
    for fn in fns.values():  # warm-up
        time_block(fn, 2)
    once = {name: time_block(fn, 1) for name, fn in fns.items()}
    calls = {name: max(1, round(block_s / max(t, 1e-7))) for name, t in once.items()}
    samples = {name: [] for name in fns}
    gc.disable()
    try:
        for _ in range(repeats):
            for name, fn in fns.items():
                samples[name].append(time_block(fn, calls[name]))
    finally:
        gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[32, 1, 64, 64])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--block-ms", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.block_ms = 3, 50.0
    try:
        import pytorch_msssim as pm
    except ImportError:
        sys.exit("bench_ssim needs pytorch-msssim: pip install 'sklearn-losses[bench]'")
    torch.set_num_threads(1)
    shape = tuple(args.shape)
    x, y = make_images(shape)

    fns, rows = {}, []
    for label, ours, theirs in VARIANTS:
        fns[(label, "ours")] = forward_backward(ours, x, y, trusted=True)
        if theirs is not None:
            fns[(label, "pm")] = forward_backward(
                lambda a, b, t=theirs: t(pm, a, b), x, y, trusted=False
            )
    times = time_variants(fns, args.repeats, args.block_ms / 1000)
    for label, ours, theirs in VARIANTS:
        t_ours = times[(label, "ours")] * 1e3
        if theirs is None:
            rows.append((label, t_ours, None, None, None))
            continue
        t_pm = times[(label, "pm")] * 1e3
        dv, dg = differences(ours, lambda a, b, t=theirs: t(pm, a, b), x, y)
        rows.append((label, t_ours, t_pm, t_pm / t_ours, (dv, dg)))

    load = os.getloadavg() if hasattr(os, "getloadavg") else ()
    load_text = ", ".join(f"{v:.1f}" for v in load) or "?"
    pm_version = getattr(pm, "__version__", "1.0.0")
    cpu = platform.processor() or platform.machine()
    lines = [
        "# bench_ssim: forward+backward time of ssim / ms_ssim against pytorch-msssim",
        "",
        f"Images {' x '.join(map(str, shape))} float32, one torch thread, median of "
        f"{args.repeats} interleaved rounds of ~{args.block_ms:.0f} ms per variant. "
        f"torch {torch.__version__}, pytorch-msssim {pm_version}, {cpu}, "
        f"{os.cpu_count()} CPUs, load average {load_text}.",
        "",
        "| variant | ours (ms) | pytorch-msssim (ms) | speed-up (theirs / ours) "
        "| max abs diff value / grad |",
        "|---|---:|---:|---:|---|",
    ]
    for label, t_ours, t_pm, ratio, diff in rows:
        if t_pm is None:
            lines.append(f"| {label} | {t_ours:.1f} | — | — | — |")
        else:
            lines.append(
                f"| {label} | {t_ours:.1f} | {t_pm:.1f} | {ratio:.2f}x "
                f"| {diff[0]:.1e} / {diff[1]:.1e} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS_DIR.mkdir(exist_ok=True)
    name = "ssim_quick.md" if args.quick else "ssim.md"
    (RESULTS_DIR / name).write_text(text)


if __name__ == "__main__":
    main()
