import hashlib
from collections import Counter

import pyarrow as pa
import pytest

from honkdata.config import SplitConfig
from honkdata.split import AssignSplits
from honkdata.stage import StageStats


def _table(n: int, clusters: list[str] | None = None, start: int = 0) -> pa.Table:
    ids = [hashlib.md5(str(i).encode()).hexdigest()[:16] for i in range(start, start + n)]
    intents = ["play_music" if i % 4 else "skip" for i in range(start, start + n)]
    return pa.table({"id": ids, "dup_cluster": clusters or ids, "intent": intents, "count": [1] * n})


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
    assert stats.notes == {"clusters kept in their parent split": 300, "new clusters": 300}


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
