"""Score page: apply the session's model, or an uploaded model bundle, to a new file."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from detector.base import BaseDetector
from detector.bundle import LoadedBundle, load_bundle
from detector.errors import DataError
from detector.results import match_columns
from detector.reviews import Reviews
from ui import format as fmt
from ui.drift_view import show_drift
from ui.results_view import render_workbench
from ui.runtime import freeze_what_is_loaded
from ui.state import AppState, ScoringState, get_state
from ui.upload import read_new_upload, table_uploader

SESSION_MODEL = "The model trained in this session"
BUNDLE_MODEL = "A model bundle I upload"

state = get_state()

st.title("Score")
st.caption(
    "Score a new file with the model trained here, or with a model bundle downloaded earlier: "
    "the same threshold, the same flagged-rows table and the same downloads as on Results."
)


def read_upload(scoring: ScoringState) -> None:
    """The file to score, parsed once per upload; a bad file says why."""
    uploaded = table_uploader(
        "File to score (CSV, TSV or Parquet)",
        help="It needs the columns the model was trained on; other columns are kept in the "
        "downloads but not used.",
    )
    if uploaded is None:
        scoring.forget_table(None)
        return
    # Marked as read only once read or refused, so an unexpected error is retried (as on Data).
    read = read_new_upload(uploaded, last_id=scoring.upload_id)
    if read is not None:
        scoring.forget_table(read.file_id)
        scoring.table, scoring.data, scoring.table_error = read.table, read.data, read.error
    if scoring.table_error:
        st.error(f"Could not read {fmt.plain(uploaded.name)}: {fmt.plain(scoring.table_error)}")


def read_bundle(scoring: ScoringState) -> None:
    """The uploaded model bundle, loaded once per upload (never running code from it)."""
    uploaded = st.file_uploader(
        "Model bundle (.zip)", type=["zip"],
        help="The zip from **Download model** on Results, or from `python -m detector train`.",
    )
    if uploaded is None:
        scoring.bundle_id, scoring.bundle, scoring.bundle_error = None, None, None
        return
    if uploaded.file_id != scoring.bundle_id:
        scoring.bundle, scoring.bundle_error = None, None
        try:
            with st.spinner("Loading the model…"):
                loaded = load_bundle(uploaded.getvalue())
                freeze_what_is_loaded()  # Keras, if the bundle has a network: see ui.runtime
                scoring.bundle_reviews = bundle_reviews(loaded)
                scoring.bundle = loaded
        except DataError as exc:
            scoring.bundle_error = str(exc)
        # Marked as read only once loaded or refused: a load cut short is tried again.
        scoring.bundle_id = uploaded.file_id
    if scoring.bundle_error:
        st.error(f"Could not load {fmt.plain(uploaded.name)}: {fmt.plain(scoring.bundle_error)}")


def bundle_reviews(bundle: LoadedBundle) -> Reviews:
    """The marks saved with a bundle and the suppression rules its model keeps (checked)."""
    user = bundle.metadata.get("user")
    saved = user.get("reviews") if isinstance(user, dict) else None
    reviews = Reviews.from_dict(saved) if saved is not None else Reviews()
    reviews.rules = list(bundle.detector.suppression_rules_)
    return reviews


def choose_model(state: AppState) -> tuple[BaseDetector | None, float, dict[str, Any]]:
    """The detector to score with, the threshold to start from, and its label/timestamp columns."""
    options = [SESSION_MODEL, BUNDLE_MODEL] if state.model is not None else [BUNDLE_MODEL]
    source = st.radio("Score with", options, horizontal=True)
    if source == SESSION_MODEL and state.model is not None:
        model = state.model
        detector = model.detector
        # The threshold chosen on Results carries over.
        results = state.results
        threshold = results.threshold if results and results.detector is detector else detector.threshold_
        roles = model.trained_on.roles
        state.scoring.reviews = model.reviews
        st.caption(f"{detector.title} trained on {fmt.plain(model.trained_on.dataset_name)}.")
        return detector, float(threshold), {"label": roles.label, "timestamp": roles.timestamp,
                                            "source": model.trained_on.dataset_name}
    read_bundle(state.scoring)
    bundle = state.scoring.bundle
    if bundle is None:
        return None, 0.0, {}
    state.scoring.reviews = state.scoring.bundle_reviews
    user = bundle.metadata.get("user")
    user = user if isinstance(user, dict) else {}
    # Only names written by this app are trusted, and only as column names.
    columns = {key: user.get(key) if isinstance(user.get(key), str) else None
               for key in ("label", "timestamp", "source")}
    trained_on = f" trained on {fmt.plain(columns['source'])}" if columns["source"] else ""
    sample = user.get("sample")
    if isinstance(sample, dict) and all(type(sample.get(k)) is int for k in ("rows", "of")):
        columns["sample"] = {"rows": sample["rows"], "of": sample["of"], "seed": sample.get("seed")}
        trained_on += f" (a sample of {sample['rows']:,} of its {sample['of']:,} rows)"
    st.caption(
        f"Loaded a model ({fmt.plain(bundle.detector.title)}){trained_on} with "
        f"{len(bundle.detector.feature_columns)} feature columns; threshold {bundle.detector.threshold_:.4g}."
    )
    return bundle.detector, float(bundle.detector.threshold_), columns


def score_file(scoring: ScoringState, detector: BaseDetector, threshold: float,
               columns: dict[str, Any]) -> None:
    table = scoring.table
    assert table is not None
    rows, n_columns = table.frame.shape
    name = fmt.plain(table.name)
    st.caption(f"{name}: {rows:,} rows × {n_columns:,} columns.")
    match = match_columns(table.frame.columns, detector.feature_columns)
    try:
        match.check()
    except DataError as exc:
        st.error(f"{name} cannot be scored with this model. {fmt.plain(exc)}")
        return
    label = choose_label(scoring.label_columns(match.extra), columns.get("label"))
    ignored = [c for c in match.extra if c not in (label, columns.get("label"), columns.get("timestamp"))]
    if ignored:
        st.info(
            f"Not used by the model (kept as they are in the downloads): {fmt.plain(', '.join(ignored))}.",
            icon=":material/info:",
        )
    view = scoring.scored_view(detector, label=label)
    if view is None:
        # Scoring a large file takes a while; reruns (a threshold drag) reuse the result.
        started = time.perf_counter()
        with st.status(f"Scoring {rows:,} rows of {name}…") as status:
            view = scoring.score(
                detector, threshold=threshold, label=label,
                timestamp=columns.get("timestamp"),
            )
            took = fmt.took(time.perf_counter() - started)
            if view is None:
                status.update(label=f"Could not score {name}", state="error")
            else:
                status.update(label=f"Scored {rows:,} rows of {name}{took}", state="complete")
    if view is None:
        st.error(f"{name} could not be scored: {fmt.plain(scoring.view_error)}")
        return
    show_drift(scoring.drift, name)
    render_workbench(view, bundle_metadata=columns)


def choose_label(labels: tuple[str, ...], trained_with: str | None) -> str | None:
    """The scored file's own label column to evaluate the flags with (two values), if the user has one."""
    if not labels:
        return None
    default = trained_with if trained_with in labels else None
    options: list[str | None] = [None, *labels]
    return st.selectbox(
        "Label column to evaluate with",
        options,
        index=options.index(default),
        format_func=lambda c: "None (no evaluation)" if c is None else str(c),
        help="A column of this file marking known anomalies (two values, such as 0/1). The flags are "
        "then measured against it: precision, recall and the curves, as on Results. The model never "
        "sees it.",
    )


detector, threshold, columns = choose_model(state)
read_upload(state.scoring)
if detector is None:
    st.info(
        "Upload a model bundle, or train a model on the Train page first."
        if state.model is None
        else "Upload a model bundle (.zip) to score with it."
    )
elif state.scoring.table is not None:
    score_file(state.scoring, detector, threshold, columns)
