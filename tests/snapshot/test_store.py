import fcntl
import os
import re
from pathlib import Path

import pytest

from honkdata.errors import HonkdataError
from honkdata.schema import SPLITS
from honkdata.snapshot.store import BrokenSnapshotError, SnapshotRef, SnapshotStore


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
        ("q@x", r"q has no version or tag 'x' \(no tags\)"),
        ("q@x/y", "bad snapshot reference"),
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


def _broken_cases() -> list:
    splits = {s: {"rows": 0, "file": "../../../etc/passwd", "sha256": None} for s in SPLITS}
    return [
        (b"{not json", {}, "is not valid JSON"),
        (b"", {}, "is not valid JSON"),
        (b"[1, 2]", {}, "Input should be a valid dictionary"),
        (b'{"name": "q"}', {}, "version: Field required"),
        (None, {"rows": "3"}, "rows: Input should be a valid integer"),
        (
            None,
            {"splits": {"train": {"rows": 0, "file": None}}},
            "splits: Value error, no entry for validation",
        ),
        (None, {"splits": splits}, "splits.train.file: String should match pattern"),
    ]


@pytest.mark.parametrize(("raw", "fields", "reason"), _broken_cases())
def test_a_broken_manifest_breaks_its_snapshot_only(tmp_path, publish, raw, fields, reason):
    store = SnapshotStore(tmp_path)
    publish(store, "q")
    broken = publish(store, "q", raw, **fields)
    publish(store, "q")
    publish(store, "other")
    rows = store.summaries()
    assert [r["ref"] for r in rows] == ["other@v1", "q@v1", "q@v2", "q@v3"]
    assert [r["ref"] for r in rows if r["broken"]] == ["q@v2"]
    assert reason in rows[2]["broken"] and rows[2]["rows"] is None
    assert rows[3] == {
        "ref": "q@v3",
        "path": str(tmp_path / "q" / "v0003"),
        "tags": [],
        "created_at": "2026-09-01T10:00:00+00:00",
        "rows": 0,
        "content_hash": "c" * 64,
        "broken": None,
    }
    with pytest.raises(BrokenSnapshotError, match=f"^q@v2 .* is broken: manifest.json.*{re.escape(reason)}"):
        store.manifest(broken)
    assert store.manifest(store.resolve("q@latest"))["version"] == 3


def test_an_unreadable_manifest_is_broken_too(tmp_path, publish, monkeypatch):
    store = SnapshotStore(tmp_path)
    target = store.path(publish(store, "q")) / "manifest.json"
    read_bytes = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path == target:  # chmod would not stop root, who may run the tests
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert store.summaries()[0]["broken"] == "cannot read manifest.json: Permission denied"


@pytest.mark.parametrize(
    "ref",
    [
        "../outside@v1",
        "../outside",
        "{outside}@v1",
        "/etc@latest",
        "q/../q@v1",
        "a/b@v1",
        "..@v1",
        ".@latest",
        "",
        ".hidden",
    ],
)
def test_refs_never_lead_outside_the_store(tmp_path, publish, ref):
    (tmp_path / "outside" / "v0001").mkdir(parents=True)  # snapshot-shaped, but not in the store
    (tmp_path / "outside" / "v0001" / "manifest.json").write_text("{}")
    store = SnapshotStore(tmp_path / "store")
    publish(store, "q")
    with pytest.raises(HonkdataError, match="bad dataset name"):
        store.resolve(ref.format(outside=tmp_path / "outside"))


def test_the_writer_refuses_a_name_that_is_not_one_folder(tmp_path):
    store = SnapshotStore(tmp_path / "store")
    with pytest.raises(HonkdataError, match=r"bad dataset name '\.\./escaped'"), store.writer("../escaped"):
        pass
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("occupy", ["full folder", "empty folder", "file"])
def test_a_foreign_folder_at_the_next_version_stops_the_writer_before_the_work(tmp_path, publish, occupy):
    store = SnapshotStore(tmp_path)
    publish(store, "q")
    blocker = tmp_path / "q" / "v0002"
    if occupy == "file":
        blocker.write_text("someone else's")
    else:
        blocker.mkdir()
        if occupy == "full folder":
            (blocker / "notes.txt").write_text("someone else's")
    worked = False
    with (
        pytest.raises(
            HonkdataError, match=f"^{re.escape(str(blocker))} already exists but is not a snapshot"
        ),
        store.writer("q"),
    ):
        worked = True
    assert not worked, "the check must come before the build does its work"
    assert store.versions("q") == [1] and os.path.lexists(blocker)
    assert not list((tmp_path / "q").glob(".staging-*"))


def test_only_the_canonical_folder_name_is_a_version(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    publish(store, "q")
    (tmp_path / "q" / "v00001").mkdir()
    (tmp_path / "q" / "v00001" / "manifest.json").write_text("{}")
    assert store.versions("q") == [1]
    assert store.next_version("q") == SnapshotRef("q", 2)


def test_a_build_clears_killed_builds_staging_of_every_dataset(tmp_path):
    store = SnapshotStore(tmp_path)
    for name in ("other", "busy"):
        (tmp_path / name).mkdir()
    stale = tmp_path / "other" / ".staging-v0001-4242" / ".work"
    stale.mkdir(parents=True)
    (stale / "events.duckdb").write_bytes(b"pseudonymized events below the release threshold")
    running = tmp_path / "busy" / ".staging-v0001-4343"
    running.mkdir()
    with open(tmp_path / "busy" / ".lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another build of "busy" is running
        with store.writer("mine") as (_, staging):
            assert not stale.parent.exists() and running.is_dir()
            (staging / "manifest.json").write_text("{}")


def test_tags_name_versions_and_move(tmp_path):
    store = SnapshotStore(tmp_path)
    v1, v2 = _publish(store, "q"), _publish(store, "q")
    assert store.tag(v1, "prod") is None
    assert store.resolve("q@prod") == v1
    assert store.tag(v2, "prod") == v1  # re-tagging moves the tag and says from where
    assert store.tag(v2, "paper-2026") is None
    assert store.resolve("q@prod") == v2 and store.tags("q") == {"paper-2026": 2, "prod": 2}
    assert store.tags_of(v2) == ["paper-2026", "prod"] and store.tags_of(v1) == []
    listed = [(r["ref"], r["tags"]) for r in store.summaries()]
    assert listed == [("q@v1", []), ("q@v2", ["paper-2026", "prod"])]
    assert not list((tmp_path / "q").glob(".tags.json-*"))  # no temporary file left behind
    with pytest.raises(HonkdataError, match=r"q has no version or tag 'stable' \(tags: paper-2026, prod\)"):
        store.resolve("q@stable")


@pytest.mark.parametrize("tag", ["latest", "LATEST", "v3", "V12", "7", "", "-x", "a/b", "../up", ".hidden"])
def test_a_tag_that_could_be_read_as_a_version_or_a_path_is_refused(tmp_path, tag):
    store = SnapshotStore(tmp_path)
    ref = _publish(store, "q")
    with pytest.raises(HonkdataError, match="bad tag"):
        store.tag(ref, tag)
    assert not (tmp_path / "q" / "tags.json").exists()


def test_a_tag_names_a_published_version_only(tmp_path):
    store = SnapshotStore(tmp_path)
    _publish(store, "q")
    with pytest.raises(HonkdataError, match="q has no version v5"):
        store.tag(SnapshotRef("q", 5), "prod")
    (tmp_path / "q" / "tags.json").write_text('{"gone": 9}')  # its version was removed by hand
    with pytest.raises(HonkdataError, match="q has no version v9"):
        store.resolve("q@gone")


@pytest.mark.parametrize("content", ["{broken", '["prod"]', '{"prod": "1"}', '{"prod": true}'])
def test_a_damaged_tags_file_is_a_clear_error(tmp_path, content):
    store = SnapshotStore(tmp_path)
    _publish(store, "q")
    (tmp_path / "q" / "tags.json").write_text(content)
    with pytest.raises(HonkdataError, match="tags"):
        store.resolve("q@prod")
    assert store.resolve("q@v1") == SnapshotRef("q", 1)  # versions do not depend on the tags
