"""Training examples from a published snapshot, in the chosen label space.

Every recipe trains on exactly these, so two models of one snapshot differ by their method, never
by which rows they saw. The snapshot's tokens and BIO tags are used as they are: the build made them
with honkdata.tokens, which is also how a new query is tokenized at prediction time.
"""

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import default_root
from honkdata.errors import HonkdataError
from honkdata.schema import SPLITS
from honkdata.snapshot.store import SnapshotStore
from honkdata.snapshot.write import file_sha256
from honkdata.train.config import DataConfig
from honkdata.train.frames import Entity, Token, tags_to_entities
from honkdata.train.labels import LabelSpace

_COLUMNS = {
    # label space -> (intent, entities, tags) columns of the snapshot
    "taxonomy": ("intent", "entities", "tags"),
    "source": ("source_intent", "source_entities", "source_tags"),
}


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    tokens: tuple[Token, ...]
    intent: str
    entities: tuple[Entity, ...]
    tags: tuple[str, ...]  # one BIO tag per token, in the label space's entity types
    weight: float = 1.0


@dataclass
class TrainingData:
    labels: LabelSpace
    train: list[Example]
    validation: list[Example]
    test: list[Example]
    lineage: dict = field(default_factory=dict)  # snapshot ref, content hash, manifest sha256

    def split(self, name: str) -> list[Example]:
        return {"train": self.train, "validation": self.validation, "test": self.test}[name]


def example_from_tags(
    id_: str, text: str, tokens: Sequence[Token], intent: str, tags: Sequence[str]
) -> Example:
    """An example whose entities are read off its tags, so spans and tags never disagree."""
    return Example(id_, text, tuple(tokens), intent, tags_to_entities(text, tokens, tags), tuple(tags))


def _weights(counts: list[int], weighting: str) -> list[float]:
    if weighting == "log":
        return [1.0 + math.log(c) for c in counts]
    if weighting == "linear":
        return [float(c) for c in counts]
    return [1.0] * len(counts)


def _labeled(table: pa.Table, config: DataConfig) -> pa.Table:
    """The rows that carry a label of the chosen space and of an accepted label source."""
    intent_column = _COLUMNS[config.labels][0]
    keep = pc.is_valid(table.column(intent_column))
    if config.labels == "taxonomy":
        source = table.column("label_source")
        accepted = pc.is_in(source, pa.array([s for s in config.label_sources if s != "weak"]))
        if "weak" in config.label_sources:
            confident = pc.greater_equal(table.column("label_confidence"), config.min_weak_confidence)
            accepted = pc.or_(accepted, pc.and_(pc.equal(source, "weak"), confident))
        keep = pc.and_(keep, pc.fill_null(accepted, False))
    return table.filter(keep)


def examples_from_table(table: pa.Table, labels: str, weighting: str = "none") -> list[Example]:
    """Examples of snapshot rows (already filtered to labeled ones), in `labels` space."""
    intent_column, _, tag_column = _COLUMNS[labels]
    rows = table.select(["id", "text", "tokens", intent_column, tag_column, "count"]).to_pylist()
    weights = _weights([r["count"] for r in rows], weighting)
    out = []
    for row, weight in zip(rows, weights, strict=True):
        tokens = [(t["text"], t["start"], t["end"]) for t in row["tokens"] or []]
        tags = row[tag_column] or ["O"] * len(tokens)
        example = example_from_tags(row["id"], row["text"], tokens, row[intent_column], tags)
        out.append(replace(example, weight=weight))
    return out


def label_space(table: pa.Table, labels: str, manifest: dict) -> LabelSpace:
    """The taxonomy the snapshot was built with, or the source labels its labeled rows use."""
    if labels == "taxonomy":
        taxonomy = manifest["taxonomy"]
        return LabelSpace(
            "taxonomy", tuple(taxonomy["intents"]), tuple(taxonomy["entity_types"]), "out_of_domain"
        )
    intents = table.column("source_intent").drop_null()
    if not len(intents):
        raise HonkdataError(
            "the snapshot has no source labels (--labels source needs a labeled public source)"
        )
    train = table.filter(pc.equal(table.column("split"), "train")).column("source_intent").drop_null()
    fallback = Counter((train if len(train) else intents).to_pylist()).most_common(1)[0][0]
    types = {
        tag.split("-", 1)[1]
        for tags in table.column("source_tags").drop_null().to_pylist()
        for tag in tags
        if tag != "O"
    }
    return LabelSpace("source", tuple(sorted(set(intents.to_pylist()))), tuple(sorted(types)), fallback)


def load_training_data(config: DataConfig) -> TrainingData:
    """The train, validation and test examples of `config.snapshot`; a one-line error if the
    snapshot has no labeled training rows in the chosen label space."""
    store = SnapshotStore(Path(config.root) if config.root else default_root())
    ref = store.resolve(config.snapshot)
    manifest = store.manifest(ref)
    table = _labeled(store.read(ref), config)
    if not pc.sum(pc.equal(table.column("split"), "train")).as_py():
        raise HonkdataError(
            f"{ref} has no labeled training rows in the {config.labels} label space"
            f" (label sources: {', '.join(config.label_sources)})"
        )
    labels = label_space(table, config.labels, manifest)
    splits = {}
    for split in SPLITS:
        rows = table.filter(pc.equal(table.column("split"), split))
        cap = config.max_examples if split == "train" else config.max_eval_examples
        if cap is not None:
            # Ids are content hashes: sorting by them is a fixed, unbiased sample.
            rows = rows.take(pc.sort_indices(rows, [("id", "ascending")])[:cap])
        splits[split] = examples_from_table(rows, config.labels, config.weighting)
    lineage = {
        "snapshot": str(ref),
        "content_hash": manifest["content_hash"],
        "manifest_sha256": file_sha256(store.path(ref) / "manifest.json"),
        "rows": {split: len(examples) for split, examples in splits.items()},
    }
    return TrainingData(labels, splits["train"], splits["validation"], splits["test"], lineage)
