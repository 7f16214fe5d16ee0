"""ECOD: rows whose values sit far out in their columns' empirical tails stand out.

Li, Zhao, Hu, Botta, Ionescu and Chen (2022), "ECOD: Unsupervised Outlier Detection Using
Empirical Cumulative Distribution Functions". Written here rather than taken from PyOD so the
detector needs no PyOD and keeps our contract; two choices differ from PyOD's code:

- The row score is the paper's: the largest of three sums over the columns (left tails, right
  tails, each column's skewed tail). PyOD sums each column's largest tail instead.
- New rows are scored against the training rows' ECDFs. PyOD recomputes the ECDFs on the
  training and new rows together, so a row's score depends on what it is scored with.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from detector.base import ProgressCallback
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig
from detector.tabular import StageReporter, TabularDetector, array, number

_STAGES = ("learning each column's distribution", "scoring the training rows")
# Rows per block when scoring: three rows-by-columns float64 scratch matrices stay small.
_ROW_BLOCK = 32_768


class ECODDetector(TabularDetector):
    """Empirical-CDF outlier detection on the preprocessed table.

    For each encoded column and each row, the left tail probability is the share of training
    values at or below the row's value, the right one the share at or above it. The row score
    is the largest of three sums of ``-log`` tail probabilities over the columns: the left
    tails, the right tails, and each column's tail on the side its training skewness points to.

    Each column's ECDF is kept as at most ``ecdf_points`` order statistics of its training
    values (all of them on smaller tables, where the ECDF is exact), so a bundle stays a few
    megabytes however long the table; between two kept values the rank is interpolated
    linearly. The kept ranks are spaced geometrically from each end rather than evenly: the
    score is ``-log`` of a tail share, so what must stay accurate is the share's ratio, and
    evenly spaced ranks would blur exactly the far tails that make a row stand out (with
    10,000 points, every tail share is known to within about 0.3% on a million rows). A value
    beyond every training value counts as if one more training row lay beyond it
    (probability ``1 / (n + 1)``): the ECDF cannot say how far out it is.

    Parameters
    ----------
    contamination
        Share of training rows expected to be anomalies; sets ``threshold_``.
    columns
        Column roles to use; None infers them from the table.
    preprocess
        Scaling, imputation and category settings shared by every family.
    ecdf_points
        At most this many order statistics are kept per column (at least 2).

    Attributes
    ----------
    quantiles_ : numpy.ndarray of shape (n_points, n_encoded)
        The kept order statistics of each encoded column, ascending.
    ranks_ : numpy.ndarray of int, shape (n_points,)
        Their 0-based ranks among the training values (the same for every column).
    left_skewed_ : numpy.ndarray of bool, shape (n_encoded,)
        Whether each column's training values are skewed to the left (negative skewness).
    ecdf_rows_ : int
        How many training rows the ECDFs describe.
    """

    kind: ClassVar[str] = "ecod"
    title: ClassVar[str] = "ECOD"
    explains_columns: ClassVar[bool] = True
    explanation_of: ClassVar[str] = "the row's tail probabilities (−log, summed over columns)"

    def __init__(
        self,
        *,
        contamination: float = 0.05,
        columns: ColumnRoles | None = None,
        preprocess: PreprocessConfig = PreprocessConfig(),  # noqa: B008 (frozen)
        ecdf_points: int = 10_000,
    ) -> None:
        self.contamination = contamination
        self.columns = columns
        self.preprocess = preprocess
        self.ecdf_points = ecdf_points

    # ----------------------------------------------------------------- the family's hooks

    def _fit_matrix(self, matrix: np.ndarray, on_progress: ProgressCallback | None) -> np.ndarray:
        points = self.ecdf_points
        if not isinstance(points, int | np.integer) or isinstance(points, bool) or points < 2:
            raise ValueError(f"ecdf_points={points!r} must be a whole number of at least 2.")
        stages = StageReporter(on_progress, _STAGES)
        n_rows = len(matrix)
        kept = _kept_ranks(n_rows, int(points))
        # A column at a time: one sorted float64 copy of a column, never of the whole table.
        self.quantiles_ = np.empty((len(kept), matrix.shape[1]))
        third_moment = np.empty(matrix.shape[1])
        for j in range(matrix.shape[1]):
            column = matrix[:, j].astype(np.float64)
            self.quantiles_[:, j] = np.sort(column)[kept]
            # The sign of the skewness is the sign of the third central moment.
            third_moment[j] = np.mean((column - column.mean()) ** 3)
        self.left_skewed_ = third_moment < 0
        self.ecdf_rows_ = n_rows
        self.ranks_ = kept
        stages.done("learning each column's distribution")
        scores = self._score_matrix(matrix)
        stages.done("scoring the training rows")
        return scores

    def _score_matrix(self, matrix: np.ndarray) -> np.ndarray:
        scores = np.empty(len(matrix))
        for start in range(0, len(matrix), _ROW_BLOCK):
            sums, _ = self._candidate_sums(matrix[start : start + _ROW_BLOCK])
            scores[start : start + _ROW_BLOCK] = sums.max(axis=0)
        return scores

    def _column_errors(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums, candidates = self._candidate_sums(matrix)
        # Each row is explained by the terms of the sum that gave its score.
        winner = sums.argmax(axis=0)[:, None]
        parts = np.select([winner == k for k in range(len(candidates))], candidates)
        return sums.max(axis=0), parts

    def _candidate_sums(self, matrix: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """The paper's three sums per row (left tails, right tails, skewed tails) and their terms."""
        left, right = self._tail_surprises(matrix)
        skewed = np.where(self.left_skewed_, left, right)
        candidates = (left, right, skewed)
        return np.stack([terms.sum(axis=1) for terms in candidates]), candidates

    def _tail_surprises(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``-log`` of each value's left and right tail probability under its column's training ECDF."""
        n_rows = self.ecdf_rows_
        left = np.empty(matrix.shape)
        right = np.empty(matrix.shape)
        for j in range(matrix.shape[1]):
            values = matrix[:, j].astype(np.float64)
            below, at_most = _training_counts(self.quantiles_[:, j], self.ranks_, n_rows, values)
            left[:, j] = _surprise(at_most, n_rows)
            right[:, j] = _surprise(n_rows - below, n_rows)
        return left, right

    def _fitted_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = {"quantiles": self.quantiles_, "ranks": self.ranks_, "left_skewed": self.left_skewed_}
        return {"ecdf_rows": self.ecdf_rows_}, arrays

    def _restore_fitted(self, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        width = len(self.preprocessor_.feature_names_out_)
        n_rows = number(fitted, "ecdf_rows")
        quantiles = array(arrays, "quantiles", ndim=2)
        ranks = array(arrays, "ranks", ndim=1, kind="iu").astype(np.int64)
        left_skewed = array(arrays, "left_skewed", ndim=1, kind="b")
        if n_rows != int(n_rows) or len(ranks) != len(quantiles) or len(ranks) < 2:
            raise DataError(f"The bundle's ECDFs need at least 2 points, each with a rank, of {n_rows} rows.")
        # Interpolating the rank needs the first and last rows and ranks that only go up.
        if ranks[0] != 0 or ranks[-1] != n_rows - 1 or (np.diff(ranks) < 1).any():
            raise DataError("The bundle's ECDF ranks must rise from 0 to the last training row.")
        if quantiles.shape[1] != width or left_skewed.shape != (width,):
            raise DataError(f"The bundle's ECDF arrays do not fit its {width} encoded columns.")
        if (np.diff(quantiles, axis=0) < 0).any():
            raise DataError("The bundle's ECDF points must be sorted in each column.")
        self.quantiles_ = quantiles.astype(np.float64)
        self.left_skewed_ = left_skewed
        self.ecdf_rows_ = int(n_rows)
        self.ranks_ = ranks


def _kept_ranks(n_rows: int, n_points: int) -> np.ndarray:
    """The 0-based ranks of at most ``n_points`` order statistics kept out of ``n_rows``.

    All of them when they fit; otherwise half the points go to each half of the column,
    spaced geometrically from its end (ranks 0, 1, 2, ... then ever wider steps towards the
    median), so each tail share between two kept ranks is known to within a constant ratio.
    """
    if n_points >= n_rows:
        return np.arange(n_rows, dtype=np.int64)
    from_end = np.unique(np.round(np.geomspace(1, n_rows / 2, n_points // 2)).astype(np.int64)) - 1
    return np.unique(np.concatenate([from_end, n_rows - 1 - from_end]))


def _training_counts(
    quantiles: np.ndarray, ranks: np.ndarray, n_rows: int, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How many training values lie below each value, and how many at or below it.

    Exact where every order statistic is kept; otherwise the rank is interpolated linearly
    between the two kept order statistics around the value.
    """
    below = np.searchsorted(quantiles, values, side="left")
    # Only a value equal to a kept one has more kept values at or below it than below it, so
    # the second search runs on those alone (hardly any on a continuous column).
    at_most = below.copy()
    tied = np.flatnonzero(quantiles[np.minimum(below, len(quantiles) - 1)] == values)
    at_most[tied] = np.searchsorted(quantiles, values[tied], side="right")
    if len(quantiles) == n_rows:
        return below, at_most
    return (
        _interpolated_count(quantiles, ranks, n_rows, values, below),
        _interpolated_count(quantiles, ranks, n_rows, values, at_most),
    )


def _interpolated_count(
    quantiles: np.ndarray, ranks: np.ndarray, n_rows: int, values: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """The training count for values that ``found`` kept points precede, by interpolating ranks."""
    inner = np.clip(found, 1, len(quantiles) - 1)
    low, high = quantiles[inner - 1], quantiles[inner]
    with np.errstate(divide="ignore", invalid="ignore"):
        position = np.where(high > low, (values - low) / (high - low), 0.0)
    # Between kept ranks r0 < r1 the count runs from r0 + 1 up to r1 (exact when r1 = r0 + 1).
    count = ranks[inner - 1] + 1 + (ranks[inner] - ranks[inner - 1] - 1) * position
    return np.where(found == 0, 0.0, np.where(found == len(quantiles), float(n_rows), count))


def _surprise(count: np.ndarray, n_rows: int) -> np.ndarray:
    """``-log`` of the tail probability ``count / n_rows``, or of ``1 / (n_rows + 1)`` beyond the data."""
    return -np.log(np.where(count > 0, count / n_rows, 1.0 / (n_rows + 1)))


__all__ = ["ECODDetector"]
