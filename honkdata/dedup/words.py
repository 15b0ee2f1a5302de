"""Queries as canonical words: ids into one vocabulary, the unit every dedup step works on.

Short queries reuse a small vocabulary (the 1M-query synthetic log: 280k distinct texts, 27k
distinct words), so whatever depends on a word alone — is it a filler, a number, its n-gram MinHash,
is it a typo of another word — is computed once per vocabulary word, and a row is a run of word ids
in numpy. Canonical words: lower case, apostrophes dropped, punctuation as spaces, fillers ("please",
"hey", "can you", ...) dropped unless nothing else is left, so casing, punctuation and fillers never
tell two queries apart.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Words that change nothing about what a music query asks for. Measured on the synthetic log and the
# pair set: these are the ones users (and honkdata.synth) wrap commands in.
FILLERS = (
    "please", "pls", "plz", "hey", "hi", "hello", "ok", "okay", "um", "uh", "umm", "hmm", "now",
    "thanks", "thank you", "can you", "could you", "would you", "will you", "i want to", "i wanna",
    "just", "alexa", "siri",
)  # fmt: skip
TRAILING_FILLERS = ("for me",)  # only at the end: "play x for me", but not "a table for me and jami"
_APOSTROPHES = r"['’`]"
_NON_WORD = r"[^\p{L}\p{N}\p{M}\p{S}]+"  # punctuation and spaces; emoji and symbols are words


@dataclass(frozen=True)
class Words:
    """Canonical words of each row: `ids[offsets[i]:offsets[i + 1]]` index `vocab`; null rows are
    not `valid` and have no words."""

    vocab: pa.Array
    ids: np.ndarray
    offsets: np.ndarray
    valid: np.ndarray

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def row_of(self) -> np.ndarray:
        """The row of every entry of `ids`."""
        return np.repeat(np.arange(len(self)), self.lengths)

    @cached_property
    def letters(self) -> np.ndarray:
        """Code per row of its words joined without spaces, equal for "taylor swift" and
        "taylorswift"; -1 for a null row."""
        joined = pc.dictionary_encode(self.joined("")).indices
        return pc.fill_null(joined, -1).to_numpy(zero_copy_only=False)

    def take(self, rows: np.ndarray) -> "Words":
        rows = np.asarray(rows, np.int64)
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        at = np.repeat(self.offsets[rows] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return Words(self.vocab, self.ids[at], offsets, self.valid[rows])

    def select(self, keep: np.ndarray) -> "Words":
        """The same rows with only the entries of `ids` where `keep` is true."""
        counts = np.bincount(self.row_of[keep], minlength=len(self))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Words(self.vocab, self.ids[keep], offsets, self.valid)

    def joined(self, separator: str = " ", order: np.ndarray | None = None) -> pa.Array:
        """Each row's words joined by `separator` (null for a null row), in `order` of `ids` if given."""
        ids = self.ids if order is None else self.ids[order]
        lists = pa.LargeListArray.from_arrays(
            pa.array(self.offsets, pa.int64()),
            self.vocab.take(pa.array(ids, pa.int32())),
            mask=pa.array(~self.valid),
        )
        return pc.binary_join(lists, separator)

    def text(self) -> pa.Array:
        """The canonical text of each row."""
        return self.joined()

    def sorted_text(self) -> pa.Array:
        """The canonical words of each row in sorted order: reordered queries give the same text."""
        rank = np.empty(len(self.vocab), np.int64)
        rank[pc.sort_indices(self.vocab).to_numpy()] = np.arange(len(self.vocab))
        return self.joined(order=np.lexsort((rank[self.ids], self.row_of)))


def _token_words(tokens: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """(vocab, ids of the words of every token, start of each token's words in them + the end, id of
    each token taken whole and lower-cased): each distinct token is cleaned once."""
    lower = pc.utf8_lower(tokens)
    parts = pc.utf8_split_whitespace(
        pc.replace_substring_regex(pc.replace_substring_regex(lower, _APOSTROPHES, ""), _NON_WORD, " ")
    )
    encoded = pc.dictionary_encode(pa.concat_arrays([pc.list_flatten(parts), lower]))
    codes, vocab = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32), encoded.dictionary
    part_codes, whole = codes[: len(codes) - len(lower)], codes[len(codes) - len(lower) :]
    part_of = np.repeat(np.arange(len(lower)), pc.list_value_length(parts).to_numpy())
    real = part_codes != lookup(vocab, [""])[0]  # punctuation at either end leaves "" parts
    count = np.bincount(part_of[real], minlength=len(lower))
    whole[whole == lookup(vocab, [""])[0]] = -1
    return vocab, part_codes[real], np.concatenate([[0], np.cumsum(count)]), whole


def tokenize(texts: pa.Array) -> Words:
    """Canonical words of each text (see the module docstring); a text of punctuation only keeps its
    lower-cased self ("?!"), so that it is not the empty text.

    Texts are split at whitespace, and each distinct token is lower-cased and split at punctuation
    once: the regexes run over the 51k distinct tokens of the 1M-query log, not its 280k texts.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    split = pc.utf8_split_whitespace(texts)
    lengths = pc.fill_null(pc.list_value_length(split), 0).to_numpy(zero_copy_only=False)
    encoded = pc.dictionary_encode(pc.list_flatten(split))
    tokens = encoded.indices.to_numpy(zero_copy_only=False)
    vocab, part_codes, part_offsets, whole = _token_words(encoded.dictionary)
    # Each token of each row becomes its words, or itself in a row that has no words at all.
    row_of = np.repeat(np.arange(len(texts)), lengths)
    count, start = np.diff(part_offsets)[tokens], part_offsets[tokens]
    bare = (np.bincount(row_of, weights=count, minlength=len(texts)) == 0)[row_of]
    count[bare] = whole[tokens[bare]] >= 0
    start[bare] = len(part_codes) + tokens[bare]
    at = np.repeat(start - np.cumsum(count) + count, count) + np.arange(count.sum())
    ids = np.concatenate([part_codes, whole])[at]
    used = np.bincount(ids, minlength=len(vocab)) > 0  # the vocabulary keeps only words in use
    new_id = (np.cumsum(used) - 1).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(row_of, weights=count, minlength=len(texts)))])
    words = Words(
        vocab.filter(pa.array(used)).cast(pa.string()),  # a few distinct words: never near 2 GB
        new_id[ids],
        offsets.astype(np.int64),
        pc.is_valid(texts).to_numpy(zero_copy_only=False),
    )
    return words.select(_not_filler(words))


def lookup(vocab: pa.Array, words: Sequence[str]) -> np.ndarray:
    """Id of each word in `vocab`, -1 where it is not there."""
    return pc.fill_null(pc.index_in(pa.array(words, pa.string()), vocab), -1).to_numpy()


def _phrase_starts(words: Words, phrase: str) -> np.ndarray:
    """Positions in `words.ids` where the words of `phrase` follow one another inside one row."""
    wanted = lookup(words.vocab, phrase.split())
    if (wanted < 0).any():
        return np.zeros(0, np.int64)
    at = np.flatnonzero(words.ids == wanted[0])
    ends = words.offsets[words.row_of[at] + 1]
    at = at[at + len(wanted) <= ends]
    for k, word in enumerate(wanted[1:], start=1):
        at = at[words.ids[at + k] == word]
    return at


def _not_filler(words: Words) -> np.ndarray:
    """Bool per entry of `ids`: kept in the canonical words. Fillers go anywhere, trailing fillers
    at the end after those, unless that would leave a row with nothing."""
    single = lookup(words.vocab, [f for f in FILLERS if " " not in f])
    keep = ~np.isin(np.arange(len(words.vocab)), single)[words.ids]
    for phrase in (f for f in FILLERS if " " in f):
        at = _phrase_starts(words, phrase)
        for k in range(phrase.count(" ") + 1):
            keep[at + k] = False
    stripped = words.select(keep)
    kept_at = np.flatnonzero(keep)  # positions in `words.ids` of stripped's entries
    for phrase in TRAILING_FILLERS:
        size = phrase.count(" ") + 1
        at = _phrase_starts(stripped, phrase)
        at = at[at + size == stripped.offsets[stripped.row_of[at] + 1]]
        for k in range(size):
            keep[kept_at[at + k]] = False
    empty = np.bincount(words.row_of[keep], minlength=len(words)) == 0
    return keep | empty[words.row_of]


def canonical(texts: pa.Array) -> pa.Array:
    """The canonical text: canonical words joined by single spaces; null stays null."""
    return tokenize(texts).text()
