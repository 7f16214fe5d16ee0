"""Time series in the app, driven through AppTest: the Data page's choice, training, episodes."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import app_state, assert_clean, start_app, tiny_csv, upload
from streamlit.testing.v1 import AppTest

from detector.autoencoder_config import AutoencoderConfig
from detector.windowed import WindowedAutoencoderDetector
from ui.samples import SAMPLES, load_sample

QUICK = AutoencoderConfig(hidden_layers=(16,), bottleneck=3, epochs=20, patience=20, batch_size=32, seed=0)


def sensor_csv(n: int = 480, period: int = 24) -> bytes:
    rng = np.random.default_rng(0)
    t = np.arange(n)
    a = np.sin(2 * np.pi * t / period) + 0.05 * rng.normal(size=n)
    b = np.cos(2 * np.pi * t / period) + 0.05 * rng.normal(size=n)
    a[300:324] = np.sign(np.sin(np.pi * t[300:324] / 2)) * 0.9  # a flapping valve, each value in range
    frame = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
                          "pressure": a.round(4), "flow": b.round(4)})
    return frame.to_csv(index=False).encode()


def test_a_sensor_log_read_as_a_time_series_gives_episodes_with_their_sensors():
    at = upload(start_app(), "pump.csv", sensor_csv())
    assert_clean(at)
    dataset = app_state(at).dataset
    # On by default: the table has a timestamp column, and the page says why.
    assert at.toggle(key=f"time_series_{dataset.revision}").value
    assert dataset.time_series.enabled
    assert "On because column `when` holds times: the rows are read as readings over time. Switch this " \
        "off to score each row alone." in [c.value for c in at.caption]
    assert dataset.window() == 24
    assert any(c.value.startswith("Suggested: 24 rows: the series repeats every 24 rows") for c in at.caption)

    app_state(at).settings.config = QUICK
    at.switch_page("pages/train.py").run()
    assert any("windows of 24 consecutive rows × 2 sensors = 48 inputs" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Train model").click().run()
    wait_for_model(at)
    assert isinstance(app_state(at).model.detector, WindowedAutoencoderDetector)

    at.switch_page("pages/results.py").run()
    assert_clean(at)
    assert any(h.value == "Episodes" for h in at.subheader)
    view = app_state(at).results
    episodes = next(d.value for d in at.dataframe if d.key == view.key("episodes"))
    first = episodes.iloc[0]
    assert 300 - 24 <= first["peak row"] - 1 < 324 + 24
    assert first["top sensors"].startswith("pressure")
    assert "Download episodes" in [b.label for b in at.get("download_button")]

    # An episode can be reviewed as a whole: every row of it is marked.
    number = int(first["episode"])
    at.button(key=view.key(f"episode_expected_{number}")).click().run()
    assert_clean(at)
    summary = view.reviews.summary(view.row_keys(), view.scored.flags(view.threshold))
    assert summary.n_expected == first["rows"]

    # Confirmed as real instead, the episode's rows are left out of a retraining of the windowed model.
    at.button(key=view.key(f"episode_anomaly_{number}")).click().run()
    model = app_state(at).model
    next(b for b in at.button if b.label.startswith("Retrain without the")).click().run()
    wait_for_model(at, old=model)
    assert_clean(at)
    retrained = app_state(at).model
    assert isinstance(retrained.detector, WindowedAutoencoderDetector)
    assert retrained.retrained.left_out == first["rows"]
    assert retrained.trained_on.n_rows == len(dataset.frame) - first["rows"]


def wait_for_model(at, old=None, timeout: float = 180) -> None:
    """Rerun ``at`` until a model other than ``old`` is in the session (the training did not fail)."""
    deadline = time.monotonic() + timeout
    while app_state(at).model is old:
        progress = app_state(at).training.job.progress()
        assert progress.status != "failed", progress.error
        assert time.monotonic() < deadline
        time.sleep(0.5)
        at.run()


def sensor_sample() -> AppTest:
    """The app's Data page with the bundled sensor sample (a week of three presses) loaded."""
    at = start_app()
    load_sample(app_state(at), next(s for s in SAMPLES if s.file == "sensors.csv"))
    return at.run()


def test_the_sensor_sample_is_a_time_series_that_takes_its_machine_column_as_the_series():
    at = sensor_sample()
    assert_clean(at)
    dataset = app_state(at).dataset
    assert at.toggle(key=f"time_series_{dataset.revision}").value
    assert dataset.time_series.enabled
    assert dataset.time_series.series_column == "machine"
    assert at.selectbox(key=f"series_{dataset.revision}").value == "machine"
    # Per machine, the times neither repeat nor run backwards: no note says they do.
    assert not [w.value for w in at.warning if "same time as the row before" in w.value]
    # The machine names the series, so it is not listed among the columns windows leave out.
    assert not [c.value for c in at.caption if c.value.startswith("Rows are read in time order") and
                "Not read as a time series" in c.value]


def test_a_table_without_a_timestamp_is_scored_row_by_row_and_says_so():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    assert_clean(at)
    dataset = app_state(at).dataset
    assert not at.toggle(key=f"time_series_{dataset.revision}").value
    assert not dataset.time_series.enabled
    assert any(c.value.startswith("Off: each row is scored alone, as there is no timestamp column.")
               for c in at.caption)


def test_switching_the_time_series_off_sticks_across_reruns_and_pages():
    at = sensor_sample()
    dataset = app_state(at).dataset
    key = f"time_series_{dataset.revision}"
    at.toggle(key=key).set_value(False).run()
    assert_clean(at)
    assert not dataset.time_series.enabled
    assert dataset.time_series_choice is False
    assert "Off: each row is scored alone, as you chose, although column `timestamp` holds times." in [
        c.value for c in at.caption
    ]

    at.run()
    at.switch_page("pages/train.py").run()
    assert_clean(at)
    # The Train page reads the rows one at a time: no windows, the row-wise encoding.
    assert not [i.value for i in at.info if i.value.startswith("Time series:")]
    assert dataset.network_inputs() == 9  # 6 sensors and the 3 machines one-hot
    at.switch_page("pages/data.py").run()
    assert_clean(at)
    assert not at.toggle(key=key).value
    assert not dataset.time_series.enabled

    # Switched on again, it stays on too.
    at.toggle(key=key).set_value(True).run()
    at.switch_page("pages/train.py").run()
    at.switch_page("pages/data.py").run()
    assert at.toggle(key=key).value
    assert dataset.time_series.enabled


def test_the_default_follows_the_timestamp_role_until_the_user_chooses():
    at = sensor_sample()
    dataset = app_state(at).dataset
    rev = dataset.revision
    at.selectbox(key=f"timestamp_{rev}").set_value("(none)").run()
    assert_clean(at)
    assert not at.toggle(key=f"time_series_{rev}").value
    assert not dataset.time_series.enabled
    at.selectbox(key=f"timestamp_{rev}").set_value("timestamp").run()
    assert at.toggle(key=f"time_series_{rev}").value
    assert dataset.time_series.enabled

    # Once the user has switched it on, taking the timestamp away keeps it on (in file order).
    at.toggle(key=f"time_series_{rev}").set_value(False).run()
    at.toggle(key=f"time_series_{rev}").set_value(True).run()
    at.selectbox(key=f"timestamp_{rev}").set_value("(none)").run()
    assert_clean(at)
    assert at.toggle(key=f"time_series_{rev}").value
    assert any("Rows are read in time order, in file order (no timestamp column)" in c.value
               for c in at.caption)


def test_a_new_table_starts_from_its_own_default():
    at = sensor_sample()
    at.toggle(key=f"time_series_{app_state(at).dataset.revision}").set_value(False).run()
    upload(at, "pump.csv", sensor_csv())
    assert_clean(at)
    dataset = app_state(at).dataset
    assert dataset.time_series_choice is None
    assert at.toggle(key=f"time_series_{dataset.revision}").value


def test_a_baseline_on_a_time_series_reads_one_row_at_a_time_and_says_so():
    at = sensor_sample()
    dataset = app_state(at).dataset
    at.switch_page("pages/train.py").run()
    at.radio(key="family").set_value("iforest").run()
    assert_clean(at)
    assert any(i.value.startswith("The Data page reads these rows as a time series, which only the "
                                  "autoencoder does (in windows of") and
               i.value.endswith("Isolation Forest scores each row alone.") for i in at.info)
    assert "6,048 training rows, encoded into 9 inputs." in [c.value for c in at.caption]
    next(b for b in at.button if b.label == "Train model").click().run()
    wait_for_model(at)
    assert_clean(at)
    assert app_state(at).model.detector.kind == "iforest"
    assert app_state(at).model_is_current()
    assert dataset.time_series.enabled


def test_a_time_series_without_numeric_features_cannot_train_and_says_why():
    at = sensor_sample()
    rev = app_state(at).dataset.revision
    at.multiselect(key=f"numeric_{rev}").set_value([]).run()
    # No sensor left: not a time series by default...
    assert not at.toggle(key=f"time_series_{rev}").value
    assert any("but there is no numeric feature (a sensor) to read over time" in c.value for c in at.caption)
    # ... and if the user insists, the Train page says what to change.
    at.toggle(key=f"time_series_{rev}").set_value(True).run()
    at.switch_page("pages/train.py").run()
    assert_clean(at)
    assert next(b for b in at.button if b.label == "Train model").disabled
    assert any("none is chosen. Choose one on the Data page, or switch off" in e.value for e in at.error)


@pytest.mark.slow
def test_the_sensor_sample_trains_with_the_fast_preset_into_episodes():
    # What a first look at the sensor sample does with every default: Data, Train (Fast), Results.
    at = sensor_sample()
    at.switch_page("pages/train.py").run()
    at.radio(key="preset").set_value("Fast").run()
    assert_clean(at)
    assert any(i.value.startswith("Time series: the network reads windows of") for i in at.info)
    next(b for b in at.button if b.label == "Train model").click().run()
    wait_for_model(at, timeout=300)
    assert_clean(at)
    assert any(s.value.startswith("Training finished") for s in at.success)

    at.switch_page("pages/results.py").run()
    assert_clean(at)
    headings = [h.value for h in at.subheader]
    assert "Episodes" in headings
    assert "Is the autoencoder worth it?" in headings
    assert any("They score each row alone; the Windowed autoencoder reads windows of" in c.value
               for c in at.caption)
    assert not at.error


def test_a_table_too_short_for_two_windows_is_refused_before_training_and_trains_row_by_row():
    at = upload(start_app(), "short.csv", sensor_csv(n=20))
    dataset = app_state(at).dataset
    assert dataset.time_series.enabled
    at.switch_page("pages/train.py").run()
    assert_clean(at)
    assert next(b for b in at.button if b.label == "Train model").disabled
    assert any("give only 1 window of 32 rows, and a model needs at least 2" in e.value for e in at.error)

    at.switch_page("pages/data.py").run()
    at.toggle(key=f"time_series_{dataset.revision}").set_value(False).run()
    at.switch_page("pages/train.py").run()
    assert_clean(at)
    assert not next(b for b in at.button if b.label == "Train model").disabled


def test_a_timestamped_log_with_a_text_feature_stays_row_by_row_and_says_why():
    from detector import text as text_model

    if not text_model.available():
        pytest.skip("needs the text extra (wordllama)")
    n = 60
    frame = pd.DataFrame({
        "time": pd.date_range("2024-01-01", periods=n, freq="min").strftime("%Y-%m-%d %H:%M"),
        "duration_ms": [10 + (i * 37) % 11 for i in range(n)],
        "message": [f"request {i} served from cache shard {i % 7} after retry" for i in range(n)],
    })
    at = upload(start_app(), "requests.csv", frame.to_csv(index=False).encode())
    assert_clean(at)
    dataset = app_state(at).dataset
    assert dataset.roles.text == ("message",)
    assert not at.toggle(key=f"time_series_{dataset.revision}").value
    assert any(c.value.startswith("Off: each row is scored alone: column `time` holds times, but the text "
                                  "features (message) are read one row at a time.") for c in at.caption)
