"""The quarantine writes owner-only files into folders it owns, and never through a symbolic link."""

import json
import os
from pathlib import Path

import pytest

from honkdata.errors import HonkdataError
from honkdata.ingest.quarantine import MAX_RAW_CHARS, Quarantine


def mode(path: Path) -> int:
    return path.lstat().st_mode & 0o7777


def test_a_shared_folder_keeps_its_mode_and_only_honkdatas_folder_is_owner_only(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    quarantine = Quarantine(shared / "music-queries" / "q.jsonl")
    quarantine.reject("logs.jsonl", 3, "invalid JSON", b"{oops")
    quarantine.close()
    assert mode(shared) == 0o1777
    assert mode(shared / "music-queries") == 0o700
    assert mode(shared / "music-queries" / "q.jsonl") == 0o600


def test_an_existing_folder_of_its_own_is_not_chmodded(tmp_path: Path) -> None:
    (tmp_path / "q" / "music-queries").mkdir(parents=True)
    (tmp_path / "q" / "music-queries").chmod(0o750)
    quarantine = Quarantine(tmp_path / "q" / "music-queries" / "q.jsonl")
    quarantine.reject("logs.jsonl", 1, "invalid JSON", "{")
    quarantine.close()
    assert mode(tmp_path / "q" / "music-queries") == 0o750
    assert mode(tmp_path / "q" / "music-queries" / "q.jsonl") == 0o600


@pytest.mark.parametrize("link", ["quarantine_dir", "dataset_folder", "file"])
def test_a_symbolic_link_on_the_path_is_refused_and_its_target_untouched(tmp_path: Path, link: str) -> None:
    target = tmp_path / "target"
    target.mkdir()
    target.chmod(0o755)
    (target / "keep.txt").write_text("precious")
    planted = {
        "quarantine_dir": tmp_path / "q",
        "dataset_folder": tmp_path / "q" / "music-queries",
        "file": tmp_path / "q" / "music-queries" / "q.jsonl",
    }[link]
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.symlink_to(target / "keep.txt" if link == "file" else target)
    with pytest.raises(HonkdataError, match="symbolic link") as excinfo:
        Quarantine(tmp_path / "q" / "music-queries" / "q.jsonl")
    assert "\n" not in str(excinfo.value)
    assert mode(target) == 0o755
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]
    assert (target / "keep.txt").read_text() == "precious"


@pytest.mark.parametrize("planted", ["q", "q/music-queries", "q/music-queries/q.jsonl"])
def test_a_link_planted_between_check_and_write_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted: str
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    target.chmod(0o755)
    quarantine = Quarantine(tmp_path / "q" / "music-queries" / "q.jsonl")
    (tmp_path / planted).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / planted).symlink_to(target)
    monkeypatch.setattr("honkdata.ingest.quarantine._refuse_links", lambda path: None)  # lose the race
    with pytest.raises(HonkdataError, match="cannot write quarantine file"):
        quarantine.reject("logs.jsonl", 1, "invalid JSON", "{")
    assert mode(target) == 0o755 and list(target.iterdir()) == []


def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    path = tmp_path / "music-queries" / "q.jsonl"
    path.parent.mkdir()
    path.write_text("")
    os.chown(path, 12_345, -1)
    with pytest.raises(HonkdataError, match="not a file of this user"):
        Quarantine(path).reject("logs.jsonl", 1, "invalid JSON", "{")
    assert path.read_text() == ""


def test_a_long_line_keeps_its_head_and_its_true_length(tmp_path: Path) -> None:
    quarantine = Quarantine(tmp_path / "q" / "q.jsonl")
    quarantine.reject("logs.jsonl", 7, "line longer than 10 bytes", "é".encode() * 5_000)
    quarantine.reject("logs.jsonl", 8, "invalid JSON", "ü" * 3_000)
    quarantine.close()
    first, second = (json.loads(line) for line in (tmp_path / "q" / "q.jsonl").read_text().splitlines())
    assert first["raw"] == "é" * MAX_RAW_CHARS and first["raw_chars"] == 5_000
    assert second["raw"] == "ü" * MAX_RAW_CHARS and second["raw_chars"] == 3_000


def test_links_above_the_quarantine_folder_are_the_machines_layout(tmp_path):
    real = tmp_path / "nfs" / "home"
    real.mkdir(parents=True)
    (tmp_path / "home").symlink_to(real)  # /home -> /nfs/home, as on many clusters
    quarantine = Quarantine(tmp_path / "home" / "quarantine" / "build" / "q.jsonl")
    quarantine.reject("log.jsonl", 1, "invalid JSON", "{")
    quarantine.close()
    assert (real / "quarantine" / "build" / "q.jsonl").is_file()
