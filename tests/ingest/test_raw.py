import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honkdata.ingest.raw import (
    iter_line_chunks,
    line_runs,
    read_csv,
    read_jsonl,
    read_parquet,
    row_group_runs,
)
from honkdata.schema import RECORD
from tests.conftest import damage_row_group, write_jsonl


def read_all(reader, path: Path, ctx) -> pa.Table:
    batches = list(reader(path, ctx))
    return pa.Table.from_batches(batches, schema=RECORD)


def quarantined(ctx) -> list[dict]:
    path = ctx.on_reject.__self__.path
    ctx.on_reject.__self__.close()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_jsonl_clean_file_reads_every_field(tmp_path, ctx, events):
    table = read_all(read_jsonl, write_jsonl(tmp_path / "a.jsonl", events), ctx)
    assert table.column("query").to_pylist() == [e["query"] for e in events]
    assert table.column("user_id").to_pylist()[3] == "42"
    assert table.column("line").to_pylist() == [1, 2, 3, 4, 5, 6]
    ts = table.column("ts").to_pylist()
    assert ts[0].isoformat() == "2026-09-01T10:00:00+00:00"
    assert ts[1].timestamp() == 1788300000
    assert ts[2].isoformat() == "2026-09-03T06:00:00+00:00"
    assert table.column("locale").to_pylist()[3] == "en-GB"
    assert ctx.rows_rejected == 0


def test_jsonl_bad_lines_are_quarantined_and_the_rest_is_kept(tmp_path, ctx):
    lines = [
        b'{"query": "play abba", "user_id": "u1"}',
        b"{not json",
        b'{"user_id": "u2"}',
        b'["a list"]',
        b'{"query": {"nested": 1}}',
        b'{"query": "nul \x00 byte"}',
        b'{"query": "caf\xe9 del mar", "user_id": "u3"}',  # cp1252 byte: repaired, kept
        b"",
        b'{"query": 1999, "user_id": 7}',  # a number is a fine query (a Prince song)
        b'{"query": "' + b"x" * 2_000_100 + b'"}',
        b'{"query": "last line without newline"}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines))
    table = read_all(read_jsonl, path, ctx)
    assert table.column("query").to_pylist() == [
        "play abba",
        "café del mar",
        "1999",
        "last line without newline",
    ]
    assert table.column("line").to_pylist() == [1, 7, 9, 11]
    rejects = quarantined(ctx)
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (2, "invalid JSON"),
        (3, "missing query"),
        (4, "JSON line is not an object"),
        (5, "query is not text"),
        (6, "NUL byte in line"),
        (10, "line longer than 1000000 bytes"),
    ]
    # The head is kept, and the length of the whole line, not of the head.
    assert len(rejects[-1]["raw"]) == 2000 and rejects[-1]["raw_chars"] == len(lines[9])
    assert ctx.rows_rejected == 6 and ctx.rows_repaired == 1


def test_jsonl_gzip_and_chunk_boundaries(tmp_path, ctx, events):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt") as f:
        for i in range(5000):
            f.write(json.dumps({"query": f"play song number {i}", "user_id": f"u{i}"}) + "\n")
    chunks = list(iter_line_chunks(path, ctx, chunk_bytes=4096))
    assert len(chunks) > 10 and all(c.endswith(b"\n") for _, c in chunks)
    assert sum(c.count(b"\n") for _, c in chunks) == 5000
    table = read_all(read_jsonl, path, ctx)
    assert table.num_rows == 5000 and table.column("line").to_pylist()[-1] == 5000


@pytest.mark.parametrize("size", [1, 17, 60, 10**6])
def test_line_runs_cover_a_file_in_whole_lines_each_numbered_from_its_first(tmp_path, size):
    path = tmp_path / "log.jsonl"
    data = b"\xef\xbb\xbf" + b"".join(b'{"query": "play song %d"}\n' % i for i in range(40))
    path.write_bytes(data + b'{"query": "' + b"x" * 100 + b'"}\n{"query": "no newline"}')
    runs = line_runs(path, size)
    whole = path.read_bytes()
    assert b"".join(whole[r.start : r.end] for r in runs) == whole
    assert all(whole[r.end - 1 : r.end] == b"\n" for r in runs[:-1])  # whole lines only
    assert [r.first for r in runs] == [1 + whole.count(b"\n", 0, r.start) for r in runs]
    assert (len(runs) == 1) == (size >= len(whole)) and (size > 1 or len(runs) == 42)  # 1: a run a line


def test_a_run_of_lines_reads_as_those_lines_of_the_whole_file(tmp_path, ctx):
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"".join(b'{"query": "play song %d"}\n' % i for i in range(1, 101)))
    runs = line_runs(path, 300)
    rows = [row for run in runs for row in pa.Table.from_batches(read_jsonl(path, ctx, run)).to_pylist()]
    assert len(runs) > 5 and rows == read_all(read_jsonl, path, ctx).to_pylist()
    assert [r["line"] for r in rows] == list(range(1, 101))


def _grouped_parquet(path: Path, rows: int = 100, group_rows: int = 10) -> Path:
    """A Parquet log of `rows` queries in row groups of `group_rows`; every 7th query is missing."""
    queries = [None if i % 7 == 3 else f"play song {i}" for i in range(rows)]
    pq.write_table(
        pa.table({"query": queries, "user_id": [f"u{i}" for i in range(rows)]}),
        path,
        row_group_size=group_rows,
    )
    return path


@pytest.mark.parametrize("size", [1, 500, 2_000, 10**6])
def test_row_group_runs_cover_a_parquet_file_in_whole_groups_each_numbered_from_its_first_row(tmp_path, size):
    path = _grouped_parquet(tmp_path / "log.parquet")
    runs = row_group_runs(path, size)
    assert [r.start for r in runs] == [0, *(r.end for r in runs[:-1])] and runs[-1].end == 10
    assert [r.first for r in runs] == [1 + 10 * r.start for r in runs]
    assert len(runs) == {1: 10, 10**6: 1}.get(size, len(runs)) and (size < 10**6) == (len(runs) > 1)


@pytest.mark.parametrize("content", [b"", b"PAR1garbagePAR1", b"PAR1" + b"x" * 300 + b"\x10\x00\x00\x00PAR1"])
def test_a_parquet_file_whose_footer_does_not_read_has_no_runs(tmp_path, content):
    path = tmp_path / "broken.parquet"
    path.write_bytes(content)
    assert row_group_runs(path, 1) == []  # read whole, it is quarantined as one entry


def test_runs_of_row_groups_read_as_the_whole_parquet_file_with_its_rejects(tmp_path, ctx):
    path = _grouped_parquet(tmp_path / "log.parquet")
    whole = read_all(read_parquet, path, ctx).to_pylist()
    rows = [
        row
        for run in row_group_runs(path, 1)
        for row in pa.Table.from_batches(read_parquet(path, ctx, run)).to_pylist()
    ]
    assert rows == whole and [r["line"] for r in rows] == [i + 1 for i in range(100) if i % 7 != 3]
    rejects = quarantined(ctx)
    assert [r["line"] for r in rejects] == 2 * [i + 1 for i in range(100) if i % 7 == 3]  # once per read


def test_a_damaged_row_group_costs_its_own_rows_not_the_rest_of_the_file(tmp_path, ctx):
    path = _grouped_parquet(tmp_path / "log.parquet")
    damage_row_group(path, 4)
    lines = read_all(read_parquet, path, ctx).column("line").to_pylist()
    assert lines == [i + 1 for i in range(100) if i % 7 != 3 and not 40 <= i < 50]
    (damaged,) = [r for r in quarantined(ctx) if r["reason"] != "missing query"]
    assert damaged["line"] == 41 and damaged["reason"].startswith("unreadable Parquet data in row group 4: ")


def test_empty_file_yields_nothing(tmp_path, ctx):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert read_all(read_jsonl, path, ctx).num_rows == 0
    assert ctx.rows_rejected == 0


def test_csv_reads_rows_with_line_numbers(tmp_path, ctx):
    path = tmp_path / "a.csv"
    path.write_text(
        'query,user_id,ts,extra\nplay abba,u1,2026-09-01T10:00:00Z,x\n"play ""hello"", adele",u2,,y\n'
    )
    table = read_all(read_csv, path, ctx)
    assert table.column("query").to_pylist() == ["play abba", 'play "hello", adele']
    assert table.column("line").to_pylist() == [2, 3]
    assert table.column("ts").to_pylist()[1] is None


def test_csv_bad_rows_quarantined(tmp_path, ctx):
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"query,user_id\nplay abba,u1\ntoo,many,columns\ncaf\xe9 del mar,u2\nnul\x00here,u3\n,u4\nskip,u5\n"
    )
    table = read_all(read_csv, path, ctx)
    # An empty query is kept here: the normalize stage drops it, with its own counter.
    assert table.column("query").to_pylist() == ["play abba", "café del mar", "", "skip"]
    assert sorted(r["reason"] for r in quarantined(ctx)) == ["NUL byte in line", "expected 2 columns, got 3"]
    assert ctx.rows_repaired == 1


def test_csv_with_the_wrong_header_rejects_every_row(tmp_path, ctx):
    path = tmp_path / "a.csv"
    path.write_text("text,user\nplay abba,u1\nskip,u2\n")
    assert read_all(read_csv, path, ctx).num_rows == 0
    rejects = quarantined(ctx)
    assert [r["line"] for r in rejects] == [2, 3]
    assert {r["reason"] for r in rejects} == {"CSV header has no 'query' column"}


def test_parquet_with_numeric_ids_and_timestamps(tmp_path, ctx):
    path = tmp_path / "a.parquet"
    pq.write_table(
        pa.table(
            {"query": ["play abba", None, "skip"], "user_id": [1, 2, 3], "ts": [1788300000, 0, 1788300001]}
        ),
        path,
    )
    table = read_all(read_parquet, path, ctx)
    assert table.column("query").to_pylist() == ["play abba", "skip"]
    assert table.column("user_id").to_pylist() == ["1", "3"]
    assert table.column("line").to_pylist() == [1, 3]
    assert [r["reason"] for r in quarantined(ctx)] == ["missing query"]


@pytest.mark.parametrize("content", [b"", b"not a parquet file at all", b"PAR1garbagePAR1"])
def test_corrupt_parquet_is_one_reject(tmp_path, ctx, content):
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    assert read_all(read_parquet, path, ctx).num_rows == 0
    assert ctx.rows_rejected == 1
    assert quarantined(ctx)[0]["reason"].startswith("unreadable Parquet")


def test_csv_with_a_byte_order_mark(tmp_path, ctx):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfquery,user_id\r\nplay abba,u1\r\nskip,u2\r\n")
    table = read_all(read_csv, path, ctx)
    assert table.column("query").to_pylist() == ["play abba", "skip"]
    assert table.column("user_id").to_pylist() == ["u1", "u2"]
    assert table.column("line").to_pylist() == [2, 3] and ctx.rows_rejected == 0


def test_jsonl_with_a_byte_order_mark_on_the_line_by_line_path(tmp_path, ctx):
    path = tmp_path / "notepad.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"query": "play abba"}\n{"query": "skip"}\n{broken\n')
    assert read_all(read_jsonl, path, ctx).column("query").to_pylist() == ["play abba", "skip"]
    assert [(r["line"], r["reason"]) for r in quarantined(ctx)] == [(3, "invalid JSON")]


def test_csv_lines_are_physical_after_multiline_fields_blank_lines_and_bad_rows(tmp_path, ctx):
    path = tmp_path / "a.csv"
    path.write_text(
        "query,user_id\n"  # 1
        '"play\nsomething\nlong",u1\n'  # 2-4
        "too,many,columns\n"  # 5
        "\n"  # 6
        '"a ""quoted""\n\nsong",u2\n'  # 7-9: a blank line inside a value is part of it
        '"bad\nrow",x,y\n'  # 10-11
        "skip,u3\n"  # 12
        "last,u4,extra\n"  # 13
    )
    table = read_all(read_csv, path, ctx)
    assert table.column("query").to_pylist() == ["play\nsomething\nlong", 'a "quoted"\n\nsong', "skip"]
    assert table.column("line").to_pylist() == [2, 7, 12]
    assert [(r["line"], r["reason"]) for r in quarantined(ctx)] == [
        (5, "expected 2 columns, got 3"),
        (10, "expected 2 columns, got 3"),
        (13, "expected 2 columns, got 3"),
    ]


def test_csv_lines_stay_physical_across_batches(tmp_path, ctx, monkeypatch):
    monkeypatch.setattr("honkdata.ingest.raw.CHUNK_BYTES", 1 << 14)  # many Arrow blocks
    text, expected, bad, line = ["query,user_id\n"], [], [], 2
    for i in range(20_000):
        if i % 500 == 250:  # a blank line, then a bad row spanning two lines
            text.append('\n"bad\nrow",u,extra\n')
            bad.append(line + 1)
            line += 3
        record = f'"query\n{i}",u{i}\n' if i % 7 == 0 else f"query {i},u{i}\n"
        text.append(record)
        expected.append(line)
        line += record.count("\n")
    path = tmp_path / "a.csv"
    path.write_text("".join(text))
    batches = list(read_csv(path, ctx))
    assert len(batches) > 10
    assert pa.Table.from_batches(batches).column("line").to_pylist() == expected
    assert [r["line"] for r in quarantined(ctx)] == bad


def test_csv_bad_rows_are_quarantined_at_their_own_line(tmp_path, ctx):
    path = tmp_path / "a.csv"
    path.write_bytes(b"query,user_id\nplay abba,u1\ntoo,many,columns\nnul\x00here,u3\n,u4\nskip,u5\n")
    table = read_all(read_csv, path, ctx)
    assert table.column("line").to_pylist() == [2, 5, 6]
    assert [(r["line"], r["reason"]) for r in quarantined(ctx)] == [
        (4, "NUL byte in line"),
        (3, "expected 2 columns, got 3"),
    ]


def test_csv_without_query_column_rejects_rows_at_their_lines(tmp_path, ctx):
    path = tmp_path / "a.csv"
    path.write_text('text,user\n"play\nabba",u1\n\nskip,u2\n')
    assert read_all(read_csv, path, ctx).num_rows == 0
    assert [r["line"] for r in quarantined(ctx)] == [2, 5]


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("query", pa.array([["play", "abba"], None])),
        ("query", pa.array([{"text": "play abba"}, None])),
        ("query", pa.array([True, None])),
        ("user_id", pa.array([{"id": 1}, {"id": 2}])),
    ],
    ids=["list", "struct", "bool", "struct-user-id"],
)
def test_parquet_column_that_is_not_text_quarantines_its_rows(tmp_path, ctx, column, values):
    data = {"query": ["play abba", "skip"], "user_id": ["u1", "u2"], column: values}
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table(data), path)
    assert read_all(read_parquet, path, ctx).num_rows == 0
    rejects = quarantined(ctx)
    assert [r["line"] for r in rejects] == [1, 2]
    (reason,) = {r["reason"] for r in rejects}
    assert reason.startswith(f"Parquet column '{column}' is ") and reason.endswith(", not text")


def test_parquet_dictionary_strings_are_text(tmp_path, ctx):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"query": pa.array(["play abba", "skip"]).dictionary_encode()}), path)
    assert read_all(read_parquet, path, ctx).column("query").to_pylist() == ["play abba", "skip"]


def test_a_rejected_line_is_not_counted_as_repaired(tmp_path, ctx):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"query": "caf\xe9"\n{"user_id": "caf\xe9"}\n{"query": "caf\xe9"}\n')
    assert read_all(read_jsonl, path, ctx).column("query").to_pylist() == ["café"]
    assert (ctx.rows_rejected, ctx.rows_repaired) == (2, 1)
    csv_path = tmp_path / "a.csv"
    csv_path.write_bytes(b"query,user_id\ncaf\xe9,u1,extra\ncaf\xe9,u2\n")
    csv_ctx = type(ctx)(name="csv", taxonomy=ctx.taxonomy, on_reject=lambda *_: None)
    assert read_all(read_csv, csv_path, csv_ctx).num_rows == 1
    assert (csv_ctx.rows_rejected, csv_ctx.rows_repaired) == (1, 1)


def test_bytes_that_no_repair_reads_are_quarantined_not_published_as_mojibake(tmp_path, ctx):
    path = tmp_path / "a.jsonl"
    path.write_bytes(
        b'{"query": "caf\xc3\xa9 and caf\xe9"}\n'  # UTF-8 beside a cp1252 byte
        + '{"query": "プレイリスト"}\n'.encode("shift_jis")
        + b'{"query": "play abba"}\n'
    )
    table = read_all(read_jsonl, path, ctx)
    assert table.column("query").to_pylist() == ["café and café", "play abba"]
    assert [(r["line"], r["reason"]) for r in quarantined(ctx)] == [
        (2, "bytes are not UTF-8 and no repair reads as text")
    ]
    assert ctx.rows_repaired == 1
