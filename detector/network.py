"""The autoencoder's Keras network: its layers, how it is built, and the training loop.

Keras and TensorFlow are imported inside the functions that need them (the import costs
seconds), always through :func:`import_keras`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from detector.autoencoder_config import AutoencoderConfig
from detector.base import FitProgress, ProgressCallback

if TYPE_CHECKING:
    import keras

# Rows scored per call when predicting; large enough to amortise Keras' per-call overhead,
# small enough that the intermediate activations stay a few hundred MB at most.
_PREDICT_BATCH = 16_384


# Gradient steps a Keras epoch ("round") has at least, and rounds a fit has at least (so that
# the live loss curve has a shape and early stopping a chance): see training_rounds.
ROUND_STEPS = 200
MIN_ROUNDS = 10
# Gradient steps per call into the compiled training graph.
STEPS_PER_EXECUTION = 32
# Row numbers drawn up front at most (a 4 MB int32 array): beyond, each pass is shuffled in
# the tf.data pipeline instead (see _drawn_batches and _shuffled_batches).
PRECOMPUTED_ROWS = 1_000_000
# Rows per validation batch at most (the validation set is otherwise one batch).
VALIDATION_BATCH = 8192

_keras_lock = threading.Lock()


def import_keras() -> Any:
    """Import Keras (and TensorFlow), once per process and from one thread at a time."""
    with _keras_lock:
        import keras  # seconds, the first time

    return keras


@dataclass(frozen=True)
class LayerSummary:
    """One dense layer of the network, for showing the architecture before training."""

    name: str
    units: int
    params: int


def architecture(config: AutoencoderConfig, n_inputs: int) -> list[LayerSummary]:
    """List the dense layers of the network ``config`` builds for ``n_inputs`` columns.

    Plain arithmetic, no TensorFlow: the UI shows this before anything is trained.
    ``config`` must be resolved (no ``None`` sizes).
    """
    if config.hidden_layers is None or config.bottleneck is None:
        raise ValueError("architecture() needs a resolved config; call config.resolved(...) first.")
    widths = [*config.hidden_layers, config.bottleneck, *reversed(config.hidden_layers), n_inputs]
    names = (
        [f"encoder_{i + 1}" for i in range(len(config.hidden_layers))]
        + ["bottleneck"]
        + [f"decoder_{i + 1}" for i in range(len(config.hidden_layers))]
        + ["output"]
    )
    layers = []
    previous = n_inputs
    for name, units in zip(names, widths, strict=True):
        layers.append(LayerSummary(name=name, units=units, params=previous * units + units))
        previous = units
    return layers


def build_autoencoder(config: AutoencoderConfig, n_inputs: int) -> keras.Model:
    """Build the (uncompiled) dense autoencoder for a resolved ``config``."""
    keras = import_keras()

    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    seed = config.seed

    def dense(units: int, name: str, activation: str | None) -> keras.layers.Dense:
        nonlocal seed
        seed += 1
        return keras.layers.Dense(
            units,
            activation=activation,
            name=name,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            kernel_regularizer=regularizer,
        )

    inputs = keras.Input(shape=(n_inputs,), name="features")
    x = inputs
    for summary in architecture(config, n_inputs)[:-1]:
        activation = None if summary.name == "bottleneck" else config.activation
        x = dense(summary.units, summary.name, activation)(x)
        if config.dropout > 0 and summary.name != "bottleneck":
            seed += 1
            x = keras.layers.Dropout(config.dropout, seed=seed, name=f"{summary.name}_dropout")(x)
    outputs = dense(n_inputs, "output", None)(x)
    return keras.Model(inputs, outputs, name="autoencoder")



def training_rounds(n_rows: int, config: AutoencoderConfig) -> tuple[int, int, int]:
    """How training is cut into Keras epochs: ``(rounds, steps per round, patience in rounds)``.

    Every Keras epoch costs a fixed few tens of milliseconds (a validation pass, callbacks,
    bookkeeping), which on a small table dwarfs its handful of gradient steps: 100 epochs of 3
    steps took 13 s where one call of the same 300 steps takes 1 s. So passes over a small table
    are folded into rounds of about ``ROUND_STEPS`` steps, checked (validation, early stopping,
    progress) once a round, and there are at least ``MIN_ROUNDS`` of them (or one per pass,
    if fewer); ``config.patience`` counts passes, converted to rounds. A round is a whole number
    of graph calls (``STEPS_PER_EXECUTION`` steps each, fewer if a round is shorter), since Keras
    runs whole calls: the rounds run ``config.epochs`` passes' worth of steps, or up to a call
    more per round. A table with at least ``ROUND_STEPS`` steps a pass trains a round per pass.
    """
    steps_per_pass = max(1, math.ceil(n_rows / max(config.batch_size or 32, 1)))
    total = config.epochs * steps_per_pass
    rounds = min(config.epochs, max(MIN_ROUNDS, math.ceil(total / ROUND_STEPS)))
    steps = math.ceil(total / rounds)
    per_call = min(STEPS_PER_EXECUTION, steps)
    steps = math.ceil(steps / per_call) * per_call
    patience = max(1, math.ceil(config.patience * steps_per_pass / steps))
    return rounds, steps, patience


def steps_per_call(round_steps: int) -> int:
    """Gradient steps per call into the compiled graph for rounds of ``round_steps``."""
    return min(STEPS_PER_EXECUTION, round_steps)


def train_network(
    matrix: np.ndarray,
    config: AutoencoderConfig,
    on_progress: ProgressCallback | None,
) -> tuple[Any, dict[str, list[float]], bool]:
    """Fit a fresh network on ``matrix``; return it, its loss history and whether the user stopped it.

    The history holds one loss per round (see :func:`training_rounds`) and, under ``"epoch"``,
    the passes done at each; progress reports the passes done so far as epochs.
    """
    keras = import_keras()
    import tensorflow as tf

    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(matrix))
    n_validation = round(len(matrix) * config.validation_fraction)
    # A validation set of a handful of rows says nothing; below 8 rows monitor the training loss.
    if n_validation < 8 or len(matrix) - n_validation < 8:
        n_validation = 0
    train = matrix[order[n_validation:]]
    validation = matrix[order[:n_validation]] if n_validation else None

    batch_size = min(config.batch_size or 32, len(train))
    rounds, round_steps, patience = training_rounds(len(train), replace(config, batch_size=batch_size))
    model = build_autoencoder(config, matrix.shape[1])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss="mse",
        # Several steps per call into the compiled graph: a small network's step is shorter
        # than the Python round trip around it.
        steps_per_execution=steps_per_call(round_steps),
    )
    needed = rounds * round_steps
    if needed * batch_size <= PRECOMPUTED_ROWS:
        dataset = _drawn_batches(tf, train, batch_size, needed, config.seed)
    else:
        dataset = _shuffled_batches(tf, train, batch_size, config.seed)
    monitor = "val_loss" if validation is not None else "loss"
    steps_per_pass = math.ceil(len(train) / batch_size)
    # The progress callback measures the validation loss itself and comes first, so that early
    # stopping reads it from the same logs: Keras' own validation builds a data pipeline every
    # round, which cost more than a small table's training round itself.
    progress = _progress_callback(config.epochs, round_steps / steps_per_pass, on_progress, validation)
    callbacks: list[keras.callbacks.Callback] = [
        progress,
        keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True),
    ]
    model.fit(
        dataset,
        epochs=rounds,
        steps_per_epoch=round_steps,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself, with our seed
        verbose=0,
    )
    history = {"loss": progress.loss, "val_loss": progress.val_loss, "epoch": progress.epochs}
    return model, history, progress.stopped_by_user


def _row_pairs(tf: Any, train: np.ndarray) -> Any:
    """A tf.data map from a batch of row numbers to (rows, rows): input and target alike."""
    data = tf.constant(train)

    def gather(rows: Any) -> tuple[Any, Any]:
        batch = tf.gather(data, rows)
        return batch, batch

    return gather


def _drawn_batches(tf: Any, train: np.ndarray, batch_size: int, n_batches: int, seed: int) -> Any:
    """``n_batches`` (rows, rows) batches of ``train``, every pass a new seeded permutation,
    drawn up front with numpy.

    A small table's pass is a few batches, and a tf.data pipeline that shuffles per pass pays a
    few milliseconds a pass (a new inner dataset each time): a third of a 1,000-row fit. Here the
    row numbers of every pass are drawn at once and batches run on across passes, as one
    stream; each pass still holds every row once.
    """
    rng = np.random.default_rng(seed)
    n_rows = len(train)
    passes = -(-n_batches * batch_size // n_rows)
    order = np.concatenate([rng.permutation(n_rows) for _ in range(passes)])
    batches = order[: n_batches * batch_size].reshape(n_batches, batch_size).astype(np.int32)
    gather = _row_pairs(tf, train)
    return tf.data.Dataset.from_tensor_slices(batches).map(gather).prefetch(tf.data.AUTOTUNE)


def _shuffled_batches(tf: Any, train: np.ndarray, batch_size: int, seed: int) -> Any:
    """An endless stream of (rows, rows) batches of ``train``, in a new seeded order every pass.

    Each pass draws one permutation of the row numbers (a stateless shuffle keyed by a seeded
    per-pass random number, so training is reproducible without touching TensorFlow's global
    random state, which other sessions' threads share) and gathers whole batches from it. A
    shuffle buffer of row numbers instead passes every row through tf.data one at a time, which
    cost about a second per epoch per million rows; this is the layout Keras uses for arrays.
    Keras takes ``steps_per_epoch`` batches a round from it and keeps its place between rounds.
    """
    n_rows = len(train)
    n_full = n_rows // batch_size * batch_size
    seed_part = tf.constant(seed, tf.int64)

    def batches_of_one_epoch(epoch_seed: Any) -> Any:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n_rows, dtype=tf.int64),
            seed=tf.stack([epoch_seed, seed_part]),
        )
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[:n_full], (-1, batch_size)))
        if n_full < n_rows:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[n_full:]))
        return batches

    gather = _row_pairs(tf, train)
    return (
        tf.data.Dataset.random(seed=seed)
        .flat_map(batches_of_one_epoch)
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE)
        # Keras cannot count the batches of a flat_map; an endless stream it need not count.
        .apply(tf.data.experimental.assert_cardinality(tf.data.INFINITE_CARDINALITY))
        .prefetch(tf.data.AUTOTUNE)
    )


def _progress_callback(
    epochs: int, passes_per_round: float, on_progress: ProgressCallback | None, validation: np.ndarray | None,
) -> Any:
    """A Keras callback that measures each round's validation loss, records the losses, and reports
    the passes done to ``on_progress``."""
    keras = import_keras()
    import tensorflow as tf

    held_out = None if validation is None else tf.constant(validation)

    def validation_loss(model: Any) -> float:
        """Mean squared error on the held-out rows plus the weight penalty, as Keras' val_loss."""
        total = 0.0
        for rows in row_batches(len(validation), VALIDATION_BATCH):
            rebuilt = model(held_out[rows], training=False)
            total += float(tf.reduce_sum(tf.reduce_mean(tf.square(rebuilt - held_out[rows]), axis=1)))
        return total / len(validation) + float(sum(model.losses)) if model.losses else total / len(validation)

    class Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.loss: list[float] = []
            self.val_loss: list[float] = []
            self.epochs: list[int] = []
            self.stopped_by_user = False
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs if logs is not None else {}
            if held_out is not None:
                logs["val_loss"] = validation_loss(self.model)
            self.loss.append(float(logs.get("loss", math.nan)))
            self.epochs.append(min(epochs, max(1, round((epoch + 1) * passes_per_round))))
            val = logs.get("val_loss")
            if val is not None:
                self.val_loss.append(float(val))
            if on_progress is None:
                return
            log = FitProgress(
                step=self.epochs[-1],
                total=epochs,
                unit="epoch",
                loss=self.loss[-1],
                val_loss=None if val is None else float(val),
                elapsed=time.perf_counter() - self.started,
            )
            if on_progress(log):
                self.stopped_by_user = True
                self.model.stop_training = True

    return Progress()


def row_batches(n_rows: int, size: int = _PREDICT_BATCH) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` rows covering ``range(n_rows)``."""
    for start in range(0, n_rows, size):
        yield slice(start, min(start + size, n_rows))


__all__ = [
    "LayerSummary",
    "architecture",
    "build_autoencoder",
    "import_keras",
    "row_batches",
    "steps_per_call",
    "train_network",
    "training_rounds",
]
