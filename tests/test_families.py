"""The baseline families (Isolation Forest, PCA reconstruction, ECOD) keep the detector contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, skew, spearmanr
from sklearn.ensemble import IsolationForest
from sklearn.utils.estimator_checks import parametrize_with_checks

from detector.base import DetectorState, FitProgress
from detector.ecod import ECODDetector
from detector.errors import DataError
from detector.iforest import IsolationForestDetector
from detector.pca import PCADetector
from detector.preprocessing import PreprocessConfig

FAMILIES = (IsolationForestDetector, PCADetector, ECODDetector)


@pytest.fixture(params=FAMILIES, ids=lambda family: family.kind)
def family(request):
    return request.param


def with_gaps(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with scattered missing numbers and categories, and two rows with nothing at all."""
    gappy = table.copy()
    gappy.loc[[3, 40, 77], "a"] = np.nan
    gappy.loc[[5, 41], "c"] = np.nan
    gappy.loc[[8, 90], "site"] = None
    gappy.loc[[10, 11], ["a", "b", "c", "d", "site"]] = None
    return gappy


def json_round_trip(state: DetectorState) -> DetectorState:
    """``state`` as a bundle would carry it: params and fitted values through JSON text."""
    return DetectorState(
        kind=state.kind,
        params=json.loads(json.dumps(state.params)),
        fitted=json.loads(json.dumps(state.fitted)),
        arrays=dict(state.arrays),
    )


# ------------------------------------------------------------------------ the contract


def test_fits_a_table_with_categories_and_missing_values(family, table):
    detector = family().fit(with_gaps(table))

    assert detector.feature_columns == ("a", "b", "c", "d", "site")
    scores = detector.decision_scores_
    assert scores.shape == (len(table),)
    assert np.isnan(scores[[10, 11]]).all()
    assert np.isfinite(np.delete(scores, [10, 11])).all()
    assert detector.n_train_rows_ == len(table) - 2


def test_planted_outliers_rank_high(family, table, outlier_mask):
    if family is ECODDetector:
        # ECOD reads each column on its own, and the fixture's outliers break the columns'
        # correlation without leaving any column's range: ECOD is given outliers it can see,
        # values beyond the usual range of one column.
        table = table.copy()
        table.loc[outlier_mask, "c"] += 5.0
    scores = family().fit(table).decision_scores_

    ranks = rankdata(-scores)  # 1 = most anomalous
    assert ranks[outlier_mask].mean() <= 0.1 * len(table)


def test_threshold_and_labels_follow_contamination(family, table):
    detector = family(contamination=0.1).fit(table)
    scores = detector.decision_scores_

    assert detector.threshold_ == pytest.approx(np.quantile(scores, 0.9))
    np.testing.assert_array_equal(detector.labels_, scores > detector.threshold_)
    assert detector.labels_.mean() == pytest.approx(0.1, abs=1 / len(table))
    # Training rows are scored by the same code as any later row.
    np.testing.assert_allclose(detector.decision_function(table), scores, rtol=1e-12)
    np.testing.assert_array_equal(detector.predict(table), detector.labels_)


def test_predict_flags_exactly_the_scores_above_the_threshold(family, table):
    detector = family().fit(table.iloc[:200])
    new_rows = table.iloc[200:]

    scores = detector.decision_function(new_rows)
    np.testing.assert_array_equal(detector.predict(new_rows), scores > detector.threshold_)
    chosen = detector.with_threshold(float(np.median(scores)))
    assert chosen.predict(new_rows).sum() == (scores > np.median(scores)).sum()


def test_rows_without_features_get_nan_and_are_never_flagged(family, table):
    detector = family(contamination=0.2).fit(with_gaps(table))
    empty = pd.DataFrame(
        {
            "a": [np.nan, 1.0],
            "b": [np.nan, 2.0],
            "c": [np.nan, 0.5],
            "d": [np.nan, 1.5],
            "site": [None, "north"],
        }
    )

    assert (detector.labels_[[10, 11]] == 0).all()
    scores = detector.decision_function(empty)
    assert np.isnan(scores[0])
    assert np.isfinite(scores[1])
    assert detector.predict(empty)[0] == 0
    assert detector.with_threshold(-np.inf).predict(empty)[0] == 0


def test_state_round_trip_gives_identical_scores(family, table):
    detector = family(contamination=0.08).fit(with_gaps(table))
    state = detector.to_state()

    assert state.kind == family.kind
    assert all(values.dtype.kind in "fiub" for values in state.arrays.values())
    restored = family.from_state(json_round_trip(state))

    np.testing.assert_array_equal(restored.decision_function(table), detector.decision_function(table))
    np.testing.assert_array_equal(restored.decision_scores_, detector.decision_scores_)
    np.testing.assert_array_equal(restored.labels_, detector.labels_)
    assert restored.threshold_ == detector.threshold_
    assert restored.get_params() == detector.get_params()
    if family.explains_columns:
        pd.testing.assert_frame_equal(restored.feature_errors(table), detector.feature_errors(table))


def _family_arrays(state: DetectorState) -> list[str]:
    return [name for name in state.arrays if name != "decision_scores"]


def test_corrupted_state_is_refused(family, table):
    state = family().fit(table).to_state()
    names = _family_arrays(state)
    assert names, "the family stores its learned values as arrays"

    def refused(**changes) -> None:
        broken = json_round_trip(state)
        for key, value in changes.items():
            setattr(broken, key, value)
        with pytest.raises(DataError):
            family.from_state(broken)

    for name in names:
        values = state.arrays[name]
        refused(arrays={**state.arrays, name: values[:-1]})  # one entry short
        refused(arrays={**state.arrays, name: values[None]})  # one dimension too many
        refused(arrays={key: value for key, value in state.arrays.items() if key != name})
        if values.dtype.kind == "f":
            poisoned = values.copy()
            poisoned.flat[0] = np.nan
            refused(arrays={**state.arrays, name: poisoned})
    refused(params={**state.params, "bogus": 1})
    fitted = {key: value for key, value in state.fitted.items() if key not in ("max_samples", "ecdf_rows")}
    if fitted != state.fitted:
        refused(fitted=fitted)


def test_contributions_are_shares_of_each_row_score(family, table):
    detector = family().fit(with_gaps(table))
    scores, shares = detector.score_with_contributions(with_gaps(table))

    np.testing.assert_allclose(scores, detector.decision_scores_, rtol=1e-12)
    if not family.explains_columns:
        assert shares is None
        return
    assert list(shares.columns) == list(detector.feature_columns)
    assert shares.index.equals(table.index)
    assert shares.loc[[10, 11]].isna().all().all()
    scored = shares.drop(index=[10, 11]).to_numpy()
    assert (scored >= 0).all()
    np.testing.assert_allclose(scored.sum(axis=1), 1.0)
    if family is PCADetector:  # it sees what the planted outliers break: column "b"
        assert (shares.iloc[-6:].idxmax(axis=1) == "b").all()


def test_fit_reports_its_stages(family, table):
    events: list[FitProgress] = []
    family().fit(table, on_progress=events.append)

    assert events
    assert all(isinstance(event, FitProgress) and event.unit == "stage" for event in events)
    assert [event.step for event in events] == list(range(1, events[0].total + 1))
    assert all(event.stage for event in events)


@pytest.mark.parametrize(
    ("detector_class", "params", "named"),
    [
        (IsolationForestDetector, {"n_estimators": 0}, "n_estimators"),
        (IsolationForestDetector, {"max_samples": 0}, "max_samples"),
        (IsolationForestDetector, {"max_samples": "all"}, "max_samples"),
        (IsolationForestDetector, {"seed": 1.5}, "seed"),
        (PCADetector, {"variance": 0.0}, "variance"),
        (PCADetector, {"variance": 1.5}, "variance"),
        (PCADetector, {"n_components": 0}, "n_components"),
        (ECODDetector, {"ecdf_points": 1}, "ecdf_points"),
    ],
)
def test_invalid_parameters_are_named_at_fit(detector_class, params, named, table):
    detector = detector_class(**params)  # the constructor only stores them
    with pytest.raises(ValueError, match=named):
        detector.fit(table)


# ------------------------------------------------------------------------ Isolation Forest


def test_isolation_forest_scores_equal_scikit_learn():
    rng = np.random.default_rng(7)
    train = rng.normal(size=(400, 4)) * [1.0, 3.0, 0.2, 10.0]
    new_rows = rng.normal(size=(150, 4)) * 4.0
    detector = IsolationForestDetector(seed=11).fit(train)

    # The same float matrix the detector learned from: the table as the model scales it.
    reference = IsolationForest(n_estimators=100, max_samples="auto", random_state=11)
    reference.fit(detector.scaled_values(train).to_numpy())
    scored = ((train, detector.decision_scores_), (new_rows, detector.decision_function(new_rows)))
    for rows, scores in scored:
        matrix = detector.scaled_values(rows).to_numpy()
        np.testing.assert_allclose(scores, -reference.score_samples(matrix), rtol=0, atol=1e-12)
    assert not any(isinstance(value, IsolationForest) for value in vars(detector).values())


def test_isolation_forest_is_deterministic_given_the_seed(table):
    first = IsolationForestDetector(seed=3).fit(table).decision_scores_
    again = IsolationForestDetector(seed=3).fit(table).decision_scores_
    other = IsolationForestDetector(seed=4).fit(table).decision_scores_

    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_isolation_forest_refuses_trees_that_loop(table):
    state = IsolationForestDetector(n_estimators=3).fit(table).to_state()
    left = state.arrays["children_left"].copy()
    left[0] = 0  # the first root sends rows back to itself

    arrays = {**state.arrays, "children_left": left}
    with pytest.raises(DataError, match="children"):
        IsolationForestDetector.from_state(DetectorState(state.kind, state.params, state.fitted, arrays))


# ------------------------------------------------------------------------ PCA


def test_pca_keeps_the_components_that_explain_the_variance():
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(500, 2))
    rows = latent @ rng.normal(size=(2, 5)) + 0.01 * rng.normal(size=(500, 5))

    assert PCADetector().fit(rows).components_.shape == (2, 5)
    assert PCADetector(variance=1.0).fit(rows).components_.shape == (4, 5)  # never all 5
    assert PCADetector(n_components=3).fit(rows).components_.shape == (3, 5)


def test_pca_on_one_column_scores_the_squared_distance_from_the_centre():
    values = np.array([[1.0], [2.0], [3.0], [4.0], [10.0]])
    detector = PCADetector().fit(values)

    scaled = detector.scaled_values(values)["x0"].to_numpy()
    assert detector.components_.shape == (0, 1)
    np.testing.assert_allclose(detector.decision_scores_, (scaled - scaled.mean()) ** 2, rtol=1e-6)


def test_pca_expected_values_are_the_projection_in_original_units(table, outlier_mask):
    detector = PCADetector().fit(table)
    gappy = with_gaps(table)
    expected = detector.expected_values(gappy.set_index(gappy.index + 1000))

    assert list(expected.columns) == list(detector.feature_columns)
    assert expected.index.equals(table.index + 1000)
    assert expected.iloc[[10, 11]].isna().all().all()
    ordinary = ~outlier_mask
    ordinary[[10, 11]] = False
    b_error = expected["b"].to_numpy() - table["b"].to_numpy()
    assert np.median(np.abs(b_error[ordinary])) < 0.2 * table["b"].std()
    # An outlier's "b" was pushed up by 6; the projection expects a value well below it.
    assert (b_error[outlier_mask] < -2.0).all()
    assert set(expected["site"].dropna()) <= {"north", "south", "east"}


def test_pca_refuses_components_that_are_not_axes(table):
    state = PCADetector().fit(table).to_state()
    arrays = {**state.arrays, "components": 2 * state.arrays["components"]}

    with pytest.raises(DataError, match="orthonormal"):
        PCADetector.from_state(DetectorState(state.kind, state.params, state.fitted, arrays))


# ------------------------------------------------------------------------ ECOD


def reference_ecod(matrix: np.ndarray) -> np.ndarray:
    """ECOD training scores written out from PyOD's per-column formulas and the paper's aggregation.

    PyOD's ``ecdf`` is the share of values at or below each value, its skewness correction
    uses ``np.sign(skew(X))``; the paper (Algorithm 1) takes the largest of the three sums.
    """

    def ecdf(column):
        return rankdata(column, method="max") / len(column)

    u_left = -np.log(np.apply_along_axis(ecdf, 0, matrix))
    u_right = -np.log(np.apply_along_axis(ecdf, 0, -matrix))
    skewness = np.sign(skew(matrix, axis=0))
    u_skew = u_left * -1 * np.sign(skewness - 1) + u_right * np.sign(skewness + 1)
    return np.maximum.reduce([u_left.sum(axis=1), u_right.sum(axis=1), u_skew.sum(axis=1)])


def test_ecod_training_scores_follow_the_paper(table):
    detector = ECODDetector(preprocess=PreprocessConfig(clip=None)).fit(table)
    expected = reference_ecod(detector.model_inputs(table).astype(np.float64))

    assert spearmanr(detector.decision_scores_, expected).statistic > 0.99
    np.testing.assert_allclose(detector.decision_scores_, expected, rtol=1e-9)


def test_ecod_keeps_a_bounded_ecdf_that_stays_close_to_the_exact_one():
    rng = np.random.default_rng(1)
    rows = rng.standard_t(4, size=(5000, 3))
    exact = ECODDetector(ecdf_points=10_000).fit(rows)
    small = ECODDetector(ecdf_points=200).fit(rows)
    new_rows = rng.standard_t(4, size=(500, 3)) * 1.5

    assert small.to_state().arrays["quantiles"].shape[0] <= 200
    assert exact.to_state().arrays["quantiles"].shape[0] == 5000
    assert spearmanr(small.decision_scores_, exact.decision_scores_).statistic > 0.999
    # Ranks are kept densely in the tails, where the scores are decided.
    np.testing.assert_allclose(
        small.decision_function(new_rows),
        exact.decision_function(new_rows),
        atol=0.25,
    )


def test_ecod_scores_values_beyond_the_training_range(table):
    detector = ECODDetector().fit(table)
    row = table.iloc[[0]]
    far = row.assign(c=1e6)

    score, shares = detector.score_with_contributions(far)
    assert np.isfinite(score).all()
    # Beyond the largest training value counts as one more step into the tail.
    at_the_edge = detector.decision_function(row.assign(c=table["c"].max()))[0]
    assert score[0] > at_the_edge > detector.decision_scores_[0]
    assert shares.iloc[0].idxmax() == "c"


# ------------------------------------------------------------------------ scikit-learn's contract

EXPECTED_FAILURES = {
    "check_estimators_nan_inf": "missing values are imputed by design (users' tables have gaps)",
    "check_parameters_default_constructible": (
        "the preprocess default is a frozen dataclass, immutable like a tuple"
    ),
    "check_dtype_object": "text in a plain array is refused with our own message; text goes in DataFrames",
    "check_n_features_in_after_fitting": (
        "the column-count error is worded for people, not in scikit-learn's exact phrasing"
    ),
}


@parametrize_with_checks(
    [IsolationForestDetector(n_estimators=10), PCADetector(), ECODDetector()],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_scikit_learn_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("family", ["autoencoder", "iforest", "pca", "ecod"])
def test_scoring_in_batches_sized_by_width_gives_the_same_scores_and_shares(family, monkeypatch):
    from conftest import TINY, correlated_table

    import detector.tabular as tabular
    from detector.registry import detector_class

    frame = correlated_table(n_rows=3000)
    params = {"config": TINY} if family == "autoencoder" else {}
    detector = detector_class(family)(**params).fit(frame)
    whole_scores, whole_shares = detector.score_with_contributions(frame)
    monkeypatch.setattr(tabular, "SCORE_BATCH_BYTES", 1)  # 1,024 rows a batch: three batches
    assert detector._batches(frame) is not None
    scores, shares = detector.score_with_contributions(frame)
    np.testing.assert_allclose(scores, whole_scores, rtol=1e-6)
    if whole_shares is None:
        assert shares is None
    else:
        pd.testing.assert_frame_equal(shares, whole_shares, rtol=1e-5)
