"""The `honkdata` command: a thin layer over the Python API (honkdata.build, honkdata.snapshot, ...).

One module per command or command group, each with its own `typer.Typer` called `app`: a group's has
a name (`honkdata snapshots ...`), a nameless one adds its commands at the top (`honkdata build`). A
new group is a new module here and one entry in COMMANDS. What they share is in `common`.
"""

from typing import Annotated

import typer

from honkdata import __version__
from honkdata.cli import (
    annotate,
    anonymize,
    build,
    evaluate,
    label,
    models,
    predict,
    retrain,
    snapshots,
    synth,
    train,
)

COMMANDS = (build, snapshots, train, predict, evaluate, models, retrain, annotate, label, anonymize, synth)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help panels show every flag as taking a <bool> value, and wrap at 80
    # columns in a pipe.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for module in COMMANDS:
    app.add_typer(module.app)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"honkdata {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """Curate music-query logs into clean, anonymized, labeled, deduplicated, versioned Parquet
    snapshots, and train and score query-understanding models on them."""
