import numpy as np
import pyarrow as pa
import pytest

from honkdata.dedup.verify import is_typo, verify_pairs, words_match
from honkdata.dedup.words import tokenize
from honkdata.schema import ENTITIES


def _dup(a: str, b: str, threshold: float = 0.7, **labels) -> bool:
    entities = labels.get("entities")
    intents = labels.get("intents")
    return bool(
        verify_pairs(
            tokenize(pa.array([a, b])),
            np.array([[0, 1]]),
            threshold,
            pa.array(entities, ENTITIES) if entities is not None else None,
            pa.array(intents, pa.string()) if intents is not None else None,
        )[0]
    )


@pytest.mark.parametrize(
    "b",
    [
        "play taylor swif",  # typo
        "play taylor swift please",  # filler
        "hey can you play taylor swift",
        "um play taylor swift now",
        "taylor swift play",  # reordering
        "Play Taylor Swift!",  # casing, punctuation
        "pleaase play taylor swift",  # a mistyped filler
        "play tyalor swift",  # swapped neighbours are one edit
        "play taylorswift",  # a space lost
    ],
)
def test_duplicates(b):
    assert _dup("play taylor swift", b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("play drake", "play blake"),  # two edits: another artist
        ("play the top 10", "play the top 20"),
        ("hits of the 80s", "hits of the 90s"),
        ("play top ten songs", "play top one songs"),
        ("play taylor swift", "play taylor swift radio"),  # a word added
        ("play taylor swift", "play katy perry"),
        ("add this song to my gym playlist", "add this song to my run playlist"),
    ],
)
def test_not_duplicates(a, b):
    assert not _dup(a, b)


def test_number_word_typos_are_typos_but_other_numbers_are_not():
    assert _dup("play songs from the sixties", "play songs from the sixies")
    assert not _dup("play songs from the sixties", "play songs from the fifties")


def test_one_edit_names_are_typos_and_adele_adela_merge():
    # Decided: one edit on a five-letter name is within a typo's reach; two are not.
    assert _dup("play adele", "play adela")
    assert not _dup("play adele", "play abela")


def test_typo_rule():
    assert is_typo("swift", "swif") and is_typo("taylor", "tyalor")
    assert not is_typo("drake", "blake")
    assert is_typo("christina", "chrsitinaa")  # two edits on a long word
    four = tokenize(pa.array(["play a b c d", "play aa bb cc dd", "play aa bb cc d"]))
    assert words_match(four, np.array([[0, 1], [0, 2]])).tolist() == [False, True]  # four are too many


def test_intents_must_agree_when_known():
    assert not _dup("play jazz", "play jazz", intents=["play_music", "play_radio"])
    assert _dup("play jazz", "play jazz!", intents=["play_music", None])


def test_entities_typo_level_only():
    swift = [{"type": "artist", "start": 5, "end": 17, "text": "taylor swift"}]
    swif = [{"type": "artist", "start": 5, "end": 16, "text": "taylor swif"}]
    assert _dup("play taylor swift", "play taylor swif", entities=[swift, swif])
    assert _dup("play taylor swift", "play taylor swif", entities=[swift, []])  # untagged typo
    drake = [{"type": "artist", "start": 5, "end": 10, "text": "drake"}]
    blake = [{"type": "artist", "start": 5, "end": 10, "text": "blake"}]
    assert not _dup("play drake", "play blake", entities=[drake, blake])
    # same words, the names in other roles: not the same query
    a = [
        {"type": "track", "start": 5, "end": 9, "text": "hero"},
        {"type": "artist", "start": 13, "end": 18, "text": "drake"},
    ]
    b = [
        {"type": "track", "start": 5, "end": 10, "text": "drake"},
        {"type": "artist", "start": 14, "end": 18, "text": "hero"},
    ]
    assert not _dup("play hero by drake", "play drake by hero", entities=[a, b])


def test_threshold_and_empty():
    assert not _dup("play taylor swift", "play taylor swif", threshold=1.0)
    assert not _dup("", "")
    words = tokenize(pa.array(["a", None, "a", "?!", "?!"], pa.string()))
    assert verify_pairs(words, np.array([[0, 1], [0, 2], [3, 4]]), 0.7).tolist() == [False, True, True]
    assert verify_pairs(words, np.zeros((0, 2), np.int64), 0.7).shape == (0,)


def test_non_latin_scripts():
    assert _dup("播放周杰伦", "播放周杰倫")  # one character
    assert _dup("включи кино", "включи кинo".replace("o", "о"))
    assert _dup("включи группу кино", "включи групу кино")
    assert not _dup("включи группу кино", "включи группу ддт")


def test_verdicts_depend_neither_on_order_nor_on_the_other_pairs():
    texts = [
        "play taylor swift", "play tyalor swif", "play taylor swift radio", "play drake", "play blake",
        "play hero by drake", "play heros by drak", "play the top 10", "play the top 20", "skip",
        "play songs from the sixties", "play songs from the sixies", "pleaase play taylor swift",
    ]  # fmt: skip
    words = tokenize(pa.array(texts))
    pairs = np.array([(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))])
    together = verify_pairs(words, pairs, 0.7)
    assert (together == verify_pairs(words, pairs[:, ::-1], 0.7)).all()
    alone = [verify_pairs(words, pair[None], 0.7)[0] for pair in pairs]
    assert together.tolist() == alone
    found = {(texts[i], texts[j]) for i, j in pairs[together]}
    assert found == {
        ("play taylor swift", "play tyalor swif"),
        ("play taylor swift", "pleaase play taylor swift"),
        ("play tyalor swif", "pleaase play taylor swift"),
        ("play hero by drake", "play heros by drak"),  # two words changed, both typos
        ("play songs from the sixties", "play songs from the sixies"),
    }
