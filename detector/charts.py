"""Plotly figures for the dashboard, built from plain arrays (no Streamlit, no state).

Large inputs are reduced on the server before they reach the browser: the
histogram sends bin counts rather than raw scores, and scatter plots keep every
flagged point plus a seeded random sample of the others, drawn with WebGL
(``go.Scattergl``) once a figure holds more than ``WEBGL_ABOVE`` points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def downsample_indices(n: int, keep_mask: ArrayLike | None, max_points: int, seed: int = 0) -> np.ndarray:
    """Sorted row indices to draw: every row in ``keep_mask`` plus a random sample of the rest.

    The sample tops the kept rows up to ``max_points`` in total; kept rows are
    never dropped, even if they alone exceed ``max_points``. The same ``seed``
    gives the same sample, so a figure does not reshuffle on every rerun.
    """
    keep = np.zeros(n, dtype=bool) if keep_mask is None else np.asarray(keep_mask, dtype=bool)
    if keep.shape != (n,):
        raise ValueError(f"keep_mask must have shape ({n},), got {keep.shape}.")
    if n <= max_points:
        return np.arange(n)
    kept = np.flatnonzero(keep)
    others = np.flatnonzero(~keep)
    n_sample = min(max(max_points - len(kept), 0), len(others))
    sample = np.random.default_rng(seed).choice(others, size=n_sample, replace=False)
    return np.sort(np.concatenate([kept, sample]))


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
    values = np.asarray(scores, dtype=float)
    scored = np.isfinite(values)
    edges = np.histogram_bin_edges(values[scored], bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    widths = np.diff(edges)
    hover = np.column_stack([edges[:-1], edges[1:]])
    groups = [("rows", scored, NORMAL_COLOR)]
    if labels is not None:
        y = np.asarray(labels)
        groups = [
            ("normal", scored & (y == 0), NORMAL_COLOR),
            ("anomaly", scored & (y == 1), ANOMALY_COLOR),
        ]
    fig = go.Figure()
    for name, rows, color in groups:
        counts, _ = np.histogram(values[rows], bins=edges)
        fig.add_trace(
            go.Bar(
                x=centers,
                y=counts,
                width=widths,
                name=name,
                marker_color=color,
                customdata=hover,
                hovertemplate="%{customdata[0]:.4g} to %{customdata[1]:.4g}<br>%{y} rows"
                "<extra>%{fullData.name}</extra>",
            )
        )
    for marker in markers:
        fig.add_vline(
            x=marker.threshold,
            line_dash="dash",
            line_color=MARKER_COLOR,
            annotation_text=f"{marker.label}: {marker.n_flagged:,}",
            annotation_textangle=-90,
            annotation_position="top left",
            annotation_font_color=MARKER_COLOR,
        )
    if np.isfinite(threshold):
        fig.add_vline(
            x=threshold,
            line_color=THRESHOLD_COLOR,
            line_width=2,
            annotation_text=f"threshold {threshold:.4g}",
            annotation_position="top right",
        )
    fig.update_layout(
        barmode="stack",
        bargap=0,
        showlegend=labels is not None,
        xaxis_title="anomaly score",
        yaxis_title="rows",
    )
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def loss_curve(history: Mapping[str, Sequence[float]]) -> go.Figure:
    """Training and validation loss per epoch, marking the epoch with the lowest validation loss.

    ``history`` is ``{"loss": [...], "val_loss": [...]}``; either may be missing or empty.
    """
    fig = go.Figure()
    for key, name, color in (
        ("loss", "training loss", NORMAL_COLOR),
        ("val_loss", "validation loss", RECONSTRUCTED_COLOR),
    ):
        values = list(history.get(key, ()))
        if values:
            epochs = np.arange(1, len(values) + 1)
            fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines", name=name, line_color=color))
    val_loss = np.asarray(history.get("val_loss", ()), dtype=float)
    if np.isfinite(val_loss).any():
        # Early stopping restores the weights of this epoch.
        best = int(np.nanargmin(val_loss))
        fig.add_trace(
            go.Scatter(
                x=[best + 1],
                y=[val_loss[best]],
                mode="markers",
                name="best epoch",
                marker={"color": RECONSTRUCTED_COLOR, "size": 10, "symbol": "star"},
            )
        )
    fig.update_layout(xaxis_title="epoch", yaxis_title="loss")
    return fig


def roc_curve_figure(fpr: ArrayLike, tpr: ArrayLike, point: tuple[float, float] | None = None) -> go.Figure:
    """ROC curve with the chance diagonal and the current threshold's ``(fpr, tpr)`` point."""
    fig = _curve_figure(fpr, tpr, point, name="ROC curve")
    fig.add_shape(
        type="line",
        x0=0,
        y0=0,
        x1=1,
        y1=1,
        line={"dash": "dot", "color": MARKER_COLOR},
        layer="below",
    )
    fig.update_layout(xaxis_title="false positive rate", yaxis_title="true positive rate (recall)")
    return fig


def pr_curve_figure(
    recall: ArrayLike, precision: ArrayLike, point: tuple[float, float] | None = None
) -> go.Figure:
    """Precision-recall curve with the current threshold's ``(recall, precision)`` point."""
    fig = _curve_figure(recall, precision, point, name="precision-recall curve")
    fig.update_layout(xaxis_title="recall", yaxis_title="precision")
    return fig


def score_timeline(
    x: ArrayLike | None,
    scores: ArrayLike,
    flagged: ArrayLike,
    threshold: float,
    max_points: int = 5000,
) -> go.Figure:
    """Score per row against ``x`` (timestamps or row numbers; None = row number).

    Flagged rows are always drawn; normal rows are sampled down to
    ``max_points`` in total. Unscored rows are left out. Hovering shows the row
    number (0-based position in the table).
    """
    values = np.asarray(scores, dtype=float)
    positions = np.arange(len(values)) if x is None else np.asarray(x)
    rows = _rows_to_draw(np.isfinite(values), flagged, max_points)
    fig = _flag_scatter(positions, values, rows, flagged, values, color_by_score=False)
    if np.isfinite(threshold):
        fig.add_hline(y=threshold, line_color=THRESHOLD_COLOR, line_dash="dash")
    fig.update_layout(xaxis_title="row" if x is None else "", yaxis_title="anomaly score")
    return fig


def embedding_scatter(
    xy: ArrayLike, scores: ArrayLike, flagged: ArrayLike, max_points: int = 5000
) -> go.Figure:
    """2-D embedding of the rows (e.g. the bottleneck projected to 2-D), coloured by score.

    Flagged rows are drawn as diamonds with a red outline on top of the others;
    sampling as in :func:`score_timeline`.
    """
    points = np.asarray(xy, dtype=float)
    values = np.asarray(scores, dtype=float)
    if points.ndim != 2 or points.shape != (len(values), 2):
        raise ValueError(f"xy must have shape ({len(values)}, 2), got {points.shape}.")
    drawable = np.isfinite(values) & np.isfinite(points).all(axis=1)
    rows = _rows_to_draw(drawable, flagged, max_points)
    fig = _flag_scatter(points[:, 0], points[:, 1], rows, flagged, values, color_by_score=True)
    fig.update_layout(xaxis_title="dimension 1", yaxis_title="dimension 2")
    return fig


def reconstruction_bars(
    columns: Sequence[str], actual: Sequence[object], reconstructed: Sequence[object]
) -> go.Figure:
    """One row's actual vs reconstructed value per column, as grouped bars.

    Non-numeric values (categories) have no bar height; their text is shown on
    the bar and in the hover so a category mismatch is still visible.
    """
    names = [str(column) for column in columns]
    fig = go.Figure()
    for name, values, color in (
        ("actual", actual, NORMAL_COLOR),
        ("reconstructed", reconstructed, RECONSTRUCTED_COLOR),
    ):
        heights = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
        text = ["" if pd.isna(v) else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in values]
        fig.add_trace(
            go.Bar(
                x=names,
                y=heights.to_numpy(dtype=float, na_value=np.nan),
                name=name,
                marker_color=color,
                text=text,
                textposition="outside",
                hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>",
            )
        )
    fig.update_layout(barmode="group", xaxis_title="column", yaxis_title="value")
    return fig


def contribution_bars(shares: pd.Series | Mapping[str, float], max_columns: int = 20) -> go.Figure:
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
    fig = go.Figure(
        go.Bar(
            x=series.to_numpy() * 100,
            y=[str(name) for name in series.index],
            orientation="h",
            marker_color=ANOMALY_COLOR,
            hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title="share of the row's error (%)", yaxis={"autorange": "reversed"})
    return fig


def _curve_figure(x: ArrayLike, y: ArrayLike, point: tuple[float, float] | None, *, name: str) -> go.Figure:
    """A 0..1 x 0..1 curve with an optional 'current threshold' marker."""
    fig = go.Figure(go.Scatter(x=np.asarray(x), y=np.asarray(y), mode="lines", name=name))
    if point is not None:
        fig.add_trace(
            go.Scatter(
                x=[point[0]],
                y=[point[1]],
                mode="markers",
                name="current threshold",
                marker={"color": ANOMALY_COLOR, "size": 12},
            )
        )
    fig.update_xaxes(range=[0, 1.01])
    fig.update_yaxes(range=[0, 1.01])
    return fig


def _rows_to_draw(drawable: np.ndarray, flagged: ArrayLike, max_points: int) -> np.ndarray:
    """Row positions to draw: drawable rows, every flagged one plus a sample of the others."""
    is_flagged = np.asarray(flagged, dtype=bool)
    if is_flagged.shape != drawable.shape:
        raise ValueError(f"flagged must have one value per row ({drawable.shape}), got {is_flagged.shape}.")
    candidates = np.flatnonzero(drawable)
    return candidates[downsample_indices(len(candidates), is_flagged[candidates], max_points)]


def _flag_scatter(
    x: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    flagged: ArrayLike,
    scores: np.ndarray,
    *,
    color_by_score: bool,
) -> go.Figure:
    """Scatter of the chosen rows as a 'normal' and an 'anomaly' trace (WebGL when large)."""
    is_flagged = np.asarray(flagged, dtype=bool)
    scatter = go.Scattergl if len(rows) > WEBGL_ABOVE else go.Scatter
    # One colour range for both traces, so a colour means the same score in each.
    color_range = {"cmin": float(scores[rows].min()), "cmax": float(scores[rows].max())} if len(rows) else {}
    fig = go.Figure()
    for name, subset in (
        ("normal", rows[~is_flagged[rows]]),
        ("anomaly", rows[is_flagged[rows]]),
    ):
        anomaly = name == "anomaly"
        if color_by_score:
            marker = {
                "color": scores[subset],
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
        fig.add_trace(
            scatter(
                x=x[subset],
                y=y[subset],
                mode="markers",
                name=name,
                marker=marker,
                customdata=np.column_stack([subset, scores[subset]]),
                hovertemplate="row %{customdata[0]}<br>score %{customdata[1]:.4g}"
                "<extra>%{fullData.name}</extra>",
            )
        )
    return fig
