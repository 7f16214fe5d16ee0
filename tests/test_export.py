"""Tests for detector.export: original cells kept, rows chosen and ordered, formulas neutralised."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from detector.export import neutralise_formulas, rows_csv

# Cells a careless round trip would change: leading zeros, spaces, quotes, commas,
# a line break, non-ASCII text, empty cells and many digits.
ORIGINAL = pd.DataFrame(
    {
        "id": ["007", "008", "009", "010"],
        "amount": ["1,5", " 2.50 ", "", "12345678901234567890"],
        "note": ['said "hi", left', "line\nbreak", "Zürich — 東京", "NA"],
    },
    dtype=object,
)
SCORES = np.array([0.2, 0.9, np.nan, 0.5])
FLAGGED = np.array([False, True, False, True])
TOP = pd.Series(["amount (80%)", "note (51%), id (49%)", "", "id (100%)"])


def read_back(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


def test_original_cells_come_back_identical_with_score_flag_and_top_columns():
    data = rows_csv(ORIGINAL, SCORES, FLAGGED, TOP, only_flagged=False, sort_by_score=False)
    table = read_back(data)
    assert list(table.columns) == [
        "row", "id", "amount", "note", "anomaly_score", "is_anomaly", "top_columns",
    ]
    assert table["row"].tolist() == ["1", "2", "3", "4"]
    pd.testing.assert_frame_equal(table[["id", "amount", "note"]], ORIGINAL, check_dtype=False)
    assert table["is_anomaly"].tolist() == ["0", "1", "", "1"]
    assert table["top_columns"].tolist() == ["amount (80%)", "note (51%), id (49%)", "", "id (100%)"]


def test_unscored_rows_have_empty_score_flag_and_top_columns():
    flagged_anyway = np.array([False, True, True, True])  # a NaN row is never flagged
    top = pd.Series(["a", "b", "should not appear", "d"])
    table = read_back(
        rows_csv(ORIGINAL, SCORES, flagged_anyway, top, only_flagged=False, sort_by_score=False)
    )
    assert table.loc[2, ["anomaly_score", "is_anomaly", "top_columns"]].tolist() == ["", "", ""]


def test_scores_read_back_as_the_exact_same_floats():
    scores = np.array([0.1 + 0.2, 1 / 3, 1e-300, 123456.789])
    table = read_back(rows_csv(ORIGINAL, scores, FLAGGED, TOP, only_flagged=False, sort_by_score=False))
    np.testing.assert_array_equal(table["anomaly_score"].astype(float).to_numpy(), scores)
    short = rows_csv(ORIGINAL, scores.astype(np.float32), FLAGGED, TOP, only_flagged=False)
    assert "0.33333334" in read_back(short)["anomaly_score"].tolist()  # float32 without noise digits


def test_only_flagged_rows_highest_score_first():
    table = read_back(rows_csv(ORIGINAL, SCORES, FLAGGED, TOP, only_flagged=True))
    assert table["id"].tolist() == ["008", "010"]
    assert table["anomaly_score"].tolist() == ["0.9", "0.5"]
    assert table["row"].tolist() == ["2", "4"]  # their place in the file, not in the download


def test_sorting_by_score_puts_unscored_rows_last_and_keeps_ties_in_order():
    scores = np.array([0.5, np.nan, 0.5, 0.7])
    table = read_back(rows_csv(ORIGINAL, scores, FLAGGED, TOP, only_flagged=False))
    assert table["id"].tolist() == ["010", "007", "009", "008"]


def test_file_is_utf8_with_byte_order_mark_and_ignores_the_frame_index():
    frame = ORIGINAL.set_index(pd.Index([40, 30, 20, 10]))
    data = rows_csv(frame, SCORES, FLAGGED, None, only_flagged=False, sort_by_score=False)
    assert data.startswith(b"\xef\xbb\xbfrow,id,")
    table = read_back(data)
    assert "top_columns" not in table.columns
    assert table["id"].tolist() == ORIGINAL["id"].tolist()


def test_our_column_names_do_not_collide_with_the_users():
    frame = pd.DataFrame(
        {"anomaly_score": ["x"], "anomaly_score_2": ["y"], "is_anomaly": ["z"], "row": ["r"]}
    )
    table = read_back(rows_csv(frame, [0.4], [True], pd.Series(["c"]), only_flagged=False))
    assert list(table.columns) == [
        "row_2",
        "anomaly_score",
        "anomaly_score_2",
        "is_anomaly",
        "row",
        "anomaly_score_3",
        "is_anomaly_2",
        "top_columns",
    ]
    assert table.iloc[0].tolist() == ["1", "x", "y", "z", "r", "0.4", "1", "c"]


def test_formulas_in_text_cells_headers_and_top_columns_are_neutralised():
    frame = pd.DataFrame(
        {
            "=HYPERLINK(1)": ["a", "b", "c", "d", "e"],
            "comment": ["=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "-3.5", "\tx"],
            "balance": ["-3.5", "+1", "-0", "1e308", "-"],
        }
    )
    top = pd.Series(["=HYPERLINK(1) (90%)", "", "", "", ""])
    table = read_back(
        rows_csv(frame, np.arange(5.0), np.ones(5, bool), top, only_flagged=False, sort_by_score=False)
    )
    assert table.columns[1] == "'=HYPERLINK(1)"
    assert table["comment"].tolist() == ["'=1+1", "'+cmd|' /C calc'!A0", "'@SUM(A1)", "-3.5", "'\tx"]
    # Plain numbers keep their sign, in any column; the missing marker "-" is quoted.
    assert table["balance"].tolist() == ["-3.5", "+1", "-0", "1e308", "'-"]
    assert table["top_columns"][0] == "'=HYPERLINK(1) (90%)"


@pytest.mark.parametrize("dtype", [object, "str"])
def test_neutralise_formulas_decides_per_cell(dtype):
    frame = pd.DataFrame(
        {
            "numeric": ["-1 234,5", "+2", "", "-inf", "NA"],
            "mixed": ["-3.5", "-1+2", "ok", "", "=A1"],
            "-1": ["1", "2", "3", "4", "5"],
        },
        dtype=dtype,
    )
    result = neutralise_formulas(frame)
    assert result["numeric"].tolist() == ["-1 234,5", "+2", "", "-inf", "NA"]
    assert result["mixed"].tolist() == ["-3.5", "'-1+2", "ok", "", "'=A1"]
    assert list(result.columns) == ["numeric", "mixed", "-1"]  # a numeric header is harmless
    assert frame["mixed"][0] == "-3.5"  # the input is not modified


@pytest.mark.parametrize("dtype", [object, "str"])
def test_a_formula_behind_spaces_invisible_characters_or_in_full_width_is_quoted(dtype):
    cells = [" =HYPERLINK(\"x\")", "\u200b=1+1", "\u00a0@SUM(A1)", "\uff1dA1", "\ufeff+1+cmd", " -5 ", "a=b"]
    result = neutralise_formulas(pd.DataFrame({"c": cells}, dtype=dtype))
    assert result["c"].tolist() == ["'" + cell for cell in cells[:5]] + [" -5 ", "a=b"]
    assert list(neutralise_formulas(pd.DataFrame({" =x": [1]})).columns) == ["' =x"]


def test_a_file_written_in_chunks_is_the_file_written_whole():
    frame = pd.DataFrame({"amount": ["-5", "-x", "-7", "3", "=1"], "n": ["-1", "2", "-3", "4", "5"]})
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7])
    flagged = scores > 0.5
    whole = rows_csv(frame, scores, flagged, None, only_flagged=False, sort_by_score=False)
    parts = [
        rows_csv(frame.iloc[a:b], scores[a:b], flagged[a:b], None, only_flagged=False, sort_by_score=False,
                 first_row=a, header=a == 0)
        for a, b in ((0, 2), (2, 5))
    ]
    assert b"".join(parts) == whole
    assert read_back(whole)["amount"].tolist() == ["-5", "'-x", "-7", "3", "'=1"]


def test_padded_numbers_and_reader_missing_markers_keep_a_column_numeric():
    frame = pd.DataFrame({"n": ["-0", " 5 ", "+3", "#N/A", "\t7"]})
    # "\t7" starts with a tab, so it is quoted although the column is numeric.
    assert neutralise_formulas(frame)["n"].tolist() == ["-0", " 5 ", "+3", "#N/A", "'\t7"]


def test_a_carriage_return_in_a_cell_does_not_split_the_row():
    frame = pd.DataFrame({"note": ["a\rb", "\rstart"], "n": ["1", "2"]})
    data = rows_csv(frame, [0.1, 0.2], [False, False], None, only_flagged=False, sort_by_score=False)
    table = read_back(data)
    assert table["note"].tolist() == ["a\rb", "'\rstart"]
    assert table["n"].tolist() == ["1", "2"]


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="one entry per row"):
        rows_csv(ORIGINAL, SCORES[:2], FLAGGED, TOP, only_flagged=False)
