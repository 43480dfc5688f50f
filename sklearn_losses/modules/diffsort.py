"""Differentiable sorting networks (relaxed odd-even and bitonic sorts).

A sorting network is a fixed sequence of layers of disjoint comparators; a hard
comparator on the wire pair ``(lo, hi)`` puts the minimum of its two values on
wire ``lo`` and the maximum on wire ``hi``. The relaxation of Petersen et al.
replaces it by a soft swap with :math:`\\alpha = F(\\beta (x_{hi} - x_{lo}))`:

.. math::

    x'_{lo} = \\alpha x_{lo} + (1 - \\alpha) x_{hi}, \\qquad
    x'_{hi} = (1 - \\alpha) x_{lo} + \\alpha x_{hi},

and mixes the columns of a running permutation matrix (initially the
identity) the same way. The result is the relaxed ascending sort and a
doubly stochastic matrix ``P`` with ``sorted = x @ P``: ``P[i, j]`` is the
weight of *input* ``i`` at *ascending position* ``j`` (the transpose of the
usual mathematical notation).

- :func:`sorting_network`: the comparators of a network, layer by layer
  (cached per size and kind);
- :func:`soft_swap_weights`: :math:`\\alpha` for the six interpolations ``F``;
- :func:`diff_sort`: the relaxed sort of a batch ``(..., n)``, one vectorised
  step per layer;
- :class:`DiffSortNet`: the same as a :class:`torch.nn.Module`.

References
----------
F. Petersen, C. Borgelt, H. Kuehne, O. Deussen, "Differentiable Sorting
Networks for Scalable Sorting and Ranking Supervision", ICML 2021; and
"Monotonic Differentiable Sorting Networks", ICLR 2022 (the ``cauchy``,
``reciprocal`` and ``optimal`` interpolations).
"""

from __future__ import annotations

import functools
import math
import numbers

import torch
from torch import nn

__all__ = [
    "DISTRIBUTIONS",
    "NETWORKS",
    "DiffSortNet",
    "SortingNetwork",
    "diff_sort",
    "soft_swap_weights",
    "sorting_network",
]

#: The sorting networks :func:`sorting_network` builds.
NETWORKS = ("odd_even", "bitonic")

#: The interpolations ``F`` of a soft swap (see :func:`soft_swap_weights`).
DISTRIBUTIONS = (
    "logistic",
    "logistic_phi",
    "gaussian",
    "reciprocal",
    "cauchy",
    "optimal",
)


# -- validation ----------------------------------------------------------------
def _check_network(network):
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {NETWORKS}; got {network!r}.")


def _check_distribution(distribution):
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {DISTRIBUTIONS}; got {distribution!r}."
        )


def _check_positive(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}.")
    return float(value)


def _check_art_lambda(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"art_lambda must be a finite number >= 0; got {value!r}.")
    return float(value)


def _check_size(n):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be an int >= 0 (the number of wires); got {n!r}.")
    return int(n)


# -- networks ------------------------------------------------------------------
class SortingNetwork(tuple):
    """The layers of a sorting network, with the order its wires end in.

    A tuple of layers; each layer is a pair ``(lo, hi)`` of int64 index
    tensors of equal length, one entry per comparator: comparator ``c`` puts
    the minimum on wire ``lo[c]`` and the maximum on wire ``hi[c]``, and no
    wire appears twice in a layer. ``output`` is ``None`` when wire ``j``
    holds ascending position ``j`` at the end, else an int64 tensor with
    ``sorted[j] = wires[output[j]]`` (a padded bitonic network can end
    relabelled, see :func:`sorting_network`).
    """

    def __new__(cls, layers, output=None):
        self = super().__new__(cls, layers)
        self.output = output
        return self

    def __reduce__(self):
        return (type(self), (tuple(self), self.output))

    @property
    def n_comparators(self):
        """The total number of comparators."""
        return sum(int(lo.numel()) for lo, _ in self)


def _odd_even_layers(n):
    """Odd-even transposition: ``n`` layers, layer ``l`` compares ``(i, i + 1)``
    for ``i = l mod 2, l mod 2 + 2, ...``; unmatched end wires pass through."""
    return [
        [(i, i + 1) for i in range(layer % 2, n - 1, 2)] for layer in range(n)
    ], None


def _bitonic_layers(n):
    """Bitonic sort of ``n`` wires, padded to ``N = 2**k`` (see sorting_network)."""
    k = (n - 1).bit_length() if n > 1 else 0
    size = 1 << k
    n_virtual = size - n
    # The slot (real input) each physical wire holds; -1: a virtual wire (-inf).
    slot = [-1] * n_virtual + list(range(n))
    layers = []
    for block in range(k):
        for step in range(block + 1):
            dist = 1 << (block - step)
            layer = []
            for start in range(0, size, 2 * dist):
                for a in range(start, start + dist):
                    b = a + dist
                    ascending = (a >> (block + 1)) % 2 == 0
                    lo, hi = (a, b) if ascending else (b, a)
                    s_lo, s_hi = slot[lo], slot[hi]
                    if s_lo >= 0 and s_hi >= 0:
                        layer.append((s_lo, s_hi))
                    elif s_hi < 0 <= s_lo:
                        # The virtual -inf is the minimum: it moves to wire lo
                        # and the real value to wire hi, exactly.
                        slot[lo], slot[hi] = s_hi, s_lo
            layers.append(layer)
    order = slot[n_virtual:]
    output = None if order == list(range(n)) else order
    return layers, output


@functools.lru_cache(maxsize=256)
def sorting_network(n, network="odd_even"):
    """The comparators of a sorting network on ``n`` wires, layer by layer.

    Parameters
    ----------
    n : int
        The number of wires (``>= 0``).
    network : {"odd_even", "bitonic"}, default="odd_even"
        ``"odd_even"``: odd-even transposition sort, ``n`` layers of about
        ``n / 2`` comparators (layer ``l`` compares wires ``(i, i + 1)`` for
        ``i`` of the parity of ``l``). ``"bitonic"``: Batcher's bitonic sort,
        ``k (k + 1) / 2`` layers for ``N = 2**k >= n`` wires.

    Returns
    -------
    SortingNetwork
        A tuple of layers ``(lo, hi)`` (CPU int64 tensors, see
        :class:`SortingNetwork`), empty layers left out; its ``output`` is the
        final order of the wires or ``None`` for the identity. The result is
        cached per ``(n, network)``.

    Notes
    -----
    For ``n`` not a power of two the bitonic network is built on ``N`` wires,
    the ``N - n`` extra *virtual* wires placed before the real ones and
    holding :math:`-\\infty`. The outcome of a comparator between a real and a
    virtual wire is known in advance, so it is applied exactly (the real value
    moves to the comparator's maximum wire, which relabels the wires; this is
    the limit of every soft swap as the gap grows) and a comparator between
    two virtual wires drops out. At the end the virtual values occupy the
    first ``N - n`` wires, and the real wires are returned in their order
    (``output``). Only comparators between real wires remain, so ``P`` stays
    ``n x n``. The ``diffsort`` package instead leaves out every comparator
    that touches a virtual wire; the two agree whenever no real value has to
    move (``n = 5, 6, 7, 13``, ...); for some sizes (``n = 22, 38, 42``, ...)
    leaving them out does not sort.

    Examples
    --------
    >>> net = sorting_network(3)
    >>> [(lo.tolist(), hi.tolist()) for lo, hi in net]
    [([0], [1]), ([1], [2]), ([0], [1])]
    >>> len(sorting_network(8, "bitonic")), sorting_network(8, "bitonic").n_comparators
    (6, 24)
    """
    n = _check_size(n)
    _check_network(network)
    if network == "odd_even":
        layers, output = _odd_even_layers(n)
    else:
        layers, output = _bitonic_layers(n)
    tensors = tuple(
        (
            torch.tensor([lo for lo, _ in layer], dtype=torch.int64),
            torch.tensor([hi for _, hi in layer], dtype=torch.int64),
        )
        for layer in layers
        if layer
    )
    if output is not None:
        output = torch.tensor(output, dtype=torch.int64)
    return SortingNetwork(tensors, output)


@functools.lru_cache(maxsize=256)
def _network_plan(n, network, device):
    """Per layer ``(lo, hi, order)`` on ``device``: ``order`` puts the new
    minimum and maximum values, then the untouched wires, back in wire order."""
    net = sorting_network(n, network)
    plan = []
    for lo, hi in net:
        touched = torch.zeros(n, dtype=torch.bool)
        touched[lo] = True
        touched[hi] = True
        rest = torch.nonzero(~touched).flatten()
        inverse = torch.argsort(torch.cat([lo, hi, rest]))
        plan.append((lo.to(device), hi.to(device), rest.to(device), inverse.to(device)))
    output = None if net.output is None else net.output.to(device)
    return tuple(plan), output


# -- soft swaps ----------------------------------------------------------------
def soft_swap_weights(diff, distribution="cauchy", steepness=10.0, art_lambda=0.25):
    """Soft-swap weights :math:`\\alpha = F(\\beta\\, d)` of comparators.

    ``diff`` holds :math:`d = x_{hi} - x_{lo}` per comparator; ``alpha`` is
    the weight of the ``lo`` wire's value in the soft minimum (1 when it is
    far below the other, 0.5 on a tie). With :math:`v = \\beta d`:

    - ``"logistic"``: :math:`\\sigma(v)`;
    - ``"logistic_phi"``: :math:`\\sigma(v / (|d| + 10^{-10})^{\\lambda})`
      (``art_lambda`` = :math:`\\lambda`);
    - ``"gaussian"``: :math:`\\Phi(v)`, the standard normal CDF;
    - ``"reciprocal"``: :math:`\\tfrac12 (v / (2 + |v|) + 1)`;
    - ``"cauchy"``: :math:`\\arctan(v) / \\pi + \\tfrac12`;
    - ``"optimal"``: :math:`v + \\tfrac12` for :math:`|v| \\le \\tfrac14`,
      :math:`1 - 1 / (16 v)` above and :math:`-1 / (16 v)` below (the
      optimally Lipschitz monotonic sigmoid, continuously differentiable).

    Every ``F`` satisfies :math:`F(-v) = 1 - F(v)`, so the direction of a
    comparator only swaps the roles of its wires. ``cauchy``, ``reciprocal``
    and ``optimal`` make the relaxed sort monotonic (Petersen et al., ICLR
    2022). All are differentiable (``logistic_phi`` except at ``d = 0``,
    where its gradient is large but finite).

    Parameters
    ----------
    diff : torch.Tensor
        Differences :math:`x_{hi} - x_{lo}`, floating, any shape.
    distribution : str, default="cauchy"
        One of :data:`DISTRIBUTIONS`.
    steepness : float, default=10.0
        :math:`\\beta > 0`; larger is a harder swap.
    art_lambda : float, default=0.25
        :math:`\\lambda \\ge 0` of ``logistic_phi`` (ignored by the others).

    Returns
    -------
    torch.Tensor
        ``alpha`` in ``[0, 1]``, the shape and dtype of ``diff``.

    Examples
    --------
    >>> import torch
    >>> soft_swap_weights(torch.tensor([0.0, 1.0]), "cauchy", steepness=1.0)
    tensor([0.5000, 0.7500])
    """
    _check_distribution(distribution)
    steepness = _check_positive(steepness, "steepness")
    art_lambda = _check_art_lambda(art_lambda)
    v = steepness * diff
    if distribution == "logistic":
        return torch.sigmoid(v)
    if distribution == "logistic_phi":
        return torch.sigmoid(v / (diff.abs() + 1e-10).pow(art_lambda))
    if distribution == "gaussian":
        return torch.special.ndtr(v)
    if distribution == "reciprocal":
        return 0.5 * (v / (2.0 + v.abs()) + 1.0)
    if distribution == "cauchy":
        return torch.atan(v) / math.pi + 0.5
    # "optimal": the tails' denominator is kept >= 1/4 so that the branch not
    # taken never divides by zero (no NaN gradient through torch.where).
    tail = 1.0 / (16.0 * v.abs().clamp_min(0.25))
    return torch.where(v > 0.25, 1.0 - tail, torch.where(v < -0.25, tail, v + 0.5))


# -- the relaxed sort ----------------------------------------------------------
def _check_input(x):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        kind = getattr(x, "dtype", type(x).__name__)
        raise TypeError(
            f"x must be a floating torch.Tensor of shape (..., n); got {kind}."
        )
    if x.ndim < 1:
        raise ValueError("x must have at least one dimension, shape (..., n).")


def diff_sort(
    x, network="odd_even", steepness=10.0, distribution="cauchy", art_lambda=0.25
):
    """Relaxed ascending sort of the last axis and its soft permutation matrix.

    Each layer of the network is one vectorised step over the whole batch:
    the ``lo`` and ``hi`` wires of all its comparators are gathered at once,
    mixed with :func:`soft_swap_weights` of their differences, and put back;
    the value row and the permutation matrix are mixed together. A list
    costs :math:`O(n^3)` with ``"odd_even"`` and :math:`O(n^2 \\log^2 n)`
    with ``"bitonic"``.

    Parameters
    ----------
    x : torch.Tensor of shape (..., n)
        Values to sort along the last axis, floating (float32 and float64
        are safe); any leading batch shape.
    network : {"odd_even", "bitonic"}, default="odd_even"
        The sorting network (see :func:`sorting_network`).
    steepness : float, default=10.0
        Inverse temperature :math:`\\beta` of the soft swaps.
    distribution : str, default="cauchy"
        The interpolation ``F``, one of :data:`DISTRIBUTIONS`.
    art_lambda : float, default=0.25
        The exponent of ``"logistic_phi"``.

    Returns
    -------
    sorted : torch.Tensor of shape (..., n)
        The relaxed ascending sort; ``sorted = x @ P`` (up to rounding).
    P : torch.Tensor of shape (..., n, n)
        Doubly stochastic (up to rounding); ``P[..., i, j]`` is the weight of
        input ``i`` at ascending position ``j``. As ``steepness`` grows it
        tends to the hard permutation ``P[i, j] = 1`` iff ``x[i]`` is the
        ``j``-th smallest.

    References
    ----------
    Petersen et al., "Differentiable Sorting Networks for Scalable Sorting and
    Ranking Supervision", ICML 2021.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([0.2, -1.0, 0.7, 0.1], dtype=torch.float64)
    >>> values, P = diff_sort(x)
    >>> values.round(decimals=4)
    tensor([-0.9365,  0.1356,  0.1638,  0.6370], dtype=torch.float64)
    >>> ones = torch.ones(4, dtype=torch.float64)
    >>> torch.allclose(P.sum(0), ones), torch.allclose(P.sum(1), ones)
    (True, True)
    >>> torch.allclose(x @ P, values)
    True
    """
    _check_input(x)
    _check_network(network)
    _check_distribution(distribution)
    steepness = _check_positive(steepness, "steepness")
    art_lambda = _check_art_lambda(art_lambda)
    n = x.shape[-1]
    plan, output = _network_plan(n, network, x.device)
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    # Row 0: the values; rows 1..n: the permutation matrix. Both are mixed by
    # the same column operations.
    state = torch.cat([x.unsqueeze(-2), eye.expand(*x.shape[:-1], n, n)], dim=-2)
    for lo, hi, rest, inverse in plan:
        at_lo = state.index_select(-1, lo)
        at_hi = state.index_select(-1, hi)
        alpha = soft_swap_weights(
            at_hi[..., 0, :] - at_lo[..., 0, :], distribution, steepness, art_lambda
        ).unsqueeze(-2)
        # min = alpha lo + (1 - alpha) hi ; max = (1 - alpha) lo + alpha hi,
        # written so that min + max = lo + hi and both stay >= 0 for P.
        shift = alpha * (at_lo - at_hi)
        state = torch.cat(
            [at_hi + shift, at_lo - shift, state.index_select(-1, rest)], dim=-1
        ).index_select(-1, inverse)
    if output is not None:
        state = state.index_select(-1, output)
    return state[..., 0, :], state[..., 1:, :]


class DiffSortNet(nn.Module):
    """A relaxed sorting network of ``n`` wires as a module (no parameters).

    ``forward(x)`` with ``x`` of shape ``(..., n)`` returns
    ``(sorted, P)`` of :func:`diff_sort`, ``sorted = x @ P`` ascending.

    Parameters
    ----------
    n : int
        The number of values sorted (the last axis of the input).
    network : {"odd_even", "bitonic"}, default="odd_even"
        The sorting network.
    steepness : float, default=10.0
        Inverse temperature of the soft swaps.
    distribution : str, default="cauchy"
        One of :data:`DISTRIBUTIONS`.
    art_lambda : float, default=0.25
        The exponent of ``"logistic_phi"``.

    Examples
    --------
    >>> import torch
    >>> net = DiffSortNet(3, steepness=100.0)
    >>> values, P = net(torch.tensor([[3.0, 1.0, 2.0]]))
    >>> P.argmax(1)
    tensor([[1, 2, 0]])
    """

    def __init__(
        self,
        n,
        network="odd_even",
        steepness=10.0,
        distribution="cauchy",
        art_lambda=0.25,
    ):
        super().__init__()
        self.n = _check_size(n)
        _check_network(network)
        _check_distribution(distribution)
        self.network = network
        self.steepness = _check_positive(steepness, "steepness")
        self.distribution = distribution
        self.art_lambda = _check_art_lambda(art_lambda)

    def forward(self, x):
        """``(sorted, P)`` of the last axis of ``x`` (length ``n``)."""
        _check_input(x)
        if x.shape[-1] != self.n:
            raise ValueError(
                f"x must have {self.n} values on its last axis (n={self.n}); got "
                f"shape {tuple(x.shape)}."
            )
        return diff_sort(
            x, self.network, self.steepness, self.distribution, self.art_lambda
        )

    def extra_repr(self):
        return (
            f"n={self.n}, network={self.network!r}, steepness={self.steepness}, "
            f"distribution={self.distribution!r}, art_lambda={self.art_lambda}"
        )
