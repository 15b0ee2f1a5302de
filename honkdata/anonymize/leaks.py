"""Leak verification: the last look at every file about to be published.

Three checks, any hit fails the build:
- raw user ids of the input, as whole values wherever they stand, whatever punctuation they hold
  ("jo.smith@example.com" inside "logs/jo.smith@example.com.jsonl"); ids shorter than
  MIN_ID_CHARS are skipped ("u2" is also a band);
- the exact PII values the detectors found in the input, except the types whose detection depends
  on context: person names are common words outside their personal context ("this is mark" is
  PII, "play mark ronson" is not), and a street is a song title after "play" ("ship it to 157
  riverside avenue" is PII, "play 157 riverside avenue" is REO Speedwagon);
- anything the PII detectors still find in published rows: user-log rows were scrubbed, so a find
  there is a scrubber miss; curated rows are published as they are, so a find there fails the build
  unless the source allows it (`allow_pii`, the default for published corpora such as Snips).
Input file names are published (`sources`, the card, the manifest) only through this check.
The report names files and counts, never the leaked values: they are what must not be printed.
"""

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from honkdata.anonymize.pii import PiiScrubber
from honkdata.anonymize.pseudonym import Pseudonymizer

MIN_ID_CHARS = 8
CONTEXTUAL_TYPES = frozenset(("PERSON", "ADDRESS"))  # checked by re-detection in context, not by value
# An id is looked for among the runs of segments of each whitespace-free token, a segment being a
# run of letters and digits or one other character; runs are capped so a long token stays linear.
_SEGMENT = re.compile(r"[^\W_]+|[\W_]")
MAX_SEGMENTS = 24


class LeakCheck:
    def __init__(
        self, pseudonymizer: Pseudonymizer, scrubber: PiiScrubber, found: set[tuple[str, str]]
    ) -> None:
        self._pseudonymizer = pseudonymizer
        self._scrubber = scrubber
        self._values = ahocorasick.Automaton()
        for pii_type, value in found:
            if pii_type not in CONTEXTUAL_TYPES and value.strip():
                self._values.add_word(value.lower(), (pii_type, len(value)))
        self._has_values = len(self._values) > 0
        if self._has_values:
            self._values.make_automaton()

    def _raw_ids(self, text: str) -> int:
        candidates = {value for token in set(text.split()) for value in _values_in(token)}
        return int(self._pseudonymizer.were_seen(sorted(candidates)).sum())

    def _pii_values(self, text: str) -> Counter[str]:
        if not self._has_values:
            return Counter()
        # Whole words only: a value found in a cut-off query ("... 90s indie pl") must not match
        # inside an ordinary one ("... 90s indie playlist").
        text = text.lower()
        return Counter(
            pii_type
            for end, (pii_type, length) in self._values.iter(text)
            if _boundary(text, end - length + 1) and _boundary(text, end + 1)
        )

    def scan_text(self, text: str) -> Counter[str]:
        """Hits in free text (the card, the manifest): raw ids and detected PII values."""
        hits = self._pii_values(text)
        hits["raw user id"] += self._raw_ids(text)
        return +hits

    def scan_parquet(self, path: Path, scrubbed: set[str], exempt: set[str]) -> Counter[str]:
        """Hits in one data file. `scrubbed`: the user-log sources (their rows went through the
        scrubber); `exempt`: curated sources whose rows may hold PII; a row only from those is skipped.
        """
        table = pq.read_table(path, columns=["text", "sources"])
        sources = _names(table.column("sources").combine_chunks())
        hits = self.scan_text("\n".join(pc.unique(pc.list_flatten(sources)).to_pylist()))
        scanned = pc.invert(_only_sources_in(sources, exempt))
        texts = table.column("text").combine_chunks()
        hits += self.scan_text("\n".join(texts.filter(scanned).to_pylist()))
        from_logs = _any_source_in(sources, scrubbed)
        rows = self._scrubber(texts.filter(pc.and_(scanned, from_logs)))
        hits.update({f"{pii_type} still detectable": n for pii_type, n in rows.counts.items()})
        curated = pc.and_(scanned, pc.invert(from_logs))
        found = self._scrubber(texts.filter(curated))
        if found.counts:
            hit = pc.or_(pc.not_equal(found.text, texts.filter(curated)), found.drop)
            names = sorted(set(pc.list_flatten(sources.filter(curated).filter(hit)).to_pylist()) - exempt)
            where = (
                f"in curated rows of {', '.join(names)} (set allow_pii: true on the source to publish them)"
            )
            hits.update({f"{pii_type} {where}": n for pii_type, n in found.counts.items()})
        return +hits


def _values_in(token: str) -> Iterator[str]:
    """Every run of whole segments of `token` long enough to be an id."""
    segments = _SEGMENT.findall(token)
    for start in range(len(segments)):
        value = ""
        for segment in segments[start : start + MAX_SEGMENTS]:
            value += segment
            if len(value) >= MIN_ID_CHARS:
                yield value


def _boundary(text: str, index: int) -> bool:
    """Is `index` at a word edge: the text's start or end, or next to a non-word character?"""
    return index <= 0 or index >= len(text) or not (text[index - 1].isalnum() and text[index].isalnum())


def _names(sources: pa.ListArray) -> pa.ListArray:
    """Per row, the input names of its `sources` (a list of {name, split}): names are what may leak."""
    return pa.ListArray.from_arrays(sources.offsets, pc.struct_field(sources.values, "name"))


def _any_member(sources: pa.ListArray, members: pa.Array) -> np.ndarray:
    """Per row: does any of its `sources` satisfy `members` (a mask over the flattened list)?"""
    mask = np.zeros(len(sources), dtype=bool)
    mask[pc.list_parent_indices(sources).filter(members).to_numpy()] = True
    return mask


def _only_sources_in(sources: pa.ListArray, names: set[str]) -> pa.Array:
    """Per row: are all of its `sources` among `names`? (rows without sources: no)"""
    inside = pc.is_in(pc.list_flatten(sources), pa.array(sorted(names), pa.string()))
    has_sources = pc.greater(pc.list_value_length(sources), 0).to_numpy(zero_copy_only=False)
    return pa.array(has_sources & ~_any_member(sources, pc.invert(inside)))


def _any_source_in(sources: pa.ListArray, names: set[str]) -> pa.Array:
    """Per row: does its `sources` list hold any of `names`?"""
    return pa.array(
        _any_member(sources, pc.is_in(pc.list_flatten(sources), pa.array(sorted(names), pa.string())))
    )
