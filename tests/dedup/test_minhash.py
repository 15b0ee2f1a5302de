import numpy as np
import pyarrow as pa

from honkdata.dedup.minhash import (
    band_keys,
    bucket_pairs,
    candidate_pairs,
    minhash_signatures,
    shingle_hashes,
    word_signatures,
)
from honkdata.dedup.words import tokenize


def _signatures(texts: list[str | None] | pa.Array, ngram: int = 3, num_perm: int = 64, seed: int = 0):
    return minhash_signatures(tokenize(pa.array(texts, pa.string())), ngram, num_perm, seed)


def _agreement(texts: list[str | None], ngram: int = 3, num_perm: int = 128) -> np.ndarray:
    sig = _signatures(texts, ngram, num_perm)
    return (sig[:, None, :] == sig[None, :, :]).mean(axis=2)


def test_signatures_are_deterministic_and_shaped():
    texts = pa.array(["play taylor swift", "skip", "播放周杰伦"])
    a, b = _signatures(texts), _signatures(texts)
    assert a.shape == (3, 64) and a.dtype == np.uint32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, _signatures(texts, seed=1))
    # a row's signature depends neither on its batch nor on the vocabulary around it
    assert np.array_equal(_signatures(texts.slice(1, 1))[0], a[1])


def test_a_rows_signature_is_its_shingle_sets_minhash():
    # the element-wise minimum over words equals hashing the row's shingles as one set
    row = _signatures(["taylor swift"], num_perm=32)[0]
    assert np.array_equal(row, word_signatures(pa.array(["taylor swift"]), 3, 32)[0])
    words = word_signatures(pa.array(["taylor", "swift"]), 3, 32)
    assert np.array_equal(row, words.min(axis=0))


def test_frequent_words_are_left_out_unless_nothing_is_left():
    sim = _agreement(["play taylor swift", "add taylor swift to my playlist", "play", "the"])
    assert sim[0, 1] == 1  # only "taylor swift" is hashed in both
    assert sim[2, 3] < 0.2  # a text of stopwords only is hashed whole


def test_reordering_casing_and_fillers_give_identical_signatures():
    sim = _agreement(["play taylor swift", "Taylor Swift, play!", "hey play taylor swift please"])
    assert (sim == 1).all()


def test_a_typo_keeps_most_of_the_signature():
    sim = _agreement(["play taylor swift", "play taylor swif", "play drake"])
    assert sim[0, 1] > 0.6
    assert sim[0, 2] < 0.2


def test_short_texts_are_one_shingle_never_empty():
    for ngram in (3, 5):
        _, rows = shingle_hashes(pa.array(["a", "ab", "go", "x y"]), ngram)
        assert set(rows.tolist()) == {0, 1, 2, 3}
    _, rows = shingle_hashes(pa.array(["a"]), 5)
    assert rows.tolist() == [0]  # " a " is one shingle
    sim = _agreement(["a", "b", "a"], ngram=5)
    assert sim[0, 2] == 1 and sim[0, 1] == 0


def test_empty_and_null_match_only_each_other():
    sig = _signatures(["", None, "play", "a"], num_perm=32)
    assert np.array_equal(sig[0], sig[1])
    assert (sig[0] == 0xFFFFFFFF).all()
    assert not (sig[2:] == sig[0]).any()


def test_code_points_not_bytes_in_every_script():
    # five characters in Chinese give the padded five-character word's 3-grams, not 15 bytes' worth
    _, rows = shingle_hashes(pa.array(["播放周杰伦"]), 3)
    assert len(rows) == 5
    sim = _agreement(["播放周杰伦", "播放周杰倫", "привет мир", "привет мир!", "🎵🎵", "❤️"], ngram=2)
    assert 0.4 < sim[0, 1] < 1
    assert sim[2, 3] == 1
    assert sim[4, 5] == 0


def test_candidates_are_sorted_unique_and_ordered():
    texts = pa.array(["play taylor swift", "taylor swift play", "play taylor swif", "skip", "pause"])
    pairs = candidate_pairs(_signatures(texts), 16, 64)
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert len({tuple(p) for p in pairs.tolist()}) == len(pairs)
    assert {(0, 1), (0, 2), (1, 2)} <= {tuple(p) for p in pairs.tolist()}
    assert not {(3, 4)} & {tuple(p) for p in pairs.tolist()}


def test_a_huge_bucket_stays_linear():
    n = 5000
    keys = np.zeros((n, 4), np.uint64)  # every row in one bucket of every band
    keys[:, 1] = np.arange(n, dtype=np.uint64)
    pairs = bucket_pairs(keys, max_bucket=16)
    assert len(pairs) < n * 4 * 16  # not n^2 / 2 = 12.5M
    assert len(pairs) >= n - 1  # and still a chain through all of them


def test_band_keys_are_per_band():
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9]], np.uint32)
    keys = band_keys(sig, 2)
    assert keys[0, 0] == keys[1, 0] and keys[0, 1] != keys[1, 1]
