"""Free text as a feature, on real log lines: Loghub's BGL sample (2,000 lines, 143 alerts).

Three setups, each fitted on every line with its default settings (contamination 0.05, the
threshold the detector sets) and evaluated against the ``alert`` column, which no model sees:

- **without text**: the autoencoder on the columns used before text was read (``component``,
  ``level``: what ``python -m detector train`` used before);
- **with text**: the autoencoder on those and the ``message`` column through the text model
  (its defaults: the text's rarity and its failure wording, see ``detector/text.py``);
- **with text, rarity only**: the same with ``failure_wording=False`` (what the text adds by
  rarity alone);
- **IsolationForest, text**: Isolation Forest on the same encoded features as "with text".

It reports ROC-AUC, average precision (AP), and precision and recall at the default
threshold, for several seeds (the autoencoder's training and Isolation Forest's trees), with
the median. The default is not tuned to these lines: see ``benchmarks/README.md``.

Speed: it then encodes 100,000 short texts, all different (BGL messages with other numbers
and a word changed), from a cold cache, and fits and applies the text column's encoding
(target: under 30 s).

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
        "autoencoder, with text, rarity only": lambda seed: AutoencoderDetector(
            columns=with_text, config=AutoencoderConfig(seed=seed, failure_wording=False)
        ),
        "IsolationForest, with text": lambda seed: IsolationForestDetector(columns=with_text, seed=seed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--speed-rows", type=int, default=100_000)
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
    speed = encoding_speed(frame[roles.text[0]], args.speed_rows)
    report += "\n\n" + speed
    print()
    print(report)
    write_results("text", "Free text on BGL_2k", report, header, rows)


def encoding_speed(messages, n_rows: int) -> str:
    """Time encoding ``n_rows`` distinct short texts made from ``messages``, from a cold cache."""
    import numpy as np
    import pandas as pd

    from detector import text as text_model
    from detector.preprocessing import Preprocessor

    rng = np.random.default_rng(0)
    base = messages.astype(str).to_numpy()[rng.integers(0, len(messages), n_rows)]
    vocabulary = np.array(["node", "rack", "job", "link", "disk", "user", "port", "task"])
    words = vocabulary[rng.integers(0, len(vocabulary), n_rows)]
    pairs = enumerate(zip(base, words, strict=True))
    texts = pd.Series([f"{m} {w} {i}" for i, (m, w) in pairs], name="message")
    frame = texts.to_frame()
    text_model._CACHE.clear()
    started = time.perf_counter()
    text_model.embed_texts(text_model.text_values(texts)[0])
    embed_seconds = time.perf_counter() - started
    text_model._CACHE.clear()
    started = time.perf_counter()
    prep = Preprocessor(text=("message",)).fit(frame)
    fit_seconds = time.perf_counter() - started
    text_model._CACHE.clear()
    started = time.perf_counter()
    prep.transform(frame)
    transform_seconds = time.perf_counter() - started
    distinct = texts.nunique()
    verdict = "met" if max(embed_seconds, fit_seconds, transform_seconds) < 30 else "NOT met"
    return "\n".join(
        [
            f"Speed: {n_rows:,} short texts ({distinct:,} distinct, mean {texts.str.len().mean():.0f} "
            f"characters), cold cache each time. Target: under 30 s each ({verdict}).",
            "",
            "| step | seconds | texts/s |",
            "|---|---|---|",
            f"| embed (tokenize + mean of word vectors) | {embed_seconds:.2f} | "
            f"{n_rows / embed_seconds:,.0f} |",
            f"| fit the column's encoding (embed + PCA + scaling) | {fit_seconds:.2f} | "
            f"{n_rows / fit_seconds:,.0f} |",
            f"| encode the column with a fitted model | {transform_seconds:.2f} | "
            f"{n_rows / transform_seconds:,.0f} |",
        ]
    )


if __name__ == "__main__":
    main()
