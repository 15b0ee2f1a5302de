"""Every retrain run, one JSON line each, beside the snapshots: what the gate decided and why, night
after night, for the notebooks and for whoever is on call."""

from pathlib import Path

import orjson

from honkdata.errors import HonkdataError

RUNS_FILE = "runs.jsonl"
# Beside the snapshots: a name starting with "_" is never a dataset's.
WORK_DIR = "_retrain"


def work_dir(root: Path, name: str) -> Path:
    """Where the retrain runs of dataset `name` keep their lock, their models in training and their log."""
    return Path(root) / WORK_DIR / name


def retrain_runs(root: Path, name: str) -> list[dict]:
    """Every recorded retrain of dataset `name` under the store at `root`, oldest first."""
    return read_runs(work_dir(root, name))


def append_run(work: Path, summary: dict) -> None:
    """Add one run's summary; runs of a dataset never overlap (the retrain lock), so appends do not
    interleave, and a line is written in one call, so a crash leaves at most one partial last line."""
    work.mkdir(parents=True, exist_ok=True)
    line = orjson.dumps(summary, default=str) + b"\n"
    with open(work / RUNS_FILE, "ab") as f:
        f.write(line)


def read_runs(work: Path) -> list[dict]:
    """The recorded runs, oldest first; a partial last line (a crash mid-write) is skipped."""
    path = work / RUNS_FILE
    if not path.is_file():
        return []
    lines = path.read_bytes().splitlines()
    runs = []
    for number, line in enumerate(lines, 1):
        try:
            runs.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            if number < len(lines):
                raise HonkdataError(f"{path}: line {number} is not JSON") from None
    return runs
