import pytest

from honkdata.errors import HonkdataError
from honkdata.snapshot.store import SnapshotRef, SnapshotStore


def _publish(store: SnapshotStore, name: str) -> SnapshotRef:
    with store.writer(name) as (ref, staging):
        (staging / "manifest.json").write_text("{}")
    return ref


def test_versions_count_up_and_refs_resolve(tmp_path):
    store = SnapshotStore(tmp_path)
    assert [_publish(store, "q").version for _ in range(3)] == [1, 2, 3]
    assert store.versions("q") == [1, 2, 3]
    assert store.resolve("q@latest") == store.resolve("q") == SnapshotRef("q", 3)
    assert store.resolve("q@v2") == store.resolve("q@2") == SnapshotRef("q", 2)
    assert (tmp_path / "q" / "v0002" / "manifest.json").is_file()
    for bad, message in [
        ("q@v9", "no version"),
        ("nope@latest", "no snapshots named"),
        ("q@x", "bad snapshot"),
    ]:
        with pytest.raises(HonkdataError, match=message):
            store.resolve(bad)


def test_failed_write_publishes_nothing(tmp_path):
    store = SnapshotStore(tmp_path)
    with pytest.raises(RuntimeError), store.writer("q") as (_, staging):
        (staging / "manifest.json").write_text("{}")
        raise RuntimeError("crash mid-build")
    with pytest.raises(HonkdataError, match="no manifest"), store.writer("q"):
        pass
    assert store.versions("q") == []
    assert [p.name for p in (tmp_path / "q").iterdir()] == [".lock"]


def test_a_folder_without_manifest_is_not_a_snapshot(tmp_path):
    (tmp_path / "q" / "v0001" / "data").mkdir(parents=True)
    store = SnapshotStore(tmp_path)
    assert store.versions("q") == []


def test_second_writer_gets_a_clear_error(tmp_path):
    store = SnapshotStore(tmp_path)
    with store.writer("q") as (_, staging):
        with pytest.raises(HonkdataError, match="another build is writing 'q'"), store.writer("q"):
            pass
        (staging / "manifest.json").write_text("{}")
    assert _publish(store, "q").version == 2  # the lock is released afterwards


def test_stale_staging_from_a_killed_build_is_cleared(tmp_path):
    stale = tmp_path / "q" / ".staging-v0001-999999"
    stale.mkdir(parents=True)
    (stale / "manifest.json").write_text("{}")
    store = SnapshotStore(tmp_path)
    assert store.versions("q") == []
    assert _publish(store, "q").version == 1
    assert not stale.exists()


def test_read_returns_every_split_or_an_empty_table(tmp_path, make_config, events):
    from honkdata.build import build
    from tests.conftest import write_jsonl

    result = build(make_config(write_jsonl(tmp_path / "log.jsonl", events)))
    store = SnapshotStore(tmp_path / "store")
    rows = store.read(result.ref)
    assert rows.num_rows == result.manifest["rows"]
    present = {s for s, entry in result.manifest["splits"].items() if entry["rows"]}
    assert set(rows.column("split").to_pylist()) == present
    for split in {"train", "validation", "test"} - present:
        assert store.read(result.ref, columns=["id"], splits=(split,)).num_rows == 0
