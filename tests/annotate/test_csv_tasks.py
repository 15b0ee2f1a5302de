import csv
import json

import pytest

from honkdata.annotate.agreement import ANNOTATIONS, aggregate_annotations
from honkdata.annotate.csv_tasks import COLUMNS, read_csv_annotations, write_csv_tasks
from honkdata.errors import HonkdataError
from tests.annotate.conftest import rows, span

TEXT = "add this song to my gym playlist"
TASKS = rows(
    {
        "id": "r1",
        "text": TEXT,
        "intent": "playlist_add",
        "entities": [span(TEXT, "playlist", "gym playlist")],
        "label_source": "weak",
        "label_confidence": 0.4,
    },
    {"id": "r2", "text": "zz blorp, çà et là", "label_disagreement": 0.5},
)


def _sheet(path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def _save(path, lines: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:  # as a spreadsheet saves it: no BOM
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(lines)


def test_sheet_is_prefilled_and_unsigned_rows_are_not_read_back(tmp_path, intents, entity_types):
    out = write_csv_tasks(TASKS, tmp_path / "tasks.csv")
    lines = _sheet(out)
    assert list(lines[0]) == COLUMNS
    assert lines[0]["intent"] == "playlist_add" and lines[0]["label_confidence"] == "0.4"
    assert json.loads(lines[0]["entities"]) == [
        {"type": "playlist", "start": 20, "end": 32, "text": "gym playlist"}
    ]
    assert (lines[1]["intent"], lines[1]["entities"], lines[1]["annotator"]) == ("", "[]", "")
    assert lines[1]["text"] == "zz blorp, çà et là"
    unreviewed = read_csv_annotations(out, intents, entity_types)
    assert unreviewed.num_rows == 0 and unreviewed.schema == ANNOTATIONS


def test_round_trip_with_two_reviewers(tmp_path, intents, entity_types):
    out = write_csv_tasks(TASKS, tmp_path / "tasks.csv")
    first, second = _sheet(out)
    gym = json.dumps([{"type": "playlist", "start": 20, "end": 23}])
    by_text_only = json.dumps([{"type": "playlist", "text": "gym"}])  # offsets looked up
    _save(
        out,
        [
            first | {"entities": gym, "annotator": "ann"},
            first | {"entities": by_text_only, "annotator": " bob "},
            second | {"intent": "out_of_domain", "annotator": "ann"},
        ],
    )
    table = read_csv_annotations(out, intents, entity_types)
    assert table.schema == ANNOTATIONS
    assert table.column("annotator").to_pylist() == ["ann", "bob", "ann"]
    gym_span = [{"type": "playlist", "start": 20, "end": 23, "text": "gym"}]
    assert table.column("entities").to_pylist() == [gym_span, gym_span, []]
    labels, report = aggregate_annotations(table)
    assert labels.column("intent").to_pylist() == ["playlist_add", "out_of_domain"]
    assert labels.column("agreement").to_pylist() == [1.0, 1.0]
    assert report["items_with_several_annotators"] == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"intent": "karaoke"}, r"row 2 \(id r1\): unknown intent 'karaoke'"),
        ({"intent": ""}, r"row 2 \(id r1\): unknown intent ''"),
        ({"entities": "[{"}, r"row 2 \(id r1\): entities is not valid JSON"),
        ({"entities": '{"type": "artist"}'}, r"row 2 \(id r1\): entities must be a JSON list"),
        ({"entities": '[{"type": "artist", "start": 20, "end": 99}]'}, r"row 2 \(id r1\): span 20..99"),
        (
            {"entities": '[{"type": "colour", "start": 0, "end": 3}]'},
            r"row 2 \(id r1\): unknown entity label",
        ),
        ({"entities": '[{"type": "artist", "start": 0, "end": 3, "text": "gym"}]'}, r"'gym' is not at 0..3"),
    ],
)
def test_bad_cells_name_the_row(tmp_path, intents, entity_types, edit, message):
    out = write_csv_tasks(TASKS, tmp_path / "tasks.csv")
    first, second = _sheet(out)
    _save(out, [first | {"annotator": "ann"} | edit, second])
    with pytest.raises(HonkdataError, match=message):
        read_csv_annotations(out, intents, entity_types)


def test_missing_columns(tmp_path, intents, entity_types):
    (tmp_path / "x.csv").write_text("id,text\nr1,skip\n")
    with pytest.raises(HonkdataError, match=r"missing column.*intent, entities, annotator"):
        read_csv_annotations(tmp_path / "x.csv", intents, entity_types)
