"""Parameter checks shared by the estimators, samplers and reweighters."""

from __future__ import annotations

from sklearn.utils import check_random_state

__all__ = ["check_random_state_param"]


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
