"""Helpers shared by the AppTest page tests: the app's path, a tiny upload, and state access."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from detector.autoencoder import AutoencoderDetector
from detector.autoencoder_config import AutoencoderConfig
from detector.columns import infer_roles
from detector.table import read_table
from detector.training import feature_roles
from ui.state import STATE_KEY, AppState, ModelState, TrainedOn

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def tiny_csv(n_rows: int = 60) -> bytes:
    """Two correlated sensors, a site and a 0/1 label: small enough to train in a second."""
    rng = np.random.default_rng(0)
    temp = rng.normal(20, 2, n_rows).round(2)
    frame = pd.DataFrame(
        {
            "temp": temp,
            "pressure": (2 * temp + rng.normal(0, 0.5, n_rows)).round(2),
            "site": rng.choice(["north", "south"], n_rows),
            "is_anomaly": (np.arange(n_rows) % 20 == 0).astype(int),
        }
    )
    return frame.to_csv(index=False).encode()


def use_navigation_not_pages_folder() -> None:
    """Make AppTest treat ``pages/`` as a plain folder, as the real server does.

    AppTest (Streamlit 1.67) resets ``PagesManager.uses_pages_directory`` before every run, so
    with a ``pages/`` folder next to app.py each rerun after the first executes the page file
    alone, through the legacy multipage path: app.py (sidebar, error edge) never runs again. The
    server sets the flag once and ``st.navigation`` clears it, so we clear it the same way.
    (See streamlit/streamlit#14217, which introduced the reset.)
    """
    if getattr(PagesManager.__init__, "_navigation_only", False):
        return
    original = PagesManager.__init__

    def init(self, *args, **kwargs) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._navigation_only = True  # type: ignore[attr-defined]
    PagesManager.__init__ = init  # type: ignore[method-assign]


def start_app() -> AppTest:
    """Run the app's first page (a generous timeout: the first run imports pandas and sklearn)."""
    use_navigation_not_pages_folder()
    return AppTest.from_file(APP, default_timeout=60).run()


def app_state(at: AppTest) -> AppState:
    return at.session_state[STATE_KEY]


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/csv") -> AppTest:
    """Upload a file through the Data page's uploader (the app's first page)."""
    at.file_uploader[0].set_value((name, data, mime))
    return at.run()


def assert_clean(at: AppTest) -> None:
    """No exception escaped and the page edge did not have to catch one either."""
    assert not at.exception, [e.value for e in at.exception]
    assert not [e for e in at.error if "unexpected" in e.value], [e.value for e in at.error]


# Two epochs of a tiny network on tiny.csv: enough for pages that need a model, in a second.
TINY_CONFIG = AutoencoderConfig(hidden_layers=(8,), bottleneck=2, epochs=2, patience=2, batch_size=16)


@functools.cache
def tiny_detector() -> AutoencoderDetector:
    """A model of tiny.csv, trained once per test process (pages under test only use it)."""
    table = read_table(tiny_csv(), name="tiny.csv")
    roles = infer_roles(table.frame)
    return AutoencoderDetector(config=TINY_CONFIG, columns=feature_roles(roles)).fit(
        table.frame.loc[:, list(roles.features)]
    )


def with_model(at: AppTest, detector: AutoencoderDetector) -> AppTest:
    """Put ``detector`` in the session as if it had just been trained on the loaded dataset."""
    state = app_state(at)
    dataset = state.dataset
    state.model = ModelState(
        detector=detector, trained_on=TrainedOn.of(dataset, len(dataset.frame)),
        history=detector.history_, seconds=1.0, stopped_by_user=False, dataset=dataset,
    )
    return at


def results_page() -> AppTest:
    """The Results page for tiny.csv with the tiny model."""
    at = with_model(upload(start_app(), "tiny.csv", tiny_csv()), tiny_detector())
    return at.switch_page("pages/results.py").run()


def metric(at: AppTest, label: str) -> str:
    """The value of the metric labelled ``label``."""
    return next(m.value for m in at.metric if m.label == label)
