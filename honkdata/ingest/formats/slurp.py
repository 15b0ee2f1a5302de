"""SLURP jsonl: `sentence`, `sentence_annotation` (bracket slots) and the scenario_action `intent`.

SLURP ships its split as files (`train.jsonl`, `train_synthetic.jsonl`, `devel.jsonl`, `test.jsonl`):
the file name's leading word is the rows' official split.
"""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from honkdata.ingest.formats.annotated import annotated_rows, to_batches
from honkdata.ingest.formats.splits import split_of_file
from honkdata.ingest.source import SourceContext


def _label(obj: dict) -> object:
    # A few SLURP rows carry a truncated intent ("music" for play_music); scenario + action is the
    # intent SLURP defines, so prefer it when both are present.
    scenario, action = obj.get("scenario"), obj.get("action")
    if isinstance(scenario, str) and isinstance(action, str) and scenario and action:
        return f"{scenario}_{action}"
    return obj.get("intent")


def read_slurp(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    """Read a SLURP jsonl file (optionally .gz); `line` is the jsonl line number."""
    split = {"source_split": split_of_file(path)}
    rows = annotated_rows(path, ctx, "slurp", ("sentence_annotation", "sentence"), _label, lambda obj: split)
    yield from to_batches(rows, ctx.batch_rows)
