"""The autoencoder anomaly detector: fit on rows, score each row by how badly it is reconstructed."""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from detector.columns import ColumnRoles, infer_roles
from detector.errors import DataError, NotFittedError
from detector.preprocessing import PreprocessConfig, Preprocessor
from detector.thresholds import contamination_threshold

if TYPE_CHECKING:
    import keras

ACTIVATIONS = ("relu", "elu", "gelu", "selu", "tanh", "swish")

# Rows scored per call when predicting; large enough to amortise Keras' per-call overhead,
# small enough that the intermediate activations stay a few hundred MB at most.
_PREDICT_BATCH = 16_384


@dataclass(frozen=True)
class AutoencoderConfig:
    """How the autoencoder is built and trained.

    ``None`` means "size it from the data": see :meth:`resolved` for the rules.

    Parameters
    ----------
    hidden_layers : tuple of int or None
        Widths of the encoder's hidden layers, outermost first; the decoder mirrors them.
    bottleneck : int or None
        Width of the code layer.
    activation : str
        Activation of the hidden layers (the output layer is linear).
    dropout : float
        Dropout rate after each hidden layer, in [0, 0.9).
    l2 : float
        L2 weight penalty on every dense kernel.
    learning_rate : float
        Adam's learning rate.
    batch_size : int or None
        Rows per gradient step.
    epochs : int
        Upper bound on passes over the training rows.
    validation_fraction : float
        Share of training rows held out to decide when to stop (0 disables: the training loss
        is monitored instead).
    patience : int
        Epochs without improvement before training stops; the best weights are kept.
    seed : int
        Seeds weight initialisation, dropout, the validation split and shuffling.
    """

    hidden_layers: tuple[int, ...] | None = None
    bottleneck: int | None = None
    activation: str = "relu"
    dropout: float = 0.0
    l2: float = 0.0
    learning_rate: float = 1e-3
    batch_size: int | None = None
    epochs: int = 100
    validation_fraction: float = 0.1
    patience: int = 10
    seed: int = 0

    def resolved(self, n_rows: int, n_features: int) -> AutoencoderConfig:
        """Return a copy with every ``None`` replaced by the size the data calls for.

        The rules depend only on the table's shape: the first hidden layer is about twice as
        wide as the input (16 to 256 units), each further layer halves it, and the bottleneck is
        about a quarter of the input width (2 to 32 units), always narrower than the last hidden
        layer so that the network cannot learn the identity. Batches grow with the row count
        (32 to 1024 rows) so that an epoch costs a few hundred steps at most.
        """
        self.validate()
        hidden = self.hidden_layers
        if hidden is None:
            first = int(np.clip(2 * n_features, 16, 256))
            hidden = (first, max(first // 2, 8))
        bottleneck = self.bottleneck
        if bottleneck is None:
            bottleneck = int(np.clip(math.ceil(n_features / 4), 2, 32))
            bottleneck = min(bottleneck, max(2, hidden[-1] // 2))
        batch_size = self.batch_size
        if batch_size is None:
            target = max(n_rows, 1) / 200
            batch_size = int(np.clip(2 ** round(math.log2(max(target, 1))), 32, 1024))
        return replace(
            self,
            hidden_layers=tuple(int(h) for h in hidden),
            bottleneck=int(bottleneck),
            batch_size=int(batch_size),
        )

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field outside its allowed range."""
        for name, (check, allowed) in _CONFIG_CONSTRAINTS.items():
            value = getattr(self, name)
            if not check(value):
                raise ValueError(f"AutoencoderConfig.{name}={value!r} is invalid: expected {allowed}.")

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-able values."""
        data = asdict(self)
        if data["hidden_layers"] is not None:
            data["hidden_layers"] = list(data["hidden_layers"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoencoderConfig:
        """Build a config from :meth:`to_dict` output, refusing unknown or ill-typed fields."""
        if not isinstance(data, dict):
            raise DataError("The model configuration is not a JSON object.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(f"The model configuration has unknown fields: {', '.join(unknown)}.")
        values = dict(data)
        if values.get("hidden_layers") is not None:
            if not isinstance(values["hidden_layers"], list):
                raise DataError("The model configuration's hidden_layers must be a list of integers.")
            values["hidden_layers"] = tuple(values["hidden_layers"])
        config = cls(**values)
        try:
            config.validate()
        except ValueError as exc:
            raise DataError(f"The model configuration is invalid: {exc}") from None
        return config


def _is_int(value: object, low: int, high: int | None = None) -> bool:
    return (
        isinstance(value, int | np.integer)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def _is_float(value: object, low: float, high: float, *, high_open: bool = False) -> bool:
    if not isinstance(value, int | float | np.floating) or isinstance(value, bool):
        return False
    if not math.isfinite(value) or value < low:
        return False
    return value < high if high_open else value <= high


# The one declared place where config values are checked (sklearn's _parameter_constraints idea).
_CONFIG_CONSTRAINTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "hidden_layers": (
        lambda v: (
            v is None or (isinstance(v, tuple) and 0 < len(v) <= 6 and all(_is_int(h, 1, 4096) for h in v))
        ),
        "None or a tuple of 1 to 6 integers in [1, 4096]",
    ),
    "bottleneck": (lambda v: v is None or _is_int(v, 1, 1024), "None or an integer in [1, 1024]"),
    "activation": (lambda v: v in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
    "dropout": (lambda v: _is_float(v, 0.0, 0.9, high_open=True), "a number in [0, 0.9)"),
    "l2": (lambda v: _is_float(v, 0.0, 1.0), "a number in [0, 1]"),
    "learning_rate": (lambda v: _is_float(v, 1e-7, 1.0) and v > 0, "a number in (0, 1]"),
    "batch_size": (lambda v: v is None or _is_int(v, 1, 1 << 20), "None or a positive integer"),
    "epochs": (lambda v: _is_int(v, 1, 10_000), "an integer in [1, 10000]"),
    "validation_fraction": (
        lambda v: _is_float(v, 0.0, 0.5),
        "a number in [0, 0.5]",
    ),
    "patience": (lambda v: _is_int(v, 1, 10_000), "an integer in [1, 10000]"),
    "seed": (lambda v: _is_int(v, 0, 2**31 - 1), "an integer in [0, 2**31 - 1]"),
}


@dataclass(frozen=True)
class EpochLog:
    """What a fit callback learns after each epoch."""

    epoch: int
    epochs: int
    loss: float
    val_loss: float | None
    elapsed: float


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
    import keras

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


class AutoencoderDetector(BaseEstimator):
    """Dense autoencoder that scores rows by reconstruction error (higher = more anomalous).

    Give it a DataFrame of raw columns (it chooses, encodes and scales the features itself) or
    a numeric array. After :meth:`fit`, ``decision_scores_`` holds the training rows' scores and
    ``threshold_`` the score above which ``contamination`` of them fall.

    Parameters
    ----------
    config : AutoencoderConfig
        Network and training settings; ``None`` sizes follow the data.
    contamination : float
        Expected share of anomalies, in (0, 0.5); sets ``threshold_`` only (the threshold can be
        changed later without refitting).
    columns : ColumnRoles or None
        Which columns are numeric and categorical features. ``None`` infers them from the data.
    preprocess : PreprocessConfig
        Imputation, scaling and encoding settings.

    Examples
    --------
    >>> detector = AutoencoderDetector(contamination=0.05).fit(frame)      # doctest: +SKIP
    >>> detector.predict(frame)                                           # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        config: AutoencoderConfig = AutoencoderConfig(),
        contamination: float = 0.05,
        columns: ColumnRoles | None = None,
        preprocess: PreprocessConfig = PreprocessConfig(),  # noqa: B008 (frozen)
    ) -> None:
        self.config = config
        self.contamination = contamination
        self.columns = columns
        self.preprocess = preprocess

    # ----------------------------------------------------------------- fitting

    def fit(
        self,
        X: pd.DataFrame | np.ndarray,
        y: object = None,
        *,
        on_epoch: Callable[[EpochLog], bool | None] | None = None,
    ) -> AutoencoderDetector:
        """Learn to reconstruct the rows of ``X``; return ``self``.

        ``y`` is ignored (the detector is unsupervised). ``on_epoch`` is called after every
        epoch; returning ``True`` stops training, keeping the best weights seen so far.
        """
        if not _is_float(self.contamination, 0.0, 0.5, high_open=True) or self.contamination <= 0:
            raise ValueError(f"contamination={self.contamination!r} must be in (0, 0.5).")
        if not isinstance(self.config, AutoencoderConfig):
            raise TypeError("config must be an AutoencoderConfig.")
        frame = self._as_frame(X, fitting=True)
        if self.columns is not None:
            roles = self.columns
        elif isinstance(X, pd.DataFrame):
            roles = infer_roles(frame)
        else:  # every column of a numeric array is a numeric feature
            roles = ColumnRoles(numeric=tuple(frame.columns))
        roles.check(frame)
        preprocessor = Preprocessor(
            numeric=roles.numeric,
            categorical=roles.categorical,
            config=self.preprocess,
        )
        usable = ~preprocessor.missing_feature_rows(frame)
        if not usable.any():
            raise DataError("Every row has all feature columns missing; there is nothing to learn.")
        train_frame = frame if usable.all() else frame.loc[usable]
        matrix = preprocessor.fit(train_frame).transform(train_frame)
        if len(matrix) < 2:
            raise DataError(
                f"Training needs at least 2 rows with feature values; this table has {len(matrix)} "
                f"(n_samples={len(matrix)})."
            )
        config = self.config.resolved(len(matrix), matrix.shape[1])

        self.preprocessor_ = preprocessor
        self.columns_ = roles
        self.config_ = config
        self.n_features_in_ = len(frame.columns)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        started = time.perf_counter()
        self.model_, self.history_, self.stopped_by_user_ = _train(matrix, config, on_epoch)
        self.fit_seconds_ = time.perf_counter() - started
        self.n_train_rows_ = len(matrix)
        self.data_fingerprint_ = _fingerprint(matrix)

        scores = np.full(len(frame), np.nan)
        scores[usable] = self._scores_from_matrix(matrix)
        self.decision_scores_ = scores
        self.threshold_ = contamination_threshold(scores, self.contamination).threshold
        self.labels_ = self._labels(scores)
        return self

    # ----------------------------------------------------------------- scoring

    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Per-row anomaly score: the mean squared reconstruction error in the model's space.

        Rows whose feature columns are all missing cannot be scored and get ``NaN``.
        """
        matrix, usable = self._transform(X)
        scores = np.full(len(usable), np.nan)
        scores[usable] = self._scores_from_matrix(matrix)
        return scores

    def score_samples(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Opposite of :meth:`decision_function` (scikit-learn's convention: lower is more abnormal)."""
        return -self.decision_function(X)

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Return 1 for rows scoring above ``threshold_`` (anomalies), else 0."""
        return self._labels(self.decision_function(X))

    def reconstruct(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Return the network's reconstruction of each row, in the original units of each column."""
        matrix, usable = self._transform(X)
        reconstructed = self.preprocessor_.inverse_transform(self._reconstruct_matrix(matrix))
        if usable.all():
            reconstructed.index = self._index_of(X)
            return reconstructed
        full = reconstructed.reindex(range(len(usable)))
        full.iloc[np.flatnonzero(usable)] = reconstructed.to_numpy()
        full.index = self._index_of(X)
        return full

    def feature_errors(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Each feature column's share of each row's reconstruction error (rows sum to 1).

        One-hot columns are folded back into their source column, so a categorical column is
        one entry. Unscorable rows are ``NaN``.
        """
        matrix, usable = self._transform(X)
        per_column = self._column_errors(matrix)
        totals = per_column.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(totals > 0, per_column / np.where(totals > 0, totals, 1), 0.0)
        full = np.full((len(usable), shares.shape[1]), np.nan)
        full[usable] = shares
        return pd.DataFrame(full, columns=self.preprocessor_.source_columns_, index=self._index_of(X))

    def score_with_contributions(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
        """Scores and per-column shares in one pass (what the app and CLI need together)."""
        matrix, usable = self._transform(X)
        per_column = self._column_errors(matrix)
        totals = per_column.sum(axis=1)
        scores = np.full(len(usable), np.nan)
        scores[usable] = totals / matrix.shape[1]
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(
                totals[:, None] > 0,
                per_column / np.where(totals > 0, totals, 1)[:, None],
                0.0,
            )
        full = np.full((len(usable), shares.shape[1]), np.nan)
        full[usable] = shares
        frame = pd.DataFrame(full, columns=self.preprocessor_.source_columns_, index=self._index_of(X))
        return scores, frame

    def encode(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Return each scorable row's bottleneck code (rows with no features are ``NaN``)."""
        import keras

        matrix, usable = self._transform(X)
        encoder = keras.Model(self.model_.inputs, self.model_.get_layer("bottleneck").output)
        codes = encoder.predict(matrix, batch_size=_PREDICT_BATCH, verbose=0)
        full = np.full((len(usable), codes.shape[1]), np.nan)
        full[usable] = codes
        return full

    def architecture(self) -> list[LayerSummary]:
        """The dense layers of the fitted network."""
        self._check_fitted()
        return architecture(self.config_, len(self.preprocessor_.feature_names_out_))

    # ----------------------------------------------------------------- persistence

    def save(self, path: str | Path, *, metadata: dict[str, Any] | None = None) -> Path:
        """Write a model bundle (a directory, or a ``.zip`` file) and return its path."""
        from detector.bundle import save_bundle

        return save_bundle(self, path, metadata=metadata)

    @classmethod
    def load(cls, path: str | Path | bytes) -> AutoencoderDetector:
        """Load a bundle written by :meth:`save`; never executes code from the file."""
        from detector.bundle import load_bundle

        return load_bundle(path).detector

    # ----------------------------------------------------------------- internals

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("This AutoencoderDetector is not fitted yet; call fit(X) before scoring.")

    def _as_frame(self, X: pd.DataFrame | np.ndarray, *, fitting: bool = False) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            if not fitting:
                self._check_fitted()
            return X
        if hasattr(X, "toarray") or hasattr(X, "tocsr"):
            raise TypeError("Sparse input is not supported; convert it with X.toarray() first.")
        array = np.asarray(X)
        if array.ndim != 2:
            raise DataError(
                f"Expected a 2-D table of rows and columns, got shape {array.shape}. "
                "Reshape your data, e.g. X.reshape(-1, 1) for a single column."
            )
        if np.iscomplexobj(array):
            raise DataError("Complex data not supported; pass real-valued columns.")
        if array.dtype == object:
            try:
                array = array.astype(np.float64)
            except (TypeError, ValueError):
                raise DataError("A plain array must be numeric; pass a DataFrame for text columns.") from None
        if not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
            raise DataError("A plain array must be numeric; pass a DataFrame for text columns.")
        if array.shape[1] == 0:
            raise DataError(
                f"Found array with 0 feature(s) (shape={array.shape}) while a minimum of 1 is required."
            )
        if not fitting:
            self._check_fitted()
            if array.shape[1] != self.n_features_in_:
                raise DataError(
                    f"The model was trained on {self.n_features_in_} columns; "
                    f"this array has {array.shape[1]}."
                )
            names = list(self.feature_names_in_)
        else:
            names = [f"x{i}" for i in range(array.shape[1])]
        return pd.DataFrame(array, columns=names)

    @staticmethod
    def _index_of(X: pd.DataFrame | np.ndarray) -> pd.Index:
        return X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))

    def _transform(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        frame = self._as_frame(X)
        usable = ~self.preprocessor_.missing_feature_rows(frame)
        subset = frame if usable.all() else frame.loc[usable]
        return self.preprocessor_.transform(subset), usable

    def _reconstruct_matrix(self, matrix: np.ndarray) -> np.ndarray:
        if len(matrix) == 0:
            return np.empty_like(matrix)
        return np.asarray(self.model_.predict(matrix, batch_size=_PREDICT_BATCH, verbose=0))

    def _column_errors(self, matrix: np.ndarray) -> np.ndarray:
        """Squared error summed per source column, shape (rows, source columns)."""
        squared = np.square(self._reconstruct_matrix(matrix) - matrix, dtype=np.float64)
        source = self.preprocessor_.output_source_
        n_sources = len(self.preprocessor_.source_columns_)
        if len(source) == n_sources and np.array_equal(source, np.arange(n_sources)):
            return squared
        # Summing one-hot blocks into their source column is a product with a 0/1 indicator matrix.
        indicator = np.zeros((len(source), n_sources))
        indicator[np.arange(len(source)), source] = 1.0
        return squared @ indicator

    def _scores_from_matrix(self, matrix: np.ndarray) -> np.ndarray:
        squared = np.square(self._reconstruct_matrix(matrix) - matrix, dtype=np.float64)
        return squared.mean(axis=1)

    def _labels(self, scores: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (scores > self.threshold_).astype(np.int8)


def _train(
    matrix: np.ndarray,
    config: AutoencoderConfig,
    on_epoch: Callable[[EpochLog], bool | None] | None,
) -> tuple[Any, dict[str, list[float]], bool]:
    """Fit a fresh network on ``matrix``; return it, its loss history and whether the user stopped it."""
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(matrix))
    n_validation = round(len(matrix) * config.validation_fraction)
    # A validation set of a handful of rows says nothing; below 8 rows monitor the training loss.
    if n_validation < 8 or len(matrix) - n_validation < 8:
        n_validation = 0
    train = matrix[order[n_validation:]]
    validation = matrix[order[:n_validation]] if n_validation else None

    model = build_autoencoder(config, matrix.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss="mse")
    batch_size = min(config.batch_size or 32, len(train))

    # Shuffle with an op-level seed so that training is reproducible without touching
    # TensorFlow's global random state (other sessions may be training in other threads).
    train_tensor = tf.constant(train)
    dataset = (
        tf.data.Dataset.range(len(train))
        .shuffle(len(train), seed=config.seed, reshuffle_each_iteration=True)
        .batch(batch_size)
        .map(lambda idx: (tf.gather(train_tensor, idx), tf.gather(train_tensor, idx)))
        .prefetch(2)
    )
    monitor = "val_loss" if validation is not None else "loss"
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.EarlyStopping(
            monitor=monitor,
            patience=config.patience,
            restore_best_weights=True,
        ),
    ]
    progress = _progress_callback(config.epochs, on_epoch)
    callbacks.append(progress)
    model.fit(
        dataset,
        validation_data=(validation, validation) if validation is not None else None,
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,  # the dataset reshuffles itself, with our seed
        verbose=0,
    )
    history = {"loss": list(progress.loss), "val_loss": list(progress.val_loss)}
    return model, history, progress.stopped_by_user


def _progress_callback(epochs: int, on_epoch: Callable[[EpochLog], bool | None] | None) -> Any:
    """A Keras callback that records the losses and forwards each epoch to ``on_epoch``."""
    import keras

    class Progress(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.loss: list[float] = []
            self.val_loss: list[float] = []
            self.stopped_by_user = False
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            self.loss.append(float(logs.get("loss", math.nan)))
            val = logs.get("val_loss")
            if val is not None:
                self.val_loss.append(float(val))
            if on_epoch is None:
                return
            log = EpochLog(
                epoch=epoch + 1,
                epochs=epochs,
                loss=self.loss[-1],
                val_loss=None if val is None else float(val),
                elapsed=time.perf_counter() - self.started,
            )
            if on_epoch(log):
                self.stopped_by_user = True
                self.model.stop_training = True

    return Progress()


def _fingerprint(matrix: np.ndarray) -> str:
    """A short hash of the training matrix, to tell later whether a bundle met the same data."""
    digest = hashlib.sha256()
    digest.update(str(matrix.shape).encode())
    digest.update(np.ascontiguousarray(matrix).tobytes())
    return digest.hexdigest()[:16]


__all__ = [
    "ACTIVATIONS",
    "AutoencoderConfig",
    "AutoencoderDetector",
    "EpochLog",
    "LayerSummary",
    "architecture",
    "build_autoencoder",
]
