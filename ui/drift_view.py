"""The drift banner: new rows set against what the model was trained on (Score and Results)."""

from __future__ import annotations

import streamlit as st

from detector.drift import DriftReport
from ui import format as fmt


def show_drift(drift: DriftReport | None, name: str) -> None:
    """Say, before any flag is read, when the file is unlike what the model was trained on."""
    if drift is None or not drift.worth_saying:
        return
    text = fmt.plain(drift.headline())
    if drift.out_of_depth:
        st.warning(
            f"**{name} is out of this model's depth.** {text} {drift.advice()}", icon=":material/warning:"
        )
    else:
        st.info(f"{text} Read its flags with that in mind.", icon=":material/info:")
    with st.expander("How this file differs from the training data"):
        st.dataframe(drift.table(), hide_index=True, width="stretch")
        if not drift.ranges_known:
            st.caption(
                "This model was saved before bundles recorded training ranges: only shifts are checked."
            )
