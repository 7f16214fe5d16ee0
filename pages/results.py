"""Results page: where to draw the line, which rows are odd and why, how good it is, and downloads."""

from __future__ import annotations

from functools import partial

import streamlit as st

from detector.errors import DataError
from ui import format as fmt
from ui.comparison_view import render_comparison
from ui.drift_view import show_drift
from ui.results_view import render_workbench
from ui.state import AppState, ModelState, ScoredView, get_state

state = get_state()

st.title("Results")
st.caption(
    "Every row's anomaly score, a threshold you can move, the rows above it with the columns "
    "that explain them, and, when the data has a label, how well the flags match it."
)


def show_results(state: AppState, model: ModelState) -> None:
    # (No st.stop() on this page: it would also stop the sidebar, drawn after the page.)
    st.success(f"A model is ready: {fmt.model_summary(model)}.", icon=":material/check_circle:")
    plan = getattr(model.detector, "training_plan_", None)  # only networks have epochs to limit
    epochs = model.history.get("epoch") or [0]
    note = fmt.step_limit_note(plan, epochs[-1]) if plan is not None and model.history["loss"] else None
    if note:
        st.info(note, icon=":material/speed:")
    if not state.model_is_current():
        st.warning(
            f"These results are for {model.trained_on.dataset_name} with the column choices the "
            "model was trained with; the Data page has changed since. Train again to use the new "
            "choices, or score another file on the Score page."
        )
    choose_method(state, model)
    try:
        # Normally the training job has scored every row already; this is the fallback.
        with st.spinner("Scoring every row of the table…"):
            view = state.ensure_results()
    except DataError as exc:
        st.error(f"The table could not be scored: {fmt.plain(exc)}")
        return
    if view is None:
        st.info("This model's table is no longer loaded; score a file on the Score page instead.")
        st.page_link("pages/score.py", label="Go to Score", icon=":material/upload_file:")
        return
    if view.held_out is not None and view.detector is model.detector:
        show_drift(view.held_out_drift(), "The held-out rows")
    baselines = model.baselines
    also = None
    if baselines is not None and view.detector is model.detector:
        also = partial(render_comparison, baselines=baselines, cache=model.comparison_cache)
    elif model.comparison_error:
        st.warning(f"The baselines could not be fitted: {fmt.plain(model.comparison_error)}")
    retrain = None
    if view.detector is model.detector and not state.training_active:
        retrain = partial(start_retraining, state)
    show_retrained(model, view)
    render_workbench(
        view,
        retrain=retrain,
        bundle_metadata={
            "source": model.trained_on.dataset_name,
            "label": view.scored.label_column,
            "timestamp": model.trained_on.roles.timestamp,
        },
        also=also,
    )


def start_retraining(state: AppState) -> None:
    """The "Retrain without the confirmed anomalies" button's action."""
    try:
        state.retrain_without_confirmed()
    except DataError as exc:
        st.session_state["retrain_error"] = str(exc)


def show_retrained(model: ModelState, view: ScoredView) -> None:
    """After a retraining without the confirmed anomalies: the reviewed rows before and after."""
    retrained = model.retrained
    if retrained is None or view.detector is not model.detector:
        return
    after = model.reviews.summary(view.row_keys(), view.scored.flags(view.threshold))
    before = retrained.before
    st.info(
        f"Retrained without {fmt.count(retrained.left_out, 'confirmed anomaly', 'confirmed anomalies')}. "
        f"On your reviewed rows, before: ✓ rows flagged {before.flagged_anomaly:,} of {before.n_anomaly:,}, "
        f"✗ rows flagged {before.flagged_expected:,} of {before.n_expected:,} (precision "
        f"{fmt.ratio(before.precision)}). Now: ✓ {after.flagged_anomaly:,} of {after.n_anomaly:,}, "
        f"✗ {after.flagged_expected:,} of {after.n_expected:,} (precision {fmt.ratio(after.precision)}).",
        icon=":material/compare_arrows:",
    )


def choose_method(state: AppState, model: ModelState) -> None:
    """Which method's scores the page shows: the trained model's, or a baseline's fitted beside it."""
    methods = model.methods()
    if len(methods) < 2:
        return
    if state.results_kind not in methods:
        state.results_kind = model.detector.kind
    kinds = list(methods)
    chosen = st.segmented_control(
        "Scores shown", kinds, default=state.results_kind, format_func=methods.__getitem__, required=True,
        key=f"results_kind_{id(model)}",
        help="Switch the threshold, flagged rows, charts and downloads to a baseline's scores "
        "(fitted on the same rows with the same preprocessing), and back.",
    )
    state.results_kind = chosen or model.detector.kind


if state.training is not None and not state.training_active:
    state.collect_training()  # a training finished while another page was open (a retraining)
if state.training_active:
    st.info(
        "A training is running: its progress is on the Train page, and these results update when it ends.",
        icon=":material/model_training:",
    )
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
error = st.session_state.pop("retrain_error", None)
if error:
    st.error(f"Could not retrain: {fmt.plain(error)}")
model = state.model
if model is None:
    st.info("A trained model is needed first: train one on the Train page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
else:
    show_results(state, model)
