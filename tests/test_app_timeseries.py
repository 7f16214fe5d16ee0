"""Time series in the app, driven through AppTest: the Data page's choice, training, episodes."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from apptest_helpers import app_state, assert_clean, start_app, upload

from detector.autoencoder_config import AutoencoderConfig
from detector.windowed import WindowedAutoencoderDetector

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
    dataset = app_state(at).dataset
    assert any("if its rows are readings over time, turn this on" in c.value for c in at.caption)
    at.toggle(key=f"time_series_{dataset.revision}").set_value(True).run()
    assert_clean(at)
    assert dataset.time_series.enabled
    assert dataset.window() == 24
    assert any(c.value.startswith("Suggested: 24 rows: the series repeats every 24 rows") for c in at.caption)

    app_state(at).settings.config = QUICK
    at.switch_page("pages/train.py").run()
    assert any("windows of 24 consecutive rows × 2 sensors = 48 inputs" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Train model").click().run()
    deadline = time.monotonic() + 180
    while app_state(at).model is None:
        progress = app_state(at).training.job.progress()
        assert progress.status != "failed", progress.error
        assert time.monotonic() < deadline
        time.sleep(0.5)
        at.run()
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


def test_the_sensor_sample_as_a_time_series_takes_its_machine_column_as_the_series():
    at = start_app()
    dataset = app_state(at).dataset
    if dataset.name != "sensors.csv":
        from ui.samples import SAMPLES, load_sample

        load_sample(app_state(at), next(s for s in SAMPLES if s.file == "sensors.csv"))
        at.run()
        dataset = app_state(at).dataset
    at.toggle(key=f"time_series_{dataset.revision}").set_value(True).run()
    assert_clean(at)
    assert dataset.time_series.series_column == "machine"
    assert at.selectbox(key=f"series_{dataset.revision}").value == "machine"
    # Per machine, the times neither repeat nor run backwards: no note says they do.
    assert not [w.value for w in at.warning if "same time as the row before" in w.value]
