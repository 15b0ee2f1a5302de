"""Training configs: what every recipe reads from a snapshot, and loading a recipe's YAML with
`key=value` overrides from the command line.

A recipe's own Config (honkdata/recipes/<name>.py) holds a `data: DataConfig` beside its own keys:
composition, so the recipes agree on which examples they train on without sharing a base class.
"""

from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from honkdata.config import _ConfigLoader, _read_yaml, describe_errors
from honkdata.errors import HonkdataError

C = TypeVar("C", bound=BaseModel)
LabelSource = Literal["gold", "human", "model", "weak"]


class DataConfig(BaseModel):
    """Which rows of which snapshot a model learns from, and how much each one counts."""

    model_config = ConfigDict(extra="forbid", strict=True)
    snapshot: str = "music-queries@latest"
    root: str | None = None  # the snapshot store [default: $HONKDATA_ROOT, else data/snapshots]
    # taxonomy: the music intents and entity types; source: the source's native labels kept in the
    # snapshot (source_intent, source_tags), what published benchmarks score.
    labels: Literal["taxonomy", "source"] = "taxonomy"
    label_sources: list[LabelSource] = Field(default_factory=lambda: ["gold", "human", "model", "weak"])
    # Weak labels below this confidence are noise more often than signal (the card's measured
    # weak-label accuracy falls below 0.8 there), so they are left out of training.
    min_weak_confidence: float = Field(0.8, ge=0.0, le=1.0)
    # A query seen 1,000 times matters more in the field than one seen once; log keeps the head
    # from drowning the tail.
    weighting: Literal["none", "log", "linear"] = "none"
    # Quick runs and tests: at most this many training rows, and validation and test rows (a fixed
    # sample). Separate, because reading a split costs a generating model far more than training on it.
    max_examples: int | None = Field(None, ge=1)
    max_eval_examples: int | None = Field(None, ge=1)


def _parse_value(text: str) -> object:
    """A command-line value read as a config file reads it: `3e-4` a float, `true` a bool, `[a, b]` a list."""
    try:
        return yaml.load(text, Loader=_ConfigLoader)
    except yaml.YAMLError:
        return text


def _set_dotted(data: dict, key: str, value: object) -> None:
    """data[a][b][c] = value for key "a.b.c", making the mappings on the way."""
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise HonkdataError(f"bad override {key}: {part} is not a mapping")
        node = child
    node[leaf] = value


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Set each dotted `key=value` in `data`, in place; values are read as YAML reads them."""
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or any(not part for part in key.split(".")):
            raise HonkdataError(
                f"bad override {item!r}: expected key=value, e.g. epochs=3 or data.labels=source"
            )
        _set_dotted(data, key, _parse_value(value))
    return data


def load_recipe_config(
    config_class: type[C], path: Path | None, overrides: list[str], fields: dict[str, object] | None = None
) -> C:
    """Validate a recipe's YAML (or its defaults) with overrides; every error named by its key.
    `fields` (dotted keys; None values ignored) are set before the overrides: the command's options."""
    data: dict = {}
    if path is not None:
        if not Path(path).is_file():
            raise HonkdataError(f"config file not found: {path}")
        data = _read_yaml(Path(path))
    for key, value in (fields or {}).items():
        if value is not None:
            _set_dotted(data, key, value)
    apply_overrides(data, overrides)
    try:
        return config_class.model_validate(data)
    except ValidationError as e:
        where = f"config {path}" if path else "config"
        raise HonkdataError(f"{where}: {describe_errors(e)}") from None
