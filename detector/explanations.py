"""Name the columns that contribute most to each row's reconstruction error.

Input is a rows x columns frame of non-negative per-column errors, usually the
shares from ``AutoencoderDetector.feature_errors`` (each row sums to 1). Each row
is normalised to sum to 1 here, so raw errors work too. Missing values count as
no contribution; a row with no positive contribution (all NaN or all 0)
explains nothing and gets an empty string / no names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def top_columns(feature_errors: pd.DataFrame, k: int = 3) -> pd.Series:
    """Per row, the ``k`` largest contributors as ``"amount (62%), hour (21%), site (9%)"``.

    Percentages are rounded to whole numbers; a positive share that rounds to 0
    shows as ``<1%``. Columns with no contribution are left out, so a string can
    name fewer than ``k`` columns. Ties keep the frame's column order.
    """
    order, shares = _ranked(feature_errors, k)
    names = [str(name) for name in feature_errors.columns]
    percents = np.clip(np.rint(np.nan_to_num(shares) * 100), 0, 100).astype(np.intp)
    # Formatting a million rows one by one is slow, but there are only
    # n_columns * 101 distinct pieces: build them once and pick them by index.
    # The extra last row of each table is the empty piece for "no contribution".
    empty = len(names)
    picks = np.where(np.isnan(shares), empty, order)
    first = _piece_table(names, separator="")
    rest = _piece_table(names, separator=", ")
    text = first[picks[:, 0], percents[:, 0]] if shares.shape[1] else np.full(len(shares), "")
    for rank in range(1, shares.shape[1]):
        text = text + rest[picks[:, rank], percents[:, rank]]
    return pd.Series(text, index=feature_errors.index, name="top_columns")


def standout_cells(
    shares: np.ndarray, *, min_share: float = 0.2, top: int = 3, over_fair: float = 1.5,
) -> np.ndarray:
    """Which cells of a rows x columns share matrix stand out: a bool matrix of the same shape.

    A cell stands out when its column explains at least ``min_share`` of the row's score, or
    when it is among the row's ``top`` contributors and above its fair share (one over the
    number of columns) by the factor ``over_fair``. The second rule keeps wide tables honest:
    with 36 columns no single cell may reach 20%, yet each row still has its leading causes.
    NaN shares never stand out.
    """
    values = np.where(np.isfinite(shares), shares, 0.0)
    if values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    fair = 1.0 / values.shape[1]
    # Rank within each row, 0 for the largest share (stable: ties keep column order).
    order = np.argsort(-values, axis=1, kind="stable")
    ranks = np.empty_like(order)
    positions = np.broadcast_to(np.arange(values.shape[1]), values.shape)
    np.put_along_axis(ranks, order, positions, axis=1)
    leading = (ranks < top) & (values >= over_fair * fair)
    return (values > 0) & ((values >= min_share) | leading)


def top_column_names(feature_errors: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Per row, the ``k`` largest contributors as columns ``top_1..top_k`` and their shares.

    Columns are ``top_1, ..., top_k`` (column names, ``""`` where fewer than
    ``k`` columns contribute) then ``top_1_share, ..., top_k_share`` (fractions in
    0..1, NaN where the name is empty).
    """
    order, shares = _ranked(feature_errors, k)
    names = np.append(np.asarray(feature_errors.columns, dtype=object), "")
    picks = np.where(np.isnan(shares), len(feature_errors.columns), order)
    result = {f"top_{rank + 1}": names[picks[:, rank]] for rank in range(shares.shape[1])}
    result |= {f"top_{rank + 1}_share": shares[:, rank] for rank in range(shares.shape[1])}
    return pd.DataFrame(result, index=feature_errors.index)


def _ranked(feature_errors: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions of each row's top ``k`` contributors and their shares.

    Both arrays are (n_rows, min(k, n_columns)); shares are NaN where a column
    does not contribute (share NaN or 0).
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k!r}.")
    values = feature_errors.to_numpy(dtype=float, na_value=np.nan)
    values = np.where(np.isfinite(values) & (values > 0), values, 0.0)
    totals = values.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = values / totals
    k = min(k, values.shape[1])
    # Negate so the largest share comes first; stable keeps column order on ties.
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(shares, order, axis=1)
    top[~(top > 0)] = np.nan
    return order, top


def _piece_table(names: list[str], separator: str) -> np.ndarray:
    """Object array [column, percent] -> ``f"{separator}{name} ({percent}%)"``; last row empty."""
    percents = ["<1", *(str(p) for p in range(1, 101))]
    table = np.empty((len(names) + 1, 101), dtype=object)
    for row, name in enumerate(names):
        table[row] = [f"{separator}{name} ({p}%)" for p in percents]
    table[len(names)] = ""
    return table
