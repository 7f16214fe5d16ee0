"""Every hostile-input corpus file uploaded in the app: a clear message, never a traceback.

On the Data page a refused file shows one ``st.error`` naming the problem and keeps the dataset
that was loaded; a file that reads replaces it and shows what was converted on the way. Either
way the app keeps working: the Train page opens, and either offers training or says why the
data cannot train. On the Score page each file is scored, or one message says why not. One app
(one session) per page takes every upload in turn, as a user trying file after file would.
"""

from __future__ import annotations

import pytest
from apptest_helpers import (
    TINY_CONFIG,
    app_state,
    assert_clean,
    start_app,
    tiny_csv,
    upload,
    with_model,
)
from bad_corpus import BAD_DIR, bad_cases
from streamlit.testing.v1 import AppTest

from detector.autoencoder import AutoencoderDetector
from detector.table import read_table
from ui.state import DatasetState

CASES = bad_cases()
IDS = [path.name for path, _ in CASES]


@pytest.fixture(scope="module")
def app() -> AppTest:
    return start_app()


@pytest.fixture(scope="module")
def sample(app: AppTest) -> DatasetState:
    """The sample dataset loaded on start, restored before each upload."""
    dataset = app_state(app).dataset
    assert dataset is not None
    return dataset


@pytest.fixture(scope="module")
def scoring_app() -> AppTest:
    """The Score page of a session whose model learned x and y, columns many corpus files have."""
    table = read_table(BAD_DIR / "cr_line_endings.csv")
    detector = AutoencoderDetector(config=TINY_CONFIG).fit(table.frame)
    at = start_app()
    app_state(at).load_dataset(table, source="test")
    return with_model(at, detector).switch_page("pages/score.py").run()


def sidebar_dataset(at: AppTest) -> str:
    return at.sidebar.caption[0].value


def shown_text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


@pytest.mark.parametrize(("path", "expected"), CASES, ids=IDS)
def test_upload_is_read_with_its_notes_shown_or_refused_keeping_the_dataset(
    path, expected, app, sample
):
    app_state(app).dataset = sample
    at = app.switch_page("pages/data.py").run()
    rows, columns = sample.shape

    upload(at, path.name, path.read_bytes())

    assert_clean(at)
    state = app_state(at)
    if expected.outcome == "refused":
        assert len(at.error) == 1, [e.value for e in at.error]
        message = at.error[0].value
        assert message.startswith(f"Could not read {path.name}: ")
        for part in expected.message:
            assert part in message
        assert message.endswith(f"{sample.name} is still loaded.")
        assert state.dataset is sample
        assert at.subheader[0].value == sample.name
        assert sidebar_dataset(at) == f"{sample.name} · {rows:,} rows × {columns:,} columns"
        return

    dataset = state.dataset
    assert dataset is not sample
    assert dataset.name == path.name
    assert dataset.shape == expected.shape
    assert at.subheader[0].value == path.name
    n_rows, n_columns = expected.shape
    assert sidebar_dataset(at) == f"{path.name} · {n_rows:,} rows × {n_columns:,} columns"
    notes = dataset.table.report.notes
    for part in expected.notes:
        assert any(part in note for note in notes)
    if notes:
        assert at.expander[0].label.startswith(f"While reading the file ({len(notes)} note")
        for note in notes:
            assert f"- {note}" in shown_text(at)
    else:
        assert not any(e.label.startswith("While reading the file") for e in at.expander)

    # The app goes on: the Train page either offers training or says why it cannot.
    at.switch_page("pages/train.py").run()
    assert_clean(at)
    train = next(b for b in at.button if b.label == "Train model")
    refusal = expected.training or expected.app_error
    if refusal is None:
        assert not train.disabled, [e.value for e in at.error]
    else:
        assert train.disabled
        assert any(refusal in e.value for e in at.error), [e.value for e in at.error]


def test_an_unexpected_error_while_reading_is_reported_every_run_not_forgotten(monkeypatch):
    at = start_app()
    sample = app_state(at).dataset

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the reader")

    monkeypatch.setattr("ui.upload.read_table", broken)  # where both upload pages read files
    upload(at, "tiny.csv", tiny_csv())
    at.run()  # any rerun: the upload was not read, so the page must not act as if it were

    assert not at.exception
    assert any("Something unexpected went wrong" in e.value for e in at.error)
    assert app_state(at).dataset is sample

    monkeypatch.undo()  # the bug is fixed; the same upload is read on the next run
    at.run()

    assert_clean(at)
    assert app_state(at).dataset.name == "tiny.csv"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "expected"), CASES, ids=IDS)
def test_scoring_any_corpus_file_gives_a_result_or_says_why(path, expected, scoring_app):
    uploader = next(u for u in scoring_app.file_uploader if u.label.startswith("File to score"))
    uploader.set_value((path.name, path.read_bytes(), "text/csv"))
    at = scoring_app.run()

    assert_clean(at)
    scoring = app_state(at).scoring
    errors = [e.value for e in at.error]
    if expected.outcome == "refused":
        assert scoring.table is None
        assert len(errors) == 1
        assert errors[0].startswith(f"Could not read {path.name}: ")
        for part in expected.message:
            assert part in errors[0]
        return
    assert scoring.table is not None
    assert scoring.table.frame.shape == expected.shape
    if scoring.view is not None:
        # Scored: the whole workbench is drawn, whatever odd values the file holds.
        assert errors == []
        assert scoring.view.scored.n_rows == expected.shape[0]
        assert any(m.label == "Rows flagged" for m in at.metric)
    else:
        # Not scorable with this model: one message that says why.
        assert len(errors) == 1, errors
        assert "cannot be scored with this model" in errors[0] or "could not be scored" in errors[0]
