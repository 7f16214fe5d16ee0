"""Which kinds of oddity each method can see: synthetic anomalies of known types, scored by each.

The four types follow ADBench (Han et al., 2022, "ADBench: Anomaly Detection Benchmark"), built
from a sample of the table's own rows: *local* (rows a little off the usual clusters), *global*
(values beyond the range of the data), *dependency* (every column plausible on its own, but the
relationships between columns broken) and *clustered* (a whole group of rows shifted away).

A profile says what a method is able to notice, which helps choose between methods before
any label exists. It is not recall on the table's real anomalies: those may be of none of
these kinds, or of one kind much subtler than the generated rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_numeric_dtype
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from detector.errors import DataError
from detector.thresholds import flag

ANOMALY_TYPES = ("local", "global", "dependency", "clustered")
# ADBench's alphas: local anomalies come from the mixture with its covariances times 5,
# clustered ones from the mixture with its means times 5.
LOCAL_ALPHA = 5.0
CLUSTER_ALPHA = 5.0
# Global anomalies are drawn from the data's range widened by this share of it on each side
# (ADBench scales the range by 1.1), with one column per row pushed beyond the data.
GLOBAL_MARGIN = 0.1
# A mixture fitted on a few thousand rows captures the clusters; more only costs time.
MAX_FIT_ROWS = 500
# EM iterations per candidate mixture at most (see _fit_mixture).
MIXTURE_ITERATIONS = 20
MAX_COMPONENTS = 3
# Rows per mixture component: a table under this size gets a single component.
ROWS_PER_COMPONENT = 20
# On the 0..1 scale: keeps covariances invertible when columns are nearly collinear or the
# table is tiny, and is far below any spread a detector would notice.
REG_COVAR = 1e-4


class Scorer(Protocol):
    """What a profile needs from a detector (any fitted :class:`~detector.base.BaseDetector`)."""

    threshold_: float

    @property
    def feature_columns(self) -> tuple[str, ...]: ...

    def decision_function(self, X: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class SensitivityProfile:
    """For each method and anomaly type, the share of generated rows it flags.

    ``caught[method][type]`` counts a generated row as caught when its score is above the
    method's threshold (unscored rows are not caught). ``n_per_type`` says how many rows each
    type had; ``notes`` say which types could not be generated for this table, and why. This
    shows which kinds of oddity each method can see, not its recall on real anomalies.
    """

    caught: Mapping[str, Mapping[str, float]]
    n_per_type: Mapping[str, int]
    titles: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def table(self) -> pd.DataFrame:
        """Methods (by title) x anomaly types, each cell the share caught (0 to 1)."""
        kinds = [kind for kind in ANOMALY_TYPES if kind in self.n_per_type]
        names = list(self.caught)
        labels = [self.titles.get(name, name) for name in names]
        # Two detectors of one family would share a title; their names tell them apart.
        labels = [
            f"{label} ({name})" if labels.count(label) > 1 else label
            for label, name in zip(labels, names, strict=True)
        ]
        return pd.DataFrame(
            [[self.caught[name][kind] for kind in kinds] for name in names],
            index=pd.Index(labels, name="method"),
            columns=pd.Index(kinds, name="anomaly type"),
            dtype=float,
        )


def synthetic_anomalies(
    frame: pd.DataFrame, columns: Sequence[str], *, n_per_type: int = 200, seed: int = 0
) -> dict[str, pd.DataFrame]:
    """Generate ``n_per_type`` anomalies of each ADBench type from the rows of ``frame``.

    Each frame has ``columns`` in order, numeric columns in their own units (integers stay
    integers where the values fit) and other columns copied from random real rows, except in
    ``"dependency"``, where every column is resampled on its own. Types that cannot be made
    from this table (no varying numeric column, a single column) are left out; see
    :func:`sensitivity_profile` for the reasons in words. The same ``seed`` gives the same rows.
    """
    return _generate(frame, columns, n_per_type, seed)[0]


@dataclass(frozen=True, eq=False)
class SyntheticScores:
    """Every method's scores of the generated rows of each type: scored once, profiled at any threshold."""

    scores: Mapping[str, Mapping[str, np.ndarray]]
    titles: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def profile(self, thresholds: Mapping[str, float]) -> SensitivityProfile:
        """The share of each type each method flags at ``thresholds[method]``."""
        caught = {
            name: {kind: float(flag(values, thresholds[name]).mean()) for kind, values in by_type.items()}
            for name, by_type in self.scores.items()
        }
        first = next(iter(self.scores.values()), {})
        return SensitivityProfile(
            caught=caught,
            n_per_type={kind: len(values) for kind, values in first.items()},
            titles=self.titles,
            notes=self.notes,
        )


def score_synthetic(
    detectors: Mapping[str, Scorer], frame: pd.DataFrame, *, n_per_type: int = 200, seed: int = 0,
) -> SyntheticScores:
    """Generate :func:`synthetic_anomalies` from ``frame`` and score them with every detector.

    The anomalies are built on the first detector's ``feature_columns`` (every detector must
    read a subset of them).
    """
    if not detectors:
        raise ValueError("sensitivity_profile needs at least one detector.")
    columns = tuple(next(iter(detectors.values())).feature_columns)
    for name, detector in detectors.items():
        extra = [column for column in detector.feature_columns if column not in columns]
        if extra:
            raise ValueError(
                f"Detector {name!r} reads columns {extra} the first detector does not; profile "
                "detectors fitted on the same columns."
            )
    frames, notes = _generate(frame, columns, n_per_type, seed)
    notes = list(notes)
    kinds = list(frames)
    # One scoring call per detector: a network predicts a batch much faster than four.
    rows = pd.concat([frames[kind] for kind in kinds], ignore_index=True) if kinds else None
    scores: dict[str, dict[str, np.ndarray]] = {}
    for name, detector in detectors.items():
        scores[name] = {}
        if rows is None:
            continue
        values = np.asarray(detector.decision_function(rows), dtype=float)
        start = 0
        for kind in kinds:
            stop = start + len(frames[kind])
            scores[name][kind] = values[start:stop]
            start = stop
        n_unscored = int(np.count_nonzero(~np.isfinite(values)))
        if n_unscored:
            notes.append(f"{name}: {n_unscored} generated rows could not be scored and count as missed.")
    titles = {name: getattr(detector, "title", "") or name for name, detector in detectors.items()}
    return SyntheticScores(scores=scores, titles=titles, notes=tuple(notes))


def sensitivity_profile(
    detectors: Mapping[str, Scorer],
    frame: pd.DataFrame,
    *,
    thresholds: Mapping[str, float] | None = None,
    n_per_type: int = 200,
    seed: int = 0,
) -> SensitivityProfile:
    """Score each type of :func:`synthetic_anomalies` with every detector.

    The anomalies are built on the first detector's ``feature_columns`` (every detector must
    read a subset of them). A row is caught when it scores above the detector's threshold:
    ``thresholds[name]`` when given, else its ``threshold_``.

    This shows which kinds of oddity each method can see, not how many real anomalies it finds.
    """
    synthetic = score_synthetic(detectors, frame, n_per_type=n_per_type, seed=seed)
    chosen = {
        name: thresholds[name] if thresholds and name in thresholds else detector.threshold_
        for name, detector in detectors.items()
    }
    return synthetic.profile(chosen)


def _generate(
    frame: pd.DataFrame, columns: Sequence[str], n: int, seed: int
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """The anomaly frames by type, and a note for each type that could not be made."""
    columns = list(columns)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"The table has no column {missing}; the models read {columns}. Use a table that has them."
        )
    if not columns:
        raise ValueError("columns must name at least one column.")
    if n < 1:
        raise ValueError(f"n_per_type must be at least 1, got {n!r}.")
    if frame.empty:
        raise DataError("The table has no rows, so no anomalies can be generated from it.")
    # A separate stream per type, so leaving one type out does not change the others' rows.
    names = ("sample", *ANOMALY_TYPES)
    seeds = np.random.SeedSequence(seed).spawn(len(names))
    streams = {name: np.random.default_rng(child) for name, child in zip(names, seeds, strict=True)}
    sample = frame[columns]
    if len(sample) > MAX_FIT_ROWS:
        sample = sample.iloc[np.sort(streams["sample"].choice(len(sample), MAX_FIT_ROWS, replace=False))]
    sample = sample.reset_index(drop=True)
    numeric = [c for c in columns if is_numeric_dtype(sample[c]) and not is_bool_dtype(sample[c])]
    other = [c for c in columns if c not in numeric]

    frames: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    units = _Units.of(sample[numeric])
    if not numeric:
        notes.append("local, global and clustered anomalies need a numeric column; this table has none.")
    elif not units.varying.any():
        notes.append(
            "local, global and clustered anomalies need a numeric column whose values vary; "
            "every numeric column here is constant or empty."
        )
    else:
        mixture = _fit_mixture(units.scaled(sample[numeric]), seed)
        means, covariances, weights = mixture.means_, mixture.covariances_, mixture.weights_
        in_units = {
            "local": units.unscaled(
                _sample_mixture(means, covariances * LOCAL_ALPHA, weights, n, streams["local"])
            ),
            "global": units.beyond_range(n, streams["global"]),
            "clustered": units.unscaled(
                _sample_mixture(means * CLUSTER_ALPHA, covariances, weights, n, streams["clustered"])
            ),
        }
        for kind, values in in_units.items():
            real = _real_rows(sample[other], n, streams[kind])
            frames[kind] = pd.concat([units.frame(values, sample[numeric]), real], axis=1)[columns]
    if len(columns) < 2 or len(sample) < 2:
        notes.append("dependency anomalies need at least two columns and two rows to break relationships.")
    else:
        frames["dependency"] = _independent_columns(sample, n, streams["dependency"])
    ordered = {kind: frames[kind] for kind in ANOMALY_TYPES if kind in frames}
    return ordered, tuple(notes)


@dataclass(frozen=True)
class _Units:
    """Min-max scaling of the numeric columns, and the way back to their units.

    The mixture is fitted on the 0..1 scale, as in ADBench: scaling the means by 5 then moves
    a cluster away from the data, where on a zero-centred scale it would leave it in place.
    Columns that are constant or empty (``varying`` False) are not modelled; generated rows
    keep their constant value (or stay empty).
    """

    low: np.ndarray
    high: np.ndarray
    varying: np.ndarray
    integer: np.ndarray

    @classmethod
    def of(cls, numeric: pd.DataFrame) -> _Units:
        values = numeric.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        present = finite.any(axis=0)
        # Missing values are ignored; an empty column gets NaN bounds (and is not varying).
        low = np.where(present, np.where(finite, values, np.inf).min(axis=0, initial=np.inf), np.nan)
        high = np.where(present, np.where(finite, values, -np.inf).max(axis=0, initial=-np.inf), np.nan)
        integer = np.array([is_integer_dtype(numeric[c]) for c in numeric.columns], dtype=bool)
        return cls(low, high, present & (high > low), integer)

    def scaled(self, numeric: pd.DataFrame) -> np.ndarray:
        """The varying columns on a 0..1 scale (NaN where missing)."""
        values = numeric.to_numpy(dtype=float, na_value=np.nan)[:, self.varying]
        low, high = self.low[self.varying], self.high[self.varying]
        return (values - low) / (high - low)

    def unscaled(self, scaled: np.ndarray) -> np.ndarray:
        """Rows of every numeric column in their units, from rows of the varying columns scaled."""
        values = np.tile(self.low, (len(scaled), 1))  # constant columns keep their value
        low, high = self.low[self.varying], self.high[self.varying]
        values[:, self.varying] = scaled * (high - low) + low
        return values

    def beyond_range(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Global anomalies in units: uniform in the widened range, one column beyond the data.

        Each row has one varying column (chosen at random) strictly above its maximum or below
        its minimum, so every row lies outside the box of the data; integer columns round
        outward there, so rounding to an integer cannot bring the value back inside.
        """
        scaled = rng.uniform(-GLOBAL_MARGIN, 1 + GLOBAL_MARGIN, size=(n, int(self.varying.sum())))
        values = self.unscaled(scaled)
        rows = np.arange(n)
        column = rng.choice(np.flatnonzero(self.varying), size=n)
        above = rng.random(n) < 0.5
        # 1 - random() is in (0, 1]: strictly beyond the data, at most the margin away.
        step = (1.0 - rng.random(n)) * GLOBAL_MARGIN * (self.high - self.low)[column]
        beyond = np.where(above, self.high[column] + step, self.low[column] - step)
        outward = np.where(above, np.ceil(beyond), np.floor(beyond))
        values[rows, column] = np.where(self.integer[column], outward, beyond)
        return values

    def frame(self, values: np.ndarray, like: pd.DataFrame) -> pd.DataFrame:
        """``values`` as a frame with the columns and, where the values fit, the dtypes of ``like``."""
        return pd.DataFrame(
            {name: _in_dtype(values[:, i], like[name].dtype) for i, name in enumerate(like.columns)}
        )


def _in_dtype(values: np.ndarray, dtype: Any) -> pd.Series:
    """Values as ``dtype`` when that is sensible: integers rounded if they fit, else float64."""
    if is_integer_dtype(dtype):
        rounded = np.round(values)
        info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
        if np.isfinite(rounded).all() and rounded.min() >= info.min and rounded.max() <= info.max:
            return pd.Series(rounded).astype(dtype)
        return pd.Series(values, dtype=np.float64)
    if is_float_dtype(dtype):
        return pd.Series(values).astype(dtype)
    return pd.Series(values, dtype=np.float64)


def _fit_mixture(scaled: np.ndarray, seed: int) -> GaussianMixture:
    """A Gaussian mixture of the scaled rows, with the number of components chosen by BIC.

    Rows with a missing value are left out; when fewer than two rows are complete, missing
    values are filled with the column's median instead, so sparse tables still get a model.
    """
    complete = np.isfinite(scaled).all(axis=1)
    if complete.sum() >= 2:
        rows = scaled[complete]
    else:
        medians = np.nan_to_num(np.nanmedian(np.where(np.isfinite(scaled), scaled, np.nan), axis=0))
        rows = np.where(np.isfinite(scaled), scaled, medians)
    most = max(1, min(MAX_COMPONENTS, len(rows) // ROWS_PER_COMPONENT))
    best: GaussianMixture | None = None
    for components in range(1, most + 1):
        # k-means++ seeding alone (no k-means run) is enough for a mixture used to draw rows.
        # A few loose EM rounds: the mixture only shapes made-up rows, and a tight fit of five
        # candidates on 32 columns took 7 s of a job that should cost seconds.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # a loose fit is the point
            mixture = GaussianMixture(
                n_components=components, covariance_type="full", reg_covar=REG_COVAR,
                init_params="k-means++", random_state=seed, max_iter=MIXTURE_ITERATIONS, tol=1e-2,
            ).fit(rows)
        if best is None or mixture.bic(rows) < best.bic(rows):
            best = mixture
    return best


def _sample_mixture(
    means: np.ndarray, covariances: np.ndarray, weights: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` rows from a Gaussian mixture given by its parts (so the parts can be changed)."""
    component = rng.choice(len(weights), size=n, p=weights / weights.sum())
    rows = np.empty((n, means.shape[1]))
    for k in range(len(weights)):
        chosen = component == k
        rows[chosen] = rng.multivariate_normal(means[k], covariances[k], size=int(chosen.sum()))
    return rows


def _real_rows(columns: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` random real rows of ``columns`` (kept together, so categories stay consistent)."""
    return columns.iloc[rng.integers(len(columns), size=n)].reset_index(drop=True)


def _independent_columns(sample: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Dependency anomalies: each column drawn on its own from its present values.

    Every value is one the column really holds, but the row's combination is random, which
    breaks whatever relationships tie the columns together.
    """
    drawn = {}
    for name in sample.columns:
        present = sample[name].dropna()
        source = present if len(present) else sample[name]
        drawn[name] = source.iloc[rng.integers(len(source), size=n)].reset_index(drop=True)
    return pd.DataFrame(drawn)
