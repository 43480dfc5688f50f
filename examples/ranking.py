"""Learning to rank: search over ranking losses with GridSearchCV.

``LossRanker`` takes one query id per row (``qid``), like XGBoost's
``XGBRanker``. scikit-learn's metadata routing carries it through the
Pipeline, the search and the scorer; ``GroupKFold`` over ``groups=qid`` keeps
every query in one fold, and ``ndcg_scorer`` scores by query. The features
are mapped to a normal by a ``QuantileTransformer`` (ranking features are
heavy-tailed). Runs in seconds: ``python examples/ranking.py``.
"""

import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, GroupKFold, GroupShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from sklearn_losses import LossRanker
from sklearn_losses.datasets import make_ranking
from sklearn_losses.metrics import ndcg_by_query, ndcg_scorer

sklearn.set_config(enable_metadata_routing=True)

X, y, qid = make_ranking(n_queries=120, random_state=0)
train, test = next(
    GroupShuffleSplit(1, test_size=0.25, random_state=0).split(X, y, qid)
)

pipeline = make_pipeline(
    QuantileTransformer(n_quantiles=200, output_distribution="normal"),
    LossRanker(max_epochs=30, hidden_layer_sizes=(32,), random_state=0),
)
grid = [
    {"lossranker__loss": ["lambda"], "lossranker__loss__scheme": ["ndcg_loss2pp"]},
    {"lossranker__loss": ["listnet", "approx_ndcg", "ranknet"]},
]
search = GridSearchCV(
    pipeline, grid, scoring=ndcg_scorer(10), cv=GroupKFold(3), n_jobs=2
)
search.fit(X[train], y[train], groups=qid[train], qid=qid[train])

for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"]
):
    loss = params["lossranker__loss"]
    print(f"NDCG@10 {score:.3f}  {loss}")
print("best loss:", search.best_params_["lossranker__loss"])
scores = search.best_estimator_.predict(X[test], qid=qid[test])
test_ndcg = ndcg_by_query(y[test], scores, qid[test], k=10)
print(
    f"test NDCG@10 of the best: {test_ndcg:.3f} on {len(np.unique(qid[test]))} queries"
)
