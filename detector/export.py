"""Write scored rows as CSV bytes that carry the user's original cells and are safe in spreadsheets.

The CSV is UTF-8 with a byte-order mark (``utf-8-sig``) and CRLF line ends:
Excel needs the BOM to read non-ASCII text as UTF-8, and pandas, Python's
``csv`` and most other tools skip it. Cells that a spreadsheet would run as a
formula get a leading ``'`` (OWASP "CSV injection" guidance), except plain
numbers.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from detector.errors import DataError
from detector.table import Table, read_table_text, values_as_text

if TYPE_CHECKING:
    from pathlib import Path

    from detector.results import ScoredTable

# A spreadsheet treats a cell starting with one of these as a formula (OWASP), and some
# spreadsheets read the full-width forms as the ASCII ones.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Skipped before looking for a prefix: spaces (spreadsheets ignore a leading space before a
# formula) and invisible characters that would hide one.
_LEADING = " \u00a0\u200b\u200c\u200d\u2060\u3000\ufeff" + "".join(map(chr, range(0x2000, 0x200B)))
# Plain numbers, including thousands separators and a decimal comma ("-1 234,5"),
# and the special values pandas and NumPy write. They cannot call a function or
# reference a cell, so a leading sign is harmless. Written for both Python's re
# and RE2 (pandas' pyarrow strings), hence [0-9] and literal (no-break) spaces.
_SEPARATORS = ".,' \u00a0\u202f"
_NUMBER = (
    rf"[+-]?(?:(?:[0-9][0-9{_SEPARATORS}]*)?[0-9]\.?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"
    # Spelled out rather than (?i:...), which RE2 lacks: pandas would fall back to Python's re.
    r"|[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])"
)
_NUMBER_RE = re.compile(_NUMBER)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` where text cells and header names cannot run as spreadsheet formulas.

    A text cell starting with ``= + - @``, tab or carriage return (or their full-width forms),
    after any spaces and invisible characters, gets a leading single quote, unless the whole
    cell is a plain number such as ``-3.5``, ``+1``, ``-1 234,5`` or ``-inf``:
    a number cannot call a function or reference a cell, so its sign is left alone. The rule
    is per cell, so a file written a chunk of rows at a time comes out exactly as the whole
    file would. A missing marker such as ``-`` is not a number and is quoted. Columns that are
    not text (numbers, dates) are left as they are.
    """
    result = frame.copy(deep=False)  # columns are replaced, never changed in place
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        text = _cell_text(series)
        start = text.str.lstrip(_LEADING)
        risky = start.str.startswith(FORMULA_PREFIXES)
        if not risky.any():
            continue
        # Only the cells that start like a formula are checked for being a plain number.
        candidates = start[risky]
        number = candidates.str.fullmatch(f"(?:{_NUMBER})\\s*").to_numpy(dtype=bool, na_value=False)
        risky.loc[candidates.index[number]] = False
        if risky.any():
            result.isetitem(position, series.where(~risky, "'" + text))
    result.columns = [_neutralise_name(column) for column in frame.columns]
    return result


def _cell_text(series: pd.Series) -> pd.Series:
    return series.astype(str).where(series.notna(), "")


def scored_rows_frame(
    original_text: pd.DataFrame,
    scores: ArrayLike,
    flagged: ArrayLike,
    top_columns: pd.Series | None,
    *,
    first_row: int = 0,
    rows: ArrayLike | None = None,
) -> pd.DataFrame:
    """The rows as :func:`rows_csv` writes them, in table order, before formulas are neutralised.

    ``row``, the user's columns, ``anomaly_score``, ``is_anomaly`` (nullable 0/1) and
    ``top_columns`` (when given); see :func:`rows_csv`. ``rows`` gives the row numbers when
    they are not ``first_row + 1`` onwards (a file read with malformed rows left out).
    """
    n_rows = len(original_text)
    values = np.asarray(scores)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(float)
    is_flagged = np.asarray(flagged, dtype=bool)
    lengths = {len(values), len(is_flagged), n_rows}
    if top_columns is not None:
        lengths.add(len(top_columns))
    if len(lengths) != 1:
        raise ValueError(
            f"original_text, scores, flagged and top_columns must have one entry per row; "
            f"got {n_rows}, {len(values)}, {len(is_flagged)} and "
            f"{None if top_columns is None else len(top_columns)}."
        )
    scored = np.isfinite(values)
    clean = np.where(scored, values, np.nan).astype(values.dtype)
    flags = pd.array(is_flagged.astype(np.int8), dtype="Int8")
    flags[~scored] = pd.NA

    out = original_text.reset_index(drop=True)
    taken = {str(column) for column in out.columns}
    row_name = _free_name("row", taken)
    taken.add(row_name)
    # Keep the score's own dtype: float32 scores then print as e.g. 0.1, not 0.10000000149.
    added = {"anomaly_score": clean, "is_anomaly": flags}
    if top_columns is not None:
        top = pd.Series(np.asarray(top_columns, dtype=object))
        added["top_columns"] = top.where(scored & top.notna().to_numpy(), "")
    for base, column in added.items():
        name = _free_name(base, taken)
        taken.add(name)
        out[name] = column
    numbers = np.arange(first_row + 1, first_row + n_rows + 1) if rows is None else np.asarray(rows)
    out.insert(0, row_name, numbers.astype(np.int64))
    return out



def rows_csv(
    original_text: pd.DataFrame,
    scores: ArrayLike,
    flagged: ArrayLike,
    top_columns: pd.Series | None,
    *,
    only_flagged: bool,
    sort_by_score: bool = True,
    first_row: int = 0,
    header: bool = True,
    rows: ArrayLike | None = None,
) -> bytes:
    """CSV bytes of the rows with their row number, score, flag and top contributing columns.

    Columns are ``row`` (the row's 1-based position in the file, the number the app shows:
    ``first_row`` + 1 for the first row given), the user's columns exactly as given (the text
    frame from ``read_table_text``, neutralised by :func:`neutralise_formulas`), then
    ``anomaly_score`` (shortest text that reads back as the exact same float),
    ``is_anomaly`` (1/0) and ``top_columns`` (left out when ``top_columns`` is
    None). If the user already has a column with one of these names, ours
    becomes ``anomaly_score_2`` (``_3``, ...). Rows that could not be scored
    (NaN score) have an empty score, flag and top columns.

    Parameters
    ----------
    only_flagged
        Keep only flagged rows (unscored rows are never flagged).
    sort_by_score
        Highest score first (unscored rows last, ties in table order);
        otherwise the table's row order.
    first_row, header, rows
        For a file written a chunk at a time: the rows before this chunk, whether to start
        with the header line (and the byte-order mark), and the rows' numbers when they do
        not simply follow ``first_row``.
    """
    out = scored_rows_frame(original_text, scores, flagged, top_columns, first_row=first_row, rows=rows)
    values = np.asarray(scores, dtype=float)
    scored = np.isfinite(values)
    picked = np.flatnonzero(np.asarray(flagged, dtype=bool) & scored) if only_flagged else np.arange(len(out))
    if sort_by_score:
        # Negated so the highest score comes first; NaN (and inf) sort last; stable keeps row order.
        picked = picked[np.argsort(-np.where(scored, values, np.nan)[picked], kind="stable")]
    # Only the rows written are neutralised: a few flagged rows of a million cost little.
    written = neutralise_formulas(out.iloc[picked])
    buffer = io.BytesIO()
    # CRLF line ends (RFC 4180) also make the writer quote a cell holding a lone "\r", which
    # with "\n" line ends it would leave bare, splitting the row in two for Excel and pandas.
    written.to_csv(
        buffer, index=False, header=header, encoding="utf-8-sig" if header else "utf-8", na_rep="",
        lineterminator="\r\n",
    )
    return buffer.getvalue()


def _neutralise_name(name: object) -> object:
    """A header is text: quote it if it starts like a formula, unless it is a plain number."""
    start = name.lstrip(_LEADING) if isinstance(name, str) else ""
    if start.startswith(FORMULA_PREFIXES) and not _NUMBER_RE.fullmatch(start):
        return "'" + name
    return name


def _free_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_2``, ``base_3``, ... whichever is not taken yet."""
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}_{suffix}", suffix + 1
    return name


def original_text(table: Table, data: bytes | Path | None) -> pd.DataFrame:
    """Every cell of ``table`` as the text the user gave (``data``: the bytes or path it was read from).

    Without ``data`` (a table built in memory) the typed values are written as text instead.
    """
    if data is None:
        return values_as_text(table.frame)
    text = read_table_text(data, table.report.dialect)
    if text.shape != table.frame.shape:
        raise DataError(
            f"The file {table.name} now reads as {text.shape[0]:,} rows x {text.shape[1]} columns, "
            f"not {table.frame.shape[0]:,} x {table.frame.shape[1]} as before; load it again."
        )
    return text


def scored_rows_csv(
    scored: ScoredTable, text: pd.DataFrame, threshold: float, *, only_flagged: bool,
) -> bytes:
    """CSV bytes of the user's rows (``text`` from :func:`original_text`) with score, flag and top columns.

    ``only_flagged`` keeps the flagged rows, highest score first; otherwise every row, in
    table order. Spreadsheet-safe, see :func:`detector.export.rows_csv`. A method that does not
    explain rows gets no ``top_columns`` column.
    """
    top: pd.Series | None
    if not scored.explained:
        top = None
    elif only_flagged:
        # Naming the top columns costs time per row: only the rows written need them.
        positions = scored.flagged_positions(threshold)
        top = pd.Series("", index=range(scored.n_rows), dtype=object)
        top.iloc[positions] = scored.top_columns(positions).to_numpy()
    else:
        top = scored.top_columns()
    return rows_csv(
        text, scored.scores, scored.flags(threshold), top,
        only_flagged=only_flagged, sort_by_score=only_flagged,
    )


__all__ = ["neutralise_formulas", "original_text", "rows_csv", "scored_rows_csv", "scored_rows_frame"]
