import json
import subprocess
import sys

from typer.testing import CliRunner

from honkdata.cli import app
from tests.conftest import write_jsonl

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_build_list_show_diff(tmp_path, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    root = str(tmp_path / "store")
    first = _invoke("build", "--source", str(log), "--root", root, "--name", "q", "--k-anon", "1")
    assert first.exit_code == 0, first.output
    assert "q@v1" in first.output and str(tmp_path / "store" / "q" / "v0001") in first.output
    more = write_jsonl(tmp_path / "more.jsonl", [{"query": "play the new adele album", "user_id": "u5"}])
    second = _invoke(
        "build", "-s", str(log), "-s", str(more), "--root", root, "--name", "q", "--k-anon", "1", "--json"
    )
    assert second.exit_code == 0
    payload = json.loads(second.stdout)
    assert payload["ref"] == "q@v2" and payload["manifest"]["parent_version"] == 1

    listed = json.loads(_invoke("snapshots", "list", "--root", root, "--json").stdout)
    assert [r["ref"] for r in listed] == ["q@v1", "q@v2"]
    shown = _invoke("snapshots", "show", "q@latest", "--root", root)
    assert "q@v2" in shown.stdout and "exact_dedup" in shown.stdout
    assert json.loads(_invoke("snapshots", "show", "q@v1", "--root", root, "--json").stdout)["version"] == 1
    diff = json.loads(_invoke("snapshots", "diff", "q@v1", "q@v2", "--root", root, "--json").stdout)
    assert (diff["rows_added"], diff["rows_removed"]) == (1, 0)
    assert "added 1, removed 0" in _invoke("snapshots", "diff", "q@v1", "q@latest", "--root", root).stdout


def test_root_from_environment(tmp_path, events, monkeypatch):
    monkeypatch.setenv("HONKDATA_ROOT", str(tmp_path / "env-store"))
    log = write_jsonl(tmp_path / "log.jsonl", events)
    assert _invoke("build", "--source", str(log), "--k-anon", "1").exit_code == 0
    assert (tmp_path / "env-store" / "music-queries" / "v0001" / "manifest.json").is_file()
    assert "music-queries@v1" in _invoke("snapshots", "list").stdout


def test_bad_input_is_one_line_and_exit_2_without_traceback(tmp_path):
    cases = [
        ["build", "--source", str(tmp_path / "missing.jsonl"), "--root", str(tmp_path)],
        ["build", "--config", str(tmp_path / "missing.yaml")],
        ["snapshots", "show", "nothing@v1", "--root", str(tmp_path)],
        ["snapshots", "show", "nothing@vx", "--root", str(tmp_path)],
    ]
    for args in cases:
        proc = subprocess.run(
            [sys.executable, "-m", "honkdata.cli", *args], capture_output=True, text=True, check=False
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error: ")


def test_every_command_has_help():
    for args in (
        ["--help"],
        ["build", "--help"],
        ["snapshots", "--help"],
        ["snapshots", "diff", "--help"],
        ["snapshots", "tag", "--help"],
        ["synth", "--help"],
    ):
        result = _invoke(*args)
        assert result.exit_code == 0 and "Usage" in result.stdout
