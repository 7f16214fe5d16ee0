"""Turn anomaly scores into a yes/no flag: suggested thresholds and the flag rule.

Scores are a 1-D float array, higher = more anomalous. Rows that could not be
scored carry NaN (any non-finite score counts as unscored): they are ignored by
every statistic here, never flagged, and not counted in ``n_flagged`` or in the
denominator of ``share_flagged``. A row is flagged when ``score > threshold``
(strictly), so a threshold equal to the largest score flags nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import precision_recall_curve

from detector.errors import DataError

# 1.4826 * MAD estimates the standard deviation of normally distributed data.
_MAD_TO_STD = 1.4826
# sqrt(pi / 2) * mean absolute deviation estimates the standard deviation of
# normally distributed data; used when the MAD is 0 (over half the scores tie).
_MEAN_AD_TO_STD = float(np.sqrt(np.pi / 2))


@dataclass(frozen=True)
class ThresholdChoice:
    """One suggested threshold and what it would flag.

    Attributes
    ----------
    method : str
        Machine name: ``"contamination"``, ``"mean_std"``, ``"mad"``, ``"iqr"``
        or ``"best_f1"``.
    label : str
        Human label for menus and chart markers, e.g. ``"Median + 3.5·MAD"``.
    threshold : float
        Rows with ``score > threshold`` are flagged.
    n_flagged : int
        How many scored rows that flags.
    share_flagged : float
        ``n_flagged`` divided by the number of scored rows (0 when there are none).
    """

    method: str
    label: str
    threshold: float
    n_flagged: int
    share_flagged: float


def flag(scores: ArrayLike, threshold: float) -> np.ndarray:
    """Return a boolean array, True where ``score > threshold``; unscored rows are False."""
    values = _as_scores(scores)
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (values > threshold)


def contamination_threshold(scores: ArrayLike, contamination: float = 0.05) -> ThresholdChoice:
    """Threshold that flags roughly the top ``contamination`` share of scored rows.

    The threshold is ``np.quantile(finite_scores, 1 - contamination)`` with
    NumPy's default linear interpolation, so with ``np.arange(1, 101)`` and
    ``contamination=0.05`` it is 95.05 and flags 96..100. Tied scores at the cut
    can make the flagged share a little smaller than ``contamination``.

    Raises
    ------
    ValueError
        If ``contamination`` is not strictly between 0 and 0.5.
    """
    if not 0.0 < contamination < 0.5:
        raise ValueError(f"contamination must be between 0 and 0.5 (exclusive), got {contamination!r}.")
    finite = _finite_scores(scores)
    threshold = float(np.quantile(finite, 1.0 - contamination))
    label = f"Top {_number(100 * contamination)}% (contamination)"
    return _choice("contamination", label, threshold, finite)


def mean_std_threshold(scores: ArrayLike, k: float = 3.0) -> ThresholdChoice:
    """Threshold ``mean + k * std`` of the scored rows (population std, ``ddof=0``)."""
    finite = _finite_scores(scores)
    threshold = float(finite.mean() + k * finite.std())
    return _choice("mean_std", f"Mean + {_number(k)}·std", threshold, finite)


def mad_threshold(scores: ArrayLike, k: float = 3.5) -> ThresholdChoice:
    """Robust threshold ``median + k * 1.4826 * MAD`` (median absolute deviation).

    When more than half of the scores tie, the MAD is 0 and would flag every
    score above the median; the spread then falls back to ``sqrt(pi/2)`` times the
    mean absolute deviation from the median (which also estimates the standard
    deviation for normal data). If that is 0 too, every score equals the median
    and the threshold is the median, which flags nothing.
    """
    finite = _finite_scores(scores)
    median = float(np.median(finite))
    deviations = np.abs(finite - median)
    spread = _MAD_TO_STD * float(np.median(deviations))
    if spread == 0.0:
        spread = _MEAN_AD_TO_STD * float(deviations.mean())
    threshold = median + k * spread
    return _choice("mad", f"Median + {_number(k)}·MAD", threshold, finite)


def iqr_threshold(scores: ArrayLike, k: float = 1.5) -> ThresholdChoice:
    """Tukey's upper fence ``Q3 + k * (Q3 - Q1)`` (quartiles by ``np.quantile``)."""
    finite = _finite_scores(scores)
    q1, q3 = np.quantile(finite, [0.25, 0.75])
    threshold = float(q3 + k * (q3 - q1))
    return _choice("iqr", f"Q3 + {_number(k)}·IQR", threshold, finite)


def best_f1_threshold(scores: ArrayLike, labels: ArrayLike) -> ThresholdChoice:
    """Threshold with the highest F1 against known labels (1 = anomaly).

    Every distinct scored value is a candidate cut-off (via
    ``sklearn.metrics.precision_recall_curve``, whose rule is ``score >= t``).
    The returned threshold sits in the gap just below the best cut-off (its
    midpoint with the next lower distinct score, or that lower score itself when
    the midpoint cannot be represented), so ``score > threshold`` flags exactly
    the rows the best cut-off flags. Among equally good cut-offs the highest is
    chosen, which flags the fewest rows. Rows with a NaN score are ignored.

    Raises
    ------
    DataError
        If no scored row is labelled as an anomaly.
    """
    values = _as_scores(scores)
    y = _as_labels(labels, len(values))
    scored = np.isfinite(values)
    values, y = values[scored], y[scored]
    if not y.any():
        raise DataError(
            "The best-F1 threshold needs at least one row labelled as an anomaly (1) among "
            "the scored rows, but there is none. Check the label column or choose another "
            "threshold method."
        )
    precision, recall, cutoffs = precision_recall_curve(y, values)
    # The last precision/recall pair (recall 0) has no cut-off attached.
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    best = len(f1) - 1 - int(np.argmax(f1[::-1]))  # last maximum = highest cut-off
    upper = float(cutoffs[best])
    lower_values = values[values < upper]
    lower = float(lower_values.max()) if lower_values.size else float(np.nextafter(upper, -np.inf))
    threshold = _between(lower, upper)
    label = f"Best F1 ({f1[best]:.2f}, from labels)"
    return _choice("best_f1", label, threshold, values)


def automatic_thresholds(
    scores: ArrayLike, labels: ArrayLike | None = None, contamination: float = 0.05
) -> list[ThresholdChoice]:
    """All suggested thresholds, for a menu or as chart markers.

    The order is contamination, mean + 3·std, median + 3.5·MAD, Q3 + 1.5·IQR, and
    best F1 last, which is included only when ``labels`` are given and mark at
    least one scored row as an anomaly.
    """
    choices = [
        contamination_threshold(scores, contamination),
        mean_std_threshold(scores),
        mad_threshold(scores),
        iqr_threshold(scores),
    ]
    if labels is not None:
        values = _as_scores(scores)
        y = _as_labels(labels, len(values))
        if y[np.isfinite(values)].any():
            choices.append(best_f1_threshold(values, y))
    return choices


def threshold_for_share(scores: ArrayLike, share: float) -> float:
    """Threshold that flags ``round(share * n_scored)`` rows, the highest-scoring ones.

    The threshold sits in the gap between the last flagged and the first
    unflagged score (as in :func:`best_f1_threshold`). When scores tie across
    that gap it cannot be split, and the tied rows stay unflagged, so fewer rows
    are flagged. ``share=0`` returns the largest score (flags nothing);
    ``share=1`` returns a value just below the smallest score (flags all).

    Raises
    ------
    ValueError
        If ``share`` is not between 0 and 1.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, got {share!r}.")
    return threshold_in_sorted(np.sort(_finite_scores(scores))[::-1], share)


def threshold_in_sorted(descending: np.ndarray, share: float) -> float:
    """:func:`threshold_for_share` for finite scores already sorted highest first (no sort: fast)."""
    n_flag = round(share * len(descending))
    if n_flag == 0:
        return float(descending[0])
    if n_flag >= len(descending):
        return float(np.nextafter(descending[-1], -np.inf))
    return _between(float(descending[n_flag]), float(descending[n_flag - 1]))


def _as_scores(scores: ArrayLike) -> np.ndarray:
    values = np.asarray(scores, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"scores must be a 1-D array, got shape {values.shape}.")
    return values


def _finite_scores(scores: ArrayLike) -> np.ndarray:
    values = _as_scores(scores)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise DataError(
            "No row has a score (all scores are missing), so no threshold can be computed. "
            "Check that the scored rows have values in the model's feature columns."
        )
    return finite


def _as_labels(labels: ArrayLike, n_rows: int) -> np.ndarray:
    y = np.asarray(labels)
    if y.shape != (n_rows,):
        raise ValueError(f"labels must have shape ({n_rows},) like the scores, got {y.shape}.")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must contain only 0 (normal) and 1 (anomaly).")
    return y.astype(np.int8)


def _between(lower: float, upper: float) -> float:
    """A threshold t with lower <= t < upper, so ``score > t`` keeps exactly scores >= upper."""
    middle = lower + (upper - lower) / 2
    return middle if np.isfinite(middle) and lower <= middle < upper else lower


def _choice(method: str, label: str, threshold: float, finite: np.ndarray) -> ThresholdChoice:
    n_flagged = int(np.count_nonzero(finite > threshold))
    return ThresholdChoice(method, label, threshold, n_flagged, n_flagged / len(finite))


def _number(value: float) -> str:
    """Short human form of a parameter: 5.0 -> '5', 2.5 -> '2.5'."""
    return f"{value:.4g}"
