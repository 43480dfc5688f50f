"""Regression losses on a public table: squared, absolute, Huber, and quantiles.

``LossRegressor`` takes the loss as a parameter, like ``LossClassifier``; the
quantile (pinball) loss gives a prediction interval. Runs in seconds:
``python examples/regression_losses.py``.
"""

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossRegressor

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)


def model(**params):
    network = {"hidden_layer_sizes": (16,), "lr": 3e-3, "weight_decay": 1e-2}
    return make_pipeline(
        StandardScaler(),
        LossRegressor(max_epochs=80, random_state=0, **network, **params),
    )


ridge = make_pipeline(StandardScaler(), Ridge()).fit(X_train, y_train)
print(f"Ridge  R² {r2_score(y_test, ridge.predict(X_test)):.3f}   (reference)")
for loss, params in [("mse", {}), ("l1", {}), ("huber", {"loss__delta": 1.0})]:
    pred = model(loss=loss, **params).fit(X_train, y_train).predict(X_test)
    print(
        f"{loss:6s} R² {r2_score(y_test, pred):.3f}   "
        f"MAE {mean_absolute_error(y_test, pred):.1f}"
    )

low = model(loss="quantile", loss__alpha=0.1).fit(X_train, y_train).predict(X_test)
high = model(loss="quantile", loss__alpha=0.9).fit(X_train, y_train).predict(X_test)
inside = np.mean((low <= y_test) & (y_test <= high))
print(f"10%-90% interval holds {inside:.0%} of the test targets (aim: 80%)")
