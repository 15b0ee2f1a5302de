"""Readers of raw query logs (JSONL, CSV, Parquet), streaming in record batches.

Each reader takes the fast columnar path (pyarrow) on clean data and falls back to line-by-line
parsing only for the chunk that holds a problem, so one bad line costs itself, never its file.
"""

import csv
import gzip
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from honkdata.ingest.source import SourceContext
from honkdata.ingest.text import UNREADABLE, decode_line, strip_bom
from honkdata.ingest.timestamps import parse_timestamps
from honkdata.schema import RAW_FIELDS, RECORD

# A JSONL chunk is one batch, about 90,000 events of a typical log. Every batch stage works once per
# distinct value in a batch (query, user id): twice the 8 MB of before cut the distinct values per
# event by a tenth and a 3M-event build by 9 %, for about 80 MB more per process.
CHUNK_BYTES = 16 << 20
_COUNT_BYTES = 16 << 20  # bytes per read when the lines of a run are counted
_STRING_FIELDS = tuple(f for f in RAW_FIELDS if f != "ts")


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing `.gz` on the fly."""
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


@dataclass(frozen=True)
class LineRun:
    """Whole lines of a plain (not compressed) file, to read apart from the rest: its bytes
    [start, end), the first of them line number `first`."""

    start: int
    end: int
    first: int


@dataclass(frozen=True)
class RowGroupRun:
    """Whole row groups of a Parquet file, to read apart from the rest: groups [start, end), the first
    of their rows line number `first` (a Parquet file's rows are numbered as its lines would be)."""

    start: int
    end: int
    first: int


# A part of one file that a reader can start at: what `Ingest.parts` hands a distributed engine.
Run = LineRun | RowGroupRun


def line_runs(path: Path, size: int) -> list[LineRun]:
    """The file in runs of whole lines of about `size` bytes (a longer line is a run of its own), in
    order, each with the number of its first line: one pass over the file, counting newlines."""
    total = path.stat().st_size
    cuts = [0]
    with open(path, "rb") as f:
        while cuts[-1] + size < total:
            f.seek(cuts[-1] + size - 1)
            offset = f.tell()
            while (block := f.read(1 << 16)) and (newline := block.find(b"\n")) < 0:
                offset += len(block)
            if not block:
                break  # the last line has no newline: it ends the last run
            cuts.append(offset + newline + 1)
        cuts.append(total)
        runs, first = [], 1
        for start, end in itertools.pairwise(cuts):
            if start == end:
                continue  # the file ends with the last cut
            runs.append(LineRun(start, end, first))
            f.seek(start)
            for _ in range(start, end, _COUNT_BYTES):
                first += f.read(min(_COUNT_BYTES, end - f.tell())).count(b"\n")
    return runs


def iter_line_chunks(
    path: Path, ctx: SourceContext, chunk_bytes: int = CHUNK_BYTES, run: LineRun | None = None
) -> Iterator[tuple[int, bytes]]:
    """Yield (number of the chunk's first line, bytes of whole lines) without holding the file; with
    `run`, of those lines only.

    A UTF-8 byte-order mark (Excel writes one) is dropped. A file that breaks off (a truncated .gz)
    keeps every whole line read before the break.
    """
    start, left, line = (run.start, run.end - run.start, run.first) if run else (0, -1, 1)
    pending, broken, started = b"", None, start > 0  # a mark only where the file starts
    with open_binary(path) as f:
        f.seek(start)
        while True:
            try:
                piece = f.read1(chunk_bytes if left < 0 else min(chunk_bytes, left))
            except (OSError, EOFError) as e:
                broken = e
                piece = b""
            left -= len(piece) if left > 0 else 0
            if piece and len(pending) + len(piece) < chunk_bytes:
                pending += piece
                continue
            pending += piece
            if not started:
                pending, started = strip_bom(pending), True
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
        ctx.settle(first_line + chunk.count(b"\n"))  # the caller is done with the chunk's objects


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
        out["ts"], invalid = parse_timestamps(ts, ctx.ts_window)
        ctx.ts_invalid += invalid
    out["intent"] = pa.nulls(n, pa.string())
    out["entities"] = pa.nulls(n, RECORD.field("entities").type)
    out["source"] = pa.array([ctx.name] * n, pa.string())
    out["line"] = lines.cast(pa.int64())
    for name in ("source_split", "source_intent", "source_entities"):  # public formats only
        out[name] = pa.nulls(n, RECORD.field(name).type)
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
        ctx.reject(line, f"line longer than {ctx.max_line_bytes} bytes", raw)
        return None
    if b"\x00" in raw:
        ctx.reject(line, "NUL byte in line", raw.replace(b"\x00", b"\\0"))
        return None
    decoded = decode_line(raw)
    if not decoded.readable:
        ctx.reject(line, UNREADABLE, raw)
        return None
    if decoded.repaired:
        ctx.repaired(line)
    return decoded.text


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
    lengths = _line_lengths(chunk)
    if not len(lengths) or lengths.max() > ctx.max_line_bytes or not lengths.min() or b"\x00" in chunk:
        return None  # overlong or blank lines, NUL bytes
    try:
        # Arrow's cast checks UTF-8 without decoding into a Python string.
        pa.array([chunk], pa.binary()).cast(pa.string())
        schema = pa.schema([(name, pa.string()) for name in RAW_FIELDS])
        table = pjson.read_json(
            io.BytesIO(chunk),
            parse_options=pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        )
    except pa.ArrowInvalid:
        return None
    if table.num_rows != len(lengths) or table["query"].null_count:
        return None
    lines = pa.array(range(first_line, first_line + len(lengths)), pa.int64())
    columns = {name: table[name].combine_chunks() for name in RAW_FIELDS}
    return to_record_batch(columns, lines, ctx)


def _line_lengths(chunk: bytes) -> np.ndarray:
    """The length of each line of `chunk`, its newline not counted, a last line without one included;
    in one vectorized pass."""
    ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
    if chunk and not chunk.endswith(b"\n"):
        ends = np.append(ends, len(chunk))
    return np.diff(ends, prepend=-1) - 1


def _has_long_line(chunk: bytes, max_line_bytes: int) -> bool:
    return len(chunk) > max_line_bytes and int(_line_lengths(chunk).max()) > max_line_bytes


def read_jsonl(path: Path, ctx: SourceContext, run: LineRun | None = None) -> Iterator[pa.RecordBatch]:
    """The log's batches; with `run`, of those of its lines only."""
    for first_line, chunk in iter_line_chunks(path, ctx, run=run):
        batch = _parse_jsonl_fast(chunk, first_line, ctx)
        if batch is None:
            batch = _parse_jsonl_slowly(chunk, first_line, ctx)
            ctx.settle(first_line + chunk.count(b"\n"))
        yield batch


def _reject_rows(batch: pa.RecordBatch, lines: pa.Array, reason: str, ctx: SourceContext) -> None:
    for line, row in zip(lines.to_pylist(), batch.to_pylist(), strict=True):
        ctx.reject(line, reason, orjson.dumps(row, default=str).decode())


def _with_query(batch: pa.RecordBatch, lines: pa.Array, ctx: SourceContext) -> pa.RecordBatch:
    """The canonical record of a batch of raw columns; rows without a query are quarantined."""
    query = batch.column("query")
    if query.null_count:
        missing = query.is_null()
        _reject_rows(batch.filter(missing), lines.filter(missing), "missing query", ctx)
        batch, lines = batch.filter(query.is_valid()), lines.filter(query.is_valid())
    names = set(batch.schema.names)
    return to_record_batch({n: batch.column(n) for n in RAW_FIELDS if n in names}, lines, ctx)


class _CleanLines(io.RawIOBase):
    """A file whose unusable lines (NUL bytes, overlong, unreadable bytes) are blanked, and whose
    repairable bytes are repaired.

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
        if b"\x00" not in chunk and not _has_long_line(chunk, self._ctx.max_line_bytes):
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


class _CsvLines:
    """The physical line where each CSV row starts.

    Arrow numbers records, not lines, and a quoted field may span lines: a row's lines are counted
    from its values (one, plus the newlines in them). A record skipped for its number of columns is
    known only by Arrow's record number, so it is held until the batch around it is numbered, and
    quarantined then, at its own line. Blank lines are records too (every field empty), so that
    every line is counted; they are no rows.
    """

    def __init__(self, ctx: SourceContext) -> None:
        self._ctx = ctx
        self._line = 2  # physical line of the next record; the header is line 1
        self._record = 2  # Arrow's number of the next record
        self._skipped: list[tuple[int, str, str]] = []  # (record number, reason, raw text)

    def invalid_row(self, row: pcsv.InvalidRow) -> str:
        reason = f"expected {row.expected_columns} columns, got {row.actual_columns}"
        self._skipped.append((row.number, reason, row.text))
        return "skip"

    def number(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.Array]:
        """The batch without blank lines, and each row's line; quarantines the skipped records in it."""
        n = batch.num_rows
        spans = np.ones(n, np.int64)
        for column in batch.columns:
            spans += pc.fill_null(pc.count_substring(column, "\n"), 0).to_numpy()
        starts = self._line + np.concatenate(([0], np.cumsum(spans)))
        skipped_lines = np.cumsum(self._take_skipped(starts, n))
        self._line = int(starts[n] + skipped_lines[n])
        self._ctx.settle(self._line)  # every record before it is a row or quarantined by now
        lines = pa.array(starts[:n] + skipped_lines[:n], pa.int64())
        blank = _all_empty(batch)
        if blank is None:
            return batch, lines
        keep = pc.invert(blank)
        return batch.filter(keep), lines.filter(keep)

    def _take_skipped(self, starts: np.ndarray, n: int) -> np.ndarray:
        """Lines of the skipped records before each of the n rows (and after the last, at n)."""
        lines = np.zeros(n + 1, np.int64)
        taken = total = 0
        for record, reason, text in self._skipped:
            before = record - self._record - taken  # rows of this batch before the record
            if before > n:
                break
            self._ctx.reject(int(starts[before]) + total, reason, text)
            span = text.count("\n") + 1
            lines[before] += span
            total += span
            taken += 1
        del self._skipped[:taken]
        self._record += n + taken
        return lines

    def finish(self) -> None:
        """Quarantine the skipped records after the last row."""
        self._take_skipped(np.array([self._line]), 0)


def _all_empty(batch: pa.RecordBatch) -> pa.Array | None:
    """Which rows hold nothing but empty fields (blank lines); None when no row can."""
    blank = pc.equal(batch.column(0), "")
    if not pc.any(blank).as_py():
        return None
    for column in batch.columns[1:]:
        blank = pc.and_(blank, pc.equal(column, ""))
    return blank


def read_csv(path: Path, ctx: SourceContext) -> Iterator[pa.RecordBatch]:
    delimiter = "\t" if path.name.removesuffix(".gz").endswith(".tsv") else ","
    stream = io.BufferedReader(_CleanLines(path, ctx))
    header = stream.peek(1 << 16).split(b"\n", 1)[0].decode("utf-8", "replace")
    names = next(csv.reader([header], delimiter=delimiter), [])
    if not names:
        return
    numbering = _CsvLines(ctx)
    reader = pcsv.open_csv(
        stream,
        read_options=pcsv.ReadOptions(use_threads=False, block_size=CHUNK_BYTES),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=numbering.invalid_row,
        ),
        convert_options=pcsv.ConvertOptions(column_types={name: pa.string() for name in names}),
    )
    for raw_batch in reader:
        batch, lines = numbering.number(raw_batch)
        if "query" not in names:
            _reject_rows(batch, lines, "CSV header has no 'query' column", ctx)
        elif batch.num_rows:
            yield _with_query(batch, lines, ctx)
    numbering.finish()


def _is_text(kind: pa.DataType) -> bool:
    """Types whose values read as text: strings, and numbers (user ids often are, "1999" is a song)."""
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return any(
        test(kind)
        for test in (
            pa.types.is_string,
            pa.types.is_large_string,
            pa.types.is_string_view,
            pa.types.is_integer,
            pa.types.is_floating,
            pa.types.is_decimal,
        )
    )


def _parquet_problem(schema: pa.Schema) -> str | None:
    """Why no row of a Parquet file can be read, or None."""
    if "query" not in schema.names:
        return "Parquet file has no 'query' column"
    for name in _STRING_FIELDS:
        if name in schema.names and not _is_text(kind := schema.field(name).type):
            return f"Parquet column '{name}' is {kind}, not text"
    return None


def row_group_runs(path: Path, size: int) -> list[RowGroupRun]:
    """The Parquet file in runs of whole row groups of about `size` bytes as stored (a larger group
    is a run of its own), in order, each with the number of its first row: from the footer alone.
    No runs where the footer cannot be read: a read of the whole file quarantines it with the reason."""
    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowInvalid, OSError):
        return []
    runs: list[RowGroupRun] = []
    start, first, stored, rows = 0, 1, 0, 0
    for group in range(meta.num_row_groups):
        columns = meta.row_group(group)
        stored += sum(columns.column(c).total_compressed_size for c in range(columns.num_columns))
        rows += columns.num_rows
        if stored >= size or group == meta.num_row_groups - 1:
            runs.append(RowGroupRun(start, group + 1, first))
            start, first, stored, rows = group + 1, first + rows, 0, 0
    return runs


def read_parquet(path: Path, ctx: SourceContext, run: RowGroupRun | None = None) -> Iterator[pa.RecordBatch]:
    """The file's batches, row group by row group: a damaged group costs its own rows (one quarantine
    entry, at the line where reading broke off), not the rest of the file. With `run`, of those row
    groups only."""
    try:
        file = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        ctx.reject(0, f"unreadable Parquet file: {str(e).splitlines()[0]}", b"")
        return
    problem = _parquet_problem(file.schema_arrow)
    columns = None if problem else [n for n in RAW_FIELDS if n in file.schema_arrow.names]
    groups, line = (range(run.start, run.end), run.first) if run else (range(file.num_row_groups), 1)
    for group in groups:
        end = line + file.metadata.row_group(group).num_rows
        try:
            for batch in file.iter_batches(batch_size=ctx.batch_rows, row_groups=[group], columns=columns):
                lines = pa.array(range(line, line + batch.num_rows), pa.int64())
                line += batch.num_rows
                if problem:
                    _reject_rows(batch, lines, problem, ctx)
                else:
                    yield _with_query(batch, lines, ctx)
        except (pa.ArrowInvalid, OSError) as e:
            ctx.reject(line, f"unreadable Parquet data in row group {group}: {str(e).splitlines()[0]}", b"")
        line = end


RAW_READERS = {"jsonl": read_jsonl, "csv": read_csv, "parquet": read_parquet}
# The readers that can start inside a file (plain, on this machine), and how they find where.
RUNS = {"jsonl": line_runs, "parquet": row_group_runs}
