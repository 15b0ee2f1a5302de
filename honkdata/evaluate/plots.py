"""The report's two plots, as base64 PNG for `<img src="data:...">`, so the page needs no other file.

Drawn on a bare matplotlib `Figure` (no pyplot): no global state and no GUI backend, so it works
in a job without a display and in a thread.
"""

import base64
from io import BytesIO

import matplotlib
import numpy as np
from matplotlib.figure import Figure


def _png(fig: Figure) -> str:
    buffer = BytesIO()
    # No "Software" entry: the same figure gives the same bytes whatever matplotlib drew it.
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def confusion_png(matrix: dict[str, dict[str, int]]) -> str:
    """Gold intents (rows) × predicted intents (columns) with each cell's count. The colour is the
    share of the gold row, so that a rare intent's confusions show as clearly as a frequent one's."""
    labels = sorted(set(matrix) | {p for row in matrix.values() for p in row})
    counts = np.array([[matrix.get(gold, {}).get(p, 0) for p in labels] for gold in labels])
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    # Half an inch per intent, within what a page shows (a source label space may have 60 intents).
    side = min(max(4.0, 0.5 * len(labels) + 2.5), 24.0)
    fontsize = 8 if len(labels) <= 30 else 6
    # Label names are data: a `$` in one must print as itself, not start TeX math.
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = Figure(figsize=(side, side), layout="constrained")
        ax = fig.subplots()
        ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
        for i, j in zip(*np.nonzero(counts), strict=True):
            color = "white" if shares[i, j] > 0.6 else "black"
            ax.text(j, i, f"{counts[i, j]:,}", ha="center", va="center", fontsize=fontsize, color=color)
        ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=fontsize)
        ax.set_yticks(range(len(labels)), labels, fontsize=fontsize)
        ax.set_xlabel("predicted intent")
        ax.set_ylabel("gold intent")
        return _png(fig)


def reliability_png(bins: list[dict], ece: float) -> str:
    """The reliability diagram of `calibration()`'s bins: accuracy per confidence bin against the
    diagonal of a perfectly calibrated model, and below it how many predictions each bin holds."""
    lower = np.array([b["lower"] for b in bins])
    width = np.array([b["upper"] - b["lower"] for b in bins])
    accuracy = np.array([b["accuracy"] if b["n"] else 0.0 for b in bins])
    confidence = np.array([b["confidence"] if b["n"] else np.nan for b in bins])
    fig = Figure(figsize=(5.0, 5.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.bar(lower, accuracy, width=width, align="edge", color="#4c78a8", edgecolor="white", label="accuracy")
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    top.plot(lower + width / 2, confidence, "o", color="#e45756", label="mean confidence")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"intent confidence, ECE {100 * ece:.2f} %", fontsize=10)
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(lower, [b["n"] for b in bins], width=width, align="edge", color="#9d9d9d", edgecolor="white")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence")
    bottom.set_ylabel("predictions")
    return _png(fig)
