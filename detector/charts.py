"""Plotly figures for the dashboard, built from plain arrays (no Streamlit, no state).

Large inputs are reduced on the server before they reach the browser: the
histogram sends bin counts rather than raw scores, and scatter plots keep every
flagged point plus a seeded random sample of the others, drawn with WebGL
(``go.Scattergl``) once a figure holds more than ``WEBGL_ABOVE`` points.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from detector.thresholds import ThresholdChoice

WEBGL_ABOVE = 1000
NORMAL_COLOR = "#4C78A8"
ANOMALY_COLOR = "#E45756"
THRESHOLD_COLOR = "#333333"
MARKER_COLOR = "#7F7F7F"
RECONSTRUCTED_COLOR = "#F58518"
SCORE_COLORSCALE = "Viridis"

#: Plotly layout properties as a (nested) dict, e.g. ``{"height": 300, "title": {"text": "..."}}``.
Layout = Mapping[str, object]


#: A value shown on a chart (a category, a text) is cut to this many characters.
LABEL_CHARACTERS = 60


def plotly_text(value: object, limit: int | None = None) -> str:
    """``value`` as text Plotly shows literally: its HTML subset (``<a href>``, ``<b>``, ``<br>``,
    ``<span style>``) is escaped, since column names and cells come from users' files.

    Plotly turns the entities back into the characters when it draws, so ``<b>x</b>`` reads as
    typed, never as markup or a link. ``limit`` cuts long values (with "…").
    """
    text = str(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def downsample_indices(
    n: int, keep_mask: ArrayLike | None, max_points: int, seed: int = 0, max_kept: int | None = None,
) -> np.ndarray:
    """Sorted row indices to draw: every row in ``keep_mask`` plus a random sample of the rest.

    The sample tops the kept rows up to ``max_points`` in total; kept rows are
    never dropped, even if they alone exceed ``max_points``, unless there are more
    than ``max_kept`` of them: then a sample of ``max_kept`` is kept (a threshold
    that flags a third of a million rows must not send them all to the browser).

    Both samples are prefixes of one seeded random order of the ``n`` rows (computed once per
    ``n`` and ``seed``), so the same inputs give the same points and a moved threshold changes
    few of them: the drawn rows do not reshuffle on every rerun, and a rerun costs a pass
    over the kept rows and the sample rather than a fresh random draw over every row.
    """
    keep = np.zeros(n, dtype=bool) if keep_mask is None else np.asarray(keep_mask, dtype=bool)
    if keep.shape != (n,):
        raise ValueError(f"keep_mask must have shape ({n},), got {keep.shape}.")
    if n <= max_points:
        return np.arange(n)
    order, rank = _random_order(n, seed)
    kept = np.flatnonzero(keep)
    n_keep = len(kept)
    if max_kept is not None and n_keep > max_kept:
        # The max_kept kept rows that come first in the random order.
        kept = kept[np.argpartition(rank[kept], max_kept - 1)[:max_kept]]
    n_sample = min(max(max_points - len(kept), 0), n - n_keep)
    # The first n_sample + n_keep rows of the order hold at least n_sample rows not kept.
    head = order[: n_sample + n_keep]
    sample = head[~keep[head]][:n_sample]
    return np.sort(np.concatenate([kept, sample]))


@functools.lru_cache(maxsize=4)
def _random_order(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random permutation of ``range(n)`` and each row's place in it.

    Kept for a few sizes (one per scored table in use): 8 bytes per row.
    """
    index_type = np.int64 if n > 2**31 - 1 else np.int32
    order = np.random.default_rng(seed).permutation(n).astype(index_type)
    rank = np.empty(n, dtype=index_type)
    rank[order] = np.arange(n, dtype=index_type)
    order.flags.writeable = rank.flags.writeable = False
    return order, rank


@dataclass(frozen=True)
class Histogram:
    """Bin edges and per-group row counts: what a score histogram sends instead of the scores.

    ``groups`` holds ``(name, counts)`` pairs: one ``"rows"`` group, or ``"normal"`` and
    ``"anomaly"`` when labels split the rows. ``log_x`` means the edges are evenly spaced on a
    log scale (and the figure uses a log axis). Computing it once lets a page redraw the
    histogram at any threshold without touching the scores again.
    """

    edges: np.ndarray
    groups: tuple[tuple[str, np.ndarray], ...]
    log_x: bool = False


def histogram_counts(
    scores: ArrayLike, labels: ArrayLike | None = None, bins: int = 60, *, log_x: bool = False,
) -> Histogram:
    """Bin the scored rows (NaN scores left out), split by ``labels`` (0/1) when given.

    With ``log_x`` the bins are evenly spaced in log(score), which spreads out the long right
    tail reconstruction errors usually have; scores of 0 or below (if any) go in the first bin.
    """
    values = np.asarray(scores, dtype=float)
    scored = np.isfinite(values)
    positive = values[scored & (values > 0)]
    log_x = log_x and positive.size > 0 and positive.max() > positive.min()
    if log_x:
        edges = np.geomspace(positive.min(), positive.max(), bins + 1)
        values = np.where(scored, np.clip(values, edges[0], None), np.nan)
    else:
        edges = np.histogram_bin_edges(values[scored], bins=bins)
    masks = [("rows", scored)]
    if labels is not None:
        y = np.asarray(labels)
        masks = [("normal", scored & (y == 0)), ("anomaly", scored & (y == 1))]
    groups = tuple((name, np.histogram(values[rows], bins=edges)[0]) for name, rows in masks)
    return Histogram(edges=edges, groups=groups, log_x=log_x)


def histogram_figure(
    histogram: Histogram,
    threshold: float,
    *,
    log_y: bool = False,
    markers: Sequence[ThresholdChoice] = (),
    layout: Layout | None = None,
) -> go.Figure:
    """Bars of ``histogram`` (stacked when split by label) with the threshold as a solid line.

    Each marker (e.g. from ``automatic_thresholds``) is a dashed line annotated with its label
    and how many rows it flags. ``layout`` (Plotly layout properties, e.g. a title or height)
    is merged over the defaults.
    """
    edges = histogram.edges
    # On a log axis the middle of a bin is the geometric mean of its edges.
    centers = np.sqrt(edges[:-1] * edges[1:]) if histogram.log_x else (edges[:-1] + edges[1:]) / 2
    widths = np.diff(edges)
    hover = np.column_stack([edges[:-1], edges[1:]])
    colors = {"anomaly": ANOMALY_COLOR}
    bars = [
        go.Bar(
            x=centers,
            y=counts,
            width=widths,
            name=name,
            marker_color=colors.get(name, NORMAL_COLOR),
            customdata=hover,
            hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}<br>%{y} rows"
            "<extra>%{fullData.name}</extra>",
        )
        for name, counts in histogram.groups
    ]
    # Shapes and labels go in as one layout (add_vline validates the figure again per line,
    # which made this chart the slowest part of a threshold drag).
    shapes, labels = [], []
    # Labels sit at staggered heights (lowest threshold highest), so that close lines stay
    # readable, and on the side of their line that has more room.
    shown = sorted((m for m in markers if _on_axis(m.threshold, histogram.log_x)), key=lambda m: m.threshold)
    for level, marker in enumerate(shown):
        shapes.append(_vertical_line(marker.threshold, {"dash": "dash", "color": MARKER_COLOR}))
        labels.append({
            **_line_label(marker.threshold, histogram),
            "y": 0.98 - 0.09 * level,
            "text": f"{marker.label.split(' (')[0]}: {marker.n_flagged:,}",
            "font": {"color": MARKER_COLOR},
        })
    if _on_axis(threshold, histogram.log_x):
        shapes.append(_vertical_line(threshold, {"color": THRESHOLD_COLOR, "width": 2}))
        labels.append({
            **_line_label(threshold, histogram), "y": 1.06, "text": f"threshold {threshold:.4g}",
            "font": {"color": THRESHOLD_COLOR},
        })
    x_title = "anomaly score (log scale)" if histogram.log_x else "anomaly score"
    return _figure(
        bars,
        {
            "barmode": "stack",
            "bargap": 0,
            "showlegend": len(histogram.groups) > 1,
            "xaxis": {"title": {"text": x_title}, **_axis_scale(histogram.log_x)},
            "yaxis": {"title": {"text": "rows"}, **_axis_scale(log_y)},
            "shapes": shapes,
            "annotations": labels,
        },
        layout,
    )


def score_axis(log: bool) -> dict[str, object]:
    """An axis for scores or counts: linear, or log ticked at powers of ten written in full."""
    return _axis_scale(log)


def _axis_scale(log: bool) -> dict[str, object]:
    """A linear axis, or a log axis ticked at powers of ten written out in full ("0.1", "1", "10",
    "1,000"): Plotly's default log ticks label 2 and 5 between decades with bare digits, which
    read as values."""
    if not log:
        return {"type": "linear"}
    return {"type": "log", "dtick": 1, "tickformat": ",~g", "minor": {"ticks": "outside", "dtick": "D1"}}


def _vertical_line(x: float, line: dict[str, object]) -> dict[str, object]:
    """A line across the plot's height at ``x`` (what ``add_vline`` draws)."""
    return {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain", "line": line}


def score_histogram(
    scores: ArrayLike,
    threshold: float,
    *,
    log_y: bool = False,
    bins: int = 60,
    markers: Sequence[ThresholdChoice] = (),
    labels: ArrayLike | None = None,
) -> go.Figure:
    """Histogram of the scored rows with the threshold as a solid vertical line.

    With ``labels`` (0/1 per row) the bars are stacked into normal and anomaly
    counts. Each marker (e.g. from ``automatic_thresholds``) is a dashed line
    annotated with its label and how many rows it flags. Unscored (NaN) rows are
    left out.
    """
    return histogram_figure(
        histogram_counts(scores, labels, bins), threshold, log_y=log_y, markers=markers,
    )


def loss_curve(history: Mapping[str, Sequence[float]]) -> go.Figure:
    """Training and validation loss per epoch, marking the epoch with the lowest validation loss.

    ``history`` is ``{"loss": [...], "val_loss": [...]}``; either may be missing or empty. An
    ``"epoch"`` list, when given, places each point at the epochs (passes) done when it was
    measured: a small table's training checks its losses every few passes.
    """
    fig = go.Figure()
    given = list(history.get("epoch", ()))
    for key, name, color in (
        ("loss", "training loss", NORMAL_COLOR),
        ("val_loss", "validation loss", RECONSTRUCTED_COLOR),
    ):
        values = list(history.get(key, ()))
        if values:
            epochs = given if len(given) == len(values) else np.arange(1, len(values) + 1)
            fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines", name=name, line_color=color))
    val_loss = np.asarray(history.get("val_loss", ()), dtype=float)
    if np.isfinite(val_loss).any():
        # Early stopping restores the weights of this epoch.
        best = int(np.nanargmin(val_loss))
        fig.add_trace(
            go.Scatter(
                x=[given[best] if len(given) == len(val_loss) else best + 1],
                y=[val_loss[best]],
                mode="markers",
                name="best epoch",
                marker={"color": RECONSTRUCTED_COLOR, "size": 10, "symbol": "star"},
            )
        )
    fig.update_layout(xaxis_title="epoch", yaxis_title="loss")
    return fig


def roc_curve_figure(
    fpr: ArrayLike, tpr: ArrayLike, point: tuple[float, float] | None = None, *, layout: Layout | None = None,
) -> go.Figure:
    """ROC curve with the chance diagonal and the current threshold's ``(fpr, tpr)`` point."""
    chance = {
        "type": "line", "x0": 0, "y0": 0, "x1": 1, "y1": 1, "layer": "below",
        "line": {"dash": "dot", "color": MARKER_COLOR},
    }
    return _curve_figure(
        fpr, tpr, point, name="ROC curve",
        layout=_merged(
            {
                **_axis_titles("false positive rate", "true positive rate (recall)"),
                "shapes": [chance],
            },
            layout,
        ),
    )


def pr_curve_figure(
    recall: ArrayLike, precision: ArrayLike, point: tuple[float, float] | None = None,
    *, layout: Layout | None = None,
) -> go.Figure:
    """Precision-recall curve with the current threshold's ``(recall, precision)`` point."""
    return _curve_figure(
        recall, precision, point, name="precision-recall curve",
        layout=_merged(
            _axis_titles("recall", "precision"), layout,
        ),
    )


def score_timeline(
    x: ArrayLike | None,
    scores: ArrayLike,
    flagged: ArrayLike,
    threshold: float,
    max_points: int = 5000,
    max_flagged: int | None = None,
    *,
    layout: Layout | None = None,
) -> go.Figure:
    """Score per row against ``x`` (timestamps or numbers; None = the row number, counted from 1).

    Flagged rows are always drawn (up to ``max_flagged`` of them, if given);
    normal rows are sampled down to ``max_points`` in total. Unscored rows are
    left out. Hovering shows the row number (counted from 1, as in the file);
    ``customdata[:, 0]`` holds each point's 0-based position.
    """
    values = np.asarray(scores, dtype=float)
    positions = None if x is None else np.asarray(x)
    rows = _rows_to_draw(np.isfinite(values), flagged, max_points, max_flagged)
    line = {
        "type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": threshold, "y1": threshold, "yref": "y",
        "line": {"color": THRESHOLD_COLOR, "dash": "dash"},
    }
    return _flag_scatter(
        positions, values, rows, flagged, values, color_by_score=False,
        layout=_merged(
            {
                **_axis_titles("row" if x is None else "", "anomaly score"),
                "shapes": [line] if np.isfinite(threshold) else [],
            },
            layout,
        ),
    )


def embedding_scatter(
    xy: ArrayLike,
    scores: ArrayLike,
    flagged: ArrayLike,
    max_points: int = 5000,
    max_flagged: int | None = None,
    *,
    layout: Layout | None = None,
) -> go.Figure:
    """2-D embedding of the rows (e.g. the bottleneck projected to 2-D), coloured by score.

    Flagged rows are drawn as diamonds with a red outline on top of the others;
    sampling as in :func:`score_timeline`.
    """
    points = np.asarray(xy)
    if points.dtype.kind != "f":
        points = points.astype(float)
    values = np.asarray(scores, dtype=float)
    if points.ndim != 2 or points.shape != (len(values), 2):
        raise ValueError(f"xy must have shape ({len(values)}, 2), got {points.shape}.")
    # (Two 1-D tests: isfinite(points).all(axis=1) is several times slower on a million rows.)
    drawable = np.isfinite(values) & np.isfinite(points[:, 0]) & np.isfinite(points[:, 1])
    rows = _rows_to_draw(drawable, flagged, max_points, max_flagged)
    return _flag_scatter(
        points[:, 0], points[:, 1], rows, flagged, values, color_by_score=True,
        layout=_merged(
            _axis_titles("dimension 1", "dimension 2"), layout,
        ),
    )


def reconstruction_bars(
    columns: Sequence[str],
    actual: Sequence[object],
    reconstructed: Sequence[object],
    *,
    heights: tuple[Sequence[float], Sequence[float]] | None = None,
    value_title: str = "value",
    layout: Layout | None = None,
) -> go.Figure:
    """One row's actual vs reconstructed value per column, as grouped bars.

    Non-numeric values (categories) have no bar height; their text is shown on
    the bar and in the hover so a category mismatch is still visible. ``heights``
    (actual, reconstructed) draws the bars on another scale than the values, e.g.
    scaled so that columns measured in thousands and in tenths compare; the bars'
    text still shows the values themselves.
    """
    names = [plotly_text(column) for column in columns]
    traces = []
    for index, (name, values, color) in enumerate(
        (("actual", actual, NORMAL_COLOR), ("reconstructed", reconstructed, RECONSTRUCTED_COLOR))
    ):
        bars = list(values) if heights is None else list(heights[index])
        y = pd.to_numeric(pd.Series(bars, dtype=object), errors="coerce")
        text = [
            "" if pd.isna(v) else (f"{v:.4g}" if isinstance(v, float) else plotly_text(v, LABEL_CHARACTERS))
            for v in values
        ]
        traces.append(
            go.Bar(
                x=names,
                y=y.to_numpy(dtype=float, na_value=np.nan),
                name=name,
                marker_color=color,
                text=text,
                textposition="outside",
                hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
            )
        )
    return _figure(
        traces,
        {"barmode": "group", **_axis_titles("column", value_title)},
        layout,
    )


def contribution_bars(
    shares: pd.Series | Mapping[str, float], max_columns: int = 20, *, layout: Layout | None = None,
) -> go.Figure:
    """Horizontal bars of each column's share of one row's error, largest on top.

    Beyond ``max_columns`` the smallest shares are summed into one
    ``"other (n columns)"`` bar so the chart stays readable for wide tables.
    """
    series = pd.Series(shares, dtype=float).fillna(0.0).sort_values(ascending=False, kind="stable")
    if len(series) > max_columns:
        rest = series.iloc[max_columns - 1 :]
        series = pd.concat(
            [
                series.iloc[: max_columns - 1],
                pd.Series({f"other ({len(rest)} columns)": rest.sum()}),
            ]
        )
    bar = go.Bar(
        x=series.to_numpy() * 100,
        y=[plotly_text(name) for name in series.index],
        orientation="h",
        marker_color=ANOMALY_COLOR,
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
    )
    return _figure(
        [bar],
        {"xaxis": {"title": {"text": "share of the row's error (%)"}}, "yaxis": {"autorange": "reversed"}},
        layout,
    )


def _curve_figure(
    x: ArrayLike, y: ArrayLike, point: tuple[float, float] | None, *, name: str, layout: Layout,
) -> go.Figure:
    """A 0..1 x 0..1 curve with an optional 'current threshold' marker."""
    traces = [go.Scatter(x=np.asarray(x), y=np.asarray(y), mode="lines", name=name)]
    if point is not None:
        traces.append(
            go.Scatter(
                x=[point[0]],
                y=[point[1]],
                mode="markers",
                name="current threshold",
                marker={"color": ANOMALY_COLOR, "size": 12},
            )
        )
    return _figure(traces, {"xaxis": {"range": [0, 1.01]}, "yaxis": {"range": [0, 1.01]}}, layout)


def _figure(traces: Sequence[object], layout: Layout, extra: Layout | None = None) -> go.Figure:
    """One figure built in one go: Plotly validates it once, where every ``update_layout`` or
    ``add_*`` call validates again (together they made a threshold drag several times slower)."""
    return go.Figure(data=list(traces), layout=_merged(layout, extra))


def _merged(base: Layout, extra: Layout | None) -> dict[str, object]:
    """``base`` with ``extra`` merged over it, nested dicts key by key (neither is changed)."""
    merged = dict(base)
    for key, value in (extra or {}).items():
        old = merged.get(key)
        nested = isinstance(old, Mapping) and isinstance(value, Mapping)
        merged[key] = _merged(old, value) if nested else value
    return merged


def _axis_titles(x: str, y: str) -> dict[str, object]:
    return {"xaxis": {"title": {"text": x}}, "yaxis": {"title": {"text": y}}}


def _line_label(x: float, histogram: Histogram) -> dict[str, object]:
    """Where a vertical line's label goes: next to the line, on the side with more room.

    Annotations on a log axis take log10 of the value (shapes take the value itself).
    """
    lo, hi = histogram.edges[0], histogram.edges[-1]
    if histogram.log_x:
        x, lo, hi = np.log10(x), np.log10(lo), np.log10(hi)
    right_half = hi > lo and (x - lo) / (hi - lo) > 0.6
    return {
        "x": float(x),
        "xref": "x",
        "yref": "paper",
        "xanchor": "right" if right_half else "left",
        "showarrow": False,
        "bgcolor": "rgba(255, 255, 255, 0.75)",
    }


def _on_axis(x: float, log_x: bool) -> bool:
    """Whether a vertical line at ``x`` can be drawn (a log axis has no place for 0 or below)."""
    return bool(np.isfinite(x)) and (not log_x or x > 0)


def _rows_to_draw(
    drawable: np.ndarray, flagged: ArrayLike, max_points: int, max_flagged: int | None = None,
) -> np.ndarray:
    """Row positions to draw: drawable rows, every flagged one plus a sample of the others."""
    is_flagged = np.asarray(flagged, dtype=bool)
    if is_flagged.shape != drawable.shape:
        raise ValueError(f"flagged must have one value per row ({drawable.shape}), got {is_flagged.shape}.")
    if drawable.all():  # the usual case: skip two passes over every row
        return downsample_indices(len(drawable), is_flagged, max_points, max_kept=max_flagged)
    candidates = np.flatnonzero(drawable)
    keep = is_flagged[candidates]
    return candidates[downsample_indices(len(candidates), keep, max_points, max_kept=max_flagged)]


def _flag_scatter(
    x: np.ndarray | None,
    y: np.ndarray,
    rows: np.ndarray,
    flagged: ArrayLike,
    scores: np.ndarray,
    *,
    color_by_score: bool,
    layout: dict[str, object],
) -> go.Figure:
    """Scatter of the chosen rows as a 'normal' and an 'anomaly' trace (WebGL when large).

    ``x`` None puts each row at its row number (counted from 1).

    Coordinates and scores go to the browser as 32-bit floats and ``customdata`` as 32-bit
    integers (0-based position, row number counted from 1): half the bytes of float64, and
    more precision than a chart shows.
    """
    is_flagged = np.asarray(flagged, dtype=bool)
    scatter = go.Scattergl if len(rows) > WEBGL_ABOVE else go.Scatter
    # One colour range for both traces, so a colour means the same score in each.
    color_range = {"cmin": float(scores[rows].min()), "cmax": float(scores[rows].max())} if len(rows) else {}
    score_ref = "marker.color" if color_by_score else "y"
    index_type = np.int64 if len(y) >= 2**31 - 1 else np.int32
    traces = []
    for name, subset in (
        ("normal", rows[~is_flagged[rows]]),
        ("anomaly", rows[is_flagged[rows]]),
    ):
        anomaly = name == "anomaly"
        if color_by_score:
            marker = {
                "color": _compact(scores[subset]),
                "colorscale": SCORE_COLORSCALE,
                **color_range,
                "showscale": not anomaly,
                "colorbar": {"title": {"text": "score"}},
                "size": 9 if anomaly else 5,
                "symbol": "diamond" if anomaly else "circle",
                "line": {"color": ANOMALY_COLOR, "width": 1.5 if anomaly else 0},
            }
        else:
            color = ANOMALY_COLOR if anomaly else NORMAL_COLOR
            marker = {"color": color, "size": 7 if anomaly else 4}
        traces.append(
            scatter(
                x=(subset + 1).astype(index_type) if x is None else _compact(x[subset]),
                y=_compact(y[subset]),
                mode="markers",
                name=name,
                marker=marker,
                # Positions for code, and row numbers counted from 1 (as in the file) for people.
                customdata=np.column_stack([subset, subset + 1]).astype(index_type),
                hovertemplate=f"row %{{customdata[1]}}<br>score %{{{score_ref}:.4g}}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    return go.Figure(data=traces, layout=layout)


def _compact(values: np.ndarray) -> np.ndarray:
    """Floats as float32 for the browser (other types, e.g. timestamps or row numbers, as they are)."""
    return values.astype(np.float32) if values.dtype.kind == "f" else values


def window_heatmap(grid: pd.DataFrame, *, layout: Layout | None = None) -> go.Figure:
    """A window's error shares, sensor (rows) by offset in rows from its last row (columns)."""
    heat = go.Heatmap(
        z=grid.to_numpy(dtype=float) * 100,
        x=[int(c) for c in grid.columns],
        y=[plotly_text(name) for name in grid.index],
        colorscale="Reds",
        colorbar={"title": {"text": "% of error"}},
        hovertemplate="%{y}, %{x} rows from the window's end: %{z:.1f}%<extra></extra>",
    )
    return _figure([heat], _axis_titles("rows before the window's last row", "sensor"), layout)


def sensor_lines(
    x: ArrayLike,
    actual: pd.DataFrame,
    expected: pd.DataFrame | None,
    shade: tuple[object, object] | None = None,
    *,
    layout: Layout | None = None,
) -> go.Figure:
    """Each sensor over time (solid) with what the model expected (dotted), a stretch shaded."""
    traces = []
    palette = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    for k, column in enumerate(actual.columns):
        color = palette[k % len(palette)]
        name = plotly_text(column)
        traces.append(go.Scatter(x=np.asarray(x), y=actual[column].to_numpy(dtype=float), mode="lines",
                                 name=name, line={"color": color}))
        if expected is not None and column in expected:
            traces.append(go.Scatter(
                x=np.asarray(x), y=expected[column].to_numpy(dtype=float), mode="lines",
                name=f"{name} (expected)", line={"color": color, "dash": "dot"},
            ))
    extra: dict[str, object] = _axis_titles("", "value")
    if shade is not None:
        extra["shapes"] = [{
            "type": "rect", "xref": "x", "yref": "paper", "x0": shade[0], "x1": shade[1], "y0": 0, "y1": 1,
            "fillcolor": ANOMALY_COLOR, "opacity": 0.15, "line": {"width": 0},
        }]
    return _figure(traces, extra, layout)
