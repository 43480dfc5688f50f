"""Gaussian naive Bayes with one diagonal variance shared by all classes."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._validation import check_numeric_columns, check_real
from ..sampling._dataset_equity import check_user_weights

__all__ = ["SharedVarianceGaussianNB"]


class SharedVarianceGaussianNB(ClassifierMixin, BaseEstimator):
    r"""Gaussian naive Bayes whose diagonal variance is shared by all classes.

    The generative classifier of Zheng et al. (2023): class-conditional
    Gaussians :math:`x \mid y = c \sim \mathcal N(\mu_c, \operatorname{diag}
    \sigma^2)` with one mean per class and one diagonal variance for all
    classes, the pooled within-class variance

    .. math::

        \sigma^2_j = \sum_c \hat\pi_c \sigma^2_{cj} + \varepsilon,
        \qquad \hat\pi_c = n_c / n,

    where :math:`\sigma^2_{cj}` is the (maximum-likelihood, ``ddof=0``)
    variance of feature ``j`` in class ``c``. The joint log-likelihood is

    .. math::

        \log p(x, c) = \log \pi_c - \tfrac12 \sum_j \log(2\pi\sigma^2_j)
        - \tfrac12 \sum_j \frac{(x_j - \mu_{cj})^2}{\sigma^2_j}
        = \text{const}(x) + x \cdot \frac{\mu_c}{\sigma^2}
        - \tfrac12 \sum_j \frac{\mu_{cj}^2}{\sigma^2_j} + \log \pi_c,

    linear in ``x``: this is the generative partner of logistic regression
    (the classifier of linear discriminant analysis restricted to a diagonal
    covariance), not scikit-learn's :class:`~sklearn.naive_bayes.GaussianNB`,
    whose per-class variances give a quadratic boundary. The two agree when all
    classes have the same variances.

    Input contract: numeric ``X`` of shape ``(n_samples, n_features)`` (array
    or DataFrame, no missing values); ``y`` any labels of at least two classes
    (strings included); optional non-negative ``sample_weight`` (integer weights
    equal repeated rows).

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Prior probabilities of the classes, in the order of ``classes_``.
        ``None``: the (weighted) class frequencies of the training data. The
        priors only enter :math:`\log \pi_c`; the variance is always pooled
        with the class frequencies (its maximum-likelihood estimate).
    var_smoothing : float, default=1e-9
        The share of the largest feature variance (of all training rows, all
        classes together) added to every pooled variance, ``epsilon_``, for
        numerical stability (scikit-learn's ``GaussianNB`` convention, so the
        model does not depend on the unit of the features). Must be > 0. The
        paper's code adds an absolute ``1e-9``; on features min-max scaled to
        ``[0, 1]`` (its protocol) the largest variance is at most ``1/4``, and
        both smoothings are negligible. When every feature is constant the
        largest variance is taken as 1.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    class_count_ : ndarray of shape (n_classes,)
        The (weighted) number of training samples of each class.
    class_prior_ : ndarray of shape (n_classes,)
        The prior of each class: ``priors``, or the class frequencies.
    theta_ : ndarray of shape (n_classes, n_features)
        The mean of each feature in each class, :math:`\mu_c`.
    class_var_ : ndarray of shape (n_classes, n_features)
        The variance of each feature in each class, :math:`\sigma^2_{cj}`
        (before pooling, without smoothing).
    var_ : ndarray of shape (n_features,)
        The pooled variance shared by all classes, :math:`\sigma^2`
        (``epsilon_`` included).
    epsilon_ : float
        The absolute smoothing added to the pooled variances.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        The linear form, as scikit-learn's linear classifiers: for more than
        two classes row ``c`` is :math:`\mu_c / \sigma^2`; for two classes the
        one row is :math:`(\mu_1 - \mu_0) / \sigma^2`, so that
        ``X @ coef_.T + intercept_`` is the log-odds of ``classes_[1]``.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        :math:`\log \pi_c - \frac12 \sum_j \mu_{cj}^2 / \sigma^2_j` (the
        difference of class 1 and class 0 for two classes).
    n_features_in_ : int
        The number of features seen at ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names, when ``X`` is a DataFrame with string column names.

    See Also
    --------
    sklearn.naive_bayes.GaussianNB : per-class variances (quadratic boundary).
    sklearn.discriminant_analysis.LinearDiscriminantAnalysis : a full shared
        covariance.
    dis_vs_gen_learning_curve : this classifier against logistic regression
        as the number of training rows grows.

    Notes
    -----
    ``partial_fit`` updates the per-class counts, means and variances exactly
    (the pairwise update of Chan, Golub and LeVeque), so ``partial_fit`` over
    chunks of the data equals ``fit`` on all of it up to rounding; the pooled
    variance, ``epsilon_`` and the linear form are recomputed from them after
    each call.

    References
    ----------
    .. [1] C. Zheng, G. Wu, F. Bao, Y. Cao, C. Li, J. Zhu, "Revisiting
       Discriminative vs. Generative Classifiers: Theory and Implications",
       ICML 2023. https://arxiv.org/abs/2302.02334
    .. [2] A. Y. Ng, M. I. Jordan, "On Discriminative vs. Generative
       Classifiers: A comparison of logistic regression and naive Bayes",
       NIPS 2001.
    .. [3] T. F. Chan, G. H. Golub, R. J. LeVeque, "Updating Formulae and a
       Pairwise Algorithm for Computing Sample Variances", 1979.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_losses import SharedVarianceGaussianNB
    >>> X = np.array([[0.0], [2.0], [4.0], [6.0]])
    >>> y = np.array(["a", "a", "b", "b"])
    >>> nb = SharedVarianceGaussianNB().fit(X, y)
    >>> nb.theta_.ravel().tolist(), nb.var_.round(6).tolist()
    ([1.0, 5.0], [1.0])
    >>> nb.predict([[2.5], [3.5]]).tolist()
    ['a', 'b']
    >>> nb.coef_.round(6).tolist(), nb.intercept_.round(6).tolist()
    ([[4.0]], [-12.0])
    """

    def __init__(self, *, priors=None, var_smoothing=1e-9):
        self.priors = priors
        self.var_smoothing = var_smoothing

    # -- fitting -------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the class means, the pooled variance and the priors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric training features.
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples (weighted counts, means and
            variances).

        Returns
        -------
        self
        """
        X, y, sample_weight = self._check_fit_input(X, y, sample_weight, reset=True)
        classes = np.unique(y)
        self._check_classes(classes, "y")
        priors = self._check_params(classes)
        self._reset(classes, X.shape[1])
        self._update(X, y, sample_weight, priors)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Update the model with one more chunk of data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features of the chunk.
        y : array-like of shape (n_samples,)
            Class labels of the chunk, all in ``classes_``.
        classes : array-like of shape (n_classes,), default=None
            Every class that the data will hold. Required on the first call
            (when the model is not fitted yet); optional afterwards, where it
            must equal ``classes_``. After ``fit``, ``partial_fit`` goes on
            from the fitted statistics.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self
        """
        first = not hasattr(self, "classes_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: every "
                "class label that the data will hold."
            )
        X, y, sample_weight = self._check_fit_input(X, y, sample_weight, reset=first)
        if classes is not None:
            classes = np.unique(column_or_1d(classes))
            self._check_classes(classes, "classes")
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"classes={classes.tolist()} differs from classes_="
                    f"{self.classes_.tolist()} of the earlier calls to partial_fit."
                )
        known = classes if first else self.classes_
        unknown = np.setdiff1d(np.unique(y), known)
        if unknown.size:
            raise ValueError(
                f"y holds labels {unknown.tolist()} that are not in classes="
                f"{known.tolist()}."
            )
        priors = self._check_params(known)
        if first:
            self._reset(classes, X.shape[1])
        self._update(X, y, sample_weight, priors)
        return self

    def _check_fit_input(self, X, y, sample_weight, reset):
        check_numeric_columns(X, type(self).__name__)
        X, y = validate_data(self, X, y, dtype=np.float64, reset=reset)
        check_classification_targets(y)
        sample_weight = check_user_weights(sample_weight, X)
        return X, y, sample_weight

    def _check_classes(self, classes, name):
        if classes.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes; {name} holds "
                f"{classes.size} class ({classes.tolist()})."
            )

    def _reset(self, classes, n_features):
        self.classes_ = classes
        n_classes = classes.size
        self.class_count_ = np.zeros(n_classes)
        self.theta_ = np.zeros((n_classes, n_features))
        self.class_var_ = np.zeros((n_classes, n_features))

    def _update(self, X, y, sample_weight, priors):
        """Merge the chunk's per-class statistics into the running ones."""
        codes = np.searchsorted(self.classes_, y)
        for c in range(self.classes_.size):
            rows = codes == c
            w = sample_weight[rows]
            n_new = w.sum()
            if n_new <= 0:
                continue
            Xc = X[rows]
            mu_new = w @ Xc / n_new
            var_new = w @ (Xc - mu_new) ** 2 / n_new
            n_old, mu_old = self.class_count_[c], self.theta_[c]
            n = n_old + n_new
            m2 = (
                n_old * self.class_var_[c]
                + n_new * var_new
                + n_old * n_new / n * (mu_old - mu_new) ** 2
            )
            self.theta_[c] = (n_old * mu_old + n_new * mu_new) / n
            self.class_var_[c] = m2 / n
            self.class_count_[c] = n
        self._derive(priors)

    def _derive(self, priors):
        """Priors, pooled variance, smoothing and linear form from the counts,
        means and per-class variances."""
        n_classes = self.classes_.size
        freq = self.class_count_ / self.class_count_.sum()
        self.class_prior_ = freq if priors is None else priors
        within = freq @ self.class_var_
        mean = freq @ self.theta_
        total = within + freq @ (self.theta_ - mean) ** 2
        scale = total.max()
        self.epsilon_ = float(self.var_smoothing * (scale if scale > 0 else 1.0))
        self.var_ = within + self.epsilon_
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.class_prior_)
        weights = self.theta_ / self.var_
        bias = log_prior - 0.5 * np.sum(self.theta_ * weights, axis=1)
        if n_classes == 2:
            self.coef_ = weights[1:] - weights[:1]
            self.intercept_ = bias[1:] - bias[:1]
        else:
            self.coef_, self.intercept_ = weights, bias
        self._log_prior = log_prior

    def _check_params(self, classes):
        """Check ``var_smoothing`` and ``priors`` (before any state changes);
        return the priors as an array, or None."""
        check_real(
            "var_smoothing",
            self.var_smoothing,
            low=0,
            closed="neither",
            hint=" (the share of the largest feature variance added to all)",
        )
        if self.priors is None:
            return None
        n_classes = classes.size
        try:
            priors = np.asarray(self.priors, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"priors must be None or a sequence of floats; got {self.priors!r}."
            ) from exc
        if priors.shape != (n_classes,):
            raise ValueError(
                f"priors must hold one probability per class ({n_classes}: "
                f"{classes.tolist()}); got shape {priors.shape}."
            )
        if not np.all(np.isfinite(priors)) or np.any(priors < 0):
            raise ValueError(f"priors must be non-negative; got {priors.tolist()}.")
        if not np.isclose(priors.sum(), 1.0):
            raise ValueError(f"priors must sum to 1; they sum to {priors.sum()!r}.")
        return priors

    # -- prediction ----------------------------------------------------------------
    def _check_X(self, X):
        check_is_fitted(self)
        check_numeric_columns(X, type(self).__name__)
        return validate_data(self, X, dtype=np.float64, reset=False)

    def predict_joint_log_proba(self, X):
        r"""The joint log-likelihood :math:`\log p(x, c)` of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            :math:`\log \pi_c - \frac12 \sum_j \log(2\pi\sigma^2_j) - \frac12
            \sum_j (x_j - \mu_{cj})^2 / \sigma^2_j`, in the order of
            ``classes_`` (``-inf`` for a class of prior 0).
        """
        X = self._check_X(X)
        return self._joint_log_likelihood(X)

    def _joint_log_likelihood(self, X):
        const = -0.5 * np.sum(np.log(2.0 * np.pi * self.var_))
        jll = np.empty((X.shape[0], self.classes_.size))
        for c in range(self.classes_.size):
            jll[:, c] = -0.5 * np.sum((X - self.theta_[c]) ** 2 / self.var_, axis=1)
        return jll + const + self._log_prior

    def predict_log_proba(self, X):
        """Log-probability of each class, :math:`\\log p(c \\mid x)`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        jll = self.predict_joint_log_proba(X)
        return jll - logsumexp(jll, axis=1, keepdims=True)

    def predict_proba(self, X):
        """Probability of each class (the softmax of the joint log-likelihoods).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The class of largest joint log-likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        jll = self.predict_joint_log_proba(X)
        return self.classes_[np.argmax(jll, axis=1)]

    def decision_function(self, X):
        """The linear form ``X @ coef_.T + intercept_``.

        For two classes, the log-odds of ``classes_[1]`` (shape
        ``(n_samples,)``); for more, the joint log-likelihoods up to a term
        common to all classes (shape ``(n_samples, n_classes)``), as
        scikit-learn's linear classifiers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
        """
        X = self._check_X(X)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if self.classes_.size == 2 else scores
