"""Default fits on small tables against a bare, single-call compiled Keras fit of the same steps.

For each size the scale benchmark's table (32 sensors, 2 categories) is cut to that many rows.
Ours is ``AutoencoderDetector().fit(frame)`` at its defaults: preprocessing, training with
validation, early stopping and progress, and scoring the training rows. The bare fit builds
the same network and runs ``model.fit`` once, one epoch of all the gradient steps ours took,
on a shuffled, repeated ``tf.data`` stream (``steps_per_execution=64``), and nothing else.
The target is a ratio of at most
1.5 up to 10,000 rows. The two are timed in turns (ours, then bare with the steps ours took),
each side's median reported.

Run from the repository root::

    nice -n 10 .venv/bin/python benchmarks/small_tables.py [--rows 100 1000 10000] [--rounds 3]

It prints a table and writes ``benchmarks/results/small_tables.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.results_file import short_machine, write_results  # noqa: E402
from benchmarks.scale import make_table  # noqa: E402 (after the path set-up)

TARGET = 1.5


def ours(frame, seed: int) -> tuple[float, int, object]:
    """Our default fit; its wall time, the gradient steps it took, and the detector."""
    from detector.autoencoder import AutoencoderDetector
    from detector.autoencoder_config import AutoencoderConfig
    from detector.network import training_rounds

    detector = AutoencoderDetector(config=AutoencoderConfig(seed=seed))
    started = time.perf_counter()
    detector.fit(frame)
    seconds = time.perf_counter() - started
    n_train = detector.n_train_rows_ - round(detector.n_train_rows_ * detector.config_.validation_fraction)
    _, round_steps, _ = training_rounds(n_train, detector.config_)
    return seconds, len(detector.history_["loss"]) * round_steps, detector


def bare(detector, frame, steps: int, seed: int) -> float:
    """The same network fitted by one plain Keras call for ``steps`` gradient steps."""
    import keras
    import tensorflow as tf

    from detector.network import build_autoencoder

    matrix = detector.preprocessor_.transform(frame)
    config = detector.config_
    batch = min(config.batch_size, len(matrix))
    started = time.perf_counter()
    model = build_autoencoder(config, matrix.shape[1])
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse", steps_per_execution=64)
    # All the steps in one epoch of one call: no per-epoch cost at all, the fastest plain fit.
    data = tf.data.Dataset.from_tensor_slices((matrix, matrix)).shuffle(len(matrix), seed=seed)
    model.fit(data.batch(batch).repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100, 1_000, 10_000])
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of each side per size")
    args = parser.parse_args(argv)
    from detector.network import import_keras

    import_keras()
    rows_out = []
    for n_rows in args.rows:
        frame = make_table(n_rows).drop(columns=["is_anomaly"])
        ours(frame.head(50), 0)  # warm TensorFlow's graph caches once per size
        ours_times, bare_times, steps = [], [], 0
        for turn in range(args.rounds):
            seconds, steps, detector = ours(frame, seed=turn)
            ours_times.append(seconds)
            bare_times.append(bare(detector, frame, steps, turn))
        mine, theirs = statistics.median(ours_times), statistics.median(bare_times)
        rows_out.append((n_rows, steps, mine, theirs, mine / theirs))
        print(f"{n_rows:>7,} rows: ours {mine:6.2f} s, bare {theirs:6.2f} s, {steps:,} steps, "
              f"ratio {mine / theirs:.2f}", flush=True)
    lines = ["| rows | gradient steps | ours (s) | bare Keras (s) | ratio |", "|---|---|---|---|---|"]
    lines += [f"| {r:,} | {s:,} | {a:.2f} | {b:.2f} | {q:.2f} |" for r, s, a, b, q in rows_out]
    verdict = "meets" if all(q <= TARGET for *_, q in rows_out) else "misses"
    lines += ["", f"Target: ratio ≤ {TARGET} at every size: {verdict}."]
    report = "\n".join(lines)
    print(report)
    write_results(
        "small_tables", f"Default fits on small tables ({short_machine()}, median of {args.rounds})", report,
        ["rows", "steps", "ours_s", "bare_s", "ratio"], rows_out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
