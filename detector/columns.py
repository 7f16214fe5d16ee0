"""Profile a table's columns and guess the role each plays: feature, label, timestamp or ignored."""

from __future__ import annotations

import functools
import os
import re
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

from detector.errors import DataError, counted, quote_cell

try:
    from enum import StrEnum
except ImportError:  # Python 3.10, which pyproject.toml still allows

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


__all__ = [
    "ColumnProfile",
    "ColumnRoles",
    "Role",
    "infer_roles",
    "label_vector",
    "profile_columns",
    "profile_table",
]

#: Expensive checks (date parsing, text lengths) look at this many evenly spaced values.
SAMPLE_SIZE = 2000
#: Number columns up to this long have their distinct values counted exactly. A longer one is
#: first counted in an evenly spaced sample of DISTINCT_SAMPLE_SIZE values, and when the sample
#: alone holds more than MANY_DISTINCT, the profile gives the sample's count as a lower bound
#: (``ColumnProfile.distinct_exact`` is False). Counting a million numbers exactly takes a sort
#: of the whole column, which would double the time a profile takes. The role rules need only
#: small counts and "every value differs" (checked without a sort), so roles are unaffected.
EXACT_DISTINCT_ROWS = 100_000
DISTINCT_SAMPLE_SIZE = 20_000
MANY_DISTINCT = 100
#: Share of sampled text values that must parse as dates for a DATETIME column.
DATETIME_SHARE = 0.95
#: Text with at most this many distinct values (or at most CATEGORY_SHARE of rows) is categorical.
MAX_CATEGORIES = 50
CATEGORY_SHARE = 0.05
#: Text whose values are (nearly) all different: this share of distinct among non-missing values.
UNIQUE_SHARE = 0.95
#: Text whose values mostly hold at least this many words (runs of two or more letters) is free
#: text, read by the text model; other text with too many values for categories is not used.
FREE_TEXT_WORDS = 2

_WARNINGS_LOCK = threading.Lock()

_LABEL_WORDS = frozenset(
    {"label", "labels", "class", "target", "anomaly", "anomalies", "anomalous", "outlier",
     "outliers", "fraud", "fraudulent", "y", "truth", "groundtruth", "diagnosis", "changepoint",
     "changepoints", "fault", "faults", "faulty", "alert", "alerts"}
)  # fmt: skip
_ID_WORDS = frozenset({"id", "uuid", "guid", "key", "index", "idx", "rowid"})

_POSITIVE = frozenset(
    {"1", "1.0", "true", "t", "yes", "y", "anomaly", "anomalous", "abnormal", "outlier", "o",
     "fraud", "fraudulent", "attack", "malicious", "bad", "positive", "pos", "anomalie", "a",
     "malignant"}
)  # fmt: skip
# Value pairs that only ever mean "anomaly or not": a two-valued text column holding one word from
# each set is a label whatever its name (a "yes"/"no" column may well be an ordinary feature).
_ANOMALY_WORDS = frozenset(
    {"anomaly", "anomalous", "abnormal", "outlier", "fraud", "fraudulent", "attack", "malicious",
     "malignant"}
)  # fmt: skip
_NORMAL_WORDS = frozenset({"normal", "inlier", "legit", "legitimate", "genuine", "benign"})
_NEGATIVE = frozenset(
    {"0", "0.0", "false", "f", "no", "normal", "inlier", "n", "legit", "legitimate", "genuine",
     "benign", "good", "negative", "neg", "ok", "clean", "regular"}
)  # fmt: skip


class Role(StrEnum):
    """What a column is for."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    IDENTIFIER = "identifier"
    CONSTANT = "constant"
    TEXT = "text"
    LABEL = "label"


@dataclass(frozen=True)
class ColumnProfile:
    """One column at a glance, with the role guessed for it and why."""

    name: str
    dtype: str
    role: Role
    n_missing: int
    n_distinct: int
    min: object | None
    max: object | None
    note: str
    datetime_format: str | None = None  # the strptime format (or "ISO8601") dates were read with
    #: False when ``n_distinct`` is a lower bound, counted in a sample (see EXACT_DISTINCT_ROWS).
    distinct_exact: bool = True


@dataclass(frozen=True)
class ColumnRoles:
    """Which columns the model uses, and which hold the label and the timestamp."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    label: str | None = None
    timestamp: str | None = None
    #: Free-text columns, read through the pretrained text model (:mod:`detector.text`).
    text: tuple[str, ...] = ()

    @property
    def features(self) -> tuple[str, ...]:
        """The model's input columns: numeric, then categorical, then text."""
        return self.numeric + self.categorical + self.text

    def check(self, frame: pd.DataFrame) -> None:
        """Raise DataError if these roles cannot be used with ``frame``.

        Problems: a named column missing from the frame, a column given two roles, the label
        among the features, or no features at all.
        """
        columns = [str(c) for c in frame.columns]
        present = set(columns)
        named = [*self.features, *(c for c in (self.label, self.timestamp) if c is not None)]
        unknown = [c for c in named if c not in present]
        if unknown:
            raise DataError(
                f"column {unknown[0]!r} is not in the table. Its columns are: "
                f"{_preview(columns, 8)}. Pick columns from that list."
            )
        if self.label is not None and self.label in self.features:
            raise DataError(
                f"the label column {self.label!r} is also a feature. Remove it from the features: "
                "a model that sees the answer learns nothing useful about anomalies."
            )
        seen: dict[str, str] = {}
        for role, names in (
            ("numeric", self.numeric),
            ("categorical", self.categorical),
            ("text", self.text),
            ("label", (self.label,) if self.label else ()),
            ("timestamp", (self.timestamp,) if self.timestamp else ()),
        ):
            for column in names:
                if column in seen:
                    where = "twice" if seen[column] == role else f"as {seen[column]} and {role}"
                    raise DataError(f"column {column!r} is chosen {where}. Give each column one role.")
                seen[column] = role
        if not self.features:
            raise DataError(_no_features_message(frame, exclude=(self.label, self.timestamp)))


def profile_columns(frame: pd.DataFrame) -> list[ColumnProfile]:
    """Describe each column and guess its role.

    Rules, in order:

    1. All values missing, or a single distinct value -> CONSTANT (nothing to learn).
    2. Two distinct values and a name that reads like a label (a word such as label, class,
       target, anomaly, outlier, fraud, y, ground_truth, or an ``is_*`` / ``isX`` name;
       case-insensitive, matched on the name's words) -> LABEL.
    3. Datetime dtype -> DATETIME.
    4. Numbers (not bool): whole numbers that are unique per row and monotone, or whose name is
       id / *_id / uuid / key / index -> IDENTIFIER; otherwise NUMERIC.
    5. Bool -> CATEGORICAL.
    6. Text that parses as dates for at least 95% of a sample of its non-missing values (one
       consistent format, or ISO 8601) -> DATETIME.
    7. Text with (nearly, >= 95%) all values different -> TEXT if most values hold at least
       two words (free text), else IDENTIFIER.
    8. Text with at most 50 distinct values, or distinct values at most 5% of rows
       -> CATEGORICAL.
    9. Anything else -> TEXT if free text, else IDENTIFIER (codes with too many values for
       categories; not used).

    TEXT columns are features when the text model is installed (:func:`infer_roles`).

    Expensive checks use an evenly spaced sample of :data:`SAMPLE_SIZE` values, so a million
    rows take well under a second per column.
    """
    columns = [(str(name), frame[name]) for name in frame.columns]
    # numpy, pyarrow and pandas' hashing free the GIL, so columns are profiled side by side on
    # every core; text columns, the slowest, go first.
    order = sorted(range(len(columns)), key=lambda i: _is_number(columns[i][1]))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = {i: pool.submit(_profile, *columns[i]) for i in order}
        return [jobs[i].result() for i in range(len(columns))]


def profile_table(profiles: list[ColumnProfile]) -> pd.DataFrame:
    """The profiles as a display table, one row per column.

    Distinct counts, min and max are text: min/max mix numbers and dates, and a distinct count
    taken in a sample reads "≥ 19,874".
    """
    return pd.DataFrame(
        {
            "column": [p.name for p in profiles],
            "role": [str(p.role) for p in profiles],
            "type": [p.dtype for p in profiles],
            "missing": [p.n_missing for p in profiles],
            "distinct": [
                f"{p.n_distinct:,}" if p.distinct_exact else f"≥ {p.n_distinct:,}" for p in profiles
            ],
            "min": [_display(p.min) for p in profiles],
            "max": [_display(p.max) for p in profiles],
            "note": [p.note for p in profiles],
        }
    )


def infer_roles(
    frame: pd.DataFrame, profiles: list[ColumnProfile] | None = None, *, text: bool | None = None
) -> ColumnRoles:
    """Default roles from the profiles: features by role, the first label and datetime columns.

    Free-text columns are features when ``text`` is True; None (the default) means "when the
    text model is installed" (:func:`detector.text.available`).
    """
    from detector import text as text_model

    profiles = profile_columns(frame) if profiles is None else profiles
    use_text = text_model.available() if text is None else text
    by_role: dict[Role, list[str]] = {role: [] for role in Role}
    for p in profiles:
        by_role[p.role].append(p.name)
    return ColumnRoles(
        numeric=tuple(by_role[Role.NUMERIC]),
        categorical=tuple(by_role[Role.CATEGORICAL]),
        label=next(iter(by_role[Role.LABEL]), None),
        timestamp=next(iter(by_role[Role.DATETIME]), None),
        text=tuple(by_role[Role.TEXT]) if use_text else (),
    )


def label_vector(series: pd.Series) -> np.ndarray:
    """Map a two-valued label column to int8, 1 = anomaly.

    Recognised spellings (case and spaces ignored): 1/0, true/false, yes/no, t/f, y/n,
    anomaly/normal, outlier/inlier, fraud/legit, attack/benign, o/n and similar. When only one of
    the two values is recognised, the other takes the opposite meaning. When neither is, the
    rarer value is the anomaly (the larger one in sorted order on a tie). A column holding a
    single recognised value maps to all 0 or all 1.

    Raises
    ------
    DataError
        If the column has missing values, more than two distinct values, or a single value that
        says nothing about anomalies.
    """
    name = series.name
    missing = series.isna().to_numpy()
    if missing.any():
        first = int(missing.argmax())
        raise DataError(
            f"the label column {name!r} has {counted(int(missing.sum()), 'missing value')} (first at row "
            f"{first + 1}). Fill them in, or choose no label column."
        )
    codes, uniques = pd.factorize(series, sort=False)
    # Spellings such as "Yes"/"yes " are one value, so count values after normalising them.
    keys = [_label_key(u) for u in uniques[:10]]
    distinct = sorted(set(keys), key=_natural_key)
    if len(uniques) > 10 or len(distinct) > 2:
        raise DataError(
            f"the label column {name!r} has {len(uniques)} different values "
            f"({_preview([str(u) for u in uniques[:5]], 4)}). A label needs exactly two, such as "
            "0/1 or normal/anomaly; choose another column or recode it."
        )
    per_code = np.bincount(codes, minlength=len(uniques))
    counts = {k: int(per_code[[key == k for key in keys]].sum()) for k in distinct}
    anomaly = _anomaly_value(distinct, counts, name)
    is_anomaly = np.array([key == anomaly for key in keys], dtype=bool)
    return is_anomaly[codes].astype(np.int8)


def _label_key(value: object) -> str:
    """Normalise one label value for recognition: True -> "1", 1.0 -> "1", " Yes" -> "yes"."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | float | np.number) and float(value).is_integer():
        return str(int(value))
    return str(value).strip().lower()


# --- helpers ----------------------------------------------------------------------------------


def _profile(name: str, series: pd.Series) -> ColumnProfile:
    n_rows = len(series)
    dtype = str(series.dtype)
    distinct_exact = True

    def make(role: Role, note: str, low=None, high=None, fmt=None) -> ColumnProfile:
        return ColumnProfile(name, dtype, role, n_missing, n_distinct, low, high, note, fmt, distinct_exact)

    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "iuf":
        # numpy directly: pandas' isna/dropna/min/max cost more than the numbers themselves.
        n_missing, values, low, high = _number_summary(series.to_numpy())
        valid = series if n_missing == 0 else pd.Series(values, copy=False)  # values is a new array
        if len(values) == 0:
            n_distinct = 0
            return make(Role.CONSTANT, "every value is missing; not used")
        n_distinct, distinct_exact = _count_distinct_numbers(valid)
        # Only floats can be infinite; such a column has nothing to scale and would stop training.
        if not (np.isfinite(low) and np.isfinite(high)) and not np.isfinite(values).any():
            return make(Role.CONSTANT, "no finite values (all missing or infinite); not used", low, high)
    else:
        n_missing = int(series.isna().sum())
        if n_missing == n_rows:
            n_distinct = 0
            return make(Role.CONSTANT, "every value is missing; not used")
        valid = series.dropna() if n_missing else series
        try:
            n_distinct = int(valid.nunique(dropna=True))
        except TypeError:  # unhashable cells (lists from Parquet)
            series = series.astype(str).where(series.notna())
            valid = series.dropna()
            n_distinct = int(valid.nunique(dropna=True))
        low, high = _min_max(valid)
    if n_distinct == 1:
        value = valid.iloc[0]
        return make(Role.CONSTANT, f"every value is {_short(value)}; not used", low, high)
    if n_distinct == 2 and (_looks_like_label(name) or _holds_label_words(series)):
        return make(Role.LABEL, "two values and a name like a label; used to evaluate", low, high)
    if pd.api.types.is_datetime64_any_dtype(series):
        return make(Role.DATETIME, "dates and times", low, high)
    if pd.api.types.is_bool_dtype(series):
        return make(Role.CATEGORICAL, "true/false values", low, high)
    if _is_number(series):
        if _looks_like_id(name) and _all_whole(valid):
            return make(Role.IDENTIFIER, "whole numbers named like an id; not used", low, high)
        if (
            n_distinct == n_rows
            and (valid.is_monotonic_increasing or valid.is_monotonic_decreasing)
            and _all_whole(valid)
        ):
            return make(Role.IDENTIFIER, "unique, ordered whole numbers: a row number", low, high)
        return make(Role.NUMERIC, "numbers" + _label_hint(name, n_distinct), low, high)
    text = valid.astype(str)
    sample = _sample(text)
    parsed, fmt = _parse_dates(sample)
    if parsed is not None:
        dates = _to_datetime(text, fmt)
        share = float(parsed.notna().mean())
        return make(
            Role.DATETIME,
            f"{share:.0%} of values read as dates ({fmt})",
            dates.min(),
            dates.max(),
            fmt,
        )
    if n_distinct > 2 and n_distinct >= UNIQUE_SHARE * (n_rows - n_missing):
        if _is_free_text(sample):
            return make(Role.TEXT, _text_note(sample))
        return make(Role.IDENTIFIER, "a different value on (nearly) every row; not used")
    if n_distinct <= MAX_CATEGORIES or n_distinct <= CATEGORY_SHARE * n_rows:
        return make(Role.CATEGORICAL, f"{n_distinct} categories" + _label_hint(name, n_distinct))
    if _is_free_text(sample):
        return make(Role.TEXT, _text_note(sample))
    return make(
        Role.IDENTIFIER, f"{n_distinct} different codes, too many for categories and not words; not used"
    )


def _is_free_text(sample: pd.Series) -> bool:
    """Whether most values hold several words (a message, a description), not one code each."""
    words = sample.str.count(r"[^\W\d_]{2,}")
    return float((words >= FREE_TEXT_WORDS).mean()) > 0.5


def _text_note(sample: pd.Series) -> str:
    words = float(sample.str.count(r"\S+").mean())
    return f"free text ({words:.0f} words on average)"


def _number_summary(values: np.ndarray) -> tuple[int, np.ndarray, object, object]:
    """(missing count, the non-missing values, min, max) of a number column in few passes."""
    if values.dtype.kind == "f":
        low = values.min() if len(values) else np.nan
        if np.isnan(low):  # a NaN carries through min, so only then look for them
            missing = np.isnan(values)
            n_missing = int(np.count_nonzero(missing))
            values = values[~missing]
            if len(values) == 0:
                return n_missing, values, None, None
            return n_missing, values, values.min().item(), values.max().item()
        return 0, values, low.item(), values.max().item()
    if len(values) == 0:
        return 0, values, None, None
    return 0, values, values.min().item(), values.max().item()


def _count_distinct_numbers(valid: pd.Series) -> tuple[int, bool]:
    """The number of distinct values (0.0 and -0.0 are one, as in pandas) and whether it is exact.

    See :data:`EXACT_DISTINCT_ROWS` for when the count is a lower bound.
    """
    values = valid.to_numpy()
    if len(values) > EXACT_DISTINCT_ROWS:
        in_sample = _sorted_distinct(np.sort(values[_sample_positions(len(values), DISTINCT_SAMPLE_SIZE)]))
        if in_sample > MANY_DISTINCT:
            if valid.is_monotonic_increasing or valid.is_monotonic_decreasing:
                return _sorted_distinct(values), True  # already in order: no sort needed
            return in_sample, False
    # Sorting a million numbers is a few times faster than hashing them, and frees the GIL.
    return _sorted_distinct(np.sort(values)), True


def _sorted_distinct(values: np.ndarray) -> int:
    """The number of distinct values in a sorted (or reverse-sorted) array."""
    return int(len(values) and 1 + np.count_nonzero(values[1:] != values[:-1]))


def _no_features_message(frame: pd.DataFrame, exclude: tuple[str | None, ...]) -> str:
    """Say that no feature is chosen and, when no column looks usable, why each one is not."""
    profiles = profile_columns(frame)
    candidates = [
        p.name for p in profiles if p.role in (Role.NUMERIC, Role.CATEGORICAL) and p.name not in exclude
    ]
    if candidates:
        return (
            "no feature columns are selected. Pick at least one numeric or categorical column "
            f"such as {_preview(candidates, 3)} for the model to learn from."
        )
    if len(frame) < 2:
        rows = "only 1 row" if len(frame) else "no rows"
        return (
            f"no feature columns can be found: the table has {rows}, so no column's values "
            "vary. The model learns from many rows; add rows to the file."
        )
    reasons = [f"{p.name!r} ({p.note.removesuffix('; not used')})" for p in profiles[:5]]
    more = f" and {len(profiles) - 5} more" if len(profiles) > 5 else ""
    return (
        "no feature columns are selected, and no column of this table looks usable as one: "
        f"{', '.join(reasons)}{more}. The model needs at least one column of numbers or "
        "categories whose values vary between rows; add one to the file, or choose a column "
        "yourself if one was misread."
    )


def _label_hint(name: str, n_distinct: int) -> str:
    """A note for a column named like a label that cannot be one (it has more than two values)."""
    if 2 < n_distinct <= 10 and _looks_like_label(name):
        return f"; named like a label, but a label needs exactly two values, not {n_distinct}"
    return ""


def _words(name: str) -> list[str]:
    """Split a column name into lower-case words: 'isFraud' -> ['is', 'fraud']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^0-9a-zA-Z]+", spaced.lower()) if w]


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _all_whole(valid: pd.Series) -> bool:
    """Whether every (non-missing) number is a whole number; a sample settles most columns."""
    if valid.dtype.kind in "iu":
        return True
    values = valid.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        if not np.all(np.mod(values[_sample_positions(len(values))], 1) == 0):
            return False
        return bool(np.all(np.mod(values, 1) == 0))


def _holds_label_words(series: pd.Series) -> bool:
    """Whether a two-valued column reads like anomaly/normal (e.g. malignant/benign, fraud/legit)."""
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    values = {str(v).strip().lower() for v in series.dropna().unique()[:3]}
    return bool(values & _ANOMALY_WORDS) and bool(values & _NORMAL_WORDS)


def _looks_like_label(name: str) -> bool:
    words = _words(name)
    if not words:
        return False
    joined = "".join(words)
    return (
        bool(_LABEL_WORDS.intersection(words))
        or joined in ("groundtruth", "changepoint", "changepoints")
        or (words[0] == "is" and len(words) > 1)
    )


def _looks_like_id(name: str) -> bool:
    words = _words(name)
    return bool(words) and (words[-1] in _ID_WORDS or words[0] in ("id", "uuid"))


def _sample(values: pd.Series) -> pd.Series:
    """Evenly spaced values: deterministic and spread over the whole column."""
    if len(values) <= SAMPLE_SIZE:
        return values
    return values.iloc[_sample_positions(len(values))]


@functools.lru_cache(maxsize=16)
def _sample_positions(n: int, size: int = SAMPLE_SIZE) -> np.ndarray:
    """``size`` evenly spaced positions out of ``n`` (all of them if fewer); read-only, cached."""
    positions = np.unique(np.linspace(0, n - 1, min(n, size)).astype(np.int64))
    positions.flags.writeable = False
    return positions


def _parse_dates(sample: pd.Series) -> tuple[pd.Series | None, str | None]:
    """Parse a text sample as dates in one consistent format; (None, None) if it does not."""
    from pandas.tseries.api import guess_datetime_format

    # Numbers that happen to fit a date format (20210304, 1.5) are numbers, not dates.
    if not sample.str.contains(r"[-/:.\s]\d|[A-Za-z]{3}", regex=True).mean() >= DATETIME_SHARE:
        return None, None
    formats: list[str] = []
    for value in sample.head(5):
        for dayfirst in (False, True):
            fmt = guess_datetime_format(str(value).strip(), dayfirst=dayfirst)
            if fmt and fmt not in formats:
                formats.append(fmt)
    for fmt in [*formats, "ISO8601"]:
        parsed = _to_datetime(sample, fmt)
        if parsed.notna().mean() >= DATETIME_SHARE:
            return parsed, fmt
    return None, None


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    # Warnings filters are process-wide: one thread at a time changes them.
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(values.str.strip(), format=fmt, errors="coerce", utc=_has_tz(fmt))
        except (ValueError, TypeError, OverflowError):
            return pd.Series(pd.NaT, index=values.index)


def _has_tz(fmt: str) -> bool:
    # Mixed offsets cannot share one column unless converted to UTC.
    return "%z" in fmt or "%Z" in fmt or fmt == "ISO8601"


def _min_max(valid: pd.Series) -> tuple[object | None, object | None]:
    """The smallest and largest of the (non-missing) values, for date columns and number columns
    of extension types (numpy number columns go through :func:`_number_summary`)."""
    if pd.api.types.is_bool_dtype(valid) or not (
        pd.api.types.is_numeric_dtype(valid) or pd.api.types.is_datetime64_any_dtype(valid)
    ):
        return None, None
    low, high = valid.min(), valid.max()
    return (low.item() if hasattr(low, "item") else low), (high.item() if hasattr(high, "item") else high)


def _anomaly_value(distinct: list[str], counts: dict[str, int], name: object) -> str | None:
    """Which of the (one or two) label values means "anomaly"; None when no value does."""
    positive = [v for v in distinct if v in _POSITIVE]
    negative = [v for v in distinct if v in _NEGATIVE]
    if len(distinct) == 1:
        (value,) = distinct
        if value in _POSITIVE:
            return value
        if value in _NEGATIVE:
            return None
        raise DataError(
            f"the label column {name!r} holds only the value {quote_cell(value)}, so it cannot tell "
            "anomalies from normal rows. Choose another label column or none."
        )
    if len(positive) == 1 and positive[0] not in negative:
        return positive[0]
    if len(negative) == 1:
        return next(v for v in distinct if v != negative[0])
    # Nothing recognised: anomalies are the rare case.
    first, second = distinct
    return first if counts[first] < counts[second] else second


def _natural_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _preview(values: list[str], k: int) -> str:
    shown = ", ".join(quote_cell(v) for v in values[:k])
    return shown + (", ..." if len(values) > k else "")


def _short(value: object, width: int = 40) -> str:
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _display(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
