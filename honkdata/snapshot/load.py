"""The analysts' Python API: a published snapshot as a `datasets.DatasetDict` or a pandas DataFrame.

    import honkdata
    ds = honkdata.load_snapshot("music-queries@latest")          # train / validation / test
    df = honkdata.load_snapshot_pandas("music-queries@v3")       # every split, with `split`

A REF is `name@vN`, `name@latest` or a plain name (its latest version); `root` defaults to
$HONKDATA_ROOT, else data/snapshots, as for the command line.
"""

from pathlib import Path
from typing import TYPE_CHECKING

from honkdata.config import default_root
from honkdata.snapshot.store import SnapshotRef, SnapshotStore

if TYPE_CHECKING:
    import datasets
    import pandas as pd

DEFAULT_REF = "music-queries@latest"


def _resolve(ref: str, root: str | Path | None) -> tuple[SnapshotStore, SnapshotRef]:
    """The store and the version `ref` names; a HonkdataError in one line for a bad ref."""
    store = SnapshotStore(Path(root) if root is not None else default_root())
    return store, store.resolve(ref)


def snapshot_path(ref: str = DEFAULT_REF, root: str | Path | None = None) -> Path:
    """The folder of a complete snapshot; a HonkdataError in one line for a bad ref or a broken one."""
    store, resolved = _resolve(ref, root)
    store.manifest(resolved)  # a snapshot whose manifest readers cannot use fails here, not mid-load
    return store.path(resolved)


def load_snapshot(ref: str = DEFAULT_REF, root: str | Path | None = None) -> "datasets.DatasetDict":
    """Every split with rows, read through the snapshot's card: `intent` is the taxonomy's ClassLabel."""
    import datasets  # slow to import; pandas users never need it

    return datasets.load_dataset(str(snapshot_path(ref, root)))


def load_snapshot_pandas(
    ref: str = DEFAULT_REF, root: str | Path | None = None, columns: list[str] | None = None
) -> "pd.DataFrame":
    """Every split in one DataFrame (train, validation, test, in that order), intents as names."""
    store, resolved = _resolve(ref, root)
    wanted = None if columns is None else list(dict.fromkeys([*columns, "split"]))
    return store.read(resolved, columns=wanted).to_pandas()
