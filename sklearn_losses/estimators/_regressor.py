"""``LossRegressor``: a neural regressor whose loss is a constructor parameter."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import check_scoring, r2_score

from .._validation import boolean
from ._base import BaseLossEstimator
from ._docs import fill_doc

__all__ = ["LossRegressor"]


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
        the quantile level, for a quantile regressor).
    %(network)s
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
        the (weighted) R².
    standardize_target : bool, default=True
        Train on ``(y - mean) / std`` per output (mean and standard deviation
        of each ``fit``'s training targets, of the first fit with
        ``warm_start``; a constant output keeps scale 1) and restore
        predictions to the target's units. ``False`` trains on ``y`` as
        it is.
    %(reweighting)s
    %(runtime)s

    Attributes
    ----------
    n_outputs_ : int
        Number of target columns (1 for a 1-D ``y``).
    target_mean_, target_scale_ : ndarray of shape (n_outputs_,)
        The standardisation of the targets (0 and 1 when
        ``standardize_target=False``).
    %(fitted)s

    See Also
    --------
    sklearn_losses.LossClassifier : The classifier on the same template.

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
    """

    _constraints = {"standardize_target": boolean}

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
        standardize_target=True,
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
        if len(shape) not in (1, 2):
            raise ValueError(
                "y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs); got "
                f"shape {shape}."
            )

    def _target_validation(self):
        return {"multi_output": True, "y_numeric": True}

    def _encode_target(self, y, warm):
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if warm:
            if y2.shape[1] != self.n_outputs_ or np.ndim(y) != self._y_ndim:
                raise ValueError(
                    "warm_start=True needs a target of the previous fit's shape "
                    f"(same number of outputs, {self.n_outputs_}, and dimensions, "
                    f"{self._y_ndim}); got shape {np.shape(y)}."
                )
        else:
            self.n_outputs_ = y2.shape[1]
            self._y_ndim = np.ndim(y)
            if self.standardize_target:
                scale = y2.std(axis=0)
                self.target_mean_ = y2.mean(axis=0)
                self.target_scale_ = np.where(scale > 0, scale, 1.0)
            else:
                self.target_mean_ = np.zeros(y2.shape[1])
                self.target_scale_ = np.ones(y2.shape[1])
        encoded = ((y2 - self.target_mean_) / self.target_scale_).astype(np.float32)
        if self._y_ndim == 1:
            encoded = encoded.reshape(-1)
        return encoded, "regression"

    def _n_outputs(self, loss, task):
        return self.n_outputs_

    def _valid_score_fn(self, valid, loss):
        """Return ``outputs -> score`` for the validation rows ``valid``."""
        y = self._decode(valid["y"])
        w = valid.get("sample_weight")
        scoring = self.validation_scoring
        if scoring is None:

            def r2(outputs):
                pred = self._decode(outputs.detach().cpu().double().numpy())
                return float(r2_score(y, pred, sample_weight=w))

            return r2
        scorer = check_scoring(self, scoring=scoring)
        rows = np.arange(len(y)).reshape(-1, 1)
        kwargs = {} if w is None else {"sample_weight": w}

        def score(outputs):
            pred = self._decode(outputs.detach().cpu().double().numpy())
            return float(scorer(_FrozenPredictions(pred), rows, y, **kwargs))

        return score

    # -- outputs --------------------------------------------------------------
    def _decode(self, outputs):
        """Network outputs (or encoded targets) in the target's units and shape."""
        values = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
        values = values * self.target_scale_ + self.target_mean_
        return values.reshape(-1) if self._y_ndim == 1 else values

    def predict(self, X):
        """Predicted targets: shape ``(n_samples,)`` for a 1-D ``y`` in ``fit``,
        ``(n_samples, n_outputs_)`` otherwise."""
        return self._decode(self._outputs(X))


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
