"""Snips 2017 custom-intent JSON: `{Intent: [{"data": [{"text": ..., "entity"?: slot}, ...]}, ...]}`.

The source is one such file (optionally .gz) or a folder of `*.json` ones, read in name order.
`line` is the 1-based index of the utterance in the file; in a folder it keeps counting across
files, so it stays unique per source. A file's name gives its official split: `train_*.json` train,
`validate_*.json` validation (the 2017 release has no test part).
"""

from collections.abc import Generator, Iterator
from pathlib import Path

import orjson
import pyarrow as pa

from honkdata.ingest.formats.annotated import gold_record, to_batches
from honkdata.ingest.formats.splits import split_of_file
from honkdata.ingest.raw import open_binary
from honkdata.ingest.source import SourceContext
from honkdata.ingest.text import UNREADABLE, decode_text
from honkdata.taxonomy import GoldSpan


def _utterance(chunks: object) -> tuple[str, list[GoldSpan]] | None:
    """Query text and slot spans (trimmed of surrounding spaces), or None when malformed."""
    if not isinstance(chunks, list):
        return None
    query, spans = "", []
    for chunk in chunks:
        if not isinstance(chunk, dict) or not isinstance(chunk.get("text"), str):
            return None
        text, slot = chunk["text"], chunk.get("entity")
        if isinstance(slot, str) and text.strip():
            start = len(query) + len(text) - len(text.lstrip())
            spans.append(GoldSpan(slot, start, start + len(text.strip()), text.strip()))
        query += text
    return query, spans


def _file_rows(path: Path, ctx: SourceContext, offset: int) -> Generator[dict | None, None, int]:
    """Rows of one file, numbered from offset + 1; returns the number of utterances it held."""
    with open_binary(path) as fh:
        text, repaired, unreadable = decode_text(fh.read())  # a Snips intent file is about 1 MB
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        ctx.reject(0, f"invalid JSON in {path.name}", text[: ctx.max_line_bytes])
        return 0
    if not isinstance(doc, dict) or not all(isinstance(v, list) for v in doc.values()):
        ctx.reject(0, f"not a Snips intent file: {path.name}", text[: ctx.max_line_bytes])
        return 0
    ctx.rows_repaired += len(repaired)  # lines of the document: an utterance may span several
    line, split = offset, split_of_file(path)
    for label, utterances in doc.items():
        for utterance in utterances:
            line += 1
            raw = orjson.dumps(utterance).decode()
            parsed = _utterance(utterance.get("data") if isinstance(utterance, dict) else None)
            if parsed is None:
                ctx.reject(line, "malformed utterance", raw)
                continue
            if unreadable and "\ufffd" in parsed[0]:  # the bytes no repair could read
                ctx.reject(line, UNREADABLE, raw)
                continue
            yield gold_record(ctx, "snips", line, parsed[0], label, parsed[1], raw, source_split=split)
    return line - offset


def _rows(path: Path, ctx: SourceContext) -> Iterator[dict | None]:
    offset = 0
    for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
        offset += yield from _file_rows(file, ctx, offset)


def read_snips(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a Snips 2017 intent file, or a folder of them, with gold labels mapped to the taxonomy."""
    yield from to_batches(_rows(path, ctx), ctx.batch_rows)
