"""A model's verdict on a whole table, scored once, then viewed at any threshold in a blink.

:func:`score_table` does the heavy part once per model and table: every row's score and
each column's share of its error, labels and timestamps if the table has them, and a 2-D
projection of the rows. The resulting :class:`ScoredTable` keeps the scores sorted, so a
view at a new threshold (how many rows are flagged, which ones, precision and recall)
costs a binary search plus the rows shown, never a pass over the model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from detector.charts import Histogram, histogram_counts
from detector.columns import label_vector
from detector.errors import DataError, counted
from detector.evaluation import Evaluation, evaluate, pr_points, roc_points
from detector.explanations import top_columns
from detector.projection import Projection, project_rows
from detector.thresholds import ThresholdChoice, automatic_thresholds, flag

if TYPE_CHECKING:
    from detector.base import BaseDetector
# Thresholds a slider offers at most: one per 0.1% of the rows, plus every suggested threshold.
THRESHOLD_GRID = 1000
# How many contributing columns the flagged table and the downloads name per row.
TOP_COLUMNS = 3
# Column names the flagged table adds after the user's columns.
SCORE_COLUMN = "anomaly score"
TOP_COLUMNS_COLUMN = "top columns"


@dataclass(frozen=True)
class ColumnMatch:
    """How a table's columns compare with the feature columns a model was trained on."""

    missing: tuple[str, ...]
    extra: tuple[str, ...]

    def check(self) -> None:
        """Raise ``DataError`` naming the missing feature columns, if any."""
        if self.missing:
            names = ", ".join(repr(c) for c in self.missing)
            raise DataError(
                f"The table lacks {counted(len(self.missing), 'column')} the model was trained on: {names}. "
                "Add them (same names, same kind of values) or score with a model trained on "
                "this table's columns."
            )


def match_columns(columns: pd.Index | list[str], features: list[str] | tuple[str, ...]) -> ColumnMatch:
    """Compare a table's ``columns`` with a model's ``features`` (the names it needs)."""
    present = [str(c) for c in columns]
    have = set(present)
    wanted = set(features)
    return ColumnMatch(
        missing=tuple(c for c in features if c not in have),
        extra=tuple(c for c in present if c not in wanted),
    )


@dataclass(eq=False)
class ScoredTable:
    """Every row's score and explanation, plus what any threshold view needs, computed once.

    Row positions (0-based, in table order) identify rows everywhere. Fields after
    ``contamination`` are derived from the others when the object is created.

    Parameters
    ----------
    scores : ndarray of float
        One score per row, higher = more anomalous; NaN where a row could not be scored.
    shares : DataFrame or None
        Rows x feature columns: each column's share of the row's score (rows sum to 1); None
        for a method that does not explain rows column by column.
    labels : ndarray of int8 or None
        Known answers (1 = anomaly) from the table's label column, if it has a usable one.
    label_column, x, x_title
        The label column's name; the timeline's x values (timestamps or numbers, None for
        row order) and their axis title.
    projection : Projection or None
        The rows in 2-D (None when the model has fewer than two inputs).
    contamination : float
        Share used for the "top share" automatic threshold.
    notes : tuple of str
        Things the user should know (a label column that could not be used, ...).
    suppressed : ndarray of bool or None
        Rows a suppression rule keeps from being flagged at any threshold (see
        :mod:`detector.reviews`); they keep their scores, in charts and downloads too.
    """

    scores: np.ndarray
    shares: pd.DataFrame | None
    labels: np.ndarray | None = None
    label_column: str | None = None
    x: np.ndarray | None = None
    x_title: str = "row"
    projection: Projection | None = None
    contamination: float = 0.05
    notes: tuple[str, ...] = ()
    suppressed: np.ndarray | None = None
    # ---- derived
    automatic: list[ThresholdChoice] = field(init=False)
    histogram: Histogram = field(init=False)
    log_histogram: Histogram = field(init=False)
    threshold_grid: np.ndarray = field(init=False)
    roc: tuple[np.ndarray, np.ndarray] | None = field(init=False)
    pr: tuple[np.ndarray, np.ndarray] | None = field(init=False)
    _order: np.ndarray = field(init=False, repr=False)
    _ascending: np.ndarray = field(init=False, repr=False)
    _flaggable: np.ndarray = field(init=False, repr=False)
    _flaggable_ascending: np.ndarray = field(init=False, repr=False)
    _anomalies_in_order: np.ndarray | None = field(init=False, repr=False)
    _positives: int = field(init=False, repr=False, default=0)
    _ranking: Evaluation | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        if self.scores.ndim != 1 or (self.shares is not None and len(self.shares) != len(self.scores)):
            raise ValueError("scores must be 1-D with one entry per row of shares.")
        finite = np.isfinite(self.scores)
        if not finite.any():
            raise DataError(
                "No row could be scored: every row has all of the model's feature columns "
                "missing. Check that the file holds values in those columns."
            )
        # Highest score first; unscored rows (NaN) sort last; stable keeps table order on ties.
        order = np.argsort(-self.scores, kind="stable")
        self._order = order[: int(finite.sum())]
        self._ascending = self.scores[self._order][::-1].copy()
        # Rows that can be flagged: scored and not suppressed, highest score first.
        self._flaggable, self._flaggable_ascending = self._order, self._ascending
        if self.suppressed is not None:
            self.suppressed = np.asarray(self.suppressed, dtype=bool)
            if self.suppressed.shape != self.scores.shape:
                raise ValueError("suppressed must have one entry per row.")
            if self.suppressed.any():
                self._flaggable = self._order[~self.suppressed[self._order]]
                self._flaggable_ascending = self.scores[self._flaggable][::-1].copy()
        labels = self.labels
        if labels is not None:
            labels = self.labels = np.asarray(labels, dtype=np.int8)
            if labels.shape != self.scores.shape:
                raise ValueError("labels must have one entry per row.")
        self.automatic = automatic_thresholds(self.scores, labels, self.contamination)
        self.histogram = histogram_counts(self.scores, labels)
        self.log_histogram = histogram_counts(self.scores, labels, log_x=True)
        self.threshold_grid = self._grid()
        self._anomalies_in_order = None
        self._ranking = None
        self.roc = self.pr = None
        if labels is not None:
            self._anomalies_in_order = np.cumsum(labels[self._flaggable], dtype=np.int64)
            self._positives = int(labels[self._order].sum())
            # Threshold-free numbers, computed once: ROC-AUC, average precision, both curves.
            self._ranking = evaluate(labels, self.scores, float("inf"))
            roc, pr = roc_points(labels, self.scores), pr_points(labels, self.scores)
            self.roc = roc if len(roc[0]) else None
            self.pr = pr if len(pr[0]) else None

    def _grid(self) -> np.ndarray:
        """Sorted thresholds evenly spaced in rows flagged, from all rows to none.

        Each is a score (flagging the rows above it), so that a slider over them moves
        through the rows rather than through the score range, where a long tail would crowd
        nearly every row into the first few steps. The suggested thresholds are included.
        """
        ascending = self._ascending
        ranks = np.linspace(0, len(ascending) - 1, min(len(ascending), THRESHOLD_GRID)).round()
        return np.unique(
            np.r_[
                np.nextafter(ascending[0], -np.inf),  # flags every row
                ascending[ranks.astype(np.intp)],
                [c.threshold for c in self.automatic],
            ]
        )

    # ------------------------------------------------------------------ sizes

    @property
    def n_rows(self) -> int:
        return len(self.scores)

    @property
    def n_scored(self) -> int:
        return len(self._order)

    @property
    def min_score(self) -> float:
        return float(self._ascending[0])

    @property
    def max_score(self) -> float:
        return float(self._ascending[-1])

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    @property
    def long_tailed(self) -> bool:
        """Whether the top score is over ten times the median: a log axis then shows more."""
        median = float(np.median(self._ascending))
        return median > 0 and self.max_score > 10 * median

    # ------------------------------------------------------------------ views at a threshold

    def count_flagged(self, threshold: float) -> int:
        """How many rows score strictly above ``threshold`` (and are not suppressed)."""
        ascending = self._flaggable_ascending
        return len(ascending) - int(np.searchsorted(ascending, threshold, side="right"))

    @property
    def n_suppressed(self) -> int:
        """Scored rows a suppression rule keeps from being flagged."""
        return self.n_scored - len(self._flaggable)

    def count_suppressed(self, threshold: float) -> int:
        """Rows above ``threshold`` that a suppression rule keeps from being flagged."""
        above = self.n_scored - int(np.searchsorted(self._ascending, threshold, side="right"))
        return above - self.count_flagged(threshold)

    def with_suppressed(self, suppressed: np.ndarray | None) -> ScoredTable:
        """This table with other rows suppressed (None: none), everything else the same."""
        return replace(self, suppressed=suppressed)

    def share_flagged(self, threshold: float) -> float:
        """Flagged rows as a share of the scored rows."""
        return self.count_flagged(threshold) / self.n_scored

    def flagged_positions(self, threshold: float, limit: int | None = None, offset: int = 0) -> np.ndarray:
        """Positions of the flagged rows, highest score first.

        ``offset`` skips that many of them and ``limit`` returns at most that many: a page of
        the flagged rows in score order.
        """
        n = self.count_flagged(threshold)
        start = min(max(offset, 0), n)
        return self._flaggable[start : n if limit is None else min(n, start + limit)]

    def flags(self, threshold: float) -> np.ndarray:
        """One bool per row: flagged or not (unscored and suppressed rows never are)."""
        flagged = flag(self.scores, threshold)
        if self.suppressed is not None:
            flagged &= ~self.suppressed
        return flagged

    def evaluation(self, threshold: float) -> Evaluation | None:
        """Precision, recall, F1 and the confusion matrix at ``threshold`` (None without labels).

        The same numbers as :func:`detector.evaluation.evaluate`, from running counts over the
        sorted scores instead of a pass over every row.
        """
        if self._ranking is None or self._anomalies_in_order is None:
            return None
        flagged = self.count_flagged(threshold)
        positives = self._positives
        tp = int(self._anomalies_in_order[flagged - 1]) if flagged else 0
        fp = flagged - tp
        fn = positives - tp
        tn = self.n_scored - positives - fp
        nan = float("nan")
        return replace(
            self._ranking,
            threshold=float(threshold),
            precision=tp / flagged if flagged else nan,
            recall=tp / positives if positives else nan,
            f1=2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else nan,
            tn=tn,
            fp=fp,
            fn=fn,
            tp=tp,
        )

    @property
    def explained(self) -> bool:
        """Whether the method gave per-column shares (the flagged table's colours, top columns)."""
        return self.shares is not None

    def top_columns(self, positions: np.ndarray | None = None) -> pd.Series:
        """``"b (71%), a (12%), c (9%)"`` per row (all rows, or those at ``positions``); "" without shares."""
        if self.shares is None:
            n = self.n_rows if positions is None else len(positions)
            return pd.Series([""] * n, dtype=object, name="top_columns")
        shares = self.shares if positions is None else self.shares.iloc[positions]
        return top_columns(shares, k=TOP_COLUMNS)


@dataclass(frozen=True)
class HeldOutSplit:
    """A labelled scored table in two parts: the rows the model could learn from, and those held out.

    Metrics on ``held_out`` are honest: the model never saw those rows. Metrics on ``rest``
    (the rows not held out) are in-sample, as are those on the whole table.
    """

    rest: ScoredTable
    held_out: ScoredTable
    n_held_out: int


def split_held_out(scored: ScoredTable, held_out: np.ndarray | None) -> HeldOutSplit | None:
    """Split ``scored`` by ``held_out`` (one bool per row); None without labels or held-out rows."""
    if held_out is None or scored.labels is None or not held_out.any() or held_out.all():
        return None
    held_out = np.asarray(held_out, dtype=bool)
    if held_out.shape != scored.scores.shape:
        raise ValueError("held_out must have one entry per scored row.")

    def part(mask: np.ndarray) -> ScoredTable:
        return ScoredTable(
            scores=scored.scores[mask], shares=None, labels=scored.labels[mask],
            label_column=scored.label_column, contamination=scored.contamination,
        )

    return HeldOutSplit(rest=part(~held_out), held_out=part(held_out), n_held_out=int(held_out.sum()))


_PROJECT = object()  # score_table's default: compute the projection


def score_table(
    detector: BaseDetector,
    frame: pd.DataFrame,
    *,
    label: str | None = None,
    timestamp: str | None = None,
    contamination: float | None = None,
    seed: int = 0,
    projection: Projection | object | None = _PROJECT,
) -> ScoredTable:
    """Score every row of ``frame`` with a fitted ``detector``: the one heavy step of a view.

    ``label`` and ``timestamp`` name optional columns of ``frame``: a label that is not a
    usable 0/1 column is left out with a note rather than failing the scoring. ``projection``
    reuses another method's 2-D view of the same rows (it depends only on the table).

    Raises
    ------
    DataError
        When ``frame`` lacks a feature column or holds values the model cannot read.
    """
    features = list(detector.feature_columns)
    match_columns(frame.columns, features).check()
    inputs = frame.loc[:, features]
    scores, shares = detector.score_with_contributions(inputs)
    notes: list[str] = []
    labels = None
    if label is not None and label in frame.columns:
        try:
            labels = label_vector(frame[label])
        except DataError as exc:
            label = None
            notes.append(f"The label column cannot be used for evaluation: {exc}")
    else:
        label = None
    unscored = unscored_note(scores)
    if unscored:
        notes.append(
            f"{unscored}: they are never flagged, and the download of all rows lists them with "
            "an empty score."
        )
    x, x_title = _timeline_x(frame, timestamp)
    return ScoredTable(
        scores=scores,
        shares=None if shares is None else shares.astype(np.float32),
        labels=labels,
        label_column=label,
        x=x,
        x_title=x_title,
        projection=project_rows(detector, inputs, seed=seed) if projection is _PROJECT else projection,
        contamination=detector.contamination if contamination is None else contamination,
        notes=tuple(notes),
    )


def unscored_note(scores: np.ndarray) -> str | None:
    """'3 rows had no feature values (first at row 4) and could not be scored', or None."""
    unscored = np.flatnonzero(~np.isfinite(scores))
    return unscored_sentence(int(unscored.size), int(unscored[0]) + 1) if unscored.size else None


def unscored_sentence(count: int, first_row: int) -> str:
    """The sentence of :func:`unscored_note` for ``count`` rows, the first at 1-based ``first_row``."""
    rows = "1 row" if count == 1 else f"{count:,} rows"
    return f"{rows} had no feature values (first at row {first_row}) and could not be scored"


@dataclass(frozen=True)
class FlaggedRows:
    """The flagged rows a page shows: the user's columns, then score and top columns.

    ``table`` is indexed by row number (1-based, as in the file); ``positions`` are the
    same rows' 0-based positions; ``n_flagged`` counts every flagged row, shown or not.
    """

    table: pd.DataFrame
    positions: np.ndarray
    n_flagged: int
    shares: pd.DataFrame | None
    # How many higher-scoring flagged rows come before the first one in ``table``.
    offset: int = 0

    @property
    def truncated(self) -> bool:
        return len(self.positions) < self.n_flagged


def flagged_view(
    scored: ScoredTable, frame: pd.DataFrame, threshold: float, limit: int, offset: int = 0,
) -> FlaggedRows:
    """``limit`` flagged rows of ``frame`` in score order, from the ``offset``-th highest on."""
    positions = scored.flagged_positions(threshold, limit, offset)
    n_flagged = scored.count_flagged(threshold)
    table = frame.iloc[positions].copy()
    taken = {str(c) for c in table.columns}
    score_name = _free_name(SCORE_COLUMN, taken)
    top_name = _free_name(TOP_COLUMNS_COLUMN, taken | {score_name})
    table[score_name] = scored.scores[positions]
    table[top_name] = scored.top_columns(positions).to_numpy()
    table.index = pd.Index(positions + 1, name="row")
    shares = None
    if scored.shares is not None:
        shares = scored.shares.iloc[positions]
        shares.index = table.index
    return FlaggedRows(
        table=table, positions=positions, n_flagged=n_flagged, shares=shares,
        offset=min(max(offset, 0), n_flagged),
    )


def row_explanation(
    scored: ScoredTable, detector: BaseDetector, frame: pd.DataFrame, position: int,
) -> pd.DataFrame:
    """One row's actual and expected value and share of the score, per feature column.

    Columns: ``column``, ``actual``, ``reconstructed`` (what the model expected: the
    autoencoder's or PCA's reconstruction; empty for a method without one), ``share of error``
    (NaN for a method that does not explain rows), and both values ``scaled`` as the model sees
    them (numeric columns; NaN for categories), so that columns in different units compare.
    Sorted by share, largest first. ``scored`` holds the shares already; only the expected
    values are computed here (one small predict).
    """
    features = list(detector.explained_columns)
    row = frame.iloc[[position]].loc[:, list(detector.feature_columns)]
    actual = row.iloc[0][features]
    expected = detector.expected_values(row)
    reconstructed = (
        pd.Series([np.nan] * len(features), index=features, dtype=object)
        if expected is None else expected.iloc[0][features]
    )
    scaled_actual = detector.scaled_values(row)
    scaled_expected = detector.scaled_values(expected) if expected is not None else None
    nothing = np.full(len(features), np.nan)
    shares = (
        nothing if scored.shares is None else scored.shares.iloc[position][features].to_numpy(dtype=float)
    )
    explanation = pd.DataFrame(
        {
            "column": features,
            "actual": pd.Series(actual.to_numpy(dtype=object), dtype=object),
            "reconstructed": pd.Series(reconstructed.to_numpy(dtype=object), dtype=object),
            "share of error": shares,
            "actual (scaled)": nothing if scaled_actual is None else scaled_actual.iloc[0].to_numpy(float),
            "reconstructed (scaled)": (
                nothing if scaled_expected is None else scaled_expected.iloc[0].to_numpy(float)
            ),
        }
    )
    return explanation.sort_values("share of error", ascending=False, kind="stable", ignore_index=True)


@dataclass(frozen=True)
class SimilarTexts:
    """A row's text in one text column, how often training saw it, and the most similar other texts."""

    column: str
    text: str
    seen: int  # training texts of the same form (digits aside)
    n_texts: int  # non-blank training texts
    neighbours: list[tuple[str, float]]  # (training text, cosine similarity), most similar first

    @property
    def verdict(self) -> str:
        """In words: how far the text is from what training saw."""
        if not self.text.strip():
            return "This row has no text here."
        if self.seen:
            share = self.seen / max(self.n_texts, 1)
            rare = " (rare)" if share < RARE_TEXT else ""
            return (
                f"Seen in {self.seen:,} of {self.n_texts:,} training texts{rare}, digits aside. "
                "The most similar other training texts:"
            )
        if not self.neighbours:
            return "Not seen in training, and there are no training texts to compare with."
        best = self.neighbours[0][1]
        if best >= SIMILAR_TEXT:
            return f"Not seen in training, but like training texts (closest similarity {best:.2f}):"
        return f"Unlike anything seen in training (closest similarity {best:.2f}):"


#: Cosine similarity of mean word embeddings at which a text reads as a variant of a training
#: text (one word changed in a five-word log line gives about 0.87; unrelated lines about 0.15).
SIMILAR_TEXT = 0.7
#: A form of text held by fewer than this share of the training texts is called rare.
RARE_TEXT = 0.01


def similar_texts(
    detector: BaseDetector, frame: pd.DataFrame, position: int, k: int = 3
) -> list[SimilarTexts]:
    """For each text feature: row ``position``'s text, how often training saw it, its nearest others."""
    preprocessor = getattr(detector, "preprocessor_", None)
    out = []
    for features in getattr(preprocessor, "texts_", []):
        value = frame[features.name].iloc[position]
        text = "" if pd.isna(value) else str(value)
        out.append(
            SimilarTexts(
                features.name, text, features.times_seen(text) if text.strip() else 0, features.n_texts,
                features.nearest_examples(text, k),
            )
        )
    return out


def _timeline_x(frame: pd.DataFrame, timestamp: str | None) -> tuple[np.ndarray | None, str]:
    """x values for the score timeline: the timestamp column if it reads as times, else rows."""
    if timestamp is None or timestamp not in frame.columns:
        return None, "row"
    series = frame[timestamp]
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan), timestamp
    with warnings.catch_warnings():
        # pandas warns when it parses element by element; a slow parse beats no timeline.
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(series, errors="coerce")
        except (ValueError, TypeError, OverflowError):
            return None, "row"
    if parsed.notna().mean() < 0.9:
        return None, "row"
    return parsed.to_numpy(), timestamp


def _free_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base (2)``, ``base (3)``, ... whichever the user's table does not use."""
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base} ({suffix})", suffix + 1
    return name


__all__ = [
    "ColumnMatch",
    "FlaggedRows",
    "HeldOutSplit",
    "ScoredTable",
    "SimilarTexts",
    "flagged_view",
    "match_columns",
    "row_explanation",
    "score_table",
    "similar_texts",
    "split_held_out",
    "unscored_note",
]
