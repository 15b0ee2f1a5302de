"""Inputs both engines' tests build from: a raw log with bad lines and PII, a second log, a curated set."""

import json
from pathlib import Path

import pytest

from honkdata.build import BuildResult
from tests.conftest import write_jsonl


@pytest.fixture
def curated(tmp_path: Path) -> Path:
    """A curated set whose gold track is a URL: it protects the same text in user logs only if the
    allow-list learned it before any log was scrubbed."""
    rows = [
        {
            "query": "play www.thebeatles.com remix",
            "intent": "play_music",
            "entities": [{"type": "track", "start": 5, "end": 23, "text": "www.thebeatles.com"}],
        },
        {"query": "Play Taylor Swift", "intent": "play_music", "entities": []},
    ]
    return write_jsonl(tmp_path / "curated.jsonl", rows)


@pytest.fixture
def bad_log(tmp_path: Path) -> Path:
    """A raw log of users asking for music, with PII, and with lines that cannot be read."""
    rows = [
        {"query": "play www.thebeatles.com remix", "user_id": "user-0001", "locale": "en-US"},
        {"query": "Play Taylor Swift!", "user_id": "user-0002", "ts": "2026-09-01T10:00:00Z"},
        {"query": "play  taylor swift", "user_id": "user-0003", "ts": 1788300000},
        {"query": "call john smith at 555-123-4567", "user_id": "user-0002", "locale": "en-US"},
        {"query": "email me at jo.smith@example.com", "user_id": "user-0004"},
        {"query": "", "user_id": "user-0005"},
        {"query": "   ", "user_id": "user-0005"},
        {"query": "play\u0000 abba", "user_id": "user-0006", "surface": "voice"},
        {"query": "skip", "user_id": 42, "locale": "en-GB"},
        {"query": "x" * 300, "user_id": "user-0007"},
    ]
    path = write_jsonl(tmp_path / "log.jsonl", rows)
    with open(path, "ab") as f:
        f.write(b'{"query": "broken\n')  # malformed JSON
        f.write(b'{"user_id": "user-0008"}\n')  # no query
        f.write(b"[1, 2, 3]\n")  # not an object
        f.write(b'{"query": "play caf\xe9 del mar", "user_id": "user-0009"}\n')  # not UTF-8
        f.write(b"\n")
    return path


@pytest.fixture
def second_log(tmp_path: Path) -> Path:
    rows = [
        {"query": q, "user_id": f"other-{i % 3}"} for i, q in enumerate(["skip", "PLAY TAYLOR SWIFT"] * 4)
    ]
    return write_jsonl(tmp_path / "more.jsonl", rows)


def counters(result: BuildResult) -> dict:
    """Every stage's counters, without the seconds (a parallel engine's are its workers' together)."""
    return {n: {k: v for k, v in s.items() if k != "seconds"} for n, s in result.manifest["stages"].items()}


def quarantined(result: BuildResult) -> list[dict]:
    path = Path(result.manifest["quarantine"]["path"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def assert_same_snapshot(local: BuildResult, other: BuildResult) -> None:
    """The snapshot, counters (not seconds), quarantine, input reports and warnings of `other` are
    those of `local`."""
    m, r = local.manifest, other.manifest
    assert r["content_hash"] == m["content_hash"]
    assert {s: v["rows"] for s, v in r["splits"].items()} == {s: v["rows"] for s, v in m["splits"].items()}
    assert counters(other) == counters(local)
    assert r["quarantine"]["rows"] == m["quarantine"]["rows"]
    assert quarantined(other) == quarantined(local)
    assert r["inputs"] == m["inputs"]
    assert r["warnings"] == m["warnings"]
