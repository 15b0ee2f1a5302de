import pytest
from seqeval.metrics.sequence_labeling import get_entities

from honkdata.tokens import tokenize
from honkdata.train.frames import Entity, Frame, entities_to_tags, tags_to_entities

TEXT = "play the rolling stones on spotify"


@pytest.mark.parametrize(
    "tags",
    [
        ["O", "B-artist", "I-artist", "I-artist", "O", "B-service"],
        ["O", "I-artist", "I-artist", "B-artist", "O", "I-service"],  # I- without B- starts an entity
        ["O", "B-artist", "I-track", "I-track", "B-service", "I-service"],  # type change starts one
        ["B-artist", "B-artist", "O", "I-artist", "I-service", "I-service"],
    ],
)
def test_tags_decode_to_the_spans_seqeval_reads(tags: list[str]) -> None:
    tokens = tokenize(TEXT)
    spans = [(e.type, e.start, e.end) for e in tags_to_entities(TEXT, tokens, tags)]
    expected = [(kind, tokens[first][1], tokens[last][2]) for kind, first, last in get_entities(tags)]
    assert spans == expected


def test_entity_text_is_the_span_of_the_query() -> None:
    tokens = tokenize(TEXT)
    (entity,) = tags_to_entities(TEXT, tokens, ["O", "B-artist", "I-artist", "I-artist", "O", "O"])
    assert entity == Entity("artist", 5, 23, "the rolling stones")
    assert TEXT[entity.start : entity.end] == entity.text


def test_entities_round_trip_through_tags() -> None:
    tokens = tokenize(TEXT)
    entities = (Entity("artist", 5, 23, "the rolling stones"), Entity("service", 27, 34, "spotify"))
    tags = entities_to_tags(tokens, entities)
    assert tags == ["O", "B-artist", "I-artist", "I-artist", "O", "B-service"]
    assert tags_to_entities(TEXT, tokens, tags) == entities


def test_overlapping_entities_tag_only_the_first() -> None:
    tokens = tokenize(TEXT)
    tags = entities_to_tags(tokens, [Entity("artist", 5, 23, "x"), Entity("track", 9, 16, "rolling")])
    assert tags == ["O", "B-artist", "I-artist", "I-artist", "O", "O"]


def test_frame_dict_is_the_predict_line() -> None:
    frame = Frame("play_music", 0.91234567, (Entity("artist", 5, 23, "the rolling stones"),))
    assert frame.to_dict(TEXT) == {
        "query": TEXT,
        "intent": "play_music",
        "confidence": 0.912346,
        "entities": [{"type": "artist", "start": 5, "end": 23, "text": "the rolling stones"}],
    }
