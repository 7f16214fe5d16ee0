"""Free-text columns through the packaged text model (detector/text.py) and everything that reads them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detector import AutoencoderConfig, AutoencoderDetector, ColumnRoles, IsolationForestDetector, load_bundle
from detector import text as text_model
from detector.bundle import save_bundle
from detector.errors import DataError
from detector.preprocessing import Preprocessor
from detector.results import similar_texts

pytestmark = pytest.mark.skipif(not text_model.available(), reason="needs the text extra (wordllama)")

ROOT = Path(__file__).resolve().parent.parent
TINY = AutoencoderConfig(epochs=3, batch_size=32, seed=0)
SHORT = AutoencoderConfig(epochs=40, batch_size=32, seed=0)
TEMPLATES = [
    "instruction cache parity error corrected",
    "generating core file for program",
    "floating point alignment exceptions",
    "total interrupts and critical input interrupts",
]


def log_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "level": rng.choice(["INFO", "WARN"], n),
            "latency": rng.normal(10, 1, n),
            "message": [f"{TEMPLATES[i % 4]} {rng.integers(0, 10_000)}" for i in range(n)],
        }
    )


ROLES = ColumnRoles(numeric=("latency",), categorical=("level",), text=("message",))


def no_network(monkeypatch) -> None:
    """Any attempt to open a connection or resolve a name fails, and the model loads afresh."""

    def refuse(*args, **kwargs):
        raise OSError("networking is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(text_model, "_MODEL", {})
    text_model._CACHE.clear()


def test_encoding_works_with_networking_disabled(monkeypatch):
    no_network(monkeypatch)
    vectors = text_model.embed_texts(["disk is full", "disk is nearly full", "user logged in"])
    assert vectors.shape == (3, text_model.MODEL_DIMENSIONS)
    assert np.isfinite(vectors).all()
    identity = text_model.model_identity()
    assert identity["name"] == text_model.MODEL_NAME
    assert "Llama 2 Community License" in identity["licence"]
    assert len(identity["weights_sha256"]) == 64


def test_similar_texts_are_closer_than_unrelated_ones():
    disk, nearly, login = text_model.embed_texts(["disk is full", "disk is nearly full", "user logged in"])

    def cosine(a, b):
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    assert cosine(disk, nearly) > cosine(disk, login)


def test_digits_are_read_as_zeros_and_blank_texts_embed_as_zeros():
    a, b, blank, spaces = text_model.embed_texts(["error 12 at 0x1f", "error 99 at 0x7f", "", "   "])
    np.testing.assert_array_equal(a, b)
    assert not blank.any()
    assert not spaces.any()


def test_hostile_texts_are_embedded_without_error():
    texts = [
        "x" * 100_000,  # cut to MAX_CHARACTERS
        "\x00\x01\x02 binary \xff junk",
        "Ошибка диска 磁盘错误 خطأ",
        "🔥" * 50,
        "\ud800 lone surrogate",
    ]
    vectors = text_model.embed_texts(texts)
    assert vectors.shape == (5, text_model.MODEL_DIMENSIONS)
    assert np.isfinite(vectors).all()


def test_a_column_is_embedded_once_then_served_from_the_cache():
    texts = np.array([f"cache check {i} words" for i in range(50)], dtype=object)
    first = text_model.embed_texts(texts)
    assert text_model.embed_texts(texts.copy()) is first


def test_the_preprocessor_encodes_a_text_column_as_its_components():
    frame = log_frame()
    prep = Preprocessor(numeric=("latency",), categorical=("level",), text=("message",)).fit(frame)
    encoded = prep.transform(frame)
    width = text_model.ENCODED_WIDTH
    assert prep.feature_names_out_[-width:] == [
        *(f"message~text{i + 1}" for i in range(text_model.COMPONENTS)), "message~novelty"
    ]
    assert encoded.shape == (len(frame), len(prep.feature_names_out_))
    assert np.isfinite(encoded).all()
    assert (prep.output_source_[-width:] == 2).all()  # folded back into "message"
    # Four templates differing only in digits: four distinct encodings.
    text_part = encoded[:, -width:]
    assert len(np.unique(text_part.round(4), axis=0)) == 4
    # The stand-in for a reconstruction is the nearest training text.
    back = prep.inverse_transform(encoded[:4])
    assert [value.rsplit(" ", 1)[0] for value in back["message"]] == TEMPLATES


def test_preprocessing_with_text_survives_its_json_round_trip():
    frame = log_frame()
    prep = Preprocessor(categorical=("level",), text=("message",)).fit(frame)
    again = Preprocessor.from_dict(json.loads(json.dumps(prep.to_dict())))
    np.testing.assert_allclose(again.transform(frame), prep.transform(frame), rtol=1e-6, atol=1e-6)
    assert again.text == ("message",)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda entry: entry.pop("model"), "exactly the entries"),
        (lambda entry: entry.update(components=[[1.0] * 3]), "components has the wrong shape"),
        (lambda entry: entry.update(scale=[0.0] * text_model.ENCODED_WIDTH), "scale must be positive"),
        (lambda entry: entry.update(examples=["x" * 10_000]), "examples must be"),
        (lambda entry: entry.update(example_counts=[10**9] * 4), "example_counts must be"),
        (lambda entry: entry.update(mean=["nan"] * 256), "mean must be finite"),
    ],
)
def test_a_damaged_text_entry_in_a_bundle_is_refused_clearly(damage, message):
    data = Preprocessor(text=("message",)).fit(log_frame()).to_dict()
    damage(data["text"][0])
    with pytest.raises(DataError, match=message):
        Preprocessor.from_dict(data)


def test_other_weights_than_the_training_ones_are_refused():
    data = Preprocessor(text=("message",)).fit(log_frame()).to_dict()
    data["text"][0]["model"]["weights_sha256"] = "0" * 64
    prep = Preprocessor.from_dict(data)
    with pytest.raises(DataError, match="other weights"):
        prep.transform(log_frame())


def test_a_text_column_with_no_text_is_refused_and_a_mostly_blank_one_gets_a_note():
    frame = log_frame(40)
    frame["message"] = ""
    with pytest.raises(DataError, match="'message' has no text in the 40 training rows"):
        Preprocessor(numeric=("latency",), text=("message",)).fit(frame)
    frame.loc[:9, "message"] = "disk is full"
    prep = Preprocessor(numeric=("latency",), text=("message",)).fit(frame)
    assert prep.texts_[0].blank_share == 0.75
    (note,) = text_model.column_notes(frame["message"], "message")
    assert note.startswith("Text column 'message': 30 of 40 values are missing or blank: most rows get")


def test_long_junk_and_foreign_texts_get_notes():
    odd = ["x" * 3000, "\x00\x01\x02 junk \x03", "Ошибка диска произошла"]
    series = pd.Series(["disk is full"] * 5 + odd)
    notes = text_model.column_notes(series, "message")
    assert len(notes) == 3
    assert "1 text is longer than 2,000 characters (the longest has 3,000)" in notes[0]
    assert "1 value holds control characters or broken encoding" in notes[1]
    assert "1 text is mostly in a non-Latin script" in notes[2]
    assert text_model.column_notes(series.head(5), "message") == []


def test_rows_whose_only_feature_is_a_blank_text_are_not_scored():
    frame = log_frame(60)
    frame.loc[[3, 7], "message"] = [None, "  "]
    detector = IsolationForestDetector(columns=ColumnRoles(text=("message",)), n_estimators=10).fit(frame)
    scores = detector.decision_function(frame)
    assert np.isnan(scores[[3, 7]]).all()
    assert np.isfinite(np.delete(scores, [3, 7])).all()


def test_a_new_kind_of_message_scores_higher_and_the_text_column_explains_it():
    frame = log_frame(300)
    detector = AutoencoderDetector(columns=ROLES, config=SHORT).fit(frame)
    new = frame.head(3).copy()
    new.loc[2, "message"] = "kernel panic: unable to mount root filesystem on unknown block"
    scores, shares = detector.score_with_contributions(new)
    assert scores[2] > max(scores[0], scores[1])
    assert shares.loc[2].idxmax() == "message"


def test_a_bundle_with_a_text_column_scores_a_new_file_the_same_offline(tmp_path, monkeypatch):
    frame = log_frame(200)
    detector = AutoencoderDetector(columns=ROLES, config=TINY).fit(frame)
    save_bundle(detector, tmp_path / "model.zip")
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        names = archive.namelist()
        stored = json.loads(next(archive.read(n) for n in names if n.endswith("detector.json")))
    (entry,) = stored["fitted"]["preprocessing"]["text"]
    assert entry["model"]["name"] == text_model.MODEL_NAME
    assert "Llama 2 Community License" in entry["model"]["licence"]
    new = log_frame(50, seed=1)
    expected = detector.decision_function(new)
    no_network(monkeypatch)
    loaded = load_bundle(tmp_path / "model.zip").detector
    np.testing.assert_allclose(loaded.decision_function(new), expected, rtol=1e-5)


def test_failure_wording_reads_error_words_higher_and_blank_texts_lowest():
    frame = pd.DataFrame(
        {"message": [
            "user logged in from the usual address",
            "fatal error: disk failure, exception raised",
            "",
            None,
        ]}
    )
    features = Preprocessor(text=("message",)).fit(frame).texts_[0]
    assert features.wording_prompt == text_model.FAILURE_WORDS
    wording = features.wording(frame["message"])
    assert wording[1] > wording[0] > -1.0
    assert wording[2] == wording[3] == -1.0


def test_the_autoencoder_adds_a_wording_part_that_ranks_a_repeated_error_line_higher():
    frame = log_frame(300)
    # A failure line repeated often enough that rarity alone cannot set it apart.
    frame.loc[frame.index[::10], "message"] = "fatal error: node failure, exception in kernel"
    with_wording = AutoencoderDetector(columns=ROLES, config=SHORT).fit(frame)
    without = AutoencoderDetector(
        columns=ROLES, config=AutoencoderConfig(epochs=40, batch_size=32, seed=0, failure_wording=False),
    ).fit(frame)
    assert with_wording.part_names[-1] == "wording"
    assert "wording" not in without.part_names
    parts = with_wording.score_components(frame)
    np.testing.assert_allclose(parts.sum(axis=1), with_wording.decision_function(frame), rtol=1e-9)
    failing = frame["message"].str.startswith("fatal").to_numpy()
    assert parts["wording"][failing].min() > parts["wording"][~failing].max()

    def mean_rank(detector):
        return pd.Series(detector.decision_scores_).rank()[failing].mean()

    assert mean_rank(with_wording) > mean_rank(without)
    # Without text columns the setting changes nothing.
    table_only = ColumnRoles(numeric=("latency",), categorical=("level",))
    assert "wording" not in AutoencoderDetector(columns=table_only, config=TINY).fit(frame).part_names


def test_a_bundle_keeps_the_wording_part_and_an_older_bundle_without_it_still_loads(tmp_path):
    frame = log_frame(200)
    detector = AutoencoderDetector(columns=ROLES, config=TINY).fit(frame)
    save_bundle(detector, tmp_path / "model.zip")
    loaded = load_bundle(tmp_path / "model.zip").detector
    assert loaded.part_names == detector.part_names
    np.testing.assert_allclose(loaded.decision_function(frame), detector.decision_scores_, rtol=1e-5)
    # A bundle written before the wording part: no flag, no prompt, no fourth tail.
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = next(n for n in members if n.endswith("detector.json"))
    stored = json.loads(members[name])
    del stored["fitted"]["failure_wording"]
    del stored["fitted"]["preprocessing"]["text"][0]["wording_prompt"]
    members[name] = json.dumps(stored).encode()
    with zipfile.ZipFile(tmp_path / "old.zip", "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    old = load_bundle(tmp_path / "old.zip").detector
    assert "wording" not in old.part_names
    assert np.isfinite(old.decision_function(frame)).all()
    # The flag without a prompt to measure it by is an inconsistent bundle, refused on loading.
    stored["fitted"]["failure_wording"] = True
    members[name] = json.dumps(stored).encode()
    with zipfile.ZipFile(tmp_path / "odd.zip", "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    with pytest.raises(DataError, match="none of its text columns measures it"):
        load_bundle(tmp_path / "odd.zip")


def test_a_flagged_text_is_shown_with_how_often_it_was_seen_and_the_most_similar_other_texts():
    frame = log_frame(200)
    frame.loc[0, "message"] = "the printer on floor 3 is out of paper"
    detector = AutoencoderDetector(columns=ROLES, config=TINY).fit(frame)
    new = pd.DataFrame({"level": ["INFO"] * 4, "latency": [10.0] * 4, "message": [
        "instruction cache parity error corrected 77",
        "instruction cache parity error detected",
        "the quarterly sales report is attached",
        "the printer on floor 12 is out of paper",
    ]})
    seen, variant, unlike, rare = (similar_texts(detector, new, i)[0] for i in range(4))
    assert (seen.seen, seen.n_texts) == (49, 200)  # row 0 held this form before it was replaced
    assert seen.verdict.startswith("Seen in 49 of 200 training texts, digits aside.")
    assert not any(text.startswith("instruction cache parity error corrected") for text, _ in seen.neighbours)
    assert variant.seen == 0
    assert variant.neighbours[0][0].startswith("instruction cache parity error corrected")
    assert variant.verdict.startswith("Not seen in training, but like training texts (closest similarity 0.")
    assert unlike.verdict.startswith("Unlike anything seen in training")
    assert rare.verdict.startswith("Seen in 1 of 200 training texts (rare)")


def test_without_the_text_extra_text_columns_are_left_out_and_a_text_bundle_says_what_to_install(tmp_path):
    detector = IsolationForestDetector(columns=ROLES, n_estimators=10).fit(log_frame())
    save_bundle(detector, tmp_path / "model.zip")
    log_frame().to_csv(tmp_path / "logs.csv", index=False)
    script = f"""
import sys
sys.modules["wordllama"] = None  # as if the text extra were not installed
import pandas as pd
from detector import infer_roles, load_bundle, DataError
from detector import text
assert not text.available()
frame = pd.read_csv({str(tmp_path / "logs.csv")!r})
assert infer_roles(frame).text == ()
assert infer_roles(frame, text=True).text == ("message",)
try:
    load_bundle({str(tmp_path / "model.zip")!r}).detector.decision_function(frame)
except DataError as error:
    print("refused:", error)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    refusal = (
        'refused: The text model is not installed. Text columns need the text extra: pip install ".[text]"'
    )
    assert refusal in result.stdout


def test_drift_counts_texts_unlike_any_training_text():
    from detector import check_drift

    frame = log_frame(200)
    detector = IsolationForestDetector(columns=ROLES, n_estimators=10).fit(frame)
    same = check_drift(detector, frame)
    (text_column,) = [c for c in same.columns if c.name == "message"]
    assert text_column.kind == "text"
    assert text_column.unseen == 0.0
    assert not text_column.drifted

    later = log_frame(100, seed=3)
    later.loc[:59, "message"] = [f"payment {i} declined by the card issuer for customer" for i in range(60)]
    report = check_drift(detector, later)
    (text_column,) = [c for c in report.columns if c.name == "message"]
    assert text_column.unseen == pytest.approx(0.6)
    assert text_column.mostly_outside
    assert text_column.describe().startswith("message: 60% of texts unlike any training text ('payment")
    assert report.table().set_index("column").loc["message", "outside training (%)"] == pytest.approx(60)


def test_the_train_page_counts_a_text_columns_inputs_without_reading_its_texts(monkeypatch):
    from detector.preprocessing import PreprocessConfig
    from detector.training import network_inputs

    frame = log_frame()
    fitted = Preprocessor(numeric=("latency",), categorical=("level",), text=("message",)).fit(frame)
    monkeypatch.setattr(text_model, "embed_texts", lambda texts: pytest.fail("texts were read"))
    assert network_inputs(frame, ROLES, PreprocessConfig()) == len(fitted.feature_names_out_)
