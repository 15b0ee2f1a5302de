"""Progress per stage, and output that a pipe or a CI log keeps whole (no wrapping at 80 columns)."""

import gzip
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console
from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.cli.progress import BuildProgress, ReadEstimate, stage_line
from honkdata.progress import InputSize, StageEvent
from tests.conftest import BUILD_STAGES, write_jsonl

runner = CliRunner()

def test_a_build_in_a_log_prints_one_plain_line_per_stage(tmp_path, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    result = runner.invoke(app, ["build", "-s", str(log), "--root", str(tmp_path / "s"), "--k-anon", "1"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == f"reading 1 input, {log.stat().st_size} bytes"
    assert [line.split(":")[0] for line in lines[1:]] == [*BUILD_STAGES, "write"]
    assert lines[1].startswith(f"ingest: {len(events)} rows, ") and lines[1].endswith(" s")
    assert "\x1b" not in result.stderr  # no colours, no cursor movement in a log

    quiet = runner.invoke(
        app, ["build", "-s", str(log), "--root", str(tmp_path / "q"), "--k-anon", "1", "-q"]
    )
    assert quiet.exit_code == 0 and quiet.stderr == ""
    as_json = runner.invoke(
        app, ["build", "-s", str(log), "--root", str(tmp_path / "j"), "--k-anon", "1", "--json"]
    )
    assert json.loads(as_json.stdout)["status"] == "built"  # progress stays on stderr


def test_long_paths_and_cells_stay_whole_in_a_pipe(tmp_path, events):
    folder = tmp_path.joinpath(*[f"a-rather-long-folder-name-{i}" for i in range(4)])
    folder.mkdir(parents=True)
    log = write_jsonl(folder / "queries-with-a-long-file-name-as-exports-have.jsonl", events)
    assert len(str(log)) > 200
    root = str(tmp_path / "s")
    assert runner.invoke(app, ["build", "-s", str(log), "--root", root, "--k-anon", "1"]).exit_code == 0
    shown = runner.invoke(
        app, ["snapshots", "show", "music-queries@v1", "--root", root], env={"COLUMNS": "80"}
    )
    row = next(line for line in shown.stdout.splitlines() if str(log) in line)
    assert "jsonl" in row.replace(str(log), "") and "user_log" in row  # the whole table row, one line
    for command in (["snapshots", "list"], ["snapshots", "diff", "music-queries@v1", "music-queries@v1"]):
        out = runner.invoke(app, [*command, "--root", root]).stdout
        assert "…" not in out, command  # no cell cut short


def _text(path: Path, lines: int, width: int) -> InputSize:
    path.write_text("".join(f"{'x' * (width - 1)}\n" for _ in range(lines)))
    return InputSize(path, "jsonl", path.stat().st_size)


def test_rows_are_estimated_before_reading(tmp_path):
    big = _text(tmp_path / "big.jsonl", 50_000, 120)  # larger than the head that is sampled
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.table({"query": ["a"] * 1000}), parquet)
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(b"".join(b"q" * 59 + b"\n" for _ in range(3000))))
    estimate = ReadEstimate(
        (
            big,
            InputSize(parquet, "parquet", parquet.stat().st_size),
            InputSize(packed, "jsonl", packed.stat().st_size),
        )
    )
    assert estimate.rows == pytest.approx(50_000 + 1000 + 3000)
    assert estimate.bytes_read(0) == 0
    assert estimate.bytes_read(27_000) == pytest.approx(estimate.total / 2)
    assert estimate.bytes_read(10**9) < estimate.total  # full only when reading is over


def test_a_terminal_gets_a_bar_by_bytes_and_the_same_lines(tmp_path):
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    item = _text(tmp_path / "log.jsonl", 1000, 100)
    with BuildProgress(console) as progress:
        progress.on_stage(StageEvent("ingest", inputs=(item,)))
        progress.on_progress("log.jsonl", 250)
        task = progress.live.tasks[0]
        assert (task.total, task.completed) == (item.size, pytest.approx(item.size / 4))
        assert task.description == "reading log.jsonl: 250 rows"
        progress.on_stage(StageEvent("ingest", done=True, rows_in=1000, rows_out=1000, seconds=1.25))
        assert progress.live.tasks == []
    assert "ingest: 1,000 rows, 1.2 s" in console.file.getvalue()


def test_stage_lines():
    assert stage_line(StageEvent("release", True, 6361, 466, 0.04)) == "release: 466 rows (of 6,361), 0.0 s"
    assert stage_line(StageEvent("label", True, 466, 466, 2.0)) == "label: 466 rows, 2.0 s"
    assert stage_line(StageEvent("check_inputs", True, seconds=0.31)) == "check_inputs: 0.3 s"
