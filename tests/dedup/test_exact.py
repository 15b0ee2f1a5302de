import datetime as dt
import json
import os
import random
import subprocess
import sys

import nbformat
import pyarrow as pa
from nbclient import NotebookClient

from honkdata.config import DPConfig, NormalizeConfig
from honkdata.dedup import exact
from honkdata.dedup.exact import CONFLICTING_GOLD, MERGED_IDENTICAL, ExactDedup
from honkdata.normalize import Normalize
from honkdata.schema import RECORD
from honkdata.stage import StageStats


def _events(rows: list[dict]) -> pa.RecordBatch:
    """Rows as the grouping gets them: normalized, user-log events those without a gold intent."""
    for i, row in enumerate(rows):
        row.setdefault("source", "s")
        row.setdefault("line", i + 1)
    batch = Normalize(NormalizeConfig())(pa.RecordBatch.from_pylist(rows, schema=RECORD), StageStats("n"))
    return batch.append_column("user_log", pa.array([r.get("intent") is None for r in rows]))


def _dedup(tmp_path, rows: list[dict]) -> tuple[list[dict], StageStats]:
    batch = _events(rows)
    stats = StageStats("exact_dedup")
    tmp_path.mkdir(exist_ok=True)
    dedup = ExactDedup(tmp_path / "work")
    dedup.add(batch, stats)
    table = dedup.finish(stats)
    assert not (tmp_path / "work").exists(), "the event table (raw user ids) must not outlive the stage"
    return table.to_pylist(), stats


def test_one_row_per_key_with_counts_users_sources_and_days(tmp_path):
    day = dt.datetime(2026, 9, 1, 10, tzinfo=dt.UTC)
    rows, stats = _dedup(
        tmp_path,
        [
            {"query": "Play Taylor Swift", "user_id": "u1", "ts": day, "source": "a"},
            {"query": "play taylor swift", "user_id": "u2", "ts": day + dt.timedelta(days=3), "source": "b"},
            {"query": "play taylor swift!", "user_id": "u2", "source": "b"},
            {"query": "play  taylor swift", "user_id": "u1", "source": "b"},
            {"query": "skip", "user_id": "u1"},
        ],
    )
    by_text = {r["text"]: r for r in rows}
    assert set(by_text) == {"play taylor swift", "skip"}  # the most frequent variant is displayed
    swift = by_text["play taylor swift"]
    sources = [{"name": "a", "split": None}, {"name": "b", "split": None}]
    assert (swift["count"], swift["n_users"], swift["sources"]) == (4, 2, sources)
    assert (swift["first_seen"], swift["last_seen"]) == (dt.date(2026, 9, 1), dt.date(2026, 9, 4))
    assert swift["dup_cluster"] == swift["id"] and len(swift["id"]) == 16
    assert stats.dropped == {MERGED_IDENTICAL: 3}


def test_ids_are_stable_across_runs(tmp_path):
    first, _ = _dedup(tmp_path / "1", [{"query": "play abba"}, {"query": "skip"}])
    second, _ = _dedup(tmp_path / "2", [{"query": "skip"}, {"query": "Play ABBA"}, {"query": "pause"}])
    ids = {r["text"].lower(): r["id"] for r in second}
    assert all(ids[r["text"].lower()] == r["id"] for r in first)


def test_gold_majority_wins_and_conflicts_are_counted(tmp_path):
    artist = [{"type": "artist", "start": 5, "end": 9, "text": "abba"}]
    rows, stats = _dedup(
        tmp_path,
        [
            {"query": "play abba", "intent": "play_music", "entities": artist},
            {"query": "Play ABBA", "intent": "play_music", "entities": artist},
            {"query": "play abba", "intent": "play_radio", "entities": []},
            {"query": "skip"},
        ],
    )
    abba = next(r for r in rows if r["text"] == "play abba")
    assert (abba["intent"], abba["label_source"]) == ("play_music", "gold")
    assert abs(abba["label_confidence"] - 2 / 3) < 1e-6
    assert abba["entities"] == [{"type": "artist", "start": 5, "end": 9, "text": "abba"}]
    skip = next(r for r in rows if r["text"] == "skip")
    assert skip["intent"] is None and skip["label_source"] is None and skip["n_users"] == 0
    assert (abba["from_curated"], skip["from_curated"]) == (True, False)
    assert stats.notes == {CONFLICTING_GOLD: 1}


def test_entity_text_is_taken_from_the_displayed_variant(tmp_path):
    rows, _ = _dedup(
        tmp_path,
        [
            {
                "query": "Play ABBA",
                "intent": "play_music",
                "entities": [{"type": "artist", "start": 5, "end": 9, "text": "ABBA"}],
            },
            {"query": "play abba"},
            {"query": "play abba"},
        ],
    )
    (row,) = rows
    assert row["text"] == "play abba"
    assert row["entities"][0]["text"] == "abba"


def test_dp_caps_bound_each_users_contribution(tmp_path):
    rows = [{"query": q, "user_id": "heavy"} for q in ("play a", "play b", "play c") for _ in range(4)]
    rows += [{"query": "play a", "user_id": "light"}]
    for i, row in enumerate(rows):
        row.update(source="s", line=i + 1)
    batch = Normalize(NormalizeConfig())(pa.RecordBatch.from_pylist(rows, schema=RECORD), StageStats("n"))
    batch = batch.append_column("user_log", pa.repeat(True, batch.num_rows))
    dedup = ExactDedup(tmp_path / "work", dp=DPConfig(max_queries_per_user=2, max_events_per_query=1))
    dedup.add(batch, StageStats("d"))
    table = dedup.finish(StageStats("d"))
    heavy_queries = sum(table.column("capped_users").to_pylist()) - 1  # minus the light user's one
    assert heavy_queries == 2  # the heavy user counts in at most two queries
    assert max(table.column("capped_events").to_pylist()) <= 2  # at most one event per user per query
    assert sum(table.column("count").to_pylist()) == 13  # the exact counts are untouched


def test_spans_of_another_variant_are_cut_to_the_displayed_text(tmp_path):
    # The gold variant's span runs over "!"; the displayed (most frequent) variant has no "!", so
    # the span used to run past the end of the row's text.
    help_track = [{"type": "track", "start": 14, "end": 19, "text": "Help!"}]
    exclamation = [{"type": "emphasis", "start": 19, "end": 20, "text": "!"}]
    rows, _ = _dedup(
        tmp_path,
        [
            {
                "query": "Play the song Help!!",
                "intent": "play_music",
                "entities": help_track,
                "source_intent": "PlayMusic",
                "source_entities": help_track + exclamation,
            },
            {"query": "play the song help"},
            {"query": "play the song help"},
        ],
    )
    (row,) = rows
    assert row["text"] == "play the song help"
    assert row["entities"] == [{"type": "track", "start": 14, "end": 18, "text": "help"}]
    assert row["source_intent"] == "PlayMusic"
    assert row["source_entities"] == [{"type": "track", "start": 14, "end": 18, "text": "help"}]


def test_a_displayed_gold_variant_keeps_its_spans_whole(tmp_path):
    help_track = [{"type": "track", "start": 14, "end": 19, "text": "Help!"}]
    gold = {"query": "play the song Help!", "intent": "play_music", "entities": help_track}
    rows, _ = _dedup(tmp_path, [gold, {**gold}, {"query": "play the song help"}])
    (row,) = rows
    assert (row["text"], row["entities"]) == ("play the song Help!", help_track)
    assert row["source_intent"] is None  # no native labels given: none made up


def test_sources_hold_each_input_with_its_official_split(tmp_path):
    rows, _ = _dedup(
        tmp_path,
        [
            {"query": "play abba", "intent": "play_music", "source": "goo", "source_split": "train"},
            {"query": "Play ABBA", "intent": "play_music", "source": "goo", "source_split": "test"},
            {"query": "play abba", "intent": "play_music", "source": "goo", "source_split": "train"},
            {"query": "play abba", "source": "log.jsonl"},
        ],
    )
    (row,) = rows
    assert row["sources"] == [
        {"name": "goo", "split": "test"},
        {"name": "goo", "split": "train"},
        {"name": "log.jsonl", "split": None},
    ]


def test_the_grouping_runs_inside_a_jupyter_kernel(tmp_path):
    """Analysts call build() from notebooks: there DuckDB refuses to touch its progress-bar setting."""
    code = (
        "from pathlib import Path\n"
        "from honkdata.dedup.exact import ExactDedup\n"
        f"dedup = ExactDedup(Path({str(tmp_path / 'work')!r}), '256MB')\n"
        "print('grouping ready')"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    assert "grouping ready" in printed


def _many_events(n: int) -> pa.RecordBatch:
    """Events of many keys, with case and punctuation variants, users, days, locales, surfaces, and
    gold labels that conflict: every part of the grouping's row."""
    draw = random.Random(3)
    names = ["abba", "queen", "adele", "muse", "blur", "sade", "toto", "yes", "kiss", "cher", "ghost"]
    rows = []
    for i in range(n):
        name = draw.choice(names)
        row = {
            "query": draw.choice([f"play {name}", f"Play {name.upper()}!", f"skip {name}", f"{name} radio"]),
            "user_id": f"u{draw.randrange(20)}",
            "ts": dt.datetime(2026, 9, 1 + draw.randrange(20), tzinfo=dt.UTC),
            "locale": draw.choice([None, "en-US", "en-GB"]),
            "surface": draw.choice([None, "voice", "app"]),
            "source": draw.choice(["log", "gold"]),
            "line": i + 1,
        }
        if row["source"] == "gold":
            row["intent"] = draw.choice(["play_music", "play_radio"])
            start = row["query"].lower().index(name)
            row["entities"] = [{"type": "artist", "start": start, "end": start + len(name), "text": name}]
        rows.append(row)
    return _events(rows)


def test_partitions_grouped_apart_give_the_table_of_one_grouping(tmp_path):
    """What lets the Ray engine group on its workers: each partition's table, merged in partition
    order, is one grouping's over every event (rows and their order), and the counters add up."""
    events = _many_events(600)
    whole, whole_stats = ExactDedup(tmp_path / "whole"), StageStats("exact_dedup")
    whole.add(events, whole_stats)
    expected = whole.finish(whole_stats)

    driver = ExactDedup(tmp_path / "driver")
    partitions = driver.partitions()
    stats, finished = StageStats("exact_dedup"), []
    for i, piece in enumerate(partitions.split(pa.Table.from_batches([events]), 3)):
        grouping, part = partitions.grouping(tmp_path / f"part{i}", 1), StageStats("exact_dedup")
        grouping.add(piece.to_batches()[0], part)
        finished.append(grouping.finish(part))
        stats.add(part)
    merged = driver.merge(finished)

    assert all(t.num_rows for t in finished) and expected.num_rows == 33
    assert merged.equals(expected)
    assert (stats.rows_in, stats.rows_out, stats.dropped, stats.notes) == (
        whole_stats.rows_in,
        whole_stats.rows_out,
        whole_stats.dropped,
        whole_stats.notes,
    )
    assert stats.notes[CONFLICTING_GOLD] > 0
    assert not (tmp_path / "driver").exists(), "merge releases the driver's grouping"


def test_events_too_many_for_memory_are_grouped_in_a_database_file_to_the_same_table(tmp_path, monkeypatch):
    events, close, files = _many_events(600), ExactDedup._close, []

    def closing(dedup: ExactDedup) -> None:
        files.append({p.name for p in dedup._workdir.iterdir()})
        close(dedup)

    def grouped(name: str) -> pa.Table:
        dedup = ExactDedup(tmp_path / name)
        dedup.add(events, StageStats("exact_dedup"))
        return dedup.finish(StageStats("exact_dedup"))

    monkeypatch.setattr(ExactDedup, "_close", closing)
    in_memory = grouped("memory")
    monkeypatch.setattr(exact, "_IN_MEMORY_SHARE", 0)  # any parts are too many
    in_file = grouped("file")
    assert "events.duckdb" not in files[0] and "events.duckdb" in files[1]
    assert in_file.num_rows == 33 and in_file.equals(in_memory)


_KEYS_BY_PARTITION = """
import json, sys
import pyarrow as pa
from honkdata.dedup.exact import KeyPartitions
events = pa.ipc.open_file(sys.argv[1]).read_all()
print(json.dumps([sorted(set(p.column("key").to_pylist())) for p in KeyPartitions("1GB").split(events, 4)]))
"""


def test_every_key_lands_in_one_partition_the_same_in_every_process(tmp_path):
    events = pa.Table.from_batches([_many_events(300)])
    pieces = ExactDedup(tmp_path / "work").partitions().split(events, 4)
    keys = [set(p.column("key").to_pylist()) for p in pieces]
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == 33  # no key in two partitions
    assert sorted(pa.concat_tables(pieces).column("line").to_pylist()) == list(range(1, 301))  # all rows
    path = tmp_path / "events.arrow"
    with pa.ipc.new_file(path, events.schema) as f:
        f.write_table(events)
    for seed in ("1", "2"):  # Python's own str hash differs with the seed; the partitions must not
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", _KEYS_BY_PARTITION, str(path)], env=env, capture_output=True
        )
        assert out.returncode == 0, out.stderr.decode()
        assert json.loads(out.stdout) == [sorted(k) for k in keys]


def test_a_partitions_grouping_runs_on_the_cores_it_is_given(tmp_path):
    """A Ray task that holds one CPU must not run DuckDB on every core of its node."""
    grouping = ExactDedup(tmp_path / "work").partitions().grouping(tmp_path / "part", 1)
    assert grouping._con.execute("SELECT current_setting('threads')").fetchone() == (1,)


def test_a_dp_grouping_is_not_split(tmp_path):
    """The DP cap ranks each user's keys across all keys: its events must meet in one grouping."""
    assert ExactDedup(tmp_path / "work", dp=DPConfig()).partitions() is None
