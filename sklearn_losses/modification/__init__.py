"""Model modification of fitted estimators: pruning and class unlearning.

ModHiFi (Kashyap et al., NeurIPS 2025) scores every hidden unit of a fitted
MLP by how well it alone reproduces the next layer's outputs (its Subset
Fidelity), on synthetic reference inputs drawn from the moments of the
training features that every estimator of the package keeps. :func:`prune`
removes the lowest-scoring units of each hidden layer and refits the next
layer in closed form; :func:`unlearn` zeroes the weights that carry one class.
Both return a new fitted estimator of the same class, with no gradient step
and no training data. :func:`singleton_scores`, :func:`compensation` and
:func:`subset_fidelity` are the layer-level formulas.
"""

from ._modhifi import (
    AUTO_FRACTIONS,
    compensation,
    prune,
    singleton_scores,
    subset_fidelity,
    unlearn,
)
from ._reference import REFERENCES

__all__ = [
    "AUTO_FRACTIONS",
    "REFERENCES",
    "compensation",
    "prune",
    "singleton_scores",
    "subset_fidelity",
    "unlearn",
]
