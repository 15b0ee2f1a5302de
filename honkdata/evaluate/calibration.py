"""Whether a model's intent confidence means what it says: the reliability diagram's bins and the ECE.

The confidence is `Frame.confidence`, the model's probability of the intent it predicted; a
prediction is right when that intent is the gold one. Confidences fall into `BINS` equal-width bins
over [0, 1] (each closed below, the last also above). The expected calibration error is
ECE = Σ over bins of (share of predictions in the bin) × |accuracy in the bin − mean confidence in it|:
0 for a model whose 80 %-sure predictions are right 80 % of the time, at every level.
"""

from collections.abc import Sequence

BINS = 10


def calibration(correct: Sequence[bool], confidence: Sequence[float], bins: int = BINS) -> dict:
    """`ece` and, per bin, `lower`, `upper`, `n`, `accuracy` and `confidence` (the two None in an empty
    bin) of predictions whose intent was `correct` with `confidence` (same order)."""
    if len(correct) != len(confidence):
        raise ValueError(f"{len(correct)} outcomes but {len(confidence)} confidences")
    right, sure, counts = [0] * bins, [0.0] * bins, [0] * bins
    for ok, p in zip(correct, confidence, strict=True):
        p = min(max(float(p), 0.0), 1.0)
        b = min(int(p * bins), bins - 1)  # 1.0 belongs to the last bin
        right[b] += bool(ok)
        sure[b] += p
        counts[b] += 1
    n = len(correct)
    table = [
        {
            "lower": b / bins,
            "upper": (b + 1) / bins,
            "n": counts[b],
            "accuracy": right[b] / counts[b] if counts[b] else None,
            "confidence": sure[b] / counts[b] if counts[b] else None,
        }
        for b in range(bins)
    ]
    ece = sum(abs(right[b] - sure[b]) for b in range(bins)) / n if n else 0.0
    return {"ece": ece, "bins": table}
