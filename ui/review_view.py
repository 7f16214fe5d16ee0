"""Reviewing flags: ✓/✗ marks on rows, what they say about the threshold, and suppression rules.

Used by the workbench (Results and Score). The marks and rules live in :class:`ScoredView`'s
``reviews`` (shared with the model), and are saved in model downloads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from detector.errors import DataError
from detector.reviews import ANOMALY, EXPECTED, RULE_SHARE, SuppressionRule
from ui import format as fmt
from ui.state import ScoredView

#: A rule is offered from a row whose top column explains at least this share of its score.
MIN_RULE_SHARE = 0.3
MARK_WORDS = {ANOMALY: "✓ real anomaly", EXPECTED: "✗ expected", "": ""}


def review_row(view: ScoredView, position: int) -> None:
    """Buttons to mark the row at ``position`` ✓ or ✗, and to add a suppression rule from it."""
    verdict = view.verdict(position)
    left, middle, right, rest = st.columns([1.2, 1.2, 1, 3.6], vertical_alignment="center")
    left.button(
        "✓ Real anomaly", key=view.key(f"mark_anomaly_{position}"), on_click=view.mark,
        args=(position, ANOMALY), type="primary" if verdict == ANOMALY else "secondary",
        help="This row is a real anomaly: keep flagging rows like it.",
    )
    middle.button(
        "✗ Expected", key=view.key(f"mark_expected_{position}"), on_click=view.mark,
        args=(position, EXPECTED), type="primary" if verdict == EXPECTED else "secondary",
        help="This row is expected, not an anomaly: the suggested threshold and rules learn from it.",
    )
    if verdict:
        right.button("Clear mark", key=view.key(f"mark_clear_{position}"), on_click=view.mark,
                     args=(position, None))
    rule = rule_from_row(view, position)
    if rule is not None and verdict == EXPECTED:
        rest.button(
            f"Don't flag rows where {rule.column} explains ≥ {rule.min_share:.0%}",
            key=view.key(f"rule_{position}"), on_click=view.reviews.add_rule, args=(rule,),
            icon=":material/block:",
            help="A suppression rule: rows whose score is mostly this column's are not flagged, here, "
            "in downloads, and wherever the downloaded model scores (it keeps the rule).",
        )


def rule_from_row(view: ScoredView, position: int) -> SuppressionRule | None:
    """The rule a ✗ row suggests: its top column, at its share rounded down to 10% (at most 50%)."""
    shares = view.scored.shares
    if shares is None:
        return None
    row = shares.iloc[position]
    if row.isna().all():
        return None
    column, share = str(row.idxmax()), float(row.max())
    if share < MIN_RULE_SHARE:
        return None
    return SuppressionRule(column, min(RULE_SHARE, math.floor(share * 10) / 10))


def review_panel(view: ScoredView, threshold: float, retrain: Callable[[], None] | None = None) -> None:
    """What the reviews say: precision on reviewed rows, a suggested threshold, rules, files."""
    reviews = view.reviews
    st.subheader("Your reviews")
    keys = view.row_keys()
    scored = view.scored
    summary = reviews.summary(keys, scored.flags(threshold))
    if summary.n_reviewed == 0 and not reviews.rules:
        st.caption(
            "Mark flagged rows ✓ (a real anomaly) or ✗ (expected) under “Why row … stands out”. "
            "The marks give the precision on reviewed rows and a suggested threshold; a ✗ row can "
            "become a rule. They are saved with **Download model** and as a CSV below."
        )
    else:
        columns = st.columns(3)
        columns[0].metric(
            "Reviewed rows", f"{summary.n_reviewed:,}",
            help=f"{summary.n_anomaly:,} marked ✓ and {summary.n_expected:,} marked ✗ in this table.",
        )
        columns[1].metric(
            "Precision on reviewed rows", fmt.ratio(summary.precision),
            help="Of the reviewed rows flagged now, the share you marked ✓.",
        )
        columns[2].metric(
            "Confirmed anomalies flagged", fmt.ratio(summary.recall),
            help="Of the rows you marked ✓, the share flagged now.",
        )
        suggestion = reviews.suggest_threshold(keys, scored.scores, exempt=scored.suppressed)
        if suggestion is not None and not math.isclose(suggestion, threshold, rel_tol=1e-9):
            n_now, n_then = scored.count_flagged(threshold), scored.count_flagged(suggestion)
            st.button(
                f"Use the suggested threshold {suggestion:.4g} (flags {fmt.count(n_then, 'row')}, "
                f"now {n_now:,})",
                key=view.key("use_suggestion"), on_click=view.set_threshold, args=(suggestion,),
                icon=":material/tune:",
                help="The threshold that agrees best with your marks: above every ✗ row, and below "
                "every ✓ row when that is possible (otherwise the best F1 on the reviewed rows).",
            )
    if reviews.rules:
        st.markdown("**Suppression rules**: rows they match are never flagged.")
        for number, rule in enumerate(reviews.rules):
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"- {fmt.plain(rule.describe())}")
            button.button("Remove", key=view.key(f"remove_rule_{number}"), on_click=reviews.remove_rule,
                          args=(rule,))
        held_back = scored.count_suppressed(threshold)
        if held_back:
            st.caption(f"{fmt.count(held_back, 'row')} above the threshold are not flagged because of them.")
    files(view)
    if retrain is None or not summary.n_anomaly:
        return
    if st.button(
        f"Retrain without the {fmt.count(summary.n_anomaly, 'confirmed anomaly', 'confirmed anomalies')}",
        key=view.key("retrain"), icon=":material/model_training:",
        help="Train the same model again on the training rows you did not mark ✓, then compare "
        "it with this one on your reviewed rows.",
    ):
        retrain()
        st.rerun()  # the whole page: it shows the training and, when done, the new model


def files(view: ScoredView) -> None:
    """Download the marks as a CSV, or upload one to add its marks."""
    reviews = view.reviews
    left, right = st.columns(2)
    left.download_button(
        "Download reviews", data=reviews.to_csv(), file_name=f"{Path(view.name).stem or 'table'}_reviews.csv",
        mime="text/csv", on_click="ignore", icon=":material/download:", disabled=not len(reviews),
        help="row_key,row,verdict per reviewed row: the key finds the row again in any file.",
    )
    uploaded = right.file_uploader(
        "Add reviews from a CSV", type=["csv"], key=view.key("reviews_upload"),
        help="A file from Download reviews (row_key,row,verdict).",
    )
    if uploaded is None:
        return
    done_key = view.key("reviews_read")
    if st.session_state.get(done_key) == uploaded.file_id:
        return
    st.session_state[done_key] = uploaded.file_id
    try:
        count = reviews.read_csv(uploaded.getvalue())
    except DataError as exc:
        st.error(f"Could not read {fmt.plain(uploaded.name)}: {fmt.plain(exc)}")
        return
    present = int(np.isin(view.row_keys(), list(reviews.verdicts)).sum())
    st.success(
        f"Read {fmt.count(count, 'review')}; {fmt.count(present, 'row')} of this table "
        f"{'is' if present == 1 else 'are'} reviewed now."
    )
