"""Metrics per slice of the scored rows: by surface, locale, label source, and query frequency.

Frequency bands (head, torso, tail) cut the scored rows by their `count` (raw events merged into the
row), so that a model that is good on the few queries everyone asks and bad on the long tail shows it:
rank the rows from the most to the least frequent; the head is the most frequent rows that make up
the first 50 % of the rows' events, the torso the next 30 %, the tail the rest. A row falls in the band
where its events begin, i.e. by the share of events of strictly more frequent rows: under 50 % head,
under 80 % torso, else tail. So equally frequent rows always share a band, and the most frequent row
is always head. Rows without a count (a `--data` file) are `unknown`, as is any missing surface,
locale or label source.
"""

import math
from collections import Counter
from collections.abc import Sequence

import pyarrow as pa

from honkdata.evaluate.metrics import HEADLINE, score
from honkdata.train.examples import Example
from honkdata.train.frames import Frame

UNKNOWN = "unknown"
# Band and the share of events of more frequent rows below which a row is in it.
BANDS = (("head", 0.5), ("torso", 0.8), ("tail", math.inf))
DIMENSIONS = ("surface", "locale", "label_source", "frequency")


def frequency_bands(counts: Sequence[int | None]) -> list[str]:
    """head, torso, tail (or unknown, for a missing count) per row of `counts`; see the module."""
    rows_per_count = Counter(c for c in counts if c is not None)
    total = sum(c * n for c, n in rows_per_count.items())
    band_of: dict[int, str] = {}
    above = 0  # events of the rows more frequent than the one at hand
    for c in sorted(rows_per_count, reverse=True):
        share = above / total if total else 0.0
        band_of[c] = next(name for name, upper in BANDS if share < upper)
        above += c * rows_per_count[c]
    return [band_of[c] if c is not None else UNKNOWN for c in counts]


def slice_labels(meta: pa.Table) -> dict[str, list[str]]:
    """Per dimension, the slice of each row of `meta` (evaluate.data.META's columns)."""
    labels = {
        column: [UNKNOWN if v is None else v for v in meta.column(column).to_pylist()]
        for column in ("surface", "locale", "label_source")
    }
    labels["frequency"] = frequency_bands(meta.column("count").to_pylist())
    return labels


def slice_metrics(
    meta: pa.Table, examples: Sequence[Example], frames: Sequence[Frame]
) -> dict[str, dict[str, dict]]:
    """Per dimension and slice: `n`, `share` of the rows, and the headline metrics on its rows;
    slices by size, largest first (frequency bands in head, torso, tail order)."""
    if not (meta.num_rows == len(examples) == len(frames)):
        raise ValueError(
            f"{meta.num_rows} metadata rows, {len(examples)} examples, {len(frames)} predictions"
        )
    n = len(examples)
    out: dict[str, dict[str, dict]] = {}
    for dimension, labels in slice_labels(meta).items():
        members: dict[str, list[int]] = {}
        for i, label in enumerate(labels):
            members.setdefault(label, []).append(i)
        if dimension == "frequency":
            order = [b for b, _ in BANDS if b in members] + ([UNKNOWN] if UNKNOWN in members else [])
        else:
            order = sorted(members, key=lambda label: (-len(members[label]), label))
        out[dimension] = {}
        for label in order:
            rows = members[label]
            scored = score([examples[i] for i in rows], [frames[i] for i in rows])
            out[dimension][label] = {
                "n": len(rows),
                "share": len(rows) / n,
                **{key: scored[key] for key in HEADLINE},
            }
    return out
