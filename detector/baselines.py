"""Baselines beside a trained detector: fit them on the same rows, score the same table.

This is the heavy half of "is the autoencoder worth it?": it runs once, in the training job,
after the autoencoder. The light half (how the methods agree at the threshold the user picks,
and which synthetic oddities each catches there) is :mod:`detector.comparison` over what this
returns, so a threshold drag never refits or rescores anything.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

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
# Rows the baselines are fitted on at most (a seeded sample of the training rows; every row of
# the table is still scored): Isolation Forest grows each tree on 256 rows anyway, and ECOD's
# and PCA's distributions are as well known from 20,000 rows as from a million.
FIT_ROWS = 20_000
# The parameters a baseline takes over from the detector it is compared with.
_SHARED_PARAMS = ("contamination", "preprocess")


@dataclass(eq=False)
class Baselines:
    """The primary detector and the baselines fitted beside it, with every method's scores of one table.

    ``scores`` are each method's scores of the table's rows (the primary first); a baseline's
    full verdict (histogram, curves, explanations) is built by :meth:`scored_table` only when
    asked for. ``synthetic`` holds every method's scores of rows injected with the four
    synthetic anomaly types; ``seconds`` is the time the baselines took, fit and scoring, and
    ``timings`` splits it by step.
    """

    primary: str
    detectors: dict[str, BaseDetector]
    scores: dict[str, np.ndarray]
    synthetic: SyntheticScores
    seconds: float
    timings: dict[str, float]
    rankings: Rankings
    primary_table: ScoredTable = field(repr=False)
    rows: pd.DataFrame = field(repr=False)
    timestamp: str | None = None
    _tables: dict[str, ScoredTable] = field(default_factory=dict, repr=False)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every method, the primary first."""
        return tuple(self.scores)

    def title(self, kind: str) -> str:
        return self.detectors[kind].title

    def scored_table(self, kind: str) -> ScoredTable:
        """``kind``'s verdict on the table, like the primary's (scored again once, then kept)."""
        if kind == self.primary:
            return self.primary_table
        if kind not in self._tables:
            table = self.primary_table
            self._tables[kind] = score_table(
                self.detectors[kind], self.rows, label=table.label_column, timestamp=self.timestamp,
                projection=table.projection,
            )
        return self._tables[kind]

    def thresholds_at_share(self, threshold: float) -> dict[str, float]:
        """Each method's threshold flagging the share of rows the primary flags at ``threshold``."""
        share = self.primary_table.share_flagged(threshold)
        descending = self.rankings.descending
        return {
            kind: threshold if kind == self.primary
            else threshold_in_sorted(descending[kind], share) if len(descending[kind]) else np.inf
            for kind in self.scores
        }

    def comparison(self, threshold: float) -> Comparison:
        """Every method against the primary at the share of rows it flags at ``threshold``."""
        return self.rankings.at_share(self.primary_table.share_flagged(threshold))

    def sensitivity(self, threshold: float) -> SensitivityProfile:
        """Share of each synthetic anomaly type each method flags, all at one flagged share.

        Which kinds of oddity each method can see at the user's threshold, not recall on real
        anomalies: the rows are made up from the table's own columns.
        """
        return self.synthetic.profile(self.thresholds_at_share(threshold))


@dataclass(eq=False)
class BaselineFits:
    """The baselines fitted and their scores of the table, before the primary is compared with them.

    What :func:`fit_baseline_models` returns: it needs only the primary's parameters, not its
    fitted model, so a training job runs it while the primary trains.
    """

    detectors: dict[str, BaseDetector]
    scores: dict[str, np.ndarray]
    timings: dict[str, float]
    sample: pd.DataFrame = field(repr=False)
    seconds: float = 0.0


def fit_baseline_models(
    detector: BaseDetector, X: pd.DataFrame, rows: pd.DataFrame, kinds: Sequence[str], *,
    seed: int = 0, threads: int | None = None,
) -> BaselineFits:
    """Fit each family in ``kinds`` (but ``detector``'s own) on ``X`` as ``detector`` is set up.

    The baselines read the same columns with the same preprocessing parameters as
    ``detector``, so categories and gaps are handled alike, and are fitted on at most
    ``FIT_ROWS`` rows of ``X``; each then scores every row of ``rows``. ``detector`` need not
    be fitted yet: only its parameters are read. ``threads`` bounds how many families fit at
    once (all of them, up to the number of cores, by default).
    """
    started = time.perf_counter()
    params = detector.get_params(deep=False)
    shared = {name: params[name] for name in _SHARED_PARAMS if name in params}
    columns = params.get("columns")
    sample = X
    if len(X) > FIT_ROWS:
        sample = X.iloc[np.sort(np.random.default_rng(seed).choice(len(X), FIT_ROWS, replace=False))]
    fits = BaselineFits(detectors={}, scores={}, timings={}, sample=sample)

    def fit_and_score(kind: str) -> tuple[BaseDetector, np.ndarray, float]:
        began = time.perf_counter()
        baseline = detector_class(kind)(**shared, columns=columns).fit(sample)
        return baseline, baseline.decision_function(rows.loc[:, list(baseline.feature_columns)]), (
            time.perf_counter() - began
        )

    # The families are numpy and scikit-learn code that releases the GIL in its heavy parts:
    # side by side they take about the time of the slowest on a 2-core machine.
    others = [kind for kind in kinds if kind != detector.kind]
    workers = max(1, min(len(others), threads or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for kind, (baseline, values, seconds) in zip(others, pool.map(fit_and_score, others), strict=True):
            fits.detectors[kind], fits.scores[kind], fits.timings[kind] = baseline, values, seconds
    fits.seconds = time.perf_counter() - started
    return fits


def compare_with_baselines(
    detector: BaseDetector,
    fits: BaselineFits,
    rows: pd.DataFrame,
    *,
    primary: ScoredTable,
    timestamp: str | None = None,
    seed: int = 0,
) -> Baselines:
    """Put the fitted ``detector`` beside ``fits``: synthetic anomalies for all, and the rankings.

    ``primary`` is ``detector``'s verdict on ``rows``, the table ``fits`` scored (its 2-D
    projection is reused).
    """
    started = time.perf_counter()
    fitted: dict[str, BaseDetector] = {detector.kind: detector, **fits.detectors}
    scores: dict[str, np.ndarray] = {detector.kind: primary.scores, **fits.scores}
    timings = dict(fits.timings)
    synthetic = score_synthetic(fitted, fits.sample, n_per_type=SYNTHETIC_PER_TYPE, seed=seed)
    timings["synthetic"] = time.perf_counter() - started
    began = time.perf_counter()
    rankings = rank_methods(
        scores, primary=detector.kind, labels=primary.labels,
        titles={kind: method.title for kind, method in fitted.items()},
    )
    timings["rankings"] = time.perf_counter() - began
    return Baselines(
        primary=detector.kind,
        detectors=fitted,
        scores=scores,
        synthetic=synthetic,
        seconds=fits.seconds + time.perf_counter() - started,
        timings=timings,
        rankings=rankings,
        primary_table=primary,
        rows=rows,
        timestamp=timestamp,
    )


def fit_baselines(
    detector: BaseDetector,
    X: pd.DataFrame,
    rows: pd.DataFrame,
    kinds: Sequence[str],
    *,
    primary: ScoredTable,
    timestamp: str | None = None,
    seed: int = 0,
) -> Baselines:
    """Fit each family in ``kinds`` on ``X`` as ``detector`` was, and score ``rows`` with all of them.

    :func:`fit_baseline_models` then :func:`compare_with_baselines`, one after the other;
    ``primary`` is the fitted ``detector``'s verdict on ``rows``.
    """
    fits = fit_baseline_models(detector, X, rows, kinds, seed=seed)
    return compare_with_baselines(detector, fits, rows, primary=primary, timestamp=timestamp, seed=seed)


__all__ = [
    "FIT_ROWS", "SYNTHETIC_PER_TYPE", "BaselineFits", "Baselines", "compare_with_baselines",
    "fit_baseline_models", "fit_baselines",
]
