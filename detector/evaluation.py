"""Measure how well scores and a threshold match known labels (scikit-learn metrics).

Labels are 0 (normal) / 1 (anomaly). Rows whose score is NaN (or otherwise not
finite) could not be scored: they are left out of every metric and counted in
``Evaluation.n_unscored``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import (
    average_precision_score,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from detector.thresholds import flag

# Enough points for a smooth curve in the browser, few enough to send quickly.
MAX_CURVE_POINTS = 1000


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one threshold against labels, over the scored rows.

    ``roc_auc`` and ``average_precision`` do not depend on the threshold; they
    are NaN when the scored rows hold only one class. ``precision`` is NaN when
    nothing is flagged, ``recall`` is NaN when no row is an anomaly, and ``f1``
    is NaN when both happen (scikit-learn's ``zero_division=np.nan``).
    """

    threshold: float
    roc_auc: float
    average_precision: float
    precision: float
    recall: float
    f1: float
    tn: int
    fp: int
    fn: int
    tp: int
    n_unscored: int

    @property
    def false_positive_rate(self) -> float:
        """Share of normal rows that are flagged (x of the ROC operating point)."""
        negatives = self.tn + self.fp
        return self.fp / negatives if negatives else float("nan")


def evaluate(labels: ArrayLike, scores: ArrayLike, threshold: float) -> Evaluation:
    """Evaluate ``score > threshold`` against ``labels`` (1 = anomaly)."""
    y, values, n_unscored = _scored(labels, scores)
    if len(y) == 0:
        # scikit-learn refuses empty input; with no scored row every metric is undefined.
        nan = float("nan")
        return Evaluation(float(threshold), nan, nan, nan, nan, nan, 0, 0, 0, 0, n_unscored)
    predicted = flag(values, threshold).astype(np.int8)
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, predicted, labels=[1], average=None, zero_division=np.nan
    )
    two_classes = len(np.unique(y)) == 2
    return Evaluation(
        threshold=float(threshold),
        roc_auc=float(roc_auc_score(y, values)) if two_classes else float("nan"),
        average_precision=(float(average_precision_score(y, values)) if two_classes else float("nan")),
        precision=float(precision[0]),
        recall=float(recall[0]),
        f1=float(f1[0]),
        tn=int(tn),
        fp=int(fp),
        fn=int(fn),
        tp=int(tp),
        n_unscored=n_unscored,
    )


def roc_points(
    labels: ArrayLike, scores: ArrayLike, max_points: int = MAX_CURVE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve as ``(fpr, tpr)``, thinned to at most ``max_points`` keeping both ends.

    Empty arrays when the scored rows hold only one class (the curve is undefined).
    """
    y, values, _ = _scored(labels, scores)
    if len(np.unique(y)) < 2:
        return np.empty(0), np.empty(0)
    fpr, tpr, _ = roc_curve(y, values)
    keep = _thin(len(fpr), max_points)
    return fpr[keep], tpr[keep]


def pr_points(
    labels: ArrayLike, scores: ArrayLike, max_points: int = MAX_CURVE_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Precision-recall curve as ``(recall, precision)``, thinned like :func:`roc_points`.

    Empty arrays when the scored rows hold only one class.
    """
    y, values, _ = _scored(labels, scores)
    if len(np.unique(y)) < 2:
        return np.empty(0), np.empty(0)
    precision, recall, _ = precision_recall_curve(y, values)
    keep = _thin(len(recall), max_points)
    return recall[keep], precision[keep]


def _scored(labels: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels and scores of the scored rows, and how many rows were left out."""
    values = np.asarray(scores, dtype=float)
    y = np.asarray(labels)
    if values.ndim != 1 or y.shape != values.shape:
        raise ValueError(
            f"labels and scores must be 1-D arrays of the same length, got shapes "
            f"{y.shape} and {values.shape}."
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must contain only 0 (normal) and 1 (anomaly).")
    scored = np.isfinite(values)
    return y[scored].astype(np.int8), values[scored], int(np.count_nonzero(~scored))


def _thin(n: int, max_points: int) -> np.ndarray:
    """Evenly spaced indices into a curve of n points, always including 0 and n - 1."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.intp))
