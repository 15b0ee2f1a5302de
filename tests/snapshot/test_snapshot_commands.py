"""`honkdata snapshots list|show|diff|tag` over a store with a broken snapshot, refs that try to leave it,
and tags."""

import json
import subprocess
import sys

import pytest
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


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _assert_one_line_cli_error(result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: ")
    for word in words:
        assert word in result.stderr


def test_tag_then_show_and_list_by_tag(tmp_path, publish):
    store, root = SnapshotStore(tmp_path), str(tmp_path)
    publish(store, "q")
    publish(store, "q")
    assert _invoke("snapshots", "tag", "q@v1", "prod", "--root", root).stdout == "tagged q@v1 as prod\n"
    shown = _invoke("snapshots", "show", "q@prod", "--root", root)
    assert shown.stdout.startswith("q@v1 ") and "tags: prod" in shown.stdout.splitlines()

    moved = _invoke("snapshots", "tag", "q@latest", "prod", "--root", root)
    assert moved.stdout == "moved tag prod from q@v1 to q@v2\n"
    again = _invoke("snapshots", "tag", "q@prod", "prod", "--root", root, "--json")
    assert json.loads(again.stdout) == {"tag": "prod", "ref": "q@v2", "previous": "q@v2"}
    listed = json.loads(_invoke("snapshots", "list", "--root", root, "--json").stdout)
    assert [(r["ref"], r["tags"]) for r in listed] == [("q@v1", []), ("q@v2", ["prod"])]
    table = _invoke("snapshots", "list", "--root", root).stdout
    assert next(line for line in table.splitlines() if "q@v2" in line).count("prod") == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["snapshots", "tag", "q@v1", "v2"], ["bad tag 'v2'", "not a version"]),
        (["snapshots", "tag", "q@v1", "latest"], ["bad tag 'latest'"]),
        (["snapshots", "tag", "q@v1", "12"], ["bad tag '12'"]),
        (["snapshots", "tag", "q@v1", "../x"], ["bad tag '../x'"]),
        (["snapshots", "tag", "q@v7", "prod"], ["q has no version v7"]),
        (["snapshots", "tag", "nope@v1", "prod"], ["no snapshots named 'nope'"]),
        (["snapshots", "show", "q@stable"], ["q has no version or tag 'stable' (no tags)"]),
        (["snapshots", "show", "q@a/b"], ["bad snapshot reference 'q@a/b'"]),
        (["snapshots", "diff", "q@v1", "q@stable"], ["no version or tag 'stable'"]),
    ],
)
def test_bad_tags_and_refs_are_one_line_errors(tmp_path, publish, args, words):
    publish(SnapshotStore(tmp_path), "q")
    _assert_one_line_cli_error(CliRunner().invoke(app, [*args, "--root", str(tmp_path)]), *words)
    assert not (tmp_path / "q" / "tags.json").exists()
