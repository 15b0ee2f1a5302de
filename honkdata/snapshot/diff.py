"""What changed between two snapshots: rows added, removed, relabeled, and the label distributions."""

import duckdb

from honkdata.errors import HonkdataError
from honkdata.snapshot.store import SnapshotRef, SnapshotStore

_COMPARE = """
SELECT
    count(*) FILTER (WHERE a.id IS NULL) AS added,
    count(*) FILTER (WHERE b.id IS NULL) AS removed,
    count(*) FILTER (WHERE a.id IS NOT NULL AND b.id IS NOT NULL) AS kept,
    count(*) FILTER (WHERE a.intent IS DISTINCT FROM b.intent AND a.id IS NOT NULL AND b.id IS NOT NULL)
        AS relabeled,
    count(*) FILTER (WHERE a.split <> b.split) AS moved_split
FROM read_parquet(?) a FULL OUTER JOIN read_parquet(?) b ON a.id = b.id
"""

_RELABELED = """
SELECT b.text, a.intent AS before, b.intent AS after
FROM read_parquet(?) a JOIN read_parquet(?) b ON a.id = b.id
WHERE a.intent IS DISTINCT FROM b.intent ORDER BY b.count DESC, b.id LIMIT ?
"""

_LABELS = "SELECT coalesce(intent, '(none)'), count(*) FROM read_parquet(?) GROUP BY 1 ORDER BY 2 DESC, 1"


def _files(store: SnapshotStore, ref: SnapshotRef) -> list[str]:
    """The data files its manifest lists (reading the manifest refuses a broken snapshot)."""
    splits = store.manifest(ref)["splits"].values()
    return [str(store.path(ref) / entry["file"]) for entry in splits if entry["file"]]


def diff_snapshots(store: SnapshotStore, old: SnapshotRef, new: SnapshotRef, examples: int = 10) -> dict:
    a, b = _files(store, old), _files(store, new)
    con = duckdb.connect()
    try:
        added, removed, kept, relabeled, moved = con.execute(_COMPARE, [a, b]).fetchone()
        before = dict(con.execute(_LABELS, [a]).fetchall())
        after = dict(con.execute(_LABELS, [b]).fetchall())
        sample = con.execute(_RELABELED, [a, b, examples]).fetchall()
    except (duckdb.IOException, duckdb.InvalidInputException) as e:  # a data file gone or damaged
        raise HonkdataError(f"cannot diff {old} and {new}: {str(e).splitlines()[0]}") from None
    finally:
        con.close()
    return {
        "old": str(old),
        "new": str(new),
        "rows_added": added,
        "rows_removed": removed,
        "rows_kept": kept,
        "rows_relabeled": relabeled,
        "rows_moved_split": moved,
        "relabeled_examples": [{"text": t, "before": x, "after": y} for t, x, y in sample],
        "labels": {
            intent: {"before": before.get(intent, 0), "after": after.get(intent, 0)}
            for intent in sorted(before.keys() | after.keys())
        },
    }
