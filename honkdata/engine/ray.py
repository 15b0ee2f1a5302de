"""The Ray engine: a plan's streaming part on a Ray cluster, or on a Ray instance of this machine.

Ray Data runs the map stages: one task per input reads it (`Ingest.parts`) and its batches go
through the batch stages with `map_batches`, which Ray Data fuses into that same task, so a raw
event (a user id before its pseudonym, a query before it is scrubbed) never enters Ray's object
store, which spills to disk outside the build's owner-only work folder. Inputs are read in parallel;
one input is one task, so a log meant for a cluster comes as many files (as logs are written).
The anonymized batches stream back here into the grouping (exact dedup, in DuckDB, which spills):
its result does not depend on the order batches arrive in, so the snapshot is the one the local
engine builds, to the content hash. The table stages then run here too (honkdata.engine.run).

What the stages learn on the workers comes back through a small actor (`_Tally`): each call's
counters, the PII values anonymize found and the pseudonymized ids' digests (for the leak check),
and each input's report and rejected rows, which go into this build's quarantine file in input
order. Anonymize's allow-list is completed from the curated sets' gold names before any user log
is scrubbed, as on the local engine: the curated inputs go first, with anonymize (for them only a
pass that learns names) run here, and the user logs after, with the completed stage on the workers.
"""

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pyarrow as pa

from honkdata.anonymize.stage import Anonymize
from honkdata.engine.plan import BatchStage, Plan
from honkdata.engine.run import Engine
from honkdata.errors import HonkdataError
from honkdata.ingest.stage import Ingest, InputRead, ReadResult
from honkdata.progress import StageEvent, StageWatch
from honkdata.stage import StageStats

INSTALL = "pip install 'honkdata[ray]'"
_BLOCK_BYTES = 8 << 20


def ray_engine(address: str | None = None, num_cpus: int | None = None) -> Engine:
    """An engine that runs a plan with Ray Data: on the cluster at `address` (host:port or
    ray://host:port), else on the one `ray.init` finds ($RAY_ADDRESS) or starts here with `num_cpus`.
    A Ray connection this process already has is used as it is, and left open."""
    try:
        import ray  # noqa: F401  (optional: only this engine needs it)
    except ImportError:
        raise HonkdataError(f"the ray engine needs Ray, which is not installed: {INSTALL}") from None
    if address and num_cpus:
        raise HonkdataError("num_cpus is for a Ray instance started here, not for a cluster at an address")

    def run(plan: Plan, watch: StageWatch) -> tuple[pa.Table, dict[str, StageStats]]:
        import ray

        started = not ray.is_initialized()
        if started:
            _connect(address, num_cpus)
        try:
            with _ray_data_settings():
                return _run(plan, watch)
        finally:
            if started:
                ray.shutdown()

    return run


def _connect(address: str | None, num_cpus: int | None) -> None:
    import ray

    try:
        ray.init(address=address, num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {address}" if address else "Ray"
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise HonkdataError(f"cannot start or reach {where}: {reason}") from None


@contextlib.contextmanager
def _ray_data_settings() -> Iterator[None]:
    """Ray Data's settings for this run's datasets (each takes them when it is made), put back after.

    Blocks of a few MB, not Ray Data's 128 MB: a task's output reaches the grouping here while the
    task reads on, instead of all at once when it ends. Ray Data logs every dataset's plan and
    progress; the build has its own progress, and errors reach the caller as exceptions."""
    import ray

    context = ray.data.DataContext.get_current()
    logger = logging.getLogger("ray.data")
    saved, level = (context.enable_progress_bars, context.target_max_block_size), logger.level
    logger.setLevel(logging.ERROR)
    context.enable_progress_bars, context.target_max_block_size = False, _BLOCK_BYTES
    try:
        yield
    finally:
        context.enable_progress_bars, context.target_max_block_size = saved
        logger.setLevel(level)


class _Tally:
    """A Ray actor: what the map tasks report besides their batches, merged as it arrives."""

    def __init__(self) -> None:
        self.reads: dict[int, tuple[StageStats, ReadResult]] = {}
        self.stats: dict[str, StageStats] = {}
        self.found: set[tuple[str, str]] = set()
        self.seen: list[np.ndarray] = []
        self.error: str | None = None

    def read(self, index: int, stats: StageStats, result: ReadResult) -> None:
        # By input: a read that Ray runs again (after a lost worker) replaces the first one's.
        self.reads[index] = (stats, result)

    def stage(self, stats: StageStats, found: set[tuple[str, str]], seen: np.ndarray | None) -> None:
        self.stats.setdefault(stats.name, StageStats(stats.name)).add(stats)
        self.found |= found
        if seen is not None:
            self.seen.append(seen)

    def fail(self, message: str) -> None:
        self.error = self.error or message

    def failure(self) -> str | None:
        """The first error a user can act on that a task met, if any."""
        return self.error

    def summary(self) -> "_Summary":
        seen = np.unique(np.concatenate(self.seen)) if self.seen else np.empty(0, np.uint64)
        reads = [self.reads[i] for i in sorted(self.reads)]
        return _Summary(reads, self.stats, self.found, seen)


@dataclass
class _Summary:
    reads: list[tuple[StageStats, ReadResult]]  # in input order
    stats: dict[str, StageStats]
    found: set[tuple[str, str]]
    seen: np.ndarray


@contextlib.contextmanager
def _reported(tally: Any) -> Iterator[None]:
    """Errors a user can act on (a HonkdataError, an unreadable file) lose their type on the way
    back from Ray Data: their message goes to the tally, which the driver raises as one line."""
    import ray

    try:
        yield
    except (HonkdataError, OSError) as e:
        ray.get(tally.fail.remote(str(e)))
        raise


@dataclass(frozen=True)
class _ReadParts:
    """Ray Data function over a batch of input indices: each input's batches, as it reads them."""

    parts: tuple[InputRead, ...]
    tally: Any

    def __call__(self, items: pa.Table) -> Iterator[pa.Table]:
        import ray

        for index in items.column("part").to_pylist():
            stats, result = StageStats("ingest"), ReadResult()
            with _reported(self.tally):
                for batch in stats.timed_items(self.parts[index](result, stats)):
                    yield pa.Table.from_batches([batch])
            ray.get(self.tally.read.remote(index, stats, result))


@dataclass(frozen=True)
class _MapStage:
    """Ray Data function: a batch stage over one batch, its counters sent to the tally."""

    stage: BatchStage
    tally: Any

    def __call__(self, table: pa.Table) -> pa.Table:
        import ray

        stats = StageStats(self.stage.name)
        with _reported(self.tally), stats.timed():
            batch = self.stage(_record_batch(table), stats)
        ray.get(self.tally.stage.remote(stats, set(), None))
        return pa.Table.from_batches([batch])


@dataclass(frozen=True)
class _MapAnonymize:
    """Ray Data function: anonymize over one batch, with a replica of the build's stage; it sends
    what it found and the digests of the ids it pseudonymized (for the leak check) with its counters."""

    anonymize: Anonymize
    tally: Any

    def __call__(self, table: pa.Table) -> pa.Table:
        import ray

        stage = self.anonymize.replica()  # per batch: it reports the ids of this batch only
        stats = StageStats(stage.name)
        with _reported(self.tally), stats.timed():
            batch = stage(_record_batch(table), stats)
        ray.get(self.tally.stage.remote(stats, stage.found, stage.pseudonymizer.seen_digests()))
        return pa.Table.from_batches([batch])


def _record_batch(table: pa.Table) -> pa.RecordBatch:
    """A table of Ray Data as the one record batch the stages take (their kernels want arrays, not
    chunked ones)."""
    batches = table.combine_chunks().to_batches()
    return batches[0] if batches else pa.RecordBatch.from_pylist([], schema=table.schema)


@dataclass
class _Phase:
    """Some inputs, the batch stages run on the workers, and those run here after them."""

    parts: list[int]
    remote: Sequence[Any]
    here: Sequence[BatchStage] = field(default_factory=tuple)


def _run(plan: Plan, watch: StageWatch) -> tuple[pa.Table, dict[str, StageStats]]:
    import ray

    ingest = plan.ingest
    if not isinstance(ingest, Ingest):
        raise HonkdataError("the ray engine reads inputs through honkdata.ingest.stage.Ingest")
    stats = {s.name: StageStats(s.name) for s in (ingest, *plan.batch_stages, plan.grouping)}
    watch.emit(StageEvent(ingest.name, inputs=ingest.sizes))
    tally = ray.remote(num_cpus=0)(_Tally).remote()  # bookkeeping: it must not hold a CPU the tasks need
    parts = ingest.parts()
    for phase in _phases(plan, parts, tally):
        _stream(plan, ingest, stats, parts, phase, tally)
    summary: _Summary = ray.get(tally.summary.remote())
    for read_stats, result in summary.reads:
        stats[ingest.name].add(read_stats)
        ingest.add_part(result)
    for name, part in summary.stats.items():
        stats[name].add(part)
    anonymize = _anonymize_stage(plan)
    if anonymize is not None:
        anonymize.absorb(summary.found, summary.seen)
    _check_counts(plan, stats)
    ingest.finish(stats[ingest.name])
    for stage in (ingest, *plan.batch_stages):
        watch.finished(stats[stage.name])
    with watch.timed(stats[plan.grouping.name]):
        table = plan.grouping.finish(stats[plan.grouping.name])
    return table, stats


def _anonymize_stage(plan: Plan) -> Anonymize | None:
    return next((s for s in plan.batch_stages if isinstance(s, Anonymize)), None)


def _phases(plan: Plan, parts: list[InputRead], tally: Any) -> list[_Phase]:
    """Curated inputs first, with anonymize here (it learns their music names), then the user logs
    with every batch stage on the workers. Without an anonymize stage, all inputs in one phase."""
    anonymize = _anonymize_stage(plan)
    every = list(range(len(parts)))
    if anonymize is None:
        return [_Phase(every, [_MapStage(s, tally) for s in plan.batch_stages])]
    cut = plan.batch_stages.index(anonymize)
    before, after = plan.batch_stages[:cut], plan.batch_stages[cut:]
    curated = [i for i in every if parts[i].source.kind != "user_log"]
    logs = [i for i in every if parts[i].source.kind == "user_log"]
    phases = [_Phase(curated, [_MapStage(s, tally) for s in before], after)] if curated else []
    if logs:
        remote = [
            _MapAnonymize(anonymize, tally) if s is anonymize else _MapStage(s, tally)
            for s in plan.batch_stages
        ]
        phases.append(_Phase(logs, remote))
    return phases


def _stream(
    plan: Plan,
    ingest: Ingest,
    stats: dict[str, StageStats],
    parts: list[InputRead],
    phase: _Phase,
    tally: Any,
) -> None:
    """One phase's batches, read and mapped by Ray Data, into the grouping here."""
    import ray

    if not phase.parts:
        return
    data = ray.data.from_items([{"part": i} for i in phase.parts], override_num_blocks=len(phase.parts))
    data = data.map_batches(_ReadParts(tuple(parts), tally), batch_size=1, batch_format="pyarrow")
    for stage in phase.remote:
        data = data.map_batches(stage, batch_size=None, batch_format="pyarrow")
    on_progress = ingest.on_progress
    grouping = stats[plan.grouping.name]
    try:
        for table in data.iter_batches(batch_size=None, batch_format="pyarrow"):
            if not table.num_rows:
                continue
            batch = _record_batch(table)
            for stage in phase.here:
                with stats[stage.name].timed():
                    batch = stage(batch, stats[stage.name])
            if on_progress:  # rows that reach the grouping (each block is one input's): a progress estimate
                on_progress(batch.column("source")[0].as_py(), batch.num_rows)
            with grouping.timed():
                plan.grouping.add(batch, grouping)
    except ray.exceptions.RayError:
        if error := ray.get(tally.failure.remote()):
            raise HonkdataError(error) from None
        raise


def _check_counts(plan: Plan, stats: dict[str, StageStats]) -> None:
    """Every stage got the rows the one before it gave, and the grouping those of the last. A task
    that Ray ran twice (after a lost worker) would have counted twice: the manifest would lie."""
    names = [plan.ingest.name, *(s.name for s in plan.batch_stages), plan.grouping.name]
    for before, after in pairwise(names):
        if (out := stats[before].rows_out) != (into := stats[after].rows_in):
            raise HonkdataError(
                f"the Ray run's counters disagree ({before} gave {out:,} rows, {after} got {into:,}): "
                "a task ran twice after a lost worker? Nothing written; build again"
            )
