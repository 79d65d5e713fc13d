"""Data sets: the frozen :class:`Dataset` and reading students' CSV files.

Everything a lab runs on is a :class:`Dataset`: a read-only float64 matrix
``X`` of shape (n_samples, n_features) with its column names, an optional
text column of known classes (``labels``, for colouring and comparison only)
and notes on what loading did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from tracelab.trace import freeze

__all__ = ["Dataset", "DataError", "digest", "read_csv"]


class DataError(ValueError):
    """Data that cannot be used, with a message saying what is wrong and what to do."""


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


@dataclass(frozen=True)
class Dataset:
    """A data set ready for the algorithms.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Finite float64 values; stored read-only.
    columns : tuple of str, length n_features
        Names of the features.
    name : str
        What to call the data set in the lab.
    labels : tuple of str, length n_samples, or None
        Known classes (e.g. iris species), kept for colouring and comparison
        and never fed to an algorithm.
    label_name : str or None
        Name of the column ``labels`` came from.
    notes : tuple of str
        What loading did, e.g. "2 rows with missing values were dropped."
    """

    X: np.ndarray
    columns: tuple[str, ...]
    name: str = "data"
    labels: tuple[str, ...] | None = None
    label_name: str | None = None
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        X = np.asarray(self.X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise DataError(f"X should be a 2-D table of numbers, but it has {X.ndim} dimensions.")
        if not np.all(np.isfinite(X)):
            raise DataError("X holds missing or infinite values; drop those rows first.")
        columns = tuple(str(c) for c in self.columns)
        if len(columns) != X.shape[1]:
            raise DataError(
                f"X has {X.shape[1]} columns but {len(columns)} column names were given."
            )
        object.__setattr__(self, "X", freeze(X, dtype=np.float64))
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.labels is not None:
            labels = tuple(str(v) for v in self.labels)
            if len(labels) != X.shape[0]:
                raise DataError(f"{len(labels)} labels were given for {X.shape[0]} rows.")
            object.__setattr__(self, "labels", labels)

    def __setstate__(self, state: dict) -> None:
        # st.cache_data pickles: the array comes back writeable, so freeze it again.
        self.__dict__.update(state)
        self.X.flags.writeable = False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return (
            self.digest == other.digest
            and self.columns == other.columns
            and self.name == other.name
            and self.labels == other.labels
            and self.label_name == other.label_name
            and self.notes == other.notes
        )

    def __hash__(self) -> int:
        return hash((self.digest, self.columns, self.name))

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @cached_property
    def digest(self) -> str:
        """Fingerprint of ``X`` (see :func:`digest`); the cache key for traces."""
        return digest(self.X)

    def select(self, columns: list[str] | tuple[str, ...]) -> Dataset:
        """The same rows with only the named feature columns, in the order given.

        Raises
        ------
        DataError
            If a name is not a column, or no column is named.
        """
        columns = list(columns)
        if not columns:
            raise DataError("Choose at least one feature column.")
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise DataError(
                f"{', '.join(map(repr, unknown))} is not a numeric column here; "
                f"the columns are {', '.join(self.columns)}."
            )
        idx = [self.columns.index(c) for c in columns]
        return replace(self, X=self.X[:, idx], columns=tuple(columns))

    def standardized(self) -> Dataset:
        """Each column shifted to mean 0 and scaled to standard deviation 1.

        A constant column is only shifted (its standard deviation is 0), and a
        note says so.
        """
        mean = self.X.mean(axis=0)
        std = self.X.std(axis=0)
        constant = std == 0
        scale = np.where(constant, 1.0, std)
        notes = self.notes + ("Columns were standardised to mean 0 and standard deviation 1.",)
        if constant.any():
            names = ", ".join(c for c, k in zip(self.columns, constant) if k)
            notes += (f"Constant column {names} was only centred.",)
        return replace(self, X=(self.X - mean) / scale, notes=notes)
