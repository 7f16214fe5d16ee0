"""Command line: ``python -m detector train`` fits and saves a model, ``score`` applies one to a file."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from detector.autoencoder_config import AutoencoderConfig
from detector.base import FitProgress
from detector.columns import ColumnRoles, infer_roles, label_vector, profile_columns
from detector.drift import DriftReport, check_drift
from detector.errors import DataError, counted
from detector.registry import DEFAULT_KIND, FAMILIES, detector_class, listed_kinds
from detector.stream import STREAM_ABOVE_BYTES
from detector.table import CHUNK_BYTES

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2

# What TensorFlow's native code prints on start-up on a machine without a GPU, through absl
# before TF_CPP_MIN_LOG_LEVEL takes effect: held back so that the CLI's own lines stay readable.
_START_UP_NOISE = re.compile(
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
    r"|^[IE]\d{4} [\d:.]+\s+\d+ (port|cudart_stub|cpu_feature_guard|cuda_platform)\.cc:\d+\] "
    r"|^To enable the following instructions: .* in other operations, rebuild TensorFlow"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DataError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, ValueError) as exc:
        # Unwritable output paths, invalid settings: the user's to fix, so no traceback either.
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Not the user's fault: say so in one line rather than a traceback (unless asked for).
        if os.environ.get("DETECTOR_TRACEBACK"):
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {_one_line(str(exc))}. This is a bug; "
            "please report it with the command you ran (set DETECTOR_TRACEBACK=1 to see where "
            "it happened).",
            file=sys.stderr,
        )
        return EXIT_BUG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m detector",
        description="Find anomalous rows in a table with an autoencoder (or a baseline detector).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="fit a detector on a CSV/TSV/Parquet file and save a model bundle",
        description="Fit a detector (by default the autoencoder) on INPUT and save a model bundle to "
        "--model-out.",
    )
    train.add_argument("input", metavar="INPUT", help="CSV, TSV or Parquet file")
    train.add_argument(
        "--model-out",
        required=True,
        metavar="PATH",
        help="where to save the bundle: a directory, or a file ending in .zip",
    )
    train.add_argument(
        "--columns",
        nargs="+",
        metavar="COLUMN",
        help="feature columns to use (default: inferred numeric and categorical columns)",
    )
    train.add_argument(
        "--label-column",
        metavar="COLUMN",
        help="0/1 or two-valued column marking known anomalies; used only to report metrics",
    )
    train.add_argument(
        "--detector",
        choices=listed_kinds(),
        default=DEFAULT_KIND,
        help="the method: "
        + "; ".join(f"{kind} = {FAMILIES[kind].title}" for kind in listed_kinds())
        + f" (default: {DEFAULT_KIND})",
    )
    train.add_argument("--epochs", type=int, metavar="N", help="maximum training epochs (autoencoder)")
    train.add_argument(
        "--max-steps",
        type=int,
        metavar="N",
        help=f"most batch steps (autoencoder); on a large file this lowers the epochs, and the run says "
        f"so (default: {AutoencoderConfig().max_steps}; 0 = no limit)",
    )
    train.add_argument(
        "--contamination",
        type=float,
        default=0.05,
        metavar="F",
        help="expected share of anomalies; sets the saved threshold (default: 0.05)",
    )
    train.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    train.add_argument(
        "--no-failure-wording",
        action="store_true",
        help="score text columns by rarity only, without the part for wording that reads like a failure "
        "(autoencoder; by default a text's similarity to 'error fatal critical failure exception' counts)",
    )
    train.add_argument(
        "--window",
        metavar="N|auto",
        help="time series: train the autoencoder on windows of N consecutive rows (in timestamp order), "
        "or 'auto' to take the series' dominant period; each row scores as its worst window",
    )
    train.add_argument(
        "--series-column",
        metavar="COLUMN",
        help="with --window: the column naming each series (machine, sensor); windows never cross series",
    )
    train.add_argument(
        "--holdout",
        type=float,
        metavar="F",
        help="hold out this share of rows (at most 0.5) from training and report the label's metrics on "
        "them, never seen by the model (needs --label-column or an inferred label)",
    )
    train.add_argument(
        "--holdout-last",
        action="store_true",
        help="hold out the last rows in time order (by the timestamp column) instead of a random share",
    )
    train.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="train on a uniform random sample of N rows, drawn in one pass over the file in memory for "
        "N rows (for files larger than memory; the seed is --seed). The bundle records the sample",
    )
    train.set_defaults(run=_train)

    score = commands.add_parser(
        "score",
        help="score every row of a file with a saved model",
        description="Score every row of INPUT with a saved model and write them to --output.",
    )
    score.add_argument("input", metavar="INPUT", help="CSV, TSV or Parquet file")
    score.add_argument("--model", required=True, metavar="PATH", help="model bundle (directory or .zip)")
    score.add_argument(
        "--output",
        required=True,
        metavar="OUT",
        help="where to write the scored rows: CSV, or Parquet when it ends in .parquet (with --engine "
        "dask, a folder of Parquet parts)",
    )
    score.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="flag rows scoring above T (default: the threshold saved with the model)",
    )
    score.add_argument(
        "--only-flagged",
        action="store_true",
        help="write only the rows flagged as anomalies (in file order; the row column gives their place)",
    )
    score.add_argument(
        "--report",
        action="store_true",
        help="also write OUT.drift.json: how the file's columns compare with the training data (share "
        "outside the training range, median shifts, unseen categories, missing shares) and the share "
        "of rows flagged against the share expected",
    )
    score.add_argument(
        "--engine",
        choices=("auto", "memory", "local", "dask"),
        default="auto",
        help="memory: read the whole file, then score it; local: read, score and write a chunk at a "
        "time, in memory bounded by the chunk size; dask: score partitions on a Dask cluster (needs "
        f'pip install ".[dask]"). auto (the default) streams files of {STREAM_ABOVE_BYTES >> 20} MB '
        "and more, and reads smaller ones whole",
    )
    score.add_argument(
        "--chunk-mb",
        type=float,
        default=CHUNK_BYTES >> 20,
        metavar="MB",
        help=f"text read per chunk or partition with --engine local or dask (default: {CHUNK_BYTES >> 20})",
    )
    score.add_argument(
        "--on-bad-rows",
        choices=("error", "skip"),
        default="error",
        help="a row with more or fewer fields than the header: stop with an error naming it (default), "
        "or leave it out and list it (--engine local and dask)",
    )
    score.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the scheduler to use, e.g. tcp://host:8786 (default: start a local "
        "cluster of worker processes)",
    )
    score.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="with --engine dask and no --scheduler: worker processes to start (default: one per core)",
    )
    score.set_defaults(run=_score)
    return parser


def _train(args: argparse.Namespace) -> int:
    from detector.preprocessing import PreprocessConfig
    from detector.results import unscored_note
    from detector.table import read_table
    from detector.training import HoldOut, check_training_memory, network_inputs, training_rows

    metadata: dict[str, object] = {"source": Path(args.input).name}
    if args.sample is not None:
        from detector.stream import sample_table

        sample = sample_table(args.input, args.sample, seed=args.seed)
        frame, notes = sample.frame, sample.notes
        metadata["sample"] = sample.metadata()
        _say(f"read {args.input}: {sample.describe} x {frame.shape[1]} columns")
    else:
        table = read_table(args.input)
        frame, notes = table.frame, list(table.report.notes)
        _say(f"read {args.input}: {table.report.n_rows:,} rows x {table.report.n_columns} columns")
    for note in notes:
        _say(f"  note: {note}")
    roles = _roles(frame, args.columns, args.label_column)
    held_out = _held_out(args, frame, roles)
    rows = training_rows(frame, roles, held_out=held_out)  # refuses a table too small to learn from
    if args.window is None:
        check_training_memory(len(rows), network_inputs(rows, roles, PreprocessConfig()))
    elif args.series_column is not None and args.series_column not in frame.columns:
        raise DataError(f"--series-column {args.series_column!r} is not a column of the file.")
    how = HoldOut(args.holdout, args.holdout_last).describe() if held_out is not None else ""
    if held_out is not None:
        _say(f"holding out {int(held_out.sum()):,} rows ({how})")
    _say(
        f"features ({len(roles.features)}): {', '.join(roles.features)}"
        + (f"; label: {roles.label}" if roles.label else "")
    )
    if args.window is None and roles.timestamp is not None and roles.numeric and not roles.text:
        _say(
            f"  note: column {roles.timestamp} holds times; each row is scored alone. Add --window auto "
            "to read the rows as a time series (windows of consecutive rows, as the dashboard does)."
        )
    if roles.text:
        from detector.text import column_notes

        for name in roles.text:
            for note in column_notes(frame[name], name):
                _say(f"  note: {note}")
    # Check the label before training, so a bad label does not cost a whole training run.
    labels = label_vector(frame[roles.label]) if roles.label is not None else None
    detector = _detector(args, roles)
    family = FAMILIES[args.detector]

    def progress(log: FitProgress) -> None:
        if log.unit == "stage":
            _say(f"{family.title}: {log.stage} ({log.elapsed:.1f}s)")
            return
        val = f", val_loss {log.val_loss:.4f}" if log.val_loss is not None else ""
        _say(f"epoch {log.step}/{log.total}: loss {log.loss:.4f}{val} ({log.elapsed:.1f}s)")

    with _native_stderr_filtered(_START_UP_NOISE):
        detector.warm_up()
    detector.fit(frame if held_out is None else frame.loc[~held_out], on_progress=progress)
    if getattr(detector, "window_reason_", None):
        from detector.windowed import short_series_notes, time_order_notes

        _say(f"window: {detector.window_reason_}")
        notes = time_order_notes(frame, detector.order_column_, detector.series_column)
        notes += short_series_notes(frame, detector.window_, detector.series_column)
        for note in notes:
            _say(f"  note: {note}")
    scores = detector.decision_scores_ if held_out is None else detector.decision_function(frame)
    if held_out is not None:
        metadata["held_out"] = {"rows": int(held_out.sum()), "how": how}
    path = detector.save(args.model_out, metadata=metadata)
    plan = getattr(detector, "training_plan_", None)
    if plan is not None:
        hint = "; raise --max-steps to train longer" if plan.limited_by_max_steps else ""
        _say(f"training plan: {plan.describe()}{hint}")
    epochs = getattr(detector, "epochs_run_", None)
    what = f"trained {epochs} epochs" if epochs else f"fitted {family.title}"
    flagged = int(np.nansum(detector.predict(frame) if held_out is not None else detector.labels_))
    _say(
        f"{what} in {detector.fit_seconds_:.1f}s; "
        f"threshold {detector.threshold_:.6g} flags {flagged:,} of {len(frame):,} rows"
    )
    unscored = unscored_note(scores)
    if unscored:
        _say(f"{unscored}; they were left out of training")
    if labels is not None:
        from detector.evaluation import evaluate

        parts = [("", np.ones(len(frame), dtype=bool))]
        if held_out is not None:
            parts = [(" (held-out rows, never trained on)", held_out), (" (the rest, in-sample)", ~held_out)]
        if held_out is not None:
            drift = check_drift(
                detector, frame.loc[held_out], scores=scores[held_out], threshold=detector.threshold_
            )
            _say_drift(drift, " (the held-out rows)")
        for which, rows_in in parts:
            result = evaluate(labels[rows_in], scores[rows_in], detector.threshold_)
            _say(
                f"against '{roles.label}'{which}: ROC-AUC {result.roc_auc:.3f}, average precision "
                f"{result.average_precision:.3f}, precision {result.precision:.3f}, "
                f"recall {result.recall:.3f}, F1 {result.f1:.3f}"
            )
    _say(f"saved model bundle to {path}")
    return EXIT_OK


def _detector(args: argparse.Namespace, roles: ColumnRoles):
    """The detector the command line asks for; autoencoder-only options are refused for the others."""
    common = {"contamination": args.contamination, "columns": roles}
    if args.series_column is not None and args.window is None:
        raise DataError("--series-column applies only with --window (a time-series model).")
    if args.window is not None:
        if args.detector != "autoencoder":
            raise DataError(f"--window applies only to --detector autoencoder, not {args.detector}.")
        window: int | str = args.window
        if window != "auto":
            try:
                window = int(window)
            except ValueError:
                raise DataError(f"--window {args.window!r} must be a number of rows or 'auto'.") from None
            if window < 2:
                raise DataError(f"--window {window} must be at least 2 rows.")
        sensors = tuple(c for c in roles.numeric if c != args.series_column)
        return detector_class("windowed_autoencoder")(
            window=window, config=_autoencoder_config(args), contamination=args.contamination,
            columns=ColumnRoles(numeric=sensors, timestamp=roles.timestamp), series_column=args.series_column,
        )
    if args.detector == "autoencoder":
        return detector_class("autoencoder")(config=_autoencoder_config(args), **common)
    options = (
        ("--epochs", args.epochs), ("--max-steps", args.max_steps),
        ("--no-failure-wording", args.no_failure_wording or None),
    )
    given = [option for option, value in options if value is not None]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise DataError(f"{', '.join(given)} {verb} only to --detector autoencoder, not {args.detector}.")
    cls = detector_class(args.detector)
    if "seed" in cls._get_param_names():
        common["seed"] = args.seed
    return cls(**common)


def _autoencoder_config(args: argparse.Namespace) -> AutoencoderConfig:
    """The network settings of --seed, --epochs, --max-steps and --no-failure-wording."""
    config = AutoencoderConfig(seed=args.seed, failure_wording=not args.no_failure_wording)
    if args.epochs is not None:
        config = replace(config, epochs=args.epochs)
    if args.max_steps is not None:
        config = replace(config, max_steps=args.max_steps or None)
    return config


@contextlib.contextmanager
def _native_stderr_filtered(noise: re.Pattern[str]):
    """Catch what is written to file descriptor 2 (native code included) and pass on, once the
    block is done, every line that ``noise`` does not match."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode(errors="replace").splitlines():
                if not noise.search(line):
                    print(line, file=sys.stderr)


def _score(args: argparse.Namespace) -> int:
    from detector.bundle import load_bundle

    engine = _engine(args)
    if not args.chunk_mb >= 0.01:
        raise DataError("--chunk-mb must be at least 0.01.")
    chunk_bytes = int(args.chunk_mb * 2**20)
    if engine != "dask" and (args.scheduler or args.workers):
        raise DataError("--scheduler and --workers apply only to --engine dask.")
    if engine == "memory" and args.on_bad_rows != "error":
        raise DataError("--on-bad-rows skip needs --engine local or dask (the whole-file read stops at "
                        "a malformed row).")
    if engine == "dask":
        from detector.distributed import score_file_on_dask

        summary = score_file_on_dask(
            args.model, args.input, args.output, threshold=args.threshold, only_flagged=args.only_flagged,
            chunk_bytes=chunk_bytes, on_bad_rows=args.on_bad_rows, scheduler=args.scheduler,
            workers=args.workers, on_progress=_progress_printer(), on_start=_say,
        )
        _report_scoring(args, summary, engine)
        return EXIT_OK
    with _native_stderr_filtered(_START_UP_NOISE):
        detector = load_bundle(args.model).detector
    if engine == "local":
        from detector.stream import score_file

        _say(f"scoring {args.input} a chunk of about {args.chunk_mb:g} MB at a time")
        summary = score_file(
            detector, args.input, args.output, threshold=args.threshold, only_flagged=args.only_flagged,
            chunk_bytes=chunk_bytes, on_bad_rows=args.on_bad_rows, on_progress=_progress_printer(),
        )
    else:
        summary = _score_in_memory(args, detector)
    _report_scoring(args, summary, engine)
    return EXIT_OK


def _engine(args: argparse.Namespace) -> str:
    from detector.stream import STREAM_ABOVE_BYTES

    if args.engine != "auto":
        return args.engine
    try:
        size = os.stat(args.input).st_size
    except OSError:
        return "memory"  # the reader says what is wrong with the path
    return "local" if size >= STREAM_ABOVE_BYTES else "memory"


def _score_in_memory(args: argparse.Namespace, detector):
    """Read the whole file, score it, write it: the chunked path's steps on one chunk."""
    import time

    from detector.results import match_columns
    from detector.stream import OutputFile, ScoreSummary, output_format, score_chunk
    from detector.table import TableChunk, read_table, read_table_text

    started = time.perf_counter()
    table = read_table(args.input)
    _say(f"read {args.input}: {table.report.n_rows:,} rows x {table.report.n_columns} columns")
    match_columns(table.frame.columns, detector.feature_columns).check()
    threshold = detector.threshold_ if args.threshold is None else args.threshold
    fmt = output_format(args.output)
    arrow = None
    if fmt == "parquet" and table.report.dialect.format == "parquet":
        import pyarrow as pa

        arrow = pa.Table.from_pandas(table.frame, preserve_index=False)
    text = read_table_text(args.input, table.report.dialect)
    chunk = TableChunk(first_row=0, frame=table.frame, text=text, arrow=arrow)
    summary = ScoreSummary(output=Path(args.output), threshold=threshold)
    with OutputFile(args.output, fmt) as out:
        part = score_chunk(
            detector, chunk, threshold, fmt=fmt, only_flagged=args.only_flagged, header=True,
        )
        out.write(part.data)
        summary.add(part)
        out.commit()
    summary.seconds = time.perf_counter() - started
    return summary


def _report_scoring(args: argparse.Namespace, summary, engine: str) -> None:
    drift = summary.drift_report()
    if drift is not None:
        # Before the count of flags: the count means little when the file is out of depth.
        _say_drift(drift)
    if args.report and drift is not None:
        import json

        path = Path(f"{args.output}.drift.json")
        path.write_text(json.dumps(
            {"input": str(args.input), "output": str(args.output), "threshold": summary.threshold,
             **drift.to_dict()}, indent=2, allow_nan=False,
        ) + "\n")
        _say(f"wrote the drift report to {path}")
    if engine != "memory":
        for note in summary.notes:
            _say(f"  note: {note}")
    for bad in summary.skipped[:5]:
        where = f"row {bad.row:,}" if bad.row is not None else "a row"
        _say(f"  skipped {where}: {bad.fields} fields, the header has {bad.expected}")
    if summary.skipped:
        more = " (the first 5 are listed above)" if len(summary.skipped) > 5 else ""
        _say(f"skipped {counted(len(summary.skipped), 'malformed row')}{more}")
    speed = ""
    if engine != "memory" and summary.seconds:
        speed = f" ({summary.rows / summary.seconds:,.0f} rows/s)"
    _say(
        f"flagged {summary.flagged:,} of {summary.rows:,} rows above threshold "
        f"{summary.threshold:.6g}{speed}"
    )
    unscored = summary.unscored_note()
    if unscored:
        where = "are not in the output" if args.only_flagged else "have an empty score in the output"
        _say(f"{unscored}; they {where}")
    _say(f"wrote {summary.output}")


def _progress_printer(every: float = 5.0):
    """A progress callback printing a line to stderr at most every ``every`` seconds."""
    import time

    last = [time.monotonic()]

    def show(progress) -> None:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            _say(f"  scored {progress.describe()}")

    return show


def _roles(frame, columns: Sequence[str] | None, label: str | None) -> ColumnRoles:
    """Inferred roles, overridden by the user's --columns and --label-column.

    Free-text columns are features when the text model is installed; otherwise a note names them
    and says how to install it (and naming one in --columns is an error).
    """
    from detector import text as text_model

    inferred = infer_roles(frame, text=True)
    if label is not None and label not in frame.columns:
        raise DataError(f"--label-column {label!r} is not a column of the file.")
    has_model = text_model.available()
    if columns is None:
        numeric = tuple(c for c in inferred.numeric if c != label)
        categorical = tuple(c for c in inferred.categorical if c != label)
        text = tuple(c for c in inferred.text if c != label)
        if text and not has_model:
            which = "column" if len(text) == 1 else "columns"
            _say(f"  note: free-text {which} {', '.join(text)} left out. {text_model.INSTALL_HINT}")
            text = ()
    else:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise DataError(
                f"--columns names columns the file does not have: {', '.join(unknown)}. "
                f"It has: {', '.join(map(str, frame.columns[:20]))}."
            )
        profiles = {p.name: p for p in profile_columns(frame[list(columns)])}
        numeric = tuple(c for c in columns if profiles[c].role.value == "numeric")
        text = tuple(c for c in columns if profiles[c].role.value == "text")
        if text and not has_model:
            names = ", ".join(text)
            which = "column" if len(text) == 1 else "columns"
            raise DataError(f"--columns names free-text {which} {names}. {text_model.INSTALL_HINT}")
        categorical = tuple(c for c in columns if c not in numeric and c not in text)
    roles = ColumnRoles(
        numeric=numeric,
        categorical=categorical,
        text=text,
        label=label if label is not None else (inferred.label if columns is None else None),
        timestamp=inferred.timestamp,
    )
    roles.check(frame)
    return roles


def _held_out(args: argparse.Namespace, frame, roles: ColumnRoles) -> np.ndarray | None:
    """The rows --holdout keeps out of training, or None; DataError for settings that cannot work."""
    from detector.training import HoldOut

    if args.holdout is None:
        if args.holdout_last:
            raise DataError("--holdout-last needs --holdout F, the share of rows to hold out.")
        return None
    try:
        holdout = HoldOut(args.holdout, args.holdout_last)
    except ValueError as error:
        raise DataError(f"--holdout: {error}") from None
    if roles.label is None:
        raise DataError(
            "--holdout needs a label column (--label-column): held-out rows are there to be evaluated."
        )
    held = holdout.rows(frame, roles.timestamp)
    return held if held.any() else None


def _say_drift(drift: DriftReport, which: str = "") -> None:
    """Warn on stderr when new rows (``which``, e.g. " (the held-out rows)") lie outside what the
    model was trained on."""
    if not drift.worth_saying:
        return
    _say(f"warning{which}: {drift.headline()}")
    if drift.out_of_depth:
        _say(f"  next: {drift.advice()}")
    for column in drift.drifted[:8]:
        _say(f"  drift: {column.describe()}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(message: str) -> str:
    return " ".join(message.split())
