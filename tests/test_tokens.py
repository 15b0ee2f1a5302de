import random
import time

import pyarrow as pa
import pytest
from seqeval.metrics import classification_report, f1_score
from seqeval.scheme import IOB2

from honkdata.schema import ENTITIES, TAGS, TOKENS
from honkdata.stage import StageStats
from honkdata.tokens import (
    SPANS_OFF_BOUNDARIES,
    SPANS_ON_NO_TOKEN,
    SPANS_OUTSIDE,
    SPANS_OVERLAPPING,
    TOKENS_COUNTED,
    TokenizeAndTag,
    bio_labels,
    tokenize,
)


def _span(kind: str, text: str, part: str, nth: int = 0) -> dict:
    start = text.index(part)
    for _ in range(nth):
        start = text.index(part, start + 1)
    return {"type": kind, "start": start, "end": start + len(part), "text": part}


def _tag(texts: list[str], entities: list, **columns: list) -> tuple[pa.Table, StageStats]:
    table = pa.table(
        {"text": texts, "entities": pa.array(entities, ENTITIES)}
        | {name: pa.array(values, ENTITIES) for name, values in columns.items()}
    )
    stats = StageStats("tokens")
    return TokenizeAndTag()(table, stats), stats


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("play taylor swift", ["play", "taylor", "swift"]),
        ("don't stop rock'n'roll", ["don't", "stop", "rock'n'roll"]),
        ("i can’t hear it", ["i", "can’t", "hear", "it"]),
        ("guns n' roses", ["guns", "n", "'", "roses"]),
        ("up to 7.5 at 10:30, 1,000 times", ["up", "to", "7.5", "at", "10:30", ",", "1,000", "times"]),
        ("top 10.", ["top", "10", "."]),
        ("play 2pac's mp3s", ["play", "2pac's", "mp3s"]),
        ("call <PERSON> at <PHONE>!", ["call", "<PERSON>", "at", "<PHONE>", "!"]),
        ("rock & roll -- now?!", ["rock", "&", "roll", "-", "-", "now", "?", "!"]),
        ("play Pop Punk Perfection 🍕", ["play", "Pop", "Punk", "Perfection", "🍕"]),
        ("songs for 👩‍🎤 and 👍🏽 from 🇫🇷", ["songs", "for", "👩‍🎤", "and", "👍🏽", "from", "🇫🇷"]),
        ("Música Da Série", ["Música", "Da", "Série"]),
        ("日本語 の 歌", ["日本語", "の", "歌"]),
        ("   ", []),
    ],
)  # fmt: skip
def test_tokenizer_words_numbers_punctuation_and_emoji(text: str, tokens: list[str]) -> None:
    found = tokenize(text)
    assert [t for t, _, _ in found] == tokens
    assert all(text[start:end] == t for t, start, end in found)


def test_stage_tokens_match_the_tokenizer_with_offsets_into_the_text() -> None:
    texts = ["play Música by Björk 👩‍🎤 now", "", "skip", "call <PERSON> at 10:30", "a  b\tc"]
    table, stats = _tag(texts, [[] for _ in texts])
    assert table.schema.field("tokens").type == TOKENS and table.schema.field("tags").type == TAGS
    for text, tokens in zip(texts, table.column("tokens").to_pylist(), strict=True):
        assert [(t["text"], t["start"], t["end"]) for t in tokens] == tokenize(text)
    assert stats.notes[TOKENS_COUNTED] == sum(len(tokenize(t)) for t in texts)
    assert table.column("tags").to_pylist()[2] == ["O"]


def test_bio_tags_over_the_entity_types() -> None:
    text = "add bohemian rhapsody by queen to my gym playlist"
    spans = [
        _span("track", text, "bohemian rhapsody"),
        _span("artist", text, "queen"),
        _span("playlist", text, "gym"),
    ]
    table, stats = _tag([text], [spans])
    assert table.column("tags").to_pylist() == [
        ["O", "B-track", "I-track", "O", "B-artist", "O", "O", "B-playlist", "O"]
    ]
    assert set(stats.notes) == {TOKENS_COUNTED} and not stats.breakdowns  # every span on token boundaries


def test_a_span_off_token_boundaries_tags_the_tokens_it_touches_and_is_counted() -> None:
    text = "play taylor swift's songs"
    table, stats = _tag([text], [[_span("artist", text, "taylor swift")]])
    assert table.column("tags").to_pylist() == [["O", "B-artist", "I-artist", "O"]]
    assert stats.breakdowns == {SPANS_OFF_BOUNDARIES: {"entities": 1}}


def test_spans_that_tag_nothing_or_overlap_are_left_out_and_counted() -> None:
    text = "play abba  now"
    spans = [
        _span("artist", text, "abba"),
        _span("track", text, "ab"),  # inside the token `abba`: overlaps the artist there
        {"type": "era", "start": 9, "end": 10, "text": " "},  # whitespace: no token
        {"type": "era", "start": 12, "end": 40, "text": "now"},  # past the end of the text
        {"type": None, "start": 0, "end": 4, "text": "play"},
    ]
    table, stats = _tag([text], [spans])
    assert table.column("tags").to_pylist() == [["O", "B-artist", "O"]]
    assert stats.breakdowns == {
        SPANS_OFF_BOUNDARIES: {"entities": 1},  # `ab`, inside `abba`
        SPANS_OVERLAPPING: {"entities": 1},
        SPANS_ON_NO_TOKEN: {"entities": 1},
        SPANS_OUTSIDE: {"entities": 2},
    }


def test_rows_without_spans_have_null_tags_and_source_tags_follow_the_native_slots() -> None:
    texts = ["play the beatles", "skip", "louder"]
    native = [[_span("artist_name", texts[0], "the beatles")], [], None]
    mapped = [[_span("artist", texts[0], "the beatles")], [], None]
    table, _ = _tag(texts, mapped, source_entities=native)
    assert table.column("tags").to_pylist() == [["O", "B-artist", "I-artist"], ["O"], None]
    assert table.column("source_tags").to_pylist() == [["O", "B-artist_name", "I-artist_name"], ["O"], None]


def test_without_a_source_entities_column_source_tags_are_null() -> None:
    table, _ = _tag(["play abba"], [[]])
    assert table.column("source_tags").to_pylist() == [None]


def test_seqeval_scores_the_tags_as_they_are() -> None:
    texts = ["play songs by queen on spotify", "add one love to my chill playlist", "play jazz"]
    spans = [
        [_span("artist", texts[0], "queen"), _span("service", texts[0], "spotify")],
        [_span("track", texts[1], "one love"), _span("playlist", texts[1], "chill")],
        [_span("genre", texts[2], "jazz")],
    ]
    gold = _tag(texts, spans)[0].column("tags").to_pylist()
    # A model that misses the service and the genre.
    predicted = _tag(texts, [spans[0][:1], spans[1], []])[0].column("tags").to_pylist()
    assert f1_score(gold, gold, mode="strict", scheme=IOB2) == 1.0  # strict mode validates the scheme
    assert f1_score(gold, predicted) == pytest.approx(2 * 3 / (5 + 3))
    assert "playlist" in classification_report(gold, predicted, mode="strict", scheme=IOB2, zero_division=0)


def test_bio_labels_are_o_then_b_and_i_per_type_in_order() -> None:
    assert bio_labels(["artist", "track"]) == ["O", "B-artist", "I-artist", "B-track", "I-track"]


def test_a_hundred_thousand_rows_take_well_under_a_second() -> None:
    rng = random.Random(7)
    words = ("play", "some", "chill", "music", "for", "my", "gym", "don't", "3.5", ",", "?", "café")
    texts, spans = [], []
    for _ in range(100_000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) + " taylor swift"
        texts.append(text)
        spans.append([_span("artist", text, "taylor swift")])
    table = pa.table({"text": texts, "entities": pa.array(spans, ENTITIES)})
    start = time.perf_counter()
    TokenizeAndTag()(table, StageStats("tokens"))
    # About 0.3 s on one core; the bound leaves room for a slow CI machine, not for a per-token loop.
    assert time.perf_counter() - start < 2.0
