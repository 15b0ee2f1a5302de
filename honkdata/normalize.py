"""Normalize: NFKC, control and format characters out, whitespace collapsed, a case-folded grouping key."""

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import NormalizeConfig
from honkdata.schema import ENTITIES
from honkdata.stage import StageStats

# Runs of whitespace and control characters (tabs, NUL, ...) become one space. RE2's \s is
# [\t\n\f\r ], control characters all but the space, so a run is spaces and Cc; only the runs that
# change are matched (two spaces or more, or any control character in them): RE2 leaves a row of
# single spaces alone, 5x faster than rewriting each space as itself.
_SPACES = r"[ \p{Cc}]*\p{Cc}[ \p{Cc}]*| {2,}"
# Format characters (Unicode Cf: zero-width spaces and joiners, soft hyphens, bidi controls, tag
# characters) are invisible, yet they split "play\u200bx" from "playx" and can make a query of nothing
# but invisible characters. All vanish, except the zero-width joiners that glue an emoji sequence
# (a family emoji is man, ZWJ, woman, ZWJ, girl): the first branch keeps a sequence whole.
_EMOJI = r"\p{So}[\x{FE0F}\x{1F3FB}-\x{1F3FF}]*"  # a symbol, its variation selector and skin tone
_INVISIBLE = rf"((?:{_EMOJI}\x{{200D}})+{_EMOJI})|\p{{Cf}}"
_TRAILING_MARKS = r"[\s.!?,;:…]+$"  # "skip!" and "skip" are one query

# The stage's counters (manifest.json: stages.normalize): rows dropped, and entity spans lost by column.
EMPTY_QUERY = "empty_query"  # shorter than min_chars once normalized
TOO_LONG = "too_long"  # longer than max_chars (the limit is in the manifest's config)
ENTITIES_LOST = "entities_lost"  # spans whose text is gone from the normalized query, by column


def normalize_text(text: pa.Array) -> pa.Array:
    text = pc.utf8_normalize(text, "NFKC")
    text = pc.replace_substring_regex(text, _INVISIBLE, r"\1")
    text = pc.replace_substring_regex(text, _SPACES, " ")
    return pc.utf8_trim_whitespace(text)


def grouping_key(text: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(pc.utf8_lower(text), _TRAILING_MARKS, "")


def realign_entities(normalized: str, entities: list[dict], needles: list[str]) -> tuple[list[dict], int]:
    """Move entity spans onto the normalized text; returns (entities, number lost).

    `needles` are the entities' own texts normalized the same way as the query. Each is looked up
    in the new text, taking the occurrence nearest its old position, so repeated words
    ("play play") land on the right one; and after the span before it, so that spans stay apart
    when NFKC moves text ("½ 2" becomes "1⁄2 2": the "2" must not land inside the "1⁄2").
    """
    kept, lost, after = [], 0, 0
    for entity, needle in sorted(zip(entities, needles, strict=True), key=lambda pair: pair[0]["start"]):
        found = re.finditer(re.escape(needle), normalized) if needle else ()
        starts = [m.start() for m in found if m.start() >= after]
        if not starts:
            lost += 1
            continue
        start = min(starts, key=lambda s: abs(s - entity["start"]))
        after = start + len(needle)
        kept.append({**entity, "start": start, "end": after, "text": needle})
    return kept, lost


@dataclass
class Normalize:
    """Batch stage: adds `text` (display) and `key` (grouping) and drops unusable queries."""

    config: NormalizeConfig
    name: str = "normalize"

    def __call__(self, batch: pa.RecordBatch, stats: StageStats) -> pa.RecordBatch:
        stats.rows_in += batch.num_rows
        # Logs repeat their queries (Zipf): each distinct query is normalized once, then spread back.
        queries = pc.dictionary_encode(batch.column("query"))
        distinct = normalize_text(queries.dictionary)
        text, key = (pc.take(values, queries.indices) for values in (distinct, grouping_key(distinct)))
        length = pc.utf8_length(text)
        too_short = pc.less(length, self.config.min_chars)
        too_long = pc.greater(length, self.config.max_chars)
        stats.drop(EMPTY_QUERY, pc.sum(too_short).as_py() or 0)
        stats.drop(TOO_LONG, pc.sum(too_long).as_py() or 0)
        batch = batch.append_column("text", text).append_column("key", key)
        batch = batch.filter(pc.invert(pc.or_(too_short, too_long)))
        for column in ("entities", "source_entities"):  # mapped and native spans alike
            if batch.column(column).null_count < batch.num_rows:
                batch = self._realign(batch, column, stats)
        stats.rows_out += batch.num_rows
        return batch

    def _realign(self, batch: pa.RecordBatch, column: str, stats: StageStats) -> pa.RecordBatch:
        spans = batch.column(column)
        # Only rows with spans whose text moved: Python over those rows alone, the rest stay as they are.
        moved = pc.and_(
            pc.greater(pc.list_value_length(spans), 0),
            pc.not_equal(batch.column("query"), batch.column("text")),
        )
        rows = np.flatnonzero(pc.fill_null(moved, False).to_numpy(zero_copy_only=False))
        if not len(rows):
            return batch
        queries, texts, entities = (batch.column(c).take(rows).to_pylist() for c in ("query", "text", column))
        raw_needles = [
            query[e["start"] : e["end"]]
            for query, own_spans in zip(queries, entities, strict=True)
            for e in own_spans
        ]
        needles = iter(normalize_text(pa.array(raw_needles, pa.string())).to_pylist())
        lost = 0
        for i, own_spans in enumerate(entities):
            own = [next(needles) for _ in own_spans]
            entities[i], row_lost = realign_entities(texts[i], own_spans, own)
            lost += row_lost
        stats.tally(ENTITIES_LOST, column, lost)
        # Each moved row takes its realigned spans (appended after the old ones), every other row its own.
        where = np.arange(batch.num_rows)
        where[rows] = batch.num_rows + np.arange(len(rows))
        realigned = pc.take(pa.concat_arrays([spans, pa.array(entities, ENTITIES)]), pa.array(where))
        return batch.set_column(batch.schema.get_field_index(column), column, realigned)
