"""`honkdata build`."""

from enum import StrEnum
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


class EngineName(StrEnum):
    local = "local"
    ray = "ray"


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
    engine: Annotated[
        EngineName,
        typer.Option(
            "--engine", help="where the build runs: this machine, or Ray (pip install 'honkdata[ray]')"
        ),
    ] = EngineName.local,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            metavar="ADDR",
            help="the Ray cluster for --engine ray (host:port or ray://host:port) "
            "[default: $RAY_ADDRESS, else a Ray instance started here]",
        ),
    ] = None,
    ray_partitions: Annotated[
        int | None,
        typer.Option(
            "--ray-partitions",
            metavar="N",
            min=1,
            help="partitions of the grouping for --engine ray, each a task on a worker "
            "[default: one per CPU of the cluster]",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="processes for --engine local's batch stages [default: one per core for inputs of 64 MiB "
            "or more, else 1]",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="continue a killed build of the same inputs and config after its last finished step",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress on stderr")] = False,
    json: JsonOption = False,
) -> None:
    """Build the next snapshot of a dataset from raw query logs and public labeled sets.

    Writes nothing when the latest version was built from the same inputs (by content) and config:
    it says "up to date" and exits 0.
    """
    from honkdata.build import build as run_build
    from honkdata.cli.progress import BuildProgress
    from honkdata.engine.local import local_engine

    for value, hint in ((ray_address, "--ray-address"), (ray_partitions, "--ray-partitions")):
        if value is not None and engine is not EngineName.ray:
            raise typer.BadParameter("needs --engine ray", param_hint=hint)
    if workers is not None and engine is not EngineName.local:
        raise typer.BadParameter("is for --engine local (Ray places its own tasks)", param_hint="--workers")
    sources = [{"path": s, "format": fmt} for s in source] if source else None
    cfg = load_config(config, sources=sources, name=name, root=str(root) if root else None)
    if k_anon is not None:
        cfg.anonymize.k_anonymity = k_anon
    if label_model is not None:
        cfg.labels.model = str(label_model)
    if engine is EngineName.ray:
        from honkdata.engine.ray import ray_engine

        run_on = ray_engine(ray_address, partitions=ray_partitions)
    else:
        run_on = local_engine(workers)
    with BuildProgress(err, quiet) as progress:
        result = run_build(
            cfg, progress.on_progress, progress.on_stage, force=force, engine=run_on, resume=resume
        )
    status = "up_to_date" if result.up_to_date else "built"
    if json:
        print_json(
            {
                "status": status,
                "ref": str(result.ref),
                "path": str(result.path),
                "resumed_after": result.resumed_after,
                "manifest": result.manifest,
            }
        )
    elif result.up_to_date:
        out.print(f"up to date: [bold]{result.ref}[/bold] {escape(str(result.path))}", highlight=False)
    else:
        if result.resumed_after:
            err.print(
                f"resumed after {result.resumed_after}, from a killed build's checkpoint", highlight=False
            )
        _summary(result.manifest)
        out.print(f"[bold]{result.ref}[/bold] {escape(str(result.path))}", highlight=False)


def _summary(m: dict) -> None:
    splits = ", ".join(f"{s} {v['rows']:,}" for s, v in m["splits"].items())
    read = sum(i["rows_read"] for i in m["inputs"])
    out.print(
        f"{read:,} events read, {m['quarantine']['rows']:,} quarantined -> {m['rows']:,} rows ({splits})"
    )
