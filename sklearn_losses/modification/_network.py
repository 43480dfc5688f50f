"""Finding and editing the MLP inside a fitted estimator of the package."""

from __future__ import annotations

import copy

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from ..estimators._base import BaseLossEstimator
from ..estimators._multilabel import MultiLabelMLP
from ..estimators._regressor import _Reshaped
from ..modules import ACTIVATIONS, MLP, EmbeddingNet

__all__ = ["fitted_mlp", "hidden_layers", "copy_estimator", "layer_inputs"]

_ACTIVATION_TYPES = tuple(ACTIVATIONS.values())


def _check_fitted(estimator, name):
    if not isinstance(estimator, BaseLossEstimator):
        raise TypeError(
            f"{name} works on the neural estimators of sklearn_losses (LossClassifier, "
            "LossRegressor, DistilledClassifier, MultiLabelLossClassifier, "
            f"LossEmbedder, LossRanker); got {type(estimator).__name__}."
        )
    if not hasattr(estimator, "net_"):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; call "
            f"'fit' before {name}."
        )


def fitted_mlp(estimator, name="prune"):
    """The :class:`~sklearn_losses.modules.MLP` of a fitted estimator.

    Unwraps the package's wrappers that only reshape or normalise the MLP's
    outputs (an embedder's :class:`~sklearn_losses.modules.EmbeddingNet`, a
    regressor's reshaping of image-shaped targets). Raises ``TypeError`` for
    any other network (a custom ``module``, the dual-head MLP, set scorers,
    convolutional networks) and ``NotFittedError`` for an unfitted estimator.
    """
    _check_fitted(estimator, name)
    module = estimator.net_.module_
    inner = module
    while isinstance(inner, EmbeddingNet | _Reshaped):
        inner = inner.module
    if type(inner) not in (MLP, MultiLabelMLP) or not all(
        isinstance(layer, nn.Linear | nn.Dropout) or type(layer) in _ACTIVATION_TYPES
        for layer in inner
    ):
        raise TypeError(
            f"{name} edits the package's default MLP network; this "
            f"{type(estimator).__name__}'s network is {type(module).__name__} "
            "(the tabular ensemble, a custom module, a dual-head or set network). "
            "Fit with module='mlp' (and a loss that uses the plain MLP) to get one."
        )
    return inner


def hidden_layers(mlp):
    """Positions of the ``nn.Linear`` layers in ``mlp``: hidden layer ``j`` is
    produced by ``linears[j]`` and read by ``linears[j + 1]``."""
    return [i for i, layer in enumerate(mlp) if isinstance(layer, nn.Linear)]


def copy_estimator(estimator):
    """A deep copy of a fitted estimator (the original is never touched)."""
    return copy.deepcopy(estimator)


@torch.no_grad()
def layer_inputs(mlp, stop, X):
    """The input of ``mlp[stop]`` for reference rows ``X`` (float64 numpy),
    in evaluation mode (dropout off)."""
    was_training = mlp.training
    mlp.eval()
    try:
        out = torch.as_tensor(X, dtype=torch.float32)
        for layer in list(mlp)[:stop]:
            out = layer(out)
    finally:
        mlp.train(was_training)
    return out.double().cpu().numpy()


@torch.no_grad()
def mlp_outputs(mlp, X):
    """The output layer of ``mlp`` for rows ``X`` (float64 numpy, 2-D)."""
    return layer_inputs(mlp, len(mlp), X).reshape(len(X), -1)


def replace_linear(mlp, position, weight, bias):
    """Put a new ``nn.Linear`` with ``weight`` and ``bias`` (numpy) at
    ``mlp[position]`` (same dtype and device as the old one)."""
    old = mlp[position]
    new = nn.Linear(weight.shape[1], weight.shape[0], bias=old.bias is not None)
    new = new.to(device=old.weight.device, dtype=old.weight.dtype)
    with torch.no_grad():
        new.weight.copy_(torch.as_tensor(np.ascontiguousarray(weight)))
        if old.bias is not None:
            new.bias.copy_(torch.as_tensor(np.ascontiguousarray(bias)))
    new.train(old.training)
    mlp[position] = new


def finish_surgery(estimator, mlp):
    """Bookkeeping after the MLP's layers changed size: the multi-label
    network's output width, the optimizer (rebuilt on the new parameters, so
    that ``warm_start=True`` fine-tunes the edited network) and
    ``hidden_layer_sizes_``."""
    linears = hidden_layers(mlp)
    sizes = tuple(int(mlp[i].out_features) for i in linears[:-1])
    if isinstance(mlp, MultiLabelMLP) and mlp.embeddings:
        mlp.n_outputs = mlp.n_labels + sizes[-1]
    estimator.net_.initialize_optimizer()
    estimator.hidden_layer_sizes_ = sizes
