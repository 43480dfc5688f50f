"""Relaxed sorting networks: reference values, the diffsort package, limits."""

import itertools
import pickle

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sklearn_losses.modules.diffsort import (
    DISTRIBUTIONS,
    NETWORKS,
    DiffSortNet,
    diff_sort,
    soft_swap_weights,
    sorting_network,
)


def numpy_odd_even(x, beta):
    """The spec's numpy reference: relaxed odd-even sort with cauchy swaps."""
    n = len(x)
    x = np.asarray(x, dtype=float).copy()
    P = np.eye(n)
    for layer in range(n):
        for a in range(layer % 2, n - 1, 2):
            al = np.arctan(beta * (x[a + 1] - x[a])) / np.pi + 0.5
            x[a], x[a + 1] = (
                al * x[a] + (1 - al) * x[a + 1],
                (1 - al) * x[a] + al * x[a + 1],
            )
            ca, cb = P[:, a].copy(), P[:, a + 1].copy()
            P[:, a], P[:, a + 1] = al * ca + (1 - al) * cb, (1 - al) * ca + al * cb
    return x, P


def hard_sort(net, x):
    """Apply the network's comparators as hard min/max (numpy, rows of x)."""
    x = x.copy()
    for lo, hi in net:
        lo, hi = lo.numpy(), hi.numpy()
        u, v = x[:, lo].copy(), x[:, hi].copy()
        x[:, lo], x[:, hi] = np.minimum(u, v), np.maximum(u, v)
    return x if net.output is None else x[:, net.output.numpy()]


# -- reference values ----------------------------------------------------------
def test_full_permutation_bce_reference():
    x = torch.tensor([0.2, -1.0, 0.7, 0.1], dtype=torch.float64)
    _, P = diff_sort(x, "odd_even", steepness=10.0, distribution="cauchy")
    target = F.one_hot(torch.argsort(x), 4).T.to(torch.float64)
    loss = F.binary_cross_entropy(P, target)
    assert loss.item() == pytest.approx(0.1861681, rel=1e-5)


def test_groco_example_sorted_vector_and_matrix():
    v = torch.tensor([0.1, 0.3, 0.5, 0.4, 0.9], dtype=torch.float64)
    values, P = diff_sort(v, steepness=1.0)
    expected_values = [0.291391, 0.297602, 0.469842, 0.503927, 0.637239]
    expected_P = [
        [0.349199, 0.339836, 0.152681, 0.125101, 0.033182],
        [0.332167, 0.325164, 0.163518, 0.136431, 0.042720],
        [0.138051, 0.144220, 0.233878, 0.240496, 0.243355],
        [0.149459, 0.155486, 0.232703, 0.235871, 0.226482],
        [0.031125, 0.035294, 0.217220, 0.262101, 0.454260],
    ]
    np.testing.assert_allclose(values.numpy(), expected_values, atol=1e-6)
    np.testing.assert_allclose(P.numpy(), expected_P, atol=1e-6)
    ref_values, ref_P = numpy_odd_even(v.numpy(), 1.0)
    np.testing.assert_allclose(values.numpy(), ref_values, atol=1e-14)
    np.testing.assert_allclose(P.numpy(), ref_P, atol=1e-14)


# -- the diffsort package ------------------------------------------------------
@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("n", [4, 5, 8, 13])
def test_equals_diffsort_package(network, n):
    diffsort = pytest.importorskip("diffsort")
    gen = torch.Generator().manual_seed(n)
    x = torch.randn(6, n, generator=gen, dtype=torch.float64)
    for distribution in DISTRIBUTIONS:
        ref = diffsort.DiffSortNet(
            network, n, steepness=3.0, art_lambda=0.25, distribution=distribution
        )
        ref_values, ref_P = ref(x)
        values, P = DiffSortNet(n, network, 3.0, distribution, 0.25)(x)
        assert values.dtype == torch.float64
        np.testing.assert_allclose(values.numpy(), ref_values.numpy(), atol=1e-6)
        np.testing.assert_allclose(P.numpy(), ref_P.numpy(), atol=1e-6)


# -- structure -----------------------------------------------------------------
@pytest.mark.parametrize("network", NETWORKS)
def test_networks_sort_every_size(network):
    rng = np.random.default_rng(0)
    for n in range(0, 48):
        net = sorting_network(n, network)
        for lo, hi in net:
            wires = torch.cat([lo, hi])
            assert wires.unique().numel() == wires.numel()  # disjoint comparators
        x = rng.standard_normal((40, n))
        np.testing.assert_array_equal(hard_sort(net, x), np.sort(x, axis=1))


def test_network_shapes_and_cache():
    assert len(sorting_network(7, "odd_even")) == 7
    assert sorting_network(7, "odd_even").n_comparators == 21
    assert len(sorting_network(16, "bitonic")) == 10
    assert sorting_network(16, "bitonic").n_comparators == 80
    assert sorting_network(13, "bitonic") is sorting_network(13, "bitonic")
    net = sorting_network(22, "bitonic")
    again = pickle.loads(pickle.dumps(net))
    assert torch.equal(again.output, net.output)
    assert len(again) == len(net)


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_doubly_stochastic_and_consistent(network, distribution):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 11, generator=gen, dtype=torch.float64)
    values, P = diff_sort(x, network, steepness=2.0, distribution=distribution)
    assert values.shape == (3, 2, 11) and P.shape == (3, 2, 11, 11)
    ones = torch.ones(3, 2, 11, dtype=torch.float64)
    torch.testing.assert_close(P.sum(-1), ones)
    torch.testing.assert_close(P.sum(-2), ones)
    assert bool((P >= 0).all())
    torch.testing.assert_close((x.unsqueeze(-2) @ P).squeeze(-2), values)


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_hard_limit(network, distribution):
    gen = torch.Generator().manual_seed(2)
    x = torch.stack([torch.randperm(13, generator=gen) for _ in range(4)]).double()
    values, P = diff_sort(x, network, steepness=1e4, distribution=distribution)
    order = torch.sort(x, dim=-1)
    torch.testing.assert_close(values, order.values, atol=5e-3, rtol=0)
    hard = F.one_hot(order.indices, 13).transpose(-1, -2).double()
    torch.testing.assert_close(P, hard, atol=5e-3, rtol=0)


@pytest.mark.parametrize("n", [3, 6, 7, 11, 22])
def test_bitonic_size_not_power_of_two(n):
    gen = torch.Generator().manual_seed(n)
    x = torch.randn(5, n, generator=gen, dtype=torch.float64)
    values, P = diff_sort(x, "bitonic", steepness=1e6, distribution="logistic")
    torch.testing.assert_close(values, x.sort(-1).values)
    soft, P_soft = diff_sort(x, "bitonic", steepness=1.0)
    assert P_soft.shape == (5, n, n)
    torch.testing.assert_close(P_soft.sum(-2), torch.ones_like(x))
    torch.testing.assert_close(P_soft.sum(-1), torch.ones_like(x))


@pytest.mark.parametrize("network", NETWORKS)
def test_float32_safe(network):
    gen = torch.Generator().manual_seed(3)
    x64 = torch.randn(4, 9, generator=gen, dtype=torch.float64) * 100
    for distribution in DISTRIBUTIONS:
        x = x64.float().requires_grad_()
        values, P = diff_sort(x, network, 10.0, distribution)
        assert values.dtype == P.dtype == torch.float32
        (values.sum() + (P * torch.arange(9.0)).sum()).backward()
        assert bool(torch.isfinite(x.grad).all())
        ref_values, ref_P = diff_sort(x64, network, 10.0, distribution)
        torch.testing.assert_close(values.double(), ref_values, rtol=1e-5, atol=1e-3)
        torch.testing.assert_close(P.double(), ref_P, rtol=0, atol=1e-5)


def test_ties_and_extremes_are_finite():
    for distribution in DISTRIBUTIONS:
        x = torch.tensor([[1.0, 1.0, 1.0, -1e4, 1e4]], requires_grad=True)
        values, P = diff_sort(x, "odd_even", 10.0, distribution)
        (values.sum() + P[..., 0].sum()).backward()
        assert bool(torch.isfinite(values).all() & torch.isfinite(P).all())
        assert bool(torch.isfinite(x.grad).all()), distribution


# -- gradients -----------------------------------------------------------------
@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_gradcheck(network, distribution):
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(5, 5, generator=gen, dtype=torch.float64)

    def fn(x):
        values, P = diff_sort(x, network, 2.0, distribution)
        return values, (P * weights).sum((-1, -2))

    assert torch.autograd.gradcheck(fn, (x,))


# -- soft swaps and checks -----------------------------------------------------
def test_soft_swap_weights_symmetry_and_range():
    d = torch.linspace(-3, 3, 61, dtype=torch.float64)
    for distribution in DISTRIBUTIONS:
        alpha = soft_swap_weights(d, distribution, steepness=2.0)
        torch.testing.assert_close(
            alpha + soft_swap_weights(-d, distribution, 2.0), torch.ones_like(d)
        )
        assert bool(((alpha >= 0) & (alpha <= 1)).all())
        assert bool((alpha.diff() >= 0).all())  # monotone in the difference
    v = torch.tensor([-1.0, -0.25, 0.0, 0.1, 0.25, 2.0], dtype=torch.float64)
    expected = [1 / 16, 0.25, 0.5, 0.6, 0.75, 1 - 1 / 32]
    np.testing.assert_allclose(soft_swap_weights(v, "optimal", 1.0), expected)


def test_small_sizes():
    for n, network in itertools.product([0, 1, 2], NETWORKS):
        x = torch.randn(3, n, dtype=torch.float64)
        values, P = diff_sort(x, network)
        assert values.shape == (3, n) and P.shape == (3, n, n)
        torch.testing.assert_close(values, x.sort(-1).values, atol=0.2, rtol=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"network": "bubble"}, "network must be one of"),
        ({"distribution": "normal"}, "distribution must be one of"),
        ({"steepness": 0.0}, "steepness must be a finite number > 0"),
        ({"steepness": float("inf")}, "steepness must be a finite number > 0"),
        ({"art_lambda": -1.0}, "art_lambda must be a finite number >= 0"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diff_sort(torch.zeros(3), **kwargs)
    with pytest.raises(ValueError, match=match):
        DiffSortNet(3, **kwargs)


def test_bad_inputs():
    with pytest.raises(TypeError, match="floating torch.Tensor"):
        diff_sort(torch.arange(3))
    with pytest.raises(TypeError, match="floating torch.Tensor"):
        diff_sort([1.0, 2.0])
    with pytest.raises(ValueError, match="at least one dimension"):
        diff_sort(torch.tensor(1.0))
    with pytest.raises(ValueError, match="n must be an int >= 0"):
        sorting_network(-1)
    with pytest.raises(ValueError, match="4 values on its last axis"):
        DiffSortNet(4)(torch.zeros(2, 3))
