"""Quick start: a focal-loss classifier on an imbalanced table, with weights.

Runs in a few seconds: ``python examples/quickstart.py``.
"""

from sklearn.metrics import average_precision_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossClassifier
from sklearn_losses.datasets import load_imbalanced_breast_cancer

X, y = load_imbalanced_breast_cancer(return_X_y=True, as_frame=False)
labels = ["benign", "malignant"]
y = [labels[v] for v in y]  # string labels work as they are
X_train, X_test, y_train, y_test = train_test_split(
    X, y, stratify=y, test_size=0.3, random_state=0
)

for name, params in {
    "cross-entropy": {"loss": "cross_entropy"},
    "cross-entropy, balanced": {"loss": "cross_entropy", "class_weight": "balanced"},
    "focal, gamma=2": {"loss": "focal", "loss__gamma": 2.0},
}.items():
    model = make_pipeline(StandardScaler(), LossClassifier(random_state=0, **params))
    model.fit(X_train, y_train)
    proba = model.predict_proba(X_test)[:, list(model.classes_).index("malignant")]
    f1 = f1_score(y_test, model.predict(X_test), pos_label="malignant")
    ap = average_precision_score([v == "malignant" for v in y_test], proba)
    print(f"{name:26s} minority F1 {f1:.3f}   PR-AUC {ap:.3f}")
