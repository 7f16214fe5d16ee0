"""Tests for detector.preprocessing: scaling, imputation, encoding, persistence and errors."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from detector.errors import DataError, NotFittedError
from detector.preprocessing import PreprocessConfig, Preprocessor

NO_CLIP = PreprocessConfig(clip=None)


def scaled(values, config=NO_CLIP, new=None):
    """Fit on one numeric column and return the encoded column (of ``new`` if given)."""
    train = pd.DataFrame({"x": values})
    prep = Preprocessor(numeric=("x",), config=config).fit(train)
    frame = train if new is None else pd.DataFrame({"x": new})
    return prep.transform(frame)[:, 0]


# ---------------------------------------------------------------- scaling


def test_robust_scaling_uses_median_and_iqr_so_an_outlier_does_not_squash_the_rest():
    # median 3, quartiles 2 and 4: the outlier 100 leaves the scale of the others at 2
    np.testing.assert_allclose(scaled([1.0, 2, 3, 4, 100]), [-1, -0.5, 0, 0.5, 48.5])


def test_robust_scaling_falls_back_to_std_when_iqr_is_zero():
    # IQR 0, std 1.6 (population)
    np.testing.assert_allclose(scaled([1.0, 1, 1, 1, 5]), [0, 0, 0, 0, 2.5])


def test_constant_column_scales_to_zero_instead_of_dividing_by_zero():
    for scaling in ("robust", "standard", "minmax"):
        out = scaled([7.0, 7, 7], PreprocessConfig(scaling=scaling, clip=None))
        assert np.all(np.isfinite(out))
        assert np.ptp(out) == 0


def test_standard_scaling_uses_mean_and_population_std():
    out = scaled([1.0, 2, 3, 4, 5], PreprocessConfig(scaling="standard", clip=None))
    np.testing.assert_allclose(out, (np.arange(1, 6) - 3) / np.sqrt(2), rtol=1e-6)


def test_minmax_scaling_maps_training_range_to_unit_interval():
    config = PreprocessConfig(scaling="minmax", clip=None)
    np.testing.assert_allclose(scaled([2.0, 4, 6], config), [0, 0.5, 1])
    np.testing.assert_allclose(scaled([2.0, 4, 6], config, new=[10.0, 0.0]), [2, -0.5])


def test_clip_limits_scaled_values_to_plus_minus_clip():
    robust = scaled([1.0, 2, 3, 4, 100], PreprocessConfig(clip=5.0))
    np.testing.assert_allclose(robust, [-1, -0.5, 0, 0.5, 5])
    minmax = scaled([2.0, 4, 6], PreprocessConfig(scaling="minmax", clip=1.5), new=[10.0, -20])
    np.testing.assert_allclose(minmax, [1.5, -1.5])


# ---------------------------------------------------------------- imputation


def test_imputation_value_is_learned_from_training_rows_only():
    train = pd.DataFrame({"x": [1.0, 2, 3, 4, 5]})  # median 3, IQR 2
    new = pd.DataFrame({"x": [np.nan, np.inf, -np.inf, 3.0, 1000.0]})
    prep = Preprocessor(numeric=("x",)).fit(train)
    # missing and ±inf get the training median (3 -> 0); the new rows' own median is ignored
    np.testing.assert_allclose(prep.transform(new)[:, 0], [0, 0, 0, 0, 5])


@pytest.mark.parametrize(
    ("impute", "expected"),
    [("median", 0.0), ("mean", 0.5), ("zero", -2.5 / 3)],
)
def test_impute_strategies(impute, expected):
    # median 2.5, quartiles 1.75 and 4.75 (IQR 3), mean 4
    out = scaled([1.0, 2, 3, 10], PreprocessConfig(impute=impute, clip=None), new=[np.nan])
    np.testing.assert_allclose(out, [expected], rtol=1e-6)


def test_all_missing_training_column_asks_the_user_to_exclude_it():
    frame = pd.DataFrame({"ok": [1.0, 2.0], "empty": [np.nan, np.inf]})
    with pytest.raises(DataError, match=r"'empty'.*Exclude it"):
        Preprocessor(numeric=("ok", "empty")).fit(frame)


def test_missing_indicators_only_for_columns_with_missing_training_values():
    train = pd.DataFrame({"temp": [1.0, np.nan, 3.0, np.inf], "pressure": [1.0, 2, 3, 4]})
    prep = Preprocessor(numeric=("temp", "pressure"), config=PreprocessConfig(missing_indicators=True)).fit(
        train
    )
    assert prep.feature_names_out_ == ["temp", "pressure", "temp__missing"]
    out = prep.transform(pd.DataFrame({"temp": [np.nan, 5.0], "pressure": [np.nan, 1.0]}))
    np.testing.assert_array_equal(out[:, 2], [1, 0])


# ---------------------------------------------------------------- categories


def test_rare_categories_and_unseen_values_go_to_other():
    train = pd.DataFrame({"site": ["north"] * 6 + ["south"] * 3 + ["east"]})
    config = PreprocessConfig(min_category_share=0.2)
    prep = Preprocessor(categorical=("site",), config=config).fit(train)
    assert prep.feature_names_out_ == ["site=north", "site=south", "site=(other)"]
    out = prep.transform(pd.DataFrame({"site": ["south", "east", "west", None]}))
    np.testing.assert_array_equal(out, [[0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1]])


def test_max_categories_keeps_the_most_frequent():
    train = pd.DataFrame({"site": ["b", "a", "a", "c", "c", "c"]})
    config = PreprocessConfig(max_categories=2, min_category_share=0.0)
    prep = Preprocessor(categorical=("site",), config=config).fit(train)
    assert prep.feature_names_out_ == ["site=c", "site=a", "site=(other)"]


def test_unseen_category_is_all_zeros_when_there_is_no_other_column():
    train = pd.DataFrame({"site": ["a", "b", "a", "b"]})
    prep = Preprocessor(categorical=("site",)).fit(train)
    assert prep.feature_names_out_ == ["site=a", "site=b"]
    np.testing.assert_array_equal(prep.transform(pd.DataFrame({"site": ["zzz"]})), [[0, 0]])


def test_missing_is_its_own_category_and_numbers_match_across_dtypes():
    train = pd.DataFrame({"code": pd.Series([1, 2, None, 1], dtype="Int64")})
    prep = Preprocessor(categorical=("code",)).fit(train)
    assert prep.feature_names_out_ == ["code=1", "code=(missing)", "code=2"]
    # read as float (1.0) or text ("1") at scoring time: still the same category
    for column in ([1.0, np.nan], ["1", ""]):
        out = prep.transform(pd.DataFrame({"code": column}))
        np.testing.assert_array_equal(out, [[1, 0, 0], [0, 1, 0]])


# ---------------------------------------------------------------- layout


def mixed_frame():
    return pd.DataFrame(
        {
            "site": ["n", "s", "n", "n"],
            "temp": [10.0, np.nan, 30.0, 40.0],
            "ok": [True, False, True, True],
            "unused": ["x", "y", "z", "w"],
        }
    )


def test_output_layout_dtype_and_source_mapping():
    prep = Preprocessor(
        numeric=("temp", "ok"),
        categorical=("site",),
        config=PreprocessConfig(missing_indicators=True),
    )
    out = prep.fit_transform(mixed_frame())
    assert out.dtype == np.float32
    assert out.shape == (4, 5)
    assert prep.source_columns_ == ["temp", "ok", "site"]
    assert prep.n_features_in_ == 3
    assert prep.feature_names_out_ == ["temp", "ok", "temp__missing", "site=n", "site=s"]
    np.testing.assert_array_equal(prep.output_source_, [0, 1, 0, 2, 2])
    # bool column became 0/1 before scaling: median 1, IQR 0.25
    np.testing.assert_allclose(out[:, 1], [0, -4, 0, 0])


def test_extra_columns_are_ignored_and_missing_ones_are_named():
    prep = Preprocessor(numeric=("temp",), categorical=("site",)).fit(mixed_frame())
    with pytest.raises(DataError, match=r"'temp'"):
        prep.transform(pd.DataFrame({"site": ["n"], "other": [1]}))
    out = prep.transform(pd.DataFrame({"site": ["n"], "temp": [20.0], "more": [0]}))
    assert out.shape == (1, 3)


# ---------------------------------------------------------------- inverse and persistence


def test_inverse_transform_round_trips_numeric_and_picks_likeliest_category():
    frame = pd.DataFrame({"a": [1.5, -2.0, 8.25, 3.0], "b": [100.0, 250, 175, 90], "c": list("xyxy")})
    prep = Preprocessor(numeric=("a", "b"), categorical=("c",), config=NO_CLIP).fit(frame)
    back = prep.inverse_transform(prep.transform(frame))
    assert list(back.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(back[["a", "b"]].to_numpy(), frame[["a", "b"]].to_numpy(), rtol=1e-6)
    soft = prep.transform(frame)
    soft[:, 2:] = [[0.2, 0.7]] * 4
    assert list(prep.inverse_transform(soft)["c"]) == ["y"] * 4


def fitted_for_saving():
    train = pd.DataFrame(
        {
            "temp": [1.0, np.nan, 3.5, 7.25, 2.0],
            "site": ["a", "a", "b", "rare", None],
        }
    )
    config = PreprocessConfig(missing_indicators=True, min_category_share=0.25, impute="mean")
    return Preprocessor(numeric=("temp",), categorical=("site",), config=config).fit(train)


def test_to_dict_survives_json_and_gives_identical_transform():
    prep = fitted_for_saving()
    loaded = Preprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    new = pd.DataFrame({"temp": [np.nan, 100.0, 3.0], "site": ["b", "unseen", None]})
    np.testing.assert_array_equal(loaded.transform(new), prep.transform(new))
    assert loaded.feature_names_out_ == prep.feature_names_out_
    np.testing.assert_array_equal(loaded.output_source_, prep.output_source_)
    assert loaded.config == prep.config


def _corrupt(path, value):
    data = fitted_for_saving().to_dict()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "data",
    [
        pytest.param([], id="not-a-mapping"),
        pytest.param(_corrupt(("version",), 99), id="future-version"),
        pytest.param(_corrupt(("format",), "pickle"), id="wrong-format"),
        pytest.param(_corrupt(("numeric", 0, "scale"), -1.0), id="negative-scale"),
        pytest.param(_corrupt(("numeric", 0, "scale"), "1"), id="text-scale"),
        pytest.param(_corrupt(("numeric", 0, "center"), float("nan")), id="nan-center"),
        pytest.param(_corrupt(("numeric", 0, "fill"), 10**400), id="huge-int"),
        pytest.param(_corrupt(("numeric", 0, "name"), 3), id="non-text-name"),
        pytest.param(_corrupt(("numeric", 0, "indicator"), 1), id="int-as-bool"),
        pytest.param(_corrupt(("categorical", 0, "categories"), "ab"), id="categories-text"),
        pytest.param(_corrupt(("categorical", 0, "categories"), ["a", "a"]), id="duplicates"),
        pytest.param(_corrupt(("categorical", 0, "name"), "temp"), id="column-twice"),
        pytest.param(_corrupt(("config", "scaling"), "__import__('os')"), id="bad-scaling"),
        pytest.param(_corrupt(("config", "max_categories"), True), id="bool-as-int"),
        pytest.param(_corrupt(("numeric", 0, "extra"), 1), id="unknown-key"),
        pytest.param(_corrupt(("categorical",), {"site": []}), id="dict-not-list"),
        pytest.param(_corrupt(("numeric",), []) | {"categorical": []}, id="no-features"),
    ],
)
def test_malformed_dict_raises_data_error(data):
    with pytest.raises(DataError, match="malformed"):
        Preprocessor.from_dict(copy.deepcopy(data))


# ---------------------------------------------------------------- user errors and helpers


def test_text_in_numeric_column_names_column_row_and_value():
    frame = pd.DataFrame({"temp": ["1.5", " 2 ", "", "NA", "abc", "x"]})
    with pytest.raises(DataError, match=r"'temp'.*data row 5.*'abc'"):
        Preprocessor(numeric=("temp",)).fit(frame)


def test_numeric_text_and_missing_markers_are_accepted():
    frame = pd.DataFrame({"temp": ["1", "2", "", "NA", "3", None]})
    prep = Preprocessor(numeric=("temp",), config=NO_CLIP).fit(frame)
    np.testing.assert_allclose(prep.transform(frame)[:, 0], [-1, 0, 0, 0, 1, 0])


def test_using_before_fit_raises_not_fitted():
    prep = Preprocessor(numeric=("temp",))
    with pytest.raises(NotFittedError):
        prep.transform(mixed_frame())
    with pytest.raises(NotFittedError):
        prep.to_dict()
    with pytest.raises(NotFittedError):
        prep.inverse_transform(np.zeros((1, 1)))


def test_missing_feature_rows_and_counts():
    frame = pd.DataFrame(
        {
            "temp": [np.nan, 1.0, np.inf, np.nan],
            "site": [None, None, "", "a"],
        }
    )
    prep = Preprocessor(numeric=("temp",), categorical=("site",))
    np.testing.assert_array_equal(prep.missing_feature_rows(frame), [True, False, True, False])
    counts = prep.missing_counts(frame)
    assert counts.loc["temp"].tolist() == [2, 1]
    assert counts.loc["site"].tolist() == [3, 0]


def test_invalid_config_is_rejected():
    with pytest.raises(ValueError, match="scaling"):
        PreprocessConfig(scaling="log")
    with pytest.raises(ValueError, match="clip"):
        PreprocessConfig(clip=0)


def test_a_quantised_column_is_scaled_by_its_spread_and_said_so():
    from detector.preprocessing import scaling_notes

    rng = np.random.default_rng(0)
    # A flow meter: most readings within 0.0002 of 32, the rest whole steps away.
    flow = 32.0 + rng.uniform(0, 0.0002, 1000)
    flow[:250] = rng.choice([30.0, 31.0, 33.0, 34.0], 250)
    frame = pd.DataFrame({"flow": flow, "temp": rng.normal(20, 2, 1000), "const": 1.0})
    preprocessor = Preprocessor(numeric=("flow", "temp"), config=PreprocessConfig()).fit(frame)
    scaled = preprocessor.transform(frame, clip=False)[:, 0]
    # One step of the flow (1.0) is a few dozen units at most, not thousands of spreads.
    assert np.abs(scaled).max() < 100
    notes = scaling_notes(frame, ("flow", "temp", "const"), PreprocessConfig())
    assert len(notes) == 2
    assert notes[0].startswith("Column 'flow' is quantised or nearly constant")
    assert notes[1].startswith("Column 'const' holds a single value")


def test_a_column_with_far_values_is_named_as_likely_to_decide_scores():
    from detector.preprocessing import scaling_notes

    values = np.r_[np.random.default_rng(1).normal(0, 1, 999), 5000.0]
    notes = scaling_notes(pd.DataFrame({"x": values}), ("x",), PreprocessConfig())
    assert len(notes) == 1
    assert "typical spreads from its middle" in notes[0]
