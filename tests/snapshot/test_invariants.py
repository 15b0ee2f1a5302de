"""Every rule a published row holds, and the one-line error when a row breaks it."""

import pyarrow as pa
import pytest

import honkdata.build
from honkdata.build import build
from honkdata.dedup.stage import MergeClusters
from honkdata.errors import HonkdataError
from honkdata.schema import ENTITIES
from honkdata.snapshot.invariants import check_invariants
from honkdata.snapshot.store import SnapshotStore
from honkdata.taxonomy import load_taxonomy
from tests.conftest import FIXTURES

INTENTS = load_taxonomy().intents
ADELE = {"type": "artist", "start": 5, "end": 10, "text": "adele"}


def _rows(**changes: object) -> pa.Table:
    rows = {
        "id": ["a1", "b2"],
        "text": ["play adele", "skip"],
        "intent": ["play_music", None],
        "entities": [[ADELE], []],
        "source_intent": ["PlayMusic", None],
        "source_entities": [[ADELE], None],
    }
    rows.update(changes)
    types = {"entities": ENTITIES, "source_entities": ENTITIES}
    return pa.table({name: pa.array(values, types.get(name)) for name, values in rows.items()})


def _error(table: pa.Table) -> str:
    with pytest.raises(HonkdataError) as caught:
        check_invariants(table, INTENTS)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("snapshot invariants broken, nothing written: ")
    return message.split(": ", 1)[1]


def test_rows_that_hold_every_invariant_pass():
    check_invariants(_rows(), INTENTS)


@pytest.mark.parametrize(
    ("span", "broken"),
    [
        ({"type": "artist", "start": 5, "end": 11, "text": "adele"}, "spans outside their text"),
        ({"type": "artist", "start": -1, "end": 4, "text": "play"}, "spans outside their text"),
        ({"type": "artist", "start": 5, "end": 5, "text": ""}, "spans outside their text"),
        ({"type": "artist", "start": None, "end": 4, "text": "play"}, "spans outside their text"),
        (
            {"type": "artist", "start": 5, "end": 10, "text": "Adele"},
            "spans whose text is not text[start:end]",
        ),
    ],
)
@pytest.mark.parametrize("column", ["entities", "source_entities"])
def test_a_span_that_does_not_fit_its_text_fails(column: str, span: dict, broken: str):
    assert _error(_rows(**{column: [[span], []]})) == f"1 rows with {column} {broken} (first: id a1)"


def test_overlapping_spans_fail():
    play = {"type": "track", "start": 0, "end": 7, "text": "play ad"}
    assert (
        _error(_rows(entities=[[play, ADELE], []])) == "1 rows with overlapping entities spans (first: id a1)"
    )
    apart = {"type": "track", "start": 0, "end": 4, "text": "play"}
    check_invariants(_rows(entities=[[ADELE, apart], []]), INTENTS)  # order does not matter, touching is fine


def test_an_intent_outside_the_taxonomy_fails():
    message = _error(_rows(intent=["PlayMusic", None]))
    assert message == "1 rows with an intent outside the taxonomy (PlayMusic) (first: id a1)"


def test_repeated_ids_fail():
    assert _error(_rows(id=["a1", "a1"])) == "1 rows share their id with another row (first: id a1)"


def test_every_broken_rule_is_named_on_the_one_line():
    message = _error(_rows(id=["a1", "a1"], intent=["play", "skip"]))
    assert message.count("; ") == 1 and "share their id" in message and "(play, skip)" in message


def test_a_violation_that_reaches_the_writer_fails_the_build(tmp_path, make_config, monkeypatch):
    class ShiftedSpans(MergeClusters):
        """A stage with a bug: every span one character too far."""

        def __call__(self, table: pa.Table, stats) -> pa.Table:
            table = super().__call__(table, stats)
            shifted = [
                [{**e, "start": e["start"] + 1, "end": e["end"] + 1} for e in spans] if spans else spans
                for spans in table.column("entities").to_pylist()
            ]
            index = table.schema.get_field_index("entities")
            return table.set_column(index, "entities", pa.array(shifted, ENTITIES))

    monkeypatch.setattr(honkdata.build, "MergeClusters", ShiftedSpans)
    with pytest.raises(
        HonkdataError, match=r"^snapshot invariants broken, nothing written: \d+ rows with entities"
    ):
        build(make_config(FIXTURES / "public" / "bio"))
    assert SnapshotStore(tmp_path / "store").versions("music-queries") == []
