"""One retrain of a dataset at a time: a second one, started by a scheduler that fired twice or by
hand, is refused at once rather than queued (it would find nothing new anyway)."""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from honkdata.errors import HonkdataError


@contextmanager
def retrain_lock(path: Path) -> Iterator[None]:
    """Hold the lock file at `path` for the block, or raise if another process holds it. The kernel
    drops a flock when its process dies, so a killed run never leaves a stale lock behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise HonkdataError(f"another retrain is running ({holder}); this one did nothing") from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()} since {datetime.now(UTC).isoformat(timespec='seconds')}")
        lock.flush()
        try:
            yield
        finally:
            lock.seek(0)
            lock.truncate()
