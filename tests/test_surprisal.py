"""Rarity in nats: the training rows' own shares, and an exponential tail beyond the highest."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from detector.errors import DataError
from detector.surprisal import MAX_POINTS, TailModel


def test_training_scores_get_minus_log_of_the_share_at_least_as_high():
    scores = np.random.default_rng(0).gamma(2.0, size=500)
    model = TailModel.fit(scores)
    expected = -np.log(1 - rankdata(scores, method="max") / (len(scores) + 1))
    np.testing.assert_allclose(model.surprisal(scores), expected, rtol=1e-9)
    assert model.surprisal(np.array([scores.max()]))[0] == pytest.approx(np.log(501))


def test_beyond_the_highest_training_score_rarity_keeps_rising():
    scores = np.random.default_rng(1).exponential(size=2000)
    model = TailModel.fit(scores)
    top = scores.max()
    further = model.surprisal(np.array([top, top + 1, top + 5, top + 50]))
    assert (np.diff(further) > 0).all()
    # An exponential tail of slope 1 (the mean excess of an exponential): one unit, one nat.
    assert further[1] - further[0] == pytest.approx(1.0, rel=0.15)
    assert np.isnan(model.surprisal(np.array([np.nan]))[0])
    assert model.surprisal(np.array([-1.0]))[0] == pytest.approx(0.0, abs=1e-3)


def test_a_million_scores_are_kept_as_a_few_thousand_points_with_the_same_answers():
    scores = np.random.default_rng(2).lognormal(size=1_000_000)
    model = TailModel.fit(scores)
    assert len(model.points) <= MAX_POINTS
    probe = np.quantile(scores, [0.1, 0.5, 0.9, 0.999])
    exact = -np.log((np.array([(scores > p).sum() for p in probe]) + 1) / (len(scores) + 1))
    np.testing.assert_allclose(model.surprisal(probe), exact, atol=0.01)


def test_tied_scores_share_their_rarity_instead_of_taking_the_groups_highest():
    scores = np.r_[np.zeros(700), np.random.default_rng(4).uniform(1, 2, 300)]
    model = TailModel.fit(scores)
    assert model.surprisal(np.array([0.0]))[0] == pytest.approx(-np.log(1000 / 1001))
    assert model.surprisal(np.array([1.0]))[0] == pytest.approx(-np.log(300 / 1001), abs=0.01)


def test_tied_scores_and_a_constant_view_stay_finite():
    model = TailModel.fit(np.zeros(100))
    values = model.surprisal(np.array([0.0, 1e-9, 1.0]))
    assert np.isfinite(values).all()
    assert values[0] < values[1] < values[2]


def test_a_stored_model_round_trips_and_a_tampered_one_is_refused():
    model = TailModel.fit(np.random.default_rng(3).normal(size=300))
    arrays = model.to_arrays("tail_x")
    again = TailModel.from_arrays(arrays, "tail_x")
    probe = np.linspace(-5, 10, 31)
    np.testing.assert_array_equal(again.surprisal(probe), model.surprisal(probe))
    broken = dict(arrays, tail_x_tail=np.array([300.0, 1.0, -1.0]))  # a negative tail slope
    with pytest.raises(DataError, match="inconsistent"):
        TailModel.from_arrays(broken, "tail_x")
    with pytest.raises(DataError, match="missing"):
        TailModel.from_arrays({}, "tail_x")
