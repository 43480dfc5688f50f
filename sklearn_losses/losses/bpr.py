"""Bayesian personalised ranking (BPR) for implicit feedback (Rendle et al., 2009)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._base import BaseLoss, weighted_reduce

__all__ = ["BPRLoss", "bpr_terms"]


def bpr_terms(scores):
    """Per-example BPR terms of a ``(n, 1 + m)`` score matrix.

    Column 0 holds the score :math:`\\hat y_{ui}` of the positive item, the
    ``m >= 1`` other columns the scores :math:`\\hat y_{uj}` of sampled
    negatives; the term of a row is the mean over its negatives of
    :math:`\\operatorname{softplus}(\\hat y_{uj} - \\hat y_{ui})`.

    Examples
    --------
    >>> import torch
    >>> round(bpr_terms(torch.tensor([[2.0, 0.2]])).item(), 6)
    0.152978
    """
    if not isinstance(scores, torch.Tensor):
        raise TypeError(
            f"scores must be a torch.Tensor of shape (n, 1 + m); got "
            f"{type(scores).__name__}."
        )
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(
            "scores must have shape (n, 1 + m) with m >= 1: the positive item's "
            f"score in column 0, then m negatives' scores; got {tuple(scores.shape)}."
        )
    if not scores.is_floating_point():
        raise TypeError(f"scores must be a floating tensor; got {scores.dtype}.")
    return F.softplus(scores[:, 1:] - scores[:, :1]).mean(dim=1)


class BPRLoss(BaseLoss):
    r"""Bayesian personalised ranking loss of implicit feedback.

    For a user :math:`u`, an item :math:`i` the user interacted with and a
    sampled item :math:`j` the user did not interact with,

    .. math::

        \ell(u, i, j) = -\log \sigma(\hat y_{ui} - \hat y_{uj})
                      = \operatorname{softplus}(\hat y_{uj} - \hat y_{ui}),

    averaged over the ``m`` negatives of a row when there are several. The
    training objective of
    :class:`~sklearn_losses.estimators.ImplicitFeedbackRecommender` adds a
    weight decay on the batch's embeddings; this module is the data term only.

    Input contract: ``input`` of shape ``(n, 1 + m)``, ``m >= 1``, with the
    positive item's score in column 0 and the negatives' scores after it;
    ``target`` is unused (``None``): the order of the columns carries the
    preference. A sample weight weighs a row (an interaction) in the mean.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Notes
    -----
    The loss is used by the recommender through its ``loss="bpr"`` parameter
    and is not in the registry of table losses (:func:`list_losses`): its
    input is a user's scores of sampled items, not a table's outputs.

    References
    ----------
    .. [1] S. Rendle, C. Freudenthaler, Z. Gantner, L. Schmidt-Thieme, "BPR:
       Bayesian Personalized Ranking from Implicit Feedback", UAI 2009.
       https://arxiv.org/abs/1205.2618

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import BPRLoss
    >>> scores = torch.tensor([[2.0, 0.2], [1.5, 0.2]])
    >>> round(BPRLoss()(scores).item(), 6)  # (0.152978 + 0.241008) / 2
    0.196993
    """

    name = "bpr"
    tasks = frozenset({"ranking"})

    def loss_terms(self, input, target=None):
        return bpr_terms(input)

    def forward(self, input, target=None, *, sample_weight=None):
        return weighted_reduce(self.loss_terms(input), sample_weight, self.reduction)
