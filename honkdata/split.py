"""Split: official splits kept, the rest deterministic, stratified by intent, whole duplicate clusters
per split, and sticky across versions.

A row's `sources` say which split each curated source put it in. For the sources whose own split is
kept (`split: keep`, the default), that split wins: where the same query or a near-duplicate cluster
stands in several, the most protected one (test, then validation, then train) takes the whole
cluster, so nothing leaks toward train. A source that lacks a part (Snips 2017 has no test) has it
carved from its train rows, cluster by cluster, by a hash of the cluster's id (its first row id),
at the configured ratios of train and the missing parts. A cluster without an official split keeps
its members' split in the parent snapshot (test first), so a query in test in vN stays in test in
vN+1; an official split is never moved by the parent. The remaining clusters are ordered by their
id (already a hash of the text) within their intent and cut at the configured ratios, which makes
every intent's share exact and the result independent of input order.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import SplitConfig
from honkdata.schema import SPLITS
from honkdata.stage import StageStats

# The stage's counters (manifest.json: stages.split).
CLUSTERS_KEPT_FROM_PARENT = "clusters_kept_in_parent_split"  # no official split: the parent's kept
CLUSTERS_MOVED_FROM_PARENT = "clusters_moved_to_official_split"  # an official split over the parent's
NEW_CLUSTERS = "new_clusters"  # neither: cut at the configured ratios
ROWS_CARVED = "rows_carved"  # rows carved from a source's train, by the part they went to
ROWS_KEPT_OFFICIAL = "rows_kept_in_official_split"
ROWS_MOVED = "rows_moved"  # rows moved off their official split, by move ("train->test")

# Where splits meet (a cluster, a query in two parts of a source), the most protected one wins.
_PRIORITY = {"test": 0, "validation": 1, "train": 2}
_BY_PRIORITY = {v: k for k, v in _PRIORITY.items()}


def _cut(position: np.ndarray, config: SplitConfig) -> np.ndarray:
    bounds = np.cumsum([config.train, config.validation])
    return np.asarray(SPLITS)[np.searchsorted(bounds, position, side="right")]


def _uniform(ids: Iterable[str]) -> np.ndarray:
    """A number in [0, 1) per id, the same in every run (md5, not Python's salted hash)."""
    return np.array([int(hashlib.md5(i.encode()).hexdigest()[:13], 16) / 16**13 for i in ids], dtype=float)


@dataclass
class AssignSplits:
    """Table stage: adds the `split` column.

    `parent`: id -> split in the parent snapshot. `kept`: input name (as in `sources`) -> the
    configured source it belongs to, for every source whose own split is kept; the parts a source
    has are those of all its inputs (SLURP's train.jsonl, devel.jsonl and test.jsonl are one source).
    """

    config: SplitConfig
    parent: dict[str, str]
    kept: Mapping[str, str] = field(default_factory=dict)
    name: str = "split"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        rows = table.select(["id", "dup_cluster", "intent", "count"]).to_pandas()
        entries = self._official_entries(table.column("sources"))
        entries["cluster"] = rows["dup_cluster"].to_numpy(dtype=object)[entries["row"].to_numpy()]
        rows["official"] = entries["split"].map(_PRIORITY).astype(float).groupby(entries["row"]).min()
        rows["inherited"] = rows["id"].map(self.parent).map(_PRIORITY)
        clusters = rows.sort_values(["dup_cluster", "count", "id"], ascending=[True, False, True]).groupby(
            "dup_cluster", sort=True
        )
        units = pd.DataFrame(
            {
                "intent": clusters["intent"].first().fillna(""),
                "official": clusters["official"].min().map(_BY_PRIORITY),
                "inherited": clusters["inherited"].min().map(_BY_PRIORITY),
            }
        )
        units["carved"] = self._carve(entries, units["official"])
        split = units["carved"].fillna(units["official"]).fillna(units["inherited"])
        new = units[split.isna()]
        rank = new.groupby("intent").cumcount().to_numpy()
        size = new.groupby("intent")["intent"].transform("size").to_numpy()
        split[new.index] = _cut((rank + 0.5) / np.maximum(size, 1), self.config)
        assigned = rows["dup_cluster"].map(split)
        _note(units.assign(split=split), entries, rows["dup_cluster"], stats)
        stats.rows_out += table.num_rows
        return table.append_column("split", pa.array(assigned.to_numpy(dtype=object), pa.string()))

    def _official_entries(self, sources: pa.ChunkedArray) -> pd.DataFrame:
        """One row per official split a row has in a kept source: row index, source and split."""
        sources = sources.combine_chunks()
        flat = pc.list_flatten(sources)
        split = pc.struct_field(flat, "split")
        has_split = pc.is_valid(split)
        entries = pd.DataFrame(
            {
                "row": pc.list_parent_indices(sources).filter(has_split).to_numpy(),
                "source": pc.struct_field(flat, "name").filter(has_split).to_pandas().map(self.kept),
                "split": split.filter(has_split).to_pandas(),
            }
        )
        return entries.dropna().reset_index(drop=True)

    def _carve(self, entries: pd.DataFrame, official: pd.Series) -> pd.Series:
        """cluster -> the part it is carved into, for the clusters in train by a source that lacks a
        part: a hash of the cluster's id (a row id) against the ratios of train and the missing parts.
        Only train is carved, so an official validation or test part stays whole."""
        ratio = {"train": self.config.train, "validation": self.config.validation, "test": self.config.test}
        lacking = {}  # source -> train and the parts it lacks
        for source, given in entries.groupby("source")["split"]:
            parts = ["train", *(p for p in SPLITS if p not in set(given))]
            if "train" in set(given) and len(parts) > 1 and sum(ratio[p] for p in parts) > 0:
                lacking[source] = parts
        train = entries[entries["source"].isin(lacking) & entries["cluster"].map(official).eq("train")]
        carved = [pd.Series(index=official.index[:0], dtype=object)]
        # A cluster with rows of two such sources is carved by the ratios of the first, by name.
        for source, group in train.sort_values("source").drop_duplicates("cluster").groupby("source"):
            shares = np.array([ratio[p] for p in lacking[source]])
            bounds = np.cumsum(shares / shares.sum())[:-1]
            where = np.searchsorted(bounds, _uniform(group["cluster"]), side="right")
            carved.append(pd.Series(np.asarray(lacking[source])[where], index=group["cluster"].to_numpy()))
        return pd.concat(carved).reindex(official.index)


def _note(units: pd.DataFrame, entries: pd.DataFrame, cluster_of: pd.Series, stats: StageStats) -> None:
    """Clusters by where their split came from; rows kept in an official split of theirs, carved
    from train (per part), and moved toward test because their query or cluster also stands there."""
    official, inherited = units["official"].notna() | units["carved"].notna(), units["inherited"].notna()
    stats.note(CLUSTERS_KEPT_FROM_PARENT, int((inherited & ~official).sum()))
    moved = official & inherited & (units["split"] != units["inherited"])
    stats.note(CLUSTERS_MOVED_FROM_PARENT, int(moved.sum()))
    stats.note(NEW_CLUSTERS, int((~official & ~inherited).sum()))
    carved = units["carved"].where(units["carved"] != "train").dropna()
    for part, n in cluster_of.map(carved).value_counts().items():
        stats.tally(ROWS_CARVED, str(part), int(n))
    final = entries["cluster"].map(units["split"])
    stats.note(ROWS_KEPT_OFFICIAL, entries.loc[entries["split"] == final, "row"].nunique())
    winner = entries["cluster"].map(units["official"])
    moves = entries.assign(to=winner)[entries["split"] != winner].drop_duplicates(["row", "split"])
    for (given, to), n in moves.groupby(["split", "to"]).size().items():
        stats.tally(ROWS_MOVED, f"{given}->{to}", int(n))
