"""Cross-entropy for binary and multiclass classification."""

from __future__ import annotations

from .._validation import check_real
from ._base import BaseLoss, split_logits
from ._registry import register_loss
from ._softmax import log_loss

__all__ = ["CrossEntropyLoss"]


@register_loss
class CrossEntropyLoss(BaseLoss):
    r"""Cross-entropy (log loss) with optional label smoothing.

    .. math::

        \ell(z, y) = -\sum_{k=1}^{K} q_k \log \operatorname{softmax}(z)_k,
        \qquad q = (1 - \varepsilon)\, e_y + \varepsilon / K

    For one logit per sample (binary) this is the logistic loss on
    :math:`\sigma(z)` with target :math:`q_1 = (1 - \varepsilon) y + \varepsilon/2`,
    which equals the two-logit form on logits :math:`(0, z)`. It is computed
    with ``log-sum-exp`` / ``softplus``, finite for any finite logit.

    Input contract: ``input`` of shape ``(n,)`` or ``(n, 1)`` (binary log-odds of
    class 1) or ``(n, K)`` (logits, ``K >= 2``); ``target`` of shape ``(n,)`` with
    class indices in ``{0, ..., K-1}`` (``{0, 1}`` for binary).

    Parameters
    ----------
    label_smoothing : float, default=0.0
        :math:`\varepsilon \in [0, 1)`, the mass spread uniformly over classes.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`; a sample weight scales
        the sample's term.

    References
    ----------
    .. [1] C. Szegedy et al., "Rethinking the Inception Architecture for Computer
       Vision", CVPR 2016 (label smoothing). https://arxiv.org/abs/1512.00567

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import CrossEntropyLoss
    >>> loss = CrossEntropyLoss()
    >>> round(loss(torch.tensor([0.0, 2.0]), torch.tensor([1, 1])).item(), 4)
    0.41
    """

    name = "cross_entropy"
    key_parameter = "label_smoothing"
    aliases = ("ce", "log_loss", "logistic")
    tasks = frozenset({"binary", "multiclass"})

    def __init__(self, *, label_smoothing=0.0, reduction="mean"):
        super().__init__(reduction=reduction)
        check_real("label_smoothing", label_smoothing, low=0, high=1, closed="left")
        self.label_smoothing = label_smoothing

    def loss_terms(self, input, target):
        z, y, binary = split_logits(input, target)
        return log_loss(z, y, binary, self.label_smoothing)
