"""Readers of raw query logs (JSONL, CSV, Parquet), streaming in record batches.

Each reader takes the fast columnar path (pyarrow) on clean data and falls back to line-by-line
parsing only for the chunk that holds a problem, so one bad line costs itself, never its file.
"""

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import orjson
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from honkdata.ingest.source import SourceContext
from honkdata.ingest.text import decode_line
from honkdata.ingest.timestamps import parse_timestamps
from honkdata.schema import RAW_FIELDS, RECORD

CHUNK_BYTES = 8 << 20
_STRING_FIELDS = tuple(f for f in RAW_FIELDS if f != "ts")


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing `.gz` on the fly."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def iter_line_chunks(
    path: Path, ctx: SourceContext, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the chunk's first line, bytes of whole lines) without holding the file.

    A file that breaks off (a truncated .gz) keeps every whole line read before the break.
    """
    line, pending, broken = 1, b"", None
    with open_binary(path) as f:
        while True:
            try:
                piece = f.read1(chunk_bytes)
            except (OSError, EOFError) as e:
                broken = e
                piece = b""
            if piece and len(pending) + len(piece) < chunk_bytes:
                pending += piece
                continue
            pending += piece
            cut = pending.rfind(b"\n") + 1 if piece or broken else len(pending)
            if cut:
                yield line, pending[:cut]
                line += pending.count(b"\n", 0, cut)
                pending = pending[cut:]
            if not piece:
                break
    if broken is not None:  # the cut-off last line goes to quarantine with the reason
        ctx.reject(line, f"unreadable file: {broken}", pending)


def json_objects(chunk: bytes, first_line: int, ctx: SourceContext) -> Iterator[tuple[int, dict, str]]:
    """(line number, object, line text) for each JSON-object line; every other line is quarantined."""
    for offset, raw in enumerate(chunk.split(b"\n")):
        line = first_line + offset
        raw = raw.rstrip(b"\r")
        if not raw.strip() or (text := _usable_line(raw, line, ctx)) is None:
            continue
        try:
            record = orjson.loads(text)
        except orjson.JSONDecodeError:
            ctx.reject(line, "invalid JSON", text)
            continue
        if not isinstance(record, dict):
            ctx.reject(line, "JSON line is not an object", text)
            continue
        yield line, record, text


def iter_json_lines(path: Path, ctx: SourceContext) -> Iterator[tuple[int, dict, str]]:
    for first_line, chunk in iter_line_chunks(path, ctx):
        yield from json_objects(chunk, first_line, ctx)


def to_record_batch(
    columns: dict[str, pa.Array | list], lines: pa.Array, ctx: SourceContext
) -> pa.RecordBatch:
    """Assemble the canonical record from raw columns (any may be missing)."""
    n = len(lines)
    out: dict[str, pa.Array] = {}
    for name in _STRING_FIELDS:
        values = columns.get(name)
        if values is None:
            out[name] = pa.nulls(n, pa.string())
        elif isinstance(values, pa.Array):
            out[name] = values.cast(pa.string())
        else:
            out[name] = pa.array(values, type=pa.string())
    ts = columns.get("ts")
    if ts is None:
        out["ts"] = pa.nulls(n, RECORD.field("ts").type)
    else:
        out["ts"], invalid = parse_timestamps(ts)
        ctx.ts_invalid += invalid
    out["intent"] = pa.nulls(n, pa.string())
    out["entities"] = pa.nulls(n, RECORD.field("entities").type)
    out["source"] = pa.array([ctx.name] * n, pa.string())
    out["line"] = lines.cast(pa.int64())
    return pa.RecordBatch.from_pydict(out, schema=RECORD)


def _scalar_text(value: object) -> str | None:
    """A raw field as text; numbers are fine (user ids often are, and "1999" is a song)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _usable_line(raw: bytes, line: int, ctx: SourceContext) -> str | None:
    """The decoded line, or None after quarantining it. Blank lines are skipped silently."""
    if len(raw) > ctx.max_line_bytes:
        ctx.reject(line, f"line longer than {ctx.max_line_bytes} bytes", raw[:4096])
        return None
    if b"\x00" in raw:
        ctx.reject(line, "NUL byte in line", raw.replace(b"\x00", b"\\0"))
        return None
    text, repaired = decode_line(raw)
    ctx.rows_repaired += repaired
    return text


def _parse_jsonl_slowly(chunk: bytes, first_line: int, ctx: SourceContext) -> pa.RecordBatch:
    rows: dict[str, list] = {name: [] for name in RAW_FIELDS}
    lines: list[int] = []
    for line, record, text in json_objects(chunk, first_line, ctx):
        query = _scalar_text(record.get("query"))
        if query is None:
            ctx.reject(line, "missing query" if record.get("query") is None else "query is not text", text)
            continue
        rows["query"].append(query)
        for name in RAW_FIELDS[1:]:
            value = record.get(name)
            rows[name].append(value if name == "ts" else _scalar_text(value))
        lines.append(line)
    return to_record_batch(rows, pa.array(lines, pa.int64()), ctx)


def _parse_jsonl_fast(chunk: bytes, first_line: int, ctx: SourceContext) -> pa.RecordBatch | None:
    """Columnar parse of a clean chunk; None when anything needs the careful path."""
    if len(chunk) > ctx.max_line_bytes and max(map(len, chunk.split(b"\n"))) > ctx.max_line_bytes:
        return None
    if b"\x00" in chunk or b"\n\n" in chunk or chunk.startswith(b"\n"):
        return None
    try:
        chunk.decode("utf-8")
        schema = pa.schema([(name, pa.string()) for name in RAW_FIELDS])
        table = pjson.read_json(
            io.BytesIO(chunk),
            parse_options=pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except (UnicodeDecodeError, pa.ArrowInvalid):
        return None
    n_lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
    if table.num_rows != n_lines or table["query"].null_count:
        return None
    lines = pa.array(range(first_line, first_line + n_lines), pa.int64())
    columns = {name: table[name].combine_chunks() for name in RAW_FIELDS}
    return to_record_batch(columns, lines, ctx)


def read_jsonl(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    for first_line, chunk in iter_line_chunks(path, ctx):
        batch = _parse_jsonl_fast(chunk, first_line, ctx)
        yield batch if batch is not None else _parse_jsonl_slowly(chunk, first_line, ctx)


def _reject_all(batches: Iterator[pa.RecordBatch], first_line: int, reason: str, ctx: SourceContext) -> None:
    line = first_line
    for batch in batches:
        for row in batch.to_pylist():
            ctx.reject(line, reason, orjson.dumps(row, default=str).decode())
            line += 1


class _CleanLines(io.RawIOBase):
    """A file whose unusable lines (NUL bytes, overlong) are blanked, and bad UTF-8 repaired.

    pyarrow's CSV reader requires valid UTF-8 for the whole stream; this keeps physical line
    numbers intact while quarantining what cannot be parsed.
    """

    def __init__(self, path: Path, ctx: SourceContext) -> None:
        self._chunks = iter_line_chunks(path, ctx)
        self._ctx = ctx
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def _clean(self, first_line: int, chunk: bytes) -> bytes:
        if b"\x00" not in chunk and len(chunk) <= self._ctx.max_line_bytes:
            try:
                chunk.decode("utf-8")
                return chunk
            except UnicodeDecodeError:
                pass
        out = []
        for offset, raw in enumerate(chunk.split(b"\n")):
            text = _usable_line(raw, first_line + offset, self._ctx) if raw else ""
            out.append((text or "").encode("utf-8"))
        return b"\n".join(out)

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        while not self._buffer:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buffer = self._clean(*nxt)
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def read_csv(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    delimiter = "\t" if path.name.removesuffix(".gz").endswith(".tsv") else ","
    stream = io.BufferedReader(_CleanLines(path, ctx))
    header = stream.peek(1 << 16).split(b"\n", 1)[0].decode("utf-8", "replace")
    names = next(csv.reader([header], delimiter=delimiter), [])
    if not names:
        return

    def invalid_row(row: pcsv.InvalidRow) -> str:
        ctx.reject(
            row.number or 0, f"expected {row.expected_columns} columns, got {row.actual_columns}", row.text
        )
        return "skip"

    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(use_threads=False, block_size=CHUNK_BYTES),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=invalid_row),
        convert_options=pcsv.ConvertOptions(column_types={name: pa.string() for name in names}),
    )
    if "query" not in names:
        _reject_all(iter(reader), 2, "CSV header has no 'query' column", ctx)
        return
    yield from _batches_with_lines(reader, ctx, first_line=2)


def _batches_with_lines(
    batches: Iterator[pa.RecordBatch], ctx: SourceContext, first_line: int
) -> Iterator[pa.RecordBatch]:
    """Number rows from `first_line` on and quarantine the rows without a query."""
    line = first_line
    for batch in batches:
        lines = pa.array(range(line, line + batch.num_rows), pa.int64())
        line += batch.num_rows
        query = batch.column("query")
        if query.null_count:
            for index in query.is_null().to_numpy(zero_copy_only=False).nonzero()[0]:
                row = {k: str(v) for k, v in batch.slice(index, 1).to_pylist()[0].items()}
                ctx.reject(int(lines[index].as_py()), "missing query", orjson.dumps(row).decode())
            keep = query.is_valid()
            batch, lines = batch.filter(keep), lines.filter(keep)
        names = set(batch.schema.names)
        yield to_record_batch({n: batch.column(n) for n in RAW_FIELDS if n in names}, lines, ctx)


def read_parquet(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        ctx.reject(0, f"unreadable Parquet file: {str(e).splitlines()[0]}", b"")
        return
    names = set(file.schema_arrow.names)
    columns = [n for n in RAW_FIELDS if n in names]
    if "query" not in names:
        _reject_all(
            file.iter_batches(batch_size=ctx.batch_rows), 1, "Parquet file has no 'query' column", ctx
        )
        return
    try:
        yield from _batches_with_lines(file.iter_batches(batch_size=ctx.batch_rows, columns=columns), ctx, 1)
    except (pa.ArrowInvalid, OSError) as e:
        ctx.reject(0, f"unreadable Parquet data: {str(e).splitlines()[0]}", b"")


RAW_READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
