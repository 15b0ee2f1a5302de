"""What a reader knows about the source it reads, and where it reports what it could not read."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from honkdata.config import IngestConfig
from honkdata.ingest.timestamps import Window
from honkdata.taxonomy import Taxonomy

RejectFn = Callable[[str, int, str, str | bytes], None]


def default_window() -> Window:
    """The timestamp window of the default config (`ingest.ts_earliest`, `ingest.ts_latest`)."""
    ingest = IngestConfig()
    return Window.of(ingest.ts_earliest, ingest.ts_latest)


@dataclass
class SourceContext:
    """Per-source state handed to a reader.

    A reader never raises on bad content: it calls `reject` with the 1-based line (or row) number, a
    short reason and the raw content, and goes on with the next line. Timestamps outside `ts_window`
    are unreadable (null, counted in `ts_invalid`).
    """

    name: str
    taxonomy: Taxonomy
    on_reject: RejectFn
    batch_rows: int = 65_536
    max_line_bytes: int = 1_000_000
    ts_window: Window = field(default_factory=default_window)
    rows_rejected: int = 0
    rows_repaired: int = 0
    ts_invalid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    # (bytes, sha256) of a fetched remote file or folder, counted as it was copied for the reader; else None.
    digest: tuple[int, str] | None = None
    # Repaired lines counted in rows_repaired that may still be rejected (and then taken back out).
    _repaired_lines: set[int] = field(default_factory=set, init=False, repr=False)

    def repaired(self, line: int) -> None:
        """Count `line` as one whose bytes needed a repair (taken back if it is rejected later)."""
        if line not in self._repaired_lines:
            self._repaired_lines.add(line)
            self.rows_repaired += 1

    def settle(self, line: int) -> None:
        """No line before `line` will be rejected any more: forget their repairs, so that a log of
        millions of repaired lines is not remembered whole."""
        self._repaired_lines = {n for n in self._repaired_lines if n >= line}

    def reject(self, line: int, reason: str, raw: str | bytes) -> None:
        if line in self._repaired_lines:
            self._repaired_lines.discard(line)
            self.rows_repaired -= 1
        self.rows_rejected += 1
        self.reasons[reason] += 1
        self.on_reject(self.name, line, reason, raw)
