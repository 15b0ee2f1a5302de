"""The `tokens` stage: word tokens with character offsets and BIO tags, for token-classification code.

The tokenizer is one regular expression (`TOKEN_PATTERN`) over the final, published `text` of a
row. In order of preference, a token is:

1. an anonymizer placeholder, capitals between angle brackets (`<PERSON>`, `<EMAIL>`), whole;
2. a number with inner separators (`3.5`, `10:30`, `1,000`);
3. a word: letters, digits and `_`, with inner apostrophes (`don't`, `rock'n'roll`; `’` too);
4. a flag emoji (a pair of regional indicators);
5. any other character that is not whitespace (`?`, `-`, `&`, an emoji), with the variation
   selectors, skin tones and zero-width-joined parts that follow it, so an emoji sequence is one token.

`tokens[i]` is `{text, start, end}` with `text == row.text[start:end]` (offsets in code points, like
the entity spans). `tags` is BIO over the taxonomy's entity types, from `entities`; `source_tags` is
BIO over the source's own slot names, from `source_entities`; either is null where its spans are.
A span that starts or ends inside a token tags every token it touches ("spans off token
boundaries"); a span over whitespace only, or outside its text, tags nothing; a span that overlaps
a longer or earlier one of its row is left out. Each case is counted in the manifest, and the tags
are always well-formed BIO that seqeval scores as they are.
"""

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.schema import TAGS, TOKEN, TOKENS
from honkdata.stage import StageStats

# The stage's counters (manifest.json: stages.tokens): tokens in all, and the spans that do not sit
# on token boundaries, each by the column they are in (`entities`, `source_entities`).
TOKENS_COUNTED = "tokens"
SPANS_OUTSIDE = "spans_outside_text_or_untyped"
SPANS_ON_NO_TOKEN = "spans_on_no_token"
SPANS_OFF_BOUNDARIES = "spans_off_token_boundaries"
SPANS_OVERLAPPING = "spans_overlapping_another"

TOKEN_PATTERN = re.compile(
    r"""
      <[A-Z]+>
    | \d+(?:[.,:]\d+)+
    | \w+(?:['’]\w+)*
    | [\U0001F1E6-\U0001F1FF]{2}
    | [^\w\s](?:[\uFE0E\uFE0F\U0001F3FB-\U0001F3FF]|\u200D[^\w\s])*
    """,
    re.VERBOSE,
)
# Splitting on the pattern in a group alternates gap, token, gap, ..., gap over the whole string, so
# one C-level pass yields every boundary; per-match objects would cost several times as much.
_SPLIT = re.compile(f"({TOKEN_PATTERN.pattern})", re.VERBOSE)
# Rows are tokenized as one string joined by this separator: whitespace, so no token spans two rows.
_SEPARATOR = "\n"


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """(text, start, end) of every token of one string: the stage's tokenizer, for one query."""
    return [(m.group(), m.start(), m.end()) for m in TOKEN_PATTERN.finditer(text)]


def bio_labels(entity_types: list[str]) -> list[str]:
    """The tag set over `entity_types` in a fixed order ("O", then B-/I- per type), for label ids."""
    return ["O", *(f"{prefix}-{kind}" for kind in entity_types for prefix in ("B", "I"))]


def _byte_bounds(joined: str, encoded: bytes, bounds: np.ndarray) -> np.ndarray:
    """The UTF-8 byte offsets of the character offsets `bounds` into `joined` (`encoded`)."""
    if len(encoded) == len(joined):  # ASCII
        return bounds
    points = np.frombuffer(joined.encode("utf-32-le"), np.uint32)
    # Only the few non-ASCII characters shift byte offsets: sum their extra bytes before each bound.
    wide = np.flatnonzero(points >= 0x80)
    extra = 1 + (points[wide] >= 0x800).astype(np.int64) + (points[wide] >= 0x10000)
    shift = np.zeros(len(wide) + 1, np.int64)
    shift[1:] = np.cumsum(extra)
    return bounds + shift[np.searchsorted(wide, bounds, side="left")]


@dataclass(frozen=True)
class _Layout:
    """Every token of a column of texts, as positions in the texts joined by `_SEPARATOR`."""

    base: np.ndarray  # position of each row's first character
    lengths: np.ndarray  # each row's length
    starts: np.ndarray  # token start positions, ascending
    ends: np.ndarray
    offsets: np.ndarray  # tokens of row i: offsets[i]..offsets[i + 1]
    words: pa.Array  # the tokens' text

    @classmethod
    def of(cls, texts: list[str]) -> "_Layout":
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        base = np.zeros(len(texts), np.int64)
        base[1:] = np.cumsum(lengths + len(_SEPARATOR))[:-1]
        joined = _SEPARATOR.join(texts)
        parts = _SPLIT.split(joined)
        bounds = np.zeros(len(parts) + 1, np.int64)
        bounds[1:] = np.cumsum(np.fromiter(map(len, parts), np.int64, len(parts)))
        starts, ends = bounds[1:-1:2], bounds[2:-1:2]
        rows = np.searchsorted(base, starts, side="right") - 1
        offsets = np.zeros(len(texts) + 1, np.int32)
        offsets[1:] = np.cumsum(np.bincount(rows, minlength=len(texts)))
        return cls(base, lengths, starts, ends, offsets, _token_words(joined, bounds, len(parts)))

    def tokens(self) -> pa.Array:
        rows = np.repeat(np.arange(len(self.base)), np.diff(self.offsets))
        start = pa.array((self.starts - self.base[rows]).astype(np.int32))
        end = pa.array((self.ends - self.base[rows]).astype(np.int32))
        values = pa.StructArray.from_arrays([self.words, start, end], fields=list(TOKEN))
        return pa.ListArray.from_arrays(pa.array(self.offsets), values, type=TOKENS)


def _token_words(joined: str, bounds: np.ndarray, n_parts: int) -> pa.Array:
    """The token parts of `joined` as an Arrow string array, cut from its UTF-8 bytes in one go."""
    encoded = joined.encode()
    byte_bounds = _byte_bounds(joined, encoded, bounds)
    parts = pa.LargeStringArray.from_buffers(n_parts, pa.py_buffer(byte_bounds), pa.py_buffer(encoded))
    return parts.take(pa.array(np.arange(1, n_parts, 2))).cast(pa.string())


@dataclass(frozen=True)
class _Spans:
    """The spans of one entities column, flattened, placed on the token layout."""

    kinds: pa.Array  # each span's type
    first: np.ndarray  # index of the first token it touches
    last: np.ndarray  # index of the last; < first when it touches none
    inside: np.ndarray  # has a type and lies inside its text
    aligned: np.ndarray  # starts and ends on token boundaries

    @classmethod
    def of(cls, layout: _Layout, entities: pa.Array) -> "_Spans":
        flat = pc.list_flatten(entities)
        rows = pc.list_parent_indices(entities).to_numpy()
        start = pc.fill_null(flat.field("start"), -1).to_numpy().astype(np.int64)
        end = pc.fill_null(flat.field("end"), -1).to_numpy().astype(np.int64)
        typed = pc.is_valid(flat.field("type")).to_numpy(zero_copy_only=False)
        inside = typed & (start >= 0) & (start < end) & (end <= layout.lengths[rows])
        at, to = layout.base[rows] + start, layout.base[rows] + end
        # Positions are in the joined text, so a search over all tokens finds only the span's row's.
        first = np.searchsorted(layout.ends, at, side="right")
        last = np.where(inside, np.searchsorted(layout.starts, to, side="left") - 1, first - 1)
        # A sentinel at index n (and -1) lets `first` and `last` index without bounds checks.
        starts, ends = np.append(layout.starts, -1), np.append(layout.ends, -1)
        aligned = (starts[first] == at) & (ends[last] == to)
        return cls(flat.field("type"), first, last, inside, aligned)


def _non_overlapping(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Which spans to tag: by start, the longest first, each span that overlaps none kept before it."""
    order = np.lexsort((-last, first))
    keep = np.zeros(len(first), bool)
    reach = -1
    for i, f, e in zip(order.tolist(), first[order].tolist(), last[order].tolist(), strict=True):
        if f > reach:
            keep[i], reach = True, e
    return keep


def _bio(layout: _Layout, entities: pa.Array, stats: StageStats, column: str) -> pa.Array:
    """One BIO tag per token from the spans of `entities` (the table's `column`); null where `entities` is."""
    spans = _Spans.of(layout, entities)
    touches = spans.first <= spans.last
    keep = touches & _non_overlapping(np.where(touches, spans.first, -1), spans.last)
    stats.tally(SPANS_OUTSIDE, column, int((~spans.inside).sum()))
    stats.tally(SPANS_ON_NO_TOKEN, column, int((spans.inside & ~touches).sum()))
    stats.tally(SPANS_OFF_BOUNDARIES, column, int((touches & ~spans.aligned).sum()))
    stats.tally(SPANS_OVERLAPPING, column, int((touches & ~keep).sum()))

    kinds = pc.unique(spans.kinds.drop_null())
    labels = pa.array(bio_labels(kinds.to_pylist()), pa.string())
    kind = pc.index_in(spans.kinds, kinds).to_numpy(zero_copy_only=False)
    first, last, kind = spans.first[keep], spans.last[keep], kind[keep].astype(np.int64)
    codes = np.zeros(len(layout.starts), np.int64)  # 0: "O"
    n_inner = last - first
    inner = np.repeat(first + 1 - np.cumsum(n_inner) + n_inner, n_inner) + np.arange(n_inner.sum())
    codes[inner] = np.repeat(2 + 2 * kind, n_inner)
    codes[first] = 1 + 2 * kind
    mask = pc.is_null(entities)
    return pa.ListArray.from_arrays(pa.array(layout.offsets), labels.take(codes), type=TAGS, mask=mask)


@dataclass
class TokenizeAndTag:
    """Table stage, after the merge: `tokens`, `tags` and `source_tags` of the final rows."""

    name: str = "tokens"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        layout = _Layout.of(table.column("text").to_pylist())
        stats.note(TOKENS_COUNTED, len(layout.starts))
        entities = table.column("entities").combine_chunks()
        columns = {
            "tokens": layout.tokens(),
            "tags": _bio(layout, entities, stats, "entities"),
            "source_tags": (
                _bio(layout, table.column("source_entities").combine_chunks(), stats, "source_entities")
                if "source_entities" in table.column_names
                else pa.nulls(table.num_rows, TAGS)
            ),
        }
        for name, values in columns.items():
            table = _put(table, name, values)
        stats.rows_out += table.num_rows
        return table


def _put(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.append_column(name, values) if index < 0 else table.set_column(index, name, values)
