"""The music taxonomy (intents, entity types) and how each public format's gold labels map onto it."""

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from honkdata.errors import HonkdataError
from honkdata.resources import shipped_config

# Gold slot name -> the lower-cased values it takes in one utterance.
SlotValues = Mapping[str, Collection[str]]


class GoldSpan(NamedTuple):
    """One gold slot of a public format, as character offsets into the stored query."""

    label: str
    start: int
    end: int
    text: str


class Condition(BaseModel):
    """Map a gold label to `then` when the utterance's slot `if_slot` takes one of the values `in`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    if_slot: str
    values: list[str] = Field(alias="in")
    then: str

    @field_validator("values")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]

    def holds(self, slots: SlotValues) -> bool:
        return any(v in self.values for v in slots.get(self.if_slot, ()))


class Conditional(BaseModel):
    """Rules that win over the plain mapping when their condition holds (else the plain mapping applies)."""

    model_config = ConfigDict(extra="forbid")
    intents: dict[str, Condition] = {}
    entities: dict[str, Condition] = {}


class FormatMapping(BaseModel):
    """Gold label names of one public format mapped to taxonomy names; unmapped intents -> default."""

    model_config = ConfigDict(extra="forbid")
    intents: dict[str, str] = {}
    entities: dict[str, str] = {}
    conditional: Conditional = Conditional()


def _apply(
    plain: Mapping[str, str], rules: Mapping[str, Condition], label: str, slots: SlotValues
) -> str | None:
    rule = rules.get(label)
    if rule is not None and rule.holds(slots):
        return rule.then
    return plain.get(label)


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intents: list[str]
    entity_types: list[str]
    default_intent: str = "out_of_domain"
    formats: dict[str, FormatMapping] = {}

    @model_validator(mode="after")
    def _targets_exist(self) -> Self:
        if self.default_intent not in self.intents:
            raise ValueError(f"default_intent: {self.default_intent!r} is not one of the intents")
        for fmt, mapping in self.formats.items():
            conditional = mapping.conditional
            checks = [
                ("intents", mapping.intents, self.intents, "intent"),
                ("entities", mapping.entities, self.entity_types, "entity type"),
                (
                    "conditional.intents",
                    {k: c.then for k, c in conditional.intents.items()},
                    self.intents,
                    "intent",
                ),
                (
                    "conditional.entities",
                    {k: c.then for k, c in conditional.entities.items()},
                    self.entity_types,
                    "entity type",
                ),
            ]
            for where, targets, allowed, kind in checks:
                for label, target in targets.items():
                    if target not in allowed:
                        raise ValueError(
                            f"formats.{fmt}.{where}.{label}: {target!r} is not a taxonomy {kind}"
                        )
        return self

    def _format(self, fmt: str) -> FormatMapping:
        try:
            return self.formats[fmt]
        except KeyError:
            raise HonkdataError(
                f"The taxonomy has no mapping for format {fmt!r}: add formats.{fmt}."
            ) from None

    def map_intent(self, fmt: str, label: str, slots: SlotValues | None = None) -> str:
        """Taxonomy intent for a gold intent; `slots` feeds the format's conditional rules."""
        mapping = self._format(fmt)
        target = _apply(mapping.intents, mapping.conditional.intents, label, slots or {})
        return target or self.default_intent

    def map_entity(self, fmt: str, label: str, slots: SlotValues | None = None) -> str | None:
        """Taxonomy entity type for a gold slot name, or None when the slot has no music meaning."""
        mapping = self._format(fmt)
        return _apply(mapping.entities, mapping.conditional.entities, label, slots or {})

    def map_example(self, fmt: str, label: str, spans: Sequence[GoldSpan]) -> tuple[str, list[dict]]:
        """Intent and entity dicts (sorted by start) of one gold example; default-intent rows get none."""
        slots: dict[str, set[str]] = {}
        for span in spans:
            slots.setdefault(span.label, set()).add(span.text.strip().lower())
        intent = self.map_intent(fmt, label, slots)
        if intent == self.default_intent:
            return intent, []
        entities = []
        for span in sorted(spans, key=lambda s: (s.start, s.end)):
            kind = self.map_entity(fmt, span.label, slots)
            if kind is not None:
                entities.append({"type": kind, "start": span.start, "end": span.end, "text": span.text})
        return intent, entities


@cache
def load_taxonomy(path: Path | None = None) -> Taxonomy:
    path = path or shipped_config("taxonomy.yaml")
    return Taxonomy.model_validate(yaml.safe_load(Path(path).read_text()))
