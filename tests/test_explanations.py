"""Tests for detector.explanations: which columns explain each row's error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detector.explanations import top_column_names, top_columns

SHARES = pd.DataFrame(
    {
        "amount": [0.62, 0.10, np.nan, 0.0, 0.25],
        "hour": [0.21, 0.60, np.nan, 0.0, 0.25],
        "site": [0.09, 0.30, np.nan, 0.0, 0.25],
        "device": [0.08, 0.00, np.nan, 0.0, 0.25],
    },
    index=[10, 11, 12, 13, 14],
)


def test_top_columns_names_the_largest_shares_in_order():
    text = top_columns(SHARES)
    assert text.loc[10] == "amount (62%), hour (21%), site (9%)"
    assert text.loc[11] == "hour (60%), site (30%), amount (10%)"
    assert text.name == "top_columns"
    assert list(text.index) == [10, 11, 12, 13, 14]


def test_rows_without_contribution_are_empty():
    text = top_columns(SHARES)
    assert text.loc[12] == ""  # all NaN
    assert text.loc[13] == ""  # all zero


def test_ties_keep_column_order_and_k_limits_the_list():
    assert top_columns(SHARES, k=2).loc[14] == "amount (25%), hour (25%)"
    assert top_columns(SHARES, k=1).loc[10] == "amount (62%)"


def test_columns_without_contribution_are_left_out():
    frame = pd.DataFrame({"a": [0.7], "b": [0.3], "c": [0.0], "d": [np.nan]})
    assert top_columns(frame, k=4).iloc[0] == "a (70%), b (30%)"


def test_raw_errors_are_normalised_and_tiny_shares_show_as_below_one_percent():
    errors = pd.DataFrame({"x": [3.0], "y": [1.0], "z": [0.004]})
    assert top_columns(errors).iloc[0] == "x (75%), y (25%), z (<1%)"


def test_k_larger_than_the_number_of_columns_and_invalid_k():
    frame = pd.DataFrame({"only": [1.0, 0.0]})
    assert top_columns(frame, k=5).tolist() == ["only (100%)", ""]
    with pytest.raises(ValueError, match="k must be"):
        top_columns(frame, k=0)


def test_many_rows_in_one_vectorised_pass():
    rng = np.random.default_rng(0)
    values = rng.random((50_000, 6))
    frame = pd.DataFrame(values / values.sum(axis=1, keepdims=True), columns=list("abcdef"))
    text = top_columns(frame, k=2)
    best = frame.to_numpy().argmax(axis=1)
    starts = text.str.split(" ").str[0].to_numpy()
    np.testing.assert_array_equal(starts, np.array(list("abcdef"))[best])


def test_top_column_names_gives_names_and_shares_as_columns():
    table = top_column_names(SHARES, k=2)
    assert list(table.columns) == ["top_1", "top_2", "top_1_share", "top_2_share"]
    assert table.loc[11, "top_1"] == "hour"
    assert table.loc[11, "top_2_share"] == pytest.approx(0.30)
    assert table.loc[12, "top_1"] == ""
    assert np.isnan(table.loc[12, "top_1_share"])
    assert list(table.index) == list(SHARES.index)


def test_the_leading_causes_stand_out_even_when_no_column_reaches_a_fifth():
    from detector.explanations import standout_cells

    # 36 columns: the row's three largest shares are 9%, 8% and 7%, each far above 1/36.
    row = np.full(36, (1 - 0.24) / 33)
    row[[4, 10, 20]] = [0.09, 0.08, 0.07]
    marked = standout_cells(row[None, :])
    assert np.flatnonzero(marked[0]).tolist() == [4, 10, 20]
    # An even spread has no leading cause; a share of a fifth or more always stands out.
    assert not standout_cells(np.full((1, 36), 1 / 36)).any()
    assert standout_cells(np.array([[0.5, 0.25, 0.25, 0.0]])).tolist() == [[True, True, True, False]]
    assert not standout_cells(np.array([[np.nan, np.nan]])).any()
