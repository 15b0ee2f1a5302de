from collections.abc import Callable

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honkdata.schema import SPLITS
from honkdata.snapshot.store import SnapshotRef, SnapshotStore


def manifest_of(name: str, version: int) -> dict:
    """The smallest manifest that every reader (list, show, read, diff) accepts."""
    return {
        "name": name,
        "version": version,
        "parent_version": version - 1 or None,
        "created_at": "2026-09-01T10:00:00+00:00",
        "honkdata_version": "0.0.0",
        "rows": 0,
        "content_hash": "c" * 64,
        "config_hash": "f" * 64,
        "splits": {s: {"rows": 0, "file": None, "sha256": None} for s in SPLITS},
        "inputs": [],
        "stages": {},
        "label_distribution": {"all": {}},
    }


@pytest.fixture
def publish() -> Callable[..., SnapshotRef]:
    """Publish a snapshot with a valid manifest, changed by `fields` or replaced by raw `manifest` bytes;
    `data_rows` (dicts of snapshot columns) become its train split."""

    def publish(
        store: SnapshotStore,
        name: str,
        manifest: bytes | None = None,
        data_rows: list[dict] | None = None,
        **fields: object,
    ) -> SnapshotRef:
        with store.writer(name) as (ref, staging):
            data = manifest if manifest is not None else manifest_of(name, ref.version) | fields
            if data_rows is not None:
                (staging / "data").mkdir()
                pq.write_table(pa.Table.from_pylist(data_rows), staging / "data" / "train.parquet")
                data["splits"] = data["splits"] | {
                    "train": {"rows": len(data_rows), "file": "data/train.parquet"}
                }
            (staging / "manifest.json").write_bytes(data if isinstance(data, bytes) else orjson.dumps(data))
        return ref

    return publish
