"""Timestamps are read as seconds or milliseconds by magnitude, and only inside a plausible window."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honkdata.ingest.raw import read_csv, read_jsonl, read_parquet
from honkdata.ingest.source import SourceContext
from honkdata.ingest.timestamps import Window, parse_timestamps
from honkdata.schema import RECORD
from honkdata.taxonomy import load_taxonomy

WINDOW = Window(date(2000, 1, 1), date(2030, 12, 31))
SECONDS = 1_788_300_000  # 2026-09-01T22:00:00Z
DAY = datetime.fromtimestamp(SECONDS, UTC)


def read(values: pa.Array | list, window: Window = WINDOW) -> tuple[list, int]:
    timestamps, invalid = parse_timestamps(values, window)
    assert timestamps.type == RECORD.field("ts").type
    return timestamps.to_pylist(), invalid


def test_epoch_seconds_and_milliseconds_by_magnitude() -> None:
    values = pa.array([SECONDS, SECONDS * 1000 + 999, None, 1_700_000_000], pa.int64())
    assert read(values) == ([DAY, DAY, None, datetime.fromtimestamp(1_700_000_000, UTC)], 0)
    assert read(values.cast(pa.float64())) == read(values)
    assert read(pa.array([Decimal(SECONDS)])) == ([DAY], 0)


@pytest.mark.parametrize(
    "value",
    [
        1_704_067_200_000_000,  # microseconds: the year 55,970 when read as milliseconds
        -113_198_745_600_000,  # far before 2000
        946_684_799,  # one second before the window opens
        1_924_992_000,  # the day after the window closes (2031-01-01)
        2**62,
        0,
    ],
)
def test_numbers_outside_the_window_are_unreadable(value: int) -> None:
    assert read(pa.array([value, SECONDS], pa.int64())) == ([None, DAY], 1)
    assert read([value, SECONDS]) == ([None, DAY], 1)


def test_the_window_bounds_are_whole_utc_days() -> None:
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)
    values = [int(start.timestamp()), int((end - timedelta(seconds=1)).timestamp()), int(end.timestamp())]
    assert read(values) == ([start, end - timedelta(seconds=1), None], 1)


def test_default_window_ends_one_day_after_today() -> None:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert Window.of(date(2000, 1, 1), None) == Window(date(2000, 1, 1), tomorrow)
    in_two_days = datetime.now(UTC) + timedelta(days=2, hours=1)
    assert read([int(in_two_days.timestamp())], Window.of(date(2000, 1, 1), None)) == ([None], 1)


def test_booleans_and_objects_are_no_timestamps() -> None:
    assert read(pa.array([True, False, None])) == ([None, None, None], 2)
    assert read([True, {"s": SECONDS}, [SECONDS], None, SECONDS]) == ([None] * 4 + [DAY], 3)


def test_temporal_columns_are_checked_too() -> None:
    far = pa.array([1_704_067_200_000_000, SECONDS], pa.timestamp("s"))  # year 55,970
    assert read(far) == ([None, DAY], 1)
    millis = pa.array([SECONDS * 1000 + 500, None], pa.timestamp("ms", tz="Europe/Paris"))
    assert read(millis) == ([DAY, None], 0)
    days = pa.array([date(2026, 9, 2), date(1900, 1, 1)])
    assert read(days) == ([datetime(2026, 9, 2, tzinfo=UTC), None], 1)


def test_strings_iso_and_epoch() -> None:
    values = [
        "2026-09-01T22:00:00Z",
        "2026-09-02T00:00:00+02:00",
        "2026-09-01T22:00:00.250Z",
        "2026-09-01 22:00:00",
        str(SECONDS),
        f" {SECONDS * 1000} ",
        "",  # an empty CSV cell: missing, not unreadable
        None,
        "yesterday",
        "55970-01-01",
        "true",
        "99999999999999999999999",
    ]
    expected = [DAY] * 6 + [None] * 6
    assert read(pa.array(values)) == (expected, 4)
    assert read(values) == (expected, 4)


def test_a_clean_string_column_is_read_column_wise(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_python(text: str) -> float:
        raise AssertionError("value-by-value fallback on a clean column")

    monkeypatch.setattr("honkdata.ingest.timestamps._iso_seconds", no_python)
    for values in (["2026-09-01T22:00:00Z", "1990-01-01T00:00:00Z"], [str(SECONDS), "2026-09-02"]):
        assert read(pa.array(values))[0][0] == DAY


# Every reader, every path: the same values give the same timestamps and the same count.
TS_VALUES = [SECONDS, SECONDS * 1000, 1_704_067_200_000_000, -5, None]
EXPECTED = [DAY, DAY, None, None, None]


@pytest.fixture
def ctx() -> SourceContext:
    return SourceContext(name="t", taxonomy=load_taxonomy(), on_reject=lambda *_: None, ts_window=WINDOW)


def ts_of(batches: list[pa.RecordBatch]) -> list:
    return pa.Table.from_batches(batches, schema=RECORD).column("ts").to_pylist()


def test_jsonl_fast_and_slow_paths(tmp_path: Path, ctx: SourceContext) -> None:
    as_text = tmp_path / "text.jsonl"  # every value a string: the columnar path
    lines = [f'{{"query": "q", "ts": "{v}"}}\n' if v is not None else '{"query": "q"}\n' for v in TS_VALUES]
    as_text.write_text("".join(lines))
    assert ts_of(list(read_jsonl(as_text, ctx))) == EXPECTED and ctx.ts_invalid == 2
    as_numbers = tmp_path / "numbers.jsonl"  # JSON numbers and a boolean: the line-by-line path
    lines = [f'{{"query": "q", "ts": {"null" if v is None else v}}}\n' for v in TS_VALUES]
    as_numbers.write_text("".join([*lines, '{"query": "q", "ts": true}\n']))
    assert ts_of(list(read_jsonl(as_numbers, ctx))) == [*EXPECTED, None] and ctx.ts_invalid == 2 + 3


def test_csv(tmp_path: Path, ctx: SourceContext) -> None:
    path = tmp_path / "a.csv"
    path.write_text("query,ts\n" + "".join(f"q,{'' if v is None else v}\n" for v in TS_VALUES))
    assert ts_of(list(read_csv(path, ctx))) == EXPECTED and ctx.ts_invalid == 2


@pytest.mark.parametrize(
    "column",
    [
        pa.array(TS_VALUES, pa.int64()),
        pa.array(TS_VALUES, pa.float64()),
        pa.array([None if v is None else str(v) for v in TS_VALUES]),
        pa.array(TS_VALUES[:1] * 2 + TS_VALUES[2:], pa.timestamp("s")),
    ],
    ids=["int", "float", "string", "timestamp"],
)
def test_parquet_columns(tmp_path: Path, ctx: SourceContext, column: pa.Array) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"query": ["q"] * len(column), "ts": column}), path)
    assert ts_of(list(read_parquet(path, ctx))) == EXPECTED and ctx.ts_invalid == 2


def test_parquet_boolean_column(tmp_path: Path, ctx: SourceContext) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"query": ["a", "b"], "ts": [True, None]}), path)
    assert ts_of(list(read_parquet(path, ctx))) == [None, None] and ctx.ts_invalid == 1
