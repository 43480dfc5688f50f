r"""SSIM and MS-SSIM: the structural similarity of images, as functions and losses.

For images :math:`x, y` of data range :math:`L`, a normalised Gaussian window
:math:`w` (size ``win_size``, standard deviation ``win_sigma``) slides over
the image without padding and gives the local statistics

.. math::

    \mu_x = w * x, \quad \sigma_x^2 = w * x^2 - \mu_x^2, \quad
    \sigma_{xy} = w * (xy) - \mu_x \mu_y,

from which come the luminance and contrast-structure maps, with
:math:`C_1 = (K_1 L)^2` and :math:`C_2 = (K_2 L)^2`,

.. math::

    l = \frac{2\mu_x\mu_y + C_1}{\mu_x^2 + \mu_y^2 + C_1}, \qquad
    cs = \frac{2\sigma_{xy} + C_2}{\sigma_x^2 + \sigma_y^2 + C_2}, \qquad
    \mathrm{SSIM} = \overline{l \cdot cs}.

MS-SSIM repeats this on ``M`` scales, halving the image between scales by
2x2 average pooling (a side of odd length gets one row or column of zero
padding on each side, as pytorch-msssim does):

.. math::

    \mathrm{MS\text{-}SSIM} = [\overline{l\,cs}_M]_\epsilon^{w_M}
    \prod_{j=1}^{M-1} [\overline{cs}_j]_\epsilon^{w_j}.

Values are per image and channel, then averaged over the channels. The
Gaussian filter is separable: it is applied as two products with banded
matrices (a valid 1-D convolution along each axis), to the five maps
:math:`x, y, x^2, y^2, xy` of all channels at once.

Small images. A window must fit in the coarsest scale: ``M`` scales with a
window of ``k`` need ``min(H, W) > (k - 1) 2^{M-1}`` (161 pixels for the
defaults of Wang et al., 11 and 5). ``win_size="auto"`` and
``scales="auto"`` adapt both to the image: as many scales as the weights
give (5), with the largest odd window up to 11 that fits, at least 3; when
even a window of 3 does not fit all scales, fewer scales. With fewer scales
than weights, the first ``M`` weights are rescaled to the sum of all weights.
Single-scale SSIM takes 11, or on smaller images the largest odd window up
to a third of the side (at least 3), so that every pixel lies in many
windows.

=========  ===========  ========
min side   MS-SSIM      SSIM
=========  ===========  ========
8          win 3, 2 sc  win 3
16         win 3, 3 sc  win 5
32         win 3, 4 sc  win 11
64         win 3, 5 sc  win 11
128        win 7, 5 sc  win 11
>= 161     win 11, 5 sc win 11
=========  ===========  ========

Deviation from pytorch-msssim, as the spec proposes: the scale values are
clamped below at :math:`\epsilon = 10^{-6}` instead of zero
(:math:`[\cdot]_\epsilon` above) before the power. A negative scale value
then leaves the product positive, so the other scales keep their gradient;
with zero the product, and every gradient, is zero (or NaN). Values above
:math:`\epsilon` are unchanged.

SSIM and MS-SSIM are meaningful only for image-shaped outputs (autoencoders
or generators of images, or tabular data reshaped as 2-D grids), not for
plain tabular targets.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from .._validation import check_real, is_int, is_real
from ._base import _TRUSTED_TARGETS, BaseLoss
from ._registry import register_loss

__all__ = ["MS_SSIM_WEIGHTS", "MSSSIMLoss", "SSIMLoss", "ms_ssim", "ssim"]

#: The five scale weights of MS-SSIM (Wang, Simoncelli and Bovik, 2003).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

_MAX_AUTO_WINDOW = 11
_MIN_WINDOW = 3
_CLAMP = 1e-6
_NAMES = ("input", "target")


# -- parameters ---------------------------------------------------------------------
def _check_window(win_size, win_sigma):
    if not (win_size == "auto" or (is_int(win_size, _MIN_WINDOW) and win_size % 2)):
        raise ValueError(
            f"win_size must be 'auto' or an odd int >= {_MIN_WINDOW}; got {win_size!r}."
        )
    check_real("win_sigma", win_sigma, low=0, closed="neither")


def _check_constants(data_range, K):
    check_real("data_range", data_range, low=0, closed="neither")
    if not (
        isinstance(K, tuple | list)
        and len(K) == 2
        and all(is_real(k) and k > 0 for k in K)
    ):
        raise ValueError(f"K must be a pair (K1, K2) of floats > 0; got {K!r}.")


def _check_weights(weights):
    """The scale weights as a tuple of floats (the defaults for None)."""
    if weights is None:
        return MS_SSIM_WEIGHTS
    if isinstance(weights, torch.Tensor):
        weights = weights.tolist()
    if (
        isinstance(weights, str)
        or not hasattr(weights, "__len__")
        or not len(weights)
        or not all(is_real(w) and w >= 0 for w in weights)
        or not sum(weights) > 0
    ):
        raise ValueError(
            "weights must be None or a non-empty sequence of floats >= 0 (one per "
            f"scale, not all zero); got {weights!r}."
        )
    return tuple(float(w) for w in weights)


def _check_scales(scales, n_weights):
    if not (scales == "auto" or (is_int(scales, 1) and scales <= n_weights)):
        raise ValueError(
            f"scales must be 'auto' or an int in [1, {n_weights}] (the number of "
            f"weights); got {scales!r}."
        )


# -- images -------------------------------------------------------------------------
def _check_images(x, y, names):
    """``x, y`` as ``(B, C, H, W)`` tensors of ``x``'s dtype, after the checks."""
    for name, value in zip(names, (x, y), strict=True):
        if not (isinstance(value, torch.Tensor) and value.is_floating_point()):
            kind = getattr(value, "dtype", type(value).__name__)
            raise TypeError(
                f"{name} must be a floating-point torch.Tensor of images; got {kind}."
            )
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{names[0]} must hold images of shape (n, H, W) or (n, C, H, W); got "
            f"shape {tuple(x.shape)}."
        )
    if y.shape != x.shape:
        raise ValueError(
            f"{names[1]} must have the shape of {names[0]}, {tuple(x.shape)}; got "
            f"{tuple(y.shape)}."
        )
    if not _TRUSTED_TARGETS.get():
        for name, value in zip(names, (x, y), strict=True):
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f"{name} has NaN or infinite pixels.")
    if x.ndim == 3:
        x, y = x.unsqueeze(1), y.unsqueeze(1)
    return x, y.to(x.dtype)


def _coarsest_side(side, n_scales):
    """The side after ``n_scales - 1`` halvings (odd sides rounded up)."""
    return -(-side // 2 ** (n_scales - 1))


def _odd_at_most(n):
    return n if n % 2 else n - 1


def _size_text(shape):
    return f"{shape[-2]}x{shape[-1]}"


def _ssim_window(shape, win_size, name):
    side = min(shape[-2:])
    if win_size == "auto":
        # At most a third of the side: every pixel then lies in many windows
        # (a window of 7 on 8x8 images has 2x2 positions and leaves the border
        # pixels almost unweighted).
        win_size = min(_MAX_AUTO_WINDOW, _odd_at_most(max(side + 1, 3) // 3))
        if win_size >= _MIN_WINDOW and win_size <= side:
            return win_size
        win_size = _MIN_WINDOW
        if win_size <= side:
            return win_size
    elif win_size <= side:
        return win_size
    raise ValueError(
        f"{name}: images of {_size_text(shape)} pixels are smaller than the "
        f"window (win_size={win_size}); SSIM needs min(H, W) >= win_size."
    )


def _ms_ssim_setting(shape, win_size, scales, n_weights, name):
    """``(window, number of scales)`` for images of ``shape``."""
    side = min(shape[-2:])
    tried = range(n_weights, 0, -1) if scales == "auto" else (scales,)
    for m in tried:
        fits = _coarsest_side(side, m)
        if win_size == "auto":
            k = min(_MAX_AUTO_WINDOW, _odd_at_most(fits))
            if k >= _MIN_WINDOW:
                return k, m
        elif win_size <= fits:
            return win_size, m
    k = _MIN_WINDOW if win_size == "auto" else win_size
    if scales == "auto" or scales == 1:
        raise ValueError(
            f"{name}: images of {_size_text(shape)} pixels are smaller than the "
            f"window (win_size={k}); MS-SSIM needs min(H, W) >= the window."
        )
    need = (k - 1) * 2 ** (scales - 1) + 1
    raise ValueError(
        f"{name}: images of {_size_text(shape)} pixels allow fewer than "
        f"scales={scales} scales with a window of {k}: {scales} scales need "
        f"min(H, W) >= {need}. Use scales='auto' or fewer scales."
    )


@functools.lru_cache(maxsize=64)
def _band(n, win_size, win_sigma, dtype, device):
    """``(n - k + 1, n)`` matrix of the valid 1-D Gaussian convolution."""
    coords = torch.arange(win_size, dtype=torch.float64) - win_size // 2
    g = torch.exp(-(coords**2) / (2.0 * float(win_sigma) ** 2))
    g = g / g.sum()
    m = n - win_size + 1
    cols = torch.arange(m)[:, None] + torch.arange(win_size)[None, :]
    band = torch.zeros(m, n, dtype=torch.float64)
    band.scatter_(1, cols, g.expand(m, win_size))
    return band.to(dtype=dtype, device=device)


def _ssim_cs(x, y, win_size, win_sigma, c1, c2, as_loss=False):
    """Mean SSIM and mean contrast-structure per image and channel, ``(B, C)``.

    ``as_loss``: a negative luminance term (a local mean of the prediction of
    the opposite sign to the target's, impossible for images in ``[0, L]``)
    multiplies ``|cs|``, not ``cs``: the negated image then scores -1, not
    the +1 of SSIM's ``l * cs`` (both factors flip sign), which an unbounded
    network can otherwise converge to. Values of valid images are unchanged.
    """
    n = x.shape[1]
    h, w = x.shape[-2:]
    band_h = _band(h, win_size, float(win_sigma), x.dtype, x.device)
    band_w = _band(w, win_size, float(win_sigma), x.dtype, x.device)
    maps = torch.cat([x, y, x * x, y * y, x * y], dim=1)
    maps = band_h @ (maps @ band_w.T)  # the separable Gaussian filter
    mu_x, mu_y, e_xx, e_yy, e_xy = maps.split(n, dim=1)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    cs = (2.0 * (e_xy - mu_xy) + c2) / ((e_xx - mu_xx) + (e_yy - mu_yy) + c2)
    lum = (2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    both = torch.where(lum >= 0, lum * cs, lum * cs.abs()) if as_loss else lum * cs
    return both.mean((-2, -1)), cs.mean((-2, -1))


def ssim(x, y, *, data_range=1.0, win_size="auto", win_sigma=1.5, K=(0.01, 0.03)):
    r"""Structural similarity of each image pair (Wang et al., 2004).

    .. math::

        \mathrm{SSIM}(x, y) = \operatorname{mean}\,
        \frac{2\mu_x\mu_y + C_1}{\mu_x^2 + \mu_y^2 + C_1}\cdot
        \frac{2\sigma_{xy} + C_2}{\sigma_x^2 + \sigma_y^2 + C_2}

    over the valid positions of a Gaussian window, per channel, then averaged
    over the channels (see :mod:`sklearn_losses.losses.ssim`). Equal to
    ``pytorch_msssim.ssim(x, y, data_range, size_average=False, win_size,
    win_sigma, K)``.

    Parameters
    ----------
    x, y : torch.Tensor of shape (n, H, W) or (n, C, H, W)
        Two batches of images of the same shape, floating point, finite.
    data_range : float, default=1.0
        The range of the pixel values (1 for images in ``[0, 1]``, 255 for
        bytes): :math:`C_1 = (K_1 L)^2`, :math:`C_2 = (K_2 L)^2`.
    win_size : odd int >= 3 or "auto", default="auto"
        The side of the Gaussian window; ``"auto"`` is 11, or on a smaller
        image the largest odd side up to a third of the image's side (at
        least 3).
    win_sigma : float, default=1.5
        The standard deviation of the window, in pixels.
    K : pair of floats, default=(0.01, 0.03)
        :math:`(K_1, K_2)`.

    Returns
    -------
    torch.Tensor of shape (n,)
        SSIM of each pair, in ``[-1, 1]`` (1 for identical images).

    Raises
    ------
    ValueError
        For images smaller than the window, shapes that differ, NaN pixels
        or a bad parameter; ``TypeError`` for non-float tensors.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image
       quality assessment: from error visibility to structural similarity",
       IEEE Transactions on Image Processing 13(4), 2004.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import ssim
    >>> x = torch.linspace(0, 1, 64).reshape(1, 8, 8)
    >>> ssim(x, x)
    tensor([1.])
    >>> ssim(x, 0.5 * x).round(decimals=4)
    tensor([0.6508])
    """
    _check_window(win_size, win_sigma)
    _check_constants(data_range, K)
    return _ssim(x, y, ("x", "y"), data_range, win_size, win_sigma, K)


def _ssim(x, y, names, data_range, win_size, win_sigma, K, as_loss=False):
    x, y = _check_images(x, y, names)
    win = _ssim_window(x.shape, win_size, names[0])
    c1, c2 = (K[0] * data_range) ** 2, (K[1] * data_range) ** 2
    value, _ = _ssim_cs(x, y, win, win_sigma, c1, c2, as_loss)
    return value.mean(1)


def ms_ssim(
    x,
    y,
    *,
    data_range=1.0,
    win_size="auto",
    win_sigma=1.5,
    K=(0.01, 0.03),
    weights=None,
    scales="auto",
):
    r"""Multi-scale structural similarity of each image pair (Wang et al., 2003).

    .. math::

        \mathrm{MS\text{-}SSIM}(x, y) = [\overline{l\,cs}_M]_\epsilon^{w_M}
        \prod_{j=1}^{M-1} [\overline{cs}_j]_\epsilon^{w_j}

    per channel, then averaged over the channels; scale :math:`j + 1` is
    scale :math:`j` after 2x2 average pooling, and :math:`[\cdot]_\epsilon`
    clamps at :math:`10^{-6}` (see :mod:`sklearn_losses.losses.ssim`). Equal to
    ``pytorch_msssim.ms_ssim(x, y, data_range, size_average=False, win_size,
    win_sigma, weights, K)`` where that applies (images larger than
    :math:`16 (k - 1)`, all five weights; scale values above
    :math:`10^{-6}`).

    Parameters
    ----------
    x, y : torch.Tensor of shape (n, H, W) or (n, C, H, W)
        Two batches of images of the same shape, floating point, finite.
    data_range : float, default=1.0
        The range of the pixel values (1 for images in ``[0, 1]``).
    win_size : odd int >= 3 or "auto", default="auto"
        The side of the Gaussian window, the same at every scale. ``"auto"``:
        the largest odd side up to 11 (at least 3) that fits the coarsest
        scale.
    win_sigma : float, default=1.5
        The standard deviation of the window, in pixels.
    K : pair of floats, default=(0.01, 0.03)
        :math:`(K_1, K_2)`.
    weights : sequence of floats or None, default=None
        The exponents :math:`w_j`, finest scale first; None is
        :data:`MS_SSIM_WEIGHTS` (0.0448, 0.2856, 0.3001, 0.2363, 0.1333).
    scales : int or "auto", default="auto"
        The number of scales :math:`M`, at most ``len(weights)``; ``"auto"``:
        as many as the image allows. With fewer scales than weights, the
        first :math:`M` weights are rescaled to sum to the sum of all weights.

    Returns
    -------
    torch.Tensor of shape (n,)
        MS-SSIM of each pair, in ``(0, 1]`` (1 for identical images).

    Raises
    ------
    ValueError
        For images smaller than the window, more scales than the images
        allow, shapes that differ, NaN pixels or a bad parameter;
        ``TypeError`` for non-float tensors.

    References
    ----------
    .. [1] Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural
       similarity for image quality assessment", Asilomar Conference on
       Signals, Systems and Computers, 2003.
    .. [2] J. Snell, K. Ridgeway, R. Liao, B. D. Roads, M. C. Mozer,
       R. S. Zemel, "Learning to Generate Images with Perceptual Similarity
       Metrics", ICIP 2017 (arXiv:1511.06409).

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import ms_ssim
    >>> x = torch.linspace(0, 1, 256).reshape(1, 16, 16)
    >>> ms_ssim(x, x)
    tensor([1.])
    >>> ms_ssim(x, 0.5 * x).round(decimals=4)
    tensor([0.7294])
    """
    _check_window(win_size, win_sigma)
    _check_constants(data_range, K)
    _check_scales(scales, len(_check_weights(weights)))
    return _ms_ssim(
        x, y, ("x", "y"), data_range, win_size, win_sigma, K, weights, scales
    )


def _ms_ssim(
    x, y, names, data_range, win_size, win_sigma, K, weights, scales, as_loss=False
):
    weights = _check_weights(weights)
    x, y = _check_images(x, y, names)
    win, n_scales = _ms_ssim_setting(x.shape, win_size, scales, len(weights), names[0])
    if n_scales < len(weights):
        head = sum(weights[:n_scales])
        if not head > 0:
            raise ValueError(
                f"weights: the first {n_scales} weights (the scales that images of "
                f"{_size_text(x.shape)} pixels allow) are all zero."
            )
        weights = tuple(w * sum(weights) / head for w in weights[:n_scales])
    c1, c2 = (K[0] * data_range) ** 2, (K[1] * data_range) ** 2
    values = []
    for j in range(n_scales):
        value, cs = _ssim_cs(x, y, win, win_sigma, c1, c2, as_loss)
        if j < n_scales - 1:
            values.append(cs)
            padding = (x.shape[-2] % 2, x.shape[-1] % 2)
            x = F.avg_pool2d(x, kernel_size=2, padding=padding)
            y = F.avg_pool2d(y, kernel_size=2, padding=padding)
    values.append(value)
    exponents = torch.tensor(weights, dtype=x.dtype, device=x.device)
    values = torch.stack(values).clamp_min(_CLAMP)  # (scales, n, C)
    return torch.prod(values ** exponents[:, None, None], dim=0).mean(1)


class _StructuralLoss(BaseLoss):
    """Shared parameters and contract of the SSIM losses."""

    tasks = frozenset({"regression"})
    image = True
    key_parameter = "win_size"
    task_hint = "It compares images: outputs and targets of shape (n, H, W)."

    def __init__(
        self,
        *,
        data_range=1.0,
        win_size="auto",
        win_sigma=1.5,
        K=(0.01, 0.03),
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        _check_window(win_size, win_sigma)
        _check_constants(data_range, K)
        self.data_range = data_range
        self.win_size = win_size
        self.win_sigma = win_sigma
        self.K = K

    def _common(self):
        return self.data_range, self.win_size, self.win_sigma, self.K


@register_loss
class SSIMLoss(_StructuralLoss):
    r"""One minus SSIM, per image: :math:`\ell(f, y) = 1 - \mathrm{SSIM}(f, y)`.

    :func:`ssim` of the network's output image and the target image (see
    :mod:`sklearn_losses.losses.ssim` for the formula and the window on small
    images), in ``[0, 2]``, reduced over the images by the shared
    :func:`~sklearn_losses.losses.weighted_reduce` (a sample weight weighs an
    image). Input contract: outputs and float targets of the same shape
    ``(n, H, W)`` or ``(n, C, H, W)``, pixels on the scale ``data_range``
    (not standardised). Meaningful for image-shaped outputs only.

    One deviation from SSIM, for training: where the luminance term is
    negative (the prediction's local mean has the opposite sign to the
    target's, which no image in ``[0, L]`` has), it multiplies ``|cs|``
    instead of ``cs``. SSIM's ``l * cs`` is unchanged when both factors flip
    sign, so the negated target scores about 1 and an unbounded network can
    converge to it; here it scores -1 (a loss of 2). Valid images keep
    their SSIM.

    Parameters
    ----------
    data_range : float, default=1.0
        The range of the pixel values (1 for images in ``[0, 1]``).
    win_size : odd int >= 3 or "auto", default="auto"
        The side of the Gaussian window; ``"auto"``: 11, or the largest odd
        side up to a third of a smaller image's side (at least 3).
    win_sigma : float, default=1.5
        The standard deviation of the window, in pixels.
    K : pair of floats, default=(0.01, 0.03)
        :math:`(K_1, K_2)` of the stabilising constants.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image
       quality assessment: from error visibility to structural similarity",
       IEEE Transactions on Image Processing 13(4), 2004.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import SSIMLoss
    >>> x = torch.linspace(0, 1, 128).reshape(2, 8, 8)
    >>> SSIMLoss()(x, x).item()
    0.0
    """

    name = "ssim"

    def loss_terms(self, input, target):
        return 1.0 - _ssim(input, target, _NAMES, *self._common(), as_loss=True)


@register_loss
class MSSSIMLoss(_StructuralLoss):
    r"""One minus MS-SSIM, per image (Snell et al., 2017).

    .. math:: \ell(f, y) = 1 - \mathrm{MS\text{-}SSIM}(f, y)

    :func:`ms_ssim` of the network's output image and the target image (see
    :mod:`sklearn_losses.losses.ssim`: the scales and the window adapt to
    small images; scale values are clamped at :math:`10^{-6}`, not zero, so
    that a negative one does not zero every gradient), in ``[0, 1)``,
    reduced over the images by the shared
    :func:`~sklearn_losses.losses.weighted_reduce`. Snell et al. train
    autoencoders with it; it is often mixed with an absolute error,
    ``loss="l1+ms_ssim"`` or ``loss=[("l1", 0.16), ("ms_ssim", 0.84)]`` (see
    :class:`~sklearn_losses.losses.LossSum`). Input contract as
    :class:`SSIMLoss`.

    Parameters
    ----------
    data_range : float, default=1.0
        The range of the pixel values (1 for images in ``[0, 1]``).
    win_size : odd int >= 3 or "auto", default="auto"
        The side of the Gaussian window, the same at every scale; ``"auto"``:
        the largest odd side up to 11 that fits the coarsest scale.
    win_sigma : float, default=1.5
        The standard deviation of the window, in pixels.
    K : pair of floats, default=(0.01, 0.03)
        :math:`(K_1, K_2)` of the stabilising constants.
    weights : sequence of floats or None, default=None
        The scale exponents, finest first; None: the five of Wang et al.
    scales : int or "auto", default="auto"
        The number of scales, at most ``len(weights)``; ``"auto"``: as many as
        the images allow.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] J. Snell, K. Ridgeway, R. Liao, B. D. Roads, M. C. Mozer,
       R. S. Zemel, "Learning to Generate Images with Perceptual Similarity
       Metrics", ICIP 2017 (arXiv:1511.06409).
    .. [2] Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural
       similarity for image quality assessment", Asilomar Conference on
       Signals, Systems and Computers, 2003.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import MSSSIMLoss
    >>> x = torch.linspace(0, 1, 128).reshape(2, 8, 8)
    >>> MSSSIMLoss()(x, x).item()
    0.0
    """

    name = "ms_ssim"

    def __init__(
        self,
        *,
        data_range=1.0,
        win_size="auto",
        win_sigma=1.5,
        K=(0.01, 0.03),
        weights=None,
        scales="auto",
        reduction="mean",
    ):
        super().__init__(
            data_range=data_range,
            win_size=win_size,
            win_sigma=win_sigma,
            K=K,
            reduction=reduction,
        )
        _check_scales(scales, len(_check_weights(weights)))
        self.weights = weights
        self.scales = scales

    def loss_terms(self, input, target):
        common = self._common()
        return 1.0 - _ms_ssim(
            input, target, _NAMES, *common, self.weights, self.scales, as_loss=True
        )
