"""`honkdata annotate export | import`: rows to people (Label Studio, CSV) and their labels back."""

from pathlib import Path
from typing import Annotated

import typer

from honkdata.cli.common import (
    ConfigOption,
    JsonOption,
    RootOption,
    friendly_errors,
    load_config,
    open_store,
    out,
    print_json,
)
from honkdata.cli.label import labeler
from honkdata.errors import HonkdataError

app = typer.Typer(
    name="annotate", help="Send doubtful rows to people and take their labels back.", no_args_is_help=True
)


@app.command("export")
@friendly_errors
def annotate_export(
    snapshot: Annotated[str, typer.Option("--snapshot", help="name@vN, name@latest or name@TAG")],
    out_path: Annotated[Path, typer.Option("--out", help="task file to write (.json or .csv)")],
    n: Annotated[int, typer.Option("--n", min=1, help="how many rows")] = 100,
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            help="uncertainty | disagreement | random | label-issues (the likeliest label errors; "
            "needs `honkdata label quality` first)",
        ),
    ] = "uncertainty",
    fmt: Annotated[str, typer.Option("--format", help="label-studio | csv")] = "label-studio",
    model: Annotated[
        Path | None, typer.Option("--model", help="rank by this model's confidence (uncertainty strategy)")
    ] = None,
    config: ConfigOption = None,
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Write the rows the labels are least sure of, or most likely wrong, as a Label Studio (or CSV)
    task file."""
    from honkdata.label.review import export_for_review
    from honkdata.taxonomy import load_taxonomy

    if strategy not in ("uncertainty", "disagreement", "random", "label-issues"):
        raise HonkdataError(
            f"--strategy must be uncertainty, disagreement, random or label-issues, not {strategy!r}"
        )
    if fmt not in ("label-studio", "csv"):
        raise HonkdataError(f"--format must be label-studio or csv, not {fmt!r}")
    store = open_store(root)
    ref = store.resolve(snapshot)
    predictor = None
    if model is not None:
        from honkdata.train.model import load_model

        predictor = load_model(model)
    rows = export_for_review(
        store, ref, labeler(config), load_taxonomy(), out_path, n, strategy, fmt, predictor
    )
    if json:
        print_json({"path": str(out_path), "rows": rows.num_rows, "snapshot": str(ref)})
        return
    out.print(f"{rows.num_rows:,} tasks from {ref} ({strategy}) -> {out_path}", highlight=False)
    if fmt == "label-studio":
        out.print(
            f"labeling config for the Label Studio project: {out_path.with_suffix('.xml')}", highlight=False
        )


@app.command("import")
@friendly_errors
def annotate_import(
    path: Annotated[Path, typer.Argument(help="Label Studio JSON export, or the CSV task file filled in")],
    name: Annotated[
        str, typer.Option("--name", help="dataset whose next build applies the labels")
    ] = "music-queries",
    config: ConfigOption = None,
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Store people's labels; the next `honkdata build` applies them (label_source = human)."""
    from honkdata.annotate.store import HumanLabelStore
    from honkdata.label.review import import_reviews
    from honkdata.taxonomy import load_taxonomy

    cfg = load_config(config, name=name, root=str(root) if root else None)
    report = import_reviews(path, HumanLabelStore(cfg.human_store_path()), load_taxonomy())
    if json:
        print_json(report)
        return
    kappa = ", ".join(
        f"{k} {report[k]:.3f}" for k in ("cohen_kappa", "fleiss_kappa") if report.get(k) is not None
    )
    out.print(
        f"{report['items']:,} items from {report['annotators']:,} annotators stored in {report['stored']}"
        + (f"; agreement: {kappa}" if kappa else ""),
        highlight=False,
    )
