"""Cross-validated comparison of losses on one table (the package's main job)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    make_scorer,
)
from sklearn.model_selection import StratifiedKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .estimators import LossClassifier
from .losses import get_loss_class, list_losses

__all__ = ["compare_losses", "format_table", "default_candidates"]

METRICS = ("minority_f1", "balanced_accuracy", "pr_auc")


def default_candidates(task="binary"):
    """One candidate per registered loss for ``task``, plus class-weighted CE.

    Left out (ask for them by name): losses that need a per-sample input of their
    own in ``fit`` (the generalized focal loss's ``likelihood``) and losses that
    re-run the network on perturbed inputs (``adv_comp_sum``, ~10x the cost).

    Returns a dict ``{label: LossClassifier parameters}``.
    """
    usable = [
        name
        for name in list_losses(task)
        if set(get_loss_class(name).requires) <= {"index", "epoch"}
    ]
    candidates = {name: {"loss": name} for name in usable}
    candidates["cross_entropy+balanced"] = {
        "loss": "cross_entropy",
        "class_weight": "balanced",
    }
    return candidates


def _parse_candidate(spec):
    """``"focal"``, ``"focal:gamma=1"`` or a params dict -> (label, params)."""
    if isinstance(spec, dict):
        label = spec.get("label") or str(spec.get("loss"))
        return label, {k: v for k, v in spec.items() if k != "label"}
    name, _, args = spec.partition(":")
    get_loss_class(name)  # refuses an unknown name early, with suggestions
    params = {"loss": name}
    for item in filter(None, args.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(
                f"Loss option {item!r} in {spec!r} must look like key=value."
            )
        key = key.strip()
        if key == "class_weight":
            params["class_weight"] = value
        else:
            params[f"loss__{key}"] = _literal(value)
    return spec, params


def _literal(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"none": None, "true": True, "false": False}.get(text.lower(), text)


def _scorers(y):
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) == 2:
        minority = classes[np.argmin(counts)]
        return {
            "minority_f1": make_scorer(f1_score, pos_label=minority),
            "balanced_accuracy": make_scorer(balanced_accuracy_score),
            "pr_auc": make_scorer(
                average_precision_score,
                response_method="predict_proba",
                pos_label=minority,
            ),
        }
    return {
        "minority_f1": make_scorer(f1_score, average="macro"),
        "balanced_accuracy": make_scorer(balanced_accuracy_score),
        "pr_auc": make_scorer(
            average_precision_score, response_method="predict_proba", average="macro"
        ),
    }


def compare_losses(
    X,
    y,
    losses=None,
    *,
    cv=5,
    random_state=0,
    n_jobs=None,
    estimator=None,
):
    """Cross-validate one :class:`LossClassifier` per loss on the same folds.

    Each candidate runs in ``make_pipeline(StandardScaler(), LossClassifier)``,
    the scaler fitted inside each training fold. On a binary target the scores
    are the F1 and PR-AUC (average precision) of the minority class and the
    balanced accuracy; on a multiclass target, macro F1 and macro PR-AUC.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    losses : None or list, default=None
        Loss names (``"focal"``), names with options (``"focal:gamma=1"``,
        ``"cross_entropy:class_weight=balanced"``) or parameter dicts for
        ``LossClassifier`` (with an optional ``"label"``). ``None``: every
        registered loss for the task, plus class-weighted cross-entropy.
    cv : int, default=5
        Number of stratified, shuffled folds.
    random_state : int, default=0
        Seeds the folds and every network.
    n_jobs : int, default=None
        Parallel folds (joblib).
    estimator : LossClassifier, default=None
        Template whose other parameters (epochs, network, ...) every candidate
        shares.

    Returns
    -------
    list of dict
        One row per candidate: ``loss``, ``<metric>_mean``, ``<metric>_std`` for
        each metric, ``fit_time`` (mean seconds per fit), sorted by minority F1.

    Examples
    --------
    >>> from sklearn_losses.datasets import load_imbalanced_breast_cancer
    >>> X, y = load_imbalanced_breast_cancer(return_X_y=True)
    >>> template = LossClassifier(max_epochs=5)
    >>> rows = compare_losses(X, y, ["cross_entropy"], cv=2, estimator=template)
    >>> sorted(rows[0])[:3]
    ['balanced_accuracy_mean', 'balanced_accuracy_std', 'fit_time']
    """
    y = np.asarray(y)
    task = "binary" if len(np.unique(y)) == 2 else "multiclass"
    if losses is None:
        candidates = list(default_candidates(task).items())
    else:
        candidates = [_parse_candidate(spec) for spec in losses]
    template = LossClassifier() if estimator is None else estimator
    folds = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    scoring = _scorers(y)
    rows = []
    for label, params in candidates:
        clf = clone(template).set_params(random_state=random_state, **params)
        result = cross_validate(
            make_pipeline(StandardScaler(), clf),
            X,
            y,
            cv=folds,
            scoring=scoring,
            n_jobs=n_jobs,
            error_score="raise",
        )
        row = {"loss": label}
        for metric in METRICS:
            values = result[f"test_{metric}"]
            row[f"{metric}_mean"] = float(np.mean(values))
            row[f"{metric}_std"] = float(np.std(values))
        row["fit_time"] = float(np.mean(result["fit_time"]))
        rows.append(row)
    rows.sort(key=lambda r: -r["minority_f1_mean"])
    return rows


def format_table(rows):
    """Render :func:`compare_losses` rows as a markdown table (mean ± std)."""
    header = ["loss", "minority F1", "balanced accuracy", "PR-AUC", "fit time (s)"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for row in rows:
        cells = [row["loss"]]
        for metric in METRICS:
            cells.append(f"{row[f'{metric}_mean']:.3f} ± {row[f'{metric}_std']:.3f}")
        cells.append(f"{row['fit_time']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
