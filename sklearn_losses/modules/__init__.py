"""Network modules the estimators build at fit time."""

from .mlp import ACTIVATIONS, MLP

__all__ = ["ACTIVATIONS", "MLP"]
