"""Which default wins on data it was not chosen on: the study behind the autoencoder's score.

Two steps, so that rules are compared on the very same fits:

``collect`` fits, on every dataset of a pool and for each seed, the autoencoder at its defaults
and the baseline families through the detector contract, and stores every row's score parts:
the autoencoder's reconstruction and code-distance parts, Isolation Forest on the rows and on
the autoencoder's codes, ECOD and PCA. ``report`` then scores candidate rules, each a fixed
way to combine parts (no parameter is fitted to any dataset), and picks one by
leave-one-dataset-out on the first pool: for each dataset, the rule that wins on the others is
scored on it. The second pool only confirms; a rule that helps one pool and hurts the other is
overfitted.

Run from the repository root (``collect`` takes tens of minutes on 2 cores)::

    nice -n 10 .venv/bin/python benchmarks/default_study.py collect --pool ../shared/benchmarks/adbench \\
        --cache /tmp/study/adbench --seeds 0 1 2
    .venv/bin/python benchmarks/default_study.py report --cache /tmp/study/adbench [more caches] \\
        --confirm /tmp/study/embeddings [more caches] [--out benchmarks/results/default_study]

Each pool may have several caches (one collected with release 0.1's scoring, one with today's):
a rule is scored from the first cache holding the parts it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.adbench import load_datasets  # noqa: E402 (after the path set-up)

PARTS = ("recon", "code", "iforest", "code_iforest", "ecod", "pca")


# --------------------------------------------------------------------------- collect


def collect_one(X: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Every score part of one fit on ``X`` (transductive: the training rows are scored)."""
    from detector.autoencoder import AutoencoderDetector
    from detector.autoencoder_config import AutoencoderConfig
    from detector.ecod import ECODDetector
    from detector.iforest import IsolationForestDetector
    from detector.pca import PCADetector

    parts: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    autoencoder = AutoencoderDetector(config=AutoencoderConfig(seed=seed)).fit(X)
    parts["seconds_autoencoder"] = np.array(time.perf_counter() - started)
    components = autoencoder.score_components(X)
    for name in components.columns:
        parts[name] = components[name].to_numpy()
    parts["product"] = autoencoder.decision_scores_
    for name, detector in (
        ("iforest", IsolationForestDetector(seed=seed)),
        ("ecod", ECODDetector()),
        ("pca", PCADetector()),
    ):
        started = time.perf_counter()
        parts[name] = detector.fit(X).decision_scores_
        parts[f"seconds_{name}"] = np.array(time.perf_counter() - started)
    return parts


def collect(pool: Path, cache: Path, seeds: list[int], max_rows: int) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for dataset in load_datasets(pool, max_rows=max_rows):
        for seed in seeds:
            target = cache / f"{dataset.name}__{seed}.npz"
            if target.exists():
                continue
            parts = collect_one(dataset.X, seed)
            np.savez(target, y=dataset.y, **parts)
            print(f"{dataset.name:<24} seed {seed}: autoencoder {float(parts['seconds_autoencoder']):.1f} s",
                  flush=True)


# --------------------------------------------------------------------------- rules


def robust(scores: np.ndarray) -> np.ndarray:
    """Scores in units of their own spread: (s - median) / IQR (MAD, then std, if that is 0)."""
    median = np.median(scores)
    q25, q75 = np.percentile(scores, [25, 75])
    spread = q75 - q25
    if not spread > 0:
        spread = np.std(scores) or 1.0
    return (scores - median) / spread


def rarity(scores: np.ndarray) -> np.ndarray:
    """Transductive surprisal: -log of the share of rows scoring at least as high (ties share)."""
    from scipy.stats import rankdata

    return -np.log(1.0 - rankdata(scores, method="max") / (len(scores) + 1.0))


def _each(transform: Callable[[np.ndarray], np.ndarray], *names: str) -> Callable[[dict], np.ndarray]:
    """A rule adding ``transform`` of each named part."""
    return lambda parts: sum(transform(parts[name]) for name in names)


OLD = ("recon", "code", "code_iforest")  # the parts of a cache collected with release 0.1's scoring
NEW = ("product",)  # the parts of a cache collected with today's

# Each rule names the parts it needs; a cache without them (an older collect) skips the rule.
# Rules over the autoencoder's parts read them as the detector gives them: from release 0.1's
# caches the scaled reconstruction and code distance, from today's their rarities in nats.
RULES: dict[str, tuple[tuple[str, ...], Callable[[dict[str, np.ndarray]], np.ndarray]]] = {
    "release 0.1 default (scaled recon + code)": (OLD, lambda p: p["recon"] + p["code"]),
    "iforest": (("iforest",), lambda p: p["iforest"]),
    "ecod": (("ecod",), lambda p: p["ecod"]),
    "pca": (("pca",), lambda p: p["pca"]),
    "robust-z sum: recon + code + iforest": (OLD, _each(robust, "recon", "code", "iforest")),
    "rank sum: recon + code + iforest": (OLD, _each(lambda x: _rank(x), "recon", "code", "iforest")),
    "rarity sum: recon + code + iforest": (OLD, _each(rarity, "recon", "code", "iforest")),
    "rarity sum: recon + code": (OLD, _each(rarity, "recon", "code")),
    "rarity sum: recon + code + code iforest": (OLD, _each(rarity, "recon", "code", "code_iforest")),
    "product: reconstruction + code + isolation": (NEW, lambda p: p["product"]),
    "product parts: reconstruction + code": (NEW, lambda p: p["reconstruction"] + p["code"]),
    "product parts: reconstruction only": (NEW, lambda p: p["reconstruction"]),
}


def _rank(scores: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(scores) / len(scores)


# --------------------------------------------------------------------------- report


def load_cache(cache: Path) -> dict[str, list[dict[str, np.ndarray]]]:
    """Every stored fit, by dataset (one entry per seed)."""
    runs: dict[str, list[dict[str, np.ndarray]]] = {}
    for path in sorted(cache.glob("*.npz")):
        name = path.stem.rsplit("__", 1)[0]
        with np.load(path) as archive:
            runs.setdefault(name, []).append({key: archive[key] for key in archive.files})
    return runs


def metrics(runs: dict[str, list[dict[str, np.ndarray]]]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """{rule: {dataset: (mean ROC-AUC, mean AP, std of ROC-AUC over seeds)}}."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    table: dict[str, dict[str, tuple[float, float, float]]] = {}
    for rule, (needs, combine) in RULES.items():
        if not all(need in seeds[0] for seeds in runs.values() for need in needs):
            continue
        table[rule] = {}
        for name, seeds in runs.items():
            aucs, aps = [], []
            for parts in seeds:
                score = np.nan_to_num(combine(parts), nan=0.0)
                aucs.append(roc_auc_score(parts["y"], score))
                aps.append(average_precision_score(parts["y"], score))
            table[rule][name] = (float(np.mean(aucs)), float(np.mean(aps)), float(np.std(aucs)))
    return table


def mean_over(table: dict[str, tuple[float, float, float]]) -> tuple[float, float]:
    values = np.array([v[:2] for v in table.values()])
    return float(values[:, 0].mean()), float(values[:, 1].mean())


Table = dict[str, dict[str, tuple[float, float, float]]]


def leave_one_out(table: Table) -> tuple[float, float, dict[str, str]]:
    """For each dataset, the rule with the best mean (ROC-AUC + AP) on the others, scored on it."""
    datasets = list(next(iter(table.values())))
    chosen, aucs, aps = {}, [], []
    for held in datasets:
        def others(rule: str, held: str = held) -> float:
            return float(np.mean([sum(table[rule][d][:2]) for d in datasets if d != held]))

        best = max(table, key=others)
        chosen[held] = best
        aucs.append(table[best][held][0])
        aps.append(table[best][held][1])
    return float(np.mean(aucs)), float(np.mean(aps)), chosen


def pool_metrics(caches: list[Path]) -> Table:
    """Every rule's metrics over a pool, each from the first cache that has the rule's parts."""
    table: Table = {}
    for cache in caches:
        for rule, rows in metrics(load_cache(cache)).items():
            table.setdefault(rule, rows)
    return table


def report(caches: list[Path], confirm: list[Path] | None, out: Path | None) -> str:
    pools = {"pool 1": pool_metrics(caches)}
    if confirm:
        pools["pool 2"] = pool_metrics(confirm)
    present = [rule for rule in RULES if all(rule in table for table in pools.values())]
    header = " | ".join(f"{p} ROC-AUC | {p} AP | {p} wins vs iforest (AUC)" for p in pools)
    lines = [f"| rule | {header} |"]
    lines.append("|---" * (1 + 3 * len(pools)) + "|")
    for rule in present:
        cells = []
        for table in pools.values():
            auc, ap = mean_over(table[rule])
            wins = sum(table[rule][d][0] > table["iforest"][d][0] for d in table[rule])
            cells += [f"{auc:.3f}", f"{ap:.3f}", f"{wins}/{len(table[rule])}"]
        lines.append(f"| {rule} | " + " | ".join(cells) + " |")
    auc, ap, chosen = leave_one_out(pools["pool 1"])
    lines += ["", f"Leave-one-dataset-out on pool 1: mean ROC-AUC {auc:.3f}, mean AP {ap:.3f}."]
    picks: dict[str, int] = {}
    for rule in chosen.values():
        picks[rule] = picks.get(rule, 0) + 1
    ranked = sorted(picks.items(), key=lambda kv: -kv[1])
    picked = ", ".join(f"{rule} ({n}x)" for rule, n in ranked)
    lines.append(f"Rules chosen when a dataset was held out: {picked}.")
    for label, table in pools.items():
        names = list(next(iter(table.values())))
        lines += ["", f"### {label}: per dataset (ROC-AUC / AP, ± ROC-AUC std over seeds)", "",
                  "| dataset | " + " | ".join(present) + " |", "|---" * (1 + len(present)) + "|"]
        for name in names:
            lines.append(f"| {name} | " + " | ".join(
                f"{table[r][name][0]:.3f} / {table[r][name][1]:.3f} ±{table[r][name][2]:.3f}" for r in present
            ) + " |")
    text = "\n".join(lines)
    if out is not None:
        out.with_suffix(".md").write_text("# Default study\n\n" + text + "\n")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    gather = commands.add_parser("collect")
    gather.add_argument("--pool", type=Path, required=True)
    gather.add_argument("--cache", type=Path, required=True)
    gather.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    gather.add_argument("--max-rows", type=int, default=100_000)
    summary = commands.add_parser("report")
    summary.add_argument("--cache", type=Path, nargs="+", required=True)
    summary.add_argument("--confirm", type=Path, nargs="+")
    summary.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "collect":
        collect(args.pool, args.cache, args.seeds, args.max_rows)
    else:
        print(report(args.cache, args.confirm, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
