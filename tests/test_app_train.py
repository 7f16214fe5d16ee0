"""The Train page, driven through AppTest: presets, the network preview, training and stopping."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pandas as pd
import pytest
from apptest_helpers import app_state, assert_clean, start_app, tiny_csv, upload
from streamlit.testing.v1 import AppTest

from detector.autoencoder_config import AutoencoderConfig
from detector.columns import ColumnRoles
from detector.training import TrainingJob

# Two epochs of a tiny network on 60 rows: the cost is TensorFlow's import, not the training.
TINY = AutoencoderConfig(hidden_layers=(8,), bottleneck=2, epochs=2, patience=2, batch_size=16)
# 200 epochs asked for, but 60 rows in batches of 16 are 4 steps an epoch, and a 1-step limit
# allows the minimum of 5 epochs.
STEP_LIMITED = replace(TINY, epochs=200, patience=200, max_steps=1)


def train_page(config: AutoencoderConfig = TINY) -> AppTest:
    """The Train page with the tiny table loaded and ``config`` in the form."""
    at = upload(start_app(), "tiny.csv", tiny_csv())
    # Set before the Train page first draws, so its widgets start from this config.
    app_state(at).settings.config = config
    return at.switch_page("pages/train.py").run()


def train_button(at: AppTest):
    return next(b for b in at.button if b.label == "Train model")


def wait_until_trained(at: AppTest, timeout: float = 180) -> None:
    """Rerun (as the live fragment would) until the job's model has been collected."""
    deadline = time.monotonic() + timeout
    while app_state(at).model is None:
        training = app_state(at).training
        assert training is not None
        assert training.job.progress().status != "failed", training.job.progress().error
        assert time.monotonic() < deadline, "training did not finish in time"
        time.sleep(0.5)
        at.run()


def test_the_train_page_shows_the_network_before_training():
    at = train_page()

    assert_clean(at)
    # tiny.csv: temp, pressure, site (2 categories) -> 4 inputs; 4 -> 8 -> 2 -> 8 -> 4.
    assert any(m.value.startswith("**4 → 8 → 2 → 8 → 4**") for m in at.markdown)
    assert any("parameters" in m.value for m in at.markdown)
    assert not train_button(at).disabled


def test_the_preview_says_when_the_step_limit_lowers_the_epochs():
    at = train_page(STEP_LIMITED)

    assert_clean(at)
    notes = [info.value for info in at.info]
    assert any(
        note.startswith("Training runs 5 of 200 epochs: the step limit (1 batch steps) caps training "
                        "on 60 rows") and "**Step limit**" in note
        for note in notes
    ), notes
    assert not train_button(at).disabled


def test_the_preview_states_the_epochs_when_nothing_limits_them():
    at = train_page()

    assert not any("step limit" in info.value for info in at.info)
    assert any(c.value.startswith("Training runs up to 2 epochs on 60 rows") for c in at.caption)


def test_a_presets_step_limit_reaches_the_form_and_the_config():
    at = train_page()
    state = app_state(at)

    at.radio(key="preset").set_value("Fast").run()
    rev = state.settings.revision
    assert at.number_input(key=f"max_steps_{rev}").value == 1000
    assert state.settings.config.max_steps == 1000

    at.number_input(key=f"max_steps_{rev}").set_value(0).run()  # 0: no limit
    assert state.settings.config.max_steps is None


def test_a_preset_fills_the_advanced_settings():
    at = train_page()
    state = app_state(at)

    at.radio(key="preset").set_value("Thorough").run()

    assert_clean(at)
    rev = state.settings.revision
    assert at.number_input(key=f"epochs_{rev}").value == 300
    assert at.number_input(key=f"patience_{rev}").value == 20
    assert state.settings.config.epochs == 300


def test_an_advanced_field_reaches_the_config():
    at = train_page()
    rev = app_state(at).settings.revision

    at.number_input(key=f"epochs_{rev}").set_value(7).run()
    at.text_input(key=f"layers_{rev}").set_value("12, 6").run()
    assert at.checkbox(key=f"wording_{rev}").value is True
    at.checkbox(key=f"wording_{rev}").uncheck().run()

    config = app_state(at).settings.config
    assert config.epochs == 7
    assert config.hidden_layers == (12, 6)
    assert config.failure_wording is False


def test_an_invalid_setting_is_explained_and_blocks_training():
    at = train_page()
    rev = app_state(at).settings.revision

    at.text_input(key=f"layers_{rev}").set_value("64, lots").run()

    assert "whole numbers" in at.error[0].value
    assert train_button(at).disabled


@pytest.mark.slow
def test_training_completes_and_its_model_reaches_the_state():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    rev = app_state(at).dataset.revision
    at.multiselect(key=f"numeric_{rev}").set_value(["temp"]).run()  # a role override
    app_state(at).settings.config = TINY
    at.switch_page("pages/train.py").run()

    train_button(at).click().run()
    assert app_state(at).training is not None
    assert train_button(at).disabled  # one training per session
    # Leave the page while it trains: nothing is lost.
    at.switch_page("pages/data.py").run()
    wait_until_trained(at)
    at.switch_page("pages/train.py").run()

    assert_clean(at)
    model = app_state(at).model
    assert model.trained_on.dataset_name == "tiny.csv"
    assert len(model.history["loss"]) == 2
    assert model.trained_on.roles.numeric == ("temp",)
    assert model.detector.columns == ColumnRoles(numeric=("temp",), categorical=("site",))
    assert model.detector.preprocessor_.source_columns_ == ["temp", "site"]
    assert at.success[0].value.startswith("Training finished after 2 epochs")
    assert any(link.label.startswith("See the results") for link in at.get("page_link"))
    assert not train_button(at).disabled
    assert any("Autoencoder trained on tiny.csv" in caption.value for caption in at.sidebar.caption)


@pytest.mark.slow
def test_a_step_limited_training_says_how_many_of_its_epochs_it_ran():
    at = train_page(STEP_LIMITED)
    train_button(at).click().run()
    wait_until_trained(at)
    at.run()

    assert_clean(at)
    assert len(app_state(at).model.history["loss"]) == 5
    assert at.success[0].value.startswith("Training finished after 5 epochs")
    assert any(
        info.value.startswith("Trained 5 of the 200 epochs asked for: the step limit (1 batch steps)")
        for info in at.info
    ), [info.value for info in at.info]


@pytest.mark.slow
def test_stop_ends_training_early_and_keeps_a_model():
    long = AutoencoderConfig(hidden_layers=(8,), bottleneck=2, epochs=2000, patience=2000,
                             batch_size=16)
    at = train_page(long)
    train_button(at).click().run()
    job = app_state(at).training.job
    deadline = time.monotonic() + 120
    while job.progress().epoch < 1:
        assert job.progress().status in ("queued", "running"), job.progress().error
        assert time.monotonic() < deadline
        time.sleep(0.2)
    at.run()

    next(b for b in at.button if b.label == "Stop").click().run()
    wait_until_trained(at)
    at.run()

    model = app_state(at).model
    assert model.stopped_by_user
    assert 1 <= len(model.history["loss"]) < 2000
    assert at.success[0].value.startswith("Training stopped by you")


class Hold:
    """A stand-in detector whose fit blocks until released: another session's training."""

    config = AutoencoderConfig(epochs=1)

    def __init__(self) -> None:
        self.release = threading.Event()

    kind = "hold"

    def warm_up(self) -> None:
        pass

    def fit(self, X, y=None, *, on_progress=None):
        assert self.release.wait(30)
        return self


def test_a_training_waits_in_line_behind_another_sessions_and_says_so():
    other = Hold()
    other_job = TrainingJob(other, pd.DataFrame({"a": [1.0]})).start()
    try:
        at = train_page()
        train_button(at).click().run()

        job = app_state(at).training.job
        assert job.progress().status == "queued"
        assert any("Yours is queued (0 ahead of it)" in info.value for info in at.info)

        # Stopping a queued training cancels it; nothing was trained and nothing is lost.
        next(b for b in at.button if b.label == "Stop").click().run()
        job.wait(10)
        at.run()
        assert_clean(at)
        assert app_state(at).model is None
        assert "stopped before it started" in at.info[0].value
    finally:
        other.release.set()
        other_job.wait(10)
