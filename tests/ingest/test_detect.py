"""`--format auto`: each source's format is recognized from its shape, peeking only at its start."""

import gzip
import shutil
from pathlib import Path

import pytest

from honkdata.errors import HonkdataError
from honkdata.ingest.detect import PEEK_BYTES, detect_format

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "public"


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("snips", "snips"),
        ("snips/train_PlayMusic.json", "snips"),  # pretty-printed, invalid UTF-8 further down
        ("snips/train_SearchCreativeWork.json", "snips"),  # one line
        ("bio", "bio"),  # train/ and test/ subfolders
        ("bio/test", "bio"),
        ("slurp/devel.jsonl", "slurp"),
        ("massive/en-US.jsonl", "massive"),
        ("cpcd/cpcd_v1.dialogs.sample.jsonl", "cpcd"),
        ("labeled/queries.jsonl", "labeled-jsonl"),
    ],
)
def test_fixtures_are_recognized(path: str, fmt: str) -> None:
    assert detect_format(FIXTURES / path) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("logs.csv", "csv"), ("logs.tsv", "csv"), ("logs.csv.gz", "csv"), ("part-0.parquet", "parquet")],
)
def test_tabular_files_by_extension(tmp_path: Path, name: str, fmt: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    assert detect_format(path) == fmt


def test_raw_log_and_labeled_rows(tmp_path: Path) -> None:
    raw = tmp_path / "queries.jsonl"
    raw.write_text('{"query": "play adele", "user_id": "u1", "ts": 1700000000}\n')
    assert detect_format(raw) == "jsonl"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert detect_format(empty) == "jsonl"
    labeled = tmp_path / "labeled.ndjson"
    labeled.write_text('{"query": "play adele", "intent": "play_music"}\n')
    assert detect_format(labeled) == "labeled-jsonl"


def test_gzip_and_a_broken_first_line(tmp_path: Path) -> None:
    path = tmp_path / "devel.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n{broken\n" + (FIXTURES / "slurp" / "devel.jsonl").read_bytes()))
    assert detect_format(path) == "slurp"
    snips = tmp_path / "train_PlayMusic.json.gz"
    snips.write_bytes(gzip.compress((FIXTURES / "snips" / "train_PlayMusic.json").read_bytes()))
    assert detect_format(snips) == "snips"


def test_only_the_start_of_a_big_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as fh:
        fh.write(b'{"query": "play adele", "user_id": "u1"}\n')
        fh.write(b"\xff" * (4 * PEEK_BYTES))  # past the peek: never read
    assert detect_format(path) == "jsonl"


def test_a_folder_named_like_bio_splits_needs_seq_in(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "bio" / "test", tmp_path / "dev")
    assert detect_format(tmp_path) == "bio"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", "play adele\nplay queen\n"),
        ("list.json", '[{"query": "play adele"}]'),
        ("other.jsonl", '{"text": "play adele", "label": "music"}\n'),
        ("empty.json", ""),
    ],
)
def test_unknown_shapes_ask_for_format(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(HonkdataError, match="pass --format") as excinfo:
        detect_format(path)
    assert str(path) in str(excinfo.value)


def test_unknown_folder_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "readme.md").write_text("hello")
    with pytest.raises(HonkdataError, match="pass --format"):
        detect_format(tmp_path)
    with pytest.raises(HonkdataError, match="does not exist"):
        detect_format(tmp_path / "missing.jsonl")


def test_an_odd_first_line_is_outvoted_by_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text('["query", "user_id"]\n{"query": "play adele", "user_id": "u1"}\n{"query": "skip"}\n')
    assert detect_format(path) == "jsonl"
    stray = tmp_path / "slurp.jsonl"
    stray.write_text('{"query": "x"}\n' + (FIXTURES / "slurp" / "devel.jsonl").read_text())
    assert detect_format(stray) == "slurp"


def test_a_byte_order_mark_does_not_hide_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"query": "play adele", "intent": "play_music"}\n')
    assert detect_format(path) == "labeled-jsonl"


def test_no_majority_asks_for_format(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"query": "play adele"}\n{"text": "play adele"}\n')
    with pytest.raises(HonkdataError, match="pass --format"):
        detect_format(path)
