"""`honkdata train`: one recipe on one snapshot, into a model folder."""

from pathlib import Path
from typing import Annotated

import typer

from honkdata.cli.common import (
    JsonOption,
    RootOption,
    ThreadsOption,
    err,
    friendly_errors,
    out,
    print_json,
    use_threads,
)

app = typer.Typer()


def _recipe_name(recipe: str | None, config: Path | None) -> str:
    """--recipe, else the config file's `recipe`, else the baseline."""
    if recipe is not None:
        return recipe
    if config is not None and config.is_file():
        from honkdata.config import _read_yaml

        return str(_read_yaml(config).get("recipe", "baseline"))
    return "baseline"


@app.command(context_settings={"allow_extra_args": False})
@friendly_errors
def train(
    overrides: Annotated[
        list[str] | None, typer.Argument(help="config overrides, key=value (epochs=3, data.labels=source)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="recipe YAML [default: the shipped one of --recipe]")
    ] = None,
    recipe: Annotated[str | None, typer.Option("--recipe", help="baseline, encoder or llm")] = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="REF: name@vN, name@latest, name@TAG")
    ] = None,
    labels: Annotated[
        str | None,
        typer.Option("--labels", help="taxonomy (the music taxonomy) or source (the source's own labels)"),
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="model folder [default: models/<snapshot name>-<recipe>]")
    ] = None,
    root: RootOption = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="continue from the last checkpoint of this --out")
    ] = False,
    track: Annotated[
        bool, typer.Option("--track", help="log to MLflow (pip install 'honkdata[mlflow]')")
    ] = False,
    threads: ThreadsOption = None,
    json: JsonOption = False,
) -> None:
    """Train a query-understanding model (intent + entities) on a snapshot and score it."""
    use_threads(threads)
    from honkdata.recipes import get_recipe
    from honkdata.resources import shipped_config
    from honkdata.train.config import load_recipe_config
    from honkdata.train.run import EpochLog
    from honkdata.train.run import train as run_training

    name = _recipe_name(recipe, config)
    module = get_recipe(name)
    settings = load_recipe_config(
        module.Config,
        config or shipped_config(f"train/{name}.yaml"),
        overrides or [],
        {"recipe": name, "data.snapshot": snapshot, "data.labels": labels, "data.root": root and str(root)},
    )
    if out_dir is None:
        suffix = "-source" if settings.data.labels == "source" else ""
        out_dir = Path("models") / f"{settings.data.snapshot.partition('@')[0]}-{name}{suffix}"

    def show(entry: EpochLog) -> None:
        figures = ", ".join(f"{k} {v:.4f}" for k, v in entry.metrics.items())
        err.print(f"epoch {entry.epoch}: {figures}", highlight=False, soft_wrap=True)

    result = run_training(settings, out_dir, resume=resume, track=track, on_epoch=show)
    if json:
        print_json({"model": str(out_dir), **result})
        return
    for split in ("validation", "test"):
        if m := result.get(split):
            out.print(
                f"{split}: intent accuracy {m['intent_accuracy']:.2%}, entity F1 {m['entity_f1']:.2%}, "
                f"frame accuracy {m['frame_accuracy']:.2%} (n={m['n']:,})",
                highlight=False,
            )
    out.print(f"model written to {out_dir}", highlight=False)
