"""The sidebar on every page: which dataset is loaded, what the model is doing, what to do next."""

from __future__ import annotations

import streamlit as st

from ui import format as fmt
from ui.state import AppState

DATA_PAGE = "pages/data.py"
TRAIN_PAGE = "pages/train.py"
RESULTS_PAGE = "pages/results.py"


def render_sidebar(state: AppState, *, live: bool = True, current: str = "") -> None:
    """Draw the status panel; while a training runs it refreshes itself every few seconds.

    ``live=False`` turns the refresh off, for a page that already shows training live;
    ``current`` is the shown page's title, so that "Next" never links to the page itself.
    """
    with st.sidebar:
        _dataset_status(state)
        # Refresh only while a job is queued or running, so an idle app makes no requests; less
        # often than the Train page's own panel, since it only shows a line of text.
        every = 2 if live and state.training_active else None
        st.fragment(run_every=every)(_model_status)(state, live, current)


def _dataset_status(state: AppState) -> None:
    dataset = state.dataset
    st.markdown("**Dataset**")
    if dataset is None:
        st.caption("None loaded yet.")
        return
    rows, columns = dataset.shape
    st.caption(f"{fmt.plain(dataset.name)} · {rows:,} rows × {columns:,} columns")
    roles = dataset.roles
    label = f" · label {fmt.code(roles.label)}" if roles.label else " · no label"
    st.caption(f"{len(roles.features)} feature columns{label}")


def _model_status(state: AppState, live: bool, current: str) -> None:
    if state.collect_training():
        # The model just arrived: redraw the whole page so that it can use it.
        st.rerun()
    st.markdown("**Model**")
    training = state.training
    model = state.model
    if training is not None and not training.collected:
        progress = training.job.progress()
        if not live:
            st.caption("Training: its progress is shown on this page.")
        elif progress.status == "queued":
            position = progress.queue_position
            st.caption(f"Waiting for a free training slot (number {position} in line).")
        elif progress.status == "scoring":
            st.caption("Trained; scoring every row for Results.")
            st.progress(1.0)
        elif progress.status == "comparing":
            st.caption("Trained and scored; fitting the baselines for the comparison on Results.")
            st.progress(1.0)
        else:
            step = f"epoch {progress.epoch}" if progress.unit == "epoch" else f"step {progress.epoch}"
            st.caption(
                f"Training: {step} of {progress.total_epochs}, "
                f"{fmt.duration(progress.elapsed)} elapsed."
            )
            st.progress(progress.fraction)
    elif model is None:
        st.caption("Not trained yet.")
    else:
        summary = fmt.model_summary(model)
        st.caption(f"{summary[0].upper()}{summary[1:]}.")
    if training is not None and training.collected and training.job.progress().status == "failed":
        st.caption(":red[The last training failed; see the Train page.]")
    _next_step(state, current)


def _next_step(state: AppState, current: str) -> None:
    """What to do next, in words, with a link to the page for it unless that page is shown."""
    if state.dataset is None:
        step = ("Upload a table on the Data page.", DATA_PAGE, "Data", "Go to Data", ":material/table:")
    elif state.training_active:
        step = ("Training runs in the background; you can look around meanwhile.", TRAIN_PAGE, "Train",
                "Watch training", ":material/monitoring:")
    elif state.model is None:
        step = ("Check the column roles on Data, then press **Train model** on Train.", TRAIN_PAGE, "Train",
                "Go to Train", ":material/model_training:")
    elif not state.model_is_current():
        step = ("The dataset or its column choices changed since the model was trained: train again to "
                "use them.", TRAIN_PAGE, "Train", "Go to Train", ":material/model_training:")
    elif current == "Results":
        step = ("Review the flags, then download them or score another file on Score.", None, "", "", "")
    else:
        step = ("See what the model flags.", RESULTS_PAGE, "Results", "Go to Results", ":material/insights:")
    words, target, title, label, icon = step
    st.markdown("**Next**")
    st.caption(words)
    if target is not None and title != current:
        st.page_link(target, label=label, icon=icon)
