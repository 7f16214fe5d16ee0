"""Results page: what the trained model flags in the dataset (full view in the next release)."""

from __future__ import annotations

import streamlit as st

from ui import format as fmt
from ui.state import get_state

state = get_state()

st.title("Results")
st.caption(
    "Here you will see each row's anomaly score, a threshold you can move, the rows above it with "
    "the columns that explain them, and, when the data has a label, how well the flags match it."
)

model = state.model
if model is None:
    st.info("A trained model is needed first: train one on the Train page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
else:
    st.success(f"A model is ready: {fmt.model_summary(model)}.", icon=":material/check_circle:")
    if not state.model_is_current():
        st.warning(
            "The dataset or its column choices changed since this model was trained; "
            "train again on the Train page to use them."
        )
    st.info("The score distribution, threshold and flagged rows arrive in the next release.")
