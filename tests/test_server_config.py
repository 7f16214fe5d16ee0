"""The server settings we ship in .streamlit/config.toml: present, spelled as Streamlit knows them, safe.

Streamlit ignores an option it does not know (a typo only logs a warning), so each setting is
checked twice: in our file, and in what Streamlit's config loader says it took from that file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+, as Streamlit's own config reader

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".streamlit" / "config.toml"

# What issue 7 asks of a server that strangers' files reach.
REQUIRED = {
    "server.headless": True,
    "server.enableXsrfProtection": True,
    "client.showErrorDetails": "none",  # tracebacks stay in the server log
    "browser.gatherUsageStats": False,
}
MAX_UPLOAD_MB = 1024  # the Data page and the README promise 1 GB


def our_settings() -> dict[str, object]:
    """Every option set in our config.toml, as "section.option" -> value."""
    parsed = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
    return {f"{section}.{key}": value for section, options in parsed.items()
            for key, value in options.items()}


def streamlit_reads(home: Path) -> dict[str, object]:
    """The options Streamlit, started in the project folder, says it took from our config.toml."""
    script = textwrap.dedent(
        """
        import json, sys
        from streamlit import config
        options = config.get_config_options(force_reparse=True)
        print(json.dumps({key: option.value for key, option in options.items()
                          if option.where_defined == sys.argv[1] and not option.deprecated}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(CONFIG)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        # A HOME of its own, so that a developer's ~/.streamlit/config.toml cannot interfere.
        env={**os.environ, "HOME": str(home)},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_shipped_config_sets_what_a_shared_server_needs():
    settings = our_settings()

    for option, value in REQUIRED.items():
        assert settings.get(option) == value, option
    assert settings["server.maxUploadSize"] == MAX_UPLOAD_MB
    # Cross-origin protection is Streamlit's default; turning it off would undo XSRF's use.
    assert settings.get("server.enableCORS", True) is True


def test_streamlit_reads_every_option_we_set_with_our_value(tmp_path):
    settings = our_settings()

    read = streamlit_reads(tmp_path)

    assert read == settings, "an option Streamlit does not know, or a value it did not take"
