"""The results workbench, shared by Results and Score: threshold, numbers, flagged rows, charts, downloads.

Everything that depends on the threshold is one fragment, so moving the slider reruns only
this part of the page. The fragment only reads what the scored table already holds: no
model call runs on a drag (except reconstructing a newly selected row, once).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import cache, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from detector.autoencoder import WORDING_PART
from detector.bundle import bundle_bytes
from detector.charts import (
    contribution_bars,
    embedding_scatter,
    histogram_figure,
    plotly_text,
    pr_curve_figure,
    reconstruction_bars,
    roc_curve_figure,
    score_axis,
    score_timeline,
    sensor_lines,
    window_heatmap,
)
from detector.explanations import standout_cells
from detector.export import neutralise_formulas, scored_rows_csv
from detector.results import FlaggedRows, similar_texts
from detector.reviews import ANOMALY, EXPECTED
from detector.surprisal import SURPRISAL_WORDS
from detector.text import EXAMPLE_CHARACTERS, FAILURE_WORDS
from detector.thresholds import ThresholdChoice
from detector.windowed import WindowedAutoencoderDetector
from ui import format as fmt
from ui.review_view import MARK_WORDS, review_panel, review_row
from ui.runtime import freeze_what_is_loaded
from ui.state import ScoredView

# Flagged rows per page of the table (every flagged row is on some page, and in the download).
# Colouring cells costs about 0.2 ms per row on each threshold change, so pages stay short.
PAGE_ROWS = 50
# Points per scatter chart at most, besides every flagged row (which is always drawn)...
CHART_POINTS = 3000
# ...unless a threshold flags more than this many rows: then a sample of them is drawn.
CHART_FLAGGED = 5_000
# Share of a row's error from which its cell is coloured in the flagged table.
HIGHLIGHT_SHARE = 0.2
# Columns in the reconstruction chart at most (the largest contributors).
EXPLAIN_COLUMNS = 10
CHART_CONFIG = {"displayModeBar": False}
# What the autoencoder's score parts mean, for the row explanation.
SCORE_PART_WORDS = (
    "Reconstruction: how badly the network rebuilds the row (the columns below share this part). "
    "Code: how unusual the row's compressed summary is among the training rows' (Mahalanobis "
    "distance in the bottleneck): rows rebuilt well but sitting where few training rows do. "
    "Isolation: how few random cuts set the row apart (Isolation Forest on the same columns). "
)
WORDING_WORDS = (
    "Wording: how much the row's text reads like a failure (closeness in meaning to "
    f"“{FAILURE_WORDS}”), as rare as that is among the training rows. "
)


def render_workbench(
    view: ScoredView,
    *,
    bundle_metadata: dict[str, Any] | None = None,
    also: Callable[[ScoredView, float], None] | None = None,
    retrain: Callable[[], None] | None = None,
) -> None:
    """Draw the whole workbench for ``view``; ``bundle_metadata`` is saved in model downloads.

    ``also`` draws more that follows the threshold (the comparison panel), after the numbers;
    ``retrain`` (Results) starts a training without the rows the user confirmed as anomalies.
    """
    for note in view.scored.notes:
        st.warning(fmt.plain(note))
    _threshold_dependent(view, bundle_metadata or {}, also, retrain)
    _freeze_what_the_first_render_loaded()


@cache
def _freeze_what_the_first_render_loaded() -> None:
    """Once per process, after the first workbench: exempt what it loaded from the GC's walks.

    The first workbench loads modules and caches of its own (Plotly's figure classes and
    validators, the pandas Styler and its templates): some 60,000 objects that Streamlit's
    full collection after every run walked again, 15 ms of every threshold change at a million
    rows. See :func:`ui.runtime.freeze_what_is_loaded`.
    """
    freeze_what_is_loaded()


@st.fragment
def _threshold_dependent(
    view: ScoredView,
    bundle_metadata: dict[str, Any],
    also: Callable[[ScoredView, float], None] | None,
    retrain: Callable[[], None] | None,
) -> None:
    view.apply_rules()  # the reviews' suppression rules, as they stand after any click
    view.sync_widgets()
    st.subheader("Where to draw the line")
    _distribution(view)
    _threshold_controls(view)
    threshold = view.threshold
    _headline(view, threshold)
    _flagged_rows(view, threshold)
    if isinstance(view.detector, WindowedAutoencoderDetector):
        _episodes(view, threshold)
    review_panel(view, threshold, retrain)
    _where(view, threshold)
    if also is not None:
        also(view, threshold)
    _downloads(view, threshold, view.scored.count_flagged(threshold), bundle_metadata)


# ------------------------------------------------------------------ the threshold


def _distribution(view: ScoredView) -> None:
    scored = view.scored
    log_x_box, log_y_box = st.columns(2)
    log_x = log_x_box.checkbox(
        "Log scale for scores", value=scored.long_tailed, key=view.key("log_x"),
        help="Spreads out the long right tail that reconstruction errors usually have.",
    )
    log_y = log_y_box.checkbox(
        "Log scale for row counts", key=view.key("log_y"),
        help="Makes bars of a few rows visible next to bars of thousands.",
    )
    histogram = scored.log_histogram if log_x else scored.histogram
    figure = histogram_figure(
        histogram, view.threshold, log_y=log_y, markers=scored.automatic,
        layout={"height": 380, "margin": {"t": 30, "b": 10}, "legend": {"orientation": "h", "y": 1.1}},
    )
    st.plotly_chart(figure, config=CHART_CONFIG)
    st.caption(
        f"Each row's anomaly score from the {view.detector.title} (higher is odder). The solid line "
        "is the threshold: rows to its right are flagged. Dashed lines are where the automatic "
        "methods would put it, with how many rows each would flag."
    )


def _threshold_controls(view: ScoredView) -> None:
    slider, share = st.columns([4, 1])
    slider.select_slider(
        "Threshold",
        options=view.slider_options(),
        format_func=_score,
        key=view.key("threshold"),
        on_change=_slider_moved,
        args=(view,),
        help="Rows scoring above this are flagged. The slider moves through the rows (each step "
        "flags about 0.1% more or fewer), not evenly through the scores. Moving it never "
        "retrains or rescores.",
    )
    share.number_input(
        "Share of rows flagged (%)",
        min_value=0.0,
        max_value=100.0,
        step=0.5,
        format="%.2f",
        key=view.key("share"),
        on_change=_share_typed,
        args=(view,),
        help="Type a share to move the threshold so that this share of rows is flagged.",
    )
    st.caption("Or adopt a suggested threshold:")
    scored = view.scored
    saved = float(view.detector.threshold_)
    choices = [
        *scored.automatic,
        ThresholdChoice(
            "saved", "Model's own (the expected share of anomalies set at training)", saved,
            scored.count_flagged(saved), scored.share_flagged(saved),
        ),
    ]
    for column, choice in zip(st.columns(len(choices)), choices, strict=True):
        name = choice.label.split(" (")[0]  # "Best F1 (0.72, from labels)" -> "Best F1"
        # A threshold read off the labels is one a user without labels cannot have: say so.
        column.button(
            f"{name} (uses labels)" if "from labels" in choice.label else name,
            key=view.key(f"adopt_{choice.method}"),
            on_click=view.set_threshold,
            args=(choice.threshold,),
            help=f"{choice.label}: threshold {choice.threshold:.4g}.",
            width="stretch",
        )
        column.caption(f"{choice.n_flagged:,} rows · {choice.threshold:.4g}")


def _score(value: float) -> str:
    return f"{value:.4g}"


def _slider_moved(view: ScoredView) -> None:
    view.set_threshold(st.session_state[view.key("threshold")])


def _share_typed(view: ScoredView) -> None:
    view.set_share(st.session_state[view.key("share")])


# ------------------------------------------------------------------ the numbers


def _headline(view: ScoredView, threshold: float) -> None:
    scored = view.scored
    n_flagged = scored.count_flagged(threshold)
    evaluation = scored.evaluation(threshold)
    columns = st.columns(6 if evaluation is not None else 3)
    columns[0].metric("Rows flagged", f"{n_flagged:,}")
    columns[1].metric("Share flagged", f"{n_flagged / scored.n_scored:.2%}")
    columns[2].metric("Threshold", f"{threshold:.4g}")
    if evaluation is None:
        st.caption("Choose a label column on the Data page to see how well the flags match it.")
        return
    columns[3].metric("Precision", fmt.ratio(evaluation.precision), help="Share of flagged rows "
                      "that the label marks as anomalies.")
    columns[4].metric("Recall", fmt.ratio(evaluation.recall), help="Share of labelled anomalies "
                      "that are flagged.")
    columns[5].metric("F1", fmt.ratio(evaluation.f1), help="Harmonic mean of precision and recall.")
    st.markdown(f"**How good is this**, against the label column {fmt.code(scored.label_column)}")
    matrix, roc, pr = st.columns([2, 3, 3])
    with matrix:
        st.metric("ROC-AUC", fmt.ratio(evaluation.roc_auc), help="Chance that a random anomaly "
                  "scores above a random normal row; independent of the threshold.")
        st.metric("Average precision", fmt.ratio(evaluation.average_precision),
                  help="Area under the precision-recall curve; independent of the threshold.")
        st.table(
            pd.DataFrame(
                {"flagged": [evaluation.tp, evaluation.fp], "not flagged": [evaluation.fn, evaluation.tn]},
                index=pd.Index(["anomaly (label)", "normal (label)"], name="confusion matrix"),
            ),
        )
    _held_out_metrics(view, threshold)
    if scored.roc is not None:
        point = (evaluation.false_positive_rate, evaluation.recall)
        figure = roc_curve_figure(*scored.roc, point=point, layout=_small("ROC curve"))
        roc.plotly_chart(figure, config=CHART_CONFIG)
    if scored.pr is not None:
        point = (evaluation.recall, evaluation.precision) if np.isfinite(evaluation.precision) else None
        figure = pr_curve_figure(*scored.pr, point=point, layout=_small("Precision-recall curve"))
        pr.plotly_chart(figure, config=CHART_CONFIG)


def _held_out_metrics(view: ScoredView, threshold: float) -> None:
    """Metrics on the rows held out of training (honest) beside those on the rest (in-sample)."""
    split = view.held_out_split()
    if split is None:
        return
    rows = []
    for name, part in (("held out (never trained on)", split.held_out), ("the rest (in-sample)", split.rest)):
        result = part.evaluation(threshold)
        rows.append({
            "rows": name,
            "count": part.n_scored,
            "anomalies (label)": int(np.nansum(part.labels)) if part.labels is not None else 0,
            "flagged": part.count_flagged(threshold),
            "precision": result.precision,
            "recall": result.recall,
            "F1": result.f1,
            "ROC-AUC": result.roc_auc,
            "average precision": result.average_precision,
        })
    st.markdown(
        f"**On the {split.n_held_out:,} held-out rows**, which the model never saw, beside the rows it "
        "could learn from. The figures above are for all rows."
    )
    st.dataframe(
        pd.DataFrame(rows).style.format(
            {c: "{:.3f}" for c in ("precision", "recall", "F1", "ROC-AUC", "average precision")}, na_rep="–"
        ),
        hide_index=True,
    )


# ------------------------------------------------------------------ the rows


def _flagged_rows(view: ScoredView, threshold: float) -> None:
    st.subheader("Flagged rows")
    n_flagged = view.scored.count_flagged(threshold)
    if n_flagged == 0:
        st.info("No row scores above the threshold: lower it to see flagged rows.")
        view.selected_row = None
        return
    n_pages = math.ceil(n_flagged / PAGE_ROWS)
    page_key = view.key("page")
    if st.session_state.get(page_key, 1) > n_pages:  # the threshold went up: fewer pages now
        st.session_state[page_key] = n_pages
    about, pager = st.columns([5, 1], vertical_alignment="bottom")
    page = 1
    if n_pages > 1:
        page = int(pager.number_input(
            f"Page (of {n_pages:,})", min_value=1, max_value=n_pages, step=1, key=page_key,
            on_change=_page_turned, args=(view,),
            help=f"{PAGE_ROWS} flagged rows per page, highest score first.",
        ))
    flagged = view.flagged_page(threshold, PAGE_ROWS, (page - 1) * PAGE_ROWS)
    shown = len(flagged.positions)
    if flagged.truncated:
        about.caption(
            f"Flagged rows {flagged.offset + 1:,} to {flagged.offset + shown:,} of {n_flagged:,}, "
            "highest score first. **Download flagged rows** below has all of them."
        )
    else:
        about.caption(f"All {n_flagged:,} flagged rows, highest score first.")
    if view.scored.explained:
        st.caption(
            f"Red cells are the leading causes of {view.detector.explanation_of}: a large share (≥ "
            f"{HIGHLIGHT_SHARE:.0%}), or one of the row's top 3 columns and well above an even "
            "share; the darker, the larger. Select a row to see why it stands out."
        )
    else:
        st.caption(
            f"The {view.detector.title} scores whole rows: it does not explain rows column by "
            "column, so no cells are coloured. Select a row to see its values as the model sees them."
        )
    table_key = view.key("table")
    if view.table_moved:
        # The threshold or page moved, so the rows moved: keep the selected row selected if shown.
        view.table_moved = False
        rows = np.flatnonzero(flagged.positions == view.selected_row).tolist()
        st.session_state[table_key] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    marks = [MARK_WORDS.get(view.verdict(int(p)), "") for p in flagged.positions]
    if any(marks):
        table = flagged.table.copy()
        table.insert(0, "review", marks)
        flagged = replace(flagged, table=table)
    event = st.dataframe(
        _styled(flagged),
        key=table_key,
        on_select="rerun",
        selection_mode="single-row",
        height=min(38 + 35 * shown, 420),
    )
    selected = event.selection.rows if event is not None else []
    view.selected_row = int(flagged.positions[selected[0]]) if selected else None
    _explain(view, view.selected_row if selected else int(flagged.positions[0]))


def _page_turned(view: ScoredView) -> None:
    view.table_moved = True


def _styled(flagged: FlaggedRows) -> Any:
    """The table with contribution colours and compact numbers (pandas' default shows 6 decimals)."""
    table = flagged.table
    floats = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    style = table.style
    if flagged.shares is not None:
        style = style.apply(lambda _: contribution_styles(flagged, HIGHLIGHT_SHARE), axis=None)
    return style.format({column: "{:.6g}" for column in floats}, na_rep="")


def contribution_styles(flagged: FlaggedRows, min_share: float = 0.2) -> pd.DataFrame:
    """CSS per cell of ``flagged.table``: a red background, stronger for a larger share of the score.

    Feature cells that stand out (:func:`detector.explanations.standout_cells`: at least
    ``min_share`` of the row's score, or among its top 3 and above a fair share) are coloured;
    every other cell (and every cell, for a method without shares) gets an empty style.
    """
    table = flagged.table
    styles = np.full(table.shape, "", dtype=object)
    if flagged.shares is not None:
        shares = flagged.shares.to_numpy(dtype=float, na_value=np.nan)
        marked = pd.DataFrame(standout_cells(shares, min_share=min_share), columns=flagged.shares.columns)
        # Lined up with the table's columns (False for columns that are not features).
        strong = marked.reindex(columns=table.columns, fill_value=False).to_numpy(dtype=bool)
        share = flagged.shares.reindex(columns=table.columns).to_numpy(dtype=float, na_value=np.nan)
        alpha = np.round(0.15 + 0.55 * np.clip(share[strong], 0, 1), 2)
        styles[strong] = [f"background-color: rgba(228, 87, 86, {a})" for a in alpha]
    return pd.DataFrame(styles, index=table.index, columns=table.columns)


def _explain(view: ScoredView, position: int) -> None:
    score = view.scored.scores[position]
    how = "selected" if view.selected_row is not None else "the highest-scoring row on this page"
    st.markdown(f"**Why row {position + 1} stands out** ({how}; score {score:.4g})")
    review_row(view, position)
    parts = view.score_parts(position)
    if parts is not None and len(parts) > 1:
        total = float(parts.sum()) or 1.0
        st.caption(
            f"The score adds {len(parts)} parts: "
            + " + ".join(f"{name} {value:.3g} ({value / total:.0%})" for name, value in parts.items())
            + ". " + (SCORE_PART_WORDS if len(parts) >= 3 else "")
            + (WORDING_WORDS if WORDING_PART in parts.index else "")
            + (SURPRISAL_WORDS if len(parts) >= 3 else "")
        )
    explanation = view.explain(position).head(EXPLAIN_COLUMNS)
    if not view.scored.explained:
        st.caption(
            f"The {view.detector.title} does not explain rows column by column. The row's values, "
            "scaled as the model sees them (0 is typical, ±1 a typical spread):"
        )
        st.dataframe(
            # "actual" mixes numbers and categories: as text, Arrow reads the column as one type.
            explanation.loc[:, ["column", "actual", "actual (scaled)"]].astype({"actual": str}),
            hide_index=True,
        )
        return
    left, right = st.columns([3, 2])
    bars = reconstruction_bars(
        explanation["column"], explanation["actual"], explanation["reconstructed"],
        heights=(explanation["actual (scaled)"], explanation["reconstructed (scaled)"]),
        value_title="scaled as the model sees it",
        layout=_small(
            "Actual vs reconstructed value" if explanation["reconstructed"].notna().any()
            else "Actual value (this method has no reconstruction)"
        ),
    )
    left.plotly_chart(bars, config=CHART_CONFIG)
    shares = explanation.set_index("column")["share of error"]
    bars = contribution_bars(shares, layout=_small(f"Share of {view.detector.explanation_of}"))
    right.plotly_chart(bars, config=CHART_CONFIG)
    st.caption(
        f"The columns with the largest share of {view.detector.explanation_of} are the reason the "
        "row scores high. Bars are scaled as the model sees each column, so that columns in "
        "different units compare; the labels show the values themselves (categories have no bar, "
        "only their label)."
    )
    _similar_texts(view, position)


def _similar_texts(view: ScoredView, position: int) -> None:
    """The row's free text beside the most similar texts of the training rows."""
    for found in similar_texts(view.detector, view.table.frame, position):
        st.markdown(f"**Text column {fmt.code(found.column)}**: {fmt.plain(found.verdict)}")
        st.text(found.text[:EXAMPLE_CHARACTERS] + ("…" if len(found.text) > EXAMPLE_CHARACTERS else ""))
        if found.neighbours:
            st.dataframe(
                pd.DataFrame(
                    {
                        "most similar training texts": [text for text, _ in found.neighbours],
                        "similarity": [round(similarity, 3) for _, similarity in found.neighbours],
                    }
                ),
                hide_index=True,
            )


def _episodes(view: ScoredView, threshold: float) -> None:
    """Flagged rows in episodes (a windowed model), and where in the window each one's error sits."""
    detector = view.detector
    scored = view.scored
    frame = view.table.frame
    order = view.time_order()
    flags = scored.flags(threshold)
    table = detector.episodes(frame, flags, scored.scores, scored.shares, order)
    st.subheader("Episodes")
    if table.empty:
        st.caption("No episode: no row is flagged at this threshold.")
        return
    st.caption(
        f"{fmt.count(len(table), 'episode')}: runs of consecutive flagged rows of one series, in time "
        "order, highest peak first. Select one to see which sensor and which part of its window the "
        "error sits in."
    )
    event = st.dataframe(
        table, key=view.key("episodes"), on_select="rerun", selection_mode="single-row", hide_index=True,
        height=min(38 + 35 * len(table), 320),
    )
    chosen = event.selection.rows if event is not None else []
    episode = table.iloc[chosen[0] if chosen else 0]
    peak = int(episode["peak row"]) - 1
    series, start, stop = _episode_run(order, flags, peak)
    rows = series[start : stop + 1]
    left, right, _ = st.columns([1.4, 1.2, 3], vertical_alignment="center")
    number = int(episode["episode"])
    left.button(f"✓ Episode {number} is real", key=view.key(f"episode_anomaly_{number}"),
                on_click=_mark_rows, args=(view, rows, ANOMALY), help="Mark every row of the episode ✓.")
    right.button(f"✗ Episode {number} is expected", key=view.key(f"episode_expected_{number}"),
                 on_click=_mark_rows, args=(view, rows, EXPECTED), help="Mark every row of the episode ✗.")
    _episode_lines(view, number, series, start, stop)
    grid = detector.window_errors(frame, peak, order)
    st.plotly_chart(
        window_heatmap(grid, layout=_small(
            f"Episode {number}: the worst window at row {peak + 1}, sensor by time"
        )),
        config=CHART_CONFIG,
    )
    st.download_button(
        "Download episodes",
        data=neutralise_formulas(table.astype(str)).to_csv(index=False).encode("utf-8-sig"),
        file_name=f"{Path(view.name).stem or 'table'}_episodes.csv", mime="text/csv", on_click="ignore",
        icon=":material/download:", help="One row per episode: start, end, duration, peak and top sensors.",
    )


def _episode_run(order: list[np.ndarray], flags: np.ndarray, peak: int) -> tuple[np.ndarray, int, int]:
    """The series (rows in time order) holding row ``peak``, and where in it the flagged run around
    ``peak`` starts and stops (inclusive)."""
    series = next(rows for rows in order if (rows == peak).any())
    flagged = flags[series]
    at = int(np.flatnonzero(series == peak)[0])
    start, stop = at, at
    while start > 0 and flagged[start - 1]:
        start -= 1
    while stop < len(series) - 1 and flagged[stop + 1]:
        stop += 1
    return series, start, stop


def _mark_rows(view: ScoredView, rows: np.ndarray, verdict: str) -> None:
    for position in rows:
        view.mark(int(position), verdict)


def _episode_lines(view: ScoredView, number: int, series: np.ndarray, start: int, stop: int) -> None:
    """The sensors around an episode (a window's length either side), with the model's expectation."""
    detector = view.detector
    frame = view.table.frame
    w = detector.window_
    first = max(0, start - w)
    shown = series[first : stop + w + 1]
    actual = frame.iloc[shown][list(detector.sensors_)].apply(pd.to_numeric, errors="coerce")
    expected = detector.expected_at(frame, shown, view.time_order()).loc[shown]
    time_column = detector.order_column_
    x = frame[time_column].iloc[shown].to_numpy() if time_column else shown + 1
    shade = (x[start - first], x[stop - first])
    title = f"Episode {number}: the sensors and what the model expected"
    figure = sensor_lines(
        x, actual.reset_index(drop=True), expected.reset_index(drop=True), shade, layout=_small(title)
    )
    st.plotly_chart(figure, config=CHART_CONFIG)


# ------------------------------------------------------------------ where


def _where(view: ScoredView, threshold: float) -> None:
    scored = view.scored
    st.subheader("Where the anomalies are")
    flags = scored.flags(threshold)
    timeline, embedding = st.columns(2)
    # (x None: row numbers, counted from 1 as in the file and the flagged table.)
    x = scored.x
    over = "time" if scored.x is not None else "row order"
    figure = score_timeline(
        x, scored.scores, flags, threshold, max_points=CHART_POINTS, max_flagged=CHART_FLAGGED,
        layout={
            **_small(f"Score over {over}", legend_below=True),
            "xaxis": {"title": {"text": plotly_text(scored.x_title)}},
            # A long tail of scores would flatten every other row against the axis: log instead.
            **({"yaxis": {"title": {"text": "anomaly score (log)"}, **score_axis(True)}}
               if scored.long_tailed and scored.min_score > 0 else {}),
        },
    )
    timeline.plotly_chart(figure, config=CHART_CONFIG)
    projection = scored.projection
    if projection is not None:
        figure = embedding_scatter(
            projection.xy, scored.scores, flags, max_points=CHART_POINTS, max_flagged=CHART_FLAGGED,
            layout={
                **_small("Rows in 2-D, coloured by score", legend_below=True),
                "xaxis": {"title": {"text": projection.axis_titles[0]}},
                "yaxis": {"title": {"text": projection.axis_titles[1]}},
            },
        )
        embedding.plotly_chart(figure, config=CHART_CONFIG)
        embedding.caption(f"Each point is a row: {projection.description}. Flagged rows are diamonds.")
    n_flagged = scored.count_flagged(threshold)
    if n_flagged > CHART_FLAGGED:
        st.caption(
            f"The charts show a random sample of {CHART_FLAGGED:,} of the {n_flagged:,} flagged "
            "rows, and of the others, so that they stay quick; raise the threshold to see every "
            "flagged row."
        )
    elif scored.n_scored > CHART_POINTS:
        st.caption(
            f"The charts show every flagged row and a random sample of the others "
            f"({CHART_POINTS:,} points in all at most), so that they stay quick with many rows."
        )


# ------------------------------------------------------------------ downloads


def _downloads(view: ScoredView, threshold: float, n_flagged: int, metadata: dict[str, Any]) -> None:
    st.subheader("Take it with you")
    stem = Path(view.name).stem or "table"
    # The model is named after the data it learned from, not the file it scored.
    source = metadata.get("source")
    model_stem = (Path(source).stem if isinstance(source, str) else "") or stem
    # (label, builder, file name, type, help); a builder runs only when its button is clicked.
    files = [
        ("Download flagged rows", partial(rows_download, view, threshold, only_flagged=True),
         f"{stem}_flagged.csv", "text/csv",
         "The flagged rows, highest score first: your columns exactly as uploaded, then "
         "anomaly_score, is_anomaly and top_columns."),
        ("Download all rows with scores", partial(rows_download, view, threshold, only_flagged=False),
         f"{stem}_scored.csv", "text/csv",
         "Every row in the original order, with its score, flag and top columns."),
        ("Download model", partial(model_download, view, threshold, metadata),
         f"{model_stem}_model.zip", "application/zip",
         "A zip bundle (Keras model + JSON, no code) that keeps this threshold; load it on the "
         "Score page or with `python -m detector score`."),
    ]
    for column, (label, build, file_name, mime, help_text) in zip(st.columns(3), files, strict=True):
        column.download_button(
            label,
            data=build,
            file_name=file_name,
            mime=mime,
            on_click="ignore",
            disabled=label == "Download flagged rows" and n_flagged == 0,
            icon=":material/download:",
            help=help_text,
        )
    st.caption(
        "Files are built when you click (the button shows a spinner meanwhile: a few seconds for "
        "a million rows). CSVs are UTF-8 and safe to open in spreadsheet programs: cells that "
        "would run as formulas start with an apostrophe."
    )


def rows_download(view: ScoredView, threshold: float, *, only_flagged: bool) -> bytes:
    """The CSV the row download buttons serve, built when clicked."""
    return scored_rows_csv(view.scored, view.original_text(), threshold, only_flagged=only_flagged)


def model_download(view: ScoredView, threshold: float, metadata: dict[str, Any]) -> bytes:
    """The model bundle the model download button serves, saved with ``threshold``, the suppression
    rules and the reviews."""
    detector = view.detector.with_threshold(threshold).with_rules(view.reviews.rules)
    return bundle_bytes(detector, metadata={**metadata, "reviews": view.reviews.to_dict()})


def _small(title: str, *, legend_below: bool = False) -> dict[str, Any]:
    """Layout of a compact chart with a small title; ``legend_below`` keeps the legend off a colour bar."""
    layout: dict[str, Any] = {"title": {"text": title, "font": {"size": 14}}, "height": 340,
                              "margin": {"t": 40, "b": 10}}
    if legend_below:
        layout.update(legend={"orientation": "h", "x": 0, "y": -0.25, "yanchor": "top"}, height=380)
    return layout
