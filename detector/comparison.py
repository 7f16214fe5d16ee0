"""Compare several methods' scores over the same rows, to answer "is the autoencoder worth it?".

Every method is flagged at the same share of rows (the share the primary method flags at the
user's threshold), so a method is never better only because it flags more. Rows that any
method could not score (NaN) are left out of every comparison, so all methods are measured
over the same rows; positions returned here still count every row of the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from detector.charts import downsample_indices
from detector.evaluation import evaluate
from detector.explanations import top_column_names
from detector.registry import FAMILIES
from detector.thresholds import flag, threshold_in_sorted

# Below this difference in average precision two methods count as about as good: the
# difference would change with a handful of labelled rows.
AP_TIE = 0.02
# How many columns the verdict names for the rows only the primary flags.
VERDICT_COLUMNS = 2


@dataclass(frozen=True)
class MethodSummary:
    """How one method does at the shared share, next to the primary method.

    ``spearman`` is the rank correlation of its scores with the primary's (1 for the primary
    itself; NaN when either method gives every row the same score). ``overlap`` is
    ``|A ∩ B| / k`` with ``k`` the larger of the two flagged counts (NaN when nothing is
    flagged). The label metrics are NaN without labels, or when the scored rows hold one class.
    """

    name: str
    title: str
    n_flagged: int
    spearman: float
    overlap: float
    roc_auc: float = float("nan")
    average_precision: float = float("nan")
    precision: float = float("nan")
    recall: float = float("nan")


# eq=False: the fields hold arrays, whose == is element-wise (identity is the useful equality).
@dataclass(frozen=True, eq=False)
class RankPairs:
    """The rows a rank scatter draws: positions, both percentile ranks and both flags."""

    positions: np.ndarray
    primary_rank: np.ndarray
    other_rank: np.ndarray
    flagged_primary: np.ndarray
    flagged_other: np.ndarray


@dataclass(frozen=True, eq=False)
class Comparison:
    """Each method flagged at the same share over the rows every method scored.

    ``methods`` lists the primary first, then the others in the order given. ``flagged`` holds
    a boolean mask over all rows per method (False on rows left out); ``ranks`` the percentile
    rank of each row's score per method (0 to 100, highest score = 100; NaN on rows left out).
    """

    primary: str
    share: float
    methods: tuple[MethodSummary, ...]
    has_labels: bool
    n_rows: int
    n_compared: int
    flagged: Mapping[str, np.ndarray] = field(repr=False)
    ranks: Mapping[str, np.ndarray] = field(repr=False)

    def summary(self, method: str) -> MethodSummary:
        """The row of ``method`` (a name given to :func:`compare_methods`)."""
        for summary in self.methods:
            if summary.name == method:
                return summary
        raise KeyError(f"No method named {method!r}; the methods are {[m.name for m in self.methods]}.")

    @property
    def baselines(self) -> tuple[MethodSummary, ...]:
        """Every method but the primary."""
        return self.methods[1:]

    def only_primary(self, method: str) -> np.ndarray:
        """Positions of rows the primary flags and ``method`` does not."""
        return np.flatnonzero(self.flagged[self.primary] & ~self._flags(method))

    def only_other(self, method: str) -> np.ndarray:
        """Positions of rows ``method`` flags and the primary does not."""
        return np.flatnonzero(self._flags(method) & ~self.flagged[self.primary])

    @property
    def best_baseline(self) -> str | None:
        """The baseline most worth a look, or None when the primary is alone.

        With labels, the one with the highest average precision; without, the one agreeing
        most with the primary (overlap, then rank correlation).
        """
        if not self.baselines:
            return None

        def nan_low(value: float) -> float:
            return -np.inf if np.isnan(value) else value

        if self.has_labels and any(np.isfinite(m.average_precision) for m in self.baselines):
            best = max(self.baselines, key=lambda m: nan_low(m.average_precision))
        else:
            best = max(self.baselines, key=lambda m: (nan_low(m.overlap), nan_low(m.spearman)))
        return best.name

    def rank_pairs(self, method: str, max_points: int = 5000, seed: int = 0) -> RankPairs:
        """Primary rank against ``method``'s rank for a scatter, at most ``max_points`` rows.

        Rows either method flags are always kept (unless they alone exceed ``max_points``: then
        a sample of them); the others are a seeded sample, so reruns draw the same points.
        """
        compared = np.flatnonzero(np.isfinite(self.ranks[self.primary]))
        flags_primary = self.flagged[self.primary][compared]
        flags_other = self._flags(method)[compared]
        keep = downsample_indices(
            len(compared), flags_primary | flags_other, max_points, seed=seed, max_kept=max_points
        )
        rows = compared[keep]
        return RankPairs(
            positions=rows,
            primary_rank=self.ranks[self.primary][rows],
            other_rank=self.ranks[method][rows],
            flagged_primary=flags_primary[keep],
            flagged_other=flags_other[keep],
        )

    def table(self) -> pd.DataFrame:
        """One row per method (by title): flagged count, agreement and, with labels, metrics."""
        columns = ["n_flagged", "overlap", "spearman"]
        if self.has_labels:
            columns += ["roc_auc", "average_precision", "precision", "recall"]
        return pd.DataFrame(
            [[getattr(m, c) for c in columns] for m in self.methods],
            index=pd.Index([m.title for m in self.methods], name="method"),
            columns=columns,
        )

    def _flags(self, method: str) -> np.ndarray:
        if method not in self.flagged:
            raise KeyError(f"No method named {method!r}; the methods are {list(self.flagged)}.")
        return self.flagged[method]


@dataclass(frozen=True, eq=False)
class Rankings:
    """What comparing methods needs that no threshold changes, computed once over their scores.

    :meth:`at_share` then compares them at any flagged share in a pass over the rows: ranks,
    rank correlations, ROC-AUC and average precision (and each method's sorted scores) are
    here already, so a threshold drag costs milliseconds, not a re-ranking of every method.
    """

    primary: str
    names: tuple[str, ...]
    titles: Mapping[str, str]
    scores: Mapping[str, np.ndarray] = field(repr=False)
    compared: np.ndarray = field(repr=False)
    ranks: Mapping[str, np.ndarray] = field(repr=False)
    descending: Mapping[str, np.ndarray] = field(repr=False)
    spearman: Mapping[str, float]
    labels: np.ndarray | None = field(repr=False)
    roc_auc: Mapping[str, float]
    average_precision: Mapping[str, float]

    @property
    def n_compared(self) -> int:
        return int(self.compared.sum())

    def at_share(self, share: float) -> Comparison:
        """Flag the top ``share`` of each method's compared scores and compare each with the primary."""
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share must be between 0 and 1, got {share!r}.")
        n_rows, n_compared = len(self.compared), self.n_compared
        flagged: dict[str, np.ndarray] = {}
        for name in self.names:
            if n_compared:
                threshold = threshold_in_sorted(self.descending[name], share)
                flagged[name] = flag(self.scores[name], threshold) & self.compared
            else:
                flagged[name] = np.zeros(n_rows, dtype=bool)
        summaries = []
        for name in self.names:
            metrics = {}
            if self.labels is not None and n_compared:
                metrics = {
                    "roc_auc": self.roc_auc[name],
                    "average_precision": self.average_precision[name],
                    **_precision_recall(self.labels, flagged[name], self.compared),
                }
            summaries.append(
                MethodSummary(
                    name=name,
                    title=self.titles[name],
                    n_flagged=int(flagged[name].sum()),
                    spearman=self.spearman[name],
                    overlap=_overlap(flagged[self.primary], flagged[name]),
                    **metrics,
                )
            )
        return Comparison(
            primary=self.primary,
            share=float(share),
            methods=tuple(summaries),
            has_labels=self.labels is not None,
            n_rows=n_rows,
            n_compared=n_compared,
            flagged=flagged,
            ranks=self.ranks,
        )


def rank_methods(
    scores: Mapping[str, np.ndarray],
    *,
    primary: str,
    labels: np.ndarray | None = None,
    titles: Mapping[str, str] | None = None,
) -> Rankings:
    """Rank every method's scores once, for :meth:`Rankings.at_share` at any threshold.

    Parameters are those of :func:`compare_methods` but the share.
    """
    if primary not in scores:
        raise ValueError(f"The primary method {primary!r} has no scores; got {list(scores)}.")
    arrays = {name: np.asarray(values, dtype=float) for name, values in scores.items()}
    n_rows = len(arrays[primary])
    for name, values in arrays.items():
        if values.shape != (n_rows,):
            raise ValueError(
                f"Scores of {name!r} have shape {values.shape}; every method needs one score per "
                f"row ({n_rows},)."
            )
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (n_rows,):
            raise ValueError(f"labels must have shape ({n_rows},) like the scores, got {labels.shape}.")
    compared = np.logical_and.reduce([np.isfinite(values) for values in arrays.values()])
    n_compared = int(compared.sum())
    names = (primary, *(name for name in arrays if name != primary))
    ranks: dict[str, np.ndarray] = {}
    descending: dict[str, np.ndarray] = {}
    roc_auc: dict[str, float] = {}
    average_precision: dict[str, float] = {}
    for name in names:
        values = arrays[name]
        rank = np.full(n_rows, np.nan)
        if n_compared:
            rank[compared] = rankdata(values[compared]) / n_compared * 100
        ranks[name] = rank
        descending[name] = np.sort(values[compared])[::-1]
        if labels is not None and n_compared:
            # The threshold does not matter here: only the threshold-free metrics are kept.
            result = evaluate(labels[compared], values[compared], float("inf"))
            roc_auc[name], average_precision[name] = result.roc_auc, result.average_precision
    return Rankings(
        primary=primary,
        names=names,
        titles={name: _title(name, titles) for name in names},
        scores=arrays,
        compared=compared,
        ranks=ranks,
        descending=descending,
        spearman={
            name: _rank_correlation(ranks[primary][compared], ranks[name][compared]) for name in names
        },
        labels=labels,
        roc_auc=roc_auc,
        average_precision=average_precision,
    )


def compare_methods(
    scores: Mapping[str, np.ndarray],
    *,
    primary: str,
    share: float,
    labels: np.ndarray | None = None,
    titles: Mapping[str, str] | None = None,
) -> Comparison:
    """Flag the top ``share`` of each method's scores and compare each method with ``primary``.

    Parameters
    ----------
    scores
        One array per method (same length; higher = more anomalous; NaN = unscored).
    primary
        The method the others are compared with (usually ``"autoencoder"``).
    share
        The share of rows the primary flags at the user's threshold (0 to 1).
    labels
        Optional 0/1 labels (1 = anomaly) for ROC-AUC, average precision, precision, recall.
    titles
        Names for people by method; defaults to the registry's family titles, else the name.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be between 0 and 1, got {share!r}.")
    return rank_methods(scores, primary=primary, labels=labels, titles=titles).at_share(share)


def verdict(comparison: Comparison, shares: pd.DataFrame | None = None) -> str:
    """The comparison in plain words: how much the closest baseline agrees, where the primary
    differs, and (with labels) which method is better.

    ``shares`` are the primary's per-column shares of each row's score (rows in the same order
    as the scores, e.g. from ``feature_errors``); with them the verdict names the columns that
    set apart the rows only the primary flags.
    """
    primary = comparison.summary(comparison.primary)
    name = _as_subject(primary.title)
    if not comparison.baselines:
        return f"Only {name} was scored, so there is nothing to compare it with."
    if comparison.n_compared == 0:
        return "No row was scored by every method, so the methods cannot be compared."
    best = comparison.summary(comparison.best_baseline)
    others = [m for m in comparison.baselines if m.name != best.name]
    if primary.n_flagged == 0 and best.n_flagged == 0:
        sentence = (
            f"Nothing is flagged at this threshold; {best.title} ranks the rows with a rank "
            f"correlation of {_number(best.spearman)} with {name}"
        )
    else:
        sentence = _agreement(comparison, primary, best, others, shares)
    if not comparison.has_labels:
        return _capitalised(sentence) + "."
    return f"{_capitalised(sentence)}. {_capitalised(_label_judgement(primary, comparison.baselines))}."


def _agreement(
    comparison: Comparison,
    primary: MethodSummary,
    best: MethodSummary,
    others: list[MethodSummary],
    shares: pd.DataFrame | None,
) -> str:
    """How much ``best`` agrees with the primary, and what the rows only the primary flags share."""
    name = _as_subject(primary.title)
    only = comparison.only_primary(best.name)
    if not len(only) and not len(comparison.only_other(best.name)):
        sentence = f"{best.title} flags exactly the same {primary.n_flagged:,} rows as {name}"
    else:
        sentence = f"{best.title} flags {_percent(best.overlap)} of the same rows as {name}"
    if others:
        sentence += " (" + ", ".join(f"{m.title} {_percent(m.overlap)}" for m in others) + ")"
    if len(only):
        rows = "row" if len(only) == 1 else "rows"
        columns = _distinguishing_columns(shares, only, comparison.n_rows)
        if columns:
            sentence += f"; the {len(only):,} {rows} only {name} flags differ mainly in {columns}"
        else:
            sentence += f"; {len(only):,} {rows} {'is' if len(only) == 1 else 'are'} flagged only by {name}"
    return sentence


def _label_judgement(primary: MethodSummary, baselines: tuple[MethodSummary, ...]) -> str:
    """Which method the labels favour, by average precision."""
    name = _as_subject(primary.title)
    scored = [m for m in baselines if np.isfinite(m.average_precision)]
    if not np.isfinite(primary.average_precision) or not scored:
        return "the label has a single class among the compared rows, so it cannot tell which is better"
    best = max(scored, key=lambda m: m.average_precision)
    ours, theirs = primary.average_precision, best.average_precision
    if abs(theirs - ours) < AP_TIE:
        return (
            f"with the label, {best.title} and {name} are about as good "
            f"(AP {ours:.2f} vs {theirs:.2f}): the simpler method may do"
        )
    if theirs > ours:
        return f"with the label, {best.title} is better here (AP {theirs:.2f} vs {ours:.2f}): consider it"
    return f"with the label, {name} is best here (AP {ours:.2f}; next {best.title} {theirs:.2f})"


def _distinguishing_columns(shares: pd.DataFrame | None, rows: np.ndarray, n_rows: int) -> str:
    """The columns with the largest mean share of the score over ``rows``, as text ('' if none)."""
    if shares is None:
        return ""
    if len(shares) != n_rows:
        raise ValueError(f"shares must have one row per scored row ({n_rows}), got {len(shares)}.")
    mean = shares.iloc[rows].apply(pd.to_numeric, errors="coerce").mean(axis=0, skipna=True)
    top = top_column_names(mean.to_frame().T, k=VERDICT_COLUMNS).iloc[0]
    names = (top.get(f"top_{rank}", "") for rank in range(1, VERDICT_COLUMNS + 1))
    return ", ".join(str(name) for name in names if name)


def _precision_recall(labels: np.ndarray, flagged: np.ndarray, compared: np.ndarray) -> dict[str, float]:
    """Precision and recall of ``flagged`` against ``labels`` over the compared rows."""
    positives = labels[compared] == 1
    hits = int(np.count_nonzero(flagged[compared] & positives))
    n_flagged, n_positive = int(flagged.sum()), int(positives.sum())
    return {
        "precision": hits / n_flagged if n_flagged else float("nan"),
        "recall": hits / n_positive if n_positive else float("nan"),
    }


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho from average ranks; NaN when either side is constant or too short."""
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """|A ∩ B| / k, with k the larger flagged count (ties can make one side flag fewer)."""
    k = max(int(a.sum()), int(b.sum()))
    return int(np.count_nonzero(a & b)) / k if k else float("nan")


def _title(name: str, titles: Mapping[str, str] | None) -> str:
    if titles and name in titles:
        return titles[name]
    family = FAMILIES.get(name)
    return family.title if family else name


def _as_subject(title: str) -> str:
    """A one-word, capitalised-only-first title reads as a common noun: 'the autoencoder'."""
    if " " not in title and title[:1].isupper() and title[1:].islower():
        return f"the {title.lower()}"
    return title


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _percent(value: float) -> str:
    return "an undefined share" if np.isnan(value) else f"{value:.0%}"


def _number(value: float) -> str:
    return "undefined (a method scores every row alike)" if np.isnan(value) else f"{value:.2f}"
