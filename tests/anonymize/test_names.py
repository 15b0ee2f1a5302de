"""The name rules' RE2 triggers decide which Python regexes run on a row: they must never miss."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from honkdata.anonymize import names
from honkdata.anonymize.pii import scrub_pii

EVAL = Path(__file__).parents[2] / "benchmarks" / "data" / "pii_eval.jsonl"
HANDWRITTEN = [
    "call jenny", "Text Mark I'm on my way", "give jenny a ring", "let mark know", "my name's ana",
    "i am called jenny", "this is mark, play my mix", "send this song to my best friend jenny",
    "happy birthday dear ana", "jenny's birthday playlist", "the mix jenny made me", "play call me maybe",
    "dedicate this track to kwame", "for my sister ana please", "écall jenny", "jenny’s party",
    "it's alex here", "hi it's alex", "hey, this is mark", "i'm jenny", "I’m Jenny!", "this is mark",
    "play the mix jenny made", "i'm olivier, play my mix", "im ana, play my mix",
]  # fmt: skip


def _texts() -> list[str]:
    return HANDWRITTEN + [json.loads(line)["text"] for line in EVAL.read_text().splitlines()]


@pytest.mark.parametrize("rule", names.RULES, ids=lambda r: r.trigger[:30])
def test_every_rule_match_has_its_trigger(rule: names.Rule) -> None:
    texts = _texts()
    triggered = pc.match_substring_regex(pa.array(texts), rule.trigger, ignore_case=True).to_pylist()
    matched = [bool(rule.regex.search(t)) for t in texts]
    assert any(matched)  # each rule is exercised by the corpus
    assert [t for t, m, hit in zip(texts, matched, triggered, strict=True) if m and not hit] == []


def test_the_introduction_the_old_prefilter_missed():
    assert scrub_pii(["i am called jenny, play my mix"]) == ["i am called <PERSON>, play my mix"]


def test_casual_introductions_need_a_given_name_or_its_capital():
    found = [list(names.find_persons(t)) for t in ("i'm jenny", "i'm yours", "this is Ralf", "this is ralf")]
    assert [len(f) for f in found] == [1, 0, 1, 0]
    # Census names that are everyday words are not names here.
    assert "america" not in names.GIVEN_NAMES and "star" not in names.GIVEN_NAMES
    assert {"jenny", "mark", "alex"} <= names.GIVEN_NAMES


@pytest.mark.parametrize(
    "title",
    ["i'm yours", "i'm still standing", "i'm on fire", "this is america", "it's my life", "this is me",
     "i'm gonna be (500 miles)", "play i'm a believer", "this is johnny cash", "hello it's me"],
)  # fmt: skip
def test_song_titles_shaped_like_introductions_are_kept(title):
    assert scrub_pii([title]) == [title]
