"""Snapshot store: `<root>/<name>/vNNNN/`, written to a hidden staging folder and renamed into place.

A snapshot exists once its folder is visible, and its folder becomes visible (atomically, by
rename) only after manifest.json is written inside it, so a killed build leaves nothing a reader
can see. One build per dataset name at a time, enforced by an advisory lock the OS releases when
the process dies, so a crashed build never blocks the next one.
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

from honkdata.errors import HonkdataError
from honkdata.schema import SNAPSHOT, SPLITS

_VERSION_DIR = re.compile(r"^v(\d{4,})$")
_STAGING_PREFIX = ".staging-"


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
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))

    def versions(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        found = (_VERSION_DIR.match(p.name) for p in folder.iterdir())
        return sorted(
            int(m.group(1)) for m in found if m and (folder / m.group(0) / "manifest.json").is_file()
        )

    def path(self, ref: SnapshotRef) -> Path:
        return self.root / ref.name / version_dir(ref.version)

    def resolve(self, ref: str) -> SnapshotRef:
        """`name@vN`, `name@N`, `name@latest` or plain `name` (latest)."""
        name, _, version = ref.partition("@")
        versions = self.versions(name)
        if not versions:
            raise HonkdataError(f"no snapshots named {name!r} under {self.root}")
        if version in ("", "latest"):
            return SnapshotRef(name, versions[-1])
        match = re.fullmatch(r"v?(\d+)", version)
        if not match:
            raise HonkdataError(f"bad snapshot reference {ref!r}: expected name@vN or name@latest")
        if int(match.group(1)) not in versions:
            raise HonkdataError(
                f"{name} has no version {version} (versions: {', '.join(map(str, versions))})"
            )
        return SnapshotRef(name, int(match.group(1)))

    def latest(self, name: str) -> SnapshotRef | None:
        versions = self.versions(name)
        return SnapshotRef(name, versions[-1]) if versions else None

    def manifest(self, ref: SnapshotRef) -> dict:
        return orjson.loads((self.path(ref) / "manifest.json").read_bytes())

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

    @contextmanager
    def writer(self, name: str) -> Iterator[tuple[SnapshotRef, Path]]:
        """Hold the dataset's lock and yield (next ref, staging folder); publish on clean exit.

        The caller writes everything, manifest.json last, into the staging folder. On any error
        the staging folder is removed and nothing becomes visible.
        """
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
            ref = SnapshotRef(name, (self.versions(name) or [0])[-1] + 1)
            staging = folder / f"{_STAGING_PREFIX}{version_dir(ref.version)}-{os.getpid()}"
            staging.mkdir()
            try:
                yield ref, staging
                if not (staging / "manifest.json").is_file():
                    raise HonkdataError("internal error: snapshot has no manifest.json; not published")
                _fsync_tree(staging)
                os.rename(staging, self.path(ref))
                _fsync_dir(folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for file in path.rglob("*"):
        if file.is_file():
            with open(file, "rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(path)
