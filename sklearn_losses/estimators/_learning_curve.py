"""Learning curves of a generative against a discriminative classifier."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y

from .._validation import check_numeric_columns, check_random_state_param, is_int
from ._naive_bayes import SharedVarianceGaussianNB

__all__ = ["LearningCurveResult", "dis_vs_gen_learning_curve"]

_SCALERS = {"minmax": MinMaxScaler, "standard": StandardScaler}


class LearningCurveResult(NamedTuple):
    """What :func:`dis_vs_gen_learning_curve` returns (unpacks as a pair).

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per fit: columns ``size`` (training rows), ``repeat`` (draw
        number), ``estimator`` (name) and ``error`` (test error, ``1 -
        accuracy``).
    crossover : int or None
        The first size from which on the second estimator's mean error is
        below the first's, at that size and at every larger one (by default:
        where logistic regression overtakes naive Bayes for good), or None
        when it is not below at the largest size (or fewer than two
        estimators ran).
    """

    frame: Any
    crossover: int | None

    def summary(self):
        """Mean and standard deviation of the test error by size and estimator.

        Returns
        -------
        pandas.DataFrame
            Index ``size``; columns ``(statistic, estimator)`` with statistics
            ``mean`` and ``sd`` (``ddof=1``; NaN for one repeat); estimators in
            the order they ran.
        """
        names = list(dict.fromkeys(self.frame["estimator"]))
        table = self.frame.pivot_table(
            index="size", columns="estimator", values="error", aggfunc=["mean", "std"]
        )
        table = table.rename(columns={"std": "sd"}, level=0)
        return table.reindex(columns=names, level=1)


def dis_vs_gen_learning_curve(
    X,
    y,
    sizes,
    *,
    n_repeats=5,
    scaler="minmax",
    estimators=None,
    test_size=0.25,
    sampling="stratified",
    max_draws=100,
    random_state=None,
):
    r"""Test error of a generative and a discriminative classifier as the
    number of training rows grows.

    The protocol of Zheng et al. (2023) for linear heads on frozen features:
    one stratified split into a training pool and a fixed test set; for each
    size ``m`` in ``sizes`` and each of ``n_repeats`` repeats, ``m`` rows drawn
    from the pool holding every class (stratified by default; the paper's
    code draws uniformly and rejects draws that miss a class), a scaler fitted
    on those rows (min-max to ``[0, 1]`` by default, the paper's choice) and
    applied to the test set, then every estimator fitted on the same scaled
    rows and scored on the test set. Drawing once per repeat for all
    estimators makes the comparison paired (the paper draws for each model
    separately).

    The paper's claim: naive Bayes reaches its asymptotic error with
    :math:`O(\log n)` samples and logistic regression with :math:`O(n)` (``n``
    features), so naive Bayes often wins with few rows and logistic regression,
    of lower asymptotic error, with many (the "two regimes"); the crossover is
    where the curves meet. On data where naive Bayes is well specified
    (independent features within each class) it may never come.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Numeric features (typically frozen features of a pre-trained network).
    y : array-like of shape (n_samples,)
        Class labels.
    sizes : sequence of int
        Training sizes, each at least the number of classes and at most the
        size of the training pool (``n_samples`` minus the test set; that size
        itself uses the whole pool in every repeat). Sorted and deduplicated.
    n_repeats : int, default=5
        Draws per size (the paper: 5).
    scaler : {"minmax", "standard"}, None or transformer, default="minmax"
        Fitted on each drawn training set; None: no scaling. A transformer is
        cloned for each draw.
    estimators : dict of str to classifier, default=None
        Named classifiers, cloned for each fit. None: ``{"NB":
        SharedVarianceGaussianNB(), "LR": LogisticRegression(C=1,
        max_iter=1000)}`` (the paper's pair). The crossover compares the first
        two entries, in this order (generative first).
    test_size : float or int, default=0.25
        The held-out test set (share or number of rows), drawn once,
        stratified.
    sampling : {"stratified", "random"}, default="stratified"
        ``"stratified"``: each class gets its share of the ``m`` rows (the
        class proportions of the pool, rounded by largest remainders), and at
        least one row, so no draw misses a class. ``"random"``: a uniform draw
        without replacement, rejected and drawn again when it misses a class
        (the paper's protocol).
    max_draws : int, default=100
        With ``sampling="random"``: the most draws tried for one repeat before
        giving up (``ValueError``) when the draws keep missing a class.
    random_state : None, int or RandomState, default=None
        Seeds the test split and the draws (not the estimators' own
        randomness).

    Returns
    -------
    LearningCurveResult
        A named pair ``(frame, crossover)``: the tidy DataFrame with columns
        ``size``, ``repeat``, ``estimator``, ``error``, and the crossover: the
        first size from which on the second estimator's mean error is below
        the first's at every size (None when it is not below at the largest
        size). A lead at a small size that is lost again does not count: at
        few rows the means are noisy. ``result.summary()`` gives mean and sd
        by size.

    References
    ----------
    .. [1] C. Zheng, G. Wu, F. Bao, Y. Cao, C. Li, J. Zhu, "Revisiting
       Discriminative vs. Generative Classifiers: Theory and Implications",
       ICML 2023. https://arxiv.org/abs/2302.02334

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn_losses import dis_vs_gen_learning_curve
    >>> X, y = load_digits(return_X_y=True)
    >>> frame, crossover = dis_vs_gen_learning_curve(
    ...     X, y, sizes=[30, 1000], n_repeats=2, random_state=0)
    >>> frame.shape, sorted(frame.columns)
    ((8, 4), ['error', 'estimator', 'repeat', 'size'])
    >>> crossover  # raw pixels: logistic regression wins from 30 rows on
    30
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is an extra
        raise ImportError(
            "dis_vs_gen_learning_curve returns a pandas DataFrame: pip install pandas"
        ) from exc
    check_numeric_columns(X, "dis_vs_gen_learning_curve")
    X, y = check_X_y(X, y, dtype=np.float64)
    check_classification_targets(y)
    if not is_int(n_repeats, 1):
        raise ValueError(f"n_repeats must be an int >= 1; got {n_repeats!r}.")
    if not is_int(max_draws, 1):
        raise ValueError(f"max_draws must be an int >= 1; got {max_draws!r}.")
    if sampling not in ("stratified", "random"):
        raise ValueError(
            f"sampling must be 'stratified' or 'random'; got {sampling!r}."
        )
    make_scaler = _check_scaler(scaler)
    estimators = _check_estimators(estimators)
    check_random_state_param(random_state)
    rng = check_random_state(random_state)

    try:
        X_pool, X_test, y_pool, y_test = train_test_split(
            X, y, test_size=test_size, stratify=y, random_state=rng
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"test_size={test_size!r} gives no stratified test split of these "
            f"{len(y)} rows: {exc}"
        ) from exc
    n_classes = np.unique(y_pool).size
    sizes = _check_sizes(sizes, n_classes, len(y_pool))

    rows = []
    for size in sizes:
        for repeat in range(n_repeats):
            index = _draw(y_pool, size, n_classes, sampling, max_draws, rng)
            X_train, X_eval = X_pool[index], X_test
            if make_scaler is not None:
                fitted = make_scaler().fit(X_train)
                X_train, X_eval = fitted.transform(X_train), fitted.transform(X_test)
            for name, estimator in estimators.items():
                model = clone(estimator).fit(X_train, y_pool[index])
                error = float(np.mean(model.predict(X_eval) != y_test))
                rows.append(
                    {"size": size, "repeat": repeat, "estimator": name, "error": error}
                )
    frame = pd.DataFrame(rows, columns=["size", "repeat", "estimator", "error"])
    return LearningCurveResult(frame, _crossover(frame, list(estimators)))


def _check_scaler(scaler):
    if scaler is None:
        return None
    if isinstance(scaler, str):
        if scaler not in _SCALERS:
            raise ValueError(
                f"scaler must be 'minmax', 'standard', None or a transformer; "
                f"got {scaler!r}."
            )
        return _SCALERS[scaler]
    if not (hasattr(scaler, "fit") and hasattr(scaler, "transform")):
        raise TypeError(
            "scaler must be 'minmax', 'standard', None or a transformer with fit "
            f"and transform; got {scaler!r}."
        )
    return lambda: clone(scaler)


def _check_estimators(estimators):
    if estimators is None:
        return {
            "NB": SharedVarianceGaussianNB(),
            "LR": LogisticRegression(C=1.0, max_iter=1000),
        }
    if not isinstance(estimators, dict) or not estimators:
        raise TypeError(
            "estimators must be a non-empty dict of name -> classifier; got "
            f"{estimators!r}."
        )
    for name, estimator in estimators.items():
        if not hasattr(estimator, "fit") or not hasattr(estimator, "predict"):
            raise TypeError(
                f"estimators[{name!r}] must be a classifier with fit and predict; "
                f"got {estimator!r}."
            )
    return estimators


def _check_sizes(sizes, n_classes, n_pool):
    values = np.atleast_1d(np.asarray(sizes, dtype=object))
    if values.ndim != 1 or values.size == 0 or not all(is_int(v) for v in values):
        raise ValueError(f"sizes must be a non-empty sequence of ints; got {sizes!r}.")
    bad = [int(v) for v in values if not n_classes <= v <= n_pool]
    if bad:
        raise ValueError(
            f"sizes must lie between the number of classes ({n_classes}) and the "
            f"size of the training pool ({n_pool} rows); got {bad}."
        )
    return sorted({int(v) for v in values})


def _draw(y_pool, size, n_classes, sampling, max_draws, rng):
    """Indices of ``size`` pool rows that hold every class."""
    n_pool = len(y_pool)
    if size == n_pool:
        return np.arange(n_pool)
    if sampling == "stratified":
        codes = np.unique(y_pool, return_inverse=True)[1]
        counts = _stratified_counts(np.bincount(codes), size)
        index = [
            rng.choice(np.flatnonzero(codes == c), size=k, replace=False)
            for c, k in enumerate(counts)
        ]
        return np.sort(np.concatenate(index))
    for _ in range(max_draws):
        index = rng.choice(n_pool, size=size, replace=False)
        if np.unique(y_pool[index]).size == n_classes:
            return np.sort(index)
    raise ValueError(
        f"{max_draws} draws of {size} rows all missed a class; raise the size or "
        "max_draws, or use sampling='stratified'."
    )


def _stratified_counts(class_sizes, size):
    """Rows to draw from each class: its share of ``size``, at least one and at
    most the class size, rounded by largest remainders (ties: first class)."""
    target = size * class_sizes / class_sizes.sum()
    counts = np.clip(np.floor(target).astype(int), 1, class_sizes)
    while counts.sum() < size:
        room = np.where(counts < class_sizes, target - counts, -np.inf)
        counts[np.argmax(room)] += 1
    while counts.sum() > size:
        excess = np.where(counts > 1, counts - target, -np.inf)
        counts[np.argmax(excess)] -= 1
    return counts


def _crossover(frame, names):
    if len(names) < 2:
        return None
    first, second = names[:2]
    means = frame.groupby(["size", "estimator"])["error"].mean().unstack()
    wins = (means[second] < means[first]).to_numpy()
    # the start of the last run of wins, if the run reaches the largest size
    crossover = None
    for size, win in zip(means.index[::-1], wins[::-1]):
        if not win:
            break
        crossover = int(size)
    return crossover
