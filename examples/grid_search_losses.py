"""Search over losses and their parameters with GridSearchCV.

Each loss gets its own parameter grid (``loss_param_grid``), because a single
grid would hand ``gamma`` to cross-entropy too. Runs in seconds:
``python examples/grid_search_losses.py``.
"""

from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier, loss_param_grid
from sklearn_losses.datasets import load_imbalanced_breast_cancer

X, y = load_imbalanced_breast_cancer(return_X_y=True)
grid = loss_param_grid(
    {"cross_entropy": {"label_smoothing": [0.0, 0.1]}, "focal": {"gamma": [1.0, 2.0]}},
    prefix="lossclassifier__",
)
search = GridSearchCV(
    make_pipeline(StandardScaler(), LossClassifier(max_epochs=50, random_state=0)),
    grid,
    scoring="average_precision",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    n_jobs=2,
)
search.fit(X, y)
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    print(f"{score:.3f}  {params}")
print("best:", search.best_params_)
