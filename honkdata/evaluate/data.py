"""Labeled examples to score a model on: a snapshot's split, or any labeled file the build reads.

A file is read by the build's own readers and normalized by its own normalize stage, with the
taxonomy mapping of its format, so an outside test set is scored exactly as a snapshot would hold it.
Each example comes with the row's metadata for the report's slices (`META`), null where the data does
not say: a file has no counts nor label sources, and a public set rarely a surface.
"""

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from honkdata.config import IngestConfig, NormalizeConfig, SourceConfig, default_root
from honkdata.errors import HonkdataError
from honkdata.ingest.source import SourceContext
from honkdata.ingest.sources import resolve_inputs
from honkdata.normalize import Normalize
from honkdata.snapshot.store import SnapshotStore
from honkdata.stage import StageStats
from honkdata.taxonomy import load_taxonomy
from honkdata.tokens import tokenize
from honkdata.train.examples import Example, example_from_tags, examples_from_table
from honkdata.train.frames import Entity, entities_to_tags
from honkdata.train.labels import LabelSpace

# Only labels a person or a published corpus gave are ground truth; weak and model labels are not.
_TRUSTED = ("gold", "human")

META = pa.schema(
    [
        pa.field("surface", pa.string()),
        pa.field("locale", pa.string()),
        pa.field("label_source", pa.string()),
        pa.field("count", pa.int64()),  # raw events merged into the row: the query's frequency
    ]
)


@dataclass(frozen=True)
class EvalSet:
    examples: list[Example]
    meta: pa.Table  # one row per example, in order, with META's columns

    def head(self, limit: int | None) -> "EvalSet":
        """The first `limit` examples (all of them for None)."""
        return EvalSet(self.examples[:limit], self.meta.slice(0, limit))


def _meta(table: pa.Table) -> pa.Table:
    """META's columns of `table`, null where it has none (a file, or a snapshot built before
    `locale` and `surface` were published: snapshots are immutable, so old ones stay as they are)."""
    return pa.table(
        {
            f.name: table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
            for f in META
        },
        schema=META,
    )


def check_label_space(model: LabelSpace, intents: set[str], types: set[str], where: str) -> None:
    """A one-line error when `where` is labeled in names the model was not trained on."""
    unknown = sorted(intents - set(model.intents)) + sorted(types - set(model.entity_types))
    if unknown:
        raise HonkdataError(
            f"{where} uses labels the model was not trained on ({', '.join(unknown[:5])}"
            f"{', ...' if len(unknown) > 5 else ''}): the model was made for another "
            f"{'taxonomy' if model.kind == 'taxonomy' else 'label set'}"
        )


def snapshot_eval_set(model: LabelSpace, ref: str, root: str | Path | None, split: str) -> EvalSet:
    """The ground-truth rows of one split of a snapshot, in the model's label space."""
    store = SnapshotStore(Path(root) if root is not None else default_root())
    resolved = store.resolve(ref)
    if model.kind == "taxonomy":
        taxonomy = store.manifest(resolved)["taxonomy"]
        if list(taxonomy["intents"]) != list(model.intents) or list(taxonomy["entity_types"]) != list(
            model.entity_types
        ):
            raise HonkdataError(f"{resolved} was built with another taxonomy than the model was trained on")
    table = store.read(resolved, splits=(split,))
    if model.kind == "taxonomy":
        table = table.filter(pc.is_in(table.column("label_source"), pa.array(_TRUSTED)))
    else:
        table = table.filter(pc.is_valid(table.column("source_intent")))
    if not table.num_rows:
        raise HonkdataError(
            f"{resolved} has no {model.kind} labels from {'/'.join(_TRUSTED)} in its {split} split"
        )
    examples = examples_from_table(table, model.kind)
    _check_examples(model, examples, f"{resolved} {split}")
    return EvalSet(examples, _meta(table))


def _check_examples(model: LabelSpace, examples: list[Example], where: str) -> None:
    intents = {e.intent for e in examples}
    types = {entity.type for e in examples for entity in e.entities}
    check_label_space(model, intents, types, where)


def file_eval_set(model: LabelSpace, path: Path, fmt: str = "auto", split: str | None = None) -> EvalSet:
    """The labeled rows of a file or folder in any labeled format the build reads (rows without a
    label in the model's space are left out; `split` keeps only the file's rows of that split)."""
    taxonomy = load_taxonomy()
    if model.kind == "taxonomy" and (
        list(taxonomy.intents) != list(model.intents)
        or list(taxonomy.entity_types) != list(model.entity_types)
    ):
        raise HonkdataError("the model was trained on another taxonomy than the shipped one")
    rejected: list[str] = []
    normalize, stats = Normalize(NormalizeConfig()), StageStats("normalize")
    batches = []
    for source in resolve_inputs([SourceConfig(path=str(path), format=fmt)]):
        ctx = SourceContext(
            source.name,
            taxonomy,
            lambda name, line, reason, raw: rejected.append(f"{name}:{line}: {reason}"),
            max_line_bytes=IngestConfig().max_line_bytes,
        )
        batches += [normalize(batch, stats) for batch in source.read(ctx)]
    if not batches:
        raise HonkdataError(
            f"no readable rows in {path}" + (f" (first problem: {rejected[0]})" if rejected else "")
        )
    table = pa.Table.from_batches(batches)
    if split is not None:
        table = table.filter(pc.equal(table.column("source_split"), split))
    intent, entities = (
        ("intent", "entities") if model.kind == "taxonomy" else ("source_intent", "source_entities")
    )
    table = table.filter(pc.is_valid(table.column(intent)))
    if not table.num_rows:
        raise HonkdataError(f"{path} has no rows labeled in the model's {model.kind} label space")
    examples = []
    for i, row in enumerate(table.select(["text", intent, entities]).to_pylist()):
        tokens = tuple(tokenize(row["text"]))
        spans = tuple(Entity(e["type"], e["start"], e["end"], e["text"]) for e in row[entities] or [])
        # Spans as the snapshot holds them: read back off the tags, so that they sit on token bounds.
        examples.append(
            example_from_tags(str(i), row["text"], tokens, row[intent], entities_to_tags(tokens, spans))
        )
    _check_examples(model, examples, str(path))
    return EvalSet(examples, _meta(table))
