import numpy as np
import pyarrow as pa

from honkdata.dedup.words import canonical, tokenize


def test_canonical_drops_case_punctuation_and_fillers_but_never_everything():
    got = canonical(
        pa.array(["Hey, can you PLAY Taylor Swift please!", "play x for me", "please", "?!", None, ""])
    )
    assert got.to_pylist() == ["play taylor swift", "play x", "please", "?!", None, ""]
    # "for me" is a filler only at the end, and "thank you" only as a whole
    assert canonical(pa.array(["book a table for me and jami", "thank you", "thank god"])).to_pylist() == [
        "book a table for me and jami",
        "thank you",
        "thank god",
    ]
    # back-to-back fillers all go, and apostrophes join a word
    assert canonical(pa.array(["can you can you play it for me", "don't stop"])).to_pylist() == [
        "play it",
        "dont stop",
    ]


def test_words_share_one_vocabulary_and_take_rows():
    words = tokenize(pa.array(["play taylor swift", "Taylor Swift, play!", None, "", "播放 周杰伦"]))
    assert len(words) == 5
    assert words.lengths.tolist() == [3, 3, 0, 0, 2]
    assert sorted(words.ids[:3].tolist()) == sorted(words.ids[3:6].tolist())  # same ids, reordered
    assert words.valid.tolist() == [True, True, False, True, True]
    assert words.sorted_text().to_pylist() == [
        "play swift taylor",
        "play swift taylor",
        None,
        "",
        "周杰伦 播放",
    ]
    taken = words.take(np.array([4, 2, 0]))
    assert taken.text().to_pylist() == ["播放 周杰伦", None, "play taylor swift"]
    assert taken.joined("").to_pylist() == ["播放周杰伦", None, "playtaylorswift"]


def test_emoji_and_symbols_are_words():
    assert canonical(pa.array(["play 🎵 music!!", "❤️"])).to_pylist() == ["play 🎵 music", "❤️"]
