"""Tests for streamed scoring: a file read, scored and written a chunk at a time (detector.stream)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import TINY, correlated_table

from detector.autoencoder import AutoencoderDetector
from detector.cli import main
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.stream import StreamProgress, score_file
from detector.table import read_table, read_table_chunks, read_table_text

ROLES = ColumnRoles(numeric=("a", "b", "c", "d"), categorical=("site",))
N_ROWS = 3_000
# Small chunks, so that the test file spans many of them.
CHUNK = 16_000


def awkward_table() -> pd.DataFrame:
    """The test table: text that needs quoting, a formula, a row with no features, a gap."""
    frame = correlated_table(n_rows=N_ROWS, n_outliers=30)
    frame["note"] = "ok"
    frame.loc[10, "note"] = 'two\nlines, "quoted"'
    frame.loc[1_500, "note"] = "=HYPERLINK(1)"
    frame.loc[2_222, "note"] = "Zürich — 東京"
    frame.loc[7, ["a", "b", "c", "d", "site"]] = np.nan  # nothing to score
    frame.loc[2_500, "a"] = np.nan
    frame["a"] = frame["a"].round(6)
    return frame


def write_files(folder: Path) -> dict[str, Path]:
    """The test table as a CSV (with a BOM and CRLF line ends) and a Parquet file, and a model of it."""
    frame = awkward_table()
    csv = folder / "rows.csv"
    csv.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    parquet = folder / "rows.parquet"
    frame.to_parquet(parquet, index=False, row_group_size=700)
    model = folder / "model"
    AutoencoderDetector(columns=ROLES, config=TINY).fit(frame.iloc[:2_000]).save(model)
    return {"csv": csv, "parquet": parquet, "model": model, "folder": folder}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    return write_files(tmp_path_factory.mktemp("stream"))


def read_scored(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def assert_same_rows(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Every column identical, scores equal to float32 round-off."""
    assert list(left.columns) == list(right.columns)
    others = [c for c in left.columns if c != "anomaly_score"]
    pd.testing.assert_frame_equal(left[others], right[others], check_dtype=False)
    np.testing.assert_allclose(
        pd.to_numeric(left["anomaly_score"]), pd.to_numeric(right["anomaly_score"]), rtol=1e-5,
    )


def test_chunks_read_like_the_whole_file(files):
    whole = read_table(files["csv"])
    chunks = list(read_table_chunks(files["csv"], chunk_bytes=CHUNK))
    assert len(chunks) > 5
    assert [c.first_row for c in chunks] == list(np.cumsum([0] + [len(c.frame) for c in chunks[:-1]]))
    frame = pd.concat([c.frame for c in chunks], ignore_index=True)
    text = pd.concat([c.text for c in chunks], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole.frame)
    pd.testing.assert_frame_equal(text, read_table_text(files["csv"], whole.report.dialect))


@pytest.mark.parametrize("source", ["csv", "parquet"])
@pytest.mark.parametrize("only_flagged", [False, True])
def test_streamed_csv_output_is_the_in_memory_output(files, source, only_flagged, capsys):
    memory, local = files["folder"] / f"m-{source}.csv", files["folder"] / f"l-{source}.csv"
    flags = ["--only-flagged"] if only_flagged else []
    args = ["score", str(files[source]), "--model", str(files["model"]), *flags]
    assert main([*args, "--engine", "memory", "--output", str(memory)]) == 0
    assert main([*args, "--engine", "local", "--chunk-mb", "0.02", "--output", str(local)]) == 0
    err = capsys.readouterr().err
    assert "1 row had no feature values (first at row 8)" in err
    assert_same_rows(read_scored(local), read_scored(memory))
    # The same bytes, apart from score round-off: header, quoting, BOM and formulas included.
    assert local.read_bytes()[:200] == memory.read_bytes()[:200]


def test_many_chunks_give_the_in_memory_scores(files):
    memory = files["folder"] / "whole.csv"
    assert main(["score", str(files["csv"]), "--model", str(files["model"]), "--output", str(memory),
                 "--engine", "memory"]) == 0
    out = files["folder"] / "chunks.csv"
    seen: list[StreamProgress] = []
    from detector.bundle import load_bundle

    detector = load_bundle(files["model"]).detector
    summary = score_file(detector, files["csv"], out, chunk_bytes=CHUNK, on_progress=seen.append)
    assert len(seen) > 5
    assert seen[-1].fraction == 1.0
    assert [p.rows for p in seen] == sorted(p.rows for p in seen)
    assert summary.rows == N_ROWS
    assert summary.unscored == 1
    written = read_scored(out)
    assert_same_rows(written, read_scored(memory))
    assert written.loc[10, "note"] == 'two\nlines, "quoted"'
    assert written.loc[1_500, "note"] == "'=HYPERLINK(1)"
    assert written["row"].tolist() == [str(i) for i in range(1, N_ROWS + 1)]
    assert written.loc[7, "anomaly_score"] == ""


def test_parquet_output_keeps_parquet_values_and_types(files):
    out = files["folder"] / "scored.parquet"
    from detector.bundle import load_bundle

    detector = load_bundle(files["model"]).detector
    score_file(detector, files["parquet"], out, chunk_bytes=CHUNK)
    scored = pq.read_table(out)
    assert scored.schema.field("a").type == "double"
    assert scored.schema.field("is_anomaly").type == "int8"
    original = pd.read_parquet(files["parquet"])
    written = scored.to_pandas()
    pd.testing.assert_series_equal(written["a"], original["a"])
    assert written["note"][1_500] == "=HYPERLINK(1)"  # Parquet is data, not a spreadsheet
    np.testing.assert_allclose(
        written["anomaly_score"], detector.decision_function(original), rtol=1e-5, equal_nan=True,
    )


def score_a_file_with_a_bad_row(files, tmp_path, capsys, *engine: str) -> tuple[list[str], Path]:
    """Score a copy of the test CSV whose data row 2,000 has a field too many; check the refusal.

    Returns the command's arguments and the output path, which must not exist: the run ends
    with exit 2, one ``error:`` line naming the row, and no output or partial file left.
    """
    lines = files["csv"].read_bytes().split(b"\r\n")
    lines[2_000] += b",extra"  # data row 2,000 (line 2,001)
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\r\n".join(lines))
    out = tmp_path / "out.csv"
    args = ["score", str(broken), "--model", str(files["model"]), "--output", str(out), *engine,
            "--chunk-mb", "0.02"]
    assert main(args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "row 2,000 has 7 fields but the header has 6" in errors[0]
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))
    return args, out


def test_a_bad_row_mid_file_names_its_row_and_leaves_no_output(files, tmp_path, capsys):
    args, out = score_a_file_with_a_bad_row(files, tmp_path, capsys, "--engine", "local")

    assert main([*args, "--on-bad-rows", "skip"]) == 0
    err = capsys.readouterr().err
    assert "skipped row 2,000: 7 fields, the header has 6" in err
    numbers = read_scored(out)["row"].tolist()
    assert len(numbers) == N_ROWS - 1
    assert numbers[1_998:2_000] == ["1999", "2001"]  # the rows keep their places in the file
    assert numbers[-1] == str(N_ROWS)


def test_notes_count_rows_in_the_file_not_in_the_chunk(tmp_path):
    frame = pd.DataFrame({"x": np.arange(4_000, dtype=float), "y": "v"})
    text = frame.astype(str)
    text.loc[3_500, "x"] = "NA"
    path = tmp_path / "late_gap.csv"
    text.to_csv(path, index=False)
    notes = [note for chunk in read_table_chunks(path, chunk_bytes=8_000) for note in chunk.notes]
    assert any("(first at row 3,501)" in note for note in notes), notes


def test_a_device_is_refused_before_reading(tmp_path):
    with pytest.raises(DataError, match="not a regular file"):
        read_table_chunks("/dev/zero")
    with pytest.raises(DataError, match="file not found"):
        read_table_chunks(tmp_path / "absent.csv")


def test_options_that_need_a_chunked_engine_are_refused_in_memory(files, tmp_path, capsys):
    args = ["score", str(files["csv"]), "--model", str(files["model"]), "--output", str(tmp_path / "o.csv")]
    assert main([*args, "--engine", "memory", "--on-bad-rows", "skip"]) == 2
    assert main([*args, "--engine", "local", "--workers", "2"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 2


def test_a_streamed_read_of_bytes_in_another_encoding(tmp_path):
    frame = pd.DataFrame({"city": ["Zürich", "Malmö", "Gent"] * 2_000, "n": np.arange(6_000.0)})
    path = tmp_path / "latin.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    stream = read_table_chunks(path, chunk_bytes=8_000)
    chunks = list(stream)
    assert len(chunks) > 2
    assert any("cp1252" in note for note in stream.notes)
    text = pd.concat([c.text for c in chunks], ignore_index=True)
    assert text["city"].tolist() == frame["city"].tolist()
    whole = read_table(io.BytesIO(path.read_bytes()))
    pd.testing.assert_frame_equal(pd.concat([c.frame for c in chunks], ignore_index=True), whole.frame)


def test_a_sample_is_uniform_seeded_in_file_order_and_recorded_in_the_bundle(files, tmp_path, capsys):
    from detector.bundle import load_bundle
    from detector.stream import sample_table

    first = sample_table(files["csv"], 500, seed=3, chunk_bytes=CHUNK)
    again = sample_table(files["csv"], 500, seed=3, chunk_bytes=CHUNK * 3)
    other = sample_table(files["csv"], 500, seed=4, chunk_bytes=CHUNK)
    assert first.n_rows == N_ROWS
    assert len(first.frame) == 500
    np.testing.assert_array_equal(first.rows, again.rows)  # the chunk size does not matter
    assert not np.array_equal(first.rows, other.rows)
    assert (np.diff(first.rows) > 0).all()
    whole = read_table(files["csv"]).frame
    pd.testing.assert_frame_equal(first.frame, whole.iloc[first.rows - 1].reset_index(drop=True))
    # Uniform: each tenth of the file holds about a tenth of the sample.
    counts = np.bincount((first.rows - 1) * 10 // N_ROWS, minlength=10)
    assert counts.min() > 25
    assert sample_table(files["csv"], N_ROWS * 2).frame.shape[0] == N_ROWS

    model = tmp_path / "sampled"
    args = ["train", str(files["csv"]), "--model-out", str(model), "--sample", "500", "--detector", "pca"]
    assert main(args) == 0
    assert "a uniform sample of 500 of 3,000 rows (seed 0)" in capsys.readouterr().err
    metadata = load_bundle(model).metadata["user"]
    assert metadata["sample"] == {"rows": 500, "of": N_ROWS, "seed": 0}


def test_train_refuses_a_device_instead_of_reading_it_until_memory_runs_out(tmp_path, capsys):
    assert main(["train", "/dev/zero", "--model-out", str(tmp_path / "m")]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: /dev/zero is not a regular file (a device or a pipe); save the data to a file first."
    ]


def test_a_part_of_a_file_in_another_encoding_reads_like_the_whole(tmp_path):
    frame = pd.DataFrame({"city": ["Zürich", "Malmö", "Gent"] * 2_000, "n": np.arange(6_000.0)})
    path = tmp_path / "latin.csv"
    path.write_bytes(frame.to_csv(index=False).encode("cp1252"))
    stream = read_table_chunks(path)
    header = len(b"city,n\n")
    middle = path.read_bytes().index(b"\n", 30_000) + 1  # a line end past the first rows
    parts = [*stream.read_part(header, middle, 0), *stream.read_part(middle, path.stat().st_size, 0)]
    text = pd.concat([c.text for c in parts], ignore_index=True)
    assert text["city"].tolist() == frame["city"].tolist()
