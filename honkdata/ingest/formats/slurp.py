"""SLURP jsonl: `sentence`, `sentence_annotation` (bracket slots) and the scenario_action `intent`."""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.annotated import gold_record, parse_annotation, to_batches
from honkdata.ingest.raw import iter_json_lines
from honkdata.ingest.source import SourceContext


def _label(obj: dict) -> object:
    # A few SLURP rows carry a truncated intent ("music" for play_music); scenario + action is the
    # intent SLURP defines, so prefer it when both are present.
    scenario, action = obj.get("scenario"), obj.get("action")
    if isinstance(scenario, str) and isinstance(action, str) and scenario and action:
        return f"{scenario}_{action}"
    return obj.get("intent")


def _rows(path: Path, ctx: SourceContext) -> Iterator[dict | None]:
    for line, obj, raw in iter_json_lines(path, ctx):
        annotation, label = obj.get("sentence_annotation"), _label(obj)
        sentence = obj.get("sentence")
        if not isinstance(annotation, str) or not isinstance(label, str):
            ctx.reject(line, "missing sentence_annotation or intent", raw)
            continue
        try:
            query, spans = parse_annotation(annotation, sentence if isinstance(sentence, str) else None)
        except ValueError as exc:
            ctx.reject(line, f"malformed sentence_annotation: {exc}", raw)
            continue
        yield gold_record(ctx, "slurp", line, query, label, spans, raw)


def read_slurp(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a SLURP jsonl file (optionally .gz); `line` is the jsonl line number."""
    yield from to_batches(_rows(path, ctx), ctx.batch_rows)
