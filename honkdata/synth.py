"""A realistic synthetic raw query log (DESIGN.md, "Raw input") for demos, tests and benchmarks.

Queries grow from real public utterances shipped in `resources/synth_seed.json` (Snips 2017, CC0;
SLURP devel, CC BY 4.0, Bastianelli et al., EMNLP 2020): query popularity follows a Zipf law over a
rank space whose head is the original utterances and a few short commands, and whose tail is the
templates refilled with the seed's own entity values. Each event may then get a filler word, a casing
or punctuation change, or a typo; about 2% carry planted fake personal data (emails, phones, names,
addresses, card numbers) so that privacy stages can be tested for leaks. Users have Zipf-like activity
and a home locale and time zone; events come in sessions whose starts follow a daily cycle.

Everything per event is sampled with numpy and assembled with Arrow kernels, chunk by chunk, so that
memory stays bounded and 10M events take well under two minutes. Output is byte-identical for a
given (n, seed).
"""

import gzip
import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from honkdata.errors import HonkdataError
from honkdata.schema import RAW_FIELDS

RESOURCES = Path(__file__).resolve().parent / "resources"
SEED_FILE, PII_FILE = RESOURCES / "synth_seed.json", RESOURCES / "synth_fake_pii.json"
CHUNK = 100_000  # measured: larger chunks use more memory and are no faster (cache misses)
WINDOW_START = np.datetime64("2026-08-31T00:00:00", "s")  # a Monday
WINDOW_DAYS = 42
SCHEMA = pa.schema([pa.field(name, pa.string(), nullable=False) for name in RAW_FIELDS])

QUERY_ZIPF, USER_ZIPF = 1.05, 0.6
PII_SHARE, TYPO_SHARE = 0.02, 0.04  # of all events; of typed (non-speech) events
COMMANDS = (  # most frequent first
    "skip", "pause", "next", "play", "stop", "shuffle", "louder", "next song", "resume", "volume up",
    "play some music", "turn it up", "what's playing", "volume down", "repeat", "quieter", "mute",
    "previous song", "go back", "play something", "shuffle my library", "who sings this",
    "repeat this song", "i love this song", "never play this again",
)  # fmt: skip
SHORT_TEMPLATES = (  # refill-only: the "play <name>" shape that dominates real music logs
    (("play ", ""), ("artist",)),
    (("play ", ""), ("track",)),
    (("play ", " by ", ""), ("track", "artist")),
    (("play some ", ""), ("genre",)),
    (("put on ", " music"), ("genre",)),
    (("play my ", " playlist"), ("playlist",)),
    (("play the album ", ""), ("album",)),
    (("", ""), ("artist",)),
)
SHORT_WEIGHT, OOD_WEIGHT = 40.0, 0.3  # template weights among refills, against 1 for a music one
OOD_INTENTS = frozenset((
    "GetWeather", "BookRestaurant", "weather_query", "takeaway_query", "takeaway_order",
    "recommendation_locations",
))  # fmt: skip

LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN", "en-IE", "en-NZ", "es-US")
LOCALE_P = (0.60, 0.14, 0.07, 0.07, 0.06, 0.02, 0.02, 0.02)
TZ_HOURS = ((-5, -6, -7, -8), (1,), (-5, -8), (10,), (5.5,), (1,), (12,), (-5, -8))
_TZ_TABLE = np.array([[zones[i % len(zones)] for i in range(4)] for zones in TZ_HOURS])
SURFACES = ("search", "voice", "chat", "car", "tv", "web")
SPEECH = np.array([False, True, False, True, True, False])
SURFACE_P = (  # rows: account id, iOS device id, Android device id
    (0.45, 0.15, 0.15, 0.08, 0.05, 0.12),
    (0.20, 0.55, 0.05, 0.15, 0.05, 0.00),
    (0.20, 0.50, 0.05, 0.20, 0.05, 0.00),
)
KIND_P = (0.60, 0.22, 0.18)
HOUR_W = np.array([3, 2, 1, 1, 1, 2, 4, 7, 9, 8, 7, 7, 8, 7, 6, 6, 7, 9, 10, 10, 9, 8, 6, 4], float)
WEEKDAY_W = np.array([1.0, 1.0, 1.0, 1.0, 1.1, 1.2, 1.15])
SESSION_P, GAP_MEAN_S = 0.4, 40.0

PRE_FILLERS = ("", "please ", "hey ", "can you ", "um ", "uh ", "ok ", "could you ", "i want to ")
PRE_P = (0.91, 0.02, 0.015, 0.015, 0.01, 0.005, 0.01, 0.005, 0.01)
POST_FILLERS = ("", " please", " thanks", " now", " for me")
POST_P = (0.96, 0.02, 0.005, 0.01, 0.005)
ENDINGS, ENDING_P = ("", ".", "?", "!"), (0.85, 0.07, 0.06, 0.02)
CASE_P = (0.55, 0.30, 0.12, 0.03)  # typed text: lower, as-is, Capitalized, UPPER

PII_KINDS, PII_P = ("name", "email", "phone", "address", "card"), (0.40, 0.20, 0.22, 0.10, 0.08)


@dataclass(frozen=True)
class SynthStats:
    """What `generate` wrote: row count, distinct query strings and users, planted-PII rows, wall time."""

    rows: int
    distinct_queries: int
    distinct_users: int
    pii_rows: int
    seconds: float


@dataclass(frozen=True)
class _Catalog:
    """The seed as flat arrays: query for rank r = lits[0] + value[0] + lits[1] + ... + lits[K]."""

    lits: list[pa.Array]  # K+1 arrays, one entry per template
    values: pa.Array  # index 0 is "", the filler for absent slots
    slot_type: np.ndarray  # (templates, K) pool id, -1 where absent
    pool_off: np.ndarray
    pool_len: np.ndarray
    head: np.ndarray  # (K+1, heads): template id, then value ids, of the ranks below `heads`
    refill_ids: np.ndarray  # templates whose slots all have pools
    refill_cdf: np.ndarray
    pii: dict  # the fake-PII lexicon and templates


def _load_catalog(seed: int) -> _Catalog:
    raw = json.loads(SEED_FILE.read_text(encoding="utf-8"))
    pools: dict[str, list[str]] = raw["values"]
    values = ["", *(v for pool in pools.values() for v in pool)]
    pool_id = {kind: i for i, kind in enumerate(pools)}
    sizes = np.array([len(p) for p in pools.values()])
    pool_off = np.concatenate([[1], 1 + np.cumsum(sizes)[:-1]])
    ids = {
        (kind, v): int(pool_off[i]) + j
        for i, (kind, pool) in enumerate(pools.items())
        for j, v in enumerate(pool)
    }

    def value_id(kind: str, value: str) -> int:
        # Out-of-domain values (cities, restaurants, ...) have no pool: they are appended, never refilled.
        if (kind, value) not in ids:
            ids[kind, value] = len(values)
            values.append(value)
        return ids[kind, value]

    seed_rows = [
        (text, slots, "ood" if i in OOD_INTENTS else "music") for _, i, text, slots in raw["utterances"]
    ]
    rows = [((c,), [], "command") for c in COMMANDS] + seed_rows
    rows += [(text, [[k, ""] for k in kinds], "short") for text, kinds in SHORT_TEMPLATES]
    k = max(len(slots) for _, slots, _ in rows)
    lits = [[text[j] if j < len(text) else "" for text, _, _ in rows] for j in range(k + 1)]
    slot_type = np.full((len(rows), k), -1)
    for t, (_, slots, _) in enumerate(rows):
        slot_type[t, : len(slots)] = [pool_id.get(kind, -2) for kind, _ in slots]
    # Head order: an exponential race (a seeded weighted shuffle), so that short commands and short
    # utterances lead the popularity ranks, as "skip" and "play <artist>" do in real logs.
    n_heads = len(rows) - len(SHORT_TEMPLATES)
    n_words = np.array([sum(len(p.split()) for p in text) + len(slots) for text, slots, _ in rows[:n_heads]])
    weight = np.where(np.arange(n_heads) < len(COMMANDS), 100.0, (8.0 / n_words) ** 2)
    weight[[group == "ood" for _, _, group in rows[:n_heads]]] *= OOD_WEIGHT**2
    race = np.random.default_rng([seed, 1]).exponential(size=n_heads) / weight
    order = np.argsort(race, kind="stable")
    order[np.sort(np.flatnonzero(order < len(COMMANDS)))] = np.arange(len(COMMANDS))
    head = np.zeros((k + 1, n_heads), np.int64)
    for i, t in enumerate(order):
        head[0, i] = t
        head[1 : 1 + len(rows[t][1]), i] = [value_id(kind, v) for kind, v in rows[t][1]]
    refill = (slot_type != -2).all(axis=1) & (slot_type >= 0).any(axis=1)
    refill_ids = np.flatnonzero(refill)
    w = np.array([{"short": SHORT_WEIGHT, "ood": OOD_WEIGHT}.get(rows[t][2], 1.0) for t in refill_ids])
    return _Catalog(
        lits=[pa.array(col, pa.string()) for col in lits],
        values=pa.array(values, pa.string()),
        slot_type=slot_type,
        pool_off=pool_off,
        pool_len=sizes,
        head=head,
        refill_ids=refill_ids,
        refill_cdf=np.cumsum(w) / w.sum(),
        pii=json.loads(PII_FILE.read_text(encoding="utf-8")),
    )


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64: a bijective hash, so rank r always maps to the same refill without any table."""
    z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _unit(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _zipf(u: np.ndarray, size: int, s: float) -> np.ndarray:
    """0-based ranks in [0, size) with P(r) ~ (r+1)^-s, by inverting the continuous power law."""
    top = (size + 1.0) ** (1 - s) - 1
    return np.minimum((1 + u * top) ** (1 / (1 - s)), size).astype(np.int64) - 1


def _queries(cat: _Catalog, ranks: np.ndarray, salt: int) -> pa.Array:
    """The query text of each popularity rank: a head entry as is, or a template refilled by hash."""
    is_head = ranks < cat.head.shape[1]
    ids = cat.head[:, np.where(is_head, ranks, 0)]
    tail = np.flatnonzero(~is_head)
    h = _mix(ranks[tail].astype(np.uint64) ^ np.uint64(salt))
    tmpl = cat.refill_ids[np.searchsorted(cat.refill_cdf, _unit(h), side="right")]
    ids[0, tail] = tmpl
    for j in range(cat.slot_type.shape[1]):
        kind = cat.slot_type[tmpl, j]
        u = _unit(_mix(h + np.uint64(j + 1)))
        # u^1.5 favours each pool's first (most frequent) values: popular artists over obscure ones.
        pick = cat.pool_off[kind] + (u * np.sqrt(u) * cat.pool_len[kind]).astype(np.int64)
        ids[j + 1, tail] = np.where(kind >= 0, pick, 0)
    tmpl_arr = pa.array(ids[0])
    pieces = [cat.lits[0].take(tmpl_arr)]
    for j, lits in enumerate(cat.lits[1:]):
        pieces += [cat.values.take(pa.array(ids[j + 1])), lits.take(tmpl_arr)]
    return pc.utf8_trim_whitespace(pc.binary_join_element_wise(*pieces, ""))


_TWO_DIGITS = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), np.uint8).reshape(100, 2)


def _iso(ts: np.ndarray) -> pa.Array:
    """Epoch seconds as 2026-09-14T18:03:12Z, assembled in a byte matrix (faster than strftime)."""
    day = ts // 86_400
    month = day.astype("M8[D]").astype("M8[M]")
    year = month.astype("M8[Y]").astype(np.int64) + 1970
    sod = ts - day * 86_400
    chars = np.frombuffer(b"0000-00-00T00:00:00Z", np.uint8)[None, :].repeat(len(ts), axis=0)
    parts = (
        (0, year // 100),
        (2, year % 100),
        (5, month.astype(np.int64) % 12 + 1),
        (8, day - month.astype("M8[D]").astype(np.int64) + 1),
        (11, sod // 3600),
        (14, sod // 60 % 60),
        (17, sod % 60),
    )
    for at, value in parts:
        chars[:, at : at + 2] = _TWO_DIGITS[value]
    return _fixed_strings(chars, np.full(len(ts), 20))


def _fixed_strings(chars: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Strings from the first lengths[i] bytes of row i of a uint8 matrix, without a Python loop."""
    keep = np.arange(chars.shape[1]) < lengths[:, None]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    data = pa.py_buffer(chars[keep].tobytes())
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), data)


_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _hex(words: np.ndarray) -> np.ndarray:
    """(n, w) uint64 -> (n, 16 w) uint8 lowercase hex digits."""
    nibbles = words.astype(">u8").view(np.uint8).reshape(len(words), -1)
    return _HEX[np.stack([nibbles >> 4, nibbles & 15], axis=2).reshape(len(words), -1)]


def _user_ids(users: np.ndarray, kind: np.ndarray, salt: int) -> pa.Array:
    """Account ids are lowercase UUIDv4s, iOS device ids uppercase UUIDs, Android ids 16 hex digits."""
    h1 = _mix(users.astype(np.uint64) ^ np.uint64(salt))
    digits = _hex(np.column_stack([h1, _mix(h1)]))
    digits[:, 12] = ord("4")  # UUID version 4 and RFC 4122 variant, as real account ids have
    digits[:, 16] = _HEX[8 + (h1 & np.uint64(3)).astype(np.int64)]
    dash = np.full((len(users), 1), ord("-"), np.uint8)
    groups = [digits[:, a:b] for a, b in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    chars = np.hstack([part for g in groups for part in (g, dash)][:-1])
    ios, android = kind == 1, kind == 2
    chars[ios] = np.where(chars[ios] >= ord("a"), chars[ios] - 32, chars[ios])
    chars[android, :16] = _hex(_mix(h1[android, None] ^ np.uint64(0xA11D)))
    return _fixed_strings(chars, np.where(android, 16, 36))


def _user_traits(users: np.ndarray, salt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per user, stable across chunks: id kind, home locale and UTC offset in seconds."""
    h = _mix(users.astype(np.uint64) ^ np.uint64(salt ^ 0x5EED))
    kind = np.searchsorted(np.cumsum(KIND_P), _unit(h), side="right").clip(0, 2)
    locale = np.searchsorted(np.cumsum(LOCALE_P), _unit(_mix(h)), side="right").clip(0, len(LOCALES) - 1)
    tz = _TZ_TABLE[locale, (h & np.uint64(3)).astype(np.int64)]
    return kind, locale, (tz * 3600).astype(np.int64)


def _session_starts(rng: np.random.Generator, tz: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Rejection sampling in [lo, hi) so that starts follow the users' local daily and weekly cycle."""
    accept_max = HOUR_W.max() * WEEKDAY_W.max()
    start = np.zeros(len(tz), np.int64)
    todo = np.arange(len(tz))
    while len(todo):
        t = lo + (rng.random(len(todo)) * (hi - lo)).astype(np.int64)
        local = t + tz[todo]
        w = HOUR_W[(local // 3600) % 24] * WEEKDAY_W[(local // 86400) % 7]
        ok = rng.random(len(todo)) * accept_max < w
        start[todo[ok]] = t[ok]
        todo = todo[~ok]
    return start


def _typo(text: str, op: int, u: float) -> str:
    """Drops (op 0), swaps with its left neighbour (1) or doubles (2) the character at fraction u.

    The first character is never touched: people rarely mistype it, and it keeps typos near-duplicates.
    """
    if len(text) < 4:
        return text
    i = 1 + int(u * (len(text) - 2))
    if op == 0:
        return text[:i] + text[i + 1 :]
    if op == 1:
        return text[: i - 1] + text[i] + text[i - 1] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def _luhn(payload: str) -> str:
    """Appends the Luhn check digit, so that card detectors that validate checksums fire on it."""
    doubled = [int(d) * (2 - i % 2) for i, d in enumerate(reversed(payload))]
    return payload + str(-sum(x // 10 + x % 10 for x in doubled) % 10)


def _phone(r: np.ndarray, locale: str) -> str:
    a, b, c = 201 + r[0] % 788, 200 + r[1] % 800, r[2] % 10_000
    style = r[3] % 3
    if locale == "en-GB":
        return ("+44 ", "0")[style % 2] + f"7{r[0] % 1000:03d} {r[1] % 1000:03d}{c % 1000:03d}"
    if locale in ("en-AU", "en-NZ"):
        return ("+61 ", "0")[style % 2] + f"4{a % 100:02d} {b % 1000:03d} {c % 1000:03d}"
    return (f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"+1 {a} {b} {c:04d}")[style]


def _pii(rng: np.random.Generator, locales: list[str], lex: dict) -> list[str]:
    """Planted fake personal data; random digits make each value unique-ish, so leaks are traceable."""
    kinds = rng.choice(len(PII_P), size=len(locales), p=PII_P)
    r = rng.integers(0, 2**31, size=(len(locales), 8))
    first_names, last_names = lex["first_names"], lex["last_names"]
    out = []
    for kind_i, row, locale in zip(kinds, r, locales, strict=True):
        kind = PII_KINDS[kind_i]
        first, last = first_names[row[0] % len(first_names)], last_names[row[1] % len(last_names)]
        if kind == "name":
            value = f"{first.title()} {last.title()}" if row[2] % 3 else f"{first} {last}"
        elif kind == "email":
            user = (f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}")[row[2] % 3]
            value = f"{user}{row[3] % 1000}@{lex['email_domains'][row[4] % len(lex['email_domains'])]}"
        elif kind == "phone":
            value = _phone(row[2:6], locale)
        elif kind == "address":
            value = f"{1 + row[2] % 9899} {lex['streets'][row[3] % len(lex['streets'])]}"
        else:
            prefix = ("4", "51", "55")[row[2] % 3]
            digits = _luhn(prefix + f"{row[3]:010d}{row[4]:010d}"[: 15 - len(prefix)])
            value = " ".join(digits[i : i + 4] for i in range(0, 16, 4)) if row[5] % 2 else digits
        templates = lex["templates"][kind]
        out.append(templates[row[6] % len(templates)].format(v=value))
    return out


def _chunk(
    cat: _Catalog, seed: int, index: int, rows: int, span: tuple[int, int], sizes: tuple[int, int], end: int
) -> tuple[pa.Table, np.ndarray, int]:
    """One time slice of the log as an Arrow table sorted by ts, its user indices and planted-PII count."""
    rng = np.random.default_rng([seed, 2, index])
    n_ranks, n_users = sizes
    lengths = rng.geometric(SESSION_P, size=rows).clip(max=40)
    n_sessions = int(np.searchsorted(np.cumsum(lengths), rows)) + 1
    lengths = lengths[:n_sessions]
    lengths[-1] -= lengths.sum() - rows
    users = _zipf(rng.random(n_sessions), n_users, USER_ZIPF)
    kind, locale, tz = _user_traits(users, seed)
    start = _session_starts(rng, tz, *span)
    surface_cdf = np.cumsum(np.array(SURFACE_P)[kind], axis=1)
    surface = (rng.random((n_sessions, 1)) < surface_cdf).argmax(axis=1)
    session_hex = _hex(rng.integers(0, np.iinfo(np.uint64).max, size=(n_sessions, 1), dtype=np.uint64))

    sess = np.repeat(np.arange(n_sessions), lengths)
    gaps = np.ceil(rng.exponential(GAP_MEAN_S, size=rows)).astype(np.int64) + 2
    first = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    gaps[first] = 0
    # Sessions that would run past the window's end are cut short there rather than spilling over.
    ts = np.minimum(start[sess] + (np.cumsum(gaps) - np.cumsum(gaps)[first][sess]), end - 1)
    order = np.argsort(ts, kind="stable")
    sess, ts = sess[order], ts[order]
    speech = SPEECH[surface[sess]]

    query = _queries(cat, _zipf(rng.random(rows), n_ranks, QUERY_ZIPF), seed)
    pii = rng.random(rows) < PII_SHARE
    locale_arr = pa.array(LOCALES).take(pa.array(locale[sess]))
    if pii.any():
        planted = _pii(rng, locale_arr.filter(pa.array(pii)).to_pylist(), cat.pii)
        query = pc.replace_with_mask(query, pa.array(pii), pa.array(planted, pa.string()))
    pre = pa.array(PRE_FILLERS).take(pa.array(rng.choice(len(PRE_P), size=rows, p=PRE_P)))
    post = pa.array(POST_FILLERS).take(pa.array(rng.choice(len(POST_P), size=rows, p=POST_P)))
    query = pc.binary_join_element_wise(pre, pc.utf8_rtrim(query, characters=".?! "), post, "")
    case = np.where(speech, 0, rng.choice(len(CASE_P), size=rows, p=CASE_P))
    query = pc.if_else(pa.array(case == 0), pc.utf8_lower(query), query)
    query = pc.if_else(pa.array(case == 2), pc.utf8_capitalize(query), query)
    query = pc.if_else(pa.array(case == 3), pc.utf8_upper(query), query)
    # Speech surfaces come from ASR: lower case, no punctuation, no character-level typos.
    ending = np.where(speech, 0, rng.choice(len(ENDING_P), size=rows, p=ENDING_P))
    query = pc.binary_join_element_wise(query, pa.array(ENDINGS).take(pa.array(ending)), "")
    typo = ~speech & ~pii & (rng.random(rows) < TYPO_SHARE)
    if typo.any():
        ops, pos = rng.integers(0, 3, size=int(typo.sum())), rng.random(int(typo.sum()))
        texts = query.filter(pa.array(typo)).to_pylist()
        typos = [_typo(t, int(o), float(u)) for t, o, u in zip(texts, ops, pos, strict=True)]
        query = pc.replace_with_mask(query, pa.array(typo), pa.array(typos, pa.string()))

    sess_arr = pa.array(sess)
    columns = [
        query,
        _user_ids(users, kind, seed).take(sess_arr),
        _iso(ts),
        locale_arr,
        pa.array(SURFACES).take(pa.array(surface[sess])),
        _fixed_strings(session_hex, np.full(n_sessions, 16)).take(sess_arr),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA), users, int(pii.sum())


def _jsonl(table: pa.Table) -> pa.Buffer:
    """The chunk as JSON lines, built by Arrow kernels: only the query can hold characters to escape."""
    query, user, ts, locale, surface, session = (c.combine_chunks() for c in table.columns)
    query = pc.replace_substring(pc.replace_substring(query, "\\", "\\\\"), '"', '\\"')
    lines = pc.binary_join_element_wise(
        '{"query":"', query, '","user_id":"', user, '","ts":"', ts, '","locale":"', locale,
        '","surface":"', surface, '","session_id":"', session, '"}\n', "",
    )  # fmt: skip
    end = int(np.frombuffer(lines.buffers()[1], np.int32, count=len(lines) + 1, offset=4 * lines.offset)[-1])
    return lines.buffers()[2][:end]


class _Sink:
    """Writes chunks to a temporary file in the format `out`'s suffix names, renamed into place at the end.

    An interrupted run thus never leaves a truncated file under the requested name.
    """

    def __init__(self, out: Path) -> None:
        name = out.name.lower()
        if not name.endswith((".parquet", ".csv", ".jsonl", ".jsonl.gz")):
            raise HonkdataError(f"synth: unknown format of {out}: use .jsonl, .jsonl.gz, .csv or .parquet")
        self.out, self.tmp = out, out.with_name(f".{out.name}.tmp")
        self._arrow: pq.ParquetWriter | pacsv.CSVWriter | None = None
        if name.endswith(".parquet"):
            self._arrow = pq.ParquetWriter(self.tmp, SCHEMA, compression="zstd")
        elif name.endswith(".csv"):
            self._arrow = pacsv.CSVWriter(self.tmp, SCHEMA)
        else:
            self._raw = self.tmp.open("wb")
            # mtime=0 and no file name in the gzip header: same (n, seed), same bytes.
            gz = name.endswith(".gz")
            self._text = gzip.GzipFile("", "wb", 6, self._raw, mtime=0) if gz else self._raw

    def write(self, table: pa.Table) -> None:
        if self._arrow is not None:
            self._arrow.write_table(table)
        else:
            self._text.write(_jsonl(table))

    def close(self, ok: bool) -> None:
        if self._arrow is not None:
            self._arrow.close()
        else:
            self._text.close()
            self._raw.close()
        if ok:
            self.tmp.replace(self.out)
        else:
            self.tmp.unlink(missing_ok=True)


def generate(n: int, out: Path, seed: int = 0) -> SynthStats:
    """Writes `n` synthetic raw query-log events to `out` and returns what it wrote.

    The format follows the suffix: `.jsonl`, `.jsonl.gz`, `.csv` or `.parquet`; every field is a string,
    `ts` an ISO-8601 UTC time within WINDOW_DAYS days from WINDOW_START. The same (n, seed) gives the
    same bytes; the file is sorted by time within each chunk of CHUNK events (chunks follow each other
    in time, so the whole file is time-ordered up to sessions straddling a chunk boundary).
    """
    if n < 0 or seed < 0:
        raise HonkdataError(f"synth: n and seed must be non-negative (got n={n}, seed={seed})")
    began = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cat = _load_catalog(seed)
    sizes = (len(cat.head) + max(n, 5_000), max(10, n // 3))
    bounds = [*range(0, n, CHUNK), n]
    window = WINDOW_DAYS * 86_400
    epoch = int(WINDOW_START.astype(np.int64))
    seen_users, seen_queries, pending, pii_rows = np.zeros(sizes[1], bool), np.zeros(0, np.uint64), [], 0
    sink = _Sink(out)
    try:
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            # Each chunk is a time slice as long as its share of the events: the file stays time-ordered.
            span = (epoch + window * lo // n, epoch + window * hi // n)
            table, users, planted = _chunk(cat, seed, i, hi - lo, span, sizes, epoch + window)
            sink.write(table)
            # Distinct queries are counted on 64-bit hashes (exact enough, far smaller than the strings),
            # merged every few chunks so that memory follows the distinct count, not the row count.
            distinct = pc.unique(table.column("query").combine_chunks()).to_numpy(zero_copy_only=False)
            pending.append(pd.util.hash_array(distinct))
            if len(pending) == 16:
                seen_queries, pending = np.unique(np.concatenate([seen_queries, *pending])), []
            seen_users[users] = True
            pii_rows += planted
    except BaseException:
        sink.close(ok=False)
        raise
    sink.close(ok=True)
    return SynthStats(
        rows=n,
        distinct_queries=len(np.unique(np.concatenate([seen_queries, *pending]))),
        distinct_users=int(seen_users.sum()),
        pii_rows=pii_rows,
        seconds=time.perf_counter() - began,
    )
