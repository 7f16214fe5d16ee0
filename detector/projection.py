"""The rows in 2-D, for a scatter: the first two principal components of what the model reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from detector.base import BaseDetector

# Rows the projection is fitted on (all rows are then projected): PCA on a sample this size
# finds the same two directions as on millions of rows, in a fraction of the time.
PROJECTION_FIT_ROWS = 20_000
# Rows transformed per step when projecting, so the model's inputs never exist all at once.
_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class Projection:
    """Each row as a point in 2-D, and what the two axes mean."""

    xy: np.ndarray
    axis_titles: tuple[str, str]
    description: str



def project_rows(detector: BaseDetector, inputs: pd.DataFrame, *, seed: int = 0) -> Projection | None:
    """The rows in 2-D: the first two principal components of the model's (scaled) inputs.

    PCA is fitted on at most ``PROJECTION_FIT_ROWS`` rows, then every row is projected, so
    that every flagged row can be drawn. None when the model has fewer than two inputs.
    """
    from sklearn.decomposition import PCA

    if len(inputs) < 2:
        return None
    sample = detector.model_inputs(inputs.iloc[:2])
    if sample is None or sample.shape[1] < 2:
        return None
    rng = np.random.default_rng(seed)
    fit_rows = inputs
    if len(inputs) > PROJECTION_FIT_ROWS:
        fit_rows = inputs.iloc[np.sort(rng.choice(len(inputs), PROJECTION_FIT_ROWS, replace=False))]
    pca = PCA(n_components=2, random_state=seed).fit(detector.model_inputs(fit_rows))
    xy = np.empty((len(inputs), 2), dtype=np.float32)
    for start in range(0, len(inputs), _CHUNK_ROWS):
        chunk = inputs.iloc[start : start + _CHUNK_ROWS]
        xy[start : start + len(chunk)] = pca.transform(detector.model_inputs(chunk))
    ratios = pca.explained_variance_ratio_
    return Projection(
        xy=xy,
        axis_titles=(
            f"component 1 ({ratios[0]:.0%} of the variation)",
            f"component 2 ({ratios[1]:.0%} of the variation)",
        ),
        description="each row's scaled feature values, projected onto the two directions in "
        "which the rows vary most (PCA)",
    )


__all__ = ["PROJECTION_FIT_ROWS", "Projection", "project_rows"]
