"""The report of ``compare``: the leaderboard, ``results.csv``,
``results.json`` and ``results.png``, and the markdown table."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .._tables import require

__all__ = [
    "OUTPUT_FILES",
    "check_out",
    "display",
    "format_table",
    "summarise",
    "write_outputs",
]

OUTPUT_FILES = ("results.csv", "results.json", "results.png")

_DISPLAY = {
    "f1": "F1",
    "minority_f1": "minority F1",
    "f1_macro": "macro F1",
    "f1_micro": "micro F1",
    "f1_weighted": "weighted F1",
    "f1_samples": "samples F1",
    "jaccard_samples": "Jaccard",
    "hamming_loss": "Hamming loss",
    "subset_accuracy": "subset accuracy",
    "balanced_accuracy": "balanced accuracy",
    "average_precision": "PR-AUC",
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "log_loss": "log-loss",
    "rmse": "RMSE",
    "root_mean_squared_error": "RMSE",
    "mae": "MAE",
    "mean_absolute_error": "MAE",
    "mse": "MSE",
    "mean_squared_error": "MSE",
    "r2": "R²",
    "pinball": "pinball loss",
    "ndcg": "NDCG",
    "map": "MAP",
    "mrr": "MRR",
    "kendall_tau": "Kendall's tau",
    "pairwise_accuracy": "pairwise accuracy",
    "map@r": "MAP@R",
    "knn_accuracy": "kNN accuracy",
    "r_precision": "R-precision",
}


def display(metric):
    """A metric's name as the table and the plot show it.

    Examples
    --------
    >>> from sklearn_losses.compare._report import display
    >>> display("rmse"), display("pinball_0.9"), display("my_metric")
    ('RMSE', 'pinball loss (0.9)', 'my_metric')
    >>> display("ndcg@10"), display("map"), display("map@r")
    ('NDCG@10', 'MAP', 'MAP@R')
    >>> display("f1_micro"), display("f1_macro"), display("jaccard_samples")
    ('micro F1', 'macro F1', 'Jaccard')
    """
    if metric.startswith("pinball_"):
        return f"pinball loss ({metric[len('pinball_') :]})"
    head, at, tail = metric.partition("@")
    if metric in _DISPLAY:
        return _DISPLAY[metric]
    if at and head in ("ndcg", "map"):
        return f"{_DISPLAY[head]}@{tail}"
    if at and head == "recall":
        return f"Recall@{tail}"
    return _DISPLAY.get(metric, metric)


def check_out(out, name="out"):
    """Create the folder ``out`` and check that the result files can be written
    there, before any fit; a ``ValueError`` naming ``name`` if not."""
    path = Path(out)
    where = f"{name} {str(path)!r}"
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"{where} is a file; it must be a folder (results.csv, results.json "
            "and results.png are written into it)."
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ValueError(
            f"Cannot write the results to {where}: {exc.strerror or exc}."
        ) from exc
    for file in OUTPUT_FILES:
        target = path / file
        if target.is_dir() or (target.exists() and not os.access(target, os.W_OK)):
            kind = "a folder" if target.is_dir() else "not writable"
            raise ValueError(f"Cannot write {file} in {where}: it is {kind}.")
    return path


def _shown_params(params, keys):
    return {(k[6:] if k.startswith("loss__") else k): params[k] for k in keys}


def _ranked(value, lower_is_better):
    """A metric's mean as a sort key: smaller is better, NaN (failed) last."""
    return np.nan_to_num(value if lower_is_better else -value, nan=np.inf)


def summarise(candidates, splits, results, metrics, n_rows):
    """The leaderboard rows, every grid point's row, and the out-of-fold
    predictions of each candidate's best point.

    Parameters
    ----------
    candidates : list of tuple
        ``(label, kind, [(params, estimator)], grid keys)``.
    splits : list of (train, test)
    results : dict
        ``{(candidate, point, fold): result}`` from ``fit_and_score``.
    metrics : list of Metric
        The first ranks (and picks each grid's best point), the next break
        ties; each in its direction.
    n_rows : int

    Returns
    -------
    rows : list of dict
        One per candidate (its best point), best first; failed ones last.
    grid_rows : list of dict
        One per grid point.
    oof : dict
        ``{label: predictions}`` of the best points that did not fail.
    """
    rows, grid_rows, oof = [], [], {}
    first = metrics[0]
    for c, (label, kind, points, keys) in enumerate(candidates):
        summaries = []
        for p, (params, _) in enumerate(points):
            folds = [results[(c, p, f)] for f in range(len(splits))]
            errors = [r["error"] for r in folds if "error" in r]
            row = {"loss": label, "kind": kind}
            for metric in metrics:
                values = [r["scores"][metric.name] for r in folds if "scores" in r]
                failed = errors or not values
                row[f"{metric.name}_mean"] = (
                    np.nan if failed else float(np.mean(values))
                )
                row[f"{metric.name}_std"] = np.nan if failed else float(np.std(values))
            row["fit_time"] = float(np.mean([r["fit_time"] for r in folds]))
            row["predict_time"] = float(
                np.mean([r.get("predict_time", np.nan) for r in folds])
            )
            row["best_params"] = _shown_params(params, keys)
            row["grid_size"] = len(points)
            row["error"] = errors[0] if errors else None
            if errors:
                warnings.warn(
                    f"{label} {_shown_params(params, keys) or ''}: {len(errors)} of "
                    f"{len(folds)} fits failed, its scores are NaN; first error: "
                    f"{errors[0]}",
                    UserWarning,
                    stacklevel=3,
                )
            grid_rows.append({k: v for k, v in row.items() if k != "grid_size"})
            summaries.append(row)
        ranks = [
            _ranked(r[f"{first.name}_mean"], first.lower_is_better) for r in summaries
        ]
        best = int(np.argmin(ranks))
        rows.append(summaries[best])
        if summaries[best]["error"] is None:
            folds = [results[(c, best, f)] for f in range(len(splits))]
            shape = (n_rows,) + np.shape(folds[0]["predictions"])[1:]
            predictions = np.full(shape, np.nan)
            for (_, test), r in zip(splits, folds):
                predictions[test] = r["predictions"]
            oof[label] = predictions
    # Best first by the first metric, ties broken by the next ones; failed
    # candidates (NaN) last. The sort is stable: full ties keep their order.
    rows.sort(
        key=lambda r: [_ranked(r[f"{m.name}_mean"], m.lower_is_better) for m in metrics]
    )
    return rows, grid_rows, oof


def plain(value):
    """``value`` as JSON-able data, or its ``repr``."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return repr(value)


def plain_params(estimator):
    return {k: plain(v) for k, v in estimator.get_params(deep=False).items()}


def versions():
    import sklearn
    import torch

    from .. import __version__

    return {
        "sklearn_losses": __version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "python": sys.version.split()[0],
    }


def write_outputs(table, oof, y, out):
    """``results.csv``, ``results.json`` and ``results.png`` in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = table.copy()
    csv["best_params"] = [json.dumps(plain(p)) for p in csv["best_params"]]
    csv.to_csv(out / "results.csv", index=False)
    payload = {
        "metadata": table.attrs["metadata"],
        "leaderboard": table.to_dict(orient="records"),
        "grid": table.attrs["grid"],
    }
    with open(out / "results.json", "w") as f:
        json.dump(_nan_to_none(plain(payload)), f, indent=1)
    plot(table, oof, y, out / "results.png")


def _nan_to_none(value):
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value


def plot(table, oof, y, path):
    """Left: the first metric per candidate (mean and std over folds). Right,
    for a binary target only: the precision-recall curves of the best three,
    from out-of-fold predictions."""
    require("matplotlib")
    from matplotlib.figure import Figure

    metadata = table.attrs["metadata"]
    metric = metadata["scoring"][0]
    lower = metric in metadata.get("lower_is_better", ())
    binary = metadata["task"] == "binary"
    height = max(4.0, 0.32 * len(table) + 1.5)
    fig = Figure(figsize=(13 if binary else 7, height), layout="constrained")
    axes = fig.subplots(1, 2 if binary else 1, squeeze=False)[0]
    ax = axes[0]
    positions = np.arange(len(table))
    palette = {"reference": "tab:gray", "student": "tab:green"}
    colors = [palette.get(k, "tab:blue") for k in table["kind"]]
    ax.barh(
        positions,
        table[f"{metric}_mean"].fillna(0.0),
        xerr=table[f"{metric}_std"].fillna(0.0),
        color=colors,
        capsize=3,
    )
    ax.set_yticks(positions, table["loss"])
    ax.invert_yaxis()
    direction = ", lower is better" if lower else ""
    ax.set_xlabel(
        f"{display(metric)}{direction}\n(mean ± std over {metadata['n_folds']} "
        "folds; grey: reference models; green: distilled students)"
    )
    name = Path(str(metadata["data"] or "data")).name
    tuned = metadata.get("threshold")
    tuned = f", thresholds tuned for {display(tuned['scoring'])}" if tuned else ""
    ax.set_title(f"{name}: {len(table)} candidates, {metadata['task']}{tuned}")
    if binary:
        _pr_curves(axes[1], table, oof, y, metadata["pos_label"])
    fig.savefig(path, dpi=110)


def _pr_curves(ax, table, oof, y, pos_label):
    from sklearn.metrics import average_precision_score, precision_recall_curve

    best = [label for label in table["loss"] if label in oof][:3]
    for label in best:
        proba = oof[label]
        precision, recall, _ = precision_recall_curve(y, proba)
        ap = average_precision_score(y, proba)
        ax.plot(
            recall,
            precision,
            drawstyle="steps-post",
            label=f"{label} (pooled AP {ap:.3f})",
        )
    prevalence = float(np.mean(y))
    ax.axhline(prevalence, color="tab:gray", linestyle="--", label="no skill")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"recall (positive class: {pos_label!r})")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall, best three (out-of-fold)")
    ax.legend(loc="lower left", fontsize="small")


def format_table(rows):
    """Render a :func:`compare_losses` leaderboard as a markdown table.

    Parameters
    ----------
    rows : pandas.DataFrame or list of dict
        The leaderboard (any ``<metric>_mean`` / ``<metric>_std`` columns).

    Returns
    -------
    str
        One line per candidate: metrics as mean ± std, fit time (mean seconds
        per fit, after an untimed warm-up fit per worker process), predict
        time (mean seconds per test fold, preprocessing included; shown when
        a row's ``kind`` is ``"student"``, a distilled network), best
        parameters.

    Examples
    --------
    >>> from sklearn_losses.compare import format_table
    >>> print(format_table([{"loss": "focal", "f1_mean": 0.5, "f1_std": 0.1,
    ...                      "fit_time": 1.0, "best_params": {"gamma": 1.0}}]))
    | loss | F1 | fit time (s) | best params |
    |:---|---:|---:|:---|
    | focal | 0.500 ± 0.100 | 1.00 | gamma=1.0 |
    """
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict(orient="records")
    rows = list(rows)
    if not rows:
        return "(no candidates)"
    metrics = [k[: -len("_mean")] for k in rows[0] if k.endswith("_mean")]
    failed = any(row.get("error") for row in rows)
    # A distilled student is there for its speed: show the predict times.
    timed = any(row.get("kind") == "student" for row in rows)
    times = ["fit time (s)", *(["predict time (s)"] if timed else [])]
    header = ["loss", *map(display, metrics), *times, "best params"]
    align = [":---", *["---:"] * (len(metrics) + len(times)), ":---"]
    if failed:
        header.append("error")
        align.append(":---")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in rows:
        cells = [str(row["loss"])]
        for metric in metrics:
            mean, std = row[f"{metric}_mean"], row[f"{metric}_std"]
            cells.append("failed" if np.isnan(mean) else f"{mean:.3f} ± {std:.3f}")
        cells.append(f"{row['fit_time']:.2f}")
        if timed:
            cells.append(f"{row.get('predict_time', np.nan):.4f}")
        params = row.get("best_params") or {}
        cells.append(", ".join(f"{k}={v}" for k, v in params.items()) or "—")
        if failed:
            cells.append(str(row.get("error") or ""))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
