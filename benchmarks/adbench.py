"""Compare our default autoencoder with classical detectors on ADBench datasets.

Transductive, as in ADBench's unsupervised setting: every method is fitted on
all rows of a dataset without labels and scores those same rows; the labels
are used only for ROC-AUC and average precision.

Run from the repository root::

    nice -n 10 .venv/bin/python benchmarks/adbench.py --data /path/to/adbench \
        [--out benchmarks/results/adbench] [--seeds 0 1 2] [--threads 1] [--skip-ours]

It prints a table and writes ``<out>.csv`` (one row per dataset and method)
and ``<out>.md`` (per-dataset table and summary).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Runs as a script from anywhere: make `detector` importable from the repo root.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

MAX_ROWS = 100_000
SUBSAMPLE_SEED = 0
OURS = "ours"

# A method takes the rows and a seed and returns one score per row, higher = more anomalous.
Scorer = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Dataset:
    """One benchmark dataset: features, labels and how it was loaded."""

    name: str
    X: np.ndarray
    y: np.ndarray
    n_rows_original: int


@dataclass(frozen=True)
class MethodResult:
    """One method on one dataset, averaged over the seeds it was run with."""

    dataset: str
    n_rows: int
    n_cols: int
    anomaly_share: float
    method: str
    roc_auc: float
    average_precision: float
    seconds: float
    n_seeds: int
    roc_auc_std: float
    average_precision_std: float


# --------------------------------------------------------------------------- methods


def family_scorer(kind: str) -> Scorer:
    """Score rows with one of our detector families, through the contract, at its defaults.

    Every family reads the same preprocessed matrix (robust scaling); only the seed changes.
    """

    def score(X: np.ndarray, seed: int) -> np.ndarray:
        from detector.autoencoder_config import AutoencoderConfig
        from detector.registry import detector_class

        cls = detector_class(kind)
        params: dict[str, object] = {}
        if kind == "autoencoder":
            params["config"] = AutoencoderConfig(seed=seed)
        elif "seed" in cls._get_param_names():
            params["seed"] = seed
        return np.asarray(cls(**params).fit(X).decision_scores_, dtype=np.float64)

    score.__name__ = f"score_{kind}"
    return score


score_ours = family_scorer("autoencoder")
score_iforest = family_scorer("iforest")
score_pca = family_scorer("pca")
score_ecod = family_scorer("ecod")


def score_lof(X: np.ndarray, seed: int) -> np.ndarray:
    """LocalOutlierFactor with default neighbours on standardised columns.

    Standardised because LOF's distances would otherwise be dominated by the
    column with the largest units; the seed is ignored (LOF is deterministic).
    """
    from sklearn.neighbors import LocalOutlierFactor

    lof = LocalOutlierFactor(novelty=False).fit(standardise(X))
    return -lof.negative_outlier_factor_


def standardise(X: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance per column; constant columns become zeros."""
    X = np.asarray(X, dtype=np.float64)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    return (X - X.mean(axis=0)) / scale


# Our baseline families (through the detector contract), then LOF as an outside reference.
BASELINES: dict[str, Scorer] = {
    "iforest": score_iforest,
    "pca": score_pca,
    "ecod": score_ecod,
    "lof": score_lof,
}


# --------------------------------------------------------------------------- data


def load_datasets(
    directory: Path, *, max_rows: int = MAX_ROWS, log: Callable[[str], None] = print
) -> Iterator[Dataset]:
    """Yield every readable ``.npz`` in ``directory`` (sorted by name), subsampled to ``max_rows``.

    Files that cannot be read, lack ``X``/``y``, or have no rows, no anomalies
    or no normal rows are skipped with a printed note.
    """
    paths = sorted(directory.glob("*.npz"))
    if not paths:
        log(f"note: no .npz files in {directory}")
    for path in paths:
        name = path.stem
        try:
            with np.load(path, allow_pickle=True) as archive:
                X = np.asarray(archive["X"], dtype=np.float64)
                y = np.asarray(archive["y"]).astype(np.int64).ravel()
        except Exception as error:  # any unreadable file is reported and skipped, not fatal
            log(f"note: skipped {path.name}: cannot read X and y ({error})")
            continue
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0 or X.shape[0] != y.shape[0]:
            log(f"note: skipped {path.name}: X has shape {X.shape} and y has {y.shape[0]} labels")
            continue
        if not np.isfinite(X).all():
            log(f"note: skipped {path.name}: X holds missing or infinite values")
            continue
        if len(np.unique(y)) < 2:
            log(f"note: skipped {path.name}: labels hold a single class, metrics are undefined")
            continue
        n_original = X.shape[0]
        if n_original > max_rows:
            # Uniform, not stratified (stratifying would use the labels); the same rows for every method.
            keep = np.sort(np.random.default_rng(SUBSAMPLE_SEED).choice(n_original, max_rows, replace=False))
            X, y = X[keep], y[keep]
            log(f"note: {name}: subsampled {n_original} rows to {max_rows} (seed {SUBSAMPLE_SEED})")
        yield Dataset(name=name, X=X, y=y, n_rows_original=n_original)


# --------------------------------------------------------------------------- running


def evaluate_method(dataset: Dataset, method: str, scorer: Scorer, seeds: Sequence[int]) -> MethodResult:
    """Run one method on one dataset for each seed; return mean metrics and mean seconds."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    aucs, aps, seconds = [], [], []
    for seed in seeds:
        start = time.perf_counter()
        scores = np.asarray(scorer(dataset.X, seed), dtype=np.float64).ravel()
        seconds.append(time.perf_counter() - start)
        if scores.shape[0] != dataset.X.shape[0]:
            raise ValueError(f"{method} returned {scores.shape[0]} scores for {dataset.X.shape[0]} rows")
        # A method that overflows (e.g. LOF on duplicates) still gets ranked: +inf is "most anomalous".
        scores = np.nan_to_num(scores, nan=np.nanmax(scores[np.isfinite(scores)], initial=0.0))
        aucs.append(roc_auc_score(dataset.y, scores))
        aps.append(average_precision_score(dataset.y, scores))
    n_rows, n_cols = dataset.X.shape
    return MethodResult(
        dataset=dataset.name,
        n_rows=n_rows,
        n_cols=n_cols,
        anomaly_share=float(dataset.y.mean()),
        method=method,
        roc_auc=float(np.mean(aucs)),
        average_precision=float(np.mean(aps)),
        seconds=float(np.mean(seconds)),
        n_seeds=len(seeds),
        roc_auc_std=float(np.std(aucs)),
        average_precision_std=float(np.std(aps)),
    )


def run_benchmark(
    datasets: Sequence[Dataset],
    methods: dict[str, Scorer],
    *,
    seeds: Sequence[int] = (0, 1, 2),
    seeded: Sequence[str] = (OURS,),
    log: Callable[[str], None] = print,
) -> list[MethodResult]:
    """Evaluate every method on every dataset.

    Methods named in ``seeded`` run once per seed and are averaged; the others
    are deterministic baselines and run once.
    """
    results = []
    for dataset in datasets:
        for method, scorer in methods.items():
            result = evaluate_method(dataset, method, scorer, seeds if method in seeded else (seeds[0],))
            results.append(result)
            log(
                f"{dataset.name:<18} {method:<10} ROC-AUC {result.roc_auc:.3f}  "
                f"AP {result.average_precision:.3f}  {result.seconds:7.2f} s"
            )
    return results


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class MethodSummary:
    """Means over datasets for one method."""

    method: str
    mean_roc_auc: float
    mean_average_precision: float
    total_seconds: float


def summarise(results: Sequence[MethodResult]) -> list[MethodSummary]:
    """Mean ROC-AUC, mean AP and total seconds (all seeds) per method, in first-seen order."""
    summaries = []
    for method in dict.fromkeys(r.method for r in results):
        rows = [r for r in results if r.method == method]
        summaries.append(
            MethodSummary(
                method=method,
                mean_roc_auc=float(np.mean([r.roc_auc for r in rows])),
                mean_average_precision=float(np.mean([r.average_precision for r in rows])),
                total_seconds=float(sum(r.seconds * r.n_seeds for r in rows)),
            )
        )
    return summaries


def rank_of(method: str, rows: Sequence[MethodResult], metric: str) -> int:
    """1-based rank of ``method`` among ``rows`` (one dataset) by ``metric``, ties share the better rank."""
    value = getattr(next(r for r in rows if r.method == method), metric)
    return 1 + sum(getattr(r, metric) > value for r in rows)


def per_dataset_table(results: Sequence[MethodResult], reference: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows for the wide per-dataset table (one row per dataset)."""
    methods = list(dict.fromkeys(r.method for r in results))
    header = ["dataset", "rows", "cols", "anom%"]
    header += [f"{m} AUC" for m in methods] + [f"{m} AP" for m in methods] + [f"{m} s" for m in methods]
    if reference in methods:
        header += [f"{reference} rank AUC", f"{reference} rank AP"]
    table = []
    for dataset in dict.fromkeys(r.dataset for r in results):
        rows = {r.method: r for r in results if r.dataset == dataset}
        first = next(iter(rows.values()))
        line = [dataset, str(first.n_rows), str(first.n_cols), f"{100 * first.anomaly_share:.1f}"]
        line += [f"{rows[m].roc_auc:.3f}" for m in methods]
        line += [f"{rows[m].average_precision:.3f}" for m in methods]
        line += [f"{rows[m].seconds:.1f}" for m in methods]
        if reference in methods:
            ranked = list(rows.values())
            line += [
                str(rank_of(reference, ranked, "roc_auc")),
                str(rank_of(reference, ranked, "average_precision")),
            ]
        table.append(line)
    return header, table


def head_to_head(results: Sequence[MethodResult], method: str, rival: str) -> dict[str, tuple[int, int, int]]:
    """Wins, ties and losses of ``method`` against ``rival`` per metric (ties within 0.0005)."""
    outcome = {}
    for metric in ("roc_auc", "average_precision"):
        wins = ties = losses = 0
        for dataset in dict.fromkeys(r.dataset for r in results):
            ours = next((r for r in results if r.dataset == dataset and r.method == method), None)
            theirs = next((r for r in results if r.dataset == dataset and r.method == rival), None)
            if ours is None or theirs is None:
                continue
            difference = getattr(ours, metric) - getattr(theirs, metric)
            if abs(difference) < 5e-4:
                ties += 1
            elif difference > 0:
                wins += 1
            else:
                losses += 1
        outcome[metric] = (wins, ties, losses)
    return outcome


def format_text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Fixed-width text table for the terminal."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def format_markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def summary_rows(results: Sequence[MethodResult]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-method summary table."""
    header = ["method", "mean ROC-AUC", "mean AP", "total s"]
    rows = [
        [s.method, f"{s.mean_roc_auc:.3f}", f"{s.mean_average_precision:.3f}", f"{s.total_seconds:.1f}"]
        for s in summarise(results)
    ]
    return header, rows


def verdict_lines(results: Sequence[MethodResult], reference: str, rival: str) -> list[str]:
    """Sentences on how ``reference`` fares against ``rival``: wins/ties/losses and the goal check."""
    methods = {r.method for r in results}
    if reference not in methods or rival not in methods:
        return []
    lines = []
    for metric, (wins, ties, losses) in head_to_head(results, reference, rival).items():
        label = "ROC-AUC" if metric == "roc_auc" else "AP"
        lines.append(f"{reference} vs {rival} on {label}: {wins} wins, {ties} ties, {losses} losses")
    by_method = {s.method: s for s in summarise(results)}
    ours, theirs = by_method[reference], by_method[rival]
    beats = (
        ours.mean_roc_auc >= theirs.mean_roc_auc
        and ours.mean_average_precision >= theirs.mean_average_precision
    )
    lines.append(
        f"goal (mean ROC-AUC and mean AP of {reference} >= {rival}): {'MET' if beats else 'NOT MET'} "
        f"(ROC-AUC {ours.mean_roc_auc:.3f} vs {theirs.mean_roc_auc:.3f}, "
        f"AP {ours.mean_average_precision:.3f} vs {theirs.mean_average_precision:.3f})"
    )
    return lines


def write_csv(results: Sequence[MethodResult], path: Path) -> None:
    """One row per dataset and method with every field of :class:`MethodResult`."""
    import csv
    from dataclasses import asdict, fields

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(MethodResult)])
        writer.writeheader()
        for result in results:
            writer.writerow(asdict(result))


def markdown_report(
    results: Sequence[MethodResult], *, notes: Sequence[str], seeds: Sequence[int], reference: str, rival: str
) -> str:
    """The whole Markdown report: setup, per-dataset table, summary and verdict."""
    header, rows = per_dataset_table(results, reference)
    s_header, s_rows = summary_rows(results)
    parts = [
        "# ADBench: our autoencoder against classical detectors",
        "",
        "Transductive: each method is fitted on all rows without labels and scores the same rows. "
        f"`{reference}` is averaged over seeds {', '.join(map(str, seeds))}; baselines run once (seed "
        f"{seeds[0]}). `iforest`, `pca` and `ecod` are our detector families at their defaults, through "
        "the same contract and preprocessing as the autoencoder; LOF (scikit-learn) sees standardised "
        "columns. "
        f"Datasets above {MAX_ROWS:,} rows are subsampled with seed {SUBSAMPLE_SEED}. "
        "Seconds are fit+score wall time per run.",
        "",
    ]
    if notes:
        parts += ["Notes:", "", *[f"- {note}" for note in notes], ""]
    parts += ["## Per dataset", "", format_markdown_table(header, rows), ""]
    parts += ["## Summary", "", format_markdown_table(s_header, s_rows), ""]
    parts += [f"- {line}" for line in verdict_lines(results, reference, rival)]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- command line


def limit_threads(n_threads: int) -> None:
    """Cap TensorFlow and BLAS threads; must run before TensorFlow or NumPy's BLAS start working."""
    for variable in (
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
    ):
        os.environ[variable] = str(n_threads)
    try:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(n_threads)
    except ImportError:
        pass


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="folder of ADBench .npz files (X, y; y=1 anomaly)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO_ROOT / "benchmarks" / "results" / "adbench",
        help="path without suffix for <out>.csv and <out>.md (default: benchmarks/results/adbench)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds for our detector")
    parser.add_argument("--skip-ours", action="store_true", help="run the baselines only")
    parser.add_argument(
        "--threads", type=int, default=None, help="cap TensorFlow/BLAS threads (e.g. 1 on a shared machine)"
    )
    parser.add_argument(
        "--max-rows", type=int, default=MAX_ROWS, help="subsample larger datasets to this many rows"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        limit_threads(args.threads)
    notes: list[str] = []

    def log_note(message: str) -> None:
        print(message)
        notes.append(message.removeprefix("note: "))

    datasets = list(load_datasets(args.data, max_rows=args.max_rows, log=log_note))
    if not datasets:
        print(f"no usable datasets in {args.data}", file=sys.stderr)
        return 1
    methods: dict[str, Scorer] = {} if args.skip_ours else {OURS: score_ours}
    methods.update(BASELINES)
    if OURS in methods:
        import tensorflow  # noqa: F401  (imported up front so its seconds are not billed to the first dataset)
    reference = OURS
    results = run_benchmark(datasets, methods, seeds=args.seeds)

    header, rows = per_dataset_table(results, reference)
    s_header, s_rows = summary_rows(results)
    print()
    print(format_text_table(header, rows))
    print()
    print(format_text_table(s_header, s_rows))
    for line in verdict_lines(results, reference, "iforest"):
        print(line)

    out = args.out.with_suffix("") if args.out.suffix in {".csv", ".md"} else args.out
    csv_path, md_path = out.with_name(out.name + ".csv"), out.with_name(out.name + ".md")
    write_csv(results, csv_path)
    md_path.write_text(
        markdown_report(results, notes=notes, seeds=args.seeds, reference=reference, rival="iforest")
    )
    print(f"\nwrote {csv_path} and {md_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
