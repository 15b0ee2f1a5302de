"""What a build tells whoever watches it (the CLI's progress display, a notebook, a job's log): when
each stage starts and ends, with its rows and seconds, and which inputs it is about to read, by size.
The build works the same with no one watching."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from honkdata.stage import StageStats

if TYPE_CHECKING:  # the readers are heavy to import, and a watcher needs none of them
    from honkdata.ingest.sources import Input


@dataclass(frozen=True)
class InputSize:
    path: Path
    format: str
    size: int  # bytes: a folder's files together


@dataclass(frozen=True)
class StageEvent:
    """A stage starts (`done` False) or ends (`done` True: rows in and out, seconds spent in it).

    The "ingest" start lists the inputs with their sizes: reading is the long part, and sizes are
    what a progress bar can be drawn against before anything is read."""

    stage: str
    done: bool = False
    rows_in: int = 0
    rows_out: int = 0
    seconds: float = 0.0
    inputs: tuple[InputSize, ...] = ()


OnStage = Callable[[StageEvent], None]


def input_sizes(inputs: "list[Input]") -> tuple[InputSize, ...]:
    return tuple(InputSize(i.path, i.format, _size(i.path)) for i in inputs)


def _size(path: Path) -> int:
    if isinstance(path, Path) and path.is_dir():  # a remote folder's stat sums its files, as listed
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


class StageWatch:
    """Reports stages to an optional `on_stage` callback."""

    def __init__(self, on_stage: OnStage | None) -> None:
        self.on_stage = on_stage

    def emit(self, event: StageEvent) -> None:
        if self.on_stage is not None:
            self.on_stage(event)

    def finished(self, stats: StageStats) -> None:
        self.emit(StageEvent(stats.name, True, stats.rows_in, stats.rows_out, stats.seconds))

    @contextmanager
    def timed(self, stats: StageStats) -> Iterator[None]:
        """`stats.timed()`, announced: the stage's start, then its end with rows and seconds."""
        self.emit(StageEvent(stats.name))
        with stats.timed():
            yield
        self.finished(stats)
