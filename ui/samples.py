"""The sample datasets bundled with the app, read once per server process."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from detector.columns import ColumnRoles
from detector.table import Table, read_table
from ui.state import AppState

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"


@dataclass(frozen=True)
class Sample:
    """A bundled CSV and what to say about it."""

    file: str
    title: str
    description: str
    label: str | None = None


SAMPLES: tuple[Sample, ...] = (
    Sample(
        "breast_cancer.csv",
        "Breast cancer biopsies",
        "Cell measurements of benign tumours and a few malignant ones. "
        "The label `diagnosis` marks malignant rows as the anomalies to find.",
        label="diagnosis",
    ),
    Sample(
        "sensors.csv",
        "Machine sensors",
        "A week of readings from three hydraulic presses, every 5 minutes, with injected faults "
        "labelled in `is_anomaly`.",
        label="is_anomaly",
    ),
)
DEFAULT_SAMPLE = SAMPLES[0]


def available_samples() -> list[Sample]:
    """The samples whose file is present (a trimmed install may ship without some)."""
    return [sample for sample in SAMPLES if (SAMPLE_DIR / sample.file).is_file()]


# Shared by every session (one entry per file); load_sample gives each session its own frame.
@st.cache_resource(show_spinner=False, max_entries=len(SAMPLES))
def read_sample(file: str) -> Table:
    """Read a bundled sample by file name."""
    return read_table(SAMPLE_DIR / file, name=file)


def load_sample(state: AppState, sample: Sample) -> None:
    """Make ``sample`` the session's dataset, with its known label column set."""
    shared = read_sample(sample.file)
    # Sessions share the cached table's memory but not its objects: the frame is copy-on-write,
    # so a change made through one session's frame copies the data instead of reaching others.
    table = replace(shared, frame=shared.frame.copy(deep=False))
    dataset = state.load_dataset(table, source=f"sample:{sample.file}", data=SAMPLE_DIR / sample.file)
    roles, label = dataset.roles, sample.label
    if label is not None and label != roles.label:
        # We know our own files better than a guess from column names can.
        dataset.roles = ColumnRoles(
            numeric=tuple(c for c in roles.numeric if c != label),
            categorical=tuple(c for c in roles.categorical if c != label),
            label=label,
            timestamp=roles.timestamp,
        )
