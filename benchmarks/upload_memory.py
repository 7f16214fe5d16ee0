"""Check that repeated uploads do not grow the server's memory: N uploads of one big CSV, one session.

The uploads go through the Data page's file uploader in Streamlit's AppTest, that is through the
same code a browser upload runs (``handle_upload``: read, profile, infer roles, draw the page).
Each upload is a new copy of the file's bytes, as a user uploading the file again would send.
After every upload a full garbage collection runs, then the process's resident memory (RSS) is
read. The target (issue 7): RSS after the last upload at most 1.5 times RSS after the first.

Run from the repository root::

    nice -n 10 .venv/bin/python benchmarks/upload_memory.py [--uploads 20] [--megabytes 50] \
        [--out benchmarks/results/upload_memory]

It prints a Markdown table and writes ``<out>.csv`` (one row per upload) and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa

# Runs as a script from anywhere: make `detector`, `ui` and the test helpers importable.
REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (REPO_ROOT, REPO_ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from apptest_helpers import app_state, assert_clean, start_app, upload  # noqa: E402

TARGET_RATIO = 1.5
MB = 1 << 20


def generated_csv(megabytes: float, seed: int = 0) -> bytes:
    """A CSV of about ``megabytes`` MB: eight measurements, a whole-number count and a category."""

    def table(n_rows: int) -> bytes:
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame({f"sensor_{i}": rng.normal(100, 15, n_rows).round(3) for i in range(8)})
        frame["count"] = rng.integers(0, 1000, n_rows)
        frame["site"] = rng.choice(["north", "south", "east", "west"], n_rows)
        return frame.to_csv(index=False).encode()

    bytes_per_row = len(table(1000)) / 1000
    return table(max(10, round(megabytes * MB / bytes_per_row)))


def rss_mb(*, release: bool = False) -> float:
    """This process's resident memory after a full garbage collection, in MB.

    With ``release``, the allocators first hand their free memory back to the system (glibc's
    ``malloc_trim`` and Arrow's pool), so that RSS follows the memory still in use: steadier
    from one upload to the next than what a server shows, and so better at revealing a leak.
    """
    gc.collect()
    if release:
        pa.default_memory_pool().release_unused()
        with contextlib.suppress(OSError, AttributeError):  # not glibc: skip that part
            ctypes.CDLL("libc.so.6").malloc_trim(0)
    return psutil.Process().memory_info().rss / MB


@dataclass(frozen=True)
class Upload:
    """One upload: its number (0 = the app before any upload), RSS after it, and its time."""

    upload: int
    rss_mb: float
    seconds: float


def measure(
    uploads: int, data: bytes, *, release: bool = False,
) -> tuple[list[Upload], tuple[int, int]]:
    """Upload ``data`` ``uploads`` times through the Data page of one session; RSS after each.

    Also returns the shape of the table the uploads were read as. ``release``: see :func:`rss_mb`.
    """
    at = start_app()
    rows = [Upload(0, rss_mb(release=release), 0.0)]
    for number in range(1, uploads + 1):
        copy = bytes(bytearray(data))  # a new upload is new bytes, not the same object again
        start = time.perf_counter()
        upload(at, "big.csv", copy)
        seconds = time.perf_counter() - start
        del copy
        assert_clean(at)
        dataset = app_state(at).dataset
        if at.error or dataset is None or not dataset.source.startswith("upload:"):
            raise RuntimeError(f"upload {number} was not loaded: {[e.value for e in at.error]}")
        rows.append(Upload(number, rss_mb(release=release), seconds))
    return rows, dataset.shape


def ratio(rows: list[Upload]) -> float:
    """RSS after the last upload over RSS after the first."""
    return rows[-1].rss_mb / rows[1].rss_mb


def markdown(rows: list[Upload], size_mb: float, shape: tuple[int, int], *, release: bool) -> str:
    first, last = rows[1], rows[-1]
    highest = max(rows[1:], key=lambda r: r.rss_mb)
    verdict = "meets" if ratio(rows) <= TARGET_RATIO else "MISSES"
    lines = [
        f"# Memory over {len(rows) - 1} uploads of a {size_mb:.1f} MB CSV",
        "",
        f"One AppTest session, Data page uploader; {shape[0]:,} rows x {shape[1]} columns per upload. "
        f"Python {platform.python_version()}, {platform.machine()}. RSS is read after a full "
        "garbage collection"
        + (", with the allocators' free memory released first." if release else "."),
        "",
        f"RSS before any upload {rows[0].rss_mb:.0f} MB, after the first {first.rss_mb:.0f} MB, "
        f"after the last {last.rss_mb:.0f} MB: **{ratio(rows):.2f} x** the first "
        f"({verdict} the target of at most {TARGET_RATIO} x). The highest after any upload: "
        f"{highest.rss_mb:.0f} MB ({highest.rss_mb / first.rss_mb:.2f} x, upload {highest.upload}).",
        "",
        "| upload | RSS (MB) | seconds |",
        "|---:|---:|---:|",
        *(f"| {r.upload} | {r.rss_mb:.0f} | {r.seconds:.1f} |" for r in rows),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--megabytes", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks/results/upload_memory")
    parser.add_argument(
        "--release", action="store_true",
        help="return the allocators' free memory to the system before each reading (see rss_mb)",
    )
    args = parser.parse_args(argv)

    data = generated_csv(args.megabytes)
    rows, shape = measure(args.uploads, data, release=args.release)
    text = markdown(rows, len(data) / MB, shape, release=args.release)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([asdict(r) for r in rows]).to_csv(args.out.with_suffix(".csv"), index=False)
    args.out.with_suffix(".md").write_text(text)
    return 0 if ratio(rows) <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
