"""Tests for ui.results_view's pure helpers: how the flagged table is coloured."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detector.results import ScoredTable, flagged_view
from ui.results_view import contribution_styles


def test_contribution_styles_colour_only_large_shares():
    shares = pd.DataFrame({"a": [0.9, 0.1], "b": [0.1, 0.9]})
    scored = ScoredTable(scores=np.array([1.0, 2.0]), shares=shares)
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "note": ["x", "y"]})
    view = flagged_view(scored, frame, 0.0, limit=10)
    styles = contribution_styles(view, min_share=0.5)
    assert styles.loc[2, "b"].startswith("background-color")  # row 2 (score 2.0) first
    assert styles.loc[2, "a"] == ""
    assert styles.loc[1, "a"].startswith("background-color")
    assert (styles["note"] == "").all()


def test_contribution_styles_shade_by_share_and_skip_other_columns():
    shares = pd.DataFrame({"a": [0.25, 0.0], "b": [0.75, np.nan]})
    scored = ScoredTable(scores=np.array([1.0, 0.5]), shares=shares)
    frame = pd.DataFrame({"b": [3.0, 4.0], "a": [1.0, 2.0]})  # another column order than shares
    styles = contribution_styles(flagged_view(scored, frame, 0.0, limit=10), min_share=0.2)
    assert list(styles.columns) == ["b", "a", "anomaly score", "top columns"]
    assert styles.loc[1, "b"] == "background-color: rgba(228, 87, 86, 0.56)"  # 0.15 + 0.55 * 0.75
    assert styles.loc[1, "a"] == "background-color: rgba(228, 87, 86, 0.29)"
    assert styles.loc[2].tolist() == ["", "", "", ""]  # 0 and NaN shares: no colour


def test_a_method_without_shares_colours_no_cell():
    scored = ScoredTable(scores=np.array([1.0, 0.5]), shares=None)
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    flagged = flagged_view(scored, frame, 0.0, limit=10)
    assert flagged.shares is None
    assert (contribution_styles(flagged) == "").all().all()
    assert flagged.table["top columns"].tolist() == ["", ""]
