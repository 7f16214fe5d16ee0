"""Where benchmark scripts leave their tables: ``benchmarks/results/NAME.csv`` and ``NAME.md``."""

from __future__ import annotations

import csv
import os
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def short_machine() -> str:
    """"x86_64, 2 cores": the processor and core count, for a result's title."""
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def write_results(
    name: str, title: str, report: str, header: Sequence[str], rows: Iterable[Sequence],
) -> None:
    """Write ``rows`` under ``header`` to ``NAME.csv`` and ``# title`` then ``report`` to ``NAME.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / f"{name}.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    (RESULTS / f"{name}.md").write_text(f"# {title}\n\n{report}\n")
