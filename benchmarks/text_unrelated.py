"""What a text column costs when its words have nothing to do with the anomalies.

The opposite case to ``text.py``: each ADBench table (numbers only, labels known) gets a
``message`` column of log lines drawn at random from the BGL sample, independent of the labels.
The autoencoder is fitted three ways at its defaults (seed 0): without the text column, with it
read by rarity only (``failure_wording=False``), and with it at the defaults (rarity and failure
wording). The drop in average precision is the price of a text column that says nothing about
what is odd; ``benchmarks/README.md`` weighs it against the gain on real logs.

Run from the repository root (needs the text extra)::

    nice -n 10 .venv/bin/python benchmarks/text_unrelated.py [--data DIR] [--max-rows 5000]

It prints a table and writes ``benchmarks/results/text_unrelated.csv`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.results_file import short_machine, write_results  # noqa: E402

SHARED = REPO_ROOT.parent / "shared" / "benchmarks"
SETUPS = ("without text", "with text, rarity only", "with text (defaults)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED / "adbench")
    parser.add_argument("--logs", type=Path, default=SHARED / "loghub" / "BGL_2k.csv")
    parser.add_argument("--max-rows", type=int, default=5000, help="larger tables are subsampled (seed 0)")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    from sklearn.metrics import average_precision_score

    from detector import AutoencoderConfig, AutoencoderDetector, ColumnRoles

    messages = pd.read_csv(args.logs)["message"].to_numpy()
    rows = []
    for path in sorted(args.data.glob("*.npz")):
        data = np.load(path)
        X, y = data["X"], data["y"]
        if len(X) > args.max_rows:
            keep = np.random.default_rng(0).choice(len(X), args.max_rows, replace=False)
            X, y = X[keep], y[keep]
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        numbers = tuple(frame.columns)
        frame["message"] = np.random.default_rng(1).choice(messages, len(frame))
        with_text = ColumnRoles(numeric=numbers, text=("message",))
        fits = (
            (ColumnRoles(numeric=numbers), AutoencoderConfig(seed=0)),
            (with_text, AutoencoderConfig(seed=0, failure_wording=False)),
            (with_text, AutoencoderConfig(seed=0)),
        )
        scores = []
        for roles, config in fits:
            detector = AutoencoderDetector(columns=roles, config=config).fit(frame)
            scores.append(average_precision_score(y, detector.decision_scores_))
        rows.append((path.stem, len(frame), *scores))
        print(f"{path.stem:20s} " + "  ".join(f"{s}: {v:.3f}" for s, v in zip(SETUPS, scores, strict=True)),
              flush=True)

    lines = [
        f"ADBench tables with a `message` column of random BGL log lines, unrelated to the labels "
        f"(at most {args.max_rows:,} rows each, seed 0). Average precision of the autoencoder at its "
        f"defaults. Machine: {short_machine()}.",
        "",
        "| data set | rows | " + " | ".join(SETUPS) + " |",
        "|---|---|---|---|---|",
        *(f"| {name} | {n:,} | {a:.3f} | {b:.3f} | {c:.3f} |" for name, n, a, b, c in rows),
        "| **median** | | "
        + " | ".join(f"**{statistics.median(r[i] for r in rows):.3f}**" for i in (2, 3, 4)) + " |",
    ]
    report = "\n".join(lines)
    print()
    print(report)
    write_results(
        "text_unrelated", "An unrelated text column", report, ("dataset", "rows", *SETUPS), rows,
    )


if __name__ == "__main__":
    main()
