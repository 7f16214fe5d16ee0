"""End to end in headless Chromium: upload, train with Fast, threshold, download, compare, score.

The screenshots in docs/screenshots/ (shown in the README) are written by the first test; the
second takes a 200,000-row file through the same steps and prints how long each took (``-s``).
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
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Locator, Page, expect, sync_playwright

from benchmarks.scale import dataset_path
from ui.results_view import PAGE_ROWS

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
# Waits that grow with the data: generous (a shared 2-core machine), but finite.
READ_TIMEOUT_MS = 120_000
TRAIN_TIMEOUT_MS = 300_000
RERUN_TIMEOUT_MS = 60_000

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


def open_page(page: Page, name: str) -> None:
    """Go to page ``name`` through the sidebar navigation and wait for its title."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def metric(page: Page, label: str) -> Locator:
    """The value shown by the metric labelled exactly ``label``."""
    label_cell = page.locator('[data-testid="stMetricLabel"]').get_by_text(label, exact=True)
    return page.locator('[data-testid="stMetric"]').filter(has=label_cell).locator(
        '[data-testid="stMetricValue"]'
    )


def wait_for_first_start(page: Page) -> None:
    """The Data page of a new session, with the sample dataset already loaded."""
    expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="breast_cancer.csv")).to_be_visible()


def upload(page: Page, path: Path, n_rows: int, timeout: float = 5_000) -> None:
    """Upload ``path`` on the Data page; wait until it is the dataset shown, with ``n_rows`` rows."""
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)
    expect(page.get_by_role("heading", name=path.name)).to_be_visible(timeout=timeout)
    expect(metric(page, "Rows")).to_have_text(f"{n_rows:,}")


def choose_preset(page: Page, preset: str) -> None:
    """On the Train page, pick ``preset`` and wait for the network preview it gives."""
    open_page(page, "Train")
    page.get_by_text(preset, exact=True).click()
    expect(page.get_by_text("parameters").first).to_be_visible()


def wait_until_trained(page: Page, dataset_name: str, timeout: float) -> None:
    """Wait for the Train page's outcome and the sidebar's note of the new model."""
    expect(page.get_by_text("Training finished")).to_be_visible(timeout=timeout)
    expect(page.get_by_text("See the results")).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]').get_by_text(f"Trained on {dataset_name}")
           ).to_be_visible()


def download_flagged(page: Page) -> tuple[str, pd.DataFrame]:
    """Click "Download flagged rows"; return the file's name and its cells."""
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download flagged rows").click()
    download = download_info.value
    return download.suggested_filename, read_cells(download.path())


def read_cells(path: Path) -> pd.DataFrame:
    """A CSV's cells as the text written in it (blank stays blank, no number parsing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


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


def test_upload_train_with_fast_preset_and_see_the_result(
    page: Page, upload_file: Path, app_url: str, tmp_path: Path
):
    # First start: the sample dataset is already there.
    wait_for_first_start(page)

    upload(page, upload_file, 2000)
    settle(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "data.png")
    # The log has a timestamp column, so its rows are read as a time series unless switched off;
    # this test is about the row-wise autoencoder (the time series has its own test below).
    expect(page.get_by_text(re.compile(r"^On because column timestamp holds times"))).to_be_visible()
    page.get_by_text("Rows form a time series: read windows of consecutive rows").click()
    expect(page.get_by_text(re.compile(r"^Off: each row is scored alone, as you chose"))).to_be_visible(
        timeout=RERUN_TIMEOUT_MS
    )

    choose_preset(page, "Fast")
    page.get_by_role("button", name="Train model").click()

    # While it trains: the live panel with its loss curve, a Stop button, Train model disabled.
    expect(page.get_by_role("button", name="Stop")).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Train model")).to_be_disabled()
    expect(page.get_by_text(re.compile(r"^Epoch \d+ of \d+"))).to_be_visible()
    # Then the outcome once training ends.
    wait_until_trained(page, "press_sensors.csv", timeout=TRAIN_TIMEOUT_MS)
    settle(page)
    # Start the picture at the network preview, so that the outcome and the curve are in it.
    show_from(page, "The network")
    page.screenshot(path=SCREENSHOTS / "train.png")

    # ---- Results: drag the threshold, see the count follow, download the flagged rows.
    open_page(page, "Results")
    flagged = metric(page, "Rows flagged")
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
    threshold = float(metric(page, "Threshold").inner_text())
    assert 0 < count < 2000
    show_from(page, "Where to draw the line")
    page.screenshot(path=SCREENSHOTS / "results.png")
    show_from(page, "Flagged rows")
    page.screenshot(path=SCREENSHOTS / "results_rows.png")

    file_name, rows = download_flagged(page)
    assert file_name == "press_sensors_flagged.csv"
    original = read_cells(upload_file)
    assert len(rows) == count
    assert rows.columns[0] == "row"  # each row's place in the upload, as the page numbers rows
    assert list(rows.columns[1 : original.shape[1] + 1]) == list(original.columns)
    assert (rows["is_anomaly_2"] == "1").all()  # the file has its own is_anomaly column
    scores = rows["anomaly_score"].astype(float)
    assert scores.is_monotonic_decreasing
    assert scores.min() > threshold * (1 - 1e-3)  # the metric shows 4 significant digits
    # Every downloaded row is a row of the upload, cell for cell as written there.
    matched = rows[list(original.columns)].merge(original.drop_duplicates(), how="left", indicator=True)
    assert (matched["_merge"] == "both").all()
    # ... and the row column points at that very row.
    at_row = original.iloc[rows["row"].astype(int) - 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows[list(original.columns)].reset_index(drop=True), at_row)

    # ---- Review: mark the first row of page 2 expected, and adopt the threshold that suggests.
    pager = page.get_by_label(f"Page (of {-(-count // PAGE_ROWS)})", exact=True)
    pager.fill("2")
    pager.press("Enter")
    expect(page.get_by_text(f"Flagged rows {PAGE_ROWS + 1} to")).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    settle(page)
    page.get_by_role("button", name="✗ Expected").click()
    expect(metric(page, "Reviewed rows")).to_have_text("1", timeout=RERUN_TIMEOUT_MS)
    suggestion = page.get_by_role("button", name=re.compile(r"^Use the suggested threshold"))
    expect(suggestion).to_be_visible()
    reviewed_count = int(re.search(r"flags ([\d,]+) rows", suggestion.inner_text()).group(1).replace(",", ""))
    assert 0 < reviewed_count < count  # the rows above the marked one stay flagged
    suggestion.click()
    expect(flagged).to_have_text(f"{reviewed_count:,}", timeout=RERUN_TIMEOUT_MS)
    settle(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download model").click()
    bundle = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(bundle)
    assert bundle.name == "press_sensors_model.zip"

    # ---- Is the autoencoder worth it? The training job fitted the baselines on the same rows.
    expect(page.get_by_role("heading", name="Is the autoencoder worth it?")).to_be_visible()
    expect(page.get_by_text(re.compile(r"flags \d+% of the same rows as the autoencoder"))).to_be_visible()
    expect(page.get_by_text("Which kinds of oddity each method can see")).to_be_visible()
    settle(page)
    show_from(page, "Is the autoencoder worth it?")
    page.screenshot(path=SCREENSHOTS / "comparison.png")
    # Switch the whole workbench to Isolation Forest's scores, then back.
    methods = page.get_by_test_id("stButtonGroup")
    methods.get_by_text("Isolation Forest", exact=True).click()
    expect(page.get_by_text(re.compile(r"The Isolation Forest scores whole rows"))).to_be_visible(
        timeout=RERUN_TIMEOUT_MS
    )
    expect(page.get_by_role("heading", name="Is the autoencoder worth it?")).to_have_count(0)
    methods.get_by_text("Autoencoder", exact=True).click()
    expect(page.get_by_role("heading", name="Is the autoencoder worth it?")).to_be_visible(
        timeout=RERUN_TIMEOUT_MS
    )
    settle(page)

    # ---- Score: the same file again, with the session's model and the threshold just chosen.
    open_page(page, "Score")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(upload_file)
    expect(flagged).to_have_text(f"{reviewed_count:,}")
    settle(page)
    show_from(page, "Score")
    page.screenshot(path=SCREENSHOTS / "score.png")

    # ---- A new session (another browser context): the downloaded model keeps the threshold the
    # review suggested, and the review itself.
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 1000})
    fresh = context.new_page()
    fresh.set_default_timeout(60_000)
    fresh.goto(app_url)
    wait_for_first_start(fresh)
    open_page(fresh, "Score")
    uploaders = fresh.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploaders.first.set_input_files(bundle)
    expect(fresh.get_by_text(re.compile(r"^Loaded a model \(Autoencoder\) trained on press_sensors.csv"))
           ).to_be_visible(timeout=READ_TIMEOUT_MS)
    uploaders.nth(1).set_input_files(upload_file)
    expect(metric(fresh, "Rows flagged")).to_have_text(f"{reviewed_count:,}", timeout=READ_TIMEOUT_MS)
    expect(metric(fresh, "Reviewed rows")).to_have_text("1")
    context.close()


# --------------------------------------------------------------------------- a large file

LARGE_ROWS = 200_000


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    """The scale benchmark's table (seeded): 32 sensors, 2 categories, is_anomaly, 1% anomalies."""
    return dataset_path(LARGE_ROWS, tmp_path)


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Print how long the block took (shown with ``pytest -s``); nothing when it failed."""
    started = time.perf_counter()
    yield
    print(f"  {step}: {time.perf_counter() - started:.2f} s", flush=True)


def wait_for_new_text(value: Locator, old: str, timeout: float = RERUN_TIMEOUT_MS) -> str:
    """Poll ``value`` every 20 ms until its text is no longer ``old``; return the new text.

    ``expect`` backs off to polling once a second, too coarse to time a threshold change by.
    """
    deadline = time.perf_counter() + timeout / 1000
    while (text := value.inner_text()) == old:
        if time.perf_counter() > deadline:
            pytest.fail(f"still {old!r} after {timeout / 1000:.0f}s")
        value.page.wait_for_timeout(20)
    return text


def histogram_threshold(page: Page) -> Locator:
    """The threshold's label on the score histogram (the page's first chart)."""
    histogram = page.locator('[data-testid="stPlotlyChart"]').first
    return histogram.locator(".annotation-text").filter(has_text=re.compile(r"^threshold "))


def shown_row_numbers(page: Page) -> list[int]:
    """The row numbers (as in the file, from 1) of the flagged rows the table has drawn.

    The grid draws on a canvas; its first column, the row number, is also in the hidden
    table it keeps for screen readers. The table names the top row under "Why row N stands
    out" (the page's top row when none is selected): waiting for it to match makes sure the
    grid has drawn the page that is shown.
    """
    why = page.get_by_text(re.compile(r"^Why row \d+ stands out$"))
    top = re.search(r"\d+", why.inner_text()).group()
    # The flagged rows are the page's first data frame (the comparison panel below has more).
    numbers = page.locator('[data-testid="stDataFrame"]').first.locator('tbody td[aria-colindex="1"]')
    expect(numbers.first).to_have_text(top)
    return [int(text) for text in numbers.all_inner_texts()]


def test_a_200000_row_file_from_upload_to_download(page: Page, large_file: Path):
    name = large_file.name
    print(f"\n{LARGE_ROWS:,} rows, {large_file.stat().st_size / 2**20:.0f} MB, as seen in the browser:")
    wait_for_first_start(page)
    with timed("upload and read"):
        upload(page, large_file, LARGE_ROWS, timeout=READ_TIMEOUT_MS)
        expect(page.get_by_text(re.compile(rf"^Read {re.escape(name)} .*: 200,000 rows × 35 columns$"))
               ).to_be_visible()

    choose_preset(page, "Fast")
    # On this many rows Fast's step limit, not its 20 epochs, decides how long training takes.
    expect(page.get_by_text(re.compile(r"the step limit \(1,000 batch steps\) caps training on 200,000 rows"))
           ).to_be_visible()
    with timed("training (Fast), with scoring every row"):
        page.get_by_role("button", name="Train model").click()
        wait_until_trained(page, name, timeout=TRAIN_TIMEOUT_MS)

    with timed("Results, first render"):
        open_page(page, "Results")
        flagged = metric(page, "Rows flagged")
        expect(flagged).to_be_visible(timeout=RERUN_TIMEOUT_MS)
        expect(histogram_threshold(page)).to_be_visible(timeout=RERUN_TIMEOUT_MS)
        # The flagged rows are the first table (the comparison panel below has more).
        expect(page.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=RERUN_TIMEOUT_MS)
        expect(page.locator('.stApp[data-test-script-state="notRunning"]')).to_have_count(1)
    expect(histogram_threshold(page)).to_have_text(f"threshold {metric(page, 'Threshold').inner_text()}")
    settle(page)

    # The slider by keyboard: its highest score flags nothing.
    before = flagged.inner_text()
    assert before != "0"
    thumb = page.get_by_role("slider").first
    thumb.focus()
    with timed("threshold change by the slider"):
        thumb.press("End")
        assert wait_for_new_text(flagged, before) == "0"
    expect(page.get_by_text("No row scores above the threshold")).to_be_visible()
    settle(page)

    # The share box: 2% of the rows (fewer only if scores tie at the cut).
    share = page.get_by_label("Share of rows flagged (%)", exact=True)
    share.fill("2")
    with timed("threshold change by the share box"):
        share.press("Enter")
        count = int(wait_for_new_text(flagged, "0").replace(",", ""))
    assert 0.99 * LARGE_ROWS * 0.02 <= count <= LARGE_ROWS * 0.02
    threshold = metric(page, "Threshold").inner_text()
    expect(histogram_threshold(page)).to_have_text(f"threshold {threshold}")
    settle(page)

    # The flagged rows, a page at a time, highest score first.
    pages = -(-count // PAGE_ROWS)
    pager = page.get_by_label(f"Page (of {pages:,})", exact=True)
    expect(pager).to_have_value("1")
    expect(page.get_by_text(f"Flagged rows 1 to {PAGE_ROWS} of {count:,}, highest score first")
           ).to_be_visible()
    first_page = shown_row_numbers(page)
    pager.fill("2")
    with timed("turning to page 2 of the flagged rows"):
        pager.press("Enter")
        expect(page.get_by_text(f"Flagged rows {PAGE_ROWS + 1} to {2 * PAGE_ROWS} of {count:,}")
               ).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    settle(page)
    second_page = shown_row_numbers(page)
    assert len(first_page) >= 5
    assert len(second_page) >= 5
    assert not set(first_page) & set(second_page)

    with timed("download of the flagged rows"):
        file_name, rows = download_flagged(page)
    assert file_name == f"{large_file.stem}_flagged.csv"
    assert len(rows) == count
    assert (rows["is_anomaly_2"] == "1").all()  # the file has its own is_anomaly column
    assert rows["anomaly_score"].astype(float).is_monotonic_decreasing
    # The rows the table showed, in its order, are the download's first rows on each page,
    # and their cells are the upload's cells for those row numbers, exactly as written.
    original = read_cells(large_file)
    for start, numbers in ((0, first_page), (PAGE_ROWS, second_page)):
        downloaded = rows.iloc[start : start + len(numbers)][list(original.columns)]
        uploaded = original.iloc[[number - 1 for number in numbers]]
        pd.testing.assert_frame_equal(downloaded.reset_index(drop=True), uploaded.reset_index(drop=True))


# --------------------------------------------------------------------------- free text

LOG_TEMPLATES = [
    "instruction cache parity error corrected",
    "generating core file for program",
    "floating point alignment exceptions",
    "total interrupts and critical input interrupts",
]


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    """Log lines with a free-text message; the last lines say something never said before."""
    n = 600
    messages = [f"{LOG_TEMPLATES[i % 4]} {i * 7}" for i in range(n)]
    messages[-3:] = ["kernel panic: unable to mount root filesystem"] * 3
    frame = pd.DataFrame(
        {
            "level": ["INFO"] * (n - 3) + ["FATAL"] * 3,
            "duration_ms": [10 + (i * 37) % 11 for i in range(n)],
            "message": messages,
        }
    )
    path = tmp_path / "node_logs.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_log_with_a_free_text_column_from_upload_to_similar_training_texts(page: Page, log_file: Path):
    from detector import text

    if not text.available():
        pytest.skip("needs the text extra (wordllama)")
    wait_for_first_start(page)
    upload(page, log_file, 600)
    # The message column is read as free text and chosen as a text feature.
    chooser = page.get_by_test_id("stMultiSelect").filter(has_text="Text features")
    expect(chooser.get_by_text("message", exact=True)).to_be_visible()

    choose_preset(page, "Fast")
    page.get_by_role("button", name="Train model").click()
    wait_until_trained(page, "node_logs.csv", timeout=TRAIN_TIMEOUT_MS)

    open_page(page, "Results")
    expect(metric(page, "Rows flagged")).to_be_visible()
    # The top row's explanation: its text beside the most similar training texts.
    expect(page.get_by_text(re.compile(r"^Why row \d+ stands out$"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Text column message:"))).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    settle(page)
    why = page.get_by_text(re.compile(r"^Why row \d+ stands out$")).inner_text()
    assert int(re.search(r"\d+", why).group()) in (598, 599, 600), "the odd message scores highest"
    expect(page.get_by_text("Seen in 3 of 600 training texts (rare)", exact=False)).to_be_visible()
    # The grid draws on a canvas; its header is also in the table it keeps for screen readers.
    neighbours = page.locator('[data-testid="stDataFrame"]').filter(has_text="most similar training texts")
    expect(neighbours).to_have_count(1)

    file_name, rows = download_flagged(page)
    assert file_name == "node_logs_flagged.csv"
    assert {"598", "599", "600"} <= set(rows["row"])
    assert rows.loc[rows["row"] == "600", "message"].item() == "kernel panic: unable to mount root filesystem"
    assert rows.loc[rows["row"] == "600", "top_columns"].item().startswith("message")


# --------------------------------------------------------------------------- a time series


@pytest.fixture
def pump_log(tmp_path: Path) -> Path:
    """Two sensors on a 24-row cycle; rows 301 to 324 hold a flapping valve, each reading in range."""
    n, period = 480, 24
    t = np.arange(n)
    rng = np.random.default_rng(0)
    pressure = np.sin(2 * np.pi * t / period) + 0.05 * rng.normal(size=n)
    flow = np.cos(2 * np.pi * t / period) + 0.05 * rng.normal(size=n)
    pressure[300:324] = np.sign(np.sin(np.pi * t[300:324] / 2)) * 0.9
    frame = pd.DataFrame({
        "when": pd.date_range("2024-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
        "pressure": pressure.round(4), "flow": flow.round(4),
    })
    path = tmp_path / "pump_log.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_sensor_log_from_upload_to_episodes_and_their_sensor(page: Page, pump_log: Path):
    wait_for_first_start(page)
    upload(page, pump_log, 480)
    # A timestamp column: the rows are read as a time series from the start, and the page says why.
    expect(page.get_by_text(re.compile(r"^On because column when holds times"))).to_be_visible()
    suggestion = page.get_by_text(re.compile(r"^Suggested: 24 rows: the series repeats every 24 rows"))
    expect(suggestion).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    choose_preset(page, "Fast")
    expect(page.get_by_text(re.compile(r"windows of 24 consecutive rows × 2 sensors = 48 inputs"))
           ).to_be_visible()
    page.get_by_role("button", name="Train model").click()
    wait_until_trained(page, "pump_log.csv", timeout=TRAIN_TIMEOUT_MS)

    open_page(page, "Results")
    expect(page.get_by_role("heading", name="Episodes")).to_be_visible(timeout=RERUN_TIMEOUT_MS)
    settle(page)
    # The episodes grid draws on a canvas; its cells are also in the table kept for screen readers.
    episodes = page.locator('[data-testid="stDataFrame"]').filter(has_text="top sensors")
    expect(episodes).to_have_count(1)
    first_peak = episodes.locator('tbody tr').first.locator('td[aria-colindex="7"]')
    assert 277 <= int(first_peak.inner_text()) <= 348  # the flapping stretch and the windows over it
    expect(episodes.locator('tbody tr').first.locator('td[aria-colindex="8"]')).to_contain_text("pressure")
    expect(page.get_by_role("button", name="Download episodes")).to_be_visible()
