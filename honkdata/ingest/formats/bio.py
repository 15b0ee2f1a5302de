"""The Goo et al. (2018) layout of the standard SNIPS / ATIS splits: `seq.in`, `seq.out`, `label`.

`seq.in` holds space-separated tokens, `seq.out` one BIO slot tag per token, `label` the intent, one
utterance per line in all three. The source is a folder holding those files, or train/dev/test
subfolders that do. Gold names are the Snips ones, mapped with the taxonomy's `snips` table. `line`
is the line in seq.in; across subfolders (train, dev, valid, validation, test) it keeps counting,
so it stays unique per source. A folder's name is its rows' official split (dev/valid: validation).
"""

from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from honkdata.ingest.formats.annotated import gold_record, to_batches
from honkdata.ingest.formats.splits import official_split
from honkdata.ingest.source import SourceContext
from honkdata.ingest.text import UNREADABLE, decode_text
from honkdata.taxonomy import GoldSpan

SPLIT_FOLDERS = ("train", "dev", "valid", "validation", "test")


def bio_parts(is_file: Callable[[str], bool]) -> list[str]:
    """The folders of a dataset folder (".", itself, or its split subfolders) that hold a seq.in, by
    `is_file` of a path inside it: the rule for a local folder and for a listed remote one."""
    if is_file("seq.in"):
        return ["."]
    return [name for name in SPLIT_FOLDERS if is_file(f"{name}/seq.in")]


def bio_folders(path: Path) -> list[Path]:
    """The folders under `path` (itself, or its split subfolders) that hold a seq.in."""
    return [path / part for part in bio_parts(lambda inside: (path / inside).is_file())]


class _Lines(NamedTuple):
    lines: list[str]
    repaired: set[int]  # 0-based indexes of lines whose bytes needed a repair
    unreadable: set[int]  # ... and of those no repair could read


def _lines(path: Path) -> _Lines:
    if not path.is_file():
        return _Lines([], set(), set())
    text, repaired, unreadable = decode_text(path.read_bytes())
    lines = [line.rstrip("\r") for line in text.split("\n")]
    return _Lines(lines[:-1] if lines and not lines[-1] else lines, set(repaired), set(unreadable))


def spans_from_tags(tokens: list[str], tags: list[str]) -> tuple[str, list[GoldSpan]]:
    """Query (tokens joined by one space) and the slot spans of its BIO tags; a stray I- opens a span."""
    query = " ".join(tokens)
    spans: list[list] = []  # [slot, start, end]
    pos, previous = 0, "O"
    for token, tag in zip(tokens, tags, strict=True):
        start, end = pos, pos + len(token)
        pos = end + 1
        if tag.startswith("I-") and previous[2:] == tag[2:]:
            spans[-1][2] = end
        elif tag.startswith(("B-", "I-")):
            spans.append([tag[2:], start, end])
        previous = tag if tag.startswith(("B-", "I-")) else "O"
    return query, [GoldSpan(slot, s, e, query[s:e]) for slot, s, e in spans]


def _folder_rows(folder: Path, ctx: SourceContext, offset: int) -> Generator[dict | None, None, int]:
    """Rows of one folder, numbered from offset + 1; returns how many lines it held."""
    files = [_lines(folder / name) for name in ("seq.in", "seq.out", "label")]
    seq_in, seq_out, labels = (file.lines for file in files)
    counts = (len(seq_in), len(seq_out), len(labels))
    if len(set(counts)) > 1:
        # Lines cannot be paired once one file has more: every line is quarantined, none guessed.
        reason = "line counts differ: seq.in {}, seq.out {}, label {}".format(*counts)
        for i in range(max(counts)):
            ctx.reject(offset + i + 1, reason, seq_in[i] if i < len(seq_in) else "")
        return max(counts)
    split = official_split(folder.name)
    repaired = set().union(*(file.repaired for file in files))
    unreadable = set().union(*(file.unreadable for file in files))
    for i, (text, tagline, label) in enumerate(zip(seq_in, seq_out, labels, strict=True)):
        line, tokens, tags = offset + i + 1, text.split(), tagline.split()
        if i in unreadable:
            ctx.reject(line, UNREADABLE, f"{text}\t{tagline}\t{label}")
            continue
        if i in repaired:
            ctx.repaired(line)
        if len(tokens) != len(tags):
            ctx.reject(line, "seq.in and seq.out token counts differ", f"{text}\t{tagline}")
            continue
        query, spans = spans_from_tags(tokens, tags)
        yield gold_record(ctx, "snips", line, query, label.strip(), spans, text, source_split=split)
    return len(seq_in)


def _rows(path: Path, ctx: SourceContext) -> Iterator[dict | None]:
    folders = bio_folders(path)
    if not folders:
        ctx.reject(0, "no seq.in in the folder or its train/dev/test subfolders", str(path))
    offset = 0
    for folder in folders:
        offset += yield from _folder_rows(folder, ctx, offset)


def read_bio(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a seq.in / seq.out / label folder (or its split subfolders) with mapped gold labels."""
    yield from to_batches(_rows(path, ctx), ctx.batch_rows)
