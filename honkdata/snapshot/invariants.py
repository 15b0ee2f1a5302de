"""What every published row holds, checked on the final table before the writer sees it.

- every span (`entities` and `source_entities`) lies inside its text, and `text[start:end]` is the
  span's text;
- the spans of one row do not overlap;
- every intent belongs to the taxonomy;
- ids are unique.

A violation is a bug upstream (a reader, a stage, an import), never something to publish: the build
fails with one line that says which rule how many rows break, and names the first row by its id,
never by its text (which the leak check has not seen yet).
"""

from collections.abc import Collection

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.errors import HonkdataError

SPAN_COLUMNS = ("entities", "source_entities")

# Per row, whether any span breaks a rule; `r` tells rows apart even where ids repeat. A span
# overlaps when it starts before the furthest end of the spans that start before it.
_SPANS = """
WITH spans AS (
    SELECT r, id, text, unnest(spans) AS s
    FROM (SELECT row_number() OVER () AS r, id, text, {column} AS spans FROM rows)
), checked AS (
    SELECT r, id,
        coalesce(s.start < 0 OR s."end" <= s.start OR s."end" > length(text), true) AS outside,
        substring(text, s.start + 1, s."end" - s.start) IS DISTINCT FROM s.text AS mismatch,
        coalesce(s.start < max(s."end") OVER (PARTITION BY r ORDER BY s.start, s."end"
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), false) AS overlap
    FROM spans
)
SELECT count(DISTINCT r) FILTER (outside), min(id) FILTER (outside),
       count(DISTINCT r) FILTER (mismatch AND NOT outside), min(id) FILTER (mismatch AND NOT outside),
       count(DISTINCT r) FILTER (overlap), min(id) FILTER (overlap)
FROM checked
"""


def _found(n: int, what: str, first: str | None) -> list[str]:
    return [f"{n} rows {what} (first: id {first})"] if n else []


def span_violations(table: pa.Table, column: str) -> list[str]:
    """What breaks the span rules in `column` (a list of {type, start, end, text} per row)."""
    con = duckdb.connect()
    con.register("rows", table.select(["id", "text", column]))
    ((outside, first_outside, mismatch, first_mismatch, overlap, first_overlap),) = con.sql(
        _SPANS.format(column=column)
    ).fetchall()
    con.close()
    return [
        *_found(outside, f"with {column} spans outside their text", first_outside),
        *_found(mismatch, f"with {column} spans whose text is not text[start:end]", first_mismatch),
        *_found(overlap, f"with overlapping {column} spans", first_overlap),
    ]


def intent_violations(table: pa.Table, intents: Collection[str]) -> list[str]:
    """Rows whose intent is not a taxonomy intent (unlabeled rows, null, are fine)."""
    intent = table.column("intent")
    outside = pc.and_(pc.is_valid(intent), pc.invert(pc.is_in(intent, pa.array(sorted(intents)))))
    bad = table.filter(outside)
    if not bad.num_rows:
        return []
    names = ", ".join(sorted(pc.unique(bad.column("intent")).to_pylist())[:3])
    return _found(bad.num_rows, f"with an intent outside the taxonomy ({names})", bad.column("id")[0].as_py())


def id_violations(table: pa.Table) -> list[str]:
    ids = table.column("id")
    if pc.count_distinct(ids).as_py() == len(ids):
        return []
    counts = pc.value_counts(ids)
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    return _found(len(repeated), "share their id with another row", pc.min(repeated).as_py())


def check_invariants(table: pa.Table, intents: Collection[str]) -> None:
    """Raise one line naming every broken invariant of the rows about to be published."""
    found = [
        *id_violations(table),
        *intent_violations(table, intents),
        *(v for column in SPAN_COLUMNS for v in span_violations(table, column)),
    ]
    if found:
        raise HonkdataError(f"snapshot invariants broken, nothing written: {'; '.join(found)}")
