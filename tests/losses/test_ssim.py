"""SSIM and MS-SSIM against the spec's reference values, pytorch-msssim and a
numpy loop; the window and scales on small images; the clamp; weights,
gradcheck and bad input."""

import numpy as np
import pytest
import torch
from _reference import F64, assert_gradcheck, assert_weighted_reductions

from sklearn_losses.losses import (
    MS_SSIM_WEIGHTS,
    MSSSIMLoss,
    SSIMLoss,
    get_loss,
    get_loss_class,
    list_losses,
    ms_ssim,
    ssim,
    trusted_targets,
)
from sklearn_losses.losses.ssim import _ms_ssim_setting, _ssim_window

pm = pytest.importorskip("pytorch_msssim")


def _spec_images(n):
    """Spec §8: X = 0.5 + 0.4 sin(i/5) cos(j/7), Y = clip(X + 0.05 cos(ij/3))."""
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    x = 0.5 + 0.4 * np.sin(i / 5) * np.cos(j / 7)
    y = np.clip(x + 0.05 * np.cos(i * j / 3), 0, 1)
    return torch.tensor(x)[None, None], torch.tensor(y)[None, None]


def _pair(shape, seed=0, noise=0.2, dtype=F64):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=dtype)
    y = (x + noise * torch.randn(shape, generator=g, dtype=dtype)).clamp(0, 1)
    return x, y


def _pm_window(k, c, sigma=1.5):
    """pytorch-msssim's window in float64 (its own is built in float32)."""
    coords = torch.arange(k, dtype=F64) - k // 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return (g / g.sum()).reshape(1, 1, 1, k).repeat(c, 1, 1, 1)


# -- a numpy loop, independent of both implementations --------------------------------
def _np_ssim_cs(x, y, k, sigma, c1, c2):
    coords = np.arange(k) - k // 2
    g = np.exp(-(coords**2) / (2 * sigma**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    h, wd = x.shape
    s_vals, cs_vals = [], []
    for a in range(h - k + 1):
        for b in range(wd - k + 1):
            px, py = x[a : a + k, b : b + k], y[a : a + k, b : b + k]
            mx, my = (w * px).sum(), (w * py).sum()
            vx = (w * px * px).sum() - mx * mx
            vy = (w * py * py).sum() - my * my
            cxy = (w * px * py).sum() - mx * my
            cs = (2 * cxy + c2) / (vx + vy + c2)
            s_vals.append((2 * mx * my + c1) / (mx * mx + my * my + c1) * cs)
            cs_vals.append(cs)
    return np.mean(s_vals), np.mean(cs_vals)


def _np_pool(x):
    """2x2 mean with one zero row/column on each side of an odd side."""
    ph, pw = x.shape[0] % 2, x.shape[1] % 2
    x = np.pad(x, ((ph, ph), (pw, pw)))
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = x[:h, :w]
    return x.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _np_ms_ssim(x, y, k, weights, sigma=1.5, c1=1e-4, c2=9e-4):
    values = []
    for j in range(len(weights)):
        s, cs = _np_ssim_cs(x, y, k, sigma, c1, c2)
        if j < len(weights) - 1:
            values.append(cs)
            x, y = _np_pool(x), _np_pool(y)
    values.append(s)
    return np.prod([max(v, 1e-6) ** w for v, w in zip(values, weights)])


# -- reference values ----------------------------------------------------------------
# The spec's figures come from pytorch-msssim, whose window is built in float32:
# within 3e-6 of the float64 values.
@pytest.mark.parametrize(
    "n, win, want_ms, want_ssim",
    [(192, 11, 0.991005, 0.877805), (64, 3, 0.976818, 0.747511)],
)
def test_spec_reference_values(n, win, want_ms, want_ssim):
    x, y = _spec_images(n)
    assert ms_ssim(x, y, win_size=win).item() == pytest.approx(want_ms, abs=3e-6)
    assert ssim(x, y, win_size=win).item() == pytest.approx(want_ssim, abs=3e-6)
    # "auto" picks this window and five scales at these sizes
    assert ms_ssim(x, y).item() == ms_ssim(x, y, win_size=win, scales=5).item()
    loss = MSSSIMLoss(win_size=win)(x, y).item()
    assert loss == pytest.approx(1 - want_ms, abs=3e-6)


def test_spec_reference_values_float64_window():
    x, y = _spec_images(64)
    win = _pm_window(3, 1)
    ref = pm.ssim(x, y, data_range=1.0, win=win, size_average=False)
    torch.testing.assert_close(ssim(x, y, win_size=3), ref, rtol=0, atol=1e-14)
    ref = pm.ms_ssim(x, y, data_range=1.0, win=win, size_average=False)
    torch.testing.assert_close(ms_ssim(x, y, win_size=3), ref, rtol=0, atol=1e-14)


# -- equal to pytorch-msssim -----------------------------------------------------------
@pytest.mark.parametrize(
    "shape, win",
    [((3, 2, 64, 64), 11), ((2, 1, 70, 65), 7), ((2, 3, 33, 40), 3), ((4, 1, 8, 9), 7)],
)
def test_ssim_equals_pytorch_msssim(shape, win):
    x, y = _pair(shape)
    x.requires_grad_(True)
    ours = ssim(x, y, win_size=win)
    (grad,) = torch.autograd.grad(ours.sum(), x)
    x_ref = x.detach().clone().requires_grad_(True)
    ref = pm.ssim(
        x_ref, y, data_range=1.0, win=_pm_window(win, shape[1]), size_average=False
    )
    ref.sum().backward()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, x_ref.grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "shape, win",
    [
        ((2, 1, 161, 170), 11),
        ((2, 2, 97, 99), 7),
        ((3, 1, 64, 64), 3),
        ((2, 1, 65, 67), 3),
    ],
)
def test_ms_ssim_equals_pytorch_msssim(shape, win):
    x, y = _pair(shape, noise=0.1)
    x.requires_grad_(True)
    ours = ms_ssim(x, y, win_size=win)
    (grad,) = torch.autograd.grad(ours.sum(), x)
    x_ref = x.detach().clone().requires_grad_(True)
    ref = pm.ms_ssim(
        x_ref, y, data_range=1.0, win=_pm_window(win, shape[1]), size_average=False
    )
    ref.sum().backward()
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(grad, x_ref.grad, rtol=1e-9, atol=1e-12)


def test_float32_equals_pytorch_msssim_defaults():
    """In float32 with pytorch-msssim's own (float32) window, data range 255."""
    x, y = _pair((4, 3, 64, 64), dtype=torch.float32)
    x, y = 255 * x, 255 * y
    ref = pm.ssim(x, y, data_range=255, win_size=7, size_average=False)
    out = ssim(x, y, data_range=255, win_size=7)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ref, rtol=0, atol=2e-6)
    ref = pm.ms_ssim(x, y, data_range=255, win_size=3, size_average=False)
    torch.testing.assert_close(
        ms_ssim(x, y, data_range=255, win_size=3), ref, atol=2e-6, rtol=0
    )


def test_fewer_scales_equal_pytorch_msssim_with_rescaled_weights():
    x, y = _pair((2, 1, 64, 64), noise=0.1)
    head = np.array(MS_SSIM_WEIGHTS[:3])
    rescaled = list(head * sum(MS_SSIM_WEIGHTS) / head.sum())
    win = _pm_window(3, 1)
    ref = pm.ms_ssim(
        x, y, data_range=1.0, win=win, weights=rescaled, size_average=False
    )
    torch.testing.assert_close(
        ms_ssim(x, y, win_size=3, scales=3), ref, rtol=0, atol=1e-12
    )
    # explicit weights are used as they are
    custom = [0.2, 0.3, 0.5]
    ref = pm.ms_ssim(x, y, data_range=1.0, win=win, weights=custom, size_average=False)
    out = ms_ssim(x, y, win_size=3, weights=custom)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)


# -- the numpy loop --------------------------------------------------------------------
@pytest.mark.parametrize("k, sigma, K", [(3, 1.5, (0.01, 0.03)), (5, 0.8, (0.05, 0.1))])
def test_ssim_equals_numpy_loop(k, sigma, K):
    x, y = _pair((2, 2, 9, 11), seed=3)
    c1, c2 = K[0] ** 2, K[1] ** 2
    want = [
        np.mean(
            [
                _np_ssim_cs(x[b, c].numpy(), y[b, c].numpy(), k, sigma, c1, c2)[0]
                for c in range(2)
            ]
        )
        for b in range(2)
    ]
    out = ssim(x, y, win_size=k, win_sigma=sigma, K=K)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("size, k, n_scales", [(16, 3, 3), (19, 3, 4), (8, 3, 2)])
def test_ms_ssim_equals_numpy_loop(size, k, n_scales):
    x, y = _pair((2, 1, size, size + 1), seed=4, noise=0.1)
    weights = np.array(MS_SSIM_WEIGHTS[:n_scales]) * sum(MS_SSIM_WEIGHTS)
    weights /= sum(MS_SSIM_WEIGHTS[:n_scales])
    want = [_np_ms_ssim(x[b, 0].numpy(), y[b, 0].numpy(), k, weights) for b in range(2)]
    out = ms_ssim(x, y)  # auto: window 3, the scales the size allows
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)


# -- small images: window and scales ---------------------------------------------------
@pytest.mark.parametrize(
    "side, ms_setting, ssim_win",
    [
        (8, (3, 2), 3),
        (16, (3, 3), 5),
        (32, (3, 4), 11),
        (33, (3, 5), 11),
        (64, (3, 5), 11),
        (97, (7, 5), 11),
        (128, (7, 5), 11),
        (161, (11, 5), 11),
        (192, (11, 5), 11),
    ],
)
def test_auto_window_and_scales(side, ms_setting, ssim_win):
    shape = (1, 1, side, side + 5)
    assert _ms_ssim_setting(shape, "auto", "auto", 5, "x") == ms_setting
    assert _ssim_window(shape, "auto", "x") == ssim_win


def test_explicit_window_or_scales_adapt_the_other():
    shape = (1, 1, 64, 64)
    assert _ms_ssim_setting(shape, 7, "auto", 5, "x") == (7, 4)  # 97 px for 5 scales
    assert _ms_ssim_setting(shape, "auto", 3, 5, "x") == (11, 3)
    assert _ms_ssim_setting(shape, "auto", 4, 5, "x") == (7, 4)
    assert _ms_ssim_setting((1, 1, 5, 5), "auto", "auto", 5, "x") == (3, 2)
    assert _ms_ssim_setting((1, 1, 4, 9), "auto", "auto", 5, "x") == (3, 1)


@pytest.mark.parametrize(
    "shape", [(3, 8, 8), (2, 2, 16, 16), (2, 1, 32, 40), (1, 3, 64, 64)]
)
def test_identical_images_give_one(shape):
    x, _ = _pair(shape)
    assert torch.equal(ssim(x, x), torch.ones(shape[0], dtype=F64))
    torch.testing.assert_close(ms_ssim(x, x), torch.ones(shape[0], dtype=F64))
    assert MSSSIMLoss()(x, x).item() == pytest.approx(0.0, abs=1e-15)
    assert SSIMLoss()(x, x).item() == 0.0


def test_three_dims_are_one_channel_and_channels_are_averaged():
    x, y = _pair((3, 2, 16, 16))
    torch.testing.assert_close(ms_ssim(x[:, 0], y[:, 0]), ms_ssim(x[:, :1], y[:, :1]))
    per_channel = torch.stack([ssim(x[:, c], y[:, c]) for c in range(2)], 1).mean(1)
    torch.testing.assert_close(ssim(x, y), per_channel, rtol=1e-14, atol=1e-15)


def test_data_range_scales_the_constants():
    x, y = _pair((2, 1, 16, 16))
    torch.testing.assert_close(ms_ssim(255 * x, 255 * y, data_range=255), ms_ssim(x, y))
    assert not torch.allclose(ms_ssim(255 * x, 255 * y), ms_ssim(x, y))


# -- the clamp -------------------------------------------------------------------------
def test_negative_scale_is_clamped_and_keeps_gradients():
    """Anti-correlated images: negative contrast-structure. pytorch-msssim's
    ReLU makes the value 0 and the gradient zero or NaN; the clamp at 1e-6
    keeps a positive value and finite, non-zero gradients."""
    x, _ = _pair((2, 1, 64, 64), seed=5)
    y = 1 - x
    x.requires_grad_(True)
    out = ms_ssim(x, y, win_size=3)
    assert torch.all(out > 0) and torch.all(out < 1e-3)
    (grad,) = torch.autograd.grad(out.sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    x_ref = x.detach().clone().requires_grad_(True)
    ref = pm.ms_ssim(x_ref, y, data_range=1.0, win_size=3, size_average=False)
    ref.sum().backward()
    assert torch.all(ref == 0)
    assert not (torch.isfinite(x_ref.grad).all() and x_ref.grad.abs().sum() > 0)


def test_clamped_value_is_the_product_of_clamped_scales():
    x, _ = _pair((1, 1, 16, 16), seed=6)
    y = 1 - x
    weights = np.array(MS_SSIM_WEIGHTS[:3]) * sum(MS_SSIM_WEIGHTS)
    weights /= sum(MS_SSIM_WEIGHTS[:3])
    want = _np_ms_ssim(x[0, 0].numpy(), y[0, 0].numpy(), 3, weights)
    assert ms_ssim(x, y).item() == pytest.approx(want, rel=1e-12)


# -- losses: gradcheck, weights, registry ----------------------------------------------
@pytest.mark.parametrize(
    "loss, shape",
    [
        (SSIMLoss(win_size=3), (2, 1, 6, 7)),
        (MSSSIMLoss(), (2, 9, 10)),
        (MSSSIMLoss(win_size=3, scales=2), (1, 2, 8, 8)),
    ],
)
def test_gradcheck(loss, shape):
    x, y = _pair(shape, seed=7, noise=0.3)
    assert_gradcheck(
        loss, x, y, sample_weight=torch.linspace(0.5, 2, shape[0], dtype=F64)
    )


@pytest.mark.parametrize("name", ["ssim", "ms_ssim"])
def test_weighted_reductions(name):
    x, y = _pair((4, 1, 16, 16), seed=8)
    w = torch.tensor([0.0, 1.0, 2.5, 0.5], dtype=F64)
    fn = ssim if name == "ssim" else ms_ssim
    ref = (1 - fn(x, y)).numpy()
    assert_weighted_reductions(lambda r: get_loss(name, reduction=r), x, y, w, ref)
    plain = get_loss(name)(x, y)
    assert get_loss(name)(x, y, sample_weight=torch.ones(4, dtype=F64)) == plain
    assert plain.item() == pytest.approx(float(ref.mean()), rel=1e-14)


def test_registry_and_parameters():
    assert {"ssim", "ms_ssim"} <= set(list_losses("regression"))
    for name in ("ssim", "ms_ssim"):
        cls = get_loss_class(name)
        assert cls.image and cls.tasks == {"regression"} and cls.prediction_link is None
    assert not get_loss_class("mse").image
    loss = get_loss("ms_ssim", win_size=7, scales=3, weights=[1.0, 2.0, 3.0])
    assert loss.get_params()["weights"] == [1.0, 2.0, 3.0]
    assert get_loss(loss).get_params() == loss.get_params()


def test_image_losses_are_not_table_candidates():
    from sklearn_losses.compare import get_task

    candidates = get_task("regression").candidates()
    assert (
        "mse" in candidates and "ssim" not in candidates and "ms_ssim" not in candidates
    )


def test_float32_input_and_float64_target():
    x, y = _pair((2, 1, 16, 16))
    out = MSSSIMLoss()(x.float(), y)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(MSSSIMLoss()(x, y).item(), abs=1e-5)


# -- bad input -------------------------------------------------------------------------
IMG = _pair((2, 1, 16, 16))


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: ssim(*_pair((2, 8, 8)), win_size=11),
            ValueError,
            "x: images of 8x8 .*smaller than the window",
        ),
        (
            lambda: ms_ssim(*_pair((2, 2, 2))),
            ValueError,
            "x: images of 2x2 .*smaller than the window",
        ),
        (
            lambda: ms_ssim(*IMG, win_size=3, scales=5),
            ValueError,
            r"scales=5 .*min\(H, W\) >= 33",
        ),
        (lambda: ms_ssim(*IMG, win_size=11, scales=2), ValueError, "scales=2"),
        (lambda: MSSSIMLoss(win_size=17)(*IMG), ValueError, "input: images of 16x16"),
        (
            lambda: ssim(IMG[0], IMG[1][:, :, :15]),
            ValueError,
            "y must have the shape of x",
        ),
        (
            lambda: SSIMLoss()(IMG[0], IMG[1][:1]),
            ValueError,
            "target must have the shape of input",
        ),
        (
            lambda: MSSSIMLoss()(IMG[0].flatten(1), IMG[1].flatten(1)),
            ValueError,
            "input must hold images",
        ),
        (
            lambda: ms_ssim(IMG[0][..., None], IMG[1][..., None]),
            ValueError,
            "x must hold images",
        ),
        (
            lambda: MSSSIMLoss()(IMG[0], IMG[1] * torch.nan),
            ValueError,
            "target has NaN",
        ),
        (lambda: ssim(IMG[0] * torch.inf, IMG[1]), ValueError, "x has NaN or infinite"),
        (
            lambda: MSSSIMLoss()(IMG[0].long(), IMG[1]),
            TypeError,
            "input must be a floating",
        ),
        (
            lambda: SSIMLoss()(IMG[0], IMG[1].numpy()),
            TypeError,
            "target must be a floating",
        ),
        (lambda: SSIMLoss()(IMG[0], IMG[1] > 0.5), TypeError, "target"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"win_size": 4}, "win_size must be 'auto' or an odd int >= 3"),
        ({"win_size": 1}, "win_size"),
        ({"win_size": "big"}, "win_size"),
        ({"win_size": 7.0}, "win_size"),
        ({"win_sigma": 0}, "win_sigma"),
        ({"data_range": -1}, "data_range"),
        ({"K": (0.01,)}, "K must be a pair"),
        ({"K": (0.01, -0.03)}, "K"),
        ({"weights": []}, "weights"),
        ({"weights": [0.5, -0.1]}, "weights"),
        ({"weights": [0.0, 0.0]}, "weights"),
        ({"scales": 6}, r"scales must be 'auto' or an int in \[1, 5\]"),
        ({"scales": 0}, "scales"),
        ({"weights": [1.0, 1.0], "scales": 3}, r"\[1, 2\]"),
        ({"reduction": "max"}, "reduction"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        MSSSIMLoss(**params)
    if "reduction" not in params:  # the functions check the same parameters
        with pytest.raises(ValueError, match=match):
            ms_ssim(*IMG, **params)
    ssim_params = {k: v for k, v in params.items() if k not in ("weights", "scales")}
    if ssim_params:
        with pytest.raises(ValueError, match=match):
            SSIMLoss(**ssim_params)


def test_all_zero_weights_of_the_used_scales():
    with pytest.raises(ValueError, match="first 2 weights .* are all zero"):
        ms_ssim(*_pair((1, 8, 8)), weights=[0.0, 0.0, 1.0])


def test_trusted_targets_skip_the_nan_check():
    x, y = IMG
    with trusted_targets():
        assert torch.isnan(MSSSIMLoss()(x, y * torch.nan))


def test_the_losses_do_not_reward_the_negated_image():
    # SSIM's l * cs is unchanged when both factors flip sign: the negated
    # target scores about +1 as an image, but -1 (a loss of 2) as a loss.
    y = torch.rand(3, 1, 16, 16, dtype=torch.float64, generator=torch.manual_seed(0))
    assert ssim(-y, y).min() > 0.9
    assert SSIMLoss()(-y, y).item() > 1.9
    assert MSSSIMLoss()(-y, y).item() > 0.99
    # valid images keep their SSIM and MS-SSIM
    x = (y + 0.1 * torch.rand_like(y)).clamp(0, 1)
    assert SSIMLoss(reduction="none")(x, y) == pytest.approx(1 - ssim(x, y))
    assert MSSSIMLoss(reduction="none")(x, y) == pytest.approx(1 - ms_ssim(x, y))
