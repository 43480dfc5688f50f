"""ConvAutoencoder: output shapes for any size, padding, batch independence."""

import pytest
import torch

from sklearn_losses.modules import ConvAutoencoder


@pytest.mark.parametrize(
    "shape, c_out, depth", [((8, 8), 1, 2), ((9, 7), 2, 2), ((13, 30), 1, 3)]
)
def test_output_shape_of_any_size(shape, c_out, depth):
    net = ConvAutoencoder(3, c_out, *shape, channels=4, depth=depth)
    out = net(torch.randn(5, 3, *shape))
    assert out.shape == (5, c_out, *shape) and net.n_outputs == (c_out, *shape)


def test_one_channel_without_its_axis():
    net = ConvAutoencoder(1, 1, 11, 11, channels=4, squeeze=True)
    X = torch.randn(4, 11, 11)
    assert net(X).shape == (4, 11, 11) and net.n_outputs == (11, 11)
    torch.testing.assert_close(net(X), net(X[:, None]))


def test_a_sample_does_not_depend_on_its_batch():
    torch.manual_seed(0)
    net = ConvAutoencoder(1, 1, 16, 16, channels=4).double()
    X = torch.randn(6, 1, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(net(X)[:2], net(X[:2]))


def test_depth_zero_and_gradients():
    net = ConvAutoencoder(2, 1, 5, 6, channels=3, depth=0)
    out = net(torch.randn(2, 2, 5, 6))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize(
    "params, match",
    [
        ({"in_channels": 0}, "in_channels must be an int >= 1"),
        ({"depth": -1}, "depth must be an int >= 0"),
        ({"channels": 2.5}, "channels must be an int >= 1"),
        ({"activation": "nope"}, "activation must be one of"),
        ({"out_channels": 2, "squeeze": True}, "squeeze=True needs out_channels=1"),
    ],
)
def test_bad_parameters(params, match):
    args = {"in_channels": 1, "out_channels": 1, "height": 8, "width": 8, **params}
    with pytest.raises(ValueError, match=match):
        ConvAutoencoder(**args)


def test_wrong_input_shape_is_refused():
    net = ConvAutoencoder(2, 1, 8, 8, channels=2)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(-1, 2, 8, 8\)"):
        net(torch.zeros(3, 8, 8))
