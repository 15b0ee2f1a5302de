"""MinHash signatures over character n-grams of short queries, and LSH banding into candidate pairs.

Everything runs over whole arrays in numpy, never a Python loop per row:

- Shingles are the n-grams *inside* each canonical word (`honkdata.dedup.words`), padded with one
  space on both sides (" swift " gives " sw", "swi", "wif", "ift", "ft " for n = 3): no shingle spans
  two words, so the set does not change when words are reordered ("taylor swift play"). A word too
  short for a full n-gram is one shingle (" a "), so a text shorter than n is one shingle, never an
  empty signature.
- Since no shingle spans words, a row's shingle set is the union of its words' sets, and its MinHash
  is the element-wise minimum of its words' MinHashes: each vocabulary word is hashed once, and a
  row costs a minimum over its few words' signatures.
- The UTF-8 bytes are decoded to code points in numpy, so n counts characters in every script
  ("播放周杰伦" has five, not fifteen).
- Permutations are affine maps of a 32-bit n-gram hash.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.dedup.words import Words, lookup

# Left out of the signature (never out of verification): the words in more than ~2% of the distinct
# queries of the 1M-query synthetic log. Their n-grams ("pla", "lay") made every "play <name>" share
# bands: 5.6M candidates for 172k texts; without them 0.6M, the same verified pairs (see near.py).
SIGNATURE_STOPWORDS = """play the to playlist add by on a an from music song songs this my me some of find
    album in put is track tracks i for hear and called artist with listen tune onto""".split()  # noqa: SIM905
_EMPTY = np.uint32(0xFFFFFFFF)  # the signature of a text with no characters: no real row has it
BIG_BUCKET_NEIGHBOURS = 2  # see bucket_pairs
PENDING_CODES = 1 << 24  # candidate pair codes bucket_pairs holds before deduplicating: 128 MB
_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd constant of the polynomial n-gram hash


def _code_points(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(code points of all texts joined, start of each text in it + the end): UTF-8 decoded in numpy."""
    texts = pc.fill_null(texts.cast(pa.large_string()), "")
    _, offsets_buf, data_buf = texts.buffers()
    offsets = np.frombuffer(offsets_buf, np.int64, len(texts) + 1, texts.offset * 8)
    data = np.frombuffer(data_buf, np.uint8, offsets[-1] - offsets[0], offsets[0]) if data_buf else None
    if data is None or data.size == 0:
        return np.zeros(0, np.uint64), np.zeros(len(texts) + 1, np.int64)
    lead = (data & 0xC0) != 0x80
    starts = np.flatnonzero(lead)
    width = np.diff(np.append(starts, data.size))
    # Payload bits: the lead byte keeps 7, 5, 4 or 3 bits by sequence width, continuations keep 6.
    mask = np.where(lead, np.array([0, 0x7F, 0x1F, 0x0F, 0x07], np.uint8)[np.repeat(width, width)], 0x3F)
    ends = np.repeat(starts + width, width)
    shift = (6 * (ends - np.arange(data.size) - 1)).astype(np.uint64)
    points = np.add.reduceat((data & mask).astype(np.uint64) << shift, starts)
    before = np.concatenate([[0], np.cumsum(lead)])
    return points, before[offsets - offsets[0]]


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: the polynomial hash's low bits are weak, this spreads them."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(texts: pa.Array, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """(64-bit hash of every in-word n-gram, its row), rows ascending. `texts` are canonical."""
    padded = pc.binary_join_element_wise(" ", pc.fill_null(texts, ""), " ", "")
    points, row_starts = _code_points(padded)
    size = points.size
    points = np.concatenate([points, np.full(ngram, 32, np.uint64)])  # spaces: windows never overrun
    space = points == 32
    spaces = np.flatnonzero(space)
    at = np.arange(size)
    # The window at i runs to the next space after i or to its n-th character, whichever comes first.
    next_space = spaces[np.searchsorted(spaces, at, side="right")]
    end = np.minimum(at + ngram - 1, next_space)
    full = end == at + ngram - 1
    has_word = ~space[:size] | (next_space > at + 1)
    keep = (full | space[:size]) & has_word & (end > at if ngram > 1 else ~space[:size])
    at, end = at[keep], end[keep]
    h = np.zeros(at.size, np.uint64)
    for k in range(ngram):
        h = h * _MUL + np.where(at + k <= end, points[at + k], 0)
    rows = np.searchsorted(row_starts, at, side="right") - 1
    return _mix(h), rows


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mul = rng.integers(0, 2**32, num_perm, np.uint32, endpoint=False) | np.uint32(1)
    return mul, rng.integers(0, 2**32, num_perm, np.uint32, endpoint=False)


def word_signatures(vocab: pa.Array, ngram: int, num_perm: int, seed: int = 0) -> np.ndarray:
    """(len(vocab), num_perm) uint32 MinHash signatures of each word's n-gram set."""
    mul, add = _permutations(num_perm, seed)
    hashes, rows = shingle_hashes(vocab, ngram)
    # The n-gram hash is already well mixed, so a random affine bijection mod 2^32 per permutation
    # is enough (measured: estimates within MinHash's own J(1-J)/num_perm variance) and runs in
    # 32-bit lanes, 2.6x faster than 64-bit multiply-add-shift.
    hashes = (hashes >> np.uint64(32)).astype(np.uint32)
    firsts = np.flatnonzero(np.diff(rows, prepend=-1))
    signatures = np.full((len(vocab), num_perm), _EMPTY, np.uint32)
    permuted = np.empty_like(hashes)
    for j in range(num_perm):
        np.multiply(hashes, mul[j], out=permuted)
        np.add(permuted, add[j], out=permuted)
        if firsts.size:
            signatures[rows[firsts], j] = np.minimum.reduceat(permuted, firsts)
    return signatures


def signature_words(words: Words) -> Words:
    """The words that are hashed: all but SIGNATURE_STOPWORDS, unless that leaves a row nothing."""
    stop = np.isin(words.ids, lookup(words.vocab, SIGNATURE_STOPWORDS))
    content = np.bincount(words.row_of[~stop], minlength=len(words)) > 0
    return words.select(~stop | ~content[words.row_of])


def minhash_signatures(
    words: Words, ngram: int, num_perm: int, seed: int = 0, per_word: np.ndarray | None = None
) -> np.ndarray:
    """(len(words), num_perm) uint32 MinHash signatures of the rows' n-gram sets (of their
    `signature_words`). Deterministic for a seed; `per_word` passes `word_signatures` of the vocab
    when they are already computed. A row with no words gets all-0xFFFFFFFF, which no other row has.
    """
    if per_word is None:
        per_word = word_signatures(words.vocab, ngram, num_perm, seed)
    hashed = signature_words(words)
    signatures = np.full((len(hashed), num_perm), _EMPTY, np.uint32)
    # Word by word over the rows that have a j-th word: rows are a few words, and this ran 4.7x
    # faster than np.minimum.reduceat along axis 0 (280k distinct texts of the 1M-query log).
    for j in range(int(hashed.lengths.max(initial=0))):
        rows = np.flatnonzero(hashed.lengths > j)
        signatures[rows] = np.minimum(signatures[rows], per_word[hashed.ids[hashed.offsets[rows] + j]])
    return signatures


def band_keys(signatures: np.ndarray, bands: int, block: np.ndarray | None = None) -> np.ndarray:
    """(n, bands) uint64: one hash per band of rows of the signature (rows = num_perm / bands); with
    `block` (an integer per row), rows of different blocks never share a key."""
    n, num_perm = signatures.shape
    per_band = signatures.reshape(n, bands, num_perm // bands).astype(np.uint64)
    key = np.zeros((n, bands), np.uint64)
    for r in range(per_band.shape[2]):
        key = _mix(key * _MUL + per_band[:, :, r])
    if block is not None:
        key = _mix(key * _MUL + np.asarray(block, np.uint64)[:, None])
    return key


def bucket_pairs(keys: np.ndarray, max_bucket: int) -> np.ndarray:
    """Candidate pairs from (n, bands) band keys: rows that share a key in any band.

    A bucket of up to `max_bucket` rows yields all its pairs. A larger one (a popular prefix, a
    flood of near-identical texts) is sorted by the next band's key, so that rows which also agree
    elsewhere sit side by side, and each row is paired with its next BIG_BUCKET_NEIGHBOURS only:
    linear, never m^2 / 2; true duplicates inside it still connect through chains of neighbours and
    through their other bands. (Measured on 1M queries: 2 neighbours kept 98% of the verified pairs
    that 32 found, with half the candidates.)
    """
    n, bands = keys.shape
    found: list[np.ndarray] = []
    for band in range(bands):
        order = np.argsort(keys[:, band])
        sorted_keys = keys[order, band]
        run_start = np.flatnonzero(np.diff(sorted_keys, prepend=sorted_keys[:1] + np.uint64(1)))
        run_size = np.diff(np.append(run_start, n))
        _order_big_buckets(order, keys[:, (band + 1) % bands], run_start, run_size, max_bucket)
        reach = np.where(run_size > max_bucket, BIG_BUCKET_NEIGHBOURS, run_size - 1)
        # Positions of rows in a shared bucket, with how far ahead each may look inside it.
        run_of = np.repeat(np.arange(run_start.size), run_size)
        pos = np.flatnonzero(run_size[run_of] > 1)
        if pos.size == 0:
            continue
        run_of = run_of[pos]
        limit = np.minimum(run_start[run_of] + run_size[run_of] - 1 - pos, reach[run_of])
        for d in range(1, int(limit.max()) + 1):
            pos, limit = pos[limit >= d], limit[limit >= d]
            low, high = np.minimum(order[pos], order[pos + d]), np.maximum(order[pos], order[pos + d])
            found.append(low.astype(np.int64) * n + high)
        # One int64 code per pair; the same pair recurs across bands, so when the codes held pass
        # PENDING_CODES they are deduplicated: sorting once at the end is faster, this bounds memory.
        if sum(map(len, found)) > PENDING_CODES:
            found = [sorted_unique(np.concatenate(found))]
    codes = sorted_unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return np.stack([codes // max(n, 1), codes % max(n, 1)], axis=1)


def _order_big_buckets(
    order: np.ndarray, next_key: np.ndarray, run_start: np.ndarray, run_size: np.ndarray, max_bucket: int
) -> None:
    """Within each bucket over `max_bucket` rows of `order`, sorts the rows by the next band's key
    (then row), in place: only these need that order, and a plain argsort of the band plus this
    ran 8x faster than a lexsort of every row by both keys."""
    big = np.flatnonzero(run_size > max_bucket)
    if big.size == 0:
        return
    run = np.repeat(big, run_size[big])
    pos = np.repeat(run_start[big] - np.cumsum(run_size[big]) + run_size[big], run_size[big])
    pos += np.arange(len(pos))
    rows = order[pos]
    order[pos] = rows[np.lexsort((rows, next_key[rows], run))]


def sorted_unique(codes: np.ndarray) -> np.ndarray:
    """Sorted distinct values: sort + run ends, 4x faster than np.unique's hashing here (measured)."""
    codes = np.sort(codes)
    return codes[np.diff(codes, prepend=-1) != 0]


def unique_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    """(k, 2) int64 pairs as i < j, sorted, each once (one int64 code per pair)."""
    pairs = np.sort(np.asarray(pairs, np.int64).reshape(-1, 2), axis=1)
    codes = sorted_unique(pairs[:, 0] * max(n, 1) + pairs[:, 1])
    return np.stack([codes // max(n, 1), codes % max(n, 1)], axis=1)


def candidate_pairs(signatures: np.ndarray, bands: int, max_bucket: int) -> np.ndarray:
    """(k, 2) int64 pairs i < j, unique, sorted, of rows whose signatures agree on a whole band."""
    return bucket_pairs(band_keys(signatures, bands), max_bucket)
