"""Column profiles, role guesses, role checks and label vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import detector.columns as columns_module
from detector.columns import (
    ColumnRoles,
    Role,
    infer_roles,
    label_vector,
    profile_columns,
    profile_table,
)
from detector.errors import DataError
from detector.table import read_table

N = 60


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "row": np.arange(N),
            "amount": rng.normal(size=N),
            "country": rng.choice(["FR", "DE", "IT"], N),
            "when": pd.date_range("2021-01-01", periods=N).strftime("%d/%m/%Y"),
            "code": [f"C{i:04d}" for i in range(N)],
            "comment": [f"customer wrote a rather long message, number {i}" for i in range(N)],
            "const": 7,
            "empty": np.nan,
            "is_fraud": rng.choice([0, 1], N),
            "customer_id": rng.integers(0, 10, N),
            "paid": rng.choice([True, False], N),
        }
    )


def test_each_column_gets_the_expected_role(frame):
    roles = {p.name: p.role for p in profile_columns(frame)}
    assert roles == {
        "row": Role.IDENTIFIER,
        "amount": Role.NUMERIC,
        "country": Role.CATEGORICAL,
        "when": Role.DATETIME,
        "code": Role.IDENTIFIER,
        "comment": Role.TEXT,
        "const": Role.CONSTANT,
        "empty": Role.CONSTANT,
        "is_fraud": Role.LABEL,
        "customer_id": Role.IDENTIFIER,
        "paid": Role.CATEGORICAL,
    }


def test_profile_counts_and_ranges(frame):
    frame.loc[[3, 5], "amount"] = np.nan
    profiles = {p.name: p for p in profile_columns(frame)}
    amount = profiles["amount"]
    assert amount.n_missing == 2
    assert amount.n_distinct == N - 2
    assert amount.min == frame["amount"].min()
    assert amount.max == frame["amount"].max()
    when = profiles["when"]
    assert when.min == pd.Timestamp("2021-01-01")
    assert when.datetime_format == "%d/%m/%Y"
    assert profiles["country"].min is None
    assert profiles["empty"].n_missing == N


def test_profile_table_is_one_display_row_per_column(frame):
    table = profile_table(profile_columns(frame))
    assert len(table) == frame.shape[1]
    assert table.loc[table["column"] == "amount", "role"].item() == "numeric"
    # min/max are text so a display table never mixes numbers and dates in one column.
    assert all(isinstance(v, str) for v in table["min"])


def long_frame() -> pd.DataFrame:
    """Columns longer than EXACT_DISTINCT_ROWS, of each kind the sampled count treats apart."""
    n = columns_module.EXACT_DISTINCT_ROWS + 5_000
    rng = np.random.default_rng(1)
    measured = rng.normal(size=n)
    measured[[7, 70_000]] = np.nan
    return pd.DataFrame(
        {
            "measured": measured,  # nearly every value differs
            "row": np.arange(n, 0, -1),  # every value differs, in order: an identifier
            "level": rng.integers(0, 60, n).astype(float),  # few values: counted exactly
            "rare": np.where(np.arange(n) == 12_345, 5, np.arange(n) % 3),  # one value only once
        }
    )


def test_long_number_columns_count_distinct_values_in_a_sample_only_when_there_are_many():
    frame = long_frame()
    profiles = {p.name: p for p in profile_columns(frame)}
    measured = profiles["measured"]
    assert not measured.distinct_exact
    # A lower bound: the distinct values of the evenly spaced sample, nowhere near the truth.
    truth = frame["measured"].nunique()
    assert columns_module.MANY_DISTINCT < measured.n_distinct <= columns_module.DISTINCT_SAMPLE_SIZE < truth
    assert measured.n_missing == 2
    assert (measured.min, measured.max) == (frame["measured"].min(), frame["measured"].max())
    for name in ("row", "level", "rare"):
        assert profiles[name].distinct_exact
        assert profiles[name].n_distinct == frame[name].nunique()
    table = profile_table(list(profiles.values())).set_index("column")
    assert table.loc["measured", "distinct"] == f"≥ {measured.n_distinct:,}"
    assert table.loc["rare", "distinct"] == "4"


def test_sampled_distinct_counts_leave_the_roles_as_exact_counts_give_them(monkeypatch):
    frame = long_frame()
    sampled = [(p.name, p.role, p.note) for p in profile_columns(frame)]
    assert dict((name, role) for name, role, _ in sampled)["row"] == Role.IDENTIFIER
    monkeypatch.setattr(columns_module, "EXACT_DISTINCT_ROWS", len(frame))
    exact = profile_columns(frame)
    assert all(p.distinct_exact for p in exact)
    assert sampled == [(p.name, p.role, p.note) for p in exact]


def test_text_columns_are_profiled_alongside_numbers_with_dates_read_one_at_a_time(frame):
    wide = pd.concat([frame.add_prefix(f"{i}_") for i in range(4)], axis=1)
    one_by_one = [columns_module._profile(name, wide[name]) for name in wide.columns]
    assert profile_columns(wide) == one_by_one
    assert sum(p.role == Role.DATETIME for p in one_by_one) == 4


def test_infer_roles_picks_features_label_and_timestamp(frame):
    roles = infer_roles(frame, text=False)
    assert roles == ColumnRoles(
        numeric=("amount",),
        categorical=("country", "paid"),
        label="is_fraud",
        timestamp="when",
    )
    assert roles.features == ("amount", "country", "paid")
    roles.check(frame)


def test_free_text_is_a_feature_when_the_text_model_is_wanted(frame):
    roles = infer_roles(frame, text=True)
    assert roles.text == ("comment",)
    assert roles.features == ("amount", "country", "paid", "comment")
    roles.check(frame)


def test_by_default_free_text_is_a_feature_exactly_when_the_text_model_is_installed(frame, monkeypatch):
    from detector import text

    monkeypatch.setattr(text, "available", lambda: False)
    assert infer_roles(frame).text == ()
    monkeypatch.setattr(text, "available", lambda: True)
    assert infer_roles(frame).text == ("comment",)


def test_a_column_cannot_be_text_and_categorical(frame):
    with pytest.raises(DataError, match="'country' is chosen as categorical and text"):
        ColumnRoles(categorical=("country",), text=("country",)).check(frame)


@pytest.mark.parametrize(
    "name", ["label", "Class", "is_fraud", "isAnomaly", "y", "ground_truth", "outlier", "target"]
)
def test_binary_columns_named_like_labels_are_labels(name):
    frame = pd.DataFrame({name: [0, 1, 0, 0] * 5, "x": np.arange(20.0) ** 2})
    assert profile_columns(frame)[0].role == Role.LABEL


@pytest.mark.parametrize("name", ["flag", "classification", "yield", "playful"])
def test_other_binary_columns_are_not_labels(name):
    frame = pd.DataFrame({name: [0, 1, 0, 0] * 5})
    assert profile_columns(frame)[0].role != Role.LABEL


def test_dates_read_from_a_csv_are_recognised():
    table = read_table(b"t,x\n2024-01-01 10:00:00,1\n2024-01-02 11:30:00,2\n2024-01-03 09:15:00,3\n")
    assert profile_columns(table.frame)[0].role == Role.DATETIME


def test_numbers_stored_as_text_are_not_dates():
    frame = pd.DataFrame({"x": pd.Series([f"{i}.5" for i in range(100)], dtype=object)})
    assert profile_columns(frame)[0].role != Role.DATETIME


def test_many_distinct_codes_are_neither_categories_nor_text():
    frame = pd.DataFrame({"code": [f"R{i % 300:03d}-M1:J12" for i in range(1000)]})
    profile = profile_columns(frame)[0]
    assert profile.role == Role.IDENTIFIER
    assert profile.n_distinct == 300
    assert "codes" in profile.note


def test_many_distinct_sentences_are_free_text():
    frame = pd.DataFrame({"message": [f"disk {i % 300} is nearly full on node" for i in range(1000)]})
    profile = profile_columns(frame)[0]
    assert profile.role == Role.TEXT
    assert profile.note == "free text (7 words on average)"


def test_a_two_valued_alert_column_is_a_label():
    frame = pd.DataFrame({"alert": [0, 1, 0, 0] * 5, "x": np.arange(20.0)})
    assert profile_columns(frame)[0].role == Role.LABEL


# --- ColumnRoles.check --------------------------------------------------------------------


def test_check_without_features_suggests_numeric_columns(frame):
    with pytest.raises(DataError, match=r"no feature columns.*'amount'"):
        ColumnRoles(label="is_fraud").check(frame)


def test_check_explains_why_no_column_can_be_a_feature():
    frame = pd.DataFrame({"const": [1.0] * 5, "when": [f"2024-01-0{i} 10:00" for i in range(1, 6)]})
    with pytest.raises(DataError) as refusal:
        infer_roles(frame).check(frame)
    message = str(refusal.value)
    assert "no column of this table looks usable" in message
    assert "'const' (every value is 1.0)" in message
    assert "'when' (100% of values read as dates" in message


def test_check_on_a_single_row_says_so():
    frame = pd.DataFrame({"a": [1], "b": ["x"]})
    with pytest.raises(DataError, match="the table has only 1 row"):
        infer_roles(frame).check(frame)


def test_a_column_without_finite_values_is_not_a_feature():
    frame = pd.DataFrame({"x": np.arange(10.0) % 3, "inf": [np.inf, -np.inf] * 5})
    profile = profile_columns(frame)[1]
    assert profile.role == Role.CONSTANT
    assert "no finite values" in profile.note
    assert infer_roles(frame).numeric == ("x",)


def test_a_label_named_column_with_three_values_says_why_it_is_not_the_label():
    frame = pd.DataFrame({"label": ["normal", "fraud", "error"] * 10})
    profile = profile_columns(frame)[0]
    assert profile.role == Role.CATEGORICAL
    assert "a label needs exactly two values, not 3" in profile.note


def test_check_unknown_column(frame):
    with pytest.raises(DataError, match="'amout' is not in the table"):
        ColumnRoles(numeric=("amout",)).check(frame)


def test_check_column_in_two_roles(frame):
    with pytest.raises(DataError, match="'country' is chosen as numeric and categorical"):
        ColumnRoles(numeric=("amount", "country"), categorical=("country",)).check(frame)


def test_check_timestamp_used_as_feature(frame):
    with pytest.raises(DataError, match="'row' is chosen as numeric and timestamp"):
        ColumnRoles(numeric=("row",), timestamp="row").check(frame)


def test_check_label_among_features(frame):
    with pytest.raises(DataError, match="label column 'is_fraud' is also a feature"):
        ColumnRoles(numeric=("amount", "is_fraud"), label="is_fraud").check(frame)


# --- label_vector -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1, 0, 0], [1, 0, 0]),
        ([1.0, 0.0, 1.0], [1, 0, 1]),
        ([True, False, False], [1, 0, 0]),
        (["true", "false", "false"], [1, 0, 0]),
        (["No", "Yes ", "no"], [0, 1, 0]),
        (["normal", "anomaly", "normal"], [0, 1, 0]),
        (["inlier", "outlier", "inlier"], [0, 1, 0]),
        (["legit", "fraud", "legit"], [0, 1, 0]),
        (["n", "o", "n"], [0, 1, 0]),
        (["normal", "weird", "weird"], [0, 1, 1]),  # one side recognised
        (["0", "0", "0"], [0, 0, 0]),  # no anomalies at all
    ],
)
def test_label_vector_recognises_common_spellings(values, expected):
    result = label_vector(pd.Series(values, name="label"))
    assert result.dtype == np.int8
    assert result.tolist() == expected


def test_label_vector_marks_the_rare_value_when_spellings_are_unknown():
    result = label_vector(pd.Series(["blue", "red", "blue", "blue"], name="label"))
    assert result.tolist() == [0, 1, 0, 0]


def test_label_vector_refuses_more_than_two_values():
    with pytest.raises(DataError, match=r"3 different values \('a', 'b', 'c'\)"):
        label_vector(pd.Series(["a", "b", "c"], name="label"))


def test_label_vector_refuses_missing_values():
    with pytest.raises(DataError, match=r"1 missing value.*row 2"):
        label_vector(pd.Series([1.0, np.nan, 0.0], name="label"))


def test_label_vector_refuses_a_single_unknown_value():
    with pytest.raises(DataError, match="only the value 'spam'"):
        label_vector(pd.Series(["spam", "spam"], name="label"))


def test_label_like_siblings_of_the_label_are_left_out_of_the_features():
    frame = pd.DataFrame(
        {
            "value": np.random.default_rng(0).normal(size=40).round(1),
            "anomaly": [0, 0, 0, 1] * 10,
            "changepoint": [0, 1, 0, 0] * 10,
            "fault_flag": [0, 0, 1, 0] * 10,
        }
    )
    roles = infer_roles(frame)
    assert roles.label == "anomaly"
    assert roles.features == ("value",)
    described = {p.name: p for p in profile_columns(frame)}
    assert "used to evaluate" in described["changepoint"].note
