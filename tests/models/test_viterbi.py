import itertools

import numpy as np
import pytest

from honkdata.models.viterbi import bio_rules, viterbi

TAGS = ("O", "B-artist", "I-artist", "B-playlist", "I-playlist")


def _valid(path: tuple[str, ...]) -> bool:
    previous = "O"
    for tag in path:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def test_a_path_never_starts_inside_or_continues_another_type():
    start, transitions = bio_rules(TAGS)
    assert [t for t, s in zip(TAGS, start, strict=True) if s < 0] == ["I-artist", "I-playlist"]
    allowed = {(TAGS[i], TAGS[j]) for i, j in zip(*np.nonzero(transitions == 0), strict=True)}
    assert ("B-artist", "I-artist") in allowed and ("I-artist", "I-artist") in allowed
    assert ("O", "I-artist") not in allowed and ("B-playlist", "I-artist") not in allowed
    assert len(allowed) == len(TAGS) ** 2 - 2 * (len(TAGS) - 2)  # each I- tag: from O and the other type


def test_an_inside_tag_after_outside_becomes_the_best_valid_path():
    start, transitions = bio_rules(TAGS)
    # Per token the best tags are O then I-artist, which is no valid BIO; B-artist is second best.
    emissions = np.log(np.array([[0.7, 0.1, 0.1, 0.05, 0.05], [0.1, 0.3, 0.5, 0.05, 0.05]]))
    assert [TAGS[k] for k in viterbi(emissions, transitions, start)] == ["O", "B-artist"]
    assert viterbi(np.empty((0, len(TAGS))), transitions, start) == []


@pytest.mark.parametrize("seed", range(20))
def test_it_finds_the_best_valid_path_of_all(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    emissions = rng.normal(size=(n, len(TAGS)))
    start, transitions = bio_rules(TAGS)
    valid = [p for p in itertools.product(range(len(TAGS)), repeat=n) if _valid(tuple(TAGS[k] for k in p))]
    best = max(valid, key=lambda p: sum(emissions[t, k] for t, k in enumerate(p)))
    assert tuple(viterbi(emissions, transitions, start)) == best
