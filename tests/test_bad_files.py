"""Hostile input: every corpus file is read (saying what was converted) or refused for a reason.

Each file of ``tests/data/bad/`` goes through the library (read, profile, roles, preprocessing,
and a model where it is worth it) and through the command line (exit 0, or exit 2 with one
``error:`` line and no traceback). Downloads must carry the user's cells exactly, rows that
cannot be scored must stay in them, and no cell may run as a spreadsheet formula.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bad_corpus import BAD_DIR, Expectation, bad_cases
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig
from detector.bundle import load_bundle
from detector.cli import main
from detector.columns import ColumnRoles, infer_roles, profile_columns
from detector.errors import DataError
from detector.explanations import top_columns
from detector.export import FORMULA_PREFIXES, rows_csv
from detector.preprocessing import Preprocessor
from detector.table import read_table, read_table_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TINY = AutoencoderConfig(hidden_layers=(8,), bottleneck=2, epochs=2, batch_size=32, seed=0)
CASES = bad_cases()
IDS = [path.name for path, _ in CASES]
# Files whose features end up as plain x/y numbers are scored with one model, trained on a clean
# x/y file: a model per file would triple the run time and test nothing more.
XY_FILE = BAD_DIR / "cr_line_endings.csv"


class Models:
    """Detectors and saved bundles, trained once for this module and shared by its tests."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.detectors: dict[str, AutoencoderDetector] = {}
        self.bundles: dict[str, Path] = {}

    def detector(
        self, path: Path, table: tuple[pd.DataFrame, ColumnRoles] | None = None
    ) -> AutoencoderDetector:
        """The file's detector; pass its frame and roles when known (5,000 columns take seconds)."""
        if path.name not in self.detectors:
            frame, roles = table or (read_table(path).frame, None)
            self.detectors[path.name] = AutoencoderDetector(config=TINY, columns=roles).fit(frame)
        return self.detectors[path.name]

    def bundle(self, path: Path, expected: Expectation) -> Path:
        """The file's own model if it is worth one, else the shared x/y model."""
        source = path if expected.model else XY_FILE
        if source.name not in self.bundles:
            self.bundles[source.name] = self.detector(source).save(self.folder / f"{source.stem}.zip")
        return self.bundles[source.name]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Models:
    return Models(tmp_path_factory.mktemp("models"))


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_the_corpus_covers_the_issue():
    refused = [path for path, expected in CASES if expected.outcome == "refused"]
    assert len(CASES) >= 30
    assert len(refused) >= 10
    big = {path.name: path.stat().st_size for path, _ in CASES if path.parent != BAD_DIR}
    assert big["one_megabyte_field.csv"] > 1 << 20
    assert all(path.stat().st_size < 200_000 for path, _ in CASES if path.parent == BAD_DIR)


# --- the library --------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), CASES, ids=IDS)
def test_library_reads_with_notes_or_refuses_saying_what_and_where(path, expected, models):
    if expected.outcome == "refused":
        with pytest.raises(DataError) as refusal:
            read_table(path)
        for part in expected.message:
            assert part in str(refusal.value)
        return

    table = read_table(path)
    frame = table.frame
    assert frame.shape == expected.shape
    notes = " | ".join(table.report.notes)
    for part in expected.notes:
        assert part in notes
    if expected.columns is not None:
        assert tuple(frame.columns) == expected.columns
    for field, value in expected.dialect:
        assert getattr(table.report.dialect, field) == value
    text = read_table_text(path, table.report.dialect)
    assert text.shape == frame.shape
    assert list(text.columns) == list(frame.columns)

    roles = infer_roles(frame, profile_columns(frame))
    if expected.training is not None:
        with pytest.raises(DataError) as refusal:
            AutoencoderDetector(config=TINY).fit(frame)
        assert expected.training in str(refusal.value)
        return
    roles.check(frame)
    preprocessor = Preprocessor(numeric=roles.numeric, categorical=roles.categorical)
    usable = ~preprocessor.missing_feature_rows(frame)
    matrix = preprocessor.fit(frame.loc[usable]).transform(frame)
    assert matrix.shape[0] == len(frame)
    assert np.isfinite(matrix).all()
    if expected.model:
        scores = models.detector(path, (frame, roles)).decision_scores_
        assert len(scores) == len(frame)
        assert np.isfinite(scores[usable]).all()


csv_pieces = st.sampled_from(
    [*'abc019.,;|\t"\n\r -+eé?=@<>', "inf", "-Infinity", "NaN", "NA", "1e309", "-0", "1,5", "1.234,5",
     "\ufeff", "\x00", "sep=;\n", "<script>", "=cmd|'/C calc'!A0", "2024-01-01", '""', "\r\n"]
)  # fmt: skip
csv_like = st.lists(csv_pieces, max_size=50).map("".join)
any_input = st.one_of(
    st.binary(max_size=400),
    st.tuples(csv_like, st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"])).map(
        lambda pair: pair[0].encode(pair[1], errors="replace")
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(any_input)
def test_random_bytes_and_csv_like_text_only_ever_raise_data_error(data):
    try:
        table = read_table(data)
    except DataError:
        return
    # Once a table is read, nothing downstream may fail on it except with a reason.
    roles = infer_roles(table.frame, profile_columns(table.frame))
    with contextlib.suppress(DataError):
        roles.check(table.frame)
    twin = read_table_text(data, table.report.dialect)
    assert twin.shape == table.frame.shape
    n_rows = len(twin)
    download = rows_csv(twin, np.zeros(n_rows), np.zeros(n_rows, bool), None, only_flagged=False)
    written = pd.read_csv(io.BytesIO(download), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert written.shape == (n_rows, table.frame.shape[1] + 3), "every row and column is downloaded"


# --- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected"), CASES, ids=IDS)
def test_cli_exits_0_or_2_with_one_error_line(path, expected, models, tmp_path, capsys):
    expected_error = next(
        (e for e in (expected.cli_error, expected.training) if e is not None),
        expected.message[-1] if expected.outcome == "refused" else None,
    )
    if expected_error is not None:
        code = main(["train", str(path), "--model-out", str(tmp_path / "model"), *expected.cli_args])
        errors = error_lines(capsys.readouterr().err)
        assert code == 2
        assert len(errors) == 1
        assert expected_error in errors[0]
        return

    out = tmp_path / "scored.csv"
    code = main(["score", str(path), "--model", str(models.bundle(path, expected)), "--output", str(out)])
    stderr = capsys.readouterr().err
    assert code == 0, stderr
    assert error_lines(stderr) == []
    written = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(written) == expected.shape[0], "every row is written"
    numbers = written.columns[0]  # "row", or "row_2" when the file has a "row" column of its own
    assert numbers.startswith("row")
    assert written[numbers].tolist() == [str(i) for i in range(1, len(written) + 1)]
    assert written.columns[expected.shape[1] + 1] == "anomaly_score"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "detector", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
        check=False,
    )


def test_a_refusal_through_the_real_process(tmp_path):
    result = run_cli("train", str(BAD_DIR / "binary.csv"), "--model-out", str(tmp_path / "model"))
    assert result.returncode == 2
    errors = error_lines(result.stderr)
    assert errors == [result.stderr.strip()]
    assert "binary.csv does not look like a text table" in errors[0]


# --- nothing lost, nothing altered --------------------------------------------------------------


def cells(text: str, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    """Header and rows exactly as written, split by Python's csv module."""
    header, *rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return header, rows


def assert_original_cells(download: bytes, source: Path, delimiter: str, n_rows: int) -> None:
    """Each downloaded row (found by its first cell, a row id) holds the source row's cells."""
    header, rows = cells(source.read_bytes().decode("utf-8"), delimiter)
    original = {row[0]: row for row in rows}
    written_header, written = cells(download.decode("utf-8-sig"))
    assert written_header[0].startswith("row")  # the row numbers come first
    written_header, written = written_header[1:], [row[1:] for row in written]
    assert written_header[: len(header)] == header
    assert len(written) == n_rows
    for row in written:
        assert row[: len(header)] == original[row[0]], f"row {row[0]} changed"


@pytest.mark.parametrize(
    ("name", "delimiter", "in_process"),
    [("awkward_numbers.csv", ",", False), ("awkward_numbers_decimal_comma.csv", ";", True)],
)
def test_flagged_rows_download_carries_every_original_cell_as_written(
    name, delimiter, in_process, tmp_path, capsys
):
    source = BAD_DIR / name
    model = tmp_path / "model.zip"
    assert main(["train", str(source), "--model-out", str(model), "--epochs", "2"]) == 0
    out = tmp_path / "flagged.csv"
    # A threshold below every score flags all rows, so every awkward spelling is checked.
    args = ["score", str(source), "--model", str(model), "--output", str(out), "--only-flagged"]
    args += ["--threshold", "-1"]
    if in_process:
        assert main(args) == 0, capsys.readouterr().err
    else:
        result = run_cli(*args)
        assert result.returncode == 0, result.stderr
    assert_original_cells(out.read_bytes(), source, delimiter, n_rows=24)

    table = read_table(source)
    scores, shares = load_bundle(model).detector.score_with_contributions(table.frame)
    text = read_table_text(source, table.report.dialect)
    download = rows_csv(text, scores, scores > -1, top_columns(shares), only_flagged=True)
    assert_original_cells(download, source, delimiter, n_rows=24)


def test_rows_without_feature_values_are_reported_and_kept_with_an_empty_score(tmp_path, capsys):
    source = BAD_DIR / "rows_without_features.csv"
    model = tmp_path / "model"
    assert main(["train", str(source), "--model-out", str(model), "--epochs", "2"]) == 0
    trained = capsys.readouterr().err
    assert "3 rows had no feature values (first at row 4) and could not be scored" in trained
    assert "left out of training" in trained

    out = tmp_path / "all.csv"
    assert main(["score", str(source), "--model", str(model), "--output", str(out)]) == 0
    assert "3 rows had no feature values (first at row 4)" in capsys.readouterr().err
    written = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(written) == 24
    unscored = written["row"].isin(["r03", "r10", "r17"])
    assert (written.loc[unscored, ["anomaly_score", "is_anomaly"]] == "").all().all()
    assert (written.loc[~unscored, "anomaly_score"] != "").all()


def test_download_neutralises_formulas_in_text_and_headers_but_not_numbers(models, tmp_path, capsys):
    source = BAD_DIR / "formula_injection.csv"
    expected = dict(CASES)[source]
    out = tmp_path / "scored.csv"
    args = ["score", str(source), "--model", str(models.bundle(source, expected)), "--output", str(out)]
    assert main(args) == 0, capsys.readouterr().err

    _, original = cells(source.read_bytes().decode("utf-8"))  # read_text would turn "\r" into "\n"
    header, written = cells(out.read_bytes().decode("utf-8-sig"))  # in the file's row order
    header, written = header[1:], [row[1:] for row in written]  # past the row numbers
    assert header[:5] == ["x", "y", "balance", '\'=HYPERLINK("http://x")', "'-user"]
    assert len(written) == len(original) == 24
    for row, source_row in zip(written, original, strict=True):
        assert row[:3] == source_row[:3], "number columns are untouched, signs included"
        for written_cell, source_cell in zip(row[3:5], source_row[3:5], strict=True):
            risky = source_cell.startswith(FORMULA_PREFIXES)
            assert written_cell == ("'" + source_cell if risky else source_cell)
    balances = {row[2] for row in written}
    assert {"-3.5", "+1", "-0"} <= balances
    comments = {row[3] for row in written}
    assert {"'=1+1", "'@SUM(A1:A2)", "'\tTAB", "'\rCR", "'-2+3", "plain"} <= comments
