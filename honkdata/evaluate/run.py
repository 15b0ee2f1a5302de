"""`honkdata eval` as a function: score a model folder on labeled examples.

`evaluate_details` is the one path behind `honkdata eval`, its HTML report and retraining: the
metrics (what `evaluate` returns and `--json` prints) plus every example with its prediction and
metadata, which the report's worst-errors table needs and the metrics must not carry (query text).
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from honkdata.evaluate.calibration import calibration
from honkdata.evaluate.data import EvalSet, file_eval_set, snapshot_eval_set
from honkdata.evaluate.metrics import confusion, score
from honkdata.evaluate.slices import slice_metrics
from honkdata.train.examples import Example
from honkdata.train.frames import Frame
from honkdata.train.model import load_model, predict_batches

DEFAULT_SNAPSHOT = "music-queries@latest"  # the dataset the README's commands build


@dataclass(frozen=True)
class EvalDetails:
    metrics: dict  # what `evaluate` returns
    examples: list[Example]
    frames: list[Frame]  # the model's prediction for each example, same order
    meta: pa.Table  # each example's surface, locale, label_source and count (evaluate.data.META)


def evaluate_details(
    model: str | Path,
    snapshot: str | None = None,
    root: str | Path | None = None,
    split: str = "test",
    data: str | Path | None = None,
    fmt: str = "auto",
    limit: int | None = None,
) -> EvalDetails:
    """`evaluate`'s metrics with the scored examples, their predictions and metadata."""
    predictor = load_model(model)
    if data is not None:
        scored: EvalSet = file_eval_set(predictor.labels, Path(data), fmt)
        scored_on = {"data": str(data), "format": fmt}
    else:
        ref = snapshot or DEFAULT_SNAPSHOT
        scored = snapshot_eval_set(predictor.labels, ref, root, split)
        scored_on = {"snapshot": ref, "split": split}
    scored = scored.head(limit)
    examples = scored.examples
    started = time.perf_counter()
    frames = [frame for _, frame in predict_batches(predictor, (e.text for e in examples))]
    seconds = time.perf_counter() - started
    reliability = calibration(
        [f.intent == e.intent for e, f in zip(examples, frames, strict=True)], [f.confidence for f in frames]
    )
    metrics = {
        "model": str(model),
        **scored_on,
        **score(examples, frames),
        "intent_ece": reliability["ece"],
        "calibration": reliability["bins"],
        "confusion": confusion(examples, frames),
        "slices": slice_metrics(scored.meta, examples, frames),
        "queries_per_second": round(len(examples) / seconds, 1) if seconds else None,
    }
    return EvalDetails(metrics, examples, frames, scored.meta)


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
    `limit` scores only the first rows (a slow model, a quick look). Beside the per-intent and
    per-entity-type scores: `intent_ece` and the reliability bins (`calibration`), the intent
    `confusion` counts, and the headline metrics per `slices` (evaluate.slices)."""
    return evaluate_details(model, snapshot, root, split, data, fmt, limit).metrics
