"""What every stage reports: rows in, rows out, what it dropped and why, and how long it took."""

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class StageStats:
    name: str
    rows_in: int = 0
    rows_out: int = 0
    seconds: float = 0.0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: str, n: int) -> None:
        """Count rows dropped for `reason`; zero counts are not reported."""
        if n:
            self.dropped[reason] += n

    def note(self, what: str, n: int) -> None:
        if n:
            self.notes[what] += n

    def add(self, part: "StageStats") -> None:
        """Counters of one part of this stage's work (a worker's) added to the stage's. Seconds add
        up too: a stage's seconds on a parallel engine are the time its workers spent in it, together."""
        self.rows_in += part.rows_in
        self.rows_out += part.rows_out
        self.seconds += part.seconds
        self.dropped.update(part.dropped)
        self.notes.update(part.notes)

    @contextmanager
    def timed(self) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    @classmethod
    def from_dict(cls, name: str, counted: dict) -> "StageStats":
        """The counters `to_dict` wrote (a resumed build's, read back from its checkpoint)."""
        return cls(
            name,
            counted["rows_in"],
            counted["rows_out"],
            counted["seconds"],
            Counter(counted["dropped"]),
            Counter(counted.get("notes", {})),
        )

    def to_dict(self) -> dict:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(sorted(self.dropped.items())),
            **({"notes": dict(sorted(self.notes.items()))} if self.notes else {}),
            "seconds": round(self.seconds, 3),
        }
