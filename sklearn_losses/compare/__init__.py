"""Cross-validated comparison of losses on one table (the package's main job).

:func:`compare_losses` scores every loss of a list, each over a small grid of
its own parameters, and two reference models on the same folds, and returns a
leaderboard as a pandas DataFrame (pandas, matplotlib and, for a Dask cluster,
``dask[distributed]`` come with ``pip install "sklearn-losses[compare]"``). The
target decides the task: binary, multiclass or regression, ranking when
query ids are given, and multi-label for several 0/1 target columns (see
:func:`resolve_task`).

The package's modules: ``_spec`` (the loss spec grammar and the grids),
``_tasks`` (what each task decides), ``_run`` (fitting on loky or Dask),
``_report`` (the leaderboard, the files and the plot) and ``_core``
(:func:`compare_losses`).
"""

from ._core import compare_losses
from ._report import format_table
from ._spec import default_grids
from ._tasks import (
    DEFAULT_SCORING,
    EMBEDDING_SCORING,
    MULTICLASS_SCORING,
    MULTILABEL_SCORING,
    RANKING_SCORING,
    REGRESSION_SCORING,
    TASK_CHOICES,
    Task,
    get_task,
    resolve_task,
)

__all__ = [
    "DEFAULT_GRIDS",
    "DEFAULT_SCORING",
    "EMBEDDING_SCORING",
    "MULTICLASS_SCORING",
    "MULTILABEL_SCORING",
    "QidLGBMRanker",
    "RANKING_SCORING",
    "REGRESSION_SCORING",
    "TASK_CHOICES",
    "Task",
    "compare_losses",
    "default_candidates",
    "default_grids",
    "format_table",
    "get_task",
    "resolve_task",
]


def default_candidates(task="binary"):
    """One candidate per registered loss for ``task``; for class labels also
    class-weighted cross-entropy.

    Left out (ask for them by name): losses that need a per-sample input of their
    own in ``fit`` (the generalized focal loss's ``likelihood``) and losses that
    re-run the network on perturbed inputs (``adv_comp_sum``, ~10x the cost).

    Parameters
    ----------
    task : {"binary", "multiclass", "regression", "ranking", "embedding", \
"multilabel"}, default="binary"
        For ranking: every ranking loss but those that carry their own model
        (``tsprank``, ``grouprank``: slower; ask for them by name).

    Returns
    -------
    dict
        ``{label: estimator parameters}``; each label is a loss spec that
        :func:`compare_losses` accepts.

    Examples
    --------
    >>> from sklearn_losses.compare import default_candidates
    >>> default_candidates()["cross_entropy:class_weight=balanced"]
    {'loss': 'cross_entropy', 'class_weight': 'balanced'}
    >>> list(default_candidates("regression"))
    ['huber', 'l1', 'mse', 'quantile']
    """
    return get_task(task).candidates()


def __getattr__(name):
    # DEFAULT_GRIDS is read from the loss classes when asked for, so a loss
    # registered later (with a default_grid) is in it.
    if name == "DEFAULT_GRIDS":
        return default_grids()
    if name == "QidLGBMRanker":  # needs LightGBM: imported when asked for
        from ._lgbm import QidLGBMRanker

        return QidLGBMRanker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
