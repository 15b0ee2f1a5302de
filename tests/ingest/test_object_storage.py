"""Inputs on object storage: a real S3-compatible server (moto) on loopback stands in for S3, found by
the standard AWS_* variables (or a source's storage_options), as a cluster's nodes would find S3."""

import gzip
import hashlib
import importlib
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from honkdata.build import BuildResult, build
from honkdata.cli import app
from honkdata.config import BuildConfig, SourceConfig, load_config
from honkdata.engine.checkpoints import Checkpoints
from honkdata.errors import HonkdataError
from honkdata.ingest import sources
from honkdata.ingest.formats import PUBLIC_READERS
from honkdata.ingest.remote import RemoteFolder, RemotePath
from honkdata.ingest.sources import fingerprint, resolve_inputs
from honkdata.label.stage import ApplyLabels
from honkdata.snapshot.store import SnapshotStore
from tests.conftest import BUCKET, Prefix, write_jsonl
from tests.engine.conftest import bad_log, counters, curated, quarantined  # noqa: F401  (fixtures)
from tests.ingest.test_formats import FIXTURES, MASSIVE

SECRET = "s3cr3t-that-must-not-be-published"
runner = CliRunner()


@pytest.fixture
def mixed(tmp_path: Path, bad_log: Path, curated: Path) -> Path:  # noqa: F811
    """A local folder of a raw log with bad lines, a curated set and a MASSIVE file."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for file in (bad_log, curated, MASSIVE):
        shutil.copy(file, folder / file.name)
    return folder


def _config(source: str | Path, root: Path, fmt: str = "auto", **overrides: Any) -> BuildConfig:
    overrides.setdefault("ingest", {"max_reject_rate": 0.5})  # the bad log's lines are a third bad
    sources = [{"path": str(source), "format": fmt}]
    return load_config(None, sources=sources, root=str(root), anonymize={"k_anonymity": 1}, **overrides)


def _without_paths(result: BuildResult) -> list[dict]:
    return [{k: v for k, v in i.items() if k != "path"} for i in result.manifest["inputs"]]


def _assert_same_build(here: BuildResult, there: BuildResult) -> None:
    assert there.manifest["content_hash"] == here.manifest["content_hash"]
    assert counters(there) == counters(here)
    assert quarantined(there) == quarantined(here)
    assert _without_paths(there) == _without_paths(here)


def test_a_build_from_an_s3_prefix_is_the_build_of_the_same_files_here(prefix, mixed, tmp_path):
    url = prefix.put_folder(mixed)
    here = build(_config(mixed, tmp_path / "here"))
    there = build(_config(url, tmp_path / "s3"))

    _assert_same_build(here, there)
    assert len(quarantined(there)) == 3
    for report in there.manifest["inputs"]:
        data = (mixed / report["name"]).read_bytes()
        assert report["path"] == prefix.url(report["name"])
        assert (report["size"], report["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_prefix_is_listed_detected_and_read_like_a_folder(prefix, tmp_path, ctx, events):
    folder = tmp_path / "logs"
    (folder / "sub").mkdir(parents=True)
    write_jsonl(folder / "day1.jsonl", events)
    (folder / "sub" / "day2.jsonl.gz").write_bytes(gzip.compress((folder / "day1.jsonl").read_bytes()))
    (folder / "README.md").write_text("notes")
    (folder / "_SUCCESS").write_text("")
    (folder / ".cache").mkdir()
    write_jsonl(folder / ".cache" / "day1.jsonl", events)
    (folder / "notes.json").write_text('{"not": "a query"}\n')
    url = prefix.put_folder(folder)

    def listed(path: str) -> tuple[list, list]:
        skipped: list = []
        inputs = resolve_inputs([SourceConfig(path=path)], skipped=skipped)
        names = [(str(i.path).removeprefix(path), i.format, i.kind) for i in inputs]
        return names, [(f.path.removeprefix(path), f.reason) for f in skipped]

    local = listed(f"{folder}/")
    assert listed(url) == local
    assert local == (
        [("day1.jsonl", "jsonl", "user_log"), ("sub/day2.jsonl.gz", "jsonl", "user_log")],
        [("README.md", "not a data file"), ("notes.json", "format not recognized")],
    )
    gz = resolve_inputs([SourceConfig(path=prefix.url("sub/*.gz"))])[0]
    assert isinstance(gz.path, RemotePath)
    assert sum(batch.num_rows for batch in gz.read(ctx)) == len(events)


def test_a_glob_url_builds_and_a_url_that_matches_nothing_is_one_line(prefix, tmp_path, events):
    prefix.put("a.jsonl", write_jsonl(tmp_path / "a.jsonl", events))
    prefix.put("b.txt", b"not read")
    built = runner.invoke(
        app, ["build", "-s", prefix.url("*.jsonl"), "--root", str(tmp_path / "s"), "--k-anon", "1", "--json"]
    )
    assert built.exit_code == 0, built.output
    assert [i["path"] for i in json.loads(built.stdout)["manifest"]["inputs"]] == [prefix.url("a.jsonl")]

    root = tmp_path / "nothing"
    for url in (prefix.url("*.parquet"), prefix.url("gone.jsonl"), f"s3://no-such-{prefix.name}/a.jsonl"):
        failed = runner.invoke(app, ["build", "-s", url, "--root", str(root), "--k-anon", "1"])
        assert failed.exit_code != 0
        assert failed.stderr.splitlines() == [f"error: source not found: {url}"]
    assert SnapshotStore(root).latest("music-queries") is None


def test_storage_options_reach_the_store_and_stay_out_of_the_snapshot(
    prefix, s3_endpoint, tmp_path, events, monkeypatch
):
    url = prefix.put("a.jsonl", write_jsonl(tmp_path / "a.jsonl", events))
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    options = {"endpoint_url": s3_endpoint, "key": "testing", "secret": SECRET}
    config = tmp_path / "build.yaml"
    source = {"path": url, "storage_options": options}
    config.write_text(yaml.safe_dump({"sources": [source], "anonymize": {"k_anonymity": 1}}))

    built = runner.invoke(app, ["build", "-c", str(config), "--root", str(tmp_path / "s"), "--json"])
    assert built.exit_code == 0, built.output
    manifest = json.loads(built.stdout)["manifest"]
    assert manifest["inputs"][0]["path"] == url
    published = Path(json.loads(built.stdout)["path"])
    assert all(SECRET not in f.read_text(errors="replace") for f in published.rglob("*") if f.is_file())

    config.write_text(yaml.safe_dump({"sources": [{"path": url, "storage_option": options}]}))
    refused = runner.invoke(app, ["build", "-c", str(config), "--root", str(tmp_path / "s")])
    assert refused.exit_code != 0 and "sources.0.storage_option" in refused.stderr


def test_an_unreachable_store_is_one_line_naming_the_url(prefix):
    url = prefix.url("a.jsonl")
    dead = {"endpoint_url": "http://127.0.0.1:9", "config_kwargs": {"retries": {"max_attempts": 1}}}
    with pytest.raises(HonkdataError, match=r"^cannot read .*a\.jsonl: EndpointConnectionError") as error:
        resolve_inputs([SourceConfig(path=url, storage_options=dead)])
    assert "\n" not in str(error.value)


def test_s3_without_s3fs_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if it were not installed
    # fsspec keeps the file systems it imported (its module, not the `fsspec.registry` mapping)
    monkeypatch.delitem(importlib.import_module("fsspec.registry")._registry, "s3", raising=False)
    with pytest.raises(HonkdataError) as error:
        resolve_inputs([SourceConfig(path=f"s3://{BUCKET}/logs/")])
    assert str(error.value) == (
        f"cannot read s3://{BUCKET}/logs/: Install s3fs to access S3 (pip install 'honkdata[s3]')"
    )


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The local copies the jsonl reader is handed, with their folder's mode while they are read."""
    seen: list[Path] = []
    read_jsonl = sources.READERS["jsonl"]

    def spy(path: Path, ctx):
        assert path.parent.stat().st_mode & 0o777 == 0o700
        seen.append(path)
        yield from read_jsonl(path, ctx)

    monkeypatch.setitem(sources.READERS, "jsonl", spy)
    return seen


def test_a_fetched_copy_is_read_in_the_work_folder_and_never_left_behind(
    prefix, tmp_path, events, copies, monkeypatch
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "system-tmp"))
    (tmp_path / "system-tmp").mkdir()
    good = prefix.put("good/a.jsonl", write_jsonl(tmp_path / "a.jsonl", events))
    garbage = b"".join(b"not json %d\n" % i for i in range(20))
    bad = prefix.put("bad/b.jsonl", (tmp_path / "a.jsonl").read_bytes() + garbage)
    root = tmp_path / "store"

    build(_config(good, root, name="good"))
    with pytest.raises(HonkdataError, match="rows rejected"):
        build(_config(bad, root, "jsonl", name="bad", ingest={"max_reject_rate": 0.05}))
    with monkeypatch.context() as patch:
        patch.setattr(ApplyLabels, "__call__", _fail)  # fails after every input is read
        with pytest.raises(RuntimeError):
            build(_config(good, root, name="late"))

    assert [p.parent.parent for p in copies] == [root / "_work" / n for n in ("good", "bad", "late")]
    assert not any(p.exists() or p.parent.exists() for p in copies)
    assert not list(root.rglob("fetch-*")) and not list((tmp_path / "system-tmp").iterdir())
    assert SnapshotStore(root).latest("bad") is None


def test_a_copy_is_removed_when_its_read_stops_halfway(prefix, tmp_path, events, copies, ctx):
    many = write_jsonl(tmp_path / "many.jsonl", events * 20)
    (source,) = resolve_inputs([SourceConfig(path=prefix.put("many.jsonl", many))])
    batches = source.read(ctx, scratch=tmp_path)
    next(batches)
    assert copies[0].exists() and copies[0].parent.parent == tmp_path
    batches.close()  # a consumer that stops (an error downstream, Ctrl-C) closes the read
    assert not copies[0].parent.exists()


def _fail(self, table, stats):
    raise RuntimeError("killed while labeling")


def test_the_same_objects_are_up_to_date_and_a_rewritten_one_is_not(prefix, tmp_path, events):
    url = prefix.put("a.jsonl", write_jsonl(tmp_path / "a.jsonl", events))
    first = build(_config(url, tmp_path / "s"))
    assert build(_config(url, tmp_path / "s")).up_to_date
    same_size = write_jsonl(tmp_path / "b.jsonl", [{**e, "query": e["query"].upper()} for e in events])
    assert same_size.stat().st_size == (tmp_path / "a.jsonl").stat().st_size
    prefix.put("a.jsonl", same_size)
    rebuilt = build(_config(url, tmp_path / "s"))
    assert not rebuilt.up_to_date and rebuilt.ref.version == first.ref.version + 1


def test_a_build_from_s3_killed_after_reading_resumes(prefix, mixed, tmp_path, monkeypatch):
    url = prefix.put_folder(mixed)
    root = tmp_path / "s3"
    with monkeypatch.context() as patch:
        patch.setattr(Checkpoints, "clear", lambda self: None)  # as a kill leaves them
        patch.setattr(ApplyLabels, "__call__", _fail)
        with pytest.raises(RuntimeError):
            build(_config(url, root))
    resumed = build(_config(url, root), resume=True)
    assert resumed.resumed_after is not None
    _assert_same_build(build(_config(mixed, tmp_path / "here")), resumed)


def test_the_ray_engine_reads_s3_inputs_in_its_workers(prefix, mixed, tmp_path):
    ray = pytest.importorskip("ray")
    from honkdata.engine.ray import ray_engine

    url = prefix.put_folder(mixed)
    here = build(_config(mixed, tmp_path / "here"))
    # Started after the environment names the store: the workers inherit it, as a cluster's nodes would.
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        on_ray = build(_config(url, tmp_path / "ray"), engine=ray_engine())
    finally:
        ray.shutdown()
    _assert_same_build(here, on_ray)
    assert {i["path"] for i in on_ray.manifest["inputs"]} == {prefix.url(f.name) for f in mixed.iterdir()}
    assert not list((tmp_path / "ray").rglob("fetch-*"))


DATASETS = [("snips", FIXTURES / "snips"), ("bio", FIXTURES / "bio")]


def _put_dataset(prefix: Prefix, folder: Path) -> str:
    """`folder` under a key of its own name, so that the input is named as the local folder is."""
    for file in sorted(folder.rglob("*")):
        if file.is_file():
            prefix.put(f"{folder.name}/{file.relative_to(folder).as_posix()}", file)
    return prefix.url(f"{folder.name}/")


@pytest.mark.parametrize(("fmt", "folder"), DATASETS)
@pytest.mark.parametrize("given", [True, False], ids=["format-given", "auto"])
def test_a_dataset_folder_on_a_prefix_builds_as_the_same_folder_here(prefix, tmp_path, fmt, folder, given):
    url = _put_dataset(prefix, folder)
    asked = fmt if given else "auto"
    here = build(_config(folder, tmp_path / "here", asked))
    there = build(_config(url, tmp_path / "s3", asked))

    _assert_same_build(here, there)
    (report,) = there.manifest["inputs"]
    assert (report["path"], report["format"], report["name"]) == (url, fmt, folder.name)
    assert (report["size"], report["sha256"]) == fingerprint(folder)
    assert build(_config(url, tmp_path / "s3", asked)).up_to_date


@pytest.fixture
def dataset_copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The local copies the snips and bio readers are handed, with their folder's files and mode."""
    seen: list[Path] = []
    for fmt in ("snips", "bio"):
        monkeypatch.setitem(sources.READERS, fmt, _spy(sources.READERS[fmt], seen))
    return seen


def _spy(read, seen: list[Path]):
    def spy(path: Path, ctx):
        assert path.parent.stat().st_mode & 0o777 == 0o700
        seen.append(path)
        yield from read(path, ctx)

    return spy


@pytest.mark.parametrize(("fmt", "folder"), DATASETS)
def test_a_dataset_folder_is_fetched_whole_read_and_removed(
    prefix, tmp_path, ctx, dataset_copies, fmt, folder
):
    url = _put_dataset(prefix, folder)
    (source,) = resolve_inputs([SourceConfig(path=url)])
    assert isinstance(source.path, RemoteFolder) and (source.format, source.name) == (fmt, folder.name)
    assert fingerprint(source.path) == fingerprint(folder)
    assert source.path.stat().st_size == sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())

    local = [row for batch in PUBLIC_READERS[fmt](folder, ctx) for row in batch.to_pylist()]
    fetched_rows = []
    for batch in source.read(ctx, scratch=tmp_path):
        (copy,) = dataset_copies
        files = sorted(f.relative_to(copy) for f in copy.rglob("*") if f.is_file())
        assert files == sorted(f.relative_to(folder) for f in folder.rglob("*") if f.is_file())
        fetched_rows += batch.to_pylist()
    assert fetched_rows == local
    assert ctx.digest == fingerprint(folder)
    assert dataset_copies[0].parent.parent == tmp_path and not dataset_copies[0].parent.exists()


def test_a_fetched_dataset_folder_is_removed_when_its_read_stops_halfway(
    prefix, tmp_path, ctx, dataset_copies
):
    (source,) = resolve_inputs([SourceConfig(path=_put_dataset(prefix, FIXTURES / "snips"), format="snips")])
    ctx.batch_rows = 5
    batches = source.read(ctx, scratch=tmp_path)
    next(batches)
    assert (dataset_copies[0] / "train_PlayMusic.json").is_file()
    batches.close()
    assert not dataset_copies[0].parent.exists() and not list(tmp_path.glob("fetch-*"))


def test_a_prefix_is_recognized_as_a_dataset_by_its_listing_and_one_head(prefix, monkeypatch):
    heads: list[str] = []
    head = RemotePath.head
    monkeypatch.setattr(RemotePath, "head", lambda self, n: heads.append(self.name) or head(self, n))
    snips, bio = (_put_dataset(prefix, folder) for _, folder in DATASETS)

    assert [i.format for i in resolve_inputs([SourceConfig(path=snips)])] == ["snips"]
    assert heads == ["train_GetWeather.json"]  # the first *.json, once for both questions
    assert [i.format for i in resolve_inputs([SourceConfig(path=bio)])] == ["bio"]
    assert heads == ["train_GetWeather.json"]  # a seq.in in a split folder: the listing says


def test_a_dataset_object_gone_after_the_listing_is_one_line_and_leaves_nothing(prefix, tmp_path, ctx):
    url = _put_dataset(prefix, FIXTURES / "bio")
    (source,) = resolve_inputs([SourceConfig(path=url, format="bio")])
    boto3.client("s3").delete_object(Bucket=BUCKET, Key=f"{prefix.name}/bio/train/label")
    with pytest.raises(HonkdataError) as error:
        list(source.read(ctx, scratch=tmp_path))
    assert str(error.value) == f"cannot read {url}train/label: not found (The specified key does not exist.)"
    assert not list(tmp_path.glob("fetch-*"))


def test_a_key_that_leads_out_of_the_fetched_folder_is_refused(prefix, tmp_path, ctx):
    (source,) = resolve_inputs([SourceConfig(path=_put_dataset(prefix, FIXTURES / "bio"), format="bio")])
    (file, _), *_ = source.path.files
    escaping = RemoteFolder(source.path.fs, source.path.path, ((file, PurePosixPath("../../escaped")),))
    with pytest.raises(HonkdataError, match=r"^cannot read s3://.*: its key leads out of the folder$"):
        list(sources.Input(escaping, "bio", "bio", "curated").read(ctx, scratch=tmp_path))
    assert not list(tmp_path.rglob("escaped")) and not list(tmp_path.glob("fetch-*"))


def test_honkdata_anonymize_reads_a_url_as_it_reads_the_same_file_here(prefix, tmp_path, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    url = prefix.put("logs/log.jsonl", log)
    outputs = {}
    for name, source in (("here", str(log)), ("there", prefix.url("logs/"))):
        out = tmp_path / f"{name}.jsonl"
        done = runner.invoke(app, ["anonymize", "--in", source, "--out", str(out), "--json"])
        assert done.exit_code == 0, done.output
        report = json.loads(done.stdout)
        outputs[name] = (out.read_bytes(), report["rows_out"], report["pii_found"])
    assert outputs["there"] == outputs["here"] and outputs["here"][1] == len(events)

    gone = runner.invoke(app, ["anonymize", "--in", url + ".missing", "--out", str(tmp_path / "x.jsonl")])
    assert gone.exit_code != 0
    assert gone.stderr.splitlines() == [f"error: source not found: {url}.missing"]
    assert not (tmp_path / "x.jsonl").exists()


def _object(url: str) -> bytes:
    bucket, key = url.removeprefix("s3://").split("/", 1)
    return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_honkdata_anonymize_writes_to_a_url_what_it_writes_here(
    prefix, tmp_path, events, default_root, suffix
):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    here, there = tmp_path / f"here{suffix}", prefix.url(f"clean/day{suffix}")
    for out in (str(here), there):
        done = runner.invoke(app, ["anonymize", "--in", str(log), "--out", out, "--json"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.stdout)["path"] == out
    written = _object(there)
    if suffix == ".parquet":  # the same rows (the file's bytes may differ in its writer's metadata)
        assert pq.read_table(io.BytesIO(written)).equals(pq.read_table(here))
    else:
        assert written == here.read_bytes()
    assert not list((default_root / "_work").glob("anonymize-*"))  # the local copy is gone


def test_an_anonymize_output_that_cannot_be_uploaded_is_one_line_and_nothing_is_left(
    prefix, tmp_path, events, default_root
):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    nowhere = "s3://no-such-bucket-honkdata/clean/day.jsonl"
    failed = runner.invoke(app, ["anonymize", "--in", str(log), "--out", nowhere])
    assert failed.exit_code != 0
    (line,) = failed.stderr.splitlines()
    assert line.startswith(f"error: cannot write {nowhere}: ")
    assert not list((default_root / "_work").glob("anonymize-*"))


def test_an_anonymize_output_inside_its_input_prefix_is_refused(prefix, tmp_path, events):
    prefix.put("logs/log.jsonl", write_jsonl(tmp_path / "log.jsonl", events))
    for out in (prefix.url("logs/clean.jsonl"), prefix.url("logs/log.jsonl")):
        refused = runner.invoke(app, ["anonymize", "--in", prefix.url("logs/"), "--out", out])
        assert refused.exit_code != 0
        inside = f"would overwrite or land inside the input {prefix.url('logs/')}; choose another URL"
        assert refused.stderr.splitlines() == [f"error: --out {out} {inside}"]
    assert _object(prefix.url("logs/log.jsonl")) == (tmp_path / "log.jsonl").read_bytes()


def test_a_source_the_keys_may_not_read_is_one_line_and_one_they_may_read_builds(
    prefix, s3_user, tmp_path, events
):
    url = prefix.put("a.jsonl", write_jsonl(tmp_path / "a.jsonl", events))
    s3_user(["s3:ListBucket"])  # may list, not read
    denied = runner.invoke(app, ["build", "-s", url, "--root", str(tmp_path / "s"), "--k-anon", "1"])
    assert denied.exit_code != 0
    assert denied.stderr.splitlines() == [f"error: cannot read {url}: permission denied (Forbidden)"]
    assert SnapshotStore(tmp_path / "s").latest("music-queries") is None

    s3_user(["s3:ListBucket", "s3:GetObject"])
    built = runner.invoke(app, ["build", "-s", prefix.url(), "--root", str(tmp_path / "s"), "--k-anon", "1"])
    assert built.exit_code == 0, built.output
