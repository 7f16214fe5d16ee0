"""Small text formatters shared by the pages and the sidebar."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from detector.errors import counted

if TYPE_CHECKING:
    from detector.autoencoder_config import TrainingPlan
    from ui.state import ModelState

# Where the Train page lets the user change max_steps; named in every note about the step limit.
STEP_LIMIT_FIELD = "**Step limit** under *Advanced settings*"


# What Streamlit's Markdown would turn into formatting: a "$" pair into LaTeX, "*" into emphasis,
# "[...]" into a link or a colour, "`" into code. "_" formats only at the edge of a word.
_MARKDOWN = re.compile(r"[\\`*$\[\]~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def plain(text: object) -> str:
    """``text`` (a file or column name, a cell, a message quoting them) to show as it is in
    Markdown: ``"$5 and $7"`` -> ``"\\$5 and \\$7"``."""
    return _MARKDOWN.sub(lambda match: "\\" + match.group(0), str(text))


def code(text: object) -> str:
    """``text`` as a Markdown code span that it cannot break out of, however many backticks it holds.

    Backslashes do not escape inside a code span, so the span is fenced with one more backtick
    than the longest run in the text (CommonMark), padded with a space when the text starts or
    ends with a backtick: a column named ``a` ![x](http://evil) `b`` stays literal text.
    """
    value = " ".join(str(text).split("\n"))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def count(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 row", "2 rows", "1,000 rows"."""
    return counted(n, singular, plural)


def duration(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``; an hour or more -> ``"1:02:03"``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def took(seconds: float) -> str:
    """``" in 0:12"`` for a step that took a noticeable while, else nothing (``0.3`` -> ``""``)."""
    return f" in {duration(seconds)}" if seconds >= 1 else ""


def loss(value: float | None) -> str:
    """A loss with four significant digits, or an en dash when there is none."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.4g}"


def ratio(value: float | None) -> str:
    """A metric in [0, 1] with three decimals, or an en dash when it is undefined."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3f}"


def file_size(n_bytes: int) -> str:
    """``278_921_216`` -> ``"266 MB"``; binary units, as Streamlit counts its upload limit."""
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n_bytes >= scale:
            value = n_bytes / scale
            number = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:,.0f}"
            return f"{number} {unit}"
    return f"{n_bytes:,} bytes"


def planned_epochs(plan: TrainingPlan) -> str:
    """Before training: the epochs the settings allow, and how to get more if the step limit cut them."""
    text = f"Training runs {plan.describe()}."
    if plan.limited_by_max_steps:
        text += f" Raise {STEP_LIMIT_FIELD} to train longer."
    return text


def step_limit_note(plan: TrainingPlan, epochs_run: int) -> str | None:
    """After training: how the step limit cut the epochs asked for (None when it did not)."""
    if not plan.limited_by_max_steps:
        return None
    return (
        f"Trained {epochs_run:,} of the {plan.epochs_requested:,} epochs asked for: the step limit "
        f"({plan.max_steps:,} batch steps) allows {plan.epochs_allowed:,} on {plan.n_rows:,} rows "
        f"({plan.steps_per_epoch:,} steps per epoch). Raise {STEP_LIMIT_FIELD} to train longer."
    )


def model_summary(model: ModelState) -> str:
    """``"an Autoencoder trained on data.csv (1,200 rows) in 0:12, final loss 0.0123"``."""
    trained_on, losses = model.trained_on, model.history["loss"]
    stopped = " (stopped early by you)" if model.stopped_by_user else ""
    final = f", final loss {loss(losses[-1])}" if losses else ""
    return (
        f"{model.detector.title} trained on {plain(trained_on.dataset_name)} ({trained_on.n_rows:,} rows) "
        f"in {duration(model.seconds)}{stopped}{final}"
    )
