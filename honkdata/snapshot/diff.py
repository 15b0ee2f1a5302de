"""What changed between two snapshots: rows added, removed and relabeled, the label distributions,
the inputs, the config, where the labels came from (weak, gold, human, model) and how far the
traffic drifted (honkdata.snapshot.drift)."""

import duckdb

from honkdata.errors import HonkdataError
from honkdata.snapshot.drift import data_files, snapshot_drift
from honkdata.snapshot.store import SnapshotRef, SnapshotStore

# A kept row is relabeled when its intent changed, or who labeled it did: a row that went from a weak
# label to a human one is news even when the person agreed with the labeling functions.
_CHANGED = "(a.intent IS DISTINCT FROM b.intent OR a.label_source IS DISTINCT FROM b.label_source)"

_COMPARE = f"""
SELECT
    count(*) FILTER (WHERE a.id IS NULL) AS added,
    count(*) FILTER (WHERE b.id IS NULL) AS removed,
    count(*) FILTER (WHERE a.id IS NOT NULL AND b.id IS NOT NULL) AS kept,
    count(*) FILTER (WHERE {_CHANGED} AND a.id IS NOT NULL AND b.id IS NOT NULL) AS relabeled,
    count(*) FILTER (WHERE a.split <> b.split) AS moved_split
FROM read_parquet(?) a FULL OUTER JOIN read_parquet(?) b ON a.id = b.id
"""

_RELABELED = f"""
SELECT b.text, a.intent, b.intent, a.label_source, b.label_source
FROM read_parquet(?) a JOIN read_parquet(?) b ON a.id = b.id
WHERE {_CHANGED} ORDER BY b.count DESC, b.id LIMIT ?
"""

_LABEL_SOURCES = """
SELECT coalesce(a.label_source, '(none)'), coalesce(b.label_source, '(none)'), count(*)
FROM read_parquet(?) a JOIN read_parquet(?) b ON a.id = b.id
WHERE a.label_source IS DISTINCT FROM b.label_source
GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2
"""

_LABELS = "SELECT coalesce(intent, '(none)'), count(*) FROM read_parquet(?) GROUP BY 1 ORDER BY 2 DESC, 1"


def diff_snapshots(store: SnapshotStore, old: SnapshotRef, new: SnapshotRef, examples: int = 10) -> dict:
    a, b = data_files(store, old), data_files(store, new)
    con = duckdb.connect()
    try:
        added, removed, kept, relabeled, moved = con.execute(_COMPARE, [a, b]).fetchone()
        before = dict(con.execute(_LABELS, [a]).fetchall())
        after = dict(con.execute(_LABELS, [b]).fetchall())
        sample = con.execute(_RELABELED, [a, b, examples]).fetchall()
        sources = con.execute(_LABEL_SOURCES, [a, b]).fetchall()
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
        "relabeled_examples": [
            {"text": t, "before": x, "after": y, "label_source_before": sx, "label_source_after": sy}
            for t, x, y, sx, sy in sample
        ],
        "labels": {
            intent: {"before": before.get(intent, 0), "after": after.get(intent, 0)}
            for intent in sorted(before.keys() | after.keys())
        },
        "label_source_changes": [{"before": x, "after": y, "rows": n} for x, y, n in sources],
        **manifest_diff(store.manifest(old), store.manifest(new)),
        "drift": snapshot_drift(store, old, new),
    }


def manifest_diff(old: dict, new: dict) -> dict:
    """Inputs added and removed (an input is its path and content: a file rewritten in place is one
    removed and one added) and config keys changed, from two manifests."""
    before, after = _inputs(old), _inputs(new)
    return {
        "inputs_added": [after[k] for k in after if k not in before],
        "inputs_removed": [before[k] for k in before if k not in after],
        "config_changes": config_changes(old.get("config", {}), new.get("config", {})),
    }


def _inputs(manifest: dict) -> dict[tuple[str, str | None], dict]:
    return {
        (i["path"], i.get("sha256")): {
            "path": i["path"],
            "sha256": i.get("sha256"),
            "rows_read": i["rows_read"],
        }
        for i in manifest["inputs"]
    }


def config_changes(old: dict, new: dict) -> list[dict]:
    """Every dotted key whose value differs, with both values (None where a side lacks the key)."""
    before, after = _flatten(old), _flatten(new)
    keys = sorted(before.keys() | after.keys())
    return [
        {"key": k, "before": before.get(k), "after": after.get(k)}
        for k in keys
        if before.get(k) != after.get(k)
    ]


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    """`{"a": {"b": 1}, "s": [{"path": "x"}]}` -> `{"a.b": 1, "s.0.path": "x"}`; a list of plain
    values (keep_fields) stays one value, so a change reads `[a] -> [a, b]`."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, object] = {}
    for key, child in items:
        flat.update(_flatten(child, f"{prefix}.{key}" if prefix else str(key)))
    return flat
