"""Tests for detector.results: a table scored once, then viewed at any threshold."""

from __future__ import annotations

import io
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, correlated_table
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from detector.autoencoder import AutoencoderDetector
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.evaluation import evaluate
from detector.export import original_text, scored_rows_csv
from detector.results import (
    ScoredTable,
    flagged_view,
    match_columns,
    row_explanation,
    score_table,
)
from detector.table import read_table

# Ten rows with known scores: row 3 is unscored, rows 7 and 9 score highest.
SCORES = np.array([0.1, 0.4, 0.2, np.nan, 0.3, 0.25, 0.15, 0.9, 0.35, 0.8])
LABELS = np.array([0, 0, 0, 1, 0, 1, 0, 1, 0, 1], dtype=np.int8)


def known(scores=SCORES, labels=LABELS, **kwargs) -> ScoredTable:
    shares = pd.DataFrame({"a": np.full(len(scores), 0.7), "b": np.full(len(scores), 0.3)})
    return ScoredTable(scores=scores, shares=shares, labels=labels, **kwargs)


@pytest.fixture(scope="module")
def fitted() -> tuple[AutoencoderDetector, pd.DataFrame]:
    frame = correlated_table()
    frame["label"] = np.r_[np.zeros(294, dtype=int), np.ones(6, dtype=int)]
    frame["when"] = pd.date_range("2024-01-01", periods=300, freq="h").astype(str)
    roles = ColumnRoles(numeric=("a", "b", "c", "d"), categorical=("site",))
    detector = AutoencoderDetector(config=TINY, columns=roles).fit(frame[list(roles.features)])
    return detector, frame


def test_counts_and_flagged_rows_follow_the_strict_rule_and_sort_by_score():
    scored = known()
    assert scored.n_rows == 10
    assert scored.n_scored == 9
    assert scored.count_flagged(0.3) == 4  # 0.4, 0.9, 0.35, 0.8; 0.3 itself is not above
    assert scored.flagged_positions(0.3).tolist() == [7, 9, 1, 8]
    assert scored.flagged_positions(0.3, limit=2).tolist() == [7, 9]
    assert scored.share_flagged(0.3) == pytest.approx(4 / 9)
    assert scored.flags(0.3).tolist() == [False, True, False, False, False, False, False, True, True, True]
    assert scored.count_flagged(scored.max_score) == 0
    assert scored.count_flagged(-1.0) == 9  # an unscored row is never flagged


@pytest.mark.parametrize("threshold", [-1.0, 0.1, 0.2, 0.27, 0.3, 0.5, 0.85, 0.9, 2.0])
def test_metrics_at_any_threshold_match_scikit_learn(threshold):
    scored = known()
    result = scored.evaluation(threshold)
    keep = np.isfinite(SCORES)
    y, flags = LABELS[keep], SCORES[keep] > threshold
    tn, fp, fn, tp = confusion_matrix(y, flags, labels=[0, 1]).ravel()
    assert (result.tn, result.fp, result.fn, result.tp) == (tn, fp, fn, tp)
    for ours, theirs in (
        (result.precision, precision_score(y, flags, zero_division=np.nan)),
        (result.recall, recall_score(y, flags, zero_division=np.nan)),
        (result.f1, f1_score(y, flags, zero_division=np.nan)),
    ):
        assert ours == pytest.approx(theirs, nan_ok=True)
    assert result.roc_auc == pytest.approx(roc_auc_score(y, SCORES[keep]))
    assert result.average_precision == pytest.approx(average_precision_score(y, SCORES[keep]))
    assert asdict(result) == pytest.approx(asdict(evaluate(LABELS, SCORES, threshold)), nan_ok=True)


def test_without_labels_there_is_no_evaluation_and_no_curves():
    scored = known(labels=None)
    assert scored.evaluation(0.3) is None
    assert scored.roc is None
    assert scored.pr is None
    assert [c.method for c in scored.automatic] == ["contamination", "mean_std", "mad", "iqr"]


def test_automatic_thresholds_are_computed_once_with_the_documented_rules():
    rng = np.random.default_rng(1)
    scores = np.r_[rng.uniform(1.0, 2.0, 95), [5.0, 6.0, 7.0, 8.0, 9.0]]
    labels = np.r_[np.zeros(95, dtype=np.int8), np.ones(5, dtype=np.int8)]
    scored = known(scores, labels, contamination=0.05)
    by_method = {c.method: c for c in scored.automatic}
    median = np.median(scores)
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    assert by_method["contamination"].threshold == pytest.approx(np.quantile(scores, 0.95))
    assert by_method["mean_std"].threshold == pytest.approx(scores.mean() + 3 * scores.std())
    assert by_method["mad"].threshold == pytest.approx(
        median + 3.5 * 1.4826 * np.median(np.abs(scores - median))
    )
    assert by_method["iqr"].threshold == pytest.approx(q3 + 1.5 * (q3 - q1))
    best = by_method["best_f1"]
    assert best.n_flagged == 5  # exactly the five anomalies
    assert scores[:95].max() < best.threshold < 5.0
    assert all(c.n_flagged == scored.count_flagged(c.threshold) for c in scored.automatic)


def test_histogram_holds_counts_not_scores():
    scored = known()
    names = [name for name, _ in scored.histogram.groups]
    assert names == ["normal", "anomaly"]
    assert sum(int(counts.sum()) for _, counts in scored.histogram.groups) == 9


def test_an_all_unscored_table_is_a_data_error():
    with pytest.raises(DataError, match="No row could be scored"):
        known(np.full(3, np.nan), None)


def test_flagged_view_puts_the_users_columns_first_then_score_and_top_columns():
    frame = pd.DataFrame({"a": np.arange(10.0), "b": list("abcdefghij"), "anomaly score": 1})
    view = flagged_view(known(), frame, 0.3, limit=3)
    assert list(view.table.columns) == ["a", "b", "anomaly score", "anomaly score (2)", "top columns"]
    assert view.table.index.tolist() == [8, 10, 2]  # row numbers count from 1
    assert view.table["a"].tolist() == [7.0, 9.0, 1.0]
    assert view.table["anomaly score (2)"].tolist() == [0.9, 0.8, 0.4]
    assert view.table["top columns"].iloc[0] == "a (70%), b (30%)"
    assert view.n_flagged == 4
    assert view.truncated


def test_columns_are_matched_by_name_and_missing_ones_are_explained():
    match = match_columns(["a", "extra", "b"], ["a", "b", "c"])
    assert match.missing == ("c",)
    assert match.extra == ("extra",)
    with pytest.raises(DataError, match=r"lacks 1 column.*'c'"):
        match.check()


@pytest.mark.slow
def test_score_table_scores_every_row_and_reads_label_and_timestamp(fitted):
    detector, frame = fitted
    scored = score_table(detector, frame, label="label", timestamp="when")
    np.testing.assert_allclose(scored.scores, detector.decision_function(frame), rtol=1e-6)
    np.testing.assert_allclose(scored.shares.sum(axis=1), 1.0, rtol=1e-5)
    assert scored.labels.sum() == 6
    assert scored.x_title == "when"
    assert np.issubdtype(scored.x.dtype, np.datetime64)
    assert scored.projection.xy.shape == (300, 2)
    # The planted rows break a relationship only the reconstruction part sees (test_model.py),
    # so at 5% some are flagged and the rest rank just below.
    assert len(set(scored.flagged_positions(detector.threshold_, limit=20)) & set(range(294, 300))) >= 2


@pytest.mark.slow
def test_score_table_refuses_missing_columns_and_notes_an_unusable_label(fitted):
    detector, frame = fitted
    with pytest.raises(DataError, match="'b'"):
        score_table(detector, frame.drop(columns=["b"]))
    odd = frame.assign(label=np.arange(300) % 3)
    scored = score_table(detector, odd, label="label")
    assert scored.labels is None
    assert "cannot be used" in scored.notes[0]


@pytest.mark.slow
def test_score_table_notes_rows_without_feature_values(fitted):
    detector, frame = fitted
    assert score_table(detector, frame).notes == ()
    gaps = frame.copy()
    gaps.loc[[4, 9], ["a", "b", "c", "d", "site"]] = None

    scored = score_table(detector, gaps)

    assert scored.n_scored == 298
    assert scored.notes == (
        "2 rows had no feature values (first at row 5) and could not be scored: they are never "
        "flagged, and the download of all rows lists them with an empty score.",
    )


@pytest.mark.slow
def test_row_explanation_lists_actual_and_reconstructed_values_largest_share_first(fitted):
    detector, frame = fitted
    scored = score_table(detector, frame)
    explanation = row_explanation(scored, detector, frame, 299)
    assert explanation["column"].iloc[0] == "b"  # the column the outliers broke
    assert explanation["actual"].iloc[0] == frame["b"].iloc[299]
    assert abs(explanation["reconstructed"].iloc[0] - frame["b"].iloc[299]) > 2
    assert explanation["share of error"].is_monotonic_decreasing
    # Scaled as the model sees it, so that columns in different units compare.
    preprocessor = detector.preprocessor_
    b = preprocessor.source_columns_.index("b")
    assert explanation["actual (scaled)"].iloc[0] == pytest.approx(
        (frame["b"].iloc[299] - preprocessor.center_[b]) / preprocessor.scale_[b]
    )
    assert np.isnan(explanation.set_index("column").loc["site", "actual (scaled)"])


def test_flagged_rows_csv_holds_exactly_the_flagged_rows_with_the_original_text(tmp_path):
    source = tmp_path / "t.csv"
    source.write_bytes(b"id,amount,note\n007,\"1,5\",=cmd\n008,2.50,fine\n009,3,x\n")
    table = read_table(source)
    scored = ScoredTable(
        scores=np.array([0.9, 0.1, 0.5]), shares=pd.DataFrame({"amount": [1.0, 1.0, 1.0]}),
    )
    data = scored_rows_csv(scored, original_text(table, source), 0.3, only_flagged=True)
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back["id"].tolist() == ["007", "009"]
    assert back["amount"].tolist() == ["1,5", "3"]
    assert back["note"].tolist() == ["'=cmd", "x"]  # spreadsheet-safe
    assert back["is_anomaly"].tolist() == ["1", "1"]
    everything = pd.read_csv(io.BytesIO(scored_rows_csv(scored, original_text(table, source), 0.3,
                                                       only_flagged=False)), dtype=str)
    assert everything["id"].tolist() == ["007", "008", "009"]


@pytest.mark.slow
def test_with_threshold_changes_only_the_saved_threshold(fitted):
    detector, _ = fitted
    chosen = detector.with_threshold(0.0)
    assert chosen.threshold_ == 0.0
    assert chosen.labels_.all()
    assert detector.threshold_ != 0.0
    assert chosen.model_ is detector.model_


def test_flagged_rows_come_in_pages_in_score_order():
    scored = known()
    assert scored.flagged_positions(0.3, limit=2, offset=2).tolist() == [1, 8]
    assert scored.flagged_positions(0.3, limit=2, offset=3).tolist() == [8]
    assert scored.flagged_positions(0.3, limit=2, offset=9).tolist() == []
    frame = pd.DataFrame({"a": np.arange(10.0), "b": list("abcdefghij")})
    page = flagged_view(scored, frame, 0.3, limit=2, offset=2)
    assert page.table.index.tolist() == [2, 9]  # row numbers of positions 1 and 8
    assert page.offset == 2
    assert page.n_flagged == 4
    assert page.truncated
