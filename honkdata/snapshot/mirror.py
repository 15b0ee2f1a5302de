"""Snapshots on object storage: a published version copied to any fsspec URL, and back into a store.

    <url>/<name>/vNNNN/     the version's folder in the store, file for file:
      data/*.parquet        every split's file, then README.md (the dataset card), each read back and
                            checked against the manifest (size and sha256) once uploaded
      manifest.json         uploaded LAST: a version at a URL counts only once its manifest is there,
                            so a reader never sees half a snapshot

A version already at the URL with the same manifest is not copied again; one with another manifest
is never overwritten. A pull downloads into the store's staging folder, checks every data file and the
card against the manifest, and publishes with the store's own rename, keeping the version's number.

Credentials and endpoints are the backend's own (for S3 the AWS_* variables, AWS_ENDPOINT_URL for an
S3-compatible store), plus `storage_options`. Whatever goes wrong is one HonkdataError line.
"""

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

from fsspec import AbstractFileSystem

from honkdata.config import default_root
from honkdata.errors import HonkdataError
from honkdata.ingest.remote import filesystem, put_file, storage_errors
from honkdata.ingest.sources import FETCH_BLOCK, pour
from honkdata.snapshot.store import SnapshotRef, SnapshotStore, check_name, parse_manifest, version_dir
from honkdata.snapshot.write import CARD, file_sha256

MANIFEST = "manifest.json"
_VERSION_FOLDER = re.compile(r"v(\d{4,})")


class FileDigest(NamedTuple):
    """What a copied file is checked by: its size in bytes and its sha256 (hex)."""

    size: int
    sha256: str


@dataclass(frozen=True)
class Transfer:
    """A version copied (or found already there): its folder at the URL and in the local store."""

    ref: SnapshotRef
    url: str
    path: Path
    copied: bool  # False: the same version was there already, nothing was copied

    def to_dict(self) -> dict:
        """For `--json`."""
        return {"ref": str(self.ref), "url": self.url, "path": str(self.path), "copied": self.copied}


def push_snapshot(
    ref: str, url: str, root: str | Path | None = None, storage_options: dict[str, Any] | None = None
) -> Transfer:
    """Copy the published version `ref` to `url`/<name>/vNNNN/, manifest.json last."""
    store = _store(root)
    snapshot = store.resolve(ref)
    folder = store.path(snapshot)
    manifest = store.manifest(snapshot)  # checked before anything leaves the store
    data = (folder / MANIFEST).read_bytes()
    # A version written before manifests held the card's digest: its card as it is here.
    card = _card_digest(manifest) or _local_digest(folder / CARD)
    expected = {**_split_digests(manifest, str(snapshot)), CARD: card}
    target = f"{url.rstrip('/')}/{snapshot.name}/{version_dir(snapshot.version)}"
    with storage_errors(target, "write"):
        fs, path = filesystem(target, storage_options or {}, "write")
        there = _remote_manifest(fs, path)
        if there is None:
            upload_marker_last(fs, folder, path, list(expected), MANIFEST, expected)
        elif there != data:
            raise HonkdataError(
                f"{target} already holds another {snapshot} (its {MANIFEST} differs); a published version "
                "is never overwritten"
            )
    return Transfer(snapshot, target, folder, copied=there is None)


def pull_snapshot(
    url: str, root: str | Path | None = None, storage_options: dict[str, Any] | None = None
) -> Transfer:
    """Copy the version at `url` (ending <name>/vNNNN) into the store, keeping its version number."""
    url = url.rstrip("/")
    fs, path = filesystem(url, storage_options or {})
    path = path.rstrip("/")
    ref = _ref_of(url, path)
    data = _pushed_manifest(fs, path, url)
    manifest = _checked(data, url, ref)
    store = _store(root)
    if ref.version in store.versions(ref.name):
        return _already_pulled(store, ref, manifest, url)
    expected: dict[str, FileDigest | None] = {**_split_digests(manifest, url), CARD: _card_digest(manifest)}
    with store.writer(ref.name, ref.version) as (_, staging):
        (staging / "data").mkdir()
        for name, digest in expected.items():
            copied = _download(fs, f"{path}/{name}", staging / name, url)
            if digest is not None:  # None: a card of a version older than the card's digest
                _check_digest(f"{url}/{name}", copied, digest)
        (staging / MANIFEST).write_bytes(data)  # last, as the store's writer wants it
    return Transfer(ref, url, store.path(ref), copied=True)


def upload_marker_last(
    fs: AbstractFileSystem,
    folder: Path,
    remote: str,
    names: Sequence[str],
    marker: str,
    expected: Mapping[str, FileDigest] | None = None,
) -> None:
    """Upload `names` (paths in `folder`) under `remote`, then `marker`: the copy counts only once the
    marker is there, so a reader never sees half of it. With `expected`, each file is read back and
    checked before the marker goes up."""
    for name in names:
        uploaded = f"{remote}/{name}"
        put_file(fs, folder / name, uploaded)
        if expected is not None:
            _check_digest(fs.unstrip_protocol(uploaded), _remote_digest(fs, uploaded), expected[name])
    put_file(fs, folder / marker, f"{remote}/{marker}")


def _split_digests(manifest: dict, where: str) -> dict[str, FileDigest]:
    """Size and sha256 of each split's file, as the manifest gives them (`where` names it)."""
    digests = {}
    for entry in manifest["splits"].values():
        if entry["file"] is None:
            continue
        if not isinstance(entry.get("bytes"), int) or not isinstance(entry.get("sha256"), str):
            raise HonkdataError(f"{where}: the manifest gives no size and sha256 of {entry['file']} to check")
        digests[entry["file"]] = FileDigest(entry["bytes"], entry["sha256"])
    return digests


def _card_digest(manifest: dict) -> FileDigest | None:
    """The card's size and sha256 as the manifest gives them; None in a manifest written before they
    were kept (parse_manifest checked their types)."""
    card = manifest.get("card")
    return FileDigest(card["bytes"], card["sha256"]) if card else None


def _check_digest(where: str, actual: FileDigest, expected: FileDigest) -> None:
    """One line when a copied file is not the one its manifest names (cut short, or corrupted)."""
    if actual != expected:
        raise HonkdataError(
            f"checksum mismatch: {where} has {actual.size:,} bytes, sha256 {actual.sha256[:12]}; the "
            f"manifest says {expected.size:,} bytes, sha256 {expected.sha256[:12]}; not published"
        )


def _store(root: str | Path | None) -> SnapshotStore:
    return SnapshotStore(Path(root) if root is not None else default_root())


def _download(fs: AbstractFileSystem, remote: str, local: Path, url: str) -> FileDigest:
    """Copy `remote` to `local`; what was copied, hashed on the way (the copy is not read again)."""
    with storage_errors(url), open(local, "wb") as sink:
        return _remote_digest(fs, remote, sink)


def _local_digest(path: Path) -> FileDigest:
    return FileDigest(path.stat().st_size, file_sha256(path))


def _remote_digest(fs: AbstractFileSystem, path: str, sink: IO[bytes] | None = None) -> FileDigest:
    """A remote file's size and sha256, read once, each block also written to `sink` if there is one."""
    digest = hashlib.sha256()
    with fs.open(path, "rb") as f:
        size = pour(f, digest, FETCH_BLOCK, sink)  # counted as read: no second request for the size
    return FileDigest(size, digest.hexdigest())


def _remote_manifest(fs: AbstractFileSystem, path: str) -> bytes | None:
    """The manifest at a version's folder; None where there is none (nothing, or a push cut short)."""
    fs.invalidate_cache(path)  # a listing kept from earlier in this process may be stale
    try:
        return fs.cat_file(f"{path}/{MANIFEST}")
    except FileNotFoundError:
        return None


def _pushed_manifest(fs: AbstractFileSystem, path: str, url: str) -> bytes:
    """The manifest of a complete version at `url`; one line saying what is there instead."""
    with storage_errors(url):
        data = _remote_manifest(fs, path)
        if data is None and fs.exists(path):
            raise HonkdataError(
                f"{url} has no {MANIFEST}: not a complete snapshot (a push that stopped halfway?); "
                "nothing pulled"
            )
    if data is None:
        raise HonkdataError(f"no snapshot at {url}")
    return data


def _ref_of(url: str, path: str) -> SnapshotRef:
    """The version a URL names by the last two parts of its `path`, <name>/vNNNN."""
    parts = path.split("/")
    match = _VERSION_FOLDER.fullmatch(parts[-1])
    if len(parts) < 2 or match is None or parts[-1] != version_dir(int(match.group(1))):
        raise HonkdataError(f"{url} does not name a version: expected URL/<name>/vNNNN")
    check_name(parts[-2])
    return SnapshotRef(parts[-2], int(match.group(1)))


def _checked(data: bytes, url: str, ref: SnapshotRef) -> dict:
    """The pushed manifest, readable and of the version its URL names."""
    try:
        manifest = parse_manifest(data)
    except ValueError as e:
        raise HonkdataError(f"{url}: {e}; nothing pulled") from None
    if (manifest["name"], manifest["version"]) != (ref.name, ref.version):
        raise HonkdataError(
            f"{url}: its manifest is of {manifest['name']}@v{manifest['version']}, not {ref}; nothing pulled"
        )
    return manifest


def _already_pulled(store: SnapshotStore, ref: SnapshotRef, manifest: dict, url: str) -> Transfer:
    """The local version of that number: the same rows (content hash) make the pull a no-op."""
    here = store.manifest(ref)["content_hash"]
    if here != manifest["content_hash"]:
        raise HonkdataError(
            f"{store.root} already has another {ref} (content hash {here[:12]}, at {url} "
            f"{manifest['content_hash'][:12]}); a published version is never replaced"
        )
    return Transfer(ref, url, store.path(ref), copied=False)
