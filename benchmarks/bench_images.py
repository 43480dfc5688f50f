"""Benchmark image-shaped targets: denoising digits, segmenting synthetic shapes.

What it measures
----------------
Denoising: scikit-learn's 8x8 digits in ``[0, 1]`` with Gaussian noise of
standard deviation 0.2, clipped to ``[0, 1]`` (``load_noisy_digits``); a
shuffled split of 1,400 training and 397 test images per seed.
``LossRegressor(module="conv_autoencoder")`` (a two-stage U-Net, 16 channels
at full size, batch 32, Adam lr 1e-3) is trained with ``mse``, ``l1``,
``ssim``, ``ms_ssim`` and ``l1+ms_ssim`` (equal weights). Scores of the test
reconstructions against the clean images: SSIM (Gaussian window 7, sigma 1.5,
data range 1), PSNR (mean over images of ``10 log10(1 / MSE)``) and MSE,
mean ± std over seeds, and the training time per epoch. Two references without
training: the noisy input itself and a Gaussian filter (sigma 0.7).

Segmentation: ``make_segmentation_shapes(size=32, noise=0.5)`` (rings, thin
curves and blobs; 300 training and 100 test images). The same network with
``loss="bce"`` for all epochs, against ``bce`` for the first 3/4 of the
epochs followed by ``bce+betti_matching`` (Betti matching weight 0.5, the
paper's alpha) for the last quarter, with ``warm_start`` (the paper also adds
the topological term to a network trained with a pixel loss; the term costs
about 26 ms per 32x32 image). Scores on the test images at threshold 0.5:
Dice, the Betti-number error and the Betti-matching error (per image,
dimensions 0 and 1, relative to a frame, as the paper's evaluation).

Findings
--------
Last run (30 / 40 epochs, denoising seeds 0-2, segmentation seeds 0 and 1,
2 workers, 3.7 min; ``benchmarks/results/images.md``): on 8x8 digits every
trained network beats the noisy input (SSIM 0.902, PSNR 16.2 dB) by far, and
the five losses end within 0.003 SSIM of each other: l1 0.946, mse, ssim and
l1+ms_ssim 0.945, ms_ssim 0.943; mse and l1 lead on PSNR (20.0 dB against
19.7-19.9). The paper's preference for MS-SSIM training does not show at this
size (two scales at most fit an 8x8 image), not even on SSIM itself.
Segmentation: adding the Betti matching term for the last 10 of 40 epochs
lowers the Betti-number error from 1.28 to 1.06 and the Betti-matching error
from 1.47 to 1.35 per image, at a Dice 0.013 lower (0.824 against 0.837) and
7x the time per epoch of those epochs (5.2 s against 0.76 s): the paper's
direction holds, by less than a standard deviation of the matching error over
two seeds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _runner
import numpy as np
from joblib import delayed
from scipy.ndimage import gaussian_filter

from sklearn_losses import LossRegressor
from sklearn_losses.datasets import load_noisy_digits, make_segmentation_shapes
from sklearn_losses.losses import get_loss, ssim

DENOISING_LOSSES = ("mse", "l1", "ssim", "ms_ssim", "l1+ms_ssim")
DENOISING_REFERENCES = ("noisy input", "gaussian filter")
SEGMENTATION_MODELS = ("bce", "bce, then bce+betti_matching")


def available(name):
    try:
        get_loss(name)
    except (ValueError, KeyError, ImportError):
        return False
    return True


def image_scores(pred, clean):
    """SSIM, PSNR and MSE of reconstructions ``pred`` against ``clean``."""
    import torch

    pred = np.clip(pred, 0.0, 1.0)
    mse = ((pred - clean) ** 2).reshape(len(clean), -1).mean(axis=1)
    s = ssim(torch.as_tensor(pred), torch.as_tensor(clean), data_range=1.0, win_size=7)
    return {
        "ssim": float(s.mean()),
        "psnr": float(np.mean(10 * np.log10(1.0 / np.maximum(mse, 1e-10)))),
        "mse": float(mse.mean()),
    }


def _warm_up():
    X, Y, _ = load_noisy_digits(n_samples=64, random_state=0)
    LossRegressor(module="conv_autoencoder", max_epochs=1).fit(X, Y)


def denoise(name, seed, epochs):
    X, Y, _ = load_noisy_digits(noise=0.2, random_state=seed)
    order = np.random.RandomState(seed).permutation(len(X))
    train, test = order[:1400], order[1400:]
    with _runner.worker(_warm_up):
        start = time.perf_counter()
        if name == "noisy input":
            pred, per_epoch = X[test], float("nan")
        elif name == "gaussian filter":
            pred = np.stack([gaussian_filter(x, 0.7) for x in X[test]])
            per_epoch = float("nan")
        else:
            reg = LossRegressor(
                loss=name,
                module="conv_autoencoder",
                batch_size=32,
                max_epochs=epochs,
                random_state=seed,
            ).fit(X[train], Y[train])
            per_epoch = float(np.mean(reg.history_[:, "dur"]))
            pred = reg.predict(X[test])
        fit_s = time.perf_counter() - start
    return {
        "part": "denoising",
        "model": name,
        "seed": seed,
        **image_scores(pred, Y[test]),
        "epoch_s": per_epoch,
        "fit_s": fit_s,
    }


def segment(name, seed, epochs, n_train=300, n_test=100):
    from sklearn_losses.metrics import betti_matching_error, betti_number_error

    X, masks = make_segmentation_shapes(
        n_train + n_test, size=32, noise=0.5, random_state=seed
    )
    with _runner.worker(_warm_up):
        start = time.perf_counter()
        reg = LossRegressor(
            loss="bce",
            module="conv_autoencoder",
            batch_size=16,
            max_epochs=epochs if name == "bce" else epochs - epochs // 4,
            random_state=seed,
            warm_start=True,
        ).fit(X[:n_train], masks[:n_train])
        if name != "bce":
            reg.set_params(
                loss="bce+betti_matching",
                loss__betti_matching__weight=0.5,
                max_epochs=epochs // 4,
            ).fit(X[:n_train], masks[:n_train])
        durations = np.asarray(reg.history_[:, "dur"], dtype=float)
        fit_s = time.perf_counter() - start
        proba = reg.predict(X[n_train:])
    true = masks[n_train:]
    pred = proba > 0.5
    dice = (
        2
        * (pred & (true == 1)).sum(axis=(1, 2))
        / np.maximum(pred.sum(axis=(1, 2)) + true.sum(axis=(1, 2)), 1)
    )
    return {
        "part": "segmentation",
        "model": name,
        "seed": seed,
        "dice": float(dice.mean()),
        "betti_number_error": betti_number_error(true, proba),
        "betti_matching_error": betti_matching_error(true, proba),
        "epoch_s": float(durations[: epochs - epochs // 4].mean()),
        "last_epochs_s": float(durations[-(epochs // 4) :].mean()),
        "fit_s": fit_s,
    }


def _cell(rows, key, best=None, digits=3):
    values = np.array([r[key] for r in rows], dtype=float)
    if np.isnan(values).all():
        return "–"
    spread = values.std() if len(values) > 1 else float("nan")
    bold = best is not None and np.isclose(values.mean(), best)
    return _runner.mean_cell(values.mean(), spread, digits=digits, bold=bold)


def markdown(rows, info):
    title = "Image-shaped targets: denoising and segmentation"
    lines = _runner.report_header(title, "bench_images.py", rows, info)
    den = [r for r in rows if r["part"] == "denoising"]
    lines += [
        "## Denoising 8x8 digits (noise 0.2)",
        "",
        f"1,400 training / 397 test images, conv_autoencoder, {info['epochs']} "
        f"epochs, seeds {info['seeds']}; test scores against the clean images, "
        "mean ± std over seeds.",
        "",
        "| model | SSIM | PSNR (dB) | MSE | s / epoch |",
        "|---|---|---|---|---|",
    ]
    models = [m for m in info["denoising"] if any(r["model"] == m for r in den)]
    means = {
        k: [np.mean([r[k] for r in den if r["model"] == m]) for m in models]
        for k in ("ssim", "psnr", "mse")
    }
    best = {
        "ssim": max(means["ssim"], default=None),
        "psnr": max(means["psnr"], default=None),
        "mse": min(means["mse"], default=None),
    }
    for m in models:
        mine = [r for r in den if r["model"] == m]
        lines.append(
            f"| {m} | {_cell(mine, 'ssim', best['ssim'])} | "
            f"{_cell(mine, 'psnr', best['psnr'], 2)} | "
            f"{_cell(mine, 'mse', best['mse'], 4)} | {_cell(mine, 'epoch_s')} |"
        )
    seg = [r for r in rows if r["part"] == "segmentation"]
    if seg:
        lines += [
            "",
            "## Segmenting synthetic shapes (32x32, noise 0.5)",
            "",
            f"300 training / 100 test images, conv_autoencoder, "
            f"{info['seg_epochs']} epochs (the topological term in the last "
            f"{info['seg_epochs'] // 4}), seeds {info['seg_seeds']}; threshold "
            "0.5. Betti errors per image (dimensions 0 and 1, framed).",
            "",
            "| model | Dice | Betti-number error | Betti-matching error | "
            "s / epoch (bce) | s / epoch (last quarter) |",
            "|---|---|---|---|---|---|",
        ]
        for m in info["segmentation"]:
            mine = [r for r in seg if r["model"] == m]
            if mine:
                lines.append(
                    f"| {m} | {_cell(mine, 'dice')} | "
                    f"{_cell(mine, 'betti_number_error', digits=2)} | "
                    f"{_cell(mine, 'betti_matching_error', digits=2)} | "
                    f"{_cell(mine, 'epoch_s', digits=2)} | "
                    f"{_cell(mine, 'last_epochs_s', digits=2)} |"
                )
    lines += ["", _runner.environment_line(info)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--seg-epochs", type=int, default=40)
    parser.add_argument("--seg-seeds", type=int, nargs="+", default=[0, 1])
    _runner.add_run_arguments(parser, "images", "2 epochs, one seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.seg_epochs, args.seeds = 2, 4, [0]
    default = (
        Path(__file__).parent / "results" / ("images_quick" if args.quick else "images")
    )
    stem = _runner.normalise_out(args.out, default)
    losses = [name for name in DENOISING_LOSSES if available(name)]
    segmentation = [
        m for m in SEGMENTATION_MODELS if m == "bce" or available("bce+betti_matching")
    ]
    jobs = [
        delayed(segment)(m, seed, args.seg_epochs)
        for m in segmentation
        for seed in args.seg_seeds
    ]
    jobs += [
        delayed(denoise)(name, seed, args.epochs)
        for name in (*losses, *DENOISING_REFERENCES)
        for seed in args.seeds
    ]
    info = _runner.environment(args, len(jobs))
    info.update(
        epochs=args.epochs,
        seeds=args.seeds,
        seg_epochs=args.seg_epochs,
        seg_seeds=args.seg_seeds,
        denoising=[*losses, *DENOISING_REFERENCES],
        segmentation=segmentation,
    )

    def write(rows):
        _runner.write_outputs(stem, markdown(rows, info), {"info": info, "rows": rows})

    def describe(r):
        if r["part"] == "denoising":
            return f"{r['model']} s{r['seed']}: SSIM {r['ssim']:.3f}"
        return f"{r['model']} s{r['seed']}: Dice {r['dice']:.3f}"

    _runner.run_jobs(jobs, args.n_jobs, info, describe, write)
    _runner.show_report(stem)


if __name__ == "__main__":
    main()
