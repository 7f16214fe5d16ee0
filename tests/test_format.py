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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("label", "`label`"),
        ("a`b", "``a`b``"),
        ("x` ![img](http://evil.example/i.png) [link](http://evil.example) `y",
         "``x` ![img](http://evil.example/i.png) [link](http://evil.example) `y``"),
        ("`edge``", "``` `edge`` ```"),
        ("two\nlines", "`two lines`"),
    ],
)
def test_a_code_span_holds_any_name_literally(name, expected):
    assert fmt.code(name) == expected


def test_a_label_name_cannot_break_out_of_its_code_span_in_the_rendered_page():
    import markdown_it

    hostile = "x` ![img](http://evil.example/i.png) `y"
    html = markdown_it.MarkdownIt().render(f"label {fmt.code(hostile)}")
    assert "<img" not in html
    assert "<code>" in html
