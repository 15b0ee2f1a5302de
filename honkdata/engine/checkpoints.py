"""Resumable builds: each finished step of a build leaves its rows and counters under the work
directory, so that a build that was killed (kill -9, out of memory, a lost machine) restarts, with
`honkdata build --resume`, after its last finished step instead of from the first byte.

A step's checkpoint is its output table (Parquet) and a JSON file with every stage's counters so far
and the state later steps read back from earlier stages (the ingest reports, the PII values found,
for the leak check); the JSON is written last, by rename, so a checkpoint is there whole or not at
all. The folder is the build's own (`<work dir>/<dataset>/<build key>`, owner-only: the PII values
found are raw text) and is removed when the build ends, published or failed; only a killed build
leaves it behind.
"""

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import orjson
import pyarrow as pa

from honkdata.snapshot.store import fsync_dir, replace_file
from honkdata.stage import StageStats


@runtime_checkable
class Stateful(Protocol):
    """A stage whose object holds what later steps read (not only its output rows)."""

    name: str

    def state(self) -> dict:
        """What a resumed build needs back, as JSON."""
        ...

    def restore(self, state: dict) -> None: ...


def build_key(*parts: object) -> str:
    """The identity of one build: what it reads and how (inputs by content, config, parent)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:16]


class Checkpoints:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def last(self, steps: Sequence[str]) -> str | None:
        """The last of `steps` (in order) that finished, if the ones before it did too."""
        done = None
        for step in steps:
            if not (self.folder / f"{step}.json").is_file():
                break
            done = step
        return done

    def save(
        self, step: str, table: pa.Table, stats: dict[str, StageStats], stages: Sequence[object]
    ) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_table(self.folder / f"{step}.arrow", table)
        record = {
            "stats": {name: s.to_dict() for name, s in stats.items()},
            "state": {s.name: s.state() for s in stages if isinstance(s, Stateful)},
        }
        replace_file(self.folder / f"{step}.json", orjson.dumps(record))  # last: the step is done

    def load(self, steps: Sequence[str], stages: Sequence[object]) -> tuple[pa.Table, dict[str, StageStats]]:
        """The rows after the last of `steps` (the finished ones, in order), every stage's counters
        then, and each stage's state as the last of their checkpoints that holds it saved it (a step
        saves only the state that may have changed since the one before)."""
        records = [orjson.loads((self.folder / f"{step}.json").read_bytes()) for step in steps]
        state = {name: value for record in records for name, value in record["state"].items()}
        for stage in stages:
            if isinstance(stage, Stateful) and stage.name in state:
                stage.restore(state[stage.name])
        stats = {name: StageStats.from_dict(name, s) for name, s in records[-1]["stats"].items()}
        with pa.OSFile(str(self.folder / f"{steps[-1]}.arrow")) as source:
            return pa.ipc.open_file(source).read_all(), stats

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _write_table(path: Path, table: pa.Table) -> None:
    """Arrow IPC with LZ4 frames (a checkpoint is read back only by this version: no need for
    Parquet's encoding pass), to a temporary file, synced, renamed over `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    with pa.ipc.new_file(tmp, table.schema, options=pa.ipc.IpcWriteOptions(compression="lz4")) as out:
        out.write_table(table)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
