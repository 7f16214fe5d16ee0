"""Train page: choose a preset (or tune the network), see its shape, train, and watch it learn."""

from __future__ import annotations

import logging

import pandas as pd
import streamlit as st

from detector.autoencoder import size_notes
from detector.autoencoder_config import ACTIVATIONS, AutoencoderConfig, TrainingPlan, training_plan
from detector.charts import loss_curve
from detector.columns import ColumnRoles
from detector.errors import DataError
from detector.network import architecture
from detector.registry import FAMILIES, detector_class, listed_kinds
from detector.training import (
    MAX_HOLDOUT,
    PRESET_DESCRIPTIONS,
    PRESETS,
    HoldOut,
    TrainingProgress,
    check_training_memory,
    feature_roles,
    max_concurrent_trainings,
    training_memory,
)
from detector.windowed import WindowedAutoencoderDetector
from ui import format as fmt
from ui.state import AppState, DatasetState, TrainSettings, get_state

RESULTS_PAGE = "pages/results.py"
# What the autoencoder becomes when the Data page reads the rows as a time series.
WINDOWED = FAMILIES["windowed_autoencoder"]
logger = logging.getLogger(__name__)

state = get_state()

st.title("Train")
st.caption(
    "The autoencoder learns to compress and rebuild ordinary rows; rows it rebuilds badly are "
    "the anomalies. Pick a preset and press **Train model**: Isolation Forest, PCA and ECOD are "
    "fitted beside it on the same rows, so Results can show whether the autoencoder is worth it."
)


def choose_family(settings: TrainSettings, dataset: DatasetState) -> str:
    """The detector family to train (the autoencoder unless the user picks a baseline on its own).

    For a time series the autoencoder reads windows of rows; the other families read one row at a time.
    """
    kinds = list(listed_kinds())
    windows = dataset.time_series.enabled
    settings.family = st.radio(
        "Method",
        kinds,
        index=kinds.index(settings.family),
        format_func=lambda kind: FAMILIES[kind].title,
        captions=[
            (WINDOWED if windows and kind == "autoencoder" else FAMILIES[kind]).summary for kind in kinds
        ],
        horizontal=True,
        key="family",
        help="The autoencoder is the tool's method; the others are classical baselines, fitted in "
        "seconds. Training the autoencoder fits them too, for the comparison on Results.",
    )
    if windows and settings.family != "autoencoder":
        st.info(
            f"The Data page reads these rows as a time series, which only the autoencoder does (in windows "
            f"of {dataset.window()} rows): {FAMILIES[settings.family].title} scores each row alone.",
            icon=":material/timeline:",
        )
    return settings.family


def choose_contamination(settings: TrainSettings) -> None:
    settings.contamination = st.slider(
        "Expected share of anomalies (sets the initial threshold)",
        min_value=0.005, max_value=0.45, value=settings.contamination, step=0.005,
        format="%.3f", key="contamination",
        help="Only where the first threshold is drawn; you can move it on Results.",
    )


def parse_layers(text: str) -> tuple[int, ...] | None:
    """``"64, 32"`` -> ``(64, 32)``; blank or ``auto`` -> ``None`` (sized from the data)."""
    text = text.strip().lower()
    if text in ("", "auto"):
        return None
    try:
        return tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"Hidden layers must be whole numbers separated by commas (e.g. 64, 32), not '{text}'."
        ) from None


def choose_config(settings: TrainSettings) -> AutoencoderConfig | None:
    """The preset picker and advanced fields; return the valid config, or None after an error."""
    names = list(PRESETS)
    preset = st.radio(
        "Preset",
        names,
        index=names.index(settings.preset),
        horizontal=True,
        key="preset",
        captions=[PRESET_DESCRIPTIONS[name] for name in names],
    )
    if preset != settings.preset:
        settings.apply_preset(preset)
    config = settings.config
    rev = settings.revision
    with st.expander("Advanced settings"):
        st.caption("Blank sizes mean “sized from the data”. Changing the preset resets these.")
        left, middle, right = st.columns(3)
        layers = left.text_input(
            "Hidden layers (outermost first)",
            value=", ".join(map(str, config.hidden_layers)) if config.hidden_layers else "auto",
            key=f"layers_{rev}",
            help="Encoder widths, e.g. 64, 32; the decoder mirrors them.",
        )
        bottleneck = left.number_input(
            "Bottleneck width", min_value=1, max_value=1024, value=config.bottleneck,
            placeholder="auto", key=f"bottleneck_{rev}",
        )
        activation = left.selectbox(
            "Activation", ACTIVATIONS, index=ACTIVATIONS.index(config.activation),
            key=f"activation_{rev}",
        )
        epochs = middle.number_input(
            "Maximum epochs", min_value=1, max_value=10_000, value=config.epochs,
            key=f"epochs_{rev}",
        )
        max_steps = middle.number_input(
            "Step limit (batch steps, 0 = none)", min_value=0, max_value=10**9,
            value=config.max_steps or 0, key=f"max_steps_{rev}",
            help="On large tables this lowers the epochs (to no fewer than 5) so that training "
            "takes about this many batch steps; the network preview says when it does.",
        )
        patience = middle.number_input(
            "Patience (epochs without improvement)", min_value=1, max_value=10_000,
            value=config.patience, key=f"patience_{rev}",
        )
        batch_size = middle.number_input(
            "Batch size", min_value=1, max_value=1 << 20, value=config.batch_size,
            placeholder="auto", key=f"batch_{rev}",
        )
        validation = middle.slider(
            "Validation share", min_value=0.0, max_value=0.5, value=config.validation_fraction,
            step=0.05, key=f"validation_{rev}",
            help="Rows held out to decide when to stop; 0 watches the training loss instead.",
        )
        learning_rate = right.number_input(
            "Learning rate", min_value=1e-6, max_value=1.0, value=config.learning_rate,
            step=1e-4, format="%.5f", key=f"lr_{rev}",
        )
        dropout = right.number_input(
            "Dropout", min_value=0.0, max_value=0.85, value=config.dropout, step=0.05,
            key=f"dropout_{rev}",
        )
        l2 = right.number_input(
            "L2 penalty", min_value=0.0, max_value=1.0, value=config.l2, step=1e-4,
            format="%.5f", key=f"l2_{rev}",
        )
        seed = right.number_input(
            "Seed", min_value=0, max_value=2**31 - 1, value=config.seed, key=f"seed_{rev}",
        )
        wording = st.checkbox(
            "Count failure wording in text columns",
            value=config.failure_wording,
            key=f"wording_{rev}",
            help="Adds a part to each row's score: how rarely a training row's text reads this much "
            "like a failure (its meaning's closeness to “error fatal critical failure exception”), so "
            "an error line counts even when it repeats. Switch it off where failure words are "
            "ordinary (support tickets, reviews): text columns then count by rarity only. Changes "
            "nothing without text columns.",
        )
        choose_contamination(settings)
    try:
        config = AutoencoderConfig(
            hidden_layers=parse_layers(layers),
            bottleneck=None if bottleneck is None else int(bottleneck),
            activation=activation,
            dropout=float(dropout),
            l2=float(l2),
            learning_rate=float(learning_rate),
            batch_size=None if batch_size is None else int(batch_size),
            epochs=int(epochs),
            max_steps=int(max_steps) or None,
            validation_fraction=float(validation),
            patience=int(patience),
            seed=int(seed),
            failure_wording=bool(wording),
        )
        config.validate()
    except ValueError as exc:
        st.error(fmt.plain(exc))
        return None
    settings.config = config
    return config


def training_shape(dataset: DatasetState, *, row_wise: bool = False) -> tuple[int, int] | None:
    """The training rows and network inputs the data gives; None (and why) when it cannot train.

    ``row_wise``: for a family that reads one row at a time even when the rows form a time series.
    """
    try:
        shape = dataset.n_training_rows(), dataset.network_inputs(windows=False if row_wise else None)
        check_training_memory(*shape)
    except DataError as exc:
        st.error(f"The data is not ready for training: {fmt.plain(exc)}")
        st.page_link("pages/data.py", label="Fix it on the Data page", icon=":material/table:")
        return None
    need = training_memory(*shape)
    if need >= 2**30:
        st.caption(f"Training will take about {need / 2**30:,.1f} GB of memory.")
    return shape


def show_architecture(dataset: DatasetState, config: AutoencoderConfig) -> bool:
    """Show the network the config builds for this data; return False if the data can't train."""
    shape = training_shape(dataset)
    if shape is None:
        return False
    n_rows, n_inputs = shape
    resolved = config.resolved(n_rows, n_inputs)
    plan = TrainingPlan.of(config, resolved, n_rows)
    st.subheader("The network")
    if dataset.time_series.enabled:
        sensors = len(dataset.roles.numeric)
        st.info(
            f"Time series: the network reads windows of {dataset.window()} consecutive rows × "
            f"{fmt.count(sensors, 'sensor')} = {n_inputs:,} inputs, and each row scores as "
            "the worst window covering it.",
            icon=":material/timeline:",
        )
    for note in size_notes(n_inputs):
        st.info(note, icon=":material/info:")
    if resolved.bottleneck == 0:
        st.caption(f"{n_rows:,} training rows, encoded into {n_inputs:,} input: no network to train.")
        return True
    layers = architecture(resolved, n_inputs)
    total = sum(layer.params for layer in layers)
    st.caption(
        f"{n_rows:,} training rows, encoded into {n_inputs:,} inputs. Training stops early after "
        f"{resolved.patience} epochs without improvement."
    )
    if plan.limited_by_max_steps:
        st.info(fmt.planned_epochs(plan), icon=":material/speed:")
    else:
        st.caption(fmt.planned_epochs(plan))
    widths = " → ".join([str(n_inputs), *(str(layer.units) for layer in layers)])
    st.markdown(f"**{widths}** · {total:,} parameters")
    with st.expander("Layers"):
        st.dataframe(
            pd.DataFrame(
                {
                    "layer": [layer.name for layer in layers],
                    "units": [layer.units for layer in layers],
                    "parameters": [layer.params for layer in layers],
                }
            ),
            hide_index=True,
        )
    return True


RANDOM_ROWS = "A random share of rows"
LAST_ROWS = "The last rows in time order"


def choose_holdout(dataset: DatasetState) -> None:
    """Rows kept out of training, so that Results can report honest (not in-sample) metrics."""
    rev = dataset.revision
    label, timestamp = dataset.roles.label, dataset.roles.timestamp
    with st.expander(
        "Hold out rows for an honest evaluation"
        + (f" ({dataset.holdout.describe()} held out)" if dataset.holdout.active else "")
    ):
        if label is None:
            st.caption(
                "Needs a label column (chosen on the Data page): held-out rows are there to measure "
                "the model on rows it never saw."
            )
            dataset.holdout = HoldOut()
            return
        percent = st.slider(
            "Hold out (% of rows)", 0, int(MAX_HOLDOUT * 100), round(dataset.holdout.share * 100),
            step=5, key=f"holdout_{rev}",
            help="These rows are not trained on. Results reports precision, recall, ROC-AUC and "
            "average precision on them beside the in-sample figures.",
        )
        order = st.radio(
            "Which rows", [RANDOM_ROWS, LAST_ROWS],
            index=1 if dataset.holdout.in_time_order and timestamp else 0,
            key=f"holdout_order_{rev}", horizontal=True, disabled=timestamp is None,
            help="The last rows in time order test the model as it will be used: on later data.",
        )
        if timestamp is None:
            st.caption("Choose a timestamp column on the Data page to hold out the last rows in time order.")
        in_time_order = order == LAST_ROWS and timestamp is not None
        dataset.holdout = HoldOut(share=percent / 100, in_time_order=in_time_order)


def data_ready(dataset: DatasetState) -> bool:
    """Whether the data can train (a baseline has no network to show); say why not."""
    shape = training_shape(dataset, row_wise=True)
    if shape is None:
        return False
    n_rows, n_inputs = shape
    st.caption(f"{n_rows:,} training rows, encoded into {n_inputs:,} inputs.")
    return True


def start_training(state: AppState, family: str, config: AutoencoderConfig | None) -> None:
    dataset = state.dataset
    assert dataset is not None
    own = {"config": config} if family == "autoencoder" else {}
    roles = dataset.roles
    if family == "autoencoder" and dataset.time_series.enabled:
        detector = WindowedAutoencoderDetector(
            window=dataset.time_series.window, config=config, contamination=state.settings.contamination,
            columns=ColumnRoles(numeric=roles.numeric, timestamp=roles.timestamp),
            series_column=dataset.time_series.series_column, preprocess=dataset.preprocess,
        )
    else:
        detector = detector_class(family)(
            contamination=state.settings.contamination,
            columns=feature_roles(roles),
            preprocess=dataset.preprocess,
            **own,
        )
    planned = 0
    if config is not None:
        planned = training_plan(config, dataset.n_training_rows(), dataset.network_inputs()).epochs_allowed
    try:
        state.start_training(detector, total_epochs=planned)
    except DataError as exc:
        st.error(f"Training could not start: {fmt.plain(exc)}")
        return
    # Rerun the whole page so the button disables and the progress panel starts refreshing.
    st.rerun()


def live_progress(state: AppState) -> None:
    """Progress of the running job; a fragment, refreshed every second while the job is active."""
    try:
        if state.collect_training():
            # Finished: redraw everything (stops the refresh, updates the sidebar).
            st.rerun()
        training = state.training
        assert training is not None
        job = training.job
        progress = job.progress()
        if progress.status == "queued":
            ahead = progress.queue_position - 1
            st.info(
                f"Another training is using this server, which trains {max_concurrent_trainings()} "
                f"{'model' if max_concurrent_trainings() == 1 else 'models'} at a time. Yours is queued "
                f"({ahead} ahead of it) and starts automatically; you can leave this page."
            )
        else:
            text = f"Epoch {progress.epoch} of {progress.total_epochs} · "
            if not progress.total_epochs:
                text = f"{progress.stage} · " if progress.stage else "Starting · "
            elif progress.unit == "stage":
                text = f"Step {progress.epoch} of {progress.total_epochs or '?'}: {progress.stage} · "
            if progress.status == "scoring":
                text = "Trained; now scoring every row of the table for Results · "
            elif progress.status == "comparing":
                text = "Scored; now fitting Isolation Forest, PCA and ECOD for the comparison · "
            st.progress(progress.fraction, text=f"{text}{fmt.duration(progress.elapsed)} elapsed")
            show_losses(progress)
        if progress.status in ("scoring", "comparing"):
            pass  # nothing left to stop: the model is trained
        elif progress.stop_requested:
            st.caption("Stopping after the current epoch; the best model so far will be kept.")
        elif st.button("Stop", icon=":material/stop:", help="End training now and keep the best "
                       "model so far."):
            job.stop()
            st.rerun(scope="fragment")
    except Exception:
        logger.exception("Training progress failed to draw")
        st.error("The progress display hit an unexpected problem; training continues.")


def show_losses(progress: TrainingProgress) -> None:
    columns = st.columns(3)
    columns[0].metric("Training loss", fmt.loss(progress.loss[-1] if progress.loss else None))
    columns[1].metric(
        "Validation loss", fmt.loss(progress.val_loss[-1] if progress.val_loss else None),
    )
    columns[2].metric("Best epoch", progress.best_epoch or "–")
    if progress.loss:
        figure = loss_curve(progress.history)
        figure.update_layout(height=320, margin={"t": 30, "b": 10})
        st.plotly_chart(figure, config={"displayModeBar": False})


def show_outcome(state: AppState) -> None:
    """What the last training ended with, and where to go next."""
    training = state.training
    assert training is not None
    progress = training.job.progress()
    if progress.status == "failed":
        st.error(f"Training failed: {fmt.plain(progress.error)}")
        return
    if progress.stop_reason:
        st.info(f"Training stopped itself: {fmt.plain(progress.stop_reason)}.", icon=":material/timer:")
    if not training.job.fitted:
        st.info("Training was stopped before it started; no model was trained.")
        return
    best = progress.best_epoch
    how = "stopped by you" if progress.status == "stopped" else "finished"
    if progress.stop_reason:
        how = "stopped"
    if best is None:  # a classical method: no epochs, no losses
        st.success(
            f"{training.job.detector.title} fitted in {fmt.duration(progress.elapsed)}.",
            icon=":material/check_circle:",
        )
        st.page_link(
            RESULTS_PAGE, label="See the results: which rows the model flags",
            icon=":material/arrow_forward:",
        )
        return
    st.success(
        f"Training {how} after {progress.epoch} epochs in {fmt.duration(progress.elapsed)}. "
        f"Final training loss {fmt.loss(progress.loss[-1])}, validation loss "
        f"{fmt.loss(progress.val_loss[-1] if progress.val_loss else None)}; the weights of "
        f"epoch {best} (the best) are kept.",
        icon=":material/check_circle:",
    )
    plan = getattr(training.job.detector, "training_plan_", None)
    note = fmt.step_limit_note(plan, progress.epoch) if plan is not None else None
    if note:
        st.info(note, icon=":material/speed:")
    show_losses(progress)
    st.page_link(
        RESULTS_PAGE, label="See the results: which rows the model flags",
        icon=":material/arrow_forward:",
    )


dataset = state.dataset
if dataset is None:
    st.info("Load a dataset on the Data page first.")
    st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
else:
    roles = dataset.roles
    st.caption(
        f"Dataset **{fmt.plain(dataset.name)}**: {len(roles.features)} feature columns"
        + (f"; label {fmt.code(roles.label)} is kept for evaluation only." if roles.label else ".")
        + (" Training only on rows the label marks normal." if dataset.normal_only else "")
    )
    choose_holdout(dataset)
    family = choose_family(state.settings, dataset)
    if family == "autoencoder":
        config = choose_config(state.settings)
        ready = config is not None and show_architecture(dataset, config)
    else:
        config = None
        choose_contamination(state.settings)
        ready = data_ready(dataset)
    active = state.training_active
    if st.button(
        "Train model", type="primary", icon=":material/play_arrow:", disabled=not ready or active,
    ) and (config is not None or family != "autoencoder"):
        start_training(state, family, config)
    if active:
        st.fragment(run_every=1)(live_progress)(state)
    elif state.training is not None:
        state.collect_training()
        show_outcome(state)
