"""Near-duplicate and semantic dedup as build stages.

`ClusterDuplicates` only marks clusters (`dup_cluster`), so that `AssignSplits` can keep a whole
cluster in one split and look every member up in the parent snapshot; `MergeClusters` then folds
each cluster into its most frequent member. Both run after the release threshold: k-anonymity is
decided on exact queries with exact user counts, before merged counts could overstate them.
"""

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import DedupConfig
from honkdata.dedup.near import connected_components, near_duplicate_pairs
from honkdata.errors import HonkdataError
from honkdata.normalize import grouping_key
from honkdata.stage import StageStats

LARGEST_CLUSTERS = 20  # how many clusters the manifest lists with their variants

# The stages' counters (manifest.json: stages.near_dedup and stages.merge_duplicates).
NEAR_DUPLICATE_PAIRS = "near_duplicate_pairs"
SEMANTIC_PAIRS = "semantic_pairs"
MERGED_NEAR_DUPLICATE = "merged_into_near_duplicate"  # rows folded into their cluster's most frequent
CLUSTERS_OF_SEVERAL = "clusters_of_several_queries"


@dataclass
class ClusterDuplicates:
    """Table stage: sets `dup_cluster` to the smallest member id of each duplicate cluster."""

    config: DedupConfig
    pairs: np.ndarray = field(default_factory=lambda: np.empty((0, 2), np.int64))
    name: str = "near_dedup"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        found = [self.pairs]
        if self.config.near.enabled:
            keys = grouping_key(table.column("text").combine_chunks())
            entities, intents = (
                table.column("entities").combine_chunks(),
                table.column("intent").combine_chunks(),
            )
            found.append(near_duplicate_pairs(keys, self.config.near, entities, intents))
            stats.note(NEAR_DUPLICATE_PAIRS, len(found[-1]))
        if self.config.semantic.enabled:
            from honkdata.dedup.semantic import semantic_pairs  # torch loads only when asked for

            texts, intents = table.column("text").combine_chunks(), table.column("intent").combine_chunks()
            found.append(semantic_pairs(texts, intents, self.config.semantic))
            stats.note(SEMANTIC_PAIRS, len(found[-1]))
        self.pairs = np.concatenate(found)
        labels = connected_components(table.num_rows, self.pairs)
        ids = table.column("id").to_numpy(zero_copy_only=False)
        order = np.lexsort((ids, labels))  # per cluster, the smallest id first
        first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
        cluster_id = np.empty(labels.max() + 1 if len(labels) else 0, dtype=object)
        cluster_id[labels[first]] = ids[first]
        stats.rows_out += table.num_rows
        return table.set_column(
            table.schema.get_field_index("dup_cluster"),
            "dup_cluster",
            pa.array(cluster_id[labels], pa.string()),
        )


def check_split_leaks(table: pa.Table) -> None:
    """Fail unless every duplicate cluster sits in one split: a leak would make test metrics optimistic.
    Checked where clusters are merged, independently of how the splits were assigned."""
    pairs = table.group_by("dup_cluster").aggregate([("split", "count_distinct")])
    crossing = pc.sum(pc.greater(pairs.column("split_count_distinct"), 1)).as_py() or 0
    if crossing:
        raise HonkdataError(f"{crossing} near-duplicate clusters straddle splits; no snapshot written")


# Of equally frequent members, one that a source put in the cluster's split itself (`own`) stands
# for the cluster, so that a benchmark's test part keeps its own sentences, not their train twins.
_MERGE = """
WITH members AS (
    SELECT *, coalesce(list_contains(list_transform(sources, lambda s: s.split), split), false) AS own
    FROM rows
), ranked AS (
    SELECT *,
        row_number() OVER (PARTITION BY dup_cluster ORDER BY count DESC, own DESC, id) AS by_count,
        row_number() OVER (PARTITION BY dup_cluster ORDER BY
            CASE label_source WHEN 'human' THEN 0 WHEN 'gold' THEN 1 WHEN 'model' THEN 2 WHEN 'weak' THEN 3
            ELSE 4 END, count DESC, own DESC, id) AS by_label
    FROM members
), merged AS (
    SELECT dup_cluster, sum(count)::BIGINT AS count, sum(n_users)::BIGINT AS n_users,
           list_sort(list_distinct(flatten(list(sources)))) AS sources,
           min(first_seen) AS first_seen, max(last_seen) AS last_seen, count(*)::BIGINT AS n_variants,
           list(text ORDER BY count DESC, own DESC, id) AS variants
    FROM members GROUP BY dup_cluster
){most_frequent}
SELECT r.id, r.text, l.intent, r.entities, r.source_intent, r.source_entities, l.label_source,
       l.label_confidence, m.count, m.n_users, m.sources, m.first_seen, m.last_seen, lm.locale,
       sm.surface, r.dup_cluster, r.split, m.n_variants, m.variants
FROM ranked r JOIN merged m USING (dup_cluster)
    JOIN ranked l ON l.dup_cluster = r.dup_cluster AND l.by_label = 1
    LEFT JOIN locale_mode lm USING (dup_cluster) LEFT JOIN surface_mode sm USING (dup_cluster)
WHERE r.by_count = 1
ORDER BY r.id
"""

# The most frequent value of a metadata column over every event of the cluster, from the members'
# per-value event counts (ExactDedup's `<column>_votes`); ties go to the smallest value, so the same
# input always gives the same row.
_MOST_FREQUENT = """, {column}_counts AS (
    SELECT dup_cluster, vote.value AS value, sum(vote.n) AS n
    FROM (SELECT dup_cluster, unnest({column}_votes) AS vote FROM rows) GROUP BY dup_cluster, vote.value
), {column}_mode AS (
    SELECT dup_cluster, first(value ORDER BY n DESC, value) AS {column}
    FROM {column}_counts GROUP BY dup_cluster
)"""
_METADATA = ("locale", "surface")
_VOTES = pa.list_(pa.struct([pa.field("value", pa.string()), pa.field("n", pa.int64())]))


@dataclass
class MergeClusters:
    """Table stage: one row per cluster — its most frequent member's text with that member's spans
    and native labels (spans hold only in their own text), everyone's counts and sources, the best
    label in the cluster (human > gold > model > weak), `n_variants`, and the cluster's most frequent
    locale and surface."""

    largest: list[dict] = field(default_factory=list)  # for the manifest: the variants are not lost
    name: str = "merge_duplicates"

    def state(self) -> dict:
        return {"largest": self.largest}

    def restore(self, state: dict) -> None:
        self.largest = state["largest"]

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        check_split_leaks(table)
        for column in _METADATA:
            if f"{column}_votes" not in table.column_names:  # rows that never went through ExactDedup
                table = table.append_column(f"{column}_votes", pa.nulls(table.num_rows, _VOTES))
        con = duckdb.connect()
        con.register("rows", table)
        most_frequent = "".join(_MOST_FREQUENT.format(column=column) for column in _METADATA)
        merged = con.sql(_MERGE.format(most_frequent=most_frequent)).to_arrow_table()
        con.close()
        biggest = merged.filter(pc.greater(merged.column("n_variants"), 1))
        biggest = biggest.sort_by([("n_variants", "descending"), ("id", "ascending")]).slice(
            0, LARGEST_CLUSTERS
        )
        self.largest = [
            {"text": r["text"], "variants": r["variants"], "count": r["count"]}
            for r in biggest.select(["text", "variants", "count"]).to_pylist()
        ]
        stats.drop(MERGED_NEAR_DUPLICATE, table.num_rows - merged.num_rows)
        stats.note(CLUSTERS_OF_SEVERAL, pc.sum(pc.greater(merged.column("n_variants"), 1)).as_py() or 0)
        stats.rows_out += merged.num_rows
        return merged.drop_columns(["variants"])
