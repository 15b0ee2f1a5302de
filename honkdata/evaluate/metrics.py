"""Intent accuracy and F1, entity span F1 (exact spans, seqeval's definition), frame accuracy.

One scorer for every model, so that the baseline, the encoder and the LLM are compared on one
footing: entities are matched as (type, start, end) character spans, which is what seqeval's
entity-level F1 counts on BIO tags, and also works for a model that never produced tags (the LLM).
`frame_accuracy` is the published "sentence accuracy" of the SNIPS papers: intent and every entity
right, and no extra one.
"""

from collections import Counter
from collections.abc import Iterable, Sequence

from honkdata.train.examples import Example
from honkdata.train.frames import Entity, Frame


def _prf(true_positive: int, predicted: int, actual: int) -> dict[str, float]:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _spans(entities: Iterable[Entity]) -> set[tuple[str, int, int]]:
    return {(e.type, e.start, e.end) for e in entities}


def score(examples: Sequence[Example], frames: Sequence[Frame]) -> dict:
    """Task metrics of `frames` predicted for `examples` (same order). Fractions in [0, 1]."""
    if len(examples) != len(frames):
        raise ValueError(f"{len(examples)} examples but {len(frames)} predictions")
    n = len(examples)
    intent_tp: Counter[str] = Counter()
    intent_predicted: Counter[str] = Counter()
    intent_actual: Counter[str] = Counter()
    span_tp: Counter[str] = Counter()
    span_predicted: Counter[str] = Counter()
    span_actual: Counter[str] = Counter()
    frames_right = 0
    for example, frame in zip(examples, frames, strict=True):
        intent_actual[example.intent] += 1
        intent_predicted[frame.intent] += 1
        intent_right = frame.intent == example.intent
        intent_tp[example.intent] += intent_right
        gold, predicted = _spans(example.entities), _spans(frame.entities)
        for kind, *_ in gold:
            span_actual[kind] += 1
        for kind, *_ in predicted:
            span_predicted[kind] += 1
        for kind, *_ in gold & predicted:
            span_tp[kind] += 1
        frames_right += intent_right and gold == predicted
    per_intent = {
        name: {
            **_prf(intent_tp[name], intent_predicted[name], intent_actual[name]),
            "support": intent_actual[name],
        }
        for name in sorted(
            intent_actual
        )  # intents with gold rows: predicted-only ones have no F1 to speak of
    }
    per_type = {
        kind: {**_prf(span_tp[kind], span_predicted[kind], span_actual[kind]), "support": span_actual[kind]}
        for kind in sorted(span_actual | span_predicted)
    }
    entities = _prf(sum(span_tp.values()), sum(span_predicted.values()), sum(span_actual.values()))
    return {
        "n": n,
        "intent_accuracy": sum(intent_tp.values()) / n if n else 0.0,
        "intent_macro_f1": sum(v["f1"] for v in per_intent.values()) / len(per_intent) if per_intent else 0.0,
        "entity_precision": entities["precision"],
        "entity_recall": entities["recall"],
        "entity_f1": entities["f1"],
        "frame_accuracy": frames_right / n if n else 0.0,
        "invalid": sum(not f.valid for f in frames),
        "per_intent": per_intent,
        "per_entity_type": per_type,
    }


def confusion(examples: Sequence[Example], frames: Sequence[Frame]) -> dict[str, dict[str, int]]:
    """Intent confusion counts: gold intent -> predicted intent -> rows, only the pairs that occur."""
    pairs = Counter((e.intent, f.intent) for e, f in zip(examples, frames, strict=True))
    matrix: dict[str, dict[str, int]] = {}
    for (gold, predicted), n in sorted(pairs.items()):
        matrix.setdefault(gold, {})[predicted] = n
    return matrix


HEADLINE = ("intent_accuracy", "intent_macro_f1", "entity_f1", "frame_accuracy")
