"""The "Is the autoencoder worth it?" panel on Results, and switching Results to a baseline's scores."""

from __future__ import annotations

import pandas as pd
import pytest
from apptest_helpers import app_state, assert_clean, results_page, start_app, tiny_csv, upload

from detector.baselines import fit_baselines
from detector.registry import baseline_kinds
from detector.results import score_table

pytestmark = pytest.mark.slow


def comparison_page():
    """Results for tiny.csv with the tiny autoencoder and the baselines fitted beside it."""
    at = results_page()
    state = app_state(at)
    model = state.model
    dataset = model.dataset
    roles = dataset.roles
    primary = score_table(model.detector, dataset.frame, label=roles.label, timestamp=roles.timestamp)
    model.baselines = fit_baselines(
        model.detector, dataset.frame.loc[:, list(roles.features)], dataset.frame, baseline_kinds(),
        primary=primary, timestamp=roles.timestamp,
    )
    state.results = None
    return at.run()


def test_results_compare_the_autoencoder_with_every_baseline_at_the_same_share():
    at = comparison_page()
    assert_clean(at)
    assert "Is the autoencoder worth it?" in [h.value for h in at.subheader]
    tables = [frame.value for frame in at.dataframe if isinstance(frame.value, pd.DataFrame)]
    summary = next(t for t in tables if "rows flagged" in t.columns)
    assert list(summary.index) == ["Autoencoder", "Isolation Forest", "PCA reconstruction", "ECOD"]
    # Every method is flagged at the autoencoder's share (ties aside).
    flagged = summary["rows flagged"]
    assert (flagged - flagged.iloc[0]).abs().max() <= 1
    # tiny.csv has a label: the verdict says which method the label favours.
    verdict = next(md.value for md in at.markdown if "with the label" in md.value.lower())
    assert "AP" in verdict
    sensitivity = next(t for t in tables if "global" in t.columns)
    assert set(sensitivity.columns) == {"local", "global", "dependency", "clustered"}
    assert ((sensitivity >= 0) & (sensitivity <= 1)).all().all()


def test_the_comparison_follows_the_threshold():
    at = comparison_page()
    view = app_state(at).results
    before = app_state(at).model.comparison_cache.key
    share = next(n for n in at.number_input if n.key == view.key("share"))
    share.set_value(50.0).run()
    assert_clean(at)
    after = app_state(at).model.comparison_cache.key
    assert after != before
    tables = [frame.value for frame in at.dataframe if isinstance(frame.value, pd.DataFrame)]
    summary = next(t for t in tables if "rows flagged" in t.columns)
    assert summary["rows flagged"].iloc[0] == after


def test_results_switch_to_a_baselines_scores_and_say_it_explains_no_columns():
    at = comparison_page()
    control = next(s for s in at.get("button_group") if s.label == "Scores shown")
    control.set_value("iforest").run()
    assert_clean(at)
    state = app_state(at)
    shown = state.ensure_results()
    assert shown.detector.kind == "iforest"
    # It opens at the share of rows the autoencoder flags, as the comparison compared them.
    primary = state.results
    flagged = primary.scored.count_flagged(primary.threshold)
    assert abs(shown.scored.count_flagged(shown.threshold) - flagged) <= 1
    assert any("Isolation Forest" in c.value and "does not explain rows" in c.value for c in at.caption)
    # The comparison panel belongs to the autoencoder's view only.
    assert "Is the autoencoder worth it?" not in [h.value for h in at.subheader]


def test_a_baseline_trains_alone_from_the_train_page():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    at.switch_page("pages/train.py").run()
    next(r for r in at.radio if r.key == "family").set_value("iforest").run()
    next(b for b in at.button if b.label == "Train model").click().run()
    job = app_state(at).training.job
    job.wait(120)
    at.run()
    assert_clean(at)
    assert app_state(at).model.detector.kind == "iforest"
    assert any("Isolation Forest fitted in" in s.value for s in at.success)
    at.switch_page("pages/results.py").run()
    assert_clean(at)
    assert "Where to draw the line" in [h.value for h in at.subheader]
