r"""Weighted sums of losses: ``loss="l1+ms_ssim"`` or a list of (loss, weight).

.. math:: \ell(f, y) = \sum_k w_k\, \ell_k(f, y)

A sum is written as registry names joined by ``"+"`` (every weight 1) or as a
list of ``(loss, weight)`` pairs, the loss a registry name, a loss class or a
loss instance. Each part is a parameter of the sum, named after the part's
registry name as written (``l1``, ``ms_ssim``), whose value is a
:class:`LossTerm` (the part's loss and weight). In an estimator the parts'
parameters are nested parameters of ``loss``:

- ``loss__ms_ssim__win_size=7`` sets a parameter of the part ``ms_ssim``;
- ``loss__ms_ssim__weight=0.5`` sets its weight;
- ``loss__ms_ssim=LossTerm("ms_ssim", 0.5)`` replaces the part.

All of them work in ``set_params`` and in a ``GridSearchCV`` grid. Each
registry spec is its own subclass of :class:`LossSum` (built once, its
signature lists the parts with the spec's terms as defaults), so
``get_params``, ``clone`` and pickling round-trip.
"""

from __future__ import annotations

import copy
import inspect
import keyword

from torch import nn

from .._validation import check_real
from ._base import BaseLoss, setup_with
from ._registry import get_loss, get_loss_class

__all__ = ["LossSum", "LossTerm", "loss_sum_class"]


class LossTerm:
    """One part of a :class:`LossSum`: a loss and its weight.

    Parameters
    ----------
    loss : str, BaseLoss subclass or BaseLoss instance
        The part's loss (a registry name, a class or an instance).
    weight : float, default=1.0
        Its weight in the sum, ``>= 0``.

    Examples
    --------
    >>> from sklearn_losses.losses import LossTerm
    >>> term = LossTerm("ms_ssim", 0.84).set_params(win_size=7, weight=0.5)
    >>> term.loss.win_size, term.weight
    (7, 0.5)
    """

    def __init__(self, loss, weight=1.0):
        _check_part(loss)
        check_real("weight", weight, low=0)
        self.loss = loss
        self.weight = weight

    def get_params(self, deep=True):
        """``{"loss": ..., "weight": ...}`` (``deep`` has no effect)."""
        return {"loss": self.loss, "weight": self.weight}

    def set_params(self, **params):
        """Set ``loss``, ``weight`` or any parameter of the part's loss.

        A loss parameter (``win_size=7``) replaces :attr:`loss` by a new loss
        built with it (:func:`~sklearn_losses.losses.get_loss`), which
        raises ``ValueError`` naming the loss's parameters for a name it
        does not take.
        """
        if "loss" in params:
            loss = params.pop("loss")
            _check_part(loss)
            self.loss = loss
        if "weight" in params:
            self.weight = check_real("weight", params.pop("weight"), low=0)
        if params:
            self.loss = get_loss(self.loss, **params)
        return self

    def __repr__(self):
        return f"LossTerm({self.loss!r}, weight={self.weight!r})"


def _check_part(loss):
    cls = get_loss_class(loss)
    if issubclass(cls, LossSum):
        raise ValueError(
            f"A part of a loss sum cannot itself be a sum; got {cls.name!r}. List "
            "all parts in one sum."
        )
    return cls


def _part_name(loss):
    if isinstance(loss, str):
        return loss.strip().lower()
    return get_loss_class(loss).name


def _terms(spec):
    """``((part name, LossTerm), ...)`` of a sum spec."""
    if isinstance(spec, str):
        names = [part.strip().lower() for part in spec.split("+")]
        if not all(names):
            raise ValueError(
                f"A loss sum joins registry names with '+', as 'l1+ms_ssim'; got "
                f"{spec!r}, which has an empty part."
            )
        items = [LossTerm(name) for name in names]
    elif isinstance(spec, list | tuple) and spec:
        items = []
        for item in spec:
            if isinstance(item, LossTerm):
                items.append(item)
            elif isinstance(item, list | tuple) and len(item) == 2:
                items.append(LossTerm(*item))
            else:
                raise TypeError(
                    "A loss sum given as a list takes (loss, weight) pairs, the "
                    "loss a registered name, a BaseLoss subclass or instance, or "
                    f"LossTerm objects; got the item {item!r}."
                )
    else:
        raise TypeError(
            "A loss sum is a string of registry names joined by '+' or a non-empty "
            f"list of (loss, weight) pairs (the loss a registered name, a BaseLoss "
            f"subclass or instance); got {spec!r}."
        )
    terms = []
    for term in items:
        name = _part_name(term.loss)
        if any(name == seen for seen, _ in terms):
            raise ValueError(
                f"Loss {name!r} appears twice in the sum {spec!r}; give it once, "
                "with the sum of the weights."
            )
        if keyword.iskeyword(name) or hasattr(LossSum, name):
            raise ValueError(
                f"Loss {name!r} cannot name a part of a sum (a reserved word); use "
                "another of its registry names."
            )
        terms.append((name, term))
    if not any(term.weight > 0 for _, term in terms):
        raise ValueError(f"At least one weight of the loss sum {spec!r} must be > 0.")
    return tuple(terms)


_CLASSES: dict[str, type] = {}


def loss_sum_class(spec):
    """The :class:`LossSum` subclass of a sum spec (built once per spec).

    Parameters
    ----------
    spec : str or list
        ``"l1+ms_ssim"`` or ``[("l1", 0.16), ("ms_ssim", 0.84)]``.

    Returns
    -------
    type
        A subclass of :class:`LossSum` whose parameters are the parts.

    Raises
    ------
    ValueError
        For an unknown loss name (the message lists the valid ones), a part
        given twice, a nested sum, weights that are all zero, or parts that
        share no task.
    """
    terms = _terms(spec)
    key = repr(terms)
    cls = _CLASSES.get(key)
    if cls is None:
        cls = _CLASSES[key] = _make_class(terms)
    return cls


def _common(classes, names, attribute, default):
    values = {getattr(c, attribute, default) for c in classes}
    if len(values) > 1:
        detail = ", ".join(
            f"{n!r}: {getattr(c, attribute, default)!r}"
            for n, c in zip(names, classes, strict=True)
        )
        raise ValueError(
            f"The parts of the loss sum {'+'.join(names)!r} disagree on "
            f"{attribute} ({detail}); a sum needs one value."
        )
    return values.pop()


def _make_class(terms):
    names = [name for name, _ in terms]
    classes = [get_loss_class(term.loss) for _, term in terms]
    tasks = frozenset.intersection(*(frozenset(c.tasks) for c in classes))
    if len({c.binary_logits for c in classes}) > 1:
        tasks -= {"binary"}  # one logit for some parts, two for others
    if not tasks:
        detail = "; ".join(
            f"{n!r}: {', '.join(sorted(c.tasks))}"
            for n, c in zip(names, classes, strict=True)
        )
        raise ValueError(
            f"The parts of the loss sum {'+'.join(names)!r} share no task ({detail}"
            "; binary losses count only with the same binary_logits); a sum needs "
            "one task common to all its parts."
        )
    requires = []
    for c in classes:
        requires += [key for key in c.requires if key not in requires]
    attrs = {
        "__module__": __name__,
        "__qualname__": "LossSum",
        "__doc__": LossSum.__doc__,
        "name": "+".join(names),
        "tasks": tasks,
        "requires": tuple(requires),
        "decomposable": all(c.decomposable for c in classes),
        "binary_logits": classes[0].binary_logits,
        "monitor": "score" if any(c.monitor == "score" for c in classes) else "loss",
        "exact_gradient": all(c.exact_gradient for c in classes),
        "image": any(c.image for c in classes),
        "prediction_link": _common(classes, names, "prediction_link", None),
        "_terms": terms,
    }
    if any(hasattr(c, "n_heads") for c in classes):
        attrs["n_heads"] = _common(classes, names, "n_heads", 1)

    def __init__(self, *args, **parts):  # noqa: N807 - the class's constructor
        # LossSum(spec) passes its spec on: it must be this class's
        if len(args) > 1 or (args and loss_sum_class(args[0]) is not type(self)):
            raise TypeError(
                f"{type(self).name!r} takes its parts as keyword arguments only."
            )
        LossSum.__init__(self, **parts)

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=term)
        for name, term in terms
    ]
    __init__.__signature__ = inspect.Signature(parameters)
    attrs["__init__"] = __init__
    return type("LossSum", (LossSum,), attrs)


def _new_sum(terms):
    """Unpickling: an empty instance of the sum class of ``terms``."""
    cls = loss_sum_class([term for _, term in terms])
    return nn.Module.__new__(cls)


class LossSum(BaseLoss):
    r"""A weighted sum of losses, :math:`\sum_k w_k \ell_k(f, y)`.

    Built from a spec: ``LossSum("l1+ms_ssim")`` (registry names joined by
    ``"+"``, every weight 1) or ``LossSum([("l1", 0.16), ("ms_ssim", 0.84)])``
    (``(loss, weight)`` pairs; a loss is a registry name, a class or an
    instance), or through the registry, ``get_loss("l1+ms_ssim")`` and an
    estimator's ``loss="l1+ms_ssim"``. Each spec is its own subclass whose
    parameters are the parts, named by their registry name as written, with
    a :class:`LossTerm` as value; an estimator sets them as nested parameters:
    ``loss__ms_ssim__win_size=7`` (a parameter of a part),
    ``loss__ms_ssim__weight=0.5`` (its weight), in ``set_params`` and in
    search grids.

    The sum declares the tasks common to all parts (parts that share none
    are refused), the union of their ``requires``, and is decomposable when
    every part is; each part gets the sample weights and the extra inputs it
    requires, and reduces its own terms. A part of weight 0 is not computed.

    Parameters
    ----------
    spec : str or list of (loss, weight)
        The parts (only when called as ``LossSum(spec)``).
    **parts : LossTerm
        One per part of the spec, overriding its loss and weight.

    Examples
    --------
    >>> import torch
    >>> from sklearn_losses.losses import LossSum, get_loss
    >>> loss = get_loss([("l1", 0.16), ("ms_ssim", 0.84)])
    >>> sorted(loss.get_params())
    ['l1', 'ms_ssim']
    >>> x = torch.linspace(0, 1, 128).reshape(2, 8, 8)
    >>> loss(x, x).item()
    0.0
    >>> LossSum("l1+mse")(torch.tensor([0.0, 2.0]), torch.tensor([1.0, 1.0])).item()
    2.0
    """

    _terms = None

    def __new__(cls, *args, **parts):
        if cls._terms is None:
            if len(args) != 1:
                raise TypeError(
                    "LossSum takes one spec: 'l1+ms_ssim' or a list of (loss, "
                    "weight) pairs."
                )
            cls = loss_sum_class(args[0])
        return super().__new__(cls)

    def __init__(self, *args, **parts):
        nn.Module.__init__(self)
        defaults = dict(type(self)._terms)
        unknown = [key for key in parts if key not in defaults]
        if unknown:
            raise ValueError(
                f"Loss sum {self.name!r} has no part {unknown[0]!r}; its parts are "
                f"{', '.join(map(repr, defaults))}."
            )
        modules, weights = {}, {}
        for name, default in defaults.items():
            term = parts[name] if name in parts else copy.deepcopy(default)
            if not isinstance(term, LossTerm):
                raise TypeError(
                    f"Part {name!r} of loss sum {self.name!r} must be a LossTerm "
                    f"(loss, weight); got {term!r}. Set its weight with "
                    f"loss__{name}__weight."
                )
            if get_loss_class(term.loss) is not get_loss_class(default.loss):
                raise ValueError(
                    f"Part {name!r} of loss sum {self.name!r} must be a "
                    f"{name!r} loss; got {term.loss!r}."
                )
            setattr(self, name, term)
            modules[name] = get_loss(term.loss)
            weights[name] = float(term.weight)
        if not any(w > 0 for w in weights.values()):
            raise ValueError(
                f"At least one weight of loss sum {self.name!r} must be > 0."
            )
        self.parts = nn.ModuleDict(modules)
        self._weights = weights

    def __reduce__(self):
        return _new_sum, (type(self)._terms,), self.__dict__

    def _active(self):
        return [
            (n, p, self._weights[n]) for n, p in self.parts.items() if self._weights[n]
        ]

    @staticmethod
    def _context(part, context):
        return {k: context[k] for k in part.requires if k in context}

    def setup(self, **kwargs):
        """Call each part's ``setup`` with the arguments it takes."""
        for part in self.parts.values():
            setup_with(part, **kwargs)

    def check_context(self, context):
        """Each part checks the extra inputs it requires."""
        for part in self.parts.values():
            part.check_context(self._context(part, context))

    def validation_scorer(self, task):
        """The first part's scorer for ``task`` (parts that monitor a score)."""
        for part in self.parts.values():
            scorer = part.validation_scorer(task)
            if scorer is not None:
                return scorer
        return None

    def loss_terms(self, input, target, **context):
        """Per-sample terms, :math:`\\sum_k w_k \\ell_{k,i}` (decomposable parts)."""
        if not self.decomposable:
            raise NotImplementedError(
                f"Loss sum {self.name!r} has a batch-level part: no per-sample terms."
            )
        return sum(
            w * part.loss_terms(input, target, **self._context(part, context))
            for _, part, w in self._active()
        )

    def forward(self, input, target, *, sample_weight=None, **context):
        """:math:`\\sum_k w_k` ``part_k(input, target, sample_weight, ...)``."""
        return sum(
            w
            * part(
                input,
                target,
                sample_weight=sample_weight,
                **self._context(part, context),
            )
            for _, part, w in self._active()
        )
