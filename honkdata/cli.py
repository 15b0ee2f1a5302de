"""The `honkdata` command: a thin layer over the Python API (honkdata.build, honkdata.snapshot, ...)."""

import functools
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from honkdata.errors import HonkdataError, HonkdataWarning

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
snapshots_app = typer.Typer(help="List, inspect and compare snapshots.", no_args_is_help=True)
app.add_typer(snapshots_app, name="snapshots")
label_app = typer.Typer(help="Inspect the labeling functions.", no_args_is_help=True)
app.add_typer(label_app, name="label")
annotate_app = typer.Typer(
    help="Send doubtful rows to people and take their labels back.", no_args_is_help=True
)
app.add_typer(annotate_app, name="annotate")

DEFAULT_CONFIG = Path("configs/build.yaml")  # used when run from a checkout without --config
out = Console()
err = Console(stderr=True)

RootOption = Annotated[
    Path | None, typer.Option("--root", help="snapshot store [default: $HONKDATA_ROOT or data/snapshots]")
]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="config YAML [default: configs/build.yaml if present]")
]


_signals: list[int] = []
_STOPPED = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def _stop(signum: int, frame: object) -> None:
    """Ctrl-C and SIGTERM (a scheduler stopping a job) unwind the same way: staging folders and temp
    files go. The signal is remembered because what unwinds is not always KeyboardInterrupt (DuckDB
    turns it into "Query interrupted")."""
    _signals.append(signum)
    raise KeyboardInterrupt


_python_showwarning = warnings.showwarning


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    if issubclass(category, HonkdataWarning):
        err.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)
    else:
        _python_showwarning(message, category, *args, **kwargs)


def friendly_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input ends in one line on stderr and exit code 2, never a traceback; a warning is one line."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _signals.clear()
        if threading.current_thread() is threading.main_thread():  # only there can handlers be set
            for signum in _STOPPED:
                signal.signal(signum, _stop)
        warnings.showwarning = _show_warning
        try:
            return command(*args, **kwargs)
        except BaseException as e:
            if isinstance(e, typer.Exit) or not (_signals or isinstance(e, KeyboardInterrupt)):
                _report(e)
                raise
            signum = _signals[0] if _signals else signal.SIGINT
            err.print(f"{_STOPPED[signum]}; nothing was published")
            raise typer.Exit(128 + signum) from None

    return wrapper


def _report(error: BaseException) -> None:
    """One line for the errors a user can act on; anything else is a bug and keeps its traceback."""
    if isinstance(error, HonkdataError):
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
    elif isinstance(error, OSError):
        err.print(
            f"[red]error:[/red] {error.strerror or error}: {error.filename or ''}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        return
    raise typer.Exit(2) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def _load_config(path: Path | None, **overrides: Any):
    from honkdata.config import load_config

    return load_config(path or (DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None), **overrides)


def _store(root: Path | None):
    from honkdata.config import default_root
    from honkdata.snapshot.store import SnapshotStore

    return SnapshotStore(root or default_root())


@app.command()
@friendly_errors
def build(
    config: ConfigOption = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="input file, folder or glob (repeatable)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="format of the --source inputs")] = "auto",
    name: Annotated[str | None, typer.Option("--name", help="dataset name")] = None,
    root: RootOption = None,
    k_anon: Annotated[
        int | None, typer.Option("--k-anon", min=1, help="override anonymize.k_anonymity (1 turns it off)")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Build the next snapshot of a dataset from raw query logs and public labeled sets."""
    from honkdata.build import build as run_build

    sources = [{"path": s, "format": fmt} for s in source] if source else None
    cfg = _load_config(config, sources=sources, name=name, root=str(root) if root else None)
    if k_anon is not None:
        cfg.anonymize.k_anonymity = k_anon
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=json or not err.is_terminal) as progress:
        task = progress.add_task("reading", total=None)
        rows = 0

        def on_progress(source_name: str, n: int) -> None:
            nonlocal rows
            rows += n
            progress.update(task, description=f"reading {source_name}: {rows:,} rows")

        result = run_build(cfg, on_progress=on_progress)
    m = result.manifest
    if json:
        _print_json({"ref": str(result.ref), "path": str(result.path), "manifest": m})
        return
    splits = ", ".join(f"{s} {v['rows']:,}" for s, v in m["splits"].items())
    read = sum(i["rows_read"] for i in m["inputs"])
    out.print(
        f"{read:,} events read, {m['quarantine']['rows']:,} quarantined -> {m['rows']:,} rows ({splits})"
    )
    out.print(f"[bold]{result.ref}[/bold] {result.path}", highlight=False)


@snapshots_app.command("list")
@friendly_errors
def snapshots_list(root: RootOption = None, json: JsonOption = False) -> None:
    """List every snapshot in the store."""
    from rich.markup import escape
    from rich.table import Column

    store = _store(root)
    rows = store.summaries()
    if json:
        _print_json(rows)
        return
    if not rows:
        err.print(f"no snapshots under {store.root}")
        return
    # Dates and refs stay whole; a broken snapshot's reason wraps in the last column.
    table = Table(Column("snapshot", no_wrap=True), Column("created", no_wrap=True), "rows", "content hash")
    for r in rows:
        if r["broken"]:
            table.add_row(r["ref"], "[red]broken[/red]", "", escape(r["broken"]))
        else:
            table.add_row(r["ref"], r["created_at"], f"{r['rows']:,}", r["content_hash"][:12])
    out.print(table)


@snapshots_app.command("show")
@friendly_errors
def snapshots_show(
    ref: Annotated[str, typer.Argument(help="name@vN or name@latest")],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Show a snapshot's manifest: splits, labels, inputs and every stage's counters."""
    store = _store(root)
    snapshot = store.resolve(ref)
    m = store.manifest(snapshot)
    if json:
        _print_json(m)
        return
    parent = f"v{m['parent_version']}" if m["parent_version"] else "none"
    out.print(f"[bold]{snapshot}[/bold]  {store.path(snapshot)}", highlight=False)
    out.print(f"created {m['created_at']} by honkdata {m['honkdata_version']}; parent {parent}")
    out.print(f"content hash {m['content_hash']}; config hash {m['config_hash'][:12]}")
    anonymize = m.get("anonymize", {})
    if anonymize.get("pseudonym_key_fingerprint"):
        out.print(
            f"pseudonym key: {anonymize['pseudonym_key_source']} (fingerprint "
            f"{anonymize['pseudonym_key_fingerprint']}); release: {anonymize['release']}",
            highlight=False,
        )
    for warning in m.get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    out.print("splits: " + ", ".join(f"{s} {v['rows']:,}" for s, v in m["splits"].items()))
    inputs = Table("input", "format", "kind", "read", "rejected", "repaired", title="inputs")
    for i in m["inputs"]:
        inputs.add_row(
            i["path"],
            i["format"],
            i["kind"],
            f"{i['rows_read']:,}",
            f"{i['rows_rejected']:,}",
            f"{i['rows_repaired']:,}",
        )
    out.print(inputs)
    stages = Table("stage", "in", "out", "dropped", "notes", "seconds", title="stages")
    for name, s in m["stages"].items():
        stages.add_row(
            name,
            f"{s['rows_in']:,}",
            f"{s['rows_out']:,}",
            "; ".join(f"{k}: {v:,}" for k, v in s["dropped"].items()),
            "; ".join(f"{k}: {v:,}" for k, v in s.get("notes", {}).items()),
            f"{s['seconds']:.2f}",
        )
    out.print(stages)
    clusters = m.get("largest_duplicate_clusters", [])
    merged = m["stages"].get("merge_duplicates", {})
    if clusters:
        n = merged.get("notes", {}).get("clusters of several queries", 0)
        out.print(f"near-duplicate clusters: {n:,}; the largest:")
        for c in clusters[:5]:
            shown = ", ".join(repr(v) for v in c["variants"][:6])
            out.print(f"  {c['text']!r} ({len(c['variants'])} variants: {shown})", highlight=False)
    labels, counts = Table("intent", *m["splits"], title="labels"), m["label_distribution"]
    for intent in counts.get("all", {}):
        labels.add_row(intent, *(f"{counts.get(s, {}).get(intent, 0):,}" for s in m["splits"]))
    out.print(labels)


@snapshots_app.command("diff")
@friendly_errors
def snapshots_diff(
    old: Annotated[str, typer.Argument(help="the earlier snapshot, name@vN")],
    new: Annotated[str, typer.Argument(help="the later snapshot, name@vN or name@latest")],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Rows added, removed and relabeled between two snapshots, and their label distributions."""
    from honkdata.snapshot.diff import diff_snapshots

    store = _store(root)
    d = diff_snapshots(store, store.resolve(old), store.resolve(new))
    if json:
        _print_json(d)
        return
    out.print(f"[bold]{d['old']} -> {d['new']}[/bold]", highlight=False)
    out.print(
        f"added {d['rows_added']:,}, removed {d['rows_removed']:,}, kept {d['rows_kept']:,}, "
        f"relabeled {d['rows_relabeled']:,}, moved split {d['rows_moved_split']:,}"
    )
    labels = Table("intent", "before", "after", "change", title="labels")
    for intent, c in d["labels"].items():
        labels.add_row(intent, f"{c['before']:,}", f"{c['after']:,}", f"{c['after'] - c['before']:+,}")
    out.print(labels)
    for ex in d["relabeled_examples"]:
        out.print(f"  relabeled: {ex['text']!r}: {ex['before']} -> {ex['after']}", highlight=False)


def _labeler(config: Path | None):
    from honkdata.label.stage import weak_labeler

    return weak_labeler(_load_config(config))


@label_app.command("analyze")
@friendly_errors
def label_analyze(
    snapshot: Annotated[
        str, typer.Option("--snapshot", help="name@vN or name@latest")
    ] = "music-queries@latest",
    config: ConfigOption = None,
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Coverage, overlaps, conflicts and accuracy against gold of every labeling function."""
    from honkdata.label.review import analyze_snapshot

    store = _store(root)
    rows = analyze_snapshot(store, store.resolve(snapshot), _labeler(config))
    if json:
        _print_json(rows)
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


@annotate_app.command("export")
@friendly_errors
def annotate_export(
    snapshot: Annotated[str, typer.Option("--snapshot", help="name@vN or name@latest")],
    out_path: Annotated[Path, typer.Option("--out", help="task file to write (.json or .csv)")],
    n: Annotated[int, typer.Option("--n", min=1, help="how many rows")] = 100,
    strategy: Annotated[
        str, typer.Option("--strategy", help="uncertainty | disagreement | random")
    ] = "uncertainty",
    fmt: Annotated[str, typer.Option("--format", help="label-studio | csv")] = "label-studio",
    config: ConfigOption = None,
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Write the rows the labels are least sure of as a Label Studio (or CSV) task file."""
    from honkdata.label.review import export_for_review
    from honkdata.taxonomy import load_taxonomy

    if strategy not in ("uncertainty", "disagreement", "random"):
        raise HonkdataError(f"--strategy must be uncertainty, disagreement or random, not {strategy!r}")
    if fmt not in ("label-studio", "csv"):
        raise HonkdataError(f"--format must be label-studio or csv, not {fmt!r}")
    store = _store(root)
    ref = store.resolve(snapshot)
    rows = export_for_review(store, ref, _labeler(config), load_taxonomy(), out_path, n, strategy, fmt)
    if json:
        _print_json({"path": str(out_path), "rows": rows.num_rows, "snapshot": str(ref)})
        return
    out.print(f"{rows.num_rows:,} tasks from {ref} ({strategy}) -> {out_path}", highlight=False)
    if fmt == "label-studio":
        out.print(
            f"labeling config for the Label Studio project: {out_path.with_suffix('.xml')}", highlight=False
        )


@annotate_app.command("import")
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

    cfg = _load_config(config, name=name, root=str(root) if root else None)
    report = import_reviews(path, HumanLabelStore(cfg.human_store_path()), load_taxonomy())
    if json:
        _print_json(report)
        return
    kappa = ", ".join(
        f"{k} {report[k]:.3f}" for k in ("cohen_kappa", "fleiss_kappa") if report.get(k) is not None
    )
    out.print(
        f"{report['items']:,} items from {report['annotators']:,} annotators stored in {report['stored']}"
        + (f"; agreement: {kappa}" if kappa else ""),
        highlight=False,
    )


@app.command()
@friendly_errors
def anonymize(
    in_path: Annotated[Path, typer.Option("--in", help="raw log: file, folder or glob (formats as build)")],
    out_path: Annotated[Path, typer.Option("--out", help="output .jsonl, .csv or .parquet")],
    config: ConfigOption = None,
    fmt: Annotated[str, typer.Option("--format", help="format of --in")] = "auto",
    json: JsonOption = False,
) -> None:
    """Run the anonymize stage alone over raw logs: pseudonyms, scrubbed text, days not times."""
    from dataclasses import asdict

    from honkdata.anonymize.run import anonymize_file

    with err.status(f"anonymizing {in_path}"):
        report = anonymize_file(_load_config(config), in_path, out_path, fmt)
    if json:
        _print_json({"path": str(out_path), **asdict(report)})
        return
    found = ", ".join(f"{t} {n:,}" for t, n in report.pii_found.items()) or "none"
    out.print(f"{report.rows_in:,} events -> {report.rows_out:,} written to {out_path}", highlight=False)
    if report.quarantine:
        out.print(f"{report.rows_rejected:,} rows quarantined in {report.quarantine}", highlight=False)
    out.print(f"PII found: {found}; pseudonym key {report.key_fingerprint}", highlight=False)


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
        _print_json({"path": str(out_path), **asdict(stats)})
        return
    out.print(
        f"{stats.rows:,} events, {stats.distinct_queries:,} distinct queries, "
        f"{stats.distinct_users:,} users -> {out_path}",
        highlight=False,
    )


if __name__ == "__main__":
    app()
