"""Sources become inputs: globs and folders expanded, formats recognized, non-data files skipped."""

import shutil
from pathlib import Path

import pytest

from honkdata.config import SourceConfig
from honkdata.errors import HonkdataError
from honkdata.ingest.sources import SkippedFile, resolve_inputs

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "public"


def test_a_folder_skips_and_lists_files_that_are_not_data(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "2026" / ".ipynb_checkpoints").mkdir(parents=True)
    (logs / "README.md").write_text("# our logs\n")
    (logs / "notes.json").write_text('{"owner": "data team"}\n')
    (logs / "_SUCCESS").write_text("")
    (logs / "2026" / ".ipynb_checkpoints" / "a-checkpoint.jsonl").write_text('{"query": "old"}\n')
    (logs / "2026" / "a.jsonl").write_text('{"query": "play adele"}\n')
    (logs / "b.csv").write_text("query\nskip\n")
    shutil.copy(FIXTURES / "slurp" / "devel.jsonl", logs / "slurp.jsonl")
    skipped: list[SkippedFile] = []
    inputs = resolve_inputs([SourceConfig(path=str(logs))], skipped=skipped)
    assert [(i.path.relative_to(logs).as_posix(), i.format) for i in inputs] == [
        ("2026/a.jsonl", "jsonl"),
        ("b.csv", "csv"),
        ("slurp.jsonl", "slurp"),
    ]
    assert skipped == [
        SkippedFile(str(logs / "README.md"), "not a data file"),
        SkippedFile(str(logs / "notes.json"), "format not recognized"),
    ]


def test_a_named_file_is_never_skipped(tmp_path: Path) -> None:
    notes = tmp_path / "notes.json"
    notes.write_text('{"owner": "data team"}\n')
    with pytest.raises(HonkdataError, match="pass --format"):
        resolve_inputs([SourceConfig(path=str(notes))], skipped=[])


def test_a_folder_with_no_data_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("nothing here yet\n")
    with pytest.raises(HonkdataError, match="holds no data file"):
        resolve_inputs([SourceConfig(path=str(tmp_path))])


def test_an_explicit_format_still_skips_files_that_are_not_data(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# logs\n")
    (tmp_path / "a.jsonl").write_text('{"query": "play adele"}\n')
    skipped: list[SkippedFile] = []
    inputs = resolve_inputs([SourceConfig(path=str(tmp_path), format="jsonl")], skipped=skipped)
    assert [i.path.name for i in inputs] == ["a.jsonl"]
    assert [Path(s.path).name for s in skipped] == ["README.md"]
