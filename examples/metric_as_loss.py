"""Train on the metric you report: AnyLoss with F1, G-mean or your own metric.

Runs in seconds: ``python examples/metric_as_loss.py``.
"""

from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier
from sklearn_losses.datasets import make_anyloss_random
from sklearn_losses.metrics import F1, make_confusion_metric

X, y = make_anyloss_random()
X, y = X[:1500], y[:1500]

# A metric of the confusion counts, defined once: exact score, soft loss, scorer.
informedness = make_confusion_metric(
    lambda tp, fp, fn, tn: tp / (tp + fn) + tn / (tn + fp) - 1, name="informedness"
)

search = GridSearchCV(
    make_pipeline(StandardScaler(), LossClassifier(max_epochs=10, random_state=0)),
    [
        {"lossclassifier__loss": ["cross_entropy"]},
        {
            "lossclassifier__loss": ["anyloss"],
            "lossclassifier__loss__metric": ["f1", "gmean", informedness],
        },
    ],
    scoring={"f1": F1.scorer(), "informedness": informedness.scorer()},
    refit="f1",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X, y)
results = search.cv_results_
for params, f1, inf in zip(
    results["params"], results["mean_test_f1"], results["mean_test_informedness"]
):
    loss = params["lossclassifier__loss"]
    metric = params.get("lossclassifier__loss__metric", "")
    name = getattr(metric, "name", metric)
    print(f"{loss:14s} {name:13s} F1 {f1:.3f}  informedness {inf:.3f}")
