"""``LossEmbedder``: a transformer that learns an embedding with a metric loss."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import _num_samples

from .._validation import Constraint, boolean, integer
from ..losses._embedding import EmbeddingLoss
from ..losses.metrix import MetrixLoss
from ..modules.mlp import EmbeddingNet
from ..sampling._batches import MPerClassBatches, RandomBatches
from ._base import BaseLossEstimator
from ._docs import fill_doc

__all__ = ["LossEmbedder"]

#: Metric names ``validation_scoring`` takes (besides ``"recall@k"``).
EMBEDDING_METRICS = ("recall@1", "map@r", "knn_accuracy")

#: ``mixup`` values.
MIXUPS = ("metrix",)


def _constraint_of_embedding_scoring(value):
    if value is None or callable(value):
        return True
    if not isinstance(value, str):
        return False
    if value in EMBEDDING_METRICS:
        return True
    head, _, k = value.partition("@")
    return head == "recall" and k.isdigit() and int(k) >= 1


@fill_doc
class LossEmbedder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseLossEstimator
):
    """Neural embedding of tables trained with a metric-learning loss.

    A scikit-learn transformer: ``fit(X, y)`` trains a network that maps each
    row to ``n_components`` numbers such that rows of the same class are near
    and rows of different classes far, by the loss of your choice;
    ``transform(X)`` returns the embeddings. Put it before a
    :class:`~sklearn.neighbors.KNeighborsClassifier` (or any estimator) in a
    Pipeline and search the loss like any parameter.

    Parameters
    ----------
    loss : str, BaseLoss subclass or instance, default="multi_similarity"
        The metric-learning loss, one of ``list_losses("embedding")``:
        ``"multi_similarity"``, ``"contrastive"``, ``"infonce"``,
        ``"proto_triplet"``, ``"icnn"``, ``"unpg"``, ``"cwcl"`` (a paired
        ``view=`` in ``fit``, else the input ``X``), ``"groco"``; parameters
        as ``loss__<name>`` (and ``loss__miner__epsilon`` for an object the
        loss takes).
    n_components : int, default=16
        Width of the embedding.
    normalize : bool, default=True
        Scale every embedding to unit Euclidean norm, in training and in
        ``transform`` (the cosine geometry most metric losses assume;
        Euclidean neighbours of unit vectors are cosine neighbours).
    mixup : None or "metrix", default=None
        ``"metrix"`` wraps the loss in :class:`~sklearn_losses.losses.
        MetrixLoss` (mixup of embeddings of different classes with mixed
        labels); its parameters as ``mixup__alpha`` and ``mixup__weight``.
    %(network)s
    batch_size : int or "auto", default="auto"
        Rows per batch; ``"auto"`` is 128.
    batch_sampler : "auto", "random" or BatchPlan, default="auto"
        ``"auto"``: :class:`~sklearn_losses.sampling.MPerClassBatches` with
        ``m = min(max(2, batch_size // n_classes), 32, fewest rows of a
        class)``, so that every anchor has positives in its batch (P classes
        times ``m`` rows); random rows without labels. ``"random"``: plain
        shuffled batches. A :class:`~sklearn_losses.sampling.BatchPlan` for
        anything else (``MPerClassBatches(m=8)``, say).
    %(epochs)s
    validation_scoring : None, str or callable, default=None
        The score recorded each epoch as ``valid_score`` (monitored by early
        stopping) on the validation rows' embeddings, leave-one-out: ``None``
        or ``"recall@1"`` (Recall@1), ``"recall@k"``, ``"map@r"`` (MAP@R) or
        ``"knn_accuracy"`` (5 neighbours), or a callable
        ``metric(embeddings, labels) -> float`` (greater is better).
    %(runtime)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit`` (absent after a fit without labels).
    n_components_ : int
        Width of the embedding (``n_components``).
    %(fitted)s

    See Also
    --------
    sklearn_losses.metrics.recall_at_k : Recall@k of embeddings.
    sklearn.neighbors.NeighborhoodComponentsAnalysis : A linear metric learner.

    Notes
    -----
    Labels are any values (strings too); only equality matters. A
    ``sample_weight`` weighs a row *as an anchor*: its pairs (or its term) count
    ``w`` times in the batch loss, scaled to mean 1 over the training rows; the
    rows it is a positive or negative of are unweighted. ``fit(X)`` without
    labels works for a loss that makes its own positives (``"infonce"`` with
    ``loss__augment``): each row is its own class. A paired second view for
    ``"cwcl"`` (an embedding of the same rows from elsewhere: PCA of other
    columns, a pretrained model) is passed as ``fit(X, y, view=V)``, or
    ``pipeline.fit(X, y, lossembedder__view=V)``; without one, the frozen view
    is the embedder's input ``X`` itself (its pair weights are the cosine
    similarities of the input rows, and the embedding keeps their
    neighbourhoods; ``"cwcl"`` does not read the labels).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_losses import LossEmbedder
    >>> X, y = load_digits(return_X_y=True)
    >>> embedder = LossEmbedder(n_components=8, max_epochs=10, random_state=0)
    >>> pipe = make_pipeline(StandardScaler(), embedder, KNeighborsClassifier())
    >>> pipe.fit(X[:1000], y[:1000]).score(X[1000:], y[1000:]) > 0.85
    True
    >>> pipe[:-1].transform(X[:2]).shape
    (2, 8)
    """

    prefixes = (
        "loss",
        "module",
        "optimizer",
        "callbacks",
        "batch_sampler",
        "mixup",
    )

    _constraints = {
        "n_components": integer(1),
        "normalize": boolean,
        "mixup": Constraint(
            lambda v: v is None or (isinstance(v, str) and v in MIXUPS),
            "None or 'metrix'",
        ),
        "validation_scoring": Constraint(
            _constraint_of_embedding_scoring,
            "None, 'recall@k' (k >= 1), 'map@r', 'knn_accuracy' or a callable "
            "metric(embeddings, labels)",
        ),
    }

    def __init__(
        self,
        loss="multi_similarity",
        *,
        n_components=16,
        normalize=True,
        mixup=None,
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
        callbacks=None,
        warm_start=False,
        device="cpu",
        random_state=None,
        verbose=0,
        **kwargs,
    ):
        self.loss = loss
        self.n_components = n_components
        self.normalize = normalize
        self.mixup = mixup
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
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self._set_prefixed(kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags

    @property
    def _n_features_out(self):
        return self.n_components_

    # -- fit ------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None, *, view=None, **fit_params):
        """Train the embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features.
        y : array-like of shape (n_samples,), default=None
            Class labels of any type (equal labels make positive pairs).
            ``None`` only for a loss that makes its own positives
            (``"infonce"`` with ``loss__augment``): each row is then its own
            class.
        sample_weight : array-like of shape (n_samples,), default=None
            The weight of each row as an anchor (see Notes).
        view : array-like of shape (n_samples, n_view_features), default=None
            A paired second view of each row, for a loss that needs one
            (``"cwcl"``: the frozen embedding its pair weights come from;
            without it, ``X`` is that view).
        **fit_params : array-like of shape (n_samples, ...)
            Other per-sample inputs the loss declares in ``requires``.

        Returns
        -------
        self
        """
        if view is not None:
            fit_params = {**fit_params, "view": view}
        self._unlabelled = y is None
        try:
            if y is None:
                y = np.arange(_num_samples(X))
            return super().fit(X, y, sample_weight=sample_weight, **fit_params)
        finally:
            del self._unlabelled

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the embeddings of ``X``."""
        return self.fit(X, y, **fit_params).transform(X)

    def _check_target(self, y):
        shape = np.asarray(y).shape
        if len(shape) != 1 and not (len(shape) == 2 and shape[1] == 1):
            raise ValueError(
                f"y must be 1-D (one class label per row); got shape {shape}."
            )

    def _encode_target(self, y, warm):
        y = np.asarray(y).reshape(-1)
        if self._unlabelled:
            if hasattr(self, "classes_") and not warm:
                del self.classes_
            self._n_labels = y.shape[0]
            return y.astype(np.int64), "embedding"
        try:
            classes, encoded = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise TypeError(f"y must hold labels of one type; {exc}.") from None
        if not warm:
            self.classes_ = classes
        self._n_labels = classes.shape[0]
        return encoded.astype(np.int64), "embedding"

    def _n_classes(self):
        return None if self._unlabelled else self._n_labels

    def _n_outputs(self, loss, task):
        return self.n_components_

    def _build_loss(self, task):
        loss = super()._build_loss(task)
        if not isinstance(loss, EmbeddingLoss):
            raise ValueError(
                f"loss {loss.name!r} is not an embedding loss; LossEmbedder takes the "
                "losses of list_losses('embedding')."
            )
        if self._unlabelled and not loss.learns_without_labels():
            raise ValueError(
                f"LossEmbedder requires y to be passed, but the target y is None: "
                f"loss {loss.name!r} learns from class labels. Only a loss that makes "
                "its own positives trains without y (loss='infonce' with "
                "loss__augment='noise', say)."
            )
        if not self.warm_start or not hasattr(self, "net_"):
            self.n_components_ = self.n_components
        elif self.n_components != self.n_components_:
            raise ValueError(
                "warm_start=True keeps the network of the previous fit "
                f"(n_components={self.n_components_}); refit with warm_start=False "
                f"for n_components={self.n_components}."
            )
        params = self._prefixed_params("mixup")
        if self.mixup is None:
            if params:
                raise ValueError(
                    f"mixup__* parameters ({sorted(params)}) need mixup='metrix'."
                )
            return loss
        params = {k: v for k, v in params.items() if v is not None}
        try:
            return MetrixLoss(loss, **params)
        except TypeError as exc:
            raise ValueError(
                f"Invalid mixup__* parameter: {exc} (MetrixLoss takes alpha, weight)."
            ) from None

    def _setup_loss(self, loss, arrays, n_classes):
        if "view" in loss.requires and arrays.get("view") is None:
            # Without a paired view, the frozen view is the embedder's input.
            arrays["view"] = arrays["X"]
        inputs = {
            k: torch.as_tensor(arrays[k])
            for k in loss.requires
            if k in arrays and arrays[k] is not None
        }
        loss.setup(
            n_samples=arrays["X"].shape[0],
            n_classes=n_classes,
            n_components=self.n_components_,
            inputs=inputs,
        )

    def _build_module(self, n_features, n_outputs):
        wrapped = EmbeddingNet(
            super()._build_module(n_features, n_outputs), normalize=self.normalize
        )
        wrapped.n_outputs = n_outputs
        return wrapped

    def _build_reweighting(self, loss):
        return None  # metric losses are not per-sample: no loss reweighting

    def _batch_plan(self, loss, n_train, n_classes):
        batch_size = 128 if self.batch_size == "auto" else self.batch_size
        spec = self.batch_sampler
        if isinstance(spec, str) and spec == "auto":
            if n_classes is None:
                return batch_size, RandomBatches()
            counts = np.bincount(self._train_labels)
            fewest = int(counts[counts > 0].min())
            m = min(max(2, batch_size // n_classes), 32, fewest)
            return batch_size, MPerClassBatches(m=m)
        batch_size, plan = super()._batch_plan(loss, n_train, n_classes)
        if isinstance(plan, MPerClassBatches) and n_classes is not None:
            counts = np.bincount(self._train_labels, minlength=n_classes)
            small = np.flatnonzero((counts > 0) & (counts < plan.m))
            if small.size:
                labels = self.classes_[small].tolist()
                raise ValueError(
                    f"batch_sampler={plan!r} needs at least m={plan.m} training rows "
                    f"of every class; class(es) {labels[:10]} have fewer (fewest: "
                    f"{int(counts[small].min())}). Lower m, or leave batch_sampler="
                    "'auto' (m adapts to the smallest class)."
                )
        return batch_size, plan

    def _train(self, arrays, n_features, n_outputs, loss, score_fn, n_classes=None):
        warm = self.warm_start and hasattr(self, "net_")
        if warm:
            _share_parameters(self.net_.criterion_, loss)
        if self.early_stopping:
            # The plan sees the training part of the split; the split is made
            # in the base class, so the labels for the plan come from there.
            self._train_labels = None
        else:
            self._train_labels = arrays["y"]
        try:
            return super()._train(
                arrays, n_features, n_outputs, loss, score_fn, n_classes
            )
        finally:
            self.__dict__.pop("_train_labels", None)

    def _split_indices(self, n, stratify, fraction, seed, groups=None):
        train, valid = super()._split_indices(n, stratify, fraction, seed, groups)
        if stratify is not None:
            self._train_labels = stratify[train]
        return train, valid

    def _valid_score_fn(self, valid, loss):
        """Return ``embeddings -> score`` for the validation rows ``valid``."""
        from ..metrics._embedding import knn_accuracy, map_at_r, recall_at_k

        labels = valid["y"]
        scoring = self.validation_scoring
        if callable(scoring):
            metric = scoring
        elif scoring is None or scoring.startswith("recall@"):
            k = 1 if scoring is None else int(scoring.partition("@")[2])

            def metric(emb, lab):
                return recall_at_k(emb, lab, k=k)

        elif scoring == "map@r":
            metric = map_at_r
        else:

            def metric(emb, lab):
                return knn_accuracy(emb, lab, n_neighbors=min(5, len(lab) - 1))

        def score(outputs):
            emb = outputs.detach().cpu().double().numpy()
            return float(metric(emb, labels))

        return score

    # -- transform ------------------------------------------------------------
    def transform(self, X):
        """The embeddings of ``X``, shape ``(n_samples, n_components)``."""
        return self._outputs(X)


def _share_parameters(previous, loss):
    """Make ``loss`` (this fit's) use ``previous``'s parameter tensors, so that a
    warm-started optimizer keeps training them (a class-weight head, say)."""
    old = dict(previous.named_parameters())
    new = dict(loss.named_parameters())
    if not new:
        return
    if set(old) != set(new) or any(old[k].shape != new[k].shape for k in new):
        raise ValueError(
            "warm_start=True keeps the loss's trained parameters "
            f"({sorted(old) or 'none'}), but this fit's loss has others "
            f"({sorted(new)}); refit with warm_start=False to change the loss."
        )
    for name, param in old.items():
        owner_name, _, leaf = name.rpartition(".")
        owner = loss.get_submodule(owner_name) if owner_name else loss
        owner._parameters[leaf] = param
