"""Tests for detector.comparison_charts: what each comparison figure draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from detector.charts import ANOMALY_COLOR, NORMAL_COLOR
from detector.comparison import compare_methods
from detector.comparison_charts import (
    ONLY_OTHER_COLOR,
    ONLY_PRIMARY_COLOR,
    method_metrics_bars,
    rank_scatter,
    sensitivity_bars,
)


def test_rank_scatter_puts_each_row_in_the_group_of_who_flags_it():
    primary_rank = np.array([10.0, 20, 30, 90, 95, 99])
    other_rank = np.array([15.0, 92, 25, 40, 96, 98])
    by_primary = np.array([False, False, False, True, True, True])
    by_other = np.array([False, True, False, False, True, True])
    figure = rank_scatter(primary_rank, other_rank, by_primary, by_other, titles=("Autoencoder", "ECOD"),
                          rows=np.array([5, 6, 7, 8, 9, 10]))
    names = [trace.name for trace in figure.data]
    assert names == ["neither", "only ECOD", "only Autoencoder", "both flag"]
    assert [len(trace.x) for trace in figure.data] == [2, 1, 1, 2]
    assert [trace.marker.color for trace in figure.data] == [
        NORMAL_COLOR, ONLY_OTHER_COLOR, ONLY_PRIMARY_COLOR, ANOMALY_COLOR,
    ]
    only_primary = figure.data[2]
    assert (only_primary.x[0], only_primary.y[0]) == (90, 40)
    assert list(only_primary.customdata) == [9]  # row 8 counted from 1
    assert figure.layout.xaxis.title.text == "Autoencoder: rank (percentile)"
    assert all(isinstance(trace, go.Scatter) for trace in figure.data)


def test_rank_scatter_uses_webgl_for_many_points_and_keeps_empty_groups():
    n = 3000
    ranks = np.linspace(0, 100, n)
    figure = rank_scatter(ranks, ranks, np.zeros(n, bool), np.zeros(n, bool), titles=("A", "B"))
    assert all(isinstance(trace, go.Scattergl) for trace in figure.data)
    assert [len(trace.x) for trace in figure.data] == [n, 0, 0, 0]


def test_rank_scatter_draws_the_rows_a_comparison_picks():
    rng = np.random.default_rng(0)
    comparison = compare_methods({"autoencoder": rng.normal(size=4000), "iforest": rng.normal(size=4000)},
                                 primary="autoencoder", share=0.05)
    pairs = comparison.rank_pairs("iforest", max_points=800)
    figure = rank_scatter(pairs.primary_rank, pairs.other_rank, pairs.flagged_primary, pairs.flagged_other,
                          titles=("Autoencoder", "Isolation Forest"), rows=pairs.positions)
    assert sum(len(trace.x) for trace in figure.data) == 800
    flagged = len(figure.data[2].x) + len(figure.data[3].x)
    assert flagged == comparison.summary("autoencoder").n_flagged


def test_rank_scatter_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="one length"):
        rank_scatter(np.ones(3), np.ones(4), np.ones(3, bool), np.ones(3, bool), titles=("A", "B"))


def test_sensitivity_bars_group_methods_by_anomaly_type():
    table = pd.DataFrame(
        {"local": [0.4, 0.1], "global": [0.9, 0.95], "dependency": [0.6, 0.05], "clustered": [1.0, 1.0]},
        index=pd.Index(["Autoencoder", "Isolation Forest"], name="method"),
    )
    figure = sensitivity_bars(table, layout={"height": 320})
    assert [trace.name for trace in figure.data] == ["Autoencoder", "Isolation Forest"]
    assert list(figure.data[0].x) == ["local", "global", "dependency", "clustered"]
    assert list(figure.data[1].y) == [0.1, 0.95, 0.05, 1.0]
    assert list(figure.data[0].text) == ["40%", "90%", "60%", "100%"]
    assert figure.layout.barmode == "group"
    assert figure.layout.yaxis.tickformat == ".0%"
    assert figure.layout.height == 320
    assert figure.layout.yaxis.title.text == "share of generated rows caught"  # kept by the merge


def test_method_metrics_bars_leave_out_metrics_the_table_lacks():
    comparison = compare_methods({"autoencoder": np.arange(50.0), "ecod": np.arange(50.0)[::-1].copy()},
                                 primary="autoencoder", share=0.1)
    figure = method_metrics_bars(comparison.table())
    assert [trace.name for trace in figure.data] == ["Autoencoder", "ECOD"]
    assert list(figure.data[0].x) == ["overlap with the primary"]  # no labels: no AP, no ROC-AUC
    assert list(figure.data[1].y) == [0.0]
