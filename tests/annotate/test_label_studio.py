"""Label Studio formats: the task file we write, and the project's JSON export we read.

`tests/fixtures/label_studio/export.json` is a JSON export in the shape Label Studio documents
(labelstud.io/guide/task_format) and its export serializer writes (`completed_by` as a user object):
six tasks, three annotators (alice, bob, carol), carol's cancelled annotation on task 103, spans.
"""

import json
import xml.etree.ElementTree as ET
from fractions import Fraction

import pyarrow.compute as pc
import pytest
from sklearn.metrics import cohen_kappa_score

from honkdata.annotate.agreement import ANNOTATIONS, aggregate_annotations
from honkdata.annotate.label_studio import (
    labeling_config,
    read_label_studio_export,
    write_label_studio_tasks,
)
from honkdata.errors import HonkdataError
from tests.annotate.conftest import LABEL_STUDIO, rows, span

TEXTS = ["play taylor swift", "add this song to my gym playlist", "xq zz blorp"]
SNAPSHOT_ROWS = rows(
    {
        "id": "r1",
        "text": TEXTS[0],
        "intent": "play_music",
        "entities": [span(TEXTS[0], "artist", "taylor swift")],
        "label_source": "weak",
        "label_confidence": 0.625,
    },
    {
        "id": "r2",
        "text": TEXTS[1],
        "intent": "playlist_add",
        "entities": [span(TEXTS[1], "playlist", "gym")],
        "label_source": "gold",
        "label_confidence": 1.0,
    },
    {"id": "r3", "text": TEXTS[2]},  # unlabeled: no pre-annotation
)


def test_tasks_follow_the_documented_import_format(tmp_path, intents, entity_types):
    out = tmp_path / "review" / "tasks.json"
    config_path = write_label_studio_tasks(SNAPSHOT_ROWS, out, intents, entity_types)
    assert config_path == tmp_path / "review" / "tasks.xml"
    tasks = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(tasks, list) and len(tasks) == 3

    view = ET.fromstring(config_path.read_text(encoding="utf-8"))
    assert view.tag == "View"
    text_tag = view.find("Text")
    assert text_tag.attrib == {"name": "text", "value": "$text"}
    choices, labels = view.find("Choices"), view.find("Labels")
    assert (choices.get("name"), choices.get("toName"), choices.get("choice")) == ("intent", "text", "single")
    assert [c.get("value") for c in choices.findall("Choice")] == intents
    assert (labels.get("name"), labels.get("toName")) == ("entities", "text")
    assert [c.get("value") for c in labels.findall("Label")] == entity_types
    tag_of = {"choices": choices, "labels": labels}

    result_ids = []
    for task, row in zip(tasks, SNAPSHOT_ROWS.to_pylist(), strict=True):
        assert set(task) == {"data", "predictions"}
        assert task["data"] == {"text": row["text"], "honkdata_id": row["id"]}
        assert isinstance(task["predictions"], list)
        for prediction in task["predictions"]:
            assert set(prediction) == {"model_version", "score", "result"}
            assert prediction["model_version"] == f"honkdata-{row['label_source']}"
            assert prediction["score"] == pytest.approx(row["label_confidence"])
            for item in prediction["result"]:
                assert set(item) == {"id", "from_name", "to_name", "type", "value"}
                assert isinstance(item["id"], str) and item["id"]
                result_ids.append(item["id"])
                # Every result names a control tag of the config, of the matching kind, on the Text tag.
                assert item["from_name"] == tag_of[item["type"]].get("name")
                assert item["to_name"] == text_tag.get("name")
    assert len(result_ids) == len(set(result_ids)) == 4  # Label Studio wants them unique

    first = tasks[0]["predictions"][0]["result"]
    assert first[0]["value"] == {"choices": ["play_music"]}
    assert first[1]["value"] == {"start": 5, "end": 17, "text": "taylor swift", "labels": ["artist"]}
    assert tasks[2]["predictions"] == []


def test_labeling_config_escapes_names():
    view = ET.fromstring(labeling_config(["a&b", 'say "hi"'], ["<odd>"]))
    assert [c.get("value") for c in view.iter("Choice")] == ["a&b", 'say "hi"']
    assert [c.get("value") for c in view.iter("Label")] == ["<odd>"]


def _accept_predictions(tasks: list[dict], annotator: dict) -> list[dict]:
    """What Label Studio exports after a person submits each pre-annotation unchanged."""
    exported = []
    for k, task in enumerate(tasks, start=1):
        result = [r | {"origin": "prediction"} for p in task["predictions"] for r in p["result"]]
        annotation = {"id": k, "completed_by": annotator, "result": result, "was_cancelled": False}
        exported.append({"id": k, "data": task["data"], "annotations": [annotation] if result else []})
    return exported


def test_round_trip_through_label_studio(tmp_path, intents, entity_types):
    out = tmp_path / "tasks.json"
    write_label_studio_tasks(SNAPSHOT_ROWS, out, intents, entity_types)
    exported = _accept_predictions(json.loads(out.read_text()), {"id": 9, "email": "ann@example.com"})
    (tmp_path / "export.json").write_text(json.dumps(exported))
    back = read_label_studio_export(tmp_path / "export.json", intents, entity_types)
    assert back.schema == ANNOTATIONS
    columns = ["id", "text", "intent", "entities"]
    assert back.select(columns).to_pylist() == SNAPSHOT_ROWS.slice(0, 2).select(columns).to_pylist()
    assert set(back.column("annotator").to_pylist()) == {"ann@example.com"}


def test_export_fixture_reads_back_and_aggregates(intents, entity_types):
    annotations = read_label_studio_export(LABEL_STUDIO / "export.json", intents, entity_types)
    assert annotations.num_rows == 16  # 17 annotations, one cancelled
    assert set(annotations.column("annotator").to_pylist()) == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    }
    labels, report = aggregate_annotations(annotations)
    got = {r["id"]: r for r in labels.to_pylist()}

    def spans(item_id: str) -> list[tuple]:
        return [(e["type"], e["start"], e["end"], e["text"]) for e in got[item_id]["entities"]]

    # id: (intent, n_annotators, agreement)
    assert {i: (r["intent"], r["n_annotators"], r["agreement"]) for i, r in got.items()} == {
        "9c1f4e2a7b3d5e60": ("play_music", 3, 1.0),
        "1e8a0c3b9f2d4a71": ("playlist_add", 3, 1.0),
        "a4d27b9e0c6f1382": ("recommend", 2, 0.5),  # 1-1 after carol cancelled: alice sorts first
        "5b60e1c8d2a97f43": ("dislike", 3, pytest.approx(2 / 3)),
        "e73c2f95a18b0d46": ("music_info", 2, 1.0),
        "0f9d3a6c2e7b8154": ("playback_control", 3, pytest.approx(2 / 3)),
    }
    assert spans("9c1f4e2a7b3d5e60") == [("artist", 5, 17, "taylor swift")]
    assert spans("1e8a0c3b9f2d4a71") == [("playlist", 20, 23, "gym")]  # alice and carol; bob: "gym playlist"
    assert spans("a4d27b9e0c6f1382") == [("mood", 10, 15, "chill"), ("activity", 20, 28, "studying")]
    # Fleiss on the four items with three annotators: P-bar = (1 + 1 + 1/3 + 1/3) / 4 = 2/3,
    # category shares 3,3,2,3,1 of 12 -> P-bar_e = 2/9, kappa = (2/3 - 2/9) / (7/9) = 4/7.
    assert report == {
        "items": 6,
        "annotators": 3,
        "annotations": 16,
        "items_with_several_annotators": 6,
        "percent_agreement": pytest.approx(float(Fraction(11, 18))),  # pair agreement over six items
        "cohen_kappa": None,  # three annotators
        "fleiss_kappa": pytest.approx(float(Fraction(4, 7))),
        "fleiss_items": 4,
    }


def test_two_annotators_of_the_fixture_give_cohens_kappa(intents, entity_types):
    annotations = read_label_studio_export(LABEL_STUDIO / "export.json", intents, entity_types)
    pair = annotations.filter(pc.field("annotator") != "carol@example.com")
    _, report = aggregate_annotations(pair)
    by = {}
    for r in sorted(pair.to_pylist(), key=lambda r: r["id"]):
        by.setdefault(r["annotator"], []).append(r["intent"])
    expected = cohen_kappa_score(by["alice@example.com"], by["bob@example.com"])
    assert report["cohen_kappa"] == pytest.approx(expected, abs=1e-12)
    assert report["cohen_kappa"] == pytest.approx(float(Fraction(19, 31)), abs=1e-12)  # p_o 4/6, p_e 5/36
    assert report["fleiss_items"] == 6


def _export_with(tmp_path, change) -> object:
    tasks = json.loads((LABEL_STUDIO / "export.json").read_text())
    change(tasks)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))
    return path


def _result(tasks, task, annotation, item):
    return tasks[task]["annotations"][annotation]["result"][item]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[1]["data"].pop("text"), r"task 102: no text"),
        (lambda t: t[1]["data"].pop("honkdata_id"), r"task 102: no data.honkdata_id"),
        (lambda t: _result(t, 0, 1, 1)["value"].update(end=40), r"task 101, annotation 1002: span"),
        (lambda t: _result(t, 0, 1, 1)["value"].update(start=-1), r"task 101, annotation 1002: span"),
        (
            lambda t: _result(t, 3, 2, 0)["value"].update(choices=["karaoke"]),
            r"task 104.*unknown intent 'karaoke'",
        ),
        (
            lambda t: _result(t, 3, 2, 0)["value"].update(choices=["like", "dislike"]),
            r"task 104.*exactly one intent",
        ),
        (
            lambda t: _result(t, 1, 0, 1)["value"].update(labels=["colour"]),
            r"task 102.*unknown entity label 'colour'",
        ),
        (lambda t: _result(t, 1, 0, 1)["value"].update(text="gim"), r"task 102.*'gim' is not at 20..23"),
        (lambda t: t[4]["annotations"][0].update(result=[]), r"task 105, annotation \d+: no intent"),
        (lambda t: t[5]["annotations"][0].pop("completed_by"), r"task 106.*no annotator"),
        (lambda t: t.__setitem__(2, "oops"), r"task #3: not a Label Studio task"),
    ],
)
def test_malformed_exports_name_the_task(tmp_path, intents, entity_types, change, message):
    with pytest.raises(HonkdataError, match=message):
        read_label_studio_export(_export_with(tmp_path, change), intents, entity_types)


def test_unreadable_files(tmp_path, intents, entity_types):
    (tmp_path / "a.json").write_text("{not json")
    (tmp_path / "b.json").write_text('{"data": {}}')
    with pytest.raises(HonkdataError, match="not a readable Label Studio JSON export"):
        read_label_studio_export(tmp_path / "a.json", intents, entity_types)
    with pytest.raises(HonkdataError, match="list of tasks"):
        read_label_studio_export(tmp_path / "b.json", intents, entity_types)
    with pytest.raises(HonkdataError, match="not a readable"):
        read_label_studio_export(tmp_path / "missing.json", intents, entity_types)


def test_user_ids_utf16_offsets_and_stray_spaces(tmp_path, intents, entity_types):
    text = "play 🎸 songs by adele"

    def task(k, completed_by, start, end):
        value = {
            "start": start,
            "end": end,
            "text": "adele" if k == 2 else text[start:end],
            "labels": ["artist"],
        }
        result = [
            {"type": "choices", "value": {"choices": ["play_music"]}},
            {"type": "labels", "value": value},
            {"type": "textarea", "value": {"text": ["a note"]}},  # other tags are ignored
        ]
        annotation = {"id": k, "completed_by": completed_by, "was_cancelled": False, "result": result}
        return {"id": k, "data": {"text": text, "honkdata_id": "q"}, "annotations": [annotation]}

    tasks = [
        task(1, 10, 15, 21),  # a user id; the selection took the space before the name
        task(2, {"id": 11, "email": "b@example.com"}, 17, 22),  # UTF-16 units: the emoji counts twice
        task(3, {"id": 12, "email": ""}, 16, 21),
    ]
    (tmp_path / "e.json").write_text(json.dumps(tasks))
    table = read_label_studio_export(tmp_path / "e.json", intents, entity_types)
    assert table.column("annotator").to_pylist() == ["10", "b@example.com", "12"]
    for entities in table.column("entities").to_pylist():
        assert entities == [{"type": "artist", "start": 16, "end": 21, "text": "adele"}]
