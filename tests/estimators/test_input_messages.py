"""Inputs that used to fail with a raw torch or numpy message get one that
names the input and what to do."""

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_losses import LossClassifier


@pytest.fixture
def xy():
    rng = np.random.default_rng(0)
    return rng.normal(size=(40, 3)), np.arange(40) % 2


@pytest.mark.parametrize(
    "device, match",
    [
        (
            None,
            "device must be a torch device such as 'cpu', 'cuda' or 'mps'; got None",
        ),
        ("gpu", "device must be a torch device"),
        (True, "device must be a torch device"),
        pytest.param(
            "mps",
            "device='mps', but .* no MPS device",
            marks=pytest.mark.skipif(
                torch.backends.mps.is_available(), reason="MPS is available here"
            ),
        ),
        pytest.param(
            "cuda",
            "device='cuda', but .* no CUDA device",
            marks=pytest.mark.skipif(
                torch.cuda.is_available(), reason="CUDA is available here"
            ),
        ),
    ],
)
def test_unusable_device_is_named(xy, device, match):
    with pytest.raises(ValueError, match=match):
        LossClassifier(device=device, max_epochs=1).fit(*xy)


def test_cpu_device_spellings(xy):
    for device in ("cpu", "cpu:0", torch.device("cpu")):
        LossClassifier(device=device, max_epochs=1).fit(*xy)


def test_dataframe_with_string_and_datetime_columns_names_them(xy):
    X, y = xy
    frame = pd.DataFrame(
        {
            "income": X[:, 0],
            "city": ["Oslo", "Lima"] * 20,
            "joined": pd.date_range("2020-01-01", periods=40),
            "active": [True, False] * 20,
        }
    )
    with pytest.raises(ValueError, match=r"'city' \(.*\), 'joined' \(datetime") as err:
        LossClassifier(max_epochs=1).fit(frame, y)
    message = str(err.value)
    assert "'income'" not in message and "'active'" not in message
    assert "ColumnTransformer" in message and "sklearn-losses compare" in message
    clf = LossClassifier(max_epochs=1).fit(frame[["income", "active"]], y)
    with pytest.raises(ValueError, match="'active' \\("):
        clf.predict(frame[["income"]].assign(active=["yes", "no"] * 20))
