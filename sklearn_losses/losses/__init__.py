"""Losses as plain :class:`torch.nn.Module` objects, one file per family.

Each loss follows the contract of :class:`BaseLoss` and is registered under a
name usable as ``LossClassifier(loss=name)``.
"""

from ._base import TASKS, BaseLoss, BatchLoss, trusted_targets, weighted_reduce
from ._registry import (
    check_loss_task,
    get_loss,
    get_loss_class,
    list_losses,
    register_loss,
)
from .anyloss import AnyLoss
from .comp_sum import AdvCompSumLoss, CompSumLoss, GCELoss, MAELoss, SumExpLoss
from .cross_entropy import CrossEntropyLoss
from .dataset_equity import DEquityWeightedLoss, dequity_weights
from .ensloss import EnsLoss
from .focal import FocalLoss
from .ldr import ALDRKLLoss, LDRKLLoss
from .regression import HuberLoss, L1Loss, MSELoss, QuantileLoss
from .zloss import ZLoss

__all__ = [
    "TASKS",
    "ALDRKLLoss",
    "AdvCompSumLoss",
    "AnyLoss",
    "BaseLoss",
    "BatchLoss",
    "CompSumLoss",
    "CrossEntropyLoss",
    "DEquityWeightedLoss",
    "EnsLoss",
    "FocalLoss",
    "GCELoss",
    "HuberLoss",
    "L1Loss",
    "LDRKLLoss",
    "MAELoss",
    "MSELoss",
    "QuantileLoss",
    "SumExpLoss",
    "check_loss_task",
    "get_loss",
    "get_loss_class",
    "list_losses",
    "register_loss",
    "ZLoss",
    "dequity_weights",
    "trusted_targets",
    "weighted_reduce",
]
