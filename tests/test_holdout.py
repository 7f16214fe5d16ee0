"""Holding rows out of training for honest metrics: the library, the CLI and the pages."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import TINY_CONFIG, app_state, assert_clean, start_app, tiny_csv, upload

from detector import ColumnRoles, IsolationForestDetector, score_table
from detector.cli import main
from detector.errors import DataError
from detector.results import split_held_out
from detector.training import HoldOut, training_rows


def frame_with_times(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    times = pd.date_range("2024-01-01", periods=n, freq="h")
    order = rng.permutation(n)  # the file is not in time order
    return pd.DataFrame(
        {
            "when": times[order].strftime("%Y-%m-%d %H:%M"),
            "x": rng.normal(size=n),
            "label": (order >= n - 10).astype(int),  # the last 10 hours are anomalies
        }
    )


def test_a_random_hold_out_is_the_share_asked_for_and_repeatable():
    frame = frame_with_times()
    held = HoldOut(0.2).rows(frame)
    assert held.sum() == 20
    np.testing.assert_array_equal(held, HoldOut(0.2).rows(frame))
    assert not np.array_equal(held, HoldOut(0.2, seed=1).rows(frame))


def test_holding_out_the_last_rows_in_time_order_follows_the_timestamps_not_the_file():
    frame = frame_with_times()
    frame.loc[frame.index[0], "when"] = "not a time"  # counts as earliest
    held = HoldOut(0.1, in_time_order=True).rows(frame, "when")
    times = pd.to_datetime(frame["when"], errors="coerce")
    assert held.sum() == 10
    assert times[held].min() > times[~held].max()
    with pytest.raises(DataError, match="needs a timestamp column"):
        HoldOut(0.1, in_time_order=True).rows(frame, None)


@pytest.mark.parametrize("share", [-0.1, 0.6, "a"])
def test_an_impossible_share_is_refused(share):
    with pytest.raises(ValueError, match=r"between 0 and 0\.5"):
        HoldOut(share)


def test_held_out_rows_are_not_trained_on_and_too_few_left_is_said():
    frame = frame_with_times(40)
    roles = ColumnRoles(numeric=("x",), label="label")
    held = HoldOut(0.25).rows(frame)
    rows = training_rows(frame, roles, held_out=held)
    assert list(rows.index) == list(frame.index[~held])
    normal = training_rows(frame, roles, normal_only=True, held_out=held)
    assert set(normal.index) == set(frame.index[~held & (frame["label"] == 0)])
    with pytest.raises(DataError, match=r"once the held-out rows are set aside.*or hold out fewer"):
        training_rows(frame.head(12), roles, held_out=HoldOut(0.5).rows(frame.head(12)))


def test_split_metrics_are_those_of_each_part():
    frame = frame_with_times(200)
    held = HoldOut(0.3, seed=2).rows(frame)
    roles = ColumnRoles(numeric=("x",))
    detector = IsolationForestDetector(columns=roles, n_estimators=20).fit(frame.loc[~held])
    scored = score_table(detector, frame, label="label")
    split = split_held_out(scored, held)
    assert split.n_held_out == 60
    assert split.held_out.n_scored == 60
    assert split.rest.n_scored == 140
    threshold = float(detector.threshold_)
    expected = (scored.scores[held] > threshold).sum()
    assert split.held_out.count_flagged(threshold) == expected
    assert split_held_out(scored, None) is None
    assert split_held_out(score_table(detector, frame), held) is None  # no labels


@pytest.mark.slow
def test_the_cli_reports_held_out_metrics_beside_in_sample_ones(capsys, tmp_path):
    path = tmp_path / "timed.csv"
    frame_with_times(300).to_csv(path, index=False)
    args = ["train", str(path), "--label-column", "label", "--detector", "iforest", "--model-out",
            str(tmp_path / "m.zip")]
    assert main([*args, "--holdout", "0.2", "--holdout-last"]) == 0
    err = capsys.readouterr().err
    assert "holding out 60 rows (the last 20% of rows in time order)" in err
    assert "against 'label' (held-out rows, never trained on): ROC-AUC" in err
    assert "against 'label' (the rest, in-sample): ROC-AUC" in err

    assert main([*args, "--holdout", "0.7"]) == 2
    assert "error: --holdout: the hold-out share must be between 0 and 0.5" in capsys.readouterr().err
    assert main([*args, "--holdout-last"]) == 2
    assert "error: --holdout-last needs --holdout F" in capsys.readouterr().err


def test_the_train_page_holds_out_rows_and_results_shows_their_metrics():
    at = upload(start_app(), "tiny.csv", tiny_csv(120))
    app_state(at).settings.config = TINY_CONFIG
    at.switch_page("pages/train.py").run()
    rev = app_state(at).dataset.revision
    at.slider(key=f"holdout_{rev}").set_value(25).run()
    assert app_state(at).dataset.holdout == HoldOut(0.25)

    next(b for b in at.button if b.label == "Train model").click().run()
    deadline = time.monotonic() + 180
    while app_state(at).model is None:
        assert app_state(at).training.job.progress().status != "failed"
        assert time.monotonic() < deadline
        time.sleep(0.5)
        at.run()
    model = app_state(at).model
    assert model.trained_on.n_rows == 90
    assert model.held_out.sum() == 30

    at.switch_page("pages/results.py").run()
    assert_clean(at)
    assert any(m.value.startswith("**On the 30 held-out rows**") for m in at.markdown)
    table = next(d.value for d in at.dataframe if "rows" in d.value.columns and "ROC-AUC" in d.value.columns)
    table = table.data if hasattr(table, "data") else table
    assert list(table["count"]) == [30, 90]
