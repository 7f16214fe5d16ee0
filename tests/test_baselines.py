"""Baselines fitted beside a trained detector: same rows, same preprocessing, one flagged share."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import correlated_table

from detector.baselines import SYNTHETIC_PER_TYPE, fit_baselines
from detector.columns import ColumnRoles
from detector.iforest import IsolationForestDetector
from detector.pca import PCADetector
from detector.registry import baseline_kinds
from detector.results import score_table

ROLES = ColumnRoles(numeric=("a", "b", "c", "d"), categorical=("site",))


@pytest.fixture(scope="module")
def compared():
    """A PCA detector as the primary (quick), with every registered baseline beside it."""
    frame = correlated_table(n_rows=300)
    frame["label"] = np.r_[np.zeros(294, dtype=int), np.ones(6, dtype=int)]
    X = frame[list(ROLES.features)]
    primary = PCADetector(columns=ROLES, contamination=0.02).fit(X)
    scored = score_table(primary, frame, label="label")
    return frame, primary, scored, fit_baselines(primary, X, frame, baseline_kinds(), primary=scored)


def test_each_baseline_is_fitted_on_the_same_columns_with_the_same_settings(compared):
    _, primary, _, baselines = compared
    assert baselines.kinds == ("pca", "iforest", "ecod")  # the primary first, never twice
    for kind in ("iforest", "ecod"):
        method = baselines.detectors[kind]
        assert method.feature_columns == primary.feature_columns
        assert method.contamination == primary.contamination
        assert method.preprocess == primary.preprocess
    assert set(baselines.timings) == {"iforest", "ecod", "synthetic", "rankings"}


def test_on_a_large_table_the_baselines_are_fitted_on_a_sample_and_score_every_row(monkeypatch):
    import detector.baselines as module

    monkeypatch.setattr(module, "FIT_ROWS", 100)
    frame = correlated_table(n_rows=300)
    X = frame[list(ROLES.features)]
    primary = PCADetector(columns=ROLES).fit(X)
    baselines = fit_baselines(primary, X, frame, ("ecod",), primary=score_table(primary, frame))
    assert baselines.detectors["ecod"].n_train_rows_ == 100
    assert np.isfinite(baselines.scores["ecod"]).sum() == 300


def test_the_baselines_score_the_same_table_and_share_the_primarys_projection(compared):
    frame, _, scored, baselines = compared
    forest = baselines.detectors["iforest"]
    np.testing.assert_array_equal(baselines.scores["iforest"], forest.decision_function(frame))
    table = baselines.scored_table("iforest")  # built when asked for, then kept
    assert baselines.scored_table("iforest") is table
    np.testing.assert_array_equal(table.scores, baselines.scores["iforest"])
    assert table.projection is scored.projection
    assert table.label_column == "label"


def test_each_method_is_compared_at_the_share_the_primary_flags(compared):
    _, _, scored, baselines = compared
    threshold = float(np.sort(scored.scores)[-31])  # the primary flags 30 rows
    comparison = baselines.comparison(threshold)
    assert [m.n_flagged for m in comparison.methods] == [30, 30, 30]
    thresholds = baselines.thresholds_at_share(threshold)
    assert thresholds["pca"] == threshold
    assert baselines.scored_table("ecod").count_flagged(thresholds["ecod"]) == 30


def test_the_sensitivity_profile_follows_the_threshold(compared):
    _, _, scored, baselines = compared
    low = baselines.sensitivity(float(np.sort(scored.scores)[-60])).table()
    high = baselines.sensitivity(float(np.sort(scored.scores)[-3])).table()
    assert list(low.index) == ["PCA reconstruction", "Isolation Forest", "ECOD"]
    assert set(low.columns) == {"local", "global", "dependency", "clustered"}
    assert (low >= high).all().all()  # flagging more rows never catches fewer injected ones
    assert low["global"].min() > 0.5  # values beyond the data's range are easy for every method
    assert baselines.synthetic.profile(baselines.thresholds_at_share(0.0)).n_per_type["global"] == (
        SYNTHETIC_PER_TYPE
    )


def test_a_baseline_of_the_primarys_own_kind_is_not_fitted_again():
    frame = correlated_table(n_rows=120)
    X = frame[list(ROLES.features)]
    forest = IsolationForestDetector(columns=ROLES).fit(X)
    baselines = fit_baselines(forest, X, frame, ("iforest",), primary=score_table(forest, frame))
    assert baselines.detectors == {"iforest": forest}
