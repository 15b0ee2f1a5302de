"""The label stage: one label per unique row, by precedence human > gold > model > weak.

Gold labels come with the curated sources (exact dedup keeps the majority); weak labels come from
the labeling functions and the label model; model labels from a trained honkdata model
(`labels.model`, `honkdata build --label-model DIR`) where it is confident enough; human labels from
the annotation store, matched by the row's stable id.
"""

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from honkdata.catalog import load_catalog, music_names
from honkdata.config import BuildConfig
from honkdata.errors import HonkdataError
from honkdata.label.functions import load_labeling
from honkdata.label.gazetteer import Gazetteer
from honkdata.label.weak import WeakLabeler
from honkdata.resources import shipped_config
from honkdata.schema import ENTITIES
from honkdata.stage import StageStats
from honkdata.taxonomy import Taxonomy
from honkdata.train.predictor import Predictor

# The stage's counters (manifest.json: stages.label): labeled rows by label source, unlabeled rows,
# and, for the dataset card, how often the weak label model (and a label model) agrees with gold on
# rows that have both (its measured accuracy on this snapshot's own labeled rows).
LABELED = "labeled"  # by label source: gold, human, model, weak
UNLABELED = "unlabeled"
WEAK_CHECKED = "weak_checked"  # weak labels checked against gold or human
WEAK_AGREED = "weak_agreed"  # weak labels agreeing with gold or human
MODEL_CHECKED = "model_checked"  # model labels checked against gold
MODEL_AGREED = "model_agreed"  # model labels agreeing with gold


def weak_labeler(config: BuildConfig) -> WeakLabeler:
    """The labeling functions and gazetteers a build config names (the shipped ones by default)."""
    functions = load_labeling(Path(config.labels.functions) if config.labels.functions else None)
    folder = Path(config.labels.gazetteers) if config.labels.gazetteers else shipped_config("gazetteers")
    gazetteer = Gazetteer.from_folder(folder)
    if config.catalog:
        gazetteer.add(load_catalog(Path(config.catalog)))
    return WeakLabeler(functions, gazetteer)


def label_model(config: BuildConfig, taxonomy: Taxonomy) -> Predictor | None:
    """The model `labels.model` names, checked to speak this build's taxonomy; None without one."""
    if config.labels.model is None:
        return None
    from honkdata.train.model import load_model  # torch and friends only when a model is used

    model = load_model(config.labels.model)
    labels = model.labels
    if labels.kind != "taxonomy" or (list(labels.intents), list(labels.entity_types)) != (
        list(taxonomy.intents),
        list(taxonomy.entity_types),
    ):
        raise HonkdataError(
            f"labels.model {config.labels.model} was trained on {labels.kind} labels of another label set "
            "than this build's taxonomy; train it with --labels taxonomy on a snapshot of this taxonomy"
        )
    return model


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
    model: Predictor | None = None
    model_min_confidence: float = 0.9
    name: str = "label"

    def __call__(self, table: pa.Table, stats: StageStats) -> pa.Table:
        stats.rows_in += table.num_rows
        if self.weak is not None and table.num_rows:
            table = self._weak(table, stats)
        if self.model is not None and table.num_rows:
            table = self._model(table, stats)
        if self.human.num_rows:
            table = self._human(table)
        for count in pc.value_counts(table.column("label_source").drop_null()).to_pylist():
            stats.tally(LABELED, count["values"], count["counts"])
        stats.note(UNLABELED, table.column("intent").null_count)
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

    def _model(self, table: pa.Table, stats: StageStats) -> pa.Table:
        """Model labels for rows without gold, where the model is sure enough; they outrank weak ones."""
        frames = self.model.predict(table.column("text").to_pylist())
        intent = pa.array([f.intent for f in frames], pa.string())
        confidence = pa.array([f.confidence for f in frames], pa.float32())
        entities = pa.array([[e.to_dict() for e in f.entities] for f in frames], ENTITIES)
        gold = pc.equal(table.column("label_source"), "gold")
        stats.note(MODEL_CHECKED, pc.sum(gold).as_py() or 0)
        agreed = pc.fill_null(pc.and_(gold, pc.equal(intent, table.column("intent"))), False)
        stats.note(MODEL_AGREED, pc.sum(agreed).as_py() or 0)
        not_gold = pc.fill_null(pc.invert(gold), True)  # a null source is an unlabeled row
        takes = pc.and_(pc.greater_equal(confidence, self.model_min_confidence), not_gold)
        table = _set(table, "intent", pc.if_else(takes, intent, table.column("intent")))
        table = _set(table, "entities", pc.if_else(takes, entities, table.column("entities")))
        table = _set(
            table, "label_confidence", pc.if_else(takes, confidence, table.column("label_confidence"))
        )
        return _set(table, "label_source", pc.if_else(takes, "model", table.column("label_source")))

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
