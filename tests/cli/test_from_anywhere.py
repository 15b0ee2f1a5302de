"""`honkdata` and its Python API work from any directory; `--version`, `-h` and `--json` as flags."""

import os
import subprocess
import sys
from pathlib import Path

import orjson
from typer.testing import CliRunner

from honkdata import __version__
from honkdata.build import build
from honkdata.cli import app
from honkdata.config import load_config
from honkdata.resources import shipped_config, shipped_sample

runner = CliRunner()


def test_build_with_the_default_config_from_another_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HONKDATA_ROOT"}  # the default root: ./data/snapshots
    proc = subprocess.run(
        [sys.executable, "-m", "honkdata.cli", "build", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    manifest = orjson.loads((tmp_path / "data/snapshots/music-queries/v0001/manifest.json").read_bytes())
    inputs = {Path(i["path"]): i for i in manifest["inputs"]}
    assert inputs[shipped_sample()]["rows_read"] == 20_000
    assert inputs[shipped_sample("snips")]["kind"] == "curated"  # the labeled set the demo trains on


def test_the_readme_python_snippet_from_another_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = build(load_config(shipped_config("build.yaml"), name="my-queries"))
    assert result.ref.name == "my-queries" and result.manifest["splits"]["train"]["rows"] > 0


def test_relative_paths_in_a_config_file_are_relative_to_its_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "logs").mkdir(parents=True)
    (project / "tax.yaml").write_text(shipped_config("taxonomy.yaml").read_text())
    (project / "build.yaml").write_text(
        "root: store\nsources:\n  - path: logs/*.jsonl\n  - path: /abs/log.jsonl\ntaxonomy: tax.yaml\n"
    )
    monkeypatch.chdir(tmp_path / "project" / "logs")  # anywhere but the config's folder
    config = load_config(project / "build.yaml")
    assert [s.path for s in config.sources] == [str(project / "logs/*.jsonl"), "/abs/log.jsonl"]
    assert (config.root, config.taxonomy) == (str(project / "store"), str(project / "tax.yaml"))
    # What the command line says is relative to where it is said.
    overridden = load_config(project / "build.yaml", sources=[{"path": "here.jsonl"}], root="out")
    assert ([s.path for s in overridden.sources], overridden.root) == (["here.jsonl"], "out")
    assert load_config(Path("../build.yaml")).root == "../store"  # a relative config stays relative
    (project / "aliased.yaml").write_text("sources:\n  - &s {path: a.jsonl}\n  - *s\n")
    aliased = load_config(Path("../aliased.yaml"))  # one mapping twice in the YAML: joined once
    assert [s.path for s in aliased.sources] == ["../a.jsonl", "../a.jsonl"]


def test_version_and_short_help():
    version = runner.invoke(app, ["--version"])
    assert (version.exit_code, version.stdout) == (0, f"honkdata {__version__}\n")
    for args in (["-h"], ["build", "-h"], ["snapshots", "tag", "-h"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and result.stdout.startswith("Usage: "), args


def test_json_is_documented_as_a_flag():
    for args in (["build", "-h"], ["snapshots", "list", "-h"], ["label", "analyze", "-h"]):
        usage = runner.invoke(app, args).stdout
        line = next(line for line in usage.splitlines() if "--json" in line)
        assert line.split()[:1] == ["--json"] and "<bool>" not in usage and "--no-json" not in usage
