"""Which rows people should label next: the ones the automatic labels are least sure of, or the
labels most likely wrong."""

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.errors import HonkdataError

Strategy = Literal["uncertainty", "disagreement", "random", "label-issues"]
# The label-quality columns (honkdata/label/quality.py) the label-issues strategy ranks by.
_ISSUES = (("intent_quality", "intent_issue"), ("tags_quality", "tags_issue"))


def select_for_review(rows: pa.Table, n: int, strategy: Strategy, seed: int = 0) -> pa.Table:
    """Up to `n` rows, most useful first; deterministic for the same rows, strategy and seed.

    - uncertainty: lowest `label_confidence` first; unlabeled rows (null) count as least confident.
    - disagreement: highest `label_disagreement` (share of labeling functions outvoted) first.
    - random: a seeded shuffle. Gold rows stay eligible here: a few known answers mixed into a
      random batch measure how well the annotators do.
    - label-issues: only rows cleanlab flags (`intent_issue` or `tags_issue`), likeliest errors
      first. Gold rows stay eligible here too: public corpora carry label errors, and finding them
      is the point. The intent and tag scores come from different models (a CRF's token marginals
      are far more extreme than a softmax), so each counts as its percentile among the rows scored
      for it, and a row ranks by the lower percentile of the kinds it is flagged for.
    Rows people already labeled (`label_source == "human"`) are never sent again. Ties go by id.
    """
    if n < 0:
        raise HonkdataError(f"the number of rows to review must be >= 0, not {n}")
    excluded = ["human"] if strategy in ("random", "label-issues") else ["human", "gold"]
    # is_in says false for a null label_source: unlabeled rows, what review is most for, stay in.
    keep = pc.invert(pc.is_in(rows.column("label_source"), pa.array(excluded)))
    candidates = rows.filter(keep)
    if strategy in ("uncertainty", "disagreement"):
        column = "label_confidence" if strategy == "uncertainty" else "label_disagreement"
        # A missing score sorts as -inf: first for uncertainty (unlabeled), last for disagreement.
        score = pc.fill_null(pc.cast(candidates.column(column), pa.float64()), -np.inf)
        keys = pa.table({"score": score, "id": candidates.column("id")})
        direction = "ascending" if strategy == "uncertainty" else "descending"
        order = candidates.take(pc.sort_indices(keys, [("score", direction), ("id", "ascending")]))
    elif strategy == "label-issues":
        rank = _issue_rank(rows)  # percentiles among all scored rows, people's labels included
        chosen = np.isfinite(rank) & keep.to_numpy(zero_copy_only=False)
        flagged = rows.filter(pa.array(chosen))
        keys = pa.table({"score": rank[chosen], "id": flagged.column("id")})
        order = flagged.take(pc.sort_indices(keys, [("score", "ascending"), ("id", "ascending")]))
    elif strategy == "random":
        # Shuffle from the id order, not the input order, so a reordered snapshot gives the same pick.
        by_id = candidates.sort_by("id")
        order = by_id.take(np.random.default_rng(seed).permutation(by_id.num_rows))
    else:
        raise HonkdataError(
            f"unknown review strategy {strategy!r}: uncertainty, disagreement, random or label-issues"
        )
    return order.slice(0, n)


def _issue_rank(rows: pa.Table) -> np.ndarray:
    """Per row, the lowest percentile (0 = the worst label) of the quality scores it is flagged for
    among the rows scored for that kind; inf for a row flagged for nothing."""
    if missing := [c for pair in _ISSUES for c in pair if c not in rows.column_names]:
        raise HonkdataError(
            f"the label-issues strategy needs the label quality columns ({', '.join(missing)})"
        )
    rank = np.full(rows.num_rows, np.inf)
    for quality_column, issue_column in _ISSUES:
        quality = pc.fill_null(pc.cast(rows.column(quality_column), pa.float64()), np.nan).to_numpy()
        scored = np.sort(quality[~np.isnan(quality)])
        # Rows scoring below this one, over rows scored: equal scores get equal percentiles.
        percentile = np.searchsorted(scored, quality, side="left") / max(len(scored), 1)
        flagged = pc.fill_null(rows.column(issue_column), False).to_numpy(zero_copy_only=False)
        rank = np.where(flagged, np.minimum(rank, percentile), rank)
    return rank
