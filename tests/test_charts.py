"""Tests for detector.charts: what each figure carries, server-side bins, sampling and WebGL."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from detector.charts import (
    contribution_bars,
    downsample_indices,
    embedding_scatter,
    histogram_counts,
    histogram_figure,
    loss_curve,
    pr_curve_figure,
    reconstruction_bars,
    roc_curve_figure,
    score_histogram,
    score_timeline,
)
from detector.thresholds import ThresholdChoice

RNG = np.random.default_rng(0)
SCORES = RNG.gamma(2.0, size=20_000)
SCORES[:7] = np.nan


def drawn_rows(figure):
    """Row numbers in the hover data of every trace."""
    return np.concatenate([np.asarray(trace.customdata)[:, 0] for trace in figure.data]).astype(int)


# ---------------------------------------------------------------- sampling


def test_downsample_keeps_every_kept_row_and_caps_the_rest():
    keep = np.zeros(10_000, dtype=bool)
    keep[::97] = True  # 104 rows
    rows = downsample_indices(10_000, keep, max_points=500)
    assert len(rows) == 500
    assert set(np.flatnonzero(keep)) <= set(rows)
    assert np.all(np.diff(rows) > 0)


def test_downsample_is_seeded_and_returns_everything_when_small():
    keep = np.zeros(5000, dtype=bool)
    np.testing.assert_array_equal(downsample_indices(5000, keep, 100), downsample_indices(5000, keep, 100))
    assert not np.array_equal(
        downsample_indices(5000, keep, 100), downsample_indices(5000, keep, 100, seed=1)
    )
    np.testing.assert_array_equal(downsample_indices(50, None, 100), np.arange(50))


def test_downsample_never_drops_kept_rows_even_above_the_cap():
    keep = np.zeros(1000, dtype=bool)
    keep[:300] = True
    np.testing.assert_array_equal(downsample_indices(1000, keep, max_points=100), np.arange(300))


# ---------------------------------------------------------------- histogram


def test_histogram_sends_bin_counts_not_raw_scores():
    figure = score_histogram(SCORES, threshold=6.0, bins=40)
    (bars,) = figure.data
    assert bars.type == "bar"
    assert len(bars.x) == len(bars.y) == 40
    assert sum(bars.y) == np.isfinite(SCORES).sum()  # every scored row counted once, NaN left out


def test_histogram_with_labels_stacks_normal_and_anomaly_counts():
    labels = (SCORES > 6).astype(int)
    figure = score_histogram(SCORES, threshold=6.0, bins=30, labels=labels)
    assert [trace.name for trace in figure.data] == ["normal", "anomaly"]
    assert figure.layout.barmode == "stack"
    assert all(len(trace.y) == 30 for trace in figure.data)
    assert sum(figure.data[1].y) == labels[np.isfinite(SCORES)].sum()


def test_histogram_draws_threshold_and_annotated_markers():
    markers = [ThresholdChoice("mad", "Median + 3.5·MAD", 5.0, 321, 0.016)]
    figure = score_histogram(SCORES, threshold=6.0, markers=markers, log_y=True)
    lines = {(shape.x0, shape.line.dash) for shape in figure.layout.shapes}
    assert lines == {(6.0, None), (5.0, "dash")}
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert "Median + 3.5·MAD: 321" in texts
    assert "threshold 6" in texts
    assert figure.layout.yaxis.type == "log"


def test_log_histogram_spreads_a_long_tail_and_places_labels_on_the_log_axis():
    scores = np.r_[RNG.lognormal(-4, 1, 5000), 0.0, np.nan]
    histogram = histogram_counts(scores, bins=40, log_x=True)
    assert histogram.log_x
    assert np.allclose(np.diff(np.log(histogram.edges)), np.diff(np.log(histogram.edges))[0])
    assert sum(int(c.sum()) for _, c in histogram.groups) == 5001  # the 0 is in the first bin
    markers = [ThresholdChoice("iqr", "Q3 + 1.5·IQR", 0.1, 12, 0.002)]
    figure = histogram_figure(histogram, 0.05, markers=markers)
    assert figure.layout.xaxis.type == "log"
    labels = {a.text: a.x for a in figure.layout.annotations}
    assert labels["Q3 + 1.5·IQR: 12"] == pytest.approx(-1.0)  # log10(0.1): plotly's annotation units
    assert {shape.x0 for shape in figure.layout.shapes} == {0.1, 0.05}


def test_histogram_counts_are_computed_once_and_redrawn_at_any_threshold():
    histogram = histogram_counts(SCORES, labels=(np.arange(20_000) % 10 == 0).astype(int))
    for threshold in (1.0, 3.0):
        figure = histogram_figure(histogram, threshold)
        assert [trace.name for trace in figure.data] == ["normal", "anomaly"]
        assert figure.layout.shapes[0].x0 == threshold


# ---------------------------------------------------------------- curves


def test_loss_curve_shows_both_losses_and_the_best_epoch():
    figure = loss_curve({"loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.6, 0.7]})
    assert [trace.name for trace in figure.data] == ["training loss", "validation loss", "best epoch"]
    assert list(figure.data[0].x) == [1, 2, 3]
    assert (figure.data[2].x[0], figure.data[2].y[0]) == (2, 0.6)
    assert [trace.name for trace in loss_curve({"loss": [1.0]}).data] == ["training loss"]


def test_roc_and_pr_figures_mark_the_operating_point():
    roc = roc_curve_figure([0, 0.1, 1], [0, 0.8, 1], point=(0.1, 0.8))
    assert [trace.name for trace in roc.data] == ["ROC curve", "current threshold"]
    assert (roc.data[1].x[0], roc.data[1].y[0]) == (0.1, 0.8)
    assert len(roc.layout.shapes) == 1  # chance diagonal
    pr = pr_curve_figure([1, 0.5, 0], [0.2, 0.7, 1], point=None)
    assert [trace.name for trace in pr.data] == ["precision-recall curve"]


# ---------------------------------------------------------------- scatter plots


def test_timeline_keeps_every_flagged_row_and_uses_webgl_when_large():
    flagged = np.nan_to_num(SCORES) > 9
    figure = score_timeline(None, SCORES, flagged, threshold=9.0, max_points=2000)
    assert [trace.name for trace in figure.data] == ["normal", "anomaly"]
    assert all(isinstance(trace, go.Scattergl) for trace in figure.data)
    rows = drawn_rows(figure)
    assert len(rows) == max(2000, flagged.sum())
    assert set(np.flatnonzero(flagged)) <= set(rows)
    assert not np.isin(np.arange(7), rows).any()  # unscored rows are not drawn
    np.testing.assert_array_equal(np.sort(figure.data[1].customdata[:, 0]), np.flatnonzero(flagged))


def test_timeline_uses_svg_scatter_for_few_points_and_accepts_timestamps():
    times = pd.date_range("2024-01-01", periods=50, freq="h")
    scores = np.linspace(0, 1, 50)
    figure = score_timeline(times, scores, scores > 0.9, threshold=0.9)
    assert all(type(trace) is go.Scatter for trace in figure.data)
    assert len(figure.data[1].x) == 5
    assert figure.layout.shapes[0].y0 == 0.9


def test_embedding_scatter_is_coloured_by_score_and_sampled():
    xy = RNG.normal(size=(len(SCORES), 2))
    flagged = np.nan_to_num(SCORES) > 9
    figure = embedding_scatter(xy, SCORES, flagged, max_points=1500)
    normal, anomaly = figure.data
    assert isinstance(normal, go.Scattergl)
    assert len(drawn_rows(figure)) == max(1500, flagged.sum())
    np.testing.assert_allclose(anomaly.marker.color, SCORES[anomaly.customdata[:, 0].astype(int)])
    assert normal.marker.cmax == anomaly.marker.cmax  # one colour scale for both
    with pytest.raises(ValueError, match="shape"):
        embedding_scatter(xy[:, :1], SCORES, flagged)


# ---------------------------------------------------------------- one row


def test_reconstruction_bars_compare_actual_and_reconstructed_per_column():
    figure = reconstruction_bars(["amount", "hour", "site"], [120.0, 3, "north"], [80.5, 3, "south"])
    assert figure.layout.barmode == "group"
    actual, rebuilt = figure.data
    assert list(actual.x) == ["amount", "hour", "site"]
    assert list(actual.y[:2]) == [120.0, 3.0]
    assert np.isnan(actual.y[2])  # a category has no height...
    assert (actual.text[2], rebuilt.text[2]) == ("north", "south")  # ...but its text shows


def test_reconstruction_bars_can_draw_scaled_heights_and_label_the_values():
    figure = reconstruction_bars(
        ["rpm", "temp"], [1500.0, 20.5], [1400.0, 21.0], heights=([2.0, 0.1], [1.0, 0.3]),
        value_title="scaled",
    )
    actual, rebuilt = figure.data
    assert list(actual.y) == [2.0, 0.1]
    assert list(rebuilt.y) == [1.0, 0.3]
    assert list(actual.text) == ["1500", "20.5"]
    assert figure.layout.yaxis.title.text == "scaled"


def test_contribution_bars_sorted_with_the_tail_pooled():
    shares = pd.Series(np.arange(1, 26, dtype=float), index=[f"c{i}" for i in range(1, 26)])
    shares /= shares.sum()
    (bars,) = contribution_bars(shares, max_columns=5).data
    assert list(bars.y) == ["c25", "c24", "c23", "c22", "other (21 columns)"]
    assert bars.x.sum() == pytest.approx(100)


def test_downsample_samples_the_kept_rows_too_beyond_max_kept():
    keep = np.zeros(100_000, dtype=bool)
    keep[::2] = True  # half the rows flagged
    rows = downsample_indices(100_000, keep, max_points=1000, max_kept=5000)
    assert keep[rows].sum() == 5000
    assert np.array_equal(rows, downsample_indices(100_000, keep, max_points=1000, max_kept=5000))
    assert len(downsample_indices(100_000, keep, max_points=1000)) == 50_000  # no cap: all kept


def test_downsample_moves_few_points_when_the_threshold_moves():
    # The drawn sample comes from one random order: flagging a few more rows swaps few points,
    # rather than redrawing a fresh sample (which would make the chart jump on every drag).
    scores = RNG.gamma(2.0, size=50_000)
    before = downsample_indices(50_000, scores > np.quantile(scores, 0.99), max_points=3000)
    after = downsample_indices(50_000, scores > np.quantile(scores, 0.985), max_points=3000)
    assert len(np.intersect1d(before, after)) > 0.9 * len(before)


def test_capped_kept_rows_are_a_random_sample_not_the_first_ones():
    keep = np.zeros(100_000, dtype=bool)
    keep[:50_000] = True
    rows = downsample_indices(100_000, keep, max_points=1000, max_kept=5000)
    kept = rows[keep[rows]]
    assert len(kept) == 5000
    assert kept.max() > 40_000
    assert kept.min() < 10_000


def test_layout_is_merged_over_each_figures_defaults():
    layout = {"height": 300, "title": {"text": "t"}, "xaxis": {"title": {"text": "when"}}}
    flagged = np.nan_to_num(SCORES) > 9
    figures = [
        histogram_figure(histogram_counts(SCORES), 9.0, layout=layout),
        roc_curve_figure([0, 0.5, 1], [0, 0.8, 1], point=(0.5, 0.8), layout=layout),
        pr_curve_figure([0, 1], [1, 0.5], layout=layout),
        score_timeline(None, SCORES, flagged, 9.0, layout=layout),
        embedding_scatter(RNG.normal(size=(len(SCORES), 2)), SCORES, flagged, layout=layout),
        reconstruction_bars(["a"], [1.0], [2.0], layout=layout),
        contribution_bars({"a": 1.0}, layout=layout),
    ]
    for figure in figures:
        assert figure.layout.height == 300
        assert figure.layout.title.text == "t"
        assert figure.layout.xaxis.title.text == "when"
    # Defaults the layout does not name stay.
    assert figures[1].layout.yaxis.title.text == "true positive rate (recall)"
    assert len(figures[1].layout.shapes) == 1  # the chance diagonal


def test_timeline_without_x_places_rows_at_their_row_number():
    scores = np.array([0.1, 5.0, 0.2])
    figure = score_timeline(None, scores, scores > 1, threshold=1.0)
    assert list(figure.data[1].x) == [2]  # the second row
    assert figure.data[1].customdata.tolist() == [[1, 2]]  # position, row number


def test_html_in_column_names_and_cells_is_shown_as_typed_not_drawn():
    import html

    from detector.charts import LABEL_CHARACTERS, contribution_bars, plotly_text, reconstruction_bars

    name = '<a href="javascript:alert(1)">click</a>'
    cell = "<b>bold</b> " + "x" * 200
    bars = reconstruction_bars([name, "site"], [1.0, cell], [0.5, "<i>it</i>"])
    for trace in bars.data:
        assert all("<" not in str(label) for label in trace.x)
        assert all("<" not in str(text) for text in trace.text)
    assert bars.data[0].x[0] == "&lt;a href=&quot;javascript:alert(1)&quot;&gt;click&lt;/a&gt;"
    assert bars.data[0].text[1].endswith("…")
    assert len(html.unescape(bars.data[0].text[1])) == LABEL_CHARACTERS
    shares = contribution_bars({name: 0.7, "site": 0.3})
    assert shares.data[0].y[0] == plotly_text(name)


def test_log_axes_are_ticked_at_powers_of_ten_written_in_full():
    from detector.charts import histogram_counts, histogram_figure

    scores = np.r_[np.linspace(0.01, 1, 500), [50.0, 3000.0]]
    figure = histogram_figure(histogram_counts(scores, None, log_x=True), threshold=1.0, log_y=True)
    for axis in (figure.layout.xaxis, figure.layout.yaxis):
        assert axis.type == "log"
        assert axis.dtick == 1
        assert axis.tickformat == ",~g"
    linear = histogram_figure(histogram_counts(scores, None), threshold=1.0, log_y=False)
    assert linear.layout.xaxis.type == "linear"
    assert linear.layout.xaxis.dtick is None
