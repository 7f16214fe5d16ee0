"""Tests for the Dask engine: a real LocalCluster of 2 worker processes scores like the other paths."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_stream import N_ROWS, assert_same_rows, read_scored, score_a_file_with_a_bad_row, write_files

from detector.cli import main
from detector.distributed import INSTALL_HINT, plan_parts
from detector.table import TableStream

pytest.importorskip("distributed", reason="the dask extra is part of the test requirements")

CHUNK = 4_000  # a partition is four chunks: 16 KB, so the files span several
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("dask"))


def test_parts_end_at_record_ends_outside_quotes_and_count_every_row(tmp_path):
    rows = "".join(f"{i},v\r\n" for i in range(3, 500))
    text = 'a,b\r\n1,"x\r\ny"\r\n\r\n2,"say ""hi"""\r\n' + rows + "500,end"
    path = tmp_path / "quoted.csv"
    path.write_bytes(text.encode())
    parts = plan_parts(TableStream(path), 200)
    assert len(parts) > 5
    assert sum(part.n_rows for part in parts) == 500  # the blank line is no row; the last has no line end
    data = path.read_bytes()
    assert parts[0].start == len(b"a,b\r\n")
    for part, following in itertools.pairwise(parts):
        assert part.end == following.start
        assert following.first_row == part.first_row + part.n_rows
        assert data[part.end - 1 : part.end] == b"\n"
    assert parts[-1].end == len(data)


def test_the_dask_engine_scores_like_memory_and_local_on_csv_and_parquet(files, capsys):
    """One cluster run per output: CSV in file order, and a folder of Parquet parts."""
    args = ["score", str(files["csv"]), "--model", str(files["model"])]
    memory, local, dask = (files["folder"] / f"{name}.csv" for name in ("memory", "local", "dask"))
    assert main([*args, "--engine", "memory", "--output", str(memory)]) == 0
    assert main([*args, "--engine", "local", "--chunk-mb", "0.02", "--output", str(local)]) == 0
    code = main([*args, "--engine", "dask", "--workers", "2", "--chunk-mb", "0.02", "--output", str(dask)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "local cluster of 2 worker processes" in err
    assert "1 row had no feature values (first at row 8)" in err
    expected = read_scored(memory)
    assert_same_rows(read_scored(local), expected)
    assert_same_rows(read_scored(dask), expected)
    assert read_scored(dask).loc[10, "note"] == 'two\nlines, "quoted"'


def test_many_partitions_and_parquet_parts_on_two_workers(files):
    from detector.distributed import score_file_on_dask

    out = files["folder"] / "scored.parquet"
    summary = score_file_on_dask(files["model"], files["parquet"], out, chunk_bytes=CHUNK, workers=2)
    assert summary.rows == N_ROWS
    parts = sorted(out.iterdir())
    assert len(parts) > 2
    assert all(part.name.startswith("part-") for part in parts)
    written = pd.read_parquet(out)
    assert written["row"].tolist() == list(range(1, N_ROWS + 1))
    original = pd.read_parquet(files["parquet"])
    from detector.bundle import load_bundle

    scores = load_bundle(files["model"]).detector.decision_function(original)
    np.testing.assert_allclose(written["anomaly_score"], scores, rtol=1e-5, equal_nan=True)

    csv = files["folder"] / "many.csv"
    summary = score_file_on_dask(
        files["model"], files["csv"], csv, chunk_bytes=CHUNK, workers=2, only_flagged=True,
    )
    flagged = read_scored(csv)
    assert len(flagged) == summary.flagged > 0
    assert flagged["row"].astype(int).is_monotonic_increasing


def test_without_the_extra_the_cli_says_how_to_install_it(files, tmp_path):
    # A process where importing dask fails, as on an install without the extra.
    script = (
        "import sys; sys.modules['distributed'] = None; sys.modules['dask'] = None\n"
        "from detector.cli import main\n"
        f"raise SystemExit(main(['score', {str(files['csv'])!r}, '--model', {str(files['model'])!r}, "
        f"'--output', {str(tmp_path / 'o.csv')!r}, '--engine', 'dask']))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: {INSTALL_HINT}"]


def test_a_bad_row_on_a_worker_ends_with_one_error_line_naming_it_and_no_output(files, tmp_path, capsys):
    # Row 2,000 lies in a partition well past the first (partitions of 80 KB here).
    score_a_file_with_a_bad_row(files, tmp_path, capsys, "--engine", "dask", "--workers", "2")
