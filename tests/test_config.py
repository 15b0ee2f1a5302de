import os
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from honkdata.config import load_config, memory_bytes
from honkdata.dedup.exact import ExactDedup
from honkdata.errors import HonkdataError
from honkdata.stage import StageStats


def test_defaults_build_the_shipped_sample():
    config = load_config()
    assert [s.path for s in config.sources] == ["data/samples/queries.jsonl"]
    assert config.split.train == 0.8


def test_shipped_build_config_is_valid():
    config = load_config(__import__("pathlib").Path("configs/build.yaml"))
    assert config.name == "music-queries"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("nmae: x\n", "nmae: Extra inputs are not permitted"),
        ("split:\n  train: 2\n", "split.train: Input should be less than or equal to 1"),
        ("split:\n  train: 0.5\n", "split: Value error, train \\+ validation \\+ test must sum to 1"),
        ("sources:\n  - format: jsonl\n", "sources.0.path: Field required"),
        ("ingest:\n  max_reject_rate: lots\n", "ingest.max_reject_rate: Input should be a valid number"),
        ("name: 'bad name/'\n", "name: String should match pattern"),
        ("- a list\n", "must be a mapping"),
        ("key: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_config_names_the_bad_key(tmp_path, yaml_text, message):
    path = tmp_path / "build.yaml"
    path.write_text(yaml_text)
    with pytest.raises(HonkdataError, match=message):
        load_config(path)


def test_missing_config_file():
    with pytest.raises(HonkdataError, match="config file not found"):
        load_config(__import__("pathlib").Path("nope.yaml"))


def test_overrides_win_and_fingerprint_ignores_where_things_are_stored():
    a = load_config(None, name="x", root="/tmp/a")
    b = load_config(None, name="x", root="/tmp/b", quarantine_dir="/tmp/q")
    assert a.name == "x" and a.fingerprint() == b.fingerprint()
    assert load_config(None, name="y").fingerprint() != a.fingerprint()


def _load(tmp_path, yaml_text: str):
    path = tmp_path / "build.yaml"
    path.write_text(yaml_text)
    return load_config(path)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        # Coerced before: `true` became k = 1 and turned the release threshold off.
        ("anonymize:\n  k_anonymity: true\n", "anonymize.k_anonymity: Input should be a valid integer"),
        ("ingest:\n  max_reject_rate: '0.1'\n", "ingest.max_reject_rate: Input should be a valid number"),
        ("ingest:\n  batch_rows: 100.0\n", "ingest.batch_rows: Input should be a valid integer"),
        ("labels:\n  weak: 1\n", "labels.weak: Input should be a valid boolean"),
        ("dedup:\n  near:\n    enabled: 'no'\n", "dedup.near.enabled: Input should be a valid boolean"),
    ],
)
def test_types_are_strict(tmp_path, yaml_text, message):
    with pytest.raises(HonkdataError, match=message):
        _load(tmp_path, yaml_text)


def test_ints_for_floats_dates_and_paths_still_load(tmp_path):
    config = _load(
        tmp_path,
        "split:\n  train: 1\n  validation: 0\n  test: 0\n"
        "ingest:\n  ts_earliest: 2001-02-03\n  ts_latest: '2030-01-01'\n"
        "anonymize:\n  dp:\n    epsilon: 2\n    delta: 1e-6\n"  # YAML 1.1 would make 1e-6 a string
        f"taxonomy: {Path('configs/taxonomy.yaml').resolve()}\n"
        f"labels:\n  gazetteers: {Path('configs/gazetteers').resolve()}\n",
    )
    assert config.split.train == 1.0 and isinstance(config.split.train, float)
    assert (config.ingest.ts_earliest, config.ingest.ts_latest) == (date(2001, 2, 3), date(2030, 1, 1))
    assert (config.anonymize.dp.epsilon, config.anonymize.dp.delta) == (2.0, 1e-6)


def test_k_anon_override_is_assigned_after_load_and_still_checked():
    config = load_config(Path("configs/build.yaml"))
    config.anonymize.k_anonymity = 1  # what `honkdata build --k-anon 1` does
    assert config.anonymize.k_anonymity == 1
    with pytest.raises(ValidationError):
        config.anonymize.k_anonymity = True


def test_every_error_is_reported_at_once_on_one_line(tmp_path):
    with pytest.raises(HonkdataError) as e:
        _load(tmp_path, "nmae: x\nsplit:\n  train: 2\ningest:\n  batch_rows: 0\n")
    message = str(e.value)
    assert "\n" not in message and "more)" not in message
    for part in (
        "nmae: Extra inputs",
        "split.train: Input should be less",
        "ingest.batch_rows: Input should",
    ):
        assert part in message


def test_min_chars_may_not_exceed_max_chars(tmp_path):
    with pytest.raises(
        HonkdataError, match=r"normalize: .*min_chars \(300\) must not exceed max_chars \(256\)"
    ):
        _load(tmp_path, "normalize:\n  min_chars: 300\n")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("taxonomy: nope.yaml\n", "taxonomy: no such file: .*/nope.yaml"),
        ("catalog: nope.csv\n", "catalog: no such file: .*/nope.csv"),
        ("labels:\n  functions: nope.yaml\n", "labels.functions: no such file: .*/nope.yaml"),
        ("labels:\n  gazetteers: configs/taxonomy.yaml\n", "labels.gazetteers: no such folder"),
    ],
)
def test_paths_that_must_exist_are_checked_on_load(tmp_path, yaml_text, message):
    with pytest.raises(HonkdataError, match=message):
        _load(tmp_path, yaml_text)


def test_a_key_given_twice_is_an_error_naming_it(tmp_path):
    text = "anonymize:\n  k_anonymity: 5\n  demo_key: true\n  k_anonymity: 1\nname: a\nname: b\n"
    with pytest.raises(
        HonkdataError, match=r"duplicate key anonymize\.k_anonymity \(line 4\), name \(line 6\)"
    ):
        _load(tmp_path, text)
    aliased = _load(tmp_path, "sources:\n  - &s {path: a.jsonl}\n  - *s\n")  # an alias is no duplicate
    assert [s.path for s in aliased.sources] == [str(tmp_path / "a.jsonl")] * 2


@pytest.mark.parametrize(
    "value", ["1GB'; COPY (SELECT 42) TO 'pwned.csv", "1GB\n; SET threads=1", "lots", "1 XB", "GB", "-1GB"]
)
def test_memory_limit_must_be_a_size(tmp_path, value):
    with pytest.raises(HonkdataError, match="memory_limit: expected a size such as 1GB") as e:
        load_config(None, memory_limit=value)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("value", ["1GB", "512MiB", "1.5 gb", "2048kb", "50%"])
def test_every_accepted_memory_limit_is_one_duckdb_takes(tmp_path, value):
    assert load_config(None, memory_limit=value).memory_limit == value
    ExactDedup(tmp_path / "work", value).finish(StageStats("exact_dedup"))


def test_memory_limit_never_becomes_sql(tmp_path, monkeypatch):
    """ExactDedup is also called directly: the value goes to DuckDB as a setting, not as SQL text."""
    monkeypatch.chdir(tmp_path)
    crafted = "1GB'; COPY (SELECT 42) TO 'pwned.csv"
    with pytest.raises(HonkdataError, match="DuckDB cannot start with memory_limit"):
        ExactDedup(tmp_path / "work", crafted)
    assert not (tmp_path / "pwned.csv").exists()
    # A quote in the work folder (a user's home, say) is only a path, too.
    ExactDedup(tmp_path / "o'neil", "1GB").finish(StageStats("exact_dedup"))


def test_memory_sizes_read_as_duckdb_reads_them():
    assert memory_bytes("1.5GB") == 1_500_000_000 and memory_bytes("512MiB") == 512 * 2**20
    assert memory_bytes("2 kb") == 2000
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_bytes("50%") == int(ram / 2)
