"""Timestamps arrive as ISO-8601 strings, epoch seconds or milliseconds, or worse; they leave as UTC
seconds inside a plausible window, or null.

Everything is first read as epoch seconds (float64), column-wise; only a string column that no Arrow
cast reads whole falls back to Python, value by value. Then one window check: a date in the year
55,970 is not a reading of the log but a misreading (milliseconds taken for seconds, a sentinel), and
pandas cannot even load it.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("s", tz="UTC")

# Epoch numbers this large are milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
MS_FROM = 1e11

# Whole or decimal epoch numbers in text; the digit bound keeps Arrow's float cast from failing.
_NUMBER = r"^[+-]?\d{1,20}(\.\d{0,20})?$"

# Arrow casts tried in order on a whole string column: zoned ISO-8601 (the common case), zoned with
# fractions, then naive date-times and dates, read as UTC.
_STRING_CASTS = (TS, pa.timestamp("ns", tz="UTC"), pa.timestamp("s"), pa.timestamp("ns"))


@dataclass(frozen=True)
class Window:
    """Readable timestamps: from the start of `earliest` to the end of `latest` (UTC days)."""

    earliest: date
    latest: date

    @classmethod
    def of(cls, earliest: date, latest: date | None) -> "Window":
        """`latest` None: one day after today, so logs written today in any time zone are readable."""
        return cls(earliest, latest or datetime.now(UTC).date() + timedelta(days=1))

    def bounds(self) -> tuple[float, float]:
        """(first, last) readable epoch second."""
        start = datetime.combine(self.earliest, time.min, tzinfo=UTC)
        return start.timestamp(), datetime.combine(self.latest, time.max, tzinfo=UTC).timestamp()


def _epoch_numbers(numbers: pa.Array) -> pa.Array:
    """Epoch seconds of float64 epoch numbers, in seconds or milliseconds by their magnitude."""
    is_ms = pc.greater_equal(pc.abs(numbers), MS_FROM)
    return pc.if_else(is_ms, pc.divide(numbers, 1000.0), numbers)


def _temporal_seconds(values: pa.Array) -> pa.Array:
    """Epoch seconds of a timestamp or date column (a naive timestamp is read as UTC)."""
    tz = values.type.tz if pa.types.is_timestamp(values.type) else None
    seconds = pc.cast(values, pa.timestamp("s", tz=tz), safe=False)
    return pc.cast(pc.cast(seconds, pa.int64()), pa.float64())


def _iso_seconds(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed).timestamp()


def _cast_seconds(text: pa.Array) -> pa.Array | None:
    """Epoch seconds of a column of ISO-8601 strings by the first Arrow cast that reads it whole."""
    for target in _STRING_CASTS:
        try:
            return _temporal_seconds(pc.cast(text, target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _string_seconds(text: pa.Array) -> pa.Array:
    """Epoch seconds of non-blank strings: ISO-8601 or epoch numbers."""
    if (seconds := _cast_seconds(text)) is not None:
        return seconds
    numeric = pc.match_substring_regex(text, _NUMBER)
    numbers = _epoch_numbers(pc.cast(pc.if_else(numeric, text, None), pa.float64()))
    others = pc.if_else(numeric, None, text)
    if others.null_count == len(others):
        return numbers
    if (seconds := _cast_seconds(others)) is None:
        seconds = pa.array([None if v is None else _iso_seconds(v) for v in others.to_pylist()], pa.float64())
    return pc.coalesce(numbers, seconds)


def _array_seconds(values: pa.Array) -> tuple[pa.Array, int]:
    """(epoch seconds, number of values present) of one column of any type."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        return _array_seconds(values.dictionary_decode())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        text = pc.utf8_trim_whitespace(values.cast(pa.string()))
        text = pc.if_else(pc.equal(text, ""), None, text)  # an empty CSV cell is no timestamp
        return _string_seconds(text), len(text) - text.null_count
    present = len(values) - values.null_count
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _temporal_seconds(values), present
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _epoch_numbers(pc.cast(values, pa.float64(), safe=False)), present
    return pa.nulls(len(values), pa.float64()), present  # booleans, lists, structs: no timestamps


def _json_number(value: object) -> float | None:
    """A JSON number as a float; None for anything else (a boolean is no number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) < 1e300:
        return None  # abs() < 1e300 also keeps NaN, infinities and ints beyond float out
    return float(value)


def _python_seconds(values: list) -> tuple[pa.Array, int]:
    """The same for the values of parsed JSON: numbers, strings, and anything else."""
    numbers = [_json_number(v) for v in values]
    strings = [v if isinstance(v, str) else None for v in values]
    text_seconds, text_present = _array_seconds(pa.array(strings, pa.string()))
    present = sum(v is not None and not isinstance(v, str) for v in values) + text_present
    return pc.coalesce(_epoch_numbers(pa.array(numbers, pa.float64())), text_seconds), present


def parse_timestamps(values: pa.Array | list, window: Window) -> tuple[pa.Array, int]:
    """Returns (timestamp[s, UTC] array, number of values present that could not be read).

    A value is unreadable when it is no timestamp (a boolean, an object, bad text) or falls outside
    `window`; it becomes null. A bad timestamp costs the field, not the query: `ts` is optional.
    """
    seconds, present = _python_seconds(values) if isinstance(values, list) else _array_seconds(values)
    first, last = window.bounds()
    readable = pc.and_(pc.greater_equal(seconds, first), pc.less_equal(seconds, last))  # NaN is neither
    kept = pc.if_else(readable, pc.floor(seconds), None)
    timestamps = pc.cast(pc.cast(kept, pa.int64()), TS)
    return timestamps, present - (len(timestamps) - timestamps.null_count)
