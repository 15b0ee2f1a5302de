"""`--strategy label-issues`: the likeliest label errors go to people, and their answers come back.

The end-to-end test breaks a copy of the Snips sample the way gold data breaks: ten weather
questions filed under PlayMusic. `honkdata label quality` must find them, `annotate export
--strategy label-issues` must send them, and after people answer, the next build must carry their
labels.
"""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from honkdata.annotate.select import select_for_review
from honkdata.build import build
from honkdata.cli import app
from honkdata.config import load_config
from honkdata.errors import HonkdataError
from honkdata.snapshot.store import SnapshotStore
from tests.conftest import SNIPS_SAMPLE

ISSUES = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("label_source", pa.string()),
        pa.field("intent_quality", pa.float64()),
        pa.field("intent_issue", pa.bool_()),
        pa.field("tags_quality", pa.float64()),
        pa.field("tags_issue", pa.bool_()),
    ]
)


def _rows(*items: tuple) -> pa.Table:
    names = ISSUES.names
    return pa.Table.from_pylist([dict(zip(names, item, strict=True)) for item in items], schema=ISSUES)


def ids(table: pa.Table) -> list[str]:
    return table.column("id").to_pylist()


# id, label_source, intent_quality, intent_issue, tags_quality, tags_issue; the percentile is the
# share of the 7 intent scores (6 tag scores) below the row's, people's rows counted.
TABLE = _rows(
    ("a", "gold", 0.05, True, 0.90, False),  # intent 1/7
    ("b", "weak", 0.40, True, 0.95, False),  # intent 4/7
    ("c", "gold", 0.97, False, 0.001, True),  # tags 3/6
    ("d", "model", 0.96, False, 0.0001, True),  # tags 1/6
    ("e", "human", 0.01, True, 0.00001, True),  # the worst of both, but people answered already
    ("f", "weak", 0.08, False, 0.0002, False),  # low, but cleanlab does not flag it
    ("g", None, None, None, None, None),  # unlabeled: nothing to doubt
    ("h", "gold", 0.30, True, None, None),  # intent 3/7; no tokens
)


def test_label_issues_sends_flagged_rows_by_percentile_never_human_ones():
    # Raw scores would put the tag rows d and c first (a CRF's marginals are far more extreme than
    # a softmax): d, c, a, h, b.
    assert ids(select_for_review(TABLE, 10, "label-issues")) == ["a", "d", "h", "c", "b"]
    assert ids(select_for_review(TABLE, 2, "label-issues")) == ["a", "d"]
    assert ids(select_for_review(TABLE.take([7, 6, 5, 4, 3, 2, 1, 0]), 10, "label-issues")) == [
        "a",
        "d",
        "h",
        "c",
        "b",
    ]
    assert select_for_review(TABLE, 3, "label-issues").schema == TABLE.schema


def test_a_row_flagged_twice_ranks_by_its_worse_percentile():
    table = _rows(
        ("x", "gold", 0.10, True, 0.50, True),  # intent 0/3, tags 1/3
        ("y", "gold", 0.30, True, 0.01, True),  # intent 2/3, tags 0/3
        ("z", "gold", 0.20, True, 0.99, False),  # intent 1/3; its tags are not flagged
    )
    assert ids(select_for_review(table, 3, "label-issues")) == ["x", "y", "z"]


def test_label_issues_needs_the_quality_columns():
    table = pa.table({"id": ["a"], "label_source": ["gold"], "intent_quality": [0.1]})
    with pytest.raises(
        HonkdataError, match=r"label quality columns \(intent_issue, tags_quality, tags_issue\)"
    ):
        select_for_review(table, 1, "label-issues")


MOVED = 10


def _corrupted_snips(folder: Path) -> list[str]:
    """Three intents of the Snips sample, with MOVED weather questions filed under PlayMusic (their
    entities dropped, as a careless annotator would); returns the moved texts."""
    folder.mkdir()
    for intent in ("PlayMusic", "AddToPlaylist", "GetWeather"):
        for part in ("train", "validate"):
            name = f"{part}_{intent}.json"
            (folder / name).write_bytes((SNIPS_SAMPLE / name).read_bytes())
    weather = json.loads((folder / "train_GetWeather.json").read_bytes())
    music = json.loads((folder / "train_PlayMusic.json").read_bytes())
    moved = ["".join(part["text"] for part in u["data"]) for u in weather["GetWeather"][:MOVED]]
    weather["GetWeather"] = weather["GetWeather"][MOVED:]
    music["PlayMusic"] += [{"data": [{"text": text}]} for text in moved]
    (folder / "train_GetWeather.json").write_text(json.dumps(weather))
    (folder / "train_PlayMusic.json").write_text(json.dumps(music))
    return [" ".join(text.split()) for text in moved]


def _invoke(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _answers(tasks: list[dict], truth: dict[str, str]) -> list[dict]:
    """Label Studio's export after two people answer every task: they keep the pre-annotated spans
    and set the intent to the true one (the pre-annotated one where we broke nothing)."""
    exported = []
    for k, task in enumerate(tasks, start=1):
        result = [r for p in task["predictions"] for r in p["result"]]
        if task["data"]["text"] in truth:
            choice = {"type": "choices", "from_name": "intent", "to_name": "text"}
            result = [{**choice, "value": {"choices": [truth[task["data"]["text"]]]}}]
        annotations = [
            {"id": 10 * k + a, "completed_by": a, "result": result, "was_cancelled": False} for a in (1, 2)
        ]
        exported.append({"id": k, "data": task["data"], "annotations": annotations})
    return exported


def test_label_issues_round_trip_into_the_next_build(tmp_path):
    moved = _corrupted_snips(tmp_path / "snips")
    root = str(tmp_path / "store")
    source = {"path": str(tmp_path / "snips"), "format": "snips", "kind": "curated", "split": "resplit"}
    first = build(load_config(None, name="snips", root=root, sources=[source]))
    before = first.manifest["content_hash"]

    scored = _invoke("label", "quality", "--snapshot", "snips@v1", "--folds", "2", "--root", root)
    assert scored["scored"] == first.manifest["rows"] and scored["intent_issues"] >= 0.7 * MOVED

    tasks_file = tmp_path / "tasks.json"
    exported = _invoke(
        "annotate", "export", "--snapshot", "snips@v1", "--strategy", "label-issues", "--n", "30",
        "--out", str(tasks_file), "--root", root,
    )  # fmt: skip
    assert exported["rows"] == 30
    tasks = json.loads(tasks_file.read_text())
    sent = {t["data"]["text"] for t in tasks}
    assert len(sent & set(moved)) >= 0.7 * MOVED  # gold rows are sent: gold can be wrong
    assert all(t["predictions"][0]["model_version"] == "honkdata-gold" for t in tasks)

    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(_answers(tasks, dict.fromkeys(moved, "out_of_domain"))))
    imported = _invoke("annotate", "import", str(export_file), "--name", "snips", "--root", root)
    assert imported["items"] == 30

    second = build(load_config(None, name="snips", root=root, sources=[source]))
    rows = {r["text"]: r for r in SnapshotStore(Path(root)).read(second.ref).to_pylist()}
    assert all(rows[text]["label_source"] == "human" for text in sent)
    fixed = [text for text in moved if text in sent]
    assert all(rows[text]["intent"] == "out_of_domain" for text in fixed)
    untouched = [r for text, r in rows.items() if text not in sent]
    assert {r["label_source"] for r in untouched} == {"gold"}
    assert second.manifest["content_hash"] != before

    # The new version has no label quality of its own yet: scores of v1 say nothing about it.
    result = CliRunner().invoke(
        app,
        ["annotate", "export", "--snapshot", "snips@v2", "--strategy", "label-issues", "--out",
         str(tmp_path / "again.json"), "--root", root],
    )  # fmt: skip
    assert result.exit_code != 0
    assert (
        "snips@v2 has no label quality yet: run `honkdata label quality --snapshot snips@v2`" in result.output
    )
    assert (
        pc.sum(pc.equal(SnapshotStore(Path(root)).read(second.ref).column("label_source"), "human")).as_py()
        == 30
    )
