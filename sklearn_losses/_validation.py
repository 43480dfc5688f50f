"""Parameter checks shared by the estimators, samplers and reweighters."""

from __future__ import annotations

import math
import numbers

import torch
from sklearn.utils import check_random_state

__all__ = [
    "Constraint",
    "boolean",
    "check_device",
    "check_real",
    "check_numeric_columns",
    "check_random_state_param",
    "integer",
    "is_int",
    "is_real",
    "one_of",
    "real",
    "validate_params",
]


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


# -- declared parameter constraints ----------------------------------------------
class Constraint:
    """A named predicate on a parameter value: ``Constraint(test, "a float > 0")``.

    ``description`` completes "``name`` must be ...". Constraints combine with
    ``|`` (either holds).

    Examples
    --------
    >>> positive = real(low=0, closed="neither")
    >>> positive(0.5), positive(0), str(positive)
    (True, False, 'a float > 0')
    >>> str(positive | one_of("auto"))
    "a float > 0 or 'auto'"
    """

    def __init__(self, test, description):
        self.test = test
        self.description = description

    def __call__(self, value):
        try:
            return bool(self.test(value))
        except (TypeError, ValueError):
            return False

    def __or__(self, other):
        return Constraint(
            lambda v: self(v) or other(v), f"{self.description} or {other.description}"
        )

    def __str__(self):
        return self.description


def is_real(value):
    """A finite real number that is not a bool."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def is_int(value, low=None):
    """An integer (not a bool), at least ``low`` when given."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    return ok and (low is None or value >= low)


def real(low=None, high=None, closed="both"):
    """A finite float in an interval (``closed``: "both", "left", "right",
    "neither")."""
    lo_ok = closed in ("both", "left")
    hi_ok = closed in ("both", "right")

    def test(v):
        return (
            is_real(v)
            and (low is None or (v >= low if lo_ok else v > low))
            and (high is None or (v <= high if hi_ok else v < high))
        )

    if high is None:
        text = "a float" if low is None else f"a float {'>=' if lo_ok else '>'} {low}"
    else:
        left = "[" if lo_ok else "("
        right = "]" if hi_ok else ")"
        text = f"a float in {left}{low}, {high}{right}"
    return Constraint(test, text)


def check_real(name, value, *, low=None, high=None, closed="both", hint=""):
    """``value`` if it is a finite float in the interval, else ``ValueError``
    naming ``name`` (``hint`` is added to the message).

    Examples
    --------
    >>> check_real("gamma", 2.0, low=0)
    2.0
    >>> check_real("gamma", -1, low=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a float >= 0; got -1.
    """
    constraint = real(low, high, closed)
    if not constraint(value):
        raise ValueError(f"{name} must be {constraint}{hint}; got {value!r}.")
    return value


def integer(low=None):
    """An int (not a bool), at least ``low``."""
    text = "an int" if low is None else f"an int >= {low}"
    return Constraint(lambda v: is_int(v, low), text)


def one_of(*options):
    """One of the given values (strings compared exactly)."""
    text = ", ".join(repr(o) for o in options)
    if len(options) > 1:
        head, _, last = text.rpartition(", ")
        text = f"{head} or {last}"
    return Constraint(
        lambda v: any(v == o and type(v) is type(o) for o in options), text
    )


boolean = Constraint(lambda v: isinstance(v, bool), "True or False")


def validate_params(obj, constraints):
    """Check ``obj``'s attributes against ``{name: Constraint}``; ``ValueError``
    naming the first that fails, what is allowed, and the value."""
    for name, constraint in constraints.items():
        value = getattr(obj, name)
        if not constraint(value):
            raise ValueError(f"{name} must be {constraint}; got {value!r}.")
