"""Arrow schemas shared by every stage: the canonical raw record and the published snapshot row."""

import pyarrow as pa

ENTITY = pa.struct(
    [
        pa.field("type", pa.string()),
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("text", pa.string()),
    ]
)
ENTITIES = pa.list_(ENTITY)

# What every reader yields, whatever the input format. `line` is the 1-based line (or row) number in
# `source`, kept so that any later rejection can point back at the exact input.
RECORD = pa.schema(
    [
        pa.field("query", pa.string(), nullable=False),
        pa.field("user_id", pa.string()),
        pa.field("ts", pa.timestamp("s", tz="UTC")),
        pa.field("locale", pa.string()),
        pa.field("surface", pa.string()),
        pa.field("session_id", pa.string()),
        pa.field("intent", pa.string()),
        pa.field("entities", ENTITIES),
        pa.field("source", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
    ]
)

RAW_FIELDS = ("query", "user_id", "ts", "locale", "surface", "session_id")

# One row per unique normalized query: the published contract (DESIGN.md, "Snapshot layout").
SNAPSHOT = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("intent", pa.string()),
        pa.field("entities", ENTITIES),
        pa.field("label_source", pa.string()),
        pa.field("label_confidence", pa.float32()),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("n_users", pa.int64(), nullable=False),
        pa.field("sources", pa.list_(pa.string())),
        pa.field("first_seen", pa.date32()),
        pa.field("last_seen", pa.date32()),
        pa.field("dup_cluster", pa.string(), nullable=False),
        pa.field("n_variants", pa.int64(), nullable=False),  # distinct queries merged into this row
        pa.field("split", pa.string(), nullable=False),
    ]
)

SPLITS = ("train", "validation", "test")
