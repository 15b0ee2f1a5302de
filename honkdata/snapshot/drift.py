"""How far a snapshot's traffic has moved from an earlier one: the figures `snapshots diff` prints and
`honkdata retrain` checks against thresholds before it trains.

Both snapshots are read whole (every split): drift is about the data arriving, not about one split.
Every row is one unique query and weighs its `count` (the raw events merged into it), so a measure
follows traffic, not the number of distinct queries; a snapshot without rows has no traffic, and a
share of no traffic is 0.

- **intent_js**: the Jensen–Shannon divergence (base 2, so in [0, 1]) between the two intent
  distributions, each intent's mass the summed `count` of its rows. The intent is the taxonomy label
  (the `intent` column, not `source_intent`); rows without a label count as one more class,
  "(none)", so a growing unlabeled share is drift too.
- **entity_type_js**: the same over entity types, each mention in `entities` weighing its row's
  `count`; rows without entities add nothing. One side with mentions and the other without is 1.
- **new_head_share**: the new snapshot's head is the fewest rows, by `count` descending (ties by
  `id`), that carry at least half of its traffic; the figure is the share of those rows (each row
  one, whatever its count) whose `id` is in no split of the old snapshot. `id` is the hash of the
  normalized query, the same in every version.
- **unseen_entity_share**: the share of the new snapshot's entity mentions, weighted by `count`,
  whose (type, lowercased text) appears nowhere in the old snapshot's `entities`.
- **oov_rate**: the share of the new snapshot's tokens (the `tokens` column), weighted by `count`,
  whose lowercased text is not in the old snapshot's vocabulary (every lowercased token of every
  row, unweighted).

With them: the traffic of each side, the intents whose traffic share moved most, and the heaviest
examples of new head queries, unseen entities and out-of-vocabulary tokens. A snapshot that lacks a
column a figure needs (written before honkdata had `tokens`, or by hand) leaves that figure None and
says why under `not_measured`, rather than failing the whole comparison.
"""

import duckdb
import numpy as np
from pydantic import Field
from scipy.spatial.distance import jensenshannon

from honkdata.config import _Strict
from honkdata.errors import HonkdataError
from honkdata.schema import SNAPSHOT
from honkdata.snapshot.store import SnapshotRef, SnapshotStore

# The head is what carries this share of the traffic.
HEAD_TRAFFIC = 0.5
UNLABELED = "(none)"


class DriftThresholds(_Strict):
    """Above any of these, `honkdata retrain` warns and reports the drift in its summary."""

    intent_js: float = Field(0.1, ge=0, le=1, description="Jensen–Shannon divergence of the intents")
    entity_type_js: float = Field(0.1, ge=0, le=1, description="Jensen–Shannon divergence of entity types")
    new_head_share: float = Field(
        0.2, ge=0, le=1, description="share of the head queries (half the traffic) new to the snapshot"
    )
    unseen_entity_share: float = Field(
        0.3, ge=0, le=1, description="share of entity mentions (type, lowercased text) never seen before"
    )
    oov_rate: float = Field(0.1, ge=0, le=1, description="share of tokens outside the old vocabulary")


# (figure, what a warning calls it, the columns it reads on both sides)
_FIGURES = (
    ("intent_js", "intent distribution moved: JS", ("intent", "count")),
    ("entity_type_js", "entity type distribution moved: JS", ("entities", "count")),
    ("new_head_share", "new head queries: share", ("id", "text", "intent", "count")),
    ("unseen_entity_share", "unseen entities: share", ("entities", "count")),
    ("oov_rate", "out-of-vocabulary tokens: share", ("tokens", "count")),
)

_INTENTS = f"SELECT coalesce(intent, '{UNLABELED}'), sum(count) FROM {{t}} GROUP BY 1"
_MENTIONS = (
    "SELECT e.type AS type, lower(e.text) AS text, count FROM (SELECT unnest(entities) AS e, count FROM {t})"
)
_ENTITY_TYPES = f"SELECT type, sum(count) FROM ({_MENTIONS}) GROUP BY 1"

_HEAD = f"""
CREATE TEMP VIEW head AS
SELECT id, text, intent, count FROM (
    SELECT id, text, intent, count, coalesce(sum(count) OVER (
        ORDER BY count DESC, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM new
) WHERE before < {HEAD_TRAFFIC} * (SELECT sum(count) FROM new)
"""
_NEW_HEAD = "SELECT id, text, intent, count FROM head WHERE id NOT IN (SELECT id FROM old)"

_UNSEEN = f"""
CREATE TEMP VIEW unseen AS
SELECT m.type, m.text, m.count FROM ({_MENTIONS.format(t="new")}) m
ANTI JOIN (SELECT DISTINCT type, text FROM ({_MENTIONS.format(t="old")})) o
    ON m.type = o.type AND m.text = o.text
"""

_TOKENS = "SELECT lower(t.text) AS token, count FROM (SELECT unnest(tokens) AS t, count FROM {t})"
_OOV = f"""
CREATE TEMP VIEW oov AS
SELECT n.token, n.count FROM ({_TOKENS.format(t="new")}) n
ANTI JOIN (SELECT DISTINCT token FROM ({_TOKENS.format(t="old")})) o ON n.token = o.token
"""


def data_files(store: SnapshotStore, ref: SnapshotRef) -> list[str]:
    """The data files its manifest lists (reading the manifest refuses a broken snapshot)."""
    splits = store.manifest(ref)["splits"].values()
    return [str(store.path(ref) / entry["file"]) for entry in splits if entry["file"]]


def snapshot_drift(store: SnapshotStore, old: SnapshotRef, new: SnapshotRef, examples: int = 5) -> dict:
    """The drift figures from `old` to `new` (see the module's docstring), with up to `examples`
    movers and examples of each kind."""
    con = duckdb.connect()
    try:
        columns = {
            "old": _open(con, "old", data_files(store, old)),
            "new": _open(con, "new", data_files(store, new)),
        }
        missing = {
            figure: "; ".join(why)
            for figure, _, needs in _FIGURES
            if (why := _lacking(needs, {old: columns["old"], new: columns["new"]}))
        }
        drift = _measure(con, {f for f, _, _ in _FIGURES} - missing.keys(), examples)
    except (duckdb.IOException, duckdb.InvalidInputException) as e:  # a data file gone or damaged
        raise HonkdataError(f"cannot compare {old} and {new}: {str(e).splitlines()[0]}") from None
    finally:
        con.close()
    return {"old": str(old), "new": str(new), **drift, "not_measured": missing}


def _open(con: duckdb.DuckDBPyConnection, name: str, files: list[str]) -> list[str]:
    """Make view `name` of a snapshot's rows and return its columns; a snapshot whose splits are all
    empty has no files, and reads as an empty table of the published schema."""
    if files:
        relation = con.read_parquet(files)
        relation.create_view(name)
        return relation.columns
    con.register(name, SNAPSHOT.empty_table())
    return SNAPSHOT.names


def _lacking(needs: tuple[str, ...], columns: dict[SnapshotRef, list[str]]) -> list[str]:
    """Why a figure cannot be measured: each side's missing columns, or nothing."""
    why = []
    for ref, present in columns.items():
        if lacking := [c for c in needs if c not in present]:
            why.append(f"{ref} has no {', '.join(lacking)} column{'s' if len(lacking) > 1 else ''}")
    return why


def _measure(con: duckdb.DuckDBPyConnection, figures: set[str], examples: int) -> dict:
    """Every figure in `figures` with its examples; the others None, with no examples."""
    drift: dict = {
        "traffic": {side: _weight(con, side) for side in ("old", "new")},
        **{figure: None for figure, _, _ in _FIGURES},
        "head_queries": None,
        "intent_movers": [],
        "new_head_queries": [],
        "unseen_entities": [],
        "oov_tokens": [],
    }
    for figure in figures:
        drift.update(_MEASURES[figure](con, examples))
    return drift


def _masses(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[dict[str, int], dict[str, int]]:
    before, after = (dict(con.execute(sql.format(t=side)).fetchall()) for side in ("old", "new"))
    return before, after


def _intents(con: duckdb.DuckDBPyConnection, examples: int) -> dict:
    before, after = _masses(con, _INTENTS)
    return {
        "intent_js": jensenshannon_divergence(before, after),
        "intent_movers": _movers(before, after, examples),
    }


def _entity_types(con: duckdb.DuckDBPyConnection, examples: int) -> dict:
    return {"entity_type_js": jensenshannon_divergence(*_masses(con, _ENTITY_TYPES))}


def _new_head(con: duckdb.DuckDBPyConnection, examples: int) -> dict:
    con.execute(_HEAD)
    (head,) = con.execute("SELECT count(*) FROM head").fetchone()
    (fresh,) = con.execute(f"SELECT count(*) FROM ({_NEW_HEAD})").fetchone()
    top = con.execute(f"{_NEW_HEAD} ORDER BY count DESC, id LIMIT ?", [examples]).fetchall()
    return {
        "new_head_share": _share(fresh, head),
        "head_queries": head,
        "new_head_queries": [{"text": t, "intent": i, "count": n} for _, t, i, n in top],
    }


def _unseen_entities(con: duckdb.DuckDBPyConnection, examples: int) -> dict:
    con.execute(_UNSEEN)
    top = con.execute(_heaviest("unseen", "type, text"), [examples]).fetchall()
    return {
        "unseen_entity_share": _share(_weight(con, "unseen"), _weight(con, f"({_MENTIONS.format(t='new')})")),
        "unseen_entities": [{"type": k, "text": t, "count": n} for k, t, n in top],
    }


def _oov(con: duckdb.DuckDBPyConnection, examples: int) -> dict:
    con.execute(_OOV)
    top = con.execute(_heaviest("oov", "token"), [examples]).fetchall()
    return {
        "oov_rate": _share(_weight(con, "oov"), _weight(con, f"({_TOKENS.format(t='new')})")),
        "oov_tokens": [{"token": t, "count": n} for t, n in top],
    }


_MEASURES = {
    "intent_js": _intents,
    "entity_type_js": _entity_types,
    "new_head_share": _new_head,
    "unseen_entity_share": _unseen_entities,
    "oov_rate": _oov,
}


def _weight(con: duckdb.DuckDBPyConnection, rows: str) -> int:
    """The summed `count` of a view or a subquery."""
    return con.execute(f"SELECT coalesce(sum(count), 0) FROM {rows}").fetchone()[0]


def _heaviest(view: str, keys: str) -> str:
    return f"SELECT {keys}, sum(count) AS n FROM {view} GROUP BY {keys} ORDER BY n DESC, {keys} LIMIT ?"


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def jensenshannon_divergence(before: dict[str, float], after: dict[str, float]) -> float:
    """JS divergence (base 2, in [0, 1]) of two distributions given as unnormalized masses per key.
    Two empty sides are 0; one empty side against mass is 1 (nothing in common)."""
    keys = sorted(before.keys() | after.keys())
    p = np.array([before.get(k, 0) for k in keys], dtype=float)
    q = np.array([after.get(k, 0) for k in keys], dtype=float)
    if not p.sum() or not q.sum():
        return float(bool(p.sum()) != bool(q.sum()))
    # scipy returns the distance, the divergence's square root; rounding can make a divergence of
    # (almost) identical distributions a hair below 0, whose root is nan.
    distance = jensenshannon(p, q, base=2)
    return min(float(distance) ** 2, 1.0) if np.isfinite(distance) else 0.0


def _movers(before: dict[str, int], after: dict[str, int], n: int) -> list[dict]:
    """The `n` intents whose share of the traffic changed most, with both shares; none that kept it."""
    total_before, total_after = sum(before.values()), sum(after.values())
    shares = {
        intent: (_share(before.get(intent, 0), total_before), _share(after.get(intent, 0), total_after))
        for intent in before.keys() | after.keys()
    }
    moved = [(i, b, a) for i, (b, a) in shares.items() if a != b]
    ranked = sorted(moved, key=lambda m: (-abs(m[2] - m[1]), m[0]))
    return [{"intent": i, "before": b, "after": a, "change": a - b} for i, b, a in ranked[:n]]


def drift_warnings(drift: dict, thresholds: DriftThresholds) -> list[str]:
    """One line per figure above its threshold, e.g. "intent distribution moved: JS 0.14 > 0.10"; a
    figure that was not measured warns of nothing."""
    return [
        f"{what} {drift[figure]:.2f} > {getattr(thresholds, figure):.2f}"
        for figure, what, _ in _FIGURES
        if drift.get(figure) is not None and drift[figure] > getattr(thresholds, figure)
    ]
