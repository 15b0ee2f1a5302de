"""What is new since the latest snapshot: the question a nightly retrain asks before any work."""

from dataclasses import dataclass

from honkdata.annotate.store import HumanLabelStore
from honkdata.build import resolve_sources
from honkdata.config import BuildConfig
from honkdata.ingest.sources import fingerprint
from honkdata.snapshot.freshness import labels_digest
from honkdata.snapshot.store import SnapshotRef, SnapshotStore


@dataclass(frozen=True)
class Changes:
    new_inputs: list[str]  # input files (or dataset folders) not in the latest snapshot, by path and sha256
    new_human_labels: bool  # people labeled rows since it was built (e.g. label-issue corrections)

    def __bool__(self) -> bool:
        return bool(self.new_inputs) or self.new_human_labels


def changes_since(store: SnapshotStore, latest: SnapshotRef | None, config: BuildConfig) -> Changes:
    """The inputs of `config` that `latest` was not built from — a path it did not read, or a path whose
    content (sha256) changed, as a log appended to does — and whether there are new human labels."""
    inputs, *_ = resolve_sources(config)
    if latest is None:
        return Changes([str(i.path) for i in inputs], False)
    manifest = store.manifest(latest)
    seen = {(i["path"], i.get("sha256")) for i in manifest["inputs"]}
    new = [str(i.path) for i in inputs if (str(i.path), fingerprint(i.path)[1]) not in seen]
    human = labels_digest(HumanLabelStore(config.human_store_path()).latest())
    return Changes(new, human != manifest.get("human_labels", {}).get("sha256"))
