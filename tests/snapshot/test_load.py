import logging
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import datasets
import pandas as pd
import pyarrow.parquet as pq
import pytest
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2

import honkdata
from honkdata.build import BuildResult, build
from honkdata.errors import HonkdataError
from honkdata.schema import SPLITS
from honkdata.taxonomy import load_taxonomy
from tests.conftest import FIXTURES, write_jsonl

SNIPS, SLURP = FIXTURES / "public" / "snips", FIXTURES / "public" / "slurp" / "devel.jsonl"
# The weak labeling functions abstain on the gibberish: those rows stay unlabeled.
LOG = [
    {"query": "qwzx vlorp", "user_id": "u1"},
    {"query": "blorf", "user_id": "u2"},
    {"query": "play abba", "user_id": "u3"},
    {"query": "skip", "user_id": "u4"},
]


@pytest.fixture
def versions(tmp_path: Path, make_config) -> tuple[BuildResult, BuildResult]:
    """v1 from the public fixtures (gold only), v2 with a small user log added (weak and unlabeled)."""
    first = build(make_config(SNIPS, SLURP))
    second = build(make_config(SNIPS, SLURP, write_jsonl(tmp_path / "log.jsonl", LOG)))
    return first, second


@contextmanager
def no_warnings() -> Iterator[None]:
    """Fail if anything warns: Python warnings, or records on the `datasets` logger (it logs them)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("datasets")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == []
    assert [str(w.message) for w in caught] == []


def _load(path: Path) -> datasets.DatasetDict:
    with no_warnings():
        return datasets.load_dataset(str(path))


def test_load_dataset_reads_the_card_without_a_warning_and_intent_is_the_taxonomy(versions):
    intents = load_taxonomy().intents
    for result in versions:
        ds = _load(result.path)
        assert list(ds) == list(SPLITS)
        for split in ds.values():
            assert isinstance(split.features["intent"], datasets.ClassLabel)
            assert split.features["intent"].names == intents


def test_every_split_and_version_gives_an_intent_the_same_id(versions):
    ids: dict[str, set[int]] = {}
    for result in versions:
        ds = _load(result.path)
        for name, split in ds.items():
            names = pq.read_table(result.path / f"data/{name}-00000-of-00001.parquet").column("intent")
            for label, id_ in zip(names.to_pylist(), split["intent"], strict=True):
                if label is not None:
                    ids.setdefault(label, set()).add(id_)
    assert ids == {label: {load_taxonomy().intents.index(label)} for label in ids}
    assert len(ids) > 3 and ids["play_music"] == {0}  # the example: once 5, 4 and 3


def test_unlabeled_rows_are_none_and_one_line_leaves_them_out(versions):
    result = versions[1]
    ds = _load(result.path)
    frame = honkdata.load_snapshot_pandas(f"{result.ref}", root=result.path.parent.parent)
    unlabeled = int(frame["intent"].isna().sum())
    assert unlabeled >= 2 and frame.loc[frame["intent"].isna(), "label_source"].isna().all()
    assert sum(row is None for split in ds.values() for row in split["intent"]) == unlabeled

    labeled = ds.filter(lambda row: row["intent"] is not None)

    assert sum(split.num_rows for split in labeled.values()) == result.manifest["rows"] - unlabeled


def test_parquet_readers_see_the_intent_names(versions):
    path = versions[0].path
    assert pd.read_parquet(path / "data")["intent"].isin(load_taxonomy().intents).all()


def test_seqeval_scores_the_loaded_tags_as_they_are(versions):
    train = _load(versions[0].path)["train"]
    assert any(tag != "O" for tags in train["tags"] for tag in tags)
    assert f1_score(train["tags"], train["tags"], mode="strict", scheme=IOB2) == 1.0
    native = train.filter(lambda row: row["source_tags"] is not None)["source_tags"]
    assert f1_score(native, native, mode="strict", scheme=IOB2) == 1.0


def test_load_snapshot_is_load_dataset_by_ref(versions):
    first, second = versions
    root = first.path.parent.parent
    for ref, result in (("music-queries@v1", first), ("music-queries@latest", second)):
        with no_warnings():
            ds = honkdata.load_snapshot(ref, root=root)
        assert isinstance(ds, datasets.DatasetDict)
        assert {name: split.num_rows for name, split in ds.items()} == {
            name: entry["rows"] for name, entry in result.manifest["splits"].items()
        }
        assert ds["train"]["id"] == _load(result.path)["train"]["id"]


def test_load_snapshot_pandas_has_every_split_and_the_names(versions):
    result = versions[1]
    frame = honkdata.load_snapshot_pandas("music-queries", root=result.path.parent.parent)
    assert len(frame) == result.manifest["rows"]
    assert frame["split"].value_counts().to_dict() == {
        name: entry["rows"] for name, entry in result.manifest["splits"].items() if entry["rows"]
    }
    assert "play_music" in set(frame["intent"])
    narrow = honkdata.load_snapshot_pandas(
        "music-queries@v2", root=result.path.parent.parent, columns=["text"]
    )
    assert list(narrow.columns) == ["text", "split"]


def test_the_default_root_is_honkdata_root(make_config, default_root):
    build(make_config(SNIPS, root=str(default_root)))
    assert honkdata.load_snapshot_pandas()["text"].str.len().gt(0).all()
    assert set(honkdata.load_snapshot()) <= set(SPLITS)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("nothing-here", "no snapshots named 'nothing-here'"),
        ("music-queries@v9", "music-queries has no version v9"),
        ("music-queries@first", "first"),
        ("../music-queries", "bad dataset name"),
    ],
)
def test_a_bad_ref_is_one_line(versions, ref, message):
    root = versions[0].path.parent.parent
    for load in (honkdata.load_snapshot, honkdata.load_snapshot_pandas):
        with pytest.raises(HonkdataError, match=message) as error:
            load(ref, root=root)
        assert "\n" not in str(error.value)


def test_honkdata_imports_without_pyarrow_or_datasets():
    code = "import sys, honkdata; print([m for m in ('pyarrow', 'datasets', 'pandas') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_examples_of_data_readme_run(tmp_path, make_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HONKDATA_ROOT", "data/snapshots")
    build(make_config(SNIPS, SLURP, root="data/snapshots"))
    readme = Path(__file__).parents[2] / "data" / "README.md"
    ds = honkdata.load_snapshot()
    # What the examples take as given: a loaded snapshot, and a model's predicted tags.
    scope = {"ds": ds, "df": honkdata.load_snapshot_pandas(), "predicted_tags": ds["validation"]["tags"]}
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        exec(block, scope)
