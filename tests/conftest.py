import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import fsspec
import pyarrow.parquet as pq
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


def damage_row_group(path: Path, group: int) -> None:
    """Overwrites the first page header of row group `group`'s first column in the Parquet file at
    `path`: that group no longer reads, the footer and the other groups still do."""
    chunk = pq.read_metadata(path).row_group(group).column(0)
    offset = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))


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


BUCKET = "honkdata-inputs"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on loopback for the module, with fake credentials in the environment."""
    from moto.server import ThreadedMotoServer  # here: most tests never start it, and it is slow to import

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # fsspec keeps each file system it made, with its client: one made for an earlier module's server
    # would still talk to that (stopped) server.
    s3 = fsspec.get_filesystem_class("s3")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        s3.clear_instance_cache()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield endpoint
    s3.clear_instance_cache()
    server.stop()


@dataclass
class Prefix:
    """A prefix of the bucket that is one test's own."""

    name: str

    def url(self, key: str = "") -> str:
        return f"s3://{BUCKET}/{self.name}/{key}"

    def put(self, key: str, body: bytes | Path) -> str:
        data = body.read_bytes() if isinstance(body, Path) else body
        boto3.client("s3").put_object(Bucket=BUCKET, Key=f"{self.name}/{key}", Body=data)
        return self.url(key)

    def put_folder(self, folder: Path) -> str:
        for file in folder.rglob("*"):
            if file.is_file():
                self.put(file.relative_to(folder).as_posix(), file)
        return self.url()


@pytest.fixture
def prefix(s3_endpoint: str) -> Prefix:
    return Prefix(uuid.uuid4().hex)


@pytest.fixture
def s3_user(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], None]:
    """Become an IAM user allowed only `actions` ("s3:GetObject", ...) on the server, which from then
    on checks every request's permissions, as S3 does (moto skips the check unless told to)."""
    from moto import settings

    def become(actions: list[str]) -> None:
        monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))  # to make the user
        iam = boto3.client("iam", aws_access_key_id="testing", aws_secret_access_key="testing")
        user = f"user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=policy)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        fsspec.get_filesystem_class("s3").clear_instance_cache()  # its clients hold the old keys
        monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)

    yield become
    fsspec.get_filesystem_class("s3").clear_instance_cache()  # none made with this user's keys stays
