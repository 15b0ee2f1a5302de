"""`honkdata snapshots list | show | diff | tag | push | pull`."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from honkdata.cli.common import JsonOption, RootOption, err, friendly_errors, open_store, out, print_json

if TYPE_CHECKING:
    from honkdata.snapshot.mirror import Transfer
    from honkdata.snapshot.store import SnapshotRef, SnapshotStore

app = typer.Typer(
    name="snapshots",
    help="List, inspect, compare and tag snapshots; push them to object storage and pull them back.",
    no_args_is_help=True,
)

REF = "name@vN, name@latest or name@TAG"


@app.command("list")
@friendly_errors
def snapshots_list(root: RootOption = None, json: JsonOption = False) -> None:
    """List every snapshot in the store, with its tags."""
    store = open_store(root)
    rows = store.summaries()
    if json:
        print_json(rows)
        return
    if not rows:
        err.print(f"no snapshots under {store.root}", highlight=False, soft_wrap=True)
        return
    # Refs, dates and tags stay whole; a broken snapshot's reason wraps in the last column.
    table = Table(
        Column("snapshot", no_wrap=True),
        Column("created", no_wrap=True),
        "rows",
        Column("tags", no_wrap=True),
        "content hash",
    )
    for r in rows:
        tags = ", ".join(r["tags"])
        if r["broken"]:
            table.add_row(r["ref"], "[red]broken[/red]", "", tags, escape(r["broken"]))
        else:
            table.add_row(r["ref"], r["created_at"], f"{r['rows']:,}", tags, r["content_hash"][:12])
    out.print(table)


@app.command("show")
@friendly_errors
def snapshots_show(
    ref: Annotated[str, typer.Argument(help=REF)],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Show a snapshot's manifest: splits, labels, inputs and every stage's counters."""
    store = open_store(root)
    snapshot = store.resolve(ref)
    m = store.manifest(snapshot)
    if json:
        print_json(m)
        return
    _header(m, snapshot, store)
    out.print("splits: " + ", ".join(f"{s} {v['rows']:,}" for s, v in m["splits"].items()))
    out.print(_inputs_table(m))
    out.print(_stages_table(m))
    _clusters(m)
    labels, counts = Table("intent", *m["splits"], title="labels"), m["label_distribution"]
    for intent in counts.get("all", {}):
        labels.add_row(intent, *(f"{counts.get(s, {}).get(intent, 0):,}" for s in m["splits"]))
    out.print(labels)


def _header(m: dict, snapshot: "SnapshotRef", store: "SnapshotStore") -> None:
    tags = store.tags_of(snapshot)
    parent = f"v{m['parent_version']}" if m["parent_version"] else "none"
    out.print(f"[bold]{snapshot}[/bold]  {escape(str(store.path(snapshot)))}", highlight=False)
    if tags:
        out.print(f"tags: {', '.join(tags)}", highlight=False)
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


def _inputs_table(m: dict) -> Table:
    inputs = Table("input", "format", "kind", "read", "rejected", "repaired", title="inputs")
    for i in m["inputs"]:
        inputs.add_row(
            escape(i["path"]),
            i["format"],
            i["kind"],
            f"{i['rows_read']:,}",
            f"{i['rows_rejected']:,}",
            f"{i['rows_repaired']:,}",
        )
    return inputs


def _stages_table(m: dict) -> Table:
    stages = Table("stage", "in", "out", "dropped", "notes", "seconds", title="stages")
    for name, s in m["stages"].items():
        stages.add_row(
            name,
            f"{s['rows_in']:,}",
            f"{s['rows_out']:,}",
            "; ".join(f"{k}: {v:,}" for k, v in s["dropped"].items()),
            "; ".join(
                [f"{k}: {v:,}" for k, v in s.get("notes", {}).items()]
                + [
                    f"{k}: " + ", ".join(f"{value} {n:,}" for value, n in counts.items())
                    for k, counts in s.get("breakdowns", {}).items()
                ]
            ),
            f"{s['seconds']:.2f}",
        )
    return stages


def _clusters(m: dict) -> None:
    clusters = m.get("largest_duplicate_clusters", [])
    if not clusters:
        return
    from honkdata.dedup.stage import CLUSTERS_OF_SEVERAL  # duckdb and numpy load only when printed

    n = m["stages"].get("merge_duplicates", {}).get("notes", {}).get(CLUSTERS_OF_SEVERAL, 0)
    out.print(f"near-duplicate clusters: {n:,}; the largest:")
    for c in clusters[:5]:
        shown = ", ".join(repr(v) for v in c["variants"][:6])
        out.print(f"  {c['text']!r} ({len(c['variants'])} variants: {shown})", highlight=False)


@app.command("diff")
@friendly_errors
def snapshots_diff(
    old: Annotated[str, typer.Argument(help=f"the earlier snapshot, {REF}")],
    new: Annotated[str, typer.Argument(help=f"the later snapshot, {REF}")],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Rows added, removed and relabeled between two snapshots, label distributions and label
    sources, inputs added and removed, config keys changed, and the drift of the traffic (intent and
    entity-type divergence, new head queries, unseen entities, out-of-vocabulary tokens) with the
    warnings `honkdata retrain` would give at the default thresholds."""
    from honkdata.snapshot.diff import diff_snapshots
    from honkdata.snapshot.drift import DriftThresholds, drift_warnings

    store = open_store(root)
    d = diff_snapshots(store, store.resolve(old), store.resolve(new))
    d["drift_warnings"] = drift_warnings(d["drift"], DriftThresholds())
    if json:
        print_json(d)
        return
    out.print(f"[bold]{d['old']} -> {d['new']}[/bold]", highlight=False)
    out.print(
        f"added {d['rows_added']:,}, removed {d['rows_removed']:,}, kept {d['rows_kept']:,}, "
        f"relabeled {d['rows_relabeled']:,}, moved split {d['rows_moved_split']:,}"
    )
    for i in d["inputs_added"]:
        _plain(f"input added: {i['path']} ({_short(i['sha256'])}, {i['rows_read']:,} rows)")
    for i in d["inputs_removed"]:
        _plain(f"input removed: {i['path']} ({_short(i['sha256'])}, {i['rows_read']:,} rows)")
    for c in d["config_changes"]:
        _plain(f"config {c['key']}: {c['before']!r} -> {c['after']!r}")
    for c in d["label_source_changes"]:
        _plain(f"label source {c['before']} -> {c['after']}: {c['rows']:,} rows")
    labels = Table("intent", "before", "after", "change", title="labels")
    for intent, c in d["labels"].items():
        labels.add_row(intent, f"{c['before']:,}", f"{c['after']:,}", f"{c['after'] - c['before']:+,}")
    out.print(labels)
    for ex in d["relabeled_examples"]:
        before = f"{ex['before']} ({ex['label_source_before']})"
        after = f"{ex['after']} ({ex['label_source_after']})"
        _plain(f"  relabeled: {ex['text']!r}: {before} -> {after}")
    _drift(d["drift"], d["drift_warnings"])


_DRIFT_FIGURES = {
    "intent_js": "intent distribution (JS)",
    "entity_type_js": "entity type distribution (JS)",
    "new_head_share": "new head queries (share of the head)",
    "unseen_entity_share": "unseen entities (share of mentions)",
    "oov_rate": "out-of-vocabulary tokens (share)",
}


def _drift(drift: dict, warnings: list[str]) -> None:
    """The drift figures beside the default thresholds, the heaviest examples, and the warnings."""
    from honkdata.snapshot.drift import DriftThresholds

    thresholds = DriftThresholds()
    traffic = drift["traffic"]
    table = Table(
        "figure", "value", "warns above", title=f"drift ({traffic['old']:,} -> {traffic['new']:,} events)"
    )
    for figure, name in _DRIFT_FIGURES.items():
        value = drift[figure]
        shown = (
            f"{value:.3f}" if value is not None else f"not measured: {escape(drift['not_measured'][figure])}"
        )
        table.add_row(name, shown, f"{getattr(thresholds, figure):.2f}")
    out.print(table)
    for m in drift["intent_movers"]:
        _plain(f"  intent share {m['intent']}: {m['before']:.3f} -> {m['after']:.3f} ({m['change']:+.3f})")
    for q in drift["new_head_queries"]:
        _plain(f"  new head query: {q['text']!r} ({q['intent'] or '(none)'}, {q['count']:,} events)")
    for e in drift["unseen_entities"]:
        _plain(f"  unseen entity: {e['type']} {e['text']!r} ({e['count']:,} events)")
    for t in drift["oov_tokens"]:
        _plain(f"  new token: {t['token']!r} ({t['count']:,} events)")
    for line in warnings:
        _plain(f"drift warning: {line}")


def _plain(line: str) -> None:
    """A line of paths, values or query texts: printed as it is, never read as rich markup."""
    out.print(line, markup=False, highlight=False)


def _short(sha256: str | None) -> str:
    return f"sha256 {sha256[:12]}" if sha256 else "no sha256"


@app.command("tag")
@friendly_errors
def snapshots_tag(
    ref: Annotated[str, typer.Argument(help=REF)],
    tag: Annotated[str, typer.Argument(help="the tag: a word that is not a version (not latest, vN or N)")],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Name a version (`prod`, `paper-2026`), so that name@TAG finds it; tagging again moves the tag."""
    store = open_store(root)
    snapshot = store.resolve(ref)
    previous = store.tag(snapshot, tag)
    if json:
        print_json({"tag": tag, "ref": str(snapshot), "previous": str(previous) if previous else None})
    elif previous is None:
        out.print(f"tagged {snapshot} as {tag}", highlight=False)
    elif previous == snapshot:
        out.print(f"{tag} already names {snapshot}", highlight=False)
    else:
        out.print(f"moved tag {tag} from {previous} to {snapshot}", highlight=False)


@app.command("push")
@friendly_errors
def snapshots_push(
    ref: Annotated[str, typer.Argument(help=REF)],
    url: Annotated[
        str, typer.Argument(help="any fsspec URL (s3://bucket/prefix, gs://, file://, memory://)")
    ],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Copy a version to URL/<name>/vNNNN/: data files and card first, each checked against the manifest,
    manifest.json last, so the version counts there only once it is whole. A version already there is
    not copied again, and one with another manifest is never overwritten. Credentials: the backend's own
    (AWS_* and AWS_ENDPOINT_URL for S3)."""
    from honkdata.snapshot.mirror import push_snapshot

    _transferred(push_snapshot(ref, url, root), json, "pushed {ref} to {url}", "{ref} is already at {url}")


@app.command("pull")
@friendly_errors
def snapshots_pull(
    url: Annotated[str, typer.Argument(help="a pushed version: URL/<name>/vNNNN")],
    root: RootOption = None,
    json: JsonOption = False,
) -> None:
    """Copy a pushed version into the store under its own version number, every data file checked
    against the manifest before it is published; a no-op if the store has it with the same content."""
    from honkdata.snapshot.mirror import pull_snapshot

    _transferred(pull_snapshot(url, root), json, "pulled {ref} into {path}", "{ref} is already at {path}")


def _transferred(transfer: "Transfer", json: bool, copied: str, already: str) -> None:
    """What a push or pull did: one line (`copied` or `already`, filled from it), or its JSON."""
    if json:
        print_json(transfer.to_dict())
        return
    line = copied if transfer.copied else already
    _plain(line.format(ref=transfer.ref, url=transfer.url, path=transfer.path))
