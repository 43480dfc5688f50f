"""Search grids with different parameters for each loss."""

from __future__ import annotations

import difflib

from ..losses import get_loss_class
from ._base import BaseLossEstimator
from ._classifier import LossClassifier

__all__ = ["loss_param_grid"]


def loss_param_grid(losses, prefix="", estimator=None):
    """A search grid with different parameters for each loss.

    ``GridSearchCV`` takes the product of all listed values, so a single grid
    ``{"loss": ["cross_entropy", "focal"], "loss__gamma": [1, 2]}`` would try
    each ``gamma`` with cross-entropy too (which ignores it, with a warning).
    This builds the list-of-grids form, one grid per loss, and checks every name.
    The result also serves ``RandomizedSearchCV``.

    Parameters
    ----------
    losses : dict
        ``{loss_name: {param: values}}``; an empty dict or None means defaults.
        A name the loss takes is a loss parameter (``loss__<param>`` in the
        grid); any other must be a parameter of ``estimator``, such as ``lr`` or
        ``module__<name>``, and is set with that loss only. ``values`` is a
        list (or another iterable) of values, a scipy distribution (anything
        with ``rvs``, for ``RandomizedSearchCV``) or a single value (a str, dict
        or non-iterable). A tuple is a list of values: write
        ``[(64, 64)]`` for one ``hidden_layer_sizes``.
    prefix : str, default=""
        Step prefix inside a Pipeline, e.g. ``"lossclassifier__"``.
    estimator : estimator class or instance, default=None
        The estimator the grid is for, whose parameters may be listed per loss:
        :class:`~sklearn_losses.LossClassifier` (the default, None) or another
        estimator of the package, a subclass with parameters of its own included.

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        For an unknown loss, or a parameter neither the loss nor the estimator
        takes (the message lists both).

    Examples
    --------
    >>> from scipy.stats import uniform
    >>> from sklearn_losses import loss_param_grid
    >>> loss_param_grid({"cross_entropy": {}, "focal": {"gamma": [1.0, 2.0]}})
    [{'loss': ['cross_entropy']}, {'loss': ['focal'], 'loss__gamma': [1.0, 2.0]}]
    >>> loss_param_grid({"focal": {"gamma": [1.0], "lr": [1e-2]}}, prefix="clf__")
    [{'clf__loss': ['focal'], 'clf__loss__gamma': [1.0], 'clf__lr': [0.01]}]
    >>> grid = loss_param_grid({"focal": {"gamma": uniform(0, 3)}})
    >>> grid[0]["loss__gamma"].dist.name  # the distribution, for RandomizedSearchCV
    'uniform'
    """
    if not isinstance(losses, dict):
        raise TypeError(
            "losses must be a dict {loss_name: {param: values}}; got "
            f"{type(losses).__name__}."
        )
    est_name, est_params, est_prefixes = _estimator_params(estimator)
    grid = []
    for name, params in losses.items():
        cls = get_loss_class(name)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise TypeError(
                f"losses[{name!r}] must be a dict {{param: values}} or None; got "
                f"{type(params).__name__}."
            )
        loss_params = cls._param_names()
        entry = {f"{prefix}loss": [name]}
        for key, values in params.items():
            head, _, rest = str(key).partition("__")
            if key in loss_params:
                entry[f"{prefix}loss__{key}"] = _grid_values(values)
                continue
            if head == "loss":
                raise ValueError(
                    f"losses[{name!r}] sets {key!r}: the key {name!r} sets the loss; "
                    "list its parameters without the loss__ prefix."
                )
            if key in est_params or (head in est_prefixes and rest):
                entry[f"{prefix}{key}"] = _grid_values(values)
                continue
            close = difflib.get_close_matches(
                str(key), [*loss_params, *est_params], n=1
            )
            hint = f" Did you mean {close[0]!r}?" if close else ""
            label = cls.name or cls.__name__
            raise ValueError(
                f"losses[{name!r}] lists {key!r}, which is neither a parameter of "
                f"loss {label!r} ({', '.join(loss_params) or 'none'}) nor of "
                f"{est_name} ({', '.join(est_params)}, or "
                f"{', '.join(p + '__<name>' for p in est_prefixes)}).{hint}"
            )
        grid.append(entry)
    return grid


def _estimator_params(estimator):
    """(name, sorted parameter names, ``prefix__*`` heads) of ``estimator``."""
    if estimator is None:
        estimator = LossClassifier
    cls = estimator if isinstance(estimator, type) else type(estimator)
    if not issubclass(cls, BaseLossEstimator):
        raise TypeError(
            "estimator must be None or a LossClassifier-like estimator (a class or "
            f"instance of a BaseLossEstimator subclass); got {estimator!r}."
        )
    params = sorted(p for p in cls._get_param_names() if p != "loss")
    return cls.__name__, params, tuple(p for p in cls.prefixes if p != "loss")


def _grid_values(values):
    """Values of one grid entry: a distribution as it is, a single value as a list."""
    if hasattr(values, "rvs"):
        return values
    if isinstance(values, str | dict) or not hasattr(values, "__iter__"):
        return [values]
    return list(values)
