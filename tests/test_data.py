"""Tests for tracelab.data: read_csv on the files students really have, and Dataset."""

from __future__ import annotations

import codecs
import dataclasses
import io
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracelab.data as data_module
from tracelab.record.arrays import digest
from tracelab.data import Dataset, DataError, read_csv

FAITHFUL = b"eruptions,waiting\n3.600,79\n1.800,54\n3.333,74\n"
FAITHFUL_X = [[3.6, 79.0], [1.8, 54.0], [3.333, 74.0]]


def _x(ds: Dataset) -> list[list[float]]:
    return ds.X.tolist()


# ---------------------------------------------------------------------------
# Separators and the shapes files come in


def test_comma_file():
    ds = read_csv(FAITHFUL)
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X
    assert ds.X.dtype == np.float64
    assert ds.labels is None and ds.label_name is None
    assert ds.notes == ()
    assert ds.name == "data"


def test_semicolon_file():
    ds = read_csv(b"eruptions;waiting\n3.600;79\n1.800;54\n3.333;74\n")
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X


def test_tab_file():
    ds = read_csv(b"eruptions\twaiting\n3.600\t79\n1.800\t54\n3.333\t74\n")
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X


def test_decimal_commas_in_semicolon_file():
    ds = read_csv(b"eruptions;waiting\n3,6;79\n1,8;54\n3,333;74\n")
    assert _x(ds) == FAITHFUL_X
    assert any("decimal commas" in n.lower() for n in ds.notes)


def test_decimal_commas_in_tab_file():
    ds = read_csv(b"eruptions\twaiting\n3,6\t79\n1,8\t54\n")
    assert _x(ds) == [[3.6, 79.0], [1.8, 54.0]]


def test_single_column_with_decimal_commas_is_not_split_at_the_comma():
    ds = read_csv(b"x\n0,8\n1,1\n4,7\n")
    assert ds.columns == ("x",)
    assert _x(ds) == [[0.8], [1.1], [4.7]]


def test_decimal_commas_in_comma_file_are_refused_with_the_line_and_a_hint():
    with pytest.raises(DataError, match=r"Line 2 has 3 fields, but the header \(line 1\) has 2") as err:
        read_csv(b"eruptions,waiting\n3,6,79\n1,8,54\n")
    assert "semicolons" in str(err.value)


def test_utf8_byte_order_mark_is_not_part_of_the_first_name():
    ds = read_csv(codecs.BOM_UTF8 + FAITHFUL)
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X


def test_windows_line_ends():
    ds = read_csv(FAITHFUL.replace(b"\n", b"\r\n"))
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X


def test_old_mac_line_ends():
    ds = read_csv(FAITHFUL.replace(b"\n", b"\r"))
    assert _x(ds) == FAITHFUL_X


def test_no_line_end_after_the_last_row():
    ds = read_csv(FAITHFUL.rstrip(b"\n"))
    assert _x(ds) == FAITHFUL_X


def test_quoted_numbers_and_names():
    ds = read_csv(b'"eruptions","waiting"\n"3.600","79"\n"1.800","54"\n"3.333",74\n')
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X


def test_padded_values_and_names():
    ds = read_csv(b" eruptions , waiting \n  3.600 ,79  \n1.800,   54\n 3.333 , 74\n")
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == FAITHFUL_X


def test_space_before_a_quoted_value():
    ds = read_csv(b'a, b\n1, "2.5"\n3, "4"\n')
    assert _x(ds) == [[1.0, 2.5], [3.0, 4.0]]


def test_trailing_separator_on_every_line_drops_the_unnamed_empty_column():
    ds = read_csv(b"eruptions;waiting;\n3,6;79;\n1,8;54;\n")
    assert ds.columns == ("eruptions", "waiting")
    assert _x(ds) == [[3.6, 79.0], [1.8, 54.0]]
    assert not any("empty" in n for n in ds.notes)


def test_trailing_separator_on_the_rows_only():
    ds = read_csv(b"a,b\n1,2,\n3,4,,\n")
    assert _x(ds) == [[1.0, 2.0], [3.0, 4.0]]


def test_trailing_separator_on_the_header_only():
    ds = read_csv(b"a,b,\n1,2\n3,4\n")
    assert ds.columns == ("a", "b")
    assert _x(ds) == [[1.0, 2.0], [3.0, 4.0]]


def test_blank_lines_and_rows_of_bare_separators_are_skipped():
    ds = read_csv(b"\n\na,b\n\n1,2\n ,\n3,4\n;;\n\n".replace(b";;", b",,"))
    assert _x(ds) == [[1.0, 2.0], [3.0, 4.0]]


def test_excel_separator_line():
    ds = read_csv(b"sep=;\r\na;b\r\n1,5;2\r\n3;4\r\n")
    assert ds.columns == ("a", "b")
    assert _x(ds) == [[1.5, 2.0], [3.0, 4.0]]


def test_separator_line_counts_in_line_numbers():
    with pytest.raises(DataError, match=r"Line 4 has 3 fields"):
        read_csv(b"sep=;\na;b\n1;2\n1;2;3\n")


def test_numbers_in_all_notations():
    ds = read_csv(b"x\n1\n-2.5\n+3.\n.5\n1e3\n-1.5E-2\n0007\n")
    assert ds.X[:, 0].tolist() == [1.0, -2.5, 3.0, 0.5, 1000.0, -0.015, 7.0]


@pytest.mark.parametrize("value", ["1_000", "0x10", "١٢", "1.2.3", "3,6", "1 000", "12%"])
def test_things_float_might_accept_are_not_numbers(value):
    # "3,6" is a decimal comma only where commas do not separate columns; here
    # it is quoted text in a comma file.
    ds = read_csv(f'x,y\n1,"{value}"\n2,other\n3,"{value}"\n'.encode())
    assert ds.columns == ("x",)
    assert ds.label_name == "y"
    assert ds.labels == (value, "other", value)


def test_separator_inside_quoted_text_does_not_split_it():
    ds = read_csv(b'team,x,y\n"Smith, J",1,2\n"Doe, A",3,4\n"Smith, J",5,6\n')
    assert ds.columns == ("x", "y")
    assert ds.labels == ("Smith, J", "Doe, A", "Smith, J")


def test_tab_file_with_commas_in_text():
    ds = read_csv(b"name\tx\tlabel\nSmith, J\t1\ta\nDoe, A\t3\tb\nRoe, B\t5\ta\n")
    assert ds.columns == ("x",)
    # "name" differs in every row, so "label" holds the known classes.
    assert ds.label_name == "label"
    assert ds.labels == ("a", "b", "a")
    assert any("'name' was left out: it has a different value in every row" in n for n in ds.notes)


def test_semicolon_file_with_commas_in_text():
    ds = read_csv(b"city;x;y\nBerlin, DE;1,5;2\nParis, FR;3;4,25\n")
    assert ds.columns == ("x", "y")
    assert _x(ds) == [[1.5, 2.0], [3.0, 4.25]]


def test_single_column_file():
    ds = read_csv(b"x\n0.8\n1.1\n1.4\n")
    assert ds.columns == ("x",)
    assert ds.X.shape == (3, 1)


def test_file_without_a_header_row():
    ds = read_csv(b"1.0,2.0\n3.0,4.0\n5.0,6.0\n")
    assert _x(ds) == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert ds.columns == ("column 1", "column 2")
    assert any("first line holds only numbers" in n for n in ds.notes)


def test_header_of_missing_markers_is_still_a_header():
    ds = read_csv(b"?,x\n1,2\n3,4\n")
    assert ds.columns == ("?", "x")


def test_windows_1252_file():
    ds = read_csv("température;durée\n3,6;79\n1,8;54\n".encode("cp1252"))
    assert ds.columns == ("température", "durée")
    assert _x(ds) == [[3.6, 79.0], [1.8, 54.0]]
    assert any("Windows-1252" in n for n in ds.notes)


def test_latin1_file_with_a_byte_cp1252_leaves_undefined():
    # 0x81 is undefined in Windows-1252, so only Latin-1 reads this; a single
    # control character among many rows is not taken for binary data.
    ds = read_csv(b"x\xe9\x81,y\n" + b"1,2\n3,4\n" * 50)
    assert ds.columns == ("x\xe9\x81", "y")
    assert ds.n_samples == 100
    assert any("Latin-1" in n for n in ds.notes)


def test_utf16_file_as_excel_writes_unicode_text():
    raw = "a\tb\r\n1,5\t2\r\n3\t4\r\n".encode("utf-16")
    assert raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    ds = read_csv(raw)
    assert _x(ds) == [[1.5, 2.0], [3.0, 4.0]]


def test_old_dos_end_of_file_mark_is_ignored():
    ds = read_csv(b"a,b\r\n1,2\r\n3,4\r\n\x1a")
    assert _x(ds) == [[1.0, 2.0], [3.0, 4.0]]


# ---------------------------------------------------------------------------
# Missing values and columns


@pytest.mark.parametrize("marker", ["", "NA", "?", "NaN", "nan", "N/A", "null", "na", "NULL"])
def test_missing_markers_drop_the_row(marker):
    ds = read_csv(f"a,b\n1,2\n3,{marker}\n5,6\n".encode())
    assert _x(ds) == [[1.0, 2.0], [5.0, 6.0]]
    assert "1 row with missing values was dropped." in ds.notes


def test_dropped_rows_are_counted_in_the_plural():
    ds = read_csv(b"a,b\n1,\n,2\n3,4\nNA,?\n5,6\n")
    assert _x(ds) == [[3.0, 4.0], [5.0, 6.0]]
    assert "3 rows with missing values were dropped." in ds.notes


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "-INF", "1e999"])
def test_infinite_values_drop_the_row(value):
    ds = read_csv(f"a,b\n1,2\n3,{value}\n5,6\n".encode())
    assert _x(ds) == [[1.0, 2.0], [5.0, 6.0]]
    assert "1 row with an infinite value was dropped." in ds.notes


def test_only_chosen_columns_decide_which_rows_drop():
    raw = b"a,b,c\n1,2,\n3,4,5\n6,7,NA\n"
    assert read_csv(raw, columns=["a", "b"]).n_samples == 3
    assert read_csv(raw, columns=["a", "b"]).notes == ()
    with pytest.raises(DataError, match="Only 1 row has a number in every chosen column"):
        read_csv(raw)


def test_text_column_becomes_labels_and_never_enters_X():
    ds = read_csv(b"x,species,y\n1,setosa,2\n3,virginica,4\n5,setosa,NA\n")
    assert ds.columns == ("x", "y")
    assert ds.label_name == "species"
    assert ds.labels == ("setosa", "virginica")  # aligned with the kept rows
    assert any("'species'" in n and "known classes" in n for n in ds.notes)


def test_missing_label_is_marked():
    ds = read_csv(b"x,kind\n1,a\n2,\n3,b\n4,a\n")
    assert ds.labels == ("a", "(missing)", "b", "a")


def test_only_one_text_column_becomes_labels():
    ds = read_csv(b"x,kind,place\n1,a,here\n2,b,there\n3,a,there\n")
    assert ds.label_name == "kind"
    assert any("'place' was left out" in n and "'kind' is used as the known classes" in n
               for n in ds.notes)


def test_column_with_one_typo_is_left_out_with_the_line_not_made_labels():
    ds = read_csv(b"eruptions,waiting\n3.6,79\n1.8,5x4\n3.3,74\n2.2,60\n")
    assert ds.columns == ("eruptions",)
    assert ds.labels is None
    assert any("'waiting' has '5x4' on line 3" in n for n in ds.notes)


def test_columns_selects_and_orders():
    ds = read_csv(b"a,b,c\n1,2,3\n4,5,6\n", columns=["c", "a"])
    assert ds.columns == ("c", "a")
    assert _x(ds) == [[3.0, 1.0], [6.0, 4.0]]


def test_columns_takes_a_single_name():
    ds = read_csv(b"a,b\n1,2\n4,5\n", columns="b")
    assert ds.columns == ("b",)


def test_columns_unknown_name_lists_the_numeric_columns():
    with pytest.raises(DataError, match=r"no numeric column 'z'.*'a', 'b'"):
        read_csv(b"a,b,kind\n1,2,x\n4,5,y\n", columns=["a", "z"])


def test_columns_text_column_is_refused():
    with pytest.raises(DataError, match=r"'kind' does not hold only numbers.*'kind' has 'x' on line 2"):
        read_csv(b"a,b,kind\n1,2,x\n4,5,y\n", columns=["kind"])


def test_columns_empty_is_refused():
    with pytest.raises(DataError, match="Choose at least one column"):
        read_csv(FAITHFUL, columns=[])


def test_columns_twice_is_refused():
    with pytest.raises(DataError, match="'a' was chosen twice"):
        read_csv(b"a,b\n1,2\n4,5\n", columns=["a", "a"])


def test_duplicate_column_names_are_made_unique():
    ds = read_csv(b"x,x,y,x\n1,2,3,4\n5,6,7,8\n")
    assert ds.columns == ("x", "x (2)", "y", "x (3)")
    assert any("'x' appears more than once" in n for n in ds.notes)


def test_renaming_a_duplicate_avoids_existing_names():
    ds = read_csv(b"x,x (2),x\n1,2,3\n4,5,6\n")
    assert ds.columns == ("x", "x (2)", "x (3)")


def test_unnamed_column_with_values_gets_a_name():
    ds = read_csv(b"a,,c\n1,2,3\n4,5,6\n")
    assert ds.columns == ("a", "column 2", "c")


def test_named_empty_column_is_left_out_with_a_note():
    ds = read_csv(b"a,notes,b\n1,,2\n3,NA,4\n")
    assert ds.columns == ("a", "b")
    assert "Column 'notes' is empty and was left out." in ds.notes


# ---------------------------------------------------------------------------
# Refusals: each says what is wrong and what to do


@pytest.mark.parametrize("raw", [b"", b"   \n\n \r\n", codecs.BOM_UTF8])
def test_empty_file(raw):
    with pytest.raises(DataError, match="The file is empty: choose a CSV file"):
        read_csv(raw)


def test_header_without_rows():
    with pytest.raises(DataError, match=r"header \('a', 'b'\) but no rows of data: add rows"):
        read_csv(b"a,b\n\n")


def test_one_row_is_too_few():
    with pytest.raises(DataError, match=r"Only 1 row has a number .* at least 2 rows"):
        read_csv(b"a,b\n1,2\n")


def test_rows_all_missing_is_too_few():
    with pytest.raises(DataError, match=r"Only 0 rows have a number"):
        read_csv(b"a,b\n1,NA\n?,2\n")


def test_no_numeric_column_says_where_the_text_is():
    with pytest.raises(DataError, match=r"No column holds only numbers.*'a' has 'x' on line 2.*3\.6") as err:
        read_csv(b"a,b\nx,y\nz,w\n")
    assert "'b' has 'y' on line 2" in str(err.value)


def test_excel_workbook_is_recognised():
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(DataError, match="Excel workbook.*save it as CSV"):
        read_csv(buf.getvalue())


def test_old_excel_workbook_is_recognised():
    with pytest.raises(DataError, match=r"Excel workbook \(\.xls\).*save it as CSV"):
        read_csv(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500))


def test_png_image_is_recognised():
    with pytest.raises(DataError, match="PNG image"):
        read_csv(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(50))


def test_nul_bytes_mean_binary():
    with pytest.raises(DataError, match="not text"):
        read_csv(b"a,b\n1,2\x00\n3,4\n")


def test_control_bytes_mean_binary():
    junk = bytes(range(1, 9)) * 20
    with pytest.raises(DataError, match="not text"):
        read_csv(b"a,b\n" + junk + b"\n")


def test_row_with_too_many_fields_names_the_line():
    with pytest.raises(DataError, match=r"Line 4 has 3 fields, but the header \(line 1\) has 2"):
        read_csv(b"a,b\n1,2\n3,4\n5,6,7\n")


def test_row_with_too_few_fields_names_the_line_counting_blank_lines():
    with pytest.raises(DataError, match=r"Line 5 has 1 field, but the header \(line 2\) has 3.*semicolons"):
        read_csv(b"\na;b;c\n1;2;3\n\n4\n7;8;9\n")


def test_line_number_is_where_a_row_with_a_quoted_line_break_starts():
    with pytest.raises(DataError, match=r"Line 3 has 3 fields"):
        read_csv(b'x,label\n1,a\n2,"two\nlines",extra\n3,c\n')


def test_overlong_field_is_refused_with_its_line():
    with pytest.raises(DataError, match=r"Line 3 could not be read as CSV.*field larger"):
        read_csv(b'a,b\n1,2\n3,"' + b"9" * 200_000 + b'"\n')


def test_missing_file():
    with pytest.raises(DataError, match="There is no file at .*nope.csv"):
        read_csv("/nonexistent/dir/nope.csv")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(DataError, match=r"^'.*' is a folder, not a file: choose a CSV file\.$"):
        read_csv(tmp_path)


def test_path_that_cannot_be_opened():
    with pytest.raises(DataError, match=r"could not be opened: embedded null byte"):
        read_csv("bad\x00name.csv")


def test_wrong_source_type():
    with pytest.raises(DataError, match="reads a path, the file's bytes or an uploaded file, but got a int"):
        read_csv(42)


# ---------------------------------------------------------------------------
# Limits (module constants, read at call time)


def test_limits_are_the_documented_values():
    assert data_module.MAX_BYTES == 50_000_000  # the uploader's 50 MB
    assert data_module.MAX_ROWS == 200_000


def test_too_many_bytes(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_BYTES", 20)
    read_csv(b"a,b\n1,2\n3,4\n")  # 16 bytes: fine
    with pytest.raises(DataError, match=r"The file is 24 bytes, but TraceLab reads files of at most 20 bytes"):
        read_csv(b"a,b\n1,2\n3,4\n5,6\n7,8\n9,0\n")


def test_size_message_in_megabytes(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_BYTES", 3_000_000)
    with pytest.raises(DataError, match=r"at most 3 MB: use a sample of the rows"):
        read_csv(b"x\n" + b"1\n" * (2 * 1024 * 1024))


def test_too_big_file_on_disk_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * 10)
    monkeypatch.setattr(data_module, "MAX_BYTES", 20)

    def no_reading(self):
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "read_bytes", no_reading)
    with pytest.raises(DataError, match=r"^The file is 44 bytes, but TraceLab reads files of at most 20 bytes"):
        read_csv(path)


def test_too_big_upload_is_refused_by_its_size(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_BYTES", 20)
    upload = _Upload(b"a,b\n" + b"1,2\n" * 10, "big.csv")
    with pytest.raises(DataError, match="at most 20 bytes"):
        read_csv(upload)
    assert upload.reads == 0


def test_too_big_stream_is_read_only_up_to_the_limit(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_BYTES", 20)
    stream = _Stream(b"a,b\n" + b"1,2\n" * 1000)
    with pytest.raises(DataError, match="at most 20 bytes"):
        read_csv(stream)
    assert stream.asked == [21]


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_ROWS", 3)
    assert read_csv(b"a\n1\n2\n3\n").n_samples == 3
    with pytest.raises(DataError, match=r"more than 3 rows, but TraceLab reads at most 3: use a random sample"):
        read_csv(b"a\n1\n2\n3\n4\n")


def test_too_many_rows_without_header(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_ROWS", 3)
    assert read_csv(b"1\n2\n3\n").n_samples == 3
    with pytest.raises(DataError, match="more than 3 rows"):
        read_csv(b"1\n2\n3\n4\n")


def test_blank_lines_do_not_count_as_rows(monkeypatch):
    monkeypatch.setattr(data_module, "MAX_ROWS", 2)
    assert read_csv(b"a\n1\n\n\n\n2\n\n").n_samples == 2


# ---------------------------------------------------------------------------
# Sources


class _Upload:
    """Like Streamlit's UploadedFile: read(), getvalue(), name and size."""

    def __init__(self, content: bytes, name: str):
        self._buf = io.BytesIO(content)
        self.name = name
        self.size = len(content)
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        return self._buf.read(n)

    def getvalue(self) -> bytes:
        self.reads += 1
        return self._buf.getvalue()


class _Stream:
    """A bare binary stream: read() only, no name."""

    def __init__(self, content: bytes):
        self._buf = io.BytesIO(content)
        self.asked: list[int] = []

    def read(self, n: int = -1) -> bytes:
        self.asked.append(n)
        return self._buf.read(n)


def test_path_as_str_and_pathlib(tmp_path):
    path = tmp_path / "faithful sample.csv"
    path.write_bytes(FAITHFUL)
    for source in (str(path), path):
        ds = read_csv(source)
        assert ds.name == "faithful sample"
        assert _x(ds) == FAITHFUL_X


def test_name_overrides_the_default(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(FAITHFUL)
    assert read_csv(path, name="Old Faithful").name == "Old Faithful"
    assert read_csv(FAITHFUL, name="mine").name == "mine"


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_sources(wrap):
    ds = read_csv(wrap(FAITHFUL))
    assert ds.name == "data"
    assert _x(ds) == FAITHFUL_X


def test_uploaded_file_is_read_whole_even_after_a_read():
    upload = _Upload(FAITHFUL, "my data.csv")
    upload.read()  # a page may have read it already: the position is at the end
    ds = read_csv(upload)
    assert ds.name == "my data"
    assert _x(ds) == FAITHFUL_X


def test_bytesio_with_and_without_a_name():
    buf = io.BytesIO(FAITHFUL)
    assert read_csv(buf).name == "data"
    buf.name = "upload.csv"
    assert read_csv(buf).name == "upload"


def test_open_binary_file(tmp_path):
    path = tmp_path / "geyser.csv"
    path.write_bytes(FAITHFUL)
    with open(path, "rb") as f:
        ds = read_csv(f)
    assert ds.name == "geyser"
    assert _x(ds) == FAITHFUL_X


def test_bare_stream_and_text_stream():
    assert _x(read_csv(_Stream(FAITHFUL))) == FAITHFUL_X
    assert _x(read_csv(io.StringIO(FAITHFUL.decode()))) == FAITHFUL_X


def test_packaged_files_read_as_documented():
    here = Path(__file__).parent.parent / "tracelab" / "data" / "datasets"
    faithful = read_csv(here / "old_faithful.csv")
    assert faithful.X.shape == (272, 2)
    np.testing.assert_allclose(faithful.X.mean(axis=0), [3.487783, 70.897059], atol=5e-7)
    iris = read_csv(here / "iris.csv")
    assert iris.X.shape == (150, 4)
    assert iris.label_name == "species"


# ---------------------------------------------------------------------------
# Never anything but DataError


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_dataset_or_a_data_error(raw):
    _dataset_or_data_error(raw)


# Text made of what CSV files are made of, so the parser's deeper paths run.
_CSV_ALPHABET = ',;\t\n\r" 0123456789.-+eEaNAn?x,\xe9'


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.text(alphabet=_CSV_ALPHABET, max_size=200), st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_csv_like_text_gives_a_dataset_or_a_data_error(text, encoding):
    _dataset_or_data_error(text.encode(encoding))


def test_an_unexpected_internal_error_still_comes_out_as_data_error(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(np, "column_stack", broken)
    with pytest.raises(DataError, match=r"could not be read \(RuntimeError: boom\): check that it is a CSV") as err:
        read_csv(FAITHFUL)
    assert isinstance(err.value.__cause__, RuntimeError)  # kept for debugging


def test_running_out_of_memory_comes_out_as_data_error(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(data_module, "_decode", no_memory)
    with pytest.raises(DataError, match="not enough memory.*sample of its rows"):
        read_csv(FAITHFUL)


def _dataset_or_data_error(raw: bytes) -> None:
    try:
        ds = read_csv(raw)
    except DataError as exc:
        assert str(exc)
        return
    assert isinstance(ds, Dataset)
    assert ds.n_samples >= 2 and ds.n_features >= 1
    assert np.isfinite(ds.X).all()
    assert not ds.X.flags.writeable
    assert len(set(ds.columns)) == len(ds.columns)
    assert ds.labels is None or len(ds.labels) == ds.n_samples


_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda k: st.lists(st.lists(_finite, min_size=k, max_size=k), min_size=2, max_size=20)
    ),
    st.sampled_from([(",", "."), (";", "."), ("\t", "."), (";", ","), ("\t", ",")]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_written_tables_read_back_exactly(rows, style, newline):
    sep, point = style
    k = len(rows[0])
    names = [f"v{j}" for j in range(k)]
    lines = [sep.join(names)] + [sep.join(repr(x).replace(".", point) for x in row) for row in rows]
    ds = read_csv(newline.join(lines).encode())
    assert ds.columns == tuple(names)
    assert ds.X.tobytes() == np.array(rows, dtype=np.float64).tobytes()


# ---------------------------------------------------------------------------
# Dataset


def _dataset() -> Dataset:
    return Dataset(
        X=np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 30.0]]),
        columns=("a", "b"),
        name="d",
        labels=("p", "q", "p"),
        label_name="kind",
    )


def test_dataset_X_is_read_only():
    ds = _dataset()
    assert not ds.X.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        ds.X[0, 0] = 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.X = np.zeros((3, 2))  # type: ignore[misc]


def test_dataset_copies_the_callers_array():
    arr = np.array([[1.0], [2.0]])
    ds = Dataset(X=arr, columns=("x",))
    arr[0, 0] = 99.0
    assert ds.X[0, 0] == 1.0
    assert arr.flags.writeable  # the caller's array is left as it was


def test_dataset_read_csv_result_is_read_only():
    ds = read_csv(FAITHFUL)
    with pytest.raises(ValueError):
        ds.X[0, 0] = 0.0


def test_dataset_stays_read_only_after_pickling():
    ds = _dataset()
    _ = ds.digest  # cached before pickling, as in a running app
    back = pickle.loads(pickle.dumps(ds))
    assert back == ds
    assert not back.X.flags.writeable
    with pytest.raises(ValueError):
        back.X[0, 0] = 5.0
    assert back.digest == ds.digest


def test_dataset_1d_X_becomes_one_column():
    ds = Dataset(X=[0.8, 1.1, 1.4], columns=("x",))
    assert ds.X.shape == (3, 1)
    assert (ds.n_samples, ds.n_features) == (3, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": [[1.0, np.nan]], "columns": ("a", "b")}, "missing or infinite"),
        ({"X": [[1.0, np.inf]], "columns": ("a", "b")}, "missing or infinite"),
        ({"X": [[1.0, 2.0]], "columns": ("a",)}, "2 columns but 1 column names"),
        ({"X": np.zeros((2, 2, 2)), "columns": ("a", "b")}, "3 dimensions"),
        ({"X": [[1.0], [2.0]], "columns": ("a",), "labels": ("p",)}, "1 labels were given for 2 rows"),
        ({"X": [[1.0, 2.0]], "columns": ("a", "a")}, "'a' appears more than once"),
    ],
)
def test_dataset_refuses_bad_input(kwargs, message):
    with pytest.raises(DataError, match=re.escape(message)):
        Dataset(**kwargs)


def test_select_keeps_rows_and_labels_in_the_order_given():
    ds = _dataset().select(["b", "a"])
    assert ds.columns == ("b", "a")
    assert ds.X.tolist() == [[10.0, 1.0], [20.0, 2.0], [30.0, 4.0]]
    assert ds.labels == ("p", "q", "p") and ds.label_name == "kind"
    assert not ds.X.flags.writeable


def test_select_refuses_unknown_and_empty():
    with pytest.raises(DataError, match="'z' is not a numeric column here; the columns are a, b"):
        _dataset().select(["a", "z"])
    with pytest.raises(DataError, match="at least one"):
        _dataset().select([])


def test_standardized_has_mean_0_and_std_1():
    ds = _dataset().standardized()
    np.testing.assert_allclose(ds.X.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose(ds.X.std(axis=0), 1.0)
    assert ds.notes[-1].startswith("Columns were standardised")
    assert ds.labels == _dataset().labels
    assert not ds.X.flags.writeable


def test_standardized_only_centres_a_constant_column():
    ds = Dataset(X=[[1.0, 5.0], [3.0, 5.0]], columns=("a", "c")).standardized()
    assert ds.X.tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert "Constant column c was only centred." in ds.notes


def test_digest_is_stable():
    # Traces saved as JSON carry this digest, so it must not change between versions.
    assert digest(np.array([[0.8], [1.1], [1.4]])) == "7c1b195cb40f7847"
    assert digest(np.arange(6.0).reshape(3, 2)) == digest(np.arange(6.0).reshape(3, 2).copy())
    assert digest(np.asfortranarray(np.arange(6.0).reshape(3, 2))) == digest(np.arange(6.0).reshape(3, 2))


def test_digest_is_sensitive_to_values_shape_and_dtype():
    base = np.arange(6.0).reshape(3, 2)
    changed = base.copy()
    changed[2, 1] = np.nextafter(changed[2, 1], np.inf)  # one bit
    digests = {
        digest(base),
        digest(changed),
        digest(base.reshape(2, 3)),
        digest(base.astype(np.float32)),
        digest(base.astype(np.int64)),
    }
    assert len(digests) == 5


def test_dataset_digest_is_the_digest_of_X():
    ds = _dataset()
    assert ds.digest == digest(ds.X)
    assert ds.select(["a"]).digest != ds.digest
