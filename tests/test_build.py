import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from honkdata.anonymize.release import EVENTS_IN_REMOVED
from honkdata.build import build
from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.schema import SNAPSHOT
from honkdata.snapshot.diff import diff_snapshots
from honkdata.snapshot.store import SnapshotStore
from honkdata.split import CLUSTERS_MOVED_FROM_PARENT, ROWS_CARVED, ROWS_KEPT_OFFICIAL, ROWS_MOVED
from tests.conftest import BUILD_STAGES, write_jsonl


def _all_rows(path: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted((path / "data").glob("*.parquet"))])


def test_build_publishes_the_contract_layout(tmp_path, make_config, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    csv = tmp_path / "more.csv"
    csv.write_text("query,user_id\nskip,u9\nplay abba,u9\n")
    parquet = tmp_path / "more.parquet"
    pq.write_table(pa.table({"query": ["Play ABBA", "pause"], "user_id": ["u8", "u8"]}), parquet)
    result = build(make_config(log, csv, parquet, name="music"))

    assert str(result.ref) == "music@v1" and result.path == tmp_path / "store" / "music" / "v0001"
    files = sorted(str(p.relative_to(result.path)) for p in result.path.rglob("*"))
    data = sorted(e["file"] for e in result.manifest["splits"].values() if e["rows"])
    assert files == sorted(["README.md", "data", "manifest.json", *data])
    # Six rows cannot fill three splits; datasets cannot load an empty file, so there is none.
    assert all((e["file"] is None) == (e["rows"] == 0) for e in result.manifest["splits"].values())
    assert all(f.startswith("data/") and f.endswith("-00000-of-00001.parquet") for f in data)
    rows = _all_rows(result.path)
    assert pq.read_schema(result.path / "data/train-00000-of-00001.parquet").names == SNAPSHOT.names
    assert sorted(rows["text"].str.lower()) == sorted(
        [
            "play taylor swift",
            "skip",
            "something chill for studying",
            "add this to my gym playlist",
            "play abba",
            "pause",
        ]
    )
    swift = rows[rows["text"] == "play taylor swift"].iloc[0]
    assert (swift["count"], swift["n_users"]) == (3, 2)
    assert "user_id" not in rows.columns and not rows["id"].duplicated().any()

    m = result.manifest
    assert json.loads((result.path / "manifest.json").read_text()) == m
    assert {
        "name",
        "version",
        "parent_version",
        "created_at",
        "honkdata_version",
        "config",
        "config_hash",
        "inputs",
        "stages",
        "splits",
        "label_distribution",
        "source_distribution",
        "content_hash",
    } <= set(m)
    assert [(i["format"], i["kind"], i["rows_read"]) for i in m["inputs"]] == [
        ("jsonl", "user_log", 6), ("csv", "user_log", 2), ("parquet", "user_log", 2),
    ]  # fmt: skip
    assert all(len(i["sha256"]) == 64 and i["size"] > 0 for i in m["inputs"])
    assert list(m["stages"]) == list(BUILD_STAGES)
    assert m["stages"]["exact_dedup"]["rows_in"] == 10 and m["stages"]["exact_dedup"]["rows_out"] == 6
    assert sum(s["rows"] for s in m["splits"].values()) == 6 == m["rows"]
    assert m["source_distribution"] == {"log.jsonl": 4, "more.csv": 2, "more.parquet": 2}


def test_same_inputs_and_config_give_the_same_content_hash(tmp_path, make_config, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    first = build(make_config(log, root=str(tmp_path / "a")))
    second = build(make_config(log, root=str(tmp_path / "b")))
    assert first.manifest["content_hash"] == second.manifest["content_hash"]
    assert first.manifest["config_hash"] == second.manifest["config_hash"]
    write_jsonl(log, [*events, {"query": "play one more thing", "user_id": "u1"}])
    third = build(make_config(log, root=str(tmp_path / "c")))
    assert third.manifest["content_hash"] != first.manifest["content_hash"]


def test_splits_are_stable_across_versions(tmp_path, make_config):
    first = [{"query": f"play song number {i}", "user_id": f"u{i % 7}"} for i in range(400)]
    log = write_jsonl(tmp_path / "v1.jsonl", first)
    v1 = build(make_config(log))
    before = _all_rows(v1.path).set_index("id")["split"]
    more = write_jsonl(
        tmp_path / "v2.jsonl", [{"query": f"play track {i}", "user_id": "u1"} for i in range(400)]
    )
    v2 = build(make_config(log, more))
    after = _all_rows(v2.path).set_index("id")["split"]
    assert v2.manifest["parent_version"] == 1
    assert (after[before.index] == before).all()
    assert (before == "test").sum() == 40
    diff = diff_snapshots(SnapshotStore(tmp_path / "store"), v1.ref, v2.ref)
    assert (diff["rows_added"], diff["rows_removed"], diff["rows_kept"], diff["rows_moved_split"]) == (
        400,
        0,
        400,
        0,
    )


def test_reject_rate_above_the_limit_writes_no_snapshot(tmp_path, make_config):
    log = tmp_path / "log.jsonl"
    log.write_text('{"query": "play abba"}\n{broken\n{"query": "skip"}\n{"user": 1}\n')
    with pytest.raises(HonkdataError, match=r"2 of 4 input rows rejected \(50.0%\).*nothing written"):
        build(make_config(log))
    assert SnapshotStore(tmp_path / "store").versions("music-queries") == []
    quarantine = next((tmp_path / "store" / "_quarantine").rglob("*.jsonl"))
    assert [json.loads(line)["line"] for line in quarantine.read_text().splitlines()] == [2, 4]
    assert (quarantine.stat().st_mode & 0o777) == 0o600
    assert (quarantine.parent.stat().st_mode & 0o777) == 0o700
    assert ((tmp_path / "store" / "_quarantine").stat().st_mode & 0o777) == 0o700
    # Within the limit, the same file builds and the manifest counts what was quarantined.
    result = build(make_config(log, ingest={"max_reject_rate": 0.5}))
    assert result.manifest["inputs"][0]["rows_rejected"] == 2
    assert result.manifest["quarantine"]["rows"] == 2


def test_missing_source_and_empty_input_are_clear_errors(tmp_path, make_config):
    with pytest.raises(HonkdataError, match=r"source not found: .*nope\.jsonl"):
        build(make_config(tmp_path / "nope.jsonl"))
    with pytest.raises(HonkdataError, match="source not found"):
        build(make_config(str(tmp_path / "*.jsonl")))
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(HonkdataError, match="no usable rows"):
        build(make_config(tmp_path / "empty.jsonl"))


def test_snapshot_loads_with_datasets_duckdb_and_pandas(tmp_path, make_config, events):
    from datasets import load_dataset

    more = [{"query": f"play song number {i}", "user_id": "u1"} for i in range(30)]
    result = build(make_config(write_jsonl(tmp_path / "log.jsonl", events + more)))
    by_card = load_dataset(str(result.path))
    by_dir = load_dataset("parquet", data_dir=str(result.path / "data"))
    for ds in (by_card, by_dir):
        assert set(ds) == {"train", "validation", "test"}
        assert sum(ds[s].num_rows for s in ds) == result.manifest["rows"]
    assert by_card["train"].features["entities"].feature["start"].dtype == "int32"
    n = duckdb.sql(f"SELECT count(*) FROM read_parquet('{result.path}/data/*.parquet')").fetchall()[0][0]
    assert n == result.manifest["rows"]


def _big_log(path: Path, n: int) -> Path:
    with open(path, "w") as f:
        for i in range(n):
            query = f"play song number {i % 50_000} by artist {i % 977}"
            f.write(f'{{"query": "{query}", "user_id": "u{i % 5000}"}}\n')
    return path


_BUILD_SCRIPT = """
import sys
from honkdata.build import build
from honkdata.config import load_config
from honkdata.errors import HonkdataError, HonkdataWarning
config = load_config(None, sources=[{"path": sys.argv[1]}], root=sys.argv[2], anonymize={"k_anonymity": 1})
try:
    build(config, force=True)  # a second build that starts after the first ends must write, not skip
except HonkdataError as e:
    print(e, file=sys.stderr)
    sys.exit(2)
"""


def _start_build(log: Path, root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _BUILD_SCRIPT, str(log), str(root)],
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )


def test_kill_9_at_any_point_leaves_no_visible_snapshot(tmp_path):
    log = _big_log(tmp_path / "big.jsonl", 300_000)
    root = tmp_path / "store"
    store = SnapshotStore(root)
    for delay in (0.5, 1.5, 2.5, 3.5):
        proc = _start_build(log, root)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for version in store.versions("music-queries"):  # anything visible is complete
            manifest = store.manifest(store.resolve(f"music-queries@{version}"))
            assert all(
                (store.path(store.resolve(f"music-queries@{version}")) / s["file"]).is_file()
                for s in manifest["splits"].values()
            )
        visible = (
            [p.name for p in (root / "music-queries").iterdir()] if (root / "music-queries").exists() else []
        )
        assert all(
            name.startswith(".") or (root / "music-queries" / name / "manifest.json").exists()
            for name in visible
        )
    done = _start_build(log, root)
    assert done.wait() == 0, done.stderr.read()
    assert not [p for p in (root / "music-queries").iterdir() if p.name.startswith(".staging")]


def test_sigterm_unwinds_like_ctrl_c(tmp_path):
    log = _big_log(tmp_path / "big.jsonl", 300_000)
    root = tmp_path / "store"
    command = ["build", "-s", str(log), "--root", str(root), "--k-anon", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "honkdata.cli", *command], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not list(root.glob("music-queries/.staging-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    code, stderr = proc.wait(timeout=60), proc.stderr.read()
    assert code == 128 + signal.SIGTERM and "terminated; nothing was published" in stderr, stderr
    assert [p.name for p in (root / "music-queries").iterdir()] == [".lock"]  # no staging left behind


def test_two_builds_at_once_never_corrupt_the_store(tmp_path):
    log = _big_log(tmp_path / "big.jsonl", 100_000)
    root = tmp_path / "store"
    procs = [_start_build(log, root) for _ in range(2)]
    codes = [p.wait() for p in procs]
    errors = [p.stderr.read() for p in procs]
    store = SnapshotStore(root)
    assert len(store.versions("music-queries")) == codes.count(0) >= 1
    for code, error in zip(codes, errors, strict=True):
        if code:
            assert code == 2 and "another build is writing 'music-queries'" in error
    hashes = {
        store.manifest(store.resolve(f"music-queries@{v}"))["content_hash"]
        for v in store.versions("music-queries")
    }
    assert len(hashes) == 1
    os.sync()


def test_every_public_format_builds_together_with_a_raw_log(tmp_path, make_config, events):
    from tests.conftest import FIXTURES

    public = FIXTURES / "public"
    sources = [
        public / "snips",
        public / "bio",
        public / "slurp" / "devel.jsonl",
        public / "massive" / "en-US.jsonl",
        public / "cpcd",
        public / "labeled" / "queries.jsonl",
        write_jsonl(tmp_path / "log.jsonl", events),
    ]
    result = build(make_config(*sources))
    formats = [(i["format"], i["kind"]) for i in result.manifest["inputs"]]
    assert formats == [
        (f, "curated") for f in ("snips", "bio", "slurp", "massive", "cpcd", "labeled-jsonl")
    ] + [("jsonl", "user_log")]
    rows = _all_rows(result.path)
    labeled = rows[rows["label_source"] == "gold"]
    assert set(labeled["intent"]) <= set(__import__("honkdata.taxonomy").taxonomy.load_taxonomy().intents)
    assert {"play_music", "playlist_add", "out_of_domain"} <= set(labeled["intent"])
    for text, entities in zip(labeled["text"], labeled["entities"], strict=True):
        for entity in entities if entities is not None else []:
            assert text[entity["start"] : entity["end"]] == entity["text"]
    pizza = rows[rows["text"].str.contains("Pop Punk Perfection")]
    assert "🍕" in pizza["text"].iloc[0]  # the CESU-8 bytes of the Snips export were repaired
    assert sum(i["rows_repaired"] for i in result.manifest["inputs"]) >= 1


def test_the_default_config_builds_the_shipped_sample(tmp_path):
    from honkdata.config import load_config

    config = load_config(Path("configs/build.yaml"), root=str(tmp_path / "store"))
    result = build(config)
    inputs = {i["path"]: i for i in result.manifest["inputs"]}
    assert inputs["data/samples/queries.jsonl"]["rows_rejected"] == 0
    assert inputs["data/samples/snips"]["rows_read"] == 2_800  # the labeled set the demo trains on
    rows = pd.read_parquet(result.path / "data")
    assert set(rows.loc[rows["label_source"] == "gold", "split"]) == {"train", "validation", "test"}
    # k=5 keeps the head of the Zipf-like log: a few hundred queries, most of the events.
    assert result.manifest["rows"] > 300
    assert result.manifest["stages"]["release"]["notes"][EVENTS_IN_REMOVED] < 10_000
    assert min(s["rows"] for s in result.manifest["splits"].values()) > 20


def test_a_folder_of_logs_is_read_file_by_file(tmp_path, make_config, events):
    logs = tmp_path / "logs"
    (logs / "2026-09").mkdir(parents=True)
    write_jsonl(logs / "2026-09" / "a.jsonl", events[:3])
    write_jsonl(logs / "b.jsonl", events[3:])
    (logs / "c.csv").write_text("query,user_id\nplay abba,u1\n")
    (logs / "README.md").write_text("# logs of September\n")  # not data: skipped, listed, warned
    (logs / "notes.jsonl").write_text('{"note": "not a query log"}\n')
    with pytest.warns(HonkdataWarning, match="2 files in source folders are not data"):
        result = build(make_config(logs))
    assert [Path(i["path"]).name for i in result.manifest["inputs"]] == ["a.jsonl", "b.jsonl", "c.csv"]
    assert sum(i["rows_read"] for i in result.manifest["inputs"]) == len(events) + 1
    skipped = {Path(f["path"]).name: f["reason"] for f in result.manifest["skipped_files"]}
    assert skipped == {"README.md": "not a data file", "notes.jsonl": "format not recognized"}


PUBLIC = Path(__file__).parent / "fixtures" / "public"
SNIPS_GOO = Path(__file__).resolve().parents[2] / "shared" / "data" / "public" / "snips-goo"


def _in_part(rows: pd.DataFrame, part: str) -> pd.Series:
    """Per row: did one of its sources put it in `part`?"""
    return rows["sources"].map(lambda sources: any(s["split"] == part for s in sources))


def _ids_of(sentences_file: Path) -> set[str]:
    """The row ids of a bio part's sentences (a hash of the normalized key, as exact dedup makes them)."""
    import hashlib

    from honkdata.normalize import grouping_key, normalize_text

    text = normalize_text(pa.array(sentences_file.read_text().splitlines()))
    return {hashlib.md5(k.encode()).hexdigest()[:16] for k in grouping_key(text).to_pylist()}


@pytest.mark.skipif(not SNIPS_GOO.is_dir(), reason="../shared/data/public/snips-goo is not here")
def test_the_standard_snips_split_keeps_its_test_and_dev_sentences(tmp_path, make_config):
    exact = build(make_config(SNIPS_GOO, dedup={"near": {"enabled": False}}, root=str(tmp_path / "a")))
    rows = _all_rows(exact.path).set_index("id")
    test, dev = _ids_of(SNIPS_GOO / "test" / "seq.in"), _ids_of(SNIPS_GOO / "dev" / "seq.in")
    assert len(test) == 699 and len(dev) == 695  # 700 sentences each, a few repeated
    assert (rows.loc[sorted(test), "split"] == "test").all()
    assert (rows.loc[sorted(dev - test), "split"] == "validation").all()  # one dev sentence is also in test
    assert exact.manifest["splits"]["test"]["rows"] == 699
    assert exact.manifest["splits"]["validation"]["rows"] == 694
    breakdowns = exact.manifest["stages"]["split"]["breakdowns"]
    assert (
        exact.manifest["splits"]["train"]["rows"] == 12_820
    )  # 12,859 queries, 39 of them also in dev or test
    assert breakdowns[ROWS_MOVED] == {"train->test": 25, "train->validation": 14, "validation->test": 1}
    assert ROWS_CARVED not in breakdowns  # it has all three parts
    # With near-duplicate merging, whole clusters follow their most protected member.
    merged = _all_rows(build(make_config(SNIPS_GOO, root=str(tmp_path / "b"))).path)
    assert set(merged.loc[_in_part(merged, "test"), "split"]) == {"test"}
    assert set(merged.loc[_in_part(merged, "validation") & ~_in_part(merged, "test"), "split"]) == {
        "validation"
    }


def test_bio_folders_keep_their_split_and_a_missing_part_is_carved(make_config):
    result = build(make_config(PUBLIC / "bio"))  # train/ and test/, no dev/
    rows = _all_rows(result.path).set_index("id")
    assert (rows.loc[sorted(_ids_of(PUBLIC / "bio" / "test" / "seq.in")), "split"] == "test").all()
    assert result.manifest["splits"]["test"]["rows"] == 10
    validation = rows[rows["split"] == "validation"]
    assert len(validation) == result.manifest["stages"]["split"]["breakdowns"][ROWS_CARVED]["validation"] > 0
    assert all(_in_part(validation, "train"))
    assert rows["sources"].map(lambda s: [e["name"] for e in s] == ["bio"]).all()


def test_snips_2017_keeps_train_and_validate_and_gets_a_carved_test(tmp_path, make_config):
    result = build(make_config(PUBLIC / "snips"))
    rows = _all_rows(result.path)
    by_split = rows.groupby("split")["source_intent"].agg(set).to_dict()
    assert by_split["validation"] == {"AddToPlaylist"}  # validate_AddToPlaylist.json, all of it
    assert result.manifest["splits"]["validation"]["rows"] == 8
    test = rows[rows["split"] == "test"]
    carved = result.manifest["stages"]["split"]["breakdowns"][ROWS_CARVED]
    assert carved["test"] == len(test) > 0 and "AddToPlaylist" not in by_split["test"]
    assert all(_in_part(test, "train"))
    again = build(make_config(PUBLIC / "snips", root=str(tmp_path / "again")))
    assert again.manifest["content_hash"] == result.manifest["content_hash"]  # carving is deterministic


def _variants_log(path: Path, fmt: str, source: Path) -> Path:
    """A user log asking every query of a public source in other spellings, each more often than the
    source does, so that the published text is a variant and not the gold query."""
    from honkdata.ingest.formats import PUBLIC_READERS
    from honkdata.ingest.source import SourceContext
    from honkdata.taxonomy import load_taxonomy

    ctx = SourceContext(name="x", taxonomy=load_taxonomy(), on_reject=lambda *args: None)
    queries = [q for batch in PUBLIC_READERS[fmt](source, ctx) for q in batch.column("query").to_pylist()]
    variants = [v for q in queries for v in (q.lower().rstrip(".!?"), q.upper() + "!?") for _ in range(3)]
    return write_jsonl(path, [{"query": v, "user_id": f"u{i % 7}"} for i, v in enumerate(variants)])


@pytest.mark.parametrize(
    ("fmt", "source"),
    [
        ("snips", PUBLIC / "snips"),
        ("bio", PUBLIC / "bio"),
        ("slurp", PUBLIC / "slurp" / "devel.jsonl"),
        ("massive", PUBLIC / "massive" / "en-US.jsonl"),
        ("massive", PUBLIC / "massive" / "fr-FR.jsonl"),
        ("cpcd", PUBLIC / "cpcd" / "cpcd_v1.dialogs.sample.jsonl"),
        ("labeled-jsonl", PUBLIC / "labeled" / "queries.jsonl"),
    ],
)
def test_published_spans_hold_their_invariants_for_every_public_format(tmp_path, make_config, fmt, source):
    import itertools

    from honkdata.taxonomy import load_taxonomy

    result = build(make_config(source, _variants_log(tmp_path / "variants.jsonl", fmt, source)))
    rows = _all_rows(result.path)
    assert rows["id"].is_unique and set(rows["intent"].dropna()) <= set(load_taxonomy().intents)
    for column in ("entities", "source_entities"):
        for text, found in zip(rows["text"], rows[column], strict=True):
            spans = sorted(found if found is not None else [], key=lambda s: s["start"])
            for span in spans:
                assert 0 <= span["start"] < span["end"] <= len(text), (column, text, span)
                assert text[span["start"] : span["end"]] == span["text"], (column, text, span)
            assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(spans)), (column, text)


def test_snapshot_rows_keep_the_sources_own_labels(make_config):
    result = build(make_config(PUBLIC / "snips", PUBLIC / "slurp" / "devel.jsonl", PUBLIC / "cpcd"))
    rows = _all_rows(result.path).set_index("text")
    aspro = rows.loc["I need to hear the song Aspro Mavro from Bill Szymczyk on Youtube"]
    assert (aspro["intent"], aspro["source_intent"]) == ("play_music", "PlayMusic")
    assert [(e["type"], e["text"]) for e in aspro["source_entities"]] == [
        ("music_item", "song"),
        ("track", "Aspro Mavro"),
        ("artist", "Bill Szymczyk"),
        ("service", "Youtube"),
    ]
    dynamite = rows.loc["play dynamite by acdc"]
    assert dynamite["source_intent"] == "play_music"
    assert [e["type"] for e in dynamite["source_entities"]] == ["song_name", "artist_name"]
    cpcd = rows[rows["sources"].map(lambda s: s[0]["name"] == "cpcd_v1.dialogs.sample.jsonl")]
    assert len(cpcd) and cpcd["source_intent"].isna().all() and cpcd["source_entities"].isna().all()
    assert sorted(rows.loc["play dynamite by acdc", "sources"], key=str) == [
        {"name": "devel.jsonl", "split": "validation"}
    ]


def test_a_query_in_several_official_splits_goes_to_the_most_protected(tmp_path, make_config):
    def row(query: str, split: str) -> dict:
        return {"query": query, "intent": "play_music", "split": split}

    queries = [
        row("play abba", "train"),
        row("Play ABBA!", "test"),  # the same query in test: test wins
        row("play taylor swift", "train"),
        row("play taylor swif", "validation"),  # a near duplicate in validation: the cluster goes there
        row("play madonna", "dev"),
        row("play madonna please", "test"),
        *[row(f"play song number {i}", "train") for i in range(20)],
    ]
    result = build(make_config(write_jsonl(tmp_path / "labeled.jsonl", queries)))
    rows = _all_rows(result.path)
    rows = rows.set_index(rows["text"].str.lower().str.rstrip("!"))
    assert rows.loc["play abba", "split"] == "test"
    # The cluster stands in validation for its validation member, whose text it shows.
    assert rows.loc["play taylor swif", "split"] == "validation" and "play taylor swift" not in rows.index
    assert rows.loc["play madonna please", "split"] == "test"
    assert {s["split"] for s in rows.loc["play abba", "sources"]} == {"train", "test"}
    moves = result.manifest["stages"]["split"]["breakdowns"][ROWS_MOVED]
    assert moves == {"train->test": 1, "train->validation": 1, "validation->test": 1}


def test_resplit_ignores_a_sources_split_and_keep_wins_over_the_parent(make_config):
    config = make_config(PUBLIC / "bio")
    config.sources[0].split = "resplit"
    v1 = build(config)
    assert ROWS_KEPT_OFFICIAL not in v1.manifest["stages"]["split"]["notes"]
    test = sorted(_ids_of(PUBLIC / "bio" / "test" / "seq.in"))
    assert (_all_rows(v1.path).set_index("id").loc[test, "split"] != "test").any()
    v2 = build(make_config(PUBLIC / "bio"))  # keep, the default: the parent does not hold the test part
    assert (_all_rows(v2.path).set_index("id").loc[test, "split"] == "test").all()
    notes = v2.manifest["stages"]["split"]["notes"]
    assert notes[CLUSTERS_MOVED_FROM_PARENT] > 0
