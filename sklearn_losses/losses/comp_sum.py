"""Comp-sum losses (Mao, Mohri, Zhong, ICML 2023) and their adversarial form.

One family indexed by :math:`\\tau \\ge 0`: sum-exponential (:math:`\\tau = 0`),
cross-entropy (:math:`\\tau = 1`), generalized cross-entropy
(:math:`1 < \\tau < 2`) and mean absolute error (:math:`\\tau = 2`), plus the
smooth adversarial comp-sum loss that adds a PGD-estimated smoothness penalty.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .._validation import check_real, is_real
from ._base import BaseLoss, split_logits
from ._registry import register_loss
from ._softmax import log_loss

__all__ = [
    "CompSumLoss",
    "SumExpLoss",
    "GCELoss",
    "MAELoss",
    "AdvCompSumLoss",
    "EXPONENT_CAP",
]

#: Cap on the exponent :math:`(1 - \tau)\,\mathrm{ce}` for :math:`\tau < 1`; past
#: it the loss continues along its tangent (see :class:`CompSumLoss`).
EXPONENT_CAP = 50.0
_NORMS = {"inf": math.inf, "linf": math.inf, "2": 2.0, "l2": 2.0}


# -- parameter checks -----------------------------------------------------------
def _check_nonnegative(name, value):
    return check_real(name, value, low=0)


def _check_norm(norm):
    if isinstance(norm, str):
        p = _NORMS.get(norm.strip().lower())
    elif isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        p = float(norm) if float(norm) in (2.0, math.inf) else None
    else:
        p = None
    if p is None:
        raise ValueError(f'norm must be "inf" or 2, got {norm!r}.')
    return p


def _check_perturbable(perturbable):
    """``None``, or ``("mask", bool array)`` / ``("index", int array)``."""
    if perturbable is None:
        return None
    message = (
        "perturbable must be None, a boolean mask with one entry per feature or a "
        f"list of column indices >= 0; got {perturbable!r}."
    )
    try:
        values = np.asarray(perturbable)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if values.ndim != 1:
        raise ValueError(message)
    if values.dtype == bool:
        return ("mask", values.copy())
    if values.size == 0:
        return ("index", np.zeros(0, dtype=np.int64))
    if values.dtype.kind not in "iu" or values.min() < 0:
        raise ValueError(message)
    return ("index", values.astype(np.int64))


# -- computation ----------------------------------------------------------------
def _capped_expm1(t):
    """``expm1(t)`` up to :data:`EXPONENT_CAP`, its tangent past it.

    ``expm1(CAP) + e^CAP (t - CAP)`` for ``t > CAP``: value and gradient are
    continuous and finite. Up to the cap the ``relu`` term and its gradient
    are exactly 0, so the value is ``expm1(t)`` itself (``clamp_max`` passes
    the gradient at the cap).
    """
    past_cap = torch.relu(t - EXPONENT_CAP)
    return torch.expm1(t.clamp_max(EXPONENT_CAP)) + math.exp(EXPONENT_CAP) * past_cap


def _comp_sum_terms(z, y, binary, tau):
    """Per-sample comp-sum terms of checked logits: the cross-entropy at
    ``tau == 1``, else ``expm1((1 - tau) ce) / (1 - tau)``, capped for
    ``tau < 1`` (for ``tau > 1`` the exponent is negative: bounded)."""
    ce = log_loss(z, y, binary)
    if tau == 1.0:
        return ce
    a = 1.0 - tau
    if a < 0:
        return torch.expm1(a * ce) / a
    return _capped_expm1(a * ce) / a


def _module_logits(module, x, shape):
    """``module(x)`` with one logit flattened to ``(n,)``, checked to be ``shape``."""
    out = module(x)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out.reshape(-1)
    if out.shape != shape:
        raise ValueError(
            f"module(X) gives logits of shape {tuple(out.shape)} but input has "
            f"shape {tuple(shape)}: input must be module(X)."
        )
    return out


def _gap_change(out, base, y, binary):
    r""":math:`\lVert \bar h(\text{out}) - \bar h(\text{base}) \rVert_2` per row.

    :math:`\bar h = (z_k - z_y)_k` are the score differences. Their change is
    :math:`d - d_y` with :math:`d = \text{out} - \text{base}`; with one logit
    the scores are :math:`(0, z)`, so it has one non-zero entry,
    :math:`\pm(z' - z)`, and the norm is :math:`|z' - z|`. The gradient at a
    zero change is 0, not NaN (``abs`` and ``torch.linalg.vector_norm`` define
    it so, in one operation; this runs once per PGD step).
    """
    d = out - base
    if binary:
        return d.abs()
    return torch.linalg.vector_norm(d - d.gather(1, y.unsqueeze(1)), dim=1)


def _rows(norm, like):
    """A per-row ``(n,)`` tensor shaped to broadcast over ``like``."""
    return norm.reshape(-1, *([1] * (like.ndim - 1)))


# -- losses ---------------------------------------------------------------------
class _CompSumBase(BaseLoss):
    """Shared computation: subclasses provide :attr:`effective_tau`."""

    tasks = frozenset({"binary", "multiclass"})

    @property
    def effective_tau(self):
        """The :math:`\\tau` of the comp-sum member this loss computes."""
        raise NotImplementedError

    def loss_terms(self, input, target):
        z, y, binary = split_logits(input, target)
        return _comp_sum_terms(z, y, binary, self.effective_tau)


@register_loss
class CompSumLoss(_CompSumBase):
    r"""Comp-sum loss :math:`\ell_\tau`: one family from sum-exp to MAE.

    .. math::

        \ell_\tau(z, y) = \Phi_\tau\Bigl(\sum_{k \ne y} e^{z_k - z_y}\Bigr),
        \qquad
        \Phi_\tau(u) = \begin{cases}
            \log(1 + u) & \tau = 1 \\
            \dfrac{(1 + u)^{1-\tau} - 1}{1 - \tau} & \tau \ne 1
        \end{cases}

    With the softmax probability :math:`p_y`, :math:`1 + u = 1/p_y`, so
    :math:`\tau = 0` is the sum-exponential loss :math:`1/p_y - 1`,
    :math:`\tau = 1` the cross-entropy :math:`-\log p_y`, :math:`1 < \tau < 2`
    the generalized cross-entropy :math:`(1 - p_y^{q})/q` with
    :math:`q = \tau - 1`, and :math:`\tau = 2` the mean absolute error
    :math:`1 - p_y` (half of :math:`\lVert e_y - p \rVert_1`).

    It is computed from :math:`\mathrm{ce} = -\log p_y` (log-sum-exp /
    ``softplus``) as :math:`\operatorname{expm1}((1-\tau)\,\mathrm{ce})/(1-\tau)`,
    and as :math:`\mathrm{ce}` itself at :math:`\tau = 1` exactly: ``expm1``
    keeps the quotient accurate for :math:`\tau` however close to 1, so the
    value is continuous in :math:`\tau`. For one binary logit :math:`z` the class
    scores are :math:`(0, z)`: :math:`\mathrm{ce} = \operatorname{softplus}(-m)`
    with margin :math:`m = (2y - 1) z`, so :math:`\tau = 0` is the exponential
    loss :math:`e^{-m}` and :math:`\tau = 2` is :math:`1 - \sigma(m)`.

    Input contract: ``input`` of shape ``(n,)`` or ``(n, 1)`` (binary log-odds of
    class 1) or ``(n, K)`` (logits, ``K >= 2``); ``target`` of shape ``(n,)`` with
    class indices in ``{0, ..., K-1}`` (``{0, 1}`` for binary).

    Parameters
    ----------
    tau : float, default=1.0
        :math:`\tau \ge 0`, the member of the family. The spec's grid is
        ``{0, 0.5, 1, 1.5, 1.7, 2}``; :math:`\tau > 1` gives bounded losses
        (robust to label noise, slower to fit).
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`; a sample weight scales
        the sample's term.

    Notes
    -----
    For :math:`\tau < 1` the loss grows like :math:`e^{(1-\tau)\,\mathrm{ce}}`.
    The exponent :math:`(1-\tau)\,\mathrm{ce}` is capped at
    :data:`EXPONENT_CAP` :math:`= 50` (``ce`` at :math:`50/(1-\tau)`, which is 50
    for sum-exp); past the cap the loss continues along its tangent, linear in
    ``ce`` with slope :math:`e^{50}`. Value and gradient are then continuous,
    monotone and finite (in float32 too) even for logits of :math:`\pm 10^4`,
    and confidently wrong samples keep a non-zero gradient. The loss is exact
    wherever it is below :math:`(e^{50} - 1)/(1-\tau) \approx 5 \cdot 10^{21}`.
    Such values still make large gradients: with :math:`\tau < 1` use a small
    learning rate or gradient clipping.

    :class:`SumExpLoss`, :class:`GCELoss` and :class:`MAELoss` are the named
    members with their own parameters.

    References
    ----------
    .. [1] A. Mao, M. Mohri, Y. Zhong, "Cross-Entropy Loss Functions: Theoretical
       Analysis and Applications", ICML 2023. https://arxiv.org/abs/2304.07288

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.comp_sum import CompSumLoss
    >>> z, y = torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])
    >>> round(CompSumLoss(tau=0.0)(z, y).item(), 4)  # 1 / p_y - 1
    0.5174
    >>> round(CompSumLoss(tau=1.0)(z, y).item(), 4)  # -log p_y
    0.417
    """

    name = "comp_sum"
    key_parameter = "tau"
    default_grid = {"tau": [0.5, 1.5]}
    equivalences = (
        ({"tau": 0.0}, "sum_exp", {}),
        ({"tau": 1.0}, "cross_entropy", {}),
        ({"tau": 1.5}, "gce", {"q": 0.5}),
        ({"tau": 2.0}, "mae", {}),
    )
    aliases = ("compsum",)

    def __init__(self, *, tau=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.tau = _check_nonnegative("tau", tau)

    @property
    def effective_tau(self):
        """The :math:`\\tau` of the comp-sum member this loss computes."""
        return float(self.tau)


@register_loss
class SumExpLoss(_CompSumBase):
    r"""Sum-exponential loss: the comp-sum loss at :math:`\tau = 0`.

    .. math::

        \ell(z, y) = \sum_{k \ne y} e^{z_k - z_y} = \frac{1}{p_y} - 1

    For one binary logit it is the exponential loss :math:`e^{-(2y-1)z}` (scores
    :math:`(0, z)`). It is unbounded and grows exponentially with the margin of
    a wrong prediction; see :class:`CompSumLoss` for the cap that keeps value and
    gradient finite (the cross-entropy term is capped at 50).

    Input contract: as :class:`CompSumLoss` — ``(n,)``/``(n, 1)`` binary log-odds
    or ``(n, K)`` logits; ``target`` class indices of shape ``(n,)``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Notes
    -----
    Equal to ``CompSumLoss(tau=0)``. Gradients can be very large on badly
    classified samples: prefer a small learning rate or gradient clipping.

    References
    ----------
    .. [1] A. Mao, M. Mohri, Y. Zhong, "Cross-Entropy Loss Functions: Theoretical
       Analysis and Applications", ICML 2023. https://arxiv.org/abs/2304.07288

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.comp_sum import SumExpLoss
    >>> round(SumExpLoss()(torch.tensor([0.7]), torch.tensor([1])).item(), 4)
    0.4966
    """

    name = "sum_exp"
    aliases = ("sum_exponential",)

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction=reduction)

    @property
    def effective_tau(self):
        """The :math:`\\tau` of the comp-sum member this loss computes (0)."""
        return 0.0


@register_loss
class GCELoss(_CompSumBase):
    r"""Generalized cross-entropy (Zhang & Sabuncu, 2018), comp-sum with
    :math:`\tau = 1 + q`.

    .. math::

        \ell_q(z, y) = \frac{1 - p_y^{\,q}}{q}, \qquad 0 < q \le 1

    where :math:`p_y` is the softmax probability of the true class (for one
    binary logit, :math:`\sigma((2y-1)z)`). It tends to the cross-entropy as
    :math:`q \to 0` and equals the MAE :math:`1 - p_y` at :math:`q = 1`; it is
    bounded by :math:`1/q`, hence robust to noisy labels.

    Input contract: as :class:`CompSumLoss` — ``(n,)``/``(n, 1)`` binary log-odds
    or ``(n, K)`` logits; ``target`` class indices of shape ``(n,)``.

    Parameters
    ----------
    q : float, default=0.7
        :math:`q \in (0, 1]` (the paper's default 0.7, i.e. :math:`\tau = 1.7`).
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Notes
    -----
    Equal to ``CompSumLoss(tau=1 + q)``, computed as
    :math:`-\operatorname{expm1}(-q\,\mathrm{ce})/q`. The truncated variant of
    the paper (a threshold :math:`k` on :math:`p_y`, with pruning) is not
    implemented.

    References
    ----------
    .. [1] Z. Zhang, M. R. Sabuncu, "Generalized Cross Entropy Loss for Training
       Deep Neural Networks with Noisy Labels", NeurIPS 2018.
       https://arxiv.org/abs/1805.07836
    .. [2] A. Mao, M. Mohri, Y. Zhong, "Cross-Entropy Loss Functions: Theoretical
       Analysis and Applications", ICML 2023. https://arxiv.org/abs/2304.07288

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.comp_sum import GCELoss
    >>> z, y = torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])
    >>> round(GCELoss(q=0.5)(z, y).item(), 4)  # (1 - sqrt(p_y)) / 0.5
    0.3764
    """

    name = "gce"
    key_parameter = "q"
    default_grid = {"q": [0.3, 0.7]}
    equivalences = (({"q": 0.7}, "comp_sum", {"tau": 1.7}),)
    aliases = ("generalized_cross_entropy",)

    def __init__(self, *, q=0.7, reduction="mean"):
        super().__init__(reduction=reduction)
        if not is_real(q) or not 0.0 < q <= 1.0:
            raise ValueError(f"q must be a float in (0, 1], got {q!r}.")
        self.q = q

    @property
    def effective_tau(self):
        """The :math:`\\tau = 1 + q` of the comp-sum member this loss computes."""
        return 1.0 + float(self.q)


@register_loss
class MAELoss(_CompSumBase):
    r"""Mean absolute error on the softmax: the comp-sum loss at :math:`\tau = 2`.

    .. math::

        \ell(z, y) = 1 - p_y = \tfrac12 \lVert e_y - \operatorname{softmax}(z)
        \rVert_1

    For one binary logit it is :math:`1 - \sigma((2y-1)z)`. Bounded and
    symmetric, hence robust to label noise, but slow to fit (its gradient
    vanishes on badly classified samples).

    Input contract: as :class:`CompSumLoss` — ``(n,)``/``(n, 1)`` binary log-odds
    or ``(n, K)`` logits; ``target`` class indices of shape ``(n,)``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`.

    Notes
    -----
    Equal to ``CompSumLoss(tau=2)`` and ``GCELoss(q=1)``. It is half the
    :math:`\ell_1` distance used by Ghosh et al.; the factor does not change the
    minimiser.

    References
    ----------
    .. [1] A. Ghosh, H. Kumar, P. S. Sastry, "Robust Loss Functions under Label
       Noise for Deep Neural Networks", AAAI 2017.
       https://arxiv.org/abs/1712.09482
    .. [2] A. Mao, M. Mohri, Y. Zhong, "Cross-Entropy Loss Functions: Theoretical
       Analysis and Applications", ICML 2023. https://arxiv.org/abs/2304.07288

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.comp_sum import MAELoss
    >>> z, y = torch.tensor([[2.0, 1.0, 0.1]]), torch.tensor([0])
    >>> round(MAELoss()(z, y).item(), 4)  # 1 - p_y
    0.341
    """

    name = "mae"
    aliases = ()

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction=reduction)

    @property
    def effective_tau(self):
        """The :math:`\\tau` of the comp-sum member this loss computes (2)."""
        return 2.0


@register_loss
class AdvCompSumLoss(_CompSumBase):
    r"""Smooth adversarial comp-sum loss: comp-sum plus a PGD smoothness penalty.

    .. math::

        \tilde\ell(x, y) = \ell_\tau(z(x), y) + \nu \sup_{\lVert x' - x \rVert_p
        \le \gamma} \bigl\lVert \bar h(x', y) - \bar h(x, y) \bigr\rVert_2,
        \qquad \bar h(x, y) = \bigl(z_k(x) - z_y(x)\bigr)_{k=1}^{K}

    with :math:`\ell_\tau` the comp-sum loss of :class:`CompSumLoss` on the
    clean logits. The supremum is estimated by projected gradient ascent (PGD)
    on :math:`x'` with :math:`\bar h(x, y)` detached: a uniform random start in
    the ball, then ``steps`` steps of size :math:`\gamma/4` (the sign of the
    gradient for :math:`p = \infty`, the normalised gradient for :math:`p = 2`),
    each followed by the projection onto the ball. The network is then re-run on
    the perturbed batch :math:`x^*` and the penalty
    :math:`\lVert \bar h(x^*, y) - \bar h(x, y) \rVert_2` backpropagates into
    its parameters through both ends (Danskin's theorem; as in TRADES, the
    clean scores are detached only inside the search). For one binary logit the
    scores are :math:`(0, z)`, so :math:`\bar h` is the 2-vector
    :math:`(-z_y, z - z_y)` and the penalty is :math:`|z(x') - z(x)|`.

    Input contract: as :class:`CompSumLoss` — ``(n,)``/``(n, 1)`` binary log-odds
    or ``(n, K)`` logits; ``target`` class indices of shape ``(n,)`` — plus the
    keyword inputs ``X`` (the batch's features, of which ``input`` is
    ``module(X)``) and ``module`` (the network); the estimators pass both.

    Parameters
    ----------
    tau : float, default=1.0
        :math:`\tau \ge 0` of the clean comp-sum loss (1: cross-entropy).
    nu : float, default=1.0
        :math:`\nu \ge 0`, the weight of the smoothness penalty; 0 skips the
        search and gives :class:`CompSumLoss`.
    epsilon : float, default=0.1
        :math:`\gamma \ge 0`, the radius of the ball, in the units of ``X`` as the
        network sees it: standardise the features first (e.g. a ``Pipeline`` with
        ``StandardScaler``) so that 0.1 means a tenth of a standard deviation.
        0 gives :class:`CompSumLoss`.
    steps : int, default=10
        PGD steps (``0``: the random start only).
    norm : {"inf", 2}, default="inf"
        The attack norm :math:`p` (:math:`\ell_\infty` as in the paper's image
        experiments, or :math:`\ell_2`).
    perturbable : None, array-like of bool or of int, default=None
        The feature columns the search may move: ``None`` for all, a boolean mask
        with one entry per column, or a list of column indices. Exclude one-hot
        or other categorical columns, for which a small shift is meaningless.
        Needs ``X`` of shape ``(n, n_features)``.
    reduction : {"mean", "sum", "none"}, default="mean"
        See :func:`~sklearn_losses.losses.weighted_reduce`; a sample weight scales
        the sample's whole term (clean loss and penalty).

    Notes
    -----
    Cost per batch: ``steps + 2`` forward passes (the clean one, one per PGD
    step, one on the perturbed batch) and ``steps + 1`` backward passes, so
    about ``(steps + 2) / 2`` times the cost of :class:`CompSumLoss`. The
    validation loss of early stopping runs the search too (under
    :func:`torch.enable_grad`, even when called under :func:`torch.no_grad`).

    The search runs the network in eval mode (no dropout, no batch-norm
    statistics updates, as in TRADES) and restores every submodule's
    ``training`` flag afterwards; it differentiates with respect to
    :math:`x'` only (:func:`torch.autograd.grad`), so it leaves the parameters'
    ``.grad`` untouched. The random start draws from torch's global generator,
    which the estimators seed.

    The definition follows the paper's structure (the clean comp-sum loss plus
    an adversarial smoothness term on score differences, like TRADES with an
    :math:`\ell_2` distance in place of the KL divergence). The paper's exact
    details could not be verified: whether scores are scaled by a margin
    :math:`\rho` inside :math:`\Phi_\tau`, and its defaults for :math:`\nu` and
    :math:`\gamma`. No :math:`\rho` scaling, :math:`\nu = 1`, :math:`\gamma = 0.1`
    in standardised units, :math:`p = \infty` and 10 steps of size
    :math:`\gamma/4` are this library's choices. The paper also adds a norm
    regulariser on the hypothesis; use the estimator's ``weight_decay``.

    References
    ----------
    .. [1] A. Mao, M. Mohri, Y. Zhong, "Cross-Entropy Loss Functions: Theoretical
       Analysis and Applications", ICML 2023. https://arxiv.org/abs/2304.07288
    .. [2] H. Zhang et al., "Theoretically Principled Trade-off between Robustness
       and Accuracy", ICML 2019 (TRADES). https://arxiv.org/abs/1901.08573

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses.comp_sum import AdvCompSumLoss, CompSumLoss
    >>> _ = torch.manual_seed(0)
    >>> module = torch.nn.Linear(2, 3)
    >>> X, y = torch.randn(4, 2), torch.tensor([0, 1, 2, 0])
    >>> loss = AdvCompSumLoss(epsilon=0.1, norm=2)
    >>> value = loss(module(X), y, X=X, module=module)
    >>> bool(value > CompSumLoss()(module(X), y))
    True
    """

    name = "adv_comp_sum"
    key_parameter = "tau"
    aliases = ("adversarial_comp_sum",)
    requires = ("X", "module")

    def __init__(
        self,
        *,
        tau=1.0,
        nu=1.0,
        epsilon=0.1,
        steps=10,
        norm="inf",
        perturbable=None,
        reduction="mean",
    ):
        super().__init__(reduction=reduction)
        self.tau = _check_nonnegative("tau", tau)
        self.nu = _check_nonnegative("nu", nu)
        self.epsilon = _check_nonnegative("epsilon", epsilon)
        if not isinstance(steps, numbers.Integral) or isinstance(steps, bool):
            raise ValueError(f"steps must be an int >= 0, got {steps!r}.")
        if steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}.")
        self.steps = steps
        self._p = _check_norm(norm)
        self.norm = norm
        self._perturbable = _check_perturbable(perturbable)
        self.perturbable = perturbable

    @property
    def effective_tau(self):
        """The :math:`\\tau` of the clean comp-sum loss."""
        return float(self.tau)

    def loss_terms(self, input, target, X=None, module=None):
        z, y, binary = split_logits(input, target)
        clean = _comp_sum_terms(z, y, binary, self.effective_tau)
        if self.nu == 0 or self.epsilon == 0:
            return clean
        return clean + self.nu * self._smoothness(z, y, binary, X, module)

    def smoothness_terms(self, input, target, *, X, module):
        """Per-sample PGD estimates of the supremum in the penalty.

        Returns :math:`\\lVert \\bar h(x^*, y) - \\bar h(x, y) \\rVert_2` of shape
        ``(n,)`` at the point :math:`x^*` the search found, differentiable with
        respect to ``input`` and to the module's parameters (through the
        logits at :math:`x^*`).
        """
        z, y, binary = split_logits(input, target)
        return self._smoothness(z, y, binary, X, module)

    # -- the inner maximisation ---------------------------------------------------
    def _smoothness(self, z, y, binary, X, module):
        X = self._check_context(X, module, z)
        # ``input`` may be an inference tensor (validation): clone it out.
        reference = z.detach().clone()
        x_adv = self._search(X, y, binary, module, reference)
        z_adv = _module_logits(module, x_adv, z.shape)
        # Both ends carry gradient (Danskin's theorem at the maximiser x*).
        return _gap_change(z_adv, z, y, binary)

    def _check_context(self, X, module, z):
        if X is None or module is None:
            raise ValueError(
                "AdvCompSumLoss needs the batch's features and the network: call it "
                "as loss(input, target, X=X, module=module) with input = module(X)."
            )
        if not isinstance(X, torch.Tensor) or not X.is_floating_point():
            raise ValueError("X must be a floating-point tensor of features.")
        if X.ndim < 2 or X.shape[0] != z.shape[0]:
            raise ValueError(
                f"X must have shape (n_samples, n_features) with {z.shape[0]} rows, "
                f"got {tuple(X.shape)}."
            )
        return X.detach()

    def _mask(self, X):
        """Perturbable columns as a 0/1 tensor broadcasting over rows (None: all)
        and their number (counted on the host: no device sync)."""
        if self._perturbable is None:
            return None, math.prod(X.shape[1:])
        if X.ndim != 2:
            raise ValueError(
                "perturbable needs X of shape (n_samples, n_features); got "
                f"{tuple(X.shape)}."
            )
        kind, values = self._perturbable
        n_features = X.shape[1]
        if kind == "mask":
            if values.shape[0] != n_features:
                raise ValueError(
                    f"perturbable has {values.shape[0]} entries but X has "
                    f"{n_features} features."
                )
            mask = values
        else:
            if values.size and values.max() >= n_features:
                raise ValueError(
                    f"perturbable holds column {values.max()} but X has "
                    f"{n_features} features."
                )
            mask = np.zeros(n_features, dtype=bool)
            mask[values] = True
        return torch.as_tensor(mask, device=X.device).to(X.dtype), int(mask.sum())

    def _random_start(self, x, mask, dim):
        eps = float(self.epsilon)
        if self._p == math.inf:
            delta = torch.rand_like(x).mul_(2.0 * eps).sub_(eps)
            return delta if mask is None else delta * mask
        direction = torch.randn_like(x)
        if mask is not None:
            direction = direction * mask
        if dim == 0:
            return torch.zeros_like(x)
        norm = direction.flatten(1).norm(dim=1)
        tiny = torch.finfo(x.dtype).tiny
        radius = eps * torch.rand_like(norm) ** (1.0 / dim)
        return direction * _rows(radius / norm.clamp_min(tiny), x)

    def _step(self, delta, grad):
        eps = float(self.epsilon)
        alpha = eps / 4.0
        if self._p == math.inf:
            return torch.add(delta, grad.sign(), alpha=alpha).clamp_(-eps, eps)
        tiny = torch.finfo(delta.dtype).tiny
        grad_norm = grad.flatten(1).norm(dim=1)
        delta = delta + alpha * grad / _rows(grad_norm.clamp_min(tiny), grad)
        norm = delta.flatten(1).norm(dim=1)
        scale = (eps / norm.clamp_min(tiny)).clamp(max=1.0)
        return delta * _rows(scale, delta)

    def _search(self, X, y, binary, module, reference):
        """PGD on ``x'`` maximising the change of the score differences from
        those of the ``reference`` logits; returns ``x'``."""
        mask, dim = self._mask(X)
        delta = self._random_start(X, mask, dim)
        if not self.steps:
            return X + delta
        modes = [(m, m.training) for m in module.modules()]
        try:
            module.eval()
            with torch.enable_grad():
                for _ in range(self.steps):
                    delta.requires_grad_(True)
                    out = _module_logits(module, X + delta, reference.shape)
                    objective = _gap_change(out, reference, y, binary).sum()
                    if not objective.requires_grad:
                        break
                    (grad,) = torch.autograd.grad(objective, delta, allow_unused=True)
                    delta = delta.detach()
                    if grad is None:
                        break
                    if mask is not None:
                        grad = grad * mask
                    delta = self._step(delta, grad)
        finally:
            for m, training in modes:
                m.training = training
        return (X + delta).detach()
