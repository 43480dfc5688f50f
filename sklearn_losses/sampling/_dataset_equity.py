"""``DatasetEquityReweighter``: label-free DatasetEquity sample likelihoods,
weights and likelihood-weighted resampling (Shrivastava et al., ICCV-W 2023)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from imblearn.base import BaseSampler
from imblearn.utils import check_target_type
from sklearn.base import BaseEstimator, clone
from sklearn.cluster import DBSCAN
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, validate_data

from .._validation import (
    Constraint,
    check_random_state_param,
    one_of,
    real,
    validate_params,
)
from ..losses.dataset_equity import dequity_weights

__all__ = ["DatasetEquityReweighter", "cluster_likelihood"]

_REDUCERS = ("auto", "tsne", "pca")
_STRATEGIES = ("all", "per_class")
#: ``reducer="auto"`` uses t-SNE up to this many rows, PCA above.
TSNE_MAX_SAMPLES = 20_000


def cluster_likelihood(labels, noise_as_cluster=False):
    """Dataset likelihood of each sample from cluster labels.

    ``p_i = size(cluster of i) / size(largest cluster)``, in ``(0, 1]``. Noise
    (label ``-1``) is excluded when the largest cluster is taken.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Integer cluster labels; ``-1`` marks noise (DBSCAN's convention).
    noise_as_cluster : bool, default=False
        ``False``: every noise point is a singleton cluster (``p = 1 / largest``).
        ``True``: the noise points form one cluster, as in the reference code,
        so each gets ``p = min(1, n_noise / largest)``.

    Returns
    -------
    ndarray of shape (n_samples,)
        The likelihoods. Without any non-noise cluster the largest cluster is
        the noise set (``noise_as_cluster=True``) or a singleton (``False``), so
        every ``p`` is 1.

    Examples
    --------
    >>> from sklearn_losses.sampling import cluster_likelihood
    >>> cluster_likelihood([0, 0, 0, 0, 1, 1, 2, -1, -1]).tolist()
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25]
    >>> cluster_likelihood([0, 0, 0, 0, 1, 1, 2, -1, -1], noise_as_cluster=True)[-2:]
    array([0.5, 0.5])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] == 0:
        raise ValueError(
            f"labels must be a non-empty 1-d array, got shape {labels.shape}."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"cluster labels must be integers (-1 for noise), got dtype {labels.dtype}."
        )
    noise = labels == -1
    n_noise = int(noise.sum())
    sizes = np.zeros(labels.shape[0], dtype=np.float64)
    clustered = labels[~noise]
    largest = 0
    if clustered.size:
        uniq, inverse, counts = np.unique(
            clustered, return_inverse=True, return_counts=True
        )
        sizes[~noise] = counts[inverse]
        largest = int(counts.max())
    if noise_as_cluster:
        sizes[noise] = n_noise
        largest = largest or n_noise
    else:
        sizes[noise] = 1.0
        largest = largest or 1
    return np.minimum(sizes / largest, 1.0)


def check_user_weights(sample_weight, X):
    """``_check_sample_weight`` (non-negative, float64), whose conversion errors
    (strings) name ``sample_weight`` too."""
    try:
        return _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    except (TypeError, ValueError) as exc:
        if "sample" in str(exc).lower():
            raise
        raise TypeError(f"sample_weight must be numeric; {exc}.") from exc


class DatasetEquityReweighter(BaseSampler):
    r"""DatasetEquity sample likelihoods and weights, and a likelihood sampler.

    The label-free "dataset likelihood" of DatasetEquity (Shrivastava et al.,
    2023): embed the samples, reduce the embedding to 3 dimensions, cluster it
    with DBSCAN, and give each sample

    .. math::

        p_i = \frac{\text{size of the cluster of } i}{\text{size of the largest
        cluster}} \in (0, 1], \qquad
        w_i = \frac{\eta + (1 - p_i)^{\gamma}}{\eta + 1},

    so samples of small clusters (rare samples) get weights close to 1 and
    those of the largest cluster get :math:`\eta / (\eta + 1)`.

    ``fit(X)`` computes ``likelihood_`` and ``weights_`` for the training rows.
    ``fit_resample(X, y)`` also draws rows with replacement with probability
    proportional to ``weights_`` (resampling that equals the weighting in
    expectation): it is an imbalanced-learn sampler, a step of
    :class:`imblearn.pipeline.Pipeline` (which calls ``fit_resample`` during fit
    only and skips the step at predict time). Weights of the user passed to
    ``fit_resample(X, y, sample_weight=w)`` (in a Pipeline:
    ``<step>__sample_weight=w``) multiply the drawing probabilities, so they
    survive the resampling. To pass the weights as ``sample_weight`` instead,
    use :class:`~sklearn_losses.sampling.Reweighted` or ``reweighter=`` of
    :class:`~sklearn_losses.LossClassifier`.

    The likelihood ignores ``y`` (as in the paper) and is transductive: the
    clustering of one set of rows says nothing about new rows, so there is no
    ``transform``; :meth:`compute_likelihood` clusters a given ``X`` afresh.

    Parameters
    ----------
    embedding : None or transformer, default=None
        Maps ``X`` to the space that is reduced and clustered. ``None``:
        ``StandardScaler`` then ``PCA(min(50, n_features, n_samples))``. A
        transformer is cloned and fitted on ``X`` (``fit_transform``).
    reducer : {"auto", "tsne", "pca"} or None, default="auto"
        Reduction of the embedding to 3 dimensions before clustering.
        ``"tsne"``: ``TSNE(n_components=3, perplexity=min(30, n_samples - 1),
        max_iter=500, learning_rate="auto", init="pca")``, the paper's values
        (slow: minutes from about 10k rows). ``"pca"``: ``PCA(3)`` (fewer
        components when the embedding has fewer). ``"auto"``: t-SNE up to
        20,000 rows, PCA above. ``None``: cluster the embedding itself.
    clusterer : None or clusterer, default=None
        ``None``: ``DBSCAN(eps=1.0, min_samples=10)`` (the paper's values). Any
        object with ``fit_predict`` (or ``fit`` and ``labels_``) returning integer
        labels, ``-1`` for noise, e.g. ``HDBSCAN(min_cluster_size=10)``; it is
        cloned when it is an estimator.
    noise_as_cluster : bool, default=False
        ``False``: each noise point is its own singleton cluster, the rarest
        samples. ``True``: the noise points form one cluster, as in the
        reference code. See :func:`cluster_likelihood`.
    eta : float, default=1.0
        :math:`\eta \ge 0`: the weights lie in :math:`[\eta / (\eta + 1), 1]`.
    gamma : float, default=5.0
        :math:`\gamma \ge 0`: the focusing exponent; 0 gives equal weights.
    sampling_strategy : "all", "per_class", dict or callable, default="all"
        How :meth:`fit_resample` draws. ``"all"``: ``n_samples`` rows from all
        rows, so the class counts follow the weights (label-free, as the
        paper). ``"per_class"``: each class keeps its count, rows drawn within
        it. A dict ``{label: n}``: ``n`` rows of each listed class, the other
        classes keep their counts; a callable ``f(y)`` returns such a dict.
        Rows are always drawn in proportion to their weight.
    random_state : int, RandomState instance or None, default=None
        Seeds t-SNE and the draws of :meth:`fit_resample`.

    Attributes
    ----------
    likelihood_ : ndarray of shape (n_samples,)
        :math:`p_i` of the training rows.
    weights_ : ndarray of shape (n_samples,)
        :math:`w(p_i)` of the training rows.
    labels_ : ndarray of shape (n_samples,)
        Cluster labels of the training rows (``-1``: noise).
    sample_indices_ : ndarray of shape (n_resampled,)
        Rows drawn by the last :meth:`fit_resample` (absent after :meth:`fit`).
    sampling_strategy_ : dict
        ``{label: rows drawn}`` of the last :meth:`fit_resample`.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a DataFrame ``X``.

    See Also
    --------
    sklearn_losses.sampling.Reweighted : fit an estimator with these weights.
    sklearn_losses.losses.dataset_equity.dequity_weights : :math:`w(p)`.

    Notes
    -----
    The paper embeds images with a pretrained ResNet-101; for tabular data the
    default embedding is the standardized features (PCA only caps the
    dimension). ``DBSCAN(eps=1.0)`` depends on the scale of the reduced space;
    with other data pass a ``clusterer`` tuned to it (or ``HDBSCAN``).

    In an imbalanced-learn Pipeline the steps after the sampler see the drawn
    rows, so do not pass per-row weights to them (``<final>__sample_weight``):
    with ``sampling_strategy="all"`` the row count is unchanged and the weights
    would silently pair with other rows. Give the weights to the sampler
    instead (metadata routing), which folds them into the draws.

    References
    ----------
    .. [1] S. Shrivastava, X. Zhang, S. Nagesh, A. Parchami, "DatasetEquity: Are
       All Samples Created Equal? In The Quest For Equity Within Datasets",
       ICCV Workshops 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_losses.sampling import DatasetEquityReweighter
    >>> X, y = make_blobs([60, 20], centers=[[0, 0], [8, 8]], random_state=0)
    >>> rw = DatasetEquityReweighter(reducer="pca").fit(X)
    >>> np.unique(rw.likelihood_.round(2)).tolist()  # the two blobs
    [0.33, 1.0]
    >>> np.unique(rw.weights_.round(4)).tolist()
    [0.5, 0.5658]
    >>> X_res, y_res = rw.set_params(random_state=0).fit_resample(X, y)
    >>> X_res.shape
    (80, 2)
    """

    def __init__(
        self,
        embedding=None,
        reducer="auto",
        clusterer=None,
        noise_as_cluster=False,
        eta=1.0,
        gamma=5.0,
        sampling_strategy="all",
        random_state=None,
    ):
        self.embedding = embedding
        self.reducer = reducer
        self.clusterer = clusterer
        self.noise_as_cluster = noise_as_cluster
        self.eta = eta
        self.gamma = gamma
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state

    _sampling_type = "bypass"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        tags.input_tags.sparse = False
        return tags

    # -- validation -------------------------------------------------------------
    _constraints = {
        "embedding": Constraint(
            lambda v: (
                v is None
                or hasattr(v, "fit_transform")
                or (hasattr(v, "fit") and hasattr(v, "transform"))
            ),
            "None or a transformer (with fit_transform)",
        ),
        "reducer": Constraint(lambda v: v is None, "None") | one_of(*_REDUCERS),
        "clusterer": Constraint(
            lambda v: v is None or hasattr(v, "fit_predict") or hasattr(v, "fit"),
            "None or a clusterer with fit_predict (or fit and labels_)",
        ),
        "noise_as_cluster": Constraint(
            lambda v: isinstance(v, bool | np.bool_), "True or False"
        ),
        "eta": real(0),
        "gamma": real(0),
        "sampling_strategy": Constraint(
            lambda v: (
                (isinstance(v, str) and v in _STRATEGIES)
                or isinstance(v, dict)
                or callable(v)
            ),
            '"all", "per_class", a dict {label: n_samples} or a callable returning one',
        ),
    }

    # imbalanced-learn's fit_resample runs scikit-learn's parameter validation,
    # which reads this; the parameters are checked by _check_params instead.
    _parameter_constraints: dict = {}

    def _check_params(self):
        validate_params(self, self._constraints)
        check_random_state_param(self.random_state)

    def _validate_X(self, X, reset):
        return validate_data(
            self, X, reset=reset, dtype=(np.float64, np.float32), ensure_min_samples=2
        )

    # -- the pipeline embed -> reduce -> cluster ----------------------------------
    def _embed(self, X):
        n, d = X.shape
        if self.embedding is None:
            emb = make_pipeline(StandardScaler(), PCA(min(50, d, n)))
        else:
            emb = clone(self.embedding)
        if hasattr(emb, "fit_transform"):
            Z = emb.fit_transform(X)
        else:
            Z = emb.fit(X).transform(X)
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim != 2 or Z.shape[0] != n:
            raise ValueError(
                f"embedding must return one row per sample ({n}); got an array of "
                f"shape {Z.shape}."
            )
        return Z

    def _reduce(self, Z):
        n, d = Z.shape
        reducer = self.reducer
        if reducer == "auto":
            reducer = "tsne" if n <= TSNE_MAX_SAMPLES else "pca"
        if reducer == "tsne":
            if n < 3:
                raise ValueError(f"t-SNE needs at least 3 samples; got {n}.")
            tsne = TSNE(
                n_components=3,
                perplexity=float(min(30, n - 1)),
                max_iter=500,
                learning_rate="auto",
                init="pca" if d >= 3 else "random",
                random_state=self.random_state,
            )
            return tsne.fit_transform(Z)
        if reducer == "pca":
            k = min(3, d, n)
            return PCA(k).fit_transform(Z) if k < d else Z
        return Z

    def _cluster(self, R):
        clusterer = self.clusterer
        if clusterer is None:
            clusterer = DBSCAN(eps=1.0, min_samples=10)
        elif isinstance(clusterer, BaseEstimator):
            clusterer = clone(clusterer)
        if hasattr(clusterer, "fit_predict"):
            labels = clusterer.fit_predict(R)
        else:
            labels = clusterer.fit(R).labels_
        labels = np.asarray(labels)
        if labels.shape != (R.shape[0],):
            raise ValueError(
                f"clusterer must return one label per sample ({R.shape[0]}); got "
                f"shape {labels.shape}."
            )
        return labels

    def _likelihood_and_labels(self, X):
        labels = self._cluster(self._reduce(self._embed(X)))
        return cluster_likelihood(labels, self.noise_as_cluster), labels

    def _weights(self, p):
        w = dequity_weights(p, self.eta, self.gamma)
        if not np.any(w > 0):
            raise ValueError(
                "All DatasetEquity weights are zero (eta=0 and every sample lies "
                "in a largest cluster); use eta > 0 or another clusterer."
            )
        return w

    # -- public API --------------------------------------------------------------
    def fit(self, X, y=None):
        """Compute the likelihoods and weights of the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features without missing values.
        y : None
            Ignored (the likelihood is label-free).

        Returns
        -------
        self : DatasetEquityReweighter

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_losses.sampling import DatasetEquityReweighter
        >>> X = np.r_[np.zeros((20, 2)), np.full((5, 2), 9.0)]
        >>> rw = DatasetEquityReweighter(reducer=None).fit(X)
        >>> rw.likelihood_[[0, -1]].tolist()
        [1.0, 0.05]
        """
        self._check_params()
        X = self._validate_X(X, reset=True)
        return self._fit_validated(X)

    def _fit_validated(self, X):
        p, labels = self._likelihood_and_labels(X)
        if np.all(labels == -1):
            warnings.warn(
                "The clusterer labelled every sample as noise, so all likelihoods "
                "and weights are equal. The default DBSCAN(eps=1.0) depends on "
                "the scale of the reduced space (t-SNE spreads small data "
                "widely); pass a clusterer suited to the data.",
                UserWarning,
                stacklevel=3,
            )
        self.weights_ = self._weights(p)
        self.likelihood_ = p
        self.labels_ = labels
        return self

    def compute_likelihood(self, X):
        """Likelihood ``p`` of each row of ``X``, clustering ``X`` afresh.

        Uses the parameters only; the fitted attributes are left unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features without missing values.

        Returns
        -------
        ndarray of shape (n_samples,)
            Values in ``(0, 1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_losses.sampling import DatasetEquityReweighter
        >>> X = np.r_[np.zeros((20, 2)), np.full((10, 2), 9.0)]
        >>> DatasetEquityReweighter(reducer=None).compute_likelihood(X)[-1]
        np.float64(0.5)
        """
        self._check_params()
        X = self._validate_X(X, reset=False)
        return self._likelihood_and_labels(X)[0]

    def compute_weights(self, X):
        """DatasetEquity weights ``w(p)`` of the rows of ``X`` (clustered afresh).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features without missing values.

        Returns
        -------
        ndarray of shape (n_samples,)
            Values in ``[eta / (eta + 1), 1]``.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_losses.sampling import DatasetEquityReweighter
        >>> X = np.r_[np.zeros((20, 2)), np.full((10, 2), 9.0)]
        >>> w = DatasetEquityReweighter(reducer=None).compute_weights(X)
        >>> w[[0, -1]].tolist()
        [0.5, 0.515625]
        """
        return self._weights(self.compute_likelihood(X))

    def fit_resample(self, X, y, sample_weight=None):
        """Fit on ``X``, then draw rows with replacement, ``P(i) ∝ w_i u_i``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features without missing values.
        y : array-like of shape (n_samples,)
            Class labels, resampled with the rows (used by ``sampling_strategy``
            only, never by the weights).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights :math:`u_i \\ge 0` of the user, multiplied into the drawing
            probabilities.

        Returns
        -------
        X_resampled : array-like of shape (n_resampled, n_features)
            The drawn rows, of the type of ``X`` (a DataFrame stays one).
        y_resampled : array-like of shape (n_resampled,)
            The matching labels.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_losses.sampling import DatasetEquityReweighter
        >>> X, y = np.r_[np.zeros((20, 2)), np.ones((5, 2))], np.r_[[0] * 20, [1] * 5]
        >>> rw = DatasetEquityReweighter(reducer=None, random_state=0)
        >>> X_res, y_res = rw.fit_resample(X, y)
        >>> X_res.shape, rw.sample_indices_.shape
        ((25, 2), (25,))
        >>> rw.set_params(sampling_strategy={1: 20}).fit_resample(X, y)[1].sum()
        np.int64(20)
        """
        if y is None:
            raise ValueError("fit_resample needs y (it is resampled with X).")
        try:
            check_classification_targets(y)
        except TypeError as exc:  # labels that do not compare, e.g. str and None
            raise TypeError(
                f"y must hold labels of one type (e.g. all strings); {exc}."
            ) from None
        self._check_params()
        return super().fit_resample(X, y, sample_weight=sample_weight)

    def _check_X_y(self, X, y, accept_sparse=None):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(
            self,
            X,
            y,
            reset=True,
            dtype=(np.float64, np.float32),
            ensure_min_samples=2,
        )
        return X, y, binarize_y

    def _fit_resample(self, X, y, sample_weight=None):
        self._fit_validated(X)
        n = X.shape[0]
        prob = self.weights_.copy()
        if sample_weight is not None:
            prob = prob * check_user_weights(sample_weight, X)
        counts = self._target_counts(y)
        rng = check_random_state(self.random_state)
        if counts is None:
            if not prob.sum() > 0:
                raise ValueError(
                    "The DatasetEquity weights times sample_weight sum to zero: "
                    "no row can be drawn."
                )
            idx = rng.choice(n, size=n, replace=True, p=prob / prob.sum())
        else:
            parts = []
            for label, k in counts.items():
                rows = np.flatnonzero(y == label)
                p = prob[rows]
                if k == 0:
                    continue
                if not p.sum() > 0:
                    raise ValueError(
                        f"Class {label!r}: its rows' weights (times sample_weight) "
                        f"sum to zero, so {k} rows cannot be drawn from it."
                    )
                parts.append(rng.choice(rows, size=k, replace=True, p=p / p.sum()))
            idx = np.concatenate(parts) if parts else np.empty(0, dtype=np.intp)
        labels, drawn = np.unique(y[idx], return_counts=True)
        self.sampling_strategy_ = dict(zip(labels.tolist(), drawn.tolist()))
        self.sample_indices_ = idx
        return X[idx], y[idx]

    def _target_counts(self, y):
        """``{label: rows to draw}``, or None to draw from all rows at once."""
        strategy = self.sampling_strategy
        if isinstance(strategy, str) and strategy == "all":
            return None
        labels, counts = np.unique(y, return_counts=True)
        out = dict(zip(labels.tolist(), counts.tolist()))
        if isinstance(strategy, str):  # per_class
            return out
        target = strategy(y) if callable(strategy) else strategy
        if not isinstance(target, dict):
            raise ValueError(
                f"sampling_strategy callable must return a dict; got {target!r}."
            )
        for label, k in target.items():
            if label not in out:
                raise ValueError(
                    f"sampling_strategy names class {label!r}, which is not in y "
                    f"(classes: {labels.tolist()})."
                )
            if not (isinstance(k, numbers.Integral) and not isinstance(k, bool)):
                raise ValueError(
                    f"sampling_strategy[{label!r}] must be an int >= 0; got {k!r}."
                )
            if k < 0:
                raise ValueError(
                    f"sampling_strategy[{label!r}] must be an int >= 0; got {k!r}."
                )
            out[label] = int(k)
        if sum(out.values()) == 0:
            raise ValueError("sampling_strategy asks for zero rows in all.")
        return out
