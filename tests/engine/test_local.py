"""The local engine on several processes builds the snapshot one process builds, and fails cleanly."""

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import honkdata.engine.local as local
from honkdata.build import build
from honkdata.cli import app
from honkdata.engine.local import local_engine, run_local
from honkdata.errors import HonkdataError
from honkdata.normalize import Normalize
from honkdata.progress import InputSize
from honkdata.snapshot.store import SnapshotStore
from tests.conftest import write_jsonl
from tests.engine.conftest import assert_same_snapshot, quarantined


def test_workers_build_the_snapshot_one_process_builds(make_config, bad_log, second_log, curated):
    config = make_config(bad_log, second_log, curated, name="mixed", ingest={"max_reject_rate": 0.5})
    alone = build(config.model_copy(update={"root": str(Path(config.root) / "one")}), engine=run_local)
    pooled = build(config.model_copy(update={"root": str(Path(config.root) / "two")}), engine=local_engine(2))
    assert_same_snapshot(alone, pooled)
    assert [q["reason"] for q in quarantined(pooled)] == [
        "invalid JSON",
        "missing query",
        "JSON line is not an object",
    ]
    texts = set(pq.read_table(pooled.path / "data").column("text").to_pylist())
    # The workers were forked after the curated set taught anonymize its names: the URL is a track.
    assert "play www.thebeatles.com remix" in texts
    assert any("<PHONE>" in t for t in texts) and any("<EMAIL>" in t for t in texts)
    pooled_pii, alone_pii = (r.manifest["stages"]["anonymize"]["breakdowns"] for r in (pooled, alone))
    assert pooled_pii == alone_pii


def test_the_leak_check_sees_the_ids_the_worker_processes_pseudonymized(make_config, tmp_path):
    # Two files, a batch each: the id is pseudonymized by one worker and typed into a query in the other.
    one = write_jsonl(tmp_path / "one.jsonl", [{"query": "play something", "user_id": "listener.x93k2"}])
    two = write_jsonl(tmp_path / "two.jsonl", [{"query": "who is listener.x93k2", "user_id": "someone-else"}])
    config = make_config(one, two, name="leaky")
    with pytest.raises(HonkdataError, match=r"leak check failed.*1 raw user id"):
        build(config, engine=local_engine(2))
    assert SnapshotStore(Path(config.root)).versions("leaky") == []


def test_a_worker_that_dies_fails_the_build_in_one_line(make_config, tmp_path, monkeypatch):
    main = os.getpid()
    normalize = Normalize.__call__

    def dies_in_a_worker(self, batch, stats):
        if os.getpid() != main:
            os.kill(os.getpid(), signal.SIGKILL)
        return normalize(self, batch, stats)

    monkeypatch.setattr(Normalize, "__call__", dies_in_a_worker)
    rows = [{"query": f"play song {i}", "user_id": f"u{i}"} for i in range(8)]
    config = make_config(write_jsonl(tmp_path / "log.jsonl", rows), name="dies")
    with pytest.raises(HonkdataError, match="worker process of the build died") as error:
        build(config, engine=local_engine(2))
    assert "\n" not in str(error.value)
    assert SnapshotStore(Path(config.root)).versions("dies") == []
    assert not list((Path(config.root) / "_work").rglob("*.parquet"))  # no raw events left behind


_KILLED_BUILD = """
import os, sys, time
from pathlib import Path
from honkdata.build import build
from honkdata.config import load_config
from honkdata.engine.local import local_engine
from honkdata.normalize import Normalize
main, pids = os.getpid(), Path(sys.argv[2])

def slow_in_a_worker(self, batch, stats):
    if os.getpid() != main:
        (pids / str(os.getpid())).touch()
        time.sleep(60)
    return batch

Normalize.__call__ = slow_in_a_worker
config = load_config(None, sources=[{"path": str(p)} for p in Path(sys.argv[1]).glob("log*.jsonl")],
                     root=sys.argv[3])
build(config, engine=local_engine(2))
"""


def test_the_workers_of_a_killed_build_go_with_it(tmp_path, pseudonym_key):
    """kill -9 of a build (the scheduler's timeout, the OOM killer) leaves no worker behind."""
    for i in range(4):
        write_jsonl(tmp_path / f"log{i}.jsonl", [{"query": "skip", "user_id": f"u{i}"}])
    pids = tmp_path / "pids"
    pids.mkdir()
    # A JSONL file is read in chunks of megabytes: one batch per file here, one file per worker and more.
    script = [sys.executable, "-c", _KILLED_BUILD, str(tmp_path), str(pids), str(tmp_path / "store")]
    build_process = subprocess.Popen(script, env={**os.environ, "HONKDATA_PSEUDONYM_KEY": pseudonym_key})
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 2, "both workers should have started a batch"
    build_process.send_signal(signal.SIGKILL)
    build_process.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child of this test's killed build that is gone but not yet reaped by init is a zombie.
    status = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return status not in ("Z", "X")


@pytest.fixture
def pools(monkeypatch) -> list[int]:
    """The worker count of each process pool a build starts, on a machine of 2 cores."""
    started: list[int] = []

    class Recorded(local.ProcessPoolExecutor):
        def __init__(self, workers, **kwargs):
            started.append(workers)
            super().__init__(workers, **kwargs)

    monkeypatch.setattr(local, "ProcessPoolExecutor", Recorded)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    return started


def test_large_inputs_use_every_core_by_default(make_config, tmp_path, monkeypatch, pools):
    log = write_jsonl(tmp_path / "log.jsonl", [{"query": "skip", "user_id": "u1"}])
    build(make_config(log, name="small"))
    assert pools == []  # a small input is built in this process
    monkeypatch.setattr(local, "PARALLEL_MIN_BYTES", 1)
    build(make_config(log, name="large"))
    assert pools == [2]


def test_a_compressed_input_is_weighed_by_the_data_it_holds(make_config, tmp_path, monkeypatch, pools):
    """A gzipped or Parquet log is a fraction of its data: whether a build is large enough for workers
    goes by the data (the gzip trailer's size, the Parquet footer's uncompressed size)."""
    rows = [{"query": f"play song number {i}", "user_id": f"listener-{i:06d}"} for i in range(3000)]
    text = write_jsonl(tmp_path / "log.jsonl", rows).read_bytes()
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(text))
    columnar = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pylist(rows), columnar, compression="zstd")
    limit = max(packed.stat().st_size, columnar.stat().st_size) + 1
    monkeypatch.setattr(local, "PARALLEL_MIN_BYTES", limit)
    assert len(text) > 3 * limit  # each file alone is under the limit, the data in it well over
    for log in (packed, columnar):
        build(make_config(log, name=log.name.replace(".", "-")))
    assert pools == [2, 2]

    # Where the trailer or the footer cannot be read, the file's size (its read will quarantine it).
    stub = tmp_path / "stub.jsonl.gz"
    stub.write_bytes(b"\x1f\x8b")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not parquet PAR1")
    for path, fmt in ((stub, "jsonl"), (broken, "parquet")):
        assert local._data_bytes(InputSize(path, fmt, path.stat().st_size)) == path.stat().st_size


def test_workers_are_one_or_more():
    with pytest.raises(HonkdataError, match="workers must be 1 or more"):
        local_engine(0)


def test_the_command_line_takes_workers_for_the_local_engine(tmp_path, pseudonym_key):
    log = write_jsonl(tmp_path / "log.jsonl", [{"query": "skip", "user_id": f"u{i}"} for i in range(6)])
    common = ["build", "--source", str(log), "--root", str(tmp_path / "store"), "--quiet"]
    result = CliRunner().invoke(app, [*common, "--workers", "2"])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(app, [*common, "--workers", "2", "--engine", "ray"])
    assert refused.exit_code == 2
    assert "--workers" in refused.output
