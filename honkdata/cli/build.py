"""`honkdata build`."""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from honkdata.cli.common import (
    ConfigOption,
    JsonOption,
    RootOption,
    err,
    friendly_errors,
    load_config,
    out,
    print_json,
)

app = typer.Typer()


@app.command()
@friendly_errors
def build(
    config: ConfigOption = None,
    source: Annotated[
        list[str] | None,
        typer.Option(
            "--source",
            "-s",
            metavar="PATH",
            help="input file, folder or glob, relative to the current folder (repeatable)",
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="format of the --source inputs")] = "auto",
    name: Annotated[str | None, typer.Option("--name", help="dataset name")] = None,
    root: RootOption = None,
    k_anon: Annotated[
        int | None, typer.Option("--k-anon", min=1, help="override anonymize.k_anonymity (1 turns it off)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="build even if the latest version has the same inputs and config")
    ] = False,
    label_model: Annotated[
        Path | None,
        typer.Option("--label-model", help="a model folder that labels rows without human or gold labels"),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress on stderr")] = False,
    json: JsonOption = False,
) -> None:
    """Build the next snapshot of a dataset from raw query logs and public labeled sets.

    Writes nothing when the latest version was built from the same inputs (by content) and config:
    it says "up to date" and exits 0.
    """
    from honkdata.build import build as run_build
    from honkdata.cli.progress import BuildProgress

    sources = [{"path": s, "format": fmt} for s in source] if source else None
    cfg = load_config(config, sources=sources, name=name, root=str(root) if root else None)
    if k_anon is not None:
        cfg.anonymize.k_anonymity = k_anon
    if label_model is not None:
        cfg.labels.model = str(label_model)
    with BuildProgress(err, quiet) as progress:
        result = run_build(cfg, progress.on_progress, progress.on_stage, force=force)
    status = "up_to_date" if result.up_to_date else "built"
    if json:
        print_json(
            {"status": status, "ref": str(result.ref), "path": str(result.path), "manifest": result.manifest}
        )
    elif result.up_to_date:
        out.print(f"up to date: [bold]{result.ref}[/bold] {escape(str(result.path))}", highlight=False)
    else:
        _summary(result.manifest)
        out.print(f"[bold]{result.ref}[/bold] {escape(str(result.path))}", highlight=False)


def _summary(m: dict) -> None:
    splits = ", ".join(f"{s} {v['rows']:,}" for s, v in m["splits"].items())
    read = sum(i["rows_read"] for i in m["inputs"])
    out.print(
        f"{read:,} events read, {m['quarantine']['rows']:,} quarantined -> {m['rows']:,} rows ({splits})"
    )
