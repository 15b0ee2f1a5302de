"""Ingest read in parts (what a distributed engine runs): each input apart, a large JSONL file in
runs of its lines, a large Parquet file in runs of its row groups, and every part's rejects and report
brought back as one read of every input."""

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honkdata.config import BuildConfig
from honkdata.errors import HonkdataError
from honkdata.ingest import read
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.sources import resolve_inputs
from honkdata.ingest.stage import Ingest, ReadResult
from honkdata.stage import StageStats
from honkdata.taxonomy import load_taxonomy
from tests.conftest import damage_row_group


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """A log with a byte-order mark, bad and repaired lines and no last newline; a Parquet log of 4 row
    groups, one row without a query and one group damaged; a Parquet file whose footer does not
    decode, a gzipped log and a CSV log, which a reader can only start at their beginning."""
    lines = [
        b'{"query": "play song %d", "user_id": "u%d", "ts": "2026-09-01T10:00:00Z"}' % (i, i % 7)
        for i in range(60)
    ]
    lines[5] = b"{not json"
    lines[17] = b'{"user_id": "u2"}'
    lines[30] = b'{"query": "caf\xe9 del mar", "user_id": "u3"}'  # cp1252: repaired, kept
    lines[41] = b'{"query": "nul \x00 byte"}'
    lines[50] = b'{"query": "play at", "ts": "not a time"}'
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines))
    packed = tmp_path / "packed.jsonl.gz"
    packed.write_bytes(gzip.compress(b"\n".join(lines[:20]) + b"\n"))
    columnar = tmp_path / "log.parquet"
    queries = [None if i == 12 else f"play track {i}" for i in range(40)]
    pq.write_table(
        pa.table({"query": queries, "user_id": [f"u{i}" for i in range(40)]}), columnar, row_group_size=10
    )
    damage_row_group(columnar, 2)
    broken = tmp_path / "broken.parquet"  # magic bytes and a footer length, then no footer
    broken.write_bytes(b"PAR1" + b"x" * 300 + (16).to_bytes(4, "little") + b"PAR1")
    table = tmp_path / "more.csv"
    table.write_text("query,user_id\n" + "".join(f"skip {i},u{i}\n" for i in range(30)))
    return [log, columnar, broken, packed, table]


def _ingest(paths: list[Path], quarantine: Path) -> Ingest:
    config = BuildConfig.model_validate({"sources": [{"path": str(p)} for p in paths]})
    return Ingest(resolve_inputs(config.sources), config, load_taxonomy(), Quarantine(quarantine))


@pytest.mark.parametrize("run_bytes", [None, 1, 200, 10**6])
def test_parts_read_apart_reject_and_report_as_one_read_of_every_input(
    tmp_path, inputs, run_bytes, monkeypatch
):
    whole = _ingest(inputs, tmp_path / "q" / "whole" / "q.jsonl")
    together = [row for batch in whole(StageStats("ingest")) for row in batch.to_pylist()]

    hashed = []  # a run's read must not hash the whole file: the build's process knows its digest
    fingerprint = read.fingerprint
    monkeypatch.setattr(read, "fingerprint", lambda path: hashed.append(path) or fingerprint(path))
    apart = _ingest(inputs, tmp_path / "q" / "apart" / "q.jsonl")
    parts = apart.parts(run_bytes)
    stats, rows = StageStats("ingest"), []
    for part in parts:
        result = ReadResult()
        rows += [row for batch in part(result, stats) for row in batch.to_pylist()]
        apart.add_part(result)

    runs = len(parts) - 3  # the logs'; the broken Parquet file, the gzipped log and the CSV: a part each
    assert runs == {None: 2, 1: 60 + 4, 200: 19 + 4, 10**6: 2}[run_bytes]
    assert hashed == (inputs[2:] if runs > 2 else inputs)
    assert rows == together and stats.rows_out == len(together) == 60 - 3 + 40 - 11 + 20 - 2 + 30
    assert apart.reports == whole.reports
    report = apart.reports[0]
    assert (report["rows_rejected"], report["rows_repaired"], report["timestamps_unreadable"]) == (3, 1, 1)
    whole.quarantine.close()
    apart.quarantine.close()
    assert apart.quarantine.rows == whole.quarantine.rows == 5 + 2 + 1
    assert apart.quarantine.path.read_text() == whole.quarantine.path.read_text()


def test_an_input_gone_before_its_runs_are_found_is_a_one_line_error(tmp_path, inputs):
    ingest = _ingest(inputs, tmp_path / "q" / "q.jsonl")
    inputs[0].unlink()
    with pytest.raises(HonkdataError, match=f"No such file or directory: '{inputs[0]}'"):
        ingest.parts(run_bytes=1)
