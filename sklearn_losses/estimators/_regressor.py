"""``LossRegressor``: a neural regressor whose loss is a constructor parameter."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import check_scoring, r2_score
from sklearn.utils.validation import validate_data

from .._validation import Constraint, boolean, one_of
from ..losses._base import setup_with
from ..modules import MLP, ConvAutoencoder
from ._base import BaseLossEstimator
from ._docs import fill_doc

__all__ = ["LossRegressor", "MODULE_NAMES"]

#: Network names ``module=`` takes besides classes, factories and instances.
MODULE_NAMES = ("mlp", "conv_autoencoder", "tabular")

#: ``prediction_link`` of a loss -> the map from outputs to predictions.
_LINKS = {None: None, "sigmoid": expit}


@fill_doc
class LossRegressor(RegressorMixin, BaseLossEstimator):
    """Neural network regressor trained with any registered regression loss.

    A scikit-learn regressor (one or several outputs) with skorch underneath,
    built on the same fit template as
    :class:`~sklearn_losses.LossClassifier`: the loss is a parameter like any
    other, so ``GridSearchCV`` can search over ``"mse"``, ``"l1"``,
    ``"huber"`` and ``"quantile"`` and their parameters. The network's outputs
    are the standardised targets; predictions are restored to the target's
    units.

    Parameters
    ----------
    loss : str, BaseLoss subclass or instance, default="mse"
        The training loss, one of ``list_losses("regression")``: ``"mse"``,
        ``"l1"``, ``"huber"`` (``loss__delta``, in standard deviations of the
        target when it is standardised) or ``"quantile"`` (``loss__alpha``,
        the quantile level, for a quantile regressor), ``"bce"`` (targets in
        ``[0, 1]``, masks say: the network's outputs are logits and
        predictions probabilities); image losses as they are registered.
    module : None, "mlp", "conv_autoencoder", "tabular", torch.nn.Module \
class, factory or instance, default=None
        ``None``: ``"conv_autoencoder"`` when ``X`` and ``y`` are images of
        the same height and width, else ``"mlp"``. ``"mlp"``:
        :class:`~sklearn_losses.modules.MLP` on the flattened input, its
        outputs shaped as the target. ``"conv_autoencoder"``:
        :class:`~sklearn_losses.modules.ConvAutoencoder` sized from the data
        (``module__channels``, ``module__depth``; ``activation`` applies,
        ``hidden_layer_sizes`` and ``dropout`` do not). ``"tabular"``:
        :class:`~sklearn_losses.modules.TabularMLP` (periodic embeddings and
        ``module__n_ensemble`` members, the loss applied to each and the
        prediction their mean) for a table ``X`` and a target of shape
        ``(n,)`` or ``(n, k)``. A class or factory is
        called with ``module__*`` parameters, plus ``n_features_in`` and
        ``n_outputs`` (the flattened sizes of a sample's input and target)
        when its signature takes them; it receives ``X`` as given (images
        too) and must return outputs of the target's shape. An instance is
        copied at each fit.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden widths of the MLP (empty: a linear model).
    activation : str, default="relu"
        Activation of the MLP or of the convolutional network.
    dropout : float, default=0.0
        Dropout of the MLP.
    optimizer : str or torch.optim.Optimizer subclass, default="adam"
        ``"adam"``, ``"adamw"``, ``"sgd"``, ``"rmsprop"``, ``"adagrad"`` or a
        class; further arguments as ``optimizer__<name>``.
    lr : float, default=1e-3
        Learning rate.
    weight_decay : float, default=0.0
        Weight decay passed to the optimizer.
    batch_size : int or "auto", default="auto"
        Mini-batch size (a batch larger than the data is the full batch);
        ``"auto"`` is 128.
    batch_sampler : "auto", "random" or BatchPlan, default="auto"
        How an epoch is cut into batches: ``"auto"`` and ``"random"`` take
        contiguous slices of one permutation; a
        :class:`~sklearn_losses.sampling.BatchPlan` (whole groups, say) for
        anything else. Plans by class need class labels.
    %(epochs)s
    validation_scoring : None, str or callable, default=None
        Score recorded each epoch as ``valid_score``: a scikit-learn scorer name
        (``"neg_mean_absolute_error"``, ...) or a callable
        ``scorer(estimator, X, y)``, on the target's own units. ``None`` records
        the (weighted) R² (of the flattened outputs, weighted by their
        variance, for image-shaped targets).
    standardize_target : "auto" or bool, default="auto"
        ``True``: train on ``(y - mean) / std`` (mean and standard deviation
        of each ``fit``'s targets, of the first fit with ``warm_start``; a
        constant output keeps scale 1) and restore predictions to the
        target's units; per output for a target of shape ``(n_samples,)`` or
        ``(n_samples, n_outputs)``, one mean and scale for an image-shaped
        target (a per-pixel scale would change the picture an image loss
        compares). ``False``: train on ``y`` as it is. ``"auto"``: ``True``
        for a table target, ``False`` for an image-shaped one (image losses
        such as SSIM have constants in the target's units). Never for a loss
        with a prediction link (``"bce"``: targets in ``[0, 1]``).
    %(reweighting)s
    %(runtime)s

    Attributes
    ----------
    n_outputs_ : int
        Number of target values per sample (columns, or pixels times
        channels; 1 for a 1-D ``y``).
    output_shape_ : tuple of int
        Shape of a sample's target: ``()`` for a 1-D ``y``, ``(n_outputs,)``,
        ``(H, W)`` or ``(C, H, W)``. Predictions have shape
        ``(n_samples, *output_shape_)``.
    input_shape_ : tuple of int
        Shape of a sample of ``X``: ``(n_features,)``, ``(H, W)`` or
        ``(C, H, W)``; ``n_features_in_`` is its size (the pixels times
        channels of an image).
    target_mean_, target_scale_ : ndarray of shape (n_outputs_,)
        The standardisation of the targets, flattened (0 and 1 when not
        standardised).
    %(fitted)s

    See Also
    --------
    sklearn_losses.LossClassifier : The classifier on the same template.
    sklearn_losses.datasets.make_segmentation_shapes : Images and masks.

    Notes
    -----
    **Image-shaped data.** Besides tables, ``X`` may be images of shape
    ``(n_samples, H, W)`` or ``(n_samples, C, H, W)`` and ``y`` image-shaped
    targets ``(n_samples, H', W')`` or ``(n_samples, C', H', W')``, in any
    combination with tables (a table ``X`` with image targets, say). Such
    arrays are validated here (numeric, finite, at least one sample, one
    target per sample, and at ``predict`` the input shape of ``fit``); a
    pandas DataFrame stays a table. Five or more dimensions are refused.
    Predictions have the target's shape, computed in chunks of rows.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_losses import LossRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = LossRegressor(loss="huber", max_epochs=200, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y) > 0.9
    True

    Denoising 8x8 images with a convolutional network:

    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> clean = load_digits().images[:200] / 16.0
    >>> noisy = clean + np.random.default_rng(0).normal(0, 0.2, clean.shape)
    >>> reg = LossRegressor(loss="l1", module="conv_autoencoder", max_epochs=5,
    ...                     random_state=0).fit(noisy, clean)
    >>> reg.predict(noisy[:3]).shape, reg.input_shape_
    ((3, 8, 8), (8, 8))
    """

    _constraints = {
        "standardize_target": boolean | one_of("auto"),
        "module": Constraint(
            lambda v: not isinstance(v, str) or v in MODULE_NAMES,
            "None, 'mlp', 'conv_autoencoder', 'tabular', or a torch.nn.Module class, "
            "factory or instance",
        ),
    }

    def __init__(
        self,
        loss="mse",
        *,
        module=None,
        hidden_layer_sizes=(64, 64),
        activation="relu",
        dropout=0.0,
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size="auto",
        batch_sampler="auto",
        max_epochs=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        validation_scoring=None,
        standardize_target="auto",
        reweighting=None,
        callbacks=None,
        warm_start=False,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.loss = loss
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.batch_sampler = batch_sampler
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.validation_scoring = validation_scoring
        self.standardize_target = standardize_target
        self.reweighting = reweighting
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_prefixed(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    # -- fit hooks ------------------------------------------------------------
    def _check_target(self, y):
        if y is None:
            return  # scikit-learn's validation says that y is required
        shape = np.asarray(y).shape
        if len(shape) not in (1, 2, 3, 4):
            raise ValueError(
                "y must be 1-D (n_samples,), 2-D (n_samples, n_outputs) or "
                "image-shaped (n_samples, H, W) or (n_samples, C, H, W); got "
                f"shape {shape}."
            )

    def _target_validation(self):
        return {"multi_output": True, "y_numeric": True}

    def _validate_fit_data(self, X, y, reset):
        if y is None or (_ndim(X) <= 2 and _ndim(y) <= 2):
            X, y = super()._validate_fit_data(X, y, reset)
        else:
            if _ndim(X) <= 2:
                X = validate_data(self, X, dtype=(np.float64, np.float32), reset=reset)
            else:
                X = _check_nd("X", X, (3, 4))
                self._check_input_shape(X, reset)
            y = _check_nd("y", y, (1, 2, 3, 4))
            if y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"X and y must have one sample per row: X has {X.shape[0]} "
                    f"samples, y has {y.shape[0]}."
                )
        if reset:
            self.input_shape_ = tuple(X.shape[1:])
        return X, y

    def _check_input_shape(self, X, reset):
        if reset:
            self.n_features_in_ = math.prod(X.shape[1:])
            self.__dict__.pop("feature_names_in_", None)
        elif tuple(X.shape[1:]) != self.input_shape_:
            raise ValueError(
                f"X must have shape {_shape_text(self.input_shape_)} as in fit; got "
                f"{tuple(X.shape)}."
            )

    def _validate_X(self, X):
        if len(self.input_shape_) == 1:
            if _ndim(X) > 2:
                raise ValueError(
                    f"X must be a table of shape (n_samples, {self.n_features_in_}) "
                    f"as in fit; got shape {np.shape(X)}."
                )
            return super()._validate_X(X)
        X = _check_nd("X", X, (2, 3, 4))
        self._check_input_shape(X, reset=False)
        return X

    def _encode_target(self, y, warm):
        y = np.asarray(y, dtype=np.float64)
        if warm:
            if y.shape[1:] != self.output_shape_:
                raise ValueError(
                    "warm_start=True needs a target of the previous fit's shape "
                    f"{_shape_text(self.output_shape_)} (same number of outputs, "
                    f"{self.n_outputs_}, and dimensions); got shape {y.shape}."
                )
        else:
            self.output_shape_ = tuple(y.shape[1:])
            self.n_outputs_ = math.prod(self.output_shape_)
        # Standardised in _setup_loss, once the loss (and its link) is known.
        return y, "regression"

    def _build_loss(self, task):
        loss = super()._build_loss(task)
        link = getattr(loss, "prediction_link", None)
        if link not in _LINKS:
            raise ValueError(
                f"loss {loss.name!r} declares prediction_link={link!r}; "
                f"LossRegressor knows {sorted(map(str, _LINKS))}."
            )
        self._link = link
        return loss

    def _setup_loss(self, loss, arrays, n_classes):
        y = arrays["y"]
        flat = y.reshape(len(y), -1)
        if self._link == "sigmoid":
            low, high = (float(flat.min()), float(flat.max())) if flat.size else (0, 0)
            if low < 0 or high > 1:
                raise ValueError(
                    f"loss {loss.name!r} predicts probabilities: y must hold values "
                    f"in [0, 1] (0/1 masks, say); got values in [{low:g}, {high:g}]."
                )
        if not (self.warm_start and hasattr(self, "net_")):
            self._fit_standardization(flat)
        encoded = (flat - self.target_mean_) / self.target_scale_
        arrays["y"] = encoded.astype(np.float32).reshape(y.shape)
        # The conv network starts from the mean target image's level.
        w = arrays.get("sample_weight")
        per_row = encoded.mean(axis=1) if encoded.size else np.zeros(len(y))
        weighted = w is not None and len(w) == len(per_row) and np.sum(w) > 0
        self._start_level = (
            float(np.average(per_row, weights=w if weighted else None))
            if len(per_row)
            else 0.0
        )
        # a loss with statistics of the targets (bce) takes them
        setup_with(loss, n_samples=len(y), n_classes=n_classes, target=arrays["y"])

    def _fit_standardization(self, flat):
        """``target_mean_`` and ``target_scale_`` from the flattened targets."""
        k = flat.shape[1]
        standardize = self.standardize_target
        if standardize == "auto":
            standardize = len(self.output_shape_) <= 1
        if self._link is not None or not standardize:
            self.target_mean_, self.target_scale_ = np.zeros(k), np.ones(k)
        elif len(self.output_shape_) <= 1:
            scale = flat.std(axis=0)
            self.target_mean_ = flat.mean(axis=0)
            self.target_scale_ = np.where(scale > 0, scale, 1.0)
        else:  # one mean and scale for a whole image-shaped target
            scale = float(flat.std())
            self.target_mean_ = np.full(k, float(flat.mean()))
            self.target_scale_ = np.full(k, scale if scale > 0 else 1.0)

    def _n_outputs(self, loss, task):
        if len(self.output_shape_) > 1:
            return self.output_shape_
        return self.n_outputs_

    def _build_module(self, n_features, n_outputs):
        in_shape, out_shape = self.input_shape_, self.output_shape_
        conv_fits = (
            len(in_shape) > 1 and len(out_shape) > 1 and in_shape[-2:] == out_shape[-2:]
        )
        module = self.module
        if module is None:
            module = "conv_autoencoder" if conv_fits else "mlp"
        params = self._prefixed_params("module")
        n_in, n_out = self.n_features_in_, self.n_outputs_
        if module == "conv_autoencoder":
            if not conv_fits:
                raise ValueError(
                    "module='conv_autoencoder' maps images to images of the same "
                    "height and width: X of shape (n, H, W) or (n, C, H, W) and y of "
                    f"shape (n, H, W) or (n, C', H, W); got samples of shape "
                    f"{in_shape} (X) and {out_shape} (y). Use module='mlp'."
                )
            net = ConvAutoencoder(
                1 if len(in_shape) == 2 else in_shape[0],
                1 if len(out_shape) == 2 else out_shape[0],
                *in_shape[-2:],
                squeeze=len(out_shape) == 2,
                **{"activation": self.activation, **params},
            )
            if self._link is None:
                # Outputs start at the targets' mean level, not near 0: SSIM's
                # luminance term has the wrong sign below 0 for images in
                # [0, L], and a network started there does not recover.
                with torch.no_grad():
                    net.head.bias.fill_(getattr(self, "_start_level", 0.0))
            return net
        if module == "mlp":
            mlp = MLP(
                n_in,
                n_out,
                hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                activation=self.activation,
                dropout=self.dropout,
                **params,
            )
            if len(in_shape) == 1 and len(out_shape) <= 1:
                return mlp
            return _Reshaped(mlp, out_shape)
        if module == "tabular" and (len(in_shape) > 1 or len(out_shape) > 1):
            raise ValueError(
                "module='tabular' takes a table X and a target of shape (n,) or "
                f"(n, k); got samples of shape {in_shape} (X) and {out_shape} (y). "
                "Use module='mlp' or 'conv_autoencoder'."
            )
        return super()._build_module(n_in, n_out)

    def _valid_score_fn(self, valid, loss):
        """Return ``outputs -> score`` for the validation rows ``valid``."""
        y = self._restore(valid["y"])
        w = valid.get("sample_weight")
        scoring = self.validation_scoring
        if scoring is None:

            def r2(outputs):
                pred = self._decode(outputs.detach().cpu().double().numpy())
                return self._r2(y, pred, w)

            return r2
        scorer = check_scoring(self, scoring=scoring)
        rows = np.arange(len(y)).reshape(-1, 1)
        kwargs = {} if w is None else {"sample_weight": w}
        table = self._as_table

        def score(outputs):
            pred = self._decode(outputs.detach().cpu().double().numpy())
            return float(
                scorer(_FrozenPredictions(table(pred)), rows, table(y), **kwargs)
            )

        return score

    # -- outputs --------------------------------------------------------------
    def _restore(self, values):
        """Encoded targets in the target's units and shape."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        values = values * self.target_scale_ + self.target_mean_
        return values.reshape(len(values), *self.output_shape_)

    def _decode(self, outputs):
        """Network outputs as predictions, in the target's units and shape."""
        link = _LINKS[getattr(self, "_link", None)]
        outputs = np.asarray(outputs, dtype=np.float64)
        return self._restore(outputs if link is None else link(outputs))

    def _as_table(self, values):
        """Image-shaped values as ``(n, n_outputs_)``; tables as they are."""
        values = np.asarray(values)
        return values.reshape(len(values), -1) if values.ndim > 2 else values

    def _r2(self, y, pred, sample_weight=None):
        if len(self.output_shape_) <= 1:
            return float(r2_score(y, pred, sample_weight=sample_weight))
        return float(
            r2_score(
                self._as_table(y),
                self._as_table(pred),
                sample_weight=sample_weight,
                multioutput="variance_weighted",
            )
        )

    def predict(self, X):
        """Predicted targets, of shape ``(n_samples, *output_shape_)``:
        ``(n_samples,)`` for a 1-D ``y`` in ``fit``, ``(n_samples, n_outputs_)``
        for a 2-D one, images for image-shaped targets; probabilities for a
        loss with a sigmoid link (``"bce"``)."""
        return self._decode(self._outputs(X))

    def score(self, X, y, sample_weight=None):
        """R² of ``predict(X)``: scikit-learn's for a table target; for an
        image-shaped target, R² of the flattened values weighted by their
        variance (constant pixels do not count)."""
        if _ndim(y) <= 2 and len(getattr(self, "output_shape_", ())) <= 1:
            return super().score(X, y, sample_weight=sample_weight)
        return self._r2(y, self.predict(X), sample_weight)


class _Reshaped(torch.nn.Module):
    """A network on flattened inputs whose outputs take a per-sample shape."""

    def __init__(self, module, shape):
        super().__init__()
        self.module = module
        self.shape = tuple(shape)
        self.n_outputs = self.shape if len(self.shape) > 1 else module.n_outputs

    def forward(self, X):
        out = self.module(X.reshape(X.shape[0], -1))
        return out.reshape(X.shape[0], *self.shape)


def _shape_text(shape):
    """``(n_samples, *shape)`` as text."""
    return "(" + ", ".join(["n_samples", *map(str, shape)]) + ")"


def _ndim(X):
    """Dimensions of ``X`` without copying a DataFrame or sparse matrix (a
    table); 2 for what numpy cannot read (scikit-learn's validation says
    why)."""
    shape = getattr(X, "shape", None)
    if isinstance(shape, tuple):
        return len(shape)
    try:
        return np.asarray(X).ndim
    except (TypeError, ValueError):
        return 2


def _check_nd(name, A, ndims):
    """``A`` as a float array of ``ndims`` dimensions, numeric and finite, with
    at least one sample."""
    try:
        A = np.asarray(A)
        if A.dtype.kind not in "biuf":
            A = A.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric; {exc}.") from None
    if A.ndim not in ndims:
        dims = ", ".join(f"{d}-D" for d in ndims)
        raise ValueError(
            f"{name} must be {dims} (images: (n_samples, H, W) or (n_samples, C, "
            f"H, W)); got shape {A.shape}."
        )
    if A.shape[0] < 1 or A.size == 0:
        raise ValueError(
            f"{name} must hold at least one sample of at least one value; got shape "
            f"{A.shape}."
        )
    A = A.astype(np.float32 if A.dtype == np.float32 else np.float64, copy=False)
    if not np.isfinite(A).all():
        bad = int(A.size - np.isfinite(A).sum())
        raise ValueError(
            f"{name} contains NaN or infinity ({bad} value(s)); image inputs and "
            "targets must be finite."
        )
    return A


class _FrozenPredictions(RegressorMixin, BaseEstimator):
    """A fitted-looking regressor over precomputed predictions, for scorers.

    ``X`` is a column of row indices into ``predictions``.
    """

    def __init__(self, predictions):
        self.predictions = predictions

    def __sklearn_is_fitted__(self):
        return True

    def predict(self, X):
        return self.predictions[np.asarray(X).ravel()]
