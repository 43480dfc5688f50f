"""Losses as plain :class:`torch.nn.Module` objects, one file per family.

Each loss follows the contract of :class:`BaseLoss` and is registered under a
name usable as ``LossClassifier(loss=name)``.
"""

from ._base import TASKS, BaseLoss, BatchLoss, trusted_targets, weighted_reduce
from ._embedding import EmbeddingLoss
from ._lists import RankingLoss
from ._registry import (
    check_loss_task,
    get_loss,
    get_loss_class,
    list_losses,
    register_loss,
)
from ._sum import LossSum, LossTerm, loss_sum_class
from .anyloss import AnyLoss
from .betti import BettiMatchingLoss
from .bpr import BPRLoss, bpr_terms
from .comp_sum import AdvCompSumLoss, CompSumLoss, GCELoss, MAELoss, SumExpLoss
from .contrastive import (
    ContrastiveLoss,
    FeatureMask,
    GaussianNoise,
    InfoNCELoss,
    info_nce,
)
from .cross_entropy import CrossEntropyLoss
from .cwcl import CWCLLoss, cwcl_loss
from .dataset_equity import DEquityWeightedLoss, dequity_weights
from .distillation import (
    DistillationLoss,
    DualHeadKDLoss,
    KDLoss,
    PLDLoss,
    teacher_order,
)
from .ensloss import EnsLoss
from .focal import FocalLoss
from .groco import GroCoLoss, groco_loss
from .grouprank import GroupRankLoss, OrderSearchLoss
from .ldr import ALDRKLLoss, LDRKLLoss
from .metrix import MetrixLoss
from .multi_similarity import MultiSimilarityLoss, MultiSimilarityMiner
from .multilabel import (
    BCELoss,
    HybridLoss,
    balanced_pos_weight,
    jaccard_contrastive,
    label_cosine_matrix,
)
from .ranking import (
    ApproxNDCGLoss,
    FIRSTLoss,
    LambdaLoss,
    LambdaRankLoss,
    LiPOLambdaLoss,
    ListMLELoss,
    ListNetLoss,
    PairwiseHingeLoss,
    PairwiseLogisticLoss,
    RankListLoss,
    RankNetLoss,
)
from .regression import HuberLoss, L1Loss, MSELoss, QuantileLoss
from .ssim import MS_SSIM_WEIGHTS, MSSSIMLoss, SSIMLoss, ms_ssim, ssim
from .susana import ICNNLoss, ProtoTripletLoss, proto_triplet
from .tsprank import TSPRankLoss
from .unpg import UNPGLoss, unpg_loss, whisker_filter
from .zloss import ZLoss

__all__ = [
    "TASKS",
    "ALDRKLLoss",
    "AdvCompSumLoss",
    "AnyLoss",
    "ApproxNDCGLoss",
    "BaseLoss",
    "BatchLoss",
    "BPRLoss",
    "bpr_terms",
    "CompSumLoss",
    "CrossEntropyLoss",
    "DEquityWeightedLoss",
    "EmbeddingLoss",
    "EnsLoss",
    "FIRSTLoss",
    "FocalLoss",
    "GCELoss",
    "GroupRankLoss",
    "HuberLoss",
    "L1Loss",
    "LDRKLLoss",
    "LambdaLoss",
    "LambdaRankLoss",
    "LiPOLambdaLoss",
    "ListMLELoss",
    "ListNetLoss",
    "MAELoss",
    "MSELoss",
    "MetrixLoss",
    "MultiSimilarityLoss",
    "MultiSimilarityMiner",
    "OrderSearchLoss",
    "PairwiseHingeLoss",
    "PairwiseLogisticLoss",
    "QuantileLoss",
    "RankListLoss",
    "RankNetLoss",
    "RankingLoss",
    "SumExpLoss",
    "TSPRankLoss",
    "check_loss_task",
    "get_loss",
    "get_loss_class",
    "list_losses",
    "register_loss",
    "ZLoss",
    "dequity_weights",
    "trusted_targets",
    "weighted_reduce",
    "ContrastiveLoss",
    "FeatureMask",
    "GaussianNoise",
    "InfoNCELoss",
    "info_nce",
    "CWCLLoss",
    "cwcl_loss",
    "GroCoLoss",
    "groco_loss",
    "ICNNLoss",
    "ProtoTripletLoss",
    "proto_triplet",
    "UNPGLoss",
    "unpg_loss",
    "whisker_filter",
    "DistillationLoss",
    "DualHeadKDLoss",
    "KDLoss",
    "PLDLoss",
    "teacher_order",
    "BCELoss",
    "HybridLoss",
    "balanced_pos_weight",
    "jaccard_contrastive",
    "label_cosine_matrix",
    "LossSum",
    "LossTerm",
    "loss_sum_class",
    "MS_SSIM_WEIGHTS",
    "MSSSIMLoss",
    "SSIMLoss",
    "ms_ssim",
    "ssim",
    "BettiMatchingLoss",
]
