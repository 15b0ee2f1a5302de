"""`honkdata build`: raw logs in, one immutable snapshot out.

The build is its list of stages. Per event batch: ingest (readers), `Normalize`, `Anonymize`
(user logs only); then the `ExactDedup` aggregation; per unique row the release threshold
(`KAnonymity` or `DPRelease`), `ApplyLabels` (human > gold > model > weak), `ClusterDuplicates` (near and
semantic), `AssignSplits` (whole clusters), `MergeClusters`, `TokenizeAndTag` (tokens and BIO tags of the
final rows); last, the snapshot writer, whose files pass the `LeakCheck` before the manifest makes
them a snapshot.
"""

import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from honkdata import __version__
from honkdata.annotate.store import HumanLabelStore
from honkdata.anonymize.leaks import LeakCheck
from honkdata.anonymize.pseudonym import DEMO_KEY, PseudonymKey, load_key
from honkdata.anonymize.release import DPRelease, KAnonymity
from honkdata.anonymize.stage import anonymizer
from honkdata.config import BuildConfig
from honkdata.dedup.exact import ExactDedup
from honkdata.dedup.stage import ClusterDuplicates, MergeClusters, check_split_leaks
from honkdata.engine import prefetch
from honkdata.errors import HonkdataError, HonkdataWarning, recorded_warnings
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.read import OnProgress, check_reject_rate, read_inputs
from honkdata.ingest.sources import Input, SkippedFile, resolve_inputs
from honkdata.label.stage import ApplyLabels, label_model, weak_labeler
from honkdata.normalize import Normalize
from honkdata.progress import OnStage, StageEvent, StageWatch, input_sizes
from honkdata.snapshot.freshness import current_snapshot, labels_digest, warn_if_unrelated
from honkdata.snapshot.invariants import check_invariants
from honkdata.snapshot.store import SnapshotRef, SnapshotStore
from honkdata.snapshot.write import write_snapshot_files
from honkdata.split import AssignSplits
from honkdata.stage import StageStats
from honkdata.taxonomy import load_taxonomy
from honkdata.tokens import TokenizeAndTag

# Published corpora: public text, free to name anyone, so their rows may hold what looks like PII.
PUBLISHED_CORPORA = ("snips", "bio", "slurp", "massive", "cpcd")
STAGES = (
    "ingest",
    "normalize",
    "anonymize",
    "exact_dedup",
    "release",
    "label",
    "near_dedup",
    "split",
    "merge_duplicates",
    "tokens",
)


@dataclass
class BuildResult:
    ref: SnapshotRef
    path: Path
    manifest: dict
    # True when nothing was written: `ref` is the latest version, built from the same inputs and config.
    up_to_date: bool = False


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
        hits["README.md"] = check.scan_text((staging / "README.md").read_text())
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


def _warn_curated_user_ids(reports: list[dict]) -> None:
    for r in reports:
        if r["kind"] == "curated" and r["rows_with_user_id"]:
            warnings.warn(
                f"{r['name']} is declared kind: curated, yet {r['rows_with_user_id']:,} of its rows carry a "
                "user_id: curated rows are published without pseudonyms or a release threshold (declare "
                "it kind: user_log if it logs people)",
                HonkdataWarning,
                stacklevel=3,
            )


def build(
    config: BuildConfig,
    on_progress: OnProgress | None = None,
    on_stage: OnStage | None = None,
    force: bool = False,
) -> BuildResult:
    """Run every stage over the configured sources and publish the next version of the dataset.

    If the latest version was built from the same inputs (by content), config, human labels and
    honkdata version, nothing is built or written and the result (`up_to_date`) names that version;
    `force` builds anyway. `on_progress(source, rows)` hears of every batch read, `on_stage` of every
    stage's start and end (honkdata.progress).
    """
    with recorded_warnings() as warned:
        return _build(config, on_progress, warned, StageWatch(on_stage), force)


def _build(
    config: BuildConfig,
    on_progress: OnProgress | None,
    warned: Callable[[], list[str]],
    watch: StageWatch,
    force: bool,
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
    anonymize = anonymizer(config, key)
    dp = config.anonymize.dp
    release = DPRelease(dp) if dp else KAnonymity(config.anonymize.k_anonymity)
    label = ApplyLabels(
        weak_labeler(config) if config.labels.weak else None,
        human,
        label_model(config, taxonomy),
        config.labels.model_min_confidence,
    )
    clusters, merge = ClusterDuplicates(config.dedup), MergeClusters()
    started = datetime.now(UTC)
    quarantine = Quarantine(config.quarantine_path() / config.name / f"{started:%Y%m%dT%H%M%S}.jsonl")
    stages = {name: StageStats(name) for name in STAGES}

    with store.writer(config.name) as (ref, staging):
        parent = store.latest(config.name)
        sticky = parent_splits(store, parent)  # a broken parent fails here, before the work
        normalize = Normalize(config.normalize)
        dedup = ExactDedup(staging / ".work", config.memory_limit)
        reports: list[dict] = []
        loop_start = time.perf_counter()
        watch.emit(StageEvent("ingest", inputs=sizes))
        try:
            for batch in prefetch(read_inputs(inputs, config, taxonomy, quarantine, reports, on_progress)):
                stages["ingest"].rows_out += batch.num_rows
                for stage in (normalize, anonymize):
                    with stages[stage.name].timed():
                        batch = stage(batch, stages[stage.name])
                with stages["exact_dedup"].timed():
                    dedup.add(batch, stages["exact_dedup"])
        finally:
            quarantine.close()
        batch_seconds = sum(stages[s].seconds for s in ("normalize", "anonymize", "exact_dedup"))
        stages["ingest"].seconds = time.perf_counter() - loop_start - batch_seconds
        stages["ingest"].rows_in = stages["ingest"].rows_out + quarantine.rows
        stages["ingest"].drop("quarantined", quarantine.rows)
        check_reject_rate(config, reports, quarantine)
        _warn_curated_user_ids(reports)
        warn_if_unrelated(store, parent, reports)
        for streamed in ("ingest", normalize.name, anonymize.name):  # timed batch by batch above
            watch.finished(stages[streamed])

        with watch.timed(stages["exact_dedup"]):
            caps = (dp.max_queries_per_user, dp.max_events_per_query) if dp else None
            table = dedup.finish(stages["exact_dedup"], caps)
        with watch.timed(stages[release.name]):
            table = release(table, stages[release.name])
        if table.num_rows == 0:
            raise HonkdataError("no rows left after the release threshold; no snapshot written")
        split = AssignSplits(config.split, sticky, kept)
        for stage in (label, clusters, split):
            with watch.timed(stages[stage.name]):
                table = stage(table, stages[stage.name])
        check_split_leaks(table, clusters.pairs)
        with watch.timed(stages[merge.name]):
            table = merge(table, stages[merge.name])
        tokens = TokenizeAndTag()  # on the final text and spans, after every stage that changes them
        with watch.timed(stages[tokens.name]):
            table = tokens(table, stages[tokens.name])
        manifest = {
            "name": config.name,
            "version": ref.version,
            "parent_version": parent.version if parent else None,
            "created_at": started.isoformat(timespec="seconds"),
            "honkdata_version": __version__,
            "python": platform.python_version(),
            "config": config.model_dump(mode="json"),
            "config_hash": config.fingerprint(),
            # The label spaces: the card's ClassLabel ids are the intents' positions in this order.
            "taxonomy": {"intents": taxonomy.intents, "entity_types": taxonomy.entity_types},
            "inputs": reports,
            "skipped_files": [{"path": str(f.path), "reason": f.reason} for f in skipped],
            "anonymize": {
                "pseudonym_key_fingerprint": key.fingerprint if user_logs else None,
                "pseudonym_key_source": key.source,
                "release": f"dp(ε={dp.epsilon}, δ={dp.delta})" if dp else f"k-anonymity(k={release.k})",
            },
            "human_labels": {
                "store": str(config.human_store_path()),
                "rows": human.num_rows,
                "sha256": human_digest,
            },
            "stages": {name: stats.to_dict() for name, stats in stages.items()},
            "largest_duplicate_clusters": merge.largest,
            "quarantine": {"path": str(quarantine.path), "rows": quarantine.rows},
            "warnings": warned(),
        }
        check = LeakCheck(anonymize.pseudonymizer, anonymize.scrubber, anonymize.found)
        check_invariants(table, taxonomy.intents)
        write = StageStats("write", rows_in=table.num_rows, rows_out=table.num_rows)
        with watch.timed(write):
            manifest = write_snapshot_files(staging, table, manifest, _verify(check, user_logs, exempt))
    return BuildResult(ref=ref, path=store.path(ref), manifest=manifest)
