"""`honkdata models list | show | promote | rollback | history`: the model registry by hand.

They read the same retrain config as `honkdata retrain` (its `registry`, `gate` and `delivery`
sections), so a manual promotion or rollback goes through the same registry and deploy location as
the nightly job, and is recorded in the same history (by "manual").
"""

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from honkdata.cli.common import JsonOption, RootOption, err, friendly_errors, out, print_json
from honkdata.errors import HonkdataError

if TYPE_CHECKING:
    from honkdata.registry import ModelVersion, Promotion, Registry
    from honkdata.retrain.config import RetrainConfig

app = typer.Typer(
    name="models",
    help="List, inspect, promote and roll back registered models.",
    no_args_is_help=True,
)

REF = "name@vN, name@latest, name@champion or name@challenger"
SettingsOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="retrain config YAML: its registry, gate and delivery sections [default: the shipped "
        "retrain.yaml: the local registry, its gate, no delivery]",
    ),
]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="why, in a few words: kept in the history and sent with the summary")
]


def _open(root: Path | None, config: Path | None) -> tuple["RetrainConfig", "Registry"]:
    from honkdata.registry import open_registry
    from honkdata.retrain.config import load_retrain_config

    settings = load_retrain_config(config)
    return settings, open_registry(root, settings.registry)


def _known(registry: "Registry", name: str) -> list["ModelVersion"]:
    versions = registry.versions(name)
    if not versions:
        raise HonkdataError(f"no registered model named {name!r} in {registry.root}")
    return versions


def _metric(version: "ModelVersion", metric: str) -> str:
    value = version.metrics.get(metric)
    return f"{value:.4f}" if isinstance(value, int | float) else ""


@app.command("list")
@friendly_errors
def models_list(
    name: Annotated[str | None, typer.Option("--name", help="only this model's versions")] = None,
    root: RootOption = None,
    config: SettingsOption = None,
    json: JsonOption = False,
) -> None:
    """List the registered model versions, with their aliases and gated golden-set metrics."""
    settings, registry = _open(root, config)
    versions = _known(registry, name) if name else [v for n in registry.names() for v in registry.versions(n)]
    if json:
        print_json([v.to_dict() for v in versions])
        return
    if not versions:
        err.print(f"no registered models in {registry.root}", highlight=False, soft_wrap=True)
        return
    gated = list(settings.gate.metrics)
    table = Table(
        Column("model", no_wrap=True),
        "aliases",
        Column("registered", no_wrap=True),
        "recipe",
        Column("snapshot", no_wrap=True),
        *gated,
    )
    for v in versions:
        snapshot = str(v.lineage.get("snapshot", ""))
        table.add_row(
            v.ref, ", ".join(v.aliases), v.created, v.recipe, snapshot, *(_metric(v, m) for m in gated)
        )
    out.print(table)


@app.command("show")
@friendly_errors
def models_show(
    ref: Annotated[str, typer.Argument(help=REF)],
    root: RootOption = None,
    config: SettingsOption = None,
    json: JsonOption = False,
) -> None:
    """Show a model version: its lineage, golden-set metrics, aliases and model card."""
    _, registry = _open(root, config)
    version = registry.resolve(ref)
    card = version.path / "README.md"
    if json:
        print_json({**version.to_dict(), "card": str(card)})
        return
    aliases = f"  ({', '.join(version.aliases)})" if version.aliases else ""
    out.print(f"[bold]{version.ref}[/bold]{aliases}", highlight=False)
    _plain(f"model folder: {version.path}")
    _plain(f"recipe {version.recipe}, registered {version.created}")
    for key, value in version.lineage.items():
        _plain(f"  {key}: {value}")
    _plain("golden-set metrics: " + ", ".join(f"{k} {v}" for k, v in version.metrics.items()))
    _plain(f"model card: {card}")


@app.command("promote")
@friendly_errors
def models_promote(
    ref: Annotated[str, typer.Argument(help=REF)],
    reason: ReasonOption,
    root: RootOption = None,
    config: SettingsOption = None,
    json: JsonOption = False,
) -> None:
    """Make a version the champion by hand (the gate is shown, not enforced) and deliver it when the
    config has a deploy location or a webhook."""
    from honkdata.registry import decide, export_release

    settings, registry = _open(root, config)
    version = registry.resolve(ref)
    champion = registry.alias(version.name, "champion")
    if champion is not None and champion.version == version.version:
        raise HonkdataError(f"{version.ref} is already the champion")
    gated = settings.gate.metrics
    # The gate's word on a manual promotion is evidence for the history, not a veto.
    decision = (
        decide(version.metrics, champion.metrics if champion else None, settings.gate)
        if all(m in version.metrics for m in gated)
        else None
    )
    if decision is not None and not decision.promote:
        err.print(
            f"[yellow]warning:[/yellow] the gate would refuse {version.ref}: {escape(decision.reason)}; "
            "promoting it by hand",
            highlight=False,
            soft_wrap=True,
        )
    summary = _summary("promoted", version, champion, reason, decision.to_dict() if decision else None)
    if settings.delivery.location:  # before the promotion: a failed export leaves the champion as it was
        export_release(version, settings.delivery, summary)
    # The same evidence as `honkdata retrain` records: the gate's decision (here, not its veto).
    promotion = registry.promote(
        version.name, version.version, reason=reason, evidence=summary["gate"] or {}, by="manual"
    )
    _finish(version, promotion, summary, settings, json)


@app.command("rollback")
@friendly_errors
def models_rollback(
    name: Annotated[str, typer.Argument(help="the registered model's name")],
    reason: ReasonOption,
    root: RootOption = None,
    config: SettingsOption = None,
    json: JsonOption = False,
) -> None:
    """Make the champion before the current one champion again, and point the deploy location's
    `current` back at it."""
    settings, registry = _open(root, config)
    _known(registry, name)
    promotion = registry.rollback(name, reason=reason, by="manual")
    version = registry.resolve(promotion.ref)
    previous = registry.resolve(f"{name}@v{promotion.previous}")
    _finish(version, promotion, _summary("rolled_back", version, previous, reason, None), settings, json)


def _summary(
    status: str, version: "ModelVersion", previous: "ModelVersion | None", reason: str, gate: dict | None
) -> dict:
    """What the webhook gets, the release keeps (summary.json) and `--json` prints."""
    return {
        "status": status,
        "model": version.ref,
        "previous": previous.ref if previous else None,
        "reason": reason,
        "by": "manual",
        "metrics": version.metrics,
        "lineage": version.lineage,
        "gate": gate,
    }


def _finish(
    version: "ModelVersion", promotion: "Promotion", summary: dict, settings: "RetrainConfig", json: bool
) -> None:
    from honkdata.registry import deliver

    done = "promoted to champion" if promotion.kind == "promote" else "champion again (rolled back)"
    try:
        delivery = deliver(version, settings.delivery, summary)
    except HonkdataError as e:
        raise HonkdataError(f"{version.ref} is {done} in the registry, but delivery failed: {e}") from None
    if delivery and delivery["webhook_error"]:
        err.print(
            f"[yellow]warning:[/yellow] webhook {escape(str(settings.delivery.webhook))} failed: "
            f"{escape(delivery['webhook_error'])}; the registry change stands",
            highlight=False,
            soft_wrap=True,
        )
    if json:
        print_json({**summary, "promotion": promotion.to_dict(), "delivery": delivery})
        return
    was = f" (was {summary['previous']})" if summary["previous"] else ""
    _plain(f"{version.ref} {done}{was}")
    if delivery and delivery["release"]:
        _plain(f"delivered: {delivery['location']}/current -> {delivery['release']}")


@app.command("history")
@friendly_errors
def models_history(
    name: Annotated[str, typer.Argument(help="the registered model's name")],
    at: Annotated[
        str | None,
        typer.Option(
            "--at", help="the champion at this time (ISO 8601; a date alone means the end of that day, UTC)"
        ),
    ] = None,
    root: RootOption = None,
    config: SettingsOption = None,
    json: JsonOption = False,
) -> None:
    """Every champion change of a model, oldest first; with --at, which version was champion then."""
    _, registry = _open(root, config)
    _known(registry, name)
    if at is not None:
        when = _when(at)
        champion = registry.champion_at(name, when)
        if json:
            print_json({"name": name, "at": when.isoformat(), "champion": champion and champion.to_dict()})
        elif champion is None:
            _plain(f"{name} had no champion at {when.isoformat()}")
        else:
            _plain(f"{champion.ref} was the champion at {when.isoformat()}")
        return
    history = registry.history(name)
    if json:
        print_json([p.to_dict() for p in history])
        return
    if not history:
        err.print(f"{name} has never had a champion", highlight=False)
        return
    table = Table(
        Column("at", no_wrap=True), "change", Column("champion", no_wrap=True), "was", "by", "reason"
    )
    for p in history:
        was = f"v{p.previous}" if p.previous is not None else ""
        table.add_row(p.at, p.kind, p.ref, was, escape(p.by), escape(p.reason))
    out.print(table)


def _when(text: str) -> datetime:
    """--at: a date (the end of that day, UTC: who was champion on that day, by its end) or a time."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(23, 59, 59), UTC)
        when = datetime.fromisoformat(text)
    except ValueError:
        raise HonkdataError(f"--at {text!r}: expected a date (2026-11-20) or an ISO 8601 time") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _plain(line: str) -> None:
    """A line of paths, refs and reasons: printed as it is, never read as rich markup."""
    out.print(line, markup=False, highlight=False, soft_wrap=True)
