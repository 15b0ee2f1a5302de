"""MASSIVE jsonl (one file per locale): `utt`, `annot_utt` (bracket slots), `intent`, `locale`, and
`partition` (train, dev, test), the row's official split."""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.annotated import annotated_rows, to_batches
from honkdata.ingest.formats.splits import official_split
from honkdata.ingest.source import SourceContext


def _fields(obj: dict) -> dict:
    locale = obj.get("locale")
    return {
        "locale": locale if isinstance(locale, str) else None,
        "source_split": official_split(obj.get("partition")),
    }


def read_massive(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a MASSIVE jsonl file (optionally .gz); rows keep their `locale` and `partition`."""
    rows = annotated_rows(path, ctx, "massive", ("annot_utt", "utt"), lambda obj: obj.get("intent"), _fields)
    yield from to_batches(rows, ctx.batch_rows)
