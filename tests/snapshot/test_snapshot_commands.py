"""`honkdata snapshots list|show|diff` over a store with a broken snapshot and refs that try to leave it."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.snapshot.store import SnapshotStore

BROKEN = ("error: q@v2 (", ") is broken: manifest.json is not valid JSON")


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "honkdata.cli", *args], capture_output=True, text=True, check=False
    )


def _assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")
    for word in words:
        assert word in proc.stderr


def test_list_shows_a_broken_snapshot_and_the_rest(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    publish(store, "q")
    publish(store, "q", b"{truncated")
    root = str(tmp_path)

    table = CliRunner().invoke(app, ["snapshots", "list", "--root", root])
    assert table.exit_code == 0, table.output
    assert "q@v1" in table.stdout and "2026-09-01" in table.stdout
    assert "q@v2" in table.stdout and "broken" in table.stdout and "manifest.json" in table.stdout

    listed = json.loads(CliRunner().invoke(app, ["snapshots", "list", "--root", root, "--json"]).stdout)
    assert [(r["ref"], r["broken"] is None) for r in listed] == [("q@v1", True), ("q@v2", False)]
    assert "not valid JSON" in listed[1]["broken"]

    assert "q@v1" in CliRunner().invoke(app, ["snapshots", "show", "q@v1", "--root", root]).stdout
    _assert_one_line_error(_run("snapshots", "show", "q@v2", "--root", root), *BROKEN)
    _assert_one_line_error(_run("snapshots", "show", "q@latest", "--root", root), *BROKEN)
    _assert_one_line_error(_run("snapshots", "diff", "q@v1", "q@v2", "--root", root), *BROKEN)


def test_show_and_diff_refuse_refs_outside_the_store(tmp_path, publish):
    outside = SnapshotStore(tmp_path / "elsewhere")
    publish(outside, "secret")  # a real snapshot that a path-like ref could reach
    root = str(tmp_path / "store")
    publish(SnapshotStore(tmp_path / "store"), "q")
    for ref in ("../elsewhere/secret@v1", f"{tmp_path}/elsewhere/secret@v1", "q/../../elsewhere/secret"):
        _assert_one_line_error(_run("snapshots", "show", ref, "--root", root), "bad dataset name")
        _assert_one_line_error(_run("snapshots", "diff", "q@v1", ref, "--root", root), "bad dataset name")
