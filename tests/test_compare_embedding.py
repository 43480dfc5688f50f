"""compare on an embedding task: LossEmbedder's losses against the features,
PCA and NCA, by kNN accuracy, Recall@1 and MAP@R; the command line."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_losses import LossEmbedder
from sklearn_losses.cli import main
from sklearn_losses.compare import (
    EMBEDDING_SCORING,
    compare_losses,
    default_candidates,
    get_task,
    resolve_task,
)
from sklearn_losses.losses import list_losses
from sklearn_losses.metrics import recall_at_k

FAST = ["--cv", "2", "--max-epochs", "2", "--n-jobs", "1", "--no-progress"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True, as_frame=True)
    keep = np.random.RandomState(0).permutation(len(y))[:300]
    return X.iloc[keep].reset_index(drop=True), y.to_numpy()[keep]


def test_the_task():
    task, y, positive = resolve_task(["a", "b", "a", "c"], task="embedding")
    assert task.name == "embedding" and positive is None
    assert y.tolist() == ["a", "b", "a", "c"]
    assert get_task("embedding").default_scoring == EMBEDDING_SCORING
    # never chosen by "auto"
    assert resolve_task(["a", "b", "a", "c"])[0].name == "multiclass"


def test_default_candidates_are_every_embedding_loss():
    candidates = default_candidates("embedding")
    # cwcl's frozen view is the input itself when the table has no other
    assert set(candidates) == set(list_losses("embedding"))


def test_compare_against_raw_pca_nca(digits):
    X, y = digits
    table = compare_losses(
        X,
        y,
        ["multi_similarity"],
        task="embedding",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        estimator=LossEmbedder(n_components=8, max_epochs=2),
        n_jobs=1,
        progress=False,
        random_state=0,
    )
    labels = table["loss"].tolist()
    assert set(labels) == {"multi_similarity", "raw features", "PCA(8)", "NCA(8)"}
    for metric in ("knn_accuracy", "recall@1", "map@r"):
        assert table[f"{metric}_mean"].between(0, 1).all()
    # the raw-feature row is a 5-NN on the standardised features, fold by fold
    raw = table.set_index("loss").loc["raw features"]
    accuracy, recall = [], []
    for train, test in StratifiedKFold(2, shuffle=True, random_state=0).split(X, y):
        scaler = StandardScaler().fit(X.iloc[train])
        A, B = scaler.transform(X.iloc[train]), scaler.transform(X.iloc[test])
        accuracy.append(KNeighborsClassifier(5).fit(A, y[train]).score(B, y[test]))
        recall.append(recall_at_k(B, y[test], k=1))
    assert raw["knn_accuracy_mean"] == pytest.approx(np.mean(accuracy))
    assert raw["recall@1_mean"] == pytest.approx(np.mean(recall))


def test_an_unknown_metric_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="Unknown metric"):
        compare_losses(
            X,
            y,
            ["multi_similarity"],
            task="embedding",
            scoring=["recall@one"],
            progress=False,
        )


def test_command_line(tmp_path, digits, capsys):
    X, y = digits
    frame = X.assign(label=[f"d{v}" for v in y])
    path = tmp_path / "digits.csv"
    frame.to_csv(path, index=False)
    code = main(
        [
            "compare",
            str(path),
            "--target",
            "label",
            "--task",
            "embedding",
            "--losses",
            "multi_similarity",
            "--no-reference",
            *FAST,
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "embedding target" in out and "kNN accuracy" in out
    assert "Recall@1" in out and "MAP@R" in out
    assert isinstance(pd.read_csv(path), pd.DataFrame)
