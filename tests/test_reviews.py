"""Reviews: ✓/✗ marks, the threshold they suggest, suppression rules, and where rules apply."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, correlated_table

from detector import AutoencoderDetector, ScoredTable, load_bundle, score_file
from detector.errors import DataError
from detector.evaluation import evaluate
from detector.reviews import ANOMALY, EXPECTED, Reviews, SuppressionRule, row_keys, suppressed


def test_row_keys_follow_the_feature_values_not_the_file_or_other_columns():
    a = pd.DataFrame({"x": [1.5, 2.0, 1.5], "site": ["n", "s", "n"], "note": ["a", "b", "c"]})
    b = pd.DataFrame({"note": ["z"], "site": ["n"], "x": [1.5]})
    keys = row_keys(a, ["x", "site"])
    assert keys[0] == keys[2] != keys[1]
    assert row_keys(b, ["x", "site"])[0] == keys[0]
    assert all(len(k) == 16 for k in keys)
    assert row_keys(pd.DataFrame({"x": [np.nan]}), ["x"])[0] != row_keys(pd.DataFrame({"x": [0.0]}), ["x"])[0]


def reviewed(scores_marks: list[tuple[float, str]]) -> tuple[Reviews, np.ndarray, np.ndarray]:
    reviews = Reviews()
    keys = np.array([f"{i:016x}" for i in range(len(scores_marks))], dtype=object)
    for i, (_, verdict) in enumerate(scores_marks):
        if verdict:
            reviews.mark(keys[i], i + 1, verdict)
    return reviews, keys, np.array([score for score, _ in scores_marks])


def test_precision_and_recall_on_reviewed_rows():
    reviews, keys, scores = reviewed([(9, ANOMALY), (8, EXPECTED), (7, ANOMALY), (1, "")])
    summary = reviews.summary(keys, scores > 7.5)
    assert (summary.n_anomaly, summary.n_expected, summary.n_reviewed) == (2, 1, 3)
    assert summary.precision == pytest.approx(1 / 2)
    assert summary.recall == pytest.approx(1 / 2)
    reviews.mark(keys[1], 2, None)
    assert reviews.summary(keys, scores > 7.5).precision == 1.0


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([(9, ANOMALY), (5, EXPECTED), (4, EXPECTED), (1, "")], 5.0),  # above every ✗, below every ✓
        ([(9, EXPECTED), (3, "")], 9.0),  # only ✗: above them
        ([(9, ANOMALY), (2, "")], None),  # no ✗: nothing says where to stop
        # Overlapping: the best F1 (every ✓ flagged, one ✗ too), at the highest such threshold.
        ([(9, ANOMALY), (8, EXPECTED), (7, ANOMALY), (6, ANOMALY), (2, EXPECTED)], pytest.approx(6.0)),
    ],
)
def test_the_suggested_threshold_agrees_best_with_the_marks(marks, expected):
    reviews, keys, scores = reviewed(marks)
    assert reviews.suggest_threshold(keys, scores) == expected


def test_rows_a_rule_suppresses_need_no_threshold():
    reviews, keys, scores = reviewed([(9, ANOMALY), (8, EXPECTED), (5, EXPECTED)])
    assert reviews.suggest_threshold(keys, scores) == 8.0
    assert reviews.suggest_threshold(keys, scores, exempt=np.array([False, True, False])) == 5.0


def test_a_rule_matches_rows_mostly_explained_by_its_column():
    shares = pd.DataFrame({"temp": [0.7, 0.5, 0.2, np.nan], "rpm": [0.3, 0.5, 0.8, np.nan]})
    rule = SuppressionRule("temp", 0.5)
    np.testing.assert_array_equal(rule.matches(shares), [True, True, False, False])
    assert rule.describe() == "Don't flag rows where temp explains at least 50% of the score"
    both = suppressed([rule, SuppressionRule("rpm", 0.8)], shares, 4)
    np.testing.assert_array_equal(both, [True, True, True, False])
    assert not suppressed([rule], None, 4).any()
    assert not SuppressionRule("gone").matches(shares).any()
    with pytest.raises(ValueError, match="share"):
        SuppressionRule("temp", 0)


def test_rules_are_kept_once_per_column_the_broadest_winning():
    reviews = Reviews()
    assert reviews.add_rule(SuppressionRule("temp", 0.6))
    assert not reviews.add_rule(SuppressionRule("temp", 0.7))  # narrower: nothing new
    assert reviews.add_rule(SuppressionRule("temp", 0.4))  # broader: replaces
    assert reviews.rules == [SuppressionRule("temp", 0.4)]
    reviews.remove_rule(SuppressionRule("temp", 0.4))
    assert reviews.rules == []


def test_reviews_survive_their_dict_and_csv_forms():
    reviews, _, _ = reviewed([(9, ANOMALY), (8, EXPECTED), (1, "")])
    reviews.add_rule(SuppressionRule("temp", 0.5))
    again = Reviews.from_dict(reviews.to_dict())
    assert again.verdicts == reviews.verdicts
    assert again.rows == reviews.rows
    assert again.rules == reviews.rules

    from_file = Reviews()
    assert from_file.read_csv(reviews.to_csv()) == 2
    assert from_file.verdicts == reviews.verdicts
    assert reviews.to_csv().decode().splitlines()[0] == "row_key,row,verdict"


def test_a_reviews_file_may_spell_verdicts_as_people_do():
    data = "row_key,row,verdict\n00000000000000aa,3,✓\n00000000000000bb,,Expected\n\n".encode()
    reviews = Reviews()
    assert reviews.read_csv(data) == 2
    assert reviews.verdicts == {"00000000000000aa": ANOMALY, "00000000000000bb": EXPECTED}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"key,verdict\n", "starts with the header row_key,row,verdict"),
        (b"row_key,row,verdict\n00000000000000aa,1,maybe\n", "Line 2 of the reviews file is not a review"),
        (b"row_key,row,verdict\nnot-a-key,1,anomaly\n", "Line 2"),
        (b"row_key,row,verdict\n00000000000000aa\n", "Line 2 of the reviews file has 1 cells"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_a_bad_reviews_file_is_refused_with_its_line_and_nothing_is_added(data, message):
    reviews = Reviews()
    with pytest.raises(DataError, match=message):
        reviews.read_csv(data)
    assert len(reviews) == 0


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"verdicts": "x", "rules": []},
        {"verdicts": [{"key": "zz", "row": 1, "verdict": ANOMALY}], "rules": []},
        {"verdicts": [], "rules": [{"column": "a", "min_share": 7}]},
        {"verdicts": [{"key": "0" * 16, "row": True, "verdict": ANOMALY}], "rules": []},
    ],
)
def test_malformed_reviews_in_a_bundle_are_refused(data):
    with pytest.raises(DataError, match="reviews are malformed"):
        Reviews.from_dict(data)


def test_a_scored_table_with_suppressed_rows_counts_evaluates_and_lists_without_them():
    rng = np.random.default_rng(0)
    scores = rng.random(200)
    labels = (rng.random(200) < 0.1).astype(np.int8)
    hidden = np.zeros(200, dtype=bool)
    hidden[np.argsort(-scores)[:5]] = True  # the five highest rows are suppressed
    scored = ScoredTable(scores=scores, shares=None, labels=labels)
    quiet = scored.with_suppressed(hidden)
    threshold = float(np.quantile(scores, 0.9))
    flags = (scores > threshold) & ~hidden
    assert quiet.count_flagged(threshold) == flags.sum() == scored.count_flagged(threshold) - 5
    assert quiet.count_suppressed(threshold) == 5
    assert quiet.n_suppressed == 5
    np.testing.assert_array_equal(quiet.flags(threshold), flags)
    assert set(quiet.flagged_positions(threshold)) == set(np.flatnonzero(flags))
    fast, slow = quiet.evaluation(threshold), evaluate(labels, np.where(hidden, -1.0, scores), threshold)
    assert (fast.tp, fast.fp, fast.fn, fast.tn) == (slow.tp, slow.fp, slow.fn, slow.tn)


def test_rules_kept_with_a_model_apply_to_predict_bundles_and_scored_files(tmp_path):
    frame = correlated_table()
    detector = AutoencoderDetector(config=TINY).fit(frame)
    scores, shares = detector.score_with_contributions(frame)
    flagged = scores > detector.threshold_
    column = shares[flagged].idxmax(axis=1).mode()[0]  # the column most flagged rows blame
    rule = SuppressionRule(column, 0.5)
    ruled = detector.with_rules([rule])
    expected = flagged & ~rule.matches(shares)
    assert expected.sum() < flagged.sum()
    np.testing.assert_array_equal(ruled.predict(frame), expected.astype(np.int8))
    np.testing.assert_array_equal(detector.predict(frame), flagged.astype(np.int8))  # the original keeps none

    ruled.save(tmp_path / "model.zip")
    loaded = load_bundle(tmp_path / "model.zip").detector
    assert loaded.suppression_rules_ == (rule,)
    frame.to_csv(tmp_path / "rows.csv", index=False)
    score_file(loaded, tmp_path / "rows.csv", tmp_path / "scored.csv")
    written = pd.read_csv(tmp_path / "scored.csv")
    np.testing.assert_array_equal(written["is_anomaly"].to_numpy(), expected.astype(int))
