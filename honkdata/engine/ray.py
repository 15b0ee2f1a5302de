"""The Ray engine: a plan's streaming part on a Ray cluster, or on a Ray instance of this machine.

Ray Data runs the map stages: one task per input reads it (`Ingest.parts`) and its batches go
through the batch stages with `map_batches`, which Ray Data fuses into that same task, so a raw
event (a user id before its pseudonym, a query before it is scrubbed) never enters Ray's object
store, which spills to disk outside the build's owner-only work folder. Inputs are read in parallel;
a plain JSONL or a Parquet file on the driver's machine (or a file system every worker mounts at the
same path) larger than `run_bytes` is read in runs of its lines or of its row groups, a task each. A
compressed, CSV or remote file is one task: a log meant for a cluster comes as many files, as logs
are written.

The grouping (exact dedup) runs on the workers too, as a hash-partitioned exchange (`_Exchange`):
the blocks the map tasks leave in the object store are split by the grouping's partitions (a
stable hash of the key) in tasks of their own, each partition's pieces go into a grouping of its own
in a task (DuckDB under the same memory limit, spilling to that worker's disk), and only the unique
rows come back here, a partition at a time, into one table: the table one grouping of every event
gives, to the content hash. Ray Data's own hash shuffle (`repartition(keys=...)`) would not do:
it hands a partition on as blocks of any size, with nothing that says which partition a block is,
and keeps partitions in its aggregators' memory unless told to spill. A grouping that cannot be
split (exact dedup under DP, whose cap ranks each user's keys across all keys) runs here as before,
every anonymized batch streaming back to it; its result does not depend on the order batches
arrive in either. The table stages then run here (honkdata.engine.run).

What the stages learn on the workers comes back through a small actor (`_Tally`): each call's
counters, the PII values anonymize found and the pseudonymized ids' digests (for the leak check),
and each input's report and rejected rows, which go into this build's quarantine file in input
order. Anonymize's allow-list is completed from the curated sets' gold names before any user log
is scrubbed, as on the local engine: the curated inputs go first, with anonymize (for them only a
pass that learns names) run here, and the user logs after, with the completed stage on the workers.
"""

import contextlib
import logging
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.anonymize.stage import Anonymize
from honkdata.engine.plan import BatchStage, Grouping, Partitions, Plan
from honkdata.engine.run import Engine
from honkdata.errors import HonkdataError
from honkdata.ingest.stage import Ingest, InputRead, ReadResult
from honkdata.progress import StageEvent, StageWatch
from honkdata.stage import StageStats

INSTALL = "pip install 'honkdata[ray]'"
# A plain JSONL (or Parquet) file is read in runs of about this many bytes, a task each: Ray Data's own
# target for a block, and a file of 10 billion events' 1.8 TB in some 14,000 tasks.
RUN_BYTES = 128 << 20
_BLOCK_BYTES = 8 << 20
# A split task takes blocks until they come to _PIECE_BYTES per partition: pieces well above the
# 100 KB under which Ray keeps a task's result in its owner's memory (here, this process's), and
# fewer objects for this process to own when there are many partitions; or to _SPLIT_BYTES, which
# bounds a split task's memory however many partitions there are (past 2,560 the pieces get smaller
# than 100 KB: use fewer partitions, each on more cores).
_PIECE_BYTES = 1 << 20
_SPLIT_BYTES = 256 << 20


def ray_engine(
    address: str | None = None,
    num_cpus: int | None = None,
    partitions: int | None = None,
    run_bytes: int = RUN_BYTES,
) -> Engine:
    """An engine that runs a plan with Ray Data: on the cluster at `address` (host:port or
    ray://host:port), else on the one `ray.init` finds ($RAY_ADDRESS) or starts here with `num_cpus`.
    A Ray connection this process already has is used as it is, and left open. The grouping runs on
    the workers in `partitions` tasks, by default one per CPU of a cluster of several machines (on
    one, here); each has the cluster's CPUs ÷ `partitions` of them (at most a node's), so one
    partition per node uses each node whole. A plain JSONL or a Parquet file larger than `run_bytes`
    is read in runs of its lines or row groups of about that size, a task each."""
    try:
        import ray  # noqa: F401  (optional: only this engine needs it)
    except ImportError:
        raise HonkdataError(f"the ray engine needs Ray, which is not installed: {INSTALL}") from None
    if address and num_cpus:
        raise HonkdataError("num_cpus is for a Ray instance started here, not for a cluster at an address")
    if partitions is not None and partitions < 1:
        raise HonkdataError(f"partitions must be 1 or more, not {partitions}")
    if run_bytes < 1:
        raise HonkdataError(f"run_bytes must be 1 or more, not {run_bytes}")

    def run(plan: Plan, watch: StageWatch) -> tuple[pa.Table, dict[str, StageStats]]:
        import ray

        started = not ray.is_initialized()
        if started:
            _connect(address, num_cpus)
        try:
            with _ray_data_settings():
                return _run(plan, watch, partitions, run_bytes)
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


def _run(
    plan: Plan, watch: StageWatch, partitions: int | None, run_bytes: int
) -> tuple[pa.Table, dict[str, StageStats]]:
    import ray

    ingest = plan.ingest
    if not isinstance(ingest, Ingest):
        raise HonkdataError("the ray engine reads inputs through honkdata.ingest.stage.Ingest")
    stats = {s.name: StageStats(s.name) for s in (ingest, *plan.batch_stages, plan.grouping)}
    watch.emit(StageEvent(ingest.name, inputs=ingest.sizes))
    tally = ray.remote(num_cpus=0)(_Tally).remote()  # bookkeeping: it must not hold a CPU the tasks need
    parts = ingest.parts(run_bytes)
    exchange = _exchange(plan, partitions, tally)
    with _failures(tally):
        for phase in (p for p in _phases(plan, parts, tally) if p.parts):
            _map(plan, stats, _dataset(parts, phase, tally), phase, exchange)
    summary: _Summary = ray.get(tally.summary.remote())
    for read_stats, result in summary.reads:
        stats[ingest.name].add(read_stats)
        ingest.add_part(result)
    for name, part in summary.stats.items():
        stats[name].add(part)
    anonymize = _anonymize_stage(plan)
    if anonymize is not None:
        anonymize.absorb(summary.found, summary.seen)
    ingest.finish(stats[ingest.name])
    for stage in (ingest, *plan.batch_stages):
        watch.finished(stats[stage.name])
    grouping = stats[plan.grouping.name]
    with _failures(tally), watch.timed(grouping):
        table = exchange.finish(plan.grouping, grouping) if exchange else plan.grouping.finish(grouping)
    _check_counts(plan, stats)
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


def _map(
    plan: Plan, stats: dict[str, StageStats], data: Any, phase: _Phase, exchange: "_Exchange | None"
) -> None:
    """One phase's events, read and mapped by Ray Data, into the exchange, or into the grouping here."""
    if exchange is None:
        _group_here(plan, _here(stats, data, phase), stats[plan.grouping.name])
    else:
        exchange.send(_blocks(stats, data, phase))


def _dataset(parts: list[InputRead], phase: _Phase, tally: Any) -> Any:
    """A phase's inputs read and mapped by the batch stages that run on the workers: a Ray dataset."""
    import ray

    data = ray.data.from_items([{"part": i} for i in phase.parts], override_num_blocks=len(phase.parts))
    data = data.map_batches(_ReadParts(tuple(parts), tally), batch_size=1, batch_format="pyarrow")
    for stage in phase.remote:
        data = data.map_batches(stage, batch_size=None, batch_format="pyarrow")
    return data


def _here(stats: dict[str, StageStats], data: Any, phase: _Phase) -> Iterator[pa.RecordBatch]:
    """The dataset's batches, here, through the batch stages that run here."""
    for table in data.iter_batches(batch_size=None, batch_format="pyarrow"):
        if not table.num_rows:
            continue
        batch = _record_batch(table)
        for stage in phase.here:
            with stats[stage.name].timed():
                batch = stage(batch, stats[stage.name])
        yield batch


def _group_here(plan: Plan, batches: Iterable[pa.RecordBatch], stats: StageStats) -> None:
    """Batches into the grouping, in this process."""
    on_progress = plan.ingest.on_progress
    for batch in batches:
        if on_progress:  # rows that reach the grouping (each block is one input's): a progress estimate
            on_progress(batch.column("source")[0].as_py(), batch.num_rows)
        with stats.timed():
            plan.grouping.add(batch, stats)


def _blocks(stats: dict[str, StageStats], data: Any, phase: _Phase) -> Iterator[tuple[Any, int]]:
    """The dataset's blocks in the object store, with their bytes: as the workers left them there
    (never fetched here), or put there after the batch stages that run here."""
    import ray

    if phase.here:
        for batch in _here(stats, data, phase):
            yield ray.put(pa.Table.from_batches([batch])), batch.nbytes
        return
    for bundle in data.iter_internal_ref_bundles():
        yield from zip(bundle.block_refs, (m.size_bytes for m in bundle.metadata), strict=True)


@contextlib.contextmanager
def _failures(tally: Any) -> Iterator[None]:
    """A task's error that a user can act on (what it sent the tally) as one line."""
    import ray

    try:
        yield
    except ray.exceptions.RayError:
        if error := ray.get(tally.failure.remote()):
            raise HonkdataError(error) from None
        raise


def _exchange(plan: Plan, partitions: int | None, tally: Any) -> "_Exchange | None":
    """The grouping on the workers, in `partitions` partitions (the cluster's CPUs by default);
    None where it runs here: a grouping that cannot be split (exact dedup under DP), or, unless
    `partitions` is given, a cluster of one machine."""
    import ray

    split = plan.grouping.partitions()
    cpus = [int(node["Resources"].get("CPU", 0)) for node in ray.nodes() if node["Alive"]]
    # On one machine the exchange has no other cores to use, only a split pass and a trip through the
    # object store more: 3M events took 76 s with it against 50 s grouped here (2 cores).
    if split is None or (partitions is None and len(cpus) == 1):
        return None
    n = partitions or max(1, sum(cpus))
    threads = max(1, min(sum(cpus) // n, max(cpus, default=1)))
    return _Exchange(split, n, threads, tally, plan.ingest.on_progress)


class _Exchange:
    """Blocks of events split by partition in tasks near them, each partition grouped by a task."""

    def __init__(self, partitions: Partitions, n: int, threads: int, tally: Any, on_progress: Any) -> None:
        import ray

        self.partitions, self.n, self.threads = partitions, n, threads
        self.tally, self.on_progress = tally, on_progress
        self.pieces: list[list[Any]] = [[] for _ in range(n)]  # by partition: refs to its pieces
        self.reports: list[Any] = []  # of the split tasks not heard from yet
        self.split_seconds = 0.0
        self._split = ray.remote(num_cpus=1)(_split)
        self._group = ray.remote(num_cpus=threads)(_group)  # DuckDB runs on as many threads

    def send(self, blocks: Iterable[tuple[Any, int]]) -> None:
        """Splits `blocks`, as they come, a split task per n × _PIECE_BYTES of them (_SPLIT_BYTES at most)."""
        group: list[Any] = []
        size = 0
        for block, nbytes in blocks:
            group.append(block)
            size += nbytes
            if size >= min(self.n * _PIECE_BYTES, _SPLIT_BYTES):
                self._send(group)
                group, size = [], 0
        if group:
            self._send(group)

    def _send(self, blocks: list[Any]) -> None:
        *pieces, report = self._split.options(num_returns=self.n + 1).remote(self.partitions, self.n, *blocks)
        for partition, piece in zip(self.pieces, pieces, strict=True):
            partition.append(piece)
        self.reports.append(report)
        self._hear(timeout=0)

    def _hear(self, timeout: float | None) -> None:
        """The reports of the split tasks done (all, with no timeout): the progress, their seconds."""
        import ray

        if not self.reports:
            return
        ready, self.reports = ray.wait(self.reports, num_returns=len(self.reports), timeout=timeout)
        for rows, seconds in ray.get(ready):
            self.split_seconds += seconds
            for source, n in rows.items() if self.on_progress else ():
                self.on_progress(source, n)

    def finish(self, grouping: Grouping, stats: StageStats) -> pa.Table:
        """Each partition grouped by a task, their tables merged here as each comes back. The
        grouping's seconds: the split tasks' together, and the wait here for the partitions."""
        self._hear(timeout=None)
        stats.seconds += self.split_seconds
        tasks = [
            self._group.remote(self.partitions, pieces, self.threads, stats.name, self.tally)
            for pieces in self.pieces
        ]
        self.pieces = []  # the tasks hold them now: a partition's go once it is grouped
        return grouping.merge(_finished(tasks, stats))


def _finished(tasks: list[Any], stats: StageStats) -> Iterator[pa.Table]:
    """The partitions' tables in partition order, one at a time, their counters into `stats`."""
    import ray

    for task in tasks:
        table, part = ray.get(task)
        stats.add(part)
        yield table


def _split(partitions: Partitions, n: int, *blocks: pa.Table) -> list[Any]:
    """A Ray task: the blocks' events in `n` pieces by partition; then the rows it split by input
    (the progress) and its seconds."""
    started = time.perf_counter()
    # A read task that kept no row (every line of a run quarantined, a damaged row group) leaves a
    # block without columns, which would not concatenate with the others.
    tables = [block for block in blocks if block.num_rows]
    if not tables:
        return [*[pa.table({})] * n, ({}, time.perf_counter() - started)]
    table = pa.concat_tables(tables)
    pieces = partitions.split(table, n)
    counts = pc.value_counts(table.column("source")).to_pylist()
    return [*pieces, ({c["values"]: c["counts"] for c in counts}, time.perf_counter() - started)]


def _group(
    partitions: Partitions, pieces: list[Any], threads: int, name: str, tally: Any
) -> tuple[pa.Table, StageStats]:
    """A Ray task: one partition's pieces, fetched one at a time, into a grouping of their own, in
    an owner-only folder of this worker's temp folder ($TMPDIR); its table and its counters."""
    import ray

    stats = StageStats(name)
    with _reported(tally), tempfile.TemporaryDirectory(prefix="honkdata-") as folder:
        grouping = partitions.grouping(Path(folder) / "grouping", threads)
        for piece in pieces:
            table = ray.get(piece)
            if table.num_rows:
                grouping.add(_record_batch(table), stats)
        return grouping.finish(stats), stats


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
