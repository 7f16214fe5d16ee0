"""Text formatters of the UI: names and messages shown as they are, not as Markdown."""

from __future__ import annotations

import pytest

from ui import format as fmt


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("price $ and cost $", r"price \$ and cost \$"),  # a "$" pair would be LaTeX
        ("*total*", r"\*total\*"),
        ("[x](http://example.com)", r"\[x\](http://example.com)"),
        ("a`b`", r"a\`b\`"),
        ("~old~", r"\~old\~"),
        ("back\\slash", r"back\\slash"),
        ("_id", r"\_id"),
        ("id_", r"id\_"),
        ("sensor_00", "sensor_00"),  # inside a word "_" formats nothing
        ("sales 2024.csv", "sales 2024.csv"),
        (3, "3"),
    ],
)
def test_plain_escapes_what_markdown_would_format(text, shown):
    assert fmt.plain(text) == shown
