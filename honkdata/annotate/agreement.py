"""Several people on one item: the majority label, and how far the annotators agree (kappa).

Votes are intents; the entity spans of an item come from the annotators who chose its majority
intent. Cohen's and Fleiss' kappa are written from their definitions (Cohen 1960; Fleiss 1971):
kappa = (P_o - P_e) / (1 - P_e), observed agreement against the agreement expected by chance.
"""

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from honkdata.schema import ENTITIES

# What both readers (Label Studio export, CSV) yield: one row per (item, annotator).
ANNOTATIONS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("annotator", pa.string(), nullable=False),
        pa.field("intent", pa.string(), nullable=False),
        pa.field("entities", ENTITIES),
    ]
)

# One row per item: the aggregated human label (HumanLabelStore adds origin and imported_at).
LABELS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("intent", pa.string(), nullable=False),
        pa.field("entities", ENTITIES),
        pa.field("n_annotators", pa.int32(), nullable=False),
        pa.field("agreement", pa.float64(), nullable=False),
    ]
)


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float:
    """Cohen's kappa of two annotators over the same items; nan when chance agreement is 1 (as sklearn)."""
    if len(a) != len(b) or not a:
        raise ValueError("cohen_kappa needs two equally long, non-empty label sequences")
    x, y = np.asarray(a), np.asarray(b)
    observed = float(np.mean(x == y))
    labels = np.union1d(x, y)
    # Chance agreement: both pick label k independently, each with their own marginal rate.
    expected = float(sum(np.mean(x == k) * np.mean(y == k) for k in labels))
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa of an items x categories matrix of rater counts (the same number of raters per item)."""
    counts = np.asarray(counts, dtype=np.float64)
    raters = counts.sum(axis=1)
    if counts.ndim != 2 or not len(counts) or raters[0] < 2 or np.any(raters != raters[0]):
        raise ValueError(
            "fleiss_kappa needs a non-empty matrix with the same number (>= 2) of raters per row"
        )
    n = raters[0]
    per_item = (np.sum(counts**2, axis=1) - n) / (n * (n - 1))  # P_i: agreeing rater pairs / all pairs
    category_share = counts.sum(axis=0) / counts.sum()  # p_j
    observed, expected = per_item.mean(), float(np.sum(category_share**2))
    return float("nan") if expected == 1 else float((observed - expected) / (1 - expected))


def _spans(entities: list[dict] | None) -> tuple[tuple[str, int, int], ...]:
    return tuple(sorted((e["type"], e["start"], e["end"]) for e in entities or ()))


def _finite(value: float | None) -> float | None:
    # Reports are JSON: an undefined kappa is null, not NaN.
    return None if value is None or np.isnan(value) else value


def aggregate_annotations(annotations: pa.Table) -> tuple[pa.Table, dict]:
    """Per item the majority label, and an agreement report over all items.

    One vote per annotator per item: when an annotator appears twice on an item, the later row wins.
    Ties, decided by sorted annotator name so that the result does not depend on file order: the
    intent of the first annotator (in that order) among the tied intents; the entities are the span
    set given by most of the annotators who chose the majority intent, ties again to the first of them.
    `agreement` is the share of the item's annotators who chose the majority intent.
    """
    votes: dict[str, dict[str, dict]] = {}
    for row in annotations.to_pylist():
        votes.setdefault(row["id"], {})[row["annotator"]] = row
    labels = []
    for item_id, by_annotator in votes.items():
        ordered = [by_annotator[name] for name in sorted(by_annotator)]
        tally = Counter(v["intent"] for v in ordered)
        top = max(tally.values())
        intent = next(v["intent"] for v in ordered if tally[v["intent"]] == top)
        agreeing = [v for v in ordered if v["intent"] == intent]
        span_tally = Counter(_spans(v["entities"]) for v in agreeing)
        best = max(span_tally.values())
        chosen = next(v for v in agreeing if span_tally[_spans(v["entities"])] == best)
        labels.append(
            {
                "id": item_id,
                "text": ordered[0]["text"],
                "intent": intent,
                "entities": chosen["entities"] or [],
                "n_annotators": len(ordered),
                "agreement": top / len(ordered),
            }
        )
    return pa.Table.from_pylist(labels, schema=LABELS), _report(votes)


def _report(votes: dict[str, dict[str, dict]]) -> dict:
    shared = {i: {a: v["intent"] for a, v in by.items()} for i, by in votes.items() if len(by) >= 2}
    report: dict = {
        "items": len(votes),
        "annotators": len({a for by in votes.values() for a in by}),
        "annotations": sum(len(by) for by in votes.values()),
        "items_with_several_annotators": len(shared),
        "percent_agreement": None,
        "cohen_kappa": None,
        "fleiss_kappa": None,
        "fleiss_items": 0,
    }
    if not shared:
        return report
    # Percent agreement: the share of agreeing annotator pairs, averaged over the shared items.
    pairs = []
    for intents in shared.values():
        n = len(intents)
        pairs.append(sum(c * (c - 1) for c in Counter(intents.values()).values()) / (n * (n - 1)))
    report["percent_agreement"] = float(np.mean(pairs))
    people = sorted({a for intents in shared.values() for a in intents})
    if len(people) == 2:
        # Two people in all: each shared item was labeled by both of them.
        both = list(shared.values())
        report["cohen_kappa"] = _finite(
            cohen_kappa([i[people[0]] for i in both], [i[people[1]] for i in both])
        )
    # Fleiss needs a constant number of raters per item: take the most common one (ties: the larger).
    sizes = Counter(len(intents) for intents in shared.values())
    size = max(sizes, key=lambda s: (sizes[s], s))
    items = [Counter(intents.values()) for intents in shared.values() if len(intents) == size]
    categories = sorted({k for item in items for k in item})
    counts = np.array([[item[k] for k in categories] for item in items])
    report["fleiss_kappa"] = _finite(fleiss_kappa(counts))
    report["fleiss_items"] = len(items)
    return report
