"""Labeling functions: intent votes from RE2 patterns, each evaluated over a whole Arrow array at once.

A function votes its intent on a text when one of its `patterns` matches (case-insensitively) and
none of its `unless` patterns does; otherwise it abstains. Patterns may name word lists as `{name}`:
the config's `lists` hold them inline or as a path (relative to the YAML file) to a one-name-a-line
file such as a shipped gazetteer; each expands to a non-capturing alternation of the escaped words.
"""

import re
from pathlib import Path
from typing import Self

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from honkdata.errors import HonkdataError
from honkdata.resources import shipped_config
from honkdata.taxonomy import load_taxonomy

ABSTAIN = -1
_LIST_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _taxonomy_intents() -> list[str]:
    return list(load_taxonomy().intents)


def _taxonomy_default() -> str:
    return load_taxonomy().default_intent


class LabelingFunction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    intent: str
    patterns: list[str] = Field(min_length=1)
    unless: list[str] = []


class LabelingConfig(BaseModel):
    """The functions and the word lists they use; intents default to the shipped taxonomy's."""

    model_config = ConfigDict(extra="forbid")
    intents: list[str] = Field(default_factory=_taxonomy_intents)
    default_intent: str = Field(default_factory=_taxonomy_default)
    lists: dict[str, list[str]] = {}
    functions: list[LabelingFunction] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.default_intent not in self.intents:
            raise ValueError(f"default_intent: {self.default_intent!r} is not one of the intents")
        seen: set[str] = set()
        for i, lf in enumerate(self.functions):
            where = f"functions.{i} ({lf.name})"
            if lf.name in seen:
                raise ValueError(f"{where}.name: duplicate function name {lf.name!r}")
            seen.add(lf.name)
            if lf.intent not in self.intents:
                raise ValueError(f"{where}.intent: {lf.intent!r} is not a taxonomy intent")
            for key, patterns in (("patterns", lf.patterns), ("unless", lf.unless)):
                for j, pattern in enumerate(patterns):
                    self._compile(pattern, f"{where}.{key}.{j}")
        return self

    def expand(self, pattern: str) -> str:
        """The pattern with every `{list}` replaced by its alternation (longest words first)."""

        def alternation(ref: re.Match) -> str:
            words = sorted(self.lists[ref.group(1)], key=lambda w: (-len(w), w))
            return "(?:" + "|".join(re.escape(w) for w in words) + ")"

        return _LIST_REF.sub(alternation, pattern)

    def _compile(self, pattern: str, where: str) -> None:
        for ref in _LIST_REF.findall(pattern):
            if ref not in self.lists:
                raise ValueError(f"{where}: unknown list {{{ref}}} (define it under lists)")
        try:
            pc.match_substring_regex(pa.array([""]), self.expand(pattern), ignore_case=True)
        except pa.ArrowInvalid as e:
            raise ValueError(f"{where}: not a valid RE2 pattern: {e}") from None


def _read_list(folder: Path, name: str, value: object) -> object:
    """A list given as a path becomes its names; anything else is left for pydantic to judge."""
    if not isinstance(value, str):
        return value
    path = folder / value
    if not path.is_file():
        raise HonkdataError(f"labeling config: lists.{name}: file not found: {path}")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def load_labeling(path: Path | None = None) -> LabelingConfig:
    """Load and validate a labeling-functions YAML (default: the shipped configs/labeling.yaml)."""
    path = Path(path or shipped_config("labeling.yaml"))
    if not path.is_file():
        raise HonkdataError(f"labeling config not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise HonkdataError(f"labeling config {path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise HonkdataError(f"labeling config {path}: expected a mapping at the top level")
    if isinstance(data.get("lists"), dict):
        data["lists"] = {k: _read_list(path.parent, k, v) for k, v in data["lists"].items()}
    try:
        return LabelingConfig.model_validate(data)
    except ValidationError as e:
        # Every problem, so a misspelled key shows up as itself, not only as the key it left missing.
        problems = []
        for error in e.errors():
            key = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{key}: {message}" if key else message)
        raise HonkdataError(f"labeling config {path}: {'; '.join(problems)}") from None


class CompiledFunctions:
    """The config's functions as one expanded regex (and one `unless` regex) per function."""

    def __init__(self, config: LabelingConfig) -> None:
        self.names = [lf.name for lf in config.functions]
        self.classes = np.array([config.intents.index(lf.intent) for lf in config.functions], np.int16)
        self._match = [self._join(config, lf.patterns) for lf in config.functions]
        self._unless = [self._join(config, lf.unless) for lf in config.functions]

    @staticmethod
    def _join(config: LabelingConfig, patterns: list[str]) -> str | None:
        return "|".join(f"(?:{config.expand(p)})" for p in patterns) if patterns else None

    def votes(self, texts: pa.Array) -> np.ndarray:
        """(n, m) int16: each function's class index where it fires, ABSTAIN elsewhere."""
        if isinstance(texts, pa.ChunkedArray):
            texts = texts.combine_chunks()
        out = np.full((len(texts), len(self.names)), ABSTAIN, np.int16)
        for j, (match, unless) in enumerate(zip(self._match, self._unless, strict=True)):
            fires = pc.match_substring_regex(texts, match, ignore_case=True)
            if unless is not None:
                fires = pc.and_not(fires, pc.match_substring_regex(texts, unless, ignore_case=True))
            hit = pc.fill_null(fires, False).to_numpy(zero_copy_only=False)
            out[hit, j] = self.classes[j]
        return out
