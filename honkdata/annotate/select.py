"""Which rows people should label next: the ones the automatic labels are least sure of."""

from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.errors import HonkdataError

Strategy = Literal["uncertainty", "disagreement", "random"]


def select_for_review(rows: pa.Table, n: int, strategy: Strategy, seed: int = 0) -> pa.Table:
    """Up to `n` rows, most useful first; deterministic for the same rows, strategy and seed.

    - uncertainty: lowest `label_confidence` first; unlabeled rows (null) count as least confident.
    - disagreement: highest `label_disagreement` (share of labeling functions outvoted) first.
    - random: a seeded shuffle. Gold rows stay eligible here (only here): a few known answers mixed
      into a random batch measure how well the annotators do.
    Rows people already labeled (`label_source == "human"`) are never sent again. Ties go by id.
    """
    if n < 0:
        raise HonkdataError(f"the number of rows to review must be >= 0, not {n}")
    excluded = ["human"] if strategy == "random" else ["human", "gold"]
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
    elif strategy == "random":
        # Shuffle from the id order, not the input order, so a reordered snapshot gives the same pick.
        by_id = candidates.sort_by("id")
        order = by_id.take(np.random.default_rng(seed).permutation(by_id.num_rows))
    else:
        raise HonkdataError(f"unknown review strategy {strategy!r}: uncertainty, disagreement or random")
    return order.slice(0, n)
