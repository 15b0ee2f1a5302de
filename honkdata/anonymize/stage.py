"""The anonymize batch stage: pseudonymous user ids, scrubbed text, no session ids, days not times.

It runs after normalize and before exact dedup, on user-log rows only (curated public sets carry
no people), and recomputes the grouping key from the scrubbed text so that "call <PERSON>" pools
across users before the release threshold counts them.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.anonymize.pii import AllowList, PiiScrubber
from honkdata.anonymize.pseudonym import Pseudonymizer, PseudonymKey
from honkdata.catalog import music_names
from honkdata.config import BuildConfig
from honkdata.normalize import grouping_key
from honkdata.stage import StageStats

# The stage's counters (manifest.json: stages.anonymize).
PII_FOUND = "pii_found"  # PII detections in user-log events, by PII type
PII_DROPPED = "pii_dropped"  # events dropped for PII whose configured action is drop


@dataclass
class Anonymize:
    pseudonymizer: Pseudonymizer
    scrubber: PiiScrubber
    found: set[tuple[str, str]] = field(default_factory=set)  # every PII value detected, for the leak check
    learned: set[str] = field(default_factory=set)  # the curated sets' music names added to the allow-list
    name: str = "anonymize"

    def __call__(self, batch: pa.RecordBatch, stats: StageStats) -> pa.RecordBatch:
        stats.rows_in += batch.num_rows
        if not pc.any(batch.column("user_log")).as_py():
            self._learn_music_names(batch)
            stats.rows_out += batch.num_rows
            return batch
        scrubbed = self.scrubber(batch.column("text"), batch.column("locale"))
        self.found.update(scrubbed.found)
        for pii_type, n in scrubbed.counts.items():
            stats.tally(PII_FOUND, pii_type, n)
        columns = {
            "text": scrubbed.text,
            "key": _rekeyed(batch.column("key"), batch.column("text"), scrubbed.text),
            "user_id": self.pseudonymizer(batch.column("user_id")),
            "session_id": pa.nulls(batch.num_rows, pa.string()),
            "ts": pc.floor_temporal(batch.column("ts"), unit="day"),
        }
        for name, values in columns.items():
            batch = batch.set_column(batch.schema.get_field_index(name), name, values)
        drop = scrubbed.drop
        stats.drop(PII_DROPPED, pc.sum(drop).as_py() or 0)
        batch = batch.filter(pc.invert(drop))
        stats.rows_out += batch.num_rows
        return batch

    def replica(self) -> "Anonymize":
        """A copy for one batch on a worker, which starts with nothing found or seen: what it finds
        there goes back to this stage (`absorb`). The scrubber, with its completed allow-list, is shared."""
        return Anonymize(Pseudonymizer(self.pseudonymizer.key), self.scrubber)

    def absorb(self, found: set[tuple[str, str]], seen: np.ndarray) -> None:
        """What replicas found and the digests of the raw ids they pseudonymized: the leak check asks
        this stage, since the workers' copies are gone."""
        self.found |= found
        self.pseudonymizer.add_seen(seen)

    def state(self) -> dict:
        """For a resumed build's leak check: every PII value found (raw text: the checkpoint folder
        is owner-only and goes when the build ends)."""
        return {"found": sorted(self.found), "music_names": sorted(self.learned)}

    def restore(self, state: dict) -> None:
        self.found = {(kind, value) for kind, value in state["found"]}
        self._learn(state["music_names"])  # the leak check scrubs with the allow-list the build had

    def _learn_music_names(self, batch: pa.RecordBatch) -> None:
        """Gold entities of curated sets join the allow-list before any user log is scrubbed."""
        self._learn(name for _, name in music_names(batch.column("entities")))

    def _learn(self, names: Iterable[str]) -> None:
        names = set(names) - self.learned
        self.learned |= names
        self.scrubber.allow.add(names)


def _rekeyed(key: pa.Array, text: pa.Array, scrubbed: pa.Array) -> pa.Array:
    """The grouping key of the scrubbed text: normalize's, but where scrubbing changed the text (a
    few rows in a hundred), `grouping_key` of the new text, once per distinct one."""
    changed = pc.not_equal(text, scrubbed)
    if not pc.any(changed).as_py():
        return key
    distinct = pc.dictionary_encode(scrubbed.filter(changed))
    return pc.replace_with_mask(key, changed, pc.take(grouping_key(distinct.dictionary), distinct.indices))


def anonymizer(config: BuildConfig, key: PseudonymKey) -> Anonymize:
    """The anonymize stage a build config describes: its PII actions and its catalog as allow-list."""
    allow = AllowList.from_file(Path(config.catalog)) if config.catalog else AllowList()
    return Anonymize(Pseudonymizer(key), PiiScrubber(config.anonymize.pii, allow))
