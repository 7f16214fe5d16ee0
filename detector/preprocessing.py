"""Turn the feature columns of a table into the float32 matrix the autoencoder reads, and back."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd

from detector.errors import DataError, NotFittedError, counted
from detector.text import TextFeatures, text_values

__all__ = ["MISSING_CATEGORY", "OTHER_CATEGORY", "PreprocessConfig", "Preprocessor"]

MISSING_CATEGORY = "(missing)"
"""Category given to missing (or blank) values of a categorical column."""

OTHER_CATEGORY = "(other)"
"""Category pooling rare training values and values first seen after training."""

FORMAT_NAME = "detector.preprocessing"
FORMAT_VERSION = 1

_SCALINGS = ("robust", "standard", "minmax")
_IMPUTES = ("median", "mean", "zero")

# Text that means "no value" in a numeric column. Only numeric columns get this leniency:
# in a categorical column "NA" may well be a real value (North America).
_MISSING_TEXT = frozenset({"", "na", "n/a", "nan", "null", "none"})

# Rows are processed in blocks of this size so that the column-to-row transpose into the
# C-ordered output stays in cache; writing whole columns of a C-ordered array is ~8x slower.
_ROW_BLOCK = 16_384
#: With ``clip=False`` scaled values are still capped here, so that squared errors stay finite
#: (a cell of 1e308 must rank as extreme, not turn into an infinite, unscorable score).
UNCLIPPED_BOUND = 1e6
# Robust scaling's unit is a column's interquartile range (its standard deviation when that is 0),
# but at least its 5-95% range divided by this: a floor for quantised or near-constant columns
# (see _numeric_statistics), once a column has enough values for those percentiles to mean
# something. 30 leaves every column of the 12 ADBench sets alone (10 changed some and hurt).
SCALE_FLOOR_DIVISOR = 30
FLOOR_MIN_VALUES = 20
# A note warns of a numeric column whose values reach this many scale units from its centre.
DOMINANT_SPREADS = 100
# Rows the scaling notes look at, at most (evenly spaced).
NOTE_ROWS = 20_000

# Without a clip, scaled values are still bounded so that the float32 output never holds inf.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _is_real(value: object) -> bool:
    """Return True for an int or float that converts to a finite float (bools excluded)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int beyond float range, e.g. from a hostile JSON file
        return False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value: object, limit: int = 60) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: The most encoded columns a preprocessor read from a bundle may have (numbers, their gap
#: indicators, and one-hot categories): far above any table this tool trains on.
MAX_ENCODED_COLUMNS = 20_000


@dataclass(frozen=True)
class PreprocessConfig:
    """How numeric columns are imputed and scaled and how categories are encoded.

    ``robust`` scaling (median and interquartile range) is the default because anomaly
    detection is usually trained on data that already contains some anomalies: a few extreme
    training rows inflate the standard deviation (``standard``) or the range (``minmax``) and
    squash every normal row into a narrow band, while the median and IQR barely move.

    Parameters
    ----------
    scaling
        ``"robust"``: (x - median) / IQR, using the standard deviation and then 1 when the IQR
        is 0. ``"standard"``: (x - mean) / std, using 1 when the std is 0. ``"minmax"``:
        (x - min) / (max - min), using 1 when the range is 0, so training values land in [0, 1].
        All statistics come from the observed (finite) training values.
    clip
        Scaled numeric values are clipped to ``[-clip, clip]`` (for every scaling, minmax
        included), which keeps a few extreme rows from dominating the reconstruction loss.
        ``None`` disables clipping.
    impute
        Value replacing missing and infinite numeric cells: the training ``"median"`` or
        ``"mean"``, or ``"zero"`` (the number 0 in the column's own units).
    missing_indicators
        Add a 0/1 column ``<name>__missing`` for each numeric column that had missing or
        infinite values in the training rows.
    max_categories
        At most this many categories per categorical column get their own one-hot column.
    min_category_share
        Categories rarer than this share of the training rows are pooled into ``"(other)"``.
    """

    scaling: Literal["robust", "standard", "minmax"] = "robust"
    clip: float | None = 5.0
    impute: Literal["median", "mean", "zero"] = "median"
    missing_indicators: bool = False
    max_categories: int = 20
    min_category_share: float = 0.01

    def __post_init__(self) -> None:
        """Reject settings the preprocessor cannot honour (the one place they are checked)."""
        if self.scaling not in _SCALINGS:
            raise ValueError(f"scaling must be one of {_SCALINGS}, got {_short(self.scaling)}.")
        if self.clip is not None and not (_is_real(self.clip) and self.clip > 0):
            raise ValueError(f"clip must be a positive number or None, got {_short(self.clip)}.")
        if self.impute not in _IMPUTES:
            raise ValueError(f"impute must be one of {_IMPUTES}, got {_short(self.impute)}.")
        if not isinstance(self.missing_indicators, bool):
            raise ValueError(
                f"missing_indicators must be True or False, got {_short(self.missing_indicators)}."
            )
        if not (_is_int(self.max_categories) and self.max_categories >= 1):
            raise ValueError(
                f"max_categories must be a whole number >= 1, got {_short(self.max_categories)}."
            )
        if not (_is_real(self.min_category_share) and 0 <= self.min_category_share <= 1):
            raise ValueError(
                f"min_category_share must be between 0 and 1, got {_short(self.min_category_share)}."
            )


class Preprocessor:
    """Impute, scale and one-hot encode feature columns, learning everything from training rows.

    Parameters
    ----------
    numeric
        Names of the numeric feature columns.
    categorical
        Names of the categorical feature columns.
    config
        Scaling, clipping, imputation and category settings.

    Attributes
    ----------
    source_columns_ : list[str]
        The features, numeric then categorical, in configured order.
    feature_names_out_ : list[str]
        One name per output column: ``temp``, ``temp__missing``, ``site=north``,
        ``site=(other)``.
    output_source_ : numpy.ndarray of int
        For each output column the index of its column in ``source_columns_`` (missing
        indicators point at their numeric column), used to fold errors back onto columns.
    n_features_in_ : int
        Number of source columns.
    center_, scale_, fill_ : numpy.ndarray of float64
        Per numeric column: subtracted centre, divisor, and imputed value in original units.
    indicators_ : numpy.ndarray of bool
        Per numeric column: whether it has a missing-indicator output column.
    categories_ : list[list[str]]
        Per categorical column: the categories kept as their own one-hot column, most
        frequent first.
    has_other_ : list[bool]
        Per categorical column: whether it has an ``(other)`` column.
    """

    def __init__(
        self,
        *,
        numeric: tuple[str, ...] = (),
        categorical: tuple[str, ...] = (),
        text: tuple[str, ...] = (),
        config: PreprocessConfig = PreprocessConfig(),  # frozen, so one shared default is safe
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.text = text
        self.config = config

    def __repr__(self) -> str:
        return (
            f"Preprocessor(numeric={tuple(self.numeric)!r}, "
            f"categorical={tuple(self.categorical)!r}, text={tuple(self.text)!r}, config={self.config!r})"
        )

    # ------------------------------------------------------------------ fitting

    def fit(self, frame: pd.DataFrame) -> Preprocessor:
        """Learn imputation values, scales and categories from the training rows in ``frame``."""
        numeric, categorical, text = self._configured_columns()
        if not isinstance(self.config, PreprocessConfig):
            raise TypeError(f"config must be a PreprocessConfig, got {type(self.config).__name__}.")
        _require_columns(frame, numeric + categorical + text)
        if len(frame) == 0:
            raise DataError("There are no training rows: the table (or selection) is empty.")

        config = self.config
        # The quantiles' partial sorts dominate on long columns, and NumPy sorts without the
        # GIL: a column per core. (Results come back in column order, errors too.)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            learned = list(pool.map(lambda name: _learn_numeric(frame[name], name, config), numeric))
        table = np.array([statistics for statistics, _ in learned], dtype=np.float64).reshape(-1, 3)
        center, scale, fill = table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy()
        indicators = np.array([indicator for _, indicator in learned], dtype=bool)

        categories: list[list[str]] = []
        has_other: list[bool] = []
        for name in categorical:
            codes, labels = _category_codes(frame[name])
            kept, other = _choose_categories(codes, labels, config)
            categories.append(kept)
            has_other.append(other)
        def text_scaling(values: np.ndarray, label: str) -> tuple[float, float]:
            return _numeric_statistics(values, config, label)[:2]

        texts = [TextFeatures.fit(frame[name], name, text_scaling) for name in text]

        self._set_learned(numeric, categorical, center, scale, fill, indicators, categories, has_other, texts)
        return self

    def _set_learned(
        self,
        numeric: list[str],
        categorical: list[str],
        center: np.ndarray,
        scale: np.ndarray,
        fill: np.ndarray,
        indicators: np.ndarray,
        categories: list[list[str]],
        has_other: list[bool],
        texts: list[TextFeatures] | None = None,
    ) -> None:
        """Store what was learned and derive the output layout (shared by fit and from_dict)."""
        texts = texts or []
        bound = self.config.clip if self.config.clip is not None else _FLOAT32_MAX
        self.center_ = center
        self.scale_ = scale
        self.fill_ = fill
        self.indicators_ = indicators
        self.categories_ = categories
        self.has_other_ = has_other
        self.texts_ = texts
        self._bound = bound
        with np.errstate(over="ignore"):
            self._fill_scaled = np.clip((fill - center) / scale, -bound, bound)

        self.source_columns_ = [*numeric, *categorical, *(t.name for t in texts)]
        self.n_features_in_ = len(self.source_columns_)
        names = list(numeric)
        source = list(range(len(numeric)))
        for j in np.flatnonzero(indicators):
            names.append(f"{numeric[j]}__missing")
            source.append(int(j))
        for k, name in enumerate(categorical):
            block = categories[k] + ([OTHER_CATEGORY] if has_other[k] else [])
            names.extend(f"{name}={category}" for category in block)
            source.extend([len(numeric) + k] * len(block))
        for t, features in enumerate(texts):
            names.extend(features.output_names)
            source.extend([len(numeric) + len(categorical) + t] * features.width)
        self.feature_names_out_ = names
        self.output_source_ = np.asarray(source, dtype=np.intp)

    # ------------------------------------------------------------------ transforming

    def transform(self, frame: pd.DataFrame, *, clip: bool = True) -> np.ndarray:
        """Encode ``frame`` as a float32 array of shape (n_rows, len(feature_names_out_)).

        ``clip=False`` skips the configured clipping (values are only capped at
        ``±UNCLIPPED_BOUND``): the detector feeds its network clipped values but measures the
        error against the unclipped ones, so an extreme value still counts as extreme.
        Columns not among the features are ignored. Missing and infinite numbers get the
        training imputation value; categories not kept at fit go to ``(other)`` when that
        column exists, and otherwise encode as all zeros.
        """
        self._check_fitted()
        _require_columns(frame, self.source_columns_)
        n_numeric = len(self.center_)
        numeric_names = self.source_columns_[:n_numeric]
        n_rows = len(frame)
        # np.zeros is lazily zeroed memory, so the one-hot blocks start at 0 for free.
        out = np.zeros((n_rows, len(self.feature_names_out_)), dtype=np.float32)

        if n_numeric:
            values = [_numeric_values(frame[name], name) for name in numeric_names]
            self._write_numeric(values, out, self._bound if clip else UNCLIPPED_BOUND)

        offset = n_numeric + int(self.indicators_.sum())
        for k, name in enumerate(self._categorical_names()):
            kept = self.categories_[k]
            width = len(kept) + self.has_other_[k]
            codes, labels = _category_codes(frame[name])
            lookup = pd.Index(kept, dtype=object).get_indexer(labels)
            if self.has_other_[k]:
                lookup[lookup < 0] = len(kept)
            # codes use -1 for missing, and labels[-1] is the missing category: numpy's
            # negative indexing lines them up without rewriting the codes.
            columns = lookup[codes]
            if (columns >= 0).all():
                out[np.arange(n_rows), offset + columns] = 1.0
            else:
                rows = np.flatnonzero(columns >= 0)
                out[rows, offset + columns[rows]] = 1.0
            offset += width
        bound = self._bound if clip else UNCLIPPED_BOUND
        for features in self.texts_:
            encoded, _ = features.transform(frame[features.name])
            out[:, offset : offset + features.width] = np.clip(encoded, -bound, bound)
            offset += features.width
        return out

    def _categorical_names(self) -> list[str]:
        n_numeric = len(self.center_)
        return self.source_columns_[n_numeric : n_numeric + len(self.categories_)]

    def _write_numeric(self, values: list[np.ndarray], out: np.ndarray, bound: float) -> None:
        """Scale, clip and impute the numeric columns into ``out`` block by block of rows."""
        n_numeric = len(values)
        n_rows = out.shape[0]
        block = min(_ROW_BLOCK, max(n_rows, 1))
        scratch = np.empty((n_numeric, block))
        missing = np.empty((n_numeric, block), dtype=bool)
        scale = self.scale_[:, None]
        fill = self._fill_scaled[:, None]
        indicator_rows = np.flatnonzero(self.indicators_)
        indicator_cols = slice(n_numeric, n_numeric + indicator_rows.size)
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, n_rows, block):
                stop = min(start + block, n_rows)
                scaled = scratch[:, : stop - start]
                absent = missing[:, : stop - start]
                for j, column in enumerate(values):
                    chunk = column[start:stop]
                    np.subtract(chunk, self.center_[j], out=scaled[j])
                    np.isfinite(chunk, out=absent[j])
                np.logical_not(absent, out=absent)
                np.divide(scaled, scale, out=scaled)
                np.clip(scaled, -bound, bound, out=scaled)
                np.copyto(scaled, fill, where=absent)
                out[start:stop, :n_numeric] = scaled.T
                if indicator_rows.size:
                    out[start:stop, indicator_cols] = absent[indicator_rows].T

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Fit on ``frame`` and return its encoding."""
        return self.fit(frame).transform(frame)

    def inverse_transform(self, encoded: np.ndarray) -> pd.DataFrame:
        """Map encoded rows back to the source columns.

        Numeric columns return in original units (values that were clipped stay at the clip
        edge); each categorical column takes the category whose one-hot column is largest.
        Missing indicators are ignored.
        """
        self._check_fitted()
        encoded = np.asarray(encoded)
        if encoded.ndim != 2 or encoded.shape[1] != len(self.feature_names_out_):
            raise ValueError(
                f"Expected an array of shape (n_rows, {len(self.feature_names_out_)}), got {encoded.shape}."
            )
        n_numeric = len(self.center_)
        columns: dict[str, Any] = {}
        for j, name in enumerate(self.source_columns_[:n_numeric]):
            columns[name] = encoded[:, j].astype(np.float64) * self.scale_[j] + self.center_[j]
        offset = n_numeric + int(self.indicators_.sum())
        for k, name in enumerate(self._categorical_names()):
            block = self.categories_[k] + ([OTHER_CATEGORY] if self.has_other_[k] else [])
            choice = np.argmax(encoded[:, offset : offset + len(block)], axis=1)
            columns[name] = np.asarray(block, dtype=object)[choice]
            offset += len(block)
        for features in self.texts_:
            # A text cannot be rebuilt from a few numbers: the nearest training text stands in.
            part = encoded[:, offset : offset + features.width].astype(np.float64)
            columns[features.name] = features.closest_example(part)
            offset += features.width
        return pd.DataFrame(columns, columns=self.source_columns_)

    @property
    def measures_wording(self) -> bool:
        """Whether there are text columns and each can say how much its texts read like a failure
        (not those from bundles saved before :meth:`detector.text.TextFeatures.wording` existed)."""
        self._check_fitted()
        return bool(self.texts_) and all(features.wording_prompt for features in self.texts_)

    def wording(self, frame: pd.DataFrame) -> np.ndarray | None:
        """How much each row's texts read like a failure (rows x text columns, see
        :meth:`detector.text.TextFeatures.wording`), or None unless :attr:`measures_wording`."""
        if not self.measures_wording:
            return None
        return np.column_stack([features.wording(frame[features.name]) for features in self.texts_])

    # ------------------------------------------------------------------ reporting helpers

    def missing_feature_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Return a bool per row: True where every feature is missing (nothing to score).

        Works before ``fit`` (it only needs the configured columns). Infinite numbers, blank
        categories and blank texts count as missing.
        """
        numeric, categorical, text = self._configured_columns()
        _require_columns(frame, numeric + categorical + text)
        empty = np.ones(len(frame), dtype=bool)
        for name in numeric:
            empty &= ~np.isfinite(_numeric_values(frame[name], name))
        for name in categorical:
            codes, labels = _category_codes(frame[name])
            empty &= (labels == MISSING_CATEGORY)[codes]
        for name in text:
            empty &= text_values(frame[name])[1]
        return empty

    def missing_counts(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Count missing and infinite values per feature (both are imputed for the model).

        Returns a frame indexed by feature name with integer columns ``missing`` and
        ``infinite`` (always 0 for categorical columns).
        """
        numeric, categorical, text = self._configured_columns()
        _require_columns(frame, numeric + categorical + text)
        missing: list[int] = []
        infinite: list[int] = []
        for name in numeric:
            values = _numeric_values(frame[name], name)
            missing.append(int(np.isnan(values).sum()))
            infinite.append(int(np.isinf(values).sum()))
        for name in categorical:
            codes, labels = _category_codes(frame[name])
            missing.append(int((labels == MISSING_CATEGORY)[codes].sum()))
            infinite.append(0)
        for name in text:
            missing.append(int(text_values(frame[name])[1].sum()))
            infinite.append(0)
        return pd.DataFrame(
            {"missing": missing, "infinite": infinite}, index=pd.Index(numeric + categorical + text)
        )

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """Return everything learned as plain JSON-serialisable values."""
        self._check_fitted()
        n_numeric = len(self.center_)
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "config": asdict(self.config),
            "numeric": [
                {
                    "name": name,
                    "center": float(self.center_[j]),
                    "scale": float(self.scale_[j]),
                    "fill": float(self.fill_[j]),
                    "indicator": bool(self.indicators_[j]),
                }
                for j, name in enumerate(self.source_columns_[:n_numeric])
            ],
            "categorical": [
                {"name": name, "categories": list(self.categories_[k]), "other": self.has_other_[k]}
                for k, name in enumerate(self._categorical_names())
            ],
            # Only written when there are text columns, so older readers still read other models.
            **({"text": [features.to_dict() for features in self.texts_]} if self.texts_ else {}),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output.

        The input may come from an untrusted model bundle, so every type, length and number
        is checked; anything unexpected raises :class:`DataError`.
        """
        record = _Record(data, "top level")
        record.keys({"format", "version", "config", "numeric", "categorical"}, optional={"text"})
        if record.get("format", str) != FORMAT_NAME:
            record.fail(f"'format' must be {FORMAT_NAME!r}")
        version = record.get("version", int)
        if version != FORMAT_VERSION:
            record.fail(f"'version' is {version} but this program reads version {FORMAT_VERSION}")
        config = _config_from_dict(record.child("config"))

        numeric: list[str] = []
        stats: list[tuple[float, float, float]] = []
        indicators: list[bool] = []
        for entry in record.items("numeric"):
            entry.keys({"name", "center", "scale", "fill", "indicator"})
            numeric.append(entry.get("name", str))
            center = entry.number("center")
            scale = entry.number("scale")
            if scale <= 0:
                entry.fail("'scale' must be positive")
            stats.append((center, scale, entry.number("fill")))
            indicator = entry.get("indicator", bool)
            if indicator and not config.missing_indicators:
                entry.fail("a missing indicator is listed but the settings turn indicators off")
            indicators.append(indicator)

        categorical: list[str] = []
        categories: list[list[str]] = []
        has_other: list[bool] = []
        for entry in record.items("categorical"):
            entry.keys({"name", "categories", "other"})
            categorical.append(entry.get("name", str))
            kept = entry.get("categories", list)
            if not all(isinstance(category, str) for category in kept):
                entry.fail("'categories' must be a list of strings")
            if len(set(kept)) != len(kept) or OTHER_CATEGORY in kept:
                entry.fail(f"'categories' must be distinct and must not include {OTHER_CATEGORY!r}")
            if len(kept) > config.max_categories:
                entry.fail(f"more categories than max_categories={config.max_categories}")
            other = entry.get("other", bool)
            if not kept and not other:
                entry.fail("no category is encoded")
            categories.append(list(kept))
            has_other.append(other)

        texts: list[TextFeatures] = []
        for position, entry in enumerate(record.get("text", list) if "text" in record.data else []):
            texts.append(TextFeatures.from_dict(entry, _Record({}, f"text[{position}]").fail))
        names = numeric + categorical + [features.name for features in texts]
        if not names:
            record.fail("no feature columns are listed")
        # Every encoded column costs memory per scored row: a bundle listing a million
        # categories would take the server's memory while scoring, whatever its max_categories.
        width = (
            2 * len(numeric)
            + sum(len(kept) + 1 for kept in categories)
            + sum(features.width for features in texts)
        )
        if width > MAX_ENCODED_COLUMNS:
            record.fail(
                f"it encodes {width:,} columns, more than the {MAX_ENCODED_COLUMNS:,} this tool ever builds"
            )
        if len(set(names)) != len(names):
            record.fail("a feature column is listed twice")

        preprocessor = cls(
            numeric=tuple(numeric),
            categorical=tuple(categorical),
            text=tuple(features.name for features in texts),
            config=config,
        )
        table = np.asarray(stats, dtype=np.float64).reshape(len(numeric), 3)
        preprocessor._set_learned(
            numeric,
            categorical,
            table[:, 0].copy(),
            table[:, 1].copy(),
            table[:, 2].copy(),
            np.asarray(indicators, dtype=bool),
            categories,
            has_other,
            texts,
        )
        return preprocessor

    # ------------------------------------------------------------------ internals

    def _configured_columns(self) -> tuple[list[str], list[str], list[str]]:
        """Return the configured column names after checking they are usable."""
        numeric, categorical, text = list(self.numeric), list(self.categorical), list(self.text)
        names = numeric + categorical + text
        bad = [name for name in names if not isinstance(name, str)]
        if bad:
            raise TypeError(f"Column names must be strings, got {bad!r}.")
        if not names:
            raise DataError("No feature columns were chosen: pick at least one column to use.")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise DataError(
                f"Each column can be used once, as numeric, categorical or text; repeated: {repeated}."
            )
        return numeric, categorical, text

    def _check_fitted(self) -> None:
        if not hasattr(self, "source_columns_"):
            raise NotFittedError(
                "This Preprocessor is not fitted yet: call fit() with the training rows first."
            )


# ---------------------------------------------------------------------- column helpers


def _require_columns(frame: pd.DataFrame, names: list[str]) -> None:
    """Raise DataError listing every configured column absent from ``frame``."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"Expected a pandas DataFrame, got {type(frame).__name__}.")
    present = set(frame.columns)
    absent = [name for name in names if name not in present]
    if absent:
        listed = ", ".join(repr(name) for name in absent)
        raise DataError(
            f"The table is missing {counted(len(absent), 'column')} the model uses: {listed}. "
            "Add them (same names as in the training data) and try again."
        )
    repeated = set(frame.columns[frame.columns.duplicated()]) & set(names)
    if repeated:
        raise DataError(
            f"The table has more than one column named {sorted(repeated)}; rename them so "
            "each name is used once."
        )


def _numeric_values(series: pd.Series, name: str) -> np.ndarray:
    """Return ``series`` as float64 (NaN for missing), or raise DataError on non-numeric text.

    A float64 column is returned without copying, so callers must not write into the result.
    """
    dtype = series.dtype
    if dtype == np.float64:
        return series.to_numpy()
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise DataError(
            f"Column '{name}' holds dates or times, which cannot be used as a number. "
            "Use it as the timestamp column or leave it out of the features."
        )
    if isinstance(dtype, pd.CategoricalDtype):
        series = series.astype(object)
    try:
        converted = pd.to_numeric(series, errors="coerce")
    except (TypeError, ValueError) as error:
        raise DataError(
            f"Column '{name}' should hold numbers but holds values that are not text or "
            f"numbers ({error}). Treat it as categorical or leave it out."
        ) from error
    values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    suspect = np.flatnonzero(np.isnan(values) & series.notna().to_numpy())
    if suspect.size:
        text = series.iloc[suspect].astype(str).str.strip().str.lower()
        bad = ~text.isin(_MISSING_TEXT).to_numpy()
        if bad.any():
            row = int(suspect[np.argmax(bad)])
            shown = _short(series.iloc[row])
            raise DataError(
                f"Column '{name}' should hold numbers, but data row {row + 1} (counting the "
                f"first row after the header as 1) has the value {shown}. Correct that value, "
                f"or treat '{name}' as a categorical column."
            )
    return values


def _learn_numeric(
    series: pd.Series, name: str, config: PreprocessConfig
) -> tuple[tuple[float, float, float], bool]:
    """One numeric column's (center, scale, fill) and whether it gets a missing indicator."""
    values = _numeric_values(series, name)
    observed = values[np.isfinite(values)]
    if observed.size == 0:
        raise DataError(
            f"Column '{name}' has no usable numbers in the {len(series)} training rows "
            "(every value is missing or infinite). Exclude it from the features."
        )
    indicator = config.missing_indicators and observed.size < values.size
    return _numeric_statistics(observed, config, name), indicator


def _numeric_statistics(
    observed: np.ndarray, config: PreprocessConfig, name: str
) -> tuple[float, float, float]:
    """Return (center, scale, fill) for one column from its finite training values."""
    with np.errstate(over="ignore", invalid="ignore"):
        if config.scaling == "robust":
            q05, q25, median, q75, q95 = np.percentile(observed, [5, 25, 50, 75, 95])
            center, scale = median, q75 - q25
            if not scale > 0:
                scale = np.std(observed)
            elif observed.size >= FLOOR_MIN_VALUES:
                # A quantised or near-constant column: its middle half may span almost nothing,
                # so one step of its values would count as thousands of spreads and swamp every
                # score. A thirtieth of its 5-95% range is the least unit (benchmarks/README.md).
                scale = max(scale, (q95 - q05) / SCALE_FLOOR_DIVISOR)
        elif config.scaling == "standard":
            center, scale = np.mean(observed), np.std(observed)
        else:
            center, scale = np.min(observed), np.max(observed) - np.min(observed)
        if config.impute == "median":
            fill = np.median(observed)
        elif config.impute == "mean":
            fill = np.mean(observed)
        else:
            fill = 0.0
    if not np.isfinite(center) or not np.isfinite(scale) or not np.isfinite(fill):
        raise DataError(
            f"Column '{name}' has values too large to scale (up to "
            f"{np.max(np.abs(observed)):.3g}). Rescale the column (for example, change its "
            "units) or leave it out."
        )
    # A constant column would divide by zero; 1 keeps it at 0 after centring.
    if scale == 0:
        scale = 1.0
    return float(center), float(scale), float(fill)


def scaling_notes(frame: pd.DataFrame, numeric: tuple[str, ...], config: PreprocessConfig) -> list[str]:
    """Plain-words warnings about numeric columns that scaling cannot make comparable.

    A column with a single value carries no information; a quantised or near-constant one is
    scaled by its standard deviation (said, since it differs from the other columns); and a
    column whose values still reach ``DOMINANT_SPREADS`` scale units from its centre can
    decide most rows' scores on its own. Looks at up to ``NOTE_ROWS`` evenly spaced rows.
    """
    rows = frame
    if len(frame) > NOTE_ROWS:
        rows = frame.iloc[np.linspace(0, len(frame) - 1, NOTE_ROWS).astype(int)]
    notes = []
    for name in numeric:
        try:
            values = _numeric_values(rows[name], name)
        except DataError:
            continue
        observed = values[np.isfinite(values)]
        if observed.size < 2:
            continue
        if np.ptp(observed) == 0:
            notes.append(
                f"Column {_short(name)} holds a single value, {observed[0]:g}: it tells rows apart "
                "in no way. Leave it out of the features."
            )
            continue
        center, scale, _ = _numeric_statistics(observed, config, str(name))
        q25, q75 = np.percentile(observed, [25, 75])
        reach = float(np.max(np.abs(observed - center)) / scale)
        if config.scaling == "robust" and q75 > q25 and scale > q75 - q25:
            notes.append(
                f"Column {_short(name)} is quantised or nearly constant (half its values lie within "
                f"{q75 - q25:g} of each other): it is scaled by a 30th of its 5-95% range, {scale:.3g}, "
                "so that one step of its values does not count as thousands of typical spreads."
            )
        elif reach >= DOMINANT_SPREADS:
            notes.append(
                f"Column {_short(name)} has values up to {reach:,.0f} typical spreads from its middle: "
                "rows with such values will score high mostly because of this column. Check that "
                "they are real, or choose another scaling."
            )
    return notes


def _category_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Factorize ``series`` into integer codes and a label (string) per code.

    Missing values get code -1 and ``labels[-1]`` is always ``MISSING_CATEGORY``, so
    ``labels[codes]`` is the label of every row. Labelling the distinct values rather than
    every row keeps this fast on long columns.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = np.empty(len(uniques) + 1, dtype=object)
    labels[:-1] = [_category_label(value) for value in np.asarray(uniques, dtype=object)]
    labels[-1] = MISSING_CATEGORY
    return codes, labels


def _category_label(value: object) -> str:
    """Spell a categorical value as text, the same way whatever dtype the column was read as."""
    if isinstance(value, str):
        return value if value.strip() else MISSING_CATEGORY
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return MISSING_CATEGORY
        # 3.0 and 3 must be the same category: a column of whole numbers is read as float
        # as soon as it has a missing value, which may differ between training and scoring.
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def _choose_categories(
    codes: np.ndarray, labels: np.ndarray, config: PreprocessConfig
) -> tuple[list[str], bool]:
    """Return the categories to keep (most frequent first) and whether an "(other)" is needed."""
    counts = np.bincount(codes + 1, minlength=len(labels))
    # codes + 1 moves missing (-1) to slot 0; labels[-1] is the missing label.
    totals = pd.Series(counts[1:], index=labels[:-1], dtype=np.int64)
    totals = totals.groupby(level=0, sort=False).sum()
    totals[MISSING_CATEGORY] = totals.get(MISSING_CATEGORY, 0) + counts[0]
    n_rows = int(counts.sum())
    # A real value spelled "(other)" would clash with the pooled column, so it is pooled.
    ranked = sorted(
        (
            (int(count), str(label))
            for label, count in totals.items()
            if count > 0 and label != OTHER_CATEGORY
        ),
        key=lambda item: (-item[0], item[1]),
    )
    kept = [label for count, label in ranked if count >= config.min_category_share * n_rows]
    kept = kept[: config.max_categories]
    n_kept = sum(int(totals[label]) for label in kept)
    return kept, n_kept < n_rows


# ---------------------------------------------------------------------- validation helpers


def _config_from_dict(record: _Record) -> PreprocessConfig:
    """Build a PreprocessConfig from untrusted input, turning any complaint into DataError."""
    fields = set(PreprocessConfig.__dataclass_fields__)
    record.keys(fields)
    try:
        return PreprocessConfig(**{field: record.get(field, object) for field in fields})
    except ValueError as error:
        record.fail(str(error))


class _Record:
    """A dict from an untrusted source, read with checks that raise a DataError naming the path."""

    def __init__(self, data: object, where: str) -> None:
        self.where = where
        if not isinstance(data, dict):
            self.fail(f"expected a mapping, got {type(data).__name__}")
        self.data: dict[str, Any] = data  # type: ignore[assignment]

    def fail(self, problem: str) -> NoReturn:
        raise DataError(
            f"The model bundle's preprocessing settings are malformed ({self.where}: "
            f"{problem.rstrip('.')}). The file may be damaged or written by another version; "
            "train and save the model again."
        )

    def keys(self, expected: set[str], optional: frozenset[str] | set[str] = frozenset()) -> None:
        missing = sorted(expected - set(self.data))
        unknown = sorted(str(key) for key in set(self.data) - expected - set(optional))
        if missing:
            self.fail(f"missing entries {_short(missing)}")
        if unknown:
            self.fail(f"unexpected entries {_short(unknown)}")

    def get(self, key: str, kind: type) -> Any:
        value = self.data[key]
        # bool is an int subclass, but True is never a valid count or name.
        if kind is not bool and kind is not object and isinstance(value, bool):
            self.fail(f"'{key}' has the wrong type (bool)")
        if not isinstance(value, kind):
            self.fail(f"'{key}' must be {kind.__name__}, got {type(value).__name__}")
        return value

    def number(self, key: str) -> float:
        value = self.data[key]
        if not _is_real(value):
            self.fail(f"'{key}' must be a finite number, got {_short(value)}")
        return float(value)

    def child(self, key: str) -> _Record:
        return _Record(self.data[key], key)

    def items(self, key: str) -> list[_Record]:
        values = self.get(key, list)
        return [_Record(value, f"{key}[{i}]") for i, value in enumerate(values)]
