"""A small data set packed into a link, so that an uploaded CSV can travel with the lab's state.

The chosen columns are written as CSV (each number in its shortest exact
form, so a value read as ``3.6`` travels as ``3.6``), compressed with DEFLATE
and written in URL-safe base64 behind a version and a CRC-32 of the CSV::

    1.<crc32 as 8 hex digits>.<base64url of the raw DEFLATE stream>

Unpacking checks each layer and then reads the CSV with :func:`tracelab.data.read_csv`,
so data from a link passes the same checks, and gets the same messages, as an
upload. A damaged or truncated link raises :class:`~tracelab.data.DataError`
saying so; nothing else leaves :func:`unpack`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import zlib

import numpy as np

from tracelab.data import Dataset, DataError, read_csv

__all__ = ["pack", "unpack", "MAX_NUMBERS", "MAX_CHARS"]

#: Most numbers (rows x chosen columns) a link carries.
MAX_NUMBERS = 2_000
#: Longest packed field: with the lab's other fields the whole link stays
#: under the ~8 000 characters browsers and chat tools pass on.
MAX_CHARS = 7_000
_VERSION = "1"
# A link's CSV is at most MAX_NUMBERS numbers of at most ~25 characters and the
# column names: unpacking stops past this, whatever the stream claims.
_MAX_CSV_BYTES = 256_000


def _number(v: float) -> str:
    # repr of a float is its shortest exact form: 3.6, not 3.6000000000000001
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _csv_text(dataset: Dataset) -> str:
    """The feature columns, and the known classes (as read) in a last column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    labels = dataset.labels if dataset.label_name is not None else None
    writer.writerow([*dataset.columns, *([dataset.label_name] if labels is not None else [])])
    for i, row in enumerate(dataset.X.tolist()):
        writer.writerow([*map(_number, row), *([labels[i]] if labels is not None else [])])
    return out.getvalue()


def pack(dataset: Dataset) -> str:
    """``dataset``'s columns and name as one URL-safe field.

    Parameters
    ----------
    dataset : Dataset
        The data as chosen (its feature columns), before standardising.

    Returns
    -------
    str
        At most :data:`MAX_CHARS` characters of ``[A-Za-z0-9._-]``.

    Raises
    ------
    DataError
        Saying why the data cannot travel: more than :data:`MAX_NUMBERS`
        numbers, or numbers with so many digits that the field would be
        longer than :data:`MAX_CHARS`.
    """
    n_numbers = dataset.X.size
    if n_numbers > MAX_NUMBERS:
        raise DataError(
            f"A link carries at most {MAX_NUMBERS:,} numbers, and these columns hold {n_numbers:,} "
            f"({dataset.n_samples:,} rows × {dataset.n_features} columns)."
        )
    text = (dataset.name.replace("\n", " ") + "\n" + _csv_text(dataset)).encode("utf-8")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(text) + deflate.flush()
    field = f"{_VERSION}.{zlib.crc32(text):08x}.{base64.urlsafe_b64encode(body).decode().rstrip('=')}"
    if len(field) > MAX_CHARS:
        raise DataError(
            f"Packed, these {n_numbers:,} numbers would take {len(field):,} characters, and a link "
            f"carries at most {MAX_CHARS:,}: their many digits do not compress."
        )
    # What the link gives back must be this data exactly (a column of whole
    # numbers named like classes, say, would be read back as the known classes).
    back = unpack(field)
    same_labels = dataset.label_name is None or (back.labels, back.label_name) == (dataset.labels, dataset.label_name)
    if back.columns != dataset.columns or not np.array_equal(back.X, dataset.X) or not same_labels:
        raise DataError("Read back from a link, these columns would not be the same data.")
    return field


_DAMAGED = ("The data in this link is damaged ({}): it was probably cut off or changed when it "
            "was copied. Ask for the link again, or upload the CSV file itself.")


def unpack(field: str) -> Dataset:
    """The data set a :func:`pack` field holds, read as an upload would be.

    Raises
    ------
    DataError
        For a damaged or truncated field (saying so), or for what
        :func:`tracelab.data.read_csv` refuses in the CSV it holds.
    """
    parts = str(field).split(".")
    if len(parts) != 3 or parts[0] != _VERSION or len(parts[1]) != 8:
        raise DataError(_DAMAGED.format("its form is not one TraceLab writes"))
    try:
        crc = int(parts[1], 16)
        body = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
    except (ValueError, binascii.Error):
        raise DataError(_DAMAGED.format("it is not valid base64")) from None
    inflate = zlib.decompressobj(-15)
    try:
        text = inflate.decompress(body, _MAX_CSV_BYTES + 1)
    except zlib.error:
        raise DataError(_DAMAGED.format("it does not decompress")) from None
    if len(text) > _MAX_CSV_BYTES:
        raise DataError(_DAMAGED.format("it unpacks to more than a link's data can hold"))
    if not inflate.eof or zlib.crc32(text) != crc:
        raise DataError(_DAMAGED.format("its checksum does not match"))
    name, _, csv_text = text.decode("utf-8", errors="replace").partition("\n")
    dataset = read_csv(csv_text.encode("utf-8"), name=name or "data")
    if dataset.X.size > MAX_NUMBERS:
        raise DataError(_DAMAGED.format(f"it holds more than {MAX_NUMBERS:,} numbers"))
    return dataset

