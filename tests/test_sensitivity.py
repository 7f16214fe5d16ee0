"""Tests for detector.sensitivity: the generated anomaly types and which ones a detector catches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.errors import DataError
from detector.sensitivity import ANOMALY_TYPES, sensitivity_profile, synthetic_anomalies

COLUMNS = ("size", "weight", "count", "site")


def related_table(n_rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """Weight follows size closely; count is a small integer; site is a category."""
    rng = np.random.default_rng(seed)
    size = rng.normal(50, 10, size=n_rows)
    return pd.DataFrame(
        {
            "size": size,
            "weight": 2 * size + rng.normal(0, 1, size=n_rows),
            "count": rng.integers(0, 10, size=n_rows),
            "site": pd.Categorical(rng.choice(["north", "south"], size=n_rows)),
            "ignored": "x",
        }
    )


class MedianDistance:
    """A detector-like stub: the largest distance from a column median, in interquartile ranges.

    Its threshold flags the top 5% of the table, like the detectors' default contamination.
    """

    title = "Median distance"

    def __init__(self, frame: pd.DataFrame, columns: tuple[str, ...]):
        numeric = frame[list(columns)].select_dtypes("number")
        self.numeric = list(numeric.columns)
        self.median = numeric.median()
        self.spread = numeric.quantile(0.75) - numeric.quantile(0.25)
        self.feature_columns = columns
        self.threshold_ = float(np.quantile(self.decision_function(frame), 0.95))

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        distance = (X[self.numeric].astype(float) - self.median).abs() / self.spread
        return distance.max(axis=1).to_numpy()


class Blind:
    """A stub that scores every row alike, so it never flags anything."""

    title = "Blind"
    feature_columns = COLUMNS
    threshold_ = 1.0

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        return np.zeros(len(X))


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return related_table()


@pytest.fixture(scope="module")
def anomalies(table) -> dict[str, pd.DataFrame]:
    return synthetic_anomalies(table, COLUMNS, n_per_type=150, seed=3)


def test_every_type_has_the_columns_dtypes_and_size_asked_for(table, anomalies):
    assert list(anomalies) == list(ANOMALY_TYPES)
    for frame in anomalies.values():
        assert list(frame.columns) == list(COLUMNS)
        assert len(frame) == 150
        assert frame.dtypes.to_dict() == table[list(COLUMNS)].dtypes.to_dict()
        assert frame["site"].isin(["north", "south"]).all()
        assert not frame.isna().any().any()


def test_global_anomalies_lie_outside_the_range_of_the_data(table, anomalies):
    numeric = ["size", "weight", "count"]
    rows = anomalies["global"][numeric]
    outside = (rows < table[numeric].min()) | (rows > table[numeric].max())
    assert outside.any(axis=1).all()
    # ...but not absurdly far: within the range widened by a tenth on each side (plus rounding).
    width = table[numeric].max() - table[numeric].min()
    assert (rows <= table[numeric].max() + 0.1 * width + 1).all().all()
    assert (rows >= table[numeric].min() - 0.1 * width - 1).all().all()


def test_dependency_anomalies_keep_each_column_but_break_the_relationship(table, anomalies):
    rows = anomalies["dependency"]
    for column in COLUMNS:
        assert rows[column].isin(table[column]).all()
    assert table["size"].corr(table["weight"]) > 0.95
    assert abs(rows["size"].corr(rows["weight"])) < 0.3


def test_clustered_anomalies_are_a_group_shifted_away_from_the_data(table, anomalies):
    rows = anomalies["clustered"]
    assert rows["size"].median() > table["size"].max()
    # A cluster: its spread is of the order of the data's, not the distance it moved.
    assert rows["size"].std() < 2 * table["size"].std()


def test_local_anomalies_spread_wider_than_the_data(table, anomalies):
    assert anomalies["local"]["size"].std() > 1.5 * table["size"].std()


def test_the_same_seed_gives_the_same_rows(table, anomalies):
    again = synthetic_anomalies(table, COLUMNS, n_per_type=150, seed=3)
    other = synthetic_anomalies(table, COLUMNS, n_per_type=150, seed=4)
    for kind in ANOMALY_TYPES:
        pd.testing.assert_frame_equal(anomalies[kind], again[kind])
        assert not anomalies[kind].equals(other[kind])


def test_a_median_distance_detector_catches_global_anomalies_and_a_blind_one_none(table):
    detectors = {"median": MedianDistance(table, COLUMNS), "blind": Blind()}
    profile = sensitivity_profile(detectors, table, n_per_type=200, seed=0)
    result = profile.table()
    assert list(result.index) == ["Median distance", "Blind"]
    assert list(result.columns) == list(ANOMALY_TYPES)
    assert result.loc["Median distance", "global"] > 0.8
    assert result.loc["Median distance", "clustered"] > 0.95
    # Dependency anomalies keep every value ordinary: distance from the medians barely sees them.
    assert result.loc["Median distance", "dependency"] < result.loc["Median distance", "global"]
    assert (result.loc["Blind"] == 0).all()
    assert profile.n_per_type == dict.fromkeys(ANOMALY_TYPES, 200)


def test_thresholds_given_replace_the_detectors_own(table):
    detector = MedianDistance(table, COLUMNS)
    profile = sensitivity_profile({"median": detector}, table, thresholds={"median": np.inf})
    assert (profile.table().loc["Median distance"] == 0).all()


def test_detectors_reading_other_columns_are_refused(table):
    other = MedianDistance(table, ("size", "weight", "ignored"))
    with pytest.raises(ValueError, match="ignored"):
        sensitivity_profile({"median": MedianDistance(table, COLUMNS), "other": other}, table)


def test_a_table_without_numbers_gets_only_dependency_anomalies_and_says_why():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"colour": rng.choice(["red", "blue"], 50), "shape": rng.choice(["o", "x"], 50)})
    anomalies = synthetic_anomalies(frame, ["colour", "shape"], n_per_type=20)
    assert list(anomalies) == ["dependency"]

    class Stub(Blind):
        feature_columns = ("colour", "shape")

    profile = sensitivity_profile({"stub": Stub()}, frame, n_per_type=20)
    assert list(profile.table().columns) == ["dependency"]
    assert any("numeric column" in note for note in profile.notes)


def test_constant_and_partly_missing_columns_and_a_tiny_table_still_work():
    frame = pd.DataFrame(
        {
            "level": [1.0, 2.0, np.nan, 4.0, 5.0, 3.0, np.nan, 2.5, 4.5, 1.5],
            "fixed": [7] * 10,
            "empty": [np.nan] * 10,
        }
    )
    anomalies = synthetic_anomalies(frame, ["level", "fixed", "empty"], n_per_type=30)
    assert list(anomalies) == list(ANOMALY_TYPES)
    for kind in ("local", "global", "clustered"):
        assert (anomalies[kind]["fixed"] == 7).all()
        assert anomalies[kind]["fixed"].dtype == np.int64
        assert anomalies[kind]["level"].notna().all()
    assert ((anomalies["global"]["level"] < 1) | (anomalies["global"]["level"] > 5)).all()


def test_integer_columns_stay_outside_the_data_after_rounding():
    frame = pd.DataFrame({"small": np.arange(20) % 3})  # 0, 1, 2
    rows = synthetic_anomalies(frame, ["small"], n_per_type=100)["global"]["small"]
    assert rows.dtype == frame["small"].dtype
    assert rows.isin([-1, 3]).all()


def test_only_constant_numbers_cannot_make_numeric_types():
    frame = pd.DataFrame({"fixed": [3.0] * 30, "colour": ["red", "blue", "green"] * 10})
    assert list(synthetic_anomalies(frame, ["fixed", "colour"], n_per_type=5)) == ["dependency"]


def test_a_missing_column_or_an_empty_table_is_a_data_error(table):
    with pytest.raises(DataError, match="nowhere"):
        synthetic_anomalies(table, ["size", "nowhere"])
    with pytest.raises(DataError, match="no rows"):
        synthetic_anomalies(table.iloc[:0], ["size"])
