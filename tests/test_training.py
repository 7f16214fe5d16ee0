"""Background training jobs: progress, stopping, the per-process queue, and preparing rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, correlated_table

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig
from detector.base import FitProgress
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig
from detector.training import (
    PRESETS,
    TrainingJob,
    feature_roles,
    network_inputs,
    set_max_concurrent_trainings,
    training_rows,
)

ROWS = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})


class FakeDetector:
    """Stands in for the autoencoder: one "epoch" per permit released by the test."""

    def __init__(self, epochs: int = 5, *, blocking: bool = False, error: Exception | None = None):
        self.config = SimpleNamespace(epochs=epochs)
        self.permits = threading.Semaphore(0)
        self.blocking = blocking
        self.error = error
        self.fit_calls = 0

    def fit(self, X, y=None, *, on_progress: Callable[[FitProgress], bool | None] | None = None):
        self.fit_calls += 1
        if self.error is not None:
            raise self.error
        epochs = self.config.epochs
        for epoch in range(1, epochs + 1):
            if self.blocking:
                assert self.permits.acquire(timeout=10), "test never released the epoch"
            log = FitProgress(
                step=epoch, total=epochs, unit="epoch", loss=1 / epoch, val_loss=2 / epoch, elapsed=0.0,
            )
            if on_progress is not None and on_progress(log):
                break
        return self

    kind = "fake"

    def warm_up(self) -> None:
        pass

    def run_epochs(self, n: int) -> None:
        for _ in range(n):
            self.permits.release()


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


@pytest.fixture(autouse=True)
def one_training_at_a_time() -> Iterator[None]:
    set_max_concurrent_trainings(1)
    yield
    set_max_concurrent_trainings(1)


@pytest.fixture
def jobs() -> Iterator[list[TrainingJob]]:
    """Jobs a test starts; stopped and awaited afterwards so no slot leaks into the next test."""
    started: list[TrainingJob] = []
    yield started
    for job in started:
        job.stop()
        detector = job.detector
        if isinstance(detector, FakeDetector):
            detector.run_epochs(100)
    for job in started:
        assert not job.wait(10).active


def test_job_reports_each_epoch_and_finishes(jobs):
    job = TrainingJob(FakeDetector(epochs=5), ROWS)
    jobs.append(job.start())

    progress = job.wait(10)

    assert progress.status == "done"
    assert progress.epoch == progress.total_epochs == 5
    assert progress.loss == pytest.approx((1, 1 / 2, 1 / 3, 1 / 4, 1 / 5))
    assert len(progress.val_loss) == 5
    assert progress.best_epoch == 5
    assert progress.fraction == 1.0
    assert progress.queue_position == 0
    assert job.fitted


def test_progress_is_visible_while_running(jobs):
    detector = FakeDetector(epochs=10, blocking=True)
    job = TrainingJob(detector, ROWS)
    jobs.append(job.start())

    detector.run_epochs(3)
    wait_for(lambda: job.progress().epoch == 3)
    progress = job.progress()

    assert progress.status == "running"
    assert progress.active
    assert progress.fraction == pytest.approx(0.3)
    assert progress.elapsed > 0
    assert not job.fitted


def test_stop_ends_training_after_the_current_epoch_and_keeps_the_model(jobs):
    detector = FakeDetector(epochs=50, blocking=True)
    job = TrainingJob(detector, ROWS)
    jobs.append(job.start())
    detector.run_epochs(2)
    wait_for(lambda: job.progress().epoch == 2)

    job.stop()
    detector.run_epochs(1)  # the epoch under way ends, then the job sees the request
    progress = job.wait(10)

    assert progress.status == "stopped"
    assert progress.epoch == 3
    assert progress.stop_requested
    assert job.fitted


def test_a_second_training_queues_until_the_first_ends(jobs):
    first_detector = FakeDetector(epochs=3, blocking=True)
    first = TrainingJob(first_detector, ROWS)
    second = TrainingJob(FakeDetector(epochs=2), ROWS)
    jobs.extend([first.start(), second.start()])
    wait_for(lambda: first.progress().status == "running")

    queued = second.progress()
    assert queued.status == "queued"
    assert queued.queue_position == 1
    assert queued.epoch == 0

    first_detector.run_epochs(3)
    assert first.wait(10).status == "done"
    assert second.wait(10).status == "done"
    assert second.progress().queue_position == 0


def test_stopping_a_queued_job_means_it_never_trains(jobs):
    first_detector = FakeDetector(epochs=3, blocking=True)
    first = TrainingJob(first_detector, ROWS)
    second_detector = FakeDetector(epochs=2)
    second = TrainingJob(second_detector, ROWS)
    jobs.extend([first.start(), second.start()])
    wait_for(lambda: first.progress().status == "running")

    second.stop()
    progress = second.wait(10)

    assert progress.status == "stopped"
    assert not second.fitted
    assert second_detector.fit_calls == 0
    assert first.progress().status == "running"


def test_the_limit_can_allow_two_trainings_at_once(jobs):
    set_max_concurrent_trainings(2)
    detectors = [FakeDetector(epochs=2, blocking=True) for _ in range(3)]
    started = [TrainingJob(d, ROWS).start() for d in detectors]
    jobs.extend(started)

    wait_for(lambda: [j.progress().status for j in started] == ["running", "running", "queued"])
    detectors[0].run_epochs(2)
    wait_for(lambda: started[2].progress().status == "running")


def test_the_limit_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        set_max_concurrent_trainings(0)


def test_a_data_error_becomes_the_jobs_message(jobs):
    job = TrainingJob(FakeDetector(error=DataError("Column 'x' has text in row 3.")), ROWS)
    jobs.append(job.start())

    progress = job.wait(10)

    assert progress.status == "failed"
    assert progress.error == "Column 'x' has text in row 3."
    assert not job.fitted


def test_an_unexpected_error_is_reported_with_its_type(jobs):
    job = TrainingJob(FakeDetector(error=RuntimeError("out of memory")), ROWS)
    jobs.append(job.start())

    assert job.wait(10).error == "RuntimeError: out of memory"


def test_a_failed_job_frees_its_slot(jobs):
    failing = TrainingJob(FakeDetector(error=RuntimeError("boom")), ROWS)
    jobs.append(failing.start())
    failing.wait(10)
    after = TrainingJob(FakeDetector(epochs=1), ROWS)
    jobs.append(after.start())

    assert after.wait(10).status == "done"


def test_presets_differ_in_budget_and_share_the_library_defaults():
    assert (PRESETS["Fast"].epochs, PRESETS["Fast"].patience) == (20, 3)
    assert PRESETS["Balanced"] == AutoencoderConfig()
    assert (PRESETS["Thorough"].epochs, PRESETS["Thorough"].patience) == (300, 20)
    for config in PRESETS.values():
        config.validate()


def labelled_frame() -> pd.DataFrame:
    """Sixteen rows; the second of every four is a labelled anomaly."""
    return pd.DataFrame(
        {
            "a": np.arange(1.0, 17.0),
            "site": ["n", "s"] * 8,
            "when": [f"2024-01-{day:02d}" for day in range(1, 17)],
            "label": [0, 1, 0, 0] * 4,
        }
    )


def test_training_rows_never_include_the_label_or_timestamp():
    roles = ColumnRoles(numeric=("a",), categorical=("site",), label="label", timestamp="when")

    rows = training_rows(labelled_frame(), roles)

    assert list(rows.columns) == ["a", "site"]
    assert len(rows) == 16
    assert feature_roles(roles) == ColumnRoles(numeric=("a",), categorical=("site",))


def test_training_on_normal_rows_drops_labelled_anomalies():
    roles = ColumnRoles(numeric=("a",), label="label")

    rows = training_rows(labelled_frame(), roles, normal_only=True)

    assert rows["a"].tolist() == [a for a in range(1, 17) if a % 4 != 2]


def test_training_on_normal_rows_needs_a_label():
    with pytest.raises(DataError, match="label column"):
        training_rows(labelled_frame(), ColumnRoles(numeric=("a",)), normal_only=True)


def test_network_inputs_count_one_hot_columns():
    roles = ColumnRoles(numeric=("a",), categorical=("site",))

    n_inputs = network_inputs(labelled_frame(), roles, PreprocessConfig(min_category_share=0.0))

    assert n_inputs == 3  # a, site=n, site=s


@pytest.mark.slow
def test_a_real_detector_trains_in_the_background_then_scores_the_whole_table(table, jobs):
    config = AutoencoderConfig(
        hidden_layers=TINY.hidden_layers, bottleneck=TINY.bottleneck, epochs=3, batch_size=64,
    )
    detector = AutoencoderDetector(config=config)
    # Trained on some rows, then scores the whole table so that Results opens at once.
    job = TrainingJob(detector, table.iloc[:250], score_rows=table)
    jobs.append(job.start())

    progress = job.wait(120)

    assert progress.status == "done", progress.error
    assert progress.epoch == 3
    assert len(progress.val_loss) == 3
    scores = detector.decision_function(table)
    assert np.isfinite(scores).all()
    assert job.scoring_error is None
    np.testing.assert_allclose(job.scored.scores, scores, rtol=1e-6)
    assert job.scored.projection.xy.shape == (300, 2)


def test_the_baselines_fitted_beside_the_training_match_those_fitted_after_it(table, jobs):
    from detector.baselines import fit_baselines
    from detector.pca import PCADetector

    detector = PCADetector()
    job = TrainingJob(detector, table, score_rows=table, baselines=("iforest", "ecod"))
    jobs.append(job.start())

    progress = job.wait(120)

    assert progress.status == "done", progress.error
    assert job.comparison_error is None
    assert job.baselines is not None
    assert job.baselines.kinds == ("pca", "iforest", "ecod")
    after = fit_baselines(detector, table, table, ("iforest", "ecod"), primary=job.scored)
    for kind in after.kinds:
        np.testing.assert_array_equal(job.baselines.scores[kind], after.scores[kind])
    assert job.baselines.primary_table is job.scored


def test_a_failing_baseline_is_kept_as_the_comparisons_error_and_the_model_still_lands(table, jobs):
    from detector.pca import PCADetector

    job = TrainingJob(PCADetector(), table, score_rows=table, baselines=("no-such-family",))
    jobs.append(job.start())

    progress = job.wait(120)

    assert progress.status == "done", progress.error
    assert job.scored is not None
    assert job.baselines is None
    assert "no-such-family" in job.comparison_error


def test_a_stopped_job_has_no_comparison(jobs):
    detector = FakeDetector(epochs=5, blocking=True)
    job = TrainingJob(detector, ROWS, score_rows=ROWS, baselines=("ecod",))
    jobs.append(job.start())
    detector.run_epochs(1)
    wait_for(lambda: job.progress().epoch == 1)

    job.stop()
    detector.run_epochs(5)
    progress = job.wait(30)

    assert progress.status == "stopped"
    assert job.baselines is None
    assert job.comparison_error is None


def test_too_few_rows_to_learn_from_are_refused_with_the_count():
    roles = ColumnRoles(numeric=("a", "b"))
    with pytest.raises(DataError, match="only 2 rows to train on; a model needs at least 10"):
        training_rows(ROWS, roles)
    frame = pd.DataFrame({"a": np.arange(12.0), "b": np.arange(12.0), "label": [0] + [1] * 11})
    with pytest.raises(DataError, match="only 1 normal row to train on"):
        training_rows(frame, ColumnRoles(numeric=("a", "b"), label="label"), normal_only=True)
    assert len(training_rows(frame, ColumnRoles(numeric=("a", "b"), label="label"))) == 12


def test_a_job_nobody_polls_stops_itself_and_gives_its_slot_back():
    import time as clock

    from detector import AutoencoderDetector
    from detector.autoencoder_config import AutoencoderConfig

    frame = correlated_table(n_rows=500)
    config = AutoencoderConfig(
        hidden_layers=(8,), bottleneck=2, epochs=10_000, patience=10_000, batch_size=32, max_steps=None
    )
    job = TrainingJob(AutoencoderDetector(config=config), frame, abandon_after=1.0).start()
    clock.sleep(3.0)  # nobody asks for progress meanwhile
    result = job.wait(120)
    assert result.status == "stopped"
    assert result.stop_reason.startswith("no page had looked at it for 1 second (the browser tab")
    assert job.fitted  # the best model so far is kept


def test_a_job_past_its_time_limit_stops_itself_and_keeps_its_model():
    from detector import AutoencoderDetector
    from detector.autoencoder_config import AutoencoderConfig

    frame = correlated_table(n_rows=500)
    config = AutoencoderConfig(
        hidden_layers=(8,), bottleneck=2, epochs=10_000, patience=10_000, batch_size=32, max_steps=None
    )
    job = TrainingJob(AutoencoderDetector(config=config), frame, max_seconds=1.0).start()
    result = job.wait(120)
    assert result.status == "stopped"
    assert result.stop_reason == "it reached the time limit of 1 second; the best model so far is kept"
    assert job.fitted


def test_a_training_beyond_the_memory_budget_is_refused_with_what_to_do(monkeypatch):
    from detector.errors import DataError
    from detector.training import check_training_memory, memory_budget, training_memory

    monkeypatch.setenv("DETECTOR_MEMORY_BUDGET_GB", "1")
    assert memory_budget() == 2**30
    check_training_memory(10_000, 100)  # 40 MB
    assert training_memory(50_000, 8_400) > 2**30  # 400 categorical columns of 20 categories
    with pytest.raises(DataError, match=r"about 15\.6 GB of memory, more than the 1\.0 GB allowed"):
        check_training_memory(50_000, 8_400)


def test_the_train_page_refuses_a_table_too_wide_for_memory(monkeypatch):
    from apptest_helpers import app_state, start_app, tiny_csv, upload

    monkeypatch.setenv("DETECTOR_MEMORY_BUDGET_GB", "0.000001")
    at = upload(start_app(), "tiny.csv", tiny_csv()).switch_page("pages/train.py").run()
    assert any("GB of memory, more than the" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Train model").disabled
    assert app_state(at).training is None
