"""What "is the autoencoder worth it?" costs: the training job with and without the baselines.

After the autoencoder trains and scores every row, the same background job fits Isolation
Forest, PCA and ECOD on the same rows, scores the table with each and scores 800 synthetic
anomalies with every method. This times each part of that job on the scale benchmark's table
(32 sensors, 2 categories, a label) and reports the extra wall time as a share of the job
without it. The target is at most 10% extra at 100,000 rows.

Run from the repository root::

    nice -n 10 .venv/bin/python benchmarks/comparison.py [--rows 100000] [--repeats 1]

It prints a table and writes ``benchmarks/results/comparison.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.scale import dataset_path  # noqa: E402 (after the path set-up)

RESULTS = REPO_ROOT / "benchmarks" / "results"
TARGET = 0.10


def run_once(rows: int, data_dir: Path) -> dict[str, float]:
    """One training job's parts, timed: the autoencoder, its scoring, then the comparison."""
    from detector.autoencoder import AutoencoderDetector
    from detector.baselines import fit_baselines
    from detector.columns import infer_roles
    from detector.registry import baseline_kinds
    from detector.results import score_table
    from detector.table import read_table
    from detector.training import feature_roles, training_rows

    table = read_table(dataset_path(rows, data_dir))
    roles = infer_roles(table.frame)
    X = training_rows(table.frame, roles)
    detector = AutoencoderDetector(columns=feature_roles(roles))
    detector.warm_up()
    times: dict[str, float] = {}
    started = time.perf_counter()
    detector.fit(X)
    times["fit autoencoder"] = time.perf_counter() - started
    started = time.perf_counter()
    primary = score_table(detector, table.frame, label=roles.label, timestamp=roles.timestamp)
    times["score the table"] = time.perf_counter() - started
    started = time.perf_counter()
    baselines = fit_baselines(
        detector, X, table.frame, baseline_kinds(), primary=primary, label=roles.label,
        timestamp=roles.timestamp,
    )
    times["baselines and sensitivity"] = time.perf_counter() - started
    for kind, seconds in baselines.timings.items():
        times[f"  {kind}"] = seconds
    times["job without the comparison"] = times["fit autoencoder"] + times["score the table"]
    times["extra share"] = times["baselines and sensitivity"] / times["job without the comparison"]
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=1, help="runs per size; the median is reported")
    parser.add_argument("--data", type=Path, default=Path("/tmp/detector-benchmark-data"))
    args = parser.parse_args(argv)
    results: list[tuple[int, str, float]] = []
    for rows in args.rows:
        runs = [run_once(rows, args.data) for _ in range(args.repeats)]
        for name in runs[0]:
            results.append((rows, name, statistics.median(run[name] for run in runs)))
    lines = ["| rows | part | seconds (share for 'extra share') |", "|---|---|---|"]
    for rows, name, value in results:
        shown = f"{value:.1%}" if name == "extra share" else f"{value:.2f}"
        lines.append(f"| {rows:,} | {name} | {shown} |")
    verdicts = [
        f"- {rows:,} rows: the comparison adds {value:.1%} to the job "
        f"({'meets' if value <= TARGET else 'misses'} the {TARGET:.0%} target)"
        for rows, name, value in results if name == "extra share"
    ]
    report = "\n".join([*lines, "", *verdicts])
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / "comparison.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rows", "part", "value"])
        writer.writerows(results)
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    (RESULTS / "comparison.md").write_text(
        f"# Cost of the comparison ({machine}, median of {args.repeats} run(s))\n\n{report}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
