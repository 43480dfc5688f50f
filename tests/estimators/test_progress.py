"""``verbose=1``: the epoch progress bar leaves its last line on stderr."""

import numpy as np

from sklearn_losses import LossClassifier


def _last_line(text):
    """What a terminal shows last: the text after the last carriage return of
    the last complete line."""
    assert text.endswith("\n"), repr(text)
    return text.rstrip("\n").rsplit("\n", 1)[-1].rsplit("\r", 1)[-1]


def test_verbose_1_keeps_the_last_progress_line(binary_data, capsys):
    X, y = binary_data
    LossClassifier(max_epochs=3, hidden_layer_sizes=(4,), verbose=1).fit(X, y)
    captured = capsys.readouterr()
    line = _last_line(captured.err)
    assert "3/3" in line and "epoch" in line
    assert "train_loss=" in line
    assert captured.out == ""


def test_verbose_0_prints_nothing(binary_data, capsys):
    X, y = binary_data
    LossClassifier(max_epochs=2, hidden_layer_sizes=(4,), verbose=0).fit(X, y)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_the_progress_line_shows_the_epochs_run_with_early_stopping(capsys):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(80, 3)), rng.randint(0, 2, 80)
    model = LossClassifier(
        max_epochs=50,
        hidden_layer_sizes=(4,),
        early_stopping=True,
        n_iter_no_change=2,
        tol=10.0,  # no epoch improves this much: stops after 3
        verbose=1,
        random_state=0,
    ).fit(X, y)
    epochs = len(model.history_)
    assert epochs < 50
    line = _last_line(capsys.readouterr().err)
    assert f"{epochs}/50" in line
