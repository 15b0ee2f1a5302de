"""StageStats: counters under constant snake_case keys, breakdowns of a counter by a value, and the
manifest a real build writes from them."""

import re
from collections import Counter

import pytest
from rich.console import Console

from honkdata.anonymize.stage import PII_FOUND
from honkdata.build import build
from honkdata.cli.snapshots import _stages_table
from honkdata.normalize import EMPTY_QUERY
from honkdata.stage import StageStats
from tests.conftest import write_jsonl

KEY = re.compile(r"[a-z][a-z0-9_]*")


@pytest.mark.parametrize("count", ["drop", "note"])
@pytest.mark.parametrize("key", ["longer than 256 chars", "EMAIL found", "Too_long", "1st", "", "a-b"])
def test_a_key_that_is_not_snake_case_is_refused_by_name(count, key):
    stats = StageStats("s")
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        getattr(stats, count)(key, 1)
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        stats.tally(key, "EMAIL", 1)
    assert stats == StageStats("s")  # nothing counted, zero counts included


def test_tally_breaks_a_counter_down_by_value_and_round_trips():
    stats = StageStats("anonymize", rows_in=5, rows_out=4)
    stats.tally("pii_found", "PHONE", 1)
    stats.tally("pii_found", "EMAIL", 2)
    stats.tally("pii_found", "EMAIL", 1)
    stats.tally("pii_found", "CARD", 0)  # zero counts are not reported
    stats.tally("rows_moved", "train->test", 0)
    stats.drop("pii_dropped", 1)
    counted = stats.to_dict()
    assert counted["breakdowns"] == {"pii_found": {"EMAIL": 3, "PHONE": 1}}
    assert list(counted["breakdowns"]["pii_found"]) == ["EMAIL", "PHONE"]  # sorted, like notes
    assert "notes" not in counted
    again = StageStats.from_dict("anonymize", counted)
    assert again == stats and again.to_dict() == counted


def test_breakdowns_are_left_out_when_empty_and_optional_when_read_back():
    stats = StageStats("normalize", rows_in=2, rows_out=1)
    stats.drop("empty_query", 1)
    counted = stats.to_dict()
    assert "breakdowns" not in counted
    assert StageStats.from_dict("normalize", counted).breakdowns == {}


def test_add_merges_breakdowns():
    stage, one, two = StageStats("split"), StageStats("split"), StageStats("split")
    one.tally("rows_moved", "train->test", 2)
    one.note("new_clusters", 1)
    two.tally("rows_moved", "train->test", 1)
    two.tally("rows_moved", "validation->test", 4)
    two.tally("rows_carved", "test", 3)
    for part in (one, two):
        stage.add(part)
    assert stage.breakdowns == {
        "rows_moved": Counter({"train->test": 3, "validation->test": 4}),
        "rows_carved": Counter({"test": 3}),
    }
    assert stage.notes == {"new_clusters": 1}
    assert one.breakdowns == {"rows_moved": {"train->test": 2}}  # a part's counters stay its own


def test_a_builds_manifest_has_only_constant_keys(tmp_path, make_config):
    log = write_jsonl(
        tmp_path / "log.jsonl",
        [
            {"query": "send my gym playlist to zorbulon.quayle.4471@example.com", "user_id": "u1"},
            {"query": "call (415) 555-0187", "user_id": "u2"},
            {"query": "   ", "user_id": "u3"},
            {"query": "play taylor swift", "user_id": "u4"},
        ],
    )
    result = build(make_config(log))
    stages = result.manifest["stages"]
    for name, stage in stages.items():
        keys = [*stage["dropped"], *stage.get("notes", {}), *stage.get("breakdowns", {})]
        assert all(KEY.fullmatch(key) for key in keys), (name, keys)
    assert {"EMAIL", "PHONE"} <= set(stages["anonymize"]["breakdowns"][PII_FOUND])
    assert stages["normalize"]["dropped"] == {EMPTY_QUERY: 1}
    shown = Console(width=400, record=True)
    shown.print(_stages_table(result.manifest))
    assert "pii_found: EMAIL 1, PHONE 1" in shown.export_text()
