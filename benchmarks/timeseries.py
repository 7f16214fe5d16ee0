"""Time series: the windowed autoencoder against a row-wise one and Isolation Forest on lags (NAB).

On the 30 NAB series with labelled anomaly windows (``../shared/benchmarks/nab/``), each method is
fitted on the whole series (unsupervised, contamination 0.05, its default threshold) with one rule
for every series, never tuned per series:

- **row-wise autoencoder** on the raw value (each row alone);
- **Isolation Forest on lags**: each row as the window of the last ``w`` values ending at it, ``w``
  from the same automatic rule as the windowed model;
- **windowed autoencoder** (``WindowedAutoencoderDetector``, ``window="auto"``).

Per series: ROC-AUC and average precision of the scores against "inside a labelled window", and
"windows found": labelled windows with at least one flag inside at the default threshold. Then the
Keras example's pair: trained on ``art_daily_small_noise``, tested on ``art_daily_jumpsup``.

Run from the repository root::

    nice -n 10 .venv/bin/python benchmarks/timeseries.py [--seed 0] [--limit N]

It prints a table and writes ``benchmarks/results/timeseries.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.results_file import short_machine, write_results  # noqa: E402

NAB = REPO_ROOT.parent / "shared" / "benchmarks" / "nab"
METHODS = ("row-wise autoencoder", "Isolation Forest on lags", "windowed autoencoder")


def labelled(frame: pd.DataFrame, windows: list[list[str]]) -> tuple[np.ndarray, list[np.ndarray]]:
    """1 for rows inside a labelled window, and each window's rows."""
    times = pd.to_datetime(frame["timestamp"])
    y = np.zeros(len(frame), dtype=int)
    spans = []
    for start, end in windows:
        inside = ((times >= pd.Timestamp(start)) & (times <= pd.Timestamp(end))).to_numpy()
        y[inside] = 1
        spans.append(inside)
    return y, spans


def methods(frame: pd.DataFrame, seed: int) -> tuple[dict[str, tuple[np.ndarray, float]], int]:
    """Each method's row scores and threshold on one series (fitted on it)."""
    from detector import (
        AutoencoderConfig,
        AutoencoderDetector,
        ColumnRoles,
        IsolationForestDetector,
        WindowedAutoencoderDetector,
    )

    config = AutoencoderConfig(seed=seed)
    out = {}
    row = AutoencoderDetector(config=config, columns=ColumnRoles(numeric=("value",))).fit(frame)
    out[METHODS[0]] = (row.decision_scores_, row.threshold_)
    windowed = WindowedAutoencoderDetector(config=config).fit(frame)
    w = windowed.window_
    values = frame["value"].to_numpy(dtype=float)
    lags = np.lib.stride_tricks.sliding_window_view(values, w)
    forest = IsolationForestDetector(seed=seed).fit(pd.DataFrame(lags, columns=[f"lag{k}" for k in range(w)]))
    scores = np.r_[np.full(w - 1, forest.decision_scores_[0]), forest.decision_scores_]
    out[METHODS[1]] = (scores, forest.threshold_)
    out[METHODS[2]] = (windowed.decision_scores_, windowed.threshold_)
    return out, w


def evaluate(y: np.ndarray, spans: list[np.ndarray], scores: np.ndarray, threshold: float) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    s = np.where(np.isfinite(scores), scores, np.nanmin(scores))
    flags = s > threshold
    return {
        "roc_auc": roc_auc_score(y, s),
        "ap": average_precision_score(y, s),
        "found": sum(bool(flags[span].any()) for span in spans),
        "windows": len(spans),
        "flagged": int(flags.sum()),
    }


def keras_pair(seed: int) -> dict:
    """The Keras example: train on the series without anomaly, score the one with a jump."""
    from detector import AutoencoderConfig, WindowedAutoencoderDetector

    train = pd.read_csv(NAB / "artificialNoAnomaly" / "art_daily_small_noise.csv")
    test = pd.read_csv(NAB / "artificialWithAnomaly" / "art_daily_jumpsup.csv")
    windows = json.loads((NAB / "windows.json").read_text())["artificialWithAnomaly/art_daily_jumpsup.csv"]
    detector = WindowedAutoencoderDetector(config=AutoencoderConfig(seed=seed)).fit(train)
    y, spans = labelled(test, windows)
    result = evaluate(y, spans, detector.decision_function(test), detector.threshold_)
    result["window"] = detector.window_reason_
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N series (a quick look)")
    args = parser.parse_args()
    windows = json.loads((NAB / "windows.json").read_text())
    keys = [key for key in sorted(windows) if windows[key]][: args.limit]
    rows = []
    started = time.perf_counter()
    for key in keys:
        frame = pd.read_csv(NAB / key)
        y, spans = labelled(frame, windows[key])
        scored, w = methods(frame, args.seed)
        for name, (scores, threshold) in scored.items():
            result = evaluate(y, spans, scores, threshold)
            rows.append((key, len(frame), w, name, result["roc_auc"], result["ap"], result["found"],
                         result["windows"], result["flagged"]))
        print(key, w, " ".join(f"{r[3]}: {r[4]:.3f}/{r[5]:.3f}" for r in rows[-3:]), flush=True)
    table = pd.DataFrame(rows, columns=["series", "rows", "window", "method", "roc_auc", "ap", "found",
                                        "windows", "flagged"])
    summary = ["| method | mean ROC-AUC | mean AP | windows found | series where it is best (AP) |",
               "|---|---|---|---|---|"]
    best = table.loc[table.groupby("series")["ap"].idxmax(), "method"].value_counts()
    for name in METHODS:
        mine = table[table["method"] == name]
        summary.append(
            f"| {name} | {mine['roc_auc'].mean():.3f} | {mine['ap'].mean():.3f} | "
            f"{int(mine['found'].sum())} of {int(mine['windows'].sum())} | {int(best.get(name, 0))} |"
        )
    pair = keras_pair(args.seed)
    report = "\n".join([
        f"{len(keys)} NAB series with labelled windows ({table['rows'].sum() // 3:,} rows), "
        f"seed {args.seed}, "
        f"{time.perf_counter() - started:,.0f} s on {short_machine()}. Scores against 'inside a labelled "
        "window'; windows found at each method's default threshold (contamination 0.05).",
        "",
        *summary,
        "",
        f"The Keras example's pair (train art_daily_small_noise, test art_daily_jumpsup; window "
        f"{pair['window']}): ROC-AUC {pair['roc_auc']:.3f}, AP {pair['ap']:.3f}, labelled window "
        f"{'found' if pair['found'] else 'NOT found'} ({pair['flagged']} rows flagged).",
    ])
    print()
    print(report)
    write_results(
        "timeseries", "Time series: NAB", report, list(table.columns), table.itertuples(index=False)
    )


if __name__ == "__main__":
    main()
