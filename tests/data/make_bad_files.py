"""Write the corpus of malformed and awkward input files that tests/test_bad_files.py reads.

Small files are committed under ``tests/data/bad/``; run this script to rewrite them after a
change (``python tests/data/make_bad_files.py``). The two big files (5,000 columns, a 1 MB
field) are written at test time by :func:`write_big_files`, so the repository stays small.
Everything is deterministic: the same bytes on every run and every machine.
"""

from __future__ import annotations

import gzip
import io
import random
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

BAD_DIR = Path(__file__).resolve().parent / "bad"

N_ROWS = 24  # enough rows that the number columns are features, not row numbers


def _lines(*rows: str, end: str = "\n") -> bytes:
    return (end.join(rows) + end).encode()


def _wave(i: int, period: int = 7, scale: float = 1.0) -> str:
    """A repeatable, non-monotone number with two decimals (so it is a feature, not an id)."""
    return f"{((i * 37) % period + (i % 3) * 0.25) * scale:.2f}"


def _numbers(n_rows: int = N_ROWS) -> list[str]:
    """Rows of two numeric feature columns, "x,y"."""
    return [f"{_wave(i)},{_wave(i, 5, 2.5)}" for i in range(n_rows)]


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            # A fixed timestamp keeps the bytes identical from run to run.
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


# --- the files ----------------------------------------------------------------------------------


def empty() -> bytes:
    return b""


def blank_lines_only() -> bytes:
    return b"   \r\n\r\n\n"


def header_only() -> bytes:
    return b"id,amount,city\n"


def one_row() -> bytes:
    return b"a,b,c\n1,2.5,x\n"


def one_column() -> bytes:
    return _lines("reading", *(_wave(i) for i in range(N_ROWS)))


def only_text() -> bytes:
    cities = ("Paris", "Lyon", "Nice")
    rows = [f'c{i:03d},{cities[i % 3]},"note number {i}, written by hand for row {i}"' for i in range(N_ROWS)]
    return _lines("code,city,comment", *rows)


def all_missing_column() -> bytes:
    rows = [f"{row},{'NA' if i % 2 else ''}" for i, row in enumerate(_numbers())]
    return _lines("x,y,empty", *rows)


def infinite_column() -> bytes:
    rows = [f"{row},{'inf' if i % 2 else '-inf'}" for i, row in enumerate(_numbers())]
    return _lines("x,y,overflow", *rows)


def inf_nan_spellings() -> bytes:
    specials = ("inf", "-inf", "Infinity", "+INF", "-Infinity", "NaN", "nan", "NULL", "N/A", "?", "")
    rows = [f"{specials[i] if i < len(specials) else _wave(i)},{_wave(i, 5)}" for i in range(N_ROWS)]
    return _lines("x,y", *rows)


def mixed_numbers_and_text() -> bytes:
    rows = [f"{'unknown' if i in (4, 9) else _wave(i)},{_wave(i, 5)}" for i in range(N_ROWS)]
    return _lines("amount,y", *rows)


def decimal_comma_semicolon() -> bytes:
    rows = [f"{_wave(i).replace('.', ',')};{_wave(i, 5, 1000).replace('.', ',')}" for i in range(N_ROWS)]
    return _lines("x;y", *rows)


def thousands_separators() -> bytes:
    rows = [f'"{int(float(_wave(i)) * 100_000):,}",{_wave(i, 5)}' for i in range(N_ROWS)]
    return _lines("x,y", *rows)


def duplicate_and_blank_headers() -> bytes:
    rows = [f"{row},{row},{_wave(i, 3)}" for i, row in enumerate(_numbers())]
    return _lines("x,x, ,y,", *rows)


def ragged_long_rows() -> bytes:
    return _lines("a,b,c", "1,2,3", "4,5,6", "7,8,9,10", "11,12,13")


def ragged_short_rows() -> bytes:
    rows = [f"{row},{_wave(i, 3)}" for i, row in enumerate(_numbers())]
    rows[3] = rows[3].rsplit(",", 1)[0]
    rows[7] = rows[7].split(",", 1)[0]
    return _lines("x,y,z", *rows)


def unclosed_quote() -> bytes:
    return _lines("a,b", "1,2", '"3,4', "5,6")


def quoted_newline() -> bytes:
    rows = [f'{row},"first line\nsecond line {i}"' for i, row in enumerate(_numbers())]
    return _lines("x,y,note", *rows)


def utf8_bom() -> bytes:
    return b"\xef\xbb\xbf" + _lines("x,y", *_numbers())


def utf16() -> bytes:
    rows = [f"{row},{'Zürich' if i % 2 else 'Genève'}" for i, row in enumerate(_numbers())]
    return ("\n".join(["x,y,ville", *rows]) + "\n").encode("utf-16")  # with a byte-order mark


def latin1() -> bytes:
    rows = [f"{row};{'Málaga' if i % 2 else 'Córdoba'}" for i, row in enumerate(_numbers())]
    return ("\n".join(["x;y;ciudad", *(r.replace(",", ";", 1) for r in rows)]) + "\n").encode("latin-1")


def binary() -> bytes:
    return b"\x00\x01\x02\x03" + random.Random(7).randbytes(2048)


def gzip_file() -> bytes:
    return gzip.compress(_lines("x,y", *_numbers()), mtime=0)


def excel_xlsx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": '<?xml version="1.0"?><Types/>',
            "xl/workbook.xml": '<?xml version="1.0"?><workbook/>',
            "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet/>',
        }
    )


def excel_xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def zip_archive() -> bytes:
    return _zip({"data.csv": "x,y\n1,2\n"})


def html_page() -> bytes:
    return b"<!DOCTYPE html>\n<html><body><table><tr><td>1</td></tr></table></body></html>\n"


def nul_in_text() -> bytes:
    return _lines("x,y", "1.5,2", "2.5,3\x00", "3.5,4")


def extreme_numbers() -> bytes:
    specials = ("1e308", "-0", "1e-320", "-1e308", "1.7976931348623157e308", "1e309", "-1e400")
    rows = [f"{specials[i] if i < len(specials) else _wave(i)},{_wave(i, 5)}" for i in range(N_ROWS)]
    return _lines("big,y", *rows)


def numbers_with_spaces() -> bytes:
    rows = [f" {_wave(i)} ,  {_wave(i, 5)}" for i in range(N_ROWS)]
    return _lines("x,y", *rows)


def label_three_classes() -> bytes:
    classes = ("normal", "fraud", "error")
    rows = [f"{row},{classes[i % 3]}" for i, row in enumerate(_numbers())]
    return _lines("x,y,label", *rows)


def label_with_missing() -> bytes:
    rows = [f"{row},{'' if i == 5 else i % 2}" for i, row in enumerate(_numbers())]
    return _lines("x,y,is_anomaly", *rows)


def all_constant() -> bytes:
    return _lines("a,b,c", *(["1,x,2.5"] * N_ROWS))


def timestamp_only() -> bytes:
    return _lines("time", *(f"2024-03-{1 + i // 24:02d} {i % 24:02d}:00:00" for i in range(N_ROWS)))


def html_and_script() -> bytes:
    kinds = ("<b>bold</b>", "<script>alert(1)</script>", '"<img src=x onerror=""alert(2)"">"')
    rows = [f"{row},{kinds[i % 3]}" for i, row in enumerate(_numbers())]
    header = '"<script>alert(""x"")</script>",<i>y</i>,"<a href=""javascript:alert(3)"">kind</a>"'
    return _lines(header, *rows)


def formula_injection() -> bytes:
    comments = ("=1+1", "\"+cmd|' /C calc'!A0\"", "-2+3", "@SUM(A1:A2)", '"\tTAB"', '"\rCR"', "plain")
    users = ("@admin", "+plus", "bob", "-minus")
    rows = [
        f"{row},{('-3.5', '+1', '-0', '12')[i % 4]},{comments[i % 7]},{users[i % 4]}"
        for i, row in enumerate(_numbers())
    ]
    return _lines('x,y,balance,"=HYPERLINK(""http://x"")",-user', *rows)


def awkward_numbers() -> bytes:
    spellings = ("1.50", "-0", "1e308", "007", "+3", " 5 ", "2.0", "1E2")
    rows = [
        f"r{i:02d},{spellings[i % len(spellings)]},{_wave(i)},{_wave(i, 5)},{('a', 'b')[i % 2]}"
        for i in range(N_ROWS)
    ]
    return _lines("row,odd,x,y,kind", *rows)


def awkward_numbers_decimal_comma() -> bytes:
    spellings = ("1,50", "-0", "1.234,5", "007", "+3", " 5 ", "2,0", "-1,25")
    rows = [
        f"r{i:02d};{spellings[i % len(spellings)]};{_wave(i).replace('.', ',')};{_wave(i, 5)}"
        for i in range(N_ROWS)
    ]
    return _lines("row;odd;x;y", *rows)


def rows_without_features() -> bytes:
    rows = []
    for i in range(N_ROWS):
        if i in (3, 10, 17):
            rows.append(f"r{i:02d},,NA,")
        else:
            rows.append(f"r{i:02d},{_wave(i)},{_wave(i, 5)},{('north', 'south')[i % 2]}")
    return _lines("row,x,y,site", *rows)


def trailing_delimiter() -> bytes:
    return _lines("x,y,", *(f"{row}," for row in _numbers()))


def cr_line_endings() -> bytes:
    return _lines("x,y", *_numbers(), end="\r")


def excel_sep_line() -> bytes:
    return b"sep=;\n" + _lines("x;y", *(row.replace(",", ";") for row in _numbers()))


def tab_separated() -> bytes:
    rows = [f"{row}\t{_wave(i, 3)}".replace(",", "\t") for i, row in enumerate(_numbers())]
    return _lines("x\ty\tz", *rows)


def parquet_file() -> bytes:
    frame = pd.DataFrame(
        {"x": [float(_wave(i)) for i in range(N_ROWS)], "y": [float(_wave(i, 5)) for i in range(N_ROWS)]}
    )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def big_integers() -> bytes:
    rows = [f"{row},{12345678901234567890 + i * 7919}" for i, row in enumerate(_numbers())]
    return _lines("x,y,account", *rows)


def unicode_headers() -> bytes:
    return _lines("温度,压力 🌡,naïve", *(f"{row},{_wave(i, 3)}" for i, row in enumerate(_numbers())))


# --- big files, written at test time ------------------------------------------------------------

WIDE_COLUMNS = 5000
BIG_FIELD_BYTES = 1 << 20


def wide_5000_columns() -> bytes:
    header = ",".join(f"c{j}" for j in range(WIDE_COLUMNS))
    rows = [",".join(str((i * 31 + j * 17) % 10) for j in range(WIDE_COLUMNS)) for i in range(6)]
    return _lines(header, *rows)


def one_megabyte_field() -> bytes:
    rows = [f"{row},short" for row in _numbers()]
    rows[5] = rows[5].replace("short", '"' + "A long field, " * (BIG_FIELD_BYTES // 14) + '"')
    return _lines("x,y,note", *rows)


SMALL: dict[str, Callable[[], bytes]] = {
    f"{make.__name__}.csv": make  # every file is named .csv, whatever it holds
    for make in (
        empty, blank_lines_only, header_only, one_row, one_column, only_text, all_missing_column,
        infinite_column, inf_nan_spellings, mixed_numbers_and_text, decimal_comma_semicolon,
        thousands_separators, duplicate_and_blank_headers, ragged_long_rows, ragged_short_rows,
        unclosed_quote, quoted_newline, utf8_bom, utf16, latin1, binary, gzip_file,
        excel_xlsx, excel_xls, zip_archive, html_page, nul_in_text,
        extreme_numbers, numbers_with_spaces, label_three_classes, label_with_missing, all_constant,
        timestamp_only, html_and_script, formula_injection, awkward_numbers,
        awkward_numbers_decimal_comma, rows_without_features, trailing_delimiter, cr_line_endings,
        excel_sep_line, tab_separated, parquet_file, big_integers, unicode_headers,
    )
}  # fmt: skip
BIG: dict[str, Callable[[], bytes]] = {
    "wide_5000_columns.csv": wide_5000_columns,
    "one_megabyte_field.csv": one_megabyte_field,
}


def write_small_files(directory: Path = BAD_DIR) -> list[Path]:
    """Write the committed files (each well under 200 KB) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in SMALL.items():
        path = directory / name
        path.write_bytes(make())
        paths.append(path)
    return paths


def write_big_files(directory: Path) -> list[Path]:
    """Write the big files into ``directory`` (once: existing files are reused)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in BIG.items():
        path = directory / name
        if not path.exists():
            path.write_bytes(make())
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_small_files():
        print(f"{written.stat().st_size:>8,} bytes  {written.relative_to(BAD_DIR.parent.parent.parent)}")
