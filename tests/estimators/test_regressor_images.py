"""LossRegressor on image-shaped inputs and targets; the image datasets."""

import pickle

import numpy as np
import pytest
import torch
from scipy import ndimage
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_losses import LossRegressor
from sklearn_losses.datasets import load_noisy_digits, make_segmentation_shapes
from sklearn_losses.losses import get_loss, list_losses
from sklearn_losses.modules import ConvAutoencoder

SMALL = {"module__channels": 4, "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def digits():
    X, Y, _ = load_noisy_digits(n_samples=120, noise=0.2, random_state=0)
    return X, Y


@pytest.fixture(scope="module")
def shapes():
    return make_segmentation_shapes(24, size=12, noise=0.1, random_state=0)


def _conv(**params):
    return LossRegressor(**{"max_epochs": 2, **SMALL, **params})


# -- shapes --------------------------------------------------------------------
def test_images_in_images_out(digits):
    X, Y = digits
    reg = _conv().fit(X, Y)
    assert isinstance(reg.net_.module_, ConvAutoencoder)  # the default for images
    assert reg.input_shape_ == (8, 8) and reg.output_shape_ == (8, 8)
    assert reg.n_features_in_ == 64 and reg.n_outputs_ == 64
    assert reg.predict(X[:5]).shape == (5, 8, 8)
    assert not hasattr(reg, "feature_names_in_")


def test_channels_in_and_out(digits):
    X, Y = digits
    X4 = np.stack([X, X[::-1]], axis=1)  # (n, 2, 8, 8)
    Y4 = np.stack([Y, 1 - Y, Y], axis=1)  # (n, 3, 8, 8)
    reg = _conv().fit(X4, Y4)
    assert reg.input_shape_ == (2, 8, 8) and reg.output_shape_ == (3, 8, 8)
    assert reg.net_.module_.n_outputs == (3, 8, 8)
    assert reg.predict(X4[:4]).shape == (4, 3, 8, 8)
    # One channel given with its axis, a target without it.
    reg = _conv().fit(X[:, None], Y)
    assert reg.predict(X[:3, None]).shape == (3, 8, 8)


def test_mlp_flattens(digits):
    X, Y = digits
    reg = LossRegressor(module="mlp", max_epochs=2, random_state=0).fit(X, Y)
    assert reg.predict(X[:3]).shape == (3, 8, 8)
    # A table in, images out; images in, one number out.
    reg = LossRegressor(max_epochs=2, random_state=0).fit(X.reshape(-1, 64), Y)
    assert reg.predict(X[:3].reshape(-1, 64)).shape == (3, 8, 8)
    y = Y.mean(axis=(1, 2))
    reg = LossRegressor(max_epochs=2, random_state=0).fit(X, y)
    assert reg.output_shape_ == () and reg.predict(X[:3]).shape == (3,)
    assert reg.input_shape_ == (8, 8) and reg.n_features_in_ == 64


def test_a_user_module_sees_the_images(digits):
    X, Y = digits
    seen = []

    class Net(torch.nn.Module):
        def __init__(self, n_features_in, n_outputs):
            super().__init__()
            seen.append((n_features_in, n_outputs))
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, X):
            return self.scale * X

    reg = LossRegressor(module=Net, max_epochs=1, random_state=0).fit(X, Y)
    assert seen == [(64, 64)]
    assert reg.predict(X[:2]).shape == (2, 8, 8)


def test_denoises_digits():
    X, Y, _ = load_noisy_digits(n_samples=300, noise=0.2, random_state=0)
    reg = _conv(loss="mse", max_epochs=40, lr=3e-3, module__channels=8)
    reg.fit(X[:200], Y[:200])
    noise = np.mean((X[200:] - Y[200:]) ** 2)
    assert np.mean((reg.predict(X[200:]) - Y[200:]) ** 2) < 0.75 * noise
    assert reg.score(X[200:], Y[200:]) > 0.75


# -- targets, standardisation, links -------------------------------------------
def test_image_targets_are_not_standardised_by_default(digits):
    X, Y = digits
    reg = _conv(max_epochs=1).fit(X, Y)
    assert np.all(reg.target_mean_ == 0) and np.all(reg.target_scale_ == 1)
    reg = _conv(max_epochs=1, standardize_target=True).fit(X, Y)
    # One mean and one scale for the whole image.
    assert np.allclose(reg.target_mean_, Y.mean())
    assert np.allclose(reg.target_scale_, Y.std())


def test_bce_predicts_probabilities_of_masks(shapes):
    X, masks = shapes
    reg = _conv(loss="bce", max_epochs=30, lr=3e-3, standardize_target=True)
    reg.fit(X, masks)
    proba = reg.predict(X)
    assert proba.shape == masks.shape
    assert proba.min() >= 0 and proba.max() <= 1
    assert np.all(reg.target_mean_ == 0) and np.all(reg.target_scale_ == 1)
    pred = proba > 0.5
    dice = 2 * (pred & (masks == 1)).sum() / (pred.sum() + masks.sum())
    assert dice > 0.6


def test_bce_refuses_targets_outside_0_1(shapes):
    X, masks = shapes
    with pytest.raises(ValueError, match=r"'bce' predicts probabilities: y must"):
        _conv(loss="bce", max_epochs=1).fit(X, masks * 2.0)


# -- seeds, weights, pickling, chunks ----------------------------------------------
def test_seeds(digits):
    X, Y = digits
    a = _conv(random_state=3).fit(X, Y).predict(X[:10])
    b = _conv(random_state=3).fit(X, Y).predict(X[:10])
    c = _conv(random_state=4).fit(X, Y).predict(X[:10])
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_integer_weights_equal_repeated_rows(digits):
    X, Y = digits
    X, Y = X[:40], Y[:40]
    w = np.arange(40) % 3  # 0, 1 or 2 copies
    rep = np.repeat(np.arange(40), w)
    params = {"batch_size": 200, "max_epochs": 3}
    weighted = _conv(**params).fit(X, Y, sample_weight=w).predict(X)
    repeated = _conv(**params).fit(X[rep], Y[rep]).predict(X)
    np.testing.assert_allclose(weighted, repeated, rtol=1e-4, atol=1e-5)
    unweighted = _conv(**params).fit(X, Y).predict(X)
    assert not np.allclose(weighted, unweighted, atol=1e-5)


def test_pickle_and_clone(digits):
    X, Y = digits
    reg = _conv(loss="l1", module__depth=1).fit(X, Y)
    again = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(again.predict(X), reg.predict(X))
    copy = clone(reg)
    assert copy.get_params()["module__depth"] == 1 and not hasattr(copy, "net_")


def test_predict_in_chunks_equals_predict_at_once(digits):
    X, Y = digits
    reg = _conv().fit(X, Y)
    whole = reg.predict(X)
    parts = np.concatenate([reg.predict(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(parts, whole)


def test_early_stopping_and_warm_start(digits):
    X, Y = digits
    reg = _conv(max_epochs=3, early_stopping=True).fit(X, Y)
    assert np.isfinite(reg.history_[:, "valid_score"]).all()
    reg = _conv(max_epochs=2, validation_scoring="neg_mean_squared_error")
    reg.set_params(early_stopping=True).fit(X, Y)
    assert (np.asarray(reg.history_[:, "valid_score"]) < 0).all()
    reg = _conv(warm_start=True).fit(X, Y)
    reg.fit(X, Y)
    assert len(reg.history_) == 4
    with pytest.raises(ValueError, match="previous fit's shape"):
        reg.fit(X, Y[:, :4])


def _image_losses():
    names = ["mse", "l1"]
    for name in ("ssim", "ms_ssim", "l1+ms_ssim"):
        try:
            get_loss(name)
        except (ValueError, KeyError):
            continue
        names.append(name)
    return names


def test_grid_search_over_losses(digits):
    X, Y = digits
    losses = _image_losses()
    search = GridSearchCV(_conv(max_epochs=2), {"loss": losses}, cv=2)
    search.fit(X, Y)
    assert search.best_params_["loss"] in losses
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(X[:2]).shape == (2, 8, 8)


# -- bad input ------------------------------------------------------------------
def test_a_module_of_another_output_shape_is_refused(digits):
    X, Y = digits

    class Flat(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(64, 64)

        def forward(self, X):
            return self.lin(X.reshape(len(X), -1))

    with pytest.raises(ValueError, match=r"outputs of shape \(32, 8, 8\)"):
        LossRegressor(module=Flat, max_epochs=1, batch_size=32).fit(X, Y)


@pytest.mark.parametrize("where", ["X", "y"])
def test_nan_pixels_are_refused(digits, where):
    X, Y = (a.copy() for a in digits)
    (X if where == "X" else Y)[3, 2, 5] = np.nan
    with pytest.raises(ValueError, match=rf"^{where} contains NaN or infinity"):
        _conv(max_epochs=1).fit(X, Y)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, Y: (X[:, None, None], Y), r"X must be 3-D, 4-D .* \(120, 1, 1, 8"),
        (lambda X, Y: (X, Y[:, None, None, None]), r"y must be 1-D .* image-shaped"),
        (lambda X, Y: (X, Y[:-1]), "X has 120 samples, y has 119"),
        (lambda X, Y: (np.full(X.shape, "a", dtype=object), Y), "X must be numeric"),
        (lambda X, Y: (X[:0], Y[:0]), "X must hold at least one sample"),
    ],
)
def test_bad_arrays_are_refused(digits, make, match):
    X, Y = make(*digits)
    with pytest.raises((ValueError, TypeError), match=match):
        _conv(max_epochs=1).fit(X, Y)


def test_predict_needs_the_shape_of_fit(digits):
    X, Y = digits
    reg = _conv(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 8, 8\)"):
        reg.predict(X[:, :4])
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, 8, 8\)"):
        reg.predict(X.reshape(-1, 64))
    table = LossRegressor(max_epochs=1).fit(X.reshape(-1, 64), Y)
    with pytest.raises(ValueError, match=r"X must be a table of shape"):
        table.predict(X)


def test_conv_autoencoder_needs_images_of_one_size(digits):
    X, Y = digits
    with pytest.raises(ValueError, match="module='conv_autoencoder' maps images"):
        LossRegressor(module="conv_autoencoder", max_epochs=1).fit(X, Y[:, :4])
    with pytest.raises(ValueError, match="module='conv_autoencoder' maps images"):
        LossRegressor(module="conv_autoencoder", max_epochs=1).fit(X.reshape(-1, 64), Y)
    with pytest.raises(ValueError, match="module must be None, 'mlp'"):
        LossRegressor(module="unet", max_epochs=1).fit(X, Y)


# -- the datasets -----------------------------------------------------------------
def _holes(mask):
    """Betti-1 of a 4-connected foreground: 8-connected background components
    not touching the frame."""
    _, n = ndimage.label(1 - np.pad(mask, 1), structure=np.ones((3, 3)))
    return n - 1


def test_segmentation_shapes():
    X, masks = make_segmentation_shapes(12, size=20, random_state=0)
    assert X.shape == (12, 1, 20, 20) and X.dtype == np.float64
    assert masks.shape == (12, 20, 20) and set(np.unique(masks)) == {0, 1}
    # The image is bright where the mask is.
    assert X[:, 0][masks == 1].mean() > X[:, 0][masks == 0].mean() + 0.3
    again = make_segmentation_shapes(12, size=20, random_state=0)
    np.testing.assert_array_equal(again[0], X)
    np.testing.assert_array_equal(again[1], masks)
    other = make_segmentation_shapes(12, size=20, random_state=1)
    assert not np.array_equal(other[1], masks)


@pytest.mark.parametrize("size", [8, 16, 32, 64])
def test_rings_have_holes(size):
    _, masks = make_segmentation_shapes(
        8, size=size, n_shapes=1, kinds=("ring",), random_state=0
    )
    assert all(_holes(m) == 1 for m in masks)
    assert all(ndimage.label(m)[1] == 1 for m in masks)


def test_curves_are_thin_and_blobs_are_solid():
    _, curves = make_segmentation_shapes(
        8, size=32, n_shapes=1, kinds="curve", random_state=0
    )
    _, blobs = make_segmentation_shapes(
        8, size=32, n_shapes=1, kinds="blob", random_state=0
    )
    assert all(_holes(m) == 0 for m in blobs)
    # A curve is about two pixels wide: two erosions leave (almost) nothing.
    eroded = sum(ndimage.binary_erosion(m, iterations=2).sum() for m in curves)
    assert eroded < 0.05 * curves.sum() and min(m.sum() for m in curves) > 10


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"size": 4}, ValueError, "size must be >= 8"),
        ({"n_samples": 0}, ValueError, "n_samples must be >= 1"),
        ({"n_shapes": 1.5}, TypeError, "n_shapes must be an int"),
        ({"noise": -1}, ValueError, "noise must be a finite number >= 0"),
        ({"kinds": ("ring", "star")}, ValueError, "kinds must be"),
    ],
)
def test_segmentation_shapes_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        make_segmentation_shapes(**params)


def test_noisy_digits():
    X, Y, digits = load_noisy_digits(n_samples=50, noise=0.3, random_state=0)
    assert X.shape == Y.shape == (50, 8, 8) and digits.shape == (50,)
    assert Y.min() == 0 and Y.max() == 1 and 0 <= X.min() and X.max() <= 1
    np.testing.assert_array_equal(
        load_noisy_digits(noise=0.0)[0], load_noisy_digits()[1]
    )


def test_image_losses_are_registered_for_regression():
    assert {"mse", "l1", "bce"} <= set(list_losses("regression"))


def test_conv_outputs_start_at_the_targets_mean_level(digits):
    # lr=0: the fitted network is the initial one; its outputs sit near the
    # mean pixel of the targets (SSIM's luminance term has the wrong sign
    # below 0 for images in [0, 1]), and an SSIM fit learns from there.
    X, Y = digits
    start = _conv(lr=1e-12, max_epochs=1).fit(X, Y).predict(X)
    assert abs(start.mean() - Y.mean()) < 0.05
    import torch

    from sklearn_losses.losses import ssim

    def quality(pred):
        return ssim(torch.as_tensor(pred), torch.as_tensor(Y)).mean().item()

    fitted = _conv(loss="ssim", max_epochs=15).fit(X, Y).predict(X)
    assert fitted.mean() > 0 and quality(fitted) > quality(start) + 0.2
