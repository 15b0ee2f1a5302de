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
