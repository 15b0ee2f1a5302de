"""`honkdata build`'s progress on stderr: one line per finished stage (name, rows, seconds), and on a
terminal a live bar with an ETA while the inputs are read and a spinner for the stage that runs. In
a pipe or a CI log there is nothing to animate, so only the lines are written."""

import gzip
import struct
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.filesize import decimal
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from honkdata.ingest.remote import RemotePath
from honkdata.progress import InputSize, StageEvent

_HEAD = 64 << 10  # bytes of a text input sampled for its bytes per line
_BYTES_PER_ROW = 100.0  # a guess for inputs nothing is sampled from (folders, remote files)


def _estimated_rows(item: InputSize) -> float | None:
    """Rows an input will yield, guessed before reading it: a Parquet file says; a text file's size
    over the bytes per line of its head (for .gz, the uncompressed size in its trailer). A folder, or
    a file on object storage (not opened twice for a guess), is guessed from its size."""
    if item.path.is_dir() or isinstance(item.path, RemotePath):
        return None
    try:
        if item.format == "parquet":
            return float(pq.ParquetFile(item.path).metadata.num_rows)
        gz = item.path.name.endswith(".gz")
        with gzip.open(item.path) if gz else open(item.path, "rb") as f:
            head = f.read(_HEAD)
        size = _gzip_size(item) if gz else item.size
    except (OSError, EOFError, pa.ArrowException):
        return None
    if not (lines := head.count(b"\n")):
        return size / len(head) if head else 0.0  # no line ends in the head: rows longer than it
    return size * lines / (head.rfind(b"\n") + 1)  # whole lines only: the head ends mid-line


def _gzip_size(item: InputSize) -> int:
    """The uncompressed size a gzip file records in its last four bytes (modulo 4 GiB)."""
    with open(item.path, "rb") as f:
        f.seek(-4, 2)
        return struct.unpack("<I", f.read(4))[0]


class ReadEstimate:
    """Readers report rows, not bytes: the bytes read so far are estimated as the share of all the
    inputs' estimated rows that has been read, times their total size."""

    def __init__(self, inputs: tuple[InputSize, ...]) -> None:
        self.total = sum(i.size for i in inputs)
        guesses = [(_estimated_rows(i), i.size) for i in inputs]
        known_rows = sum(rows for rows, _ in guesses if rows)
        known_bytes = sum(size for rows, size in guesses if rows)
        per_row = known_bytes / known_rows if known_rows else _BYTES_PER_ROW
        self.rows = sum(rows if rows else size / per_row for rows, size in guesses)

    def bytes_read(self, rows: int) -> float:
        # Short of the end until the readers are done: the row estimate may be low.
        return self.total * min(rows / self.rows, 0.99) if self.rows else 0.0


def stage_line(event: StageEvent) -> str:
    rows = f"{event.rows_out:,} rows" if event.rows_in or event.rows_out else ""
    if event.rows_in != event.rows_out:
        rows += f" (of {event.rows_in:,})"
    return f"{event.stage}: {rows + ', ' if rows else ''}{event.seconds:.1f} s"


class BuildProgress:
    """Takes build()'s `on_stage` and `on_progress` calls and shows them on `console` (stderr)."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console, self.quiet = console, quiet
        self.live: Progress | None = None
        if console.is_terminal and not quiet:
            self.live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
        self.task: TaskID | None = None
        self.estimate: ReadEstimate | None = None
        self.rows = 0

    def __enter__(self) -> "BuildProgress":
        if self.live:
            self.live.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.live:
            self.live.stop()

    def on_stage(self, event: StageEvent) -> None:
        if self.quiet:
            return
        if event.done:
            if self.live and self.task is not None:
                self.live.remove_task(self.task)
                self.task = None
            self.console.print(stage_line(event), highlight=False, soft_wrap=True)
        elif event.stage == "ingest":
            self._start_reading(event.inputs)
        elif self.live:
            self.task = self.live.add_task(event.stage, total=None)

    def _start_reading(self, inputs: tuple[InputSize, ...]) -> None:
        total = sum(i.size for i in inputs)
        many = f"{len(inputs)} inputs" if len(inputs) != 1 else "1 input"
        self.console.print(f"reading {many}, {decimal(total)}", highlight=False, soft_wrap=True)
        if self.live:
            self.estimate = ReadEstimate(inputs)
            self.task = self.live.add_task("reading", total=max(total, 1))

    def on_progress(self, source: str, rows: int) -> None:
        """Called from the reading thread, for every batch read."""
        self.rows += rows
        if self.live and self.estimate and self.task is not None:
            self.live.update(
                self.task,
                completed=self.estimate.bytes_read(self.rows),
                description=f"reading {source}: {self.rows:,} rows",
            )
