"""Resumable builds: a build killed mid-stage continues after its last finished step and publishes
the snapshot an uninterrupted build would have."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from honkdata.build import build
from honkdata.config import load_config
from honkdata.engine.checkpoints import Checkpoints
from honkdata.stage import StageStats
from tests.conftest import SNIPS_SAMPLE, write_jsonl

# Runs a build whose label stage announces itself and then hangs, so the test can kill it there.
_HANGING_BUILD = """
import sys, time
from pathlib import Path
from honkdata.build import build
from honkdata.config import load_config
from honkdata.label.stage import ApplyLabels

def hang(self, table, stats):
    Path(sys.argv[3]).touch()
    time.sleep(600)

ApplyLabels.__call__ = hang
build(load_config(None, sources=[{"path": sys.argv[1]}, {"path": sys.argv[4], "format": "snips"}],
                  root=sys.argv[2], anonymize={"k_anonymity": 2}))
"""


@pytest.fixture
def log(tmp_path: Path) -> Path:
    rows = [
        {"query": q, "user_id": f"u{u}", "locale": "en-US"}
        for q in ("play taylor swift", "call john smith at 555 123 4567", "add this to my gym playlist")
        for u in range(3)
    ]
    path = write_jsonl(tmp_path / "log.jsonl", rows)
    with open(path, "a") as f:
        f.write('{"query": "broken\n')  # quarantined
    return path


def _config(log: Path, root: Path):
    sources = [{"path": str(log)}, {"path": str(SNIPS_SAMPLE), "format": "snips"}]
    return load_config(None, sources=sources, root=str(root), anonymize={"k_anonymity": 2})


def test_a_build_killed_mid_stage_resumes_after_its_last_finished_step(log: Path, tmp_path: Path) -> None:
    root, marker = tmp_path / "store", tmp_path / "labeling"
    command = [sys.executable, "-c", _HANGING_BUILD, str(log), str(root), str(marker), str(SNIPS_SAMPLE)]
    proc = subprocess.Popen(command, cwd=Path(__file__).parents[2], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), (
        proc.stderr.read() if proc.poll() is not None else "the build never reached labels"
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    (left,) = (root / "_work" / "music-queries").iterdir()
    assert {p.name for p in left.glob("*.json")} == {"exact_dedup.json", "release.json"}

    resumed = build(_config(log, root), resume=True)
    assert resumed.resumed_after == "release"
    assert not (root / "_work" / "music-queries" / left.name).exists()  # gone once published
    reference = build(_config(log, tmp_path / "reference"))
    assert reference.resumed_after is None
    ours, theirs = resumed.manifest, reference.manifest
    assert ours["content_hash"] == theirs["content_hash"]
    for name, stage in theirs["stages"].items():
        counted = {k: v for k, v in ours["stages"][name].items() if k != "seconds"}
        assert counted == {k: v for k, v in stage.items() if k != "seconds"}, name
    assert ours["quarantine"]["rows"] == theirs["quarantine"]["rows"] == 1
    assert Path(ours["quarantine"]["path"]).is_file()  # the killed run's, which holds the rejected line
    assert ours["inputs"] == theirs["inputs"]


def test_a_build_without_resume_starts_over_and_clears_a_killed_builds_work(
    log: Path, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    stale = root / "_work" / "music-queries" / "0123456789abcdef"
    stale.mkdir(parents=True)
    (stale / "exact_dedup.json").write_text("{}")
    result = build(_config(log, root))
    assert result.resumed_after is None
    assert list((root / "_work" / "music-queries").iterdir()) == []


def test_resume_with_nothing_to_resume_builds_from_the_start(log: Path, tmp_path: Path) -> None:
    result = build(_config(log, tmp_path / "store"), resume=True)
    assert result.resumed_after is None and result.manifest["rows"] > 0


def test_a_checkpoint_keeps_rows_counters_and_state(tmp_path: Path) -> None:
    class Stage:
        name = "merge"

        def __init__(self) -> None:
            self.largest: list = []

        def state(self) -> dict:
            return {"largest": self.largest}

        def restore(self, state: dict) -> None:
            self.largest = state["largest"]

    checkpoints, stage = Checkpoints(tmp_path / "work"), Stage()
    stage.largest = [{"text": "play abba", "count": 3}]
    stats = StageStats("merge", rows_in=3, rows_out=2)
    stats.drop("merged", 1)
    stats.note("clusters", 1)
    stats.tally("moved", "train->test", 1)  # breakdowns come back from a checkpoint too
    table = pa.table({"id": ["a", "b"]})
    assert checkpoints.last(["grouping", "merge"]) is None
    checkpoints.save("grouping", table, {"merge": stats}, [stage])
    assert checkpoints.last(["grouping", "merge"]) == "grouping"
    assert checkpoints.last(["merge", "grouping"]) is None  # a later step never counts without the earlier
    fresh = Stage()
    rows, counted = checkpoints.load(["grouping"], [fresh])
    assert rows.equals(table) and fresh.largest == stage.largest
    assert counted["merge"].to_dict() == stats.to_dict()

    # A later step saves only the state that may have changed: the earlier state comes from before.
    later = Stage()
    later.name, later.largest = "split", ["moved"]
    checkpoints.save("merge", table.slice(1), {"merge": stats}, [later])
    fresh, fresh_later = Stage(), Stage()
    fresh_later.name = "split"
    rows, _ = checkpoints.load(["grouping", "merge"], [fresh, fresh_later])
    assert rows.equals(table.slice(1)) and (fresh.largest, fresh_later.largest) == (stage.largest, ["moved"])
    checkpoints.clear()
    assert not (tmp_path / "work").exists()


def test_the_command_line_resumes_and_says_so(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from honkdata.cli import app

    log = write_jsonl(tmp_path / "clean.jsonl", [{"query": "play abba", "user_id": "u1"}])
    args = ["build", "-s", str(log), "--root", str(tmp_path / "store"), "--k-anon", "1", "--json", "--resume"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"resumed_after": null' in result.stdout  # nothing to resume: built from the start
