"""Sessions on one server: each sees only its own data, model and results; trainings share a queue.

Every AppTest is a separate browser session with its own session state, in this one process,
so what is module-level (the sample cache, the training queue) is shared as on a real server.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import (
    TINY_CONFIG,
    app_state,
    assert_clean,
    start_app,
    tiny_csv,
    tiny_detector,
    upload,
    with_model,
)
from streamlit.testing.v1 import AppTest
from test_app_train import Hold, wait_until_trained

from detector.autoencoder import AutoencoderDetector
from detector.columns import infer_roles
from detector.table import read_table
from detector.training import (
    TrainingJob,
    feature_roles,
    max_concurrent_trainings,
    set_max_concurrent_trainings,
)
from ui.samples import DEFAULT_SAMPLE, SAMPLE_DIR, read_sample

SESSION_MODEL = "The model trained in this session"


@pytest.fixture(autouse=True)
def one_training_at_a_time() -> Iterator[None]:
    """The shipped default; restored afterwards whatever a test set."""
    set_max_concurrent_trainings(1)
    yield
    set_max_concurrent_trainings(1)


def other_csv(n_rows: int = 40) -> bytes:
    """A table sharing no column with tiny.csv, so anything leaking across is easy to spot."""
    rng = np.random.default_rng(1)
    volume = rng.normal(100, 10, n_rows).round(1)
    frame = pd.DataFrame({"volume": volume, "price": (volume / 4 + rng.normal(0, 1, n_rows)).round(2)})
    return frame.to_csv(index=False).encode()


def page_text(at: AppTest) -> str:
    """Every text the page and its sidebar show (enough to spot another session's file name)."""
    parts = [*at.markdown, *at.caption, *at.subheader, *at.success, *at.info, *at.warning, *at.error]
    parts += [*at.sidebar.markdown, *at.sidebar.caption]
    return "\n".join(str(p.value) for p in parts)


# --- isolation ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_sessions_never_see_each_others_data_model_or_results():
    first = with_model(upload(start_app(), "tiny.csv", tiny_csv()), tiny_detector())
    first.switch_page("pages/results.py").run()
    second = upload(start_app(), "other.csv", other_csv())

    assert_clean(first)
    assert_clean(second)
    mine, theirs = app_state(first), app_state(second)
    assert mine is not theirs
    assert (mine.dataset.name, mine.dataset.shape) == ("tiny.csv", (60, 4))
    assert (theirs.dataset.name, theirs.dataset.shape) == ("other.csv", (40, 2))
    assert mine.results is not None
    assert theirs.model is None
    assert theirs.results is None

    for page in ("pages/data.py", "pages/train.py", "pages/results.py", "pages/score.py"):
        second.switch_page(page).run()
        assert_clean(second)
        assert "tiny.csv" not in page_text(second), page
    second.switch_page("pages/results.py").run()
    assert "A trained model is needed first" in second.info[0].value
    second.switch_page("pages/score.py").run()
    assert SESSION_MODEL not in second.radio[0].options

    # The first session, run again after the second's uploads, still has only its own things.
    for page in ("pages/data.py", "pages/results.py", "pages/score.py"):
        first.switch_page(page).run()
        assert_clean(first)
        assert "other.csv" not in page_text(first), page
    assert app_state(first).dataset.name == "tiny.csv"
    assert SESSION_MODEL in first.radio[0].options
    assert app_state(first).results is mine.results


def test_the_sample_is_shared_in_memory_but_each_sessions_choices_are_its_own():
    first, second = start_app(), start_app()
    mine, theirs = app_state(first).dataset, app_state(second).dataset
    assert mine.name == theirs.name == DEFAULT_SAMPLE.file
    assert mine is not theirs
    assert mine.table is not theirs.table
    assert mine.frame is not theirs.frame

    first.multiselect(key=f"numeric_{mine.revision}").set_value(["mean_radius"]).run()
    first.selectbox(key=f"scaling_{mine.revision}").set_value("minmax").run()
    # Even a change made to one session's frame in place stays in that session.
    mine.frame.loc[0, "mean_radius"] = -1.0
    second.run()

    assert_clean(first)
    assert_clean(second)
    assert mine.roles.numeric == ("mean_radius",)
    assert len(theirs.roles.numeric) > 1
    assert theirs.preprocess.scaling == "robust"
    assert theirs.frame.loc[0, "mean_radius"] > 0
    pd.testing.assert_frame_equal(
        read_sample(DEFAULT_SAMPLE.file).frame, read_table(SAMPLE_DIR / DEFAULT_SAMPLE.file).frame,
    )


# --- four trainings at once ---------------------------------------------------------------------


def tiny_frames(n: int) -> list[pd.DataFrame]:
    """``n`` different small tables (their row counts tell them apart)."""
    return [read_table(tiny_csv(50 + 10 * i)).frame for i in range(n)]


def tiny_detectors(frames: list[pd.DataFrame]) -> list[AutoencoderDetector]:
    return [
        AutoencoderDetector(config=TINY_CONFIG, columns=feature_roles(infer_roles(frame)))
        for frame in frames
    ]


def wait_for(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def alone() -> tuple[list[pd.DataFrame], list[np.ndarray]]:
    """Four small tables and the scores of their models trained one after the other."""
    frames = tiny_frames(4)
    return frames, [d.fit(f).decision_scores_ for d, f in zip(tiny_detectors(frames), frames, strict=True)]


def running_count(jobs: list[TrainingJob]) -> int:
    return sum(job.progress().status == "running" for job in jobs)


@pytest.mark.slow
@pytest.mark.parametrize("limit", [1, 4])
def test_four_trainings_at_once_all_finish_with_their_own_models(limit, alone):
    set_max_concurrent_trainings(limit)
    frames, expected = alone
    detectors = tiny_detectors(frames)
    jobs = [
        TrainingJob(d, f.loc[:, list(d.columns.features)], score_rows=f)
        for d, f in zip(detectors, frames, strict=True)
    ]
    for job in jobs:
        job.start()
    positions = [job.progress().queue_position for job in jobs]
    most_running = 0
    while any(job.progress().active for job in jobs):
        most_running = max(most_running, running_count(jobs))
        time.sleep(0.01)

    assert max_concurrent_trainings() == limit
    if limit == 1:
        # One at a time: the others waited in line, in the order they were started.
        assert most_running == 1
        assert positions[1:] == sorted(positions[1:])
        assert all(p > 0 for p in positions[1:])
    else:
        assert 2 <= most_running <= limit
    for job, frame, scores in zip(jobs, frames, expected, strict=True):
        progress = job.progress()
        assert progress.status == "done", progress.error
        assert progress.epoch == TINY_CONFIG.epochs
        assert job.scored is not None, job.scoring_error
        assert job.scored.n_rows == len(frame)
        # Each model learned its own table, exactly as it would have alone.
        np.testing.assert_allclose(job.detector.decision_scores_, scores, rtol=1e-5, atol=1e-7)


def start_training_in_new_session(i: int) -> AppTest:
    """Session ``i`` uploads its own table (50 + 10·i rows) and presses Train model."""
    at = upload(start_app(), f"session{i}.csv", tiny_csv(50 + 10 * i))
    app_state(at).settings.config = TINY_CONFIG
    at.switch_page("pages/train.py").run()
    next(b for b in at.button if b.label == "Train model").click().run()
    return at


@pytest.mark.slow
def test_four_sessions_training_at_once_queue_say_so_and_all_get_their_own_model():
    holder = Hold()
    other = TrainingJob(holder, pd.DataFrame({"a": [1.0]})).start()
    try:
        wait_for(lambda: other.progress().status == "running")
        sessions = [start_training_in_new_session(i) for i in range(4)]
        for i, at in enumerate(sessions):
            assert_clean(at)
            assert app_state(at).training.job.progress().status == "queued"
            assert any(f"Yours is queued ({i} ahead of it)" in info.value for info in at.info), i
        # Elsewhere in the app, the sidebar says the same.
        sessions[3].switch_page("pages/data.py").run()
        assert any("number 4 in line" in c.value for c in sessions[3].sidebar.caption)
    finally:
        holder.release.set()
        other.wait(10)

    for at in sessions:
        wait_until_trained(at)
    for i, at in enumerate(sessions):
        at.switch_page("pages/results.py").run()
        assert_clean(at)
        state = app_state(at)
        n_rows = 50 + 10 * i
        assert state.model.trained_on.dataset_name == f"session{i}.csv"
        assert state.model.trained_on.n_rows == n_rows
        assert len(state.model.history["loss"]) == TINY_CONFIG.epochs
        assert state.results.scored.n_rows == n_rows
        assert f"session{i}.csv" in at.success[0].value
        others = {f"session{j}.csv" for j in range(4)} - {f"session{i}.csv"}
        assert not any(name in page_text(at) for name in others)
    assert len({id(app_state(at).model.detector) for at in sessions}) == 4
