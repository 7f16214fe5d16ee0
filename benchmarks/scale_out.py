"""Scoring files larger than memory: the in-memory path, ``--engine local`` and ``--engine dask``.

A 10,000,000-row x 34-column CSV (about 3.5 GB: ten 1M-row tables of the scale benchmark, each
with its own seed) is scored with a bundle trained by ``train --sample 100000`` on that file.
Each command runs as its own process, exactly as a user types it; peak memory is the largest
resident set of the process and its children (the Dask workers), sampled every 0.1 s.

Targets (issue: scale out), on this 2-core machine:

* ``--engine local`` on the 10M file: peak memory at most 1.5 GB;
* on a 1M-row file, ``--engine local`` reaches at least 80% of the in-memory path's rows/s;
* ``--engine dask`` with 2 local workers is no slower than ``--engine local`` on the 10M file;
* the engines' scores are identical (to float32 round-off) row by row.

Run from the repository root (about 15 minutes; needs 12 GB of free disk in ``--data``)::

    nice -n 10 .venv/bin/python benchmarks/scale_out.py [--rows 10000000] [--data DIR]

It prints a table and writes ``benchmarks/results/scale_out.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.results_file import short_machine, write_results  # noqa: E402
from benchmarks.scale import dataset_path, make_table  # noqa: E402 (after the path set-up)

SAMPLE = 100_000
MEMORY_TARGET_GB = 1.5
THROUGHPUT_TARGET = 0.8


def big_file(n_rows: int, data_dir: Path) -> Path:
    """``n_rows`` rows made of 1M-row scale tables with seeds 0, 1, ... (generated once)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = data_dir / f"scale_out_{n_rows}.csv"
    if path.exists():
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as file:
        done = 0
        for seed in range(n_rows // 1_000_000 + 1):
            rows = min(1_000_000, n_rows - done)
            if rows <= 0:
                break
            frame = make_table(rows, seed=seed)
            if done == 0:
                file.write((",".join(frame.columns) + "\n").encode())
            pacsv.write_csv(
                pa.Table.from_pandas(frame, preserve_index=False), file,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )
            done += rows
            print(f"  generated {done:,} rows", flush=True)
    partial.rename(path)
    return path


def run(command: list[str]) -> tuple[float, float, str]:
    """Run ``command``; return its wall time, the peak resident memory of it and its children (GB),
    and its stderr."""
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                total = 0
                for member in tree:
                    with contextlib.suppress(psutil.Error):
                        total += member.memory_info().rss
                peak[0] = max(peak[0], total)
            except psutil.Error:
                pass
            done.wait(0.1)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    _, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    watcher.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return seconds, peak[0] / 2**30, stderr


def scores_of(path: Path) -> np.ndarray:
    """The anomaly_score column of a scored CSV (parsed alone)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            include_columns=["anomaly_score"], column_types={"anomaly_score": pa.float64()},
        ),
    )
    return table.column("anomaly_score").to_numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--data", type=Path, default=Path("/tmp/detector-benchmark-data"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    python = sys.executable
    cli = [python, "-m", "detector"]
    print(f"generating or reusing the {args.rows:,}-row file in {args.data}", flush=True)
    big = big_file(args.rows, args.data)
    million = dataset_path(1_000_000, args.data)
    bundle = args.data / f"scale_out_bundle_{args.rows}"
    rows: list[tuple[str, str, float, float, float]] = []  # what, file, seconds, GB, rows/s

    seconds, peak, _ = run([*cli, "train", str(big), "--sample", str(SAMPLE), "--model-out", str(bundle)])
    rows.append((f"train --sample {SAMPLE:,}", big.name, seconds, peak, args.rows / seconds))
    print(f"trained in {seconds:.0f} s", flush=True)

    outputs: dict[tuple[str, str], Path] = {}
    jobs = [
        ("memory", million, []),
        ("local", million, []),
        ("local", big, []),
        ("dask", big, ["--workers", str(args.workers)]),
    ]
    for engine, source, extra in jobs:
        out = args.data / f"scored_{engine}_{source.stem}.csv"
        command = [*cli, "score", str(source), "--model", str(bundle), "--output", str(out)]
        command += ["--engine", engine]
        seconds, peak, _ = run(command + extra)
        n_rows = 1_000_000 if source == million else args.rows
        rows.append((f"score --engine {engine}", source.name, seconds, peak, n_rows / seconds))
        outputs[(engine, source.name)] = out
        speed = n_rows / seconds
        print(f"{engine} on {source.name}: {seconds:.1f} s, {peak:.2f} GB, {speed:,.0f} rows/s", flush=True)

    def rate(engine: str, name: str) -> float:
        return next(r[4] for r in rows if r[0] == f"score --engine {engine}" and r[1] == name)

    def peak_of(engine: str, name: str) -> float:
        return next(r[3] for r in rows if r[0] == f"score --engine {engine}" and r[1] == name)

    memory_scores = scores_of(outputs[("memory", million.name)])
    local_scores = scores_of(outputs[("local", million.name)])
    same_1m = np.allclose(local_scores, memory_scores, rtol=1e-6, equal_nan=True)
    big_local, big_dask = scores_of(outputs[("local", big.name)]), scores_of(outputs[("dask", big.name)])
    same_big = len(big_local) == len(big_dask) == args.rows and np.allclose(
        big_local, big_dask, rtol=1e-6, equal_nan=True,
    )
    for path in outputs.values():
        path.unlink(missing_ok=True)

    ratio = rate("local", million.name) / rate("memory", million.name)
    checks = [
        (f"peak memory of --engine local on {args.rows:,} rows", f"{peak_of('local', big.name):.2f} GB",
         f"<= {MEMORY_TARGET_GB} GB", peak_of("local", big.name) <= MEMORY_TARGET_GB),
        ("--engine local / in-memory rows/s on 1M rows", f"{ratio:.2f}", f">= {THROUGHPUT_TARGET}",
         ratio >= THROUGHPUT_TARGET),
        (f"--engine dask ({args.workers} workers) / local rows/s on {args.rows:,} rows",
         f"{rate('dask', big.name) / rate('local', big.name):.2f}", ">= 1.0",
         rate("dask", big.name) >= rate("local", big.name)),
        ("scores: local = in-memory (1M rows)", "identical" if same_1m else "DIFFERENT", "identical",
         same_1m),
        (f"scores: dask = local ({args.rows:,} rows)", "identical" if same_big else "DIFFERENT", "identical",
         same_big),
    ]
    lines = ["| run | file | seconds | peak memory (GB) | rows/s |", "|---|---|---|---|---|"]
    lines += [f"| {what} | {name} | {s:.1f} | {gb:.2f} | {r:,.0f} |" for what, name, s, gb, r in rows]
    lines += ["", "| target | measured | wanted | met |", "|---|---|---|---|"]
    lines += [
        f"| {what} | {value} | {wanted} | {'yes' if ok else 'NO'} |" for what, value, wanted, ok in checks
    ]
    report = "\n".join(lines)
    print(report)
    write_results(
        "scale_out", f"Scoring beyond memory ({short_machine()})", report,
        ["run", "file", "seconds", "peak_gb", "rows_per_s"], rows,
    )
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
