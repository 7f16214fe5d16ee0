"""The hostile-input corpus and what should happen to each file, for the library, CLI and app tests.

Each file in ``tests/data/bad/`` (plus two big ones written at test time) is either read, with
the conversions it needed reported in the read notes, or refused with a ``DataError`` whose
message names the problem and where. Use :func:`bad_cases` to get (path, expectation) pairs::

    from bad_corpus import bad_cases

    @pytest.mark.parametrize(("path", "expected"), bad_cases(), ids=lambda v: getattr(v, "name", ""))
    def test_upload(path, expected): ...
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DATA = Path(__file__).resolve().parent / "data"
BAD_DIR = DATA / "bad"


@dataclass(frozen=True)
class Expectation:
    """What reading one corpus file must give.

    Parameters
    ----------
    outcome
        ``"reads"``: ``read_table`` returns a table; ``"refused"``: it raises ``DataError``.
    message
        For refused files: substrings of the error message (what is wrong and where).
    shape
        For read files: (rows, columns) of the table.
    notes
        Substrings that must each appear in one of the read notes (what was converted).
    columns
        The exact column names, when they are the point of the file.
    dialect
        Fields of ``report.dialect`` that must have these values.
    training
        ``None`` when a model can be trained on the inferred features; otherwise a substring
        of the ``DataError`` that choosing roles or training gives (saying why).
    cli_args, cli_error
        Extra ``train`` options for the command line, and a substring of the one ``error:``
        line it must then print (exit code 2) although the library can train.
    app_error
        A substring of the Train page's refusal when the app refuses what the library can train
        (fewer rows than the app trains on).
    model
        Whether a full model fit on this file is worth its time: the typed table holds
        something the network could trip on (infinities, huge values, odd names, width).
        Other files end in plain numbers that the preprocessing check already covers.
    """

    outcome: Literal["reads", "refused"]
    message: tuple[str, ...] = ()
    shape: tuple[int, int] | None = None
    notes: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None
    dialect: tuple[tuple[str, str], ...] = ()
    training: str | None = None
    cli_args: tuple[str, ...] = ()
    cli_error: str | None = None
    app_error: str | None = None
    model: bool = False


def refused(*message: str) -> Expectation:
    return Expectation("refused", message=message)


def reads(shape: tuple[int, int], *notes: str, **details) -> Expectation:
    return Expectation("reads", shape=shape, notes=notes, **details)


EXPECTED: dict[str, Expectation] = {
    # Not a table at all, or nothing in it.
    "empty.csv": refused("empty.csv is empty"),
    "blank_lines_only.csv": refused("blank_lines_only.csv is empty"),
    "header_only.csv": refused("header_only.csv has a header", "'id', 'amount', 'city'", "no data rows"),
    "binary.csv": refused("binary.csv does not look like a text table", "binary data", "line 1"),
    "nul_in_text.csv": refused("nul_in_text.csv", "binary data", "line 3, character 6"),
    "gzip_file.csv": refused("gzip_file.csv", "gzip-compressed", "decompress it"),
    "excel_xlsx.csv": refused("excel_xlsx.csv", "Excel workbook (.xlsx)", "save the sheet as CSV"),
    "excel_xls.csv": refused("excel_xls.csv", "old-style Excel (.xls)", "save the sheet as CSV"),
    "zip_archive.csv": refused("zip_archive.csv", "zip archive", "unzip it"),
    "html_page.csv": refused("html_page.csv", "web page (HTML)"),
    # Broken structure.
    "ragged_long_rows.csv": refused("ragged_long_rows.csv", "line 4 has 4 fields but the header has 3"),
    "unclosed_quote.csv": refused("unclosed_quote.csv", "near line 3 is never closed"),
    "ragged_short_rows.csv": reads(
        (24, 3),
        "2 rows had fewer fields than the header (first at line 5)",
    ),
    "quoted_newline.csv": reads((24, 3)),
    "trailing_delimiter.csv": reads((24, 3), "1 column had no name and was named column_3"),
    "duplicate_and_blank_headers.csv": reads(
        (24, 5),
        "2 columns had no name and were named column_3, column_5",
        "duplicate column names were renamed: 'x' -> 'x_2'",
        columns=("x", "x_2", "column_3", "y", "column_5"),
    ),
    # Encodings, delimiters and line ends.
    "utf8_bom.csv": reads((24, 2), columns=("x", "y"), dialect=(("encoding", "utf-8-sig"),)),
    "utf16.csv": reads((24, 3), columns=("x", "y", "ville"), dialect=(("encoding", "utf-16-le"),)),
    "latin1.csv": reads(
        (24, 3), "the file is not UTF-8; it was read as cp1252", dialect=(("delimiter", ";"),)
    ),
    "cr_line_endings.csv": reads((24, 2)),
    "excel_sep_line.csv": reads((24, 2), dialect=(("delimiter", ";"),)),
    "tab_separated.csv": reads((24, 3), dialect=(("delimiter", "\t"),)),
    "parquet_file.csv": reads((24, 2), dialect=(("format", "parquet"),)),
    "unicode_headers.csv": reads((24, 3), columns=("温度", "压力 🌡", "naïve"), model=True),
    # Numbers.
    "decimal_comma_semicolon.csv": reads(
        (24, 2),
        "column 'x': read values like '1,5' as numbers (decimal comma)",
        dialect=(("delimiter", ";"), ("decimal", ",")),
    ),
    "thousands_separators.csv": reads(
        (24, 2), "column 'x': read values like '1,234' as numbers (',' as thousands separator)"
    ),
    "inf_nan_spellings.csv": reads(
        (24, 2),
        "column 'x': 5 values such as 'NaN', 'nan', 'NULL', ... were read as missing (first at row 6)",
        "5 values are infinite (first at row 1)",
        model=True,
    ),
    "extreme_numbers.csv": reads(
        (24, 2),
        "column 'big': 2 values are too large for a number and were read as infinite "
        "(first at row 6: '1e309')",
        model=True,
    ),
    "numbers_with_spaces.csv": reads((24, 2)),
    "mixed_numbers_and_text.csv": reads(
        (24, 2),
        "column 'amount': 2 of 24 values are not numbers (first at row 5: 'unknown'); kept as text",
        model=True,
    ),
    "big_integers.csv": reads(
        (24, 3), "column 'account': 24 whole numbers are too long to keep every digit and may be rounded"
    ),
    "awkward_numbers.csv": reads((24, 5)),
    "awkward_numbers_decimal_comma.csv": reads(
        (24, 4), "column 'odd': read values like '1,5' as numbers", dialect=(("decimal", ","),)
    ),
    # Missing, infinite and constant columns; rows with nothing in them.
    "all_missing_column.csv": reads((24, 3), "column 'empty': 12 values such as 'NA' were read as missing"),
    "infinite_column.csv": reads((24, 3), "column 'overflow': 24 values are infinite", model=True),
    "rows_without_features.csv": reads((24, 4), "column 'y': 3 values such as 'NA' were read as missing"),
    "all_constant.csv": reads(
        (24, 3), training="no column of this table looks usable as one: 'a' (every value is 1)"
    ),
    "one_row.csv": reads((1, 3), training="the table has only 1 row"),
    "one_column.csv": reads((24, 1), model=True),
    "timestamp_only.csv": reads((24, 1), training="'time' (100% of values read as dates"),
    "only_text.csv": reads((24, 3), model=True),
    # Labels.
    "label_three_classes.csv": reads(
        (24, 3),
        cli_args=("--label-column", "label"),
        cli_error="the label column 'label' has 3 different values",
    ),
    "label_with_missing.csv": reads(
        (24, 3), cli_error="the label column 'is_anomaly' has 1 missing value (first at row 6)"
    ),
    # Markup and spreadsheet formulas: kept as text, never run.
    "html_and_script.csv": reads(
        (24, 3),
        columns=('<script>alert("x")</script>', "<i>y</i>", '<a href="javascript:alert(3)">kind</a>'),
        model=True,
    ),
    "formula_injection.csv": reads((24, 5), columns=("x", "y", "balance", '=HYPERLINK("http://x")', "-user")),
    # Written at test time (too big to commit).
    # The library fits its 6 rows (the model test's point is the width); the app and the CLI
    # refuse fewer than 10 rows to train on.
    "wide_5000_columns.csv": reads(
        (6, 5000), model=True, cli_error="only 6 rows to train on", app_error="only 6 rows to train on",
    ),
    "one_megabyte_field.csv": reads((24, 3), model=True),
}


def _generator():
    spec = importlib.util.spec_from_file_location("make_bad_files", DATA / "make_bad_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bad_cases(big_dir: Path | None = None) -> list[tuple[Path, Expectation]]:
    """Every corpus file with its expectation; the big files are written into ``big_dir``.

    ``big_dir`` defaults to a folder in the system's temporary directory, reused between runs.
    """
    generator = _generator()
    # Keyed by the generator's text, so that a changed generator never meets stale files.
    version = hashlib.sha256((DATA / "make_bad_files.py").read_bytes()).hexdigest()[:12]
    big_dir = big_dir or Path(tempfile.gettempdir()) / f"detector-bad-corpus-{version}"
    paths = [BAD_DIR / name for name in generator.SMALL] + generator.write_big_files(big_dir)
    missing = sorted({p.name for p in paths} ^ set(EXPECTED))
    if missing:
        raise AssertionError(f"corpus files and expectations do not match: {missing}")
    return [(path, EXPECTED[path.name]) for path in paths]
