"""Baselines beside a trained detector: fit them on the same rows, score the same table.

This is the heavy half of "is the autoencoder worth it?": it runs once, in the training job,
after the autoencoder. The light half (how the methods agree at the threshold the user picks,
and which synthetic oddities each catches there) is :mod:`detector.comparison` over what this
returns, so a threshold drag never refits or rescores anything.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from detector.base import BaseDetector
from detector.comparison import Comparison, Rankings, rank_methods
from detector.registry import detector_class
from detector.results import ScoredTable, score_table
from detector.sensitivity import SensitivityProfile, SyntheticScores, score_synthetic
from detector.thresholds import threshold_in_sorted

# Synthetic rows of each anomaly type scored by every method (see detector.sensitivity).
SYNTHETIC_PER_TYPE = 200
# The parameters a baseline takes over from the detector it is compared with.
_SHARED_PARAMS = ("contamination", "preprocess")


@dataclass(eq=False)
class Baselines:
    """The primary detector and the baselines fitted beside it, each with its verdict on one table.

    ``synthetic`` holds every method's scores of rows injected with the four synthetic anomaly
    types; ``seconds`` is the time the baselines took, fit and scoring, and ``timings`` splits
    it by baseline (and ``"synthetic"`` for the injected rows).
    """

    primary: str
    detectors: dict[str, BaseDetector]
    scored: dict[str, ScoredTable]
    synthetic: SyntheticScores
    seconds: float
    timings: dict[str, float]
    rankings: Rankings

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every method, the primary first."""
        return tuple(self.scored)

    def title(self, kind: str) -> str:
        return self.detectors[kind].title

    def scores(self) -> dict[str, np.ndarray]:
        """Each method's scores over the table's rows, the primary first."""
        return {kind: scored.scores for kind, scored in self.scored.items()}

    def thresholds_at_share(self, threshold: float) -> dict[str, float]:
        """Each method's threshold flagging the share of rows the primary flags at ``threshold``."""
        share = self.scored[self.primary].share_flagged(threshold)
        descending = self.rankings.descending
        return {
            kind: threshold if kind == self.primary
            else threshold_in_sorted(descending[kind], share) if len(descending[kind]) else np.inf
            for kind in self.scored
        }

    def comparison(self, threshold: float) -> Comparison:
        """Every method against the primary at the share of rows it flags at ``threshold``."""
        return self.rankings.at_share(self.scored[self.primary].share_flagged(threshold))

    def sensitivity(self, threshold: float) -> SensitivityProfile:
        """Share of each synthetic anomaly type each method flags, all at one flagged share.

        Which kinds of oddity each method can see at the user's threshold, not recall on real
        anomalies: the rows are made up from the table's own columns.
        """
        return self.synthetic.profile(self.thresholds_at_share(threshold))


def fit_baselines(
    detector: BaseDetector,
    X: pd.DataFrame,
    rows: pd.DataFrame,
    kinds: Sequence[str],
    *,
    primary: ScoredTable,
    label: str | None = None,
    timestamp: str | None = None,
    seed: int = 0,
) -> Baselines:
    """Fit each family in ``kinds`` on ``X`` as ``detector`` was, and score ``rows`` with all of them.

    The baselines read the same columns with the same preprocessing as ``detector``, so
    categories and gaps are handled alike; ``primary`` is ``detector``'s verdict on ``rows``
    (its 2-D projection is reused).
    """
    started = time.perf_counter()
    params = detector.get_params(deep=False)
    shared = {name: params[name] for name in _SHARED_PARAMS if name in params}
    columns = getattr(detector, "columns_", None)
    fitted: dict[str, BaseDetector] = {detector.kind: detector}
    scored: dict[str, ScoredTable] = {detector.kind: primary}
    timings: dict[str, float] = {}
    for kind in kinds:
        if kind == detector.kind:
            continue
        began = time.perf_counter()
        baseline = detector_class(kind)(**shared, columns=columns).fit(X)
        fitted[kind] = baseline
        scored[kind] = score_table(
            baseline, rows, label=label, timestamp=timestamp, projection=primary.projection,
        )
        timings[kind] = time.perf_counter() - began
    began = time.perf_counter()
    synthetic = score_synthetic(fitted, X, n_per_type=SYNTHETIC_PER_TYPE, seed=seed)
    timings["synthetic"] = time.perf_counter() - began
    began = time.perf_counter()
    rankings = rank_methods(
        {kind: table.scores for kind, table in scored.items()}, primary=detector.kind, labels=primary.labels,
        titles={kind: method.title for kind, method in fitted.items()},
    )
    timings["rankings"] = time.perf_counter() - began
    return Baselines(
        primary=detector.kind,
        detectors=fitted,
        scored=scored,
        synthetic=synthetic,
        seconds=time.perf_counter() - started,
        timings=timings,
        rankings=rankings,
    )


__all__ = ["SYNTHETIC_PER_TYPE", "Baselines", "fit_baselines"]
