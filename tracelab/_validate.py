"""Checks of user input shared by the algorithms (gmm, kmeans, kmedoids).

Private: each algorithm validates its arguments once, at its public entry point,
with these helpers, so the same mistake gets the same message in every lab.
Every message has the form "name should be ..., but got ...".

The second half holds the pieces of each lab's ``check_trace`` (a trace loaded
from a file, checked before it is drawn); their messages read "This trace cannot
be shown in the <lab> lab: ...".
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tracelab.data import Dataset
from tracelab.record.arrays import freeze
from tracelab.record.trace import Trace

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


def check_labels(labels: Any, k: int, name: str = "labels") -> None:
    """Refuse cluster labels that are not a 1-D array of whole numbers in 0..k-1."""
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"{name} should be a 1-D array of whole numbers")
    if labels.size and not 0 <= labels.min() <= labels.max() < k:
        raise ValueError(f"{name} should be between 0 and {k - 1}")


def check_seed(seed):
    """None, or a whole number at least 0."""
    return None if seed is None else number("seed", seed, integer=True, minimum=0)


# ---------------------------------------------------------------------------
# Checking a trace from a file (each lab's ``check_trace``)
# ---------------------------------------------------------------------------
#
# Messages read "This trace cannot be shown in the <lab> lab: ...", with steps
# numbered from 1 as the labs number them.


def is_real(x: Any) -> bool:
    """Whether ``x`` is a real number (Python's or numpy's int or float), not a bool."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def trace_problem(lab: str, text: str) -> ValueError:
    """The error for a trace the ``lab`` lab ("EM", "k-means", ...) cannot draw."""
    return ValueError(f"This trace cannot be shown in the {lab} lab: {text}.")


def _or(options: tuple[str, ...]) -> str:
    items = [repr(o) for o in options]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _article(word: str) -> str:
    return "an" if word[:1].upper() in "AEIOU" else "a"


def check_trace_header(trace: Any, lab: str, algorithm: str) -> None:
    """A :class:`Trace` of ``algorithm`` with at least one step."""
    if not isinstance(trace, Trace):
        raise trace_problem(lab, f"it is a {type(trace).__name__}, not a Trace")
    if trace.algorithm != algorithm:
        raise trace_problem(
            lab, f"it is a trace of {trace.algorithm!r}, not of {lab}; open it in the lab it came from"
        )
    if not trace.steps:
        raise trace_problem(lab, "it has no steps")


def check_trace_data(trace: Trace, lab: str, why: str) -> np.ndarray:
    """The trace's data: a non-empty, finite 2-D array. ``why`` ends the message for a
    trace without data ("which the responsibilities are computed from")."""
    X = trace.X
    if X is None:
        raise trace_problem(lab, f"it does not hold its data (X), {why}")
    if not isinstance(X, np.ndarray) or X.ndim != 2:
        raise trace_problem(lab, f"its data X should be a table (2-D), but it has shape {np.shape(X)}")
    n, d = X.shape
    if n == 0 or d == 0:
        raise trace_problem(lab, f"its data X is empty (shape {X.shape})")
    if not np.all(np.isfinite(X)):
        raise trace_problem(lab, "its data X holds NaN or infinite values")
    return X


def check_step_kind(lab: str, where: str, snap: Any, cls: type, phases: tuple[str, ...]) -> None:
    """A step of the lab's snapshot class with one of its phases."""
    if not isinstance(snap, cls):
        raise trace_problem(lab, f"{where} is a {type(snap).__name__}, not {_article(lab)} {lab} step")
    if snap.phase not in phases:
        raise trace_problem(lab, f"{where} has phase {snap.phase!r}; {lab} steps are {_or(phases)}")


def check_trace_points(lab: str, where: str, name: str, a: Any, shape: tuple[int, int], unit: str) -> None:
    """``a`` is a finite float array of ``shape`` (k points in d features; ``unit`` names
    what the k rows are: "cluster", "medoid")."""
    if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
        raise trace_problem(lab, f"{where}: {name} should be an array of decimal numbers")
    if a.shape != shape:
        k, d = shape
        raise trace_problem(
            lab,
            f"{where}: {name} should have shape {shape} for {k} {unit}{'s' if k != 1 else ''} "
            f"in {d} feature{'s' if d != 1 else ''}, but it has {a.shape}",
        )
    if not np.all(np.isfinite(a)):
        raise trace_problem(lab, f"{where}: {name} holds NaN or infinite values")


def check_trace_labels(lab: str, where: str, labels: Any, n: int, k: int) -> None:
    """``labels`` is an integer array of shape (n,) with values 0 to k - 1."""
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        raise trace_problem(lab, f"{where}: labels should be an array of whole numbers")
    if labels.shape != (n,):
        raise trace_problem(
            lab, f"{where}: labels should have one entry per point, shape ({n},), but it has {labels.shape}"
        )
    bad = np.flatnonzero((labels < 0) | (labels >= k))
    if bad.size:
        i = int(bad[0])
        raise trace_problem(
            lab, f"{where}: labels should be cluster numbers 0 to {k - 1}, but labels[{i}] is {int(labels[i])}"
        )


def check_trace_number(lab: str, where: str, name: str, value: Any, *, optional: bool = False,
                       integer: bool = False, maximum: int | None = None) -> None:
    """``value`` is a finite real number at least 0 (None too if ``optional``; a whole
    number up to ``maximum`` if ``integer``)."""
    if optional and value is None:
        return
    if integer:
        ok = is_real(value) and isinstance(value, (int, np.integer)) and 0 <= value <= maximum
        kind = f"a whole number from 0 to {maximum}"
    else:
        ok = is_real(value) and math.isfinite(value) and value >= 0
        kind = "a finite number at least 0"
    if not ok:
        kind = f"empty or {kind}" if optional else kind
        raise trace_problem(lab, f"{where}: {name} should be {kind}, but it is {value!r}")
