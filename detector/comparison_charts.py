"""Plotly figures that compare methods, built from plain arrays and tables (no Streamlit, no state).

Colours follow :mod:`detector.charts`: blue for rows nobody flags, red for rows flagged by
both methods; the two kinds of disagreement get their own colours so they stand out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from numpy.typing import ArrayLike

from detector.charts import (
    ANOMALY_COLOR,
    MARKER_COLOR,
    NORMAL_COLOR,
    RECONSTRUCTED_COLOR,
    WEBGL_ABOVE,
    Layout,
)

ONLY_PRIMARY_COLOR = RECONSTRUCTED_COLOR
ONLY_OTHER_COLOR = "#54A24B"
#: One colour per method in grouped bars, in the order the methods come (primary first).
METHOD_COLORS = (NORMAL_COLOR, RECONSTRUCTED_COLOR, ONLY_OTHER_COLOR, "#B279A2", "#72B7B2", "#EECA3B")
#: Names for people of the columns of ``Comparison.table()``.
METRIC_TITLES = {
    "average_precision": "average precision",
    "roc_auc": "ROC-AUC",
    "precision": "precision",
    "recall": "recall",
    "overlap": "overlap with the primary",
    "spearman": "rank correlation",
}


def rank_scatter(
    primary_rank: ArrayLike,
    other_rank: ArrayLike,
    flagged_primary: ArrayLike,
    flagged_other: ArrayLike,
    *,
    titles: tuple[str, str],
    rows: ArrayLike | None = None,
    layout: Layout | None = None,
) -> go.Figure:
    """Each row's percentile rank (0 to 100) by two methods, coloured by who flags it.

    Four traces, always in this order and present even when empty so the legend stays put:
    ``"neither"``, ``"only <other>"``, ``"only <primary>"``, ``"both flag"``. ``titles`` is
    ``(primary title, other title)``; ``rows`` (0-based positions) shows row numbers counted
    from 1 in the hover. Points on the dashed diagonal are ranked alike by both methods.
    """
    x = np.asarray(primary_rank, dtype=float)
    y = np.asarray(other_rank, dtype=float)
    by_primary = np.asarray(flagged_primary, dtype=bool)
    by_other = np.asarray(flagged_other, dtype=bool)
    if not (x.shape == y.shape == by_primary.shape == by_other.shape) or x.ndim != 1:
        raise ValueError(
            "ranks and flags must be 1-D arrays of one length, got shapes "
            f"{x.shape}, {y.shape}, {by_primary.shape}, {by_other.shape}."
        )
    positions = np.arange(len(x)) if rows is None else np.asarray(rows, dtype=np.int64)
    primary, other = titles
    scatter = go.Scattergl if len(x) > WEBGL_ABOVE else go.Scatter
    groups = (
        ("neither", ~by_primary & ~by_other, NORMAL_COLOR, 4),
        (f"only {other}", ~by_primary & by_other, ONLY_OTHER_COLOR, 7),
        (f"only {primary}", by_primary & ~by_other, ONLY_PRIMARY_COLOR, 7),
        ("both flag", by_primary & by_other, ANOMALY_COLOR, 7),
    )
    traces = [
        scatter(
            x=x[chosen].astype(np.float32),
            y=y[chosen].astype(np.float32),
            mode="markers",
            name=name,
            marker={"color": color, "size": size, "opacity": 0.5 if name == "neither" else 0.9},
            customdata=positions[chosen] + 1,
            hovertemplate=f"row %{{customdata}}<br>{primary}: %{{x:.1f}}<br>{other}: %{{y:.1f}}"
            "<extra>%{fullData.name}</extra>",
        )
        for name, chosen, color, size in groups
    ]
    diagonal = {
        "type": "line", "x0": 0, "y0": 0, "x1": 100, "y1": 100, "xref": "x", "yref": "y",
        "line": {"color": MARKER_COLOR, "dash": "dash", "width": 1},
    }
    return _figure(
        traces,
        {
            "xaxis": {"title": {"text": f"{primary}: rank (percentile)"}, "range": [0, 101]},
            "yaxis": {"title": {"text": f"{other}: rank (percentile)"}, "range": [0, 101]},
            "shapes": [diagonal],
        },
        layout,
    )


def sensitivity_bars(profile_table: pd.DataFrame, layout: Layout | None = None) -> go.Figure:
    """Share of each kind of generated anomaly each method catches: types on x, a bar per method.

    ``profile_table`` is ``SensitivityProfile.table()``: methods as rows, types as columns.
    """
    return _grouped_bars(profile_table, x_title="kind of anomaly", y_title="share of generated rows caught",
                         layout=layout)


def method_metrics_bars(
    comparison_table: pd.DataFrame,
    metrics: Sequence[str] = ("average_precision", "roc_auc", "overlap"),
    layout: Layout | None = None,
) -> go.Figure:
    """Chosen metrics of ``Comparison.table()`` side by side: a metric per group, a bar per method.

    Metrics the table does not have (the label metrics without labels) are left out.
    """
    present = [metric for metric in metrics if metric in comparison_table.columns]
    table = comparison_table[present].rename(columns=METRIC_TITLES)
    return _grouped_bars(table, x_title="", y_title="value (0 to 1)", layout=layout)


def _grouped_bars(table: pd.DataFrame, *, x_title: str, y_title: str, layout: Layout | None) -> go.Figure:
    """One bar trace per row of ``table`` over its columns, on a 0..1 axis shown in percent."""
    groups = [str(column) for column in table.columns]
    traces = []
    for index, (method, values) in enumerate(table.iterrows()):
        heights = values.to_numpy(dtype=float, na_value=np.nan)
        traces.append(
            go.Bar(
                x=groups,
                y=heights,
                name=str(method),
                marker_color=METHOD_COLORS[index % len(METHOD_COLORS)],
                text=["" if np.isnan(h) else f"{h:.0%}" for h in heights],
                textposition="outside",
                hovertemplate="%{x}: %{y:.1%}<extra>%{fullData.name}</extra>",
            )
        )
    return _figure(
        traces,
        {
            "barmode": "group",
            "xaxis": {"title": {"text": x_title}},
            "yaxis": {"title": {"text": y_title}, "range": [0, 1.1], "tickformat": ".0%"},
        },
        layout,
    )


def _figure(traces: Sequence[object], base: Layout, extra: Layout | None) -> go.Figure:
    """A figure with ``extra`` layout merged over ``base`` (nested dicts key by key)."""
    figure = go.Figure(data=list(traces), layout=dict(base))
    if extra:
        figure.update_layout(dict(extra))
    return figure
