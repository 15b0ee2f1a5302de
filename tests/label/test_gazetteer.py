from pathlib import Path

import pyarrow as pa

from honkdata.label.gazetteer import Gazetteer
from honkdata.schema import ENTITIES


def spans(gazetteer: Gazetteer, *texts: str | None) -> list[list[tuple[str, str]]]:
    tagged = gazetteer.tag(pa.array(list(texts), pa.string()))
    assert tagged.type == ENTITIES
    out = []
    for text, entities in zip(texts, tagged.to_pylist(), strict=True):
        for e in entities:
            assert text[e["start"] : e["end"]] == e["text"]  # offsets point into the given text
        out.append([(e["type"], e["text"]) for e in entities])
    return out


def test_longest_match_wins() -> None:
    g = Gazetteer([("artist", "stones"), ("artist", "the rolling stones"), ("genre", "rock")])
    assert spans(g, "play The Rolling Stones rock") == [[("artist", "The Rolling Stones"), ("genre", "rock")]]


def test_whole_words_only() -> None:
    g = Gazetteer([("genre", "rock"), ("genre", "pop")])
    assert spans(g, "rocky road", "popcorn", "pop-rock", "k-rock!") == [
        [],
        [],
        [("genre", "pop"), ("genre", "rock")],
        [("genre", "rock")],
    ]


def test_case_insensitive_with_punctuation_and_unicode() -> None:
    g = Gazetteer([("artist", "AC/DC"), ("artist", "Beyoncé"), ("genre", "r&b")])
    assert spans(g, "play ac/dc", "BEYONCÉ's hits", "İstanbul r&b") == [
        [("artist", "ac/dc")],
        [("artist", "BEYONCÉ")],
        [("genre", "r&b")],
    ]


def test_names_never_span_two_texts_and_nulls_are_empty() -> None:
    g = Gazetteer([("artist", "daft punk")])
    assert spans(g, "daft", "punk", None, "") == [[], [], [], []]


def test_adjacent_names_and_repeats() -> None:
    g = Gazetteer([("genre", "jazz"), ("genre", "rock")])
    assert spans(g, "jazz rock jazz") == [[("genre", "jazz"), ("genre", "rock"), ("genre", "jazz")]]


def test_type_is_the_most_listed_one() -> None:
    g = Gazetteer([("track", "yesterday"), ("album", "yesterday"), ("album", "yesterday")])
    assert spans(g, "yesterday") == [[("album", "yesterday")]]


def test_stopwords_and_single_letters_are_not_names() -> None:
    g = Gazetteer([("track", "you"), ("artist", "x"), ("track", "hello")])
    assert spans(g, "you x hello") == [[("track", "hello")]]


def test_add_after_tagging_and_from_folder(tmp_path: Path) -> None:
    (tmp_path / "genre.txt").write_text("# source: test\njazz\n\n")
    (tmp_path / "mood.txt").write_text("chill\n")
    g = Gazetteer.from_folder(tmp_path)
    assert len(g) == 2
    assert spans(g, "chill jazz adele") == [[("mood", "chill"), ("genre", "jazz")]]
    g.add([("artist", "Adele")])
    assert spans(g, "chill jazz adele") == [[("mood", "chill"), ("genre", "jazz"), ("artist", "adele")]]


def test_empty_gazetteer_and_chunked_input() -> None:
    assert Gazetteer().tag(pa.array(["anything"])).to_pylist() == [[]]
    g = Gazetteer([("genre", "jazz")])
    chunked = pa.chunked_array([["jazz"], ["more jazz"]])
    assert [len(x) for x in g.tag(chunked).to_pylist()] == [1, 1]
