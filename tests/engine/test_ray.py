"""The Ray engine builds the snapshot the local engine builds: same content hash, rows, counters and
quarantine, on every public format and on raw logs (JSONL and Parquet) with bad lines, PII and a
curated set, read in runs of lines and of row groups, with the grouping on its workers (or, under DP,
on the driver)."""

import json
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from honkdata.anonymize.pseudonym import DEMO_KEY, PseudonymKey
from honkdata.anonymize.stage import PII_FOUND, anonymizer
from honkdata.build import BuildResult, build
from honkdata.cli import app
from honkdata.config import BuildConfig
from honkdata.dedup.exact import ExactDedup, KeyPartitions
from honkdata.errors import HonkdataError
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.sources import resolve_inputs
from honkdata.ingest.stage import QUARANTINED, Ingest, ReadResult
from honkdata.normalize import EMPTY_QUERY, TOO_LONG, Normalize
from honkdata.progress import StageEvent
from honkdata.stage import StageStats
from honkdata.taxonomy import load_taxonomy
from tests.conftest import damage_row_group, write_jsonl
from tests.engine.conftest import assert_same_snapshot, quarantined
from tests.ingest.test_formats import EVERY_FORMAT

ray = pytest.importorskip("ray")

from honkdata.engine.ray import INSTALL, RUN_BYTES, ray_engine  # noqa: E402  (needs ray)

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One real local Ray instance for the module (starting one takes seconds); the engine uses it."""
    ray.init(num_cpus=2, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.fixture
def merged(monkeypatch: pytest.MonkeyPatch) -> list[list[pa.Table]]:
    """The partitions' tables each build merged here, one list per build that grouped on the
    workers. A partition grouped in this process (the driver) fails the build: they belong on the
    workers, which have their own copy of the code, unpatched."""
    calls: list[list[pa.Table]] = []
    merge = ExactDedup.merge

    def spy(self: ExactDedup, finished: list[pa.Table]) -> pa.Table:
        calls.append(list(finished))
        return merge(self, calls[-1])

    def on_the_driver(self: KeyPartitions, workdir: Path, threads: int) -> ExactDedup:
        raise AssertionError("a partition was grouped on the driver")

    monkeypatch.setattr(ExactDedup, "merge", spy)
    monkeypatch.setattr(KeyPartitions, "grouping", on_the_driver)
    return calls


def _both(
    config: BuildConfig, partitions: int | None = None, run_bytes: int = RUN_BYTES
) -> tuple[BuildResult, BuildResult]:
    """The same config built by each engine, into a store of its own."""
    local = build(config.model_copy(update={"root": str(Path(config.root) / "local")}))
    on_ray = build(
        config.model_copy(update={"root": str(Path(config.root) / "ray")}),
        engine=ray_engine(partitions=partitions, run_bytes=run_bytes),
    )
    return local, on_ray


@pytest.mark.parametrize(("fmt", "path", "n_rows"), EVERY_FORMAT)
def test_both_engines_build_the_same_snapshot_of_every_public_format(fmt, path, n_rows, make_config, merged):
    local, on_ray = _both(make_config(path, name=fmt))
    assert_same_snapshot(local, on_ray)
    assert on_ray.manifest["stages"]["ingest"]["rows_out"] == n_rows
    assert merged == []  # a cluster of one machine groups on the driver unless partitions are asked for


@pytest.fixture
def columnar_log(tmp_path: Path) -> Path:
    """A Parquet log of 5 row groups: PII, a query that repeats another log's, and a damaged group."""
    queries = ["PLAY TAYLOR SWIFT", "text 07700 900123 to mum", "skip"] * 10
    users = [f"col-{i % 4}" for i in range(30)]
    path = tmp_path / "log.parquet"
    pq.write_table(pa.table({"query": queries, "user_id": users}), path, row_group_size=6)
    damage_row_group(path, 3)
    return path


def test_both_engines_agree_on_a_raw_log_with_bad_lines_pii_and_a_curated_set(
    make_config, bad_log, second_log, columnar_log, curated, merged, monkeypatch
):
    reads = []  # the read tasks of each build (one per input, or per run of a log's lines or row groups)
    parts = Ingest.parts
    monkeypatch.setattr(
        Ingest, "parts", lambda self, run_bytes=None: reads.append(parts(self, run_bytes)) or reads[-1]
    )
    logs = (bad_log, second_log, columnar_log)
    config = make_config(*logs, curated, name="mixed", ingest={"max_reject_rate": 0.5})
    # The logs in runs of their lines or row groups of about 200 bytes, a task each: as a large file
    # would be read.
    local, on_ray = _both(config, partitions=2, run_bytes=200)
    assert_same_snapshot(local, on_ray)
    (tasks,) = reads
    runs = [t.source.run for t in tasks]
    assert len(tasks) > 11 and sum(r is not None for r in runs) == len(tasks) - 1  # curated: small
    assert sum(t.source.path == columnar_log for t in tasks) == 5  # a row group a run

    # The Ray build grouped on the workers, in the two partitions asked for, each of its own keys.
    (partitions,) = merged
    ids = [t.column("id").to_pylist() for t in partitions]
    assert len(ids) == 2 and all(ids)
    assert not set(ids[0]) & set(ids[1]) and ids[0] + ids[1] == sorted(ids[0] + ids[1])

    stages = on_ray.manifest["stages"]
    assert stages["ingest"]["dropped"] == {QUARANTINED: 4}  # the bytes that are not UTF-8 are repaired
    assert stages["ingest"]["rows_out"] == 14 - 3 + 8 + 30 - 6 + 2  # a damaged group: 6 rows, 1 entry
    assert stages["normalize"]["dropped"] == {EMPTY_QUERY: 2, TOO_LONG: 1}
    assert {"EMAIL", "PHONE"} <= set(stages["anonymize"]["breakdowns"][PII_FOUND])
    reasons = [q["reason"] for q in quarantined(on_ray)]
    assert reasons[:3] == ["invalid JSON", "missing query", "JSON line is not an object"]
    assert reasons[3].startswith("unreadable Parquet data in row group 3: ")
    texts = set(pq.read_table(on_ray.path / "data").column("text").to_pylist())
    assert "play www.thebeatles.com remix" in texts  # learned from the curated set before scrubbing
    assert not any("<URL>" in t for t in texts)
    assert any("<PHONE>" in t for t in texts) and any("<EMAIL>" in t for t in texts)


def test_a_dp_build_groups_on_the_driver_and_equals_the_local_one(
    make_config, bad_log, second_log, curated, merged
):
    """The DP cap ranks each user's keys across all keys: no partition by key. The few users per
    query of these logs are (all but surely) below DP's selection, so the rows that stay are the
    curated ones, exempt from noise, and the snapshots can be compared."""
    dp = {"epsilon": 1.0, "delta": 1e-6}
    config = make_config(
        bad_log, second_log, curated, name="dp", anonymize={"dp": dp}, ingest={"max_reject_rate": 0.5}
    )
    local, on_ray = _both(config)
    assert_same_snapshot(local, on_ray)
    assert on_ray.manifest["anonymize"]["release"].startswith("dp(") and merged == []


def test_the_leak_check_sees_the_ids_the_workers_pseudonymized(make_config, tmp_path):
    """A raw user id published in a query fails the build: the check knows the ids the workers saw."""
    rows = [
        {"query": "play something", "user_id": "listener.x93k2"},
        {"query": "who is listener.x93k2", "user_id": "someone-else"},
    ]
    config = make_config(write_jsonl(tmp_path / "log.jsonl", rows), name="leaky")
    with pytest.raises(HonkdataError, match=r"leak check failed.*raw user id"):
        build(config, engine=ray_engine())
    with pytest.raises(HonkdataError, match=r"leak check failed.*raw user id"):
        build(config)


def test_the_ray_engine_reports_stages_like_the_local_one(make_config, bad_log, curated):
    config = make_config(bad_log, curated, name="events", ingest={"max_reject_rate": 0.5})
    seen: dict[str, list[StageEvent]] = {"local": [], "ray": []}
    build(config.model_copy(update={"root": str(Path(config.root) / "l")}), on_stage=seen["local"].append)
    progress: list[tuple[str, int]] = []
    build(
        config.model_copy(update={"root": str(Path(config.root) / "r")}),
        on_progress=lambda source, rows: progress.append((source, rows)),
        on_stage=seen["ray"].append,
        engine=ray_engine(),
    )
    strip = [[(e.stage, e.done, e.rows_in, e.rows_out, e.inputs) for e in events] for events in seen.values()]
    assert strip[0] == strip[1]
    assert {source for source, _ in progress} == {"log.jsonl", "curated.jsonl"}


def test_an_input_that_vanishes_before_a_worker_reads_it_is_a_one_line_error(make_config, tmp_path):
    log = write_jsonl(tmp_path / "log.jsonl", [{"query": "skip", "user_id": "u1"}])

    def remove_when_reading_starts(event: StageEvent) -> None:
        if event.stage == "ingest" and not event.done:
            log.unlink()

    with pytest.raises(HonkdataError, match="No such file"):
        build(make_config(log, name="gone"), on_stage=remove_when_reading_starts, engine=ray_engine())


def test_the_grouping_gives_the_same_rows_whatever_order_events_arrive_in(tmp_path, bad_log, second_log):
    """What lets the Ray engine feed the grouping in any order: every tie in exact dedup is broken
    on the data (display text, label of the first source and line), not on the order of arrival."""
    massive = EVERY_FORMAT[3][1]
    config = BuildConfig.model_validate(
        {
            "sources": [{"path": str(p)} for p in (massive, bad_log, second_log)],
            "anonymize": {"k_anonymity": 1},
        }
    )
    quarantine = Quarantine(tmp_path / "q" / "t" / "q.jsonl")
    ingest = Ingest(resolve_inputs(config.sources), config, load_taxonomy(), quarantine)
    stages = (Normalize(config.normalize), anonymizer(config, PseudonymKey(DEMO_KEY, "demo")))
    events = []
    for batch in ingest(StageStats("ingest")):
        for stage in stages:
            batch = stage(batch, StageStats(stage.name))
        events += [batch.slice(i, 1) for i in range(batch.num_rows)]  # one event a batch
    orders = [events, events[::-1], random.Random(7).sample(events, len(events))]
    tables = []
    for n, order in enumerate(orders):
        grouping = ExactDedup(tmp_path / f"work{n}")
        for event in order:
            grouping.add(event, StageStats("exact_dedup"))
        tables.append(grouping.finish(StageStats("exact_dedup")))
    assert (len(events), tables[0].num_rows) == (24, 15)
    assert tables[1].equals(tables[0]) and tables[2].equals(tables[0])


def test_labels_of_files_that_share_a_source_name_do_not_depend_on_arrival(tmp_path):
    gold = tmp_path / "gold"
    gold.mkdir()
    for file, entity in (("a.jsonl", "artist"), ("b.jsonl", "track")):
        entities = [{"type": entity, "start": 5, "end": 9, "text": "abba"}]
        write_jsonl(gold / file, [{"query": "play abba", "intent": "play_music", "entities": entities}])
    config = BuildConfig.model_validate({"sources": [{"path": str(gold / "*.jsonl"), "name": "gold"}]})
    ingest = Ingest(
        resolve_inputs(config.sources), config, load_taxonomy(), Quarantine(tmp_path / "q/t/q.jsonl")
    )
    batches = [Normalize(config.normalize)(b, StageStats("normalize")) for b in ingest(StageStats("ingest"))]
    tables = []
    for n, order in enumerate((batches, batches[::-1])):
        grouping = ExactDedup(tmp_path / f"work{n}")
        for batch in order:
            grouping.add(batch, StageStats("exact_dedup"))
        tables.append(grouping.finish(StageStats("exact_dedup")))
    assert tables[1].equals(tables[0])


def test_an_input_read_apart_rejects_and_reports_as_one_read_of_every_input(tmp_path, bad_log, second_log):
    config = BuildConfig.model_validate({"sources": [{"path": str(bad_log)}, {"path": str(second_log)}]})
    inputs = resolve_inputs(config.sources)
    whole = Ingest(inputs, config, load_taxonomy(), Quarantine(tmp_path / "q" / "a" / "q.jsonl"))
    together = list(whole(StageStats("ingest")))
    apart = Ingest(inputs, config, load_taxonomy(), Quarantine(tmp_path / "q" / "b" / "q.jsonl"))
    stats, batches = StageStats("ingest"), []
    for part in apart.parts():
        result = ReadResult()
        batches += part(result, stats)
        apart.add_part(result)
    assert [b.to_pylist() for b in batches] == [b.to_pylist() for b in together]
    assert apart.reports == whole.reports and stats.rows_out == sum(b.num_rows for b in together)
    whole.quarantine.close()
    apart.quarantine.close()
    assert apart.quarantine.rows == whole.quarantine.rows == 3
    assert apart.quarantine.path.read_text() == whole.quarantine.path.read_text()


def test_the_cli_builds_on_ray(tmp_path, second_log, curated, bad_log, merged):
    def run(*args: str):
        return runner.invoke(app, ["build", "--k-anon", "1", "--json", *args])

    sources = ["-s", str(second_log), "-s", str(curated)]
    local = run(*sources, "--root", str(tmp_path / "l"))
    on_ray = run(*sources, "--root", str(tmp_path / "r"), "--engine", "ray", "--ray-partitions", "3")
    assert local.exit_code == on_ray.exit_code == 0, on_ray.output
    hashes = [json.loads(r.stdout)["manifest"]["content_hash"] for r in (local, on_ray)]
    assert hashes[0] == hashes[1]
    assert [len(tables) for tables in merged] == [3]

    rejected = run("-s", str(bad_log), "--root", str(tmp_path / "b"), "--engine", "ray")
    assert rejected.exit_code == 2 and not rejected.stdout
    (line,) = [line for line in rejected.stderr.splitlines() if line.startswith("error:")]
    assert "3 of 14 input rows rejected" in line and "above ingest.max_reject_rate" in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "spark"], "'spark' is not one of"),
        (["--ray-address", "10.0.0.1:6379"], "--ray-address"),
        (["--ray-partitions", "4"], "--ray-partitions"),
    ],
)
def test_the_cli_refuses_an_unknown_engine_and_an_address_without_ray(tmp_path, args, message):
    result = runner.invoke(app, ["build", "-s", str(tmp_path / "x.jsonl"), "--root", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_without_ray_installed_the_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(HonkdataError, match=INSTALL.replace("[", r"\[").replace("]", r"\]")):
        ray_engine()


def test_a_cpu_count_is_for_a_local_instance_only():
    with pytest.raises(HonkdataError, match="num_cpus"):
        ray_engine("10.0.0.1:6379", num_cpus=2)


def test_the_grouping_needs_a_partition_at_least():
    with pytest.raises(HonkdataError, match="partitions must be 1 or more, not 0"):
        ray_engine(partitions=0)
