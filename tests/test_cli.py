"""The command line end to end on the bundled samples, and its one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from detector.cli import main

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "detector", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("sample", "label", "expected_columns"),
    [("breast_cancer.csv", "diagnosis", 32), ("sensors.csv", "is_anomaly", 9)],
)
def test_train_then_score_each_sample(tmp_path, sample, label, expected_columns):
    model = tmp_path / "model.zip"
    out = tmp_path / "scored.csv"
    trained = run_cli(
        "train", str(SAMPLES / sample), "--model-out", str(model), "--epochs", "5", "--seed", "1"
    )
    assert trained.returncode == 0, trained.stderr
    assert "epoch 1/5" in trained.stderr
    assert "training plan: up to 5 epochs" in trained.stderr
    assert f"against '{label}': ROC-AUC" in trained.stderr
    assert model.is_file()

    scored = run_cli("score", str(SAMPLES / sample), "--model", str(model), "--output", str(out))
    assert scored.returncode == 0, scored.stderr
    # Every line on stderr is the CLI's own: TensorFlow's native start-up chatter is held back.
    for output in (trained.stderr, scored.stderr):
        assert not [line for line in output.splitlines() if "absl" in line or "cuda" in line.lower()]
    result = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    original = pd.read_csv(SAMPLES / sample, dtype=str, keep_default_na=False)
    assert len(result) == len(original), "every input row is written"
    assert result.columns[0] == "row"
    assert result["row"].tolist() == [str(i) for i in range(1, len(result) + 1)]
    assert list(result.columns[1 : expected_columns + 1]) == list(original.columns)
    assert {"anomaly_score", "is_anomaly", "top_columns"} <= set(result.columns)
    # The user's values come back as they were written, cell for cell.
    pd.testing.assert_frame_equal(result[original.columns], original)
    flagged = result["is_anomaly"] == "1"
    assert 0 < flagged.sum() < len(result) * 0.2
    assert result.loc[flagged, "top_columns"].str.len().gt(0).all()


def test_train_says_in_one_line_when_the_step_limit_lowered_the_epochs(capsys, tmp_path):
    # sensors.csv: 6,048 rows in batches of 128 are 48 steps an epoch; 10 steps allow the minimum, 5.
    args = ["--epochs", "50", "--max-steps", "10", "--model-out", str(tmp_path / "m")]
    code = main(["train", str(SAMPLES / "sensors.csv"), *args])
    err = capsys.readouterr().err.splitlines()

    assert code == 0
    assert "epoch 5/5" in "\n".join(err)
    plan = [line for line in err if line.startswith("training plan:")]
    assert plan == [
        "training plan: 5 of 50 epochs: the step limit (10 batch steps) caps training on 6,048 rows "
        "(48 steps of 128 rows per epoch); raise --max-steps to train longer"
    ]


def test_only_flagged_with_a_threshold(tmp_path):
    model = tmp_path / "model"
    out = tmp_path / "flagged.csv"
    assert (
        run_cli("train", str(SAMPLES / "sensors.csv"), "--model-out", str(model), "--epochs", "3").returncode
        == 0
    )
    scored = run_cli(
        "score",
        str(SAMPLES / "sensors.csv"),
        "--model",
        str(model),
        "--output",
        str(out),
        "--only-flagged",
        "--threshold",
        "1e9",
    )
    assert scored.returncode == 0, scored.stderr
    assert "flagged 0 of 6,048 rows" in scored.stderr
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "missing.csv", "--model-out", "m"], "missing.csv"),
        (["train", "sample_data/sensors.csv", "--model-out", "m", "--columns", "nope"], "nope"),
        (["train", "sample_data/sensors.csv", "--model-out", "m", "--label-column", "x"], "'x'"),
        (
            [
                "score",
                "sample_data/sensors.csv",
                "--model",
                "sample_data/breast_cancer.csv",
                "--output",
                "o.csv",
            ],
            "not a zip",
        ),
    ],
)
def test_bad_input_exits_2_with_one_error_line(args, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: ")
    assert message in err[-1]
    assert not any("Traceback" in line for line in err)


def test_a_bug_is_one_error_line_with_exit_code_1(capsys, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr("detector.table.read_table", broken)
    monkeypatch.delenv("DETECTOR_TRACEBACK", raising=False)
    code = main(["train", str(tmp_path / "any.csv"), "--model-out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [err[-1]]
    assert err[-1].startswith("error: unexpected RuntimeError: something inside broke. This is a bug")


def test_a_bad_label_is_refused_before_training(capsys, tmp_path):
    data = tmp_path / "three.csv"
    data.write_text("x,label\n" + "".join(f"{i % 7}.5,{'abc'[i % 3]}\n" for i in range(30)))
    code = main(["train", str(data), "--model-out", str(tmp_path / "m"), "--label-column", "label"])
    err = capsys.readouterr().err
    assert code == 2
    assert "epoch" not in err
    assert err.strip().splitlines()[-1].startswith("error: the label column 'label' has 3 different values")


def test_bad_file_through_the_real_process(tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    result = run_cli("train", str(bad), "--model-out", str(tmp_path / "m"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in result.stderr


def test_help_for_each_command():
    for command in ("train", "score"):
        result = run_cli(command, "--help")
        assert result.returncode == 0
        assert "usage: python -m detector " + command in result.stdout


@pytest.mark.parametrize("family", ["iforest", "pca", "ecod"])
def test_a_baseline_family_trains_saves_and_scores(tmp_path, family):
    model = tmp_path / "model.zip"
    out = tmp_path / "scored.csv"
    trained = run_cli(
        "train", str(SAMPLES / "sensors.csv"), "--model-out", str(model), "--detector", family,
        "--label-column", "is_anomaly",
    )
    assert trained.returncode == 0, trained.stderr
    assert "against 'is_anomaly': ROC-AUC" in trained.stderr
    assert "epoch" not in trained.stderr  # a classical method reports its stages, not epochs
    scored = run_cli("score", str(SAMPLES / "sensors.csv"), "--model", str(model), "--output", str(out))
    assert scored.returncode == 0, scored.stderr
    result = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(result) == len(pd.read_csv(SAMPLES / "sensors.csv"))
    # Isolation Forest does not explain rows, so its output names no top columns.
    assert ("top_columns" in result.columns) == (family != "iforest")


def test_a_timestamped_file_trained_row_by_row_says_how_to_read_it_as_a_time_series(capsys, tmp_path):
    model = str(tmp_path / "m.zip")
    data = str(ROOT / "sample_data" / "sensors.csv")
    code = main(["train", data, "--model-out", model, "--detector", "iforest"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "note: column timestamp holds times; each row is scored alone. Add --window auto" in err


def test_autoencoder_options_are_refused_for_a_baseline(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["train", "sample_data/sensors.csv", "--model-out", "m.zip", "--detector", "iforest",
                 "--epochs", "3"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == "error: --epochs applies only to --detector autoencoder, not iforest."
    code = main(["train", "sample_data/sensors.csv", "--model-out", "m.zip", "--detector", "ecod",
                 "--no-failure-wording", "--max-steps", "9"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1] == (
        "error: --max-steps, --no-failure-wording apply only to --detector autoencoder, not ecod."
    )


def log_lines_csv(path: Path, n: int = 300) -> Path:
    templates = ["instruction cache parity error corrected", "generating core file", "ddr errors detected"]
    frame = pd.DataFrame(
        {
            "level": ["INFO"] * (n - 10) + ["FATAL"] * 10,
            "message": [f"{templates[i % 3]} {i}" for i in range(n - 1)]
            + ["kernel panic: cannot mount root"],
            "alert": [0] * (n - 1) + [1],
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_train_reads_free_text_or_says_how_to_install_the_text_model(capsys, tmp_path):
    from detector import text

    data = log_lines_csv(tmp_path / "logs.csv")
    code = main(["train", str(data), "--epochs", "3", "--model-out", str(tmp_path / "m.zip")])
    err = capsys.readouterr().err
    assert code == 0, err
    if text.available():
        assert "features (2): level, message; label: alert" in err
        assert "left out" not in err
    else:
        assert "features (1): level; label: alert" in err
        assert "note: free-text column message left out. Text columns need the text extra: " in err


def test_train_scores_failure_wording_unless_told_not_to(tmp_path):
    pytest.importorskip("wordllama")
    from detector import load_bundle

    data = log_lines_csv(tmp_path / "logs.csv")
    for flag, expected in (((), True), (("--no-failure-wording",), False)):
        out = tmp_path / f"m{len(flag)}.zip"
        assert main(["train", str(data), "--epochs", "3", "--model-out", str(out), *flag]) == 0
        assert ("wording" in load_bundle(out).detector.part_names) is expected


def test_naming_a_free_text_column_without_the_text_model_is_a_one_line_error(
    capsys, tmp_path, monkeypatch
):
    from detector import text

    monkeypatch.setattr(text, "available", lambda: False)
    data = log_lines_csv(tmp_path / "logs.csv")
    code = main(["train", str(data), "--columns", "level", "message", "--model-out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: --columns names free-text column message. Text columns need")


def test_a_parquet_file_with_damaged_metadata_is_a_one_line_error_with_exit_2(capsys, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "damaged.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]}), path)
    raw = bytearray(path.read_bytes())
    length = int.from_bytes(raw[-8:-4], "little")  # the footer's size, before the closing magic
    for i in range(len(raw) - 8 - length, len(raw) - 8, 3):
        raw[i] = 0xFF
    path.write_bytes(bytes(raw))
    code = main(["train", str(path), "--model-out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("error: damaged.parquet starts like a Parquet file but cannot be read")
