"""The loss contract: :class:`BaseLoss` and the one shared reducer."""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from typing import ClassVar

import torch
from torch import nn

__all__ = [
    "BaseLoss",
    "BatchLoss",
    "weighted_reduce",
    "trusted_targets",
    "setup_with",
    "TASKS",
]

_TRUSTED_TARGETS = contextvars.ContextVar("trusted_targets", default=False)


@contextlib.contextmanager
def trusted_targets():
    """Skip the per-batch checks of the targets, logits and sample weights.

    Outside this context a loss checks that the targets are valid class indices,
    that the logits hold no NaN and that the sample weights are finite and
    non-negative. The estimators validate their inputs once and train inside
    this context, which saves reductions and device syncs per batch; direct
    callers keep the checks.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import CrossEntropyLoss, trusted_targets
    >>> with trusted_targets():
    ...     value = CrossEntropyLoss()(torch.zeros(2), torch.tensor([0, 1]))
    """
    token = _TRUSTED_TARGETS.set(True)
    try:
        yield
    finally:
        _TRUSTED_TARGETS.reset(token)


#: Tasks a loss can declare in :attr:`BaseLoss.tasks`.
TASKS = (
    "binary",
    "multiclass",
    "multilabel",
    "ranking",
    "embedding",
    "regression",
    "distillation",
)

_REDUCTIONS = ("mean", "sum", "none")


def setup_with(loss, **kwargs):
    """Call ``loss.setup`` with the keyword arguments its signature takes.

    Estimators offer what they know of the training data (``n_samples``,
    ``n_classes``, the encoded ``target``...); a loss's ``setup`` declares
    what it uses, and one with ``**kwargs`` gets everything.

    Examples
    --------
    >>> from sklearn_losses.losses import CrossEntropyLoss
    >>> setup_with(CrossEntropyLoss(), n_samples=4, n_classes=2, target=None)
    """
    params = inspect.signature(loss.setup).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    loss.setup(**kwargs)


def weighted_reduce(terms, sample_weight=None, reduction="mean"):
    """Reduce per-sample loss terms, optionally weighted.

    This is the single reducer every per-sample loss of the package uses.

    .. math::

        \\text{mean: } \\frac{\\sum_i w_i \\ell_i}{\\sum_i w_i}, \\qquad
        \\text{sum: } \\sum_i w_i \\ell_i, \\qquad
        \\text{none: } (w_i \\ell_i)_i

    With ``sample_weight=None`` every :math:`w_i = 1`. A batch whose weights sum
    to zero, or an empty batch, has a weighted mean of zero (it carries no
    training signal), not NaN.

    Parameters
    ----------
    terms : torch.Tensor of shape (n_samples,)
        Unreduced per-sample losses.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Non-negative weights.
    reduction : {"mean", "sum", "none"}, default="mean"
        How to reduce.

    Returns
    -------
    torch.Tensor
        A scalar, or the weighted terms for ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> weighted_reduce(torch.tensor([1.0, 3.0]), torch.tensor([3.0, 1.0]))
    tensor(1.5000)
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}.")
    if sample_weight is None:
        if reduction == "mean":
            # An empty batch carries no training signal: 0, as zero weights.
            return terms.mean() if terms.numel() else terms.sum()
        if reduction == "sum":
            return terms.sum()
        return terms
    check_weights(sample_weight)
    if sample_weight.shape != terms.shape:
        raise ValueError(
            f"sample_weight must have shape {tuple(terms.shape)} (one weight per "
            f"sample), got {tuple(sample_weight.shape)}."
        )
    weighted = terms * sample_weight.to(terms.dtype)
    if reduction == "mean":
        total = sample_weight.sum().to(terms.dtype)
        return weighted.sum() / total.clamp_min(torch.finfo(terms.dtype).tiny)
    if reduction == "sum":
        return weighted.sum()
    return weighted


def check_weights(sample_weight):
    """Raise unless ``sample_weight`` is a tensor of finite weights ``>= 0``.

    The values are checked outside :func:`trusted_targets` only.
    """
    if not isinstance(sample_weight, torch.Tensor):
        raise TypeError(
            "sample_weight must be a torch.Tensor of shape (n_samples,) or None; "
            f"got {type(sample_weight).__name__}."
        )
    if _TRUSTED_TARGETS.get() or not sample_weight.numel():
        return
    if not bool((torch.isfinite(sample_weight) & (sample_weight >= 0)).all()):
        raise ValueError("sample_weight must be finite and >= 0 (no NaN).")


class BaseLoss(nn.Module):
    """Base class of every loss in the package.

    A loss is a plain :class:`torch.nn.Module` usable in any PyTorch loop::

        loss = FocalLoss(gamma=2.0)
        value = loss(logits, target, sample_weight=w)

    Subclasses declare, as class attributes,

    - ``name``: the registry name (``loss="focal"`` in an estimator);
    - ``aliases``: other registry names;
    - ``tasks``: the tasks the loss supports (a subset of :data:`TASKS`);
    - ``requires``: names of the extra per-sample inputs ``forward`` needs beyond
      the input and target (for example ``("index",)``); an estimator passes
      exactly these as keyword arguments;
    - ``decomposable``: whether the loss is a (weighted) mean of per-sample terms.
      Decomposable losses implement :meth:`loss_terms`; the others override
      :meth:`forward` and document what a sample weight means for them;
    - ``binary_logits``: how many logits the loss expects per sample on a binary
      task (1: one logit, the log-odds of the positive class; 2: two logits);
    - ``monitor``: what early stopping should watch, ``"loss"`` for a real
      objective or ``"score"`` when the loss value is not comparable across epochs;
    - ``task_hint``: a sentence added to the error when the loss is used for a
      task it does not support (say why);
    - ``exact_gradient``: False for losses whose backward pass delivers a
      designed (e.g. sampled) gradient rather than the derivative of the value;
    - ``equivalences``: identities the paper states, as
      ``(params, other_name, other_params)`` triples meaning that
      ``cls(**params)`` and ``get_loss(other_name, **other_params)`` give the
      same per-sample terms on every input (e.g. focal with ``gamma=0`` is
      cross-entropy); the test suite checks each one on random inputs;
    - ``key_parameter``: the parameter a bare value sets in a ``compare`` loss
      spec (``"focal:2"`` is ``"focal:gamma=2"``), or ``None``;
    - ``default_grid``: the small grid ``compare`` searches by default,
      ``{parameter: values}`` (``{}``: the defaults only);
    - ``prediction_link``: how a regressor maps the network's outputs to
      predictions: ``None`` (the outputs are the predictions) or
      ``"sigmoid"`` (the outputs are logits of targets in ``[0, 1]``, which
      the estimator does not standardise; predictions are probabilities);
    - ``image``: True for a loss that compares images: input and target of
      the same shape ``(n, H, W)`` or ``(n, C, H, W)`` (SSIM, MS-SSIM), not
      applicable to table targets.

    Besides per-sample arrays (``"index"``, a user's ``fit`` input), ``requires``
    may name what the training engine provides: ``"X"`` (the batch's features),
    ``"module"`` (the network, to re-run on perturbed inputs) and ``"epoch"``.

    Every constructor argument is stored under its own name, so
    :meth:`get_params` can rebuild the loss and estimators can ``clone`` it.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        How per-sample terms are reduced (see :func:`weighted_reduce`).
    """

    name: ClassVar[str | None] = None
    aliases: ClassVar[tuple[str, ...]] = ()
    tasks: ClassVar[frozenset[str]] = frozenset()
    requires: ClassVar[tuple[str, ...]] = ()
    decomposable: ClassVar[bool] = True
    binary_logits: ClassVar[int] = 1
    monitor: ClassVar[str] = "loss"
    task_hint: ClassVar[str] = ""
    exact_gradient: ClassVar[bool] = True
    equivalences: ClassVar[tuple[tuple[dict, str, dict], ...]] = ()
    key_parameter: ClassVar[str | None] = None
    default_grid: ClassVar[dict[str, list]] = {}
    prediction_link: ClassVar[str | None] = None
    image: ClassVar[bool] = False

    def __init__(self, *, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {_REDUCTIONS}, got {reduction!r}."
            )
        self.reduction = reduction

    # -- parameters -----------------------------------------------------------
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        )

    def get_params(self, deep=True):
        """Return the constructor parameters of this loss as a dict.

        ``deep`` is accepted for scikit-learn's ``clone`` and has no effect.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def extra_repr(self):
        return ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())

    # -- computation ----------------------------------------------------------
    def loss_terms(self, input, target, **context):
        """Per-sample loss terms of shape ``(n_samples,)`` (decomposable losses)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement loss_terms or override forward."
        )

    def setup(self, *, n_samples, n_classes):
        """Prepare state sized from the data; estimators call it at ``fit``.

        Stateful losses (a per-sample buffer indexed by the row ``index``, say)
        allocate it here, with :meth:`~torch.nn.Module.register_buffer` so that it
        follows the device. The default does nothing.
        """

    def check_context(self, context):
        """Validate the extra per-sample inputs of a whole training set, once.

        ``context`` maps the names of :attr:`requires` given by the user (for
        example ``"likelihood"``) to tensors with one row per sample.
        Estimators call it at ``fit`` before training inside
        :func:`trusted_targets`, where the per-batch checks of these inputs are
        skipped; a loss with value constraints on them (a range, say) checks
        them here and in its per-batch path outside that context. The default
        does nothing.
        """

    def validation_scorer(self, task):
        """The scorer early stopping should monitor for this loss, or None.

        Losses with ``monitor = "score"`` return the metric they stand for; the
        estimator uses it when the user sets no ``validation_scoring``. The
        scorer sees labels encoded as ``0..K-1`` (class 1 is the positive).
        """
        return None

    def forward(self, input, target, *, sample_weight=None, **context):
        """Compute the loss: :meth:`loss_terms` reduced by :func:`weighted_reduce`.

        Parameters
        ----------
        input : torch.Tensor
            Model output (logits), see the loss's input contract.
        target : torch.Tensor
            Targets.
        sample_weight : torch.Tensor of shape (n_samples,), default=None
            Non-negative per-sample weights.
        **context
            The extra inputs named in :attr:`requires`.

        Returns
        -------
        torch.Tensor
            A scalar (or per-sample terms with ``reduction="none"``).
        """
        terms = self.loss_terms(input, target, **context)
        return weighted_reduce(terms, sample_weight, self.reduction)


class BatchLoss(BaseLoss):
    """Base class of batch-level (non-decomposable) losses.

    Such a loss is a function of the whole batch, not a mean of per-sample terms,
    so it has no ``reduction``; it overrides :meth:`forward` and documents what a
    sample weight means for it. Estimators draw stratified batches for it by
    default, and monitor a score rather than its value for early stopping.
    """

    decomposable = False
    monitor = "score"

    def __init__(self):
        nn.Module.__init__(self)


def split_logits(input, target):
    """Normalise classification input to binary ``(n,)`` or multiclass ``(n, K)``.

    Returns ``(logits, target, is_binary)``. One logit per sample (shape ``(n,)``
    or ``(n, 1)``) is the log-odds of class 1; ``(n, K)`` with ``K >= 2`` are the
    logits of ``K`` classes. ``target`` holds class indices (``{0, 1}`` for one
    logit) of any integer dtype (returned as int64); anything else raises
    ``TypeError`` or ``ValueError``, as do NaN logits.

    Inside :func:`trusted_targets` the caller vouches that the int64 class
    indices are in range: for floating-point logits of one of the three shapes
    and one index per row, only the layout is read.
    """
    if (
        _TRUSTED_TARGETS.get()
        and isinstance(input, torch.Tensor)
        and isinstance(target, torch.Tensor)
        and input.is_floating_point()
        and target.dtype == torch.int64
        and target.ndim == 1
        and target.shape[0] == input.shape[0]
    ):
        if input.ndim == 1:
            return input, target, True
        if input.ndim == 2:
            if input.shape[1] == 1:
                return input.reshape(-1), target, True
            return input, target, False
    if not (isinstance(input, torch.Tensor) and input.is_floating_point()):
        kind = getattr(input, "dtype", type(input).__name__)
        raise TypeError(f"input must be a floating-point torch.Tensor; got {kind}.")
    if not isinstance(target, torch.Tensor):
        raise TypeError(
            "target must be a torch.Tensor of class indices; got "
            f"{type(target).__name__}."
        )
    if target.dtype == torch.bool or target.is_floating_point() or target.is_complex():
        raise TypeError(
            f"target must hold integer class indices; got dtype {target.dtype}."
        )
    if input.ndim == 2 and input.shape[1] == 1:
        input = input.reshape(-1)
    if input.ndim == 1:
        binary = True
    elif input.ndim == 2:
        binary = False
    else:
        raise ValueError(
            "input must have shape (n_samples,), (n_samples, 1) or "
            f"(n_samples, n_classes); got {tuple(input.shape)}."
        )
    if target.ndim != 1 or target.shape[0] != input.shape[0]:
        raise ValueError(
            f"target must have shape ({input.shape[0]},) (one label per sample), "
            f"got {tuple(target.shape)}."
        )
    n_classes = 2 if binary else input.shape[1]
    if target.numel() and not _TRUSTED_TARGETS.get():
        low, high = (v.item() for v in torch.aminmax(target))
        if low < 0 or high > n_classes - 1:
            raise ValueError(
                f"target must hold class indices in [0, {n_classes - 1}] for this "
                f"input; got values in [{low}, {high}]."
            )
        # A NaN carries through the maximum: no (n, K) boolean mask.
        if bool(torch.isnan(input.detach().amax())):
            raise ValueError("input (the logits) contains NaN.")
    return input, target.long(), binary
