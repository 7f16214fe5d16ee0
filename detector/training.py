"""Train a detector in a background thread, report its progress, and limit trainings per process."""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from detector.autoencoder_config import AutoencoderConfig
from detector.columns import ColumnRoles, label_vector
from detector.errors import DataError
from detector.preprocessing import PreprocessConfig, Preprocessor
from detector.results import ScoredTable, score_table
from detector.text import ENCODED_WIDTH

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from detector.base import BaseDetector, FitProgress
    from detector.baselines import Baselines

logger = logging.getLogger(__name__)

Status = Literal["queued", "running", "scoring", "comparing", "done", "stopped", "failed"]

# Shared by the dashboard and the CLI so that "Fast" means the same thing everywhere.
PRESETS: dict[str, AutoencoderConfig] = {
    "Fast": AutoencoderConfig(epochs=20, patience=3, max_steps=1000),
    "Balanced": AutoencoderConfig(),
    "Thorough": AutoencoderConfig(epochs=300, patience=20, max_steps=30_000),
}

PRESET_DESCRIPTIONS: dict[str, str] = {
    "Fast": (
        "Up to 20 epochs (about 1,000 gradient steps on large tables), stopping after 3 without "
        "improvement: a first look in seconds."
    ),
    "Balanced": (
        "Up to 100 epochs (about 3,000 gradient steps on large tables), stopping after 10 without "
        "improvement: the library defaults, the settings benchmarked on ADBench."
    ),
    "Thorough": (
        "Up to 300 epochs (about 30,000 gradient steps on large tables), stopping after 20 "
        "without improvement: for the final model."
    ),
}


@dataclass(frozen=True)
class TrainingProgress:
    """A consistent snapshot of a training job, safe to read from any thread.

    ``epoch`` and ``total_epochs`` count the fit's steps: epochs of a network, or stages of a
    classical method (``unit`` says which, ``stage`` names the last one). ``elapsed`` counts
    seconds since training started (time spent queued excluded); ``queue_position`` is 1 for
    the next job to start and 0 when the job is not queued.
    """

    status: Status
    epoch: int
    total_epochs: int
    elapsed: float
    loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    queue_position: int
    error: str | None
    stop_requested: bool
    unit: str = "epoch"
    stage: str = ""
    #: The epochs (passes) done at each loss point: a small table's losses come every few.
    epochs: tuple[int, ...] = ()
    #: Why the job stopped itself (a time limit, nobody watching), if it did.
    stop_reason: str | None = None

    @property
    def active(self) -> bool:
        """Whether the job is still queued, training, scoring or fitting the baselines."""
        return self.status in ("queued", "running", "scoring", "comparing")

    @property
    def fraction(self) -> float:
        """Share of the epoch budget used, in [0, 1] (early stopping may end before 1)."""
        if self.status in ("scoring", "comparing", "done", "stopped"):
            return 1.0
        return min(self.epoch / self.total_epochs, 1.0) if self.total_epochs else 0.0

    @property
    def best_epoch(self) -> int | None:
        """The 1-based epoch whose weights are kept: lowest validation loss, else lowest loss."""
        monitored = self.val_loss or self.loss
        if not monitored:
            return None
        best = min(range(len(monitored)), key=monitored.__getitem__)
        return self.epochs[best] if len(self.epochs) == len(monitored) else best + 1

    @property
    def history(self) -> dict[str, list]:
        """The losses as a detector's ``history_``: ``loss``, ``val_loss`` and ``epoch``."""
        return {"loss": list(self.loss), "val_loss": list(self.val_loss), "epoch": list(self.epochs)}


# --------------------------------------------------------------------------- the process-wide limit

# A FIFO gate rather than a bare Semaphore, so that waiting jobs can report their place in line.
_gate = threading.Condition()
_waiting: list[TrainingJob] = []
_running = 0
_max_running = max(1, int(os.environ.get("DETECTOR_MAX_TRAININGS", "1")))


def max_concurrent_trainings() -> int:
    """How many trainings may run at once in this process (others queue)."""
    return _max_running


def set_max_concurrent_trainings(limit: int) -> None:
    """Change how many trainings may run at once; waiting jobs start if slots opened up.

    The default, 1, comes from the ``DETECTOR_MAX_TRAININGS`` environment variable when set:
    training takes every core, so two at once only make both slower.
    """
    global _max_running
    if limit < 1:
        raise ValueError(f"The training limit must be at least 1, got {limit}.")
    with _gate:
        _max_running = limit
        _gate.notify_all()


# --------------------------------------------------------------------------- the job


class TrainingJob:
    """Fit ``detector`` on ``X`` in a daemon thread, queued behind other trainings if needed.

    The thread never touches any UI; callers poll :meth:`progress`. :meth:`stop` ends
    training after the current epoch and keeps the best weights seen so far. Given
    ``score_rows``, the job then scores that whole table (status ``"scoring"``) so the results
    are ready the moment training ends: see :attr:`scored`. Given ``baselines``, it then fits
    those families on the same rows and scores the same table with them (status
    ``"comparing"``): see :attr:`baselines`.

    Parameters
    ----------
    detector : BaseDetector
        Fitted in place.
    X : DataFrame
        The training rows (features only; see :func:`training_rows`).
    total_epochs : int or None
        The step budget shown before the fit reports its own (epochs or stages).
    score_rows : DataFrame or None
        The table to score once the detector is fitted, usually the whole dataset including
        rows left out of training.
    score_roles : ColumnRoles or None
        Names the label and timestamp columns of ``score_rows``, if it has them.
    baselines : sequence of str
        Registry kinds to fit beside ``detector`` for the comparison (needs ``score_rows``).
    on_start : callable or None
        Called in the job's thread once ``detector.warm_up()`` has imported what fitting needs
        (the app uses it to tune the garbage collector; the library sets nothing process-wide).
    max_seconds : float or None
        Training stops itself (keeping the best model so far) after this many seconds.
    abandon_after : float or None
        The job stops itself when nobody has asked for its :meth:`progress` for this many seconds
        (a closed browser tab leaves no page polling it), queued or training, so that it does
        not keep a training slot others wait for.
    """

    def __init__(
        self,
        detector: BaseDetector,
        X: pd.DataFrame,
        *,
        total_epochs: int | None = None,
        score_rows: pd.DataFrame | None = None,
        score_roles: ColumnRoles | None = None,
        baselines: Sequence[str] = (),
        on_start: Callable[[], None] | None = None,
        max_seconds: float | None = None,
        abandon_after: float | None = None,
    ) -> None:
        self.detector = detector
        self._max_seconds = max_seconds
        self._abandon_after = abandon_after
        self._contact = time.monotonic()
        self._stop_reason: str | None = None
        self._X: pd.DataFrame | None = X
        self._score_rows = score_rows
        self._score_roles = score_roles or ColumnRoles()
        self._baseline_kinds = tuple(baselines)
        self._on_start = on_start
        #: The fitted detector's verdict on ``score_rows`` (None until scored, or if it failed).
        self.scored: ScoredTable | None = None
        #: Why scoring failed, if it did (the model itself is still usable).
        self.scoring_error: str | None = None
        #: The baselines fitted beside the detector and their verdicts (None until done).
        self.baselines: Baselines | None = None
        #: Why the comparison failed, if it did (the model and its results are still usable).
        self.comparison_error: str | None = None
        self._total_epochs = int(total_epochs or 0)
        self._unit = "epoch"
        self._stage = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._status: Status = "queued"
        self._loss: list[float] = []
        self._val_loss: list[float] = []
        self._epochs: list[int] = []
        self._n_steps = 0
        self._started: float | None = None
        self._ended: float | None = None
        self._error: str | None = None
        self._thread = threading.Thread(target=self._run, name="detector-training", daemon=True)

    # ----------------------------------------------------------------- control

    def start(self) -> TrainingJob:
        """Start the background thread (training begins once a slot is free); return ``self``."""
        # Enqueue before the thread starts, so that jobs queue in the order they were started
        # and progress() reports a place in line immediately.
        with _gate:
            _waiting.append(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end after the current epoch (or never start, if still queued)."""
        self._stop.set()
        with _gate:
            _gate.notify_all()

    def wait(self, timeout: float | None = None) -> TrainingProgress:
        """Block until the job has finished (or ``timeout`` seconds passed); return its progress."""
        self._finished.wait(timeout)
        return self.progress()

    # ----------------------------------------------------------------- reading

    @property
    def fitted(self) -> bool:
        """Whether ``detector`` holds a trained model (after "done" or a stop while running)."""
        return self._finished.is_set() and self._status in ("done", "stopped") and self._steps > 0

    def progress(self) -> TrainingProgress:
        """Return a snapshot of the job's state."""
        with _gate:
            position = _waiting.index(self) + 1 if self in _waiting else 0
        with self._lock:
            self._contact = time.monotonic()  # someone is watching: see abandon_after
            started, ended = self._started, self._ended
            elapsed = 0.0 if started is None else (ended or time.monotonic()) - started
            return TrainingProgress(
                status=self._status,
                epoch=(self._epochs[-1] if self._epochs else 0) if self._unit == "epoch" else self._n_steps,
                total_epochs=self._total_epochs,
                elapsed=elapsed,
                loss=tuple(self._loss),
                val_loss=tuple(self._val_loss),
                queue_position=position,
                error=self._error,
                stop_requested=self._stop.is_set(),
                unit=self._unit,
                stage=self._stage,
                epochs=tuple(self._epochs),
                stop_reason=self._stop_reason,
            )

    # ----------------------------------------------------------------- the thread

    def _run(self) -> None:
        try:
            if not self._acquire_slot():
                self._finish("stopped")
                return
            try:
                self._fit()
            finally:
                _release_slot()
        except Exception as exc:
            # The thread is the edge here: nobody else would see the exception, so it becomes
            # the job's error message (a DataError's message is written for the user as is).
            self._finish("failed", error=_failure(exc, "Training failed"))

    def _acquire_slot(self) -> bool:
        """Wait for our turn; return False if stopped while waiting."""
        global _running
        with _gate:
            while not self._stop.is_set() and not (_waiting[0] is self and _running < _max_running):
                _gate.wait(timeout=5.0)  # wakes now and then to notice an abandoned job
                self._check_limits()
            _waiting.remove(self)
            # The next job in line may now be at the head with a slot free.
            _gate.notify_all()
            if self._stop.is_set():
                return False
            _running += 1
            return True

    def _fit(self) -> None:
        with self._lock:
            self._status = "running"
            self._started = time.monotonic()
        self.detector.warm_up()  # off the UI thread: importing TensorFlow takes seconds
        if self._on_start is not None:
            self._on_start()
        X, self._X = self._X, None  # let the rows be freed once the model has them
        rows, self._score_rows = self._score_rows, None
        self._read_text(X, rows)
        side = self._start_baselines(X, rows)
        self.detector.fit(X, on_progress=self._on_progress)
        stopped = self._stop.is_set()
        self._score(rows)
        if side is not None:
            self._compare(side, rows, use=self.scored is not None and not stopped)
        self._finish("stopped" if stopped else "done")

    def _read_text(self, X: pd.DataFrame, rows: pd.DataFrame | None) -> None:
        """Embed the text columns first, saying so: the fit, the baselines and scoring then reuse them."""
        columns = getattr(self.detector, "columns", None)
        if not isinstance(columns, ColumnRoles) or not columns.text or not isinstance(X, pd.DataFrame):
            return
        from detector.text import embed_texts, text_values

        for frame in (X, rows):
            if frame is None:
                continue
            for name in columns.text:
                with self._lock:
                    self._stage = f"Reading text column '{name}' ({len(frame):,} rows) with the text model"
                embed_texts(text_values(frame[name])[0])
        with self._lock:
            self._stage = ""

    def _score(self, rows: pd.DataFrame | None) -> None:
        """Score ``rows`` with the fitted detector; a failure is kept, not raised."""
        if rows is None or not self._steps:
            return
        with self._lock:
            self._status = "scoring"
        roles = self._score_roles
        try:
            self.scored = score_table(self.detector, rows, label=roles.label, timestamp=roles.timestamp)
        except Exception as exc:
            # The model is fine; the Results page will try again and show the problem.
            self.scoring_error = _failure(exc, "Scoring after training failed")

    def _start_baselines(self, X: pd.DataFrame, rows: pd.DataFrame | None) -> _SideJob | None:
        """Fit the baselines and score ``rows`` with them in a thread beside the detector's fit.

        They need the detector's parameters, not its model. A small network's training leaves
        much of a second core idle (Keras steps one batch at a time), and the baselines are
        numpy code that releases the GIL in its heavy parts, so side by side they add little
        to the job's time; one after the other they added a quarter at 100,000 rows (see
        ``benchmarks/comparison.py``).
        """
        if rows is None or not self._baseline_kinds:
            return None
        from detector.baselines import fit_baseline_models

        detector, kinds = self.detector, self._baseline_kinds
        return _SideJob(lambda: fit_baseline_models(detector, X, rows, kinds, threads=1)).start()

    def _compare(self, side: _SideJob, rows: pd.DataFrame, *, use: bool) -> None:
        """Put the fitted detector beside the baselines; a failure is kept, not raised."""
        from detector.baselines import compare_with_baselines

        if not use:  # stopped, or nothing to compare with: the side thread ends on its own
            return
        assert self.scored is not None
        with self._lock:
            self._status = "comparing"
        try:
            fits = side.result()
            self.baselines = compare_with_baselines(
                self.detector, fits, rows, primary=self.scored, timestamp=self._score_roles.timestamp,
            )
        except Exception as exc:
            self.comparison_error = _failure(exc, "Fitting the baselines failed")

    @property
    def _steps(self) -> int:
        with self._lock:
            return self._n_steps

    def _check_limits(self) -> None:
        """Stop the job when it ran past ``max_seconds`` or nobody has polled it for ``abandon_after``."""
        now = time.monotonic()
        reason = None
        with self._lock:
            started, contact = self._started, self._contact
        limit = self._max_seconds
        if limit is not None and started is not None and now - started > limit:
            reason = f"it reached the time limit of {_minutes(limit)}; the best model so far is kept"
        elif self._abandon_after is not None and now - contact > self._abandon_after:
            reason = (
                f"no page had looked at it for {_minutes(self._abandon_after)} (the browser tab was "
                "probably closed), so it gave its training slot back"
            )
        if reason is not None and not self._stop.is_set():
            with self._lock:
                self._stop_reason = reason
            self._stop.set()

    def _on_progress(self, log: FitProgress) -> bool:
        self._check_limits()
        with self._lock:
            self._n_steps += 1
            self._unit, self._stage = log.unit, log.stage
            if log.loss is not None:
                self._loss.append(float(log.loss))
                self._epochs.append(int(log.step))
            if log.val_loss is not None:
                self._val_loss.append(float(log.val_loss))
            self._total_epochs = int(log.total) or self._total_epochs
        return self._stop.is_set()

    def _finish(self, status: Status, *, error: str | None = None) -> None:
        with self._lock:
            self._status = status
            self._error = error
            self._X = None
            self._score_rows = None
            if self._started is not None:
                self._ended = time.monotonic()
        self._finished.set()


class _SideJob:
    """A function run in a daemon thread; :meth:`result` waits for it, then returns or raises."""

    def __init__(self, function: Callable[[], Any]) -> None:
        self._function = function
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="detector-baselines", daemon=True)

    def start(self) -> _SideJob:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._value = self._function()
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    if minutes >= 1:
        return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


def _failure(exc: Exception, what: str) -> str:
    """The message a job keeps for ``exc``: a DataError's own words, else its type (and a log entry)."""
    if isinstance(exc, DataError):
        return str(exc)
    logger.exception(what)
    return f"{type(exc).__name__}: {exc}"


def _release_slot() -> None:
    global _running
    with _gate:
        _running -= 1
        _gate.notify_all()


# --------------------------------------------------------------------------- preparing the rows


def feature_roles(roles: ColumnRoles) -> ColumnRoles:
    """The roles a detector is given: features only, so the label can never reach training."""
    return ColumnRoles(numeric=roles.numeric, categorical=roles.categorical, text=roles.text)


#: Fewer rows than this cannot show a model what is usual (the app and the CLI refuse them; the
#: estimators themselves accept any 2 rows, as scikit-learn's checks expect).
MIN_TRAINING_ROWS = 10


#: The largest share of rows that can be held out: the model must still see most of the table.
MAX_HOLDOUT = 0.5


@dataclass(frozen=True)
class HoldOut:
    """Rows kept out of training, so that metrics on them are honest (not in-sample).

    ``share`` of the rows (0 = none) are held out: a random sample (seeded), or with
    ``in_time_order`` the last rows by the timestamp column (rows without a readable time count
    as earliest), as a model would meet them in use.
    """

    share: float = 0.0
    in_time_order: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.share, int | float) or not 0 <= self.share <= MAX_HOLDOUT:
            raise ValueError(f"the hold-out share must be between 0 and {MAX_HOLDOUT}, got {self.share!r}.")

    @property
    def active(self) -> bool:
        return self.share > 0

    def describe(self) -> str:
        """ "the last 20% of rows in time order" or "a random 20% of rows"."""
        if self.in_time_order:
            return f"the last {self.share:.0%} of rows in time order"
        return f"a random {self.share:.0%} of rows"

    def rows(self, frame: pd.DataFrame, timestamp: str | None = None) -> np.ndarray:
        """One bool per row of ``frame``: True for a held-out row."""
        n = len(frame)
        held = np.zeros(n, dtype=bool)
        count = round(self.share * n)
        if count == 0:
            return held
        if self.in_time_order:
            if timestamp is None:
                raise DataError(
                    "Holding out the last rows in time order needs a timestamp column. Choose one on "
                    "the Data page, or hold out a random share."
                )
            times = frame[timestamp]
            if not pd.api.types.is_datetime64_any_dtype(times):
                times = pd.to_datetime(times, errors="coerce", utc=True, format="mixed")
            # NaT first (as earliest), then by time; stable, so equal times keep file order.
            keys = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
            order = np.argsort(keys, kind="stable")
            held[order[n - count :]] = True
        else:
            held[np.random.default_rng(self.seed).choice(n, size=count, replace=False)] = True
        return held


def training_rows(
    frame: pd.DataFrame,
    roles: ColumnRoles,
    *,
    normal_only: bool = False,
    held_out: np.ndarray | None = None,
) -> pd.DataFrame:
    """Return the rows and feature columns a detector learns from.

    With ``normal_only`` only rows whose label marks them normal (0) are kept; rows marked in
    ``held_out`` (one bool per row) are left out. The label itself is never among the returned
    columns.
    """
    roles.check(frame)
    rows = frame
    if held_out is not None and held_out.any():
        rows = frame.loc[~held_out]
    if normal_only:
        if roles.label is None:
            raise DataError(
                "Training on normal rows only needs a label column. Choose one on the Data page, "
                "or train on all rows."
            )
        normal = label_vector(rows[roles.label]) == 0
        if not normal.any():
            raise DataError(
                f"No row of label column '{roles.label}' marks a normal row, so there is nothing "
                "to train on. Train on all rows instead."
            )
        rows = rows.loc[normal]
    if len(rows) < MIN_TRAINING_ROWS:
        which = ("normal row" if normal_only else "row") + ("" if len(rows) == 1 else "s")
        held = " once the held-out rows are set aside" if held_out is not None and held_out.any() else ""
        raise DataError(
            f"There {'is' if len(rows) == 1 else 'are'} only {len(rows)} {which} to train on{held}; a "
            f"model needs at least {MIN_TRAINING_ROWS} to learn what is usual. "
            "Upload more rows" + (", or hold out fewer." if held else ".")
        )
    return rows.loc[:, list(roles.features)]


#: Memory a training takes per encoded cell (training rows x network inputs), measured on wide
#: one-hot tables: 33 to 43 bytes (the encodings, the network's copies, errors and scores).
TRAINING_BYTES_PER_CELL = 40


def training_memory(n_rows: int, n_inputs: int) -> int:
    """Bytes a training of ``n_rows`` rows and ``n_inputs`` encoded inputs is expected to take."""
    return int(n_rows) * int(n_inputs) * TRAINING_BYTES_PER_CELL


def memory_budget() -> int:
    """Bytes one training may take: DETECTOR_MEMORY_BUDGET_GB, else half the machine's memory."""
    value = os.environ.get("DETECTOR_MEMORY_BUDGET_GB")
    if value:
        try:
            return int(float(value) * 2**30)
        except ValueError:
            pass
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return total // 2


def check_training_memory(n_rows: int, n_inputs: int) -> None:
    """Refuse, before anything is built, a training that would take more than :func:`memory_budget`."""
    need, budget = training_memory(n_rows, n_inputs), memory_budget()
    if need > budget:
        raise DataError(
            f"Training on {n_rows:,} rows encoded into {n_inputs:,} inputs would take about "
            f"{need / 2**30:,.1f} GB of memory, more than the {budget / 2**30:,.1f} GB allowed. "
            "Lower 'Most categories per categorical column' (each category is an input), leave wide "
            "categorical columns out, or train on a sample of the rows."
        )


def network_inputs(frame: pd.DataFrame, roles: ColumnRoles, preprocess: PreprocessConfig) -> int:
    """How many inputs the network will have once ``frame``'s features are encoded.

    One-hot encoding and missing-value indicators add columns, so this fits the preprocessing
    of the number and category columns (cheap, no TensorFlow) to count them; a text column adds
    :data:`detector.text.ENCODED_WIDTH` columns, counted without reading its texts.
    """
    text_width = ENCODED_WIDTH * len(roles.text)
    if not roles.numeric and not roles.categorical:
        return text_width
    preprocessor = Preprocessor(
        numeric=roles.numeric,
        categorical=roles.categorical,
        config=preprocess,
    )
    return len(preprocessor.fit(frame).feature_names_out_) + text_width


__all__ = [
    "MAX_HOLDOUT",
    "PRESETS",
    "PRESET_DESCRIPTIONS",
    "HoldOut",
    "TrainingJob",
    "TrainingProgress",
    "check_training_memory",
    "feature_roles",
    "max_concurrent_trainings",
    "memory_budget",
    "network_inputs",
    "set_max_concurrent_trainings",
    "training_memory",
    "training_rows",
]
