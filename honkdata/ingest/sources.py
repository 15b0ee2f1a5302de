"""From the config's source list to concrete inputs: globs expanded, formats recognized, checksummed."""

import functools
import glob
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import IO, NamedTuple, TypeVar

import pyarrow as pa

from honkdata.config import SourceConfig
from honkdata.errors import HonkdataError
from honkdata.ingest.detect import detect_format
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.raw import RAW_READERS, Run
from honkdata.ingest.remote import RemoteFolder, RemotePath, find_remote, is_url
from honkdata.ingest.source import SourceContext

READERS = {**RAW_READERS, **PUBLIC_READERS}
FOLDER_FORMATS = ("snips", "bio")
# What a file of a source folder must be named like to be read (also with .gz).
DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")
HASH_BLOCK = 1 << 20  # bytes per read when a local file is hashed
FETCH_BLOCK = 8 << 20  # bytes per request to a remote file: few requests, little memory
FilePath = TypeVar("FilePath", Path, RemotePath | RemoteFolder)


@dataclass(frozen=True)
class Input:
    path: Path | RemotePath | RemoteFolder
    format: str
    name: str
    kind: str  # user_log | curated
    run: Run | None = None  # of a plain JSONL or Parquet file here, only this part (Ingest.parts)

    def read(self, ctx: SourceContext, scratch: Path | None = None) -> Iterator[pa.RecordBatch]:
        """The input's batches. A remote file, or every file of a remote dataset folder, is fetched
        first, wherever this runs (a Ray worker fetches its own input), into a temporary folder under
        `scratch` (else the system's), and deleted after the read, read to its end or not;
        `ctx.digest` gets the (bytes, sha256) fetched."""
        if self.run is not None:  # a local file (Ingest.parts)
            return RAW_READERS[self.format](self.path, ctx, self.run)  # type: ignore[arg-type, call-arg]
        if isinstance(self.path, Path):
            return READERS[self.format](self.path, ctx)
        return self._read_fetched(self.path, ctx, scratch)

    def _read_fetched(
        self, path: RemotePath | RemoteFolder, ctx: SourceContext, scratch: Path | None
    ) -> Iterator[pa.RecordBatch]:
        with _fetched(path, scratch) as (copy, digest):
            ctx.digest = digest
            yield from READERS[self.format](copy, ctx)


@contextmanager
def _fetched(path: RemotePath | RemoteFolder, scratch: Path | None) -> Iterator[tuple[Path, tuple[int, str]]]:
    """A local copy of `path` (the readers read local files) in an owner-only temporary folder, with
    its (bytes, sha256) counted while it is copied; the folder goes when the block ends."""
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=scratch) as folder:
        copy = Path(folder) / path.name
        if isinstance(path, RemoteFolder):
            digest = _hash_remote_folder(path, copy)
        else:
            with open(copy, "wb") as sink:
                digest = _hash_remote(path, sink)
        yield copy, digest


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def fingerprint(path: Path | RemotePath | RemoteFolder) -> tuple[int, str]:
    """(bytes, sha256) of a file, or of a folder's files in path order.

    A build asks several times (is it the shipped sample? is the snapshot up to date? the input's
    report): the answer is kept while the files' sizes and modification times stay the same.
    """
    if not isinstance(path, Path):
        return _remote_fingerprint(path)
    root = path.resolve()
    return _hash_files(root, root.is_dir(), tuple((file, *_changes(file)) for file in _files(root)))


def _changes(file: Path) -> tuple[int, int]:
    info = file.stat()
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _hash_files(root: Path, is_dir: bool, files: tuple[tuple[Path, int, int], ...]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for file, _, _ in files:
        if is_dir:
            digest.update(_entry(file.relative_to(root)))
        with open(file, "rb") as f:
            size += pour(f, digest, HASH_BLOCK)
    return size, digest.hexdigest()


def _entry(inside: PurePath) -> bytes:
    """What a folder's hash takes of a file's path in it, before its bytes: a file moved within the
    folder changes the hash. The same for a local folder and a remote one, so a copy hashes the same."""
    return str(inside).encode() + b"\0"


@functools.lru_cache(maxsize=64)
def _remote_fingerprint(path: RemotePath | RemoteFolder) -> tuple[int, str]:
    # Kept while the listing says the same (size, modification time, entity tag), as a local file's
    # hash is kept while its stat does.
    return _hash_remote_folder(path) if isinstance(path, RemoteFolder) else _hash_remote(path)


def _hash_remote_folder(folder: RemoteFolder, copy: Path | None = None) -> tuple[int, str]:
    """A remote folder's (bytes, sha256) as `_hash_files` counts a local one (each file's path, then
    its bytes, in path order), each file copied to its path under `copy` if there is one."""
    digest, size = hashlib.sha256(), 0
    for file, inside in folder.files:
        digest.update(_entry(inside))
        with _sink(copy, inside, file) as sink, file.open(FETCH_BLOCK) as source:
            size += pour(source, digest, FETCH_BLOCK, sink)
    return size, digest.hexdigest()


def _sink(copy: Path | None, inside: PurePath, file: RemotePath) -> AbstractContextManager[IO[bytes] | None]:
    if copy is None:
        return nullcontext()
    if inside.is_absolute() or ".." in inside.parts:  # an object key may say anything: stay in `copy`
        raise HonkdataError(f"cannot read {file.url}: its key leads out of the folder")
    target = copy / inside
    target.parent.mkdir(parents=True, exist_ok=True)
    return open(target, "wb")


def _hash_remote(path: RemotePath, sink: IO[bytes] | None = None) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open(FETCH_BLOCK) as source:
        size = pour(source, digest, FETCH_BLOCK, sink)
    return size, digest.hexdigest()


def pour(source: IO[bytes], digest: "hashlib._Hash", block_bytes: int, sink: IO[bytes] | None = None) -> int:
    """Hash `source` to its end, block by block, copying each block to `sink` if there is one; the
    bytes read."""
    size = 0
    while block := source.read(block_bytes):
        digest.update(block)
        size += len(block)
        if sink is not None:
            sink.write(block)
    return size


class SkippedFile(NamedTuple):
    """A file of a source folder that is not read, and why (for the manifest)."""

    path: str
    reason: str


def _is_data_name(name: str) -> bool:
    return name.lower().removesuffix(".gz").endswith(DATA_SUFFIXES)


Match = tuple[list[FilePath], bool]  # the files one path or glob match stands for; is it a folder?


def _data_files(files: list[tuple[FilePath, PurePath]], skipped: list[SkippedFile]) -> list[FilePath]:
    """The files of a folder (each with its path inside it) that are read: not hidden ones (.git,
    .DS_Store) nor job markers (_SUCCESS); the others that are not named like data are skipped."""
    data = []
    for file, inside in files:
        if any(part.startswith((".", "_")) for part in inside.parts):
            continue
        if _is_data_name(file.name):
            data.append(file)
        else:
            skipped.append(SkippedFile(str(file), "not a data file"))
    return data


def _expand_folder(path: Path, fmt: str, skipped: list[SkippedFile]) -> Match[Path]:
    """A folder is one input when it is a dataset (snips, bio), else each data file in it is one."""
    if not path.is_dir() or fmt in FOLDER_FORMATS:
        return [path], False
    if fmt == "auto" and _is_dataset(path):
        return [path], False
    files = sorted(p for p in path.rglob("*") if p.is_file())
    return _data_files([(f, f.relative_to(path)) for f in files], skipped), True


def _is_dataset(folder: Path | RemoteFolder) -> bool:
    try:
        return detect_format(folder) in FOLDER_FORMATS
    except HonkdataError:
        return False


def _local_matches(source: SourceConfig, fmt: str, skipped: list[SkippedFile]) -> list[Match[Path]]:
    pattern = source.path
    found = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
    return [_expand_folder(Path(m), fmt, skipped) for m in found if Path(m).exists()]


def _remote_matches(
    source: SourceConfig, fmt: str, skipped: list[SkippedFile]
) -> list[Match[RemotePath | RemoteFolder]]:
    """As `_local_matches`, on object storage: a folder (a prefix) is one input when it is a dataset,
    else each data file in it is one."""
    return [
        (_data_files(list(m.files), skipped), True) if _is_files(m, fmt) else ([m], False)
        for m in find_remote(source.path, source.storage_options)
    ]


def _is_files(match: RemotePath | RemoteFolder, fmt: str) -> bool:
    """Is `match` a folder read file by file (not a dataset folder)?"""
    if isinstance(match, RemotePath) or fmt in FOLDER_FORMATS:
        return False
    return fmt != "auto" or not _is_dataset(match)


def _format_of(
    path: Path | RemotePath | RemoteFolder, fmt: str, in_folder: bool, skipped: list[SkippedFile]
) -> str | None:
    """The reader of a file; None (and skipped) for a file of a folder whose shape is not recognized."""
    if fmt != "auto":
        return fmt
    try:
        return detect_format(path)
    except HonkdataError:
        if not in_folder:
            raise  # a file the user named is read or refused, never skipped
        skipped.append(SkippedFile(str(path), "format not recognized"))
        return None


def _source_inputs(source: SourceConfig, fmt: str, skipped: list[SkippedFile]) -> list[Input]:
    find = _remote_matches if is_url(source.path) else _local_matches
    if not (matches := find(source, fmt, skipped)):
        raise HonkdataError(f"source not found: {source.path}")
    inputs = []
    for paths, in_folder in matches:
        for path in paths:
            if (resolved := _format_of(path, fmt, in_folder, skipped)) is None:
                continue
            if resolved not in READERS:
                raise HonkdataError(
                    f"unknown format {resolved!r} for {path}; known: {', '.join(sorted(READERS))}"
                )
            kind = source.kind or ("user_log" if resolved in RAW_READERS else "curated")
            inputs.append(Input(path=path, format=resolved, name=source.name or path.name, kind=kind))
    if not inputs:
        raise HonkdataError(f"source {source.path} holds no data file to read")
    return inputs


def resolve_inputs(
    sources: list[SourceConfig],
    default_format: str | None = None,
    skipped: list[SkippedFile] | None = None,
) -> list[Input]:
    """Expand globs and folders and recognize formats; a path that matches nothing is an error, not a
    no-op. Files of a source folder that are not data (a README, an unrecognized shape) are not read:
    they are appended to `skipped`, for the caller to report."""
    skipped = [] if skipped is None else skipped
    inputs: list[Input] = []
    for source in sources:
        fmt = source.format if source.format != "auto" else (default_format or "auto")
        inputs += _source_inputs(source, fmt, skipped)
    return inputs
