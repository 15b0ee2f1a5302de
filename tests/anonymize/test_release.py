import pyarrow as pa

from honkdata.anonymize.release import (
    BELOW_K_USERS,
    EVENTS_IN_REMOVED,
    NOT_SELECTED_BY_DP,
    DPRelease,
    KAnonymity,
)
from honkdata.config import DPConfig
from honkdata.stage import StageStats


def _table(n_users: list[int], curated: list[bool]) -> pa.Table:
    n = len(n_users)
    return pa.table(
        {
            "id": [f"q{i}" for i in range(n)],
            "count": [u * 2 for u in n_users],
            "n_users": n_users,
            "from_curated": curated,
            "capped_users": n_users,
            "capped_events": [u * 2 for u in n_users],
        }
    )


def test_k_anonymity_keeps_popular_and_curated_rows():
    stats = StageStats("release")
    out = KAnonymity(5)(_table([1, 4, 5, 50, 0], [False, False, False, False, True]), stats)
    assert out.column("id").to_pylist() == ["q2", "q3", "q4"]
    assert stats.dropped == {BELOW_K_USERS: 2}
    assert stats.notes == {EVENTS_IN_REMOVED: 10}


def test_k_of_one_keeps_everything_from_users():
    out = KAnonymity(1)(_table([1, 2], [False, False]), StageStats("release"))
    assert out.num_rows == 2


def test_dp_selects_large_partitions_drops_singletons_and_noises_counts():
    users = [1] * 200 + [500] * 200 + [1] * 10
    curated = [False] * 400 + [True] * 10
    stats = StageStats("release")
    out = DPRelease(DPConfig(epsilon=1.0, delta=1e-6))(_table(users, curated), stats)
    ids = set(out.column("id").to_pylist())
    assert not any(f"q{i}" in ids for i in range(200))  # a query one person typed never survives
    assert all(f"q{i}" in ids for i in range(200, 410))
    counts = out.column("n_users").to_pylist()[:200]
    assert len(set(counts)) > 10 and abs(sum(counts) / 200 - 500) < 20  # noised, unbiased
    assert out.column("n_users").to_pylist()[-10:] == [1] * 10  # curated rows are not noised
    assert stats.dropped == {NOT_SELECTED_BY_DP: 200}
