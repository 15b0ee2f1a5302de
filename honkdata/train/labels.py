"""The label space a model is trained in: the music taxonomy, or a source's own labels.

It is saved with every model (labels.json) and fixes the class ids, so that evaluation, prediction
and model-assisted labels read a model's outputs in the space it was trained in, and refuse a model
made for another taxonomy.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from honkdata.tokens import bio_labels

LabelKind = Literal["taxonomy", "source"]


@dataclass(frozen=True)
class LabelSpace:
    kind: LabelKind
    intents: tuple[str, ...]  # index = class id
    entity_types: tuple[str, ...]
    # What a model says when it cannot say anything better (an unreadable LLM output): the
    # taxonomy's default intent, or the most frequent training intent of a source's labels.
    fallback_intent: str

    def __post_init__(self) -> None:
        if self.fallback_intent not in self.intents:
            raise ValueError(f"fallback intent {self.fallback_intent!r} is not one of the intents")

    @cached_property
    def tags(self) -> tuple[str, ...]:
        return tuple(bio_labels(list(self.entity_types)))

    @cached_property
    def intent_ids(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.intents)}

    @cached_property
    def tag_ids(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.tags)}

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "intents": list(self.intents),
            "entity_types": list(self.entity_types),
            "fallback_intent": self.fallback_intent,
            "tags": list(self.tags),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LabelSpace":
        return cls(
            kind=data["kind"],
            intents=tuple(data["intents"]),
            entity_types=tuple(data["entity_types"]),
            fallback_intent=data["fallback_intent"],
        )
