"""Time series: the autoencoder reads windows of consecutive rows, not single rows.

A row of a sensor log is rarely odd on its own: a valve that starts to oscillate, a daily cycle
that skips a beat, a jump that stays. :class:`WindowedAutoencoderDetector` puts the rows in time
order (by the timestamp column, else file order; within each series when a series column keeps
machines apart), cuts them into overlapping windows of ``window`` consecutive rows, and trains the
autoencoder on the windows, each flattened into one row of ``window x sensors`` values. A row's
score is the highest score of the windows covering it, so a stretch that breaks the pattern scores
high wherever in the window the break sits.

``window="auto"`` takes the dominant period of the first sensor (the highest autocorrelation peak
after the autocorrelation first drops below zero, between 8 and 288 rows) when the series has a
clear one (a peak of at least 0.3), else 32 rows; the choice and its reason are kept
(``window_``, ``window_reason_``). A series shorter than the window is padded at its start with
its first row, so its rows are still scored (one window covers them all).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig
from detector.base import BaseDetector, DetectorState, ProgressCallback
from detector.columns import ColumnRoles, infer_roles
from detector.errors import DataError, are, counted, quote_cell
from detector.preprocessing import PreprocessConfig
from detector.tabular import score_batch_rows

__all__ = [
    "MIN_WINDOWS",
    "WindowedAutoencoderDetector",
    "count_windows",
    "dominant_period",
    "short_series_notes",
    "suggest_series_column",
    "suggest_window",
    "time_order_notes",
]


def suggest_series_column(frame: pd.DataFrame, timestamp: str | None, candidates: list[str]) -> str | None:
    """The column that names the series, if the rows hold several: one whose values each have
    their own unique times while the same times recur across values (a log of machines side by
    side). None when the times do not recur, or no candidate explains the repeats."""
    if timestamp is None or timestamp not in frame:
        return None
    times = frame[timestamp]
    if times.duplicated().mean() < 0.2:
        return None
    best = None
    for name in candidates:
        if name not in frame or name == timestamp:
            continue
        groups = frame[name].nunique(dropna=False)
        if not 2 <= groups <= 10_000:
            continue
        repeats = frame.duplicated(subset=[name, timestamp]).mean()
        if repeats <= 0.01 and (best is None or groups < best[1]):
            best = (name, groups)
    return None if best is None else best[0]


#: A model needs at least this many windows to learn from.
MIN_WINDOWS = 2


def _series_sizes(frame: pd.DataFrame, series_column: str | None) -> pd.Series:
    """Rows per series (of ``series_column``; the whole table as one series without it)."""
    if series_column is None:
        return pd.Series({None: len(frame)})
    return frame.groupby(series_column, dropna=False, sort=False).size()


def count_windows(frame: pd.DataFrame, window: int, series_column: str | None = None) -> int:
    """How many windows of ``window`` rows ``frame`` gives: per series its rows less the window
    plus one, and one (padded) for a series shorter than a window."""
    sizes = _series_sizes(frame, series_column).to_numpy()
    return int(np.maximum(sizes - window + 1, 1).sum())


def short_series_notes(frame: pd.DataFrame, window: int, series_column: str | None = None) -> list[str]:
    """Say which series are shorter than two windows: their rows are scored (a series shorter than
    one window is padded at its start with its first row), but a model sees little of them."""
    sizes = _series_sizes(frame, series_column)
    short = sizes[sizes < 2 * window]
    if short.empty:
        return []
    if series_column is None:
        return [
            f"The table has {counted(len(frame), 'row')}, fewer than two windows of {window}: a model of it "
            "learns from very few windows. Choose a shorter window, or add rows."
        ]
    shown = ", ".join(f"{quote_cell(name)} ({count:,})" for name, count in short.head(5).items())
    more = f" and {len(short) - 5:,} more" if len(short) > 5 else ""
    return [
        f"{counted(len(short), 'series', 'series')} {are(len(short))} shorter than two windows of {window} "
        f"rows: {shown}{more}. Their rows are scored (a series shorter than one window is padded at its "
        "start with its first row), but the model sees little of them."
    ]

#: A step between rows this many times the usual one is a gap.
GAP_STEPS = 3


def _read_times(values: pd.Series) -> pd.Series:
    """A time column as datetimes (NaT where a cell is not a time)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="coerce", format="mixed")


def time_order_notes(
    frame: pd.DataFrame, timestamp: str | None, series_column: str | None = None
) -> list[str]:
    """Plain-words notes on how the rows sit in time: out of order, repeated times, gaps, and
    irregular sampling. Nothing is changed or dropped: rows are read in time order, repeats in
    file order, and windows span gaps (say so, so the user knows)."""
    if timestamp is None:
        return ["There is no timestamp column: rows are read in file order."]
    times = _read_times(frame[timestamp])
    notes = []
    unreadable = int(times.isna().sum())
    if unreadable:
        notes.append(
            f"{counted(unreadable, 'row')} of {timestamp!r} could not be read as a time; "
            f"{'it is' if unreadable == 1 else 'they are'} read first, in file order."
        )
    groups = [np.arange(len(frame))]
    if series_column is not None:
        codes = pd.factorize(frame[series_column])[0]
        groups = [np.flatnonzero(codes == k) for k in range(codes.max() + 1)]
    unsorted = repeated = gaps = irregular = 0
    largest = pd.Timedelta(0)
    for rows in groups:
        values = times.iloc[rows].dropna()
        if len(values) < 3:
            continue
        as_ns = values.to_numpy(dtype="datetime64[ns]").astype(np.int64)
        unsorted += int((np.diff(as_ns) < 0).sum())
        ordered = np.sort(as_ns)
        steps = np.diff(ordered)
        repeated += int((steps == 0).sum())
        positive = steps[steps > 0]
        if not positive.size:
            continue
        usual = np.median(positive)
        gaps += int((positive > GAP_STEPS * usual).sum())
        largest = max(largest, pd.Timedelta(int(positive.max()), unit="ns"))
        irregular += int((np.abs(positive - usual) > 0.1 * usual).sum())
    if unsorted:
        notes.append(
            f"The rows are not in time order ({counted(unsorted, 'step')} back in time): they are read "
            f"sorted by {timestamp!r}; downloads keep the file's order."
        )
    if repeated:
        notes.append(
            f"{counted(repeated, 'row')} {are(repeated)} at the same time as the row before; "
            "such rows are kept, in file order."
        )
    if gaps:
        notes.append(
            f"{counted(gaps, 'gap')} longer than {GAP_STEPS} usual steps (the longest {largest}); "
            "windows span them, so rows next to a gap may score higher."
        )
    if irregular and not gaps:
        notes.append(
            f"The sampling is irregular ({counted(irregular, 'step')} differ from the usual one by "
            "more than 10%); windows count rows, not time."
        )
    return notes


def suggest_window(
    frame: pd.DataFrame, sensors: tuple[str, ...], timestamp: str | None, series_column: str | None = None
) -> tuple[int, str]:
    """The window ``window="auto"`` would take for ``frame`` (rows) and why, without training."""
    if not sensors:
        return DEFAULT_WINDOW, f"{DEFAULT_WINDOW} rows: no number column to find a period in"
    order = _time_order(frame, timestamp, series_column)
    return _auto_window(frame, sensors[0], order)


def _time_order(X: pd.DataFrame, timestamp: str | None, series_column: str | None) -> list[np.ndarray]:
    """Row positions of each series (of ``series_column``), in time order (file order without a
    time column; unreadable times first, ties in file order)."""
    n = len(X)
    keys: list[np.ndarray] = []
    if timestamp is not None:
        times = X[timestamp]
        if not pd.api.types.is_datetime64_any_dtype(times):
            parsed = _read_times(times)
            times = parsed if parsed.notna().mean() > 0.5 else pd.to_numeric(times, errors="coerce")
        keys.append(pd.Series(times).rank(method="first", na_option="top").to_numpy())
    if series_column is not None:
        codes, _ = pd.factorize(X[series_column], use_na_sentinel=False)
        keys.append(codes)
    if not keys:
        return [np.arange(n)]
    # np.lexsort sorts by its last key first: the series, then the time within it.
    order = np.lexsort(keys) if len(keys) > 1 else np.argsort(keys[0], kind="stable")
    if series_column is None:
        return [order]
    codes = keys[-1][order]
    cuts = np.flatnonzero(np.diff(codes)) + 1
    return np.split(order, cuts)


def _auto_window(frame: pd.DataFrame, sensor: str, order: list[np.ndarray]) -> tuple[int, str]:
    """The window "auto" takes: the dominant period of ``sensor`` in its longest series, and why."""
    longest = max(order, key=len)
    values = pd.to_numeric(frame[sensor].iloc[longest], errors="coerce").to_numpy(float)
    period, reason = dominant_period(values)
    if period is None:
        return DEFAULT_WINDOW, f"{DEFAULT_WINDOW} rows: {reason}"
    return period, f"{period} rows: {reason}"

#: Bounds of an automatic window, in rows.
MIN_WINDOW, MAX_WINDOW = 8, 288
#: The window when a series shows no clear period.
DEFAULT_WINDOW = 32
#: An autocorrelation peak this high (of 1) counts as a clear period.
CLEAR_PERIOD = 0.3


def dominant_period(values: np.ndarray) -> tuple[int | None, str]:
    """The series' dominant period in rows (None without a clear one) and the reason, in words."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 4 * MIN_WINDOW or np.ptp(x) == 0:
        return None, f"the series has too few varying values ({n:,}) to show a period"
    x = (x - x.mean()) / x.std()
    spectrum = np.fft.rfft(x, 2 * n)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    correlation /= correlation[0]
    below = np.flatnonzero(correlation[1:] < 0)
    top = min(MAX_WINDOW, n // 4)
    if below.size == 0 or below[0] + 1 >= top:
        return None, "its autocorrelation shows no repeating cycle within 288 rows"
    start = below[0] + 1
    peak = start + int(np.argmax(correlation[start : top + 1]))
    strength = float(correlation[peak])
    if strength < CLEAR_PERIOD:
        return None, f"its strongest cycle is weak (autocorrelation {strength:.2f} at {peak} rows)"
    return int(np.clip(peak, MIN_WINDOW, MAX_WINDOW)), (
        f"the series repeats every {peak} rows (autocorrelation {strength:.2f})"
    )


class WindowedAutoencoderDetector(BaseDetector):
    """The autoencoder on windows of consecutive rows: for time series and sensor logs.

    Parameters
    ----------
    window : int or "auto"
        Rows per window (at least 2), or "auto" (see the module's description).
    config, contamination, preprocess
        As for :class:`AutoencoderDetector`, which is trained on the windows.
    columns : ColumnRoles or None
        The sensors (numeric columns) and, in ``timestamp``, the column giving the time order;
        None infers them.
    series_column : str or None
        A column naming the series (machine, sensor, customer): windows never cross series.

    Attributes
    ----------
    window_ : int
        The window used; ``window_reason_`` says why (for "auto").
    sensors_ : tuple of str
        The sensor columns, in order; ``order_column_`` is the time column (None: file order).
    model_ : AutoencoderDetector
        The autoencoder fitted on the windows (columns ``sensor@-k``, k rows before the last).
    """

    kind = "windowed_autoencoder"
    title = "Windowed autoencoder"
    explains_columns = True
    explanation_of = "the windows' reconstruction error"

    def __init__(
        self,
        *,
        window: int | str = "auto",
        config: AutoencoderConfig = AutoencoderConfig(),  # noqa: B008 (frozen)
        contamination: float = 0.05,
        columns: ColumnRoles | None = None,
        preprocess: PreprocessConfig = PreprocessConfig(),  # noqa: B008 (frozen)
        series_column: str | None = None,
    ) -> None:
        self.window = window
        self.config = config
        self.contamination = contamination
        self.columns = columns
        self.preprocess = preprocess
        self.series_column = series_column

    # ----------------------------------------------------------------- fitting

    def warm_up(self) -> None:
        AutoencoderDetector().warm_up()

    def fit(self, X: pd.DataFrame, y: object = None, *, on_progress: ProgressCallback | None = None):
        if not isinstance(X, pd.DataFrame):
            raise DataError("A windowed model reads a table (a DataFrame) with its time and sensor columns.")
        roles = self.columns
        if roles is None:  # inferred: the number columns are the sensors, other columns are left out
            inferred = infer_roles(X, text=False)
            numeric = tuple(c for c in inferred.numeric if c != self.series_column)
            roles = ColumnRoles(numeric=numeric, timestamp=inferred.timestamp)
        if roles.categorical or roles.text:
            raise DataError(
                "A windowed model reads number columns (sensors) only; leave out "
                f"{', '.join(roles.categorical + roles.text)}, or use the row-wise autoencoder."
            )
        if not roles.numeric:
            raise DataError("A windowed model needs at least one number column (a sensor).")
        for name in (roles.timestamp, self.series_column):
            if name is not None and name not in X.columns:
                raise DataError(f"column {name!r} is not in the table.")
        self.sensors_ = tuple(roles.numeric)
        self.order_column_ = roles.timestamp
        order = self.time_order(X)
        self.window_, self.window_reason_ = self._choose_window(X, order)
        started = time.perf_counter()
        series = self._series(X, order)
        n_windows = sum(s.n_windows for s in series)
        if n_windows < MIN_WINDOWS:
            raise DataError(
                f"The series is too short for windows of {self.window_} rows: a model needs at least two "
                "windows. Choose a shorter window, or add rows."
            )
        # At most FIT_WINDOWS windows (a seeded sample) train the network: the step limit would
        # not reach more, and a million windows of 288 x 8 values would not fit in memory.
        chosen = np.arange(n_windows)
        if n_windows > FIT_WINDOWS:
            rng = np.random.default_rng(self.config.seed)
            chosen = np.sort(rng.choice(n_windows, FIT_WINDOWS, replace=False))
        self.model_ = AutoencoderDetector(
            config=self.config, contamination=self.contamination, preprocess=self.preprocess,
            columns=ColumnRoles(numeric=tuple(self._window_names())),
        ).fit(self._take(series, chosen), on_progress=on_progress)
        self.fit_seconds_ = time.perf_counter() - started
        self.n_train_rows_ = len(X)
        self._set_scores(self._row_scores(series, len(X))[0])
        return self

    def _choose_window(self, X: pd.DataFrame, order: list[np.ndarray] | None = None) -> tuple[int, str]:
        window = self.window
        if isinstance(window, int | np.integer) and not isinstance(window, bool):
            if window < 2:
                raise ValueError(f"window={window!r} must be at least 2 rows, or 'auto'.")
            return int(window), f"set to {int(window)} rows"
        if window != "auto":
            raise ValueError(f"window={window!r} must be a whole number of rows or 'auto'.")
        return _auto_window(X, self.sensors_[0], order if order is not None else self.time_order(X))

    # ----------------------------------------------------------------- windows

    def time_order(self, X: pd.DataFrame) -> list[np.ndarray]:
        """Row positions of each series, in time order (file order when there is no time column)."""
        return _time_order(X, self.order_column_, self.series_column)

    def _window_names(self) -> list[str]:
        w = self.window_
        return [f"{sensor}@-{w - 1 - k}" for sensor in self.sensors_ for k in range(w)]

    def _series(self, X: pd.DataFrame, order: list[np.ndarray] | None = None) -> list[_Series]:
        """Each series' rows in time order and their sensor values (a short one padded at its start);
        ``order`` is :meth:`time_order` of ``X`` when the caller has it."""
        missing = [c for c in (*self.sensors_, self.order_column_, self.series_column) if c and c not in X]
        if missing:
            raise DataError(
                f"The table lacks column(s) the windowed model reads: {', '.join(map(repr, missing))}."
            )
        values = np.column_stack(
            [pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float) for name in self.sensors_]
        )
        out = []
        for positions in order if order is not None else self.time_order(X):
            if len(positions) < self.window_:  # a short series: its first row repeated in front
                positions = np.r_[np.full(self.window_ - len(positions), positions[0]), positions]
            out.append(_Series(positions, values[positions], self.window_))
        return out

    def _take(self, series: list[_Series], windows: np.ndarray) -> pd.DataFrame:
        """The windows at global indices ``windows`` (sorted) as a table, one flattened window a row."""
        starts = np.cumsum([0, *(s.n_windows for s in series)])
        parts = []
        for g, one in enumerate(series):
            mine = windows[(windows >= starts[g]) & (windows < starts[g + 1])] - starts[g]
            if mine.size:
                parts.append(one.flat(mine))
        return pd.DataFrame(np.concatenate(parts), columns=self._window_names())

    def _window_results(
        self, series: list[_Series], explain: bool = False
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Per series: each window's score and (``explain``) each sensor's share of its error,
        computed in batches of windows sized by their width.

        Only every :func:`score_stride`-th window is scored (and each series' last one), the
        others are NaN: neighbouring windows share all but a few rows, and every row is still
        covered by at least ``SCORED_PER_ROW`` scored windows.
        """
        batch = score_batch_rows(self.window_ * len(self.sensors_))
        names = self._window_names()
        results = []
        for one in series:
            scored = one.scored_windows()
            scores, shares = [], []
            for start in range(0, len(scored), batch):
                taken = scored[start : start + batch]
                frame = pd.DataFrame(one.flat(taken), columns=names)
                if explain:
                    part, share = self.model_.score_with_contributions(frame)
                    matrix = share.to_numpy(dtype=float)
                    shares.append(matrix.reshape(len(frame), len(self.sensors_), self.window_).sum(axis=2))
                else:
                    part = self.model_.decision_function(frame)
                scores.append(part)
            every = np.full(one.n_windows, np.nan)
            every[scored] = np.concatenate(scores)
            every_share = None
            if explain:
                every_share = np.full((one.n_windows, len(self.sensors_)), np.nan)
                every_share[scored] = np.concatenate(shares)
            results.append((every, every_share))
        return results

    def _row_scores(self, series: list[_Series], n_rows: int, explain: bool = False):
        """Each row's score (its worst covering window, ties broken by their mean) and, with
        ``explain``, the sensor shares of that window."""
        out = np.full(n_rows, -np.inf)
        shares = np.full((n_rows, len(self.sensors_)), np.nan) if explain else None
        for one, (scores, window_shares) in zip(series, self._window_results(series, explain), strict=True):
            worst, best = one.row_max(scores)
            better = worst > out[one.positions]
            np.maximum.at(out, one.positions, worst)
            if shares is not None and window_shares is not None:
                rows = one.positions[better]
                shares[rows] = window_shares[best[better]]
        out[~np.isfinite(out)] = np.nan
        return out, shares

    @property
    def epochs_run_(self) -> int:
        return self.model_.epochs_run_

    @property
    def training_plan_(self) -> Any:
        return self.model_.training_plan_

    @property
    def history_(self) -> dict[str, list[float]]:
        return self.model_.history_

    # ----------------------------------------------------------------- scoring

    @property
    def feature_columns(self) -> tuple[str, ...]:
        self.check_fitted()
        extra = tuple(c for c in (self.order_column_, self.series_column) if c is not None)
        return self.sensors_ + extra

    @property
    def explained_columns(self) -> tuple[str, ...]:
        self.check_fitted()
        return self.sensors_

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        self.check_fitted()
        return self._row_scores(self._series(X), len(X))[0]

    def score_with_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame | None]:
        """Row scores, and each sensor's share of the error of the row's highest-scoring window."""
        self.check_fitted()
        scores, shares = self._row_scores(self._series(X), len(X), explain=True)
        return scores, pd.DataFrame(shares, columns=list(self.sensors_), index=X.index)

    def window_errors(
        self, X: pd.DataFrame, position: int, order: list[np.ndarray] | None = None
    ) -> pd.DataFrame:
        """For the row at ``position``: its highest-scoring window's error shares, sensor x offset.

        Columns are offsets in rows from the window's last row (``-window+1`` to 0), so a heatmap
        shows when in the window, and in which sensor, the error sits. Only the scored windows
        covering the row are read (the first of equal scores wins, as for the row's score).
        """
        self.check_fitted()
        w = self.window_
        for one in self._series(X, order):
            at = np.flatnonzero(one.positions == position)
            if not at.size:
                continue
            row = int(at[-1])
            scored = one.scored_windows()
            covering = scored[(scored >= row - (w - 1)) & (scored <= row)]
            frame = pd.DataFrame(one.flat(covering), columns=self._window_names())
            scores, share = self.model_.score_with_contributions(frame)
            best = int(np.argmax(np.where(np.isfinite(scores), scores, -np.inf)))
            grid = share.to_numpy(dtype=float)[best].reshape(len(self.sensors_), w)
            return pd.DataFrame(grid, index=list(self.sensors_), columns=[k - (w - 1) for k in range(w)])
        raise IndexError(f"row {position} is not in the table")

    def expected_at(
        self, X: pd.DataFrame, positions: np.ndarray, order: list[np.ndarray] | None = None
    ) -> pd.DataFrame:
        """What the model expected each sensor to read at rows ``positions`` of ``X``: the window
        ending at each row, rebuilt (a series' first rows take the first window's values)."""
        self.check_fitted()
        positions = np.asarray(positions, dtype=np.intp)
        w, names = self.window_, self._window_names()
        out = pd.DataFrame(np.nan, index=pd.Index(positions), columns=list(self.sensors_))
        for one in self._series(X, order):
            at = np.flatnonzero(np.isin(one.positions, positions))
            if not at.size or not one.n_windows:
                continue
            windows = np.clip(at - (w - 1), 0, one.n_windows - 1)
            offsets = at - windows  # the row's place in its window, 0 = the first row
            rebuilt = self.model_.expected_values(pd.DataFrame(one.flat(windows), columns=names))
            values = rebuilt.to_numpy(dtype=float).reshape(len(at), len(self.sensors_), w)
            picked = values[np.arange(len(at)), :, offsets]
            out.loc[one.positions[at]] = picked
        return out

    def episodes(
        self,
        X: pd.DataFrame,
        flags: np.ndarray,
        scores: np.ndarray,
        shares: pd.DataFrame | None,
        order: list[np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Flagged rows grouped into episodes: runs of consecutive flagged rows of one series, in time order.

        One row per episode, highest peak first: ``episode``, ``series`` (with a series column),
        ``start`` and ``end`` (times, or row numbers without a time column), ``rows``,
        ``duration`` (with times), ``peak score``, ``peak row`` (its 1-based row number in the
        table) and ``top sensors`` (each sensor's share of the episode's error). ``order`` is
        :meth:`time_order` of ``X``, when the caller has it already (it parses and sorts the table).
        """
        self.check_fitted()
        flags = np.asarray(flags, dtype=bool)
        times = _read_times(X[self.order_column_]) if self.order_column_ is not None else None
        records = []
        for positions in order if order is not None else self.time_order(X):
            flagged = flags[positions]
            if not flagged.any():
                continue
            edges = np.diff(np.r_[0, flagged.astype(np.int8), 0])
            for begin, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
                rows = positions[begin:stop]
                peak = rows[int(np.nanargmax(scores[rows]))]
                record = {
                    "series": X[self.series_column].iloc[rows[0]] if self.series_column else None,
                    "start": times.iloc[rows[0]] if times is not None else int(rows[0]) + 1,
                    "end": times.iloc[rows[-1]] if times is not None else int(rows[-1]) + 1,
                    "rows": len(rows),
                    "peak score": float(scores[peak]),
                    "peak row": int(peak) + 1,
                    "top sensors": _top_sensors(shares, rows, scores) if shares is not None else "",
                }
                if times is not None:
                    record["duration"] = record["end"] - record["start"]
                records.append(record)
        columns = ["series", "start", "end", "duration", "rows", "peak score", "peak row", "top sensors"]
        table = pd.DataFrame(records, columns=columns)
        if not self.series_column:
            table = table.drop(columns="series")
        if times is None:
            table = table.drop(columns="duration")
        table = table.sort_values("peak score", ascending=False, kind="stable", ignore_index=True)
        table.insert(0, "episode", np.arange(1, len(table) + 1))
        return table

    # ----------------------------------------------------------------- state

    def to_state(self) -> DetectorState:
        self.check_fitted()
        inner = self.model_.to_state()
        return DetectorState(
            kind=self.kind,
            params={
                "window": self.window, "series_column": self.series_column,
                "contamination": self.contamination, "inner": inner.params,
            },
            fitted={
                "window": self.window_, "window_reason": self.window_reason_, "sensors": list(self.sensors_),
                "order_column": self.order_column_, "threshold": float(self.threshold_),
                "n_train_rows": int(self.n_train_rows_), "fit_seconds": float(self.fit_seconds_),
                "inner": inner.fitted,
            },
            arrays={"row_scores": np.asarray(self.decision_scores_, dtype=np.float64), **inner.arrays},
            network=inner.network,
        )

    @classmethod
    def from_state(cls, state: DetectorState) -> WindowedAutoencoderDetector:
        params, fitted = state.params, state.fitted
        try:
            arrays = dict(state.arrays)
            scores = arrays.pop("row_scores")
            inner = AutoencoderDetector.from_state(
                DetectorState(kind="autoencoder", params=params["inner"], fitted=fitted["inner"],
                              arrays=arrays, network=state.network)
            )
            window, sensors = fitted["window"], fitted["sensors"]
            if not isinstance(window, int) or not 2 <= window <= 100_000:
                raise DataError("The bundle's window is not a sensible number of rows.")
            if not isinstance(sensors, list) or not sensors or not all(isinstance(s, str) for s in sensors):
                raise DataError("The bundle's sensors must be a list of column names.")
            if len(inner.preprocessor_.source_columns_) != window * len(sensors):
                raise DataError("The bundle's window and sensors do not match its network's inputs.")
            detector = cls(window=params["window"], contamination=params["contamination"],
                           series_column=params["series_column"])
            detector.model_, detector.window_, detector.sensors_ = inner, window, tuple(sensors)
            detector.window_reason_ = str(fitted.get("window_reason", ""))
            detector.order_column_ = fitted["order_column"]
            detector.n_train_rows_ = int(fitted["n_train_rows"])
            detector.fit_seconds_ = float(fitted["fit_seconds"])
            detector.decision_scores_ = np.asarray(scores, dtype=np.float64)
            detector.threshold_ = float(fitted["threshold"])
            detector.labels_ = detector.labels_at(detector.decision_scores_)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, DataError):
                raise
            raise DataError(f"The bundle's windowed model is malformed ({exc}).") from None
        return detector


#: Rows whose worst windows tie are told apart by this fraction of their windows' mean score,
#: so that a threshold can flag a share of rows (a day-long window gives hundreds of equal maxima).
TIE_BREAK = 1e-6
#: At most this many windows (a seeded sample) train the network.
FIT_WINDOWS = 100_000
#: Scoring reads every few windows only, so that each row is still covered by this many scored
#: windows: a window shares all but one row with its neighbour, and a 96-row window scored at
#: every row would read each row 96 times.
SCORED_PER_ROW = 8


def score_stride(window: int) -> int:
    """Score every ``score_stride(window)``-th window: each row then lies in ``SCORED_PER_ROW`` of them."""
    return max(1, window // SCORED_PER_ROW)


def _top_sensors(shares: pd.DataFrame, rows: np.ndarray, scores: np.ndarray, k: int = 3) -> str:
    """The sensors that carry most of an episode's error: shares weighted by each row's score."""
    weights = np.nan_to_num(scores[rows], nan=0.0)
    weights = np.clip(weights, 0, None)
    part = np.nan_to_num(shares.iloc[rows].to_numpy(dtype=float)) * weights[:, None]
    total = part.sum(axis=0)
    if total.sum() <= 0:
        return ""
    share = total / total.sum()
    order = np.argsort(-share, kind="stable")[:k]
    return ", ".join(f"{shares.columns[i]} ({share[i]:.0%})" for i in order if share[i] > 0)


class _Series:
    """One series: its rows' positions in the table (time order), their sensor values, and its
    windows, as a view (nothing is copied until :meth:`flat` takes some windows)."""

    def __init__(self, positions: np.ndarray, values: np.ndarray, window: int) -> None:
        self.positions = positions
        self.window = window
        self.n_windows = max(len(positions) - window + 1, 0)
        # (windows, sensors, window): window j holds rows j .. j + window - 1.
        self._view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)

    def scored_windows(self) -> np.ndarray:
        """The windows scoring reads: every :func:`score_stride`-th one, and the last."""
        return np.unique(np.r_[np.arange(0, self.n_windows, score_stride(self.window)), self.n_windows - 1])

    def flat(self, windows: np.ndarray) -> np.ndarray:
        """The windows at ``windows``, each flattened sensor by sensor (a copy of those only)."""
        return self._view[windows].reshape(len(windows), -1)

    def row_max(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's worst covering window score (ties broken by the windows' mean), and that
        window's index; -inf where no covering window has a score."""
        w, m = self.window, len(self.positions)
        finite = np.isfinite(scores)
        pad = np.full(w - 1, -np.inf)
        # Row i is covered by windows i - w + 1 .. i: positions i .. i + w - 1 once padded.
        padded = np.r_[pad, np.where(finite, scores, -np.inf), pad]
        view = np.lib.stride_tricks.sliding_window_view(padded, w)[:m]
        offset = view.argmax(axis=1)
        worst = view[np.arange(m), offset]
        sums = np.cumsum(np.r_[0.0, np.zeros(w - 1), np.where(finite, scores, 0.0), np.zeros(w - 1)])
        counts = np.cumsum(np.r_[0, np.zeros(w - 1), finite.astype(float), np.zeros(w - 1)])
        total, count = sums[w : w + m] - sums[:m], counts[w : w + m] - counts[:m]
        scored = np.isfinite(worst) & (count > 0)
        worst[scored] += TIE_BREAK * total[scored] / count[scored]
        return worst, np.arange(m) - (w - 1) + offset
