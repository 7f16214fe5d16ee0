"""Tests for detector.comparison: methods flagged at one share, agreement, labels and the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.comparison import compare_methods, verdict

RISING = np.arange(100, dtype=float)
FALLING = RISING[::-1].copy()


def compare(share, labels=None, **scores):
    """Compare the methods given as keywords, with the autoencoder as the primary."""
    return compare_methods(scores, primary="autoencoder", share=share, labels=labels)


def test_identical_scores_agree_completely():
    comparison = compare(0.1, autoencoder=RISING, iforest=RISING.copy())
    other = comparison.summary("iforest")
    assert other.spearman == pytest.approx(1.0)
    assert other.overlap == 1.0
    assert other.n_flagged == 10
    assert comparison.only_primary("iforest").size == 0
    assert "flags exactly the same 10 rows as the autoencoder" in verdict(comparison)


def test_reversed_scores_disagree():
    comparison = compare(0.1, autoencoder=RISING, pca=FALLING)
    other = comparison.summary("pca")
    assert other.spearman == pytest.approx(-1.0)
    assert other.overlap == 0.0
    assert "PCA reconstruction flags 0% of the same rows" in verdict(comparison)


def test_every_method_is_flagged_at_the_primary_share_whatever_its_scale():
    scores = {"autoencoder": RISING, "ecod": RISING**3 + 1e6}
    comparison = compare_methods(scores, primary="autoencoder", share=0.25)
    assert [m.n_flagged for m in comparison.methods] == [25, 25]
    np.testing.assert_array_equal(np.flatnonzero(comparison.flagged["ecod"]), np.arange(75, 100))


def test_only_primary_and_only_other_are_the_rows_each_flags_alone():
    primary = np.arange(10, dtype=float)  # top 2: positions 8, 9
    other = np.array([0, 1, 2, 3, 4, 5, 6, 9, 7, 8], dtype=float)  # top 2: positions 7, 9
    comparison = compare(0.2, autoencoder=primary, iforest=other)
    np.testing.assert_array_equal(comparison.only_primary("iforest"), [8])
    np.testing.assert_array_equal(comparison.only_other("iforest"), [7])
    assert comparison.summary("iforest").overlap == 0.5


def test_rows_any_method_cannot_score_are_left_out_for_all():
    primary = RISING.copy()
    other = RISING.copy()
    other[99] = np.nan  # the primary's top row: without it, both rank the rest alike
    comparison = compare(0.1, autoencoder=primary, iforest=other)
    assert comparison.n_compared == 99
    assert not comparison.flagged["autoencoder"][99]
    assert comparison.summary("iforest").overlap == 1.0
    assert comparison.summary("iforest").spearman == pytest.approx(1.0)
    assert np.isnan(comparison.ranks["autoencoder"][99])


def test_a_method_perfect_against_labels_is_named_better():
    rng = np.random.default_rng(0)
    labels = np.zeros(200, dtype=int)
    labels[:10] = 1
    perfect = labels + rng.uniform(0, 0.5, size=200)
    noisy = rng.uniform(size=200)
    comparison = compare(0.05, labels=labels, autoencoder=noisy, iforest=perfect, ecod=noisy[::-1].copy())
    forest = comparison.summary("iforest")
    assert forest.average_precision == pytest.approx(1.0)
    assert forest.roc_auc == pytest.approx(1.0)
    assert forest.precision == forest.recall == pytest.approx(1.0)
    assert comparison.best_baseline == "iforest"
    text = verdict(comparison)
    assert "With the label, Isolation Forest is better here (AP 1.00 vs" in text
    assert text.endswith("consider it.")


def test_a_perfect_primary_is_called_best():
    labels = np.zeros(100, dtype=int)
    labels[-5:] = 1
    comparison = compare(0.05, labels=labels, autoencoder=RISING, iforest=FALLING)
    assert verdict(comparison).endswith(
        "With the label, the autoencoder is best here (AP 1.00; next Isolation Forest 0.03)."
    )


def test_without_labels_the_best_baseline_is_the_one_agreeing_most():
    close = RISING + np.where(RISING > 94, 0, 0.5)  # same order: full agreement
    far = FALLING
    comparison = compare(0.05, autoencoder=RISING, ecod=far, pca=close)
    assert comparison.best_baseline == "pca"
    assert verdict(comparison).startswith("PCA reconstruction flags exactly the same 5 rows")
    assert "ECOD 0%" in verdict(comparison)


def test_verdict_names_the_columns_that_set_apart_rows_only_the_primary_flags():
    primary = np.arange(10, dtype=float)
    other = np.array([0, 1, 2, 3, 4, 5, 6, 9, 7, 8], dtype=float)
    shares = pd.DataFrame({"pressure": np.full(10, 0.1), "temperature": np.full(10, 0.1),
                           "speed": np.full(10, 0.8)})
    shares.loc[8] = [0.6, 0.3, 0.1]  # the row only the autoencoder flags
    comparison = compare(0.2, autoencoder=primary, iforest=other)
    text = verdict(comparison, shares)
    assert text == (
        "Isolation Forest flags 50% of the same rows as the autoencoder; the 1 row only the "
        "autoencoder flags differ mainly in pressure, temperature."
    )
    assert "1 row is flagged only by the autoencoder" in verdict(comparison)


def test_verdict_handles_nothing_flagged_one_method_and_nothing_scored():
    nothing = compare(0, autoencoder=RISING, iforest=RISING.copy())
    assert verdict(nothing).startswith("Nothing is flagged at this threshold")
    alone = compare(0.1, autoencoder=RISING)
    assert alone.best_baseline is None
    assert verdict(alone) == "Only the autoencoder was scored, so there is nothing to compare it with."
    unscored = compare(0.1, autoencoder=RISING, iforest=np.full(100, np.nan))
    assert unscored.n_compared == 0
    assert "cannot be compared" in verdict(unscored)


def test_labels_with_a_single_class_cannot_tell_which_is_better():
    comparison = compare(0.1, labels=np.zeros(100, dtype=int), autoencoder=RISING, iforest=FALLING)
    assert "cannot tell which is better" in verdict(comparison)


def test_titles_come_from_the_registry_unless_given():
    comparison = compare_methods({"autoencoder": RISING, "iforest": RISING.copy(), "mine": RISING.copy()},
                                 primary="autoencoder", share=0.1, titles={"mine": "My rule"})
    assert list(comparison.table().index) == ["Autoencoder", "Isolation Forest", "My rule"]
    assert list(comparison.table().columns) == ["n_flagged", "overlap", "spearman"]


def test_table_has_label_metrics_only_with_labels():
    labels = (RISING > 90).astype(int)
    comparison = compare(0.1, labels=labels, autoencoder=RISING, iforest=RISING.copy())
    assert {"roc_auc", "average_precision", "precision", "recall"} <= set(comparison.table().columns)


def test_rank_pairs_keep_every_flagged_row_and_at_most_max_points():
    rng = np.random.default_rng(1)
    primary, other = rng.normal(size=5000), rng.normal(size=5000)
    comparison = compare(0.02, autoencoder=primary, iforest=other)
    pairs = comparison.rank_pairs("iforest", max_points=500)
    assert len(pairs.positions) == 500
    either = np.flatnonzero(comparison.flagged["autoencoder"] | comparison.flagged["iforest"])
    assert set(either) <= set(pairs.positions)
    assert pairs.flagged_primary.sum() == 100
    np.testing.assert_array_equal(pairs.primary_rank, comparison.ranks["autoencoder"][pairs.positions])
    assert pairs.primary_rank.max() <= 100
    again = comparison.rank_pairs("iforest", max_points=500)
    np.testing.assert_array_equal(pairs.positions, again.positions)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="primary"):
        compare(0.1, iforest=RISING)
    with pytest.raises(ValueError, match="one score per row"):
        compare(0.1, autoencoder=RISING, iforest=RISING[:50])
    with pytest.raises(ValueError, match="share"):
        compare(1.5, autoencoder=RISING)
