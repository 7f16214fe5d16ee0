"""Write scored rows as CSV bytes that carry the user's original cells and are safe in spreadsheets.

The CSV is UTF-8 with a byte-order mark (``utf-8-sig``) and CRLF line ends:
Excel needs the BOM to read non-ASCII text as UTF-8, and pandas, Python's
``csv`` and most other tools skip it. Cells that a spreadsheet would run as a
formula get a leading ``'`` (OWASP "CSV injection" guidance), except plain
numbers in numeric columns.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from detector.errors import DataError
from detector.table import MISSING_TOKENS, Table, read_table_text

if TYPE_CHECKING:
    from pathlib import Path

    from detector.results import ScoredTable

# A spreadsheet treats a cell starting with one of these as a formula (OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Plain numbers, including thousands separators and a decimal comma ("-1 234,5"),
# and the special values pandas and NumPy write. They cannot call a function or
# reference a cell, so a leading sign is harmless. Written for both Python's re
# and RE2 (pandas' pyarrow strings), hence [0-9] and literal (no-break) spaces.
_SEPARATORS = ".,' \u00a0\u202f"
_NUMBER = (
    rf"[+-]?(?:(?:[0-9][0-9{_SEPARATORS}]*)?[0-9]\.?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[+-]?(?i:inf|infinity|nan)"
)
_NUMBER_RE = re.compile(_NUMBER)
# Cells that mean "missing" in otherwise numeric columns (those the table reader reads as
# missing, and a few dashes); they do not make the column text, but are still neutralised
# themselves ("-" becomes "'-").
_MISSING_MARKERS = frozenset({"-", "--", ".", *(token.lower() for token in MISSING_TOKENS)})


def neutralise_formulas(frame: pd.DataFrame, *, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Copy of ``frame`` where text cells and header names cannot run as spreadsheet formulas.

    A text cell starting with ``= + - @``, tab or carriage return gets a
    leading single quote. The decision for numbers is per column: in a numeric
    column (every non-empty cell is a plain number or a missing marker such as
    ``NA`` or ``-``), plain numbers like ``-3.5``, ``+1`` or ``1e308`` are left
    untouched; in a text column every starting ``-`` or ``+`` is quoted. Columns
    that are not text (numbers, dates) are left as they are.

    When ``frame`` holds some rows of a larger ``table`` (same columns), whether a
    column is numeric is decided over all of the table's rows, so the rows come
    out exactly as they would from neutralising the whole table, for a fraction
    of the work.
    """
    result = frame.copy()
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
            continue
        text = _cell_text(series)
        risky = text.str.startswith(FORMULA_PREFIXES)
        if not risky.any():
            continue
        if _numeric_column(_cell_text(table.iloc[:, position]) if table is not None else text):
            risky &= ~text.str.fullmatch(_NUMBER)
        result.isetitem(position, series.where(~risky, "'" + text))
    result.columns = [_neutralise_name(column) for column in frame.columns]
    return result


def _cell_text(series: pd.Series) -> pd.Series:
    return series.astype(str).where(series.notna(), "")


def _numeric_column(text: pd.Series) -> bool:
    """Whether every cell is a plain number or a missing marker, ignoring surrounding spaces.

    The reader ignores spaces around numbers, so " 5 " does not make a column text; only a
    cell that is exactly a number is left as it is ("\t5" still starts with a tab).
    """
    trimmed = text.str.strip()
    return bool((trimmed.str.fullmatch(_NUMBER) | trimmed.str.lower().isin(_MISSING_MARKERS)).all())


def rows_csv(
    original_text: pd.DataFrame,
    scores: ArrayLike,
    flagged: ArrayLike,
    top_columns: pd.Series | None,
    *,
    only_flagged: bool,
    sort_by_score: bool = True,
) -> bytes:
    """CSV bytes of the rows with their score, flag and top contributing columns.

    Columns are the user's columns exactly as given (the text frame from
    ``read_table_text``, neutralised by :func:`neutralise_formulas`), then
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
    # Keep the score's own dtype: float32 scores then print as e.g. 0.1, not 0.10000000149.
    added = {"anomaly_score": clean, "is_anomaly": flags}
    if top_columns is not None:
        top = pd.Series(np.asarray(top_columns, dtype=object))
        added["top_columns"] = top.where(scored & top.notna().to_numpy(), "")
    for base, column in added.items():
        name = _free_name(base, taken)
        taken.add(name)
        out[name] = column

    rows = np.flatnonzero(is_flagged & scored) if only_flagged else np.arange(n_rows)
    if sort_by_score:
        # Negated so the highest score comes first; NaN sorts last; stable keeps row order.
        rows = rows[np.argsort(-clean[rows], kind="stable")]
    # Only the rows written are neutralised (the whole table still decides which columns are
    # numeric): a few flagged rows of a million then cost a few columns' checks, not a pass.
    written = neutralise_formulas(out.iloc[rows], table=out if len(rows) < n_rows else None)
    buffer = io.BytesIO()
    # CRLF line ends (RFC 4180) also make the writer quote a cell holding a lone "\r", which
    # with "\n" line ends it would leave bare, splitting the row in two for Excel and pandas.
    written.to_csv(buffer, index=False, encoding="utf-8-sig", na_rep="", lineterminator="\r\n")
    return buffer.getvalue()


def _neutralise_name(name: object) -> object:
    """A header is text: quote it if it starts like a formula, unless it is a plain number."""
    if isinstance(name, str) and name.startswith(FORMULA_PREFIXES) and not _NUMBER_RE.fullmatch(name):
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
        frame = table.frame
        return pd.DataFrame({c: frame[c].astype(str).where(frame[c].notna(), "") for c in frame.columns})
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


__all__ = ["neutralise_formulas", "original_text", "rows_csv", "scored_rows_csv"]
