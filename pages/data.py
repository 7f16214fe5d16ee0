"""Data page: load a table, see how each column was read, and choose what the model learns from."""

from __future__ import annotations

import streamlit as st

from detector import text as text_model
from detector.columns import (
    DISTINCT_SAMPLE_SIZE,
    EXACT_DISTINCT_ROWS,
    ColumnRoles,
    Role,
    label_vector,
    profile_table,
)
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig
from ui import format as fmt
from ui.samples import available_samples, load_sample
from ui.state import AppState, DatasetState, TimeSeries, get_state, remember_time_series_choice
from ui.upload import read_new_upload, table_uploader

NONE = "(none)"
SCALINGS = {
    "robust": "Robust (median and IQR): recommended, barely moved by outliers",
    "standard": "Standard (mean and standard deviation)",
    "minmax": "Min-max (to the range 0–1)",
}
IMPUTES = {
    "median": "The column's median",
    "mean": "The column's mean",
    "zero": "Zero",
}
ALL_ROWS = "All rows"
NORMAL_ROWS = "Only rows the label marks as normal"

state = get_state()

st.title("Data")
st.caption(
    "Load a table, check how each column was read, and choose what the model learns from. "
    "Each row is one observation; the model learns what ordinary rows look like (for a time "
    "series, what ordinary stretches of rows look like)."
)


def handle_upload(state: AppState) -> None:
    """Read a newly uploaded file once; on failure keep the current dataset and say why."""
    uploaded = table_uploader(
        "Upload a CSV, TSV or Parquet file",
        help="The delimiter, encoding and decimal mark are detected.",
    )
    if uploaded is None:
        state.upload_error = None
        return
    read = read_new_upload(uploaded, last_id=state.upload_id)
    if read is not None:
        state.upload_error = read.error
        if read.table is not None:
            state.load_dataset(read.table, source=f"upload:{read.file_id}", data=read.data)
        # Only now: after an unexpected error the next run tries again (and the page's edge
        # says so again) rather than silently keeping the old table as if this one were read.
        state.upload_id = read.file_id
    if state.upload_error:
        kept = f" {fmt.plain(state.dataset.name)} is still loaded." if state.dataset is not None else ""
        st.error(f"Could not read {fmt.plain(uploaded.name)}: {fmt.plain(state.upload_error)}{kept}")


def choose_sample(state: AppState) -> None:
    samples = available_samples()
    if not samples:
        return
    sample = st.selectbox(
        "…or use a sample dataset",
        samples,
        index=None,
        format_func=lambda s: s.title,
        placeholder="Choose a sample",
    )
    if sample is not None:
        st.caption(sample.description)
    if st.button("Load sample", disabled=sample is None):
        load_sample(state, sample)


def show_table(dataset: DatasetState) -> None:
    rows, columns = dataset.shape
    st.subheader(fmt.plain(dataset.name))
    left, middle, right = st.columns(3)
    left.metric("Rows", f"{rows:,}")
    middle.metric("Columns", f"{columns:,}")
    right.metric("Feature columns", f"{len(dataset.roles.features):,}")
    notes = dataset.table.report.notes
    if notes:
        plural = "s" if len(notes) > 1 else ""
        with st.expander(f"While reading the file ({len(notes)} note{plural})"):
            st.markdown("\n".join(f"- {fmt.plain(note)}" for note in notes))
    preview, profile = st.tabs(["Preview", "Column profile"])
    with preview:
        st.caption(f"The first {min(rows, 100)} of {rows:,} rows.")
        st.dataframe(dataset.frame.head(100), hide_index=True)
    with profile:
        st.caption("How each column was read, and the role it was given.")
        st.dataframe(profile_table(dataset.profiles), hide_index=True)
        if not all(p.distinct_exact for p in dataset.profiles):
            st.caption(
                f"“≥ n” distinct: a number column of more than {EXACT_DISTINCT_ROWS:,} rows with many "
                f"different values is counted in an evenly spaced sample of {DISTINCT_SAMPLE_SIZE:,} "
                "rows, so n is a lower bound (an exact count sorts the whole column). Roles do not "
                "depend on it."
            )


def choose_roles(dataset: DatasetState) -> None:
    """Label, timestamp and feature columns; keys carry the revision so a new table starts fresh."""
    st.subheader("Column roles")
    st.caption(
        "Features are what the model learns from. The label (if your data has one) says which rows "
        "are known anomalies: it is used only to evaluate the model, never to train it."
    )
    columns = list(dataset.frame.columns)
    roles = dataset.roles
    rev = dataset.revision
    left, right = st.columns(2)
    label = left.selectbox(
        "Label column (optional)",
        [NONE, *columns],
        index=columns.index(roles.label) + 1 if roles.label in columns else 0,
        key=f"label_{rev}",
        help="Values such as 0/1, yes/no or normal/anomaly. Leave as (none) if there is no label.",
    )
    timestamp = right.selectbox(
        "Timestamp column (optional)",
        [NONE, *columns],
        index=columns.index(roles.timestamp) + 1 if roles.timestamp in columns else 0,
        key=f"timestamp_{rev}",
        help="Used to draw scores over time; it is not a feature.",
    )
    label = None if label == NONE else label
    timestamp = None if timestamp == NONE else timestamp
    # Options exclude what is already taken, so a column has one role; Streamlit drops a selected
    # value whose option disappears, which is how picking a label removes it from the features.
    taken = {label, timestamp}
    numeric_options = [c for c in columns if c not in taken]
    numeric = st.multiselect(
        "Numeric features",
        numeric_options,
        default=[c for c in roles.numeric if c in numeric_options],
        key=f"numeric_{rev}",
        help="Scaled and fed to the network as numbers.",
    )
    categorical_options = [c for c in numeric_options if c not in numeric]
    categorical = st.multiselect(
        "Categorical features",
        categorical_options,
        default=[c for c in roles.categorical if c in categorical_options],
        key=f"categorical_{rev}",
        help="One-hot encoded; rare categories are pooled. A column is numeric or categorical, "
        "not both.",
    )
    text = choose_text(dataset, [c for c in categorical_options if c not in categorical])
    dataset.roles = ColumnRoles(
        numeric=tuple(numeric), categorical=tuple(categorical), label=label, timestamp=timestamp,
        text=tuple(text),
    )
    left_out = [c for c in numeric_options if c not in numeric and c not in categorical and c not in text]
    if left_out:
        st.caption(f"Not used: {fmt.plain(', '.join(left_out))}.")
    try:
        dataset.roles.check(dataset.frame)
    except DataError as exc:
        st.error(f"These column roles cannot be used: {fmt.plain(exc)}")


def choose_text(dataset: DatasetState, options: list[str]) -> list[str]:
    """Free-text features, read through the pretrained text model when it is installed."""
    free_text = [p.name for p in dataset.profiles if p.role == Role.TEXT and p.name in options]
    if not text_model.available():
        if free_text:
            st.info(
                f"Free-text {'column' if len(free_text) == 1 else 'columns'} "
                f"{fmt.plain(', '.join(free_text))} {'is' if len(free_text) == 1 else 'are'} ignored: "
                "reading them "
                f"needs the text extra. Install it with {fmt.code(text_model.INSTALL_COMMAND)} "
                "(or `pip install wordllama`), then restart the app.",
                icon=":material/notes:",
            )
        return []
    return st.multiselect(
        "Text features",
        options,
        default=[c for c in dataset.roles.text if c in options],
        key=f"text_{dataset.revision}",
        help=f"Free text (messages, descriptions) read by a pretrained word-embedding model "
        f"({text_model.MODEL_NAME}, shipped with the install: nothing is downloaded) and reduced to "
        f"{text_model.ENCODED_WIDTH} numbers per column. Flagged rows show the most similar training texts.",
    )


def why_not_time_series(dataset: DatasetState) -> str:
    """Why the rows are not read as a time series, to follow "each row is scored alone"."""
    roles = dataset.roles
    if roles.timestamp is None:
        return (
            ", as there is no timestamp column. If the rows are readings over time, choose their "
            "timestamp column above, or switch this on to read them in file order"
        )
    times = f"column {fmt.code(roles.timestamp)} holds times"
    if dataset.time_series_choice is not None:
        return f", as you chose, although {times}"
    if not roles.numeric:
        return f": {times}, but there is no numeric feature (a sensor) to read over time"
    return (
        f": {times}, but the text features ({fmt.plain(', '.join(roles.text))}) are read one row at a "
        "time. Switch this on to read the numeric features in windows instead (the text is then left out)"
    )


def choose_time_series(dataset: DatasetState) -> None:
    """Whether the rows form a time series, read by the autoencoder in windows of consecutive rows.

    On by default when a column holds times (see DatasetState.time_series_by_default); the default
    follows the column roles until the user switches the toggle, and from then on their answer stays.
    """
    rev, roles, current = dataset.revision, dataset.roles, dataset.time_series
    st.subheader("Time series")
    key = f"time_series_{rev}"
    # Written before the widget on every run: the default can change with the timestamp role, and
    # the toggle's own state is dropped while another page is shown.
    st.session_state[key] = dataset.reads_time_series()
    enabled = st.toggle(
        "Rows form a time series: read windows of consecutive rows",
        key=key, on_change=remember_time_series_choice, args=(rev, key),
        help="For sensor logs and metrics: the autoencoder learns what a stretch of rows looks like, so it "
        "can flag a pattern that breaks (a valve starting to oscillate, a missed cycle) even when each "
        "reading is ordinary. Flagged rows are grouped into episodes on Results. Switched off, each row "
        "is scored alone. On by default when a column holds times (and there are numeric features but "
        "no text features).",
    )
    if not enabled:
        dataset.time_series = TimeSeries()
        st.caption(f"Off: each row is scored alone{why_not_time_series(dataset)}.")
        return
    if dataset.time_series_choice is None:
        st.caption(
            f"On because column {fmt.code(roles.timestamp)} holds times: the rows are read as readings "
            "over time. Switch this off to score each row alone."
        )
    if not roles.numeric:
        st.warning("A time series needs at least one numeric feature (a sensor).")
    left, right = st.columns(2)
    taken = {*roles.numeric, roles.timestamp, roles.label}
    candidates = [c for c in dataset.frame.columns if c not in taken]
    # First shown: the column that seems to name the series (times recur across its values).
    default = current.series_column if current.series_column in candidates else dataset.suggested_series()
    series = right.selectbox(
        "Series column (optional)", [NONE, *candidates],
        index=[NONE, *candidates].index(default) if default in candidates else 0,
        key=f"series_{rev}",
        help="A column naming each series (machine, sensor, customer): windows never cross series. "
        "When the same times recur across a column's values, that column is chosen to start with.",
    )
    # The window is suggested for the series as chosen: set it before asking for the suggestion.
    dataset.time_series = TimeSeries(True, current.window, None if series == NONE else series)
    rows, reason = dataset.suggested_window()
    automatic = left.checkbox(
        f"Window: automatic ({rows} rows)", value=not isinstance(current.window, int),
        key=f"window_auto_{rev}",
        help="The series' dominant period (its cycle, between 8 and 288 rows) when it has a clear one, "
        "else 32 rows.",
    )
    left.caption(f"Suggested: {fmt.plain(reason)}.")
    window: int | str = "auto"
    if not automatic:
        window = int(left.number_input(
            "Window (rows)", min_value=2, max_value=5000,
            value=current.window if isinstance(current.window, int) else rows, key=f"window_{rev}",
        ))
    dataset.time_series = TimeSeries(True, window, None if series == NONE else series)
    for note in dataset.time_notes():
        st.warning(fmt.plain(note), icon=":material/schedule:")
    order = f"by {fmt.code(roles.timestamp)}" if roles.timestamp else "in file order (no timestamp column)"
    left_out = [c for c in (*roles.categorical, *roles.text) if c != dataset.time_series.series_column]
    st.caption(
        f"Rows are read in time order, {order}; the model reads the numeric features "
        f"({len(roles.numeric)}) over windows of {dataset.window()} rows."
        + (f" Not read as a time series: {fmt.plain(', '.join(left_out))}." if left_out else "")
    )


def choose_preprocessing(dataset: DatasetState) -> None:
    current = dataset.preprocess
    rev = dataset.revision
    with st.expander("Preprocessing (sensible defaults are already chosen)"):
        left, right = st.columns(2)
        scaling = left.selectbox(
            "Scaling of numeric columns",
            list(SCALINGS),
            index=list(SCALINGS).index(current.scaling),
            format_func=SCALINGS.__getitem__,
            key=f"scaling_{rev}",
        )
        impute = right.selectbox(
            "Fill missing numbers with",
            list(IMPUTES),
            index=list(IMPUTES).index(current.impute),
            format_func=IMPUTES.__getitem__,
            key=f"impute_{rev}",
        )
        clip_on = left.checkbox(
            "Clip extreme scaled values",
            value=current.clip is not None,
            key=f"clip_on_{rev}",
            help="Keeps a few extreme training rows from dominating what the model learns.",
        )
        clip = left.number_input(
            "Clip at ± (scaled units)",
            min_value=0.5,
            max_value=1000.0,
            value=float(current.clip or PreprocessConfig().clip or 5.0),
            step=0.5,
            disabled=not clip_on,
            key=f"clip_{rev}",
        )
        indicators = right.checkbox(
            "Add a 'was missing' column for numeric columns with gaps",
            value=current.missing_indicators,
            key=f"indicators_{rev}",
        )
        max_categories = right.number_input(
            "Most categories per categorical column",
            min_value=1,
            max_value=1000,
            value=current.max_categories,
            key=f"max_categories_{rev}",
        )
        min_share = right.number_input(
            "Pool categories rarer than (% of rows)",
            min_value=0.0,
            max_value=100.0,
            value=current.min_category_share * 100,
            step=0.5,
            key=f"min_share_{rev}",
        )
    try:
        dataset.preprocess = PreprocessConfig(
            scaling=scaling,
            clip=float(clip) if clip_on else None,
            impute=impute,
            missing_indicators=indicators,
            max_categories=int(max_categories),
            min_category_share=float(min_share) / 100,
        )
    except ValueError as exc:
        st.error(f"These preprocessing settings cannot be used: {fmt.plain(exc)}")


def choose_training_rows(dataset: DatasetState) -> None:
    label = dataset.roles.label
    normal_count = None
    problem = None
    if label is not None:
        try:
            normal_count = int((label_vector(dataset.frame[label]) == 0).sum())
        except DataError as exc:
            problem = str(exc)
    usable = normal_count is not None
    choice = st.radio(
        "Train on",
        [ALL_ROWS, NORMAL_ROWS],
        index=1 if dataset.normal_only and usable else 0,
        key=f"train_rows_{dataset.revision}",
        horizontal=True,
        disabled=not usable,
        help="Training only on normal rows usually separates anomalies better.",
    )
    dataset.normal_only = usable and choice == NORMAL_ROWS
    if label is None:
        st.caption("Choose a label column to train only on rows it marks as normal.")
    elif problem:
        st.warning(f"The label column cannot select normal rows: {fmt.plain(problem)}")
    elif dataset.normal_only:
        st.caption(f"{normal_count:,} of {len(dataset.frame):,} rows are marked normal.")


upload_column, sample_column = st.columns([3, 2])
with upload_column:
    handle_upload(state)
with sample_column:
    choose_sample(state)

dataset = state.dataset
if dataset is None:
    st.info("Upload a file or choose a sample dataset to begin.")
else:
    show_table(dataset)
    choose_roles(dataset)
    choose_time_series(dataset)
    choose_preprocessing(dataset)
    for note in dataset.scaling_notes():
        st.warning(fmt.plain(note), icon=":material/straighten:")
    for note in dataset.text_notes():
        st.warning(fmt.plain(note), icon=":material/notes:")
    choose_training_rows(dataset)
    st.page_link("pages/train.py", label="Next: train a model", icon=":material/arrow_forward:")
