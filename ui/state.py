"""The dashboard's session state: one typed object per browser session, behind get_state()."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st
from sklearn.base import clone

from detector.autoencoder_config import AutoencoderConfig
from detector.columns import ColumnProfile, ColumnRoles, Role, infer_roles, label_vector, profile_columns
from detector.drift import DriftReport, check_drift
from detector.errors import DataError
from detector.export import original_text
from detector.preprocessing import PreprocessConfig, scaling_notes
from detector.registry import DEFAULT_KIND, FAMILIES, baseline_kinds
from detector.results import (
    FlaggedRows,
    HeldOutSplit,
    ScoredTable,
    flagged_view,
    row_explanation,
    score_table,
    split_held_out,
)
from detector.reviews import Reviews, ReviewSummary, SuppressionRule, row_keys, suppressed
from detector.text import column_notes
from detector.thresholds import threshold_for_share
from detector.training import PRESETS, HoldOut, TrainingJob, network_inputs, training_rows
from detector.windowed import (
    MIN_WINDOWS,
    count_windows,
    short_series_notes,
    suggest_series_column,
    suggest_window,
    time_order_notes,
)
from ui.runtime import freeze_what_is_loaded

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from detector.base import BaseDetector
    from detector.baselines import Baselines
    from detector.bundle import LoadedBundle
    from detector.comparison import Comparison
    from detector.table import Table

# The only session_state key the app owns; everything else hangs off the AppState stored here.
STATE_KEY = "app_state"
# The benchmarked library defaults (benchmarks/README.md), the same as the CLI uses.
DEFAULT_PRESET = "Balanced"

# Dataset revisions are unique across sessions too, so widget keys and caches never collide.
_revisions = itertools.count(1)
# Likewise for scored views: each new view gets fresh threshold and table widgets.
_view_ids = itertools.count(1)


@dataclass
class DatasetState:
    """The loaded table and the user's choices about its columns.

    ``revision`` changes with every newly loaded table; widgets on the Data page include it in
    their keys so that a new table starts from freshly inferred defaults.
    """

    table: Table
    source: str
    # What was read (upload bytes or a sample's path), so exports can re-read the original text.
    data: bytes | Path | None
    profiles: list[ColumnProfile]
    roles: ColumnRoles
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    normal_only: bool = False
    holdout: HoldOut = field(default_factory=HoldOut)
    time_series: TimeSeries = field(default_factory=lambda: TimeSeries())
    # The user's own answer to "do the rows form a time series?"; None until they give one, and
    # meanwhile the answer follows the column roles (see time_series_by_default).
    time_series_choice: bool | None = None
    revision: int = field(default_factory=lambda: next(_revisions))
    # What the page asks for on every rerun, kept with the choices it was computed for: name ->
    # (key, value); see _cached.
    _memo: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame

    @property
    def shape(self) -> tuple[int, int]:
        return self.table.frame.shape

    def choices(self) -> tuple[ColumnRoles, PreprocessConfig, bool, HoldOut, TimeSeries]:
        """What a model trained on this table depends on, to tell whether a model is current."""
        return self.roles, self.preprocess, self.normal_only, self.holdout, self.time_series

    def _cached(self, name: str, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept under ``name`` until ``key`` (the choices it depends on) changes."""
        held = self._memo.get(name)
        if held is None or held[0] != key:
            held = self._memo[name] = (key, compute())
        return held[1]

    def reads_time_series(self) -> bool:
        """Whether the rows are read as a time series: the user's choice, else the default."""
        if self.time_series_choice is not None:
            return self.time_series_choice
        return self.time_series_by_default()

    def time_series_by_default(self) -> bool:
        """Whether the rows are a time series unless the user says otherwise: when a column holds
        times and there are sensors (numeric features) to read over them. Not with text features,
        which are read one row at a time: windows would leave them out."""
        roles = self.roles
        return roles.timestamp is not None and bool(roles.numeric) and not roles.text

    def suggested_window(self) -> tuple[int, str]:
        """The window "auto" takes for this table's sensors, and why (cached per choice)."""
        key = (self.roles.numeric, self.roles.timestamp, self.time_series.series_column)
        return self._cached("window", key, lambda: suggest_window(self.frame, *key))

    def suggested_series(self) -> str | None:
        """The column that seems to name each series of a time series (see suggest_series_column)."""
        taken = {*self.roles.numeric, self.roles.timestamp, self.roles.label}
        candidates = [p.name for p in self.profiles if p.role == Role.CATEGORICAL and p.name not in taken]
        return self._cached(
            "series", (self.roles.timestamp, tuple(candidates)),
            lambda: suggest_series_column(self.frame, self.roles.timestamp, candidates),
        )

    def time_notes(self) -> list[str]:
        """How the rows sit in time (out of order, repeats, gaps), for a time series (cached)."""
        timestamp, series, window = self.roles.timestamp, self.time_series.series_column, self.window()
        return self._cached(
            "time_notes", (timestamp, series, window),
            lambda: time_order_notes(self.frame, timestamp, series)
            + short_series_notes(self.frame, window, series),
        )

    def window(self) -> int:
        """The window a time-series model of this table uses: the chosen one, or the suggestion."""
        chosen = self.time_series.window
        return chosen if isinstance(chosen, int) else self.suggested_window()[0]

    def held_out_rows(self) -> np.ndarray | None:
        """One bool per row, True for rows held out of training; None when none are (cached)."""
        return self._cached(
            "held_out", (self.holdout, self.roles.timestamp),
            lambda: self.holdout.rows(self.frame, self.roles.timestamp) if self.holdout.active else None,
        )

    def training_frame(self) -> pd.DataFrame:
        """The rows and columns training uses (``DataError`` if the choices don't fit): see
        :func:`training_frame_of`."""
        return training_frame_of(
            self.frame, self.roles, self.time_series, normal_only=self.normal_only,
            held_out=self.held_out_rows(),
        )

    def n_training_rows(self) -> int:
        """How many rows training would use, without copying them."""
        held = self.held_out_rows() if self.holdout.active else None
        kept = np.ones(len(self.frame), dtype=bool) if held is None else ~held
        if self.normal_only and self.roles.label is not None:
            kept &= label_vector(self.frame[self.roles.label]) == 0
        return int(kept.sum())

    def network_inputs(self, *, windows: bool | None = None) -> int:
        """How many inputs the network gets once features are encoded (cached per choice).

        ``windows`` says whether the model reads windows of a time series (by default, whether
        the rows are read as one); a row-wise family (a baseline) reads one row at a time.
        """
        if self.time_series.enabled if windows is None else windows:
            if not self.roles.numeric:
                raise DataError(
                    "A time series is read through its numeric features (sensors), and none is chosen. "
                    "Choose one on the Data page, or switch off “Rows form a time series”."
                )
            window, series = self.window(), self.time_series.series_column
            n_windows = self._cached(
                "windows", (self.choices(), window),
                lambda: count_windows(self.training_frame(), window, series),
            )
            if n_windows < MIN_WINDOWS:
                raise DataError(
                    f"The training rows give only {n_windows} window of {window} rows, and a model needs "
                    f"at least {MIN_WINDOWS}. Choose a shorter window on the Data page or add rows, or "
                    "switch off “Rows form a time series” to score each row alone."
                )
            return window * len(self.roles.numeric)
        return self._cached(
            "inputs", self.choices(),
            lambda: network_inputs(self.training_frame(), self.roles, self.preprocess),
        )

    def text_notes(self) -> list[str]:
        """Notes on the chosen text columns: blanks, cut texts, junk, scripts (cached per choice)."""
        return self._cached(
            "text_notes", self.roles.text,
            lambda: [note for name in self.roles.text for note in column_notes(self.frame[name], name)],
        )

    def scaling_notes(self) -> list[str]:
        """Warnings about numeric features that scaling cannot make comparable (cached per choice)."""
        return self._cached(
            "scaling_notes", (self.roles.numeric, self.preprocess),
            lambda: scaling_notes(self.frame, self.roles.numeric, self.preprocess),
        )


@dataclass(frozen=True)
class TimeSeries:
    """Whether the rows form a time series, read in windows (see detector.windowed), and how."""

    enabled: bool = False
    window: int | str = "auto"
    series_column: str | None = None


def training_frame_of(
    frame: pd.DataFrame, roles: ColumnRoles, time_series: TimeSeries, *, normal_only: bool,
    held_out: np.ndarray | None,
) -> pd.DataFrame:
    """The training rows with their feature columns (see training_rows) and, for a time series,
    the timestamp and series columns that put them in order: the windowed autoencoder reads the
    sensors in that order, a row-wise family (a baseline) reads the features."""
    rows = training_rows(frame, roles, normal_only=normal_only, held_out=held_out)
    if not time_series.enabled:
        return rows
    order = [c for c in (roles.timestamp, time_series.series_column) if c is not None and c not in rows]
    return frame.loc[rows.index, [*rows.columns, *order]] if order else rows


@dataclass
class TrainSettings:
    """The Train page's form: the detector family, a preset and the model configuration derived from it."""

    family: str = DEFAULT_KIND
    preset: str = DEFAULT_PRESET
    config: AutoencoderConfig = field(default_factory=lambda: PRESETS[DEFAULT_PRESET])
    contamination: float = 0.05
    # Changes when a preset is applied, so the advanced widgets reload their values from config.
    revision: int = 0

    def apply_preset(self, name: str) -> None:
        self.preset = name
        self.config = PRESETS[name]
        self.revision += 1


@dataclass(frozen=True)
class TrainedOn:
    """The dataset and column choices a training used; a model is current while they hold."""

    dataset_name: str
    dataset_revision: int
    roles: ColumnRoles
    preprocess: PreprocessConfig
    normal_only: bool
    n_rows: int
    holdout: HoldOut = field(default_factory=HoldOut)
    time_series: TimeSeries = field(default_factory=lambda: TimeSeries())

    @classmethod
    def of(cls, dataset: DatasetState, n_rows: int) -> TrainedOn:
        return cls(
            dataset_name=dataset.name,
            dataset_revision=dataset.revision,
            roles=dataset.roles,
            preprocess=dataset.preprocess,
            normal_only=dataset.normal_only,
            n_rows=n_rows,
            holdout=dataset.holdout,
            time_series=dataset.time_series,
        )

    def matches(self, dataset: DatasetState) -> bool:
        return self.dataset_revision == dataset.revision and (
            self.roles, self.preprocess, self.normal_only, self.holdout, self.time_series
        ) == dataset.choices()


@dataclass(eq=False)
class ComparisonCache:
    """The last "is the autoencoder worth it?" comparison, kept per flagged count (see ui.comparison_view)."""

    key: int | None = None
    comparison: Comparison | None = None
    text: str = ""


@dataclass
class ModelState:
    """A trained detector, what it was trained on, and the baselines fitted beside it."""

    detector: BaseDetector
    trained_on: TrainedOn
    history: dict[str, list[float]]
    seconds: float
    stopped_by_user: bool
    trained_at: datetime = field(default_factory=datetime.now)
    # The table it was trained on, kept so Results can show its rows after another is loaded.
    dataset: DatasetState | None = None
    # The baselines fitted on the same rows ("is the autoencoder worth it?"), if any.
    baselines: Baselines | None = None
    comparison_error: str | None = None
    comparison_cache: ComparisonCache = field(default_factory=ComparisonCache)
    # One bool per row of ``dataset``: held out of training (None: no row was).
    held_out: np.ndarray | None = None
    # The user's ✓/✗ marks on this model's flags and its suppression rules.
    reviews: Reviews = field(default_factory=Reviews)
    # Set when this model was trained again without the confirmed anomalies.
    retrained: Retrain | None = None

    def methods(self) -> dict[str, str]:
        """The methods whose scores Results can show: kind -> title, the trained detector first."""
        if self.baselines is None:
            return {self.detector.kind: self.detector.title}
        return {kind: self.baselines.title(kind) for kind in self.baselines.kinds}


@dataclass(frozen=True)
class Retrain:
    """A model trained again without the confirmed anomalies: what the reviews said of the one before."""

    left_out: int  # rows marked ✓ and left out of training
    before: ReviewSummary  # the previous model's flags on the reviewed rows, at its threshold then
    threshold_before: float


@dataclass
class TrainingState:
    """The session's training job and what it was started on."""

    job: TrainingJob
    trained_on: TrainedOn
    dataset: DatasetState | None = None
    collected: bool = False
    # Set when this training retrains a model without the rows its user confirmed as anomalies.
    retrain: Retrain | None = None
    # One bool per row of the dataset: held out of training (None: no row was).
    held_out: np.ndarray | None = None


@dataclass(eq=False)
class ScoredView:
    """A model's scores over one table and the threshold the user picked: what Results and Score show.

    Every threshold change goes through :meth:`set_threshold`, which also moves the widgets
    that show it (slider, share of rows); the widgets' keys come from :meth:`key`.
    """

    scored: ScoredTable
    table: Table
    # What the table was read from (upload bytes or a path), for downloads of the original cells.
    data: bytes | Path | None
    detector: BaseDetector
    threshold: float
    # The row (0-based position) whose reconstruction is shown; None shows the top flagged row.
    selected_row: int | None = None
    id: int = field(default_factory=lambda: next(_view_ids))
    # Set by set_threshold: the flagged table's rows moved, so its selection must follow.
    table_moved: bool = False
    _text: pd.DataFrame | None = field(default=None, repr=False)
    _explained: dict[int, pd.DataFrame] = field(default_factory=dict, repr=False)
    _parts: dict[int, pd.Series | None] = field(default_factory=dict, repr=False)
    _page: tuple[bytes, FlaggedRows] | None = field(default=None, repr=False)
    # One bool per row: held out of training (None: none were, or these are new rows).
    held_out: np.ndarray | None = None
    _split: tuple[HeldOutSplit | None] | None = field(default=None, repr=False)
    _held_out_drift: DriftReport | None = field(default=None, repr=False)
    # The user's ✓/✗ marks and suppression rules (shared with the model they are about).
    reviews: Reviews = field(default_factory=Reviews)
    # The scores before suppression rules, and the rules ``scored`` applies now.
    _unsuppressed: ScoredTable | None = field(default=None, repr=False)
    _rules_applied: tuple[SuppressionRule, ...] = field(default=(), repr=False)
    _keys: np.ndarray | None = field(default=None, repr=False)
    _time_order: list[np.ndarray] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.table.name

    def row_keys(self) -> np.ndarray:
        """Each row's review key (a hash of its feature values), computed once."""
        if self._keys is None:
            self._keys = row_keys(self.table.frame, list(self.detector.feature_columns))
        return self._keys

    def time_order(self) -> list[np.ndarray]:
        """A time-series model's rows of the table in time order, per series (parsed and sorted once)."""
        if self._time_order is None:
            self._time_order = self.detector.time_order(self.table.frame)
        return self._time_order

    def apply_rules(self) -> None:
        """Make ``scored`` follow the reviews' suppression rules (a no-op when they are unchanged)."""
        rules = tuple(self.reviews.rules)
        if rules == self._rules_applied:
            return
        base = self._unsuppressed or self.scored
        self._unsuppressed = base
        mask = suppressed(rules, base.shares, base.n_rows)
        self.scored = base.with_suppressed(mask if mask.any() else None)
        self._rules_applied = rules
        self._page, self._split, self.table_moved = None, None, True

    def mark(self, position: int, verdict: str | None) -> None:
        """Mark the row at ``position`` ✓ (``"anomaly"``), ✗ (``"expected"``), or clear it (None)."""
        self.reviews.mark(str(self.row_keys()[position]), position + 1, verdict)

    def verdict(self, position: int) -> str:
        return self.reviews.verdicts.get(str(self.row_keys()[position]), "")

    def held_out_drift(self) -> DriftReport | None:
        """How the held-out rows compare with the rows the model trained on (computed once)."""
        if self.held_out is None or not self.held_out.any():
            return None
        if self._held_out_drift is None:
            rows = self.table.frame.loc[self.held_out]
            scores = self.scored.scores[self.held_out]
            threshold = float(self.detector.threshold_)
            self._held_out_drift = check_drift(self.detector, rows, scores=scores, threshold=threshold)
        return self._held_out_drift

    def held_out_split(self) -> HeldOutSplit | None:
        """The labelled rows split into held-out and the rest (computed once), or None."""
        if self._split is None:
            self._split = (split_held_out(self.scored, self.held_out),)
        return self._split[0]

    def explain(self, position: int) -> pd.DataFrame:
        """Actual vs reconstructed values of one row (kept, so a threshold drag costs nothing)."""
        return _kept(
            self._explained, position,
            lambda: row_explanation(self.scored, self.detector, self.table.frame, position),
        )

    def score_parts(self, position: int) -> pd.Series | None:
        """The parts one row's score adds up from (kept, like explanations), or None."""
        def parts() -> pd.Series | None:
            table = self.detector.score_parts(self.table.frame.iloc[[position]])
            return None if table is None else table.iloc[0]

        return _kept(self._parts, position, parts)

    def flagged_page(self, threshold: float, rows: int, offset: int) -> FlaggedRows:
        """A page of the flagged rows (kept while a threshold drag leaves the same rows on it)."""
        positions = self.scored.flagged_positions(threshold, rows, offset)
        key = positions.tobytes()
        if self._page is None or self._page[0] != key:
            self._page = (key, flagged_view(self.scored, self.table.frame, threshold, rows, offset))
        return replace(self._page[1], n_flagged=self.scored.count_flagged(threshold))

    def key(self, widget: str) -> str:
        """The session-state key of one of this view's widgets ("threshold", "share", "table")."""
        return f"view{self.id}_{widget}"

    def slider_options(self) -> list[float]:
        """The thresholds the slider offers: the scored table's grid, the model's and the current one."""
        extra = [self.detector.threshold_, self.threshold]
        return np.unique(np.r_[self.scored.threshold_grid, extra]).tolist()

    def set_threshold(self, value: float) -> None:
        """Make ``value`` the threshold and move the slider and share widgets to match."""
        self.threshold = float(value)
        self.table_moved = True
        self.sync_widgets(force=True)

    def set_share(self, percent: float) -> None:
        """Set the threshold that flags ``percent`` % of the scored rows."""
        self.set_threshold(threshold_for_share(self.scored.scores, min(max(percent, 0.0), 100.0) / 100))

    def sync_widgets(self, *, force: bool = False) -> None:
        """Write the threshold into the slider's and share box's state (if unset, or ``force``)."""
        values = {
            "threshold": self.threshold,
            "share": round(100 * self.scored.share_flagged(self.threshold), 2),
        }
        for widget, value in values.items():
            if force or self.key(widget) not in st.session_state:
                st.session_state[self.key(widget)] = value

    def original_text(self) -> pd.DataFrame:
        """The table's cells as the user wrote them (read once, on the first download)."""
        if self._text is None:
            self._text = original_text(self.table, self.data)
        return self._text


@dataclass
class ScoringState:
    """The Score page: the file to score, an uploaded model bundle, and the scored result."""

    upload_id: str | None = None
    table: Table | None = None
    data: bytes | None = None
    table_error: str | None = None
    bundle_id: str | None = None
    bundle: LoadedBundle | None = None
    bundle_error: str | None = None
    view: ScoredView | None = None
    view_error: str | None = None
    # The scored file against the model's training rows (see detector.drift), with the view.
    drift: DriftReport | None = None
    # The marks and rules of the model scoring now: the session model's, or the bundle's.
    reviews: Reviews = field(default_factory=Reviews)
    bundle_reviews: Reviews = field(default_factory=Reviews)
    # Which of the file's columns can label it (two values), per set of columns asked about.
    _labels: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, repr=False)

    def forget_table(self, upload_id: str | None) -> None:
        """Drop the file to score (and its result); ``upload_id`` names the upload replacing it."""
        self.upload_id, self.table, self.data, self.table_error = upload_id, None, None, None
        self.view, self.view_error, self.drift = None, None, None
        self._labels = {}

    def label_columns(self, candidates: tuple[str, ...]) -> tuple[str, ...]:
        """The ``candidates`` that hold exactly two label values, checked once per file (every
        rerun of the Score page asks)."""
        if candidates not in self._labels:
            assert self.table is not None
            frame = self.table.frame
            self._labels[candidates] = tuple(c for c in candidates if _two_valued(frame[c]))
        return self._labels[candidates]

    def scored_view(self, detector: BaseDetector, *, label: str | None = None) -> ScoredView | None:
        """The loaded table's result with ``detector`` (and ``label``) if scored already, else None."""
        view = self.view
        if (
            view is not None and view.detector is detector and view.table is self.table
            and view.scored.label_column == label and view.reviews is self.reviews
        ):
            return view
        return None

    def score(
        self, detector: BaseDetector, *, threshold: float, label: str | None,
        timestamp: str | None,
    ) -> ScoredView | None:
        """Score the loaded table with ``detector`` unless that was already done; keep any error."""
        table = self.table
        if table is None:
            return None
        view = self.scored_view(detector, label=label)
        if view is not None:
            return view
        self.view, self.view_error, self.drift = None, None, None
        try:
            scored = score_table(
                detector, table.frame, label=label, timestamp=timestamp,
            )
        except DataError as exc:
            self.view_error = str(exc)
            return None
        self.view = ScoredView(
            scored=scored, table=table, data=self.data, detector=detector, threshold=threshold,
            reviews=self.reviews,
        )
        # How the file compares with the training rows, at the model's own threshold: said
        # before any flag is read, once per scoring (not on every threshold drag).
        drift = check_drift(detector, table.frame)
        expected = getattr(detector, "contamination", None)
        self.drift = drift.with_flags(scored.scores, detector.threshold_, expected)
        return self.view


def _two_valued(series: pd.Series) -> bool:
    try:
        label_vector(series)
    except DataError:
        return False
    return series.nunique(dropna=True) == 2


@dataclass
class AppState:
    """Everything the app remembers for one browser session."""

    dataset: DatasetState | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)
    training: TrainingState | None = None
    model: ModelState | None = None
    # The model's verdict on the table it was trained on (the Results page); replaced with
    # every new model, usually already scored by the training job.
    results: ScoredView | None = None
    # Which method's scores the Results workbench shows (a kind of ModelState.methods()).
    results_kind: str = DEFAULT_KIND
    _baseline_views: dict[str, ScoredView] = field(default_factory=dict, repr=False)
    scoring: ScoringState = field(default_factory=ScoringState)
    # Identity (file_id) of the last upload handled, so a file is parsed once, not on every rerun.
    upload_id: str | None = None
    upload_error: str | None = None
    sample_loaded_on_start: bool = False

    # ----------------------------------------------------------------- dataset

    def load_dataset(
        self, table: Table, *, source: str, data: bytes | Path | None = None,
    ) -> DatasetState:
        """Make ``table`` the current dataset, with column roles inferred from its profile.

        ``source`` names where it came from (``"upload:<file id>"``, ``"sample:<file>"``).
        """
        profiles = profile_columns(table.frame)
        roles = infer_roles(table.frame, profiles)
        dataset = DatasetState(table=table, source=source, data=data, profiles=profiles, roles=roles)
        # A table with a column of times starts as a time series (the Data page fills in the
        # series column and the window).
        dataset.time_series = TimeSeries(enabled=dataset.time_series_by_default())
        self.dataset = dataset
        return dataset

    # ----------------------------------------------------------------- training

    @property
    def training_active(self) -> bool:
        return self.training is not None and self.training.job.progress().active

    def start_training(self, detector: BaseDetector, *, total_epochs: int = 0) -> TrainingState:
        """Start fitting ``detector`` on the current dataset's training rows in the background.

        ``total_epochs`` is the budget progress shows until the fit reports its own.
        """
        if self.training_active:
            raise RuntimeError("A training is already running in this session.")
        dataset = self.dataset
        if dataset is None:
            raise DataError("Load a dataset on the Data page before training.")
        held_out = dataset.held_out_rows()
        rows = dataset.training_frame()
        # The job scores the whole table after training, so Results opens at once; after the
        # autoencoder it fits the baselines too, for the comparison.
        job = TrainingJob(
            detector, rows, score_rows=dataset.frame, score_roles=dataset.roles, total_epochs=total_epochs,
            baselines=() if FAMILIES[detector.kind].baseline else baseline_kinds(),
            on_start=freeze_what_is_loaded, **job_limits(),
        )
        self.training = TrainingState(
            job=job.start(), trained_on=TrainedOn.of(dataset, len(rows)), dataset=dataset, held_out=held_out,
        )
        return self.training

    def retrain_without_confirmed(self) -> TrainingState:
        """Train the current model again, on its training rows minus those its user marked ✓.

        The reviews carry over to the new model, so Results can set its flags on the reviewed
        rows against the old one's.
        """
        model, view = self.model, self.results
        if self.training_active:
            raise RuntimeError("A training is already running in this session.")
        if model is None or model.dataset is None or view is None or view.detector is not model.detector:
            raise DataError("There is no model with results to retrain.")
        keys = view.row_keys()
        confirmed = model.reviews.confirmed_rows(keys)
        exclude = confirmed if model.held_out is None else confirmed | model.held_out
        trained_on = model.trained_on
        rows = training_frame_of(
            model.dataset.frame, trained_on.roles, trained_on.time_series,
            normal_only=trained_on.normal_only, held_out=exclude,
        )
        detector = clone(model.detector)
        job = TrainingJob(
            detector, rows, score_rows=model.dataset.frame, score_roles=trained_on.roles,
            baselines=() if FAMILIES[detector.kind].baseline else baseline_kinds(),
            on_start=freeze_what_is_loaded, **job_limits(),
        )
        retrain = Retrain(
            left_out=int(confirmed.sum()),
            before=model.reviews.summary(keys, view.scored.flags(view.threshold)),
            threshold_before=view.threshold,
        )
        self.training = TrainingState(
            job=job.start(), trained_on=replace(trained_on, n_rows=len(rows)), dataset=model.dataset,
            held_out=model.held_out, retrain=retrain,
        )
        return self.training

    def collect_training(self) -> bool:
        """Move a finished job's model into ``model``; return True if anything changed.

        A failed or cancelled job leaves the previous model in place.
        """
        training = self.training
        if training is None or training.collected or training.job.progress().active:
            return False
        training.collected = True
        job = training.job
        if not job.fitted:
            return True
        progress = job.progress()
        detector = job.detector
        self.model = ModelState(
            detector=detector,  # type: ignore[arg-type]
            trained_on=training.trained_on,
            history=progress.history,
            seconds=progress.elapsed,
            stopped_by_user=progress.status == "stopped",
            dataset=training.dataset,
            baselines=job.baselines,
            comparison_error=job.comparison_error,
            held_out=training.held_out,
            # Marks are about rows of the table: they stay when a model of the same table replaces this one.
            reviews=(
                self.model.reviews
                if self.model is not None and self.model.dataset is training.dataset
                else Reviews()
            ),
            retrained=training.retrain,
        )
        self.results = None
        self.results_kind = detector.kind
        self._baseline_views = {}
        if job.scored is not None and training.dataset is not None:
            self.results = self._view(job.scored, training.dataset, detector, training.held_out)
            self.results.reviews = self.model.reviews
        return True

    # ----------------------------------------------------------------- results

    def ensure_results(self) -> ScoredView | None:
        """The current model's results, scoring its table now if the training job did not.

        Raises ``DataError`` when the table cannot be scored.
        """
        model = self.model
        if model is None or model.dataset is None:
            return None
        if self.results is None or self.results.detector is not model.detector:
            roles = model.trained_on.roles
            scored = score_table(
                model.detector, model.dataset.frame, label=roles.label, timestamp=roles.timestamp,
            )
            self.results = self._view(scored, model.dataset, model.detector, model.held_out)
            self.results.reviews = model.reviews
        baselines = model.baselines
        kind = self.results_kind
        if kind == model.detector.kind or baselines is None or kind not in baselines.scores:
            return self.results
        view = self._baseline_views.get(kind)
        if view is None:
            view = self._view(
                baselines.scored_table(kind), model.dataset, baselines.detectors[kind], model.held_out
            )
            # Start at the share of rows the primary flags at the user's threshold, as compared.
            view.threshold = baselines.thresholds_at_share(self.results.threshold)[kind]
            self._baseline_views[kind] = view
        return view

    @staticmethod
    def _view(
        scored: ScoredTable,
        dataset: DatasetState,
        detector: BaseDetector,
        held_out: np.ndarray | None = None,
    ) -> ScoredView:
        return ScoredView(
            scored=scored, table=dataset.table, data=dataset.data, detector=detector,
            threshold=float(detector.threshold_), held_out=held_out,
        )

    def model_is_current(self) -> bool:
        """Whether the model was trained on the current dataset with its current choices."""
        model, dataset = self.model, self.dataset
        return (
            model is not None
            and dataset is not None
            and model.trained_on.matches(dataset)
        )


#: A training stops itself when no page has polled it for this long (its tab was closed).
ABANDONED_AFTER_SECONDS = 600
#: The longest a training may run, in minutes, unless DETECTOR_MAX_TRAINING_MINUTES says otherwise.
MAX_TRAINING_MINUTES = 60


def job_limits() -> dict[str, float]:
    """The bounds every training job of the app gets: a time limit and the abandoned-tab rule."""
    try:
        minutes = float(os.environ.get("DETECTOR_MAX_TRAINING_MINUTES", MAX_TRAINING_MINUTES))
    except ValueError:
        minutes = MAX_TRAINING_MINUTES
    return {"max_seconds": max(minutes, 1.0) * 60, "abandon_after": ABANDONED_AFTER_SECONDS}


def _kept(cache: dict[int, Any], position: int, compute: Callable[[], Any]) -> Any:
    """``cache[position]``, computed once; at most 64 rows are kept, so memory stays small."""
    if position not in cache:
        if len(cache) >= 64:
            cache.clear()
        cache[position] = compute()
    return cache[position]


def remember_time_series_choice(revision: int, key: str) -> None:
    """The Data page's time-series toggle's callback: the user's answer now holds over the default.

    Defined here, not on the page, and given the dataset's revision, not the dataset: Streamlit
    keeps a callback and its arguments, and a page's function would keep that run's globals (and
    so a replaced table) alive.
    """
    dataset = get_state().dataset
    if dataset is not None and dataset.revision == revision:
        dataset.time_series_choice = bool(st.session_state[key])


def get_state() -> AppState:
    """Return this session's AppState, creating it on first use."""
    state = st.session_state.get(STATE_KEY)
    if not isinstance(state, AppState):
        state = AppState()
        st.session_state[STATE_KEY] = state
    return state


__all__ = [
    "STATE_KEY",
    "AppState",
    "ComparisonCache",
    "DatasetState",
    "ModelState",
    "ScoredView",
    "ScoringState",
    "TrainSettings",
    "TrainedOn",
    "TrainingState",
    "get_state",
]
