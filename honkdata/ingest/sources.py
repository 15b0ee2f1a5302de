"""From the config's source list to concrete inputs: globs expanded, formats recognized, checksummed."""

import glob
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from honkdata.config import SourceConfig
from honkdata.errors import HonkdataError
from honkdata.ingest.detect import detect_format
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.raw import RAW_READERS
from honkdata.ingest.source import SourceContext

READERS = {**RAW_READERS, **PUBLIC_READERS}
FOLDER_FORMATS = ("snips", "bio")


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
    """(bytes, sha256) of a file, or of a folder's files in path order."""
    digest, size = hashlib.sha256(), 0
    for file in _files(path):
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode() + b"\0")
        with open(file, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
                size += len(block)
    return size, digest.hexdigest()


def _expand_folder(path: Path, fmt: str) -> list[Path]:
    """A folder is one input when it is a dataset (snips, bio), else each file in it is one."""
    if not path.is_dir() or fmt in FOLDER_FORMATS:
        return [path]
    if fmt == "auto":
        try:
            if detect_format(path) in FOLDER_FORMATS:
                return [path]
        except HonkdataError:
            pass
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def resolve_inputs(sources: list[SourceConfig], default_format: str | None = None) -> list[Input]:
    """Expand globs and recognize formats; a path that matches nothing is an error, not a no-op."""
    inputs: list[Input] = []
    for source in sources:
        matches = (
            sorted(glob.glob(source.path, recursive=True)) if glob.has_magic(source.path) else [source.path]
        )
        paths = [Path(m) for m in matches if Path(m).exists()]
        if not paths:
            raise HonkdataError(f"source not found: {source.path}")
        fmt = source.format if source.format != "auto" else (default_format or "auto")
        for path in [file for match in paths for file in _expand_folder(match, fmt)]:
            resolved = detect_format(path) if fmt == "auto" else fmt
            if resolved not in READERS:
                raise HonkdataError(
                    f"unknown format {resolved!r} for {path}; known: {', '.join(sorted(READERS))}"
                )
            kind = source.kind or ("user_log" if resolved in RAW_READERS else "curated")
            name = source.name or path.name
            inputs.append(Input(path=path, format=resolved, name=name, kind=kind))
    return inputs
