"""The library is a real package: it builds, installs, imports and runs from outside the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import detector

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The wheel of a copy of the library's files, installed into a folder of its own."""
    work = tmp_path_factory.mktemp("package")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "detector", source / "detector", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(work / "wheel"), str(source)]
    subprocess.run(build, check=True, cwd=work)
    wheel = next((work / "wheel").glob("*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(work / "site"), str(wheel)], check=True)
    return work / "site"


def _run(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python in a folder outside the repository, importing the library only from ``site``."""
    env = {**os.environ, "PYTHONPATH": str(site), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, *args], cwd=site.parent, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_installed_package_exports_the_public_api(installed):
    result = _run(installed, "-c", "import detector; print(detector.__file__); "
                  "from detector import AutoencoderDetector, IsolationForestDetector, load_bundle, "
                  "read_table, score_table, automatic_thresholds; print(detector.__version__)")
    assert result.returncode == 0, result.stderr
    where, version = result.stdout.split()
    assert Path(where).is_relative_to(installed)
    assert version == detector.__version__


def test_python_m_detector_runs_from_any_folder(installed):
    result = _run(installed, "-m", "detector", "--help")
    assert result.returncode == 0, result.stderr
    assert "train" in result.stdout
    assert "score" in result.stdout


def test_the_package_version_is_the_librarys():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["version"] == detector.__version__
