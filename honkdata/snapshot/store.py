"""Snapshot store: `<root>/<name>/vNNNN/`, written to a hidden staging folder and renamed into place.

A snapshot exists once its folder is visible, and its folder becomes visible (atomically, by
rename) only after manifest.json is written inside it, so a killed build leaves nothing a reader
can see. One build per dataset name at a time, enforced by an advisory lock the OS releases when
the process dies, so a crashed build never blocks the next one.

Tags (`prod`, `paper-2026`) name versions: `<root>/<name>/tags.json`, replaced whole (os.replace),
so a reader sees the old tags or the new ones, never half a file. `name@TAG` resolves like `name@vN`.
"""

import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from honkdata.config import NAME_PATTERN, describe_errors
from honkdata.errors import HonkdataError
from honkdata.schema import SNAPSHOT, SPLITS

_VERSION_DIR = re.compile(r"^v(\d{4,})$")
_STAGING_PREFIX = ".staging-"
_TAGS = "tags.json"
# What a ref may say after the '@' to mean a version (or the latest); a tag must not look like it.
_VERSION_REF = re.compile(r"v?(\d+)")
_LIKE_A_VERSION = re.compile(r"(?i)v?\d+|latest")


class _Shape(BaseModel):
    # Strict: a count written as "3" would pass a lax check and then break `snapshots show`.
    model_config = ConfigDict(strict=True)


class _Split(_Shape):
    rows: int
    file: str | None = Field(pattern=r"^data/[A-Za-z0-9][A-Za-z0-9._-]*\.parquet$")  # inside the snapshot


class _Card(_Shape):
    file: str
    sha256: str
    bytes: int


class _Input(_Shape):
    path: str
    format: str
    kind: str
    rows_read: int
    rows_rejected: int
    rows_repaired: int


class _Stage(_Shape):
    rows_in: int
    rows_out: int
    dropped: dict[str, int]
    notes: dict[str, int] = {}
    breakdowns: dict[str, dict[str, int]] = {}
    seconds: float


class _Cluster(_Shape):
    text: str
    variants: list[str]


class _Manifest(_Shape):
    """What the readers of a manifest rely on (list, show, read, the next build); the rest is free."""

    name: str
    version: int
    parent_version: int | None
    created_at: str
    honkdata_version: str
    rows: int
    content_hash: str
    config_hash: str
    splits: dict[str, _Split]
    inputs: list[_Input]
    stages: dict[str, _Stage]
    label_distribution: dict[str, dict[str, int]]
    largest_duplicate_clusters: list[_Cluster] = []
    card: _Card | None = None  # absent in manifests written before the card's digest was kept

    @field_validator("splits")
    @classmethod
    def _every_split(cls, splits: dict[str, _Split]) -> dict[str, _Split]:
        if missing := [s for s in SPLITS if s not in splits]:
            raise ValueError(f"no entry for {', '.join(missing)}")
        return splits


class BrokenSnapshotError(HonkdataError):
    """A published snapshot whose manifest cannot be read or lacks what readers need."""

    def __init__(self, ref: "SnapshotRef", folder: Path, reason: str) -> None:
        super().__init__(f"{ref} ({folder}) is broken: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class SnapshotRef:
    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.name}@v{self.version}"


def version_dir(version: int) -> str:
    return f"v{version:04d}"


class SnapshotStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _valid_name(p.name))

    def versions(self, name: str) -> list[int]:
        """Published versions: folders named exactly as `path` names them, holding a manifest."""
        folder = self.root / name
        if not folder.is_dir():
            return []
        # Only the canonical spelling counts ("v00002" is not v2), so a version has one folder.
        names = (p.name for p in folder.iterdir() if _VERSION_DIR.match(p.name))
        canonical = (n for n in names if n == version_dir(int(n[1:])))
        return sorted(int(n[1:]) for n in canonical if (folder / n / "manifest.json").is_file())

    def next_version(self, name: str) -> SnapshotRef:
        """One past the newest published version; `writer` refuses it if its folder is taken."""
        return SnapshotRef(name, (self.versions(name) or [0])[-1] + 1)

    def path(self, ref: SnapshotRef) -> Path:
        return self.root / ref.name / version_dir(ref.version)

    def resolve(self, ref: str) -> SnapshotRef:
        """`name@vN`, `name@N`, `name@latest`, `name@TAG` or plain `name` (latest)."""
        name, _, version = ref.partition("@")
        check_name(name)
        versions = self.versions(name)
        if not versions:
            raise HonkdataError(f"no snapshots named {name!r} under {self.root}")
        if version in ("", "latest"):
            return SnapshotRef(name, versions[-1])
        if match := _VERSION_REF.fullmatch(version):
            return self._published(SnapshotRef(name, int(match.group(1))), versions, f"version {version}")
        if not _valid_name(version):
            raise HonkdataError(f"bad snapshot reference {ref!r}: expected name@vN, name@latest or name@TAG")
        tags = self.tags(name)
        if version not in tags:
            known = f"tags: {', '.join(sorted(tags))}" if tags else "no tags"
            raise HonkdataError(f"{name} has no version or tag {version!r} ({known})")
        return self._published(SnapshotRef(name, tags[version]), versions, f"version v{tags[version]}")

    def _published(self, ref: SnapshotRef, versions: list[int], asked: str) -> SnapshotRef:
        if ref.version not in versions:
            raise HonkdataError(f"{ref.name} has no {asked} (versions: {', '.join(map(str, versions))})")
        return ref

    def tags(self, name: str) -> dict[str, int]:
        """tag -> version of a dataset; empty without tags."""
        path = self.root / name / _TAGS
        try:
            tags = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError) as e:
            raise HonkdataError(f"cannot read the tags of {name} ({path}): {e}") from None
        if not isinstance(tags, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in tags.values()
        ):
            raise HonkdataError(f"{path} is not a mapping of tag names to version numbers")
        return tags

    def tag(self, ref: SnapshotRef, tag: str) -> SnapshotRef | None:
        """Point `tag` at `ref` (a published version); returns the version it named before, if any.

        Taggers of one dataset take turns on their own lock, not the build's: tagging must not wait
        for a build to finish."""
        _check_tag(tag)
        self._published(ref, self.versions(ref.name), f"version v{ref.version}")
        folder = self.root / ref.name
        with open(folder / ".tags.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            tags = self.tags(ref.name)
            previous = tags.get(tag)
            replace_file(
                folder / _TAGS, orjson.dumps({**tags, tag: ref.version}, option=orjson.OPT_SORT_KEYS)
            )
        return SnapshotRef(ref.name, previous) if previous is not None else None

    def latest(self, name: str) -> SnapshotRef | None:
        versions = self.versions(name)
        return SnapshotRef(name, versions[-1]) if versions else None

    def manifest(self, ref: SnapshotRef) -> dict:
        """The snapshot's manifest; BrokenSnapshotError saying why if it is unreadable or incomplete."""
        folder = self.path(ref)
        try:
            data = (folder / "manifest.json").read_bytes()
        except OSError as e:
            raise BrokenSnapshotError(ref, folder, f"cannot read manifest.json: {e.strerror}") from None
        try:
            return parse_manifest(data)
        except ValueError as e:
            raise BrokenSnapshotError(ref, folder, str(e)) from None

    def summaries(self) -> list[dict]:
        """Every published snapshot, oldest first per name: ref, path, tags, created_at, rows,
        content_hash, and `broken` (the reason, or None). A broken one is a row of its own, so the rest
        stay listed."""
        rows = []
        for name in self.names():
            tags = self.tags(name)
            for version in self.versions(name):
                named = sorted(t for t, v in tags.items() if v == version)
                rows.append(self._summary(SnapshotRef(name, version), named))
        return rows

    def tags_of(self, ref: SnapshotRef) -> list[str]:
        return sorted(t for t, v in self.tags(ref.name).items() if v == ref.version)

    def _summary(self, ref: SnapshotRef, tags: list[str]) -> dict:
        row = {"ref": str(ref), "path": str(self.path(ref)), "tags": tags}
        try:
            m = self.manifest(ref)
        except BrokenSnapshotError as e:
            return {**row, "created_at": None, "rows": None, "content_hash": None, "broken": e.reason}
        return {**row, **{k: m[k] for k in ("created_at", "rows", "content_hash")}, "broken": None}

    def read(
        self, ref: SnapshotRef, columns: list[str] | None = None, splits: tuple[str, ...] = SPLITS
    ) -> pa.Table:
        """The rows of a snapshot's splits (all by default), as one table."""
        folder, entries = self.path(ref), self.manifest(ref)["splits"]
        tables = [
            pq.read_table(folder / entries[s]["file"], columns=columns) for s in splits if entries[s]["file"]
        ]
        if not tables:
            return SNAPSHOT.empty_table().select(columns or SNAPSHOT.names)
        return pa.concat_tables(tables)

    def clear_stale(self) -> None:
        """Remove the staging folders of killed builds, of every dataset in the store.

        They may hold a DuckDB work file of pseudonymized events below the release threshold, which
        must not wait for the next build of that same name. A dataset whose lock is held is being
        built right now (by us, or by another process) and its own staging is left to that build.
        """
        for name in self.names():
            with open(self.root / name / ".lock", "a+") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                for stale in (self.root / name).glob(f"{_STAGING_PREFIX}*"):
                    shutil.rmtree(stale, ignore_errors=True)

    @contextmanager
    def writer(self, name: str, version: int | None = None) -> Iterator[tuple[SnapshotRef, Path]]:
        """Hold the dataset's lock and yield (next ref, staging folder); publish on clean exit.

        The caller writes everything, manifest.json last, into the staging folder. On any error
        the staging folder is removed and nothing becomes visible. A folder that already holds
        the next version's place (not a snapshot: it has no manifest) is an error before any work.
        `version` is for a copy from elsewhere, which keeps its number: refused if it is published.
        """
        check_name(name)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HonkdataError(
                    f"another build is writing {name!r} in {self.root} right now; wait for it to finish"
                ) from None
            for stale in folder.glob(f"{_STAGING_PREFIX}*"):  # left by killed builds; we hold the lock
                shutil.rmtree(stale, ignore_errors=True)
            self.clear_stale()  # the other datasets' (ours is locked, so skipped there)
            ref = self.next_version(name) if version is None else SnapshotRef(name, version)
            if ref.version in self.versions(name):  # only a version asked for can be
                raise HonkdataError(f"{ref} is already in {self.root}; a published version is never replaced")
            _check_free(self.path(ref))  # before the work, not at the rename after it
            staging = folder / f"{_STAGING_PREFIX}{version_dir(ref.version)}-{os.getpid()}"
            staging.mkdir()
            try:
                yield ref, staging
                if not (staging / "manifest.json").is_file():
                    raise HonkdataError("internal error: snapshot has no manifest.json; not published")
                fsync_tree(staging)
                _publish(staging, self.path(ref))
                fsync_dir(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)


def _valid_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None


def check_name(name: str) -> None:
    """A dataset name is one plain folder of the store: a ref must not lead outside it."""
    if not _valid_name(name):
        raise HonkdataError(
            f"bad dataset name {name!r}: letters, digits, '.', '_' and '-' only, starting with a letter "
            "or digit"
        )


def parse_manifest(data: bytes) -> dict:
    """A manifest.json's content, checked for what its readers rely on; a ValueError saying why not."""
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"manifest.json is not valid JSON ({e})") from None
    try:
        _Manifest.model_validate(manifest)
    except ValidationError as e:
        raise ValueError(f"manifest.json: {describe_errors(e)}") from None
    return manifest


def _check_tag(tag: str) -> None:
    """A tag is a plain word that cannot be read as a version: `q@7` must always mean version 7."""
    if not _valid_name(tag) or _LIKE_A_VERSION.fullmatch(tag):
        raise HonkdataError(
            f"bad tag {tag!r}: letters, digits, '.', '_' and '-', starting with a letter or digit, and "
            "not a version (latest, vN, N)"
        )


def replace_file(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all: a temporary file in the same folder, synced, renamed over it.
    The caller holds a lock, so the temporary name is its own. Mode 0o666 less the umask, like the
    snapshots beside it (mkstemp's 0o600 would hide the tags from the store's other readers)."""
    tmp = path.with_name(f".{path.name}-{os.getpid()}.tmp")
    try:
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def _check_free(target: Path) -> None:
    if os.path.lexists(target):
        raise HonkdataError(
            f"{target} already exists but is not a snapshot (no manifest.json); move it out of the "
            "store or remove it, then build again"
        )


def _publish(staging: Path, target: Path) -> None:
    try:
        os.rename(staging, target)
    except OSError as e:  # the folder was taken while we worked
        raise HonkdataError(f"cannot publish to {target}: {e.strerror}; nothing was published") from None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    for file in path.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    fsync_dir(path)
