"""The part every table detector shares: columns, preprocessing, unscorable rows and state.

:class:`TabularDetector` turns a DataFrame (or a numeric array) into the one preprocessed
matrix every family works on: roles inferred or given, numbers imputed and scaled, categories
one-hot encoded. Rows whose feature columns are all missing cannot be scored: they are left
out of fitting and get a NaN score. A family implements only what it does with the matrix.
"""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from dataclasses import asdict, fields
from typing import Any

import numpy as np
import pandas as pd

from detector.base import BaseDetector, DetectorState, FitProgress, ProgressCallback
from detector.columns import ColumnRoles, infer_roles
from detector.drift import TrainingProfile, profile_training
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig, Preprocessor

# Constructor parameters every table detector has; a family adds its own after them.
COMMON_PARAMS = ("contamination", "columns", "preprocess")


class TabularDetector(BaseDetector):
    """A detector that reads a table through the shared :class:`Preprocessor`.

    Subclasses implement :meth:`_fit_matrix` and :meth:`_score_matrix` (and
    :meth:`_column_errors` when ``explains_columns``), plus :meth:`_fitted_state` and
    :meth:`_restore_fitted` for bundles. The matrix they see is the preprocessed table without
    clipping (rows x encoded columns, float64).

    Fitted attributes, besides the contract's: ``preprocessor_``, ``columns_`` (the roles
    used), ``n_features_in_``, ``feature_names_in_``, ``n_train_rows_``, ``fit_seconds_`` and
    ``training_profile_`` (the training rows' ranges and categories, for
    :func:`detector.drift.check_drift`; None for bundles saved before it existed).
    """

    contamination: float
    columns: ColumnRoles | None
    preprocess: PreprocessConfig

    # ----------------------------------------------------------------- hooks

    @abstractmethod
    def _fit_matrix(self, matrix: np.ndarray, on_progress: ProgressCallback | None) -> np.ndarray:
        """Learn from the training rows' matrix; return their scores (one per row)."""

    @abstractmethod
    def _score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Score the rows of ``matrix`` (one float per row, higher = more anomalous)."""

    def _column_errors(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and each encoded column's non-negative part of them (rows x encoded columns)."""
        raise NotImplementedError(f"{type(self).__name__} does not explain rows column by column.")

    def _side_inputs(self, frame: pd.DataFrame, *, fitting: bool = False) -> dict[str, np.ndarray]:
        """Values a family scores beside the matrix, for the rows of ``frame`` (keyword arguments
        of :meth:`_fit_matrix`, :meth:`_score_matrix` and :meth:`_column_errors`); none by default.

        The autoencoder's is its text columns' failure wording (see :mod:`detector.text`).
        """
        return {}

    @abstractmethod
    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The family's own learned values: JSON-able values and numeric arrays."""

    @abstractmethod
    def _restore_fitted(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Set the family's learned attributes from :meth:`_fitted_state` output (checking it)."""

    # ----------------------------------------------------------------- fitting

    def fit(
        self, X: pd.DataFrame | np.ndarray, y: object = None, *, on_progress: ProgressCallback | None = None,
    ) -> TabularDetector:
        """Learn from the rows of ``X``; return ``self``. ``y`` is ignored (unsupervised)."""
        self._validate_params()
        frame = self._as_frame(X, fitting=True)
        if self.columns is not None:
            roles = self.columns
        elif isinstance(X, pd.DataFrame):
            roles = infer_roles(frame)
        else:  # every column of a numeric array is a numeric feature
            roles = ColumnRoles(numeric=tuple(frame.columns))
        roles.check(frame)
        preprocessor = Preprocessor(
            numeric=roles.numeric, categorical=roles.categorical, text=roles.text, config=self.preprocess,
        )
        usable = ~preprocessor.missing_feature_rows(frame)
        if not usable.any():
            raise DataError("Every row has all feature columns missing; there is nothing to learn.")
        train_frame = frame if usable.all() else frame.loc[usable]
        if len(train_frame) < 2:
            raise DataError(
                f"Training needs at least 2 rows with feature values; this table has {len(train_frame)} "
                f"(n_samples={len(train_frame)})."
            )
        self.preprocessor_ = preprocessor.fit(train_frame)
        self.training_profile_ = profile_training(train_frame, roles.numeric, roles.categorical)
        self.columns_ = roles
        self.n_features_in_ = len(frame.columns)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        matrix = self._matrix(train_frame)
        self.n_train_rows_ = len(matrix)
        started = time.perf_counter()
        train_scores = self._fit_matrix(matrix, on_progress, **self._side_inputs(train_frame, fitting=True))
        self.fit_seconds_ = time.perf_counter() - started
        scores = np.full(len(frame), np.nan)
        scores[usable] = train_scores
        self._set_scores(scores)
        return self

    def _validate_params(self) -> None:
        """Check the shared parameters (a family checks its own in ``_fit_matrix``)."""
        value = self.contamination
        if (
            not isinstance(value, int | float | np.floating)
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not 0 < value < 0.5
        ):
            raise ValueError(f"contamination={value!r} must be in (0, 0.5).")
        if self.columns is not None and not isinstance(self.columns, ColumnRoles):
            raise TypeError("columns must be a ColumnRoles or None.")
        if not isinstance(self.preprocess, PreprocessConfig):
            raise TypeError("preprocess must be a PreprocessConfig.")

    # ----------------------------------------------------------------- scoring

    @property
    def feature_columns(self) -> tuple[str, ...]:
        self.check_fitted()
        return tuple(self.preprocessor_.source_columns_)

    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """One score per row of ``X``, higher = more anomalous; NaN for rows with no feature values.

        A table whose encoded matrix would be large is scored in batches of rows sized by its
        width (:func:`score_batch_rows`), so a wide one-hot encoding cannot exhaust memory.
        """
        batches = self._batches(X)
        if batches is not None:
            return np.concatenate([self.decision_function(batch) for batch in batches])
        matrix, usable, rows = self._transform_rows(X)
        scores = np.full(len(usable), np.nan)
        scores[usable] = self._score_matrix(matrix, **self._side_inputs(rows))
        return scores

    def _batches(self, X: pd.DataFrame | np.ndarray) -> list[Any] | None:
        """``X`` cut into batches of :func:`score_batch_rows` rows, or None when it fits in one."""
        self.check_fitted()
        rows = score_batch_rows(len(self.preprocessor_.feature_names_out_))
        if len(X) <= rows:
            return None
        if isinstance(X, pd.DataFrame):
            return [X.iloc[start : start + rows] for start in range(0, len(X), rows)]
        return [X[start : start + rows] for start in range(0, len(X), rows)]

    def score_with_contributions(
        self, X: pd.DataFrame | np.ndarray,
    ) -> tuple[np.ndarray, pd.DataFrame | None]:
        """Scores and each feature column's share of each row's score (one-hot blocks folded back).

        Families that do not explain rows return ``(scores, None)``. Large tables go in batches,
        as in :meth:`decision_function`.
        """
        if not self.explains_columns:
            return self.decision_function(X), None
        batches = self._batches(X)
        if batches is not None:
            parts = [self.score_with_contributions(batch) for batch in batches]
            shares = pd.concat([part[1] for part in parts])
            if not isinstance(X, pd.DataFrame):
                shares.index = pd.RangeIndex(len(X))
            return np.concatenate([part[0] for part in parts]), shares
        matrix, usable, rows = self._transform_rows(X)
        scores = np.full(len(usable), np.nan)
        row_scores, errors = self._column_errors(matrix, **self._side_inputs(rows))
        scores[usable] = row_scores
        return scores, self.shares_frame(self.fold_columns(errors), usable, index_of(X))

    def model_inputs(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The scaled, encoded matrix of ``X``'s scorable rows (clipped as configured)."""
        self.check_fitted()
        return self.preprocessor_.transform(self._as_frame(X))

    def scaled_values(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Numeric features centred and scaled as the model sees them; NaN for categories."""
        self.check_fitted()
        preprocessor = self.preprocessor_
        frame = self._as_frame(X)
        features = list(preprocessor.source_columns_)
        out = pd.DataFrame(np.nan, index=index_of(X), columns=features)
        for j, name in enumerate(features[: len(preprocessor.center_)]):
            numbers = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            out[name] = (numbers - preprocessor.center_[j]) / preprocessor.scale_[j]
        return out

    def fold_columns(self, errors: np.ndarray) -> np.ndarray:
        """Sum per-encoded-column parts (rows x encoded) into their source columns (rows x features)."""
        source = self.preprocessor_.output_source_
        n_sources = len(self.preprocessor_.source_columns_)
        if len(source) == n_sources and np.array_equal(source, np.arange(n_sources)):
            return errors
        # Summing one-hot blocks into their source column is a product with a 0/1 indicator matrix.
        indicator = np.zeros((len(source), n_sources))
        indicator[np.arange(len(source)), source] = 1.0
        return errors @ indicator

    def shares_frame(self, errors: np.ndarray, usable: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """``errors`` (scorable rows x features) as shares of each row's total, NaN for unscorable rows.

        Overwrites ``errors`` (no copies of a large matrix). Rows with nothing to share get 0.
        """
        totals = errors.sum(axis=1)
        explained = totals > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            errors /= np.where(explained, totals, 1)[:, None]
        errors[~explained] = 0.0
        if not usable.all():
            full = np.full((len(usable), errors.shape[1]), np.nan)
            full[usable] = errors
            errors = full
        return pd.DataFrame(errors, columns=self.preprocessor_.source_columns_, index=index, copy=False)

    # ----------------------------------------------------------------- state

    def to_state(self) -> DetectorState:
        self.check_fitted()
        fitted, arrays = self._fitted_state()
        return DetectorState(
            kind=self.kind,
            params=self._params_to_json(),
            fitted={
                "preprocessing": self.preprocessor_.to_dict(),
                "columns": roles_to_dict(self.columns_),
                "feature_names_in": [str(name) for name in self.feature_names_in_],
                "threshold": float(self.threshold_),
                "n_train_rows": int(self.n_train_rows_),
                "fit_seconds": float(self.fit_seconds_),
                **({"training_profile": self.training_profile_.to_dict()} if self.training_profile_ else {}),
                **(
                    {"suppression_rules": [rule.to_dict() for rule in self.suppression_rules_]}
                    if self.suppression_rules_ else {}
                ),
                **fitted,
            },
            arrays={"decision_scores": np.asarray(self.decision_scores_, dtype=np.float64), **arrays},
            network=self._network(),
        )

    @classmethod
    def from_state(cls, state: DetectorState) -> TabularDetector:
        detector = cls(**cls._params_from_json(state.params))
        try:
            detector._validate_params()
        except (TypeError, ValueError) as exc:
            raise DataError(f"The bundle's detector parameters are invalid: {exc}") from None
        fitted = state.fitted
        preprocessor = Preprocessor.from_dict(fitted.get("preprocessing"))
        roles = roles_from_dict(fitted.get("columns"))
        if list(roles.features) != list(preprocessor.source_columns_):
            raise DataError("The bundle's column roles do not match its preprocessing; it is inconsistent.")
        names = fitted.get("feature_names_in")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DataError("The bundle's feature_names_in must be a list of column names.")
        scores = state.arrays.get("decision_scores", np.array([], dtype=np.float64))
        if scores.ndim != 1 or scores.dtype.kind != "f":
            raise DataError("The bundle's training scores must be a 1-D float array.")
        detector.preprocessor_ = preprocessor
        detector.columns_ = roles
        detector.n_features_in_ = len(names)
        detector.feature_names_in_ = np.asarray(names, dtype=object)
        detector.n_train_rows_ = int(number(fitted, "n_train_rows"))
        detector.fit_seconds_ = number(fitted, "fit_seconds")
        profile = fitted.get("training_profile")
        # Bundles saved before release 0.3 have none: their drift checks cannot check ranges.
        detector.training_profile_ = TrainingProfile.from_dict(profile) if profile is not None else None
        detector._accept_network(state.network)
        detector._restore_fitted(fitted, state.arrays)
        detector.decision_scores_ = scores
        detector.threshold_ = number(fitted, "threshold")
        detector.labels_ = detector.labels_at(scores)
        rules = fitted.get("suppression_rules")
        if rules is not None:
            from detector.reviews import Reviews

            detector.suppression_rules_ = tuple(Reviews.from_dict({"verdicts": [], "rules": rules}).rules)
        return detector

    def _network(self) -> Any | None:
        """The Keras network a bundle must store (None: the family has none)."""
        return None

    def _accept_network(self, network: Any | None) -> None:
        """Take the network a bundle holds; a family without one refuses any."""
        if network is not None:
            raise DataError(f"The bundle holds a network, which a {self.title} model never has.")

    def _params_to_json(self) -> dict[str, Any]:
        """Constructor parameters as JSON-able values (dataclasses become objects)."""
        params: dict[str, Any] = {}
        for name, value in self.get_params(deep=False).items():
            if isinstance(value, ColumnRoles):
                params[name] = roles_to_dict(value)
            elif isinstance(value, PreprocessConfig):
                params[name] = asdict(value)
            elif isinstance(value, tuple):
                params[name] = list(value)
            else:
                params[name] = value
        return params

    @classmethod
    def _params_from_json(cls, data: object) -> dict[str, Any]:
        """Constructor parameters from :meth:`_params_to_json` output, refusing unknown names."""
        if not isinstance(data, dict):
            raise DataError("The bundle's detector parameters are not a JSON object.")
        allowed = set(cls._get_param_names())
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise DataError(f"The bundle's detector has unknown parameters: {', '.join(unknown)}.")
        params = dict(data)
        if params.get("columns") is not None:
            params["columns"] = roles_from_dict(params["columns"])
        if "preprocess" in params:
            params["preprocess"] = dataclass_from_dict(PreprocessConfig, params["preprocess"], "preprocess")
        return params

    # ----------------------------------------------------------------- rows

    def _matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The preprocessed rows of ``frame`` without clipping: what every family's errors are measured on."""
        return self.preprocessor_.transform(frame, clip=False)

    def _transform(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The matrix of ``X``'s scorable rows, and which rows of ``X`` they are."""
        matrix, usable, _ = self._transform_rows(X)
        return matrix, usable

    def _transform_rows(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """As :meth:`_transform`, and the scorable rows themselves (for :meth:`_side_inputs`)."""
        self.check_fitted()
        frame = self._as_frame(X)
        usable = ~self.preprocessor_.missing_feature_rows(frame)
        subset = frame if usable.all() else frame.loc[usable]
        return self._matrix(subset), usable, subset

    def _as_frame(self, X: pd.DataFrame | np.ndarray, *, fitting: bool = False) -> pd.DataFrame:
        """``X`` as a DataFrame; a plain array must be numeric (and as wide as at fit time)."""
        if isinstance(X, pd.DataFrame):
            if not fitting:
                self.check_fitted()
            return X
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            raise TypeError("Sparse input is not supported; convert it with X.toarray() first.")
        array = np.asarray(X)
        if array.ndim != 2:
            raise DataError(
                f"Expected a 2-D table of rows and columns, got shape {array.shape}. "
                "Reshape your data, e.g. X.reshape(-1, 1) for a single column."
            )
        if np.iscomplexobj(array):
            raise DataError("Complex data not supported; pass real-valued columns.")
        if array.dtype == object:
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError("A plain array must be numeric; pass a DataFrame for text columns.") from None
        if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
            raise DataError("A plain array must be numeric; pass a DataFrame for text columns.")
        if array.shape[1] == 0:
            raise DataError(
                f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required."
            )
        if not fitting:
            self.check_fitted()
            if array.shape[1] != self.n_features_in_:
                raise DataError(
                    f"The model was trained on {self.n_features_in_} columns; "
                    f"this array has {array.shape[1]}."
                )
            names = list(self.feature_names_in_)
        else:
            names = [f"x{i}" for i in range(array.shape[1])]
        return pd.DataFrame(array, columns=names)


#: Scoring handles at most about this many bytes of encoded rows at a time.
SCORE_BATCH_BYTES = 256 * 2**20
#: Bytes each encoded cell costs while a batch is scored: the float32 inputs, the unclipped
#: float64 matrix, the reconstruction and the per-cell errors.
BYTES_PER_CELL = 32


def score_batch_rows(n_inputs: int) -> int:
    """Rows per scoring batch for ``n_inputs`` encoded columns: about SCORE_BATCH_BYTES, at least 1,024."""
    return max(1024, SCORE_BATCH_BYTES // (max(n_inputs, 1) * BYTES_PER_CELL))


class StageReporter:
    """Reports a classical fit's stages through a :data:`ProgressCallback` (they are seconds long)."""

    def __init__(self, on_progress: ProgressCallback | None, stages: tuple[str, ...]) -> None:
        self._on_progress = on_progress
        self._stages = stages
        self._started = time.perf_counter()

    def done(self, stage: str) -> None:
        """Say that ``stage`` (one of the stages given) has finished."""
        if self._on_progress is not None:
            self._on_progress(
                FitProgress(
                    step=self._stages.index(stage) + 1,
                    total=len(self._stages),
                    unit="stage",
                    elapsed=time.perf_counter() - self._started,
                    stage=stage,
                )
            )


# ------------------------------------------------------------------------ JSON helpers


def roles_to_dict(roles: ColumnRoles) -> dict[str, Any]:
    """Column roles as a JSON object."""
    return {
        "numeric": list(roles.numeric),
        "categorical": list(roles.categorical),
        "label": roles.label,
        "timestamp": roles.timestamp,
        **({"text": list(roles.text)} if roles.text else {}),
    }


def roles_from_dict(data: object) -> ColumnRoles:
    """Column roles from :func:`roles_to_dict` output; ``DataError`` when malformed."""
    if not isinstance(data, dict):
        raise DataError("The bundle's column roles must be an object.")

    def names(value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise DataError("The bundle's column roles must list column names as text.")
        return tuple(value)

    def optional(value: object) -> str | None:
        if value is not None and not isinstance(value, str):
            raise DataError("The bundle's column roles must name columns as text.")
        return value

    return ColumnRoles(
        numeric=names(data.get("numeric", [])),
        categorical=names(data.get("categorical", [])),
        label=optional(data.get("label")),
        timestamp=optional(data.get("timestamp")),
        text=names(data.get("text", [])),
    )


def dataclass_from_dict(cls: type, data: object, what: str) -> Any:
    """A frozen config dataclass from a JSON object, refusing unknown or invalid fields."""
    if not isinstance(data, dict):
        raise DataError(f"The bundle's {what} must be an object.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DataError(f"The bundle's {what} has unknown fields {', '.join(unknown)}.")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The bundle's {what} is invalid: {exc}.") from None


def number(data: dict[str, Any], key: str) -> float:
    """``data[key]`` as a float; ``DataError`` unless it is a JSON number."""
    value = data.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise DataError(f"The bundle's {key} must be a number, found {str(value)[:40]!r}.")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise DataError(f"The bundle's {key} must be a finite number.")
    return number


def array(arrays: dict[str, np.ndarray], key: str, *, ndim: int, kind: str = "f") -> np.ndarray:
    """``arrays[key]``, checked for its number of dimensions, dtype kind and finiteness."""
    value = arrays.get(key)
    if value is None:
        raise DataError(f"The bundle lacks the array {key!r}.")
    if value.ndim != ndim or value.dtype.kind not in kind:
        raise DataError(f"The bundle's array {key!r} has the wrong shape or type.")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise DataError(f"The bundle's array {key!r} holds non-finite values.")
    return value


def index_of(X: pd.DataFrame | np.ndarray) -> pd.Index:
    """The row index of ``X``: a frame's own, or positions for a plain array."""
    return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))


def rows_in_place(frame: pd.DataFrame, usable: np.ndarray, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    """``frame``'s rows (one per scorable row of ``X``) back at their rows of ``X``, indexed like
    ``X``; rows with no feature values were never computed and are NaN."""
    if not usable.all():
        frame.index = np.flatnonzero(usable)
        frame = frame.reindex(range(len(usable)))
    frame.index = index_of(X)
    return frame


__all__ = [
    "BYTES_PER_CELL",
    "COMMON_PARAMS",
    "SCORE_BATCH_BYTES",
    "StageReporter",
    "TabularDetector",
    "array",
    "dataclass_from_dict",
    "index_of",
    "number",
    "roles_from_dict",
    "roles_to_dict",
    "rows_in_place",
    "score_batch_rows",
]
