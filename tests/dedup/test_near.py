import numpy as np
import pyarrow as pa

from honkdata.config import NearDedupConfig
from honkdata.dedup.near import connected_components, near_duplicate_pairs
from honkdata.schema import ENTITIES

QUERIES = [
    "play taylor swift",
    "Play Taylor Swift!",
    "play taylor swif",
    "play taylor swift please",
    "taylor swift play",
    "play drake",
    "play blake",
    "play the top 10",
    "play the top 20",
    "skip",
    "",
    None,
]


def _clusters(texts: list[str | None], config: NearDedupConfig | None = None) -> list[set[str | None]]:
    array = pa.array(texts, pa.string())
    labels = connected_components(len(texts), near_duplicate_pairs(array, config or NearDedupConfig()))
    groups: dict[int, set] = {}
    for text, label in zip(texts, labels, strict=True):
        groups.setdefault(int(label), set()).add(text)
    return sorted(groups.values(), key=lambda g: sorted(map(str, g)))


def test_the_issue_examples():
    clusters = _clusters(QUERIES)
    swift = {
        "play taylor swift",
        "Play Taylor Swift!",
        "play taylor swif",
        "play taylor swift please",
        "taylor swift play",
    }
    assert swift in clusters
    for alone in ("play drake", "play blake", "play the top 10", "play the top 20", "skip", "", None):
        assert {alone} in clusters


def test_pairs_shape_and_order():
    pairs = near_duplicate_pairs(pa.array(QUERIES, pa.string()), NearDedupConfig())
    assert pairs.dtype == np.int64 and pairs.shape[1] == 2
    assert (pairs[:, 0] < pairs[:, 1]).all()
    assert np.array_equal(pairs, np.unique(pairs, axis=0))
    large = pa.chunked_array(
        [pa.array(QUERIES[:5], pa.large_string()), pa.array(QUERIES[5:], pa.large_string())]
    )
    assert np.array_equal(near_duplicate_pairs(large, NearDedupConfig()), pairs)


def test_deterministic_and_order_independent():
    rng = np.random.default_rng(0)
    texts = [
        f"play {w}{s}" for w in ("taylor swift", "drake", "adele", "queen") for s in ("", "!", " please")
    ]
    texts += ["play taylor swif", "play adel", "qeen play"]
    first = near_duplicate_pairs(pa.array(texts), NearDedupConfig())
    assert np.array_equal(first, near_duplicate_pairs(pa.array(texts), NearDedupConfig()))
    order = rng.permutation(len(texts))
    shuffled = [texts[i] for i in order]
    assert _clusters(texts) == _clusters(shuffled)


def test_intents_and_entities_flow_through():
    texts = pa.array(["play jazz", "Play jazz!", "play jazz please"])
    intents = pa.array(["play_music", "play_radio", "play_music"])
    pairs = near_duplicate_pairs(texts, NearDedupConfig(), intents=intents)
    assert pairs.tolist() == [[0, 2]]
    entities = pa.array([[], [], []], ENTITIES)
    pairs = near_duplicate_pairs(texts, NearDedupConfig(), entities=entities)
    assert len(np.unique(connected_components(3, pairs))) == 1


def test_many_variants_of_one_head_query_stay_bounded():
    # 3,000 distinct typo variants of one query: one cluster, without comparing all 4.5M pairs
    rng = np.random.default_rng(1)
    base = "play the very long name of some artist"
    texts = []
    for _ in range(3000):
        i = int(rng.integers(1, len(base) - 1))
        texts.append(base[:i] + base[i] + base[i:])
    pairs = near_duplicate_pairs(pa.array(texts), NearDedupConfig())
    assert len(pairs) < 3000 * NearDedupConfig().max_bucket * NearDedupConfig().bands
    assert len(np.unique(connected_components(len(texts), pairs))) == 1


def test_connected_components_labels():
    labels = connected_components(5, np.array([[3, 4], [0, 2]]))
    assert labels.tolist() == [0, 1, 0, 2, 2]  # numbered by each cluster's lowest row
    assert connected_components(3, np.zeros((0, 2), np.int64)).tolist() == [0, 1, 2]
    assert connected_components(0, np.zeros((0, 2), np.int64)).tolist() == []


def test_empty_input():
    assert near_duplicate_pairs(pa.array([], pa.string()), NearDedupConfig()).shape == (0, 2)


def test_blocking_keeps_what_the_word_rule_accepts():
    # LSH buckets are per distinct-word count; these differ in count and still pair up
    texts = ["play taylor swift", "play taylorswift", "pleaase play taylor swift", "play taylor swift 2"]
    clusters = _clusters(texts)
    assert {"play taylor swift", "play taylorswift", "pleaase play taylor swift"} in clusters
    assert {"play taylor swift 2"} in clusters
