"""A small data set packed into a link: exact round trips, bounded size, and damage named as such."""

from __future__ import annotations

import base64
import re
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracelab.data import link as data_link
from tracelab.data import datasets
from tracelab.data import Dataset, DataError, read_csv


@pytest.mark.parametrize("name", ["old_faithful", "iris", "six_points"])
def test_built_in_data_comes_back_exactly(name):
    ds = datasets.load(name)
    field = data_link.pack(ds)
    assert re.fullmatch(r"[A-Za-z0-9._-]+", field) and len(field) <= data_link.MAX_CHARS
    back = data_link.unpack(field)
    assert back.columns == ds.columns and back.name == ds.name
    assert np.array_equal(back.X, ds.X)
    assert (back.labels, back.label_name) == (ds.labels, ds.label_name)


def test_old_faithful_is_a_short_link():
    # 272 eruptions x 2 columns: about 1 200 characters.
    assert len(data_link.pack(datasets.load("old_faithful"))) < 1_500


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False)),
                min_size=2, max_size=200))
def test_any_numbers_that_fit_come_back_bit_for_bit(rows):
    ds = Dataset(X=np.array(rows), columns=("a", "b"), name="mine.csv")
    try:
        field = data_link.pack(ds)
    except DataError as exc:
        assert "characters" in str(exc)  # only too many digits can refuse data this small
        return
    assert np.array_equal(data_link.unpack(field).X, ds.X)


def test_two_thousand_numbers_of_two_decimals_fit_and_more_numbers_do_not():
    rng = np.random.default_rng(0)
    fits = Dataset(X=np.round(rng.normal(0, 3, (1000, 2)), 2), columns=("a", "b"))
    assert len(data_link.pack(fits)) <= data_link.MAX_CHARS
    too_many = Dataset(X=np.zeros((1001, 2)), columns=("a", "b"))
    with pytest.raises(DataError, match="at most 2,000 numbers, and these columns hold 2,002"):
        data_link.pack(too_many)
    digits = Dataset(X=rng.normal(0, 3, (1000, 2)), columns=("a", "b"))
    with pytest.raises(DataError, match="characters, and a link carries at most 7,000"):
        data_link.pack(digits)


def test_data_a_link_would_read_back_differently_does_not_travel():
    # Column names of numbers are read back as a first row of data, not as a header.
    ds = Dataset(X=np.array([[0.5, 1], [1.5, 2], [2.5, 1], [3.5, 2]]), columns=("1", "2"))
    with pytest.raises(DataError, match="would not be the same data"):
        data_link.pack(ds)


def _field(text: bytes, crc: int | None = None) -> str:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = c.compress(text) + c.flush()
    return f"1.{zlib.crc32(text) if crc is None else crc:08x}.{base64.urlsafe_b64encode(body).decode().rstrip('=')}"


@pytest.mark.parametrize("damage", [
    lambda f: f[: len(f) // 2],                       # cut off in a chat message
    lambda f: f[:-3],                                 # last characters lost
    lambda f: f[:20] + ("A" if f[20] != "A" else "B") + f[21:],  # one character changed
    lambda f: f.replace(".", "", 1),                  # a separator lost
    lambda f: "2" + f[1:],                            # a version this code does not write
    lambda f: f[:12] + "!!!" + f[15:],                # not base64
    lambda f: "",
])
def test_damage_is_named_and_nothing_else_escapes(damage):
    field = data_link.pack(datasets.load("old_faithful"))
    with pytest.raises(DataError, match="damaged"):
        data_link.unpack(damage(field))


def test_a_wrong_checksum_is_refused():
    text = b"mine\na,b\n1,2\n3,4\n"
    assert data_link.unpack(_field(text)).X.shape == (2, 2)
    with pytest.raises(DataError, match="checksum"):
        data_link.unpack(_field(text, crc=zlib.crc32(text) ^ 1))


def test_a_field_that_unpacks_to_megabytes_is_refused_before_it_is_read():
    bomb = b"mine\na,b\n" + b"1,2\n" * 5_000_000  # 20 MB of CSV in a few kB
    with pytest.raises(DataError, match="more than a link's data can hold"):
        data_link.unpack(_field(bomb))


def test_the_csv_in_a_link_gets_the_uploads_checks_and_messages():
    text = b"mine\na,b\n1,2\n3\n"
    with pytest.raises(DataError) as from_link:
        data_link.unpack(_field(text))
    with pytest.raises(DataError) as from_file:
        read_csv(b"a,b\n1,2\n3\n")
    assert str(from_link.value) == str(from_file.value)
