"""What the labeled readers share: the bracket annotation parser, JSON-lines input, rows and batches.

SLURP's `sentence_annotation` and MASSIVE's `annot_utt` mark slots inline:
`play [song_name : rebel yell] by [artist_name : billy idol]`.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.raw import iter_json_lines
from honkdata.ingest.source import SourceContext
from honkdata.schema import RECORD
from honkdata.taxonomy import GoldSpan

# `[slot : value]`; the value may hold colons ("5:30") but no brackets.
_SLOT = re.compile(r"\[\s*([^\[\]:]+?)\s*:\s*([^\[\]]*?)\s*\]")


def parse_annotation(annotation: str, sentence: str | None = None) -> tuple[str, list[GoldSpan]]:
    """Plain text and slot spans of a bracket annotation; raises ValueError on unbalanced brackets.

    With `sentence` (the dataset's own plain text) the spans are re-anchored onto it when it differs
    from the text the annotation spells out (spacing around brackets), so the stored query is the
    dataset's sentence whenever every slot value can be found in it, in order.
    """
    parts: list[str] = []
    spans: list[GoldSpan] = []
    pos = cursor = 0
    for match in [*_SLOT.finditer(annotation), None]:
        plain = annotation[pos : match.start() if match else len(annotation)]
        if "[" in plain or "]" in plain:
            raise ValueError("unbalanced brackets")
        parts.append(plain)
        cursor += len(plain)
        if match is None:
            break
        value = match.group(2)
        if value:
            spans.append(GoldSpan(match.group(1), cursor, cursor + len(value), value))
        parts.append(value)
        cursor += len(value)
        pos = match.end()
    text = "".join(parts)
    if sentence is None or sentence == text:
        return text, spans
    aligned = _align(sentence, spans)
    return (text, spans) if aligned is None else (sentence, aligned)


def _align(sentence: str, spans: list[GoldSpan]) -> list[GoldSpan] | None:
    # Case-blind when lower-casing keeps lengths (SLURP annotations capitalize "Friday", sentences don't).
    blind = len(sentence.lower()) == len(sentence)
    haystack = sentence.lower() if blind else sentence
    aligned, cursor = [], 0
    for span in spans:
        start = haystack.find(span.text.lower() if blind else span.text, cursor)
        if start < 0:
            return None
        cursor = start + len(span.text.lower() if blind else span.text)
        aligned.append(GoldSpan(span.label, start, cursor, sentence[start:cursor]))
    return aligned


def record(ctx: SourceContext, line: int, query: str, **fields: object) -> dict:
    """One canonical row (RECORD); fields not given are null."""
    return {"query": query, "source": ctx.name, "line": line, **fields}


def gold_record(
    ctx: SourceContext,
    fmt: str,
    line: int,
    query: str,
    label: str,
    spans: list[GoldSpan],
    raw: str,
    **fields: object,
) -> dict | None:
    """A row whose gold labels are mapped to the taxonomy, with the native ones beside them (so a
    model can also be scored in the dataset's own label space), or None after rejecting an empty query."""
    if not query.strip():
        ctx.reject(line, "empty query", raw)
        return None
    intent, entities = ctx.taxonomy.map_example(fmt, label, spans)
    by_start = sorted(spans, key=lambda s: (s.start, s.end))
    native = [{"type": s.label, "start": s.start, "end": s.end, "text": s.text} for s in by_start]
    fields.update(source_intent=label, source_entities=native)
    return record(ctx, line, query, intent=intent, entities=entities, **fields)


def to_batches(rows: Iterable[dict | None], batch_rows: int) -> Iterator[pa.RecordBatch]:
    """RECORD batches of at most `batch_rows` rows; None rows (already rejected) are skipped."""
    chunk: list[dict] = []
    for row in rows:
        if row is None:
            continue
        chunk.append(row)
        if len(chunk) >= batch_rows:
            yield pa.RecordBatch.from_pylist(chunk, schema=RECORD)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist(chunk, schema=RECORD)


def annotated_rows(
    path: Path,
    ctx: SourceContext,
    fmt: str,
    fields: tuple[str, str],
    label_of: Callable[[dict], object],
    extra: Callable[[dict], dict] = lambda obj: {},
) -> Iterator[dict | None]:
    """Gold rows of a JSON-lines file whose `fields` = (bracket annotation, plain sentence)."""
    annotation_key, sentence_key = fields
    for line, obj, raw in iter_json_lines(path, ctx):
        annotation, label, sentence = obj.get(annotation_key), label_of(obj), obj.get(sentence_key)
        if not isinstance(annotation, str) or not isinstance(label, str):
            ctx.reject(line, f"missing {annotation_key} or intent", raw)
            continue
        try:
            query, spans = parse_annotation(annotation, sentence if isinstance(sentence, str) else None)
        except ValueError as exc:
            ctx.reject(line, f"malformed {annotation_key}: {exc}", raw)
            continue
        yield gold_record(ctx, fmt, line, query, label, spans, raw, **extra(obj))
