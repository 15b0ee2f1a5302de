"""`--format auto`: recognize a source's format from its shape, peeking only at the start of a file."""

import functools
import re
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import orjson

from honkdata.errors import HonkdataError
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.formats.bio import bio_parts
from honkdata.ingest.raw import open_binary
from honkdata.ingest.remote import RemoteFolder, RemotePath
from honkdata.ingest.text import strip_bom

FORMATS = ("jsonl", "csv", "parquet", *PUBLIC_READERS)
PEEK_BYTES = 1 << 20

# The opening of a Snips 2017 intent file: {"PlayMusic": [{"data": [ ...
_SNIPS_HEAD = re.compile(rb'\A\s*\{\s*"[^"]+"\s*:\s*\[\s*\{\s*"data"\s*:\s*\[')

# First key that decides, in order; `query` without `intent` is the raw log.
_KEYS = (("slurp_id", "slurp"), ("annot_utt", "massive"), ("turns", "cpcd"))


def _head(path: Path) -> bytes:
    try:
        with open_binary(path) as fh:
            return strip_bom(fh.read(PEEK_BYTES))
    except (OSError, EOFError):
        return b""


def _object_format(obj: dict) -> str | None:
    """The format a JSON object line belongs to, or None when it is no line of a known format."""
    for key, fmt in _KEYS:
        if key in obj:
            return fmt
    if "query" in obj:
        return "labeled-jsonl" if "intent" in obj else "jsonl"
    return None


def _json_format(head: bytes) -> str | None:
    """The format of most JSON-object lines of the peek, so that one odd line (an array, a stray
    object) does not decide for the file; None when no format has most of them."""
    if _SNIPS_HEAD.match(head):
        return "snips"
    votes: Counter[str | None] = Counter()
    for raw in head.split(b"\n"):
        try:
            obj = orjson.loads(raw.decode("utf-8", "replace"))
        except orjson.JSONDecodeError:
            continue  # a blank, broken or (at the end of the peek) cut line
        if isinstance(obj, dict):
            votes[_object_format(obj)] += 1
    fmt, count = (votes.most_common(1) or [(None, 0)])[0]
    return fmt if count * 2 > votes.total() else None


def detect_format(path: Path | RemotePath | RemoteFolder) -> str:
    """Format name of a source file or folder; HonkdataError when its shape is not recognized."""
    if isinstance(path, RemotePath):
        return _file_format(path, lambda: _remote_head(path))
    if isinstance(path, RemoteFolder):
        fmt = _remote_folder_format(path)
    else:
        path = Path(path)
        if not path.exists():
            raise HonkdataError(f"Source {path} does not exist.")
        if not path.is_dir():
            return _file_format(path, lambda: _head(path))
        fmt = _local_folder_format(path)
    if fmt is None:
        raise _unrecognized(path)
    return fmt


def _folder_format(
    is_file: Callable[[str], bool], json_names: list[str], head: Callable[[str], bytes]
) -> str | None:
    """A dataset folder's format, or None: bio when it or a split subfolder holds a seq.in (`is_file`
    of a path inside it), snips when the first of its top-level *.json files (`json_names`, in name
    order) opens like a Snips intent file; `head` reads the start of that one file only."""
    if bio_parts(is_file):
        return "bio"
    if json_names and _json_format(head(json_names[0])) == "snips":
        return "snips"
    return None


def _local_folder_format(path: Path) -> str | None:
    names = sorted(p.name for p in path.glob("*.json"))
    return _folder_format(lambda inside: (path / inside).is_file(), names, lambda name: _head(path / name))


# Resolving a source asks twice (is the prefix a dataset? which reader?): one head request serves
# both, kept while the listing (sizes, times, entity tags) stays the same.
@functools.lru_cache(maxsize=64)
def _remote_folder_format(folder: RemoteFolder) -> str | None:
    files = {str(inside): file for file, inside in folder.files}
    names = sorted(name for name in files if "/" not in name and name.endswith(".json"))
    return _folder_format(files.__contains__, names, lambda name: _remote_head(files[name]))


def _file_format(path: Path | RemotePath, head: Callable[[], bytes]) -> str:
    """A file's format by its name, else by its first bytes (`head`, read only when needed)."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    if fmt := _json_format(start := head()):
        return fmt
    if not start.strip() and name.endswith((".jsonl", ".ndjson")):
        return "jsonl"  # an empty log: the raw reader then reports that it has no rows
    raise _unrecognized(path)


def _remote_head(path: RemotePath) -> bytes:
    """What `_head` reads of a local file, in one request; a .gz file is decompressed as far as the
    bytes fetched go."""
    start = path.head(PEEK_BYTES)
    if path.name.endswith(".gz"):
        try:
            start = zlib.decompressobj(wbits=31).decompress(start, PEEK_BYTES)
        except zlib.error:
            return b""
    return strip_bom(start)


def _unrecognized(path: Path | RemotePath | RemoteFolder) -> HonkdataError:
    return HonkdataError(
        f"Cannot recognize the format of {path}: pass --format (one of {', '.join(FORMATS)})."
    )
