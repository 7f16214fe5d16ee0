"""Model bundles: save a fitted detector to a directory or zip, and load one without running its code.

A bundle holds only data: the Keras model in the native ``.keras`` format (loaded with
``safe_mode=True`` after its layer list has been checked against the few layer types we build),
JSON for everything else, and the training scores as a plain ``.npy`` array (no pickle).
A bundle from elsewhere is treated as hostile: every member name, size and field is checked
before anything is read into a model.
"""

from __future__ import annotations

import io
import json
import platform
import tempfile
import zipfile
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.model import AutoencoderConfig, AutoencoderDetector, TrainingPlan, import_keras
from detector.preprocessing import PreprocessConfig, Preprocessor

FORMAT = "tabular-autoencoder-bundle"
FORMAT_VERSION = 1

MODEL_FILE = "model.keras"
DETECTOR_FILE = "detector.json"
PREPROCESSING_FILE = "preprocessing.json"
METADATA_FILE = "metadata.json"
SCORES_FILE = "training_scores.npy"

# Largest size each member may have once uncompressed: a bundle is refused rather than
# unpacked when it claims more (a zip bomb), whatever the compressed size.
MEMBER_LIMITS = {
    MODEL_FILE: 512 * 2**20,
    DETECTOR_FILE: 16 * 2**20,
    PREPROCESSING_FILE: 16 * 2**20,
    METADATA_FILE: 1 * 2**20,
    SCORES_FILE: 256 * 2**20,
}
REQUIRED = (MODEL_FILE, DETECTOR_FILE, PREPROCESSING_FILE, METADATA_FILE)

# The only layers build_autoencoder() creates. A bundle whose network names anything else
# (a Lambda, a custom class) is refused before Keras is asked to deserialise it.
ALLOWED_LAYERS = frozenset({"InputLayer", "Dense", "Dropout"})
_KERAS_MEMBERS = {"config.json": 16 * 2**20, "metadata.json": 2**20, "model.weights.h5": 512 * 2**20}


@dataclass(frozen=True)
class LoadedBundle:
    """A detector read back from a bundle, with the metadata it was saved with."""

    detector: AutoencoderDetector
    metadata: dict[str, Any]


def save_bundle(
    detector: AutoencoderDetector, path: str | Path, *, metadata: dict[str, Any] | None = None
) -> Path:
    """Write ``detector`` to ``path``: a ``.zip`` file if the name ends so, else a directory."""
    detector._check_fitted()
    path = Path(path)
    if path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory() as staging:
            _write_members(detector, Path(staging), metadata)
            path.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name in (*REQUIRED, SCORES_FILE):
                    archive.write(Path(staging) / name, arcname=name)
        return path
    path.mkdir(parents=True, exist_ok=True)
    _write_members(detector, path, metadata)
    return path


def bundle_bytes(detector: AutoencoderDetector, *, metadata: dict[str, Any] | None = None) -> bytes:
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
        The bundle is malformed, too large, from another format version, or contains anything
        but the data a bundle holds (code, custom layers, unexpected files).
    """
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


def _write_members(detector: AutoencoderDetector, folder: Path, metadata: dict[str, Any] | None) -> None:
    keras = import_keras()
    import sklearn
    import tensorflow as tf

    detector.model_.save(folder / MODEL_FILE)
    _write_json(folder / PREPROCESSING_FILE, detector.preprocessor_.to_dict())
    _write_json(
        folder / DETECTOR_FILE,
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": detector.config.to_dict(),
            "resolved_config": detector.config_.to_dict(),
            "training_plan": detector.training_plan_.to_dict(),
            "contamination": detector.contamination,
            "preprocess": asdict(detector.preprocess),
            "columns": _roles_to_dict(detector.columns_),
            "feature_names_in": [str(name) for name in detector.feature_names_in_],
            "threshold": float(detector.threshold_),
            "history": detector.history_,
            "stopped_by_user": bool(detector.stopped_by_user_),
            "n_train_rows": int(detector.n_train_rows_),
            "data_fingerprint": detector.data_fingerprint_,
            "fit_seconds": float(detector.fit_seconds_),
            "scoring": {
                "code_mean": [float(v) for v in detector.code_mean_],
                "code_precision": [[float(v) for v in row] for row in detector.code_precision_],
                "score_scales": [float(v) for v in detector.score_scales_],
            },
        },
    )
    _write_json(
        folder / METADATA_FILE,
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": {
                "python": platform.python_version(),
                "numpy": np.__version__,
                "tensorflow": tf.__version__,
                "keras": keras.__version__,
                "scikit-learn": sklearn.__version__,
            },
            "n_train_rows": int(detector.n_train_rows_),
            "data_fingerprint": detector.data_fingerprint_,
            "user": metadata or {},
        },
    )
    np.save(folder / SCORES_FILE, np.asarray(detector.decision_scores_, dtype=np.float64))


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=True), encoding="utf-8")


def _roles_to_dict(roles: ColumnRoles) -> dict[str, Any]:
    return {
        "numeric": list(roles.numeric),
        "categorical": list(roles.categorical),
        "label": roles.label,
        "timestamp": roles.timestamp,
    }


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
            raise DataError(f"The bundle has {len(infos)} members; a bundle has at most 5 files.")
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
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"This model bundle is incomplete: {', '.join(missing)} missing. "
            "Save the model again and upload the whole bundle."
        )
    for name, limit in MEMBER_LIMITS.items():
        member = folder / name
        if member.is_file() and member.stat().st_size > limit:
            raise DataError(f"The bundle member {name!r} is larger than the {limit:,}-byte limit.")

    metadata = _read_json(folder / METADATA_FILE)
    spec = _read_json(folder / DETECTOR_FILE)
    for document, name in ((metadata, METADATA_FILE), (spec, DETECTOR_FILE)):
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise DataError(f"{name} is not part of a model bundle written by this tool.")
        if document.get("format_version") != FORMAT_VERSION:
            raise DataError(
                f"This bundle has format version {document.get('format_version')!r}; this version "
                f"of the tool reads version {FORMAT_VERSION}. Retrain the model with this version."
            )

    detector = AutoencoderDetector(
        config=AutoencoderConfig.from_dict(spec.get("config")),
        contamination=_number(spec, "contamination"),
        columns=_roles_from_dict(spec.get("columns")),
        preprocess=_dataclass_from_dict(PreprocessConfig, spec.get("preprocess"), "preprocess"),
    )
    preprocessor = Preprocessor.from_dict(_read_json(folder / PREPROCESSING_FILE))
    model = _load_keras_model(folder / MODEL_FILE)
    n_outputs = len(preprocessor.feature_names_out_)
    if tuple(model.input_shape) != (None, n_outputs) or tuple(model.output_shape) != (None, n_outputs):
        raise DataError(
            f"The bundle's network expects {model.input_shape[-1]} inputs but its preprocessing "
            f"produces {n_outputs}; the bundle is inconsistent."
        )

    feature_names = spec.get("feature_names_in")
    if not isinstance(feature_names, list) or not all(isinstance(n, str) for n in feature_names):
        raise DataError(f"{DETECTOR_FILE}: feature_names_in must be a list of column names.")
    roles = detector.columns
    unknown = [c for c in roles.features if c not in preprocessor.source_columns_]
    if unknown or list(roles.features) != list(preprocessor.source_columns_):
        raise DataError("The bundle's column roles do not match its preprocessing; it is inconsistent.")
    history = spec.get("history")
    if not isinstance(history, dict):
        raise DataError(f"{DETECTOR_FILE}: history must be an object of loss lists.")

    detector.model_ = model
    detector.preprocessor_ = preprocessor
    detector.columns_ = roles
    detector.config_ = AutoencoderConfig.from_dict(spec.get("resolved_config"))
    detector.n_features_in_ = len(feature_names)
    detector.feature_names_in_ = np.asarray(feature_names, dtype=object)
    detector.threshold_ = _number(spec, "threshold")
    detector.history_ = {key: [float(v) for v in history.get(key, [])] for key in ("loss", "val_loss")}
    detector.stopped_by_user_ = bool(spec.get("stopped_by_user", False))
    detector.n_train_rows_ = int(_number(spec, "n_train_rows"))
    detector.data_fingerprint_ = str(spec.get("data_fingerprint", ""))
    detector.fit_seconds_ = _number(spec, "fit_seconds")
    detector.training_plan_ = _training_plan(spec, detector)
    detector.code_mean_, detector.code_precision_, detector.score_scales_ = _scoring_from_dict(
        spec.get("scoring"), detector.config_.bottleneck
    )
    scores_path = folder / SCORES_FILE
    if scores_path.is_file():
        try:
            scores = np.load(scores_path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise DataError(f"{SCORES_FILE} is not a plain numeric array: {exc}.") from None
        if scores.ndim != 1 or scores.dtype.kind != "f":
            raise DataError(f"{SCORES_FILE} must be a 1-D float array.")
        detector.decision_scores_ = scores
    else:
        detector.decision_scores_ = np.array([], dtype=np.float64)
    detector.labels_ = detector._labels(detector.decision_scores_)
    return LoadedBundle(detector=detector, metadata=metadata)


def _training_plan(spec: dict[str, Any], detector: AutoencoderDetector) -> TrainingPlan:
    """The saved training plan; bundles from before it was saved get it rebuilt from their configs."""
    if "training_plan" in spec:
        try:
            return TrainingPlan.from_dict(spec["training_plan"])
        except DataError as exc:
            raise DataError(f"{DETECTOR_FILE}: {exc}") from None
    try:
        return TrainingPlan.of(detector.config, detector.config_, detector.n_train_rows_)
    except ValueError:
        raise DataError(f"{DETECTOR_FILE}: resolved_config must give the batch size.") from None


def _scoring_from_dict(data: object, bottleneck: int | None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The code statistics and score scales, checked for shape and finiteness."""
    problem = f"{DETECTOR_FILE}: scoring must hold the code mean, precision and two score scales"
    if not isinstance(data, dict) or bottleneck is None:
        raise DataError(problem + ".")
    try:
        mean = np.asarray(data["code_mean"], dtype=np.float64)
        precision = np.asarray(data["code_precision"], dtype=np.float64)
        scales = np.asarray(data["score_scales"], dtype=np.float64)
    except (KeyError, TypeError, ValueError):
        raise DataError(problem + ".") from None
    if (
        mean.shape != (bottleneck,)
        or precision.shape != (bottleneck, bottleneck)
        or scales.shape != (2,)
        or not all(np.isfinite(a).all() for a in (mean, precision, scales))
        or (scales <= 0).any()
    ):
        raise DataError(problem + f" for a {bottleneck}-wide bottleneck.")
    return mean, precision, (float(scales[0]), float(scales[1]))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"The bundle member {path.name!r} is not valid JSON: {exc}.") from None


def _number(spec: dict[str, Any], key: str) -> float:
    value = spec.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise DataError(f"{DETECTOR_FILE}: {key} must be a number, found {value!r}.")
    return float(value)


def _roles_from_dict(data: object) -> ColumnRoles:
    if not isinstance(data, dict):
        raise DataError(f"{DETECTOR_FILE}: columns must be an object.")
    try:
        return ColumnRoles(
            numeric=tuple(_string_list(data.get("numeric", []))),
            categorical=tuple(_string_list(data.get("categorical", []))),
            label=_optional_string(data.get("label")),
            timestamp=_optional_string(data.get("timestamp")),
        )
    except TypeError:
        raise DataError(f"{DETECTOR_FILE}: columns must list column names as text.") from None


def _string_list(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError
    return value


def _optional_string(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError
    return value


def _dataclass_from_dict(cls: type, data: object, what: str) -> Any:
    if not isinstance(data, dict):
        raise DataError(f"{DETECTOR_FILE}: {what} must be an object.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"{DETECTOR_FILE}: {what} has unknown fields {', '.join(unknown)}.")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{DETECTOR_FILE}: {what} is invalid: {exc}.") from None


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
    layers = config.get("config", {}).get("layers", [])
    if not isinstance(layers, list) or not layers:
        raise DataError(f"The bundle's {MODEL_FILE} lists no layers.")
    for layer in layers:
        name = layer.get("class_name") if isinstance(layer, dict) else None
        module = layer.get("module") if isinstance(layer, dict) else None
        if name not in ALLOWED_LAYERS or module not in {None, "keras.layers"}:
            raise DataError(
                f"The bundle's network contains a layer of type {name!r}, which this tool never "
                "builds (it could run code); the bundle was refused."
            )


def _load_keras_model(path: Path) -> Any:
    _check_keras_archive(path)
    keras = import_keras()

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a corrupt file; all mean the same here.
        raise DataError(f"The bundle's network could not be loaded safely: {exc}".split("\n")[0]) from None
    return model


__all__ = ["LoadedBundle", "bundle_bytes", "load_bundle", "save_bundle"]
