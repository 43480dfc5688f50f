"""A multilayer perceptron sized from the data at fit time."""

from __future__ import annotations

from torch import nn
from torch.nn import functional as F

__all__ = ["MLP", "ACTIVATIONS", "EmbeddingNet"]

#: Activation names accepted by :class:`MLP`.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "silu": nn.SiLU,
    "identity": nn.Identity,
}


class MLP(nn.Sequential):
    """Fully connected network: ``[Linear -> activation -> Dropout] * L -> Linear``.

    Parameters
    ----------
    n_features_in : int
        Input width (set by the estimator from ``X``).
    n_outputs : int
        Output width (set by the estimator: 1 logit for binary, ``K`` otherwise).
        With ``n_outputs=1`` the output has shape ``(n,)``.
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Width of each hidden layer; empty for a linear model.
    activation : str, default="relu"
        One of :data:`ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.

    Examples
    --------
    >>> import torch
    >>> MLP(3, 2, hidden_layer_sizes=(8,))(torch.zeros(5, 3)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        n_features_in,
        n_outputs,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        layers = []
        width = n_features_in
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, n_outputs))
        super().__init__(*layers)
        self.n_outputs = n_outputs

    def forward(self, X):
        out = super().forward(X)
        return out.squeeze(-1) if self.n_outputs == 1 else out


class EmbeddingNet(nn.Module):
    """A network used as an embedding: outputs of shape ``(n, d)`` always,
    optionally scaled to unit Euclidean norm row by row.

    Wraps any module returning ``(n, d)`` (or ``(n,)``, taken as one column);
    ``n_outputs`` is the wrapped module's. Zero rows stay zero.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    normalize : bool, default=True
        Scale every output row to unit norm.

    Examples
    --------
    >>> import torch
    >>> net = EmbeddingNet(MLP(3, 2, hidden_layer_sizes=()))
    >>> [round(v, 5) for v in net(torch.ones(4, 3)).norm(dim=1).tolist()]
    [1.0, 1.0, 1.0, 1.0]
    >>> EmbeddingNet(MLP(3, 1), normalize=False)(torch.ones(4, 3)).shape
    torch.Size([4, 1])
    """

    def __init__(self, module, normalize=True):
        super().__init__()
        self.module = module
        self.normalize = normalize
        self.n_outputs = getattr(module, "n_outputs", None)
        self.n_members = getattr(module, "n_members", 1)

    def forward(self, X):
        out = self.module(X)
        if out.ndim == 1:
            out = out.unsqueeze(-1)
        return F.normalize(out, dim=-1) if self.normalize else out
