"""The "Is the autoencoder worth it?" panel on Results: the baselines beside the autoencoder.

It draws inside the workbench's threshold fragment, so every number follows the threshold:
each baseline is flagged at the share of rows the autoencoder flags. The ranking work was done
once by the training job (:class:`detector.comparison.Rankings`); a threshold change costs a
pass over the rows, and the result is kept per flagged count, so a plain rerun costs nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from detector.baselines import FIT_ROWS, Baselines
from detector.comparison import Comparison, verdict
from detector.comparison_charts import METRIC_TITLES, rank_scatter, sensitivity_bars
from ui import format as fmt
from ui.state import ComparisonCache, ScoredView

# Rows of the "only one method flags it" tables shown at most (the rest are counted).
DISAGREEMENT_ROWS = 20
# Points in the rank scatter at most (rows either method flags are kept first).
SCATTER_POINTS = 3000
CHART_CONFIG = {"displayModeBar": False}


def render_comparison(
    view: ScoredView, threshold: float, *, baselines: Baselines, cache: ComparisonCache,
) -> None:
    """The panel for ``view`` (the autoencoder's scores over its table) at ``threshold``."""
    st.subheader("Is the autoencoder worth it?")
    titles = ", ".join(baselines.title(kind) for kind in baselines.kinds if kind != baselines.primary)
    primary = baselines.title(baselines.primary)
    # A time-series model reads windows of rows; the baselines never do.
    window = getattr(baselines.detectors[baselines.primary], "window_", None)
    reads = f" They score each row alone; the {primary} reads windows of {window} rows." if window else ""
    st.caption(
        f"{titles} were fitted on the same rows (at most {FIT_ROWS:,} of them, sampled) with the "
        f"same preprocessing, in "
        f"{fmt.duration(baselines.seconds)}.{reads} Each is compared at the share of rows the "
        f"{primary} flags at this threshold, so no method looks better only because it flags more."
    )
    show = st.toggle(
        "Compare with the baselines", value=True, key=view.key("compare"),
        help="Follows the threshold (about 25 ms a change at a million rows); turn it off to hide it.",
    )
    if not show:
        return
    comparison, text = _comparison(view, baselines, cache, threshold)
    st.markdown(f"**{fmt.plain(text)}**")
    _table(comparison)
    others = list(comparison.baselines)
    best = comparison.best_baseline
    chosen = st.selectbox(
        "Look closer at", [m.name for m in others],
        index=[m.name for m in others].index(best) if best else 0,
        format_func=lambda kind: baselines.title(kind), key=view.key("compare_with"),
    )
    left, right = st.columns(2)
    pairs = comparison.rank_pairs(chosen, max_points=SCATTER_POINTS)
    primary_title, other_title = baselines.title(baselines.primary), baselines.title(chosen)
    figure = rank_scatter(
        pairs.primary_rank, pairs.other_rank, pairs.flagged_primary, pairs.flagged_other,
        titles=(primary_title, other_title), rows=pairs.positions + 1,
        layout={"height": 380, "margin": {"t": 40, "b": 10},
                "title": {"text": f"Rank by {primary_title} vs by {other_title}", "font": {"size": 14}}},
    )
    left.plotly_chart(figure, config=CHART_CONFIG)
    left.caption(
        "Each point is a row, placed by its percentile rank under each method (100 = the highest "
        "score). Points on the diagonal are ranked alike; the coloured corners are the rows only "
        "one method flags."
    )
    with right:
        _disagreements(view, comparison, chosen, primary_title, other_title)
    _sensitivity(baselines, threshold)


def _comparison(
    view: ScoredView, baselines: Baselines, cache: ComparisonCache, threshold: float,
) -> tuple[Comparison, str]:
    """The comparison at ``threshold``, computed once per flagged count (kept in ``cache``)."""
    key = view.scored.count_flagged(threshold)
    if cache.key != key or cache.comparison is None:
        comparison = baselines.comparison(threshold)
        cache.key, cache.comparison, cache.text = key, comparison, verdict(comparison, view.scored.shares)
    return cache.comparison, cache.text


def _table(comparison: Comparison) -> None:
    table = comparison.table().rename(columns={**METRIC_TITLES, "n_flagged": "rows flagged"})
    percent = {c: "{:.0%}" for c in ("overlap with the primary", "precision", "recall") if c in table}
    numbers = {c: "{:.3f}" for c in ("rank correlation", "ROC-AUC", "average precision") if c in table}
    st.dataframe(table.style.format({**percent, **numbers, "rows flagged": "{:,}"}, na_rep="–"))
    if comparison.has_labels:
        st.caption(
            "With the label: ROC-AUC and average precision rank all rows; precision and recall are "
            "at the shared flagged share. Overlap is the share of flagged rows two methods share."
        )
    else:
        st.caption(
            "Overlap is the share of flagged rows the method shares with the autoencoder; rank "
            "correlation (Spearman) compares the whole ordering. Choose a label column on Data "
            "to see which method finds the labelled anomalies best."
        )


def _disagreements(
    view: ScoredView, comparison: Comparison, chosen: str, primary_title: str, other_title: str,
) -> None:
    frame = view.table.frame
    scored = view.scored
    only_primary = comparison.only_primary(chosen)
    only_other = comparison.only_other(chosen)
    st.markdown(f"**Only the {primary_title} flags** ({len(only_primary):,} rows)")
    if len(only_primary):
        order = only_primary[np.argsort(-scored.scores[only_primary], kind="stable")][:DISAGREEMENT_ROWS]
        table = frame.iloc[order].copy()
        table.insert(0, "why (top columns)", scored.top_columns(order).to_numpy())
        table.index = pd.Index(order + 1, name="row")
        st.dataframe(table, height=min(38 + 35 * len(order), 260))
    st.markdown(f"**Only the {other_title} flags** ({len(only_other):,} rows)")
    if len(only_other):
        other_scores = comparison.ranks[chosen][only_other]
        order = only_other[np.argsort(-other_scores, kind="stable")][:DISAGREEMENT_ROWS]
        table = frame.iloc[order].copy()
        table.index = pd.Index(order + 1, name="row")
        st.dataframe(table, height=min(38 + 35 * len(order), 260))
    if len(only_primary) > DISAGREEMENT_ROWS or len(only_other) > DISAGREEMENT_ROWS:
        st.caption(f"The {DISAGREEMENT_ROWS} highest-scoring rows of each; switch the scores shown "
                   "at the top of the page to page through any method's flags.")


def _sensitivity(baselines: Baselines, threshold: float) -> None:
    profile = baselines.sensitivity(threshold)
    table = profile.table()
    st.markdown("**Which kinds of oddity each method can see**")
    if table.empty or not len(table.columns):
        st.info("No synthetic anomalies could be made from this table. " + " ".join(profile.notes))
        return
    left, right = st.columns([3, 2])
    left.plotly_chart(
        sensitivity_bars(table, layout={"height": 340, "margin": {"t": 20, "b": 10}}), config=CHART_CONFIG,
    )
    right.dataframe(table.style.format("{:.0%}"))
    n = max(profile.n_per_type.values())
    right.caption(
        f"{n} made-up rows of each kind, built from this table's own columns (ADBench's four types): "
        "**local**, values from the data's own clusters with a wider spread; **global**, values "
        "beyond the data's range; **dependency**, each column drawn on its own, so relationships "
        "between columns break; **clustered**, a tight group away from the data. Each method flags "
        "at the same share as above. This shows which *kinds* of oddity a method can see; it is "
        "not an estimate of how many real anomalies it finds."
    )
    for note in profile.notes:
        right.caption(fmt.plain(note))


__all__ = ["render_comparison"]
