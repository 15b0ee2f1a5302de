"""What every stage reports: rows in, rows out, what it dropped and why, and how long it took.

Counters are keyed by constants each stage module defines (snake_case identifiers, never a value
formatted in): a count broken down by a value (a PII type, a label source, a split) is a `tally`,
one counter per value under a constant key, not a value parsed back out of a key.
"""

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

_KEY = re.compile(r"[a-z][a-z0-9_]*")
_END: Any = object()
T = TypeVar("T")


def _check_key(key: str) -> None:
    """A counter's key is a constant snake_case identifier: a prose key is a programming error."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError(f"counter key {key!r} is not a snake_case identifier ({_KEY.pattern})")


@dataclass
class StageStats:
    name: str
    rows_in: int = 0
    rows_out: int = 0
    seconds: float = 0.0
    dropped: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    breakdowns: dict[str, Counter[str]] = field(default_factory=dict)  # key -> value -> count

    def drop(self, reason: str, n: int) -> None:
        """Count rows dropped for `reason`; zero counts are not reported."""
        _check_key(reason)
        if n:
            self.dropped[reason] += n

    def note(self, what: str, n: int) -> None:
        _check_key(what)
        if n:
            self.notes[what] += n

    def tally(self, key: str, value: str, n: int) -> None:
        """Count `n` under `key`, broken down by `value` (a PII type, a split, ...); zero counts are not
        reported."""
        _check_key(key)
        if n:
            self.breakdowns.setdefault(key, Counter())[value] += n

    def add(self, part: "StageStats") -> None:
        """Counters of one part of this stage's work (a worker's) added to the stage's. Seconds add
        up too: a stage's seconds on a parallel engine are the time its workers spent in it, together."""
        self.rows_in += part.rows_in
        self.rows_out += part.rows_out
        self.seconds += part.seconds
        self.dropped.update(part.dropped)
        self.notes.update(part.notes)
        for key, counts in part.breakdowns.items():
            self.breakdowns.setdefault(key, Counter()).update(counts)

    def timed_items(self, items: Iterator[T]) -> Iterator[T]:
        """`items`, the time spent getting each added to this stage's seconds (a reader's own time,
        not what runs downstream of it between items)."""
        while True:
            started = time.perf_counter()
            item = next(items, _END)
            self.seconds += time.perf_counter() - started
            if item is _END:
                return
            yield item

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
            {key: Counter(counts) for key, counts in counted.get("breakdowns", {}).items()},
        )

    def to_dict(self) -> dict:
        return {
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "dropped": dict(sorted(self.dropped.items())),
            **({"notes": dict(sorted(self.notes.items()))} if self.notes else {}),
            **({"breakdowns": self._breakdowns()} if self.breakdowns else {}),
            "seconds": round(self.seconds, 3),
        }

    def _breakdowns(self) -> dict[str, dict[str, int]]:
        return {key: dict(sorted(self.breakdowns[key].items())) for key in sorted(self.breakdowns)}
