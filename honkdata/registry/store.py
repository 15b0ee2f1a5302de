"""The model registry: registered model versions with their lineage, the `champion` and `challenger`
aliases, and the history of every champion change.

One registry, `ModelRegistry`, over one of two backends (a `RegistryBackend`: LocalBackend in
honkdata.registry.local, MlflowBackend in honkdata.registry.mlflow_registry), so both behave the
same: the registry does refs, aliases, the history and its lock, and staging a registration; the
backend stores the versions' metadata and the challenger alias. With either, the weights live under
the store's root, `<root>/_registry/<name>/v0001/model/`, copied in at registration and never
changed after, and the promotion history is `<root>/_registry/<name>/history.jsonl`, replaced whole
under the name's lock. The champion is the last entry of that history: one file decides it, so a
promotion is one atomic write and "who was champion on 2026-11-20" reads the same file. (MLflow's
registry keeps no history of its aliases, its issue #2169; there its `champion` alias mirrors the
history's last entry.)

Refs: `name@v3`, `name@3`, `name@champion`, `name@challenger`, `name@latest`, or `name` (latest).
A name follows the dataset rules; `_registry` starts with '_', so it is never taken for a dataset.
"""

import errno
import fcntl
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

import orjson

from honkdata.config import NAME_PATTERN, default_root
from honkdata.errors import HonkdataError
from honkdata.registry.config import RegistryConfig
from honkdata.snapshot.store import fsync_dir, replace_file
from honkdata.snapshot.write import file_sha256
from honkdata.train.folder import CONFIG_FILE, METRICS_FILE, read_model_config

REGISTRY_DIR = "_registry"
ALIASES = ("champion", "challenger")
MODEL_DIR = "model"  # the model folder inside a version's folder
_HISTORY = "history.jsonl"
_STAGING_PREFIX = ".staging-"
_VERSION_REF = re.compile(r"v?(\d+)")
_VERSION_DIR = re.compile(r"^v(\d{4,})$")
# The training lineage a version keeps; the per-epoch log stays in the folder's metrics.json.
_LINEAGE_KEYS = (
    "snapshot",
    "content_hash",
    "manifest_sha256",
    "rows",
    "recipe",
    "code_version",
    "seed",
    "hardware",
    "started_at",
    "train_seconds",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    path: Path  # the model folder inside the registry: load_model(path) loads it
    recipe: str
    lineage: dict  # snapshot ref, content hash, manifest sha256, config sha256, code version, ...
    metrics: dict  # the golden-set metrics given at registration
    created: str  # ISO 8601 UTC
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_dict(self) -> dict:
        return {"ref": self.ref, **asdict(self), "path": str(self.path), "aliases": list(self.aliases)}


@dataclass(frozen=True)
class Promotion:
    """One champion change: `version` became champion, replacing `previous`."""

    name: str
    version: int
    previous: int | None
    at: str  # ISO 8601 UTC
    reason: str
    by: str  # "manual", "retrain", ...
    kind: Literal["promote", "rollback"]
    evidence: dict = field(default_factory=dict)  # the gate's decision, when there was one

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    def to_dict(self) -> dict:
        return {"ref": self.ref, **asdict(self)}


class Registry(Protocol):
    """What `honkdata retrain` and `honkdata models` use; ModelRegistry, on either backend."""

    root: Path  # <store root>/_registry

    def register(self, name: str, folder: Path, metrics: dict, *, move: bool = False) -> ModelVersion: ...
    def names(self) -> list[str]: ...
    def versions(self, name: str) -> list[ModelVersion]: ...
    def resolve(self, ref: str) -> ModelVersion: ...
    def alias(self, name: str, alias: str) -> ModelVersion | None: ...
    def set_challenger(self, name: str, version: int) -> None: ...
    def promote(
        self, name: str, version: int, *, reason: str, evidence: dict | None = None, by: str = "manual"
    ) -> Promotion: ...
    def rollback(self, name: str, *, reason: str, by: str = "manual") -> Promotion: ...
    def history(self, name: str) -> list[Promotion]: ...
    def champion_at(self, name: str, when: datetime) -> ModelVersion | None: ...


class RegistryBackend(Protocol):
    """Where a registry keeps the versions' metadata and the challenger alias: LocalBackend and
    MlflowBackend. The weights and the history are files under `root` whichever it is."""

    root: Path  # <store root>/_registry: the version folders and the history are under it

    def names(self) -> list[str]: ...

    def stored_versions(self, name: str) -> list[ModelVersion]:
        """The versions of `name`, oldest first, without their aliases."""

    def publish(self, name: str, staging: Path, recipe: str, lineage: dict, metrics: dict) -> int:
        """Record the staged version (its model folder is `staging/model`), sync it and
        rename `staging` into its place; returns its number. Called with the name's lock held."""

    def challenger(self, name: str) -> int | None: ...
    def write_challenger(self, name: str, version: int | None) -> None: ...

    def mirror_champion(self, name: str, version: int) -> None:
        """Show the new champion where the backend's own tools look (MLflow's alias)."""


def open_registry(root: Path | None, config: RegistryConfig) -> Registry:
    """The registry of the store at `root` [default: $HONKDATA_ROOT, else data/snapshots]."""
    registry_root = Path(root or default_root()) / REGISTRY_DIR
    backend: RegistryBackend
    # Imported here, not at the top: both backends' modules import this one.
    if config.backend == "mlflow":
        from honkdata.registry.mlflow_registry import MlflowBackend

        backend = MlflowBackend(registry_root, config.tracking_uri)
    else:
        from honkdata.registry.local import LocalBackend

        backend = LocalBackend(registry_root)
    return ModelRegistry(backend)


def is_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None


def check_name(name: str) -> None:
    if not is_name(name):
        raise HonkdataError(
            f"bad model name {name!r}: letters, digits, '.', '_' and '-' only, starting with a letter "
            "or digit"
        )


def version_dir(version: int) -> str:
    return f"v{version:04d}"


def parse_time(value: str) -> datetime:
    """An ISO 8601 time; without a zone, UTC (what the registry writes)."""
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def champions(history: list[Promotion]) -> list[int]:
    """The stack of champions the history leaves: a promotion pushes, a rollback pops. Its top is
    the champion; a rollback goes to the one below, so two rollbacks go two champions back, not
    back and forth between the last two."""
    stack: list[int] = []
    for entry in history:
        if entry.kind == "rollback":
            if stack:
                stack.pop()
            if not stack or stack[-1] != entry.version:  # a history written by hand: trust its entry
                stack.append(entry.version)
        else:
            stack.append(entry.version)
    return stack


def lineage_of(folder: Path) -> tuple[str, dict]:
    """(recipe, lineage) of a trained model folder, from its metrics.json and config.yaml."""
    config, _ = read_model_config(folder)
    try:
        trained = orjson.loads((folder / METRICS_FILE).read_bytes())["lineage"]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
        raise HonkdataError(
            f"{folder} has no training lineage in {METRICS_FILE}: register a folder `honkdata train` wrote"
        ) from None
    lineage = {k: trained[k] for k in _LINEAGE_KEYS if k in trained}
    return str(config["recipe"]), {**lineage, "config_sha256": file_sha256(folder / CONFIG_FILE)}


def _check_metrics(metrics: dict) -> dict:
    if not isinstance(metrics, dict):
        raise HonkdataError(f"registry metrics must be a mapping, not {type(metrics).__name__}")
    try:
        return orjson.loads(orjson.dumps(metrics))
    except TypeError as e:
        raise HonkdataError(f"registry metrics must be JSON: {e}") from None


class ModelRegistry:
    """The registry on a backend: refs, aliases, the history and its lock, staging a registration."""

    def __init__(self, backend: RegistryBackend) -> None:
        self.backend = backend
        self.root = backend.root  # one root: a version is staged in the folder the backend publishes to

    def names(self) -> list[str]:
        return self.backend.names()

    def folder(self, name: str) -> Path:
        return self.root / name

    def register(self, name: str, folder: Path, metrics: dict, *, move: bool = False) -> ModelVersion:
        """Copy a trained model folder into the registry as the next version of `name`, with its
        lineage and `metrics` (the golden-set scores the gate reads). `move` hands the folder over
        (renamed, where it is on the same file system): a failed registration gives it back, a
        killed one leaves nothing, the folder included."""
        check_name(name)
        folder = Path(folder)
        recipe, lineage = lineage_of(folder)
        metrics = _check_metrics(metrics)
        with self._locked(name):
            # Staging folders of killed registrations: we hold the lock, so none is in use.
            for stale in self.folder(name).glob(f"{_STAGING_PREFIX}*"):
                shutil.rmtree(stale, ignore_errors=True)
            staging = self.folder(name) / f"{_STAGING_PREFIX}{os.getpid()}"
            staging.mkdir()
            moved = False
            try:
                moved = move and _move(folder, staging / MODEL_DIR)
                if not moved:
                    shutil.copytree(folder, staging / MODEL_DIR, symlinks=False)
                version = self.backend.publish(name, staging, recipe, lineage, metrics)
            except BaseException:
                if moved:  # give the caller's folder back
                    os.rename(staging / MODEL_DIR, folder)
                raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            fsync_dir(self.folder(name))
        if move and not moved:
            shutil.rmtree(folder)
        return self._version(name, version)

    def versions(self, name: str) -> list[ModelVersion]:
        check_name(name)
        aliases = self._aliases(name)
        return [
            replace(v, aliases=tuple(a for a, n in aliases.items() if n == v.version))
            for v in self.backend.stored_versions(name)
        ]

    def resolve(self, ref: str) -> ModelVersion:
        """`name@vN`, `name@N`, `name@champion`, `name@challenger`, `name@latest` or `name` (latest)."""
        name, _, which = ref.partition("@")
        check_name(name)
        versions = self.versions(name)
        if not versions:
            raise HonkdataError(f"no registered model named {name!r} in {self.root}")
        if which in ("", "latest"):
            return versions[-1]
        if match := _VERSION_REF.fullmatch(which):
            return self._find(versions, name, int(match.group(1)))
        if which not in ALIASES:
            raise HonkdataError(
                f"bad model reference {ref!r}: expected name@vN, name@latest, name@champion or "
                "name@challenger"
            )
        found = next((v for v in versions if which in v.aliases), None)
        if found is None:
            raise HonkdataError(f"{name} has no {which} yet")
        return found

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        if alias not in ALIASES:
            raise HonkdataError(f"no alias {alias!r}: the aliases are {', '.join(ALIASES)}")
        return next((v for v in self.versions(name) if alias in v.aliases), None)

    def set_challenger(self, name: str, version: int) -> None:
        self._find(self.versions(name), name, version)
        with self._locked(name):
            self.backend.write_challenger(name, version)

    def promote(
        self, name: str, version: int, *, reason: str, evidence: dict | None = None, by: str = "manual"
    ) -> Promotion:
        """Make `name@v<version>` the champion, recording why, by whom and the evidence."""
        self._find(self.versions(name), name, version)
        with self._locked(name):
            stack = champions(self.history(name))
            if stack and stack[-1] == version:
                raise HonkdataError(f"{name}@v{version} is already the champion")
            entry = Promotion(
                name, version, stack[-1] if stack else None, now_iso(), reason, by, "promote", evidence or {}
            )
            self._record(entry)
            if self.backend.challenger(name) == version:  # a challenger that won is no longer one
                self.backend.write_challenger(name, None)
        return entry

    def rollback(self, name: str, *, reason: str, by: str = "manual") -> Promotion:
        """Make the champion before the current one champion again."""
        check_name(name)
        with self._locked(name):
            stack = champions(self.history(name))
            if len(stack) < 2:
                now = f"(the champion is v{stack[-1]})" if stack else "(it has no champion)"
                raise HonkdataError(f"{name} has no earlier champion to roll back to {now}")
            entry = Promotion(name, stack[-2], stack[-1], now_iso(), reason, by, "rollback")
            self._record(entry)
        return entry

    def history(self, name: str) -> list[Promotion]:
        """Every champion change of `name`, oldest first."""
        check_name(name)
        path = self.folder(name) / _HISTORY
        try:
            lines = path.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        try:
            return [Promotion(**orjson.loads(line)) for line in lines if line.strip()]
        except (orjson.JSONDecodeError, TypeError) as e:
            raise HonkdataError(f"the promotion history {path} is damaged: {e}") from None

    def champion_at(self, name: str, when: datetime) -> ModelVersion | None:
        """The champion of `name` at `when` (naive: UTC); None before the first promotion."""
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        stack = champions([e for e in self.history(name) if parse_time(e.at) <= when])
        return self._version(name, stack[-1]) if stack else None

    # -- shared machinery -------------------------------------------------------------------------

    def _aliases(self, name: str) -> dict[str, int]:
        aliases = {}
        if stack := champions(self.history(name)):
            aliases["champion"] = stack[-1]
        if (challenger := self.backend.challenger(name)) is not None:
            aliases["challenger"] = challenger
        return aliases

    def _version(self, name: str, version: int) -> ModelVersion:
        return self._find(self.versions(name), name, version)

    def _find(self, versions: list[ModelVersion], name: str, version: int) -> ModelVersion:
        found = next((v for v in versions if v.version == version), None)
        if found is None:
            known = ", ".join(f"v{v.version}" for v in versions) or "none"
            raise HonkdataError(f"{name} has no version {version} (versions: {known})")
        return found

    def _record(self, entry: Promotion) -> None:
        """Append to the history, written whole (a reader sees it before or after, never half)."""
        path = self.folder(entry.name) / _HISTORY
        old = path.read_bytes() if path.is_file() else b""
        replace_file(path, old + orjson.dumps(asdict(entry), default=str) + b"\n")
        try:
            self.backend.mirror_champion(entry.name, entry.version)
        except BaseException:
            replace_file(path, old)  # the history and the backend's alias must agree
            raise

    @contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """One writer per model name at a time (an advisory lock the OS frees if the process dies);
        the others wait: every write here takes moments."""
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def _move(folder: Path, target: Path) -> bool:
    """Rename `folder` to `target`; False where they are on different file systems (then copy)."""
    try:
        os.rename(folder, target)
    except OSError as e:
        if e.errno == errno.EXDEV:
            return False
        raise
    return True


def version_number(path: Path) -> int | None:
    """The version a `vNNNN` folder holds, in its one canonical spelling; None for anything else."""
    match = _VERSION_DIR.match(path.name)
    return int(match.group(1)) if match and path.name == version_dir(int(match.group(1))) else None
