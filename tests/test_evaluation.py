"""Tests for detector.evaluation: metrics against labels, unscored rows, curve points."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from detector.evaluation import evaluate, pr_points, roc_points


def noisy_scores(n_rows=200, seed=0):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n_rows) < 0.1).astype(int)
    scores = rng.normal(size=n_rows) + 2 * labels
    return labels, scores


def test_confusion_counts_and_metrics_on_a_tiny_example():
    labels = np.array([0, 0, 0, 1, 1, 0])
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.4])
    result = evaluate(labels, scores, threshold=0.5)  # flags rows 2 and 3
    assert (result.tn, result.fp, result.fn, result.tp) == (3, 1, 1, 1)
    assert (result.precision, result.recall, result.f1) == (0.5, 0.5, 0.5)
    assert result.false_positive_rate == 0.25
    assert result.n_unscored == 0


def test_metrics_match_scikit_learn_on_the_scored_rows():
    labels, scores = noisy_scores()
    scores[[3, 50, 51]] = np.nan
    result = evaluate(labels, scores, threshold=1.0)
    scored = ~np.isnan(scores)
    y, s = labels[scored], scores[scored]
    assert result.n_unscored == 3
    assert result.roc_auc == pytest.approx(roc_auc_score(y, s))
    assert result.average_precision == pytest.approx(average_precision_score(y, s))
    assert result.precision == pytest.approx(precision_score(y, s > 1.0))
    assert result.recall == pytest.approx(recall_score(y, s > 1.0))
    assert result.f1 == pytest.approx(f1_score(y, s > 1.0))
    assert result.tn + result.fp + result.fn + result.tp == scored.sum()


def test_single_class_labels_give_nan_ranking_metrics_without_warnings():
    scores = np.array([0.1, 0.5, 0.9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate(np.zeros(3, dtype=int), scores, threshold=0.6)
        only_anomalies = evaluate(np.ones(3, dtype=int), scores, threshold=0.6)
    assert np.isnan(result.roc_auc)
    assert np.isnan(result.average_precision)
    assert (result.tn, result.fp) == (2, 1)
    assert np.isnan(result.recall)  # there is no anomaly to find
    assert np.isnan(only_anomalies.roc_auc)
    assert only_anomalies.recall == pytest.approx(1 / 3)


def test_nothing_flagged_gives_nan_precision():
    result = evaluate(np.array([0, 1, 0]), np.array([0.1, 0.2, 0.3]), threshold=1.0)
    assert np.isnan(result.precision)
    assert result.recall == 0.0
    assert result.tp == 0


def test_all_rows_unscored_gives_empty_counts():
    result = evaluate(np.array([0, 1]), np.array([np.nan, np.nan]), threshold=0.0)
    assert result.n_unscored == 2
    assert (result.tn, result.fp, result.fn, result.tp) == (0, 0, 0, 0)
    assert np.isnan([result.roc_auc, result.precision, result.recall, result.f1]).all()


def test_evaluate_rejects_non_binary_or_misaligned_labels():
    with pytest.raises(ValueError, match="only 0"):
        evaluate(np.array([0, 2]), np.array([0.1, 0.2]), 0.5)
    with pytest.raises(ValueError, match="same length"):
        evaluate(np.array([0, 1, 1]), np.array([0.1, 0.2]), 0.5)


def test_roc_and_pr_points_match_scikit_learn_when_small():
    labels, scores = noisy_scores()
    fpr, tpr = roc_points(labels, scores)
    expected_fpr, expected_tpr, _ = roc_curve(labels, scores)
    np.testing.assert_array_equal(fpr, expected_fpr)
    np.testing.assert_array_equal(tpr, expected_tpr)
    recall, precision = pr_points(labels, scores)
    expected_precision, expected_recall, _ = precision_recall_curve(labels, scores)
    np.testing.assert_array_equal(recall, expected_recall)
    np.testing.assert_array_equal(precision, expected_precision)


def test_curve_points_are_thinned_for_charts_keeping_both_ends():
    labels, scores = noisy_scores(n_rows=20_000, seed=1)
    full_recall = precision_recall_curve(labels, scores)[1]
    assert len(full_recall) > 1000
    fpr, tpr = roc_points(labels, scores, max_points=300)
    recall, precision = pr_points(labels, scores)
    assert len(fpr) <= 300
    assert len(recall) == len(precision) <= 1000
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert (recall[0], recall[-1], precision[-1]) == (1.0, 0.0, 1.0)


def test_curve_points_are_empty_for_a_single_class_and_ignore_unscored_rows():
    fpr, tpr = roc_points(np.zeros(4, dtype=int), np.arange(4.0))
    assert fpr.size == tpr.size == 0
    recall, _ = pr_points(np.array([0, 1, 1]), np.array([np.nan, 0.2, 0.3]))
    assert recall.size == 0  # the only normal row is unscored
