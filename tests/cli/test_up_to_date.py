"""A build whose inputs and config equal the latest version's writes nothing; `--force` writes."""

import json

import pytest
from typer.testing import CliRunner

from honkdata.build import build
from honkdata.cli import app
from honkdata.errors import HonkdataWarning
from honkdata.snapshot.store import SnapshotStore
from tests.conftest import write_jsonl

runner = CliRunner()


def _build(*args: str):
    return runner.invoke(app, ["build", "--k-anon", "1", *args], catch_exceptions=False)


def test_the_same_inputs_and_config_are_up_to_date(tmp_path, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    root = tmp_path / "store"
    args = ("-s", str(log), "--root", str(root), "--name", "q")
    assert _build(*args).exit_code == 0
    again = _build(*args)
    assert again.exit_code == 0, again.output
    assert again.stdout == f"up to date: q@v1 {root / 'q' / 'v0001'}\n"
    payload = json.loads(_build(*args, "--json").stdout)
    assert (payload["status"], payload["ref"], payload["manifest"]["version"]) == ("up_to_date", "q@v1", 1)
    assert SnapshotStore(root).versions("q") == [1]
    assert sorted(p.name for p in (root / "q").iterdir() if not p.name.startswith(".")) == ["v0001"]

    forced = json.loads(_build(*args, "--force", "--json").stdout)
    assert (forced["status"], forced["ref"]) == ("built", "q@v2")
    assert json.loads(_build(*args, "--k-anon", "2", "--json").stdout)["ref"] == "q@v3"  # config changed


def test_an_input_changed_in_place_is_built_even_at_the_same_size(tmp_path, make_config, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    first = build(make_config(log))
    assert not first.up_to_date
    same = build(make_config(log))
    assert same.up_to_date and same.ref == first.ref and same.manifest == first.manifest
    log.write_text(log.read_text().replace("chill", "calm!"))  # same bytes count, other content
    changed = build(make_config(log))
    assert not changed.up_to_date and changed.ref.version == 2
    assert changed.manifest["warnings"] == []  # the same log, grown or edited: not another dataset
    assert build(make_config(log), force=True).ref.version == 3


def test_a_build_that_shares_no_input_with_its_parent_warns(tmp_path, make_config, events):
    old = write_jsonl(tmp_path / "old.jsonl", events)
    new = write_jsonl(tmp_path / "new.jsonl", [{"query": "play some jazz", "user_id": "u1"}])
    build(make_config(old))
    with pytest.warns(HonkdataWarning, match="no input of this build was an input of music-queries@v1"):
        unrelated = build(make_config(new))
    assert any("no input of this build" in w for w in unrelated.manifest["warnings"])
    moved = tmp_path / "moved.jsonl"
    new.rename(moved)
    assert build(make_config(old, moved)).manifest["warnings"] == []  # moved.jsonl is new.jsonl
