"""honkdata.synth: deterministic, well-formed, Zipf-shaped synthetic query logs with planted PII."""

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from honkdata.errors import HonkdataError
from honkdata.schema import RAW_FIELDS
from honkdata.synth import SEED_FILE, WINDOW_DAYS, WINDOW_START, SynthStats, generate

N = 20_000
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EMAIL = re.compile(r"[\w.]+@[\w.]+\.\w+")
CARD = re.compile(r"\b(?:\d{4} ){3}\d{4}\b|\b\d{16}\b")


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SynthStats, list[dict]]:
    out = tmp_path_factory.mktemp("synth") / "log.jsonl"
    stats = generate(N, out, seed=3)
    return out, stats, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_rows_and_fields_are_exact_and_typed(log: tuple[Path, SynthStats, list[dict]]) -> None:
    _, stats, rows = log
    assert stats.rows == len(rows) == N
    start = datetime.fromisoformat(str(WINDOW_START)).replace(tzinfo=UTC)
    for row in rows:
        assert tuple(row) == RAW_FIELDS
        assert all(isinstance(v, str) and v for v in row.values())
        assert ISO.match(row["ts"])
        assert start <= datetime.fromisoformat(row["ts"]) < start + timedelta(days=WINDOW_DAYS)
    assert {r["surface"] for r in rows} >= {"search", "voice", "chat"}
    assert Counter(r["locale"] for r in rows).most_common(1)[0][0] == "en-US"
    assert len({r["locale"] for r in rows}) >= 5


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    for name in ("a.jsonl.gz", "a.parquet", "a.csv"):
        a, b, c = tmp_path / name, tmp_path / f"b{name}", tmp_path / f"c{name}"
        generate(3_000, a, seed=11)
        generate(3_000, b, seed=11)
        generate(3_000, c, seed=12)
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() != c.read_bytes()


def test_query_popularity_is_zipf_like(log: tuple[Path, SynthStats, list[dict]]) -> None:
    _, stats, rows = log
    users: dict[str, set[str]] = {}
    for row in rows:
        users.setdefault(row["query"], set()).add(row["user_id"])
    reach = sorted((len(u) for u in users.values()), reverse=True)
    assert stats.distinct_queries == len(users)
    assert reach[0] >= 50 * reach[len(reach) // 2]  # the head reaches many users, the median one
    counts = Counter(row["query"] for row in rows)
    assert sum(c == 1 for c in counts.values()) > 0.5 * len(counts)  # a long tail of one-offs


def test_user_activity_is_skewed_and_sessions_group_one_user(
    log: tuple[Path, SynthStats, list[dict]],
) -> None:
    _, stats, rows = log
    activity = Counter(row["user_id"] for row in rows)
    assert stats.distinct_users == len(activity)
    ranked = sorted(activity.values(), reverse=True)
    assert ranked[0] >= 20 * ranked[len(ranked) // 2]
    assert sum(c <= 2 for c in ranked) > 0.3 * len(ranked)
    assert any(
        re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u)
        for u in activity
    )
    assert any(re.fullmatch(r"[0-9a-f]{16}", u) for u in activity)  # Android-style device ids
    session_users: dict[str, set[str]] = {}
    session_times: dict[str, list[datetime]] = {}
    for row in rows:
        session_users.setdefault(row["session_id"], set()).add(row["user_id"])
        session_times.setdefault(row["session_id"], []).append(datetime.fromisoformat(row["ts"]))
    assert all(len(u) == 1 for u in session_users.values())
    assert max(max(t) - min(t) for t in session_times.values()) < timedelta(hours=2)
    assert sum(len(t) > 1 for t in session_times.values()) > 0.3 * len(session_times)


def test_planted_pii_share_and_kinds(log: tuple[Path, SynthStats, list[dict]]) -> None:
    _, stats, rows = log
    assert 0.015 * N <= stats.pii_rows <= 0.025 * N
    queries = [row["query"] for row in rows]
    emails = [m for q in queries for m in EMAIL.findall(q)]
    assert len(emails) > 0.002 * N and len(set(emails)) > 0.9 * len(emails)  # unique-ish, traceable
    assert any(CARD.search(q) for q in queries)
    assert any(re.search(r"\+(1|44|61) \d", q) for q in queries)  # international phone forms
    assert any(re.search(r"\(\d{3}\) \d{3}-\d{4}", q) for q in queries)  # national ones
    assert any(re.search(r"(?i)\bmy name is \w+", q) for q in queries)


def _original(text: list[str], slots: list[list[str]]) -> str:
    values = [value for _, value in slots] + [""]
    return "".join(p + v for p, v in zip(text, values, strict=True)).strip().lower()


def test_realism_variants_and_real_seed(log: tuple[Path, SynthStats, list[dict]]) -> None:
    _, _, rows = log
    queries = [row["query"] for row in rows]
    counts = Counter(q.lower() for q in queries)
    assert {"skip", "pause", "shuffle"} <= set(counts)
    assert any(q.startswith(("please ", "hey ", "can you ", "um ")) for q in queries)
    assert any(q.endswith("?") for q in queries) and any(q != q.lower() for q in queries)
    seed = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    originals = {_original(text, slots) for _, _, text, slots in seed["utterances"]}
    assert sum(q.lower().rstrip(".?!") in originals for q in queries) > 0.1 * N
    voice = [row["query"] for row in rows if row["surface"] == "voice"]
    assert all(q == q.lower() and not q.endswith((".", "?", "!")) for q in voice)


def _read(path: Path) -> pa.Table:
    strings = {name: pa.string() for name in RAW_FIELDS}
    if path.suffix == ".parquet":
        return pq.read_table(path)
    if path.suffix == ".csv":
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=strings))
    stream = pa.input_stream(path, compression="gzip" if path.suffix == ".gz" else None)
    return pajson.read_json(stream, parse_options=pajson.ParseOptions(explicit_schema=pa.schema(strings)))


def test_all_formats_read_back_with_pyarrow_alike(tmp_path: Path) -> None:
    tables = []
    for name in ("log.jsonl", "log.jsonl.gz", "log.csv", "log.parquet"):
        generate(2_000, tmp_path / name, seed=5)
        tables.append(_read(tmp_path / name))
    assert tables[0].num_rows == 2_000 and tuple(tables[0].column_names) == RAW_FIELDS
    assert all(t.to_pylist() == tables[0].to_pylist() for t in tables[1:])
    assert not list(tmp_path.glob(".*.tmp"))  # written to a temporary name, renamed into place


def test_bad_suffix_and_empty_log(tmp_path: Path) -> None:
    with pytest.raises(HonkdataError, match="format"):
        generate(10, tmp_path / "log.txt")
    stats = generate(0, tmp_path / "empty.jsonl")
    assert stats.rows == 0 and (tmp_path / "empty.jsonl").read_bytes() == b""
