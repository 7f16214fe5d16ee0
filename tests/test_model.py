"""The autoencoder detector: sizing rules, training, scores, explanations and the fit hook."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, correlated_table
from sklearn.metrics import roc_auc_score

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig, TrainingPlan, training_plan
from detector.columns import ColumnRoles
from detector.errors import DataError, NotFittedError
from detector.network import architecture, build_autoencoder

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted() -> tuple[AutoencoderDetector, pd.DataFrame]:
    frame = correlated_table()
    return AutoencoderDetector(config=TINY, contamination=0.05).fit(frame), frame


def test_resolved_sizes_follow_the_data_shape():
    small = AutoencoderConfig().resolved(n_rows=200, n_features=6)
    wide = AutoencoderConfig().resolved(n_rows=1_000_000, n_features=200)
    assert small.hidden_layers == (16,)
    assert small.bottleneck == 3
    assert small.batch_size == 32
    assert small.epochs == 100, "a small table gets the full epoch budget"
    assert wide.hidden_layers == (256,)
    assert wide.bottleneck == 100
    assert wide.batch_size == 1024
    assert wide.epochs == 5, "max_steps lowers the epochs of a large table, to no fewer than 5"
    assert AutoencoderConfig(max_steps=None).resolved(1_000_000, 200).epochs == 100
    # Whatever the width, the code layer is narrower than the layer before it.
    for n_features in (1, 3, 10, 40, 500):
        config = AutoencoderConfig().resolved(n_rows=500, n_features=n_features)
        assert config.bottleneck < config.hidden_layers[-1]


def test_the_training_plan_says_when_the_step_limit_lowers_the_epochs():
    plan = training_plan(AutoencoderConfig(epochs=200), n_rows=1_000_000, n_features=20)

    assert plan == TrainingPlan(
        n_rows=1_000_000, batch_size=1024, steps_per_epoch=977, epochs_requested=200,
        epochs_allowed=5, max_steps=3000,
    )
    assert plan.limited_by_max_steps
    assert plan.describe().startswith("5 of 200 epochs: the step limit (3,000 batch steps)")
    assert "1,000,000 rows" in plan.describe()
    unlimited = training_plan(AutoencoderConfig(epochs=200, max_steps=None), 1_000_000, 20)
    assert not unlimited.limited_by_max_steps
    assert unlimited.describe().startswith("up to 200 epochs")
    small = training_plan(AutoencoderConfig(epochs=200), n_rows=100, n_features=20)
    assert (small.epochs_allowed, small.limited_by_max_steps) == (200, False)


def test_training_plan_dict_round_trip_and_refuses_bad_fields():
    plan = training_plan(AutoencoderConfig(epochs=200), 1_000_000, 20)
    data = plan.to_dict()
    assert data["limited_by_max_steps"] is True, "said plainly to whoever reads the JSON"
    assert TrainingPlan.from_dict(data) == plan
    with pytest.raises(DataError, match="training plan"):
        TrainingPlan.from_dict({**data, "epochs_allowed": "5"})
    with pytest.raises(DataError, match="training plan"):
        TrainingPlan.from_dict({key: v for key, v in data.items() if key != "batch_size"})


def test_fit_records_how_the_step_limit_cut_the_epochs():
    # 120 rows in batches of 32 are 4 steps an epoch: 2 steps allow the minimum of 5 epochs.
    config = replace(TINY, epochs=40, patience=40, max_steps=2)
    detector = AutoencoderDetector(config=config).fit(correlated_table(n_rows=120))

    plan = detector.training_plan_
    assert (plan.epochs_requested, plan.epochs_allowed, plan.steps_per_epoch) == (40, 5, 4)
    assert (plan.n_rows, plan.batch_size, plan.max_steps) == (120, 32, 2)
    assert plan.limited_by_max_steps
    assert len(detector.history_["loss"]) == 5 == detector.config_.epochs


def test_explicit_sizes_are_kept():
    config = AutoencoderConfig(hidden_layers=(40, 20), bottleneck=5, batch_size=64).resolved(10, 10)
    assert (config.hidden_layers, config.bottleneck, config.batch_size) == ((40, 20), 5, 64)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dropout", 0.95),
        ("epochs", 0),
        ("activation", "sigmoidish"),
        ("hidden_layers", (0,)),
        ("learning_rate", -1.0),
        ("validation_fraction", 0.7),
        ("seed", -1),
        ("patience", 1.5),
    ],
)
def test_invalid_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        replace(AutoencoderConfig(), **{field: value}).validate()


def test_config_dict_round_trip_and_refuses_unknown_fields():
    config = AutoencoderConfig(hidden_layers=(8, 4), dropout=0.1)
    assert AutoencoderConfig.from_dict(config.to_dict()) == config
    with pytest.raises(DataError, match="unknown fields: evil"):
        AutoencoderConfig.from_dict({**config.to_dict(), "evil": 1})


def test_architecture_matches_the_keras_parameter_count():
    config = AutoencoderConfig(hidden_layers=(12, 6), bottleneck=3, dropout=0.2).resolved(100, 9)
    layers = architecture(config, 9)
    assert [layer.units for layer in layers] == [12, 6, 3, 6, 12, 9]
    assert sum(layer.params for layer in layers) == build_autoencoder(config, 9).count_params()


def test_fit_learns_history_scores_and_threshold(fitted):
    detector, frame = fitted
    assert detector.history_["loss"], "one loss per epoch"
    assert len(detector.history_["val_loss"]) == len(detector.history_["loss"])
    assert detector.history_["loss"][-1] < detector.history_["loss"][0]
    assert detector.decision_scores_.shape == (len(frame),)
    share = detector.labels_.mean()
    assert 0.03 <= share <= 0.07, "threshold_ follows contamination=0.05"
    np.testing.assert_allclose(detector.decision_function(frame), detector.decision_scores_, rtol=1e-5)
    assert detector.columns_.numeric == ("a", "b", "c", "d")
    assert detector.columns_.categorical == ("site",)
    assert detector.training_plan_ == TrainingPlan(
        n_rows=300, batch_size=32, steps_per_epoch=10, epochs_requested=40, epochs_allowed=40,
        max_steps=3000,
    ), "the default step limit leaves a small table all its epochs"


def test_injected_anomalies_score_highest(fitted):
    detector, frame = fitted
    truth = np.zeros(len(frame), dtype=int)
    truth[-6:] = 1
    # The planted rows break a relationship between columns, which only the reconstruction
    # sees; the other two views find the far corners of the manifold, so the sum ranks the
    # planted rows a little lower than the reconstruction alone does.
    assert roc_auc_score(truth, detector.score_components(frame)["reconstruction"]) > 0.97
    assert roc_auc_score(truth, detector.decision_scores_) > 0.9
    top_thirty = set(np.argsort(detector.decision_scores_)[-30:])
    assert len(top_thirty & set(range(len(frame) - 6, len(frame)))) >= 4


def test_feature_errors_point_at_the_broken_column(fitted):
    detector, frame = fitted
    shares = detector.feature_errors(frame)
    assert list(shares.columns) == ["a", "b", "c", "d", "site"], "one-hot folded back into 'site'"
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-6)
    assert (shares.iloc[-6:].idxmax(axis=1) == "b").sum() >= 4
    scores, same_shares = detector.score_with_contributions(frame)
    # Scores from per-column errors and from row totals alone (the lean path) agree bit for bit.
    np.testing.assert_array_equal(scores, detector.decision_function(frame))
    np.testing.assert_allclose(same_shares.to_numpy(), shares.to_numpy(), rtol=1e-5, atol=1e-9)


def test_reconstruct_returns_original_units(fitted):
    detector, frame = fitted
    rebuilt = detector.reconstruct(frame.head(50))
    assert list(rebuilt.columns) == ["a", "b", "c", "d", "site"]
    # Normal rows come back close to themselves, in their own units.
    assert np.median(np.abs(rebuilt["a"].to_numpy(float) - frame["a"].head(50).to_numpy())) < 0.5
    assert set(rebuilt["site"]) <= {"north", "south", "east"}


def test_predict_uses_the_threshold(fitted):
    detector, frame = fitted
    labels = detector.predict(frame)
    assert set(np.unique(labels)) <= {0, 1}
    assert labels.sum() == (detector.decision_function(frame) > detector.threshold_).sum()


def test_same_seed_same_scores_and_other_seed_differs():
    frame = correlated_table(n_rows=200)
    first = AutoencoderDetector(config=TINY).fit(frame).decision_scores_
    second = AutoencoderDetector(config=TINY).fit(frame).decision_scores_
    other = AutoencoderDetector(config=replace(TINY, seed=1)).fit(frame).decision_scores_
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_numeric_array_input():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(200, 5))
    detector = AutoencoderDetector(config=TINY).fit(data)
    assert detector.columns_.numeric == ("x0", "x1", "x2", "x3", "x4")
    assert detector.decision_function(data[:7]).shape == (7,)
    with pytest.raises(DataError, match="5 columns"):
        detector.decision_function(data[:, :3])


def test_on_progress_sees_epochs_and_can_stop_training():
    seen = []

    def stop_after_three(log):
        seen.append(log)
        return len(seen) >= 3

    detector = AutoencoderDetector(config=replace(TINY, epochs=50, patience=50))
    detector.fit(correlated_table(n_rows=120), on_progress=stop_after_three)
    # 120 rows make 4 steps a pass: the 50 passes are checked in 10 rounds of 5 passes.
    assert [log.step for log in seen] == [5, 10, 15]
    assert seen[0].total == 50
    assert all(log.unit == "epoch" and log.val_loss is not None and log.elapsed >= 0 for log in seen)
    assert len(detector.history_["loss"]) == 3
    assert detector.history_["epoch"] == [5, 10, 15]
    assert detector.epochs_run_ == 15
    assert detector.stopped_by_user_


def test_short_passes_are_folded_into_rounds_of_many_steps():
    from detector.network import ROUND_STEPS, training_rounds

    # A small table: 100 passes of 3 steps become 10 rounds (the least) of 30 steps; patience
    # is 10 passes, one round.
    assert training_rounds(90, replace(TINY, batch_size=32, epochs=100, patience=10)) == (10, 30, 1)
    # A medium one: 100 passes of 40 steps become 20 rounds of ROUND_STEPS steps, rounded up
    # to whole graph calls of 32 steps (224).
    rounds, steps, patience = training_rounds(1280, replace(TINY, batch_size=32, epochs=100, patience=10))
    assert (rounds, steps) == (20, 224)
    assert steps >= ROUND_STEPS
    assert patience == 2  # 10 passes of 40 steps = 400 steps = 2 rounds
    # A large one: a pass is longer than a round, so a round is a pass (98 steps, as 4 calls).
    assert training_rounds(100_000, replace(TINY, batch_size=1024, epochs=5, patience=3)) == (5, 128, 3)


def test_rows_without_any_feature_value_get_no_score():
    frame = correlated_table(n_rows=120).drop(columns="site")
    frame.loc[5, ["a", "b", "c", "d"]] = np.nan
    detector = AutoencoderDetector(config=TINY).fit(frame)
    assert np.isnan(detector.decision_scores_[5])
    assert np.isfinite(np.delete(detector.decision_scores_, 5)).all()
    assert detector.predict(frame)[5] == 0
    assert detector.feature_errors(frame).iloc[5].isna().all()


def test_label_and_identifier_never_become_features():
    frame = correlated_table(n_rows=150)
    frame.insert(0, "id", np.arange(len(frame)))
    frame["is_anomaly"] = 0
    frame.loc[len(frame) - 6 :, "is_anomaly"] = 1
    roles = ColumnRoles(numeric=("a", "b", "c", "d"), categorical=("site",), label="is_anomaly")
    detector = AutoencoderDetector(config=TINY, columns=roles).fit(frame)
    assert detector.preprocessor_.source_columns_ == ["a", "b", "c", "d", "site"]


def test_scoring_before_fit_says_so():
    with pytest.raises(NotFittedError, match="not fitted"):
        AutoencoderDetector().decision_function(np.zeros((3, 2)))


@pytest.mark.parametrize("contamination", [0.0, 0.5, -0.1, 1.2])
def test_contamination_outside_range_is_refused(contamination):
    with pytest.raises(ValueError, match="contamination"):
        AutoencoderDetector(config=TINY, contamination=contamination).fit(np.zeros((20, 2)))


def test_score_is_the_sum_of_its_three_parts_each_a_rarity(fitted):
    detector, frame = fitted
    parts = detector.score_components(frame)
    assert list(parts.columns) == ["reconstruction", "code", "isolation"]
    np.testing.assert_allclose(parts.sum(axis=1), detector.decision_scores_, rtol=1e-5)
    # Each part is -log of the share of training rows at least as extreme: about 1 on average
    # (an exponential), 2.3 at the 90th percentile of the training rows.
    assert (parts.to_numpy() >= 0).all()
    for name in parts.columns:
        assert 0.5 < parts[name].mean() < 1.5
        assert np.quantile(parts[name], 0.9) == pytest.approx(np.log(10), abs=0.15)
    # A row beyond every training row keeps rising rather than stopping at log(n).
    far = frame.head(2).copy()
    far.loc[far.index[1], ["a", "b", "c", "d"]] = [30.0, -30.0, 30.0, 0.0]
    assert detector.score_components(far).iloc[1].max() > np.log(len(frame) + 1) + 1


def test_a_value_far_beyond_the_clip_still_scores_as_extreme(fitted):
    detector, frame = fitted
    rows = frame.head(3).copy()
    rows.loc[rows.index[1], "a"] = 50.0  # scaled far beyond the ±5 the network sees
    rows.loc[rows.index[2], "a"] = 1e300  # enormous, yet the score stays finite
    scores = detector.decision_function(rows)
    assert np.isfinite(scores).all()
    assert scores[2] > scores[1] > scores[0]
    assert detector.feature_errors(rows).iloc[2].idxmax() == "a"


def test_one_column_scores_each_row_by_its_distance_from_typical_values(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(89.0, 5.0, 400)
    values[:3] = [40.0, 89.1, 150.0]  # far below, typical, far above
    frame = pd.DataFrame({"value": values})
    detector = AutoencoderDetector(config=TINY).fit(frame)
    assert detector.config_.bottleneck == 0  # no code can be narrower than one input
    assert detector.model_ is None
    assert "nothing to compress" in detector.notes_[0]
    scores = detector.decision_scores_
    distance = np.abs(values - np.median(values))
    # Monotone in the distance from the median (to float32 round-off, as the network reads it).
    by_distance = scores[np.argsort(distance, kind="stable")]
    assert (np.diff(by_distance) >= -1e-6 * by_distance.max()).all()
    assert scores[2] > scores[0] > scores[1]
    loaded = AutoencoderDetector.load(detector.save(tmp_path / "one.zip"))
    np.testing.assert_allclose(loaded.decision_function(frame), scores)
    assert loaded.reconstruct(frame.head(2))["value"].tolist() == pytest.approx([np.median(values)] * 2)


def test_the_code_is_always_narrower_than_the_input():
    for n_inputs in (2, 3, 4, 9, 40):
        resolved = AutoencoderConfig().resolved(1000, n_inputs)
        assert 0 < resolved.bottleneck < n_inputs
