"""Verification of LSH candidates: the rules that keep different queries apart, then true similarity.

A candidate pair is a duplicate when, on the canonical words (see `honkdata.dedup.words`):

1. both intents, where known, agree;
2. the word sets are the same (reordered), or the same letters with spaces moved ("taylorswift"),
   or every word that changed is a typo of one other word: OSA distance (a swap of neighbours is
   one edit) <= 1 for words up to 7 characters, <= 2 for longer ones (see `_budget`). A word added
   or dropped (other than a mistyped filler, "pleaase") is a different query, and so is any changed
   number ("top 10" / "top 20", "80s" / "90s", "one" / "two"); at most MAX_CHANGED words change;
3. the similarity, rapidfuzz's ratio / 100 (Indel similarity) of the sorted words or of the words
   as typed, whichever is higher, is >= threshold;
4. entities, where known: each entity value of one text is found in the other, as the same value of
   that type or within the same typo budget ("taylor swif" for "taylor swift"), but "drake" never
   matches "blake" (two edits, first letters differ).

Rules 1 and 2 run over all candidates at once in numpy: word sets of one size compared all against
all in blocks, the typo test once per distinct pair of words (rapidfuzz in C++), and the changed
words of a pair matched one to one over all k! pairings (k <= 3). Rule 3 runs in C++ on the few
that pass, and only rule 4 runs in Python, on the pairs left.
"""

from functools import lru_cache
from itertools import permutations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from honkdata.dedup.minhash import sorted_unique
from honkdata.dedup.words import FILLERS, Words, lookup, tokenize

MAX_CHANGED = 3  # words a typo variant may change: the pair set's mixed kind changes at most 2
PAIRS_AT_ONCE = 4_000_000  # candidates whose words are gathered at once: bounds those arrays
_LONG_FILLERS = [f for f in FILLERS if " " not in f and len(f) > 3]
_NUMBER_WORDS = """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
    fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred thousand million first second third fourth fifth sixth seventh eighth ninth tenth twenties
    thirties forties fifties sixties seventies eighties nineties""".split()  # noqa: SIM905


def _budget(length: np.ndarray) -> np.ndarray:
    """Edits a word (or entity value) of this length may take and still be a typo of the other.

    Measured on the pair set: one edit up to 7 characters and two above gave F1 0.994 (precision
    0.998); one up to 5 gave 0.992 ("marsha's" / "marina's" merged). Requiring the first letter or
    the length to agree cost recall ("school" / "chool" inside a name) and no precision, so it is
    not required: "drake" / "blake" stay apart on the two edits alone.
    """
    return np.where(length <= 7, 1, 2)


def typos(a: list[str], b: list[str]) -> np.ndarray:
    """Bool per pair: `b[i]` is a plausible typo of `a[i]` (or the reverse); equal strings are too."""
    if not a:
        return np.zeros(0, bool)
    distance = process.cpdist(a, b, scorer=OSA.distance, score_cutoff=2, workers=1)
    return distance <= _budget(np.maximum(pc.utf8_length(a), pc.utf8_length(b)))


@lru_cache(maxsize=1 << 18)
def is_typo(a: str, b: str) -> bool:
    """`typos` for one pair of strings."""
    return a == b or bool(typos([a], [b])[0])


class _Vocab:
    """What the rules need to know of each vocabulary word, computed once per word."""

    def __init__(self, vocab: pa.Array) -> None:
        self.words = np.asarray(vocab.to_pylist(), object)
        self.size = len(vocab)
        self.digit = pc.match_substring_regex(vocab, r"\d").to_numpy(zero_copy_only=False)
        self.number = np.isin(np.arange(self.size), lookup(vocab, _NUMBER_WORDS))
        self.length = length = pc.utf8_length(vocab).to_numpy(zero_copy_only=False).astype(np.int64)
        # "pleaase", "thnks": a filler a typo kept out of the canonical words; it may come and go.
        distance = process.cdist(self.words, _LONG_FILLERS, scorer=OSA.distance, score_cutoff=2, workers=1)
        longest = np.maximum(length[:, None], [len(f) for f in _LONG_FILLERS])
        typo_of_filler = (distance <= _budget(longest)).any(axis=1)
        self.mistyped_filler = typo_of_filler & (length > 3) & ~self.digit

    def may_replace(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Bool per pair of word ids: `b` may stand for `a` (a typo, and not another number)."""
        shape, a, b = a.shape, a.ravel(), b.ravel()
        ok = ~(self.digit[a] | self.digit[b] | (self.number[a] & self.number[b]))
        # An edit changes the length by one at most: most pairs fail on their lengths alone.
        ok &= np.abs(self.length[a] - self.length[b]) <= _budget(np.maximum(self.length[a], self.length[b]))
        check = np.flatnonzero(ok)
        distinct, inverse = np.unique(a[check].astype(np.int64) * self.size + b[check], return_inverse=True)
        left, right = distinct // self.size, distinct % self.size
        ok[check] = typos(list(self.words[left]), list(self.words[right]))[inverse.reshape(-1)]
        return ok.reshape(shape)


def _word_sets(words: Words, drop: np.ndarray) -> Words:
    """Each row's distinct words, sorted by id, without the `drop`ped ones."""
    keep = ~drop[words.ids]
    codes = sorted_unique(words.row_of[keep].astype(np.int64) * len(words.vocab) + words.ids[keep])
    counts = np.bincount(codes // len(words.vocab), minlength=len(words))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Words(words.vocab, (codes % len(words.vocab)).astype(np.int32), offsets, words.valid)


def _changed_words_match(vocab: _Vocab, mine: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """Bool per row of the (pairs, k) word ids that changed on each side: can they be paired one to
    one so that each word of `theirs` may stand for its word of `mine`?"""
    k = mine.shape[1]
    allowed = vocab.may_replace(np.repeat(mine, k, axis=1), np.tile(theirs, (1, k))).reshape(-1, k, k)
    matched = np.zeros(len(mine), bool)
    for order in permutations(range(k)):
        matched |= allowed[:, np.arange(k), order].all(axis=1)
    return matched


def set_sizes(words: Words) -> np.ndarray:
    """Distinct words per row, mistyped fillers aside. Rule 2 accepts two rows only when these are
    equal (as many words changed on each side) or they have the same `Words.letters`: candidates
    can be blocked on both."""
    return _word_sets(words, _Vocab(words.vocab).mistyped_filler).lengths


def words_match(words: Words, pairs: np.ndarray) -> np.ndarray:
    """Rule 2 for every pair of rows at once (see the module docstring), PAIRS_AT_ONCE at a time."""
    vocab = _Vocab(words.vocab)
    sets = _word_sets(words, vocab.mistyped_filler)
    parts = np.array_split(pairs, max(1, len(pairs) // PAIRS_AT_ONCE))
    return np.concatenate([_words_match(vocab, sets, words.letters, part) for part in parts])


def _words_match(vocab: _Vocab, sets: Words, letters: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    ok = letters[pairs[:, 0]] == letters[pairs[:, 1]]
    size = sets.lengths[pairs]
    check = np.flatnonzero(~ok & (size[:, 0] == size[:, 1]))
    check = check[np.argsort(size[check, 0], kind="stable")]
    sizes, starts = np.unique(size[check, 0], return_index=True)
    changed_words: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    # Each set size m is a block of (pairs, m) word ids, sorted per row.
    for m, start, end in zip(sizes, starts, np.append(starts, len(check))[1:], strict=True):
        block = check[start:end]
        mine, theirs = (sets.ids[sets.offsets[pairs[block, s]][:, None] + np.arange(m)] for s in (0, 1))
        # Words in common: neighbours that are equal once both (duplicate-free) sets are sorted.
        both = np.sort(np.concatenate([mine, theirs], axis=1), axis=1)
        changed = m - (both[:, 1:] == both[:, :-1]).sum(axis=1)
        ok[block[changed == 0]] = True
        few = (changed > 0) & (changed <= MAX_CHANGED)
        block, mine, theirs, changed = block[few], mine[few], theirs[few], changed[few]
        same = mine[:, :, None] == theirs[:, None, :]
        kept_mine, kept_theirs = same.any(axis=2), same.any(axis=1)
        for k in np.unique(changed):
            these = changed == k
            changed_words.setdefault(int(k), []).append(
                (
                    block[these],
                    mine[these][~kept_mine[these]].reshape(-1, k),
                    theirs[these][~kept_theirs[these]].reshape(-1, k),
                )
            )
    for found in changed_words.values():
        rows, mine, theirs = (np.concatenate(column) for column in zip(*found, strict=True))
        ok[rows] = _changed_words_match(vocab, mine, theirs)
    return ok


def _entity_values(entities: pa.Array) -> list[list[tuple[str, str]]]:
    """(type, canonical value) per entity per row; null rows give no entities."""
    flat = pc.list_flatten(entities)
    values = tokenize(flat.field("text")).text().to_pylist()
    kinds = flat.field("type").to_pylist()
    lengths = pc.fill_null(pc.list_value_length(entities), 0).to_numpy(zero_copy_only=False)
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [
        [(kinds[j], values[j]) for j in range(bounds[i], bounds[i + 1]) if values[j]]
        for i in range(len(lengths))
    ]


def _found_in(value: str, words: list[str]) -> bool:
    """The entity value, or a typo of it, as consecutive words of the other text."""
    size = value.count(" ") + 1
    windows = {" ".join(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}
    return value in windows or any(is_typo(value, w) for w in windows)


def entities_match(ents_a: list[tuple[str, str]], ents_b: list[tuple[str, str]], a: str, b: str) -> bool:
    """Rule 4 over (type, canonical value) lists: every value of one side is found in the other."""
    for mine, theirs, text in ((ents_a, ents_b, b), (ents_b, ents_a, a)):
        words = text.split()
        for kind, value in mine:
            same_type = [v for k, v in theirs if k == kind]
            if same_type and not any(is_typo(value, v) for v in same_type):
                return False  # the other text names another value of this type
            if not same_type and not _found_in(value, words):
                return False
    return True


def _similarity(words: Words, pairs: np.ndarray) -> np.ndarray:
    """Rule 3's similarity per pair: of the sorted words or the words as typed, the higher."""
    rows, local = np.unique(pairs, return_inverse=True)
    local, words = local.reshape(-1, 2), words.take(rows)
    similarity = np.zeros(len(pairs), np.float32)
    for form in (words.sorted_text(), words.text()):
        form = np.asarray(form.to_pylist(), object)
        score = process.cpdist(form[local[:, 0]], form[local[:, 1]], scorer=fuzz.ratio, workers=1)
        similarity = np.maximum(similarity, score.astype(np.float32) / 100)
    return similarity


def verify_pairs(
    words: Words,
    pairs: np.ndarray,
    threshold: float,
    entities: pa.Array | None = None,
    intents: pa.Array | None = None,
) -> np.ndarray:
    """Bool per pair of row indices: is it a near-duplicate (see the module docstring)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    has_words = words.lengths > 0  # a null or empty text is nobody's near-duplicate
    ok = has_words[pairs[:, 0]] & has_words[pairs[:, 1]]
    if intents is not None:
        codes = pc.fill_null(pc.dictionary_encode(intents).indices, -1).to_numpy(zero_copy_only=False)
        a, b = codes[pairs[:, 0]], codes[pairs[:, 1]]
        ok &= (a == b) | (a < 0) | (b < 0)
    for rule in (words_match, lambda w, p: _similarity(w, p) >= threshold):
        check = np.flatnonzero(ok)
        ok[check] = rule(words, pairs[check])
    if entities is not None and ok.any():
        rows = np.unique(pairs[ok])
        ents = dict(zip(rows.tolist(), _entity_values(entities.take(pa.array(rows))), strict=True))
        canon = dict(zip(rows.tolist(), words.take(rows).text().to_pylist(), strict=True))
        for p in np.flatnonzero(ok):
            i, j = pairs[p].tolist()
            ok[p] = entities_match(ents[i], ents[j], canon[i], canon[j])
    return ok
