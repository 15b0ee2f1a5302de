import random
import re

import pyarrow as pa

from honkdata.config import NormalizeConfig
from honkdata.normalize import EMPTY_QUERY, ENTITIES_LOST, TOO_LONG, Normalize, grouping_key, normalize_text
from honkdata.schema import RECORD
from honkdata.stage import StageStats


def test_normalize_text_nfkc_controls_and_whitespace():
    raw = ["  Play\tTaylor\n Swift ", "ｐｌａｙ ＡＢＢＡ", "sk\u200bip", "caf\u0065\u0301", "a\x00b"]
    assert normalize_text(pa.array(raw)).to_pylist() == [
        "Play Taylor Swift",
        "play ABBA",
        "skip",
        "café",
        "a b",
    ]


def test_every_run_of_spaces_and_control_characters_becomes_one_space():
    # Random strings over the characters that matter (space, ASCII and C1 controls, letters, an
    # emoji), against Python's reading of "a run of spaces and Cc characters is one space".
    rng = random.Random(0)
    controls = ["\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\x1f", "\x7f", "\x85", "\x9f"]
    alphabet, weights = ["a", "é", "👍", " ", *controls], [5, 5, 5, 10] + [1] * len(controls)
    raw = ["".join(rng.choices(alphabet, weights, k=rng.randint(0, 12))) for _ in range(3000)]
    expected = [re.sub(r"[ \x00-\x1f\x7f-\x9f]+", " ", s).strip(" ") for s in raw]
    assert normalize_text(pa.array(raw)).to_pylist() == expected


def test_grouping_key_folds_case_and_trailing_punctuation_only():
    text = pa.array(["Play Taylor Swift!!", "skip?", "AC/DC", "what's up."])
    assert grouping_key(text).to_pylist() == ["play taylor swift", "skip", "ac/dc", "what's up"]


def _batch(queries: list[str], entities: list | None = None) -> pa.RecordBatch:
    rows = [
        {"query": q, "source": "s", "line": i + 1, "entities": (entities or [None] * len(queries))[i]}
        for i, q in enumerate(queries)
    ]
    return pa.RecordBatch.from_pylist(rows, schema=RECORD)


def test_stage_drops_empty_and_overlong_with_reasons():
    stats = StageStats("normalize")
    out = Normalize(NormalizeConfig(max_chars=10))(_batch(["  ", "skip", "x" * 11, "\u200b"]), stats)
    assert out.column("text").to_pylist() == ["skip"]
    assert out.column("key").to_pylist() == ["skip"]
    assert (stats.rows_in, stats.rows_out) == (4, 1)
    assert stats.dropped == {EMPTY_QUERY: 2, TOO_LONG: 1}


def test_entity_spans_follow_the_text():
    query = "play  ｔａｙｌｏｒ swift   by  the  pool"
    spans = [{"type": "artist", "start": 6, "end": 18, "text": "ｔａｙｌｏｒ swift"}]
    out = Normalize(NormalizeConfig())(_batch([query], [spans]), StageStats("n"))
    text = out.column("text")[0].as_py()
    (entity,) = out.column("entities")[0].as_py()
    assert text == "play taylor swift by the pool"
    assert text[entity["start"] : entity["end"]] == entity["text"] == "taylor swift"


def test_format_characters_vanish_but_emoji_sequences_stay_whole():
    family, rainbow_flag, coder = "👨\u200d👩\u200d👧", "🏳\ufe0f\u200d🌈", "👩🏽\u200d💻"
    raw = [
        "play \u202etaylor swift\u202c",  # bidi override
        "\u2066skip\u2069 \u200fnext",  # bidi isolates and marks
        "play\U000e0020\U000e0041 abba\U000e007f",  # tag characters
        f"play {family} {rainbow_flag} {coder}",
        "ta\u200dylor sw\u200cift",  # joiners between letters
        "\u00adsoft\u2060hyphen\ufeff",
    ]
    assert normalize_text(pa.array(raw)).to_pylist() == [
        "play taylor swift",
        "skip next",
        "play abba",
        f"play {family} {rainbow_flag} {coder}",
        "taylor swift",
        "softhyphen",
    ]


def test_queries_of_nothing_but_invisible_characters_are_dropped_as_empty():
    stats = StageStats("normalize")
    invisible = ["\u202e\u202c", "\U000e0041\U000e0042", "\u2066\u2069\u200d", "skip"]
    out = Normalize(NormalizeConfig())(_batch(invisible), stats)
    assert out.column("text").to_pylist() == ["skip"]
    assert stats.dropped == {EMPTY_QUERY: 3}


def test_entity_spans_follow_the_text_past_invisible_characters():
    query = "play \u202ebeyon\u200dcé\u202c \U000e0041 on spotify 👨\u200d👩\u200d👧"
    spans = [
        {"type": "artist", "start": 5, "end": 15, "text": query[5:15]},
        {"type": "service", "start": 21, "end": 28, "text": "spotify"},
    ]
    out = Normalize(NormalizeConfig())(_batch([query], [spans]), StageStats("n"))
    text = out.column("text")[0].as_py()
    assert text == "play beyoncé on spotify 👨\u200d👩\u200d👧"
    assert [(e["text"], text[e["start"] : e["end"]]) for e in out.column("entities")[0].as_py()] == [
        ("beyoncé", "beyoncé"),
        ("spotify", "spotify"),
    ]


def test_native_spans_follow_the_text_and_stay_apart_when_nfkc_moves_it():
    # NFKC spells "½" as "1⁄2": the rating "2" must land on the "2" after it, not inside the title.
    query = "rate james bond 003½ 2 points"
    spans = [
        {"type": "object_name", "start": 5, "end": 20, "text": "james bond 003½"},
        {"type": "rating_value", "start": 21, "end": 22, "text": "2"},
    ]
    row = {"query": query, "source": "s", "line": 1, "source_entities": spans}
    out = Normalize(NormalizeConfig())(pa.RecordBatch.from_pylist([row], schema=RECORD), StageStats("n"))
    text = out.column("text")[0].as_py()
    moved = out.column("source_entities")[0].as_py()
    assert text == "rate james bond 0031⁄2 2 points"
    assert [(e["type"], text[e["start"] : e["end"]]) for e in moved] == [
        ("object_name", "james bond 0031⁄2"),
        ("rating_value", "2"),
    ]
    assert moved[1]["start"] == moved[0]["end"] + 1


def test_repeated_queries_normalize_like_single_ones():
    queries = ["Play  ABBA!", "skip", "Play  ABBA!", "ｐｌａｙ ＡＢＢＡ", "skip", "  ", "Play  ABBA!"]
    stats = StageStats("normalize")
    out = Normalize(NormalizeConfig())(_batch(queries), stats)
    expected = normalize_text(pa.array(queries)).to_pylist()
    kept = [text for text in expected if text]
    assert out.column("text").to_pylist() == kept
    assert out.column("key").to_pylist() == grouping_key(pa.array(kept)).to_pylist()
    assert out.column("line").to_pylist() == [1, 2, 3, 4, 5, 7]  # each event keeps its own row
    assert stats.dropped == {EMPTY_QUERY: 1}


def test_spans_move_only_where_the_text_moved():
    moved = "play  ｔａｙｌｏｒ swift"
    queries = [moved, "play abba", moved, "skip", moved, "play \u202eadele\u202c"]
    spans = [
        [{"type": "artist", "start": 6, "end": 18, "text": "ｔａｙｌｏｒ swift"}],
        [{"type": "artist", "start": 5, "end": 9, "text": "abba"}],  # text unchanged: kept as it is
        None,
        [],
        [{"type": "artist", "start": 6, "end": 18, "text": "ｔａｙｌｏｒ swift"}],
        [
            {"type": "artist", "start": 5, "end": 12, "text": "\u202eadele\u202c"},
            {"type": "mood", "start": 11, "end": 12, "text": "\u202c"},
        ],
    ]
    stats = StageStats("normalize")
    out = Normalize(NormalizeConfig())(_batch(queries, spans), stats)
    texts = out.column("text").to_pylist()
    entities = out.column("entities").to_pylist()
    assert entities[1:4] == spans[1:4]
    for i in (0, 4, 5):
        assert [e["text"] for e in entities[i]] == [texts[i][e["start"] : e["end"]] for e in entities[i]]
    assert entities[4] == entities[0]
    assert [e["text"] for e in entities[0] + entities[5]] == ["taylor swift", "adele"]
    assert not stats.notes  # an invisible character is no span:
    assert stats.breakdowns == {ENTITIES_LOST: {"entities": 1}}
