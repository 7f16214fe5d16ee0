"""The Results page, driven through AppTest: threshold, numbers, flagged rows, downloads."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import (
    TINY_CONFIG,
    app_state,
    assert_clean,
    metric,
    results_page,
    start_app,
    tiny_csv,
    tiny_detector,
    upload,
    with_model,
)
from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
from streamlit.testing.v1 import AppTest
from test_app_train import train_button, train_page, wait_until_trained

from detector.autoencoder import AutoencoderDetector
from detector.columns import infer_roles
from detector.results import ScoredTable
from detector.table import read_table, read_table_text
from detector.training import feature_roles
from ui.results_view import rows_download
from ui.state import ScoredView

# Every test here uses a small model trained once per test process (tiny_detector).
pytestmark = pytest.mark.slow


def flagged_table(at: AppTest) -> pd.DataFrame:
    view = app_state(at).results
    return next(df for df in at.dataframe if df.key == view.key("table")).value


def test_results_open_with_the_models_threshold_and_its_flagged_rows():
    at = results_page()

    assert_clean(at)
    view = app_state(at).results
    scores = view.scored.scores
    detector = tiny_detector()
    assert view.threshold == detector.threshold_
    expected = int((scores > detector.threshold_).sum())
    assert metric(at, "Rows flagged") == f"{expected:,}"
    table = flagged_table(at)
    assert len(table) == expected
    assert list(table.columns[:4]) == ["temp", "pressure", "site", "is_anomaly"]
    assert table["anomaly score"].is_monotonic_decreasing
    assert table["top columns"].str.contains("%").all()
    assert at.select_slider(key=view.key("threshold")).label == "Threshold"
    assert any(m.value.startswith(f"**Why row {table.index[0]} stands out**") for m in at.markdown)
    assert [b.label for b in at.get("download_button")] == [
        "Download reviews", "Download flagged rows", "Download all rows with scores", "Download model",
    ]


def test_the_model_summary_says_when_the_step_limit_cut_training():
    table = read_table(tiny_csv(), name="tiny.csv")
    roles = infer_roles(table.frame)
    # 60 rows in batches of 16 are 4 steps an epoch: a 1-step limit allows the minimum, 5 epochs.
    config = replace(TINY_CONFIG, epochs=200, patience=200, max_steps=1)
    limited = AutoencoderDetector(config=config, columns=feature_roles(roles)).fit(
        table.frame.loc[:, list(roles.features)]
    )
    at = with_model(upload(start_app(), "tiny.csv", tiny_csv()), limited)

    at.switch_page("pages/results.py").run()

    assert_clean(at)
    assert any(
        info.value.startswith("Trained 5 of the 200 epochs asked for: the step limit (1 batch steps)")
        for info in at.info
    ), [info.value for info in at.info]


def test_a_model_trained_on_every_epoch_gets_no_step_limit_note():
    at = results_page()

    assert not any("step limit" in info.value for info in at.info)


def test_moving_the_threshold_changes_count_and_table_and_never_retrains(monkeypatch):
    at = results_page()
    view = app_state(at).results
    before = metric(at, "Rows flagged")

    def forbidden(*args, **kwargs):
        raise AssertionError("the model ran on a threshold change")

    for method in ("fit", "score_with_contributions", "decision_function", "predict"):
        monkeypatch.setattr(AutoencoderDetector, method, forbidden)
    lower = float(np.sort(view.scored.scores)[29])  # the slider offers every score of 60 rows
    at.select_slider(key=view.key("threshold")).set_value(lower).run()

    assert_clean(at)
    expected = int((view.scored.scores > lower).sum())
    assert expected == 30
    assert metric(at, "Rows flagged") == "30" != before
    assert len(flagged_table(at)) == 30
    assert at.number_input(key=view.key("share")).value == 50.0  # the share box follows
    assert app_state(at).training is None
    assert app_state(at).results is view  # the same scores, not a new scoring


def test_typing_a_share_moves_the_threshold_and_the_slider():
    at = results_page()
    view = app_state(at).results

    at.number_input(key=view.key("share")).set_value(10.0).run()

    assert_clean(at)
    assert metric(at, "Rows flagged") == "6"
    assert view.scored.count_flagged(view.threshold) == 6
    assert at.select_slider(key=view.key("threshold")).value == pytest.approx(view.threshold)


def test_the_adopt_buttons_set_the_documented_automatic_thresholds():
    at = results_page()
    state = app_state(at)
    # A known score vector: 57 ordinary rows and three far above them.
    scores = np.r_[np.linspace(1.0, 2.0, 57), [6.0, 8.0, 10.0]]
    view = state.results = ScoredView(
        scored=ScoredTable(
            scores=scores, shares=state.results.scored.shares,
            labels=state.results.scored.labels, contamination=0.05,
        ),
        table=state.results.table, data=state.results.data, detector=tiny_detector(), threshold=1.5,
    )
    at.run()
    median = np.median(scores)
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    expected = {
        "contamination": np.quantile(scores, 0.95),
        "mad": median + 3.5 * 1.4826 * np.median(np.abs(scores - median)),
        "iqr": q3 + 1.5 * (q3 - q1),
    }
    for method, threshold in expected.items():
        at.button(key=view.key(f"adopt_{method}")).click().run()
        assert_clean(at)
        assert view.threshold == pytest.approx(threshold)
        assert metric(at, "Rows flagged") == str(int((scores > threshold).sum()))
        assert at.select_slider(key=view.key("threshold")).value == pytest.approx(threshold)
    # Best F1 against tiny.csv's labels (rows 0, 20 and 40): the label says which rows count,
    # and the button says it needs them.
    best = at.button(key=view.key("adopt_best_f1"))
    assert best.label == "Best F1 (uses labels)"
    best.click().run()
    labels = view.scored.labels
    f1 = f1_score(labels, scores > view.threshold)
    assert f1 == max(f1_score(labels, scores >= s) for s in np.unique(scores))


def test_with_labels_the_metrics_match_scikit_learn():
    at = results_page()
    view = app_state(at).results
    labels, scores = view.scored.labels, view.scored.scores
    threshold = float(np.sort(scores)[-10])  # flags 9 rows
    at.select_slider(key=view.key("threshold")).set_value(threshold).run()

    flags = scores > threshold
    assert metric(at, "Precision") == f"{precision_score(labels, flags):.3f}"
    assert metric(at, "Recall") == f"{recall_score(labels, flags):.3f}"
    assert metric(at, "F1") == f"{f1_score(labels, flags, zero_division=0):.3f}"
    assert metric(at, "ROC-AUC") == f"{roc_auc_score(labels, scores):.3f}"
    matrix = at.table[0].value
    assert matrix.loc["anomaly (label)", "flagged"] == int((flags & (labels == 1)).sum())
    assert matrix.loc["normal (label)", "flagged"] == int((flags & (labels == 0)).sum())


def test_the_flagged_download_holds_exactly_the_flagged_rows_with_their_original_text():
    at = results_page()
    view = app_state(at).results
    threshold = float(np.sort(view.scored.scores)[47])  # flags 12 rows
    at.select_slider(key=view.key("threshold")).set_value(threshold).run()

    download = pd.read_csv(
        io.BytesIO(rows_download(view, view.threshold, only_flagged=True)), dtype=str,
        keep_default_na=False,
    )
    flagged = np.flatnonzero(view.scored.scores > view.threshold)
    original = read_table_text(tiny_csv(), view.table.report.dialect)
    assert len(download) == len(flagged) == int(metric(at, "Rows flagged"))
    expected = original.iloc[flagged].assign(score=view.scored.scores[flagged])
    expected = expected.sort_values("score", ascending=False, kind="stable").drop(columns="score")
    pd.testing.assert_frame_equal(
        download[list(original.columns)], expected.reset_index(drop=True), check_dtype=False,
    )
    assert (download["is_anomaly_2"] == "1").all()  # tiny.csv has its own is_anomaly column
    everything = pd.read_csv(io.BytesIO(rows_download(view, view.threshold, only_flagged=False)))
    assert len(everything) == 60


def test_selecting_a_row_shows_its_reconstruction():
    at = results_page()
    view = app_state(at).results
    second = int(view.scored.flagged_positions(view.threshold)[1])

    at.session_state[view.key("table")] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()

    assert_clean(at)
    assert view.selected_row == second
    assert any(m.value.startswith(f"**Why row {second + 1} stands out** (selected")
               for m in at.markdown)


def test_a_trained_model_arrives_with_its_results_ready():
    at = train_page(TINY_CONFIG)
    train_button(at).click().run()
    wait_until_trained(at)
    state = app_state(at)

    assert state.results is not None  # scored by the training job, not by the page
    assert state.results.scored is state.training.job.scored
    at.switch_page("pages/results.py").run()
    assert_clean(at)
    assert metric(at, "Rows flagged") == f"{state.results.scored.count_flagged(state.results.threshold):,}"


def test_rows_without_feature_values_are_reported_and_downloaded_with_an_empty_score():
    # tiny.csv with every feature of rows 4, 11 and 18 (1-based) blank; the label stays.
    lines = tiny_csv().decode().splitlines()
    for row in (4, 11, 18):
        lines[row] = ",,," + lines[row].split(",")[-1]
    at = upload(start_app(), "gaps.csv", "\n".join(lines).encode())
    at = with_model(at, tiny_detector()).switch_page("pages/results.py").run()

    assert_clean(at)
    assert any(
        "3 rows had no feature values (first at row 4) and could not be scored" in w.value
        for w in at.warning
    ), [w.value for w in at.warning]
    view = app_state(at).results
    assert metric(at, "Share flagged") == f"{view.scored.count_flagged(view.threshold) / 57:.2%}"
    written = pd.read_csv(
        io.BytesIO(rows_download(view, view.threshold, only_flagged=False)), dtype=str,
        keep_default_na=False, encoding="utf-8-sig",
    )
    assert len(written) == 60
    unscored = written.index.isin([3, 10, 17])
    assert (written.loc[unscored, ["temp", "pressure", "site"]] == "").all().all()
    assert (written.loc[unscored, ["anomaly_score", "is_anomaly_2", "top_columns"]] == "").all().all()
    assert (written.loc[~unscored, "anomaly_score"] != "").all()


def test_flagged_rows_come_in_pages_and_the_page_follows_the_threshold():
    at = results_page()
    view = app_state(at).results
    # A slider step flagging over 50 rows. (AppTest sends a select-slider's value back as its
    # label, so the step's label must be unique among the options: "{:.4g}" can repeat.)
    options = view.slider_options()
    labels = [f"{t:.4g}" for t in options]
    threshold = next(
        t for t, label in zip(options, labels, strict=True)
        if 50 < view.scored.count_flagged(t) < 60 and labels.count(label) == 1
    )
    n = view.scored.count_flagged(threshold)
    at.select_slider(key=view.key("threshold")).set_value(threshold).run()
    assert_clean(at)
    pager = at.number_input(key=view.key("page"))
    assert pager.label == "Page (of 2)"
    first = flagged_table(at)
    assert len(first) == 50
    assert any(f"Flagged rows 1 to 50 of {n}" in c.value for c in at.caption)

    pager.set_value(2).run()

    second = flagged_table(at)
    assert len(second) == n - 50
    assert any(f"Flagged rows 51 to {n} of {n}" in c.value for c in at.caption)
    order = view.scored.flagged_positions(view.threshold)
    assert (second.index.to_numpy() - 1).tolist() == order[50:].tolist()
    assert second["anomaly score"].max() <= first["anomaly score"].min()

    at.number_input(key=view.key("share")).set_value(5.0).run()  # 3 rows: one page

    assert_clean(at)
    assert len(flagged_table(at)) == 3
    assert not [n for n in at.number_input if n.key == view.key("page")]
    assert any("All 3 flagged rows" in c.value for c in at.caption)


def test_the_row_explanation_shows_the_three_parts_of_its_score():
    at = results_page()
    assert_clean(at)
    caption = next(c.value for c in at.caption if c.value.startswith("The score adds"))
    assert caption.startswith("The score adds 3 parts: reconstruction ")
    assert "code " in caption
    assert "isolation " in caption
    assert "nats" in caption


def test_the_sidebar_never_links_to_the_page_it_is_on():
    at = results_page()
    links = [link.label for link in at.sidebar.get("page_link")]
    assert "Go to Results" not in links
    assert any(c.value.startswith("Review the flags") for c in at.sidebar.caption)
    at.switch_page("pages/data.py").run()
    assert "Go to Results" in [link.label for link in at.sidebar.get("page_link")]
