"""AnyLoss: any confusion-matrix metric as a loss (Han, Moniz, Chawla, CIKM 2024)."""

from __future__ import annotations

import torch

from .._validation import check_real
from ..metrics import (
    ConfusionMetric,
    get_metric,
    soft_confusion,
    soft_confusion_matrix,
)
from ._base import _TRUSTED_TARGETS, BatchLoss, check_weights, split_logits
from ._registry import register_loss

__all__ = ["AnyLoss"]


@register_loss
class AnyLoss(BatchLoss):
    r"""AnyLoss: one minus a confusion-matrix metric on amplified probabilities.

    .. math::

        p_i = \sigma(z_i),\qquad a_i = \sigma\bigl(L\,(p_i - \tfrac12)\bigr),\qquad
        \ell = 1 - M(TP, FP, FN, TN)

    with the soft counts :math:`TP = \sum_i w_i y_i a_i`,
    :math:`FN = \sum_i w_i y_i - TP`, :math:`FP = \sum_i w_i a_i - TP`,
    :math:`TN = \sum_i w_i - TP - FN - FP` of the batch (see
    :func:`~sklearn_losses.metrics.soft_confusion`), and :math:`M` any
    :class:`~sklearn_losses.metrics.ConfusionMetric` (F1, G-mean, balanced
    accuracy, MCC, a user's own). For a metric where lower is better the loss is
    :math:`M` itself.

    Input contract: ``input`` of shape ``(n,)``/``(n, 1)`` (binary log-odds, as
    in the paper) or ``(n, K)`` logits; ``target`` class indices of shape
    ``(n,)``. It is computed in float64 (in float32 the amplifier saturates to
    exactly 1 for ``L >= 34`` and confident false positives get no gradient) and
    returned in the input's dtype.

    Multiclass (an extension, not in the paper): the soft ``(K, K)``
    confusion matrix (:func:`~sklearn_losses.metrics.soft_confusion_matrix`)
    of :math:`a = \operatorname{softmax}(L\,p/2)` (the binary amplifier for
    two classes, the one-hot argmax as :math:`L \to \infty`). Accuracy,
    balanced accuracy and MCC are evaluated on the whole matrix, as
    scikit-learn defines them for many classes (``average`` does not apply);
    the other metrics on each class's one-vs-rest counts, averaged over
    classes (``average="macro"``) or with the counts summed first
    (``"micro"``).

    Sample weights weight each sample's contribution to the soft counts, so
    integer weights equal repeated rows. The loss is a function of the whole
    batch: a batch without positives gives no signal through TP, so estimators
    draw stratified batches for it, and a count that is exactly zero (a class
    absent from the batch) is replaced by
    :data:`~sklearn_losses.metrics.SOFT_EPS` so that no denominator is zero;
    every other count, and its gradient, is used as it is. An empty batch, or
    one whose weights sum to zero, gives 0 with a zero gradient (no training
    signal), as the per-sample losses do.

    Parameters
    ----------
    metric : str or ConfusionMetric, default="f1"
        ``"f1"``, ``"f0.5"``, ``"f2"``, ``"gmean"``, ``"balanced_accuracy"``,
        ``"accuracy"``, ``"mcc"``, ... (see
        :func:`~sklearn_losses.metrics.list_metrics`) or a metric made with
        :func:`~sklearn_losses.metrics.make_confusion_metric`.
    L : float, default=73.0
        Amplifier steepness (the paper's value; try 10 to 73).
    average : {"macro", "micro"}, default="macro"
        How one-vs-rest metrics are combined for more than two classes (not
        used by accuracy, balanced accuracy and MCC, which are defined on the
        whole confusion matrix).

    Notes
    -----
    The paper's code uses the whole training-set size as the batch size
    ``N`` inside mini-batches, which makes balanced accuracy and G-mean wrong; the
    counts here are those of the batch. The paper's batch size is 5 % of the
    training set; estimators use ``max(128, ceil(0.05 n))`` for batch-level
    losses when ``batch_size="auto"``.

    References
    ----------
    .. [1] D. Han, N. Moniz, N. V. Chawla, "AnyLoss: Transforming Classification
       Metrics into Loss Functions", CIKM 2024. https://arxiv.org/abs/2405.14745

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import AnyLoss
    >>> z = torch.logit(torch.tensor([0.8, 0.4, 0.6, 0.3]))
    >>> loss = AnyLoss(metric="f1", L=10)
    >>> round(loss(z, torch.tensor([1, 0, 1, 0])).item(), 6)
    0.173023
    """

    name = "anyloss"
    aliases = ("any_loss",)
    tasks = frozenset({"binary", "multiclass"})
    key_parameter = "metric"
    default_grid = {"metric": ["f1", "gmean"]}

    def __init__(self, *, metric="f1", L=73.0, average="macro"):
        super().__init__()
        if not isinstance(metric, str | ConfusionMetric):
            raise ValueError(
                "metric must be a metric name or a ConfusionMetric (see "
                f"make_confusion_metric); got {metric!r}."
            )
        get_metric(metric)  # unknown names are refused here, with suggestions
        check_real("L", L, low=0, closed="neither")
        if average not in ("macro", "micro"):
            raise ValueError(f"average must be 'macro' or 'micro'; got {average!r}.")
        self.metric = metric
        self.L = L
        self.average = average

    def forward(self, input, target, *, sample_weight=None):
        z, y, binary = split_logits(input, target)
        if sample_weight is not None:
            check_weights(sample_weight)
        metric = get_metric(self.metric)
        w = None if sample_weight is None else sample_weight.double()
        if w is not None and w.shape != y.shape:
            raise ValueError(
                f"sample_weight must have shape {tuple(y.shape)} (one weight "
                f"per sample), got {tuple(w.shape)}."
            )
        trusted = _TRUSTED_TARGETS.get()
        if y.shape[0] == 0 or (w is not None and not trusted and not bool(w.sum() > 0)):
            # No sample carries weight: no training signal (as weighted_reduce).
            return (z.double().sum() * 0.0).to(input.dtype)
        L = float(self.L)
        if binary:
            p = torch.sigmoid(z.double())
            value = metric.soft(*soft_confusion(p, y, L=L, sample_weight=w))
        elif self.average == "micro" and metric.matrix_fn is None:
            tp, fp, fn, tn = soft_confusion(
                torch.softmax(z.double(), dim=1), y, L=L, sample_weight=w
            )
            value = metric.soft(tp.sum(), fp.sum(), fn.sum(), tn.sum())
        else:
            p = torch.softmax(z.double(), dim=1)
            value = metric.soft_matrix(
                soft_confusion_matrix(p, y, L=L, sample_weight=w)
            )
        loss = 1.0 - value if metric.higher_is_better else value
        if w is not None and trusted:
            # The check above without a device sync: weights summing to zero
            # give 0 with a zero gradient.
            loss = torch.where(w.sum() > 0, loss, 0.0)
        return loss.to(input.dtype)

    def validation_scorer(self, task):
        metric = get_metric(self.metric)
        if task == "binary":
            return metric.scorer(pos_label=1, zero_division=0.0)
        return metric.scorer(average=self.average, zero_division=0.0)
