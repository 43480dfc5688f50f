"""Image-shaped targets: denoising digits and segmenting shapes with LossRegressor.

``LossRegressor`` takes images ``(n, H, W)`` or ``(n, C, H, W)`` as input and
as target; with images of one size on both sides it trains a small U-Net
(``module="conv_autoencoder"``) and predicts images. The loss is a parameter:
a pixel loss, SSIM / MS-SSIM, or a weighted sum such as ``"l1+ms_ssim"``.
Masks train with ``"bce"`` (predictions are probabilities), optionally with
the topological Betti-matching term (needs the ``topology`` extra, gudhi).
Runs in under a minute: ``python examples/images.py``.
"""

import numpy as np
import torch

from sklearn_losses import LossRegressor
from sklearn_losses.datasets import load_noisy_digits, make_segmentation_shapes
from sklearn_losses.losses import ssim

# -- denoising 8x8 digits ----------------------------------------------------------
X, Y, _ = load_noisy_digits(noise=0.2, random_state=0)  # noisy, clean (n, 8, 8)
train, test = slice(0, 800), slice(1400, None)


def scores(pred, clean):
    pred = np.clip(pred, 0, 1)
    s = ssim(torch.as_tensor(pred), torch.as_tensor(clean)).mean()
    return f"SSIM {float(s):.3f}   MSE {np.mean((pred - clean) ** 2):.4f}"


print(f"noisy input   {scores(X[test], Y[test])}")
for loss in ["mse", "l1+ms_ssim"]:
    reg = LossRegressor(
        loss=loss,
        module="conv_autoencoder",
        batch_size=32,
        max_epochs=10,
        random_state=0,
    ).fit(X[train], Y[train])
    print(f"{loss:13s} {scores(reg.predict(X[test]), Y[test])}")

# -- segmenting synthetic shapes ----------------------------------------------------
images, masks = make_segmentation_shapes(200, size=32, noise=0.5, random_state=0)
seg = LossRegressor(loss="bce", batch_size=16, max_epochs=10, random_state=0)
seg.fit(images[:150], masks[:150])  # images (n, 1, 32, 32), masks (n, 32, 32)
proba = seg.predict(images[150:])  # probabilities, (50, 32, 32)
pred, true = proba > 0.5, masks[150:] == 1
print(
    f"bce segmentation: Dice {2 * (pred & true).sum() / (pred.sum() + true.sum()):.3f}"
)

try:
    from sklearn_losses.metrics import betti_number_error

    print(f"Betti-number error per image: {betti_number_error(masks[150:], proba):.2f}")
except (
    ImportError
):  # the Betti metrics need gudhi (pip install sklearn-losses[topology])
    pass
