"""Shared test data: small tables with known anomalies, and a fast autoencoder config."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if os.environ.get("DETECTOR_WITHOUT_TEXT"):
    import sys

    # As if the text extra were not installed (scripts/test.sh runs a part of the suite so).
    sys.modules["wordllama"] = None  # type: ignore[assignment]

from detector.autoencoder_config import AutoencoderConfig

# Small and quick: a handful of epochs on a few hundred rows trains in about a second.
TINY = AutoencoderConfig(hidden_layers=(16,), bottleneck=2, epochs=40, patience=8, batch_size=32, seed=0)


def correlated_table(n_rows: int = 300, n_outliers: int = 6, seed: int = 0) -> pd.DataFrame:
    """Rows on a 2-D manifold in 4 numeric columns plus a category; the last rows break the pattern."""
    rng = np.random.default_rng(seed)
    t = rng.normal(size=(n_rows, 2))
    frame = pd.DataFrame(
        {
            "a": t[:, 0] + 0.05 * rng.normal(size=n_rows),
            "b": 2 * t[:, 0] - t[:, 1] + 0.05 * rng.normal(size=n_rows),
            "c": t[:, 1] + 0.05 * rng.normal(size=n_rows),
            "d": t[:, 0] + t[:, 1] + 0.05 * rng.normal(size=n_rows),
            # The site follows the first latent factor, so a good model can predict it.
            "site": np.where(t[:, 0] > 0.5, "north", np.where(t[:, 0] < -0.5, "south", "east")),
        }
    )
    # Outliers: column "b" contradicts a and c strongly, everything else looks ordinary.
    frame.loc[n_rows - n_outliers :, "b"] = frame.loc[n_rows - n_outliers :, "b"] + 6.0
    return frame


@pytest.fixture
def table() -> pd.DataFrame:
    return correlated_table()


@pytest.fixture
def outlier_mask() -> np.ndarray:
    mask = np.zeros(300, dtype=bool)
    mask[-6:] = True
    return mask
