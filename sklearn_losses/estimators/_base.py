"""What every neural estimator of the package shares.

:class:`BaseLossEstimator` owns the sklearn surface (parameters, ``loss__*``
and other ``prefix__*`` parameters, validation, seeding) and drives the skorch
engine :class:`~sklearn_losses.estimators._engine.TensorNet`. Task-specific
estimators (classifier, ranker, ...) add target encoding and outputs.
"""

from __future__ import annotations

import copy
import functools
import inspect
import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.metrics import get_scorer_names
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from skorch.callbacks import Callback, EarlyStopping, PrintLog

from .._validation import check_device, check_random_state_param
from ..exceptions import DivergenceWarning, TrainingDivergedError
from ..losses import check_loss_task, get_loss, get_loss_class
from ..losses._registry import _check_params
from ..modules import ACTIVATIONS, MLP
from ..sampling._batches import (
    BatchPlan,
    ClassShareBatches,
    RandomBatches,
    StratifiedBatches,
)
from ..sampling._dynamic import STRATEGIES, LossReweighting, check_reweightable
from ..sampling._reweighted import apply_reweighter
from ._callbacks import EpochProgressBar
from ._engine import ENGINE_CONTEXT, TensorNet

__all__ = ["BaseLossEstimator", "OPTIMIZERS"]

#: Optimizer names accepted by ``optimizer=``.
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}

#: ``prefix__param`` keyword parameters an estimator accepts.
PREFIXES = ("loss", "module", "optimizer", "callbacks", "reweighting", "reweighter")

#: Named batch plans (``batch_sampler`` also takes a positive share or a BatchPlan).
BATCH_SAMPLERS = ("auto", "random", "stratified", "balanced")


def _is_int(value, low=None):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return ok and (low is None or value >= low)


def _is_real(value):
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and np.isfinite(value)
    )


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


class BaseLossEstimator(BaseEstimator):
    """Shared machinery of the neural estimators; not used directly."""

    _task = None  # set per fit by subclasses: "binary", "multiclass", ...

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
            if head not in PREFIXES or not rest:
                raise TypeError(
                    f"{type(self).__name__} got an unexpected parameter {key!r}. "
                    "Besides its named parameters it accepts "
                    f"{', '.join(p + '__<name>' for p in PREFIXES)}."
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

    def _validate_common_params(self):
        self._check_extra_params()
        checks = [
            ("lr", _is_real(self.lr) and self.lr > 0, "a float > 0"),
            (
                "weight_decay",
                _is_real(self.weight_decay) and self.weight_decay >= 0,
                "a float >= 0",
            ),
            (
                "batch_size",
                self.batch_size == "auto" or _is_int(self.batch_size, 1),
                "'auto' or an int >= 1",
            ),
            (
                "batch_sampler",
                (
                    isinstance(self.batch_sampler, str)
                    and self.batch_sampler in BATCH_SAMPLERS
                )
                or (_is_real(self.batch_sampler) and 0 < self.batch_sampler < 1)
                or isinstance(self.batch_sampler, BatchPlan),
                "'auto', 'random', 'stratified', 'balanced', a float in (0, 1) "
                "(the share of the positive class in every batch) or a BatchPlan "
                "instance (see sklearn_losses.sampling)",
            ),
            ("max_epochs", _is_int(self.max_epochs, 1), "an int >= 1"),
            (
                "validation_fraction",
                _is_real(self.validation_fraction) and 0 < self.validation_fraction < 1,
                "a float in (0, 1)",
            ),
            ("n_iter_no_change", _is_int(self.n_iter_no_change, 1), "an int >= 1"),
            ("tol", _is_real(self.tol) and self.tol >= 0, "a float >= 0"),
            (
                "dropout",
                _is_real(self.dropout) and 0 <= self.dropout < 1,
                "a float in [0, 1)",
            ),
            ("early_stopping", isinstance(self.early_stopping, bool), "True or False"),
            ("warm_start", isinstance(self.warm_start, bool), "True or False"),
            (
                "verbose",
                _is_int(self.verbose, 0) or isinstance(self.verbose, bool),
                "an int >= 0",
            ),
            (
                "activation",
                self.activation in ACTIVATIONS,
                f"one of {sorted(ACTIVATIONS)}",
            ),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(
                    f"{name} must be {allowed}; got {getattr(self, name)!r}."
                )
        sizes = self.hidden_layer_sizes
        if not (isinstance(sizes, list | tuple) and all(_is_int(s, 1) for s in sizes)):
            raise ValueError(
                "hidden_layer_sizes must be a tuple of ints >= 1 (empty for a linear "
                f"model); got {sizes!r}."
            )
        if not (
            (isinstance(self.optimizer, str) and self.optimizer.lower() in OPTIMIZERS)
            or (
                isinstance(self.optimizer, type)
                and issubclass(self.optimizer, torch.optim.Optimizer)
            )
        ):
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)} or a subclass of "
                f"torch.optim.Optimizer; got {self.optimizer!r}."
            )
        check_device(self.device)
        if self.callbacks is not None and not (
            isinstance(self.callbacks, list | tuple)
            and all(_is_callback(item) for item in self.callbacks)
        ):
            raise ValueError(
                "callbacks must be None or a list of skorch callbacks or "
                f"(name, callback) pairs; got {self.callbacks!r}."
            )
        scoring = self.validation_scoring
        if not (
            scoring is None
            or callable(scoring)
            or (isinstance(scoring, str) and scoring in get_scorer_names())
        ):
            raise ValueError(
                "validation_scoring must be None, a scikit-learn scorer name (see "
                "sklearn.metrics.get_scorer_names()) or a callable "
                f"scorer(estimator, X, y); got {scoring!r}."
            )
        check_random_state_param(self.random_state)

    # -- building blocks ----------------------------------------------------
    def _build_loss(self, task):
        """A fresh loss from ``loss`` and the ``loss__*`` parameters it takes.

        A ``loss__*`` value of None is unset (the loss's default applies, or an
        instance's own value). A name only other registered losses take (set
        for another loss of a search) is dropped with a ``UserWarning``; a name
        no loss takes raises ``ValueError``.
        """
        cls = get_loss_class(self.loss)
        params = self._prefixed_params("loss")
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
        loss = get_loss(self.loss, **params)
        check_loss_task(loss, task)
        return loss

    def _loss_class(self):
        return get_loss_class(self.loss)

    def _build_module(self, n_features, n_outputs):
        params = self._prefixed_params("module")
        module = self.module
        if module is None:
            return MLP(
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
                "module must be None (the default MLP), a torch.nn.Module subclass, "
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
                        sink=print if self.verbose else _silent,
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
    def _split_indices(n, stratify, fraction, seed):
        idx = np.arange(n)
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
        if isinstance(spec, BatchPlan):
            return batch_size, clone(spec)
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
        if self.reweighter is None:
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
        if isinstance(spec, str):
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

    def _train(
        self, arrays, stratify, n_features, n_outputs, loss, score_fn, n_classes=None
    ):
        """Build (or reuse, with warm_start) the engine and train it.

        ``arrays`` maps names (``X``, ``y``, ``sample_weight`` and any extra
        per-sample input) to numpy arrays with one row per sample;
        ``n_classes`` is the number of classes of a classification target.
        ``groups`` is kept for a batch plan that requires it (and for a loss
        that does), and is refused otherwise.
        """
        seed = self._seed()
        device = torch.device(self.device)
        n = arrays["X"].shape[0]
        required = set(loss.requires)
        missing = required - set(arrays) - set(ENGINE_CONTEXT)
        if missing:
            raise ValueError(
                f"Loss {loss.name!r} needs {sorted(missing)} for each sample; pass "
                "them to fit."
            )
        sampler = self.batch_sampler
        plan_inputs = set(sampler.requires if isinstance(sampler, BatchPlan) else ())
        extra = (
            set(arrays) - {"X", "y", "sample_weight", "index"} - required - plan_inputs
        )
        if extra:
            hint = (
                " groups= is read by a batch plan that keeps groups whole, such as "
                "batch_sampler=GroupBatches()."
                if "groups" in extra
                else ""
            )
            raise TypeError(
                f"fit() got per-sample input(s) {sorted(extra)} that loss "
                f"{loss.name!r} does not use (it uses: "
                f"{sorted(required - set(ENGINE_CONTEXT)) or 'none'}).{hint}"
            )
        absent = {k for k in plan_inputs if arrays.get(k) is None}
        if absent:
            raise ValueError(
                f"batch_sampler={sampler!r} needs {sorted(absent)} for each sample; "
                f"pass {', '.join(k + '=' for k in sorted(absent))} to fit."
            )
        keep = {"X", "y", "sample_weight", *required, *plan_inputs}
        arrays = {k: v for k, v in arrays.items() if k in keep and v is not None}
        if self.early_stopping:
            train_idx, valid_idx = self._split_indices(
                n, stratify, self.validation_fraction, seed
            )
            train = {k: v[train_idx] for k, v in arrays.items()}
            valid = {k: v[valid_idx] for k, v in arrays.items()}
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
                # sized by setup for these rows) replaces the previous one.
                net.criterion = net.criterion_ = loss.to(device)
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
            check = _OutputCheck(net.module_, n_outputs)
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

    @staticmethod
    def _per_sample_inputs(fit_params, n):
        """Validate extra per-sample arrays passed to ``fit`` for the loss."""
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
            if array.dtype.kind == "f":
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
    ``n_outputs`` per sample."""

    def __init__(self, module, n_outputs):
        self.n_outputs = n_outputs
        self.handle = module.register_forward_hook(self)

    def __call__(self, module, args, out):
        self.remove()
        n, k = args[0].shape[0], self.n_outputs
        shapes = [(n, k), (n,)] if k == 1 else [(n, k)]
        if not isinstance(out, torch.Tensor) or tuple(out.shape) not in shapes:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"module must return {k} output(s) per sample here, shape "
                f"(n_samples, {k}); got {got} for {n} rows."
            )

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
