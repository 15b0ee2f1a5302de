"""Snapshots on object storage: `honkdata snapshots push` to a real S3-compatible server (moto) on
loopback, `pull` back into a store, the manifest-last rule, and every way a copy can be refused."""

import hashlib
import importlib
import json
import re
import sys
from pathlib import Path

import boto3
import fsspec
import orjson
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

import honkdata
from honkdata.build import build
from honkdata.cli import app
from honkdata.config import load_config
from honkdata.errors import HonkdataError
from honkdata.snapshot import mirror
from honkdata.snapshot.mirror import Transfer, pull_snapshot, push_snapshot
from honkdata.snapshot.store import SnapshotRef, SnapshotStore
from tests.conftest import BUCKET, FIXTURES, Prefix
from tests.snapshot.conftest import manifest_of
from tests.snapshot.test_snapshot_commands import _assert_one_line_cli_error

SNIPS, SLURP = FIXTURES / "public" / "snips", FIXTURES / "public" / "slurp" / "devel.jsonl"
V1 = "q/v0001"
_put = mirror.put_file  # the real upload, for the fakes that stand in for it


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two stores, each with its own q@v1: one built from the Snips fixture, one from Snips and SLURP."""
    folder = tmp_path_factory.mktemp("built")
    roots = (folder / "one", folder / "other")
    for root, sources in zip(roots, ([SNIPS], [SNIPS, SLURP]), strict=True):
        build(load_config(None, name="q", root=str(root), sources=[{"path": str(s)} for s in sources]))
    return roots


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _objects(prefix: Prefix) -> dict[str, bytes]:
    """Every object under the test's prefix, by its key below the prefix."""
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix.name}/").get("Contents", [])
    keys = [o["Key"] for o in listed]
    return {
        k.removeprefix(f"{prefix.name}/"): s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys
    }


def _no_upload(*args: object) -> None:
    raise AssertionError("nothing should be uploaded")


def test_a_version_pushed_to_s3_pulls_back_whole(built, prefix, tmp_path):
    one = built[0]
    local = one / V1
    pushed = _invoke("snapshots", "push", "q@latest", prefix.url(), "--root", str(one), "--json")
    assert pushed.exit_code == 0, pushed.output
    assert json.loads(pushed.stdout) == {
        "ref": "q@v1",
        "url": prefix.url(V1),
        "path": str(local),
        "copied": True,
    }

    objects = _objects(prefix)
    assert objects == {f"{V1}/{name}": data for name, data in _files(local).items()}
    manifest = json.loads(objects[f"{V1}/manifest.json"])
    files = [e for e in manifest["splits"].values() if e["file"]]
    assert len(files) == 3  # train, validation and test
    for entry in files:
        data = objects[f"{V1}/{entry['file']}"]
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])

    fresh = tmp_path / "fresh"
    pulled = _invoke("snapshots", "pull", prefix.url(V1), "--root", str(fresh))
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout == f"pulled q@v1 into {fresh / V1}\n"
    assert _files(fresh / V1) == _files(local)
    assert SnapshotStore(fresh).manifest(SnapshotRef("q", 1))["content_hash"] == manifest["content_hash"]
    pd.testing.assert_frame_equal(
        honkdata.load_snapshot_pandas("q@v1", root=fresh), honkdata.load_snapshot_pandas("q@v1", root=one)
    )
    loaded = honkdata.load_snapshot("q@v1", root=fresh)
    assert {s: loaded[s].num_rows for s in loaded} == {
        s: e["rows"] for s, e in manifest["splits"].items() if e["file"]
    }
    assert not list(fresh.rglob(".staging-*"))


def test_a_version_already_there_is_left_alone_and_never_overwritten(built, prefix, monkeypatch):
    one, other = built
    assert push_snapshot("q@v1", prefix.url(), one).copied
    before = _objects(prefix)
    monkeypatch.setattr(mirror, "put_file", _no_upload)

    again = _invoke("snapshots", "push", "q@v1", prefix.url(), "--root", str(one))
    assert again.exit_code == 0, again.output
    assert again.stdout == f"q@v1 is already at {prefix.url(V1)}\n"
    refused = _invoke("snapshots", "push", "q@v1", prefix.url(), "--root", str(other))
    _assert_one_line_cli_error(refused, f"{prefix.url(V1)} already holds another q@v1", "never overwritten")
    assert _objects(prefix) == before


def test_a_version_without_its_manifest_is_not_pulled_until_a_push_completes_it(built, prefix, tmp_path):
    """A push that stopped halfway: every file but the manifest is there."""
    one = built[0]
    for name, data in _files(one / V1).items():
        if name != "manifest.json":
            prefix.put(f"{V1}/{name}", data)
    fresh = tmp_path / "fresh"

    refused = _invoke("snapshots", "pull", prefix.url(V1), "--root", str(fresh))
    _assert_one_line_cli_error(refused, f"{prefix.url(V1)} has no manifest.json", "nothing pulled")
    assert not fresh.exists()
    assert push_snapshot("q@v1", prefix.url(), one).copied
    assert pull_snapshot(prefix.url(V1), fresh).copied
    assert _files(fresh / V1) == _files(one / V1)


@pytest.mark.parametrize("damaged", ["train", "card"])
def test_a_corrupted_file_at_the_url_is_refused_and_nothing_is_published(built, prefix, tmp_path, damaged):
    push_snapshot("q@v1", prefix.url(), built[0])
    manifest = json.loads(_objects(prefix)[f"{V1}/manifest.json"])
    name = manifest["splits"]["train"]["file"] if damaged == "train" else manifest["card"]["file"]
    data = bytearray(_objects(prefix)[f"{V1}/{name}"])
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    prefix.put(f"{V1}/{name}", bytes(data))
    fresh = tmp_path / "fresh"

    refused = _invoke("snapshots", "pull", prefix.url(V1), "--root", str(fresh))
    _assert_one_line_cli_error(refused, "checksum mismatch", f"{prefix.url(V1)}/{name}", "not published")
    assert SnapshotStore(fresh).versions("q") == []
    assert not list(fresh.rglob(".staging-*"))


def test_the_manifest_holds_the_cards_digest_and_an_older_one_pulls_without(built, prefix, tmp_path):
    folder = built[0] / V1
    card = json.loads((folder / "manifest.json").read_bytes())["card"]
    assert card == {
        "file": "README.md",
        "sha256": hashlib.sha256((folder / "README.md").read_bytes()).hexdigest(),
        "bytes": (folder / "README.md").stat().st_size,
    }
    # A version published before manifests kept the card's digest: its card comes over as it is.
    older = json.loads((folder / "manifest.json").read_bytes())
    del older["card"]
    push_snapshot("q@v1", prefix.url(), built[0])
    prefix.put(f"{V1}/manifest.json", json.dumps(older).encode())
    prefix.put(f"{V1}/README.md", b"an older card")
    pulled = pull_snapshot(prefix.url(V1), tmp_path / "fresh")
    assert (pulled.path / "README.md").read_bytes() == b"an older card"
    assert "card" not in SnapshotStore(tmp_path / "fresh").manifest(SnapshotRef("q", 1))


def test_a_pull_into_a_store_that_has_the_version(built, prefix):
    one, other = built
    push_snapshot("q@v1", prefix.url(), one)
    same = pull_snapshot(prefix.url(V1), one)
    assert same == Transfer(SnapshotRef("q", 1), prefix.url(V1), one / V1, copied=False)
    again = _invoke("snapshots", "pull", prefix.url(V1), "--root", str(one))
    assert again.exit_code == 0 and again.stdout == f"q@v1 is already at {one / V1}\n"
    refused = _invoke("snapshots", "pull", prefix.url(V1), "--root", str(other))
    _assert_one_line_cli_error(refused, f"{other} already has another q@v1", "never replaced")


def test_a_pulled_version_keeps_its_number_and_the_next_build_counts_on(built, prefix, tmp_path):
    push_snapshot("q@v1", prefix.url(), built[0])
    store = SnapshotStore(tmp_path / "fresh")
    with store.writer("q", 3) as (ref, staging):
        assert ref == SnapshotRef("q", 3)
        (staging / "manifest.json").write_bytes(orjson.dumps(manifest_of("q", 3)))
    assert pull_snapshot(prefix.url(V1), store.root).ref == SnapshotRef("q", 1)
    assert (store.versions("q"), store.next_version("q")) == ([1, 3], SnapshotRef("q", 4))
    taken = r"^q@v3 is already in .*; a published version is never replaced$"
    with pytest.raises(HonkdataError, match=taken), store.writer("q", 3):
        pass


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("q", "does not name a version: expected URL/<name>/vNNNN"),
        ("q/v1", "does not name a version"),
        ("../v0001", "bad dataset name '..'"),
        ("q/v0007", "no snapshot at"),
    ],
)
def test_a_url_without_a_version_is_one_line(prefix, tmp_path, key, words):
    refused = _invoke("snapshots", "pull", prefix.url(key), "--root", str(tmp_path / "fresh"))
    _assert_one_line_cli_error(refused, words)
    assert not (tmp_path / "fresh").exists()


def test_a_missing_ref_or_bucket_is_one_line(built, prefix, tmp_path):
    missing = _invoke("snapshots", "push", "q@v9", prefix.url(), "--root", str(built[0]))
    _assert_one_line_cli_error(missing, "q has no version v9")
    gone = f"s3://no-such-{prefix.name}/q/v0001"
    _assert_one_line_cli_error(
        _invoke("snapshots", "pull", gone, "--root", str(tmp_path)), f"no snapshot at {gone}"
    )
    # A push to a bucket that does not exist fails; it does not create the bucket.
    pushed = _invoke("snapshots", "push", "q@v1", f"s3://no-such-{prefix.name}", "--root", str(built[0]))
    assert pushed.exit_code != 0 and len(pushed.stderr.splitlines()) == 1
    assert pushed.stderr.startswith(f"error: cannot write s3://no-such-{prefix.name}/")
    assert f"no-such-{prefix.name}" not in [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]


def test_an_unreachable_store_is_one_line_naming_the_url(built, prefix, tmp_path):
    dead = {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 1}}}
    url = re.escape(prefix.url(V1))
    with pytest.raises(HonkdataError, match=f"^cannot write {url}: EndpointConnectionError") as pushing:
        push_snapshot("q@v1", prefix.url(), built[0], storage_options=dead)
    with pytest.raises(HonkdataError, match=f"^cannot read {url}: EndpointConnectionError") as pulling:
        pull_snapshot(prefix.url(V1), tmp_path / "fresh", storage_options=dead)
    assert "\n" not in str(pushing.value) + str(pulling.value)
    assert not (tmp_path / "fresh").exists()


def test_s3_without_s3fs_names_the_extra_to_install(built, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if it were not installed
    monkeypatch.delitem(importlib.import_module("fsspec.registry")._registry, "s3", raising=False)
    install = "Install s3fs to access S3 (pip install 'honkdata[s3]')"
    url = f"s3://{BUCKET}/x"
    with pytest.raises(HonkdataError) as pushing:
        push_snapshot("q@v1", url, built[0])
    assert str(pushing.value) == f"cannot write {url}/{V1}: {install}"
    with pytest.raises(HonkdataError) as pulling:
        pull_snapshot(f"{url}/{V1}", tmp_path)
    assert str(pulling.value) == f"cannot read {url}/{V1}: {install}"


@pytest.fixture
def memory_url(tmp_path: Path) -> str:
    """A location of its own on fsspec's in-memory file system."""
    return f"memory://pushed-{tmp_path.name}"


def _cut_at_the_card(fs, local: Path, remote: str) -> None:
    """Upload as `mirror.put_file` does, but lose the connection at the card, as a killed push would."""
    if local.name == mirror.CARD:
        raise OSError("connection reset")
    _put(fs, local, remote)


def test_a_push_cut_short_counts_for_nothing_until_pushed_again(built, memory_url, tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(mirror, "put_file", _cut_at_the_card)
        with pytest.raises(
            HonkdataError, match=re.escape(f"cannot write {memory_url}/{V1}: OSError (connection")
        ):
            push_snapshot("q@v1", memory_url, built[0])
    fs, path = fsspec.core.url_to_fs(f"{memory_url}/{V1}")
    assert fs.find(path) and not fs.exists(f"{path}/manifest.json")
    with pytest.raises(HonkdataError, match=r"has no manifest\.json"):
        pull_snapshot(f"{memory_url}/{V1}", tmp_path / "fresh")

    assert push_snapshot("q@v1", memory_url, built[0]).copied
    assert pull_snapshot(f"{memory_url}/{V1}", tmp_path / "fresh").copied
    assert _files(tmp_path / "fresh" / V1) == _files(built[0] / V1)


def test_an_upload_that_arrives_damaged_is_caught_before_the_manifest(built, memory_url, monkeypatch):
    def truncate(fs, local: Path, remote: str) -> None:
        fs.pipe_file(remote, local.read_bytes()[:-1])

    monkeypatch.setattr(mirror, "put_file", truncate)
    with pytest.raises(HonkdataError, match=r"^checksum mismatch: .*/q/v0001/data/train-.*; not published$"):
        push_snapshot("q@v1", memory_url, built[0])
    fs, path = fsspec.core.url_to_fs(f"{memory_url}/{V1}")
    assert not fs.exists(f"{path}/manifest.json")


def test_keys_that_may_only_read_pull_and_cannot_push(built, prefix, s3_user, tmp_path):
    push_snapshot("q@v1", prefix.url(), built[0])
    s3_user(["s3:ListBucket", "s3:GetObject"])
    pulled = pull_snapshot(prefix.url(V1), tmp_path / "fresh")
    assert _files(pulled.path) == _files(built[0] / V1)

    target = prefix.url("again/")
    refused = _invoke("snapshots", "push", "q@v1", target, "--root", str(built[0]))
    _assert_one_line_cli_error(refused, f"cannot write {target}q/v0001: permission denied")
    assert not fsspec.filesystem("s3").find(f"{BUCKET}/{prefix.name}/again/")  # listed as that user
