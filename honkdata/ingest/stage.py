"""Ingest as a stage: the configured inputs' batches, quarantining what cannot be read, with a report
per input, and the checks that need every input read (the reject rate).

A distributed engine reads each input apart (a large JSONL file in runs of its lines, a large Parquet
file in runs of its row groups), wherever it runs (`Ingest.parts`, `InputRead`), and brings what each
read rejected and reported back to the build's machine (`Ingest.add_part`): the quarantine file and
the reports are the same as when one process reads every input in turn.
"""

import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa

from honkdata.config import BuildConfig
from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.raw import RUNS, Run
from honkdata.ingest.read import OnProgress, check_reject_rate, read_inputs
from honkdata.ingest.sources import Input, fingerprint
from honkdata.ingest.timestamps import Window
from honkdata.progress import InputSize, input_sizes
from honkdata.stage import StageStats
from honkdata.taxonomy import Taxonomy

QUARANTINED = "quarantined"  # the stage's counter (manifest.json: stages.ingest): rows quarantined


@dataclass
class Ingest:
    inputs: list[Input]
    config: BuildConfig
    taxonomy: Taxonomy
    quarantine: Quarantine
    on_progress: OnProgress | None = None
    reports: list[dict] = field(default_factory=list)  # one per input, once it is read
    name: str = "ingest"

    def __post_init__(self) -> None:
        self.sizes: tuple[InputSize, ...] = input_sizes(self.inputs)
        # The timestamp window is fixed once, for every read of this build: its default end is a day
        # after today, and a read that starts after midnight must agree with the rest. The work
        # folder, where remote inputs are fetched to, is made absolute for reads in other processes.
        ingest = self.config.ingest
        window = Window.of(ingest.ts_earliest, ingest.ts_latest)
        self._pinned = self.config.model_copy(
            update={
                "ingest": ingest.model_copy(update={"ts_latest": window.latest}),
                "work_dir": str(self.config.work_path().absolute()),
            }
        )

    def __call__(self, stats: StageStats, kind: str | None = None) -> Iterator[pa.RecordBatch]:
        """Every input's batches in order; with `kind` ("curated" or "user_log"), that kind's only."""
        inputs = [i for i in self.inputs if kind in (None, i.kind)]
        for batch in read_inputs(
            inputs, self._pinned, self.taxonomy, self.quarantine, self.reports, self.on_progress
        ):
            stats.rows_out += batch.num_rows
            yield batch

    def state(self) -> dict:
        """For a resumed build: the reports and where the rejected rows went."""
        return {
            "reports": self.reports,
            "quarantine": {"path": str(self.quarantine.path), "rows": self.quarantine.rows},
        }

    def restore(self, state: dict) -> None:
        self.reports = state["reports"]
        # The killed run's quarantine file is complete: ingest had finished before its checkpoint.
        self.quarantine.path = Path(state["quarantine"]["path"])
        self.quarantine.rows = state["quarantine"]["rows"]

    def parts(self, run_bytes: int | None = None) -> list["InputRead"]:
        """Reads to run apart, in order: one per input; with `run_bytes`, a plain JSONL or a Parquet
        file on this machine larger than that is read in runs of about that size, one read each: runs
        of lines (found in one pass over the file, which numbers each run's first line) or of row
        groups (found in the file's footer)."""
        reads = []
        for source in self.inputs:
            try:
                apart = run_bytes is not None and _in_runs(source, run_bytes)
                runs: list[Run | None] = [None]
                if apart:  # no runs found (an unreadable Parquet footer): one read, as on one machine
                    runs = [*RUNS[source.format](source.path, run_bytes)] or [None]  # type: ignore[arg-type]
            except OSError as e:  # gone or unreadable since it was listed: what a read would say
                raise HonkdataError(str(e)) from None
            reads += [InputRead(replace(source, run=run), self._pinned, self.taxonomy) for run in runs]
        return reads

    def add_part(self, read: "ReadResult") -> None:
        """What one part's read, run to its end, left besides its batches; parts in input order: its
        rejected rows into this build's quarantine, its report after the others' (a run of a file's
        lines or row groups: added to the report of the runs before it, as one read of the file would
        count)."""
        for source, line, reason, raw in read.rejects:
            self.quarantine.reject(source, line, reason, raw)
        report = read.report
        if read.run is not None and read.run.start:
            self.reports[-1] = _added(self.reports[-1], report)
            return
        if read.run is not None:
            report["size"], report["sha256"] = fingerprint(Path(report["path"]))
        self.reports.append(report)

    def finish(self, stats: StageStats) -> None:
        self.quarantine.close()
        stats.rows_in = stats.rows_out + self.quarantine.rows
        stats.drop(QUARANTINED, self.quarantine.rows)
        check_reject_rate(self.config, self.reports, self.quarantine)
        for r in self.reports:
            if r["kind"] == "curated" and r["rows_with_user_id"]:
                warnings.warn(
                    f"{r['name']} is declared kind: curated, yet {r['rows_with_user_id']:,} of its rows "
                    "carry a user_id: curated rows are published without pseudonyms or a release threshold "
                    "(declare it kind: user_log if it logs people)",
                    HonkdataWarning,
                    stacklevel=2,
                )


# What a report counts, which the reports of the runs of one file add up to.
_COUNTS = ("rows_read", "rows_rejected", "rows_repaired", "rows_with_user_id", "timestamps_unreadable")


def _in_runs(source: Input, run_bytes: int) -> bool:
    """Whether a reader can start inside the input: a plain JSONL or a Parquet file here, larger than
    a run."""
    path = source.path
    plain = isinstance(path, Path) and source.format in RUNS and path.suffix != ".gz"
    return plain and path.stat().st_size > run_bytes


def _added(report: dict, run: dict) -> dict:
    reasons = Counter(report["reject_reasons"]) + Counter(run["reject_reasons"])
    counts = {name: report[name] + run[name] for name in _COUNTS}
    return {**report, **counts, "reject_reasons": dict(sorted(reasons.items()))}


@dataclass
class ReadResult:
    """What reading one input leaves besides its batches: its report, and its rejected rows, held
    until they reach the build's quarantine file (which lives where the build runs)."""

    report: dict | None = None  # once the input is read to its end
    rejects: list[tuple[str, int, str, str | bytes]] = field(default_factory=list)
    run: Run | None = None  # the part read, where only a run of the input's

    def reject(self, source: str, line: int, reason: str, raw: str | bytes) -> None:
        self.rejects.append((source, line, reason, raw))


@dataclass(frozen=True)
class InputRead:
    """One input of an `Ingest`, read on its own: plain data, so that it travels to another process
    or machine (no quarantine file, no progress callback)."""

    source: Input
    config: BuildConfig
    taxonomy: Taxonomy

    def __call__(self, result: ReadResult, stats: StageStats) -> Iterator[pa.RecordBatch]:
        """The input's batches, counted into `stats.rows_out`; `result` gets its rejects and report."""
        reports: list[dict] = []
        result.run = self.source.run
        # read_inputs only calls `reject` on its quarantine: a ReadResult holds the rows instead.
        for batch in read_inputs([self.source], self.config, self.taxonomy, result, reports):  # type: ignore[arg-type]
            stats.rows_out += batch.num_rows
            yield batch
        (result.report,) = reports
