"""`honkdata label analyze | quality`."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from honkdata.cli.common import (
    ConfigOption,
    JsonOption,
    RootOption,
    err,
    friendly_errors,
    load_config,
    open_store,
    out,
    print_json,
)

if TYPE_CHECKING:
    from honkdata.label.weak import WeakLabeler

app = typer.Typer(
    name="label", help="Inspect the labeling functions and the quality of the labels.", no_args_is_help=True
)


def labeler(config: Path | None) -> "WeakLabeler":
    """The labeling functions and label model of the config at `config` (the shipped one by default)."""
    from honkdata.label.stage import weak_labeler

    return weak_labeler(load_config(config))


@app.command("analyze")
@friendly_errors
def label_analyze(
    snapshot: Annotated[
        str, typer.Option("--snapshot", help="name@vN, name@latest or name@TAG")
    ] = "music-queries@latest",
    config: ConfigOption = None,
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Coverage, overlaps, conflicts and accuracy against gold of every labeling function."""
    from honkdata.label.review import analyze_snapshot

    store = open_store(root)
    rows = analyze_snapshot(store, store.resolve(snapshot), labeler(config))
    if json:
        print_json(rows)
        return
    table = Table(
        "function", "intent", "coverage", "overlaps", "conflicts", "correct", "incorrect", "accuracy"
    )
    for r in rows:
        accuracy = "-" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        table.add_row(
            r["name"],
            r["intent"],
            f"{r['coverage']:.3f}",
            f"{r['overlaps']:.3f}",
            f"{r['conflicts']:.3f}",
            f"{r['correct']:,}",
            f"{r['incorrect']:,}",
            accuracy,
        )
    out.print(table)


@app.command("quality")
@friendly_errors
def label_quality(
    snapshot: Annotated[
        str, typer.Option("--snapshot", help="name@vN, name@latest or name@TAG")
    ] = "music-queries@latest",
    folds: Annotated[int, typer.Option("--folds", min=2, help="cross-validation folds")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="seed of the fold assignment")] = 0,
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Find likely label errors: score every labeled row with out-of-sample predictions (cleanlab),
    written beside the snapshot for `honkdata annotate export --strategy label-issues`."""
    from honkdata.label.quality import score_label_quality

    store = open_store(root)
    ref = store.resolve(snapshot)

    def show(fold: int, total: int) -> None:
        err.print(f"fold {fold}/{total} predicted", highlight=False)

    summary = score_label_quality(store, ref, folds, seed, on_fold=show)
    if json:
        print_json(summary)
        return
    out.print(
        f"{summary['scored']:,} labeled rows of {ref} scored ({folds} folds, {summary['seconds']:.1f} s): "
        f"{summary['intent_issues']:,} likely intent errors, {summary['tag_issues']:,} likely tag errors "
        f"-> {summary['path']}",
        highlight=False,
    )
