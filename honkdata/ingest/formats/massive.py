"""MASSIVE jsonl (one file per locale): `utt`, `annot_utt` (bracket slots), `intent`, `locale`."""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.annotated import annotated_rows, to_batches
from honkdata.ingest.source import SourceContext


def _locale(obj: dict) -> dict:
    return {"locale": obj["locale"] if isinstance(obj.get("locale"), str) else None}


def read_massive(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a MASSIVE jsonl file (optionally .gz); rows keep their `locale`."""
    rows = annotated_rows(path, ctx, "massive", ("annot_utt", "utt"), lambda obj: obj.get("intent"), _locale)
    yield from to_batches(rows, ctx.batch_rows)
