"""A two-head network: one shared backbone, a main head and an auxiliary head."""

from __future__ import annotations

import torch
from torch import nn

from .mlp import ACTIVATIONS

__all__ = ["AUX_HEADS", "DualHeadMLP"]

#: Auxiliary head kinds of :class:`DualHeadMLP`.
AUX_HEADS = ("linear", "mlp")


class _BatchNormOrPass(nn.BatchNorm1d):
    """``BatchNorm1d`` that lets a training batch of one row pass unchanged
    (batch statistics of one row are undefined)."""

    def forward(self, X):
        if self.training and X.shape[0] < 2:
            return X
        return super().forward(X)


class DualHeadMLP(nn.Module):
    """An MLP backbone with two heads whose outputs are concatenated.

    The backbone is the hidden part of :class:`~sklearn_losses.modules.MLP`
    (``[Linear -> activation -> Dropout] * L``); the main head is linear with
    ``n_classes`` outputs; the auxiliary head has ``n_classes`` outputs too,
    linear or non-linear (``Linear(d, aux_hidden) -> Dropout(0.1) ->
    BatchNorm -> ReLU -> Linear(aux_hidden, n_classes)``, the Dual-Head KD
    paper's CIFAR-100 head). ``forward`` returns ``(n, 2 * n_classes)``: the
    main head's logits first, then the auxiliary head's. Dual-Head Knowledge
    Distillation (Yang et al., 2024, arXiv 2411.08937) trains the main head on
    the labels and the auxiliary head on the teacher's logits, so that the two
    losses meet only in the backbone; predictions use the main head.

    Parameters
    ----------
    n_features_in : int
        Input width.
    n_classes : int
        Outputs of each head (2 for a binary target).
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Widths of the backbone's hidden layers; empty: both heads read the
        input directly (two independent linear models).
    activation : str, default="relu"
        One of :data:`~sklearn_losses.modules.ACTIVATIONS`.
    dropout : float, default=0.0
        Dropout after each hidden activation of the backbone.
    aux_head : {"linear", "mlp"}, default="linear"
        The auxiliary head: linear, or the non-linear head above.
    aux_hidden : int, default=200
        Hidden width of the non-linear auxiliary head.

    Attributes
    ----------
    n_outputs : int
        ``2 * n_classes``.

    Examples
    --------
    >>> import torch
    >>> net = DualHeadMLP(3, 4, hidden_layer_sizes=(8,))
    >>> net(torch.zeros(5, 3)).shape
    torch.Size([5, 8])
    >>> net.main_head(net.backbone(torch.zeros(5, 3))).shape
    torch.Size([5, 4])
    """

    def __init__(
        self,
        n_features_in,
        n_classes,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        aux_head="linear",
        aux_hidden=200,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}."
            )
        if aux_head not in AUX_HEADS:
            raise ValueError(f"aux_head must be one of {AUX_HEADS}; got {aux_head!r}.")
        layers = []
        width = n_features_in
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = size
        self.backbone = nn.Sequential(*layers)
        self.main_head = nn.Linear(width, n_classes)
        if aux_head == "linear":
            self.aux_head = nn.Linear(width, n_classes)
        else:
            self.aux_head = nn.Sequential(
                nn.Linear(width, aux_hidden),
                nn.Dropout(0.1),
                _BatchNormOrPass(aux_hidden),
                nn.ReLU(),
                nn.Linear(aux_hidden, n_classes),
            )
        self.n_classes = n_classes
        self.n_outputs = 2 * n_classes

    def forward(self, X):
        h = self.backbone(X)
        return torch.cat([self.main_head(h), self.aux_head(h)], dim=1)
