"""Tuning of the Streamlit server process, which the library leaves alone (it sets nothing process-wide)."""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_frozen_with_keras = False


def freeze_what_is_loaded() -> None:
    """Exempt every object alive now (TensorFlow's and Plotly's modules, caches) from the GC's walks.

    Streamlit runs a full garbage collection after every script run once Keras is loaded (its
    ``clear_session`` clean-up). Importing Keras leaves some 400,000 long-lived objects that each
    collection walked again, holding the GIL for 0.2-0.3 s: every rerun of the dashboard, a
    threshold drag included, paid that, and training next to a busy page slowed several times.
    ``gc.freeze`` moves what is alive out of the collected generations. The price is that this
    moment's own short-lived cycles are never collected, so it runs once with Keras loaded (and
    before that only while nothing heavy is loaded), not at every training: each call would
    also freeze every session's live objects, and their cycles would never be freed.
    """
    global _frozen_with_keras
    with _lock:
        if _frozen_with_keras:
            return
        gc.collect()
        gc.freeze()
        _frozen_with_keras = "keras" in sys.modules
