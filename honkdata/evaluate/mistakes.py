"""The worst errors of a scored set: wrong predictions the model was surest of.

A wrong intent ranks before a right intent with wrong entities (the frame is wrong either way, but a
wrong intent sends the query to the wrong feature); within each, the highest intent confidence
first, ties by example id so the list is the same on every run. Confidently wrong rows are where
label errors and systematic blind spots show up first.
"""

from collections.abc import Sequence

from honkdata.train.examples import Example
from honkdata.train.frames import Frame

WORST = 25


def worst_errors(examples: Sequence[Example], frames: Sequence[Frame], k: int = WORST) -> list[dict]:
    """The `k` worst wrong predictions: id, query, gold intent and entities, predicted intent and
    entities, confidence, and `wrong` ("intent" or "entities")."""
    wrong = []
    for example, frame in zip(examples, frames, strict=True):
        intent_wrong = frame.intent != example.intent
        spans = {(e.type, e.start, e.end) for e in frame.entities}
        if intent_wrong or spans != {(e.type, e.start, e.end) for e in example.entities}:
            wrong.append((not intent_wrong, -float(frame.confidence), example.id, example, frame))
    wrong.sort(key=lambda w: w[:3])
    return [
        {
            "id": example.id,
            "query": example.text,
            "gold_intent": example.intent,
            "gold_entities": [e.to_dict() for e in example.entities],
            "predicted_intent": frame.intent,
            "predicted_entities": [e.to_dict() for e in frame.entities],
            "confidence": float(frame.confidence),
            "wrong": "entities" if entities_only else "intent",
        }
        for entities_only, _, _, example, frame in wrong[:k]
    ]
