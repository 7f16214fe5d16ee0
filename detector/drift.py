"""Is new data within what a model was trained on? Per-column range and shift checks, and a verdict.

A model has learned what its training rows look like; on rows unlike any of them its flags
mostly say "different from training", not "anomalous". :func:`check_drift` compares a table
with the training rows, column by column:

- numeric columns: the share of values below the training minimum and above its maximum, the
  shift of the median in training spreads (the robust scale the model itself uses), and the
  ratio of spreads;
- categorical columns: the share of values in categories never seen in training;
- every column: the share missing, against the share missing in training;

and for the whole table, the share of rows flagged against the share the model expects (its
``contamination``). :attr:`DriftReport.out_of_depth` says when the flags should not be read as
they stand, and :meth:`DriftReport.headline` says why in one sentence.

The training side is a :class:`TrainingProfile` that table detectors record when fitted and
store in bundles. Bundles saved before it existed carry none: their checks use the
preprocessing's medians and spreads, and cannot check ranges or missing shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from detector.errors import DataError
from detector.thresholds import flag

if TYPE_CHECKING:
    from detector.base import BaseDetector

# A column is "mostly outside" training when at least this share of its values is.
MOSTLY_OUTSIDE = 0.5
# A column has "drifted" when this share of its values lies outside the training range, its
# median moved by this many training spreads, or this share of its values are unseen categories.
OUTSIDE_SHARE = 0.05
MEDIAN_SHIFT = 3.0
UNSEEN_SHARE = 0.05
MISSING_CHANGE = 0.2
# Flagging this many times the expected share (and at least FLAGGED_EXTRA more) is a warning.
FLAGGED_RATIO = 3.0
# Flagging at least this share of rows is never read as it stands.
MOSTLY_FLAGGED = 0.5
FLAGGED_EXTRA = 0.1
# Categories kept per column in the training profile.
MAX_CATEGORIES = 1_000
# Values per column kept for medians and spreads when a file is checked a chunk at a time.
_SAMPLE_PER_COLUMN = 50_000


# --------------------------------------------------------------------------- the training side


@dataclass(frozen=True)
class ColumnProfile:
    """One feature column of the training rows."""

    name: str
    kind: str  # "numeric" or "categorical"
    missing: float  # share of training rows missing it
    minimum: float | None = None
    maximum: float | None = None
    categories: tuple[str, ...] = ()
    more_categories: bool = False  # more than MAX_CATEGORIES were seen; "unseen" is not checked

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "missing": self.missing,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "categories": list(self.categories),
            "more_categories": self.more_categories,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ColumnProfile:
        if not isinstance(data, dict) or data.get("kind") not in ("numeric", "categorical"):
            raise DataError("The bundle's training profile is malformed.")
        categories = data.get("categories", [])
        if (
            not isinstance(categories, list)
            or len(categories) > MAX_CATEGORIES
            or not all(isinstance(c, str) for c in categories)
        ):
            raise DataError("The bundle's training profile lists its categories wrongly.")
        return cls(
            name=_text(data.get("name")),
            kind=data["kind"],
            missing=_share(data.get("missing")),
            minimum=_optional_number(data.get("minimum")),
            maximum=_optional_number(data.get("maximum")),
            categories=tuple(categories),
            more_categories=bool(data.get("more_categories", False)),
        )


@dataclass(frozen=True)
class TrainingProfile:
    """What a model's training rows looked like, column by column (for :func:`check_drift`)."""

    columns: tuple[ColumnProfile, ...]
    n_rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"n_rows": self.n_rows, "columns": [column.to_dict() for column in self.columns]}

    @classmethod
    def from_dict(cls, data: Any) -> TrainingProfile:
        if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
            raise DataError("The bundle's training profile is malformed.")
        n_rows = data.get("n_rows")
        if not isinstance(n_rows, int) or n_rows < 0:
            raise DataError("The bundle's training profile has no valid row count.")
        return cls(columns=tuple(ColumnProfile.from_dict(c) for c in data["columns"]), n_rows=n_rows)


def profile_training(
    frame: pd.DataFrame, numeric: tuple[str, ...], categorical: tuple[str, ...]
) -> TrainingProfile:
    """Summarise the training rows' feature columns (ranges, missing shares, categories)."""
    from detector.preprocessing import _category_codes

    columns = []
    for name in numeric:
        values = _numbers(frame[name])
        finite = values[np.isfinite(values)]
        columns.append(
            ColumnProfile(
                name=name,
                kind="numeric",
                missing=float(np.mean(~np.isfinite(values))) if len(values) else 0.0,
                minimum=float(finite.min()) if finite.size else None,
                maximum=float(finite.max()) if finite.size else None,
            )
        )
    for name in categorical:
        codes, labels = _category_codes(frame[name])
        seen = sorted({str(label) for label in labels[:-1][np.unique(codes[codes >= 0])]})
        columns.append(
            ColumnProfile(
                name=name,
                kind="categorical",
                missing=float(np.mean(codes < 0)) if len(codes) else 0.0,
                categories=tuple(seen[:MAX_CATEGORIES]),
                more_categories=len(seen) > MAX_CATEGORIES,
            )
        )
    return TrainingProfile(columns=tuple(columns), n_rows=len(frame))


# --------------------------------------------------------------------------- the check


@dataclass(frozen=True)
class ColumnDrift:
    """How one feature column of new rows compares with the training rows."""

    name: str
    kind: str
    n_values: int  # non-missing values in the new rows
    below: float | None = None  # share of values below the training minimum (None: unknown)
    above: float | None = None
    median_shift: float | None = None  # in training spreads, signed
    spread_ratio: float | None = None
    unseen: float | None = None  # share of values in categories never seen in training
    unseen_examples: tuple[str, ...] = ()
    missing: float = 0.0
    missing_in_training: float | None = None

    @property
    def outside(self) -> float:
        """Share of values outside what training saw: beyond its range, in an unseen category, or
        (text) farther from the training texts than any of them."""
        return (self.below or 0.0) + (self.above or 0.0) if self.kind == "numeric" else (self.unseen or 0.0)

    @property
    def mostly_outside(self) -> bool:
        return self.n_values > 0 and self.outside >= MOSTLY_OUTSIDE

    @property
    def drifted(self) -> bool:
        missing_change = (
            self.missing_in_training is not None
            and abs(self.missing - self.missing_in_training) >= MISSING_CHANGE
        )
        return (
            self.outside >= (OUTSIDE_SHARE if self.kind == "numeric" else UNSEEN_SHARE)
            or (self.median_shift is not None and abs(self.median_shift) >= MEDIAN_SHIFT)
            or missing_change
        )

    def describe(self) -> str:
        """ "Pressure: 97% of values above the training maximum", or the largest change seen."""
        parts = []
        if self.kind == "numeric":
            for share, where in (
                (self.above, "above the training maximum"),
                (self.below, "below the training minimum"),
            ):
                if share:
                    parts.append(f"{_percent(share)} of values {where}")
            if self.median_shift is not None and abs(self.median_shift) >= MEDIAN_SHIFT:
                direction = "up" if self.median_shift > 0 else "down"
                parts.append(f"median moved {direction} by {abs(self.median_shift):,.1f} training spreads")
        elif self.unseen and self.kind == "text":
            examples = ", ".join(repr(e[:40]) for e in self.unseen_examples[:3])
            parts.append(f"{_percent(self.unseen)} of texts unlike any training text ({examples})")
        elif self.unseen:
            examples = ", ".join(repr(e[:40]) for e in self.unseen_examples[:3])
            parts.append(
                f"{_percent(self.unseen)} of values in categories never seen in training ({examples})"
            )
        if (
            self.missing_in_training is not None
            and abs(self.missing - self.missing_in_training) >= MISSING_CHANGE
        ):
            parts.append(f"{_percent(self.missing)} missing (training: {_percent(self.missing_in_training)})")
        return f"{self.name}: " + ("; ".join(parts) if parts else "within the training range")

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.name,
            "kind": self.kind,
            "values": self.n_values,
            "below_training_min": self.below,
            "above_training_max": self.above,
            "median_shift_in_spreads": self.median_shift,
            "spread_ratio": self.spread_ratio,
            "unseen_categories": self.unseen,
            "unseen_examples": list(self.unseen_examples),
            "missing": self.missing,
            "missing_in_training": self.missing_in_training,
            "mostly_outside": self.mostly_outside,
            "drifted": self.drifted,
        }


@dataclass(frozen=True)
class DriftReport:
    """A table against a model's training rows: every feature column, and the share flagged."""

    columns: tuple[ColumnDrift, ...]
    n_rows: int
    flagged_share: float | None = None
    expected_share: float | None = None
    ranges_known: bool = True

    @property
    def mostly_outside(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.columns if c.mostly_outside)

    @property
    def drifted(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.columns if c.drifted)

    @property
    def flags_too_many(self) -> bool:
        """Whether far more rows are flagged than the model expects."""
        if self.flagged_share is None or self.expected_share is None:
            return False
        return (
            self.flagged_share >= FLAGGED_RATIO * self.expected_share
            and self.flagged_share >= self.expected_share + FLAGGED_EXTRA
        )

    @property
    def flags_most(self) -> bool:
        """Whether at least half the rows are flagged, whatever the model expects."""
        return self.flagged_share is not None and self.flagged_share >= MOSTLY_FLAGGED

    @property
    def out_of_depth(self) -> bool:
        """Whether the flags on this table should not be read as they stand."""
        return bool(self.mostly_outside) or (self.flags_too_many and bool(self.drifted)) or self.flags_most

    @property
    def worth_saying(self) -> bool:
        return self.out_of_depth or bool(self.drifted) or self.flags_too_many

    def headline(self) -> str:
        """One or two sentences for a banner or a warning line."""
        n = len(self.columns)
        sentences = []
        outside = sorted(self.mostly_outside, key=lambda c: -c.outside)
        drifted = sorted(self.drifted, key=lambda c: -c.outside)
        if outside:
            sentences.append(
                f"{len(outside)} of {n} {_plural(n, 'column')} {'is' if len(outside) == 1 else 'are'} "
                f"mostly outside what the model was trained on ({outside[0].describe()})."
            )
        elif drifted:
            sentences.append(
                f"{len(drifted)} of {n} {_plural(n, 'column')} differ from what the model was trained on "
                f"({drifted[0].describe()})."
            )
        if self.expected_share is not None and (self.flags_too_many or self.flags_most):
            sentences.append(
                f"The model flags {_percent(self.flagged_share)} of the rows; it expects about "
                f"{_percent(self.expected_share)}."
            )
        if self.out_of_depth:
            sentences.append("Flags on this file mostly mean 'different from training', not 'anomalous'.")
        return " ".join(sentences)

    def with_flags(self, scores: np.ndarray, threshold: float, expected: float | None) -> DriftReport:
        """This report with the share of ``scores`` above ``threshold`` against ``expected``."""
        n_scored = int(np.isfinite(np.asarray(scores, dtype=float)).sum())
        share = int(flag(scores, threshold).sum()) / n_scored if n_scored else None
        return replace(self, flagged_share=share, expected_share=expected if share is not None else None)

    def advice(self) -> str:
        return (
            "Retrain on this file's normal part (or on both files), or treat the change itself as "
            "the finding."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.n_rows,
            "out_of_depth": self.out_of_depth,
            "headline": self.headline() if self.worth_saying else "",
            "flagged_share": self.flagged_share,
            "expected_share": self.expected_share,
            "ranges_known": self.ranges_known,
            "columns": [column.to_dict() for column in self.columns],
        }

    def table(self) -> pd.DataFrame:
        """One row per column, for a page: what moved and by how much."""
        rows = []
        for c in self.columns:
            rows.append(
                {
                    "column": c.name,
                    "outside training (%)": None
                    if c.kind == "numeric" and c.below is None
                    else 100 * c.outside,
                    "median shift (spreads)": c.median_shift,
                    "missing (%)": 100 * c.missing,
                    "missing in training (%)": None
                    if c.missing_in_training is None
                    else 100 * c.missing_in_training,
                    "verdict": "mostly outside" if c.mostly_outside else "changed" if c.drifted else "ok",
                }
            )
        return pd.DataFrame(rows)


def check_drift(
    detector: BaseDetector,
    frame: pd.DataFrame,
    *,
    scores: np.ndarray | None = None,
    threshold: float | None = None,
) -> DriftReport:
    """Compare ``frame`` (rows to score) with what ``detector`` was trained on.

    ``scores`` (``detector``'s scores of ``frame``) and ``threshold`` add the share flagged
    against the share expected. Works for any table detector; a detector without column
    statistics (not a table detector) gets a report without columns.
    """
    accumulator = DriftAccumulator(detector)
    accumulator.add(frame, scores=scores, threshold=threshold)
    return accumulator.report()


class DriftAccumulator:
    """:func:`check_drift` over a file read a chunk at a time: call :meth:`add` per chunk.

    Counts are exact; medians and spreads come from a uniform sample of each column's values
    (50,000 at most, seeded), so a file of any size costs bounded memory.
    """

    def __init__(self, detector: BaseDetector, seed: int = 0, sample_size: int = _SAMPLE_PER_COLUMN) -> None:
        self._sample_size = int(sample_size)
        self._profile: TrainingProfile | None = getattr(detector, "training_profile_", None)
        preprocessor = getattr(detector, "preprocessor_", None)
        self._numeric = list(getattr(preprocessor, "numeric", ()) or ())
        self._categorical = list(getattr(preprocessor, "categorical", ()) or ())
        self._texts = list(getattr(preprocessor, "texts_", ()) or ())
        self._center = dict(zip(self._numeric, getattr(preprocessor, "center_", ()), strict=False))
        self._scale = dict(zip(self._numeric, getattr(preprocessor, "scale_", ()), strict=False))
        self._expected = getattr(detector, "contamination", None)
        profiles = {c.name: c for c in self._profile.columns} if self._profile is not None else {}
        self._profiles = profiles
        self._rng = np.random.default_rng(seed)
        self._n_rows = 0
        self._n_flagged = 0
        self._n_scored = 0
        self._counts: dict[str, dict[str, int]] = {
            name: {"values": 0, "below": 0, "above": 0, "missing": 0, "unseen": 0}
            for name in [*self._numeric, *self._categorical, *(t.name for t in self._texts)]
        }
        self._samples: dict[str, list[np.ndarray]] = {name: [] for name in self._numeric}
        self._keys: dict[str, np.ndarray] = {name: np.empty(0) for name in self._numeric}
        self._unseen: dict[str, dict[str, int]] = {
            name: {} for name in [*self._categorical, *(t.name for t in self._texts)]
        }

    def add(
        self, frame: pd.DataFrame, *, scores: np.ndarray | None = None, threshold: float | None = None
    ) -> None:
        self._n_rows += len(frame)
        if scores is not None and threshold is not None:
            values = np.asarray(scores, dtype=float)
            finite = np.isfinite(values)
            self._n_scored += int(finite.sum())
            self._n_flagged += int(flag(values, threshold).sum())
        for name in self._numeric:
            if name not in frame.columns:
                continue
            values = _numbers(frame[name])
            counts = self._counts[name]
            finite = values[np.isfinite(values)]
            counts["missing"] += int(len(values) - finite.size)
            counts["values"] += int(finite.size)
            profile = self._profiles.get(name)
            if profile is not None and profile.minimum is not None and profile.maximum is not None:
                counts["below"] += int(np.count_nonzero(finite < profile.minimum))
                counts["above"] += int(np.count_nonzero(finite > profile.maximum))
            self._keep_sample(name, finite)
        if self._categorical:
            from detector.preprocessing import _category_codes

            for name in self._categorical:
                if name not in frame.columns:
                    continue
                codes, labels = _category_codes(frame[name])
                counts = self._counts[name]
                present = codes >= 0
                counts["missing"] += int(np.count_nonzero(~present))
                counts["values"] += int(np.count_nonzero(present))
                profile = self._profiles.get(name)
                if profile is None or profile.more_categories:
                    continue
                known = set(profile.categories)
                per_code = np.bincount(codes[present], minlength=len(labels) - 1)
                for code, label in enumerate(labels[:-1]):
                    if per_code[code] and str(label) not in known:
                        counts["unseen"] += int(per_code[code])
                        unseen = self._unseen[name]
                        if len(unseen) < 20 or str(label) in unseen:
                            unseen[str(label)] = unseen.get(str(label), 0) + int(per_code[code])
        for features in self._texts:
            if features.name not in frame.columns:
                continue
            distance, texts = features.novelty(frame[features.name])
            counts = self._counts[features.name]
            present = ~np.isnan(distance)
            counts["missing"] += int(np.count_nonzero(~present))
            counts["values"] += int(np.count_nonzero(present))
            # A little slack: float32 embeddings round differently in another batch.
            beyond = np.flatnonzero(present & (distance > features.novelty_max * 1.001 + 1e-9))
            counts["unseen"] += int(beyond.size)
            unseen = self._unseen[features.name]
            for text in texts[beyond[:20]]:
                if len(unseen) < 20 or text in unseen:
                    unseen[text] = unseen.get(text, 0) + 1

    def merge(self, other: DriftAccumulator) -> None:
        """Add what ``other`` (an accumulator for the same detector, over other rows) has seen."""
        self._n_rows += other._n_rows
        self._n_flagged += other._n_flagged
        self._n_scored += other._n_scored
        for name, counts in other._counts.items():
            mine = self._counts.setdefault(name, dict.fromkeys(counts, 0))
            for key, value in counts.items():
                mine[key] += value
        self._sample_size = max(self._sample_size, _SAMPLE_PER_COLUMN)  # a file's sample, not a chunk's
        for name in self._numeric:
            for sample in other._samples.get(name, []):
                self._keep_sample(name, sample)
        for name, unseen in other._unseen.items():
            mine = self._unseen.setdefault(name, {})
            for label, count in unseen.items():
                if len(mine) < 20 or label in mine:
                    mine[label] = mine.get(label, 0) + count

    def _keep_sample(self, name: str, values: np.ndarray) -> None:
        if not values.size:
            return
        keys = np.concatenate([self._keys[name], self._rng.random(values.size)])
        kept = np.concatenate([*self._samples[name], values])
        if kept.size > self._sample_size:
            best = np.argpartition(keys, self._sample_size - 1)[: self._sample_size]
            kept, keys = kept[best], keys[best]
        self._samples[name], self._keys[name] = [kept], keys

    def report(self) -> DriftReport:
        columns = []
        ranges_known = self._profile is not None
        for name in self._numeric:
            counts = self._counts[name]
            n_values, total = counts["values"], counts["values"] + counts["missing"]
            profile = self._profiles.get(name)
            sample = self._samples[name][0] if self._samples[name] else np.empty(0)
            center, scale = self._center.get(name), self._scale.get(name)
            shift = ratio = None
            if sample.size and center is not None and scale and math.isfinite(scale):
                shift = float((np.median(sample) - center) / scale)
                q25, q75 = np.percentile(sample, [25, 75])
                ratio = float((q75 - q25) / scale) if scale > 0 else None
            known = profile is not None and profile.minimum is not None
            columns.append(
                ColumnDrift(
                    name=name,
                    kind="numeric",
                    n_values=n_values,
                    below=counts["below"] / n_values if known and n_values else (0.0 if known else None),
                    above=counts["above"] / n_values if known and n_values else (0.0 if known else None),
                    median_shift=shift,
                    spread_ratio=ratio,
                    missing=counts["missing"] / total if total else 0.0,
                    missing_in_training=profile.missing if profile is not None else None,
                )
            )
        for name in self._categorical:
            counts = self._counts[name]
            n_values, total = counts["values"], counts["values"] + counts["missing"]
            profile = self._profiles.get(name)
            checked = profile is not None and not profile.more_categories
            unseen = sorted(self._unseen[name].items(), key=lambda item: -item[1])
            columns.append(
                ColumnDrift(
                    name=name,
                    kind="categorical",
                    n_values=n_values,
                    unseen=(counts["unseen"] / n_values if n_values else 0.0) if checked else None,
                    unseen_examples=tuple(label for label, _ in unseen[:5]),
                    missing=counts["missing"] / total if total else 0.0,
                    missing_in_training=profile.missing if profile is not None else None,
                )
            )
        for features in self._texts:
            counts = self._counts[features.name]
            n_values, total = counts["values"], counts["values"] + counts["missing"]
            unseen = sorted(self._unseen[features.name].items(), key=lambda item: -item[1])
            columns.append(
                ColumnDrift(
                    name=features.name,
                    kind="text",
                    n_values=n_values,
                    unseen=counts["unseen"] / n_values if n_values else 0.0,
                    unseen_examples=tuple(text for text, _ in unseen[:5]),
                    missing=counts["missing"] / total if total else 0.0,
                    missing_in_training=features.blank_share,
                )
            )
        flagged = self._n_flagged / self._n_scored if self._n_scored else None
        return DriftReport(
            columns=tuple(columns),
            n_rows=self._n_rows,
            flagged_share=flagged,
            expected_share=float(self._expected) if flagged is not None and self._expected else None,
            ranges_known=ranges_known,
        )


# --------------------------------------------------------------------------- helpers


def _numbers(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _percent(share: float) -> str:
    value = 100 * share
    if 0 < value < 1:
        return "<1%"
    if 99 < value < 100:
        return ">99%"
    return f"{value:.0f}%"


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise DataError("The bundle's training profile names a column wrongly.")
    return value


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise DataError("The bundle's training profile has a share outside [0, 1].")
    return float(value)


def _optional_number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError("The bundle's training profile has a range that is not a finite number.")
    return float(value)


__all__ = [
    "ColumnDrift",
    "ColumnProfile",
    "DriftAccumulator",
    "DriftReport",
    "TrainingProfile",
    "check_drift",
    "profile_training",
]
