"""Drift between snapshots: the figures against hand computation on tiny real builds, no drift between
a snapshot and itself, the warnings, figures a snapshot lacks the columns for, and `snapshots diff`."""

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from honkdata.build import build
from honkdata.cli import app
from honkdata.config import load_config
from honkdata.errors import HonkdataError
from honkdata.snapshot.diff import diff_snapshots
from honkdata.snapshot.drift import DriftThresholds, drift_warnings, jensenshannon_divergence, snapshot_drift
from honkdata.snapshot.store import SnapshotStore
from tests.conftest import write_jsonl

FIGURES = ("intent_js", "entity_type_js", "new_head_share", "unseen_entity_share", "oov_rate")


def _entropy(p: float) -> float:
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _line(query: str, intent: str, *entities: tuple[str, str]) -> dict:
    """A labeled-jsonl row; each entity (type, text) is spanned where its text stands in the query."""
    spans = [
        {"type": kind, "start": query.index(text), "end": query.index(text) + len(text)}
        for kind, text in entities
    ]
    return {"query": query, "intent": intent, "entities": spans}


TAYLOR = _line("play taylor swift", "play_music", ("artist", "taylor swift"))
SKIP = _line("skip this song", "playback_control")
PAUSE = _line("pause the music", "playback_control")
VERSIONS = (
    # v1: 4 events, play_music 3 : playback_control 1, three artist mentions.
    [TAYLOR] * 3 + [SKIP],
    # v2: the same 4 events' worth of traffic turned round (1 : 3), its heaviest query new.
    [TAYLOR, SKIP, PAUSE, PAUSE],
    # v3: as many genre mentions as artist ones; the artist in another case, the genre never seen.
    [_line("Play Taylor Swift", "play_music", ("artist", "Taylor Swift"))] * 2
    + [_line("play some jazz", "play_music", ("genre", "jazz"))] * 2,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SnapshotStore:
    """q@v1, q@v2 and q@v3: real builds of the hand-written logs above (gold labels, one row per query,
    `count` the lines it was written on)."""
    folder = tmp_path_factory.mktemp("drift")
    for rows in VERSIONS:  # one log, rewritten: the same input, grown and changed
        log = write_jsonl(folder / "log.jsonl", rows)
        source = {"path": str(log), "format": "labeled-jsonl", "kind": "curated"}
        build(load_config(None, name="q", root=str(folder / "store"), sources=[source]))
    return SnapshotStore(folder / "store")


def test_jensenshannon_divergence_by_hand():
    # [3/4, 1/4] against [1/4, 3/4]: the mixture is uniform, so JS = H(m) - mean H = 1 - H(3/4).
    assert jensenshannon_divergence({"a": 3, "b": 1}, {"a": 1, "b": 3}) == pytest.approx(1 - _entropy(0.75))
    # Masses, not shares: scaling a side changes nothing.
    assert jensenshannon_divergence({"a": 30, "b": 10}, {"a": 1, "b": 3}) == pytest.approx(1 - _entropy(0.75))
    # Half the mass on a key the other side lacks: m = [1/2, 1/4, 1/4], each KL to m is 1/2 bit.
    assert jensenshannon_divergence({"a": 1, "b": 1}, {"a": 1, "c": 1}) == pytest.approx(0.5)
    assert jensenshannon_divergence({"a": 1}, {"b": 5}) == pytest.approx(1.0)
    assert jensenshannon_divergence({"a": 2, "b": 7}, {"a": 2, "b": 7}) == 0.0
    assert jensenshannon_divergence({}, {}) == 0.0
    assert jensenshannon_divergence({}, {"a": 1}) == 1.0


def test_the_tiny_builds_hold_the_rows_the_hand_computation_assumes(store):
    rows = store.read(store.resolve("q@v2"), columns=["text", "intent", "entities", "count"]).to_pylist()
    by_text = {r["text"]: r for r in rows}
    assert {t: r["count"] for t, r in by_text.items()} == {
        "play taylor swift": 1,
        "skip this song": 1,
        "pause the music": 2,
    }
    assert [e["text"] for e in by_text["play taylor swift"]["entities"]] == ["taylor swift"]
    assert by_text["pause the music"]["entities"] == [] and by_text["skip this song"]["entities"] == []


def test_a_turned_round_intent_mix_with_a_new_head_query(store):
    d = snapshot_drift(store, store.resolve("q@v1"), store.resolve("q@v2"))
    assert (d["old"], d["new"], d["traffic"]) == ("q@v1", "q@v2", {"old": 4, "new": 4})
    assert d["intent_js"] == pytest.approx(1 - _entropy(0.75))  # 3:1 -> 1:3
    assert d["entity_type_js"] == 0.0  # artist mentions only, on both sides
    # The head (half of 4 events) is "pause the music" alone, and v1 never had it.
    assert (d["new_head_share"], d["head_queries"]) == (1.0, 1)
    assert d["new_head_queries"] == [{"text": "pause the music", "intent": "playback_control", "count": 2}]
    assert d["unseen_entity_share"] == 0.0 and d["unseen_entities"] == []
    # 12 tokens by traffic: play taylor swift (3), skip this song (3), pause the music (2 x 3) new.
    assert d["oov_rate"] == pytest.approx(6 / 12)
    assert [t["count"] for t in d["oov_tokens"]] == [2, 2, 2]
    assert {t["token"] for t in d["oov_tokens"]} == {"pause", "the", "music"}
    movers = {m["intent"]: (m["before"], m["after"]) for m in d["intent_movers"]}
    assert movers == {"play_music": (0.75, 0.25), "playback_control": (0.25, 0.75)}
    assert d["not_measured"] == {}
    assert drift_warnings(d, DriftThresholds()) == [
        "intent distribution moved: JS 0.19 > 0.10",
        "new head queries: share 1.00 > 0.20",
        "out-of-vocabulary tokens: share 0.50 > 0.10",
    ]
    assert drift_warnings(d, DriftThresholds(intent_js=0.2, new_head_share=1.0, oov_rate=0.5)) == []


def test_new_entity_types_and_values_case_folded(store):
    d = snapshot_drift(store, store.resolve("q@v1"), store.resolve("q@v3"))
    # artist 3 -> artist 2 : genre 2: [1, 0] against [1/2, 1/2], JS = H(3/4) - (0 + 1) / 2.
    assert d["entity_type_js"] == pytest.approx(_entropy(0.75) - 0.5)
    # "Taylor Swift" is "taylor swift" seen before; jazz (2 of 4 mentions by traffic) is not.
    assert d["unseen_entity_share"] == pytest.approx(0.5)
    assert d["unseen_entities"] == [{"type": "genre", "text": "jazz", "count": 2}]
    # play_music 3 : playback_control 1 -> 4 : 0, so m = [7/8, 1/8].
    assert d["intent_js"] == pytest.approx(_entropy(7 / 8) - _entropy(0.75) / 2)
    lines = drift_warnings(d, DriftThresholds())
    assert "entity type distribution moved: JS 0.31 > 0.10" in lines
    assert "unseen entities: share 0.50 > 0.30" in lines


def test_a_snapshot_against_itself_has_no_drift(labeled_store: Path):
    store = SnapshotStore(labeled_store)
    snips = store.resolve("snips@v1")
    d = snapshot_drift(store, snips, snips)
    assert all(d[f] == 0.0 for f in FIGURES), {f: d[f] for f in FIGURES}
    assert d["traffic"]["old"] == d["traffic"]["new"] > 2_000
    assert d["head_queries"] > 0
    examples = ("intent_movers", "new_head_queries", "unseen_entities", "oov_tokens")
    assert all(d[e] == [] for e in examples)
    assert drift_warnings(d, DriftThresholds(**dict.fromkeys(FIGURES, 0.0))) == []


def test_a_figure_whose_column_a_snapshot_lacks_is_not_measured(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    row = {"id": "a", "text": "play jazz", "intent": "play_music", "count": 2, "split": "train"}
    old = publish(store, "q", data_rows=[row])
    new = publish(store, "q", data_rows=[row, {**row, "id": "b", "text": "skip", "intent": None, "count": 6}])
    d = snapshot_drift(store, old, new)
    # 2 : 0 against 2 : 6 with the unlabeled as a class of their own: JS = H(5/8) - (0 + H(1/4)) / 2.
    assert d["intent_js"] == pytest.approx(_entropy(5 / 8) - _entropy(0.25) / 2)
    assert d["new_head_share"] == 1.0  # "skip" alone carries half of 8 events
    assert d["oov_rate"] is None and d["entity_type_js"] is None and d["unseen_entity_share"] is None
    assert d["not_measured"] == {
        "entity_type_js": "q@v1 has no entities column; q@v2 has no entities column",
        "unseen_entity_share": "q@v1 has no entities column; q@v2 has no entities column",
        "oov_rate": "q@v1 has no tokens column; q@v2 has no tokens column",
    }
    assert drift_warnings(d, DriftThresholds(**dict.fromkeys(FIGURES, 0.0))) == [
        f"intent distribution moved: JS {d['intent_js']:.2f} > 0.00",
        "new head queries: share 1.00 > 0.00",
    ]


def test_snapshots_without_rows_have_no_traffic_and_no_drift(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    old, new = publish(store, "q"), publish(store, "q")
    d = snapshot_drift(store, old, new)
    assert d["traffic"] == {"old": 0, "new": 0}
    assert all(d[f] == 0.0 for f in FIGURES) and d["head_queries"] == 0


def test_thresholds_are_a_strict_config():
    assert DriftThresholds.model_validate({"intent_js": 0.25}).intent_js == 0.25
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        DriftThresholds.model_validate({"oov_rate": 1.5})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DriftThresholds.model_validate({"intent_jsd": 0.1})
    with pytest.raises(ValidationError):
        DriftThresholds.model_validate({"intent_js": "0.1"})


def test_diff_carries_the_drift(store):
    d = diff_snapshots(store, store.resolve("q@v1"), store.resolve("q@v2"))
    assert d["drift"] == snapshot_drift(store, store.resolve("q@v1"), store.resolve("q@v2"))


def test_diff_command_prints_the_drift_and_its_warnings(store):
    runner, root = CliRunner(), str(store.root)
    result = runner.invoke(app, ["snapshots", "diff", "q@v1", "q@v2", "--root", root])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "drift warning: intent distribution moved: JS 0.19 > 0.10" in lines
    assert "drift warning: out-of-vocabulary tokens: share 0.50 > 0.10" in lines
    assert "  new head query: 'pause the music' (playback_control, 2 events)" in lines
    assert "  intent share play_music: 0.750 -> 0.250 (-0.500)" in lines
    assert any("drift (4 -> 4 events)" in line for line in lines)
    assert any("intent distribution (JS)" in line and "0.189" in line for line in lines)

    as_json = json.loads(
        runner.invoke(app, ["snapshots", "diff", "q@v1", "q@v2", "--root", root, "--json"]).stdout
    )
    assert as_json["drift"]["intent_js"] == pytest.approx(1 - _entropy(0.75))
    assert as_json["drift"]["new_head_queries"][0]["text"] == "pause the music"
    assert as_json["drift_warnings"] == [
        "intent distribution moved: JS 0.19 > 0.10",
        "new head queries: share 1.00 > 0.20",
        "out-of-vocabulary tokens: share 0.50 > 0.10",
    ]


def test_a_data_file_gone_is_one_line(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    old = publish(
        store, "q", data_rows=[{"id": "a", "text": "skip", "intent": None, "count": 1, "split": "train"}]
    )
    (store.path(old) / "data" / "train.parquet").unlink()
    with pytest.raises(HonkdataError, match=r"^cannot compare q@v1 and q@v1: .*train\.parquet"):
        snapshot_drift(store, old, old)
