"""Small text formatters shared by the pages and the sidebar."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ui.state import ModelState


def duration(seconds: float) -> str:
    """``75.2`` -> ``"1:15"``; an hour or more -> ``"1:02:03"``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


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


def model_summary(model: ModelState) -> str:
    """``"trained on data.csv (1,200 rows) in 0:12, final loss 0.0123"``."""
    trained_on, losses = model.trained_on, model.history["loss"]
    stopped = " (stopped early by you)" if model.stopped_by_user else ""
    return (
        f"trained on {trained_on.dataset_name} ({trained_on.n_rows:,} rows) in "
        f"{duration(model.seconds)}{stopped}, final loss {loss(losses[-1] if losses else None)}"
    )
