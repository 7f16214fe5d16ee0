"""How the autoencoder is built and trained: its configuration, checked in one place, and its plan."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from detector.errors import DataError

ACTIVATIONS = ("relu", "elu", "gelu", "selu", "tanh", "swish")


@dataclass(frozen=True)
class AutoencoderConfig:
    """How the autoencoder is built and trained.

    ``None`` means "size it from the data": see :meth:`resolved` for the rules.

    Parameters
    ----------
    hidden_layers : tuple of int or None
        Widths of the encoder's hidden layers, outermost first; the decoder mirrors them.
    bottleneck : int or None
        Width of the code layer, at most one less than the network's inputs (a wider one is
        narrowed when the config is resolved). 0 means no code at all: every row is rebuilt as the typical
        (median) row, so its score is its distance from typical values (what the sizing rule
        picks for a single input column, where a code could only copy the input).
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
    max_steps : int or None
        Upper bound on gradient steps: on large tables the number of epochs is lowered (to no
        fewer than 5) so that training takes about this many steps at most. ``None`` disables it.
    seed : int
        Seeds weight initialisation, dropout, the validation split and shuffling.
    failure_wording : bool
        With text columns among the features, add a fourth part to the score: how rare it is
        among the training rows for a text to read this much like a failure (its similarity to
        :data:`detector.text.FAILURE_WORDS`). Without text columns it changes nothing.
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
    max_steps: int | None = 3000
    seed: int = 0
    failure_wording: bool = True

    def resolved(self, n_rows: int, n_features: int) -> AutoencoderConfig:
        """Return a copy with every ``None`` replaced by the size the data calls for.

        The rules depend only on the table's shape (they were chosen on the ADBench study in
        ``benchmarks/README.md``, never per dataset): one hidden layer about twice as wide as
        the input (16 to 256 units) and a bottleneck of half the input width, always narrower
        than the input (at most half the hidden layer and one less than the inputs), so the
        network cannot learn the identity; one input column leaves no room for a code (0). Batches grow
        with the row count (n/50 rounded to a power of two, 32 to 1024 rows), and ``max_steps``
        lowers the epoch budget on large tables, so that training time stops growing with rows.
        """
        self.validate()
        hidden = self.hidden_layers
        if hidden is None:
            hidden = (int(np.clip(2 * n_features, 16, 256)),)
        bottleneck = self.bottleneck
        if bottleneck is None:
            bottleneck = min(max(2, math.ceil(n_features / 2)), max(1, hidden[-1] // 2))
        # Never as wide as the input, even when asked: a code that wide can copy every row.
        bottleneck = max(0, min(bottleneck, n_features - 1))
        batch_size = self.batch_size
        if batch_size is None:
            target = max(n_rows, 1) / 50
            batch_size = int(np.clip(2 ** round(math.log2(max(target, 1))), 32, 1024))
        epochs = self.epochs
        if self.max_steps is not None:
            epochs = min(epochs, max(5, math.ceil(self.max_steps / steps_per_epoch(n_rows, batch_size))))
        return replace(
            self,
            hidden_layers=tuple(int(h) for h in hidden),
            bottleneck=int(bottleneck),
            batch_size=int(batch_size),
            epochs=int(epochs),
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
    "failure_wording": (lambda v: isinstance(v, bool), "True or False"),
    "hidden_layers": (
        lambda v: (
            v is None or (isinstance(v, tuple) and 0 < len(v) <= 6 and all(_is_int(h, 1, 4096) for h in v))
        ),
        "None or a tuple of 1 to 6 integers in [1, 4096]",
    ),
    "bottleneck": (lambda v: v is None or _is_int(v, 0, 1024), "None or an integer in [0, 1024]"),
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
    "max_steps": (lambda v: v is None or _is_int(v, 1, 10**9), "None or a positive integer"),
    "seed": (lambda v: _is_int(v, 0, 2**31 - 1), "an integer in [0, 2**31 - 1]"),
}


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Batches in one pass over ``n_rows`` rows (what ``max_steps`` is counted against)."""
    return max(1, math.ceil(n_rows / batch_size))


@dataclass(frozen=True)
class TrainingPlan:
    """How many epochs training was asked for and how many it was allowed, with the reason.

    ``max_steps`` lowers the epoch budget on large tables (see
    :meth:`AutoencoderConfig.resolved`); this records that choice so it is shown, never silent.
    ``steps_per_epoch`` counts batches in one pass over ``n_rows`` (the held-out validation
    share makes the real count a little lower). The epochs actually run are
    ``len(history_["loss"])``: early stopping may end training before ``epochs_allowed``.
    """

    n_rows: int
    batch_size: int
    steps_per_epoch: int
    epochs_requested: int
    epochs_allowed: int
    max_steps: int | None

    @classmethod
    def of(cls, config: AutoencoderConfig, resolved: AutoencoderConfig, n_rows: int) -> TrainingPlan:
        """The plan of ``config`` (as asked) once ``resolved`` for ``n_rows`` training rows."""
        if resolved.batch_size is None:
            raise ValueError("TrainingPlan.of() needs a resolved config; call config.resolved(...) first.")
        return cls(
            n_rows=int(n_rows),
            batch_size=int(resolved.batch_size),
            steps_per_epoch=steps_per_epoch(n_rows, resolved.batch_size),
            epochs_requested=int(config.epochs),
            epochs_allowed=int(resolved.epochs),
            max_steps=config.max_steps,
        )

    @property
    def limited_by_max_steps(self) -> bool:
        """Whether ``max_steps`` allowed fewer epochs than were asked for."""
        return self.epochs_allowed < self.epochs_requested

    def describe(self) -> str:
        """One phrase: ``"5 of 200 epochs: the step limit (3,000 batch steps) caps ..."``."""
        steps = f"{self.steps_per_epoch:,} steps of {self.batch_size:,} rows per epoch"
        if not self.limited_by_max_steps:
            return f"up to {self.epochs_allowed:,} epochs on {self.n_rows:,} rows ({steps})"
        return (
            f"{self.epochs_allowed:,} of {self.epochs_requested:,} epochs: the step limit "
            f"({self.max_steps:,} batch steps) caps training on {self.n_rows:,} rows ({steps})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON-able values, plus ``limited_by_max_steps`` for a reader's sake."""
        return {**asdict(self), "limited_by_max_steps": self.limited_by_max_steps}

    @classmethod
    def from_dict(cls, data: object) -> TrainingPlan:
        """Build a plan from :meth:`to_dict` output, refusing missing or ill-typed fields."""
        if not isinstance(data, dict):
            raise DataError("The training plan is not a JSON object.")
        values = {key: value for key, value in data.items() if key != "limited_by_max_steps"}
        if set(values) != {f.name for f in fields(cls)}:
            raise DataError("The training plan's fields are not the ones this tool writes.")
        if not all(
            _is_int(value, 1) or (key == "max_steps" and value is None) for key, value in values.items()
        ):
            raise DataError("The training plan must hold positive whole numbers.")
        return cls(**values)




def training_plan(config: AutoencoderConfig, n_rows: int, n_features: int) -> TrainingPlan:
    """How ``config`` would train on ``n_rows`` rows of ``n_features`` network inputs.

    Plain arithmetic, no TensorFlow: the UI shows this before anything is trained.
    """
    return TrainingPlan.of(config, config.resolved(n_rows, n_features), n_rows)


__all__ = ["ACTIVATIONS", "AutoencoderConfig", "TrainingPlan", "steps_per_epoch", "training_plan"]
