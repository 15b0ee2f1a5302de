"""Conversational Playlist Curation Dataset (CPCD) jsonl: one dialog per line, `turns[].user_query`.

Every user turn becomes one unlabeled row (intent and entities null); the dialog `id` is its
session_id, so later stages keep a conversation's turns together. All turns of a dialog share the
dialog's line number.
"""

from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa

from honkdata.ingest.formats.annotated import record, to_batches
from honkdata.ingest.raw import iter_json_lines
from honkdata.ingest.source import SourceContext


def _rows(path: Path, ctx: SourceContext) -> Iterator[dict]:
    for line, dialog, raw in iter_json_lines(path, ctx):
        turns = dialog.get("turns")
        if not isinstance(turns, list):
            ctx.reject(line, "missing turns", raw)
            continue
        dialog_id = dialog.get("id")
        session = str(dialog_id) if isinstance(dialog_id, str | int) else None
        for turn in turns:
            query = turn.get("user_query") if isinstance(turn, dict) else None
            if not isinstance(query, str) or not query.strip():
                ctx.reject(line, "turn without user_query", orjson.dumps(turn).decode())
                continue
            yield record(ctx, line, query, session_id=session)


def read_cpcd(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a CPCD dialogs jsonl file (optionally .gz) into one unlabeled row per user turn."""
    yield from to_batches(_rows(path, ctx), ctx.batch_rows)
