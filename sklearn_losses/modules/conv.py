"""A small convolutional encoder-decoder for image-shaped inputs and targets."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .mlp import ACTIVATIONS

__all__ = ["ConvAutoencoder"]


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}.")


def _block(c_in, c_out, activation):
    """Two 3x3 convolutions (same size), each followed by the activation."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        ACTIVATIONS[activation](),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        ACTIVATIONS[activation](),
    )


class ConvAutoencoder(nn.Module):
    r"""A tiny U-Net: an image in, an image of the same height and width out.

    ``depth`` encoder stages (two 3x3 convolutions, then 2x2 max pooling; the
    width doubles at each stage, from ``channels``), a bottleneck, and as many
    decoder stages (a 2x2 transposed convolution, concatenation with the
    encoder's output of that size, two 3x3 convolutions), then a 1x1
    convolution to ``out_channels``. The skip connections carry the fine
    detail; the bottleneck sees :math:`2^{depth}` times coarser a grid. An
    image whose sides are not multiples of :math:`2^{depth}` is padded (edge
    values repeated) on the bottom and right and the output cropped back, so
    any size works (8x8 to 64x64 and beyond). No normalisation layer: a
    sample's output does not depend on the other samples of its batch.

    Parameters
    ----------
    in_channels : int
        Channels of the input; an input of shape ``(n, H, W)`` is taken as one
        channel.
    out_channels : int
        Channels of the output.
    height, width : int
        Spatial size of the input and of the output.
    channels : int, default=16
        Width of the first stage (doubled at each of the next stages).
    depth : int, default=2
        Number of down (and up) stages; 0 is a plain two-convolution network.
    activation : str, default="relu"
        One of :data:`~sklearn_losses.modules.ACTIVATIONS`.
    squeeze : bool, default=False
        Return ``(n, H, W)`` instead of ``(n, 1, H, W)`` (needs
        ``out_channels=1``): the shape of a target of one channel given
        without its channel axis.

    Attributes
    ----------
    n_outputs : tuple of int
        The per-sample output shape, ``(out_channels, height, width)`` or
        ``(height, width)``.

    References
    ----------
    .. [1] O. Ronneberger, P. Fischer, T. Brox, "U-Net: Convolutional Networks
       for Biomedical Image Segmentation", MICCAI 2015.

    Examples
    --------
    >>> import torch
    >>> net = ConvAutoencoder(1, 1, 9, 7, channels=4, squeeze=True)
    >>> net(torch.zeros(2, 9, 7)).shape
    torch.Size([2, 9, 7])
    >>> ConvAutoencoder(3, 2, 8, 8, channels=4)(torch.zeros(5, 3, 8, 8)).shape
    torch.Size([5, 2, 8, 8])
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        height,
        width,
        *,
        channels=16,
        depth=2,
        activation="relu",
        squeeze=False,
    ):
        super().__init__()
        for name, value, low in (
            ("in_channels", in_channels, 1),
            ("out_channels", out_channels, 1),
            ("height", height, 1),
            ("width", width, 1),
            ("channels", channels, 1),
            ("depth", depth, 0),
        ):
            _check_int(name, value, low)
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        if squeeze and out_channels != 1:
            raise ValueError(
                f"squeeze=True needs out_channels=1; got out_channels={out_channels}."
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.height, self.width = height, width
        self.depth, self.squeeze = depth, bool(squeeze)
        widths = [channels * 2**i for i in range(depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for w in widths[:-1]:
            self.down.append(_block(c, w, activation))
            c = w
        self.bottleneck = _block(c, widths[-1], activation)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.up.append(nn.ConvTranspose2d(2 * w, w, 2, stride=2))
            self.merge.append(_block(2 * w, w, activation))
        self.head = nn.Conv2d(widths[0], out_channels, 1)
        step = 2**depth
        self._pad = (-width % step, -height % step)
        self.n_outputs = (
            (height, width) if self.squeeze else (out_channels, height, width)
        )

    def forward(self, X):
        if X.ndim == 3 and self.in_channels == 1:
            X = X.unsqueeze(1)
        shape = (self.in_channels, self.height, self.width)
        if X.ndim != 4 or tuple(X.shape[1:]) != shape:
            also = f" or {(-1, self.height, self.width)}" * (self.in_channels == 1)
            raise ValueError(
                f"ConvAutoencoder takes inputs of shape {(-1, *shape)} (-1: any "
                f"number of rows){also}; got {tuple(X.shape)}."
            )
        pad_w, pad_h = self._pad
        h = F.pad(X, (0, pad_w, 0, pad_h), mode="replicate") if pad_w or pad_h else X
        skips = []
        for block in self.down:
            h = block(h)
            skips.append(h)
            h = F.max_pool2d(h, 2)
        h = self.bottleneck(h)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips), strict=True):
            h = merge(torch.cat([up(h), skip], dim=1))
        out = self.head(h)[:, :, : self.height, : self.width]
        return out.squeeze(1) if self.squeeze else out
