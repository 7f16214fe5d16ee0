"""Reviewing flags in the app, driven through AppTest: marks, the suggested threshold, rules, files."""

from __future__ import annotations

import io

import pandas as pd
from apptest_helpers import (
    app_state,
    assert_clean,
    metric,
    results_page,
    start_app,
    tiny_csv,
    upload,
)
from streamlit.testing.v1 import AppTest
from test_app_results import flagged_table

from detector.bundle import load_bundle
from detector.reviews import EXPECTED, SuppressionRule
from ui.results_view import model_download, rows_download


def click(at: AppTest, key: str) -> AppTest:
    return at.button(key=key).click().run()


def test_a_cross_then_the_suggested_threshold_lowers_the_flagged_count():
    at = results_page()
    view = app_state(at).results
    top = int(view.scored.flagged_positions(view.threshold)[0])
    before = view.scored.count_flagged(view.threshold)
    assert any("Mark flagged rows ✓" in c.value for c in at.caption)

    click(at, view.key(f"mark_expected_{top}"))
    assert_clean(at)
    assert view.verdict(top) == EXPECTED
    assert flagged_table(at).loc[top + 1, "review"] == "✗ expected"
    assert metric(at, "Reviewed rows") == "1"
    assert metric(at, "Precision on reviewed rows") == "0.000"

    suggestion = next(b for b in at.button if b.label.startswith("Use the suggested threshold"))
    suggestion.click().run()
    assert_clean(at)
    assert view.threshold == view.scored.scores[top]
    assert view.scored.count_flagged(view.threshold) == 0  # the ✗ row was the highest
    assert metric(at, "Rows flagged") == "0"
    assert before > 0


def test_a_rule_from_a_cross_unflags_the_rows_it_matches_in_the_page_and_the_downloads():
    at = results_page()
    view = app_state(at).results
    threshold = view.threshold
    top = int(view.scored.flagged_positions(threshold)[0])
    before = view.scored.count_flagged(threshold)
    click(at, view.key(f"mark_expected_{top}"))
    rule_button = at.button(key=view.key(f"rule_{top}"))
    assert rule_button.label.startswith("Don't flag rows where ")
    rule_button.click().run()

    assert_clean(at)
    (rule,) = view.reviews.rules
    assert isinstance(rule, SuppressionRule)
    after = view.scored.count_flagged(threshold)
    assert after < before
    assert metric(at, "Rows flagged") == f"{after:,}"
    assert any(m.value.startswith("**Suppression rules**") for m in at.markdown)
    download = pd.read_csv(io.BytesIO(rows_download(view, threshold, only_flagged=True)))
    assert len(download) == after

    bundle = load_bundle(model_download(view, threshold, {"source": "tiny.csv"}))
    assert bundle.detector.suppression_rules_ == (rule,)
    saved = bundle.metadata["user"]["reviews"]
    assert saved["verdicts"][0]["verdict"] == EXPECTED
    assert saved["verdicts"][0]["row"] == top + 1

    # Removing the rule brings the rows back.
    at.button(key=view.key("remove_rule_0")).click().run()
    assert view.scored.count_flagged(threshold) == before


def test_a_bundle_brings_its_reviews_and_rules_to_the_score_page():
    at = results_page()
    view = app_state(at).results
    top = int(view.scored.flagged_positions(view.threshold)[0])
    click(at, view.key(f"mark_expected_{top}"))
    click(at, view.key(f"rule_{top}"))
    bundle = model_download(view, view.threshold, {"source": "tiny.csv"})
    flagged_with_rule = view.scored.count_flagged(view.threshold)

    fresh = upload(start_app(), "tiny.csv", tiny_csv()).switch_page("pages/score.py").run()
    fresh.file_uploader[0].set_value(("tiny_model.zip", bundle, "application/zip")).run()
    fresh.file_uploader[1].set_value(("later.csv", tiny_csv(), "text/csv")).run()
    assert_clean(fresh)
    scored = app_state(fresh).scoring.view
    assert scored.reviews.rules == view.reviews.rules
    assert scored.verdict(top) == EXPECTED
    assert metric(fresh, "Rows flagged") == f"{flagged_with_rule:,}"


def test_reviews_download_and_upload_as_a_csv():
    at = results_page()
    view = app_state(at).results
    top = int(view.scored.flagged_positions(view.threshold)[0])
    click(at, view.key(f"mark_expected_{top}"))
    data = view.reviews.to_csv()

    other = results_page()
    other_view = app_state(other).results
    uploader = next(u for u in other.file_uploader if u.key == other_view.key("reviews_upload"))
    uploader.set_value(("tiny_reviews.csv", data, "text/csv")).run()
    assert_clean(other)
    assert other_view.verdict(top) == EXPECTED
    assert "Read 1 review; 1 row of this table is reviewed now." in [s.value for s in other.success]

    uploader = next(u for u in other.file_uploader if u.key == other_view.key("reviews_upload"))
    uploader.set_value(("broken.csv", b"nonsense", "text/csv")).run()
    assert any("starts with the header row_key,row,verdict" in e.value for e in other.error)


def test_retraining_without_the_confirmed_anomalies_compares_the_reviewed_rows():
    import time

    from detector.reviews import ANOMALY

    at = results_page()
    view = app_state(at).results
    old = app_state(at).model
    positions = view.scored.flagged_positions(view.threshold)
    click(at, view.key(f"mark_anomaly_{int(positions[0])}"))
    retrain = next(b for b in at.button if b.label.startswith("Retrain without the 1 confirmed anomaly"))
    retrain.click().run()
    deadline = time.monotonic() + 180
    while app_state(at).model is old:
        training = app_state(at).training
        assert training.job.progress().status != "failed", training.job.progress().error
        assert time.monotonic() < deadline
        time.sleep(0.5)
        at.run()

    assert_clean(at)
    model = app_state(at).model
    assert model.retrained.left_out == 1
    assert model.trained_on.n_rows == old.trained_on.n_rows - 1
    assert model.reviews is old.reviews  # the marks carry over
    assert model.reviews.verdicts_of(app_state(at).results.row_keys()[positions[:1]])[0] == ANOMALY
    assert any(i.value.startswith("Retrained without 1 confirmed anomaly. On your reviewed rows, before:")
               for i in at.info)
