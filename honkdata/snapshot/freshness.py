"""Is the latest snapshot already what this build would write? DVC's question before it runs a stage.

A snapshot is up to date for a build when it was built from the same inputs, by content (sha256,
wherever the files are now), the same config (its hash: the settings that shape the data), the same
human labels and the same honkdata version. Sizes are compared first, so a changed input is
usually noticed without hashing anything; equal sizes are hashed to be sure.
"""

import hashlib
import warnings

import pyarrow as pa

from honkdata import __version__
from honkdata.config import BuildConfig
from honkdata.errors import HonkdataWarning
from honkdata.ingest.sources import fingerprint
from honkdata.progress import InputSize, StageWatch
from honkdata.snapshot.store import SnapshotRef, SnapshotStore
from honkdata.stage import StageStats


def labels_digest(human: pa.Table) -> str | None:
    """sha256 of the human labels a build applies (None without any), for the manifest: an import
    between two builds must make the second one build."""
    if human.num_rows == 0:
        return None
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, human.schema) as writer:
        writer.write_table(human)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def current_snapshot(
    store: SnapshotStore,
    config: BuildConfig,
    inputs: tuple[InputSize, ...],
    human_labels: str | None,
    watch: StageWatch,
) -> SnapshotRef | None:
    """The latest version of `config.name` if this build would make the same snapshot, else None."""
    latest = store.latest(config.name)
    if latest is None:
        return None
    manifest = store.manifest(latest)
    same_setup = (
        manifest["config_hash"] == config.fingerprint()
        and manifest["honkdata_version"] == __version__
        and manifest.get("human_labels", {}).get("sha256") == human_labels
        and sorted(i.get("size", -1) for i in manifest["inputs"]) == sorted(i.size for i in inputs)
    )
    if not same_setup:
        return None
    stats = StageStats("check_inputs")
    with watch.timed(stats):
        hashes = sorted(fingerprint(i.path)[1] for i in inputs)
    return latest if hashes == sorted(i.get("sha256", "") for i in manifest["inputs"]) else None


def warn_if_unrelated(store: SnapshotStore, parent: SnapshotRef | None, reports: list[dict]) -> None:
    """Warn when no input of this build was an input of the version it follows, neither by path (a
    log appended to is the same input) nor by content (a file moved is too): its rows would inherit
    that version's splits and be diffed against it, which is rarely meant for other data."""
    if parent is None:
        return
    inputs = store.manifest(parent)["inputs"]
    before = {i["path"] for i in inputs} | ({i.get("sha256") for i in inputs} - {None})
    if before and before.isdisjoint({r["path"] for r in reports} | {r["sha256"] for r in reports}):
        warnings.warn(
            f"no input of this build was an input of {parent}, the version it follows (its splits "
            "carry over, and diffs compare with it); if this is another dataset, give it its own --name",
            HonkdataWarning,
            stacklevel=2,
        )
