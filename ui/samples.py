"""The sample datasets bundled with the app, read once per server process."""

from __future__ import annotations

from dataclasses import dataclass
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


# Shared by every session: sessions only read the frame (training copies the rows it uses).
@st.cache_resource(show_spinner=False, max_entries=len(SAMPLES))
def read_sample(file: str) -> Table:
    """Read a bundled sample by file name."""
    return read_table(SAMPLE_DIR / file, name=file)


def load_sample(state: AppState, sample: Sample) -> None:
    """Make ``sample`` the session's dataset, with its known label column set."""
    dataset = state.load_dataset(
        read_sample(sample.file), source=f"sample:{sample.file}", data=SAMPLE_DIR / sample.file,
    )
    roles, label = dataset.roles, sample.label
    if label is not None and label != roles.label:
        # We know our own files better than a guess from column names can.
        dataset.roles = ColumnRoles(
            numeric=tuple(c for c in roles.numeric if c != label),
            categorical=tuple(c for c in roles.categorical if c != label),
            label=label,
            timestamp=roles.timestamp,
        )
