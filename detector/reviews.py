"""What a user says about flagged rows, and what the tool learns from it.

A user marks a flagged row ✓ (a real anomaly) or ✗ (expected: not an anomaly). Marks are kept
by *row key*, a hash of the row's feature values, so that they find the same row again in
another file or session; the row number where it was marked is kept to show. From the marks:

- **precision on reviewed rows**: of the reviewed rows flagged now, the share marked ✓;
- **a suggested threshold** (:meth:`Reviews.suggest_threshold`), adopted only when the user asks;
- **suppression rules** (:class:`SuppressionRule`): "don't flag rows where ``Temperature`` explains
  at least 60% of the score", added from a ✗ row, kept with the model (bundle) and applied
  wherever it flags rows (pages, downloads, the CLI);
- **retraining without the confirmed anomalies** (:meth:`Reviews.confirmed_rows`).

Reviews are plain data: :meth:`Reviews.to_dict` for a bundle, :meth:`Reviews.to_csv` for a file
(``row_key,row,verdict``), both read back with checks, since they may come from anywhere.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from detector.errors import DataError, quote_cell

__all__ = [
    "ANOMALY",
    "EXPECTED",
    "ReviewSummary",
    "Reviews",
    "SuppressionRule",
    "row_keys",
    "suppressed",
]

ANOMALY = "anomaly"
EXPECTED = "expected"
Verdict = Literal["anomaly", "expected"]
VERDICTS = (ANOMALY, EXPECTED)
#: Spellings a reviews file may use for each verdict (case and spaces ignored).
_SPELLINGS = {
    ANOMALY: {"anomaly", "✓", "1", "true", "yes", "real", "confirmed", "anomalous"},
    EXPECTED: {"expected", "✗", "0", "false", "no", "normal", "not an anomaly", "fine"},
}
#: Bounds on what a bundle or a reviews file may hold (10,000 reviews take about 600 KB of a
#: bundle's metadata, whose limit is 1 MB).
MAX_REVIEWS = 10_000
MAX_RULES = 100
#: A rule's default: the column explains at least this share of the row's score.
RULE_SHARE = 0.5


def row_keys(frame: pd.DataFrame, columns: list[str] | tuple[str, ...]) -> np.ndarray:
    """One key per row (16 hex digits) from its values in ``columns``, as text.

    The same values give the same key in any file: a review finds its row again after a reload
    or in a file scored later. Rows with equal values share a key (and so a review).
    """
    if len(frame) == 0:
        return np.array([], dtype=object)
    text = frame.loc[:, list(columns)].astype("string").fillna("\x00missing")
    hashes = pd.util.hash_pandas_object(text, index=False, categorize=False).to_numpy(np.uint64)
    return np.array([f"{value:016x}" for value in hashes.tolist()], dtype=object)


@dataclass(frozen=True)
class SuppressionRule:
    """Don't flag a row when ``column`` explains at least ``min_share`` of its score."""

    column: str
    min_share: float = RULE_SHARE

    def __post_init__(self) -> None:
        if not isinstance(self.column, str) or not self.column:
            raise ValueError("a suppression rule needs a column name")
        if not isinstance(self.min_share, int | float) or not 0 < self.min_share <= 1:
            raise ValueError(f"a suppression rule's share must be in (0, 1], got {self.min_share!r}")

    def describe(self) -> str:
        return f"Don't flag rows where {self.column} explains at least {self.min_share:.0%} of the score"

    def matches(self, shares: pd.DataFrame | None) -> np.ndarray:
        """One bool per row of ``shares`` (each feature column's share of the row's score)."""
        if shares is None or self.column not in shares.columns:
            return np.zeros(0 if shares is None else len(shares), dtype=bool)
        values = shares[self.column].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            return values >= self.min_share - 1e-12

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "min_share": float(self.min_share)}


def suppressed(rules: tuple[SuppressionRule, ...] | list[SuppressionRule], shares: pd.DataFrame | None,
               n_rows: int) -> np.ndarray:
    """One bool per row: True where any rule says not to flag it (all False without rules or shares)."""
    mask = np.zeros(n_rows, dtype=bool)
    if shares is None:
        return mask
    for rule in rules:
        matched = rule.matches(shares)
        if matched.size == n_rows:
            mask |= matched
    return mask


@dataclass(frozen=True)
class ReviewSummary:
    """How the current flags agree with the reviews."""

    n_anomaly: int  # rows marked ✓ in this table
    n_expected: int  # rows marked ✗
    flagged_anomaly: int  # ✓ rows flagged now
    flagged_expected: int  # ✗ rows flagged now

    @property
    def n_reviewed(self) -> int:
        return self.n_anomaly + self.n_expected

    @property
    def precision(self) -> float:
        """Of the reviewed rows flagged now, the share marked ✓ (NaN when none is flagged)."""
        flagged = self.flagged_anomaly + self.flagged_expected
        return self.flagged_anomaly / flagged if flagged else math.nan

    @property
    def recall(self) -> float:
        """Of the rows marked ✓, the share flagged now (NaN without ✓ marks)."""
        return self.flagged_anomaly / self.n_anomaly if self.n_anomaly else math.nan


@dataclass
class Reviews:
    """The user's marks by row key, with the row number each was made on, and suppression rules."""

    verdicts: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    rules: list[SuppressionRule] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.verdicts)

    def mark(self, key: str, row: int, verdict: str | None) -> None:
        """Mark the row with ``key`` (shown as ``row``, 1-based); None removes the mark."""
        if verdict is None:
            self.verdicts.pop(key, None)
            self.rows.pop(key, None)
            return
        if verdict not in VERDICTS:
            raise ValueError(f"a verdict is {ANOMALY!r} or {EXPECTED!r}, not {verdict!r}")
        if key not in self.verdicts and len(self.verdicts) >= MAX_REVIEWS:
            raise DataError(f"At most {MAX_REVIEWS:,} rows can be reviewed; remove some marks first.")
        self.verdicts[key] = verdict
        self.rows[key] = int(row)

    def verdicts_of(self, keys: np.ndarray) -> np.ndarray:
        """Each key's verdict ("" when not reviewed), as an object array."""
        return np.array([self.verdicts.get(key, "") for key in keys], dtype=object)

    def add_rule(self, rule: SuppressionRule) -> bool:
        """Add ``rule`` unless it (or one as strict for its column) is there; True when added."""
        if any(r.column == rule.column and r.min_share <= rule.min_share for r in self.rules):
            return False
        if len(self.rules) >= MAX_RULES:
            raise DataError(f"At most {MAX_RULES} suppression rules can be kept; remove one first.")
        self.rules = [r for r in self.rules if r.column != rule.column] + [rule]
        return True

    def remove_rule(self, rule: SuppressionRule) -> None:
        self.rules = [r for r in self.rules if r != rule]

    # ------------------------------------------------------------------ learning

    def summary(self, keys: np.ndarray, flags: np.ndarray) -> ReviewSummary:
        """How the flags (one bool per row, keys alike) agree with the marks."""
        verdicts = self.verdicts_of(keys)
        anomaly, expected = verdicts == ANOMALY, verdicts == EXPECTED
        return ReviewSummary(
            n_anomaly=int(anomaly.sum()),
            n_expected=int(expected.sum()),
            flagged_anomaly=int((anomaly & flags).sum()),
            flagged_expected=int((expected & flags).sum()),
        )

    def suggest_threshold(
        self, keys: np.ndarray, scores: np.ndarray, exempt: np.ndarray | None = None
    ) -> float | None:
        """A threshold that agrees best with the marks, or None when the marks cannot suggest one.

        Rows are flagged above the threshold. With ✗ marks and no ✓ mark above them, it is the
        highest ✗ score (every ✗ row unflagged, every ✓ row still flagged). Otherwise it is the
        threshold with the best F1 on the reviewed rows (✓ = anomaly), the highest on a tie, so
        that fewer unreviewed rows are flagged. ``exempt`` rows (suppressed by a rule) are left
        out: no threshold is needed to unflag them. Without a ✗ mark there is nothing to learn
        about where to stop, and no suggestion.
        """
        verdicts = self.verdicts_of(keys)
        usable = np.isfinite(scores) & (verdicts != "")
        if exempt is not None:
            usable &= ~exempt
        expected = scores[usable & (verdicts == EXPECTED)]
        anomaly = scores[usable & (verdicts == ANOMALY)]
        if expected.size == 0:
            return None
        if anomaly.size == 0 or anomaly.min() > expected.max():
            return float(expected.max())
        candidates = np.unique(np.r_[expected, anomaly, np.nextafter(anomaly.min(), -np.inf)])
        best, best_f1 = None, -1.0
        for threshold in candidates:
            tp = int((anomaly > threshold).sum())
            fp = int((expected > threshold).sum())
            fn = anomaly.size - tp
            f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            if f1 >= best_f1:
                best, best_f1 = float(threshold), f1
        return best

    def confirmed_rows(self, keys: np.ndarray) -> np.ndarray:
        """One bool per row: marked ✓ (to leave out when training again)."""
        return self.verdicts_of(keys) == ANOMALY

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdicts": [
                {"key": key, "row": self.rows.get(key, 0), "verdict": verdict}
                for key, verdict in self.verdicts.items()
            ],
            "rules": [rule.to_dict() for rule in self.rules],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Reviews:
        """Reviews from :meth:`to_dict` output (from a bundle): checked, ``DataError`` if malformed."""
        def fail(problem: str) -> None:
            raise DataError(f"The bundle's reviews are malformed ({problem}); save the model again.")

        if not isinstance(data, dict) or not isinstance(data.get("verdicts"), list) or not isinstance(
            data.get("rules"), list
        ):
            fail("expected lists of verdicts and rules")
        if len(data["verdicts"]) > MAX_REVIEWS or len(data["rules"]) > MAX_RULES:
            fail("too many entries")
        reviews = cls()
        for entry in data["verdicts"]:
            if (
                not isinstance(entry, dict)
                or not _is_key(entry.get("key"))
                or entry.get("verdict") not in VERDICTS
                or not isinstance(entry.get("row"), int)
                or isinstance(entry.get("row"), bool)
            ):
                fail("a verdict needs a 16-hex-digit key, a row number and 'anomaly' or 'expected'")
            reviews.mark(entry["key"], entry["row"], entry["verdict"])
        for entry in data["rules"]:
            try:
                reviews.add_rule(SuppressionRule(entry["column"], entry["min_share"]))
            except (TypeError, KeyError, ValueError):
                fail("a rule needs a column and a share")
        return reviews

    def to_csv(self) -> bytes:
        """``row_key,row,verdict`` per reviewed row (rules are kept with the model, not here)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["row_key", "row", "verdict"])
        for key, verdict in self.verdicts.items():
            writer.writerow([key, self.rows.get(key, ""), verdict])
        return out.getvalue().encode("utf-8")

    def read_csv(self, data: bytes) -> int:
        """Add the marks of a reviews CSV (``row_key,row,verdict``); return how many were read.

        Raises ``DataError`` naming the first bad line; nothing is added then.
        """
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DataError("The reviews file is not UTF-8 text; download it from this app again.") from None
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:3]] != ["row_key", "row", "verdict"]:
            raise DataError("A reviews file starts with the header row_key,row,verdict.")
        found: list[tuple[str, int, str]] = []
        for line, record in enumerate(reader, start=2):
            if not record or not any(cell.strip() for cell in record):
                continue
            if len(record) < 3:
                raise DataError(f"Line {line} of the reviews file has {len(record)} cells, not 3.")
            key, row, word = (cell.strip() for cell in record[:3])
            verdict = next((v for v, spellings in _SPELLINGS.items() if word.lower() in spellings), None)
            if not _is_key(key) or verdict is None or not (row == "" or row.isdigit()):
                raise DataError(
                    f"Line {line} of the reviews file is not a review: {quote_cell(','.join(record[:3]))} "
                    "(a 16-hex-digit row key, a row number, and anomaly or expected)."
                )
            found.append((key, int(row or 0), verdict))
            if len(found) + len(self.verdicts) > MAX_REVIEWS:
                raise DataError(f"The reviews file holds more than {MAX_REVIEWS:,} reviews.")
        for key, row, verdict in found:
            self.mark(key, row, verdict)
        return len(found)


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value)
