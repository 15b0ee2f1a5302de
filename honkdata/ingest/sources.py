"""From the config's source list to concrete inputs: globs expanded, formats recognized, checksummed."""

import functools
import glob
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from honkdata.config import SourceConfig
from honkdata.errors import HonkdataError
from honkdata.ingest.detect import detect_format
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.raw import RAW_READERS
from honkdata.ingest.source import SourceContext

READERS = {**RAW_READERS, **PUBLIC_READERS}
FOLDER_FORMATS = ("snips", "bio")
# What a file of a source folder must be named like to be read (also with .gz).
DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")


@dataclass(frozen=True)
class Input:
    path: Path
    format: str
    name: str
    kind: str  # user_log | curated

    def read(self, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
        return READERS[self.format](self.path, ctx)


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def fingerprint(path: Path) -> tuple[int, str]:
    """(bytes, sha256) of a file, or of a folder's files in path order.

    A build asks several times (is it the shipped sample? is the snapshot up to date? the input's
    report): the answer is kept while the files' sizes and modification times stay the same.
    """
    root = Path(path).resolve()
    return _hash_files(root, root.is_dir(), tuple((file, *_changes(file)) for file in _files(root)))


def _changes(file: Path) -> tuple[int, int]:
    info = file.stat()
    return info.st_size, info.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _hash_files(root: Path, is_dir: bool, files: tuple[tuple[Path, int, int], ...]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for file, _, _ in files:
        if is_dir:
            digest.update(str(file.relative_to(root)).encode() + b"\0")
        with open(file, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                size += len(block)
    return size, digest.hexdigest()


class SkippedFile(NamedTuple):
    """A file of a source folder that is not read, and why (for the manifest)."""

    path: str
    reason: str


def _is_data_name(path: Path) -> bool:
    return path.name.lower().removesuffix(".gz").endswith(DATA_SUFFIXES)


def _folder_files(folder: Path) -> list[Path]:
    """The files of a folder, without hidden ones (.git, .DS_Store) and job markers (_SUCCESS)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith((".", "_")) for part in p.relative_to(folder).parts)
    )


def _expand_folder(path: Path, fmt: str, skipped: list[SkippedFile]) -> list[Path]:
    """A folder is one input when it is a dataset (snips, bio), else each data file in it is one."""
    if not path.is_dir() or fmt in FOLDER_FORMATS:
        return [path]
    if fmt == "auto":
        try:
            if detect_format(path) in FOLDER_FORMATS:
                return [path]
        except HonkdataError:
            pass
    files = []
    for file in _folder_files(path):
        if _is_data_name(file):
            files.append(file)
        else:
            skipped.append(SkippedFile(str(file), "not a data file"))
    return files


def _format_of(path: Path, fmt: str, in_folder: bool, skipped: list[SkippedFile]) -> str | None:
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
    matches = sorted(glob.glob(source.path, recursive=True)) if glob.has_magic(source.path) else [source.path]
    paths = [Path(m) for m in matches if Path(m).exists()]
    if not paths:
        raise HonkdataError(f"source not found: {source.path}")
    inputs = []
    for match in paths:
        for path in _expand_folder(match, fmt, skipped):
            if (resolved := _format_of(path, fmt, path != match, skipped)) is None:
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
