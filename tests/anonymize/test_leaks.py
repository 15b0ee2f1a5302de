import pyarrow as pa
import pyarrow.parquet as pq

from honkdata.anonymize.leaks import LeakCheck
from honkdata.anonymize.pii import PiiScrubber
from honkdata.anonymize.pseudonym import Pseudonymizer, PseudonymKey
from honkdata.config import PII_TYPES


def _check(found: set[tuple[str, str]], raw_ids: list[str] = ()) -> LeakCheck:
    pseudonymizer = Pseudonymizer(PseudonymKey(b"k" * 32, "test"))
    pseudonymizer(pa.array(list(raw_ids), pa.string()))
    return LeakCheck(pseudonymizer, PiiScrubber(dict.fromkeys(PII_TYPES, "placeholder")), found)


def test_found_values_match_whole_words_only():
    check = _check({("URL", "indie.pl"), ("EMAIL", "a.b@example.com")})
    assert check.scan_text("play my indie.playlist") == {}
    assert check.scan_text("add it to indie.pl") == {"URL": 1}
    assert check.scan_text("mail A.B@example.com now") == {"EMAIL": 1}


def test_names_and_streets_are_not_matched_out_of_context():
    check = _check({("PERSON", "mark"), ("ADDRESS", "157 riverside avenue")})
    assert check.scan_text("play mark ronson") == {}
    assert check.scan_text("play 157 riverside avenue by reo speedwagon") == {}


def test_raw_ids_are_found_as_tokens_but_short_ones_are_skipped():
    check = _check(set(), ["acct-0042-zz", "u2"])
    assert check.scan_text('{"path": "logs/acct-0042-zz.jsonl"}') == {"raw user id": 1}
    assert check.scan_text("play u2") == {}


def test_raw_ids_with_punctuation_are_found_as_whole_values():
    ids = ["jo.smith+music@example.com", "+15557010042", "acct_0042_zz", "o'brien-4471"]
    check = _check(set(), ids)
    for text in (
        '{"path": "logs/jo.smith+music@example.com.jsonl"}',  # the e-mail id inside a file name
        "| jo.smith+music@example.com.2026-11.csv | jsonl |",
        "sources: ['+15557010042.jsonl']",
        "export-acct_0042_zz-final.parquet",
        "(o'brien-4471)",
    ):
        assert check.scan_text(text) == {"raw user id": 1}, text
    assert check.scan_text("smith+music@example.org 15557010043 acct_0042_z") == {}


def test_parquet_scan_spares_published_corpora_only(tmp_path):
    path = tmp_path / "train.parquet"
    rows = {
        "text": [
            "play john smith",
            "call john smith",
            "call <PERSON>",
            "email x@example.org",
            "ring (415) 555-0187",
        ],
        "sources": [["snips"], ["snips"], ["log.jsonl"], ["log.jsonl", "snips"], ["mine.jsonl"]],
    }
    rows["sources"] = [
        [{"name": n, "split": "train" if n == "snips" else None} for n in s] for s in rows["sources"]
    ]
    pq.write_table(pa.table(rows), path)
    hits = _check(set()).scan_parquet(path, {"log.jsonl"}, exempt={"snips"})
    curated = "in curated rows of mine.jsonl (set allow_pii: true on the source to publish them)"
    assert hits == {"EMAIL still detectable": 1, f"PHONE {curated}": 1}
    assert _check(set()).scan_parquet(path, {"log.jsonl"}, exempt={"snips", "mine.jsonl"}) == {
        "EMAIL still detectable": 1
    }
