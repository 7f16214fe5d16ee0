"""The dashboard's session state: one typed object per browser session, behind get_state()."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from detector.columns import ColumnProfile, ColumnRoles, infer_roles, label_vector, profile_columns
from detector.errors import DataError
from detector.model import AutoencoderConfig
from detector.preprocessing import PreprocessConfig
from detector.training import PRESETS, TrainingJob, network_inputs, training_rows

if TYPE_CHECKING:
    import pandas as pd

    from detector.model import AutoencoderDetector
    from detector.table import Table

# The only session_state key the app owns; everything else hangs off the AppState stored here.
STATE_KEY = "app_state"
DEFAULT_PRESET = "Fast"

# Dataset revisions are unique across sessions too, so widget keys and caches never collide.
_revisions = itertools.count(1)


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
    revision: int = field(default_factory=lambda: next(_revisions))
    _inputs: tuple[Any, int] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame

    @property
    def shape(self) -> tuple[int, int]:
        return self.table.frame.shape

    def choices(self) -> tuple[ColumnRoles, PreprocessConfig, bool]:
        """What a model trained on this table depends on, to tell whether a model is current."""
        return self.roles, self.preprocess, self.normal_only

    def training_frame(self) -> pd.DataFrame:
        """The rows and feature columns training uses (``DataError`` if the choices don't fit)."""
        return training_rows(self.frame, self.roles, normal_only=self.normal_only)

    def n_training_rows(self) -> int:
        """How many rows training would use, without copying them."""
        if not self.normal_only or self.roles.label is None:
            return len(self.frame)
        return int((label_vector(self.frame[self.roles.label]) == 0).sum())

    def network_inputs(self) -> int:
        """How many inputs the network gets once features are encoded (cached per choice)."""
        key = self.choices()
        if self._inputs is None or self._inputs[0] != key:
            self._inputs = (key, network_inputs(self.training_frame(), self.roles, self.preprocess))
        return self._inputs[1]


@dataclass
class TrainSettings:
    """The Train page's form: a preset and the model configuration derived from it."""

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

    @classmethod
    def of(cls, dataset: DatasetState, n_rows: int) -> TrainedOn:
        return cls(
            dataset_name=dataset.name,
            dataset_revision=dataset.revision,
            roles=dataset.roles,
            preprocess=dataset.preprocess,
            normal_only=dataset.normal_only,
            n_rows=n_rows,
        )

    def matches(self, dataset: DatasetState) -> bool:
        return self.dataset_revision == dataset.revision and (
            self.roles, self.preprocess, self.normal_only
        ) == dataset.choices()


@dataclass
class ModelState:
    """A trained detector and what it was trained on."""

    detector: AutoencoderDetector
    trained_on: TrainedOn
    history: dict[str, list[float]]
    seconds: float
    stopped_by_user: bool
    trained_at: datetime = field(default_factory=datetime.now)


@dataclass
class TrainingState:
    """The session's training job and what it was started on."""

    job: TrainingJob
    trained_on: TrainedOn
    collected: bool = False


@dataclass
class AppState:
    """Everything the app remembers for one browser session."""

    dataset: DatasetState | None = None
    settings: TrainSettings = field(default_factory=TrainSettings)
    training: TrainingState | None = None
    model: ModelState | None = None
    # Filled by the Results and Score pages; cleared whenever a new model arrives.
    scores: Any = None
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
        self.dataset = DatasetState(
            table=table, source=source, data=data, profiles=profiles, roles=roles,
        )
        return self.dataset

    # ----------------------------------------------------------------- training

    @property
    def training_active(self) -> bool:
        return self.training is not None and self.training.job.progress().active

    def start_training(self, detector: AutoencoderDetector) -> TrainingState:
        """Start fitting ``detector`` on the current dataset's training rows in the background."""
        if self.training_active:
            raise RuntimeError("A training is already running in this session.")
        dataset = self.dataset
        if dataset is None:
            raise DataError("Load a dataset on the Data page before training.")
        rows = dataset.training_frame()
        self.training = TrainingState(
            job=TrainingJob(detector, rows).start(), trained_on=TrainedOn.of(dataset, len(rows)),
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
            history={"loss": list(progress.loss), "val_loss": list(progress.val_loss)},
            seconds=progress.elapsed,
            stopped_by_user=progress.status == "stopped",
        )
        self.scores = None
        return True

    def model_is_current(self) -> bool:
        """Whether the model was trained on the current dataset with its current choices."""
        model, dataset = self.model, self.dataset
        return (
            model is not None
            and dataset is not None
            and model.trained_on.matches(dataset)
        )


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
    "DatasetState",
    "ModelState",
    "TrainSettings",
    "TrainedOn",
    "TrainingState",
    "get_state",
]
