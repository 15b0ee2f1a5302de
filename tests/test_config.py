import pytest

from honkdata.config import load_config
from honkdata.errors import HonkdataError


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
