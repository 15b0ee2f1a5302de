"""Verification of LSH candidates: true similarity, then the rules that keep different queries apart.

A candidate pair is a duplicate when, on the canonical texts (lower case, no punctuation, no fillers;
see `honkdata.dedup.minhash.canonical`):

1. both intents, where known, agree;
2. the similarity, rapidfuzz's ratio / 100 (Indel similarity) of the sorted words or of the words
   as typed, whichever is higher (reordering costs nothing, "taylorswift" little, one typo in "play
   taylor swift" ~0.03), is >= threshold;
3. the words are the same multiset (reordered), or the same letters with spaces moved
   ("taylorswift"), or every word that changed is a typo of one other word: OSA distance (a swap of
   neighbours is one edit) <= 1 for words up to 7 characters, <= 2 for longer ones (see `_budget`
   for the measurements). A word added or dropped (other than a filler) is a different query,
   and so is any changed number ("top 10" / "top 20", "80s" / "90s", "one" / "two");
4. entities, where known: each entity value of one text is found in the other, as the same value of
   that type or within the same typo budget ("taylor swif" for "taylor swift"), but "drake" never
   matches "blake" (two edits, first letters differ).

Similarity runs in C++ over all candidates at once (rapidfuzz.process.cpdist); the rules run in
Python only on the pairs that pass it and whose word multisets differ, which are few.
"""

from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from honkdata.dedup.minhash import FILLERS, canonical

_LONG_FILLERS = tuple(f for f in FILLERS if " " not in f and len(f) > 3)

MAX_CHANGED = 3  # words a typo variant may change: the pair set's mixed kind changes at most 2
_NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    thousand million first second third fourth fifth sixth seventh eighth ninth tenth twenties
    thirties forties fifties sixties seventies eighties nineties""".split()  # noqa: SIM905
)


def _budget(length: int) -> int:
    """Edits a word (or entity value) of this length may take and still be a typo of the other.

    Measured on the pair set: one edit up to 7 characters and two above gave F1 0.994 (precision
    0.998); one up to 5 gave 0.992 ("marsha's" / "marina's" merged). Requiring the first letter or
    the length to agree cost recall ("school" / "chool" inside a name) and no precision, so it is
    not required: "drake" / "blake" stay apart on the two edits alone.
    """
    return 1 if length <= 7 else 2


@lru_cache(maxsize=1 << 18)
def is_typo(a: str, b: str) -> bool:
    """True when `b` is a plausible typo of `a` (or the reverse); equal strings are typos too."""
    budget = _budget(max(len(a), len(b)))
    return a == b or OSA.distance(a, b, score_cutoff=budget) <= budget


def _other_number(a: str, b: str) -> bool:
    """Two different numbers: digits changed, or one number word for another ("sixies" is a typo)."""
    if any(c.isdigit() for c in a + b):
        return True
    return a in _NUMBER_WORDS and b in _NUMBER_WORDS


@lru_cache(maxsize=1 << 16)
def _mistyped_filler(word: str) -> bool:
    """ "pleaase", "thnks": a filler that a typo kept out of `canonical`'s list."""
    return len(word) > 3 and any(is_typo(word, filler) for filler in _LONG_FILLERS)


def words_match(a: list[str], b: list[str]) -> bool:
    """Rule 3: same words, or the same letters re-spaced, or each changed word a typo of one other.

    Words are compared as sets ("play play x" is "play x"), and at most MAX_CHANGED words may change:
    more is another query, and the limit keeps the pairing loop short.
    """
    set_a, set_b = set(a), set(b)
    left = sorted(w for w in set_a - set_b if not _mistyped_filler(w))
    right = sorted(w for w in set_b - set_a if not _mistyped_filler(w))
    if not left and not right:
        return True
    if "".join(a) == "".join(b):
        return True
    if len(left) != len(right) or len(left) > MAX_CHANGED:
        return False
    for word in left:
        match = next((o for o in right if not _other_number(word, o) and is_typo(word, o)), None)
        if match is None:
            return False
        right.remove(match)
    return True


def _found_in(value: str, words: list[str]) -> bool:
    """The entity value, or a typo of it, as consecutive words of the other text."""
    size = value.count(" ") + 1
    windows = {" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}
    return value in windows or any(
        OSA.distance(value, w, score_cutoff=_budget(len(value))) <= _budget(len(value)) for w in windows
    )


def entities_match(ents_a: list[tuple[str, str]], ents_b: list[tuple[str, str]], a: str, b: str) -> bool:
    """Rule 4 over (type, canonical value) lists: every value of one side is found in the other."""
    for mine, theirs, text in ((ents_a, ents_b, b), (ents_b, ents_a, a)):
        words = text.split()
        for kind, value in mine:
            same_type = [v for k, v in theirs if k == kind]
            if same_type and not any(v == value or is_typo(value, v) for v in same_type):
                return False  # the other text names another value of this type
            if not same_type and not _found_in(value, words):
                return False
    return True


def _entity_values(entities: pa.Array) -> list[list[tuple[str, str]]]:
    """(type, canonical value) per entity per row; null rows give no entities."""
    flat = pc.list_flatten(entities)
    values = canonical(flat.field("text")).to_pylist()
    kinds = flat.field("type").to_pylist()
    lengths = pc.fill_null(pc.list_value_length(entities), 0).to_numpy(zero_copy_only=False)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [
        [(kinds[j], values[j]) for j in range(bounds[i], bounds[i + 1]) if values[j]]
        for i in range(len(lengths))
    ]


def verify_pairs(
    texts: pa.Array,
    pairs: np.ndarray,
    threshold: float,
    entities: pa.Array | None = None,
    intents: pa.Array | None = None,
) -> np.ndarray:
    """Bool per pair of row indices: is it a near-duplicate (see the module docstring)."""
    texts, entities, intents = (
        c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in (texts, entities, intents)
    )
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return np.zeros(0, bool)
    rows = np.sort(pairs.reshape(-1))  # only rows in a pair are ever looked at
    rows = rows[np.diff(rows, prepend=-1) != 0]
    local = np.searchsorted(rows, pairs)
    canon = canonical(texts.take(pa.array(rows))).to_pylist()
    ok = np.array([c is not None and c != "" for c in canon])
    ok = ok[local[:, 0]] & ok[local[:, 1]]  # a null or empty text is nobody's near-duplicate
    if intents is not None:
        codes = pc.dictionary_encode(intents.take(pa.array(rows))).indices
        codes = pc.fill_null(codes, -1).to_numpy(zero_copy_only=False)
        a, b = codes[local[:, 0]], codes[local[:, 1]]
        ok &= (a == b) | (a < 0) | (b < 0)
    words = [(c or "").split() for c in canon]
    # Sorted words: reordering is free, and equal sorted texts need no more than the rules below.
    sorted_text = [" ".join(sorted(w)) for w in words]
    check = np.flatnonzero(ok)
    similarity = np.zeros(len(check), np.float32)
    for form in (sorted_text, canon):  # sorted: reordering is free; as typed: "taylorswift" is close
        left, right = [form[i] or "" for i in local[check, 0]], [form[i] or "" for i in local[check, 1]]
        score = process.cpdist(left, right, scorer=fuzz.ratio, workers=1, dtype=np.float32) / 100
        similarity = np.maximum(similarity, score)
    ok[check] &= similarity >= threshold
    ents = _entity_values(entities.take(pa.array(rows))) if entities is not None else None
    for p in np.flatnonzero(ok):
        i, j = local[p]
        same_words = sorted_text[i] == sorted_text[j] or words_match(words[i], words[j])
        ok[p] = same_words and (ents is None or entities_match(ents[i], ents[j], canon[i], canon[j]))
    return ok
