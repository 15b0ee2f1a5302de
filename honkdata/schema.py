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
# A token of the published text (honkdata/tokens.py): `text == row.text[start:end]`.
TOKEN = pa.struct(
    [pa.field("text", pa.string()), pa.field("start", pa.int32()), pa.field("end", pa.int32())]
)
TOKENS = pa.list_(TOKEN)
TAGS = pa.list_(pa.string())  # one BIO tag per token

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
        # A curated source's own split of the row (train, validation, test; null where it has none)
        # and its native labels before the taxonomy mapping; null for raw logs.
        pa.field("source_split", pa.string()),
        pa.field("source_intent", pa.string()),
        pa.field("source_entities", ENTITIES),
    ]
)

RAW_FIELDS = ("query", "user_id", "ts", "locale", "surface", "session_id")

# Where a row came from: one entry per (input, that input's own split of the query). `split` is
# train, validation or test where the source comes with a split (dev/devel/validate become
# validation), null where it has none (user logs, CPCD). A query in two splits of one source has two
# entries, so the record survives the split stage's conflict resolution.
SOURCE = pa.struct([pa.field("name", pa.string()), pa.field("split", pa.string())])
SOURCES = pa.list_(SOURCE)

# One row per unique normalized query: the published contract (DESIGN.md, "Snapshot layout").
SNAPSHOT = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("intent", pa.string()),
        pa.field("entities", ENTITIES),
        # The source's native labels (e.g. SNIPS "PlayMusic", slot "artist"), spans into `text` like
        # `entities`, for scoring in the benchmark's own label space; null for user-log rows.
        pa.field("source_intent", pa.string()),
        pa.field("source_entities", ENTITIES),
        pa.field("tokens", TOKENS),
        pa.field("tags", TAGS),  # BIO over the taxonomy's entity types
        pa.field("source_tags", TAGS),  # BIO over the source's own slot names; null without them
        pa.field("label_source", pa.string()),
        pa.field("label_confidence", pa.float32()),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("n_users", pa.int64(), nullable=False),
        pa.field("sources", SOURCES),
        pa.field("first_seen", pa.date32()),
        pa.field("last_seen", pa.date32()),
        # The most frequent non-null locale and surface of the events merged into the row (ties: the
        # smallest value); null where none had one. Under a DP release only curated events vote: a
        # user-log value would be published without noise.
        pa.field("locale", pa.string()),
        pa.field("surface", pa.string()),
        pa.field("dup_cluster", pa.string(), nullable=False),
        pa.field("n_variants", pa.int64(), nullable=False),  # distinct queries merged into this row
        pa.field("split", pa.string(), nullable=False),
    ]
)

SPLITS = ("train", "validation", "test")
