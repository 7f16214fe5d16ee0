"""The Score page, driven through AppTest: new files, uploaded bundles, schema checks."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import app_state, assert_clean, metric, results_page, start_app, tiny_csv, tiny_detector
from streamlit import config
from streamlit.testing.v1 import AppTest

from ui.results_view import model_download, rows_download
from ui.state import ScoredView

# Every test here uses a small model trained once per test process (tiny_detector).
pytestmark = pytest.mark.slow

BUNDLE_MODEL = "A model bundle I upload"


def score_page(at: AppTest) -> AppTest:
    return at.switch_page("pages/score.py").run()


def upload_to_score(at: AppTest, name: str, data: bytes) -> AppTest:
    uploader = next(u for u in at.file_uploader if u.label.startswith("File to score"))
    uploader.set_value((name, data, "text/csv"))
    return at.run()


def scored_view(at: AppTest) -> ScoredView:
    view = app_state(at).scoring.view
    assert view is not None, [e.value for e in at.error]
    return view


def test_a_new_file_is_scored_with_the_sessions_model_and_its_threshold():
    at = results_page()
    results = app_state(at).results
    chosen = float(np.sort(results.scored.scores)[44])  # flags 15 rows
    at.select_slider(key=results.key("threshold")).set_value(chosen).run()
    score_page(at)
    # The same rows in another order, under another name.
    shuffled = pd.read_csv(io.BytesIO(tiny_csv())).iloc[::-1]
    upload_to_score(at, "later.csv", shuffled.to_csv(index=False).encode())

    assert_clean(at)
    assert [(s.label, s.state) for s in at.status] == [
        ("Read later.csv (1.2 KB): 60 rows × 4 columns", "complete"),
        ("Scored 60 rows of later.csv", "complete"),
    ]
    view = scored_view(at)
    assert view.threshold == results.threshold
    np.testing.assert_allclose(view.scored.scores[::-1], results.scored.scores, rtol=1e-6)
    assert metric(at, "Rows flagged") == "15"
    assert view.scored.labels is not None  # the training label column is used when present
    assert "Download flagged rows" in [b.label for b in at.get("download_button")]
    download = pd.read_csv(io.BytesIO(rows_download(view, view.threshold, only_flagged=True)))
    assert len(download) == 15
    at.run()
    assert not at.status, "a rerun neither reads nor scores the file again"
    assert app_state(at).scoring.view is view


def test_the_file_uploader_states_the_servers_upload_limit():
    at = score_page(results_page())

    uploader = next(u for u in at.file_uploader if u.label.startswith("File to score"))
    limit = uploader.proto.max_upload_size_mb
    assert limit == config.get_option("server.maxUploadSize")
    assert limit == 1024
    expected = "Files up to 1 GB (1,024 MB)"  # Streamlit's own refusal says "1.1GB" (decimal units)
    assert any(c.value.startswith(expected + ";") for c in at.caption), [c.value for c in at.caption]


def test_a_saved_bundle_reproduces_the_training_sessions_scores_and_threshold():
    at = results_page()
    results = app_state(at).results
    chosen = float(np.sort(results.scored.scores)[53])  # flags 6 rows
    at.select_slider(key=results.key("threshold")).set_value(chosen).run()
    bundle = model_download(results, results.threshold, {"label": "is_anomaly", "source": "tiny $1$.csv"})

    score_page(at)
    at.radio[0].set_value(BUNDLE_MODEL).run()
    next(u for u in at.file_uploader if u.label.startswith("Model bundle")).set_value(
        ("tiny_model.zip", bundle, "application/zip")
    )
    at.run()
    upload_to_score(at, "again.csv", tiny_csv())

    assert_clean(at)
    view = scored_view(at)
    assert view.detector is not tiny_detector()  # loaded from the zip
    assert view.threshold == pytest.approx(results.threshold)
    np.testing.assert_allclose(view.scored.scores, results.scored.scores, rtol=1e-6)
    assert metric(at, "Rows flagged") == f"{results.scored.count_flagged(results.threshold):,}"
    assert view.scored.label_column == "is_anomaly"
    assert any(r"trained on tiny \$1\$.csv" in c.value for c in at.caption)  # not LaTeX


def test_missing_columns_are_named_and_extra_columns_are_listed_as_ignored():
    at = score_page(results_page())
    frame = pd.read_csv(io.BytesIO(tiny_csv()))

    upload_to_score(at, "no_pressure.csv", frame.drop(columns="pressure").to_csv(index=False).encode())
    assert_clean(at)
    assert len(at.error) == 1
    assert "no_pressure.csv cannot be scored" in at.error[0].value
    assert "'pressure'" in at.error[0].value
    assert app_state(at).scoring.view is None

    upload_to_score(at, "wider.csv", frame.assign(operator="kim").to_csv(index=False).encode())
    assert_clean(at)
    assert not at.error
    assert any("Not used by the model" in i.value and "operator" in i.value for i in at.info)
    assert scored_view(at).scored.n_rows == 60


def test_a_file_that_is_not_a_bundle_is_refused_with_a_reason():
    at = score_page(results_page())
    at.radio[0].set_value(BUNDLE_MODEL).run()

    next(u for u in at.file_uploader if u.label.startswith("Model bundle")).set_value(
        ("model.zip", b"not a zip at all", "application/zip")
    )
    at.run()

    assert_clean(at)
    assert at.error[0].value.startswith("Could not load model.zip: This is not a model bundle")


def test_without_a_model_the_page_asks_for_a_bundle():
    at = score_page(start_app())

    assert_clean(at)
    assert at.radio[0].options == [BUNDLE_MODEL]
    assert "Upload a model bundle" in at.info[0].value


def test_an_isolation_forest_bundle_scores_a_file_and_says_it_explains_no_columns():
    from detector.bundle import bundle_bytes
    from detector.iforest import IsolationForestDetector

    at = results_page()
    detector = tiny_detector()
    frame = app_state(at).dataset.frame
    forest = IsolationForestDetector(columns=detector.columns_).fit(frame)
    score_page(at)
    at.radio[0].set_value(BUNDLE_MODEL).run()
    next(u for u in at.file_uploader if u.label.startswith("Model bundle")).set_value(
        ("forest.zip", bundle_bytes(forest), "application/zip")
    )
    at.run()
    upload_to_score(at, "again.csv", tiny_csv())

    assert_clean(at)
    view = scored_view(at)
    assert view.detector.kind == "iforest"
    np.testing.assert_allclose(view.scored.scores, forest.decision_function(frame))
    assert any(c.value.startswith("Loaded a model (Isolation Forest)") for c in at.caption)
    assert any("does not explain rows" in c.value for c in at.caption)


def test_a_model_trained_on_a_sample_says_so_when_loaded(tmp_path):
    from detector.bundle import bundle_bytes

    at = results_page()
    detector = tiny_detector()
    sample = {"rows": 60, "of": 6_000_000, "seed": 0}
    score_page(at)
    at.radio[0].set_value(BUNDLE_MODEL).run()
    next(u for u in at.file_uploader if u.label.startswith("Model bundle")).set_value(
        ("sampled.zip", bundle_bytes(detector, metadata={"source": "big.csv", "sample": sample}),
         "application/zip")
    )
    at.run()

    assert_clean(at)
    assert any("trained on big.csv (a sample of 60 of its 6,000,000 rows)" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]


def test_a_file_outside_the_training_range_is_called_out_before_any_flag():
    at = score_page(results_page())
    frame = pd.read_csv(io.BytesIO(tiny_csv()))
    frame["temp"] += 100  # every reading far above the training maximum
    frame["pressure"] += 200
    upload_to_score(at, "next_week.csv", frame.to_csv(index=False).encode())

    assert_clean(at)
    warning = next(w.value for w in at.warning)
    assert "next_week.csv is out of this model's depth" in warning
    assert "2 of 3 columns are mostly outside what the model was trained on" in warning
    assert "100% of values above the training maximum" in warning
    assert "Retrain on this file's normal part" in warning
    assert scored_view(at).scored.n_rows == 60  # the rows are still scored and shown


def test_a_file_like_the_training_data_gets_no_drift_banner():
    at = score_page(results_page())
    upload_to_score(at, "again.csv", tiny_csv())

    assert_clean(at)
    assert not [w.value for w in at.warning if "depth" in w.value]
    assert not [e for e in at.expander if e.label.startswith("How this file differs")]


def test_a_label_column_of_the_scored_file_evaluates_its_flags():
    at = score_page(results_page())
    frame = pd.read_csv(io.BytesIO(tiny_csv())).rename(columns={"is_anomaly": "known_bad"})
    upload_to_score(at, "audited.csv", frame.to_csv(index=False).encode())
    assert_clean(at)
    assert scored_view(at).scored.labels is None  # not the training label: nothing chosen yet
    assert "Precision" not in [m.label for m in at.metric]

    choice = next(s for s in at.selectbox if s.label == "Label column to evaluate with")
    assert choice.options == ["None (no evaluation)", "known_bad"]
    choice.set_value("known_bad").run()

    assert_clean(at)
    view = scored_view(at)
    assert view.scored.label_column == "known_bad"
    np.testing.assert_array_equal(view.scored.labels, frame["known_bad"].to_numpy())
    shown = [m.label for m in at.metric]
    assert {"Precision", "Recall", "ROC-AUC", "Average precision"} <= set(shown), shown
