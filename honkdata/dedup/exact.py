"""Exact dedup: one row per normalized key, with its counts, users, sources and majority gold label.

The event stream is written batch by batch as Arrow IPC parts under the build's owner-only work
folder (a file write per batch, far cheaper than an insert per batch into a database table), and
`finish` loads them into DuckDB in one bulk read and aggregates them with a memory limit, which spills
instead of growing with the input: only the unique rows come back into memory. `sources` holds one
{name, split} per input and official split the key came with.

Every aggregation is per key, so the events can also be grouped apart, in partitions by key
(`partitions`, for an engine with many machines), and the partitions' tables put together (`merge`)
are the table one grouping of every event gives.
"""

import itertools
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from honkdata.config import DPConfig, memory_bytes
from honkdata.errors import HonkdataError
from honkdata.schema import ENTITIES
from honkdata.stage import StageStats

# This stage's counters (honkdata.stage).
MERGED_IDENTICAL = "merged_into_identical_query"
CONFLICTING_GOLD = "conflicting_gold_labels"

# One event as the aggregation reads it: the parts' schema, every batch cast to it.
_EVENT = pa.schema(
    [
        ("key", pa.string()), ("text", pa.string()), ("user_id", pa.string()), ("day", pa.date32()),
        ("source", pa.string()), ("line", pa.int64()), ("user_log", pa.bool_()), ("intent", pa.string()),
        ("entities", ENTITIES), ("source_split", pa.string()), ("source_intent", pa.string()),
        ("source_entities", ENTITIES), ("locale", pa.string()), ("surface", pa.string()),
    ]
)  # fmt: skip
# The columns of a batch that `add` reads as they are: every event column but the day, which it takes
# from the batch's `ts`.
_READ = [name for name in _EVENT.names if name != "day"]

# The events' table stays in memory while their parts come to at most this share of the memory limit
# (see ExactDedup.finish).
_IN_MEMORY_SHARE = 0.25

# Macros are temporary: they live outside any database, so the table may be in memory or a file.
# A row's id: the first 16 hex digits of its key's MD5, the same on every machine and in every version.
_ROW_ID = "CREATE TEMP MACRO row_id(key) AS substr(md5(key), 1, 16)"

# Partition i of n takes the keys whose ids fall in the i-th n-th of the ids' range (by their first
# 8 hex digits, compared as the ids are in ORDER BY id): each partition's rows, in id order, follow
# the previous partition's. A NULL id sorts last: into the last partition.
_PARTITION = """
SELECT coalesce((('0x' || substr(row_id(key), 1, 8))::UBIGINT * $n) >> 32, $n - 1)::INTEGER AS p
FROM events
"""

# Spans of one variant of a key moved onto the displayed variant. Variants of a key differ only in
# case, which keeps lengths (the key is lower-cased code point by code point), and in trailing
# marks ("Help!" / "help"): offsets hold as they are up to `bound` (the key's length when the
# variants differ), and a span is cut there, or dropped when nothing of it is left.
_ONTO_DISPLAY = """
CREATE TEMP MACRO onto_display(spans, bound, display) AS list_transform(
    list_filter(spans, lambda x: x.start < least(x."end", bound)),
    lambda x: struct_pack(type := x.type, start := x.start, "end" := least(x."end", bound),
                          text := substring(display, x.start + 1, least(x."end", bound) - x.start)))
"""

# Ties break on the text itself so that the same input always gives the same row. Lists are sorted
# after they are gathered (list_sort), not gathered in order: an ordered aggregate costs a sort per
# group, a third of the whole query. `locale_votes` and
# `surface_votes` count each key's events per non-null value, for MergeClusters to publish the most
# frequent over a whole cluster; under a DP release only curated events vote (`voters`), since a
# value taken from user logs would be published without noise.
_UNIQUE_ROWS = """
WITH variants AS (
    SELECT key, text, count(*) AS n FROM events GROUP BY key, text
), display AS (
    SELECT key, first(text ORDER BY n DESC, text) AS text FROM variants GROUP BY key
), stats AS (
    SELECT key, count(*) AS count,
           list_sort(list(DISTINCT struct_pack(name := source, split := source_split))) AS sources,
           bool_or(NOT user_log) AS from_curated,
           min(day) AS first_seen, max(day) AS last_seen
    FROM events GROUP BY key
), users AS (
    -- Distinct (key, user) pairs first, then counted: a count(DISTINCT) keeps a set per key, which
    -- spilled and took a fifth longer at 10M events.
    SELECT key, count(user_id) AS n_users FROM (SELECT DISTINCT key, user_id FROM events) GROUP BY key
), locales AS (
    SELECT key, list_sort(list(struct_pack(value := locale, n := n))) AS locale_votes
    FROM (SELECT key, locale, count(*) AS n FROM events WHERE locale IS NOT NULL{voters} GROUP BY ALL)
    GROUP BY key
), surfaces AS (
    SELECT key, list_sort(list(struct_pack(value := surface, n := n))) AS surface_votes
    FROM (SELECT key, surface, count(*) AS n FROM events WHERE surface IS NOT NULL{voters} GROUP BY ALL)
    GROUP BY key
), votes AS (
    SELECT key, intent, count(*) AS n FROM events WHERE intent IS NOT NULL GROUP BY key, intent
), gold AS (
    SELECT key, first(intent ORDER BY n DESC, intent) AS intent, max(n) AS n_major,
           sum(n) AS n_labeled, count(*) AS n_intents
    FROM votes GROUP BY key
), labels AS (
    -- One occurrence of the winning intent, of the displayed variant first: its mapped and native
    -- labels stay together, so source_intent and source_entities come from one dataset. Files that
    -- share a source name repeat (source, line): the labels themselves break that tie, so the pick
    -- never depends on which file an engine read first.
    SELECT e.key, first(struct_pack(
               entities := e.entities, source_intent := e.source_intent, source_entities := e.source_entities,
               bound := length(CASE WHEN e.text = d.text THEN e.text ELSE e.key END)::INTEGER
           ) ORDER BY e.text = d.text DESC, e.source, e.line, e.entities, e.source_intent,
                      e.source_entities) AS l
    FROM events e JOIN gold g ON e.key = g.key AND e.intent = g.intent JOIN display d ON d.key = e.key
    GROUP BY e.key
){capped_cte}
SELECT row_id(s.key) AS id, d.text, g.intent,
       onto_display(lb.l.entities, lb.l.bound, d.text) AS entities, lb.l.source_intent,
       onto_display(lb.l.source_entities, lb.l.bound, d.text) AS source_entities,
       CASE WHEN g.intent IS NOT NULL THEN 'gold' END AS label_source,
       CAST(g.n_major / g.n_labeled AS FLOAT) AS label_confidence,
       s.count, u.n_users, s.sources, s.first_seen, s.last_seen,
       row_id(s.key) AS dup_cluster, coalesce(g.n_intents > 1, false) AS label_conflict,
       s.from_curated, lc.locale_votes, sf.surface_votes{capped_columns}
FROM stats s JOIN users u USING (key) JOIN display d USING (key) LEFT JOIN gold g USING (key)
    LEFT JOIN labels lb USING (key) LEFT JOIN locales lc USING (key)
    LEFT JOIN surfaces sf USING (key){capped_join}
ORDER BY id
"""

# Differential privacy bounds what one user can contribute: at most `max_queries` distinct queries
# per user (a random subset, by a per-build salted hash) and `max_events` events per query.
_CAPPED = """, per_user AS (
    SELECT user_id, key, count(*) AS n FROM events
    WHERE user_log AND user_id IS NOT NULL GROUP BY user_id, key
), ranked AS (
    SELECT key, n, row_number() OVER (PARTITION BY user_id ORDER BY hash(key, {salt})) AS r FROM per_user
), capped AS (
    SELECT key, count(*) AS capped_users, sum(least(n, {max_events})) AS capped_events
    FROM ranked WHERE r <= {max_queries} GROUP BY key
)"""


class ExactDedup:
    """Aggregation stage: `add` event batches, then `finish` for the unique rows."""

    name = "exact_dedup"

    def __init__(
        self,
        workdir: Path,
        memory_limit: str = "1.5GB",
        dp: DPConfig | None = None,
        threads: int | None = None,
    ) -> None:
        """`threads`: DuckDB's, all the machine's cores by default."""
        # The parts hold raw user ids: they live only for the build, never in a snapshot.
        self._workdir = workdir
        self._memory_limit = memory_limit
        # A DP release needs each user's contribution capped: (max queries per user, max events per query).
        self._caps = (dp.max_queries_per_user, dp.max_events_per_query) if dp else None
        workdir.mkdir(mode=0o700)
        self._parts = workdir / "events"
        self._parts.mkdir(mode=0o700)
        self._written = itertools.count()
        # Settings go in as values, never formatted into SQL: a crafted memory_limit (or a quote in
        # the path) must not become a statement.
        settings: dict[str, str | int] = {
            "memory_limit": memory_limit,
            "temp_directory": str(workdir / "spill"),
        }
        if threads is not None:
            settings["threads"] = threads
        try:
            self._con = duckdb.connect(":memory:", config=settings)
        except duckdb.Error as e:  # e.g. a limit too small to open the database in
            reason = str(e).splitlines()[0]
            raise HonkdataError(f"DuckDB cannot start with memory_limit {memory_limit!r}: {reason}") from None
        self._con.execute("SET preserve_insertion_order = false")
        # Off, for a quiet terminal. In a Jupyter kernel without ipywidgets DuckDB refuses to touch this
        # setting at all (even to turn it off), and there it is off already.
        if self._con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]:
            self._con.execute("SET enable_progress_bar = false")
        self._con.execute(_ONTO_DISPLAY)
        self._con.execute(_ROW_ID)

    def add(self, batch: pa.RecordBatch, stats: StageStats) -> None:
        """Writes the batch's events as one part. Safe in a worker process forked from the build (the
        local engine's): each process names its parts by its own id."""
        stats.rows_in += batch.num_rows
        columns = {name: batch.column(name) for name in _READ}
        columns["day"] = pc.cast(batch.column("ts"), pa.date32())
        self._write(pa.table(columns).select(_EVENT.names).cast(_EVENT))

    def _write(self, events: pa.Table) -> None:
        # Arrow IPC with LZ4 frames: a tenth of the CPU of Parquet with LZ4 (no encoding pass), at
        # about 80 bytes an event on disk.
        path = self._parts / f"{os.getpid()}-{next(self._written):08d}.arrow"
        with pa.ipc.new_file(path, _EVENT, options=pa.ipc.IpcWriteOptions(compression="lz4")) as part:
            part.write_table(events)

    def finish(self, stats: StageStats) -> pa.Table:
        """The unique rows; under a DP release also the per-user-capped `capped_users` and
        `capped_events` it needs."""
        parts = {"capped_cte": "", "capped_columns": "", "capped_join": "", "voters": ""}
        if caps := self._caps:
            salt = secrets.randbits(62)
            parts = {
                "capped_cte": _CAPPED.format(salt=salt, max_queries=caps[0], max_events=caps[1]),
                "capped_columns": ", coalesce(c.capped_users, 0) AS capped_users, "
                "coalesce(c.capped_events, 0) AS capped_events",
                "capped_join": " LEFT JOIN capped c USING (key)",
                "voters": " AND NOT user_log",
            }
        written = sorted(self._parts.glob("*.arrow"))
        # Loaded into a table in one bulk, parallel read: the aggregation over a view of the parts
        # scans them once per CTE and ran out of memory at 3M events under 1GB, where over a table
        # the buffer manager evicts and spills. The table is in memory (spilling too) while the parts
        # come to a small share of the limit, else in a database file, whose pages spill cheaper.
        # Measured: 1M events, 78 MB of parts, a 204 MB table: 2.7-2.9 s in memory, 3.8-4.0 s in a
        # file; 3M: 6.9-7.8 vs 9.2-10.2 s; 10M, in an earlier run: 47.7 vs 45.7 s, the query 33 % slower.
        if sum(p.stat().st_size for p in written) > memory_bytes(self._memory_limit) * _IN_MEMORY_SHARE:
            self._con.execute("ATTACH ? AS spilled", [str(self._workdir / "events.duckdb")])
            self._con.execute("USE spilled")
        self._con.from_arrow(ds.dataset(written, schema=_EVENT, format="ipc")).create("events")
        table = self._con.sql(_UNIQUE_ROWS.format(**parts)).to_arrow_table()
        self._close()
        conflicts = table.column("label_conflict")
        stats.note(CONFLICTING_GOLD, pc.sum(conflicts).as_py() or 0)
        stats.rows_out += table.num_rows
        stats.drop(MERGED_IDENTICAL, stats.rows_in - table.num_rows)
        return table.drop_columns(["label_conflict"])

    def partitions(self) -> "KeyPartitions | None":
        """This grouping apart in partitions by key; None under a DP release, whose cap ranks each
        user's keys across all keys (`_CAPPED`): every event of a user must meet in one grouping."""
        return None if self._caps else KeyPartitions(self._memory_limit)

    def merge(self, finished: Iterable[pa.Table]) -> pa.Table:
        """The tables of this grouping's partitions (`partitions`), each finished, in partition order,
        as one: each holds a range of ids in id order, so together they are the table `finish` gives
        over all their events, byte for byte. Instead of `finish`: it closes this grouping's own
        database and folder, which took no event."""
        self._close()
        return pa.concat_tables(finished)

    def _close(self) -> None:
        self._con.close()
        shutil.rmtree(self._workdir)


@dataclass(frozen=True)
class KeyPartitions:
    """ExactDedup apart in partitions by key, for an engine's workers (it pickles)."""

    memory_limit: str

    def split(self, table: pa.Table, n: int) -> list[pa.Table]:
        """`table`'s events, with only the columns the grouping reads, in `n` partitions by key: a
        key's events go to the same partition on every machine (MD5, unsalted), and partition i's
        ids all sort before partition i+1's."""
        events = table.select([*_READ, "ts"])
        with duckdb.connect(config={"threads": 1}) as con:  # one core: a task of the engine's
            con.execute(_ROW_ID)
            con.register("events", events)  # insertion order kept (the default): p is row by row
            partition = con.sql(_PARTITION, params={"n": n}).to_arrow_table().column("p").to_numpy()
        order = np.argsort(partition, kind="stable")
        bounds = np.searchsorted(partition[order], np.arange(n + 1))
        # A take per partition, not slices of one: a slice would carry the whole table's buffers
        # into whatever pickles it.
        return [events.take(order[start:end]) for start, end in pairwise(bounds)]

    def grouping(self, workdir: Path, threads: int) -> ExactDedup:
        """A grouping for one partition's events, in `workdir`, on `threads` cores: an engine's task
        has that many, not the machine's."""
        return ExactDedup(workdir, self.memory_limit, threads=threads)
