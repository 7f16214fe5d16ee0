"""Free-text columns in the app, driven through AppTest: the Data page's choice and Results' neighbours."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from apptest_helpers import TINY_CONFIG, app_state, assert_clean, start_app, upload, with_model

from detector import AutoencoderDetector
from detector import text as text_model
from detector.training import feature_roles

needs_text = pytest.mark.skipif(not text_model.available(), reason="needs the text extra (wordllama)")

MESSAGES = [
    "instruction cache parity error corrected",
    "generating core file for program",
    "floating point alignment exceptions",
    "ciod: failed to read message prefix on control stream",
]


def log_csv(n: int = 120) -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "level": rng.choice(["INFO", "FATAL"], n, p=[0.9, 0.1]),
            "latency": rng.normal(10, 1, n).round(3),
            "message": [f"{MESSAGES[i % 4]} {i}" for i in range(n)],
        }
    )
    return frame.to_csv(index=False).encode()


@needs_text
def test_a_free_text_column_is_offered_and_chosen_as_a_text_feature():
    at = upload(start_app(), "logs.csv", log_csv())

    assert_clean(at)
    chooser = next(m for m in at.multiselect if m.label == "Text features")
    assert chooser.value == ["message"]
    assert app_state(at).dataset.roles.text == ("message",)

    chooser.set_value([]).run()
    assert app_state(at).dataset.roles.text == ()
    assert any("message" in caption.value for caption in at.caption if caption.value.startswith("Not used"))


def test_without_the_text_extra_the_data_page_says_text_is_ignored_and_how_to_enable_it(monkeypatch):
    monkeypatch.setattr(text_model, "available", lambda: False)
    at = upload(start_app(), "logs.csv", log_csv())

    assert_clean(at)
    assert not [m for m in at.multiselect if m.label == "Text features"]
    assert app_state(at).dataset.roles.text == ()
    (note,) = [i.value for i in at.info if "Free-text column" in i.value]
    assert "message" in note
    assert 'pip install ".[text]"' in note


@needs_text
def test_results_show_a_rows_text_beside_the_most_similar_training_texts():
    at = upload(start_app(), "logs.csv", log_csv())
    dataset = app_state(at).dataset
    detector = AutoencoderDetector(config=TINY_CONFIG, columns=feature_roles(dataset.roles)).fit(
        dataset.frame.loc[:, list(dataset.roles.features)]
    )
    at = with_model(at, detector).switch_page("pages/results.py").run()

    assert_clean(at)
    heading = next(m.value for m in at.markdown if m.value.startswith("**Text column"))
    assert "message" in heading
    assert "Seen in 30 of 120 training texts" in heading
    neighbours = next(
        d.value for d in at.dataframe if "most similar training texts" in d.value.columns
    )
    assert len(neighbours) == 3
    assert neighbours["similarity"].between(-1, 1).all()
    parts = next(c.value for c in at.caption if c.value.startswith("The score adds 4 parts"))
    assert "wording" in parts
    assert "Wording: how much the row's text reads like a failure" in parts


@needs_text
def test_hostile_texts_get_notes_on_the_data_page_not_a_crash():
    rng = np.random.default_rng(1)
    messages = [f"{MESSAGES[i % 4]} {i}" for i in range(60)]
    messages[:4] = ["x" * 5000, "\x01\x02\x03 binary \x04 junk", "磁盘错误发生了在节点上", ""]
    frame = pd.DataFrame({"latency": rng.normal(size=60).round(3), "message": messages})
    at = upload(start_app(), "hostile.csv", frame.to_csv(index=False).encode())

    assert_clean(at)
    assert app_state(at).dataset.roles.text == ("message",)
    warnings = [w.value for w in at.warning if "Text column" in w.value]
    assert any("longer than 2,000 characters" in w for w in warnings)
    assert any("missing or blank" in w for w in warnings)
    assert any("non-Latin script" in w for w in warnings)
