"""The registry's backend on MLflow's model registry (`registry.backend: mlflow`, the `mlflow` extra).

MLflow holds the registered models, their versions and the `champion` and `challenger` aliases, so
MLflow's UI and clients see what honkdata sees. A version's tags carry what honkdata needs:
`honkdata.recipe`, `honkdata.created`, `honkdata.lineage` and `honkdata.metrics` (JSON), plus
`honkdata.snapshot` and `honkdata.content_hash` to search by. The weights stay in the folder under
the store's root (`<root>/_registry/<name>/v0003/model`, the version's `source`), as in the local
backend. MLflow keeps no history of its aliases, so the promotion history is the same
`history.jsonl` beside the weights, and the `champion` alias mirrors its last entry: move the
champion with `honkdata models promote | rollback`, not in MLflow's UI, or the two disagree until the
next promotion. Versions without honkdata's tags (registered by other tools) are not listed.

The tracking URI: `registry.tracking_uri`, else $MLFLOW_TRACKING_URI, else a file store at
`<root>/_registry/_mlflow`, next to the weights it points at.
"""

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from honkdata.errors import HonkdataError
from honkdata.registry.store import MODEL_DIR, ModelVersion, check_name, now_iso, version_dir
from honkdata.snapshot.store import fsync_tree

_TAG = "honkdata.registry"  # on the registered models honkdata made
_PAGE = 1000


class MlflowBackend:
    """A RegistryBackend: versions, their tags and the aliases in MLflow, the weights under `root`."""

    def __init__(self, root: Path, tracking_uri: str | None = None) -> None:
        self.root = Path(root)
        try:
            from mlflow import MlflowClient
        except ImportError:
            raise HonkdataError(
                "registry.backend mlflow needs MLflow: pip install 'honkdata[mlflow]'"
            ) from None
        uri = (
            tracking_uri
            or os.environ.get("MLFLOW_TRACKING_URI")
            or (self.root / "_mlflow").absolute().as_uri()
        )
        if "://" not in uri or uri.startswith("file:"):
            # MLflow 3 keeps its file store for existing users behind this switch; the skinny package
            # has no database store.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    @contextmanager
    def _mlflow(self) -> Iterator[None]:
        """MLflow's errors as one line that says which registry answered."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as e:
            raise HonkdataError(f"MLflow registry at {self.uri}: {str(e.message).splitlines()[0]}") from None

    def _pages(self, search: Callable[..., Any], **kwargs: Any) -> list:
        found, token = [], None
        with self._mlflow():
            while True:
                page = search(max_results=_PAGE, page_token=token, **kwargs)
                found += list(page)
                token = page.token
                if not token:
                    return found

    def names(self) -> list[str]:
        models = self._pages(self.client.search_registered_models)
        return sorted(m.name for m in models if _TAG in m.tags)

    def _mlflow_versions(self, name: str) -> list:
        check_name(name)  # the name goes into a filter string: no quotes can reach it
        return self._pages(self.client.search_model_versions, filter_string=f"name='{name}'")

    def stored_versions(self, name: str) -> list[ModelVersion]:
        versions = []
        for mv in self._mlflow_versions(name):
            tags = mv.tags
            if "honkdata.metrics" not in tags:
                continue
            try:
                versions.append(
                    ModelVersion(
                        name,
                        int(mv.version),
                        Path(mv.source),
                        tags["honkdata.recipe"],
                        orjson.loads(tags["honkdata.lineage"]),
                        orjson.loads(tags["honkdata.metrics"]),
                        tags["honkdata.created"],
                    )
                )
            except (KeyError, orjson.JSONDecodeError) as e:
                raise HonkdataError(
                    f"{name} version {mv.version} in {self.uri} has damaged tags: {e}"
                ) from None
        return sorted(versions, key=lambda v: v.version)

    def publish(self, name: str, staging: Path, recipe: str, lineage: dict, metrics: dict) -> int:
        self._ensure_model(name)
        number = max((int(mv.version) for mv in self._mlflow_versions(name)), default=0) + 1
        target = self.root / name / version_dir(number)
        if target.exists():
            raise HonkdataError(f"{target} is in the way of {name}@v{number}: move it out of the registry")
        fsync_tree(staging)
        tags = {
            "honkdata.recipe": recipe,
            "honkdata.created": now_iso(),
            "honkdata.lineage": orjson.dumps(lineage).decode(),
            "honkdata.metrics": orjson.dumps(metrics).decode(),
            "honkdata.snapshot": str(lineage.get("snapshot", "")),
            "honkdata.content_hash": str(lineage.get("content_hash", "")),
        }
        with self._mlflow():
            mv = self.client.create_model_version(
                name,
                source=str((target / MODEL_DIR).absolute()),
                tags=tags,
                description=f"honkdata {recipe} model trained on {lineage.get('snapshot')}",
            )
        try:
            if int(mv.version) != number:
                raise HonkdataError(
                    f"MLflow numbered the new version of {name} {mv.version}, not {number}: another client "
                    f"registered {name} at {self.uri} meanwhile; register again"
                )
            staging.rename(target)
        except BaseException:
            with self._mlflow():
                self.client.delete_model_version(name, mv.version)
            raise
        return number

    def _ensure_model(self, name: str) -> None:
        from mlflow.exceptions import MlflowException

        try:
            model = self.client.get_registered_model(name)
        except MlflowException as e:
            if e.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise HonkdataError(f"MLflow registry at {self.uri}: {e.message}") from None
            with self._mlflow():
                self.client.create_registered_model(
                    name, tags={_TAG: "1"}, description="query-understanding model registered by honkdata"
                )
            return
        if _TAG not in model.tags:
            with self._mlflow():
                self.client.set_registered_model_tag(name, _TAG, "1")

    def challenger(self, name: str) -> int | None:
        from mlflow.exceptions import MlflowException

        try:
            aliases = self.client.get_registered_model(name).aliases
        except MlflowException as e:
            if e.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise HonkdataError(f"MLflow registry at {self.uri}: {e.message}") from None
        return int(aliases["challenger"]) if "challenger" in aliases else None

    def write_challenger(self, name: str, version: int | None) -> None:
        with self._mlflow():
            if version is None:
                self.client.delete_registered_model_alias(name, "challenger")
            else:
                self.client.set_registered_model_alias(name, "challenger", str(version))

    def mirror_champion(self, name: str, version: int) -> None:
        with self._mlflow():
            self.client.set_registered_model_alias(name, "champion", str(version))
