import json

import pandas as pd
from typer.testing import CliRunner

from honkdata.build import build
from honkdata.cli import app
from honkdata.label.stage import LABELED, UNLABELED, WEAK_AGREED, WEAK_CHECKED
from tests.conftest import FIXTURES, write_jsonl

QUERIES = [
    "play taylor swift",
    "skip this song",
    "add this song to my gym playlist",
    "what's the weather tomorrow",
    "who sings this song",
    "something like radiohead for running",
    "xq zz blorp",
]


def _log(tmp_path, queries=QUERIES):
    return write_jsonl(
        tmp_path / "log.jsonl", [{"query": q, "user_id": f"u{i}"} for i, q in enumerate(queries)]
    )


def _rows(path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted((path / "data").glob("*.parquet"))]).set_index(
        "text"
    )


def test_build_labels_rows_without_gold_and_keeps_gold(tmp_path, make_config):
    result = build(make_config(_log(tmp_path), FIXTURES / "public" / "snips"))
    rows = _rows(result.path)
    assert rows.loc["skip this song", "intent"] == "playback_control"
    assert rows.loc["add this song to my gym playlist", "intent"] == "playlist_add"
    assert rows.loc["skip this song", "label_source"] == "weak"
    assert 0 < rows.loc["skip this song", "label_confidence"] <= 1
    assert pd.isna(rows.loc["xq zz blorp", "label_source"])  # every function abstained
    gold = rows[rows["label_source"] == "gold"]
    assert len(gold) > 20 and set(gold["intent"]) >= {"play_music", "playlist_add"}
    label = result.manifest["stages"]["label"]
    labeled = label["breakdowns"][LABELED]
    assert labeled["gold"] == len(gold) and labeled["weak"] >= 5 and label["notes"][UNLABELED] >= 1


def test_weak_labels_can_be_switched_off(tmp_path, make_config):
    result = build(make_config(_log(tmp_path), labels={"weak": False}))
    assert _rows(result.path)["intent"].isna().all()


def test_human_labels_round_trip_through_label_studio_into_the_next_build(tmp_path, make_config):
    root = str(tmp_path / "store")
    log = _log(tmp_path)
    first = build(make_config(log))
    runner = CliRunner()
    tasks = tmp_path / "tasks.json"
    exported = runner.invoke(
        app,
        [
            "annotate",
            "export",
            "--snapshot",
            "music-queries@latest",
            "--n",
            "3",
            "--strategy",
            "uncertainty",
            "--out",
            str(tasks),
            "--root",
            root,
            "--json",
        ],
    )
    assert exported.exit_code == 0, exported.output
    written = json.loads(tasks.read_text())
    assert len(written) == 3 and tasks.with_suffix(".xml").is_file()
    # Two annotators label every exported task "recommend", as Label Studio would export it.
    export = []
    for i, task in enumerate(written):
        annotations = [
            {
                "id": 10 * i + a,
                "completed_by": a,
                "was_cancelled": False,
                "result": [
                    {
                        "from_name": "intent",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": ["recommend"]},
                    }
                ],
            }
            for a in (1, 2)
        ]
        export.append({"id": i + 1, "data": task["data"], "annotations": annotations})
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export))
    imported = runner.invoke(app, ["annotate", "import", str(export_file), "--root", root, "--json"])
    assert imported.exit_code == 0, imported.output
    report = json.loads(imported.stdout)
    assert report["items"] == 3 and report["annotators"] == 2

    second = build(make_config(log))
    rows = _rows(second.path)
    human = rows[rows["label_source"] == "human"]
    assert sorted(human.index) == sorted(t["data"]["text"] for t in written)
    assert (human["intent"] == "recommend").all() and (human["label_confidence"] == 1.0).all()
    assert second.manifest["human_labels"]["rows"] == 3
    assert first.manifest["human_labels"]["rows"] == 0


def test_label_analyze_reports_accuracy_against_gold(tmp_path, make_config):
    root = str(tmp_path / "store")
    build(
        make_config(
            _log(tmp_path), FIXTURES / "public" / "snips", FIXTURES / "public" / "slurp" / "devel.jsonl"
        )
    )
    result = CliRunner().invoke(
        app, ["label", "analyze", "--snapshot", "music-queries@latest", "--root", root, "--json"]
    )
    assert result.exit_code == 0, result.output
    functions = json.loads(result.stdout)
    assert {"name", "intent", "coverage", "overlaps", "conflicts", "accuracy"} <= set(functions[0])
    assert any(f["accuracy"] is not None for f in functions)
    table = CliRunner().invoke(app, ["label", "analyze", "--root", root], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and functions[0]["name"] in table.stdout


def test_precedence_human_over_gold_over_weak():
    import pyarrow as pa

    from honkdata.label.stage import ApplyLabels
    from honkdata.label.weak import WeakLabeler
    from honkdata.schema import ENTITIES
    from honkdata.stage import StageStats

    table = pa.table(
        {
            "id": ["a", "b", "c"],
            "text": ["skip this song", "skip this song now", "play abba"],
            "intent": ["out_of_domain", None, "play_music"],
            "entities": pa.nulls(3, ENTITIES),
            "label_source": ["gold", None, "gold"],
            "label_confidence": pa.array([1.0, None, 1.0], pa.float32()),
        }
    )
    labels = pa.table(
        {
            "id": ["a"],
            "text": ["skip this song"],
            "intent": ["playback_control"],
            "entities": pa.array([[]], ENTITIES),
            "n_annotators": pa.array([3], pa.int32()),
            "agreement": [2 / 3],
        }
    )
    out = ApplyLabels(WeakLabeler(), labels)(table, StageStats("label")).to_pylist()
    assert [(r["intent"], r["label_source"]) for r in out] == [
        ("playback_control", "human"),  # a person overrides gold
        ("playback_control", "weak"),  # no gold: the labeling functions
        ("play_music", "gold"),  # gold is never replaced by a weak label
    ]
    assert abs(out[0]["label_confidence"] - 2 / 3) < 1e-6


def test_weak_labels_are_measured_against_the_gold_rows(tmp_path, make_config):
    result = build(make_config(FIXTURES / "public" / "snips"))
    label = result.manifest["stages"]["label"]
    notes = label["notes"]
    assert 0 < notes[WEAK_AGREED] <= notes[WEAK_CHECKED] <= label["breakdowns"][LABELED]["gold"]
    accuracy = notes[WEAK_AGREED] / notes[WEAK_CHECKED]
    assert f"{accuracy:.1%}" in (result.path / "README.md").read_text()
