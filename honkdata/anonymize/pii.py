"""PII in query text: detection with music-aware rules, then a placeholder, a mask or a dropped row.

Speed comes from not repeating and not looking: a log repeats its queries, so each distinct (text,
locale) pair is scrubbed once; one RE2 pass over those (`pc.match_substring_regex`) keeps only rows
with an "@", a long digit run, a domain, a street word, a postal code, an address cue or a
personal-context trigger; only those few rows go through Python (the regexes and validators of
`patterns`, the person rules of `names`, `phonenumbers` with the region of the row's locale).

Music names survive in two ways: person names are only taken from personal contexts (`names`),
and an allow-list (catalog entries and gold entities of curated sources) protects an address,
link, phone, handle or weak-context name that lies inside a listed title ("play 22 acacia avenue").
Emails, cards, IPs and names in strong personal contexts ("call taylor swift") are never allowed.
"""

import functools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
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
# Two passes, not one alternation of both: RE2's automaton for the union is slower than the two.
_PREFILTERS = (patterns.PREFILTER, names.PREFILTER)
_ALLOWABLE = frozenset(("ADDRESS", "URL", "PHONE", "HANDLE"))
# Overlaps go to the more specific detector: the email "jo@gmail.com" is not the domain "gmail.com".
_PRIORITY = {
    t: i for i, t in enumerate(("EMAIL", "URL", "CARD", "IP", "PHONE", "HANDLE", "ADDRESS", "PERSON"))
}
_DEFAULT_REGION = "US"
_LOOSE = " ,;:"  # what a span cut by another one sheds at its ends
_PASSES = 3  # scrubbing rounds per row, for what one round uncovers
_MIN_DIGITS = 6  # fewer digits left: no phone, card or house number left to find


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
        self,
        text: str,
        region: str = _DEFAULT_REGION,
        rules: Iterable[names.Rule] = names.RULES,
        addresses: bool = True,
    ) -> list[tuple[str, int, int]]:
        """Non-overlapping (type, start, end) spans, sorted by start; `rules`: the name rules to try;
        `addresses`: whether the row could hold an address (its RE2 prefilter)."""
        # Cheap gates: each finder only runs on a row that could hold its type.
        digits = sum(map(str.isdigit, text))
        found: list[patterns.Span] = []
        if "@" in text or " dot " in text.lower():
            found += patterns.find_emails(text)
        if "@" in text:
            found += patterns.find_handles(text)
        if "." in text:
            found += patterns.find_urls(text)
        if digits >= 12:
            found += patterns.find_cards(text)
        if digits >= 4 and ("." in text or ":" in text):
            found += patterns.find_ips(text)
        if digits >= patterns.phone_digits(region):
            found += patterns.find_phones(text, region)
        if addresses and digits:
            found += patterns.find_addresses(text)
        # The flag: an allow-listed title around the span may keep it.
        spans = [(t, s, e, t in _ALLOWABLE) for t, s, e in found]
        spans += [("PERSON", s, e, not strong) for s, e, strong in names.find_persons(text, rules)]
        spans = [sp for sp in spans if not (sp[3] and self.allow.covers(text, sp[1], sp[2]))]
        kept: list[tuple[str, int, int]] = []
        for t, s, e, _ in sorted(spans, key=lambda sp: (_PRIORITY[sp[0]], sp[1] - sp[2], sp[1])):
            kept += [(t, ps, pe) for ps, pe in _outside(text, s, e, kept)]
        return sorted(kept, key=lambda sp: sp[1])

    def __call__(self, text: pa.Array, locale: pa.Array | None = None) -> Scrubbed:
        text, locale = _combined(text), _combined(locale)
        # Logs repeat their queries (Zipf), so each distinct (text, locale) pair is scrubbed once
        # (the locale picks the phone region) and the results are spread back to its events.
        first, pair = _distinct_pairs(text, locale)
        values = text.take(first)
        out, drop, finds = self._scrub_rows(values, locale.take(first) if locale is not None else None)
        # Finds and counts stay per event, in event order, as if every event had been scrubbed.
        hits = np.flatnonzero(np.isin(pair, np.fromiter(finds, np.int64, len(finds))))
        found = [find for distinct in pair[hits].tolist() for find in finds[distinct]]
        return Scrubbed(
            text=out.take(pair),
            drop=drop.take(pair),
            found=found,
            counts=Counter(pii_type for pii_type, _ in found),
        )

    def _scrub_rows(
        self, text: pa.Array, locale: pa.Array | None
    ) -> tuple[pa.Array, pa.Array, dict[int, list[tuple[str, str]]]]:
        """Each row scrubbed on its own: the scrubbed texts, the drop mask and each row's finds (if any)."""
        rows = np.flatnonzero(np.logical_or.reduce([_matches(text, pattern) for pattern in _PREFILTERS]))
        candidates = text.take(rows)
        texts = candidates.to_pylist()
        locales = locale.take(rows).to_pylist() if locale is not None else [None] * len(rows)
        # Which name rules each row could match, decided in C++ over the column: each row then runs
        # the few Python regexes it needs, not all of them.
        # (Python lists: iterating numpy rows costs more than the regexes on most rows.)
        triggered = np.stack([_matches(candidates, rule.trigger) for rule in names.RULES], axis=1).tolist()
        addresses = _matches(candidates, patterns.ADDRESS_PREFILTER).tolist()
        changed, new_text, dropped = [], [], []
        found: dict[int, list[tuple[str, str]]] = {}
        for row, value, loc, on, address in zip(
            rows.tolist(), texts, locales, triggered, addresses, strict=True
        ):
            rules = [rule for rule, hit in zip(names.RULES, on, strict=True) if hit]
            out, drop, spans = self._scrub_row(value, _region(loc), rules, address)
            if not spans:
                continue
            found[row] = spans
            if out != value:
                changed.append(row)
                new_text.append(out)
            if drop:
                dropped.append(row)
        return _replace(text, changed, new_text), pa.array(np.isin(np.arange(len(text)), dropped)), found

    def _scrub_row(
        self, value: str, region: str, rules: list[names.Rule], addresses: bool
    ) -> tuple[str, bool, list[tuple[str, str]]]:
        """The row scrubbed, whether to drop it, and the (type, value) of each find. Scrubbing can
        uncover more ("… 12 431 7050": a phone stands alone once the address before it is out), and
        the leak check re-scans what is published: a row with digits left is scrubbed again."""
        out, found = value, []
        for _ in range(_PASSES):
            spans = self.detect(out, region, rules, addresses)
            found += [(t, out[s:e]) for t, s, e in spans if out[s:e] in value]  # not over a placeholder
            if any(self.actions[t] == "drop" for t, _, _ in spans):
                return out, True, found
            out = self._apply(out, spans)
            if not spans or sum(map(str.isdigit, out)) < _MIN_DIGITS:
                break
        return out, False, found

    def _apply(self, text: str, spans: list[tuple[str, int, int]]) -> str:
        for t, s, e in reversed(spans):  # right to left, so that earlier offsets stay valid
            action = self.actions[t]
            text = text[:s] + (f"<{t}>" if action == "placeholder" else _mask(text[s:e])) + text[e:]
        return text


def _outside(text: str, start: int, end: int, kept: list[tuple[str, int, int]]) -> Iterator[tuple[int, int]]:
    """The parts of text[start:end] that no kept span covers, trimmed, where they hold a word: an
    address clause that runs over a card number keeps the address around it."""
    cuts = sorted((max(s, start), min(e, end)) for _, s, e in kept if s < end and start < e)
    if not cuts:
        yield start, end
        return
    edges = [start, *(x for cut in cuts for x in cut), end]
    for s, e in zip(edges[::2], edges[1::2], strict=True):
        piece = text[s:e]
        s, e = s + len(piece) - len(piece.lstrip(_LOOSE)), e - len(piece) + len(piece.rstrip(_LOOSE))
        if any(c.isalnum() for c in text[s:e]):
            yield s, e


def _combined(values: pa.Array | pa.ChunkedArray | None) -> pa.Array | None:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _distinct_pairs(text: pa.Array, locale: pa.Array | None) -> tuple[np.ndarray, np.ndarray]:
    """The first row of each distinct (text, locale) pair, and each row's pair (an index into the
    first rows); nulls are values like any other."""
    pair = pc.dictionary_encode(text, null_encoding="encode").indices.to_numpy().astype(np.int64)
    if locale is not None:
        locales = pc.dictionary_encode(locale, null_encoding="encode")
        code = pair * len(locales.dictionary) + locales.indices.to_numpy()
        pair = pc.dictionary_encode(pa.array(code)).indices.to_numpy()
    # Arrow numbers values in the order they first occur (hashing, no sort): a row is its pair's
    # first where the largest number so far grows.
    first = np.flatnonzero(np.diff(np.maximum.accumulate(pair), prepend=-1) > 0)
    return first, pair


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
