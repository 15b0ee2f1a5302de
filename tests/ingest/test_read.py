"""read_inputs: each input's report, and the config's timestamp window handed to every reader."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

from honkdata.config import SourceConfig
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.read import read_inputs
from honkdata.ingest.sources import resolve_inputs
from honkdata.taxonomy import load_taxonomy


def test_reports_count_user_ids_and_timestamps_outside_the_configured_window(tmp_path, make_config):
    log = tmp_path / "log.jsonl"
    rows = [
        {"query": "play adele", "user_id": "u1", "ts": "2026-09-01T10:00:00Z"},
        {"query": "skip", "user_id": "", "ts": "2019-06-01T10:00:00Z"},  # before ts_earliest
        {"query": "next", "ts": 1_788_300_000_000},  # milliseconds
        {"query": "louder", "user_id": 7, "ts": 4_102_444_800},  # 2100: after ts_latest
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = make_config(log, ingest={"ts_earliest": "2020-01-01", "ts_latest": date(2030, 1, 1)})
    reports: list[dict] = []
    inputs = resolve_inputs([SourceConfig(path=str(log))])
    quarantine = Quarantine(tmp_path / "q" / "q.jsonl")
    batches = list(read_inputs(inputs, config, load_taxonomy(), quarantine, reports))
    ts = [t for b in batches for t in b.column("ts").to_pylist()]
    assert ts == [
        datetime(2026, 9, 1, 10, tzinfo=UTC),
        None,
        datetime.fromtimestamp(1_788_300_000, UTC),
        None,
    ]
    (report,) = reports
    assert report["timestamps_unreadable"] == 2
    assert report["rows_with_user_id"] == 2


def test_curated_sets_carry_no_user_ids(tmp_path, make_config):
    path = Path(__file__).resolve().parents[1] / "fixtures" / "public" / "slurp" / "devel.jsonl"
    reports: list[dict] = []
    inputs = resolve_inputs([SourceConfig(path=str(path))])
    list(read_inputs(inputs, make_config(path), load_taxonomy(), Quarantine(tmp_path / "q.jsonl"), reports))
    assert reports[0]["rows_read"] == 18 and reports[0]["rows_with_user_id"] == 0
