import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from honkdata.build import build
from honkdata.cli import app
from honkdata.config import DedupConfig
from honkdata.dedup.stage import (
    MERGED_NEAR_DUPLICATE,
    SEMANTIC_PAIRS,
    ClusterDuplicates,
    MergeClusters,
    check_split_leaks,
)
from honkdata.errors import HonkdataError
from honkdata.schema import ENTITIES
from honkdata.stage import StageStats
from tests.conftest import write_jsonl


def _table(texts: list[str], counts: list[int], sources: list[str] | None = None) -> pa.Table:
    n = len(texts)
    return pa.table(
        {
            "id": [f"id{i:02d}" for i in range(n)],
            "text": texts,
            "intent": ["play_music"] * n,
            "entities": pa.nulls(n, ENTITIES),
            "source_intent": pa.nulls(n, pa.string()),
            "source_entities": pa.nulls(n, ENTITIES),
            "label_source": ["weak"] * n,
            "label_confidence": pa.array([0.9] * n, pa.float32()),
            "count": counts,
            "n_users": counts,
            "sources": [[{"name": s, "split": None}] for s in (sources or ["log"] * n)],
            "first_seen": pa.nulls(n, pa.date32()),
            "last_seen": pa.nulls(n, pa.date32()),
            "dup_cluster": [f"id{i:02d}" for i in range(n)],
        }
    )


def test_clusters_are_marked_then_folded_into_the_most_frequent_member():
    texts = ["play taylor swift", "play taylor swif", "taylor swift play please", "play drake", "play blake"]
    table = _table(texts, [10, 2, 1, 5, 3], ["a", "b", "a", "a", "a"])
    cluster = ClusterDuplicates(DedupConfig())
    marked = cluster(table, StageStats("near_dedup"))
    clusters = marked.column("dup_cluster").to_pylist()
    assert clusters[0] == clusters[1] == clusters[2] == "id00"
    assert len({clusters[0], clusters[3], clusters[4]}) == 3  # drake and blake stay apart
    marked = marked.append_column("split", pa.array(["train"] * 5))
    check_split_leaks(marked)
    merge = MergeClusters()
    stats = StageStats("merge_duplicates")
    merged = merge(marked, stats).to_pandas().set_index("text")
    swift = merged.loc["play taylor swift"]
    assert (swift["count"], swift["n_users"], swift["n_variants"]) == (13, 13, 3)
    assert [s["name"] for s in swift["sources"]] == ["a", "b"]
    assert merged.loc["play drake", "n_variants"] == 1
    assert stats.dropped == {MERGED_NEAR_DUPLICATE: 2}
    assert merge.largest[0]["variants"] == [
        "play taylor swift",
        "play taylor swif",
        "taylor swift play please",
    ]


def test_a_cluster_straddling_splits_fails_the_build():
    table = _table(["play taylor swift", "play taylor swif"], [3, 1]).append_column(
        "split", pa.array(["train", "test"])
    )
    check_split_leaks(table)  # two clusters, one split each
    table = table.set_column(
        table.schema.get_field_index("dup_cluster"), "dup_cluster", pa.array(["id00"] * 2)
    )
    with pytest.raises(HonkdataError, match="1 near-duplicate clusters straddle splits"):
        check_split_leaks(table)
    with pytest.raises(HonkdataError, match="straddle splits"):  # where a build meets it
        MergeClusters()(table, StageStats("merge_duplicates"))


def test_the_best_label_in_a_cluster_wins():
    table = _table(["play taylor swift", "play taylor swif"], [10, 1])
    sources = pa.array(["weak", "human"])
    table = table.set_column(table.schema.get_field_index("label_source"), "label_source", sources)
    confidence = pa.array([0.6, 1.0], pa.float32())
    table = table.set_column(table.schema.get_field_index("label_confidence"), "label_confidence", confidence)
    marked = ClusterDuplicates(DedupConfig())(table, StageStats("n"))
    marked = marked.append_column("split", pa.array(["test"] * 2))
    (row,) = MergeClusters()(marked, StageStats("m")).to_pylist()
    assert (row["text"], row["label_source"], row["label_confidence"]) == ("play taylor swift", "human", 1.0)


def test_build_merges_near_duplicates_and_keeps_clusters_in_one_split(tmp_path, make_config):
    queries = ["play taylor swift"] * 6 + [
        "play taylor swif",
        "Taylor Swift play",
        "play taylor swift please",
    ]
    queries += [f"play song number {i}" for i in range(60)]
    log = write_jsonl(
        tmp_path / "log.jsonl", [{"query": q, "user_id": f"u{i}"} for i, q in enumerate(queries)]
    )
    result = build(make_config(log))
    rows = pd.concat([pd.read_parquet(p) for p in (result.path / "data").glob("*.parquet")]).set_index("text")
    swift = rows.loc["play taylor swift"]
    assert (swift["count"], swift["n_variants"]) == (9, 4)
    assert not any(t in rows.index for t in ("play taylor swif", "Taylor Swift play"))
    assert result.manifest["largest_duplicate_clusters"][0]["text"] == "play taylor swift"
    shown = CliRunner().invoke(
        app, ["snapshots", "show", "music-queries@latest", "--root", str(tmp_path / "store")]
    )
    assert "near-duplicate clusters: 1" in shown.stdout and "play taylor swif" in shown.stdout


def test_semantic_dedup_merges_paraphrases_within_an_intent(tmp_path, make_config):
    queries = [
        "play some taylor swift songs",
        "play taylor swift songs please",
        "what's the weather in paris",
    ]
    log = write_jsonl(tmp_path / "log.jsonl", [{"query": q, "user_id": "u1"} for q in queries])
    config = make_config(
        log, dedup={"near": {"enabled": False}, "semantic": {"enabled": True, "threshold": 0.9}}
    )
    result = build(config)
    assert result.manifest["rows"] == 2
    assert result.manifest["stages"]["near_dedup"]["notes"] == {SEMANTIC_PAIRS: 1}
