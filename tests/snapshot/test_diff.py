"""`snapshots diff`: rows, labels and label sources, inputs and config between two versions."""

import json

from typer.testing import CliRunner

from honkdata.cli import app
from honkdata.snapshot.diff import config_changes, diff_snapshots, manifest_diff
from honkdata.snapshot.store import SnapshotStore


def _row(id_: str, intent: str, label_source: str, split: str = "train") -> dict:
    return {
        "id": id_,
        "text": f"query {id_}",
        "intent": intent,
        "label_source": label_source,
        "split": split,
        "count": 1,
    }


def _input(path: str, sha256: str, rows: int) -> dict:
    return {
        "path": path,
        "format": "jsonl",
        "kind": "user_log",
        "size": 10,
        "sha256": sha256,
        "rows_read": rows,
        "rows_rejected": 0,
        "rows_repaired": 0,
    }


def _two_versions(store: SnapshotStore, publish) -> None:
    publish(
        store,
        "q",
        data_rows=[
            _row("a", "play_music", "weak"),
            _row("b", "playback_control", "weak"),
            _row("c", "like", "gold"),
        ],
        inputs=[_input("logs/a.jsonl", "1" * 64, 10), _input("logs/old.jsonl", "2" * 64, 5)],
        config={"anonymize": {"k_anonymity": 5, "dp": None}, "ingest": {"keep_fields": []}, "root": "s"},
    )
    publish(
        store,
        "q",
        data_rows=[
            _row("a", "play_music", "human"),  # a person agreed with the functions: still relabeled
            _row("b", "recommend", "weak"),
            _row("d", "dislike", "weak", "test"),
        ],
        inputs=[_input("logs/a.jsonl", "1" * 64, 10), _input("logs/new.jsonl", "3" * 64, 7)],
        config={
            "anonymize": {"k_anonymity": 1, "dp": None},
            "ingest": {"keep_fields": ["locale"]},
            "root": "s",
        },
    )


def test_diff_lists_rows_label_sources_inputs_and_config(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    _two_versions(store, publish)
    d = diff_snapshots(store, store.resolve("q@v1"), store.resolve("q@v2"))
    counts = (d["rows_added"], d["rows_removed"], d["rows_kept"], d["rows_relabeled"])
    assert counts == (1, 1, 2, 2)
    assert d["label_source_changes"] == [{"before": "weak", "after": "human", "rows": 1}]
    examples = {e["text"]: e for e in d["relabeled_examples"]}
    assert examples["query a"] == {
        "text": "query a",
        "before": "play_music",
        "after": "play_music",
        "label_source_before": "weak",
        "label_source_after": "human",
    }
    assert [i["path"] for i in d["inputs_added"]] == ["logs/new.jsonl"]
    assert d["inputs_removed"] == [{"path": "logs/old.jsonl", "sha256": "2" * 64, "rows_read": 5}]
    assert d["config_changes"] == [
        {"key": "anonymize.k_anonymity", "before": 5, "after": 1},
        {"key": "ingest.keep_fields", "before": [], "after": ["locale"]},
    ]


def test_an_input_rewritten_in_place_is_removed_and_added():
    old = {"inputs": [_input("logs/a.jsonl", "1" * 64, 10)]}
    new = {"inputs": [_input("logs/a.jsonl", "9" * 64, 12)]}
    d = manifest_diff(old, new)
    assert [i["sha256"] for i in d["inputs_added"]] == ["9" * 64]
    assert [i["sha256"] for i in d["inputs_removed"]] == ["1" * 64]


def test_config_changes_are_dotted_keys_with_both_values():
    old = {"sources": [{"path": "a.jsonl", "format": "auto"}], "split": {"train": 0.8}, "dedup": {}}
    new = {
        "sources": [{"path": "b.jsonl", "format": "auto"}, {"path": "c.jsonl", "format": "bio"}],
        "split": {"train": 0.8},
        "dedup": {"near": {"bands": 16}},
    }
    assert config_changes(old, new) == [
        {"key": "dedup.near.bands", "before": None, "after": 16},
        {"key": "sources.0.path", "before": "a.jsonl", "after": "b.jsonl"},
        {"key": "sources.1.format", "before": None, "after": "bio"},
        {"key": "sources.1.path", "before": None, "after": "c.jsonl"},
    ]
    assert config_changes(new, new) == []


def test_diff_command_prints_every_change_and_takes_tags(tmp_path, publish):
    store = SnapshotStore(tmp_path)
    _two_versions(store, publish)
    runner, root = CliRunner(), str(tmp_path)
    assert runner.invoke(app, ["snapshots", "tag", "q@v1", "baseline", "--root", root]).exit_code == 0
    result = runner.invoke(app, ["snapshots", "diff", "q@baseline", "q@latest", "--root", root])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "q@v1 -> q@v2"
    assert "added 1, removed 1, kept 2, relabeled 2, moved split 0" in lines
    assert f"input added: logs/new.jsonl (sha256 {'3' * 12}, 7 rows)" in lines
    assert f"input removed: logs/old.jsonl (sha256 {'2' * 12}, 5 rows)" in lines
    assert "config anonymize.k_anonymity: 5 -> 1" in lines
    assert "label source weak -> human: 1 rows" in lines
    assert "  relabeled: 'query a': play_music (weak) -> play_music (human)" in lines
    as_json = json.loads(
        runner.invoke(app, ["snapshots", "diff", "q@baseline", "q@v2", "--root", root, "--json"]).stdout
    )
    assert as_json["old"] == "q@v1" and as_json["label_source_changes"][0]["rows"] == 1
