"""The windowed autoencoder for time series: windows, order, series, scores, explanations, bundles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector import AutoencoderConfig, ColumnRoles, WindowedAutoencoderDetector, load_bundle
from detector.cli import main
from detector.errors import DataError
from detector.windowed import DEFAULT_WINDOW, dominant_period

QUICK = AutoencoderConfig(hidden_layers=(16,), bottleneck=3, epochs=30, patience=30, batch_size=32, seed=0)


def sensor_log(n: int = 600, period: int = 24, seed: int = 0, break_at: int | None = 400) -> pd.DataFrame:
    """Two sensors following a daily-like cycle; from ``break_at`` for a while, one oscillates fast
    within its usual range (each reading ordinary, the pattern not)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    a = np.sin(2 * np.pi * t / period) + 0.05 * rng.normal(size=n)
    b = np.cos(2 * np.pi * t / period) + 0.05 * rng.normal(size=n)
    if break_at is not None:
        stretch = slice(break_at, break_at + period)
        a[stretch] = np.sign(np.sin(np.pi * t[stretch] / 2)) * 0.9  # a valve flapping, in range
    return pd.DataFrame(
        {"when": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"), "a": a, "b": b}
    )


def test_the_dominant_period_is_found_or_said_to_be_absent():
    t = np.arange(2000)
    period, reason = dominant_period(np.sin(2 * np.pi * t / 50))
    assert period == 50
    assert reason.startswith("the series repeats every 50 rows")
    period, reason = dominant_period(np.random.default_rng(0).normal(size=2000))
    assert period is None
    assert "no repeating cycle" in reason or "weak" in reason


def test_a_pattern_break_of_ordinary_values_is_found_and_explained():
    frame = sensor_log()
    detector = WindowedAutoencoderDetector(config=QUICK).fit(frame)
    assert detector.window_ == 24
    assert detector.window_reason_.startswith("24 rows: the series repeats every 24 rows")
    assert detector.sensors_ == ("a", "b")
    assert detector.order_column_ == "when"
    scores, shares = detector.score_with_contributions(frame)
    top = np.argsort(-scores)[:20]
    assert ((top >= 400 - 24) & (top < 400 + 2 * 24)).mean() > 0.8, top
    assert list(shares.columns) == ["a", "b"]
    assert shares.iloc[top[0]]["a"] > shares.iloc[top[0]]["b"]  # the flapping sensor
    grid = detector.window_errors(frame, int(top[0]))
    assert grid.shape == (2, 24)
    assert list(grid.columns)[-1] == 0
    np.testing.assert_allclose(grid.to_numpy().sum(), 1.0, rtol=1e-6)
    flags = detector.predict(frame)
    assert 0 < flags.mean() <= 0.1


def test_rows_are_put_in_time_order_whatever_the_file_order():
    frame = sensor_log(n=300, break_at=None)
    detector = WindowedAutoencoderDetector(window=12, config=QUICK).fit(frame)
    shuffled = frame.sample(frac=1, random_state=0)
    again = detector.decision_function(shuffled)
    np.testing.assert_allclose(pd.Series(again, index=shuffled.index).sort_index(),
                               detector.decision_function(frame), rtol=1e-6)


def test_windows_never_cross_series_and_a_short_series_is_still_scored():
    one, two = sensor_log(n=300, break_at=None), sensor_log(n=300, seed=1, break_at=None)
    short = sensor_log(n=5, seed=2, break_at=None)
    frame = pd.concat([one.assign(machine="m1"), two.assign(machine="m2"), short.assign(machine="m3")],
                      ignore_index=True)
    detector = WindowedAutoencoderDetector(window=12, config=QUICK, series_column="machine").fit(frame)
    series = detector._series(frame)
    machines = frame["machine"].to_numpy()
    assert [len(set(machines[one.positions])) for one in series] == [1, 1, 1]
    # The 5-row series makes one window, padded at its start with its first row.
    assert [one.n_windows for one in series] == [300 - 11, 300 - 11, 1]
    scores = detector.decision_function(frame)
    assert np.isfinite(scores).all()


def test_a_bundle_scores_as_the_model_did(tmp_path):
    frame = sensor_log(n=300)
    detector = WindowedAutoencoderDetector(window=16, config=QUICK).fit(frame)
    detector.save(tmp_path / "model.zip")
    loaded = load_bundle(tmp_path / "model.zip").detector
    assert isinstance(loaded, WindowedAutoencoderDetector)
    assert loaded.window_ == 16
    assert loaded.feature_columns == ("a", "b", "when")
    np.testing.assert_allclose(loaded.decision_function(frame), detector.decision_function(frame), rtol=1e-5)
    assert loaded.threshold_ == detector.threshold_


def test_what_cannot_be_windowed_is_refused_clearly():
    frame = sensor_log(n=300)
    with pytest.raises(DataError, match="too short for windows of 500 rows"):
        WindowedAutoencoderDetector(window=500, config=QUICK).fit(frame.head(20))
    with pytest.raises(DataError, match="number columns \\(sensors\\) only; leave out site"):
        WindowedAutoencoderDetector(columns=ColumnRoles(numeric=("a",), categorical=("site",))).fit(
            frame.assign(site="x")
        )
    with pytest.raises(ValueError, match="at least 2 rows"):
        WindowedAutoencoderDetector(window=1).fit(frame)
    noise = pd.DataFrame({"x": np.random.default_rng(0).normal(size=400)})
    detector = WindowedAutoencoderDetector(config=QUICK).fit(noise)
    assert detector.window_ == DEFAULT_WINDOW
    assert detector.order_column_ is None  # file order


def test_the_cli_trains_and_scores_a_windowed_model(capsys, tmp_path):
    path = tmp_path / "log.csv"
    sensor_log(n=300).to_csv(path, index=False)
    model = tmp_path / "m.zip"
    assert main(["train", str(path), "--window", "16", "--epochs", "3", "--model-out", str(model)]) == 0
    err = capsys.readouterr().err
    assert "window: set to 16 rows" in err
    assert main(["score", str(path), "--model", str(model), "--output", str(tmp_path / "o.csv")]) == 0
    scored = pd.read_csv(tmp_path / "o.csv")
    assert scored["anomaly_score"].notna().all()
    assert set(scored["top_columns"].str.split(" ").str[0]) <= {"a", "b"}
    assert main(["train", str(path), "--series-column", "a", "--model-out", str(model)]) == 2
    assert "--series-column applies only with --window" in capsys.readouterr().err
    assert main(["train", str(path), "--window", "x", "--model-out", str(model)]) == 2
    assert "--window 'x' must be a number of rows or 'auto'" in capsys.readouterr().err


def test_each_row_takes_its_worst_covering_window_computed_from_views():
    from detector.windowed import TIE_BREAK, _Series

    rng = np.random.default_rng(0)
    positions, w = np.arange(40), 6
    values = rng.normal(size=(40, 2))
    one = _Series(positions, values, w)
    assert one.n_windows == 35
    # Window 3 is rows 3 to 8, sensor by sensor.
    np.testing.assert_array_equal(one.flat(np.array([3]))[0], np.r_[values[3:9, 0], values[3:9, 1]])
    scores = rng.random(35)
    scores[7] = np.nan
    worst, best = one.row_max(scores)
    for i in range(40):
        covering = [j for j in range(max(0, i - w + 1), min(i, 34) + 1) if np.isfinite(scores[j])]
        top = max(scores[j] for j in covering)
        assert worst[i] == pytest.approx(top + TIE_BREAK * np.mean([scores[j] for j in covering]))
        assert scores[best[i]] == top


def test_flagged_rows_group_into_episodes_with_their_sensors():
    frame = sensor_log()
    detector = WindowedAutoencoderDetector(config=QUICK).fit(frame)
    scores, shares = detector.score_with_contributions(frame)
    flags = scores > np.quantile(scores, 0.9)
    table = detector.episodes(frame, flags, scores, shares)
    assert list(table.columns) == [
        "episode", "start", "end", "duration", "rows", "peak score", "peak row", "top sensors",
    ]
    assert table["rows"].sum() == flags.sum()
    assert table["peak score"].is_monotonic_decreasing
    first = table.iloc[0]
    assert 400 - 24 <= first["peak row"] - 1 < 400 + 48
    assert first["top sensors"].startswith("a (")
    assert first["duration"] == first["end"] - first["start"]
    # Shuffled rows make the same episodes: they follow time, not the file.
    shuffled = frame.sample(frac=1, random_state=1)
    order = shuffled.index.to_numpy()
    moved = shares.iloc[order].reset_index(drop=True)
    again = detector.episodes(shuffled, flags[order], scores[order], moved)
    assert list(again["rows"]) == list(table["rows"])


def test_how_rows_sit_in_time_is_said_and_nothing_is_dropped():
    from detector.windowed import time_order_notes

    times = list(pd.date_range("2024-01-01", periods=100, freq="h").strftime("%Y-%m-%d %H:%M"))
    times[10], times[11] = times[11], times[10]
    times[20] = times[19]
    times[50:] = list(pd.date_range("2024-01-10", periods=50, freq="h").strftime("%Y-%m-%d %H:%M"))
    times[5] = "garbage"
    notes = time_order_notes(pd.DataFrame({"t": times}), "t")
    assert notes == [
        "1 row of 't' could not be read as a time; it is read first, in file order.",
        "The rows are not in time order (1 step back in time): they are read sorted by 't'; downloads keep "
        "the file's order.",
        "1 row is at the same time as the row before; such rows are kept, in file order.",
        "1 gap longer than 3 usual steps (the longest 6 days 23:00:00); windows span them, so rows next to "
        "a gap may score higher.",
    ]
    assert time_order_notes(pd.DataFrame({"x": [1]}), None) == [
        "There is no timestamp column: rows are read in file order."
    ]
    frame = pd.DataFrame({"t": times, "x": np.sin(np.arange(100) / 3)})
    roles = ColumnRoles(numeric=("x",), timestamp="t")
    detector = WindowedAutoencoderDetector(window=8, config=QUICK, columns=roles)
    assert np.isfinite(detector.fit(frame).decision_scores_).all()  # every row scored, none dropped


def test_the_expected_readings_follow_the_cycle_where_the_pattern_holds():
    frame = sensor_log()
    detector = WindowedAutoencoderDetector(config=AutoencoderConfig(
        hidden_layers=(32,), bottleneck=6, epochs=80, patience=80, batch_size=32, seed=0
    )).fit(frame)
    normal, odd = np.arange(100, 200), np.arange(400, 424)
    expected = detector.expected_at(frame, np.r_[normal, odd])
    error = (expected["a"] - frame["a"].iloc[expected.index].to_numpy()).abs()
    assert error.loc[normal].mean() < error.loc[odd].mean()
    assert error.loc[normal].mean() < 0.3


def test_series_shorter_than_two_windows_are_named():
    from detector.windowed import short_series_notes

    frame = pd.DataFrame({"machine": ["m1"] * 100 + ["m2"] * 30 + ["m3"] * 5, "x": np.arange(135.0)})
    (note,) = short_series_notes(frame, 24, "machine")
    assert note.startswith("2 series are shorter than two windows of 24 rows: 'm2' (30), 'm3' (5).")
    assert short_series_notes(frame, 10, "machine") == [
        "1 series is shorter than two windows of 10 rows: 'm3' (5). Their rows are scored (a series shorter "
        "than one window is padded at its start with its first row), but the model sees little of them."
    ]
    (whole,) = short_series_notes(frame.head(40), 24)
    assert whole.startswith("The table has 40 rows, fewer than two windows")
    assert short_series_notes(frame, 24) == []


def test_the_series_column_is_suggested_when_times_recur_across_its_values():
    from pathlib import Path

    from detector.windowed import suggest_series_column

    sensors = pd.read_csv(Path(__file__).resolve().parent.parent / "sample_data" / "sensors.csv")
    assert suggest_series_column(sensors, "timestamp", ["machine"]) == "machine"
    one = sensors[sensors["machine"] == "press_a"]
    assert suggest_series_column(one, "timestamp", ["machine"]) is None  # times do not recur
    shuffled = sensors.assign(noise=np.resize(["x", "y"], len(sensors)))
    assert suggest_series_column(shuffled, "timestamp", ["noise", "machine"]) == "machine"
    assert suggest_series_column(sensors, None, ["machine"]) is None
