"""Tests for detector.thresholds: suggested thresholds, the flag rule and NaN handling."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from detector.errors import DataError
from detector.thresholds import (
    automatic_thresholds,
    best_f1_threshold,
    contamination_threshold,
    flag,
    iqr_threshold,
    mad_threshold,
    mean_std_threshold,
    threshold_for_share,
)

ONE_TO_HUNDRED = np.arange(1, 101, dtype=float)
# Nine ordinary scores and one outlier.
WITH_OUTLIER = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], dtype=float)


def test_flag_is_strictly_greater_and_never_flags_unscored_rows():
    scores = np.array([1.0, 2.0, np.nan, 3.0])
    np.testing.assert_array_equal(flag(scores, 2.0), [False, False, False, True])
    assert not flag(scores, -np.inf)[2]


def test_contamination_threshold_is_the_linear_quantile():
    choice = contamination_threshold(ONE_TO_HUNDRED, 0.05)
    assert choice.threshold == pytest.approx(95.05)
    assert (choice.n_flagged, choice.share_flagged) == (5, 0.05)
    assert choice.label == "Top 5% (contamination)"
    assert choice.method == "contamination"
    assert contamination_threshold(WITH_OUTLIER, 0.1).threshold == pytest.approx(18.1)  # 9 + 0.1 * 91


@pytest.mark.parametrize("contamination", [0.0, 0.5, -0.1, 0.7])
def test_contamination_outside_open_interval_is_rejected(contamination):
    with pytest.raises(ValueError, match="contamination"):
        contamination_threshold(ONE_TO_HUNDRED, contamination)


def test_mean_std_threshold_uses_population_std_and_is_masked_by_the_outlier():
    # mean 14.5, population variance 818.25: the outlier inflates the std so much that
    # mean + 3·std does not flag it; this is why the robust methods exist.
    choice = mean_std_threshold(WITH_OUTLIER)
    assert choice.threshold == pytest.approx(14.5 + 3 * np.sqrt(818.25))
    assert choice.n_flagged == 0
    assert choice.label == "Mean + 3·std"
    assert mean_std_threshold(WITH_OUTLIER, k=2).n_flagged == 1


def test_mad_threshold_flags_the_outlier():
    # median 5.5, MAD 2.5
    choice = mad_threshold(WITH_OUTLIER)
    assert choice.threshold == pytest.approx(5.5 + 3.5 * 1.4826 * 2.5)
    assert choice.n_flagged == 1
    assert choice.label == "Median + 3.5·MAD"


def test_mad_of_zero_falls_back_to_mean_absolute_deviation():
    # Over half the scores tie at the median 1, so the MAD is 0 and would flag the 2 as well.
    scores = np.array([1, 1, 1, 1, 1, 1, 2, 10], dtype=float)
    choice = mad_threshold(scores)
    assert choice.threshold == pytest.approx(1 + 3.5 * np.sqrt(np.pi / 2) * 1.25)  # mean |dev| 10/8
    assert choice.n_flagged == 1


def test_identical_scores_flag_nothing():
    for method in (mad_threshold, iqr_threshold, mean_std_threshold):
        choice = method(np.full(5, 3.0))
        assert choice.threshold == 3.0
        assert choice.n_flagged == 0


def test_iqr_threshold_is_tukeys_upper_fence():
    choice = iqr_threshold(WITH_OUTLIER)  # Q1 3.25, Q3 7.75
    assert choice.threshold == pytest.approx(7.75 + 1.5 * 4.5)
    assert choice.n_flagged == 1
    assert choice.label == "Q3 + 1.5·IQR"
    assert iqr_threshold(WITH_OUTLIER, k=3).label == "Q3 + 3·IQR"


def test_unscored_rows_are_ignored_by_every_method():
    with_nan = np.concatenate([[np.nan], WITH_OUTLIER, [np.nan, np.nan]])
    for method in (contamination_threshold, mean_std_threshold, mad_threshold, iqr_threshold):
        clean, noisy = method(WITH_OUTLIER), method(with_nan)
        assert noisy.threshold == pytest.approx(clean.threshold)
        assert noisy.n_flagged == clean.n_flagged
        assert noisy.share_flagged == clean.share_flagged  # over the 10 scored rows, not 13


def test_all_scores_missing_is_a_data_error():
    with pytest.raises(DataError, match="No row has a score"):
        contamination_threshold(np.full(4, np.nan))


def brute_force_best_f1(scores, labels):
    """Best F1 over every cut-off 'score > c', c in the scores and below the minimum."""
    cutoffs = np.append(np.unique(scores), scores.min() - 1)
    return max(f1_score(labels, scores > c, zero_division=0) for c in cutoffs)


@pytest.mark.parametrize("seed", range(6))
def test_best_f1_threshold_reaches_the_brute_force_best_f1(seed):
    rng = np.random.default_rng(seed)
    labels = (rng.random(40) < 0.25).astype(int)
    labels[0] = 1
    # Integer scores, so there are ties; anomalies score higher on average.
    scores = rng.integers(0, 12, size=40).astype(float) + 4 * labels
    choice = best_f1_threshold(scores, labels)
    f1_at_choice = f1_score(labels, scores > choice.threshold)
    assert f1_at_choice == pytest.approx(brute_force_best_f1(scores, labels))
    assert choice.n_flagged == int((scores > choice.threshold).sum())
    assert choice.label == f"Best F1 ({f1_at_choice:.2f}, from labels)"


def test_best_f1_threshold_sits_between_distinct_scores():
    scores = np.array([1.0, 2.0, 3.0, 10.0, 11.0])
    labels = np.array([0, 0, 0, 1, 1])
    assert best_f1_threshold(scores, labels).threshold == 6.5  # midpoint of 3 and 10


def test_best_f1_can_flag_every_row_and_ignores_unscored_rows():
    scores = np.array([np.nan, 1.0, 2.0, 3.0])
    choice = best_f1_threshold(scores, np.array([0, 1, 1, 1]))
    assert choice.threshold < 1.0
    assert choice.n_flagged == 3


def test_best_f1_needs_a_labelled_anomaly():
    with pytest.raises(DataError, match="labelled as an anomaly"):
        best_f1_threshold(ONE_TO_HUNDRED, np.zeros(100, dtype=int))


def test_labels_must_be_binary_and_match_the_scores():
    with pytest.raises(ValueError, match="only 0"):
        best_f1_threshold(np.arange(3.0), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="shape"):
        best_f1_threshold(np.arange(3.0), np.array([0, 1]))


def test_automatic_thresholds_lists_every_method_and_best_f1_only_with_labels():
    methods = [choice.method for choice in automatic_thresholds(ONE_TO_HUNDRED)]
    assert methods == ["contamination", "mean_std", "mad", "iqr"]
    labels = (ONE_TO_HUNDRED > 90).astype(int)
    with_labels = automatic_thresholds(ONE_TO_HUNDRED, labels, contamination=0.1)
    assert [choice.method for choice in with_labels][-1] == "best_f1"
    assert with_labels[0].label == "Top 10% (contamination)"
    assert with_labels[-1].n_flagged == 10
    no_anomaly = automatic_thresholds(ONE_TO_HUNDRED, np.zeros(100, dtype=int))
    assert [choice.method for choice in no_anomaly] == methods


@pytest.mark.parametrize(("share", "n_flagged"), [(0.0, 0), (0.05, 5), (0.333, 33), (1.0, 100)])
def test_threshold_for_share_flags_that_share(share, n_flagged):
    threshold = threshold_for_share(ONE_TO_HUNDRED, share)
    assert int(flag(ONE_TO_HUNDRED, threshold).sum()) == n_flagged


def test_threshold_for_share_cannot_split_ties_and_ignores_nan():
    assert threshold_for_share(np.array([1.0, 2, 2, 2, 3, np.nan]), 0.4) == 2.0  # flags only the 3
    with pytest.raises(ValueError, match="share"):
        threshold_for_share(ONE_TO_HUNDRED, 1.5)
