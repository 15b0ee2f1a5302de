"""The label model: the labeling functions' accuracies estimated by EM without gold, then posteriors.

This is the generative model of data programming (Ratner et al., NeurIPS 2016, the model Snorkel's
LabelModel refines), fitted by Dawid–Skene EM: function j, when it votes, is right with probability
alpha_j, and otherwise names a wrong class. Given the true class y, functions vote independently, so

    P(y | votes) ∝ prior[y] * prod over voting j of (alpha_j if vote_j == y else (1 - alpha_j) / (k - 1))

i.e. each vote adds the log-odds weight log(alpha_j (k - 1) / (1 - alpha_j)) to its class: a function
that agrees with the consensus of the others gains weight, so one accurate function outvotes several
noisy ones, which a plain vote never does. EM starts from the majority vote and alternates posteriors
(E) and each function's expected share of right votes (M), with a Beta prior around Snorkel's
default initial precision (0.7).

Why this and not Dawid–Skene's full per-class confusion matrices: each function here votes a single
intent, so only its abstentions could tell classes apart, and a model free to explain abstentions
per class collapses onto the majority class (every vote "explained" as that class's noise). One
accuracy per function is identifiable from agreements alone. The class prior is the majority vote's
label distribution, held fixed (Snorkel likewise takes the class balance as given); moving it with
EM would reopen the same collapse.

It is fast and deterministic: rows are grouped by their vote pattern (a million queries have a few
thousand distinct ones), so each EM step costs patterns x functions, and nothing is random. Rows on
which every function abstains say nothing about any function and are left out of the fit.
"""

from typing import Self

import numpy as np

_PRIOR_ACCURACY = 0.7  # Snorkel's default prec_init
_PRIOR_STRENGTH = 2.0  # pseudo-votes behind it: enough to steady a rare function, nothing for a common one
_BOUNDS = (1e-3, 1 - 1e-3)  # keep log-odds weights finite


class LabelModel:
    """Fit on an (n, m) int16 vote matrix (-1 = abstain, else a class in [0, n_classes))."""

    def __init__(self, n_classes: int, max_iter: int = 100, tol: float = 1e-6) -> None:
        self.n_classes = n_classes
        self.max_iter = max_iter
        self.tol = tol
        self.prior: np.ndarray | None = None  # (k,) class balance
        self.accuracies: np.ndarray | None = None  # (m,) alpha_j: P(vote is right | the function votes)

    def _patterns(self, votes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct rows of `votes`, each row's index among them, and how many rows each stands for."""
        votes = np.ascontiguousarray(votes, dtype=np.int16)
        if votes.ndim != 2:
            raise ValueError(f"votes must be (rows, functions), got shape {votes.shape}")
        if votes.size and (votes.min() < -1 or votes.max() >= self.n_classes):
            raise ValueError(f"votes must be -1 (abstain) or a class in [0, {self.n_classes})")
        # One void scalar per row: np.unique then sorts rows as byte strings, far faster than axis=0.
        rows = votes.view(np.dtype((np.void, votes.dtype.itemsize * votes.shape[1]))).ravel()
        _, first, inverse, counts = np.unique(
            rows, return_index=True, return_inverse=True, return_counts=True
        )
        return votes[first], inverse.ravel(), counts

    def _class_votes(self, patterns: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(p, k): per pattern, the summed weight of the functions voting each class."""
        rows, functions = np.nonzero(patterns >= 0)
        out = np.zeros((len(patterns), self.n_classes))
        np.add.at(out, (rows, patterns[rows, functions]), weights[functions])
        return out

    def _posterior(self, patterns: np.ndarray) -> np.ndarray:
        assert self.prior is not None and self.accuracies is not None
        alpha = self.accuracies
        log_odds = np.log(alpha * (self.n_classes - 1) / (1 - alpha))
        score = np.log(self.prior)[None, :] + self._class_votes(patterns, log_odds)
        score -= score.max(axis=1, keepdims=True)
        q = np.exp(score)
        return q / q.sum(axis=1, keepdims=True)

    def fit(self, votes: np.ndarray) -> Self:
        patterns, _, counts = self._patterns(votes)
        voted = (patterns >= 0).any(axis=1)
        patterns, counts = patterns[voted], counts[voted].astype(np.float64)
        m = patterns.shape[1]
        # Majority vote, soft (each class's share of a row's votes): the first posterior and the prior.
        q = self._class_votes(patterns, np.ones(m))
        q /= np.maximum(q.sum(axis=1, keepdims=True), 1)
        self.prior = np.full(self.n_classes, 1 / self.n_classes)
        fires = patterns >= 0
        n_votes = (fires * counts[:, None]).sum(axis=0)
        for _ in range(self.max_iter):
            # M: expected right votes of each function, under the current posteriors.
            right = np.where(fires, np.take_along_axis(q, np.maximum(patterns, 0).astype(np.intp), 1), 0.0)
            expected = (right * counts[:, None]).sum(axis=0)
            alpha = (expected + _PRIOR_ACCURACY * _PRIOR_STRENGTH) / (n_votes + _PRIOR_STRENGTH)
            self.accuracies = np.clip(alpha, *_BOUNDS)
            new_q = self._posterior(patterns)
            converged = np.abs(new_q - q).max(initial=0.0) < self.tol
            q = new_q
            if converged:
                break
        return self

    def predict_proba(self, votes: np.ndarray) -> np.ndarray:
        """(n, k) posteriors; a row with no vote gets the class prior (callers treat it as unlabeled)."""
        if self.accuracies is None:
            raise RuntimeError("LabelModel.predict_proba before fit")
        if votes.shape[1] != len(self.accuracies):
            raise ValueError(f"fitted on {len(self.accuracies)} functions, got {votes.shape[1]}")
        patterns, inverse, _ = self._patterns(votes)
        return self._posterior(patterns)[inverse]
