"""Table uploads on the Data and Score pages: the size limit stated up front, each file read once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from detector.errors import DataError
from detector.table import read_table
from ui import format as fmt

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

    from detector.table import Table

TABLE_TYPES = ("csv", "tsv", "txt", "parquet", "pq")


def upload_limit_mb() -> int:
    """The largest file a user may upload, in MB: the server's ``server.maxUploadSize``."""
    return int(st.get_option("server.maxUploadSize"))


def table_uploader(label: str, *, help: str) -> UploadedFile | None:
    """A CSV/TSV/Parquet uploader with the size limit written under it.

    The browser refuses a larger file before sending it, with its own "File must be ... or
    smaller" beside the file name; the page never hears of it, so the limit is said up front.
    One value sets both what the uploader enforces and what the caption says.
    """
    limit = upload_limit_mb()
    uploaded = st.file_uploader(label, type=list(TABLE_TYPES), help=help, max_upload_size=limit)
    size = fmt.file_size(limit * 2**20)
    # The uploader's own messages count in decimal units (1,024 MB shows as "1.1GB"): say both.
    exact = "" if size.endswith(" MB") else f" ({limit:,} MB)"
    st.caption(
        f"Files up to {size}{exact}; the uploader refuses a larger one. "
        "For bigger tables use the command line (`python -m detector`)."
    )
    return uploaded


@dataclass(frozen=True)
class ReadUpload:
    """One upload, read: its bytes and table, or why it could not be read."""

    file_id: str
    data: bytes | None
    table: Table | None
    error: str | None


def read_new_upload(uploaded: UploadedFile, *, last_id: str | None) -> ReadUpload | None:
    """Read ``uploaded`` unless it is the upload read last (``last_id``): then return None.

    Every widget change reruns the page, and a large file takes seconds to parse, so each
    upload is read once. While it is read a status line names the file and its size; it then
    says how many rows were read, or that the file could not be (the ``error`` says why).
    A programming error propagates, so the caller does not record the upload as read.
    """
    if uploaded.file_id == last_id:
        return None
    what = f"{fmt.plain(uploaded.name)} ({fmt.file_size(uploaded.size)})"
    started = time.perf_counter()
    with st.status(f"Reading {what}…") as status:
        try:
            data = uploaded.getvalue()
            table = read_table(data, name=uploaded.name)
        except DataError as exc:
            status.update(label=f"Could not read {what}", state="error")
            return ReadUpload(file_id=uploaded.file_id, data=None, table=None, error=str(exc))
        rows, columns = table.frame.shape
        took = fmt.took(time.perf_counter() - started)
        status.update(label=f"Read {what}{took}: {rows:,} rows × {columns:,} columns", state="complete")
    return ReadUpload(file_id=uploaded.file_id, data=data, table=table, error=None)


__all__ = ["TABLE_TYPES", "ReadUpload", "read_new_upload", "table_uploader", "upload_limit_mb"]
