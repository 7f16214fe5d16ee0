"""Read a user's table (CSV, TSV or Parquet) into a typed DataFrame, saying what was done to it."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import mmap
import os
import re
import stat
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from detector.errors import DataError, are, counted, quote_cell

__all__ = [
    "CHUNK_BYTES", "BadRow", "Dialect", "ReadReport", "Table", "TableChunk", "TableStream", "read_table",
    "read_table_chunks", "read_table_text", "values_as_text",
]

Source = str | os.PathLike | bytes | bytearray | memoryview | BinaryIO
#: A file's contents: bytes, or for a file on disk the file mapped into memory (see
#: :func:`_read_source`). Code reading it uses what both offer: slicing (which gives bytes),
#: ``find``, ``len`` and the buffer protocol (``str(data, codec)``, numpy, pyarrow, ``re``).
_Contents = bytes | mmap.mmap
_T = TypeVar("_T")

#: Delimiters we detect, in the order preferred when the sample cannot tell them apart.
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

#: Cell texts read as missing (after trimming spaces). "?" is included because the UCI benchmark
#: files, common in anomaly detection, use it for missing values.
MISSING_TOKENS = (
    "", "NA", "na", "N/A", "n/a", "NaN", "nan", "NAN", "-NaN", "-nan", "NULL", "null", "Null",
    "None", "none", "#N/A", "#NA", "<NA>", "#N/A N/A", "-1.#IND", "1.#IND", "1.#QNAN",
    "-1.#QNAN", "?",
)  # fmt: skip
_MISSING_SET = pa.array(MISSING_TOKENS, type=pa.string())
_INF_SET = pa.array(
    [sign + word for sign in ("", "+", "-") for word in ("inf", "Inf", "INF", "infinity",
     "Infinity", "INFINITY")],
    type=pa.string(),
)  # fmt: skip
_SPECIAL_SET = pa.concat_arrays([_MISSING_SET, _INF_SET])
_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
#: A text column is read dictionary-encoded when at least this many sampled rows hold at most
#: half as many different values.
_DICTIONARY_MIN_ROWS = 20
_NULL = pa.scalar(None, pa.string())
_INT_RE = r"^[+-]?\d+$"
_NUM_DOT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_NUM_DOT_THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
# A plain number or nothing, with spaces around (``\s`` is what str.strip removes).
_NUMBER_OR_BLANK = re.compile(r"\s*(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)?\s*")
_NUM_COMMA_RE = r"^[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?$"
_NUM_COMMA_THOUSANDS_RE = r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$"

#: A cell "-0" (or "-00"): read as a float it keeps its sign, read as an integer it loses it.
_MINUS_ZERO_RE = re.compile(rb"(?<![\w.+-])-0+(?![\w.])")

#: Whole numbers from here on may not survive as float64 (2**53: the last exactly kept integer).
_FLOAT_EXACT_LIMIT = 2.0**53

_SAMPLE_BYTES = 64 * 1024
_SAMPLE_RECORDS = 500
_SAMPLE_CELLS = 2000
#: Files at least this large are scanned on two threads, in blocks of _SCAN_BLOCK bytes.
_PARALLEL_BYTES = 8 << 20
_SCAN_BLOCK = 1 << 20
_BLOCK_SIZE = 4 << 20
#: Files read from a path at least this large are read by pandas' C reader, which splits a local
#: file across threads (see :func:`_parse_numbers_with_pandas`); below it pyarrow is as fast.
_PANDAS_MIN_BYTES = 8 << 20

#: (magic prefix, what it is, what to do). Checked before anything is decoded as text.
_MAGIC = (
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it and upload the .csv inside"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel (.xls) file",
     "open it in Excel and save the sheet as CSV (File > Save As > CSV)"),
    (b"BZh", "a bzip2-compressed file", "decompress it and upload the .csv inside"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it and upload the .csv inside"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "decompress it and upload the .csv inside"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it and upload the .csv inside"),
    (b"Rar!\x1a\x07", "a RAR archive", "extract it and upload the .csv inside"),
    (b"ARROW1", "an Arrow/Feather file", "save it as Parquet or CSV"),
    (b"%PDF", "a PDF document", "export the table as CSV from the program that made it"),
    (b"SQLite format 3\x00", "an SQLite database", "export the table you need as CSV"),
    (b"\x89PNG", "a PNG image", "upload the data as CSV or Parquet"),
    (b"\xff\xd8\xff", "a JPEG image", "upload the data as CSV or Parquet"),
)  # fmt: skip


@dataclass(frozen=True)
class Dialect:
    """How a file was written: enough to read it again exactly the same way."""

    format: Literal["csv", "parquet"]
    delimiter: str
    encoding: str
    decimal: str = "."
    thousands: str | None = None
    quotechar: str = '"'


@dataclass(frozen=True)
class ReadReport:
    """What :func:`read_table` found and did, for showing to the user."""

    n_rows: int
    n_columns: int
    dialect: Dialect
    engine: str
    notes: tuple[str, ...] = ()


@dataclass
class Table:
    """A typed table plus the report of how it was read."""

    frame: pd.DataFrame
    report: ReadReport
    name: str


@dataclass
class _RawTable:
    """The header and the columns before typing: every cell as text (missing cells are "").

    The typed reads leave the columns they could read as numbers typed instead, and keep the
    file in ``utf8``: :func:`_type_columns` keeps those numbers only where they are what typing
    the text gives, and reads the other columns again as text. pyarrow's
    (:func:`_parse_numbers_with_pyarrow`) are int64 or float64 arrays with blank cells null, or
    null when every cell is blank; pandas' (:func:`_parse_numbers_with_pandas`) are Series, with
    blank cells NaN, and of other dtypes when pandas read a column as something else.
    """

    names: list[str]
    columns: list[pa.ChunkedArray | pd.Series]
    engine: str
    notes: list[str] = field(default_factory=list)
    utf8: _Contents = b""
    quoted: bool | None = None  # whether utf8 holds a quote character, if known

    # Spellings a typed column cannot show, looked for in the file only when a column needs it.
    @functools.cached_property
    def has_plus_sign(self) -> bool:
        return self.utf8.find(b"+") != -1

    @functools.cached_property
    def has_minus_zero(self) -> bool:
        return _MINUS_ZERO_RE.search(self.utf8) is not None


def read_table(source: Source, *, name: str | None = None) -> Table:
    """Read a CSV/TSV or Parquet file into a typed DataFrame.

    The format, encoding, delimiter, decimal mark and thousands separator are detected. Number
    columns become float64 (int64 when every value is a whole number and none is missing);
    everything else stays text, and datetimes are left as text for :mod:`detector.columns` to
    recognise. Surrounding spaces are ignored; cells such as "", "NA", "NaN", "null" and "?" are
    missing; "inf"/"-inf"/"Infinity" are infinite. Anything changed on the way is described in
    ``report.notes``; nothing is dropped silently. Row numbers in notes count data rows from 1;
    line numbers in errors count the lines of the file from 1.

    Parameters
    ----------
    source
        A path, the file's bytes, or a binary file-like object (read from its start).
    name
        Display name; defaults to the file name.

    Raises
    ------
    DataError
        For anything that cannot be read as a table, with a message saying what to do.
    """
    data, default_name = _read_source(source)
    name = name or default_name
    fmt = _sniff_format(data, name)
    if fmt == "parquet":
        frame, notes = _read_parquet(data, name)
        dialect = Dialect(format="parquet", delimiter="", encoding="", decimal=".")
        engine = "pyarrow"
    else:
        text = _TextData.decode(data, name)
        dialect = Dialect(
            format="csv",
            delimiter=text.forced_delimiter or _detect_delimiter(text.sample, text.truncated),
            encoding=text.encoding,
        )
        # pandas reads a local file on every core but needs the file itself: only when its bytes
        # are the UTF-8 text as it is (no byte-order mark, no "sep=" line, not re-encoded).
        path = Path(source) if isinstance(source, str | os.PathLike) and text.utf8 is data else None
        raw = _parse_csv(text, dialect, name, numbers=True, path=path)
        frame, dialect, notes = _type_columns(raw, dialect)
        notes = text.notes + raw.notes + notes
        engine = raw.engine
    report = ReadReport(
        n_rows=len(frame),
        n_columns=frame.shape[1],
        dialect=dialect,
        engine=engine,
        notes=tuple(notes),
    )
    return Table(frame=frame, report=report, name=name)


def read_table_text(source: Source, dialect: Dialect) -> pd.DataFrame:
    """Read the same rows and columns as :func:`read_table`, every cell as its original text.

    Exports use this so that downloads carry the user's values untouched ("007" stays "007",
    "1,5" stays "1,5"). Missing and padded cells are "". For Parquet, which stores typed values
    rather than text, each value is converted with ``str``.
    """
    data, name = _read_source(source)
    if dialect.format == "parquet":
        frame, _ = _read_parquet(data, name)
        return values_as_text(frame)
    text = _TextData.decode(data, name, encoding=dialect.encoding)
    raw = _parse_csv(text, dialect, name)
    return pd.DataFrame({n: c.to_pandas() for n, c in zip(raw.names, raw.columns, strict=True)})


def values_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed values as text cells, for files that store values rather than text (Parquet): each
    value through ``str``, missing values as ""."""
    return pd.DataFrame({col: frame[col].astype(str).where(frame[col].notna(), "") for col in frame.columns})


# --- getting bytes and recognising the format -------------------------------------------------


def _read_source(source: Source) -> tuple[_Contents, str]:
    """Return the file's contents and a display name."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "table"
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        # Missing files, folders, /dev/zero and pipes are refused before anything is read.
        _check_regular_file(path)
        try:
            return _map_file(path), path.name
        except OSError as exc:
            raise DataError(f"{path}: cannot open the file ({exc.strerror or exc}).") from None
    if hasattr(source, "read"):
        name = Path(str(getattr(source, "name", "") or "table")).name
        if getattr(source, "seekable", lambda: False)():
            # Uploaded files are often read twice (typed, then as text for exports).
            source.seek(0)
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return bytes(data), name
    raise TypeError(f"read_table needs a path, bytes or a binary file, not {type(source).__name__}")


def _map_file(path: Path) -> _Contents:
    """The file mapped into memory, or its bytes when it cannot be mapped (empty, a pipe).

    Mapping saves copying the whole file, which at a million rows costs a fifth of a read.
    """
    with path.open("rb") as file:
        try:
            return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return file.read()


def _is_blank(data: _Contents) -> bool:
    """Whether the contents are empty or only whitespace (stops at the first other byte)."""
    return re.fullmatch(rb"\s*", data) is not None


def _sniff_format(data: _Contents, name: str) -> Literal["csv", "parquet"]:
    """Recognise Parquet, refuse known non-table formats by their magic bytes, else CSV."""
    if _is_blank(data):
        raise DataError(f"{name} is empty. Upload a CSV or Parquet file with a header and rows.")
    start = data[:512]
    if start.startswith(b"PAR1"):
        return "parquet"
    if start.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        if data.find(b"xl/") != -1:
            what, todo = "an Excel workbook (.xlsx)", "open it in Excel and save the sheet as CSV"
        elif b"opendocument.spreadsheet" in data[:200]:
            what, todo = "an OpenDocument spreadsheet (.ods)", "save the sheet as CSV"
        else:
            what, todo = "a zip archive", "unzip it and upload the .csv inside"
        raise DataError(f"{name}: this looks like {what}, not a CSV table; {todo}.")
    for magic, what, todo in _MAGIC:
        if start.startswith(magic):
            raise DataError(f"{name}: this looks like {what}, not a CSV table; {todo}.")
    head = start.lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        raise DataError(
            f"{name}: this is a web page (HTML), not a CSV table. If you downloaded it from a "
            "website, download the raw file instead."
        )
    return "csv"


def _decoded_bytes(metadata, schema: pa.Schema) -> int:
    """What a Parquet file's columns take in memory once decoded, from its metadata alone.

    Fixed-width columns take their width per row however well they compress (runs of zeros
    shrink to nothing on disk); other columns at least their stored size before compression.
    """
    total = 0
    for position, column in enumerate(schema):
        width = column.type.bit_width // 8 if pa.types.is_primitive(column.type) else 0
        if width:
            total += width * metadata.num_rows
            continue
        total += 8 * metadata.num_rows  # offsets, or a dictionary index per row
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            if position < row_group.num_columns:
                total += row_group.column(position).total_uncompressed_size
    return total


#: The most a Parquet file may take once decoded (by its own metadata) to be read whole.
MAX_PARQUET_BYTES = 4 << 30
MAX_PARQUET_ROWS = 50_000_000


def _read_parquet(data: _Contents, name: str) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq  # only Parquet uploads pay for it

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        metadata = parquet.metadata
        check_width(metadata.num_columns)
        # The metadata says what decoding would take: a 12 MB file of a billion zeros would
        # otherwise decode to gigabytes and take the server down with it.
        size = _decoded_bytes(metadata, parquet.schema_arrow)
        if size > MAX_PARQUET_BYTES or metadata.num_rows > MAX_PARQUET_ROWS:
            raise DataError(
                f"{name} would take {size / 2**30:,.1f} GB in memory once decoded "
                f"({metadata.num_rows:,} rows), more than this tool reads whole (at most "
                f"{MAX_PARQUET_BYTES / 2**30:,.0f} GB and {MAX_PARQUET_ROWS:,} rows). Score it with "
                "`python -m detector score --engine local`, which reads it in chunks."
            )
        frame = pq.read_table(io.BytesIO(data)).to_pandas()
    except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(
            f"{name} starts like a Parquet file but cannot be read ({exc}). "
            "Save it again, or export it as CSV."
        ) from None
    notes = []
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
        notes.append(f"the saved index became column {str(frame.columns[0])!r}")
    names, name_notes = _column_names([str(c) for c in frame.columns])
    frame.columns = names
    frame = frame.reset_index(drop=True)
    if frame.shape[1] == 0:
        raise DataError(f"{name} has no columns. Upload a file with at least one column.")
    if len(frame) == 0:
        raise DataError(f"{name} has columns but no rows. Upload a file with data rows.")
    return frame, notes + name_notes


# --- text: encoding, delimiter --------------------------------------------------------------


@dataclass
class _TextData:
    """The file as UTF-8 (what the parsers read) plus what we learned decoding it."""

    utf8: _Contents
    encoding: str
    forced_delimiter: str | None
    notes: list[str]
    #: Whether the text holds a double quote, when the encoding scan already found out.
    quoted: bool | None = None

    @property
    def sample(self) -> str:
        return self.utf8[:_SAMPLE_BYTES].decode("utf-8", errors="ignore")

    @property
    def truncated(self) -> bool:
        return len(self.utf8) > _SAMPLE_BYTES

    @classmethod
    def decode(cls, data: _Contents, name: str, encoding: str | None = None) -> _TextData:
        notes = []
        # The scan (or _detect_encoding's decoding) has checked UTF-8; don't pay for that twice.
        checked = encoding is None
        ascii_text, quoted = False, None
        if encoding is None:
            ascii_text, quoted = _scan_bytes(data, len(codecs.BOM_UTF8) if data[:3] == codecs.BOM_UTF8 else 0)
            encoding = _detect_encoding(data, ascii_text)
            if encoding.startswith(("utf-16", "utf-32")):
                quoted = None  # a quote is two or four bytes there
            notes += _encoding_notes(encoding)
        try:
            if encoding in ("utf-8", "utf-8-sig"):
                has_bom = data[:3] == codecs.BOM_UTF8
                utf8 = data[len(codecs.BOM_UTF8) :] if has_bom else data
                if not (checked and (encoding == "utf-8" or ascii_text)):
                    str(utf8, "utf-8")
            else:
                utf8 = str(data, encoding).removeprefix("\ufeff").encode("utf-8")
        except (UnicodeError, LookupError) as exc:
            raise DataError(
                f"{name}: the text is not valid {encoding} ({exc}). Save the file as UTF-8 CSV "
                "and upload it again."
            ) from None
        head = utf8[:_SAMPLE_BYTES].decode("utf-8", errors="ignore")
        _refuse_binary(head, name)
        forced = None
        match = _SEP_LINE.match(head)
        if match:
            forced = match.group(1)
            utf8 = utf8[len(match.group(0).encode("utf-8")) :]
        if _is_blank(utf8):
            raise DataError(f"{name} is empty. Upload a CSV or Parquet file with a header and rows.")
        return cls(utf8=utf8, encoding=encoding, forced_delimiter=forced, notes=notes, quoted=quoted)


def _detect_encoding(data: _Contents, ascii_text: bool) -> str:
    """Name the codec: byte-order mark first, then UTF-8, then the Western-European fallbacks.

    ``ascii_text`` says whether every byte (after a UTF-8 byte-order mark) is below 0x80.
    """
    boms = (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    )
    head = data[:4096]
    for bom, encoding in boms:
        if head.startswith(bom):
            return encoding
    if len(head) >= 4 and b"\x00" in head:
        # UTF-16 without a byte-order mark: ASCII text has a zero in every other byte.
        even_zero = head[0::2].count(0) / len(head[0::2])
        odd_zero = head[1::2].count(0) / len(head[1::2])
        if odd_zero > 0.4 and even_zero < 0.05:
            return "utf-16-le"
        if even_zero > 0.4 and odd_zero < 0.05:
            return "utf-16-be"
    if ascii_text:
        return "utf-8"
    for encoding in ("utf-8", "cp1252"):
        try:
            str(data, encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


def _scan_bytes(data: _Contents, start: int = 0) -> tuple[bool, bool]:
    """(every byte from ``start`` on is below 0x80, the bytes hold a double quote) in one pass.

    numpy scans the (mapped) file in place, block by block so that each block is still in the
    cache for the second look, and a large file in halves side by side on two cores. Decoding
    a large file to check it takes far longer; knowing there are no quotes lets pyarrow parse in
    parallel (see :func:`_read_with_pyarrow`).
    """

    def scan(part: np.ndarray) -> tuple[int, bool]:
        top, quoted = 0, False
        for begin in range(0, len(part), _SCAN_BLOCK):
            block = part[begin : begin + _SCAN_BLOCK]
            top = max(top, int(block.max()))
            quoted = quoted or bool((block == 0x22).any())
        return top, quoted

    results = _in_halves(np.frombuffer(data, np.uint8)[start:], scan)
    return all(top < 0x80 for top, _ in results), any(quoted for _, quoted in results)


def _count_byte(data: _Contents, byte: bytes) -> int:
    """How many times ``byte`` occurs in ``data`` (scanned as :func:`_scan_bytes` does)."""
    value = byte[0]

    def count(part: np.ndarray) -> int:
        return sum(
            int(np.count_nonzero(part[begin : begin + _SCAN_BLOCK] == value))
            for begin in range(0, len(part), _SCAN_BLOCK)
        )

    return sum(_in_halves(np.frombuffer(data, np.uint8), count))


def _in_halves(view: np.ndarray, scan: Callable[[np.ndarray], _T]) -> list[_T]:
    """``scan`` of the whole view, or of its two halves on two threads when it is large."""
    if len(view) < _PARALLEL_BYTES:
        return [scan(view)]
    half = len(view) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(scan, (view[:half], view[half:])))


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


# Excel writes a first line "sep=;" to announce the delimiter.
_SEP_LINE = re.compile(r"sep=([,;\t|])[ \t]*(\r\n|\n|\r|$)")


def _encoding_notes(encoding: str) -> list[str]:
    """The note for a file read in a Western-European fallback encoding (none for UTF-8/16/32)."""
    if encoding not in ("cp1252", "latin-1"):
        return []
    return [
        f"the file is not UTF-8; it was read as {encoding} (Western European) text. "
        "Check that accented letters look right; if not, save the file as UTF-8"
    ]


def _refuse_binary(head: str, name: str) -> None:
    """Raise a DataError when the start of the text holds binary data."""
    if _looks_binary(head):
        raise DataError(
            f"{name} does not look like a text table: it contains binary data (first at "
            f"{_first_control(head)}). Upload a CSV, TSV or Parquet file."
        )


def _header_names(header: list[str]) -> tuple[list[str], list[str]]:
    """The column names a header gives (see :func:`_column_names`), with a note when the header
    looks like a row of data."""
    names, notes = _column_names(header)
    if all(re.fullmatch(_NUM_DOT_RE, h.strip()) for h in header):
        notes.append(
            f"the first row ({_preview(header)}) looks like data, not column names; it was "
            "used as the header. Add a header row if your file has none"
        )
    return names, notes


def _no_data_rows(name: str, header: list[str]) -> DataError:
    return DataError(
        f"{name} has a header ({_preview(header)}) but no data rows. "
        "Upload a file with at least one row below the header."
    )


def _looks_binary(sample: str) -> bool:
    controls = len(_CONTROL_RE.findall(sample))
    return controls > 0.01 * len(sample) or "\x00" in sample[:1024]


def _first_control(sample: str) -> str:
    """Where the first control character is, as "line 3, character 7", for error messages."""
    match = _CONTROL_RE.search(sample)
    position = match.start() if match else 0
    line_start = max(sample.rfind("\n", 0, position), sample.rfind("\r", 0, position)) + 1
    line = len(re.findall(r"\r\n|\r|\n", sample[:line_start])) + 1
    return f"line {line}, character {position - line_start + 1}"


def _sample_records(sample: str, delimiter: str, truncated: bool) -> list[list[str]]:
    """The sample's records (header first) split into fields, respecting quotes; blank lines
    skipped."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"')
    records: list[list[str]] = []
    try:
        for row in reader:
            if row:
                records.append(row)
            if len(records) > _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    if truncated and len(records) > 1 and len(records) <= _SAMPLE_RECORDS:
        records.pop()  # the sample cut the last record short
    return records[:_SAMPLE_RECORDS]


def _field_counts(sample: str, delimiter: str, truncated: bool) -> list[int]:
    """Fields per record in the sample, respecting quotes; blank lines skipped."""
    return [len(record) for record in _sample_records(sample, delimiter, truncated)]


def _detect_delimiter(sample: str, truncated: bool = False) -> str:
    """Pick the delimiter that splits the sample's records into the same number of fields.

    Candidates are ranked by: the header and most records have the same number (at least 2) of
    fields; else the header at least splits (so ragged rows get an error naming the line rather
    than a one-column table); then the share of records with the most common field count. Ties
    go to ``csv.Sniffer``'s guess, then to the order of :data:`DELIMITERS`. When nothing splits
    the header, the table has one column and the delimiter chosen is one that splits no record.
    """
    scores = {}
    for delimiter in DELIMITERS:
        counts = _field_counts(sample, delimiter, truncated)
        if not counts:
            continue
        mode, n_mode = Counter(counts).most_common(1)[0]
        scores[delimiter] = (counts[0] == mode >= 2, counts[0] >= 2, n_mode / len(counts))
    if not scores:
        return ","
    best = max(scores.values())
    tied = [d for d in DELIMITERS if scores.get(d) == best]
    if len(tied) > 1 and best[1]:
        try:
            guess = csv.Sniffer().sniff(sample[:16384], delimiters="".join(DELIMITERS)).delimiter
        except csv.Error:
            guess = None
        if guess in tied:
            return guess
    return tied[0]


# --- parsing cells ----------------------------------------------------------------------------


def _parse_csv(
    text: _TextData, dialect: Dialect, name: str, *, numbers: bool = False, path: Path | None = None
) -> _RawTable:
    """Split the file into header names and text columns: pyarrow first, pandas if it cannot.

    With ``numbers``, plain number columns are first read straight into numbers (see
    :class:`_RawTable`): by pandas from ``path`` (the file ``text`` holds) when that is faster,
    else by pyarrow.
    """
    records = _sample_records(text.sample, dialect.delimiter, text.truncated)
    raw = None
    if numbers and path is not None:
        raw = _parse_numbers_with_pandas(path, text, dialect, records)
    if numbers and raw is None:
        raw = _parse_numbers_with_pyarrow(text.utf8, dialect, records, text.quoted)
    if raw is None:
        n_fields = len(records[0]) if records else 1
        raw = _parse_with_pyarrow(text.utf8, dialect, n_fields, quoted=text.quoted)
        if raw is None:
            raw = _parse_with_pandas(text, dialect, name)
        if not raw.columns or len(raw.columns[0]) == 0:
            raise DataError(f"{name} is empty. Upload a CSV or Parquet file with a header and rows.")
        raw.names = [c[0].as_py() for c in raw.columns]
        raw.columns = [c.slice(1) for c in raw.columns]
    header = raw.names
    if len(raw.columns[0]) == 0:
        raise _no_data_rows(name, header)
    raw.names, notes = _header_names(header)
    raw.notes += notes
    return raw


def _read_with_pyarrow(
    utf8: _Contents,
    dialect: Dialect,
    read: pacsv.ReadOptions,
    convert: pacsv.ConvertOptions,
    quoted: bool | None = None,
) -> pa.Table | None:
    """pyarrow's CSV reader with our dialect; None when it cannot read the file.

    ``quoted`` says whether the text holds a quote character, if known.
    """
    if quoted is None:
        quoted = utf8.find(dialect.quotechar.encode()) != -1
    try:
        return pacsv.read_csv(
            # A BufferReader lends pyarrow the bytes; a BytesIO would copy them block by block.
            pa.BufferReader(utf8),
            read_options=read,
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter,
                quote_char=dialect.quotechar,
                double_quote=True,
                # Quoted newlines cost parallelism, so allow them only when there are quotes.
                newlines_in_values=quoted,
                ignore_empty_lines=True,
                invalid_row_handler=lambda row: "error",
            ),
            convert_options=convert,
        )
    except (pa.ArrowException, OSError, ValueError):
        return None


def _parse_with_pyarrow(
    utf8: _Contents,
    dialect: Dialect,
    n_fields: int,
    positions: list[int] | None = None,
    quoted: bool | None = None,
) -> _RawTable | None:
    """Every cell as text, header row included, of every column or those at ``positions``.

    Returns None when the file needs pandas (ragged rows, odd quoting).
    """
    # The header is read as a data row so that every column is typed as text: we type later.
    names = [f"f{i}" for i in (range(max(n_fields, 1) * 2 + 16) if positions is None else positions)]
    table = _read_with_pyarrow(
        utf8,
        dialect,
        pacsv.ReadOptions(autogenerate_column_names=True, block_size=_BLOCK_SIZE),
        pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            include_columns=None if positions is None else names,
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        ),
        quoted,
    )
    if table is None or any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    return _RawTable(names=[], columns=list(table.columns), engine="pyarrow")


def _parse_numbers_with_pyarrow(
    utf8: _Contents, dialect: Dialect, records: list[list[str]], quoted: bool | None = None
) -> _RawTable | None:
    """The fast path for plain files: pyarrow reads number columns straight into numbers.

    Typing text with regexes and casts costs as much as parsing the file, so columns whose
    sample holds only numbers and blanks are left to pyarrow's typed reader (it reads a column
    as text after all when a later cell is not a number); the other columns are read as text.
    Returns None when pyarrow cannot read the file or it has no data rows: the text read then
    reads it, or explains why not.
    """
    if len(records) < 2:
        return None
    text_types = {name: kind for name, kind in zip(records[0], _sample_types(records), strict=True) if kind}
    table = _read_with_pyarrow(
        utf8,
        dialect,
        pacsv.ReadOptions(block_size=_BLOCK_SIZE),
        pacsv.ConvertOptions(
            column_types=text_types,
            # Only blank cells become null: "NA", "?" and the like need their text for the notes.
            null_values=[""],
            strings_can_be_null=False,
            # "true"/"false" are not numbers; typing them is left to detector.columns.
            true_values=[],
            false_values=[],
        ),
        quoted,
    )
    if table is None or table.num_rows == 0:
        return None
    return _RawTable(
        names=table.column_names, columns=table.columns, engine="pyarrow", utf8=utf8, quoted=quoted
    )


def _parse_numbers_with_pandas(
    path: Path, text: _TextData, dialect: Dialect, records: list[list[str]]
) -> _RawTable | None:
    """The fast path for large plain files on disk: pandas' C reader, typed like the pyarrow one.

    pandas splits a local file across threads and parses it with less work than pyarrow (a
    million rows: 0.55 s against 0.7 s on two cores), but only from a path. It is used where its
    reading is plainly the same as ours: UTF-8 text without quotes, every row as long as the
    header. Its number columns are vouched for by :func:`_read_numbers` as pyarrow's are (it reads
    no "nan" spelling as a number, so a NaN is a blank cell); its text columns become text, and
    other columns are read again as text. Returns None when the file is not such a file.
    """
    if text.quoted is not False or len(text.utf8) < _PANDAS_MIN_BYTES or len(records) < 2:
        return None
    header = records[0]
    if len(header) == 1:
        return None  # pandas skips lines of spaces, which are rows (of a blank) in one column
    names = [f"f{i}" for i in range(len(header))]
    kinds = dict(zip(names, _sample_types(records), strict=True))
    try:
        # A column of numbers and text comes out as text (read again below) with a DtypeWarning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(
                path,
                sep=dialect.delimiter,
                header=0,
                names=names,
                engine="c",
                encoding="utf-8",
                # Only blank cells of number columns are missing: text keeps "" and "NA" for the notes.
                keep_default_na=False,
                na_values={name: [""] for name, kind in kinds.items() if kind is None},
                skip_blank_lines=True,
                on_bad_lines="error",
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, UnicodeError, OverflowError):
        return None
    # A longer row raises; a row longer than the header everywhere would turn into an index.
    if frame.empty or not frame.index.equals(pd.RangeIndex(len(frame))):
        return None
    # pandas pads a short row with blanks; a short row leaves the last column blank, and then the
    # count of delimiters says whether any row is short (none is longer).
    last = frame[names[-1]]
    blank = last.isna().any() or (not pd.api.types.is_numeric_dtype(last) and (last == "").any())
    if blank and _count_byte(text.utf8, dialect.delimiter.encode()) != (len(header) - 1) * (len(frame) + 1):
        return None
    columns: list[pa.ChunkedArray | pd.Series] = []
    for name in names:
        column = frame[name]
        if column.dtype == "str" and isinstance(column.array, pd.arrays.ArrowStringArray):
            cells = pa.array(column.array)
            cells = pa.chunked_array([cells]) if isinstance(cells, pa.Array) else cells
            cells = pc.cast(cells, pa.string())
            cells = pc.fill_null(cells, "") if cells.null_count else cells
            columns.append(pc.dictionary_encode(cells) if kinds[name] == _DICTIONARY else cells)
        else:
            columns.append(column)  # numbers to vouch for, or (say "true"/"false") to read again
    return _RawTable(names=header, columns=columns, engine="pandas-c", utf8=text.utf8, quoted=text.quoted)


def _sample_types(records: list[list[str]]) -> list[pa.DataType | None]:
    """How the typed reads read each column, from the sample (header first): None for a column
    of numbers and blanks, else as text, dictionary-encoded when it has few different values (a
    category), so that trimming and spotting missing values look at each value once, not at
    every cell."""
    header, *rows = records
    kinds: list[pa.DataType | None] = []
    for position in range(len(header)):
        cells = [row[position] for row in rows if position < len(row)]
        if all(_looks_numeric(cell) for cell in cells):
            kinds.append(None)
        else:
            few = len(cells) >= _DICTIONARY_MIN_ROWS and len(set(cells)) * 2 <= len(cells)
            kinds.append(_DICTIONARY if few else pa.string())
    return kinds


def _looks_numeric(cell: str) -> bool:
    """Whether a sample cell is blank or a plain number (what pyarrow may read as a number)."""
    return _NUMBER_OR_BLANK.fullmatch(cell) is not None


def _parse_with_pandas(text: _TextData, dialect: Dialect, name: str) -> _RawTable:
    """Slower path that pads short rows; explains too-long rows and unclosed quotes."""
    options = {
        "sep": dialect.delimiter,
        "quotechar": dialect.quotechar,
        "doublequote": True,
        "header": None,
        "index_col": False,
        "dtype": str,
        "keep_default_na": False,
        "skip_blank_lines": True,
        "encoding": "utf-8",
    }
    frame = None
    error = ""
    for engine in ("c", "python"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frame = pd.read_csv(io.BytesIO(text.utf8), engine=engine, **options)
            break
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{name} has no rows. Upload a CSV or Parquet file with a header and rows."
            ) from None
        except (pd.errors.ParserError, ValueError, csv.Error, UnicodeError, IndexError) as exc:
            error = error or str(exc)
            _raise_for_bad_rows(text, dialect, name, error)
    if frame is None:
        raise DataError(
            f"{name} cannot be read as a {_DELIMITER_NAMES[dialect.delimiter]}-separated table "
            f"({error}). Check that it is a CSV file and that quotes are balanced."
        )
    shape = _scan_rows(str(text.utf8, "utf-8"), dialect, frame.shape[1])
    notes = []
    if shape.n_short:
        notes.append(
            f"{counted(shape.n_short, 'row')} had fewer fields than the header (first at line "
            f"{shape.first_short_line}); the missing cells were left empty"
        )
    columns = [
        pa.chunked_array([pa.array(frame[c].fillna("").astype(object), type=pa.string())])
        for c in frame.columns
    ]
    return _RawTable(names=[], columns=columns, engine=f"pandas-{engine}", notes=notes)


@dataclass
class _RowShape:
    n_short: int = 0
    first_short_line: int | None = None
    long_line: int | None = None
    long_fields: int = 0


def _scan_rows(text: str, dialect: Dialect, n_fields: int) -> _RowShape:
    """Count short rows and find the first long one, with line numbers (it stops there)."""
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=dialect.delimiter, quotechar=dialect.quotechar
    )
    shape = _RowShape()
    next_line = 1
    seen_header = False
    try:
        for row in reader:
            line, next_line = next_line, reader.line_num + 1
            if not row or (len(row) == 1 and row[0].isspace()):
                continue  # blank lines are skipped, like pandas does
            if not seen_header:
                seen_header = True
            elif len(row) > n_fields:
                shape.long_line, shape.long_fields = line, len(row)
                break
            elif len(row) < n_fields:
                shape.n_short += 1
                shape.first_short_line = shape.first_short_line or line
    except csv.Error:
        pass
    return shape


def _raise_for_bad_rows(text: _TextData, dialect: Dialect, name: str, error: str) -> None:
    """Turn a parser's complaint into a DataError naming the line, when we can locate it."""
    quote = re.search(r"EOF inside string starting at row (\d+)", error)
    if quote:
        raise DataError(
            f"{name}: a quoted value starting near line {int(quote.group(1)) + 1} is never "
            'closed (a " without its closing "). Fix or remove that quote and upload again.'
        )
    if "fields" not in error and "Expected" not in error:
        return
    n_fields = (_field_counts(text.sample, dialect.delimiter, truncated=False) or [1])[0]
    shape = _scan_rows(str(text.utf8, "utf-8"), dialect, n_fields)
    if shape.long_line is not None:
        delimiter = _DELIMITER_NAMES[dialect.delimiter]
        raise DataError(
            f"{name}: line {shape.long_line} has {shape.long_fields} fields but the header has "
            f"{n_fields}. A value there probably contains an unquoted {delimiter}; put such "
            "values in double quotes (or remove the extra delimiter) and upload again."
        )


def _column_names(header: list[str]) -> tuple[list[str], list[str]]:
    """Name blank headers ``column_<n>`` and suffix duplicates (``a``, ``a_2``), with notes.

    Linear in the number of columns (a set of names taken and the next suffix per name), and
    refuses more than :data:`MAX_COLUMNS` columns.
    """
    check_width(len(header))
    stripped = [h.strip() for h in header]
    names: list[str] = []
    used: set[str] = set()
    taken = {h for h in stripped if h}
    next_suffix: dict[str, int] = {}
    blanks, renamed = [], []
    for position, original in enumerate(stripped, start=1):
        candidate = original or f"column_{position}"
        if not original:
            blanks.append(position)
        if candidate in used or (not original and candidate in taken):
            base, k = candidate, next_suffix.get(candidate, 2)
            while f"{base}_{k}" in taken or f"{base}_{k}" in used:
                k += 1
            next_suffix[base] = k + 1
            candidate = f"{base}_{k}"
            if original:
                renamed.append(f"{original!r} -> {candidate!r}")
        names.append(candidate)
        used.add(candidate)
        taken.add(candidate)
    notes = []
    if blanks:
        shown = ", ".join(names[p - 1] for p in blanks[:5]) + (", ..." if len(blanks) > 5 else "")
        notes.append(
            f"{counted(len(blanks), 'column')} had no name and {'was' if len(blanks) == 1 else 'were'} "
            f"named {shown}"
        )
    if renamed:
        shown = ", ".join(renamed[:5]) + (", ..." if len(renamed) > 5 else "")
        notes.append(f"duplicate column names were renamed: {shown}")
    return names, notes


#: The most columns a table may have: far beyond any table a model here learns from (its encoded
#: inputs are capped at 20,000), and a bound on the work a header alone can ask for.
MAX_COLUMNS = 20_000


def check_width(n_columns: int) -> None:
    """Refuse a table of more than :data:`MAX_COLUMNS` columns, before reading its rows."""
    if n_columns > MAX_COLUMNS:
        raise DataError(
            f"The table has {n_columns:,} columns, more than the {MAX_COLUMNS:,} this tool reads. "
            "Keep the columns a model should learn from (and any label or timestamp) and upload again."
        )


def _preview(values: list[str], k: int = 3) -> str:
    shown = ", ".join(quote_cell(v) for v in values[:k])
    return shown + (", ..." if len(values) > k else "")


# --- typing columns ---------------------------------------------------------------------------


@dataclass
class _Cells:
    """One text column, trimmed, with the masks every numeric reading needs.

    Checks run first on an evenly spaced sample: a sample with one non-number proves a column
    is text without scanning a million cells with a regex.
    """

    original: pa.ChunkedArray
    trimmed: pa.ChunkedArray
    missing: pa.ChunkedArray
    infinite: pa.ChunkedArray
    n_valid: int
    sample: pa.Array
    sample_ok: pa.Array  # missing or infinite, in the sample

    @classmethod
    def of(cls, column: pa.ChunkedArray) -> _Cells:
        trimmed = pc.utf8_trim_whitespace(column)
        # One look-up finds both kinds of spelling; most columns have none, so no second one.
        missing = infinite = pc.is_in(trimmed, value_set=_SPECIAL_SET)
        if pc.any(missing).as_py():
            special = missing
            missing = pc.is_in(trimmed, value_set=_MISSING_SET)
            infinite = pc.and_not(special, missing)
        return cls._with_sample(column, trimmed, missing, infinite)

    @classmethod
    def of_dictionary(cls, column: pa.ChunkedArray, original: pa.ChunkedArray) -> _Cells:
        """The same for a dictionary-encoded column (``original``: its cells decoded), looking at
        each different value once rather than at every cell."""
        column = column.unify_dictionaries()  # one dictionary shared by every chunk
        values = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
        codes = pa.chunked_array([chunk.indices for chunk in column.chunks], pa.int32())
        trimmed_values = pc.utf8_trim_whitespace(values)
        trimmed = original if trimmed_values.equals(values) else pc.take(trimmed_values, codes)
        masks = []
        for value_set in (_MISSING_SET, _INF_SET):
            mask = pc.is_in(trimmed_values, value_set=value_set)
            # Most category columns hold neither kind of spelling: then no look-up per cell.
            masks.append(pc.take(mask, codes) if pc.any(mask).as_py() else _all_false(len(codes)))
        return cls._with_sample(original, trimmed, *masks)

    @classmethod
    def _with_sample(
        cls,
        column: pa.ChunkedArray,
        trimmed: pa.ChunkedArray,
        missing: pa.ChunkedArray,
        infinite: pa.ChunkedArray,
    ) -> _Cells:
        n_valid = len(column) - (pc.sum(missing).as_py() or 0)
        positions = _sample_positions(len(column)) if len(column) else pa.array([], pa.int64())
        sample = trimmed.take(positions).combine_chunks()
        sample_ok = pc.or_(missing.take(positions), infinite.take(positions)).combine_chunks()
        return cls(column, trimmed, missing, infinite, n_valid, sample, sample_ok)

    def all_numeric(self, *patterns: str) -> bool:
        """Whether every valid cell matches one of the patterns (or is infinite)."""
        if not pc.all(_matches(self.sample, patterns, self.sample_ok)).as_py():
            return False
        return bool(pc.all(self.numeric(*patterns)).as_py())

    def numeric(self, *patterns: str) -> pa.ChunkedArray:
        """True where the cell is a number in one of the patterns, infinite or missing."""
        return _matches(self.trimmed, patterns, pc.or_(self.missing, self.infinite))

    def sample_share(self, *patterns: str) -> float:
        """Share of sampled cells that are numbers in one of the patterns."""
        if len(self.sample) == 0:
            return 0.0
        ok = _matches(self.sample, patterns, pa.array([False] * len(self.sample)))
        return float(pc.mean(ok).as_py())

    def has(self, text: str) -> bool:
        return bool(pc.any(pc.match_substring(self.trimmed, text)).as_py())


def _all_false(n: int) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(np.zeros(n, dtype=bool))])


def _matches(cells: pa.Array | pa.ChunkedArray, patterns: tuple[str, ...], ok):
    """``ok`` or-ed with "the cell matches one of the regex patterns"."""
    for pattern in patterns:
        ok = pc.or_(ok, pc.match_substring_regex(cells, pattern))
    return ok


def _fast_numbers(column: pa.ChunkedArray) -> pd.Series | None:
    """Plain number columns (the common case) in one cast; None when any cell needs a look.

    A sample decides whether a cast is worth trying, because a failing cast scans everything.
    """
    if len(column) == 0:
        return None
    sample = column.take(_sample_positions(len(column)))
    # "+5" is left to the float cast: the int cast refuses a plus sign, and failing is slow.
    if pc.all(pc.match_substring_regex(sample, r"^-?\d+$")).as_py():
        try:
            return pc.cast(column, pa.int64()).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    plain = pc.or_(pc.match_substring_regex(sample, _NUM_DOT_RE), pc.equal(sample, ""))
    if pc.all(plain).as_py():
        try:
            blank = pc.equal(column, "")
            # Rewriting the column copies every string: only worth it when a cell is blank.
            if pc.any(blank).as_py():
                column = pc.if_else(blank, _NULL, column)
            return pc.cast(column, pa.float64()).to_pandas()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return None


@functools.lru_cache(maxsize=8)
def _sample_positions(n: int) -> pa.Array:
    return pa.array(np.unique(np.linspace(0, n - 1, min(n, _SAMPLE_CELLS)).astype(np.int64)))


def _type_columns(
    raw: _RawTable, dialect: Dialect, *, decimal: str | None = None, first_row: int = 0,
) -> tuple[pd.DataFrame, Dialect, list[str]]:
    """Turn text columns into numbers where every value is one; describe what was done.

    Columns the typed read already holds as numbers are kept where :func:`_read_numbers` can
    vouch for them, and otherwise read again as text and typed like the rest. ``decimal`` fixes
    the decimal mark instead of detecting it (a streamed file keeps its first chunk's);
    ``first_row`` is the number of rows before these in the file, for the notes' row numbers.
    """
    texts = {
        name: column
        for name, column in zip(raw.names, raw.columns, strict=True)
        if isinstance(column, pa.ChunkedArray)
        and (pa.types.is_string(column.type) or pa.types.is_dictionary(column.type))
    }
    numbers = {name: column for name, column in zip(raw.names, raw.columns, strict=True) if name not in texts}
    # Arrow's kernels and numpy release the GIL, so columns convert side by side on every core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = {name: pool.submit(_type_text, column) for name, column in texts.items()}
        # Lazily, so that comma-separated files (always a decimal point) need not wait for the
        # text columns. Columns the typed read left as numbers hold no comma: they cannot count.
        decimal = decimal or _decimal_mark(
            (c for job in jobs.values() if isinstance(c := job.result(), _Cells)), dialect.delimiter
        )
        jobs |= {name: pool.submit(_read_numbers, column, decimal, raw) for name, column in numbers.items()}
        typed = {name: job.result() for name, job in jobs.items()}
        again = [name for name in numbers if typed[name] is None]
        if again:
            texts.update(zip(again, _read_again_as_text(raw, dialect, again), strict=True))
            typed.update(zip(again, pool.map(_type_text, (texts[n] for n in again)), strict=True))
    series = {name: typed[name] for name in raw.names if isinstance(typed[name], pd.Series)}
    cells = {name: typed[name] for name in raw.names if isinstance(typed[name], _Cells)}
    # Dictionary-encoded columns as text, for the notes (decoded once already where typed as cells).
    texts.update((name, c.original) for name, c in cells.items())
    encoded = [name for name, column in texts.items() if pa.types.is_dictionary(column.type)]
    texts.update((name, pc.cast(texts[name], pa.string())) for name in encoded)
    readings = (
        [("comma", (_NUM_COMMA_RE, _NUM_COMMA_THOUSANDS_RE)), ("plain", (_NUM_DOT_RE,))]
        if decimal == ","
        else [("plain", (_NUM_DOT_RE,)), ("thousands", (_NUM_DOT_RE, _NUM_DOT_THOUSANDS_RE))]
    )
    notes: list[str] = []
    thousands: str | None = None
    stripped_columns = []
    for name, c in cells.items():
        if c.n_valid == 0:
            series[name] = pd.Series(np.full(len(c.trimmed), np.nan))
            continue
        for reading, patterns in readings:
            if c.all_numeric(*patterns):
                series[name], note, sep = _to_numbers(c, reading, name)
                notes += [note] if note else []
                thousands = thousands or sep
                break
        else:
            mixed = _mixed_note(c, readings[0][1], name, first_row)
            notes += [mixed] if mixed else []
            if (
                c.trimmed is not c.original
                and not pc.all(pc.or_(c.missing, pc.equal(c.trimmed, c.original))).as_py()
            ):
                stripped_columns.append(name)
            text = c.trimmed if c.n_valid == len(c.trimmed) else pc.if_else(c.missing, _NULL, c.trimmed)
            series[name] = text.to_pandas()
    if stripped_columns:
        which = "column" if len(stripped_columns) == 1 else "columns"
        notes.append(f"spaces around values were ignored in {which} {_preview(stripped_columns, 5)}")
    for name in (name for name in raw.names if name in texts):
        special = _special_values_note(name, series[name], texts[name], first_row)
        notes += [special] if special else []
    # Concatenating keeps each column's own array; a DataFrame built from a dict would copy every
    # number column into one 2-D block, which costs a second and twice the memory at 1M rows.
    frame = pd.concat({name: series[name] for name in raw.names}, axis=1)
    dialect = Dialect(
        format="csv",
        delimiter=dialect.delimiter,
        encoding=dialect.encoding,
        decimal=decimal,
        thousands=thousands,
        quotechar=dialect.quotechar,
    )
    return frame, dialect, notes


def _type_text(column: pa.ChunkedArray) -> pd.Series | _Cells:
    """The column's numbers when it is a plain number column, else its cells to look at."""
    text = pc.cast(column, pa.string()) if pa.types.is_dictionary(column.type) else column
    fast = _fast_numbers(text)
    if fast is not None:
        return fast
    return _Cells.of_dictionary(column, text) if text is not column else _Cells.of(column)


def _read_numbers(column: pa.ChunkedArray | pd.Series, decimal: str, raw: _RawTable) -> pd.Series | None:
    """A column of the typed read as numbers, or None when its text must be typed instead.

    pyarrow and pandas parse numbers as the casts of :func:`_fast_numbers` do (and trim spaces),
    so their numbers are what typing the text gives, except for: "nan"/"inf" spellings and
    numbers too large or too long for a float (their notes quote the text, and the readers take
    spellings we do not); dotted numbers in a decimal-comma file ("1.234" may be grouped there);
    whole numbers in a file with a "+" (the text typing reads "+5" as a float but " +5", with a
    space, as an integer; pyarrow reads both as floats, pandas both as integers); and "-0" in a
    column that blanks make float (typed as text it is -0.0; the readers read it as the integer
    0 first). Other types (a column that turned out to hold dates, say) need the text too.
    """
    if isinstance(column, pd.Series):  # pandas' read: a NaN is a blank cell
        if column.dtype == np.int64:
            return None if raw.has_plus_sign else column
        if column.dtype != np.float64 or decimal != ".":
            return None
        values, n_blank = column, None
    else:
        kind = column.type
        if pa.types.is_null(kind):
            return pd.Series(np.full(len(column), np.nan))  # every cell is blank
        if pa.types.is_int64(kind) and column.null_count == 0:
            return column.to_pandas()
        if not (pa.types.is_int64(kind) or (pa.types.is_float64(kind) and decimal == ".")):
            return None
        values, n_blank = column.to_pandas(), column.null_count  # int64 with blanks: float64
    numbers = values.to_numpy()
    blanks = bool(n_blank)
    if blanks:  # pyarrow's blanks are nulls, NaN here: any other NaN is a "nan" spelling
        if np.count_nonzero(np.isnan(numbers)) != n_blank:
            return None
        low, high = np.fmin.reduce(numbers), np.fmax.reduce(numbers)  # skipping the blanks
    else:
        low, high = numbers.min(), numbers.max()  # a NaN carries through
        if n_blank is None and np.isnan(low):  # pandas' blanks
            low, high, blanks = np.fmin.reduce(numbers), np.fmax.reduce(numbers), True
    if not -_FLOAT_EXACT_LIMIT < low <= high < _FLOAT_EXACT_LIMIT:
        return None  # infinite, too large, or too long to keep every digit (or all blank)
    # "-0" loses its sign where whole numbers with blanks were read as integers and then made
    # float: pyarrow's int64 columns with blanks, pandas' float columns with blanks.
    integers = isinstance(column, pa.ChunkedArray) and pa.types.is_int64(column.type)
    from_pandas_with_blanks = blanks and isinstance(column, pd.Series)
    if (integers or from_pandas_with_blanks) and not np.all(numbers != 0) and raw.has_minus_zero:
        return None
    if integers:
        return values
    # A blank (NaN) is not whole, so a column with blanks passes.
    if _all_whole(numbers) and raw.has_plus_sign:
        return None
    return values


def _all_whole(numbers: np.ndarray) -> bool:
    """Whether every number is whole; a sample settles most columns of fractions cheaply."""
    sample = numbers[_sample_positions(len(numbers)).to_numpy()]
    return np.array_equal(sample, np.trunc(sample)) and np.array_equal(numbers, np.trunc(numbers))


def _read_again_as_text(raw: _RawTable, dialect: Dialect, names: list[str]) -> list[pa.ChunkedArray]:
    """Columns of the typed read, read again with every cell as text."""
    positions = [raw.names.index(name) for name in names]
    again = _parse_with_pyarrow(raw.utf8, dialect, len(raw.names), positions, raw.quoted)
    if again is None or len(again.columns[0]) != len(raw.columns[0]) + 1:
        raise RuntimeError("pyarrow read the file as text differently from typed")
    return [column.slice(1) for column in again.columns]


def _decimal_mark(cells: Iterable[_Cells], delimiter: str) -> str:
    """Return "," when some column reads entirely as numbers with a decimal comma, else ".".

    Only for files not separated by commas. In tab/pipe files "1,234" is more likely a thousands
    separator, so there the column must also hold a value grouping cannot explain ("1,5").
    """
    if delimiter == ",":
        return "."
    for c in cells:
        if (
            c.n_valid
            and c.all_numeric(_NUM_COMMA_RE, _NUM_COMMA_THOUSANDS_RE)
            and c.has(",")
            and not c.all_numeric(_NUM_DOT_RE)
            and (delimiter == ";" or not c.all_numeric(_NUM_DOT_RE, _NUM_DOT_THOUSANDS_RE))
        ):
            return ","
    return "."


def _to_numbers(c: _Cells, reading: str, name: str) -> tuple[pd.Series, str | None, str | None]:
    """Convert a column known to hold only numbers; returns (series, note, thousands sep)."""
    text = c.trimmed
    note, thousands = None, None
    if reading == "thousands" and c.has(","):
        text = pc.replace_substring(text, ",", "")
        thousands = ","
        note = f"column {name!r}: read values like '1,234' as numbers (',' as thousands separator)"
    elif reading == "comma":
        has_dot = c.has(".")
        if has_dot:
            text = pc.replace_substring(text, ".", "")
            thousands = "."
        if c.has(","):
            text = pc.replace_substring(text, ",", ".")
            note = f"column {name!r}: read values like '1,5' as numbers (decimal comma"
            note += ", '.' as thousands separator)" if has_dot else ")"
        elif has_dot:
            note = f"column {name!r}: read values like '1.234' as numbers ('.' as thousands)"
    sign = pc.if_else(pc.starts_with(text, "-"), "-inf", "inf")
    text = pc.if_else(c.infinite, sign, text)
    text = pc.if_else(c.missing, _NULL, text)
    if c.n_valid == len(text) and pc.all(pc.match_substring_regex(text, _INT_RE)).as_py():
        try:
            ints = pc.cast(pc.replace_substring_regex(text, r"^\+", ""), pa.int64())
            return ints.to_pandas(), note, thousands
        except pa.ArrowInvalid:
            pass  # beyond int64: keep as float
    return pc.cast(text, pa.float64()).to_pandas(), note, thousands


def _special_values_note(
    name: str, values: pd.Series, text: pa.ChunkedArray, first_row: int = 0,
) -> str | None:
    """Describe the cells of a number column that did not become the number written.

    Those are cells read as missing (other than blank ones), infinite, too large for a float, or
    whole numbers too long for float64 to keep every digit. Only rows whose value is NaN,
    infinite or huge are looked at, so a clean column costs one pass.
    """
    if values.dtype != np.float64:
        return None
    numbers = values.to_numpy()
    # The usual clean column: three quick passes, instead of locating each kind of cell.
    clean = len(numbers) and np.isfinite(numbers).all()
    if clean and max(numbers.max(), -numbers.min()) < _FLOAT_EXACT_LIMIT:
        return None
    parts = []
    absent = np.flatnonzero(np.isnan(numbers))
    if absent.size:
        cells = pc.utf8_trim_whitespace(text.take(pa.array(absent))).combine_chunks()
        written = pc.not_equal(cells, "").to_numpy(zero_copy_only=False)
        if written.any():
            spellings = pc.unique(cells.filter(pa.array(written))).to_pylist()
            parts.append(
                f"{counted(int(written.sum()), 'value')} such as {_preview(spellings)} "
                f"{'was' if written.sum() == 1 else 'were'} read as missing "
                f"(first at row {first_row + absent[written.argmax()] + 1:,})"
            )
    infinite = np.flatnonzero(np.isinf(numbers))
    if infinite.size:
        cells = pc.utf8_trim_whitespace(text.take(pa.array(infinite))).combine_chunks()
        too_big = pc.invert(pc.is_in(cells, value_set=_INF_SET)).to_numpy(zero_copy_only=False)
        n_spelled = int(infinite.size - too_big.sum())
        if n_spelled:
            first = infinite[int((~too_big).argmax())]
            parts.append(
                f"{counted(n_spelled, 'value')} {are(n_spelled)} infinite "
                f"(first at row {first_row + first + 1:,})"
            )
        if too_big.any():
            first = int(too_big.argmax())
            parts.append(
                f"{counted(int(too_big.sum()), 'value')} {are(int(too_big.sum()))} too large for a number "
                f"and {'was' if too_big.sum() == 1 else 'were'} read as "
                f"infinite (first at row {first_row + infinite[first] + 1:,}: "
                f"{quote_cell(cells[first].as_py())})"
            )
    with np.errstate(invalid="ignore"):
        huge = np.flatnonzero(np.isfinite(numbers) & (np.abs(numbers) >= _FLOAT_EXACT_LIMIT))
    if huge.size:
        cells = pc.utf8_trim_whitespace(text.take(pa.array(huge))).combine_chunks()
        whole = pc.match_substring_regex(cells, _INT_RE).to_numpy(zero_copy_only=False)
        if whole.any():
            first = int(whole.argmax())
            parts.append(
                f"{counted(int(whole.sum()), 'whole number')} {are(int(whole.sum()))} too long to keep every "
                "digit and may be "
                f"rounded for the model (first at row {first_row + huge[first] + 1:,}: "
                f"{quote_cell(cells[first].as_py())}); "
                "downloads keep them as written"
            )
    if not parts:
        return None
    if infinite.size:
        parts.append("the model fills in infinite values like missing ones")
    return f"column {name!r}: " + "; ".join(parts)


def _mixed_note(c: _Cells, patterns: tuple[str, ...], name: str, first_row: int = 0) -> str | None:
    """Explain a mostly-numeric column kept as text because of a few non-numbers."""
    if c.sample_share(*patterns) < 0.3:
        return None  # mostly text: nothing surprising about keeping it as text
    bad = pc.invert(c.numeric(*patterns)).combine_chunks().to_numpy(zero_copy_only=False)
    n_bad = int(bad.sum())
    if n_bad * 2 > c.n_valid:
        return None
    first = int(bad.argmax())
    value = c.trimmed.combine_chunks()[first].as_py()
    return (
        f"column {name!r}: {n_bad} of {c.n_valid} values are not numbers (first at row "
        f"{first_row + first + 1:,}: {quote_cell(value)}); kept as text"
    )


# --- reading a file a chunk at a time -------------------------------------------------------

#: Bytes of text parsed per chunk by :func:`read_table_chunks` (about 30,000 rows of 34 numbers).
#: A chunk in flight costs about 30 times its text (typed columns, the text as Python strings,
#: scores, the rendered output): 8 MB keeps scoring a file within 1.5 GB with TensorFlow loaded
#: (``benchmarks/scale_out.py``), and larger chunks were no faster.
CHUNK_BYTES = 8 << 20
# Bytes read from a streamed file's start to recognise its encoding, delimiter and header.
_HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class TableChunk:
    """Consecutive rows of a streamed file: typed like :func:`read_table`, and as their original text.

    ``first_row`` is how many data rows of the file come before these (so the file's 1-based
    row number of ``frame``'s row ``i`` is ``first_row + i + 1``); ``notes`` are what reading
    these rows changed, with the file's row numbers.
    """

    first_row: int
    frame: pd.DataFrame
    text: pd.DataFrame
    notes: tuple[str, ...] = ()
    #: The rows' 1-based numbers in the file, when some rows between them were skipped
    #: (otherwise they are ``first_row + 1`` onwards).
    rows: np.ndarray | None = field(default=None, repr=False)
    #: For a Parquet file, the rows' values as stored (with their types), columns renamed.
    arrow: pa.Table | None = field(default=None, repr=False)

    @property
    def row_numbers(self) -> np.ndarray:
        """Each row's 1-based number in the file."""
        if self.rows is not None:
            return np.asarray(self.rows)
        return np.arange(self.first_row + 1, self.first_row + len(self.frame) + 1)


@dataclass(frozen=True)
class BadRow:
    """A row skipped by ``read_table_chunks(..., on_bad_rows="skip")``: its 1-based row number and text."""

    row: int | None
    fields: int
    expected: int
    text: str


class TableStream:
    """A CSV/TSV or Parquet file read a chunk of rows at a time, in file order, in bounded memory.

    Chunks are typed by the same code as :func:`read_table` and carry the same original text as
    :func:`read_table_text`, so scoring them one by one gives what scoring the whole table
    gives. Two things are fixed from the file's start rather than from the whole file: the
    delimiter and encoding (from the first megabyte) and the decimal mark (from the first
    chunk). A row with more or fewer fields than the header ends the read with a
    :class:`~detector.errors.DataError` naming its row and line, or, with
    ``on_bad_rows="skip"``, is left out and listed in :attr:`skipped`.

    Attributes
    ----------
    name : str
    dialect : Dialect
    columns : list of str
        The column names, as :func:`read_table` names them.
    notes : list of str
        What reading the file's start found (encoding, header); each chunk has its own notes.
    skipped : list of BadRow
    """

    def __init__(
        self, path: str | os.PathLike, *, chunk_bytes: int = CHUNK_BYTES, on_bad_rows: str = "error",
        name: str | None = None,
    ) -> None:
        if on_bad_rows not in ("error", "skip"):
            raise ValueError(f"on_bad_rows={on_bad_rows!r} must be 'error' or 'skip'.")
        self.path = Path(path)
        self.name = name or self.path.name
        self.chunk_bytes = int(chunk_bytes)
        self.on_bad_rows = on_bad_rows
        self.skipped: list[BadRow] = []
        self.notes: list[str] = []
        #: The share of the file read so far (for progress and time-left estimates).
        self.fraction_read = 0.0
        _check_regular_file(self.path)
        self.size = self.path.stat().st_size
        with self.path.open("rb") as file:
            head = file.read(_HEAD_BYTES)
        self.format = _sniff_format(head, self.name)
        if self.format == "parquet":
            self._open_parquet()
        else:
            self._open_csv(head)

    # ------------------------------------------------------------------ Parquet

    def _open_parquet(self) -> None:
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
            schema = self._parquet.schema_arrow
        except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
            raise DataError(
                f"{self.name} starts like a Parquet file but cannot be read ({exc}). "
                "Save it again, or export it as CSV."
            ) from None
        self.dialect = Dialect(format="parquet", delimiter="", encoding="", decimal=".")
        probe = schema.empty_table().to_pandas()
        if not isinstance(probe.index, pd.RangeIndex):
            probe = probe.reset_index()
            self.notes.append(f"the saved index became column {str(probe.columns[0])!r}")
        self.columns, name_notes = _column_names([str(c) for c in probe.columns])
        self.notes += name_notes
        if not self.columns:
            raise DataError(f"{self.name} has no columns. Upload a file with at least one column.")
        if self._parquet.metadata.num_rows == 0:
            raise DataError(f"{self.name} has columns but no rows. Upload a file with data rows.")

    def _parquet_chunks(self) -> Iterator[TableChunk]:
        # Rows per batch so that a batch holds about chunk_bytes of values.
        metadata = self._parquet.metadata
        row_bytes = max(1, metadata.serialized_size // max(metadata.num_rows, 1))
        if metadata.num_row_groups:
            group = metadata.row_group(0)
            row_bytes = max(row_bytes, group.total_byte_size // max(group.num_rows, 1))
        batch_rows = max(1_000, self.chunk_bytes // row_bytes)
        first = 0
        try:
            for batch in self._parquet.iter_batches(batch_size=batch_rows):
                chunk = self._parquet_chunk(pa.Table.from_batches([batch]), first)
                first += len(chunk.frame)
                self.fraction_read = first / max(metadata.num_rows, 1)
                yield chunk
        except (pa.ArrowException, OSError, ValueError, TypeError) as exc:
            raise DataError(
                f"{self.name}: the Parquet file cannot be read past row {first:,} ({exc})."
            ) from None

    def _parquet_chunk(self, table: pa.Table, first_row: int) -> TableChunk:
        """Rows of the Parquet file (``table``, after ``first_row`` rows) as a chunk: typed, as text,
        and as stored."""
        frame = table.to_pandas()
        if not isinstance(frame.index, pd.RangeIndex):
            frame = frame.reset_index()
            table = pa.Table.from_pandas(frame, preserve_index=False)
        frame.columns = self.columns
        frame.index = pd.RangeIndex(len(frame))
        return TableChunk(
            first_row=first_row, frame=frame, text=values_as_text(frame),
            arrow=table.rename_columns(self.columns).replace_schema_metadata(None),
        )

    # ------------------------------------------------------------------ CSV

    def _open_csv(self, head: bytes) -> None:
        ascii_text, _ = _scan_bytes(head, len(codecs.BOM_UTF8) if head[:3] == codecs.BOM_UTF8 else 0)
        encoding = _detect_encoding(head, ascii_text)
        if encoding in ("utf-8", "utf-8-sig") and not ascii_text:
            try:
                codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            except UnicodeDecodeError:
                encoding = "cp1252"
        self.notes += _encoding_notes(encoding)
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        sample = decoder.decode(head, final=len(head) < _HEAD_BYTES).removeprefix("\ufeff")
        _refuse_binary(sample[:_SAMPLE_BYTES], self.name)
        self._skip_lines = 0
        match = _SEP_LINE.match(sample)
        forced = None
        if match:
            forced, sample = match.group(1), sample[len(match.group(0)) :]
            self._skip_lines = 1
        truncated = len(head) >= _HEAD_BYTES
        delimiter = forced or _detect_delimiter(
            sample[:_SAMPLE_BYTES], truncated or len(sample) > _SAMPLE_BYTES
        )
        records = _sample_records(sample, delimiter, truncated)
        if not records:
            raise DataError(f"{self.name} is empty. Upload a CSV or Parquet file with a header and rows.")
        self._header = records[0]
        self._header_line = _header_line(sample, delimiter)
        self._decimal: str | None = None
        self.columns, name_notes = _header_names(self._header)
        self.notes += name_notes
        self.dialect = Dialect(format="csv", delimiter=delimiter, encoding=encoding)
        self._quoted = '"' in sample or not ascii_text or truncated

    def _csv_chunks(self) -> Iterator[TableChunk]:
        source = pa.OSFile(str(self.path))
        encoding = self.dialect.encoding.replace("utf-8-sig", "utf8")
        batches = self._csv_batches(source, encoding=encoding, skip_rows=self._skip_lines, first_row=0)
        try:
            for chunk in batches:
                self.fraction_read = min(source.tell() / max(self.size, 1), 1.0)
                yield chunk
        finally:
            source.close()
        self.fraction_read = 1.0

    def _csv_batches(
        self, source: pa.NativeFile, *, encoding: str, skip_rows: int, first_row: int,
    ) -> Iterator[TableChunk]:
        """Parse ``source`` (header line first, in ``encoding``) into chunks whose rows come after
        ``first_row``."""
        n_fields = len(self._header)
        bad: list[BadRow] = []

        def on_bad_row(row: pacsv.InvalidRow) -> str:
            bad.append(BadRow(
                row=None if row.number is None else first_row + row.number - 1 - skip_rows,
                fields=row.actual_columns, expected=row.expected_columns, text=row.text,
            ))
            return "skip"

        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                # Serial parsing is what lets pyarrow number the rows it cannot read.
                use_threads=False,
                block_size=self.chunk_bytes,
                skip_rows=skip_rows,
                encoding=encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.dialect.delimiter,
                quote_char=self.dialect.quotechar,
                double_quote=True,
                newlines_in_values=self._quoted,
                ignore_empty_lines=True,
                invalid_row_handler=on_bad_row,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in dict.fromkeys(self._header)},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
        first = first_row  # rows parsed so far, counting the rows before this part
        skipped: list[int] = []  # the numbers of the rows left out so far, in this part
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise DataError(
                    f"{self.name}: the file cannot be read after row {first + len(skipped):,} "
                    f"({_one_line(exc)})."
                ) from None
            finally:
                # pyarrow may report a bad row while reading ahead, before the batch that
                # would have held it: numbers are worked out from every row left out so far.
                skipped += [row.row for row in bad if row.row is not None]
                self._raise_or_keep(bad)
            if batch.num_rows == 0:
                continue
            columns = [pa.chunked_array([batch.column(i)]) for i in range(n_fields)]
            raw = _RawTable(names=list(self.columns), columns=columns, engine="pyarrow")
            rows = None
            start = first
            if skipped:  # the rows' places in the file, around the ones left out
                rows = np.arange(first + 1, first + batch.num_rows + 1)
                for number in sorted(skipped):
                    rows[rows >= number] += 1
                start = int(rows[0]) - 1
            frame, dialect, notes = _type_columns(raw, self.dialect, decimal=self._decimal, first_row=start)
            if self._decimal is None:
                self._decimal = dialect.decimal
                self.dialect = dialect
            text = pd.DataFrame({n: c.to_pandas() for n, c in zip(self.columns, columns, strict=True)})
            frame.index = text.index = pd.RangeIndex(len(frame))
            yield TableChunk(first_row=start, frame=frame, text=text, notes=tuple(notes), rows=rows)
            first += len(frame)
        if first == first_row and first_row == 0 and not self.skipped:
            raise _no_data_rows(self.name, self._header)

    def read_part(self, start: int, end: int, first_row: int) -> Iterator[TableChunk]:
        """The chunks of one part of the file, whose first row is row ``first_row + 1``.

        For CSV, the bytes ``start:end``, which must lie at line ends outside quotes (see
        :func:`detector.distributed.plan_parts`); the header is read from the file's start. For
        Parquet, the row groups ``start:end``.
        """
        if self.format == "parquet":
            yield self._parquet_chunk(self._parquet.read_row_groups(range(start, end)), first_row)
            return
        with self.path.open("rb") as file:
            file.seek(start)
            data = file.read(end - start)
        if self.dialect.encoding not in ("utf-8", "utf-8-sig"):
            data = data.decode(self.dialect.encoding).encode("utf-8")
        # The header (decoded from the file's head) and the part, both UTF-8 by now.
        source = pa.BufferReader(self._header_line.encode("utf-8") + data)
        yield from self._csv_batches(source, encoding="utf8", skip_rows=0, first_row=first_row)

    def _raise_or_keep(self, bad: list[BadRow]) -> None:
        if not bad:
            return
        if self.on_bad_rows == "error":
            row = bad[0]
            where = f"row {row.row:,}" if row.row is not None else "a row"
            raise DataError(
                f"{self.name}: {where} has {row.fields} fields but the header has {row.expected} "
                f"({_one_line(row.text)[:80]!r}). Fix that row, or pass --on-bad-rows skip to leave "
                "such rows out (they are listed)."
            )
        self.skipped += bad
        bad.clear()

    # ------------------------------------------------------------------ both

    def __iter__(self) -> Iterator[TableChunk]:
        return self._parquet_chunks() if self.format == "parquet" else self._csv_chunks()


def read_table_chunks(
    path: str | os.PathLike, *, chunk_bytes: int = CHUNK_BYTES, on_bad_rows: str = "error",
) -> TableStream:
    """Open ``path`` for reading a chunk of rows at a time; iterate the result for :class:`TableChunk` s."""
    return TableStream(path, chunk_bytes=chunk_bytes, on_bad_rows=on_bad_rows)


def _header_line(sample: str, delimiter: str) -> str:
    """The header record as written (quotes and all), with its line end: the first record of ``sample``."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"')
    for row in reader:
        if row:
            ends = [match.end() for match in re.finditer(r"\r\n|\r|\n", sample)]
            text = sample[: ends[reader.line_num - 1]] if len(ends) >= reader.line_num else sample
            return text if text.endswith(("\n", "\r")) else text + "\n"
    return "\n"


def _check_regular_file(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise DataError(f"{path}: file not found. Check the path and try again.") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot open the file ({exc.strerror or exc}).") from None
    if stat.S_ISDIR(mode):
        raise DataError(f"{path} is a folder, not a file. Pick a .csv or .parquet file.")
    if not stat.S_ISREG(mode):
        raise DataError(f"{path} is not a regular file (a device or a pipe); save the data to a file first.")


def _one_line(value: object) -> str:
    return " ".join(str(value).split())
