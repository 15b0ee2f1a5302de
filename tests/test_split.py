import hashlib
from collections import Counter

import pyarrow as pa
import pytest

from honkdata.config import SplitConfig
from honkdata.schema import SOURCES
from honkdata.split import (
    CLUSTERS_KEPT_FROM_PARENT,
    CLUSTERS_MOVED_FROM_PARENT,
    NEW_CLUSTERS,
    ROWS_CARVED,
    ROWS_KEPT_OFFICIAL,
    ROWS_MOVED,
    AssignSplits,
)
from honkdata.stage import StageStats


def _table(
    n: int, clusters: list[str] | None = None, start: int = 0, sources: list[list[dict]] | None = None
) -> pa.Table:
    ids = [hashlib.md5(str(i).encode()).hexdigest()[:16] for i in range(start, start + n)]
    intents = ["play_music" if i % 4 else "skip" for i in range(start, start + n)]
    sources = sources or [[{"name": "log.jsonl", "split": None}]] * n
    return pa.table(
        {
            "id": ids,
            "dup_cluster": clusters or ids,
            "intent": intents,
            "count": [1] * n,
            "sources": pa.array(sources, SOURCES),
        }
    )


def test_ratios_are_exact_per_intent():
    out = AssignSplits(SplitConfig(), {})(_table(2000), StageStats("split"))
    counts = Counter(zip(out.column("intent").to_pylist(), out.column("split").to_pylist(), strict=True))
    assert counts[("play_music", "train")] == 1200 and counts[("play_music", "test")] == 150
    assert counts[("skip", "train")] == 400 and counts[("skip", "validation")] == 50


def test_deterministic_and_independent_of_row_order():
    table = _table(500)
    a = AssignSplits(SplitConfig(), {})(table, StageStats("s"))
    b = AssignSplits(SplitConfig(), {})(table.take(list(reversed(range(500)))), StageStats("s"))
    assert dict(zip(a["id"].to_pylist(), a["split"].to_pylist(), strict=True)) == dict(
        zip(b["id"].to_pylist(), b["split"].to_pylist(), strict=True)
    )


def test_parent_assignments_are_sticky():
    v1 = AssignSplits(SplitConfig(), {})(_table(300), StageStats("s"))
    parent = dict(zip(v1["id"].to_pylist(), v1["split"].to_pylist(), strict=True))
    stats = StageStats("s")
    v2 = AssignSplits(SplitConfig(), parent)(_table(600), stats)  # first 300 are the same rows
    now = dict(zip(v2["id"].to_pylist(), v2["split"].to_pylist(), strict=True))
    assert all(now[i] == s for i, s in parent.items())
    assert stats.notes == {CLUSTERS_KEPT_FROM_PARENT: 300, NEW_CLUSTERS: 300}


def test_a_cluster_goes_to_one_split_and_test_wins():
    table = _table(4, clusters=["c1", "c1", "c2", "c2"])
    ids = table["id"].to_pylist()
    out = AssignSplits(SplitConfig(), {ids[0]: "train", ids[1]: "test"})(table, StageStats("s"))
    splits = out["split"].to_pylist()
    assert splits[0] == splits[1] == "test"
    assert splits[2] == splits[3]


def test_ratios_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        SplitConfig(train=0.9, validation=0.1, test=0.1)


def _in(name: str, split: str | None) -> list[dict]:
    return [{"name": name, "split": split}]


def _splits(out: pa.Table) -> list[str]:
    return out.column("split").to_pylist()


def test_official_splits_are_kept_unless_the_source_is_resplit():
    given = ["train"] * 80 + ["validation"] * 10 + ["test"] * 10
    table = _table(100, sources=[_in("goo", s) for s in given])
    stats = StageStats("split")
    assert _splits(AssignSplits(SplitConfig(), {}, {"goo": "goo"})(table, stats)) == given
    assert stats.notes == {ROWS_KEPT_OFFICIAL: 100}
    stats = StageStats("split")
    resplit = _splits(AssignSplits(SplitConfig(), {}, {})(table, stats))  # goo's split is not kept
    assert resplit != given and stats.notes == {NEW_CLUSTERS: 100}


def test_a_missing_part_is_carved_from_train_by_the_ratios_and_an_official_part_stays_whole():
    given = ["train"] * 1800 + ["validation"] * 200  # Snips 2017: train and validate, no test
    table = _table(2000, sources=[_in("snips", s) for s in given])
    stats = StageStats("split")
    out = _splits(AssignSplits(SplitConfig(), {}, {"snips": "snips"})(table, stats))
    assert out == _splits(AssignSplits(SplitConfig(), {}, {"snips": "snips"})(table, StageStats("s")))
    assert out[1800:] == ["validation"] * 200
    carved = out[:1800].count("test")
    assert abs(carved - 1800 / 9) < 40  # test : train = 0.1 : 0.8, by a hash of the id
    assert set(out[:1800]) == {"train", "test"}
    assert stats.notes == {ROWS_KEPT_OFFICIAL: 2000 - carved}
    assert stats.breakdowns == {ROWS_CARVED: {"test": carved}}


def test_only_train_is_carved_and_a_source_is_all_its_inputs():
    given = ["train"] * 900 + ["test"] * 100
    names = ["train.jsonl"] * 900 + ["test.jsonl"] * 100
    table = _table(1000, sources=[_in(n, s) for n, s in zip(names, given, strict=True)])
    one_source = {"train.jsonl": "slurp/", "test.jsonl": "slurp/"}
    out = _splits(AssignSplits(SplitConfig(), {}, one_source)(table, StageStats("s")))
    assert Counter(out) == {
        "train": 900 - out.count("validation"),
        "validation": out.count("validation"),
        "test": 100,
    }
    assert out[900:] == ["test"] * 100 and 60 < out.count("validation") < 140  # 0.1 / 0.9 of 900
    apart = {"train.jsonl": "train.jsonl", "test.jsonl": "test.jsonl"}  # then train.jsonl lacks both
    assert out.count("test") < _splits(AssignSplits(SplitConfig(), {}, apart)(table, StageStats("s"))).count(
        "test"
    )


def test_conflicting_official_splits_go_to_the_most_protected_one():
    sources = [
        _in("a", "train") + _in("a", "test"),  # one query in two parts of a source
        _in("a", "train") + _in("b", "validation"),  # ... of two sources
        _in("a", "train"),  # clustered with a test row
        _in("a", "test"),
        _in("a", "validation"),  # clustered with a train row
        _in("a", "train"),
        _in("a", "train"),
        _in("log.jsonl", None),  # clustered with a validation row: goes along
        _in("a", "validation"),
    ]
    clusters = ["c0", "c1", "c2", "c2", "c3", "c3", "c4", "c5", "c5"]
    table = _table(9, clusters=clusters, sources=sources)
    stats = StageStats("split")
    out = _splits(AssignSplits(SplitConfig(), {}, {"a": "a", "b": "b"})(table, stats))
    assert out == [
        "test",
        "validation",
        "test",
        "test",
        "validation",
        "validation",
        "train",
        "validation",
        "validation",
    ]
    assert stats.notes == {ROWS_KEPT_OFFICIAL: 6}
    assert stats.breakdowns == {ROWS_MOVED: {"train->test": 2, "train->validation": 2}}


def test_the_parent_never_moves_an_official_split_and_log_rows_stay_sticky():
    sources = [_in("goo", "test")] * 10 + [_in("log.jsonl", None)] * 290
    table = _table(300, sources=sources)
    ids = table["id"].to_pylist()
    parent = dict.fromkeys(ids[:10], "train") | dict.fromkeys(ids[10:20], "test")  # v1 resplit goo
    stats = StageStats("split")
    out = _splits(AssignSplits(SplitConfig(), parent, {"goo": "goo"})(table, stats))
    assert out[:20] == ["test"] * 20
    assert stats.notes[CLUSTERS_MOVED_FROM_PARENT] == 10
    assert stats.notes[CLUSTERS_KEPT_FROM_PARENT] == 10
    assert stats.notes[NEW_CLUSTERS] == 280 and set(out[20:]) == {"train", "validation", "test"}
