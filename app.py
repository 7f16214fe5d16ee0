"""Streamlit entry point: page setup, navigation, the sidebar and the first-start sample data."""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from detector.errors import DataError
from ui import format as fmt
from ui.samples import DEFAULT_SAMPLE, available_samples, load_sample
from ui.sidebar import render_sidebar
from ui.state import AppState, get_state

HERE = Path(__file__).parent
logger = logging.getLogger(__name__)

st.set_page_config(
    page_title="Autoencoder anomaly detector",
    page_icon=":material/troubleshoot:",
    layout="wide",
)

TRAIN_PAGE = st.Page(HERE / "pages/train.py", title="Train", icon=":material/model_training:")
page = st.navigation(
    [
        st.Page(HERE / "pages/data.py", title="Data", icon=":material/table:", default=True),
        TRAIN_PAGE,
        st.Page(HERE / "pages/results.py", title="Results", icon=":material/insights:"),
        st.Page(HERE / "pages/score.py", title="Score", icon=":material/upload_file:"),
    ]
)


def _load_first_sample(state: AppState) -> None:
    """On a session's first run, load the default sample so every page has something to show."""
    if state.sample_loaded_on_start:
        return
    state.sample_loaded_on_start = True
    if state.dataset is None and DEFAULT_SAMPLE in available_samples():
        try:
            load_sample(state, DEFAULT_SAMPLE)
        except DataError as exc:
            st.warning(f"The sample dataset could not be loaded: {fmt.plain(exc)}")


state = get_state()
_load_first_sample(state)
try:
    page.run()
except Exception:
    # The edge of the app: programming errors are logged for the operator, and the user gets
    # a short message instead of a traceback. (st.rerun/st.stop are not Exceptions.)
    logger.exception("Unexpected error on page %s", page.title)
    st.error(
        "Something unexpected went wrong on this page. Your data and model are still loaded; "
        "try again, or reload the page if it persists."
    )
# Drawn after the page so that it shows what the page just changed (a new upload, a started job).
# The Train page refreshes its own progress panel; a second timer there would only cost CPU.
render_sidebar(state, live=page.url_path != TRAIN_PAGE.url_path, current=page.title)
