"""Score a file on a Dask cluster: partitions of the input scored by workers that each load the bundle once.

The input is cut into partitions at line ends outside quotes (CSV) or at row groups (Parquet)
by one pass over the file on the client, which also counts each partition's rows, so every
worker knows the file row number of its first row. ``dask.dataframe.from_map`` reads the
partitions; ``map_partitions`` scores them with the same per-chunk steps as
:func:`detector.stream.score_file`. Only the bundle's path travels in the task graph: each
worker process loads the model once and keeps it (see :func:`worker_detector`), with
TensorFlow on one thread per worker.

Output is one CSV, written by the client in file order as partitions finish (a bounded
number at a time, so memory stays bounded), or a folder of Parquet parts written by the
workers (``part-00000.parquet``, ...). Either goes to a ``.partial`` name first and is
renamed once complete.

Needs the optional extra: ``pip install ".[dask]"``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from detector.errors import DataError
from detector.results import match_columns
from detector.stream import (
    OutputFile,
    ScoredChunk,
    ScoreSummary,
    StreamProgress,
    output_format,
    score_chunk,
)
from detector.table import CHUNK_BYTES, TableChunk, TableStream

if TYPE_CHECKING:
    from detector.base import BaseDetector

INSTALL_HINT = (
    'the Dask engine needs the optional extra: pip install ".[dask]" (or pip install "dask[distributed]")'
)
# Partitions in flight per worker: enough to keep each busy while the client writes.
_AHEAD_PER_WORKER = 2
# Chunks of text per partition (each worker reads a partition in chunks, then scores it whole).
CHUNKS_PER_PARTITION = 4
# Bytes scanned at a time when planning partitions.
_SCAN_BYTES = 16 << 20


def import_dask() -> Any:
    """Import ``dask.distributed``, or raise a DataError saying how to install it."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        raise DataError(INSTALL_HINT) from None
    return distributed


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Part:
    """One partition: bytes ``start:end`` of a CSV file, or row groups ``start:end`` of a Parquet
    file, holding ``n_rows`` rows (for CSV, as counted by the plan: non-empty records) after
    ``first_row`` rows of the file."""

    index: int
    start: int
    end: int
    first_row: int
    n_rows: int


def plan_parts(stream: TableStream, part_bytes: int = CHUNK_BYTES) -> list[Part]:
    """Cut the file ``stream`` reads into partitions of about ``part_bytes`` each."""
    if stream.format == "parquet":
        return _parquet_parts(stream, part_bytes)
    if stream.dialect.encoding.startswith(("utf-16", "utf-32")):
        raise DataError(
            f"{stream.name} is {stream.dialect.encoding} text, which the Dask engine cannot cut into "
            "parts; save it as UTF-8, or score it with --engine local."
        )
    return _csv_parts(stream.path, stream.dialect.quotechar, part_bytes, skip_lines=stream._skip_lines)


def _parquet_parts(stream: TableStream, part_bytes: int) -> list[Part]:
    metadata = stream._parquet.metadata
    parts: list[Part] = []
    group, first = 0, 0
    while group < metadata.num_row_groups:
        start, size, rows = group, 0, 0
        while group < metadata.num_row_groups and (size < part_bytes or group == start):
            size += metadata.row_group(group).total_byte_size
            rows += metadata.row_group(group).num_rows
            group += 1
        parts.append(Part(len(parts), start, group, first, rows))
        first += rows
    return parts


def _csv_parts(path: Path, quotechar: str, part_bytes: int, *, skip_lines: int) -> list[Part]:
    """Record ends outside quotes, found with numpy a block at a time; rows counted per part.

    A quote toggles "inside a quoted value" (a doubled quote toggles twice), as RFC 4180
    writers quote. Empty lines are not rows (the reader skips them).
    """
    quote, newline = ord(quotechar), ord("\n")
    ends: list[np.ndarray] = []
    inside = False
    offset = 0
    size = path.stat().st_size
    with path.open("rb") as file:
        start = 3 if file.read(3) == b"\xef\xbb\xbf" else 0
        file.seek(start)
        offset = start
        while block := file.read(_SCAN_BYTES):
            data = np.frombuffer(block, np.uint8)
            quotes = np.cumsum(data == quote, dtype=np.int64)
            lines = np.flatnonzero(data == newline)
            odd = (quotes[lines] + inside) % 2 == 1
            ends.append(lines[~odd] + offset)
            inside = bool((int(quotes[-1]) + inside) % 2) if len(quotes) else inside
            offset += len(block)
    record_ends = np.concatenate(ends) if ends else np.empty(0, np.int64)
    # The last record may have no line end.
    if size > start and (not len(record_ends) or record_ends[-1] != size - 1):
        record_ends = np.append(record_ends, size - 1)
    # Lines before the header ("sep=;"), then the header itself.
    header_end = record_ends[skip_lines]
    records = record_ends[skip_lines + 1 :]
    starts = np.concatenate([[header_end + 1], records[:-1] + 1])
    empty = _empty_records(path, starts, records)
    parts: list[Part] = []
    first, begin, i = 0, int(header_end + 1), 0
    while i < len(records):
        target = begin + part_bytes
        j = int(np.searchsorted(records, target - 1, side="left"))
        j = min(max(j, i), len(records) - 1)
        end = int(records[j]) + 1
        rows = int((j + 1 - i) - empty[i : j + 1].sum())
        parts.append(Part(len(parts), begin, end, first, rows))
        first += rows
        begin, i = end, j + 1
    return [part for part in parts if part.end > part.start]


def _empty_records(path: Path, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which records are empty lines ("" or a lone carriage return)."""
    length = ends - starts  # bytes before the newline
    empty = length == 0
    maybe = np.flatnonzero(length == 1)
    if maybe.size:
        with path.open("rb") as file:
            for k in maybe:
                file.seek(int(starts[k]))
                empty[k] = file.read(1) == b"\r"
    return empty


# --------------------------------------------------------------------------- on the workers

_models: dict[tuple[str, int, int], BaseDetector] = {}
_models_lock = threading.Lock()


def worker_detector(bundle: str) -> BaseDetector:
    """The detector saved at ``bundle``, loaded once per process (keyed by path, size and time)."""
    stat = os.stat(bundle)
    key = (os.path.abspath(bundle), stat.st_mtime_ns, stat.st_size)
    with _models_lock:
        if key not in _models:
            _one_thread_for_tensorflow()
            from detector.bundle import load_bundle

            _models.clear()
            _models[key] = load_bundle(bundle).detector
        return _models[key]


def _one_thread_for_tensorflow() -> None:
    """Workers are processes with one thread each: TensorFlow should not start a pool per core.

    Set before TensorFlow runs anything in this process (it refuses once it has); a process
    that already ran TensorFlow keeps its pools.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from detector.network import import_keras

    import_keras()
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


@dataclass(frozen=True)
class _Job:
    """What every task needs to know, small enough to travel in the task graph."""

    source: str
    bundle: str
    threshold: float
    only_flagged: bool
    fmt: str
    chunk_bytes: int
    on_bad_rows: str
    output: str  # the partial output: a folder of Parquet parts, or a CSV written by the client
    source_format: str = "csv"  # the input's: "csv" or "parquet"


def _stream(job: _Job) -> TableStream:
    return TableStream(job.source, chunk_bytes=job.chunk_bytes, on_bad_rows=job.on_bad_rows)


def _read_part(part: Part, job: _Job) -> pd.DataFrame:
    """A partition's rows as a frame: its typed columns, plus (for CSV) the original text of each
    under ``"\\0text\\0" + name``, and the row numbers in ``"\\0row\\0"``."""
    stream = _stream(job)
    chunks = list(stream.read_part(part.start, part.end, part.first_row))
    if stream.format != "parquet" and stream.on_bad_rows == "error":
        n_read = sum(len(chunk.frame) for chunk in chunks)
        if n_read != part.n_rows:
            raise DataError(
                f"{stream.name}: rows {part.first_row + 1:,} onwards read as {n_read:,} rows where "
                f"{part.n_rows:,} were expected; a quote there may not be closed as RFC 4180 asks. "
                "Score the file with --engine local."
            )
    notes = [note for chunk in chunks for note in chunk.notes]
    frame = _pack(chunks)
    frame.attrs["notes"] = notes
    frame.attrs["skipped"] = list(stream.skipped)
    return frame


_TEXT, _ROW = "\0text\0", "\0row\0"


def _pack(chunks: list[TableChunk]) -> pd.DataFrame:
    """One frame per partition (what dask.dataframe moves): typed columns, text columns, row numbers."""
    parts = []
    for chunk in chunks:
        text = chunk.text.add_prefix(_TEXT)
        rows = pd.DataFrame({_ROW: chunk.row_numbers.astype(np.int64)})
        parts.append(pd.concat([chunk.frame, text, rows], axis=1))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _unpack(frame: pd.DataFrame, columns: list[str]) -> TableChunk:
    rows = frame[_ROW].to_numpy()
    text = frame[[_TEXT + c for c in columns]]
    text.columns = columns
    typed = frame[columns]
    first = int(rows[0]) - 1 if len(rows) else 0
    contiguous = len(rows) == 0 or int(rows[-1]) - first == len(rows)
    return TableChunk(
        first_row=first, frame=typed.reset_index(drop=True), text=text.reset_index(drop=True),
        rows=None if contiguous else rows,
    )


def _score_part(frame: pd.DataFrame, job: _Job, columns: list[str], index: int) -> ScoredChunk:
    detector = worker_detector(job.bundle)
    chunk = _unpack(frame, columns)
    if job.fmt == "parquet" and job.source_format == "parquet":
        import pyarrow as pa

        chunk = replace(chunk, arrow=pa.Table.from_pandas(chunk.frame, preserve_index=False))
    part = score_chunk(
        detector, chunk, job.threshold, fmt=job.fmt, only_flagged=job.only_flagged, header=index == 0,
    )
    part.notes = tuple(frame.attrs.get("notes", ()))
    part.skipped = tuple(frame.attrs.get("skipped", ()))
    if job.fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(part.data, Path(job.output) / f"part-{index:05d}.parquet")
        part.data = b""
    return part


def _score_partition(frame: pd.DataFrame, job: _Job, columns: list[str], partition_info=None) -> pd.DataFrame:
    """``map_partitions``' function: score one partition; its output in one object cell."""
    index = partition_info["number"] if partition_info else 0
    return pd.DataFrame({"scored": [_score_part(frame, job, columns, index)]}, dtype=object)


# --------------------------------------------------------------------------- the client


def score_file_on_dask(
    bundle: str | os.PathLike,
    source: str | os.PathLike,
    output: str | os.PathLike,
    *,
    threshold: float | None = None,
    only_flagged: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    on_bad_rows: str = "error",
    scheduler: str | None = None,
    workers: int | None = None,
    on_progress: Callable[[StreamProgress], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> ScoreSummary:
    """Score every row of ``source`` with the bundle at ``bundle`` on a Dask cluster.

    Partitions hold ``CHUNKS_PER_PARTITION`` chunks of ``chunk_bytes`` of text each. Without
    ``scheduler`` a ``LocalCluster`` of ``workers`` processes (one per core by default), one
    thread each, is started and closed afterwards. With one, the bundle and the
    input must be at the same paths on every worker (shared storage). Output as
    :func:`detector.stream.score_file`: a CSV in file order, or (``.parquet``) a folder of
    Parquet parts in file order.
    """
    distributed = import_dask()
    import dask.dataframe as dd

    started = time.perf_counter()
    bundle, source = os.path.abspath(bundle), os.path.abspath(source)
    from detector.bundle import load_bundle

    detector = load_bundle(bundle).detector  # checked here, once, before any worker starts
    stream = TableStream(source, chunk_bytes=chunk_bytes, on_bad_rows=on_bad_rows)
    match_columns(stream.columns, detector.feature_columns).check()
    threshold = detector.threshold_ if threshold is None else float(threshold)
    # A partition is a few chunks: per-task costs (re-reading the file's head, scheduling,
    # sending the result) then stay small next to the work (benchmarks/scale_out.py).
    parts = plan_parts(stream, chunk_bytes * CHUNKS_PER_PARTITION)
    fmt = output_format(output)
    out_path = Path(output)
    summary = ScoreSummary(output=out_path, threshold=threshold, notes=list(stream.notes))
    total_rows = max(sum(part.n_rows for part in parts), 1)

    with _cluster(distributed, scheduler, workers) as client:
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
        if on_start is not None:
            where = scheduler or f"a local cluster of {n_workers} worker processes"
            on_start(f"scoring {source} in {len(parts):,} partitions on {where}")
        with _Output(out_path, fmt) as out:
            job = _Job(
                source=source, bundle=bundle, threshold=threshold, only_flagged=only_flagged, fmt=fmt,
                chunk_bytes=chunk_bytes, on_bad_rows=on_bad_rows, output=str(out.partial),
                source_format=stream.format,
            )
            meta = _meta(stream)
            frames = dd.from_map(
                _read_part, parts, job=job, meta=meta, divisions=None, enforce_metadata=False,
            )
            scored = frames.map_partitions(
                _score_partition, job, list(stream.columns),
                meta=pd.DataFrame({"scored": pd.Series([], dtype=object)}),
                enforce_metadata=False, align_dataframes=False,
            )
            pieces = scored.to_delayed()
            window: deque = deque()
            ahead = _AHEAD_PER_WORKER * n_workers
            for piece in pieces:
                window.append(client.compute(piece))
                if len(window) >= ahead:
                    _take(window.popleft(), out, summary)
                    _report(on_progress, summary, total_rows, started)
            while window:
                _take(window.popleft(), out, summary)
                _report(on_progress, summary, total_rows, started)
            out.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _take(future, out: _Output, summary: ScoreSummary) -> None:
    try:
        frame = future.result()
    except DataError:
        raise
    except Exception as exc:
        # A worker's DataError arrives as itself; anything else is reported as it is.
        raise DataError(f"a Dask worker failed: {type(exc).__name__}: {exc}") from None
    part: ScoredChunk = frame["scored"].iloc[0]
    if out.fmt == "csv":
        out.write(part.data)
    summary.add(part)


def _report(on_progress, summary: ScoreSummary, total_rows: int, started: float) -> None:
    if on_progress is not None:
        fraction = min(summary.rows / total_rows, 1.0)
        on_progress(StreamProgress(summary.rows, fraction, time.perf_counter() - started))


def _meta(stream: TableStream) -> pd.DataFrame:
    """An empty frame shaped like a partition (dask.dataframe wants one; types are not enforced)."""
    columns = {name: pd.Series([], dtype=object) for name in stream.columns}
    columns |= {_TEXT + name: pd.Series([], dtype=object) for name in stream.columns}
    columns[_ROW] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(columns)


class _Output(OutputFile):
    """A CSV file written by the client, or a folder the workers write Parquet parts into."""

    def __enter__(self) -> _Output:
        if self.fmt == "csv":
            super().__enter__()
            return self
        if self.partial.exists():
            shutil.rmtree(self.partial)
        self.partial.mkdir(parents=True)
        return self

    def commit(self) -> None:
        if self.fmt == "csv":
            super().commit()
            return
        if self.path.exists():
            if self.path.is_dir():
                shutil.rmtree(self.path)
            else:
                self.path.unlink()
        os.replace(self.partial, self.path)

    def __exit__(self, kind, value, traceback) -> None:
        if self.fmt == "csv":
            super().__exit__(kind, value, traceback)
        elif kind is not None:
            shutil.rmtree(self.partial, ignore_errors=True)


@contextlib.contextmanager
def _main_script_hidden():
    """Start worker processes without them running the caller's script again.

    Worker processes are spawned, and a spawned process first runs the parent's ``__main__``
    file when it was started as a script (a notebook kernel, a Streamlit app, a test runner
    that ran one): for an app that means a second app in every worker. Hiding the file name
    while they start makes them skip that step (a ``python -m`` module is re-imported by name
    instead, under its ``__main__`` guard).
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or path is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    del main.__file__
    try:
        yield
    finally:
        main.__file__ = path


class _cluster:
    """A client on ``scheduler``, or on a LocalCluster of ``workers`` single-threaded processes."""

    def __init__(self, distributed, scheduler: str | None, workers: int | None) -> None:
        self._distributed = distributed
        self._scheduler = scheduler
        self._workers = workers
        self._cluster = None
        self._client = None

    def __enter__(self):
        distributed = self._distributed
        if self._scheduler:
            try:
                self._client = distributed.Client(self._scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise DataError(f"cannot reach the Dask scheduler at {self._scheduler} ({exc}).") from None
            return self._client
        n_workers = self._workers or os.cpu_count() or 1
        if n_workers < 1:
            raise DataError("--workers must be at least 1.")
        with _main_script_hidden():
            self._cluster = distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                env={"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
                     "TF_CPP_MIN_LOG_LEVEL": "2"},
            )
        self._client = distributed.Client(self._cluster)
        return self._client

    def __exit__(self, *exc) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


__all__ = ["INSTALL_HINT", "Part", "import_dask", "plan_parts", "score_file_on_dask", "worker_detector"]
