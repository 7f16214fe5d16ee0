"""End to end in headless Chromium: upload a CSV, train with Fast, move the threshold, download, score.

The screenshots in docs/screenshots/ (shown in the README) are written by this test.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit did not become healthy in {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` on a free port with this interpreter; always terminated."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "app.py",
                "--server.port", str(port),
                "--server.address", "127.0.0.1",
                "--server.headless", "true",
                "--browser.gatherUsageStats", "false",
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@pytest.fixture
def page(app_url: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(app_url)
            yield page
        finally:
            browser.close()


def settle(page: Page) -> None:
    """Wait until the script has finished its run, so screenshots show the final page."""
    expect(page.locator('.stApp[data-test-script-state="notRunning"]')).to_have_count(1)
    page.wait_for_timeout(500)


def show_from(page: Page, heading: str) -> None:
    """Scroll so that ``heading`` is at the top, with no hover or focus highlight in the picture."""
    page.get_by_role("heading", name=heading).evaluate(
        "heading => heading.scrollIntoView({block: 'start'})"
    )
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)


@pytest.fixture
def upload_file(tmp_path: Path) -> Path:
    """A sensor log under a new name, so that seeing its name proves the upload worked."""
    rows = pd.read_csv(ROOT / "sample_data" / "sensors.csv").head(2000)
    path = tmp_path / "press_sensors.csv"
    rows.to_csv(path, index=False)
    return path


def test_upload_train_with_fast_preset_and_see_the_result(page: Page, upload_file: Path):
    # First start: the sample dataset is already there.
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="breast_cancer.csv")).to_be_visible()

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(upload_file)
    expect(page.get_by_role("heading", name="press_sensors.csv")).to_be_visible()
    expect(page.get_by_text("2,000", exact=True)).to_be_visible()
    settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "data.png")

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Train").click()
    expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
    page.get_by_text("Fast", exact=True).click()
    expect(page.get_by_text("parameters").first).to_be_visible()
    page.get_by_role("button", name="Train model").click()

    # While it trains: the live panel with its loss curve, a Stop button, Train model disabled.
    expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Train model")).to_be_disabled()
    expect(page.get_by_text(re.compile(r"^Epoch \d+ of 20"))).to_be_visible()
    # Then the outcome once training ends.
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=300_000)
    expect(page.get_by_text("See the results")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Trained on press_sensors.csv")
           ).to_be_visible()
    settle(page)
    # Start the picture at the network preview, so that the outcome and the curve are in it.
    show_from(page, "The network")
    page.screenshot(path=SCREENSHOTS / "train.png")

    # ---- Results: drag the threshold, see the count follow, download the flagged rows.
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Results").click()
    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
    flagged = page.locator('[data-testid="stMetric"]').filter(has_text="Rows flagged").locator(
        '[data-testid="stMetricValue"]'
    )
    expect(flagged).to_be_visible()
    settle(page)
    before = flagged.inner_text()
    thumb = page.get_by_role("slider").first
    thumb.focus()
    thumb.press("End")  # the highest score: nothing is above it
    expect(flagged).to_have_text("0")
    settle(page)
    for _ in range(3):
        thumb.press("PageDown")
    expect(flagged).not_to_have_text("0")
    settle(page)
    assert flagged.inner_text() != before

    # Adopt a suggested threshold for a sensible picture, then download what it flags.
    page.get_by_role("button", name="Top 5%", exact=True).click()
    settle(page)
    count = int(flagged.inner_text().replace(",", ""))
    threshold = float(
        page.locator('[data-testid="stMetric"]').filter(has_text="Threshold")
        .locator('[data-testid="stMetricValue"]').inner_text()
    )
    assert 0 < count < 2000
    show_from(page, "Where to draw the line")
    page.screenshot(path=SCREENSHOTS / "results.png")
    show_from(page, "Flagged rows")
    page.screenshot(path=SCREENSHOTS / "results_rows.png")

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download flagged rows").click()
    download = download_info.value
    assert download.suggested_filename == "press_sensors_flagged.csv"
    rows = pd.read_csv(download.path(), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    original = pd.read_csv(upload_file, dtype=str, keep_default_na=False)
    assert len(rows) == count
    assert list(rows.columns[: original.shape[1]]) == list(original.columns)
    assert (rows["is_anomaly_2"] == "1").all()  # the file has its own is_anomaly column
    scores = rows["anomaly_score"].astype(float)
    assert scores.is_monotonic_decreasing
    assert scores.min() > threshold * (1 - 1e-3)  # the metric shows 4 significant digits
    # Every downloaded row is a row of the upload, cell for cell as written there.
    matched = rows[list(original.columns)].merge(original.drop_duplicates(), how="left", indicator=True)
    assert (matched["_merge"] == "both").all()

    # ---- Score: the same file again, with the session's model and the threshold just chosen.
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Score").click()
    expect(page.get_by_role("heading", name="Score", exact=True)).to_be_visible()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(upload_file)
    expect(flagged).to_have_text(f"{count:,}")
    settle(page)
    show_from(page, "Score")
    page.screenshot(path=SCREENSHOTS / "score.png")
