"""`honkdata eval` as a function: score a model folder on labeled examples."""

import time
from pathlib import Path

from honkdata.evaluate.data import file_examples, snapshot_examples
from honkdata.evaluate.metrics import score
from honkdata.train.model import load_model, predict_batches


def evaluate(
    model: str | Path,
    snapshot: str | None = None,
    root: str | Path | None = None,
    split: str = "test",
    data: str | Path | None = None,
    fmt: str = "auto",
    limit: int | None = None,
) -> dict:
    """Task metrics of the model at `model` on a snapshot's split, or on a labeled file (`data`);
    `limit` scores only the first rows (a slow model, a quick look)."""
    predictor = load_model(model)
    if data is not None:
        examples = file_examples(predictor.labels, Path(data), fmt)
        scored_on = {"data": str(data), "format": fmt}
    else:
        examples = snapshot_examples(predictor.labels, snapshot or "music-queries@latest", root, split)
        scored_on = {"snapshot": snapshot, "split": split}
    examples = examples[:limit]
    started = time.perf_counter()
    frames = [frame for _, frame in predict_batches(predictor, (e.text for e in examples))]
    seconds = time.perf_counter() - started
    return {
        "model": str(model),
        **scored_on,
        **score(examples, frames),
        "queries_per_second": round(len(examples) / seconds, 1) if seconds else None,
    }
