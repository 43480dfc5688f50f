"""Registry of losses: ``loss="focal"`` in an estimator resolves here."""

from __future__ import annotations

import copy
import difflib

from ._base import TASKS, BaseLoss

__all__ = [
    "register_loss",
    "get_loss",
    "get_loss_class",
    "list_losses",
    "check_loss_task",
]

_REGISTRY: dict[str, type[BaseLoss]] = {}
_ALIASES: dict[str, str] = {}


def register_loss(cls):
    """Class decorator: register a :class:`BaseLoss` subclass under its ``name``.

    The class's ``aliases`` are registered too. Registering a second class under
    a name already taken raises ``ValueError``.
    """
    if not (isinstance(cls, type) and issubclass(cls, BaseLoss)):
        raise TypeError("register_loss expects a subclass of BaseLoss.")
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no `name` to register under.")
    for key in (cls.name, *cls.aliases):
        if not isinstance(key, str) or key != key.strip().lower():
            raise ValueError(
                f"Loss names are lower-case without surrounding spaces; {cls.__name__} "
                f"declares {key!r}."
            )
    unknown = set(cls.tasks) - set(TASKS)
    if unknown or not cls.tasks:
        raise ValueError(
            f"{cls.__name__}.tasks must be a non-empty subset of {TASKS}, "
            f"got {sorted(cls.tasks)}."
        )
    for key in (cls.name, *cls.aliases):
        owner = _REGISTRY.get(key) or _REGISTRY.get(_ALIASES.get(key, ""))
        if owner is not None and owner is not cls:
            raise ValueError(f"Loss name {key!r} is already taken by {owner.__name__}.")
    _REGISTRY[cls.name] = cls
    for alias in cls.aliases:
        _ALIASES[alias] = cls.name
    return cls


def _all_names():
    return sorted([*_REGISTRY, *_ALIASES])


def get_loss_class(spec):
    """Resolve a registry name, a loss class or a loss instance to its class.

    A weighted sum of losses, ``"l1+ms_ssim"`` (names joined by ``"+"``) or
    ``[("l1", 0.16), ("ms_ssim", 0.84)]`` (``(loss, weight)`` pairs), resolves
    to its :class:`~sklearn_losses.losses.LossSum` subclass, whose parameters
    are the parts.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names and the closest.
    TypeError
        For anything that is not a name, a :class:`BaseLoss` subclass or instance.
    """
    if (isinstance(spec, str) and "+" in spec) or isinstance(spec, list | tuple):
        from ._sum import loss_sum_class

        return loss_sum_class(spec)
    if isinstance(spec, str):
        key = spec.strip().lower()
        key = _ALIASES.get(key, key)
        if key in _REGISTRY:
            return _REGISTRY[key]
        close = difflib.get_close_matches(key, _all_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"Unknown loss {spec!r}.{hint} Valid names: {', '.join(_all_names())}."
        )
    if isinstance(spec, BaseLoss):
        return type(spec)
    if isinstance(spec, type) and issubclass(spec, BaseLoss):
        return spec
    raise TypeError(
        "loss must be a registered name (str), a BaseLoss subclass or a BaseLoss "
        "instance, or a sum: names joined by '+' or a list of (loss, weight) "
        f"pairs; got {type(spec).__name__}."
    )


def _param_owners():
    """Each parameter name of a registered loss -> the names of the losses taking it."""
    owners = {}
    for name, cls in sorted(_REGISTRY.items()):
        for param in cls._param_names():
            owners.setdefault(param, []).append(name)
    return owners


def _check_params(cls, params, *, others="raise"):
    """Check the names in ``params`` against the loss class ``cls``.

    Parameters
    ----------
    cls : BaseLoss subclass
        The loss the parameters are for.
    params : iterable of str
        Parameter names.
    others : {"raise", "return"}, default="raise"
        What to do with a name ``cls`` does not take but another registered loss
        does: raise ``ValueError``, or return it (an estimator's ``loss__*``
        parameters may be meant for another loss of a search).

    Returns
    -------
    dict
        ``{name: [registered losses taking it]}`` for the names returned by
        ``others="return"``; empty with ``others="raise"``.

    Raises
    ------
    ValueError
        For a name that neither ``cls`` nor (with ``others="return"``) any
        registered loss takes. The message lists the valid parameters of ``cls``
        and the closest name.
    """
    valid = cls._param_names()
    unknown = [key for key in params if key not in valid]
    if not unknown:
        return {}
    owners = _param_owners()
    label = cls.name or cls.__name__
    foreign = {}
    for key in unknown:
        if others == "return" and key in owners:
            foreign[key] = owners[key]
            continue
        close = difflib.get_close_matches(key, valid, n=1)
        if close:
            hint = f" Did you mean {close[0]!r}?"
        elif key in owners:
            hint = f" ({key!r} is a parameter of {_quoted(owners[key])}.)"
        elif close := difflib.get_close_matches(key, list(owners), n=1):
            hint = (
                f" Did you mean {close[0]!r} (a parameter of "
                f"{_quoted(owners[close[0]])})?"
            )
        else:
            hint = ""
        nowhere = ", nor has any registered loss" if others == "return" else ""
        raise ValueError(
            f"Loss {label!r} has no parameter {key!r}{nowhere}.{hint} Valid "
            f"parameters of {label!r}: {', '.join(valid) or 'none'}."
        )
    return foreign


def _quoted(names):
    return ", ".join(map(repr, names))


def get_loss(spec, **params):
    """Build a fresh loss from a name, a class or an instance.

    Parameters
    ----------
    spec : str, BaseLoss subclass, BaseLoss instance or list
        ``"focal"``, ``FocalLoss`` or ``FocalLoss(gamma=1.0)``. An instance is
        never modified nor shared: its parameters are read and a new loss is built.
        A sum of losses: ``"l1+ms_ssim"`` or ``[("l1", 0.16), ("ms_ssim", 0.84)]``
        (see :class:`~sklearn_losses.losses.LossSum`).
    **params
        Constructor parameters; they override those of an instance.

    Returns
    -------
    BaseLoss

    Examples
    --------
    >>> from sklearn_losses.losses import get_loss
    >>> get_loss("focal", gamma=1.0)
    FocalLoss(alpha=None, gamma=1.0, reduction='mean')
    """
    cls = get_loss_class(spec)
    _check_params(cls, params)
    if isinstance(spec, BaseLoss):
        if not params:
            return copy.deepcopy(spec)
        params = {**spec.get_params(), **params}
    return cls(**params)


def check_loss_task(loss, task):
    """Raise ``ValueError`` if ``loss`` does not support ``task``."""
    cls = get_loss_class(loss)
    if task not in cls.tasks:
        fitting = ", ".join(list_losses(task)) or "none"
        hint = f"{cls.task_hint} " if cls.task_hint else ""
        raise ValueError(
            f"Loss {cls.name or cls.__name__!r} supports {sorted(cls.tasks)} targets, "
            f"but this target is {task!r}. {hint}Losses for {task!r}: {fitting}."
        )


def list_losses(task=None):
    """Names of the registered losses, optionally only those supporting ``task``.

    Examples
    --------
    >>> from sklearn_losses.losses import list_losses
    >>> "focal" in list_losses("binary")
    True
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}.")
    return sorted(
        name for name, cls in _REGISTRY.items() if task is None or task in cls.tasks
    )
