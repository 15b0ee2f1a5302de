"""`honkdata predict`: one JSON line per query, in input order."""

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import orjson
import typer

from honkdata.cli.common import ThreadsOption, friendly_errors, use_threads
from honkdata.errors import HonkdataError

app = typer.Typer()


def _queries_in(path: Path) -> Iterator[str]:
    """Queries of a file, one per line: plain text, or JSON lines with a `query` (or `text`) field."""
    lines = sys.stdin if str(path) == "-" else open(path, encoding="utf-8")  # noqa: SIM115 (closed below)
    try:
        for number, line in enumerate(lines, 1):
            line = line.rstrip("\n")
            if not line.lstrip().startswith("{"):
                yield line
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                raise HonkdataError(f"{path}:{number}: not valid JSON") from None
            query = record.get("query", record.get("text")) if isinstance(record, dict) else None
            if not isinstance(query, str):
                raise HonkdataError(f"{path}:{number}: no text field `query` (or `text`)")
            yield query
    finally:
        if lines is not sys.stdin:
            lines.close()


@app.command()
@friendly_errors
def predict(
    queries: Annotated[list[str] | None, typer.Argument(help="queries to read")] = None,
    model: Annotated[Path, typer.Option("--model", help="a model folder made by honkdata train")] = ...,
    in_path: Annotated[
        Path | None, typer.Option("--in", help="a file of queries: one per line, or JSON lines; - for stdin")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="queries per model call")] = 256,
    threads: ThreadsOption = None,
) -> None:
    """Read queries into intents and entities: {"query", "intent", "confidence", "entities"} per line."""
    use_threads(threads)
    from honkdata.train.model import load_model, predict_batches

    if not queries and in_path is None:
        raise HonkdataError("give queries as arguments or a file with --in")
    predictor = load_model(model)
    stream = itertools.chain(queries or [], _queries_in(in_path) if in_path else [])
    for query, frame in predict_batches(predictor, stream, batch_size):
        sys.stdout.write(orjson.dumps(frame.to_dict(query)).decode() + "\n")
