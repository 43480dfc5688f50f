"""What every neural estimator of the package shares: one fit template.

:class:`BaseLossEstimator` owns the sklearn surface (parameters declared once
with their constraints, ``prefix__*`` parameters, validation, seeding), the
fit template and the skorch engine
:class:`~sklearn_losses.estimators._engine.TensorNet` underneath. A task's
estimator (classifier, regressor, ...) overrides a few hooks of :meth:`fit`
and decodes outputs; it never copies ``fit``.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import Callback, EarlyStopping, PrintLog

from .._validation import (
    Constraint,
    boolean,
    check_device,
    check_numeric_columns,
    check_random_state_param,
    integer,
    is_int,
    one_of,
    real,
    validate_params,
)
from ..exceptions import DivergenceWarning, TrainingDivergedError
from ..losses import check_loss_task, get_loss, get_loss_class
from ..losses._registry import _check_params
from ..modules import ACTIVATIONS, MLP, TabularMLP
from ..preprocessing import RobustScaleSmoothClip
from ..sampling._batches import (
    BatchPlan,
    ClassShareBatches,
    RandomBatches,
    StratifiedBatches,
)
from ..sampling._dataset_equity import check_user_weights
from ..sampling._dynamic import STRATEGIES, LossReweighting, check_reweightable
from ..sampling._reweighted import apply_reweighter
from ._callbacks import EpochProgressBar
from ._engine import ENGINE_CONTEXT, TensorNet, n_members
from ._moments import input_moments

__all__ = ["BaseLossEstimator", "OPTIMIZERS", "MODULES", "INPUT_SCALINGS"]

#: Optimizer names accepted by ``optimizer=``.
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}

#: Networks ``module=`` accepts by name: the plain MLP and the tabular
#: network (periodic embeddings, BatchEnsemble members).
MODULES = {"mlp": MLP, "tabular": TabularMLP}

#: Scalings of the network's input ``input_scaling=`` accepts (None: none).
INPUT_SCALINGS = {"standard": StandardScaler, "robust": RobustScaleSmoothClip}

#: Named batch plans of every estimator (classifiers add class-based ones).
BATCH_SAMPLERS = ("auto", "random")


def _is_callback(item):
    """A skorch callback (instance or class), alone or as a (name, callback) pair."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
        item = item[1]
    return isinstance(item, Callback) or (
        isinstance(item, type) and issubclass(item, Callback)
    )


@functools.cache
def _named_params(cls):
    """The estimator class's signature parameters (read once per class)."""
    return frozenset(cls._get_param_names())


def _silent(*args, **kwargs):
    """A sink that discards messages (picklable, unlike a lambda)."""


def _constraint_of_callbacks(value):
    return value is None or (
        isinstance(value, list | tuple) and all(_is_callback(item) for item in value)
    )


def _constraint_of_scoring(value):
    return (
        value is None
        or callable(value)
        or (isinstance(value, str) and value in get_scorer_names())
    )


def _constraint_of_optimizer(value):
    if isinstance(value, str):
        return value.lower() in OPTIMIZERS
    return isinstance(value, type) and issubclass(value, torch.optim.Optimizer)


class BaseLossEstimator(BaseEstimator):
    """Shared machinery of the neural estimators; not used directly.

    The fit template (:meth:`fit`) validates the parameters and the data,
    builds the loss for the task, folds in reweighters and sample weights,
    splits off validation rows (stratified by class, or by whole groups when
    ``groups`` is given), picks the batch plan and trains the engine. A task's
    estimator declares its parameters (``__init__``, ``_constraints``,
    ``prefixes``) and overrides these hooks:

    - ``_check_target(y)``: shape checks before sklearn's validation;
    - ``_validate_fit_data(X, y, reset)`` and ``_validate_X(X)``: the data
      validation of ``fit`` and of new ``X`` (default: scikit-learn's, for
      tables);
    - ``_encode_target(y, warm) -> (y_train, task)``: the target the loss sees
      and the task name (``"binary"``, ``"regression"``, ...);
    - ``_n_outputs(loss, task)``: the network's outputs per sample;
    - ``_n_classes()``: the number of classes of a class target, else None
      (class-based batch plans and the stratified split need classes);
    - ``_fit_inputs(X, y, sample_weight, fit_params)``: per-sample inputs
      the estimator computes itself (a teacher's logits), added to
      ``fit_params`` (default: none);
    - ``_row_weights(X, y, sample_weight)``: each row's weight as a number
      of copies (checked, times any per-class weights), or None; training
      scales it to mean 1 and ``input_scaling`` is fitted with it;
    - ``_valid_score_fn(valid, loss)``: the per-epoch validation score;
    - ``_setup_loss(loss, arrays, n_classes)``: size the loss's state from the
      training arrays (default: ``loss.setup(n_samples=, n_classes=)``);

    and decodes the network's outputs (:meth:`_outputs`) in its predict
    methods.
    """

    #: ``prefix__param`` keyword parameters the estimator accepts.
    prefixes = (
        "loss",
        "module",
        "optimizer",
        "callbacks",
        "reweighting",
        "batch_sampler",
    )

    #: Per-sample ``fit`` inputs the estimator itself uses: ``groups`` (any
    #: labels) keeps groups whole in the validation split and in a batch plan
    #: that reads them. The loss sees one only when it declares it in
    #: ``requires``; every other per-sample input is the loss's.
    estimator_inputs = ("groups",)

    #: Inputs a loss declares in ``requires`` that may be absent from ``fit``
    #: (the loss then gets ``None``): a ranker without query ids trains on
    #: lists drawn from one pool.
    optional_inputs = ()

    #: ``{parameter: Constraint}``, merged along the class hierarchy (a
    #: subclass adds or replaces entries); checked at the start of ``fit``.
    _constraints = {
        "lr": real(0, closed="neither"),
        "weight_decay": real(0),
        "batch_size": one_of("auto") | integer(1),
        "batch_sampler": Constraint(
            lambda v: (
                (isinstance(v, str) and v in BATCH_SAMPLERS) or isinstance(v, BatchPlan)
            ),
            "'auto', 'random' or a BatchPlan instance (see sklearn_losses.sampling)",
        ),
        "max_epochs": integer(1),
        "validation_fraction": real(0, 1, closed="neither"),
        "n_iter_no_change": integer(1),
        "tol": real(0),
        "dropout": real(0, 1, closed="left"),
        "early_stopping": boolean,
        "warm_start": boolean,
        "verbose": integer(0) | boolean,
        "activation": Constraint(
            lambda v: v in ACTIVATIONS, f"one of {sorted(ACTIVATIONS)}"
        ),
        "hidden_layer_sizes": Constraint(
            lambda v: isinstance(v, list | tuple) and all(is_int(s, 1) for s in v),
            "a tuple of ints >= 1 (empty for a linear model)",
        ),
        "optimizer": Constraint(
            _constraint_of_optimizer,
            f"one of {sorted(OPTIMIZERS)} or a subclass of torch.optim.Optimizer",
        ),
        "callbacks": Constraint(
            _constraint_of_callbacks,
            "None or a list of skorch callbacks or (name, callback) pairs",
        ),
        "input_scaling": Constraint(
            lambda v: v is None or (isinstance(v, str) and v in INPUT_SCALINGS),
            f"None or one of {sorted(INPUT_SCALINGS)}",
        ),
        "validation_scoring": Constraint(
            _constraint_of_scoring,
            "None, a scikit-learn scorer name (see "
            "sklearn.metrics.get_scorer_names()) or a callable "
            "scorer(estimator, X, y)",
        ),
    }

    _task = None  # set per fit: "binary", "multiclass", "regression", ...

    #: The network of ``module=None`` (a key of :data:`MODULES`).
    default_module = "mlp"

    #: ``input_scaling`` of estimators that do not take the parameter.
    input_scaling = None

    def __init__(self, **kwargs):  # pragma: no cover - subclasses define __init__
        self._set_prefixed(kwargs)

    # -- parameters ---------------------------------------------------------
    def _set_prefixed(self, kwargs):
        # Stored as given; checked in fit (sklearn: __init__ and set_params never
        # raise, so clone and grids can round-trip any value).
        for key, value in kwargs.items():
            setattr(self, key, value)

    def _extra_params(self):
        named = _named_params(type(self))
        return {
            k: v
            for k, v in vars(self).items()
            if k not in named and not k.startswith("_") and not k.endswith("_")
        }

    def _prefixed_params(self, prefix=None):
        out = {}
        for key, value in self._extra_params().items():
            head, _, rest = key.partition("__")
            if prefix is None:
                out[key] = value
            elif head == prefix and rest:
                out[rest] = value
        return out

    def _check_extra_params(self):
        for key in self._extra_params():
            head, _, rest = key.partition("__")
            if head not in self.prefixes or not rest:
                raise TypeError(
                    f"{type(self).__name__} got an unexpected parameter {key!r}. "
                    "Besides its named parameters it accepts "
                    f"{', '.join(p + '__<name>' for p in self.prefixes)}."
                )

    def get_params(self, deep=True):
        """Parameters of the estimator, ``loss__*`` and other prefixed ones included."""
        params = super().get_params(deep=deep)
        params.update(self._prefixed_params())
        return params

    def set_params(self, **params):
        """Set parameters, including ``loss__<name>`` and ``module__<name>``."""
        named = _named_params(type(self))
        extra = {k: v for k, v in params.items() if k not in named}
        self._set_prefixed(extra)
        rest = {k: v for k, v in params.items() if k not in extra}
        if rest:
            super().set_params(**rest)
        return self

    @classmethod
    def _all_constraints(cls):
        merged = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("_constraints", {}))
        return merged

    def _validate_common_params(self):
        self._check_extra_params()
        validate_params(self, self._all_constraints())
        check_device(self.device)
        check_random_state_param(self.random_state)

    # -- the fit template -----------------------------------------------------
    def fit(self, X, y, sample_weight=None, groups=None, **fit_params):
        """Train the network on ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features; a DataFrame is used as one matrix and its column
            names are kept in ``feature_names_in_``.
        y : array-like
            The target: class labels of any type for a classifier, numbers of
            shape ``(n_samples,)`` or ``(n_samples, n_outputs)`` for a
            regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights (a classifier multiplies them by
            ``class_weight``); they follow the validation split and every
            batch.
        groups : array-like of shape (n_samples,), default=None
            Group ids (any labels): whole groups in the validation split (its
            ``validation_fraction`` is then a fraction of the groups) and in a
            batch plan that reads them, such as
            :class:`~sklearn_losses.sampling.GroupBatches`. Under metadata
            routing, ask for it with ``set_fit_request(groups=True)``.
        **fit_params : array-like of shape (n_samples,)
            The per-sample inputs the loss declares in ``requires`` (e.g.
            ``likelihood=``).

        Returns
        -------
        self
        """
        self._validate_common_params()
        if groups is not None:
            fit_params = {**fit_params, "groups": groups}
        warm = self.warm_start and hasattr(self, "net_")
        self._check_target(y)
        X, y = self._validate_fit_data(X, y, reset=not warm)
        X = _as_float32(X)
        y_train, task = self._encode_target(y, warm)
        loss = self._build_loss(task)
        fit_params = self._fit_inputs(X, y, sample_weight, fit_params)
        sample_weight, fit_params = self._apply_reweighter(
            X, y, sample_weight, fit_params, loss
        )
        row_weight = self._row_weights(X, y, sample_weight)
        weight = None if row_weight is None else _scaled_weights(row_weight)
        # Features with more than two values (the tabular network embeds them).
        self._many_valued = None
        module = self.default_module if self.module is None else self.module
        if isinstance(module, str) and module == "tabular" and X.ndim == 2:
            low, high = X.min(axis=0), X.max(axis=0)
            self._many_valued = ~np.all((X == low) | (X == high), axis=0)
        X = self._scale_inputs(X, refit=not warm, sample_weight=row_weight)
        self._task = task
        n = X.shape[0]
        arrays = {"X": X, "y": y_train, "sample_weight": weight}
        arrays["index"] = np.arange(n, dtype=np.int64)
        arrays.update(self._per_sample_inputs(fit_params, n))
        n_classes = self._n_classes()
        # Moments of X (per class too) for data-free model modification.
        self._input_moments = input_moments(X, y_train, n_classes)
        self._setup_loss(loss, arrays, n_classes)
        self._train(
            arrays,
            n_features=X.shape[1],
            n_outputs=self._n_outputs(loss, task),
            loss=loss,
            score_fn=self._valid_score_fn,
            n_classes=n_classes,
        )
        self.loss_ = self.net_.criterion_
        return self

    # -- hooks (see the class docstring) ----------------------------------------
    def _check_target(self, y):
        """Checks of ``y`` before scikit-learn's validation (default: none)."""

    def _fit_inputs(self, X, y, sample_weight, fit_params):
        """Per-sample inputs the estimator adds to ``fit_params`` (default:
        none)."""
        return fit_params

    def _target_validation(self):
        """Keyword arguments of ``validate_data`` for the target."""
        return {}

    def _validate_fit_data(self, X, y, reset):
        """``X, y`` of ``fit`` validated (default: scikit-learn's
        ``validate_data`` for a table ``X``, which sets ``n_features_in_``)."""
        check_numeric_columns(X, type(self).__name__)
        return validate_data(
            self,
            X,
            y,
            dtype=(np.float64, np.float32),
            reset=reset,
            **self._target_validation(),
        )

    def _validate_X(self, X):
        """New ``X`` validated against the fitted one (default: a table of
        ``n_features_in_`` columns)."""
        check_numeric_columns(X, type(self).__name__)
        return validate_data(self, X, dtype=(np.float64, np.float32), reset=False)

    def _encode_target(self, y, warm):  # pragma: no cover - every task defines it
        raise NotImplementedError

    def _n_outputs(self, loss, task):  # pragma: no cover - every task defines it
        raise NotImplementedError

    def _n_classes(self):
        """The number of classes of a class target; None for other targets."""
        return None

    def _row_weights(self, X, y, sample_weight):
        """The weight of each row as a number of copies (``sample_weight``
        checked, times any per-class weights), or None. Training scales it to
        mean 1 (so the loss scale, and lr, does not depend on it);
        ``input_scaling`` is fitted with it as it is."""
        if sample_weight is None:
            return None
        return check_user_weights(sample_weight, X)

    def _valid_score_fn(self, valid, loss):  # pragma: no cover - tasks define it
        raise NotImplementedError

    def _setup_loss(self, loss, arrays, n_classes):
        """Let the loss size its state from the training data (``loss.setup``)."""
        loss.setup(n_samples=arrays["X"].shape[0], n_classes=n_classes)

    def _scale_inputs(self, X, refit, sample_weight=None):
        """``X`` as the network sees it: scaled by ``input_scaling`` (fitted on
        the rows of this fit with their weights, or kept from the first fit
        under warm start)."""
        if refit:
            spec = self.input_scaling
            self.input_scaler_ = None if spec is None else INPUT_SCALINGS[spec]()
            if self.input_scaler_ is not None:
                self.input_scaler_.fit(X, sample_weight=sample_weight)
        scaler = getattr(self, "input_scaler_", None)
        return X if scaler is None else _as_float32(scaler.transform(X))

    # -- outputs ----------------------------------------------------------------
    def _outputs(self, X):
        """The network's outputs (float64, shape ``(n, ...)``) for new ``X``."""
        check_is_fitted(self, "net_")
        X = self._scale_inputs(_as_float32(self._validate_X(X)), refit=False)
        return self._forward_numpy(X)

    # -- building blocks ----------------------------------------------------
    def _build_loss(self, task):
        """A fresh loss from ``loss`` and the ``loss__*`` parameters it takes.

        A ``loss__*`` value of None is unset (the loss's default applies, or an
        instance's own value). A name only other registered losses take (set
        for another loss of a search) is dropped with a ``UserWarning``; a name
        no loss takes raises ``ValueError``. ``loss__<param>__<name>`` sets a
        parameter of an object the loss takes (a miner, say): the object given
        as ``loss__<param>``, or the loss's own, is copied and ``set_params``
        is called on the copy.
        """
        cls = get_loss_class(self.loss)
        params = self._prefixed_params("loss")
        nested = {k: v for k, v in params.items() if "__" in k}
        params = {k: v for k, v in params.items() if "__" not in k}
        foreign = _check_params(cls, params, others="return")
        dropped = [k for k in foreign if params[k] is not None]
        if dropped:
            owners = sorted({o for k in dropped for o in foreign[k]})
            warnings.warn(
                f"{', '.join('loss__' + k for k in dropped)} ignored for this fit: "
                f"not a parameter of loss {cls.name or cls.__name__!r} (but of "
                f"{', '.join(map(repr, owners))}). Set it to None to unset it.",
                UserWarning,
                stacklevel=3,
            )
        params = {k: v for k, v in params.items() if v is not None and k not in foreign}
        params.update(self._nested_loss_params(cls, params, nested))
        loss = get_loss(self.loss, **params)
        check_loss_task(loss, task)
        return loss

    def _nested_loss_params(self, cls, params, nested):
        """``{param: object}`` for the ``loss__<param>__<name>`` parameters."""
        grouped = {}
        for key, value in nested.items():
            head, _, rest = key.partition("__")
            if head not in cls._param_names():
                raise ValueError(
                    f"loss__{key}: {head!r} is not a parameter of loss "
                    f"{cls.name or cls.__name__!r} ({', '.join(cls._param_names())})."
                )
            grouped.setdefault(head, {})[rest] = value
        out = {}
        for head, values in grouped.items():
            if head in params:
                base = params[head]
            elif isinstance(self.loss, torch.nn.Module):
                base = getattr(self.loss, head)
            else:
                base = inspect.signature(cls.__init__).parameters[head].default
            if not hasattr(base, "set_params"):
                raise ValueError(
                    f"loss__{head}__* parameters need the loss's {head!r} to be an "
                    f"object with set_params; it is {base!r}."
                )
            try:
                out[head] = copy.deepcopy(base).set_params(**values)
            except ValueError as exc:
                raise ValueError(f"Invalid loss__{head}__* parameter: {exc}") from None
        return out

    def _build_module(self, n_features, n_outputs):
        params = self._prefixed_params("module")
        module = self.default_module if self.module is None else self.module
        if isinstance(module, str):
            if module not in MODULES:
                raise ValueError(
                    f"module must be one of {sorted(MODULES)}, a torch.nn.Module "
                    f"subclass, a factory or an instance; got {module!r}."
                )
            if module == "tabular" and "embedded_features" not in params:
                params["embedded_features"] = getattr(self, "_many_valued", None)
            return MODULES[module](
                n_features,
                n_outputs,
                hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                activation=self.activation,
                dropout=self.dropout,
                **params,
            )
        if isinstance(module, torch.nn.Module):
            if params:
                raise ValueError(
                    "module__* parameters need module to be a class or factory, not "
                    "an instance."
                )
            return copy.deepcopy(module)
        if not callable(module):
            raise ValueError(
                "module must be None (the default network), one of "
                f"{sorted(MODULES)}, a torch.nn.Module subclass, "
                f"a factory returning one, or a module instance; got {module!r}."
            )
        try:
            sig = inspect.signature(module)
            accepts = sig.parameters
            has_var_kw = any(p.kind is p.VAR_KEYWORD for p in accepts.values())
        except (TypeError, ValueError):
            accepts, has_var_kw = {}, False
        for key, value in (("n_features_in", n_features), ("n_outputs", n_outputs)):
            if (key in accepts or has_var_kw) and key not in params:
                params[key] = value
        built = module(**params)
        if not isinstance(built, torch.nn.Module):
            raise ValueError(
                f"module factory {module!r} returned {type(built).__name__}, not a "
                "torch.nn.Module."
            )
        return built

    def _optimizer_class(self):
        if isinstance(self.optimizer, str):
            return OPTIMIZERS[self.optimizer.lower()]
        return self.optimizer

    def _make_callbacks(self, monitor, lower_is_better):
        callbacks = []
        if self.verbose == 1:
            callbacks.append(("progress_bar", EpochProgressBar()))
        elif self.verbose and self.verbose >= 2:
            callbacks.append(("print_log", PrintLog()))
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor=monitor,
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        lower_is_better=lower_is_better,
                        load_best=True,
                        # verbose=1 is the progress bar alone; 2 also says
                        # which epoch early stopping restored.
                        sink=print if self.verbose and self.verbose >= 2 else _silent,
                    ),
                )
            )
        for item in self.callbacks or ():
            callbacks.append(copy.deepcopy(item))
        return callbacks

    def _seed(self):
        return int(check_random_state(self.random_state).randint(0, 2**31 - 1))

    # -- data ---------------------------------------------------------------
    @staticmethod
    def _split_indices(n, stratify, fraction, seed, groups=None):
        """Training and validation rows: whole groups on one side when
        ``groups`` is given, else stratified by ``stratify`` where possible."""
        idx = np.arange(n)
        if groups is not None:
            if len(np.unique(groups)) < 2:
                raise ValueError(
                    "early_stopping with groups needs at least 2 groups, one to "
                    "validate on; got 1."
                )
            splitter = GroupShuffleSplit(
                n_splits=1, test_size=fraction, random_state=seed
            )
            return next(splitter.split(idx, groups=groups))
        try:
            return train_test_split(
                idx, test_size=fraction, stratify=stratify, random_state=seed
            )
        except ValueError:
            # A class too small to stratify: fall back to a plain shuffled split.
            train, valid = train_test_split(idx, test_size=fraction, random_state=seed)
            if len(train) == 0 or len(valid) == 0:
                raise ValueError(
                    f"validation_fraction={fraction} leaves no training or validation "
                    f"rows out of {n}; use more data or early_stopping=False."
                ) from None
            return train, valid

    def _to_tensors(self, arrays, device):
        return {
            k: torch.as_tensor(np.ascontiguousarray(v)).to(device)
            for k, v in arrays.items()
            if v is not None
        }

    # -- training -------------------------------------------------------------
    def _batch_plan(self, loss, n_train, n_classes):
        """(batch size, BatchPlan) for this loss and ``n_train`` training rows.

        A ``batch_sampler`` name or positive share becomes its plan; a plan is
        cloned. ``n_classes`` is the number of classes of a classification
        target (None otherwise).
        """
        batch_size = self.batch_size
        if batch_size == "auto":
            batch_size = 128
            if not loss.decomposable:
                batch_size = max(128, math.ceil(0.05 * n_train))
        spec = self.batch_sampler
        # None unsets a plan parameter (the plan's own value applies), as for
        # loss__*: a prefixed parameter outlives a replaced plan otherwise.
        params = {
            k: v
            for k, v in self._prefixed_params("batch_sampler").items()
            if v is not None
        }
        if isinstance(spec, BatchPlan):
            if spec.needs_classes and n_classes is None:
                raise ValueError(
                    f"batch_sampler={spec!r} needs class labels; this target has "
                    "none. Use 'random' or a plan without classes (see "
                    "sklearn_losses.sampling)."
                )
            plan = clone(spec)
            try:
                plan.set_params(**params)
            except ValueError as exc:
                raise ValueError(f"Invalid batch_sampler__* parameter: {exc}") from None
            return batch_size, plan
        if params:
            raise ValueError(
                f"batch_sampler__* parameters ({sorted(params)}) need batch_sampler "
                f"to be a BatchPlan instance; got {spec!r}."
            )
        if isinstance(spec, str) and spec == "auto":
            by_class = not loss.decomposable and n_classes is not None
            spec = "stratified" if by_class else "random"
        if isinstance(spec, str) and spec == "random":
            return batch_size, RandomBatches()
        if n_classes is None:
            raise ValueError(
                f"batch_sampler={spec!r} needs class labels; this target has none. "
                "Use 'random' or a BatchPlan (see sklearn_losses.sampling)."
            )
        if isinstance(spec, str) and spec == "stratified":
            return batch_size, StratifiedBatches()
        if isinstance(spec, str) and spec == "balanced":
            return batch_size, ClassShareBatches((1.0 / n_classes,) * n_classes)
        if n_classes != 2:
            raise ValueError(
                f"batch_sampler={spec!r} (a share of the positive class) needs a "
                f"binary target; this one has {n_classes} classes. Use 'balanced' "
                "for equal class shares."
            )
        return batch_size, ClassShareBatches((1.0 - float(spec), float(spec)))

    def _apply_reweighter(self, X, y, sample_weight, fit_params, loss):
        """Fit ``reweighter`` (if any) and fold it into the fit inputs."""
        params = self._prefixed_params("reweighter")
        if getattr(self, "reweighter", None) is None:
            if params:
                raise ValueError(
                    f"reweighter__* parameters ({sorted(params)}) need a reweighter."
                )
            if hasattr(self, "reweighter_"):
                del self.reweighter_
            return sample_weight, fit_params
        if not (
            hasattr(self.reweighter, "fit") and hasattr(self.reweighter, "get_params")
        ):
            raise ValueError(
                "reweighter must be None or an estimator whose fit sets weights_ "
                f"(e.g. DatasetEquityReweighter()); got {self.reweighter!r}."
            )
        reweighter = clone(self.reweighter)
        try:
            reweighter.set_params(**params)
        except ValueError as exc:
            raise ValueError(f"Invalid reweighter__* parameter: {exc}") from None
        use_likelihood = "likelihood" in loss.requires
        fitted, weight, fit_params = apply_reweighter(
            reweighter, X, y, sample_weight, fit_params, use_likelihood
        )
        self.reweighter_ = fitted
        return weight, fit_params

    def _build_reweighting(self, loss):
        """The dynamic reweighting object for ``reweighting=``, or None."""
        spec = self.reweighting
        params = self._prefixed_params("reweighting")
        if spec is None:
            if params:
                raise ValueError(
                    f"reweighting__* parameters ({sorted(params)}) need reweighting "
                    "to be set (e.g. 'linupper')."
                )
            return None
        if isinstance(spec, str) and spec.lower() in STRATEGIES:
            rw = LossReweighting(strategy=spec)
        elif isinstance(spec, LossReweighting):
            rw = clone(spec)
        else:
            raise ValueError(
                "reweighting must be None, a strategy name "
                f"({', '.join(map(repr, STRATEGIES))}) or a LossReweighting; got "
                f"{spec!r}."
            )
        try:
            rw.set_params(**params)
        except ValueError as exc:
            raise ValueError(f"Invalid reweighting__* parameter: {exc}") from None
        rw.validate()
        check_reweightable(loss)
        return rw

    def _train(self, arrays, n_features, n_outputs, loss, score_fn, n_classes=None):
        """Build (or reuse, with warm_start) the engine and train it.

        ``arrays`` maps names (``X``, ``y``, ``sample_weight``, ``index``, the
        estimator's inputs such as ``groups`` and the loss's declared inputs)
        to numpy arrays with one row per sample; ``n_classes`` is the number
        of classes of a class target (None otherwise), whose labels ``y`` then
        stratify the validation split.
        """
        seed = self._seed()
        device = torch.device(self.device)
        n = arrays["X"].shape[0]
        required = set(loss.requires)
        missing = (
            required - set(arrays) - set(ENGINE_CONTEXT) - set(self.optional_inputs)
        )
        if missing:
            raise ValueError(
                f"Loss {loss.name!r} needs {sorted(missing)} for each sample; pass "
                "them to fit."
            )
        own = set(self.estimator_inputs)
        extra = set(arrays) - {"X", "y", "sample_weight", "index"} - required - own
        if extra:
            raise TypeError(
                f"fit() got per-sample input(s) {sorted(extra)} that loss "
                f"{loss.name!r} does not use (it uses: "
                f"{sorted(required - set(ENGINE_CONTEXT)) or 'none'}) and "
                f"{type(self).__name__} does not take (it takes: "
                f"{sorted(own) or 'none'})."
            )
        sampler = self.batch_sampler
        plan_inputs = set(sampler.requires if isinstance(sampler, BatchPlan) else ())
        absent = {k for k in plan_inputs if arrays.get(k) is None}
        if absent:
            raise ValueError(
                f"batch_sampler={sampler!r} needs {sorted(absent)} for each sample; "
                f"pass {', '.join(k + '=' for k in sorted(absent))} to fit."
            )
        keep = {"X", "y", "sample_weight", "groups", *required}
        arrays = {k: v for k, v in arrays.items() if k in keep and v is not None}
        if self.early_stopping:
            train_idx, valid_idx = self._split_indices(
                n,
                arrays["y"] if n_classes is not None else None,
                self.validation_fraction,
                seed,
                groups=arrays.get("groups"),
            )
            train = {k: v[train_idx] for k, v in arrays.items()}
            valid = {k: v[valid_idx] for k, v in arrays.items()}
            weight = valid.get("sample_weight")
            if weight is not None and not weight.sum() > 0:
                raise ValueError(
                    f"The {len(valid_idx)} rows held out for early stopping "
                    "(validation_fraction) all have zero sample_weight: nothing "
                    "to validate on. Use early_stopping=False or give them weight."
                )
        else:
            train, valid = arrays, None
        batch_size, plan = self._batch_plan(loss, len(train["y"]), n_classes)
        reweighting = self._build_reweighting(loss)
        monitor_score = loss.monitor == "score" or self.validation_scoring is not None
        monitor = "valid_score" if monitor_score else "valid_loss"

        warm = self.warm_start and hasattr(self, "net_")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if warm:
                net = self.net_
                # The loss of this fit (its parameters, and its per-row state
                # sized by setup for these rows) replaces the previous one, and
                # so do this fit's epochs, batch size, callbacks and learning
                # rate (the optimizer keeps its state: moments, momentum).
                net.criterion = net.criterion_ = loss.to(device)
                net.max_epochs, net.batch_size, net.lr = (
                    self.max_epochs,
                    batch_size,
                    self.lr,
                )
                for group in net.optimizer_.param_groups:
                    group["lr"] = self.lr
                    group["weight_decay"] = self.weight_decay
                net.callbacks = self._make_callbacks(monitor, not monitor_score)
                net.initialize_callbacks()
            else:
                net = TensorNet(
                    module=self._build_module(n_features, n_outputs),
                    criterion=loss,
                    optimizer=self._optimizer_class(),
                    lr=self.lr,
                    optimizer__weight_decay=self.weight_decay,
                    max_epochs=self.max_epochs,
                    batch_size=batch_size,
                    train_split=None,
                    callbacks=self._make_callbacks(monitor, not monitor_score),
                    device=device,
                    verbose=self.verbose,
                    **{
                        f"optimizer__{k}": v
                        for k, v in self._prefixed_params("optimizer").items()
                    },
                    **{
                        f"callbacks__{k}": v
                        for k, v in self._prefixed_params("callbacks").items()
                    },
                )
                net.initialize()
                self._check_callback_params(net)
            train_t = self._to_tensors(train, device)
            valid_t = None if valid is None else self._to_tensors(valid, device)
            for part in (train_t, valid_t):  # checked once, trusted per batch
                if part is not None:
                    loss.check_context({k: part[k] for k in required if k in part})
            check = _OutputCheck(
                net.module_, getattr(net.module_, "n_outputs", n_outputs)
            )
            try:
                net.partial_fit(
                    train_t,
                    valid=valid_t,
                    seed=seed,
                    score_fn=None if valid is None else score_fn(valid, loss),
                    batch_plan=plan,
                    reweighting=reweighting,
                )
            except TrainingDivergedError as exc:
                self._recover_or_raise(net, exc)
            except RuntimeError as exc:
                check.remove()
                _raise_if_module_rejects(net.module_, train_t["X"], exc)
                raise
            finally:
                check.remove()
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        return net

    def _check_callback_params(self, net):
        names = [name for name, _ in net.callbacks_]
        for key in self._prefixed_params("callbacks"):
            if key.partition("__")[0] not in names:
                raise ValueError(
                    f"callbacks__{key} names no callback; the callbacks are {names}."
                )

    def _recover_or_raise(self, net, exc):
        stopper = dict(net.callbacks_).get("early_stopping")
        best = getattr(stopper, "best_model_weights_", None)
        if best is None:
            raise exc
        net.module_.load_state_dict(best)
        warnings.warn(
            f"{exc} Restored the weights of epoch {stopper.best_epoch_}, the best "
            f"{stopper.monitor} seen by early stopping.",
            DivergenceWarning,
            stacklevel=4,
        )

    def _per_sample_inputs(self, fit_params, n):
        """Validate the per-sample arrays passed to ``fit``: ``groups`` (any
        labels, encoded as integers) and the loss's numeric inputs."""
        out = {}
        for name, value in fit_params.items():
            if name in ("X", "y", "sample_weight", "index", *ENGINE_CONTEXT):
                raise TypeError(f"fit() got {name!r} as a per-sample input.")
            array = np.asarray(value)
            if array.ndim == 0 or array.shape[0] != n:
                raise ValueError(
                    f"{name} must have one entry per sample ({n}); got shape "
                    f"{array.shape}."
                )
            if name == "groups":
                if array.ndim != 1:
                    raise ValueError(f"groups must be 1-D; got shape {array.shape}.")
                try:
                    array = np.unique(array, return_inverse=True)[1].astype(np.int64)
                except TypeError as exc:
                    raise TypeError(
                        f"groups must hold ids of one type; {exc}."
                    ) from None
            elif array.dtype.kind == "f":
                if not np.all(np.isfinite(array)):
                    raise ValueError(f"{name} must be finite.")
                array = array.astype(np.float32)
            elif array.dtype.kind in "iub":
                array = array.astype(np.int64)
            else:
                raise TypeError(f"{name} must be numeric; got dtype {array.dtype}.")
            out[name] = array
        return out

    def _forward_numpy(self, X, groups=None):
        """Module outputs (float64 numpy, shape ``(n, ...)``) for validated float32
        ``X``; with ``groups`` (one id per row) whole groups go through the
        module together."""
        device = torch.device(self.device)
        if groups is not None:
            groups = torch.as_tensor(np.asarray(groups))
        out = self.net_.forward_tensor(torch.as_tensor(X).to(device), groups=groups)
        return out.detach().cpu().double().numpy()


class _OutputCheck:
    """Check the network's first training output (a forward hook, no extra pass):
    ``n_outputs`` per sample, or outputs of the per-sample shape ``n_outputs``
    when it is a tuple (image-shaped outputs, say)."""

    def __init__(self, module, n_outputs):
        self.n_outputs = n_outputs
        self.handle = module.register_forward_hook(self)

    def __call__(self, module, args, out):
        self.remove()
        n, k = args[0].shape[0], self.n_outputs
        members = n_members(module)
        if isinstance(k, tuple):
            shapes = [(n, *k)]
            want = f"outputs of shape {(n, *k)} (one {k} array per sample)"
        elif members > 1:
            m = members
            shapes = [(n, m, k), (n, m)] if k == 1 else [(n, m, k)]
            want = (
                f"{k} output(s) per sample and member in training, shape "
                f"(n_samples, {m}, {k}) for its n_members={m}"
            )
        else:
            shapes = [(n, k), (n,)] if k == 1 else [(n, k)]
            want = f"{k} output(s) per sample here, shape (n_samples, {k})"
        if not isinstance(out, torch.Tensor) or tuple(out.shape) not in shapes:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(f"module must return {want}; got {got} for {n} rows.")

    def remove(self):
        self.handle.remove()


def _raise_if_module_rejects(module, X, exc):
    """After a RuntimeError in training: raise ValueError if the network fails on
    two rows of ``X`` (e.g. a first layer sized for other features)."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            module(X[:2])
    except RuntimeError as probe:
        raise ValueError(
            f"module cannot take X with {X.shape[1]} features: {probe}"
        ) from exc
    finally:
        module.train(was_training)


def _scaled_weights(weight):
    """Non-negative weights scaled to mean 1 (None when all are 1); refuse
    weights that are not finite or sum to zero."""
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight must be finite.")
    if weight.sum() <= 0:
        raise ValueError("sample_weight sums to zero: nothing to train on.")
    if np.all(weight == 1.0):
        return None
    return (weight / weight.mean()).astype(np.float32)


def _as_float32(X):
    """``X`` in the network's precision, refusing values float32 cannot hold."""
    with np.errstate(over="ignore"):
        X32 = np.ascontiguousarray(X, dtype=np.float32)
    if X32.dtype != X.dtype and not np.all(np.isfinite(X32)):
        raise ValueError(
            "X holds values too large for float32 (the network's precision); "
            "rescale the features, e.g. with StandardScaler."
        )
    return X32
