"""`honkdata anonymize`: the anonymize stage alone, for inspection."""

from typing import Annotated

import typer

from honkdata.cli.common import ConfigOption, JsonOption, err, friendly_errors, load_config, out, print_json

app = typer.Typer()


@app.command()
@friendly_errors
def anonymize(
    in_path: Annotated[
        str, typer.Option("--in", help="raw log: file, folder, glob or URL (s3://...), as for build")
    ],
    out_path: Annotated[
        str, typer.Option("--out", help="output .jsonl, .csv or .parquet: a file, or a URL (s3://...)")
    ],
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", help="format of --in")] = "auto",
    json: JsonOption = False,
) -> None:
    """Run the anonymize stage alone over raw logs: pseudonyms, scrubbed text, days not times."""
    from dataclasses import asdict

    from honkdata.anonymize.run import anonymize_file

    with err.status(f"anonymizing {in_path}"):
        report = anonymize_file(load_config(config), in_path, out_path, fmt)
    if json:
        print_json({"path": out_path, **asdict(report)})
        return
    found = ", ".join(f"{t} {n:,}" for t, n in report.pii_found.items()) or "none"
    out.print(f"{report.rows_in:,} events -> {report.rows_out:,} written to {out_path}", highlight=False)
    if report.quarantine:
        out.print(f"{report.rows_rejected:,} rows quarantined in {report.quarantine}", highlight=False)
    out.print(f"PII found: {found}; pseudonym key {report.key_fingerprint}", highlight=False)
