"""Checks of user input shared by the algorithms (gmm, kmeans, kmedoids).

Private: each algorithm validates its arguments once, at its public entry point,
with these helpers, so the same mistake gets the same message in every lab.
Every message has the form "name should be ..., but got ...".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tracelab.data import Dataset
from tracelab.trace import freeze

# Squares of larger numbers, summed over many points, overflow float64.
MAX_ABS = 1e150


def one_of(name: str, value: Any, options: tuple[str, ...]) -> str:
    """The message for a value that is not one of ``options``."""
    opts = ", ".join(repr(o) for o in options)
    return f"{name} should be one of {opts}, but got {value!r}"


def number(name, value, *, minimum=None, positive=False, integer=False, allow_inf=False, hint=""):
    """``value`` as an int or float, or a ValueError naming ``name``."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
    if integer and not bad and not isinstance(value, (int, np.integer)):
        if math.isfinite(value) and float(value).is_integer():
            value = int(value)
        else:
            bad = True
    if bad:
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{name} should be {kind}, but got {value!r}")
    value = int(value) if integer else float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} should be a finite number, but got {value}")
    if positive and not value > 0:
        raise ValueError(f"{name} should be positive{hint}, but got {value:g}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} should be at least {minimum}{hint}, but got {value:g}")
    return value


def as_points(X, name: str = "X") -> np.ndarray:
    """``X`` as a 2-D float64 array (a 1-D array is one feature); not copied or checked further."""
    if isinstance(X, Dataset):
        return X.X
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} should be a table of numbers") from None
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name} should be 2-D (n_samples, n_features), but got {X.ndim} dimensions")
    return X


def check_data(X, algorithm: str) -> np.ndarray:
    """The data as a read-only, finite float64 array of shape (n_samples, n_features).

    ``algorithm`` names the method in the messages ("EM", "k-means", ...).
    """
    if isinstance(X, Dataset):
        X = X.X
    else:
        X = as_points(X)
        if X.size and not np.all(np.isfinite(X)):
            rows = int(np.count_nonzero(~np.all(np.isfinite(X), axis=1)))
            raise ValueError(
                f"X holds NaN or infinite values in {rows} row{'s' if rows != 1 else ''}; "
                "drop or fill those rows first"
            )
        X = freeze(X, dtype=np.float64)
    n, d = X.shape
    if n == 0:
        raise ValueError(f"X has no points; {algorithm} needs at least one row of data")
    if d == 0:
        raise ValueError("X has no feature columns; choose at least one numeric column")
    biggest = float(np.abs(X).max())
    if biggest > MAX_ABS:
        raise ValueError(
            f"X holds values as large as {biggest:.3g}; {algorithm} squares them, which "
            "overflows, so scale the data first (e.g. standardise the columns)"
        )
    return X


def check_k(value, n: int, unit: str, name: str = "n_clusters") -> int:
    """A number of clusters/components: a whole number from 1 to ``n``."""
    k = number(name, value, integer=True)
    if k < 1:
        raise ValueError(f"{name} should be at least 1, but got {k}")
    if k > n:
        raise ValueError(
            f"{name} should be at most the number of points ({n}), but got {k}; "
            f"choose fewer {unit} or use more data"
        )
    return k


def check_seed(seed):
    """None, or a whole number at least 0."""
    return None if seed is None else number("seed", seed, integer=True, minimum=0)
