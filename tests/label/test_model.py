import numpy as np
import pytest

from honkdata.label.model import LabelModel


def synthetic(
    n: int, k: int, accuracies: list[float], coverage: list[float], seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Independent functions: each votes with its coverage, right with its accuracy, else a wrong class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    votes = np.full((n, len(accuracies)), -1, np.int16)
    for j, (acc, cov) in enumerate(zip(accuracies, coverage, strict=True)):
        fires = rng.random(n) < cov
        right = rng.random(n) < acc
        wrong = (y + rng.integers(1, k, n)) % k
        votes[fires, j] = np.where(right, y, wrong)[fires]
    return votes, y


def majority(votes: np.ndarray, k: int) -> np.ndarray:
    counts = np.stack([(votes == c).sum(axis=1) for c in range(k)], axis=1)
    return counts.argmax(axis=1)  # ties -> lowest class, as a plain vote would


def test_beats_majority_vote_with_one_accurate_and_two_correlated_noisy_functions() -> None:
    # f0 is accurate; f1 and f2 are noisy and f2 copies f1 30% of the time, so their errors agree
    # far more often than chance and outvote f0 in a plain vote; f3, f4 are middling and independent.
    # (Copying half the time or more defeats this conditionally independent model too, as it does
    # Snorkel's without a dependency structure: the pair then looks accurate.)
    k, n = 4, 20_000
    votes, y = synthetic(n, k, [0.9, 0.55, 0.55, 0.7, 0.7], [0.8, 1.0, 1.0, 0.5, 0.5], seed=1)
    copies = np.random.default_rng(2).random(n) < 0.3
    votes[:, 2] = np.where(copies, votes[:, 1], votes[:, 2])
    model = LabelModel(k).fit(votes)
    predicted = model.predict_proba(votes).argmax(axis=1)
    assert (predicted == y).mean() > (majority(votes, k) == y).mean() + 0.03
    assert model.accuracies[0] == model.accuracies.max()
    assert model.accuracies[0] > model.accuracies[1] + 0.1


def test_recovers_accuracies() -> None:
    true = [0.9, 0.8, 0.7, 0.6, 0.75]
    votes, _ = synthetic(30_000, 3, true, [0.7, 0.5, 0.6, 0.8, 0.4], seed=3)
    model = LabelModel(3).fit(votes)
    np.testing.assert_allclose(model.accuracies, true, atol=0.04)


def test_posteriors_are_distributions_and_abstain_rows_get_the_prior() -> None:
    votes = np.array([[0, -1], [1, 1], [-1, -1], [0, 0]], np.int16)
    model = LabelModel(3).fit(votes)
    proba = model.predict_proba(votes)
    assert proba.shape == (4, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(proba[2], model.prior)
    assert proba[1].argmax() == 1 and proba[3].argmax() == 0


def test_deterministic_and_order_free() -> None:
    votes, _ = synthetic(5_000, 5, [0.8, 0.6, 0.7], [0.5, 0.9, 0.6], seed=4)
    a = LabelModel(5).fit(votes)
    b = LabelModel(5).fit(votes[::-1].copy())
    np.testing.assert_array_equal(a.accuracies, b.accuracies)
    np.testing.assert_array_equal(a.predict_proba(votes), LabelModel(5).fit(votes).predict_proba(votes))


def test_rejects_bad_votes() -> None:
    with pytest.raises(ValueError, match="abstain"):
        LabelModel(2).fit(np.array([[2]], np.int16))
    with pytest.raises(RuntimeError, match="before fit"):
        LabelModel(2).predict_proba(np.array([[0]], np.int16))
    model = LabelModel(2).fit(np.array([[0, 1]], np.int16))
    with pytest.raises(ValueError, match="2 functions"):
        model.predict_proba(np.array([[0]], np.int16))
