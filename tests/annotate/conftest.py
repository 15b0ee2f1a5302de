"""Rows as `honkdata annotate export` reads them from a snapshot, and the default taxonomy's labels."""

from pathlib import Path

import pyarrow as pa
import pytest

from honkdata.schema import ENTITIES
from honkdata.taxonomy import load_taxonomy

LABEL_STUDIO = Path(__file__).parent.parent / "fixtures" / "label_studio"

ROWS = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("text", pa.string()),
        pa.field("intent", pa.string()),
        pa.field("entities", ENTITIES),
        pa.field("label_source", pa.string()),
        pa.field("label_confidence", pa.float32()),
        pa.field("label_disagreement", pa.float64()),
    ]
)


def span(text: str, kind: str, part: str) -> dict:
    start = text.index(part)
    return {"type": kind, "start": start, "end": start + len(part), "text": part}


def rows(*items: dict) -> pa.Table:
    """A table of snapshot rows; unspecified columns are null (entities: none)."""
    return pa.Table.from_pylist([{"entities": [], **item} for item in items], schema=ROWS)


@pytest.fixture
def intents() -> list[str]:
    return load_taxonomy().intents


@pytest.fixture
def entity_types() -> list[str]:
    return load_taxonomy().entity_types
