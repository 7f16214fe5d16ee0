"""How rare a score is among the training rows' scores, in one unit that adds across views.

A :class:`TailModel` turns a raw score (a reconstruction error, a distance, a path length)
into its surprisal: ``-log`` of the share of training rows that score at least as high.
Surprisals of different views add up meaningfully (independent rarities multiply), which is
how ECOD combines columns and how the autoencoder combines its parts. Up to the highest
training score the share is the training rows' own (empirical); beyond it an exponential tail,
its slope fitted to the top tenth of the training scores, takes over, so that a new row more
extreme than every training row still scores higher the further out it lies, instead of
stopping at ``log(n + 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.errors import DataError

# The top share of training scores whose mean excess sets the slope of the tail beyond them.
KNEE = 0.9
# Training scores kept at most (evenly spaced order statistics; the share between them is
# interpolated): a million rows need not be stored to know their distribution.
MAX_POINTS = 10_000

# In nats: 2.3 is rarer than 90% of training rows, 4.6 than 99%, 6.9 than 99.9%.
SURPRISAL_WORDS = (
    "Each part is how rare the row is in that view, in nats (−log of the share of training rows "
    "at least as extreme): 2.3 is rarer than 90% of them, 4.6 than 99%, 6.9 than 99.9%."
)


@dataclass(frozen=True, eq=False)
class TailModel:
    """The training scores of one view, as what :meth:`surprisal` needs.

    ``points`` are the distinct training scores, ascending (all of them, or at most
    ``MAX_POINTS`` evenly spaced), ``ranks`` how many of the ``n`` training scores lie strictly
    below each, ``knee`` the highest training
    score, where the exponential tail starts, and ``scale`` its slope: the mean excess of the
    scores above the ``KNEE`` quantile.
    """

    points: np.ndarray
    ranks: np.ndarray
    n: int
    knee: float
    scale: float

    @classmethod
    def fit(cls, scores: np.ndarray) -> TailModel:
        """Learn the distribution of finite ``scores`` (at least one)."""
        values = np.sort(np.asarray(scores, dtype=np.float64)[np.isfinite(scores)])
        if values.size == 0:
            raise ValueError("A tail model needs at least one finite score.")
        n = values.size
        # Each distinct score with the number of training scores strictly below it, so that
        # tied scores share the share of rows at least as high (a tie is not a rarity).
        distinct, below = np.unique(values, return_index=True)
        spaced = np.linspace(0, len(distinct) - 1, min(len(distinct), MAX_POINTS))
        keep = np.unique(spaced.round().astype(np.int64))
        knee = float(values[-1])
        upper = float(np.quantile(values, KNEE))
        excess = values[values > upper] - upper
        spread = float(values[-1] - values[0])
        # Scores that tie at the top give no excess; any new score past them is then rarer
        # than every training row, by a margin of the scores' own magnitude.
        floor = max(spread, abs(knee), 1.0) * 1e-6
        scale = max(float(excess.mean()) if excess.size else 0.0, floor)
        return cls(points=distinct[keep], ranks=below[keep].astype(np.float64), n=n, knee=knee, scale=scale)

    def surprisal(self, scores: np.ndarray) -> np.ndarray:
        """``-log`` of the share of training scores at least as high as each score (NaN stays NaN)."""
        values = np.asarray(scores, dtype=np.float64)
        # Training scores strictly below each score, interpolated between the kept points; the
        # share at least as high, out of n + 1 (so the highest training score has 1 / (n + 1)).
        shares = (self.n - self._below(values)) / (self.n + 1.0)
        knee_share = (self.n - self._below(np.array([self.knee]))[0]) / (self.n + 1.0)
        beyond = values > self.knee
        # (Beyond the highest training score the share is 0: the exponential tail replaces it.)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            out = -np.log(shares)
            out[beyond] = -np.log(knee_share) + (values[beyond] - self.knee) / self.scale
        out[np.isnan(values)] = np.nan
        return out

    def _below(self, values: np.ndarray) -> np.ndarray:
        return np.interp(values, self.points, self.ranks, left=0.0, right=float(self.n))

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The model as numeric arrays for a bundle, their names starting with ``prefix``."""
        return {
            f"{prefix}_points": self.points,
            f"{prefix}_ranks": self.ranks,
            f"{prefix}_tail": np.array([self.n, self.knee, self.scale], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> TailModel:
        """Rebuild a model from :meth:`to_arrays` output, checking it (bundles are untrusted)."""
        try:
            points = np.asarray(arrays[f"{prefix}_points"], dtype=np.float64)
            ranks = np.asarray(arrays[f"{prefix}_ranks"], dtype=np.float64)
            n, knee, scale = (float(v) for v in np.asarray(arrays[f"{prefix}_tail"], dtype=np.float64))
        except (KeyError, TypeError, ValueError):
            raise DataError(f"The bundle's score model {prefix!r} is missing or malformed.") from None
        if (
            points.ndim != 1 or points.shape != ranks.shape or points.size == 0
            or not np.isfinite(points).all() or (np.diff(points) < 0).any()
            or (np.diff(points) <= 0).any() or (np.diff(ranks) <= 0).any()
            or ranks[0] < 0 or ranks[-1] > n - 1
            or not n >= 1 or n != int(n) or not np.isfinite(knee) or not scale > 0 or not np.isfinite(scale)
        ):
            raise DataError(f"The bundle's score model {prefix!r} is inconsistent.")
        return cls(points=points, ranks=ranks, n=int(n), knee=knee, scale=scale)


__all__ = ["KNEE", "MAX_POINTS", "SURPRISAL_WORDS", "TailModel"]
