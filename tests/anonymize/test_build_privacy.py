import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from honkdata.anonymize.release import BELOW_K_USERS, EVENTS_IN_REMOVED
from honkdata.anonymize.stage import PII_FOUND
from honkdata.build import build
from honkdata.cli import app
from honkdata.config import BuildConfig, load_config
from honkdata.errors import HonkdataError, HonkdataWarning
from honkdata.snapshot.store import SnapshotStore
from tests.conftest import FIXTURES, write_jsonl

CANARY_IDS = ["canary-user-7f3a9c1e", "+15557010042", "CANARY-DEVICE-0b6d2e"]
CANARIES = {
    "EMAIL": "zorbulon.quayle.4471@example.com",
    "PHONE": "(415) 555-0187",
    "PERSON": "zenobia quarrington",
    "CARD": "4111 1111 1111 1111",
    "IP": "203.0.113.77",
    "HANDLE": "@zorbquayle",
}


def _canary_log(path: Path) -> Path:
    rows = []
    for i in range(6):  # six users each: enough to pass k=5, so only scrubbing can protect them
        user = CANARY_IDS[i % 3] if i < 3 else f"user-{i:08d}"
        rows += [
            {"query": f"send my gym playlist to {CANARIES['EMAIL']}", "user_id": user},
            {"query": f"call {CANARIES['PHONE']}", "user_id": user, "locale": "en-US"},
            {"query": f"text {CANARIES['PERSON']} i'm on my way", "user_id": user},
            {"query": f"pay for premium with card {CANARIES['CARD']}", "user_id": user},
            {"query": f"my ip is {CANARIES['IP']}", "user_id": user},
            {"query": f"follow {CANARIES['HANDLE']} on twitter", "user_id": user},
            {"query": "play taylor swift", "user_id": user, "session_id": f"session-{user}"},
        ]
    return write_jsonl(path, rows)


def _published_bytes(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(path.rglob("*")) if f.is_file())


def _rows(path: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted((path / "data").glob("*.parquet"))])


@pytest.mark.parametrize("k", [1, 5])
def test_no_canary_reaches_any_published_file(tmp_path, make_config, pseudonym_key, k):
    result = build(make_config(_canary_log(tmp_path / "log.jsonl"), anonymize={"k_anonymity": k}))
    published = _published_bytes(result.path).lower()
    for canary in [*CANARIES.values(), *CANARY_IDS, pseudonym_key]:
        assert canary.lower().encode() not in published, canary
    texts = set(_rows(result.path)["text"])
    assert {"send my gym playlist to <EMAIL>", "call <PHONE>", "text <PERSON> i'm on my way",
            "pay for premium with card <CARD>", "play taylor swift"} <= texts  # fmt: skip
    found = result.manifest["stages"]["anonymize"]["breakdowns"][PII_FOUND]
    assert found["EMAIL"] == 6 and found["PERSON"] == 6
    assert "| EMAIL | 6 |" in (result.path / "README.md").read_text()  # the card's PII table
    assert result.manifest["anonymize"]["pseudonym_key_fingerprint"] == load_fingerprint()


def load_fingerprint() -> str:
    from honkdata.anonymize.pseudonym import load_key
    from honkdata.config import AnonymizeConfig

    return load_key(AnonymizeConfig(), []).fingerprint


def test_k_threshold_counts_users_not_events_and_spares_curated_sets(tmp_path, make_config):
    rows = [{"query": "play abba", "user_id": f"user-{i}"} for i in range(5)]
    rows += [{"query": "play my secret diary song", "user_id": "user-0"}] * 20  # one user, many times
    rows += [{"query": f"play rare thing {i}", "user_id": f"user-{i}"} for i in range(4)]
    log = write_jsonl(tmp_path / "log.jsonl", rows)
    snips = FIXTURES / "public" / "snips"
    result = build(make_config(log, snips, anonymize={"k_anonymity": 5}))
    texts = set(_rows(result.path)["text"])
    assert "play abba" in texts and "play my secret diary song" not in texts
    assert not any(t.startswith("play rare thing") for t in texts)
    assert any("Aspro Mavro" in t for t in texts)  # a Snips utterance issued by nobody is still there
    release = result.manifest["stages"]["release"]
    assert release["dropped"] == {BELOW_K_USERS: 5}
    assert release["notes"] == {EVENTS_IN_REMOVED: 24}
    assert "| fewer than 5 users | 5 |" in (result.path / "README.md").read_text()  # the card's words
    assert result.manifest["anonymize"]["release"] == "k-anonymity(k=5)"


def test_cli_k_anon_override(tmp_path, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    runner = CliRunner()
    result = runner.invoke(
        app, ["build", "-s", str(log), "--root", str(tmp_path / "s"), "--k-anon", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)["manifest"]
    assert manifest["rows"] == 4 and manifest["config"]["anonymize"]["k_anonymity"] == 1
    refused = runner.invoke(app, ["build", "-s", str(log), "--root", str(tmp_path / "s"), "--k-anon", "5"])
    assert refused.exit_code == 2 and "no rows left after the release threshold" in refused.stderr


def test_dp_release_in_build(tmp_path, make_config):
    # Selection needs about ln(L/δ)·L/(ε/3) ≈ 230 users per query here; 2,000 pass for sure.
    rows = [{"query": "play abba", "user_id": f"user-{i}"} for i in range(2000)]
    rows += [{"query": "play my secret diary song", "user_id": "user-0"}]
    log = write_jsonl(tmp_path / "log.jsonl", rows)
    result = build(make_config(log, anonymize={"dp": {"epsilon": 1.0, "delta": 1e-6}}))
    rows = _rows(result.path)
    assert list(rows["text"]) == ["play abba"]
    assert 1900 < rows["n_users"].iloc[0] < 2100
    assert result.manifest["anonymize"]["release"] == "dp(ε=1.0, δ=1e-06)"


def test_build_refuses_user_logs_without_a_key(tmp_path, make_config, events, monkeypatch):
    monkeypatch.delenv("HONKDATA_PSEUDONYM_KEY")
    log = write_jsonl(tmp_path / "log.jsonl", events)
    with pytest.raises(HonkdataError, match="user logs need a pseudonym key"):
        build(make_config(log))
    assert SnapshotStore(tmp_path / "store").versions("music-queries") == []
    # Curated public sets need no key.
    assert (
        build(make_config(FIXTURES / "public" / "snips")).manifest["anonymize"]["pseudonym_key_fingerprint"]
        is None
    )


def test_leak_check_stops_a_raw_id_typed_into_a_query(tmp_path, make_config):
    rows = [
        {"query": "play abba", "user_id": "acct-99812-zq"},
        {"query": "login acct-99812-zq", "user_id": "u2"},
    ]
    with pytest.raises(HonkdataError, match=r"leak check failed.*1 raw user id") as error:
        build(make_config(write_jsonl(tmp_path / "log.jsonl", rows)))
    assert "acct-99812-zq" not in str(error.value)
    assert SnapshotStore(tmp_path / "store").versions("music-queries") == []


def test_anonymize_command_alone(tmp_path, pseudonym_key):
    log = _canary_log(tmp_path / "log.jsonl")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["anonymize", "--in", str(log), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows_in"] == report["rows_out"] == 42
    assert report["pii_found"]["EMAIL"] == 6
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert set(rows[0]) == {
        "text",
        "user_id",
        "day",
        "locale",
        "surface",
        "intent",
        "entities",
        "source",
        "line",
    }
    written = out.read_text().lower()
    for canary in [*CANARIES.values(), *CANARY_IDS, pseudonym_key]:
        assert canary.lower() not in written, canary
    assert pseudonym_key not in result.output


REPO = Path(__file__).parents[2]
SHIPPED_CONFIG = REPO / "configs" / "build.yaml"
SAMPLE = REPO / "data" / "samples" / "queries.jsonl"


def test_shipped_config_uses_the_demo_key_for_the_sample_only(tmp_path, events, monkeypatch):
    monkeypatch.delenv("HONKDATA_PSEUDONYM_KEY")
    runner = CliRunner()
    log = write_jsonl(tmp_path / "mylog.jsonl", events)
    root = tmp_path / "store"
    refused = runner.invoke(app, ["build", "-c", str(SHIPPED_CONFIG), "-s", str(log), "--root", str(root)])
    assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "user logs need a pseudonym key" in refused.stderr and str(log) in refused.stderr
    assert SnapshotStore(root).versions("music-queries") == []
    out = tmp_path / "out.jsonl"
    refused = runner.invoke(
        app, ["anonymize", "-c", str(SHIPPED_CONFIG), "--in", str(log), "--out", str(out)]
    )
    assert refused.exit_code == 2 and "user logs need a pseudonym key" in refused.stderr
    assert not out.exists()
    # The sample itself builds with the demo key, and the card and manifest say so.
    config = load_config(SHIPPED_CONFIG, sources=[{"path": str(SAMPLE)}], root=str(root))
    result = build(config)
    assert result.manifest["anonymize"]["pseudonym_key_source"] == "demo"
    assert "public demo key" in (result.path / "README.md").read_text()
    show = runner.invoke(app, ["snapshots", "show", "music-queries@latest", "--root", str(root)])
    assert show.exit_code == 0 and "pseudonym key: demo" in show.stdout


def test_a_source_file_named_after_a_user_id_fails_the_leak_check(tmp_path, make_config):
    user = "jo.smith+music@example.com"
    log = write_jsonl(tmp_path / f"{user}.jsonl", [{"query": "play abba", "user_id": user}])
    with pytest.raises(HonkdataError, match=r"leak check failed.*raw user id") as error:
        build(make_config(log))
    assert user not in str(error.value)
    assert SnapshotStore(tmp_path / "store").versions("music-queries") == []


def _curated(path: Path, **source: object) -> BuildConfig:
    return load_config(
        None, root=str(path.parent / "store"), sources=[{"path": str(path), "kind": "curated", **source}]
    )


def test_curated_sources_with_user_ids_warn_and_their_pii_fails_the_build(tmp_path):
    rows = [
        {"query": "play abba", "user_id": "u-0001"},
        {"query": "text 415 555 0187 that i'm late", "user_id": "u-0002"},
    ]
    log = write_jsonl(tmp_path / "mine.jsonl", rows)
    with (
        pytest.raises(HonkdataError, match=r"PHONE in curated rows of mine.jsonl.*allow_pii"),
        pytest.warns(HonkdataWarning, match="declared kind: curated"),  # shown with the error, too
    ):
        build(_curated(log))
    assert SnapshotStore(tmp_path / "store").versions("music-queries") == []
    with pytest.warns(HonkdataWarning, match="mine.jsonl is declared kind: curated, yet 2 of its rows"):
        result = build(_curated(log, allow_pii=True))
    assert any("declared kind: curated" in w for w in result.manifest["warnings"])
    # The CLI shows the warning as one line on stderr.
    cli = CliRunner().invoke(app, ["build", "-s", str(log), "--root", str(tmp_path / "s2"), "--k-anon", "1"])
    assert cli.exit_code == 0  # as a raw log it is a user log: no warning, and scrubbed
    assert "warning" not in cli.stderr


def test_anonymize_never_overwrites_its_input(tmp_path, events):
    log = write_jsonl(tmp_path / "log.jsonl", events)
    before = log.read_bytes()
    runner = CliRunner()
    for out in (log, tmp_path / "." / "log.jsonl"):
        result = runner.invoke(app, ["anonymize", "--in", str(log), "--out", str(out)])
        assert result.exit_code == 2 and "would overwrite" in result.stderr
    folder = tmp_path / "logs"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", events)
    result = runner.invoke(app, ["anonymize", "--in", str(folder), "--out", str(folder / "out.jsonl")])
    assert result.exit_code == 2 and "inside the input" in result.stderr
    assert log.read_bytes() == before and not (folder / "out.jsonl").exists()


def test_anonymize_reads_folders_and_reports_quarantined_rows(tmp_path, events):
    folder = tmp_path / "logs"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", events)
    (folder / "README.md").write_text("what these logs are")
    (folder / "b.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events * 5) + "{not json\n")
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(app, ["anonymize", "--in", str(folder), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows_in"] == report["rows_out"] == 36 and report["rows_rejected"] == 1
    assert Path(report["quarantine"]).is_file()
    assert [Path(p).name for p in report["skipped_files"]] == ["README.md"]
    assert len(pd.read_parquet(out)) == 36
    (folder / "c.jsonl").write_text(json.dumps(events[0]) + "\n" + "{broken\n" * 10)  # 11 of 48: > 5 %
    out.unlink()
    result = CliRunner().invoke(app, ["anonymize", "--in", str(folder), "--out", str(out)])
    assert result.exit_code == 2 and "above ingest.max_reject_rate" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".out.parquet*"))
