"""Metric learning: search over embedding losses with GridSearchCV.

``LossEmbedder`` is a transformer: it learns an embedding in which rows of the
same class are near, with the metric-learning loss of your choice, and a
nearest-neighbour classifier after it in a Pipeline uses that geometry. The
search covers the loss and Metrix mixup, and scores the pipeline by accuracy;
``recall_at_1_scorer`` scores the embedding itself (retrieval of the test
rows among themselves). PCA and NCA at the same width are the references.
Runs in seconds: ``python examples/embedding.py``.
"""

from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier, NeighborhoodComponentsAnalysis
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossEmbedder
from sklearn_losses.metrics import recall_at_1_scorer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

pipeline = make_pipeline(
    StandardScaler(),
    LossEmbedder(n_components=16, max_epochs=15, random_state=0),
    KNeighborsClassifier(),
)
search = GridSearchCV(
    pipeline,
    {
        "lossembedder__loss": ["multi_similarity", "infonce", "proto_triplet"],
        "lossembedder__mixup": [None, "metrix"],
    },
    cv=2,
).fit(X_train, y_train)

print("cross-validated 5-NN accuracy of each setting:")
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    print(
        f"  {params['lossembedder__loss']:17s} mixup={params['lossembedder__mixup']}"
        f"  {score:.3f}"
    )
best = search.best_estimator_
print(f"best: {search.best_params_}")
print(
    f"test accuracy {best.score(X_test, y_test):.3f}, test Recall@1 of the "
    f"embedding {recall_at_1_scorer(best[:-1], X_test, y_test):.3f}"
)

for name, reducer in [
    ("PCA(16)", PCA(16, random_state=0)),
    ("NCA(16)", NeighborhoodComponentsAnalysis(16, random_state=0)),
]:
    reference = make_pipeline(StandardScaler(), reducer, KNeighborsClassifier())
    reference.fit(X_train, y_train)
    print(
        f"{name}: test accuracy {reference.score(X_test, y_test):.3f}, "
        f"Recall@1 {recall_at_1_scorer(reference[:-1], X_test, y_test):.3f}"
    )
