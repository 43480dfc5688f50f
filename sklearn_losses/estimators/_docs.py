"""Docstring text of the parameters every neural estimator shares, written once.

An estimator's docstring names a block as ``%(block)s`` on a line of its own
(indented as its parameter list); :func:`fill_doc` puts the text there.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

__all__ = ["fill_doc"]

_BLOCKS = {
    "network": """\
module : None, str, torch.nn.Module class, factory or instance, default=None
    ``None`` builds the estimator's default network (``"mlp"`` unless said
    otherwise above). ``"mlp"``: :class:`~sklearn_losses.modules.MLP`.
    ``"tabular"``: :class:`~sklearn_losses.modules.TabularMLP`, periodic
    embeddings of the features and ``module__n_ensemble`` members trained in
    one pass (the loss is applied to each member and averaged; predictions are
    the members' mean). Named networks take ``hidden_layer_sizes``,
    ``activation``, ``dropout`` and their own parameters as ``module__*``. A
    class or factory is called with ``module__*`` parameters, plus
    ``n_features_in`` and ``n_outputs`` (sized from the data) when its
    signature takes them or ``**kwargs`` and no ``module__*`` sets them. An
    instance is copied at each fit.
hidden_layer_sizes : tuple of int, default=(64, 64)
    Hidden widths of a named network (empty: a linear model).
activation : str, default="relu"
    Activation of a named network (``"relu"``, ``"gelu"``, ``"tanh"``, ...).
dropout : float, default=0.0
    Dropout of a named network.
optimizer : str or torch.optim.Optimizer subclass, default="adam"
    ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``, ``"adagrad"`` or a class;
    further arguments as ``optimizer__<name>``.
lr : float, default=1e-3
    Learning rate.
weight_decay : float, default=0.0
    Weight decay passed to the optimizer.""",
    "epochs": """\
max_epochs : int, default=100
    Number of passes over the training data (fewer with early stopping).
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (sample weights and
    other per-sample inputs follow their rows; with ``groups``, whole groups
    and ``validation_fraction`` of the groups), stop when the monitored value
    has not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore
    the best weights. The monitored
    value is the validation loss, or the validation score when
    ``validation_scoring`` is set or the loss is not a real objective.
validation_fraction : float, default=0.1
    Fraction held out for early stopping.
n_iter_no_change : int, default=10
    Patience of early stopping, in epochs.
tol : float, default=1e-4
    Minimum absolute improvement that resets the patience.""",
    "reweighting": """\
reweighting : None, str or LossReweighting, default=None
    Dynamic loss-based reweighting of every batch (Sow et al., ICLR 2025):
    ``"linupper"``, ``"quadratic"``, ``"extremes"`` or ``"upper"``, or a
    :class:`~sklearn_losses.sampling.LossReweighting`; its parameters
    (``temperature``, ``warmup``) as ``reweighting__<name>``. The batch's
    per-sample losses, already computed, give multipliers of the sample
    weights (no extra forward pass). Needs a per-sample loss.""",
    "runtime": """\
callbacks : None or list, default=None
    Extra skorch callbacks, as instances or ``(name, callback)`` pairs; their
    parameters are reachable as ``callbacks__<name>__<param>``.
warm_start : bool, default=False
    Continue training the fitted network on the next ``fit``.
device : str, default="cpu"
    Torch device to train and predict on, e.g. ``"cuda"``.
random_state : None, int or RandomState, default=None
    Seeds weight initialisation, shuffling, the validation split and dropout.
    With an int, two fits give identical predictions. The global torch RNG is
    left as it was.
verbose : int, default=0
    0: silent; 1: a progress bar over epochs (its last line stays); 2: a table
    per epoch.
**kwargs
    Prefixed parameters (the class's ``prefixes``): ``loss__*`` (and
    ``loss__<param>__<name>`` for an object the loss takes), ``module__*``,
    ``optimizer__*``, ``callbacks__*``, ``reweighting__*`` and
    ``batch_sampler__*`` (a plan's parameters, e.g. ``batch_sampler__m``).
    A prefixed parameter applies to whatever loss or plan is set later too,
    until it is set to None.""",
    "fitted": """\
n_features_in_ : int
    Number of features seen in ``fit``.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Column names, when ``X`` was a DataFrame with string column names.
loss_ : BaseLoss
    The loss used in training.
net_ : skorch.NeuralNet
    The trained skorch engine (``net_.module_`` is the network).
history_ : skorch.History
    One row per epoch: ``epoch``, ``train_loss``, ``dur`` and, with early
    stopping, ``valid_loss`` and ``valid_score``.
n_iter_ : int
    Number of epochs run.""",
}


def _with_defaults(text, cls):
    """``text`` with each ``name : type, default=value`` line showing the
    default of ``cls.__init__`` (a class may change a shared default)."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover - every estimator has one
        return text

    def shown(match):
        param = params.get(match.group(1))
        if param is None or param.default is inspect.Parameter.empty:
            return match.group(0)
        value = param.default
        try:
            if ast.literal_eval(match.group(3)) == value:
                return match.group(0)  # as written (1e-3, not 0.001)
        except (ValueError, SyntaxError):
            pass
        value = f'"{value}"' if isinstance(value, str) else repr(value)
        return f"{match.group(1)} : {match.group(2)}, default={value}"

    return re.sub(r"(?m)^(\w+) : (.*), default=(.*)$", shown, text)


def fill_doc(cls):
    """Class decorator: replace each ``%(block)s`` line of the docstring, with
    the class's own defaults in the ``default=`` of each parameter.

    Examples
    --------
    >>> @fill_doc
    ... class Demo:
    ...     '''Demo.
    ...
    ...     Parameters
    ...     ----------
    ...     %(epochs)s
    ...     '''
    >>> "n_iter_no_change : int" in Demo.__doc__
    True
    """
    doc = cls.__doc__
    for name, text in _BLOCKS.items():
        marker = f"%({name})s"
        while marker in doc:
            start = doc.index(marker)
            indent = doc[doc.rindex("\n", 0, start) + 1 : start]
            block = textwrap.indent(_with_defaults(text, cls), indent)[len(indent) :]
            doc = doc[:start] + block + doc[start + len(marker) :]
    cls.__doc__ = doc
    return cls
