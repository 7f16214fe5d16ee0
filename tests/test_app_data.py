"""The Data page, driven through AppTest: loading, uploading, bad files, and column choices."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path

import pandas as pd
import pytest
import streamlit
from apptest_helpers import (
    APP,
    app_state,
    assert_clean,
    start_app,
    tiny_csv,
    tiny_detector,
    upload,
    with_model,
)
from streamlit import config

from detector.columns import ColumnRoles
from ui.samples import SAMPLES


def test_the_sample_dataset_is_loaded_on_start():
    at = start_app()

    assert_clean(at)
    dataset = app_state(at).dataset
    assert dataset is not None
    assert dataset.name == "breast_cancer.csv"
    assert dataset.roles.label == "diagnosis"
    assert at.metric[0].label == "Rows"
    assert at.metric[0].value == f"{dataset.shape[0]:,}"
    assert any("breast_cancer.csv" in caption.value for caption in at.sidebar.caption)
    assert len(at.dataframe) == 2  # preview and column profile


def test_an_upload_replaces_the_sample():
    at = start_app()

    upload(at, "tiny.csv", tiny_csv())

    assert_clean(at)
    dataset = app_state(at).dataset
    assert dataset.name == "tiny.csv"
    assert dataset.shape == (60, 4)
    assert at.subheader[0].value == "tiny.csv"
    assert any("tiny.csv" in caption.value for caption in at.sidebar.caption)


def test_distinct_counts_taken_in_a_sample_are_marked_and_explained():
    at = start_app()
    assert not any("lower bound" in caption.value for caption in at.caption)
    n = 110_000
    rows = "\n".join(f"{i * 0.37 % 1000:.3f},{i % 3}" for i in range(n))
    upload(at, "long.csv", f"reading,level\n{rows}\n".encode())

    assert_clean(at)
    profile = at.dataframe[1].value.set_index("column")
    assert profile.loc["reading", "distinct"].startswith("≥ ")
    assert profile.loc["level", "distinct"] == "3"
    assert any("lower bound" in caption.value for caption in at.caption)


def test_an_upload_is_parsed_once_not_on_every_rerun():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    first = app_state(at).dataset

    at.run()

    assert app_state(at).dataset is first
    assert not at.status, "no 'Reading…' status when nothing is read"


def test_reading_an_upload_names_the_file_and_its_size_then_what_was_read():
    data = tiny_csv()

    at = upload(start_app(), "tiny.csv", data)

    assert [(s.label, s.state) for s in at.status] == [
        (f"Read tiny.csv ({len(data) / 1024:.1f} KB): 60 rows × 4 columns", "complete")
    ]
    at = upload(at, "broken.parquet", b"PAR1 this is not really parquet")
    assert [(s.label, s.state) for s in at.status] == [("Could not read broken.parquet (31 bytes)", "error")]


def _limit_caption(at) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Files up to "))


def test_the_uploader_states_the_servers_upload_limit():
    limit = config.get_option("server.maxUploadSize")  # 1024 from our .streamlit/config.toml
    at = start_app()

    assert limit == 1024
    expected = "Files up to 1 GB (1,024 MB)"  # Streamlit's own refusal says "1.1GB" (decimal units)
    assert _limit_caption(at).startswith(expected + ";")
    assert at.file_uploader[0].proto.max_upload_size_mb == limit, "what the browser enforces"

    # Read from the config, never written in the page: another setting changes both.
    where = config.get_where_defined("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 300)
    try:
        at = start_app()
        assert _limit_caption(at).startswith("Files up to 300 MB;")
        assert at.file_uploader[0].proto.max_upload_size_mb == 300
    finally:
        config.set_option("server.maxUploadSize", limit, where_defined=where)


def test_streamlits_uploader_refuses_a_file_over_the_limit_with_its_own_message():
    # A larger file never reaches the page: the browser's uploader (react-dropzone with
    # maxSize = max_upload_size_mb) lists it with "File must be <limit> or smaller." and sends
    # nothing, and its drop zone says "<limit> per file". These are Streamlit's own words, in
    # its frontend bundle; if an upgrade drops them, the page must say more than its caption.
    bundle = "\n".join(
        path.read_text(encoding="utf-8", errors="replace")
        for path in (Path(streamlit.__file__).parent / "static").rglob("*.js")
    )
    assert "case`file-too-large`:return`File must be ${" in bundle
    assert "} or smaller.`" in bundle
    assert "per file`" in bundle


def test_a_bad_file_shows_the_reason_and_keeps_the_previous_dataset():
    at = start_app()

    upload(at, "broken.parquet", b"PAR1 this is not really parquet", "application/octet-stream")

    assert not at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert message.startswith("Could not read broken.parquet:")
    assert "breast_cancer.csv is still loaded" in message
    assert app_state(at).dataset.name == "breast_cancer.csv"


def test_an_empty_file_is_refused_too():
    at = upload(start_app(), "empty.csv", b"")

    assert "empty" in at.error[0].value
    assert app_state(at).dataset.name == "breast_cancer.csv"


def test_a_sample_can_be_picked():
    at = start_app()

    at.selectbox[0].set_value(SAMPLES[1]).run()  # the sample picker is the page's first selectbox
    next(b for b in at.button if b.label == "Load sample").click().run()

    assert_clean(at)
    assert app_state(at).dataset.name == "sensors.csv"


def test_role_overrides_reach_the_dataset_choices():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    rev = app_state(at).dataset.revision

    at.selectbox(key=f"label_{rev}").set_value("is_anomaly").run()
    at.multiselect(key=f"numeric_{rev}").set_value(["temp"]).run()
    at.multiselect(key=f"categorical_{rev}").set_value(["site"]).run()

    assert_clean(at)
    dataset = app_state(at).dataset
    expected = ColumnRoles(numeric=("temp",), categorical=("site",), label="is_anomaly")
    assert dataset.roles == expected
    assert list(dataset.training_frame().columns) == ["temp", "site"]
    assert any("Not used: pressure" in caption.value for caption in at.caption)


def test_choosing_a_label_takes_it_out_of_the_features():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    rev = app_state(at).dataset.revision
    assert "temp" in app_state(at).dataset.roles.numeric

    at.selectbox(key=f"label_{rev}").set_value("temp").run()

    roles = app_state(at).dataset.roles
    assert roles.label == "temp"
    assert "temp" not in roles.features
    assert "temp" not in at.multiselect(key=f"numeric_{rev}").value


def test_preprocessing_choices_and_training_rows_reach_the_dataset_choices():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    rev = app_state(at).dataset.revision
    at.selectbox(key=f"label_{rev}").set_value("is_anomaly").run()

    at.selectbox(key=f"scaling_{rev}").set_value("minmax").run()
    at.checkbox(key=f"clip_on_{rev}").uncheck().run()
    at.radio(key=f"train_rows_{rev}").set_value("Only rows the label marks as normal").run()

    assert_clean(at)
    dataset = app_state(at).dataset
    assert dataset.preprocess.scaling == "minmax"
    assert dataset.preprocess.clip is None
    assert dataset.normal_only
    assert dataset.n_training_rows() == 57  # 3 of the 60 rows are labelled anomalies


def test_choices_survive_a_visit_to_another_page():
    at = upload(start_app(), "tiny.csv", tiny_csv())
    rev = app_state(at).dataset.revision
    at.multiselect(key=f"numeric_{rev}").set_value(["temp"]).run()

    at.switch_page("pages/train.py").run()
    at.switch_page("pages/data.py").run()

    assert_clean(at)
    assert at.multiselect(key=f"numeric_{rev}").value == ["temp"]
    assert app_state(at).dataset.roles.numeric == ("temp",)


def test_no_page_load_imports_tensorflow():
    # A fresh interpreter: this test process may already hold TensorFlow from other tests.
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, "tests")
        from apptest_helpers import start_app
        at = start_app()
        for page in ("pages/train.py", "pages/results.py", "pages/score.py", "pages/data.py"):
            at.switch_page(page).run()
            assert not at.exception, (page, [e.value for e in at.exception])
        print(sorted(m for m in ("tensorflow", "keras") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(APP).parent, capture_output=True, text=True, timeout=300, check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_repeated_uploads_keep_only_the_current_table_and_the_models_alive():
    at = upload(start_app(), "trained_on.csv", tiny_csv())
    with_model(at, tiny_detector()).switch_page("pages/results.py").run()
    kept = app_state(at).dataset
    at.switch_page("pages/data.py").run()
    replaced = []
    for n_rows in (61, 62, 63, 64):
        upload(at, f"upload_{n_rows}.csv", tiny_csv(n_rows))
        assert_clean(at)
        replaced.append(weakref.ref(app_state(at).dataset.frame))

    gc.collect()

    alive = [ref() is not None for ref in replaced]
    assert alive == [False, False, False, True], "an earlier upload's table is still held"
    assert app_state(at).model.dataset is kept  # Results still shows what the model was trained on


@pytest.mark.slow
def test_repeated_big_uploads_do_not_grow_memory(tmp_path):
    # The upload benchmark, small, in a fresh interpreter so that RSS is the app's alone. Free
    # memory is handed back before each reading, so RSS follows what is still held: once the
    # first upload has warmed the allocators it stays level, while keeping every upload alive
    # would add about as much again with each one.
    out = tmp_path / "upload_memory"
    result = subprocess.run(
        [sys.executable, "benchmarks/upload_memory.py", "--uploads", "6", "--megabytes", "20",
         "--release", "--out", str(out)],
        cwd=Path(APP).parent, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-3000:]
    rss = pd.read_csv(out.with_suffix(".csv")).set_index("upload")["rss_mb"]

    growth = (rss[6] - rss[0]) / (rss[1] - rss[0])
    assert growth <= 2, f"RSS grew {growth:.2f} x as much as with one upload: {rss.round().to_dict()}"


def test_names_and_values_show_as_they_are_not_as_markdown():
    # "$" pairs would render as LaTeX, "*" as emphasis: a file, its columns and the notes
    # quoting them are escaped wherever they are shown as Markdown.
    data = b"cost $,price $,*note*\n" + b"1,2,a\n3,4,b\n" * 20 + b"NA,5,c\n"
    at = upload(start_app(), "q1 $ vs q2 $.csv", data)

    assert_clean(at)
    assert at.subheader[0].value == r"q1 \$ vs q2 \$.csv"
    assert any(r"q1 \$ vs q2 \$.csv" in caption.value for caption in at.sidebar.caption)
    notes = at.expander[0].markdown[0].value
    assert r"cost \$" in notes
    assert "cost $" not in notes.replace(r"cost \$", "")  # no unescaped mention

    at = upload(at, "bad *name*.csv", b"")
    assert at.error[0].value.startswith(r"Could not read bad \*name\*.csv:")
    assert r"q1 \$ vs q2 \$.csv is still loaded" in at.error[0].value
