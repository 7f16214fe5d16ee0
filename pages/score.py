"""Score page: apply the trained model to a new file (the full view arrives in the next release)."""

from __future__ import annotations

import streamlit as st

from ui.state import get_state

state = get_state()

st.title("Score")
st.caption(
    "Here you will score a new file with the trained model, download the flagged rows, and save "
    "or load the model itself."
)

if state.model is None:
    st.info("A trained model is needed first: train one on the Train page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
else:
    st.info(
        f"The model trained on {state.model.trained_on.dataset_name} is ready. Scoring new files "
        "arrives in the next release."
    )
