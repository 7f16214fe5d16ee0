"""The bundled sample tables load, look as documented, and regenerate byte for byte."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
MAX_BYTES = 2 * 1024 * 1024

SENSOR_COLUMNS = [
    "timestamp",
    "machine",
    "temperature_c",
    "pressure_bar",
    "vibration_mm_s",
    "power_kw",
    "rpm",
    "humidity_pct",
    "is_anomaly",
]


def _load_script(name: str) -> ModuleType:
    """Import a generator script from sample_data/, which is a folder, not a package."""
    spec = importlib.util.spec_from_file_location(f"sample_data_{name}", SAMPLE_DATA / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is created.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sensor_script() -> ModuleType:
    return _load_script("make_sensor_data")


@pytest.fixture(scope="module")
def breast_cancer_script() -> ModuleType:
    return _load_script("make_breast_cancer_data")


@pytest.mark.parametrize("name", ["breast_cancer.csv", "sensors.csv", "README.md"])
def test_file_is_bundled_and_small(name: str) -> None:
    path = SAMPLE_DATA / name
    assert path.is_file()
    assert path.stat().st_size < MAX_BYTES


def test_breast_cancer_table_is_as_documented() -> None:
    table = pd.read_csv(SAMPLE_DATA / "breast_cancer.csv")

    assert table.shape == (382, 32)
    assert table.columns[0] == "id"
    assert table.columns[-1] == "diagnosis"
    assert {"mean_radius", "radius_error", "worst_concave_points"} <= set(table.columns)
    assert table["id"].tolist() == list(range(1, len(table) + 1))
    assert set(table["diagnosis"]) == {"benign", "malignant"}
    assert 0.05 <= (table["diagnosis"] == "malignant").mean() <= 0.08
    assert not table.isna().any().any()


def test_breast_cancer_values_are_sklearns_unrounded() -> None:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    table = pd.read_csv(SAMPLE_DATA / "breast_cancer.csv")
    features = table.drop(columns=["id", "diagnosis"]).to_numpy()

    benign = table["diagnosis"] == "benign"
    # sklearn's target 1 is benign; every benign row is kept, in order.
    np.testing.assert_array_equal(features[benign.to_numpy()], bunch.data[bunch.target == 1])
    original_rows = {tuple(row) for row in bunch.data[bunch.target == 0]}
    assert all(tuple(row) in original_rows for row in features[~benign.to_numpy()])


def test_breast_cancer_regenerates_identically(
    breast_cancer_script: ModuleType, tmp_path: Path
) -> None:
    written = breast_cancer_script.main(tmp_path / "breast_cancer.csv")
    assert written.read_bytes() == (SAMPLE_DATA / "breast_cancer.csv").read_bytes()


def test_sensor_table_is_as_documented() -> None:
    table = pd.read_csv(SAMPLE_DATA / "sensors.csv")

    assert table.columns.tolist() == SENSOR_COLUMNS
    assert 5_000 <= len(table) <= 8_000
    assert set(table["machine"]) == {"press_a", "press_b", "press_c"}
    timestamps = pd.to_datetime(table["timestamp"], format="ISO8601")
    assert set(timestamps.diff().dropna().unique()) <= {pd.Timedelta(0), pd.Timedelta("5min")}
    assert set(table["is_anomaly"]) == {0, 1}
    assert 0.02 <= table["is_anomaly"].mean() <= 0.03
    rows_with_gaps = table.isna().any(axis=1)
    assert 0.002 <= rows_with_gaps.mean() <= 0.01
    assert set(table.columns[table.isna().any()]) == {"vibration_mm_s", "humidity_pct"}


def test_sensor_table_holds_every_anomaly_kind(sensor_script: ModuleType) -> None:
    table = sensor_script.make_sensor_frame(with_anomaly_type=True)

    kinds = set(table.loc[table["is_anomaly"] == 1, "anomaly_type"])
    assert kinds == {"spike", "broken_correlation", "drift", "stuck", "wrong_machine"}
    assert (table.loc[table["is_anomaly"] == 0, "anomaly_type"] == "").all()


def test_sensor_generator_is_deterministic(sensor_script: ModuleType, tmp_path: Path) -> None:
    first = sensor_script.main(tmp_path / "first.csv").read_bytes()
    second = sensor_script.main(tmp_path / "second.csv").read_bytes()

    assert first == second
    assert first == (SAMPLE_DATA / "sensors.csv").read_bytes()
    assert b"anomaly_type" not in first


def test_sensor_generator_depends_on_seed(sensor_script: ModuleType) -> None:
    default = sensor_script.make_sensor_frame()
    other = sensor_script.make_sensor_frame(seed=1)
    assert not default.equals(other)
