"""The registry's plain local backend: files under `<root>/_registry/<name>/`, atomic like the
snapshot store.

<root>/_registry/<name>/
  v0001/model/        the model folder, copied in at registration, never changed after
  v0001/version.json  recipe, lineage, golden-set metrics, created: written into the staging folder
                      before it is renamed into place, so a visible version is a complete one
  aliases.json        {"challenger": 4}, replaced whole
  history.jsonl       every champion change (the champion is its last entry), replaced whole
  .lock               one writer per name at a time
"""

from pathlib import Path

import orjson

from honkdata.errors import HonkdataError
from honkdata.registry.store import (
    MODEL_DIR,
    ModelVersion,
    is_name,
    now_iso,
    version_dir,
    version_number,
)
from honkdata.snapshot.store import fsync_tree, replace_file
from honkdata.train.folder import write_json

_VERSION_FILE = "version.json"
_ALIASES = "aliases.json"


class LocalBackend:
    """A RegistryBackend: version.json in each version's folder, the challenger in aliases.json."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if is_name(p.name) and self._numbers(p.name))

    def _numbers(self, name: str) -> list[int]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        numbers = (version_number(p) for p in folder.iterdir() if (p / _VERSION_FILE).is_file())
        return sorted(n for n in numbers if n is not None)

    def stored_versions(self, name: str) -> list[ModelVersion]:
        return [self._read(name, n) for n in self._numbers(name)]

    def _read(self, name: str, number: int) -> ModelVersion:
        folder = self.root / name / version_dir(number)
        try:
            meta = orjson.loads((folder / _VERSION_FILE).read_bytes())
            return ModelVersion(
                name,
                number,
                folder / MODEL_DIR,
                meta["recipe"],
                meta["lineage"],
                meta["metrics"],
                meta["created"],
            )
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as e:
            raise HonkdataError(f"{folder}/{_VERSION_FILE} is damaged: {e}") from None

    def publish(self, name: str, staging: Path, recipe: str, lineage: dict, metrics: dict) -> int:
        number = (self._numbers(name) or [0])[-1] + 1
        target = self.root / name / version_dir(number)
        if target.exists():
            raise HonkdataError(f"{target} is in the way of {name}@v{number}: move it out of the registry")
        meta = {"recipe": recipe, "lineage": lineage, "metrics": metrics, "created": now_iso()}
        write_json(staging / _VERSION_FILE, meta)
        fsync_tree(staging)
        staging.rename(target)
        return number

    def challenger(self, name: str) -> int | None:
        path = self.root / name / _ALIASES
        try:
            return orjson.loads(path.read_bytes()).get("challenger")
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError, AttributeError) as e:
            raise HonkdataError(f"{path} is damaged: {e}") from None

    def write_challenger(self, name: str, version: int | None) -> None:
        aliases = {} if version is None else {"challenger": version}
        replace_file(self.root / name / _ALIASES, orjson.dumps(aliases))

    def mirror_champion(self, name: str, version: int) -> None:
        pass  # the history is the only record of the champion here
