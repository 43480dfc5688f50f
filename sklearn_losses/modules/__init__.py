"""Network modules the estimators build at fit time.

:class:`MLP` scores rows one by one; :class:`DualHeadMLP` is an MLP backbone
with a main and an auxiliary head (Dual-Head distillation); :class:`EmbeddingNet`
makes any network an embedding (``(n, d)`` outputs, optionally of unit norm);
:func:`diff_sort` is a relaxed (differentiable) sorting network. The others
score a row in the context of its group (they declare ``takes_groups = True``
and the training engine calls them with ``groups=``): :class:`ReadProcessWrite`
(a set encoder), :class:`GroupwiseScorer` (GroupRank's scorer of random groups)
and :class:`TSPRankModule` (bilinear pair scores decoded as a best path).
:class:`TabularMLP` is the network for tables (periodic embeddings of the
numeric features, an ensemble of MLPs trained in one pass).
:class:`ConvAutoencoder` (a tiny U-Net) maps images to images of the same size.
"""

from ._packing import pack_lists, unpack_lists
from .conv import ConvAutoencoder
from .diffsort import (
    DISTRIBUTIONS,
    NETWORKS,
    DiffSortNet,
    SortingNetwork,
    diff_sort,
    soft_swap_weights,
    sorting_network,
)
from .dual_head import AUX_HEADS, DualHeadMLP
from .mlp import ACTIVATIONS, MLP, EmbeddingNet
from .set_encoder import GroupwiseScorer, ReadProcessWrite, Set2Set
from .tabular import EMBEDDINGS, LinearBatchEnsemble, PeriodicEmbeddings, TabularMLP
from .tsprank import (
    TSPRankModule,
    best_open_path,
    best_paths,
    exact_open_path,
    heuristic_open_path,
)

__all__ = [
    "ACTIVATIONS",
    "EMBEDDINGS",
    "LinearBatchEnsemble",
    "PeriodicEmbeddings",
    "TabularMLP",
    "AUX_HEADS",
    "ConvAutoencoder",
    "DualHeadMLP",
    "EmbeddingNet",
    "GroupwiseScorer",
    "MLP",
    "ReadProcessWrite",
    "Set2Set",
    "TSPRankModule",
    "best_open_path",
    "best_paths",
    "exact_open_path",
    "heuristic_open_path",
    "pack_lists",
    "unpack_lists",
    "DISTRIBUTIONS",
    "NETWORKS",
    "DiffSortNet",
    "SortingNetwork",
    "diff_sort",
    "soft_swap_weights",
    "sorting_network",
]
