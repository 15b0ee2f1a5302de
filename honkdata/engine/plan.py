"""A build as data: its stages in order, which an engine runs.

Three shapes of stage, each a Protocol (no base class): a batch stage maps one Arrow record batch to
another (ingest's readers feed them); the grouping takes every batch and gives one table (exact
dedup, in DuckDB, which spills), and where its groups do not depend on each other it can also be run
apart, in partitions of the events, on many machines (`Grouping.partitions`); a table stage is a
global step over all the grouped rows (release threshold, labels, near-dup clusters, splits, ...).
Every stage counts into its own StageStats, named by the stage, so the manifest's counters come from
the stages themselves, whatever runs them.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from honkdata.progress import InputSize
from honkdata.stage import StageStats


class BatchStage(Protocol):
    name: str

    def __call__(self, batch: pa.RecordBatch, stats: StageStats) -> pa.RecordBatch:
        """The batch after this stage; a pure function of the batch (and the stage's settings)."""
        ...


class Grouping(Protocol):
    name: str

    def add(self, batch: pa.RecordBatch, stats: StageStats) -> None:
        """Takes one batch. The local engine calls it in worker processes forked from the build, so
        it must keep what it takes where `finish`, in the build's process, finds it (files)."""
        ...

    def finish(self, stats: StageStats) -> pa.Table:
        """One row per group, once every batch was added."""
        ...

    # An engine whose workers are many machines (Ray) groups there rather than here, which would
    # take every event: it splits the events by `partitions()`, runs a grouping of each partition on
    # a worker and `merge`s their tables. The grouping alone knows whether its groups are
    # independent (and how its tables combine), so it says so; `add` and `finish` stay the way to
    # run it in one place, which every engine can.

    def partitions(self) -> "Partitions | None":
        """How to run this grouping apart in partitions of the events; None where one group's row
        depends on events of other groups, so every event must meet in one grouping."""
        ...

    def merge(self, finished: Iterable[pa.Table]) -> pa.Table:
        """The finished tables of the groupings of `partitions()`, in partition order, as the one
        table `finish` would give over all their events. Called instead of `finish` (this grouping
        took no event): it releases this grouping's own resources as `finish` does."""
        ...


class Partitions(Protocol):
    """A grouping apart in partitions: what an engine sends to its workers, so it must pickle."""

    def split(self, table: pa.Table, n: int) -> list[pa.Table]:
        """`table`'s rows in `n` partitions: rows of one group in the same partition, on any machine."""
        ...

    def grouping(self, workdir: Path, threads: int) -> Grouping:
        """A new grouping for one partition's rows, in `workdir` (which it makes) on the worker, on
        `threads` cores."""
        ...


class TableStage(Protocol):
    name: str

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        """The rows after this global step."""
        ...


class Ingest(Protocol):
    """The first stage: every input's batches, in order; its checks once all are read."""

    name: str
    sizes: tuple[InputSize, ...]

    def __call__(self, stats: StageStats, kind: str | None = None) -> Iterator[pa.RecordBatch]:
        """Every input's batches, in order; with `kind` ("curated" or "user_log"), that kind's only."""
        ...

    def finish(self, stats: StageStats) -> None:
        """After the last batch: what needs every input read (the reject rate, warnings)."""
        ...


@dataclass(frozen=True)
class Plan:
    ingest: Ingest
    batch_stages: tuple[BatchStage, ...]
    grouping: Grouping
    table_stages: tuple[TableStage, ...]

    def stage(self, name: str) -> object:
        """The stage called `name`: what the build reads back from a stage after the run (the PII
        values anonymize found, for the leak check; the release rule; the largest clusters)."""
        every = (self.ingest, *self.batch_stages, self.grouping, *self.table_stages)
        return next(s for s in every if s.name == name)

    @property
    def stages(self) -> tuple[str, ...]:
        """Every stage's name, in the order they run: the manifest's `stages`."""
        names = (self.ingest.name, *(s.name for s in self.batch_stages), self.grouping.name)
        return (*names, *(s.name for s in self.table_stages))
