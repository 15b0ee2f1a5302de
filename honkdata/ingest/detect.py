"""`--format auto`: recognize a source's format from its shape, peeking only at the start of a file."""

import re
from collections import Counter
from pathlib import Path

import orjson

from honkdata.errors import HonkdataError
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.formats.bio import bio_folders
from honkdata.ingest.raw import open_binary
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


def detect_format(path: Path) -> str:
    """Format name of a source file or folder; HonkdataError when its shape is not recognized."""
    path = Path(path)
    if not path.exists():
        raise HonkdataError(f"Source {path} does not exist.")
    name = path.name.lower().removesuffix(".gz")
    if path.is_dir():
        if bio_folders(path):
            return "bio"
        files = sorted(path.glob("*.json"))
        if files and _json_format(_head(files[0])) == "snips":
            return "snips"
    elif name.endswith(".parquet"):
        return "parquet"
    elif name.endswith((".csv", ".tsv")):
        return "csv"
    elif fmt := _json_format(head := _head(path)):
        return fmt
    elif not head.strip() and name.endswith((".jsonl", ".ndjson")):
        return "jsonl"  # an empty log: the raw reader then reports that it has no rows
    raise HonkdataError(
        f"Cannot recognize the format of {path}: pass --format (one of {', '.join(FORMATS)})."
    )
