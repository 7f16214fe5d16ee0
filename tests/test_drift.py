"""Tests for detector.drift: new rows against what a model was trained on."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import correlated_table

from detector.bundle import bundle_bytes, load_bundle
from detector.cli import main
from detector.drift import DriftAccumulator, TrainingProfile, check_drift
from detector.errors import DataError
from detector.pca import PCADetector

FIXTURE = Path(__file__).parent / "data" / "bundles"


@pytest.fixture(scope="module")
def model() -> PCADetector:
    return PCADetector(contamination=0.05).fit(correlated_table(n_rows=400))


def shifted(frame: pd.DataFrame) -> pd.DataFrame:
    """The pump in another regime: two columns far above anything seen, a new site, gaps."""
    out = frame.copy()
    out["a"] = out["a"] + 40
    out["b"] = out["b"] * 3 + 60
    out.loc[: len(out) // 4, "site"] = "west"
    out.loc[: len(out) // 3, "d"] = np.nan
    return out


def test_rows_like_the_training_rows_raise_nothing(model):
    frame = correlated_table(n_rows=400, seed=1)
    report = check_drift(model, frame).with_flags(model.decision_function(frame), model.threshold_, 0.05)
    assert not report.worth_saying, report.headline()
    assert not report.out_of_depth
    assert report.flagged_share < 0.2


def test_a_different_regime_is_out_of_depth_and_says_where(model):
    frame = shifted(correlated_table(n_rows=400, seed=1))
    report = check_drift(model, frame).with_flags(model.decision_function(frame), model.threshold_, 0.05)
    assert report.out_of_depth
    assert [c.name for c in report.mostly_outside] == ["a", "b"]
    columns = {c.name: c for c in report.columns}
    assert columns["a"].above == 1.0
    assert columns["a"].median_shift > 10
    assert columns["site"].unseen == pytest.approx(101 / 400)
    assert columns["site"].unseen_examples == ("west",)
    assert columns["d"].missing == pytest.approx(134 / 400)
    assert columns["d"].missing_in_training == 0.0
    assert columns["c"].drifted is False
    headline = report.headline()
    assert headline.startswith(
        "2 of 5 columns are mostly outside what the model was trained on (a: 100% of values"
    )
    assert "The model flags" in headline
    assert "mostly mean 'different from training', not 'anomalous'" in headline
    table = report.table()
    assert table.set_index("column").loc["a", "verdict"] == "mostly outside"
    json.dumps(report.to_dict(), allow_nan=False)


def test_flagging_every_row_is_never_silent(model):
    frame = correlated_table(n_rows=400, seed=1)
    report = check_drift(model, frame).with_flags(np.ones(400), 0.5, 0.05)
    assert report.out_of_depth
    assert "flags 100% of the rows; it expects about 5%" in report.headline()


def test_a_file_checked_in_chunks_gives_the_whole_files_counts(model):
    frame = shifted(correlated_table(n_rows=400, seed=1))
    whole = check_drift(model, frame)
    total = DriftAccumulator(model)
    for start in range(0, 400, 70):
        part = DriftAccumulator(model, seed=start, sample_size=30)
        part.add(frame.iloc[start : start + 70])
        total.merge(part)
    chunked = total.report()
    for a, b in zip(whole.columns, chunked.columns, strict=True):
        assert (a.below, a.above, a.unseen, a.missing) == (b.below, b.above, b.unseen, b.missing)
        if a.median_shift is not None:
            assert b.median_shift == pytest.approx(a.median_shift, abs=1.0)


def test_the_training_profile_survives_a_bundle_and_old_bundles_check_shifts_only(model):
    loaded = load_bundle(io.BytesIO(bundle_bytes(model))).detector
    assert loaded.training_profile_ == model.training_profile_
    old = load_bundle(FIXTURE / "v1_autoencoder.zip").detector
    assert old.training_profile_ is None
    columns = list(old.feature_columns)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.normal(size=50) + 1_000 for c in columns})
    report = check_drift(old, frame)
    assert not report.ranges_known
    assert all(c.below is None for c in report.columns)
    assert report.drifted  # the medians moved by far more than three spreads


@pytest.mark.parametrize(
    "profile",
    [
        {"columns": "x", "n_rows": 1},
        {"columns": [{"kind": "numeric", "name": "a", "missing": 2}], "n_rows": 1},
        {"columns": [{"kind": "numeric", "name": "a", "missing": 0, "minimum": "low"}], "n_rows": 1},
        {"columns": [{"kind": "categorical", "name": "a", "missing": 0, "categories": [1]}], "n_rows": 1},
        {"columns": [], "n_rows": -1},
    ],
)
def test_a_malformed_profile_is_refused(profile):
    with pytest.raises(DataError, match="training profile"):
        TrainingProfile.from_dict(profile)


def test_the_cli_warns_before_the_count_and_writes_a_report(model, tmp_path, capsys):
    bundle = tmp_path / "model"
    model.save(bundle)
    source = tmp_path / "later.csv"
    shifted(correlated_table(n_rows=400, seed=1)).to_csv(source, index=False)
    out = tmp_path / "scored.csv"
    for engine in ("memory", "local"):
        code = main(["score", str(source), "--model", str(bundle), "--output", str(out), "--report",
                     "--engine", engine, "--chunk-mb", "0.01"])
        err = capsys.readouterr().err.splitlines()
        assert code == 0
        warning = next(i for i, line in enumerate(err) if line.startswith("warning: 2 of 5 columns are"))
        flagged = next(i for i, line in enumerate(err) if line.startswith("flagged "))
        assert warning < flagged
        assert any(line.startswith("  next: Retrain on this file's normal part") for line in err)
        report = json.loads(Path(f"{out}.drift.json").read_text())
        assert report["out_of_depth"] is True
        assert report["rows"] == 400
        assert {c["column"] for c in report["columns"] if c["mostly_outside"]} == {"a", "b"}


def test_the_cli_is_quiet_on_a_file_like_the_training_rows(model, tmp_path, capsys):
    bundle = tmp_path / "model"
    model.save(bundle)
    source = tmp_path / "same.csv"
    correlated_table(n_rows=400, seed=1).to_csv(source, index=False)
    assert main(["score", str(source), "--model", str(bundle), "--output", str(tmp_path / "o.csv")]) == 0
    assert "warning:" not in capsys.readouterr().err
