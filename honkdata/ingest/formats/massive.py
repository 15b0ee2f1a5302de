"""MASSIVE jsonl (one file per locale): `utt`, `annot_utt` (bracket slots), `intent`, `locale`."""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.annotated import gold_record, parse_annotation, to_batches
from honkdata.ingest.raw import iter_json_lines
from honkdata.ingest.source import SourceContext


def _rows(path: Path, ctx: SourceContext) -> Iterator[dict | None]:
    for line, obj, raw in iter_json_lines(path, ctx):
        annotation, label, utt = obj.get("annot_utt"), obj.get("intent"), obj.get("utt")
        if not isinstance(annotation, str) or not isinstance(label, str):
            ctx.reject(line, "missing annot_utt or intent", raw)
            continue
        try:
            query, spans = parse_annotation(annotation, utt if isinstance(utt, str) else None)
        except ValueError as exc:
            ctx.reject(line, f"malformed annot_utt: {exc}", raw)
            continue
        locale = obj.get("locale") if isinstance(obj.get("locale"), str) else None
        yield gold_record(ctx, "massive", line, query, label, spans, raw, locale=locale)


def read_massive(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a MASSIVE jsonl file (optionally .gz); rows keep their `locale`."""
    yield from to_batches(_rows(path, ctx), ctx.batch_rows)
