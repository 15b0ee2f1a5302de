"""The label stage: one label per unique row, by precedence human > gold > model > weak.

Gold labels come with the curated sources (exact dedup keeps the majority); weak labels come from
the labeling functions and the label model; human labels from the annotation store, matched by the
row's stable id. `model` labels have their slot in the precedence for the trained models to fill.
"""

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from honkdata.catalog import load_catalog, music_names
from honkdata.config import BuildConfig
from honkdata.label.functions import load_labeling
from honkdata.label.gazetteer import Gazetteer
from honkdata.label.weak import WeakLabeler
from honkdata.resources import shipped_config
from honkdata.schema import ENTITIES
from honkdata.stage import StageStats

# Counters the dataset card reads: how often the weak label model agrees with gold on rows that have
# both (its measured accuracy on this snapshot's own labeled rows).
WEAK_CHECKED = "weak labels checked against gold or human"
WEAK_AGREED = "weak labels agreeing with gold or human"


def weak_labeler(config: BuildConfig) -> WeakLabeler:
    """The labeling functions and gazetteers a build config names (the shipped ones by default)."""
    functions = load_labeling(Path(config.labels.functions) if config.labels.functions else None)
    folder = Path(config.labels.gazetteers) if config.labels.gazetteers else shipped_config("gazetteers")
    gazetteer = Gazetteer.from_folder(folder)
    if config.catalog:
        gazetteer.add(load_catalog(Path(config.catalog)))
    return WeakLabeler(functions, gazetteer)


def _set(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def gold_names(table: pa.Table) -> list[tuple[str, str]]:
    """(type, text) of the music-name entities of gold rows: the tagger's first gazetteer."""
    return music_names(table.filter(pc.equal(table.column("label_source"), "gold")).column("entities"))


@dataclass
class ApplyLabels:
    """Table stage: fills intent, entities, label_source and label_confidence of every row it can."""

    weak: WeakLabeler | None
    human: pa.Table  # HumanLabelStore.latest(): id, text, intent, entities, agreement, ...
    name: str = "label"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        if self.weak is not None and table.num_rows:
            table = self._weak(table, stats)
        if self.human.num_rows:
            table = self._human(table)
        for count in pc.value_counts(table.column("label_source").drop_null()).to_pylist():
            stats.note(f"{count['values']} labels", count["counts"])
        stats.note("unlabeled", table.column("intent").null_count)
        stats.rows_out += table.num_rows
        return table

    def _weak(self, table: pa.Table, stats: StageStats) -> pa.Table:
        self.weak.gazetteer.add(gold_names(table))
        weak = self.weak.label(table.column("text").combine_chunks())
        labeled = pc.is_valid(table.column("label_source"))
        checked = pc.and_(labeled, pc.is_valid(weak.intent))
        stats.note(WEAK_CHECKED, pc.sum(checked).as_py() or 0)
        agreed = pc.and_(checked, pc.equal(weak.intent, table.column("intent")))
        stats.note(WEAK_AGREED, pc.sum(pc.fill_null(agreed, False)).as_py() or 0)
        takes = pc.and_(pc.invert(labeled), pc.is_valid(weak.intent))
        confidence = pc.if_else(takes, weak.confidence, table.column("label_confidence"))
        table = _set(table, "intent", pc.if_else(takes, weak.intent, table.column("intent")))
        table = _set(table, "label_confidence", confidence)
        table = _set(table, "label_source", pc.if_else(takes, "weak", table.column("label_source")))
        # Entities of rows without gold come from the tagger, labeled intent or not.
        return _set(table, "entities", pc.if_else(labeled, table.column("entities"), weak.entities))

    def _human(self, table: pa.Table) -> pa.Table:
        human = self.human
        index = pc.index_in(table.column("id"), human.column("id"))
        found = pc.is_valid(index)
        take = pc.fill_null(index, 0)

        def pick(column: str) -> pa.Array:
            return pc.take(human.column(column), take)

        # Offsets hold only if the displayed text is still the one the annotator saw.
        same_text = pc.fill_null(pc.equal(pick("text"), table.column("text")), False)
        entities = pc.if_else(same_text, pick("entities"), pa.nulls(table.num_rows, ENTITIES))
        confidence = pc.cast(pick("agreement"), pa.float32())
        table = _set(table, "intent", pc.if_else(found, pick("intent"), table.column("intent")))
        table = _set(table, "entities", pc.if_else(found, entities, table.column("entities")))
        table = _set(
            table, "label_confidence", pc.if_else(found, confidence, table.column("label_confidence"))
        )
        return _set(table, "label_source", pc.if_else(found, "human", table.column("label_source")))
