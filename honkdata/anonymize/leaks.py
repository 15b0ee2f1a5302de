"""Leak verification: the last look at every file about to be published.

Three checks, any hit fails the build:
- raw user ids of the input, as whole tokens (ids shorter than MIN_ID_CHARS are skipped: "u2" is
  also a band);
- the exact PII values the detectors found in the input, except person names, which are common
  words outside their personal context ("this is mark" is PII, "play mark ronson" is not);
- anything the PII detectors still find in rows that come from user logs (this covers names in
  their personal context).
The report names files and counts, never the leaked values: they are what must not be printed.
"""

import re
from collections import Counter
from pathlib import Path

import ahocorasick
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from honkdata.anonymize.pii import PiiScrubber
from honkdata.anonymize.pseudonym import Pseudonymizer

MIN_ID_CHARS = 8
_TOKEN = re.compile(r"[^\s,;:!?\"'()<>\[\]{}|/\\]+")


class LeakCheck:
    def __init__(
        self, pseudonymizer: Pseudonymizer, scrubber: PiiScrubber, found: set[tuple[str, str]]
    ) -> None:
        self._pseudonymizer = pseudonymizer
        self._scrubber = scrubber
        self._values = ahocorasick.Automaton()
        for pii_type, value in found:
            if pii_type != "PERSON" and value.strip():
                self._values.add_word(value.lower(), (pii_type, len(value)))
        self._has_values = len(self._values) > 0
        if self._has_values:
            self._values.make_automaton()

    def _raw_ids(self, text: str) -> int:
        # An id may hold dots (an e-mail as account id) or sit in a file name: try both readings.
        tokens = {part for token in _TOKEN.findall(text) for part in (token, *token.split("."))}
        tokens = [t for t in tokens if len(t) >= MIN_ID_CHARS]
        return int(self._pseudonymizer.were_seen(tokens).sum())

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

    def scan_parquet(self, path: Path, user_log_sources: set[str]) -> Counter[str]:
        table = pq.read_table(path, columns=["text", "sources"])
        sources = table.column("sources").combine_chunks()
        hits = self.scan_text("\n".join(pc.unique(pc.list_flatten(sources)).to_pylist()))
        # Rows only from curated public sets are public text, free to name anyone.
        texts = table.column("text").combine_chunks().filter(_any_source_in(sources, user_log_sources))
        hits += self.scan_text("\n".join(texts.to_pylist()))
        hits.update(
            {f"{pii_type} still detectable": n for pii_type, n in self._scrubber(texts).counts.items()}
        )
        return +hits


def _boundary(text: str, index: int) -> bool:
    """Is `index` at a word edge: the text's start or end, or next to a non-word character?"""
    return index <= 0 or index >= len(text) or not (text[index - 1].isalnum() and text[index].isalnum())


def _any_source_in(sources: pa.ListArray, names: set[str]) -> pa.Array:
    """Per row: does its `sources` list hold any of `names`?"""
    flat = pc.list_flatten(sources)
    rows = pc.list_parent_indices(sources).filter(pc.is_in(flat, pa.array(sorted(names), pa.string())))
    mask = np.zeros(len(sources), dtype=bool)
    mask[rows.to_numpy()] = True
    return pa.array(mask)
