"""Model bundles: a faithful round trip, and refusal of anything that is not plain data."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, correlated_table

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import TrainingPlan
from detector.bundle import MODEL_FILE, bundle_bytes, load_bundle, save_bundle
from detector.errors import DataError
from detector.version import __version__

# A bundle written by release 0.1.0 (format 1) before the detector contract, with the rows
# it was trained on and the scores that release gave them.
FIXTURES = Path(__file__).parent / "data" / "bundles"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained():
    frame = correlated_table(n_rows=200)
    return AutoencoderDetector(config=TINY, contamination=0.05).fit(frame), frame


@pytest.fixture(scope="module")
def zipped(trained, tmp_path_factory) -> bytes:
    return bundle_bytes(trained[0], metadata={"source": "test"})


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_directory_round_trip_gives_identical_scores(trained, tmp_path):
    detector, frame = trained
    path = save_bundle(detector, tmp_path / "model")
    loaded = AutoencoderDetector.load(path)
    np.testing.assert_array_equal(loaded.decision_function(frame), detector.decision_function(frame))
    np.testing.assert_array_equal(loaded.decision_scores_, detector.decision_scores_)
    assert loaded.threshold_ == detector.threshold_
    assert loaded.columns_ == detector.columns_
    assert loaded.config_ == detector.config_
    assert loaded.history_ == detector.history_
    assert isinstance(loaded.training_plan_, TrainingPlan)
    assert loaded.training_plan_ == detector.training_plan_
    np.testing.assert_array_equal(loaded.predict(frame), detector.predict(frame))


def test_zip_round_trip_from_path_bytes_and_file(trained, zipped, tmp_path):
    detector, frame = trained
    expected = detector.decision_function(frame)
    path = tmp_path / "model.zip"
    path.write_bytes(zipped)
    for source in (path, zipped, io.BytesIO(zipped)):
        bundle = load_bundle(source)
        np.testing.assert_array_equal(bundle.detector.decision_function(frame), expected)
    assert bundle.metadata["user"] == {"source": "test"}
    assert bundle.metadata["n_train_rows"] == 200
    assert {"tensorflow", "keras", "numpy"} <= set(bundle.metadata["versions"])


@pytest.fixture(scope="module")
def step_limited():
    """Trained for 5 of the 40 epochs asked for: 2 batch steps allow no more (the minimum)."""
    config = replace(TINY, epochs=40, patience=40, max_steps=2)
    return AutoencoderDetector(config=config).fit(correlated_table(n_rows=200))


def test_the_training_plan_is_saved_and_restored(step_limited):
    data = bundle_bytes(step_limited)
    plan = json.loads(_members(data)["detector.json"])["fitted"]["training_plan"]
    assert plan["limited_by_max_steps"] is True
    assert (plan["epochs_requested"], plan["epochs_allowed"]) == (40, 5)

    loaded = load_bundle(data).detector

    assert loaded.training_plan_ == step_limited.training_plan_
    assert loaded.training_plan_.limited_by_max_steps


def test_a_bundle_from_before_training_plans_loads_with_its_plan_rebuilt(step_limited):
    members = _members(bundle_bytes(step_limited))
    spec = json.loads(members["detector.json"])
    del spec["fitted"]["training_plan"]
    members["detector.json"] = json.dumps(spec).encode()

    loaded = load_bundle(_zip(members)).detector

    assert loaded.training_plan_ == step_limited.training_plan_


def test_a_tampered_training_plan_is_refused(zipped):
    members = _members(zipped)
    spec = json.loads(members["detector.json"])
    spec["fitted"]["training_plan"]["epochs_allowed"] = "all of them"
    members["detector.json"] = json.dumps(spec).encode()
    with pytest.raises(DataError, match="training plan"):
        load_bundle(_zip(members))


def test_bundle_holds_no_pickle(zipped):
    names = set(_members(zipped))
    assert names == {MODEL_FILE, "detector.json", "arrays.npz", "metadata.json"}
    assert not any(name.endswith((".pkl", ".pickle", ".joblib")) for name in names)
    with zipfile.ZipFile(io.BytesIO(_members(zipped)["arrays.npz"])) as arrays:
        names = set(arrays.namelist())
    assert {"code_mean.npy", "code_precision.npy", "decision_scores.npy", "isolation_feature.npy"} <= names
    assert {f"tail_{part}_points.npy" for part in ("reconstruction", "code", "isolation")} <= names


def test_the_bundle_records_its_kind_and_the_library_and_format_versions(zipped):
    spec = json.loads(_members(zipped)["detector.json"])
    metadata = json.loads(_members(zipped)["metadata.json"])
    assert (spec["kind"], spec["format_version"], spec["library_version"]) == ("autoencoder", 2, __version__)
    assert (metadata["kind"], metadata["format_version"], metadata["library_version"]) == (
        "autoencoder", 2, __version__,
    )


def test_an_array_that_needs_pickle_is_refused(zipped):
    members = _members(zipped)
    buffer = io.BytesIO()
    np.savez(buffer, decision_scores=np.array([{"x": 1}], dtype=object))
    members["arrays.npz"] = buffer.getvalue()
    with pytest.raises(DataError, match=r"arrays\.npz"):
        load_bundle(_zip(members))


def test_an_unknown_kind_is_refused_by_name(zipped):
    members = _members(zipped)
    spec = json.loads(members["detector.json"])
    spec["kind"] = "os.system"
    members["detector.json"] = json.dumps(spec).encode()
    with pytest.raises(DataError, match=r"Unknown detector kind 'os\.system'"):
        load_bundle(_zip(members))


def test_a_bundle_written_by_release_0_1_still_loads_and_scores_as_it_did():
    loaded = load_bundle(FIXTURES / "v1_autoencoder.zip")
    rows = pd.read_csv(FIXTURES / "v1_autoencoder_rows.csv")
    expected = np.load(FIXTURES / "v1_autoencoder_scores.npy")
    assert isinstance(loaded.detector, AutoencoderDetector)
    assert loaded.metadata["format_version"] == 1
    np.testing.assert_allclose(loaded.detector.decision_function(rows), expected, rtol=1e-6)
    # ... and saves again in today's format, scoring the same.
    again = load_bundle(bundle_bytes(loaded.detector))
    np.testing.assert_allclose(again.detector.decision_function(rows), expected, rtol=1e-6)


def test_scoring_a_table_without_a_trained_column_names_it(trained):
    detector, frame = trained
    with pytest.raises(DataError, match="'c'"):
        detector.decision_function(frame.drop(columns="c"))


def test_not_a_zip_is_refused():
    with pytest.raises(DataError, match="not a zip"):
        load_bundle(b"this is a csv, not a model")


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_bundle(tmp_path / "nope.zip")


def test_path_traversal_member_is_refused(zipped, tmp_path):
    members = _members(zipped)
    members["../evil.txt"] = b"owned"
    with pytest.raises(DataError, match="unexpected member"):
        load_bundle(_zip(members))
    assert not (tmp_path.parent / "evil.txt").exists()


def test_pickle_member_is_refused(zipped):
    members = _members(zipped)
    members["model.pkl"] = b"\x80\x04K\x01."
    with pytest.raises(DataError, match=r"unexpected member 'model\.pkl'"):
        load_bundle(_zip(members))


def test_zip_bomb_is_refused_before_unpacking(zipped):
    members = _members(zipped)
    members["metadata.json"] = b" " * (2 * 2**20)  # compresses to a few KB, claims 2 MB
    with pytest.raises(DataError, match="limit"):
        load_bundle(_zip(members))


def test_incomplete_bundle_is_refused(zipped):
    members = _members(zipped)
    del members["metadata.json"]
    with pytest.raises(DataError, match=r"metadata\.json missing"):
        load_bundle(_zip(members))
    members = _members(zipped)
    del members[MODEL_FILE]
    with pytest.raises(DataError, match="no network"):
        load_bundle(_zip(members))


def _with_layer(zipped: bytes, layer: dict) -> bytes:
    members = _members(zipped)
    with zipfile.ZipFile(io.BytesIO(members[MODEL_FILE])) as inner:
        inner_members = {name: inner.read(name) for name in inner.namelist()}
    config = json.loads(inner_members["config.json"])
    config["config"]["layers"].append(layer)
    inner_members["config.json"] = json.dumps(config).encode()
    members[MODEL_FILE] = _zip(inner_members)
    return _zip(members)


def test_lambda_layer_is_refused(zipped):
    lambda_layer = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "x"}}},
    }
    with pytest.raises(DataError, match="'Lambda'"):
        load_bundle(_with_layer(zipped, lambda_layer))


def test_custom_object_is_refused(zipped):
    custom = {"module": "evil_package.layers", "class_name": "Dense", "config": {"name": "x"}}
    with pytest.raises(DataError, match="refused"):
        load_bundle(_with_layer(zipped, custom))


def test_wrong_format_version_is_explained(zipped):
    members = _members(zipped)
    spec = json.loads(members["detector.json"])
    spec["format_version"] = 99
    members["detector.json"] = json.dumps(spec).encode()
    with pytest.raises(DataError, match="format version 99"):
        load_bundle(_zip(members))


def test_inconsistent_preprocessing_is_refused(zipped):
    members = _members(zipped)
    spec = json.loads(members["detector.json"])
    spec["fitted"]["columns"]["numeric"] = ["a", "b"]
    members["detector.json"] = json.dumps(spec).encode()
    with pytest.raises(DataError, match="inconsistent"):
        load_bundle(_zip(members))


def test_garbage_json_is_refused(zipped):
    members = _members(zipped)
    members["detector.json"] = b"{not json"
    with pytest.raises(DataError, match="not valid JSON"):
        load_bundle(_zip(members))


def test_json_nested_a_hundred_thousand_deep_is_refused_as_such(zipped):
    members = _members(zipped)
    members["detector.json"] = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(DataError, match="nests its JSON deeper than any bundle does"):
        load_bundle(_zip(members))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"contamination": "lots"}, "contamination='lots' must be in"),
        ({"contamination": -0.1}, "contamination=-0.1 must be in"),
        ({"contamination": 0.05, "surprise": 1}, "unknown parameters: surprise"),
    ],
)
def test_wrongly_typed_or_impossible_parameters_are_refused_by_name(zipped, params, message):
    members = _members(zipped)
    spec = json.loads(members["detector.json"])
    spec["params"] = {**spec["params"], **params}
    members["detector.json"] = json.dumps(spec).encode()
    with pytest.raises(DataError, match=re.escape(message)):
        load_bundle(_zip(members))


def test_an_encrypted_bundle_is_refused_as_password_protected(zipped):
    data = bytearray(zipped)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local and central headers
        start = data.find(signature)
        while start >= 0:
            data[start + offset] |= 1  # the "encrypted" flag bit
            start = data.find(signature, start + 4)
    with pytest.raises(DataError, match="password-protected"):
        load_bundle(bytes(data))


def test_saving_an_unfitted_detector_fails(tmp_path: Path):
    with pytest.raises(Exception, match="not fitted"):
        save_bundle(AutoencoderDetector(), tmp_path / "x")


def test_tampered_score_statistics_are_refused(zipped):
    members = _members(zipped)
    spec = json.loads(members["detector.json"])
    spec["fitted"]["score_rule"] = "whatever the file says"
    members["detector.json"] = json.dumps(spec).encode()
    with pytest.raises(DataError, match="score rule"):
        load_bundle(_zip(members))
    members = _members(zipped)
    with np.load(io.BytesIO(members["arrays.npz"])) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    parts["tail_code_points"] = parts["tail_code_points"][::-1].copy()  # no longer sorted
    buffer = io.BytesIO()
    np.savez(buffer, **parts)
    members["arrays.npz"] = buffer.getvalue()
    with pytest.raises(DataError, match="score model 'tail_code'"):
        load_bundle(_zip(members))
    members = _members(zipped)
    with np.load(io.BytesIO(members["arrays.npz"])) as arrays:
        parts = {name: arrays[name] for name in arrays.files}
    parts["code_mean"] = parts["code_mean"][:-1]
    buffer = io.BytesIO()
    np.savez(buffer, **parts)
    members["arrays.npz"] = buffer.getvalue()
    with pytest.raises(DataError, match="scoring"):
        load_bundle(_zip(members))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        # A Dense layer of 400 million units: refused before Keras allocates it.
        ("units", "wider than this tool builds"),
        # Every layer within the width cap, but 60,000 x 60,000 weights together.
        ("weights", "would have over 50,000,000 weights"),
        # A categorical column listing 30,000 categories (with max_categories raised to match).
        ("categories", "encodes 30,"),
        # NaN where a number belongs: JSON allows it, a bundle may not.
        ("nan", "not valid JSON"),
        # An array whose header claims far more values than the member holds.
        ("header", "claims more values than it holds"),
    ],
)
def test_hostile_bundle_fields_are_refused_with_a_reason(zipped, tamper, message):
    members = _members(zipped)
    if tamper in ("units", "weights"):
        with zipfile.ZipFile(io.BytesIO(members[MODEL_FILE])) as inner:
            inner_members = {name: inner.read(name) for name in inner.namelist()}
        config = json.loads(inner_members["config.json"])
        dense = [layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense"]
        if tamper == "units":
            dense[0]["config"]["units"] = 400_000_000
        else:
            dense[0]["config"]["units"] = dense[1]["config"]["units"] = 60_000
        inner_members["config.json"] = json.dumps(config).encode()
        members[MODEL_FILE] = _zip(inner_members)
    elif tamper == "categories":
        spec = json.loads(members["detector.json"])
        preprocessing = spec["fitted"]["preprocessing"]
        preprocessing["config"]["max_categories"] = 30_000
        preprocessing["categorical"][0]["categories"] = [f"c{i}" for i in range(30_000)]
        members["detector.json"] = json.dumps(spec).encode()
    elif tamper == "nan":
        spec = json.loads(members["detector.json"])
        spec["fitted"]["threshold"] = float("nan")
        members["detector.json"] = json.dumps(spec).encode()  # writes NaN
    else:
        header = np.lib.format.header_data_from_array_1_0(np.zeros(3))
        header["shape"] = (2**45,)
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, header)
        buffer.write(np.zeros(3).tobytes())
        with zipfile.ZipFile(io.BytesIO(members["arrays.npz"])) as arrays:
            parts = {name: arrays.read(name) for name in arrays.namelist()}
        parts["code_mean.npy"] = buffer.getvalue()
        members["arrays.npz"] = _zip(parts)
    with pytest.raises(DataError, match=message):
        load_bundle(_zip(members))


def test_a_deep_chain_of_isolation_tree_nodes_is_refused_quickly():
    from detector.iforest import MAX_DEPTH, Forest

    k = 5_000  # one tree whose right children form a chain 5,000 cuts deep
    m = 2 * k + 1
    left, right = np.full(m, -1), np.full(m, -1)
    splits = np.arange(0, 2 * k, 2)
    left[splits], right[splits] = splits + 1, splits + 2
    nodes = {
        "tree_offsets": np.array([0, m]), "feature": np.zeros(m, dtype=int), "threshold": np.zeros(m),
        "children_left": left, "children_right": right, "n_node_samples": np.ones(m, dtype=int),
    }
    with pytest.raises(DataError, match=re.escape(f"deeper than isolation trees grow ({MAX_DEPTH} cuts)")):
        Forest.compile(nodes, n_columns=1)
