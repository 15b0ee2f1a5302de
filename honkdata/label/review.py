"""The labeling loop around a snapshot: analyze the labeling functions, send the doubtful rows to
people (Label Studio or CSV), and take their labels back into the store the next build applies."""

from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from honkdata.annotate.agreement import aggregate_annotations
from honkdata.annotate.csv_tasks import read_csv_annotations, write_csv_tasks
from honkdata.annotate.label_studio import read_label_studio_export, write_label_studio_tasks
from honkdata.annotate.select import select_for_review
from honkdata.annotate.store import HumanLabelStore
from honkdata.errors import HonkdataError
from honkdata.label.analyze import analyze_functions
from honkdata.label.weak import WeakLabeler
from honkdata.snapshot.store import SnapshotRef, SnapshotStore
from honkdata.taxonomy import Taxonomy
from honkdata.train.predictor import Predictor

Strategy = Literal["uncertainty", "disagreement", "random", "label-issues"]
TaskFormat = Literal["label-studio", "csv"]
_COLUMNS = ["id", "text", "intent", "entities", "label_source", "label_confidence"]


def label_disagreement(votes: np.ndarray) -> np.ndarray:
    """Per row, the share of non-abstaining labeling functions that voted against the majority."""
    voted = votes >= 0
    n_voted = voted.sum(axis=1)
    n_classes = int(votes.max()) + 1 if votes.size and votes.max() >= 0 else 1
    counts = np.stack([(votes == k).sum(axis=1) for k in range(n_classes)], axis=1)
    return np.where(n_voted > 0, 1 - counts.max(axis=1) / np.maximum(n_voted, 1), 0.0)


def analyze_snapshot(store: SnapshotStore, ref: SnapshotRef, labeler: WeakLabeler) -> list[dict]:
    """Coverage, overlaps, conflicts and accuracy (against gold and human rows) of every function."""
    rows = store.read(ref, columns=["text", "intent", "label_source"])
    votes = labeler.votes(rows.column("text").combine_chunks())
    trusted = pc.is_in(rows.column("label_source"), pa.array(["gold", "human"]))
    gold = pc.if_else(trusted, rows.column("intent"), pa.nulls(rows.num_rows, pa.string())).to_pylist()
    return analyze_functions(votes, labeler.lf_names, labeler.intents, gold)


def export_for_review(
    store: SnapshotStore,
    ref: SnapshotRef,
    labeler: WeakLabeler,
    taxonomy: Taxonomy,
    out: Path,
    n: int,
    strategy: Strategy,
    fmt: TaskFormat,
    model: Predictor | None = None,
) -> pa.Table:
    """Write `n` rows chosen by `strategy` as annotation tasks; returns the rows written. With a
    `model`, uncertainty is that model's: its confidence replaces the label's for the ranking.
    label-issues ranks by the label quality written beside the snapshot (`honkdata label quality`)."""
    rows = store.read(ref, columns=_COLUMNS)
    if strategy == "label-issues":
        # cleanlab and scikit-learn take seconds to import, and only this strategy needs them.
        from honkdata.label.quality import with_label_quality

        rows = with_label_quality(store, ref, rows)
    if model is not None:
        frames = model.predict(rows.column("text").to_pylist())
        confidence = pa.array([f.confidence for f in frames], pa.float32())
        rows = rows.set_column(
            rows.schema.get_field_index("label_confidence"), "label_confidence", confidence
        )
    votes = labeler.votes(rows.column("text").combine_chunks())
    rows = rows.append_column("label_disagreement", pa.array(label_disagreement(votes), pa.float64()))
    chosen = select_for_review(rows, n, strategy)
    if fmt == "label-studio":
        write_label_studio_tasks(chosen, out, taxonomy.intents, taxonomy.entity_types)
    else:
        write_csv_tasks(chosen, out)
    return chosen


def import_reviews(path: Path, store: HumanLabelStore, taxonomy: Taxonomy) -> dict:
    """Read a Label Studio JSON export or the CSV back; majority per item goes into the store."""
    if not path.is_file():
        raise HonkdataError(f"annotation file not found: {path}")
    if path.suffix == ".csv":
        annotations = read_csv_annotations(path, taxonomy.intents, taxonomy.entity_types)
    else:
        annotations = read_label_studio_export(path, taxonomy.intents, taxonomy.entity_types)
    labels, report = aggregate_annotations(annotations)
    report["stored"] = str(store.add(labels, origin=path.name))
    return report
