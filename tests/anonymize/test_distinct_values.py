"""The batch stages compute once per distinct value (query, (text, locale) pair, user id) and spread
the results back to the events: their output must equal computing every event on its own."""

import hashlib
import hmac
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest

from honkdata import normalize as normalize_module
from honkdata.anonymize import stage as anonymize_stage
from honkdata.anonymize.pii import PiiScrubber
from honkdata.anonymize.pseudonym import Pseudonymizer, PseudonymKey
from honkdata.anonymize.stage import PII_DROPPED, Anonymize
from honkdata.config import NormalizeConfig
from honkdata.normalize import Normalize, grouping_key
from honkdata.schema import RECORD
from honkdata.stage import StageStats

SECRET = b"distinct-values-test-key-0123456789"
# Popular first, as in a log; repeats that differ only in case, spacing, invisible characters or
# width; PII of every kind; a phone whose detection depends on the locale (Iceland's 7 digits);
# queries that normalize to nothing, and one too long to keep.
QUERIES = [
    "play taylor swift",
    "Play  Taylor Swift!",
    "skip",
    "sk\u200bip",
    "ｐｌａｙ ＡＢＢＡ",
    "call jenny smith",
    "Call Jenny Smith, then email JO@GMAIL.COM",
    "email jo@x.com",
    "call 0412 345 678 now",
    "call 581 2345 now",
    "my ip is 10.0.0.1",
    "play 22 acacia avenue",
    "pay with 4111 1111 1111 1111",
    "play something by @dj_mark",
    "go to www.example.com",
    "   ",
    "\u200b",
    "play " + "la " * 100,
]
USERS = ["u1", "u2", "+15551234567", None, "device-42"]
LOCALES = ["en-US", "en-AU", "is-IS", None, "de-DE"]
ACTIONS = [{}, {"PHONE": "drop", "EMAIL": "mask", "PERSON": "drop"}]


def _log(n: int = 150, seed: int = 0) -> pa.RecordBatch:
    """A user-log batch of `n` events, queries Zipf-like: most events repeat a few queries."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, len(QUERIES) + 1)
    rows = [
        {
            "query": QUERIES[q],
            "user_id": USERS[rng.integers(len(USERS))],
            "ts": int(1_788_000_000 + rng.integers(0, 40 * 86_400)),
            "locale": LOCALES[rng.integers(len(LOCALES))],
            "source": "log",
            "line": i + 1,
        }
        for i, q in enumerate(rng.choice(len(QUERIES), size=n, p=weights / weights.sum()))
    ]
    batch = pa.RecordBatch.from_pylist(rows, schema=RECORD)
    return batch.append_column("user_log", pa.repeat(True, n))


def _anonymize(actions: dict[str, str]) -> Anonymize:
    return Anonymize(Pseudonymizer(PseudonymKey(SECRET, "test")), PiiScrubber(actions))


def _counters(stats: StageStats) -> dict:
    return {k: v for k, v in stats.to_dict().items() if k != "seconds"}


@pytest.mark.parametrize("actions", ACTIONS)
def test_stages_equal_computing_each_event_alone(actions):
    batch = _log()
    assert len(set(batch.column("query").to_pylist())) < batch.num_rows / 8  # repeats to share
    normalize, anonymize = Normalize(NormalizeConfig()), _anonymize(actions)
    n_stats, a_stats = StageStats("normalize"), StageStats("anonymize")
    out = anonymize(normalize(batch, n_stats), a_stats)

    # The reference: every event through fresh stages on its own, where nothing can be shared.
    ref_normalize, ref_anonymize = Normalize(NormalizeConfig()), _anonymize(actions)
    ref_n_stats, ref_a_stats = StageStats("normalize"), StageStats("anonymize")
    events = []
    for i in range(batch.num_rows):
        event = ref_normalize(batch.slice(i, 1), ref_n_stats)
        if event.num_rows:  # dropped as empty or too long
            events.append(ref_anonymize(event, ref_a_stats))
    reference = pa.Table.from_batches(events, schema=out.schema)

    assert out.num_rows == reference.num_rows > 0
    assert pa.Table.from_batches([out]).to_pylist() == reference.to_pylist()
    assert _counters(n_stats) == _counters(ref_n_stats)
    assert _counters(a_stats) == _counters(ref_a_stats)
    assert anonymize.found == ref_anonymize.found and anonymize.found
    if actions:
        assert a_stats.dropped[PII_DROPPED] > 1  # repeated PII events each count


@pytest.mark.parametrize("actions", ACTIONS)
def test_scrubber_equals_scrubbing_each_event_alone(actions):
    batch = _log(seed=1)
    texts = pa.array([*batch.column("query").to_pylist(), None, None])
    locales = pa.array([*batch.column("locale").to_pylist(), "en-US", None])
    scrubber = PiiScrubber(actions)
    for locale in (locales, None):
        scrubbed = scrubber(texts, locale)
        alone = [
            scrubber(texts.slice(i, 1), locale.slice(i, 1) if locale is not None else None)
            for i in range(len(texts))
        ]
        assert scrubbed.text.to_pylist() == [a.text[0].as_py() for a in alone]
        assert scrubbed.drop.to_pylist() == [a.drop[0].as_py() for a in alone]
        assert scrubbed.found == [find for a in alone for find in a.found]  # per event, in event order
        assert scrubbed.counts == sum((a.counts for a in alone), Counter())
    # The locale is part of the distinct unit: one text, two results.
    phone = PiiScrubber({})(pa.array(["call 581 2345 now"] * 3), pa.array(["is-IS", "en-US", "is-IS"]))
    assert phone.text.to_pylist() == ["call <PHONE> now", "call 581 2345 now", "call <PHONE> now"]
    assert phone.counts == {"PHONE": 2}


def test_pseudonyms_are_hmac_sha256_of_each_event():
    ids = _log().column("user_id")
    expected = [
        hmac.new(SECRET, v.encode(), hashlib.sha256).hexdigest()[:32] if v else None for v in ids.to_pylist()
    ]
    pseudonymizer = Pseudonymizer(PseudonymKey(SECRET, "test"))
    assert pseudonymizer(ids).to_pylist() == expected
    assert pseudonymizer(pa.chunked_array([ids.slice(0, 7), ids.slice(7)])).to_pylist() == expected
    assert pseudonymizer.were_seen(["u1", "device-42", "u9"]).tolist() == [True, True, False]


def _values(array: pa.Array) -> list:
    return array.to_pylist()


def _spy(seen: list, compute, record):
    """`compute`, first appending `record(*args)` to `seen`."""

    def spied(*args):
        seen.append(record(*args))
        return compute(*args)

    return spied


def _once_each(computed: list, values: list) -> None:
    """`computed` holds every distinct value of `values`, each once."""
    assert sorted(computed, key=repr) == sorted(set(values), key=repr)
    assert len(computed) < len(values)


def test_each_distinct_value_is_computed_once(monkeypatch):
    batch = _log()
    normalize, anonymize = Normalize(NormalizeConfig()), _anonymize({})
    texts, pairs, keys, ids = [], [], [], []
    monkeypatch.setattr(
        normalize_module, "normalize_text", _spy(texts, normalize_module.normalize_text, _values)
    )
    monkeypatch.setattr(anonymize_stage, "grouping_key", _spy(keys, anonymize_stage.grouping_key, _values))
    scrubber, pseudonymizer = anonymize.scrubber, anonymize.pseudonymizer
    scrubber._scrub_rows = _spy(
        pairs, scrubber._scrub_rows, lambda t, loc: list(zip(_values(t), _values(loc), strict=True))
    )
    pseudonymizer.digest = _spy(ids, pseudonymizer.digest, lambda value: value)
    normalized = normalize(batch, StageStats("normalize"))
    out = anonymize(normalized, StageStats("anonymize"))

    (distinct_queries,) = texts  # one call, on the distinct queries
    _once_each(distinct_queries, _values(batch.column("query")))
    (distinct_pairs,) = pairs
    _once_each(
        distinct_pairs,
        list(zip(_values(normalized.column("text")), _values(normalized.column("locale")), strict=True)),
    )
    # A key is made anew only for a text that scrubbing changed (normalize's stays for the rest).
    changed = [
        s
        for s, t in zip(_values(out.column("text")), _values(normalized.column("text")), strict=True)
        if s != t
    ]
    (distinct_scrubbed,) = keys
    _once_each(distinct_scrubbed, changed)
    assert out.column("key").to_pylist() == [
        grouping_key(pa.array([t]))[0].as_py() for t in _values(out.column("text"))
    ]
    _once_each(ids, [v for v in _values(normalized.column("user_id")) if v is not None])
