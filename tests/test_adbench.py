"""The ADBench harness: reads a folder of .npz files, skips bad ones, scores and reports."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from benchmarks import adbench


def _write_dataset(path: Path, n_rows: int, n_cols: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_cols))
    y = np.zeros(n_rows, dtype=np.int64)
    y[:5] = 1
    X[:5] += 6.0  # clear anomalies, so every sensible detector ranks them first
    np.savez(path, X=X, y=y)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "adbench"
    folder.mkdir()
    _write_dataset(folder / "1_easy.npz", 120, 4, seed=0)
    _write_dataset(folder / "2_big.npz", 300, 3, seed=1)
    (folder / "3_empty.npz").write_bytes(b"")
    np.savez(folder / "4_oneclass.npz", X=np.ones((10, 2)), y=np.zeros(10))
    return folder


def test_baselines_only_run_writes_csv_and_markdown_and_notes_skipped_files(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results" / "adbench"
    assert adbench.main(["--data", str(data_dir), "--out", str(out), "--skip-ours", "--max-rows", "200"]) == 0

    printed = capsys.readouterr().out
    assert "skipped 3_empty.npz" in printed
    assert "skipped 4_oneclass.npz" in printed
    assert "2_big: subsampled 300 rows to 200" in printed
    with (tmp_path / "results" / "adbench.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["dataset"], r["method"]) for r in rows} == {
        (d, m) for d in ("1_easy", "2_big") for m in ("iforest", "lof", "pca", "ecod")
    }
    # PCA's reconstruction error cannot see a shift along the data's main direction (here the
    # anomalies' own); every other method ranks them first.
    assert all(float(r["roc_auc"]) > 0.9 for r in rows if r["method"] != "pca")
    markdown = (tmp_path / "results" / "adbench.md").read_text()
    assert "| iforest |" in markdown
    assert "3_empty.npz" in markdown


def test_ours_is_averaged_over_seeds_ranked_and_compared_with_iforest(data_dir: Path) -> None:
    seeds_seen: list[int] = []

    def fake_ours(X: np.ndarray, seed: int) -> np.ndarray:
        seeds_seen.append(seed)
        return np.abs(X).sum(axis=1)

    datasets = list(adbench.load_datasets(data_dir, log=lambda _: None))
    methods = {adbench.OURS: fake_ours, "iforest": adbench.score_iforest}
    results = adbench.run_benchmark(datasets, methods, seeds=(3, 4), log=lambda _: None)

    assert seeds_seen == [3, 4, 3, 4]
    ours = [r for r in results if r.method == adbench.OURS]
    assert all(r.n_seeds == 2 for r in ours)
    header, table = adbench.per_dataset_table(results, adbench.OURS)
    assert header[-2:] == ["ours rank AUC", "ours rank AP"]
    assert all(row[-2] in {"1", "2"} for row in table)
    verdict = adbench.verdict_lines(results, adbench.OURS, "iforest")
    assert verdict[-1].startswith("goal (mean ROC-AUC and mean AP of ours >= iforest):")
