"""Results page: where to draw the line, which rows are odd and why, how good it is, and downloads."""

from __future__ import annotations

import streamlit as st

from detector.errors import DataError
from ui import format as fmt
from ui.results_view import render_workbench
from ui.state import AppState, ModelState, get_state

state = get_state()

st.title("Results")
st.caption(
    "Every row's anomaly score, a threshold you can move, the rows above it with the columns "
    "that explain them, and, when the data has a label, how well the flags match it."
)


def show_results(state: AppState, model: ModelState) -> None:
    # (No st.stop() on this page: it would also stop the sidebar, drawn after the page.)
    st.success(f"A model is ready: {fmt.model_summary(model)}.", icon=":material/check_circle:")
    note = fmt.step_limit_note(model.detector.training_plan_, len(model.history["loss"]))
    if note:
        st.info(note, icon=":material/speed:")
    if not state.model_is_current():
        st.warning(
            f"These results are for {model.trained_on.dataset_name} with the column choices the "
            "model was trained with; the Data page has changed since. Train again to use the new "
            "choices, or score another file on the Score page."
        )
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
    render_workbench(
        view,
        bundle_metadata={
            "source": model.trained_on.dataset_name,
            "label": view.scored.label_column,
            "timestamp": model.trained_on.roles.timestamp,
        },
    )


model = state.model
if model is None:
    st.info("A trained model is needed first: train one on the Train page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
else:
    show_results(state, model)
