"""Reading user tables: formats, encodings, delimiters, odd rows, and the exact-text twin."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import gzip
import io
import math
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector import table as table_module
from detector.errors import DataError
from detector.table import Table, read_table, read_table_text

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def values(table: Table) -> dict[str, list]:
    return table.frame.to_dict("list")


def notes(table: Table) -> str:
    return " | ".join(table.report.notes)


# --- delimiters, encodings, quoting ---------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_gives_three_numeric_columns(delimiter):
    data = delimiter.join("abc").encode() + b"\n" + delimiter.join("123").encode() + b"\n"
    table = read_table(data)
    assert table.report.dialect.delimiter == delimiter
    assert values(table) == {"a": [1], "b": [2], "c": [3]}
    assert table.report.engine == "pyarrow"


def test_semicolon_file_with_decimal_commas_is_split_on_semicolons():
    table = read_table(b"a;b\n1,5;2,25\n3,5;4,75\n")
    assert table.report.dialect.delimiter == ";"
    assert table.report.dialect.decimal == ","
    assert values(table) == {"a": [1.5, 3.5], "b": [2.25, 4.75]}
    assert "decimal comma" in notes(table)


def test_quoted_delimiters_do_not_split_fields():
    table = read_table(b'name,city\n"Smith, J.","Paris, FR"\n"Doe, A.",Rome\n')
    assert values(table) == {"name": ["Smith, J.", "Doe, A."], "city": ["Paris, FR", "Rome"]}


def test_utf8_bom_is_not_part_of_the_first_column_name():
    table = read_table(b"\xef\xbb\xbfid,x\n1,2\n")
    assert list(table.frame.columns) == ["id", "x"]
    assert table.report.dialect.encoding == "utf-8-sig"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom_is_decoded(codec):
    data = "name,n\ncafé,1\n".encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    table = read_table(data)
    assert values(table) == {"name": ["café"], "n": [1]}
    assert table.report.dialect.encoding.startswith("utf-16")


def test_latin1_file_is_read_with_a_note():
    table = read_table("name;n\ncafé;1\nSão Paulo;2\n".encode("latin-1"))
    assert values(table)["name"] == ["café", "São Paulo"]
    assert "not UTF-8" in notes(table)


def test_newline_inside_quotes_stays_in_the_cell():
    table = read_table(b'note,n\n"line one\nline two",1\nplain,2\n')
    assert table.report.n_rows == 2
    assert values(table)["note"] == ["line one\nline two", "plain"]


def test_excel_sep_line_sets_the_delimiter():
    table = read_table(b"sep=;\na;b\n1;2\n")
    assert values(table) == {"a": [1], "b": [2]}


def test_single_column_file_is_fine():
    table = read_table(b"comment\nhello, world\nfine\n")
    assert values(table) == {"comment": ["hello, world", "fine"]}


# --- numbers --------------------------------------------------------------------------------


def test_quoted_thousands_separators_become_numbers():
    table = read_table(b'revenue,n\n"1,234,567",1\n"12,000",2\n999,3\n')
    assert values(table)["revenue"] == [1234567, 12000, 999]
    assert table.report.dialect.thousands == ","
    assert "thousands" in notes(table)


def test_semicolon_file_with_dot_thousands_and_decimal_comma():
    table = read_table(b"amount;n\n1.234,5;1\n12,25;2\n")
    assert values(table)["amount"] == [1234.5, 12.25]
    assert table.report.dialect.thousands == "."


def test_infinity_and_missing_spellings():
    table = read_table(b"x\ninf\n-inf\nInfinity\n+INF\nNaN\nNA\n?\n 3 \n")
    x = table.frame["x"]
    assert x.dtype == np.float64
    assert x.iloc[:4].tolist() == [math.inf, -math.inf, math.inf, math.inf]
    assert x.iloc[4:7].isna().all()
    assert x.iloc[7] == 3.0


def test_missing_and_infinite_spellings_are_counted_in_the_notes():
    table = read_table(b"x,y\n1,a\nNULL,b\n?,c\n,d\n-inf,e\n1e309,f\n")
    assert table.frame["x"].isna().sum() == 3
    assert (
        "column 'x': 2 values such as 'NULL', '?' were read as missing (first at row 2); "
        "1 value is infinite (first at row 5); 1 value is too large for a number and "
        "was read as infinite (first at row 6: '1e309')"
    ) in notes(table)


def test_whole_numbers_too_long_for_a_float_are_noted():
    table = read_table(b"account\n12345678901234567890\n1\n\n")
    assert table.frame["account"].dtype == np.float64
    assert "1 whole number is too long to keep every digit" in notes(table)
    assert "(first at row 1: '12345678901234567890')" in notes(table)


def test_a_clean_number_column_has_no_note():
    assert read_table(b"x,y\n1.5,a\n,b\n2,c\n").report.notes == ()


def test_empty_cells_in_a_number_column_are_missing():
    table = read_table(b"a,b\n1,x\n,y\n3,z\n")
    assert table.frame["a"].dtype == np.float64
    assert table.frame["a"].isna().tolist() == [False, True, False]


def test_whole_numbers_stay_integers_and_extremes_survive():
    table = read_table(b"i,f\n007,1e308\n12,-0\n")
    assert table.frame["i"].dtype == np.int64
    assert values(table)["i"] == [7, 12]
    f = table.frame["f"].to_numpy()
    assert f[0] == 1e308
    assert f[1] == 0.0
    assert math.copysign(1.0, f[1]) == -1.0


def test_column_mixing_numbers_and_text_stays_text_with_a_note():
    table = read_table(b"x\n1\n2\nabc\n4\n")
    assert not pd.api.types.is_numeric_dtype(table.frame["x"])
    assert values(table)["x"] == ["1", "2", "abc", "4"]
    assert "1 of 4 values are not numbers (first at row 3: 'abc'); kept as text" in notes(table)


# --- column names -----------------------------------------------------------------------------


def test_blank_and_duplicate_headers_are_renamed_and_reported():
    table = read_table(b"a,a,,b,a\n1,2,3,4,5\n")
    assert list(table.frame.columns) == ["a", "a_2", "column_3", "b", "a_3"]
    assert "column_3" in notes(table)
    assert "'a' -> 'a_2'" in notes(table)


def test_numeric_first_row_is_flagged_as_maybe_not_a_header():
    table = read_table(b"1,2\n3,4\n")
    assert "looks like data" in notes(table)


# --- ragged rows and broken files -----------------------------------------------------------


def test_rows_with_too_many_fields_are_refused_naming_the_line():
    with pytest.raises(DataError, match=r"line 5 has 4 fields but the header has 3"):
        read_table(b'a,b,c\n1,2,3\n"x\ny",5,6\n7,8,9,10\n')


def test_rows_with_too_few_fields_are_padded_and_counted():
    table = read_table(b"a,b,c\n1,2,3\n4,5\n6\n")
    assert table.report.n_rows == 3
    assert table.frame["c"].isna().tolist() == [False, True, True]
    assert "2 rows had fewer fields than the header (first at line 3)" in notes(table)
    assert table.report.engine == "pandas-c"
    text = read_table_text(b"a,b,c\n1,2,3\n4,5\n6\n", table.report.dialect)
    assert text["c"].tolist() == ["3", "", ""]


def test_unclosed_quote_is_explained():
    with pytest.raises(DataError, match="never closed"):
        read_table(b'a,b\n"1,2\n3,4\n')


@pytest.mark.parametrize("data", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_refused(data):
    with pytest.raises(DataError, match="empty"):
        read_table(data)


def test_header_only_is_refused():
    with pytest.raises(DataError, match="no data rows"):
        read_table(b"a,b,c\n")


def test_binary_junk_is_refused():
    junk = bytes(range(256)) * 4
    with pytest.raises(DataError, match="does not look like a text table"):
        read_table(junk)


def test_a_stray_nul_byte_is_refused_naming_its_line():
    with pytest.raises(DataError, match=r"binary data \(first at line 3, character 4\)"):
        read_table(b"a,b\n1,2\n3,4\x00\n5,6\n")


def test_gzip_file_named_csv_is_recognised():
    with pytest.raises(DataError, match="gzip"):
        read_table(gzip.compress(b"a,b\n1,2\n"), name="data.csv")


def test_excel_workbook_is_recognised():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(DataError, match=r"Excel workbook.*save the sheet as CSV"):
        read_table(buffer.getvalue())


def test_old_excel_file_is_recognised():
    with pytest.raises(DataError, match=r"Excel \(.xls\)"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)


def test_missing_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "nope.csv")


# --- sources and Parquet ----------------------------------------------------------------------


def test_path_and_file_object_give_the_same_table(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_bytes(b"a,b\n1,x\n")
    from_path = read_table(path)
    stream = io.BytesIO(path.read_bytes())
    stream.name = "sales.csv"
    stream.read()  # already consumed once, as an upload widget might leave it
    from_stream = read_table(stream)
    assert from_path.name == from_stream.name == "sales.csv"
    pd.testing.assert_frame_equal(from_path.frame, from_stream.frame)


def test_parquet_roundtrip():
    frame = pd.DataFrame(
        {"x": [1.5, np.nan, -2.0], "n": [1, 2, 3], "s": ["a", None, "c"]},
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    table = read_table(buffer.getvalue(), name="t.parquet")
    assert table.report.dialect.format == "parquet"
    pd.testing.assert_frame_equal(table.frame, frame, check_dtype=False)
    text = read_table_text(buffer.getvalue(), table.report.dialect)
    assert text["x"].tolist() == ["1.5", "", "-2.0"]
    assert text["s"].tolist() == ["a", "", "c"]


# --- exact text for exports -------------------------------------------------------------------


def test_text_twin_keeps_every_cell_byte_for_byte():
    data = b'price;id;note;big\n1,50;007; padded ;1e308\n-0;010;"a;b";1.234,5\n'
    table = read_table(data)
    text = read_table_text(data, table.report.dialect)
    assert text.shape == table.frame.shape
    assert list(text.columns) == list(table.frame.columns)
    assert text.to_dict("list") == {
        "price": ["1,50", "-0"],
        "id": ["007", "010"],
        "note": [" padded ", "a;b"],
        "big": ["1e308", "1.234,5"],
    }
    assert table.frame["price"].tolist() == [1.5, 0.0]


def test_text_twin_decodes_like_read_table():
    data = "name,x\ncafé,1.50\n".encode("utf-16")
    table = read_table(data)
    text = read_table_text(data, table.report.dialect)
    assert text.to_dict("list") == {"name": ["café"], "x": ["1.50"]}


# --- numbers read straight by pyarrow ----------------------------------------------------------
# Plain number columns skip the text typing; everything a user sees must stay the same.


def with_text_typing(data: bytes) -> Table:
    """The table as the text typing alone reads it (the reference for the fast paths)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(table_module, "_parse_numbers_with_pyarrow", lambda *args: None)
        patch.setattr(table_module, "_parse_numbers_with_pandas", lambda *args: None)
        return read_table(data)


def assert_same_table(fast: Table, slow: Table) -> None:
    assert fast.report == slow.report
    pd.testing.assert_frame_equal(fast.frame, slow.frame, check_exact=True)
    for column in fast.frame.select_dtypes("float"):
        assert np.array_equal(np.signbit(fast.frame[column]), np.signbit(slow.frame[column]))


def long_file(rows: list[str], late_row: str) -> bytes:
    """A header, ``rows`` repeated past the 64 KB sample, then ``late_row``."""
    body = "\n".join(rows * (70_000 // len("\n".join(rows)) + 1))
    return f"a,b\n{body}\n{late_row}\n".encode()


def test_minus_zero_keeps_its_sign_in_a_column_with_blanks():
    table = read_table(b"a,b\n-0,x\n,y\n1,z\n")
    assert table.frame["a"].dtype == np.float64
    assert math.copysign(1.0, table.frame["a"].iloc[0]) == -1.0


def test_spaced_plus_signed_whole_numbers_stay_integers():
    table = read_table(b"a,b\n+5,x\n 6,y\n")
    assert table.frame["a"].dtype == np.int64
    assert values(table)["a"] == [5, 6]


def test_a_late_non_number_keeps_the_column_as_text_with_a_note():
    table = read_table(long_file(["1.5,x", "2,y"], "abc,z"))
    assert not pd.api.types.is_numeric_dtype(table.frame["a"])
    assert "values are not numbers (first at row" in notes(table)
    assert_same_table(table, with_text_typing(long_file(["1.5,x", "2,y"], "abc,z")))


@pytest.mark.parametrize("late", ["NaN,z", "inf,z", "1e999,z", "12345678901234567890,z", ",z", "7.5,z"])
@pytest.mark.parametrize("rows", [["1,x", "2,y"], ["1.5,x", ",y"]], ids=["whole", "with-blanks"])
def test_late_special_values_read_as_the_text_typing_reads_them(rows, late):
    data = long_file(rows, late)
    assert_same_table(read_table(data), with_text_typing(data))


def test_spaced_dotted_numbers_in_a_decimal_comma_file_read_as_the_text_typing_reads_them():
    data = b"a;b\n 1.234;1,5\n2.500;2\n"
    assert read_table(data).report.dialect.decimal == ","
    assert_same_table(read_table(data), with_text_typing(data))


def test_mapped_file_reads_like_its_bytes(tmp_path):
    data = long_file(["1.5,x", "-2,y", ",z"], "NA,w")
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    from_path = read_table(path)
    assert_same_table(from_path, read_table(data, name="big.csv"))
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.csv")


@pytest.mark.parametrize(
    "categories",
    [["red", "blue", " red", "NA", "", "green "], ["1,5", "2,25", " 3,5"], ["inf", "-Infinity", "7"]],
    ids=["padded-text", "decimal-comma", "infinite"],
)
def test_category_columns_read_dictionary_encoded_as_the_text_typing_reads_them(categories, monkeypatch):
    rows = [f"{i % 7}.5;{categories[i % len(categories)]}" for i in range(60)]
    data = long_file(rows, "8;" + categories[0]).replace(b"a,b", b"a;b")
    encoded = []
    original = table_module._Cells.of_dictionary.__func__

    def spy(cls, *args):
        encoded.append(1)
        return original(cls, *args)

    monkeypatch.setattr(table_module._Cells, "of_dictionary", classmethod(spy))
    fast = read_table(data)
    assert encoded, "the category column was not read dictionary-encoded"
    assert_same_table(fast, with_text_typing(data))


def test_a_rare_spelling_in_a_category_column_reads_as_the_text_typing_reads_it():
    # "nAn" is in the first rows (so the column is read dictionary-encoded) but rarely in the
    # typing's sample: the text typing casts the column as numbers, and so must this path.
    data = b"a,b\n1,1\n1,nAn\n" + b"1,1\n" * 6000
    assert_same_table(read_table(data), with_text_typing(data))


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize(
    ("data", "start", "expected"),
    [
        (b"a,b\n1,2\n" * 40, 0, (True, False)),
        (b"a,b\n1,2\n" * 40 + b'3,"x"\n', 0, (True, True)),
        (b'"a",b\n' + b"1,2\n" * 40, 0, (True, True)),
        (b"a,b\n1,2\n" * 40 + "é,3\n".encode(), 0, (False, False)),
        (codecs.BOM_UTF8 + b"a,b\n1,2\n" * 40, 3, (True, False)),
        (b"", 0, (True, False)),
    ],
)
def test_one_scan_finds_non_ascii_bytes_and_quotes(data, start, expected, parallel, monkeypatch):
    if parallel:  # halves side by side, in blocks smaller than each half
        monkeypatch.setattr(table_module, "_PARALLEL_BYTES", 16)
        monkeypatch.setattr(table_module, "_SCAN_BLOCK", 7)
    assert table_module._scan_bytes(data, start) == expected


def test_a_quoted_newline_in_a_large_file_is_found_by_the_scan(tmp_path):
    rows = "\n".join(f"{i},plain" for i in range(400_000))
    data = f'a,b\n{rows}\n7,"two\nlines"\n{rows}\n'.encode()
    assert len(data) > table_module._PARALLEL_BYTES
    path = tmp_path / "quoted.csv"
    path.write_bytes(data)
    table = read_table(path)
    assert table.report.n_rows == 800_001
    assert table.frame["b"].iloc[400_000] == "two\nlines"


number_cells = st.sampled_from(
    ["1", "-4", "+5", "007", "1.5", " 1.234", "-0", "-00", "0", "1e5", "+2.5", ".5", "5.", " 6",
     "\t8", " +9 ", "", " ", "nan", "nAn", "-Infinity", "NA", "?", "1e400", "12345678901234567890",
     "9007199254740993", "1,5", "1.234", "1.234,5", '"1,234"', '""', "x", "2020-01-01", "true",
     "1.0", "-3.0"]
)  # fmt: skip


@st.composite
def number_tables(draw) -> bytes:
    """Small CSVs of number-like columns, often repeated past the sample and pyarrow's blocks."""
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    pools = draw(st.lists(st.lists(number_cells, min_size=1, max_size=3), min_size=1, max_size=3))
    rows = [[draw(st.sampled_from(pool)) for pool in pools] for _ in range(draw(st.integers(1, 8)))]
    lines = [delimiter.join(row) for row in rows] * draw(st.sampled_from([1, 40, 3000]))
    late = draw(st.lists(number_cells, min_size=len(pools), max_size=len(pools)))
    lines.insert(draw(st.integers(0, len(lines))), delimiter.join(late))
    header = delimiter.join(f"c{i}" for i in range(len(pools)))
    return "\n".join([header, *lines, ""]).encode()


@FUZZ
@given(number_tables(), st.sampled_from([4 << 20, 512]))
def test_numbers_read_by_pyarrow_equal_the_text_typing(data, block_size):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(table_module, "_BLOCK_SIZE", block_size)  # small blocks: types change midway
        try:
            fast = read_table(data)
        except DataError as error:
            with pytest.raises(DataError, match=re.escape(str(error))):
                with_text_typing(data)
            return
        assert_same_table(fast, with_text_typing(data))


# --- numbers read straight by pandas, for large files on disk ---------------------------------


def read_by_pandas(data: bytes, min_bytes: int = 0) -> Table:
    """``data`` read from a file, with pandas' typed read for files of ``min_bytes`` or more."""
    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as folder:
        patch.setattr(table_module, "_PANDAS_MIN_BYTES", min_bytes)
        path = Path(folder) / "table.csv"
        path.write_bytes(data)
        return read_table(path, name="table")  # the name read_table gives bytes


def assert_same_as_text_typing(data: bytes, table: Table) -> None:
    """``table`` is what the text typing reads from ``data``, whichever engine split the file."""
    slow = with_text_typing(data)
    assert_same_table(
        table, dataclasses.replace(slow, report=dataclasses.replace(slow.report, engine=table.report.engine))
    )


def assert_read_from_disk_as_by_the_text_typing(data: bytes, min_bytes: int = 0) -> None:
    """Read from a file, ``data`` gives the text typing's table, or its error."""
    try:
        table = read_by_pandas(data, min_bytes)
    except DataError as error:
        with pytest.raises(DataError, match=re.escape(str(error))):
            with_text_typing(data)
        return
    assert_same_as_text_typing(data, table)


def test_a_large_plain_file_on_disk_is_read_by_pandas():
    data = b"a,b\n" + b"1.5,x\n" * 10
    assert read_by_pandas(data).report.engine == "pandas-c"
    assert read_by_pandas(data, min_bytes=1 << 20).report.engine == "pyarrow"
    assert read_table(data).report.engine == "pyarrow"  # bytes (an upload): pandas needs a path


@pytest.mark.parametrize(
    "data",
    [
        b'a,b\n1,"x"\n2,y\n',  # quotes
        b"a,b\n1,x\n2\n3,z\n",  # a short row: padded, with a note
        b"a,b\n1,x,\n2,y,\n",  # every row longer than the header
        b"a,b\n1,x\n2,y,z\n",  # one row longer
        b"a,b\n1\n",  # header only, padded
        b"a,b\n",  # no rows
        b"   \na,b\n1,2\n",  # a blank first line
        b"\xef\xbb\xbfa,b\n1,2\n",  # a byte-order mark
        b"sep=;\na;b\n1;2\n",  # Excel's delimiter line
        "a;b\n1,5;é\n".encode("cp1252"),  # not UTF-8
        # Files pandas reads, typed as the text typing types them:
        b"a,b,c\r\n1,2.5,x\r\n3,,y\r\n",
        b"a,b,c\r1,2.5,x\r3,4,y\r",
        b"a,b,c\n1,2.5,x\n3,4,y",  # no newline at the end
        b"a,b,c\n1,2.5,x\n   \n,,\n3,4,y\n",  # a line of spaces, a row of blanks
        "a,b,c\n1,2.5,café\n3,4,naïve\n".encode(),
        b"a;b;c\n1,5;2.5;x\n3,25;4.75;y\n",  # decimal commas
        b"a\tb\tc\n1,234\t2.5\tx\n3\t4\ty\n",
        b" a , b ,a\n1,2,x\n3,4,y\n",  # padded and repeated names
        b"a,b\n-0,x\n,y\n5,z\n",
        b"a,b\n+5,1\n 6 ,2\n",
        b"a,b\n9007199254740993,x\n1,y\n",
        b"a,b\nTrue,x\nFalse,y\n",
        b"a,b\n2020-01-01,1\n2020-01-02,inf\n",
        b"a,b\n1\x002,x\n3,y\n",
        b"a,b,c\n1,2,\n3,4\n5,6,z\n",  # a short row among blanks: found by the count
    ],
)
def test_odd_files_on_disk_read_as_the_text_typing_reads_them(data):
    assert_read_from_disk_as_by_the_text_typing(data)


def test_short_rows_at_the_end_are_noted_not_hidden():
    data = b"a,b,c\n" + b"1,2,x\n" * 50 + b"3,4\n"
    table = read_by_pandas(data)
    assert "1 row had fewer fields than the header (first at line 52)" in notes(table)
    assert table.frame["c"].isna().sum() == 1


def test_a_blank_last_column_with_whole_rows_stays_on_pandas():
    data = b"a,b,c\n" + b"1,2,x\n3,4,\n" * 50
    table = read_by_pandas(data)
    assert table.report.engine == "pandas-c"
    assert_same_as_text_typing(data, table)


@pytest.mark.parametrize(
    "late",
    ["NA", "nan", "inf", "+5", "true", "-0", "", "1e400", "9007199254740993", "x"],
)
def test_a_large_file_split_across_threads_reads_as_the_text_typing(late):
    # Over the 5 MB from which pandas splits a file, so each thread reads a part of it; the late
    # cell is in the last part only (for some cells pandas then reads the file again on one thread).
    rng = np.random.default_rng(0)
    n = 160_000
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n).round(6),
            "n": rng.integers(-1000, 1000, n),
            "site": rng.choice(["north", "south", " east ", "NA"], n),
            "note": [f"row {i}" for i in range(n)],
            "blanky": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
        }
    )
    text = frame.to_csv(index=False, lineterminator="\n", float_format="%.6g")
    data = (text + f"{late},{late},north,last,{late}\n").replace('"', "").encode()
    assert len(data) > 5.5 * 2**20
    assert_read_from_disk_as_by_the_text_typing(data, min_bytes=1 << 20)


@FUZZ
@given(number_tables())
def test_numbers_read_by_pandas_equal_the_text_typing(data):
    assert_read_from_disk_as_by_the_text_typing(data)


# --- properties -------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_give_a_table_or_a_data_error(data):
    try:
        table = read_table(data)
    except DataError:
        return
    assert table.report.n_rows == len(table.frame) > 0


csv_like = st.lists(
    st.sampled_from([*'abc019.,;|\t"\n\r -+eé?', "inf", "NA", "1,5", '""', "\r\n", "\x00"]),
    max_size=60,
).map("".join)


@FUZZ
@given(csv_like, st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]))
def test_csv_like_text_gives_a_table_or_a_data_error(text, codec):
    data = text.encode(codec, errors="replace")
    try:
        table = read_table(data)
    except DataError:
        return
    twin = read_table_text(data, table.report.dialect)
    assert twin.shape == table.frame.shape
    assert list(twin.columns) == list(table.frame.columns)


cell = st.text(alphabet=st.sampled_from(list('ab09.,-e "\n é')), max_size=6)


@FUZZ
@given(st.integers(1, 4), st.integers(1, 5), st.data(), st.sampled_from([",", ";", "\t", "|"]))
def test_written_csv_reads_back_to_the_same_text(n_columns, n_rows, data, delimiter):
    header = [f"c{i}" for i in range(n_columns)]
    rows = [[data.draw(cell) for _ in range(n_columns)] for _ in range(n_rows)]
    # A one-column row holding only blanks is a blank line, which every CSV reader skips.
    rows = [r for r in rows if n_columns > 1 or r[0].strip()] or [["x"] * n_columns]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    encoded = buffer.getvalue().encode()
    table = read_table(encoded)
    if n_columns > 1:
        assert table.report.dialect.delimiter == delimiter
    text = read_table_text(encoded, table.report.dialect)
    assert text.to_numpy().tolist() == rows


def test_a_note_quotes_at_most_80_characters_of_a_huge_cell():
    huge = "x" * 2_000_000
    data = ("n\n" + "\n".join(str(i) for i in range(40)) + f"\n{huge}\n").encode()
    notes = " ".join(read_table(data).report.notes)
    assert "(2,000,000 characters)" in notes
    assert len(notes) < 1_000


def test_a_parquet_file_that_decodes_beyond_the_budget_is_refused_from_its_metadata(monkeypatch):
    import detector.table as table_module

    buffer = io.BytesIO()
    pd.DataFrame({"zero": np.zeros(200_000)}).to_parquet(buffer)  # a few kB, 1.6 MB decoded
    assert len(buffer.getvalue()) < 100_000
    monkeypatch.setattr(table_module, "MAX_PARQUET_BYTES", 1 << 20)
    with pytest.raises(DataError, match=r"would take .* once decoded \(200,000 rows\)"):
        read_table(buffer.getvalue())


def test_many_duplicate_names_get_distinct_suffixes_in_order():
    from detector.table import _column_names

    names, notes = _column_names(["a"] * 5000 + ["a_3", ""])
    assert len(set(names)) == len(names) == 5002
    assert names[:4] == ["a", "a_2", "a_4", "a_5"]  # a_3 is a real column further on
    assert names[-2:] == ["a_3", "column_5002"]
    assert notes[-1].startswith("duplicate column names were renamed: 'a' -> 'a_2', 'a' -> 'a_4'")


def test_a_table_wider_than_the_column_cap_is_refused_before_its_rows_are_read(tmp_path):
    from detector.table import MAX_COLUMNS

    path = tmp_path / "wide.csv"
    width = MAX_COLUMNS + 1
    path.write_text(",".join(f"c{i}" for i in range(width)) + "\n" + ",".join(["1"] * width))
    with pytest.raises(DataError, match=f"The table has {MAX_COLUMNS + 1:,} columns, more than the"):
        read_table(path)
