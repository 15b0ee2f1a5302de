"""`honkdata build`: raw logs in, one immutable snapshot out.

`build_plan` is the build: its stages in order, which an engine runs (honkdata.engine). Per event
batch: `Ingest` (readers, quarantine), `Normalize`, `Anonymize` (user logs only); the `ExactDedup`
grouping; then over the unique rows the release threshold (`KAnonymity` or `DPRelease`),
`ApplyLabels` (human > gold > model > weak), `ClusterDuplicates` (near and semantic),
`AssignSplits` (whole clusters), `MergeClusters`, `TokenizeAndTag`. Last, the snapshot writer, whose
files pass the `LeakCheck` before the manifest makes them a snapshot.
"""

import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from honkdata import __version__
from honkdata.annotate.store import HumanLabelStore
from honkdata.anonymize.leaks import LeakCheck
from honkdata.anonymize.pseudonym import DEMO_KEY, PseudonymKey, load_key
from honkdata.anonymize.release import DPRelease, KAnonymity
from honkdata.anonymize.stage import anonymizer
from honkdata.config import BuildConfig
from honkdata.dedup.exact import ExactDedup
from honkdata.dedup.stage import ClusterDuplicates, MergeClusters
from honkdata.engine.checkpoints import Checkpoints, build_key
from honkdata.engine.local import local_engine
from honkdata.engine.plan import Plan
from honkdata.engine.run import Engine, run_plan
from honkdata.errors import HonkdataError, HonkdataWarning, recorded_warnings
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.read import OnProgress
from honkdata.ingest.sources import Input, SkippedFile, resolve_inputs
from honkdata.ingest.stage import Ingest
from honkdata.label.stage import ApplyLabels, label_model, weak_labeler
from honkdata.normalize import Normalize
from honkdata.progress import InputSize, OnStage, StageWatch, input_sizes
from honkdata.snapshot.freshness import current_snapshot, labels_digest, warn_if_unrelated
from honkdata.snapshot.invariants import check_invariants
from honkdata.snapshot.manifest import BuildRecord, build_manifest
from honkdata.snapshot.store import SnapshotRef, SnapshotStore
from honkdata.snapshot.write import CARD, write_snapshot_files
from honkdata.split import AssignSplits
from honkdata.stage import StageStats
from honkdata.taxonomy import Taxonomy, load_taxonomy
from honkdata.tokens import TokenizeAndTag

# The exact grouping's database and spill, inside the build's work folder.
GROUPING_DIR = "exact_dedup"
# Published corpora: public text, free to name anyone, so their rows may hold what looks like PII.
PUBLISHED_CORPORA = ("snips", "bio", "slurp", "massive", "cpcd")


@dataclass
class BuildResult:
    ref: SnapshotRef
    path: Path
    manifest: dict
    # True when nothing was written: `ref` is the latest version, built from the same inputs and config.
    up_to_date: bool = False
    # The step a resumed build continued after (`--resume` after a killed build), else None.
    resumed_after: str | None = None


def parent_splits(store: SnapshotStore, ref: SnapshotRef | None) -> dict[str, str]:
    """id -> split in the parent snapshot, so that rows keep their split across versions."""
    if ref is None:
        return {}
    rows = store.read(ref, columns=["id", "split"])
    return dict(zip(rows.column("id").to_pylist(), rows.column("split").to_pylist(), strict=True))


def _verify(check: LeakCheck, user_logs: set[str], exempt: set[str]) -> Callable[[Path, bytes], None]:
    """The last stage: the files about to be published must hold no raw id and no detected PII."""

    def verify(staging: Path, manifest: bytes) -> None:
        hits = {f.name: check.scan_parquet(f, user_logs, exempt) for f in sorted(staging.rglob("*.parquet"))}
        hits[CARD] = check.scan_text((staging / CARD).read_text())
        hits["manifest.json"] = check.scan_text(manifest.decode())
        leaks = {name: dict(found) for name, found in hits.items() if found}
        if leaks:
            where = "; ".join(
                f"{name}: {', '.join(f'{n} {t}' for t, n in f.items())}" for name, f in leaks.items()
            )
            raise HonkdataError(f"leak check failed, no snapshot written ({where})")

    return verify


def resolve_sources(
    config: BuildConfig,
) -> tuple[list[Input], set[str], list[SkippedFile], dict[str, str]]:
    """The inputs, curated sets first (their gold artist/track names join the scrubber's allow-list
    before any log), the curated sources whose rows the leak check lets hold PII, the files in
    source folders that are not data (skipped, listed in the manifest), and the configured source of
    each input whose own split is kept (`split: keep`; its files together are one dataset's parts)."""
    inputs, exempt, skipped, kept = [], set(), [], {}
    for source in config.sources:
        for found in resolve_inputs([source], skipped=skipped):
            inputs.append(found)
            if source.split == "keep":
                kept[found.name] = source.name or source.path
            allow = source.allow_pii if source.allow_pii is not None else found.format in PUBLISHED_CORPORA
            if found.kind == "curated" and allow:
                exempt.add(found.name)
    if skipped:
        warnings.warn(
            f"{len(skipped)} files in source folders are not data and were not read (see the manifest's "
            "skipped_files)",
            HonkdataWarning,
            stacklevel=3,
        )
    return sorted(inputs, key=lambda i: i.kind == "user_log"), exempt, skipped, kept


def build(
    config: BuildConfig,
    on_progress: OnProgress | None = None,
    on_stage: OnStage | None = None,
    force: bool = False,
    engine: Engine | None = None,
    resume: bool = False,
) -> BuildResult:
    """Run every stage over the configured sources and publish the next version of the dataset.

    If the latest version was built from the same inputs (by content), config, human labels and
    honkdata version, nothing is built or written and the result (`up_to_date`) names that version;
    `force` builds anyway. `on_progress(source, rows)` hears of every batch read, `on_stage` of every
    stage's start and end (honkdata.progress). `engine` streams the plan: this machine's by default
    (`local_engine()`, on every core for large inputs).
    `resume` continues a build of the same inputs and config that was killed, after its last
    finished step (honkdata.engine.checkpoints); without one to continue, it builds from the start.
    """
    with recorded_warnings() as warned:
        return _build(
            config, on_progress, warned, StageWatch(on_stage), force, engine or local_engine(), resume
        )


def _build(
    config: BuildConfig,
    on_progress: OnProgress | None,
    warned: Callable[[], list[str]],
    watch: StageWatch,
    force: bool,
    engine: Engine,
    resume: bool,
) -> BuildResult:
    inputs, exempt, skipped, kept = resolve_sources(config)
    store = SnapshotStore(config.root_path())
    human = HumanLabelStore(config.human_store_path()).latest()
    sizes, human_digest = input_sizes(inputs), labels_digest(human)
    if not force and (current := current_snapshot(store, config, sizes, human_digest, watch)):
        return BuildResult(current, store.path(current), store.manifest(current), up_to_date=True)
    user_logs = {i.name for i in inputs if i.kind == "user_log"}
    key = (
        load_key(config.anonymize, [i.path for i in inputs if i.kind == "user_log"])
        if user_logs
        else PseudonymKey(DEMO_KEY, "unused: no user logs")
    )
    taxonomy = load_taxonomy(Path(config.taxonomy) if config.taxonomy else None)
    started = datetime.now(UTC)
    quarantine = Quarantine(config.quarantine_path() / config.name / f"{started:%Y%m%dT%H%M%S}.jsonl")

    with store.writer(config.name) as (ref, staging):
        parent = store.latest(config.name)
        sticky = parent_splits(store, parent)  # a broken parent fails here, before the work
        checkpoints = _checkpoints(config, sizes, human_digest, parent, resume)
        plan = build_plan(
            config, taxonomy, key, human, sticky, kept, checkpoints.folder, inputs, quarantine, on_progress
        )
        try:
            table, stages, resumed = run_plan(plan, engine, watch, checkpoints)
            warn_if_unrelated(store, parent, plan.ingest.reports)
            anonymize, release, merge = (plan.stage(n) for n in ("anonymize", "release", "merge_duplicates"))
            record = BuildRecord(
                config=config,
                version=ref.version,
                parent_version=parent.version if parent else None,
                started=started,
                taxonomy=taxonomy,
                inputs=plan.ingest.reports,
                skipped_files=[{"path": str(f.path), "reason": f.reason} for f in skipped],
                anonymize={
                    "pseudonym_key_fingerprint": key.fingerprint if user_logs else None,
                    "pseudonym_key_source": key.source,
                    "release": release.rule,
                },
                human_labels={
                    "store": str(config.human_store_path()),
                    "rows": human.num_rows,
                    "sha256": human_digest,
                },
                stages=stages,
                largest_duplicate_clusters=merge.largest,
                quarantine={"path": str(plan.ingest.quarantine.path), "rows": plan.ingest.quarantine.rows},
                warnings=warned(),
            )
            check = LeakCheck(anonymize.pseudonymizer, anonymize.scrubber, anonymize.found)
            check_invariants(table, taxonomy.intents)
            write = StageStats("write", rows_in=table.num_rows, rows_out=table.num_rows)
            with watch.timed(write):
                manifest = write_snapshot_files(
                    staging, table, build_manifest(record), _verify(check, user_logs, exempt)
                )
        finally:
            quarantine.close()
            checkpoints.clear()  # published or failed: only a killed build leaves its checkpoints
    return BuildResult(ref=ref, path=store.path(ref), manifest=manifest, resumed_after=resumed)


def _checkpoints(
    config: BuildConfig,
    sizes: tuple[InputSize, ...],
    human_digest: str | None,
    parent: SnapshotRef | None,
    resume: bool,
) -> Checkpoints:
    """This build's checkpoint folder under the work directory. Folders of other, killed builds of
    the dataset go (a fresh build starts over; a resumed one keeps only its own), as does a grouping's
    spill a kill left half-written: the grouping always starts from the first event."""
    inputs = [(str(i.path), i.size, i.path.stat().st_mtime_ns) for i in sizes]
    key = build_key(config.fingerprint(), inputs, human_digest, __version__, parent and parent.version)
    work = config.dataset_work_path()
    for folder in work.glob("*") if work.is_dir() else ():
        if not (resume and folder.name == key):
            shutil.rmtree(folder, ignore_errors=True)
    checkpoints = Checkpoints(work / key)
    shutil.rmtree(checkpoints.folder / GROUPING_DIR, ignore_errors=True)
    checkpoints.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return checkpoints


def build_plan(
    config: BuildConfig,
    taxonomy: Taxonomy,
    key: PseudonymKey,
    human: pa.Table,
    sticky: dict[str, str],
    kept: dict[str, str],
    work: Path,
    inputs: list[Input],
    quarantine: Quarantine,
    on_progress: OnProgress | None = None,
) -> Plan:
    """The build's stages, in order: what every engine runs. `work`: the build's own temporary folder."""
    dp = config.anonymize.dp
    return Plan(
        ingest=Ingest(inputs, config, taxonomy, quarantine, on_progress),
        batch_stages=(Normalize(config.normalize), anonymizer(config, key)),
        grouping=ExactDedup(work / GROUPING_DIR, config.memory_limit, dp),
        table_stages=(
            DPRelease(dp) if dp else KAnonymity(config.anonymize.k_anonymity),
            ApplyLabels(
                weak_labeler(config) if config.labels.weak else None,
                human,
                label_model(config, taxonomy),
                config.labels.model_min_confidence,
            ),
            ClusterDuplicates(config.dedup),
            AssignSplits(config.split, sticky, kept),
            MergeClusters(),
            TokenizeAndTag(),  # on the final text and spans, after every stage that changes them
        ),
    )
