"""What every model predicts for one query: an intent, its confidence, and entities as character spans.

All three recipes return these, so metrics, `honkdata predict` and model-assisted labels treat every
model the same way. Tags are the snapshot's BIO tags over its word tokens (honkdata/tokens.py);
decoding them is seqeval's reading, so a span F1 here equals seqeval's on the same tags.
"""

from collections.abc import Sequence
from dataclasses import dataclass

Token = tuple[str, int, int]  # (text, start, end): a token of honkdata.tokens.tokenize


@dataclass(frozen=True)
class Entity:
    type: str
    start: int  # character offsets into the query, end exclusive
    end: int
    text: str

    def to_dict(self) -> dict:
        return {"type": self.type, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Frame:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    # False only where a model's output could not be read (an LLM's broken JSON): the frame then
    # holds the label space's fallback intent with confidence 0, and metrics count it.
    valid: bool = True

    def to_dict(self, query: str) -> dict:
        return {
            "query": query,
            "intent": self.intent,
            "confidence": round(float(self.confidence), 6),
            "entities": [e.to_dict() for e in self.entities],
        }


def tags_to_entities(text: str, tokens: Sequence[Token], tags: Sequence[str]) -> tuple[Entity, ...]:
    """Entities of BIO `tags` over `tokens`, read as seqeval reads them: an I- tag that does not
    continue an entity of its type starts a new one; a span runs from its first token's start to its
    last token's end."""
    entities: list[Entity] = []
    kind: str | None = None
    start = end = 0

    def close() -> None:
        if kind is not None:
            entities.append(Entity(kind, start, end, text[start:end]))

    for (_, token_start, token_end), tag in zip(tokens, tags, strict=False):
        prefix, _, tag_type = tag.partition("-")
        if prefix == "I" and tag_type == kind:
            end = token_end
            continue
        close()
        kind = tag_type if prefix in ("B", "I") and tag_type else None
        start, end = token_start, token_end
    close()
    return tuple(entities)


def entities_to_tags(tokens: Sequence[Token], entities: Sequence[Entity]) -> list[str]:
    """BIO tags of `entities` over `tokens`: every token an entity touches is inside it."""
    tags = ["O"] * len(tokens)
    for entity in sorted(entities, key=lambda e: e.start):
        inside = [i for i, (_, s, e) in enumerate(tokens) if s < entity.end and e > entity.start]
        if not inside or any(tags[i] != "O" for i in inside):
            continue  # a span over no token, or overlapping one already tagged, cannot be tagged
        tags[inside[0]] = f"B-{entity.type}"
        for i in inside[1:]:
            tags[i] = f"I-{entity.type}"
    return tags
