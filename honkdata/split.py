"""Split: deterministic, stratified by intent, whole duplicate clusters per split, sticky across versions.

A cluster that had a member in the parent snapshot keeps that member's split (test first), so a
query in test in vN stays in test in vN+1 and metrics stay comparable. New clusters are ordered by
their id (already a hash of the text) within their intent and cut at the configured ratios, which
makes every intent's share exact and the result independent of input order.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from honkdata.config import SplitConfig
from honkdata.schema import SPLITS
from honkdata.stage import StageStats

# When a cluster's members were in different splits of the parent, the most protected one wins.
_PRIORITY = {"test": 0, "validation": 1, "train": 2}


def _cut(position: np.ndarray, config: SplitConfig) -> np.ndarray:
    bounds = np.cumsum([config.train, config.validation])
    return np.asarray(SPLITS)[np.searchsorted(bounds, position, side="right")]


@dataclass
class AssignSplits:
    """Table stage: adds the `split` column."""

    config: SplitConfig
    parent: dict[str, str]
    name: str = "split"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        rows = table.select(["id", "dup_cluster", "intent", "count"]).to_pandas()
        rows["inherited"] = rows["id"].map(self.parent).map(_PRIORITY)
        clusters = rows.sort_values(["dup_cluster", "count", "id"], ascending=[True, False, True]).groupby(
            "dup_cluster", sort=True
        )
        units = pd.DataFrame(
            {"intent": clusters["intent"].first().fillna(""), "inherited": clusters["inherited"].min()}
        )
        split = units["inherited"].map({v: k for k, v in _PRIORITY.items()})
        new = units[units["inherited"].isna()]
        rank = new.groupby("intent").cumcount().to_numpy()
        size = new.groupby("intent")["intent"].transform("size").to_numpy()
        split[new.index] = _cut((rank + 0.5) / np.maximum(size, 1), self.config)
        stats.note("clusters kept in their parent split", int(units["inherited"].notna().sum()))
        stats.note("new clusters", len(new))
        assigned = rows["dup_cluster"].map(split).to_numpy(dtype=object)
        stats.rows_out += table.num_rows
        return table.append_column("split", pa.array(assigned, pa.string()))
