"""Near-duplicate detection end to end: canonical groups, MinHash + LSH candidates, verification.

Texts with the same canonical words (casing, punctuation and fillers aside) are duplicates outright
and are joined to their group's first row without any hashing. Only one row per canonical form
(per intent, when intents are given) is hashed, in batches, and kept as its LSH band keys alone
(bands x 8 bytes a row, not the whole signature), so memory grows with the distinct texts, not the rows.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components as _components

from honkdata.config import NearDedupConfig
from honkdata.dedup.minhash import band_keys, bucket_pairs, minhash_signatures, unique_pairs, word_signatures
from honkdata.dedup.verify import set_sizes, verify_pairs
from honkdata.dedup.words import Words, tokenize

BATCH_ROWS = 65_536  # signatures of one batch: 10 MB at 40 permutations


def _groups(texts: pa.Array, intents: pa.Array | None) -> tuple[np.ndarray, np.ndarray, Words]:
    """(group id per row, first row of each group, canonical words of those first rows): rows with
    the same canonical words, and the same intent if known, are one group.

    A null or empty text is a group of its own: it is nobody's near-duplicate.
    """
    # Canonical words of the distinct texts only: a log repeats its head queries many times.
    distinct = pc.dictionary_encode(texts)
    nulls = pa.nulls(1, distinct.dictionary.type)
    words = tokenize(pa.concat_arrays([distinct.dictionary, nulls]))  # a null text is the last
    form = pc.fill_null(pc.dictionary_encode(words.text()).indices, -1).to_numpy(zero_copy_only=False)
    index = pc.fill_null(distinct.indices, len(distinct.dictionary)).to_numpy(zero_copy_only=False)
    key = form[index].astype(np.int64)
    alone = words.lengths[index] == 0
    if intents is not None:
        intent = pc.dictionary_encode(intents.cast(pa.string()))
        intent = pc.fill_null(intent.indices, -1).to_numpy(zero_copy_only=False)
        key = key * (len(intents) + 1) + intent + 1
    key[alone] = key.max(initial=-1) + 1 + np.arange(alone.sum())
    _, first, group = np.unique(key, return_index=True, return_inverse=True)
    return group.reshape(-1), first, words.take(index[first])


def near_duplicate_pairs(
    texts: pa.Array,
    config: NearDedupConfig,
    entities: pa.Array | None = None,
    intents: pa.Array | None = None,
) -> np.ndarray:
    """(k, 2) int64 verified near-duplicate pairs (i < j, unique, sorted) among `texts`' rows."""
    texts, entities, intents = (
        c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in (texts, entities, intents)
    )
    n = len(texts)
    group, first, heads = _groups(texts, intents)
    same = np.stack([first[group], np.arange(n)], axis=1)
    same = same[same[:, 0] != same[:, 1]]
    per_word = word_signatures(heads.vocab, config.ngram, config.num_perm)
    # Blocking: the word rule accepts only rows with as many distinct words, or the same letters;
    # LSH buckets are per word count, and rows with the same letters are paired outright.
    sizes = set_sizes(heads)
    keys = np.concatenate(
        [
            band_keys(
                minhash_signatures(
                    heads.take(np.arange(lo, min(lo + BATCH_ROWS, len(heads)))),
                    config.ngram,
                    config.num_perm,
                    per_word=per_word,
                ),
                config.bands,
                sizes[lo : lo + BATCH_ROWS],
            )
            for lo in range(0, len(heads), BATCH_ROWS)
        ]
        or [np.zeros((0, config.bands), np.uint64)]
    )
    letters = heads.letters.astype(np.uint64)[:, None]
    # A pair in both is verified twice, harmlessly: the few letter pairs are not worth a sort.
    candidates = np.concatenate(
        [bucket_pairs(keys, config.max_bucket), bucket_pairs(letters, config.max_bucket)]
    )
    if entities is not None:
        entities = entities.take(pa.array(first))
    if intents is not None:
        intents = intents.take(pa.array(first))
    verified = candidates[verify_pairs(heads, candidates, config.threshold, entities, intents)]
    return unique_pairs(np.concatenate([same, first[verified]]), n)


def connected_components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Cluster label per row: 0, 1, ... numbered by each cluster's lowest row, so deterministic."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    graph = coo_array((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = _components(graph.tocsr(), directed=False)
    return labels.astype(np.int64)
