"""The per-row metadata the slices read: `locale` and `surface` in the snapshot, and what
`snapshot_eval_set` and `file_eval_set` give for each scored example."""

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from honkdata.build import build
from honkdata.config import DPConfig, NormalizeConfig, load_config
from honkdata.dedup.exact import ExactDedup
from honkdata.dedup.stage import MergeClusters
from honkdata.evaluate.data import META, file_eval_set, snapshot_eval_set
from honkdata.normalize import Normalize
from honkdata.schema import RECORD
from honkdata.stage import StageStats
from honkdata.taxonomy import load_taxonomy
from honkdata.train.labels import LabelSpace
from tests.conftest import write_jsonl


def test_a_row_gets_the_most_frequent_locale_and_surface_of_its_events(tmp_path: Path, make_config) -> None:
    log = write_jsonl(
        tmp_path / "log.jsonl",
        [
            {"query": "play taylor swift", "user_id": "u1", "surface": "voice", "locale": "en-US"},
            {"query": "play taylor swift", "user_id": "u2", "surface": "search", "locale": "en-GB"},
            {"query": "Play Taylor Swift", "user_id": "u3", "surface": "voice", "locale": "en-GB"},
            # A near duplicate: merged into the row above, its events vote too.
            {"query": "play taylor swif", "user_id": "u4", "surface": "search", "locale": "en-US"},
            {"query": "play taylor swif", "user_id": "u5", "surface": "search"},
            {"query": "pause", "user_id": "u1", "surface": "chat"},
            {"query": "skip", "user_id": "u1"},
        ],
    )
    result = build(make_config(log))
    table = pa.concat_tables(pq.read_table(p) for p in (result.path / "data").glob("*.parquet"))
    rows = {r["text"]: (r["n_variants"], r["surface"], r["locale"]) for r in table.to_pylist()}
    # Surfaces: search 3, voice 2. Locales: en-GB 2, en-US 2, a tie that the smaller value wins.
    assert rows == {
        "play taylor swift": (2, "search", "en-GB"),
        "pause": (1, "chat", None),
        "skip": (1, None, None),
    }


def _unique_rows(tmp_path: Path, rows: list[dict], dp: DPConfig | None) -> list[dict]:
    for i, row in enumerate(rows):
        row.update(source="s", line=i + 1)
    batch = Normalize(NormalizeConfig())(pa.RecordBatch.from_pylist(rows, schema=RECORD), StageStats("n"))
    batch = batch.append_column("user_log", pa.array([r["user_id"] is not None for r in rows]))
    dedup = ExactDedup(tmp_path, dp=dp)
    dedup.add(batch, StageStats("exact_dedup"))
    table = dedup.finish(StageStats("exact_dedup"))
    table = table.append_column("split", pa.array(["train"] * table.num_rows))
    return MergeClusters()(table, StageStats("merge")).to_pylist()


def test_under_dp_only_curated_events_vote(tmp_path: Path) -> None:
    rows = [{"query": "play abba", "user_id": None, "locale": "en-GB"}] + [
        {"query": "play abba", "user_id": f"u{i}", "locale": "en-US", "surface": "voice"} for i in range(3)
    ]
    (plain,) = _unique_rows(tmp_path / "plain", [dict(r) for r in rows], None)
    assert (plain["locale"], plain["surface"]) == ("en-US", "voice")
    dp = DPConfig(max_queries_per_user=10, max_events_per_query=10)
    (private,) = _unique_rows(tmp_path / "dp", [dict(r) for r in rows], dp)
    assert (private["locale"], private["surface"]) == ("en-GB", None)


def test_eval_sets_carry_each_examples_metadata(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "labeled.jsonl",
        [
            {"query": "play abba", "intent": "play_music", "locale": "en-GB", "split": "test"},
            {"query": "play abba", "intent": "play_music", "locale": "en-GB", "split": "test"},
            {"query": "skip this", "intent": "playback_control", "split": "test"},
            {"query": "play jazz", "intent": "play_music", "split": "train"},
            {"query": "pause", "intent": "playback_control", "split": "train"},
        ],
    )
    taxonomy = load_taxonomy()
    labels = LabelSpace("taxonomy", tuple(taxonomy.intents), tuple(taxonomy.entity_types), "out_of_domain")
    root = tmp_path / "store"
    source = {"path": str(data), "format": "labeled-jsonl", "kind": "curated"}
    build(load_config(None, name="lab", root=str(root), sources=[source]))

    snapshot = snapshot_eval_set(labels, "lab@latest", root, "test")
    assert snapshot.meta.schema == META
    by_text = dict(zip((e.text for e in snapshot.examples), snapshot.meta.to_pylist(), strict=True))
    assert by_text == {
        "play abba": {"surface": None, "locale": "en-GB", "label_source": "gold", "count": 2},
        "skip this": {"surface": None, "locale": None, "label_source": "gold", "count": 1},
    }
    first = snapshot.head(1)
    assert len(first.examples) == first.meta.num_rows == 1

    file = file_eval_set(labels, data, "labeled-jsonl")
    assert len(file.examples) == file.meta.num_rows == 5
    assert file.meta.column("locale").to_pylist() == ["en-GB", "en-GB", None, None, None]
    assert file.meta.column("count").null_count == file.meta.column("label_source").null_count == 5
