"""Candidates of ``compare``: the loss spec grammar and the grids.

A spec names a loss and, optionally, its parameters and grids:
``"focal"``, ``"focal:gamma=1,alpha=0.25"``, ``"focal:gamma=0.5,1,2"`` (a grid),
``"anyloss:f1"`` (a bare value sets the loss's ``key_parameter``) or
``"cross_entropy:class_weight=balanced"`` (an estimator parameter). Each loss
class carries its ``key_parameter`` and ``default_grid``, so a new loss needs no
edit here.
"""

from __future__ import annotations

import difflib
import itertools
import warnings

from sklearn.base import clone

from ..losses import check_loss_task, get_loss, get_loss_class, list_losses

__all__ = [
    "check_combination",
    "combinations",
    "default_grids",
    "parse_candidate",
    "resolve_grids",
    "template",
]


def default_grids(task=None):
    """The grid each loss is searched over unless told otherwise.

    Parameters
    ----------
    task : None or str, default=None
        Only the losses of this task (``None``: every registered loss).

    Returns
    -------
    dict
        ``{loss: {parameter: values}}`` from the losses' ``default_grid``
        class attributes; losses without one are left out (they run with their
        defaults).

    Examples
    --------
    >>> from sklearn_losses.compare import default_grids
    >>> default_grids("regression")["huber"]
    {'delta': [0.5, 1.35]}
    """
    return {
        name: {key: list(values) for key, values in cls.default_grid.items()}
        for name in list_losses(task)
        if (cls := get_loss_class(name)).default_grid
    }


def _estimator_params(estimator_class):
    return set(estimator_class().get_params(deep=False)) - {"loss"}


def _param_key(cls, key, spec, estimator_class):
    """The estimator parameter a spec's ``key`` names: ``loss__<key>`` for a
    parameter of the loss ``cls``, ``<key>`` for one of the estimator."""
    loss_params = cls._param_names()
    if key in loss_params:
        return f"loss__{key}"
    own = _estimator_params(estimator_class)
    if key in own:
        return key
    close = difflib.get_close_matches(key, [*loss_params, *own], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"{key!r} in {spec!r} is neither a parameter of the {cls.name!r} loss "
        f"({', '.join(loss_params)}) nor of {estimator_class.__name__}.{hint}"
    )


def parse_candidate(spec, estimator_class=None):
    """A loss spec -> ``(label, fixed parameters, grid)``.

    Parameters
    ----------
    spec : str or dict
        ``"focal"``, ``"focal:gamma=1"``, ``"focal:gamma=1,2"`` (a grid: the
        values after a ``key=`` continue its list), ``"anyloss:f1"`` (a bare
        value sets the loss's ``key_parameter``), an estimator parameter
        ``"cross_entropy:class_weight=balanced"``, or a dict of estimator
        parameters with an optional ``"label"``.
    estimator_class : type, default=None
        The estimator the candidate trains (``None``: ``LossClassifier``); the
        names that are not the loss's are its parameters.

    Returns
    -------
    label : str
    params : dict
        Estimator parameters: ``loss`` and the fixed ``loss__*`` and others.
    grid : dict
        ``{parameter: values}`` given with several values.

    Examples
    --------
    >>> from sklearn_losses.compare._spec import parse_candidate
    >>> parse_candidate("focal:gamma=1,2,alpha=0.25")
    ('focal:gamma=1,2,alpha=0.25', {'loss': 'focal', 'loss__alpha': 0.25}, \
{'loss__gamma': [1, 2]})
    """
    if estimator_class is None:
        from ..estimators import LossClassifier

        estimator_class = LossClassifier
    if isinstance(spec, dict):
        params = {k: v for k, v in spec.items() if k != "label"}
        params.setdefault("loss", estimator_class().get_params(deep=False)["loss"])
        label = spec.get("label") or str(params["loss"])
        return label, params, {}
    if not isinstance(spec, str):
        raise TypeError(
            f"A loss spec is a string such as 'focal:gamma=1' or a dict of "
            f"{estimator_class.__name__} parameters; got {type(spec).__name__}."
        )
    name, _, args = spec.partition(":")
    cls = get_loss_class(name.strip())  # refuses an unknown name, with suggestions
    values, key = {}, None
    for item in (part.strip() for part in args.split(",")):
        if not item:
            continue
        head, eq, value = item.partition("=")
        if eq:
            key = _param_key(cls, head.strip(), spec, estimator_class)
            if key in values:
                raise ValueError(f"{head.strip()!r} is given twice in {spec!r}.")
            values[key] = [_literal(value.strip())]
        elif key is not None:
            values[key].append(_literal(item))
        else:
            bare = cls.key_parameter
            if bare is None or item in cls._param_names():
                raise ValueError(
                    f"Loss option {item!r} in {spec!r} must look like key=value"
                    + ("" if bare is None else f" (a bare value sets {bare!r})")
                    + "."
                )
            key = f"loss__{bare}"
            values[key] = [_literal(item)]
    fixed = {k: v[0] for k, v in values.items() if len(v) == 1}
    grid = {k: v for k, v in values.items() if len(v) > 1}
    return spec, {"loss": cls.name, **fixed}, grid


def _literal(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def resolve_grids(grid, estimator_class):
    """The ``grid`` argument -> ``None`` (no grids) or ``{loss: {param: values}}``
    replacing the default grids of those losses (checked names)."""
    if grid is None or (isinstance(grid, str) and grid.lower() == "none"):
        return None
    if isinstance(grid, str) and grid.lower() == "default":
        return {}
    if isinstance(grid, dict):
        grids = {}
        for name, params in grid.items():
            cls = get_loss_class(name)
            for key in params or {}:
                _param_key(cls, key, f"grid[{name!r}]", estimator_class)
            grids[cls.name] = dict(params or {})
        return grids
    raise ValueError(
        "grid must be 'default', None (or 'none') or a dict {loss: {param: values}}; "
        f"got {grid!r}."
    )


def combinations(params, spec_grid, grids):
    """Every parameter set of one candidate: its fixed parameters times its grid.

    Parameters
    ----------
    params : dict
        The candidate's fixed estimator parameters (``loss`` among them).
    spec_grid : dict
        The grid its spec gives, ``{parameter: values}``.
    grids : None or dict
        From :func:`resolve_grids`: ``None`` for no default grid; else
        ``{loss: {param: values}}`` replacing the ``default_grid`` of those
        losses. A parameter the candidate fixes or its spec grids is not
        taken from these grids.

    Returns
    -------
    combos : list of dict
    keys : list of str
        The parameters that vary.
    """
    loss = params["loss"]
    grid = {}
    if grids is not None and isinstance(loss, str):
        cls = get_loss_class(loss)
        own = cls._param_names()
        loss_grid = grids.get(cls.name, cls.default_grid)
        for key, values in loss_grid.items():
            if isinstance(values, str) or not hasattr(values, "__iter__"):
                values = [values]
            grid[f"loss__{key}" if key in own else key] = list(values)
    grid = {k: v for k, v in grid.items() if k not in params}
    grid.update(spec_grid)
    keys = list(grid)
    combos = [
        {**params, **dict(zip(keys, values))}
        for values in itertools.product(*grid.values())
    ]
    return combos, keys


def check_combination(template, params, task):
    """Refuse a bad parameter before any fit (names, values the loss checks,
    a loss of another task)."""
    loss = params["loss"]
    loss_params = {k[6:]: v for k, v in params.items() if k.startswith("loss__")}
    get_loss(loss, **loss_params)
    check_loss_task(loss, task)
    clone(template).set_params(**params)


def template(estimator, estimator_class):
    """The estimator the candidates share: ``estimator`` without its loss.

    Each candidate sets its own loss, so ``loss`` and ``loss__*`` of the
    template are left out (with a warning when they would have changed
    anything); its other parameters are shared. ``None`` gives
    ``estimator_class()``.
    """
    if estimator is None:
        return estimator_class()
    if not isinstance(estimator, estimator_class):
        raise TypeError(
            f"estimator must be a {estimator_class.__name__} (the template of the "
            f"networks) for this target; got {type(estimator).__name__}."
        )
    params = estimator.get_params(deep=False)
    dropped = {k: v for k, v in params.items() if k == "loss" or k.startswith("loss__")}
    default = estimator_class().get_params(deep=False)["loss"]
    if set(dropped) - {"loss"} or dropped.get("loss", default) != default:
        shown = ", ".join(f"{k}={v!r}" for k, v in dropped.items())
        warnings.warn(
            f"The estimator's {shown} is not shared: each candidate sets its own "
            "loss (ask for it in losses, e.g. 'focal:gamma=3').",
            UserWarning,
            stacklevel=4,
        )
    kept = {k: clone(v, safe=False) for k, v in params.items() if k not in dropped}
    return type(estimator)(**kept)
