"""`honkdata eval`: a model's task metrics on a snapshot split or on an outside labeled file, and
with `--report` the whole evaluation report as one HTML page."""

from pathlib import Path
from typing import Annotated

import orjson
import typer

from honkdata.cli.common import (
    JsonOption,
    RootOption,
    ThreadsOption,
    friendly_errors,
    out,
    print_json,
    use_threads,
)
from honkdata.errors import HonkdataError

app = typer.Typer()

_PER_LINE = (
    "intent_accuracy",
    "intent_macro_f1",
    "entity_precision",
    "entity_recall",
    "entity_f1",
    "frame_accuracy",
)


@app.command(name="eval")
@friendly_errors
def evaluate(
    model: Annotated[Path, typer.Option("--model", help="a model folder made by honkdata train")],
    snapshot: Annotated[str | None, typer.Option("--snapshot", help="REF to score on")] = None,
    split: Annotated[str, typer.Option("--split", help="split of --snapshot")] = "test",
    data: Annotated[
        Path | None, typer.Option("--data", help="a labeled file or folder in any format build reads")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="format of --data")] = "auto",
    root: RootOption = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="score only the first N rows")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="also write the metrics here as JSON")
    ] = None,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="also write an HTML report here")
    ] = None,
    threads: ThreadsOption = None,
    json: JsonOption = False,
) -> None:
    """Score a model: intent accuracy and macro-F1, entity span F1, exact-frame accuracy, intent
    calibration (ECE), and the same per surface, locale, label source and query frequency."""
    use_threads(threads)
    from honkdata.evaluate.run import evaluate_details
    from honkdata.schema import SPLITS

    if (snapshot is None) == (data is None):
        raise HonkdataError("give exactly one of --snapshot REF or --data PATH")
    if split not in SPLITS:
        raise HonkdataError(f"--split must be one of {', '.join(SPLITS)}")
    details = evaluate_details(
        model, snapshot=snapshot, root=root, split=split, data=data, fmt=fmt, limit=limit
    )
    report = details.metrics
    if out_file is not None:
        out_file.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    if report_file is not None:
        from honkdata.evaluate.report import html_report

        report_file.write_text(html_report(details), encoding="utf-8")
    if json:
        print_json(report)
        return
    out.print(f"{report['n']:,} queries, {report['invalid']} unreadable outputs", highlight=False)
    for key in _PER_LINE:
        out.print(f"{key.replace('_', ' ')}: {report[key]:.2%}", highlight=False)
    out.print(f"intent ECE: {report['intent_ece']:.2%}", highlight=False)
    out.print("per intent (precision / recall / F1, support):", highlight=False)
    for name, m in report["per_intent"].items():
        out.print(
            f"  {name}: {m['precision']:.2%} / {m['recall']:.2%} / {m['f1']:.2%}, {m['support']:,}",
            highlight=False,
        )
    out.print("per entity type (precision / recall / F1, support):", highlight=False)
    for name, m in report["per_entity_type"].items():
        out.print(
            f"  {name}: {m['precision']:.2%} / {m['recall']:.2%} / {m['f1']:.2%}, {m['support']:,}",
            highlight=False,
        )
    out.print("slices (rows: intent accuracy / frame accuracy):", highlight=False)
    for dimension, values in report["slices"].items():
        parts = [
            f"{value} {m['n']:,}: {m['intent_accuracy']:.2%} / {m['frame_accuracy']:.2%}"
            for value, m in values.items()
        ]
        # Slice names come from the logs: printed as they are, never read as rich markup.
        out.print(f"  {dimension.replace('_', ' ')}: {'; '.join(parts)}", highlight=False, markup=False)
