import shutil
import warnings
from pathlib import Path

import pyarrow as pa
import pytest

from honkdata.anonymize.pseudonym import DEMO_KEY, SHIPPED_SAMPLE, Pseudonymizer, load_key
from honkdata.config import AnonymizeConfig
from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.ingest.sources import fingerprint

SAMPLE = Path(__file__).parents[2] / "data" / "samples" / "queries.jsonl"


def test_key_from_environment_then_file_then_demo(tmp_path, monkeypatch, pseudonym_key):
    key = load_key(AnonymizeConfig(), [])
    assert key.secret == pseudonym_key.encode() and key.source == "env:HONKDATA_PSEUDONYM_KEY"
    monkeypatch.delenv("HONKDATA_PSEUDONYM_KEY")
    key_file = tmp_path / "key"
    key_file.write_text("a-key-from-a-file-0123456789\n")
    key_file.chmod(0o600)
    key = load_key(AnonymizeConfig(key_file=str(key_file)), [])
    assert key.secret == b"a-key-from-a-file-0123456789" and key.source == f"file:{key_file}"
    assert load_key(AnonymizeConfig(demo_key=True), [SAMPLE]).secret == DEMO_KEY


def test_no_key_is_refused_without_revealing_anything(monkeypatch):
    monkeypatch.delenv("HONKDATA_PSEUDONYM_KEY")
    with pytest.raises(HonkdataError, match=r"user logs need a pseudonym key: set \$HONKDATA_PSEUDONYM_KEY"):
        load_key(AnonymizeConfig(), [])
    monkeypatch.setenv("HONKDATA_PSEUDONYM_KEY", "short-secret")
    with pytest.raises(HonkdataError) as error:
        load_key(AnonymizeConfig(), [])
    assert "shorter than 16 bytes" in str(error.value) and "short-secret" not in str(error.value)


def test_key_never_in_repr_and_fingerprint_is_not_the_key(pseudonym_key):
    key = load_key(AnonymizeConfig(), [])
    assert pseudonym_key not in repr(key)
    assert len(key.fingerprint) == 16 and key.fingerprint not in pseudonym_key
    assert load_key(AnonymizeConfig(), []).fingerprint == key.fingerprint


def test_pseudonyms_are_keyed_stable_and_remember_raw_ids(pseudonym_key):
    ids = pa.array(["+15551234567", "device-42", None, "+15551234567"])
    first = Pseudonymizer(load_key(AnonymizeConfig(), []))
    out = first(ids).to_pylist()
    assert out[0] == out[3] and out[0] != out[1] and out[2] is None
    assert all(len(p) == 32 and "5551234567" not in p for p in out if p)
    other_key = Pseudonymizer(load_key(AnonymizeConfig(key_env="NO_SUCH_VAR", demo_key=True), [SAMPLE]))
    assert other_key(ids).to_pylist()[0] != out[0]
    assert first.were_seen(["device-42", "device-43"]).tolist() == [True, False]


def test_the_demo_key_is_pinned_to_the_shipped_sample_by_content():
    assert fingerprint(SAMPLE) == SHIPPED_SAMPLE  # regenerating the sample must update the constant


def test_demo_key_serves_the_shipped_sample_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.delenv("HONKDATA_PSEUDONYM_KEY")
    demo = AnonymizeConfig(demo_key=True)
    assert load_key(demo, [SAMPLE]).source == "demo"
    copied = tmp_path / "copy.jsonl"
    shutil.copy(SAMPLE, copied)
    assert load_key(demo, [copied]).source == "demo"  # the same bytes anywhere are the sample
    # A user's log at the sample's path, and a log beside the sample, are refused.
    fake = tmp_path / "data" / "samples" / "queries.jsonl"
    fake.parent.mkdir(parents=True)
    fake.write_text('{"query": "call mum", "user_id": "+15557010042"}\n')
    for logs in ([fake], [SAMPLE, fake]):
        with pytest.raises(HonkdataError, match=r"user logs need a pseudonym key.*serves only the shipped"):
            load_key(demo, logs)


def test_a_key_file_others_can_read_is_used_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("HONKDATA_PSEUDONYM_KEY")
    key_file = tmp_path / "key"
    key_file.write_text("a-key-from-a-file-0123456789\n")
    key_file.chmod(0o644)
    with pytest.warns(HonkdataWarning, match="readable by others"):
        assert load_key(AnonymizeConfig(key_file=str(key_file)), []).secret == b"a-key-from-a-file-0123456789"
    key_file.chmod(0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_key(AnonymizeConfig(key_file=str(key_file)), [])
