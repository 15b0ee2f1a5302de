"""Annotation tasks as a CSV sheet, for teams without Label Studio.

Columns: id, text, intent, entities, label_source, label_confidence, annotator. The sheet comes
pre-filled with the current labels; a reviewer corrects intent and entities and signs the row in
`annotator`. Only signed rows are read back: an unsigned row was not reviewed, and its pre-filled
label is the machine's, not a person's. Several reviewers on one item each add a signed copy of its row.
`entities` is a JSON list of {"type", "start", "end", "text"}: offsets are code points into `text`;
a reviewer may also give just {"type", "text"} and the span is looked up (its first occurrence).
"""

import csv
import json
from pathlib import Path

import pyarrow as pa

from honkdata.annotate.agreement import ANNOTATIONS
from honkdata.annotate.label_studio import check_intent, check_span
from honkdata.errors import HonkdataError

COLUMNS = ["id", "text", "intent", "entities", "label_source", "label_confidence", "annotator"]
# With a BOM, spreadsheet programs open the file as UTF-8; reading with utf-8-sig accepts it either way.
ENCODING = "utf-8-sig"


def write_csv_tasks(rows: pa.Table, out: Path) -> Path:
    """Write the rows as a CSV sheet to fill in; returns `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding=ENCODING) as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows.select(COLUMNS[:-1]).to_pylist():
            confidence = row["label_confidence"]
            entities = [{k: e[k] for k in ("type", "start", "end", "text")} for e in row["entities"] or []]
            writer.writerow(
                {
                    **row,
                    "intent": row["intent"] or "",
                    "entities": json.dumps(entities, ensure_ascii=False),
                    "label_source": row["label_source"] or "",
                    "label_confidence": "" if confidence is None else round(float(confidence), 4),
                    "annotator": "",
                }
            )
    return out


def _entities(where: str, text: str, cell: str, entity_types: list[str]) -> list[dict]:
    try:
        spans = json.loads(cell) if cell.strip() else []
    except json.JSONDecodeError as e:
        raise HonkdataError(f"{where}: entities is not valid JSON ({e})") from None
    if not isinstance(spans, list) or not all(isinstance(s, dict) for s in spans):
        raise HonkdataError(f'{where}: entities must be a JSON list of {{"type", "start", "end"}} objects')
    entities = {}
    for span in spans:
        start, end, quoted = span.get("start"), span.get("end"), span.get("text")
        if start is None and end is None and isinstance(quoted, str) and quoted in text:
            start = text.index(quoted)
            end = start + len(quoted)
        elif quoted is not None and type(start) is int and type(end) is int and text[start:end] != quoted:
            raise HonkdataError(f"{where}: span text {quoted!r} is not at {start}..{end}")
        entity = check_span(where, text, span.get("type"), start, end, entity_types)
        entities[entity["start"], entity["end"], entity["type"]] = entity
    return [entities[key] for key in sorted(entities)]


def read_csv_annotations(path: Path, intents: list[str], entity_types: list[str]) -> pa.Table:
    """The signed rows of a filled-in sheet, in the shape of `read_label_studio_export`."""
    try:
        with Path(path).open(newline="", encoding=ENCODING) as f:
            reader = csv.DictReader(f)
            lines = list(reader)
            header = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise HonkdataError(f"{path}: not a readable CSV task sheet ({e})") from None
    missing = [c for c in ("id", "text", "intent", "entities", "annotator") if c not in header]
    if missing:
        raise HonkdataError(f"{path}: missing column(s) {', '.join(missing)}")
    rows = []
    for line, cells in enumerate(lines, start=2):  # row numbers as a spreadsheet shows them
        annotator = (cells["annotator"] or "").strip()
        if not annotator:
            continue
        where = f"{Path(path).name}: row {line} (id {cells['id']})"
        text = cells["text"] or ""
        if not text or not cells["id"]:
            raise HonkdataError(f"{where}: no text or id")
        rows.append(
            {
                "id": cells["id"],
                "text": text,
                "annotator": annotator,
                "intent": check_intent(where, (cells["intent"] or "").strip(), intents),
                "entities": _entities(where, text, cells["entities"] or "", entity_types),
            }
        )
    return pa.Table.from_pylist(rows, schema=ANNOTATIONS)
