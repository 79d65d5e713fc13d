"""Read-only arrays and their fingerprints: what snapshots, traces and data sets are built on.

A leaf module (numpy only), so that the records (:mod:`tracelab.record.trace`) and the
data (:mod:`tracelab.data`) both build on it without importing each other.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["freeze", "freeze_in_place", "digest", "label_dtype"]


def freeze(a: Any, dtype: Any = None) -> np.ndarray:
    """Return a read-only array with the contents of ``a``.

    An array that is already read-only (and of the asked dtype) is returned as
    it is; anything else is copied first, so freezing never changes an array
    the caller still holds.

    Parameters
    ----------
    a : array-like
    dtype : numpy dtype, optional

    Returns
    -------
    ndarray
        With ``flags.writeable`` False.
    """
    if (
        isinstance(a, np.ndarray)
        and not a.flags.writeable
        and (dtype is None or a.dtype == np.dtype(dtype))
    ):
        return a
    out = np.array(a, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


def digest(X: np.ndarray) -> str:
    """A short, stable fingerprint of an array's shape, dtype and values.

    Parameters
    ----------
    X : ndarray

    Returns
    -------
    str
        16 hex digits of SHA-256; equal arrays give equal digests.
    """
    X = np.ascontiguousarray(X)
    h = hashlib.sha256()
    h.update(f"{X.dtype.str}{X.shape}".encode())
    h.update(X.tobytes())
    return h.hexdigest()[:16]


def label_dtype(k: int) -> np.dtype:
    """The smallest signed integer type holding 0..k-1 (and -1)."""
    for dtype in (np.int8, np.int16, np.int32):
        if k - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def freeze_in_place(state: dict[str, Any]) -> None:
    """Make the arrays among a snapshot's unpickled fields read-only, without copying them."""
    # Unpickled arrays are fresh, so they can be made read-only in place; freezing by
    # copy would give every step its own copy of the label arrays the steps share.
    for value in state.values():
        if isinstance(value, np.ndarray) and value.flags.writeable:
            value.flags.writeable = False
