"""The address vocabulary comes from USPS Publication 28 whole, and the RE2 prefilters never drop a row
that a finder would have matched."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from honkdata.anonymize import patterns
from honkdata.anonymize.pii import PiiScrubber, scrub_pii

DATA = Path(__file__).parents[2] / "benchmarks" / "data"
SETS = ("pii_eval.jsonl", "pii_presidio_eval.jsonl", "pii_mimesis_eval.jsonl")


def _table(name: str) -> list[list[str]]:
    """A shipped TSV's rows, without its comment line and header."""
    return [line.split("\t") for line in (patterns.RESOURCES / name).read_text().splitlines()[2:]]


SUFFIXES, UNITS = _table("usps_street_suffixes.tsv"), _table("usps_secondary_units.tsv")
SPELLINGS = sorted(
    {form for primary, common, standard in SUFFIXES for form in (primary, standard, *common.split(","))}
)


def _rows() -> list[dict]:
    return [json.loads(line) for name in SETS for line in (DATA / name).read_text().splitlines()]


def test_the_suffix_table_is_pub_28_appendix_c1_whole():
    primaries = [row[0] for row in SUFFIXES]
    assert len(primaries) == len(set(primaries)) >= 200
    for expected in ("ALLEY", "EXPRESSWAY", "PATH", "ROADS", "STRAVENUE", "TRAFFICWAY", "WELLS"):
        assert expected in primaries
    assert {"av", "avn", "avnue", "expy", "rds", "trfy"} <= patterns.STREET_TYPES


@pytest.mark.parametrize("form", SPELLINGS)
def test_every_suffix_spelling_makes_an_address(form):
    text = f"ship it to 12 harbor {form.lower()}, springfield, il 62704"
    assert scrub_pii([text]) == ["ship it to <ADDRESS>"]


@pytest.mark.parametrize(("designator", "abbreviation", "ranged"), UNITS)
def test_every_secondary_unit_designator_joins_the_address(designator, abbreviation, ranged):
    for unit in (designator.lower(), abbreviation.lower()):
        after = f"{unit} 4" if ranged == "yes" else unit
        assert scrub_pii([f"12 main st {after}, please"]) == ["<ADDRESS>, please"]


def test_the_address_prefilter_never_drops_an_address():
    texts = [row["text"] for row in _rows()]
    hits = pc.match_substring_regex(pa.array(texts), patterns.ADDRESS_PREFILTER, ignore_case=True).to_pylist()
    dropped = [t for t, hit in zip(texts, hits, strict=True) if not hit and list(patterns.find_addresses(t))]
    assert dropped == []


def test_scrubbed_text_holds_nothing_a_second_pass_finds():
    """The build's leak check re-runs the scrubber over what it publishes: placeholders must not look
    like a cue ("<PHONE> office 0770…") and nothing may be left half-scrubbed."""
    rows = _rows()
    locales = pa.array([row["locale"] for row in rows], pa.string())
    scrubber = PiiScrubber({})
    once = scrubber(pa.array([row["text"] for row in rows]), locales).text
    assert scrubber(once, locales).counts == {}
