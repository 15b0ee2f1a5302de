"""Labeled jsonl: `{"query", "intent", "entities": [{"type", "start", "end", "text"?}], "locale"?, "split"?}`.

Labels are already in taxonomy names, so the source's own labels are the same ones. `split` (train,
validation or test; dev/devel/valid/validate mean validation) is the row's official split. A row with
an unknown intent, entity type or split, or a span that does not fit the query, is rejected with the
reason rather than guessed at.
"""

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.annotated import record, to_batches
from honkdata.ingest.formats.splits import official_split
from honkdata.ingest.raw import iter_json_lines
from honkdata.ingest.source import SourceContext
from honkdata.taxonomy import Taxonomy


def _entities(query: str, value: object, taxonomy: Taxonomy) -> list[dict] | str:
    """Validated entities sorted by start, or the reason they are not usable."""
    if value is None:
        return []
    if not isinstance(value, list):
        return "entities is not a list"
    entities = []
    for entity in value:
        if not isinstance(entity, dict):
            return "malformed entity"
        kind, start, end = entity.get("type"), entity.get("start"), entity.get("end")
        if kind not in taxonomy.entity_types:
            return f"unknown entity type {kind!r}"
        if type(start) is not int or type(end) is not int or not 0 <= start < end <= len(query):
            return "entity span out of range"
        if entity.get("text", query[start:end]) != query[start:end]:
            return "entity text does not match its span"
        entities.append({"type": kind, "start": start, "end": end, "text": query[start:end]})
    entities.sort(key=lambda e: (e["start"], e["end"]))
    if any(a["end"] > b["start"] for a, b in pairwise(entities)):
        return "overlapping entity spans"
    return entities


def _invalid(obj: dict, taxonomy: Taxonomy) -> str | None:
    """Why a row's query, intent or split is not usable, or None."""
    query, intent, split = obj.get("query"), obj.get("intent"), obj.get("split")
    if not isinstance(query, str) or not query.strip():
        return "missing or empty query"
    if intent not in taxonomy.intents:
        return f"unknown intent {intent!r}"
    if split is not None and official_split(split) is None:
        return f"unknown split {split!r}"
    return None


def _rows(path: Path, ctx: SourceContext) -> Iterator[dict]:
    taxonomy = ctx.taxonomy
    for line, obj, raw in iter_json_lines(path, ctx):
        query, intent = obj.get("query"), obj.get("intent")
        reason = _invalid(obj, taxonomy)
        entities = reason if reason else _entities(query, obj.get("entities"), taxonomy)
        if isinstance(entities, str):
            ctx.reject(line, entities, raw)
            continue
        # The given labels are the native ones; the mapped ones drop an out-of-domain row's spans.
        split = official_split(obj.get("split"))
        native = {"source_intent": intent, "source_entities": entities, "source_split": split}
        if intent == taxonomy.default_intent:
            entities = []
        locale = obj.get("locale") if isinstance(obj.get("locale"), str) else None
        yield record(ctx, line, query, intent=intent, entities=entities, locale=locale, **native)


def read_labeled_jsonl(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a labeled jsonl file (optionally .gz) whose labels are taxonomy names."""
    yield from to_batches(_rows(path, ctx), ctx.batch_rows)
