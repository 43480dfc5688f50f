"""Tests of the loss contract: ``weighted_reduce``, ``BaseLoss``, ``split_logits``."""

import math

import pytest
import torch

from sklearn_losses.losses import BaseLoss, weighted_reduce
from sklearn_losses.losses._base import split_logits

TERMS = [1.0, 2.0, 3.0, 4.0]
WEIGHTS = [1.0, 0.0, 2.0, 1.0]


def _t(values, dtype=torch.float64):
    return torch.tensor(values, dtype=dtype)


# -- weighted_reduce ----------------------------------------------------------
@pytest.mark.parametrize(
    ("weights", "reduction", "expected"),
    [
        (None, "mean", 2.5),  # (1 + 2 + 3 + 4) / 4
        (None, "sum", 10.0),
        (None, "none", [1.0, 2.0, 3.0, 4.0]),
        (WEIGHTS, "mean", 2.75),  # (1 + 0 + 6 + 4) / (1 + 0 + 2 + 1) = 11 / 4
        (WEIGHTS, "sum", 11.0),
        (WEIGHTS, "none", [1.0, 0.0, 6.0, 4.0]),
        ([1.0, 1.0, 1.0, 1.0], "mean", 2.5),
        ([0.5, 0.5, 0.5, 0.5], "mean", 2.5),  # the mean is scale-invariant
        ([0.5, 0.5, 0.5, 0.5], "sum", 5.0),
        ([3.0, 0.0, 0.0, 1.0], "mean", 1.75),  # (3 + 4) / 4
    ],
)
def test_weighted_reduce_hand_values(weights, reduction, expected):
    w = None if weights is None else _t(weights)
    out = weighted_reduce(_t(TERMS), w, reduction)
    torch.testing.assert_close(out, _t(expected), rtol=1e-14, atol=0)


def test_weighted_reduce_docstring_example():
    out = weighted_reduce(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0]))
    assert out.item() == pytest.approx(1.5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_weighted_reduce_zero_total_weight_is_zero(dtype):
    terms = torch.tensor([1.0, 2.0, 3.0], dtype=dtype, requires_grad=True)
    out = weighted_reduce(terms, torch.zeros(3, dtype=dtype), "mean")
    assert out.item() == 0.0
    assert not math.isnan(out.item())
    out.backward()
    assert torch.equal(terms.grad, torch.zeros(3, dtype=dtype))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_reduce_integer_weights(reduction):
    # Integer (e.g. count) weights are cast to the dtype of the terms.
    w = torch.tensor([1, 0, 2, 1])
    out = weighted_reduce(_t(TERMS), w, reduction)
    expected = weighted_reduce(_t(TERMS), _t(WEIGHTS), reduction)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize(
    ("terms_dtype", "weight_dtype"),
    [(torch.float32, torch.float64), (torch.float64, torch.float32)],
)
def test_weighted_reduce_output_dtype_follows_terms(terms_dtype, weight_dtype):
    out = weighted_reduce(_t(TERMS, terms_dtype), _t(WEIGHTS, weight_dtype), "mean")
    assert out.dtype == terms_dtype
    assert out.item() == pytest.approx(2.75)


@pytest.mark.parametrize("shape", [(4, 1), (3,), (5,), (1, 4), ()])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_reduce_wrong_weight_shape(shape, reduction):
    with pytest.raises(ValueError, match="sample_weight"):
        weighted_reduce(_t(TERMS), torch.ones(shape, dtype=torch.float64), reduction)


def test_weighted_reduce_gradient():
    terms = _t(TERMS).requires_grad_(True)
    weighted_reduce(terms, _t(WEIGHTS), "mean").backward()
    torch.testing.assert_close(terms.grad, _t(WEIGHTS) / 4.0)


# -- BaseLoss -----------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["bad", "MEAN", None, "avg", ""])
def test_base_loss_bad_reduction(reduction):
    with pytest.raises(ValueError, match="reduction"):
        BaseLoss(reduction=reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_base_loss_params(reduction):
    loss = BaseLoss(reduction=reduction)
    assert loss.get_params() == {"reduction": reduction}
    assert isinstance(loss, torch.nn.Module)


def test_base_loss_without_terms_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="loss_terms"):
        BaseLoss()(torch.zeros(2), torch.zeros(2, dtype=torch.long))


def test_base_loss_forward_uses_weighted_reduce():
    class _Identity(BaseLoss):
        def loss_terms(self, input, target):
            return input

    terms, w = _t(TERMS), _t(WEIGHTS)
    target = torch.zeros(4, dtype=torch.long)
    for reduction in ("mean", "sum", "none"):
        out = _Identity(reduction=reduction)(terms, target, sample_weight=w)
        torch.testing.assert_close(out, weighted_reduce(terms, w, reduction))


def test_subclass_redefining_terms_averages_its_own_terms():
    """forward reduces the loss_terms of the class, wherever they come from."""
    from sklearn_losses.losses import CrossEntropyLoss

    class _Doubled(CrossEntropyLoss):
        def loss_terms(self, input, target):
            return 2.0 * super().loss_terms(input, target)

    z, y = torch.tensor([0.3, -1.0, 2.0]), torch.tensor([1, 0, 0])
    torch.testing.assert_close(_Doubled()(z, y), 2.0 * CrossEntropyLoss()(z, y))

    class _Mixin:  # loss_terms from a mixin ahead of the loss in the MRO
        def loss_terms(self, input, target):
            return 2.0 * CrossEntropyLoss.loss_terms(self, input, target)

    class _MixedIn(_Mixin, CrossEntropyLoss):
        pass

    torch.testing.assert_close(_MixedIn()(z, y), 2.0 * CrossEntropyLoss()(z, y))


# -- split_logits -------------------------------------------------------------
@pytest.mark.parametrize("shape", [(5,), (5, 1), (5, 3)])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_split_logits_trusted_reads_the_same_layout(shape, dtype):
    from sklearn_losses.losses import trusted_targets

    z, y = torch.randn(shape), torch.tensor([0, 1, 1, 0, 1], dtype=dtype)
    checked = split_logits(z, y)
    with trusted_targets():
        trusted = split_logits(z, y)
    assert trusted[2] == checked[2] and trusted[1].dtype == torch.int64
    torch.testing.assert_close(trusted[0], checked[0], rtol=0, atol=0)
    torch.testing.assert_close(trusted[1], checked[1], rtol=0, atol=0)
    with trusted_targets(), pytest.raises(ValueError, match="input must have shape"):
        split_logits(torch.zeros(5, 2, 2), y)  # not one of the three layouts
    with trusted_targets(), pytest.raises(ValueError, match="target must have shape"):
        split_logits(z, y.reshape(5, 1))  # would broadcast against the logits


@pytest.mark.parametrize(
    ("shape", "binary"),
    [((5,), True), ((5, 1), True), ((5, 2), False), ((5, 4), False)],
)
def test_split_logits_shapes(shape, binary):
    z = torch.randn(shape)
    y = torch.zeros(5, dtype=torch.long)
    logits, target, is_binary = split_logits(z, y)
    assert is_binary is binary
    assert logits.shape == ((5,) if binary else shape)
    assert target is y


@pytest.mark.parametrize("shape", [(5, 2, 3), (5, 1, 1), ()])
def test_split_logits_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input"):
        split_logits(torch.zeros(shape), torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize("input_shape", [(5,), (5, 1), (5, 3)])
@pytest.mark.parametrize("target_shape", [(4,), (6,), (5, 1), (1, 5)])
def test_split_logits_bad_target_shape(input_shape, target_shape):
    with pytest.raises(ValueError, match="target"):
        split_logits(
            torch.zeros(input_shape), torch.zeros(target_shape, dtype=torch.long)
        )


@pytest.mark.parametrize(
    ("shape", "target"),
    [((3,), [0, 1, 2]), ((3,), [0, -1, 1]), ((3, 3), [0, 3, 1]), ((3, 3), [-1, 0, 1])],
)
@pytest.mark.parametrize("loss_name", ["cross_entropy", "focal"])
def test_target_outside_class_range_raises(loss_name, shape, target):
    from sklearn_losses.losses import get_loss

    loss = get_loss(loss_name)
    with pytest.raises(ValueError, match="class indices"):
        loss(torch.zeros(shape), torch.tensor(target))


def test_trusted_targets_skips_the_range_check_only_inside():
    from sklearn_losses.losses import CrossEntropyLoss, trusted_targets

    loss = CrossEntropyLoss()
    with trusted_targets():
        loss(torch.zeros(3, 3), torch.tensor([0, 1, 2]))
        split_logits(torch.zeros(2), torch.tensor([0, 5]))  # not checked here
    with pytest.raises(ValueError, match="class indices"):
        split_logits(torch.zeros(2), torch.tensor([0, 5]))
