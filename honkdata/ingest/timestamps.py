"""Timestamps arrive as ISO-8601 strings, epoch seconds, or worse; they leave as UTC seconds."""

from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("s", tz="UTC")


def _parse_one(value: object) -> datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    if text.lstrip("-").replace(".", "", 1).isdigit():
        return datetime.fromtimestamp(float(text), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_timestamps(values: pa.Array | list) -> tuple[pa.Array, int]:
    """Returns (timestamp[s, UTC] array, number of values that could not be read and became null).

    A bad timestamp costs the field, not the query: `ts` is optional in the raw record.
    """
    if isinstance(values, pa.Array):
        if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
            return pc.cast(values, TS), 0
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            return pc.cast(pc.cast(values, pa.int64(), safe=False), TS), 0
        try:
            return pc.cast(values, TS), 0
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = values.to_pylist()
    parsed, invalid = [], 0
    for value in values:
        try:
            parsed.append(_parse_one(value))
        except (ValueError, OverflowError, OSError):
            parsed.append(None)
            invalid += 1
    return pa.array(parsed, type=TS), invalid
