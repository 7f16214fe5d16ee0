"""Free text as a feature, on real log lines: Loghub's BGL sample (2,000 lines, 143 alerts).

Three setups, each fitted on every line with its default settings (contamination 0.05, the
threshold the detector sets) and evaluated against the ``alert`` column, which no model sees:

- **without text**: the autoencoder on the columns used before text was read (``component``,
  ``level``: what ``python -m detector train`` used before);
- **with text**: the autoencoder on those and the ``message`` column through the text model;
- **IsolationForest, text**: Isolation Forest on the same encoded features as "with text".

It reports ROC-AUC, average precision (AP), and precision and recall at the default
threshold, for several seeds (the autoencoder's training and Isolation Forest's trees), with
the median. The default is not tuned to these lines: see ``benchmarks/README.md``.

Run from the repository root (needs the text extra)::

    nice -n 10 .venv/bin/python benchmarks/text.py [--seeds 0 1 2 3 4] [--data PATH]

It prints a table and writes ``benchmarks/results/text.csv`` and ``.md``.
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

DATA = REPO_ROOT.parent / "shared" / "benchmarks" / "loghub" / "BGL_2k.csv"


def setups(roles):
    from detector import AutoencoderConfig, AutoencoderDetector, ColumnRoles, IsolationForestDetector

    without = ColumnRoles(numeric=roles.numeric, categorical=roles.categorical)
    with_text = ColumnRoles(numeric=roles.numeric, categorical=roles.categorical, text=roles.text)
    return {
        "autoencoder, without text": lambda seed: AutoencoderDetector(
            columns=without, config=AutoencoderConfig(seed=seed)
        ),
        "autoencoder, with text": lambda seed: AutoencoderDetector(
            columns=with_text, config=AutoencoderConfig(seed=seed)
        ),
        "IsolationForest, with text": lambda seed: IsolationForestDetector(columns=with_text, seed=seed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()

    from detector import evaluate, infer_roles, read_table
    from detector.columns import label_vector
    from detector.text import COMPONENTS, embed_texts, model_identity, text_values

    frame = read_table(args.data).frame
    roles = infer_roles(frame, text=True)
    if not roles.text or roles.label is None:
        raise SystemExit(f"error: expected a text column and a label in {args.data}, found {roles}")
    y = label_vector(frame[roles.label])
    started = time.perf_counter()
    embed_texts(text_values(frame[roles.text[0]])[0])
    encode_seconds = time.perf_counter() - started

    rows = []
    for name, make in setups(roles).items():
        for seed in args.seeds:
            detector = make(seed)
            started = time.perf_counter()
            detector.fit(frame)
            seconds = time.perf_counter() - started
            result = evaluate(y, detector.decision_scores_, detector.threshold_)
            rows.append(
                (name, seed, result.roc_auc, result.average_precision, result.precision, result.recall,
                 result.tp + result.fp, seconds)
            )
            print(
                f"{name:30s} seed {seed}: ROC-AUC {result.roc_auc:.3f}  AP {result.average_precision:.3f}  "
                f"precision {result.precision:.2f}  recall {result.recall:.2f}  ({seconds:.1f} s)",
                flush=True,
            )

    header = (
        "setup", "seed", "roc_auc", "average_precision", "precision", "recall", "flagged", "fit_seconds",
    )
    summary = ["| setup | ROC-AUC | AP | precision | recall | flagged |", "|---|---|---|---|---|---|"]
    for name in setups(roles):
        mine = [r for r in rows if r[0] == name]

        def median(i: int, mine=mine) -> float:
            return statistics.median(r[i] for r in mine)

        def spread(i: int, mine=mine) -> str:
            return f"{min(r[i] for r in mine):.3f}–{max(r[i] for r in mine):.3f}"

        summary.append(
            f"| {name} | {median(2):.3f} ({spread(2)}) | {median(3):.3f} ({spread(3)}) | "
            f"{median(4):.2f} | {median(5):.2f} | {median(6):.0f} |"
        )
    identity = model_identity()
    report = "\n".join(
        [
            f"{args.data.name}: {len(frame):,} lines, {int(y.sum())} alerts. Features: "
            f"{', '.join(roles.categorical + roles.numeric)}; text: {', '.join(roles.text)} "
            f"({COMPONENTS} components of {identity['name']} {identity['version']}). "
            f"Median over seeds {', '.join(map(str, args.seeds))} (range in brackets); precision and "
            f"recall at each detector's default threshold. Encoding the text column: "
            f"{encode_seconds:.2f} s. Machine: {short_machine()}.",
            "",
            *summary,
        ]
    )
    print()
    print(report)
    write_results("text", "Free text on BGL_2k", report, header, rows)


if __name__ == "__main__":
    main()
