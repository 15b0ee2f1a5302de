import json
from pathlib import Path

import pytest

from honkdata.config import BuildConfig, load_config
from honkdata.ingest.quarantine import Quarantine
from honkdata.ingest.source import SourceContext
from honkdata.taxonomy import load_taxonomy

FIXTURES = Path(__file__).parent / "fixtures"
# The build's stages in the order they run, as the manifest and the progress display list them.
BUILD_STAGES = (
    "ingest",
    "normalize",
    "anonymize",
    "exact_dedup",
    "release",
    "label",
    "near_dedup",
    "split",
    "merge_duplicates",
    "tokens",
)
SNIPS_SAMPLE = Path(__file__).parent.parent / "data" / "samples" / "snips"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


TEST_KEY = "test-pseudonym-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs with a real (test) key in the environment unless it removes it."""
    monkeypatch.setenv("HONKDATA_PSEUDONYM_KEY", TEST_KEY)
    return TEST_KEY


@pytest.fixture(autouse=True)
def default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The store a command uses without --root: never the checkout's data/snapshots."""
    monkeypatch.setenv("HONKDATA_ROOT", str(tmp_path / "default-root"))
    return tmp_path / "default-root"


@pytest.fixture
def ctx(tmp_path: Path) -> SourceContext:
    """A reader context whose rejects land in a real quarantine file (tmp_path/q.jsonl)."""
    quarantine = Quarantine(tmp_path / "quarantine" / "test" / "q.jsonl")
    return SourceContext(name="test", taxonomy=load_taxonomy(), on_reject=quarantine.reject)


@pytest.fixture
def make_config(tmp_path: Path):
    def make(*sources: Path | str, **overrides: object) -> BuildConfig:
        overrides.setdefault("root", str(tmp_path / "store"))
        # Tiny test logs would not survive k=5; the threshold has its own tests.
        overrides.setdefault("anonymize", {"k_anonymity": 1})
        return load_config(None, sources=[{"path": str(s)} for s in sources], **overrides)

    return make


@pytest.fixture
def events() -> list[dict]:
    """A small raw log: two users asking the same thing in different case, a repeat, and others."""
    return [
        {"query": "Play Taylor Swift", "user_id": "u1", "ts": "2026-09-01T10:00:00Z", "surface": "voice"},
        {"query": "play  taylor swift", "user_id": "u2", "ts": 1788300000},
        {"query": "play taylor swift", "user_id": "u2", "ts": "2026-09-03T08:00:00+02:00"},
        {"query": "skip", "user_id": 42, "locale": "en-GB"},
        {"query": "something chill for studying", "user_id": "u3"},
        {"query": "add this to my gym playlist", "user_id": "u1"},
    ]


@pytest.fixture(scope="session")
def labeled_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding `snips@v1`: a real build of the shipped Snips sample (2,800 gold-labeled
    queries over train, validation and test), for the tests that train and score models."""
    from honkdata.build import build

    root = tmp_path_factory.mktemp("labeled") / "store"
    source = {"path": str(SNIPS_SAMPLE), "format": "snips", "kind": "curated", "split": "resplit"}
    build(load_config(None, name="snips", root=str(root), sources=[source]))
    return root
