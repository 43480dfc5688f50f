"""A network for tables: periodic embeddings of numeric features and an
ensemble of MLPs trained in one pass (BatchEnsemble, as in TabM)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .mlp import ACTIVATIONS

__all__ = ["TabularMLP", "PeriodicEmbeddings", "LinearBatchEnsemble", "EMBEDDINGS"]

#: Embeddings of numeric features accepted by :class:`TabularMLP`.
EMBEDDINGS = (None, "periodic")


def _uniform_(tensor, fan_in):
    """``nn.Linear``'s default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return nn.init.uniform_(tensor, -bound, bound)


class PeriodicEmbeddings(nn.Module):
    r"""Periodic embeddings of numeric features (PLR).

    Each feature :math:`x_j` becomes

    .. math::

        e_j = \mathrm{ReLU}\big(W_j [\cos(2\pi c_j x_j), \sin(2\pi c_j x_j)]
        + b_j\big) \in \mathbb{R}^{d},

    with trainable frequencies :math:`c_j \in \mathbb{R}^m` (initialised from
    :math:`\mathcal{N}(0, \sigma^2)`) and a linear layer per feature; the
    output concatenates the :math:`e_j` (shape ``(n, n_features * d)``).

    Parameters
    ----------
    n_features : int
        Number of numeric features.
    n_frequencies : int, default=16
        Frequencies :math:`m` per feature.
    d_embedding : int, default=16
        Width :math:`d` of each feature's embedding.
    frequency_scale : float, default=0.1
        :math:`\sigma`, the standard deviation of the initial frequencies (in
        cycles per unit of the scaled feature).

    References
    ----------
    Gorishniy, Rubachev and Babenko, "On Embeddings for Numerical Features in
    Tabular Deep Learning", NeurIPS 2022.

    Examples
    --------
    >>> import torch
    >>> PeriodicEmbeddings(3, n_frequencies=4, d_embedding=5)(torch.zeros(2, 3)).shape
    torch.Size([2, 15])
    """

    def __init__(
        self, n_features, n_frequencies=16, d_embedding=16, frequency_scale=0.1
    ):
        super().__init__()
        self.frequencies = nn.Parameter(
            torch.randn(n_features, n_frequencies) * frequency_scale
        )
        self.weight = nn.Parameter(
            torch.empty(n_features, 2 * n_frequencies, d_embedding)
        )
        self.bias = nn.Parameter(torch.empty(n_features, d_embedding))
        _uniform_(self.weight, 2 * n_frequencies)
        _uniform_(self.bias, 2 * n_frequencies)

    def forward(self, X):
        angle = 2 * math.pi * X.unsqueeze(-1) * self.frequencies  # (n, F, m)
        periodic = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)
        out = torch.einsum("nfi,fio->nfo", periodic, self.weight) + self.bias
        return torch.relu(out).flatten(1)


class LinearBatchEnsemble(nn.Module):
    r"""A linear layer shared by ``k`` ensemble members, each with its own
    rank-one adapters and bias (BatchEnsemble):

    .. math::

        y_m = s_m \odot \big(W (r_m \odot x_m)\big) + b_m, \qquad m = 1..k.

    Input and output have shape ``(n, k, width)``: member ``m`` reads and
    writes slice ``[:, m]``.

    Parameters
    ----------
    d_in, d_out : int
        Widths.
    k : int
        Number of members.
    random_signs : bool, default=False
        Initialise :math:`r_m` with random signs (±1), which makes the members
        differ from the first layer on; otherwise :math:`r_m = s_m = 1`.

    Examples
    --------
    >>> import torch
    >>> LinearBatchEnsemble(3, 4, k=2)(torch.zeros(5, 2, 3)).shape
    torch.Size([5, 2, 4])
    """

    def __init__(self, d_in, d_out, k, random_signs=False):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(d_in, d_out))
        self.r = nn.Parameter(torch.ones(k, d_in))
        self.s = nn.Parameter(torch.ones(k, d_out))
        self.bias = nn.Parameter(torch.empty(k, d_out))
        _uniform_(self.weight, d_in)
        _uniform_(self.bias, d_in)
        if random_signs:
            with torch.no_grad():
                self.r.copy_(torch.randint(0, 2, (k, d_in)).float() * 2 - 1)

    def forward(self, X):
        return (X * self.r) @ self.weight * self.s + self.bias


class TabularMLP(nn.Module):
    r"""MLP for tables: optional periodic embeddings of the numeric features,
    then an ensemble of ``n_ensemble`` MLPs that share their weights
    (BatchEnsemble, TabM's design) and have one output head each.

    Layout: ``[PeriodicEmbeddings] -> [LinearBatchEnsemble -> activation ->
    Dropout] * L -> k linear heads``. The members differ from the start: the
    first layer's input adapters have random signs and every member's biases
    and head are initialised independently.

    Outputs. In training mode the output keeps the members apart, shape
    ``(n, k, n_outputs)`` (``(n, k)`` when ``n_outputs=1``), and the training
    engine applies the loss to each member and averages
    (``n_members = k`` tells it). In evaluation mode (validation, prediction)
    the output is the mean of the members' outputs, shape ``(n, n_outputs)``
    (``(n,)`` when ``n_outputs=1``). With ``n_ensemble=1`` it is a plain MLP
    with embeddings.

    Parameters
    ----------
    n_features_in : int
        Input width (set by the estimator from ``X``).
    n_outputs : int
        Outputs per member (set by the estimator).
    hidden_layer_sizes : sequence of int, default=(128, 128)
        Width of each hidden layer; empty for a linear model of the embeddings.
    activation : str, default="relu"
        One of :data:`~sklearn_losses.modules.ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    n_ensemble : int, default=8
        Members :math:`k` of the ensemble.
    embedding : {"periodic", None}, default="periodic"
        Embeddings of the numeric features (:class:`PeriodicEmbeddings`), or
        None for the features as they are.
    embedded_features : None or array-like of int or bool, default=None
        The features that get embeddings (indices or a boolean mask); the
        others enter the first layer as they are. None: every feature. The
        estimators embed the features with more than two distinct values
        (one-hot and binary columns stay as they are).
    n_frequencies, d_embedding, frequency_scale
        Parameters of :class:`PeriodicEmbeddings`.

    References
    ----------
    Gorishniy, Kotelnikov and Babenko, "TabM: Advancing Tabular Deep Learning
    with Parameter-Efficient Ensembling", ICLR 2025. Wen, Tran and Ba,
    "BatchEnsemble", ICLR 2020.

    Examples
    --------
    >>> import torch
    >>> net = TabularMLP(3, 2, hidden_layer_sizes=(8,), n_ensemble=4)
    >>> net.train()(torch.zeros(5, 3)).shape
    torch.Size([5, 4, 2])
    >>> net.eval()(torch.zeros(5, 3)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features_in,
        n_outputs,
        hidden_layer_sizes=(128, 128),
        activation="relu",
        dropout=0.0,
        n_ensemble=8,
        embedding="periodic",
        embedded_features=None,
        n_frequencies=16,
        d_embedding=16,
        frequency_scale=0.1,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        if not (isinstance(n_ensemble, int) and n_ensemble >= 1):
            raise ValueError(f"n_ensemble must be an int >= 1; got {n_ensemble!r}.")
        if embedding not in EMBEDDINGS:
            raise ValueError(
                f"embedding must be one of {EMBEDDINGS}; got {embedding!r}."
            )
        for name, value in (
            ("n_frequencies", n_frequencies),
            ("d_embedding", d_embedding),
        ):
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"{name} must be an int >= 1; got {value!r}.")
        if not frequency_scale > 0:
            raise ValueError(f"frequency_scale must be > 0; got {frequency_scale!r}.")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
        self.n_outputs = n_outputs
        self.n_members = n_ensemble
        width = n_features_in
        self.embeddings = None
        if embedding == "periodic":
            embedded = _feature_mask(embedded_features, n_features_in)
            self.register_buffer("embedded", torch.nonzero(embedded).ravel())
            self.register_buffer("plain", torch.nonzero(~embedded).ravel())
            n_embedded = len(self.embedded)
            self.embeddings = PeriodicEmbeddings(
                n_embedded, n_frequencies, d_embedding, frequency_scale
            )
            width = n_embedded * d_embedding + len(self.plain)
        layers = []
        for i, size in enumerate(hidden_layer_sizes):
            layers += [
                LinearBatchEnsemble(width, size, n_ensemble, random_signs=i == 0),
                ACTIVATIONS[activation](),
            ]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        self.backbone = nn.Sequential(*layers)
        # k independent heads: weight (k, width, n_outputs).
        self.head_weight = nn.Parameter(
            _uniform_(torch.empty(n_ensemble, width, n_outputs), width)
        )
        self.head_bias = nn.Parameter(
            _uniform_(torch.empty(n_ensemble, n_outputs), width)
        )

    def forward(self, X):
        if self.embeddings is not None:
            X = torch.cat(
                [self.embeddings(X[:, self.embedded]), X[:, self.plain]], dim=1
            )
        X = X.unsqueeze(1).expand(-1, self.n_members, -1)
        X = self.backbone(X)
        out = torch.einsum("nki,kio->nko", X, self.head_weight) + self.head_bias
        if not self.training or self.n_members == 1:
            out = out.mean(dim=1)
        return out.squeeze(-1) if self.n_outputs == 1 else out


def _feature_mask(features, n_features):
    """A boolean mask of ``n_features`` from None (all), indices or a mask."""
    if features is None:
        return torch.ones(n_features, dtype=torch.bool)
    features = torch.as_tensor(features)
    if features.dtype == torch.bool:
        if features.shape != (n_features,):
            raise ValueError(
                f"embedded_features as a mask must have {n_features} entries; got "
                f"shape {tuple(features.shape)}."
            )
        return features
    if features.dtype.is_floating_point or features.ndim != 1:
        raise ValueError(
            "embedded_features must be None, a 1-D array of feature indices or a "
            f"boolean mask; got {features!r}."
        )
    if len(features) and (features.min() < 0 or features.max() >= n_features):
        raise ValueError(
            f"embedded_features indices must be in [0, {n_features}); got "
            f"{features.tolist()}."
        )
    mask = torch.zeros(n_features, dtype=torch.bool)
    mask[features] = True
    return mask
