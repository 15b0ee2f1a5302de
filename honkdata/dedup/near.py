"""Near-duplicate detection end to end: canonical groups, MinHash + LSH candidates, verification.

Texts with the same canonical form (casing, punctuation and fillers aside) are duplicates outright
and are joined to their group's first row without any hashing. Only one row per canonical form
(per intent, when intents are given) is hashed, in batches, and kept as its LSH band keys alone
(bands x 8 bytes a row, not the whole signature), so memory grows with the distinct texts, not the rows.
"""

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components as _components

from honkdata.config import NearDedupConfig
from honkdata.dedup.minhash import band_keys, bucket_pairs, canonical, minhash_signatures, unique_pairs
from honkdata.dedup.verify import verify_pairs

_NUMBER = re.compile(r"\d+")
VERIFY_PAIRS = 500_000  # candidates verified at once: bounds the Python objects alive
BATCH_ROWS = 65_536  # signatures of one batch: 16 MB at 64 permutations; measured no faster above


def _groups(texts: pa.Array, intents: pa.Array | None) -> tuple[np.ndarray, np.ndarray]:
    """(group id per row, first row of each group): rows alike once canonical, same intent if known.

    A null or empty text is a group of its own: it is nobody's near-duplicate.
    """
    # Canonical forms of the distinct texts only: a log repeats its head queries many times.
    distinct = pc.dictionary_encode(texts)
    key = canonical(distinct.dictionary).take(distinct.indices)
    alone = pc.fill_null(pc.equal(key, ""), True).to_numpy(zero_copy_only=False)
    if intents is not None:
        key = pc.binary_join_element_wise(key, pc.fill_null(intents.cast(pa.string()), ""), "\x1f")
    codes = pc.dictionary_encode(pc.fill_null(key, "")).indices.to_numpy(zero_copy_only=False)
    codes = codes.astype(np.int64)
    codes[alone] = codes.max(initial=-1) + 1 + np.arange(alone.sum())
    _, first, group = np.unique(codes, return_index=True, return_inverse=True)
    return group.reshape(-1), first


def _may_match(texts: pa.Array, intents: pa.Array | None, pairs: np.ndarray) -> np.ndarray:
    """Vectorized first cut of the verification rules: the same numbers and the same intent.

    Template-heavy logs ("play song number 17 by artist 4") put whole batches in one bucket; these
    pairs fail on their numbers, and checking that over arrays spares Python a pair at a time.
    """
    numbers = [" ".join(sorted(_NUMBER.findall(t or ""))) for t in texts.to_pylist()]
    code = pc.dictionary_encode(pa.array(numbers, pa.string())).indices.to_numpy(zero_copy_only=False)
    keep = code[pairs[:, 0]] == code[pairs[:, 1]]
    if intents is not None:  # an unknown intent constrains nothing
        code = pc.fill_null(pc.dictionary_encode(intents.cast(pa.string())).indices, -1).to_numpy()
        a, b = code[pairs[:, 0]], code[pairs[:, 1]]
        keep &= (a == b) | (a < 0) | (b < 0)
    return keep


def _take(column: pa.Array | None, rows: np.ndarray) -> pa.Array | None:
    return column.take(pa.array(rows)) if column is not None else None


def near_duplicate_pairs(
    texts: pa.Array,
    config: NearDedupConfig,
    entities: pa.Array | None = None,
    intents: pa.Array | None = None,
) -> np.ndarray:
    """(k, 2) int64 verified near-duplicate pairs (i < j, unique, sorted) among `texts`' rows."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(entities, pa.ChunkedArray):
        entities = entities.combine_chunks()
    if isinstance(intents, pa.ChunkedArray):
        intents = intents.combine_chunks()
    n = len(texts)
    group, first = _groups(texts, intents)
    same = np.stack([first[group], np.arange(n)], axis=1)
    same = same[same[:, 0] != same[:, 1]]
    heads = texts.take(pa.array(first))
    keys = np.concatenate(
        [
            band_keys(
                minhash_signatures(heads.slice(lo, BATCH_ROWS), config.ngram, config.num_perm),
                config.bands,
            )
            for lo in range(0, len(heads), BATCH_ROWS)
        ]
        or [np.zeros((0, config.bands), np.uint64)]
    )
    candidates = bucket_pairs(keys, config.max_bucket)
    entities, intents = _take(entities, first), _take(intents, first)
    candidates = candidates[_may_match(heads, intents, candidates)]
    # Verified a slice at a time: its Python strings and word lists never exist for all candidates.
    verified = np.concatenate(
        [
            part[verify_pairs(heads, part, config.threshold, entities, intents)]
            for part in np.array_split(candidates, max(1, len(candidates) // VERIFY_PAIRS))
        ]
    )
    return unique_pairs(np.concatenate([same, first[verified]]), n)


def connected_components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Cluster label per row: 0, 1, ... numbered by each cluster's lowest row, so deterministic."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    graph = coo_array((np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = _components(graph.tocsr(), directed=False)
    return labels.astype(np.int64)
