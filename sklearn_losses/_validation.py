"""Parameter checks shared by the estimators, samplers and reweighters."""

from __future__ import annotations

import torch
from sklearn.utils import check_random_state

__all__ = ["check_device", "check_numeric_columns", "check_random_state_param"]


def check_random_state_param(random_state):
    """Raise ``ValueError`` naming ``random_state`` unless sklearn accepts it.

    Examples
    --------
    >>> check_random_state_param(0)
    >>> check_random_state_param("seed")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: random_state must be None, an int in [0, 2**32 - 1] or ... got 'seed'.
    """
    try:
        check_random_state(random_state)
    except ValueError:
        raise ValueError(
            "random_state must be None, an int in [0, 2**32 - 1] or a numpy "
            f"RandomState; got {random_state!r}."
        ) from None


def check_device(device):
    """The ``torch.device`` for ``device``, or ``ValueError`` naming it.

    Accepts what ``torch.device`` accepts (``"cpu"``, ``"cuda"``, ``"cuda:1"``,
    ``"mps"``, a CUDA index, a ``torch.device``) when that device is usable
    here.

    Examples
    --------
    >>> check_device("cpu")
    device(type='cpu')
    >>> check_device(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: device must be a torch device such as 'cpu', 'cuda' or 'mps'; got None.
    """
    allowed = "a torch device such as 'cpu', 'cuda' or 'mps'"
    if isinstance(device, bool) or not isinstance(device, str | torch.device | int):
        raise ValueError(f"device must be {allowed}; got {device!r}.")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"device must be {allowed}; got {device!r} ({exc}).") from None
    available = {
        "cuda": torch.cuda.is_available,
        "mps": lambda: torch.backends.mps.is_available(),
    }.get(parsed.type)
    if available is not None and not available():
        raise ValueError(
            f"device={device!r}, but this PyTorch build or machine has no "
            f"{parsed.type.upper()} device (torch reports it unavailable); use "
            "device='cpu'."
        )
    try:
        torch.empty(0, device=parsed)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"device={device!r} is not usable here: {exc}") from None
    return parsed


def check_numeric_columns(X, estimator_name):
    """Refuse a DataFrame with non-numeric columns, naming them.

    scikit-learn's own message ("could not convert string to float") names
    neither the column nor a remedy.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    bad = [
        f"{name!r} ({dtype})"
        for name, dtype in dtypes.items()
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))
    ]
    if bad:
        raise ValueError(
            f"{estimator_name} needs numeric features; column(s) {', '.join(bad)} "
            "are not. Encode them first, e.g. with a ColumnTransformer "
            "(OneHotEncoder for categories, numeric features from dates), or run "
            "`sklearn-losses compare`, which encodes such columns itself."
        )
