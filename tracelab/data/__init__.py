"""Data sets: the frozen :class:`Dataset` and reading students' CSV files.

Everything a lab runs on is a :class:`Dataset`: a read-only float64 matrix
``X`` of shape (n_samples, n_features) with its column names, an optional
text column of known classes (``labels``, for colouring and comparison only)
and notes on what loading did.

This package also holds ``link`` (a small data set packed into a link) and
``datasets`` (built-in data and generators). It imports numpy, pandas and
:mod:`tracelab.record` (frozen arrays, message words), never a lab, plotly or
streamlit.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from tracelab.record.arrays import digest, freeze
from tracelab.record.words import plural as _plural

__all__ = [
    "Dataset",
    "DataError",
    "read_csv",
    "default_features",
    "class_column",
    "MAX_BYTES",
    "MAX_ROWS",
    "limits",
    "sample_rows",
]

#: Largest file :func:`read_csv` accepts, in bytes: 50 MB, in the decimal
#: megabytes (10**6 bytes) in which Streamlit's uploader counts and lists files,
#: so that the uploader, the loader and the messages name one limit. Read at
#: call time, so tests can lower it.
MAX_BYTES = 50_000_000

#: Most data rows :func:`read_csv` accepts. Every lab keeps per-step state for
#: every point, so traces grow with n_samples times the number of steps.
MAX_ROWS = 200_000


def sample_rows(n: int, max_rows: int, seed: int = 0) -> np.ndarray:
    """Row indices: all of them, or a seeded random ``max_rows`` of them.

    The same ``(n, max_rows, seed)`` always gives the same rows: a point drawn
    at one step is drawn at the next, and a sampled computation is repeatable.

    Parameters
    ----------
    n : int
        Number of rows.
    max_rows : int
        At least 1.
    seed : int, default 0

    Returns
    -------
    ndarray of int, sorted
        ``arange(n)`` if ``n <= max_rows``, else ``max_rows`` distinct rows.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows should be at least 1, but got {max_rows}")
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def limits() -> str:
    """What :func:`read_csv` accepts, as the uploader and the messages say it: "50 MB and 200,000 rows"."""
    return f"{_size(MAX_BYTES)} and {MAX_ROWS:,} rows"


class DataError(ValueError):
    """Data that cannot be used, with a message saying what is wrong and what to do."""


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
        if len(set(columns)) != len(columns):
            # Columns are chosen and plotted by name, so a name must say which column.
            twice = sorted({c for c in columns if columns.count(c) > 1})
            raise DataError(
                f"Column names should be unique, but {', '.join(map(repr, twice))} "
                "appears more than once."
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

    def sample(self, max_rows: int, seed: int = 0) -> Dataset:
        """The same data set, or a seeded random ``max_rows`` of its rows (:func:`sample_rows`).

        Columns, name and notes stay; the known classes follow their rows.
        """
        rows = sample_rows(self.n_samples, max_rows, seed)
        if rows.size == self.n_samples:
            return self
        labels = None if self.labels is None else tuple(self.labels[i] for i in rows)
        return replace(self, X=self.X[rows], labels=labels)

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


# ---------------------------------------------------------------------------
# Choosing the columns: which ones are features, which one holds known classes

# Least number of rows for the values of a column to show it is a row number:
# in a shorter file a measurement such as 3, 4, 5 runs by chance.
_MIN_ROWS_FOR_ID = 5
# Names that say a column identifies rows (compared as lower-case words, see
# _words): "id", "ID", "row_id", "studentId", "Patient ID", pandas' "Unnamed: 0".
# "index" only on its own: "body mass index" is a measurement.
_ID_NAMES = re.compile(
    r"^(?:.* )?(?:id|ids|uid|uuid|guid)(?: .*)?$|^(?:index|idx|rowid|rownum|row index|"
    r"row number|row no|unnamed 0)$"
)
# Names that often hold a row number but not always ("row" can be a grid
# coordinate): such a column is left out only if it also holds one whole number
# per row. An empty name ("#") and the names given to columns without a header
# ("column 1", pandas' "Unnamed: 3") count too.
_MAYBE_ID_NAMES = re.compile(r"^(?:|row|rows|no|nr|num|number|obs|observation|column \d+|unnamed \d+)$")
# Names of columns that hold known classes.
_CLASS_NAMES = re.compile(
    r"(?:^| )(?:class|classes|label|labels|species|target|group|groups|category|"
    r"categories|kind|type|variety|cluster|clusters)(?: |$)"
)
# A numeric column is taken for class codes only when its name ends so: "target",
# "true label", but not "group size", a measurement.
_CLASS_CODE_NAMES = re.compile(
    r"(?:^| )(?:class|label|species|target|group|category|kind|type|variety|cluster)$"
)
# Most known classes a column may hold; see class_column.
_MAX_CLASSES = 20
# Rows per class at least, on average: fewer, and the column is more like a name.
_ROWS_PER_CLASS = 5


def _words(name: str) -> str:
    """``name`` as lower-case words: "studentId" and "student_id" both give "student id"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    return " ".join(w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w)


def _whole(values: np.ndarray) -> bool:
    """Whether every present value of ``values`` is a whole number (and one is present)."""
    present = values[~np.isnan(values)]
    return bool(present.size) and bool(np.all(np.isfinite(present) & (present == np.round(present))))


def _code(value: float) -> str:
    """A class code as text: 2.0 is class "2"."""
    return "(missing)" if np.isnan(value) else str(int(value))


def _distinct(labels: Iterable[str]) -> set[str]:
    return {v for v in labels if v != "(missing)"}


def class_column(candidates: dict[str, list[str]]) -> tuple[str | None, dict[str, str]]:
    """The column that holds the known classes, if one does.

    Known classes are few values shared by many rows (iris' three species). A
    column with a different value in every row (a name, an identifier) is
    never classes, nor one with a single value. A column qualifies with 2 to
    20 distinct values and at least 5 rows per value on average (at least 3
    values are always allowed, so a short file can have classes). Of several
    that qualify, one named like classes ("class", "label", "species",
    "target", "group", "y", ...) wins, then the one with the fewest distinct
    values, then the first.

    Parameters
    ----------
    candidates : dict of str to list of str
        Each candidate column's values, one per row (n_rows of them), in file
        order; a missing value is ``"(missing)"`` and is not counted as a class.

    Returns
    -------
    name : str or None
        The chosen column, or None if no column qualifies.
    rejected : dict of str to str
        For each column that does not qualify, why, as a clause to follow
        "left out:" (e.g. "it has a different value in every row, ...").
    """
    rejected: dict[str, str] = {}
    ranked = []
    for position, (col, values) in enumerate(candidates.items()):
        present = [v for v in values if v != "(missing)"]
        n_values = len(_distinct(present))
        limit = min(_MAX_CLASSES, max(3, len(values) // _ROWS_PER_CLASS))
        if n_values < 2:
            rejected[col] = "it holds no more than one value, so it cannot be known classes"
        elif n_values == len(present):
            rejected[col] = (
                "it has a different value in every row, like a name or an identifier, "
                "so it cannot be known classes"
            )
        elif n_values > limit:
            rejected[col] = (
                f"it has {n_values} different values in {len(values)} rows, too many "
                f"for known classes (at most {limit} here)"
            )
        else:
            words = _words(col)
            named = bool(_CLASS_NAMES.search(words)) or words == "y"
            ranked.append((not named, n_values, position, col))
    return (min(ranked)[3] if ranked else None), rejected


def _row_numbers(values: np.ndarray, words: str) -> str | None:
    """Why ``values`` look like row numbers (a clause), or None if they do not.

    ``values`` is a column of shape (n_samples,); ``words`` its name as :func:`_words` gives it.
    """
    n = values.shape[0]
    if n < _MIN_ROWS_FOR_ID or not _whole(values) or np.unique(values).size != n:
        return None
    lo, hi = int(values.min()), int(values.max())
    steps = np.diff(values)
    if hi - lo == n - 1:
        return f"it holds the whole numbers {lo} to {hi}, one per row, like row numbers"
    if (np.all(steps > 0) or np.all(steps < 0)) and hi - lo + 1 <= 2 * n:
        # Row numbers after some rows were deleted: still one step at a time, mostly.
        way = "up" if steps[0] > 0 else "down"
        return (
            f"its whole numbers go {way} row by row ({_code(values[0])}, {_code(values[1])}, "
            f"{_code(values[2])}, ...), one per row, like row numbers"
        )
    if _MAYBE_ID_NAMES.match(words):
        return "its name and its whole numbers, one per row, say it numbers the rows"
    return None


def default_features(data: Dataset) -> tuple[tuple[str, ...], dict[str, str]]:
    """The feature columns to cluster by default, and the columns left out with why.

    Left out are the known classes (``data.label_name``, when it is a numeric
    column) and columns that identify rows rather than measure something:

    * a column named like an identifier: "id", "ID", "row_id", "studentId",
      "Patient ID", "index", "rowid", pandas' "Unnamed: 0";
    * whole numbers, one different number per row, that run without gaps
      (1 to n, 0 to n-1, or any start, in any order) or step up (or down) the
      file with small gaps, as row numbers do once some rows were deleted;
    * whole numbers, one per row, in a column named "row", "no", "number",
      "#", or without a header ("column 1", "Unnamed: 3").

    Measurements are kept even when every row has its own value (a height of
    172.4 cm is as unique as an id): the value rules need whole numbers and a
    run like row numbers, and at least 5 rows. If every column would be left
    out, none is: there is nothing else to cluster.

    Parameters
    ----------
    data : Dataset
        The data as read, with all its numeric columns (``X`` of shape
        (n_samples, n_features)).

    Returns
    -------
    features : tuple of str
        The columns to cluster, in ``data.columns`` order.
    left_out : dict of str to str
        Each column left out, in ``data.columns`` order, with why, as a clause
        (e.g. "it holds the whole numbers 1 to 300, one per row, like row numbers").
    """
    left_out: dict[str, str] = {}
    for j, col in enumerate(data.columns):
        values = data.X[:, j]
        words = _words(col)
        if col == data.label_name:
            left_out[col] = "it holds the known classes, which clusters are compared with"
            continue
        why = _row_numbers(values, words)
        if why is None and _ID_NAMES.match(words):
            why = "its name says it identifies rows; it is not a measurement"
        if why is not None:
            left_out[col] = why
    features = tuple(c for c in data.columns if c not in left_out)
    if not features:
        return tuple(data.columns), {}
    return features, left_out


# ---------------------------------------------------------------------------
# Reading CSV files

_SEPARATORS = (",", ";", "\t")
_SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "bars"}

# Markers that spreadsheets, R and pandas write for "no value" (compared in lower case).
_MISSING = frozenset({"", "na", "n/a", "nan", "null", "?"})

# A number in plain decimal notation with an optional exponent, or inf/infinity.
# Stricter than float(), which also takes "1_000" and non-ASCII digits.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?|inf(?:inity)?)", re.ASCII | re.IGNORECASE
)
# A whole column of such numbers, one per line.
_NUMBERS = re.compile(
    rf"(?:{_NUMBER.pattern})(?:\n(?:{_NUMBER.pattern}))*", re.ASCII | re.IGNORECASE
)
# "3,6": spreadsheets in many locales write decimal commas. Only read so in files
# that are not separated by commas, where the comma cannot be a separator.
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:e[+-]?\d+)?", re.ASCII | re.IGNORECASE)

# Excel writes a first line "sep=;" to say which separator the file uses.
_SEPARATOR_HINT = re.compile(r'"?sep=([,;\t|])"?[ \t]*(?:\r\n|\r|\n|$)', re.IGNORECASE)

# Characters that text files do not hold (tab, line ends and form feed aside).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")

# The separator is chosen from this much of the start of the file.
_SAMPLE_CHARS = 64 * 1024
# Share of sample rows that must have the header's field count for a separator
# to count as consistent: a few broken lines should not change the separator
# (they are then reported by line number).
_CONSISTENT = 0.9

_SAVE_AS_CSV = (
    "save it as CSV in your spreadsheet program (File > Save As > CSV) and load that file."
)
_CHOOSE = "choose the file with your data."
# Leading bytes of files that students pick by mistake, and what to tell them.
_SIGNATURES = (
    (
        b"PK\x03\x04",
        "This looks like an Excel workbook (a zip file), not a CSV file: " + _SAVE_AS_CSV,
    ),
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "This looks like an Excel workbook (.xls), not a CSV file: " + _SAVE_AS_CSV,
    ),
    (b"\x89PNG", "This looks like a PNG image, not a CSV file: " + _CHOOSE),
    (b"\xff\xd8\xff", "This looks like a JPEG image, not a CSV file: " + _CHOOSE),
    (b"GIF8", "This looks like a GIF image, not a CSV file: " + _CHOOSE),
    (b"%PDF", "This looks like a PDF document, not a CSV file: " + _CHOOSE),
    (b"\x1f\x8b", "This is a gzip-compressed file: decompress it and load the CSV file inside."),
)
_EMPTY = "The file is empty: choose a CSV file with a header row and rows of numbers."
_NOT_TEXT = (
    "This file is not text (it holds bytes that text files do not), so it cannot be "
    "a CSV file: choose the file with your data or, if it is a spreadsheet, " + _SAVE_AS_CSV
)


def read_csv(
    source: str | os.PathLike | bytes | Any,
    columns: Iterable[str] | str | None = None,
    name: str | None = None,
) -> Dataset:
    """Read a CSV file of numbers into a :class:`Dataset`.

    Reads files the way students have them: separated by commas, semicolons or
    tabs (detected), with decimal commas in files not separated by commas
    ("3,6;79"), a UTF-8 byte-order mark, Windows or old Mac line ends, quoted or
    space-padded values, a trailing separator on every line, Excel's "sep=;"
    first line, UTF-16 ("Unicode text") or Windows-1252 text, and no header row
    (a first line of numbers only). ``""``, ``NA``, ``N/A``, ``NaN``, ``null``
    and ``?`` mark missing values.

    A column is numeric when every value in it that is not missing is a number.
    One text column with few distinct values is kept as ``labels``, the known
    classes (e.g. iris species), chosen by :func:`class_column`, and never
    clustered; a numeric column of whole numbers named like classes (e.g.
    "target") can be the known classes too. Other text columns are left out,
    with a note saying why. Every numeric column is kept in ``X``: which ones to
    cluster by default (leaving out row numbers and identifiers) is
    :func:`default_features`' choice.

    Parameters
    ----------
    source : str, path, bytes or binary file-like
        A path to a file, the file's bytes, or an open file such as Streamlit's
        ``UploadedFile`` (anything with ``getvalue()`` or ``read()``).
    columns : sequence of str or str, optional
        Numeric columns to use, in this order; all numeric columns by default.
    name : str, optional
        Name of the data set; defaults to the file name without its extension
        (``"data"`` for bytes).

    Returns
    -------
    Dataset
        ``X`` of shape (n_samples, n_features) holding the rows that have a
        finite number in every chosen column; ``notes`` say what reading did,
        e.g. "2 rows with missing values were dropped."

    Raises
    ------
    DataError
        For anything that cannot be used, with a message saying what is wrong
        and what to do: an empty, binary or oversized file (over
        :data:`MAX_BYTES` bytes or :data:`MAX_ROWS` rows), rows with the wrong
        number of fields, no numeric column, an unknown column in ``columns``,
        or fewer than 2 usable rows. No other exception leaves this function.
    """
    try:
        return _read_csv(source, columns, name)
    except DataError:
        raise
    except MemoryError:
        raise DataError(
            "There is not enough memory to read this file: use a sample of its rows."
        ) from None
    except Exception as exc:
        # The promise is that only DataError leaves read_csv (the pages show its
        # message); the cause stays chained for whoever debugs it.
        raise DataError(
            f"The file could not be read ({type(exc).__name__}: {str(exc)[:80]}): "
            "check that it is a CSV file with a header row and columns of numbers."
        ) from exc


def _read_csv(source: Any, columns: Any, name: str | None) -> Dataset:
    data, default_name = _read_source(source)
    text, notes = _decode(data)
    if not text.strip():
        raise DataError(_EMPTY)

    line_offset = 0
    hint = _SEPARATOR_HINT.match(text)
    if hint:
        sep, text, line_offset = hint.group(1), text[hint.end() :], 1
    else:
        sep = _detect_separator(text)
    header, header_line, rows, lines = _parse(text, sep, line_offset)
    if header is None:  # only blank lines and bare separators
        raise DataError(_EMPTY)

    decimal_comma = sep != ","
    cells = [v for v in header if v.lower() not in _MISSING]
    if cells and all(_number(v, decimal_comma) is not None for v in cells):
        # A first line of numbers only is data, not a header (e.g. numpy.savetxt).
        rows.insert(0, header)
        lines.insert(0, header_line)
        header = [""] * len(header)
        notes.append("The first line holds only numbers, so it was read as data, not as names.")
        _check_rows(len(rows))
    elif not rows:
        raise DataError(
            f"The file has a header ({_show_names(header)}) but no rows of data: "
            "add rows of numbers below the header."
        )

    names = _column_names(header, notes)
    numeric: dict[str, np.ndarray] = {}
    text_columns: dict[str, list[str]] = {}
    problems: dict[str, str] = {}  # text column -> where its first non-number is
    used_decimal_comma = False
    for j, col in enumerate(names):
        values = [row[j] for row in rows]
        if all(v.lower() in _MISSING for v in values):
            if header[j]:
                notes.append(f"Column {_show(col)} is empty and was left out.")
            continue  # an unnamed empty column: the trailing separator of every line
        numbers, bad, comma = _to_numbers(values, decimal_comma)
        if numbers is not None:
            numeric[col] = numbers
            used_decimal_comma |= comma
        else:
            text_columns[col] = values
            problems[col] = f"{_show(col)} has {_show(values[bad])} on line {lines[bad]}"
    if used_decimal_comma:
        notes.append("Decimal commas (3,6) were read as decimal points (3.6).")

    if not numeric:
        raise DataError(
            "No column holds only numbers, so there is nothing to cluster: "
            + "; ".join(list(problems.values())[:3])
            + ". Write numbers like 3.6 (or 3,6 in a file separated by semicolons) and "
            "leave missing values empty or write NA."
        )
    chosen = _choose_columns(columns, numeric, problems)

    classes: dict[str, list[str]] = {}
    for col, values in text_columns.items():
        present = [v for v in values if v.lower() not in _MISSING]
        n_numbers = sum(_number(v, decimal_comma) is not None for v in present)
        if n_numbers > len(present) / 2:
            # Most likely a typo in a numeric column: say where, rather than
            # silently turning the column into class labels.
            notes.append(
                f"Column {problems[col]}, so it was read as text and left out; "
                "fix that value to use the column."
            )
        else:
            classes[col] = ["(missing)" if v.lower() in _MISSING else v for v in values]
    for col, values in numeric.items():
        # Integer codes in a column named like the classes ("target" in
        # scikit-learn's frames) are classes too; they stay a numeric column, so a
        # student can still add them to the features.
        if _CLASS_CODE_NAMES.search(_words(col)) and _whole(values):
            classes[col] = [_code(v) for v in values]
    label_name, why_not = class_column(classes)
    labels = classes[label_name] if label_name is not None else None
    if label_name is not None:
        what = "text" if label_name in text_columns else "class codes"
        notes.append(
            f"Column {_show(label_name)} holds {what} with "
            f"{len(_distinct(labels))} values: it is kept as the known classes to "
            "compare clusters with, not clustered."
        )
    for col in text_columns:
        if col in why_not:
            notes.append(f"Text column {_show(col)} was left out: {why_not[col]}.")
        elif col in classes and col != label_name:
            notes.append(
                f"Text column {_show(col)} was left out: only numbers are clustered, "
                f"and {_show(label_name)} is used as the known classes."
            )

    X = np.column_stack([numeric[c] for c in chosen])
    missing = np.isnan(X).any(axis=1)
    infinite = np.isinf(X).any(axis=1) & ~missing
    keep = ~(missing | infinite)
    if missing.any():
        notes.append(f"{_plural(int(missing.sum()), 'row')} with missing values "
                     f"{_was(int(missing.sum()))} dropped.")
    if infinite.any():
        notes.append(f"{_plural(int(infinite.sum()), 'row')} with an infinite value "
                     f"{_was(int(infinite.sum()))} dropped.")
    n_kept = int(keep.sum())
    if n_kept < 2:
        raise DataError(
            f"Only {_plural(n_kept, 'row')} {'has' if n_kept == 1 else 'have'} a number in every "
            f"chosen column ({_show_names(chosen)}), but clustering needs at least 2 rows: "
            "fill in the missing values or choose other columns."
        )
    if labels is not None:
        labels = [v for v, k in zip(labels, keep) if k]
    return Dataset(
        X=X[keep],
        columns=tuple(chosen),
        name=str(name) if name is not None else default_name,
        labels=labels,
        label_name=label_name,
        notes=tuple(notes),
    )


def _read_source(source: Any) -> tuple[bytes, str]:
    """The bytes of ``source`` and the name it suggests, within :data:`MAX_BYTES`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data))
        return data, "data"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            is_dir, size = path.is_dir(), path.stat().st_size
            # Checked before reading, so a huge file is never loaded.
            data = None if is_dir or size > MAX_BYTES else path.read_bytes()
        except FileNotFoundError:
            raise DataError(f"There is no file at {_show(str(path))}: check the path.") from None
        except (OSError, ValueError) as exc:  # no permission, a NUL in the path, ...
            raise DataError(f"The file {_show(str(path))} could not be opened: {exc}.") from None
        if is_dir:
            raise DataError(f"{_show(str(path))} is a folder, not a file: choose a CSV file.")
        _check_size(size)
        return data, path.stem or "data"
    getvalue = getattr(source, "getvalue", None)
    read = getattr(source, "read", None)
    if not callable(getvalue) and not callable(read):
        raise DataError(
            "read_csv reads a path, the file's bytes or an uploaded file, "
            f"but got a {type(source).__name__}."
        )
    size = getattr(source, "size", None)
    if isinstance(size, int):
        _check_size(size)
    # getvalue() gives the whole upload wherever its read position is (a second
    # read() of a Streamlit upload would return nothing); read() is capped.
    data = getvalue() if callable(getvalue) else read(MAX_BYTES + 1)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DataError(f"Reading the file gave a {type(data).__name__}, not bytes.")
    data = bytes(data)
    _check_size(len(data))
    file_name = getattr(source, "name", None)
    stem = Path(file_name).stem if isinstance(file_name, str) else ""
    return data, stem or "data"


def _check_size(n_bytes: int) -> None:
    if n_bytes > MAX_BYTES:
        raise DataError(
            f"The file is {_size(n_bytes)}, but TraceLab reads files of at most "
            f"{_size(MAX_BYTES)}: use a sample of the rows or fewer columns."
        )


def _check_rows(n_rows: int) -> None:
    if n_rows > MAX_ROWS:
        raise DataError(
            f"The file has more than {MAX_ROWS:,} rows, but TraceLab reads at most "
            f"{MAX_ROWS:,}: use a random sample of the rows."
        )


def _decode(data: bytes) -> tuple[str, list[str]]:
    """The text of ``data`` and notes on its encoding; refuses what is not text."""
    for signature, message in _SIGNATURES:
        if data.startswith(signature):
            raise DataError(message)
    notes = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(_NOT_TEXT) from None
    elif b"\x00" in data:
        raise DataError(_NOT_TEXT)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Spreadsheets on Windows save in the local code page; Windows-1252
            # leaves five bytes undefined, and Latin-1 reads any byte.
            try:
                text, encoding = data.decode("cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "Latin-1"
            notes.append(
                f"The file is not UTF-8, so it was read as {encoding} text: check "
                "that accented letters in names look right."
            )
    text = text.rstrip("\x1a")  # Ctrl-Z: the end-of-file mark of old DOS files
    n_control = sum(1 for _ in _CONTROL.finditer(text))
    # A stray control character can be a typo; many of them mean binary data.
    if n_control > len(text) / 100:
        raise DataError(_NOT_TEXT)
    return text, notes


def _reader(text: str, sep: str):
    # newline="" lets the csv module see \r\n, \r and \n line ends itself, so
    # quoted values may hold line breaks.
    return csv.reader(io.StringIO(text, newline=""), delimiter=sep, skipinitialspace=True)


def _is_blank(row: list[str]) -> bool:
    return not any(v.strip() for v in row)


def _fit(row: list[str], width: int, named: int) -> list[str] | None:
    """``row`` with exactly ``width`` fields, or None if it does not fit the header.

    Extra fields are fine when empty (a separator at the end of the line), and
    missing ones when the header names none of them (a separator at the end of
    the header line only).
    """
    if len(row) == width:
        return row
    if len(row) > width:
        return row[:width] if _is_blank(row[width:]) else None
    return row + [""] * (width - len(row)) if len(row) >= named else None


def _named_width(header: list[str]) -> int:
    """Number of header fields up to the last one with a name."""
    return max((j + 1 for j, v in enumerate(header) if v.strip()), default=0)


def _detect_separator(text: str) -> str:
    """The separator of ``text``: the one giving rows as wide as the header.

    A separator is consistent when the header has several fields and nearly
    every row has as many; the most consistent one wins. When none is (say a
    comma file with decimal commas, or a single column), the widest header
    wins, so that broken rows are reported by line against the likely header.
    """
    sample = text[:_SAMPLE_CHARS]
    if len(text) > _SAMPLE_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # whole lines only
    scores = {}
    for sep in _SEPARATORS:
        try:
            rows = [r for r in _reader(sample, sep) if not _is_blank(r)]
        except csv.Error:
            rows = []
        if not rows:
            scores[sep] = (0, 0.0)
            continue
        header, data = rows[0], rows[1:]
        named = _named_width(header)
        n_fit = sum(_fit(r, len(header), named) is not None for r in data)
        fits = n_fit / len(data) if data else 1.0
        scores[sep] = (len(header), fits)

    def rank(sep: str) -> tuple:
        width, fits = scores[sep]
        consistent = width > 1 and fits >= _CONSISTENT
        return (consistent, fits, width) if consistent else (consistent, width, fits)

    return max(_SEPARATORS, key=rank)  # max keeps the first of equals: "," before ";"


def _parse(
    text: str, sep: str, line_offset: int
) -> tuple[list[str] | None, int, list[list[str]], list[int]]:
    """Split ``text`` into the header and rows of stripped values of equal width.

    Blank lines are skipped. Returns the header (None if there is no line),
    its line number, the rows and the line number each row starts on.
    """
    reader = _reader(text, sep)
    header: list[str] | None = None
    header_line = 0
    rows: list[list[str]] = []
    lines: list[int] = []
    width = named = 0
    end = 0  # the line the previous row ended on
    try:
        for row in reader:
            start, end = end + 1 + line_offset, reader.line_num
            row = [v.strip() for v in row]
            if not any(row):
                continue
            if header is None:
                header, header_line = row, start
                width, named = len(row), _named_width(row)
                continue
            fitted = _fit(row, width, named)
            if fitted is None:
                raise DataError(_field_count_message(row, start, width, header_line, sep))
            rows.append(fitted)
            lines.append(start)
            _check_rows(len(rows))
    except csv.Error as exc:
        raise DataError(
            f"Line {end + 1 + line_offset} could not be read as CSV ({exc}): "
            "check that quotes around values are closed."
        ) from None
    return header, header_line, rows, lines


def _field_count_message(row: list[str], line: int, width: int, header_line: int, sep: str) -> str:
    message = (
        f"Line {line} has {_plural(len(row), 'field')}, but the header (line {header_line}) "
        f"has {width}: in a file separated by {_SEPARATOR_NAMES[sep]}, every row needs "
        f"one value per column. Fix that line"
    )
    if sep == "," and len(row) > width:
        # The classic cause: decimal commas in a file that commas also separate.
        message += (
            ", or, if the numbers use decimal commas (3,6), separate the columns "
            "with semicolons instead"
        )
    return message + "."


def _column_names(header: list[str], notes: list[str]) -> list[str]:
    """Unique column names: unnamed columns get "column j", repeats get " (2)"."""
    names = [v if v else f"column {j + 1}" for j, v in enumerate(header)]
    taken = set(names)
    seen: set[str] = set()
    renamed: dict[str, list[str]] = {}
    for j, col in enumerate(names):
        if col in seen:
            k = 2
            while f"{col} ({k})" in taken:
                k += 1
            names[j] = f"{col} ({k})"
            taken.add(names[j])
            renamed.setdefault(col, []).append(names[j])
        seen.add(names[j])
    for col, new in renamed.items():
        notes.append(
            f"The column name {_show(col)} appears more than once; the later "
            f"{'one was' if len(new) == 1 else 'ones were'} renamed {_show_names(new)}."
        )
    return names


def _number(value: str, decimal_comma: bool) -> float | None:
    """``value`` as a float, or None if it is not a number."""
    if _NUMBER.fullmatch(value):
        return float(value)
    if decimal_comma and _DECIMAL_COMMA.fullmatch(value):
        return float(value.replace(",", "."))
    return None


def _to_numbers(values: list[str], decimal_comma: bool) -> tuple[np.ndarray | None, int, bool]:
    """A column's values as floats (NaN where missing).

    Returns
    -------
    numbers : ndarray of shape (n_rows,) or None
        None if some value that is not missing is not a number.
    bad : int
        Index of the first value that is not a number (-1 if none).
    used_decimal_comma : bool
        Whether some value had a decimal comma.
    """
    joined = "\n".join(values)
    if joined.count("\n") == len(values) - 1 and _NUMBERS.fullmatch(joined):
        # The common case, all plain numbers, checked by one regex call in C.
        return np.array([float(v) for v in values]), -1, False
    out = np.empty(len(values))
    comma = False
    for i, v in enumerate(values):
        if v.lower() in _MISSING:
            out[i] = np.nan
        elif _NUMBER.fullmatch(v):
            out[i] = float(v)
        elif decimal_comma and _DECIMAL_COMMA.fullmatch(v):
            out[i] = float(v.replace(",", "."))
            comma = True
        else:
            return None, i, False
    return out, -1, comma


def _choose_columns(
    columns: Any, numeric: dict[str, np.ndarray], problems: dict[str, str]
) -> list[str]:
    """The numeric columns asked for, checked; all of them if none were named."""
    available = f"the numeric columns are {_show_names(list(numeric))}"
    if columns is None:
        return list(numeric)
    chosen = [columns] if isinstance(columns, str) else list(columns)
    if not chosen:
        raise DataError(f"Choose at least one column: {available}.")
    for col in chosen:
        if col in problems:
            raise DataError(
                f"Column {_show(col)} does not hold only numbers ({problems[col]}): {available}."
            )
        if col not in numeric:
            raise DataError(f"There is no numeric column {_show(col)}: {available}.")
    twice = sorted({c for c in chosen if chosen.count(c) > 1})
    if twice:
        raise DataError(f"Choose each column once, but {_show_names(twice)} was chosen twice.")
    return chosen


def _show(value: str, limit: int = 40) -> str:
    """``value`` quoted for a message, cut short: names come from users' files."""
    value = str(value)
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def _show_names(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(_show(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, … ({len(names)} in all)"


def _was(n: int) -> str:
    return "was" if n == 1 else "were"


def _size(n_bytes: int) -> str:
    # decimal units, as the uploader writes a file's size
    if n_bytes >= 1_000_000:
        return f"{n_bytes / 1_000_000:.3g} MB"
    if n_bytes >= 1000:
        return f"{n_bytes / 1000:.3g} KB"
    return _plural(n_bytes, "byte")