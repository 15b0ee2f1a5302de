"""What a reader knows about the source it reads, and where it reports what it could not read."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from honkdata.taxonomy import Taxonomy

RejectFn = Callable[[str, int, str, str | bytes], None]


@dataclass
class SourceContext:
    """Per-source state handed to a reader.

    A reader never raises on bad content: it calls `reject` with the 1-based line (or row) number, a
    short reason and the raw content, and goes on with the next line.
    """

    name: str
    taxonomy: Taxonomy
    on_reject: RejectFn
    batch_rows: int = 65_536
    max_line_bytes: int = 1_000_000
    rows_rejected: int = 0
    rows_repaired: int = 0
    ts_invalid: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def reject(self, line: int, reason: str, raw: str | bytes) -> None:
        self.rows_rejected += 1
        self.reasons[reason] += 1
        self.on_reject(self.name, line, reason, raw)
