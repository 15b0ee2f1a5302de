"""How each labeling function behaves: the figures of Snorkel's LFAnalysis, over an (n, m) vote matrix.

coverage: share of rows it votes on; overlaps: share of rows it votes on with at least one other
function voting too; conflicts: share of rows it votes on where another function votes a different
label; correct / incorrect: its votes that equal / differ from the gold label, counted over rows that
have one; accuracy: correct / (correct + incorrect), None without gold or without such votes.
"""

import numpy as np


def _polarity(column: np.ndarray, intents: list[str]) -> str | None:
    """The intent(s) a function emitted, comma-separated; None if it never voted."""
    emitted = np.unique(column[column >= 0])
    return ",".join(intents[c] for c in emitted) if len(emitted) else None


def analyze_functions(
    votes: np.ndarray, lf_names: list[str], intents: list[str], gold: list[str | None] | None = None
) -> list[dict]:
    """One dict per function: name, intent, coverage, overlaps, conflicts, correct, incorrect, accuracy."""
    n, m = votes.shape
    if len(lf_names) != m:
        raise ValueError(f"{len(lf_names)} names for {m} functions")
    voted = votes >= 0
    n_voting = voted.sum(axis=1)
    # A row conflicts when its votes are not all one label: compare each vote with the row's lowest.
    lowest = np.where(voted, votes, np.iinfo(votes.dtype).max).min(axis=1, keepdims=True)
    row_conflict = (voted & (votes != lowest)).any(axis=1)
    denominator = max(n, 1)
    y = None
    if gold is not None:
        if len(gold) != n:
            raise ValueError(f"{len(gold)} gold labels for {n} rows")
        index = {name: i for i, name in enumerate(intents)}
        # -2: no gold (row skipped); an unknown gold name gets -3, so every vote on it is incorrect.
        y = np.array([-2 if g is None else index.get(g, -3) for g in gold], np.int64)
    report = []
    for j, name in enumerate(lf_names):
        fires = voted[:, j]
        entry: dict = {
            "name": name,
            "intent": _polarity(votes[:, j], intents),
            "coverage": float(fires.sum() / denominator),
            "overlaps": float((fires & (n_voting > 1)).sum() / denominator),
            "conflicts": float((fires & row_conflict).sum() / denominator),
            "correct": None,
            "incorrect": None,
            "accuracy": None,
        }
        if y is not None:
            judged = fires & (y != -2)
            correct = int((judged & (votes[:, j] == y)).sum())
            incorrect = int(judged.sum()) - correct
            entry.update(correct=correct, incorrect=incorrect)
            entry["accuracy"] = correct / (correct + incorrect) if correct + incorrect else None
        report.append(entry)
    return report
