"""Model bundles: a safe container for any fitted detector, in a directory or a zip.

A bundle holds only data: the detector's state as JSON (``detector.json``, with its ``kind``,
the library and format versions), its numeric arrays in an ``.npz`` read without pickle, and,
for families with a network, the Keras model in the native ``.keras`` format (loaded with
``safe_mode=True`` after its layer list has been checked against the few layer types we build).
The class is picked from ``kind`` through :mod:`detector.registry`; this module imports no
detector class, and each detector turns itself into state and back. A bundle from elsewhere is
treated as hostile: every member name, size and field is checked before anything is read.
"""

from __future__ import annotations

import io
import json
import platform
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from detector.base import BaseDetector, DetectorState
from detector.errors import DataError
from detector.network import import_keras
from detector.registry import detector_class
from detector.version import __version__

FORMAT = "tabular-autoencoder-bundle"
FORMAT_VERSION = 2
# Format 1 (release 0.1) held only autoencoders, with the preprocessing and scores in files of
# their own; such bundles still load.
READABLE_VERSIONS = (1, 2)

MODEL_FILE = "model.keras"
DETECTOR_FILE = "detector.json"
ARRAYS_FILE = "arrays.npz"
METADATA_FILE = "metadata.json"
PREPROCESSING_FILE = "preprocessing.json"  # format 1 only
SCORES_FILE = "training_scores.npy"  # format 1 only

# Largest size each member may have once uncompressed: a bundle is refused rather than
# unpacked when it claims more (a zip bomb), whatever the compressed size.
MEMBER_LIMITS = {
    MODEL_FILE: 512 * 2**20,
    DETECTOR_FILE: 16 * 2**20,
    ARRAYS_FILE: 1024 * 2**20,
    METADATA_FILE: 1 * 2**20,
    PREPROCESSING_FILE: 16 * 2**20,
    SCORES_FILE: 256 * 2**20,
}
REQUIRED = {
    1: (MODEL_FILE, DETECTOR_FILE, PREPROCESSING_FILE, METADATA_FILE),
    2: (DETECTOR_FILE, METADATA_FILE),
}
# Arrays a bundle may hold at most, and the dtypes they may have: numbers only, never objects.
MAX_ARRAYS = 64
_ARRAY_KINDS = frozenset("fiub")

# The only layers build_autoencoder() creates. A bundle whose network names anything else
# (a Lambda, a custom class) is refused before Keras is asked to deserialise it.
ALLOWED_LAYERS = frozenset({"InputLayer", "Dense", "Dropout"})
# The most layers and the widest layer build_autoencoder() makes (AutoencoderConfig's limits:
# 6 hidden layers each way, 4,096 units; inputs are one-hot columns, a few thousand at most).
MAX_LAYERS = 32
MAX_WIDTH = 65_536
# The most weights a bundled network may have (200 MB of float32): checked from its layer list
# before Keras builds anything.
MAX_WEIGHTS = 50_000_000
_KERAS_MEMBERS = {"config.json": 16 * 2**20, "metadata.json": 2**20, "model.weights.h5": 512 * 2**20}


@dataclass(frozen=True)
class LoadedBundle:
    """A detector read back from a bundle, with the metadata it was saved with."""

    detector: BaseDetector
    metadata: dict[str, Any]


def save_bundle(detector: BaseDetector, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``detector`` to ``path``: a ``.zip`` file if the name ends so, else a directory."""
    detector.check_fitted()
    path = Path(path)
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as staging:
            names = _write_members(detector, Path(staging), metadata)
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in names:
                    archive.write(Path(staging) / name, arcname=name)
        return path
    path.mkdir(parents=True, exist_ok=True)
    _write_members(detector, path, metadata)
    return path


def bundle_bytes(detector: BaseDetector, *, metadata: dict[str, Any] | None = None) -> bytes:
    """Return the zip bundle of ``detector`` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory() as staging:
        target = Path(staging) / "model.zip"
        save_bundle(detector, target, metadata=metadata)
        return target.read_bytes()


def load_bundle(source: str | Path | bytes | BinaryIO) -> LoadedBundle:
    """Load a bundle from a directory, a zip file path, zip bytes or a binary file object.

    Raises
    ------
    DataError
        The bundle is malformed, too large, from an unknown format version, or contains
        anything but the data a bundle holds (code, custom layers, unexpected files).
    """
    try:
        return _load(source)
    except DataError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError, RuntimeError,
            MemoryError, zipfile.BadZipFile, EOFError) as exc:
        # A bundle is untrusted input: whatever a malformed file trips over is the file's fault.
        raise DataError(f"This model bundle is malformed and was refused ({type(exc).__name__}: "
                        f"{str(exc)[:200]}).") from None


def _load(source: str | Path | bytes | BinaryIO) -> LoadedBundle:
    if isinstance(source, str | Path) and Path(source).is_dir():
        return _load_directory(Path(source))
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.exists():
            raise DataError(f"No model bundle at {path}: the file or directory does not exist.")
        data: bytes | BinaryIO = path.open("rb")
    else:
        data = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        with tempfile.TemporaryDirectory() as staging:
            _extract_zip(data, Path(staging))
            return _load_directory(Path(staging))
    finally:
        if isinstance(source, str | Path):
            data.close()


# ------------------------------------------------------------------------ writing


def _write_members(detector: BaseDetector, folder: Path, metadata: dict[str, Any] | None) -> list[str]:
    """Write the members of ``detector``'s bundle into ``folder``; return their names."""
    import sklearn

    state = detector.to_state()
    names = [DETECTOR_FILE, ARRAYS_FILE, METADATA_FILE]
    versions = {
        "python": platform.python_version(), "numpy": np.__version__, "scikit-learn": sklearn.__version__,
    }
    if state.network is not None:
        keras = import_keras()
        import tensorflow as tf

        state.network.save(folder / MODEL_FILE)
        names.insert(0, MODEL_FILE)
        versions |= {"tensorflow": tf.__version__, "keras": keras.__version__}
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__}
    _write_json(
        folder / DETECTOR_FILE,
        {**header, "kind": state.kind, "params": state.params, "fitted": state.fitted},
    )
    for name, values in state.arrays.items():
        if np.asarray(values).dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"Array {name!r} of a {state.kind} detector holds no numbers.")
    np.savez(folder / ARRAYS_FILE, **{name: np.asarray(values) for name, values in state.arrays.items()})
    _write_json(
        folder / METADATA_FILE,
        {
            **header,
            "kind": state.kind,
            "title": detector.title,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": versions,
            "n_train_rows": int(state.fitted.get("n_train_rows", 0)),
            "data_fingerprint": state.fitted.get("data_fingerprint", ""),
            "user": metadata or {},
        },
    )
    return names


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=True), encoding="utf-8")


# ------------------------------------------------------------------------ reading


def _extract_zip(data: BinaryIO, staging: Path) -> None:
    try:
        archive = zipfile.ZipFile(data)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise DataError(
            "This is not a model bundle: it is not a zip file. Upload the .zip that "
            "'Download model' or `python -m detector train --model-out` produced."
        ) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > 2 * len(MEMBER_LIMITS):
            raise DataError(
                f"The bundle has {len(infos)} members; a bundle has at most {len(MEMBER_LIMITS)} files."
            )
        for info in infos:
            name = info.filename
            if name not in MEMBER_LIMITS:
                raise DataError(
                    f"The bundle contains an unexpected member {name!r}; a bundle holds only "
                    f"{', '.join(MEMBER_LIMITS)}. It was refused without being unpacked."
                )
            if info.file_size > MEMBER_LIMITS[name]:
                raise DataError(
                    f"The bundle member {name!r} claims {info.file_size:,} bytes uncompressed, "
                    f"over the {MEMBER_LIMITS[name]:,}-byte limit; it was refused."
                )
            if info.flag_bits & 0x1:
                raise DataError(
                    f"The bundle is password-protected (its member {name!r} is encrypted). Bundles are "
                    "never encrypted by this tool: use the zip that Download model produced, as it was."
                )
        for info in infos:
            _copy_bounded(archive, info, staging / info.filename, MEMBER_LIMITS[info.filename])


def _copy_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limit: int) -> None:
    """Copy one member, stopping at ``limit`` bytes whatever its header claimed."""
    written = 0
    try:
        with archive.open(info) as src, target.open("wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    raise DataError(
                        f"The bundle member {info.filename!r} unpacks to more than {limit:,} bytes; "
                        "it was refused."
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise DataError(f"The bundle member {info.filename!r} could not be read: {exc}.") from None


def _load_directory(folder: Path) -> LoadedBundle:
    for name, limit in MEMBER_LIMITS.items():
        member = folder / name
        if member.is_file() and member.stat().st_size > limit:
            raise DataError(f"The bundle member {name!r} is larger than the {limit:,}-byte limit.")
    if not (folder / DETECTOR_FILE).is_file() or not (folder / METADATA_FILE).is_file():
        missing = [name for name in (DETECTOR_FILE, METADATA_FILE) if not (folder / name).is_file()]
        raise DataError(
            f"This model bundle is incomplete: {', '.join(missing)} missing. "
            "Save the model again and upload the whole bundle."
        )
    metadata = _read_json(folder / METADATA_FILE)
    spec = _read_json(folder / DETECTOR_FILE)
    for document, name in ((metadata, METADATA_FILE), (spec, DETECTOR_FILE)):
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise DataError(f"{name} is not part of a model bundle written by this tool.")
        if document.get("format_version") not in READABLE_VERSIONS:
            raise DataError(
                f"This bundle has format version {document.get('format_version')!r}; this version "
                f"of the tool ({__version__}) reads versions {', '.join(map(str, READABLE_VERSIONS))}. "
                "Retrain the model with this version, or load it with the version that wrote it."
            )
    version = spec["format_version"]
    missing = [name for name in REQUIRED[version] if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"This model bundle is incomplete: {', '.join(missing)} missing. "
            "Save the model again and upload the whole bundle."
        )
    return LoadedBundle(detector=_detector_from(folder, spec, version), metadata=metadata)


def _detector_from(folder: Path, spec: dict[str, Any], version: int) -> BaseDetector:
    """The detector in ``folder``: its class picked by ``kind`` from the registry."""
    network = _load_keras_model(folder / MODEL_FILE) if (folder / MODEL_FILE).is_file() else None
    if version == 1:
        cls = detector_class("autoencoder")
        scores = _read_npy(folder / SCORES_FILE) if (folder / SCORES_FILE).is_file() else np.array([])
        state = cls.state_from_format_1(spec, _read_json(folder / PREPROCESSING_FILE), scores, network)
        return cls.from_state(state)
    kind = spec.get("kind")
    if not isinstance(kind, str):
        raise DataError(f"{DETECTOR_FILE} names no detector kind.")
    cls = detector_class(kind)
    params, fitted = spec.get("params"), spec.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise DataError(f"{DETECTOR_FILE} must hold the detector's params and fitted values as objects.")
    arrays = _read_arrays(folder / ARRAYS_FILE) if (folder / ARRAYS_FILE).is_file() else {}
    state = DetectorState(kind=kind, params=params, fitted=fitted, arrays=arrays, network=network)
    return cls.from_state(state)


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The numeric arrays of ``arrays.npz``, refusing objects (pickles) and oversized members."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ARRAYS:
                raise DataError(f"{ARRAYS_FILE} holds {len(infos)} arrays, over the {MAX_ARRAYS} allowed.")
            if sum(info.file_size for info in infos) > MEMBER_LIMITS[ARRAYS_FILE]:
                raise DataError(f"{ARRAYS_FILE} unpacks to more than {MEMBER_LIMITS[ARRAYS_FILE]:,} bytes.")
            if any(not info.filename.endswith(".npy") for info in infos):
                raise DataError(f"{ARRAYS_FILE} holds something other than arrays.")
            if len({info.filename for info in infos}) != len(infos):
                raise DataError(f"{ARRAYS_FILE} names an array twice.")
            for info in infos:
                _check_npy_header(archive, info)
        arrays = {}
        with np.load(path, allow_pickle=False) as archive:
            for name in archive.files:
                values = archive[name]
                if values.dtype.kind not in _ARRAY_KINDS:
                    raise DataError(f"{ARRAYS_FILE}: {name!r} is not a numeric array.")
                arrays[name] = values
        return arrays
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{ARRAYS_FILE} is not a plain archive of numeric arrays: {exc}.") from None


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number a bundle may hold", name, 0)


def _check_npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an array whose header claims more data than its member holds, before numpy
    allocates it (numpy trusts the header's shape), or a dtype that is not a plain number."""
    with archive.open(info) as member:
        shape, dtype = _npy_header(member)
    if dtype.kind not in _ARRAY_KINDS or dtype.hasobject:
        raise DataError(f"{ARRAYS_FILE}: {info.filename!r} is not a numeric array.")
    if int(np.prod(shape, dtype=np.float64)) * dtype.itemsize > info.file_size:
        raise DataError(f"{ARRAYS_FILE}: {info.filename!r} claims more values than it holds.")


def _npy_header(handle: BinaryIO) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a ``.npy`` stream's header declares (nothing else is read)."""
    major, _ = np.lib.format.read_magic(handle)
    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(handle)
    return shape, dtype


def _read_npy(path: Path) -> np.ndarray:
    with path.open("rb") as handle:
        shape, dtype = _npy_header(handle)
    if dtype.kind != "f" or np.prod(shape, dtype=np.float64) * dtype.itemsize > path.stat().st_size:
        raise DataError(f"{SCORES_FILE} must be a 1-D float array no larger than its file.")
    try:
        scores = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{SCORES_FILE} is not a plain numeric array: {exc}.") from None
    if scores.ndim != 1 or scores.dtype.kind != "f":
        raise DataError(f"{SCORES_FILE} must be a 1-D float array.")
    return scores


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except RecursionError:
        raise DataError(
            f"The bundle member {path.name!r} nests its JSON deeper than any bundle does; it was refused."
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"The bundle member {path.name!r} is not valid JSON: {exc}.") from None


def _check_keras_archive(path: Path) -> None:
    """Refuse a ``.keras`` file that holds anything but the plain layers we build."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                limit = _KERAS_MEMBERS.get(info.filename)
                if limit is None:
                    raise DataError(
                        f"The bundle's {MODEL_FILE} contains an unexpected member {info.filename!r}."
                    )
                if info.file_size > limit:
                    raise DataError(f"The bundle's {MODEL_FILE} member {info.filename!r} is too large.")
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise DataError(f"The bundle's {MODEL_FILE} is not a valid Keras model file.") from None
    if not isinstance(config, dict) or config.get("class_name") not in {"Functional", "Model"}:
        raise DataError(f"The bundle's {MODEL_FILE} is not a functional Keras model.")
    inner = config.get("config")
    layers = inner.get("layers", []) if isinstance(inner, dict) else None
    if not isinstance(layers, list) or not layers or len(layers) > MAX_LAYERS:
        raise DataError(f"The bundle's {MODEL_FILE} lists no layers, or more than this tool builds.")
    weights, previous = 0, None
    for layer in layers:
        name = layer.get("class_name") if isinstance(layer, dict) else None
        module = layer.get("module") if isinstance(layer, dict) else None
        if name not in ALLOWED_LAYERS or module not in {None, "keras.layers"}:
            raise DataError(
                f"The bundle's network contains a layer of type {name!r}, which this tool never "
                "builds (it could run code); the bundle was refused."
            )
        # Sizes are checked before Keras allocates anything: a Dense layer of 400 million units
        # in an 8 kB file would otherwise take the server's memory while loading.
        settings = layer.get("config")
        if not isinstance(settings, dict):
            raise DataError(f"The bundle's {MODEL_FILE} has a layer without settings.")
        units = settings.get("units", 1)
        shape = settings.get("batch_shape", settings.get("batch_input_shape", [None, 1]))
        widths = [units] if name == "Dense" else list(shape or [])[1:] if name == "InputLayer" else [1]
        if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and 0 < w <= MAX_WIDTH
                                 for w in widths):
            raise DataError(
                f"The bundle's network has a layer wider than this tool builds (at most {MAX_WIDTH:,} "
                "units); the bundle was refused."
            )
        if name in ("InputLayer", "Dense"):
            width = _product(widths)
            if name == "Dense" and previous is not None:
                weights += (previous + 1) * width
            previous = width
        if weights > MAX_WEIGHTS:
            raise DataError(
                f"The bundle's network would have over {MAX_WEIGHTS:,} weights, more than this tool "
                "ever builds; the bundle was refused."
            )


def _product(values: list[int]) -> int:
    product = 1
    for value in values:
        product *= value
    return product


def _load_keras_model(path: Path) -> Any:
    _check_keras_archive(path)
    keras = import_keras()

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a corrupt file; all mean the same here.
        raise DataError(f"The bundle's network could not be loaded safely: {exc}".split("\n")[0]) from None
    return model


__all__ = ["LoadedBundle", "bundle_bytes", "load_bundle", "save_bundle"]
