"""Label Studio: tasks with pre-annotations out, the project's JSON export back in.

Formats, from Label Studio's documentation:
- tasks to import, with pre-annotations (https://labelstud.io/guide/predictions): a JSON list of
  {"data": {...}, "predictions": [{"model_version", "score", "result": [...]}]}, each result item
  with a unique "id", "from_name"/"to_name" (the tag names of the labeling config), "type", "value".
- result values (https://labelstud.io/tags/choices, https://labelstud.io/tags/labels): type
  "choices" -> {"choices": [...]}; type "labels" on a Text tag -> {"start", "end", "text", "labels"},
  character offsets into the task's text.
- the JSON export (https://labelstud.io/guide/task_format): the same tasks with "annotations":
  [{"id", "completed_by", "result", "was_cancelled", "lead_time", "created_at", ...}];
  `completed_by` is a user id, or {"id", "email", ...} (label_studio/data_export/serializers.py).
"""

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa

from honkdata.annotate.agreement import ANNOTATIONS
from honkdata.errors import HonkdataError

TEXT, INTENT, SPANS = "text", "intent", "entities"  # tag names in the labeling config
ID_FIELD = "honkdata_id"  # task data field that carries the snapshot row id through Label Studio


def labeling_config(intents: list[str], entity_types: list[str]) -> str:
    """The project's labeling config: one intent (required) and any number of entity spans."""
    view = ET.Element("View")
    ET.SubElement(view, "Text", name=TEXT, value=f"${TEXT}")
    choices = ET.SubElement(view, "Choices", name=INTENT, toName=TEXT, choice="single", required="true")
    for intent in intents:
        ET.SubElement(choices, "Choice", value=intent)
    labels = ET.SubElement(view, "Labels", name=SPANS, toName=TEXT)
    for kind in entity_types:
        ET.SubElement(labels, "Label", value=kind)
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"


def _result_id(row_id: str, k: int) -> str:
    # Label Studio wants every result item's id unique; derived, so a re-export writes the same file.
    return hashlib.blake2s(f"{row_id}/{k}".encode(), digest_size=5).hexdigest()


def _predictions(row: dict, intents: list[str], entity_types: list[str]) -> list[dict]:
    result = []
    if row["intent"] is not None:
        if row["intent"] not in intents:
            raise HonkdataError(f"row {row['id']}: intent {row['intent']!r} is not in the taxonomy")
        value = {"choices": [row["intent"]]}
        result.append({"from_name": INTENT, "to_name": TEXT, "type": "choices", "value": value})
    for e in row["entities"] or []:
        if e["type"] not in entity_types:
            raise HonkdataError(f"row {row['id']}: entity type {e['type']!r} is not in the taxonomy")
        span = {"start": e["start"], "end": e["end"], "text": row["text"][e["start"] : e["end"]]}
        value = {**span, "labels": [e["type"]]}
        result.append({"from_name": SPANS, "to_name": TEXT, "type": "labels", "value": value})
    if not result:
        return []  # unlabeled: nothing to pre-annotate
    result = [{"id": _result_id(row["id"], k), **item} for k, item in enumerate(result)]
    prediction: dict = {"model_version": f"honkdata-{row['label_source'] or 'weak'}", "result": result}
    if row["label_confidence"] is not None:
        # Label Studio sorts tasks by this score in the Data Manager.
        prediction["score"] = round(float(row["label_confidence"]), 4)
    return [prediction]


def write_label_studio_tasks(rows: pa.Table, out: Path, intents: list[str], entity_types: list[str]) -> Path:
    """Write the tasks JSON at `out` and the labeling config next to it; returns the config's path."""
    config = out.with_suffix(".xml")
    if config == out:
        raise HonkdataError(f"{out}: the task file needs a .json name (the .xml beside it is the config)")
    tasks = [
        {
            "data": {TEXT: row["text"], ID_FIELD: row["id"]},
            "predictions": _predictions(row, intents, entity_types),
        }
        for row in rows.select(
            ["id", "text", "intent", "entities", "label_source", "label_confidence"]
        ).to_pylist()
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tasks, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    config.write_text(labeling_config(intents, entity_types), encoding="utf-8")
    return config


def check_intent(where: str, intent: object, intents: list[str]) -> str:
    """The intent, if it is one of the taxonomy's; else a HonkdataError that says where."""
    if not isinstance(intent, str) or intent not in intents:
        raise HonkdataError(f"{where}: unknown intent {intent!r} (expected one of {', '.join(intents)})")
    return intent


def check_span(
    where: str, text: str, kind: object, start: object, end: object, entity_types: list[str]
) -> dict:
    """One entity dict, offsets checked against `text` and trimmed of surrounding whitespace.

    People drag a selection over the space next to a word all the time; the span means the word.
    """
    if kind not in entity_types:
        raise HonkdataError(
            f"{where}: unknown entity label {kind!r} (expected one of {', '.join(entity_types)})"
        )
    if not (type(start) is int and type(end) is int and 0 <= start < end <= len(text)):
        raise HonkdataError(f"{where}: span {start}..{end} is out of range of the {len(text)}-character text")
    if not text[start:end].strip():
        raise HonkdataError(f"{where}: span {start}..{end} covers only whitespace")
    start += len(text[start:end]) - len(text[start:end].lstrip())
    end -= len(text[start:end]) - len(text[start:end].rstrip())
    return {"type": kind, "start": start, "end": end, "text": text[start:end]}


def _code_point(text: str, utf16_offset: int) -> int | None:
    # Some Label Studio versions count offsets in JavaScript's UTF-16 units, so every character after
    # an emoji shifts by one; map such an offset back to Python's code points (None if it splits one).
    units = 0
    for i, ch in enumerate(text):
        if units == utf16_offset:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text) if units == utf16_offset else None


def _entity(where: str, text: str, value: dict, entity_types: list[str]) -> dict:
    labels, start, end, quoted = value.get("labels"), value.get("start"), value.get("end"), value.get("text")
    if not isinstance(labels, list) or len(labels) != 1:
        raise HonkdataError(f"{where}: a span needs exactly one entity label, got {labels!r}")
    if quoted is not None and type(start) is int and type(end) is int and text[start:end] != quoted:
        start, end = _code_point(text, start), _code_point(text, end)
        if start is None or end is None or text[start:end] != quoted:
            raise HonkdataError(f"{where}: span text {quoted!r} is not at {value['start']}..{value['end']}")
    return check_span(where, text, labels[0], start, end, entity_types)


def _annotator(where: str, completed_by: object) -> str:
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("email") or completed_by.get("id")
    if completed_by is None or isinstance(completed_by, (dict, list)) or completed_by == "":
        raise HonkdataError(f"{where}: no annotator (completed_by)")
    return str(completed_by)


def _task_rows(where: str, task: object, intents: list[str], entity_types: list[str]) -> list[dict]:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise HonkdataError(f"{where}: not a Label Studio task (no data object)")
    data = task["data"]
    text, row_id = data.get(TEXT), data.get(ID_FIELD)
    if not isinstance(text, str) or not text:
        raise HonkdataError(f"{where}: no text (data.{TEXT})")
    if not isinstance(row_id, str) or not row_id:
        raise HonkdataError(f"{where}: no data.{ID_FIELD}; import the tasks `honkdata annotate export` wrote")
    rows = []
    for k, annotation in enumerate(task.get("annotations") or []):
        here = f"{where}, annotation {annotation.get('id', k + 1) if isinstance(annotation, dict) else k + 1}"
        if not isinstance(annotation, dict) or not isinstance(annotation.get("result", []), list):
            raise HonkdataError(f"{here}: not a Label Studio annotation (no result list)")
        if annotation.get("was_cancelled"):
            continue  # the annotator skipped the task: no vote
        intent, entities = None, []
        # By result type, so that extra tags a project adds (a comment box, relations) are ignored.
        for item in annotation.get("result") or []:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("choices", "labels"):
                continue
            value = item.get("value")
            if not isinstance(value, dict):
                raise HonkdataError(f"{here}: a {kind} result without a value")
            if kind == "labels":
                entities.append(_entity(here, text, value, entity_types))
            elif isinstance(value.get("choices"), list) and len(value["choices"]) == 1:
                intent = check_intent(here, value["choices"][0], intents)
            else:
                raise HonkdataError(f"{here}: choose exactly one intent, got {value.get('choices')!r}")
        if intent is None:
            raise HonkdataError(f"{here}: no intent chosen")
        unique = {(e["start"], e["end"], e["type"]): e for e in entities}
        rows.append(
            {
                "id": row_id,
                "text": text,
                "annotator": _annotator(here, annotation.get("completed_by")),
                "intent": intent,
                "entities": [unique[key] for key in sorted(unique)],
            }
        )
    return rows


def read_label_studio_export(path: Path, intents: list[str], entity_types: list[str]) -> pa.Table:
    """One row per (item, annotator) of a Label Studio JSON export; cancelled annotations are skipped."""
    try:
        tasks = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise HonkdataError(f"{path}: not a readable Label Studio JSON export ({e})") from None
    if not isinstance(tasks, list):
        raise HonkdataError(
            f"{path}: a Label Studio JSON export is a list of tasks, not a {type(tasks).__name__}"
        )
    rows = []
    for k, task in enumerate(tasks):
        name = task.get("id", f"#{k + 1}") if isinstance(task, dict) else f"#{k + 1}"
        rows.extend(_task_rows(f"{Path(path).name}: task {name}", task, intents, entity_types))
    return pa.Table.from_pylist(rows, schema=ANNOTATIONS)
