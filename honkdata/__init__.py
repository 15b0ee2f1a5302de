"""honkdata: music-query logs in, versioned Parquet datasets and query-understanding models out."""

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["__version__", "load_snapshot", "load_snapshot_pandas"]

if TYPE_CHECKING:
    from honkdata.snapshot.load import load_snapshot, load_snapshot_pandas

_LOADERS = ("load_snapshot", "load_snapshot_pandas")


def __getattr__(name: str) -> object:
    # Loaded on first use, so that `import honkdata` (every command's start) pulls in no pyarrow,
    # pandas or datasets.
    if name in _LOADERS:
        from honkdata.snapshot import load

        return getattr(load, name)
    raise AttributeError(f"module 'honkdata' has no attribute {name!r}")
