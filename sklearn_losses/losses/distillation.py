"""Knowledge-distillation losses: Hinton KD, Dual-Head KD and Plackett–Luce
distillation (PLD).

Every loss here compares a student's logits with a teacher's logits on the
same rows. They declare ``requires = ("teacher_logits",)`` and the task
``"distillation"``; an estimator passes the teacher's ``(n, K)`` logits of each
batch as the keyword ``teacher_logits``. A loss with ``n_heads = 2`` expects
``K`` outputs per head side by side (``input`` of shape ``(n, 2 K)``); the
first ``K`` columns are the main head, the one to predict from.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .._validation import check_real
from ._base import _TRUSTED_TARGETS, BaseLoss, split_logits
from ._registry import register_loss
from ._softmax import cross_entropy, log_softmax, softmax

__all__ = ["DistillationLoss", "KDLoss", "DualHeadKDLoss", "PLDLoss", "teacher_order"]

_LOGIT_LOSSES = ("binary_kl_norm", "binary_kl")


def _check_positive(name, value):
    check_real(name, value, low=0, closed="neither")


def _check_fraction(name, value):
    check_real(name, value, low=0, high=1)


class DistillationLoss(BaseLoss):
    """Base class of the distillation losses: the input contract and its checks.

    Subclasses set :attr:`n_heads` and implement :meth:`distillation_terms`,
    which receives the checked heads, targets and teacher logits.

    Input contract: ``input`` of shape ``(n, n_heads * K)`` (``K >= 2`` logits
    per head, the main head first; a binary task has ``K = 2``), ``target``
    class indices in ``0..K-1`` of shape ``(n,)``, and the keyword
    ``teacher_logits`` of shape ``(n, K)``: the teacher's logits, or its
    log-probabilities (``log(predict_proba + 1e-12)``). The teacher logits are
    constants: no gradient flows into them. Outside
    :func:`~sklearn_losses.losses.trusted_targets`, NaN in ``input`` and
    non-finite teacher logits raise ``ValueError``.
    """

    tasks = frozenset({"distillation"})
    requires = ("teacher_logits",)
    binary_logits = 2
    #: Number of ``K``-logit heads side by side in ``input``.
    n_heads = 1
    task_hint = "Distillation losses need a teacher's logits: use DistilledClassifier."

    def check_context(self, context):
        teacher = context.get("teacher_logits")
        if teacher is not None:
            _check_teacher_values(torch.as_tensor(teacher))

    def loss_terms(self, input, target, teacher_logits=None):
        heads, y, t = self._split(input, target, teacher_logits)
        return self.distillation_terms(heads, y, t)

    def distillation_terms(self, heads, target, teacher_logits):
        """Per-sample terms from the ``n_heads`` heads, each ``(n, K)``."""
        raise NotImplementedError

    def _split(self, input, target, teacher_logits):
        """Check the inputs; return the heads, int64 targets and the teacher
        logits (detached, in the input's dtype)."""
        name = type(self).__name__
        if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
            kind = getattr(input, "dtype", type(input).__name__)
            raise TypeError(
                f"input must be a floating-point torch.Tensor of student logits; "
                f"got {kind}."
            )
        if teacher_logits is None:
            raise ValueError(
                f"{name} needs `teacher_logits`, the teacher's (n_samples, "
                "n_classes) logits: loss(input, target, teacher_logits=t)."
            )
        if not (
            isinstance(teacher_logits, torch.Tensor)
            and teacher_logits.is_floating_point()
        ):
            kind = getattr(teacher_logits, "dtype", type(teacher_logits).__name__)
            raise TypeError(
                "teacher_logits must be a floating-point torch.Tensor of shape "
                f"(n_samples, n_classes); got {kind}."
            )
        if teacher_logits.ndim != 2 or teacher_logits.shape[1] < 2:
            raise ValueError(
                "teacher_logits must have shape (n_samples, n_classes) with "
                f"n_classes >= 2 (a binary task has 2 columns); got "
                f"{tuple(teacher_logits.shape)}."
            )
        n, k = teacher_logits.shape
        width = self.n_heads * k
        heads = "" if self.n_heads == 1 else f" ({self.n_heads} heads of {k})"
        if input.ndim != 2 or input.shape != (n, width):
            raise ValueError(
                f"input must have shape ({n}, {width}): {width} student logits"
                f"{heads} for the {n} rows and {k} classes of teacher_logits; "
                f"got {tuple(input.shape)}."
            )
        main = input[:, :k]
        _, y, _ = split_logits(main, target)
        if not _TRUSTED_TARGETS.get():
            if self.n_heads > 1 and input.numel():
                if bool(torch.isnan(input.detach().amax())):
                    raise ValueError("input (the logits) contains NaN.")
            _check_teacher_values(teacher_logits)
        t = teacher_logits.detach().to(device=input.device, dtype=input.dtype)
        return [input[:, i * k : (i + 1) * k] for i in range(self.n_heads)], y, t


def _check_teacher_values(teacher):
    if teacher.numel() and not bool(torch.isfinite(teacher).all()):
        raise ValueError(
            "teacher_logits must be finite (no NaN or inf); use "
            "log(predict_proba + 1e-12) for a teacher's probabilities."
        )


def _softened_kl(student, teacher, temperature):
    r""":math:`T^2\,\mathrm{KL}(\mathrm{softmax}(t/T)\,\|\,\mathrm{softmax}(s/T))`
    per row."""
    log_q = log_softmax(student / temperature)
    log_p = log_softmax(teacher / temperature)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)
    return temperature**2 * kl


def _log_cosh(x):
    """``log cosh(x)``, finite at any ``x``: ``|x| + softplus(-2|x|) - log 2``."""
    a = x.abs()
    return a + F.softplus(-2.0 * a) - math.log(2.0)


def _binary_kl_norm(student, teacher, temperature):
    r"""BinaryKL-Norm per row: :math:`T^2 \sum_k \log\cosh((s_k - t_k)/(2T))`."""
    return temperature**2 * _log_cosh((student - teacher) / (2.0 * temperature)).sum(
        dim=1
    )


def _binary_kl(student, teacher, temperature):
    r"""BinaryKL per row: :math:`T^2 \sum_k \mathrm{KL}(\mathrm{Bern}(\sigma(t_k/T))
    \,\|\,\mathrm{Bern}(\sigma(s_k/T)))`."""
    a, b = teacher / temperature, student / temperature
    p = torch.sigmoid(a)
    # log sigma(x) = -softplus(-x); log(1 - sigma(x)) = -softplus(x)
    kl = p * (F.softplus(-b) - F.softplus(-a)) + (1 - p) * (
        F.softplus(b) - F.softplus(a)
    )
    return temperature**2 * kl.sum(dim=1)


@register_loss
class KDLoss(DistillationLoss):
    r"""Hinton knowledge distillation: cross-entropy plus softened KL to the teacher.

    .. math::

        \ell(s, t, y) = (1 - \alpha)\,\mathrm{CE}(s, y)
        + \alpha\, T^2\, \mathrm{KL}\big(\mathrm{softmax}(t/T)\,\big\|\,
        \mathrm{softmax}(s/T)\big)

    with student logits :math:`s`, teacher logits :math:`t` and label :math:`y`.
    The :math:`T^2` factor keeps the gradient of the soft term on the scale of
    the cross-entropy's as :math:`T` changes. The KL term is invariant to a
    shift of :math:`s` or of :math:`t`, so teacher log-probabilities serve as
    well as its logits.

    Input contract: see :class:`DistillationLoss` (one head: ``input`` of
    shape ``(n, K)``, ``teacher_logits`` of shape ``(n, K)``).

    Parameters
    ----------
    temperature : float, default=4.0
        Softening temperature :math:`T > 0` of both softmaxes (4 is the
        vanilla KD mode of the Dual-Head KD code).
    alpha : float, default=0.9
        Weight :math:`\alpha \in [0, 1]` of the distillation term;
        :math:`1 - \alpha` weights the cross-entropy. The default is the KD
        baseline of the CRD benchmark code that later logit-distillation work
        (Dual-Head KD among it) reuses: cross-entropy weight 0.1, KD weight 0.9
        at :math:`T = 4`. With a weak teacher (a tabular model barely better
        than the student) lower it, e.g. to 0.5. ``alpha=0`` is cross-entropy.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] G. Hinton, O. Vinyals, J. Dean, "Distilling the Knowledge in a Neural
       Network", NeurIPS Deep Learning Workshop 2014.
       https://arxiv.org/abs/1503.02531
    .. [2] Y. Tian, D. Krishnan, P. Isola, "Contrastive Representation
       Distillation", ICLR 2020 (the benchmark code's KD baseline).
       https://arxiv.org/abs/1910.10699

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import KDLoss
    >>> s, t = torch.tensor([[1.0, 0.0, -1.0]]), torch.tensor([[2.0, 0.0, -2.0]])
    >>> loss = KDLoss(temperature=4.0, alpha=1.0)  # the distillation term alone
    >>> round(loss(s, torch.tensor([0]), teacher_logits=t).item(), 4)
    0.3057
    """

    name = "kd"
    key_parameter = "temperature"
    default_grid = {"temperature": [2.0, 4.0]}

    def __init__(self, *, temperature=4.0, alpha=0.9, reduction="mean"):
        super().__init__(reduction=reduction)
        _check_positive("temperature", temperature)
        _check_fraction("alpha", alpha)
        self.temperature = temperature
        self.alpha = alpha

    def distillation_terms(self, heads, target, teacher_logits):
        (s,) = heads
        alpha = float(self.alpha)
        kd = _softened_kl(s, teacher_logits, float(self.temperature))
        return (1.0 - alpha) * cross_entropy(s, target) + alpha * kd


@register_loss
class DualHeadKDLoss(DistillationLoss):
    r"""Dual-Head knowledge distillation: label loss on the main head, logit loss
    on an auxiliary head.

    .. math::

        \ell = \gamma\,\mathrm{CE}(g_1, y) + \alpha\, L_{\text{logit}}(g_2, t)
        + \beta\, T_{\text{kd}}^2\,\mathrm{KL}\big(\mathrm{softmax}(t/T_{\text{kd}})
        \,\big\|\,\mathrm{softmax}(g_1/T_{\text{kd}})\big)

    where :math:`g_1` (main head, used to predict) and :math:`g_2` (auxiliary
    head, used in training only) are two linear heads on a shared network,
    :math:`t` the teacher logits and :math:`\beta` = ``main_head_kd_weight``
    (0 in the paper's released method). The logit-level loss is
    BinaryKL-Norm, per class a Bernoulli KL between :math:`1/2` and
    :math:`\sigma((s_k - t_k)/T)`, which simplifies to

    .. math::

        L_{\text{logit}}(s, t) = T^2 \sum_k \log\cosh\frac{s_k - t_k}{2T}

    computed as :math:`\log\cosh x = |x| + \operatorname{softplus}(-2|x|) -
    \log 2` (finite at any :math:`x`). It is zero iff :math:`s = t` and, unlike
    softmax KD, not invariant to shifts of the logits: the auxiliary head
    learns the teacher's logit convention (log-probabilities for a teacher
    given through ``predict_proba``). ``logit_loss="binary_kl"`` uses the
    earlier BinaryKL, :math:`T^2 \sum_k \mathrm{KL}(\mathrm{Bern}(\sigma(t_k/T))
    \,\|\,\mathrm{Bern}(\sigma(s_k/T)))`.

    The paper's point: on a single head the logit loss and the label loss
    conflict in the classifier and collapse it; two heads on a shared backbone
    keep the benefit of both.

    Input contract: see :class:`DistillationLoss`, with two heads: ``input`` of
    shape ``(n, 2 K)``, the main head's ``K`` logits first, then the auxiliary
    head's; ``teacher_logits`` of shape ``(n, K)``.

    Parameters
    ----------
    temperature : float, default=2.0
        Temperature :math:`T > 0` of the logit-level loss (the paper's
        BinaryKL temperature).
    gamma : float, default=1.0
        Weight :math:`\gamma \ge 0` of the main head's cross-entropy.
    alpha : float, default=1.0
        Weight :math:`\alpha \ge 0` of the auxiliary head's logit loss (1 on
        CIFAR-100 in the paper, 0.1 on ImageNet).
    main_head_kd_weight : float, default=0.0
        Weight :math:`\beta \ge 0` of a softmax KD term on the main head (the
        probability-level distillation; 0: the released method's label loss
        alone).
    kd_temperature : float, default=4.0
        Temperature :math:`T_{\text{kd}} > 0` of that softmax KD term.
    logit_loss : {"binary_kl_norm", "binary_kl"}, default="binary_kl_norm"
        The logit-level loss of the auxiliary head.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Notes
    -----
    The paper's optional gradient alignment (a PCGrad-style projection of the
    logit loss's gradient over all network parameters, one extra backward
    pass) is not implemented: a loss sees the logits, not the parameters.

    References
    ----------
    .. [1] P. Yang, C. Zong, S.-J. Huang, L. Feng, B. An, "Dual-Head Knowledge
       Distillation: Enhancing Logits Utilization with an Auxiliary Head",
       2024. https://arxiv.org/abs/2411.08937 (code:
       https://github.com/penghui-yang/DHKD)

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import DualHeadKDLoss
    >>> main, aux = [1.5, 0.2, -0.3], [1.0, 0.0, -1.0]
    >>> s = torch.tensor([main + aux])  # (1, 2 K): main head, then auxiliary head
    >>> t = torch.tensor([[2.0, 0.0, -2.0]])
    >>> loss = DualHeadKDLoss(temperature=2.0, gamma=1.0, alpha=1.0)
    >>> round(loss(s, torch.tensor([0]), teacher_logits=t).item(), 4)  # CE + logit
    0.6106
    """

    name = "dual_head"
    n_heads = 2
    key_parameter = "alpha"
    default_grid = {"alpha": [0.1, 1.0]}

    def __init__(
        self,
        *,
        temperature=2.0,
        gamma=1.0,
        alpha=1.0,
        main_head_kd_weight=0.0,
        kd_temperature=4.0,
        logit_loss="binary_kl_norm",
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        _check_positive("temperature", temperature)
        check_real("gamma", gamma, low=0)
        check_real("alpha", alpha, low=0)
        check_real("main_head_kd_weight", main_head_kd_weight, low=0)
        _check_positive("kd_temperature", kd_temperature)
        if not (isinstance(logit_loss, str) and logit_loss in _LOGIT_LOSSES):
            raise ValueError(
                f"logit_loss must be one of {_LOGIT_LOSSES}; got {logit_loss!r}."
            )
        self.temperature = temperature
        self.gamma = gamma
        self.alpha = alpha
        self.main_head_kd_weight = main_head_kd_weight
        self.kd_temperature = kd_temperature
        self.logit_loss = logit_loss

    def distillation_terms(self, heads, target, teacher_logits):
        main, aux = heads
        logit = _binary_kl_norm if self.logit_loss == "binary_kl_norm" else _binary_kl
        terms = float(self.gamma) * cross_entropy(main, target)
        terms = terms + float(self.alpha) * logit(
            aux, teacher_logits, float(self.temperature)
        )
        beta = float(self.main_head_kd_weight)
        if beta:
            kd = _softened_kl(main, teacher_logits, float(self.kd_temperature))
            terms = terms + beta * kd
        return terms


def teacher_order(teacher_logits, target):
    """The teacher-optimal permutation of PLD, per row: the true label first,
    then the other classes by decreasing teacher logit (ties: lower index first).

    Parameters
    ----------
    teacher_logits : torch.Tensor of shape (n_samples, n_classes)
        Teacher logits.
    target : torch.Tensor of shape (n_samples,)
        Class indices (int64).

    Returns
    -------
    torch.Tensor of shape (n_samples, n_classes)
        Class indices in permutation order.

    Examples
    --------
    >>> import torch
    >>> teacher_order(torch.tensor([[3.0, 1.0, 2.0]]), torch.tensor([1])).tolist()
    [[1, 0, 2]]
    """
    order = torch.argsort(teacher_logits, dim=1, descending=True, stable=True)
    # A second stable sort moves the label to the front, keeping the rest in
    # order (robust to infinite teacher logits, unlike masking t_y with +inf).
    is_other = (order != target[:, None]).to(torch.int8)
    return order.gather(1, torch.argsort(is_other, dim=1, stable=True))


@register_loss
class PLDLoss(DistillationLoss):
    r"""Plackett–Luce distillation: a teacher-weighted Plackett–Luce likelihood of
    the teacher-optimal class order.

    .. math::

        \ell(s, t, y) = \sum_{k=1}^{K} \alpha_k \Big[\log \sum_{j=k}^{K}
        e^{s_{\pi^*_j}} - s_{\pi^*_k}\Big], \qquad
        \alpha_k = \mathrm{softmax}(t/\tau_T)_{\pi^*_k}

    where :math:`\pi^*` is the teacher-optimal permutation: the true label
    :math:`y` first (even when the teacher ranks another class higher), then
    every other class by decreasing teacher logit (ties broken by a stable
    sort: lower class index first; see :func:`teacher_order`). The weights are
    the full teacher softmax in :math:`\pi^*` order, not renormalised
    (:math:`\sum_k \alpha_k = 1`); the student logits enter unsoftened, the
    temperature :math:`\tau_T` acts on the teacher only. The inner sums are a
    suffix log-sum-exp (``logcumsumexp`` over the reversed order); the last
    term is zero. There is no separate cross-entropy term: the first term is
    :math:`p_T(y)\,\mathrm{CE}(s, y)`.

    The loss is convex in :math:`s` and invariant to shifts of :math:`s` and of
    :math:`t`, so teacher log-probabilities serve as well as its logits.
    Special cases: :math:`\alpha = (1, 0, \dots, 0)` gives cross-entropy,
    uniform :math:`\alpha` ListMLE. With two classes,
    :math:`\ell = p_T(y)\,\mathrm{CE}(s, y)`: binary PLD is teacher-weighted
    cross-entropy.

    Input contract: see :class:`DistillationLoss` (one head: ``input`` of
    shape ``(n, K)``, ``teacher_logits`` of shape ``(n, K)``).

    Parameters
    ----------
    teacher_temperature : float, default=1.0
        Temperature :math:`\tau_T > 0` of the teacher softmax (the paper's
        ImageNet ablation peaks at 1; its CIFAR-100 runs use 4).
    min_label_weight : float, default=0.0
        Floor :math:`m \in [0, 1]` on the true label's weight:
        :math:`\alpha_1 \leftarrow \max(\alpha_1, m)`, the other weights
        unchanged (not renormalised, so :math:`\sum_k \alpha_k` may exceed 1).
        It keeps the label's signal when the teacher is confidently wrong; 0
        is the paper's loss.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    References
    ----------
    .. [1] K. Bassam, H. Zhu, K. Bian, "PLD: A Choice-Theoretic List-Wise
       Knowledge Distillation", 2025. https://arxiv.org/abs/2506.12542

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import PLDLoss
    >>> s, t = torch.tensor([[1.0, 2.0, 0.5]]), torch.tensor([[3.0, 1.0, 2.0]])
    >>> loss = PLDLoss(teacher_temperature=1.0)  # the teacher is wrong: y = 1
    >>> round(loss(s, torch.tensor([1]), teacher_logits=t).item(), 4)
    0.3572
    """

    name = "pld"
    key_parameter = "teacher_temperature"
    default_grid = {"teacher_temperature": [1.0, 4.0]}

    def __init__(
        self, *, teacher_temperature=1.0, min_label_weight=0.0, reduction="mean"
    ):
        super().__init__(reduction=reduction)
        _check_positive("teacher_temperature", teacher_temperature)
        _check_fraction("min_label_weight", min_label_weight)
        self.teacher_temperature = teacher_temperature
        self.min_label_weight = min_label_weight

    def distillation_terms(self, heads, target, teacher_logits):
        (s,) = heads
        perm = teacher_order(teacher_logits, target)
        tau = float(self.teacher_temperature)
        alpha = softmax(teacher_logits / tau).gather(1, perm)
        floor = float(self.min_label_weight)
        if floor > 0:
            alpha = torch.cat([alpha[:, :1].clamp_min(floor), alpha[:, 1:]], dim=1)
        s_p = s.gather(1, perm)
        suffix = torch.logcumsumexp(s_p.flip(1), dim=1).flip(1)
        return (alpha * (suffix - s_p)).sum(dim=1)
