"""`honkdata retrain`: the scheduler's command. Its last line of stdout is one JSON object, and its
exit code says what happened: 0 promoted or up to date, 3 the gate held the champion, 1 the run
failed, 2 the command or its config is wrong (nothing was started)."""

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from honkdata.cli.common import JsonOption, RootOption, err, friendly_errors, out
from honkdata.errors import HonkdataError

app = typer.Typer()

EXIT_HELD, EXIT_FAILED = 3, 1


def _last_line(summary: dict) -> None:
    sys.stdout.write(orjson.dumps(summary, default=str).decode() + "\n")
    sys.stdout.flush()


@app.command()
@friendly_errors
def retrain(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="retrain YAML [default: the shipped retrain.yaml]")
    ] = None,
    source: Annotated[
        list[str] | None,
        typer.Option("--source", help="input file or folder (repeat) [default: the build config's sources]"),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="dataset name [default: the build config's]")
    ] = None,
    root: RootOption = None,
    recipe: Annotated[str | None, typer.Option("--recipe", help="baseline, encoder or llm")] = None,
    json: JsonOption = False,
) -> None:
    """Build a snapshot from new logs, train a challenger, and promote it if the gate lets it through."""
    from honkdata.retrain.config import load_retrain_config
    from honkdata.retrain.run import retrain as run_retrain

    settings = load_retrain_config(config)  # a bad config is a usage error: exit 2, nothing started

    def step(name: str) -> None:
        if not json:
            err.print(f"[dim]retrain:[/dim] {name}", highlight=False)

    try:
        summary = run_retrain(settings, source, name, root, recipe, step)
    except HonkdataError as e:
        err.print(f"[red]error:[/red] {e}", highlight=False, soft_wrap=True)
        _last_line({"status": "error", "reason": str(e)})
        raise typer.Exit(EXIT_FAILED) from None
    if not json:
        out.print(f"{summary['status']}: {summary['reason']}", highlight=False, soft_wrap=True)
        out.print(f"snapshot {summary['snapshot']}, model {summary['model']}, champion {summary['champion']}")
    _last_line(summary)
    if summary["status"] == "held":
        raise typer.Exit(EXIT_HELD)
