"""The main job: compare_losses, the table, the command line, the built-in data."""

import numpy as np
import pytest

from sklearn_losses import LossClassifier
from sklearn_losses.cli import main
from sklearn_losses.compare import compare_losses, default_candidates, format_table
from sklearn_losses.datasets import load_imbalanced_breast_cancer, make_anyloss_random

FAST = LossClassifier(max_epochs=3, hidden_layer_sizes=(8,))


def test_breast_cancer_task_matches_the_papers_construction():
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_breast_cancer

    X, t = load_breast_cancer(return_X_y=True, as_frame=True)
    df = X.assign(y=(t == 0).astype(int))
    df = pd.concat([df[df.y == 0], df[df.y == 1].sample(n=36, random_state=100)])
    X_ref, y_ref = df.drop(columns="y").to_numpy(), df.y.to_numpy()
    X_ours, y_ours = load_imbalanced_breast_cancer(return_X_y=True)
    np.testing.assert_array_equal(X_ours, X_ref)
    np.testing.assert_array_equal(y_ours, y_ref)
    bunch = load_imbalanced_breast_cancer(as_frame=True)
    assert list(bunch.data.columns) == list(bunch.feature_names)


def test_anyloss_random_task_shape_and_imbalance():
    X, y = make_anyloss_random()
    assert X.shape == (10000, 2)
    assert 0.08 < y.mean() < 0.12


def test_compare_losses_rows_and_metrics():
    X, y = load_imbalanced_breast_cancer(return_X_y=True)
    rows = compare_losses(
        X, y, ["cross_entropy", "focal:gamma=1"], cv=2, estimator=FAST
    )
    assert [r["loss"] for r in rows] in (
        ["cross_entropy", "focal:gamma=1"],
        ["focal:gamma=1", "cross_entropy"],
    )
    for row in rows:
        for metric in ("minority_f1", "balanced_accuracy", "pr_auc"):
            assert 0.0 <= row[f"{metric}_mean"] <= 1.0
            assert row[f"{metric}_std"] >= 0.0
        assert row["fit_time"] > 0
    table = format_table(rows)
    assert "minority F1" in table and "focal:gamma=1" in table


def test_compare_losses_is_reproducible_and_multiclass():
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    first = compare_losses(X, y, ["cross_entropy"], cv=2, estimator=FAST)
    second = compare_losses(X, y, ["cross_entropy"], cv=2, estimator=FAST)
    assert first[0]["minority_f1_mean"] == second[0]["minority_f1_mean"]


def test_default_candidates_cover_registry():
    candidates = default_candidates("binary")
    assert {"cross_entropy", "focal", "anyloss", "cross_entropy+balanced"} <= set(
        candidates
    )
    # left out: needs likelihood= in fit; re-runs the network (expensive)
    assert not {"generalized_focal", "adv_comp_sum"} & set(candidates)


def test_candidate_parsing_errors():
    X, y = load_imbalanced_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="focal"):
        compare_losses(X, y, ["focl"], cv=2, estimator=FAST)
    with pytest.raises(ValueError, match="key=value"):
        compare_losses(X, y, ["focal:gamma"], cv=2, estimator=FAST)


def test_cli_compare_prints_table(capsys):
    code = main(
        ["compare", "--losses", "cross_entropy", "--cv", "2", "--max-epochs", "2"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "| cross_entropy |" in out and "PR-AUC" in out


def test_cli_bad_loss_exits_nonzero(capsys):
    assert main(["compare", "--losses", "nope", "--cv", "2", "--max-epochs", "1"]) == 2
    assert "Unknown loss" in capsys.readouterr().err


def test_cli_list_losses(capsys):
    assert main(["list-losses", "--task", "binary"]) == 0
    assert "focal" in capsys.readouterr().out.split()
