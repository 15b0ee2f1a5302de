"""honkdata: music-query logs in, versioned Parquet datasets and query-understanding models out."""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = [
    "__version__", "load_model", "load_snapshot", "load_snapshot_pandas", "predict", "pull_snapshot",
    "push_snapshot", "train",
]  # fmt: skip

if TYPE_CHECKING:
    from honkdata.snapshot.load import load_snapshot, load_snapshot_pandas
    from honkdata.snapshot.mirror import pull_snapshot, push_snapshot
    from honkdata.train.model import load_model, predict
    from honkdata.train.run import train

# Loaded on first use, so that `import honkdata` (every command's start) pulls in no pyarrow,
# pandas, datasets or torch.
_API = {
    "load_snapshot": "honkdata.snapshot.load",
    "load_snapshot_pandas": "honkdata.snapshot.load",
    "push_snapshot": "honkdata.snapshot.mirror",
    "pull_snapshot": "honkdata.snapshot.mirror",
    "load_model": "honkdata.train.model",
    "predict": "honkdata.train.model",
    "train": "honkdata.train.run",
}


def __getattr__(name: str) -> object:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'honkdata' has no attribute {name!r}")
