"""Build configuration: YAML validated on load, with errors that name the bad key."""

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from honkdata.errors import HonkdataError

DEFAULT_ROOT = "data/snapshots"
# A dataset name is one folder of the store: no '/', no '..', nothing hidden.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
# What DuckDB's memory_limit takes; checked because the value reaches the database engine.
_MEMORY_LIMIT = re.compile(r"([0-9]+(?:\.[0-9]+)?) *(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|%)", re.IGNORECASE)
_MEMORY_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_MEMORY_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def default_root() -> Path:
    return Path(os.environ.get("HONKDATA_ROOT", DEFAULT_ROOT))


def _iso_date(value: object) -> object:
    """A quoted date ("2000-01-01") is still a date; an unquoted one is already a date in YAML."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # the date validator names the problem
    return value


def _existing(kind: str, exists: Callable[[Path], bool]) -> AfterValidator:
    """A path checked on load, so a typo fails before the build reads anything."""

    def check(value: str) -> str:
        if not exists(Path(value)):
            raise PydanticCustomError(
                "path_not_found", "no such {kind}: {path}", {"kind": kind, "path": value}
            )
        return value

    return AfterValidator(check)


def _memory_size(value: str) -> str:
    if not _MEMORY_LIMIT.fullmatch(value):
        raise PydanticCustomError(
            "memory_limit", "expected a size such as 1GB, 512MiB or 50%, got {value}", {"value": repr(value)}
        )
    return value


def memory_bytes(size: str) -> int:
    """The bytes a memory size means to DuckDB: KB 1,000, KiB 1,024, a percentage of this machine's RAM."""
    match = _MEMORY_LIMIT.fullmatch(size)
    if match is None:
        raise ValueError(f"not a memory size: {size!r}")
    number, unit = float(match[1]), match[2].lower()
    if unit == "%":
        return int(number / 100 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return int(number * _MEMORY_UNITS[unit])


ConfigDate = Annotated[date, BeforeValidator(_iso_date)]
ExistingFile = Annotated[str, _existing("file", Path.is_file)]
ExistingFolder = Annotated[str, _existing("folder", Path.is_dir)]
MemorySize = Annotated[str, AfterValidator(_memory_size)]


class _Strict(BaseModel):
    # Strict types: `k_anonymity: true` must be an error, not k = 1 (an int is still a valid float).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class SourceConfig(_Strict):
    path: str
    format: str = "auto"
    name: str | None = Field(None, description="label in the `sources` column; default: the file name")
    kind: Literal["user_log", "curated"] | None = Field(
        None, description="user logs get privacy rules; default: raw formats are user logs"
    )
    allow_pii: bool | None = Field(
        None,
        description="curated sources: PII the leak check finds in their rows does not fail the build; "
        "default true for published corpora (snips, bio, slurp, massive, cpcd), false otherwise",
    )
    split: Literal["keep", "resplit"] = Field(
        "keep",
        description="keep: a source that comes with its own split (bio folders, Snips train_/validate_ "
        "files, SLURP files, MASSIVE partition, a labeled-jsonl split field) keeps it, and a part it "
        "lacks is carved from its train rows; resplit: its rows get the configured ratio split",
    )
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        # It may hold credentials: left out of the manifest and of the config's hash (like `root`).
        exclude=True,
        description="for a URL path (s3://, gs://...): options of its fsspec file system, e.g. "
        "{endpoint_url: ...} or {anon: true}; credentials otherwise come from the backend's own "
        "environment variables (AWS_*)",
    )


class IngestConfig(_Strict):
    batch_rows: int = Field(65_536, gt=0)
    max_line_bytes: int = Field(1_000_000, gt=0)
    max_reject_rate: float = Field(0.05, ge=0, le=1)
    keep_fields: list[str] = []
    ts_earliest: ConfigDate = Field(
        date(2000, 1, 1), description="older timestamps are unreadable (null, counted)"
    )
    ts_latest: ConfigDate | None = Field(
        None, description="newer timestamps are unreadable; default one day after the build"
    )


class NormalizeConfig(_Strict):
    min_chars: int = Field(1, ge=1)
    max_chars: int = Field(256, gt=0)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> "NormalizeConfig":
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must not exceed max_chars ({self.max_chars})")
        return self


class SplitConfig(_Strict):
    train: float = Field(0.8, ge=0, le=1)
    validation: float = Field(0.1, ge=0, le=1)
    test: float = Field(0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "SplitConfig":
        if abs(self.train + self.validation + self.test - 1) > 1e-9:
            raise ValueError("train + validation + test must sum to 1")
        return self


PII_TYPES = ("EMAIL", "PHONE", "PERSON", "ADDRESS", "CARD", "IP", "URL", "HANDLE")
PiiType = Literal["EMAIL", "PHONE", "PERSON", "ADDRESS", "CARD", "IP", "URL", "HANDLE"]
PiiAction = Literal["placeholder", "mask", "drop"]


class DPConfig(_Strict):
    """Differentially private release: partition selection and noised counts (python-dp)."""

    epsilon: float = Field(1.0, gt=0)
    delta: float = Field(1e-6, gt=0, lt=1)
    max_queries_per_user: int = Field(5, ge=1, description="per-user cap on distinct queries counted")
    max_events_per_query: int = Field(3, ge=1, description="per-user cap on events counted per query")


class AnonymizeConfig(_Strict):
    key_env: str = Field("HONKDATA_PSEUDONYM_KEY", description="environment variable holding the key")
    key_file: str | None = Field(None, description="file holding the key (used when the variable is unset)")
    demo_key: bool = Field(False, description="use the public demo key: for the shipped sample only")
    pii: dict[PiiType, PiiAction] = Field(default_factory=lambda: dict.fromkeys(PII_TYPES, "placeholder"))
    k_anonymity: int = Field(
        5, ge=1, description="publish a user-log query only if this many users issued it"
    )
    dp: DPConfig | None = Field(None, description="set to release by DP partition selection instead of k")

    @field_validator("pii", mode="after")
    @classmethod
    def _every_type_has_an_action(cls, pii: dict[str, str]) -> dict[str, str]:
        return {**dict.fromkeys(PII_TYPES, "placeholder"), **pii}


class LabelsConfig(_Strict):
    weak: bool = Field(True, description="label rows without gold by labeling functions + label model")
    functions: ExistingFile | None = Field(
        None, description="labeling functions YAML; default the shipped one"
    )
    gazetteers: ExistingFolder | None = Field(
        None, description="folder of <entity type>.txt lists; default the shipped one"
    )
    human_store: str | None = Field(None, description="imported human labels; default <root>/_labels/<name>")
    model: ExistingFolder | None = Field(
        None,
        description="a honkdata model folder (taxonomy labels): labels rows without human or gold labels",
    )
    # Below this the model is wrong too often to outrank the weak labels (benchmarks/model_labels.py).
    model_min_confidence: float = Field(
        0.9, ge=0.0, le=1.0, description="model labels below this confidence are not used"
    )


class NearDedupConfig(_Strict):
    """MinHash + LSH over character n-grams, candidates verified, entity-aware (honkdata.dedup.near)."""

    enabled: bool = True
    ngram: int = Field(
        3, ge=1, description="characters per shingle, inside words; a shorter word is one shingle"
    )
    # More bands buy recall with time. Measured on the pair set (precision 0.998 throughout) and 1M
    # synthetic queries, bands x rows: 10x4 recall 0.957, 2.32 s; 12x4 0.960, 2.20 s, but a flood
    # of typos of one query fell into two clusters; 16x4 0.969, 2.69 s; 12x3 0.974, 3.34 s;
    # 16x3 0.980, 3.50 s. Verification alone would accept 0.988 of the true pairs.
    num_perm: int = Field(40, ge=8, description="MinHash permutations, bands x rows per band")
    bands: int = Field(10, ge=1, description="LSH bands of num_perm / bands rows; num_perm a multiple")
    threshold: float = Field(
        0.7, gt=0, le=1, description="verified similarity (rapidfuzz ratio of the words) of a duplicate"
    )
    max_bucket: int = Field(
        64, ge=2, description="LSH buckets larger than this pair each row with its next neighbours only"
    )

    @model_validator(mode="after")
    def _bands_divide_permutations(self) -> "NearDedupConfig":
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        return self


class SemanticDedupConfig(_Strict):
    """MiniLM embeddings, cosine threshold, only within the same intent (off by default)."""

    enabled: bool = False
    threshold: float = Field(0.92, gt=0, le=1, description="cosine similarity that makes a duplicate")
    model: str | None = Field(
        None, description="local sentence-transformers folder; default the packaged MiniLM"
    )
    batch_size: int = Field(256, ge=1)


class DedupConfig(_Strict):
    near: NearDedupConfig = NearDedupConfig()
    semantic: SemanticDedupConfig = SemanticDedupConfig()


class BuildConfig(_Strict):
    name: str = Field("music-queries", pattern=NAME_PATTERN)
    root: str | None = Field(None, description="snapshot store; default $HONKDATA_ROOT or data/snapshots")
    sources: list[SourceConfig] = [SourceConfig(path="data/samples/queries.jsonl")]
    quarantine_dir: str | None = Field(None, description="default <root>/_quarantine")
    taxonomy: ExistingFile | None = Field(None, description="taxonomy YAML; default the shipped one")
    license: str = "other"
    catalog: ExistingFile | None = Field(
        None, description="music names the scrubber keeps and the entity tagger finds (see honkdata.catalog)"
    )
    # 1.5GB, not 1GB: measured at 10M events, exact dedup's aggregation took 23.8 s against 29.2 s
    # (it spills less) for 0.1 GB more peak RSS.
    memory_limit: MemorySize = Field("1.5GB", description="DuckDB memory limit for the global aggregations")
    work_dir: str | None = Field(
        None,
        description="temporary build data (spills, checkpoints of a resumable build), owner-only, removed "
        "when the build ends; default <root>/_work",
    )
    ingest: IngestConfig = IngestConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    anonymize: AnonymizeConfig = AnonymizeConfig()
    labels: LabelsConfig = LabelsConfig()
    dedup: DedupConfig = DedupConfig()
    split: SplitConfig = SplitConfig()

    def root_path(self) -> Path:
        return Path(self.root) if self.root else default_root()

    def work_path(self) -> Path:
        return Path(self.work_dir) if self.work_dir else self.root_path() / "_work"

    def dataset_work_path(self) -> Path:
        """This dataset's builds' temporary files: what a killed build left there, the next one removes."""
        return self.work_path() / self.name

    def quarantine_path(self) -> Path:
        return Path(self.quarantine_dir) if self.quarantine_dir else self.root_path() / "_quarantine"

    def human_store_path(self) -> Path:
        return (
            Path(self.labels.human_store)
            if self.labels.human_store
            else self.root_path() / "_labels" / self.name
        )

    def fingerprint(self) -> str:
        """Hash of the settings that shape the data (not where it is stored)."""
        shaping = self.model_dump(exclude={"root", "quarantine_dir", "memory_limit", "work_dir"})
        return hashlib.sha256(orjson.dumps(shaping, option=orjson.OPT_SORT_KEYS)).hexdigest()


def describe_errors(error: ValidationError) -> str:
    """Every error, each as `key: message`, on one line: a config is fixed in one go."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors()
    )


class _DuplicateKeys(yaml.YAMLError):
    pass


def _mapping_entries(node: yaml.Node) -> Iterator[tuple[str, int, yaml.Node]]:
    """(key, line, value node) of a mapping, (index, line, item) of a sequence."""
    if isinstance(node, yaml.MappingNode):
        yield from ((str(k.value), k.start_mark.line + 1, v) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        yield from ((str(i), v.start_mark.line + 1, v) for i, v in enumerate(node.value))


def _duplicate_keys(node: yaml.Node, path: str, seen: set[int]) -> list[str]:
    """Dotted keys given twice in one mapping, with the line of the repeat."""
    if id(node) in seen:  # an alias: checked where its anchor is
        return []
    seen.add(id(node))
    found: list[str] = []
    keys: set[str] = set()
    for key, line, child in _mapping_entries(node):
        dotted = f"{path}.{key}" if path else key
        if key in keys:
            found.append(f"{dotted} (line {line})")
        keys.add(key)
        found += _duplicate_keys(child, dotted, seen)
    return found


class _ConfigLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice: plain YAML keeps the last one silently, so a second
    `k_anonymity:` further down would quietly override the first."""

    def construct_document(self, node: yaml.Node) -> object:
        if duplicates := _duplicate_keys(node, "", set()):
            raise _DuplicateKeys(f"duplicate key {', '.join(duplicates)}")
        return super().construct_document(node)


# YAML 1.1 reads `1e-6` (no dot) as a string, which strict types would then refuse as "not a
# number"; read it as the float everyone means.
_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=_ConfigLoader) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise HonkdataError(f"config {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise HonkdataError(f"config {path} must be a mapping of keys to values")
    return data


# The keys that hold paths ('*': every item of a list). In a config file a relative path means
# relative to the file's folder, so a config works from any directory; overrides (`--source`,
# `--root`) are relative to the current directory, as on any command line.
_PATH_KEYS = (
    "root",
    "quarantine_dir",
    "work_dir",
    "taxonomy",
    "catalog",
    "sources.*.path",
    "anonymize.key_file",
    "labels.functions",
    "labels.gazetteers",
    "labels.human_store",
    "labels.model",
    "dedup.semantic.model",
)


def _path_slots(node: object, keys: list[str]) -> Iterator[tuple[dict, str]]:
    """(mapping, key) of each value at the dotted `keys` under `node` that is there."""
    key, rest = keys[0], keys[1:]
    if key == "*":
        for item in node if isinstance(node, list) else []:
            yield from _path_slots(item, rest)
    elif isinstance(node, dict) and key in node:
        yield from _path_slots(node[key], rest) if rest else [(node, key)]


def _rebase(data: dict, folder: Path, keys: tuple[str, ...] = _PATH_KEYS) -> None:
    """Join the config file's relative paths (at the dotted `keys`) to its folder, in place; what is
    not a string is left for validation to judge, and a URL (s3://...) is not a path."""
    slots = {
        (id(node), key): (node, key)
        for dotted in keys
        for node, key in _path_slots(data, dotted.split("."))
    }
    for node, key in slots.values():  # a YAML alias (*a) is the same mapping: joined once, not twice
        if isinstance(node[key], str) and not os.path.isabs(node[key]) and "://" not in node[key]:
            # normpath: "configs/../data/x" reads as "data/x" in the manifest and in messages.
            node[key] = os.path.normpath(folder / node[key])


def load_config(path: Path | None = None, **overrides: object) -> BuildConfig:
    """Load and validate a build config; `overrides` (None values ignored) win over the file.
    Relative paths in the file are relative to the file's folder."""
    data: dict = {}
    if path is not None:
        if not Path(path).is_file():
            raise HonkdataError(f"config file not found: {path}")
        data = _read_yaml(Path(path))
        _rebase(data, Path(path).parent)
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return BuildConfig.model_validate(data)
    except ValidationError as e:
        where = f"config {path}" if path else "config"
        raise HonkdataError(f"{where}: {describe_errors(e)}") from None
