"""`honkdata synth`: a synthetic raw query log."""

from pathlib import Path
from typing import Annotated

import typer

from honkdata.cli.common import JsonOption, err, friendly_errors, out, print_json

app = typer.Typer()


@app.command()
@friendly_errors
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="number of raw events")],
    out_path: Annotated[Path, typer.Option("--out", help="output .jsonl, .jsonl.gz, .csv or .parquet")],
    seed: Annotated[int, typer.Option("--seed", help="random seed; same seed, same file")] = 0,
    json: JsonOption = False,
) -> None:
    """Write a realistic synthetic raw query log (for demos, tests and benchmarks)."""
    from dataclasses import asdict

    from honkdata.synth import generate

    with err.status(f"generating {n:,} events"):
        stats = generate(n, out_path, seed=seed)
    if json:
        print_json({"path": str(out_path), **asdict(stats)})
        return
    out.print(
        f"{stats.rows:,} events, {stats.distinct_queries:,} distinct queries, "
        f"{stats.distinct_users:,} users -> {out_path}",
        highlight=False,
    )
