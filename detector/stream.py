"""Score files larger than memory: a chunk of rows at a time, through the in-memory path's steps.

:func:`score_file` reads a CSV/TSV or Parquet file with :class:`~detector.table.TableStream`,
scores each chunk with the detector (the same ``score_with_contributions``, threshold rule and
top columns as ``python -m detector score`` in memory), and writes each chunk's rows as it
goes, in file order: CSV through :func:`detector.export.rows_csv` (the original cells,
formula-safe, with ``row``, ``anomaly_score``, ``is_anomaly`` and ``top_columns``), or Parquet.
Peak memory is set by the chunk size, not the file. The output is written to a ``.partial``
file beside the target and renamed only once every row is written, so a failed run never
leaves a file that looks complete.

:mod:`detector.distributed` runs the same per-chunk steps on a Dask cluster.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from detector.drift import DriftAccumulator, DriftReport
from detector.errors import DataError
from detector.explanations import top_columns
from detector.export import rows_csv, scored_rows_frame
from detector.results import match_columns, unscored_sentence
from detector.table import CHUNK_BYTES, BadRow, TableChunk, TableStream

if TYPE_CHECKING:
    from detector.base import BaseDetector

#: Files at least this large are scored a chunk at a time by default (``--engine auto``):
#: in memory a file takes about 3.5 times its size (typed table, original text and output).
STREAM_ABOVE_BYTES = 256 << 20

OUTPUT_FORMATS = ("csv", "parquet")
_DRIFT_SAMPLE_PER_CHUNK = 2_000


def output_format(path: str | os.PathLike) -> str:
    """"parquet" for a ``.parquet``/``.pq`` output path, else "csv"."""
    return "parquet" if Path(path).suffix.lower() in (".parquet", ".pq") else "csv"


@dataclass
class StreamProgress:
    """How far a streamed scoring has got: rows written and the share of the input read."""

    rows: int
    fraction: float
    elapsed: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, estimated from the share read so far (None before any)."""
        if self.fraction <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed * (1 - self.fraction) / self.fraction

    def describe(self) -> str:
        eta = self.eta
        left = f", about {_duration(eta)} left" if eta is not None and self.fraction < 1 else ""
        return f"{self.rows:,} rows ({self.fraction:.0%}) at {self.rows_per_second:,.0f} rows/s{left}"


@dataclass
class ScoreSummary:
    """What a streamed (or distributed) scoring did, for the command line's report."""

    output: Path
    threshold: float
    rows: int = 0
    written: int = 0
    flagged: int = 0
    unscored: int = 0
    first_unscored: int | None = None  # 1-based row number in the file
    skipped: list[BadRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    drift: DriftAccumulator | None = None

    def drift_report(self) -> DriftReport | None:
        """The file against the model's training rows (see :mod:`detector.drift`)."""
        return self.drift.report() if self.drift is not None else None

    def add(self, part: ScoredChunk) -> None:
        self.rows += part.n_rows
        self.written += part.n_written
        self.flagged += part.n_flagged
        if part.n_unscored:
            self.unscored += part.n_unscored
            if self.first_unscored is None:
                self.first_unscored = part.first_unscored
        for note in part.notes:
            if note not in self.notes:
                self.notes.append(note)
        self.skipped += part.skipped
        if part.drift is not None:
            if self.drift is None:
                self.drift = part.drift
            else:
                self.drift.merge(part.drift)

    def unscored_note(self) -> str | None:
        if not self.unscored or self.first_unscored is None:
            return None
        return unscored_sentence(self.unscored, self.first_unscored)


@dataclass
class ScoredChunk:
    """One chunk's output (CSV bytes or an Arrow table) and its counts."""

    data: bytes | pa.Table
    n_rows: int
    n_written: int
    n_flagged: int
    n_unscored: int
    first_unscored: int | None
    notes: tuple[str, ...] = ()
    skipped: tuple[BadRow, ...] = ()
    drift: DriftAccumulator | None = None


def score_chunk(
    detector: BaseDetector, chunk: TableChunk, threshold: float, *, fmt: str, only_flagged: bool,
    header: bool,
) -> ScoredChunk:
    """Score one chunk and render its rows for the output, as the in-memory path renders a file.

    Parquet output keeps a Parquet input's values with their types (``chunk.arrow``); otherwise
    the original text is written.
    """
    scores, shares = detector.score_with_contributions(chunk.frame)
    flagged = detector.flags(scores, shares, threshold)  # rows a kept rule matches are not flagged
    # A few thousand values per column and chunk: the file's medians come from their union.
    drift = DriftAccumulator(detector, seed=chunk.first_row, sample_size=_DRIFT_SAMPLE_PER_CHUNK)
    drift.add(chunk.frame, scores=scores, threshold=threshold)
    top = top_columns(shares) if shares is not None else None
    unscored = np.flatnonzero(~np.isfinite(scores))
    if fmt == "csv":
        data: bytes | pa.Table = rows_csv(
            chunk.text, scores, flagged, top, only_flagged=only_flagged, sort_by_score=False,
            first_row=chunk.first_row, header=header, rows=chunk.rows,
        )
    else:
        data = _arrow_rows(chunk, scores, flagged, top, only_flagged=only_flagged)
    n_flagged = int(np.count_nonzero(flagged))
    return ScoredChunk(
        data=data,
        n_rows=len(scores),
        n_written=n_flagged if only_flagged else len(scores),
        n_flagged=n_flagged,
        n_unscored=int(unscored.size),
        first_unscored=int(chunk.row_numbers[unscored[0]]) if unscored.size else None,
        notes=chunk.notes,
        drift=drift,
    )


def _arrow_rows(
    chunk: TableChunk, scores: np.ndarray, flagged: np.ndarray, top: pd.Series | None, *,
    only_flagged: bool,
) -> pa.Table:
    arrow = chunk.arrow
    frame = scored_rows_frame(chunk.text, scores, flagged, top, first_row=chunk.first_row, rows=chunk.rows)
    keep = np.flatnonzero(flagged & np.isfinite(scores)) if only_flagged else None
    columns: dict[str, pa.Array] = {}
    users = list(chunk.text.columns)
    for position, name in enumerate(frame.columns):
        if arrow is not None and 1 <= position <= len(users):
            values = arrow.column(position - 1)
        else:
            values = pa.array(frame.iloc[:, position], from_pandas=True)
            if name in users or pa.types.is_null(values.type):
                values = values.cast(pa.string()) if not pa.types.is_string(values.type) else values
        columns[str(name)] = values if keep is None else values.take(pa.array(keep))
    return pa.table(columns)


class OutputFile:
    """Writes chunks in order to ``path + '.partial'``; :meth:`commit` renames it into place.

    Used as a context manager: leaving the block with an exception removes the partial file,
    so an output is either complete or absent.
    """

    def __init__(self, path: str | os.PathLike, fmt: str) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._file = None
        self._writer = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> OutputFile:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "csv":
            self._file = self.partial.open("wb")
        return self

    def write(self, data: bytes | pa.Table) -> None:
        if self.fmt == "csv":
            assert self._file is not None
            assert isinstance(data, bytes)
            self._file.write(data)
            return
        import pyarrow.parquet as pq

        assert isinstance(data, pa.Table)
        if self._writer is None:
            # Columns that were all missing in the first chunk are text (null) there: the
            # schema takes the first chunk's types, and later chunks are cast to it.
            self._schema = data.schema
            self._writer = pq.ParquetWriter(self.partial, self._schema)
        elif data.schema != self._schema:
            data = _cast_like(data, self._schema)
        self._writer.write_table(data)

    def commit(self) -> None:
        self._close()
        os.replace(self.partial, self.path)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __exit__(self, kind, value, traceback) -> None:
        self._close()
        if kind is not None:
            self.partial.unlink(missing_ok=True)


def _cast_like(table: pa.Table, schema: pa.Schema) -> pa.Table:
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(
            f"a later part of the file has other value types than its start ({exc}); "
            "write CSV output instead, or make the column types consistent."
        ) from None


def score_file(
    detector: BaseDetector,
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    threshold: float | None = None,
    only_flagged: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    on_bad_rows: str = "error",
    on_progress: Callable[[StreamProgress], None] | None = None,
) -> ScoreSummary:
    """Score every row of ``source`` a chunk at a time and write them to ``output`` (CSV or Parquet).

    Rows are written in file order with the in-memory path's columns; ``only_flagged`` keeps
    the flagged rows (still in file order). ``threshold`` defaults to the model's. Raises
    :class:`~detector.errors.DataError` for a file the model cannot score or a malformed row
    (naming its row); the output is then removed, never left half-written.
    """
    started = time.perf_counter()
    stream = TableStream(source, chunk_bytes=chunk_bytes, on_bad_rows=on_bad_rows)
    match_columns(stream.columns, detector.feature_columns).check()
    threshold = detector.threshold_ if threshold is None else float(threshold)
    fmt = output_format(output)
    summary = ScoreSummary(output=Path(output), threshold=threshold, notes=list(stream.notes))
    with OutputFile(output, fmt) as out:
        for index, chunk in enumerate(stream):
            part = score_chunk(
                detector, chunk, threshold, fmt=fmt, only_flagged=only_flagged, header=index == 0,
            )
            out.write(part.data)
            summary.add(part)
            if on_progress is not None:
                on_progress(StreamProgress(summary.rows, stream.fraction_read, time.perf_counter() - started))
        out.commit()
    summary.skipped = list(stream.skipped)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class SampledTable:
    """A uniform sample of a file's rows (in file order), and how many rows the file has."""

    frame: pd.DataFrame
    n_rows: int
    name: str
    seed: int
    rows: np.ndarray  # the sampled rows' 1-based numbers in the file
    notes: list[str] = field(default_factory=list)

    @property
    def describe(self) -> str:
        return f"a uniform sample of {len(self.frame):,} of {self.n_rows:,} rows (seed {self.seed})"

    def metadata(self) -> dict[str, int]:
        """What a bundle records about the sample its model was trained on."""
        return {"rows": len(self.frame), "of": self.n_rows, "seed": self.seed}


def sample_table(
    source: str | os.PathLike, n: int, *, seed: int = 0, chunk_bytes: int = CHUNK_BYTES,
    on_bad_rows: str = "error",
) -> SampledTable:
    """Draw ``n`` rows uniformly at random from ``source`` in one pass, in memory for ``n`` rows.

    Every row gets a random key from a generator seeded with ``seed`` and the ``n`` rows with
    the smallest keys are kept (a reservoir sample: each row is equally likely, each set of
    ``n`` rows too). The same file and seed give the same sample. With ``n`` at least the
    file's rows, every row is returned.
    """
    if n < 2:
        raise DataError(f"--sample {n}: a sample needs at least 2 rows.")
    stream = TableStream(source, chunk_bytes=chunk_bytes, on_bad_rows=on_bad_rows)
    rng = np.random.default_rng(seed)
    kept: pd.DataFrame | None = None
    keys = np.empty(0)
    rows = np.empty(0, np.int64)
    notes = list(stream.notes)
    total = 0
    for chunk in stream:
        numbers = chunk.row_numbers
        total += len(chunk.frame)
        notes += [note for note in chunk.notes if note not in notes]
        frame = chunk.frame if kept is None else pd.concat([kept, chunk.frame], ignore_index=True)
        keys = np.concatenate([keys, rng.random(len(chunk.frame))])
        rows = np.concatenate([rows, numbers])
        if len(keys) > n:
            best = np.sort(np.argpartition(keys, n - 1)[:n])
            frame, keys, rows = frame.iloc[best].reset_index(drop=True), keys[best], rows[best]
        kept = frame
    assert kept is not None  # the stream raises for a file without rows
    order = np.argsort(rows, kind="stable")
    return SampledTable(
        frame=kept.iloc[order].reset_index(drop=True), n_rows=total, name=stream.name, seed=seed,
        rows=rows[order], notes=notes,
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = [
    "OUTPUT_FORMATS", "STREAM_ABOVE_BYTES", "OutputFile", "SampledTable", "ScoreSummary", "ScoredChunk",
    "StreamProgress", "output_format", "sample_table", "score_chunk", "score_file",
]
