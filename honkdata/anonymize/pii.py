"""PII in query text: detection with music-aware rules, then a placeholder, a mask or a dropped row.

Speed comes from not looking: one RE2 pass over the whole Arrow column (`pc.match_substring_regex`)
keeps only rows with an "@", a long digit run, a domain, a street word or a personal-context
trigger; only those few rows go through Python (the regexes and validators of `patterns`, the
person rules of `names`, `phonenumbers` with the region of the row's locale).

Music names survive in two ways: person names are only taken from personal contexts (`names`),
and an allow-list (catalog entries and gold entities of curated sources) protects an address,
link, phone, handle or weak-context name that lies inside a listed title ("play 22 acacia avenue").
Emails, cards, IPs and names in strong personal contexts ("call taylor swift") are never allowed.
"""

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.anonymize import names, patterns
from honkdata.catalog import load_catalog
from honkdata.config import PII_TYPES

ACTIONS = ("placeholder", "mask", "drop")
_PREFILTER = f"{patterns.PREFILTER}|{names.PREFILTER}"
_ALLOWABLE = frozenset(("ADDRESS", "URL", "PHONE", "HANDLE"))
# Overlaps go to the more specific detector: the email "jo@gmail.com" is not the domain "gmail.com".
_PRIORITY = {
    t: i for i, t in enumerate(("EMAIL", "URL", "CARD", "IP", "PHONE", "HANDLE", "ADDRESS", "PERSON"))
}
_DEFAULT_REGION = "US"


def _key(name: str) -> str:
    return " ".join(name.lower().split())


class AllowList:
    """Music names (artists, tracks, albums, ...) that must survive scrubbing; case-insensitive."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names: set[str] = set()
        self._automaton: ahocorasick.Automaton | None = None
        self.add(names)

    def add(self, names: Iterable[str]) -> None:
        before = len(self._names)
        self._names.update(k for k in map(_key, names) if k)
        if len(self._names) != before:
            self._automaton = None  # rebuilt on next use: names arrive batch by batch

    @classmethod
    def from_file(cls, path: Path) -> "AllowList":
        """The names of a catalog file (see honkdata.catalog)."""
        return cls(name for _, name in load_catalog(path))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _key(name) in self._names

    def __len__(self) -> int:
        return len(self._names)

    def covers(self, text: str, start: int, end: int) -> bool:
        """Whether text[start:end] lies inside a listed name that occurs in `text` as whole words."""
        if not self._names:
            return False
        lowered = text.lower()
        if len(lowered) != len(text):  # rare characters that change length: compare the value alone
            return text[start:end] in self
        if self._automaton is None:
            self._automaton = ahocorasick.Automaton()
            for name in self._names:
                self._automaton.add_word(name, len(name))
            self._automaton.make_automaton()
        for last, length in self._automaton.iter(lowered):
            s, e = last + 1 - length, last + 1
            whole = (s == 0 or not lowered[s - 1].isalnum()) and (e == len(text) or not lowered[e].isalnum())
            if whole and s <= start and end <= e:
                return True
        return False


@dataclass
class Scrubbed:
    text: pa.Array  # string, same length as the input, scrubbed per the actions
    drop: pa.Array  # bool, True where a "drop" action hit the row
    found: list[tuple[str, str]]  # (PII type, exact original substring) of every detection
    counts: Counter[str]  # detections per PII type


@functools.lru_cache(maxsize=256)
def _region(locale: str | None) -> str:
    """en-GB -> GB; no locale or no country part -> US (the phone library needs some region)."""
    for part in re.split(r"[-_]", locale or "")[1:]:
        if len(part) == 2 and part.isalpha():
            return part.upper()
    return _DEFAULT_REGION


def _mask(value: str) -> str:
    return "".join("*" if c.isalnum() else c for c in value)


class PiiScrubber:
    def __init__(self, actions: Mapping[str, str], allow: AllowList | None = None) -> None:
        unknown = set(actions) - set(PII_TYPES)
        bad = {a for a in actions.values() if a not in ACTIONS}
        if unknown or bad:
            raise ValueError(f"unknown PII types {sorted(unknown)} or actions {sorted(bad)}")
        self.actions = {**dict.fromkeys(PII_TYPES, "placeholder"), **actions}
        self.allow = allow if allow is not None else AllowList()

    def detect(
        self, text: str, region: str = _DEFAULT_REGION, rules: Iterable[names.Rule] = names.RULES
    ) -> list[tuple[str, int, int]]:
        """Non-overlapping (type, start, end) spans, sorted by start; `rules`: the name rules to try."""
        # Cheap gates: each finder only runs on a row that could hold its type.
        digits = sum(c.isdigit() for c in text)
        found: list[patterns.Span] = []
        if "@" in text or " dot " in text.lower():
            found += patterns.find_emails(text)
        if "@" in text:
            found += patterns.find_handles(text)
        if "." in text:
            found += patterns.find_urls(text)
        if digits >= 13:
            found += patterns.find_cards(text)
        if digits >= 4 and ("." in text or ":" in text):
            found += patterns.find_ips(text)
        if digits >= 8:
            found += patterns.find_phones(text, region)
        if digits:
            found += patterns.find_addresses(text)
        # The flag: an allow-listed title around the span may keep it.
        spans = [(t, s, e, t in _ALLOWABLE) for t, s, e in found]
        spans += [("PERSON", s, e, not strong) for s, e, strong in names.find_persons(text, rules)]
        spans = [sp for sp in spans if not (sp[3] and self.allow.covers(text, sp[1], sp[2]))]
        kept: list[tuple[str, int, int]] = []
        for t, s, e, _ in sorted(spans, key=lambda sp: (_PRIORITY[sp[0]], sp[1] - sp[2], sp[1])):
            if all(e <= ks or ke <= s for _, ks, ke in kept):
                kept.append((t, s, e))
        return sorted(kept, key=lambda sp: sp[1])

    def __call__(self, text: pa.Array, locale: pa.Array | None = None) -> Scrubbed:
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        rows = np.flatnonzero(_matches(text, _PREFILTER))
        candidates = text.take(rows)
        texts = candidates.to_pylist()
        locales = locale.take(rows).to_pylist() if locale is not None else [None] * len(rows)
        # Which name rules each row could match, decided in C++ over the column: each row then runs
        # the few Python regexes it needs, not all of them.
        triggered = np.stack([_matches(candidates, rule.trigger) for rule in names.RULES], axis=1)
        changed, new_text, dropped = [], [], []
        found: list[tuple[str, str]] = []
        counts: Counter[str] = Counter()
        for row, value, loc, on in zip(rows, texts, locales, triggered, strict=True):
            rules = [rule for rule, hit in zip(names.RULES, on, strict=True) if hit]
            spans = self.detect(value, _region(loc), rules)
            if not spans:
                continue
            found += [(t, value[s:e]) for t, s, e in spans]
            counts.update(t for t, _, _ in spans)
            out, drop = value, False
            for t, s, e in reversed(spans):  # right to left, so that earlier offsets stay valid
                action = self.actions[t]
                if action == "drop":
                    drop = True
                else:
                    out = out[:s] + (f"<{t}>" if action == "placeholder" else _mask(value[s:e])) + out[e:]
            if out != value:
                changed.append(row)
                new_text.append(out)
            if drop:
                dropped.append(row)
        return Scrubbed(
            text=_replace(text, changed, new_text),
            drop=pa.array(np.isin(np.arange(len(text)), dropped)),
            found=found,
            counts=counts,
        )


def _matches(text: pa.Array, pattern: str) -> np.ndarray:
    """Bool per row: the RE2 `pattern` occurs in it, case-insensitively (null rows: False)."""
    hit = pc.match_substring_regex(text, pattern, ignore_case=True)
    return pc.fill_null(hit, False).to_numpy(zero_copy_only=False)


def _replace(text: pa.Array, rows: list[int], values: list[str]) -> pa.Array:
    if not rows:
        return text
    mask = np.zeros(len(text), bool)
    mask[rows] = True
    return pc.replace_with_mask(text, pa.array(mask), pa.array(values, text.type))


def scrub_pii(
    texts: list[str],
    locales: list[str | None] | None = None,
    actions: Mapping[str, str] | None = None,
    allow: AllowList | None = None,
) -> list[str]:
    """Scrubs a Python list: a convenience for notebooks and tests."""
    scrubber = PiiScrubber(actions or {}, allow)
    loc = pa.array(locales, pa.string()) if locales is not None else None
    return scrubber(pa.array(texts, pa.string()), loc).text.to_pylist()
