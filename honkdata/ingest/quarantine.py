"""Rejected input rows, kept with their reason outside the published snapshot.

Quarantined rows hold raw text (and possibly personal data), so the folder and files are created
owner-only, like the raw logs they come from.
"""

import os
from pathlib import Path
from typing import IO

import orjson

# A 10 MB line is kept as its head: enough to find and fix it, without copying the whole thing.
MAX_RAW_CHARS = 2_000


class Quarantine:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._file: IO[bytes] | None = None

    def reject(self, source: str, line: int, reason: str, raw: str | bytes) -> None:
        if self._file is None:
            for folder in (self.path.parent.parent, self.path.parent):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(folder, 0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._file = os.fdopen(fd, "ab")
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        record = {
            "source": source,
            "line": line,
            "reason": reason,
            "raw": text[:MAX_RAW_CHARS],
            "raw_chars": len(text),
        }
        self._file.write(orjson.dumps(record) + b"\n")
        self.rows += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
